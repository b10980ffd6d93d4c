/* model.c - parameter memory, initialisation and Adam (see model.h). */
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "activation.h"
#include "adam.h"
#include "err.h"
#include "mem.h"
#include "rng.h"

/* floats zeroed per OpenMP iteration (1 MiB) */
#define MODEL_ZERO_CHUNK ((size_t)1 << 18)

size_t model_param_count_layers(int num_layers, const int *width) {
    if (num_layers < 1 || num_layers > MODEL_MAX_LAYERS) return 0;
    size_t n = 0;
    for (int l = 0; l < num_layers; l++) {
        if (width[l] <= 0 || width[l + 1] <= 0) return 0;
        size_t in = (size_t)width[l], out = (size_t)width[l + 1];
        if (in > SIZE_MAX / 8 / out) return 0;
        size_t layer = in * out + out;
        if (n > SIZE_MAX / 8 - layer) return 0;
        n += layer;
    }
    return n;
}

size_t model_param_count(int num_users, int hidden) {
    const int width[3] = {num_users, hidden, num_users};
    return model_param_count_layers(2, width);
}

double model_bytes_layers(int num_layers, const int *width) {
    double n = 0.0;
    for (int l = 0; l < num_layers; l++)
        n += (double)width[l] * width[l + 1] + width[l + 1];
    return 16.0 * n;
}

/* Elements of layer l's weight. */
static size_t layer_wsize(const Model *model, int l) {
    return (size_t)model->width[l] * (size_t)model->width[l + 1];
}

/* Points the four tensor sets into mem, layer by layer, w then b. */
static void model_point(Model *model) {
    ModelTensors *sets[4] = {&model->params, &model->grads, &model->m, &model->v};
    for (int s = 0; s < 4; s++) {
        float *at = model->mem + (size_t)s * model->num_params;
        for (int l = 0; l < model->num_layers; l++) {
            sets[s]->w[l] = at;
            at += layer_wsize(model, l);
            sets[s]->b[l] = at;
            at += model->width[l + 1];
        }
    }
}

/* Writes "500" or "[500, 250, 500]" (the hidden widths) into out. */
static const char *hidden_text(int num_layers, const int *width, char *out,
                               size_t cap) {
    size_t o = (size_t)snprintf(out, cap, "%s", num_layers > 2 ? "[" : "");
    for (int l = 1; l < num_layers && o < cap; l++)
        o += (size_t)snprintf(out + o, cap - o, "%s%d", l > 1 ? ", " : "", width[l]);
    if (num_layers > 2 && o < cap) snprintf(out + o, cap - o, "]");
    return out;
}

/* Zeroes n floats at p with the OpenMP team, writing only the chunks that
 * are not zero already: a page of mem_alloc_zeroed memory that no run
 * wrote (the weight gradients, when the fused step never forms them) is
 * only read, so it is neither cleared by the kernel nor resident. */
static void zero_floats(float *p, size_t n) {
    const long chunks = (long)((n + MODEL_ZERO_CHUNK - 1) / MODEL_ZERO_CHUNK);
    #pragma omp parallel for schedule(static)
    for (long c = 0; c < chunks; c++) {
        size_t at = (size_t)c * MODEL_ZERO_CHUNK;
        size_t len = n - at < MODEL_ZERO_CHUNK ? n - at : MODEL_ZERO_CHUNK;
        uint32_t any = 0;   /* bit patterns: -0.0f is not zero memory */
        const uint32_t *w = (const uint32_t *)(const void *)(p + at);
        #pragma omp simd reduction(|:any)
        for (size_t i = 0; i < len; i++) any |= w[i];
        if (any) memset(p + at, 0, len * sizeof *p);
    }
}

int model_create(Model *model, int num_users, int hidden, size_t max_bytes,
                 char *err) {
    const int width[3] = {num_users, hidden, num_users};
    return model_create_layers(model, 2, width, max_bytes, err);
}

int model_create_layers(Model *model, int num_layers, const int *width,
                        size_t max_bytes, char *err) {
    char hs[128];
    memset(model, 0, sizeof *model);
    int valid = num_layers >= 2 && num_layers <= MODEL_MAX_LAYERS &&
                width[0] == width[num_layers];
    for (int l = 0; valid && l <= num_layers; l++) valid = width[l] > 0;
    if (!valid)
        return err_set(err, "model: %d layers with widths starting %d, %d: not "
                       "a valid stack (2..%d layers of positive widths, users "
                       "in and out)", num_layers, width[0], width[1],
                       MODEL_MAX_LAYERS);
    hidden_text(num_layers, width, hs, sizeof hs);
    size_t n = model_param_count_layers(num_layers, width);
    double need = model_bytes_layers(num_layers, width);
    if (n == 0 || need > (double)max_bytes)
        return err_set(err, "model.hidden = %s with %d users needs %.3g GB for "
                       "parameters, gradients and Adam moments, more than the "
                       "%.3g GB available: lower model.hidden",
                       hs, width[0], need / 1e9, (double)max_bytes / 1e9);
    model->mem = mem_alloc_zeroed(4 * n * sizeof(float));
    if (!model->mem)
        return err_set(err, "out of memory allocating %.3g GB of model parameters "
                       "(model.hidden = %s)", need / 1e9, hs);
    model->num_users = width[0];
    model->hidden = width[1];
    model->num_layers = num_layers;
    memcpy(model->width, width, (size_t)(num_layers + 1) * sizeof *width);
    model->num_params = n;
    model->act_encoder = ACT_SIGMOID;
    model->act_decoder = ACT_IDENTITY;
    model_point(model);
    return 0;
}

void model_free(Model *model) {
    if (!model) return;
    mem_free_zeroed(model->mem, 4 * model->num_params * sizeof(float));
    memset(model, 0, sizeof *model);
}

/* Fills the in x out weights w (canonical order (out,in); stored transposed,
 * (in,out), when tr) with 0.01 * the next in * out normals of rng, exactly
 * as that many rng_normal calls would, spare included: the Box-Muller pairs
 * are drawn in parallel, each from the stream skipped ahead to it. */
static void init_weights(Rng *rng, float *w, size_t in, size_t out, int tr) {
    const size_t n = in * out;
    size_t first = 0;
#define AT(i) (tr ? ((i) % in) * out + (i) / in : (i))
    if (n > 0 && rng->has_spare) {
        w[AT(0)] = (float)(0.01 * rng_normal(rng));
        first = 1;
    }
    const size_t pairs = (n - first + 1) / 2;
    const Rng base = *rng;
    #pragma omp parallel for schedule(static)
    for (long j = 0; j < (long)pairs; j++) {
        Rng r = base;
        double a, b;
        rng_skip(&r, 2 * (uint64_t)j);
        rng_normal_pair(&r, &a, &b);
        const size_t i = first + 2 * (size_t)j;
        w[AT(i)] = (float)(0.01 * a);
        if (i + 1 < n) w[AT(i + 1)] = (float)(0.01 * b);
    }
#undef AT
    if ((n - first) % 2) {   /* the last pair's second normal is the spare */
        Rng r = base;
        double a;
        rng_skip(&r, 2 * (uint64_t)(pairs - 1));
        rng_normal_pair(&r, &a, &rng->spare);
        rng->has_spare = 1;
    }
    rng_skip(rng, 2 * (uint64_t)pairs);
}

void model_init(Model *model, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed, 0x1417);
    const ModelTensors *p = &model->params;
    for (int l = 0; l < model->num_layers; l++) {
        const size_t in = (size_t)model->width[l], out = (size_t)model->width[l + 1];
        /* drawn in canonical (out,in) order whatever the storage layout */
        init_weights(&rng, p->w[l], in, out, l == 0 && model->enc_transposed);
        double bound = 1.0 / sqrt((double)in);
        for (size_t i = 0; i < out; i++)
            p->b[l][i] = (float)(bound * (2.0 * rng_uniform(&rng) - 1.0));
    }
    zero_floats(model->mem + model->num_params, 3 * model->num_params);
    model->step = 0;
}

/* Copies the (H,U) input-layer weight between canonical and storage
 * layout. */
static void copy_enc(const Model *model, float *dst, const float *src,
                     int to_canonical) {
    const size_t U = (size_t)model->num_users, H = (size_t)model->hidden;
    if (!model->enc_transposed) {
        memcpy(dst, src, U * H * sizeof(float));
        return;
    }
    for (size_t k = 0; k < H; k++)
        for (size_t u = 0; u < U; u++) {
            if (to_canonical) dst[k * U + u] = src[u * H + k];
            else dst[u * H + k] = src[k * U + u];
        }
}

/* Storage is canonical order except for layer 0's weight, which comes
 * first: the rest is one copy. */
void model_export(const Model *model, const ModelTensors *set, float *out) {
    size_t uh = layer_wsize(model, 0);
    copy_enc(model, out, set->w[0], 1);
    memcpy(out + uh, set->b[0], (model->num_params - uh) * sizeof(float));
}

void model_import(Model *model, ModelTensors *set, const float *in) {
    size_t uh = layer_wsize(model, 0);
    copy_enc(model, set->w[0], in, 0);
    memcpy(set->b[0], in + uh, (model->num_params - uh) * sizeof(float));
}

void model_zero_grad(Model *model) {
    memset(model->grads.w[0], 0, model->num_params * sizeof(float));
}

/* Adam over n elements of one tensor: coupled decay wd, extra gradient
 * l2x2 * p (the L2 penalty's), then p *= keep (AdamW's decoupled decay,
 * keep = 1 - lr * wd; 1 for Adam) before the update.  Zeroes the
 * gradients.  One parallel, vectorised loop. */
static void adam_range(float *restrict p, float *restrict g,
                       float *restrict m, float *restrict v, long n,
                       const AdamOptions *opt, float wd, float l2x2,
                       float keep, float step_size, float bc2_sqrt) {
    const float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps;
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i] + l2x2 * p[i];
        g[i] = 0.0f;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * keep - step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

#define MODEL_SQ_CHUNK 8192
#define MODEL_ADAM_CHUNK 4096

double model_weight_sq(const Model *model) {
    double total = 0.0;
    for (int t = 0; t < model->num_layers; t++) {
        const size_t n = layer_wsize(model, t);
        const float *w = model->params.w[t];
        const long chunks = (long)((n + MODEL_SQ_CHUNK - 1) / MODEL_SQ_CHUNK);
        double sum = 0.0;
        /* ordered reduction: each chunk's sum in double, chunks in order */
        #pragma omp parallel for ordered schedule(static) reduction(+:sum)
        for (long c = 0; c < chunks; c++) {
            size_t a = (size_t)c * MODEL_SQ_CHUNK;
            size_t b = a + MODEL_SQ_CHUNK < n ? a + MODEL_SQ_CHUNK : n;
            double s = 0.0;
            for (size_t i = a; i < b; i++) s += (double)w[i] * w[i];
            #pragma omp ordered
            sum += s;
        }
        total += sum;
    }
    return total;
}

void model_adam_step(Model *model, const AdamOptions *opt) {
    model->step++;
    if (opt->l2 != 0.0f || opt->decoupled) {
        /* the weight matrices and the biases differ in l2 only */
        const float wd = opt->decoupled ? 0.0f : opt->weight_decay;
        const float keep = opt->decoupled ? 1.0f - opt->lr * opt->weight_decay
                                          : 1.0f;
        const float l2x2 = 2.0f * opt->l2;
        AdamStep sc;
        adam_step_scalars(&sc, (double)opt->lr, opt->beta1, opt->beta2,
                          opt->eps, 0.0f, model->step);
        const float step_size = sc.step_size, bc2_sqrt = sc.bc2_sqrt;
        for (int l = 0; l < model->num_layers; l++) {
            adam_range(model->params.w[l], model->grads.w[l], model->m.w[l],
                       model->v.w[l], (long)layer_wsize(model, l), opt, wd,
                       l2x2, keep, step_size, bc2_sqrt);
            adam_range(model->params.b[l], model->grads.b[l], model->m.b[l],
                       model->v.b[l], model->width[l + 1], opt, wd, 0.0f, keep,
                       step_size, bc2_sqrt);
        }
        return;
    }
    AdamStep s;
    adam_step_scalars(&s, (double)opt->lr, opt->beta1, opt->beta2, opt->eps,
                      opt->weight_decay, model->step);
    const long n = (long)model->num_params;
    const long chunks = (n + MODEL_ADAM_CHUNK - 1) / MODEL_ADAM_CHUNK;
    /* Chunks own disjoint elements: one parallel loop, each chunk
     * vectorised. */
    #pragma omp parallel for schedule(static)
    for (long c = 0; c < chunks; c++) {
        const long a = c * MODEL_ADAM_CHUNK;
        const long len = n - a < MODEL_ADAM_CHUNK ? n - a : MODEL_ADAM_CHUNK;
        adam_span(model->params.w[0] + a, model->grads.w[0] + a,
                  model->m.w[0] + a, model->v.w[0] + a, len, &s);
    }
}

int model_adam_fusable(const Model *model, const AdamOptions *opt) {
    return opt->l2 == 0.0f && !opt->decoupled && model->num_layers == 2 &&
           model->enc_transposed;
}

void model_adam_begin(Model *model, const AdamOptions *opt, AdamStep *s) {
    model->step++;
    model_adam_scalars(opt, model->step, s);
}

void model_adam_scalars(const AdamOptions *opt, long step, AdamStep *s) {
    adam_step_scalars(s, (double)opt->lr, opt->beta1, opt->beta2, opt->eps,
                      opt->weight_decay, step);
}

void model_adam_weight_rows(Model *model, int l, const uint8_t *row_state,
                            const AdamStep *s) {
    const int tr = l == 0 && model->enc_transposed;
    const long rows = tr ? model->width[0] : model->width[l + 1];
    const long len = tr ? model->width[1] : model->width[l];
    float *p = model->params.w[l], *g = model->grads.w[l];
    float *m = model->m.w[l], *v = model->v.w[l];
    #pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        if (row_state[r] == MODEL_ROW_DONE) continue;
        const long a = r * len;
        adam_span(p + a, row_state[r] == MODEL_ROW_GRAD ? g + a : NULL, m + a,
                  v + a, len, s);
    }
}

void model_adam_listed_rows(Model *model, int l, const int32_t *rows, int n,
                            const AdamStep *s, const AdamAhead *ahead) {
    const int tr = l == 0 && model->enc_transposed;
    const long len = tr ? model->width[1] : model->width[l];
    float *p = model->params.w[l], *g = model->grads.w[l];
    float *m = model->m.w[l], *v = model->v.w[l];
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const long a = (long)rows[i] * len;
        adam_span(p + a, g + a, m + a, v + a, len, s);
        adam_ahead_row(p + a, m + a, v + a, len, ahead, rows[i]);
    }
}

void model_adam_bias(Model *model, int l, const AdamStep *s) {
    adam_span(model->params.b[l], model->grads.b[l], model->m.b[l],
              model->v.b[l], model->width[l + 1], s);
}

void model_adam_step_naive(Model *model, const AdamOptions *opt) {
    model->step++;
    double bc1 = 1.0 - pow((double)opt->beta1, (double)model->step);
    double bc2 = 1.0 - pow((double)opt->beta2, (double)model->step);
    size_t i = 0;
    for (int l = 0; l < model->num_layers; l++) {
        const size_t nw = layer_wsize(model, l);
        const size_t end = i + nw + (size_t)model->width[l + 1];
        for (; i < end; i++) {
            float *p = model->params.w[0] + i, *m = model->m.w[0] + i;
            float *v = model->v.w[0] + i;
            int weight = i < end - (size_t)model->width[l + 1];
            float g = model->grads.w[0][i];
            if (!opt->decoupled) g += opt->weight_decay * *p;
            if (weight) g += 2.0f * opt->l2 * *p;
            if (opt->decoupled) *p *= 1.0f - opt->lr * opt->weight_decay;
            model->grads.w[0][i] = 0.0f;
            *m = opt->beta1 * *m + (1.0f - opt->beta1) * g;
            *v = opt->beta2 * *v + (1.0f - opt->beta2) * g * g;
            double mhat = *m / bc1, vhat = *v / bc2;
            *p = (float)(*p - opt->lr * mhat / (sqrt(vhat) + opt->eps));
        }
    }
}

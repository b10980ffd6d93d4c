/* model.c - parameter memory, initialisation and Adam (see model.h). */
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "rng.h"

size_t model_param_count(int num_users, int hidden) {
    if (num_users <= 0 || hidden <= 0) return 0;
    size_t u = (size_t)num_users, h = (size_t)hidden;
    if (h > SIZE_MAX / 2 / u) return 0;
    size_t n = 2 * u * h;
    if (n > SIZE_MAX / 8 - u - h) return 0;
    return n + u + h;
}

/* Points the four tensor sets into mem. */
static void model_point(Model *model) {
    size_t uh = (size_t)model->num_users * (size_t)model->hidden;
    ModelTensors *sets[4] = {&model->params, &model->grads, &model->m, &model->v};
    for (int s = 0; s < 4; s++) {
        float *base = model->mem + (size_t)s * model->num_params;
        sets[s]->enc_w = base;
        sets[s]->enc_b = base + uh;
        sets[s]->dec_w = base + uh + (size_t)model->hidden;
        sets[s]->dec_b = base + 2 * uh + (size_t)model->hidden;
    }
}

int model_create(Model *model, int num_users, int hidden, size_t max_bytes,
                 char *err) {
    memset(model, 0, sizeof *model);
    size_t n = model_param_count(num_users, hidden);
    double need = 4.0 * 4.0 * (2.0 * num_users * (double)hidden + num_users + hidden);
    if (n == 0 || need > (double)max_bytes)
        return err_set(err, "model.hidden = %d with %d users needs %.3g GB for "
                       "parameters, gradients and Adam moments, more than the "
                       "%.3g GB available: lower model.hidden",
                       hidden, num_users, need / 1e9, (double)max_bytes / 1e9);
    model->mem = mem_alloc_aligned(4 * n * sizeof(float));
    if (!model->mem)
        return err_set(err, "out of memory allocating %.3g GB of model parameters "
                       "(model.hidden = %d)", need / 1e9, hidden);
    memset(model->mem, 0, 4 * n * sizeof(float));
    model->num_users = num_users;
    model->hidden = hidden;
    model->num_params = n;
    model_point(model);
    return 0;
}

void model_free(Model *model) {
    if (!model) return;
    mem_free_aligned(model->mem);
    memset(model, 0, sizeof *model);
}

void model_init(Model *model, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed, 0x1417);
    size_t uh = (size_t)model->num_users * (size_t)model->hidden;
    const ModelTensors *p = &model->params;
    const size_t U = (size_t)model->num_users, H = (size_t)model->hidden;
    /* drawn in canonical (H,U) order whatever the storage layout */
    for (size_t i = 0; i < uh; i++) {
        size_t at = model->enc_transposed ? (i % U) * H + i / U : i;
        p->enc_w[at] = (float)(0.01 * rng_normal(&rng));
    }
    double be = 1.0 / sqrt((double)model->num_users);
    for (int i = 0; i < model->hidden; i++)
        p->enc_b[i] = (float)(be * (2.0 * rng_uniform(&rng) - 1.0));
    for (size_t i = 0; i < uh; i++) p->dec_w[i] = (float)(0.01 * rng_normal(&rng));
    double bd = 1.0 / sqrt((double)model->hidden);
    for (int i = 0; i < model->num_users; i++)
        p->dec_b[i] = (float)(bd * (2.0 * rng_uniform(&rng) - 1.0));
    memset(model->mem + model->num_params, 0, 3 * model->num_params * sizeof(float));
    model->step = 0;
}

/* Copies the (H,U) encoder weight between canonical and storage layout. */
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

void model_export(const Model *model, const ModelTensors *set, float *out) {
    size_t uh = (size_t)model->num_users * (size_t)model->hidden;
    copy_enc(model, out, set->enc_w, 1);
    memcpy(out + uh, set->enc_b, (model->num_params - uh) * sizeof(float));
}

void model_import(Model *model, ModelTensors *set, const float *in) {
    size_t uh = (size_t)model->num_users * (size_t)model->hidden;
    copy_enc(model, set->enc_w, in, 0);
    memcpy(set->enc_b, in + uh, (model->num_params - uh) * sizeof(float));
}

void model_zero_grad(Model *model) {
    memset(model->grads.enc_w, 0, model->num_params * sizeof(float));
}

/* Bias corrections as PyTorch computes them: in double, then used in float
 * arithmetic as step_size = lr / bc1 and denom = sqrt(v) / sqrt(bc2) + eps. */
static void adam_scalars(const Model *model, const AdamOptions *opt,
                         float *step_size, float *bc2_sqrt) {
    double bc1 = 1.0 - pow((double)opt->beta1, (double)model->step);
    double bc2 = 1.0 - pow((double)opt->beta2, (double)model->step);
    *step_size = (float)((double)opt->lr / bc1);
    *bc2_sqrt = (float)sqrt(bc2);
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

double model_weight_sq(const Model *model) {
    const size_t uh = (size_t)model->num_users * (size_t)model->hidden;
    const float *w[2] = {model->params.enc_w, model->params.dec_w};
    const long chunks = (long)((uh + MODEL_SQ_CHUNK - 1) / MODEL_SQ_CHUNK);
    double total = 0.0;
    for (int t = 0; t < 2; t++) {
        double sum = 0.0;
        /* ordered reduction: each chunk's sum in double, chunks in order */
        #pragma omp parallel for ordered schedule(static) reduction(+:sum)
        for (long c = 0; c < chunks; c++) {
            size_t a = (size_t)c * MODEL_SQ_CHUNK;
            size_t b = a + MODEL_SQ_CHUNK < uh ? a + MODEL_SQ_CHUNK : uh;
            double s = 0.0;
            for (size_t i = a; i < b; i++) s += (double)w[t][i] * w[t][i];
            #pragma omp ordered
            sum += s;
        }
        total += sum;
    }
    return total;
}

void model_adam_step(Model *model, const AdamOptions *opt) {
    model->step++;
    float step_size, bc2_sqrt;
    adam_scalars(model, opt, &step_size, &bc2_sqrt);
    if (opt->l2 != 0.0f || opt->decoupled) {
        /* the weight matrices and the biases differ in l2 only */
        const float wd = opt->decoupled ? 0.0f : opt->weight_decay;
        const float keep = opt->decoupled ? 1.0f - opt->lr * opt->weight_decay
                                          : 1.0f;
        const float l2x2 = 2.0f * opt->l2;
        const size_t uh = (size_t)model->num_users * (size_t)model->hidden;
        float *const p[4] = {model->params.enc_w, model->params.enc_b,
                             model->params.dec_w, model->params.dec_b};
        float *const g[4] = {model->grads.enc_w, model->grads.enc_b,
                             model->grads.dec_w, model->grads.dec_b};
        float *const m[4] = {model->m.enc_w, model->m.enc_b, model->m.dec_w,
                             model->m.dec_b};
        float *const v[4] = {model->v.enc_w, model->v.enc_b, model->v.dec_w,
                             model->v.dec_b};
        const long n[4] = {(long)uh, model->hidden, (long)uh, model->num_users};
        for (int t = 0; t < 4; t++)
            adam_range(p[t], g[t], m[t], v[t], n[t], opt, wd,
                       t % 2 == 0 ? l2x2 : 0.0f, keep, step_size, bc2_sqrt);
        return;
    }
    const float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps;
    const float wd = opt->weight_decay;
    float *restrict p = model->params.enc_w;
    float *restrict g = model->grads.enc_w;
    float *restrict m = model->m.enc_w;
    float *restrict v = model->v.enc_w;
    const long n = (long)model->num_params;
    /* Iterations own disjoint elements: one parallel loop, vectorised. */
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        g[i] = 0.0f;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

void model_adam_step_naive(Model *model, const AdamOptions *opt) {
    model->step++;
    double bc1 = 1.0 - pow((double)opt->beta1, (double)model->step);
    double bc2 = 1.0 - pow((double)opt->beta2, (double)model->step);
    const size_t uh = (size_t)model->num_users * (size_t)model->hidden;
    const size_t dec_w = uh + (size_t)model->hidden;
    for (size_t i = 0; i < model->num_params; i++) {
        float *p = model->params.enc_w + i, *m = model->m.enc_w + i;
        float *v = model->v.enc_w + i;
        int weight = i < uh || (i >= dec_w && i < dec_w + uh);
        float g = model->grads.enc_w[i];
        if (!opt->decoupled) g += opt->weight_decay * *p;
        if (weight) g += 2.0f * opt->l2 * *p;
        if (opt->decoupled) *p *= 1.0f - opt->lr * opt->weight_decay;
        model->grads.enc_w[i] = 0.0f;
        *m = opt->beta1 * *m + (1.0f - opt->beta1) * g;
        *v = opt->beta2 * *v + (1.0f - opt->beta2) * g * g;
        double mhat = *m / bc1, vhat = *v / bc2;
        *p = (float)(*p - opt->lr * mhat / (sqrt(vhat) + opt->eps));
    }
}

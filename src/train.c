/* train.c - the training loop and evaluation (see train.h). */
#include "train.h"

#include <assert.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "err.h"
#include "kernels_sparse_um.h"
#include "mem.h"
#include "prefetch.h"

/* The resolved stack of opt for U users: *arch complete (num_hidden >= 1)
 * and width[0..L] (U, hidden widths, U).  Returns L (0 when arch is
 * invalid: too many layers). */
static int resolve_arch(const TrainOptions *opt, const ModelArch *given,
                        int U, ModelArch *arch, int *width) {
    if (!given || given->num_hidden == 0) {
        memset(arch, 0, sizeof *arch);
        arch->num_hidden = 1;
        arch->width[0] = opt->hidden;
        arch->encoder = ACT_SIGMOID;
        arch->decoder = ACT_IDENTITY;
    } else {
        *arch = *given;
    }
    if (arch->num_hidden < 1 || arch->num_hidden > MODEL_MAX_LAYERS - 1) return 0;
    width[0] = U;
    for (int l = 0; l < arch->num_hidden; l++) width[l + 1] = arch->width[l];
    width[arch->num_hidden + 1] = U;
    return arch->num_hidden + 1;
}

/* See train.h. */
int trainer_eval_rows(const TrainOptions *opt, int num_items) {
    if (opt->ops) return opt->batch_size;
    const int c = num_items < TRAIN_EVAL_ROWS ? num_items : TRAIN_EVAL_ROWS;
    return c > opt->batch_size ? c : opt->batch_size;
}

double trainer_bytes_needed(const TrainOptions *opt, const ModelArch *given,
                            int num_items, int num_users, int64_t train_nnz) {
    ModelArch arch;
    int width[MODEL_MAX_LAYERS + 1];
    const int L = resolve_arch(opt, given, num_users, &arch, width);
    if (L == 0) return INFINITY;
    const double B = opt->batch_size, U = num_users;
    const double C = trainer_eval_rows(opt, num_items);
    double hidden_sum = 0.0;
    for (int l = 1; l < L; l++) hidden_sum += width[l];
    double model = model_bytes_layers(L, width);
    /* h: C rows, hd and dhd: B rows; row_loss/abs/cold: C rows; the
     * batch's row offsets and tile cursors: C rows per thread */
    double common = 4.0 * (C + 2 * B) * hidden_sum + 24.0 * C +
                    8.0 * (omp_get_max_threads() + 1) * C + 8.0 * num_items;
    if (opt->ops)  /* dense: training matrix copy, x and dy */
        return model + common + 4.0 * num_items * U + 8.0 * B * U;
    /* sparse: a batch holds at most train_nnz entries, ~44 bytes each;
     * fused Adam: a row state per user, a gradient row per thread; the
     * shallow model's Adam step plan (adam_ahead.h): a users x items index,
     * touch bits, an item's step and a step's scalars */
    const double words = opt->batch_size > 0 ?
                         (double)((num_items / opt->batch_size + 63) / 64) : 1.0;
    const double plan = L == 2 ? 4.0 * (double)train_nnz + 8.0 * U +
                                 8.0 * U * words + 36.0 * num_items
                               : 0.0;
    return model + common + 44.0 * (double)train_nnz + 5.0 * U +
           4.0 * omp_get_max_threads() * hidden_sum + plan;
}

int trainer_create(Trainer *t, const TrainOptions *opt, const Csr *train,
                   const Csr *test, char *err) {
    return trainer_create_arch(t, opt, NULL, train, test, err);
}

int trainer_create_arch(Trainer *t, const TrainOptions *opt,
                        const ModelArch *arch, const Csr *train,
                        const Csr *test, char *err) {
    int width[MODEL_MAX_LAYERS + 1];
    memset(t, 0, sizeof *t);
    t->opt = *opt;
    t->train = train;
    t->test = test;
    t->num_items = train->rows;
    t->num_users = train->cols;
    const int I = t->num_items;
    const int L = resolve_arch(opt, arch, t->num_users, &t->arch, width);
    if (L == 0)
        return err_set(err, "model.hidden: %d hidden layers; at most %d are "
                       "supported", arch->num_hidden, MODEL_MAX_LAYERS - 1);
    t->opt.hidden = width[1];
    if (opt->batch_size > I)
        return err_set(err, "train.batch_size = %d exceeds the %d items: with "
                       "the last incomplete batch dropped no step would run; "
                       "lower train.batch_size", opt->batch_size, I);
    double need = trainer_bytes_needed(opt, arch, I, t->num_users, train->nnz);
    if (need > (double)opt->max_bytes)
        return err_set(err, "model.hidden = %d%s with %d users and %d items needs "
                       "%.3g GB (parameters, gradients, Adam moments and %s "
                       "buffers), more than the %.3g GB available: lower "
                       "model.hidden%s", width[1], L > 2 ? ", ..." : "",
                       t->num_users, I, need / 1e9,
                       opt->ops ? "dense" : "sparse", (double)opt->max_bytes / 1e9,
                       opt->ops ? " or use train.kernel: sparse" : "");
    if (model_create_layers(&t->model, L, width, opt->max_bytes, err))
        goto fail;
    t->model.enc_transposed = opt->ops == NULL;
    t->model.act_encoder = (int)t->arch.encoder;
    t->model.act_decoder = (int)t->arch.decoder;
    const size_t B = (size_t)opt->batch_size, U = (size_t)t->num_users;
    const size_t H = (size_t)width[1];
    t->order = mem_alloc((size_t)I * sizeof *t->order);
    t->eval_rows = mem_alloc((size_t)I * sizeof *t->eval_rows);
    t->eval_chunk = trainer_eval_rows(opt, I);
    const size_t C = (size_t)t->eval_chunk;
    t->row_loss = mem_alloc(C * sizeof(double));
    t->row_abs = mem_alloc(C * sizeof(double));
    t->row_cold = mem_alloc(C * sizeof(int64_t));
    t->user_seen = mem_calloc(U, 1);
    if (!t->order || !t->eval_rows || !t->row_loss || !t->row_abs ||
        !t->row_cold || !t->user_seen)
        goto oom;
    for (int l = 0; l < L - 1; l++) {
        const size_t n = B * (size_t)width[l + 1] * sizeof(float);
        t->h[l] = mem_alloc_aligned(C * (size_t)width[l + 1] * sizeof(float));
        t->hd[l] = mem_alloc_aligned(n);
        t->dhd[l] = mem_alloc_aligned(n);
        if (!t->h[l] || !t->hd[l] || !t->dhd[l]) goto oom;
    }
    for (int64_t e = 0; e < train->nnz; e++) t->user_seen[train->col[e]] = 1;
    if (opt->ops) {
        t->train_dense = csr_to_dense(train);
        t->x = mem_alloc_aligned(B * U * sizeof(float));
        t->dy = mem_alloc_aligned(B * U * sizeof(float));
        if (!t->train_dense || !t->x || !t->dy) goto oom;
    } else {
        if (sparse_batch_create_sized(&t->batch, train, t->eval_chunk,
                                      opt->batch_size, err))
            goto fail;
        t->dy_entries = mem_alloc((size_t)t->batch.max_nnz * sizeof(float));
        t->sq_entries = mem_alloc((size_t)t->batch.max_nnz * sizeof(float));
        t->row_state = mem_calloc(U, 1);
        t->adam_threads = omp_get_max_threads();
        t->user_major = sparse_um_pays(t->num_users, width[1]);
        t->adam_scratch = mem_alloc_aligned((size_t)t->adam_threads * H *
                                            sizeof(float));
        if (!t->dy_entries || !t->sq_entries || !t->row_state ||
            !t->adam_scratch)
            goto oom;
        if (L == 2 && adam_ahead_create(&t->ahead, train, opt->batch_size, err))
            goto fail;
    }
    model_init(&t->model, opt->seed);
    rng_seed(&t->shuffle, opt->seed, 0x5bu);
    return 0;
oom:
    err_set(err, "out of memory allocating training buffers (%.3g MB for batch "
            "%zu, %zu users, hidden %zu)", need / 1e6, B, U, H);
fail:
    trainer_free(t);
    return -1;
}

void trainer_free(Trainer *t) {
    if (!t) return;
    model_free(&t->model);
    mem_free(t->order);
    mem_free(t->eval_rows);
    for (int l = 0; l < MODEL_MAX_LAYERS - 1; l++) {
        mem_free_aligned(t->h[l]);
        mem_free_aligned(t->hd[l]);
        mem_free_aligned(t->dhd[l]);
    }
    mem_free(t->row_loss);
    mem_free(t->row_abs);
    mem_free(t->row_cold);
    mem_free(t->user_seen);
    mem_free_aligned(t->train_dense);
    mem_free_aligned(t->x);
    mem_free_aligned(t->dy);
    sparse_batch_free(&t->batch);
    mem_free(t->dy_entries);
    mem_free(t->sq_entries);
    mem_free(t->row_state);
    mem_free_aligned(t->adam_scratch);
    adam_ahead_free(&t->ahead);
    memset(t, 0, sizeof *t);
}

const char *trainer_kernel_name(const Trainer *t) {
    return t->opt.ops ? t->opt.ops->name : "sparse";
}

/* The middle hidden layers 1 .. nh-1 forward (dense products whatever the
 * kernels of the input and output layers): hd[l-1] -> h[l], hd[l].  drop
 * holds one Dropout per hidden layer, or is NULL (eval mode: hd == h). */
static void middle_forward(Trainer *t, const KernelOps *k, const Dropout *drop,
                           int n) {
    const ModelTensors *p = &t->model.params;
    const int *w = t->model.width;
    for (int l = 1; l < t->arch.num_hidden; l++) {
        float *hd = drop ? t->hd[l] : t->h[l];
        const float *in = drop ? t->hd[l - 1] : t->h[l - 1];
        k->encoder_forward(t->h[l], hd, in, p->w[l], p->b[l], t->arch.encoder,
                           drop ? &drop[l] : NULL, n, w[l], w[l + 1]);
    }
}

/* Their backward, from dhd[nh-1] down to dhd[0]: through each layer's
 * dropout and activation, then the linear layer's input and parameter
 * gradients. */
static void middle_backward(Trainer *t, const KernelOps *k, const Dropout *drop,
                            int n) {
    const ModelTensors *p = &t->model.params, *g = &t->model.grads;
    const int *w = t->model.width;
    for (int l = t->arch.num_hidden - 1; l >= 1; l--) {
        k->activation_backward(t->dhd[l], t->h[l], t->hd[l], t->arch.encoder,
                               &drop[l], n, w[l + 1]);
        k->decoder_backward(t->dhd[l - 1], g->w[l], g->b[l], t->dhd[l],
                            t->hd[l - 1], p->w[l], n, w[l + 1], w[l]);
    }
}

/* Dense and naive kernels: gathers the batch rows and runs the layers. */
static void dense_forward_backward(Trainer *t, const int32_t *items, int n,
                                   const Dropout *drop) {
    const int U = t->num_users, H = t->model.width[1], nh = t->arch.num_hidden;
    const int Hk = t->model.width[nh];
    const KernelOps *k = t->opt.ops;
    const ModelTensors *p = &t->model.params, *g = &t->model.grads;
    #pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++)
        memcpy(t->x + (size_t)r * U, t->train_dense + (size_t)items[r] * U,
               (size_t)U * sizeof(float));
    k->encoder_forward(t->h[0], t->hd[0], t->x, p->w[0], p->b[0],
                       t->arch.encoder, &drop[0], n, U, H);
    middle_forward(t, k, drop, n);
    k->decoder_mse_forward(t->dy, t->row_loss, t->hd[nh - 1], p->w[nh],
                           p->b[nh], t->arch.decoder, t->x, n, U, Hk);
    k->decoder_backward(t->dhd[nh - 1], g->w[nh], g->b[nh], t->dy,
                        t->hd[nh - 1], p->w[nh], n, U, Hk);
    middle_backward(t, k, drop, n);
    k->encoder_backward(g->w[0], g->b[0], t->dhd[0], t->h[0], t->hd[0], t->x,
                        t->arch.encoder, &drop[0], n, U, H);
}

/* The sparse input layer forward of the batch in t->batch: user-major as
 * t->user_major says, else row by row (sparse_encoder_forward_rows); the
 * numbers of sparse_encoder_forward either way. */
static void sparse_input_forward(Trainer *t, float *hd, const Dropout *drop) {
    const ModelTensors *p = &t->model.params;
    if (t->user_major)
        sparse_encoder_forward_um(t->h[0], hd, &t->batch, p->w[0], p->b[0],
                                  t->arch.encoder, drop, t->model.width[1]);
    else
        sparse_encoder_forward_rows(t->h[0], hd, &t->batch, p->w[0], p->b[0],
                                    t->arch.encoder, drop, t->model.width[1]);
}

/* Sparse kernels: the same layers, the input and output layers on the
 * batch's observed entries, the middle ones dense. */
static void sparse_forward_backward(Trainer *t, const int32_t *items, int n,
                                    const Dropout *drop) {
    const int H = t->model.width[1], nh = t->arch.num_hidden;
    const int Hk = t->model.width[nh];
    const ModelTensors *p = &t->model.params, *g = &t->model.grads;
    SparseBatch *b = &t->batch;
    sparse_batch_build(b, t->train, items, n);
    sparse_input_forward(t, t->hd[0], &drop[0]);
    middle_forward(t, &kernels_dense, drop, n);
    sparse_decoder_fused(t->dy_entries, t->row_loss, t->sq_entries, g->w[nh],
                         g->b[nh], t->hd[nh - 1], p->w[nh], p->b[nh],
                         t->arch.decoder, b, Hk);
    if (t->user_major)
        sparse_decoder_dhd(t->dhd[nh - 1], t->dy_entries, p->w[nh], b, Hk);
    else
        sparse_decoder_backward(t->dhd[nh - 1], NULL, NULL, t->dy_entries,
                                t->hd[nh - 1], p->w[nh], b, Hk);
    middle_backward(t, &kernels_dense, drop, n);
    sparse_encoder_backward(g->w[0], g->b[0], t->dhd[0], t->h[0], t->hd[0], b,
                            t->arch.encoder, &drop[0], H);
}

/* Marks the batch's users' rows with state in t->row_state. */
static void mark_batch_rows(Trainer *t, uint8_t state) {
    const SparseBatch *b = &t->batch;
    for (int i = 0; i < b->nusers; i++) t->row_state[b->users[i]] = state;
}

/* One training step of the shallow sparse model with Adam fused in (the
 * numbers of trainer_forward_backward + model_adam_step): each weight row
 * of a batch user takes its Adam step as soon as its gradient is complete
 * (no gradient matrix written or read), then, with ahead (planned for this
 * epoch, ahead->now this step's index), the zero-gradient steps up to its
 * user's next step.  The rows without gradient take theirs in one streaming
 * pass per matrix; with ahead they took it ahead of time; with proto.lazy
 * they take none.  Returns the batch loss. */
static double sparse_step_fused(Trainer *t, const int32_t *items, int n,
                                const AdamOptions *adam,
                                const AdamAhead *ahead) {
    const int H = t->model.width[1];
    Model *md = &t->model;
    const ModelTensors *p = &md->params, *g = &md->grads;
    const Dropout drop = {t->opt.dropout, t->opt.seed, (uint64_t)md->step, items};
    SparseBatch *b = &t->batch;
    sparse_batch_build(b, t->train, items, n);
    sparse_input_forward(t, t->hd[0], &drop);
    /* the decoder: user-major, its rows' Adam steps fused into the backward
     * pass; row-major, its gradient into grads for the row pass below */
    sparse_decoder_fused(t->dy_entries, t->row_loss, t->sq_entries,
                         t->user_major ? NULL : g->w[1], g->b[1], t->hd[0],
                         p->w[1], p->b[1], t->arch.decoder, b, H);
    AdamStep s;
    model_adam_begin(md, adam, &s);
    if (t->user_major)
        sparse_decoder_backward_adam(t->dhd[0], p->w[1], md->m.w[1], md->v.w[1],
                                     t->dy_entries, t->hd[0], b, &s, ahead,
                                     t->adam_scratch, t->adam_threads, H);
    else
        sparse_decoder_dhd_rows(t->dhd[0], t->dy_entries, p->w[1], b, H);
    sparse_encoder_backward_adam(p->w[0], md->m.w[0], md->v.w[0], g->b[0],
                                 t->dhd[0], t->h[0], t->hd[0], b,
                                 t->arch.encoder, &drop, &s, ahead,
                                 t->adam_scratch, t->adam_threads, H);
    if (t->proto.lazy || ahead) {
        /* only the batch users' rows step (the others: none with lazy Adam,
         * taken ahead of time with ahead): the decoder's row-major
         * gradients are still to apply */
        if (!t->user_major)
            model_adam_listed_rows(md, 1, b->users, b->nusers, &s, ahead);
    } else {
        mark_batch_rows(t, MODEL_ROW_DONE);
        model_adam_weight_rows(md, 0, t->row_state, &s);
        if (!t->user_major) mark_batch_rows(t, MODEL_ROW_GRAD);
        model_adam_weight_rows(md, 1, t->row_state, &s);
        mark_batch_rows(t, MODEL_ROW_ZERO);
    }
    model_adam_bias(md, 0, &s);
    model_adam_bias(md, 1, &s);
    double loss = 0.0;
    for (int r = 0; r < n; r++) loss += t->row_loss[r];  /* fixed order */
    return loss;
}

double trainer_forward_backward(Trainer *t, const int32_t *items, int n) {
    /* one mask per hidden layer: layer 0 keyed by the seed itself (the
     * shallow model's mask), deeper layers by a hash of (seed, layer) */
    Dropout drop[MODEL_MAX_LAYERS - 1];
    for (int l = 0; l < t->arch.num_hidden; l++) {
        uint64_t seed = l == 0 ? t->opt.seed : rng_hash64(t->opt.seed, (uint64_t)l, 0xd70u);
        drop[l] = (Dropout){t->opt.dropout, seed, (uint64_t)t->model.step, items};
    }
    if (t->opt.ops) dense_forward_backward(t, items, n, drop);
    else sparse_forward_backward(t, items, n, drop);
    double loss = 0.0;
    for (int r = 0; r < n; r++) loss += t->row_loss[r];  /* fixed order */
    return loss;
}

/* The Adam options of t's steps: PyTorch's defaults beside train.lr and
 * train.weight_decay, and the protocol's l2 and decoupled decay. */
static AdamOptions trainer_adam(const Trainer *t) {
    return (AdamOptions){t->opt.lr, 0.9f, 0.999f, 1e-8f, t->opt.weight_decay,
                         t->proto.l2, t->proto.decoupled};
}

/* 1 when t's steps take the fused path (sparse_step_fused). */
static int trainer_fused(const Trainer *t, const AdamOptions *adam) {
    const int fusable = !t->opt.ops && t->arch.num_hidden == 1 &&
                        model_adam_fusable(&t->model, adam);
    assert(fusable || !t->proto.lazy);   /* cfg_validate refuses the rest */
    return fusable && (!t->unfused || t->proto.lazy);
}

/* One step (trainer_step) with the epoch's plan ahead, or NULL. */
static double trainer_step_planned(Trainer *t, const int32_t *items, int n,
                                   const AdamAhead *ahead) {
    AdamOptions adam = trainer_adam(t);
    if (trainer_fused(t, &adam)) {
        double loss = sparse_step_fused(t, items, n, &adam, ahead);
        if (t->avg) avg_update(t->avg, &t->model);
        return loss;
    }
    double loss = trainer_forward_backward(t, items, n);
    if (t->proto.l2 > 0.0f)   /* the penalty at the parameters of the loss */
        loss += (double)t->proto.l2 * model_weight_sq(&t->model);
    model_adam_step(&t->model, &adam);
    if (t->avg) avg_update(t->avg, &t->model);
    return loss;
}

double trainer_step(Trainer *t, const int32_t *items, int n) {
    return trainer_step_planned(t, items, n, NULL);
}

/* Plans the epoch of t->order for the exact fused Adam's zero-gradient
 * steps (adam_ahead.h) and takes the steps before each user's first one.
 * Returns the plan, or NULL where it does not apply: other paths, lazy Adam
 * (no such steps), a moving average (it reads every row at every step),
 * tests' no_ahead. */
static AdamAhead *trainer_plan_epoch(Trainer *t) {
    const AdamOptions adam = trainer_adam(t);
    AdamAhead *a = &t->ahead;
    if (!a->uptr || t->no_ahead || t->proto.lazy || t->avg ||
        !trainer_fused(t, &adam))
        return NULL;
    adam_ahead_plan(a, t->order, t->num_items, t->opt.batch_size);
    for (int k = 0; k < a->nsteps; k++)
        model_adam_scalars(&adam, t->model.step + 1 + k, &a->step[k]);
    Model *md = &t->model;
    const long H = md->width[1];
    adam_ahead_begin_rows(md->params.w[0], md->m.w[0], md->v.w[0], H, a);
    adam_ahead_begin_rows(md->params.w[1], md->m.w[1], md->v.w[1], H, a);
    return a;
}

int trainer_epoch(Trainer *t, const volatile sig_atomic_t *stop,
                  double *train_loss) {
    const int I = t->num_items, B = t->opt.batch_size;
    for (int i = 0; i < I; i++) t->order[i] = i;
    for (int i = I - 1; i > 0; i--) {  /* Fisher-Yates */
        int j = (int)rng_below(&t->shuffle, (uint64_t)i + 1);
        int32_t tmp = t->order[i];
        t->order[i] = t->order[j];
        t->order[j] = tmp;
    }
    AdamAhead *ahead = trainer_plan_epoch(t);
    double total = 0.0;
    long seen = 0;
    for (int s = 0; s + B <= I; s += B) {
        if (stop && *stop) return 1;
        if (ahead) ahead->now = s / B;
        total += trainer_step_planned(t, t->order + s, B, ahead);
        seen += B;
    }
    *train_loss = seen ? total / (double)seen : NAN;
    return 0;
}

/* Dense kernels: eval-mode reconstruction y (n,U) of the n input rows
 * x (n,U). */
static void dense_forward_eval(Trainer *t, const float *x, int n, float *y) {
    const int U = t->num_users, nh = t->arch.num_hidden;
    const ModelTensors *p = &t->model.params;
    t->opt.ops->encoder_forward(t->h[0], t->h[0], x, p->w[0], p->b[0],
                                t->arch.encoder, NULL, n, U, t->model.width[1]);
    middle_forward(t, t->opt.ops, NULL, n);
    t->opt.ops->decoder_forward(y, t->h[nh - 1], p->w[nh], p->b[nh],
                                t->arch.decoder, n, U, t->model.width[nh]);
}

/* Dense kernels: eval-mode reconstruction of training rows [r0, r0+n) into
 * t->dy. */
static void dense_reconstruct_chunk(Trainer *t, int r0, int n) {
    dense_forward_eval(t, t->train_dense + (size_t)r0 * t->num_users, n, t->dy);
}

/* Sparse kernels: eval-mode last hidden layer of the given items into
 * t->h[nh-1]. */
static void sparse_hidden(Trainer *t, const int32_t *items, int n) {
    sparse_batch_build(&t->batch, t->train, items, n);
    sparse_input_forward(t, t->h[0], NULL);
    middle_forward(t, &kernels_dense, NULL, n);
}

/* The evaluated prediction for user u of an item (item_cold: the item has
 * no training rating) from the model's output y: proto.cold_value for a cold
 * pair when proto.cold is set, else y clipped when proto.clip is set.
 * *cold is incremented for a cold default. */
static inline double eval_prediction(const Trainer *t, int item_cold,
                                     int32_t u, float y, int64_t *cold) {
    if (t->proto.cold && (item_cold || !t->user_seen[u])) {
        (*cold)++;
        return t->proto.cold_value;
    }
    if (t->proto.clip)
        y = y < t->proto.clip_lo ? t->proto.clip_lo
          : y > t->proto.clip_hi ? t->proto.clip_hi : y;
    return y;
}

/* Returns 1 when item i has no training rating. */
static inline int item_cold(const Trainer *t, int32_t i) {
    return t->train->ptr[i + 1] == t->train->ptr[i];
}

/* Eval-mode last hidden layer of the n listed training rows into
 * t->h[nh-1]: the dense and naive kernels on the gathered dense rows (n <=
 * batch_size), the sparse kernels on their observed entries (n <=
 * eval_chunk rows whose entries fit t->batch: trainer_eval_chunk_end). */
static void eval_hidden(Trainer *t, const int32_t *rows, int n) {
    if (!t->opt.ops) {
        sparse_hidden(t, rows, n);
        return;
    }
    const int U = t->num_users;
    const ModelTensors *p = &t->model.params;
    #pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++)
        memcpy(t->x + (size_t)r * U, t->train_dense + (size_t)rows[r] * U,
               (size_t)U * sizeof(float));
    t->opt.ops->encoder_forward(t->h[0], t->h[0], t->x, p->w[0], p->b[0],
                                t->arch.encoder, NULL, n, U, t->model.width[1]);
    middle_forward(t, t->opt.ops, NULL, n);
}

/* Squared and absolute errors at m's entries of the n listed rows, one
 * entry of t->row_loss / row_abs / row_cold per row, from their last hidden
 * layer in t->h[nh-1] (eval_hidden): the output layer is computed only at
 * those entries (one dot product each), whatever the kernels. */
static void eval_entries(Trainer *t, const Csr *m, const int32_t *rows,
                         int n) {
    const int nh = t->arch.num_hidden, H = t->model.width[nh];
    const Activation act = t->arch.decoder;
    const float *wd = t->model.params.w[nh], *bd = t->model.params.b[nh];
    #pragma omp parallel for schedule(dynamic, 4)
    for (int r = 0; r < n; r++) {
        const float *hr = t->h[nh - 1] + (size_t)r * H;
        const int ic = item_cold(t, rows[r]);
        double s = 0.0, a = 0.0;
        int64_t cold = 0;
        const int64_t e_end = m->ptr[rows[r] + 1];
        for (int64_t e = m->ptr[rows[r]]; e < e_end; e++) {
            const int32_t u = m->col[e];
            const float *wu = wd + (size_t)u * H;
            if (e + PREFETCH_AHEAD < e_end)
                prefetch_read(wd + (size_t)m->col[e + PREFETCH_AHEAD] * H, H);
            float y = 0.0f;
            #pragma omp simd reduction(+:y)
            for (int k = 0; k < H; k++) y += hr[k] * wu[k];
            y = act == ACT_IDENTITY ? y + bd[u] : activation_apply(act, y + bd[u]);
            double d = (double)m->val[e] - eval_prediction(t, ic, u, y, &cold);
            s += d * d;
            a += fabs(d);
        }
        t->row_loss[r] = s;
        t->row_abs[r] = a;
        t->row_cold[r] = cold;
    }
}

void trainer_scores_by_column(Trainer *t, const int32_t *rows, int n,
                              float *out) {
    const int U = t->num_users, nh = t->arch.num_hidden;
    const int Hk = t->model.width[nh];
    const ModelTensors *p = &t->model.params;
    eval_hidden(t, rows, n);
    if (!t->opt.ops || t->opt.ops == &kernels_dense) {
        kernels_dense_decoder_forward_cols(out, t->h[nh - 1], p->w[nh],
                                           p->b[nh], t->arch.decoder, n, U, Hk);
        return;
    }
    /* another kernel set (naive): its own decoder, then transposed */
    t->opt.ops->decoder_forward(t->dy, t->h[nh - 1], p->w[nh], p->b[nh],
                                t->arch.decoder, n, U, Hk);
    #pragma omp parallel for schedule(static)
    for (int u = 0; u < U; u++)
        for (int r = 0; r < n; r++)
            out[(size_t)u * n + r] = t->dy[(size_t)r * U + u];
}

/* See train.h. */
int trainer_eval_chunk_end(const Trainer *t, const int32_t *rows, int n) {
    const int cap = n < t->eval_chunk ? n : t->eval_chunk;
    if (t->opt.ops) return cap;
    const int64_t *ptr = t->train->ptr;
    int64_t nnz = 0;
    int r = 0;
    for (; r < cap; r++) {
        const int64_t len = ptr[rows[r] + 1] - ptr[rows[r]];
        if (r > 0 && nnz + len > t->batch.max_nnz) break;
        nnz += len;
    }
    return r;
}

void trainer_evaluate_many(Trainer *t, const Csr *const *ms, int k,
                           EvalMetrics *outs) {
    double sse[TRAIN_EVAL_MAX], sae[TRAIN_EVAL_MAX];
    int64_t cold[TRAIN_EVAL_MAX];
    int live = 0;
    if (k > TRAIN_EVAL_MAX) k = TRAIN_EVAL_MAX;
    for (int j = 0; j < k; j++) {
        memset(&outs[j], 0, sizeof outs[j]);
        outs[j].rmse = outs[j].mae = NAN;
        sse[j] = sae[j] = 0.0;
        cold[j] = 0;
        live += ms[j] && ms[j]->nnz > 0;
    }
    if (!live) return;
    /* only the rows with entries in some matrix (each row's hidden layer
     * computed once for all of them), and only the outputs at the entries */
    int total = 0;
    for (int i = 0; i < t->num_items; i++)
        for (int j = 0; j < k; j++)
            if (ms[j] && ms[j]->ptr[i + 1] > ms[j]->ptr[i]) {
                t->eval_rows[total++] = i;
                break;
            }
    for (int c0 = 0, n; c0 < total; c0 += n) {
        n = trainer_eval_chunk_end(t, t->eval_rows + c0, total - c0);
        eval_hidden(t, t->eval_rows + c0, n);
        for (int j = 0; j < k; j++) {
            if (!ms[j] || ms[j]->nnz == 0) continue;
            eval_entries(t, ms[j], t->eval_rows + c0, n);
            for (int r = 0; r < n; r++) {  /* fixed order; a row without
                                              entries adds exact zeros */
                sse[j] += t->row_loss[r];
                sae[j] += t->row_abs[r];
                cold[j] += t->row_cold[r];
            }
        }
    }
    for (int j = 0; j < k; j++) {
        if (!ms[j] || ms[j]->nnz == 0) continue;
        outs[j].n = ms[j]->nnz;
        outs[j].n_cold = cold[j];
        outs[j].rmse = sqrt(sse[j] / (double)ms[j]->nnz);
        outs[j].mae = sae[j] / (double)ms[j]->nnz;
    }
}

void trainer_evaluate(Trainer *t, const Csr *m, EvalMetrics *out) {
    trainer_evaluate_many(t, &m, 1, out);
}

double trainer_test_rmse(Trainer *t) {
    EvalMetrics e;
    trainer_evaluate(t, t->test, &e);
    return e.rmse;
}

void trainer_reconstruct(Trainer *t, float *out) {
    const int I = t->num_items, U = t->num_users, B = t->opt.batch_size;
    const ModelTensors *p = &t->model.params;
    for (int r0 = 0; r0 < I; r0 += B) {
        int n = I - r0 < B ? I - r0 : B;
        if (t->opt.ops) {
            dense_reconstruct_chunk(t, r0, n);
            memcpy(out + (size_t)r0 * U, t->dy, (size_t)n * U * sizeof(float));
        } else {
            int32_t *rows = t->order;  /* scratch: consecutive item ids */
            for (int r = 0; r < n; r++) rows[r] = r0 + r;
            const int nh = t->arch.num_hidden;
            sparse_hidden(t, rows, n);
            kernels_dense.decoder_forward(out + (size_t)r0 * U, t->h[nh - 1],
                                          p->w[nh], p->b[nh], t->arch.decoder,
                                          n, U, t->model.width[nh]);
        }
    }
}

void trainer_predict_rows(Trainer *t, const int32_t *rows, int n, float *out) {
    const int U = t->num_users, B = t->opt.batch_size, nh = t->arch.num_hidden;
    const ModelTensors *p = &t->model.params;
    for (int c0 = 0; c0 < n; c0 += B) {
        const int m = n - c0 < B ? n - c0 : B;
        float *y = out + (size_t)c0 * U;
        if (t->opt.ops) {   /* as dense_reconstruct_chunk, on gathered rows */
            for (int r = 0; r < m; r++)
                memcpy(t->x + (size_t)r * U,
                       t->train_dense + (size_t)rows[c0 + r] * U,
                       (size_t)U * sizeof(float));
            dense_forward_eval(t, t->x, m, y);
        } else {            /* as trainer_reconstruct */
            sparse_hidden(t, rows + c0, m);
            kernels_dense.decoder_forward(y, t->h[nh - 1], p->w[nh], p->b[nh],
                                          t->arch.decoder, m, U,
                                          t->model.width[nh]);
        }
        if (!t->proto.cold && !t->proto.clip) continue;   /* raw outputs */
        #pragma omp parallel for schedule(static)
        for (int r = 0; r < m; r++) {
            const int ic = item_cold(t, rows[c0 + r]);
            float *yr = y + (size_t)r * U;
            int64_t cold = 0;
            for (int u = 0; u < U; u++)
                yr[u] = (float)eval_prediction(t, ic, u, yr[u], &cold);
        }
    }
}

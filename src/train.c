/* train.c - the training loop and evaluation (see train.h). */
#include "train.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "mem.h"

double trainer_bytes_needed(const TrainOptions *opt, int num_items,
                            int num_users, int64_t train_nnz) {
    const double B = opt->batch_size, U = num_users, H = opt->hidden;
    double model = 16.0 * (2.0 * U * H + U + H);
    double common = 4.0 * 3 * B * H + 8.0 * B + 8.0 * num_items;
    if (opt->ops)  /* dense: training matrix copy, x and dy */
        return model + common + 4.0 * num_items * U + 8.0 * B * U;
    /* sparse: a batch holds at most train_nnz entries, ~32 bytes each */
    return model + common + 32.0 * (double)train_nnz + 4.0 * U;
}

int trainer_create(Trainer *t, const TrainOptions *opt, const Csr *train,
                   const Csr *test, char *err) {
    memset(t, 0, sizeof *t);
    t->opt = *opt;
    t->train = train;
    t->test = test;
    t->num_items = train->rows;
    t->num_users = train->cols;
    const int I = t->num_items;
    if (opt->batch_size > I)
        return err_set(err, "train.batch_size = %d exceeds the %d items: with "
                       "the last incomplete batch dropped no step would run; "
                       "lower train.batch_size", opt->batch_size, I);
    double need = trainer_bytes_needed(opt, I, t->num_users, train->nnz);
    if (need > (double)opt->max_bytes)
        return err_set(err, "model.hidden = %d with %d users and %d items needs "
                       "%.3g GB (parameters, gradients, Adam moments and %s "
                       "buffers), more than the %.3g GB available: lower "
                       "model.hidden%s", opt->hidden, t->num_users, I, need / 1e9,
                       opt->ops ? "dense" : "sparse", (double)opt->max_bytes / 1e9,
                       opt->ops ? " or use train.kernel: sparse" : "");
    if (model_create(&t->model, t->num_users, opt->hidden, opt->max_bytes, err))
        goto fail;
    t->model.enc_transposed = opt->ops == NULL;
    const size_t B = (size_t)opt->batch_size, U = (size_t)t->num_users;
    const size_t H = (size_t)opt->hidden;
    t->order = mem_alloc((size_t)I * sizeof *t->order);
    t->eval_rows = mem_alloc((size_t)I * sizeof *t->eval_rows);
    t->h = mem_alloc_aligned(B * H * sizeof(float));
    t->hd = mem_alloc_aligned(B * H * sizeof(float));
    t->dhd = mem_alloc_aligned(B * H * sizeof(float));
    t->row_loss = mem_alloc(B * sizeof(double));
    if (!t->order || !t->eval_rows || !t->h || !t->hd || !t->dhd || !t->row_loss)
        goto oom;
    if (opt->ops) {
        t->train_dense = csr_to_dense(train);
        t->x = mem_alloc_aligned(B * U * sizeof(float));
        t->dy = mem_alloc_aligned(B * U * sizeof(float));
        if (!t->train_dense || !t->x || !t->dy) goto oom;
    } else {
        if (sparse_batch_create(&t->batch, train, opt->batch_size, err)) goto fail;
        t->dy_entries = mem_alloc((size_t)t->batch.max_nnz * sizeof(float));
        if (!t->dy_entries) goto oom;
    }
    for (int i = 0; test && i < I; i++)
        if (test->ptr[i + 1] > test->ptr[i]) t->eval_rows[t->n_eval_rows++] = i;
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
    mem_free_aligned(t->h);
    mem_free_aligned(t->hd);
    mem_free_aligned(t->dhd);
    mem_free(t->row_loss);
    mem_free_aligned(t->train_dense);
    mem_free_aligned(t->x);
    mem_free_aligned(t->dy);
    sparse_batch_free(&t->batch);
    mem_free(t->dy_entries);
    memset(t, 0, sizeof *t);
}

const char *trainer_kernel_name(const Trainer *t) {
    return t->opt.ops ? t->opt.ops->name : "sparse";
}

/* Dense and naive kernels: gathers the batch rows and runs the layers. */
static void dense_forward_backward(Trainer *t, const int32_t *items, int n,
                                   const Dropout *drop) {
    const int U = t->num_users, H = t->opt.hidden;
    const KernelOps *k = t->opt.ops;
    const ModelTensors *p = &t->model.params, *g = &t->model.grads;
    #pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++)
        memcpy(t->x + (size_t)r * U, t->train_dense + (size_t)items[r] * U,
               (size_t)U * sizeof(float));
    k->encoder_forward(t->h, t->hd, t->x, p->enc_w, p->enc_b, drop, n, U, H);
    k->decoder_mse_forward(t->dy, t->row_loss, t->hd, p->dec_w, p->dec_b,
                           t->x, n, U, H);
    k->decoder_backward(t->dhd, g->dec_w, g->dec_b, t->dy, t->hd, p->dec_w,
                        n, U, H);
    k->encoder_backward(g->enc_w, g->enc_b, t->dhd, t->h, t->hd, t->x, drop,
                        n, U, H);
}

/* Sparse kernels: the same layers on the batch's observed entries. */
static void sparse_forward_backward(Trainer *t, const int32_t *items, int n,
                                    const Dropout *drop) {
    const int H = t->opt.hidden;
    const ModelTensors *p = &t->model.params, *g = &t->model.grads;
    SparseBatch *b = &t->batch;
    sparse_batch_build(b, t->train, items, n);
    sparse_encoder_forward(t->h, t->hd, b, p->enc_w, p->enc_b, drop, H);
    sparse_decoder_mse_forward(t->dy_entries, t->row_loss, t->hd, p->dec_w,
                               p->dec_b, b, H);
    sparse_decoder_backward(t->dhd, g->dec_w, g->dec_b, t->dy_entries, t->hd,
                            p->dec_w, b, H);
    sparse_encoder_backward(g->enc_w, g->enc_b, t->dhd, t->h, t->hd, b, drop, H);
}

double trainer_forward_backward(Trainer *t, const int32_t *items, int n) {
    Dropout drop = {t->opt.dropout, t->opt.seed, (uint64_t)t->model.step, items};
    if (t->opt.ops) dense_forward_backward(t, items, n, &drop);
    else sparse_forward_backward(t, items, n, &drop);
    double loss = 0.0;
    for (int r = 0; r < n; r++) loss += t->row_loss[r];  /* fixed order */
    return loss;
}

double trainer_step(Trainer *t, const int32_t *items, int n) {
    double loss = trainer_forward_backward(t, items, n);
    AdamOptions adam = {t->opt.lr, 0.9f, 0.999f, 1e-8f, t->opt.weight_decay};
    model_adam_step(&t->model, &adam);
    return loss;
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
    double total = 0.0;
    long seen = 0;
    for (int s = 0; s + B <= I; s += B) {
        if (stop && *stop) return 1;
        total += trainer_step(t, t->order + s, B);
        seen += B;
    }
    *train_loss = seen ? total / (double)seen : NAN;
    return 0;
}

/* Dense kernels: eval-mode reconstruction of training rows [r0, r0+n) into
 * t->dy. */
static void dense_reconstruct_chunk(Trainer *t, int r0, int n) {
    const int U = t->num_users, H = t->opt.hidden;
    const ModelTensors *p = &t->model.params;
    const float *x = t->train_dense + (size_t)r0 * U;
    t->opt.ops->encoder_forward(t->h, t->h, x, p->enc_w, p->enc_b, NULL, n, U, H);
    t->opt.ops->decoder_forward(t->dy, t->h, p->dec_w, p->dec_b, n, U, H);
}

/* Sparse kernels: eval-mode hidden layer of the given items into t->h. */
static void sparse_hidden(Trainer *t, const int32_t *items, int n) {
    const ModelTensors *p = &t->model.params;
    sparse_batch_build(&t->batch, t->train, items, n);
    sparse_encoder_forward(t->h, t->h, &t->batch, p->enc_w, p->enc_b, NULL,
                           t->opt.hidden);
}

/* Dense kernels: sum of squared test errors of training rows [r0, r0+n),
 * one entry of t->row_loss per row. */
static void dense_test_sse(Trainer *t, int r0, int n) {
    const Csr *te = t->test;
    dense_reconstruct_chunk(t, r0, n);
    for (int r = 0; r < n; r++) {
        const float *y = t->dy + (size_t)r * t->num_users;
        double s = 0.0;
        for (int64_t e = te->ptr[r0 + r]; e < te->ptr[r0 + r + 1]; e++) {
            double d = (double)te->val[e] - y[te->col[e]];
            s += d * d;
        }
        t->row_loss[r] = s;
    }
}

/* Sparse kernels: the same for the listed rows, computing predictions only
 * at their test entries. */
static void sparse_test_sse(Trainer *t, const int32_t *rows, int n) {
    const Csr *te = t->test;
    const int H = t->opt.hidden;
    const ModelTensors *p = &t->model.params;
    sparse_hidden(t, rows, n);
    #pragma omp parallel for schedule(dynamic, 4)
    for (int r = 0; r < n; r++) {
        const float *hr = t->h + (size_t)r * H;
        double s = 0.0;
        for (int64_t e = te->ptr[rows[r]]; e < te->ptr[rows[r] + 1]; e++) {
            const int32_t u = te->col[e];
            const float *wu = p->dec_w + (size_t)u * H;
            float y = 0.0f;
            #pragma omp simd reduction(+:y)
            for (int k = 0; k < H; k++) y += hr[k] * wu[k];
            double d = (double)te->val[e] - (y + p->dec_b[u]);
            s += d * d;
        }
        t->row_loss[r] = s;
    }
}

double trainer_test_rmse(Trainer *t) {
    if (!t->test || t->test->nnz == 0) return NAN;
    const int B = t->opt.batch_size;
    double sse = 0.0;
    /* dense: all rows in contiguous chunks; sparse: only rows with tests */
    const int total = t->opt.ops ? t->num_items : t->n_eval_rows;
    for (int c0 = 0; c0 < total; c0 += B) {
        const int n = total - c0 < B ? total - c0 : B;
        if (t->opt.ops) dense_test_sse(t, c0, n);
        else sparse_test_sse(t, t->eval_rows + c0, n);
        for (int r = 0; r < n; r++) sse += t->row_loss[r];  /* fixed order */
    }
    return sqrt(sse / (double)t->test->nnz);
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
            sparse_hidden(t, rows, n);
            kernels_dense.decoder_forward(out + (size_t)r0 * U, t->h, p->dec_w,
                                          p->dec_b, n, U, t->opt.hidden);
        }
    }
}

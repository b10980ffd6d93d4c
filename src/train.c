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
    t->row_abs = mem_alloc(B * sizeof(double));
    t->row_cold = mem_alloc(B * sizeof(int64_t));
    t->user_seen = mem_calloc(U, 1);
    if (!t->order || !t->eval_rows || !t->h || !t->hd || !t->dhd ||
        !t->row_loss || !t->row_abs || !t->row_cold || !t->user_seen)
        goto oom;
    for (int64_t e = 0; e < train->nnz; e++) t->user_seen[train->col[e]] = 1;
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
    mem_free(t->row_abs);
    mem_free(t->row_cold);
    mem_free(t->user_seen);
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
    if (t->proto.l2 > 0.0f)   /* the penalty at the parameters of the loss */
        loss += (double)t->proto.l2 * model_weight_sq(&t->model);
    AdamOptions adam = {t->opt.lr, 0.9f, 0.999f, 1e-8f, t->opt.weight_decay,
                        t->proto.l2, t->proto.decoupled};
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

/* Dense kernels: squared and absolute errors at m's entries of training
 * rows [r0, r0+n), one entry of t->row_loss / row_abs / row_cold per row. */
static void dense_eval_rows(Trainer *t, const Csr *m, int r0, int n) {
    dense_reconstruct_chunk(t, r0, n);
    for (int r = 0; r < n; r++) {
        const float *y = t->dy + (size_t)r * t->num_users;
        const int ic = item_cold(t, r0 + r);
        double s = 0.0, a = 0.0;
        int64_t cold = 0;
        for (int64_t e = m->ptr[r0 + r]; e < m->ptr[r0 + r + 1]; e++) {
            double d = (double)m->val[e] -
                       eval_prediction(t, ic, m->col[e], y[m->col[e]], &cold);
            s += d * d;
            a += fabs(d);
        }
        t->row_loss[r] = s;
        t->row_abs[r] = a;
        t->row_cold[r] = cold;
    }
}

/* Sparse kernels: the same for the listed rows, computing predictions only
 * at their entries in m. */
static void sparse_eval_rows(Trainer *t, const Csr *m, const int32_t *rows,
                             int n) {
    const int H = t->opt.hidden;
    const ModelTensors *p = &t->model.params;
    sparse_hidden(t, rows, n);
    #pragma omp parallel for schedule(dynamic, 4)
    for (int r = 0; r < n; r++) {
        const float *hr = t->h + (size_t)r * H;
        const int ic = item_cold(t, rows[r]);
        double s = 0.0, a = 0.0;
        int64_t cold = 0;
        for (int64_t e = m->ptr[rows[r]]; e < m->ptr[rows[r] + 1]; e++) {
            const int32_t u = m->col[e];
            const float *wu = p->dec_w + (size_t)u * H;
            float y = 0.0f;
            #pragma omp simd reduction(+:y)
            for (int k = 0; k < H; k++) y += hr[k] * wu[k];
            double d = (double)m->val[e] -
                       eval_prediction(t, ic, u, y + p->dec_b[u], &cold);
            s += d * d;
            a += fabs(d);
        }
        t->row_loss[r] = s;
        t->row_abs[r] = a;
        t->row_cold[r] = cold;
    }
}

void trainer_evaluate(Trainer *t, const Csr *m, EvalMetrics *out) {
    memset(out, 0, sizeof *out);
    out->rmse = out->mae = NAN;
    if (!m || m->nnz == 0) return;
    const int B = t->opt.batch_size;
    double sse = 0.0, sae = 0.0;
    int64_t cold = 0;
    /* dense: all rows in contiguous chunks; sparse: only rows with entries */
    int total = t->num_items;
    if (!t->opt.ops) {
        total = 0;
        for (int i = 0; i < t->num_items; i++)
            if (m->ptr[i + 1] > m->ptr[i]) t->eval_rows[total++] = i;
    }
    for (int c0 = 0; c0 < total; c0 += B) {
        const int n = total - c0 < B ? total - c0 : B;
        if (t->opt.ops) dense_eval_rows(t, m, c0, n);
        else sparse_eval_rows(t, m, t->eval_rows + c0, n);
        for (int r = 0; r < n; r++) {  /* fixed order */
            sse += t->row_loss[r];
            sae += t->row_abs[r];
            cold += t->row_cold[r];
        }
    }
    out->n = m->nnz;
    out->n_cold = cold;
    out->rmse = sqrt(sse / (double)m->nnz);
    out->mae = sae / (double)m->nnz;
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
            sparse_hidden(t, rows, n);
            kernels_dense.decoder_forward(out + (size_t)r0 * U, t->h, p->dec_w,
                                          p->dec_b, n, U, t->opt.hidden);
        }
    }
}

void trainer_predict_rows(Trainer *t, const int32_t *rows, int n, float *out) {
    const int U = t->num_users, H = t->opt.hidden, B = t->opt.batch_size;
    const ModelTensors *p = &t->model.params;
    for (int c0 = 0; c0 < n; c0 += B) {
        const int m = n - c0 < B ? n - c0 : B;
        float *y = out + (size_t)c0 * U;
        if (t->opt.ops) {   /* as dense_reconstruct_chunk, on gathered rows */
            for (int r = 0; r < m; r++)
                memcpy(t->x + (size_t)r * U,
                       t->train_dense + (size_t)rows[c0 + r] * U,
                       (size_t)U * sizeof(float));
            t->opt.ops->encoder_forward(t->h, t->h, t->x, p->enc_w, p->enc_b,
                                        NULL, m, U, H);
            t->opt.ops->decoder_forward(y, t->h, p->dec_w, p->dec_b, m, U, H);
        } else {            /* as trainer_reconstruct */
            sparse_hidden(t, rows + c0, m);
            kernels_dense.decoder_forward(y, t->h, p->dec_w, p->dec_b, m, U, H);
        }
        for (int r = 0; r < m; r++) {
            const int ic = item_cold(t, rows[c0 + r]);
            float *yr = y + (size_t)r * U;
            int64_t cold = 0;
            for (int u = 0; u < U; u++)
                yr[u] = (float)eval_prediction(t, ic, u, yr[u], &cold);
        }
    }
}

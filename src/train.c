/* train.c - the training loop and evaluation (see train.h). */
#include "train.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "mem.h"

int trainer_create(Trainer *t, const TrainOptions *opt, const float *train,
                   const float *test, int num_items, int num_users,
                   char *err) {
    memset(t, 0, sizeof *t);
    t->opt = *opt;
    t->train = train;
    t->test = test;
    t->num_items = num_items;
    t->num_users = num_users;
    if (opt->batch_size > num_items)
        return err_set(err, "train.batch_size = %d exceeds the %d items: with "
                       "the last incomplete batch dropped no step would run; "
                       "lower train.batch_size", opt->batch_size, num_items);
    const size_t B = (size_t)opt->batch_size, U = (size_t)num_users;
    const size_t H = (size_t)opt->hidden;
    double buf_bytes = 4.0 * ((double)B * U * 2 + (double)B * H * 3) + 8.0 * B
                       + 4.0 * num_items;
    size_t model_budget = buf_bytes < (double)opt->max_bytes
                              ? opt->max_bytes - (size_t)buf_bytes : 0;
    if (model_create(&t->model, num_users, opt->hidden, model_budget, err))
        goto fail;
    t->order = mem_alloc((size_t)num_items * sizeof *t->order);
    t->x = mem_alloc_aligned(B * U * sizeof(float));
    t->dy = mem_alloc_aligned(B * U * sizeof(float));
    t->h = mem_alloc_aligned(B * H * sizeof(float));
    t->hd = mem_alloc_aligned(B * H * sizeof(float));
    t->dhd = mem_alloc_aligned(B * H * sizeof(float));
    t->row_loss = mem_alloc(B * sizeof(double));
    if (!t->order || !t->x || !t->dy || !t->h || !t->hd || !t->dhd || !t->row_loss) {
        err_set(err, "out of memory allocating training buffers (%.3g MB for "
                "batch %zu x %zu users, hidden %zu)", buf_bytes / 1e6, B, U, H);
        goto fail;
    }
    model_init(&t->model, opt->seed);
    rng_seed(&t->shuffle, opt->seed, 0x5bu);
    if (test) {
        size_t n = (size_t)num_items * U;
        for (size_t i = 0; i < n; i++) t->n_test += test[i] != 0.0f;
    }
    return 0;
fail:
    trainer_free(t);
    return -1;
}

void trainer_free(Trainer *t) {
    if (!t) return;
    model_free(&t->model);
    mem_free(t->order);
    mem_free_aligned(t->x);
    mem_free_aligned(t->dy);
    mem_free_aligned(t->h);
    mem_free_aligned(t->hd);
    mem_free_aligned(t->dhd);
    mem_free(t->row_loss);
    memset(t, 0, sizeof *t);
}

double trainer_forward_backward(Trainer *t, const int32_t *items, int n) {
    const int U = t->num_users, H = t->opt.hidden;
    const KernelOps *k = t->opt.ops;
    const ModelTensors *p = &t->model.params, *g = &t->model.grads;
    Dropout drop = {t->opt.dropout, t->opt.seed, (uint64_t)t->model.step, items};

    #pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++)
        memcpy(t->x + (size_t)r * U, t->train + (size_t)items[r] * U,
               (size_t)U * sizeof(float));
    model_zero_grad(&t->model);
    k->encoder_forward(t->h, t->hd, t->x, p->enc_w, p->enc_b, &drop, n, U, H);
    k->decoder_mse_forward(t->dy, t->row_loss, t->hd, p->dec_w, p->dec_b,
                           t->x, n, U, H);
    k->decoder_backward(t->dhd, g->dec_w, g->dec_b, t->dy, t->hd, p->dec_w,
                        n, U, H);
    k->encoder_backward(g->enc_w, g->enc_b, t->dhd, t->h, t->hd, t->x, &drop, n, U, H);
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

/* Reconstructs rows [r0, r0+n) of the training matrix into t->dy (eval
 * mode: no dropout). */
static void reconstruct_chunk(Trainer *t, int r0, int n) {
    const int U = t->num_users, H = t->opt.hidden;
    const ModelTensors *p = &t->model.params;
    const float *x = t->train + (size_t)r0 * U;
    t->opt.ops->encoder_forward(t->h, t->h, x, p->enc_w, p->enc_b, NULL, n, U, H);
    t->opt.ops->decoder_forward(t->dy, t->h, p->dec_w, p->dec_b, n, U, H);
}

double trainer_test_rmse(Trainer *t) {
    if (!t->test || t->n_test == 0) return NAN;
    const int I = t->num_items, U = t->num_users, B = t->opt.batch_size;
    double sse = 0.0;
    for (int r0 = 0; r0 < I; r0 += B) {
        int n = I - r0 < B ? I - r0 : B;
        reconstruct_chunk(t, r0, n);
        const float *tr = t->test + (size_t)r0 * U;
        for (size_t i = 0; i < (size_t)n * U; i++) {
            if (tr[i] != 0.0f) {
                double d = (double)tr[i] - t->dy[i];
                sse += d * d;
            }
        }
    }
    return sqrt(sse / (double)t->n_test);
}

void trainer_reconstruct(Trainer *t, float *out) {
    const int I = t->num_items, U = t->num_users, B = t->opt.batch_size;
    for (int r0 = 0; r0 < I; r0 += B) {
        int n = I - r0 < B ? I - r0 : B;
        reconstruct_chunk(t, r0, n);
        memcpy(out + (size_t)r0 * U, t->dy, (size_t)n * U * sizeof(float));
    }
}

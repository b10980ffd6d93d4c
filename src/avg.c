/* avg.c - exponential moving average or plain mean of the parameters (see
 * avg.h).
 * No global state. */
#include "avg.h"

#include <assert.h>
#include <string.h>

#include "err.h"
#include "mem.h"

/* Points a->tensors into a->mem at the offsets model->params has in
 * model->mem (the parameters are the first num_params floats of mem). */
static void avg_point(WeightAvg *a, const Model *model) {
    memset(&a->tensors, 0, sizeof a->tensors);
    for (int l = 0; l < model->num_layers; l++) {
        a->tensors.w[l] = a->mem + (model->params.w[l] - model->mem);
        a->tensors.b[l] = a->mem + (model->params.b[l] - model->mem);
    }
}

int avg_create(WeightAvg *a, const Model *model, float decay, char *err) {
    memset(a, 0, sizeof *a);
    assert(decay >= 0.0f && decay < 1.0f);
    a->decay = decay;
    a->n = model->num_params;
    a->mem = mem_alloc_aligned(a->n * sizeof *a->mem);
    if (!a->mem)
        return err_set(err, "out of memory for the moving average of %zu "
                       "parameters (train.ema or train.swa_start, %.3g MB): "
                       "lower model.hidden or turn the average off", a->n,
                       a->n * 4.0 / 1e6);
    avg_point(a, model);
    avg_reset(a, model);
    return 0;
}

int avg_create_mean(WeightAvg *a, const Model *model, char *err) {
    if (avg_create(a, model, 0.0f, err)) return -1;
    a->mean = 1;
    return 0;
}

void avg_free(WeightAvg *a) {
    if (!a) return;
    mem_free_aligned(a->mem);
    memset(a, 0, sizeof *a);
}

void avg_reset(WeightAvg *a, const Model *model) {
    assert(!a->swapped && a->n == model->num_params);
    memcpy(a->mem, model->mem, a->n * sizeof *a->mem);
    a->updates = 0;
}

void avg_update(WeightAvg *a, const Model *model) {
    assert(!a->swapped && a->n == model->num_params);
    /* the mean: weight 1/k for the k-th update (the EMA's own d, e are
     * kept as they were, bit for bit) */
    const float e = a->mean ? 1.0f / (float)(a->updates + 1)
                            : 1.0f - a->decay;
    const float d = a->mean ? 1.0f - e : a->decay;
    float *restrict m = a->mem;
    const float *restrict p = model->mem;
    const size_t n = a->n;
    #pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) m[i] = d * m[i] + e * p[i];
    a->updates++;
}

void avg_swap(WeightAvg *a, Model *model) {
    ModelTensors t = model->params;
    model->params = a->tensors;
    a->tensors = t;
    a->swapped = !a->swapped;
}

void avg_assign(const WeightAvg *a, Model *model) {
    assert(!a->swapped && a->n == model->num_params);
    memcpy(model->mem, a->mem, a->n * sizeof *a->mem);
}

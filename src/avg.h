/* avg.h - weight averaging: an exponential moving average (EMA) of a
 * model's parameters (train.ema), or their plain mean (stochastic weight
 * averaging, train.swa_start).
 *
 * After every optimiser step the average moves towards the parameters:
 *   ema <- decay * ema + (1 - decay) * params
 * starting from the parameters at creation (the initialisation), with no
 * bias correction.  The mean (avg_create_mean) is the same update with
 * 1 - decay = 1 / k at its k-th update since the last reset: after k
 * updates it is the mean of the k parameter vectors it was updated with
 * (the starting value drops out at the first update).  The average is kept in the model's own storage layout
 * (one flat array of num_params floats, the layout of model->params), so an
 * update is one vectorised pass and evaluating the averaged weights is a
 * swap of the tensor pointers (avg_swap), not a copy. */
#ifndef AUTOREC_AVG_H
#define AUTOREC_AVG_H

#include <stddef.h>

#include "model.h"

typedef struct {
    float decay;           /* in [0, 1) */
    size_t n;              /* num_params of the model it averages */
    float *mem;            /* (n) the average, in the storage layout */
    ModelTensors tensors;  /* the average's tensors, laid out as params */
    long updates;          /* avg_update calls since avg_create/avg_reset */
    int swapped;           /* 1 while avg_swap put the average in place */
    int mean;              /* 1: the plain mean of the updates (decay unused) */
} WeightAvg;

/* Creates the average of model's current parameters with this decay.
 * Returns 0, or -1 with err (out of memory).  Free with avg_free. */
int avg_create(WeightAvg *a, const Model *model, float decay, char *err);

/* Creates the plain mean of the parameters it will be updated with (its
 * value before the first update: model's current parameters).  Returns 0,
 * or -1 with err (out of memory).  Free with avg_free. */
int avg_create_mean(WeightAvg *a, const Model *model, char *err);

/* Frees what avg_create allocated; accepts a zeroed WeightAvg. */
void avg_free(WeightAvg *a);

/* Restarts the average at model's current parameters. */
void avg_reset(WeightAvg *a, const Model *model);

/* One step of the average towards model's current parameters. */
void avg_update(WeightAvg *a, const Model *model);

/* Swaps model->params and the average's tensors: after one call the model
 * computes with the averaged weights, after the next with its own again.
 * Only the pointers move; training must not run while swapped. */
void avg_swap(WeightAvg *a, Model *model);

/* Copies the average into model's parameters (the average becomes the
 * model, e.g. for a checkpoint).  Must not be called while swapped. */
void avg_assign(const WeightAvg *a, Model *model);

#endif

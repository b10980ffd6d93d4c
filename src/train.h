/* train.h - the I-AutoRec training loop and evaluation.
 *
 * A Trainer owns the model and the batch buffers; it borrows the sparse
 * items x users training and test matrices, which must outlive it.  With the
 * dense or naive kernels it keeps a dense copy of the training matrix; with
 * the sparse kernels nothing of size items x users is ever allocated. */
#ifndef AUTOREC_TRAIN_H
#define AUTOREC_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "csr.h"
#include "kernels.h"
#include "kernels_sparse.h"
#include "model.h"
#include "rng.h"

typedef struct {
    int hidden;
    float dropout;
    int batch_size;
    float lr;
    float weight_decay;
    uint64_t seed;
    const KernelOps *ops;  /* dense or naive kernels; NULL: sparse kernels */
    size_t max_bytes;      /* refuse models/buffers larger than this */
} TrainOptions;

typedef struct {
    TrainOptions opt;
    Model model;
    int num_items, num_users;
    const Csr *train;      /* (I,U) borrowed */
    const Csr *test;       /* (I,U) borrowed, may be NULL */
    int32_t *order;        /* (I) item order of the current epoch */
    int32_t *eval_rows;    /* items with at least one test rating */
    int n_eval_rows;
    float *h, *hd;         /* (B,H) sigmoid output, after dropout */
    float *dhd;            /* (B,H) */
    double *row_loss;      /* (B) loss, or test SSE, of each batch row */
    /* dense and naive kernels */
    float *train_dense;    /* (I,U) */
    float *x;              /* (B,U) gathered input rows */
    float *dy;             /* (B,U) loss gradient; eval: reconstruction */
    /* sparse kernels */
    SparseBatch batch;
    float *dy_entries;     /* (batch.max_nnz) loss gradient per entry */
    Rng shuffle;
} Trainer;

/* Bytes a trainer would allocate for these sizes (model, moments, buffers),
 * for refusing absurd configs before allocating. */
double trainer_bytes_needed(const TrainOptions *opt, int num_items,
                            int num_users, int64_t train_nnz);

/* Creates a trainer with freshly initialised parameters (model_init with
 * opt->seed).  Returns 0, or -1 with err (sizes too large, out of memory,
 * batch larger than the number of items).  Free with trainer_free. */
int trainer_create(Trainer *t, const TrainOptions *opt, const Csr *train,
                   const Csr *test, char *err);

/* Frees what trainer_create allocated; accepts a zeroed trainer. */
void trainer_free(Trainer *t);

/* Name of the kernels in use: "dense", "naive" or "sparse". */
const char *trainer_kernel_name(const Trainer *t);

/* One optimisation step on the n items listed (n <= batch_size): forward,
 * backward, Adam (which leaves the gradients zeroed).  Returns the summed
 * loss before the update. */
double trainer_step(Trainer *t, const int32_t *items, int n);

/* Forward and backward of one batch without the optimiser step: the
 * gradients are accumulated into t->model.grads (zero after trainer_create
 * and after every Adam step; model_zero_grad clears them).  Returns the
 * summed loss. */
double trainer_forward_backward(Trainer *t, const int32_t *items, int n);

/* One epoch: shuffle the items, full batches only (the last incomplete batch
 * is dropped).  *train_loss = summed loss / items processed.  Checks *stop
 * (may be NULL) between batches: returns 1 when it was set, else 0. */
int trainer_epoch(Trainer *t, const volatile sig_atomic_t *stop,
                  double *train_loss);

/* Test RMSE of the eval-mode reconstruction of the training matrix, over the
 * test matrix's entries; NaN when there are none.  The sparse kernels
 * compute the reconstruction only at the test entries. */
double trainer_test_rmse(Trainer *t);

/* Eval-mode reconstruction of every training row into out (I,U) (for tests
 * and small problems: it is dense by nature). */
void trainer_reconstruct(Trainer *t, float *out);

#endif

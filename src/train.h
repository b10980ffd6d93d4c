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

#include "activation.h"
#include "avg.h"
#include "csr.h"
#include "kernels.h"
#include "kernels_sparse.h"
#include "model.h"
#include "rng.h"

/* The layer stack beyond the shallow default.  All zero (num_hidden == 0)
 * means the shallow I-AutoRec: one hidden layer of TrainOptions.hidden
 * units, sigmoid encoder, identity decoder. */
typedef struct {
    int num_hidden;                    /* hidden layers, 0..MODEL_MAX_LAYERS-1 */
    int width[MODEL_MAX_LAYERS - 1];   /* their widths (width[0] == hidden) */
    Activation encoder;                /* every hidden layer's activation */
    Activation decoder;                /* the output layer's */
} ModelArch;

typedef struct {
    int hidden;            /* first hidden width (the only one when shallow) */
    float dropout;         /* after every hidden layer's activation */
    int batch_size;
    float lr;
    float weight_decay;
    uint64_t seed;
    const KernelOps *ops;  /* dense or naive kernels; NULL: sparse kernels */
    size_t max_bytes;      /* refuse models/buffers larger than this */
} TrainOptions;

/* The paper's protocol options.  All zero (the state after trainer_create)
 * is the reference behaviour; set the fields directly after creating. */
typedef struct {
    float l2;              /* l2 * sum_l |W_l|^2 (every weight matrix) per step, >= 0 */
    int decoupled;         /* AdamW: opt.weight_decay is decoupled */
    int lazy;              /* lazy Adam: the weight rows of users without a
                              rating in the batch skip the step (only with
                              the sparse kernels, one hidden layer, no l2:
                              cfg_validate refuses the rest) */
    int clip;              /* evaluation clips predictions to ... */
    float clip_lo, clip_hi;   /* ... [clip_lo, clip_hi] */
    int cold;              /* evaluation predicts cold_value for a pair whose
                              item or user has no training rating */
    float cold_value;
} TrainProtocol;

/* Metrics of an evaluation over the entries of a rating matrix. */
typedef struct {
    double rmse, mae;      /* NaN when the matrix has no entries */
    int64_t n;             /* entries evaluated */
    int64_t n_cold;        /* of which cold (predicted cold_value) */
} EvalMetrics;

typedef struct {
    TrainOptions opt;
    TrainProtocol proto;
    Model model;
    int num_items, num_users;
    const Csr *train;      /* (I,U) borrowed */
    const Csr *test;       /* (I,U) borrowed, may be NULL */
    int32_t *order;        /* (I) item order of the current epoch */
    int32_t *eval_rows;    /* (I) scratch: items with entries to evaluate */
    int eval_chunk;        /* rows per evaluation chunk (trainer_eval_rows):
                              h and the row_* buffers hold this many rows;
                              tests may lower it */
    ModelArch arch;        /* resolved: num_hidden >= 1 */
    /* hidden layer l (0 .. arch.num_hidden-1), width H_l = model.width[l+1]: */
    float *h[MODEL_MAX_LAYERS - 1];   /* (eval_chunk,H_l) activation output
                                         (training: its first B rows) */
    float *hd[MODEL_MAX_LAYERS - 1];  /* (B,H_l) after dropout */
    float *dhd[MODEL_MAX_LAYERS - 1]; /* (B,H_l) loss gradient at hd */
    double *row_loss;      /* (eval_chunk) loss, or test SSE, of each row */
    double *row_abs;       /* (eval_chunk) evaluation: absolute errors */
    int64_t *row_cold;     /* (eval_chunk) evaluation: cold entries */
    unsigned char *user_seen; /* (U) 1 when the user has a training rating */
    /* dense and naive kernels */
    float *train_dense;    /* (I,U) */
    float *x;              /* (B,U) gathered input rows */
    float *dy;             /* (B,U) loss gradient; eval: reconstruction */
    /* sparse kernels */
    SparseBatch batch;     /* up to eval_chunk rows holding at most the
                              entries of the batch_size longest rows */
    float *dy_entries;     /* (batch.max_nnz) loss gradient per entry */
    float *sq_entries;     /* (batch.max_nnz) squared error per entry */
    uint8_t *row_state;    /* (U) fused Adam: MODEL_ROW_* of each user row,
                              MODEL_ROW_ZERO between steps */
    float *adam_scratch;   /* (adam_threads,H) fused Adam: a gradient row
                              per thread */
    int adam_threads;
    int user_major;        /* 1: the user-major sparse kernels
                              (sparse_um_pays), 0: the row-major ones; the
                              same numbers either way */
    int unfused;           /* 1: trainer_step runs trainer_forward_backward
                              then model_adam_step even where the fused step
                              applies (tests compare the two) */
    AdamAhead ahead;       /* the shallow sparse model: trainer_epoch's plan
                              of exact Adam's zero-gradient steps */
    int no_ahead;          /* 1: trainer_epoch takes those steps at every
                              step instead (tests compare the two) */
    Rng shuffle;
    WeightAvg *avg;        /* borrowed, may be NULL: updated after every
                              optimiser step (train.ema) */
} Trainer;

/* The most rows an evaluation chunk of the sparse kernels holds: the
 * input layer then gathers each touched user's weight row once per chunk
 * rather than once per batch_size rows (docs/performance.md, "Evaluation in
 * larger chunks").  A chunk is also cut where its entries would exceed the
 * training batch's entry capacity, so memory stays bounded on long rows. */
#define TRAIN_EVAL_ROWS 2048

/* Rows per evaluation chunk of a trainer of these options over num_items
 * items: batch_size with the dense and naive kernels (their (B,U) input
 * buffer), else TRAIN_EVAL_ROWS (at most num_items, at least batch_size). */
int trainer_eval_rows(const TrainOptions *opt, int num_items);

/* The number of leading rows of rows[0..n) that form the next evaluation
 * chunk: at most t->eval_chunk rows and, with the sparse kernels, no more
 * training entries than t->batch holds (always at least one row when n >
 * 0). */
int trainer_eval_chunk_end(const Trainer *t, const int32_t *rows, int n);

/* Bytes a trainer would allocate for these sizes (model, moments, buffers
 * of every layer of arch; NULL: the shallow model), for refusing absurd
 * configs before allocating. */
double trainer_bytes_needed(const TrainOptions *opt, const ModelArch *arch,
                            int num_items, int num_users, int64_t train_nnz);

/* Creates a trainer with freshly initialised parameters (model_init with
 * opt->seed).  Returns 0, or -1 with err (sizes too large, out of memory,
 * batch larger than the number of items).  Free with trainer_free. */
int trainer_create(Trainer *t, const TrainOptions *opt, const Csr *train,
                   const Csr *test, char *err);

/* The same with the layer stack arch (NULL or all zero: the shallow
 * sigmoid / identity model of opt->hidden units; else opt->hidden is
 * ignored and arch->width[0] is the first hidden width). */
int trainer_create_arch(Trainer *t, const TrainOptions *opt,
                        const ModelArch *arch, const Csr *train,
                        const Csr *test, char *err);

/* Frees what trainer_create allocated; accepts a zeroed trainer. */
void trainer_free(Trainer *t);

/* Name of the kernels in use: "dense", "naive" or "sparse". */
const char *trainer_kernel_name(const Trainer *t);

/* One optimisation step on the n items listed (n <= batch_size): forward,
 * backward, Adam or AdamW (which leaves the gradients zeroed), then the
 * moving average t->avg, when set, moves towards the new parameters.  Returns the
 * summed loss before the update, plus proto.l2 * sum_l |W_l|^2
 * when proto.l2 > 0 (the penalised objective; biases excluded). */
double trainer_step(Trainer *t, const int32_t *items, int n);

/* Forward and backward of one batch without the optimiser step: the
 * gradients are accumulated into t->model.grads (zero after trainer_create
 * and after every Adam step; model_zero_grad clears them).  Returns the
 * summed loss. */
double trainer_forward_backward(Trainer *t, const int32_t *items, int n);

/* One epoch: shuffle the items, full batches only (the last incomplete batch
 * is dropped).  *train_loss = summed loss / items processed.  Checks *stop
 * (may be NULL) between batches: returns 1 when it was set, else 0.  The
 * exact fused Adam takes each row's zero-gradient steps ahead of time
 * (adam_ahead.h): the parameters are those of the stepwise update at the
 * epoch's end, but after an interrupted epoch some rows stand ahead of
 * model.step (such a model is mid-epoch anyway and is not kept). */
int trainer_epoch(Trainer *t, const volatile sig_atomic_t *stop,
                  double *train_loss);

/* Evaluates the eval-mode reconstruction of the training matrix at the
 * entries of m (items x users, the shape of the training matrix: the test
 * or the validation split): RMSE and MAE into *out.  Predictions are
 * clipped when proto.clip is set, and replaced by proto.cold_value for cold
 * pairs when proto.cold is set.  Reads nothing but the model, the training
 * matrix and m.  The sparse kernels compute predictions only at m's
 * entries. */
void trainer_evaluate(Trainer *t, const Csr *m, EvalMetrics *out);

/* Matrices trainer_evaluate_many evaluates in one pass. */
#define TRAIN_EVAL_MAX 4

/* trainer_evaluate of each of the k (<= TRAIN_EVAL_MAX) matrices ms[j]
 * (NULL or empty: NaN metrics) into outs[j], sharing the hidden layers:
 * each row's is computed once for all the matrices that have entries in
 * it.  The metrics are bit for bit those of k trainer_evaluate calls. */
void trainer_evaluate_many(Trainer *t, const Csr *const *ms, int k,
                           EvalMetrics *outs);

/* trainer_evaluate's RMSE over the test matrix given at creation; NaN when
 * there is none or it has no entries. */
double trainer_test_rmse(Trainer *t);

/* Eval-mode reconstruction of every training row into out (I,U) (for tests
 * and small problems: it is dense by nature). */
void trainer_reconstruct(Trainer *t, float *out);

/* The evaluated predictions of the n listed training rows (any n; computed
 * in blocks of batch_size rows) into out (n, U), row r for rows[r]: the
 * eval-mode reconstruction, replaced by proto.cold_value for cold pairs
 * when proto.cold is set and clipped when proto.clip is set, exactly as
 * trainer_evaluate predicts.  Allocates nothing; out is caller-owned. */
void trainer_predict_rows(Trainer *t, const int32_t *rows, int n, float *out);

/* The model's raw eval-mode outputs (neither clipped nor replaced by the
 * cold default: ranking scores) of the n listed training rows, n <=
 * opt.batch_size, stored by columns into out (U, n): out[u*n + r] for
 * rows[r] and user (column) u.  With the identity decoder the values are
 * bit for bit trainer_reconstruct's.  Allocates nothing; out is
 * caller-owned. */
void trainer_scores_by_column(Trainer *t, const int32_t *rows, int n,
                              float *out);

#endif

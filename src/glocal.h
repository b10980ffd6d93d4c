/* glocal.h - the GLocal-K model (Han et al., CIKM 2021): an I-AutoRec
 * whose layers are kernelised (glocal_layer.h), trained in two stages.
 *
 * The input is the dense training matrix X (rows = items, cols = users,
 * 0 = no rating).  The local kernel network N maps each row through the
 * hidden layers (encoder activation) to an output row of cols values
 * (decoder activation).  Objective, with O the observed entries of X:
 *   F = sum_O (X - P)^2 + sum over layers (l2 |W|^2 + sparsity |khat|^2)
 * (twice the paper's 1/2-scaled loss and penalties: the same minimiser, and
 * the paper's lambda_2 = 20, lambda_s = 0.006 are l2 = 20, sparsity =
 * 0.006 here).
 *   pretraining (GLOCAL_PRETRAIN):  P = N(X)
 *   fine-tuning (GLOCAL_FINETUNE):  m_i = mean_j N(X)_ij (each item's mean
 *     output), the global kernel K = dot_scale * m^T C (ksize x ksize, C the
 *     rows x ksize^2 convolution weights), Xc = relu(K * X) (a 2-D "same"
 *     convolution of the rating matrix, zero padding), P = N(Xc), the same
 *     weights in both passes; the gradient flows through both.
 * Predictions are P (unclipped; evaluation clips).
 *
 * Parameters are one flat float vector (the optimiser's): each layer's w,
 * u, v, b (glocal_layer_bind), then C.  The model owns its scratch; it
 * borrows X. */
#ifndef AUTOREC_GLOCAL_H
#define AUTOREC_GLOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "activation.h"
#include "glocal_layer.h"

#define GLOCAL_MAX_LAYERS 8   /* hidden layers (model.hidden) + the output */
#define GLOCAL_MAX_KSIZE 15   /* largest global kernel (odd sizes) */

typedef enum { GLOCAL_PRETRAIN = 0, GLOCAL_FINETUNE = 1 } GlocalStage;

typedef struct {
    int num_hidden;                        /* 1 .. GLOCAL_MAX_LAYERS - 1 */
    int hidden[GLOCAL_MAX_LAYERS - 1];     /* their widths */
    Activation encoder, decoder;
    int dim;                               /* embedding dimension, 1..GLOCAL_MAX_DIM */
    int ksize;                             /* global kernel size, odd, 1..15 */
    float dot_scale;                       /* scale of the global kernel */
    float l2, sparsity;                    /* penalty weights, >= 0 */
} GlocalArch;

typedef struct {
    GlocalArch arch;
    int rows, cols;                        /* items, users */
    int num_layers;                        /* num_hidden + 1 */
    GlocalShape shape[GLOCAL_MAX_LAYERS];
    size_t offset[GLOCAL_MAX_LAYERS];      /* each layer's parameters */
    size_t conv_offset;                    /* C (rows, ksize^2) */
    size_t num_params;
    float *params;                         /* (num_params) current point */
    const float *x;                        /* (rows, cols) borrowed */
    float *khat[GLOCAL_MAX_LAYERS];        /* (n_in, n_out) kernel */
    float *weff[GLOCAL_MAX_LAYERS];        /* (n_in, n_out) w * khat */
    float *dweff[GLOCAL_MAX_LAYERS];       /* (n_in, n_out) gradient there */
    float *out[2][GLOCAL_MAX_LAYERS];      /* (rows, n_out) layer outputs of
                                              the pass on X [0] and on Xc [1] */
    float *xc;                             /* (rows, cols) relu(K * X) */
    float *dbuf[2];                        /* (rows, widest) backward scratch */
    double *pool;                          /* (rows, 2) m_i; per-row sums */
    double *dk_rows;                       /* (rows, ksize^2) dK per row */
    float gk[GLOCAL_MAX_KSIZE * GLOCAL_MAX_KSIZE];   /* the current K */
} Glocal;

/* Number of parameters of the model for these sizes. */
size_t glocal_param_count(const GlocalArch *a, int rows, int cols);

/* Bytes glocal_create allocates for these sizes (parameters and scratch;
 * not X), for refusing models too large before allocating. */
double glocal_bytes_needed(const GlocalArch *a, int rows, int cols);

/* Creates the model for the (rows, cols) matrix x (borrowed; must outlive
 * the model) with parameters initialised from seed (glocal_init).
 * Returns 0, or -1 with err (a bad architecture; more than max_bytes
 * needed; out of memory).  Free with glocal_free, also on failure. */
int glocal_create(Glocal *g, const GlocalArch *a, const float *x, int rows,
                  int cols, size_t max_bytes, uint64_t seed, char *err);

/* Frees what glocal_create allocated; accepts a zeroed model. */
void glocal_free(Glocal *g);

/* Sets g->params to the paper's initialisation drawn from seed: W Glorot
 * uniform (+-sqrt(6 / (n_in + n_out))), b uniform +-sqrt(3 / n_out) (what
 * TensorFlow's default initialiser gives a vector), u and v normal with
 * sd 1e-3 truncated at 2 sd (so every khat starts near 1), C normal with
 * sd 0.1 truncated at 2 sd. */
void glocal_init(Glocal *g, uint64_t seed);

/* The objective F of the stage at parameters theta (num_params floats;
 * g->params or any other vector), and its gradient into grad (num_params
 * floats) when grad is not NULL.  Uses g's scratch. */
double glocal_objective(Glocal *g, GlocalStage stage, const float *theta,
                        float *grad);

/* The stage's predictions P (rows, cols) at theta, owned by g and valid
 * until its next call. */
const float *glocal_predict(Glocal *g, GlocalStage stage, const float *theta);

#endif

/* kernels.h - forward and backward passes of I-AutoRec's layers.
 *
 * The encoder kernels are the general hidden layer (any input width: the
 * trainer runs the middle layers of a deep stack with them too, U standing
 * for the layer's input width and H for its output width); the decoder
 * kernels are the output layer, and decoder_backward is also the general
 * linear-layer backward (input gradient, weight and bias gradients).
 * Every layer is a *_forward / *_backward pair; outputs come first, sizes
 * last; backward passes accumulate (+=) into weight and bias gradients.
 * Shapes: B batch rows (items), U users (input/output width), H hidden.
 * All matrices are dense, row-major and contiguous.
 *
 * Two implementations share one signature set (KernelOps):
 *   kernels_naive  plain loops, the reference every fast kernel is tested
 *                  against;
 *   kernels_dense  row tiles in parallel with OpenMP, each tile's matrix
 *                  product by BLIS on one thread, with bias, sigmoid,
 *                  dropout, mask and loss fused into the tile's epilogue.
 * Both give results that do not depend on the number of threads. */
#ifndef AUTOREC_KERNELS_H
#define AUTOREC_KERNELS_H

#include <stdint.h>

#include "activation.h"

/* Inverted dropout after a hidden layer's activation (the trainer keys
 * each layer's mask by its own seed).  Unit k of batch row r is kept when
 * a hash of (seed, step, row_ids[r], k) mapped to [0, 1) is >= p, and then
 * scaled by 1 / (1 - p).  A NULL Dropout, or p == 0, is the identity (eval
 * mode). */
typedef struct {
    float p;
    uint64_t seed;
    uint64_t step;
    const int32_t *row_ids; /* item index of each batch row */
} Dropout;

typedef struct {
    const char *name;

    /* h (B,H) = act(x (B,U) . w^T + b), w (H,U), b (H);
     * hd (B,H) = dropout(h).  hd may equal h when drop is NULL. */
    void (*encoder_forward)(float *h, float *hd, const float *x,
                            const float *w, const float *b, Activation act,
                            const Dropout *drop, int B, int U, int H);

    /* Training decoder with the masked sum-of-squares loss fused in:
     * y = act(hd (B,H) . w^T + b) * sign(x), w (U,H), b (U);
     * row_loss[r] = sum_u (y - x)^2; dy (B,U) = 2 (y - x) act'(y), the loss
     * gradient at the pre-activation (zero where x is unobserved). */
    void (*decoder_mse_forward)(float *dy, double *row_loss, const float *hd,
                                const float *w, const float *b, Activation act,
                                const float *x, int B, int U, int H);

    /* Evaluation decoder: y (B,U) = act(hd (B,H) . w^T + b). */
    void (*decoder_forward)(float *y, const float *hd, const float *w,
                            const float *b, Activation act, int B, int U, int H);

    /* dhd (B,H) = dy (B,U) . w (U,H);  dw (U,H) += dy^T . hd;
     * db (U) += column sums of dy. */
    void (*decoder_backward)(float *dhd, float *dw, float *db,
                             const float *dy, const float *hd,
                             const float *w, int B, int U, int H);

    /* Through dropout and the activation: dz = dhd * dropout_scale *
     * act'(h), written over dhd (B,H) (activation_backward); then dw (H,U) += dz^T . x (B,U) and
     * db (H) += column sums of dz.  h and hd are the encoder_forward
     * outputs (the dense kernel reads the dropout mask back from hd, the
     * naive one recomputes it from drop). */
    void (*encoder_backward)(float *dw, float *db, float *dhd,
                             const float *h, const float *hd, const float *x,
                             Activation act, const Dropout *drop,
                             int B, int U, int H);

    /* dz (B,H) = dhd * dropout_scale * act'(h), written over dhd: the
     * backward of a hidden layer's activation and dropout alone (a middle
     * layer then passes dz to decoder_backward). */
    void (*activation_backward)(float *dhd, const float *h, const float *hd,
                                Activation act, const Dropout *drop, int B,
                                int H);
} KernelOps;

extern const KernelOps kernels_naive;
extern const KernelOps kernels_dense;

/* kernels_dense's evaluation decoder with its output stored by columns:
 * yt (U,B), yt[u*B + r] = act(hd (B,H) . w^T + b)[r][u] (w (U,H), b (U)),
 * for ranking, where each user's scores are read together.  BLIS then
 * packs w on its fast path (the row-major output makes it pack w through
 * its generic copy).  With the identity activation every value is bit for
 * bit decoder_forward's; with the others within rounding of the
 * vectorised activation. */
void kernels_dense_decoder_forward_cols(float *yt, const float *hd,
                                        const float *w, const float *b,
                                        Activation act, int B, int U, int H);

/* The dropout multiplier of unit k in batch row r: 0 or 1 / (1 - p). */
float dropout_scale(const Dropout *drop, int r, int k);

/* The same in two parts, for loops over a row: a key per batch row, then the
 * multiplier of unit k: dropout_scale_key(dropout_row_key(d, r), k, d->p)
 * equals dropout_scale(d, r, k). */
uint64_t dropout_row_key(const Dropout *drop, int r);
float dropout_scale_key(uint64_t row_key, int k, float p);

/* dz = g * dropout_scale * act'(h) for the H units of batch row r, over g
 * (row r's H floats; h, hd likewise).  The mask is read back from hd: a unit
 * was dropped exactly when hd is 0 while h is not; where h is 0 itself
 * (an identity, tanh or elu unit at exactly 0, or a relu unit) it is
 * recomputed from drop. */
void dropout_activation_backward_row(float *g, const float *h, const float *hd,
                                     Activation act, const Dropout *drop, int r,
                                     int H);

/* hd[k] = h[k] * dropout_scale(drop, r, k) for the H units of batch row r
 * (hd and h are that row's H floats; a copy when drop is NULL or p == 0). */
void dropout_apply_row(float *hd, const float *h, const Dropout *drop, int r, int H);

#endif

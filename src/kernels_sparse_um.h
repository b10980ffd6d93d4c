/* kernels_sparse_um.h - user-major training kernels of the shallow sparse
 * I-AutoRec, giving the same numbers as the row-major kernels of
 * kernels_sparse.h (which stay the reference they are tested against).
 *
 * The row-major kernels gather a weight row (H floats) per rating: a batch
 * of 256 items of ML-10M reads ~240k rows of a 140 MB matrix, each user's
 * row several times.  These walk the batch's users in ascending order (the
 * SparseBatch transpose), so each touched weight row is read once per pass
 * while the (B,H) activations stay in cache:
 *   - reductions over a batch row (h, dhd) are split into slices of H
 *     columns, one slice per iteration of the parallel loop; each row's
 *     entries are then added in ascending user order, which is the row's own
 *     (column-sorted) order: the sums of the row-major kernels, bit for bit;
 *   - reductions over a user (dw, db, dwt) are per user, as before;
 *   - the decoder's forward, loss gradient and weight gradient are one pass
 *     per user; the encoder's weight gradient is applied by Adam as soon as
 *     a user's row is complete (no gradient matrix written or read).
 * Results do not depend on the number of threads. */
#ifndef AUTOREC_KERNELS_SPARSE_UM_H
#define AUTOREC_KERNELS_SPARSE_UM_H

#include "adam.h"
#include "adam_ahead.h"
#include "kernels_sparse.h"

/* The size of a (U,H) weight matrix above which the user-major kernels pay
 * off.  Measured on one thread (tools/bench_train.sh): on ML-1M's shape
 * (12 MB) they train an epoch in 0.28 s against 0.36 s for the row-major
 * ones; on ML-100K's (1.9 MB, in L2 and L3 anyway) in 0.026 s against
 * 0.022 s, the extra H-sliced passes costing more than the gathers they
 * save. */
#define SPARSE_UM_MIN_BYTES (8L << 20)

/* 1 when the user-major kernels pay off for U users and H hidden units:
 * a weight matrix larger than SPARSE_UM_MIN_BYTES. */
int sparse_um_pays(int U, int H);

/* As sparse_encoder_forward (same outputs, bit for bit): register-tiled
 * over blocks of SPARSE_TILE_BLOCK_BYTES (kernels_sparse_tile.h). */
void sparse_encoder_forward_um(float *h, float *hd, const SparseBatch *x,
                               const float *wt, const float *b, Activation act,
                               const Dropout *drop, int H);

/* sparse_encoder_forward_um with the block budget given (tests use tiny
 * ones to cross many block boundaries). */
void sparse_encoder_forward_tiled(float *h, float *hd, const SparseBatch *x,
                                  const float *wt, const float *b,
                                  Activation act, const Dropout *drop, int H,
                                  long block_bytes);

/* As sparse_encoder_forward (same outputs, bit for bit), row by row, each
 * row's sums in registers (sparse_tile_row): for weight matrices that stay
 * in cache, where the user-major passes do not pay. */
void sparse_encoder_forward_rows(float *h, float *hd, const SparseBatch *x,
                                 const float *wt, const float *b,
                                 Activation act, const Dropout *drop, int H);

/* The input-gradient half of sparse_decoder_backward (the same dhd, bit
 * for bit), row by row, each row's sums in registers (sparse_tile_row). */
void sparse_decoder_dhd_rows(float *dhd, const float *dy, const float *w,
                             const SparseBatch *x, int H);

/* sparse_decoder_mse_forward and the weight/bias half of
 * sparse_decoder_backward in one pass over users: dy[j] and row_loss as the
 * former, dw[u,:] += sum over user u's entries of dy[j] hd[r,:] (skipped
 * when dw is NULL) and db[u] += sum dy as the latter.  sq (nnz floats,
 * caller's scratch) receives each entry's squared error. */
void sparse_decoder_fused(float *dy, double *row_loss, float *sq, float *dw,
                          float *db, const float *hd, const float *w,
                          const float *b, Activation act, const SparseBatch *x,
                          int H);

/* The input-gradient half of sparse_decoder_backward:
 * dhd (B,H) = sum over row r's entries of dy[j] w[u,:]. */
void sparse_decoder_dhd(float *dhd, const float *dy, const float *w,
                        const SparseBatch *x, int H);

/* sparse_decoder_dhd, register-tiled over blocks of block_bytes of weight
 * slices (kernels_sparse_tile.h; sparse_decoder_dhd uses
 * SPARSE_TILE_BLOCK_BYTES). */
void sparse_decoder_dhd_tiled(float *dhd, const float *dy, const float *w,
                              const SparseBatch *x, int H, long block_bytes);

/* sparse_decoder_dhd with the decoder's weight gradient consumed by Adam:
 * in each slice of H columns, each batch user's row w[u,:] (moments m, v)
 * first feeds dhd, then takes its Adam step s with the gradient
 * sum over user u's entries of dy[j] hd[r,:], the one sparse_decoder_fused
 * would accumulate (in scratch: nscratch threads x H floats, the caller's,
 * left zeroed; at most nscratch threads run), and then, with ahead, the
 * zero-gradient steps that follow it (adam_ahead_row).  Rows of users not in
 * the batch are left to the caller. */
void sparse_decoder_backward_adam(float *dhd, float *w, float *m, float *v,
                                  const float *dy, const float *hd,
                                  const SparseBatch *x, const AdamStep *s,
                                  const AdamAhead *ahead, float *scratch,
                                  int nscratch, int H);

/* sparse_decoder_backward_adam with the block budget of the register-tiled
 * dhd given (kernels_sparse_tile.h): per block of users, the block's rows
 * first feed dhd, then take their Adam steps. */
void sparse_decoder_backward_adam_tiled(float *dhd, float *w, float *m,
                                        float *v, const float *dy,
                                        const float *hd, const SparseBatch *x,
                                        const AdamStep *s,
                                        const AdamAhead *ahead, float *scratch,
                                        int nscratch, int H, long block_bytes);

/* sparse_encoder_backward with the weight gradient consumed by Adam: dz over
 * dhd and db += column sums of dz as there; each batch user's encoder row
 * wt[u,:] (moments m, v) takes its Adam step s with the gradient
 * sum over user u's entries of x_j dz[r,:], accumulated in scratch
 * (nscratch threads x H floats, the caller's; at most nscratch threads
 * run), then, with ahead, the zero-gradient steps that follow it
 * (adam_ahead_row).  Rows of users not in the batch are left to the
 * caller. */
void sparse_encoder_backward_adam(float *wt, float *m, float *v, float *db,
                                  float *dhd, const float *h, const float *hd,
                                  const SparseBatch *x, Activation act,
                                  const Dropout *drop, const AdamStep *s,
                                  const AdamAhead *ahead, float *scratch,
                                  int nscratch, int H);

#endif

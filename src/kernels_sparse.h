/* kernels_sparse.h - I-AutoRec on observed ratings only.
 *
 * The same mathematics as kernels.h in O(observed ratings x H) instead of
 * O(items x users x H): the encoder reads only a row's observed entries, the
 * training decoder is evaluated only where the input is observed (the loss
 * masks everything else), and the backward pass follows the same sparsity.
 *
 * Weights: dec_w (U,H) as in kernels.h; the encoder weight is used
 * transposed, enc_wt (U,H), so both weight matrices are indexed by user and
 * every access is a contiguous row of H floats.
 *
 * A SparseBatch gathers the batch's rows (entries in row order) and their
 * transpose (the same entries grouped by user), so the weight-gradient
 * reductions run in parallel over users, each user's row owned by one
 * iteration: no atomics, and sums in a fixed order for any thread count. */
#ifndef AUTOREC_KERNELS_SPARSE_H
#define AUTOREC_KERNELS_SPARSE_H

#include <stdint.h>

#include "csr.h"
#include "kernels.h"

typedef struct {
    int B;            /* rows in the batch */
    int64_t nnz;      /* entries in the batch */
    int64_t *off;     /* (B+1) start of batch row r in col/val */
    int32_t *col;     /* (nnz) user of entry j */
    float *val;       /* (nnz) rating of entry j */
    int nusers;       /* distinct users in the batch */
    int32_t *users;   /* (nusers) those users, ascending */
    int64_t *uoff;    /* (nusers+1) start of user i's entries in uent */
    int32_t *uent;    /* (nnz) entry indices j grouped by user, row order */
    int32_t *urow;    /* (nnz) batch row of each uent entry */
    float *uval;      /* (nnz) rating of each uent entry */
    int32_t *slot;    /* (U) scratch: user -> -1 between builds */
    int64_t *part;    /* (2 x cursor_slices) scratch of the parallel build:
                         entries, then users, of each thread's user range */
    int64_t *cursor;  /* (cursor_slices x max_rows) scratch: per column
                         slice, each row's next entry (kernels_sparse_tile.h) */
    int32_t *erank;   /* (nnz) index in users of entry j's user */
    float *pack;      /* (cursor_slices x pack_floats) scratch: per column
                         slice, a block's weight-row slices packed
                         (kernels_sparse_tile.h) */
    long pack_floats;
    int cursor_slices;
    int max_rows;
    int64_t max_nnz;
} SparseBatch;

/* Allocates a batch for up to max_rows rows of m (capacity: the max_rows
 * longest rows of m).  Returns 0 or -1 with err; free with
 * sparse_batch_free. */
int sparse_batch_create(SparseBatch *b, const Csr *m, int max_rows, char *err);

/* The same for up to max_rows rows holding at most the entries of the
 * budget_rows longest rows of m (budget_rows <= max_rows: a batch of more
 * rows than the entry budget is sized for, for callers that cut their
 * batches by entries).  Returns 0 or -1 with err. */
int sparse_batch_create_sized(SparseBatch *b, const Csr *m, int max_rows,
                              int budget_rows, char *err);
void sparse_batch_free(SparseBatch *b);

/* Batches with fewer entries than this are built serially: below it the
 * parallel build's team start-up and barriers cost more than they save
 * (measured in docs/performance.md). */
#define SPARSE_BUILD_PAR_MIN_NNZ 512

/* Gathers rows[0..n) of m into b, with the by-user transpose: in parallel
 * when b holds SPARSE_BUILD_PAR_MIN_NNZ entries or more.  The same arrays
 * whatever the thread count. */
void sparse_batch_build(SparseBatch *b, const Csr *m, const int32_t *rows, int n);

/* sparse_batch_build on at most `threads` threads (1: serially), whatever
 * the batch's size (tests compare the two). */
void sparse_batch_build_threads(SparseBatch *b, const Csr *m,
                                const int32_t *rows, int n, int threads);

/* h (B,H) = act(b + sum over entries (u, x) of row r: x * wt[u,:]);
 * hd = dropout(h) (hd may equal h when drop is NULL). */
void sparse_encoder_forward(float *h, float *hd, const SparseBatch *x,
                            const float *wt, const float *b, Activation act,
                            const Dropout *drop, int H);

/* Training decoder at the observed entries only: for entry j = (r, u, x),
 * y = act(b[u] + hd[r,:] . w[u,:]); dy[j] = 2 (y - x) act'(y);
 * row_loss[r] = sum over row r's entries of (y - x)^2. */
void sparse_decoder_mse_forward(float *dy, double *row_loss, const float *hd,
                                const float *w, const float *b, Activation act,
                                const SparseBatch *x, int H);

/* dhd (B,H) = sum over row r's entries of dy[j] w[u,:];
 * dw[u,:] += sum over user u's entries of dy[j] hd[r,:]; db[u] += sum dy
 * (dw and db left alone when dw is NULL). */
void sparse_decoder_backward(float *dhd, float *dw, float *db, const float *dy,
                             const float *hd, const float *w,
                             const SparseBatch *x, int H);

/* dz = dhd * dropout_scale * act'(h), written over dhd (mask read back from
 * hd as in the dense kernel, dropout_activation_backward_row); dwt[u,:] += sum over user u's entries of
 * x_j dz[r,:]; db += column sums of dz. */
void sparse_encoder_backward(float *dwt, float *db, float *dhd, const float *h,
                             const float *hd, const SparseBatch *x,
                             Activation act, const Dropout *drop, int H);

/* db (H) += column sums of dz (B,H), each column summed over rows in
 * order.  An orphaned worksharing loop: call it from every thread of a
 * parallel region (or serially). */
void sparse_column_sums(float *db, const float *dz, int B, int H);

/* dhd (B,H), rows 0..B-1: from the gradient at the dropped-out hidden
 * output to the gradient at the pre-activation, in place
 * (dropout_activation_backward_row).  An orphaned worksharing loop, like
 * sparse_column_sums. */
void sparse_hidden_backward_rows(float *dhd, const float *h, const float *hd,
                                 Activation act, const Dropout *drop, int B,
                                 int H);

#endif

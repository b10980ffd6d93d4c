/* kernels_sparse_tile.h - register-tiled accumulation of weight-row slices
 * into batch rows, the inner loop of the user-major kernels' H-sliced passes
 * (kernels_sparse_um.h).
 *
 * A pass adds, for every entry j = (r, u) of a SparseBatch, coef[j] times
 * the slice [k0, k0+n) of weight row u to the slice of output row r.  The
 * user-major kernels used to walk users and load, add to and store the
 * output row slice once per entry.  Here the batch users are cut into
 * blocks whose weight slices fit in L2 (SPARSE_TILE_BLOCK_BYTES); per block
 * and output row, the row's entries of that block are summed into
 * registers over the row slice, which is loaded and stored once.  Each
 * output element still receives its additions one by one in the row's
 * ascending user order, the order of the row-major reference kernels, so
 * the sums are the same bit for bit. */
#ifndef AUTOREC_KERNELS_SPARSE_TILE_H
#define AUTOREC_KERNELS_SPARSE_TILE_H

#include <stdint.h>

#include "kernels_sparse.h"

/* Bytes of weight-row slices per block of users: half of the 1 MB L2 of
 * this machine's cores, the other half holding the thread's slice of the
 * (B,H) output (256 KB for B = 256, H = 500 on 2 threads).  Measured by
 * perf samples of the tiled kernels and Adam (2 threads, machine loaded by
 * another engineer's tests, so +-15% from run to run): 5 epochs of the
 * ML-1M shape, medians of 3 runs, 384 KB 6.2k, 512 KB 6.5k, 768 KB 7.6k,
 * 1 MB 7.5k; one ML-10M-shape epoch, 512 KB 28.5k/25.1k, 1 MB 26.9k/25.9k.
 * Software prefetching of the next block's rows made every size slower. */
#define SPARSE_TILE_BLOCK_BYTES (512L << 10)

/* The number of batch users per block for slices of sw floats under a
 * budget of block_bytes (at least 1). */
int sparse_tile_block_users(int sw, long block_bytes);

/* The end of the block of batch users starting at i0, nb users long:
 * min(i0 + nb, x->nusers), without overflow. */
int sparse_tile_block_end(const SparseBatch *x, int i0, int nb);

/* Sets the row cursors of x for slice c (x->cursor + c * x->max_rows) to
 * the rows' first entries.  Returns the cursors (owned by x). */
int64_t *sparse_tile_begin(const SparseBatch *x, int c);

/* A block's rows are packed (sparse_tile_pack) only when the batch has at
 * least this many entries per user: a row packed for one use costs a copy
 * more than it saves. */
#define SPARSE_TILE_PACK_MIN_USES 2

/* Copies the slices [k0, k0+n) of the weight rows of batch users i0..i1
 * into slice c's pack buffer of x, one after the other with a stride of n
 * rounded up to 16 floats, so that the block's gathers read L2-resident
 * rows that the copy streamed in address order (users ascending) instead
 * of rows scattered over the matrix.  Returns the buffer (owned by x), or
 * NULL when it does not pay or fit (x->pack_floats). */
float *sparse_tile_pack(const SparseBatch *x, const float *w, int H, int c,
                        int k0, int n, int i0, int i1);

/* For every batch row r, the entries from cur[r] on whose user is below
 * that of batch user i1 (all of them when i1 >= x->nusers; the block
 * starts at batch user i0): out[r, k0+k] += coef[j] * w[u, k0+k] for k <
 * n, in entry order; cur[r] is advanced past them.  out and w have rows of
 * H floats; coef is indexed by entry (x->val, or dy).  The block's rows
 * are read from slice c's pack buffer when sparse_tile_pack packs them:
 * the same values, the same sums.  Serial: one call per slice and thread.
 * Owns nothing. */
void sparse_tile_block(float *out, int64_t *cur, const SparseBatch *x,
                       const float *coef, const float *w, int H, int c,
                       int k0, int n, int i0, int i1);

/* Batch row r of out (B,H), whole: out[r, k] += coef[j] * w[u, k] for each
 * of the row's entries j = (r, u) in order, for all H columns, summed in
 * registers over 128-column chunks: the additions of the row-major
 * reference kernels, in their order (the row-major kernels' register
 * tiling, for weight matrices small enough to stay in cache). */
void sparse_tile_row(float *out, const SparseBatch *x, const float *coef,
                     const float *w, int H, int r);

#endif

/* kernels_sparse_um.c - user-major training kernels (see
 * kernels_sparse_um.h).
 *
 * Every floating-point expression is written as in kernels_sparse.c, in the
 * same order, so that the outputs are identical: the tests compare them bit
 * for bit. */
#include "kernels_sparse_um.h"

#include "kernels_sparse_tile.h"
#include "prefetch.h"

#include <omp.h>

/* Columns per slice of the H-sliced passes: one slice per thread, a
 * multiple of 16 floats (whole 64-byte lines).  Each thread then streams
 * its part of every touched weight row, rows in ascending order (nearly
 * sequential through the matrix: the prefetchers follow), while its slice
 * of the (B,H) activations stays in its L2 (256 KB for B = 256, H = 500 on
 * 2 threads).  Narrow slices (32 floats, one L1-sized slice of the
 * activations per pass) were slower on ML-10M's shape: a 128-byte piece of
 * each row per pass left the loads waiting on memory (perf: 82% of the
 * encoder's samples on the load).  Returns the width. */
static int um_slice_width(int H, const SparseBatch *x) {
    int nt = omp_get_max_threads();
    if (nt > x->cursor_slices) nt = x->cursor_slices;  /* a cursor set per slice */
    int w = (H + nt - 1) / nt;
    w = (w + 15) / 16 * 16;
    return w < H ? w : H;
}

int sparse_um_pays(int U, int H) {
    return (double)U * H * sizeof(float) > (double)SPARSE_UM_MIN_BYTES;
}

/* Slice c (columns k0 .. k0+n) of every batch row of out (B,H): set to
 * init[k0 ..] (zeros when init is NULL), then the batch's entries added by
 * user blocks of nb users (sparse_tile_block: coef[e] * w rows). */
static void um_slice_sum(float *out, const float *init, const SparseBatch *x,
                         const float *coef, const float *w, int H, int c,
                         int k0, int n, int nb) {
    for (int r = 0; r < x->B; r++) {
        float *o = out + (long)r * H + k0;
        #pragma omp simd
        for (int k = 0; k < n; k++) o[k] = init ? init[k0 + k] : 0.0f;
    }
    int64_t *cur = sparse_tile_begin(x, c);
    for (int i0 = 0; i0 < x->nusers; i0 = sparse_tile_block_end(x, i0, nb))
        sparse_tile_block(out, cur, x, coef, w, H, c, k0, n, i0,
                          sparse_tile_block_end(x, i0, nb));
}

void sparse_encoder_forward_um(float *h, float *hd, const SparseBatch *x,
                               const float *wt, const float *b, Activation act,
                               const Dropout *drop, int H) {
    sparse_encoder_forward_tiled(h, hd, x, wt, b, act, drop, H,
                                 SPARSE_TILE_BLOCK_BYTES);
}

void sparse_encoder_forward_tiled(float *h, float *hd, const SparseBatch *x,
                                  const float *wt, const float *b,
                                  Activation act, const Dropout *drop, int H,
                                  long block_bytes) {
    const int has_drop = drop && drop->p > 0.0f;
    const int sw = um_slice_width(H, x), nslices = (H + sw - 1) / sw;
    const int nb = sparse_tile_block_users(sw, block_bytes);
    #pragma omp parallel
    {
        #pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < nslices; c++) {
            const int k0 = c * sw, n = H - k0 < sw ? H - k0 : sw;
            um_slice_sum(h, b, x, x->val, wt, H, c, k0, n, nb);
        }
        #pragma omp for schedule(static)
        for (int r = 0; r < x->B; r++) {
            float *hr = h + (long)r * H;
            activation_forward_row(hr, NULL, act, H);
            dropout_apply_row(hd + (long)r * H, hr, has_drop ? drop : NULL, r, H);
        }
    }
}

void sparse_encoder_forward_rows(float *h, float *hd, const SparseBatch *x,
                                 const float *wt, const float *b,
                                 Activation act, const Dropout *drop, int H) {
    const int has_drop = drop && drop->p > 0.0f;
    #pragma omp parallel for schedule(dynamic, 4)
    for (int r = 0; r < x->B; r++) {
        float *hr = h + (long)r * H;
        #pragma omp simd
        for (int k = 0; k < H; k++) hr[k] = b[k];
        sparse_tile_row(hr, x, x->val, wt, H, r);
        activation_forward_row(hr, NULL, act, H);
        dropout_apply_row(hd + (long)r * H, hr, has_drop ? drop : NULL, r, H);
    }
}

void sparse_decoder_dhd_rows(float *dhd, const float *dy, const float *w,
                             const SparseBatch *x, int H) {
    #pragma omp parallel for schedule(dynamic, 4)
    for (int r = 0; r < x->B; r++) {
        float *g = dhd + (long)r * H;
        #pragma omp simd
        for (int k = 0; k < H; k++) g[k] = 0.0f;
        sparse_tile_row(g, x, dy, w, H, r);
    }
}

void sparse_decoder_fused(float *dy, double *row_loss, float *sq, float *dw,
                          float *db, const float *hd, const float *w,
                          const float *b, Activation act, const SparseBatch *x,
                          int H) {
    #pragma omp parallel
    {
        #pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < x->nusers; i++) {
            const int32_t u = x->users[i];
            const float *wu = w + (long)u * H;
            if (i + PREFETCH_AHEAD < x->nusers)
                prefetch_read(w + (long)x->users[i + PREFETCH_AHEAD] * H, H);
            float *gw = dw ? dw + (long)u * H : NULL;
            float gb = 0.0f;
            for (int64_t q = x->uoff[i]; q < x->uoff[i + 1]; q++) {
                const float *hr = hd + (long)x->urow[q] * H;
                float s = 0.0f;
                #pragma omp simd reduction(+:s)
                for (int k = 0; k < H; k++) s += hr[k] * wu[k];
                float y = act == ACT_IDENTITY ? s + b[u] : activation_apply(act, s + b[u]);
                float diff = y - x->uval[q];
                const float d = act == ACT_IDENTITY
                                    ? 2.0f * diff
                                    : 2.0f * diff * activation_grad(act, y);
                sq[x->uent[q]] = diff * diff;
                dy[x->uent[q]] = d;
                if (gw) {
                    #pragma omp simd
                    for (int k = 0; k < H; k++) gw[k] += d * hr[k];
                }
                gb += d;
            }
            db[u] += gb;
        }
        /* the row losses in row order, as the row-major kernel sums them */
        #pragma omp for schedule(static)
        for (int r = 0; r < x->B; r++) {
            float loss = 0.0f;
            for (int64_t e = x->off[r]; e < x->off[r + 1]; e++) loss += sq[e];
            row_loss[r] = loss;
        }
    }
}

void sparse_decoder_dhd(float *dhd, const float *dy, const float *w,
                        const SparseBatch *x, int H) {
    sparse_decoder_dhd_tiled(dhd, dy, w, x, H, SPARSE_TILE_BLOCK_BYTES);
}

void sparse_decoder_dhd_tiled(float *dhd, const float *dy, const float *w,
                              const SparseBatch *x, int H, long block_bytes) {
    const int sw = um_slice_width(H, x), nslices = (H + sw - 1) / sw;
    const int nb = sparse_tile_block_users(sw, block_bytes);
    #pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < nslices; c++) {
        const int k0 = c * sw, n = H - k0 < sw ? H - k0 : sw;
        um_slice_sum(dhd, NULL, x, dy, w, H, c, k0, n, nb);
    }
}

void sparse_decoder_backward_adam(float *dhd, float *w, float *m, float *v,
                                  const float *dy, const float *hd,
                                  const SparseBatch *x, const AdamStep *s,
                                  const AdamAhead *ahead, float *scratch,
                                  int nscratch, int H) {
    sparse_decoder_backward_adam_tiled(dhd, w, m, v, dy, hd, x, s, ahead,
                                       scratch, nscratch, H,
                                       SPARSE_TILE_BLOCK_BYTES);
}

void sparse_decoder_backward_adam_tiled(float *dhd, float *w, float *m,
                                        float *v, const float *dy,
                                        const float *hd, const SparseBatch *x,
                                        const AdamStep *s,
                                        const AdamAhead *ahead, float *scratch,
                                        int nscratch, int H, long block_bytes) {
    const int sw = um_slice_width(H, x), nslices = (H + sw - 1) / sw;
    const int nb = sparse_tile_block_users(sw, block_bytes);
    #pragma omp parallel for schedule(dynamic, 1) num_threads(nscratch)
    for (int c = 0; c < nslices; c++) {
        const int k0 = c * sw, n = H - k0 < sw ? H - k0 : sw;
        float *gw = scratch + (long)omp_get_thread_num() * H;
        for (int r = 0; r < x->B; r++) {
            float *g = dhd + (long)r * H + k0;
            #pragma omp simd
            for (int k = 0; k < n; k++) g[k] = 0.0f;
        }
        #pragma omp simd
        for (int k = 0; k < n; k++) gw[k] = 0.0f;
        int64_t *cur = sparse_tile_begin(x, c);
        for (int i0 = 0; i0 < x->nusers; i0 = sparse_tile_block_end(x, i0, nb)) {
            const int i1 = sparse_tile_block_end(x, i0, nb);
            /* the block's rows feed dhd before their Adam steps */
            sparse_tile_block(dhd, cur, x, dy, w, H, c, k0, n, i0, i1);
            for (int i = i0; i < i1; i++) {
                const long at = (long)x->users[i] * H + k0;
                if (i + PREFETCH_AHEAD < x->nusers) {   /* w: packed */
                    const long nt = (long)x->users[i + PREFETCH_AHEAD] * H + k0;
                    prefetch_write(m + nt, n);
                    prefetch_write(v + nt, n);
                }
                for (int64_t q = x->uoff[i]; q < x->uoff[i + 1]; q++) {
                    const float d = dy[x->uent[q]];
                    const float *hr = hd + (long)x->urow[q] * H + k0;
                    #pragma omp simd
                    for (int k = 0; k < n; k++) gw[k] += d * hr[k];
                }
                adam_span(w + at, gw, m + at, v + at, n, s);  /* zeroes gw */
                adam_ahead_row(w + at, m + at, v + at, n, ahead, x->users[i]);
            }
        }
    }
}

void sparse_encoder_backward_adam(float *wt, float *m, float *v, float *db,
                                  float *dhd, const float *h, const float *hd,
                                  const SparseBatch *x, Activation act,
                                  const Dropout *drop, const AdamStep *s,
                                  const AdamAhead *ahead, float *scratch,
                                  int nscratch, int H) {
    #pragma omp parallel num_threads(nscratch)
    {
        float *gw = scratch + (long)omp_get_thread_num() * H;
        #pragma omp simd
        for (int k = 0; k < H; k++) gw[k] = 0.0f;
        sparse_hidden_backward_rows(dhd, h, hd, act, drop, x->B, H);
        #pragma omp for schedule(dynamic, 16) nowait
        for (int i = 0; i < x->nusers; i++) {
            const long at = (long)x->users[i] * H;
            if (i + PREFETCH_AHEAD < x->nusers) {
                const long nt = (long)x->users[i + PREFETCH_AHEAD] * H;
                prefetch_write(wt + nt, H);
                prefetch_write(m + nt, H);
                prefetch_write(v + nt, H);
            }
            for (int64_t q = x->uoff[i]; q < x->uoff[i + 1]; q++) {
                const float xv = x->uval[q];
                const float *dz = dhd + (long)x->urow[q] * H;
                #pragma omp simd
                for (int k = 0; k < H; k++) gw[k] += xv * dz[k];
            }
            adam_span(wt + at, gw, m + at, v + at, H, s);  /* zeroes gw */
            adam_ahead_row(wt + at, m + at, v + at, H, ahead, x->users[i]);
        }
        sparse_column_sums(db, dhd, x->B, H);
    }
}

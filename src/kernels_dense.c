/* kernels_dense.c - tiled dense kernels: OpenMP over tiles, BLIS inside.
 *
 * Work split: products whose output rows are batch rows (forward passes and
 * the input gradient dy . w) are cut into tiles of TILE_ROWS batch rows;
 * products whose output rows are weight rows (the weight gradients, a
 * reduction over the batch) are cut into tiles of TILE_OUT weight rows.
 * Either way each loop iteration owns the outputs it writes: no atomics, no
 * per-thread buffers, and the arithmetic of every element is the same for any
 * thread count.  BLIS runs single-threaded inside the tiles (blas.h), so the
 * cores are shared by OpenMP alone and never oversubscribed.
 *
 * The elementwise work (bias, activation, dropout, mask, loss and its gradient)
 * is fused into the epilogue of each tile, while the tile is in cache. */
#include <omp.h>
#include <stddef.h>

#include "activation.h"
#include "blas.h"
#include "kernels.h"

#define TILE_ROWS 64
#define TILE_OUT 128
#define TILE_COLS 2048

static int ntiles(int n, int t) { return (n + t - 1) / t; }
static int tile_len(int n, int t, int i) { return n - i * t < t ? n - i * t : t; }

/* Returns the column tile width for U output columns: at most TILE_COLS,
 * a multiple of 16, with the number of tiles a multiple of the OpenMP
 * threads (so that they share the columns evenly). */
static int col_tile(int U) {
    const int threads = omp_get_max_threads();
    const long per_round = (long)threads * TILE_COLS;
    const long tiles = threads * ((U + per_round - 1) / per_round);
    int w = (int)((U + tiles - 1) / tiles);
    w = (w + 15) / 16 * 16;
    return w > 0 ? w : 16;
}

static void dense_encoder_forward(float *h, float *hd, const float *x,
                                  const float *w, const float *b,
                                  Activation act, const Dropout *drop,
                                  int B, int U, int H) {
    const int nt = ntiles(B, TILE_ROWS);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < nt; t++) {
        const int r0 = t * TILE_ROWS, rows = tile_len(B, TILE_ROWS, t);
        float *ht = h + (long)r0 * H;
        /* z (rows,H) = x_tile (rows,U) . w^T ; w^T(u,k) = w[k*U + u] */
        blas_sgemm(rows, H, U, 1.0f, x + (long)r0 * U, U, 1, w, 1, U,
                   0.0f, ht, H, 1);
        for (int r = 0; r < rows; r++) {
            float *hr = ht + (long)r * H;
            activation_forward_row(hr, b, act, H);
            dropout_apply_row(hd + (long)(r0 + r) * H, hr, drop, r0 + r, H);
        }
    }
}

/* Evaluation decoder, cut into tiles of TILE_COLS output columns (users)
 * rather than batch rows: every tile multiplies all B rows by its own
 * TILE_COLS rows of w, so BLIS packs each weight once per call instead of
 * once per row tile (for ML-10M's 69,878 x 500 decoder, 140 MB per 64 rows
 * before).  Each output element is the same dot product either way (BLIS
 * does not split k across tiles), so the result is bit for bit that of a
 * single sgemm over the whole product, for any thread count. */
static void dense_decoder_forward(float *y, const float *hd, const float *w,
                                  const float *b, Activation act, int B, int U,
                                  int H) {
    const int tc = col_tile(U);
    const int nt = ntiles(U, tc);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < nt; t++) {
        const int u0 = t * tc, cols = tile_len(U, tc, t);
        /* y[:, u0:u0+cols] (B,cols) = hd (B,H) . w[u0:]^T ; w^T(k,u) = w[u*H + k] */
        blas_sgemm(B, cols, H, 1.0f, hd, H, 1, w + (long)u0 * H, 1, H,
                   0.0f, y + u0, U, 1);
        for (int r = 0; r < B; r++)
            activation_forward_row(y + (long)r * U + u0, b + u0, act, cols);
    }
}

/* See kernels.h. */
void kernels_dense_decoder_forward_cols(float *yt, const float *hd,
                                        const float *w, const float *b,
                                        Activation act, int B, int U, int H) {
    const int tc = col_tile(U);
    const int nt = ntiles(U, tc);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < nt; t++) {
        const int u0 = t * tc, cols = tile_len(U, tc, t);
        /* yt[u0:] (cols,B) stored by columns of y: C(r,u) at yt[u*B + r] */
        blas_sgemm(B, cols, H, 1.0f, hd, H, 1, w + (long)u0 * H, 1, H,
                   0.0f, yt + (long)u0 * B, 1, B);
        for (int u = u0; u < u0 + cols; u++) {
            float *yu = yt + (long)u * B;
            const float bu = b[u];
            #pragma omp simd
            for (int r = 0; r < B; r++) yu[r] += bu;
            activation_forward_row(yu, NULL, act, B);
        }
    }
}

static void dense_decoder_mse_forward(float *dy, double *row_loss,
                                      const float *hd, const float *w,
                                      const float *b, Activation act,
                                      const float *x, int B, int U, int H) {
    const int nt = ntiles(B, TILE_ROWS);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < nt; t++) {
        const int r0 = t * TILE_ROWS, rows = tile_len(B, TILE_ROWS, t);
        float *yt = dy + (long)r0 * U;
        blas_sgemm(rows, U, H, 1.0f, hd + (long)r0 * H, H, 1, w, 1, H,
                   0.0f, yt, U, 1);
        for (int r = 0; r < rows; r++) {
            float *yr = yt + (long)r * U;
            const float *xr = x + (long)(r0 + r) * U;
            float loss = 0.0f;
            if (act == ACT_IDENTITY) {
                for (int u = 0; u < U; u++) {
                    float diff = (xr[u] != 0.0f ? yr[u] + b[u] : 0.0f) - xr[u];
                    loss += diff * diff;
                    yr[u] = 2.0f * diff;
                }
            } else {
                for (int u = 0; u < U; u++) {
                    float y = xr[u] != 0.0f ? activation_apply(act, yr[u] + b[u]) : 0.0f;
                    float diff = y - xr[u];
                    loss += diff * diff;
                    yr[u] = xr[u] != 0.0f ? 2.0f * diff * activation_grad(act, y) : 0.0f;
                }
            }
            row_loss[r0 + r] = loss;
        }
    }
}

static void dense_decoder_backward(float *dhd, float *dw, float *db,
                                   const float *dy, const float *hd,
                                   const float *w, int B, int U, int H) {
    const int nt = ntiles(B, TILE_ROWS), no = ntiles(U, TILE_OUT);
    #pragma omp parallel
    {
        /* dhd (rows,H) = dy_tile (rows,U) . w (U,H) */
        #pragma omp for schedule(static) nowait
        for (int t = 0; t < nt; t++) {
            const int r0 = t * TILE_ROWS, rows = tile_len(B, TILE_ROWS, t);
            blas_sgemm(rows, H, U, 1.0f, dy + (long)r0 * U, U, 1, w, H, 1,
                       0.0f, dhd + (long)r0 * H, H, 1);
        }
        /* dw[u0:u1] (n,H) += dy^T (n,B) . hd (B,H); dy^T(u,r) = dy[r*U + u] */
        #pragma omp for schedule(static)
        for (int t = 0; t < no; t++) {
            const int u0 = t * TILE_OUT, n = tile_len(U, TILE_OUT, t);
            blas_sgemm(n, H, B, 1.0f, dy + u0, 1, U, hd, H, 1,
                       1.0f, dw + (long)u0 * H, H, 1);
            for (int r = 0; r < B; r++) {
                const float *dyr = dy + (long)r * U + u0;
                for (int u = 0; u < n; u++) db[u0 + u] += dyr[u];
            }
        }
    }
}

static void dense_activation_backward(float *dhd, const float *h,
                                     const float *hd, Activation act,
                                     const Dropout *drop, int B, int H) {
    const int nt = ntiles(B, TILE_ROWS);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < nt; t++) {
        const int r0 = t * TILE_ROWS, rows = tile_len(B, TILE_ROWS, t);
        for (int r = r0; r < r0 + rows; r++)
            dropout_activation_backward_row(dhd + (long)r * H, h + (long)r * H,
                                            hd + (long)r * H, act, drop, r, H);
    }
}

static void dense_encoder_backward(float *dw, float *db, float *dhd,
                                   const float *h, const float *hd,
                                   const float *x, Activation act,
                                   const Dropout *drop, int B, int U, int H) {
    const int no = ntiles(H, TILE_OUT);
    dense_activation_backward(dhd, h, hd, act, drop, B, H);
    /* dw[k0:k1] (n,U) += dz^T (n,B) . x (B,U); dz^T(k,r) = dz[r*H + k] */
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < no; t++) {
        const int k0 = t * TILE_OUT, n = tile_len(H, TILE_OUT, t);
        blas_sgemm(n, U, B, 1.0f, dhd + k0, 1, H, x, U, 1,
                   1.0f, dw + (long)k0 * U, U, 1);
        for (int r = 0; r < B; r++) {
            const float *dzr = dhd + (long)r * H + k0;
            for (int k = 0; k < n; k++) db[k0 + k] += dzr[k];
        }
    }
}

const KernelOps kernels_dense = {
    .name = "dense",
    .encoder_forward = dense_encoder_forward,
    .decoder_mse_forward = dense_decoder_mse_forward,
    .decoder_forward = dense_decoder_forward,
    .decoder_backward = dense_decoder_backward,
    .encoder_backward = dense_encoder_backward,
    .activation_backward = dense_activation_backward,
};

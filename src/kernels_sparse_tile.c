/* kernels_sparse_tile.c - register-tiled accumulation of weight-row slices
 * (see kernels_sparse_tile.h).
 *
 * The accumulators are GCC/Clang vector-extension values of 16 floats (one
 * AVX-512 register, two AVX2 ones), so that a chunk of 8 of them (128
 * floats) stays in registers across a row's entries: 8 independent chains
 * of additions hide the add latency.  Every lane computes acc = acc +
 * coef * w, the expression of the reference kernels (built without FMA
 * contraction, -std=c11), so the results are identical. */
#include "kernels_sparse_tile.h"

#include <string.h>

#include "prefetch.h"

typedef float tile_vec __attribute__((vector_size(64)));

enum { TILE_LANES = 16 };

int sparse_tile_block_users(int sw, long block_bytes) {
    long n = block_bytes / ((long)(sw > 0 ? sw : 1) * (long)sizeof(float));
    return n < 1 ? 1 : n > 1 << 30 ? 1 << 30 : (int)n;
}

int sparse_tile_block_end(const SparseBatch *x, int i0, int nb) {
    return nb < x->nusers - i0 ? i0 + nb : x->nusers;
}

int64_t *sparse_tile_begin(const SparseBatch *x, int c) {
    int64_t *cur = x->cursor + (long)c * x->max_rows;
    for (int r = 0; r < x->B; r++) cur[r] = x->off[r];
    return cur;
}

/* o[0 .. NV*16) += sum over the ne entries of c[e] * the row
 * w + (idx[e] - base) * ld, the accumulators in registers (NV a constant
 * after inlining). */
static inline __attribute__((always_inline)) void
tile_chunk(float *o, const float *w, long ld, const int32_t *idx, int base,
           const float *c, long ne, const int NV) {
    tile_vec acc[8];
    _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) memcpy(&acc[v], o + v * TILE_LANES, sizeof acc[v]);
    for (long e = 0; e < ne; e++) {
        const float *wu = w + (long)(idx[e] - base) * ld;
        const float ce = c[e];
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) {
            tile_vec wv;
            memcpy(&wv, wu + v * TILE_LANES, sizeof wv);
            acc[v] = acc[v] + ce * wv;
        }
    }
    _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) memcpy(o + v * TILE_LANES, &acc[v], sizeof acc[v]);
}

/* One output row slice o[0..n) += the ne entries' c[e] * w[(idx[e] - base)
 * * ld + k]. */
static void tile_row(float *o, const float *w, long ld, const int32_t *idx,
                     int base, const float *c, long ne, int n) {
    int k = 0;
    for (; k + 8 * TILE_LANES <= n; k += 8 * TILE_LANES) tile_chunk(o + k, w + k, ld, idx, base, c, ne, 8);
    /* the remaining whole vectors in one pass over the entries (a pass
     * per power of two left the last slice of H = 500 with four passes,
     * three of them latency-bound, and its thread behind the other) */
    switch ((n - k) / TILE_LANES) {
    case 7: tile_chunk(o + k, w + k, ld, idx, base, c, ne, 7); break;
    case 6: tile_chunk(o + k, w + k, ld, idx, base, c, ne, 6); break;
    case 5: tile_chunk(o + k, w + k, ld, idx, base, c, ne, 5); break;
    case 4: tile_chunk(o + k, w + k, ld, idx, base, c, ne, 4); break;
    case 3: tile_chunk(o + k, w + k, ld, idx, base, c, ne, 3); break;
    case 2: tile_chunk(o + k, w + k, ld, idx, base, c, ne, 2); break;
    case 1: tile_chunk(o + k, w + k, ld, idx, base, c, ne, 1); break;
    default: break;
    }
    k += (n - k) / TILE_LANES * TILE_LANES;
    for (; k < n; k++) {
        float a = o[k];
        for (long e = 0; e < ne; e++) a += c[e] * w[(long)(idx[e] - base) * ld + k];
        o[k] = a;
    }
}

/* The stride of packed rows of n floats: n rounded up to whole vectors. */
static long pack_stride(int n) {
    return (n + TILE_LANES - 1) / TILE_LANES * TILE_LANES;
}

float *sparse_tile_pack(const SparseBatch *x, const float *w, int H, int c,
                        int k0, int n, int i0, int i1) {
    const long ld = pack_stride(n);
    if (!x->pack || (long)(i1 - i0) * ld > x->pack_floats ||
        x->nnz < SPARSE_TILE_PACK_MIN_USES * (int64_t)x->nusers)
        return NULL;
    float *p = x->pack + (long)c * x->pack_floats;
    for (int i = i0; i < i1; i++) {
        if (i + PREFETCH_AHEAD_COPY < i1)
            prefetch_read(w + (long)x->users[i + PREFETCH_AHEAD_COPY] * H + k0, n);
        memcpy(p + (long)(i - i0) * ld, w + (long)x->users[i] * H + k0,
               (size_t)n * sizeof *p);
    }
    return p;
}

void sparse_tile_block(float *out, int64_t *cur, const SparseBatch *x,
                       const float *coef, const float *w, int H, int c,
                       int k0, int n, int i0, int i1) {
    const int32_t u_end = i1 < x->nusers ? x->users[i1] : INT32_MAX;
    const float *pk = sparse_tile_pack(x, w, H, c, k0, n, i0, i1);
    const long ld = pack_stride(n);
    for (int r = 0; r < x->B; r++) {
        const int64_t e0 = cur[r], end = x->off[r + 1];
        int64_t e1 = e0;
        while (e1 < end && x->col[e1] < u_end) e1++;
        if (e1 == e0) continue;
        cur[r] = e1;
        if (pk)   /* the block's rows packed: x->erank indexes them */
            tile_row(out + (long)r * H + k0, pk, ld, x->erank + e0, i0,
                     coef + e0, e1 - e0, n);
        else
            tile_row(out + (long)r * H + k0, w + k0, H, x->col + e0, 0,
                     coef + e0, e1 - e0, n);
    }
}

void sparse_tile_row(float *out, const SparseBatch *x, const float *coef,
                     const float *w, int H, int r) {
    const int64_t e0 = x->off[r];
    tile_row(out, w, H, x->col + e0, 0, coef + e0, x->off[r + 1] - e0, H);
}

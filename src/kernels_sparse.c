/* kernels_sparse.c - kernels on observed ratings only (see kernels_sparse.h).
 *
 * Parallel loops: over batch rows for everything whose output is a batch row
 * (h, dy, dhd, dz), over the batch's distinct users for the weight-gradient
 * rows.  Inner loops run over contiguous rows of H floats and are vectorised
 * explicitly (omp simd: gcc's -O2 cost model would not, H being unknown);
 * dot products are reduced in vector lanes, a fixed order for a given
 * build. */
#include "kernels_sparse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "err.h"
#include "kernels_sparse_tile.h"
#include "mem.h"

static int cmp_desc_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

static int cmp_asc_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int sparse_batch_create(SparseBatch *b, const Csr *m, int max_rows, char *err) {
    memset(b, 0, sizeof *b);
    int64_t *len = mem_alloc((size_t)(m->rows ? m->rows : 1) * sizeof *len);
    if (!len) return err_set(err, "out of memory sizing sparse batches");
    for (int i = 0; i < m->rows; i++) len[i] = m->ptr[i + 1] - m->ptr[i];
    qsort(len, (size_t)m->rows, sizeof *len, cmp_desc_i64);
    int64_t cap = 0;
    for (int i = 0; i < max_rows && i < m->rows; i++) cap += len[i];
    mem_free(len);
    if (cap < 1) cap = 1;
    b->max_rows = max_rows;
    b->max_nnz = cap;
    size_t n = (size_t)cap;
    b->off = mem_alloc(((size_t)max_rows + 1) * sizeof *b->off);
    b->col = mem_alloc(n * sizeof *b->col);
    b->val = mem_alloc(n * sizeof *b->val);
    b->users = mem_alloc(n * sizeof *b->users);
    b->uoff = mem_alloc((n + 1) * sizeof *b->uoff);
    b->uent = mem_alloc(n * sizeof *b->uent);
    b->urow = mem_alloc(n * sizeof *b->urow);
    b->uval = mem_alloc(n * sizeof *b->uval);
    b->slot = mem_alloc((size_t)(m->cols ? m->cols : 1) * sizeof *b->slot);
    b->cursor_slices = omp_get_max_threads();
    b->cursor = mem_alloc((size_t)b->cursor_slices * ((size_t)max_rows + 1) *
                          sizeof *b->cursor);
    b->erank = mem_alloc(n * sizeof *b->erank);
    b->pack_floats = SPARSE_TILE_BLOCK_BYTES / (long)sizeof(float);
    b->pack = mem_alloc_aligned((size_t)b->cursor_slices *
                                (size_t)b->pack_floats * sizeof *b->pack);
    if (!b->off || !b->col || !b->val || !b->users || !b->uoff || !b->uent ||
        !b->urow || !b->uval || !b->slot || !b->cursor || !b->erank ||
        !b->pack) {
        sparse_batch_free(b);
        return err_set(err, "out of memory for sparse batches (%lld entries)",
                       (long long)cap);
    }
    for (int u = 0; u < m->cols; u++) b->slot[u] = -1;
    return 0;
}

void sparse_batch_free(SparseBatch *b) {
    if (!b) return;
    mem_free(b->off); mem_free(b->col); mem_free(b->val); mem_free(b->users);
    mem_free(b->uoff); mem_free(b->uent); mem_free(b->urow); mem_free(b->uval);
    mem_free(b->slot); mem_free(b->cursor); mem_free(b->erank);
    mem_free_aligned(b->pack);
    memset(b, 0, sizeof *b);
}

void sparse_batch_build(SparseBatch *b, const Csr *m, const int32_t *rows, int n) {
    b->B = n;
    int64_t j = 0;
    for (int r = 0; r < n; r++) {
        int64_t p0 = m->ptr[rows[r]], p1 = m->ptr[rows[r] + 1];
        b->off[r] = j;
        memcpy(b->col + j, m->col + p0, (size_t)(p1 - p0) * sizeof *b->col);
        memcpy(b->val + j, m->val + p0, (size_t)(p1 - p0) * sizeof *b->val);
        j += p1 - p0;
    }
    b->off[n] = j;
    b->nnz = j;
    /* the distinct users, then in ascending id order: a user-major pass
     * then adds a row's entries in that row's (column-sorted) order, the
     * order of the row-major kernels */
    int nu = 0;
    for (int64_t e = 0; e < j; e++) {
        int32_t u = b->col[e];
        if (b->slot[u] < 0) {
            b->slot[u] = 0;
            b->users[nu++] = u;
        }
    }
    if ((int64_t)nu * 32 < m->cols) {
        qsort(b->users, (size_t)nu, sizeof *b->users, cmp_asc_i32);
    } else {            /* dense enough: a scan of the marks is cheaper */
        int k = 0;
        for (int u = 0; u < m->cols; u++)
            if (b->slot[u] >= 0) b->users[k++] = u;
    }
    for (int i = 0; i < nu; i++) {
        b->slot[b->users[i]] = i;
        b->uoff[i + 1] = 0;
    }
    for (int64_t e = 0; e < j; e++) b->uoff[b->slot[b->col[e]] + 1]++;
    b->uoff[0] = 0;
    for (int i = 0; i < nu; i++) b->uoff[i + 1] += b->uoff[i];
    for (int r = 0; r < n; r++) {
        for (int64_t e = b->off[r]; e < b->off[r + 1]; e++) {
            int s = b->slot[b->col[e]];
            int64_t q = b->uoff[s]++;
            b->uent[q] = (int32_t)e;
            b->erank[e] = s;
            b->urow[q] = r;
            b->uval[q] = b->val[e];
        }
    }
    for (int i = nu; i > 0; i--) b->uoff[i] = b->uoff[i - 1];
    b->uoff[0] = 0;
    for (int i = 0; i < nu; i++) b->slot[b->users[i]] = -1;  /* reset scratch */
    b->nusers = nu;
}

void sparse_encoder_forward(float *h, float *hd, const SparseBatch *x,
                            const float *wt, const float *b, Activation act,
                            const Dropout *drop, int H) {
    const int has_drop = drop && drop->p > 0.0f;
    #pragma omp parallel for schedule(dynamic, 4)
    for (int r = 0; r < x->B; r++) {
        float *hr = h + (long)r * H;
        #pragma omp simd
        for (int k = 0; k < H; k++) hr[k] = b[k];
        for (int64_t e = x->off[r]; e < x->off[r + 1]; e++) {
            const float v = x->val[e];
            const float *w = wt + (long)x->col[e] * H;
            #pragma omp simd
            for (int k = 0; k < H; k++) hr[k] += v * w[k];
        }
        activation_forward_row(hr, NULL, act, H);
        dropout_apply_row(hd + (long)r * H, hr, has_drop ? drop : NULL, r, H);
    }
}

void sparse_decoder_mse_forward(float *dy, double *row_loss, const float *hd,
                                const float *w, const float *b, Activation act,
                                const SparseBatch *x, int H) {
    #pragma omp parallel for schedule(dynamic, 4)
    for (int r = 0; r < x->B; r++) {
        const float *hr = hd + (long)r * H;
        float loss = 0.0f;
        for (int64_t e = x->off[r]; e < x->off[r + 1]; e++) {
            const int32_t u = x->col[e];
            const float *wu = w + (long)u * H;
            float s = 0.0f;
            #pragma omp simd reduction(+:s)
            for (int k = 0; k < H; k++) s += hr[k] * wu[k];
            float y = act == ACT_IDENTITY ? s + b[u] : activation_apply(act, s + b[u]);
            float diff = y - x->val[e];
            loss += diff * diff;
            dy[e] = act == ACT_IDENTITY ? 2.0f * diff
                                        : 2.0f * diff * activation_grad(act, y);
        }
        row_loss[r] = loss;
    }
}

void sparse_decoder_backward(float *dhd, float *dw, float *db, const float *dy,
                             const float *hd, const float *w,
                             const SparseBatch *x, int H) {
    #pragma omp parallel
    {
        #pragma omp for schedule(dynamic, 4) nowait
        for (int r = 0; r < x->B; r++) {
            float *g = dhd + (long)r * H;
            #pragma omp simd
            for (int k = 0; k < H; k++) g[k] = 0.0f;
            for (int64_t e = x->off[r]; e < x->off[r + 1]; e++) {
                const float d = dy[e];
                const float *wu = w + (long)x->col[e] * H;
                #pragma omp simd
                for (int k = 0; k < H; k++) g[k] += d * wu[k];
            }
        }
        #pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < (dw ? x->nusers : 0); i++) {
            const int32_t u = x->users[i];
            float *gw = dw + (long)u * H;
            float gb = 0.0f;
            for (int64_t q = x->uoff[i]; q < x->uoff[i + 1]; q++) {
                const float d = dy[x->uent[q]];
                const float *hr = hd + (long)x->urow[q] * H;
                #pragma omp simd
                for (int k = 0; k < H; k++) gw[k] += d * hr[k];
                gb += d;
            }
            db[u] += gb;
        }
    }
}

void sparse_encoder_backward(float *dwt, float *db, float *dhd, const float *h,
                             const float *hd, const SparseBatch *x,
                             Activation act, const Dropout *drop, int H) {
    #pragma omp parallel
    {
        sparse_hidden_backward_rows(dhd, h, hd, act, drop, x->B, H);
        #pragma omp for schedule(dynamic, 16) nowait
        for (int i = 0; i < x->nusers; i++) {
            float *gw = dwt + (long)x->users[i] * H;
            for (int64_t q = x->uoff[i]; q < x->uoff[i + 1]; q++) {
                const float v = x->val[x->uent[q]];
                const float *dz = dhd + (long)x->urow[q] * H;
                #pragma omp simd
                for (int k = 0; k < H; k++) gw[k] += v * dz[k];
            }
        }
        sparse_column_sums(db, dhd, x->B, H);
    }
}

/* See kernels_sparse.h. */
void sparse_hidden_backward_rows(float *dhd, const float *h, const float *hd,
                                 Activation act, const Dropout *drop, int B,
                                 int H) {
    #pragma omp for schedule(static)
    for (int r = 0; r < B; r++)
        dropout_activation_backward_row(dhd + (long)r * H, h + (long)r * H,
                                        hd + (long)r * H, act, drop, r, H);
}

/* See kernels_sparse.h. */
void sparse_column_sums(float *db, const float *dz, int B, int H) {
    /* columns split among the team's threads, rows in order */
    #pragma omp for schedule(static)
    for (int k0 = 0; k0 < H; k0 += 64) {
        const int k1 = k0 + 64 < H ? k0 + 64 : H;
        for (int r = 0; r < B; r++) {
            const float *row = dz + (long)r * H;
            #pragma omp simd
            for (int k = k0; k < k1; k++) db[k] += row[k];
        }
    }
}

/* csr.c - compressed sparse row matrices (see csr.h). */
#include "csr.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"

/* Allocates the arrays of an empty rows x cols matrix with nnz entries.
 * Returns 0 or -1 with err. */
static int csr_alloc(Csr *m, int rows, int cols, int64_t nnz, char *err) {
    memset(m, 0, sizeof *m);
    m->rows = rows;
    m->cols = cols;
    m->nnz = nnz;
    m->ptr = mem_calloc((size_t)rows + 1, sizeof *m->ptr);
    m->col = mem_alloc((size_t)(nnz ? nnz : 1) * sizeof *m->col);
    m->val = mem_alloc((size_t)(nnz ? nnz : 1) * sizeof *m->val);
    if (!m->ptr || !m->col || !m->val) {
        csr_free(m);
        return err_set(err, "out of memory for a sparse %d x %d matrix with %lld "
                       "entries", rows, cols, (long long)nnz);
    }
    return 0;
}

/* Rows at least this long that are out of order are sorted through keys
 * (csr_sort_row); shorter ones, and every row already in order, by
 * insertion. */
#define CSR_SORT_MIN 32

/* Insertion sort of row entries [b, e) by column: stable. */
static void csr_insertion_sort(int32_t *col, float *val, int64_t b, int64_t e) {
    for (int64_t p = b + 1; p < e; p++) {
        int32_t c = col[p];
        float v = val[p];
        int64_t q = p - 1;
        while (q >= b && col[q] > c) {
            col[q + 1] = col[q];
            val[q + 1] = val[q];
            q--;
        }
        col[q + 1] = c;
        val[q + 1] = v;
    }
}

static int csr_key_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts row entries [b, e) by column in O(k log k), keeping the input order
 * of equal columns as the insertion sort does: the keys (column << 32 |
 * position in the row) are distinct.  key and tmp hold e - b entries. */
static void csr_sort_row(int32_t *col, float *val, int64_t b, int64_t e,
                         uint64_t *key, float *tmp) {
    const int64_t k = e - b;
    assert(k <= (int64_t)UINT32_MAX);
    for (int64_t i = 0; i < k; i++) {
        key[i] = (uint64_t)(uint32_t)col[b + i] << 32 | (uint64_t)i;
        tmp[i] = val[b + i];
    }
    qsort(key, (size_t)k, sizeof *key, csr_key_cmp);
    for (int64_t i = 0; i < k; i++) {
        col[b + i] = (int32_t)(key[i] >> 32);
        val[b + i] = tmp[key[i] & 0xffffffffu];
    }
}

int csr_from_ratings(Csr *m, const Rating *r, size_t n, int rows, int cols,
                     char *err) {
    if (csr_alloc(m, rows, cols, (int64_t)n, err)) return -1;
    for (size_t i = 0; i < n; i++) {
        assert(r[i].item >= 0 && r[i].item < rows);
        assert(r[i].user >= 0 && r[i].user < cols);
        m->ptr[r[i].item + 1]++;
    }
    int64_t longest = 0;
    for (int i = 0; i < rows; i++) {
        if (m->ptr[i + 1] > longest) longest = m->ptr[i + 1];
        m->ptr[i + 1] += m->ptr[i];
    }
    int64_t *fill = mem_alloc((size_t)rows * sizeof *fill);
    uint64_t *key = mem_alloc((size_t)(longest ? longest : 1) * sizeof *key);
    float *tmp = mem_alloc((size_t)(longest ? longest : 1) * sizeof *tmp);
    if (!fill || !key || !tmp) {
        mem_free(fill);
        mem_free(key);
        mem_free(tmp);
        csr_free(m);
        return err_set(err, "out of memory building a sparse matrix");
    }
    memcpy(fill, m->ptr, (size_t)rows * sizeof *fill);
    for (size_t i = 0; i < n; i++) {
        int64_t p = fill[r[i].item]++;
        m->col[p] = r[i].user;
        m->val[p] = r[i].rating;
    }
    /* sort each row by column (stable; rows often arrive sorted) */
    for (int i = 0; i < rows; i++) {
        const int64_t b = m->ptr[i], e = m->ptr[i + 1];
        int64_t p = b + 1;
        while (p < e && m->col[p - 1] <= m->col[p]) p++;
        if (p >= e) continue;
        if (e - b >= CSR_SORT_MIN) csr_sort_row(m->col, m->val, b, e, key, tmp);
        else csr_insertion_sort(m->col, m->val, b, e);
    }
    mem_free(fill);
    mem_free(key);
    mem_free(tmp);
    return 0;
}

int csr_from_dense(Csr *m, const float *dense, int rows, int cols, char *err) {
    int64_t nnz = 0;
    size_t total = (size_t)rows * (size_t)cols;
    for (size_t i = 0; i < total; i++) nnz += dense[i] != 0.0f;
    if (csr_alloc(m, rows, cols, nnz, err)) return -1;
    int64_t p = 0;
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
            float v = dense[(size_t)i * cols + j];
            if (v != 0.0f) {
                m->col[p] = j;
                m->val[p++] = v;
            }
        }
        m->ptr[i + 1] = p;
    }
    return 0;
}

float *csr_to_dense(const Csr *m) {
    size_t r = (size_t)m->rows, c = (size_t)m->cols;
    if (m->rows <= 0 || m->cols <= 0 || r > SIZE_MAX / sizeof(float) / c) return NULL;
    float *d = mem_alloc_aligned(r * c * sizeof(float));
    if (!d) return NULL;
    memset(d, 0, r * c * sizeof(float));
    for (int i = 0; i < m->rows; i++)
        for (int64_t p = m->ptr[i]; p < m->ptr[i + 1]; p++)
            d[(size_t)i * c + (size_t)m->col[p]] = m->val[p];
    return d;
}

void csr_free(Csr *m) {
    if (!m) return;
    mem_free(m->ptr);
    mem_free(m->col);
    mem_free(m->val);
    memset(m, 0, sizeof *m);
}

int csr_transpose(Csr *t, const Csr *m, char *err) {
    if (csr_alloc(t, m->cols, m->rows, m->nnz, err)) return -1;
    for (int64_t e = 0; e < m->nnz; e++) t->ptr[m->col[e] + 1]++;
    for (int c = 0; c < m->cols; c++) t->ptr[c + 1] += t->ptr[c];
    int64_t *fill = mem_alloc((size_t)(m->cols ? m->cols : 1) * sizeof *fill);
    if (!fill) {
        csr_free(t);
        return err_set(err, "out of memory transposing a sparse matrix");
    }
    memcpy(fill, t->ptr, (size_t)m->cols * sizeof *fill);
    /* rows of m in order: each row of t receives its columns sorted */
    for (int r = 0; r < m->rows; r++)
        for (int64_t e = m->ptr[r]; e < m->ptr[r + 1]; e++) {
            int64_t p = fill[m->col[e]]++;
            t->col[p] = r;
            t->val[p] = m->val[e];
        }
    mem_free(fill);
    return 0;
}

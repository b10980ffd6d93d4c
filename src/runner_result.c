/* runner_result.c - what a run computes from its result model beyond the
 * RMSE: the evaluated predictions at a list of ratings (ensemble members
 * store them for blending) and the ranking metrics of eval.top_k (topn.h).
 * See runner.h.  No global state. */
#include "runner.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "topn.h"

int runner_predict_ratings(Trainer *t, int by_user, const Rating *rt,
                           size_t n, float *out, char *err) {
    const int R = t->num_items, C = t->num_users, B = t->opt.batch_size;
    int64_t *start = mem_calloc((size_t)R + 1, sizeof *start);
    size_t *order = mem_alloc((n ? n : 1) * sizeof *order);
    int32_t *rows = mem_alloc((size_t)R * sizeof *rows);
    float *buf = mem_alloc((size_t)B * (size_t)C * sizeof *buf);
    int ret = -1, nrows = 0;
    if (!start || !order || !rows || !buf) {
        err_set(err, "out of memory predicting %zu ratings (blocks of %d "
                "rows of %d)", n, B, C);
        goto done;
    }
    /* the ratings grouped by model row (counting sort) */
    for (size_t i = 0; i < n; i++)
        start[(by_user ? rt[i].user : rt[i].item) + 1]++;
    for (int r = 0; r < R; r++) {
        if (start[r + 1] > 0) rows[nrows++] = r;
        start[r + 1] += start[r];
    }
    {
        int64_t *next = mem_alloc((size_t)R * sizeof *next);
        if (!next) {
            err_set(err, "out of memory predicting %zu ratings", n);
            goto done;
        }
        memcpy(next, start, (size_t)R * sizeof *next);
        for (size_t i = 0; i < n; i++)
            order[next[by_user ? rt[i].user : rt[i].item]++] = i;
        mem_free(next);
    }
    for (int c0 = 0; c0 < nrows; c0 += B) {
        const int m = nrows - c0 < B ? nrows - c0 : B;
        trainer_predict_rows(t, rows + c0, m, buf);
        for (int k = 0; k < m; k++) {
            const int r = rows[c0 + k];
            for (int64_t j = start[r]; j < start[r + 1]; j++) {
                const Rating *x = &rt[order[j]];
                out[order[j]] = buf[(size_t)k * C +
                                    (size_t)(by_user ? x->item : x->user)];
            }
        }
    }
    ret = 0;
done:
    mem_free(start);
    mem_free(order);
    mem_free(rows);
    mem_free(buf);
    return ret;
}

/* Marks the entries of row r of m in the scores y (column c at
 * y[c * stride]) as not candidates (NaN). */
static void exclude_row(const Csr *m, int r, float *y, size_t stride) {
    if (m->nnz == 0) return;
    for (int64_t e = m->ptr[r]; e < m->ptr[r + 1]; e++)
        y[(size_t)m->col[e] * stride] = NAN;
}

int runner_topn(Runner *r, TopnMetrics *out, char *err) {
    Trainer *t = &r->trainer;
    const int by_user = r->cfg.variant == VARIANT_USER;
    const int R = t->num_items, C = t->num_users, B = t->opt.batch_size;
    TopnLists l;
    int32_t *rows = mem_alloc((size_t)B * sizeof *rows);
    float *buf = mem_alloc((size_t)B * (size_t)C * sizeof *buf);
    int ret = -1;
    memset(&l, 0, sizeof l);
    if (!rows || !buf) {
        err_set(err, "out of memory for the ranking metrics (a block of %d "
                "rows of %d predictions)", B, C);
        goto done;
    }
    if (topn_lists_create(&l, r->ds.num_users, r->cfg.top_k, err)) goto done;
    /* scores: the model's outputs, neither clipped (a clip would tie every
     * prediction above the scale) nor replaced by the cold default; a block
     * of n rows is stored by columns, buf[c * n + k] for row r0 + k */
    for (int r0 = 0; r0 < R; r0 += B) {
        const int n = R - r0 < B ? R - r0 : B;
        for (int k = 0; k < n; k++) rows[k] = r0 + k;
        trainer_scores_by_column(t, rows, n, buf);
        for (int k = 0; k < n; k++) {   /* training part: not candidates */
            exclude_row(&r->train, r0 + k, buf + k, (size_t)n);
            exclude_row(&r->val, r0 + k, buf + k, (size_t)n);
        }
        if (by_user) {   /* rows are users, columns items */
            #pragma omp parallel for schedule(static)
            for (int k = 0; k < n; k++)
                topn_push_many(&l, r0 + k, 0, buf + k, n, C);
        } else {         /* rows are items, columns users */
            #pragma omp parallel for schedule(static)
            for (int c = 0; c < C; c++)
                topn_push_many(&l, c, r0, buf + (size_t)c * n, 1, n);
        }
    }
    topn_lists_sort(&l);
    ret = topn_metrics(&l, r->ds.test, r->ds.n_test, r->cfg.relevant_min,
                       out, err);
done:
    topn_lists_free(&l);
    mem_free(rows);
    mem_free(buf);
    return ret;
}

/* adam_ahead.c - exact Adam's zero-gradient steps, taken ahead of time (see
 * adam_ahead.h). */
#include "adam_ahead.h"

#include <string.h>

#include "err.h"
#include "mem.h"

/* n, or 1 for n == 0 (a zero-sized allocation may return NULL). */
static size_t at_least_one(size_t n) { return n ? n : 1; }

int adam_ahead_create(AdamAhead *a, const Csr *train, int batch_size,
                      char *err) {
    memset(a, 0, sizeof *a);
    const int U = train->cols, I = train->rows;
    a->num_users = U;
    a->num_items = I;
    a->max_steps = batch_size > 0 ? I / batch_size : 0;
    a->words = (a->max_steps + 63) / 64;
    if (a->words == 0) a->words = 1;
    const size_t nnz = (size_t)train->nnz;
    a->uptr = mem_calloc((size_t)U + 1, sizeof *a->uptr);
    a->uitem = mem_alloc(at_least_one(nnz) * sizeof *a->uitem);
    a->step_of = mem_alloc(at_least_one((size_t)I) * sizeof *a->step_of);
    a->touch = mem_alloc(at_least_one((size_t)U * (size_t)a->words) *
                         sizeof *a->touch);
    a->step = mem_alloc(at_least_one((size_t)a->max_steps) * sizeof *a->step);
    int64_t *next = mem_alloc(at_least_one((size_t)U) * sizeof *next);
    if (!a->uptr || !a->uitem || !a->step_of || !a->touch || !a->step ||
        !next) {
        mem_free(next);
        adam_ahead_free(a);
        return err_set(err, "out of memory for the Adam step plan (%d users, "
                       "%zu ratings: %.3g MB): free memory or train on less "
                       "data", U, nnz, (double)nnz * 4.0 / 1e6);
    }
    /* the transpose of train's pattern by counting: users' items ascending */
    for (int64_t e = 0; e < train->nnz; e++) a->uptr[train->col[e] + 1]++;
    for (int u = 0; u < U; u++) a->uptr[u + 1] += a->uptr[u];
    memcpy(next, a->uptr, (size_t)U * sizeof *next);
    for (int i = 0; i < I; i++)
        for (int64_t e = train->ptr[i]; e < train->ptr[i + 1]; e++)
            a->uitem[next[train->col[e]]++] = i;
    mem_free(next);
    return 0;
}

void adam_ahead_free(AdamAhead *a) {
    if (!a) return;
    mem_free(a->uptr);
    mem_free(a->uitem);
    mem_free(a->step_of);
    mem_free(a->touch);
    mem_free(a->step);
    memset(a, 0, sizeof *a);
}

void adam_ahead_plan(AdamAhead *a, const int32_t *order, int n_items,
                     int batch_size) {
    const int S = n_items / batch_size, W = a->words;
    a->nsteps = S;
    a->now = 0;
    for (int i = 0; i < a->num_items; i++) a->step_of[i] = -1;
    for (int k = 0; k < S * batch_size; k++) a->step_of[order[k]] = k / batch_size;
    #pragma omp parallel for schedule(dynamic, 256)
    for (int u = 0; u < a->num_users; u++) {
        uint64_t *bits = a->touch + (size_t)u * W;
        for (int w = 0; w < W; w++) bits[w] = 0;
        for (int64_t e = a->uptr[u]; e < a->uptr[u + 1]; e++) {
            const int s = a->step_of[a->uitem[e]];
            if (s >= 0) bits[s >> 6] |= (uint64_t)1 << (s & 63);
        }
    }
}

/* The index of user u's first step at or after step `from` of the planned
 * epoch, or nsteps when it has none. */
static int next_step(const AdamAhead *a, int32_t u, int from) {
    const uint64_t *bits = a->touch + (size_t)u * a->words;
    for (int w = from >> 6; w < a->words && (w << 6) < a->nsteps; w++) {
        uint64_t x = bits[w];
        if (w == from >> 6) x &= ~(uint64_t)0 << (from & 63);
        if (x) {
            const int s = (w << 6) + __builtin_ctzll(x);
            return s < a->nsteps ? s : a->nsteps;
        }
    }
    return a->nsteps;
}

int adam_ahead_after(const AdamAhead *a, int32_t u) {
    if (a->now + 1 >= a->nsteps) return 0;
    return next_step(a, u, a->now + 1) - a->now - 1;
}

int adam_ahead_before(const AdamAhead *a, int32_t u) {
    return next_step(a, u, 0);
}

void adam_ahead_span(float *p, float *m, float *v, long n, const AdamAhead *a,
                     int from, int count) {
    for (int k = from; k < from + count; k++) adam_span(p, NULL, m, v, n, &a->step[k]);
}

void adam_ahead_begin_rows(float *w, float *m, float *v, long n,
                           const AdamAhead *a) {
    #pragma omp parallel for schedule(dynamic, 64)
    for (int u = 0; u < a->num_users; u++) {
        const int c = adam_ahead_before(a, u);
        const long at = (long)u * n;
        if (c > 0) adam_ahead_span(w + at, m + at, v + at, n, a, 0, c);
    }
}

void adam_ahead_row(float *p, float *m, float *v, long n, const AdamAhead *a,
                    int32_t u) {
    if (!a) return;
    const int c = adam_ahead_after(a, u);
    if (c > 0) adam_ahead_span(p, m, v, n, a, a->now + 1, c);
}

/* topn.c - per-user top-K lists and ranking metrics (see topn.h).
 * No global state. */
#include "topn.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "mem.h"

int topn_lists_create(TopnLists *l, int num_users, int k, char *err) {
    memset(l, 0, sizeof *l);
    const size_t n = (size_t)num_users * (size_t)k;
    l->k = k;
    l->num_users = num_users;
    l->score = mem_alloc(n * sizeof *l->score);
    l->item = mem_alloc(n * sizeof *l->item);
    l->count = mem_calloc((size_t)num_users, sizeof *l->count);
    if (!l->score || !l->item || !l->count) {
        topn_lists_free(l);
        return err_set(err, "out of memory for the top-%d lists of %d users "
                       "(eval.top_k): lower eval.top_k or set it to 0", k,
                       num_users);
    }
    return 0;
}

void topn_lists_free(TopnLists *l) {
    if (!l) return;
    mem_free(l->score);
    mem_free(l->item);
    mem_free(l->count);
    memset(l, 0, sizeof *l);
}

/* 1 when (sa, ia) ranks below (sb, ib): a lower score, or the same score
 * and a higher item index. */
static inline int worse(float sa, int32_t ia, float sb, int32_t ib) {
    return sa < sb || (sa == sb && ia > ib);
}

/* Exchanges entries a and b of s/it. */
static inline void swap_entries(float *s, int32_t *it, int a, int b) {
    float ts = s[a];
    int32_t ti = it[a];
    s[a] = s[b];
    it[a] = it[b];
    s[b] = ts;
    it[b] = ti;
}

/* Restores the heap property (worst entry at the root) of the n entries of
 * s/it from position at downwards. */
static void sift_down(float *s, int32_t *it, int n, int at) {
    for (;;) {
        int c = 2 * at + 1, w = at;
        if (c < n && worse(s[c], it[c], s[w], it[w])) w = c;
        if (c + 1 < n && worse(s[c + 1], it[c + 1], s[w], it[w])) w = c + 1;
        if (w == at) return;
        swap_entries(s, it, at, w);
        at = w;
    }
}

void topn_push(TopnLists *l, int user, int32_t item, float score) {
    if (score != score) return;
    float *s = l->score + (size_t)user * (size_t)l->k;
    int32_t *it = l->item + (size_t)user * (size_t)l->k;
    int *n = &l->count[user];
    if (*n < l->k) {   /* append, then sift up */
        int at = (*n)++;
        s[at] = score;
        it[at] = item;
        while (at > 0) {
            int up = (at - 1) / 2;
            if (!worse(s[at], it[at], s[up], it[up])) break;
            swap_entries(s, it, at, up);
            at = up;
        }
        return;
    }
    if (!worse(s[0], it[0], score, item)) return;
    s[0] = score;
    it[0] = item;
    sift_down(s, it, *n, 0);
}

void topn_push_many(TopnLists *l, int user, int32_t item0, const float *score,
                    ptrdiff_t stride, int n) {
    const float *s = l->score + (size_t)user * (size_t)l->k;
    const int32_t *it = l->item + (size_t)user * (size_t)l->k;
    int j = 0;
    for (; j < n && l->count[user] < l->k; j++)   /* filling the list */
        topn_push(l, user, item0 + j, score[j * stride]);
    if (j == n) return;
    float worst = s[0];
    int32_t worst_item = it[0];
    for (; j < n; j++) {
        const float x = score[j * stride];
        /* kept only when it beats the worst entry (as topn_push decides) */
        if (x < worst || x != x || (x == worst && item0 + j >= worst_item))
            continue;
        topn_push(l, user, item0 + j, x);
        worst = s[0];
        worst_item = it[0];
    }
}

void topn_lists_sort(TopnLists *l) {
    for (int u = 0; u < l->num_users; u++) {
        float *s = l->score + (size_t)u * (size_t)l->k;
        int32_t *it = l->item + (size_t)u * (size_t)l->k;
        /* heap sort: the worst goes to the end each time, leaving the
         * list best first */
        for (int n = l->count[u]; n > 1; n--) {
            swap_entries(s, it, 0, n - 1);
            sift_down(s, it, n - 1, 0);
        }
    }
}

int topn_metrics(const TopnLists *l, const Rating *rt, size_t n,
                 double relevant_min, TopnMetrics *out, char *err) {
    const int U = l->num_users, K = l->k;
    int64_t *start = mem_calloc((size_t)U + 1, sizeof *start);
    int32_t *rel = mem_alloc((n ? n : 1) * sizeof *rel);
    memset(out, 0, sizeof *out);
    out->k = K;
    out->precision = out->recall = out->ndcg = out->hit_rate = NAN;
    if (!start || !rel) {
        mem_free(start);
        mem_free(rel);
        return err_set(err, "out of memory grouping %zu test ratings by user "
                       "for the ranking metrics", n);
    }
    /* the relevant items of each user, grouped (counting sort) */
    for (size_t i = 0; i < n; i++)
        if (rt[i].rating >= relevant_min) start[rt[i].user + 1]++;
    for (int u = 0; u < U; u++) start[u + 1] += start[u];
    for (size_t i = 0; i < n; i++)
        if (rt[i].rating >= relevant_min) rel[start[rt[i].user]++] = rt[i].item;
    for (int u = U; u > 0; u--) start[u] = start[u - 1];
    start[0] = 0;
    double sp = 0, sr = 0, sn = 0, sh = 0;
    int64_t users = 0;
    for (int u = 0; u < U; u++) {
        const int64_t nrel = start[u + 1] - start[u];
        if (nrel == 0) continue;
        const int32_t *list = l->item + (size_t)u * (size_t)K;
        int hits = 0;
        double dcg = 0, idcg = 0;
        for (int p = 0; p < l->count[u]; p++)
            for (int64_t j = start[u]; j < start[u + 1]; j++)
                if (rel[j] == list[p]) {
                    hits++;
                    dcg += 1.0 / log2((double)p + 2.0);
                    break;
                }
        for (int p = 0; p < K && p < nrel; p++) idcg += 1.0 / log2((double)p + 2.0);
        sp += (double)hits / K;
        sr += (double)hits / (double)nrel;
        sn += dcg / idcg;
        sh += hits > 0;
        users++;
    }
    if (users > 0) {
        out->precision = sp / (double)users;
        out->recall = sr / (double)users;
        out->ndcg = sn / (double)users;
        out->hit_rate = sh / (double)users;
    }
    out->users = users;
    mem_free(start);
    mem_free(rel);
    return 0;
}

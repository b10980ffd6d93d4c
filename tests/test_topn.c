/* test_topn.c - ranking metrics: a hand-computed example, the top-K lists
 * against a full sort, and runner_topn (both variants) against a brute-force
 * computation from the full reconstruction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "runner.h"
#include "test.h"
#include "topn.h"

/* K = 2, relevant = rating >= 4.  User 0: item 0 rated in training
 * (excluded), scores 3, 4.5, 4.5, 1 for items 1..4: list [2, 3] (a tie:
 * the lower item first); relevant {3, 4}: a hit at position 2, precision
 * 1/2, recall 1/2, NDCG (1/log2 3) / (1 + 1/log2 3).  User 1: item 1
 * excluded, scores 2, 1, 0.5, 3 for items 0, 2, 3, 4: list [4, 0];
 * relevant {0}: a hit at position 2, precision 1/2, recall 1, NDCG
 * 1/log2 3.  User 2 has only a rating 3 (no relevant item), user 3 no test
 * rating: both left out, so the means are over 2 users. */
static void test_topn_hand_computed(void) {
    char err[ERR_MAX];
    TopnLists l;
    CHECK(topn_lists_create(&l, 4, 2, err) == 0);
    const float s0[5] = {NAN, 3.0f, 4.5f, 4.5f, 1.0f};
    const float s1[5] = {2.0f, NAN, 1.0f, 0.5f, 3.0f};
    const float s2[5] = {1, 2, 3, 4, 5};
    for (int i = 4; i >= 0; i--) {   /* any order */
        topn_push(&l, 0, i, s0[i]);
        topn_push(&l, 1, i, s1[i]);
        topn_push(&l, 2, i, s2[i]);
    }
    topn_lists_sort(&l);
    CHECK(l.count[0] == 2 && l.item[0] == 2 && l.item[1] == 3);
    CHECK(l.count[1] == 2 && l.item[2] == 4 && l.item[3] == 0);
    const Rating test[5] = {{0, 3, 5.0f}, {0, 4, 4.0f}, {0, 1, 2.0f},
                            {1, 0, 4.0f}, {2, 2, 3.0f}};
    TopnMetrics m;
    CHECK(topn_metrics(&l, test, 5, 4.0, &m, err) == 0);
    const double g = 1.0 / log2(3.0);
    CHECK(m.users == 2 && m.k == 2);
    CHECK_CLOSE(m.precision, 0.5, 1e-12, 0);
    CHECK_CLOSE(m.recall, 0.75, 1e-12, 0);
    CHECK_CLOSE(m.ndcg, (g / (1 + g) + g) / 2, 1e-12, 0);
    CHECK_CLOSE(m.hit_rate, 1.0, 1e-12, 0);
    /* relevant from 3 on: user 2 joins (item 2 is not in its list [4, 3]) */
    CHECK(topn_metrics(&l, test, 5, 3.0, &m, err) == 0);
    CHECK(m.users == 3);
    CHECK_CLOSE(m.hit_rate, 2.0 / 3.0, 1e-12, 0);
    topn_lists_free(&l);
}

static int cmp_desc(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* 1000 pseudo-random scores pushed in order: the kept 10 are the 10
 * largest, best first. */
static void test_topn_lists_keep_the_best(void) {
    char err[ERR_MAX];
    TopnLists l;
    float all[1000];
    uint64_t s = 99;
    CHECK(topn_lists_create(&l, 1, 10, err) == 0);
    for (int i = 0; i < 1000; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        all[i] = (float)(s >> 40) / 16777216.0f;
        topn_push(&l, 0, i, all[i]);
    }
    topn_lists_sort(&l);
    qsort(all, 1000, sizeof *all, cmp_desc);
    int same = l.count[0] == 10;
    for (int k = 0; k < 10 && same; k++) same = l.score[k] == all[k];
    CHECK(same);
    topn_lists_free(&l);
}

/* The metrics of runner_topn, computed again from the full unclipped
 * reconstruction: each user's candidates sorted (score, then item), the
 * first K, the formulas of topn.h. */
static void brute_force(Runner *r, TopnMetrics *out) {
    const int by_user = r->cfg.variant == VARIANT_USER, K = r->cfg.top_k;
    const int I = r->ds.num_items, U = r->ds.num_users;
    const int R = r->trainer.num_items, C = r->trainer.num_users;
    float *rec = malloc((size_t)R * C * sizeof *rec);
    unsigned char *seen = calloc((size_t)U * I, 1), *rel = calloc((size_t)U * I, 1);
    trainer_reconstruct(&r->trainer, rec);
    for (size_t j = 0; j < r->ds.n_train; j++)
        seen[(size_t)r->ds.train[j].user * I + r->ds.train[j].item] = 1;
    for (size_t j = 0; j < r->ds.n_val; j++)
        seen[(size_t)r->ds.val[j].user * I + r->ds.val[j].item] = 1;
    for (size_t j = 0; j < r->ds.n_test; j++)
        if (r->ds.test[j].rating >= r->cfg.relevant_min)
            rel[(size_t)r->ds.test[j].user * I + r->ds.test[j].item] = 1;
    double sp = 0, sr = 0, sn = 0, sh = 0;
    int users = 0;
    for (int u = 0; u < U; u++) {
        int nrel = 0;
        for (int i = 0; i < I; i++) nrel += rel[(size_t)u * I + i];
        if (!nrel) continue;
        int taken[64] = {0}, hits = 0;
        double dcg = 0, idcg = 0;
        for (int p = 0; p < K; p++) {   /* selection: best untaken */
            int best = -1;
            float bs = 0;
            for (int i = 0; i < I; i++) {
                if (seen[(size_t)u * I + i] || taken[i]) continue;
                float sc = by_user ? rec[(size_t)u * C + i] : rec[(size_t)i * C + u];
                if (best < 0 || sc > bs) { best = i; bs = sc; }
            }
            if (best < 0) break;
            taken[best] = 1;
            if (rel[(size_t)u * I + best]) { hits++; dcg += 1 / log2(p + 2.0); }
        }
        for (int p = 0; p < K && p < nrel; p++) idcg += 1 / log2(p + 2.0);
        sp += (double)hits / K;
        sr += (double)hits / nrel;
        sn += dcg / idcg;
        sh += hits > 0;
        users++;
    }
    out->users = users;
    out->precision = sp / users;
    out->recall = sr / users;
    out->ndcg = sn / users;
    out->hit_rate = sh / users;
    free(rec);
    free(seen);
    free(rel);
}

static void test_runner_topn_matches_brute_force(void) {
    char err[ERR_MAX], path[512];
    const char *dir = test_tmp_dir("topn");
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(path, sizeof path, "%s/u.data", dir);
    FILE *f = fopen(path, "w");
    uint64_t s = 5;
    for (int u = 1; u <= 30 && f; u++)
        for (int i = 1; i <= 40; i++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            if ((s >> 33) % 3) continue;
            fprintf(f, "%d\t%d\t%d\t1\n", u, i, (int)(1 + (u * i + (s >> 50)) % 5));
        }
    CHECK(f && fclose(f) == 0);
    for (int v = 0; v < 2; v++) {
        Config c;
        Runner r;
        cfg_defaults(&c);
        snprintf(c.data_path, sizeof c.data_path, "%s", dir);
        c.hidden = 6;
        c.batch_size = 4;
        c.validation_ratio = 0.2;
        c.test_ratio = 0.3;
        c.top_k = 5;
        c.clip.mode = CLIP_AUTO;   /* ignored by the ranking */
        c.variant = v ? VARIANT_USER : VARIANT_ITEM;
        CHECK_MSG(runner_prepare(&r, &c, err) == 0, "%s", err);
        double loss;
        for (int e = 0; e < 3; e++) trainer_epoch(&r.trainer, NULL, &loss);
        TopnMetrics got, want;
        CHECK_MSG(runner_topn(&r, &got, err) == 0, "%s", err);
        brute_force(&r, &want);
        CHECK(got.users == want.users && got.users > 5 && got.k == 5);
        CHECK_CLOSE(got.precision, want.precision, 1e-12, 0);
        CHECK_CLOSE(got.recall, want.recall, 1e-12, 0);
        CHECK_CLOSE(got.ndcg, want.ndcg, 1e-12, 0);
        CHECK_CLOSE(got.hit_rate, want.hit_rate, 1e-12, 0);
        runner_free(&r);
    }
    test_rm_tree(dir);
}

/* topn_push_many keeps exactly the lists of one topn_push per item, with
 * ties (scores on a coarse grid), NaNs and both strides. */
static void test_topn_push_many_equals_push(void) {
    const int U = 7, I = 300, K = 5;
    unsigned s = 11;
    float *sc = malloc((size_t)U * I * sizeof *sc);
    for (int i = 0; i < U * I; i++) {
        double u = test_urand(&s);
        sc[i] = u < 0.05 ? NAN : (float)floor(u * 20.0) / 4.0f;
    }
    TopnLists a, b, c;
    char err[ERR_MAX];
    CHECK(topn_lists_create(&a, U, K, err) == 0);
    CHECK(topn_lists_create(&b, U, K, err) == 0);
    CHECK(topn_lists_create(&c, U, K, err) == 0);
    /* sc as (items, users): blocks of 64 items, as runner_topn streams */
    for (int i0 = 0; i0 < I; i0 += 64) {
        const int n = I - i0 < 64 ? I - i0 : 64;
        for (int u = 0; u < U; u++) {
            for (int j = 0; j < n; j++)
                topn_push(&a, u, i0 + j, sc[(size_t)(i0 + j) * U + u]);
            topn_push_many(&b, u, i0, sc + (size_t)i0 * U + u, U, n);
        }
    }
    /* sc read as (users, items) rows, stride 1 */
    for (int u = 0; u < U; u++) topn_push_many(&c, u, 0, sc + (size_t)u * I, 1, I);
    TopnLists d;
    CHECK(topn_lists_create(&d, U, K, err) == 0);
    for (int u = 0; u < U; u++)
        for (int i = 0; i < I; i++) topn_push(&d, u, i, sc[(size_t)u * I + i]);
    topn_lists_sort(&a); topn_lists_sort(&b); topn_lists_sort(&c); topn_lists_sort(&d);
    CHECK(memcmp(a.count, b.count, U * sizeof *a.count) == 0);
    CHECK(memcmp(a.item, b.item, (size_t)U * K * sizeof *a.item) == 0);
    CHECK(memcmp(a.score, b.score, (size_t)U * K * sizeof *a.score) == 0);
    CHECK(memcmp(c.item, d.item, (size_t)U * K * sizeof *c.item) == 0);
    CHECK(memcmp(c.count, d.count, U * sizeof *c.count) == 0);
    topn_lists_free(&a); topn_lists_free(&b); topn_lists_free(&c); topn_lists_free(&d);
    free(sc);
}

void suite_topn(void) {
    RUN(test_topn_push_many_equals_push);
    RUN(test_topn_hand_computed);
    RUN(test_topn_lists_keep_the_best);
    RUN(test_runner_topn_matches_brute_force);
}

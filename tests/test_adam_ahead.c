/* test_adam_ahead.c - the plan of exact Adam's zero-gradient steps
 * (adam_ahead.h): which steps each user's rows take ahead of time, and
 * that taking them reproduces the steps taken one at a time. */
#include <stdlib.h>
#include <string.h>

#include "adam_ahead.h"
#include "csr.h"
#include "err.h"
#include "mem.h"
#include "test.h"

/* 7 items, 5 users, batches of 2: 3 steps (items 0-1, 2-3, 4-5 in the
 * identity order), item 6 dropped.  User 0 rated items 0 and 5 (steps 0
 * and 2), user 1 nothing, user 2 item 2 (step 1), user 3 only the dropped
 * item 6, user 4 items 1, 3 and 4 (steps 0, 1, 2). */
static void test_counts_small(void) {
    Rating r[] = {{0, 0, 4}, {0, 5, 3}, {2, 2, 5}, {3, 6, 1}, {4, 1, 2},
                  {4, 3, 2}, {4, 4, 2}};
    Csr m;
    AdamAhead a;
    char err[ERR_MAX];
    CHECK(csr_from_ratings(&m, r, sizeof r / sizeof r[0], 7, 5, err) == 0);
    CHECK(adam_ahead_create(&a, &m, 2, err) == 0);
    CHECK(a.max_steps == 3 && a.words == 1);
    int32_t order[7] = {0, 1, 2, 3, 4, 5, 6};
    adam_ahead_plan(&a, order, 7, 2);
    CHECK(a.nsteps == 3);
    const int before[5] = {0, 3, 1, 3, 0};
    for (int u = 0; u < 5; u++)
        CHECK_MSG(adam_ahead_before(&a, u) == before[u], "user %d: %d steps before "
                  "its first, expected %d", u, adam_ahead_before(&a, u), before[u]);
    /* after step 0: user 0 waits for step 2 (1 step), user 4 none; after
     * step 1: user 2 runs to the end (1 step); after step 2: none */
    a.now = 0;
    CHECK(adam_ahead_after(&a, 0) == 1 && adam_ahead_after(&a, 4) == 0);
    a.now = 1;
    CHECK(adam_ahead_after(&a, 2) == 1 && adam_ahead_after(&a, 4) == 0);
    a.now = 2;
    CHECK(adam_ahead_after(&a, 0) == 0 && adam_ahead_after(&a, 4) == 0);
    /* another order: items 6 and 5 first (steps 0), then 4, 3; 2, 1; 0
     * dropped.  User 0: step 0 (item 5) only; user 3: step 0 (item 6) */
    int32_t order2[7] = {6, 5, 4, 3, 2, 1, 0};
    adam_ahead_plan(&a, order2, 7, 2);
    CHECK(adam_ahead_before(&a, 0) == 0 && adam_ahead_before(&a, 3) == 0);
    CHECK(adam_ahead_before(&a, 2) == 2 && adam_ahead_before(&a, 4) == 1);
    a.now = 0;
    CHECK(adam_ahead_after(&a, 0) == 2 && adam_ahead_after(&a, 3) == 2);
    adam_ahead_free(&a);
    adam_ahead_free(&a);  /* accepts a freed plan */
    csr_free(&m);
}

/* Steps across the 64-step words: 200 items one per step, user 0 rated
 * items 3, 63, 64 and 130. */
static void test_counts_across_words(void) {
    Rating r[] = {{0, 3, 1}, {0, 63, 1}, {0, 64, 1}, {0, 130, 1}, {1, 199, 1}};
    Csr m;
    AdamAhead a;
    char err[ERR_MAX];
    CHECK(csr_from_ratings(&m, r, sizeof r / sizeof r[0], 200, 2, err) == 0);
    CHECK(adam_ahead_create(&a, &m, 1, err) == 0);
    CHECK(a.words == 4);
    int32_t *order = malloc(200 * sizeof *order);
    CHECK(order != NULL);
    if (!order) return;
    for (int i = 0; i < 200; i++) order[i] = i;
    adam_ahead_plan(&a, order, 200, 1);
    CHECK(adam_ahead_before(&a, 0) == 3 && adam_ahead_before(&a, 1) == 199);
    const int now[4] = {3, 63, 64, 130}, after[4] = {59, 0, 65, 69};
    for (int k = 0; k < 4; k++) {
        a.now = now[k];
        CHECK_MSG(adam_ahead_after(&a, 0) == after[k], "after step %d: %d, expected %d",
                  now[k], adam_ahead_after(&a, 0), after[k]);
    }
    a.now = 199;
    CHECK(adam_ahead_after(&a, 1) == 0);
    free(order);
    adam_ahead_free(&a);
    csr_free(&m);
}

/* adam_ahead_begin_rows and adam_ahead_row take, on each row, the steps
 * adam_span takes one at a time with a zero gradient: the same bits. */
static void test_steps_equal_stepwise(void) {
    Rating r[] = {{0, 0, 4}, {0, 5, 3}, {2, 2, 5}, {4, 1, 2}};
    enum { U = 5, N = 37 };
    Csr m;
    AdamAhead a;
    char err[ERR_MAX];
    CHECK(csr_from_ratings(&m, r, sizeof r / sizeof r[0], 6, U, err) == 0);
    CHECK(adam_ahead_create(&a, &m, 2, err) == 0);
    int32_t order[6] = {0, 1, 2, 3, 4, 5};
    adam_ahead_plan(&a, order, 6, 2);
    for (int k = 0; k < a.nsteps; k++)
        adam_step_scalars(&a.step[k], 0.01, 0.9f, 0.999f, 1e-8f, 1e-2f, 4 + k);
    float w[2][U * N], mo[2][U * N], v[2][U * N];
    for (int i = 0; i < U * N; i++) {
        w[0][i] = w[1][i] = (float)((i * 37) % 101 - 50) / 70.0f;
        mo[0][i] = mo[1][i] = (float)((i * 11) % 13 - 6) * 1e-3f;
        v[0][i] = v[1][i] = (float)((i * 7) % 17) * 1e-5f;
    }
    /* ahead: the leading steps, then after each step of a user its
     * following ones (the users' own steps are not taken here) */
    adam_ahead_begin_rows(w[0], mo[0], v[0], N, &a);
    for (a.now = 0; a.now < a.nsteps; a.now++)
        for (int u = 0; u < U; u++)
            if (a.touch[(size_t)u * a.words] >> a.now & 1)   /* u in the batch */
                adam_ahead_row(w[0] + u * N, mo[0] + u * N, v[0] + u * N, N, &a, u);
    /* stepwise: every row without a rating in step k takes step k */
    for (int k = 0; k < a.nsteps; k++)
        for (int u = 0; u < U; u++)
            if (!(a.touch[(size_t)u * a.words] >> k & 1))
                adam_span(w[1] + u * N, NULL, mo[1] + u * N, v[1] + u * N, N, &a.step[k]);
    CHECK(memcmp(w[0], w[1], sizeof w[0]) == 0);
    CHECK(memcmp(mo[0], mo[1], sizeof mo[0]) == 0);
    CHECK(memcmp(v[0], v[1], sizeof v[0]) == 0);
    adam_ahead_free(&a);
    csr_free(&m);
}

/* Every allocation failure of adam_ahead_create is reported, nothing
 * leaks (the SAN build checks), and the plan works once memory returns. */
static void test_create_alloc_failures(void) {
    Rating r[] = {{0, 0, 4}, {1, 1, 3}};
    Csr m;
    AdamAhead a;
    char err[ERR_MAX];
    CHECK(csr_from_ratings(&m, r, 2, 2, 2, err) == 0);
    int failed = 0;
    for (long n = 1; n <= 6; n++) {
        err[0] = 0;
        mem_fail_at(n);
        int rc = adam_ahead_create(&a, &m, 1, err);
        mem_fail_at(0);
        if (rc == 0) {
            adam_ahead_free(&a);
            continue;
        }
        failed++;
        CHECK(strstr(err, "out of memory") != NULL);
    }
    CHECK(failed == 6);
    CHECK(adam_ahead_create(&a, &m, 1, err) == 0);
    adam_ahead_free(&a);
    csr_free(&m);
}

void suite_adam_ahead(void) {
    RUN(test_counts_small);
    RUN(test_counts_across_words);
    RUN(test_steps_equal_stepwise);
    RUN(test_create_alloc_failures);
}

/* test_search.c - sampled searches and pruners: Sobol and random points
 * (known values, reproducibility, coverage and net properties), the
 * mapping of trials to the grid's distributions, the median and asha
 * decisions on synthetic curves with a known answer, and the peer query
 * that never reads a test column. */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "mem.h"
#include "pruner.h"
#include "sampler.h"
#include "search.h"
#include "test.h"

/* The plain sequence starts as every Sobol generator does (scipy's
 * Sobol(d=3, scramble=False)): 0, 1/2, then the Gray-code order. */
static void test_sobol_known_points(void) {
    static const double want[8][3] = {
        {0, 0, 0},           {0.5, 0.5, 0.5},     {0.75, 0.25, 0.25},
        {0.25, 0.75, 0.75},  {0.375, 0.375, 0.625}, {0.875, 0.875, 0.125},
        {0.625, 0.125, 0.875}, {0.125, 0.625, 0.375}};
    Sobol s;
    char err[ERR_MAX];
    double x[3];
    CHECK(sobol_init(&s, 3, 0, 0, err) == 0);
    for (int i = 0; i < 8; i++) {
        sobol_point(&s, (uint64_t)i, x);
        for (int d = 0; d < 3; d++)
            CHECK_MSG(x[d] == want[i][d], "point %d dim %d: %g, want %g", i,
                      d, x[d], want[i][d]);
    }
    CHECK(sobol_init(&s, SOBOL_MAX_DIMS + 1, 0, 0, err) == -1);
    CHECK(strstr(err, "sobol") != NULL);
}

/* Scrambled Sobol keeps the net properties: of the first 2^m points each
 * dimension has exactly one in every interval [k/2^m, (k+1)/2^m), and
 * dimensions 1 and 2 form a (0, m, 2)-net (every dyadic box of area 2^-m
 * holds one point), for several seeds; seeds give different points. */
static void test_sobol_scrambled_nets(void) {
    enum { M = 6, N = 1 << M, D = 8 };
    char err[ERR_MAX];
    double *x = mem_alloc(N * D * sizeof *x), *y = mem_alloc(N * D * sizeof *y);
    CHECK(x && y);
    if (!x || !y) { mem_free(x); mem_free(y); return; }
    for (uint64_t seed = 0; seed < 4; seed++) {
        CHECK(sampler_points(SAMPLER_SOBOL, seed, D, N, x, err) == 0);
        for (int d = 0; d < D; d++) {
            int count[N] = {0};
            for (int i = 0; i < N; i++) {
                double u = x[i * D + d];
                CHECK(u >= 0 && u < 1);
                count[(int)(u * N)]++;
            }
            for (int k = 0; k < N; k++)
                CHECK_MSG(count[k] == 1, "seed %d dim %d interval %d: %d "
                          "points", (int)seed, d, k, count[k]);
        }
        for (int a = 0; a <= M; a++) {
            int box[N] = {0}, b = M - a;
            for (int i = 0; i < N; i++) {
                int ix = (int)(x[i * D] * (1 << a));
                int iy = (int)(x[i * D + 1] * (1 << b));
                box[ix * (1 << b) + iy]++;
            }
            for (int k = 0; k < N; k++)
                CHECK_MSG(box[k] == 1, "seed %d boxes 2^-%d x 2^-%d: box %d "
                          "holds %d", (int)seed, a, b, k, box[k]);
        }
        if (seed > 0) {
            int same = 0;
            for (int i = 0; i < N * D; i++) same += x[i] == y[i];
            CHECK_MSG(same < N, "seeds %d and %d share %d coordinates",
                      (int)seed - 1, (int)seed, same);
        }
        memcpy(y, x, N * D * sizeof *x);
    }
    mem_free(x);
    mem_free(y);
}

/* Same seed, same trials (both samplers); trial i does not depend on the
 * number of trials; another seed gives other trials. */
static void test_sampler_reproducible(void) {
    enum { N = 64, D = 5 };
    char err[ERR_MAX];
    double a[N * D], b[N * D], c[8 * D];
    for (int k = SAMPLER_RANDOM; k <= SAMPLER_SOBOL; k++) {
        CHECK(sampler_points((SamplerKind)k, 42, D, N, a, err) == 0);
        CHECK(sampler_points((SamplerKind)k, 42, D, N, b, err) == 0);
        CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK(sampler_points((SamplerKind)k, 42, D, 8, c, err) == 0);
        CHECK(memcmp(a, c, sizeof c) == 0);
        CHECK(sampler_points((SamplerKind)k, 43, D, N, b, err) == 0);
        CHECK(memcmp(a, b, sizeof a) != 0);
    }
    CHECK(sampler_points(SAMPLER_GRID, 0, D, N, a, err) == -1);
}

/* Random points cover the cube: 4096 points, 16 bins per dimension, each
 * bin's count within 5 standard deviations of 256; mean near 1/2. */
static void test_random_coverage(void) {
    enum { N = 4096, D = 4, B = 16 };
    char err[ERR_MAX];
    double *x = mem_alloc(N * D * sizeof *x);
    CHECK(x != NULL);
    if (!x) return;
    CHECK(sampler_points(SAMPLER_RANDOM, 7, D, N, x, err) == 0);
    for (int d = 0; d < D; d++) {
        int bins[B] = {0};
        double mean = 0;
        for (int i = 0; i < N; i++) {
            double u = x[i * D + d];
            CHECK(u >= 0 && u < 1);
            bins[(int)(u * B)]++;
            mean += u / N;
        }
        double sd = sqrt(N * (1.0 / B) * (1 - 1.0 / B));
        for (int k = 0; k < B; k++)
            CHECK_MSG(fabs((double)(bins[k] - N / B)) < 5 * sd, "dim %d bin %d: %d", d,
                      k, bins[k]);
        CHECK_CLOSE(mean, 0.5, 0, 0.02);
    }
    mem_free(x);
}

/* The grid's distributions become trials: every value inside its range,
 * integers for int axes, log_uniform balanced around the geometric mean,
 * every choice drawn; the same config gives the same trials. */
static void test_search_sample_values(void) {
    static const char yaml[] =
        "search: {sampler: random, trials: 400, seed: 5}\n"
        "grid:\n"
        "  train.lr: {log_uniform: [0.0001, 0.01]}\n"
        "  model.dropout: {uniform: [0.2, 0.8]}\n"
        "  model.hidden: {int: [100, 200]}\n"
        "  train.epochs: {log_int: [10, 1000]}\n"
        "  model.activation.encoder: {choice: [sigmoid, elu, tanh]}\n";
    for (int k = 0; k < 2; k++) {
        Config c;
        Grid g, g2;
        char err[ERR_MAX];
        memset(&g, 0, sizeof g);
        memset(&g2, 0, sizeof g2);
        cfg_defaults(&c);
        if (k) c.search_sampler = SAMPLER_SOBOL;
        CHECK_MSG(cfg_load_string_grid(&c, &g, yaml, "t", err) == 0, "%s", err);
        if (k) c.search_sampler = SAMPLER_SOBOL;
        CHECK(g.axes[0].dist == AXIS_LOG_UNIFORM && g.axes[2].dist == AXIS_INT);
        CHECK(cfg_load_string_grid(&c, &g2, yaml, "t", err) == 0);
        CHECK_MSG(search_sample(&c, &g, err) == 0, "%s", err);
        CHECK(search_sample(&c, &g2, err) == 0);
        CHECK(g.zip && cfg_grid_size(&g) == 400);
        int below = 0, seen[3] = {0};
        for (int i = 0; i < 400; i++) {
            double lr = atof(g.axes[0].values[i]);
            double dr = atof(g.axes[1].values[i]);
            char *end;
            long h = strtol(g.axes[2].values[i], &end, 10);
            long e = atol(g.axes[3].values[i]);
            CHECK(lr >= 0.0001 && lr <= 0.01 && dr >= 0.2 && dr <= 0.8);
            CHECK(*end == '\0' && h >= 100 && h <= 200);
            CHECK(e >= 10 && e <= 1000);
            below += lr < 0.001;
            for (int v = 0; v < 3; v++)
                seen[v] += !strcmp(g.axes[4].values[i],
                                   (const char *[]){"sigmoid", "elu",
                                                    "tanh"}[v]);
            for (int a = 0; a < 5; a++)
                CHECK(!strcmp(g.axes[a].values[i], g2.axes[a].values[i]));
            Config p;
            CHECK_MSG(cfg_grid_point(&c, &g, (size_t)i, &p, err) == 0 &&
                      cfg_validate(&p, err) == 0, "%s", err);
        }
        CHECK_MSG(below > 160 && below < 240, "%d of 400 below 1e-3", below);
        CHECK(seen[0] > 80 && seen[1] > 80 && seen[2] > 80);
        cfg_grid_free(&g);
        cfg_grid_free(&g2);
    }
}

/* Distributions that do not fit: bad bounds, a real distribution on an
 * integer key, a range on a string key, an unknown name. */
static void test_search_bad_distributions(void) {
    static const char *const bad[][2] = {
        {"grid: {train.l2: {log_uniform: [0, 10]}}", "both > 0"},
        {"grid: {train.lr: {uniform: [0.01, 0.001]}}", "lo < hi"},
        {"grid: {model.hidden: {uniform: [10, 20]}}", "does not fit"},
        {"grid: {model.variant: {int: [1, 2]}}", "does not fit"},
        {"grid: {train.lr: {normal: [0, 1]}}", "expected a distribution"},
        {"grid: {train.lr: {uniform: [0.1]}}", "two numbers"},
        {"grid: {train.lr: {uniform: [0, 20]}}", "train.lr"},
        {"grid: {train.epochs: {int: [1, 2.5]}}", "not an integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Config c;
        Grid g;
        char err[ERR_MAX] = "";
        memset(&g, 0, sizeof g);
        cfg_defaults(&c);
        CHECK_MSG(cfg_load_string_grid(&c, &g, bad[i][0], "t", err) == -1 &&
                  strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
        cfg_grid_free(&g);
    }
}

/* Rungs: min_epochs * eta^k below train.epochs, at most `rungs` of them. */
static void test_pruner_rungs(void) {
    PrunerSpec p = {PRUNER_ASHA, 0, 1, 1, 3, 0, 100};
    int want[] = {1, 3, 9, 27, 81};
    for (int e = 1; e <= 100; e++) {
        int k = -1;
        for (int j = 0; j < 5; j++) if (want[j] == e) k = j;
        CHECK_MSG(pruner_rung(&p, e) == k, "epoch %d", e);
        CHECK(pruner_checks(&p, e) == (k >= 0));
    }
    p.rungs = 2;
    CHECK(pruner_rung(&p, 3) == 1 && pruner_rung(&p, 9) == -1);
    p.rungs = 0;
    p.epochs = 27;   /* the last epoch is never a rung */
    CHECK(pruner_rung(&p, 27) == -1 && pruner_rung(&p, 9) == 2);
    PrunerSpec m = {PRUNER_MEDIAN, 5, 3, 1, 3, 0, 20};
    CHECK(!pruner_checks(&m, 5) && pruner_checks(&m, 6) &&
          !pruner_checks(&m, 20));
}

/* Synthetic curves val_i(e) = a_i + 1/e (trial i's best by epoch e is its
 * value at e).  Nine trials reaching rung 0 (epoch 1) together, eta 3:
 * exactly the three with the lowest a_i go on.  Trials arriving one by
 * one, best first: the first goes on and every later one is pruned at
 * the first rung; worst first: each new one is the best so far and none
 * is pruned.  Median: known cut. */
static void test_pruner_known_curves(void) {
    PrunerSpec p = {PRUNER_ASHA, 0, 1, 1, 3, 0, 50};
    double a[9] = {0.95, 0.91, 0.99, 0.90, 0.97, 0.93, 0.92, 0.98, 0.96};
    char why[ERR_MAX];
    int kept = 0, keep_mask = 0;
    for (int i = 0; i < 9; i++) {
        double peers[8];
        int n = 0;
        for (int j = 0; j < 9; j++) if (j != i) peers[n++] = a[j] + 1.0;
        int pr = pruner_decide(&p, 1, a[i] + 1.0, peers, n, why);
        if (!pr) { kept++; keep_mask |= 1 << i; }
        else CHECK(strstr(why, "asha rung 0 (epoch 1)") != NULL);
    }
    CHECK_MSG(kept == 3 && keep_mask == ((1 << 1) | (1 << 3) | (1 << 6)),
              "kept %d mask %x", kept, keep_mask);
    /* best first, one at a time: at epoch 3 (rung 1) trial k sees 0..k-1 */
    double sorted[9] = {0.90, 0.91, 0.92, 0.93, 0.95, 0.96, 0.97, 0.98, 0.99};
    for (int k = 0; k < 9; k++) {
        double peers[9];
        for (int j = 0; j < k; j++) peers[j] = sorted[j] + 1.0 / 3;
        /* m = k + 1 trials, this one the worst: kept only when alone */
        CHECK(pruner_decide(&p, 3, sorted[k] + 1.0 / 3, peers, k, why) ==
              (k > 0));
    }
    for (int k = 0; k < 9; k++) {   /* worst first: never pruned */
        double peers[9];
        for (int j = 0; j < k; j++) peers[j] = sorted[8 - j] + 1.0 / 3;
        CHECK(pruner_decide(&p, 3, sorted[8 - k] + 1.0 / 3, peers, k, why)
              == 0);
    }
    CHECK(pruner_decide(&p, 2, 9.0, a, 9, why) == 0);   /* not a rung */
    PrunerSpec m = {PRUNER_MEDIAN, 2, 3, 1, 3, 0, 20};
    double peers[5] = {1.0, 2.0, 3.0, 4.0, 5.0};
    CHECK(pruner_decide(&m, 5, 3.5, peers, 5, why) == 1);
    CHECK(strstr(why, "median 3.0000 of the 5 other trials") != NULL);
    CHECK(pruner_decide(&m, 5, 3.0, peers, 5, why) == 0);   /* at the median */
    CHECK(pruner_decide(&m, 5, 2.6, peers, 4, why) == 1);   /* median 2.5 */
    CHECK(pruner_decide(&m, 2, 9.0, peers, 5, why) == 0);   /* warm-up */
    CHECK(pruner_decide(&m, 5, 9.0, peers, 2, why) == 0);   /* too few */
}

/* The peers a pruner sees: per other run of the experiment that recorded
 * the epoch, its best validation RMSE up to it.  Poisoning every test
 * column (test RMSE and MAE, best/final/selected test RMSE) changes
 * neither the values nor the decisions. */
static void test_pruner_ignores_test_metrics(void) {
    const char *dir = test_tmp_dir("search");
    char path[512], err[ERR_MAX];
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(path, sizeof path, "%s/p.db", dir);
    Db *db = NULL;
    Config c;
    cfg_defaults(&c);
    char *yaml = cfg_to_yaml(&c);
    DbRunInfo info = {&c, yaml, "h", 1, "sparse", "x", "b"};
    const char *hashes[6] = {"a", "b", "c", "d", "e", "f"};
    const char *params[6] = {"0", "1", "2", "3", "4", "5"};
    DbExperiment x = {"s-1", "s", "train.lr", "", 6, hashes, params};
    int64_t ids[6];
    CHECK_MSG(db_open(&db, path, err) == 0 &&
              db_experiment_register(db, &x, err) == 0, "%s", err);
    /* run r has val RMSE 1 + r/10 + 1/e for e = 1..(r + 2), and a test
     * RMSE that ranks the runs the other way round */
    for (int r = 0; r < 6 && db; r++) {
        CHECK(db_run_begin(db, &info, &ids[r], err) == 0);
        for (int e = 1; e <= r + 2; e++) {
            double v = 1 + r / 10.0 + 1.0 / e;
            DbEpoch ep = {e, 1.0, 3 - v, 0.1, 0.1, 1.0, 1, v, v, 1, .has_ema = 0};
            CHECK_MSG(db_epoch_add(db, ids[r], &ep, err) == 0, "%s", err);
        }
    }
    db_close(db);
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(path, &h) == SQLITE_OK);
    CHECK(sqlite3_exec(h, "UPDATE runs SET experiment = 's-1', grid_point = "
                          "id - 1", NULL, NULL, NULL) == SQLITE_OK);
    double before[2][8];
    int nb[2] = {0, 0};
    PrunerSpec p = {PRUNER_ASHA, 0, 1, 3, 3, 0, 50};
    int decide_before[6];
    for (int pass = 0; pass < 2; pass++) {
        CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
        double *v = NULL;
        int n = 0;
        /* epoch 3: runs 1..5 reached it; asked for run 0 (not a peer) */
        CHECK(db_peer_val_best(db, "s-1", ids[0], 3, &v, &n, err) == 0);
        CHECK_MSG(n == 5, "%d peers", n);
        for (int i = 0; i < n && i < 8; i++) {
            if (pass == 0) before[0][i] = v[i];
            else CHECK(v[i] == before[0][i]);
        }
        nb[pass] = n;
        for (int r = 1; r < 6; r++) {
            double *pv = NULL;
            int pn = 0;
            CHECK(db_peer_val_best(db, "s-1", ids[r], 3, &pv, &pn, err) == 0);
            double mine = 1 + r / 10.0 + 1.0 / 3;
            int d = pruner_decide(&p, 3, mine, pv, pn, err);
            if (pass == 0) decide_before[r] = d;
            else CHECK_MSG(d == decide_before[r], "run %d", r);
            mem_free(pv);
        }
        mem_free(v);
        db_close(db);
        db = NULL;
        if (pass == 0)   /* poison every test column */
            CHECK(sqlite3_exec(h, "UPDATE epochs SET test_rmse = 1e6 * "
                                  "random(), test_mae = -1e6; UPDATE runs SET "
                                  "best_test_rmse = 0, final_test_rmse = 0, "
                                  "selected_test_rmse = 0", NULL, NULL, NULL)
                  == SQLITE_OK);
    }
    CHECK(nb[0] == nb[1]);
    /* the known answer at epoch 3: runs 1..5, best values 1.4333 ...
     * 1.8333; with eta 3, the best floor(5 / 3) = 1 goes on: run 1 */
    for (int r = 1; r < 6; r++)
        CHECK_MSG(decide_before[r] == (r > 1), "run %d: %d", r,
                  decide_before[r]);
    sqlite3_close(h);
    mem_free(yaml);
    test_rm_tree(dir);
}

void suite_search(void) {
    RUN(test_sobol_known_points);
    RUN(test_sobol_scrambled_nets);
    RUN(test_sampler_reproducible);
    RUN(test_random_coverage);
    RUN(test_search_sample_values);
    RUN(test_search_bad_distributions);
    RUN(test_pruner_rungs);
    RUN(test_pruner_known_curves);
    RUN(test_pruner_ignores_test_metrics);
}

/* test_grid.c - tests of grid_plan.c (expansion, hashes, experiment ids,
 * the thread budget, the data check) and of the claim logic of db.c (two
 * connections interleaving, as two workers). */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "err.h"
#include "grid.h"
#include "mem.h"
#include "test.h"

static const char grid_yaml[] =
    "name: g\n"
    "model:\n  hidden: 20\n"
    "train:\n  epochs: 2\n  threads: 2\n"
    "grid:\n"
    "  model.hidden: [100, 300, 500]\n"
    "  train.lr: [0.001, 0.002]\n"
    "  train.weight_decay: [0, 1e-5]\n";

/* Loads grid_yaml (with extra appended) into a plan.  Returns 0/-1. */
static int make_plan(GridPlan *p, const char *yaml, char *err) {
    Config c;
    Grid g;
    memset(&g, 0, sizeof g);
    cfg_defaults(&c);
    if (cfg_load_string_grid(&c, &g, yaml, "t.yaml", err)) return -1;
    return grid_plan_make(p, &c, &g, err);
}

static void test_grid_expansion(void) {
    GridPlan p;
    Config c;
    char err[ERR_MAX];
    CHECK_MSG(make_plan(&p, grid_yaml, err) == 0, "%s", err);
    CHECK(p.n == 12);
    CHECK(strcmp(p.axes, "model.hidden,train.lr,train.weight_decay") == 0);
    /* the last axis varies fastest */
    CHECK(strcmp(p.params[0], "hidden=100 lr=0.001 weight_decay=0") == 0);
    CHECK(strcmp(p.params[1], "hidden=100 lr=0.001 weight_decay=1e-5") == 0);
    CHECK(strcmp(p.params[2], "hidden=100 lr=0.002 weight_decay=0") == 0);
    CHECK(strcmp(p.params[11], "hidden=500 lr=0.002 weight_decay=1e-5") == 0);
    CHECK(grid_plan_value(&p, 7, 0) == 1 && grid_plan_value(&p, 7, 1) == 1 &&
          grid_plan_value(&p, 7, 2) == 1);
    CHECK_MSG(grid_plan_point(&p, 7, 3, &c, err) == 0, "%s", err);
    CHECK(c.hidden == 300 && c.lr == 0.002 && c.weight_decay == 1e-5);
    CHECK(c.threads == 3 && c.epochs == 2);     /* worker threads applied */
    /* all hashes distinct, 16 hex digits */
    for (size_t i = 0; i < p.n; i++) {
        CHECK(strlen(p.hashes[i]) == 16 &&
              strspn(p.hashes[i], "0123456789abcdef") == 16);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(p.hashes[i], p.hashes[j]) != 0);
    }
    /* experiment id: name-12 hex digits */
    CHECK(strncmp(p.experiment, "g-", 2) == 0 && strlen(p.experiment) == 14);
    CHECK(strstr(p.yaml, "grid:\n  model.hidden: [100, 300, 500]\n") != NULL);
    CHECK(grid_plan_point(&p, 12, 1, &c, err) == -1);
    grid_plan_free(&p);
    grid_plan_free(&p);   /* idempotent on a zeroed plan */
}

static void test_grid_hash_stability(void) {
    GridPlan a, b, t, d;
    char err[ERR_MAX], h1[GRID_HASH_HEX], h2[GRID_HASH_HEX];
    Config c;
    CHECK_MSG(make_plan(&a, grid_yaml, err) == 0, "%s", err);
    CHECK_MSG(make_plan(&b, grid_yaml, err) == 0, "%s", err);
    /* the same file resolves to the same experiment and hashes */
    CHECK(strcmp(a.experiment, b.experiment) == 0);
    for (size_t i = 0; i < a.n; i++) CHECK(!strcmp(a.hashes[i], b.hashes[i]));
    /* train.threads is not part of the identity... */
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "%s", grid_yaml);
    char *th = strstr(yaml, "threads: 2");
    th[9] = '1';
    CHECK_MSG(make_plan(&t, yaml, err) == 0, "%s", err);
    CHECK(strcmp(a.experiment, t.experiment) == 0);
    CHECK(strcmp(a.hashes[5], t.hashes[5]) == 0);
    /* ...but any other key is */
    snprintf(yaml, sizeof yaml, "%s", grid_yaml);
    strstr(yaml, "epochs: 2")[8] = '3';
    CHECK_MSG(make_plan(&d, yaml, err) == 0, "%s", err);
    CHECK(strcmp(a.experiment, d.experiment) != 0);
    CHECK(strcmp(a.hashes[5], d.hashes[5]) != 0);
    /* the hash of a point equals the hash of the same config built by hand */
    cfg_defaults(&c);
    CHECK(cfg_load_string(&c, "name: g\nmodel:\n  hidden: 300\ntrain:\n  "
                          "epochs: 2\n  lr: 0.002\n  weight_decay: 1e-5\n",
                          "x", err) == 0);
    CHECK(grid_config_hash(&c, 0, h1, err) == 0);
    c.threads = 7;
    CHECK(grid_config_hash(&c, 0, h2, err) == 0);
    CHECK(strcmp(h1, h2) == 0 && strcmp(h1, a.hashes[7]) == 0);
    CHECK(grid_config_hash(&c, 1, h2, err) == 0 && strcmp(h1, h2) != 0);
    /* FNV-1a 64 reference values */
    CHECK(grid_fnv1a64("", 0, GRID_FNV_OFFSET) == 0xcbf29ce484222325ULL);
    CHECK(grid_fnv1a64("a", 1, GRID_FNV_OFFSET) == 0xaf63dc4c8601ec8cULL);
    grid_plan_free(&a);
    grid_plan_free(&b);
    grid_plan_free(&t);
    grid_plan_free(&d);
}

static void test_grid_invalid_points(void) {
    GridPlan p;
    Config c;
    Grid g;
    char err[ERR_MAX];
    memset(&g, 0, sizeof g);
    cfg_defaults(&c);
    /* a bad value fails at load, naming the key and the value */
    CHECK(cfg_load_string_grid(&c, &g, "grid:\n  train.lr: [0.1, -2]\n",
                               "bad.yaml", err) == -1);
    CHECK_MSG(strstr(err, "bad.yaml:2:") && strstr(err, "train.lr") &&
              strstr(err, "-2"), "%s", err);
    /* a point that fails cross-key validation fails the plan, naming it */
    CHECK(cfg_load_string_grid(&c, &g, "grid:\n  data.split.kind: [random, "
                               "files]\n", "x.yaml", err) == 0);
    CHECK(grid_plan_make(&p, &c, &g, err) == -1);
    CHECK_MSG(strstr(err, "grid point 2 of 2 (kind=files)") &&
              strstr(err, "data.split.train_file"), "%s", err);
    CHECK(g.naxes == 0);   /* ownership passed to the plan */
    grid_plan_free(&p);
    /* train.threads as an axis keeps its values */
    CHECK(cfg_load_string_grid(&c, &g, "grid:\n  train.threads: [1, 2]\n",
                               "x.yaml", err) == 0);
    CHECK_MSG(grid_plan_make(&p, &c, &g, err) == 0, "%s", err);
    CHECK(p.threads_axis == 1);
    CHECK(grid_plan_point(&p, 1, 9, &c, err) == 0 && c.threads == 2);
    CHECK(strcmp(p.hashes[0], p.hashes[1]) != 0);
    grid_plan_free(&p);
}

/* ------------------------------------------------------------- claims -- */

/* Registers experiment "e" with n points; hash of point i = "h<i>". */
static int reg(Db *db, int n, const char *suffix, char *err) {
    char hb[8][16], pb[8][16];
    const char *hashes[8], *params[8];
    for (int i = 0; i < n; i++) {
        snprintf(hb[i], 16, "h%d%s", i, i == 0 ? suffix : "");
        snprintf(pb[i], 16, "p=%d", i);
        hashes[i] = hb[i];
        params[i] = pb[i];
    }
    DbExperiment x = {"e", "exp", "model.hidden", "yaml", n, hashes, params};
    return db_experiment_register(db, &x, err);
}

static void test_claim_interleaved(void) {
    const char *dir = test_tmp_dir("gridtest");
    char path[512], err[ERR_MAX];
    Db *a = NULL, *b = NULL;
    DbClaim c;
    TestDesc d;
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(path, sizeof path, "%s/c.db", dir);
    CHECK_MSG(db_open(&a, path, err) == 0, "%s", err);
    CHECK_MSG(db_open(&b, path, err) == 0, "%s", err);
    if (!a || !b) goto out;
    CHECK(db_set_worker(a, "host:1/aaaa", err) == 0);
    CHECK(db_set_worker(b, "host:2/bbbb", err) == 0);   /* another command */
    CHECK_MSG(reg(a, 4, "", err) == 0, "%s", err);
    CHECK_MSG(reg(b, 4, "", err) == 0, "%s", err);      /* idempotent */

    /* heartbeat_at comes from SQLite's clock, which has millisecond
     * resolution: a session start a little in the past keeps a run ended
     * within the same millisecond from looking older than the session */
    double t0 = db_unix_now() - 0.01;
    DbClaimReq ra = {"e", 30, t0, 0, 0}, rb = {"e", 30, t0, 0, 0};
    int64_t run[4];
    CHECK(db_grid_claim(a, &ra, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 0 && c.attempts == 1 && c.previous[0] == '\0');
    run[0] = c.run_id;
    CHECK(db_grid_claim(b, &rb, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 1);
    run[1] = c.run_id;
    CHECK(db_grid_claim(a, &ra, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 2);
    run[2] = c.run_id;
    CHECK(db_grid_claim(b, &rb, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 3);
    run[3] = c.run_id;
    /* nothing left; the other command's points may still go stale */
    CHECK(db_grid_claim(a, &ra, test_describe, &d, &c, err) == DB_CLAIM_WAIT);
    CHECK(c.running_elsewhere == 2);

    sqlite3 *h = NULL;
    CHECK(sqlite3_open(path, &h) == SQLITE_OK);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE experiment='e' AND "
                   "status='running' AND grid_size=4") == 4);
    CHECK(test_sql_int(h, "SELECT hidden FROM runs WHERE grid_point=3") == 103);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE config_hash = 'h' || "
                   "grid_point") == 4);
    /* a duplicate row for a point is impossible */
    CHECK(sqlite3_exec(h, "INSERT INTO runs(name, status, started_at, "
                          "experiment, grid_point) VALUES('x', 'running', "
                          "'t', 'e', 2)", NULL, NULL, NULL) != SQLITE_OK);

    /* epochs; then point 0 finishes, 1 fails, 2 is finished, 3 diverges */
    DbEpoch ep = {1, 10, 1.0, 0.1, 0.1, NAN, 0, 0, 0, 0, .has_ema = 0};
    CHECK_MSG(db_epoch_add(a, run[0], &ep, err) == 0, "%s", err);
    CHECK_MSG(db_epoch_add(b, run[1], &ep, err) == 0, "%s", err);
    /* a worker cannot write into another worker's run */
    CHECK(db_epoch_add(a, run[1], &(DbEpoch){2, 1, 1, 0, 0, NAN, 0, 0, 0, 0, .has_ema = 0}, err) == -1);
    CHECK_MSG(strstr(err, "no longer holds the run"), "%s", err);
    CHECK(db_run_end(a, run[0], "finished", err) == 0);
    CHECK(db_run_end_msg(b, run[1], "failed", "bad data", err) == 0);
    CHECK(db_run_end(a, run[2], "finished", err) == 0);
    CHECK(db_run_end(b, run[3], "diverged", err) == 0);
    CHECK(db_run_end(a, run[3], "finished", err) == -1);   /* not a's */
    /* the failed point is not retried within the same session */
    CHECK(db_grid_claim(a, &ra, test_describe, &d, &c, err) == DB_CLAIM_DONE);
    CHECK(ra.settled_below == 1);   /* point 0 is final, point 1 is not */

    /* a new session retries it: same row, epochs cleared, attempts 2 */
    DbClaimReq rn = {"e", 30, db_unix_now() + 1, 0, 0};
    CHECK(db_grid_claim(a, &rn, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 1 && c.run_id == run[1] && c.attempts == 2 &&
          !strcmp(c.previous, "failed") &&
          !strcmp(c.previous_worker, "host:2/bbbb"));
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs WHERE run_id = (SELECT id "
                   "FROM runs WHERE grid_point = 1)") == 0);
    CHECK(test_sql_int(h, "SELECT attempts * 10 + epochs_done FROM runs WHERE "
                   "grid_point = 1 AND status = 'running' AND error IS NULL "
                   "AND best_test_rmse IS NULL AND worker = 'host:1/aaaa'")
          == 20);
    CHECK(db_grid_claim(b, &rb, test_describe, &d, &c, err) == DB_CLAIM_WAIT);

    /* a's heartbeat goes silent: b takes the point over as stale */
    CHECK(db_heartbeat(a, "host:1/aaaa", err) == 0);
    CHECK(db_grid_claim(b, &rb, test_describe, &d, &c, err) == DB_CLAIM_WAIT);
    CHECK(sqlite3_exec(h, "UPDATE runs SET heartbeat_at = heartbeat_at - 60 "
                          "WHERE grid_point = 1", NULL, NULL, NULL) ==
          SQLITE_OK);
    CHECK(db_grid_claim(b, &rb, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 1 && c.attempts == 3 && !strcmp(c.previous, "stale"));
    /* the old holder wakes up: its writes are refused */
    CHECK(db_epoch_add(a, run[1], &ep, err) == -1);
    CHECK_MSG(strstr(err, "taken over"), "%s", err);
    CHECK(db_run_end(a, run[1], "finished", err) == -1);
    CHECK(db_heartbeat(a, "host:1/aaaa", err) == 0);
    CHECK(test_sql_int(h, "SELECT worker = 'host:2/bbbb' FROM runs WHERE "
                   "grid_point = 1") == 1);
    /* db_worker_lost makes a run stale at once */
    CHECK(db_worker_lost(a, "host:2/bbbb", err) == 1);
    CHECK(db_grid_claim(a, &rn, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 1 && c.attempts == 4);
    CHECK(db_run_end(a, c.run_id, "finished", err) == 0);

    /* a changed config hash makes a finished point outdated */
    CHECK_MSG(reg(a, 4, "x", err) == 0, "%s", err);
    DbClaimReq rx = {"e", 30, db_unix_now(), 0, 0};
    CHECK(db_grid_claim(b, &rx, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 0 && !strcmp(c.previous, "outdated"));
    CHECK(test_sql_int(h, "SELECT config_hash = 'h0x' FROM runs WHERE "
                   "grid_point = 0") == 1);
    CHECK(db_run_end(b, c.run_id, "finished", err) == 0);
    CHECK(db_grid_claim(b, &rx, test_describe, &d, &c, err) == DB_CLAIM_DONE);

    /* one row per point, ever */
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs") == 4);
    CHECK(test_sql_int(h, "SELECT count(DISTINCT grid_point) FROM runs") == 4);
    CHECK(test_sql_int(h, "SELECT finished * 100 + diverged * 10 + pending FROM "
                   "grid_summary WHERE experiment = 'e'") == 310);
    sqlite3_close(h);
    /* claiming needs a worker id */
    CHECK(db_set_worker(a, NULL, err) == 0);
    CHECK(db_grid_claim(a, &ra, test_describe, &d, &c, err) == -1);
out:
    db_close(a);
    db_close(b);
    test_rm_tree(dir);
}

/* A claim limited to [settled_below, end) (autorec grid --point N) takes
 * only that point, and is done once it is final, whatever else is left. */
static void test_claim_one_point(void) {
    const char *dir = test_tmp_dir("gridpoint");
    char path[512], err[ERR_MAX];
    Db *a = NULL;
    DbClaim c;
    TestDesc d;
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(path, sizeof path, "%s/p.db", dir);
    CHECK_MSG(db_open(&a, path, err) == 0, "%s", err);
    if (!a) goto out;
    CHECK(db_set_worker(a, "host:1/aaaa", err) == 0);
    CHECK_MSG(reg(a, 4, "", err) == 0, "%s", err);
    DbClaimReq r = {"e", 30, db_unix_now(), 2, 3};
    CHECK(db_grid_claim(a, &r, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 2 && c.attempts == 1);
    int64_t run = c.run_id;
    /* running under this command: nothing to claim or wait for */
    CHECK(db_grid_claim(a, &r, test_describe, &d, &c, err) == DB_CLAIM_DONE);
    CHECK(db_run_end(a, run, "failed", err) == 0);
    /* a later session re-runs point 2 (same row), never points 0, 1, 3 */
    DbClaimReq r2 = {"e", 30, db_unix_now() + 1, 2, 3};
    CHECK(db_grid_claim(a, &r2, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 2 && c.attempts == 2 && !strcmp(c.previous, "failed"));
    CHECK(db_run_end(a, c.run_id, "finished", err) == 0);
    CHECK(db_grid_claim(a, &r2, test_describe, &d, &c, err) == DB_CLAIM_DONE);
    /* another command running point 1 is not waited for by point 3 */
    CHECK(db_set_worker(a, "host:2/bbbb", err) == 0);
    DbClaimReq r1 = {"e", 30, db_unix_now(), 1, 2};
    CHECK(db_grid_claim(a, &r1, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 1);
    CHECK(db_set_worker(a, "host:3/cccc", err) == 0);
    DbClaimReq r3 = {"e", 30, db_unix_now(), 3, 4};
    CHECK(db_grid_claim(a, &r3, test_describe, &d, &c, err) == DB_CLAIM_GOT);
    CHECK(c.point == 3);
    CHECK(db_run_end(a, c.run_id, "finished", err) == 0);
    CHECK(db_grid_claim(a, &r3, test_describe, &d, &c, err) == DB_CLAIM_DONE);
    /* but point 1 itself is waited for (it may go stale) */
    CHECK(db_grid_claim(a, &r1, test_describe, &d, &c, err) == DB_CLAIM_WAIT);
out:
    db_close(a);
    test_rm_tree(dir);
}

/* The thread budget: a point's threads are the worker's unless
 * train.threads is an axis; then the largest value counts, 0 (every core)
 * as `all`. */
static void test_grid_plan_threads(void) {
    GridPlan p;
    char err[ERR_MAX], yaml[1024];
    CHECK_MSG(make_plan(&p, grid_yaml, err) == 0, "%s", err);
    CHECK(grid_plan_threads(&p, 3, 64, err) == 3);
    grid_plan_free(&p);
    snprintf(yaml, sizeof yaml, "%s  train.threads: [1, 3, 2]\n", grid_yaml);
    CHECK_MSG(make_plan(&p, yaml, err) == 0, "%s", err);
    CHECK(p.threads_axis == 1);
    CHECK(grid_plan_threads(&p, 1, 64, err) == 3);
    CHECK(grid_plan_threads(&p, 8, 64, err) == 3);   /* the axis decides */
    grid_plan_free(&p);
    snprintf(yaml, sizeof yaml, "%s  train.threads: [1, 0]\n", grid_yaml);
    CHECK_MSG(make_plan(&p, yaml, err) == 0, "%s", err);
    CHECK(grid_plan_threads(&p, 1, 64, err) == 64);
    CHECK(grid_plan_threads(&p, 1, 2, err) == 2);
    grid_plan_free(&p);
}

/* The data check names the first point whose data.path is missing, and
 * passes when every path exists. */
static void test_grid_plan_check_data(void) {
    GridPlan p;
    char err[ERR_MAX], yaml[1024];
    const char *dir = test_tmp_dir("plandata");
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(yaml, sizeof yaml, "%s  data.path: [%s, %s/none]\n", grid_yaml,
             dir, dir);
    CHECK_MSG(make_plan(&p, yaml, err) == 0, "%s", err);
    CHECK(grid_plan_check_data(&p, err) == -1);
    CHECK_MSG(strstr(err, "data.path: '") && strstr(err, "/none' (grid point "
                                                         "2 of 24)"),
              "%s", err);
    grid_plan_free(&p);
    snprintf(yaml, sizeof yaml, "%s  data.path: [%s]\n", grid_yaml, dir);
    CHECK_MSG(make_plan(&p, yaml, err) == 0, "%s", err);
    CHECK_MSG(grid_plan_check_data(&p, err) == 0, "%s", err);
    grid_plan_free(&p);
    test_rm_tree(dir);
}

void suite_grid(void) {
    RUN(test_grid_plan_threads);
    RUN(test_grid_plan_check_data);
    RUN(test_grid_expansion);
    RUN(test_grid_hash_stability);
    RUN(test_grid_invalid_points);
    RUN(test_claim_interleaved);
    RUN(test_claim_one_point);
}

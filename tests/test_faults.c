/* test_faults.c - hostile inputs and faults at the library level: every
 * allocation failing in turn (config loading, data loading, the database
 * layer with SQLite's own allocations routed through mem.c, and a whole run),
 * divergence, and the inputs the "Failure behaviour" table of docs/failures.md lists.
 * The command-line side (exit codes, kills, locks, full disks) is in
 * tests/cli_faults.sh.
 *
 * Global mutable state: g_sqlite_saved, SQLite's allocator while the tests
 * route SQLite through mem.c (sqlite_use_mem). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "data.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "runner.h"
#include "test.h"

/* ------------------------------------------------------------ helpers -- */

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* A fresh temporary directory (static buffer, one at a time): in /dev/shm
 * when there is one (the allocation-failure loops open thousands of
 * databases), else in $TMPDIR or /tmp. */
static const char *tmp_dir(void) {
    static char dir[256];
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (access("/dev/shm", W_OK) == 0) base = "/dev/shm";
    snprintf(dir, sizeof dir, "%s/autorec-faults-XXXXXX", base);
    return mkdtemp(dir);
}

/* Removes the files named in a NULL-terminated list of suffixes of dir and
 * then dir itself (the tests create only a few known files). */
static void rm_dir(const char *dir, const char *const *names) {
    char p[512];
    for (; *names; names++) {
        snprintf(p, sizeof p, "%s/%s", dir, *names);
        unlink(p);
    }
    rmdir(dir);
}

static const char *const db_files[] = {"r.db", "r.db-wal", "r.db-shm",
                                       "r.db-journal", "u.data", "c.yaml",
                                       NULL};

/* Writes text to dir/name.  Returns 0 or -1. */
static int write_file(const char *dir, const char *name, const char *text,
                      size_t n) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* A small ML-100K style data set in dir/u.data: users x items, about a
 * third observed, ratings 1..5.  Returns 0 or -1. */
static int write_ratings(const char *dir, int users, int items) {
    size_t cap = (size_t)users * items * 32 + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) return -1;
    uint64_t s = 12345;
    for (int u = 1; u <= users; u++)
        for (int i = 1; i <= items; i++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            if ((s >> 33) % 3 != 0) continue;
            n += (size_t)snprintf(buf + n, cap - n, "%d\t%d\t%d\t%d\n", u, i,
                                  (int)(1 + (s >> 40) % 5), 880000000 + u);
        }
    int rc = write_file(dir, "u.data", buf, n);
    free(buf);
    return rc;
}

/* A config on dir's data: hidden 8, batch 4, `epochs` epochs. */
static void small_cfg(Config *c, const char *dir, int epochs) {
    cfg_defaults(c);
    snprintf(c->name, sizeof c->name, "faults");
    snprintf(c->data_path, sizeof c->data_path, "%s", dir);
    c->hidden = 8;
    c->batch_size = 4;
    c->epochs = epochs;
    c->lr = 0.01;
    c->threads = 2;
    c->seed = 5;
}

/* One integer from a query on a plain connection; INT64_MIN on error. */
static int64_t q_int(sqlite3 *h, const char *sql) {
    sqlite3_stmt *st = NULL;
    int64_t v = INT64_MIN;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Checks the database at path with a plain connection: integrity_check ok,
 * and every run's epochs numbered 1..k without gaps and finite.  Returns
 * the number of runs, or -1 (checks failed) . */
static int check_db_consistent(const char *path) {
    sqlite3 *h = NULL;
    char buf[64] = "";
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT) return 0;  /* not created */
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return -1;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) ==
            SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    int ok = strcmp(buf, "ok") == 0;
    CHECK_MSG(ok, "integrity_check of %s: %s", path, buf);
    int64_t tables = q_int(h, "SELECT count(*) FROM sqlite_master WHERE name "
                              "IN ('runs', 'epochs')");
    int64_t runs = 0;
    if (tables == 2) {
        runs = q_int(h, "SELECT count(*) FROM runs");
        int64_t gaps = q_int(h,
            "SELECT count(*) FROM runs r WHERE (SELECT count(*) FROM epochs e "
            "WHERE e.run_id = r.id) != coalesce((SELECT max(epoch) FROM "
            "epochs e WHERE e.run_id = r.id), 0)");
        int64_t nonfinite = q_int(h,
            "SELECT count(*) FROM epochs WHERE train_loss IS NULL OR "
            "test_rmse IS NULL OR abs(train_loss) > 1e308 OR "
            "abs(test_rmse) > 1e308");
        CHECK_MSG(gaps == 0, "%s: %lld runs with missing epochs", path,
                  (long long)gaps);
        CHECK_MSG(nonfinite == 0, "%s: non-finite epoch values", path);
        ok = ok && gaps == 0 && nonfinite == 0;
    } else {
        CHECK_MSG(tables == 0, "%s: half a schema (%lld tables)", path,
                  (long long)tables);
        ok = ok && tables == 0;
    }
    sqlite3_close(h);
    return ok ? (int)runs : -1;
}

/* The allocation to fail after the n-th: the next one, or, when
 * AUTOREC_OOM_STRIDE=S is set (tools/valgrind.sh, where every attempt is
 * slow), every S-th beyond the first 100.  By default every one is. */
static long oom_next(long n) {
    const char *s = getenv("AUTOREC_OOM_STRIDE");
    long stride = s ? atol(s) : 1;
    return n < 100 || stride < 1 ? n + 1 : n + stride;
}

/* ---- SQLite's allocations through mem.c (so mem_fail_at reaches them) -- */

static sqlite3_mem_methods g_sqlite_saved;

#define SQ_HDR 16   /* keeps SQLite's 8-byte alignment */

static void *sq_malloc(int n) {
    char *p = mem_alloc((size_t)n + SQ_HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    return p + SQ_HDR;
}
static void sq_free(void *p) {
    if (p) mem_free((char *)p - SQ_HDR);
}
static void *sq_realloc(void *p, int n) {
    char *q = mem_realloc((char *)p - SQ_HDR, (size_t)n + SQ_HDR);
    if (!q) return NULL;
    memcpy(q, &n, sizeof n);
    return q + SQ_HDR;
}
static int sq_size(void *p) {
    int n = 0;
    if (p) memcpy(&n, (char *)p - SQ_HDR, sizeof n);
    return n;
}
static int sq_roundup(int n) { return (n + 7) & ~7; }
static int sq_init(void *ctx) { (void)ctx; return SQLITE_OK; }
static void sq_shutdown(void *ctx) { (void)ctx; }

/* Routes SQLite's allocations through mem.c (on = 1) or back to SQLite's
 * default allocator (on = 0).  No connection may be open.  Returns 0 or -1. */
int sqlite_use_mem(int on) {
    static const sqlite3_mem_methods mine = {
        sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup, sq_init,
        sq_shutdown, NULL};
    if (sqlite3_shutdown() != SQLITE_OK) return -1;
    if (on && sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_sqlite_saved) != SQLITE_OK)
        return -1;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, on ? &mine : &g_sqlite_saved) !=
        SQLITE_OK)
        return -1;
    return sqlite3_initialize() == SQLITE_OK ? 0 : -1;
}

/* --------------------------------------------- allocation failures -- */

/* Config loading (file, grid, --set, resolved YAML) with the n-th
 * allocation failing, for n = 1, 2, ... until the whole sequence
 * completes. */
static void test_oom_config_loading(void) {
    const char *dir = tmp_dir();
    CHECK(dir != NULL);
    if (!dir) return;
    static const char yaml[] =
        "name: g\ndata:\n  path: d\n  split: {kind: random, test_ratio: 0.2}\n"
        "model: {hidden: 30}\ntrain:\n  epochs: 2\n  lr: 1e-3\n"
        "grid:\n  model.hidden: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n"
        "  train.lr: [0.1, 0.2, 0.3]\n  name: [a, b]\n";
    CHECK(write_file(dir, "c.yaml", yaml, sizeof yaml - 1) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/c.yaml", dir);
    int done = 0, failures = 0;
    for (long n = 1; n < 10000 && !done; n = oom_next(n)) {
        Config c, before, p;
        Grid g;
        char err[ERR_MAX] = "";
        char *y = NULL;
        cfg_defaults(&c);
        before = c;
        memset(&g, 0, sizeof g);
        mem_fail_at(n);
        int rc = cfg_load_file_grid(&c, &g, path, err);
        if (rc == 0) rc = cfg_set_override(&c, "train.seed=9", err);
        if (rc == 0) rc = cfg_grid_point(&c, &g, 71, &p, err);
        if (rc == 0 && !(y = cfg_to_yaml(&p)))
            rc = err_set(err, "cfg_to_yaml: out of memory");
        long used = mem_alloc_count();
        mem_fail_at(0);
        if (rc == 0) {
            /* done once no allocation was failed: every one has been */
            done = n > used;
            CHECK(cfg_grid_size(&g) == 72 && p.hidden == 12 && p.seed == 9);
            CHECK(y && has(y, "name: \"b\""));
        } else {
            failures++;
            CHECK_MSG(has(err, "memory"), "n=%ld: %s", n, err);
            if (g.naxes == 0)
                CHECK(c.hidden == before.hidden); /* failed load: unchanged */
            if (!has(err, "memory")) done = -1;
        }
        mem_free(y);
        cfg_grid_free(&g);
    }
    CHECK(done == 1);
    CHECK_MSG(failures >= 10, "only %d allocations", failures);
    const char *names[] = {"c.yaml", NULL};
    rm_dir(dir, names);
}

/* Loads cfg's data with the n-th allocation failing, n = 1, 2, ... until a
 * load fails no allocation (a load may survive a failed optional one);
 * every failure must be a clean "out of memory" with *ds zeroed.  Returns
 * the number of failures, or -1 after the first wrong one. */
static int oom_data_loop(const Config *c, const char *text, size_t len) {
    int failures = 0;
    for (long n = 1; n < 100000; n = oom_next(n)) {
        Dataset ds;
        char err[ERR_MAX] = "";
        mem_fail_at(n);
        int rc = text ? data_parse_buffer(c, text, len, "buf", &ds, err)
                      : data_load(c, &ds, err);
        long used = mem_alloc_count();
        mem_fail_at(0);
        if (rc == 0) {
            CHECK(ds.n_train > 0 && ds.n_test > 0);
            data_free(&ds);
            if (n > used) return failures;
            continue;
        }
        failures++;
        CHECK_MSG(rc == -1 && has(err, "out of memory"), "n=%ld: %s", n, err);
        CHECK(!ds.train && !ds.test && !ds.user_ids && !ds.item_ids);
        if (!has(err, "out of memory")) return -1;
    }
    return -1;
}

static void test_oom_data_loading(void) {
    const char *dir = tmp_dir();
    CHECK(dir != NULL);
    if (!dir) return;
    Config c;
    CHECK(write_ratings(dir, 50, 300) == 0);   /* ~5000 ratings: growth */
    small_cfg(&c, dir, 1);
    int k = oom_data_loop(&c, NULL, 0);
    CHECK_MSG(k >= 5, "ml-100k file: %d", k);
    /* kind files, ml-1m, CRLF */
    static const char train[] = "1::1::5::1\r\n2::1::3::1\r\n2::2::4::1\r\n";
    static const char test[] = "1::2::2::1\r\n3::3::1::1";
    CHECK(write_file(dir, "r.db", train, sizeof train - 1) == 0);
    CHECK(write_file(dir, "r.db-wal", test, sizeof test - 1) == 0);
    c.data_format = DATA_ML1M;
    c.split_kind = SPLIT_FILES;
    snprintf(c.train_file, sizeof c.train_file, "r.db");
    snprintf(c.test_file, sizeof c.test_file, "r.db-wal");
    k = oom_data_loop(&c, NULL, 0);
    CHECK_MSG(k >= 4, "files split: %d", k);
    /* csv: sparse ids (lookup table and binary search), from a buffer */
    static const char csv[] = "userId,movieId,rating,timestamp\n"
                              "10,5,1,1\n3,5,2,1\n3,7,4.5,1\n2147483647,9,1,1\n"
                              "9,2147483646,3,1\n10,7,2,1\n";
    cfg_defaults(&c);
    c.data_format = DATA_CSV;
    c.test_ratio = 0.5;
    c.seed = 3;
    k = oom_data_loop(&c, csv, sizeof csv - 1);
    CHECK_MSG(k >= 4, "csv buffer: %d", k);
    rm_dir(dir, db_files);
}

/* The database layer, SQLite's allocations included: on a new file, open
 * (creating the schema), begin a run, two epochs, end it, with the n-th
 * allocation failing, n = 1, 2, ... until it completes.  After every attempt
 * the file must pass integrity_check with whole epochs only.  (Reopening an
 * existing database is covered by test_oom_whole_run.) */
static void test_oom_db_layer(void) {
    const char *dir = tmp_dir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512];
    snprintf(path, sizeof path, "%s/r.db", dir);
    Config cfg;
    small_cfg(&cfg, dir, 2);
    DbRunInfo info = {.cfg = &cfg, .config_yaml = "name: faults\n",
                      .host = "host", .threads = 2, .kernel = "dense",
                      .git_commit = "abc", .blis_info = "blis"};
    CHECK(sqlite_use_mem(1) == 0);
    int done = 0, failures = 0;
    for (long n = 1; n < 100000 && !done; n = oom_next(n)) {
        char err[ERR_MAX] = "";
        Db *db = NULL;
        int64_t run = -1;
        rm_dir(dir, db_files);
        CHECK(mkdir(dir, 0700) == 0);
        mem_fail_at(n);
        int rc = db_open(&db, path, err);
        if (rc == 0) rc = db_run_begin(db, &info, &run, err);
        for (int e = 1; rc == 0 && e <= 2; e++) {
            DbEpoch ep = {.epoch = e, .train_loss = 10.0 / e,
                          .test_rmse = 1.0 + 0.1 / e, .train_seconds = 0.01,
                          .eval_seconds = 0.01};
            rc = db_epoch_add(db, run, &ep, err);
        }
        if (rc == 0) rc = db_run_end(db, run, "finished", err);
        long used = mem_alloc_count();
        if (db && rc != 0 && run >= 0) {
            /* as run.c does: try to mark the run failed (may fail too) */
            char err2[ERR_MAX];
            (void)db_run_end(db, run, "failed", err2);
        }
        db_close(db);
        mem_fail_at(0);
        if (rc == 0) {
            done = n > used;   /* else SQLite survived a failure */
        } else {
            failures++;
            CHECK_MSG(has(err, "memory"), "n=%ld: %s", n, err);
            if (!has(err, "memory")) break;
        }
        int runs = check_db_consistent(path);
        CHECK_MSG(runs >= 0, "n=%ld", n);
        if (runs < 0) break;
    }
    CHECK(done);
    CHECK(sqlite_use_mem(0) == 0);
    CHECK_MSG(failures >= 50, "only %d failed allocations", failures);
    /* the completed run has both epochs */
    sqlite3 *h = NULL;
    CHECK(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(q_int(h, "SELECT count(*) FROM runs WHERE status = 'finished'") >= 1);
    CHECK(q_int(h, "SELECT count(*) FROM epochs e JOIN runs r ON r.id = "
                   "e.run_id WHERE r.status = 'finished'") ==
          2 * q_int(h, "SELECT count(*) FROM runs WHERE status = 'finished'"));
    sqlite3_close(h);
    rm_dir(dir, db_files);
}

/* A whole `autorec run` without the command line: config file, data,
 * trainer, database, two epochs, end of run; the n-th allocation fails,
 * n = 1, 2, ... (SQLite's included) until a run completes. */
static void test_oom_whole_run(void) {
    const char *dir = tmp_dir();
    CHECK(dir != NULL);
    if (!dir) return;
    CHECK(write_ratings(dir, 12, 20) == 0);
    char yaml[1024], cpath[512], dbpath[512];
    snprintf(yaml, sizeof yaml, "name: oom\ndata: {path: %s}\nmodel: {hidden: "
             "6}\ntrain: {epochs: 2, batch_size: 4, threads: 2, kernel: "
             "auto}\n", dir);
    CHECK(write_file(dir, "c.yaml", yaml, strlen(yaml)) == 0);
    snprintf(cpath, sizeof cpath, "%s/c.yaml", dir);
    snprintf(dbpath, sizeof dbpath, "%s/r.db", dir);
    CHECK(sqlite_use_mem(1) == 0);
    int done = 0, failures = 0;
    for (long n = 1; n < 100000 && !done; n = oom_next(n)) {
        Config cfg;
        Runner r;
        Db *db = NULL;
        int64_t run = -1;
        char err[ERR_MAX] = "";
        RunOutcome out;
        memset(&r, 0, sizeof r);
        cfg_defaults(&cfg);
        mem_fail_at(n);
        int rc = cfg_load_file(&cfg, cpath, err);
        if (rc == 0) rc = runner_prepare(&r, &cfg, err);
        if (rc == 0) rc = db_open(&db, dbpath, err);
        if (rc == 0) {
            DbRunInfo info;
            runner_info(&r, &info);
            rc = db_run_begin(db, &info, &run, err);
        }
        if (rc == 0) {
            RunStatus st = runner_train(&r, db, run, NULL, &out, err);
            rc = st == RUN_FINISHED ? 0 : -1;
            CHECK_MSG(st == RUN_FINISHED || st == RUN_FAILED, "n=%ld: %d",
                      n, (int)st);
            char err2[ERR_MAX];
            if (db_run_end(db, run, runner_status_name(st), rc ? err2 : err))
                rc = -1;
        }
        long used = mem_alloc_count();
        db_close(db);
        runner_free(&r);
        mem_fail_at(0);
        if (rc == 0) {
            done = n > used;   /* else a failure was survived */
            CHECK(out.epochs_done == 2);
        } else {
            failures++;
            CHECK_MSG(has(err, "memory"), "n=%ld: %s", n, err);
            if (!has(err, "memory")) break;
        }
        /* what the failed attempts left is consistent and stays readable */
        int runs = check_db_consistent(dbpath);
        CHECK_MSG(runs >= 0, "n=%ld", n);
        if (runs < 0) break;
    }
    CHECK(sqlite_use_mem(0) == 0);
    CHECK(done);
    CHECK_MSG(failures >= 50, "only %d failed allocations", failures);
    CHECK(check_db_consistent(dbpath) >= 1);
    rm_dir(dir, db_files);
}

/* ---------------------------------------------------------- divergence -- */

typedef struct {
    Runner *r;
    int poison_after;   /* epoch after which the parameters become NaN */
} Poison;

static void poison_on_epoch(void *ctx, const DbEpoch *e, int epochs) {
    Poison *p = ctx;
    (void)epochs;
    if (e->epoch != p->poison_after) return;
    Model *m = &p->r->trainer.model;
    for (size_t i = 0; i < m->num_params; i++) m->mem[i] = NAN;
}

/* A run whose parameters turn NaN after epoch 2 stops at epoch 3 with
 * RUN_DIVERGED, the message names epoch 3, and only the two finite epochs
 * are in the database. */
static void test_divergence_recorded(void) {
    const char *dir = tmp_dir();
    CHECK(dir != NULL);
    if (!dir) return;
    CHECK(write_ratings(dir, 20, 30) == 0);
    char dbpath[512], err[ERR_MAX] = "";
    snprintf(dbpath, sizeof dbpath, "%s/r.db", dir);
    const char *kernels[] = {"dense", "sparse"};
    for (int k = 0; k < 2; k++) {
        Config cfg;
        Runner r;
        Db *db = NULL;
        int64_t run = -1;
        RunOutcome out;
        small_cfg(&cfg, dir, 6);
        CHECK(cfg_set_key(&cfg, "train.kernel", kernels[k], NULL, err) == 0);
        CHECK_MSG(runner_prepare(&r, &cfg, err) == 0, "%s", err);
        CHECK_MSG(db_open(&db, dbpath, err) == 0, "%s", err);
        if (!db) { runner_free(&r); break; }
        DbRunInfo info;
        runner_info(&r, &info);
        CHECK(db_run_begin(db, &info, &run, err) == 0);
        Poison p = {&r, 2};
        RunHooks hooks = {.on_epoch = poison_on_epoch, .ctx = &p};
        err[0] = '\0';
        RunStatus st = runner_train(&r, db, run, &hooks, &out, err);
        CHECK_MSG(st == RUN_DIVERGED, "%s kernel: status %d", kernels[k], (int)st);
        CHECK_MSG(has(err, "diverged at epoch 3"), "%s", err);
        CHECK(out.epochs_done == 2 && isfinite(out.final_rmse));
        CHECK(db_run_end(db, run, runner_status_name(st), err) == 0);
        db_close(db);
        runner_free(&r);
        sqlite3 *h = NULL;
        CHECK(sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM epochs WHERE run_id = "
                 "%lld", (long long)run);
        CHECK(q_int(h, sql) == 2);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE id = %lld "
                 "AND status = 'diverged' AND final_test_rmse IS NOT NULL AND "
                 "best_epoch BETWEEN 1 AND 2", (long long)run);
        CHECK(q_int(h, sql) == 1);
        sqlite3_close(h);
    }
    CHECK(check_db_consistent(dbpath) == 2);
    rm_dir(dir, db_files);
}

/* ------------------------------------------------------ hostile config -- */

/* Returns 1 when two configs have the same resolved YAML (every key). */
static int same_cfg(const Config *a, const Config *b) {
    char *ya = cfg_to_yaml(a), *yb = cfg_to_yaml(b);
    int same = ya && yb && strcmp(ya, yb) == 0;
    mem_free(ya);
    mem_free(yb);
    return same;
}

/* Expects `--set assignment` to be refused with a message holding frag. */
static void expect_set_error(const char *assignment, const char *frag) {
    Config c, before;
    char err[ERR_MAX] = "";
    cfg_defaults(&c);
    before = c;
    CHECK_MSG(cfg_set_override(&c, assignment, err) == -1, "accepted %s",
              assignment);
    CHECK_MSG(has(err, frag), "--set %s: want '%s' in: %s", assignment, frag,
              err);
    CHECK(same_cfg(&c, &before));
}

/* NaN, infinities, negatives, zero and values that only break after
 * rounding to single precision, for every numeric key where they make no
 * sense. */
static void test_config_meaningless_numbers(void) {
    static const struct { const char *key, *bad[8]; } cases[] = {
        {"train.lr", {"nan", "inf", "-1", "0", "1e-50", "10.5", "-.inf", NULL}},
        {"model.hidden", {"0", "-3", "1e9", "2.5", "nan", "99999999999999999999", NULL}},
        {"train.batch_size", {"0", "-1", "inf", "1.5", NULL}},
        {"train.epochs", {"0", "-1", "1e400", ".inf", NULL}},
        {"data.split.test_ratio", {"0", "1", "-0.1", "1.5", "nan", NULL}},
        {"model.dropout", {"1", "1.0", "-0.1", "0.99999999", "nan", NULL}},
        {"train.weight_decay", {"-1e-9", "1e39", "inf", "nan", NULL}},
        {"train.threads", {"-1", "4097", "x", NULL}},
        {"train.seed", {"-1", "9223372036854775808", "1.5", NULL}},
    };
    char a[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int j = 0; cases[i].bad[j]; j++) {
            snprintf(a, sizeof a, "%s=%s", cases[i].key, cases[i].bad[j]);
            expect_set_error(a, cases[i].key);
        }
    /* the values that only fail in single precision say so */
    expect_set_error("model.dropout=0.99999999", "rounds to 1");
    expect_set_error("train.lr=1e-50", "rounds to 0");
    expect_set_error("train.weight_decay=1e39", "single precision");
    /* hidden = 10^9 is refused with the memory it would take */
    expect_set_error("model.hidden=1000000000", "GB for each user");
    /* empty values, every key */
    static const char *const all[] = {
        "name", "data.path", "data.format", "data.split.kind",
        "data.split.test_ratio", "model.hidden", "model.dropout",
        "train.epochs", "train.batch_size", "train.lr", "train.weight_decay",
        "train.seed", "train.threads", "train.kernel"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        snprintf(a, sizeof a, "%s=", all[i]);
        expect_set_error(a, "empty value");
    }
    /* values in range after rounding are kept exactly */
    Config c;
    char err[ERR_MAX];
    cfg_defaults(&c);
    CHECK(cfg_set_override(&c, "model.dropout=0.9999", err) == 0);
    CHECK(cfg_set_override(&c, "train.weight_decay=3e38", err) == 0);
    CHECK(cfg_set_override(&c, "train.lr=1e-30", err) == 0);
    CHECK(c.dropout == 0.9999 && c.weight_decay == 3e38 && c.lr == 1e-30);
    CHECK(cfg_validate(&c, err) == 0);
    c.dropout = 0.99999999;   /* set directly: cfg_validate refuses it too */
    CHECK(cfg_validate(&c, err) == -1 && has(err, "model.dropout"));
}

/* Strings must be UTF-8 without control characters (the resolved config is
 * stored as YAML); the stored YAML is ASCII and reads back exactly.  Found
 * by fuzz_set (tests/fuzz/regressions/set/path-invalid-utf8). */
static void test_config_strings_utf8(void) {
    expect_set_error("data.path=x\xe1", "not valid UTF-8 (byte 0xE1 at offset 1)");
    expect_set_error("data.path=\xc0\xaf", "not valid UTF-8");        /* overlong */
    expect_set_error("data.path=\xed\xa0\x80", "not valid UTF-8");   /* surrogate */
    expect_set_error("data.path=\xf4\x90\x80\x80", "not valid UTF-8"); /* > U+10FFFF */
    expect_set_error("data.path=\xfa\x9c\x99", "not valid UTF-8 (byte 0xFA"); /* 5-byte lead */
    expect_set_error("data.path=\x9c", "not valid UTF-8");             /* lone trailer */
    expect_set_error("data.path=a\xc2\x85" "b", "control character U+0085");
    expect_set_error("name=caf\xc3\xa9", "non-ASCII");
    Config c, back;
    char err[ERR_MAX] = "";
    cfg_defaults(&c);
    CHECK(cfg_set_override(&c, "data.path=/d/caf\xc3\xa9/\xe2\x80\xa8/\xf0\x9f\x98\x80",
                           err) == 0);
    char *y = cfg_to_yaml(&c);
    CHECK(y != NULL);
    if (!y) return;
    CHECK_MSG(has(y, "path: \"/d/caf\\u00E9/\\u2028/\\U0001F600\""), "%s", y);
    for (const char *p = y; *p; p++) CHECK((unsigned char)*p < 0x80);
    cfg_defaults(&back);
    CHECK_MSG(cfg_load_string(&back, y, "y.yaml", err) == 0, "%s", err);
    CHECK(strcmp(back.data_path, c.data_path) == 0);
    mem_free(y);
}

/* Expects loading yaml (as "h.yaml") to fail with frag1 and frag2. */
static void expect_yaml_error(const char *yaml, size_t len, const char *frag1,
                              const char *frag2) {
    Config c, before;
    Grid g;
    char err[ERR_MAX] = "";
    cfg_defaults(&c);
    before = c;
    memset(&g, 0, sizeof g);
    CHECK_MSG(cfg_load_buffer(&c, &g, yaml, len, "h.yaml", err) == -1,
              "accepted: %.60s", yaml);
    CHECK_MSG(has(err, frag1), "want '%s' in: %s", frag1, err);
    if (frag2) CHECK_MSG(has(err, frag2), "want '%s' in: %s", frag2, err);
    CHECK(same_cfg(&c, &before) && g.naxes == 0);
}

/* Structural attacks on the YAML loader. */
static void test_config_hostile_yaml(void) {
    /* billion laughs: refused at the first anchor, nothing expanded */
    static const char laughs[] =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
    mem_fail_at(0);
    expect_yaml_error(laughs, sizeof laughs - 1, "h.yaml:1:", "unknown key");
    static const char laughs2[] = "name: &a x\ntrain: *a\n";
    expect_yaml_error(laughs2, sizeof laughs2 - 1, "h.yaml:1:7:", "anchors");
    static const char laughs3[] = "grid:\n  model.hidden: &x [1, 2]\n"
                                  "  train.epochs: *x\n";
    expect_yaml_error(laughs3, sizeof laughs3 - 1, "h.yaml:2:17:", "anchors");
    static const char merge[] = "train:\n  <<: {lr: 0.1}\n";
    expect_yaml_error(merge, sizeof merge - 1, "h.yaml:2:3:", "unknown key");
    static const char tag[] = "train:\n  lr: !!float 0.1\n";
    expect_yaml_error(tag, sizeof tag - 1, "h.yaml:2:7:", "tags");
    /* libyaml's own problems, with file:line:column */
    static const char unclosed[] = "name: x\ntrain: {lr: 0.1\n";
    expect_yaml_error(unclosed, sizeof unclosed - 1, "h.yaml:3:1:", NULL);
    static const char tabs[] = "train:\n\tlr: 0.1\n";
    expect_yaml_error(tabs, sizeof tabs - 1, "h.yaml:2:1:",
                      "cannot start any token");
    /* a NUL byte, invalid UTF-8, a lone surrogate escape */
    static const char nul[] = "name: a\0b\n";
    expect_yaml_error(nul, sizeof nul - 1, "h.yaml:1:", NULL);
    static const char utf[] = "name: \xff\xfe\n";
    expect_yaml_error(utf, sizeof utf - 1, "h.yaml:1:", "UTF-8");
    static const char dq[] = "name: \"\\x00\"\n";
    expect_yaml_error(dq, sizeof dq - 1, "h.yaml:1:7:", "NUL");
    /* deep nesting is refused at its first level, without recursion */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 16);
    CHECK(deep != NULL);
    if (deep) {
        size_t n = 0;
        n += (size_t)sprintf(deep, "train: ");
        for (size_t i = 0; i < depth; i++) deep[n++] = '[';
        for (size_t i = 0; i < depth; i++) deep[n++] = ']';
        deep[n++] = '\n';
        expect_yaml_error(deep, n, "h.yaml:1:8:", "mapping");
        free(deep);
    }
    /* keys: duplicate, unknown, wrong type, empty grid list */
    static const char dup[] = "model:\n  hidden: 3\n  hidden: 4\n";
    expect_yaml_error(dup, sizeof dup - 1, "h.yaml:3:3:", "duplicate key");
    static const char dup2[] = "model: {hidden: 3}\nmodel: {dropout: 0}\n";
    expect_yaml_error(dup2, sizeof dup2 - 1, "h.yaml:2:1:", "duplicate key");
    static const char type[] = "train:\n  epochs: [1, 2]\n";
    expect_yaml_error(type, sizeof type - 1, "h.yaml:2:11:", "single value");
    static const char empty_grid[] = "grid:\n  train.lr: []\n";
    expect_yaml_error(empty_grid, sizeof empty_grid - 1, "h.yaml:2:3:",
                      "empty");
}

/* A 100 MB config is refused without being read; an endless stream stops
 * at the 1 MiB limit. */
static void test_config_huge_inputs(void) {
    const char *dir = tmp_dir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512], err[ERR_MAX] = "";
    snprintf(path, sizeof path, "%s/c.yaml", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {   /* sparse: 100 MB long, no disk used */
        CHECK(fseek(f, 100L * 1000 * 1000 - 1, SEEK_SET) == 0);
        CHECK(fputc('\n', f) == '\n');
        fclose(f);
    }
    Config c;
    cfg_defaults(&c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mem_fail_at(0);
    CHECK(cfg_load_file(&c, path, err) == -1);
    long allocs = mem_alloc_count();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_MSG(has(err, "100000000 bytes") && has(err, "1 MiB"), "%s", err);
    CHECK_MSG(allocs == 0, "%ld allocations before refusing", allocs);
    CHECK((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9 < 1.0);
    /* not a regular file: read in chunks, refused past 1 MiB */
    mem_fail_at(0);
    CHECK(cfg_load_file(&c, "/dev/zero", err) == -1);
    CHECK_MSG(has(err, "/dev/zero") && has(err, "1 MiB"), "%s", err);
    CHECK_MSG(mem_alloc_count() < 20, "%ld allocations", mem_alloc_count());
    const char *names[] = {"c.yaml", NULL};
    rm_dir(dir, names);
}

/* -------------------------------------------------------- hostile data -- */

/* Expects the ratings text (format f) to be refused, the message holding
 * frag1 and frag2. */
static void expect_data_error(DataFormat f, const char *text, const char *frag1,
                              const char *frag2) {
    Config c;
    Dataset ds;
    char err[ERR_MAX] = "";
    cfg_defaults(&c);
    c.data_format = f;
    c.test_ratio = 0.5;
    CHECK_MSG(data_parse_buffer(&c, text, strlen(text), "r.txt", &ds, err) == -1,
              "accepted: %s", text);
    CHECK_MSG(has(err, frag1), "want '%s' in: %s", frag1, err);
    if (frag2) CHECK_MSG(has(err, frag2), "want '%s' in: %s", frag2, err);
    CHECK(!ds.train && !ds.user_ids);
}

static void test_data_hostile(void) {
    expect_data_error(DATA_ML100K, "", "r.txt: no ratings", "empty");
    expect_data_error(DATA_CSV, "userId,movieId,rating,timestamp\n",
                      "r.txt: no ratings", "only a header");
    expect_data_error(DATA_ML100K, "1,1,5,1\n", "r.txt:1:", "format csv?");
    expect_data_error(DATA_ML100K, "1::1::5::1\n", "r.txt:1:", "format ml-1m?");
    expect_data_error(DATA_ML1M, "1\t1\t5\t1\n", "r.txt:1:", "format ml-100k?");
    expect_data_error(DATA_ML100K, "1 1 5 1\n", "r.txt:1:", "found 1 field");
    expect_data_error(DATA_ML100K, "1\t1\t5\t1\n2\tx\t5\t1\n", "r.txt:2:",
                      "item id 'x'");
    expect_data_error(DATA_ML100K, "1\t1\t5\t1\n2\t1\t5e0\t1\n", "r.txt:2:",
                      "not a number");
    expect_data_error(DATA_ML100K, "1\t1\tnan\t1\n", "r.txt:1:", "not a number");
    expect_data_error(DATA_ML100K, "1\t1\t0\t1\n", "r.txt:1:", "outside (0, 10]");
    /* found by fuzz_data (tests/fuzz/regressions/data/rating-rounds-to-zero):
     * positive as a double, 0 ("not rated") as a float */
    expect_data_error(DATA_ML100K, "1\t1\t0.000000000000000000000000000000000000000000000001\t1\n",
                      "r.txt:1:", "rounds to 0 in single precision");
    expect_data_error(DATA_ML100K, "1\t1\t10.5\t1\n", "r.txt:1:", "outside");
    expect_data_error(DATA_ML100K, "1\t1\t-1\t1\n", "r.txt:1:", "not a number");
    expect_data_error(DATA_ML100K, "0\t1\t5\t1\n", "r.txt:1:", "not positive");
    expect_data_error(DATA_ML100K, "-4\t1\t5\t1\n", "r.txt:1:", "not a positive");
    expect_data_error(DATA_CSV, "userId,movieId,rating,timestamp\n"
                      "2147483648,1,5,1\n", "r.txt:2:", "out of range 1..2147483647");
    expect_data_error(DATA_CSV, "userId,movieId,rating,timestamp\n"
                      "1,99999999999999999999,5,1\n", "r.txt:2:", "out of range");
    expect_data_error(DATA_ML100K, "1\t2147483647\t5\t1\n2\t1\t3\t1\n",
                      "r.txt:1:", "use format csv");
    expect_data_error(DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\t1\n1\t1\t4\t1\n",
                      "r.txt:3: duplicate rating of item 1 by user 1",
                      "already rated at r.txt:1");
    expect_data_error(DATA_ML100K, "1\t1\t5\t-1\n", "r.txt:1:", "timestamp");
    expect_data_error(DATA_ML100K, "1\t1\t5\t1\n\n2\t2\t5\t1\n", "r.txt:2:",
                      "empty line");
    /* one rating: a split cannot fill both sides */
    expect_data_error(DATA_ML100K, "1\t1\t5\t1\n", "random split", "empty");
    /* a line longer than 64 KiB is refused by number, also from a file */
    size_t n = 70000;
    char *big = malloc(n + 32);
    CHECK(big != NULL);
    if (big) {
        strcpy(big, "1\t1\t5\t1\n");
        memset(big + 8, '7', n);
        strcpy(big + 8 + n, "\n");
        expect_data_error(DATA_ML100K, big, "r.txt:2: line is longer than "
                          "65536 bytes", NULL);
        free(big);
    }
}

/* The file reader (1 MiB chunks) and the buffer reader give the same data
 * set, for CRLF and LF files, with and without a final newline, and lines
 * straddling chunk boundaries.  CRLF gives the same numbers as LF. */
static void test_data_file_equals_buffer(void) {
    const char *dir = tmp_dir();
    CHECK(dir != NULL);
    if (!dir) return;
    size_t cap = 3u << 20, n = 0;
    char *lf = malloc(cap), *crlf = malloc(cap + (cap >> 2));
    CHECK(lf && crlf);
    if (!lf || !crlf) { free(lf); free(crlf); return; }
    size_t m = 0;
    for (int u = 1; n < (size_t)(2.5 * (1 << 20)); u++)
        for (int i = 1; i <= 40; i++) {
            int k = snprintf(lf + n, cap - n, "%d\t%d\t%d.%d\t%d\n", u,
                             (u * 7 + i * 13) % 900 + 1, 1 + (u + i) % 5,
                             (u * i) % 10, 874965758 + i);
            int k2 = snprintf(crlf + m, cap + (cap >> 2) - m, "%.*s\r\n",
                              k - 1, lf + n);
            n += (size_t)k;
            m += (size_t)k2;
        }
    const char *texts[4] = {lf, lf, crlf, crlf};
    size_t lens[4] = {n, n - 1, m, m - 2};   /* -1/-2: no final newline */
    Dataset first;
    memset(&first, 0, sizeof first);
    for (int t = 0; t < 4; t++) {
        Config c;
        Dataset a, b;
        char err[ERR_MAX] = "";
        CHECK(write_file(dir, "u.data", texts[t], lens[t]) == 0);
        small_cfg(&c, dir, 1);
        int ra = data_load(&c, &a, err);
        CHECK_MSG(ra == 0, "file %d: %s", t, err);
        int rb = data_parse_buffer(&c, texts[t], lens[t], "buf", &b, err);
        CHECK_MSG(rb == 0, "buffer %d: %s", t, err);
        if (ra == 0 && rb == 0) {
            CHECK(a.n_train == b.n_train && a.n_test == b.n_test &&
                  a.num_users == b.num_users && a.num_items == b.num_items);
            CHECK(memcmp(a.train, b.train, a.n_train * sizeof *a.train) == 0);
            CHECK(memcmp(a.test, b.test, a.n_test * sizeof *a.test) == 0);
            if (t == 0) {
                first = a;
                memset(&a, 0, sizeof a);
            } else {   /* every variant holds the same ratings */
                CHECK(a.n_train == first.n_train &&
                      memcmp(a.train, first.train,
                             a.n_train * sizeof *a.train) == 0);
            }
        }
        data_free(&a);
        data_free(&b);
    }
    data_free(&first);
    free(lf);
    free(crlf);
    rm_dir(dir, db_files);
}

void suite_faults(void) {
    RUN(test_oom_config_loading);
    RUN(test_oom_data_loading);
    RUN(test_oom_db_layer);
    RUN(test_oom_whole_run);
    RUN(test_divergence_recorded);
    RUN(test_config_meaningless_numbers);
    RUN(test_config_strings_utf8);
    RUN(test_config_hostile_yaml);
    RUN(test_config_huge_inputs);
    RUN(test_data_hostile);
    RUN(test_data_file_equals_buffer);
}

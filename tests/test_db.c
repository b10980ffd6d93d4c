/* test_db.c - tests of db.c: schema, round trips, refusals, failures. */
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "db_results.h"
#include "err.h"
#include "mem.h"
#include "stop.h"
#include "test.h"

/* A fresh test directory, with path set to name inside it.  Returns the
 * directory (remove it with test_rm_tree), or NULL after a failed CHECK. */
static const char *tmp_file(const char *name, char *path, size_t n) {
    const char *dir = test_tmp_dir("dbtest");
    CHECK(dir != NULL);
    if (dir) snprintf(path, n, "%s/%s", dir, name);
    return dir;
}

/* Opens path with plain SQLite for inspection; NULL on failure. */
static sqlite3 *raw_open(const char *path) {
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return NULL;
    }
    return h;
}

/* Same for a REAL value (NAN when none). */
static double q_real(sqlite3 *h, const char *sql) {
    sqlite3_stmt *st = NULL;
    double v = NAN;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Same for a TEXT value copied into out (size n; "" when none). */
static const char *q_text(sqlite3 *h, const char *sql, char *out, size_t n) {
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static void fill_cfg(Config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "seed-run");
    snprintf(c->data_path, sizeof c->data_path, "data/ml-100k");
    c->data_format = DATA_ML1M;
    c->split_kind = SPLIT_RANDOM;
    c->test_ratio = 0.1;
    c->hidden = 500;
    c->dropout = 0.05;
    c->epochs = 20;
    c->batch_size = 256;
    c->lr = 0.002;
    c->weight_decay = 1e-5;
    c->seed = 7;
    c->threads = 2;
}

static DbRunInfo fill_info(const Config *c) {
    DbRunInfo in = {c, "name: seed-run\n", "host1", 4, "dense", "abc123",
                    "BLIS 0.9 openmp", };
    return in;
}

static void test_open_creates_schema(void) {
    char path[512], err[ERR_MAX], buf[64];
    const char *dir = tmp_file("results.db", path, sizeof path);
    if (!dir) return;
    Db *db = NULL;
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    CHECK(db != NULL);
    db_close(db);
    sqlite3 *h = raw_open(path);
    CHECK(h != NULL);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(strcmp(q_text(h, "PRAGMA journal_mode", buf, sizeof buf), "wal") == 0);
    CHECK(test_sql_int(h, "SELECT count(*) FROM sqlite_master WHERE type='table' "
                   "AND name IN ('runs','epochs')") == 2);
    CHECK(test_sql_int(h, "SELECT count(*) FROM sqlite_master WHERE type='index' "
                   "AND name IN ('runs_status','runs_name')") == 2);
    CHECK(test_sql_int(h, "SELECT count(*) FROM pragma_table_info('runs') WHERE name "
                   "IN ('blis_info','data_path','data_format','test_ratio',"
                   "'best_epoch','final_test_rmse','config_yaml')") == 7);
    CHECK(test_sql_int(h, "SELECT count(*) FROM pragma_foreign_key_list('epochs')") == 1);
    /* schema 2: grid columns, tables, indexes, views */
    CHECK(test_sql_int(h, "SELECT count(*) FROM pragma_table_info('runs') WHERE name "
                   "IN ('experiment','grid_point','grid_size','config_hash',"
                   "'worker','heartbeat_at','attempts','epochs_done',"
                   "'seconds','error')") == 10);
    CHECK(test_sql_int(h, "SELECT count(*) FROM sqlite_master WHERE type='table' "
                   "AND name IN ('experiments','grid_points')") == 2);
    CHECK(test_sql_int(h, "SELECT count(*) FROM sqlite_master WHERE type='index' "
                   "AND name IN ('runs_grid_point','runs_running',"
                   "'runs_best')") == 2 + 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM sqlite_master WHERE type='view' "
                   "AND name IN ('run_summary','grid_summary')") == 2);
    /* the status CHECK constraint */
    CHECK(sqlite3_exec(h, "INSERT INTO runs(name,status,started_at) "
                          "VALUES('x','bogus','now')", NULL, NULL, NULL) ==
          SQLITE_CONSTRAINT);
    sqlite3_close(h);
    test_rm_tree(dir);
}

static void test_round_trip(void) {
    char path[512], err[ERR_MAX], buf[256];
    const char *dir = tmp_file("r.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0;
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    if (!db) return;
    CHECK_MSG(db_run_begin(db, &info, &id, err) == 0, "%s", err);
    CHECK(id == 1);
    const double rmse[4] = {1.10, 0.95, 0.90, 0.97};   /* improve, worsen */
    for (int e = 0; e < 4; e++) {
        DbEpoch ep = {e + 1, 100.0 - e, rmse[e], 1.5, 0.25, NAN, 0, 0, 0, 0, .has_ema = 0};
        CHECK_MSG(db_epoch_add(db, id, &ep, err) == 0, "%s", err);
    }
    sqlite3 *h = raw_open(path);
    CHECK(h != NULL);
    /* visible to another connection while running */
    CHECK(strcmp(q_text(h, "SELECT status FROM runs WHERE id=1", buf,
                        sizeof buf), "running") == 0);
    CHECK(test_sql_int(h, "SELECT finished_at IS NULL FROM runs WHERE id=1") == 1);
    CHECK_MSG(db_run_end(db, id, "finished", err) == 0, "%s", err);
    CHECK(strcmp(q_text(h, "SELECT status FROM runs WHERE id=1", buf,
                        sizeof buf), "finished") == 0);
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs WHERE run_id=1") == 4);
    CHECK_CLOSE(q_real(h, "SELECT final_test_rmse FROM runs"), 0.97, 0, 1e-12);
    CHECK_CLOSE(q_real(h, "SELECT best_test_rmse FROM runs"), 0.90, 0, 1e-12);
    CHECK(test_sql_int(h, "SELECT best_epoch FROM runs") == 3);
    CHECK_CLOSE(q_real(h, "SELECT train_loss FROM epochs WHERE epoch=2"), 99.0,
                0, 1e-12);
    CHECK_CLOSE(q_real(h, "SELECT eval_seconds FROM epochs WHERE epoch=4"),
                0.25, 0, 1e-12);
    CHECK(test_sql_int(h, "SELECT started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-"
                   "[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'"
                   " AND finished_at >= started_at FROM runs") == 1);
    CHECK(strcmp(q_text(h, "SELECT name||'|'||config_yaml||'|'||host||'|'||"
                           "threads||'|'||kernel||'|'||git_commit||'|'||"
                           "blis_info||'|'||data_path||'|'||data_format||'|'||"
                           "hidden||'|'||epochs||'|'||batch_size||'|'||seed "
                           "FROM runs", buf, sizeof buf),
                 "seed-run|name: seed-run\n|host1|4|dense|abc123|BLIS 0.9 "
                 "openmp|data/ml-100k|ml-1m|500|20|256|7") == 0);
    CHECK_CLOSE(q_real(h, "SELECT lr FROM runs"), 0.002, 0, 1e-15);
    CHECK_CLOSE(q_real(h, "SELECT weight_decay FROM runs"), 1e-5, 0, 1e-18);
    CHECK_CLOSE(q_real(h, "SELECT dropout FROM runs"), 0.05, 0, 1e-15);
    CHECK_CLOSE(q_real(h, "SELECT test_ratio FROM runs"), 0.1, 0, 1e-15);
    /* the denormalised columns the views read */
    CHECK(test_sql_int(h, "SELECT epochs_done FROM runs WHERE id=1") == 4);
    CHECK_CLOSE(q_real(h, "SELECT seconds FROM runs WHERE id=1"), 7.0, 0,
                1e-12);
    CHECK(test_sql_int(h, "SELECT heartbeat_at > 1.6e9 FROM runs WHERE id=1") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE id=1 AND "
                   "best_epoch=3 AND epochs_done=4 AND experiment IS NULL") == 1);
    sqlite3_close(h);

    /* NULL optional texts are stored as NULL */
    DbRunInfo bare = {&c, NULL, NULL, 1, "naive", NULL, NULL};
    CHECK_MSG(db_run_begin(db, &bare, &id, err) == 0, "%s", err);
    CHECK(id == 2);
    db_close(db);

    /* reopen the existing database */
    db = NULL;
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    CHECK_MSG(db && db_run_begin(db, &info, &id, err) == 0, "%s", err);
    CHECK(id == 3);
    DbEpoch ep = {1, 5.0, 2.0, 1.0, 1.0, NAN, 0, 0, 0, 0, .has_ema = 0};
    CHECK_MSG(db && db_epoch_add(db, id, &ep, err) == 0, "%s", err);
    CHECK_MSG(db && db_run_end(db, id, "diverged", err) == 0, "%s", err);
    db_close(db);
    h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs") == 3);
    CHECK(test_sql_int(h, "SELECT config_yaml IS NULL AND host IS NULL AND "
                   "blis_info IS NULL FROM runs WHERE id=2") == 1);
    CHECK(test_sql_int(h, "SELECT best_epoch FROM runs WHERE id=3") == 1);
    sqlite3_close(h);
    test_rm_tree(dir);
}

static void test_not_sqlite_refused(void) {
    char path[512], err[ERR_MAX], text[4096];
    const char *dir = tmp_file("notes.txt", path, sizeof path);
    if (!dir) return;
    memset(text, 'x', sizeof text);
    memcpy(text, "these are my notes, not a database", 34);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fwrite(text, 1, sizeof text, f);
    fclose(f);
    Db *db = (Db *)1;
    CHECK(db_open(&db, path, err) == -1);
    CHECK(db == NULL);
    char want[600];
    snprintf(want, sizeof want, "%s is not an SQLite database: choose another "
             "--db path or move the file away", path);
    CHECK_MSG(strcmp(err, want) == 0, "%s", err);
    /* the file is untouched */
    char back[4096];
    f = fopen(path, "rb");
    CHECK(f && fread(back, 1, sizeof back, f) == sizeof back &&
          memcmp(back, text, sizeof back) == 0);
    if (f) fclose(f);
    test_rm_tree(dir);
}

static void test_newer_version_refused(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("new.db", path, sizeof path);
    if (!dir) return;
    sqlite3 *h = raw_open(path);
    char sql[128], want[128];
    snprintf(sql, sizeof sql, "CREATE TABLE runs(id); CREATE TABLE epochs(x);"
             "PRAGMA user_version = %d;", DB_SCHEMA_VERSION + 1);
    snprintf(want, sizeof want, "was written by a newer autorec (schema %d > "
             "%d): upgrade autorec or use another --db", DB_SCHEMA_VERSION + 1,
             DB_SCHEMA_VERSION);
    CHECK(h && sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    Db *db = NULL;
    CHECK(db_open(&db, path, err) == -1 && db == NULL);
    CHECK_MSG(strstr(err, want) != NULL, "%s", err);
    CHECK(strstr(err, path) == err);
    h = raw_open(path);   /* still rollback-journal mode: untouched */
    char buf[32];
    CHECK(strcmp(q_text(h, "PRAGMA journal_mode", buf, sizeof buf), "delete") == 0);
    sqlite3_close(h);
    test_rm_tree(dir);
}

static void test_foreign_db_refused(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("other.db", path, sizeof path);
    if (!dir) return;
    sqlite3 *h = raw_open(path);
    CHECK(h && sqlite3_exec(h, "CREATE TABLE customers(id, name)", NULL, NULL,
                            NULL) == SQLITE_OK);
    sqlite3_close(h);
    Db *db = NULL;
    CHECK(db_open(&db, path, err) == -1 && db == NULL);
    CHECK_MSG(strstr(err, "is not an autorec results database") != NULL &&
              strstr(err, "customers") != NULL, "%s", err);
    /* user_version 1 without autorec's tables */
    h = raw_open(path);
    CHECK(h && sqlite3_exec(h, "PRAGMA user_version = 1", NULL, NULL, NULL) ==
                   SQLITE_OK);
    sqlite3_close(h);
    CHECK(db_open(&db, path, err) == -1 && db == NULL);
    CHECK_MSG(strstr(err, "is not an autorec results database") != NULL,
              "%s", err);
    test_rm_tree(dir);
}

static void test_bad_epochs(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("e.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0;
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    if (!db) return;
    CHECK_MSG(db_run_begin(db, &info, &id, err) == 0, "%s", err);

    DbEpoch ep = {1, 10.0, NAN, 1.0, 1.0, NAN, 0, 0, 0, 0, .has_ema = 0};
    CHECK(db_epoch_add(db, id, &ep, err) == -1);
    CHECK_MSG(strstr(err, "not finite") != NULL && strstr(err, path) != NULL,
              "%s", err);
    ep.test_rmse = INFINITY;
    CHECK(db_epoch_add(db, id, &ep, err) == -1);
    ep.test_rmse = 0.9;
    ep.train_loss = NAN;
    CHECK(db_epoch_add(db, id, &ep, err) == -1);
    ep.train_loss = 10.0;
    ep.epoch = 0;
    CHECK(db_epoch_add(db, id, &ep, err) == -1);
    CHECK_MSG(strstr(err, "numbered from 1") != NULL, "%s", err);

    ep.epoch = 1;
    CHECK_MSG(db_epoch_add(db, id, &ep, err) == 0, "%s", err);
    DbEpoch dup = {1, 3.0, 0.5, 1.0, 1.0, NAN, 0, 0, 0, 0, .has_ema = 0};   /* same epoch, better rmse */
    err[0] = '\0';
    CHECK(db_epoch_add(db, id, &dup, err) == -1);
    CHECK_MSG(strstr(err, "already recorded") != NULL &&
              strstr(err, "epoch 1 of run 1") != NULL, "%s", err);
    /* unknown run */
    DbEpoch other = {1, 3.0, 0.5, 1.0, 1.0, NAN, 0, 0, 0, 0, .has_ema = 0};
    CHECK(db_epoch_add(db, 999, &other, err) == -1);
    CHECK_MSG(strstr(err, "no run 999") != NULL, "%s", err);
    /* the connection is usable afterwards (no transaction left open) */
    DbEpoch ep2 = {2, 9.0, 0.95, 1.0, 1.0, NAN, 0, 0, 0, 0, .has_ema = 0};
    CHECK_MSG(db_epoch_add(db, id, &ep2, err) == 0, "%s", err);
    CHECK(db_run_end(db, id, "running", err) == -1);
    CHECK_MSG(strstr(err, "status 'running'") != NULL, "%s", err);
    CHECK(db_run_end(db, 999, "failed", err) == -1);
    CHECK_MSG(strstr(err, "no such run") != NULL, "%s", err);
    CHECK_MSG(db_run_end(db, id, "interrupted", err) == 0, "%s", err);

    sqlite3 *h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs") == 2);
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs WHERE test_rmse IS NULL") == 0);
    CHECK_CLOSE(q_real(h, "SELECT train_loss FROM epochs WHERE epoch=1"), 10.0,
                0, 0);
    CHECK_CLOSE(q_real(h, "SELECT best_test_rmse FROM runs"), 0.9, 0, 1e-12);
    CHECK(test_sql_int(h, "SELECT best_epoch FROM runs") == 1);
    CHECK_CLOSE(q_real(h, "SELECT final_test_rmse FROM runs"), 0.95, 0, 1e-12);
    sqlite3_close(h);

    /* a seed that does not fit SQLite's INTEGER */
    c.seed = UINT64_MAX;
    CHECK(db_run_begin(db, &info, &id, err) == -1);
    CHECK_MSG(strstr(err, "train.seed") != NULL, "%s", err);
    db_close(db);
    test_rm_tree(dir);
}

static void test_nested_dirs_and_bad_paths(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("a/b/c/results.db", path, sizeof path);
    if (!dir) return;
    Db *db = NULL;
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    db_close(db);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));

    /* a file where a directory should be */
    snprintf(path, sizeof path, "%s/a/b/c/results.db/x.db", dir);
    db = NULL;
    CHECK(db_open(&db, path, err) == -1 && db == NULL);
    CHECK_MSG(strstr(err, "is not a directory") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/a/b/c/results.db/y/x.db", dir);
    CHECK(db_open(&db, path, err) == -1 && db == NULL);
    CHECK_MSG(strstr(err, "cannot create directory") != NULL, "%s", err);

    /* a directory where the database should be */
    snprintf(path, sizeof path, "%s/a", dir);
    CHECK(db_open(&db, path, err) == -1 && db == NULL);
    CHECK_MSG(strstr(err, "cannot open") != NULL && strstr(err, path) != NULL,
              "%s", err);
    CHECK(db_open(&db, "", err) == -1);
    db_close(NULL);
    test_rm_tree(dir);
}

/* A database below a directory without write permission is refused with
 * the reason.  (Meaningless as root, who may write anywhere: skipped.) */
static void test_unwritable_directory(void) {
    if (geteuid() == 0) SKIP("root may write in a mode-0500 directory");
    const char *dir = test_tmp_dir("dbtest");
    char path[512], err[ERR_MAX];
    Db *db = NULL;
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(path, sizeof path, "%s/ro", dir);
    CHECK(mkdir(path, 0500) == 0);
    snprintf(path, sizeof path, "%s/ro/sub/x.db", dir);
    CHECK(db_open(&db, path, err) == -1);
    CHECK_MSG(strstr(err, "cannot create directory") != NULL &&
              strstr(err, "Permission denied") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/ro/x.db", dir);
    CHECK(db_open(&db, path, err) == -1);
    CHECK_MSG(strstr(err, "cannot open") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/ro", dir);
    chmod(path, 0700);
    test_rm_tree(dir);
}

static void test_two_connections(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("shared.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *a = NULL, *b = NULL;
    int64_t ia = 0, ib = 0;
    CHECK_MSG(db_open(&a, path, err) == 0, "%s", err);
    CHECK_MSG(db_open(&b, path, err) == 0, "%s", err);
    if (!a || !b) { db_close(a); db_close(b); return; }
    CHECK(db_run_begin(a, &info, &ia, err) == 0);
    CHECK(db_run_begin(b, &info, &ib, err) == 0);
    CHECK(ia != ib);
    for (int e = 1; e <= 3; e++) {
        DbEpoch ep = {e, 1.0, 1.0 / e, 0.1, 0.1, NAN, 0, 0, 0, 0, .has_ema = 0};
        CHECK_MSG(db_epoch_add(a, ia, &ep, err) == 0, "%s", err);
        CHECK_MSG(db_epoch_add(b, ib, &ep, err) == 0, "%s", err);
    }
    db_close(a);
    db_close(b);
    sqlite3 *h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs") == 6);
    sqlite3_close(h);
    test_rm_tree(dir);
}

static void test_open_alloc_failures(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("m.db", path, sizeof path);
    if (!dir) return;
    int ok = 0;
    for (long n = 1; n < 50 && !ok; n++) {
        Db *db = NULL;
        err[0] = '\0';
        mem_fail_at(n);
        int rc = db_open(&db, path, err);
        mem_fail_at(0);
        if (rc == 0) {
            ok = 1;
            db_close(db);
        } else {
            CHECK_MSG(db == NULL && strstr(err, "out of memory") != NULL,
                      "n=%ld: %s", n, err);
        }
    }
    CHECK(ok);
    test_rm_tree(dir);
}

/* The schema-1 DDL as autorec 0.1 wrote it (a fixture: never change). */
static const char schema_v1[] =
    "CREATE TABLE runs(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK(status IN ('running','finished','failed',"
    "'interrupted','diverged')), config_yaml TEXT, started_at TEXT NOT NULL,"
    " finished_at TEXT, host TEXT, threads INTEGER, kernel TEXT,"
    " git_commit TEXT, blis_info TEXT, data_path TEXT, data_format TEXT,"
    " test_ratio REAL, hidden INTEGER, lr REAL, weight_decay REAL,"
    " dropout REAL, epochs INTEGER, batch_size INTEGER, seed INTEGER,"
    " final_test_rmse REAL, best_test_rmse REAL, best_epoch INTEGER);"
    "CREATE TABLE epochs(run_id INTEGER NOT NULL, epoch INTEGER NOT NULL"
    " CHECK(epoch >= 1), train_loss REAL, test_rmse REAL,"
    " train_seconds REAL, eval_seconds REAL, PRIMARY KEY(run_id, epoch),"
    " FOREIGN KEY(run_id) REFERENCES runs(id));"
    "CREATE INDEX runs_status ON runs(status);"
    "CREATE INDEX runs_name ON runs(name);"
    "PRAGMA user_version = 1;"
    "INSERT INTO runs(name, status, started_at, hidden, lr, epochs,"
    " final_test_rmse, best_test_rmse, best_epoch) VALUES"
    " ('old', 'finished', '2024-01-01T00:00:00.000Z', 500, 0.002, 2, 0.95,"
    " 0.93, 1), ('old', 'interrupted', '2024-01-02T00:00:00.000Z', 300,"
    " 0.001, 5, NULL, NULL, NULL);"
    "INSERT INTO epochs VALUES (1, 1, 50, 0.93, 1.5, 0.5),"
    " (1, 2, 40, 0.95, 1.25, 0.25);";

static void test_migrate_v1(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("v1.db", path, sizeof path);
    if (!dir) return;
    sqlite3 *h = raw_open(path);
    CHECK(h && sqlite3_exec(h, schema_v1, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);

    /* the query path migrates too, then reads */
    sqlite3 *ro = NULL;
    CHECK_MSG(db_open_query(&ro, path, err) == 0, "%s", err);
    CHECK(ro && test_sql_int(ro, "SELECT count(*) FROM run_summary") == 2);
    CHECK(ro && sqlite3_exec(ro, "DELETE FROM runs", NULL, NULL, NULL) !=
                    SQLITE_OK);   /* read-only */
    sqlite3_close(ro);

    h = raw_open(path);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(test_sql_int(h, "SELECT epochs_done FROM runs WHERE id=1") == 2);
    /* schema 3: runs without a validation split selected their last epoch */
    CHECK(test_sql_int(h, "SELECT selected_epoch FROM runs WHERE id=1") == 2);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE id=1 AND "
                   "selected_test_rmse = final_test_rmse") == 1);
    CHECK_CLOSE(q_real(h, "SELECT seconds FROM runs WHERE id=1"), 3.5, 0,
                1e-12);
    CHECK(test_sql_int(h, "SELECT epochs_done FROM runs WHERE id=2") == 0);
    CHECK(test_sql_int(h, "SELECT attempts FROM runs WHERE id=2") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE best_epoch = 1 "
                   "AND experiment IS NULL") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM grid_summary") == 0);
    sqlite3_close(h);

    /* old runs keep working: a new run and epochs next to them */
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0;
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    CHECK_MSG(db && db_run_begin(db, &info, &id, err) == 0, "%s", err);
    CHECK(id == 3);
    DbEpoch ep = {1, 5.0, 0.9, 1.0, 1.0, NAN, 0, 0, 0, 0, .has_ema = 0};
    CHECK_MSG(db && db_epoch_add(db, id, &ep, err) == 0, "%s", err);
    CHECK_MSG(db && db_run_end_msg(db, id, "failed", "boom", err) == 0, "%s",
              err);
    db_close(db);
    h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE error = 'boom' AND "
                   "epochs_done = 1") == 1);
    char ok[16];
    CHECK(strcmp(q_text(h, "PRAGMA integrity_check", ok, sizeof ok), "ok") ==
          0);
    sqlite3_close(h);
    test_rm_tree(dir);
}


/* Marks the database h as schema version v, with the placeholder view an
 * old schema's migration replaces.  Returns an SQLite result code. */
static int mark_version(sqlite3 *h, int v) {
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE VIEW run_summary AS SELECT id FROM "
             "runs; PRAGMA user_version = %d", v);
    return sqlite3_exec(h, sql, NULL, NULL, NULL);
}

/* The end of a migration test: the database h passes its integrity check;
 * closes h and removes the test directory dir. */
static void check_intact_and_close(sqlite3 *h, const char *dir) {
    char buf[64];
    CHECK(strcmp(q_text(h, "PRAGMA integrity_check", buf, sizeof buf), "ok") == 0);
    sqlite3_close(h);
    test_rm_tree(dir);
}

/* Removes schema 8's additions from the database h: the table
 * ensemble_candidates, and the views.  Returns an SQLite result code. */
static int drop_v8(sqlite3 *h) {
    return sqlite3_exec(h, "DROP VIEW run_summary; DROP VIEW grid_summary;"
                           "DROP TABLE ensemble_candidates;", NULL, NULL, NULL);
}

/* Removes schema 7's (and 8's) additions from the database h: the config
 * columns ema, top_k and relevant_min, the result columns of weight
 * averaging, ranking metrics and ensembles, the epochs columns, the
 * ensemble tables, and the views.  Returns an SQLite result code. */
static int drop_v7(sqlite3 *h) {
    static const char *const cols[] = {"ema", "top_k", "relevant_min",
        "selected_weights", "precision_at_k", "recall_at_k", "ndcg_at_k",
        "hit_rate_at_k", "topn_users", "member_key", "ensemble_size"};
    static const char *const ecols[] = {"ema_val_rmse", "ema_test_rmse",
        "precision_at_k", "recall_at_k", "ndcg_at_k", "hit_rate_at_k"};
    int rc = drop_v8(h);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, "DROP INDEX runs_member_key;"
                             "DROP TABLE ensemble_members;"
                             "DROP TABLE run_predictions;", NULL, NULL, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof cols / sizeof *cols; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "ALTER TABLE runs DROP COLUMN %s", cols[i]);
        rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    }
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof ecols / sizeof *ecols;
         i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "ALTER TABLE epochs DROP COLUMN %s",
                 ecols[i]);
        rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    }
    return rc;
}

/* Removes schema 6's (and 7's) additions from the database h:
 * result_test_rmse, peak_rss_mb and the pruned columns,
 * and 'pruned' from the CHECK of runs.status (as schema 5 wrote it), and
 * the views.  Returns an SQLite result code. */
static int drop_v6(sqlite3 *h) {
    sqlite3_int64 sv = test_sql_int(h, "PRAGMA schema_version");
    char sql[96];
    int rc = drop_v7(h);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, "ALTER TABLE runs DROP COLUMN result_test_rmse;"
                             "ALTER TABLE runs DROP COLUMN pruned_epoch;"
                             "ALTER TABLE runs DROP COLUMN peak_rss_mb;"
                             "ALTER TABLE runs DROP COLUMN pruned_reason;"
                             "PRAGMA writable_schema = ON;"
                             "UPDATE sqlite_master SET sql = replace(sql, "
                             "',''pruned'')', ')') WHERE name = 'runs';"
                             "PRAGMA writable_schema = OFF;", NULL, NULL, NULL);
    snprintf(sql, sizeof sql, "PRAGMA schema_version = %lld",
             (long long)sv + 10);
    if (rc == SQLITE_OK) rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    return rc;
}

/* Removes schema 5's and 6's additions from the database h (the refit
 * columns and table; the split summaries' refit columns when
 * split_summaries is kept).  Returns an SQLite result code. */
static int drop_v5(sqlite3 *h, int keep_summaries) {
    static const char *const cols[] = {"refit", "refit_epochs",
                                       "refit_test_rmse", "refit_test_mae"};
    int rc = drop_v6(h);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, "DROP TABLE refit_epochs;", NULL, NULL, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof cols / sizeof cols[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "ALTER TABLE runs DROP COLUMN %s", cols[i]);
        rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK && keep_summaries)
        rc = sqlite3_exec(h, "ALTER TABLE split_summaries DROP COLUMN "
                             "refit_test_mean; ALTER TABLE split_summaries DROP "
                             "COLUMN refit_test_sd; ALTER TABLE split_summaries "
                             "DROP COLUMN refit_test_ci_lo; ALTER TABLE "
                             "split_summaries DROP COLUMN refit_test_ci_hi;",
                          NULL, NULL, NULL);
    return rc;
}

/* A schema-3 database: a current one with schema 4's and 5's additions
 * removed (its config columns, split_summaries, the index, the refit
 * columns; views as in schema 3 held no config column), holding one
 * finished run with its epochs. */
static int make_v3(const char *path) {
    char err[ERR_MAX];
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0;
    DbEpoch ep = {1, 5.0, 0.9, 1.0, 1.0, 0.7, 1, 0.8, 0.6, 1, .has_ema = 0};
    if (db_open(&db, path, err) || db_run_begin(db, &info, &id, err) ||
        db_epoch_add(db, id, &ep, err) || db_run_end(db, id, "finished", err)) {
        db_close(db);
        return -1;
    }
    db_close(db);
    static const char *const cols[] = {"l2", "optimizer", "validation_ratio",
        "split_seed", "schedule", "patience", "clip", "cold_default",
        "split_kind", "split_index", "variant", "layers", "encoder", "decoder"};
    sqlite3 *h = raw_open(path);
    int rc = drop_v5(h, 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, "DROP INDEX runs_split; DROP TABLE split_summaries;"
                             "PRAGMA user_version = 3;", NULL, NULL, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof cols / sizeof cols[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "ALTER TABLE runs DROP COLUMN %s", cols[i]);
        rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    }
    /* schema 3's run_summary: enough for db_open_query to see a view */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, "CREATE VIEW run_summary AS SELECT id FROM runs",
                          NULL, NULL, NULL);
    sqlite3_close(h);
    return rc == SQLITE_OK ? 0 : -1;
}

static void test_migrate_v3(void) {
    char path[512], err[ERR_MAX], buf[64];
    const char *dir = tmp_file("v3.db", path, sizeof path);
    if (!dir) return;
    CHECK(make_v3(path) == 0);
    sqlite3 *h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM pragma_table_info('runs') "
                          "WHERE name = 'l2'") == 0);
    sqlite3_close(h);

    sqlite3 *ro = NULL;   /* the query path migrates */
    CHECK_MSG(db_open_query(&ro, path, err) == 0, "%s", err);
    CHECK(ro && test_sql_int(ro, "SELECT count(*) FROM run_summary WHERE "
                             "selected_epoch = 1 AND l2 IS NULL AND "
                             "split_index IS NULL") == 1);
    sqlite3_close(ro);
    h = raw_open(path);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM split_summaries") == 0);
    sqlite3_close(h);

    /* a new run after the migration records the protocol columns */
    Config c;
    fill_cfg(&c);
    c.l2 = 3;
    c.optimizer = OPTIM_ADAMW;
    c.validation_ratio = 0.1;
    c.clip.mode = CLIP_AUTO;
    c.cold_default = 3;
    c.split_repeats = 5;
    c.split_index = 2;
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0;
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    CHECK_MSG(db && db_run_begin(db, &info, &id, err) == 0, "%s", err);
    db_close(db);
    h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE l2 = 3 AND "
                          "optimizer = 'adamw' AND validation_ratio = 0.1 AND "
                          "clip = 'auto' AND cold_default = 3 AND split_kind "
                          "= 'random' AND split_index = 2 AND patience = 0 "
                          "AND schedule = 'none'") == 1);
    snprintf(buf, sizeof buf, "SELECT split_seed FROM runs WHERE id = %lld",
             (long long)id);
    CHECK(test_sql_int(h, buf) == (int64_t)cfg_split_seed(&c));
    check_intact_and_close(h, dir);
}

/* Creates the database path holding one finished run (fill_cfg) with the
 * n epochs eps; *id gets its id.  Returns 0 or -1 with err. */
static int one_finished_run(const char *path, const DbEpoch *eps, int n,
                            int64_t *id, char *err) {
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int rc = db_open(&db, path, err) || db_run_begin(db, &info, id, err);
    for (int e = 0; e < n && !rc; e++) rc = db_epoch_add(db, *id, &eps[e], err);
    if (!rc) rc = db_run_end(db, *id, "finished", err);
    db_close(db);
    return rc ? -1 : 0;
}

/* Creates path as one_finished_run does, then takes it back to schema
 * `version` with drop (one of the drop_vN above) and mark_version.
 * Returns 0, or -1 with err. */
static int rewound_db(const char *path, const DbEpoch *eps, int n,
                      int (*drop)(sqlite3 *), int version, int64_t *id,
                      char *err) {
    if (one_finished_run(path, eps, n, id, err)) return -1;
    sqlite3 *h = raw_open(path);
    int rc = h ? drop(h) : SQLITE_CANTOPEN;
    if (rc == SQLITE_OK) rc = mark_version(h, version);
    sqlite3_close(h);
    if (rc != SQLITE_OK) {
        snprintf(err, ERR_MAX, "%s: cannot take it back to schema %d (sqlite "
                 "code %d)", path, version, rc);
        return -1;
    }
    return 0;
}

/* A schema-4 database (a current one without schema 5's refit columns and
 * table) with a run and a split summary migrates in place: the run and the
 * summary are kept, their refit columns are NULL, refit runs can be
 * recorded. */
static void test_migrate_v4(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("v4.db", path, sizeof path);
    if (!dir) return;
    Db *db = NULL;
    int64_t id = 0;
    DbEpoch ep = {1, 5.0, 0.9, 1.0, 1.0, 0.7, 1, 0.8, 0.6, 1, .has_ema = 0};
    const char *hashes[1] = {"h0"}, *params[1] = {"index=0"};
    DbExperiment x = {"e-4", "e", "data.split.index", "", 1, hashes, params};
    CHECK_MSG(one_finished_run(path, &ep, 1, &id, err) == 0 &&
              db_open(&db, path, err) == 0 &&
              db_experiment_register(db, &x, err) == 0, "%s", err);
    db_close(db);
    db = NULL;
    sqlite3 *h = raw_open(path);
    CHECK(sqlite3_exec(h, "UPDATE runs SET experiment = 'e-4', grid_point = 0",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(drop_v5(h, 1) == SQLITE_OK);
    CHECK(mark_version(h, 4) == SQLITE_OK);
    sqlite3_close(h);
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    CHECK_MSG(db && db_split_summary_update(db, "e-4", 0, 1, "index=0", err)
              == 0, "%s", err);
    db_close(db);
    h = raw_open(path);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE refit IS "
                          "NULL AND refit_test_rmse IS NULL AND "
                          "selected_epoch = 1") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM split_summaries WHERE "
                          "refit_test_mean IS NULL AND n = 1") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM refit_epochs") == 0);
    check_intact_and_close(h, dir);
}

/* A schema-5 database (a current one without runs.result_test_rmse) with
 * a finished run migrates in place: the column is added and filled with
 * the run's honest result (its selected epoch's test RMSE here, not its
 * best epoch's), and a later refit sets it to the refit's test RMSE. */
static void test_migrate_v5(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("v5.db", path, sizeof path);
    if (!dir) return;
    Db *db = NULL;
    int64_t id = 0;
    const DbEpoch eps[2] = {{1, 5.0, 0.9, 1.0, 1.0, 0.7, 1, 0.8, 0.6, 1, .has_ema = 0},
                            {2, 4.0, 0.85, 1.0, 1.0, 0.7, 1, 0.82, 0.6, 0, .has_ema = 0}};
    CHECK_MSG(one_finished_run(path, eps, 2, &id, err) == 0, "%s", err);
    sqlite3 *h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE result_test_rmse "
                          "= 0.9 AND best_test_rmse = 0.85") == 1);
    CHECK(drop_v6(h) == SQLITE_OK);
    CHECK(mark_version(h, 5) == SQLITE_OK);
    sqlite3_close(h);
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    h = raw_open(path);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE "
                          "result_test_rmse = 0.9") == 1);
    sqlite3_close(h);
    DbEpoch r1 = {1, 3.0, 0.8, 1.0, 1.0, 0.6, 0, 0, 0, 0, .has_ema = 0};
    CHECK_MSG(db && db_refit_epoch_add(db, id, &r1, err) == 0, "%s", err);
    db_close(db);
    h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE "
                          "result_test_rmse = 0.8") == 1);
    sqlite3_close(h);
    test_rm_tree(dir);
}

/* A schema-5 database (a current one without schema 6's pruned columns,
 * and whose CHECK refuses status 'pruned') with a finished run migrates
 * in place: the run is kept, the CHECK then takes 'pruned', and a run can
 * be recorded as pruned with its epoch and reason. */
static void test_migrate_v5_pruned(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("v5.db", path, sizeof path);
    if (!dir) return;
    int64_t id1 = 0;
    const DbEpoch ep1 = {1, 5.0, 0.9, 1.0, 1.0, 0.7, 1, 0.8, 0.6, 1, .has_ema = 0};
    CHECK_MSG(one_finished_run(path, &ep1, 1, &id1, err) == 0, "%s", err);
    sqlite3 *h = raw_open(path);
    CHECK(drop_v6(h) == SQLITE_OK);
    CHECK(mark_version(h, 5) == SQLITE_OK);
    /* schema 5's CHECK refuses the status */
    CHECK(sqlite3_exec(h, "UPDATE runs SET status = 'pruned'", NULL, NULL,
                       NULL) != SQLITE_OK);
    sqlite3_close(h);
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id2 = 0;
    DbEpoch ep = {1, 5.0, 0.9, 1.0, 1.0, 0.7, 1, 0.8, 0.6, 1, .has_ema = 0};
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    CHECK_MSG(db && db_run_begin(db, &info, &id2, err) == 0 &&
              db_epoch_add(db, id2, &ep, err) == 0 &&
              db_run_prune(db, id2, 1, "asha rung 0", err) == 0, "%s", err);
    db_close(db);
    h = raw_open(path);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE status = "
                          "'finished' AND pruned_epoch IS NULL AND "
                          "selected_epoch = 1") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE status = "
                          "'pruned' AND pruned_epoch = 1 AND pruned_reason = "
                          "'asha rung 0'") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE status = "
                          "'pruned'") == 1);
    /* the CHECK still refuses an unknown status */
    CHECK(sqlite3_exec(h, "UPDATE runs SET status = 'bogus'", NULL, NULL,
                       NULL) != SQLITE_OK);
    check_intact_and_close(h, dir);
}

/* Schema 5 -> 6: runs.peak_rss_mb is added (NULL for old runs), appears in
 * run_summary, and db_run_set_peak_rss fills it for a run (not for an
 * unknown one). */
static void test_migrate_v5_peak_rss(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("v5.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0, id2 = 0;
    DbEpoch ep = {1, 5.0, 0.9, 1.0, 1.0, 0.7, 1, 0.8, 0.6, 1, .has_ema = 0};
    CHECK_MSG(db_open(&db, path, err) == 0 && db_run_begin(db, &info, &id, err)
              == 0 && db_epoch_add(db, id, &ep, err) == 0 &&
              db_run_end(db, id, "finished", err) == 0, "%s", err);
    db_close(db);
    db = NULL;
    sqlite3 *h = raw_open(path);
    CHECK(drop_v6(h) == SQLITE_OK);
    CHECK(mark_version(h, 5) == SQLITE_OK);
    CHECK(test_sql_int(h, "SELECT count(*) FROM pragma_table_info('runs') "
                          "WHERE name = 'peak_rss_mb'") == 0);
    sqlite3_close(h);
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    CHECK_MSG(db && db_run_begin(db, &info, &id2, err) == 0, "%s", err);
    CHECK_MSG(db && db_run_set_peak_rss(db, id2, 123.5, err) == 0, "%s", err);
    CHECK(db && db_run_set_peak_rss(db, id2 + 100, 1.0, err) == -1);
    CHECK_MSG(strstr(err, "no such run") != NULL, "%s", err);
    db_close(db);
    h = raw_open(path);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE "
                          "peak_rss_mb IS NULL AND selected_epoch = 1") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE "
                          "peak_rss_mb = 123.5") == 1);
    check_intact_and_close(h, dir);
}

/* Schema 6 -> 7: a database without the weight-averaging, ranking and
 * ensemble columns and tables gets them (NULL for its runs), and an epoch
 * with the moving average's RMSE chosen by validation sets the run's
 * selected columns to the average's figures. */
static void test_migrate_v6(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("v6.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0, id2 = 0;
    DbEpoch ep = {1, 5.0, 0.9, 1.0, 1.0, 0.7, 1, 0.8, 0.6, 1, .has_ema = 0};
    CHECK_MSG(rewound_db(path, &ep, 1, drop_v7, 6, &id, err) == 0, "%s", err);
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    DbEpoch avg = {.epoch = 1, .train_loss = 5.0, .test_rmse = 0.9,
                   .train_seconds = 1, .eval_seconds = 1, .test_mae = 0.7,
                   .has_val = 1, .val_rmse = 0.8, .val_mae = 0.6,
                   .selected = 1, .has_ema = 1, .ema_val_rmse = 0.75,
                   .ema_test_rmse = 0.85, .selected_ema = 1};
    CHECK_MSG(db && db_run_begin(db, &info, &id2, err) == 0 &&
              db_epoch_add(db, id2, &avg, err) == 0, "%s", err);
    db_close(db);
    sqlite3 *h = raw_open(path);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE id = 1 AND "
                          "selected_weights IS NULL AND ema IS NULL AND "
                          "ndcg_at_k IS NULL AND member_key IS NULL") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE id = 2 AND "
                          "selected_weights = 'ema' AND selected_val_rmse = "
                          "0.75 AND selected_test_rmse = 0.85 AND "
                          "result_test_rmse = 0.85 AND final_test_rmse = 0.9 "
                          "AND top_k = 0") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs WHERE run_id = 2 AND "
                          "ema_val_rmse = 0.75 AND ema_test_rmse = 0.85 AND "
                          "val_rmse = 0.8 AND test_rmse = 0.9") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs WHERE run_id = 1 AND "
                          "ema_test_rmse IS NULL") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM ensemble_members") == 0);
    check_intact_and_close(h, dir);
}

/* A schema-7 database (no ensemble_candidates) with a finished run
 * migrates in place: the run is kept, the table is created empty, and
 * candidates are recorded, replaced when recorded again and cleared. */
static void test_migrate_v7(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("v7.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0, ens = 0;
    DbEpoch ep = {1, 5.0, 0.9, 1.0, 1.0, 0.7, 1, 0.8, 0.6, 1, .has_ema = 0};
    CHECK_MSG(rewound_db(path, &ep, 1, drop_v8, 7, &id, err) == 0, "%s", err);
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    DbEnsembleCandidate cand[2] = {{2, 1, id, 0.81, 0, "m2 l2=1"},
                                   {2, 2, id, NAN, 1, "m2 l2=2"}};
    CHECK_MSG(db && db_run_begin(db, &info, &ens, err) == 0 &&
              db_ensemble_candidates_record(db, ens, cand, 2, err) == 0,
              "%s", err);
    db_close(db);
    sqlite3 *h = raw_open(path);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(test_sql_int(h, "SELECT count(*) FROM run_summary WHERE id = 1 AND "
                          "status = 'finished' AND selected_val_rmse = 0.8")
          == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM ensemble_candidates WHERE "
                          "ensemble_run = 2 AND position = 2 AND ((candidate "
                          "= 1 AND val_rmse = 0.81 AND chosen = 0 AND label "
                          "= 'm2 l2=1') OR (candidate = 2 AND val_rmse IS "
                          "NULL AND chosen = 1))") == 2);
    sqlite3_close(h);
    CHECK_MSG(db_open(&db, path, err) == 0 &&
              db_ensemble_candidates_record(db, ens, cand + 1, 1, err) == 0,
              "%s", err);
    h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM ensemble_candidates") == 1);
    sqlite3_close(h);
    CHECK_MSG(db && db_ensemble_candidates_record(db, ens, NULL, 0, err) == 0,
              "%s", err);
    db_close(db);
    h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM ensemble_candidates") == 0);
    check_intact_and_close(h, dir);
}

/* The schema-7 results: ranking metrics, a member's predictions found by
 * its key and the shape of its split (not another shape, not an
 * unfinished run), an ensemble's members replaced when recorded again. */
static void test_member_and_ensemble_rows(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("e.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t m1 = 0, m2 = 0, ens = 0;
    const float val[3] = {3.5f, 4.0f, 2.0f}, test[2] = {1.5f, 5.0f},
                refit[2] = {2.5f, 4.5f};
    DbEpoch ep = {.epoch = 1, .train_loss = 5.0, .test_rmse = 0.9,
                  .has_val = 1, .val_rmse = 0.8, .val_mae = 0.6,
                  .selected = 1};
    TopnMetrics tm = {0.25, 0.5, 0.375, 1.0, 12, 10};
    CHECK_MSG(db_open(&db, path, err) == 0 &&
              db_run_begin(db, &info, &m1, err) == 0 &&
              db_epoch_add(db, m1, &ep, err) == 0 &&
              db_run_set_topn(db, m1, &tm, err) == 0 &&
              db_member_store(db, m1, "key-a", "pairs-1", val, 3, test, refit,
                              2, err) == 0 &&
              db_run_end(db, m1, "finished", err) == 0 &&
              db_run_begin(db, &info, &m2, err) == 0 &&
              db_member_store(db, m2, "key-a", "pairs-1", val, 3, test, NULL,
                              2, err) == 0, "%s", err);
    DbMemberPreds p;
    /* m2 is still running: the finished m1 is found, with its arrays */
    CHECK(db && db_member_find(db, "key-a", "pairs-1", 3, 2, &p, err) == 1);
    CHECK(p.run_id == m1 && p.val_rmse == 0.8 && p.val && p.val[1] == 4.0f &&
          p.test &&
          p.test[1] == 5.0f && p.refit && p.refit[0] == 2.5f);
    db_member_preds_free(&p);
    CHECK(db && db_member_find(db, "key-a", "pairs-2", 3, 2, &p, err) == 0);
    CHECK(db && db_member_find(db, "key-a", "pairs-1", 4, 2, &p, err) == 0);
    CHECK(db && db_member_find(db, "key-b", "pairs-1", 3, 2, &p, err) == 0);
    DbEnsembleMember mem[2] = {{m1, 0.75, "m1"}, {m2, 0.25, "m2"}};
    DbEnsembleResult res = {0.8, 0.85, NAN, 0.85};
    CHECK_MSG(db && db_run_begin(db, &info, &ens, err) == 0 &&
              db_ensemble_record(db, ens, mem, 2, &res, err) == 0 &&
              db_ensemble_record(db, ens, mem, 1, &res, err) == 0, "%s", err);
    db_close(db);
    sqlite3 *h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE id = 1 AND "
                          "member_key = 'key-a' AND result_test_rmse IS NULL "
                          "AND selected_test_rmse = 0.9 AND ndcg_at_k = 0.375 "
                          "AND topn_users = 12") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM ensemble_members") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE ensemble_size = 1 "
                          "AND result_test_rmse = 0.85 AND refit_test_rmse IS "
                          "NULL AND selected_val_rmse = 0.8") == 1);
    int64_t *ids = NULL;
    double *w = NULL;
    CHECK(db_ensemble_members(h, ens, &ids, &w, err) == 1 && ids &&
          ids[0] == m1 && w[0] == 0.75);
    mem_free(ids);
    mem_free(w);
    CHECK(db_ensemble_members(h, m1, &ids, &w, err) == 0 && !ids);
    sqlite3_close(h);
    test_rm_tree(dir);
}

/* Refit epochs go to refit_epochs and set the run's refit columns, leave
 * its selected and final columns alone, refuse a non-finite RMSE and a
 * duplicate epoch and an unknown run. */
static void test_refit_epochs(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("r.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    c.validation_ratio = 0.1;
    c.refit = 1;
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0;
    DbEpoch ep = {1, 5.0, 0.95, 1.0, 1.0, 0.7, 1, 0.8, 0.6, 1, .has_ema = 0};
    DbEpoch r1 = {1, 6.0, 0.93, 1.5, 0.5, 0.72, 0, NAN, NAN, 0, .has_ema = 0};
    DbEpoch r2 = {2, 4.0, 0.91, 1.5, 0.5, 0.71, 0, NAN, NAN, 0, .has_ema = 0};
    CHECK_MSG(db_open(&db, path, err) == 0 && db_run_begin(db, &info, &id, err)
              == 0 && db_epoch_add(db, id, &ep, err) == 0, "%s", err);
    CHECK_MSG(db && db_refit_epoch_add(db, id, &r1, err) == 0 &&
              db_refit_epoch_add(db, id, &r2, err) == 0, "%s", err);
    CHECK(db && db_refit_epoch_add(db, id, &r2, err) == -1);
    CHECK_MSG(strstr(err, "already recorded") != NULL, "%s", err);
    DbEpoch bad = r2;
    bad.epoch = 3;
    bad.test_rmse = NAN;
    CHECK(db && db_refit_epoch_add(db, id, &bad, err) == -1);
    CHECK_MSG(strstr(err, "refit epoch 3") != NULL, "%s", err);
    CHECK(db && db_refit_epoch_add(db, id + 1, &r1, err) == -1);
    CHECK_MSG(strstr(err, "no run") != NULL, "%s", err);
    db_close(db);
    sqlite3 *h = raw_open(path);
    CHECK(test_sql_int(h, "SELECT count(*) FROM refit_epochs") == 2);
    CHECK(test_sql_int(h, "SELECT refit_epochs FROM runs") == 2);
    CHECK(test_sql_int(h, "SELECT refit FROM run_summary") == 1);
    CHECK_CLOSE(q_real(h, "SELECT refit_test_rmse FROM runs"), 0.91, 0, 0);
    CHECK_CLOSE(q_real(h, "SELECT refit_test_mae FROM runs"), 0.71, 0, 0);
    CHECK_CLOSE(q_real(h, "SELECT selected_test_rmse FROM runs"), 0.95, 0, 0);
    CHECK_CLOSE(q_real(h, "SELECT final_test_rmse FROM runs"), 0.95, 0, 0);
    CHECK_CLOSE(q_real(h, "SELECT seconds FROM runs"), 2.0 + 2 * 2.0, 0, 1e-12);
    sqlite3_close(h);
    test_rm_tree(dir);
}

/* Three finished runs of one configuration's splits (grid points 3..5 of
 * an experiment) and one failed: the summary row holds their mean, sample
 * sd and t interval, computed here independently. */
static void test_split_summary(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("s.db", path, sizeof path);
    if (!dir) return;
    Db *db = NULL;
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    const char *hashes[8] = {"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"};
    const char *params[8] = {"hidden=1 index=0", "hidden=1 index=1",
        "hidden=1 index=2", "hidden=2 index=0", "hidden=2 index=1",
        "hidden=2 index=2", "hidden=3 index=0", "hidden=3 index=1"};
    DbExperiment x = {"e-1", "e", "model.hidden,data.split.index", "", 8,
                      hashes, params};
    CHECK_MSG(db && db_experiment_register(db, &x, err) == 0, "%s", err);
    sqlite3 *h = raw_open(path);
    const double sel[4] = {0.91, 0.89, 0.94, 0.10};
    for (int k = 0; k < 4; k++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "INSERT INTO runs(name, status, started_at, experiment, "
                 "grid_point, selected_test_rmse, selected_val_rmse, "
                 "final_test_rmse, split_kind, split_index, refit_test_rmse) "
                 "VALUES('e', '%s', 'x', 'e-1', %d, %.17g, %.17g, %.17g, "
                 "'random', %d, %.17g)",
                 k < 3 ? "finished" : "failed", 3 + (k < 3 ? k : 4), sel[k],
                 sel[k] - 0.05, sel[k] + 0.01, k, sel[k] - 0.02);
        CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
    }
    CHECK_MSG(db && db_split_summary_update(db, "e-1", 3, 3, "hidden=2", err)
              == 0, "%s", err);
    double mean = (0.91 + 0.89 + 0.94) / 3, ss = 0;
    for (int k = 0; k < 3; k++) ss += (sel[k] - mean) * (sel[k] - mean);
    double sd = sqrt(ss / 2), half = 4.3027 * sd / sqrt(3.0);
    CHECK(test_sql_int(h, "SELECT n FROM split_summaries") == 3);
    CHECK(test_sql_int(h, "SELECT splits FROM split_summaries") == 3);
    CHECK_CLOSE(q_real(h, "SELECT selected_test_mean FROM split_summaries"),
                mean, 0, 1e-12);
    CHECK_CLOSE(q_real(h, "SELECT selected_test_sd FROM split_summaries"), sd,
                0, 1e-12);
    CHECK_CLOSE(q_real(h, "SELECT selected_test_ci_lo FROM split_summaries"),
                mean - half, 0, 1e-12);
    CHECK_CLOSE(q_real(h, "SELECT selected_test_ci_hi FROM split_summaries"),
                mean + half, 0, 1e-12);
    CHECK_CLOSE(q_real(h, "SELECT selected_val_mean FROM split_summaries"),
                mean - 0.05, 0, 1e-12);
    CHECK_CLOSE(q_real(h, "SELECT final_test_sd FROM split_summaries"), sd, 0,
                1e-9);
    CHECK_CLOSE(q_real(h, "SELECT refit_test_mean FROM split_summaries"),
                mean - 0.02, 0, 1e-12);
    CHECK_CLOSE(q_real(h, "SELECT refit_test_sd FROM split_summaries"), sd, 0,
                1e-9);
    CHECK_CLOSE(q_real(h, "SELECT refit_test_ci_lo FROM split_summaries"),
                mean - 0.02 - half, 0, 1e-9);
    CHECK_CLOSE(q_real(h, "SELECT refit_test_ci_hi FROM split_summaries"),
                mean - 0.02 + half, 0, 1e-9);
    char buf[64];
    CHECK(strcmp(q_text(h, "SELECT params || '|' || runs || '|' || group_point "
                           "FROM split_summaries", buf, sizeof buf),
                 "hidden=2|1,2,3|3") == 0);
    /* updating again replaces the row */
    CHECK_MSG(db && db_split_summary_update(db, "e-1", 3, 3, "hidden=2", err)
              == 0, "%s", err);
    CHECK(test_sql_int(h, "SELECT count(*) FROM split_summaries") == 1);
    sqlite3_close(h);
    db_close(db);
    test_rm_tree(dir);
}

static void test_open_query_refusals(void) {
    const char *dir = test_tmp_dir("dbtest");
    char path[512], err[ERR_MAX];
    sqlite3 *h = (sqlite3 *)1;
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(path, sizeof path, "%s/missing.db", dir);
    CHECK(db_open_query(&h, path, err) == -1 && h == NULL);
    CHECK_MSG(strstr(err, "No such file") != NULL, "%s", err);
    struct stat st;
    CHECK(stat(path, &st) != 0);          /* not created */
    CHECK(db_open_query(&h, dir, err) == -1);
    CHECK_MSG(strstr(err, "is a directory") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/text.db", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        for (int i = 0; i < 100; i++) fputs("not a database at all\n", f);
        fclose(f);
    }
    CHECK(db_open_query(&h, path, err) == -1);
    CHECK_MSG(strstr(err, "is not an SQLite database") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/empty.db", dir);
    f = fopen(path, "w");
    if (f) fclose(f);
    CHECK(db_open_query(&h, path, err) == -1);
    CHECK_MSG(strstr(err, "holds no autorec results") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/other.db", dir);
    sqlite3 *raw = raw_open(path);
    CHECK(raw && sqlite3_exec(raw, "CREATE TABLE t(x)", NULL, NULL, NULL) ==
                     SQLITE_OK);
    sqlite3_close(raw);
    CHECK(db_open_query(&h, path, err) == -1);
    CHECK_MSG(strstr(err, "not an autorec results database") != NULL, "%s",
              err);
    raw = raw_open(path);
    CHECK(raw && sqlite3_exec(raw, "DROP TABLE t; CREATE TABLE runs(x);"
                                   "CREATE TABLE epochs(y); PRAGMA "
                                   "user_version = 9", NULL, NULL, NULL) ==
                     SQLITE_OK);
    sqlite3_close(raw);
    CHECK(db_open_query(&h, path, err) == -1);
    char want[64];
    snprintf(want, sizeof want, "newer autorec (schema 9 > %d)", DB_SCHEMA_VERSION);
    CHECK_MSG(strstr(err, want) != NULL, "%s", err);
    test_rm_tree(dir);
}

/* Schema 6: run_summary shows a running run whose heartbeat is older than
 * DB_STALE_SECONDS (or missing) as 'stale', a fresh one as 'running', and
 * leaves the row's own status alone; a database of the previous schema
 * gets the new view when opened.  db_heartbeat_run refreshes a running run only. */
static void test_migrate_v5_stale_status(void) {
    char path[512], err[ERR_MAX], buf[64];
    const char *dir = tmp_file("v5.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t live = 0, dead = 0, done = 0;
    CHECK_MSG(db_open(&db, path, err) == 0 &&
              db_run_begin(db, &info, &live, err) == 0 &&
              db_run_begin(db, &info, &dead, err) == 0 &&
              db_run_begin(db, &info, &done, err) == 0 &&
              db_run_end(db, done, "finished", err) == 0, "%s", err);
    db_close(db);
    db = NULL;
    sqlite3 *h = raw_open(path);
    /* as the previous schema left it: the old view (status as stored), a
     * killed single run without a heartbeat, a finished run whose
     * heartbeat is long past */
    char old[320];
    CHECK(drop_v6(h) == SQLITE_OK);
    snprintf(old, sizeof old, "CREATE VIEW run_summary "
             "AS SELECT id, status FROM runs; UPDATE runs SET heartbeat_at = "
             "NULL WHERE id = 2; UPDATE runs SET heartbeat_at = 0 WHERE id = "
             "3; PRAGMA user_version = %d", 5);
    CHECK(sqlite3_exec(h, old, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    CHECK_MSG(db_open(&db, path, err) == 0, "%s", err);
    h = raw_open(path);
    CHECK(test_sql_int(h, "PRAGMA user_version") == DB_SCHEMA_VERSION);
    CHECK(strcmp(q_text(h, "SELECT status FROM run_summary WHERE id = 1", buf,
                        sizeof buf), "running") == 0);
    CHECK(strcmp(q_text(h, "SELECT status FROM run_summary WHERE id = 2", buf,
                        sizeof buf), "stale") == 0);
    CHECK(strcmp(q_text(h, "SELECT status FROM run_summary WHERE id = 3", buf,
                        sizeof buf), "finished") == 0);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE status = "
                          "'running'") == 2);
    /* a heartbeat older than DB_STALE_SECONDS: stale; db_heartbeat_run
     * makes it live again and does not touch the finished run */
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE runs SET heartbeat_at = heartbeat_at - "
             "%d WHERE id = 1", DB_STALE_SECONDS + 1);
    CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(strcmp(q_text(h, "SELECT status FROM run_summary WHERE id = 1", buf,
                        sizeof buf), "stale") == 0);
    CHECK_MSG(db && db_heartbeat_run(db, live, err) == 0 &&
              db_heartbeat_run(db, done, err) == 0, "%s", err);
    CHECK(strcmp(q_text(h, "SELECT status FROM run_summary WHERE id = 1", buf,
                        sizeof buf), "running") == 0);
    CHECK(test_sql_int(h, "SELECT heartbeat_at FROM runs WHERE id = 3") == 0);
    CHECK(strcmp(q_text(h, "PRAGMA integrity_check", buf, sizeof buf), "ok") == 0);
    sqlite3_close(h);
    db_close(db);
    test_rm_tree(dir);
}

/* A write waiting for a lock held by another connection gives up once a
 * stop signal is pending (stop_signal set), saying why, instead of waiting
 * out the busy timeout and its retries (minutes). */
static void test_lock_wait_ends_on_stop(void) {
    char path[512], err[ERR_MAX];
    const char *dir = tmp_file("lock.db", path, sizeof path);
    if (!dir) return;
    Config c;
    fill_cfg(&c);
    DbRunInfo info = fill_info(&c);
    Db *db = NULL;
    int64_t id = 0;
    CHECK_MSG(db_open(&db, path, err) == 0 &&
              db_run_begin(db, &info, &id, err) == 0, "%s", err);
    sqlite3 *h = raw_open(path);
    CHECK(sqlite3_exec(h, "BEGIN IMMEDIATE; UPDATE runs SET name = name",
                       NULL, NULL, NULL) == SQLITE_OK);
    DbEpoch ep = {1, 5.0, 0.9, 1.0, 1.0, 0.7, 0, 0, 0, 0, .has_ema = 0};
    stop_signal = SIGTERM;
    CHECK(db && db_epoch_add(db, id, &ep, err) == -1);
    CHECK_MSG(strstr(err, "locked by another process and SIGTERM asked to "
                          "stop") != NULL, "%s", err);
    CHECK(db && db_run_end(db, id, "interrupted", err) == -1);
    stop_signal = 0;
    CHECK(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    /* the lock released: the same connection writes again */
    CHECK_MSG(db && db_epoch_add(db, id, &ep, err) == 0 &&
              db_run_end(db, id, "interrupted", err) == 0, "%s", err);
    db_close(db);
    test_rm_tree(dir);
}

void suite_db(void) {
    RUN(test_open_creates_schema);
    RUN(test_round_trip);
    RUN(test_not_sqlite_refused);
    RUN(test_newer_version_refused);
    RUN(test_migrate_v3);
    RUN(test_migrate_v4);
    RUN(test_migrate_v5);
    RUN(test_migrate_v5_pruned);
    RUN(test_migrate_v5_peak_rss);
    RUN(test_migrate_v5_stale_status);
    RUN(test_migrate_v6);
    RUN(test_migrate_v7);
    RUN(test_member_and_ensemble_rows);
    RUN(test_lock_wait_ends_on_stop);
    RUN(test_refit_epochs);
    RUN(test_split_summary);
    RUN(test_foreign_db_refused);
    RUN(test_bad_epochs);
    RUN(test_nested_dirs_and_bad_paths);
    RUN(test_unwritable_directory);
    RUN(test_two_connections);
    RUN(test_open_alloc_failures);
    RUN(test_migrate_v1);
    RUN(test_open_query_refusals);
}

/* db.c - the SQLite results database (see db.h).
 *
 * One Db holds one connection and its prepared statements, prepared once in
 * db_open and finalized in db_close.  Functions return 0 on success and -1
 * on failure with a message (naming the database path and saying what to
 * do) in the caller's err buffer.  Opening refuses, before changing anything
 * in the file, files that are not SQLite, SQLite databases that are not
 * autorec's, and databases written by a newer schema version.
 *
 * No global mutable state. */
#include "db.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"
#include "mem.h"

#define DB_NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

struct Db {
    sqlite3 *db;
    char *path;                 /* owned copy of the path, for messages */
    sqlite3_stmt *run_insert;
    sqlite3_stmt *epoch_insert;
    sqlite3_stmt *run_update_epoch;
    sqlite3_stmt *run_end;
    sqlite3_stmt *begin, *commit, *rollback;
};

static const char db_schema[] =
    "CREATE TABLE runs(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  status TEXT NOT NULL CHECK(status IN ('running','finished','failed',"
    "'interrupted','diverged')),\n"
    "  config_yaml TEXT,\n"
    "  started_at TEXT NOT NULL,\n"
    "  finished_at TEXT,\n"
    "  host TEXT,\n"
    "  threads INTEGER,\n"
    "  kernel TEXT,\n"
    "  git_commit TEXT,\n"
    "  blis_info TEXT,\n"
    "  data_path TEXT,\n"
    "  data_format TEXT,\n"
    "  test_ratio REAL,\n"
    "  hidden INTEGER,\n"
    "  lr REAL,\n"
    "  weight_decay REAL,\n"
    "  dropout REAL,\n"
    "  epochs INTEGER,\n"
    "  batch_size INTEGER,\n"
    "  seed INTEGER,\n"
    "  final_test_rmse REAL,\n"
    "  best_test_rmse REAL,\n"
    "  best_epoch INTEGER\n"
    ");\n"
    "CREATE TABLE epochs(\n"
    "  run_id INTEGER NOT NULL,\n"
    "  epoch INTEGER NOT NULL CHECK(epoch >= 1),\n"
    "  train_loss REAL,\n"
    "  test_rmse REAL,\n"
    "  train_seconds REAL,\n"
    "  eval_seconds REAL,\n"
    "  PRIMARY KEY(run_id, epoch),\n"
    "  FOREIGN KEY(run_id) REFERENCES runs(id)\n"
    ");\n"
    "CREATE INDEX runs_status ON runs(status);\n"
    "CREATE INDEX runs_name ON runs(name);\n";

/* Creates the parent directories of path (mkdir -p).  Returns 0, or -1 with
 * err naming the directory that could not be created. */
static int db_make_parents(const char *path, char *err) {
    char *dir = mem_strdup(path);
    int rc = -1;
    struct stat st;
    if (!dir) return err_set(err, "%s: out of memory", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) { rc = 0; goto done; }   /* cwd or root */
    *slash = '\0';
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) rc = 0;
        else err_set(err, "cannot create the database %s: %s is not a "
                          "directory: choose another --db path", path, dir);
        goto done;
    }
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            err_set(err, "cannot create directory %s for the database %s: %s: "
                         "choose another --db path or fix the permissions",
                    dir, path, strerror(errno));
            goto done;
        }
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            err_set(err, "cannot create directory %s for the database %s: a "
                         "file is in the way: choose another --db path",
                    dir, path);
            goto done;
        }
        *p = c;
        if (c == '\0') break;
    }
    rc = 0;
done:
    mem_free(dir);
    return rc;
}

/* Formats a message for a failed SQLite call on db into err, turning the
 * common codes into advice.  `what` says what was being done.  Returns -1. */
static int db_fail(Db *db, int rc, const char *what, char *err) {
    int prim = rc & 0xff;
    if (prim == SQLITE_NOTADB)
        return err_set(err, "%s is not an SQLite database: choose another --db "
                            "path or move the file away", db->path);
    if (prim == SQLITE_READONLY)
        return err_set(err, "cannot %s in %s: the database is read-only: fix "
                            "its permissions or choose another --db path",
                       what, db->path);
    if (prim == SQLITE_CANTOPEN || prim == SQLITE_PERM) {
        int e = sqlite3_system_errno(db->db);
        return err_set(err, "cannot open %s: %s: check the --db path and "
                            "the permissions of its directory",
                       db->path, e ? strerror(e) : sqlite3_errmsg(db->db));
    }
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return err_set(err, "cannot %s in %s: the database is locked by "
                            "another process: retry later", what, db->path);
    return err_set(err, "cannot %s in %s: %s", what, db->path,
                   sqlite3_errmsg(db->db));
}

/* Runs a one-row integer query (e.g. a PRAGMA) and stores its first column
 * in *out (0 when no row).  Returns an SQLite result code. */
static int db_query_int(sqlite3 *h, const char *sql, sqlite3_int64 *out) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) goto done;
    *out = 0;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
done:
    sqlite3_finalize(st);
    return rc;
}

/* Reads db's user_version into *version and checks its tables: returns 0
 * when they are compatible with autorec (none at all for version 0; runs and
 * epochs for a later version), 1 when they are not (err filled), or -1 when
 * SQLite failed (err filled). */
static int db_inspect(Db *db, sqlite3_int64 *version, char *err) {
    sqlite3_stmt *st = NULL;
    int have_runs = 0, have_epochs = 0, others = 0, ret = -1;
    char other[128] = "";
    int rc = db_query_int(db->db, "PRAGMA user_version", version);
    if (rc != SQLITE_OK) goto cleanup;
    rc = sqlite3_prepare_v2(db->db,
                            "SELECT name FROM sqlite_master WHERE type = "
                            "'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE "
                            "'\\' ORDER BY name",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) goto cleanup;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (!t) continue;
        if (strcmp(t, "runs") == 0) have_runs = 1;
        else if (strcmp(t, "epochs") == 0) have_epochs = 1;
        else if (!others++) snprintf(other, sizeof other, "%s", t);
    }
    if (rc != SQLITE_DONE) goto cleanup;
    rc = SQLITE_OK;
    ret = 0;
    if (*version > DB_SCHEMA_VERSION) {
        ret = 1;
        err_set(err, "%s was written by a newer autorec (schema %lld > %d): "
                     "upgrade autorec or use another --db",
                db->path, (long long)*version, DB_SCHEMA_VERSION);
    } else if (*version == 0 && (have_runs || have_epochs || others)) {
        ret = 1;
        err_set(err, "%s is not an autorec results database (it holds table "
                     "'%s' but no autorec schema version): choose another "
                     "--db path",
                db->path, others ? other : have_runs ? "runs" : "epochs");
    } else if (*version > 0 && !(have_runs && have_epochs)) {
        ret = 1;
        err_set(err, "%s is not an autorec results database (user_version "
                     "%lld but no %s table): choose another --db path",
                db->path, (long long)*version, have_runs ? "epochs" : "runs");
    }
cleanup:
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, "read the database", err);
        ret = -1;
    }
    return ret;
}

/* Creates the schema in one transaction unless another process did so
 * meanwhile.  Returns 0 or -1 with err. */
static int db_create_schema(Db *db, char *err) {
    sqlite3_int64 version = 0;
    char *msg = NULL;
    int rc = sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return db_fail(db, rc, "create the schema", err);
    rc = db_query_int(db->db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK && version == 0) {
        char sql[sizeof db_schema + 64];
        snprintf(sql, sizeof sql, "%sPRAGMA user_version = %d;", db_schema,
                 DB_SCHEMA_VERSION);
        rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg);
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, "create the schema", err);
        if (!sqlite3_get_autocommit(db->db))
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_free(msg);
        return -1;
    }
    sqlite3_free(msg);
    return 0;
}

/* Prepares one statement of db.  Returns 0 or -1 with err. */
static int db_prepare(Db *db, const char *sql, sqlite3_stmt **st, char *err) {
    int rc = sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                                NULL);
    if (rc != SQLITE_OK) return db_fail(db, rc, "prepare a statement", err);
    return 0;
}

/* See db.h.  Returns 0 and sets *out (owned by the caller, db_close), or -1
 * with err and *out = NULL. */
int db_open(Db **out, const char *path, char *err) {
    Db *db = NULL;
    sqlite3_int64 version = 0;
    int rc;

    assert(out && path);
    *out = NULL;
    if (path[0] == '\0')
        return err_set(err, "the database path is empty: pass --db PATH");
    if (db_make_parents(path, err)) return -1;
    db = mem_calloc(1, sizeof *db);
    if (!db || !(db->path = mem_strdup(path))) {
        err_set(err, "%s: out of memory", path);
        goto fail;
    }
    rc = sqlite3_open_v2(path, &db->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        if (!db->db) err_set(err, "cannot open %s: out of memory", path);
        else db_fail(db, rc, "open the database", err);
        goto fail;
    }
    sqlite3_extended_result_codes(db->db, 1);
    sqlite3_busy_timeout(db->db, 10000);

    /* Inspect before changing anything (journal mode writes the header). */
    if (db_inspect(db, &version, err)) goto fail;
    if (sqlite3_db_readonly(db->db, "main") == 1) {
        err_set(err, "cannot open %s: permission denied (the file is "
                     "read-only): fix its permissions or use another --db",
                path);
        goto fail;
    }
    rc = sqlite3_exec(db->db,
                      "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
                      "PRAGMA synchronous=NORMAL;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, "configure the database", err);
        goto fail;
    }
    if (version == 0 && db_create_schema(db, err)) goto fail;

    if (db_prepare(db,
                   "INSERT INTO runs(name, status, config_yaml, started_at, "
                   "host, threads, kernel, git_commit, blis_info, data_path, "
                   "data_format, test_ratio, hidden, lr, weight_decay, "
                   "dropout, epochs, batch_size, seed) VALUES(?1, 'running', "
                   "?2, " DB_NOW ", ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                   "?12, ?13, ?14, ?15, ?16, ?17)",
                   &db->run_insert, err) ||
        db_prepare(db,
                   "INSERT INTO epochs(run_id, epoch, train_loss, test_rmse, "
                   "train_seconds, eval_seconds) VALUES(?1, ?2, ?3, ?4, ?5, "
                   "?6)",
                   &db->epoch_insert, err) ||
        db_prepare(db,
                   "UPDATE runs SET final_test_rmse = ?1, "
                   "best_epoch = CASE WHEN best_test_rmse IS NULL OR ?1 < "
                   "best_test_rmse THEN ?2 ELSE best_epoch END, "
                   "best_test_rmse = CASE WHEN best_test_rmse IS NULL OR ?1 < "
                   "best_test_rmse THEN ?1 ELSE best_test_rmse END "
                   "WHERE id = ?3",
                   &db->run_update_epoch, err) ||
        db_prepare(db,
                   "UPDATE runs SET status = ?1, finished_at = " DB_NOW
                   " WHERE id = ?2",
                   &db->run_end, err) ||
        db_prepare(db, "BEGIN IMMEDIATE", &db->begin, err) ||
        db_prepare(db, "COMMIT", &db->commit, err) ||
        db_prepare(db, "ROLLBACK", &db->rollback, err))
        goto fail;
    *out = db;
    return 0;
fail:
    db_close(db);
    return -1;
}

/* See db.h.  Finalizes the statements, closes the connection and frees db. */
void db_close(Db *db) {
    if (!db) return;
    sqlite3_finalize(db->run_insert);
    sqlite3_finalize(db->epoch_insert);
    sqlite3_finalize(db->run_update_epoch);
    sqlite3_finalize(db->run_end);
    sqlite3_finalize(db->begin);
    sqlite3_finalize(db->commit);
    sqlite3_finalize(db->rollback);
    sqlite3_close(db->db);   /* NULL is a harmless no-op */
    mem_free(db->path);
    mem_free(db);
}

/* Steps a statement that returns no rows, then resets it (keeping its
 * bindings cleared).  Returns an SQLite result code (SQLITE_OK on success). */
static int db_step_done(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Binds a possibly NULL text.  Returns an SQLite result code. */
static int db_bind_text(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
             : sqlite3_bind_null(st, i);
}

/* See db.h.  Returns 0 and sets *run_id, or -1 with err. */
int db_run_begin(Db *db, const DbRunInfo *info, int64_t *run_id, char *err) {
    assert(db && info && info->cfg && run_id);
    const Config *c = info->cfg;
    sqlite3_stmt *st = db->run_insert;
    int rc = SQLITE_OK;

    if (c->seed > (uint64_t)INT64_MAX)
        return err_set(err, "cannot record the run in %s: train.seed %llu does "
                            "not fit a 64-bit signed integer: use a seed <= "
                            "9223372036854775807",
                       db->path, (unsigned long long)c->seed);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 1, c->name);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 2, info->config_yaml);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 3, info->host);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 4, info->threads);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 5, info->kernel);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 6, info->git_commit);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 7, info->blis_info);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 8, c->data_path);
    if (rc == SQLITE_OK)
        rc = db_bind_text(st, 9, cfg_format_name(c->data_format));
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 10, c->test_ratio);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 11, c->hidden);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 12, c->lr);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 13, c->weight_decay);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 14, c->dropout);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 15, c->epochs);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 16, c->batch_size);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 17, (sqlite3_int64)c->seed);
    if (rc == SQLITE_OK) {
        rc = db_step_done(st);
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc != SQLITE_OK) return db_fail(db, rc, "record the run", err);
    *run_id = sqlite3_last_insert_rowid(db->db);
    return 0;
}

/* See db.h.  Returns 0, or -1 with err after rolling the transaction back
 * (nothing of the epoch is stored then).  Non-finite values are refused. */
int db_epoch_add(Db *db, int64_t run_id, const DbEpoch *e, char *err) {
    assert(db && e);
    sqlite3_stmt *st = NULL;
    char what[96];
    int rc, ret = -1;

    snprintf(what, sizeof what, "record epoch %d of run %lld", e->epoch,
             (long long)run_id);
    if (!isfinite(e->test_rmse))
        return err_set(err, "cannot %s in %s: test RMSE is %g (not finite); "
                            "record the run as diverged instead",
                       what, db->path, e->test_rmse);
    if (!isfinite(e->train_loss) || !isfinite(e->train_seconds) ||
        !isfinite(e->eval_seconds))
        return err_set(err, "cannot %s in %s: train loss %g, train seconds %g "
                            "and eval seconds %g must be finite",
                       what, db->path, e->train_loss, e->train_seconds,
                       e->eval_seconds);
    if (e->epoch < 1)
        return err_set(err, "cannot %s in %s: epochs are numbered from 1",
                       what, db->path);

    rc = db_step_done(db->begin);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, what, err);
        goto cleanup;
    }
    st = db->epoch_insert;
    rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, e->epoch);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 3, e->train_loss);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 4, e->test_rmse);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 5, e->train_seconds);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 6, e->eval_seconds);
    if (rc == SQLITE_OK) rc = db_step_done(st);
    if (rc != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if ((rc & 0xff) == SQLITE_CONSTRAINT &&
            rc != SQLITE_CONSTRAINT_FOREIGNKEY)
            err_set(err, "cannot %s in %s: %s (the epoch is already recorded)",
                    what, db->path, sqlite3_errmsg(db->db));
        else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            err_set(err, "cannot %s in %s: no run %lld", what, db->path,
                    (long long)run_id);
        else
            db_fail(db, rc, what, err);
        goto cleanup;
    }
    st = db->run_update_epoch;
    rc = sqlite3_bind_double(st, 1, e->test_rmse);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, e->epoch);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, run_id);
    if (rc == SQLITE_OK) rc = db_step_done(st);
    if (rc != SQLITE_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        db_fail(db, rc, what, err);
        goto cleanup;
    }
    if (sqlite3_changes(db->db) != 1) {
        err_set(err, "cannot %s in %s: no run %lld", what, db->path,
                (long long)run_id);
        goto cleanup;
    }
    rc = db_step_done(db->commit);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, what, err);
        goto cleanup;
    }
    ret = 0;
cleanup:
    if (ret != 0 && !sqlite3_get_autocommit(db->db))
        (void)db_step_done(db->rollback);
    return ret;
}

/* See db.h.  status must be one of finished, failed, interrupted, diverged.
 * Returns 0 or -1 with err. */
int db_run_end(Db *db, int64_t run_id, const char *status, char *err) {
    static const char *const ok[] = {"finished", "failed", "interrupted",
                                     "diverged"};
    assert(db && status);
    int valid = 0, rc;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        valid |= strcmp(status, ok[i]) == 0;
    if (!valid)
        return err_set(err, "cannot end run %lld in %s: status '%s' is not "
                            "one of finished, failed, interrupted, diverged",
                       (long long)run_id, db->path, status);
    rc = sqlite3_bind_text(db->run_end, 1, status, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(db->run_end, 2, run_id);
    if (rc == SQLITE_OK) {
        rc = db_step_done(db->run_end);
    } else {
        sqlite3_reset(db->run_end);
        sqlite3_clear_bindings(db->run_end);
    }
    if (rc != SQLITE_OK) return db_fail(db, rc, "end the run", err);
    if (sqlite3_changes(db->db) != 1)
        return err_set(err, "cannot end run %lld in %s: no such run",
                       (long long)run_id, db->path);
    return 0;
}

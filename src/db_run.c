/* db_run.c - one run in the results database (see db.h): its row, its
 * epochs and refit epochs (each in its own transaction together with the
 * run's columns, so a crash never leaves half an epoch), its checkpoint,
 * peak memory and end.  With a worker id set (db_set_worker) every write
 * touches only a run this worker still holds.
 *
 * No global mutable state. */
#include "db_internal.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "err.h"
#include "mem.h"

#define DB_NARGS(a) ((int)(sizeof(a) / sizeof(a)[0]))

int db_check_info(Db *db, const DbRunInfo *info, char *err) {
    if (info->cfg->seed > (uint64_t)INT64_MAX)
        return err_set(err, "cannot record the run in %s: train.seed %llu does "
                            "not fit a 64-bit signed integer: use a seed <= "
                            "9223372036854775807",
                       db->path, (unsigned long long)info->cfg->seed);
    return 0;
}

/* See db.h.  Returns 0 and sets *run_id, or -1 with err. */
int db_run_begin(Db *db, const DbRunInfo *info, int64_t *run_id, char *err) {
    assert(db && info && info->cfg && run_id);
    if (db_check_info(db, info, err)) return -1;
    int rc = db_bind_info(db->st[DB_ST_RUN_INSERT], info);
    rc = db_exec(db, DB_ST_RUN_INSERT, rc, NULL, 0);
    if (rc != SQLITE_OK) return db_fail(db, rc, "record the run", err);
    *run_id = sqlite3_last_insert_rowid(db->db);
    return 0;
}

/* Checks that epoch e can be recorded (`what` names it in messages): a
 * finite test RMSE, train loss and timings, and a number from 1.  Returns 0
 * or -1 with err. */
static int db_check_epoch(const Db *db, const char *what, const DbEpoch *e,
                          char *err) {
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
    return 0;
}

/* Fills err after a failed INSERT of an epoch row (`what` names it). */
static void db_epoch_insert_failed(Db *db, int rc, const char *what,
                                   int64_t run_id, char *err) {
    if ((rc & 0xff) == SQLITE_CONSTRAINT && rc != SQLITE_CONSTRAINT_FOREIGNKEY)
        err_set(err, "cannot %s in %s: %s (the epoch is already recorded)",
                what, db->path, sqlite3_errmsg(db->db));
    else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        err_set(err, "cannot %s in %s: no run %lld", what, db->path,
                (long long)run_id);
    else
        db_fail(db, rc, what, err);
}

/* Fills err when the run update after an epoch touched no row. */
static void db_epoch_lost_run(const Db *db, const char *what, int64_t run_id,
                              char *err) {
    if (db->worker)
        err_set(err, "cannot %s in %s: worker %s no longer holds the run "
                     "(it was taken over as stale)", what, db->path,
                db->worker);
    else
        err_set(err, "cannot %s in %s: no run %lld", what, db->path,
                (long long)run_id);
}

/* See db.h.  Returns 0, or -1 with err. */
int db_check_file(const Db *db, const char *what, char *err) {
    struct stat sb;
    if (!db->has_file) return 0;
    if (stat(db->path, &sb) != 0)
        return err_set(err, "cannot %s: the database %s was deleted or moved "
                       "while this process wrote to it (%s): what it wrote "
                       "since is in the removed file and lost; restore the "
                       "file or run again", what, db->path, strerror(errno));
    if (sb.st_dev != db->dev || sb.st_ino != db->ino)
        return err_set(err, "cannot %s: the database %s was replaced by "
                       "another file while this process wrote to it: what it "
                       "wrote since is in the replaced file and lost; run "
                       "again", what, db->path);
    return 0;
}

/* See db.h.  Returns 0, or -1 with err. */
int db_run_key_read(sqlite3 *h, int64_t run_id, uint64_t *key, char *err) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, "SELECT started_at, host, config_yaml "
                                   "FROM runs WHERE id = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *key = ckpt_run_key((const char *)sqlite3_column_text(st, 0),
                            (const char *)sqlite3_column_text(st, 1),
                            (const char *)sqlite3_column_text(st, 2));
    if (rc != SQLITE_ROW)
        err_set(err, "cannot read the identity of run %lld in %s: %s",
                (long long)run_id, sqlite3_db_filename(h, "main"),
                rc == SQLITE_DONE ? "no such run" : sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* See db.h: db_run_key_read on db's connection. */
int db_run_key(Db *db, int64_t run_id, uint64_t *key, char *err) {
    return db_run_key_read(db->db, run_id, key, err);
}

/* Records epoch e of run_id in one transaction: the row (statement ins,
 * with args ins_args), then the run's columns (upd, upd_args), which must
 * touch exactly the run (held by this worker).  `what` names the epoch in
 * messages.  Returns 0, or -1 with err after rolling back (nothing of the
 * epoch is stored then). */
static int db_epoch_write(Db *db, const char *what, int64_t run_id,
                          const DbEpoch *e, DbStmt ins,
                          const DbArg *ins_args, int n_ins, DbStmt upd,
                          const DbArg *upd_args, int n_upd, char *err) {
    int rc;
    if (db_check_epoch(db, what, e, err) || db_check_file(db, what, err))
        return -1;
    rc = db_begin(db);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, what, err);
        goto fail;
    }
    rc = db_exec(db, ins, SQLITE_OK, ins_args, n_ins);
    if (rc != SQLITE_OK) {
        db_epoch_insert_failed(db, rc, what, run_id, err);
        goto fail;
    }
    rc = db_exec(db, upd, SQLITE_OK, upd_args, n_upd);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, what, err);
        goto fail;
    }
    if (sqlite3_changes(db->db) != 1) {
        db_epoch_lost_run(db, what, run_id, err);
        goto fail;
    }
    rc = db_commit(db);
    if (rc == SQLITE_OK) return 0;
    db_fail(db, rc, what, err);
fail:
    db_rollback(db);
    return -1;
}

/* The values of epoch e of run_id that a row of epochs and of refit_epochs
 * both take, into a (DB_EPOCH_ROW_ARGS of them). */
#define DB_EPOCH_ROW_ARGS 7
static void db_epoch_row_args(DbArg *a, int64_t run_id, const DbEpoch *e) {
    a[0] = db_arg_int(":run", run_id);
    a[1] = db_arg_int(":epoch", e->epoch);
    a[2] = db_arg_real(":train_loss", e->train_loss);
    a[3] = db_arg_real(":test_rmse", e->test_rmse);
    a[4] = db_arg_finite(":test_mae", e->test_mae);
    a[5] = db_arg_real(":train_seconds", e->train_seconds);
    a[6] = db_arg_real(":eval_seconds", e->eval_seconds);
}

/* See db.h.  Returns 0, or -1 with err after rolling the transaction back
 * (nothing of the epoch is stored then).  Non-finite values are refused. */
int db_epoch_add(Db *db, int64_t run_id, const DbEpoch *e, char *err) {
    char what[96];
    DbArg row[DB_EPOCH_ROW_ARGS + 8];
    assert(db && e);
    snprintf(what, sizeof what, "record epoch %d of run %lld", e->epoch,
             (long long)run_id);
    db_epoch_row_args(row, run_id, e);
    row[DB_EPOCH_ROW_ARGS] = e->has_val ? db_arg_real(":val_rmse", e->val_rmse)
                                        : db_arg_null(":val_rmse");
    row[DB_EPOCH_ROW_ARGS + 1] = e->has_val
                                     ? db_arg_real(":val_mae", e->val_mae)
                                     : db_arg_null(":val_mae");
    /* train.ema: the moving average's RMSE; eval.top_k_every: ranking */
    row[DB_EPOCH_ROW_ARGS + 2] =
        e->has_ema && e->has_val ? db_arg_finite(":ema_val_rmse", e->ema_val_rmse)
                                 : db_arg_null(":ema_val_rmse");
    row[DB_EPOCH_ROW_ARGS + 3] =
        e->has_ema ? db_arg_finite(":ema_test_rmse", e->ema_test_rmse)
                   : db_arg_null(":ema_test_rmse");
    static const char *const topn[4] = {":precision_at_k", ":recall_at_k",
                                        ":ndcg_at_k", ":hit_rate_at_k"};
    for (int k = 0; k < 4; k++)
        row[DB_EPOCH_ROW_ARGS + 4 + k] = e->has_topn
                                             ? db_arg_finite(topn[k], e->topn[k])
                                             : db_arg_null(topn[k]);
    const int ema = e->selected_ema;   /* the chosen weights' RMSEs */
    DbArg run[] = {
        db_arg_real(":test_rmse", e->test_rmse),
        db_arg_int(":epoch", e->epoch),
        db_arg_int(":run", run_id),
        db_arg_real(":seconds", e->train_seconds + e->eval_seconds),
        db_arg_text(":worker", db->worker),
        db_arg_int(":selected", e->selected != 0),
        db_arg_real(":selected_test_rmse", ema ? e->ema_test_rmse
                                               : e->test_rmse),
        e->has_val ? db_arg_real(":selected_val_rmse", ema ? e->ema_val_rmse
                                                           : e->val_rmse)
                   : db_arg_null(":selected_val_rmse"),
        db_arg_text(":selected_weights", !e->has_ema ? NULL
                                         : ema ? "ema" : "raw"),
    };
    return db_epoch_write(db, what, run_id, e, DB_ST_EPOCH_INSERT, row,
                          DB_NARGS(row), DB_ST_RUN_UPDATE_EPOCH, run,
                          DB_NARGS(run), err);
}

/* See db.h.  Returns 0, or -1 with err after rolling the transaction back.
 * e->has_val and e->selected are ignored (a refit has no validation). */
int db_refit_epoch_add(Db *db, int64_t run_id, const DbEpoch *e, char *err) {
    char what[96];
    assert(db && e);
    snprintf(what, sizeof what, "record refit epoch %d of run %lld", e->epoch,
             (long long)run_id);
    DbArg row[DB_EPOCH_ROW_ARGS];
    db_epoch_row_args(row, run_id, e);
    DbArg run[] = {
        db_arg_int(":run", run_id),
        db_arg_int(":epoch", e->epoch),
        db_arg_real(":test_rmse", e->test_rmse),
        db_arg_finite(":test_mae", e->test_mae),
        db_arg_real(":seconds", e->train_seconds + e->eval_seconds),
        db_arg_text(":worker", db->worker),
    };
    return db_epoch_write(db, what, run_id, e, DB_ST_REFIT_INSERT, row,
                          DB_NARGS(row), DB_ST_RUN_UPDATE_REFIT, run,
                          DB_NARGS(run), err);
}

/* Writes one column of run run_id held by this worker: statement id with
 * value v (args naming :run and :worker too); what names it in messages.
 * Returns 0 or -1 with err (also when no such run is held). */
static int db_run_set(Db *db, DbStmt id, int64_t run_id, DbArg v,
                      const char *what, char *err) {
    DbArg a[] = {v, db_arg_int(":run", run_id),
                 db_arg_text(":worker", db->worker)};
    int rc = db_exec(db, id, SQLITE_OK, a, DB_NARGS(a));
    if (rc != SQLITE_OK) return db_fail(db, rc, what, err);
    if (sqlite3_changes(db->db) != 1)
        return err_set(err, "cannot %s of run %lld in %s: no such run%s",
                       what, (long long)run_id, db->path,
                       db->worker ? " held by this worker" : "");
    return 0;
}

/* See db.h.  Returns 0 or -1 with err. */
int db_run_set_checkpoint(Db *db, int64_t run_id, const char *path,
                          char *err) {
    assert(db && path);
    if (db_check_file(db, "record the checkpoint", err)) return -1;
    return db_run_set(db, DB_ST_RUN_CHECKPOINT, run_id,
                      db_arg_text(":checkpoint", path), "record the checkpoint",
                      err);
}

/* See db.h.  Returns 0 or -1 with err. */
int db_run_set_peak_rss(Db *db, int64_t run_id, double mb, char *err) {
    assert(db);
    return db_run_set(db, DB_ST_RUN_PEAK_RSS, run_id,
                      mb >= 0 ? db_arg_real(":peak_rss_mb", mb)
                              : db_arg_null(":peak_rss_mb"),
                      "record the peak memory", err);
}

/* Ends run_id with status, message (runs.error) and, for 'pruned', the
 * epoch and reason (pruned_epoch 0: NULL).  Returns 0 or -1 with err. */
static int db_run_end_full(Db *db, int64_t run_id, const char *status,
                           const char *message, int pruned_epoch,
                           const char *reason, char *err) {
    static const char *const ok[] = {"finished", "failed", "interrupted",
                                     "diverged", "pruned"};
    assert(db && status);
    int valid = 0, rc;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        valid |= strcmp(status, ok[i]) == 0;
    if (!valid)
        return err_set(err, "cannot end run %lld in %s: status '%s' is not "
                            "one of finished, failed, interrupted, "
                            "diverged, pruned",
                       (long long)run_id, db->path, status);
    if (db_check_file(db, "end the run", err)) return -1;
    DbArg a[] = {
        db_arg_text(":status", status),
        db_arg_int(":run", run_id),
        db_arg_text(":error", message),
        db_arg_text(":worker", db->worker),
        pruned_epoch > 0 ? db_arg_int(":pruned_epoch", pruned_epoch)
                         : db_arg_null(":pruned_epoch"),
        db_arg_text(":pruned_reason", reason),
    };
    rc = db_exec(db, DB_ST_RUN_END, SQLITE_OK, a, DB_NARGS(a));
    if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL) {
        /* a full disk or file-size limit usually hit the growing WAL: move
         * its pages into the database and empty it, then try once more */
        sqlite3_wal_checkpoint_v2(db->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                  NULL, NULL);
        rc = db_exec(db, DB_ST_RUN_END, SQLITE_OK, a, DB_NARGS(a));
    }
    if (rc != SQLITE_OK) return db_fail(db, rc, "end the run", err);
    if (sqlite3_changes(db->db) != 1) {
        if (db->worker)
            return err_set(err, "cannot end run %lld in %s: worker %s no "
                                "longer holds it (it was taken over as stale)",
                           (long long)run_id, db->path, db->worker);
        return err_set(err, "cannot end run %lld in %s: no such run",
                       (long long)run_id, db->path);
    }
    return 0;
}

/* See db.h.  status must be one of finished, failed, interrupted, diverged.
 * Returns 0 or -1 with err. */
int db_run_end(Db *db, int64_t run_id, const char *status, char *err) {
    return db_run_end_full(db, run_id, status, NULL, 0, NULL, err);
}

/* See db.h.  Returns 0 or -1 with err. */
int db_run_end_msg(Db *db, int64_t run_id, const char *status,
                   const char *message, char *err) {
    return db_run_end_full(db, run_id, status, message, 0, NULL, err);
}

/* See db.h.  Returns 0 or -1 with err. */
int db_run_prune(Db *db, int64_t run_id, int epoch, const char *reason,
                 char *err) {
    return db_run_end_full(db, run_id, "pruned", NULL, epoch, reason, err);
}

/* See db.h.  Returns 0 or -1 with err; *vals owned by the caller. */
int db_peer_val_best(Db *db, const char *experiment, int64_t run_id,
                     int epoch, double **vals, int *n, char *err) {
    DbArg a[] = {db_arg_text(":experiment", experiment),
                 db_arg_int(":run", run_id), db_arg_int(":epoch", epoch)};
    int cap = 0, rc;
    sqlite3_stmt *st = db_query(db, DB_ST_PEER_VAL_BEST, a, DB_NARGS(a), &rc);
    *vals = NULL;
    *n = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (*n == cap) {
            int ncap = cap ? cap * 2 : 64;
            double *nv = mem_realloc(*vals, (size_t)ncap * sizeof *nv);
            if (!nv) {
                rc = SQLITE_NOMEM;
                break;
            }
            *vals = nv;
            cap = ncap;
        }
        (*vals)[(*n)++] = sqlite3_column_double(st, 0);
    }
    db_reset(st);
    if (rc == SQLITE_DONE) return 0;
    mem_free(*vals);
    *vals = NULL;
    *n = 0;
    if (rc == SQLITE_NOMEM)
        return err_set(err, "%s: out of memory reading the validation RMSEs "
                       "of experiment %s", db->path, experiment);
    return db_fail(db, rc, "read the other trials' validation RMSEs", err);
}

/* See db.h.  Returns 0 or -1 with err. */
int db_run_set_info(Db *db, int64_t run_id, const DbRunInfo *info,
                    char *err) {
    assert(db && info && info->cfg);
    if (db_check_info(db, info, err)) return -1;
    DbArg a[] = {db_arg_int(":run", run_id),
                 db_arg_text(":worker", db->worker)};
    int rc = db_bind_info(db->st[DB_ST_RUN_SET_INFO], info);
    rc = db_exec(db, DB_ST_RUN_SET_INFO, rc, a, DB_NARGS(a));
    if (rc != SQLITE_OK) return db_fail(db, rc, "update the run", err);
    if (sqlite3_changes(db->db) != 1)
        return err_set(err, "cannot update run %lld in %s: no such run held "
                            "by this worker", (long long)run_id, db->path);
    return 0;
}

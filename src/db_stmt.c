/* db_stmt.c - the prepared statements of a Db, one table of SQL with named
 * parameters, and the helpers that bind, step and reset them (see
 * db_internal.h).
 *
 * No global mutable state. */
#include "db_internal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "stop.h"

/* BEGIN IMMEDIATE and single writes are retried this many times after the
 * 10 s busy timeout expired, so a busy database means waiting, not failing */
#define DB_BUSY_RETRIES 30

/* The run columns a grid point's restarted run starts again from. */
#define DB_RESET_RESULTS                                                   \
    "epochs_done = 0, seconds = 0, final_test_rmse = NULL, "              \
    "best_test_rmse = NULL, best_epoch = NULL, error = NULL, "            \
    "selected_epoch = NULL, selected_test_rmse = NULL, "                  \
    "selected_val_rmse = NULL, checkpoint = NULL, refit_epochs = NULL, "  \
    "refit_test_rmse = NULL, refit_test_mae = NULL, "                     \
    "result_test_rmse = NULL, pruned_epoch = NULL, pruned_reason = NULL, " \
    "selected_weights = NULL, precision_at_k = NULL, recall_at_k = NULL, " \
    "ndcg_at_k = NULL, hit_rate_at_k = NULL, topn_users = NULL, "         \
    "member_key = NULL, ensemble_size = NULL"

/* A running run held by this worker (:worker NULL: any run) */
#define DB_HELD "(:worker IS NULL OR worker IS :worker)"

/* The SQL of every statement.  {columns}, {params} and {set} stand for
 * the lists of the info and config columns of runs (db_columns_sql): their
 * names, their parameters, and "name = :name, ...". */
static const char *const db_statements[DB_NSTMT] = {
    [DB_ST_BEGIN] = "BEGIN IMMEDIATE",
    [DB_ST_COMMIT] = "COMMIT",
    [DB_ST_ROLLBACK] = "ROLLBACK",
    [DB_ST_RUN_INSERT] =
        "INSERT INTO runs(status, started_at, heartbeat_at, {columns}) "
        "VALUES('running', " DB_NOW ", " DB_UNIXNOW ", {params})",
    [DB_ST_RUN_SET_INFO] =
        "UPDATE runs SET {set} WHERE id = :run AND " DB_HELD,
    [DB_ST_EPOCH_INSERT] =
        "INSERT INTO epochs(run_id, epoch, train_loss, test_rmse, "
        "train_seconds, eval_seconds, test_mae, val_rmse, val_mae, "
        "ema_val_rmse, ema_test_rmse, precision_at_k, recall_at_k, "
        "ndcg_at_k, hit_rate_at_k) "
        "VALUES(:run, :epoch, :train_loss, :test_rmse, :train_seconds, "
        ":eval_seconds, :test_mae, :val_rmse, :val_mae, :ema_val_rmse, "
        ":ema_test_rmse, :precision_at_k, :recall_at_k, :ndcg_at_k, "
        ":hit_rate_at_k)",
    /* :selected: this epoch becomes the run's selected one, with the
     * RMSEs of the weights chosen (the moving average's with train.ema
     * when it won: :selected_weights 'ema') */
    [DB_ST_RUN_UPDATE_EPOCH] =
        "UPDATE runs SET final_test_rmse = :test_rmse, "
        "best_epoch = CASE WHEN best_test_rmse IS NULL OR :test_rmse < "
        "best_test_rmse THEN :epoch ELSE best_epoch END, "
        "best_test_rmse = CASE WHEN best_test_rmse IS NULL OR :test_rmse < "
        "best_test_rmse THEN :test_rmse ELSE best_test_rmse END, "
        "epochs_done = epochs_done + 1, seconds = seconds + :seconds, "
        "heartbeat_at = " DB_UNIXNOW ", "
        "selected_epoch = CASE WHEN :selected THEN :epoch ELSE "
        "selected_epoch END, selected_test_rmse = CASE WHEN :selected THEN "
        ":selected_test_rmse ELSE selected_test_rmse END, selected_val_rmse "
        "= CASE WHEN :selected THEN :selected_val_rmse ELSE "
        "selected_val_rmse END, selected_weights = CASE WHEN :selected THEN "
        ":selected_weights ELSE selected_weights END, "
        "result_test_rmse = coalesce(refit_test_rmse, CASE WHEN :selected "
        "THEN :selected_test_rmse ELSE selected_test_rmse END, :test_rmse) "
        "WHERE id = :run AND " DB_HELD,
    [DB_ST_REFIT_INSERT] =
        "INSERT INTO refit_epochs(run_id, epoch, train_loss, test_rmse, "
        "test_mae, train_seconds, eval_seconds) VALUES(:run, :epoch, "
        ":train_loss, :test_rmse, :test_mae, :train_seconds, :eval_seconds)",
    [DB_ST_RUN_UPDATE_REFIT] =
        "UPDATE runs SET refit_epochs = :epoch, refit_test_rmse = "
        ":test_rmse, result_test_rmse = :test_rmse, refit_test_mae = "
        ":test_mae, seconds = seconds + :seconds, heartbeat_at = "
        DB_UNIXNOW " WHERE id = :run AND " DB_HELD,
    [DB_ST_RUN_END] =
        "UPDATE runs SET status = :status, finished_at = " DB_NOW ", "
        "heartbeat_at = " DB_UNIXNOW ", error = :error, pruned_epoch = "
        ":pruned_epoch, pruned_reason = :pruned_reason "
        "WHERE id = :run AND " DB_HELD,
    [DB_ST_RUN_CHECKPOINT] =
        "UPDATE runs SET checkpoint = :checkpoint WHERE id = :run AND "
        DB_HELD,
    [DB_ST_RUN_PEAK_RSS] =
        "UPDATE runs SET peak_rss_mb = :peak_rss_mb WHERE id = :run AND "
        DB_HELD,
    /* validation columns only: a pruner never reads a test column */
    [DB_ST_PEER_VAL_BEST] =
        "SELECT min(e.val_rmse) FROM epochs e JOIN runs r ON r.id = "
        "e.run_id WHERE r.experiment = :experiment AND r.id != :run AND "
        "e.epoch <= :epoch GROUP BY r.id HAVING max(e.epoch) = :epoch AND "
        "min(e.val_rmse) IS NOT NULL",
    [DB_ST_EXP_INSERT] =
        "INSERT INTO experiments(id, name, n_points, axes, config_yaml, "
        "created_at) VALUES(:experiment, :name, :n_points, :axes, "
        ":config_yaml, " DB_NOW ") ON CONFLICT(id) DO NOTHING",
    [DB_ST_POINT_UPSERT] =
        "INSERT INTO grid_points(experiment, point, config_hash, params) "
        "VALUES(:experiment, :point, :config_hash, :params) "
        "ON CONFLICT(experiment, point) DO UPDATE SET config_hash = "
        "excluded.config_hash, params = excluded.params WHERE config_hash "
        "IS NOT excluded.config_hash OR params IS NOT excluded.params",
    [DB_ST_CLAIM_SETTLED] =
        "SELECT p.point FROM grid_points p LEFT JOIN runs r "
        "ON r.experiment = p.experiment AND r.grid_point = p.point "
        "WHERE p.experiment = :experiment AND p.point >= :from AND NOT "
        "(coalesce(r.status IN " DB_FINAL_STATUSES ", 0) AND "
        "r.config_hash IS p.config_hash) ORDER BY p.point LIMIT 1",
    [DB_ST_CLAIM_PICK] =
        "SELECT p.point, r.id, r.status, r.worker, r.attempts "
        "FROM grid_points p LEFT JOIN runs r "
        "ON r.experiment = p.experiment AND r.grid_point = p.point "
        "WHERE p.experiment = :experiment AND p.point >= :from AND "
        "(:end = 0 OR p.point < :end) AND (r.id IS NULL "
        "OR (r.status = 'running' AND coalesce(r.heartbeat_at, 0) < "
        DB_UNIXNOW " - :stale_seconds) "
        "OR (r.status IN ('failed', 'interrupted') AND "
        "coalesce(r.heartbeat_at, 0) < :session_start) "
        "OR (r.status IN " DB_FINAL_STATUSES " AND "
        "r.config_hash IS NOT p.config_hash)) ORDER BY p.point LIMIT 1",
    [DB_ST_CLAIM_RUNNING] =
        "SELECT worker FROM runs WHERE experiment = :experiment AND "
        "status = 'running' AND grid_point >= :from AND "
        "(:end = 0 OR grid_point < :end)",
    [DB_ST_CLAIM_INSERT] =
        "INSERT INTO runs(status, started_at, experiment, grid_point, "
        "grid_size, config_hash, worker, heartbeat_at, attempts, "
        "epochs_done, seconds, {columns}) SELECT 'running', " DB_NOW ", "
        "p.experiment, p.point, (SELECT n_points FROM experiments WHERE "
        "id = :experiment), p.config_hash, :worker, " DB_UNIXNOW ", 1, 0, "
        "0, {params} FROM grid_points p WHERE p.experiment = :experiment "
        "AND p.point = :point",
    [DB_ST_CLAIM_RETAKE] =
        "UPDATE runs SET {set}, status = 'running', started_at = " DB_NOW
        ", finished_at = NULL, grid_size = (SELECT n_points FROM "
        "experiments WHERE id = :experiment), worker = :worker, "
        "config_hash = (SELECT p.config_hash FROM grid_points p WHERE "
        "p.experiment = :experiment AND p.point = :point), heartbeat_at = "
        DB_UNIXNOW ", attempts = attempts + 1, " DB_RESET_RESULTS " "
        "WHERE experiment = :experiment AND grid_point = :point",
    [DB_ST_EPOCHS_DELETE] = "DELETE FROM epochs WHERE run_id = :run",
    [DB_ST_REFIT_EPOCHS_DELETE] =
        "DELETE FROM refit_epochs WHERE run_id = :run",
    [DB_ST_HEARTBEAT] =
        "UPDATE runs SET heartbeat_at = " DB_UNIXNOW " WHERE worker = "
        ":worker AND status = 'running'",
    [DB_ST_HEARTBEAT_RUN] =
        "UPDATE runs SET heartbeat_at = " DB_UNIXNOW " WHERE id = :run AND "
        "status = 'running'",
    [DB_ST_WORKER_LOST] =
        "UPDATE runs SET heartbeat_at = 0 WHERE worker = :worker AND "
        "status = 'running'",
    /* columns 1..4: the values summarised (db_grid.c) */
    [DB_ST_SUMMARY_RUNS] =
        "SELECT id, selected_test_rmse, selected_val_rmse, final_test_rmse, "
        "refit_test_rmse, split_kind FROM runs WHERE experiment = "
        ":experiment AND grid_point >= :group_point AND grid_point < "
        ":group_point + :splits AND status = 'finished' ORDER BY grid_point",
    [DB_ST_SUMMARY_PUT] =
        "INSERT OR REPLACE INTO split_summaries(experiment, group_point, "
        "params, split_kind, splits, n, selected_test_mean, "
        "selected_test_sd, selected_test_ci_lo, selected_test_ci_hi, "
        "selected_val_mean, selected_val_sd, final_test_mean, "
        "final_test_sd, final_test_ci_lo, final_test_ci_hi, t_quantile, "
        "runs, updated_at, refit_test_mean, refit_test_sd, "
        "refit_test_ci_lo, refit_test_ci_hi) VALUES(:experiment, "
        ":group_point, :params, :split_kind, :splits, :n, "
        ":selected_test_mean, :selected_test_sd, :selected_test_ci_lo, "
        ":selected_test_ci_hi, :selected_val_mean, :selected_val_sd, "
        ":final_test_mean, :final_test_sd, :final_test_ci_lo, "
        ":final_test_ci_hi, :t_quantile, :runs, " DB_NOW ", "
        ":refit_test_mean, :refit_test_sd, :refit_test_ci_lo, "
        ":refit_test_ci_hi)",
};

/* Copies text into out (size n), each {columns}, {params} and {set}
 * replaced by its column list (db_columns_sql).  Returns 0, or -1 when it
 * does not fit. */
static int db_sql_fill(const char *text, char *out, size_t n) {
    static const struct {
        const char *token;
        int mode;
    } lists[] = {{"{columns}", DB_COLS_NAMES},
                 {"{params}", DB_COLS_PARAMS},
                 {"{set}", DB_COLS_SET}};
    size_t len = 0;
    while (*text) {
        size_t k = 0, nk = sizeof lists / sizeof lists[0];
        while (k < nk && strncmp(text, lists[k].token,
                                 strlen(lists[k].token)) != 0)
            k++;
        if (k == nk) {
            if (len + 1 >= n) return -1;
            out[len++] = *text++;
            continue;
        }
        db_columns_sql(out + len, n - len, lists[k].mode);
        len += strlen(out + len);
        text += strlen(lists[k].token);
    }
    out[len] = '\0';
    return 0;
}

int db_stmt_prepare(Db *db, char *err) {
    char sql[8192];
    for (int k = 0; k < DB_NSTMT; k++) {
        assert(db_statements[k]);
        if (db_sql_fill(db_statements[k], sql, sizeof sql))
            return err_set(err, "cannot prepare a statement in %s: it does "
                           "not fit %zu bytes (too many columns)", db->path,
                           sizeof sql);
        int rc = sqlite3_prepare_v3(db->db, sql, -1,
                                    SQLITE_PREPARE_PERSISTENT, &db->st[k],
                                    NULL);
        if (rc != SQLITE_OK)
            return db_fail(db, rc, "prepare a statement", err);
    }
    return 0;
}

void db_stmt_finalize(Db *db) {
    for (int k = 0; k < DB_NSTMT; k++) {
        sqlite3_finalize(db->st[k]);   /* NULL is a harmless no-op */
        db->st[k] = NULL;
    }
}

DbArg db_arg_int(const char *name, sqlite3_int64 v) {
    DbArg a = {name, DB_ARG_INT, v, 0, NULL};
    return a;
}

DbArg db_arg_real(const char *name, double v) {
    DbArg a = {name, DB_ARG_REAL, 0, v, NULL};
    return a;
}

DbArg db_arg_finite(const char *name, double v) {
    return isfinite(v) ? db_arg_real(name, v) : db_arg_null(name);
}

DbArg db_arg_text(const char *name, const char *s) {
    DbArg a = {name, s ? DB_ARG_TEXT : DB_ARG_NULL, 0, 0, s};
    return a;
}

DbArg db_arg_null(const char *name) {
    DbArg a = {name, DB_ARG_NULL, 0, 0, NULL};
    return a;
}

int db_bind_args(sqlite3_stmt *st, const DbArg *args, int n) {
    int rc = SQLITE_OK;
    for (int k = 0; k < n && rc == SQLITE_OK; k++) {
        const DbArg *a = &args[k];
        int i = sqlite3_bind_parameter_index(st, a->name);
        assert(i > 0);   /* a name the statement does not have */
        if (i == 0) return SQLITE_RANGE;
        switch (a->type) {
        case DB_ARG_INT: rc = sqlite3_bind_int64(st, i, a->i); break;
        case DB_ARG_REAL: rc = sqlite3_bind_double(st, i, a->d); break;
        case DB_ARG_TEXT:
            rc = sqlite3_bind_text(st, i, a->s, -1, SQLITE_STATIC);
            break;
        case DB_ARG_NULL: rc = sqlite3_bind_null(st, i); break;
        }
    }
    return rc;
}

void db_reset(sqlite3_stmt *st) {
    if (!st) return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int db_exec(Db *db, DbStmt id, int rc, const DbArg *args, int n) {
    sqlite3_stmt *st = db->st[id];
    if (rc == SQLITE_OK) rc = db_bind_args(st, args, n);
    for (int i = 0; rc == SQLITE_OK; i++) {
        rc = sqlite3_step(st);
        if ((rc & 0xff) != SQLITE_BUSY || i >= DB_BUSY_RETRIES || stop_signal)
            break;
        sqlite3_reset(st);
        rc = SQLITE_OK;
    }
    db_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

sqlite3_stmt *db_query(Db *db, DbStmt id, const DbArg *args, int n,
                       int *rc) {
    *rc = db_bind_args(db->st[id], args, n);
    return db->st[id];
}

int db_begin(Db *db) { return db_exec(db, DB_ST_BEGIN, SQLITE_OK, NULL, 0); }

int db_commit(Db *db) { return db_exec(db, DB_ST_COMMIT, SQLITE_OK, NULL, 0); }

void db_rollback(Db *db) {
    if (!sqlite3_get_autocommit(db->db))
        (void)db_exec(db, DB_ST_ROLLBACK, SQLITE_OK, NULL, 0);
}

/* db_grid.c - grids in the results database (see db.h): experiments and
 * their points, the claim of a point by a worker, heartbeats, dead
 * workers' runs, split summaries.
 *
 * A grid's points are rows of grid_points; db_grid_claim picks and takes
 * one point inside a BEGIN IMMEDIATE transaction, so concurrent workers
 * (threads or processes, each with its own connection) never run the same
 * point twice, and UNIQUE(experiment, grid_point) makes a duplicate row
 * impossible even if that logic were wrong.
 *
 * No global mutable state. */
#include "db_internal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "mem.h"
#include "stats.h"

#define DB_NARGS(a) ((int)(sizeof(a) / sizeof(a)[0]))

/* See db.h.  Returns 0 or -1 with err. */
int db_set_worker(Db *db, const char *worker, char *err) {
    assert(db);
    char *copy = NULL;
    if (worker && !(copy = mem_strdup(worker)))
        return err_set(err, "%s: out of memory", db->path);
    mem_free(db->worker);
    db->worker = copy;
    return 0;
}

/* See db.h.  Returns 0 or -1 with err (nothing registered then). */
int db_experiment_register(Db *db, const DbExperiment *x, char *err) {
    assert(db && x && x->id && x->hashes && x->params && x->n_points >= 1);
    DbArg e[] = {db_arg_text(":experiment", x->id),
                 db_arg_text(":name", x->name),
                 db_arg_int(":n_points", x->n_points),
                 db_arg_text(":axes", x->axes ? x->axes : ""),
                 db_arg_text(":config_yaml",
                             x->config_yaml ? x->config_yaml : "")};
    int rc = db_begin(db);
    rc = db_exec(db, DB_ST_EXP_INSERT, rc, e, DB_NARGS(e));
    for (int64_t i = 0; rc == SQLITE_OK && i < x->n_points; i++) {
        DbArg p[] = {db_arg_text(":experiment", x->id),
                     db_arg_int(":point", i),
                     db_arg_text(":config_hash", x->hashes[i]),
                     db_arg_text(":params", x->params[i])};
        rc = db_exec(db, DB_ST_POINT_UPSERT, rc, p, DB_NARGS(p));
    }
    if (rc == SQLITE_OK) rc = db_commit(db);
    if (rc == SQLITE_OK) return 0;
    db_fail(db, rc, "register the grid", err);
    db_rollback(db);
    return -1;
}

/* Do worker ids a and b ("host:pid/tag") belong to the same grid command
 * (same host and tag)?  Its workers are watched by their parent, which
 * releases a dead one's point at once, so they need no waiting for. */
static int db_same_session(const char *a, const char *b) {
    const char *ca, *cb, *sa, *sb;
    if (!a || !b) return 0;
    ca = strrchr(a, ':');
    cb = strrchr(b, ':');
    sa = strrchr(a, '/');
    sb = strrchr(b, '/');
    return ca && cb && sa && sb && ca - a == cb - b &&
           !strncmp(a, b, (size_t)(ca - a)) && !strcmp(sa, sb);
}

/* Copies column i of st (may be NULL) into out (size n). */
static void db_column_copy(sqlite3_stmt *st, int i, char *out, size_t n) {
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", t ? (const char *)t : "");
}

/* Step 1 of a claim: moves *settled (the first point that may not be
 * final) over the points of req's experiment that are now final; INT64_MAX
 * when all are.  Returns an SQLite result code. */
static int db_claim_settled(Db *db, const DbClaimReq *req, int64_t *settled) {
    DbArg a[] = {db_arg_text(":experiment", req->experiment),
                 db_arg_int(":from", *settled)};
    int rc;
    sqlite3_stmt *st = db_query(db, DB_ST_CLAIM_SETTLED, a, DB_NARGS(a), &rc);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *settled = sqlite3_column_int64(st, 0);
    if (rc == SQLITE_DONE) *settled = INT64_MAX;   /* every point is final */
    db_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Step 2 of a claim: the lowest claimable point in [settled, req->end)
 * into out (out->run_id, previous, attempts when it has a run row:
 * *have_row).  Returns SQLITE_ROW (found), SQLITE_DONE (none) or an SQLite
 * error code. */
static int db_claim_pick(Db *db, const DbClaimReq *req, int64_t settled,
                         DbClaim *out, int *have_row) {
    DbArg a[] = {db_arg_text(":experiment", req->experiment),
                 db_arg_int(":from", settled),
                 db_arg_real(":stale_seconds", req->stale_seconds),
                 db_arg_real(":session_start", req->session_start),
                 db_arg_int(":end", req->end)};
    int rc;
    sqlite3_stmt *st = db_query(db, DB_ST_CLAIM_PICK, a, DB_NARGS(a), &rc);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->point = sqlite3_column_int64(st, 0);
        *have_row = sqlite3_column_type(st, 1) != SQLITE_NULL;
        out->attempts = 1;
        if (*have_row) {
            char status[16];
            out->run_id = sqlite3_column_int64(st, 1);
            db_column_copy(st, 2, status, sizeof status);
            db_column_copy(st, 3, out->previous_worker,
                           sizeof out->previous_worker);
            out->attempts = sqlite3_column_int(st, 4) + 1;
            snprintf(out->previous, sizeof out->previous, "%s",
                     !strcmp(status, "running") ? "stale"
                     : !strcmp(status, "finished") ||
                             !strcmp(status, "diverged") ? "outdated"
                     : status);
        }
    }
    db_reset(st);
    return rc;
}

/* When nothing is claimable: counts in out->running_elsewhere the points
 * of req's range running under workers of other grid commands.  Returns an
 * SQLite result code. */
static int db_claim_running(Db *db, const DbClaimReq *req, DbClaim *out) {
    DbArg a[] = {db_arg_text(":experiment", req->experiment),
                 db_arg_int(":from", req->settled_below),
                 db_arg_int(":end", req->end)};
    int rc;
    sqlite3_stmt *st = db_query(db, DB_ST_CLAIM_RUNNING, a, DB_NARGS(a), &rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->running_elsewhere += !db_same_session(
            db->worker, (const char *)sqlite3_column_text(st, 0));
        rc = SQLITE_OK;
    }
    db_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Step 3 of a claim: takes point out->point for this worker with info:
 * a new run row, or (have_row) its row restarted, its epochs deleted.
 * Returns an SQLite result code; SQLITE_NOTFOUND when the point vanished
 * (err set). */
static int db_claim_take(Db *db, const DbClaimReq *req, const DbRunInfo *info,
                         DbClaim *out, int have_row, char *err) {
    DbArg run[] = {db_arg_int(":run", out->run_id)};
    DbArg at[] = {db_arg_text(":experiment", req->experiment),
                  db_arg_int(":point", out->point),
                  db_arg_text(":worker", db->worker)};
    int rc = SQLITE_OK;
    if (have_row) {
        rc = db_exec(db, DB_ST_EPOCHS_DELETE, rc, run, 1);
        rc = db_exec(db, DB_ST_REFIT_EPOCHS_DELETE, rc, run, 1);
    }
    DbStmt id = have_row ? DB_ST_CLAIM_RETAKE : DB_ST_CLAIM_INSERT;
    if (rc == SQLITE_OK) rc = db_bind_info(db->st[id], info);
    rc = db_exec(db, id, rc, at, DB_NARGS(at));
    if (rc != SQLITE_OK) return rc;
    if (sqlite3_changes(db->db) != 1) {
        err_set(err, "cannot claim grid point %lld of %s in %s: the point "
                     "vanished", (long long)out->point, req->experiment,
                db->path);
        return SQLITE_NOTFOUND;
    }
    if (!have_row) out->run_id = sqlite3_last_insert_rowid(db->db);
    return SQLITE_OK;
}

/* See db.h.  Runs in one BEGIN IMMEDIATE transaction: advance the settled
 * cursor, pick a point, describe it, insert or reset its row, commit.
 * Returns DB_CLAIM_GOT / DB_CLAIM_WAIT / DB_CLAIM_DONE, or -1 with err
 * (the transaction rolled back, nothing claimed). */
int db_grid_claim(Db *db, DbClaimReq *req, DbDescribeFn describe, void *ctx,
                  DbClaim *out, char *err) {
    assert(db && req && req->experiment && describe && out);
    int rc, have_row = 0;
    int64_t settled = req->settled_below;
    DbRunInfo info;

    memset(out, 0, sizeof *out);
    if (!db->worker)
        return err_set(err, "cannot claim a grid point in %s: no worker id "
                            "(db_set_worker)", db->path);
    rc = db_begin(db);
    if (rc == SQLITE_OK) rc = db_claim_settled(db, req, &settled);
    if (rc == SQLITE_OK) rc = db_claim_pick(db, req, settled, out, &have_row);
    if (rc == SQLITE_DONE) {
        /* nothing to claim: wait if others run points that may go stale */
        rc = db_claim_running(db, req, out);
        if (rc == SQLITE_OK) rc = db_commit(db);
        if (rc != SQLITE_OK) goto fail;
        req->settled_below = settled;
        return out->running_elsewhere ? DB_CLAIM_WAIT : DB_CLAIM_DONE;
    }
    if (rc != SQLITE_ROW) goto fail;
    memset(&info, 0, sizeof info);
    if (describe(ctx, out->point, &info, err)) goto fail_described;
    assert(info.cfg);
    if (db_check_info(db, &info, err)) goto fail_described;
    rc = db_claim_take(db, req, &info, out, have_row, err);
    if (rc == SQLITE_NOTFOUND) goto fail_described;
    if (rc == SQLITE_OK) rc = db_commit(db);
    if (rc != SQLITE_OK) goto fail;
    req->settled_below = settled;
    return DB_CLAIM_GOT;

fail:
    db_fail(db, rc, "claim a grid point", err);
fail_described:
    db_rollback(db);
    return -1;
}

/* See db.h.  Returns 0 or -1 with err. */
int db_heartbeat(Db *db, const char *worker, char *err) {
    assert(db && worker);
    DbArg a[] = {db_arg_text(":worker", worker)};
    int rc = db_exec(db, DB_ST_HEARTBEAT, SQLITE_OK, a, 1);
    if (rc != SQLITE_OK) return db_fail(db, rc, "write a heartbeat", err);
    return 0;
}

/* See db.h.  Returns 0 or -1 with err. */
int db_heartbeat_run(Db *db, int64_t run_id, char *err) {
    assert(db);
    DbArg a[] = {db_arg_int(":run", run_id)};
    int rc = db_exec(db, DB_ST_HEARTBEAT_RUN, SQLITE_OK, a, 1);
    if (rc != SQLITE_OK) return db_fail(db, rc, "write a heartbeat", err);
    return 0;
}

/* See db.h.  Returns the number of runs released, or -1 with err. */
int db_worker_lost(Db *db, const char *worker, char *err) {
    assert(db && worker);
    DbArg a[] = {db_arg_text(":worker", worker)};
    int rc = db_exec(db, DB_ST_WORKER_LOST, SQLITE_OK, a, 1);
    if (rc != SQLITE_OK) return db_fail(db, rc, "release a dead worker's run",
                                        err);
    return sqlite3_changes(db->db);
}

/* See db.h. */
double db_unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------ split summaries -- */

/* The per-run values summarised: selected test, selected validation, final
 * test and refit test RMSE (columns 1..4 of DB_ST_SUMMARY_RUNS). */
#define DB_SUMMARY_COLS 4

/* Reads the finished runs of the group into x (DB_SUMMARY_COLS x splits,
 * column-major by value; NaN for NULL), their ids into ids ("3,4,5") and
 * the split kind into kind (size 16).  Sets *n to their number.  Returns
 * an SQLite result code. */
static int db_summary_read(Db *db, const char *experiment,
                           int64_t group_point, int splits, double *x,
                           char *ids, char *kind, int *n) {
    DbArg a[] = {db_arg_text(":experiment", experiment),
                 db_arg_int(":group_point", group_point),
                 db_arg_int(":splits", splits)};
    size_t idlen = 0;
    int rc;
    sqlite3_stmt *st = db_query(db, DB_ST_SUMMARY_RUNS, a, DB_NARGS(a), &rc);
    *n = 0;
    ids[0] = '\0';
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (*n == splits) continue;   /* cannot happen: the range has splits */
        for (int k = 0; k < DB_SUMMARY_COLS; k++)
            x[k * splits + *n] = sqlite3_column_type(st, 1 + k) == SQLITE_NULL
                                     ? NAN : sqlite3_column_double(st, 1 + k);
        idlen += (size_t)sprintf(ids + idlen, "%s%lld", *n ? "," : "",
                                 (long long)sqlite3_column_int64(st, 0));
        db_column_copy(st, 1 + DB_SUMMARY_COLS, kind, 16);
        (*n)++;
    }
    db_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The parameters of a summarised value in DB_ST_SUMMARY_PUT: mean, sd and
 * the 95% interval, of the selected, final and refit test RMSE. */
static const char *const db_ci_params[3][4] = {
    {":selected_test_mean", ":selected_test_sd", ":selected_test_ci_lo",
     ":selected_test_ci_hi"},
    {":final_test_mean", ":final_test_sd", ":final_test_ci_lo",
     ":final_test_ci_hi"},
    {":refit_test_mean", ":refit_test_sd", ":refit_test_ci_lo",
     ":refit_test_ci_hi"},
};

/* The mean, sd and 95% interval of x as the parameters names (one row of
 * db_ci_params) into a[0..3], NULL where not finite. */
static void db_summary_args(DbArg *a, const char *const names[4],
                            const StatsSummary *x) {
    a[0] = db_arg_finite(names[0], x->mean);
    a[1] = db_arg_finite(names[1], x->sd);
    a[2] = db_arg_finite(names[2], x->mean - x->half);
    a[3] = db_arg_finite(names[3], x->mean + x->half);
}

/* See db.h.  One BEGIN IMMEDIATE transaction: read the finished runs of
 * the group, summarise them (stats.h), replace the row.  Returns 0 or -1
 * with err (nothing written then). */
int db_split_summary_update(Db *db, const char *experiment,
                            int64_t group_point, int splits,
                            const char *params, char *err) {
    assert(db && experiment && params && splits >= 1);
    double *x = mem_alloc(DB_SUMMARY_COLS * (size_t)splits * sizeof *x);
    char *ids = mem_alloc((size_t)splits * 21 + 1), kind[16] = "";
    int rc, ret = -1, n = 0;
    StatsSummary sel, val, fin, ref;

    if (!x || !ids) {
        err_set(err, "out of memory summarising the splits of %s", experiment);
        goto done;
    }
    rc = db_begin(db);
    if (rc == SQLITE_OK)
        rc = db_summary_read(db, experiment, group_point, splits, x, ids,
                             kind, &n);
    stats_summarise(x, n, &sel);
    stats_summarise(x + splits, n, &val);
    stats_summarise(x + 2 * splits, n, &fin);
    stats_summarise(x + 3 * splits, n, &ref);
    DbArg a[22] = {
        db_arg_text(":experiment", experiment),
        db_arg_int(":group_point", group_point),
        db_arg_text(":params", params),
        db_arg_text(":split_kind", kind),
        db_arg_int(":splits", splits),
        db_arg_int(":n", sel.n),
        db_arg_finite(":t_quantile", sel.t),
        db_arg_text(":runs", ids),
        db_arg_finite(":selected_val_mean", val.mean),
        db_arg_finite(":selected_val_sd", val.sd),
    };
    db_summary_args(a + 10, db_ci_params[0], &sel);
    db_summary_args(a + 14, db_ci_params[1], &fin);
    db_summary_args(a + 18, db_ci_params[2], &ref);
    rc = db_exec(db, DB_ST_SUMMARY_PUT, rc, a, DB_NARGS(a));
    if (rc == SQLITE_OK) rc = db_commit(db);
    if (rc == SQLITE_OK) {
        ret = 0;
    } else {
        db_fail(db, rc, "update the split summary", err);
        db_rollback(db);
    }
done:
    mem_free(x);
    mem_free(ids);
    return ret;
}

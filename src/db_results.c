/* db_results.c - ranking metrics, ensemble members and stored predictions
 * in the results database (see db_results.h).  Statements are prepared per
 * call: each is written once per run.  No global state. */
#include "db_results.h"

#include "db_internal.h"

#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "err.h"
#include "mem.h"

/* Fills err with what failed in db and rolls back an open transaction.
 * Returns -1. */
static int dbr_fail(Db *db, const char *what, char *err) {
    sqlite3 *h = db->db;
    err_set(err, "cannot %s in %s: %s (check the file and the disk, then "
            "run again)", what, db_path(db), sqlite3_errmsg(h));
    if (!sqlite3_get_autocommit(h)) sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* Binds v to parameter i, NULL when it is not finite.  Returns an SQLite
 * result code. */
static int dbr_bind_real(sqlite3_stmt *st, int i, double v) {
    return isfinite(v) ? sqlite3_bind_double(st, i, v) : sqlite3_bind_null(st, i);
}

/* Binds n floats as a blob (NULL when a is NULL).  Returns an SQLite
 * result code. */
static int dbr_bind_floats(sqlite3_stmt *st, int i, const float *a, size_t n) {
    return a ? sqlite3_bind_blob64(st, i, a, n * sizeof *a, SQLITE_STATIC)
             : sqlite3_bind_null(st, i);
}

/* Prepares sql, binds run_id to ?1 and the worker to ?2, leaving the rest
 * to the caller.  Returns the statement or NULL (err set). */
static sqlite3_stmt *dbr_prepare(Db *db, const char *sql, int64_t run_id,
                                 const char *what, char *err) {
    sqlite3_stmt *st = NULL;
    sqlite3 *h = db->db;
    const char *worker = db->worker;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, run_id) != SQLITE_OK ||
        (sqlite3_bind_parameter_count(st) >= 2 &&
         (worker ? sqlite3_bind_text(st, 2, worker, -1, SQLITE_STATIC)
                 : sqlite3_bind_null(st, 2)) != SQLITE_OK)) {
        dbr_fail(db, what, err);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Steps and finalizes st; a statement updating runs must touch one row
 * (the run, held by this worker).  Returns 0 or -1 with err. */
static int dbr_step(Db *db, sqlite3_stmt *st, int one_row, int64_t run_id,
                    const char *what, char *err) {
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return dbr_fail(db, what, err);
    if (one_row && sqlite3_changes(db->db) != 1) {
        err_set(err, "cannot %s in %s: run %lld is not there%s", what,
                db_path(db), (long long)run_id,
                db->worker ? " or no longer held by this worker (taken "
                                   "over as stale)" : "");
        sqlite3 *h = db->db;
        if (!sqlite3_get_autocommit(h))
            sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Commits.  Returns 0 or -1 with err. */
static int dbr_commit(Db *db, const char *what, char *err) {
    if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return dbr_fail(db, what, err);
    return 0;
}

int db_run_set_topn(Db *db, int64_t run_id, const TopnMetrics *m, char *err) {
    const char *what = "record the ranking metrics";
    if (db_check_file(db, what, err)) return -1;
    sqlite3_stmt *st = dbr_prepare(db,
        "UPDATE runs SET precision_at_k = ?3, recall_at_k = ?4, "
        "ndcg_at_k = ?5, hit_rate_at_k = ?6, topn_users = ?7 "
        "WHERE id = ?1 AND (?2 IS NULL OR worker IS ?2)", run_id, what, err);
    if (!st) return -1;
    if (dbr_bind_real(st, 3, m->precision) != SQLITE_OK ||
        dbr_bind_real(st, 4, m->recall) != SQLITE_OK ||
        dbr_bind_real(st, 5, m->ndcg) != SQLITE_OK ||
        dbr_bind_real(st, 6, m->hit_rate) != SQLITE_OK ||
        sqlite3_bind_int64(st, 7, m->users) != SQLITE_OK) {
        sqlite3_finalize(st);
        return dbr_fail(db, what, err);
    }
    return dbr_step(db, st, 1, run_id, what, err);
}

int db_member_store(Db *db, int64_t run_id, const char *member_key,
                    const char *pairs_key, const float *val, size_t n_val,
                    const float *test, const float *refit, size_t n_test,
                    char *err) {
    const char *what = "record the ensemble member's predictions";
    if (db_check_file(db, what, err)) return -1;
    if (db_begin(db) != SQLITE_OK) return dbr_fail(db, what, err);
    sqlite3_stmt *st = dbr_prepare(db,
        "UPDATE runs SET member_key = ?3, result_test_rmse = NULL "
        "WHERE id = ?1 AND (?2 IS NULL OR worker IS ?2)", run_id, what, err);
    if (!st) return -1;
    if (sqlite3_bind_text(st, 3, member_key, -1, SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_finalize(st);
        return dbr_fail(db, what, err);
    }
    if (dbr_step(db, st, 1, run_id, what, err)) return -1;
    st = dbr_prepare(db, "INSERT OR REPLACE INTO run_predictions(run_id, "
                     "pairs_key, val, test, refit) VALUES(?1, ?2, ?3, ?4, ?5)",
                     run_id, what, err);
    if (!st) return -1;
    if (sqlite3_bind_text(st, 2, pairs_key, -1, SQLITE_STATIC) != SQLITE_OK ||
        dbr_bind_floats(st, 3, val, n_val) != SQLITE_OK ||
        dbr_bind_floats(st, 4, test, n_test) != SQLITE_OK ||
        dbr_bind_floats(st, 5, refit, n_test) != SQLITE_OK) {
        sqlite3_finalize(st);
        return dbr_fail(db, what, err);
    }
    if (dbr_step(db, st, 0, run_id, what, err)) return -1;
    return dbr_commit(db, what, err);
}

/* Copies blob column i of st (n floats expected) into a new array *out
 * (NULL for a NULL column).  Returns 0, 1 when the size differs, or -1
 * (out of memory). */
static int dbr_floats(sqlite3_stmt *st, int i, size_t n, float **out) {
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return 0;
    const void *b = sqlite3_column_blob(st, i);
    if ((size_t)sqlite3_column_bytes(st, i) != n * sizeof(float)) return 1;
    if (!(*out = mem_alloc((n ? n : 1) * sizeof(float)))) return -1;
    if (n) memcpy(*out, b, n * sizeof(float));
    return 0;
}

void db_member_preds_free(DbMemberPreds *p) {
    if (!p) return;
    mem_free(p->val);
    mem_free(p->test);
    mem_free(p->refit);
    memset(p, 0, sizeof *p);
}

int db_member_find(Db *db, const char *member_key, const char *pairs_key,
                   size_t n_val, size_t n_test, DbMemberPreds *out,
                   char *err) {
    sqlite3 *h = db->db;
    sqlite3_stmt *st = NULL;
    int ret = 0;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(h,
            "SELECT r.id, p.val, p.test, p.refit, r.selected_val_rmse FROM "
            "runs r JOIN "
            "run_predictions p ON p.run_id = r.id WHERE r.member_key = ?1 "
            "AND p.pairs_key = ?2 AND r.status = 'finished' "
            "ORDER BY r.id DESC", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, member_key, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, pairs_key, -1, SQLITE_STATIC) != SQLITE_OK) {
        err_set(err, "cannot look up ensemble members in %s: %s", db_path(db),
                sqlite3_errmsg(h));
        sqlite3_finalize(st);
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int a = dbr_floats(st, 1, n_val, &out->val);
        int b = a ? a : dbr_floats(st, 2, n_test, &out->test);
        int c = b ? b : dbr_floats(st, 3, n_test, &out->refit);
        if (a < 0 || b < 0 || c < 0) {
            db_member_preds_free(out);
            ret = err_set(err, "out of memory reading the predictions of an "
                          "ensemble member");
            break;
        }
        if (a || b || c || !out->val || !out->test) {   /* another shape */
            db_member_preds_free(out);
            continue;
        }
        out->run_id = sqlite3_column_int64(st, 0);
        out->val_rmse = sqlite3_column_type(st, 4) == SQLITE_NULL
                            ? NAN : sqlite3_column_double(st, 4);
        out->n_val = n_val;
        out->n_test = n_test;
        ret = 1;
        break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = err_set(err, "cannot look up ensemble members in %s: %s",
                      db_path(db), sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return ret;
}

int db_ensemble_record(Db *db, int64_t run_id, const DbEnsembleMember *m,
                       int n, const DbEnsembleResult *res, char *err) {
    const char *what = "record the ensemble";
    if (db_check_file(db, what, err)) return -1;
    if (db_begin(db) != SQLITE_OK) return dbr_fail(db, what, err);
    sqlite3_stmt *st = dbr_prepare(db, "DELETE FROM ensemble_members WHERE "
                                   "ensemble_run = ?1", run_id, what, err);
    if (!st || dbr_step(db, st, 0, run_id, what, err)) return -1;
    for (int i = 0; i < n; i++) {
        st = dbr_prepare(db, "INSERT INTO ensemble_members(ensemble_run, "
                         "position, member_run, weight, label) VALUES(?1, ?3, "
                         "?4, ?5, ?6)", run_id, what, err);
        if (!st) return -1;
        if (sqlite3_bind_int(st, 3, i + 1) != SQLITE_OK ||
            sqlite3_bind_int64(st, 4, m[i].run_id) != SQLITE_OK ||
            sqlite3_bind_double(st, 5, m[i].weight) != SQLITE_OK ||
            sqlite3_bind_text(st, 6, m[i].label, -1, SQLITE_STATIC) !=
                SQLITE_OK) {
            sqlite3_finalize(st);
            return dbr_fail(db, what, err);
        }
        if (dbr_step(db, st, 0, run_id, what, err)) return -1;
    }
    st = dbr_prepare(db,
        "UPDATE runs SET ensemble_size = ?3, selected_val_rmse = ?4, "
        "selected_test_rmse = ?5, refit_test_rmse = ?6, "
        "result_test_rmse = ?7 WHERE id = ?1 AND (?2 IS NULL OR worker IS ?2)",
        run_id, what, err);
    if (!st) return -1;
    if (sqlite3_bind_int(st, 3, n) != SQLITE_OK ||
        dbr_bind_real(st, 4, res->val_rmse) != SQLITE_OK ||
        dbr_bind_real(st, 5, res->test_rmse) != SQLITE_OK ||
        dbr_bind_real(st, 6, res->refit_rmse) != SQLITE_OK ||
        dbr_bind_real(st, 7, res->result_rmse) != SQLITE_OK) {
        sqlite3_finalize(st);
        return dbr_fail(db, what, err);
    }
    if (dbr_step(db, st, 1, run_id, what, err)) return -1;
    return dbr_commit(db, what, err);
}

int db_ensemble_candidates_record(Db *db, int64_t run_id,
                                  const DbEnsembleCandidate *c, int n,
                                  char *err) {
    const char *what = "record the ensemble's candidates";
    if (db_check_file(db, what, err)) return -1;
    if (db_begin(db) != SQLITE_OK) return dbr_fail(db, what, err);
    sqlite3_stmt *st = dbr_prepare(db, "DELETE FROM ensemble_candidates WHERE "
                                   "ensemble_run = ?1", run_id, what, err);
    if (!st || dbr_step(db, st, 0, run_id, what, err)) return -1;
    for (int i = 0; i < n; i++) {
        st = dbr_prepare(db, "INSERT INTO ensemble_candidates(ensemble_run, "
                         "position, candidate, candidate_run, val_rmse, "
                         "chosen, label) VALUES(?1, ?3, ?4, ?5, ?6, ?7, ?8)",
                         run_id, what, err);
        if (!st) return -1;
        if (sqlite3_bind_int(st, 3, c[i].position) != SQLITE_OK ||
            sqlite3_bind_int(st, 4, c[i].candidate) != SQLITE_OK ||
            sqlite3_bind_int64(st, 5, c[i].run_id) != SQLITE_OK ||
            dbr_bind_real(st, 6, c[i].val_rmse) != SQLITE_OK ||
            sqlite3_bind_int(st, 7, c[i].chosen != 0) != SQLITE_OK ||
            sqlite3_bind_text(st, 8, c[i].label, -1, SQLITE_STATIC) !=
                SQLITE_OK) {
            sqlite3_finalize(st);
            return dbr_fail(db, what, err);
        }
        if (dbr_step(db, st, 0, run_id, what, err)) return -1;
    }
    return dbr_commit(db, what, err);
}

int db_ensemble_members(sqlite3 *h, int64_t run_id, int64_t **ids,
                        double **weights, char *err) {
    sqlite3_stmt *st = NULL;
    int n = 0, cap = 0, rc;
    *ids = NULL;
    *weights = NULL;
    if (sqlite3_prepare_v2(h, "SELECT member_run, weight FROM "
                           "ensemble_members WHERE ensemble_run = ?1 ORDER "
                           "BY position", -1, &st, NULL) != SQLITE_OK) {
        /* a database from before schema 7 has no ensembles */
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_bind_int64(st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            int64_t *a = mem_realloc(*ids, (size_t)cap * sizeof *a);
            if (a) *ids = a;
            double *w = a ? mem_realloc(*weights, (size_t)cap * sizeof *w) : NULL;
            if (w) *weights = w;
            if (!a || !w) {
                rc = SQLITE_NOMEM;
                break;
            }
        }
        (*ids)[n] = sqlite3_column_int64(st, 0);
        (*weights)[n] = sqlite3_column_double(st, 1);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        mem_free(*ids);
        mem_free(*weights);
        *ids = NULL;
        *weights = NULL;
        return err_set(err, "cannot read the members of ensemble run %lld: "
                       "%s", (long long)run_id, rc == SQLITE_NOMEM ?
                       "out of memory" : sqlite3_errmsg(h));
    }
    return n;
}

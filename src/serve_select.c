/* serve_select.c - what the dashboard selects: runs from a request's
 * parameters (the --where language, never SQL text), and the experiments
 * list (see serve.h). */
#include <string.h>

#include "cli.h"
#include "err.h"
#include "serve.h"

/* The value of key, or NULL when absent or empty. */
static const char *arg_or_null(const ServeReq *req, const char *key) {
    const char *v = serve_arg(req, key);
    return v && *v ? v : NULL;
}

/* Parses parameter key (absent: dflt) as an integer in min..max into
 * *out.  Returns 0 or -1 with err. */
static int arg_long(const ServeReq *req, const char *key, long dflt,
                    long min, long max, long *out, char *err) {
    const char *s = arg_or_null(req, key);
    long long v;
    if (!s) {
        *out = dflt;
        return 0;
    }
    if (cli_int_value(s, min, max, &v))
        return err_set(err, "%s: '%.40s' is not an integer in %ld..%ld", key,
                       s, min, max);
    *out = (long)v;
    return 0;
}

int serve_run_select(const ServeReq *req, QFilter *f, ServePage *pg,
                     char *err) {
    QSelect sel = {arg_or_null(req, "status"),
                   arg_or_null(req, "experiment"),
                   arg_or_null(req, "where"), 0, 0};
    const char *plain = arg_or_null(req, "plain");
    const char *sort = arg_or_null(req, "sort");

    if (query_filter_build(f, &sel, err) ||
        query_filter_experiment(req->db, f, &sel, err))
        return -1;
    /* ?plain=NAME: the runs of config NAME outside any experiment */
    if (plain &&
        query_filter_and(f, "experiment IS NULL AND name = ?", plain, err))
        return -1;
    if (sort && (!strcmp(sort, "result") || !strcmp(sort, "-result")))
        snprintf(pg->order, sizeof pg->order,
                 "ORDER BY (" SERVE_RESULT_SQL ") IS NULL, ("
                 SERVE_RESULT_SQL ") %s, id", *sort == '-' ? "DESC" : "ASC");
    else if (query_order_build(pg->order, sizeof pg->order, sort, err))
        return -1;
    return serve_page_args(req, pg, err);
}

int serve_page_args(const ServeReq *req, ServePage *pg, char *err) {
    if (arg_long(req, "limit", SERVE_PAGE_ROWS, 1, SERVE_MAX_ROWS, &pg->limit,
                 err) ||
        arg_long(req, "offset", 0, 0, 1000000000L, &pg->offset, err))
        return -1;
    return 0;
}

const char *serve_experiments_count_sql(void) {
    return "SELECT (SELECT count(*) FROM experiments) + "
           "(SELECT count(DISTINCT name) FROM runs WHERE experiment IS NULL)";
}

const char *serve_experiments_sql(void) {
    return
        "SELECT x.id, x.name, x.axes, x.n_points, count(r.id),\n"
        "  coalesce(sum(r.status = 'finished'), 0),\n"
        "  coalesce(sum(r.status = 'running'), 0),\n"
        "  coalesce(sum(r.status IN ('failed', 'diverged', 'interrupted')), 0),\n"
        "  min(CASE WHEN r.status = 'finished' THEN " SERVE_RESULT_SQL " END),\n"
        "  (SELECT b.id FROM runs b WHERE b.experiment = x.id\n"
        "     AND b.status = 'finished' AND " SERVE_RESULT_SQL " IS NOT NULL\n"
        "   ORDER BY " SERVE_RESULT_SQL ", b.id LIMIT 1),\n"
        "  coalesce(min(r.started_at), x.created_at) AS started,\n"
        "  strftime('%Y-%m-%dT%H:%M:%SZ', max(r.heartbeat_at), 'unixepoch')\n"
        "FROM experiments x LEFT JOIN runs r ON r.experiment = x.id\n"
        "GROUP BY x.id\n"
        "UNION ALL\n"
        "SELECT NULL, r.name, NULL, count(*), count(*),\n"
        "  sum(r.status = 'finished'), sum(r.status = 'running'),\n"
        "  sum(r.status IN ('failed', 'diverged', 'interrupted')),\n"
        "  min(CASE WHEN r.status = 'finished' THEN " SERVE_RESULT_SQL " END),\n"
        "  (SELECT b.id FROM runs b WHERE b.experiment IS NULL\n"
        "     AND b.name = r.name AND b.status = 'finished'\n"
        "     AND " SERVE_RESULT_SQL " IS NOT NULL\n"
        "   ORDER BY " SERVE_RESULT_SQL ", b.id LIMIT 1),\n"
        "  min(r.started_at) AS started,\n"
        "  strftime('%Y-%m-%dT%H:%M:%SZ', max(r.heartbeat_at), 'unixepoch')\n"
        "FROM runs r WHERE r.experiment IS NULL GROUP BY r.name\n"
        "ORDER BY started DESC\n"
        "LIMIT ?1 OFFSET ?2";
}

const char *serve_run_sql(void) {
    return "SELECT * FROM (\n"
           "  SELECT s.*, r.config_yaml, r.git_commit, r.blis_info,\n"
           "    strftime('%Y-%m-%dT%H:%M:%SZ', r.heartbeat_at, 'unixepoch')\n"
           "      AS heartbeat\n"
           "  FROM run_summary s JOIN runs r ON r.id = s.id WHERE s.id = ?1)";
}

const char *serve_epochs_sql(int refit) {
    return refit ? "SELECT epoch, train_loss, test_rmse, test_mae, "
                   "train_seconds, eval_seconds FROM refit_epochs "
                   "WHERE run_id = ?1 ORDER BY epoch"
                 : "SELECT epoch, train_loss, test_rmse, test_mae, val_rmse, "
                   "val_mae, train_seconds, eval_seconds FROM epochs "
                   "WHERE run_id = ?1 ORDER BY epoch";
}

int serve_run_count(sqlite3 *db, const QFilter *f, sqlite3_int64 *total,
                    char *err) {
    char sql[QUERY_SQL_MAX + 128];
    sqlite3_stmt *st = NULL;
    int rc;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM run_summary %s%s",
             f->len ? "WHERE " : "", f->sql);
    if (query_prepare(db, sql, &st, err)) return -1;
    rc = query_filter_bind(st, f, 1);
    rc = query_step(st, rc);
    if (rc == SQLITE_ROW) *total = sqlite3_column_int64(st, 0);
    else err_set(err, "counting runs failed: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int serve_run_page(sqlite3 *db, const char *cols, const QFilter *f,
                   const ServePage *pg, sqlite3_stmt **st, int *rc,
                   char *err) {
    char sql[QUERY_SQL_MAX + 3072];
    snprintf(sql, sizeof sql, "SELECT %s FROM run_summary %s%s %s LIMIT ? "
             "OFFSET ?", cols, f->len ? "WHERE " : "", f->sql, pg->order);
    if (query_prepare(db, sql, st, err)) return -1;
    *rc = query_filter_bind(*st, f, 1);
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_int64(*st, f->nvalues + 1, pg->limit);
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_int64(*st, f->nvalues + 2, pg->offset);
    return 0;
}

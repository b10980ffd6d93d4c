/* serve_api.c - the dashboard's JSON API (documented in docs/dashboard.md):
 *   /api/experiments          experiments with counts and best result
 *   /api/runs?...             a page of runs (filters as --where)
 *   /api/runs/ID              one run, with its config
 *   /api/runs/ID/epochs       its epochs and refit epochs
 * Every value goes through sb_json_*; every filter through the --where
 * parser.  Errors are {"error": "...", "status": N} with 400 or 404. */
#include <string.h>

#include "err.h"
#include "serve.h"

#define JSON_TYPE "application/json; charset=utf-8"

int serve_json_rows(SBuf *b, sqlite3 *db, sqlite3_stmt *st, int rc,
                    char *err) {
    int n = 0;
    sb_puts(b, "[");
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        sb_puts(b, n++ ? ",\n {" : "\n {");
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            if (i) sb_puts(b, ", ");
            sb_json_str(b, sqlite3_column_name(st, i));
            sb_puts(b, ": ");
            sb_json_col(b, st, i);
        }
        sb_puts(b, "}");
    }
    sb_puts(b, "]");
    if (rc != SQLITE_DONE)
        return err_set(err, "reading %s failed: %s",
                       sqlite3_db_filename(db, "main"), sqlite3_errmsg(db));
    return n;
}

/* Ends a JSON reply: fails (-1, err set) when the buffer ran out of
 * memory, else sets the type.  Returns 0 or -1. */
static int json_done(ServeReply *rep) {
    if (rep->body.oom) return err_set(rep->err, "out of memory");
    rep->type = JSON_TYPE;
    return 0;
}

int serve_api_experiments(const ServeReq *req, ServeReply *rep) {
    sqlite3_stmt *st = NULL;
    const char *ls = serve_arg(req, "limit"), *os = serve_arg(req, "offset");
    sqlite3_int64 limit = SERVE_MAX_ROWS, offset = 0;
    int rc;
    static const char *const names[] = {
        "id", "name", "axes", "size", "runs", "finished", "running", "failed",
        "best_result_test_rmse", "best_run", "started_at", "last_heartbeat"};

    if ((ls && (serve_parse_id(ls, &limit) || limit < 1 ||
                limit > SERVE_MAX_ROWS)) ||
        (os && serve_parse_id(os, &offset)))
        return serve_error(rep, 400, 1, "limit is 1..1000 and offset a "
                           "count, e.g. /api/experiments?limit=50&offset=50");
    if (query_prepare(req->db, serve_experiments_sql(), &st, rep->err))
        return -1;
    rc = sqlite3_bind_int64(st, 1, limit);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, offset);
    sb_printf(&rep->body, "{\"limit\": %lld, \"offset\": %lld, "
              "\"experiments\": [", (long long)limit, (long long)offset);
    int n = 0;
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        sb_puts(&rep->body, n++ ? ",\n {" : "\n {");
        for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
            sb_printf(&rep->body, "%s\"%s\": ", i ? ", " : "", names[i]);
            sb_json_col(&rep->body, st, i);
        }
        sb_puts(&rep->body, "}");
    }
    sb_puts(&rep->body, "]}\n");
    if (rc != SQLITE_DONE) {
        err_set(rep->err, "listing the experiments failed: %s",
                sqlite3_errmsg(req->db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return json_done(rep);
}

int serve_api_runs(const ServeReq *req, ServeReply *rep) {
    QFilter f;
    ServePage pg;
    char err[ERR_MAX];
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;
    sqlite3_int64 total = 0;

    memset(&f, 0, sizeof f);
    if (serve_run_select(req, &f, &pg, err)) {
        query_filter_free(&f);
        return serve_error(rep, 400, 1, err);
    }
    if (serve_run_count(req->db, &f, &total, rep->err) ||
        serve_run_page(req->db, "*",
                       &f, &pg, &st, &rc, rep->err))
        goto done;
    sb_printf(&rep->body, "{\"total\": %lld, \"limit\": %ld, \"offset\": %ld, "
              "\"runs\": ", (long long)total, pg.limit, pg.offset);
    if (serve_json_rows(&rep->body, req->db, st, rc, rep->err) < 0) goto done;
    sb_puts(&rep->body, "}\n");
    ret = json_done(rep);
done:
    sqlite3_finalize(st);
    query_filter_free(&f);
    return ret;
}

int serve_api_run(const ServeReq *req, ServeReply *rep, sqlite3_int64 id) {
    sqlite3_stmt *st = NULL;
    int n;
    char msg[128];

    if (query_prepare(req->db, serve_run_sql(), &st, rep->err)) return -1;
    n = serve_json_rows(&rep->body, req->db, st,
                        sqlite3_bind_int64(st, 1, id), rep->err);
    sqlite3_finalize(st);
    if (n < 0) return -1;
    if (n == 0) {
        snprintf(msg, sizeof msg, "no run %lld (see /api/runs)",
                 (long long)id);
        return serve_error(rep, 404, 1, msg);
    }
    /* one row: the object without the array's brackets */
    SBuf one = {0};
    sb_add(&one, rep->body.p + 3, rep->body.len - 4);
    sb_puts(&one, "\n");
    sb_free(&rep->body);
    rep->body = one;
    return json_done(rep);
}

int serve_api_epochs(const ServeReq *req, ServeReply *rep, sqlite3_int64 id) {
    sqlite3_stmt *st = NULL;
    char msg[128];
    int rc;

    if (query_prepare(req->db, "SELECT status, selected_epoch, refit_epochs "
                      "FROM runs WHERE id = ?1", &st, rep->err))
        return -1;
    rc = sqlite3_bind_int64(st, 1, id);
    rc = query_step(st, rc);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        snprintf(msg, sizeof msg, "no run %lld (see /api/runs)",
                 (long long)id);
        return serve_error(rep, 404, 1, msg);
    }
    if (rc != SQLITE_ROW) {
        err_set(rep->err, "reading run %lld failed: %s", (long long)id,
                sqlite3_errmsg(req->db));
        sqlite3_finalize(st);
        return -1;
    }
    sb_printf(&rep->body, "{\"run\": %lld, \"status\": ", (long long)id);
    sb_json_col(&rep->body, st, 0);
    sb_puts(&rep->body, ", \"selected_epoch\": ");
    sb_json_col(&rep->body, st, 1);
    sb_puts(&rep->body, ", \"refit_epochs_done\": ");
    sb_json_col(&rep->body, st, 2);
    sqlite3_finalize(st);
    for (int refit = 0; refit < 2; refit++) {
        sb_puts(&rep->body, refit ? ",\n\"refit_epochs\": "
                                  : ",\n\"epochs\": ");
        if (query_prepare(req->db, serve_epochs_sql(refit), &st, rep->err))
            return -1;
        int n = serve_json_rows(&rep->body, req->db, st,
                                sqlite3_bind_int64(st, 1, id), rep->err);
        sqlite3_finalize(st);
        if (n < 0) return -1;
    }
    sb_puts(&rep->body, "}\n");
    return json_done(rep);
}

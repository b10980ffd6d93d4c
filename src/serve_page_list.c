/* serve_page_list.c - the dashboard's list pages: experiments (/) and runs
 * (/runs?experiment=&plain=&status=&where=&sort=&limit=&offset=).  Both
 * mark their tables data-part, which the page's script refreshes while
 * runs are going on. */
#include <string.h>

#include "err.h"
#include "serve.h"

/* The runs table: a heading (sort links) and the page's columns. */
typedef struct {
    const char *head, *sort, *sql, *fmt;   /* fmt: REAL format, or NULL */
} ListCol;

static const ListCol run_cols[] = {
    {"id", "id", "id", NULL},
    {"experiment", "experiment", "coalesce(experiment, name)", NULL},
    {"point", "point", "grid_point", NULL},
    {"status", "status", "status", NULL},
    {"hidden", "hidden", "hidden", NULL},
    {"lr", "lr", "lr", "%g"},
    {"wd", "weight_decay", "weight_decay", "%g"},
    {"dropout", "dropout", "dropout", "%g"},
    {"seed", "seed", "seed", NULL},
    {"epochs", "epochs_done", "epochs_done || '/' || epochs", NULL},
    {"result RMSE", "result", SERVE_RESULT_SQL, "%.4f"},
    {"selected", "selected_test_rmse", "selected_test_rmse", "%.4f"},
    {"@", "selected_epoch", "selected_epoch", NULL},
    {"refit", "refit_test_rmse", "refit_test_rmse", "%.4f"},
    {"best", "best_test_rmse", "best_test_rmse", "%.4f"},
    {"final", "final_test_rmse", "final_test_rmse", "%.4f"},
    {"time", "seconds", "seconds", "%.1f"},
    {"started", "started_at", "started_at", NULL},
};
#define NCOLS ((int)(sizeof run_cols / sizeof run_cols[0]))
#define COL_ID 0
#define COL_STATUS 3

/* Appends "/runs?" and the request's selection parameters except those
 * named in `except` (space-separated, e.g. "sort offset "), escaped for an
 * attribute. */
static void runs_link(SBuf *b, const ServeReq *req, const char *except) {
    static const char *const keys[] = {"experiment", "plain", "status",
                                       "where", "sort", "limit", "offset"};
    SBuf url = {0};
    int n = 0;
    sb_puts(&url, "/runs");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = serve_arg(req, keys[i]);
        char k[16];
        snprintf(k, sizeof k, "%s ", keys[i]);
        if (!v || !*v || strstr(except, k)) continue;
        sb_printf(&url, "%c%s=", n++ ? '&' : '?', keys[i]);
        sb_url(&url, v);
    }
    if (url.oom) b->oom = 1;   /* the reply fails as a whole */
    else sb_html(b, url.p);
    sb_free(&url);
}

/* Appends a separator for a link's next parameter. */
static void link_sep(SBuf *b, const ServeReq *req, const char *except) {
    SBuf probe = {0};
    runs_link(&probe, req, except);
    sb_puts(b, probe.p && strchr(probe.p, '?') ? "&amp;" : "?");
    sb_free(&probe);
}

/* Appends the "experiments a-b of n" line with previous/next links of the
 * experiments page pg (limit kept in the links when the request gave one). */
static void experiments_pager(SBuf *b, const ServeReq *req,
                              const ServePage *pg, sqlite3_int64 total) {
    const char *limit = serve_arg(req, "limit");
    char keep[48] = "";
    if (limit && *limit) snprintf(keep, sizeof keep, "limit=%ld&amp;",
                                  pg->limit);
    sb_printf(b, "<p class=\"sub\" id=\"count\">experiments %lld&ndash;%lld "
              "of %lld", total ? (long long)pg->offset + 1 : 0LL,
              (long long)(pg->offset + pg->limit < total
                              ? pg->offset + pg->limit : total),
              (long long)total);
    if (pg->offset > 0)
        sb_printf(b, " &middot; <a rel=\"prev\" href=\"/?%soffset=%ld\">"
                  "previous</a>", keep,
                  pg->offset > pg->limit ? pg->offset - pg->limit : 0);
    if (pg->offset + pg->limit < total)
        sb_printf(b, " &middot; <a rel=\"next\" href=\"/?%soffset=%ld\">"
                  "next</a>", keep, pg->offset + pg->limit);
    sb_puts(b, "</p>\n");
}

int serve_page_experiments(const ServeReq *req, ServeReply *rep) {
    SBuf *b = &rep->body;
    sqlite3_stmt *st = NULL;
    sqlite3_int64 total = 0;
    ServePage pg;
    char err[ERR_MAX];
    int rc, n = 0;

    if (serve_page_args(req, &pg, err)) {
        rep->status = 400;
        serve_page_begin(b, "Experiments", "experiments", 0);
        sb_puts(b, "<p class=\"error\" id=\"error\">");
        sb_html(b, err);
        sb_puts(b, "</p>\n");
        serve_page_end(b);
        return b->oom ? err_set(rep->err, "out of memory") : 0;
    }
    if (query_prepare(req->db, serve_experiments_count_sql(), &st, rep->err))
        return -1;
    rc = query_step(st, SQLITE_OK);
    if (rc == SQLITE_ROW) total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_ROW)
        return err_set(rep->err, "counting the experiments of %s failed: %s",
                       req->db_path, sqlite3_errmsg(req->db));
    serve_page_begin(b, "Experiments", "experiments", 1);
    sb_puts(b, "<p class=\"sub\">");
    sb_html(b, req->db_path);
    sb_puts(b, " &middot; result = refit test RMSE if refit, else the "
               "test RMSE at the epoch selected on validation, else the "
               "final epoch's</p>\n");
    if (query_prepare(req->db, serve_experiments_sql(), &st, rep->err))
        return -1;
    rc = sqlite3_bind_int64(st, 1, pg.limit);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, pg.offset);
    sb_puts(b, "<div data-part=\"1\" id=\"experiments-part\">");
    experiments_pager(b, req, &pg, total);
    sb_puts(b, "<div class=\"scroll\"><table class=\"t\" id=\"experiments\">"
               "<thead><tr><th>experiment</th><th>axes</th>"
               "<th class=\"r\">size</th><th class=\"r\">finished</th>"
               "<th class=\"r\">running</th><th class=\"r\">failed</th>"
               "<th class=\"r\">best result</th><th>best run</th>"
               "<th>started</th><th>last heartbeat</th><th></th></tr>"
               "</thead><tbody>\n");
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *axes = (const char *)sqlite3_column_text(st, 2);
        n++;
        sb_puts(b, "<tr><td><a href=\"/runs?");
        sb_puts(b, id ? "experiment=" : "plain=");
        sb_url(b, id ? id : name);
        sb_puts(b, "\">");
        sb_html(b, id ? id : name);
        sb_puts(b, id ? "</a>" : "</a> <span class=\"dim\">single runs"
                                 "</span>");
        sb_puts(b, "</td><td>");
        sb_html(b, axes ? axes : "");
        sb_puts(b, "</td><td class=\"r\">");
        sb_html_col(b, st, 3, NULL);
        sb_puts(b, "</td><td class=\"r\">");
        sb_html_col(b, st, 5, NULL);
        sb_puts(b, "</td><td class=\"r\">");
        sb_html_col(b, st, 6, NULL);
        sb_puts(b, "</td><td class=\"r\">");
        sb_html_col(b, st, 7, NULL);
        sb_puts(b, "</td><td class=\"r\">");
        sb_html_col(b, st, 8, "%.4f");
        sb_puts(b, "</td><td>");
        if (sqlite3_column_type(st, 9) != SQLITE_NULL)
            sb_printf(b, "<a href=\"/run/%lld\">#%lld</a>",
                      (long long)sqlite3_column_int64(st, 9),
                      (long long)sqlite3_column_int64(st, 9));
        sb_puts(b, "</td><td>");
        sb_html_col(b, st, 10, NULL);
        sb_puts(b, "</td><td>");
        sb_html_col(b, st, 11, NULL);
        sb_puts(b, "</td><td>");
        if (id && axes && strchr(axes, ',')) {
            sb_puts(b, "<a href=\"/grid?experiment=");
            sb_url(b, id);
            sb_puts(b, "\">heat map</a>");
        }
        sb_puts(b, "</td></tr>\n");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return err_set(rep->err, "listing the experiments of %s failed: %s",
                       req->db_path, sqlite3_errmsg(req->db));
    sb_puts(b, "</tbody></table></div></div>\n");
    if (n == 0 && total == 0)
        sb_puts(b, "<p class=\"empty\">No runs yet: <code>autorec run "
                   "CONFIG</code> or <code>autorec grid CONFIG</code> "
                   "records them here.</p>\n");
    serve_page_end(b);
    return b->oom ? err_set(rep->err, "out of memory") : 0;
}

/* Appends the filter form of the runs page (values escaped). */
static void runs_form(SBuf *b, const ServeReq *req) {
    static const char *const statuses[] = {"", "running", "finished",
                                           "failed", "interrupted",
                                           "diverged"};
    const char *where = serve_arg(req, "where"), *status =
        serve_arg(req, "status");
    sb_puts(b, "<form class=\"filter\" method=\"get\" action=\"/runs\">"
               "<label for=\"where\">filter</label> <input id=\"where\" "
               "name=\"where\" size=\"40\" placeholder=\"hidden &gt;= 300 "
               "and lr &lt; 0.005\" value=\"");
    sb_html(b, where ? where : "");
    sb_puts(b, "\"> <label for=\"status\">status</label> <select "
               "id=\"status\" name=\"status\">");
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        sb_printf(b, "<option value=\"%s\"%s>%s</option>", statuses[i],
                  status && !strcmp(status, statuses[i]) ? " selected" : "",
                  *statuses[i] ? statuses[i] : "any");
    }
    sb_puts(b, "</select> <label for=\"sort\">sort</label> <input "
               "id=\"sort\" name=\"sort\" size=\"14\" placeholder=\"-lr,hidden\" "
               "value=\"");
    sb_html(b, serve_arg(req, "sort"));
    sb_puts(b, "\">");
    static const char *const keep[] = {"experiment", "plain"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        const char *v = serve_arg(req, keep[i]);
        if (!v || !*v) continue;
        sb_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", keep[i]);
        sb_html(b, v);
        sb_puts(b, "\">");
    }
    sb_puts(b, " <button type=\"submit\">apply</button> "
               "<a href=\"/runs\">clear</a></form>\n");
}

int serve_page_runs(const ServeReq *req, ServeReply *rep) {
    SBuf *b = &rep->body;
    QFilter f;
    ServePage pg;
    char err[ERR_MAX];
    sqlite3_stmt *st = NULL;
    sqlite3_int64 total = 0;
    int rc, n = 0, ret = -1;
    const char *exp = serve_arg(req, "experiment"),
               *plain = serve_arg(req, "plain"),
               *sort = serve_arg(req, "sort");

    memset(&f, 0, sizeof f);
    if (serve_run_select(req, &f, &pg, err)) {
        query_filter_free(&f);
        rep->status = 400;
        serve_page_begin(b, "Runs", "runs", 0);
        runs_form(b, req);
        sb_puts(b, "<p class=\"error\" id=\"error\">");
        sb_html(b, err);
        sb_puts(b, "</p>\n");
        serve_page_end(b);
        return b->oom ? err_set(rep->err, "out of memory") : 0;
    }
    serve_page_begin(b, exp && *exp ? exp : plain && *plain ? plain : "Runs",
                     "runs", 1);
    runs_form(b, req);
    SBuf cols = {0};
    for (int c = 0; c < NCOLS; c++) {
        if (c) sb_puts(&cols, ", ");
        sb_puts(&cols, run_cols[c].sql);
    }
    if (cols.oom) {
        err_set(rep->err, "out of memory");
        goto done;
    }
    int failed = serve_run_count(req->db, &f, &total, rep->err) ||
                 serve_run_page(req->db, cols.p, &f, &pg, &st, &rc, rep->err);
    sb_free(&cols);
    if (failed) goto done;
    sb_puts(b, "<form id=\"cmp\" method=\"get\" action=\"/compare\"></form>"
               "<div id=\"runs-part\" data-part=\"1\">");
    sb_printf(b, "<p class=\"sub\" id=\"count\">runs %ld&ndash;%lld of %lld"
              " &middot; ", total ? pg.offset + 1 : 0,
              (long long)(pg.offset + pg.limit < total ? pg.offset + pg.limit
                                                       : total),
              (long long)total);
    if (pg.offset > 0) {
        sb_puts(b, "<a rel=\"prev\" href=\"");
        runs_link(b, req, "offset ");
        link_sep(b, req, "offset ");
        sb_printf(b, "offset=%ld\">previous</a> ",
                  pg.offset > pg.limit ? pg.offset - pg.limit : 0);
    }
    if (pg.offset + pg.limit < total) {
        sb_puts(b, "<a rel=\"next\" href=\"");
        runs_link(b, req, "offset ");
        link_sep(b, req, "offset ");
        sb_printf(b, "offset=%ld\">next</a> ", pg.offset + pg.limit);
    }
    sb_puts(b, "<button type=\"submit\" form=\"cmp\">compare selected"
               "</button></p>\n<div class=\"scroll\"><table class=\"t\" "
               "id=\"runs\"><thead><tr><th><span class=\"vh\">select"
               "</span></th>");
    for (int c = 0; c < NCOLS; c++) {
        int asc = sort && !strcmp(sort, run_cols[c].sort);
        int desc = sort && sort[0] == '-' &&
                   !strcmp(sort + 1, run_cols[c].sort);
        sb_printf(b, "<th%s><a href=\"", run_cols[c].fmt ? " class=\"r\""
                                                         : "");
        runs_link(b, req, "sort offset ");
        link_sep(b, req, "sort offset ");
        sb_printf(b, "sort=%s%s\">%s%s</a></th>", asc ? "-" : "",
                  run_cols[c].sort, run_cols[c].head,
                  asc ? " &#9650;" : desc ? " &#9660;" : "");
    }
    sb_puts(b, "</tr></thead><tbody>\n");
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(st, COL_ID);
        n++;
        sb_puts(b, "<tr class=\"");
        serve_status_class(b, (const char *)sqlite3_column_text(st,
                                                                COL_STATUS));
        sb_printf(b, "\"><td><input type=\"checkbox\" form=\"cmp\" "
                  "name=\"id\" value=\"%lld\" aria-label=\"compare run "
                  "%lld\"></td>", id, id);
        for (int c = 0; c < NCOLS; c++) {
            sb_puts(b, run_cols[c].fmt ? "<td class=\"r\">" : "<td>");
            if (c == COL_ID)
                sb_printf(b, "<a href=\"/run/%lld\">#%lld</a>", id, id);
            else if (c == COL_STATUS) {
                sb_puts(b, "<span class=\"badge\">");
                sb_html_col(b, st, c, NULL);
                sb_puts(b, "</span>");
            } else
                sb_html_col(b, st, c, run_cols[c].fmt);
            sb_puts(b, "</td>");
        }
        sb_puts(b, "</tr>\n");
    }
    if (rc != SQLITE_DONE) goto sqlfail;
    sb_puts(b, "</tbody></table></div></div>\n");
    if (n == 0)
        sb_puts(b, "<p class=\"empty\">No runs match.</p>\n");
    serve_page_end(b);
    ret = b->oom ? err_set(rep->err, "out of memory") : 0;
    goto done;
sqlfail:
    err_set(rep->err, "selecting runs of %s failed: %s", req->db_path,
            sqlite3_errmsg(req->db));
done:
    sqlite3_finalize(st);
    query_filter_free(&f);
    return ret;
}

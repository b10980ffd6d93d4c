/* serve_page_run.c - one run's page (/run/ID): its summary, curves (drawn
 * by the page's script from /api/runs/ID/epochs), every recorded column,
 * config, error text and per-epoch tables. */
#include <string.h>

#include "err.h"
#include "serve.h"

/* Index of column name in st, or -1. */
static int col_index(sqlite3_stmt *st, const char *name) {
    for (int i = 0; i < sqlite3_column_count(st); i++)
        if (!strcmp(sqlite3_column_name(st, i), name)) return i;
    return -1;
}

/* Appends a <dt>label</dt><dd>value</dd> of column name of st (skipped
 * when NULL or missing). */
static void dl_item(SBuf *b, sqlite3_stmt *st, const char *label,
                    const char *name, const char *fmt) {
    int i = col_index(st, name);
    if (i < 0 || sqlite3_column_type(st, i) == SQLITE_NULL) return;
    sb_puts(b, "<dt>");
    sb_html(b, label);
    sb_puts(b, "</dt><dd>");
    sb_html_col(b, st, i, fmt);
    sb_puts(b, "</dd>");
}

/* Appends the epoch table of run id (refit: its refit epochs), marking
 * row `selected`.  Returns the rows, or -1 with err. */
static int epoch_table(SBuf *b, const ServeReq *req, sqlite3_int64 id,
                       int refit, sqlite3_int64 selected, char *err) {
    sqlite3_stmt *st = NULL;
    int rc, n = 0;
    if (query_prepare(req->db, serve_epochs_sql(refit), &st, err)) return -1;
    rc = sqlite3_bind_int64(st, 1, id);
    int nc = sqlite3_column_count(st);
    sb_printf(b, "<div class=\"scroll\"><table class=\"t\" id=\"%s\">"
              "<thead><tr>", refit ? "refit-epochs" : "epochs");
    for (int i = 0; i < nc; i++) {
        sb_puts(b, "<th class=\"r\">");
        sb_html(b, sqlite3_column_name(st, i));
        sb_puts(b, "</th>");
    }
    sb_puts(b, "</tr></thead><tbody>\n");
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        n++;
        int sel = !refit && sqlite3_column_int64(st, 0) == selected;
        sb_puts(b, sel ? "<tr class=\"sel\" title=\"selected epoch\">"
                       : "<tr>");
        for (int i = 0; i < nc; i++) {
            sb_puts(b, "<td class=\"r\">");
            sb_html_col(b, st, i, strstr(sqlite3_column_name(st, i),
                                         "seconds") ? "%.3f" : "%.5f");
            sb_puts(b, "</td>");
        }
        sb_puts(b, "</tr>\n");
    }
    sqlite3_finalize(st);
    sb_puts(b, "</tbody></table></div>\n");
    if (rc != SQLITE_DONE)
        return err_set(err, "reading the epochs of run %lld failed: %s",
                       (long long)id, sqlite3_errmsg(req->db));
    return n;
}

int serve_page_run(const ServeReq *req, ServeReply *rep, sqlite3_int64 id) {
    SBuf *b = &rep->body;
    sqlite3_stmt *st = NULL;
    char title[64], msg[128];
    int rc;

    if (query_prepare(req->db, serve_run_sql(), &st, rep->err)) return -1;
    rc = sqlite3_bind_int64(st, 1, id);
    rc = query_step(st, rc);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        snprintf(msg, sizeof msg, "no run %lld in this database (see the "
                 "runs page)", (long long)id);
        return serve_error(rep, 404, 0, msg);
    }
    if (rc != SQLITE_ROW) {
        err_set(rep->err, "reading run %lld failed: %s", (long long)id,
                sqlite3_errmsg(req->db));
        sqlite3_finalize(st);
        return -1;
    }
    const char *status = (const char *)sqlite3_column_text(
        st, col_index(st, "status"));
    int si = col_index(st, "selected_epoch");
    sqlite3_int64 selected = sqlite3_column_type(st, si) == SQLITE_NULL
                                 ? -1 : sqlite3_column_int64(st, si);
    int running = status && !strcmp(status, "running");
    int ei = col_index(st, "experiment");

    snprintf(title, sizeof title, "Run #%lld", (long long)id);
    serve_page_begin(b, title, NULL, running);
    sb_puts(b, "<div id=\"summary\" data-part=\"1\"><p class=\"sub\">"
               "<span class=\"badge ");
    serve_status_class(b, status);
    sb_puts(b, "\">");
    sb_html(b, status);
    sb_puts(b, "</span> ");
    if (sqlite3_column_type(st, ei) != SQLITE_NULL) {
        const char *e = (const char *)sqlite3_column_text(st, ei);
        sb_puts(b, "of <a href=\"/runs?experiment=");
        sb_url(b, e);
        sb_puts(b, "\">");
        sb_html(b, e);
        sb_puts(b, "</a>");
    } else {
        sb_puts(b, "config ");
        sb_html_col(b, st, col_index(st, "name"), NULL);
    }
    sb_puts(b, "</p>\n<dl class=\"kv\">");
    dl_item(b, st, "result (test RMSE)", "result_test_rmse", "%.4f");
    dl_item(b, st, "selected epoch", "selected_epoch", NULL);
    dl_item(b, st, "selected test RMSE", "selected_test_rmse", "%.4f");
    dl_item(b, st, "selected val RMSE", "selected_val_rmse", "%.4f");
    dl_item(b, st, "refit epochs", "refit_epochs", NULL);
    dl_item(b, st, "refit test RMSE", "refit_test_rmse", "%.4f");
    dl_item(b, st, "refit test MAE", "refit_test_mae", "%.4f");
    dl_item(b, st, "best test RMSE", "best_test_rmse", "%.4f");
    dl_item(b, st, "best epoch", "best_epoch", NULL);
    dl_item(b, st, "final test RMSE", "final_test_rmse", "%.4f");
    dl_item(b, st, "epochs done", "epochs_done", NULL);
    dl_item(b, st, "grid point", "grid_point", NULL);
    dl_item(b, st, "host", "host", NULL);
    dl_item(b, st, "worker", "worker", NULL);
    dl_item(b, st, "build", "git_commit", NULL);
    dl_item(b, st, "kernel", "kernel", NULL);
    dl_item(b, st, "threads", "threads", NULL);
    dl_item(b, st, "BLIS", "blis_info", NULL);
    dl_item(b, st, "started", "started_at", NULL);
    dl_item(b, st, "finished", "finished_at", NULL);
    dl_item(b, st, "last heartbeat", "heartbeat", NULL);
    dl_item(b, st, "time in epochs (s)", "seconds", "%.2f");
    dl_item(b, st, "wall time (s)", "wall_seconds", "%.1f");
    sb_puts(b, "</dl>\n");
    int er = col_index(st, "error");
    if (sqlite3_column_type(st, er) != SQLITE_NULL) {
        sb_puts(b, "<h2>Error</h2><pre class=\"error\" id=\"run-error\">");
        sb_html_col(b, st, er, NULL);
        sb_puts(b, "</pre>\n");
    }
    sb_puts(b, "</div>\n<h2>Curves</h2>\n<p class=\"hint\">Hover for values;"
               " drag to zoom, double-click to reset.  The dashed line marks"
               " the selected epoch.</p>\n<div class=\"charts\">");
    sb_printf(b, "<figure><figcaption>train loss</figcaption><div "
              "class=\"chart\" data-chart=\"loss\" data-runs=\"%lld\"></div>"
              "</figure><figure><figcaption>RMSE / MAE</figcaption><div "
              "class=\"chart\" data-chart=\"rmse\" data-runs=\"%lld\"></div>"
              "</figure></div>\n", (long long)id, (long long)id);

    sb_puts(b, "<h2>Epochs</h2>\n<div data-part=\"1\" id=\"epochs-part\">");
    if (epoch_table(b, req, id, 0, selected, rep->err) < 0) goto fail;
    int ri = col_index(st, "refit_epochs");
    if (sqlite3_column_type(st, ri) != SQLITE_NULL) {
        sb_puts(b, "<h2>Refit epochs (train + validation)</h2>\n");
        if (epoch_table(b, req, id, 1, -1, rep->err) < 0) goto fail;
    }
    sb_puts(b, "</div>\n<h2>All columns</h2>\n<div class=\"scroll\"><table "
               "class=\"t kvt\" id=\"columns\"><tbody>\n");
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        if (!strcmp(name, "config_yaml") || !strcmp(name, "error") ||
            sqlite3_column_type(st, i) == SQLITE_NULL)
            continue;
        sb_puts(b, "<tr><th>");
        sb_html(b, name);
        sb_puts(b, "</th><td>");
        sb_html_col(b, st, i, "%.6g");
        sb_puts(b, "</td></tr>\n");
    }
    sb_puts(b, "</tbody></table></div>\n<h2>Config</h2>\n<pre id=\"config\">");
    sb_html_col(b, st, col_index(st, "config_yaml"), NULL);
    sb_puts(b, "</pre>\n");
    sqlite3_finalize(st);
    serve_page_end(b);
    return b->oom ? err_set(rep->err, "out of memory") : 0;
fail:
    sqlite3_finalize(st);
    return -1;
}

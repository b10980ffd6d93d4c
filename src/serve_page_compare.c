/* serve_page_compare.c - 2 to 8 runs side by side (/compare?ids=1,2 or
 * ?id=1&id=2): their results, every parameter that differs (the equal ones
 * folded away) and overlaid curves. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "serve.h"

/* Columns of serve_run_sql that are outcomes or bookkeeping, not
 * parameters: never in the "differing parameters" table. */
static const char *const not_params[] = {
    "id", "status", "grid_point", "grid_size", "epochs_done", "best_epoch",
    "best_test_rmse", "final_test_rmse", "seconds", "wall_seconds",
    "started_at", "finished_at", "host", "worker", "attempts", "config_hash",
    "error", "selected_epoch", "selected_test_rmse", "selected_val_rmse",
    "checkpoint", "refit_epochs", "refit_test_rmse", "refit_test_mae",
    "config_yaml", "git_commit", "blis_info", "heartbeat",
    "result_test_rmse", "threads"};

/* The results rows of the comparison: label, column, REAL format. */
static const struct { const char *label, *col, *fmt; } results[] = {
    {"status", "status", NULL},
    {"result (test RMSE)", "result_test_rmse", "%.4f"},
    {"selected epoch", "selected_epoch", NULL},
    {"selected val RMSE", "selected_val_rmse", "%.4f"},
    {"refit test RMSE", "refit_test_rmse", "%.4f"},
    {"best test RMSE", "best_test_rmse", "%.4f"},
    {"final test RMSE", "final_test_rmse", "%.4f"},
    {"epochs done", "epochs_done", NULL},
    {"time (s)", "seconds", "%.1f"},
};

typedef struct {
    sqlite3_int64 ids[SERVE_COMPARE_MAX];
    int n, bad, too_many;
} IdList;

/* Adds the run ids in value ("3", "3,4", "#3") to the list. */
static void add_ids(void *ctx, const char *value) {
    IdList *l = ctx;
    const char *p = value;
    while (*p) {
        char seg[24];
        size_t len = strcspn(p, ", ");
        if (len) {
            const char *s = *p == '#' ? p + 1 : p;
            size_t sl = len - (size_t)(s - p);
            sqlite3_int64 id;
            if (sl == 0 || sl >= sizeof seg) {
                l->bad = 1;
            } else {
                memcpy(seg, s, sl);
                seg[sl] = '\0';
                if (serve_parse_id(seg, &id)) l->bad = 1;
                else if (l->n == SERVE_COMPARE_MAX) l->too_many = 1;
                else l->ids[l->n++] = id;
            }
        }
        p += len;
        while (*p == ',' || *p == ' ') p++;
    }
}

/* The text of every column of every run: texts[run][col] (owned, "" for
 * NULL), cols column names (owned).  Freed by cmp_free. */
typedef struct {
    int nruns, ncols;
    char **names;            /* ncols */
    char ***texts;           /* nruns x ncols */
} Cmp;

static void cmp_free(Cmp *c) {
    for (int r = 0; r < c->nruns && c->texts; r++) {
        for (int i = 0; c->texts[r] && i < c->ncols; i++)
            mem_free(c->texts[r][i]);
        mem_free(c->texts[r]);
    }
    for (int i = 0; c->names && i < c->ncols; i++) mem_free(c->names[i]);
    mem_free(c->texts);
    mem_free(c->names);
}

/* Reads the runs of l into c.  Returns 0, 1 when a run is missing (msg
 * names it), or -1 with err. */
static int cmp_read(const ServeReq *req, const IdList *l, Cmp *c,
                    char *msg, size_t msgn, char *err) {
    sqlite3_stmt *st = NULL;
    memset(c, 0, sizeof *c);
    if (query_prepare(req->db, serve_run_sql(), &st, err)) return -1;
    c->ncols = sqlite3_column_count(st);
    c->names = mem_calloc((size_t)c->ncols, sizeof *c->names);
    c->texts = mem_calloc((size_t)l->n, sizeof *c->texts);
    if (!c->names || !c->texts) goto oom;
    for (int i = 0; i < c->ncols; i++)
        if (!(c->names[i] = mem_strdup(sqlite3_column_name(st, i)))) goto oom;
    for (int r = 0; r < l->n; r++) {
        sqlite3_reset(st);
        int rc = sqlite3_bind_int64(st, 1, l->ids[r]);
        rc = query_step(st, rc);
        if (rc == SQLITE_DONE) {
            snprintf(msg, msgn, "no run %lld in this database (see the runs "
                     "page)", (long long)l->ids[r]);
            sqlite3_finalize(st);
            return 1;
        }
        if (rc != SQLITE_ROW) {
            err_set(err, "reading run %lld failed: %s", (long long)l->ids[r],
                    sqlite3_errmsg(req->db));
            sqlite3_finalize(st);
            return -1;
        }
        c->nruns = r + 1;
        c->texts[r] = mem_calloc((size_t)c->ncols, sizeof **c->texts);
        if (!c->texts[r]) goto oom;
        for (int i = 0; i < c->ncols; i++) {
            char buf[64];
            const char *t = sqlite3_column_type(st, i) == SQLITE_FLOAT
                ? query_real(sqlite3_column_double(st, i), buf, sizeof buf)
                : (const char *)sqlite3_column_text(st, i);
            if (!(c->texts[r][i] = mem_strdup(t ? t : ""))) goto oom;
        }
    }
    sqlite3_finalize(st);
    return 0;
oom:
    sqlite3_finalize(st);
    return err_set(err, "out of memory comparing runs");
}

static int is_param(const char *name) {
    for (size_t i = 0; i < sizeof not_params / sizeof not_params[0]; i++)
        if (!strcmp(name, not_params[i])) return 0;
    return 1;
}

static int col_of(const Cmp *c, const char *name) {
    for (int i = 0; i < c->ncols; i++)
        if (!strcmp(c->names[i], name)) return i;
    return -1;
}

/* Appends the header row: one column per run. */
static void run_heads(SBuf *b, const IdList *l) {
    sb_puts(b, "<thead><tr><th></th>");
    for (int r = 0; r < l->n; r++)
        sb_printf(b, "<th><a href=\"/run/%lld\">#%lld</a></th>",
                  (long long)l->ids[r], (long long)l->ids[r]);
    sb_puts(b, "</tr></thead>");
}

/* Appends parameter rows: those that differ (differ = 1) or not. */
static int param_rows(SBuf *b, const Cmp *c, int differ) {
    int n = 0;
    for (int i = 0; i < c->ncols; i++) {
        if (!is_param(c->names[i])) continue;
        int d = 0;
        for (int r = 1; r < c->nruns; r++)
            d |= strcmp(c->texts[r][i], c->texts[0][i]) != 0;
        if (d != differ) continue;
        n++;
        sb_puts(b, "<tr><th>");
        sb_html(b, c->names[i]);
        sb_puts(b, "</th>");
        for (int r = 0; r < c->nruns; r++) {
            sb_puts(b, "<td>");
            sb_html(b, c->texts[r][i]);
            sb_puts(b, "</td>");
        }
        sb_puts(b, "</tr>\n");
    }
    return n;
}

int serve_page_compare(const ServeReq *req, ServeReply *rep) {
    SBuf *b = &rep->body;
    IdList l;
    Cmp c;
    char msg[256];
    int rc;

    memset(&l, 0, sizeof l);
    serve_args(req, "ids", add_ids, &l);
    serve_args(req, "id", add_ids, &l);
    if (l.bad || l.too_many || l.n < SERVE_COMPARE_MIN) {
        snprintf(msg, sizeof msg, "compare takes %d to %d run ids, e.g. "
                 "/compare?ids=1,2,3 (or tick runs on the runs page)",
                 SERVE_COMPARE_MIN, SERVE_COMPARE_MAX);
        return serve_error(rep, 400, 0, msg);
    }
    rc = cmp_read(req, &l, &c, msg, sizeof msg, rep->err);
    if (rc) {
        cmp_free(&c);
        return rc < 0 ? -1 : serve_error(rep, 404, 0, msg);
    }
    serve_page_begin(b, "Compare", NULL, 0);
    sb_puts(b, "<div class=\"side\"><section><h2>Results</h2><div "
               "class=\"scroll\"><table class=\"t kvt\" id=\"results\">");
    run_heads(b, &l);
    sb_puts(b, "<tbody>\n");
    for (size_t k = 0; k < sizeof results / sizeof results[0]; k++) {
        int i = col_of(&c, results[k].col), any = 0;
        for (int r = 0; i >= 0 && r < c.nruns; r++) any |= *c.texts[r][i];
        if (!any) continue;          /* e.g. refit RMSE when none refit */
        sb_puts(b, "<tr><th>");
        sb_html(b, results[k].label);
        sb_puts(b, "</th>");
        for (int r = 0; r < c.nruns; r++) {
            sb_puts(b, "<td>");
            if (results[k].fmt && *c.texts[r][i])
                sb_printf(b, results[k].fmt, atof(c.texts[r][i]));
            else
                sb_html(b, c.texts[r][i]);
            sb_puts(b, "</td>");
        }
        sb_puts(b, "</tr>\n");
    }
    sb_puts(b, "</tbody></table></div></section>\n<section><h2>Differing "
               "parameters</h2><div class=\"scroll\"><table class=\"t kvt\" "
               "id=\"differ\">");
    run_heads(b, &l);
    sb_puts(b, "<tbody>\n");
    if (param_rows(b, &c, 1) == 0)
        sb_printf(b, "<tr><td colspan=\"%d\">none: the runs differ only in "
                  "their outcome</td></tr>", c.nruns + 1);
    sb_puts(b, "</tbody></table></div>\n<details><summary>Equal parameters"
               "</summary><div class=\"scroll\"><table class=\"t kvt\" "
               "id=\"same\"><tbody>\n");
    param_rows(b, &c, 0);
    sb_puts(b, "</tbody></table></div></details></section></div>\n"
               "<h2>Curves</h2>\n"
               "<p class=\"hint\">Hover for values; drag to zoom, "
               "double-click to reset.</p><div class=\"charts\">");
    SBuf ids = {0};
    for (int r = 0; r < l.n; r++)
        sb_printf(&ids, "%s%lld", r ? "," : "", (long long)l.ids[r]);
    sb_printf(b, "<figure><figcaption>test RMSE (solid) and validation RMSE "
              "(dashed)</figcaption><div class=\"chart\" data-chart=\"rmse\""
              " data-runs=\"%s\"></div></figure><figure><figcaption>train "
              "loss</figcaption><div class=\"chart\" data-chart=\"loss\" "
              "data-runs=\"%s\"></div></figure></div>\n",
              ids.p ? ids.p : "", ids.p ? ids.p : "");
    if (ids.oom) b->oom = 1;
    sb_free(&ids);
    cmp_free(&c);
    serve_page_end(b);
    return b->oom ? err_set(rep->err, "out of memory") : 0;
}

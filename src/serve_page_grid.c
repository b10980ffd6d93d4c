/* serve_page_grid.c - a grid's heat map (/grid?experiment=E&x=KEY&y=KEY):
 * the best result (lowest finished result RMSE) for each pair of values of
 * two of its axes, over the other axes, coloured from best to worst, like
 * `autorec best --by x,y` made visible.  Cells link to their best run. */
#include <string.h>

#include "err.h"
#include "mem.h"
#include "serve.h"

#define GRID_MAX_VALUES 64
#define GRID_SHADES 10

typedef struct {
    char *x, *y;            /* owned value texts */
    sqlite3_int64 run;
    double best;
    int n;                  /* finished runs in the cell */
} Cell;

typedef struct {
    char *vals[GRID_MAX_VALUES];   /* owned, in SQL order */
    int n;
} Axis;

static void axis_free(Axis *a) {
    for (int i = 0; i < a->n; i++) mem_free(a->vals[i]);
    a->n = 0;
}

/* Reads the distinct values of column col over experiment exp into a.
 * Returns 0, 1 when there are too many, or -1 with err. */
static int axis_read(const ServeReq *req, const char *exp, const char *col,
                     Axis *a, char *err) {
    char sql[256];
    sqlite3_stmt *st = NULL;
    int rc;
    snprintf(sql, sizeof sql, "SELECT DISTINCT %s FROM run_summary WHERE "
             "experiment = ?1 AND %s IS NOT NULL ORDER BY %s", col, col, col);
    if (query_prepare(req->db, sql, &st, err)) return -1;
    rc = sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        if (a->n == GRID_MAX_VALUES) {
            sqlite3_finalize(st);
            return 1;
        }
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (!(a->vals[a->n] = mem_strdup(t ? t : ""))) {
            sqlite3_finalize(st);
            return err_set(err, "out of memory");
        }
        a->n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return err_set(err, "reading the grid failed: %s",
                       sqlite3_errmsg(req->db));
    return 0;
}

static int axis_find(const Axis *a, const char *v) {
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->vals[i], v)) return i;
    return -1;
}

/* Is key one of the comma-separated axes? */
static int has_axis(const char *axes, const char *key) {
    size_t n = strlen(key);
    for (const char *p = axes; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && !strncmp(p, key, n)) return 1;
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

/* Copies axis number k (0-based) of axes into out (size n); "" if none. */
static void nth_axis(const char *axes, int k, char *out, size_t n) {
    const char *p = axes;
    out[0] = '\0';
    for (int i = 0; *p; i++) {
        size_t len = strcspn(p, ",");
        if (i == k) {
            snprintf(out, n, "%.*s", (int)len, p);
            return;
        }
        p += len;
        if (*p == ',') p++;
    }
}

/* Appends the key picker (a form choosing x and y among the axes). */
static void axis_form(SBuf *b, const char *exp, const char *axes,
                      const char *xk, const char *yk) {
    sb_puts(b, "<form class=\"filter\" method=\"get\" action=\"/grid\">"
               "<input type=\"hidden\" name=\"experiment\" value=\"");
    sb_html(b, exp);
    sb_puts(b, "\">");
    for (int w = 0; w < 2; w++) {
        const char *cur = w ? yk : xk;
        sb_printf(b, "<label for=\"%c\">%s</label> <select id=\"%c\" "
                  "name=\"%c\">", w ? 'y' : 'x', w ? "columns" : "rows",
                  w ? 'y' : 'x', w ? 'y' : 'x');
        char k[128];
        for (int i = 0; nth_axis(axes, i, k, sizeof k), *k; i++) {
            sb_puts(b, "<option");
            if (!strcmp(k, cur)) sb_puts(b, " selected");
            sb_puts(b, ">");
            sb_html(b, k);
            sb_puts(b, "</option>");
        }
        sb_puts(b, "</select> ");
    }
    sb_puts(b, "<button type=\"submit\">show</button></form>\n");
}

int serve_page_grid(const ServeReq *req, ServeReply *rep) {
    SBuf *b = &rep->body;
    const char *exp = serve_arg(req, "experiment");
    sqlite3_stmt *st = NULL;
    char axes[1024], xk[128], yk[128], msg[512], sql[1024];
    const QKey *kx, *ky;
    Axis ax = {{0}, 0}, ay = {{0}, 0};
    Cell *cells = NULL;
    int rc, ret = -1;

    if (!exp || !*exp)
        return serve_error(rep, 400, 0, "the heat map needs ?experiment=ID "
                           "(see the experiments page)");
    if (query_prepare(req->db, "SELECT axes FROM experiments WHERE id = ?1",
                      &st, rep->err))
        return -1;
    rc = sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
    rc = query_step(st, rc);
    if (rc == SQLITE_ROW)
        snprintf(axes, sizeof axes, "%s",
                 (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        snprintf(msg, sizeof msg, "no experiment '%.200s' in this database "
                 "(see the experiments page)", exp);
        return serve_error(rep, 404, 0, msg);
    }
    if (rc != SQLITE_ROW)
        return err_set(rep->err, "reading experiment failed: %s",
                       sqlite3_errmsg(req->db));
    const char *xa = serve_arg(req, "x"), *ya = serve_arg(req, "y");
    nth_axis(axes, 0, xk, sizeof xk);
    nth_axis(axes, 1, yk, sizeof yk);
    if (xa && *xa) snprintf(xk, sizeof xk, "%s", xa);
    if (ya && *ya) snprintf(yk, sizeof yk, "%s", ya);
    if (!*yk) {
        snprintf(msg, sizeof msg, "experiment '%.200s' has one axis (%.200s):"
                 " a heat map needs two (see its runs instead)", exp, axes);
        return serve_error(rep, 400, 0, msg);
    }
    if (!has_axis(axes, xk) || !has_axis(axes, yk) || !strcmp(xk, yk)) {
        snprintf(msg, sizeof msg, "x and y must be two different axes of "
                 "the grid: %.400s", axes);
        return serve_error(rep, 400, 0, msg);
    }
    kx = query_key(xk);
    ky = query_key(yk);
    if (!kx || !ky) {
        snprintf(msg, sizeof msg, "axis '%.200s' is not a recorded run "
                 "column: pick other axes", kx ? yk : xk);
        return serve_error(rep, 400, 0, msg);
    }
    if ((rc = axis_read(req, exp, kx->column, &ax, rep->err)) ||
        (rc = axis_read(req, exp, ky->column, &ay, rep->err))) {
        if (rc > 0) {
            snprintf(msg, sizeof msg, "an axis has over %d values: too many "
                     "for a heat map", GRID_MAX_VALUES);
            ret = serve_error(rep, 400, 0, msg);
        }
        goto done;
    }
    cells = mem_calloc((size_t)(ax.n * ay.n + 1), sizeof *cells);
    if (!cells) {
        err_set(rep->err, "out of memory");
        goto done;
    }
    /* the best finished run of each cell: the first in result order */
    snprintf(sql, sizeof sql, "SELECT %s, %s, id, " SERVE_RESULT_SQL
             " AS res FROM run_summary WHERE experiment = ?1 AND status = "
             "'finished' AND res IS NOT NULL ORDER BY res, id", kx->column,
             ky->column);
    if (query_prepare(req->db, sql, &st, rep->err)) goto done;
    rc = sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
    double lo = 0, hi = 0;
    int any = 0;
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        const char *xv = (const char *)sqlite3_column_text(st, 0);
        const char *yv = (const char *)sqlite3_column_text(st, 1);
        int i = xv ? axis_find(&ax, xv) : -1, j = yv ? axis_find(&ay, yv) : -1;
        if (i < 0 || j < 0) continue;
        Cell *c = &cells[i * ay.n + j];
        if (c->n++ == 0) {
            c->run = sqlite3_column_int64(st, 2);
            c->best = sqlite3_column_double(st, 3);
            if (!any || c->best < lo) lo = c->best;
            if (!any || c->best > hi) hi = c->best;
            any = 1;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        err_set(rep->err, "reading the grid's runs failed: %s",
                sqlite3_errmsg(req->db));
        goto done;
    }
    snprintf(msg, sizeof msg, "Grid %s", exp);
    serve_page_begin(b, msg, NULL, 1);
    sb_puts(b, "<p class=\"sub\">best result (test RMSE) of the finished "
               "runs per cell, over the other axes; lower is better.  <a "
               "href=\"/runs?experiment=");
    sb_url(b, exp);
    sb_puts(b, "\">all runs</a></p>\n");
    axis_form(b, exp, axes, xk, yk);
    sb_puts(b, "<div class=\"scroll\" id=\"heat-part\" data-part=\"1\">"
               "<table class=\"t heat\" id=\"heat\"><thead><tr><th>");
    sb_html(b, xk);
    sb_puts(b, " \\ ");
    sb_html(b, yk);
    sb_puts(b, "</th>");
    for (int j = 0; j < ay.n; j++) {
        sb_puts(b, "<th class=\"r\">");
        sb_html(b, ay.vals[j]);
        sb_puts(b, "</th>");
    }
    sb_puts(b, "</tr></thead><tbody>\n");
    for (int i = 0; i < ax.n; i++) {
        sb_puts(b, "<tr><th>");
        sb_html(b, ax.vals[i]);
        sb_puts(b, "</th>");
        for (int j = 0; j < ay.n; j++) {
            const Cell *c = &cells[i * ay.n + j];
            if (!c->n) {
                sb_puts(b, "<td class=\"r none\">&ndash;</td>");
                continue;
            }
            int shade = hi > lo ? (int)((c->best - lo) / (hi - lo) *
                                        (GRID_SHADES - 1) + 0.5) : 0;
            sb_printf(b, "<td class=\"r h%d\"><a href=\"/run/%lld\" "
                      "title=\"run #%lld, best of %d finished\">%.4f</a></td>",
                      shade, (long long)c->run, (long long)c->run, c->n,
                      c->best);
        }
        sb_puts(b, "</tr>\n");
    }
    sb_puts(b, "</tbody></table>");
    if (any)
        sb_printf(b, "<p class=\"legend\"><span class=\"h0\">%.4f best</span>"
                  " &hellip; <span class=\"h%d\">%.4f worst</span></p>",
                  lo, GRID_SHADES - 1, hi);
    else
        sb_puts(b, "<p class=\"empty\">No finished runs yet.</p>");
    sb_puts(b, "</div>\n");
    serve_page_end(b);
    ret = b->oom ? err_set(rep->err, "out of memory") : 0;
done:
    sqlite3_finalize(st);
    mem_free(cells);
    axis_free(&ax);
    axis_free(&ay);
    return ret;
}

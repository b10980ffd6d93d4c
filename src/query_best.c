/* query_best.c - `autorec best`: the best run, per group, or as a pivot
 * table of two grid keys. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "query.h"

#define BEST_MAX_KEYS 8
#define CELL_MAX 64

void query_best_usage(FILE *f) {
    fprintf(f,
"usage: autorec best [--metric M] [--by KEY[,KEY...]] [--experiment E]\n"
"                    [--where FILTER] [--status S] [--top N]\n"
"                    [--format table|csv|json] [--db PATH]\n"
"\n"
"With --experiment naming a search (sampled trials or pruning: autorec\n"
"grid with search.*), the search's report follows: trials by status, the\n"
"epochs spent against every trial trained to the end, and the best finished\n"
"trial by validation RMSE with its test RMSE.\n"
"\n"
"Without --by: the best run (--top N: the N best).  With --by one key (or\n"
"three and more): the best run of each group.  With --by two keys: a pivot\n"
"table of the best value, rows the first key, columns the second, '*' on the\n"
"overall best.  Keys are run columns or config keys (hidden, lr, wd, seed,\n"
"model.hidden, train.lr, ...).\n"
"\n"
"options:\n"
"  --metric M       result_test_rmse (default: each run's honest result,\n"
"                   the refit's test RMSE, else the validation-selected\n"
"                   epoch's, else the last epoch's), selected_val_rmse\n"
"                   (pick by validation; the selected test RMSE is shown:\n"
"                   the honest way to tune), selected_test_rmse,\n"
"                   final_test_rmse, refit_test_rmse, refit_test_mae, or\n"
"                   best_test_rmse (alias test_rmse: the best epoch of each\n"
"                   run, picked on the test set: optimistic).  A metric no\n"
"                   selected run has is an error (exit 2)\n"
"  --format F       table (default), csv or json (the rows, no pivot)\n"
"  --status S       runs considered (default finished; all for every run)\n"
"  --experiment E   runs of one experiment (id or config name; add\n"
"                   --latest or --all-matching for a shared name, as ls)\n"
"  --where FILTER   e.g. \"seed = 0 and hidden >= 300\"\n"
"  --db PATH        results database (default " CLI_DEFAULT_DB ")\n");
}

typedef struct {
    const char *metric;       /* column */
    const char *epoch_col;    /* the epoch the metric was reached ("NULL") */
    const char *label;        /* for headings */
} Metric;

/* The epoch at which each metric column was reached, and its label. */
static const struct {
    const char *metric, *epoch, *label;
} metric_epochs[] = {
    {"result_test_rmse", "coalesce(refit_epochs, selected_epoch)",
     "result test RMSE"},
    {"best_test_rmse", "best_epoch",
     "best-epoch test RMSE (epoch picked on the test set)"},
    {"final_test_rmse", "epochs_done", "final test RMSE"},
    {"selected_test_rmse", "selected_epoch", "selected test RMSE"},
    {"selected_val_rmse", "selected_epoch", "validation RMSE"},
    {"refit_test_rmse", "refit_epochs", "refit test RMSE"},
    {"refit_test_mae", "refit_epochs", "refit test MAE"},
};

/* Resolves --metric (NULL: result_test_rmse): any real metric column of
 * the column table.  Returns 0 or -1 with err. */
static int best_metric(const char *name, Metric *m, char *err) {
    const QColumn *c = qcol_find(name ? name : "result_test_rmse");
    if (!c || c->kind != QCOL_METRIC || c->type != QK_REAL || c->display) {
        char names[1024];
        size_t len = 0;
        names[0] = '\0';
        for (int i = 0; i < qcol_count(); i++) {
            const QColumn *x = qcol_get(i);
            if (x->kind == QCOL_METRIC && x->type == QK_REAL && !x->display &&
                len + 1 < sizeof names)
                len += (size_t)snprintf(names + len, sizeof names - len,
                                        "%s%s", len ? ", " : "", x->name);
        }
        return err_set(err, "--metric: '%s' is not a metric (use %s)", name,
                       names);
    }
    *m = (Metric){c->column, "NULL", c->heading};
    for (size_t i = 0; i < sizeof metric_epochs / sizeof *metric_epochs; i++)
        if (!strcmp(metric_epochs[i].metric, c->column)) {
            m->epoch_col = metric_epochs[i].epoch;
            m->label = metric_epochs[i].label;
        }
    return 0;
}

/* Appends " WHERE <filter> AND metric IS NOT NULL" to sql.  */
static void best_where(char *sql, size_t n, const QFilter *f,
                       const Metric *m) {
    size_t len = strlen(sql);
    snprintf(sql + len, n - len, " FROM run_summary WHERE %s%s%s IS NOT NULL",
             f->sql, f->len ? " AND " : "", m->metric);
}

/* Prints "overall best: run ..." for the filter.  Returns 0, 1 when no run
 * qualifies, or -1 with err. */
static int best_overall(sqlite3 *h, const QFilter *f, const Metric *m,
                        const QKey **keys, int nkeys, FILE *out, char *err) {
    char sql[QUERY_SQL_MAX + 1024], b[3][CELL_MAX];
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT id, %s, %s",
                                  m->metric, m->epoch_col);
    for (int k = 0; k < nkeys; k++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s",
                                keys[k]->column);
    snprintf(sql + len, sizeof sql - len, ", selected_test_rmse");
    best_where(sql, sizeof sql, f, m);
    len = strlen(sql);
    snprintf(sql + len, sizeof sql - len, " ORDER BY %s, id LIMIT 1",
             m->metric);
    if (query_prepare(h, sql, &st, err)) goto done;
    rc = query_filter_bind(st, f, 1);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) { ret = 1; goto done; }
    if (rc != SQLITE_ROW) {
        err_set(err, "cannot query the best run: %s", sqlite3_errmsg(h));
        goto done;
    }
    fprintf(out, "overall best: run %lld", sqlite3_column_int64(st, 0));
    for (int k = 0; k < nkeys; k++)
        fprintf(out, "%s%s=%s", k ? " " : " (", keys[k]->name,
                query_col(st, 3 + k, "%g", b[0], CELL_MAX));
    fprintf(out, "%s: %s %s at epoch %s", nkeys ? ")" : "", m->label,
            query_col(st, 1, "%.4f", b[1], CELL_MAX),
            query_col(st, 2, NULL, b[2], CELL_MAX));
    if (!strcmp(m->metric, "selected_val_rmse"))
        fprintf(out, ", selected test RMSE %s",
                query_col(st, 3 + nkeys, "%.4f", b[0], CELL_MAX));
    fputc('\n', out);
    ret = 0;
done:
    sqlite3_finalize(st);
    return ret;
}

/* One row per group: keys, best value, run, epoch, runs in the group.
 * Returns the number of groups, or -1 with err. */
static int best_groups(sqlite3 *h, const QFilter *f, const Metric *m,
                       const QKey **keys, int nkeys, QFormatKind fmt,
                       FILE *out, char *err) {
    char sql[QUERY_SQL_MAX + 1024], b[CELL_MAX], group[512] = "";
    sqlite3_stmt *st = NULL;
    QTable t;
    int rc, ret = -1;
    size_t len = 0, glen = 0;

    qt_init(&t, nkeys + 4);
    for (int k = 0; k < nkeys; k++) {
        qt_head(&t, k, keys[k]->name, keys[k]->type != QK_TEXT);
        glen += (size_t)snprintf(group + glen, sizeof group - glen, "%s%s",
                                 k ? ", " : "", keys[k]->column);
    }
    for (int k = 0; k < nkeys; k++) qt_key(&t, k, keys[k]->name);
    qt_head(&t, nkeys, m->label, 1);
    qt_key(&t, nkeys, m->metric);
    qt_head(&t, nkeys + 1, "run", 1);
    qt_head(&t, nkeys + 2, "epoch", 1);
    qt_head(&t, nkeys + 3, "runs", 1);
    const char *rf = fmt == QFMT_TABLE ? "%.4f" : QUERY_EXACT;
    const char *kf = fmt == QFMT_TABLE ? "%g" : QUERY_EXACT;
    /* min() makes the bare columns (id, epoch) come from the minimum row */
    len = (size_t)snprintf(sql, sizeof sql, "SELECT %s, min(%s), id, %s, "
                           "count(*)", group, m->metric, m->epoch_col);
    best_where(sql, sizeof sql, f, m);
    len = strlen(sql);
    snprintf(sql + len, sizeof sql - len, " GROUP BY %s ORDER BY %s", group,
             group);
    if (query_prepare(h, sql, &st, err)) goto done;
    rc = query_filter_bind(st, f, 1);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        qt_row(&t);
        for (int k = 0; k < nkeys; k++)
            qt_set(&t, k, "%s", query_col(st, k, kf, b, sizeof b));
        qt_set(&t, nkeys, "%s", query_col(st, nkeys, rf, b, sizeof b));
        qt_set(&t, nkeys + 1, "%s", query_col(st, nkeys + 1, NULL, b, sizeof b));
        qt_set(&t, nkeys + 2, "%s", query_col(st, nkeys + 2, NULL, b, sizeof b));
        qt_set(&t, nkeys + 3, "%s", query_col(st, nkeys + 3, NULL, b, sizeof b));
    }
    ret = qt_print_read(&t, st, rc, fmt, 0, out, "query the best runs", err);
done:
    sqlite3_finalize(st);
    qt_free(&t);
    return ret;
}

/* The distinct values of key (text form), ordered.  Returns their number
 * and sets *vals (owned, mem_free), or -1 with err. */
static int best_distinct(sqlite3 *h, const QFilter *f, const Metric *m,
                         const QKey *key, char (**vals)[CELL_MAX], char *err) {
    char sql[QUERY_SQL_MAX + 512];
    sqlite3_stmt *st = NULL;
    int rc, n = 0, cap = 0, ret = -1;
    char (*v)[CELL_MAX] = NULL;
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT DISTINCT %s",
                                  key->column);
    best_where(sql, sizeof sql, f, m);
    len = strlen(sql);
    snprintf(sql + len, sizeof sql - len, " ORDER BY %s", key->column);
    if (query_prepare(h, sql, &st, err)) goto done;
    rc = query_filter_bind(st, f, 1);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            void *nv = mem_realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                err_set(err, "out of memory");
                goto done;
            }
            v = nv;
        }
        query_col(st, 0, "%g", v[n++], CELL_MAX);
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot query %s: %s", key->name, sqlite3_errmsg(h));
        goto done;
    }
    *vals = v;
    v = NULL;
    ret = n;
done:
    mem_free(v);
    sqlite3_finalize(st);
    return ret;
}

/* The pivot table of two keys.  Returns the number of filled cells, or -1
 * with err. */
static int best_pivot(sqlite3 *h, const QFilter *f, const Metric *m,
                      const QKey **keys, FILE *out, char *err) {
    char (*rows)[CELL_MAX] = NULL, (*cols)[CELL_MAX] = NULL;
    char sql[QUERY_SQL_MAX + 1024], a[CELL_MAX], b[CELL_MAX], corner[160];
    sqlite3_stmt *st = NULL;
    QTable t;
    int nr, nc, rc, n = 0, ret = -1;
    double best = 0;
    int best_r = -1, best_c = -1;
    double *cell = NULL;
    size_t len;

    memset(&t, 0, sizeof t);
    if ((nr = best_distinct(h, f, m, keys[0], &rows, err)) < 0 ||
        (nc = best_distinct(h, f, m, keys[1], &cols, err)) < 0)
        goto done;
    if (nr == 0 || nc == 0) { ret = 0; goto done; }
    if (nc + 1 > QT_MAX_COLS) {
        err_set(err, "--by: %s has %d values, too many columns for a pivot "
                     "(swap the keys)", keys[1]->name, nc);
        goto done;
    }
    cell = mem_alloc((size_t)nr * (size_t)nc * sizeof *cell);
    if (!cell) {
        err_set(err, "out of memory");
        goto done;
    }
    for (int i = 0; i < nr * nc; i++) cell[i] = -1;
    len = (size_t)snprintf(sql, sizeof sql, "SELECT %s, %s, min(%s)",
                           keys[0]->column, keys[1]->column, m->metric);
    best_where(sql, sizeof sql, f, m);
    len = strlen(sql);
    snprintf(sql + len, sizeof sql - len, " GROUP BY %s, %s",
             keys[0]->column, keys[1]->column);
    if (query_prepare(h, sql, &st, err)) goto done;
    rc = query_filter_bind(st, f, 1);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        int r = -1, c = -1;
        query_col(st, 0, "%g", a, sizeof a);
        query_col(st, 1, "%g", b, sizeof b);
        for (int i = 0; i < nr && r < 0; i++) if (!strcmp(rows[i], a)) r = i;
        for (int i = 0; i < nc && c < 0; i++) if (!strcmp(cols[i], b)) c = i;
        if (r < 0 || c < 0) continue;   /* a value that changed meanwhile */
        double v = sqlite3_column_double(st, 2);
        cell[r * nc + c] = v;
        if (best_r < 0 || v < best) { best = v; best_r = r; best_c = c; }
        n++;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot query the pivot: %s", sqlite3_errmsg(h));
        goto done;
    }
    snprintf(corner, sizeof corner, "%s \\ %s", keys[0]->name, keys[1]->name);
    qt_init(&t, nc + 1);
    qt_head(&t, 0, corner, 0);
    for (int c = 0; c < nc; c++) qt_head(&t, c + 1, cols[c], 1);
    for (int r = 0; r < nr; r++) {
        qt_row(&t);
        qt_set(&t, 0, "%s", rows[r]);
        for (int c = 0; c < nc; c++) {
            double v = cell[r * nc + c];
            if (v < 0) qt_set(&t, c + 1, "- ");
            else qt_set(&t, c + 1, "%.4f%s", v,
                        r == best_r && c == best_c ? "*" : " ");
        }
    }
    fprintf(out, "%s by %s (rows) and %s (columns), * = best\n", m->label,
            keys[0]->name, keys[1]->name);
    if (qt_print(&t, out)) {
        err_set(err, "out of memory printing the table");
        goto done;
    }
    ret = n;
done:
    sqlite3_finalize(st);
    qt_free(&t);
    mem_free(rows);
    mem_free(cols);
    mem_free(cell);
    return ret;
}

int query_best_main(int argc, char **argv) {
    const char *db_path = CLI_DEFAULT_DB, *metric = NULL, *by = NULL,
               *format = NULL;
    QLsOutput o = {NULL, QFMT_TABLE};
    QSelect sel = {"finished", NULL, NULL, 0, 0};
    const QKey *keys[BEST_MAX_KEYS];
    QFilter f;
    Metric m;
    char err[ERR_MAX], order[256];
    sqlite3 *h = NULL;
    int rc = EXIT_USAGE, r, nkeys = 0;
    long long top = 1;
    CliOpt select[QUERY_SELECT_OPTS];
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &db_path},
        {.name = "--metric", .kind = CLI_TEXT, .dest = &metric},
        {.name = "--by", .kind = CLI_TEXT, .dest = &by},
        {.name = "--top", .kind = CLI_LLONG, .dest = &top, .min = 1,
         .max = LLONG_MAX},
        {.name = "--format", .kind = CLI_TEXT, .dest = &format},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "best", .usage = query_best_usage, .opts = opts,
                    .more = select};

    memset(&f, 0, sizeof f);
    query_select_opts(&sel, select);
    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    if (query_format_parse(format, &o.format, "best")) return EXIT_USAGE;
    if (best_metric(metric, &m, err)) goto fail;
    if (by && (nkeys = query_keys_parse(by, "--by", keys, BEST_MAX_KEYS,
                                         err)) < 0)
        goto fail;
    if (query_filter_build(&f, &sel, err)) goto fail;
    rc = EXIT_FAILED;
    if (db_open_query(&h, db_path, err)) goto fail;
    if ((r = query_filter_experiment(h, &f, &sel, err)) != 0) {
        if (r > 0) rc = EXIT_USAGE;
        goto fail;
    }
    if (nkeys == 0) {
        /* the ls table of the best runs */
        QFilter g = f;   /* shallow: the texts stay owned by f */
        size_t len = g.len;
        snprintf(g.sql + len, sizeof g.sql - len, "%s%s IS NOT NULL",
                 len ? " AND " : "", m.metric);
        g.len = strlen(g.sql);
        snprintf(order, sizeof order, "ORDER BY %s, id", m.metric);
        r = query_ls_print(h, &g, order, top, &o, stdout, err);
    } else if (nkeys == 2 && o.format == QFMT_TABLE) {
        r = best_pivot(h, &f, &m, keys, stdout, err);
    } else {
        r = best_groups(h, &f, &m, keys, nkeys, o.format, stdout, err);
    }
    if (r < 0) goto fail;
    if (r == 0) {   /* asking for a metric no selected run has: an error */
        long nsel = query_count_runs(h, &f, err);
        if (nsel < 0) goto fail;
        if (nsel == 0)
            err_set(err, "no %s run matches in %s (see autorec ls)",
                    sel.status ? sel.status : "", db_path);
        else
            err_set(err, "none of the %ld selected run%s has a %s (%s is "
                         "NULL: e.g. selected_val_rmse needs "
                         "data.split.validation_ratio, refit_test_rmse "
                         "train.refit): choose another --metric",
                    nsel, nsel == 1 ? "" : "s", m.metric, m.metric);
        rc = EXIT_USAGE;
        goto fail;
    }
    if (o.format == QFMT_TABLE &&
        best_overall(h, &f, &m, keys, nkeys, stdout, err) < 0)
        goto fail;
    /* a search: its trials, epochs spent and best trial by validation */
    if (o.format == QFMT_TABLE && sel.experiment &&
        query_search_print(h, sel.experiment, stdout, err) < 0)
        goto fail;
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec best: %s\n", err);
out:
    query_filter_free(&f);
    sqlite3_close(h);
    return rc;
}

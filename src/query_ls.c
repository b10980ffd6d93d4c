/* query_ls.c - `autorec ls`: one line per run, filtered and sorted. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "query.h"

void query_ls_usage(FILE *f) {
    fprintf(f,
"usage: autorec ls [--db PATH] [--status S[,S...]] [--experiment E]\n"
"                  [--where FILTER] [--sort KEY[,-KEY...]] [--limit N]\n"
"                  [--columns KEY[,KEY...]|all] [--format table|csv|json]\n"
"\n"
"Lists runs: id, experiment (or name), grid point, status, parameters,\n"
"epochs done, the result test RMSE (refit, else validation-selected, else\n"
"final epoch), the best test epoch's RMSE (picked on the test set) and its\n"
"epoch, final, selected and refit test RMSE, time in epochs.\n"
"\n"
"options:\n"
"  --db PATH          results database (default " CLI_DEFAULT_DB ")\n"
"  --status S         running, finished, failed, interrupted, diverged, a\n"
"                     comma-separated list of them, or all (default);\n"
"                     stale: still 'running' but without a heartbeat for\n"
"                     " DB_STR(DB_STALE_SECONDS) " s (its process was killed or its node lost)\n"
"  --experiment E     runs of one experiment: its id, or a config name (a\n"
"                     name several experiments share is an error listing\n"
"                     them; no match: exit 2)\n"
"  --latest           with a shared name: the newest experiment\n"
"  --all-matching     with a shared name: every experiment of that name\n"
"  --where FILTER     e.g. \"hidden >= 300 and lr < 0.005\", \"name like 'grid%%'\"\n"
"                     (keys as in run_summary; values are bound, never SQL)\n"
"  --sort KEYS        e.g. best_rmse, or -hidden,lr ('-' = descending;\n"
"                     default id)\n"
"  --limit N          at most N runs\n"
"  --columns KEYS     the columns shown (any key of --where; all: every\n"
"                     one); csv and json show every column by default\n"
"  --format F         table (default), csv or json (raw values)\n");
}

#define LS_MAX_COLS QT_MAX_COLS

/* Fills cols with the columns of spec: NULL = the default ls columns for a
 * table, every column for csv/json; "all"; or keys, comma-separated.
 * Returns their number, or -1 with err. */
static int ls_columns(const char *spec, QFormatKind fmt, const QColumn **cols,
                      char *err) {
    int n = 0;
    if (!spec && fmt == QFMT_TABLE) {
        for (int pos = 1; pos < 100 && n < LS_MAX_COLS; pos++)
            for (int i = 0; i < qcol_count(); i++)
                if (qcol_get(i)->ls == pos && n < LS_MAX_COLS)
                    cols[n++] = qcol_get(i);
        for (int i = 0; i < qcol_count() && n < LS_MAX_COLS; i++)
            if (qcol_get(i)->ls >= 100) cols[n++] = qcol_get(i);
        return n;
    }
    if (!spec || !strcmp(spec, "all")) {
        for (int i = 0; i < qcol_count() && n < LS_MAX_COLS; i++)
            cols[n++] = qcol_get(i);
        return n;
    }
    return query_keys_parse(spec, "--columns", cols, LS_MAX_COLS, err);
}

/* See query.h.  Returns the number of rows printed, or -1 with err. */
int query_ls_print(sqlite3 *h, const QFilter *f, const char *order_sql,
                   long limit, const QLsOutput *o, FILE *out, char *err) {
    const QColumn *cols[LS_MAX_COLS];
    QFormatKind fmt = o ? o->format : QFMT_TABLE;
    char *sql = NULL, b[256];
    sqlite3_stmt *st = NULL;
    QTable t;
    int rc, ret = -1, nc;
    size_t cap, len;

    memset(&t, 0, sizeof t);
    if ((nc = ls_columns(o ? o->columns : NULL, fmt, cols, err)) < 0)
        return -1;
    cap = QUERY_SQL_MAX + 1024 + 1024 * (size_t)nc;
    if (!(sql = mem_alloc(cap))) return err_set(err, "out of memory");
    len = (size_t)snprintf(sql, cap, "SELECT ");
    if (qcol_select_list(cols, nc, fmt == QFMT_TABLE, sql + len, cap - len)) {
        err_set(err, "the columns do not fit in a query");
        goto done;
    }
    len += strlen(sql + len);
    snprintf(sql + len, cap - len, " FROM run_summary %s%s %s LIMIT ?",
             f->len ? "WHERE " : "", f->sql, order_sql);
    qt_init(&t, nc);
    for (int c = 0; c < nc; c++) {
        qt_head(&t, c, cols[c]->heading, cols[c]->type != QK_TEXT);
        qt_key(&t, c, cols[c]->name);
    }
    if (query_prepare(h, sql, &st, err)) goto done;
    rc = query_filter_bind(st, f, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, f->nvalues + 1, limit < 0 ? -1 : limit);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        qt_row(&t);
        for (int c = 0; c < nc; c++)
            qt_set(&t, c, "%s", fmt == QFMT_TABLE
                                    ? qcol_text(cols[c], st, c, b, sizeof b)
                                    : query_col(st, c, QUERY_EXACT, b,
                                                sizeof b));
    }
    ret = qt_print_read(&t, st, rc, fmt, fmt != QFMT_TABLE, out, "list runs",
                        err);
done:
    sqlite3_finalize(st);
    qt_free(&t);
    mem_free(sql);
    return ret;
}

int query_ls_main(int argc, char **argv) {
    const char *db_path = CLI_DEFAULT_DB, *sort = NULL, *format = NULL;
    QLsOutput o = {NULL, QFMT_TABLE};
    QSelect sel = {NULL, NULL, NULL, 0, 0};
    QFilter f;
    char err[ERR_MAX], order[1024];
    sqlite3 *h = NULL;
    long long limit = -1;
    int rc = EXIT_USAGE, r;
    CliOpt select[QUERY_SELECT_OPTS];
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &db_path},
        {.name = "--sort", .kind = CLI_TEXT, .dest = &sort},
        {.name = "--limit", .kind = CLI_LLONG, .dest = &limit, .min = 0,
         .max = LLONG_MAX},
        {.name = "--columns", .kind = CLI_TEXT, .dest = &o.columns},
        {.name = "--format", .kind = CLI_TEXT, .dest = &format},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "ls", .usage = query_ls_usage, .opts = opts,
                    .more = select};

    memset(&f, 0, sizeof f);
    query_select_opts(&sel, select);
    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    if (query_format_parse(format, &o.format, "ls")) return EXIT_USAGE;
    if (query_filter_build(&f, &sel, err) ||
        query_order_build(order, sizeof order, sort, err))
        goto fail;
    rc = EXIT_FAILED;
    if (db_open_query(&h, db_path, err)) goto fail;
    if ((r = query_filter_experiment(h, &f, &sel, err)) != 0) {
        if (r > 0) rc = EXIT_USAGE;
        goto fail;
    }
    r = query_ls_print(h, &f, order, limit, &o, stdout, err);
    if (r < 0) goto fail;
    if (r == 0) fprintf(stderr, "autorec ls: no runs match in %s\n", db_path);
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec ls: %s\n", err);
out:
    query_filter_free(&f);
    sqlite3_close(h);
    return rc;
}

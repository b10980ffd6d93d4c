/* query_ls.c - `autorec ls`: one line per run, filtered and sorted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "mem.h"
#include "query.h"
#include "run.h"

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
"  --db PATH          results database (default " QUERY_DEFAULT_DB ")\n"
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
    int rc, n = 0, ret = -1, nc;
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
        n++;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot list runs: %s", sqlite3_errmsg(h));
        goto done;
    }
    if ((n > 0 || fmt != QFMT_TABLE) && qt_print_format(&t, fmt, out)) {
        err_set(err, "out of memory printing the table");
        goto done;
    }
    ret = n;
done:
    sqlite3_finalize(st);
    qt_free(&t);
    mem_free(sql);
    return ret;
}

int query_ls_main(int argc, char **argv) {
    const char *db_path = QUERY_DEFAULT_DB, *sort = NULL, *limit_s = NULL,
               *format = NULL;
    QLsOutput o = {NULL, QFMT_TABLE};
    QSelect sel = {NULL, NULL, NULL, 0, 0};
    QFilter f;
    char err[ERR_MAX], order[1024];
    sqlite3 *h = NULL;
    long limit = -1;
    int rc = EXIT_USAGE, r;

    memset(&f, 0, sizeof f);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            query_ls_usage(stdout);
            return EXIT_OK;
        }
        if ((r = query_opt_db(argc, argv, &i, &db_path, "ls")) ||
            (r = query_opt_select(argc, argv, &i, &sel, "ls")) ||
            (r = query_opt(argc, argv, &i, "--sort", &sort, "ls")) ||
            (r = query_opt(argc, argv, &i, "--limit", &limit_s, "ls")) ||
            (r = query_opt(argc, argv, &i, "--columns", &o.columns, "ls")) ||
            (r = query_opt(argc, argv, &i, "--format", &format, "ls"))) {
            if (r < 0) return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "autorec ls: unknown argument '%s' (see autorec ls "
                        "--help)\n", argv[i]);
        return EXIT_USAGE;
    }
    if (query_format_parse(format, &o.format, "ls")) return EXIT_USAGE;
    if (limit_s) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (!*limit_s || *end || limit < 0) {
            fprintf(stderr, "autorec ls: --limit: '%s' is not a count\n",
                    limit_s);
            return EXIT_USAGE;
        }
    }
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

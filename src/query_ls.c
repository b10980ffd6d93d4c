/* query_ls.c - `autorec ls`: one line per run, filtered and sorted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "query.h"
#include "run.h"

void query_ls_usage(FILE *f) {
    fprintf(f,
"usage: autorec ls [--db PATH] [--status S[,S...]] [--experiment E]\n"
"                  [--where FILTER] [--sort KEY[,-KEY...]] [--limit N]\n"
"\n"
"Lists runs: id, experiment (or name), grid point, status, parameters,\n"
"epochs done, best test RMSE and its epoch, final test RMSE, time in epochs.\n"
"\n"
"options:\n"
"  --db PATH          results database (default " QUERY_DEFAULT_DB ")\n"
"  --status S         running, finished, failed, interrupted, diverged, a\n"
"                     comma-separated list of them, or all (default);\n"
"                     stale: still 'running' but without a heartbeat for\n"
"                     " DB_STR(DB_STALE_SECONDS) " s (its process was killed or its node lost)\n"
"  --experiment E     runs of grid E (its id, or its config name)\n"
"  --where FILTER     e.g. \"hidden >= 300 and lr < 0.005\", \"name like 'grid%%'\"\n"
"                     (keys as in run_summary; values are bound, never SQL)\n"
"  --sort KEYS        e.g. best_rmse, or -hidden,lr ('-' = descending;\n"
"                     default id)\n"
"  --limit N          at most N runs\n");
}

/* See query.h.  Returns the number of rows printed, or -1 with err. */
int query_ls_print(sqlite3 *h, const QFilter *f, const char *order_sql,
                   long limit, FILE *out, char *err) {
    char sql[QUERY_SQL_MAX + 1024], b[16][64];
    sqlite3_stmt *st = NULL;
    QTable t;
    int rc, n = 0, ret = -1;
    static const char *const heads[] = {
        "id", "experiment", "point", "status", "hidden", "lr", "wd", "seed",
        "epochs", "best RMSE", "@", "final RMSE", "selected RMSE", "@",
        "refit RMSE", "time"};
    static const int right[] = {1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                1};
    enum { NC = 16 };

    qt_init(&t, NC);
    for (int c = 0; c < NC; c++) qt_head(&t, c, heads[c], right[c]);
    snprintf(sql, sizeof sql,
             "SELECT id, coalesce(experiment, name), grid_point, grid_size, "
             "status, hidden, lr, weight_decay, seed, epochs_done, epochs, "
             "best_test_rmse, best_epoch, final_test_rmse, seconds, "
             "selected_test_rmse, selected_epoch, refit_test_rmse "
             "FROM run_summary %s%s %s LIMIT ?",
             f->len ? "WHERE " : "", f->sql, order_sql);
    if (query_prepare(h, sql, &st, err)) goto done;
    rc = query_filter_bind(st, f, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, f->nvalues + 1, limit < 0 ? -1 : limit);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        qt_row(&t);
        qt_set(&t, 0, "%s", query_col(st, 0, NULL, b[0], 64));
        qt_set(&t, 1, "%s", query_col(st, 1, NULL, b[1], 64));
        if (sqlite3_column_type(st, 2) == SQLITE_NULL)
            qt_set(&t, 2, "-");
        else
            qt_set(&t, 2, "%lld/%s", sqlite3_column_int64(st, 2) + 1,
                   query_col(st, 3, NULL, b[2], 64));
        qt_set(&t, 3, "%s", query_col(st, 4, NULL, b[3], 64));
        qt_set(&t, 4, "%s", query_col(st, 5, NULL, b[4], 64));
        qt_set(&t, 5, "%s", query_col(st, 6, "%g", b[5], 64));
        qt_set(&t, 6, "%s", query_col(st, 7, "%g", b[6], 64));
        qt_set(&t, 7, "%s", query_col(st, 8, NULL, b[7], 64));
        qt_set(&t, 8, "%s/%s", query_col(st, 9, NULL, b[8], 64),
               query_col(st, 10, NULL, b[9], 64));
        qt_set(&t, 9, "%s", query_col(st, 11, "%.4f", b[10], 64));
        qt_set(&t, 10, "%s", query_col(st, 12, NULL, b[11], 64));
        qt_set(&t, 11, "%s", query_col(st, 13, "%.4f", b[12], 64));
        qt_set(&t, 12, "%s", query_col(st, 15, "%.4f", b[13], 64));
        qt_set(&t, 13, "%s", query_col(st, 16, NULL, b[14], 64));
        qt_set(&t, 14, "%s", query_col(st, 17, "%.4f", b[15], 64));
        qt_set(&t, 15, "%s", query_duration(sqlite3_column_double(st, 14),
                                            b[0], 64));
        n++;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot list runs: %s", sqlite3_errmsg(h));
        goto done;
    }
    if (n > 0 && qt_print(&t, out)) {
        err_set(err, "out of memory printing the table");
        goto done;
    }
    ret = n;
done:
    sqlite3_finalize(st);
    qt_free(&t);
    return ret;
}

int query_ls_main(int argc, char **argv) {
    const char *db_path = QUERY_DEFAULT_DB, *sort = NULL, *limit_s = NULL;
    QSelect sel = {NULL, NULL, NULL};
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
            (r = query_opt(argc, argv, &i, "--status", &sel.status, "ls")) ||
            (r = query_opt(argc, argv, &i, "--experiment", &sel.experiment,
                           "ls")) ||
            (r = query_opt(argc, argv, &i, "--where", &sel.where, "ls")) ||
            (r = query_opt(argc, argv, &i, "--sort", &sort, "ls")) ||
            (r = query_opt(argc, argv, &i, "--limit", &limit_s, "ls"))) {
            if (r < 0) return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "autorec ls: unknown argument '%s' (see autorec ls "
                        "--help)\n", argv[i]);
        return EXIT_USAGE;
    }
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
    r = query_ls_print(h, &f, order, limit, stdout, err);
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

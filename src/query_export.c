/* query_export.c - `autorec export`: runs and epochs as CSV or JSON. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "outfile.h"
#include "query.h"

void query_export_usage(FILE *f) {
    fprintf(f,
"usage: autorec export [--format csv|json] [--runs] [-o FILE] [--db PATH]\n"
"                      [--status S] [--experiment E] [--where FILTER]\n"
"\n"
"Writes the selected runs and their epochs to stdout (or FILE):\n"
"  csv    one row per epoch, with the run's columns repeated (long format:\n"
"         pandas.read_csv, R read.csv); phase is train, or refit for the\n"
"         epochs of a train.refit model; --runs: one row per run instead\n"
"  json   an array of runs, each with its columns, a \"per_epoch\" array\n"
"         and a \"per_refit_epoch\" array (train.refit)\n"
"The run columns are every key of autorec ls/best/compare (parameters and\n"
"metrics, result_test_rmse included); the epoch values are train_loss,\n"
"test_rmse, test_mae, val_rmse, val_mae, train_seconds, eval_seconds.\n"
"\n"
"options:\n"
"  --format F       csv (default) or json\n"
"  --runs           csv: one row per run (run_summary), no epochs\n"
"  -o FILE          write to FILE instead of stdout\n"
"  --status, --experiment, --latest, --all-matching, --where\n"
"                   select runs as autorec ls does\n"
"  --db PATH        results database (default " CLI_DEFAULT_DB ")\n");
}

/* Builds "SELECT <every column of the table> FROM run_summary" into sql
 * (size n).  Returns 0 or -1 with err. */
static int export_select(char *sql, size_t n, char *err) {
    const QColumn *cols[QT_MAX_COLS];
    int nc = qcol_all(cols, QT_MAX_COLS);
    memcpy(sql, "SELECT ", 8);
    if (n < 32 || qcol_select_list(cols, nc, 0, sql + 7, n - 32))
        return err_set(err, "the run columns do not fit in a query");
    strcat(sql, " FROM run_summary");
    return 0;
}

/* Writes the current run's rows of ep (bound, not stepped) in the
 * format: json objects in an array, or csv lines (the run's columns of st,
 * the phase, the epoch values).  Returns the number written, or -1 with
 * err. */
static int export_epochs(sqlite3 *h, sqlite3_stmt *st, sqlite3_stmt *ep,
                         const char *phase, int json, FILE *out, char *err) {
    int nc, ncols = sqlite3_column_count(st), ne = 0, erc = SQLITE_OK;
    const QEpochColumn *ec = qcol_epoch_columns(&nc);
    erc = sqlite3_bind_int64(ep, 1, sqlite3_column_int64(st, 0));
    while ((erc = query_step(ep, erc)) == SQLITE_ROW) {
        if (json) {
            fprintf(out, "%s\n    {\"epoch\": %d", ne ? "," : "",
                    sqlite3_column_int(ep, 0));
            for (int c = 0; c < nc; c++) {
                fprintf(out, ", \"%s\": ", ec[c].name);
                query_json_col(out, ep, 1 + c);
            }
            fputc('}', out);
        } else {
            for (int i = 0; i < ncols; i++) {
                if (i) fputc(',', out);
                query_csv_col(out, st, i);
            }
            fprintf(out, ",%s", phase);
            for (int i = 0; i <= nc; i++) {
                fputc(',', out);
                query_csv_col(out, ep, i);
            }
            fputc('\n', out);
        }
        ne++;
    }
    sqlite3_reset(ep);
    if (erc != SQLITE_DONE)
        return err_set(err, "cannot read the %s epochs: %s", phase,
                       sqlite3_errmsg(h));
    return ne;
}

/* See query.h.  Returns the number of runs, or -1 with err. */
int query_export_write(sqlite3 *h, const QFilter *f, int json, int runs_only,
                       int single, FILE *out, char *err) {
    char *sql = NULL;
    size_t cap = QUERY_SQL_MAX + 256 + 128 * (size_t)qcol_count();
    sqlite3_stmt *st = NULL, *ep = NULL, *rep = NULL;
    int rc, n = 0, ret = -1, ncols, nc;
    const QEpochColumn *ec = qcol_epoch_columns(&nc);

    if (!(sql = mem_alloc(cap))) {
        err_set(err, "out of memory");
        goto done;
    }
    if (export_select(sql, cap - QUERY_SQL_MAX - 64, err)) goto done;
    size_t len = strlen(sql);
    snprintf(sql + len, cap - len, " %s%s ORDER BY id",
             f->len ? "WHERE " : "", f->sql);
    if (query_prepare(h, sql, &st, err) ||
        query_epoch_stmt(h, "epochs", &ep, err) ||
        query_epoch_stmt(h, "refit_epochs", &rep, err))
        goto done;
    ncols = sqlite3_column_count(st);
    rc = query_filter_bind(st, f, 1);
    if (!json) {   /* heading */
        for (int i = 0; i < ncols; i++)
            fprintf(out, "%s%s", i ? "," : "", sqlite3_column_name(st, i));
        if (!runs_only) {
            fputs(",phase,epoch", out);
            for (int c = 0; c < nc; c++) fprintf(out, ",%s", ec[c].name);
        }
        fputc('\n', out);
    } else {
        if (!single) fputs("[", out);
    }
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        int ne;
        if (json) {
            fprintf(out, "%s%s{", n ? "," : "", single ? "" : "\n  ");
            for (int i = 0; i < ncols; i++) {
                fprintf(out, "%s", i ? ", " : "");
                query_json_text(out, sqlite3_column_name(st, i));
                fputs(": ", out);
                query_json_col(out, st, i);
            }
            fputs(", \"per_epoch\": [", out);
        } else if (runs_only) {
            for (int i = 0; i < ncols; i++) {
                if (i) fputc(',', out);
                query_csv_col(out, st, i);
            }
            fputc('\n', out);
            n++;
            continue;
        }
        if ((ne = export_epochs(h, st, ep, "train", json, out, err)) < 0)
            goto done;
        if (json) fputs(ne ? "\n  ], \"per_refit_epoch\": [" : "], "
                             "\"per_refit_epoch\": [", out);
        if ((ne = export_epochs(h, st, rep, "refit", json, out, err)) < 0)
            goto done;
        if (json) fputs(ne ? "\n  ]}" : "]}", out);
        n++;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot read runs: %s", sqlite3_errmsg(h));
        goto done;
    }
    if (json) fputs(single ? "\n" : n ? "\n]\n" : "]\n", out);
    ret = n;
done:
    sqlite3_finalize(st);
    sqlite3_finalize(ep);
    sqlite3_finalize(rep);
    mem_free(sql);
    return ret;
}

int query_export_main(int argc, char **argv) {
    const char *db_path = CLI_DEFAULT_DB, *format = "csv", *outpath = NULL;
    QSelect sel = {NULL, NULL, NULL, 0, 0};
    QFilter f;
    char err[ERR_MAX];
    sqlite3 *h = NULL;
    FILE *out = stdout;
    OutFile file;
    int rc = EXIT_USAGE, r, json, runs_only = 0;
    CliOpt select[QUERY_SELECT_OPTS];
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &db_path},
        {.name = "--format", .kind = CLI_TEXT, .dest = &format},
        {.name = "--output", .alias = "-o", .kind = CLI_TEXT,
         .dest = &outpath},
        {.name = "--runs", .kind = CLI_FLAG, .dest = &runs_only},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "export", .usage = query_export_usage,
                    .opts = opts, .more = select};

    memset(&f, 0, sizeof f);
    memset(&file, 0, sizeof file);
    query_select_opts(&sel, select);
    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    if (strcmp(format, "csv") && strcmp(format, "json")) {
        fprintf(stderr, "autorec export: --format: '%s' is not csv or json\n",
                format);
        return EXIT_USAGE;
    }
    json = format[0] == 'j';
    if (json && runs_only) {
        fprintf(stderr, "autorec export: --runs is for csv (json nests the "
                        "epochs in their run)\n");
        return EXIT_USAGE;
    }
    if (query_filter_build(&f, &sel, err)) goto fail;
    rc = EXIT_FAILED;
    /* -o: a new file beside the target, renamed when complete; never the
     * database itself */
    if (outpath && outfile_open(&file, outpath, 0666, db_path, err)) goto fail;
    if (outpath) out = file.f;
    if (db_open_query(&h, db_path, err)) goto fail;
    if ((r = query_filter_experiment(h, &f, &sel, err)) != 0) {
        if (r > 0) rc = EXIT_USAGE;
        goto fail;
    }
    if (query_export_write(h, &f, json, runs_only, 0, out, err) < 0)
        goto fail;
    if (outpath ? outfile_commit(&file, err) != 0
                : fflush(out) != 0 || ferror(out)) {
        if (!outpath) err_set(err, "cannot write stdout: %s", strerror(errno));
        goto fail;
    }
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec export: %s\n", err);
out:
    outfile_abort(&file);
    query_filter_free(&f);
    sqlite3_close(h);
    return rc;
}

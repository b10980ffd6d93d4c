/* query_export.c - `autorec export`: runs and epochs as CSV or JSON. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "outfile.h"
#include "query.h"
#include "run.h"

void query_export_usage(FILE *f) {
    fprintf(f,
"usage: autorec export [--format csv|json] [--runs] [-o FILE] [--db PATH]\n"
"                      [--status S] [--experiment E] [--where FILTER]\n"
"\n"
"Writes the selected runs and their epochs to stdout (or FILE):\n"
"  csv    one row per epoch, with the run's columns repeated (long format:\n"
"         pandas.read_csv, R read.csv); --runs: one row per run instead\n"
"  json   an array of runs, each with its columns and a \"per_epoch\" array\n"
"The run columns are those of the run_summary view.\n"
"\n"
"options:\n"
"  --format F       csv (default) or json\n"
"  --runs           csv: one row per run (run_summary), no epochs\n"
"  -o FILE          write to FILE instead of stdout\n"
"  --status, --experiment, --where   select runs as autorec ls does\n"
"  --db PATH        results database (default " QUERY_DEFAULT_DB ")\n");
}

/* Writes s as a CSV field (quoted when it holds , \" CR or LF). */
static void csv_text(FILE *out, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* Writes column i of st as a CSV field (NULL: empty). */
static void csv_col(FILE *out, sqlite3_stmt *st, int i) {
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: break;
    case SQLITE_FLOAT: {
        char b[40];
        fputs(query_real(sqlite3_column_double(st, i), b, sizeof b), out);
        break;
    }
    default: csv_text(out, (const char *)sqlite3_column_text(st, i)); break;
    }
}

/* Writes s as a JSON string. */
static void json_text(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", out);
        else if (*p == '\t') fputs("\\t", out);
        else if (*p == '\r') fputs("\\r", out);
        else if (*p < 0x20) fprintf(out, "\\u%04x", *p);
        else fputc(*p, out);
    }
    fputc('"', out);
}

/* Writes column i of st as a JSON value. */
static void json_col(FILE *out, sqlite3_stmt *st, int i) {
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: fputs("null", out); break;
    case SQLITE_INTEGER: fprintf(out, "%lld", sqlite3_column_int64(st, i)); break;
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        char b[40];
        if (isfinite(v)) fputs(query_real(v, b, sizeof b), out);
        else fputs("null", out);
        break;
    }
    default: json_text(out, (const char *)sqlite3_column_text(st, i)); break;
    }
}

/* Exports in the given format.  Returns the number of runs, or -1 with err. */
static int export_runs(sqlite3 *h, const QFilter *f, int json, int runs_only,
                       FILE *out, char *err) {
    char sql[QUERY_SQL_MAX + 512];
    sqlite3_stmt *st = NULL, *ep = NULL;
    int rc, n = 0, ret = -1, ncols;

    snprintf(sql, sizeof sql, "SELECT * FROM run_summary %s%s ORDER BY id",
             f->len ? "WHERE " : "", f->sql);
    if (query_prepare(h, sql, &st, err) ||
        query_prepare(h, "SELECT epoch, train_loss, test_rmse, train_seconds,"
                         " eval_seconds FROM epochs WHERE run_id = ?1 "
                         "ORDER BY epoch", &ep, err))
        goto done;
    ncols = sqlite3_column_count(st);
    rc = query_filter_bind(st, f, 1);
    if (!json) {   /* heading */
        for (int i = 0; i < ncols; i++)
            fprintf(out, "%s%s", i ? "," : "", sqlite3_column_name(st, i));
        if (!runs_only)
            fputs(",epoch,train_loss,test_rmse,train_seconds,eval_seconds",
                  out);
        fputc('\n', out);
    } else {
        fputs("[", out);
    }
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        int erc, ne = 0;
        if (json) {
            fprintf(out, "%s\n  {", n ? "," : "");
            for (int i = 0; i < ncols; i++) {
                fprintf(out, "%s", i ? ", " : "");
                json_text(out, sqlite3_column_name(st, i));
                fputs(": ", out);
                json_col(out, st, i);
            }
            fputs(", \"per_epoch\": [", out);
        } else if (runs_only) {
            for (int i = 0; i < ncols; i++) {
                if (i) fputc(',', out);
                csv_col(out, st, i);
            }
            fputc('\n', out);
            n++;
            continue;
        }
        erc = sqlite3_bind_int64(ep, 1, sqlite3_column_int64(st, 0));
        while ((erc = query_step(ep, erc)) == SQLITE_ROW) {
            if (json) {
                fprintf(out, "%s\n    {\"epoch\": %d, \"train_loss\": ",
                        ne ? "," : "", sqlite3_column_int(ep, 0));
                json_col(out, ep, 1);
                fputs(", \"test_rmse\": ", out);
                json_col(out, ep, 2);
                fputs(", \"train_seconds\": ", out);
                json_col(out, ep, 3);
                fputs(", \"eval_seconds\": ", out);
                json_col(out, ep, 4);
                fputc('}', out);
            } else {
                for (int i = 0; i < ncols; i++) {
                    if (i) fputc(',', out);
                    csv_col(out, st, i);
                }
                for (int i = 0; i < 5; i++) {
                    fputc(',', out);
                    csv_col(out, ep, i);
                }
                fputc('\n', out);
            }
            ne++;
        }
        sqlite3_reset(ep);
        if (erc != SQLITE_DONE) {
            err_set(err, "cannot read epochs: %s", sqlite3_errmsg(h));
            goto done;
        }
        if (json) fputs(ne ? "\n  ]}" : "]}", out);
        n++;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot read runs: %s", sqlite3_errmsg(h));
        goto done;
    }
    if (json) fputs(n ? "\n]\n" : "]\n", out);
    ret = n;
done:
    sqlite3_finalize(st);
    sqlite3_finalize(ep);
    return ret;
}

int query_export_main(int argc, char **argv) {
    const char *db_path = QUERY_DEFAULT_DB, *format = "csv", *outpath = NULL;
    QSelect sel = {NULL, NULL, NULL};
    QFilter f;
    char err[ERR_MAX];
    sqlite3 *h = NULL;
    FILE *out = stdout;
    OutFile file;
    int rc = EXIT_USAGE, r, json, runs_only = 0;

    memset(&f, 0, sizeof f);
    memset(&file, 0, sizeof file);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            query_export_usage(stdout);
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--runs")) { runs_only = 1; continue; }
        if ((r = query_opt_db(argc, argv, &i, &db_path, "export")) ||
            (r = query_opt(argc, argv, &i, "--format", &format, "export")) ||
            (r = query_opt(argc, argv, &i, "-o", &outpath, "export")) ||
            (r = query_opt(argc, argv, &i, "--output", &outpath, "export")) ||
            (r = query_opt(argc, argv, &i, "--status", &sel.status,
                           "export")) ||
            (r = query_opt(argc, argv, &i, "--experiment", &sel.experiment,
                           "export")) ||
            (r = query_opt(argc, argv, &i, "--where", &sel.where, "export"))) {
            if (r < 0) return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "autorec export: unknown argument '%s' (see autorec "
                        "export --help)\n", argv[i]);
        return EXIT_USAGE;
    }
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
    if (export_runs(h, &f, json, runs_only, out, err) < 0) goto fail;
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

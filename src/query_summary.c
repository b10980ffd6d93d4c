/* query_summary.c - `autorec summary`: the split summaries of experiments
 * run with data.split.repeats or kind folds (table split_summaries): per
 * configuration, the mean, sample sd and Student-t 95% interval of the
 * selected test RMSE over its splits (and of the refit test RMSE with
 * train.refit), and the validation and final test RMSE means.  Also printed at the end of such a grid or run. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "query.h"

void query_summary_usage(FILE *f) {
    fprintf(f,
"usage: autorec summary [--experiment E [--latest|--all-matching]]\n"
"                       [--format table|csv|json] [--db PATH]\n"
"\n"
"Prints the split summaries: for each configuration of an experiment run\n"
"with data.split.repeats: K or data.split.kind: folds, over its finished\n"
"splits, the selected test RMSE (epoch chosen by validation RMSE) as mean,\n"
"sample standard deviation and 95%% confidence interval of the mean\n"
"(Student t, n - 1 degrees of freedom), the mean selected validation RMSE,\n"
"the mean and sd of the final test RMSE and, for train.refit runs, the\n"
"refit test RMSE (the model retrained on train + validation for the\n"
"selected number of epochs) as mean, sd and 95%% interval.\n"
"Then, for each search (autorec grid with search.sampler random or sobol,\n"
"or with pruned trials): its trials by status (finished, pruned, other),\n"
"the epochs it spent against training every trial to its train.epochs, and\n"
"the best finished trial by validation RMSE with its test RMSE there.\n"
"\n"
"options:\n"
"  --experiment E   one experiment: its id, or its config name (a name\n"
"                   several experiments share: add --latest for the newest\n"
"                   or --all-matching for all; no match: exit 2)\n"
"  --format F       table (default), csv or json (every column, raw)\n"
"  --db PATH        results database (default " CLI_DEFAULT_DB ")\n");
}

/* See query.h.  The columns come from qcol_summary_columns: the text table
 * shows those with an ls position, in its order (display expressions);
 * csv/json every one with a column (raw values).  Returns the number of
 * rows printed, or -1 with err. */
int query_summary_print(sqlite3 *h, const char *experiment,
                        QFormatKind fmt, FILE *out, char *err) {
    int nall, nc = 0, rc, ret = -1;
    const QColumn *all = qcol_summary_columns(&nall), *cols[QT_MAX_COLS];
    char sql[8192], b[256];
    size_t len;
    sqlite3_stmt *st = NULL;
    QTable t;

    memset(&t, 0, sizeof t);
    for (int pos = 1; fmt == QFMT_TABLE && pos <= nall; pos++)
        for (int i = 0; i < nall; i++)
            if (all[i].ls == pos) cols[nc++] = &all[i];
    for (int i = 0; fmt != QFMT_TABLE && i < nall; i++)
        if (all[i].column) cols[nc++] = &all[i];
    len = (size_t)snprintf(sql, sizeof sql, "SELECT ");
    if (qcol_select_list(cols, nc, fmt == QFMT_TABLE, sql + len,
                         sizeof sql - len - 512))
        return err_set(err, "the summary columns do not fit in a query");
    len += strlen(sql + len);
    snprintf(sql + len, sizeof sql - len, " FROM split_summaries s JOIN "
             "experiments x ON x.id = s.experiment WHERE ?1 IS NULL OR "
             "x.id = ?1 OR x.name = ?1 ORDER BY x.created_at, s.experiment, "
             "s.group_point");
    if (query_prepare(h, sql, &st, err)) goto done;
    rc = experiment ? sqlite3_bind_text(st, 1, experiment, -1, SQLITE_STATIC)
                    : SQLITE_OK;
    if (fmt != QFMT_TABLE) {
        if ((ret = query_stmt_print(st, rc, fmt, out)) < 0)
            err_set(err, "cannot read the split summaries: %s",
                    sqlite3_errmsg(h));
        goto done;
    }
    qt_init(&t, nc);
    for (int c = 0; c < nc; c++)
        qt_head(&t, c, cols[c]->heading,
                cols[c]->type != QK_TEXT && cols[c]->column);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        qt_row(&t);
        for (int c = 0; c < nc; c++)
            qt_set(&t, c, "%s", qcol_text(cols[c], st, c, b, sizeof b));
    }
    ret = qt_print_read(&t, st, rc, QFMT_TABLE, 0, out,
                        "read the split summaries", err);
done:
    sqlite3_finalize(st);
    qt_free(&t);
    return ret;
}

int query_summary_main(int argc, char **argv) {
    const char *db_path = CLI_DEFAULT_DB, *format = NULL;
    QSelect sel = {NULL, NULL, NULL, 0, 0};
    QFormatKind fmt;
    char err[ERR_MAX], id[256];
    sqlite3 *h = NULL;
    int rc = EXIT_USAGE, r;

    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &db_path},
        {.name = "--format", .kind = CLI_TEXT, .dest = &format},
        {.name = "--experiment", .kind = CLI_TEXT, .dest = &sel.experiment},
        {.name = "--all-matching", .kind = CLI_FLAG,
         .dest = &sel.all_matching},
        {.name = "--latest", .kind = CLI_FLAG, .dest = &sel.latest},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "summary", .usage = query_summary_usage,
                    .opts = opts};

    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    if (query_format_parse(format, &fmt, "summary")) return EXIT_USAGE;
    rc = EXIT_FAILED;
    if (db_open_query(&h, db_path, err)) goto fail;
    const char *experiment = sel.experiment;
    if (experiment) {
        if ((r = query_experiment_resolve(h, &sel, id, sizeof id, err))) {
            if (r > 0) rc = EXIT_USAGE;
            goto fail;
        }
        if (!sel.all_matching) experiment = id;
    }
    r = query_summary_print(h, experiment, fmt, stdout, err);
    if (r < 0) goto fail;
    int searches = query_search_print(h, experiment, stdout, err);
    if (searches < 0) goto fail;
    if (r == 0 && searches == 0)
        fprintf(stderr, "autorec summary: no split summaries%s%s in %s (run "
                        "a config with data.split.repeats > 1 or kind "
                        "folds) and no searches (autorec grid with "
                        "search.sampler or search.pruner)\n",
                experiment ? " for " : "", experiment ? experiment : "",
                db_path);
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec summary: %s\n", err);
out:
    sqlite3_close(h);
    return rc;
}

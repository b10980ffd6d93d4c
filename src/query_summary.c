/* query_summary.c - `autorec summary`: the split summaries of experiments
 * run with data.split.repeats or kind folds (table split_summaries): per
 * configuration, the mean, sample sd and Student-t 95% interval of the
 * selected test RMSE over its splits (and of the refit test RMSE with
 * train.refit), and the validation and final test RMSE means.  Also printed at the end of such a grid or run. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "query.h"
#include "run.h"

void query_summary_usage(FILE *f) {
    fprintf(f,
"usage: autorec summary [--experiment E] [--db PATH]\n"
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
"  --experiment E   one experiment (its id, or its config name)\n"
"  --db PATH        results database (default " QUERY_DEFAULT_DB ")\n");
}

/* Sets cell c of t's current row to "[lo, hi]" from columns i and i + 1 of
 * st, or "-" when they are NULL. */
static void summary_ci(QTable *t, int c, sqlite3_stmt *st, int i) {
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        qt_set(t, c, "-");
    else
        qt_set(t, c, "[%.4f, %.4f]", sqlite3_column_double(st, i),
               sqlite3_column_double(st, i + 1));
}

/* See query.h.  Returns the number of rows printed, or -1 with err. */
int query_summary_print(sqlite3 *h, const char *experiment, FILE *out,
                        char *err) {
    static const char *const heads[] = {
        "experiment", "params", "kind", "splits", "selected RMSE", "sd",
        "95% CI", "val RMSE", "final RMSE", "sd", "refit RMSE", "sd",
        "95% CI"};
    static const int right[] = {0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0};
    enum { NC = 13 };
    char b[10][64];
    sqlite3_stmt *st = NULL;
    QTable t;
    int rc, n = 0, ret = -1;

    qt_init(&t, NC);
    for (int c = 0; c < NC; c++) qt_head(&t, c, heads[c], right[c]);
    if (query_prepare(h,
                      "SELECT s.experiment, s.params, s.split_kind, s.n, "
                      "s.splits, s.selected_test_mean, s.selected_test_sd, "
                      "s.selected_test_ci_lo, s.selected_test_ci_hi, "
                      "s.selected_val_mean, s.final_test_mean, "
                      "s.final_test_sd, s.refit_test_mean, s.refit_test_sd, "
                      "s.refit_test_ci_lo, s.refit_test_ci_hi FROM "
                      "split_summaries s JOIN "
                      "experiments x ON x.id = s.experiment WHERE ?1 IS NULL "
                      "OR x.id = ?1 OR x.name = ?1 ORDER BY x.created_at, "
                      "s.experiment, s.group_point", &st, err))
        goto done;
    rc = experiment ? sqlite3_bind_text(st, 1, experiment, -1, SQLITE_STATIC)
                    : SQLITE_OK;
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        const char *params = (const char *)sqlite3_column_text(st, 1);
        qt_row(&t);
        qt_set(&t, 0, "%s", query_col(st, 0, NULL, b[0], 64));
        qt_set(&t, 1, "%s", params && *params ? params : "-");
        qt_set(&t, 2, "%s", query_col(st, 2, NULL, b[1], 64));
        qt_set(&t, 3, "%d/%d", sqlite3_column_int(st, 3),
               sqlite3_column_int(st, 4));
        qt_set(&t, 4, "%s", query_col(st, 5, "%.4f", b[2], 64));
        qt_set(&t, 5, "%s", query_col(st, 6, "%.4f", b[3], 64));
        summary_ci(&t, 6, st, 7);
        qt_set(&t, 7, "%s", query_col(st, 9, "%.4f", b[4], 64));
        qt_set(&t, 8, "%s", query_col(st, 10, "%.4f", b[5], 64));
        qt_set(&t, 9, "%s", query_col(st, 11, "%.4f", b[6], 64));
        qt_set(&t, 10, "%s", query_col(st, 12, "%.4f", b[7], 64));
        qt_set(&t, 11, "%s", query_col(st, 13, "%.4f", b[8], 64));
        summary_ci(&t, 12, st, 14);
        n++;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot read the split summaries: %s", sqlite3_errmsg(h));
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

int query_summary_main(int argc, char **argv) {
    const char *db_path = QUERY_DEFAULT_DB, *experiment = NULL;
    char err[ERR_MAX];
    sqlite3 *h = NULL;
    int rc = EXIT_USAGE, r;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            query_summary_usage(stdout);
            return EXIT_OK;
        }
        if ((r = query_opt_db(argc, argv, &i, &db_path, "summary")) ||
            (r = query_opt(argc, argv, &i, "--experiment", &experiment,
                           "summary"))) {
            if (r < 0) return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "autorec summary: unknown argument '%s' (see autorec "
                        "summary --help)\n", argv[i]);
        return EXIT_USAGE;
    }
    rc = EXIT_FAILED;
    if (db_open_query(&h, db_path, err)) goto fail;
    r = query_summary_print(h, experiment, stdout, err);
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

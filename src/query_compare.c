/* query_compare.c - `autorec compare RUN RUN...`: runs side by side. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "query.h"

#define COMPARE_MAX_RUNS 16

void query_compare_usage(FILE *f) {
    fprintf(f,
"usage: autorec compare RUN RUN... [--db PATH]\n"
"\n"
"Shows runs side by side: every parameter that differs (the run columns and\n"
"every key of each run's stored resolved config; then, after same:, those\n"
"that are the same), every metric recorded (result, best-epoch, final,\n"
"selected and refit RMSE ...), and per epoch each run's train loss, test\n"
"RMSE and MAE and validation RMSE and MAE (the ones recorded) in columns,\n"
"'*' marking each run's selected epoch; then the refit epochs of train.refit\n"
"runs.  At most %d runs.\n"
"\n"
"options:\n"
"  --db PATH   results database (default " CLI_DEFAULT_DB ")\n",
            COMPARE_MAX_RUNS);
}

/* The epochs of one run in one table (epochs or refit_epochs): every
 * value of qcol_epoch_columns, NAN for NULL or a column the table lacks. */
typedef struct {
    int n;
    int *epoch;        /* owned, n */
    double *v;         /* owned, n * number of epoch columns */
} Epochs;

typedef struct {
    sqlite3_int64 id;
    char label[32];                     /* "#14" */
    int selected;                       /* selected epoch, -1: none */
    Epochs ep, refit;
} Cmp;

/* Reads the rows of run id in table into e.  Returns 0 or -1 with err. */
static int epochs_read(sqlite3 *h, const char *table, sqlite3_int64 id,
                       Epochs *e, char *err) {
    int nc, rc, cap = 0, ret = -1;
    sqlite3_stmt *st = NULL;
    qcol_epoch_columns(&nc);
    if (query_epoch_stmt(h, table, &st, err)) return -1;
    rc = sqlite3_bind_int64(st, 1, id);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        if (e->n == cap) {
            int ncap = cap ? cap * 2 : 32;
            int *ep = mem_realloc(e->epoch, (size_t)ncap * sizeof *ep);
            if (ep) e->epoch = ep;
            double *v = mem_realloc(e->v, (size_t)ncap * (size_t)nc *
                                              sizeof *v);
            if (v) e->v = v;
            if (!ep || !v) {
                err_set(err, "out of memory reading the epochs");
                goto done;
            }
            cap = ncap;
        }
        e->epoch[e->n] = sqlite3_column_int(st, 0);
        for (int c = 0; c < nc; c++)
            e->v[(size_t)e->n * (size_t)nc + (size_t)c] =
                sqlite3_column_type(st, 1 + c) == SQLITE_NULL
                    ? NAN : sqlite3_column_double(st, 1 + c);
        e->n++;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot read the %s of run %lld: %s", table,
                (long long)id, sqlite3_errmsg(h));
        goto done;
    }
    ret = 0;
done:
    sqlite3_finalize(st);
    return ret;
}

static void epochs_free(Epochs *e) {
    mem_free(e->epoch);
    mem_free(e->v);
    memset(e, 0, sizeof *e);
}

static void cmp_free(Cmp *c) {
    epochs_free(&c->ep);
    epochs_free(&c->refit);
}

/* Prints the parameter section (the parameters that differ, then "same:")
 * and the metrics of every run.  Returns 0 or -1 (out of memory). */
static int print_params(const Cmp *c, const QRunValues *v, int nruns,
                        FILE *out) {
    QParams ps;
    QTable t;
    int ret;
    if (query_params_build(v, nruns, &ps)) return -1;
    qt_init(&t, nruns + 1);
    qt_head(&t, 0, "", 0);
    for (int r = 0; r < nruns; r++) qt_head(&t, r + 1, c[r].label, 0);
    for (int i = 0; i < qcol_count(); i++) {   /* identity: experiment, ... */
        const QColumn *col = qcol_get(i);
        if (col->kind != QCOL_INFO || col->ls == 0 || !strcmp(col->name, "id"))
            continue;
        qt_row(&t);
        qt_set(&t, 0, "%s", col->name);
        for (int r = 0; r < nruns; r++) qt_set(&t, r + 1, "%s", v[r].col[i]);
    }
    for (int k = 0; k < ps.n; k++) {
        if (!ps.p[k].differ) continue;
        qt_row(&t);
        qt_set(&t, 0, "%s", ps.p[k].name);
        for (int r = 0; r < nruns; r++) qt_set(&t, r + 1, "%s", ps.p[k].val[r]);
    }
    for (int i = 0; i < qcol_count(); i++) {
        const QColumn *col = qcol_get(i);
        int any = 0;
        if (col->kind != QCOL_METRIC) continue;
        for (int r = 0; r < nruns; r++) any |= strcmp(v[r].col[i], "-") != 0;
        if (!any) continue;
        qt_row(&t);
        qt_set(&t, 0, "%s", col->name);
        for (int r = 0; r < nruns; r++) qt_set(&t, r + 1, "%s", v[r].col[i]);
    }
    ret = qt_print(&t, out);
    qt_free(&t);
    int nsame = 0;
    for (int k = 0; k < ps.n && ret == 0; k++) {
        if (ps.p[k].differ) continue;
        fprintf(out, "%s %s=%s", nsame++ ? "" : "same:", ps.p[k].name,
                ps.p[k].val[0]);
    }
    if (nsame) fputc('\n', out);
    query_params_free(&ps);
    return ret;
}

/* Whether any run has a value in epoch column c of its epochs (refit: of
 * its refit epochs). */
static int epoch_col_used(const Cmp *c, int nruns, int refit, int col) {
    int nc;
    qcol_epoch_columns(&nc);
    for (int r = 0; r < nruns; r++) {
        const Epochs *e = refit ? &c[r].refit : &c[r].ep;
        for (int i = 0; i < e->n; i++)
            if (!isnan(e->v[(size_t)i * (size_t)nc + (size_t)col])) return 1;
    }
    return 0;
}

/* Prints the epochs (refit: the refit epochs) of the runs in columns: per
 * run the train loss and every model metric recorded; '*' marks each run's
 * selected epoch.  Returns 0 or -1 (out of memory). */
static int print_epochs(const Cmp *c, int nruns, int refit, FILE *out) {
    QTable t;
    int nc, used[16], nused = 0, max_epoch = 0, ret, ncols;
    const QEpochColumn *ec = qcol_epoch_columns(&nc);
    static char heads[QT_MAX_COLS][48];

    for (int k = 0; k < nc && nused < 16; k++)
        if ((ec[k].metric) && epoch_col_used(c, nruns, refit, k))
            used[nused++] = k;
    if (nused == 0) return 0;
    ncols = 1 + nruns * nused;
    if (ncols > QT_MAX_COLS) {   /* too wide: the losses and test RMSE */
        nused = 0;
        for (int k = 0; k < nc && nused < 2; k++)
            if (!strcmp(ec[k].name, "train_loss") ||
                !strcmp(ec[k].name, "test_rmse"))
                used[nused++] = k;
        ncols = 1 + nruns * nused;
    }
    for (int r = 0; r < nruns; r++) {
        const Epochs *e = refit ? &c[r].refit : &c[r].ep;
        for (int i = 0; i < e->n; i++)
            if (e->epoch[i] > max_epoch) max_epoch = e->epoch[i];
    }
    qt_init(&t, ncols);
    qt_head(&t, 0, "epoch", 1);
    for (int r = 0; r < nruns; r++)
        for (int k = 0; k < nused; k++) {
            int col = 1 + r * nused + k;
            snprintf(heads[col], sizeof heads[col], "%s %s", c[r].label,
                     !strcmp(ec[used[k]].name, "train_loss")
                         ? "loss" : ec[used[k]].heading);
            qt_head(&t, col, heads[col], 1);
        }
    int pos[COMPARE_MAX_RUNS] = {0};
    for (int e = 1; e <= max_epoch; e++) {
        qt_row(&t);
        qt_set(&t, 0, "%d", e);
        for (int r = 0; r < nruns; r++) {
            const Epochs *x = refit ? &c[r].refit : &c[r].ep;
            while (pos[r] < x->n && x->epoch[pos[r]] < e) pos[r]++;
            int have = pos[r] < x->n && x->epoch[pos[r]] == e;
            for (int k = 0; k < nused; k++) {
                int col = 1 + r * nused + k;
                double v = have ? x->v[(size_t)pos[r] * (size_t)nc +
                                       (size_t)used[k]] : NAN;
                int mark = !refit && have && e == c[r].selected &&
                           !strcmp(ec[used[k]].name, "test_rmse");
                char b[48];
                snprintf(b, sizeof b, ec[used[k]].fmt, v);
                qt_set(&t, col, "%s%s", isnan(v) ? "-" : b, mark ? "*" : " ");
            }
        }
    }
    ret = qt_print(&t, out);
    qt_free(&t);
    return ret;
}

int query_compare_main(int argc, char **argv) {
    const char *db_path = CLI_DEFAULT_DB;
    Cmp runs[COMPARE_MAX_RUNS];
    QRunValues vals[COMPARE_MAX_RUNS];
    char err[ERR_MAX];
    sqlite3 *h = NULL;
    int nruns = 0, nvals = 0, rc = EXIT_FAILED, r;
    sqlite3_int64 ids[COMPARE_MAX_RUNS];
    QRunArgs args = {"compare", ids, 0, COMPARE_MAX_RUNS};
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &db_path},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "compare", .usage = query_compare_usage,
                    .opts = opts, .positional = query_run_arg, .ctx = &args,
                    .missing = "RUN (ids from autorec ls), e.g. autorec "
                               "compare 3 7"};

    memset(runs, 0, sizeof runs);
    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    for (nruns = 0; nruns < args.n; nruns++) {
        runs[nruns].id = ids[nruns];
        snprintf(runs[nruns].label, sizeof runs[nruns].label, "#%lld",
                 (long long)ids[nruns]);
    }
    if (db_open_query(&h, db_path, err)) goto fail;
    for (int k = 0; k < nruns; k++) {
        int sel = -1;
        for (int i = 0; i < qcol_count(); i++)
            if (!strcmp(qcol_get(i)->name, "selected_epoch")) sel = i;
        if (query_run_values(h, runs[k].id, &vals[k], err)) goto fail;
        nvals++;
        runs[k].selected = sel >= 0 ? atoi(vals[k].col[sel]) : -1;
        if (epochs_read(h, "epochs", runs[k].id, &runs[k].ep, err) ||
            epochs_read(h, "refit_epochs", runs[k].id, &runs[k].refit, err))
            goto fail;
    }
    if (print_params(runs, vals, nruns, stdout)) {
        err_set(err, "out of memory");
        goto fail;
    }
    fputc('\n', stdout);
    if (print_epochs(runs, nruns, 0, stdout)) {
        err_set(err, "out of memory");
        goto fail;
    }
    int any_refit = 0;
    for (int k = 0; k < nruns; k++) any_refit |= runs[k].refit.n > 0;
    if (any_refit) {
        fprintf(stdout, "\nrefit (train + validation):\n");
        if (print_epochs(runs, nruns, 1, stdout)) {
            err_set(err, "out of memory");
            goto fail;
        }
    }
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec compare: %s\n", err);
out:
    for (int k = 0; k < nruns; k++) cmp_free(&runs[k]);
    for (int k = 0; k < nvals; k++) query_run_values_free(&vals[k]);
    sqlite3_close(h);
    return rc;
}

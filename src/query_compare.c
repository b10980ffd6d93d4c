/* query_compare.c - `autorec compare RUN RUN...`: runs side by side. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "mem.h"
#include "query.h"
#include "run.h"

#define COMPARE_MAX_RUNS 16
#define VAL_MAX 128

void query_compare_usage(FILE *f) {
    fprintf(f,
"usage: autorec compare RUN RUN... [--db PATH]\n"
"\n"
"Shows runs side by side: the parameters that differ (then those that are\n"
"the same), and per epoch the train loss and test RMSE of each run in\n"
"columns; '*' marks each run's best test RMSE, and the last rows give each\n"
"run's best and last values.  At most %d runs.\n"
"\n"
"options:\n"
"  --db PATH   results database (default " QUERY_DEFAULT_DB ")\n",
            COMPARE_MAX_RUNS);
}

typedef struct {
    sqlite3_int64 id;
    char label[32];                     /* "#14" */
    char status[16], of[VAL_MAX];       /* status, experiment or name */
    char (*params)[VAL_MAX];            /* one per param key, owned */
    int n;                              /* epochs read */
    int *epoch;                         /* owned, n */
    double *loss, *rmse;                /* owned, n */
    int best;                           /* index of the best rmse, -1 */
} Cmp;

/* Reads run c->id's parameters and epochs.  Returns 0, 1 when no such run
 * (err set), or -1 with err.  On success c owns its arrays. */
static int cmp_read(sqlite3 *h, Cmp *c, char *err) {
    const QKey *pk;
    int np, rc, ret = -1, cap = 0;
    char sql[1024];
    size_t len;
    sqlite3_stmt *st = NULL;

    pk = query_param_keys(&np);
    len = (size_t)snprintf(sql, sizeof sql, "SELECT status, "
                           "coalesce(experiment, name)");
    for (int k = 0; k < np; k++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s",
                                pk[k].column);
    snprintf(sql + len, sizeof sql - len, " FROM run_summary WHERE id = ?1");
    c->params = mem_calloc((size_t)np, sizeof *c->params);
    if (!c->params) return err_set(err, "out of memory");
    if (query_prepare(h, sql, &st, err)) goto done;
    rc = sqlite3_bind_int64(st, 1, c->id);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err_set(err, "no run %lld in %s (see autorec ls)", (long long)c->id,
                sqlite3_db_filename(h, "main"));
        ret = 1;
        goto done;
    }
    if (rc != SQLITE_ROW) goto sqlfail;
    query_col(st, 0, NULL, c->status, sizeof c->status);
    query_col(st, 1, NULL, c->of, sizeof c->of);
    for (int k = 0; k < np; k++) query_col(st, 2 + k, "%g", c->params[k], VAL_MAX);
    sqlite3_finalize(st);
    st = NULL;

    if (query_prepare(h, "SELECT epoch, train_loss, test_rmse FROM epochs "
                         "WHERE run_id = ?1 ORDER BY epoch", &st, err))
        goto done;
    rc = sqlite3_bind_int64(st, 1, c->id);
    c->best = -1;
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        if (c->n == cap) {
            int ncap = cap ? cap * 2 : 32;
            int *e = mem_realloc(c->epoch, (size_t)ncap * sizeof *e);
            if (e) c->epoch = e;
            double *l = mem_realloc(c->loss, (size_t)ncap * sizeof *l);
            if (l) c->loss = l;
            double *r = mem_realloc(c->rmse, (size_t)ncap * sizeof *r);
            if (r) c->rmse = r;
            if (!e || !l || !r) {
                err_set(err, "out of memory reading the epochs");
                goto done;
            }
            cap = ncap;
        }
        c->epoch[c->n] = sqlite3_column_int(st, 0);
        c->loss[c->n] = sqlite3_column_double(st, 1);
        c->rmse[c->n] = sqlite3_column_double(st, 2);
        if (c->best < 0 || c->rmse[c->n] < c->rmse[c->best]) c->best = c->n;
        c->n++;
    }
    if (rc != SQLITE_DONE) goto sqlfail;
    ret = 0;
    goto done;
sqlfail:
    err_set(err, "cannot read run %lld: %s", (long long)c->id,
            sqlite3_errmsg(h));
done:
    sqlite3_finalize(st);
    return ret;
}

static void cmp_free(Cmp *c) {
    mem_free(c->params);
    mem_free(c->epoch);
    mem_free(c->loss);
    mem_free(c->rmse);
}

/* Prints the parameter section.  Returns 0 or -1 (out of memory). */
static int print_params(const Cmp *c, int nruns, FILE *out) {
    int np, ret;
    const QKey *pk = query_param_keys(&np);
    QTable t;
    char same[2048] = "";
    size_t slen = 0;

    qt_init(&t, nruns + 1);
    qt_head(&t, 0, "", 0);
    for (int r = 0; r < nruns; r++) qt_head(&t, r + 1, c[r].label, 0);
    qt_row(&t);
    qt_set(&t, 0, "experiment");
    for (int r = 0; r < nruns; r++) qt_set(&t, r + 1, "%s", c[r].of);
    qt_row(&t);
    qt_set(&t, 0, "status");
    for (int r = 0; r < nruns; r++) qt_set(&t, r + 1, "%s", c[r].status);
    for (int k = 0; k < np; k++) {
        int differ = 0;
        for (int r = 1; r < nruns; r++)
            differ |= strcmp(c[r].params[k], c[0].params[k]) != 0;
        if (differ) {
            qt_row(&t);
            qt_set(&t, 0, "%s", pk[k].name);
            for (int r = 0; r < nruns; r++)
                qt_set(&t, r + 1, "%s", c[r].params[k]);
        } else if (slen + 1 < sizeof same) {
            int w = snprintf(same + slen, sizeof same - slen, " %s=%s",
                             pk[k].name, c[0].params[k]);
            if (w > 0) slen += (size_t)w;
        }
    }
    ret = qt_print(&t, out);
    if (slen) fprintf(out, "same:%s\n", same);
    qt_free(&t);
    return ret;
}

/* Prints the epoch section.  Returns 0 or -1 (out of memory). */
static int print_epochs(const Cmp *c, int nruns, FILE *out) {
    QTable t;
    int max_epoch = 0, ret;
    char heads[2 * COMPARE_MAX_RUNS][48];

    for (int r = 0; r < nruns; r++)
        for (int i = 0; i < c[r].n; i++)
            if (c[r].epoch[i] > max_epoch) max_epoch = c[r].epoch[i];
    qt_init(&t, 1 + 2 * nruns);
    qt_head(&t, 0, "epoch", 1);
    for (int r = 0; r < nruns; r++) {
        snprintf(heads[2 * r], 48, "%s loss", c[r].label);
        snprintf(heads[2 * r + 1], 48, "%s RMSE", c[r].label);
        qt_head(&t, 1 + 2 * r, heads[2 * r], 1);
        qt_head(&t, 2 + 2 * r, heads[2 * r + 1], 1);
    }
    int pos[COMPARE_MAX_RUNS] = {0};
    for (int e = 1; e <= max_epoch; e++) {
        qt_row(&t);
        qt_set(&t, 0, "%d", e);
        for (int r = 0; r < nruns; r++) {
            const Cmp *x = &c[r];
            while (pos[r] < x->n && x->epoch[pos[r]] < e) pos[r]++;
            if (pos[r] < x->n && x->epoch[pos[r]] == e) {
                qt_set(&t, 1 + 2 * r, "%.3f", x->loss[pos[r]]);
                qt_set(&t, 2 + 2 * r, "%.4f%s", x->rmse[pos[r]],
                       pos[r] == x->best ? "*" : " ");
            } else {
                qt_set(&t, 1 + 2 * r, "-");
                qt_set(&t, 2 + 2 * r, "- ");
            }
        }
    }
    qt_row(&t);
    qt_set(&t, 0, "best");
    for (int r = 0; r < nruns; r++) {
        if (c[r].best < 0) continue;
        qt_set(&t, 1 + 2 * r, "@%d", c[r].epoch[c[r].best]);
        qt_set(&t, 2 + 2 * r, "%.4f*", c[r].rmse[c[r].best]);
    }
    qt_row(&t);
    qt_set(&t, 0, "last");
    for (int r = 0; r < nruns; r++) {
        if (c[r].n == 0) continue;
        qt_set(&t, 1 + 2 * r, "%.3f", c[r].loss[c[r].n - 1]);
        qt_set(&t, 2 + 2 * r, "%.4f ", c[r].rmse[c[r].n - 1]);
    }
    ret = qt_print(&t, out);
    qt_free(&t);
    return ret;
}

int query_compare_main(int argc, char **argv) {
    const char *db_path = QUERY_DEFAULT_DB;
    Cmp runs[COMPARE_MAX_RUNS];
    char err[ERR_MAX];
    sqlite3 *h = NULL;
    int nruns = 0, rc = EXIT_USAGE, r;

    memset(runs, 0, sizeof runs);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            query_compare_usage(stdout);
            return EXIT_OK;
        }
        if ((r = query_opt_db(argc, argv, &i, &db_path, "compare"))) {
            if (r < 0) return EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "autorec compare: unknown option '%s' (see "
                            "autorec compare --help)\n", argv[i]);
            return EXIT_USAGE;
        }
        if (nruns == COMPARE_MAX_RUNS) {
            fprintf(stderr, "autorec compare: more than %d runs\n",
                    COMPARE_MAX_RUNS);
            return EXIT_USAGE;
        }
        if (query_run_id(argv[i], &runs[nruns].id, err)) goto fail;
        snprintf(runs[nruns].label, sizeof runs[nruns].label, "#%lld",
                 (long long)runs[nruns].id);
        nruns++;
    }
    if (nruns < 1) {
        fprintf(stderr, "autorec compare: give at least one RUN (ids from "
                        "autorec ls), e.g. autorec compare 3 7\n");
        return EXIT_USAGE;
    }
    rc = EXIT_FAILED;
    if (db_open_query(&h, db_path, err)) goto fail;
    for (int k = 0; k < nruns; k++)
        if (cmp_read(h, &runs[k], err)) goto fail;
    if (print_params(runs, nruns, stdout)) {
        err_set(err, "out of memory");
        goto fail;
    }
    fputc('\n', stdout);
    if (print_epochs(runs, nruns, stdout)) {
        err_set(err, "out of memory");
        goto fail;
    }
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec compare: %s\n", err);
out:
    for (int k = 0; k < nruns; k++) cmp_free(&runs[k]);
    sqlite3_close(h);
    return rc;
}

/* query_search.c - what the query tools say about searches (sampled trials
 * and pruning, autorec grid with search.*): the text report used by
 * `autorec summary` and `autorec best`, and the plot of `autorec plot
 * --search`: validation RMSE against each sampled parameter, and the
 * validation curves, coloured by status.  Everything here ranks by
 * validation RMSE; test RMSEs are only reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "query.h"

/* Experiments that are searches: a sampled one, or one with pruned
 * trials.  ?1: an experiment id or config name, or NULL for all. */
#define SEARCH_WHERE                                                       \
    "(?1 IS NULL OR x.id = ?1 OR x.name = ?1) AND (g.pruned > 0 OR "      \
    "x.config_yaml LIKE '%\nsearch:\n  sampler: random%' OR "             \
    "x.config_yaml LIKE '%\nsearch:\n  sampler: sobol%')"

/* See query.h.  Returns the number of searches printed, or -1 with err. */
int query_search_print(sqlite3 *h, const char *experiment, FILE *out,
                       char *err) {
    sqlite3_stmt *st = NULL, *best = NULL;
    char b[4][48];
    int rc, n = 0, ret = -1;
    if (query_prepare(h,
            "SELECT x.id, x.axes, g.n_points, g.finished, g.pruned, "
            "g.n_points - g.finished - g.pruned, g.epochs_spent, "
            "g.epochs_full, g.best_val_run FROM experiments x JOIN "
            "grid_summary g ON g.experiment = x.id WHERE " SEARCH_WHERE
            " ORDER BY x.created_at, x.id", &st, err) ||
        query_prepare(h,
            "SELECT r.id, r.grid_point, r.selected_val_rmse, "
            "r.selected_epoch, r.selected_test_rmse, r.refit_test_rmse, "
            "p.params FROM runs r LEFT JOIN grid_points p ON p.experiment = "
            "r.experiment AND p.point = r.grid_point WHERE r.id = ?1",
            &best, err))
        goto done;
    rc = experiment ? sqlite3_bind_text(st, 1, experiment, -1, SQLITE_STATIC)
                    : SQLITE_OK;
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        long long spent = sqlite3_column_int64(st, 6),
                  full = sqlite3_column_int64(st, 7);
        fprintf(out, "search %s (%s): %d trials: %d finished, %d pruned, %d "
                     "other (not run, running, failed, interrupted, "
                     "diverged)\n",
                (const char *)sqlite3_column_text(st, 0),
                (const char *)sqlite3_column_text(st, 1),
                sqlite3_column_int(st, 2), sqlite3_column_int(st, 3),
                sqlite3_column_int(st, 4), sqlite3_column_int(st, 5));
        fprintf(out, "  epochs: %lld spent, of the %lld that training every "
                     "trial to its train.epochs takes (%.1f%%)\n", spent,
                full, full ? 100.0 * (double)spent / (double)full : 0.0);
        if (sqlite3_column_type(st, 8) == SQLITE_NULL) {
            fprintf(out, "  best by validation: no finished trial yet\n");
        } else {
            int r2 = sqlite3_bind_int64(best, 1, sqlite3_column_int64(st, 8));
            if ((r2 = query_step(best, r2)) == SQLITE_ROW) {
                const char *params = (const char *)sqlite3_column_text(best, 6);
                fprintf(out, "  best by validation: run %lld, point %lld "
                             "(%s): validation RMSE %s at epoch %d, test "
                             "RMSE there %s%s%s\n",
                        sqlite3_column_int64(best, 0),
                        sqlite3_column_int64(best, 1), params ? params : "-",
                        query_col(best, 2, "%.4f", b[0], sizeof b[0]),
                        sqlite3_column_int(best, 3),
                        query_col(best, 4, "%.4f", b[1], sizeof b[1]),
                        sqlite3_column_type(best, 5) != SQLITE_NULL
                            ? ", refit test RMSE " : "",
                        sqlite3_column_type(best, 5) != SQLITE_NULL
                            ? query_col(best, 5, "%.4f", b[2], sizeof b[2])
                            : "");
            }
            sqlite3_reset(best);
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot read the searches: %s", sqlite3_errmsg(h));
        goto done;
    }
    ret = n;
done:
    sqlite3_finalize(st);
    sqlite3_finalize(best);
    return ret;
}

/* ------------------------------------------------------------- plot -- */

#define SEARCH_PLOT_AXES 16

typedef struct {
    sqlite3 *h;
    const char *experiment, *path, *title;
    int svg;
} SearchPlot;

/* QPlotScriptFn: the search plot (see query.h).  Returns 0 or -1 with
 * err. */
static int search_script(void *ctx, FILE *out, char *err) {
    const SearchPlot *sp = ctx;
    sqlite3_stmt *st = NULL;
    char axes[1024], sql[2048], id[256], b[40];
    const QKey *keys[SEARCH_PLOT_AXES];
    int nk = 0, rc, ret = -1, ntrials = 0;
    double ymin = INFINITY;   /* lowest validation RMSE of the curves */
    double lo[SEARCH_PLOT_AXES], hi[SEARCH_PLOT_AXES];

    /* the experiment and its sampled axes */
    if (query_prepare(sp->h, "SELECT x.id, x.axes FROM experiments x WHERE "
                             "x.id = ?1 OR x.name = ?1 ORDER BY x.created_at "
                             "DESC LIMIT 1", &st, err))
        return -1;
    rc = sqlite3_bind_text(st, 1, sp->experiment, -1, SQLITE_STATIC);
    if ((rc = query_step(st, rc)) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return err_set(err, "--search %s: no such experiment in %s (see "
                       "autorec summary)", sp->experiment,
                       sqlite3_db_filename(sp->h, "main"));
    }
    snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(axes, sizeof axes, "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    st = NULL;
    for (char *tok = strtok(axes, ","); tok && nk < SEARCH_PLOT_AXES;
         tok = strtok(NULL, ","))
        if ((keys[nk] = query_key(tok)) && keys[nk]->type != QK_TEXT) {
            lo[nk] = INFINITY;
            hi[nk] = -INFINITY;
            nk++;
        }

    /* trials: one row per finished or pruned run: axes..., val, status */
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT status = "
                                  "'pruned', selected_val_rmse");
    for (int k = 0; k < nk; k++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s",
                                keys[k]->column);
    snprintf(sql + len, sizeof sql - len, " FROM run_summary WHERE "
             "experiment = ?1 AND status IN ('finished', 'pruned') AND "
             "selected_val_rmse IS NOT NULL ORDER BY id");
    if (query_prepare(sp->h, sql, &st, err)) goto done;
    for (int pruned = 0; pruned < 2; pruned++) {
        fprintf(out, "$trials%d << EOD\n", pruned);
        rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while ((rc = query_step(st, rc)) == SQLITE_ROW) {
            if (sqlite3_column_int(st, 0) != pruned) continue;
            fprintf(out, "%s", query_real(sqlite3_column_double(st, 1), b,
                                          sizeof b));
            for (int k = 0; k < nk; k++) {
                double v = sqlite3_column_double(st, 2 + k);
                if (v < lo[k]) lo[k] = v;
                if (v > hi[k]) hi[k] = v;
                fprintf(out, " %s", query_real(v, b, sizeof b));
            }
            fputc('\n', out);
            ntrials++;
        }
        fputs("EOD\n", out);
        if (rc != SQLITE_DONE) {
            err_set(err, "cannot read the trials: %s", sqlite3_errmsg(sp->h));
            goto done;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (ntrials == 0) {
        err_set(err, "--search %s: no finished or pruned trial with a "
                     "validation RMSE to plot", sp->experiment);
        goto done;
    }
    /* curves: validation RMSE per epoch, a block per run, by status */
    if (query_prepare(sp->h, "SELECT r.status = 'pruned', r.id, e.epoch, "
                             "e.val_rmse FROM runs r JOIN epochs e ON "
                             "e.run_id = r.id WHERE r.experiment = ?1 AND "
                             "r.status IN ('finished', 'pruned') AND "
                             "e.val_rmse IS NOT NULL ORDER BY r.id, e.epoch",
                      &st, err))
        goto done;
    for (int pruned = 0; pruned < 2; pruned++) {
        sqlite3_int64 last = -1;
        fprintf(out, "$curves%d << EOD\n", pruned);
        rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while ((rc = query_step(st, rc)) == SQLITE_ROW) {
            if (sqlite3_column_int(st, 0) != pruned) continue;
            if (last >= 0 && sqlite3_column_int64(st, 1) != last)
                fputs("\n", out);
            last = sqlite3_column_int64(st, 1);
            if (sqlite3_column_double(st, 3) < ymin)
                ymin = sqlite3_column_double(st, 3);
            fprintf(out, "%d %s\n", sqlite3_column_int(st, 2),
                    query_real(sqlite3_column_double(st, 3), b, sizeof b));
        }
        fputs("EOD\n", out);
        if (rc != SQLITE_DONE) {
            err_set(err, "cannot read the curves: %s", sqlite3_errmsg(sp->h));
            goto done;
        }
        sqlite3_reset(st);
    }

    int panels = nk + 1, cols = panels < 3 ? panels : 3;
    int rows = (panels + cols - 1) / cols;
    fputs("set encoding utf8\n", out);
    if (sp->svg)
        fprintf(out, "set terminal svg size %d,%d dynamic noenhanced font "
                     "'Sans,11' background rgb 'white'\n", 420 * cols,
                360 * rows);
    else
        fprintf(out, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                     "  set terminal pngcairo size %d,%d noenhanced font "
                     "'Sans,10' background rgb 'white'\n} else {\n"
                     "  set terminal png size %d,%d noenhanced\n}\n",
                420 * cols, 360 * rows, 420 * cols, 360 * rows);
    fputs("set output\n", out);   /* standard output: query_gnuplot's file */
    fprintf(out, "set multiplot layout %d,%d title ", rows, cols);
    if (sp->title) {
        query_gp_string(out, sp->title);
    } else {
        char t[320];
        snprintf(t, sizeof t, "search %s: validation RMSE of its trials",
                 id);
        query_gp_string(out, t);
    }
    fputs("\nset grid\nset border 3\nset tics nomirror\nset key top right "
          "opaque\nset ylabel 'validation RMSE'\n", out);
    for (int k = 0; k < nk; k++) {
        int logx = lo[k] > 0 && hi[k] / lo[k] > 8;
        fprintf(out, "%s\nset xlabel '%s'\nset title '%s'\n",
                logx ? "set logscale x" : "unset logscale x", keys[k]->name,
                keys[k]->name);
        fprintf(out, "plot $trials0 using %d:1 with points pt 7 ps 0.8 lc "
                     "rgb '#1f77b4' title 'finished', $trials1 using %d:1 "
                     "with points pt 6 ps 0.8 lc rgb '#ff7f0e' title "
                     "'pruned'\n", 2 + k, 2 + k);
    }
    /* the curves from the best value to 30% above it: the first epochs'
     * RMSEs (above 3) would flatten everything else */
    if (isfinite(ymin))
        fprintf(out, "set yrange [%.6g:%.6g]\n", ymin * 0.99, ymin * 1.3);
    fputs("unset logscale x\nset xlabel 'epoch'\nset title 'validation "
          "curves'\n"
          "plot $curves1 using 1:2 with lines lw 1 lc rgb '#ff7f0e' title "
          "'pruned', $curves0 using 1:2 with lines lw 1.5 lc rgb '#1f77b4' "
          "title 'finished'\nunset multiplot\nset output\n", out);
    ret = 0;
done:
    sqlite3_finalize(st);
    return ret;
}

/* See query.h.  Returns 0 or -1 with err. */
int query_plot_search(sqlite3 *h, const char *experiment, int svg,
                      const char *path, const char *title,
                      const char *db_path, char *err) {
    SearchPlot sp = {h, experiment, path, title, svg};
    return query_plot_write(search_script, &sp, path, svg, db_path, err);
}

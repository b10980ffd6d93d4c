/* query_plot.c - `autorec plot`: learning curves (train loss and test RMSE
 * per epoch, one colour per run) drawn by gnuplot into a PNG or SVG file.
 *
 * The gnuplot script, data included as datablocks, goes to gnuplot's stdin
 * through a pipe (fork + execvp, no shell).  Text from the database (run
 * names) only appears inside single-quoted gnuplot strings, escaped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "outfile.h"
#include "query.h"

#define PLOT_MAX_RUNS 20
#define LABEL_MAX 256

void query_plot_usage(FILE *f) {
    fprintf(f,
"usage: autorec plot [RUN...] [-o FILE] [--metric M[,M...]] [--experiment E]\n"
"                    [--where FILTER] [--status S] [--title TEXT] [--db PATH]\n"
"       autorec plot --search EXPERIMENT [-o FILE] [--title TEXT] [--db PATH]\n"
"\n"
"Draws the learning curves of runs, as the reference notebook's animator:\n"
"one panel per metric (default train loss and test RMSE) against the\n"
"epoch, one colour per run, the legend naming each run and every parameter\n"
"that differs (config keys included); a train.refit run's refit epochs are\n"
"dashed in the same colour.  The runs\n"
"are the RUN ids given, or those selected by --experiment (--latest,\n"
"--all-matching)/--where/--status as autorec ls does\n"
"(at most %d).  Needs gnuplot (Debian: gnuplot-nox; AUTOREC_GNUPLOT names\n"
"another binary).\n"
"\n"
"options:\n"
"  -o FILE       output, .png (default curves.png) or .svg\n"
"  --title TEXT  title above the panels\n"
"  --metric M[,M...]  the panels: train_loss, test_rmse, test_mae, val_rmse,\n"
"                val_mae (default train_loss,test_rmse)\n"
"  --search E    a search's trials instead (autorec grid with search.*):\n"
"                one panel per sampled parameter, validation RMSE of each\n"
"                finished and pruned trial against its value, and a panel\n"
"                of the validation curves coloured by status\n"
"  --db PATH     results database (default " CLI_DEFAULT_DB ")\n",
            PLOT_MAX_RUNS);
}

typedef struct {
    sqlite3_int64 id;
    char label[LABEL_MAX];
} PlotRun;

/* A fixed palette of distinguishable colours (Tableau 10 and more). */
static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
    "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354",
    "#756bb1", "#636363"};

void query_gp_string(FILE *out, const char *s) {
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', out);
        if (*s == '\n' || *s == '\r') continue;
        fputc(*s, out);
    }
    fputc('\'', out);
}

/* Adds the run ids selected by f to runs (after those given).  Returns 0 or
 * -1 with err. */
static int plot_select(sqlite3 *h, const QFilter *f, PlotRun *runs, int *n,
                       char *err) {
    char sql[QUERY_SQL_MAX + 256];
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;
    snprintf(sql, sizeof sql, "SELECT id FROM run_summary WHERE %s "
             "ORDER BY id", f->sql);
    if (query_prepare(h, sql, &st, err)) goto done;
    rc = query_filter_bind(st, f, 1);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        if (*n == PLOT_MAX_RUNS) {
            err_set(err, "more than %d runs selected: narrow the selection "
                         "(e.g. --where \"seed = 0\")", PLOT_MAX_RUNS);
            goto done;
        }
        memset(&runs[*n], 0, sizeof runs[*n]);
        runs[(*n)++].id = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot select runs: %s", sqlite3_errmsg(h));
        goto done;
    }
    ret = 0;
done:
    sqlite3_finalize(st);
    return ret;
}

/* Builds the legend labels ("#3 hidden=300 lr=0.002": every parameter
 * that differs between the runs, config keys included).  Returns 0 or -1
 * with err. */
static int plot_labels(sqlite3 *h, PlotRun *runs, int n, char *err) {
    QRunValues *v = mem_calloc((size_t)n, sizeof *v);
    QParams ps;
    int nv = 0, ret = -1;
    if (!v) return err_set(err, "out of memory");
    for (; nv < n; nv++)
        if (query_run_values(h, runs[nv].id, &v[nv], err)) goto done;
    if (query_params_build(v, n, &ps)) {
        err_set(err, "out of memory");
        goto done;
    }
    for (int r = 0; r < n; r++) {
        size_t len = (size_t)snprintf(runs[r].label, LABEL_MAX, "#%lld",
                                      (long long)runs[r].id);
        for (int k = 0; k < ps.n; k++)
            if (ps.p[k].differ && len + 1 < LABEL_MAX)
                len += (size_t)snprintf(runs[r].label + len, LABEL_MAX - len,
                                        " %s=%s", ps.p[k].name,
                                        ps.p[k].val[r]);
    }
    query_params_free(&ps);
    ret = 0;
done:
    for (int r = 0; r < nv; r++) query_run_values_free(&v[r]);
    mem_free(v);
    return ret;
}

#define PLOT_MAX_METRICS 6

/* The panels: epoch values (qcol_epoch_columns) drawn one per panel. */
typedef struct {
    int n;
    const QEpochColumn *m[PLOT_MAX_METRICS];
} PlotMetrics;

/* Parses --metric M[,M...] into pm.  Returns 0 or -1 with err. */
static int plot_metrics(const char *spec, PlotMetrics *pm, char *err) {
    char name[64];
    pm->n = 0;
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof name)
            return err_set(err, "--metric: expected M[,M...], e.g. --metric "
                                "val_rmse,test_rmse");
        memcpy(name, p, len);
        name[len] = '\0';
        const QEpochColumn *m = qcol_epoch_find(name);
        if (!m || !m->metric) {
            int nc;
            const QEpochColumn *ec = qcol_epoch_columns(&nc);
            char names[256] = "";
            size_t nl = 0;
            for (int i = 0; i < nc; i++)
                if (ec[i].metric)
                    nl += (size_t)snprintf(names + nl, sizeof names - nl,
                                           "%s%s", nl ? ", " : "",
                                           ec[i].name);
            return err_set(err, "--metric: '%s' is not a per-epoch metric "
                                "(use %s)", name, names);
        }
        if (pm->n == PLOT_MAX_METRICS)
            return err_set(err, "--metric: more than %d metrics",
                           PLOT_MAX_METRICS);
        pm->m[pm->n++] = m;
        p += len;
        if (*p == ',') p++;
    }
    if (pm->n == 0) return err_set(err, "--metric: no metric given");
    return 0;
}

/* Checks that some run of runs (n) recorded each metric of pm, in its
 * epochs or refit epochs.  Returns 0, 1 when one is recorded by none (err
 * says which: a usage error), or -1 with err. */
static int plot_metrics_recorded(sqlite3 *h, const PlotRun *runs, int n,
                                 const PlotMetrics *pm, char *err) {
    for (int k = 0; k < pm->n; k++) {
        char sql[256];
        sqlite3_stmt *st = NULL;
        long have = 0;
        const char *m = pm->m[k]->name;
        if (pm->m[k]->refit)
            snprintf(sql, sizeof sql, "SELECT (SELECT count(%s) FROM epochs "
                     "WHERE run_id = ?1) + (SELECT count(%s) FROM "
                     "refit_epochs WHERE run_id = ?1)", m, m);
        else   /* refit_epochs has no validation columns */
            snprintf(sql, sizeof sql, "SELECT count(%s) FROM epochs WHERE "
                     "run_id = ?1", m);
        if (query_prepare(h, sql, &st, err)) return -1;
        for (int r = 0; r < n && !have; r++) {
            int rc = sqlite3_bind_int64(st, 1, runs[r].id);
            if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                have = (long)sqlite3_column_int64(st, 0);
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        if (!have) {
            err_set(err, "--metric %s: none of the %d run%s recorded it (val_"
                         "rmse and val_mae need data.split.validation_ratio): "
                         "choose another metric", pm->m[k]->name, n,
                    n == 1 ? "" : "s");
            return 1;
        }
    }
    return 0;
}

/* Writes datablock $NAME of run id's rows in table (epochs or
 * refit_epochs): the epoch, then each metric of pm ('?' when missing).
 * Returns the number of rows (the largest epoch in *max_epoch), or -1 with
 * err. */
static int plot_block(sqlite3 *h, const char *table, sqlite3_int64 id,
                      const PlotMetrics *pm, const char *name, FILE *out,
                      int *max_epoch, char *err) {
    char b[40];
    int rc, n = 0, nc;
    const QEpochColumn *ec = qcol_epoch_columns(&nc);
    sqlite3_stmt *st = NULL;
    if (query_epoch_stmt(h, table, &st, err)) return -1;
    fprintf(out, "$%s << EOD\n", name);
    rc = sqlite3_bind_int64(st, 1, id);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        int e = sqlite3_column_int(st, 0);
        if (e > *max_epoch) *max_epoch = e;
        fprintf(out, "%d", e);
        for (int k = 0; k < pm->n; k++) {
            const int c = 1 + (int)(pm->m[k] - ec);   /* its column in st */
            fprintf(out, " %s", sqlite3_column_type(st, c) == SQLITE_NULL
                                    ? "?"
                                    : query_real(sqlite3_column_double(st, c),
                                                 b, sizeof b));
        }
        fputc('\n', out);
        n++;
    }
    fputs("EOD\n", out);
    if (rc != SQLITE_DONE)
        n = err_set(err, "cannot read the %s of run %lld: %s", table,
                    (long long)id, sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return n;
}

/* Writes the whole gnuplot script to out: one panel per metric of pm, one
 * colour per run, its refit epochs (train.refit) dashed in the same colour;
 * the picture goes to gnuplot's standard output (query_gnuplot).  Returns
 * the number of runs that have epochs, or -1 with err. */
static int plot_script(sqlite3 *h, const PlotRun *runs, int n, int svg,
                       const char *title, const PlotMetrics *pm, FILE *out,
                       char *err) {
    int with_data = 0, max_epoch = 1, step = 1;
    int has[PLOT_MAX_RUNS] = {0}, has_refit[PLOT_MAX_RUNS] = {0};
    const int width = 600 * (pm->n < 2 ? 2 : pm->n);

    fputs("set encoding utf8\nset datafile missing '?'\n", out);
    if (svg)
        fprintf(out, "set terminal svg size %d,480 dynamic noenhanced "
                "font 'Sans,11' background rgb 'white'\n", width);
    else
        fprintf(out, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                "  set terminal pngcairo size %d,480 noenhanced "
                "font 'Sans,10' background rgb 'white'\n"
                "} else {\n"
                "  set terminal png size %d,480 noenhanced\n"
                "}\n", width, width);
    fputs("set output\n", out);   /* standard output: query_gnuplot's file */
    for (int r = 0; r < n; r++) {
        char name[32];
        snprintf(name, sizeof name, "run%d", r);
        if ((has[r] = plot_block(h, "epochs", runs[r].id, pm, name, out,
                                 &max_epoch, err)) < 0)
            return -1;
        snprintf(name, sizeof name, "refit%d", r);
        if ((has_refit[r] = plot_block(h, "refit_epochs", runs[r].id, pm,
                                       name, out, &max_epoch, err)) < 0)
            return -1;
        with_data += has[r] > 0;
    }
    if (!with_data)
        return err_set(err, "none of the runs has a recorded epoch: nothing "
                            "to plot");
    fprintf(out, "set multiplot layout 1,%d", pm->n);
    if (title) {
        fputs(" title ", out);
        query_gp_string(out, title);
    }
    /* integer epoch tics, at most about 12 of them */
    static const int steps[] = {1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500,
                                1000, 2000, 5000, 10000};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        step = steps[i];
        if (max_epoch / step <= 12) break;
    }
    fprintf(out, "\nset grid\nset xlabel 'epoch'\nset key top right opaque\n"
                 "set border 3\nset tics nomirror\nset xtics %d\n"
                 "set format x '%%.0f'\nset autoscale xfix\n"
                 "set offsets graph 0.02, graph 0.02, graph 0.03, "
                 "graph 0.03\n", step);
    for (int k = 0; k < pm->n; k++) {
        fprintf(out, "set title '%s'\nset ylabel '%s'\nplot ",
                pm->m[k]->heading, pm->m[k]->heading);
        int first = 1;
        for (int r = 0; r < n; r++) {
            const char *colour =
                palette[r % (int)(sizeof palette / sizeof *palette)];
            if (has[r]) {
                fprintf(out, "%s$run%d using 1:%d with linespoints lw 2 pt 7 "
                             "ps 0.6 lc rgb '%s' title ",
                        first ? "" : ", \\\n     ", r, 2 + k, colour);
                query_gp_string(out, runs[r].label);
                first = 0;
            }
            if (has_refit[r] && pm->m[k]->refit) {
                char label[LABEL_MAX + 16];
                snprintf(label, sizeof label, "#%lld refit",
                         (long long)runs[r].id);
                fprintf(out, "%s$refit%d using 1:%d with linespoints lw 2 "
                             "dt 2 pt 6 ps 0.6 lc rgb '%s' title ",
                        first ? "" : ", \\\n     ", r, 2 + k, colour);
                query_gp_string(out, label);
                first = 0;
            }
        }
        if (first) fputs("NaN notitle", out);   /* nothing in this panel */
        fputc('\n', out);
    }
    fputs("unset multiplot\nset output\n", out);
    return with_data;
}

typedef struct {
    sqlite3 *h;
    const PlotRun *runs;
    int n, svg;
    const char *title;
    const PlotMetrics *pm;
} PlotCtx;

/* QPlotScriptFn of the learning curves. */
static int plot_curves_script(void *ctx, FILE *out, char *err) {
    const PlotCtx *c = ctx;
    return plot_script(c->h, c->runs, c->n, c->svg, c->title, c->pm, out,
                       err) < 0 ? -1 : 0;
}

int query_gnuplot(QPlotScriptFn script, void *ctx, const char *path,
                  int out_fd, char *err) {
    const char *gnuplot = getenv("AUTOREC_GNUPLOT");
    int fd[2], status = 0, ret = -1;
    pid_t pid;
    FILE *pipe_out = NULL;

    if (!gnuplot || !*gnuplot) gnuplot = "gnuplot";
    if (pipe(fd) != 0) return err_set(err, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return err_set(err, "fork: %s", strerror(errno));
    }
    if (pid == 0) {   /* child: gnuplot reading the script from the pipe */
        dup2(fd[0], 0);
        dup2(out_fd, 1);
        close(fd[0]);
        close(fd[1]);
        execlp(gnuplot, gnuplot, (char *)NULL);
        _exit(127);
    }
    close(fd[0]);
    pipe_out = fdopen(fd[1], "w");
    if (!pipe_out) {
        close(fd[1]);
        err_set(err, "fdopen: %s", strerror(errno));
    } else if (script(ctx, pipe_out, err) == 0) {
        ret = 0;
    }
    if (pipe_out) fclose(pipe_out);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (ret != 0) return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return err_set(err, "cannot run %s: install gnuplot (Debian: apt-get "
                            "install gnuplot-nox; tools/install_deps.sh does) "
                            "or set AUTOREC_GNUPLOT", gnuplot);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return err_set(err, "%s failed drawing %s (its messages are above)",
                       gnuplot, path);
    return 0;
}

/* Checks that file (the temporary of path) is a non-empty PNG (svg 0) or
 * SVG file.  Returns 0 or -1 with err. */
static int plot_check(const char *file, const char *path, int svg,
                      char *err) {
    unsigned char head[512];
    FILE *f = fopen(file, "rb");
    size_t n = 0;
    if (f) {
        n = fread(head, 1, sizeof head - 1, f);
        fclose(f);
    }
    head[n] = '\0';
    if (!svg && n >= 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8)) return 0;
    if (svg && strstr((const char *)head, "<svg")) return 0;
    return err_set(err, "gnuplot did not write a valid %s to %s",
                   svg ? "SVG" : "PNG", path);
}

int query_plot_write(QPlotScriptFn script, void *ctx, const char *path,
                     int svg, const char *db_path, char *err) {
    OutFile file;
    /* the picture goes to a new file beside path, renamed when gnuplot
     * succeeded and it holds a PNG/SVG: an unwritable directory fails
     * here, before gnuplot runs, and nothing reaches the terminal */
    if (outfile_open(&file, path, 0666, db_path, err)) return -1;
    if (query_gnuplot(script, ctx, path, fileno(file.f), err) ||
        plot_check(file.tmp, path, svg, err)) {
        outfile_abort(&file);
        return -1;
    }
    return outfile_commit(&file, err);
}

int query_plot_main(int argc, char **argv) {
    const char *db_path = CLI_DEFAULT_DB, *path = "curves.png",
               *title = NULL, *metric = "train_loss,test_rmse",
               *search = NULL;
    PlotMetrics pm;
    QSelect sel = {NULL, NULL, NULL, 0, 0};
    PlotRun *runs = NULL;
    QFilter f;
    char err[ERR_MAX];
    sqlite3 *h = NULL;
    sqlite3_int64 ids[PLOT_MAX_RUNS];
    int n = 0, rc = EXIT_USAGE, r, svg;
    QRunArgs args = {"plot", ids, 0, PLOT_MAX_RUNS};
    CliOpt select[QUERY_SELECT_OPTS];
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &db_path},
        {.name = "--output", .alias = "-o", .kind = CLI_TEXT, .dest = &path},
        {.name = "--title", .kind = CLI_TEXT, .dest = &title},
        {.name = "--metric", .kind = CLI_TEXT, .dest = &metric},
        {.name = "--search", .kind = CLI_TEXT, .dest = &search},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "plot", .usage = query_plot_usage, .opts = opts,
                    .more = select, .positional = query_run_arg,
                    .ctx = &args};

    memset(&f, 0, sizeof f);
    query_select_opts(&sel, select);
    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    cli_signals(CLI_SIGNALS_PIPE);   /* gnuplot may stop reading early */
    runs = mem_calloc(PLOT_MAX_RUNS, sizeof *runs);
    if (!runs) {
        fprintf(stderr, "autorec plot: out of memory\n");
        return EXIT_FAILED;
    }
    for (n = 0; n < args.n; n++) runs[n].id = ids[n];
    size_t plen = strlen(path);
    if (plen > 4 && !strcasecmp(path + plen - 4, ".svg")) svg = 1;
    else if (plen > 4 && !strcasecmp(path + plen - 4, ".png")) svg = 0;
    else {
        err_set(err, "-o %s: the file name must end in .png or .svg", path);
        goto fail;
    }
    if (search) {   /* a search's trials (query_search.c) */
        if (n || sel.experiment || sel.where || sel.status) {
            err_set(err, "--search draws one search's trials: give no RUN "
                         "ids, --experiment, --where or --status with it");
            goto fail;
        }
        rc = EXIT_FAILED;
        if (db_open_query(&h, db_path, err) ||
            query_plot_search(h, search, svg, path, title, db_path, err))
            goto fail;
        printf("wrote %s: the trials of search %s\n", path, search);
        rc = EXIT_OK;
        goto out;
    }
    if (plot_metrics(metric, &pm, err) || query_filter_build(&f, &sel, err))
        goto fail;
    if (n == 0 && f.len == 0 && !sel.experiment) {
        err_set(err, "give RUN ids, or select runs with --experiment, "
                     "--where or --status (e.g. autorec plot 3 7 -o "
                     "curves.png)");
        goto fail;
    }
    rc = EXIT_FAILED;
    if (db_open_query(&h, db_path, err)) goto fail;
    if ((r = query_filter_experiment(h, &f, &sel, err)) != 0) {
        if (r > 0) rc = EXIT_USAGE;
        goto fail;
    }
    if (f.len && plot_select(h, &f, runs, &n, err)) goto fail;
    if (n == 0) {
        err_set(err, "no runs match in %s", db_path);
        goto fail;
    }
    if ((r = plot_metrics_recorded(h, runs, n, &pm, err)) != 0) {
        if (r > 0) rc = EXIT_USAGE;
        goto fail;
    }
    PlotCtx pc = {h, runs, n, svg, title, &pm};
    if (plot_labels(h, runs, n, err) ||
        query_plot_write(plot_curves_script, &pc, path, svg, db_path, err))
        goto fail;
    printf("wrote %s: learning curves of %d run%s\n", path, n,
           n == 1 ? "" : "s");
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec plot: %s\n", err);
out:
    query_filter_free(&f);
    sqlite3_close(h);
    mem_free(runs);
    return rc;
}

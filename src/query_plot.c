/* query_plot.c - `autorec plot`: learning curves (train loss and test RMSE
 * per epoch, one colour per run) drawn by gnuplot into a PNG or SVG file.
 *
 * The gnuplot script, data included as datablocks, goes to gnuplot's stdin
 * through a pipe (fork + execvp, no shell).  Text from the database (run
 * names) only appears inside single-quoted gnuplot strings, escaped. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "err.h"
#include "mem.h"
#include "outfile.h"
#include "query.h"
#include "run.h"

#define PLOT_MAX_RUNS 20
#define LABEL_MAX 256

void query_plot_usage(FILE *f) {
    fprintf(f,
"usage: autorec plot [RUN...] [-o FILE] [--experiment E] [--where FILTER]\n"
"                    [--status S] [--title TEXT] [--db PATH]\n"
"\n"
"Draws the learning curves of runs, as the reference notebook's animator:\n"
"train loss (left) and test RMSE (right) against the epoch, one colour per\n"
"run, the legend naming each run and the parameters that differ.  The runs\n"
"are the RUN ids given, or those selected by --experiment/--where/--status\n"
"(at most %d).  Needs gnuplot (Debian: gnuplot-nox; AUTOREC_GNUPLOT names\n"
"another binary).\n"
"\n"
"options:\n"
"  -o FILE       output, .png (default curves.png) or .svg\n"
"  --title TEXT  title above the two panels\n"
"  --db PATH     results database (default " QUERY_DEFAULT_DB ")\n",
            PLOT_MAX_RUNS);
}

typedef struct {
    sqlite3_int64 id;
    char params[16][64];   /* the param keys' values */
    char label[LABEL_MAX];
} PlotRun;

/* A fixed palette of distinguishable colours (Tableau 10 and more). */
static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
    "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354",
    "#756bb1", "#636363"};

/* Writes s as a single-quoted gnuplot string (' doubled). */
static void gp_string(FILE *out, const char *s) {
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

/* Reads each run's parameters and builds the legend labels ("#3
 * hidden=300 lr=0.002": the parameters that differ between the runs).
 * Returns 0 or -1 with err. */
static int plot_labels(sqlite3 *h, PlotRun *runs, int n, char *err) {
    int np, rc, ret = -1;
    const QKey *pk = query_param_keys(&np);
    char sql[1024];
    size_t len;
    sqlite3_stmt *st = NULL;

    if (np > 16) np = 16;
    len = (size_t)snprintf(sql, sizeof sql, "SELECT 1");
    for (int k = 0; k < np; k++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s",
                                pk[k].column);
    snprintf(sql + len, sizeof sql - len, " FROM run_summary WHERE id = ?1");
    if (query_prepare(h, sql, &st, err)) goto done;
    for (int r = 0; r < n; r++) {
        rc = sqlite3_bind_int64(st, 1, runs[r].id);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            err_set(err, "no run %lld in %s (see autorec ls)",
                    (long long)runs[r].id, sqlite3_db_filename(h, "main"));
            goto done;
        }
        if (rc != SQLITE_ROW) {
            err_set(err, "cannot read run %lld: %s", (long long)runs[r].id,
                    sqlite3_errmsg(h));
            goto done;
        }
        for (int k = 0; k < np; k++)
            query_col(st, 1 + k, "%g", runs[r].params[k], 64);
        sqlite3_reset(st);
    }
    for (int r = 0; r < n; r++) {
        len = (size_t)snprintf(runs[r].label, LABEL_MAX, "#%lld",
                               (long long)runs[r].id);
        for (int k = 0; k < np; k++) {
            int differ = 0;
            for (int o = 0; o < n; o++)
                differ |= strcmp(runs[o].params[k], runs[r].params[k]) != 0;
            if (differ && len + 1 < LABEL_MAX)
                len += (size_t)snprintf(runs[r].label + len, LABEL_MAX - len,
                                        " %s=%s", pk[k].name,
                                        runs[r].params[k]);
        }
    }
    ret = 0;
done:
    sqlite3_finalize(st);
    return ret;
}

/* Writes the whole gnuplot script to out; the picture goes to gnuplot's
 * standard output.  Returns the number of runs that have epochs, or -1
 * with err. */
static int plot_script(sqlite3 *h, const PlotRun *runs, int n, int svg,
                       const char *title, FILE *out, char *err) {
    sqlite3_stmt *st = NULL;
    int rc, ret = -1, with_data = 0, max_epoch = 1, step = 1;
    int has[PLOT_MAX_RUNS] = {0};
    char b1[40], b2[40];

    fputs("set encoding utf8\n", out);
    if (svg)
        fputs("set terminal svg size 1200,480 dynamic noenhanced "
              "font 'Sans,11' background rgb 'white'\n", out);
    else
        fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
              "  set terminal pngcairo size 1200,480 noenhanced "
              "font 'Sans,10' background rgb 'white'\n"
              "} else {\n"
              "  set terminal png size 1200,480 noenhanced\n"
              "}\n", out);
    fputs("set output\n", out);   /* standard output: the file plot_run gave */
    if (query_prepare(h, "SELECT epoch, train_loss, test_rmse FROM epochs "
                         "WHERE run_id = ?1 ORDER BY epoch", &st, err))
        goto done;
    for (int r = 0; r < n; r++) {
        fprintf(out, "$run%d << EOD\n", r);
        rc = sqlite3_bind_int64(st, 1, runs[r].id);
        while ((rc = query_step(st, rc)) == SQLITE_ROW) {
            if (sqlite3_column_int(st, 0) > max_epoch)
                max_epoch = sqlite3_column_int(st, 0);
            fprintf(out, "%d %s %s\n", sqlite3_column_int(st, 0),
                    query_real(sqlite3_column_double(st, 1), b1, sizeof b1),
                    query_real(sqlite3_column_double(st, 2), b2, sizeof b2));
            has[r] = 1;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            err_set(err, "cannot read the epochs of run %lld: %s",
                    (long long)runs[r].id, sqlite3_errmsg(h));
            goto done;
        }
        fputs("EOD\n", out);
        with_data += has[r];
    }
    if (!with_data) {
        err_set(err, "none of the runs has a recorded epoch: nothing to plot");
        goto done;
    }
    fputs("set multiplot layout 1,2", out);
    if (title) {
        fputs(" title ", out);
        gp_string(out, title);
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
    for (int panel = 0; panel < 2; panel++) {
        fprintf(out, "set title '%s'\nset ylabel '%s'\nplot ",
                panel ? "test RMSE" : "train loss",
                panel ? "test RMSE" : "train loss");
        int first = 1;
        for (int r = 0; r < n; r++) {
            if (!has[r]) continue;
            fprintf(out, "%s$run%d using 1:%d with linespoints lw 2 pt 7 "
                         "ps 0.6 lc rgb '%s' title ",
                    first ? "" : ", \\\n     ", r, panel ? 3 : 2,
                    palette[r % (int)(sizeof palette / sizeof *palette)]);
            gp_string(out, runs[r].label);
            first = 0;
        }
        fputc('\n', out);
    }
    fputs("unset multiplot\nset output\n", out);
    ret = with_data;
done:
    sqlite3_finalize(st);
    return ret;
}

/* Runs gnuplot with the script on its stdin and its stdout on out_fd (the
 * temporary of the picture: nothing reaches the terminal, even when
 * gnuplot fails); its messages go to stderr.  path names the picture in
 * messages.  Returns 0 or -1 with err. */
static int plot_run(sqlite3 *h, const PlotRun *runs, int n, int svg,
                    const char *path, int out_fd, const char *title,
                    char *err) {
    const char *gnuplot = getenv("AUTOREC_GNUPLOT");
    int fd[2], status = 0, ret = -1;
    pid_t pid;
    FILE *pipe_out = NULL;
    void (*old_pipe)(int);

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
    old_pipe = signal(SIGPIPE, SIG_IGN);   /* gnuplot may exit early */
    pipe_out = fdopen(fd[1], "w");
    if (!pipe_out) {
        close(fd[1]);
        err_set(err, "fdopen: %s", strerror(errno));
    } else if (plot_script(h, runs, n, svg, title, pipe_out, err) >= 0) {
        ret = 0;
    }
    if (pipe_out) fclose(pipe_out);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    signal(SIGPIPE, old_pipe);
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

/* Checks that file (the temporary of path) is a non-empty PNG or SVG
 * file.  Returns 0 or -1. */
static int plot_check(const char *file, const char *path, int svg, char *err) {
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

int query_plot_main(int argc, char **argv) {
    const char *db_path = QUERY_DEFAULT_DB, *path = "curves.png",
               *title = NULL;
    QSelect sel = {NULL, NULL, NULL};
    PlotRun *runs = NULL;
    QFilter f;
    char err[ERR_MAX];
    sqlite3 *h = NULL;
    OutFile file;
    int n = 0, rc = EXIT_USAGE, r, svg;

    memset(&f, 0, sizeof f);
    memset(&file, 0, sizeof file);
    runs = mem_calloc(PLOT_MAX_RUNS, sizeof *runs);
    if (!runs) {
        fprintf(stderr, "autorec plot: out of memory\n");
        return EXIT_FAILED;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            query_plot_usage(stdout);
            mem_free(runs);
            return EXIT_OK;
        }
        if ((r = query_opt_db(argc, argv, &i, &db_path, "plot")) ||
            (r = query_opt(argc, argv, &i, "-o", &path, "plot")) ||
            (r = query_opt(argc, argv, &i, "--output", &path, "plot")) ||
            (r = query_opt(argc, argv, &i, "--title", &title, "plot")) ||
            (r = query_opt(argc, argv, &i, "--status", &sel.status, "plot")) ||
            (r = query_opt(argc, argv, &i, "--experiment", &sel.experiment,
                           "plot")) ||
            (r = query_opt(argc, argv, &i, "--where", &sel.where, "plot"))) {
            if (r < 0) goto out;
            continue;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "autorec plot: unknown option '%s' (see autorec "
                            "plot --help)\n", argv[i]);
            goto out;
        }
        if (n == PLOT_MAX_RUNS) {
            fprintf(stderr, "autorec plot: more than %d runs\n", PLOT_MAX_RUNS);
            goto out;
        }
        if (query_run_id(argv[i], &runs[n++].id, err)) goto fail;
    }
    size_t plen = strlen(path);
    if (plen > 4 && !strcasecmp(path + plen - 4, ".svg")) svg = 1;
    else if (plen > 4 && !strcasecmp(path + plen - 4, ".png")) svg = 0;
    else {
        err_set(err, "-o %s: the file name must end in .png or .svg", path);
        goto fail;
    }
    if (query_filter_build(&f, &sel, err)) goto fail;
    if (n == 0 && f.len == 0) {
        err_set(err, "give RUN ids, or select runs with --experiment, "
                     "--where or --status (e.g. autorec plot 3 7 -o "
                     "curves.png)");
        goto fail;
    }
    rc = EXIT_FAILED;
    if (db_open_query(&h, db_path, err)) goto fail;
    if (f.len && plot_select(h, &f, runs, &n, err)) goto fail;
    if (n == 0) {
        err_set(err, "no runs match in %s", db_path);
        goto fail;
    }
    /* the picture goes to a new file beside path, renamed when gnuplot
     * succeeded and it holds a PNG/SVG: an unwritable directory fails
     * here, before gnuplot runs */
    if (outfile_open(&file, path, 0666, db_path, err)) goto fail;
    if (plot_labels(h, runs, n, err) ||
        plot_run(h, runs, n, svg, path, fileno(file.f), title, err) ||
        plot_check(file.tmp, path, svg, err) || outfile_commit(&file, err))
        goto fail;
    printf("wrote %s: learning curves of %d run%s\n", path, n,
           n == 1 ? "" : "s");
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec plot: %s\n", err);
out:
    outfile_abort(&file);
    query_filter_free(&f);
    sqlite3_close(h);
    mem_free(runs);
    return rc;
}

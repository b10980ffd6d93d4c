/* grid.c - `autorec grid`: runs a plan (grid_plan.h): registers its points
 * in the results database, forks the workers (grid_worker.c) and watches
 * them: progress on stderr, a dead worker's point released at once and a
 * replacement started, stop signals forwarded, and at the end the summary
 * table (grid_progress.c).
 *
 * Everything user input can make fail (config, grid values, thread
 * budget, data path) is checked before the database is opened.  No SQLite
 * connection is ever open across a fork.
 *
 * Global mutable state: stop_signal (stop.h), set by the parent's stop-signal
 * handler (a handler can only communicate through a global). */
#include "grid.h"

#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "grid_progress.h"
#include "grid_worker.h"
#include "mem.h"
#include "query.h"
#include "stop.h"

/* the range of --stale-after, AUTOREC_STALE_SECONDS and
 * AUTOREC_PROGRESS_SECONDS */
#define GRID_SECONDS_MIN 0.5
#define GRID_SECONDS_MAX 86400.0

void grid_usage(FILE *f) {
    fprintf(f,
"usage: autorec grid CONFIG [--workers N] [--threads T] [--dry-run] [--db PATH]\n"
"                    [--set KEY=VALUE]... [--stale-after SECONDS] [--point N]\n"
"                    [KEY=VALUE]... [--]\n"
"\n"
"Runs every point of the grid: in CONFIG, e.g.\n"
"  grid:\n"
"    model.hidden: [100, 300, 500]\n"
"    train.lr: [0.001, 0.002, 0.005]\n"
"(the cartesian product of the lists; any config key may be an axis).\n"
"Each point is one run row, with the experiment id and its config hash.\n"
"With data.split.repeats: K (or data.split.kind: folds, K = 5) each\n"
"configuration runs its K splits: an implicit last axis data.split.index,\n"
"and their mean, sd and 95%% t interval go to split_summaries.\n"
"A search samples instead (search.sampler: random | sobol, search.trials:\n"
"N) from lists or distributions such as train.lr: {log_uniform: [1e-4,\n"
"1e-2]}, model.hidden: {int: [100, 700]}; search.pruner: median | asha stops\n"
"trials whose validation RMSE is not promising (status pruned).  See\n"
"configs/search-ml100k.yaml and docs/search.md.\n"
"Running the same grid again resumes it: finished, diverged and pruned\n"
"points are kept; missing, failed, interrupted and stale ones (a worker\n"
"that stopped sending heartbeats) are run.  Several `autorec grid`\n"
"processes may share one database: every point is claimed atomically, so\n"
"none runs twice.\n"
"\n"
"options:\n"
"  --workers N          points trained at once (processes; default 1)\n"
"  --threads T          OpenMP threads per worker (default cores / N);\n"
"                       N x T may not exceed the cores\n"
"  --dry-run            list the points (and their state in the database)\n"
"                       without running anything\n"
"  --db PATH            results database (default " CLI_DEFAULT_DB ")\n"
"  --set KEY=VALUE      override a base config key (repeatable; also as a\n"
"                       bare KEY=VALUE argument).  On a key that is a grid\n"
"                       axis it replaces the axis by that one value;\n"
"                       grid.KEY=[V1,V2,...] sets (or adds) the axis over\n"
"                       KEY, e.g. grid.model.hidden=[100,300]: the\n"
"                       experiment id follows what runs\n"
"  --                   ends the options (CONFIG may then start with '-')\n"
"  --point N            run only grid point N (0-based, as in the runs\n"
"                       table's grid_point): what each task of `autorec\n"
"                       slurm` runs; exit status from that point's run\n"
"  --stop-at-epoch E    stop every run after epoch E, recorded as interrupted\n"
"                       with the reason (rerunning resumes it from the\n"
"                       start): one rung of the chain autorec slurm runs\n"
"                       for search.pruner: asha\n"
"  --stale-after S      a running point whose worker sent no heartbeat for S\n"
"                       seconds is taken over (default %g; also\n"
"                       AUTOREC_STALE_SECONDS)\n"
"\n"
"Progress goes to stderr: on a terminal a live block (one line per running\n"
"point, workers labelled w1, w2, ...); off a terminal, or with TERM=dumb or\n"
"NO_COLOR, plain lines without escapes: one per settled point, and a status\n"
"line every AUTOREC_PROGRESS_SECONDS (default %g) when none settled.  The\n"
"summary table, sorted by each run's result test RMSE (refit, else\n"
"validation-selected, else last epoch), is printed at the end.\n"
"exit status: 0 every point finished or diverged, 1 some point failed or a\n"
"worker could not reach the database, 2 bad usage, config or grid (nothing\n"
"ran), 128 + N interrupted by signal N: 130 SIGINT, 143 SIGTERM, 129 SIGHUP,\n"
"... (rerun the same command to resume).\n",
            (double)DB_STALE_SECONDS, GRID_PROGRESS_EVERY);
}

/* ------------------------------------------------------------ options -- */

int grid_options_init(GridOptions *o) {
    memset(o, 0, sizeof *o);
    o->db_path = CLI_DEFAULT_DB;
    o->workers = 1;
    o->point = -1;
    o->stale = DB_STALE_SECONDS;
    o->progress_every = GRID_PROGRESS_EVERY;
    if (cli_env_seconds("grid", "AUTOREC_STALE_SECONDS", GRID_SECONDS_MIN,
                        GRID_SECONDS_MAX, &o->stale) ||
        cli_env_seconds("grid", "AUTOREC_PROGRESS_SECONDS", GRID_SECONDS_MIN,
                        GRID_SECONDS_MAX, &o->progress_every))
        return -1;
    return 0;
}

/* The command line of `autorec grid`. */
typedef struct {
    CliConfig in;          /* CONFIG and its overrides */
    GridOptions o;
} GridArgs;

/* Parses the command line; returns -1 (printed) on bad usage, 1 for --help
 * (printed), 0 otherwise. */
static int grid_parse(int argc, char **argv, GridArgs *a) {
    int r;
    memset(a, 0, sizeof *a);
    if (grid_options_init(&a->o)) return -1;
    GridOptions *o = &a->o;
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &o->db_path},
        {.name = "--set", .kind = CLI_SET, .dest = &a->in},
        {.name = "--dry-run", .kind = CLI_FLAG, .dest = &o->dry_run},
        {.name = "--workers", .kind = CLI_INT, .dest = &o->workers, .min = 1,
         .max = GRID_MAX_WORKERS},
        {.name = "--threads", .kind = CLI_INT, .dest = &o->threads, .min = 1,
         .max = 4096},
        {.name = "--point", .kind = CLI_LLONG, .dest = &o->point, .min = 0,
         .max = CFG_GRID_MAX_POINTS - 1},
        {.name = "--stop-at-epoch", .kind = CLI_INT, .dest = &o->stop_epoch,
         .min = 1, .max = 1000000},
        {.name = "--stale-after", .kind = CLI_SECONDS, .dest = &o->stale,
         .lo = GRID_SECONDS_MIN, .hi = GRID_SECONDS_MAX},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "grid", .usage = grid_usage, .opts = opts,
                    .config = &a->in,
                    .missing = "CONFIG (e.g. autorec grid "
                               "configs/grid-ml100k.yaml)"};
    if ((r = cli_parse(&spec, argc, argv))) return r;
    if (o->point >= 0) o->workers = 1;   /* one point: one worker */
    return 0;
}

/* ------------------------------------------------------------ running -- */

/* Lists the points, with their state in the database when it exists.
 * Returns an exit code. */
static int grid_dry_run(const GridPlan *p, const GridOptions *a, int threads) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char err[ERR_MAX], b[64];
    struct stat sb;
    QTable t;
    int na = p->grid.naxes, rc = EXIT_OK;

    if (stat(a->db_path, &sb) == 0 && db_open_query(&h, a->db_path, err)) {
        fprintf(stderr, "autorec grid: %s\n", err);
        return EXIT_FAILED;
    }
    if (h && query_prepare(h, "SELECT r.id, r.status, r.config_hash IS NOT "
                              "?3 FROM runs r WHERE r.experiment = ?1 AND "
                              "r.grid_point = ?2", &st, err)) {
        fprintf(stderr, "autorec grid: %s\n", err);
        sqlite3_close(h);
        return EXIT_FAILED;
    }
    printf("grid %s: %zu point%s (%s), %d worker%s x %d thread%s, database %s\n",
           p->experiment, p->n, p->n == 1 ? "" : "s",
           na ? p->axes : "no axes", a->workers, a->workers == 1 ? "" : "s",
           threads, threads == 1 ? "" : "s", a->db_path);
    qt_init(&t, na + 3);
    qt_head(&t, 0, "point", 1);
    for (int k = 0; k < na; k++) {
        const char *key = p->grid.axes[k].key, *dot = strrchr(key, '.');
        qt_head(&t, 1 + k, dot ? dot + 1 : key, 0);
    }
    qt_head(&t, na + 1, "config hash", 0);
    qt_head(&t, na + 2, "state", 0);
    for (size_t i = 0; i < p->n; i++) {
        qt_row(&t);
        qt_set(&t, 0, "%zu/%zu", i + 1, p->n);
        for (int k = 0; k < na; k++)
            qt_set(&t, 1 + k, "%s",
                   p->grid.axes[k].values[grid_plan_value(p, i, k)]);
        qt_set(&t, na + 1, "%s", p->hashes[i]);
        const char *state = "to run";
        if (st) {
            sqlite3_bind_text(st, 1, p->experiment, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
            sqlite3_bind_text(st, 3, p->hashes[i], -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW) {
                snprintf(b, sizeof b, "%s (run %lld)%s",
                         (const char *)sqlite3_column_text(st, 1),
                         sqlite3_column_int64(st, 0),
                         sqlite3_column_int(st, 2) ? ", outdated" : "");
                state = b;
            }
            sqlite3_reset(st);
        }
        qt_set(&t, na + 2, "%s", state);
    }
    if (qt_print(&t, stdout)) {
        fprintf(stderr, "autorec grid: out of memory\n");
        rc = EXIT_FAILED;
    }
    qt_free(&t);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return rc;
}

static double grid_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Forks one worker.  Returns its pid, or -1 (printed). */
static pid_t grid_spawn(const GridWorkerArgs *wa) {
    sigset_t block, old;
    stop_signal_set(&block);
    /* the child installs its own handlers before it sees these signals */
    sigprocmask(SIG_BLOCK, &block, &old);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        stop_default();
        sigprocmask(SIG_SETMASK, &old, NULL);
        int code = grid_worker_run(wa);
        fflush(NULL);
        _exit(code);
    }
    int e = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        fprintf(stderr, "autorec grid: cannot start a worker: %s\n",
                strerror(e));
    return pid;
}

/* Marks the runs of a dead worker stale at once.  Returns the number of
 * runs released, or -1 (printed). */
static int grid_release(const char *db_path, pid_t pid, unsigned tag) {
    Db *db = NULL;
    char err[ERR_MAX], id[512];
    int n = -1;
    grid_worker_id(id, sizeof id, pid, tag);
    if (db_open(&db, db_path, err) == 0) n = db_worker_lost(db, id, err);
    if (n < 0) fprintf(stderr, "autorec grid: %s\n", err);
    db_close(db);
    return n;
}

/* The OpenMP threads of each worker of o on this machine (--threads, else
 * cores / workers), after checking that workers x the most any point uses
 * fits the cores.  Returns them, or -1 with err. */
static int grid_budget(const GridPlan *p, const GridOptions *o, char *err) {
    int cores = omp_get_num_procs();
    int threads = o->threads ? o->threads : cores / o->workers;
    if (threads < 1) threads = 1;
    int most = grid_plan_threads(p, threads, cores, err);
    if (most < 0) return -1;
    if (o->workers * most > cores)
        return err_set(err, "%d worker%s x %d thread%s = %d threads exceed "
                       "the %d cores: lower --workers%s", o->workers,
                       o->workers == 1 ? "" : "s", most, most == 1 ? "" : "s",
                       o->workers * most, cores,
                       p->threads_axis ? " or the train.threads values"
                                       : " or --threads");
    return threads;
}

/* Registers p's experiment and points in db_path (points never run show
 * as "not run").  Returns 0 or -1 with err. */
static int grid_register(const GridPlan *p, const char *db_path, char *err) {
    Db *db = NULL;
    DbExperiment x = {p->experiment, p->base.name, p->axes, p->yaml,
                      (int64_t)p->n, (const char *const *)p->hashes,
                      (const char *const *)p->params};
    int rc = db_open(&db, db_path, err);
    if (rc == 0) {
        db_report_created(db, "grid");
        rc = db_experiment_register(db, &x, err);
    }
    db_close(db);   /* never across a fork */
    return rc;
}

/* Starts the workers of wa (o->workers of them) into pids and watches them
 * until all have ended: progress on stderr, stop signals forwarded, a
 * worker killed from outside replaced (a bounded number of times).
 * Returns the number of workers that failed (or could not be replaced),
 * or -1 when none could be started (printed). */
static int grid_watch(const GridPlan *p, const GridOptions *o,
                      const GridWorkerArgs *wa, double session_start) {
    pid_t pids[GRID_MAX_WORKERS];
    GridProgress prog;
    int alive = 0, forwarded = 0, respawns = 0, failures = 0;
    const int mode = grid_progress_mode(), one = o->point >= 0;
    double last_draw = 0;

    memset(&prog, 0, sizeof prog);
    prog.started = prog.last_line = grid_monotonic();
    prog.workers = o->workers;
    prog.pids = pids;
    prog.since = session_start;
    prog.every = o->progress_every;
    for (int w = 0; w < o->workers; w++) {
        pids[w] = grid_spawn(wa);
        if (pids[w] > 0) alive++;
    }
    if (alive == 0) return -1;
    while (alive > 0) {
        int status;
        pid_t pid;
        if (stop_signal && !forwarded) {
            for (int w = 0; w < o->workers; w++)
                if (pids[w] > 0) kill(pids[w], stop_signal);
            forwarded = 1;
        }
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            int w = 0;
            while (w < o->workers && pids[w] != pid) w++;
            if (w == o->workers) continue;
            pids[w] = -1;
            alive--;
            if (WIFSIGNALED(status) && !stop_signal) {
                /* killed from outside (kill -9, OOM killer): release its
                 * point for takeover and start a replacement */
                grid_progress_end(&prog);   /* no connection across fork */
                int n = grid_release(o->db_path, pid, wa->tag);
                fprintf(stderr, "autorec grid: worker %ld died (signal %d); "
                                "%s\n", (long)pid, WTERMSIG(status),
                        n > 0 ? "its point is released for takeover"
                              : "it held no point");
                if (respawns < 2 * o->workers + 2) {
                    respawns++;
                    if ((pids[w] = grid_spawn(wa)) > 0) alive++;
                } else {
                    failures++;
                    fprintf(stderr, "autorec grid: too many workers died; "
                                    "not starting another\n");
                }
            } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
                       !(stop_signal && WEXITSTATUS(status) == 128 + stop_signal)) {
                failures++;
            }
        }
        if (pid < 0 && errno == ECHILD) break;
        double now = grid_monotonic();
        if (!stop_signal && !one && now - last_draw >= 0.5) {
            if (mode == GRID_PROGRESS_LIVE)
                grid_progress_draw(&prog, p, o->db_path);
            else
                grid_progress_lines(&prog, p, o->db_path);
            last_draw = now;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (mode == GRID_PROGRESS_PLAIN && !one)   /* the last points */
        grid_progress_lines(&prog, p, o->db_path);
    grid_progress_end(&prog);
    mem_free(prog.seen);
    return failures;
}

/* Prints how the run ended: the summary table, or with o->point that
 * point's line.  Returns the exit status, failures counting as failed. */
static int grid_report(const GridPlan *p, const GridOptions *o,
                       int failures) {
    char err[ERR_MAX];
    int complete = 0;
    if (o->point >= 0) {   /* one point: its line, its status as exit code */
        int st = EXIT_FAILED;
        if (grid_point_report(p, o->db_path, o->point, stdout, &st, err))
            fprintf(stderr, "autorec grid: %s\n", err);
        /* a run paused at --stop-at-epoch did what was asked */
        if (o->stop_epoch && st == EXIT_SIGTERM && !stop_signal) st = EXIT_OK;
        complete = st == EXIT_OK;
    } else if (grid_summary_print(p, o->db_path, stdout, &complete, err)) {
        fprintf(stderr, "autorec grid: %s\n", err);
        complete = 0;
    }
    if (stop_signal) {
        fprintf(stderr, "autorec grid: interrupted by %s; run the same command "
                        "again to resume\n", stop_signal_name(stop_signal));
        return 128 + stop_signal;   /* 130 SIGINT, 143 SIGTERM, 129 SIGHUP, ... */
    }
    return complete && !failures ? EXIT_OK : EXIT_FAILED;
}

int grid_run(const GridPlan *p, const GridOptions *o) {
    char err[ERR_MAX];
    int threads = grid_budget(p, o, err);
    if (threads < 0) {
        fprintf(stderr, "autorec grid: %s\n", err);
        return EXIT_USAGE;
    }
    if (o->dry_run) return grid_dry_run(p, o, threads);

    /* from here on failures are runtime failures */
    double session_start = db_unix_now();
    if (grid_register(p, o->db_path, err)) {
        fprintf(stderr, "autorec grid: %s\n", err);
        return EXIT_FAILED;
    }
    const int one = o->point >= 0;
    unsigned tag = (unsigned)(((unsigned long)getpid() * 2654435761UL) ^
                              (unsigned long)(session_start * 1000)) & 0xffff;
    GridWorkerArgs wa = {p, o->db_path, threads, o->stale, session_start,
                         tag, getpid(), one ? o->point : 0,
                         one ? o->point + 1 : 0, o->stop_epoch};

    cli_signals(CLI_SIGNALS_STOP);   /* stop, and resume later */
    if (!one)
        fprintf(stderr, "grid %s: %zu points, %d worker%s x %d thread%s, "
                        "results in %s\n", p->experiment, p->n, o->workers,
                o->workers == 1 ? "" : "s", threads, threads == 1 ? "" : "s",
                o->db_path);
    int failures = grid_watch(p, o, &wa, session_start);
    if (failures < 0) return EXIT_FAILED;
    return grid_report(p, o, failures);
}

int grid_main(int argc, char **argv) {
    GridArgs a;
    GridPlan plan;
    char err[ERR_MAX];
    int rc = EXIT_USAGE;

    memset(&plan, 0, sizeof plan);
    int pa = grid_parse(argc, argv, &a);
    if (pa) return cli_parse_status(pa);
    if (grid_load(a.in.config, a.in.sets, a.in.n_sets, &plan, err))
        fprintf(stderr, "autorec: %s\n", err);
    else if (a.o.point >= (long long)plan.n)
        fprintf(stderr, "autorec grid: --point %lld: the grid has %zu "
                        "points (0..%zu)\n", a.o.point, plan.n, plan.n - 1);
    else
        rc = grid_run(&plan, &a.o);
    grid_plan_free(&plan);
    return rc;
}

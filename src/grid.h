/* grid.h - `autorec grid`: runs (or resumes) the points of a grid search,
 * with parallel workers that cooperate through the results database.
 *
 *   grid.c           the command: options, thread budget, workers, summary
 *   grid_plan.c      the plan: config + grid -> points, hashes, experiment
 *   grid_worker.c    one worker process: claim a point, train it, repeat;
 *                    a heartbeat thread keeps its claim fresh
 *   grid_progress.c  the live progress lines and the final summary table
 *
 * `autorec run` runs the splits of a repeats/folds config through
 * grid_run, as a grid of one configuration. */
#ifndef AUTOREC_GRID_H
#define AUTOREC_GRID_H

#include <stdio.h>

#include "grid_plan.h"

#define GRID_MAX_WORKERS 256

/* How grid_run runs a plan (the options of `autorec grid`). */
typedef struct {
    const char *db_path;   /* results database */
    int workers;           /* worker processes, 1..GRID_MAX_WORKERS */
    int threads;           /* OpenMP threads per worker; 0: cores / workers */
    int dry_run;           /* list the points and their state only */
    double stale;          /* a running point silent for this many seconds
                              is taken over */
    long long point;       /* run only this point (one worker); -1: all */
    int stop_epoch;        /* > 0: stop every run after this epoch, as
                              interrupted (--stop-at-epoch) */
    double progress_every; /* plain progress: a status line at least this
                              often (seconds) */
} GridOptions;

/* Sets o to the defaults: CLI_DEFAULT_DB, 1 worker, threads 0, every
 * point, stale after AUTOREC_STALE_SECONDS (else DB_STALE_SECONDS), a
 * status line every AUTOREC_PROGRESS_SECONDS (else GRID_PROGRESS_EVERY).
 * Returns 0, or -1 (a bad environment value, the message printed). */
int grid_options_init(GridOptions *o);

/* Runs plan p as o says: checks the thread budget (workers x threads
 * within the cores), registers the experiment and its points in
 * o->db_path, forks the workers, shows progress on stderr, forwards stop
 * signals, replaces a killed worker, and prints the summary (or, with
 * o->point, that point's line) on stdout.  Returns the exit status of
 * `autorec grid` (see grid_usage). */
int grid_run(const GridPlan *p, const GridOptions *o);

/* `autorec grid CONFIG [options]`; argv[0] is "grid".  Returns the exit
 * status. */
int grid_main(int argc, char **argv);
void grid_usage(FILE *f);

#endif

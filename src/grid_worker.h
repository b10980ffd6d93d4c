/* grid_worker.h - one worker process of `autorec grid`: claims a point of
 * the plan in the results database, trains it, repeats (grid_worker.c). */
#ifndef AUTOREC_GRID_WORKER_H
#define AUTOREC_GRID_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "grid_plan.h"

typedef struct {
    const GridPlan *plan;
    const char *db_path;
    int threads;            /* per worker */
    double stale_seconds;
    double session_start;   /* unix time the grid command started */
    unsigned tag;           /* of this grid command's worker ids */
    pid_t parent;
    int64_t first, end;     /* points [first, end) only; end 0: all */
    int stop_epoch;         /* > 0: stop each run after this epoch, as
                               interrupted (a rung of an autorec slurm
                               chain: --stop-at-epoch) */
} GridWorkerArgs;

/* Runs one worker in the current (forked) process until no point is left
 * or a stop signal arrives; never returns to the caller's logic (the
 * caller _exits with the result).  Returns the exit code: 0, 1 (database
 * failure), 128 + the signal that stopped it (SIGINT, SIGTERM, SIGHUP,
 * ...). */
int grid_worker_run(const GridWorkerArgs *a);

/* "host:pid/tag" into out (size n): the id of a worker process. */
void grid_worker_id(char *out, size_t n, pid_t pid, unsigned tag);

#endif

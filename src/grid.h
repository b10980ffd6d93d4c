/* grid.h - `autorec grid`: grid searches that resume, with parallel
 * workers that cooperate through the results database.
 *
 *   grid.c           the command: config + grid -> plan, workers, summary
 *   grid_worker.c    one worker process: claim a point, train it, repeat;
 *                    a heartbeat thread keeps its claim fresh
 *   grid_progress.c  the live progress lines and the final summary table
 *
 * Identity: a point's config hash is FNV-1a 64 of the YAML of its
 * non-default keys (cfg_to_yaml_changed) except search.* (a trial's hash
 * is what it trains, whatever drew or prunes it) with train.threads set to 0 unless
 * train.threads is itself a grid axis: workers choose the thread count and
 * results do not depend on it, and keys added by later versions (at their
 * defaults) leave hashes unchanged.  The experiment id is the config name
 * and 12 hex digits of the hash of the base config (same rule) plus the
 * grid, so the same grid file always resolves to the same experiment and
 * resumes it. */
#ifndef AUTOREC_GRID_H
#define AUTOREC_GRID_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cfg.h"
#include "db.h"

#define GRID_EXPERIMENT_MAX (CFG_NAME_MAX + 16)
#define GRID_HASH_HEX 17          /* 16 hex digits and NUL */
#define GRID_DEFAULT_STALE ((double)DB_STALE_SECONDS) /* seconds without a heartbeat */
#define GRID_PROGRESS_EVERY 30.0  /* plain progress: a status line at least
                                     this often (AUTOREC_PROGRESS_SECONDS) */

typedef struct {
    Config base;           /* resolved base config (after --set) */
    Grid grid;             /* owned */
    size_t n;              /* number of points */
    int threads_axis;      /* train.threads is a grid axis */
    char experiment[GRID_EXPERIMENT_MAX];
    char axes[CFG_GRID_MAX_AXES * CFG_KEY_MAX];  /* "model.hidden,train.lr" */
    char *yaml;            /* resolved base + grid (what was hashed), owned */
    char **hashes;         /* n config hashes (16 hex digits), owned */
    char **params;         /* n labels, "hidden=300 lr=0.002", owned */
    int n_splits;          /* splits per configuration (cfg_split_count of
                              the base); > 1: the last axis is the implicit
                              GRID_SPLIT_KEY, so point i is split
                              i % n_splits of configuration i / n_splits */
} GridPlan;

/* The implicit axis of data.split.repeats / kind folds. */
#define GRID_SPLIT_KEY "data.split.index"

/* FNV-1a 64 of n bytes, continuing from h (start with GRID_FNV_OFFSET). */
#define GRID_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t grid_fnv1a64(const void *data, size_t n, uint64_t h);

/* The config hash of c (see above) as 16 hex digits into out.  Returns 0,
 * or -1 with err (out of memory). */
int grid_config_hash(const Config *c, int threads_axis,
                     char out[GRID_HASH_HEX], char *err);

/* Expands base x grid into a plan: validates every point (cfg_validate;
 * an error names the point, the key and the value), computes the hashes,
 * labels and the experiment id.  Takes ownership of *grid (zeroed), also
 * on failure.  Returns 0, or -1 with err; free with grid_plan_free. */
int grid_plan_make(GridPlan *p, const Config *base, Grid *grid, char *err);

/* Frees what grid_plan_make allocated; accepts a zeroed plan. */
void grid_plan_free(GridPlan *p);

/* The config of point i, train.threads set to threads unless it is a grid
 * axis.  Returns 0 or -1 with err. */
int grid_plan_point(const GridPlan *p, size_t i, int threads, Config *out,
                    char *err);

/* The index of axis a's value at point i (the last axis varies fastest). */
int grid_plan_value(const GridPlan *p, size_t i, int a);

struct Db;

/* After a run of point i finished (the plan has n_splits > 1): recomputes
 * the split summary of i's configuration (db_split_summary_update, labelled
 * with i's params without the split).  Returns 0 or -1 with err. */
int grid_split_summary(struct Db *db, const GridPlan *p, size_t i, char *err);

/* "host:pid/tag" into out (size n): the id of a worker process. */
void grid_worker_id(char *out, size_t n, pid_t pid, unsigned tag);

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
 * or a SIGINT/SIGTERM arrives; never returns to the caller's logic (the
 * caller _exits with the result).  Returns the exit code: 0, 1 (database
 * failure), 128 + the signal that stopped it (SIGINT, SIGTERM, SIGHUP). */
int grid_worker_run(const GridWorkerArgs *a);

/* Progress display state (the parent's). */
typedef struct {
    int lines;              /* lines drawn last time (to redraw over) */
    int width;              /* terminal columns */
    double started;         /* monotonic seconds at the start */
    struct sqlite3 *h;      /* read-only connection, or NULL */
    int workers;
    const pid_t *pids;      /* the workers' process ids, slot w at [w]
                               (labelled w1, w2, ...); -1 when gone */
    /* plain mode (off a terminal, TERM=dumb, NO_COLOR) */
    double since;           /* unix time: points settled after it are new */
    double every;           /* seconds between status lines when no point
                               finished (AUTOREC_PROGRESS_SECONDS) */
    double last_line;       /* monotonic time of the last line */
    unsigned char *seen;    /* per point: reported (owned) */
} GridProgress;

enum { GRID_PROGRESS_LIVE = 1, GRID_PROGRESS_PLAIN = 2 };

/* How progress is shown on stderr: GRID_PROGRESS_LIVE (a terminal that
 * takes escapes: the redrawn block) or GRID_PROGRESS_PLAIN (a file, a pipe,
 * TERM=dumb or NO_COLOR set: plain lines). */
int grid_progress_mode(void);

/* Plain progress: prints to stderr one line per point that settled
 * (finished, diverged, failed) since the last call, with the counts and
 * ETA, and a status line when none did for g->every seconds.  Returns 0
 * or -1 (the database could not be read). */
int grid_progress_lines(GridProgress *g, const GridPlan *p,
                        const char *db_path);

/* Redraws the progress block on stderr (a terminal): a header with counts,
 * elapsed time and ETA, then one line per running point, its worker
 * labelled by slot (w1, w2, ...; host:pid for another process's), every
 * line cut to the terminal width and at most 80 columns.  Returns 0 or -1
 * (the database could not be read; the display is skipped). */
int grid_progress_draw(GridProgress *g, const GridPlan *p,
                       const char *db_path);

/* Erases the progress block, closes its connection and frees g->seen. */
void grid_progress_end(GridProgress *g);

/* Prints the summary of the experiment on out: counts, then every point
 * sorted by best test RMSE, then the errors of failed points.  Sets
 * *complete to 1 when every point is finished or diverged.  Returns 0 or -1
 * with err. */
int grid_summary_print(const GridPlan *p, const char *db_path, FILE *out,
                       int *complete, char *err);

/* Prints the counts line of experiment ("grid X: N points: F finished, ...,
 * P not run; T in epochs") read from h (a connection to db_path, named in
 * messages) and sets *complete to 1 when every point is finished or
 * diverged.  Returns 0 or -1 with err (unknown experiment, read error). */
int grid_counts_print(struct sqlite3 *h, const char *experiment,
                      const char *db_path, FILE *out, int *complete,
                      char *err);

/* Prints how grid point `point` of p stands in db_path (one line: status,
 * RMSE, epochs, error) and sets *status to its run's status code: 0
 * finished or diverged, 1 failed or not run, 128 + SIGINT/SIGTERM for
 * interrupted.  Returns 0 or -1 with err. */
int grid_point_report(const GridPlan *p, const char *db_path, int64_t point,
                      FILE *out, int *status, char *err);

/* Loads config_path and its grid, applies the n_sets overrides ("KEY=VALUE"),
 * validates every point and checks its data path: the plan of `autorec
 * grid`.  Returns 0 (free *plan with grid_plan_free), or -1 with the
 * message printed on stderr. */
int grid_load(const char *config_path, const char *const *sets, int n_sets,
              GridPlan *plan);

int grid_main(int argc, char **argv);
void grid_usage(FILE *f);

#endif

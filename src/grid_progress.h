/* grid_progress.h - what `autorec grid` shows while it runs and at the end
 * (grid_progress.c): the live block or plain progress lines on stderr, the
 * summary table, one point's report.  Everything is read from the results
 * database through read-only connections: the workers, also those of other
 * grid commands, write everything there. */
#ifndef AUTOREC_GRID_PROGRESS_H
#define AUTOREC_GRID_PROGRESS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "grid_plan.h"

#define GRID_PROGRESS_EVERY 30.0  /* plain progress: a status line at least
                                     this often (AUTOREC_PROGRESS_SECONDS) */

struct sqlite3;

/* Progress display state (the grid command's). */
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

/* Erases the progress block and closes its connection (g->seen stays: the
 * caller frees it). */
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

#endif

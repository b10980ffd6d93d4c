/* heartbeat.h - a thread that stamps a running run's heartbeat.
 *
 * While a run trains, a thread with its own database connection stamps
 * heartbeat_at every interval (db_heartbeat for a grid worker's running
 * runs, db_heartbeat_run for one run), so that a long epoch, a slow data
 * load or a wait for a lock never looks stale, and a run whose process
 * died does (see DB_STALE_SECONDS in db.h).  The stop signals (stop.h) are
 * blocked in the thread: they go to the thread that trains. */
#ifndef AUTOREC_HEARTBEAT_H
#define AUTOREC_HEARTBEAT_H

#include <pthread.h>
#include <stdint.h>

#include "db.h"

typedef struct {
    Db *db;                 /* the thread's own connection (owned) */
    const char *worker;     /* stamp this worker's running runs, or NULL */
    int64_t run_id;         /* else stamp this run */
    double interval;        /* seconds */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;               /* under mu */
    int started;
} Heartbeat;

/* Opens a connection to db_path and starts the thread stamping worker's
 * running runs (worker not NULL; the string must outlive the thread) or
 * run run_id every interval seconds.  Returns 0, or -1 with err (nothing
 * left running; heartbeat_stop is still safe). */
int heartbeat_start(Heartbeat *hb, const char *db_path, const char *worker,
                    int64_t run_id, double interval, char *err);

/* Stops and joins the thread and closes its connection; accepts a zeroed
 * or failed Heartbeat. */
void heartbeat_stop(Heartbeat *hb);

#endif

/* grid_worker.c - one grid worker process (see grid.h).
 *
 * Loop: claim a point (db_grid_claim), prepare the runner with the point's
 * config and this worker's thread count, train it (every epoch recorded and
 * stamped), record how it ended, repeat.  When nothing is claimable but
 * points are running elsewhere, wait: one of them may go stale and need a
 * taker.  A heartbeat thread with its own connection stamps the worker's
 * running run every few seconds, so a long epoch or a slow data load never
 * looks stale (heartbeat.h).  On Linux the worker asks for SIGTERM when the
 * grid process dies, so orphans stop and mark their run interrupted.  The
 * stop signals (stop.h) are read between batches, epochs and claims. */
#include "grid.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "db.h"
#include "err.h"
#include "heartbeat.h"
#include "mem.h"
#include "run.h"
#include "runner.h"
#include "stop.h"
#include "version.h"

/* ------------------------------------------------------------ points -- */

typedef struct {
    const GridWorkerArgs *a;
    Config cfg;             /* the claimed point's config */
    char *yaml;             /* its resolved config, owned */
    char host[256];
} Describe;

/* DbDescribeFn: the run row of point `point`.  Returns 0 or -1 with err. */
static int describe_point(void *ctx, int64_t point, DbRunInfo *info,
                          char *err) {
    Describe *d = ctx;
    mem_free(d->yaml);
    d->yaml = NULL;
    if (grid_plan_point(d->a->plan, (size_t)point, d->a->threads, &d->cfg,
                        err))
        return -1;
    if (!(d->yaml = cfg_to_yaml(&d->cfg)))
        return err_set(err, "out of memory writing a config");
    info->cfg = &d->cfg;
    info->config_yaml = d->yaml;
    info->host = d->host;
    info->threads = d->cfg.threads;
    info->kernel = cfg_kernel_name(d->cfg.kernel);   /* resolved later */
    info->git_commit = version_git_commit();
    info->blis_info = NULL;
    return 0;
}

/* Trains the claimed point (d->cfg) as run run_id and records how it
 * ended.  Errors of the point go into its row (runs.error), not to the
 * terminal.  Returns 0, or -1 when the database failed (err). */
static int run_point(Db *db, Describe *d, int64_t point, int64_t run_id,
                     char *err) {
    Runner r;
    RunOutcome out;
    DbRunInfo info;
    char why[ERR_MAX];
    RunStatus st;
    int ret = 0;

    if (runner_prepare(&r, &d->cfg, why)) {
        if (db_run_end_msg(db, run_id, "failed", why, err)) ret = -1;
        goto done;
    }
    runner_info(&r, &info);
    if (db_run_set_info(db, run_id, &info, err)) {
        ret = -1;
        goto done;
    }
    RunHooks hooks = {NULL, NULL, &stop_signal, NULL};
    why[0] = '\0';
    st = runner_train(&r, db, run_id, &hooks, &out, why);
    if (db_run_end_msg(db, run_id, runner_status_name(st),
                       st == RUN_DIVERGED || st == RUN_FAILED ? why : NULL,
                       err))
        ret = -1;
    else if (st == RUN_FINISHED && d->a->plan->n_splits > 1 &&
             grid_split_summary(db, d->a->plan, (size_t)point, err))
        ret = -1;
done:
    runner_free(&r);
    return ret;
}

/* Sleeps for s seconds or until a signal arrives. */
static void worker_sleep(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int grid_worker_run(const GridWorkerArgs *a) {
    Db *db = NULL;
    Heartbeat hb;
    Describe d;
    DbClaim claim;
    char err[ERR_MAX], id[512];
    int rc = EXIT_OK;
    double poll = a->stale_seconds / 4;

    if (poll < 0.2) poll = 0.2;
    if (poll > 2) poll = 2;
    memset(&hb, 0, sizeof hb);
    memset(&d, 0, sizeof d);
    d.a = a;
    if (gethostname(d.host, sizeof d.host - 1) != 0) strcpy(d.host, "unknown");

    stop_catch();
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    if (getppid() != a->parent) return EXIT_SIGTERM;   /* orphaned at birth */

    grid_worker_id(id, sizeof id, getpid(), a->tag);
    double interval = a->stale_seconds / 6;
    if (interval > DB_HEARTBEAT_SECONDS) interval = DB_HEARTBEAT_SECONDS;
    if (interval < 0.1) interval = 0.1;
    if (db_open(&db, a->db_path, err) || db_set_worker(db, id, err) ||
        heartbeat_start(&hb, a->db_path, id, 0, interval, err)) {
        fprintf(stderr, "autorec grid: worker %s: %s\n", id, err);
        rc = EXIT_FAILED;
        goto out;
    }

    DbClaimReq req = {a->plan->experiment, a->stale_seconds, a->session_start,
                      a->first, a->end};
    while (!stop_signal) {
        int got = db_grid_claim(db, &req, describe_point, &d, &claim, err);
        if (got < 0) {
            fprintf(stderr, "autorec grid: worker %s: %s\n", id, err);
            rc = EXIT_FAILED;
            break;
        }
        if (got == DB_CLAIM_DONE) break;
        if (got == DB_CLAIM_WAIT) {
            worker_sleep(poll);
            continue;
        }
        if (run_point(db, &d, claim.point, claim.run_id, err)) {
            /* taken over meanwhile, or the database failed: say so, go on */
            fprintf(stderr, "autorec grid: worker %s, point %lld: %s\n", id,
                    (long long)claim.point + 1, err);
        }
    }
out:
    heartbeat_stop(&hb);
    db_close(db);
    mem_free(d.yaml);
    if (stop_signal) return 128 + stop_signal;   /* 130, 143, 129, ... */
    return rc;
}

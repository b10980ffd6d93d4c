/* grid_worker.c - one grid worker process (see grid_worker.h).
 *
 * Loop: claim a point (db_grid_claim), prepare the runner with the point's
 * config and this worker's thread count (the ratings files through the
 * worker's memo: each parsed once per worker), train it (every epoch recorded and
 * stamped), record how it ended, repeat.  When nothing is claimable but
 * points are running elsewhere, wait: one of them may go stale and need a
 * taker.  A heartbeat thread with its own connection stamps the worker's
 * running run every few seconds, so a long epoch or a slow data load never
 * looks stale (heartbeat.h).  On Linux the worker asks for SIGTERM when the
 * grid process dies, so orphans stop and mark their run interrupted.  The
 * stop signals (stop.h) are read between batches, epochs and claims. */
#include "grid_worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cli.h"
#include "data_memo.h"
#include "db.h"
#include "err.h"
#include "heartbeat.h"
#include "mem.h"
#include "pruner.h"
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

/* ------------------------------------------------------------ pruning -- */

typedef struct {
    Db *db;
    const char *experiment;
    int64_t run_id;
    PrunerSpec spec;
    double best;            /* best validation RMSE so far (NaN: none) */
    int stop_epoch;         /* > 0: pause after this epoch */
} PruneCtx;

/* RunHooks.prune: after epoch --stop-at-epoch, pauses the run (2); at
 * the pruner's epochs, compares this trial's best
 * validation RMSE with the other trials' at the same epoch (read from the
 * database: validation columns only).  Returns 2 pause, 1 prune (reason),
 * 0 go on, -1 database error (reason). */
static int prune_hook(void *ctx, const DbEpoch *e, char *reason) {
    PruneCtx *p = ctx;
    double *peers;
    int n;
    if (e->has_val && !(e->val_rmse >= p->best)) p->best = e->val_rmse;
    if (p->stop_epoch > 0 && e->epoch >= p->stop_epoch) {
        snprintf(reason, ERR_MAX, "paused after epoch %d (--stop-at-epoch: "
                 "a rung of the autorec slurm chain; the promotion step "
                 "decides whether it goes on)", e->epoch);
        return 2;
    }
    if (!pruner_checks(&p->spec, e->epoch) || p->best != p->best) return 0;
    if (db_peer_val_best(p->db, p->experiment, p->run_id, e->epoch, &peers,
                         &n, reason))
        return -1;
    int r = pruner_decide(&p->spec, e->epoch, p->best, peers, n, reason);
    mem_free(peers);
    return r;
}

/* Trains the claimed point (d->cfg) as run run_id and records how it
 * ended.  Errors of the point go into its row (runs.error), not to the
 * terminal.  Returns 0, or -1 when the database failed (err). */
static int run_point(Db *db, Describe *d, DataMemo *memo, int64_t point,
                     int64_t run_id, char *err) {
    Runner r;
    RunOutcome out;
    DbRunInfo info;
    char why[ERR_MAX];
    RunStatus st;
    int ret = 0;

    if (runner_prepare_memo(&r, &d->cfg, memo, why)) {
        if (db_run_end_msg(db, run_id, "failed", why, err)) ret = -1;
        goto done;
    }
    runner_info(&r, &info);
    if (db_run_set_info(db, run_id, &info, err)) {
        ret = -1;
        goto done;
    }
    PruneCtx pc = {db, d->a->plan->experiment, run_id, {0}, 0.0 / 0.0,
                   d->a->stop_epoch};
    pruner_spec(&d->cfg, &pc.spec);
    RunHooks hooks = {NULL, &pc, &stop_signal, NULL,
                      pc.spec.kind != PRUNER_NONE || pc.stop_epoch > 0
                          ? prune_hook : NULL};
    why[0] = '\0';
    st = runner_train(&r, db, run_id, &hooks, &out, why);
    if (st == RUN_PRUNED) {
        if (db_run_prune(db, run_id, out.epochs_done, why, err)) ret = -1;
    } else if (db_run_end_msg(db, run_id, runner_status_name(st),
                              st == RUN_DIVERGED || st == RUN_FAILED ||
                                      (st == RUN_INTERRUPTED && why[0])
                                  ? why : NULL,
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
    DataMemo *memo = NULL;
    char err[ERR_MAX], id[512];
    int rc = EXIT_OK;
    double poll = a->stale_seconds / 4;

    if (poll < 0.2) poll = 0.2;
    if (poll > 2) poll = 2;
    memset(&hb, 0, sizeof hb);
    memset(&d, 0, sizeof d);
    d.a = a;
    if (gethostname(d.host, sizeof d.host - 1) != 0) strcpy(d.host, "unknown");

    cli_signals(CLI_SIGNALS_STOP);
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
    /* the worker's parsed ratings files: each is parsed once, not once per
     * point (without memory for it, every point parses) */
    memo = data_memo_new();
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
        if (run_point(db, &d, memo, claim.point, claim.run_id, err)) {
            /* taken over meanwhile, or the database failed: say so, go on */
            fprintf(stderr, "autorec grid: worker %s, point %lld: %s\n", id,
                    (long long)claim.point + 1, err);
        }
    }
out:
    heartbeat_stop(&hb);
    db_close(db);
    data_memo_free(memo);
    mem_free(d.yaml);
    if (stop_signal) return 128 + stop_signal;   /* 130, 143, 129, ... */
    return rc;
}

void grid_worker_id(char *out, size_t n, pid_t pid, unsigned tag) {
    char host[256];
    if (gethostname(host, sizeof host - 1) != 0) strcpy(host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(out, n, "%s:%ld/%04x", host, (long)pid, tag & 0xffff);
}

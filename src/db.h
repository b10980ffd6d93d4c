/* db.h - the SQLite results database: types and prototypes.
 *
 * Schema DB_SCHEMA_VERSION (PRAGMA user_version), WAL mode, busy timeout.
 * The tables, views and indexes of a new database are printed by `autorec
 * help schema` (docs/schema.md, generated from a database db_open creates);
 * what each version added is written once, beside its migration step in
 * db.c (db_schema, db_migrate_v2 ... db_migrate_v7, and the `since` of the
 * column tables).  An older database is migrated in place, in one
 * transaction, when opened.
 * Each epoch is written in its own transaction together with the run's
 * final/best/epochs_done/seconds columns, so a crash never leaves half an
 * epoch.  A grid point has at most one run row (UNIQUE(experiment,
 * grid_point)); re-running a point reuses its row. */
#ifndef AUTOREC_DB_H
#define AUTOREC_DB_H

#include <stdint.h>

#include "cfg.h"

#define DB_SCHEMA_VERSION 8

/* The statuses that settle a grid point: it is not run again (unless its
 * config hash is outdated), and a merge prefers them to any other.
 * `pruned` (schema 6) is a search.pruner decision, a result like the
 * others. */
#define DB_FINAL_STATUSES "('finished', 'diverged', 'pruned')"

/* Heartbeats and stale runs.  Every running run (single runs and grid
 * points) has its heartbeat_at stamped at least every DB_HEARTBEAT_SECONDS
 * by a thread of its process (src/heartbeat.h).  A run still 'running'
 * whose heartbeat is older than DB_STALE_SECONDS lost its process (SIGKILL,
 * the OOM killer, a node failure, a crash): run_summary, and so ls, show,
 * best, compare, export and summary, show its status as 'stale'
 * (DB_STATUS_SQL); `--status stale` selects such runs.  The row itself
 * keeps 'running' (a grid takes the point over; schema 6 changed only the
 * view). */
#define DB_HEARTBEAT_SECONDS 5
#define DB_STALE_SECONDS 30
/* unix time in seconds in SQL, the clock of heartbeat_at */
#define DB_UNIXNOW "((julianday('now') - 2440587.5) * 86400.0)"
#define DB_STR_(x) #x
#define DB_STR(x) DB_STR_(x)
/* run_summary's status: 'stale' for a running run with a stale heartbeat */
#define DB_STATUS_SQL                                                      \
    "CASE WHEN status = 'running' AND coalesce(heartbeat_at, 0) < "        \
    DB_UNIXNOW " - " DB_STR(DB_STALE_SECONDS) " THEN 'stale' ELSE status END"

typedef struct Db Db;
struct sqlite3;

typedef struct {
    const Config *cfg;        /* hyper-parameters and name */
    const char *config_yaml;  /* resolved config text */
    const char *host;
    int threads;              /* OpenMP threads used */
    const char *kernel;       /* resolved kernel name ("dense", ...) */
    const char *git_commit;
    const char *blis_info;    /* BLIS version / threading, free text */
} DbRunInfo;

typedef struct {
    int epoch;                /* 1-based */
    double train_loss;
    double test_rmse;
    double train_seconds;
    double eval_seconds;
    double test_mae;          /* stored when finite, else NULL */
    int has_val;              /* 1: val_rmse and val_mae are recorded */
    double val_rmse, val_mae;
    int selected;             /* 1: this epoch becomes the run's selected
                                 epoch (selected_epoch, selected_test_rmse,
                                 selected_val_rmse) */
    /* train.ema: the moving average's RMSE beside the raw weights' */
    int has_ema;              /* 1: ema_* are recorded */
    double ema_val_rmse, ema_test_rmse;
    int selected_ema;         /* with selected: the average was chosen, so
                                 the run's selected RMSEs are ema_* */
    /* eval.top_k_every: ranking metrics of this epoch's raw weights */
    int has_topn;             /* 1: topn[] is recorded */
    double topn[4];           /* precision, recall, NDCG, hit rate @K */
} DbEpoch;

/* Opens (creating if needed) the database at path, creating its parent
 * directory when missing, and migrates an empty file to the schema.  Refuses
 * a file that is not SQLite, not an autorec database, or from a newer schema
 * version.  On success *out is owned by the caller (db_close). */
int db_open(Db **out, const char *path, char *err);

/* Closes the database; accepts NULL. */
void db_close(Db *db);

/* Inserts a run with status 'running' and started_at = now; sets *run_id. */
int db_run_begin(Db *db, const DbRunInfo *info, int64_t *run_id, char *err);

/* Records one finished epoch and updates the run's final_test_rmse,
 * best_test_rmse and best_epoch, in one transaction. */
int db_epoch_add(Db *db, int64_t run_id, const DbEpoch *e, char *err);

/* Records epoch e->epoch of a refit (train.refit: the fresh model trained
 * on train + validation) in refit_epochs, and sets the run's refit_epochs,
 * refit_test_rmse and refit_test_mae to this epoch's, in one transaction.
 * e->has_val and e->selected are ignored.  Returns 0 or -1 with err. */
int db_refit_epoch_add(Db *db, int64_t run_id, const DbEpoch *e, char *err);

/* Stores path (the run's checkpoint file, already written) in
 * runs.checkpoint.  Returns 0 or -1 with err. */
int db_run_set_checkpoint(Db *db, int64_t run_id, const char *path,
                          char *err);

/* Stores mb (negative: unknown, NULL) in runs.peak_rss_mb of run_id.
 * Returns 0 or -1 with err. */
int db_run_set_peak_rss(Db *db, int64_t run_id, double mb, char *err);
/* Checks that db->path is still the file db_open opened (same device and
 * inode): a database deleted, moved or replaced while a run writes would
 * otherwise swallow its results.  db_epoch_add, db_refit_epoch_add,
 * db_run_set_checkpoint and db_run_end call it first.  Returns 0, or -1
 * with err saying that `what` failed and why. */
int db_check_file(const Db *db, const char *what, char *err);

/* The identity of run run_id that its checkpoint records (ckpt_run_key of
 * its started_at, host and config_yaml), read through the connection h
 * (db_open_query) or db.  Returns 0, or -1 with err (also for no such
 * run). */
int db_run_key_read(struct sqlite3 *h, int64_t run_id, uint64_t *key,
                    char *err);
int db_run_key(Db *db, int64_t run_id, uint64_t *key, char *err);

/* The path the database was opened with (owned by db). */
const char *db_path(const Db *db);


/* When db_open created db's schema (a new or empty file), prints to stderr
 * "autorec CMD: created a new results database PATH (ABSOLUTE PATH) ...",
 * so that a database made in an unexpected place is noticed.  Accepts
 * NULL. */
void db_report_created(const Db *db, const char *cmd);

/* Sets the run's status ("finished", "failed", "interrupted") and
 * finished_at = now. */
int db_run_end(Db *db, int64_t run_id, const char *status, char *err);

/* As db_run_end, also storing message (may be NULL) in runs.error. */
int db_run_end_msg(Db *db, int64_t run_id, const char *status,
                   const char *message, char *err);

/* Ends run_id as 'pruned' at epoch (its last recorded one) with reason
 * (search.pruner).  Returns 0 or -1 with err (as db_run_end). */
int db_run_prune(Db *db, int64_t run_id, int epoch, const char *reason,
                 char *err);

/* The best validation RMSE up to `epoch` of every run of experiment other
 * than run_id that has recorded epoch `epoch` (any status): what a pruner
 * compares a trial with.  Reads only epochs.val_rmse, never a test
 * column.  *vals (owned by the caller, mem_free; NULL when none) gets *n
 * values.  Returns 0 or -1 with err. */
int db_peer_val_best(Db *db, const char *experiment, int64_t run_id,
                     int epoch, double **vals, int *n, char *err);

/* Rewrites the descriptive columns of a run (config_yaml, host, threads,
 * kernel, git_commit, blis_info and the hyper-parameters) from info. */
int db_run_set_info(Db *db, int64_t run_id, const DbRunInfo *info, char *err);

/* ------------------------------------------------------------ grids -- */

/* Makes db act for one grid worker: its id (e.g. "host:pid/tag", copied) is
 * written into the runs it claims, and db_epoch_add / db_run_end /
 * db_run_set_info then only touch runs this worker still holds, failing with
 * "taken over" once a stale run was claimed by someone else.  NULL turns
 * this off.  Returns 0 or -1 (out of memory) with err. */
int db_set_worker(Db *db, const char *worker, char *err);

typedef struct {
    const char *id;            /* experiment id: name + hash of base + grid */
    const char *name;          /* config name */
    const char *axes;          /* grid keys, comma-separated */
    const char *config_yaml;   /* resolved base config + grid */
    int64_t n_points;
    const char *const *hashes; /* n_points config hashes, point order */
    const char *const *params; /* n_points labels ("hidden=300 lr=0.002") */
} DbExperiment;

/* Registers an experiment and its points, in one transaction; idempotent
 * (several processes may register the same experiment).  A point whose
 * stored hash differs is updated: its run is then out of date and will be
 * re-run. */
int db_experiment_register(Db *db, const DbExperiment *x, char *err);

/* Fills *info for the run of grid point `point` (called inside the claim's
 * transaction; the strings must stay valid until db_grid_claim returns).
 * Returns 0 or -1 with err. */
typedef int (*DbDescribeFn)(void *ctx, int64_t point, DbRunInfo *info,
                            char *err);

typedef struct {
    const char *experiment;
    double stale_seconds;   /* a running point silent for longer is stale */
    double session_start;   /* unix time: failed/interrupted points that
                               ended before it are re-run, later ones not */
    int64_t settled_below;  /* in/out cursor: every point below it was found
                               finished or diverged (start at 0, or at the
                               first point to consider) */
    int64_t end;            /* only points below it are claimed or waited
                               for; 0: no limit (autorec grid --point N:
                               settled_below N, end N + 1) */
} DbClaimReq;

typedef struct {
    int64_t point;            /* 0-based grid point */
    int64_t run_id;
    int attempts;             /* 1 for a new row */
    char previous[16];        /* "" (new), or the status it was re-run from:
                                 failed, interrupted, stale, outdated */
    char previous_worker[128];
    int running_elsewhere;    /* points running under workers of other
                                 grid commands (DB_CLAIM_WAIT) */
} DbClaim;

enum { DB_CLAIM_DONE = 0, DB_CLAIM_GOT = 1, DB_CLAIM_WAIT = 2 };

/* Atomically (BEGIN IMMEDIATE, retried while the database is busy) picks the
 * lowest point in [settled_below, end) of the experiment that has no run,
 * or whose run failed or
 * was interrupted before req->session_start, or is running with a heartbeat
 * older than req->stale_seconds, or ran an outdated config; and records it
 * as running under this worker (db_set_worker must have been called).  A
 * reused row loses its epochs and restarts (attempts + 1).  Returns
 * DB_CLAIM_GOT (*out filled), DB_CLAIM_WAIT (nothing to claim, but
 * workers of another grid command run points that may become stale: their
 * parent may be dead too), DB_CLAIM_DONE, or -1 with err.  Workers of the
 * same command (same host and tag in "host:pid/tag") are not waited for:
 * their parent releases their point if they die. */
int db_grid_claim(Db *db, DbClaimReq *req, DbDescribeFn describe, void *ctx,
                  DbClaim *out, char *err);

/* Heartbeat: stamps heartbeat_at = now on every running run of worker. */
int db_heartbeat(Db *db, const char *worker, char *err);

/* Heartbeat of one run: stamps heartbeat_at = now on run run_id while it
 * is running.  Returns 0 or -1 with err. */
int db_heartbeat_run(Db *db, int64_t run_id, char *err);

/* Marks the running runs of a worker known to be dead as stale at once
 * (heartbeat_at = 0), so that the next claim takes them over.  Returns the
 * number of runs released, or -1 with err. */
int db_worker_lost(Db *db, const char *worker, char *err);

/* Current unix time in seconds (the clock heartbeats are compared with). */
double db_unix_now(void);

/* Recomputes the split summary of one configuration of an experiment:
 * the finished runs at grid points group_point .. group_point + splits - 1
 * (its splits: data.split.repeats or kind folds), their mean, sample
 * standard deviation and Student-t 95% confidence interval of
 * selected_test_rmse and final_test_rmse, mean and sd of
 * selected_val_rmse, into the split_summaries row (experiment,
 * group_point), replacing it.  params labels the configuration.  Called
 * when a run of the group finishes.  Returns 0 or -1 with err. */
int db_split_summary_update(Db *db, const char *experiment,
                            int64_t group_point, int splits,
                            const char *params, char *err);

/* --------------------------------------------------------- queries -- */

/* Opens an existing results database read-only for the query commands.
 * Refuses, with a message naming path, a missing file, a directory, a file
 * that is not SQLite, an SQLite database that is not autorec's and one from
 * a newer schema.  An older schema is first migrated (which needs write
 * access once).  On success *out is owned by the caller (sqlite3_close). */
int db_open_query(struct sqlite3 **out, const char *path, char *err);

#endif

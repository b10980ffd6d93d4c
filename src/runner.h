/* runner.h - one training run, from a resolved config to database rows.
 *
 * Used by `autorec run` and by grid workers:
 *   runner_prepare  loads the data and builds the trainer (no database);
 *   runner_info     fills the DbRunInfo describing the run;
 *   runner_train    trains every epoch, recording each under an existing run
 *                   id, and reports how the run ended.
 * The caller owns the database and the run row (db_run_begin/db_run_end). */
#ifndef AUTOREC_RUNNER_H
#define AUTOREC_RUNNER_H

#include <signal.h>
#include <stdint.h>

#include "cfg.h"
#include "data.h"
#include "db.h"
#include "train.h"

/* train.kernel: auto picks the sparse kernels below this fraction of observed
 * training entries (measured crossover: see README, "Speed"). */
#define RUNNER_SPARSE_DENSITY 0.25

typedef enum {
    RUN_FINISHED,
    RUN_INTERRUPTED,  /* *stop was set */
    RUN_DIVERGED,     /* a non-finite loss or RMSE; err names the epoch */
    RUN_FAILED        /* database error; err says which */
} RunStatus;

typedef struct {
    /* Called after each recorded epoch (may be NULL). */
    void (*on_epoch)(void *ctx, const DbEpoch *e, int epochs);
    void *ctx;
    /* Checked between batches and epochs (may be NULL); non-zero stops. */
    const volatile sig_atomic_t *stop;
} RunHooks;

typedef struct {
    int epochs_done;
    double final_rmse, best_rmse;
    int best_epoch;
    double seconds;   /* wall time of the epoch loop */
} RunOutcome;

typedef struct {
    Config cfg;
    Dataset ds;
    Csr train, test;       /* items x users rating matrices */
    Trainer trainer;
    const char *kernel;    /* resolved kernel: "dense", "naive", "sparse" */
    int threads;
    char *config_yaml;     /* resolved config */
    char host[256];
    char blis_info[512];
} Runner;

/* Loads the data named by cfg and creates the trainer, setting the OpenMP
 * thread count from train.threads and resolving train.kernel (auto: sparse
 * below RUNNER_SPARSE_DENSITY observed entries per cell, else dense).  Returns 0, or -1 with err (bad data,
 * sizes too large, out of memory).  Free with runner_free, also on failure. */
int runner_prepare(Runner *r, const Config *cfg, char *err);

/* Frees what runner_prepare allocated; accepts a zeroed runner. */
void runner_free(Runner *r);

/* Fills *info for db_run_begin; the strings point into r. */
void runner_info(const Runner *r, DbRunInfo *info);

/* Trains all epochs, adding each finished epoch to run_id in db.  Returns
 * the status; *out gets what was done; err is set for DIVERGED and FAILED. */
RunStatus runner_train(Runner *r, Db *db, int64_t run_id, const RunHooks *hooks,
                       RunOutcome *out, char *err);

/* The database spelling of a status ("finished", ...). */
const char *runner_status_name(RunStatus s);

#endif

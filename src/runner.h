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
#include "topn.h"
#include "train.h"

/* train.kernel: auto picks the sparse kernels below this fraction of observed
 * training entries (measured crossover: see docs/performance.md, "Speed"). */
#define RUNNER_SPARSE_DENSITY 0.25

typedef enum {
    RUN_FINISHED,
    RUN_INTERRUPTED,  /* *stop was set */
    RUN_DIVERGED,     /* a non-finite loss or RMSE; err names the epoch */
    RUN_FAILED,       /* database error; err says which */
    RUN_PRUNED        /* hooks->prune asked to stop (search.pruner); err
                         holds its reason */
} RunStatus;

typedef struct {
    /* Called after each recorded epoch (may be NULL). */
    void (*on_epoch)(void *ctx, const DbEpoch *e, int epochs);
    void *ctx;
    /* Checked between batches and epochs (may be NULL); non-zero stops. */
    const volatile sig_atomic_t *stop;
    /* Called after each recorded refit epoch (may be NULL); epochs is the
     * refit's length (the selected epoch). */
    void (*on_refit_epoch)(void *ctx, const DbEpoch *e, int epochs);
    /* Called after each recorded epoch (may be NULL): returns 1 to stop
     * the run as pruned (its reason written into reason, ERR_MAX bytes),
     * 2 to stop it as interrupted (a pause: autorec grid --stop-at-epoch;
     * reason says why), 0 to go on, -1 on a database error (reason says
     * which).  A pruned
     * run keeps its epochs and selected epoch, has no refit, and writes
     * its checkpoint as a finished one does. */
    int (*prune)(void *ctx, const DbEpoch *e, char *reason);
} RunHooks;

typedef struct {
    int epochs_done;
    double final_rmse, best_rmse;   /* test RMSE: last, lowest (for reference
                                       only: choosing by it reads the test set) */
    int best_epoch;
    double seconds;   /* wall time of the epoch loop */
    /* model selection: the epoch with the lowest validation RMSE, or the
     * last epoch without a validation split; never chosen by test RMSE */
    int selected_epoch;             /* 0: none yet */
    double selected_test_rmse, selected_val_rmse;   /* NaN when none */
    int stopped_early;              /* train.patience ran out */
    int selected_ema;               /* train.ema: the selection chose the
                                       moving average's weights */
    /* train.refit: the fresh model trained on train + validation for
     * selected_epoch epochs (refit_epochs == selected_epoch when done) */
    int refit_epochs;               /* refit epochs finished, 0: none */
    double refit_test_rmse, refit_test_mae;   /* NaN when none */
    char checkpoint[CFG_PATH_MAX + 64];   /* "" when none was written */
    double peak_rss_mb;   /* peak resident MiB since runner_prepare (also
                             in runs.peak_rss_mb), negative when unknown */
    int has_topn;         /* eval.top_k: topn holds the result model's */
    TopnMetrics topn;
} RunOutcome;

struct RunnerGlocal;   /* runner_glocal.h */

typedef struct {
    Config cfg;
    Dataset ds;
    Csr train, test;       /* items x users rating matrices; users x items
                              for model.variant: user (U-AutoRec) */
    Csr val;               /* validation ratings (nnz 0 without a split) */
    Csr refit_train;       /* train.refit: train + validation ratings (the
                              refit's training matrix), else empty */
    Trainer trainer;       /* after a finished refit: the refit model;
                              with model.variant glocal only its proto
                              (clipping, cold default) is set */
    struct RunnerGlocal *glocal;   /* model.variant glocal: the GLocal-K
                              model and optimiser, else NULL */
    TrainOptions opt;      /* how the trainer was created (the refit */
    ModelArch arch;        /* creates its own the same way) */
    const char *kernel;    /* resolved kernel: "dense", "naive", "sparse" */
    int threads;
    char *config_yaml;     /* resolved config */
    char host[256];
    char blis_info[512];
    float *selected;       /* parameters of the selected epoch (canonical
                              order), kept in memory until the checkpoint is
                              written at the end of the run */
    WeightAvg avg;         /* train.ema: the moving average of the trainer's
                              parameters (zeroed when off) */
    int capture;           /* set by the caller before runner_train: keep
                              the predictions below (ensemble members) */
    float *pred_val;       /* capture: the selected model's predictions at
                              ds.val and ds.test (their order), and the */
    float *pred_test;      /* refit model's at ds.test (train.refit), once */
    float *pred_refit;     /* a run finished; NULL otherwise (owned) */
} Runner;

/* Loads the data named by cfg and creates the trainer, setting the OpenMP
 * thread count from train.threads and resolving train.kernel (auto: sparse
 * below RUNNER_SPARSE_DENSITY observed entries per cell, else dense).
 * With model.variant: user the matrices are built transposed (rows are
 * users), so the trainer reconstructs each user's ratings over the items;
 * cold pairs and clipping keep their meaning.  Returns 0, or -1 with err (bad data,
 * sizes too large, out of memory).  Free with runner_free, also on failure. */
int runner_prepare(Runner *r, const Config *cfg, char *err);

/* As runner_prepare, reading the ratings files through memo (data_memo.h;
 * NULL: none), so a process preparing many runs parses each file once. */
int runner_prepare_memo(Runner *r, const Config *cfg, struct DataMemo *memo,
                        char *err);

/* Frees what runner_prepare allocated; accepts a zeroed runner. */
void runner_free(Runner *r);

/* Fills *info for db_run_begin; the strings point into r. */
void runner_info(const Runner *r, DbRunInfo *info);

/* Trains all epochs (or until train.patience epochs pass without a better
 * validation RMSE: status still RUN_FINISHED), adding each finished epoch
 * to run_id in db with its train loss, test RMSE/MAE and, with a validation
 * split, validation RMSE/MAE.  Each epoch's learning rate follows
 * train.schedule.  The selected epoch is the one with the lowest validation
 * RMSE (ties: the earlier); the test set is never read to choose it.
 * Without a validation split it is the last epoch.  The selected epoch's
 * parameters are copied in memory whenever the validation RMSE improves and
 * written once, at the end of the run, to <directory of the database>/
 * checkpoints/<run id>.ckpt (also for an interrupted run with a validation
 * split), and the path recorded in runs.checkpoint; no checkpoint is written
 * for an in-memory database or with train.checkpoint: false.
 * With train.refit, once the epochs are done (also after an early stop) a
 * fresh model (same seed, same learning-rate schedule) is trained on train
 * + validation for the selected number of epochs, each epoch recorded with
 * db_refit_epoch_add (train loss, test RMSE/MAE); the test set is still
 * never read to decide anything.  That model replaces r->trainer and is the
 * checkpoint (its input at prediction time is r->refit_train); an
 * interrupted refit keeps the selected epoch's checkpoint.  Returns the
 * status; *out gets what was done; err is set for DIVERGED and FAILED. */
RunStatus runner_train(Runner *r, Db *db, int64_t run_id, const RunHooks *hooks,
                       RunOutcome *out, char *err);

/* The evaluated predictions (clipped and cold-defaulted as evaluation
 * does: trainer_predict_rows) of trainer t at the n ratings rt (dense
 * user and item indices; by_user: t's rows are users) into out (n floats,
 * caller-owned), computed in blocks of batch_size rows.  Returns 0 or -1
 * with err (out of memory). */
int runner_predict_ratings(Trainer *t, int by_user, const Rating *rt,
                           size_t n, float *out, char *err);

/* The ranking metrics (topn.h) of r's current trainer model over r's test
 * ratings: K = eval.top_k, relevant from eval.relevant_min, candidates the
 * items without a training or validation rating of the user, scores the
 * unclipped outputs.  Returns 0 or -1 with err (out of memory). */
int runner_topn(Runner *r, TopnMetrics *out, char *err);

/* Replaces r->trainer by a fresh one on r->refit_train (train +
 * validation), the shape and input of a finished refit's model, for loading
 * its checkpoint (autorec recommend).  Returns 0 or -1 with err (no refit:
 * train.refit false; out of memory). */
int runner_use_refit(Runner *r, char *err);

/* The learning rate of epoch e (1-based) under cfg's train.schedule:
 * none: lr; step: lr * gamma^floor((e-1)/step_epochs); cosine: lr_min +
 * (lr - lr_min) * (1 + cos(pi * (e-1) / epochs)) / 2. */
double runner_lr_at(const Config *cfg, int e);

/* One evaluated epoch, as a training loop hands it to the bookkeeping. */
typedef struct {
    int epoch, epochs;          /* 1-based; the loop's length */
    double loss;                /* train loss */
    double train_seconds, eval_seconds;
    EvalMetrics test, val;      /* val: rmse NaN without a validation split */
    int has_ema;                /* train.ema: the moving average's metrics */
    EvalMetrics ema_test, ema_val;   /* ... beside the raw weights' */
} RunnerEpoch;

/* The bookkeeping after an evaluated epoch, shared by the training loops
 * of every model: a non-finite loss or RMSE (the moving average's too) is
 * a divergence; the epoch's candidate is its raw weights or, with
 * ep->has_ema, the moving average when its validation RMSE is lower; the
 * epoch is selected when the candidate's validation RMSE is the lowest so
 * far (every epoch without a validation split; the test RMSE is never
 * compared); an AutoRec model's selected parameters are kept when the
 * checkpoint, the ranking metrics or an ensemble needs them; every
 * eval.top_k_every epochs the ranking metrics are added (AutoRec models);
 * the epoch row is added (db_epoch_add); *out and *since_best (epochs since
 * the selected one) are updated; hooks->on_epoch and hooks->prune (before
 * the loop's last epoch) are called; with patience_on, train.patience
 * epochs without a better validation RMSE end the run (out->stopped_early).
 * Returns 0 to go on, or 1 to end the loop with *status set (FINISHED for
 * an early stop; DIVERGED, FAILED, PRUNED, INTERRUPTED with err). */
int runner_epoch_done(Runner *r, Db *db, int64_t run_id,
                      const RunHooks *hooks, const RunnerEpoch *ep,
                      int patience_on, int *since_best, RunOutcome *out,
                      RunStatus *status, char *err);

/* The same for an epoch of a refit (ep->val unused): divergence, the row
 * (db_refit_epoch_add), out's refit fields, hooks->on_refit_epoch.
 * Returns 0 to go on, or 1 with *status set (DIVERGED or FAILED, err). */
int runner_refit_epoch_done(Db *db, int64_t run_id, const RunHooks *hooks,
                            const RunnerEpoch *ep, RunOutcome *out,
                            RunStatus *status, char *err);

/* Zeroes *out with every RMSE/MAE NaN: the outcome before the first epoch. */
void runner_outcome_init(RunOutcome *out);

/* Records the run's peak resident memory (out->peak_rss_mb, runs.peak_rss_mb)
 * at its end; returns status, or RUN_FAILED with err when a finished run's
 * row could not be written. */
RunStatus runner_record_peak_rss(Db *db, int64_t run_id, RunStatus status,
                                 RunOutcome *out, char *err);

/* Seconds on the monotonic clock (for timing epochs). */
double runner_now(void);

/* The database spelling of a status ("finished", ...). */
const char *runner_status_name(RunStatus s);

#endif

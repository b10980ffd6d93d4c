/* runner_glocal.h - model.variant glocal: GLocal-K's training run.
 *
 * runner_prepare calls runner_glocal_prepare instead of creating an AutoRec
 * trainer, and runner_train hands the run to runner_glocal_train.  Epochs
 * 1 .. model.glocal.pretrain_epochs pretrain the local kernel network; the
 * following ones, up to train.epochs, fine-tune with the global kernel
 * (glocal.h).  An epoch is one L-BFGS run of model.glocal.pretrain_iters
 * (or finetune_iters) iterations over the whole training matrix, started
 * with an empty memory, as the paper's SciPy optimiser is called once per
 * epoch.  Each epoch is recorded as AutoRec's are (runner_epoch_done: train
 * loss, test and validation RMSE/MAE, selection by validation RMSE only);
 * the stage of epoch e is e <= pretrain_epochs ? pretraining :
 * fine-tuning, from the run's stored config.  The train loss is the
 * objective F (squared errors plus penalties) per item row. */
#ifndef AUTOREC_RUNNER_GLOCAL_H
#define AUTOREC_RUNNER_GLOCAL_H

#include "glocal.h"
#include "lbfgs.h"
#include "runner.h"

#define GLOCAL_LBFGS_MEMORY 10   /* pairs kept by L-BFGS (SciPy's maxcor) */

typedef struct RunnerGlocal {
    GlocalArch arch;
    float *x;                    /* (items, users) dense training matrix:
                                    r->train, or r->refit_train once the
                                    refit started */
    const Csr *train;            /* the matrix x was built from */
    unsigned char *user_seen;    /* (users) 1: a rating in *train */
    Glocal model;
    Lbfgs opt;
} RunnerGlocal;

/* Builds r->glocal for r->cfg (model.hidden, activations, model.glocal.*,
 * train.l2, train.seed) on r->train, within r->opt.max_bytes.  Returns 0,
 * or -1 with err (too large, out of memory).  runner_free frees it. */
int runner_glocal_prepare(Runner *r, char *err);

/* Frees r->glocal and sets it to NULL; accepts a runner without one. */
void runner_glocal_free(Runner *r);

/* The stage of epoch e (1-based) under cfg. */
GlocalStage runner_glocal_stage(const Config *cfg, int e);

/* runner_train for model.variant glocal (see runner.h and above): patience
 * counts fine-tuning epochs only (its clock restarts with the stage); with
 * train.refit a fresh model on train + validation runs the selected number
 * of epochs, the same stages.  No checkpoint (cfg_validate refuses
 * train.checkpoint with glocal).  Returns the status; *out as runner_train. */
RunStatus runner_glocal_train(Runner *r, Db *db, int64_t run_id,
                              const RunHooks *hooks, RunOutcome *out,
                              char *err);

#endif

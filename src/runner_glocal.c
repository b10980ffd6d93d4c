/* runner_glocal.c - model.variant glocal: GLocal-K's training run (see
 * runner_glocal.h).
 *
 * No global mutable state. */
#include "runner_glocal.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "mem.h"

GlocalStage runner_glocal_stage(const Config *cfg, int e) {
    return e <= cfg->glocal_pretrain_epochs ? GLOCAL_PRETRAIN : GLOCAL_FINETUNE;
}

/* Points rg at the training matrix m: its dense copy (replacing the old
 * one) and which users have a rating.  Returns 0 or -1 with err. */
static int glocal_use_matrix(RunnerGlocal *rg, const Csr *m, char *err) {
    mem_free_aligned(rg->x);
    rg->x = csr_to_dense(m);
    if (!rg->x)
        return err_set(err, "out of memory for the dense %d x %d training "
                       "matrix of GLocal-K (%.3g MB)", m->rows, m->cols,
                       4.0 * m->rows * m->cols / 1e6);
    rg->train = m;
    memset(rg->user_seen, 0, (size_t)m->cols);
    for (int64_t k = 0; k < m->nnz; k++) rg->user_seen[m->col[k]] = 1;
    return 0;
}

/* Creates rg->model on rg->x (seed train.seed) and its optimiser.
 * Returns 0 or -1 with err. */
static int glocal_new_model(Runner *r, char *err) {
    RunnerGlocal *rg = r->glocal;
    const Csr *m = rg->train;
    if (glocal_create(&rg->model, &rg->arch, rg->x, m->rows, m->cols,
                      r->opt.max_bytes, r->cfg.seed, err))
        return -1;
    return rg->opt.n ? 0
                     : lbfgs_create(&rg->opt, rg->model.num_params,
                                    GLOCAL_LBFGS_MEMORY, err);
}

int runner_glocal_prepare(Runner *r, char *err) {
    const Config *c = &r->cfg;
    RunnerGlocal *rg = mem_calloc(1, sizeof *rg);
    if (!rg) return err_set(err, "out of memory creating the GLocal-K runner");
    r->glocal = rg;
    GlocalArch *a = &rg->arch;
    a->num_hidden = 1 + c->hidden_more;
    a->hidden[0] = c->hidden;
    for (int l = 0; l < c->hidden_more; l++) a->hidden[l + 1] = c->hidden_rest[l];
    a->encoder = (Activation)c->act_encoder;
    a->decoder = (Activation)c->act_decoder;
    a->dim = c->glocal_dim;
    a->ksize = c->glocal_kernel_size;
    a->dot_scale = (float)c->glocal_dot_scale;
    a->l2 = (float)c->l2;
    a->sparsity = (float)c->glocal_sparsity;
    const int rows = r->train.rows, cols = r->train.cols;
    const double need = glocal_bytes_needed(a, rows, cols) +
                        4.0 * rows * (double)cols +   /* the dense matrix */
                        lbfgs_bytes(glocal_param_count(a, rows, cols),
                                    GLOCAL_LBFGS_MEMORY);
    if (need > (double)r->opt.max_bytes)
        return err_set(err, "model.variant glocal on %d items x %d users needs "
                       "about %.3g GB (dense activations of every layer for "
                       "every item, twice, and the L-BFGS memory), more than "
                       "the %.3g GB allowed (80%% of RAM): use a smaller data "
                       "set or model.hidden", rows, cols, need / 1e9,
                       r->opt.max_bytes / 1e9);
    rg->user_seen = mem_alloc((size_t)cols);
    if (!rg->user_seen)
        return err_set(err, "out of memory creating the GLocal-K runner");
    if (glocal_use_matrix(rg, &r->train, err)) return -1;
    return glocal_new_model(r, err);
}

void runner_glocal_free(Runner *r) {
    RunnerGlocal *rg = r->glocal;
    if (!rg) return;
    glocal_free(&rg->model);
    lbfgs_free(&rg->opt);
    mem_free_aligned(rg->x);
    mem_free(rg->user_seen);
    mem_free(rg);
    r->glocal = NULL;
}

/* The objective of one stage, as L-BFGS calls it. */
typedef struct {
    Glocal *g;
    GlocalStage stage;
} GlocalCall;

static double glocal_call(void *ctx, const float *x, float *grad) {
    const GlocalCall *c = ctx;
    return glocal_objective(c->g, c->stage, x, grad);
}

/* RMSE and MAE of the predictions pred (items, users) at the entries of
 * m, clipped and cold-defaulted as r->trainer.proto says (cold: the item or
 * the user has no rating in the training matrix). */
static void glocal_evaluate(const Runner *r, const float *pred, const Csr *m,
                            EvalMetrics *out) {
    const RunnerGlocal *rg = r->glocal;
    const TrainProtocol *p = &r->trainer.proto;
    memset(out, 0, sizeof *out);
    out->rmse = out->mae = NAN;
    if (m->nnz == 0) return;
    double sse = 0.0, sae = 0.0;
    for (int i = 0; i < m->rows; i++) {
        const int item_cold = rg->train->ptr[i + 1] == rg->train->ptr[i];
        for (int64_t k = m->ptr[i]; k < m->ptr[i + 1]; k++) {
            const int32_t u = m->col[k];
            double y = pred[(size_t)i * m->cols + u];
            if (p->cold && (item_cold || !rg->user_seen[u])) {
                y = p->cold_value;
                out->n_cold++;
            } else if (p->clip) {
                y = y < p->clip_lo ? p->clip_lo : y > p->clip_hi ? p->clip_hi : y;
            }
            const double d = (double)m->val[k] - y;
            sse += d * d;
            sae += fabs(d);
        }
    }
    out->n = m->nnz;
    out->rmse = sqrt(sse / (double)m->nnz);
    out->mae = sae / (double)m->nnz;
}

/* One epoch of rg->model: L-BFGS on stage e's objective, then its test
 * (and, with val, validation) metrics into *ep.  Returns 1 when *stop
 * interrupted it (nothing recorded), 0 otherwise. */
static int glocal_epoch(Runner *r, int e, int epochs, const Csr *val,
                        const volatile sig_atomic_t *stop, RunnerEpoch *ep) {
    RunnerGlocal *rg = r->glocal;
    const GlocalStage stage = runner_glocal_stage(&r->cfg, e);
    const int iters = stage == GLOCAL_PRETRAIN ? r->cfg.glocal_pretrain_iters
                                               : r->cfg.glocal_finetune_iters;
    GlocalCall call = {&rg->model, stage};
    LbfgsReport rep;
    const double t0 = runner_now();
    lbfgs_minimize(&rg->opt, glocal_call, &call, rg->model.params, iters, stop,
                   &rep);
    const double t1 = runner_now();
    if (rep.stopped || (stop && *stop)) return 1;
    const EvalMetrics none = {NAN, NAN, 0, 0};
    RunnerEpoch z = {.epoch = e, .epochs = epochs,
                     .loss = rep.f / rg->model.rows, .train_seconds = t1 - t0,
                     .test = none, .val = none, .ema_test = none,
                     .ema_val = none};
    *ep = z;
    const float *pred = glocal_predict(&rg->model, stage, rg->model.params);
    if (val) glocal_evaluate(r, pred, val, &ep->val);
    glocal_evaluate(r, pred, &r->test, &ep->test);
    ep->eval_seconds = runner_now() - t1;
    return 0;
}

/* A non-finite objective or RMSE (validation too when has_val) at epoch
 * ep: the run diverged (err says what to change).  Returns 1 when it did. */
static int glocal_diverged(int64_t run_id, const RunnerEpoch *ep, int has_val,
                           int refit, char *err) {
    if (isfinite(ep->loss) && isfinite(ep->test.rmse) &&
        (!has_val || isfinite(ep->val.rmse)))
        return 0;
    err_set(err, "run %lld diverged at %sepoch %d (GLocal-K objective per item "
            "%g, test RMSE %g): lower model.glocal.dot_scale or raise train.l2",
            (long long)run_id, refit ? "refit " : "", ep->epoch, ep->loss,
            ep->test.rmse);
    return 1;
}

/* train.refit: a fresh model (same seed) on r->refit_train for
 * out->selected_epoch epochs, the same stages, each recorded with
 * runner_refit_epoch_done; it replaces the selection model.  Returns the
 * status. */
static RunStatus glocal_refit(Runner *r, Db *db, int64_t run_id,
                              const RunHooks *hooks, RunOutcome *out,
                              char *err) {
    RunnerGlocal *rg = r->glocal;
    const volatile sig_atomic_t *stop = hooks ? hooks->stop : NULL;
    const int epochs = out->selected_epoch;
    RunStatus status = RUN_FINISHED;
    glocal_free(&rg->model);
    if (glocal_use_matrix(rg, &r->refit_train, err) || glocal_new_model(r, err))
        return RUN_FAILED;
    for (int e = 1; e <= epochs; e++) {
        RunnerEpoch ep;
        if (glocal_epoch(r, e, epochs, NULL, stop, &ep)) return RUN_INTERRUPTED;
        if (glocal_diverged(run_id, &ep, 0, 1, err)) return RUN_DIVERGED;
        if (runner_refit_epoch_done(db, run_id, hooks, &ep, out, &status, err))
            break;
    }
    return status;
}

RunStatus runner_glocal_train(Runner *r, Db *db, int64_t run_id,
                              const RunHooks *hooks, RunOutcome *out,
                              char *err) {
    const volatile sig_atomic_t *stop = hooks ? hooks->stop : NULL;
    const Csr *val = r->val.nnz > 0 ? &r->val : NULL;
    runner_outcome_init(out);
    const double t_start = runner_now();
    RunStatus status = RUN_FINISHED;
    int since_best = 0;
    for (int e = 1; e <= r->cfg.epochs; e++) {
        RunnerEpoch ep;
        if (glocal_epoch(r, e, r->cfg.epochs, val, stop, &ep)) {
            status = RUN_INTERRUPTED;
            break;
        }
        if (glocal_diverged(run_id, &ep, val != NULL, 0, err)) {
            status = RUN_DIVERGED;
            break;
        }
        const int fine = runner_glocal_stage(&r->cfg, e) == GLOCAL_FINETUNE;
        if (fine && e == r->cfg.glocal_pretrain_epochs + 1) since_best = 0;
        if (runner_epoch_done(r, db, run_id, hooks, &ep, fine, &since_best,
                              out, &status, err))
            break;
    }
    if (status == RUN_FINISHED && r->cfg.refit && out->selected_epoch > 0)
        status = glocal_refit(r, db, run_id, hooks, out, err);
    out->seconds = runner_now() - t_start;
    return runner_record_peak_rss(db, run_id, status, out, err);
}

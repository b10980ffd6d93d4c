/* runner.c - one training run (see runner.h).
 *
 * Global mutable state: g_threads_ready, the largest OpenMP team this
 * process has already started (runner_start_threads), so that a grid
 * worker's later points do not probe again. */
#include "runner.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include "blas.h"
#include "checkpoint.h"
#include "db_results.h"
#include "err.h"
#include "mem.h"
#include "rss.h"
#include "runner_glocal.h"
#include "version.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double runner_now(void) { return now_seconds(); }

/* 80% of physical memory (a bound for model sizes), or 8 GB if unknown. */
static size_t memory_budget(void) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || size <= 0) return (size_t)8 << 30;
    return (size_t)pages * (size_t)size / 10 * 8;
}

/* The dense kernel table for k, or NULL for the sparse kernels (auto picks
 * them for lazy Adam, whose row steps only they take). */
static const KernelOps *resolve_kernel(KernelKind k, OptimizerKind o,
                                       const Csr *train) {
    if (o == OPTIM_LAZY_ADAM && k == KERNEL_AUTO) return NULL;  /* row steps */
    switch (k) {
    case KERNEL_NAIVE: return &kernels_naive;
    case KERNEL_DENSE: return &kernels_dense;
    case KERNEL_SPARSE: return NULL;
    case KERNEL_AUTO: break;
    }
    double cells = (double)train->rows * (double)train->cols;
    return (double)train->nnz < RUNNER_SPARSE_DENSITY * cells ? NULL : &kernels_dense;
}

/* The rating matrix of n ratings: items x users, or its transpose (users x
 * items, U-AutoRec) when by_user is set.  Returns 0 or -1 with err. */
static int runner_matrix(Csr *m, const Rating *rt, size_t n, const Dataset *ds,
                         int by_user, char *err) {
    if (csr_from_ratings(m, rt, n, ds->num_items, ds->num_users, err)) return -1;
    if (!by_user) return 0;
    Csr t;
    int rc = csr_transpose(&t, m, err);
    csr_free(m);
    if (rc == 0) *m = t;
    return rc;
}

/* The refit's training matrix r->refit_train: the training and validation
 * ratings of r->ds together (disjoint sets).  Returns 0 or -1 with err. */
static int runner_refit_matrix(Runner *r, int by_user, char *err) {
    const Dataset *ds = &r->ds;
    size_t n = ds->n_train + ds->n_val;
    Rating *all = mem_alloc(n * sizeof *all);
    if (!all)
        return err_set(err, "out of memory joining the %zu training and %zu "
                       "validation ratings for train.refit", ds->n_train,
                       ds->n_val);
    memcpy(all, ds->train, ds->n_train * sizeof *all);
    memcpy(all + ds->n_train, ds->val, ds->n_val * sizeof *all);
    int rc = runner_matrix(&r->refit_train, all, n, ds, by_user, err);
    mem_free(all);
    return rc;
}

static int g_threads_ready = 1;

/* A probe thread: waits until the creator releases the mutex.  Returns
 * NULL. */
static void *runner_probe_main(void *arg) {
    pthread_mutex_t *mu = arg;
    pthread_mutex_lock(mu);
    pthread_mutex_unlock(mu);
    return NULL;
}

/* Starts the OpenMP team of n threads, after checking that n - 1 threads
 * can exist at once (libgomp ends the process when it cannot create one,
 * which would leave a run 'running'; under a memory limit, ulimit -v, each
 * thread's stack may not fit).  Returns 0, or -1 with err. */
static int runner_start_threads(int n, char *err) {
    if (n <= g_threads_ready) return 0;
    pthread_t *t = mem_calloc((size_t)n, sizeof *t);
    if (!t) return err_set(err, "out of memory starting %d threads", n);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int made = 0, rc = 0;
    pthread_mutex_lock(&mu);
    while (made < n - 1 &&
           (rc = pthread_create(&t[made], NULL, runner_probe_main, &mu)) == 0)
        made++;
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < made; i++) pthread_join(t[i], NULL);
    mem_free(t);
    if (rc != 0)
        return err_set(err, "cannot start %d threads (train.threads): thread "
                       "%d failed: %s: lower train.threads or raise the memory "
                       "and process limits (ulimit -v, ulimit -u)", n, made + 2,
                       strerror(rc));
    /* libgomp keeps the team's threads for the later parallel regions */
    int started = 0;
#pragma omp parallel num_threads(n) reduction(+ : started)
    started = 1;
    g_threads_ready = started > 1 ? started : 1;
    return 0;
}

int runner_prepare(Runner *r, const Config *cfg, char *err) {
    return runner_prepare_memo(r, cfg, NULL, err);
}

int runner_prepare_memo(Runner *r, const Config *cfg, struct DataMemo *memo,
                        char *err) {
    memset(r, 0, sizeof *r);
    (void)rss_reset_peak();   /* this run's peak: loading included */
    r->cfg = *cfg;
    r->threads = cfg->threads ? cfg->threads : omp_get_num_procs();
    omp_set_num_threads(r->threads);
    if (runner_start_threads(r->threads, err)) return -1;
    if (data_load_memo(cfg, memo, &r->ds, err)) return -1;
    const Dataset *ds = &r->ds;
    const int by_user = cfg->variant == VARIANT_USER;
    if (runner_matrix(&r->train, ds->train, ds->n_train, ds, by_user, err) ||
        runner_matrix(&r->test, ds->test, ds->n_test, ds, by_user, err) ||
        runner_matrix(&r->val, ds->val, ds->n_val, ds, by_user, err) ||
        (cfg->refit && runner_refit_matrix(r, by_user, err)))
        return -1;
    if (by_user && cfg->batch_size > ds->num_users)
        return err_set(err, "train.batch_size = %d exceeds the %d users: with "
                       "model.variant: user a batch is a batch of users and the "
                       "last incomplete one is dropped, so no step would run; "
                       "lower train.batch_size", cfg->batch_size, ds->num_users);
    TrainOptions opt = {cfg->hidden, (float)cfg->dropout, cfg->batch_size,
                        (float)cfg->lr, (float)cfg->weight_decay, cfg->seed,
                        resolve_kernel(cfg->kernel, cfg->optimizer, &r->train),
                        memory_budget()};
    ModelArch arch = {1 + cfg->hidden_more, {cfg->hidden},
                      (Activation)cfg->act_encoder, (Activation)cfg->act_decoder};
    for (int l = 0; l < cfg->hidden_more; l++) arch.width[l + 1] = cfg->hidden_rest[l];
    r->opt = opt;
    r->arch = arch;
    if (cfg->variant == VARIANT_GLOCAL ? runner_glocal_prepare(r, err)
        : trainer_create_arch(&r->trainer, &opt, &arch, &r->train, &r->test, err))
        return -1;
    TrainProtocol *p = &r->trainer.proto;
    p->l2 = (float)cfg->l2;
    p->decoupled = cfg->optimizer == OPTIM_ADAMW;
    p->lazy = cfg->optimizer == OPTIM_LAZY_ADAM;
    p->clip = cfg->clip.mode != CLIP_NONE;
    p->clip_lo = (float)(cfg->clip.mode == CLIP_AUTO ? ds->min_rating : cfg->clip.lo);
    p->clip_hi = (float)(cfg->clip.mode == CLIP_AUTO ? ds->max_rating : cfg->clip.hi);
    p->cold = cfg->cold_default > 0;
    p->cold_value = p->cold ? (float)cfg->cold_default : 0.0f;
    r->kernel = r->glocal ? "dense" : trainer_kernel_name(&r->trainer);
    r->config_yaml = cfg_to_yaml(cfg);
    if (!r->config_yaml) return err_set(err, "out of memory writing the resolved config");
    if (gethostname(r->host, sizeof r->host - 1) != 0) strcpy(r->host, "unknown");
    char blis[256];
    blas_describe(blis, sizeof blis);
    snprintf(r->blis_info, sizeof r->blis_info, "%s; OpenMP %d threads (of %d cores)",
             blis, r->threads, omp_get_num_procs());
    return 0;
}

void runner_free(Runner *r) {
    if (!r) return;
    runner_glocal_free(r);
    trainer_free(&r->trainer);
    csr_free(&r->train);
    csr_free(&r->test);
    csr_free(&r->val);
    csr_free(&r->refit_train);
    mem_free(r->config_yaml);
    mem_free(r->selected);
    avg_free(&r->avg);
    mem_free(r->pred_val);
    mem_free(r->pred_test);
    mem_free(r->pred_refit);
    data_free(&r->ds);
    memset(r, 0, sizeof *r);
}

void runner_info(const Runner *r, DbRunInfo *info) {
    info->cfg = &r->cfg;
    info->config_yaml = r->config_yaml;
    info->host = r->host;
    info->threads = r->threads;
    info->kernel = r->kernel;
    info->git_commit = version_git_commit();
    info->blis_info = r->blis_info;
}

double runner_lr_at(const Config *cfg, int e) {
    switch (cfg->schedule) {
    case SCHED_STEP:
        return cfg->lr * pow(cfg->gamma, (double)((e - 1) / cfg->step_epochs));
    case SCHED_COSINE:
        return cfg->lr_min + (cfg->lr - cfg->lr_min) *
               (1.0 + cos(M_PI * (double)(e - 1) / (double)cfg->epochs)) / 2.0;
    case SCHED_NONE:
        break;
    }
    return cfg->lr;
}

/* Creates directory dir unless it exists.  Returns 0 or -1 with err. */
static int make_dir(const char *dir, char *err) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return err_set(err, "cannot create the checkpoint directory %s: %s",
                       dir, strerror(errno));
    return 0;
}

/* Writes the checkpoint path of run_id into out and creates its
 * directories: <directory of the database>/checkpoints/<database file
 * name>/<run id>.ckpt, one directory per database, so that two databases
 * in one directory never share a file.  Returns 1 when written, 0 when the
 * database has no directory (in memory), or -1 with err. */
static int checkpoint_path(Db *db, int64_t run_id, char *out, size_t cap,
                           char *err) {
    const char *dbp = db_path(db);
    if (!dbp || !dbp[0] || !strcmp(dbp, ":memory:") || !strncmp(dbp, "file:", 5))
        return 0;
    const char *slash = strrchr(dbp, '/');
    const char *name = slash ? slash + 1 : dbp;
    int dn = slash ? (int)(slash - dbp) : 0;
    int n = slash ? snprintf(out, cap, "%.*s/checkpoints", dn ? dn : 1, dbp)
                  : snprintf(out, cap, "checkpoints");
    if (n < 0 || (size_t)n >= cap)
        return err_set(err, "the checkpoint directory of %s is too long", dbp);
    if (make_dir(out, err)) return -1;
    size_t dlen = (size_t)n;
    n = snprintf(out + dlen, cap - dlen, "/%s", name);
    if (n < 0 || (size_t)n >= cap - dlen)
        return err_set(err, "the checkpoint directory of %s is too long", dbp);
    n += (int)dlen;
    if (make_dir(out, err)) return -1;
    size_t len = (size_t)n;
    n = snprintf(out + len, cap - len, "/%lld.ckpt", (long long)run_id);
    if (n < 0 || (size_t)n >= cap - len)
        return err_set(err, "the checkpoint path of %s is too long", dbp);
    return 1;
}

/* The writing of a run's checkpoint, possibly in a thread of its own
 * while the ranking metrics are computed (both only read the parameters). */
typedef struct {
    const Model *model;     /* shape, and the parameters when no selected */
    const float *selected;  /* canonical parameters to write, or NULL */
    int epoch;
    uint64_t key;           /* ckpt_run_key of the run's row */
    const char *path;       /* out->checkpoint */
    int rc;                 /* 0 written, -1 with err */
    char err[ERR_MAX];
    pthread_t thread;
    int threaded;           /* 1 while thread is to be joined */
} CkptJob;

/* Writes job's checkpoint file (ckpt_write or ckpt_save); returns NULL. */
static void *ckpt_job_main(void *arg) {
    CkptJob *j = arg;
    j->rc = j->selected ? ckpt_write(j->selected, j->model, j->epoch, j->key,
                                     j->path, j->err)
                        : ckpt_save(j->model, j->epoch, j->key, j->path, j->err);
    return NULL;
}

/* Starts writing the run's checkpoint, once, at the end: the parameters of
 * the selected epoch e (r->selected, or the model itself when selected is
 * NULL) to out->checkpoint, bound to the run (ckpt_run_key of its row).
 * With background set the file is written by a thread (when one can be
 * created; else here), so that the caller computes meanwhile without
 * touching the parameters; checkpoint_finish waits for it and records the
 * path.  Returns 1 with *j to finish, 0 when nothing is saved (the database
 * is in memory), or -1 with err. */
static int checkpoint_start(Runner *r, Db *db, int64_t run_id, int e,
                            const float *selected, int background,
                            RunOutcome *out, CkptJob *j, char *err) {
    memset(j, 0, sizeof *j);
    int rc = checkpoint_path(db, run_id, out->checkpoint, sizeof out->checkpoint, err);
    if (rc <= 0) {
        out->checkpoint[0] = '\0';
        return rc;
    }
    if (db_check_file(db, "write the checkpoint", err) ||
        db_run_key(db, run_id, &j->key, err))
        return -1;
    j->model = &r->trainer.model;
    j->selected = selected;
    j->epoch = e;
    j->path = out->checkpoint;
    j->threaded = background && pthread_create(&j->thread, NULL, ckpt_job_main, j) == 0;
    if (!j->threaded) ckpt_job_main(j);
    return 1;
}

/* Waits for j's file and records its path in the database.  Returns 0, or
 * -1 with err (the file's error first). */
static int checkpoint_finish(Db *db, int64_t run_id, CkptJob *j, char *err) {
    if (j->threaded) pthread_join(j->thread, NULL);
    j->threaded = 0;
    if (j->rc) {
        memcpy(err, j->err, ERR_MAX);
        return -1;
    }
    return db_run_set_checkpoint(db, run_id, j->path, err);
}

/* Keeps a copy of the current parameters (the moving average's with
 * use_ema) as the selected ones (in memory: written once at the end).
 * Returns 0 or -1 with err. */
static int keep_selected(Runner *r, int use_ema, char *err) {
    const Model *m = &r->trainer.model;
    if (!r->selected) {
        r->selected = mem_alloc(m->num_params * sizeof *r->selected);
        if (!r->selected)
            return err_set(err, "out of memory keeping the selected epoch's parameters "
                           "(%.3g MB)", m->num_params * 4.0 / 1e6);
    }
    model_export(m, use_ema ? &r->avg.tensors : &m->params, r->selected);
    return 0;
}

/* The validation (val, may be NULL: *va left as it is) and test metrics of
 * the trainer's current model in one pass over the rows (trainer_evaluate_many:
 * the same numbers as two trainer_evaluate calls). */
static void evaluate_pair(Trainer *t, const Csr *val, EvalMetrics *va,
                          const Csr *test, EvalMetrics *te) {
    const Csr *ms[2] = {test, val};
    EvalMetrics out[2];
    trainer_evaluate_many(t, ms, val ? 2 : 1, out);
    *te = out[0];
    if (val) *va = out[1];
}

/* The average of trainer t: train.ema's moving average, updated from the
 * first step (t->avg set), or train.swa_start's mean, set going by
 * runner_avg_epoch; a zeroed *a without either.  Returns 0 or -1 with err
 * (out of memory).  Free with avg_free. */
static int runner_avg_create(const Runner *r, WeightAvg *a, Trainer *t,
                             char *err) {
    memset(a, 0, sizeof *a);
    if (r->cfg.ema > 0) {
        if (avg_create(a, &t->model, (float)r->cfg.ema, err)) return -1;
        t->avg = a;
    } else if (r->cfg.swa_start > 0) {
        if (avg_create_mean(a, &t->model, err)) return -1;
    }
    return 0;
}

/* Before epoch e: with train.swa_start, the mean starts afresh at its
 * first epoch and t updates it after every step from then on. */
static void runner_avg_epoch(const Runner *r, WeightAvg *a, Trainer *t,
                             int e) {
    if (r->cfg.swa_start > 0 && e == r->cfg.swa_start) {
        avg_reset(a, &t->model);
        t->avg = a;
    }
}

/* Creates in *t a fresh trainer on r->refit_train, as r->trainer was
 * created (r->opt, r->arch, its protocol).  Returns 0 or -1 with err. */
static int refit_trainer(Runner *r, Trainer *t, char *err) {
    assert(r->refit_train.nnz > 0);
    if (trainer_create_arch(t, &r->opt, &r->arch, &r->refit_train, &r->test,
                            err))
        return -1;
    t->proto = r->trainer.proto;
    return 0;
}

int runner_use_refit(Runner *r, char *err) {
    Trainer t;
    if (!r->cfg.refit || r->refit_train.nnz == 0)
        return err_set(err, "the run has no refit (train.refit is false)");
    if (refit_trainer(r, &t, err)) return -1;
    trainer_free(&r->trainer);
    r->trainer = t;
    return 0;
}

int runner_refit_epoch_done(Db *db, int64_t run_id, const RunHooks *hooks,
                            const RunnerEpoch *ep, RunOutcome *out,
                            RunStatus *status, char *err) {
    const EvalMetrics *te = &ep->test;
    if (!isfinite(ep->loss) || !isfinite(te->rmse)) {
        err_set(err, "run %lld diverged at refit epoch %d of %d (train "
                "loss %g, test RMSE %g): lower train.lr or set "
                "train.refit: false", (long long)run_id, ep->epoch, ep->epochs,
                ep->loss, te->rmse);
        *status = RUN_DIVERGED;
        return 1;
    }
    DbEpoch row = {.epoch = ep->epoch, .train_loss = ep->loss,
                   .test_rmse = te->rmse, .train_seconds = ep->train_seconds,
                   .eval_seconds = ep->eval_seconds, .test_mae = te->mae,
                   .val_rmse = NAN, .val_mae = NAN};
    if (db_refit_epoch_add(db, run_id, &row, err)) {
        *status = RUN_FAILED;
        return 1;
    }
    out->refit_epochs = ep->epoch;
    out->refit_test_rmse = te->rmse;
    out->refit_test_mae = te->mae;
    if (hooks && hooks->on_refit_epoch)
        hooks->on_refit_epoch(hooks->ctx, &row, ep->epochs);
    return 0;
}

/* train.refit: trains a fresh trainer (r->opt, r->arch: the same
 * initialisation and shuffling seed) on r->refit_train for
 * out->selected_epoch epochs under the same learning-rate schedule,
 * recording each epoch's train loss and test RMSE/MAE (recorded only: no
 * decision reads them).  When every epoch ran, the refit trainer replaces
 * r->trainer.  Returns the status; err is set for DIVERGED and FAILED. */
static RunStatus runner_refit(Runner *r, Db *db, int64_t run_id,
                              const RunHooks *hooks, RunOutcome *out,
                              char *err) {
    const volatile sig_atomic_t *stop = hooks ? hooks->stop : NULL;
    const int epochs = out->selected_epoch;
    RunStatus status = RUN_FINISHED;
    Trainer t;
    WeightAvg avg;   /* train.ema or swa_start: the refit's own average */
    memset(&avg, 0, sizeof avg);
    assert(epochs > 0);
    if (refit_trainer(r, &t, err)) return RUN_FAILED;
    if (runner_avg_create(r, &avg, &t, err)) {
        trainer_free(&t);
        return RUN_FAILED;
    }
    for (int e = 1; e <= epochs; e++) {
        t.opt.lr = (float)runner_lr_at(&r->cfg, e);
        runner_avg_epoch(r, &avg, &t, e);
        double t0 = now_seconds(), loss = NAN;
        int stopped = trainer_epoch(&t, stop, &loss);
        double t1 = now_seconds();
        if (stopped || (stop && *stop)) { status = RUN_INTERRUPTED; break; }
        const EvalMetrics none = {NAN, NAN, 0, 0};
        RunnerEpoch ep = {.epoch = e, .epochs = epochs, .loss = loss,
                          .train_seconds = t1 - t0, .test = none, .val = none,
                          .ema_test = none, .ema_val = none};
        /* the weights the selection chose: the average's when it won (and
         * runs: train.swa_start's from its first epoch) */
        const int use_avg = out->selected_ema && t.avg;
        if (use_avg) avg_swap(&avg, &t.model);
        trainer_evaluate(&t, &r->test, &ep.test);
        if (use_avg) avg_swap(&avg, &t.model);
        ep.eval_seconds = now_seconds() - t1;
        if (runner_refit_epoch_done(db, run_id, hooks, &ep, out, &status, err))
            break;
    }
    if (status == RUN_FINISHED && out->selected_ema) avg_assign(&avg, &t.model);
    t.avg = NULL;
    avg_free(&avg);
    if (status == RUN_FINISHED) {
        trainer_free(&r->trainer);
        r->trainer = t;
    } else {
        trainer_free(&t);
    }
    return status;
}

/* Ranks with the current trainer model and records the metrics in *m
 * (eval.top_k_every).  Returns 0 or -1 with err. */
static int epoch_topn(Runner *r, DbEpoch *row, char *err) {
    TopnMetrics m;
    if (runner_topn(r, &m, err)) return -1;
    row->has_topn = 1;
    row->topn[0] = m.precision;
    row->topn[1] = m.recall;
    row->topn[2] = m.ndcg;
    row->topn[3] = m.hit_rate;
    return 0;
}

/* r->capture: the predictions of the current trainer model at the
 * validation and test ratings into *val and *test (new arrays; val NULL
 * when test_only).  Returns 0 or -1 with err. */
static int capture_predictions(Runner *r, int test_only, float **val,
                               float **test, char *err) {
    const Dataset *ds = &r->ds;
    const int by_user = r->cfg.variant == VARIANT_USER;
    if (!test_only) {
        *val = mem_alloc((ds->n_val ? ds->n_val : 1) * sizeof **val);
        if (!*val || runner_predict_ratings(&r->trainer, by_user, ds->val,
                                            ds->n_val, *val, err))
            return *val ? -1 : err_set(err, "out of memory for %zu "
                                       "predictions", ds->n_val);
    }
    *test = mem_alloc((ds->n_test ? ds->n_test : 1) * sizeof **test);
    if (!*test)
        return err_set(err, "out of memory for %zu predictions", ds->n_test);
    return runner_predict_ratings(&r->trainer, by_user, ds->test, ds->n_test,
                                  *test, err);
}

int runner_epoch_done(Runner *r, Db *db, int64_t run_id,
                      const RunHooks *hooks, const RunnerEpoch *ep,
                      int patience_on, int *since_best, RunOutcome *out,
                      RunStatus *status, char *err) {
    const int has_val = r->val.nnz > 0, e = ep->epoch, ema = ep->has_ema;
    const double loss = ep->loss, rmse = ep->test.rmse;
    const EvalMetrics *va = &ep->val, *vaa = &ep->ema_val;
    if (!isfinite(loss) || !isfinite(rmse) || (has_val && !isfinite(va->rmse)) ||
        (ema && (!isfinite(ep->ema_test.rmse) ||
                 (has_val && !isfinite(vaa->rmse))))) {
        if (has_val)
            err_set(err, "run %lld diverged at epoch %d (train loss %g, "
                    "validation RMSE %g, test RMSE %g): lower train.lr or "
                    "check the data", (long long)run_id, e, loss, va->rmse,
                    rmse);
        else
            err_set(err, "run %lld diverged at epoch %d (train loss %g, test RMSE %g): "
                    "lower train.lr or check the data", (long long)run_id, e, loss, rmse);
        *status = RUN_DIVERGED;
        return 1;
    }
    /* selection reads the validation split only; the test metrics are
     * recorded, never compared.  The candidates of an epoch: the raw
     * weights and, with train.ema, the average (chosen only when its
     * validation RMSE is lower) */
    const int use_ema = ema && has_val && vaa->rmse < va->rmse;
    const double cand_val = use_ema ? vaa->rmse : va->rmse;
    const int selected = has_val ? !(cand_val >= out->selected_val_rmse) : 1;
    /* the selected epoch's parameters are kept for the checkpoint, the
     * ranking metrics and the predictions of an ensemble member (AutoRec
     * models: a GLocal-K run has none of these) */
    const int keep = !r->glocal &&
                     (r->cfg.checkpoint || r->cfg.top_k > 0 || r->capture);
    if (selected && has_val && keep && keep_selected(r, use_ema, err)) {
        *status = RUN_FAILED;
        return 1;
    }
    DbEpoch row = {.epoch = e, .train_loss = loss, .test_rmse = rmse,
                   .train_seconds = ep->train_seconds,
                   .eval_seconds = ep->eval_seconds, .test_mae = ep->test.mae,
                   .has_val = has_val, .val_rmse = va->rmse,
                   .val_mae = va->mae, .selected = selected,
                   .has_ema = ema, .ema_val_rmse = vaa->rmse,
                   .ema_test_rmse = ep->ema_test.rmse,
                   .selected_ema = selected && use_ema};
    if (!r->glocal && r->cfg.top_k_every > 0 && e % r->cfg.top_k_every == 0) {
        const double t0 = now_seconds();
        if (epoch_topn(r, &row, err)) {
            *status = RUN_FAILED;
            return 1;
        }
        row.eval_seconds += now_seconds() - t0;
    }
    if (db_epoch_add(db, run_id, &row, err)) {
        *status = RUN_FAILED;
        return 1;
    }
    out->epochs_done = e;
    out->final_rmse = rmse;
    if (!(rmse >= out->best_rmse)) { out->best_rmse = rmse; out->best_epoch = e; }
    if (selected) {
        out->selected_epoch = e;
        out->selected_test_rmse = use_ema ? ep->ema_test.rmse : rmse;
        out->selected_val_rmse = cand_val;
        out->selected_ema = use_ema;
    }
    *since_best = selected ? 0 : *since_best + 1;
    if (hooks && hooks->on_epoch) hooks->on_epoch(hooks->ctx, &row, ep->epochs);
    if (hooks && hooks->prune && e < ep->epochs) {
        int pr = hooks->prune(hooks->ctx, &row, err);
        if (pr) {
            *status = pr == 1 ? RUN_PRUNED : pr == 2 ? RUN_INTERRUPTED : RUN_FAILED;
            return 1;
        }
    }
    if (patience_on && has_val && r->cfg.patience > 0 &&
        *since_best >= r->cfg.patience) {
        out->stopped_early = 1;
        return 1;
    }
    return 0;
}

RunStatus runner_record_peak_rss(Db *db, int64_t run_id, RunStatus status,
                                 RunOutcome *out, char *err) {
    char why[ERR_MAX];   /* a lost run was reported above */
    out->peak_rss_mb = rss_peak_mb();
    if (db_run_set_peak_rss(db, run_id, out->peak_rss_mb, why) &&
        status == RUN_FINISHED) {
        memcpy(err, why, sizeof why);
        status = RUN_FAILED;
    }
    return status;
}

void runner_outcome_init(RunOutcome *out) {
    memset(out, 0, sizeof *out);
    out->final_rmse = out->best_rmse = NAN;
    out->selected_test_rmse = out->selected_val_rmse = NAN;
    out->refit_test_rmse = out->refit_test_mae = NAN;
}

RunStatus runner_train(Runner *r, Db *db, int64_t run_id, const RunHooks *hooks,
                       RunOutcome *out, char *err) {
    if (r->glocal) return runner_glocal_train(r, db, run_id, hooks, out, err);
    const volatile sig_atomic_t *stop = hooks ? hooks->stop : NULL;
    const int has_val = r->val.nnz > 0;
    runner_outcome_init(out);
    double t_start = now_seconds();
    RunStatus status = RUN_FINISHED;
    int since_best = 0;
    avg_free(&r->avg);
    if (runner_avg_create(r, &r->avg, &r->trainer, err)) return RUN_FAILED;
    for (int e = 1; e <= r->cfg.epochs; e++) {
        r->trainer.opt.lr = (float)runner_lr_at(&r->cfg, e);
        runner_avg_epoch(r, &r->avg, &r->trainer, e);
        /* the average is evaluated once it runs (train.ema: every epoch) */
        const int ema = r->trainer.avg != NULL;
        double t0 = now_seconds(), loss = NAN;
        int stopped = trainer_epoch(&r->trainer, stop, &loss);
        double t1 = now_seconds();
        if (stopped || (stop && *stop)) { status = RUN_INTERRUPTED; break; }
        const EvalMetrics none = {NAN, NAN, 0, 0};
        RunnerEpoch ep = {.epoch = e, .epochs = r->cfg.epochs, .loss = loss,
                          .train_seconds = t1 - t0, .test = none, .val = none,
                          .has_ema = ema, .ema_test = none, .ema_val = none};
        evaluate_pair(&r->trainer, has_val ? &r->val : NULL, &ep.val, &r->test,
                      &ep.test);
        if (ema) {   /* the moving average beside the raw weights */
            avg_swap(&r->avg, &r->trainer.model);
            evaluate_pair(&r->trainer, has_val ? &r->val : NULL, &ep.ema_val,
                          &r->test, &ep.ema_test);
            avg_swap(&r->avg, &r->trainer.model);
        }
        ep.eval_seconds = now_seconds() - t1;
        if (runner_epoch_done(r, db, run_id, hooks, &ep, 1, &since_best, out,
                              &status, err))
            break;
    }
    r->trainer.avg = NULL;
    /* a finished run's result model goes into the trainer: the selected
     * epoch's parameters (with a validation split; else the last epoch's,
     * already there), before the refit replaces it */
    if (status == RUN_FINISHED && has_val && r->selected)
        model_import(&r->trainer.model, &r->trainer.model.params, r->selected);
    if (status == RUN_FINISHED && r->capture &&
        capture_predictions(r, 0, &r->pred_val, &r->pred_test, err))
        status = RUN_FAILED;
    if (status == RUN_FINISHED && r->cfg.refit && out->selected_epoch > 0)
        status = runner_refit(r, db, run_id, hooks, out, err);
    if (status == RUN_FINISHED && r->capture && r->cfg.refit) {
        float *unused = NULL;
        if (capture_predictions(r, 1, &unused, &r->pred_refit, err))
            status = RUN_FAILED;
    }
    /* the checkpoint: the refit model when the refit finished; else the
     * selected epoch's: for a finished run; for an interrupted one only
     * with a validation split (its selected epoch was copied whole; without
     * one the model is mid-epoch); none at all with train.checkpoint:
     * false.  Written while the ranking metrics are computed. */
    int ck_want = 0, ck_epoch = 0;
    const float *ck_params = NULL;
    if (r->cfg.checkpoint && status == RUN_FINISHED && r->cfg.refit) {
        ck_want = 1;
        ck_epoch = out->refit_epochs;
    } else if (r->cfg.checkpoint && out->epochs_done > 0 &&
               (status == RUN_FINISHED || status == RUN_PRUNED ||
                (status == RUN_INTERRUPTED && r->selected)) &&
               (!has_val || r->selected)) {
        ck_want = 1;
        ck_epoch = has_val ? out->selected_epoch : out->epochs_done;
        ck_params = has_val ? r->selected : NULL;
    }
    const int rank = status == RUN_FINISHED && r->cfg.top_k > 0;
    CkptJob job;
    int ck = 0;
    if (ck_want) {
        ck = checkpoint_start(r, db, run_id, ck_epoch, ck_params, rank, out,
                              &job, err);
        if (ck < 0) status = RUN_FAILED;
    }
    /* the ranking metrics of the result model (the trainer holds it) */
    int rank_rc = 0;
    char rank_err[ERR_MAX] = "";
    if (status == RUN_FINISHED && rank)
        rank_rc = runner_topn(r, &out->topn, rank_err);
    /* recorded as before the overlap: the checkpoint (its failure first,
     * and then no ranking metrics), then the ranking's */
    if (ck > 0 && checkpoint_finish(db, run_id, &job, err)) {
        status = RUN_FAILED;
    } else if (status == RUN_FINISHED && rank) {
        if (rank_rc) {
            memcpy(err, rank_err, ERR_MAX);
            status = RUN_FAILED;
        } else if (db_run_set_topn(db, run_id, &out->topn, err)) {
            status = RUN_FAILED;
        } else {
            out->has_topn = 1;
        }
    }
    out->seconds = now_seconds() - t_start;
    return runner_record_peak_rss(db, run_id, status, out, err);
}

const char *runner_status_name(RunStatus s) {
    switch (s) {
    case RUN_FINISHED: return "finished";
    case RUN_INTERRUPTED: return "interrupted";
    case RUN_DIVERGED: return "diverged";
    case RUN_PRUNED: return "pruned";
    case RUN_FAILED: return "failed";
    }
    return "failed";
}

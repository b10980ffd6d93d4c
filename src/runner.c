/* runner.c - one training run (see runner.h). */
#include "runner.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blas.h"
#include "err.h"
#include "mem.h"
#include "version.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* 80% of physical memory (a bound for model sizes), or 8 GB if unknown. */
static size_t memory_budget(void) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || size <= 0) return (size_t)8 << 30;
    return (size_t)pages * (size_t)size / 10 * 8;
}

/* The dense kernel table for k, or NULL for the sparse kernels. */
static const KernelOps *resolve_kernel(KernelKind k, const Csr *train) {
    switch (k) {
    case KERNEL_NAIVE: return &kernels_naive;
    case KERNEL_DENSE: return &kernels_dense;
    case KERNEL_SPARSE: return NULL;
    case KERNEL_AUTO: break;
    }
    double cells = (double)train->rows * (double)train->cols;
    return (double)train->nnz < RUNNER_SPARSE_DENSITY * cells ? NULL : &kernels_dense;
}

int runner_prepare(Runner *r, const Config *cfg, char *err) {
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    r->threads = cfg->threads ? cfg->threads : omp_get_num_procs();
    omp_set_num_threads(r->threads);
    if (data_load(cfg, &r->ds, err)) return -1;
    const Dataset *ds = &r->ds;
    if (csr_from_ratings(&r->train, ds->train, ds->n_train, ds->num_items,
                         ds->num_users, err) ||
        csr_from_ratings(&r->test, ds->test, ds->n_test, ds->num_items,
                         ds->num_users, err))
        return -1;
    TrainOptions opt = {cfg->hidden, (float)cfg->dropout, cfg->batch_size,
                        (float)cfg->lr, (float)cfg->weight_decay, cfg->seed,
                        resolve_kernel(cfg->kernel, &r->train), memory_budget()};
    if (trainer_create(&r->trainer, &opt, &r->train, &r->test, err)) return -1;
    r->kernel = trainer_kernel_name(&r->trainer);
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
    trainer_free(&r->trainer);
    csr_free(&r->train);
    csr_free(&r->test);
    mem_free(r->config_yaml);
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

RunStatus runner_train(Runner *r, Db *db, int64_t run_id, const RunHooks *hooks,
                       RunOutcome *out, char *err) {
    const volatile sig_atomic_t *stop = hooks ? hooks->stop : NULL;
    memset(out, 0, sizeof *out);
    out->final_rmse = out->best_rmse = NAN;
    double t_start = now_seconds();
    RunStatus status = RUN_FINISHED;
    for (int e = 1; e <= r->cfg.epochs; e++) {
        double t0 = now_seconds(), loss = NAN;
        int stopped = trainer_epoch(&r->trainer, stop, &loss);
        double t1 = now_seconds();
        if (stopped || (stop && *stop)) { status = RUN_INTERRUPTED; break; }
        double rmse = trainer_test_rmse(&r->trainer);
        double t2 = now_seconds();
        if (!isfinite(loss) || !isfinite(rmse)) {
            err_set(err, "run %lld diverged at epoch %d (train loss %g, test RMSE %g): "
                    "lower train.lr or check the data", (long long)run_id, e, loss, rmse);
            status = RUN_DIVERGED;
            break;
        }
        DbEpoch row = {e, loss, rmse, t1 - t0, t2 - t1};
        if (db_epoch_add(db, run_id, &row, err)) { status = RUN_FAILED; break; }
        out->epochs_done = e;
        out->final_rmse = rmse;
        if (!(rmse >= out->best_rmse)) { out->best_rmse = rmse; out->best_epoch = e; }
        if (hooks && hooks->on_epoch) hooks->on_epoch(hooks->ctx, &row, r->cfg.epochs);
    }
    out->seconds = now_seconds() - t_start;
    return status;
}

const char *runner_status_name(RunStatus s) {
    switch (s) {
    case RUN_FINISHED: return "finished";
    case RUN_INTERRUPTED: return "interrupted";
    case RUN_DIVERGED: return "diverged";
    case RUN_FAILED: return "failed";
    }
    return "failed";
}

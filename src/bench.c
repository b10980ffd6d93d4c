/* bench.c - `autorec bench`: times a config per kernel and thread count.
 *
 * Every measured run is a real run recorded in the results database (name
 * "bench-KERNEL-Nt", kernel, threads, git commit, per-epoch seconds), so
 * benchmarks can be compared across commits with SQL; the measured sgemm
 * peak is recorded in the runs' blis_info.  A benchmark, not a test: it
 * prints medians over repeats and ratios measured in the same process. */
#include "bench.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas.h"
#include "cfg.h"
#include "cli.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "runner.h"

#define MAX_SAMPLES 4096

void bench_usage(FILE *f) {
    fprintf(f,
"usage: autorec bench [--config FILE] [--db PATH] [--repeats N] [--set KEY=VALUE]...\n"
"       autorec bench --load [--config FILE] [--repeats N] [--set KEY=VALUE]...\n"
"       autorec bench --shape NAME [--data PATH] [--epochs N] [--repeats N]\n"
"                     [--config FILE] [--db PATH] [--set KEY=VALUE]...\n"
"\n"
"Times the config (default configs/seed.yaml) with each kernel (naive: one\n"
"epoch; dense, sparse: all epochs) on 1 thread and on all cores, and prints\n"
"seconds per epoch, whole-run wall seconds and GFLOP/s (medians over N\n"
"repeats, default 3), the speed-ups, and the measured peak of bli_sgemm.\n"
"Each measured run is recorded in the database (default " CLI_DEFAULT_DB ") as\n"
"a run named bench-KERNEL-Nt, so results can be compared across commits:\n"
"  SELECT git_commit, kernel, threads, avg(train_seconds + eval_seconds)\n"
"  FROM runs JOIN epochs ON epochs.run_id = runs.id\n"
"  WHERE runs.name LIKE 'bench-%%' GROUP BY 1, 2, 3;\n"
"The peak column is the largest peak resident memory (MiB) of the repeats.\n"
"\n"
"--load times reading the config's ratings file instead: the line parser,\n"
"the fast reader, and a run's whole data load without and with the ratings\n"
"cache (data.cache), each once per round, medians of N rounds (default 3).\n"
"\n"
"--shape NAME (ml-100k, ml-1m, ml-10m, netflix) times one data-set shape\n"
"with the config's model and training keys, phase by phase: loading (data,\n"
"split, model), training and evaluation per epoch, the ranking metrics of\n"
"eval.top_k; seconds, GFLOP/s against the sgemm peak, GB/s (a model of\n"
"the traffic, docs/performance.md) against a measured triad peak, peak resident\n"
"memory.  The data: --data PATH (a ratings file or directory, ML-1M format:\n"
"autorec synth writes one), else the synthetic NAME shape, generated once\n"
"into the ratings cache directory ($AUTOREC_CACHE_DIR, else\n"
"$XDG_CACHE_HOME/autorec, else ~/.cache/autorec) as synth-NAME/ratings.dat.\n"
"--epochs N (default 2) epochs per run, --repeats N (default 1) runs, each\n"
"recorded as a run named bench-shape-NAME; train.checkpoint is false unless\n"
"--set says otherwise.\n");
}

/* See bench.h. */
double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* See bench.h. */
double bench_median(double *v, int n) {
    if (n <= 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* See bench.h. */
double bench_sgemm_peak(int threads) {
    const int n = 1024;
    size_t nn = (size_t)n * n;
    float *buf = mem_alloc_aligned(nn * 3 * (size_t)threads * sizeof(float));
    if (!buf) return NAN;
    for (size_t i = 0; i < nn * 3 * (size_t)threads; i++) buf[i] = (float)(i % 7) * 1e-3f;
    double t[5];
    for (int r = 0; r < 5; r++) {
        double t0 = bench_now();
        #pragma omp parallel for num_threads(threads) schedule(static, 1)
        for (int k = 0; k < threads; k++) {
            float *a = buf + nn * 3 * (size_t)k;
            blas_sgemm(n, n, n, 1.0f, a, n, 1, a + nn, n, 1, 0.0f, a + 2 * nn, n, 1);
        }
        t[r] = bench_now() - t0;
    }
    mem_free_aligned(buf);
    return 2.0 * n * n * n * threads / bench_median(t, 5) / 1e9;
}

typedef struct {
    double epoch[MAX_SAMPLES], train[MAX_SAMPLES], eval[MAX_SAMPLES];
    int n;
} Samples;

static void collect(void *ctx, const DbEpoch *e, int epochs) {
    (void)epochs;
    Samples *s = ctx;
    if (s->n < MAX_SAMPLES) {
        s->epoch[s->n] = e->train_seconds + e->eval_seconds;
        s->train[s->n] = e->train_seconds;
        s->eval[s->n++] = e->eval_seconds;
    }
}

/* See bench.h. */
void bench_epoch_flops(const Runner *r, double *train, double *eval) {
    const Trainer *t = &r->trainer;
    const int L = t->model.num_layers;
    const double H1 = t->model.width[1], Hk = t->model.width[L - 1];
    const double U = t->num_users, I = t->num_items;
    double rows = floor(I / t->opt.batch_size) * t->opt.batch_size, mid = 0.0;
    /* evaluation: the test and, with a split, the validation ratings, each
     * its own pass; outputs only at their entries (trainer_evaluate) */
    const double passes = r->val.nnz > 0 ? 2.0 : 1.0;
    const double outs = (double)r->test.nnz + (double)r->val.nnz;
    for (int l = 1; l < L - 1; l++) mid += (double)t->model.width[l] * t->model.width[l + 1];
    if (t->opt.ops) {
        /* enc, dWe; dec, dhd, dWd */
        *train = 2.0 * rows * (2.0 * U * H1 + 3.0 * U * Hk + 3.0 * mid);
        *eval = 2.0 * (passes * I * (U * H1 + mid) + Hk * outs);
    } else {
        double nnz = (double)r->train.nnz * rows / I;
        *train = 2.0 * (2.0 * nnz * H1 + 3.0 * nnz * Hk + 3.0 * rows * mid);
        *eval = 2.0 * (passes * (H1 * (double)r->train.nnz + I * mid) + Hk * outs);
    }
}

typedef struct {
    const char *kernel;
    int threads;
    double epoch_s, train_s, eval_s, wall_s, gflops;
    double peak_mb;   /* largest peak resident MiB of the repeats */
    int epochs, repeats;
} Result;

/* Runs cfg `repeats` times, recording each run; fills *res.  Returns 0 or -1
 * with err. */
static int measure(const Config *cfg, Db *db, int repeats, const char *peak_info,
                   Result *res, char *err) {
    Samples *s = mem_calloc(1, sizeof *s);
    double walls[64];
    double ftrain = 0, feval = 0;
    int rc = -1;
    if (!s) return err_set(err, "out of memory");
    for (int k = 0; k < repeats && k < 64; k++) {
        Runner r;
        double t0 = bench_now();
        if (runner_prepare(&r, cfg, err)) { runner_free(&r); goto done; }
        DbRunInfo info;
        runner_info(&r, &info);
        char blis[768];
        snprintf(blis, sizeof blis, "%s; %s", info.blis_info, peak_info);
        info.blis_info = blis;
        int64_t id;
        RunOutcome out;
        RunHooks hooks = {collect, s, NULL, NULL, NULL};
        if (db_run_begin(db, &info, &id, err)) { runner_free(&r); goto done; }
        RunStatus st = runner_train(&r, db, id, &hooks, &out, err);
        db_run_end(db, id, runner_status_name(st), err);
        walls[k] = bench_now() - t0;
        if (out.peak_rss_mb > res->peak_mb) res->peak_mb = out.peak_rss_mb;
        bench_epoch_flops(&r, &ftrain, &feval);
        res->kernel = r.kernel;
        runner_free(&r);
        if (st != RUN_FINISHED) goto done;
    }
    res->threads = cfg->threads;
    res->epochs = cfg->epochs;
    res->repeats = repeats;
    double tr = bench_median(s->train, s->n), ev = bench_median(s->eval, s->n);
    res->epoch_s = bench_median(s->epoch, s->n);
    res->train_s = tr;
    res->eval_s = ev;
    res->wall_s = bench_median(walls, repeats);
    res->gflops = (ftrain + feval) / (tr + ev) / 1e9;
    rc = 0;
done:
    mem_free(s);
    return rc;
}

int bench_main(int argc, char **argv) {
    const char *db_path = CLI_DEFAULT_DB;
    CliConfig in = {.config = "configs/seed.yaml"};
    int repeats = 0, load = 0, epochs = 0, r;
    BenchShapeOptions shape = {.shape = NULL};
    char err[ERR_MAX];
    const CliOpt opts[] = {
        {.name = "--config", .kind = CLI_TEXT, .dest = &in.config},
        {.name = "--db", .kind = CLI_TEXT, .dest = &db_path},
        {.name = "--set", .kind = CLI_SET, .dest = &in},
        {.name = "--repeats", .kind = CLI_INT, .dest = &repeats, .min = 1,
         .max = 64},
        {.name = "--load", .kind = CLI_FLAG, .dest = &load},
        {.name = "--shape", .kind = CLI_TEXT, .dest = &shape.shape},
        {.name = "--data", .kind = CLI_TEXT, .dest = &shape.data},
        {.name = "--epochs", .kind = CLI_INT, .dest = &epochs, .min = 1,
         .max = 4096},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "bench", .usage = bench_usage, .opts = opts};

    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    if (shape.shape && load) {
        fprintf(stderr, "autorec bench: --shape and --load are separate "
                "benchmarks: give one of them\n");
        return EXIT_USAGE;
    }
    if (!shape.shape && (shape.data || epochs)) {
        fprintf(stderr, "autorec bench: --data and --epochs go with --shape "
                "NAME (e.g. autorec bench --shape ml-1m --epochs 2)\n");
        return EXIT_USAGE;
    }
    if (shape.shape) {
        shape.db_path = db_path;
        shape.epochs = epochs ? epochs : 2;
        shape.repeats = repeats ? repeats : 1;
        return bench_shape(&in, &shape);
    }
    if (!repeats) repeats = 3;
    const char *config = in.config;
    Config base;
    cfg_defaults(&base);
    if (cfg_load_file(&base, config, err)) goto usage_err;
    for (int i = 0; i < in.n_sets; i++)
        if (cfg_set_override(&base, in.sets[i], err)) goto usage_err;
    if (cfg_validate(&base, err)) goto usage_err;
    if (load) return bench_load(&base, repeats);
    if (base.variant == VARIANT_GLOCAL) {
        fprintf(stderr, "autorec bench: %s has model.variant glocal: bench times "
                "AutoRec's kernels (naive, dense, sparse), which GLocal-K does not "
                "use; time it with autorec run (each epoch's seconds are "
                "recorded), or bench --load for its data loading\n", config);
        return EXIT_USAGE;
    }

    const int ncores = omp_get_num_procs();
    char blis[256], peak_info[160];
    blas_describe(blis, sizeof blis);
    double peak1 = bench_sgemm_peak(1), peakn = bench_sgemm_peak(ncores);
    snprintf(peak_info, sizeof peak_info, "sgemm 1024^3 peak %.1f GFLOP/s on 1 thread, "
             "%.1f on %d", peak1, peakn, ncores);
    printf("autorec bench: %s (%s), %d cores\n%s\n%s\n\n", config, base.name, ncores,
           blis, peak_info);
    printf("%-7s %7s %7s %10s %10s %10s %10s %9s %7s %9s\n", "kernel", "threads", "epochs",
           "s/epoch", "train s", "eval s", "wall s", "GFLOP/s", "% peak", "peak MiB");

    Db *db = NULL;
    if (db_open(&db, db_path, err)) {
        fprintf(stderr, "autorec: %s\n", err);
        return EXIT_FAILED;
    }
    db_report_created(db, "bench");
    static const KernelKind kinds[3] = {KERNEL_NAIVE, KERNEL_DENSE, KERNEL_SPARSE};
    Result res[3][2];
    memset(res, 0, sizeof res);
    int nthr = ncores > 1 ? 2 : 1;
    for (int k = 0; k < 3; k++) {
        for (int t = 0; t < nthr; t++) {
            Config c = base;
            c.kernel = kinds[k];
            c.threads = t ? ncores : 1;
            if (kinds[k] == KERNEL_NAIVE) c.epochs = 1;
            snprintf(c.name, sizeof c.name, "bench-%s-%dt", cfg_kernel_name(kinds[k]), c.threads);
            Result *r = &res[k][t];
            if (measure(&c, db, kinds[k] == KERNEL_NAIVE ? 1 : repeats, peak_info, r, err)) {
                fprintf(stderr, "autorec: bench %s: %s\n", c.name, err);
                db_close(db);
                return EXIT_FAILED;
            }
            double peak = t ? peakn : peak1;
            printf("%-7s %7d %7d %10.4f %10.4f %10.4f %10.3f %9.1f %6.1f%% %9.0f\n",
                   r->kernel, r->threads, r->epochs, r->epoch_s, r->train_s, r->eval_s,
                   r->wall_s, r->gflops, 100.0 * r->gflops / peak, r->peak_mb);
            fflush(stdout);
        }
    }
    db_close(db);
    int a = nthr - 1;
    printf("\nspeed-up per epoch, %d threads: sparse over dense %.1fx, dense over naive %.1fx\n",
           res[1][a].threads, res[1][a].epoch_s / res[2][a].epoch_s,
           res[0][a].epoch_s / res[1][a].epoch_s);
    if (nthr > 1)
        printf("speed-up of %d threads over 1: naive %.2fx, dense %.2fx, sparse %.2fx\n",
               ncores, res[0][0].epoch_s / res[0][1].epoch_s,
               res[1][0].epoch_s / res[1][1].epoch_s, res[2][0].epoch_s / res[2][1].epoch_s);
    printf("whole run (%d epochs, median wall incl. data loading): dense %.2f s, sparse %.2f s\n",
           base.epochs, res[1][a].wall_s, res[2][a].wall_s);
    printf("GFLOP/s count the work each kernel does (sparse: observed entries only); "
           "%% peak is against the sgemm peak for that thread count.\n"
           "recorded as runs named bench-* in %s\n", db_path);
    return EXIT_OK;
usage_err:
    fprintf(stderr, "autorec: %s\n", err);
    return EXIT_USAGE;
}

/* bench_shape.c - `autorec bench --shape NAME`: one data-set shape, phase by
 * phase.
 *
 * The data: --data PATH, or the synthetic set of that shape (synth.h),
 * generated once into <cache dir>/synth-NAME/ratings.dat (the ratings
 * cache's directory, data_cache.h) and reused afterwards.  Each repeat is a
 * real run recorded in the results database (named bench-shape-NAME): its
 * loading (data, split, model), every epoch's training and evaluation, then
 * the ranking metrics of eval.top_k, timed apart.  Printed: medians of each
 * phase's seconds, its GFLOP/s against the measured sgemm peak and its
 * GB/s against a measured triad peak, and the peak resident memory.
 *
 * GFLOP/s count the arithmetic the kernels do (bench_epoch_flops,
 * shape_rank_flops).  GB/s divide a modelled memory traffic (shape_bytes:
 * the weights, moments and matrices each phase streams, as commented
 * there) by the seconds: a ratio to read against the triad, not a
 * measurement of the traffic.  A benchmark, not a test. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blas.h"
#include "data.h"
#include "data_cache.h"
#include "db.h"
#include "db_results.h"
#include "err.h"
#include "mem.h"
#include "outfile.h"
#include "rss.h"
#include "synth.h"

#define SHAPE_MAX_REPEATS 64
#define SHAPE_MAX_EPOCHS 4096

/* Writes into out the synthetic data set of shape name, generating it into
 * the cache directory when it is not there yet.  Returns 0, or -1 with
 * err. */
static int shape_data(const char *name, char *out, size_t size, char *err) {
    SynthSpec sp = {0, 0, 0, 10, 0.6, 0};   /* autorec synth's defaults */
    char dir[DATA_CACHE_PATH_MAX];
    struct stat st;
    double oracle = 0;
    if (synth_shape(name, &sp))
        return err_set(err, "--shape: unknown shape '%s' (" SYNTH_SHAPE_NAMES
                       "; another data set: --data PATH)", name);
    if (data_cache_dir(dir, sizeof dir, err)) return -1;
    size_t n = strlen(dir);
    if (snprintf(dir + n, sizeof dir - n, "/synth-%s", name) >= (int)(sizeof dir - n) ||
        snprintf(out, size, "%s/ratings.dat", dir) >= (int)size)
        return err_set(err, "the synthetic data path under %s is too long: set "
                       "%s to a shorter directory", dir, DATA_CACHE_ENV);
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) return 0;
    if (data_cache_make_dirs(dir, err)) return -1;
    printf("generating the %s shape once: %d users x %d items, %lld ratings "
           "into %s\n", name, sp.users, sp.items, (long long)sp.ratings, out);
    fflush(stdout);
    OutFile f;
    if (outfile_open(&f, out, 0600, NULL, err)) return -1;
    if (synth_write(&sp, f.f, &oracle, err)) {
        outfile_abort(&f);
        return -1;
    }
    return outfile_commit(&f, err);
}

/* The config of the benchmark: in->config with the shape's data, epochs
 * and no checkpoint, then in's --set overrides.  Returns 0, or -1 with
 * err. */
static int shape_config(const CliConfig *in, const BenchShapeOptions *o,
                        const char *data, Config *cfg, char *err) {
    char set[DATA_CACHE_PATH_MAX + 32];
    cfg_defaults(cfg);
    if (cfg_load_file(cfg, in->config, err)) return -1;
    if (strlen(data) >= CFG_PATH_MAX)
        return err_set(err, "--data: path too long (at most %d bytes)",
                       CFG_PATH_MAX - 1);
    snprintf(set, sizeof set, "data.path=%s", data);
    if (cfg_set_override(cfg, set, err) ||
        cfg_set_override(cfg, "data.format=ml-1m", err) ||
        cfg_set_override(cfg, "train.checkpoint=false", err))
        return -1;
    if (o->epochs > 0) {
        snprintf(set, sizeof set, "train.epochs=%d", o->epochs);
        if (cfg_set_override(cfg, set, err)) return -1;
    }
    for (int i = 0; i < in->n_sets; i++)
        if (cfg_set_override(cfg, in->sets[i], err)) return -1;
    if (cfg_validate(cfg, err)) return -1;
    if (cfg->variant == VARIANT_GLOCAL)
        return err_set(err, "model.variant glocal: bench times AutoRec's "
                       "kernels; time GLocal-K with autorec run");
    snprintf(cfg->name, sizeof cfg->name, "bench-shape-%s", o->shape);
    return 0;
}

/* FLOPs of runner_topn on the prepared run r: every row's hidden layer,
 * then every output (rows x columns x the last hidden width). */
static double shape_rank_flops(const Runner *r) {
    const Trainer *t = &r->trainer;
    const int L = t->model.num_layers;
    const double H1 = t->model.width[1], Hk = t->model.width[L - 1];
    const double U = t->num_users, I = t->num_items;
    double mid = 0.0;
    for (int l = 1; l < L - 1; l++) mid += (double)t->model.width[l] * t->model.width[l + 1];
    const double enc = t->opt.ops ? I * U * H1 : H1 * (double)r->train.nnz;
    return 2.0 * (enc + I * mid + I * U * Hk);
}

/* A model of the bytes each phase moves (the weights and matrices it
 * streams, counted once per pass).  Adam's and the dense products' streams
 * are a minimum; the sparse kernels' gathered weight rows are counted once
 * per observed entry, which overcounts the rows of frequent users that
 * stay in cache between entries (so the training rate can exceed the
 * triad's):
 *   training step: Adam reads and writes 28 bytes per parameter; the
 *     sparse kernels gather, per observed entry of the batch, the entry's
 *     encoder weight row (read, then its gradient read and written: 3 H1
 *     floats) and decoder row (read twice, gradient read and written: 4 Hk);
 *     the dense kernels stream every weight four times (forward, input
 *     gradient, gradient read and write) and the batch's input, output and
 *     output gradient (3 B U floats);
 *   evaluation: the encoder rows of every training entry (sparse) or the
 *     dense input rows and the encoder once per batch (dense), per pass,
 *     then one decoder row per evaluated entry;
 *   ranking: as one evaluation pass for the hidden layers, the decoder once
 *     per batch of rows, and the block of scores written and read. */
static void shape_bytes(const Runner *r, double *train, double *eval,
                        double *rank) {
    const Trainer *t = &r->trainer;
    const int L = t->model.num_layers;
    const double H1 = t->model.width[1], Hk = t->model.width[L - 1];
    const double U = t->num_users, I = t->num_items, B = t->opt.batch_size;
    const double P = (double)t->model.num_params;
    const double steps = floor(I / B), chunks = ceil(I / B);
    const double passes = r->val.nnz > 0 ? 2.0 : 1.0;
    const double outs = (double)r->test.nnz + (double)r->val.nnz;
    const double nnz = (double)r->train.nnz, seen = nnz * steps * B / I;
    double enc;
    if (t->opt.ops) {
        *train = steps * (28.0 * P + 16.0 * P + 12.0 * B * U);
        enc = 4.0 * I * U + chunks * 4.0 * H1 * U;
    } else {
        *train = steps * 28.0 * P + 4.0 * (3.0 * H1 + 4.0 * Hk) * seen;
        enc = 4.0 * H1 * nnz;
    }
    *eval = passes * enc + 4.0 * Hk * outs;
    *rank = enc + chunks * 4.0 * U * Hk + 8.0 * I * U;
}

typedef struct {
    double train[SHAPE_MAX_EPOCHS], eval[SHAPE_MAX_EPOCHS];
    int n;
} ShapeEpochs;

static void shape_collect(void *ctx, const DbEpoch *e, int epochs) {
    (void)epochs;
    ShapeEpochs *s = ctx;
    if (s->n < SHAPE_MAX_EPOCHS) {
        s->train[s->n] = e->train_seconds;
        s->eval[s->n++] = e->eval_seconds;
    }
}

/* One measured phase: medians of seconds, its work per run. */
typedef struct {
    const char *name;
    double *secs;      /* per sample */
    int n;
    double flops, bytes;   /* per sample; flops 0: not counted */
} ShapePhase;

/* Prints one phase's line against the peaks. */
static void print_phase(const ShapePhase *p, double sgemm, double triad) {
    double s = bench_median(p->secs, p->n);
    printf("%-26s %10.4f", p->name, s);
    if (p->flops > 0)
        printf(" %9.2f %9.1f %7.1f%%", p->flops / 1e9, p->flops / s / 1e9,
               100.0 * p->flops / s / 1e9 / sgemm);
    else
        printf(" %9s %9s %8s", "-", "-", "-");
    if (p->bytes > 0)
        printf(" %8.2f %7.1f%%\n", p->bytes / s / 1e9,
               100.0 * p->bytes / s / 1e9 / triad);
    else
        printf(" %8s %8s\n", "-", "-");
}

typedef struct {
    double load[SHAPE_MAX_REPEATS], rank[SHAPE_MAX_REPEATS];
    double wall[SHAPE_MAX_REPEATS];
    double peak_mb;
    double f_train, f_eval, f_rank, b_train, b_eval, b_rank;
    int64_t first_id, last_id;
    int users, items, threads, top_k;
    int64_t ratings;
    const char *kernel;
} ShapeRuns;

/* Runs cfg once as repeat k, recording it in db.  Returns 0, or -1 with
 * err. */
static int shape_repeat(const Config *cfg, Db *db, const char *peaks, int k,
                        ShapeEpochs *ep, ShapeRuns *out, char *err) {
    Runner r;
    DbRunInfo info;
    RunOutcome res;
    int64_t id;
    char blis[768];
    double t0 = bench_now();
    int rc = -1;
    if (runner_prepare(&r, cfg, err)) goto done;
    out->load[k] = bench_now() - t0;
    runner_info(&r, &info);
    snprintf(blis, sizeof blis, "%s; %s", info.blis_info, peaks);
    info.blis_info = blis;
    if (db_run_begin(db, &info, &id, err)) goto done;
    if (k == 0) out->first_id = id;
    out->last_id = id;
    /* the ranking is timed apart: off in the run, computed below */
    const int top_k = r.cfg.top_k;
    r.cfg.top_k = 0;
    RunHooks hooks = {shape_collect, ep, NULL, NULL, NULL};
    RunStatus st = runner_train(&r, db, id, &hooks, &res, err);
    r.cfg.top_k = top_k;
    out->rank[k] = 0.0;
    if (st == RUN_FINISHED && top_k > 0) {
        TopnMetrics m;
        double t1 = bench_now();
        if (runner_topn(&r, &m, err)) st = RUN_FAILED;
        out->rank[k] = bench_now() - t1;
        if (st == RUN_FINISHED && db_run_set_topn(db, id, &m, err)) st = RUN_FAILED;
    }
    double peak = rss_peak_mb();   /* since runner_prepare, ranking included */
    if (st == RUN_FINISHED && db_run_set_peak_rss(db, id, peak, err)) st = RUN_FAILED;
    char why[ERR_MAX];
    if (db_run_end(db, id, runner_status_name(st), why) && st == RUN_FINISHED) {
        snprintf(err, ERR_MAX, "%s", why);
        st = RUN_FAILED;
    }
    out->wall[k] = bench_now() - t0;
    if (peak > out->peak_mb) out->peak_mb = peak;
    bench_epoch_flops(&r, &out->f_train, &out->f_eval);
    out->f_rank = shape_rank_flops(&r);
    shape_bytes(&r, &out->b_train, &out->b_eval, &out->b_rank);
    out->users = r.ds.num_users;
    out->items = r.ds.num_items;
    out->ratings = (int64_t)(r.ds.n_train + r.ds.n_test + r.ds.n_val);
    out->threads = r.threads;
    out->kernel = r.kernel;
    out->top_k = top_k;
    if (st != RUN_FINISHED) {
        if (st != RUN_FAILED && st != RUN_DIVERGED)
            err_set(err, "the run ended %s", runner_status_name(st));
        goto done;
    }
    rc = 0;
done:
    runner_free(&r);
    return rc;
}

/* Returns buf holding the 1-minute load average (/proc/loadavg), or
 * "unknown": the other processes' share of the machine while it ran. */
static const char *shape_loadavg(char *buf, size_t size) {
    FILE *f = fopen("/proc/loadavg", "r");
    double l;
    int ok = f && fscanf(f, "%lf", &l) == 1;
    if (f) fclose(f);
    if (ok) snprintf(buf, size, "%.2f", l);
    else snprintf(buf, size, "unknown");
    return buf;
}

/* See bench.h. */
int bench_shape(const CliConfig *in, const BenchShapeOptions *o) {
    char data[DATA_CACHE_PATH_MAX], err[ERR_MAX] = "", peaks[200], loadavg[32];
    Config cfg;
    ShapeRuns runs;
    ShapeEpochs *ep = mem_calloc(1, sizeof *ep);
    Db *db = NULL;
    int code = EXIT_FAILED;
    memset(&runs, 0, sizeof runs);
    if (!ep) {
        fprintf(stderr, "autorec bench --shape: out of memory\n");
        return EXIT_FAILED;
    }
    if (o->data) {
        snprintf(data, sizeof data, "%s", o->data);
    } else if (shape_data(o->shape, data, sizeof data, err)) {
        fprintf(stderr, "autorec bench --shape %s: %s\n", o->shape, err);
        code = strncmp(err, "--shape", 7) ? EXIT_FAILED : EXIT_USAGE;
        goto out;
    }
    if (shape_config(in, o, data, &cfg, err)) {
        fprintf(stderr, "autorec bench --shape %s: %s\n", o->shape, err);
        code = EXIT_USAGE;
        goto out;
    }
    char file[2 * CFG_PATH_MAX + 16];
    struct stat st;
    if (data_ratings_file(&cfg, file, sizeof file, err) || stat(file, &st) != 0) {
        if (!err[0] || !strstr(err, file))
            snprintf(err, ERR_MAX, "cannot read the ratings file %.1024s: %s (give "
                     "--data a ratings file or a directory holding ratings.dat)",
                     file, strerror(errno));
        fprintf(stderr, "autorec bench --shape %s: %s\n", o->shape, err);
        code = EXIT_USAGE;
        goto out;
    }
    const int threads = cfg.threads > 0 ? cfg.threads : omp_get_num_procs();
    const double sgemm = bench_sgemm_peak(threads), triad = bench_triad_peak(threads);
    char blis[256];
    blas_describe(blis, sizeof blis);
    snprintf(peaks, sizeof peaks, "sgemm 1024^3 peak %.1f GFLOP/s, triad %.1f "
             "GB/s on %d threads", sgemm, triad, threads);
    if (db_open(&db, o->db_path, err)) {
        fprintf(stderr, "autorec bench --shape: %s\n", err);
        goto out;
    }
    db_report_created(db, "bench");
    printf("autorec bench --shape %s: %s (config %s)\n%s\n%s; load average "
           "%s when it started\n", o->shape, file, in->config, blis, peaks,
           shape_loadavg(loadavg, sizeof loadavg));
    fflush(stdout);
    for (int k = 0; k < o->repeats; k++)
        if (shape_repeat(&cfg, db, peaks, k, ep, &runs, err)) {
            fprintf(stderr, "autorec bench --shape %s: repeat %d: %s\n",
                    o->shape, k + 1, err);
            goto out;
        }
    printf("%d users x %d items, %lld ratings; kernel %s, optimizer %s, hidden "
           "%d, batch %d, %d threads; %d epoch%s x %d repeat%s (medians)\n\n",
           runs.users, runs.items, (long long)runs.ratings, runs.kernel,
           cfg_optimizer_name(cfg.optimizer), cfg.hidden, cfg.batch_size,
           runs.threads, cfg.epochs, cfg.epochs == 1 ? "" : "s",
           o->repeats, o->repeats == 1 ? "" : "s");
    printf("%-26s %10s %9s %9s %8s %8s %8s\n", "phase", "seconds", "GFLOP",
           "GFLOP/s", "% sgemm", "GB/s", "% triad");
    char rank_name[40];
    snprintf(rank_name, sizeof rank_name, "ranking (top %d)", runs.top_k);
    ShapePhase ph[] = {
        {"load (data, split, model)", runs.load, o->repeats, 0, 0},
        {"train, per epoch", ep->train, ep->n, runs.f_train, runs.b_train},
        {"eval, per epoch", ep->eval, ep->n, runs.f_eval, runs.b_eval},
        {rank_name, runs.rank, o->repeats, runs.f_rank, runs.b_rank},
        {"whole run (wall)", runs.wall, o->repeats, 0, 0},
    };
    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++)
        if (i != 3 || runs.top_k > 0) print_phase(&ph[i], sgemm, triad);
    printf("\npeak resident memory %.0f MiB (the largest of the repeats)\n"
           "recorded as runs %lld..%lld named %s in %s\n", runs.peak_mb,
           (long long)runs.first_id, (long long)runs.last_id, cfg.name,
           o->db_path);
    code = EXIT_OK;
out:
    if (db) db_close(db);
    mem_free(ep);
    return code;
}

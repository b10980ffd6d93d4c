/* run.c - `autorec run`: config -> data -> training -> results database.
 *
 * Everything that user input can make fail (config, data, model size) is
 * checked before the database is opened, so a bad config never touches it.
 *
 * Global mutable state: g_stop, set by the SIGINT/SIGTERM handler and read
 * between batches and epochs.  A signal handler can only communicate through
 * a global, so this one is unavoidable. */
#include "run.h"

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blas.h"
#include "cfg.h"
#include "data.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "train.h"
#include "version.h"

#define DEFAULT_DB "runs/results.db"
#define MAX_SETS 256

static volatile sig_atomic_t g_stop; /* the signal number that asked to stop */

static void on_signal(int sig) { g_stop = sig; }

void run_usage(FILE *f) {
    fprintf(f,
"usage: autorec run CONFIG [--db PATH] [--set KEY=VALUE]... [--quiet]\n"
"\n"
"Trains I-AutoRec as described by the YAML file CONFIG and records the run\n"
"and every epoch (train loss, test RMSE, seconds) in the results database.\n"
"\n"
"options:\n"
"  --db PATH         results database (default " DEFAULT_DB ", created if missing)\n"
"  --set KEY=VALUE   override a config key, e.g. --set train.lr=0.001\n"
"                    (repeatable; validated like the file)\n"
"  --quiet           print only the final summary line\n"
"  -h, --help        this help\n"
"\n"
"config keys (dotted paths; see configs/seed.yaml):\n"
"  name, data.path, data.format (ml-100k|ml-1m|csv), data.split.kind\n"
"  (random|files), data.split.test_ratio, data.split.train_file,\n"
"  data.split.test_file, model.hidden, model.dropout, train.epochs,\n"
"  train.batch_size, train.lr, train.weight_decay, train.seed,\n"
"  train.threads (0 = all cores), train.kernel (auto|dense|naive)\n"
"\n"
"exit status: 0 finished, 1 failed or diverged, 2 bad usage, config or data,\n"
"130/143 interrupted by SIGINT/SIGTERM (finished epochs are kept).\n");
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Physical memory in bytes (a bound for model sizes), or 8 GB if unknown. */
static size_t memory_budget(void) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || size <= 0) return (size_t)8 << 30;
    return (size_t)pages * (size_t)size / 10 * 8;
}

static const KernelOps *resolve_kernel(KernelKind k) {
    return k == KERNEL_NAIVE ? &kernels_naive : &kernels_dense;
}

typedef struct {
    const char *config_path;
    const char *db_path;
    const char *sets[MAX_SETS];
    int n_sets;
    int quiet;
} RunArgs;

/* Parses the command line; returns -1 (message printed) on bad usage, 1 for
 * --help, 0 otherwise. */
static int parse_args(int argc, char **argv, RunArgs *a) {
    memset(a, 0, sizeof *a);
    a->db_path = DEFAULT_DB;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) return 1;
        if (!strcmp(s, "--quiet")) { a->quiet = 1; continue; }
        if (!strcmp(s, "--db") || !strcmp(s, "--set")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "autorec run: %s needs a value (see autorec run --help)\n", s);
                return -1;
            }
            if (s[2] == 'd') a->db_path = argv[++i];
            else if (a->n_sets < MAX_SETS) a->sets[a->n_sets++] = argv[++i];
            else { fprintf(stderr, "autorec run: more than %d --set\n", MAX_SETS); return -1; }
            continue;
        }
        if (!strncmp(s, "--db=", 5)) { a->db_path = s + 5; continue; }
        if (!strncmp(s, "--set=", 6) && a->n_sets < MAX_SETS) { a->sets[a->n_sets++] = s + 6; continue; }
        if (s[0] == '-') {
            fprintf(stderr, "autorec run: unknown option '%s' (see autorec run --help)\n", s);
            return -1;
        }
        if (a->config_path) {
            fprintf(stderr, "autorec run: more than one config ('%s' and '%s')\n",
                    a->config_path, s);
            return -1;
        }
        a->config_path = s;
    }
    if (!a->config_path) {
        fprintf(stderr, "autorec run: missing CONFIG (e.g. autorec run configs/seed.yaml)\n");
        return -1;
    }
    return 0;
}

/* Loads, overrides and validates the config.  Returns 0 or -1 (printed). */
static int load_config(const RunArgs *a, Config *cfg) {
    char err[ERR_MAX];
    cfg_defaults(cfg);
    if (cfg_load_file(cfg, a->config_path, err)) goto fail;
    for (int i = 0; i < a->n_sets; i++)
        if (cfg_set_override(cfg, a->sets[i], err)) goto fail;
    if (cfg_validate(cfg, err)) goto fail;
    return 0;
fail:
    fprintf(stderr, "autorec: %s\n", err);
    return -1;
}

int run_main(int argc, char **argv) {
    RunArgs args;
    Config cfg;
    Dataset ds;
    Trainer tr;
    Db *db = NULL;
    float *train = NULL, *test = NULL;
    char *yaml = NULL;
    char err[ERR_MAX], blis[256], info[512], host[256] = "unknown";
    int64_t run_id = -1;
    int rc = EXIT_USAGE;
    memset(&ds, 0, sizeof ds);
    memset(&tr, 0, sizeof tr);

    int pa = parse_args(argc, argv, &args);
    if (pa) {
        if (pa > 0) run_usage(stdout);
        return pa > 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (load_config(&args, &cfg)) return EXIT_USAGE;

    int threads = cfg.threads ? cfg.threads : omp_get_num_procs();
    omp_set_num_threads(threads);
    const KernelOps *ops = resolve_kernel(cfg.kernel);

    if (data_load(&cfg, &ds, err)) goto fail_msg;
    train = data_dense_matrix(ds.train, ds.n_train, ds.num_items, ds.num_users);
    test = data_dense_matrix(ds.test, ds.n_test, ds.num_items, ds.num_users);
    if (!train || !test) {
        err_set(err, "out of memory building the %d x %d rating matrices",
                ds.num_items, ds.num_users);
        goto fail_msg;
    }
    TrainOptions opt = {cfg.hidden, (float)cfg.dropout, cfg.batch_size,
                        (float)cfg.lr, (float)cfg.weight_decay, cfg.seed, ops,
                        memory_budget()};
    if (trainer_create(&tr, &opt, train, test, ds.num_items, ds.num_users, err))
        goto fail_msg;
    yaml = cfg_to_yaml(&cfg);
    if (!yaml) { err_set(err, "out of memory"); goto fail_msg; }

    rc = EXIT_FAILED;  /* from here on failures are runtime failures */
    if (db_open(&db, args.db_path, err)) goto fail_msg;
    gethostname(host, sizeof host - 1);
    blas_describe(blis, sizeof blis);
    snprintf(info, sizeof info, "%s; OpenMP %d threads (of %d cores)", blis,
             threads, omp_get_num_procs());
    DbRunInfo ri = {&cfg, yaml, host, threads, ops->name, version_git_commit(), info};
    if (db_run_begin(db, &ri, &run_id, err)) goto fail_msg;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (!args.quiet) {
        printf("run %lld '%s': %d items x %d users, %zu train / %zu test ratings\n",
               (long long)run_id, cfg.name, ds.num_items, ds.num_users,
               ds.n_train, ds.n_test);
        printf("hidden %d, dropout %g, lr %g, weight decay %g, batch %d, seed %llu, "
               "%s kernel, %d threads\n", cfg.hidden, cfg.dropout, cfg.lr,
               cfg.weight_decay, cfg.batch_size, (unsigned long long)cfg.seed,
               ops->name, threads);
        fflush(stdout);
    }
    const char *status = "finished";
    double t_start = now_seconds(), best = INFINITY, last = NAN;
    int best_epoch = 0, done = 0;
    for (int e = 1; e <= cfg.epochs; e++) {
        double t0 = now_seconds(), loss = NAN;
        int stopped = trainer_epoch(&tr, &g_stop, &loss);
        double t1 = now_seconds();
        if (stopped || g_stop) { status = "interrupted"; break; }
        double rmse = trainer_test_rmse(&tr);
        double t2 = now_seconds();
        if (!isfinite(loss) || !isfinite(rmse)) {
            fprintf(stderr, "autorec: run %lld diverged at epoch %d (train loss %g, "
                    "test RMSE %g): lower train.lr or check the data\n",
                    (long long)run_id, e, loss, rmse);
            status = "diverged";
            break;
        }
        DbEpoch row = {e, loss, rmse, t1 - t0, t2 - t1};
        if (db_epoch_add(db, run_id, &row, err)) { status = "failed"; goto fail_end; }
        done = e;
        last = rmse;
        if (rmse < best) { best = rmse; best_epoch = e; }
        if (!args.quiet) {
            printf("epoch %3d/%d  train loss %9.3f  test RMSE %.4f  train %.2fs  eval %.2fs\n",
                   e, cfg.epochs, loss, rmse, t1 - t0, t2 - t1);
            fflush(stdout);
        }
    }
    if (db_run_end(db, run_id, status, err)) goto fail_msg;
    double wall = now_seconds() - t_start;
    if (!strcmp(status, "finished")) {
        printf("run %lld finished: test RMSE %.4f (best %.4f at epoch %d), %d epochs "
               "in %.2f s, results in %s\n", (long long)run_id, last, best,
               best_epoch, done, wall, args.db_path);
        rc = EXIT_OK;
    } else if (!strcmp(status, "interrupted")) {
        fprintf(stderr, "autorec: run %lld interrupted by %s after %d finished epochs "
                "(kept in %s)\n", (long long)run_id,
                g_stop == SIGTERM ? "SIGTERM" : "SIGINT", done, args.db_path);
        rc = g_stop == SIGTERM ? EXIT_SIGTERM : EXIT_SIGINT;
    }
    goto out;

fail_end:
    fprintf(stderr, "autorec: %s\n", err);
    if (db && run_id >= 0 && db_run_end(db, run_id, "failed", err))
        fprintf(stderr, "autorec: could not mark run %lld failed: %s\n",
                (long long)run_id, err);
    goto out;
fail_msg:
    fprintf(stderr, "autorec: %s\n", err);
    if (db && run_id >= 0) db_run_end(db, run_id, "failed", err);
out:
    db_close(db);
    trainer_free(&tr);
    mem_free(yaml);
    mem_free_aligned(train);
    mem_free_aligned(test);
    data_free(&ds);
    return rc;
}

/* grid.c - `autorec grid`: expands a config's grid into points, registers
 * them in the results database, forks the workers (grid_worker.c) and
 * watches them: progress on a terminal, a dead worker's point released at
 * once and a replacement started, SIGINT/SIGTERM forwarded, and at the end
 * the summary table (grid_progress.c).
 *
 * Everything user input can make fail (config, grid values, thread
 * budget, data path) is checked before the database is opened.  No SQLite
 * connection is ever open across a fork.
 *
 * Global mutable state: stop_signal (stop.h), set by the parent's stop-signal
 * handler (a handler can only communicate through a global). */
#include "grid.h"

#include <assert.h>
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "data.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "query.h"
#include "search.h"
#include "stop.h"

#define GRID_MAX_WORKERS 256
/* the range of --stale-after, AUTOREC_STALE_SECONDS and
 * AUTOREC_PROGRESS_SECONDS */
#define GRID_SECONDS_MIN 0.5
#define GRID_SECONDS_MAX 86400.0


void grid_usage(FILE *f) {
    fprintf(f,
"usage: autorec grid CONFIG [--workers N] [--threads T] [--dry-run] [--db PATH]\n"
"                    [--set KEY=VALUE]... [--stale-after SECONDS] [--point N]\n"
"                    [KEY=VALUE]... [--]\n"
"\n"
"Runs every point of the grid: in CONFIG, e.g.\n"
"  grid:\n"
"    model.hidden: [100, 300, 500]\n"
"    train.lr: [0.001, 0.002, 0.005]\n"
"(the cartesian product of the lists; any config key may be an axis).\n"
"Each point is one run row, with the experiment id and its config hash.\n"
"With data.split.repeats: K (or data.split.kind: folds, K = 5) each\n"
"configuration runs its K splits: an implicit last axis data.split.index,\n"
"and their mean, sd and 95%% t interval go to split_summaries.\n"
"A search samples instead (search.sampler: random | sobol, search.trials:\n"
"N) from lists or distributions such as train.lr: {log_uniform: [1e-4,\n"
"1e-2]}, model.hidden: {int: [100, 700]}; search.pruner: median | asha stops\n"
"trials whose validation RMSE is not promising (status pruned).  See\n"
"configs/search-ml100k.yaml and README, \"Searches\".\n"
"Running the same grid again resumes it: finished, diverged and pruned\n"
"points are kept; missing, failed, interrupted and stale ones (a worker\n"
"that stopped sending heartbeats) are run.  Several `autorec grid`\n"
"processes may share one database: every point is claimed atomically, so\n"
"none runs twice.\n"
"\n"
"options:\n"
"  --workers N          points trained at once (processes; default 1)\n"
"  --threads T          OpenMP threads per worker (default cores / N);\n"
"                       N x T may not exceed the cores\n"
"  --dry-run            list the points (and their state in the database)\n"
"                       without running anything\n"
"  --db PATH            results database (default " CLI_DEFAULT_DB ")\n"
"  --set KEY=VALUE      override a base config key (repeatable; also as a\n"
"                       bare KEY=VALUE argument).  On a key that is a grid\n"
"                       axis it replaces the axis by that one value;\n"
"                       grid.KEY=[V1,V2,...] sets (or adds) the axis over\n"
"                       KEY, e.g. grid.model.hidden=[100,300]: the\n"
"                       experiment id follows what runs\n"
"  --                   ends the options (CONFIG may then start with '-')\n"
"  --point N            run only grid point N (0-based, as in the runs\n"
"                       table's grid_point): what each task of `autorec\n"
"                       slurm` runs; exit status from that point's run\n"
"  --stop-at-epoch E    stop every run after epoch E, recorded as interrupted\n"
"                       with the reason (rerunning resumes it from the\n"
"                       start): one rung of the chain autorec slurm runs\n"
"                       for search.pruner: asha\n"
"  --stale-after S      a running point whose worker sent no heartbeat for S\n"
"                       seconds is taken over (default %g; also\n"
"                       AUTOREC_STALE_SECONDS)\n"
"\n"
"Progress goes to stderr: on a terminal a live block (one line per running\n"
"point, workers labelled w1, w2, ...); off a terminal, or with TERM=dumb or\n"
"NO_COLOR, plain lines without escapes: one per settled point, and a status\n"
"line every AUTOREC_PROGRESS_SECONDS (default %g) when none settled.  The\n"
"summary table, sorted by each run's result test RMSE (refit, else\n"
"validation-selected, else last epoch), is printed at the end.\n"
"exit status: 0 every point finished or diverged, 1 some point failed or a\n"
"worker could not reach the database, 2 bad usage, config or grid (nothing\n"
"ran), 128 + N interrupted by signal N: 130 SIGINT, 143 SIGTERM, 129 SIGHUP,\n"
"... (rerun the same command to resume).\n",
            GRID_DEFAULT_STALE, GRID_PROGRESS_EVERY);
}

/* ----------------------------------------------------------- the plan -- */

uint64_t grid_fnv1a64(const void *data, size_t n, uint64_t h) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The YAML of c with train.threads zeroed unless it is an axis: every key
 * (full, for the experiments table) or only the non-default ones (the
 * identity that config hashes and experiment ids are computed from, so
 * that keys added by later versions, at their defaults, change neither).
 * Returns a string owned by the caller, or NULL on OOM. */
static char *grid_canonical_yaml(const Config *c, int threads_axis, int full) {
    Config k = *c;
    if (!threads_axis) k.threads = 0;
    return full ? cfg_to_yaml(&k) : cfg_to_yaml_changed(&k);
}

int grid_config_hash(const Config *c, int threads_axis,
                     char out[GRID_HASH_HEX], char *err) {
    /* a trial is what it trains: the search: keys (how it was drawn and
     * pruned) belong to the experiment id, not to the point's hash */
    Config k = *c, d;
    cfg_defaults(&d);
    k.search_sampler = d.search_sampler;
    k.search_trials = d.search_trials;
    k.search_seed = d.search_seed;
    k.search_pruner = d.search_pruner;
    k.search_warmup = d.search_warmup;
    k.search_min_trials = d.search_min_trials;
    k.search_min_epochs = d.search_min_epochs;
    k.search_reduction = d.search_reduction;
    k.search_rungs = d.search_rungs;
    char *yaml = grid_canonical_yaml(&k, threads_axis, 0);
    if (!yaml) return err_set(err, "out of memory hashing a config");
    uint64_t h = grid_fnv1a64(yaml, strlen(yaml), GRID_FNV_OFFSET);
    snprintf(out, GRID_HASH_HEX, "%016llx", (unsigned long long)h);
    mem_free(yaml);
    return 0;
}

void grid_plan_free(GridPlan *p) {
    if (!p) return;
    for (size_t i = 0; p->hashes && i < p->n; i++) mem_free(p->hashes[i]);
    for (size_t i = 0; p->params && i < p->n; i++) mem_free(p->params[i]);
    mem_free(p->hashes);
    mem_free(p->params);
    mem_free(p->yaml);
    cfg_grid_free(&p->grid);
    memset(p, 0, sizeof *p);
}

int grid_plan_value(const GridPlan *p, size_t i, int a) {
    if (p->grid.zip) return (int)i;   /* sampled trials: values[i] */
    for (int k = p->grid.naxes - 1; k > a; k--)
        i /= (size_t)p->grid.axes[k].nvalues;
    return (int)(i % (size_t)p->grid.axes[a].nvalues);
}

int grid_plan_point(const GridPlan *p, size_t i, int threads, Config *out,
                    char *err) {
    if (cfg_grid_point(&p->base, &p->grid, i, out, err)) return -1;
    if (!p->threads_axis) out->threads = threads;
    return 0;
}

/* The label of point i: "hidden=300 lr=0.002" (short key = the part after
 * the last dot, value as written in the grid).  Returns a string owned by
 * the caller, or NULL on OOM. */
static char *grid_label(const GridPlan *p, size_t i) {
    size_t len = 0;
    for (int a = 0; a < p->grid.naxes; a++)
        len += strlen(p->grid.axes[a].key) + 2 +
               strlen(p->grid.axes[a].values[grid_plan_value(p, i, a)]);
    char *s = mem_alloc(len + 1), *o = s;
    if (!s) return NULL;
    *o = '\0';
    for (int a = 0; a < p->grid.naxes; a++) {
        const char *key = p->grid.axes[a].key, *dot = strrchr(key, '.');
        o += sprintf(o, "%s%s=%s", a ? " " : "", dot ? dot + 1 : key,
                     p->grid.axes[a].values[grid_plan_value(p, i, a)]);
    }
    return s;
}

/* Sets p->yaml (canonical base + grid section), p->axes and p->experiment
 * (the name and a hash of the base's non-default keys + grid section).
 * Returns 0 or -1 with err. */
static int grid_identity(GridPlan *p, char *err) {
    char *base = grid_canonical_yaml(&p->base, p->threads_axis, 1);
    char *changed = grid_canonical_yaml(&p->base, p->threads_axis, 0);
    size_t len, cap, grid_at;
    if (!base || !changed) {
        mem_free(base);
        mem_free(changed);
        return err_set(err, "out of memory");
    }
    cap = strlen(base) + 16;
    for (int a = 0; a < p->grid.naxes; a++) {
        cap += strlen(p->grid.axes[a].key) + 8;
        for (int v = 0; v < p->grid.axes[a].nvalues; v++)
            cap += strlen(p->grid.axes[a].values[v]) + 2;
    }
    p->yaml = mem_alloc(cap);
    if (!p->yaml) {
        mem_free(base);
        mem_free(changed);
        return err_set(err, "out of memory");
    }
    len = (size_t)sprintf(p->yaml, "%s", base);
    grid_at = len;
    len += (size_t)sprintf(p->yaml + len, "grid:\n");
    mem_free(base);
    p->axes[0] = '\0';
    for (int a = 0; a < p->grid.naxes; a++) {
        const GridAxis *ax = &p->grid.axes[a];
        len += (size_t)sprintf(p->yaml + len, "  %s: [", ax->key);
        for (int v = 0; v < ax->nvalues; v++)
            len += (size_t)sprintf(p->yaml + len, "%s%s", v ? ", " : "",
                                   ax->values[v]);
        len += (size_t)sprintf(p->yaml + len, "]\n");
        size_t al = strlen(p->axes);
        snprintf(p->axes + al, sizeof p->axes - al, "%s%s", a ? "," : "",
                 ax->key);
    }
    uint64_t h = grid_fnv1a64(changed, strlen(changed), GRID_FNV_OFFSET);
    h = grid_fnv1a64(p->yaml + grid_at, len - grid_at, h);
    mem_free(changed);
    snprintf(p->experiment, sizeof p->experiment, "%s-%012llx", p->base.name,
             (unsigned long long)(h >> 16));
    return 0;
}

/* Appends the implicit last axis data.split.index: [0, ..., K-1] when the
 * base config asks for K > 1 splits (data.split.repeats, kind folds), so
 * the K splits of every configuration are consecutive points.  Returns 0 or
 * -1 with err. */
static int grid_add_split_axis(GridPlan *p, char *err) {
    Grid *g = &p->grid;
    p->n_splits = cfg_split_count(&p->base);
    for (int a = 0; a < g->naxes; a++)
        if (!strcmp(g->axes[a].key, GRID_SPLIT_KEY) ||
            !strcmp(g->axes[a].key, "data.split.repeats"))
            return err_set(err, "grid: %s cannot be an axis: set "
                           "data.split.repeats (or kind: folds) in the base "
                           "config, and each configuration runs its splits",
                           g->axes[a].key);
    if (p->n_splits == 1) return 0;
    if (p->base.split_index != 0)
        return err_set(err, "data.split.index: %d with %d splits: the index "
                       "is set per split (leave it 0, or use repeats: 1 to "
                       "run one split)", p->base.split_index, p->n_splits);
    if (g->naxes == CFG_GRID_MAX_AXES)
        return err_set(err, "grid: %d axes and the %d splits of "
                       "data.split.%s exceed %d axes", g->naxes, p->n_splits,
                       p->base.split_kind == SPLIT_FOLDS ? "kind folds"
                                                         : "repeats",
                       CFG_GRID_MAX_AXES);
    GridAxis *ax = &g->axes[g->naxes];
    memset(ax, 0, sizeof *ax);
    snprintf(ax->key, sizeof ax->key, "%s", GRID_SPLIT_KEY);
    if (!(ax->values = mem_calloc((size_t)p->n_splits, sizeof *ax->values)))
        return err_set(err, "out of memory");
    g->naxes++;
    for (int v = 0; v < p->n_splits; v++) {
        char num[16];
        snprintf(num, sizeof num, "%d", v);
        if (!(ax->values[v] = mem_strdup(num)))
            return err_set(err, "out of memory");
        ax->nvalues++;
    }
    return 0;
}

/* The search: section's checks, and for a sampled search the trials
 * drawn in place of the grid (search_sample).  Returns 0 or -1 with err. */
static int grid_search_setup(GridPlan *p, char *err) {
    const Config *b = &p->base;
    int splits = cfg_split_count(b);
    for (int a = 0; a < p->grid.naxes; a++)
        if (b->search_sampler == SAMPLER_GRID &&
            p->grid.axes[a].dist != AXIS_LIST)
            return err_set(err, "grid: %s is a distribution ({%s: ...}), "
                           "which the full grid cannot enumerate: set "
                           "search.sampler: random or sobol (and "
                           "search.trials)", p->grid.axes[a].key,
                           cfg_axis_dist_name(p->grid.axes[a].dist));
    if (b->search_pruner != PRUNER_NONE && b->validation_ratio == 0)
        return err_set(err, "search.pruner: %s compares validation RMSEs "
                       "(never test RMSEs): set data.split."
                       "validation_ratio (e.g. 0.1), or pruner: none",
                       cfg_pruner_name(b->search_pruner));
    if (b->search_pruner != PRUNER_NONE && splits > 1)
        return err_set(err, "search.pruner: %s with %d splits per "
                       "configuration is not supported: use "
                       "data.split.repeats: 1 (kind random) for the search",
                       cfg_pruner_name(b->search_pruner), splits);
    if (b->search_sampler == SAMPLER_GRID) return 0;
    if (splits > 1)
        return err_set(err, "search.sampler: %s with %d splits per trial is "
                       "not supported: use data.split.repeats: 1 (kind "
                       "random) for the search",
                       cfg_sampler_name(b->search_sampler), splits);
    return search_sample(b, &p->grid, err);
}

int grid_plan_make(GridPlan *p, const Config *base, Grid *grid, char *err) {
    Config c;
    char why[ERR_MAX];
    memset(p, 0, sizeof *p);
    p->base = *base;
    p->grid = *grid;
    memset(grid, 0, sizeof *grid);
    if (grid_search_setup(p, err) || grid_add_split_axis(p, err)) return -1;
    p->n = cfg_grid_size(&p->grid);
    if (p->n == 0)
        return err_set(err, "the grid has more than %d points",
                       CFG_GRID_MAX_POINTS);
    for (int a = 0; a < p->grid.naxes; a++)
        if (!strcmp(p->grid.axes[a].key, "train.threads")) p->threads_axis = 1;
    if (grid_identity(p, err)) return -1;
    p->hashes = mem_calloc(p->n, sizeof *p->hashes);
    p->params = mem_calloc(p->n, sizeof *p->params);
    if (!p->hashes || !p->params) return err_set(err, "out of memory");
    for (size_t i = 0; i < p->n; i++) {
        if (!(p->params[i] = grid_label(p, i)) ||
            !(p->hashes[i] = mem_alloc(GRID_HASH_HEX)))
            return err_set(err, "out of memory");
        if (grid_plan_point(p, i, 1, &c, why) || cfg_validate(&c, why))
            return err_set(err, "grid point %zu of %zu (%s): %s", i + 1, p->n,
                           p->params[i], why);
        if (cfg_split_count(&c) != p->n_splits)
            return err_set(err, "grid point %zu of %zu (%s): %d splits, but "
                           "the base config has %d: data.split.kind and "
                           "repeats must be the same at every point", i + 1,
                           p->n, p->params[i], cfg_split_count(&c),
                           p->n_splits);
        if (grid_config_hash(&c, p->threads_axis, p->hashes[i], err))
            return -1;
    }
    return 0;
}

int grid_split_summary(Db *db, const GridPlan *p, size_t i, char *err) {
    assert(p->n_splits > 1 && i < p->n);
    size_t group = i - i % (size_t)p->n_splits;
    const char *label = p->params[group];
    /* the label without its last item, the split index */
    const char *cut = strrchr(label, ' ');
    char *params = mem_strdup(label);
    if (!params) return err_set(err, "out of memory");
    params[cut ? (size_t)(cut - label) : 0] = '\0';
    int rc = db_split_summary_update(db, p->experiment, (int64_t)group,
                                     p->n_splits, params, err);
    mem_free(params);
    return rc;
}

void grid_worker_id(char *out, size_t n, pid_t pid, unsigned tag) {
    char host[256];
    if (gethostname(host, sizeof host - 1) != 0) strcpy(host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(out, n, "%s:%ld/%04x", host, (long)pid, tag & 0xffff);
}

/* ------------------------------------------------------ the command -- */

typedef struct {
    CliConfig in;         /* CONFIG and its overrides */
    const char *db_path;
    int workers;
    int threads;          /* 0: cores / workers */
    int dry_run;
    double stale;
    long long point;      /* --point N: N; -1: every point */
    int stop_epoch;       /* --stop-at-epoch E; 0: none */
} GridArgs;

/* Parses the command line; returns -1 (printed) on bad usage, 1 for --help,
 * 0 otherwise. */
static int grid_parse(int argc, char **argv, GridArgs *a) {
    int r;
    memset(a, 0, sizeof *a);
    a->db_path = CLI_DEFAULT_DB;
    a->workers = 1;
    a->point = -1;
    a->stale = GRID_DEFAULT_STALE;
    if (cli_env_seconds("grid", "AUTOREC_STALE_SECONDS", GRID_SECONDS_MIN,
                        GRID_SECONDS_MAX, &a->stale))
        return -1;
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &a->db_path},
        {.name = "--set", .kind = CLI_SET, .dest = &a->in},
        {.name = "--dry-run", .kind = CLI_FLAG, .dest = &a->dry_run},
        {.name = "--workers", .kind = CLI_INT, .dest = &a->workers, .min = 1,
         .max = GRID_MAX_WORKERS},
        {.name = "--threads", .kind = CLI_INT, .dest = &a->threads, .min = 1,
         .max = 4096},
        {.name = "--point", .kind = CLI_LLONG, .dest = &a->point, .min = 0,
         .max = CFG_GRID_MAX_POINTS - 1},
        {.name = "--stop-at-epoch", .kind = CLI_INT, .dest = &a->stop_epoch,
         .min = 1, .max = 1000000},
        {.name = "--stale-after", .kind = CLI_SECONDS, .dest = &a->stale,
         .lo = GRID_SECONDS_MIN, .hi = GRID_SECONDS_MAX},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "grid", .usage = grid_usage, .opts = opts,
                    .config = &a->in,
                    .missing = "CONFIG (e.g. autorec grid "
                               "configs/grid-ml100k.yaml)"};
    if ((r = cli_parse(&spec, argc, argv))) return r;
    if (a->point >= 0) a->workers = 1;   /* one point: one worker */
    return 0;
}

/* Loads the config and its grid, applies --set, validates, expands the
 * plan and checks the data path.  Returns 0 or -1 (printed). */
int grid_load(const char *config_path, const char *const *sets, int n_sets,
              GridPlan *plan) {
    Config cfg;
    Grid grid;
    char err[ERR_MAX];
    struct stat st;
    memset(&grid, 0, sizeof grid);
    cfg_defaults(&cfg);
    if (cfg_load_file_grid(&cfg, &grid, config_path, err)) goto fail;
    for (int i = 0; i < n_sets; i++)
        if (cfg_grid_override(&cfg, &grid, sets[i], err)) goto fail;
    if (cfg_validate(&cfg, err)) goto fail;
    if (grid_plan_make(plan, &cfg, &grid, err)) goto fail;
    /* the data every point reads must exist (one check per distinct path) */
    for (size_t i = 0; i < plan->n; i++) {
        Config c;
        if (grid_plan_point(plan, i, 1, &c, err)) goto fail;
        if (i > 0) {
            Config prev;
            if (grid_plan_point(plan, i - 1, 1, &prev, err)) goto fail;
            if (!strcmp(prev.data_path, c.data_path)) continue;
        }
        if (stat(c.data_path, &st) != 0) {
            err_set(err, "data.path: '%s' (grid point %zu of %zu): %s (run "
                         "`make data`, or fix data.path)", c.data_path, i + 1,
                    plan->n, strerror(errno));
            goto fail;
        }
        if (data_check_folds(&c, err)) goto fail;
    }
    return 0;
fail:
    cfg_grid_free(&grid);
    fprintf(stderr, "autorec: %s\n", err);
    return -1;
}

/* Lists the points, with their state in the database when it exists.
 * Returns an exit code. */
static int grid_dry_run(const GridPlan *p, const GridArgs *a, int threads) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char err[ERR_MAX], b[64];
    struct stat sb;
    QTable t;
    int na = p->grid.naxes, rc = EXIT_OK;

    if (stat(a->db_path, &sb) == 0 && db_open_query(&h, a->db_path, err)) {
        fprintf(stderr, "autorec grid: %s\n", err);
        return EXIT_FAILED;
    }
    if (h && query_prepare(h, "SELECT r.id, r.status, r.config_hash IS NOT "
                              "?3 FROM runs r WHERE r.experiment = ?1 AND "
                              "r.grid_point = ?2", &st, err)) {
        fprintf(stderr, "autorec grid: %s\n", err);
        sqlite3_close(h);
        return EXIT_FAILED;
    }
    printf("grid %s: %zu point%s (%s), %d worker%s x %d thread%s, database %s\n",
           p->experiment, p->n, p->n == 1 ? "" : "s",
           na ? p->axes : "no axes", a->workers, a->workers == 1 ? "" : "s",
           threads, threads == 1 ? "" : "s", a->db_path);
    qt_init(&t, na + 3);
    qt_head(&t, 0, "point", 1);
    for (int k = 0; k < na; k++) {
        const char *key = p->grid.axes[k].key, *dot = strrchr(key, '.');
        qt_head(&t, 1 + k, dot ? dot + 1 : key, 0);
    }
    qt_head(&t, na + 1, "config hash", 0);
    qt_head(&t, na + 2, "state", 0);
    for (size_t i = 0; i < p->n; i++) {
        qt_row(&t);
        qt_set(&t, 0, "%zu/%zu", i + 1, p->n);
        for (int k = 0; k < na; k++)
            qt_set(&t, 1 + k, "%s",
                   p->grid.axes[k].values[grid_plan_value(p, i, k)]);
        qt_set(&t, na + 1, "%s", p->hashes[i]);
        const char *state = "to run";
        if (st) {
            sqlite3_bind_text(st, 1, p->experiment, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
            sqlite3_bind_text(st, 3, p->hashes[i], -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW) {
                snprintf(b, sizeof b, "%s (run %lld)%s",
                         (const char *)sqlite3_column_text(st, 1),
                         sqlite3_column_int64(st, 0),
                         sqlite3_column_int(st, 2) ? ", outdated" : "");
                state = b;
            }
            sqlite3_reset(st);
        }
        qt_set(&t, na + 2, "%s", state);
    }
    if (qt_print(&t, stdout)) {
        fprintf(stderr, "autorec grid: out of memory\n");
        rc = EXIT_FAILED;
    }
    qt_free(&t);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return rc;
}

static double grid_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Forks one worker.  Returns its pid, or -1 (printed). */
static pid_t grid_spawn(const GridWorkerArgs *wa) {
    sigset_t block, old;
    stop_signal_set(&block);
    /* the child installs its own handlers before it sees these signals */
    sigprocmask(SIG_BLOCK, &block, &old);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        stop_default();
        sigprocmask(SIG_SETMASK, &old, NULL);
        int code = grid_worker_run(wa);
        fflush(NULL);
        _exit(code);
    }
    int e = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        fprintf(stderr, "autorec grid: cannot start a worker: %s\n",
                strerror(e));
    return pid;
}

/* Marks the runs of a dead worker stale at once.  Returns the number of
 * runs released, or -1 (printed). */
static int grid_release(const char *db_path, pid_t pid, unsigned tag) {
    Db *db = NULL;
    char err[ERR_MAX], id[512];
    int n = -1;
    grid_worker_id(id, sizeof id, pid, tag);
    if (db_open(&db, db_path, err) == 0) n = db_worker_lost(db, id, err);
    if (n < 0) fprintf(stderr, "autorec grid: %s\n", err);
    db_close(db);
    return n;
}

int grid_main(int argc, char **argv) {
    GridArgs a;
    GridPlan plan;
    GridProgress prog;
    Db *db = NULL;
    char err[ERR_MAX];
    pid_t pids[GRID_MAX_WORKERS];
    int rc = EXIT_USAGE, alive = 0, forwarded = 0, respawns = 0, failures = 0;
    int mode = grid_progress_mode(), complete = 0;

    memset(&plan, 0, sizeof plan);
    memset(&prog, 0, sizeof prog);
    int pa = grid_parse(argc, argv, &a);
    if (pa) return cli_parse_status(pa);
    const int one = a.point >= 0;   /* --point: that point only */
    if (grid_load(a.in.config, a.in.sets, a.in.n_sets, &plan)) goto out;
    if (a.point >= (long long)plan.n) {
        fprintf(stderr, "autorec grid: --point %lld: the grid has %zu "
                        "points (0..%zu)\n", a.point, plan.n, plan.n - 1);
        goto out;
    }

    /* the thread budget: workers x threads <= cores */
    int cores = omp_get_num_procs();
    int threads = a.threads ? a.threads : cores / a.workers;
    if (threads < 1) threads = 1;
    int need = a.workers * threads;
    if (plan.threads_axis) {
        int most = 0;
        for (size_t i = 0; i < plan.n; i++) {
            Config c;
            if (grid_plan_point(&plan, i, 1, &c, err)) goto fail;
            int t = c.threads ? c.threads : cores;
            if (t > most) most = t;
        }
        need = a.workers * most;
    }
    if (need > cores) {
        err_set(err, "%d worker%s x %d thread%s = %d threads exceed the %d "
                     "cores: lower --workers%s", a.workers,
                a.workers == 1 ? "" : "s", need / a.workers,
                need / a.workers == 1 ? "" : "s", need, cores,
                plan.threads_axis ? " or the train.threads values"
                                  : " or --threads");
        goto fail;
    }
    if (a.dry_run) {
        rc = grid_dry_run(&plan, &a, threads);
        goto out;
    }

    rc = EXIT_FAILED;   /* from here on failures are runtime failures */
    double session_start = db_unix_now();
    {
        DbExperiment x = {plan.experiment, plan.base.name, plan.axes,
                          plan.yaml, (int64_t)plan.n,
                          (const char *const *)plan.hashes,
                          (const char *const *)plan.params};
        if (db_open(&db, a.db_path, err)) goto fail;
        db_report_created(db, "grid");
        if (db_experiment_register(db, &x, err)) goto fail;
        db_close(db);   /* never across a fork */
        db = NULL;
    }
    unsigned tag = (unsigned)(((unsigned long)getpid() * 2654435761UL) ^
                              (unsigned long)(session_start * 1000)) & 0xffff;
    GridWorkerArgs wa = {&plan, a.db_path, threads, a.stale, session_start,
                         tag, getpid(), one ? a.point : 0, one ? a.point + 1 : 0,
                         a.stop_epoch};

    cli_signals(CLI_SIGNALS_STOP);   /* stop, and resume later */

    if (!one)
        fprintf(stderr, "grid %s: %zu points, %d worker%s x %d thread%s, "
                        "results in %s\n", plan.experiment, plan.n, a.workers,
                a.workers == 1 ? "" : "s", threads, threads == 1 ? "" : "s",
                a.db_path);
    prog.started = prog.last_line = grid_monotonic();
    prog.workers = a.workers;
    prog.pids = pids;
    prog.since = session_start;
    prog.every = GRID_PROGRESS_EVERY;
    if (cli_env_seconds("grid", "AUTOREC_PROGRESS_SECONDS", GRID_SECONDS_MIN,
                        GRID_SECONDS_MAX, &prog.every))
        goto out;
    for (int w = 0; w < a.workers; w++) {
        pids[w] = grid_spawn(&wa);
        if (pids[w] > 0) alive++;
    }
    if (alive == 0) goto fail_quiet;

    double last_draw = 0;
    while (alive > 0) {
        int status;
        pid_t pid;
        if (stop_signal && !forwarded) {
            for (int w = 0; w < a.workers; w++)
                if (pids[w] > 0) kill(pids[w], stop_signal);
            forwarded = 1;
        }
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            int w = 0;
            while (w < a.workers && pids[w] != pid) w++;
            if (w == a.workers) continue;
            pids[w] = -1;
            alive--;
            if (WIFSIGNALED(status) && !stop_signal) {
                /* killed from outside (kill -9, OOM killer): release its
                 * point for takeover and start a replacement */
                grid_progress_end(&prog);   /* no connection across fork */
                int n = grid_release(a.db_path, pid, tag);
                fprintf(stderr, "autorec grid: worker %ld died (signal %d); "
                                "%s\n", (long)pid, WTERMSIG(status),
                        n > 0 ? "its point is released for takeover"
                              : "it held no point");
                if (respawns < 2 * a.workers + 2) {
                    respawns++;
                    if ((pids[w] = grid_spawn(&wa)) > 0) alive++;
                } else {
                    failures++;
                    fprintf(stderr, "autorec grid: too many workers died; "
                                    "not starting another\n");
                }
            } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
                       !(stop_signal && WEXITSTATUS(status) == 128 + stop_signal)) {
                failures++;
            }
        }
        if (pid < 0 && errno == ECHILD) break;
        double now = grid_monotonic();
        if (!stop_signal && !one && now - last_draw >= 0.5) {
            if (mode == GRID_PROGRESS_LIVE)
                grid_progress_draw(&prog, &plan, a.db_path);
            else
                grid_progress_lines(&prog, &plan, a.db_path);
            last_draw = now;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (mode == GRID_PROGRESS_PLAIN && !one)   /* the last points */
        grid_progress_lines(&prog, &plan, a.db_path);
    grid_progress_end(&prog);

    if (one) {   /* one point: its line, its status as exit code */
        int st = EXIT_FAILED;
        if (grid_point_report(&plan, a.db_path, a.point, stdout, &st,
                              err))
            fprintf(stderr, "autorec grid: %s\n", err);
        /* a run paused at --stop-at-epoch did what was asked */
        if (a.stop_epoch && st == EXIT_SIGTERM && !stop_signal) st = EXIT_OK;
        complete = st == EXIT_OK;
    } else if (grid_summary_print(&plan, a.db_path, stdout, &complete, err)) {
        fprintf(stderr, "autorec grid: %s\n", err);
        complete = 0;
    }
    if (stop_signal) {
        fprintf(stderr, "autorec grid: interrupted by %s; run the same command "
                        "again to resume\n", stop_signal_name(stop_signal));
        rc = 128 + stop_signal;   /* 130 SIGINT, 143 SIGTERM, 129 SIGHUP, ... */
    } else {
        rc = complete && !failures ? EXIT_OK : EXIT_FAILED;
    }
    goto out;

fail:
    fprintf(stderr, "autorec grid: %s\n", err);
fail_quiet:
out:
    grid_progress_end(&prog);
    mem_free(prog.seen);
    db_close(db);
    grid_plan_free(&plan);
    return rc;
}

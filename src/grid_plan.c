/* grid_plan.c - the plan of a grid search (see grid_plan.h): a config's
 * grid (or sampled search) expanded into points, their configs, hashes and
 * labels, the experiment id, and what running them needs (data, threads).
 *
 * No global mutable state. */
#include "grid_plan.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "search.h"

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

int grid_plan_check_data(const GridPlan *p, char *err) {
    struct stat st;
    for (size_t i = 0; i < p->n; i++) {
        Config c;
        if (grid_plan_point(p, i, 1, &c, err)) return -1;
        if (i > 0) {   /* one check per distinct path */
            Config prev;
            if (grid_plan_point(p, i - 1, 1, &prev, err)) return -1;
            if (!strcmp(prev.data_path, c.data_path)) continue;
        }
        if (stat(c.data_path, &st) != 0)
            return err_set(err, "data.path: '%s' (grid point %zu of %zu): %s "
                           "(run `make data`, or fix data.path)", c.data_path,
                           i + 1, p->n, strerror(errno));
        if (data_check_folds(&c, err)) return -1;
    }
    return 0;
}

int grid_plan_threads(const GridPlan *p, int threads, int all, char *err) {
    int most = 0;
    if (!p->threads_axis) return threads;
    for (size_t i = 0; i < p->n; i++) {
        Config c;
        if (grid_plan_point(p, i, threads, &c, err)) return -1;
        int t = c.threads ? c.threads : all;
        if (t > most) most = t;
    }
    return most;
}

int grid_load(const char *config_path, const char *const *sets, int n_sets,
              GridPlan *plan, char *err) {
    Config cfg;
    Grid grid;
    memset(&grid, 0, sizeof grid);
    cfg_defaults(&cfg);
    if (cfg_load_file_grid(&cfg, &grid, config_path, err)) goto fail;
    for (int i = 0; i < n_sets; i++)
        if (cfg_grid_override(&cfg, &grid, sets[i], err)) goto fail;
    if (cfg_validate(&cfg, err)) goto fail;
    /* grid_plan_make owns the grid from here on, also when it fails */
    return grid_plan_make(plan, &cfg, &grid, err) ||
                   grid_plan_check_data(plan, err)
               ? -1 : 0;
fail:
    cfg_grid_free(&grid);
    return -1;
}

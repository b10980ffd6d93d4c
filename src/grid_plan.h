/* grid_plan.h - the plan of a grid search: the points a config's grid:
 * section (or a sampled search, search.h) expands to, each point's config,
 * hash and label, and the experiment id.  `autorec grid` (grid.h) runs a
 * plan, its workers (grid_worker.h) train its points, `autorec slurm`
 * writes a job array for it.
 *
 * Identity: a point's config hash is FNV-1a 64 of the YAML of its
 * non-default keys (cfg_to_yaml_changed) except search.* (a trial's hash
 * is what it trains, whatever drew or prunes it) with train.threads set to
 * 0 unless train.threads is itself a grid axis: workers choose the thread
 * count and results do not depend on it, and keys added by later versions
 * (at their defaults) leave hashes unchanged.  The experiment id is the
 * config name and 12 hex digits of the hash of the base config (same rule)
 * plus the grid, so the same grid file always resolves to the same
 * experiment and resumes it. */
#ifndef AUTOREC_GRID_PLAN_H
#define AUTOREC_GRID_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

#define GRID_EXPERIMENT_MAX (CFG_NAME_MAX + 16)
#define GRID_HASH_HEX 17          /* 16 hex digits and NUL */

typedef struct {
    Config base;           /* resolved base config (after --set) */
    Grid grid;             /* owned */
    size_t n;              /* number of points */
    int threads_axis;      /* train.threads is a grid axis */
    char experiment[GRID_EXPERIMENT_MAX];
    char axes[CFG_GRID_MAX_AXES * CFG_KEY_MAX];  /* "model.hidden,train.lr" */
    char *yaml;            /* resolved base + grid (what was hashed), owned */
    char **hashes;         /* n config hashes (16 hex digits), owned */
    char **params;         /* n labels, "hidden=300 lr=0.002", owned */
    int n_splits;          /* splits per configuration (cfg_split_count of
                              the base); > 1: the last axis is the implicit
                              GRID_SPLIT_KEY, so point i is split
                              i % n_splits of configuration i / n_splits */
} GridPlan;

/* The implicit axis of data.split.repeats / kind folds. */
#define GRID_SPLIT_KEY "data.split.index"

/* FNV-1a 64 of n bytes, continuing from h (start with GRID_FNV_OFFSET). */
#define GRID_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t grid_fnv1a64(const void *data, size_t n, uint64_t h);

/* The config hash of c (see above) as 16 hex digits into out.  Returns 0,
 * or -1 with err (out of memory). */
int grid_config_hash(const Config *c, int threads_axis,
                     char out[GRID_HASH_HEX], char *err);

/* Expands base x grid into a plan: validates every point (cfg_validate;
 * an error names the point, the key and the value), computes the hashes,
 * labels and the experiment id.  Takes ownership of *grid (zeroed), also
 * on failure (an empty grid: the one point of base, or its splits).
 * Returns 0, or -1 with err; free with grid_plan_free, also on failure. */
int grid_plan_make(GridPlan *p, const Config *base, Grid *grid, char *err);

/* Frees what grid_plan_make allocated; accepts a zeroed plan. */
void grid_plan_free(GridPlan *p);

/* Loads config_path and its grid, applies the n_sets overrides
 * ("KEY=VALUE", grid.KEY=[...] for an axis), validates and expands the
 * plan (grid_plan_make) and checks its data (grid_plan_check_data): the
 * plan of `autorec grid` and `autorec slurm`.  Returns 0, or -1 with err
 * (a usage error: the config, a value, the data); free *plan with
 * grid_plan_free in both cases. */
int grid_load(const char *config_path, const char *const *sets, int n_sets,
              GridPlan *plan, char *err);

/* The config of point i, train.threads set to threads unless it is a grid
 * axis.  Returns 0 or -1 with err. */
int grid_plan_point(const GridPlan *p, size_t i, int threads, Config *out,
                    char *err);

/* The index of axis a's value at point i (the last axis varies fastest). */
int grid_plan_value(const GridPlan *p, size_t i, int a);

/* Checks that the data of every point exists (data.path, and the fold
 * files of kind folds), once per distinct path.  Returns 0 or -1 with err
 * naming the point and the path. */
int grid_plan_check_data(const GridPlan *p, char *err);

/* The thread budget of p: the most OpenMP threads one point trains with
 * when each point gets `threads` - threads itself, or, with train.threads
 * a grid axis, the largest value on that axis, 0 (every core) counting as
 * `all`.  `autorec grid` keeps workers x this within the cores, `autorec
 * slurm` asks Slurm for it.  Returns it, or -1 with err. */
int grid_plan_threads(const GridPlan *p, int threads, int all, char *err);

struct Db;

/* After a run of point i finished (the plan has n_splits > 1): recomputes
 * the split summary of i's configuration (db_split_summary_update, labelled
 * with i's params without the split).  Returns 0 or -1 with err. */
int grid_split_summary(struct Db *db, const GridPlan *p, size_t i, char *err);

#endif

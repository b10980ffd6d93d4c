/* ensemble.h - ensembles as runs: a config whose `ensemble:` section lists
 * member configs, trained (or reused) on the same split and blended with
 * weights fitted on the validation split only.
 *
 *   name: tuned-u1
 *   data: {...}  model: {...}  train: {...}  eval: {...}   # the base config
 *   ensemble:
 *     weights: simplex          # simplex (default) | nnls | mean
 *     members:
 *       - {}                                  # the base config itself
 *       - {model.hidden: 1000, train.seed: 1} # dotted keys over the base
 *       - other.yaml                          # a config file over the base
 *
 * A member may carry a grid of candidates, chosen per split by validation
 * RMSE:  - {model.hidden: 1000, select: {model.dropout: [0.6, 0.75]}}
 *
 * `autorec run FILE` trains each member as a run of its own (name
 * NAME.m1, NAME.m2, ...; its runs.member_key names what it trained), or
 * reuses a finished member run of the same key and split from the
 * database (a select: member: every candidate so, the one with the lowest
 * runs.selected_val_rmse chosen, ties to the first written;
 * ensemble_candidates records them); stores its predictions at the split's validation and test
 * ratings (run_predictions); fits the weights on the validation
 * predictions (ens_fit); and records one ensemble run per split carrying
 * result_test_rmse, its members and weights in ensemble_members.  A member
 * never sets result_test_rmse (db_results.h).  With data.split.repeats or
 * kind folds the splits are an experiment (one ensemble run per split,
 * split_summaries as for other runs).
 *   ensemble_config.c  the section: members, weights, keys
 *   ensemble_fit.c     the weights and the blends' RMSE
 *   ensemble_run.c     autorec run of an ensemble config
 *   predict.c          blended predictions for recommend and the ranking */
#ifndef AUTOREC_ENSEMBLE_H
#define AUTOREC_ENSEMBLE_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "data.h"

#define ENS_MAX_MEMBERS 12
#define ENS_LABEL_MAX 160
#define ENS_MAX_CANDIDATES 16   /* a member's select: grid, all axes */
#define ENS_MAX_AXES 4          /* keys of one select: */

/* ensemble.weights: how the member predictions are combined. */
typedef enum {
    ENS_SIMPLEX,   /* w >= 0, sum w = 1, least squares on validation */
    ENS_NNLS,      /* w >= 0, least squares on validation */
    ENS_MEAN       /* w = 1/K (reads no split) */
} EnsWeights;

typedef struct {
    Config base;                        /* the config around the section,
                                           --set applied, split index 0 */
    EnsWeights weights;
    int n;                              /* members, 1..ENS_MAX_MEMBERS */
    Config member[ENS_MAX_MEMBERS];     /* resolved, split index 0 */
    char label[ENS_MAX_MEMBERS][ENS_LABEL_MAX];  /* "m2 hidden=1000" */
    /* a member with select: {KEY: [V, ...], ...}: its candidates (the
     * member with each combination of the values, in the order written,
     * the last key varying fastest), resolved like members; ncand[m] 0
     * for a member without select: (member[m] is then what it trains) */
    int ncand[ENS_MAX_MEMBERS];
    Config *cand[ENS_MAX_MEMBERS];                /* owned, ncand[m] each */
    char (*cand_label[ENS_MAX_MEMBERS])[ENS_LABEL_MAX];  /* owned:
                                                     "dropout=0.6 l2=5" */
    char *text;                         /* the section as written (owned):
                                           part of the ensemble's identity */
} EnsembleSpec;

/* 1 when the YAML file at path has a top-level `ensemble:` key, 0 when not
 * (or it cannot be read or parsed: the config loader reports why). */
int ens_detect(const char *path);

/* Loads the ensemble config at path: the base (cfg_load_file_ensemble,
 * then the overrides sets[0..n_sets): "ensemble.weights=V" sets the
 * weights, others are --set keys of the base), then each member: the base
 * with its keys (or a config file, relative to path's directory) applied,
 * named NAME.mI, its split forced to the base's (data.* keys may not
 * differ; the split seed is the base's, so train.seed varies only the
 * model).  Errors name file:line:column.  Returns 0, or -1 with err; free
 * with ens_spec_free. */
int ens_load(EnsembleSpec *s, const char *path, const char *const *sets,
             int n_sets, char *err);

/* Frees what ens_load allocated; accepts a zeroed spec. */
void ens_spec_free(EnsembleSpec *s);

/* The member key of c (what a member run trains, for reuse): "m" and 16
 * hex digits of the config hash (grid.h) with the name left out and
 * data.split.repeats as 1 (the seed and the index make the split).  Returns
 * 0 or -1 with err. */
int ens_member_key(const Config *c, char out[24], char *err);

/* The key of the (user, item) pairs of ds's validation and test ratings in
 * their order: what stored predictions must follow.  16 hex digits. */
void ens_pairs_key(const Dataset *ds, char out[24]);

/* The weight spellings: "simplex", "nnls", "mean". */
const char *ens_weights_name(EnsWeights w);

/* ------------------------------------------------------------ fitting -- */

/* Fits the k weights of the blend sum_m w[m] * x[j * k + m] to y[j] over
 * n rows (validation predictions and ratings) by least squares under the
 * constraint of kind (ENS_MEAN: 1/k each, x and y unread): exactly, by
 * solving the equality-constrained problem on every support and keeping
 * the best feasible one.  Returns 0, or -1 with err (k out of range, no
 * feasible support: degenerate predictions). */
int ens_fit(const float *x, const float *y, size_t n, int k, EnsWeights kind,
            double *w, char *err);

/* RMSE of the blend sum_m w[m] * x[j * k + m], clipped to [lo, hi] when
 * lo < hi, against y over n rows (NaN for n 0). */
double ens_blend_rmse(const float *x, const float *y, size_t n, int k,
                      const double *w, double lo, double hi);

/* -------------------------------------------------------------- run -- */

/* autorec run of an ensemble config (run.c hands it over when ens_detect
 * says so): trains or reuses the members of every split, fits and records
 * the ensembles.  quiet: only the final lines; val_only: no test figure
 * printed (no split summary: `autorec summary` prints it).  Returns the
 * exit code (cli.h: 0, 1, 2, 128 + signal). */
int ens_run_main(const char *config_path, const char *db_path,
                 const char *const *sets, int n_sets, int quiet, int val_only);

#endif

/* cfg.h - experiment configuration: types and prototypes.
 *
 * A Config is a plain value (no heap pointers) holding every key of the YAML
 * schema.  Keys are addressed by their dotted path ("train.lr"); the same
 * setter validates values coming from the YAML file and from --set. */
#ifndef AUTOREC_CFG_H
#define AUTOREC_CFG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_PATH_MAX 1024
#define CFG_HIDDEN_MAX 7   /* hidden layers of a deep stack (model.hidden list) */
#define CFG_NAME_MAX 128

typedef enum { DATA_ML100K, DATA_ML1M, DATA_CSV } DataFormat;
typedef enum { SPLIT_RANDOM, SPLIT_FILES, SPLIT_FOLDS } SplitKind;

/* data.split.kind folds: the canonical ML-100K cross-validation files
 * u1.base/u1.test ... u5.base/u5.test beside data.path. */
#define CFG_FOLDS 5
#define CFG_MAX_REPEATS 1000
typedef enum { KERNEL_AUTO, KERNEL_DENSE, KERNEL_NAIVE, KERNEL_SPARSE } KernelKind;
typedef enum { OPTIM_ADAM, OPTIM_ADAMW, OPTIM_LAZY_ADAM } OptimizerKind;
typedef enum { SCHED_NONE, SCHED_STEP, SCHED_COSINE } ScheduleKind;
typedef enum { CLIP_NONE, CLIP_AUTO, CLIP_RANGE } ClipMode;
/* model.variant: I-AutoRec (rows are items), U-AutoRec (rows are users),
 * or GLocal-K (rows are items; kernelised layers and a global kernel
 * stage, trained with L-BFGS: glocal.h, runner_glocal.c). */
typedef enum { VARIANT_ITEM, VARIANT_USER, VARIANT_GLOCAL } ModelVariant;
/* search.sampler: how `autorec grid` turns the grid: section into points:
 * the cartesian product, or search.trials sampled trials (grid_plan.h). */
typedef enum { SAMPLER_GRID, SAMPLER_RANDOM, SAMPLER_SOBOL } SamplerKind;
/* search.pruner: early stopping of unpromising trials (pruner.h). */
typedef enum { PRUNER_NONE, PRUNER_MEDIAN, PRUNER_ASHA } PrunerKind;
/* model.activation.* take the values of Activation (activation.h). */

/* eval.clip: `none`, `auto` (the data set's rating range) or [lo, hi]. */
typedef struct {
    int mode;                        /* ClipMode */
    double lo, hi;                   /* CLIP_RANGE: lo < hi */
} ClipSpec;

typedef struct {
    char name[CFG_NAME_MAX];         /* name */
    char data_path[CFG_PATH_MAX];    /* data.path: file, or directory holding
                                        the format's default ratings file */
    DataFormat data_format;          /* data.format */
    int data_cache;                  /* data.cache: 1 = read and write the
                                        parsed-ratings cache (the default,
                                        see data_cache.h), 0 = always parse */
    SplitKind split_kind;            /* data.split.kind */
    double test_ratio;               /* data.split.test_ratio, in (0,1) */
    char train_file[CFG_PATH_MAX];   /* data.split.train_file (kind: files) */
    char test_file[CFG_PATH_MAX];    /* data.split.test_file  (kind: files) */
    /* model.hidden: an integer (one hidden layer, the shallow I-AutoRec) or
     * a list of 1..CFG_HIDDEN_MAX widths [hidden, hidden_rest...].  hidden is
     * always the first width, so code that knows only the shallow model (and
     * a zeroed hidden_more) keeps working. */
    int hidden;                      /* first hidden width, 1..1000000 */
    int hidden_more;                 /* further hidden layers, 0 = an integer */
    int hidden_rest[CFG_HIDDEN_MAX - 1]; /* their widths, each 1..1000000 */
    double dropout;                  /* model.dropout in [0,1), after each
                                        hidden layer's activation */
    int act_encoder;                 /* model.activation.encoder, an
                                        Activation (activation.h): every
                                        hidden layer; default sigmoid */
    int act_decoder;                 /* model.activation.decoder: the output
                                        layer; default identity */
    ModelVariant variant;            /* model.variant: item | user | glocal */
    /* model.glocal.*: read with variant glocal only (GLocal-K) */
    int glocal_dim;                  /* model.glocal.dim: embedding dimension
                                        of the local kernel, 1..64 */
    double glocal_sparsity;          /* model.glocal.sparsity >= 0: weight of
                                        sum khat^2 (train.l2 weighs sum W^2) */
    int glocal_kernel_size;          /* model.glocal.kernel_size: the global
                                        kernel's size, odd, 1..15 */
    double glocal_dot_scale;         /* model.glocal.dot_scale > 0 */
    int glocal_pretrain_epochs;      /* model.glocal.pretrain_epochs: the
                                        first epochs train the local kernel
                                        network; the rest (up to train.epochs)
                                        fine-tune with the global kernel */
    int glocal_pretrain_iters;       /* model.glocal.pretrain_iters: L-BFGS
                                        iterations per pretraining epoch */
    int glocal_finetune_iters;       /* model.glocal.finetune_iters: ... per
                                        fine-tuning epoch */
    int epochs;                      /* train.epochs >= 1 */
    int batch_size;                  /* train.batch_size >= 1 */
    double lr;                       /* train.lr > 0 */
    double weight_decay;             /* train.weight_decay >= 0 (coupled) */
    uint64_t seed;                   /* train.seed >= 0 */
    int threads;                     /* train.threads >= 0, 0 = all cores */
    KernelKind kernel;               /* train.kernel */
    /* the paper's protocol (all off by default: the reference behaviour) */
    double validation_ratio;         /* data.split.validation_ratio in [0,1):
                                        carved from the training ratings */
    uint64_t split_seed;             /* data.split.seed + 1; 0 = none (the
                                        default): train.seed drives the
                                        splits (read with cfg_split_seed) */
    int split_repeats;               /* data.split.repeats in 1..1000: random
                                        splits run as one experiment */
    int split_index;                 /* data.split.index: the split of this
                                        run (seed offset, or fold - 1) */
    double l2;                       /* train.l2 >= 0: l2 * sum of |W|^2
                                        over every weight matrix (biases
                                        excluded) added to each step's loss */
    OptimizerKind optimizer;         /* train.optimizer: adam | adamw */
    ScheduleKind schedule;           /* train.schedule: none | step | cosine */
    int step_epochs;                 /* train.step_epochs >= 1 (step) */
    double gamma;                    /* train.gamma in (0,1] (step) */
    double lr_min;                   /* train.lr_min >= 0 (cosine) */
    int patience;                    /* train.patience >= 0, 0 = off */
    int checkpoint;                  /* train.checkpoint: 1 = write the
                                        selected epoch's parameters (the
                                        default), 0 = none */
    int refit;                       /* train.refit: 1 = after selection,
                                        train a fresh model on train +
                                        validation for the selected number
                                        of epochs (needs validation_ratio) */
    double ema;                      /* train.ema in [0,1): decay of the
                                        exponential moving average of the
                                        parameters (avg.h), 0 = off */
    int swa_start;                   /* train.swa_start: the first epoch of
                                        a uniform average of the parameters
                                        after every step (avg.h), 0 = off */
    ClipSpec clip;                   /* eval.clip */
    double cold_default;             /* eval.cold_default in (0,10], 0 = none */
    int top_k;                       /* eval.top_k: ranking metrics @K over
                                        the test set (topn.h), 0 = off */
    double relevant_min;             /* eval.relevant_min: a test rating at
                                        least this is relevant */
    int top_k_every;                 /* eval.top_k_every: also every N
                                        epochs, 0 = only at the end */
    /* search.*: read by `autorec grid` only (sampling and pruning) */
    SamplerKind search_sampler;      /* search.sampler: grid | random | sobol */
    int search_trials;               /* search.trials: sampled trials */
    uint64_t search_seed;            /* search.seed: of the sampler */
    PrunerKind search_pruner;        /* search.pruner: none | median | asha */
    int search_warmup;               /* search.warmup_epochs: median: no
                                        pruning at or before this epoch */
    int search_min_trials;           /* search.min_trials: median: peers
                                        needed at an epoch to prune */
    int search_min_epochs;           /* search.min_epochs: asha: first rung */
    int search_reduction;            /* search.reduction_factor: asha eta */
    int search_rungs;                /* search.rungs: asha, 0 = all that fit */
} Config;

/* The seed of the data splits: data.split.seed, else train.seed, plus
 * data.split.index (repeat i of a config uses split seed + i). */
uint64_t cfg_split_seed(const Config *cfg);

/* The number of splits the config asks for: 5 for kind folds, else
 * data.split.repeats (1 = a single run). */
int cfg_split_count(const Config *cfg);

/* A grid search: the cartesian product of the value lists of some keys,
 * read from the config's top-level `grid:` mapping, e.g.
 *   grid:
 *     model.hidden: [100, 300, 500]
 *     train.lr: [0.001, 0.002]
 * Values are kept as the YAML scalars and were validated when loaded. */
#define CFG_GRID_MAX_AXES 16
#define CFG_GRID_MAX_VALUES 1000
#define CFG_GRID_MAX_POINTS 1000000
#define CFG_KEY_MAX 64

/* A grid axis is a list of values, or (for search.sampler random or
 * sobol) a distribution written as a mapping with one key:
 *   train.lr: {log_uniform: [1e-4, 1e-2]}   model.hidden: {int: [100, 700]}
 *   model.dropout: {uniform: [0.3, 0.7]}     train.epochs: {log_int: [50, 250]}
 *   model.variant: {choice: [item, user]}   (the same as a plain list) */
typedef enum { AXIS_LIST, AXIS_UNIFORM, AXIS_LOG_UNIFORM, AXIS_INT,
               AXIS_LOG_INT } AxisDist;

typedef struct {
    char key[CFG_KEY_MAX];  /* dotted key, e.g. "train.lr" */
    int nvalues;
    char **values;          /* nvalues strings, owned */
    AxisDist dist;          /* AXIS_LIST: values; else [lo, hi] */
    double lo, hi;          /* distribution bounds, lo < hi (> 0 for log) */
} GridAxis;

typedef struct {
    int naxes;              /* 0: no grid */
    GridAxis axes[CFG_GRID_MAX_AXES];
    int zip;                /* 1: point i takes values[i] of every axis (the
                               sampled trials of a search); 0: the product */
} Grid;

/* Fills cfg with the reference (d2l) defaults. */
void cfg_defaults(Config *cfg);

/* Sets one key from its string value.  Returns 0, or -1 with err naming the
 * key, quoting the value and saying what is allowed.  `where` (may be NULL)
 * prefixes the message, e.g. "configs/x.yaml:3:7" or "--set". */
int cfg_set_key(Config *cfg, const char *key, const char *value,
                const char *where, char *err);

/* Applies a "key=value" override (the --set argument). */
int cfg_set_override(Config *cfg, const char *assignment, char *err);

/* Parses a YAML file on top of cfg's current values.  Unknown keys,
 * duplicate keys, wrong node kinds and bad values are errors reported as
 * "path:line:column: message" (1-based).  Returns 0 or -1 with err. */
int cfg_load_file(Config *cfg, const char *path, char *err);

/* Same, from an in-memory YAML document; `name` is used in messages.  A
 * top-level `ensemble:` section (the stored config of an ensemble run) is
 * skipped. */
int cfg_load_string(Config *cfg, const char *yaml, const char *name,
                    char *err);

/* As cfg_load_file / cfg_load_string, also accepting a top-level `grid:`
 * mapping (the plain loaders refuse it).  grid must be zeroed (or freed)
 * before the call; on success it holds the axes (free with cfg_grid_free).
 * Every grid value is validated like a config value; an unknown or repeated
 * key, an empty list or a bad value is an error naming file:line:column.
 * On error cfg and grid are unchanged. */
int cfg_load_file_grid(Config *cfg, Grid *grid, const char *path, char *err);
int cfg_load_string_grid(Config *cfg, Grid *grid, const char *yaml,
                         const char *name, char *err);

/* As cfg_load_file, skipping a top-level `ensemble:` section (its members
 * are read by ensemble.h); the plain loaders refuse the section.  Returns
 * 0 or -1 with err; cfg is unchanged on error. */
int cfg_load_file_ensemble(Config *cfg, const char *path, char *err);

/* Parses len bytes of YAML exactly as cfg_load_file_grid parses a file's
 * contents (the text need not be NUL-terminated and may contain NUL bytes;
 * the 1 MiB limit applies).  grid may be NULL (then `grid:` is refused).
 * `name` is used in messages.  For fuzzing and tests. */
int cfg_load_buffer(Config *cfg, Grid *grid, const char *text, size_t len,
                    const char *name, char *err);

/* Applies a command-line override to a grid config: "grid.KEY=[V1, V2]"
 * (or "grid.KEY=V") sets the values of the axis over KEY, adding it when
 * there is none (validated as in the file's grid:); "KEY=VALUE" on a key
 * that is an axis removes the axis and sets the value for every point;
 * other assignments are cfg_set_override.  Returns 0 or -1 with err. */
int cfg_grid_override(Config *cfg, Grid *grid, const char *assignment,
                      char *err);

/* Frees the value lists of grid and zeroes it; accepts NULL. */
void cfg_grid_free(Grid *grid);

/* Number of points of the grid (1 for no axes). */
size_t cfg_grid_size(const Grid *grid);

/* The config of point `index` (0 <= index < cfg_grid_size): base with each
 * axis's value applied; the last axis varies fastest.  Returns 0 or -1 with
 * err. */
int cfg_grid_point(const Config *base, const Grid *grid, size_t index,
                   Config *out, char *err);

/* Cross-key checks (e.g. kind: files needs train_file and test_file).
 * Returns 0 or -1 with err. */
int cfg_validate(const Config *cfg, char *err);

/* The full resolved configuration as YAML text (every key).  Returns a
 * NUL-terminated string owned by the caller (mem_free), or NULL on OOM. */
char *cfg_to_yaml(const Config *cfg);

/* The keys whose value differs from cfg_defaults, as cfg_to_yaml writes
 * them but without comments (empty when every key is at its default): the
 * identity of a config that stays the same when a later version adds keys
 * with defaults, so grid config hashes and experiment ids do not change.
 * Returns a string owned by the caller (mem_free), or NULL on OOM. */
char *cfg_to_yaml_changed(const Config *cfg);

/* Every key on its own line as "dotted.key: value" (no sections, no
 * comments), in the order of cfg_to_yaml: what compare diffs.  Returns a
 * string owned by the caller (mem_free), or NULL on OOM. */
char *cfg_to_flat(const Config *cfg);

/* The key reference: one entry of the key table, as `autorec help config`
 * and `autorec run --help` print it. */
#define CFG_DESC_MAX 160   /* "an integer in 1..1000000 ..." texts */
#define CFG_VALUE_MAX 64   /* a default value as YAML */
typedef struct {
    const char *key;                /* dotted path, e.g. "train.lr" */
    const char *help;               /* what it means, one line */
    const char *details;            /* more (Markdown code spans), or "" */
    const char *example;            /* a valid value, or "" (a list of
                                       names: accepts names them all) */
    char accepts[CFG_DESC_MAX];     /* e.g. "an integer in 1..1000000" */
    char default_value[CFG_VALUE_MAX]; /* as cfg_to_yaml writes it */
} CfgKeyInfo;

/* The number of config keys. */
int cfg_key_count(void);

/* Fills *out (caller-owned; its pointers are static strings) with key i,
 * 0 <= i < cfg_key_count(), in the order cfg_to_yaml writes them.  Returns
 * 0, or -1 with err (i out of range). */
int cfg_key_info(int i, CfgKeyInfo *out, char *err);

const char *cfg_format_name(DataFormat f);
const char *cfg_split_name(SplitKind k);
const char *cfg_kernel_name(KernelKind k);
const char *cfg_optimizer_name(OptimizerKind k);
const char *cfg_schedule_name(ScheduleKind k);
const char *cfg_variant_name(ModelVariant v);
const char *cfg_sampler_name(SamplerKind k);
const char *cfg_pruner_name(PrunerKind k);
const char *cfg_axis_dist_name(AxisDist d);

#endif

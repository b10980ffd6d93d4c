/* cfg.c - experiment configuration: key table, YAML loading, --set overrides
 * and YAML output (see cfg.h).
 *
 * Every key of the schema is described once, in the `keys` table below: its
 * dotted path, type, Config field, range, an example, help text and details.
 * cfg_set_key parses and range-checks a value through that table; the YAML
 * loader derives the nested mappings (data:, data.split:, model:, train:)
 * from the dotted paths; cfg_to_yaml and cfg_validate walk the same table,
 * and so does cfg_key_info, from which `autorec help config` and `autorec
 * run --help` print the key reference.
 *
 * The YAML loader is strict: one document, a mapping at the top, only known
 * keys, each at most once, scalars where values are expected and mappings
 * where sections are expected.  Anchors, aliases and tags are rejected (no
 * billion-laughs expansion is possible), as are inputs over 1 MiB.
 *
 * No global mutable state. */
#include "cfg.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "activation.h"
#include "err.h"
#include "mem.h"

#define CFG_FILE_MAX (1024 * 1024) /* largest config accepted, in bytes */
#define KEY_MAX 64                 /* longer than any dotted key */
#define QUOTE_MAX 96               /* quoted values in messages */
#define DESC_MAX CFG_DESC_MAX      /* "expected ..." texts */
/* Largest T_U64 value: SQLite stores integers as signed 64-bit. */
#define CFG_U64_MAX ((uint64_t)INT64_MAX)

/* ---------------------------------------------------------------- keys -- */

static const char *const format_names[] = {
    [DATA_ML100K] = "ml-100k", [DATA_ML1M] = "ml-1m", [DATA_CSV] = "csv"};
static const char *const split_names[] = {[SPLIT_RANDOM] = "random",
                                          [SPLIT_FILES] = "files",
                                          [SPLIT_FOLDS] = "folds"};
static const char *const kernel_names[] = {
    [KERNEL_AUTO] = "auto", [KERNEL_DENSE] = "dense", [KERNEL_NAIVE] = "naive",
    [KERNEL_SPARSE] = "sparse"};
static const char *const optimizer_names[] = {
    [OPTIM_ADAM] = "adam", [OPTIM_ADAMW] = "adamw",
    [OPTIM_LAZY_ADAM] = "lazy_adam"};
static const char *const activation_names[] = {
    [ACT_SIGMOID] = "sigmoid", [ACT_IDENTITY] = "identity", [ACT_RELU] = "relu",
    [ACT_ELU] = "elu", [ACT_TANH] = "tanh"};
static const char *const schedule_names[] = {
    [SCHED_NONE] = "none", [SCHED_STEP] = "step", [SCHED_COSINE] = "cosine"};
static const char *const variant_names[] = {[VARIANT_ITEM] = "item",
                                            [VARIANT_USER] = "user",
                                            [VARIANT_GLOCAL] = "glocal"};
static const char *const bool_names[] = {"false", "true"};
static const char *const sampler_names[] = {[SAMPLER_GRID] = "grid",
                                            [SAMPLER_RANDOM] = "random",
                                            [SAMPLER_SOBOL] = "sobol"};
static const char *const pruner_names[] = {[PRUNER_NONE] = "none",
                                           [PRUNER_MEDIAN] = "median",
                                           [PRUNER_ASHA] = "asha"};
static const char *const axis_dist_names[] = {
    [AXIS_LIST] = "choice", [AXIS_UNIFORM] = "uniform",
    [AXIS_LOG_UNIFORM] = "log_uniform", [AXIS_INT] = "int",
    [AXIS_LOG_INT] = "log_int"};

/* Enum fields are read and written as int (values 0..n-1 have the same
 * representation in int and unsigned int, whichever the compiler picks). */
_Static_assert(sizeof(DataFormat) == sizeof(int), "DataFormat is int-sized");
_Static_assert(sizeof(SplitKind) == sizeof(int), "SplitKind is int-sized");
_Static_assert(sizeof(KernelKind) == sizeof(int), "KernelKind is int-sized");
_Static_assert(sizeof(OptimizerKind) == sizeof(int), "OptimizerKind is int-sized");
_Static_assert(sizeof(ScheduleKind) == sizeof(int), "ScheduleKind is int-sized");
_Static_assert(sizeof(ModelVariant) == sizeof(int), "ModelVariant is int-sized");
_Static_assert(sizeof(SamplerKind) == sizeof(int), "SamplerKind is int-sized");
_Static_assert(sizeof(PrunerKind) == sizeof(int), "PrunerKind is int-sized");
_Static_assert(ULLONG_MAX == UINT64_MAX, "strtoull covers uint64_t exactly");

/* T_PAIR: a ClipSpec, written `auto`, `none` or as a two-element list
 * [lo, hi] (a YAML sequence in files, the text "[lo, hi]" with --set and in
 * grids). */
/* T_WIDTHS: model.hidden, an integer or a list of integers [a, b, ...] (a
 * YAML sequence in files, the text "[a, b]" with --set), stored in
 * hidden / hidden_more / hidden_rest; each width in imin..imax. */
typedef enum { T_STR, T_INT, T_U64, T_REAL, T_ENUM, T_PAIR, T_WIDTHS } KeyType;

enum { S_NONEMPTY = 1, S_NAME = 2 }; /* T_STR flags; S_NAME: [A-Za-z0-9._-] */
enum { R_F32 = 4 }; /* T_REAL flag: the trainer uses the value as a float,
                       so its single-precision rounding must be in range */
enum { O_NONE = 8 };  /* T_REAL, T_U64 flag: the value may be `none`
                         (unset), stored as 0, so a zeroed Config has it
                         unset: T_REAL keys must exclude 0 from their range;
                         T_U64 keys store value + 1 */

typedef struct {
    const char *key;          /* dotted path, e.g. "train.lr" */
    KeyType type;
    size_t off, size;         /* the Config field */
    long long imin, imax;     /* T_INT: inclusive range */
    double lo, hi;            /* T_REAL: range ... */
    int lo_open, hi_open;     /* ... 1 = that bound itself is excluded */
    int flags;                /* T_STR: S_*; T_REAL: R_F32 */
    const char *const *names; /* T_ENUM: spellings indexed by value */
    int nnames;
    const char *example;      /* a valid value (not for T_ENUM) */
    const char *help;         /* what the key means, one line (also the
                                 comment of the key in cfg_to_yaml) */
    const char *details;      /* more, for the reference (autorec help
                                 config, docs/config-keys.md); Markdown
                                 code spans allowed; NULL when none */
} KeyDesc;

#define FIELD(f) .off = offsetof(Config, f), .size = sizeof(((Config *)0)->f)
#define NAMES(a) .names = (a), .nnames = (int)(sizeof(a) / sizeof((a)[0]))

/* Keys of one mapping must be contiguous (cfg_to_yaml relies on it). */
static const KeyDesc keys[] = {
    {.key = "name", .type = T_STR, FIELD(name), .flags = S_NONEMPTY | S_NAME,
     .example = "seed", .help = "run name, recorded with the results",
     .details = "the prefix of a grid's experiment id (NAME-<12 hex digits>)"},
    {.key = "data.path", .type = T_STR, FIELD(data_path),
     .flags = S_NONEMPTY, .example = "data/ml-100k",
     .help = "ratings file, or directory holding the format's default file",
     .details = "the default files are `u.data` (ml-100k), `ratings.dat` "
                "(ml-1m) and `ratings.csv` (csv); a relative path in a config "
                "file is relative to the config file's directory, one given "
                "with `--set` or `KEY=VALUE` to the working directory; the run "
                "records the resolved path"},
    {.key = "data.format", .type = T_ENUM, FIELD(data_format),
     NAMES(format_names), .help = "ratings file format",
     .details = "`ml-100k`: tab-separated `user item rating timestamp`; "
                "`ml-1m`: `::`-separated; `csv`: a `userId,movieId,rating,...` "
                "header, ids mapped to dense indices in sorted order (ml-100k "
                "and ml-1m ids index the matrix directly, `id - 1`)"},
    {.key = "data.split.kind", .type = T_ENUM, FIELD(split_kind),
     NAMES(split_names),
     .help = "random split, given train/test files, or ML-100K folds u1..u5",
     .details = "`folds` is ML-100K's 5-fold cross-validation: "
                "`u1.base`/`u1.test` ... `u5.base`/`u5.test` beside `data.path` "
                "(in it when it is a directory), one run per fold"},
    {.key = "data.split.test_ratio", .type = T_REAL, FIELD(test_ratio),
     .lo = 0, .hi = 1, .lo_open = 1, .hi_open = 1, .example = "0.1",
     .help = "fraction of ratings held out for testing (kind: random)",
     .details = "each rating goes to the test set with this probability"},
    {.key = "data.split.train_file", .type = T_STR, FIELD(train_file),
     .example = "u1.base",
     .help = "training ratings (kind: files)",
     .details = "relative to `data.path`'s directory (to `data.path` itself "
                "when it is a directory)"},
    {.key = "data.split.test_file", .type = T_STR, FIELD(test_file),
     .example = "u1.test", .help = "test ratings (kind: files)",
     .details = "relative to `data.path`'s directory, as "
                "`data.split.train_file`"},
    {.key = "data.split.validation_ratio", .type = T_REAL,
     FIELD(validation_ratio), .lo = 0, .hi = 1, .hi_open = 1,
     .example = "0.1",
     .help = "fraction of training ratings held out for model selection",
     .details = "after the train/test split, each training rating moves to the "
                "validation set with this probability (the test set does not "
                "change); model selection, early stopping and pruning read it, "
                "never the test set"},
    {.key = "data.split.seed", .type = T_U64, FIELD(split_seed),
     .flags = O_NONE, .example = "0",
     .help = "seed of the splits, none = train.seed",
     .details = "both the train/test and the validation split use it; with it "
                "fixed, `train.seed` varies only the model"},
    {.key = "data.split.repeats", .type = T_INT, FIELD(split_repeats),
     .imin = 1, .imax = CFG_MAX_REPEATS, .example = "5",
     .help = "random splits run as one experiment (kind: random)",
     .details = "K splits with split seeds seed + 0 ... K-1, summarised by "
                "their mean, sd and 95% interval"},
    {.key = "data.split.index", .type = T_INT, FIELD(split_index),
     .imin = 0, .imax = CFG_MAX_REPEATS - 1, .example = "0",
     .help = "which split: repeat (seed + index) or fold (u<index+1>.*)",
     .details = "kind folds: 0-4; set by autorec for each split, or by you "
                "(with `repeats: 1`) to re-run one split"},
    {.key = "data.cache", .type = T_ENUM, FIELD(data_cache),
     NAMES(bool_names),
     .help = "keep parsed ratings in a binary cache ($AUTOREC_CACHE_DIR)",
     .details = "the cache directory is `$AUTOREC_CACHE_DIR`, else "
                "`$XDG_CACHE_HOME/autorec`, else `~/.cache/autorec`; `false` "
                "parses every time and writes nothing"},
    {.key = "model.hidden", .type = T_WIDTHS, FIELD(hidden), .imin = 1,
     .imax = 1000000, .example = "500",
     .help = "hidden units, or a list of widths (deep stack)",
     .details = "a list such as `[500, 250, 500]` is a deep stack users -> 500 "
                "-> 250 -> 500 -> users; a grid axis over it takes integers "
                "only"},
    {.key = "model.dropout", .type = T_REAL, FIELD(dropout), .lo = 0,
     .hi = 1, .hi_open = 1, .flags = R_F32, .example = "0.05",
     .help = "dropout probability after each hidden layer",
     .details = "inverted dropout, applied after the activation"},
    {.key = "model.activation.encoder", .type = T_ENUM, FIELD(act_encoder),
     NAMES(activation_names), .help = "activation of every hidden layer"},
    {.key = "model.activation.decoder", .type = T_ENUM, FIELD(act_decoder),
     NAMES(activation_names), .help = "activation of the output layer"},
    {.key = "model.variant", .type = T_ENUM, FIELD(variant),
     NAMES(variant_names),
     .help = "item: rows are items (I-AutoRec); user: rows are users "
             "(U-AutoRec); glocal: GLocal-K (kernelised layers, L-BFGS)",
     .details = "`item` is the reference: each item's rating vector over the "
                "users is reconstructed; `user`: each user's vector over the "
                "items; `glocal`: GLocal-K's kernelised item-based network, "
                "pretrained then fine-tuned with a global convolution kernel "
                "(docs/glocal.md)"},
    {.key = "model.glocal.dim", .type = T_INT, FIELD(glocal_dim), .imin = 1,
     .imax = 64, .example = "5",
     .help = "glocal: embedding dimension of the local kernel"},
    {.key = "model.glocal.sparsity", .type = T_REAL, FIELD(glocal_sparsity),
     .lo = 0, .hi = INFINITY, .flags = R_F32, .example = "0.006",
     .help = "glocal: penalty on the local kernel, sparsity * sum khat^2"},
    {.key = "model.glocal.kernel_size", .type = T_INT,
     FIELD(glocal_kernel_size), .imin = 1, .imax = 15, .example = "3",
     .help = "glocal: size of the global convolution kernel (odd)"},
    {.key = "model.glocal.dot_scale", .type = T_REAL, FIELD(glocal_dot_scale),
     .lo = 0, .hi = 1000, .lo_open = 1, .flags = R_F32, .example = "1",
     .help = "glocal: scale of the global kernel's dot product"},
    {.key = "model.glocal.pretrain_epochs", .type = T_INT,
     FIELD(glocal_pretrain_epochs), .imin = 1, .imax = 1000000,
     .example = "30",
     .help = "glocal: epochs of pretraining; the rest of train.epochs fine-tune"},
    {.key = "model.glocal.pretrain_iters", .type = T_INT,
     FIELD(glocal_pretrain_iters), .imin = 1, .imax = 100000, .example = "5",
     .help = "glocal: L-BFGS iterations per pretraining epoch"},
    {.key = "model.glocal.finetune_iters", .type = T_INT,
     FIELD(glocal_finetune_iters), .imin = 1, .imax = 100000, .example = "5",
     .help = "glocal: L-BFGS iterations per fine-tuning epoch"},
    {.key = "train.epochs", .type = T_INT, FIELD(epochs), .imin = 1,
     .imax = 1000000, .example = "25", .help = "passes over the training set"},
    {.key = "train.batch_size", .type = T_INT, FIELD(batch_size), .imin = 1,
     .imax = 10000000, .example = "256", .help = "rows per minibatch",
     .details = "at most the number of rows (items; users with `model.variant: "
                "user`); the last incomplete batch is dropped"},
    {.key = "train.lr", .type = T_REAL, FIELD(lr), .lo = 0, .hi = 10,
     .lo_open = 1, .flags = R_F32, .example = "0.002",
     .help = "Adam learning rate"},
    {.key = "train.weight_decay", .type = T_REAL, FIELD(weight_decay),
     .lo = 0, .hi = INFINITY, .flags = R_F32, .example = "1e-5",
     .help = "Adam weight decay (coupled L2, as torch.optim.Adam)",
     .details = "`grad += wd * param` on every parameter, biases included; "
                "`train.optimizer: adamw` decouples it"},
    {.key = "train.seed", .type = T_U64, FIELD(seed), .example = "0",
     .help = "random seed (initialisation, split, shuffling)",
     .details = "also dropout; drives the splits too unless `data.split.seed` "
                "is set"},
    {.key = "train.threads", .type = T_INT, FIELD(threads), .imin = 0,
     .imax = 4096, .example = "0", .help = "worker threads, 0 = all cores",
     .details = "OpenMP threads; results are bit-identical for any thread count"},
    {.key = "train.kernel", .type = T_ENUM, FIELD(kernel),
     NAMES(kernel_names), .help = "compute kernel (auto picks one)",
     .details = "`auto` picks `sparse` when under 25% of the training matrix is "
                "observed (ML-100K: 6%), else `dense`; `naive` is the slow "
                "reference"},
    {.key = "train.l2", .type = T_REAL, FIELD(l2), .lo = 0, .hi = INFINITY,
     .flags = R_F32, .example = "0.001",
     .help = "L2 penalty on the weight matrices (not biases)",
     .details = "`l2 * (|W_enc|^2 + |W_dec|^2)` (every weight matrix of a deep "
                "stack) added to each minibatch's summed squared error; the "
                "loss is a sum over the batch, so useful values are around 1"},
    {.key = "train.optimizer", .type = T_ENUM, FIELD(optimizer),
     NAMES(optimizer_names),
     .help = "adam (coupled weight decay), adamw (decoupled) or lazy_adam",
     .details = "`adamw`: `train.weight_decay` decoupled (`p -= lr * wd * p`, "
                "as torch.optim.AdamW); `lazy_adam`: Adam with coupled decay, "
                "but a weight row of a user (an item with `model.variant: "
                "user`) without a rating in the batch skips the step (its "
                "parameters and moments stay as they are), as "
                "torch.optim.SparseAdam and TensorFlow's LazyAdam do; faster on "
                "large data, different numbers; sparse kernel, one hidden "
                "layer, no `train.l2`"},
    {.key = "train.schedule", .type = T_ENUM, FIELD(schedule),
     NAMES(schedule_names), .help = "learning-rate schedule",
     .details = "`step`: `lr * gamma^floor((epoch-1)/step_epochs)`; `cosine`: "
                "from `train.lr` to `train.lr_min` over `train.epochs`"},
    {.key = "train.step_epochs", .type = T_INT, FIELD(step_epochs),
     .imin = 1, .imax = 1000000, .example = "10",
     .help = "step schedule: epochs between decays"},
    {.key = "train.gamma", .type = T_REAL, FIELD(gamma), .lo = 0, .hi = 1,
     .lo_open = 1, .flags = R_F32, .example = "0.1",
     .help = "step schedule: decay factor"},
    {.key = "train.lr_min", .type = T_REAL, FIELD(lr_min), .lo = 0,
     .hi = 10, .flags = R_F32, .example = "0",
     .help = "cosine schedule: final learning rate"},
    {.key = "train.patience", .type = T_INT, FIELD(patience), .imin = 0,
     .imax = 1000000, .example = "10",
     .help = "early stopping: epochs without validation gain, 0 = off",
     .details = "needs a validation split; the status stays `finished` and "
                "`epochs_done` says how far it went"},
    {.key = "train.checkpoint", .type = T_ENUM, FIELD(checkpoint),
     NAMES(bool_names),
     .help = "write the selected epoch's parameters (autorec recommend)",
     .details = "written to `checkpoints/<database file name>/<run id>.ckpt` "
                "beside the database; `false` writes no file"},
    {.key = "train.refit", .type = T_ENUM, FIELD(refit), NAMES(bool_names),
     .help = "retrain on train + validation for the selected epochs",
     .details = "the epoch count comes from validation, and the refit model's "
                "test RMSE becomes the run's result; needs "
                "`data.split.validation_ratio` > 0"},
    {.key = "train.ema", .type = T_REAL, FIELD(ema), .lo = 0, .hi = 1,
     .hi_open = 1, .flags = R_F32, .example = "0.9",
     .help = "decay of an exponential moving average of the parameters, "
             "evaluated beside them each epoch; 0 = off",
     .details = "after every step ema = D * ema + (1 - D) * params; each "
                "epoch records the average's validation and test RMSE "
                "(epochs.ema_*), and the selection takes the average when its "
                "validation RMSE is lower (runs.selected_weights)"},
    {.key = "train.swa_start", .type = T_INT, FIELD(swa_start), .imin = 0,
     .imax = 1000000, .example = "100",
     .help = "first epoch of stochastic weight averaging, evaluated beside "
             "the parameters each epoch from then on; 0 = off",
     .details = "from the start of epoch S on, the average is the plain mean "
                "of the parameters after every step; like `train.ema` (which "
                "it excludes) it fills epochs.ema_* from epoch S and the "
                "selection takes it when its validation RMSE is lower "
                "(runs.selected_weights `ema`); at most `train.epochs`"},
    {.key = "eval.clip", .type = T_PAIR, FIELD(clip), .example = "[1, 5]",
     .help = "clip predictions: none, auto (rating range) or [lo, hi]",
     .details = "applies to every evaluated prediction, validation and test "
                "alike"},
    {.key = "eval.cold_default", .type = T_REAL, FIELD(cold_default),
     .lo = 0, .hi = 10, .lo_open = 1, .flags = O_NONE, .example = "3",
     .help = "prediction for unseen items/users, none = the model's",
     .details = "applies to validation and test pairs whose item or user has no "
                "training rating"},
    {.key = "eval.top_k", .type = T_INT, FIELD(top_k), .imin = 0,
     .imax = 100000, .example = "10",
     .help = "ranking metrics @K over the test set at the end; 0 = off",
     .details = "Precision, Recall, NDCG and hit rate @K of the result model "
                "(runs.precision_at_k ...): candidates are the items without a "
                "training or validation rating of the user, scores the "
                "unclipped outputs"},
    {.key = "eval.relevant_min", .type = T_REAL, FIELD(relevant_min),
     .lo = 0, .hi = 10, .lo_open = 1, .example = "4",
     .help = "a test rating at least this is relevant (ranking metrics)"},
    {.key = "eval.top_k_every", .type = T_INT, FIELD(top_k_every),
     .imin = 0, .imax = 1000000, .example = "10",
     .help = "also rank every N epochs (raw weights); 0 = only at the end"},
    {.key = "search.sampler", .type = T_ENUM, FIELD(search_sampler),
     NAMES(sampler_names),
     .help = "autorec grid: the grid's product, or random / sobol trials"},
    {.key = "search.trials", .type = T_INT, FIELD(search_trials), .imin = 1,
     .imax = CFG_GRID_MAX_POINTS, .example = "64",
     .help = "trials drawn by the random or sobol sampler"},
    {.key = "search.seed", .type = T_U64, FIELD(search_seed), .example = "0",
     .help = "seed of the sampler"},
    {.key = "search.pruner", .type = T_ENUM, FIELD(search_pruner),
     NAMES(pruner_names),
     .help = "stop unpromising trials early, by validation RMSE",
     .details = "needs `data.split.validation_ratio` > 0; the test columns are "
                "never read"},
    {.key = "search.warmup_epochs", .type = T_INT, FIELD(search_warmup),
     .imin = 0, .imax = 1000000, .example = "5",
     .help = "median: never prune at or before this epoch"},
    {.key = "search.min_trials", .type = T_INT, FIELD(search_min_trials),
     .imin = 1, .imax = 1000000, .example = "5",
     .help = "median: other trials needed at an epoch before pruning"},
    {.key = "search.min_epochs", .type = T_INT, FIELD(search_min_epochs),
     .imin = 1, .imax = 1000000, .example = "1",
     .help = "asha: epoch of the first rung"},
    {.key = "search.reduction_factor", .type = T_INT,
     FIELD(search_reduction), .imin = 2, .imax = 1000, .example = "3",
     .help = "asha: 1/eta of the trials at a rung go on"},
    {.key = "search.rungs", .type = T_INT, FIELD(search_rungs), .imin = 0,
     .imax = 64, .example = "4",
     .help = "asha: rungs (min_epochs * eta^k), 0 = all below train.epochs"},
};
#define NKEYS ((int)(sizeof(keys) / sizeof(keys[0])))

/* Returns the descriptor of dotted key k (klen bytes), or NULL. */
static const KeyDesc *find_key(const char *k, size_t klen) {
    for (int i = 0; i < NKEYS; i++)
        if (strlen(keys[i].key) == klen && memcmp(keys[i].key, k, klen) == 0)
            return &keys[i];
    return NULL;
}

/* ------------------------------------------------------------ messages -- */

/* Decodes the UTF-8 sequence at s (n bytes available) into *cp.  Returns its
 * length (1-4), or 0 when it is malformed, overlong, a surrogate or beyond
 * U+10FFFF (what libyaml refuses too). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = s[0] < 0x80 ? 1 : s[0] < 0xC0 ? 0 : s[0] < 0xE0 ? 2
               : s[0] < 0xF0 ? 3 : s[0] < 0xF8 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    uint32_t v = len == 1 ? s[0] : s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

/* Writes s (n bytes) into out (cap >= 16 bytes) as a double-quoted string,
 * escaping '"', '\\' and control bytes, cut with "..." when longer than fits.
 * Returns out (caller-owned). */
static const char *quote(char *out, size_t cap, const char *s, size_t n) {
    size_t o = 0, limit = cap - 10; /* room for an escape, ...", NUL */
    assert(cap >= 16);
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp = 0;
        size_t len = c >= 0x80 ? utf8_decode((const unsigned char *)s + i,
                                             n - i, &cp) : 1;
        int verbatim = c >= 0x80 ? len > 0 && cp >= 0xA0 /* not C1 */
                                 : c >= 0x20 && c != 0x7f;
        size_t need = verbatim ? len : 4;
        if (o + need > limit) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (!verbatim) {   /* control or invalid UTF-8 byte */
            snprintf(out + o, 5, "\\x%02X", c);
            o += 4;
        } else {
            memcpy(out + o, s + i, len);
            o += len;
            i += len - 1;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* Writes what key d accepts ("an integer in 1..1000000, e.g. 500") into out.
 * Returns out (caller-owned). */
static const char *describe(const KeyDesc *d, char *out, size_t cap) {
    size_t o = 0;
    if (d->flags & O_NONE) o = (size_t)snprintf(out, cap, "none or ");
    switch (d->type) {
    case T_STR:
        if (d->flags & S_NAME)
            o = (size_t)snprintf(out, cap, "1 to %zu characters from "
                                 "A-Z a-z 0-9 . _ -", d->size - 1);
        else
            o = (size_t)snprintf(out, cap, "a %sstring of at most %zu bytes",
                                 d->flags & S_NONEMPTY ? "non-empty " : "",
                                 d->size - 1);
        break;
    case T_INT:
        o = (size_t)snprintf(out, cap, "an integer in %lld..%lld", d->imin,
                             d->imax);
        break;
    case T_WIDTHS:
        o = (size_t)snprintf(out, cap, "an integer in %lld..%lld or a list of "
                             "1 to %d of them such as [500, 250, 500]", d->imin,
                             d->imax, CFG_HIDDEN_MAX);
        break;
    case T_U64:
        o += (size_t)snprintf(out + o, cap - o, "an integer in 0..%lld",
                              (long long)CFG_U64_MAX);
        break;
    case T_REAL:
        if (isinf(d->hi))
            o += (size_t)snprintf(out + o, cap - o, "a real number %s %g",
                                  d->lo_open ? ">" : ">=", d->lo);
        else
            o += (size_t)snprintf(out + o, cap - o, "a real number in "
                                  "%c%g, %g%c", d->lo_open ? '(' : '[',
                                  d->lo, d->hi, d->hi_open ? ')' : ']');
        break;
    case T_PAIR:
        o = (size_t)snprintf(out, cap, "none, auto (the data's rating range) "
                             "or a list [lo, hi] of two finite numbers with "
                             "lo < hi");
        break;
    case T_ENUM:
        o = (size_t)snprintf(out, cap, "one of:");
        for (int i = 0; i < d->nnames && o < cap; i++)
            o += (size_t)snprintf(out + o, cap - o, "%s %s", i ? "," : "",
                                  d->names[i]);
        return out;
    }
    if (d->example && o < cap)
        snprintf(out + o, cap - o, ", e.g. %s", d->example);
    return out;
}

/* Formats "where: key: message" (where may be NULL) into err.  Returns -1. */
__attribute__((format(printf, 4, 5)))
static int key_error(char *err, const char *where, const char *key,
                     const char *fmt, ...) {
    char msg[ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(err, "%s%s%s: %s", where ? where : "", where ? ": " : "",
                   key, msg);
}

/* Levenshtein distance of a and b (each at most KEY_MAX bytes). */
static size_t edit_distance(const char *a, size_t na, const char *b,
                            size_t nb) {
    size_t row[KEY_MAX + 1];
    assert(na <= KEY_MAX && nb <= KEY_MAX);
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* Returns the part of s (n bytes) after its last '.', length in *len. */
static const char *last_part(const char *s, size_t n, size_t *len) {
    size_t i = n;
    while (i > 0 && s[i - 1] != '.') i--;
    *len = n - i;
    return s + i;
}

/* Returns 1 when candidate c (a dotted key or section) looks like what the
 * user meant by the unknown dotted key k. */
static int similar(const char *k, size_t kn, const char *c, size_t cn) {
    size_t kl, cl;
    const char *kp = last_part(k, kn, &kl), *cp = last_part(c, cn, &cl);
    size_t limit = kn < 4 ? 1 : 2;
    if (kn < cn && c[kn] == '.' && memcmp(k, c, kn) == 0) return 1; /* in k */
    if (kn <= KEY_MAX && edit_distance(k, kn, c, cn) <= limit) return 1;
    if (kl > 0 && kl == cl && memcmp(kp, cp, kl) == 0) return 1; /* moved */
    if (kl >= 3 && kl < cl && memcmp(kp, cp, kl) == 0) return 1; /* prefix */
    return 0;
}

/* Writes "; did you mean a, b?" naming keys (and, when sections is 1, section
 * names) similar to the unknown dotted key k into out, or "" when none are.
 * Returns out. */
static const char *suggest(const char *k, size_t kn, int sections, char *out,
                           size_t cap) {
    struct { const char *s; size_t n; } seen[2 * NKEYS];
    int nseen = 0;
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < NKEYS; i++) {
        const char *key = keys[i].key;
        size_t len = strlen(key);
        for (size_t n = 1; n <= len; n++) {
            if (n < len && (key[n] != '.' || !sections)) continue;
            int dup = 0;
            for (int j = 0; j < nseen && !dup; j++)
                dup = seen[j].n == n && memcmp(seen[j].s, key, n) == 0;
            if (dup) continue;
            assert(nseen < 2 * NKEYS);
            seen[nseen].s = key;
            seen[nseen++].n = n;
            if (!similar(k, kn, key, n) || o >= cap) continue;
            o += (size_t)snprintf(out + o, cap - o, "%s%.*s",
                                  o ? ", " : "; did you mean ", (int)n, key);
        }
    }
    if (o > 0 && o < cap) snprintf(out + o, cap - o, "?");
    return out;
}

/* Writes the names directly under section prefix (plen bytes, "" or ending
 * in '.'), comma-separated, into out.  Returns out. */
static const char *list_children(const char *prefix, size_t plen, char *out,
                                 size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < NKEYS; i++) {
        const char *k = keys[i].key;
        if (strncmp(k, prefix, plen) != 0) continue;
        size_t n = strcspn(k + plen, ".");
        int dup = 0;
        for (int j = 0; j < i && !dup; j++)
            dup = strncmp(keys[j].key, k, plen + n) == 0 &&
                  (keys[j].key[plen + n] == '.' ||
                   keys[j].key[plen + n] == '\0');
        if (dup || o >= cap) continue;
        o += (size_t)snprintf(out + o, cap - o, "%s%.*s", o ? ", " : "",
                              (int)n, k + plen);
    }
    return out;
}

/* Formats the unknown-key error for a dotted key (cfg_set_key, --set).
 * Returns -1. */
static int unknown_key(char *err, const char *where, const char *k,
                       size_t kn) {
    char q[QUOTE_MAX], hint[ERR_MAX / 2], all[ERR_MAX / 2];
    size_t o = 0;
    all[0] = '\0';
    for (int i = 0; i < NKEYS && o < sizeof all; i++)
        o += (size_t)snprintf(all + o, sizeof all - o, "%s%s", i ? ", " : "",
                              keys[i].key);
    return err_set(err, "%s%sunknown key %s%s (valid keys: %s)",
                   where ? where : "", where ? ": " : "",
                   quote(q, sizeof q, k, kn),
                   suggest(k, kn, 0, hint, sizeof hint), all);
}

/* -------------------------------------------------------------- values -- */

enum { NUM_OK, NUM_SYNTAX, NUM_NONFINITE, NUM_RANGE, NUM_NOT_INT };

/* Returns 1 when s spells NaN or infinity (optionally signed, YAML ".inf"). */
static int nonfinite_word(const char *s) {
    if (*s == '+' || *s == '-') s++;
    if (*s == '.') s++;
    return strcasecmp(s, "nan") == 0 || strcasecmp(s, "inf") == 0 ||
           strcasecmp(s, "infinity") == 0;
}

/* Parses a finite decimal real (no spaces, no hex).  Returns NUM_*. */
static int parse_real(const char *s, double *out) {
    char *end;
    if (nonfinite_word(s)) return NUM_NONFINITE;
    if (*s == '\0' || s[strspn(s, "0123456789+-.eE")] != '\0')
        return NUM_SYNTAX;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0') return NUM_SYNTAX;
    /* ERANGE: overflow, or a non-zero literal rounding to 0; subnormal
     * results are kept as the nearest representable value. */
    if (errno == ERANGE && (isinf(v) || v == 0)) return NUM_RANGE;
    if (!isfinite(v)) return NUM_RANGE;
    *out = v;
    return NUM_OK;
}

/* Parses a decimal integer into a long long.  Returns NUM_*. */
static int parse_int(const char *s, long long *out) {
    char *end;
    if (*s == '\0' || s[strspn(s, "0123456789+-")] != '\0') {
        double d;
        return parse_real(s, &d) == NUM_SYNTAX ? NUM_SYNTAX : NUM_NOT_INT;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0') return NUM_SYNTAX;
    if (errno == ERANGE) return NUM_RANGE;
    *out = v;
    return NUM_OK;
}

/* Parses a decimal integer in 0..UINT64_MAX.  Returns NUM_*. */
static int parse_u64(const char *s, uint64_t *out) {
    long long sv = 0;
    char *end;
    int rc = parse_int(s, &sv);
    if (rc == NUM_SYNTAX || rc == NUM_NOT_INT) return rc;
    if (s[0] == '-') {
        if (rc != NUM_OK || sv != 0) return NUM_RANGE;
        *out = 0; /* "-0" */
        return NUM_OK;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0') return NUM_SYNTAX;
    if (errno == ERANGE) return NUM_RANGE;
    *out = (uint64_t)v;
    return NUM_OK;
}

/* Returns 1 when v lies in d's real range (as a double). */
static int real_in_range(const KeyDesc *d, double v) {
    if (!isfinite(v)) return 0;
    if (d->lo_open ? !(v > d->lo) : !(v >= d->lo)) return 0;
    if (d->hi_open ? !(v < d->hi) : !(v <= d->hi)) return 0;
    return 1;
}

/* Returns 1 when v is in range for key d, also after rounding to single
 * precision for R_F32 keys (e.g. dropout 0.99999999 rounds to 1.0f, lr 1e-50
 * to 0.0f, weight decay 1e39 to infinity).  The float conversion of a value
 * beyond FLT_MAX is undefined behaviour, so it is checked first. */
static int real_ok(const KeyDesc *d, double v) {
    if (!real_in_range(d, v)) return 0;
    if (!(d->flags & R_F32)) return 1;
    if (fabs(v) > FLT_MAX) return 0;
    return real_in_range(d, (double)(float)v);
}

/* For an R_F32 key whose value v is in range as a double but not in single
 * precision: writes an explanation into out (caller-owned), else "".
 * Returns out. */
static const char *f32_note(const KeyDesc *d, double v, char *out,
                            size_t cap) {
    out[0] = '\0';
    if (!(d->flags & R_F32) || !real_in_range(d, v) || real_ok(d, v))
        return out;
    if (fabs(v) > FLT_MAX)
        snprintf(out, cap, "; training computes in single precision, whose "
                 "largest value is %g", (double)FLT_MAX);
    else
        snprintf(out, cap, "; training computes in single precision, where "
                 "it rounds to %.9g", (double)(float)v);
    return out;
}

/* For model.hidden above its range: writes the memory the model alone would
 * take into out (caller-owned), else "".  Returns out. */
static const char *hidden_note(const KeyDesc *d, const char *value, char *out,
                               size_t cap) {
    long long h = 0;
    out[0] = '\0';
    if (strcmp(d->key, "model.hidden") != 0 || parse_int(value, &h) != NUM_OK ||
        h <= d->imax)
        return out;
    /* parameters, gradients and Adam's two moments: 4 floats for each of
     * the 2 x hidden x users weights (biases aside) */
    double per_user = 16.0 * 2.0 * (double)h;
    snprintf(out, cap, "; a model that size would need %.3g GB for each user "
             "in the data (parameters, gradients and Adam moments: %.3g TB "
             "with MovieLens 100K's 943 users)", per_user / 1e9,
             per_user * 943 / 1e12);
    return out;
}

enum { WIDTHS_COUNT = 101 };  /* parse_widths: too many widths */

/* Parses a T_WIDTHS value: one integer, or "[a, b, ...]" (spaces allowed
 * around the items) of 1..CFG_HIDDEN_MAX integers, each in d's range.
 * Fills w[0..*n).  Returns NUM_OK, WIDTHS_COUNT, or the first item's
 * NUM_* problem. */
static int parse_widths(const char *s, const KeyDesc *d, int *w, int *n) {
    char item[64];
    *n = 0;
    if (s[0] != '[') {
        long long v = 0;
        int rc = parse_int(s, &v);
        if (rc == NUM_OK && (v < d->imin || v > d->imax)) rc = NUM_RANGE;
        if (rc != NUM_OK) return rc;
        w[(*n)++] = (int)v;
        return NUM_OK;
    }
    const char *p = s + 1;
    for (;;) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ']') e++;
        size_t len = (size_t)(e - p);
        while (len > 0 && p[len - 1] == ' ') len--;
        if (*e == '\0' || len == 0 || len >= sizeof item) return NUM_SYNTAX;
        if (*n == CFG_HIDDEN_MAX) return WIDTHS_COUNT;
        memcpy(item, p, len);
        item[len] = '\0';
        long long v = 0;
        int rc = parse_int(item, &v);
        if (rc == NUM_OK && (v < d->imin || v > d->imax)) rc = NUM_RANGE;
        if (rc != NUM_OK) return rc;
        w[(*n)++] = (int)v;
        if (*e == ']') return e[1] == '\0' ? NUM_OK : NUM_SYNTAX;
        p = e + 1;
    }
}

enum { PAIR_ORDER = 100 };  /* parse_pair: lo >= hi */

/* Parses a T_PAIR value: "none", "auto" or "[lo, hi]" (spaces allowed
 * around the numbers).  Returns NUM_OK with *out filled, PAIR_ORDER when
 * lo >= hi, or NUM_SYNTAX. */
static int parse_pair(const char *s, ClipSpec *out) {
    char buf[2][64];
    memset(out, 0, sizeof *out);
    if (!strcmp(s, "none")) { out->mode = CLIP_NONE; return NUM_OK; }
    if (!strcmp(s, "auto")) { out->mode = CLIP_AUTO; return NUM_OK; }
    size_t n = strlen(s);
    if (n < 5 || s[0] != '[' || s[n - 1] != ']') return NUM_SYNTAX;
    const char *p = s + 1, *end = s + n - 1;
    double v[2];
    for (int i = 0; i < 2; i++) {
        const char *stop = i == 0 ? memchr(p, ',', (size_t)(end - p)) : end;
        if (!stop) return NUM_SYNTAX;
        while (p < stop && *p == ' ') p++;
        const char *e = stop;
        while (e > p && e[-1] == ' ') e--;
        if (e == p || (size_t)(e - p) >= sizeof buf[i]) return NUM_SYNTAX;
        memcpy(buf[i], p, (size_t)(e - p));
        buf[i][e - p] = '\0';
        if (parse_real(buf[i], &v[i]) != NUM_OK) return NUM_SYNTAX;
        p = stop + 1;
    }
    if (!(v[0] < v[1])) return PAIR_ORDER;
    out->mode = CLIP_RANGE;
    out->lo = v[0];
    out->hi = v[1];
    return NUM_OK;
}

/* Checks string s (n bytes) against key d.  Returns NULL when valid, else
 * the problem, written into why (caller-owned).  "" means "empty value". */
static const char *str_problem(const KeyDesc *d, const char *s, size_t n,
                               char *why, size_t cap) {
    if (n == 0 && (d->flags & S_NONEMPTY)) return "";
    if (n >= d->size) {
        snprintf(why, cap, "is too long (%zu bytes)", n);
        return why;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, cap, "contains the control character 0x%02X", c);
            return why;
        }
        if (c >= 0x80 && !(d->flags & S_NAME)) {
            /* the resolved config is stored as YAML: UTF-8 text only */
            uint32_t cp = 0;
            size_t len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
            if (len == 0) {
                snprintf(why, cap, "is not valid UTF-8 (byte 0x%02X at offset "
                         "%zu)", c, i);
                return why;
            }
            if (cp < 0xA0) {
                snprintf(why, cap, "contains the control character U+%04X",
                         (unsigned)cp);
                return why;
            }
            i += len - 1;
            continue;
        }
        if ((d->flags & S_NAME) &&
            !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            if (c < 0x80)
                snprintf(why, cap, "contains '%c'", c);
            else
                snprintf(why, cap, "contains the non-ASCII byte 0x%02X", c);
            return why;
        }
    }
    return NULL;
}

/* Parses value for key d, checks it and stores it in cfg (cfg is untouched
 * on error).  Returns 0, or -1 with err prefixed by where (may be NULL). */
static int set_value(Config *cfg, const KeyDesc *d, const char *value,
                     const char *where, char *err) {
    char q[QUOTE_MAX], exp[DESC_MAX], why[DESC_MAX], note[DESC_MAX * 2];
    char *field = (char *)cfg + d->off;
    size_t n = strlen(value);
    int rc = NUM_OK;

    note[0] = '\0';
    quote(q, sizeof q, value, n);
    describe(d, exp, sizeof exp);
    if (n == 0 && !(d->type == T_STR && !(d->flags & S_NONEMPTY)))
        return key_error(err, where, d->key, "empty value (expected %s)", exp);
    if ((d->flags & O_NONE) && strcmp(value, "none") == 0) {
        if (d->type == T_U64) {
            uint64_t v = 0;
            assert(d->size == sizeof v);
            memcpy(field, &v, sizeof v);
        } else {
            double v = 0;
            assert(d->type == T_REAL && d->size == sizeof v && !real_ok(d, 0));
            memcpy(field, &v, sizeof v);
        }
        return 0;
    }
    switch (d->type) {
    case T_STR: {
        const char *p = str_problem(d, value, n, why, sizeof why);
        if (p)
            return key_error(err, where, d->key, "%s %s (expected %s)", q, p,
                             exp);
        memcpy(field, value, n + 1);
        return 0;
    }
    case T_INT: {
        long long v = 0;
        rc = parse_int(value, &v);
        if (rc == NUM_OK && (v < d->imin || v > d->imax)) rc = NUM_RANGE;
        if (rc == NUM_RANGE) hidden_note(d, value, note, sizeof note);
        if (rc != NUM_OK) break;
        int iv = (int)v;
        assert(d->size == sizeof iv);
        memcpy(field, &iv, sizeof iv);
        return 0;
    }
    case T_WIDTHS: {
        int w[CFG_HIDDEN_MAX], n = 0;
        rc = parse_widths(value, d, w, &n);
        if (rc == WIDTHS_COUNT)
            return key_error(err, where, d->key, "%s has more than %d widths "
                             "(expected %s)", q, CFG_HIDDEN_MAX, exp);
        if (rc == NUM_RANGE && value[0] != '[') hidden_note(d, value, note, sizeof note);
        if (rc != NUM_OK) break;
        cfg->hidden = w[0];
        cfg->hidden_more = n - 1;
        memset(cfg->hidden_rest, 0, sizeof cfg->hidden_rest);
        for (int i = 1; i < n; i++) cfg->hidden_rest[i - 1] = w[i];
        return 0;
    }
    case T_U64: {
        uint64_t v = 0;
        rc = parse_u64(value, &v);
        if (rc == NUM_OK && v > CFG_U64_MAX) rc = NUM_RANGE;
        if (rc != NUM_OK) break;
        if (d->flags & O_NONE) v++;   /* 0 means none */
        assert(d->size == sizeof v);
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case T_REAL: {
        double v = 0;
        rc = parse_real(value, &v);
        if (rc == NUM_OK && !real_ok(d, v)) {
            rc = NUM_RANGE;
            f32_note(d, v, note, sizeof note);
        }
        if (rc != NUM_OK) break;
        assert(d->size == sizeof v);
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case T_ENUM:
        for (int i = 0; i < d->nnames; i++) {
            if (strcmp(value, d->names[i]) != 0) continue;
            assert(d->size == sizeof i);
            memcpy(field, &i, sizeof i);
            return 0;
        }
        return key_error(err, where, d->key, "%s is not a valid choice "
                         "(expected %s)", q, exp);
    case T_PAIR: {
        ClipSpec c;
        assert(d->size == sizeof c);
        rc = parse_pair(value, &c);
        if (rc == PAIR_ORDER)
            return key_error(err, where, d->key, "%s: lo must be below hi "
                             "(expected %s)", q, exp);
        if (rc != NUM_OK)
            return key_error(err, where, d->key, "%s is not valid (expected "
                             "%s)", q, exp);
        memcpy(field, &c, sizeof c);
        return 0;
    }
    }
    static const char *const what[] = {
        [NUM_SYNTAX] = "is not a number",
        [NUM_NONFINITE] = "is not a finite number",
        [NUM_RANGE] = "is out of range",
        [NUM_NOT_INT] = "is not an integer"};
    assert(rc > NUM_OK && rc <= NUM_NOT_INT);
    return key_error(err, where, d->key, "%s %s (expected %s)%s", q, what[rc],
                     exp, note);
}

/* ---------------------------------------------------------- public API -- */

/* Fills cfg with the d2l reference values (configs/seed.yaml). */
void cfg_defaults(Config *cfg) {
    assert(cfg);
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->name, sizeof cfg->name, "%s", "seed");
    snprintf(cfg->data_path, sizeof cfg->data_path, "%s", "data/ml-100k");
    cfg->data_format = DATA_ML100K;
    cfg->data_cache = 1;
    cfg->split_kind = SPLIT_RANDOM;
    cfg->test_ratio = 0.1;
    cfg->hidden = 500;
    cfg->hidden_more = 0;
    cfg->dropout = 0.05;
    cfg->act_encoder = ACT_SIGMOID;
    cfg->act_decoder = ACT_IDENTITY;
    cfg->epochs = 25;
    cfg->batch_size = 256;
    cfg->lr = 0.002;
    cfg->weight_decay = 1e-5;
    cfg->seed = 0;
    cfg->threads = 0;
    cfg->kernel = KERNEL_AUTO;
    cfg->validation_ratio = 0;
    cfg->split_seed = 0;   /* none */
    cfg->split_repeats = 1;
    cfg->split_index = 0;
    cfg->l2 = 0;
    cfg->optimizer = OPTIM_ADAM;
    cfg->schedule = SCHED_NONE;
    cfg->step_epochs = 10;
    cfg->gamma = 0.1;
    cfg->lr_min = 0;
    cfg->patience = 0;
    cfg->checkpoint = 1;
    cfg->refit = 0;
    cfg->variant = VARIANT_ITEM;
    cfg->glocal_dim = 5;             /* GLocal-K's ML-100K setting */
    cfg->glocal_sparsity = 0.006;
    cfg->glocal_kernel_size = 3;
    cfg->glocal_dot_scale = 1;
    cfg->glocal_pretrain_epochs = 30;
    cfg->glocal_pretrain_iters = 5;
    cfg->glocal_finetune_iters = 5;
    cfg->clip.mode = CLIP_NONE;
    cfg->cold_default = 0;  /* none */
    cfg->ema = 0;           /* off */
    cfg->swa_start = 0;     /* off */
    cfg->top_k = 10;
    cfg->relevant_min = 4;
    cfg->top_k_every = 0;
    cfg->search_sampler = SAMPLER_GRID;
    cfg->search_trials = 16;
    cfg->search_seed = 0;
    cfg->search_pruner = PRUNER_NONE;
    cfg->search_warmup = 5;
    cfg->search_min_trials = 5;
    cfg->search_min_epochs = 1;
    cfg->search_reduction = 3;
    cfg->search_rungs = 0;
}

uint64_t cfg_split_seed(const Config *cfg) {
    uint64_t base = cfg->split_seed == 0 ? cfg->seed : cfg->split_seed - 1;
    return base + (uint64_t)cfg->split_index;
}

int cfg_split_count(const Config *cfg) {
    return cfg->split_kind == SPLIT_FOLDS ? CFG_FOLDS : cfg->split_repeats;
}

/* Returns 0, or -1 with err; cfg is unchanged on error. */
int cfg_set_key(Config *cfg, const char *key, const char *value,
                const char *where, char *err) {
    assert(cfg && key && value);
    const KeyDesc *d = find_key(key, strlen(key));
    if (!d) return unknown_key(err, where, key, strlen(key));
    return set_value(cfg, d, value, where, err);
}

/* Splits "key=value" at the first '=' and sets the key; messages start with
 * "--set key=value: ".  Returns 0, or -1 with err; cfg unchanged on error. */
int cfg_set_override(Config *cfg, const char *assignment, char *err) {
    char where[ERR_MAX], key[KEY_MAX];
    assert(cfg && assignment);
    snprintf(where, sizeof where, "--set %s", assignment);
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return err_set(err, "%s: expected key=value, e.g. --set train.lr=0.001",
                       where);
    size_t kn = (size_t)(eq - assignment);
    if (kn == 0)
        return err_set(err, "%s: missing key before '=' (expected key=value, "
                       "e.g. --set train.lr=0.001)", where);
    if (kn >= sizeof key) return unknown_key(err, where, assignment, kn);
    memcpy(key, assignment, kn);
    key[kn] = '\0';
    return cfg_set_key(cfg, key, eq + 1, where, err);
}

/* Replaces (or adds) the axis of grid with key: its values become those of
 * from (moved; from is left empty).  Returns 0 or -1 with err. */
static int grid_axis_replace(Grid *grid, GridAxis *from, const char *where,
                             char *err) {
    int a = 0;
    while (a < grid->naxes && strcmp(grid->axes[a].key, from->key)) a++;
    if (a == grid->naxes) {
        if (grid->naxes >= CFG_GRID_MAX_AXES)
            return err_set(err, "%s: the grid already has %d axes", where,
                           CFG_GRID_MAX_AXES);
        memset(&grid->axes[a], 0, sizeof grid->axes[a]);
        grid->naxes++;
    }
    GridAxis *ax = &grid->axes[a];
    for (int v = 0; v < ax->nvalues; v++) mem_free(ax->values[v]);
    mem_free(ax->values);
    *ax = *from;
    memset(from, 0, sizeof *from);
    return 0;
}

int cfg_grid_override(Config *cfg, Grid *grid, const char *assignment,
                      char *err) {
    const char *eq = strchr(assignment, '=');
    char where[ERR_MAX];
    snprintf(where, sizeof where, "--set %s", assignment);
    if (!eq || strncmp(assignment, "grid.", 5) != 0) {
        /* a plain key: an axis over it gives way to the one value */
        size_t kn = eq ? (size_t)(eq - assignment) : 0;
        for (int a = 0; eq && a < grid->naxes; a++) {
            if (strlen(grid->axes[a].key) != kn ||
                strncmp(grid->axes[a].key, assignment, kn))
                continue;
            Config scratch = *cfg;
            if (cfg_set_override(&scratch, assignment, err)) return -1;
            for (int v = 0; v < grid->axes[a].nvalues; v++)
                mem_free(grid->axes[a].values[v]);
            mem_free(grid->axes[a].values);
            memmove(&grid->axes[a], &grid->axes[a + 1],
                    (size_t)(grid->naxes - a - 1) * sizeof grid->axes[a]);
            grid->naxes--;
            break;
        }
        return cfg_set_override(cfg, assignment, err);
    }
    const char *key = assignment + 5, *val = eq + 1;
    size_t kn = (size_t)(eq - key);
    if (kn == 0 || kn >= CFG_KEY_MAX)
        return err_set(err, "%s: expected grid.KEY=[V1, V2, ...], e.g. --set "
                            "grid.model.hidden=[100,300]", where);
    if (strpbrk(val, "\r\n"))
        return err_set(err, "%s: the values must be on one line", where);
    size_t n = kn + strlen(val) + 32;
    char *text = mem_alloc(n);
    if (!text) return err_set(err, "%s: out of memory", where);
    /* the YAML loader validates the list exactly as in a config file */
    snprintf(text, n, "grid:\n  %.*s: %s%s%s\n", (int)kn, key,
             val[0] == '[' ? "" : "[", val, val[0] == '[' ? "" : "]");
    Config scratch = *cfg;
    Grid one;
    memset(&one, 0, sizeof one);
    int rc = cfg_load_string_grid(&scratch, &one, text, where, err);
    mem_free(text);
    if (rc == 0 && one.naxes != 1)
        rc = err_set(err, "%s: expected grid.KEY=[V1, V2, ...]", where);
    if (rc == 0) rc = grid_axis_replace(grid, &one.axes[0], where, err);
    cfg_grid_free(&one);
    return rc;
}

/* Cross-key checks, and every key's own range (fields may have been set
 * directly).  Returns 0, or -1 with err. */
int cfg_validate(const Config *cfg, char *err) {
    char exp[DESC_MAX], why[DESC_MAX], q[QUOTE_MAX];
    assert(cfg);
    for (int i = 0; i < NKEYS; i++) {
        const KeyDesc *d = &keys[i];
        const char *field = (const char *)cfg + d->off;
        describe(d, exp, sizeof exp);
        switch (d->type) {
        case T_STR: {
            const char *end = memchr(field, '\0', d->size);
            if (!end)
                return key_error(err, NULL, d->key, "is not NUL-terminated");
            size_t n = (size_t)(end - field);
            const char *p = str_problem(d, field, n, why, sizeof why);
            if (p && !*p)
                return key_error(err, NULL, d->key, "empty value (expected "
                                 "%s)", exp);
            if (p)
                return key_error(err, NULL, d->key, "%s %s (expected %s)",
                                 quote(q, sizeof q, field, n), p, exp);
            break;
        }
        case T_INT: {
            int v;
            memcpy(&v, field, sizeof v);
            if (v < d->imin || v > d->imax)
                return key_error(err, NULL, d->key, "%d is out of range "
                                 "(expected %s)", v, exp);
            break;
        }
        case T_WIDTHS: {
            if (cfg->hidden < d->imin || cfg->hidden > d->imax)
                return key_error(err, NULL, d->key, "%d is out of range "
                                 "(expected %s)", cfg->hidden, exp);
            if (cfg->hidden_more < 0 || cfg->hidden_more > CFG_HIDDEN_MAX - 1)
                return key_error(err, NULL, d->key, "%d hidden layers is out "
                                 "of range (expected %s)", cfg->hidden_more + 1,
                                 exp);
            for (int l = 0; l < cfg->hidden_more; l++)
                if (cfg->hidden_rest[l] < d->imin || cfg->hidden_rest[l] > d->imax)
                    return key_error(err, NULL, d->key, "width %d of the list, "
                                     "%d, is out of range (expected %s)", l + 2,
                                     cfg->hidden_rest[l], exp);
            break;
        }
        case T_U64: {
            uint64_t v;
            memcpy(&v, field, sizeof v);
            if (v > CFG_U64_MAX + !!(d->flags & O_NONE))
                return key_error(err, NULL, d->key, "%llu is out of range "
                                 "(expected %s)", (unsigned long long)v, exp);
            break;
        }
        case T_REAL: {
            double v;
            memcpy(&v, field, sizeof v);
            if (!real_ok(d, v) && !(v == 0 && (d->flags & O_NONE)))
                return key_error(err, NULL, d->key, "%.17g is out of range "
                                 "(expected %s)", v, exp);
            break;
        }
        case T_PAIR: {
            ClipSpec c;
            memcpy(&c, field, sizeof c);
            if (c.mode < CLIP_NONE || c.mode > CLIP_RANGE ||
                (c.mode == CLIP_RANGE && !(isfinite(c.lo) && isfinite(c.hi) &&
                                           c.lo < c.hi)))
                return key_error(err, NULL, d->key, "is not valid (expected "
                                 "%s)", exp);
            break;
        }
        case T_ENUM: {
            int v;
            memcpy(&v, field, sizeof v);
            if (v < 0 || v >= d->nnames)
                return key_error(err, NULL, d->key, "%d is not a valid choice "
                                 "(expected %s)", v, exp);
            break;
        }
        }
    }
    if (cfg->split_kind == SPLIT_FILES) {
        if (!cfg->train_file[0])
            return err_set(err, "data.split.train_file: empty, but "
                           "data.split.kind is files (set it to the training "
                           "ratings file, or use kind: random)");
        if (!cfg->test_file[0])
            return err_set(err, "data.split.test_file: empty, but "
                           "data.split.kind is files (set it to the test "
                           "ratings file, or use kind: random)");
    }
    if (cfg->split_repeats > 1 && cfg->split_kind != SPLIT_RANDOM)
        return err_set(err, "data.split.repeats: %d needs data.split.kind "
                       "random (kind %s has its own splits: use repeats: 1)",
                       cfg->split_repeats, cfg_split_name(cfg->split_kind));
    if (cfg->split_kind == SPLIT_FOLDS && cfg->split_index >= CFG_FOLDS)
        return err_set(err, "data.split.index: %d is not a fold of kind folds "
                       "(expected 0..%d: files u1..u%d)", cfg->split_index,
                       CFG_FOLDS - 1, CFG_FOLDS);
    {
        uint64_t base = cfg->split_seed == 0 ? cfg->seed : cfg->split_seed - 1;
        uint64_t last = (uint64_t)cfg->split_index +
                        (uint64_t)(cfg->split_repeats - 1);
        if (base > CFG_U64_MAX - last)
            return err_set(err, "data.split.seed: %llu + split index %llu "
                           "exceeds 9223372036854775807: use a smaller seed",
                           (unsigned long long)base, (unsigned long long)last);
    }
    if (cfg->patience > 0 && cfg->validation_ratio == 0)
        return err_set(err, "train.patience: %d needs a validation split to "
                       "watch: set data.split.validation_ratio (e.g. 0.1), or "
                       "patience: 0", cfg->patience);
    if (cfg->refit && cfg->validation_ratio == 0)
        return err_set(err, "train.refit: true needs a validation split to "
                       "choose the number of epochs: set "
                       "data.split.validation_ratio (e.g. 0.1), or refit: "
                       "false");
    if (cfg->swa_start > 0 && cfg->ema > 0)
        return err_set(err, "train.swa_start: %d and train.ema: %g both "
                       "average the parameters (one average per run): set "
                       "train.ema: 0 or train.swa_start: 0", cfg->swa_start,
                       cfg->ema);
    if (cfg->swa_start > cfg->epochs)
        return err_set(err, "train.swa_start: %d is after the last epoch "
                       "(train.epochs %d): set it to at most %d, or 0 for no "
                       "averaging", cfg->swa_start, cfg->epochs, cfg->epochs);
    if (cfg->top_k_every > 0 && cfg->top_k == 0)
        return err_set(err, "eval.top_k_every: %d needs ranking metrics: set "
                       "eval.top_k (e.g. 10), or top_k_every: 0",
                       cfg->top_k_every);
    if (cfg->optimizer == OPTIM_LAZY_ADAM) {
        const char *why =
            cfg->variant == VARIANT_GLOCAL ? "model.variant glocal (L-BFGS)"
            : cfg->kernel == KERNEL_DENSE || cfg->kernel == KERNEL_NAIVE
                ? "the dense and naive kernels"
            : cfg->hidden_more > 0 ? "more than one hidden layer"
            : cfg->l2 > 0 ? "train.l2" : NULL;
        if (why)
            return err_set(err, "train.optimizer: lazy_adam is not supported "
                           "with %s (it skips the rows of users without a "
                           "rating in the batch, which only the sparse "
                           "kernel of the one-hidden-layer model without "
                           "train.l2 updates row by row): use train.optimizer: "
                           "adam, or train.kernel: sparse, one model.hidden "
                           "width and train.l2: 0", why);
    }
    if (cfg->variant == VARIANT_GLOCAL) {
        if (cfg->glocal_kernel_size % 2 == 0)
            return err_set(err, "model.glocal.kernel_size: %d is even (the "
                           "global kernel is centred on each entry: use an "
                           "odd size such as 3)", cfg->glocal_kernel_size);
        if (cfg->glocal_pretrain_epochs > cfg->epochs)
            return err_set(err, "model.glocal.pretrain_epochs: %d is more "
                           "than train.epochs %d (train.epochs counts both "
                           "stages: pretraining, then fine-tuning; set "
                           "train.epochs to at least %d)",
                           cfg->glocal_pretrain_epochs, cfg->epochs,
                           cfg->glocal_pretrain_epochs);
        if (cfg->ema > 0)
            return err_set(err, "train.ema: %g is not supported by "
                           "model.variant glocal (L-BFGS epochs, no moving "
                           "average): set train.ema: 0", cfg->ema);
        if (cfg->swa_start > 0)
            return err_set(err, "train.swa_start: %d is not supported by "
                           "model.variant glocal (L-BFGS epochs, no "
                           "average): set train.swa_start: 0",
                           cfg->swa_start);
        if (cfg->checkpoint)
            return err_set(err, "train.checkpoint: true is not supported by "
                           "model.variant glocal (its parameters have no "
                           "checkpoint format, and autorec recommend cannot "
                           "rebuild it): set train.checkpoint: false");
    }
    if (cfg->schedule == SCHED_COSINE && cfg->lr_min > cfg->lr)
        return err_set(err, "train.lr_min: %g is above train.lr %g (the "
                       "cosine schedule decays from lr to lr_min)",
                       cfg->lr_min, cfg->lr);
    return 0;
}

/* The YAML spellings of the enums (static strings; "invalid" when out of
 * range). */
const char *cfg_format_name(DataFormat f) {
    int i = (int)f;
    return i >= 0 && i < 3 ? format_names[i] : "invalid";
}

const char *cfg_split_name(SplitKind k) {
    int i = (int)k;
    return i >= 0 && i < 3 ? split_names[i] : "invalid";
}

const char *cfg_kernel_name(KernelKind k) {
    int i = (int)k;
    return i >= 0 && i < 4 ? kernel_names[i] : "invalid";
}

const char *cfg_optimizer_name(OptimizerKind k) {
    int i = (int)k;
    const int n = (int)(sizeof optimizer_names / sizeof optimizer_names[0]);
    return i >= 0 && i < n ? optimizer_names[i] : "invalid";
}

const char *cfg_schedule_name(ScheduleKind k) {
    int i = (int)k;
    return i >= 0 && i < 3 ? schedule_names[i] : "invalid";
}

const char *cfg_sampler_name(SamplerKind k) {
    int i = (int)k;
    return i >= 0 && i < 3 ? sampler_names[i] : "invalid";
}

const char *cfg_pruner_name(PrunerKind k) {
    int i = (int)k;
    return i >= 0 && i < 3 ? pruner_names[i] : "invalid";
}

const char *cfg_axis_dist_name(AxisDist d) {
    int i = (int)d;
    return i >= 0 && i < 5 ? axis_dist_names[i] : "invalid";
}

/* ---------------------------------------------------------- YAML input -- */

typedef struct {
    yaml_parser_t parser;
    const char *name;          /* file name for messages */
    const unsigned char *text; /* the input, for reader-error positions */
    size_t len;
    Config *cfg;               /* scratch copy being filled */
    Grid *grid;                /* scratch grid, or NULL: grid: refused */
    int ensemble;              /* 1: a top-level ensemble: section is
                                  skipped (ensemble.c reads it), 0: refused */
    char *err;
} Loader;

/* Formats "name:line:col: message" (mark is 0-based) into L->err.
 * Returns -1. */
__attribute__((format(printf, 3, 4)))
static int load_error(Loader *L, yaml_mark_t m, const char *fmt, ...) {
    char msg[ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(L->err, "%s:%zu:%zu: %s", L->name, m.line + 1,
                   m.column + 1, msg);
}

/* Reports libyaml's own error (L->parser.error) as "name:line:col: problem
 * (context ...)".  Returns -1. */
static int syntax_error(Loader *L) {
    yaml_parser_t *p = &L->parser;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR)
        return err_set(L->err, "%s: out of memory while parsing YAML",
                       L->name);
    if (p->error == YAML_READER_ERROR) {
        /* reader errors carry a byte offset, not a mark */
        yaml_mark_t m = {0, 0, 0};
        size_t off = p->problem_offset < L->len ? p->problem_offset : L->len;
        for (size_t i = 0; i < off; i++) {
            if (L->text[i] == '\n') {
                m.line++;
                m.column = 0;
            } else if ((L->text[i] & 0xC0) != 0x80) {
                m.column++;
            }
        }
        if (p->problem_value != -1)
            return load_error(L, m, "%s (byte 0x%02X)", problem,
                              (unsigned)p->problem_value);
        return load_error(L, m, "%s", problem);
    }
    if (p->context)
        return load_error(L, p->problem_mark, "%s (%s at line %zu, column %zu)",
                          problem, p->context, p->context_mark.line + 1,
                          p->context_mark.column + 1);
    return load_error(L, p->problem_mark, "%s", problem);
}

/* Reads the next event into *ev, rejecting aliases, anchors and tags.
 * Returns 0 (caller deletes *ev), or -1 with L->err set (nothing to
 * delete). */
static int next_event(Loader *L, yaml_event_t *ev) {
    const yaml_char_t *anchor = NULL, *tag = NULL;
    if (!yaml_parser_parse(&L->parser, ev)) return syntax_error(L);
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        load_error(L, ev->start_mark, "aliases (*%s) are not supported in "
                   "config files; write the value out",
                   (const char *)ev->data.alias.anchor);
        yaml_event_delete(ev);
        return -1;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default:
        break;
    }
    if (anchor)
        load_error(L, ev->start_mark, "anchors (&%s) are not supported in "
                   "config files; write each value out", (const char *)anchor);
    else if (tag)
        load_error(L, ev->start_mark, "tags (%s) are not supported in config "
                   "files; quote strings instead", (const char *)tag);
    if (anchor || tag) {
        yaml_event_delete(ev);
        return -1;
    }
    return 0;
}

/* Returns "a sequence" / "a mapping" / ... for a node-start event. */
static const char *node_kind(const yaml_event_t *ev) {
    switch (ev->type) {
    case YAML_SEQUENCE_START_EVENT: return "a sequence";
    case YAML_MAPPING_START_EVENT: return "a mapping";
    case YAML_SCALAR_EVENT: return "a single value";
    default: return "something else";
    }
}

/* Returns 1 for a plain scalar meaning null: "", "~", "null". */
static int is_null(const yaml_event_t *ev) {
    const char *v = (const char *)ev->data.scalar.value;
    assert(ev->type == YAML_SCALAR_EVENT);
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*v || !strcmp(v, "~") || !strcmp(v, "null") ||
            !strcmp(v, "Null") || !strcmp(v, "NULL"));
}

static int parse_mapping(Loader *L, const char *prefix);
static int parse_grid(Loader *L, yaml_mark_t m);

/* Consumes one node (a scalar, or a sequence or mapping with everything in
 * it).  Returns 0 or -1 with L->err set. */
static int skip_node(Loader *L) {
    int depth = 0;
    do {
        yaml_event_t ev;
        if (next_event(L, &ev)) return -1;
        if (ev.type == YAML_SEQUENCE_START_EVENT ||
            ev.type == YAML_MAPPING_START_EVENT)
            depth++;
        else if (ev.type == YAML_SEQUENCE_END_EVENT ||
                 ev.type == YAML_MAPPING_END_EVENT)
            depth--;
        yaml_event_delete(&ev);
    } while (depth > 0);
    return 0;
}

/* Applies the value event ev of section `path` (plen bytes of a dotted key,
 * e.g. "data.split"): it must start a mapping.  Returns 0 or -1. */
static int parse_section(Loader *L, const yaml_event_t *ev, const char *path,
                         size_t plen) {
    char sub[KEY_MAX], kids[ERR_MAX / 2], q[QUOTE_MAX];
    assert(plen + 2 <= sizeof sub);
    memcpy(sub, path, plen);
    sub[plen] = '.';
    sub[plen + 1] = '\0';
    if (ev->type == YAML_MAPPING_START_EVENT) return parse_mapping(L, sub);
    list_children(sub, plen + 1, kids, sizeof kids);
    if (ev->type == YAML_SCALAR_EVENT && is_null(ev))
        return load_error(L, ev->start_mark, "%.*s: empty value (expected a "
                          "mapping with keys %s)", (int)plen, path, kids);
    if (ev->type == YAML_SCALAR_EVENT)
        return load_error(L, ev->start_mark, "%.*s: expected a mapping with "
                          "keys %s; got the value %s", (int)plen, path, kids,
                          quote(q, sizeof q,
                                (const char *)ev->data.scalar.value,
                                ev->data.scalar.length));
    return load_error(L, ev->start_mark, "%.*s: expected a mapping with keys "
                      "%s; got %s", (int)plen, path, kids, node_kind(ev));
}

/* Reads the items of a T_PAIR list for key d (its SEQUENCE_START event,
 * at mark m, has been consumed) up to SEQUENCE_END: exactly two numbers.
 * Writes them as the text "[lo, hi]" into out (cap bytes).  `grid` adds
 * "grid: " to messages.  Returns 0, or -1 with L->err naming the line and
 * column of the offending item. */
static int read_pair(Loader *L, const KeyDesc *d, yaml_mark_t m, int grid,
                     char *out, size_t cap) {
    char q[QUOTE_MAX], item[2][64];
    const char *gp = grid ? "grid: " : "";
    yaml_event_t ev;
    int n = 0;
    for (;;) {
        if (next_event(L, &ev)) return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT) break;
        if (ev.type != YAML_SCALAR_EVENT) {
            load_error(L, ev.start_mark, "%s%s: list items must be numbers, "
                       "got %s", gp, d->key, node_kind(&ev));
            yaml_event_delete(&ev);
            return -1;
        }
        const char *v = (const char *)ev.data.scalar.value;
        size_t vn = ev.data.scalar.length;
        double x;
        if (n >= 2) {
            load_error(L, ev.start_mark, "%s%s: a third item %s: the list "
                       "must have exactly two numbers [lo, hi], e.g. %s", gp,
                       d->key, quote(q, sizeof q, v, vn), d->example);
            yaml_event_delete(&ev);
            return -1;
        }
        if (strlen(v) != vn || vn >= sizeof item[n] ||
            parse_real(v, &x) != NUM_OK) {
            load_error(L, ev.start_mark, "%s%s: list item %s is not a finite "
                       "number (expected [lo, hi], e.g. %s)", gp, d->key,
                       quote(q, sizeof q, v, vn), d->example);
            yaml_event_delete(&ev);
            return -1;
        }
        memcpy(item[n], v, vn + 1);
        n++;
        yaml_event_delete(&ev);
    }
    yaml_event_delete(&ev);
    if (n != 2)
        return load_error(L, m, "%s%s: the list has %d item%s; it must have "
                          "exactly two numbers [lo, hi], e.g. %s", gp, d->key,
                          n, n == 1 ? "" : "s", d->example);
    snprintf(out, cap, "[%s, %s]", item[0], item[1]);
    return 0;
}

/* Reads the items of a T_WIDTHS list for key d (its SEQUENCE_START event,
 * at mark m, has been consumed) up to SEQUENCE_END: scalars only, at most
 * CFG_HIDDEN_MAX.  Writes them as the text "[a, b, ...]" into out (cap
 * bytes) for set_value to check.  Returns 0, or -1 with L->err naming the
 * line and column of the offending item. */
static int read_widths(Loader *L, const KeyDesc *d, yaml_mark_t m, char *out,
                       size_t cap) {
    char q[QUOTE_MAX];
    yaml_event_t ev;
    int n = 0;
    size_t o = (size_t)snprintf(out, cap, "[");
    for (;;) {
        if (next_event(L, &ev)) return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT) break;
        const char *v = (const char *)ev.data.scalar.value;
        if (ev.type != YAML_SCALAR_EVENT || n >= CFG_HIDDEN_MAX ||
            strlen(v) != ev.data.scalar.length || ev.data.scalar.length > 20) {
            if (ev.type != YAML_SCALAR_EVENT)
                load_error(L, ev.start_mark, "%s: list items must be integers, "
                           "got %s", d->key, node_kind(&ev));
            else if (n >= CFG_HIDDEN_MAX)
                load_error(L, ev.start_mark, "%s: more than %d hidden widths",
                           d->key, CFG_HIDDEN_MAX);
            else
                load_error(L, ev.start_mark, "%s: list item %s is not an "
                           "integer width", d->key,
                           quote(q, sizeof q, v, ev.data.scalar.length));
            yaml_event_delete(&ev);
            return -1;
        }
        o += (size_t)snprintf(out + o, cap - o, "%s%s", n ? ", " : "", v);
        n++;
        yaml_event_delete(&ev);
    }
    yaml_event_delete(&ev);
    if (n == 0)
        return load_error(L, m, "%s: an empty list (expected a width or a list "
                          "of widths, e.g. [500, 250, 500])", d->key);
    snprintf(out + o, cap - o, "]");
    return 0;
}

/* Applies the value event ev to key d: it must be a scalar (or, for a
 * T_PAIR key, a list of two numbers; for T_WIDTHS a list of widths).
 * Returns 0 or -1. */
static int parse_scalar(Loader *L, const yaml_event_t *ev, const KeyDesc *d) {
    char exp[DESC_MAX], where[ERR_MAX];
    if (d->type == T_WIDTHS && ev->type == YAML_SEQUENCE_START_EVENT) {
        char text[CFG_HIDDEN_MAX * 24 + 8];
        if (read_widths(L, d, ev->start_mark, text, sizeof text)) return -1;
        snprintf(where, sizeof where, "%s:%zu:%zu", L->name,
                 ev->start_mark.line + 1, ev->start_mark.column + 1);
        return set_value(L->cfg, d, text, where, L->err);
    }
    if (d->type == T_PAIR && ev->type == YAML_SEQUENCE_START_EVENT) {
        char text[160];
        if (read_pair(L, d, ev->start_mark, 0, text, sizeof text)) return -1;
        snprintf(where, sizeof where, "%s:%zu:%zu", L->name,
                 ev->start_mark.line + 1, ev->start_mark.column + 1);
        return set_value(L->cfg, d, text, where, L->err);
    }
    if (ev->type != YAML_SCALAR_EVENT)
        return load_error(L, ev->start_mark, "%s: expected a single value "
                          "(%s), got %s", d->key,
                          describe(d, exp, sizeof exp), node_kind(ev));
    const char *v = (const char *)ev->data.scalar.value;
    if (strlen(v) != ev->data.scalar.length)
        return load_error(L, ev->start_mark, "%s: value contains a NUL "
                          "character", d->key);
    if (is_null(ev)) v = "";
    snprintf(where, sizeof where, "%s:%zu:%zu", L->name,
             ev->start_mark.line + 1, ev->start_mark.column + 1);
    return set_value(L->cfg, d, v, where, L->err);
}

/* Reads one number of a distribution's [lo, hi] for key d into *out: an
 * integer for the int distributions.  Returns 0 or -1 with L->err. */
static int read_dist_bound(Loader *L, const KeyDesc *d, AxisDist dist,
                           double *out) {
    yaml_event_t ev;
    char *end;
    if (next_event(L, &ev)) return -1;
    int rc = -1;
    if (ev.type != YAML_SCALAR_EVENT) {
        load_error(L, ev.start_mark, "grid: %s: {%s: [lo, hi]} takes two "
                   "numbers, got %s", d->key, cfg_axis_dist_name(dist),
                   node_kind(&ev));
        goto done;
    }
    const char *v = (const char *)ev.data.scalar.value;
    errno = 0;
    *out = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(*out) ||
        ((dist == AXIS_INT || dist == AXIS_LOG_INT) &&
         (*out != floor(*out) || fabs(*out) > 1e15))) {
        load_error(L, ev.start_mark, "grid: %s: {%s: [lo, hi]}: \"%s\" is "
                   "not %s", d->key, cfg_axis_dist_name(dist), v,
                   dist == AXIS_INT || dist == AXIS_LOG_INT ? "an integer"
                                                            : "a number");
        goto done;
    }
    char where[ERR_MAX];
    Config scratch = *L->cfg;
    snprintf(where, sizeof where, "%s:%zu:%zu: grid", L->name,
             ev.start_mark.line + 1, ev.start_mark.column + 1);
    rc = set_value(&scratch, d, v, where, L->err);   /* a valid value */
done:
    yaml_event_delete(&ev);
    return rc;
}

/* Reads a distribution mapping of grid axis ax (key d; the MAPPING_START
 * has been consumed): {uniform|log_uniform|int|log_int: [lo, hi]} (read
 * through the MAPPING_END: returns 0), or {choice: (returns 1: the list
 * and the MAPPING_END follow).  Returns -1 with L->err on error. */
static int parse_grid_dist(Loader *L, const KeyDesc *d, GridAxis *ax) {
    yaml_event_t ev;
    if (next_event(L, &ev)) return -1;
    int dist = -1, rc = -1;
    if (ev.type == YAML_SCALAR_EVENT)
        for (int k = 0; k < 5; k++)
            if (!strcmp((const char *)ev.data.scalar.value,
                        axis_dist_names[k]))
                dist = k;
    if (dist < 0) {
        load_error(L, ev.start_mark, "grid: %s: expected a distribution: "
                   "{choice: [...]}, {uniform: [lo, hi]}, {log_uniform: [lo, "
                   "hi]}, {int: [lo, hi]} or {log_int: [lo, hi]}", d->key);
        goto done;
    }
    ax->dist = (AxisDist)dist;
    if (dist == AXIS_LIST) { rc = 1; goto done; }
    int numeric = d->type == T_REAL || d->type == T_INT ||
                  d->type == T_U64 || d->type == T_WIDTHS;
    int integral = d->type != T_REAL;
    if (!numeric || (integral && dist != AXIS_INT && dist != AXIS_LOG_INT)) {
        load_error(L, ev.start_mark, "grid: %s: {%s: ...} does not fit this "
                   "key (use %s)", d->key, axis_dist_names[dist],
                   numeric ? "{int: [lo, hi]} or {log_int: [lo, hi]}"
                           : "{choice: [...]}");
        goto done;
    }
    yaml_mark_t m = ev.start_mark;
    yaml_event_delete(&ev);
    if (next_event(L, &ev)) return -1;
    if (ev.type != YAML_SEQUENCE_START_EVENT) {
        load_error(L, ev.start_mark, "grid: %s: expected {%s: [lo, hi]}",
                   d->key, axis_dist_names[dist]);
        goto done;
    }
    if (read_dist_bound(L, d, ax->dist, &ax->lo) ||
        read_dist_bound(L, d, ax->dist, &ax->hi))
        goto done;
    yaml_event_delete(&ev);
    if (next_event(L, &ev)) return -1;
    if (ev.type != YAML_SEQUENCE_END_EVENT) {
        load_error(L, ev.start_mark, "grid: %s: {%s: [lo, hi]} takes two "
                   "numbers", d->key, axis_dist_names[dist]);
        goto done;
    }
    if (!(ax->lo < ax->hi) ||
        ((dist == AXIS_LOG_UNIFORM || dist == AXIS_LOG_INT) && ax->lo <= 0)) {
        load_error(L, m, "grid: %s: {%s: [%g, %g]}: expected lo < hi%s",
                   d->key, axis_dist_names[dist], ax->lo, ax->hi,
                   dist == AXIS_LOG_UNIFORM || dist == AXIS_LOG_INT
                       ? ", both > 0" : "");
        goto done;
    }
    yaml_event_delete(&ev);
    if (next_event(L, &ev)) return -1;
    if (ev.type != YAML_MAPPING_END_EVENT) {
        load_error(L, ev.start_mark, "grid: %s: a distribution has one key, "
                   "e.g. {uniform: [0.1, 0.5]}", d->key);
        goto done;
    }
    rc = 0;
done:
    yaml_event_delete(&ev);
    return rc;
}

/* Reads one grid axis's value: a non-empty sequence of scalars, each
 * valid for key d.  Appends the axis to L->grid.  Returns 0 or -1. */
static int parse_grid_axis(Loader *L, const KeyDesc *d, yaml_mark_t key_mark) {
    Grid *g = L->grid;
    GridAxis *ax = &g->axes[g->naxes];
    char where[ERR_MAX];
    yaml_event_t ev;
    int have = 0, rc = -1, cap = 0, in_map = 0;
    memset(ax, 0, sizeof *ax);
    snprintf(ax->key, sizeof ax->key, "%s", d->key);
    g->naxes++;  /* the axis belongs to the grid from here on (freed with it) */

    if (next_event(L, &ev)) goto done;
    have = 1;
    if (ev.type == YAML_MAPPING_START_EVENT) {
        /* a distribution {name: [lo, hi]}, or {choice: [values]} */
        yaml_event_delete(&ev);
        have = 0;
        int r = parse_grid_dist(L, d, ax);
        if (r <= 0) return r;   /* a range distribution, read (or an error) */
        in_map = 1;             /* choice: its list follows */
        if (next_event(L, &ev)) goto done;
        have = 1;
    }
    if (ev.type != YAML_SEQUENCE_START_EVENT) {
        load_error(L, ev.start_mark, "grid: %s: expected a list of values, "
                   "e.g. [%s], or a distribution such as {uniform: [lo, "
                   "hi]}, got %s", d->key, d->example ? d->example : "...",
                   node_kind(&ev));
        goto done;
    }
    for (;;) {
        yaml_event_delete(&ev);
        have = 0;
        if (next_event(L, &ev)) goto done;
        have = 1;
        if (ev.type == YAML_SEQUENCE_END_EVENT) break;
        char pair[160];
        int is_pair = d->type == T_PAIR &&
                      ev.type == YAML_SEQUENCE_START_EVENT;
        if (ev.type != YAML_SCALAR_EVENT && !is_pair) {
            load_error(L, ev.start_mark, "grid: %s: list items must be single "
                       "values, got %s", d->key, node_kind(&ev));
            goto done;
        }
        if (ax->nvalues >= CFG_GRID_MAX_VALUES) {
            load_error(L, ev.start_mark, "grid: %s: more than %d values",
                       d->key, CFG_GRID_MAX_VALUES);
            goto done;
        }
        if (is_pair &&
            read_pair(L, d, ev.start_mark, 1, pair, sizeof pair))
            goto done;
        const char *v = is_pair ? pair : (const char *)ev.data.scalar.value;
        if (!is_pair && strlen(v) != ev.data.scalar.length) {
            load_error(L, ev.start_mark, "grid: %s: value contains a NUL "
                       "character", d->key);
            goto done;
        }
        if (!is_pair && is_null(&ev)) v = "";
        Config scratch = *L->cfg;
        snprintf(where, sizeof where, "%s:%zu:%zu: grid", L->name,
                 ev.start_mark.line + 1, ev.start_mark.column + 1);
        if (set_value(&scratch, d, v, where, L->err)) goto done;
        if (ax->nvalues == cap) {
            int ncap = cap ? cap * 2 : 8;
            char **nv = mem_realloc(ax->values, (size_t)ncap * sizeof *nv);
            if (!nv) {
                err_set(L->err, "%s: out of memory reading the grid", L->name);
                goto done;
            }
            ax->values = nv;
            cap = ncap;
        }
        ax->values[ax->nvalues] = mem_strdup(v);
        if (!ax->values[ax->nvalues]) {
            err_set(L->err, "%s: out of memory reading the grid", L->name);
            goto done;
        }
        ax->nvalues++;
    }
    if (ax->nvalues == 0) {
        load_error(L, key_mark, "grid: %s: the list of values is empty (give "
                   "at least one value, or remove the key)", d->key);
        goto done;
    }
    if (in_map) {   /* the end of {choice: [...]} */
        yaml_event_delete(&ev);
        have = 0;
        if (next_event(L, &ev)) goto done;
        have = 1;
        if (ev.type != YAML_MAPPING_END_EVENT) {
            load_error(L, ev.start_mark, "grid: %s: a distribution has one "
                       "key, e.g. {choice: [a, b]}", d->key);
            goto done;
        }
    }
    rc = 0;
done:
    if (have) yaml_event_delete(&ev);
    return rc;
}

/* Reads the value of the top-level `grid` key (its key event at mark m):
 * a mapping from dotted config keys to lists of values.  Returns 0 or -1. */
static int parse_grid(Loader *L, yaml_mark_t m) {
    char q[QUOTE_MAX], hint[ERR_MAX / 2];
    yaml_event_t ev;
    int have = 0, rc = -1;
    if (!L->grid)
        return load_error(L, m, "grid: is read only by `autorec grid` (this "
                          "command trains one config; run `autorec grid %s`, "
                          "or remove the grid)", L->name);
    if (L->grid->naxes)
        return load_error(L, m, "duplicate key \"grid\" at top level");
    if (next_event(L, &ev)) return -1;
    have = 1;
    if (ev.type != YAML_MAPPING_START_EVENT) {
        load_error(L, ev.start_mark, "grid: expected a mapping from config "
                   "keys to lists of values (e.g. train.lr: [0.001, 0.002]), "
                   "got %s", node_kind(&ev));
        goto done;
    }
    for (;;) {
        yaml_event_delete(&ev);
        have = 0;
        if (next_event(L, &ev)) goto done;
        have = 1;
        if (ev.type == YAML_MAPPING_END_EVENT) break;
        if (ev.type != YAML_SCALAR_EVENT) {
            load_error(L, ev.start_mark, "grid: keys must be dotted config "
                       "keys such as train.lr, got %s", node_kind(&ev));
            goto done;
        }
        const char *k = (const char *)ev.data.scalar.value;
        size_t kn = ev.data.scalar.length;
        const KeyDesc *d = strlen(k) == kn ? find_key(k, kn) : NULL;
        quote(q, sizeof q, k, kn);
        if (!d) {
            load_error(L, ev.start_mark, "grid: unknown config key %s%s",
                       q, suggest(k, kn, 0, hint, sizeof hint));
            goto done;
        }
        for (int i = 0; i < L->grid->naxes; i++)
            if (!strcmp(L->grid->axes[i].key, d->key)) {
                load_error(L, ev.start_mark, "grid: duplicate key %s", q);
                goto done;
            }
        if (L->grid->naxes >= CFG_GRID_MAX_AXES) {
            load_error(L, ev.start_mark, "grid: more than %d keys",
                       CFG_GRID_MAX_AXES);
            goto done;
        }
        yaml_mark_t km = ev.start_mark;
        yaml_event_delete(&ev);
        have = 0;
        if (parse_grid_axis(L, d, km)) goto done;
    }
    if (L->grid->naxes == 0) {
        load_error(L, ev.start_mark, "grid: is empty (give at least one key "
                   "with a list of values)");
        goto done;
    }
    int lists = 1;   /* a search's distributions have no size */
    for (int i = 0; i < L->grid->naxes; i++)
        if (L->grid->axes[i].dist != AXIS_LIST) lists = 0;
    if (lists && cfg_grid_size(L->grid) == 0) {
        load_error(L, m, "grid: has more than %d points", CFG_GRID_MAX_POINTS);
        goto done;
    }
    rc = 0;
done:
    if (have) yaml_event_delete(&ev);
    return rc;
}

/* Reads key/value pairs up to the MAPPING_END event (MAPPING_START has been
 * consumed) and applies them under prefix ("" or a section path ending in
 * '.').  Returns 0 or -1 with L->err set. */
static int parse_mapping(Loader *L, const char *prefix) {
    struct { const char *name; size_t len; yaml_mark_t mark; } seen[NKEYS];
    char q[QUOTE_MAX], hint[ERR_MAX / 2], kids[ERR_MAX / 2], full[ERR_MAX];
    int nseen = 0, have = 0, rc = -1;
    size_t plen = strlen(prefix);
    const char *in = plen ? "in " : "at top level";
    int inlen = plen ? (int)plen - 1 : 0;
    yaml_event_t ev;

    for (;;) {
        if (next_event(L, &ev)) goto done;
        have = 1;
        if (ev.type == YAML_MAPPING_END_EVENT) break;
        if (ev.type != YAML_SCALAR_EVENT) {
            load_error(L, ev.start_mark, "keys must be names, got %s %s%.*s",
                       node_kind(&ev), in, inlen, prefix);
            goto done;
        }
        const char *k = (const char *)ev.data.scalar.value;
        size_t kn = ev.data.scalar.length;
        const KeyDesc *d = NULL;
        int is_map = 0;
        if (plen == 0 && kn == 8 && !memcmp(k, "ensemble", 8)) {
            yaml_mark_t em = ev.start_mark;
            yaml_event_delete(&ev);
            have = 0;
            if (!L->ensemble) {
                load_error(L, em, "ensemble: is read only by `autorec run` "
                           "(it trains the members and blends them: run "
                           "autorec run %s)", L->name);
                goto done;
            }
            if (skip_node(L)) goto done;
            continue;
        }
        if (plen == 0 && kn == 4 && !memcmp(k, "grid", 4)) {
            yaml_mark_t gm = ev.start_mark;
            yaml_event_delete(&ev);
            have = 0;
            if (parse_grid(L, gm)) goto done;
            continue;
        }
        if (strlen(k) == kn && !memchr(k, '.', kn)) {
            for (int i = 0; i < NKEYS && !d; i++) {
                const char *t = keys[i].key;
                if (strncmp(t, prefix, plen) || strncmp(t + plen, k, kn))
                    continue;
                if (t[plen + kn] == '\0' || t[plen + kn] == '.') {
                    d = &keys[i];
                    is_map = t[plen + kn] == '.';
                }
            }
        }
        quote(q, sizeof q, k, kn);
        if (!d && memchr(k, '.', kn)) {
            load_error(L, ev.start_mark, "dotted key %s is not allowed in "
                       "YAML; nest it (e.g. train: then lr: indented below)",
                       q);
            goto done;
        }
        if (!d) {
            int fn = snprintf(full, sizeof full, "%s%.*s", prefix, (int)kn, k);
            size_t fl = fn < 0 ? 0 : (size_t)fn;
            if (fl >= sizeof full) fl = sizeof full - 1;
            load_error(L, ev.start_mark, "unknown key %s %s%.*s%s (valid keys"
                       "%s%.*s: %s)", q, in, inlen, prefix,
                       suggest(full, fl, 1, hint, sizeof hint),
                       plen ? " in " : "", inlen, prefix,
                       list_children(prefix, plen, kids, sizeof kids));
            goto done;
        }
        const char *child = d->key + plen;
        for (int j = 0; j < nseen; j++) {
            if (seen[j].len != kn || memcmp(seen[j].name, child, kn)) continue;
            load_error(L, ev.start_mark, "duplicate key %s %s%.*s (first "
                       "defined at line %zu, column %zu)", q, in, inlen,
                       prefix, seen[j].mark.line + 1,
                       seen[j].mark.column + 1);
            goto done;
        }
        assert(nseen < NKEYS);
        seen[nseen].name = child;
        seen[nseen].len = kn;
        seen[nseen++].mark = ev.start_mark;
        yaml_event_delete(&ev);
        have = 0;

        if (next_event(L, &ev)) goto done;
        have = 1;
        if (is_map ? parse_section(L, &ev, d->key, plen + kn)
                   : parse_scalar(L, &ev, d))
            goto done;
        yaml_event_delete(&ev);
        have = 0;
    }
    rc = 0;
done:
    if (have) yaml_event_delete(&ev);
    return rc;
}

/* Parses the whole stream: exactly one document holding a mapping.
 * Returns 0 or -1 with L->err set. */
static int parse_stream(Loader *L) {
    char kids[ERR_MAX / 2], q[QUOTE_MAX];
    yaml_event_t ev;
    int have = 0, rc = -1;

    list_children("", 0, kids, sizeof kids);
    if (next_event(L, &ev)) goto done;
    have = 1;
    assert(ev.type == YAML_STREAM_START_EVENT);
    yaml_event_delete(&ev);
    have = 0;

    if (next_event(L, &ev)) goto done;
    have = 1;
    if (ev.type == YAML_STREAM_END_EVENT) {
        load_error(L, ev.start_mark, "empty document (expected a mapping with "
                   "keys %s)", kids);
        goto done;
    }
    assert(ev.type == YAML_DOCUMENT_START_EVENT);
    yaml_event_delete(&ev);
    have = 0;

    if (next_event(L, &ev)) goto done;
    have = 1;
    if (ev.type == YAML_SCALAR_EVENT && is_null(&ev)) {
        load_error(L, ev.start_mark, "empty document (expected a mapping with "
                   "keys %s)", kids);
        goto done;
    }
    if (ev.type == YAML_SCALAR_EVENT) {
        load_error(L, ev.start_mark, "the document must be a mapping with keys "
                   "%s; got the value %s", kids,
                   quote(q, sizeof q, (const char *)ev.data.scalar.value,
                         ev.data.scalar.length));
        goto done;
    }
    if (ev.type != YAML_MAPPING_START_EVENT) {
        load_error(L, ev.start_mark, "the document must be a mapping with keys "
                   "%s; got %s", kids, node_kind(&ev));
        goto done;
    }
    yaml_event_delete(&ev);
    have = 0;
    if (parse_mapping(L, "")) goto done;

    if (next_event(L, &ev)) goto done;
    have = 1;
    assert(ev.type == YAML_DOCUMENT_END_EVENT);
    yaml_event_delete(&ev);
    have = 0;

    if (next_event(L, &ev)) goto done;
    have = 1;
    if (ev.type != YAML_STREAM_END_EVENT) {
        load_error(L, ev.start_mark, "a second YAML document (---) is not "
                   "allowed; a config file holds one document");
        goto done;
    }
    rc = 0;
done:
    if (have) yaml_event_delete(&ev);
    return rc;
}

/* Loads len bytes of YAML text on top of cfg; cfg is only changed when the
 * whole document is valid.  Returns 0 or -1 with err. */
static int load_text(Config *cfg, Grid *grid, int ensemble, const char *text,
                     size_t len, const char *name, char *err) {
    Config tmp = *cfg;
    Grid gtmp;
    memset(&gtmp, 0, sizeof gtmp);
    Loader L = {.name = name, .text = (const unsigned char *)text,
                .len = len, .cfg = &tmp, .grid = grid ? &gtmp : NULL,
                .ensemble = ensemble, .err = err};
    int rc;
    if (len > CFG_FILE_MAX)
        return err_set(err, "%s: config is %zu bytes, over the %d-byte "
                       "(1 MiB) limit", name, len, CFG_FILE_MAX);
    if (!yaml_parser_initialize(&L.parser))
        return err_set(err, "%s: out of memory starting the YAML parser",
                       name);
    yaml_parser_set_input_string(&L.parser, L.text, len);
    rc = parse_stream(&L);
    yaml_parser_delete(&L.parser);
    if (rc == 0) {
        *cfg = tmp;
        if (grid) *grid = gtmp;
    } else {
        cfg_grid_free(&gtmp);
    }
    return rc;
}

/* Returns 0, or -1 with err; cfg is unchanged on error.  name may be NULL
 * ("<string>"). */
int cfg_load_string(Config *cfg, const char *yaml, const char *name,
                    char *err) {
    assert(cfg && yaml);
    /* a stored config (runs.config_yaml) of an ensemble run carries its
     * ensemble: section: skipped, it is not part of a run's Config */
    return load_text(cfg, NULL, 1, yaml, strlen(yaml), name ? name : "<string>", err);
}

int cfg_load_string_grid(Config *cfg, Grid *grid, const char *yaml,
                         const char *name, char *err) {
    assert(cfg && grid && yaml);
    return load_text(cfg, grid, 0, yaml, strlen(yaml), name ? name : "<string>", err);
}

/* See cfg.h: len bytes that may hold NUL bytes, as read from a file. */
int cfg_load_buffer(Config *cfg, Grid *grid, const char *text, size_t len,
                    const char *name, char *err) {
    assert(cfg && (text || len == 0));
    return load_text(cfg, grid, 0, text ? text : "", len,
                     name ? name : "<buffer>", err);
}

/* Reads at most CFG_FILE_MAX bytes of path into a mem_alloc'd buffer, then
 * parses it.  Returns 0, or -1 with err naming path; cfg is unchanged on
 * error. */
int cfg_load_file(Config *cfg, const char *path, char *err) {
    return cfg_load_file_grid(cfg, NULL, path, err);
}

/* Lexically normalises the relative or absolute path p in place: drops
 * "." and empty segments, removes "x/.." pairs (keeping leading ".."). */
static void path_normalise(char *p) {
    char *seg[CFG_PATH_MAX / 2];
    int n = 0, abs = p[0] == '/';
    char buf[CFG_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", p);
    for (char *t = strtok(buf, "/"); t; t = strtok(NULL, "/")) {
        if (!strcmp(t, ".")) continue;
        if (!strcmp(t, "..") && n > 0 && strcmp(seg[n - 1], "..")) {
            n--;
            continue;
        }
        if (!strcmp(t, "..") && abs) continue;   /* "/.." is "/" */
        seg[n++] = t;
    }
    size_t len = 0;
    p[0] = '\0';
    if (abs) p[len++] = '/';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(p + len, CFG_PATH_MAX - len, "%s%s",
                                i ? "/" : "", seg[i]);
    if (len == 0) snprintf(p, CFG_PATH_MAX, ".");
    else p[len] = '\0';
}

/* Makes the relative path in field (CFG_PATH_MAX bytes), written in config
 * file cfg_path, relative to the working directory instead: the config's
 * directory joined with it, normalised.  Returns 0, or -1 with err when it
 * does not fit. */
static int path_from_config(char *field, const char *cfg_path,
                            const char *key, char *err) {
    const char *slash = strrchr(cfg_path, '/');
    char joined[2 * CFG_PATH_MAX];
    if (field[0] == '/' || field[0] == '\0' || !slash) return 0;
    snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - cfg_path),
             cfg_path, field);
    if (slash == cfg_path) snprintf(joined, sizeof joined, "/%s", field);
    if (strlen(joined) >= CFG_PATH_MAX)
        return err_set(err, "%s: %s: '%s' relative to the config's directory "
                            "is over %d bytes: use a shorter path",
                       cfg_path, key, field, CFG_PATH_MAX - 1);
    path_normalise(joined);
    snprintf(field, CFG_PATH_MAX, "%s", joined);
    return 0;
}

/* The keys holding file paths, resolved against the config's directory
 * (data.split.train_file and test_file are not: a relative one is relative
 * to the data directory, see data.c). */
static const struct {
    const char *key;
    size_t off;
} path_keys[] = {
    {"data.path", offsetof(Config, data_path)},
};
#define NPATH_KEYS (sizeof path_keys / sizeof path_keys[0])

/* Resolves the relative paths that the file `path` wrote into cfg (those
 * not blank after loading onto blanked path fields; the others get their
 * value from before, saved) and the values of grid axes over path keys.
 * Returns 0 or -1 with err. */
static int resolve_config_paths(Config *cfg, const Config *saved, Grid *grid,
                                const char *path, char *err) {
    for (size_t k = 0; k < NPATH_KEYS; k++) {
        char *field = (char *)cfg + path_keys[k].off;
        if (field[0] == '\0') {
            memcpy(field, (const char *)saved + path_keys[k].off,
                   CFG_PATH_MAX);
            continue;
        }
        if (path_from_config(field, path, path_keys[k].key, err)) return -1;
    }
    for (int a = 0; grid && a < grid->naxes; a++)
        for (size_t k = 0; k < NPATH_KEYS; k++) {
            if (strcmp(grid->axes[a].key, path_keys[k].key)) continue;
            for (int v = 0; v < grid->axes[a].nvalues; v++) {
                char field[CFG_PATH_MAX];
                snprintf(field, sizeof field, "%s", grid->axes[a].values[v]);
                if (path_from_config(field, path, path_keys[k].key, err))
                    return -1;
                char *copy = mem_strdup(field);
                if (!copy)
                    return err_set(err, "%s: out of memory", path);
                mem_free(grid->axes[a].values[v]);
                grid->axes[a].values[v] = copy;
            }
        }
    return 0;
}

/* As cfg_load_file; grid may be NULL (then grid: is refused); ensemble: 1
 * skips a top-level ensemble: section, 0 refuses it. */
static int load_file(Config *cfg, Grid *grid, int ensemble, const char *path,
                     char *err) {
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0, cap;
    struct stat st;
    int rc = -1;

    assert(cfg && path);
    f = fopen(path, "rb");
    if (!f) {
        err_set(err, "%s: cannot open config file: %s", path,
                strerror(errno));
        goto done;
    }
    if (fstat(fileno(f), &st) != 0) {
        err_set(err, "%s: cannot stat config file: %s", path,
                strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        err_set(err, "%s: is a directory, not a config file", path);
        goto done;
    }
    if (S_ISREG(st.st_mode) && st.st_size > CFG_FILE_MAX) {
        err_set(err, "%s: config file is %lld bytes, over the %d-byte (1 MiB) "
                "limit", path, (long long)st.st_size, CFG_FILE_MAX);
        goto done;
    }
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    buf = mem_alloc(cap);
    if (!buf) {
        err_set(err, "%s: out of memory reading config file", path);
        goto done;
    }
    for (;;) {
        if (len == cap) {
            if (cap > CFG_FILE_MAX) {
                err_set(err, "%s: config file is over the %d-byte (1 MiB) "
                        "limit", path, CFG_FILE_MAX);
                goto done;
            }
            size_t ncap = cap * 2 > CFG_FILE_MAX + 1 ? CFG_FILE_MAX + 1
                                                     : cap * 2;
            char *nbuf = mem_realloc(buf, ncap);
            if (!nbuf) {
                err_set(err, "%s: out of memory reading config file", path);
                goto done;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    if (ferror(f)) {
        err_set(err, "%s: cannot read config file: %s", path, strerror(errno));
        goto done;
    }
    /* blank the path fields to see which ones the file sets */
    Config saved = *cfg;
    for (size_t k = 0; k < NPATH_KEYS; k++)
        ((char *)cfg + path_keys[k].off)[0] = '\0';
    rc = load_text(cfg, grid, ensemble, buf, len, path, err);
    if (rc == 0 && resolve_config_paths(cfg, &saved, grid, path, err)) {
        cfg_grid_free(grid);
        rc = -1;
    }
    if (rc != 0) *cfg = saved;
done:
    mem_free(buf);
    if (f) fclose(f);
    return rc;
}

int cfg_load_file_grid(Config *cfg, Grid *grid, const char *path, char *err) {
    return load_file(cfg, grid, 0, path, err);
}

int cfg_load_file_ensemble(Config *cfg, const char *path, char *err) {
    return load_file(cfg, NULL, 1, path, err);
}

/* ---------------------------------------------------------------- grid -- */

void cfg_grid_free(Grid *grid) {
    if (!grid) return;
    for (int i = 0; i < grid->naxes; i++) {
        for (int j = 0; j < grid->axes[i].nvalues; j++)
            mem_free(grid->axes[i].values[j]);
        mem_free(grid->axes[i].values);
    }
    memset(grid, 0, sizeof *grid);
}

/* Returns the product of the axis lengths, or 0 above CFG_GRID_MAX_POINTS. */
size_t cfg_grid_size(const Grid *grid) {
    if (grid->zip) return grid->naxes ? (size_t)grid->axes[0].nvalues : 1;
    size_t n = 1;
    for (int i = 0; i < grid->naxes; i++) {
        n *= (size_t)grid->axes[i].nvalues;
        if (n > CFG_GRID_MAX_POINTS) return 0;
    }
    return n;
}

int cfg_grid_point(const Config *base, const Grid *grid, size_t index,
                   Config *out, char *err) {
    size_t n = cfg_grid_size(grid);
    if (index >= n)
        return err_set(err, "grid point %zu does not exist (the grid has %zu "
                       "points, numbered 0..%zu)", index, n, n ? n - 1 : 0);
    Config c = *base;
    for (int i = grid->naxes - 1; i >= 0; i--) {
        const GridAxis *ax = &grid->axes[i];
        size_t j = grid->zip ? index : index % (size_t)ax->nvalues;
        if (!grid->zip) index /= (size_t)ax->nvalues;
        if (cfg_set_key(&c, ax->key, ax->values[j], "grid", err)) return -1;
    }
    *out = c;
    return 0;
}

/* --------------------------------------------------------- YAML output -- */

/* Output buffer; buf == NULL measures only. */
typedef struct {
    char *buf;
    size_t len, cap;
} Out;

/* Appends printf-formatted text to o (or only counts it when measuring). */
__attribute__((format(printf, 2, 3)))
static void out_printf(Out *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf ? o->buf + o->len : NULL,
                      o->buf ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    assert(n >= 0);
    o->len += (size_t)n;
    assert(!o->buf || o->len < o->cap);
}

/* Writes s as a YAML double-quoted string. */
static void out_quoted(Out *o, const char *s) {
    out_printf(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        uint32_t cp = 0;
        size_t len = c >= 0x80 ? utf8_decode((const unsigned char *)s,
                                             strlen(s), &cp) : 0;
        if (c == '"' || c == '\\')
            out_printf(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            out_printf(o, "\\x%02X", c);
        else if (c < 0x80)
            out_printf(o, "%c", c);
        else if (len == 0)   /* not UTF-8 (cfg_validate refuses it) */
            out_printf(o, "\\x%02X", c);
        else {   /* ASCII output: no line or page break can hide in it */
            out_printf(o, cp > 0xFFFF ? "\\U%08X" : "\\u%04X", (unsigned)cp);
            s += len - 1;
        }
    }
    out_printf(o, "\"");
}

/* Writes the shortest "%.Ng" form of v that reads back as exactly v. */
static void out_real(Out *o, double v) {
    char b[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v) break;
    }
    out_printf(o, "%s", b);
}

/* Returns 1 when key d has the same value in a and b. */
static int key_equal(const KeyDesc *d, const Config *a, const Config *b) {
    const char *fa = (const char *)a + d->off, *fb = (const char *)b + d->off;
    switch (d->type) {
    case T_STR:
        return strcmp(fa, fb) == 0;
    case T_WIDTHS:
        if (a->hidden != b->hidden || a->hidden_more != b->hidden_more)
            return 0;
        for (int l = 0; l < a->hidden_more; l++)
            if (a->hidden_rest[l] != b->hidden_rest[l]) return 0;
        return 1;
    case T_PAIR: {
        ClipSpec ca, cb;
        memcpy(&ca, fa, sizeof ca);
        memcpy(&cb, fb, sizeof cb);
        return ca.mode == cb.mode &&
               (ca.mode != CLIP_RANGE || (ca.lo == cb.lo && ca.hi == cb.hi));
    }
    case T_INT: case T_U64: case T_REAL: case T_ENUM:
        break;
    }
    return memcmp(fa, fb, d->size) == 0;
}

/* Writes the value of key d in cfg as YAML (what cfg_to_yaml writes after
 * "key: "). */
static void emit_value(Out *o, const KeyDesc *d, const Config *cfg) {
    const char *field = (const char *)cfg + d->off;
    switch (d->type) {
    case T_STR:
        assert(memchr(field, '\0', d->size));
        out_quoted(o, field);
        break;
    case T_INT: {
        int v;
        memcpy(&v, field, sizeof v);
        out_printf(o, "%d", v);
        break;
    }
    case T_WIDTHS:
        if (cfg->hidden_more == 0) {
            out_printf(o, "%d", cfg->hidden);
        } else {
            out_printf(o, "[%d", cfg->hidden);
            for (int l = 0; l < cfg->hidden_more; l++)
                out_printf(o, ", %d", cfg->hidden_rest[l]);
            out_printf(o, "]");
        }
        break;
    case T_U64: {
        uint64_t v;
        memcpy(&v, field, sizeof v);
        if ((d->flags & O_NONE) && v == 0) out_printf(o, "none");
        else out_printf(o, "%llu", (unsigned long long)(v - !!(d->flags & O_NONE)));
        break;
    }
    case T_REAL: {
        double v;
        memcpy(&v, field, sizeof v);
        if ((d->flags & O_NONE) && v == 0) out_printf(o, "none");
        else out_real(o, v);
        break;
    }
    case T_PAIR: {
        ClipSpec c;
        memcpy(&c, field, sizeof c);
        if (c.mode == CLIP_RANGE) {
            out_printf(o, "[");
            out_real(o, c.lo);
            out_printf(o, ", ");
            out_real(o, c.hi);
            out_printf(o, "]");
        } else {
            out_printf(o, "%s", c.mode == CLIP_AUTO ? "auto" : "none");
        }
        break;
    }
    case T_ENUM: {
        int v;
        memcpy(&v, field, sizeof v);
        assert(v >= 0 && v < d->nnames);
        out_printf(o, "%s", v >= 0 && v < d->nnames ? d->names[v] : "?");
        break;
    }
    }
}

/* Writes cfg as nested YAML, one line per key, help as comments.  With
 * base (may be NULL), only the keys whose value differs from base's, and no
 * comments. */
static void emit_yaml(const Config *cfg, const Config *base, int flat,
                      Out *o) {
    const char *prev = NULL;
    for (int i = 0; i < NKEYS; i++) {
        const KeyDesc *d = &keys[i];
        const char *k = d->key;
        int depth = 0;
        size_t start = 0;
        if (base && key_equal(d, cfg, base)) continue;
        /* open the sections this key does not share with the previous one */
        for (const char *dot = flat ? NULL : strchr(k, '.'); dot;
             dot = strchr(dot + 1, '.')) {
            size_t n = (size_t)(dot - k);
            if (!prev || strncmp(prev, k, n + 1) != 0)
                out_printf(o, "%*s%.*s:\n", depth * 2, "", (int)(n - start),
                           k + start);
            start = n + 1;
            depth++;
        }
        size_t line = o->len;
        out_printf(o, "%*s%s: ", depth * 2, "", k + start);
        emit_value(o, d, cfg);
        size_t w = o->len - line;
        if (base || flat)
            out_printf(o, "\n");
        else
            out_printf(o, "%*s# %s\n", w < 32 ? (int)(32 - w) : 1, "",
                       d->help);
        prev = k;
    }
}

/* emit_yaml into a new string.  Returns it (caller frees with mem_free), or
 * NULL on OOM. */
static char *yaml_string(const Config *cfg, const Config *base, int flat) {
    Out o = {NULL, 0, 0};
    emit_yaml(cfg, base, flat, &o); /* measure */
    o.cap = o.len + 1;
    o.len = 0;
    o.buf = mem_alloc(o.cap);
    if (!o.buf) return NULL;
    if (o.cap == 1) o.buf[0] = '\0';   /* every key at its default */
    emit_yaml(cfg, base, flat, &o);
    assert(o.len + 1 == o.cap);
    return o.buf;
}

/* Returns the YAML text (caller frees with mem_free), or NULL on OOM. */
char *cfg_to_yaml(const Config *cfg) {
    assert(cfg);
    return yaml_string(cfg, NULL, 0);
}

/* Returns the "key: value" lines (caller frees), or NULL on OOM. */
char *cfg_to_flat(const Config *cfg) {
    assert(cfg);
    return yaml_string(cfg, NULL, 1);
}

/* Returns the YAML of the non-default keys (caller frees), or NULL on OOM. */
char *cfg_to_yaml_changed(const Config *cfg) {
    Config defaults;
    assert(cfg);
    cfg_defaults(&defaults);
    return yaml_string(cfg, &defaults, 0);
}

const char *cfg_variant_name(ModelVariant v) {
    int i = (int)v;
    return i >= 0 && i < 3 ? variant_names[i] : "invalid";
}

/* ------------------------------------------------------ key reference -- */

int cfg_key_count(void) { return NKEYS; }

/* Returns 0, or -1 with err (i out of range, or a default that does not
 * fit); out is caller-owned and its strings static or inside it. */
int cfg_key_info(int i, CfgKeyInfo *out, char *err) {
    assert(out);
    if (i < 0 || i >= NKEYS)
        return err_set(err, "config key %d does not exist (the table has "
                       "keys 0..%d)", i, NKEYS - 1);
    const KeyDesc *d = &keys[i];
    KeyDesc bare = *d;
    Config defaults;
    cfg_defaults(&defaults);
    memset(out, 0, sizeof *out);
    out->key = d->key;
    out->help = d->help;
    out->details = d->details ? d->details : "";
    out->example = d->example ? d->example : "";
    bare.example = NULL;   /* the example has a column of its own */
    describe(&bare, out->accepts, sizeof out->accepts);
    if (d->flags & R_F32) {
        size_t n = strlen(out->accepts);
        snprintf(out->accepts + n, sizeof out->accepts - n,
                 " (also in single precision)");
    }
    Out o = {NULL, 0, 0};
    emit_value(&o, d, &defaults);   /* measure */
    if (o.len >= sizeof out->default_value)
        return err_set(err, "the default of config key %s is longer than %zu "
                       "bytes: raise CFG_VALUE_MAX in cfg.h", d->key,
                       sizeof out->default_value - 1);
    o = (Out){out->default_value, 0, sizeof out->default_value};
    emit_value(&o, d, &defaults);
    return 0;
}

/* cfg.h - experiment configuration: types and prototypes.
 *
 * A Config is a plain value (no heap pointers) holding every key of the YAML
 * schema.  Keys are addressed by their dotted path ("train.lr"); the same
 * setter validates values coming from the YAML file and from --set. */
#ifndef AUTOREC_CFG_H
#define AUTOREC_CFG_H

#include <stdint.h>

#define CFG_PATH_MAX 1024
#define CFG_NAME_MAX 128

typedef enum { DATA_ML100K, DATA_ML1M, DATA_CSV } DataFormat;
typedef enum { SPLIT_RANDOM, SPLIT_FILES } SplitKind;
typedef enum { KERNEL_AUTO, KERNEL_DENSE, KERNEL_NAIVE } KernelKind;

typedef struct {
    char name[CFG_NAME_MAX];         /* name */
    char data_path[CFG_PATH_MAX];    /* data.path: file, or directory holding
                                        the format's default ratings file */
    DataFormat data_format;          /* data.format */
    SplitKind split_kind;            /* data.split.kind */
    double test_ratio;               /* data.split.test_ratio, in (0,1) */
    char train_file[CFG_PATH_MAX];   /* data.split.train_file (kind: files) */
    char test_file[CFG_PATH_MAX];    /* data.split.test_file  (kind: files) */
    int hidden;                      /* model.hidden >= 1 */
    double dropout;                  /* model.dropout in [0,1) */
    int epochs;                      /* train.epochs >= 1 */
    int batch_size;                  /* train.batch_size >= 1 */
    double lr;                       /* train.lr > 0 */
    double weight_decay;             /* train.weight_decay >= 0 (coupled) */
    uint64_t seed;                   /* train.seed >= 0 */
    int threads;                     /* train.threads >= 0, 0 = all cores */
    KernelKind kernel;               /* train.kernel */
} Config;

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

/* Same, from an in-memory YAML document; `name` is used in messages. */
int cfg_load_string(Config *cfg, const char *yaml, const char *name,
                    char *err);

/* Cross-key checks (e.g. kind: files needs train_file and test_file).
 * Returns 0 or -1 with err. */
int cfg_validate(const Config *cfg, char *err);

/* The full resolved configuration as YAML text (every key).  Returns a
 * NUL-terminated string owned by the caller (mem_free), or NULL on OOM. */
char *cfg_to_yaml(const Config *cfg);

const char *cfg_format_name(DataFormat f);
const char *cfg_split_name(SplitKind k);
const char *cfg_kernel_name(KernelKind k);

#endif

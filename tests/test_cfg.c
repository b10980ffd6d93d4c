/* test_cfg.c - tests for the configuration module (src/cfg.c). */
#include "cfg.h"

#include <stdint.h>
#include <string.h>

#include "activation.h"
#include "err.h"
#include "mem.h"
#include "test.h"

/* Returns 1 when s starts with prefix. */
static int starts(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Returns 1 when s contains sub. */
static int has(const char *s, const char *sub) {
    return strstr(s, sub) != NULL;
}

/* Loads yaml (named "x.yaml") on top of the defaults. */
static int load(Config *c, const char *yaml, char *err) {
    cfg_defaults(c);
    err[0] = '\0';
    return cfg_load_string(c, yaml, "x.yaml", err);
}

/* Field-by-field equality (doubles compared exactly). */
static int cfg_equal(const Config *a, const Config *b) {
    return strcmp(a->name, b->name) == 0 &&
           strcmp(a->data_path, b->data_path) == 0 &&
           a->data_format == b->data_format && a->split_kind == b->split_kind &&
           a->test_ratio == b->test_ratio &&
           strcmp(a->train_file, b->train_file) == 0 &&
           strcmp(a->test_file, b->test_file) == 0 && a->hidden == b->hidden &&
           a->dropout == b->dropout && a->epochs == b->epochs &&
           a->batch_size == b->batch_size && a->lr == b->lr &&
           a->weight_decay == b->weight_decay && a->seed == b->seed &&
           a->threads == b->threads && a->kernel == b->kernel &&
           a->hidden_more == b->hidden_more &&
           memcmp(a->hidden_rest, b->hidden_rest, sizeof a->hidden_rest) == 0 &&
           a->act_encoder == b->act_encoder && a->act_decoder == b->act_decoder;
}

/* Expects loading yaml to fail with a message starting with prefix and
 * containing each non-NULL fragment. */
static void expect_error(const char *yaml, const char *prefix,
                         const char *frag1, const char *frag2) {
    Config c;
    char err[ERR_MAX];
    int rc = load(&c, yaml, err);
    CHECK_MSG(rc == -1, "accepted: %s", yaml);
    CHECK_MSG(starts(err, prefix), "want prefix '%s', got: %s", prefix, err);
    if (frag1) CHECK_MSG(has(err, frag1), "want '%s' in: %s", frag1, err);
    if (frag2) CHECK_MSG(has(err, frag2), "want '%s' in: %s", frag2, err);
}

/* Expects loading yaml to succeed. */
static void expect_ok(const char *yaml, Config *c) {
    char err[ERR_MAX];
    int rc = load(c, yaml, err);
    CHECK_MSG(rc == 0, "rejected: %s -> %s", yaml, err);
}

static const char seed_text[] =
    "# the reference config\n"
    "name: seed\n"
    "data:\n"
    "  path: data/ml-100k\n"
    "  format: ml-100k\n"
    "  split:\n"
    "    kind: random\n"
    "    test_ratio: 0.1\n"
    "model:\n"
    "  hidden: 500\n"
    "  dropout: 0.05\n"
    "train:\n"
    "  epochs: 25\n"
    "  batch_size: 256\n"
    "  lr: 0.002\n"
    "  weight_decay: 1e-5\n"
    "  seed: 0\n"
    "  threads: 0\n"
    "  kernel: auto\n";

static void test_cfg_defaults(void) {
    Config c;
    memset(&c, 0x5a, sizeof c);
    cfg_defaults(&c);
    CHECK(strcmp(c.name, "seed") == 0);
    CHECK(strcmp(c.data_path, "data/ml-100k") == 0);
    CHECK(c.data_format == DATA_ML100K);
    CHECK(c.split_kind == SPLIT_RANDOM);
    CHECK(c.test_ratio == 0.1);
    CHECK(c.train_file[0] == '\0' && c.test_file[0] == '\0');
    CHECK(c.hidden == 500);
    CHECK(c.dropout == 0.05);
    CHECK(c.epochs == 25);
    CHECK(c.batch_size == 256);
    CHECK(c.lr == 0.002);
    CHECK(c.weight_decay == 1e-5);
    CHECK(c.seed == 0);
    CHECK(c.threads == 0);
    CHECK(c.kernel == KERNEL_AUTO);
    char err[ERR_MAX];
    CHECK(cfg_validate(&c, err) == 0);
}

static void test_cfg_enum_names(void) {
    CHECK(strcmp(cfg_format_name(DATA_ML100K), "ml-100k") == 0);
    CHECK(strcmp(cfg_format_name(DATA_ML1M), "ml-1m") == 0);
    CHECK(strcmp(cfg_format_name(DATA_CSV), "csv") == 0);
    CHECK(strcmp(cfg_split_name(SPLIT_RANDOM), "random") == 0);
    CHECK(strcmp(cfg_split_name(SPLIT_FILES), "files") == 0);
    CHECK(strcmp(cfg_kernel_name(KERNEL_AUTO), "auto") == 0);
    CHECK(strcmp(cfg_kernel_name(KERNEL_DENSE), "dense") == 0);
    CHECK(strcmp(cfg_kernel_name(KERNEL_NAIVE), "naive") == 0);
}

static void test_cfg_load_seed(void) {
    Config want, got;
    char err[ERR_MAX];
    cfg_defaults(&want);

    /* the same text from a temporary file, loaded over other values */
    const char *path = test_write_temp(".yaml", seed_text);
    CHECK(path != NULL);
    if (!path) return;
    cfg_defaults(&got);
    got.lr = 1;
    got.hidden = 7;
    snprintf(got.name, sizeof got.name, "other");
    CHECK_MSG(cfg_load_file(&got, path, err) == 0, "%s", err);
    /* data.path: data/ml-100k is relative to the file's directory */
    Config want_tmp = want;
    snprintf(want_tmp.data_path, sizeof want_tmp.data_path, "%.*s/data/ml-100k",
             (int)(strrchr(path, '/') - path), path);
    CHECK_MSG(cfg_equal(&got, &want_tmp), "%s", got.data_path);
    remove(path);

    /* the shipped configs/seed.yaml is the reference */
    memset(&got, 0, sizeof got);
    CHECK_MSG(cfg_load_file(&got, "configs/seed.yaml", err) == 0, "%s", err);
    CHECK(cfg_equal(&got, &want));
}

static void test_cfg_load_every_type(void) {
    Config c;
    expect_ok("name: 'run_2.b-x'\n"
              "data:\n"
              "  path: \"/srv/ml 1m/ratings.dat\"\n"
              "  format: ml-1m\n"
              "  split:\n"
              "    kind: files\n"
              "    test_ratio: 0.25\n"
              "    train_file: u1.base\n"
              "    test_file: 'u1.test'\n"
              "model: {hidden: 64, dropout: 0}\n"
              "train:\n"
              "  epochs: 3\n"
              "  batch_size: +10000000\n"
              "  lr: 10\n"
              "  weight_decay: 0\n"
              "  seed: 9223372036854775807\n"
              "  threads: 4096\n"
              "  kernel: naive\n",
              &c);
    CHECK(strcmp(c.name, "run_2.b-x") == 0);
    CHECK(strcmp(c.data_path, "/srv/ml 1m/ratings.dat") == 0);
    CHECK(c.data_format == DATA_ML1M);
    CHECK(c.split_kind == SPLIT_FILES);
    CHECK(c.test_ratio == 0.25);
    CHECK(strcmp(c.train_file, "u1.base") == 0);
    CHECK(strcmp(c.test_file, "u1.test") == 0);
    CHECK(c.hidden == 64);
    CHECK(c.dropout == 0);
    CHECK(c.epochs == 3);
    CHECK(c.batch_size == 10000000);
    CHECK(c.lr == 10);
    CHECK(c.weight_decay == 0);
    CHECK(c.seed == (uint64_t)INT64_MAX);
    CHECK(c.threads == 4096);
    CHECK(c.kernel == KERNEL_NAIVE);

    expect_ok("data:\n  format: csv\ntrain:\n  kernel: dense\n", &c);
    CHECK(c.data_format == DATA_CSV && c.kernel == KERNEL_DENSE);
    /* quoted numbers are accepted: the value is the same text */
    expect_ok("train:\n  lr: \"0.5\"\n  epochs: '7'\n", &c);
    CHECK(c.lr == 0.5 && c.epochs == 7);
    /* CRLF line endings and a UTF-8 byte-order mark */
    expect_ok("\xEF\xBB\xBFtrain:\r\n  epochs: 9\r\n", &c);
    CHECK(c.epochs == 9);
}

static void test_cfg_load_on_top(void) {
    Config c;
    char err[ERR_MAX];
    cfg_defaults(&c);
    c.hidden = 42;
    CHECK(cfg_load_string(&c, "train:\n  lr: 0.5\n", "x.yaml", err) == 0);
    CHECK(c.lr == 0.5);
    CHECK(c.hidden == 42); /* untouched keys keep their values */
    CHECK(c.epochs == 25);
    /* an empty flow mapping changes nothing */
    CHECK(cfg_load_string(&c, "train: {}\n", "x.yaml", err) == 0);
    CHECK(c.lr == 0.5);
}

static void test_cfg_error_leaves_cfg_unchanged(void) {
    Config c, before;
    char err[ERR_MAX];
    cfg_defaults(&c);
    before = c;
    /* the first keys are valid, the last is not: nothing is applied */
    CHECK(cfg_load_string(&c, "name: changed\ntrain:\n  lr: 0.5\n  epochs: x\n",
                          "x.yaml", err) == -1);
    CHECK(cfg_equal(&c, &before));
    CHECK(cfg_set_override(&c, "train.lr=-1", err) == -1);
    CHECK(c.lr == before.lr);
}

static void test_cfg_unknown_key(void) {
    expect_error("name: a\ndata:\n  pth: x\n", "x.yaml:3:3: ",
                 "unknown key \"pth\" in data", "path, format, split");
    Config c;
    char err[ERR_MAX];
    load(&c, "name: a\ndata:\n  pth: x\n", err);
    CHECK_MSG(has(err, "did you mean data.path?"), "%s", err);
    /* top level; a key from another section is pointed at */
    expect_error("name: a\n\nlr: 1\n",
                 "x.yaml:3:1: ", "name, data, model, train",
                 "did you mean train.lr?");
    expect_error("data:\n  split:\n    kind: random\n      \n    ratio: 0.2\n",
                 "x.yaml:5:5: ", "in data.split",
                 "kind, test_ratio, train_file, test_file");
    expect_error("model:\n  hiden: 5\n", "x.yaml:2:3: ", "\"hiden\"",
                 "did you mean model.hidden?");
    /* a dotted key is not a path in YAML */
    expect_error("train.lr: 0.1\n", "x.yaml:1:1: ", "dotted key \"train.lr\"",
                 NULL);
    /* keys must be scalars */
    expect_error("? [a]\n: 1\n", "x.yaml:1:3: ", "keys must be names", NULL);
}

static void test_cfg_duplicate_key(void) {
    expect_error("train:\n  lr: 0.1\n  epochs: 3\n  lr: 0.2\n", "x.yaml:4:3: ",
                 "duplicate key \"lr\" in train", "first defined at line 2");
    expect_error("train:\n  lr: 0.1\nname: a\ntrain:\n  epochs: 3\n",
                 "x.yaml:4:1: ", "duplicate key \"train\"", "line 1, column 1");
    /* the same leaf name in different sections is fine */
    Config c;
    expect_ok("data:\n  split:\n    kind: random\nmodel:\n  hidden: 3\n", &c);
    CHECK(c.hidden == 3);
}

static void test_cfg_wrong_node_kind(void) {
    /* sequence where a value is expected */
    expect_error("train:\n  lr: [1, 2]\n", "x.yaml:2:7: ", "train.lr",
                 "got a sequence");
    expect_error("name:\n  - a\n",
                 "x.yaml:2:3: ", "name: expected a single value",
                 "got a sequence");
    /* mapping where a value is expected */
    expect_error("train:\n  epochs:\n    x: 1\n", "x.yaml:3:5: ",
                 "train.epochs", "got a mapping");
    /* value where a mapping is expected */
    expect_error("train: 5\n", "x.yaml:1:8: ", "expected a mapping",
                 "got the value \"5\"");
    expect_error("data:\n  split: random\n", "x.yaml:2:10: ", "data.split",
                 "kind, test_ratio");
    expect_error("model: [1]\n", "x.yaml:1:8: ", "model", "got a sequence");
    expect_error("model:\n", "x.yaml:1:7: ", "model: empty value", "hidden");
    /* the document itself */
    expect_error("", "x.yaml:1:1: ", "empty document", NULL);
    expect_error("# only a comment\n", "x.yaml:", "empty document", NULL);
    expect_error("- 1\n", "x.yaml:1:1: ", "must be a mapping", "sequence");
    expect_error("hello\n", "x.yaml:1:1: ", "must be a mapping", "\"hello\"");
    expect_error("name: a\n---\nname: b\n",
                 "x.yaml:2:1: ", "second YAML document", NULL);
}

static void test_cfg_empty_value(void) {
    expect_error("train:\n  lr:\n", "x.yaml:2:6: ", "train.lr: empty value",
                 "expected a real number");
    expect_error("train:\n  lr: ~\n", "x.yaml:2:7: ", "empty value", NULL);
    expect_error("train:\n  seed: null\n", "x.yaml:2:9: ", "empty value", NULL);
    expect_error("name: \"\"\n", "x.yaml:1:7: ", "name: empty value", NULL);
    expect_error("data:\n  format: NULL\n", "x.yaml:2:11: ", "empty value",
                 "ml-100k, ml-1m, csv");
    /* optional strings may be empty/null; quoted "null" is a string */
    Config c;
    expect_ok("data:\n  split:\n    train_file: ~\n    test_file: ''\n", &c);
    CHECK(c.train_file[0] == '\0' && c.test_file[0] == '\0');
    expect_ok("name: 'null'\n", &c);
    CHECK(strcmp(c.name, "null") == 0);
}

static void test_cfg_lr_values(void) {
    const char *bad[] = {"nan", ".nan", "NaN", "inf", "-.inf", ".Inf",
                         "infinity", "-1", "0", "-0", "10.000001", "1e400",
                         "1e-400"};
    char yaml[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(yaml, sizeof yaml, "train:\n  lr: %s\n", bad[i]);
        expect_error(yaml, "x.yaml:2:7: train.lr: ", bad[i],
                     "(expected a real number in (0, 10], e.g. 0.002)");
    }
    expect_error("train:\n  lr: nan\n",
                 "x.yaml:2:7: ", "is not a finite number", NULL);
    expect_error("train:\n  lr: -1\n", "x.yaml:2:7: ", "\"-1\" is out of range",
                 NULL);
    expect_error("train:\n    lr: abc\n",
                 "x.yaml:2:9: train.lr: \"abc\" is not "
                 "a number (expected a real number in (0, 10], e.g. 0.002)",
                 NULL, NULL);
    Config c;
    expect_ok("train:\n  lr: 1e-3\n  weight_decay: 2.5E-4\n", &c);
    CHECK(c.lr == 1e-3 && c.weight_decay == 2.5e-4);
    expect_ok("train:\n  lr: .5\n", &c);
    CHECK(c.lr == 0.5);
    expect_error("train:\n  weight_decay: -1e-9\n", "x.yaml:2:17: ",
                 "out of range", ">= 0");
}

static void test_cfg_ratio_dropout_hidden(void) {
    Config c;
    expect_error("data:\n  split:\n    test_ratio: 0\n", "x.yaml:3:17: ",
                 "data.split.test_ratio: \"0\" is out of range", "(0, 1)");
    expect_error("data:\n  split:\n    test_ratio: 1\n", "x.yaml:3:17: ",
                 "out of range", NULL);
    expect_error("data:\n  split:\n    test_ratio: 1.0\n",
                 "x.yaml:", "out of range", NULL);
    expect_ok("data:\n  split:\n    test_ratio: 0.999\n", &c);
    CHECK(c.test_ratio == 0.999);
    expect_error("model:\n  dropout: 1\n", "x.yaml:2:12: ",
                 "model.dropout: \"1\" is out of range", "[0, 1)");
    expect_error("model:\n  dropout: -0.1\n", "x.yaml:2:12: ", "out of range",
                 NULL);
    expect_ok("model:\n  dropout: 0.0\n", &c);
    CHECK(c.dropout == 0);
    expect_error("model:\n  hidden: 0\n", "x.yaml:2:11: ",
                 "model.hidden: \"0\" is out of range", "1..1000000");
    expect_error("model:\n  hidden: 1000001\n", "x.yaml:2:11: ", "out of range",
                 NULL);
    expect_ok("model:\n  hidden: 1000000\n", &c);
    CHECK(c.hidden == 1000000);
}

static void test_cfg_integers(void) {
    Config c;
    expect_error("train:\n  epochs: 2.5\n", "x.yaml:2:11: ",
                 "train.epochs: \"2.5\" is not an integer", "1..1000000");
    expect_error("train:\n  epochs: 1e3\n", "x.yaml:", "is not an integer",
                 NULL);
    expect_error("train:\n  epochs: 3.0\n", "x.yaml:", "is not an integer",
                 NULL);
    expect_error("train:\n  epochs: ten\n", "x.yaml:", "is not a number", NULL);
    expect_error("train:\n  epochs: 0x10\n", "x.yaml:", "\"0x10\"", NULL);
    expect_error("train:\n  epochs: 99999999999999999999\n", "x.yaml:",
                 "out of range", NULL);
    expect_error("train:\n  epochs: 0\n", "x.yaml:", "out of range", NULL);
    expect_error("train:\n  batch_size: 10000001\n", "x.yaml:", "out of range",
                 "1..10000000");
    expect_error("train:\n  threads: 4097\n", "x.yaml:", "out of range",
                 "0..4096");
    expect_error("train:\n  threads: -1\n", "x.yaml:", "out of range", NULL);
    expect_error("train:\n  seed: -1\n", "x.yaml:2:9: ",
                 "train.seed: \"-1\" is "
                 "out of range",
                 "0..9223372036854775807");
    expect_error("train:\n  seed: 18446744073709551616\n", "x.yaml:",
                 "out of range", NULL);
    /* fits uint64_t but not SQLite's signed 64-bit integers */
    expect_error("train:\n  seed: 9223372036854775808\n", "x.yaml:",
                 "out of range", NULL);
    expect_error("train:\n  seed: 1.5\n", "x.yaml:", "not an integer", NULL);
    expect_ok("train:\n  seed: 1234567890123456789\n  threads: 0\n", &c);
    CHECK(c.seed == 1234567890123456789ULL);
    CHECK(c.threads == 0);
    expect_ok("train:\n  epochs: 007\n", &c); /* decimal, not octal */
    CHECK(c.epochs == 7);
}

static void test_cfg_trailing_garbage(void) {
    expect_error("data:\n  split:\n    test_ratio: 0.1x\n", "x.yaml:3:17: ",
                 "\"0.1x\" is not a number", NULL);
    expect_error("model:\n  hidden: 5 units\n", "x.yaml:2:11: ",
                 "\"5 units\" is not a number", NULL);
    expect_error("train:\n  lr: \" 0.1\"\n", "x.yaml:", "is not a number",
                 NULL);
    expect_error("train:\n  lr: \"0.1 \"\n", "x.yaml:", "is not a number",
                 NULL);
    expect_error("train:\n  lr: 0x1p-3\n", "x.yaml:", "is not a number", NULL);
    expect_error("train:\n  lr: 1.2.3\n", "x.yaml:", "is not a number", NULL);
    expect_error("train:\n  epochs: 5-\n", "x.yaml:", "is not a number", NULL);
}

static void test_cfg_strings_and_enums(void) {
    Config c;
    char yaml[2200], long_name[200];
    memset(long_name, 'n', 127);
    long_name[127] = '\0';
    snprintf(yaml, sizeof yaml, "name: %s\n", long_name);
    expect_ok(yaml, &c);
    CHECK(strlen(c.name) == 127);
    snprintf(yaml, sizeof yaml, "name: %sn\n", long_name);
    expect_error(yaml, "x.yaml:1:7: name: ", "is too long (128 bytes)",
                 "...\"");
    expect_error("name: a/b\n", "x.yaml:1:7: ", "name: \"a/b\" contains '/'",
                 "A-Z a-z 0-9 . _ -");
    expect_error("name: \"caf\xC3\xA9\"\n", "x.yaml:", "non-ASCII", NULL);
    expect_error("data:\n  path: \"a\\tb\"\n", "x.yaml:2:9: ",
                 "data.path: \"a\\x09b\" contains the control character 0x09",
                 NULL);
    expect_error("data:\n  path: \"a\\0b\"\n", "x.yaml:2:9: ", "NUL", NULL);

    char path[1100];
    memset(path, 'p', 1023);
    path[1023] = '\0';
    snprintf(yaml, sizeof yaml, "data:\n  path: %s\n", path);
    expect_ok(yaml, &c);
    CHECK(strlen(c.data_path) == 1023);
    snprintf(yaml, sizeof yaml, "data:\n  split:\n    test_file: %sp\n", path);
    expect_error(yaml, "x.yaml:3:16: data.split.test_file: ", "too long (1024",
                 NULL);

    expect_error("data:\n  format: ml100k\n", "x.yaml:2:11: ",
                 "data.format: \"ml100k\" is not a valid choice",
                 "(expected one of: ml-100k, ml-1m, csv)");
    expect_error("data:\n  split:\n    kind: Random\n", "x.yaml:",
                 "one of: random, files", NULL);
    expect_error("train:\n  kernel: blas\n", "x.yaml:2:11: ",
                 "one of: auto, dense, naive", NULL);
}

static void test_cfg_alias_anchor_tag(void) {
    expect_error("name: &x seed\n", "x.yaml:1:7: ", "anchors (&x)",
                 "not supported");
    expect_error("name: *x\n", "x.yaml:1:7: ", "aliases (*x)", "not supported");
    expect_error("train: &t\n  lr: 1\n", "x.yaml:1:8: ", "anchors (&t)", NULL);
    /* billion laughs: rejected at the first anchor, nothing is expanded */
    expect_error("name: &a [\"lol\",\"lol\"]\n"
                 "data: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                 "model: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
                 "x.yaml:1:7: ", "anchors (&a)", NULL);
    expect_error("name: !!str seed\n", "x.yaml:1:7: ", "tags", "not supported");
}

static void test_cfg_syntax_error(void) {
    expect_error("data:\n  path: x\n format: csv\n", "x.yaml:3:2: ",
                 "did not find expected key",
                 "while parsing a block mapping at line 1, column 1");
    expect_error("name: \"unterminated\n", "x.yaml:2:1: ",
                 "found unexpected end of stream", "while scanning a quoted "
                 "scalar at line 1, column 7");
    expect_error("name: a: b\n", "x.yaml:1:8: ",
                 "mapping values are not allowed", NULL);
    expect_error("name: a\n\tdata: x\n", "x.yaml:2:1: ", "tab", NULL);
    /* reader errors (bad UTF-8) get a position too */
    expect_error("name: a\ntrain:\n  kernel: \xFF\n", "x.yaml:3:11: ",
                 "invalid leading UTF-8 octet", "0xFF");
}

static void test_cfg_override(void) {
    Config c;
    char err[ERR_MAX];
    cfg_defaults(&c);
    CHECK(cfg_set_override(&c, "train.lr=0.01", err) == 0);
    CHECK(c.lr == 0.01);
    CHECK(cfg_set_override(&c, "model.hidden=128", err) == 0);
    CHECK(c.hidden == 128);
    CHECK(cfg_set_override(&c, "data.split.kind=files", err) == 0);
    CHECK(c.split_kind == SPLIT_FILES);
    CHECK(cfg_set_override(&c, "data.path=a=b", err) == 0); /* first '=' */
    CHECK(strcmp(c.data_path, "a=b") == 0);
    CHECK(cfg_set_override(&c, "data.split.train_file=", err) == 0);
    CHECK(c.train_file[0] == '\0');
    CHECK(cfg_set_key(&c, "train.seed", "99", NULL, err) == 0);
    CHECK(c.seed == 99);

    /* invalid values: prefix "--set key=value: " then the key */
    CHECK(cfg_set_override(&c, "train.lr=abc", err) == -1);
    CHECK_MSG(starts(err,
                     "--set train.lr=abc: train.lr: \"abc\" is not a number "
                     "(expected a real number in (0, 10], e.g. 0.002)"),
              "%s", err);
    CHECK(cfg_set_override(&c, "train.epochs=2.5", err) == -1);
    CHECK_MSG(starts(err,
                     "--set train.epochs=2.5: train.epochs: \"2.5\" is not "
                     "an integer"),
              "%s", err);
    CHECK(cfg_set_override(&c, "name=", err) == -1);
    CHECK_MSG(has(err, "empty value"), "%s", err);
    CHECK(cfg_set_key(&c, "train.lr", "0", NULL, err) == -1);
    CHECK_MSG(starts(err, "train.lr: \"0\" is out of range"), "%s", err);
    CHECK(cfg_set_key(&c, "train.lr", "0", "here:1:2", err) == -1);
    CHECK_MSG(starts(err, "here:1:2: train.lr: "), "%s", err);
    CHECK(c.lr == 0.01);
}

static void test_cfg_override_unknown_and_syntax(void) {
    Config c;
    char err[ERR_MAX];
    cfg_defaults(&c);
    CHECK(cfg_set_override(&c, "train.lrr=0.1", err) == -1);
    CHECK_MSG(starts(err, "--set train.lrr=0.1: unknown key \"train.lrr\"; did "
                     "you mean train.lr, train.l2?"), "%s", err);
    CHECK_MSG(has(err, "valid keys: name, data.path,") &&
              has(err, "train.kernel,") && has(err, "eval.cold_default,") && has(err, "search.rungs)"),
              "%s", err);
    CHECK(cfg_set_override(&c, "lr=0.1", err) == -1);
    CHECK_MSG(has(err, "did you mean train.lr?"), "%s", err);
    CHECK(cfg_set_override(&c, "batch_size=3", err) == -1);
    CHECK_MSG(has(err, "did you mean train.batch_size?"), "%s", err);
    CHECK(cfg_set_override(&c, "model=3", err) == -1); /* a section */
    CHECK_MSG(has(err, "model.hidden, model.dropout"), "%s", err);
    CHECK(cfg_set_override(&c, "zzzzzz=1", err) == -1);
    CHECK_MSG(!has(err, "did you mean") && has(err, "valid keys"), "%s", err);
    CHECK(cfg_set_key(&c, "nope", "1", NULL, err) == -1);
    CHECK_MSG(starts(err, "unknown key \"nope\""), "%s", err);

    CHECK(cfg_set_override(&c, "train.lr", err) == -1);
    CHECK_MSG(starts(err, "--set train.lr: expected key=value"), "%s", err);
    CHECK(cfg_set_override(&c, "=0.1", err) == -1);
    CHECK_MSG(starts(err, "--set =0.1: missing key"), "%s", err);
    char longkey[200];
    memset(longkey, 'k', 150);
    snprintf(longkey + 150, 50, "=1");
    CHECK(cfg_set_override(&c, longkey, err) == -1);
    CHECK_MSG(has(err, "unknown key"), "%s", err);
    Config d;
    cfg_defaults(&d);
    CHECK(cfg_equal(&c, &d)); /* failed overrides changed nothing */
}

static void test_cfg_to_yaml_text(void) {
    Config c;
    cfg_defaults(&c);
    char *y = cfg_to_yaml(&c);
    CHECK(y != NULL);
    if (!y) return;
    CHECK_MSG(starts(y, "name: \"seed\""), "%s", y);
    CHECK_MSG(has(y, "\ndata:\n  path: \"data/ml-100k\""), "%s", y);
    CHECK_MSG(has(y, "\n  split:\n    kind: random"), "%s", y);
    CHECK_MSG(has(y, "\n    test_ratio: 0.1 "), "%s", y);
    CHECK_MSG(has(y, "\nmodel:\n  hidden: 500"), "%s", y);
    CHECK_MSG(has(y, "\ntrain:\n  epochs: 25"), "%s", y);
    CHECK_MSG(has(y, "\n  lr: 0.002 "), "%s", y);
    CHECK_MSG(has(y, "\n  weight_decay: 1e-05 "), "%s", y);
    CHECK_MSG(has(y, "\n  kernel: auto "), "%s", y);
    CHECK(y[strlen(y) - 1] == '\n');
    mem_free(y);
}

/* Returns a double in [0, 1) from the 64-bit LCG state *s. */
static double next_unit(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) * 0x1p-53;
}

/* model.activation.* and a deep model.hidden: YAML (nested mapping and
 * sequence), --set, errors, and cfg_to_yaml re-reading exactly. */
static void test_cfg_model_variants(void) {
    Config c, d;
    char err[ERR_MAX];
    cfg_defaults(&c);
    CHECK(c.act_encoder == ACT_SIGMOID && c.act_decoder == ACT_IDENTITY && c.hidden_more == 0);
    expect_ok("model: {hidden: [500, 250, 500], activation: {encoder: elu, "
              "decoder: identity}}\n", &c);
    CHECK(c.hidden == 500 && c.hidden_more == 2 && c.hidden_rest[0] == 250 &&
          c.hidden_rest[1] == 500 && c.act_encoder == ACT_ELU && c.act_decoder == ACT_IDENTITY);
    expect_ok("model:\n  hidden:\n    - 40\n  activation:\n    decoder: tanh\n", &c);
    CHECK(c.hidden == 40 && c.hidden_more == 0 && c.act_decoder == ACT_TANH &&
          c.act_encoder == ACT_SIGMOID);
    char *y = cfg_to_yaml(&c);
    CHECK(y && has(y, "\n  activation:\n    encoder: sigmoid") && has(y, "    decoder: tanh"));
    mem_free(y);
    CHECK(cfg_set_override(&c, "model.hidden=[ 30,20 ,10]", err) == 0);
    CHECK(c.hidden == 30 && c.hidden_more == 2 && c.hidden_rest[1] == 10);
    CHECK(cfg_set_override(&c, "model.activation.encoder=relu", err) == 0);
    CHECK(c.act_encoder == ACT_RELU);
    y = cfg_to_yaml(&c);
    CHECK_MSG(y && has(y, "\nmodel:\n  hidden: [30, 20, 10]"), "%s", y);
    CHECK_MSG(load(&d, y, err) == 0, "%s", err);
    CHECK(cfg_equal(&c, &d));
    mem_free(y);
    CHECK(cfg_set_override(&c, "model.hidden=64", err) == 0);  /* back to one layer */
    CHECK(c.hidden == 64 && c.hidden_more == 0 && c.hidden_rest[0] == 0);
    expect_error("model:\n  hidden: [500, 0]\n", "x.yaml:2:11: ", "out of range", NULL);
    expect_error("model:\n  hidden: []\n", "x.yaml:2:11: ", "empty list", NULL);
    expect_error("model:\n  hidden: [1, 2, 3, 4, 5, 6, 7, 8]\n", "x.yaml:2:", "more than 7", NULL);
    expect_error("model:\n  hidden: [1, [2]]\n", "x.yaml:2:", "must be integers", NULL);
    expect_error("model:\n  hidden: [1, 2.5]\n", "x.yaml:2:11: ", "not an integer", NULL);
    expect_error("model:\n  activation:\n    encoder: softmax\n", "x.yaml:3:14: ",
                 "not a valid choice", "sigmoid, identity, relu, elu, tanh");
    CHECK(cfg_set_override(&c, "model.hidden=[5,", err) == -1 && has(err, "not a number"));
    CHECK(cfg_set_override(&c, "model.hidden=[5]x", err) == -1);
    c.hidden_more = 1;
    c.hidden_rest[0] = 0;
    CHECK(cfg_validate(&c, err) == -1 && has(err, "width 2 of the list"));
}

static void test_cfg_to_yaml_roundtrip(void) {
    Config a, b;
    char err[ERR_MAX];
    cfg_defaults(&a);
    snprintf(a.name, sizeof a.name, "rt-1.x_y");
    snprintf(a.data_path, sizeof a.data_path,
             "dir with \"quotes\" and \\back\\slashes\\ caf\xC3\xA9 #x: y");
    a.data_format = DATA_CSV;
    a.split_kind = SPLIT_FILES;
    snprintf(a.train_file, sizeof a.train_file, "'single' ~ null");
    snprintf(a.test_file, sizeof a.test_file, "- [x] {y}: &z *w");
    a.test_ratio = 1.0 / 3;
    a.hidden = 1000000;
    a.dropout = 0.1 + 0.2;
    a.epochs = 1;
    a.batch_size = 10000000;
    a.lr = 10;
    a.weight_decay = 5e-324; /* smallest subnormal */
    a.seed = (uint64_t)INT64_MAX;
    a.threads = 4096;
    a.kernel = KERNEL_NAIVE;
    char *y = cfg_to_yaml(&a);
    CHECK(y != NULL);
    if (!y) return;
    memset(&b, 0, sizeof b);
    CHECK_MSG(cfg_load_string(&b, y, "rt.yaml", err) == 0, "%s\n%s", err, y);
    CHECK(cfg_equal(&a, &b));
    char *y2 = cfg_to_yaml(&b);
    CHECK(y2 && strcmp(y, y2) == 0);
    mem_free(y2);
    mem_free(y);

    /* random doubles in each real key's range round-trip exactly */
    uint64_t s = 12345;
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        cfg_defaults(&a);
        double u = next_unit(&s);
        a.test_ratio = u > 0 ? u : 0.5;
        a.dropout = next_unit(&s);
        a.lr = 10 * (1 - next_unit(&s));
        a.weight_decay =
            next_unit(&s) * pow(10, (int)(next_unit(&s) * 40) - 30);
        a.seed = s >> 1;
        y = cfg_to_yaml(&a);
        if (!y) { bad++; break; }
        cfg_defaults(&b);
        if (cfg_load_string(&b, y, "rt.yaml", err) != 0 || !cfg_equal(&a, &b)) {
            if (!bad) fprintf(stderr, "    round trip failed: %s\n%s", err, y);
            bad++;
        }
        mem_free(y);
    }
    CHECK(bad == 0);
}

static void test_cfg_missing_file(void) {
    Config c, d;
    char err[ERR_MAX];
    cfg_defaults(&c);
    d = c;
    CHECK(cfg_load_file(&c, "configs/no-such-config.yaml", err) == -1);
    CHECK_MSG(starts(err, "configs/no-such-config.yaml: cannot open config "
                     "file: No such file or directory"), "%s", err);
    CHECK(cfg_load_file(&c, "tests", err) == -1);
    CHECK_MSG(starts(err, "tests: is a directory"), "%s", err);
    CHECK(cfg_equal(&c, &d));
    /* errors inside a file name the file */
    const char *path = test_write_temp(".yaml", "train:\n  lr: x\n");
    CHECK(path != NULL);
    if (!path) return;
    char want[512];
    snprintf(want, sizeof want, "%s:2:7: train.lr: \"x\"", path);
    CHECK(cfg_load_file(&c, path, err) == -1);
    CHECK_MSG(starts(err, want), "%s", err);
    remove(path);
}

static void test_cfg_size_limit(void) {
    Config c;
    char err[ERR_MAX];
    size_t n = 1024 * 1024 + 1;
    char *big = mem_alloc(n + 1);
    CHECK(big != NULL);
    if (!big) return;
    /* a valid document padded with a comment to just over 1 MiB */
    memset(big, ' ', n);
    memcpy(big, "name: x\n#", 9);
    big[n - 1] = '\n';
    big[n] = '\0';
    const char *path = test_write_temp(".yaml", big);
    CHECK(path != NULL);
    cfg_defaults(&c);
    if (path) {
        CHECK(cfg_load_file(&c, path, err) == -1);
        CHECK_MSG(has(err, "1048577 bytes") && has(err, "1 MiB"), "%s", err);
        remove(path);
    }
    CHECK(cfg_load_string(&c, big, "big.yaml", err) == -1);
    CHECK_MSG(starts(err, "big.yaml: ") && has(err, "1 MiB"), "%s", err);
    /* exactly 1 MiB is accepted */
    big[n - 2] = '\n';
    big[n - 1] = '\0';
    CHECK_MSG(cfg_load_string(&c, big, "big.yaml", err) == 0, "%s", err);
    CHECK(strcmp(c.name, "x") == 0);
    mem_free(big);
}

static void test_cfg_validate(void) {
    Config c;
    char err[ERR_MAX];
    cfg_defaults(&c);
    CHECK(cfg_validate(&c, err) == 0);
    c.split_kind = SPLIT_FILES;
    CHECK(cfg_validate(&c, err) == -1);
    CHECK_MSG(starts(err, "data.split.train_file: empty") &&
              has(err, "kind is files"), "%s", err);
    snprintf(c.train_file, sizeof c.train_file, "u1.base");
    CHECK(cfg_validate(&c, err) == -1);
    CHECK_MSG(starts(err, "data.split.test_file: empty"), "%s", err);
    snprintf(c.test_file, sizeof c.test_file, "u1.test");
    CHECK_MSG(cfg_validate(&c, err) == 0, "%s", err);
    /* the same through YAML */
    CHECK(load(&c, "data:\n  split:\n    kind: files\n    train_file: a\n", err)
          == 0);
    CHECK(cfg_validate(&c, err) == -1);
    CHECK_MSG(has(err, "test_file"), "%s", err);
    /* fields set directly are range-checked too */
    cfg_defaults(&c);
    c.lr = -1;
    CHECK(cfg_validate(&c, err) == -1);
    CHECK_MSG(starts(err, "train.lr: -1 is out of range"), "%s", err);
    cfg_defaults(&c);
    c.hidden = 0;
    CHECK(cfg_validate(&c, err) == -1);
    CHECK_MSG(starts(err, "model.hidden: 0 is out of range"), "%s", err);
    cfg_defaults(&c);
    c.name[0] = '\0';
    CHECK(cfg_validate(&c, err) == -1);
    CHECK_MSG(starts(err, "name: empty value"), "%s", err);
    cfg_defaults(&c);
    c.kernel = (KernelKind)7;
    CHECK(cfg_validate(&c, err) == -1);
    CHECK_MSG(starts(err, "train.kernel: 7 is not a valid choice"), "%s", err);
}

static void test_cfg_oom(void) {
    Config c;
    char err[ERR_MAX];
    const char *path = test_write_temp(".yaml", seed_text);
    CHECK(path != NULL);
    if (!path) return;
    /* every allocation of cfg_load_file / cfg_to_yaml failing in turn */
    int loaded = 0, dumped = 0;
    for (long n = 1; n < 20 && !loaded; n++) {
        cfg_defaults(&c);
        c.hidden = 1;
        mem_fail_at(n);
        int rc = cfg_load_file(&c, path, err);
        mem_fail_at(0);
        if (rc == 0) {
            loaded = 1;
            CHECK(c.hidden == 500);
        } else {
            CHECK_MSG(has(err, "out of memory"), "%s", err);
            CHECK(c.hidden == 1);
        }
    }
    CHECK(loaded);
    for (long n = 1; n < 20 && !dumped; n++) {
        mem_fail_at(n);
        char *y = cfg_to_yaml(&c);
        mem_fail_at(0);
        if (y) dumped = 1;
        mem_free(y);
    }
    CHECK(dumped);
    remove(path);
}

/* Loads yaml with a grid; expects an error starting with prefix and holding
 * frag. */
static void expect_grid_error(const char *yaml, const char *prefix,
                              const char *frag) {
    Config c;
    Grid g;
    char err[ERR_MAX];
    cfg_defaults(&c);
    memset(&g, 0, sizeof g);
    CHECK_MSG(cfg_load_string_grid(&c, &g, yaml, "g.yaml", err) == -1,
              "accepted: %s", yaml);
    CHECK_MSG(starts(err, prefix), "want prefix '%s', got: %s", prefix, err);
    CHECK_MSG(has(err, frag), "want '%s' in: %s", frag, err);
    CHECK(g.naxes == 0);  /* unchanged on error */
}

static void test_cfg_grid(void) {
    const char *yaml = "name: g\n"
                       "grid:\n"
                       "  model.hidden: [100, 300, 500]\n"
                       "  train.lr: [0.001, 0.002]\n"
                       "  train.weight_decay:\n"
                       "    - 0\n"
                       "    - 1e-5\n"
                       "train:\n"
                       "  epochs: 3\n";
    Config c, p;
    Grid g;
    char err[ERR_MAX];
    cfg_defaults(&c);
    memset(&g, 0, sizeof g);
    CHECK_MSG(cfg_load_string_grid(&c, &g, yaml, "g.yaml", err) == 0, "%s", err);
    CHECK(g.naxes == 3);
    CHECK(strcmp(g.axes[1].key, "train.lr") == 0 && g.axes[1].nvalues == 2);
    CHECK(cfg_grid_size(&g) == 12);
    CHECK(c.epochs == 3);
    /* the last axis varies fastest */
    CHECK(cfg_grid_point(&c, &g, 0, &p, err) == 0);
    CHECK(p.hidden == 100 && p.lr == 0.001 && p.weight_decay == 0 && p.epochs == 3);
    CHECK(cfg_grid_point(&c, &g, 1, &p, err) == 0);
    CHECK(p.hidden == 100 && p.lr == 0.001 && p.weight_decay == 1e-5);
    CHECK(cfg_grid_point(&c, &g, 2, &p, err) == 0);
    CHECK(p.hidden == 100 && p.lr == 0.002 && p.weight_decay == 0);
    CHECK(cfg_grid_point(&c, &g, 11, &p, err) == 0);
    CHECK(p.hidden == 500 && p.lr == 0.002 && p.weight_decay == 1e-5);
    CHECK(cfg_grid_point(&c, &g, 12, &p, err) == -1);
    CHECK(has(err, "0..11"));
    cfg_grid_free(&g);
    cfg_grid_free(&g);  /* a freed grid is zeroed */
    cfg_grid_free(NULL);
    /* the plain loader refuses a grid */
    CHECK(cfg_load_string(&c, yaml, "g.yaml", err) == -1);
    CHECK_MSG(has(err, "g.yaml:2:1:") && has(err, "autorec grid"), "%s", err);
}

static void test_cfg_grid_errors(void) {
    expect_grid_error("grid:\n  train.lr: [0.1, -1]\n", "g.yaml:2:19: grid",
                      "train.lr: \"-1\"");
    expect_grid_error("grid:\n  model.hidden: []\n", "g.yaml:2:3:", "empty");
    expect_grid_error("grid:\n  train.rl: [1]\n", "g.yaml:2:3:", "unknown config key");
    expect_grid_error("grid:\n  train.lr: [1]\n  train.lr: [2]\n", "g.yaml:3:3:",
                      "duplicate");
    expect_grid_error("grid:\n  train.lr: 0.1\n", "g.yaml:2:13:", "list of values");
    expect_grid_error("grid:\n  train.lr: [[0.1]]\n", "g.yaml:2:14:", "single values");
    expect_grid_error("grid: {}\n", "g.yaml:", "empty");
    expect_grid_error("grid: [1, 2]\n", "g.yaml:1:7:", "mapping");
    expect_grid_error("grid:\n  train: [1]\n", "g.yaml:2:3:", "unknown config key");
    expect_grid_error("grid:\n  train.epochs: [1, 2.5]\n", "g.yaml:2:21:", "not an integer");
    expect_grid_error("grid:\n  model.hidden: [1]\ngrid:\n  train.lr: [1]\n",
                      "g.yaml:3:1:", "duplicate");
}

/* Every allocation failure while loading a grid is reported cleanly. */
static void test_cfg_grid_oom(void) {
    const char *yaml = "grid:\n  model.hidden: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                       "  train.lr: [0.1, 0.2]\n";
    int ok = 0;
    for (long n = 1; n < 200 && !ok; n++) {
        Config c;
        Grid g;
        char err[ERR_MAX] = "";
        cfg_defaults(&c);
        memset(&g, 0, sizeof g);
        mem_fail_at(n);
        int rc = cfg_load_string_grid(&c, &g, yaml, "g.yaml", err);
        mem_fail_at(0);
        if (rc == 0) { ok = 1; CHECK(cfg_grid_size(&g) == 20); cfg_grid_free(&g); }
        else CHECK_MSG(has(err, "memory"), "n=%ld: %s", n, err);
    }
    CHECK(ok);
}

void suite_cfg(void) {
    RUN(test_cfg_grid);
    RUN(test_cfg_grid_errors);
    RUN(test_cfg_grid_oom);
    RUN(test_cfg_defaults);
    RUN(test_cfg_enum_names);
    RUN(test_cfg_load_seed);
    RUN(test_cfg_load_every_type);
    RUN(test_cfg_load_on_top);
    RUN(test_cfg_error_leaves_cfg_unchanged);
    RUN(test_cfg_unknown_key);
    RUN(test_cfg_duplicate_key);
    RUN(test_cfg_wrong_node_kind);
    RUN(test_cfg_empty_value);
    RUN(test_cfg_lr_values);
    RUN(test_cfg_ratio_dropout_hidden);
    RUN(test_cfg_model_variants);
    RUN(test_cfg_integers);
    RUN(test_cfg_trailing_garbage);
    RUN(test_cfg_strings_and_enums);
    RUN(test_cfg_alias_anchor_tag);
    RUN(test_cfg_syntax_error);
    RUN(test_cfg_override);
    RUN(test_cfg_override_unknown_and_syntax);
    RUN(test_cfg_to_yaml_text);
    RUN(test_cfg_to_yaml_roundtrip);
    RUN(test_cfg_missing_file);
    RUN(test_cfg_size_limit);
    RUN(test_cfg_validate);
    RUN(test_cfg_oom);
}

/* test_splits.c - evaluation protocols: data.split.repeats and kind folds
 * (config keys and their errors, fold file discovery, different splits per
 * index, the implicit grid axis and its group labels). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "data.h"
#include "err.h"
#include "grid.h"
#include "mem.h"
#include "test.h"

/* Checks that yaml (file "s.yaml") is refused by loading or validation,
 * with a message containing want. */
static void refused(const char *yaml, const char *want) {
    Config c;
    char err[ERR_MAX] = "";
    cfg_defaults(&c);
    int rc = cfg_load_string(&c, yaml, "s.yaml", err);
    if (rc == 0) rc = cfg_validate(&c, err);
    CHECK_MSG(rc == -1, "accepted: %s", yaml);
    CHECK_MSG(strstr(err, want) != NULL, "%s: %s", yaml, err);
}

static void test_split_keys(void) {
    Config c, back;
    char err[ERR_MAX];
    cfg_defaults(&c);
    CHECK(c.split_repeats == 1 && c.split_index == 0 &&
          cfg_split_count(&c) == 1);
    CHECK_MSG(cfg_load_string(&c, "data:\n  split: {repeats: 5, seed: 10}\n",
                              "s.yaml", err) == 0, "%s", err);
    CHECK_MSG(cfg_validate(&c, err) == 0, "%s", err);
    CHECK(cfg_split_count(&c) == 5 && cfg_split_seed(&c) == 10);
    c.split_index = 3;
    CHECK(cfg_split_seed(&c) == 13);     /* split seed + index */
    c.split_seed = 0;                    /* none: train.seed + index */
    c.seed = 7;
    CHECK(cfg_split_seed(&c) == 10);
    char *text = cfg_to_yaml(&c);
    CHECK(text && strstr(text, "repeats: 5") && strstr(text, "index: 3"));
    cfg_defaults(&back);
    CHECK_MSG(text && cfg_load_string(&back, text, "resolved", err) == 0, "%s",
              err);
    CHECK(back.split_repeats == 5 && back.split_index == 3);
    mem_free(text);
    cfg_defaults(&c);
    CHECK_MSG(cfg_load_string(&c, "data: {split: {kind: folds}}\n", "s.yaml",
                              err) == 0, "%s", err);
    CHECK(c.split_kind == SPLIT_FOLDS && cfg_split_count(&c) == 5);
    CHECK(!strcmp(cfg_split_name(SPLIT_FOLDS), "folds"));
    CHECK_MSG(cfg_set_override(&c, "data.split.index=4", err) == 0, "%s", err);
    CHECK_MSG(cfg_validate(&c, err) == 0, "%s", err);

    /* errors name file:line:column and the allowed values */
    refused("data:\n  split:\n    repeats: 0\n", "s.yaml:3:14");
    refused("data:\n  split:\n    repeats: 0\n", "1..1000");
    refused("data:\n  split:\n    repeats: many\n", "s.yaml:3:14");
    refused("data: {split: {kind: fold}}\n", "folds");
    refused("data: {split: {kind: fold}}\n", "s.yaml:1:22");
    refused("data: {split: {index: -1}}\n", "s.yaml:1:23");
    refused("data: {split: {kind: folds, repeats: 3}}\n",
            "data.split.repeats: 3 needs data.split.kind random");
    refused("data: {split: {kind: files, train_file: a, test_file: b, "
            "repeats: 2}}\n", "kind files has its own splits");
    refused("data: {split: {kind: folds, index: 5}}\n",
            "data.split.index: 5 is not a fold");
    refused("train: {seed: 9223372036854775807}\ndata: {split: {repeats: 2}}\n",
            "exceeds 9223372036854775807");
    cfg_defaults(&c);
    CHECK(cfg_set_override(&c, "data.split.repeats=1001", err) == -1 &&
          strstr(err, "--set data.split.repeats=1001"));
}

/* Writes n ML-100K lines (users 1..12 x items 1..15, about 2/3 observed)
 * into dir/name, the k-th fold's test part when fold >= 0: lines whose
 * index % 5 == fold (test) or != fold (base).  Returns lines written. */
static int write_ratings(const char *dir, const char *name, int fold,
                         int test) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    int n = 0, line = 0;
    if (!f) return -1;
    for (int u = 1; u <= 12; u++)
        for (int i = 1; i <= 15; i++) {
            if ((u * 7 + i * 3) % 3 == 0) continue;
            int in = fold < 0 || ((line % 5 == fold) == test);
            line++;
            if (!in) continue;
            fprintf(f, "%d\t%d\t%d\t88000%04d\n", u, i, 1 + (u + i) % 5, line);
            n++;
        }
    fclose(f);
    return n;
}

static void test_folds(void) {
    const char *dir = test_tmp_dir("splits");
    char err[ERR_MAX], name[32], path[600];
    int base_n[5];
    CHECK(dir != NULL);
    if (!dir) return;
    CHECK(write_ratings(dir, "u.data", -1, 0) > 0);
    for (int k = 0; k < 5; k++) {
        snprintf(name, sizeof name, "u%d.base", k + 1);
        base_n[k] = write_ratings(dir, name, k, 0);
        snprintf(name, sizeof name, "u%d.test", k + 1);
        CHECK(write_ratings(dir, name, k, 1) > 0);
    }
    Config c;
    cfg_defaults(&c);
    snprintf(c.data_path, sizeof c.data_path, "%s", dir);
    c.split_kind = SPLIT_FOLDS;
    CHECK_MSG(data_check_folds(&c, err) == 0, "%s", err);
    /* data.path may also name the ratings file: the folds are beside it */
    snprintf(c.data_path, sizeof c.data_path, "%s/u.data", dir);
    CHECK_MSG(data_check_folds(&c, err) == 0, "%s", err);
    /* each index reads its fold's files */
    for (int k = 0; k < 5; k++) {
        Dataset ds;
        c.split_index = k;
        CHECK_MSG(data_load(&c, &ds, err) == 0, "%s", err);
        CHECK_MSG((int)ds.n_train == base_n[k], "fold %d: %zu train, want %d",
                  k + 1, ds.n_train, base_n[k]);
        data_free(&ds);
    }
    /* a missing fold file is named */
    snprintf(path, sizeof path, "%s/u3.test", dir);
    CHECK(unlink(path) == 0);
    c.split_index = 0;
    CHECK(data_check_folds(&c, err) == -1);
    CHECK_MSG(strstr(err, "fold 3's test file") && strstr(err, path) &&
              strstr(err, "No such file"), "%s", err);
    c.split_kind = SPLIT_RANDOM;   /* other kinds need no fold files */
    CHECK(data_check_folds(&c, err) == 0);
    test_rm_tree(dir);
}

/* Repeat i of a random split is a different split (seed + i); the same
 * index is the same split. */
static void test_repeats_differ(void) {
    const char *dir = test_tmp_dir("splits");
    char err[ERR_MAX];
    CHECK(dir != NULL);
    if (!dir) return;
    CHECK(write_ratings(dir, "u.data", -1, 0) > 0);
    Config c;
    cfg_defaults(&c);
    snprintf(c.data_path, sizeof c.data_path, "%s", dir);
    c.test_ratio = 0.3;
    c.split_repeats = 3;
    Dataset ds[4];
    for (int k = 0; k < 4; k++) {
        c.split_index = k < 3 ? k : 1;
        CHECK_MSG(data_load(&c, &ds[k], err) == 0, "%s", err);
    }
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            CHECK_MSG(ds[a].n_test != ds[b].n_test ||
                      memcmp(ds[a].test, ds[b].test,
                             ds[a].n_test * sizeof(Rating)) != 0,
                      "repeats %d and %d have the same test set", a, b);
    CHECK(ds[3].n_test == ds[1].n_test &&
          memcmp(ds[3].test, ds[1].test, ds[1].n_test * sizeof(Rating)) == 0);
    for (int k = 0; k < 4; k++) data_free(&ds[k]);
    test_rm_tree(dir);
}

/* repeats K: an implicit last axis data.split.index [0..K-1]; groups of K
 * consecutive points; labels without the split */
static void test_split_axis(void) {
    Config c, p;
    Grid g;
    GridPlan plan;
    char err[ERR_MAX];
    cfg_defaults(&c);
    memset(&g, 0, sizeof g);
    CHECK_MSG(cfg_load_string_grid(&c, &g, "data: {split: {repeats: 3}}\n"
                                   "grid:\n  model.hidden: [4, 8]\n", "g.yaml",
                                   err) == 0, "%s", err);
    CHECK_MSG(grid_plan_make(&plan, &c, &g, err) == 0, "%s", err);
    CHECK(plan.n == 6 && plan.n_splits == 3 && plan.grid.naxes == 2);
    CHECK(!strcmp(plan.grid.axes[1].key, GRID_SPLIT_KEY));
    CHECK(!strcmp(plan.axes, "model.hidden,data.split.index"));
    CHECK(!strcmp(plan.params[4], "hidden=8 index=1"));
    CHECK(grid_plan_point(&plan, 4, 1, &p, err) == 0 && p.hidden == 8 &&
          p.split_index == 1);
    CHECK(strcmp(plan.hashes[3], plan.hashes[4]) != 0);
    grid_plan_free(&plan);

    /* the index is not an axis of its own; repeats 1 adds none */
    cfg_defaults(&c);
    memset(&g, 0, sizeof g);
    CHECK(cfg_load_string_grid(&c, &g, "data: {split: {repeats: 2}}\ngrid:\n"
                               "  data.split.index: [0, 1]\n", "g.yaml",
                               err) == 0);
    CHECK(grid_plan_make(&plan, &c, &g, err) == -1);
    CHECK_MSG(strstr(err, "data.split.index cannot be an axis"), "%s", err);
    grid_plan_free(&plan);
    cfg_defaults(&c);
    memset(&g, 0, sizeof g);
    CHECK(cfg_load_string_grid(&c, &g, "grid:\n  train.lr: [0.1, 0.2]\n",
                               "g.yaml", err) == 0);
    CHECK_MSG(grid_plan_make(&plan, &c, &g, err) == 0, "%s", err);
    CHECK(plan.n == 2 && plan.n_splits == 1 && plan.grid.naxes == 1);
    grid_plan_free(&plan);
    /* a point that changes the number of splits is refused */
    cfg_defaults(&c);
    memset(&g, 0, sizeof g);
    CHECK(cfg_load_string_grid(&c, &g, "data: {split: {repeats: 2}}\ngrid:\n"
                               "  data.split.repeats: [2, 3]\n", "g.yaml",
                               err) == 0);
    CHECK(grid_plan_make(&plan, &c, &g, err) == -1);
    grid_plan_free(&plan);
}

void suite_splits(void) {
    RUN(test_split_keys);
    RUN(test_folds);
    RUN(test_repeats_differ);
    RUN(test_split_axis);
}

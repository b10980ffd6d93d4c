/* test_ensemble.c - ensembles: the weights (exact on a blend that fits,
 * and never beaten by a brute-force search on the constraint set), the
 * blend's RMSE, member keys, and reading an ensemble: section. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "ensemble.h"
#include "err.h"
#include "test.h"

/* Pseudo-random predictions in [1, 5]: x (n, k), and y from the given
 * weights plus noise of amplitude noise. */
static void make_blend(float *x, float *y, size_t n, int k, const double *w,
                       double noise, uint64_t seed) {
    uint64_t s = seed;
    for (size_t j = 0; j < n; j++) {
        double t = 0;
        for (int m = 0; m < k; m++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            x[j * k + m] = (float)(1 + 4 * (double)(s >> 11) / 9007199254740992.0);
            t += w[m] * x[j * k + m];
        }
        s = s * 6364136223846793005u + 1442695040888963407u;
        y[j] = (float)(t + noise * ((double)(s >> 11) / 9007199254740992.0 - 0.5));
    }
}

/* Squared error of weights w. */
static double sse(const float *x, const float *y, size_t n, int k,
                  const double *w) {
    double e = 0;
    for (size_t j = 0; j < n; j++) {
        double p = 0;
        for (int m = 0; m < k; m++) p += w[m] * x[j * k + m];
        e += (p - y[j]) * (p - y[j]);
    }
    return e;
}

/* y = 0.3 a + 0.7 b exactly: simplex and nnls recover the weights; mean
 * gives 1/2 each; a single member gets weight 1. */
static void test_fit_recovers_weights(void) {
    char err[ERR_MAX];
    enum { N = 200 };
    float x[N * 2], y[N];
    const double truth[2] = {0.3, 0.7};
    double w[2];
    make_blend(x, y, N, 2, truth, 0, 1);
    CHECK(ens_fit(x, y, N, 2, ENS_SIMPLEX, w, err) == 0);
    CHECK_CLOSE(w[0], 0.3, 0, 1e-6);
    CHECK_CLOSE(w[1], 0.7, 0, 1e-6);
    CHECK(ens_fit(x, y, N, 2, ENS_NNLS, w, err) == 0);
    CHECK_CLOSE(w[0], 0.3, 0, 1e-6);
    CHECK_CLOSE(w[1], 0.7, 0, 1e-6);
    CHECK(ens_fit(x, y, N, 2, ENS_MEAN, w, err) == 0 && w[0] == 0.5 &&
          w[1] == 0.5);
    CHECK(ens_fit(x, y, N, 1, ENS_SIMPLEX, w, err) == 0 && w[0] == 1.0);
    CHECK(ens_blend_rmse(x, y, N, 2, truth, 0, 0) < 1e-6);
    /* clipped to [2, 4]: the RMSE of the clipped blend */
    double want = 0;
    for (int j = 0; j < N; j++) {
        double p = 0.3 * x[2 * j] + 0.7 * x[2 * j + 1];
        p = p < 2 ? 2 : p > 4 ? 4 : p;
        want += (p - y[j]) * (p - y[j]);
    }
    CHECK_CLOSE(ens_blend_rmse(x, y, N, 2, truth, 2, 4), sqrt(want / N), 1e-9, 0);
    /* degenerate predictions (all 0) have no weights */
    memset(x, 0, sizeof x);
    CHECK(ens_fit(x, y, N, 2, ENS_NNLS, w, err) == -1);
    CHECK(ens_fit(x, y, N, 13, ENS_SIMPLEX, w, err) == -1);
}

/* A target outside the constraint set (y = 1.4 a - 0.2 b - 0.2 c + noise):
 * the fitted weights are feasible and no point of a fine grid over the
 * simplex (nnls: over [0, 2]^3) has a lower squared error. */
static void test_fit_beats_brute_force(void) {
    char err[ERR_MAX];
    enum { N = 300, K = 3 };
    float x[N * K], y[N];
    const double truth[K] = {1.4, -0.2, -0.2};
    double w[K];
    make_blend(x, y, N, K, truth, 0.5, 7);
    CHECK(ens_fit(x, y, N, K, ENS_SIMPLEX, w, err) == 0);
    CHECK(w[0] >= 0 && w[1] >= 0 && w[2] >= 0);
    CHECK_CLOSE(w[0] + w[1] + w[2], 1.0, 0, 1e-9);
    double fit = sse(x, y, N, K, w), best = INFINITY;
    for (int a = 0; a <= 100; a++)
        for (int b = 0; a + b <= 100; b++) {
            double g[K] = {a / 100.0, b / 100.0, (100 - a - b) / 100.0};
            double e = sse(x, y, N, K, g);
            if (e < best) best = e;
        }
    CHECK_MSG(fit <= best * (1 + 1e-9), "simplex fit %g, grid %g", fit, best);
    CHECK(ens_fit(x, y, N, K, ENS_NNLS, w, err) == 0);
    CHECK(w[0] >= 0 && w[1] >= 0 && w[2] >= 0);
    fit = sse(x, y, N, K, w);
    best = INFINITY;
    for (int a = 0; a <= 40; a++)
        for (int b = 0; b <= 40; b++)
            for (int c = 0; c <= 40; c++) {
                double g[K] = {a / 20.0, b / 20.0, c / 20.0};
                double e = sse(x, y, N, K, g);
                if (e < best) best = e;
            }
    CHECK_MSG(fit <= best * (1 + 1e-9), "nnls fit %g, grid %g", fit, best);
}

/* The member key ignores the name, the thread count and the number of
 * repeats, not what is trained or the split. */
static void test_member_key(void) {
    char err[ERR_MAX], a[24], b[24];
    Config c, d;
    cfg_defaults(&c);
    d = c;
    snprintf(d.name, sizeof d.name, "other");
    d.threads = 3;
    d.split_repeats = 5;
    CHECK(ens_member_key(&c, a, err) == 0 && ens_member_key(&d, b, err) == 0);
    CHECK(!strcmp(a, b) && a[0] == 'm' && strlen(a) == 17);
    d.split_index = 1;
    CHECK(ens_member_key(&d, b, err) == 0 && strcmp(a, b));
    d = c;
    d.hidden = 300;
    CHECK(ens_member_key(&d, b, err) == 0 && strcmp(a, b));
}

/* Writes text to dir/name; returns the path (static buffer). */
static const char *write_file(const char *dir, const char *name,
                              const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* A section with a mapping member, a list value and a file member: names,
 * labels, the split seed kept when a member sets train.seed, the weights
 * from --set; errors name the member and its line. */
/* A select: member: its candidates are the product of the lists in the
 * order written (the last key fastest) over the member's own keys, named
 * like the member, on the base's split, labelled with their values; the
 * section's text keeps the grid (the ensemble's identity); a value that
 * does not validate is refused at its file:line:column. */
static void test_load_select(void) {
    char err[ERR_MAX];
    const char *dir = test_tmp_dir("ens");
    CHECK(dir != NULL);
    if (!dir) return;
    const char *p = write_file(dir, "s.yaml",
        "name: e\n"
        "data: {split: {validation_ratio: 0.1}}\n"
        "train: {seed: 5}\n"
        "ensemble:\n"
        "  members:\n"
        "    - {}\n"
        "    - {model.hidden: 30, select: {train.l2: [1, 2], model.dropout: "
        "[0.1, 0.2, 0.3]}, train.seed: 7}\n");
    EnsembleSpec s;
    CHECK_MSG(ens_load(&s, p, NULL, 0, err) == 0, "%s", err);
    CHECK(s.n == 2 && s.ncand[0] == 0 && s.ncand[1] == 6 && s.cand[1]);
    if (s.ncand[1] == 6 && s.cand[1]) {
        const Config *c = s.cand[1];
        CHECK(c[0].l2 == 1 && c[0].dropout == 0.1 && c[2].l2 == 1 &&
              c[2].dropout == 0.3 && c[3].l2 == 2 && c[3].dropout == 0.1 &&
              c[5].l2 == 2 && c[5].dropout == 0.3);
        for (int j = 0; j < 6; j++)
            CHECK(c[j].hidden == 30 && c[j].seed == 7 &&
                  !strcmp(c[j].name, "e.m2") &&
                  cfg_split_seed(&c[j]) == cfg_split_seed(&s.member[0]));
        CHECK_MSG(!strcmp(s.cand_label[1][4], "m2 hidden=30 seed=7 l2=2 "
                          "dropout=0.2"), "%s", s.cand_label[1][4]);
    }
    CHECK_MSG(!strcmp(s.label[1], "m2 hidden=30 seed=7 select l2=1|2 "
                      "dropout=0.1|0.2|0.3"), "%s", s.label[1]);
    CHECK(s.text && strstr(s.text, "- {model.hidden: 30, train.seed: 7, "
                           "select: {train.l2: [1, 2], model.dropout: [0.1, "
                           "0.2, 0.3]}}"));
    ens_spec_free(&s);
    CHECK(s.cand[1] == NULL && s.ncand[1] == 0);
    p = write_file(dir, "bad.yaml",
        "name: e\n"
        "data: {split: {validation_ratio: 0.1}}\n"
        "ensemble:\n"
        "  members:\n"
        "    - {select: {model.dropout: [0.5, 2]}}\n");
    CHECK(ens_load(&s, p, NULL, 0, err) == -1);
    CHECK_MSG(strstr(err, "bad.yaml:5:17: ensemble.members[1].select") != NULL,
              "%s", err);
    test_rm_tree(dir);
}

static void test_load_section(void) {
    char err[ERR_MAX];
    const char *dir = test_tmp_dir("ens");
    CHECK(dir != NULL);
    if (!dir) return;
    write_file(dir, "m.yaml", "model: {dropout: 0.3}\ntrain: {l2: 2}\n");
    const char *p = write_file(dir, "e.yaml",
        "name: e\n"
        "data: {split: {validation_ratio: 0.1, repeats: 3}}\n"
        "train: {seed: 5}\n"
        "ensemble:\n"
        "  weights: nnls\n"
        "  members:\n"
        "    - {}\n"
        "    - {train.seed: 9, model.hidden: [40, 20]}\n"
        "    - m.yaml\n");
    EnsembleSpec s;
    CHECK_MSG(ens_load(&s, p, NULL, 0, err) == 0, "%s", err);
    CHECK(s.n == 3 && s.weights == ENS_NNLS);
    CHECK(!strcmp(s.member[1].name, "e.m2") && s.member[1].seed == 9 &&
          s.member[1].hidden == 40 && s.member[1].hidden_more == 1);
    CHECK(cfg_split_seed(&s.member[1]) == 5 && cfg_split_seed(&s.member[0]) == 5);
    CHECK(s.member[2].dropout == 0.3 && s.member[2].l2 == 2);
    CHECK(!strcmp(s.label[1], "m2 seed=9 hidden=[40, 20]") &&
          !strcmp(s.label[2], "m3 m.yaml"));
    CHECK(s.text && strstr(s.text, "weights: nnls") &&
          strstr(s.text, "- {train.seed: 9, model.hidden: [40, 20]}"));
    ens_spec_free(&s);
    const char *sets[1] = {"ensemble.weights=mean"};
    CHECK(ens_load(&s, p, sets, 1, err) == 0 && s.weights == ENS_MEAN);
    ens_spec_free(&s);
    CHECK(ens_detect(p) == 1);
    p = write_file(dir, "bad.yaml",
        "name: e\n"
        "data: {split: {validation_ratio: 0.1}}\n"
        "ensemble:\n"
        "  members:\n"
        "    - {}\n"
        "    - {model.dropout: 2}\n");
    CHECK(ens_load(&s, p, NULL, 0, err) == -1);
    CHECK_MSG(strstr(err, "bad.yaml:6:8: ensemble.members[2]") != NULL, "%s", err);
    p = write_file(dir, "plain.yaml", "name: e\n");
    CHECK(ens_detect(p) == 0);
    test_rm_tree(dir);
}

void suite_ensemble(void) {
    RUN(test_fit_recovers_weights);
    RUN(test_fit_beats_brute_force);
    RUN(test_member_key);
    RUN(test_load_section);
    RUN(test_load_select);
}

/* bench_eval_harness.c - times the evaluation and the ranking of one
 * config after one training epoch, linked against the objects of any
 * commit (tools/bench_eval_compare.sh builds it twice: before and after a
 * change), so both are timed by the same code in alternation.
 *
 * usage: harness CONFIG ROUNDS [KEY=VALUE]...
 * Prints one line: "eval_test_s MEDIAN rank_s MEDIAN rmse R ndcg N" (the
 * RMSE and NDCG show that both builds compute the same thing).  Only
 * interfaces present since the ranking metrics exist are used. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "err.h"
#include "runner.h"
#include "topn.h"
#include "train.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
    char err[ERR_MAX];
    Config cfg;
    Runner r;
    if (argc < 3) {
        fprintf(stderr, "usage: %s CONFIG ROUNDS [KEY=VALUE]...\n", argv[0]);
        return 2;
    }
    const int rounds = atoi(argv[2]);
    cfg_defaults(&cfg);
    if (cfg_load_file(&cfg, argv[1], err)) goto fail;
    for (int i = 3; i < argc; i++)
        if (cfg_set_override(&cfg, argv[i], err)) goto fail;
    if (cfg_validate(&cfg, err) || runner_prepare(&r, &cfg, err)) goto fail;
    double loss;
    trainer_epoch(&r.trainer, NULL, &loss);
    double te[64], tr[64];
    EvalMetrics m;
    TopnMetrics tm;
    for (int k = 0; k < rounds && k < 64; k++) {
        double t0 = now();
        trainer_evaluate(&r.trainer, &r.test, &m);
        double t1 = now();
        if (cfg.top_k > 0 && runner_topn(&r, &tm, err)) goto fail;
        te[k] = t1 - t0;
        tr[k] = now() - t1;
    }
    printf("eval_test_s %.4f rank_s %.4f rmse %.9f ndcg %.9f\n",
           median(te, rounds), median(tr, rounds), m.rmse,
           cfg.top_k > 0 ? tm.ndcg : NAN);
    runner_free(&r);
    return 0;
fail:
    fprintf(stderr, "harness: %s\n", err);
    return 1;
}

/* test_avg.c - train.ema: the moving average of the parameters equals a
 * hand-computed one, directly and over real training steps, and the
 * averaged weights evaluate as a model holding them does; train.swa_start:
 * the plain mean equals one computed by hand over real steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avg.h"
#include "csr.h"
#include "err.h"
#include "model.h"
#include "test.h"
#include "train.h"

/* decay 0.5 on a 3 -> 2 -> 3 model: after updates at p1 and p2 the
 * average is p0/4 + p1/4 + p2/2 (exact in binary); avg_swap exchanges
 * the tensors both ways; avg_assign copies the average in. */
static void test_ema_hand_computed(void) {
    char err[ERR_MAX];
    Model m;
    WeightAvg a;
    CHECK_MSG(model_create(&m, 3, 2, (size_t)1 << 30, err) == 0, "%s", err);
    const size_t n = m.num_params;   /* 2*3 + 2 + 3*2 + 3 = 17 */
    CHECK(n == 17);
    for (size_t i = 0; i < n; i++) m.mem[i] = (float)i;            /* p0 */
    CHECK_MSG(avg_create(&a, &m, 0.5f, err) == 0, "%s", err);
    for (size_t i = 0; i < n; i++) m.mem[i] = (float)(4 * i + 8);  /* p1 */
    avg_update(&a, &m);
    for (size_t i = 0; i < n; i++) m.mem[i] = -2.0f;               /* p2 */
    avg_update(&a, &m);
    int exact = 1;
    for (size_t i = 0; i < n; i++) {
        double want = 0.25 * (double)i + 0.25 * (4.0 * i + 8) + 0.5 * -2.0;
        exact &= a.mem[i] == (float)want;
    }
    CHECK(exact && a.updates == 2);
    /* the swapped model computes with the average: its encoder bias */
    const float b0 = m.params.b[0][1];
    avg_swap(&a, &m);
    CHECK(m.params.b[0][1] == a.mem[7] && a.swapped);
    avg_swap(&a, &m);
    CHECK(m.params.b[0][1] == b0 && !a.swapped);
    avg_assign(&a, &m);
    CHECK(memcmp(m.mem, a.mem, n * sizeof(float)) == 0);
    avg_reset(&a, &m);
    CHECK(a.updates == 0 && memcmp(m.mem, a.mem, n * sizeof(float)) == 0);
    avg_free(&a);
    model_free(&m);
}

/* Over 5 Adam steps of a trainer on a small rating matrix (dense and
 * sparse kernels), the average equals 0.9 * e + 0.1 * p applied by hand to
 * the parameters after every step, and evaluating the swapped-in average
 * gives the RMSE of a second trainer holding the hand-computed average. */
static void test_ema_over_training(void) {
    char err[ERR_MAX];
    enum { I = 12, U = 9 };
    float dense[I * U];
    for (int i = 0; i < I; i++)
        for (int u = 0; u < U; u++)
            dense[i * U + u] = (i * 7 + u * 3) % 4 == 0 ? 0.0f
                               : (float)(1 + (i + 2 * u) % 5);
    Csr train;
    CHECK(csr_from_dense(&train, dense, I, U, err) == 0);
    for (int k = 0; k < 2; k++) {
        TrainOptions opt = {6, 0.1f, 4, 0.02f, 0.0f, 11,
                            k ? NULL : &kernels_dense, (size_t)1 << 30};
        Trainer t, h;
        WeightAvg a;
        CHECK_MSG(trainer_create(&t, &opt, &train, &train, err) == 0 &&
                  trainer_create(&h, &opt, &train, &train, err) == 0, "%s",
                  err);
        const size_t n = t.model.num_params;
        double *hand = malloc(n * sizeof *hand);
        CHECK(hand && avg_create(&a, &t.model, 0.9f, err) == 0);
        if (!hand) return;
        for (size_t i = 0; i < n; i++) hand[i] = t.model.mem[i];
        t.avg = &a;
        const int32_t rows[4] = {0, 3, 7, 11};
        for (int s = 0; s < 5; s++) {
            trainer_step(&t, rows, 4);
            for (size_t i = 0; i < n; i++)
                hand[i] = 0.9 * hand[i] + 0.1 * (double)t.model.mem[i];
        }
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs(hand[i] - (double)a.mem[i]);
            if (d > worst) worst = d;
        }
        CHECK_MSG(worst < 1e-6, "kernel %d: largest difference %g", k, worst);
        /* h holds the hand-computed average (storage layout as t's) */
        for (size_t i = 0; i < n; i++) h.model.mem[i] = (float)hand[i];
        EvalMetrics ea, eh;
        avg_swap(&a, &t.model);
        trainer_evaluate(&t, &train, &ea);
        avg_swap(&a, &t.model);
        trainer_evaluate(&h, &train, &eh);
        CHECK_CLOSE(ea.rmse, eh.rmse, 1e-5, 0);
        free(hand);
        avg_free(&a);
        trainer_free(&t);
        trainer_free(&h);
    }
    csr_free(&train);
}

/* train.swa_start's mean: a trainer takes 3 steps without it, then the
 * mean is reset and follows 6 more steps; it equals the plain mean of the
 * parameters after those 6 steps computed by hand (the parameters at the
 * reset drop out), and its first update is exactly the parameters. */
static void test_swa_mean_over_training(void) {
    char err[ERR_MAX];
    enum { I = 10, U = 7 };
    float dense[I * U];
    for (int i = 0; i < I; i++)
        for (int u = 0; u < U; u++)
            dense[i * U + u] = (i * 5 + u) % 3 == 0 ? 0.0f
                               : (float)(1 + (2 * i + u) % 5);
    Csr train;
    CHECK(csr_from_dense(&train, dense, I, U, err) == 0);
    TrainOptions opt = {5, 0.1f, 4, 0.02f, 0.0f, 13, NULL, (size_t)1 << 30};
    Trainer t;
    WeightAvg a;
    CHECK_MSG(trainer_create(&t, &opt, &train, &train, err) == 0, "%s", err);
    const size_t n = t.model.num_params;
    double *sum = calloc(n, sizeof *sum);
    CHECK(sum && avg_create_mean(&a, &t.model, err) == 0 && a.mean);
    if (!sum) return;
    const int32_t rows[4] = {1, 4, 6, 9};
    for (int s = 0; s < 3; s++) trainer_step(&t, rows, 4);   /* before */
    avg_reset(&a, &t.model);
    t.avg = &a;
    for (int s = 0; s < 6; s++) {
        trainer_step(&t, rows, 4);
        if (s == 0)
            CHECK(memcmp(a.mem, t.model.mem, n * sizeof(float)) == 0);
        for (size_t i = 0; i < n; i++) sum[i] += (double)t.model.mem[i];
    }
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(sum[i] / 6.0 - (double)a.mem[i]);
        if (d > worst) worst = d;
    }
    CHECK_MSG(worst < 1e-6 && a.updates == 6,
              "largest difference %g after %ld updates", worst, a.updates);
    free(sum);
    avg_free(&a);
    trainer_free(&t);
    csr_free(&train);
}

void suite_avg(void) {
    RUN(test_ema_hand_computed);
    RUN(test_ema_over_training);
    RUN(test_swa_mean_over_training);
}

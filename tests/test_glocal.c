/* test_glocal.c - GLocal-K: the kernelised layer against its naive
 * reference, finite-difference gradients of both stages' objectives, the
 * thread count never changing results, and the L-BFGS optimiser. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "err.h"
#include "glocal.h"
#include "glocal_layer.h"
#include "lbfgs.h"
#include "mem.h"
#include "test.h"

/* ------------------------------------------------------------ layer -- */

/* Fills n floats uniformly in [-scale, scale). */
static void fill(float *p, size_t n, float scale, unsigned *st) {
    for (size_t i = 0; i < n; i++) p[i] = scale * (2.0f * test_urand(st) - 1.0f);
}

/* The BLAS layer and the naive reference agree on the kernel, the
 * penalty, the forward pass, the backward pass (pre-activation gradient,
 * bias, effective weights, input) and the parameters' gradients, with a
 * kernel that is zero on part of the (input, output) pairs. */
static void layer_matches_naive(Activation act, int rows, int n_in, int n_out,
                                int dim) {
    GlocalShape s = {n_in, n_out, dim, act};
    const size_t np = glocal_layer_param_count(&s);
    const size_t nw = (size_t)n_in * n_out;
    float *theta = malloc(np * sizeof(float));
    float *ga = calloc(np, sizeof(float)), *gb = calloc(np, sizeof(float));
    float *k1 = malloc(nw * 4), *k2 = malloc(nw * 4), *e1 = malloc(nw * 4),
          *e2 = malloc(nw * 4), *dw1 = malloc(nw * 4), *dw2 = malloc(nw * 4);
    float *x = malloc((size_t)rows * n_in * 4);
    float *y1 = malloc((size_t)rows * n_out * 4), *y2 = malloc((size_t)rows * n_out * 4);
    float *d1 = malloc((size_t)rows * n_out * 4), *d2 = malloc((size_t)rows * n_out * 4);
    float *dx1 = malloc((size_t)rows * n_in * 4), *dx2 = malloc((size_t)rows * n_in * 4);
    unsigned st = 17u + (unsigned)act;
    GlocalParams p, pa, pb;
    glocal_layer_bind(&s, theta, &p);
    glocal_layer_bind(&s, ga, &pa);
    glocal_layer_bind(&s, gb, &pb);
    fill(p.w, nw, 0.5f, &st);
    const float spread = dim == 1 ? 0.8f : 0.45f;   /* some pairs >= 1 apart */
    fill(p.u, (size_t)n_in * dim, spread, &st);
    fill(p.v, (size_t)n_out * dim, spread, &st);
    fill(p.b, (size_t)n_out, 0.3f, &st);
    fill(x, (size_t)rows * n_in, 2.0f, &st);
    double pen1 = glocal_layer_kernel(&s, &p, 0.3f, 0.7f, k1, e1);
    double pen2 = glocal_layer_kernel_naive(&s, &p, 0.3f, 0.7f, k2, e2);
    CHECK_CLOSE(pen1, pen2, 1e-5, 0);
    CHECK(test_scaled_diff(k1, k2, nw) < 1e-6);
    CHECK(test_scaled_diff(e1, e2, nw) < 1e-6);
    size_t zeros = 0;
    for (size_t k = 0; k < nw; k++) zeros += k2[k] == 0.0f;
    CHECK_MSG(zeros > nw / 20 && zeros < nw, "%zu of %zu kernel entries are 0",
              zeros, nw);
    glocal_layer_forward(&s, e2, p.b, x, rows, y1);
    glocal_layer_forward_naive(&s, e2, p.b, x, rows, y2);
    CHECK(test_scaled_diff(y1, y2, (size_t)rows * n_out) < 1e-5);
    fill(d1, (size_t)rows * n_out, 1.0f, &st);
    memcpy(d2, d1, (size_t)rows * n_out * 4);
    fill(dw1, nw, 0.1f, &st);   /* accumulation onto existing values */
    memcpy(dw2, dw1, nw * 4);
    glocal_layer_backward(&s, e2, x, y2, d1, rows, dw1, pa.b, dx1);
    glocal_layer_backward_naive(&s, e2, x, y2, d2, rows, dw2, pb.b, dx2);
    CHECK(test_scaled_diff(d1, d2, (size_t)rows * n_out) < 1e-6);
    CHECK(test_scaled_diff(pa.b, pb.b, (size_t)n_out) < 1e-5);
    CHECK(test_scaled_diff(dw1, dw2, nw) < 1e-5);
    CHECK(test_scaled_diff(dx1, dx2, (size_t)rows * n_in) < 1e-5);
    glocal_layer_param_grads(&s, &p, k2, dw1, 0.3f, 0.7f, &pa);
    glocal_layer_param_grads_naive(&s, &p, k2, dw2, 0.3f, 0.7f, &pb);
    CHECK(test_scaled_diff(dw1, dw2, nw) < 1e-5);   /* dkhat */
    CHECK(test_scaled_diff(pa.w, pb.w, nw) < 1e-5);
    CHECK(test_scaled_diff(pa.u, pb.u, (size_t)n_in * dim) < 1e-4);
    CHECK(test_scaled_diff(pa.v, pb.v, (size_t)n_out * dim) < 1e-4);
    free(theta); free(ga); free(gb); free(k1); free(k2); free(e1); free(e2);
    free(dw1); free(dw2); free(x); free(y1); free(y2); free(d1); free(d2);
    free(dx1); free(dx2);
}

static void test_layer_matches_naive(void) {
    layer_matches_naive(ACT_SIGMOID, 11, 13, 9, 3);
    layer_matches_naive(ACT_IDENTITY, 37, 70, 130, 5);   /* several blocks */
    layer_matches_naive(ACT_TANH, 5, 3, 200, 1);
}

/* ------------------------------------------------------------ model -- */

/* A small model on a 9 x 7 rating matrix (about 60% observed), hidden
 * [5, 4], dimension 2, 3 x 3 global kernel, every penalty on; its kernels
 * spread so that part of every layer's kernel is zero. */
static float small_x[9 * 7];

static int small_model(Glocal *g, uint64_t seed) {
    char err[ERR_MAX];
    unsigned st = 5;
    for (int k = 0; k < 9 * 7; k++)
        small_x[k] = test_urand(&st) < 0.4f ? 0.0f : (float)(1 + k % 5);
    GlocalArch a = {2, {5, 4}, ACT_SIGMOID, ACT_IDENTITY, 2, 3, 0.5f, 0.3f, 0.2f};
    if (glocal_create(g, &a, small_x, 9, 7, 1u << 30, seed, err)) {
        CHECK_MSG(0, "%s", err);
        return -1;
    }
    for (int l = 0; l < g->num_layers; l++) {
        GlocalParams p;
        glocal_layer_bind(&g->shape[l], g->params + g->offset[l], &p);
        fill(p.u, (size_t)g->shape[l].n_in * 2, 0.5f, &st);
        fill(p.v, (size_t)g->shape[l].n_out * 2, 0.5f, &st);
        fill(p.w, (size_t)g->shape[l].n_in * g->shape[l].n_out, 0.8f, &st);
    }
    /* a global kernel of moderate size: C scaled down */
    for (size_t i = g->conv_offset; i < g->num_params; i++) g->params[i] *= 0.3f;
    return 0;
}

/* Central finite differences of the stage's objective against its
 * gradient, for every parameter.  A parameter whose one-sided differences
 * disagree with each other sits on a kink (the kernel's support edge, a
 * relu): it is counted apart and must be rare. */
static void gradient_check(GlocalStage stage) {
    Glocal g;
    if (small_model(&g, 9)) return;
    float *grad = malloc(g.num_params * sizeof(float));
    const double f0 = glocal_objective(&g, stage, g.params, grad);
    CHECK_CLOSE(f0, glocal_objective(&g, stage, g.params, NULL), 1e-12, 0);
    int bad = 0, kinks = 0;
    double gmax = 0, conv_max = 0;
    for (size_t i = 0; i < g.num_params; i++) {
        const float eps = 1e-2f, saved = g.params[i];
        g.params[i] = saved + eps;
        const double fp = glocal_objective(&g, stage, g.params, NULL);
        g.params[i] = saved - eps;
        const double fm = glocal_objective(&g, stage, g.params, NULL);
        g.params[i] = saved;
        const double fd = (fp - fm) / (2.0 * eps);
        const double fwd = (fp - f0) / eps, bwd = (f0 - fm) / eps;
        gmax = fmax(gmax, fabs(grad[i]));
        if (i >= g.conv_offset) conv_max = fmax(conv_max, fabs(grad[i]));
        if (fabs(fd - grad[i]) <= 1e-2 * fabs(grad[i]) + 5e-3) continue;
        if (fabs(fwd - bwd) > 0.2 * fmax(fabs(fwd), fabs(bwd)) + 0.05) {
            kinks++;
            continue;
        }
        bad++;
        fprintf(stderr, "    param %zu: gradient %.6g, finite difference %.6g\n",
                i, grad[i], fd);
    }
    CHECK_MSG(bad == 0, "stage %d: %d of %zu gradients disagree", stage, bad,
              g.num_params);
    CHECK_MSG(kinks * 25 <= (int)g.num_params, "stage %d: %d parameters on a kink",
              stage, kinks);
    CHECK(gmax > 0.1);   /* not vacuous */
    if (stage == GLOCAL_PRETRAIN) CHECK(conv_max == 0.0);
    else CHECK_MSG(conv_max > 1e-3, "the global kernel gets no gradient");
    free(grad);
    glocal_free(&g);
}

static void test_gradient_pretrain(void) { gradient_check(GLOCAL_PRETRAIN); }
static void test_gradient_finetune(void) { gradient_check(GLOCAL_FINETUNE); }

/* The objective, its gradient and the predictions are the same to the
 * last bit with one thread and with three. */
static void test_threads_do_not_change_results(void) {
    const int saved = omp_get_max_threads();
    float *g1 = NULL, *p1 = NULL;
    double f[2][2];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t == 0 ? 1 : 3);
        Glocal g;
        if (small_model(&g, 4)) break;
        float *grad = malloc(g.num_params * sizeof(float));
        float *pred = malloc(9 * 7 * sizeof(float));
        f[t][0] = glocal_objective(&g, GLOCAL_PRETRAIN, g.params, grad);
        f[t][1] = glocal_objective(&g, GLOCAL_FINETUNE, g.params, grad);
        memcpy(pred, glocal_predict(&g, GLOCAL_FINETUNE, g.params), 9 * 7 * 4);
        if (t == 0) {
            g1 = grad;
            p1 = pred;
        } else {
            CHECK(f[0][0] == f[1][0] && f[0][1] == f[1][1]);
            CHECK(memcmp(g1, grad, g.num_params * sizeof(float)) == 0);
            CHECK(memcmp(p1, pred, 9 * 7 * sizeof(float)) == 0);
            free(grad);
            free(pred);
        }
        glocal_free(&g);
    }
    omp_set_num_threads(saved);
    free(g1);
    free(p1);
}

/* The paper's initialisation: W within the Glorot bound, every kernel
 * entry near 1 (embeddings of sd 1e-3), the same parameters for the same
 * seed and different ones for another. */
static void test_init(void) {
    Glocal a, b;
    char err[ERR_MAX];
    GlocalArch arch = {2, {6, 6}, ACT_SIGMOID, ACT_IDENTITY, 5, 3, 1.0f, 20.0f, 0.006f};
    static float x[12 * 10];
    for (int k = 0; k < 120; k++) x[k] = (float)(k % 6);
    CHECK(glocal_create(&a, &arch, x, 12, 10, 1u << 30, 7, err) == 0);
    CHECK(glocal_create(&b, &arch, x, 12, 10, 1u << 30, 7, err) == 0);
    CHECK(memcmp(a.params, b.params, a.num_params * sizeof(float)) == 0);
    glocal_init(&b, 8);
    CHECK(memcmp(a.params, b.params, a.num_params * sizeof(float)) != 0);
    GlocalParams p;
    glocal_layer_bind(&a.shape[0], a.params, &p);
    const double bound = sqrt(6.0 / (10 + 6));
    for (int k = 0; k < 60; k++) CHECK(fabsf(p.w[k]) <= bound);
    for (int k = 0; k < 50; k++) CHECK(fabsf(p.u[k]) <= 2e-3f);
    (void)glocal_objective(&a, GLOCAL_PRETRAIN, a.params, NULL);
    for (int k = 0; k < 60; k++) CHECK(a.khat[0][k] > 0.9999f);
    glocal_free(&a);
    glocal_free(&b);
    /* a bad architecture and a size limit are refused with a message */
    arch.ksize = 4;
    CHECK(glocal_create(&a, &arch, x, 12, 10, 1u << 30, 7, err) == -1);
    CHECK_MSG(strstr(err, "odd size") != NULL, "%s", err);
    arch.ksize = 3;
    CHECK(glocal_create(&a, &arch, x, 12, 10, 1000, 7, err) == -1);
    CHECK_MSG(strstr(err, "more than") != NULL, "%s", err);
}

/* ------------------------------------------------------------ L-BFGS -- */

/* The extended Rosenbrock function of n (even) variables. */
static double rosenbrock(void *ctx, const float *x, float *g) {
    const int n = *(const int *)ctx;
    double f = 0.0;
    for (int i = 0; i < n; i += 2) {
        const double a = 1.0 - x[i], b = 10.0 * ((double)x[i + 1] - (double)x[i] * x[i]);
        f += a * a + b * b;
        g[i] = (float)(-2.0 * a - 40.0 * b * x[i]);
        g[i + 1] = (float)(20.0 * b);
    }
    return f;
}

/* L-BFGS minimises the extended Rosenbrock function from the classic start
 * (-1.2, 1) both in one long run and as 5-iteration runs (each starting
 * with an empty memory, as an epoch of GLocal-K does), never increasing the
 * objective; a set stop flag stops it before the first step. */
static void test_lbfgs_rosenbrock(void) {
    int n = 20;
    char err[ERR_MAX];
    Lbfgs o;
    CHECK(lbfgs_create(&o, (size_t)n, 10, err) == 0);
    float x[20];
    for (int i = 0; i < n; i += 2) { x[i] = -1.2f; x[i + 1] = 1.0f; }
    LbfgsReport rep;
    lbfgs_minimize(&o, rosenbrock, &n, x, 200, NULL, &rep);
    CHECK_MSG(rep.f < 1e-6, "f %g after %d iterations, %d evaluations", rep.f,
              rep.iterations, rep.evaluations);
    for (int i = 0; i < n; i++) CHECK_CLOSE(x[i], 1.0, 0, 2e-3);
    for (int i = 0; i < n; i += 2) { x[i] = -1.2f; x[i + 1] = 1.0f; }
    double last = INFINITY;
    int runs = 0;
    for (; runs < 100 && last > 1e-6; runs++) {
        lbfgs_minimize(&o, rosenbrock, &n, x, 5, NULL, &rep);
        CHECK(rep.f <= rep.f0 && rep.f0 <= last);
        CHECK(rep.iterations <= 5 && rep.evaluations >= rep.iterations + 1);
        last = rep.f;
    }
    CHECK_MSG(last < 1e-6, "f %g after %d runs of 5 iterations", last, runs);
    volatile sig_atomic_t stop = 1;
    float y[20];
    memcpy(y, x, sizeof y);
    lbfgs_minimize(&o, rosenbrock, &n, y, 5, &stop, &rep);
    CHECK(rep.stopped && rep.iterations == 0 && memcmp(x, y, sizeof y) == 0);
    lbfgs_free(&o);
    CHECK(lbfgs_create(&o, 10, 0, err) == -1);
    lbfgs_free(&o);
}

/* A few L-BFGS epochs lower the small model's objective in both stages,
 * as the runner drives them. */
static double small_objective_pre(void *ctx, const float *x, float *g) {
    return glocal_objective(ctx, GLOCAL_PRETRAIN, x, g);
}
static double small_objective_fine(void *ctx, const float *x, float *g) {
    return glocal_objective(ctx, GLOCAL_FINETUNE, x, g);
}

static void test_lbfgs_trains_model(void) {
    Glocal g;
    char err[ERR_MAX];
    if (small_model(&g, 3)) return;
    Lbfgs o;
    CHECK(lbfgs_create(&o, g.num_params, 10, err) == 0);
    LbfgsReport rep;
    double first = NAN, f = NAN;
    for (int e = 0; e < 6; e++) {
        lbfgs_minimize(&o, e < 3 ? small_objective_pre : small_objective_fine,
                       &g, g.params, 5, NULL, &rep);
        if (e == 0) first = rep.f0;
        if (e == 3) f = rep.f0;   /* the fine-tuning objective at its start */
        CHECK(rep.f <= rep.f0 && rep.iterations >= 1);
    }
    CHECK_MSG(rep.f < f && f == f && first > 0, "objective %g -> %g", f, rep.f);
    lbfgs_free(&o);
    glocal_free(&g);
}

/* ------------------------------------------------------------ config -- */

/* model.variant glocal and the model.glocal.* keys: defaults (the paper's
 * ML-100K setting), YAML and --set, the resolved YAML round trip, range
 * errors naming the key and position, and the cross-key rules. */
static void test_cfg_glocal_keys(void) {
    Config c, back;
    char err[ERR_MAX];
    cfg_defaults(&c);
    CHECK(c.glocal_dim == 5 && c.glocal_sparsity == 0.006 &&
          c.glocal_kernel_size == 3 && c.glocal_dot_scale == 1 &&
          c.glocal_pretrain_epochs == 30 && c.glocal_pretrain_iters == 5 &&
          c.glocal_finetune_iters == 5);
    const char *yaml =
        "model:\n  variant: glocal\n  hidden: [40, 30]\n  glocal:\n"
        "    dim: 3\n    sparsity: 0.01\n    kernel_size: 5\n"
        "    dot_scale: 0.5\n    pretrain_epochs: 7\n    pretrain_iters: 4\n"
        "    finetune_iters: 6\n"
        "train: {epochs: 9, l2: 20, checkpoint: false}\n";
    CHECK_MSG(cfg_load_string(&c, yaml, "g.yaml", err) == 0, "%s", err);
    CHECK(c.variant == VARIANT_GLOCAL && c.glocal_dim == 3 &&
          c.glocal_sparsity == 0.01 && c.glocal_kernel_size == 5 &&
          c.glocal_dot_scale == 0.5 && c.glocal_pretrain_epochs == 7 &&
          c.glocal_pretrain_iters == 4 && c.glocal_finetune_iters == 6);
    CHECK_MSG(cfg_validate(&c, err) == 0, "%s", err);
    CHECK(strcmp(cfg_variant_name(c.variant), "glocal") == 0);
    char *y = cfg_to_yaml(&c);
    CHECK(y && strstr(y, "variant: glocal") && strstr(y, "pretrain_epochs: 7"));
    cfg_defaults(&back);
    CHECK_MSG(y && cfg_load_string(&back, y, "resolved", err) == 0, "%s", err);
    CHECK(memcmp(&c, &back, sizeof c) == 0);
    mem_free(y);
    y = cfg_to_yaml_changed(&c);
    CHECK(y && strstr(y, "dot_scale: 0.5"));
    mem_free(y);
    CHECK(cfg_set_override(&c, "model.glocal.dot_scale=2", err) == 0 &&
          c.glocal_dot_scale == 2);
    /* range errors name the key (and the file position) */
    CHECK(cfg_set_override(&c, "model.glocal.dim=65", err) == -1 &&
          strstr(err, "model.glocal.dim"));
    CHECK(cfg_set_override(&c, "model.glocal.dot_scale=0", err) == -1 &&
          strstr(err, "model.glocal.dot_scale"));
    CHECK(cfg_set_override(&c, "model.glocal.sparsity=-1", err) == -1);
    CHECK(cfg_load_string(&c, "model:\n  glocal:\n    kernel_size: 16\n",
                          "k.yaml", err) == -1);
    CHECK_MSG(strstr(err, "k.yaml:3:18:") == err, "%s", err);
    CHECK(cfg_load_string(&c, "model: {glocal: {size: 3}}\n", "u.yaml", err) == -1);
    CHECK_MSG(strstr(err, "unknown key \"size\" in model.glocal") != NULL, "%s", err);
    /* cross-key rules, checked only with variant glocal */
    CHECK(cfg_set_override(&c, "model.glocal.kernel_size=4", err) == 0);
    CHECK(cfg_validate(&c, err) == -1 && strstr(err, "is even"));
    c.glocal_kernel_size = 3;
    c.glocal_pretrain_epochs = 10;
    CHECK(cfg_validate(&c, err) == -1 && strstr(err, "more than train.epochs 9"));
    c.glocal_pretrain_epochs = 9;   /* pretraining only: allowed */
    CHECK_MSG(cfg_validate(&c, err) == 0, "%s", err);
    c.checkpoint = 1;
    CHECK(cfg_validate(&c, err) == -1 &&
          strstr(err, "set train.checkpoint: false"));
    c.variant = VARIANT_ITEM;   /* the keys are not read by other variants */
    c.glocal_kernel_size = 4;
    CHECK_MSG(cfg_validate(&c, err) == 0, "%s", err);
}

void suite_glocal(void) {
    RUN(test_layer_matches_naive);
    RUN(test_gradient_pretrain);
    RUN(test_gradient_finetune);
    RUN(test_threads_do_not_change_results);
    RUN(test_init);
    RUN(test_lbfgs_rosenbrock);
    RUN(test_lbfgs_trains_model);
    RUN(test_cfg_glocal_keys);
}

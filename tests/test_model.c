/* test_model.c - parameter layout, initialisation, Adam, gradient check. */
#include <stdlib.h>
#include <string.h>

#include "csr.h"
#include "err.h"
#include "model.h"
#include "test.h"
#include "train.h"

static void test_layout_one_allocation(void) {
    Model m;
    char err[ERR_MAX];
    CHECK(model_create(&m, 7, 3, 1u << 30, err) == 0);
    CHECK(m.num_params == 2 * 7 * 3 + 7 + 3);
    CHECK(m.params.b[0] == m.params.w[0] + 21);
    CHECK(m.params.w[1] == m.params.b[0] + 3);
    CHECK(m.params.b[1] == m.params.w[1] + 21);
    CHECK(m.grads.w[0] == m.mem + m.num_params);
    CHECK(m.m.b[1] - m.m.w[0] == m.params.b[1] - m.params.w[0]);
    CHECK(m.v.w[0] == m.mem + 3 * m.num_params);
    model_free(&m);
    model_free(&m);  /* accepts a freed (zeroed) model */
}

static void test_init_statistics(void) {
    Model m;
    char err[ERR_MAX];
    CHECK(model_create(&m, 400, 300, 1u << 30, err) == 0);
    model_init(&m, 3);
    size_t n = 400 * 300;
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) { s += m.params.w[0][i]; s2 += (double)m.params.w[0][i] * m.params.w[0][i]; }
    CHECK_CLOSE(s / n, 0.0, 0.0, 1e-4);
    CHECK_CLOSE(sqrt(s2 / n), 0.01, 0.02, 0.0);
    float bmax = 0;
    for (int i = 0; i < 300; i++) bmax = fmaxf(bmax, fabsf(m.params.b[0][i]));
    CHECK(bmax <= 1.0f / sqrtf(400.0f) && bmax > 0.9f / sqrtf(400.0f));
    for (int i = 0; i < 400; i++) bmax = fmaxf(bmax, fabsf(m.params.b[1][i]));
    CHECK(bmax <= 1.0f / sqrtf(300.0f) && bmax > 0.9f / sqrtf(300.0f));
    /* same seed, same parameters; other seed, others */
    Model m2;
    CHECK(model_create(&m2, 400, 300, 1u << 30, err) == 0);
    model_init(&m2, 3);
    CHECK(memcmp(m.params.w[0], m2.params.w[0], m.num_params * 4) == 0);
    model_init(&m2, 4);
    CHECK(memcmp(m.params.w[0], m2.params.w[0], m.num_params * 4) != 0);
    model_free(&m);
    model_free(&m2);
}

/* A new model is zero; model_init leaves gradients and moments zero again
 * whatever they held (a chunk holding only -0.0f, or one nonzero float
 * among zeros, included), for a model below and above mem_alloc_zeroed's
 * mapped size; and its parameters do not depend on what was there. */
static void test_init_zeroes_state(void) {
    const int sizes[2][2] = {{30, 20}, {3000, 400}};   /* 10 KB, 19 MB */
    for (int k = 0; k < 2; k++) {
        Model m, ref;
        char err[ERR_MAX];
        CHECK(model_create(&m, sizes[k][0], sizes[k][1], 1u << 30, err) == 0);
        CHECK(model_create(&ref, sizes[k][0], sizes[k][1], 1u << 30, err) == 0);
        const size_t n = m.num_params;
        size_t nonzero = 0;
        for (size_t i = 0; i < 4 * n; i++) nonzero += m.mem[i] != 0.0f;
        CHECK(nonzero == 0);
        model_init(&ref, 6);
        model_init(&m, 5);
        for (size_t i = n; i < 4 * n; i++) m.mem[i] = (float)(i % 7) - 3.0f;
        for (size_t i = n; i < 2 * n; i++) m.mem[i] = -0.0f;   /* grads: -0 only */
        memset(m.mem + 3 * n, 0, n * sizeof(float));
        m.mem[3 * n + n / 2] = 1e-30f;                          /* v: one */
        model_init(&m, 6);
        CHECK(memcmp(m.mem, ref.mem, 4 * n * sizeof(float)) == 0);
        model_free(&m);
        model_free(&ref);
    }
}

/* The fused Adam pieces (model_adam_begin, then model_adam_weight_rows with
 * rows of zero gradient not read, rows already done skipped, and
 * model_adam_bias) reproduce model_adam_step bit for bit. */
static void test_adam_rows_equal_step(void) {
    Model a, b;
    char err[ERR_MAX];
    const int U = 23, H = 9;
    CHECK(model_create(&a, U, H, 1u << 30, err) == 0);
    CHECK(model_create(&b, U, H, 1u << 30, err) == 0);
    a.enc_transposed = b.enc_transposed = 1;
    model_init(&a, 4);
    model_init(&b, 4);
    AdamOptions opt = {0.01f, 0.9f, 0.999f, 1e-8f, 1e-3f, 0.0f, 0};
    CHECK(model_adam_fusable(&b, &opt));
    uint8_t state[23];
    for (int step = 0; step < 6; step++) {
        for (size_t i = 0; i < a.num_params; i++) {
            /* rows of users u % 3 == step % 3 have no gradient */
            size_t in_w = i;
            int u = in_w < (size_t)U * H ? (int)(in_w / H)
                  : in_w < (size_t)U * H + H ? -1
                  : in_w < (size_t)2 * U * H + H ? (int)((in_w - U * H - H) / H) : -1;
            float g = (u >= 0 && u % 3 == step % 3) ? 0.0f : sinf((float)(i * 5 + step));
            a.grads.w[0][i] = b.grads.w[0][i] = g;
        }
        model_adam_step(&a, &opt);
        AdamStep s;
        model_adam_begin(&b, &opt, &s);
        /* encoder rows: the gradient ones "done" by hand, as a fused kernel */
        for (int u = 0; u < U; u++) {
            state[u] = u % 3 == step % 3 ? MODEL_ROW_ZERO : MODEL_ROW_DONE;
            if (state[u] == MODEL_ROW_DONE)
                adam_span(b.params.w[0] + (size_t)u * H, b.grads.w[0] + (size_t)u * H,
                          b.m.w[0] + (size_t)u * H, b.v.w[0] + (size_t)u * H, H, &s);
        }
        model_adam_weight_rows(&b, 0, state, &s);
        for (int u = 0; u < U; u++)
            state[u] = u % 3 == step % 3 ? MODEL_ROW_ZERO : MODEL_ROW_GRAD;
        model_adam_weight_rows(&b, 1, state, &s);
        model_adam_bias(&b, 0, &s);
        model_adam_bias(&b, 1, &s);
    }
    CHECK(a.step == b.step);
    CHECK_MSG(memcmp(a.mem, b.mem, 4 * a.num_params * sizeof(float)) == 0,
              "fused Adam differs from model_adam_step");
    opt.l2 = 1e-3f;
    CHECK(!model_adam_fusable(&b, &opt));
    model_free(&a);
    model_free(&b);
}

static void test_adam_equals_naive(void) {
    Model a, b;
    char err[ERR_MAX];
    CHECK(model_create(&a, 37, 11, 1u << 30, err) == 0);
    CHECK(model_create(&b, 37, 11, 1u << 30, err) == 0);
    model_init(&a, 1);
    model_init(&b, 1);
    AdamOptions opt = {0.01f, 0.9f, 0.999f, 1e-8f, 1e-3f, 0.0f, 0};
    for (int step = 0; step < 20; step++) {
        for (size_t i = 0; i < a.num_params; i++)
            a.grads.w[0][i] = b.grads.w[0][i] = sinf((float)(i * 7 + step));
        model_adam_step(&a, &opt);
        model_adam_step_naive(&b, &opt);
    }
    double worst = 0;
    for (size_t i = 0; i < a.num_params; i++)
        worst = fmax(worst, fabs((double)a.params.w[0][i] - b.params.w[0][i]));
    CHECK_MSG(worst < 1e-5, "worst %g", worst);
    /* first step moves every parameter by about lr (Adam's normalised step) */
    Model c;
    CHECK(model_create(&c, 5, 2, 1u << 30, err) == 0);
    for (size_t i = 0; i < c.num_params; i++) c.grads.w[0][i] = (i % 2) ? 3.0f : -0.5f;
    model_adam_step(&c, &opt);
    for (size_t i = 0; i < c.num_params; i++) {
        CHECK_CLOSE(c.params.w[0][i], (i % 2) ? -0.01 : 0.01, 1e-4, 0);
        CHECK(c.grads.w[0][i] == 0.0f);  /* zero_grad folded into the step */
    }
    model_free(&a); model_free(&b); model_free(&c);
}

/* Central finite differences of the batch loss against the backward pass,
 * for every parameter of a small model, with dropout on. */
static void gradient_check_arch(const KernelOps *ops, const ModelArch *arch) {
    const int I = 6, U = 5, H = 3;
    float train[30];
    for (int i = 0; i < I * U; i++) train[i] = (i * 7) % 3 == 0 ? 0.0f : (float)(1 + (i * 5) % 5);
    TrainOptions opt = {H, 0.3f, I, 0.01f, 0.0f, 11, ops, 1u << 30};
    Trainer t;
    Csr m;
    char err[ERR_MAX];
    CHECK(csr_from_dense(&m, train, I, U, err) == 0);
    CHECK_MSG(trainer_create_arch(&t, &opt, arch, &m, NULL, err) == 0, "%s", err);
    Model *mo = &t.model;
    for (size_t i = 0; i < mo->num_params; i++)  /* larger weights: every grad matters */
        mo->params.w[0][i] = 0.6f * sinf((float)i * 1.7f + 0.3f);
    int32_t items[6] = {0, 1, 2, 3, 4, 5};
    model_zero_grad(mo);
    trainer_forward_backward(&t, items, I);
    float *grad = malloc(mo->num_params * sizeof(float));
    memcpy(grad, mo->grads.w[0], mo->num_params * sizeof(float));
    int bad = 0;
    double worst = 0, gmax = 0;
    for (size_t i = 0; i < mo->num_params; i++) {
        const float eps = 1e-2f;
        float saved = mo->params.w[0][i];
        model_zero_grad(mo);
        mo->params.w[0][i] = saved + eps;
        double lp = trainer_forward_backward(&t, items, I);
        mo->params.w[0][i] = saved - eps;
        double lm = trainer_forward_backward(&t, items, I);
        mo->params.w[0][i] = saved;
        double fd = (lp - lm) / (2.0 * eps);
        double e = fabs(fd - grad[i]);
        worst = fmax(worst, e / (fabs(grad[i]) + 1e-2));
        gmax = fmax(gmax, fabs(grad[i]));
        if (e > 1e-2 * fabs(grad[i]) + 2e-3) {
            bad++;
            fprintf(stderr, "    param %zu: backward %.6g, finite difference %.6g\n", i, grad[i], fd);
        }
    }
    CHECK_MSG(bad == 0, "%s, %d layers, %s/%s: %d of %zu gradients disagree",
              trainer_kernel_name(&t), mo->num_layers,
              activation_name(t.arch.encoder), activation_name(t.arch.decoder),
              bad, mo->num_params);
    CHECK(gmax > 0.1);  /* the check is not vacuous */
    free(grad);
    trainer_free(&t);
    csr_free(&m);
}

static void gradient_check(const KernelOps *ops) { gradient_check_arch(ops, NULL); }

static void test_gradient_check_dense(void) { gradient_check(&kernels_dense); }
static void test_gradient_check_naive(void) { gradient_check(&kernels_naive); }
static void test_gradient_check_sparse(void) { gradient_check(NULL); }

/* Every activation as the encoder's and as the decoder's, in the dense and
 * sparse paths (dropout on). */
static void test_gradient_check_activations(void) {
    const KernelOps *ops[2] = {&kernels_dense, NULL};
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < ACT_COUNT; a++) {
            ModelArch enc = {1, {3}, (Activation)a, ACT_IDENTITY};
            ModelArch dec = {1, {3}, ACT_SIGMOID, (Activation)a};
            gradient_check_arch(ops[k], &enc);
            gradient_check_arch(ops[k], &dec);
        }
}

/* A deep stack 5 -> 4 -> 3 -> 4 -> 5 (dropout after every hidden layer), in
 * the dense, naive and sparse paths, for several activations. */
static void test_gradient_check_deep(void) {
    const KernelOps *ops[3] = {&kernels_dense, &kernels_naive, NULL};
    const Activation acts[3][2] = {{ACT_SIGMOID, ACT_IDENTITY}, {ACT_ELU, ACT_IDENTITY},
                                   {ACT_TANH, ACT_SIGMOID}};
    for (int k = 0; k < 3; k++)
        for (int a = 0; a < 3; a++) {
            ModelArch deep = {3, {4, 3, 4}, acts[a][0], acts[a][1]};
            gradient_check_arch(ops[k], &deep);
        }
}

/* The deep stack's loss and gradients agree between the naive, dense and
 * sparse kernels (the same seed gives the same model in every layout). */
static void test_deep_kernels_agree(void) {
    const int I = 40, U = 23;
    float *train = calloc((size_t)I * U, sizeof(float));
    unsigned s = 3;
    for (int i = 0; i < I * U; i++) if (test_urand(&s) < 0.3) train[i] = 1 + (float)(int)(5 * test_urand(&s));
    Csr m;
    char err[ERR_MAX];
    CHECK(csr_from_dense(&m, train, I, U, err) == 0);
    const KernelOps *ops[3] = {&kernels_naive, &kernels_dense, NULL};
    ModelArch deep = {3, {17, 9, 13}, ACT_ELU, ACT_IDENTITY};
    float *g[3] = {NULL, NULL, NULL};
    double loss[3];
    size_t n = 0;
    int32_t items[16];
    for (int r = 0; r < 16; r++) items[r] = (r * 7) % I;
    for (int k = 0; k < 3; k++) {
        TrainOptions opt = {17, 0.2f, 16, 0.01f, 0.0f, 5, ops[k], 1u << 30};
        Trainer t;
        CHECK_MSG(trainer_create_arch(&t, &opt, &deep, &m, NULL, err) == 0, "%s", err);
        CHECK(t.model.num_layers == 4 && t.model.width[2] == 9 && t.model.width[4] == U);
        n = t.model.num_params;
        loss[k] = trainer_forward_backward(&t, items, 16);
        g[k] = malloc(n * sizeof(float));
        model_export(&t.model, &t.model.grads, g[k]);
        trainer_free(&t);
    }
    for (int k = 1; k < 3; k++) {
        CHECK_CLOSE(loss[k], loss[0], 1e-5, 1e-6);
        CHECK_MSG(test_scaled_diff(g[k], g[0], n) < 1e-5, "kernel %d", k);
    }
    for (int k = 0; k < 3; k++) free(g[k]);
    free(train);
    csr_free(&m);
}

/* The memory refusal counts every layer: a stack whose middle layer alone is
 * too large is refused before allocating, and the estimate grows with it. */
static void test_deep_memory_refused(void) {
    static float one[4] = {1, 0, 0, 1};
    Csr m;
    Trainer t;
    char err[ERR_MAX] = "";
    CHECK(csr_from_dense(&m, one, 2, 2, err) == 0);
    TrainOptions opt = {10, 0.0f, 1, 0.01f, 0.0f, 1, NULL, 1u << 30};
    ModelArch small = {3, {10, 10, 10}, ACT_SIGMOID, ACT_IDENTITY};
    ModelArch big = {3, {10, 100000, 10}, ACT_SIGMOID, ACT_IDENTITY};
    ModelArch huge = {3, {10, 100000, 100000}, ACT_SIGMOID, ACT_IDENTITY};
    CHECK(trainer_bytes_needed(&opt, &big, 2, 2, 2) >
          trainer_bytes_needed(&opt, &small, 2, 2, 2) + 16.0 * 2 * 10 * 100000);
    CHECK(trainer_bytes_needed(&opt, NULL, 2, 2, 2) < trainer_bytes_needed(&opt, &small, 2, 2, 2));
    CHECK_MSG(trainer_create_arch(&t, &opt, &small, &m, &m, err) == 0, "%s", err);
    trainer_free(&t);
    CHECK(trainer_create_arch(&t, &opt, &huge, &m, &m, err) != 0);
    CHECK_MSG(strstr(err, "GB") && strstr(err, "model.hidden"), "%s", err);
    const int width[4] = {2, 100000, 100000, 2};
    CHECK(model_create_layers(&t.model, 3, width, 1u << 30, err) != 0);
    CHECK_MSG(strstr(err, "[100000, 100000]") && strstr(err, "GB"), "%s", err);
    const int odd[4] = {2, 3, 3, 5};  /* output width is not the users */
    CHECK(model_create_layers(&t.model, 3, odd, 1u << 30, err) != 0);
    csr_free(&m);
}

void suite_model(void) {
    RUN(test_deep_memory_refused);
    RUN(test_layout_one_allocation);
    RUN(test_init_statistics);
    RUN(test_init_zeroes_state);
    RUN(test_adam_equals_naive);
    RUN(test_adam_rows_equal_step);
    RUN(test_gradient_check_dense);
    RUN(test_gradient_check_naive);
    RUN(test_gradient_check_sparse);
    RUN(test_gradient_check_activations);
    RUN(test_gradient_check_deep);
    RUN(test_deep_kernels_agree);
}

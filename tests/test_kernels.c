/* test_kernels.c - every fast kernel equals the naive reference kernel. */
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "blas.h"
#include "kernels.h"
#include "test.h"

static float *rand_buf(size_t n, float lo, float hi, double density, unsigned *s) {
    float *b = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double u = test_urand(s), keep = test_urand(s);
        b[i] = keep < density ? (float)(lo + (hi - lo) * u) : 0.0f;
    }
    return b;
}

/* Runs both implementations of every kernel on the same random inputs and
 * compares every output. */
static void compare_on_act(int B, int U, int H, float p, Activation ae,
                           Activation ad) {
    unsigned s = (unsigned)(B * 131 + U * 7 + H);
    size_t bu = (size_t)B * U, bh = (size_t)B * H, uh = (size_t)U * H;
    float *x = rand_buf(bu, 1, 5, 0.3, &s);
    float *we = rand_buf(uh, -0.3f, 0.3f, 1, &s), *be = rand_buf(H, -0.5f, 0.5f, 1, &s);
    float *wd = rand_buf(uh, -0.3f, 0.3f, 1, &s), *bd = rand_buf(U, -0.5f, 0.5f, 1, &s);
    int32_t *ids = malloc(B * sizeof *ids);
    for (int r = 0; r < B; r++) ids[r] = r * 3 + 1;
    Dropout drop = {p, 42, 3, ids};
    const KernelOps *k[2] = {&kernels_naive, &kernels_dense};
    float *h[2], *hd[2], *dy[2], *y[2], *dhd[2], *gwe[2], *gbe[2], *gwd[2], *gbd[2];
    double *loss[2];
    for (int i = 0; i < 2; i++) {
        h[i] = malloc(bh * 4); hd[i] = malloc(bh * 4); dhd[i] = malloc(bh * 4);
        dy[i] = malloc(bu * 4); y[i] = malloc(bu * 4); loss[i] = malloc(B * 8);
        /* gradients start non-zero: backward must accumulate */
        unsigned s2 = 99;
        gwe[i] = rand_buf(uh, -1, 1, 1, &s2); gbe[i] = rand_buf(H, -1, 1, 1, &s2);
        gwd[i] = rand_buf(uh, -1, 1, 1, &s2); gbd[i] = rand_buf(U, -1, 1, 1, &s2);
        k[i]->encoder_forward(h[i], hd[i], x, we, be, ae, &drop, B, U, H);
        k[i]->decoder_forward(y[i], hd[i], wd, bd, ad, B, U, H);
        k[i]->decoder_mse_forward(dy[i], loss[i], hd[i], wd, bd, ad, x, B, U, H);
        k[i]->decoder_backward(dhd[i], gwd[i], gbd[i], dy[i], hd[i], wd, B, U, H);
        k[i]->encoder_backward(gwe[i], gbe[i], dhd[i], h[i], hd[i], x, ae, &drop, B, U, H);
    }
    const double tol = 1e-5;
    CHECK_MSG(test_scaled_diff(h[1], h[0], bh) < tol, "h B=%d U=%d H=%d %s/%s", B, U, H,
              activation_name(ae), activation_name(ad));
    CHECK_MSG(test_scaled_diff(hd[1], hd[0], bh) < tol, "hd B=%d U=%d H=%d", B, U, H);
    CHECK_MSG(test_scaled_diff(y[1], y[0], bu) < tol, "y B=%d U=%d H=%d", B, U, H);
    CHECK_MSG(test_scaled_diff(dy[1], dy[0], bu) < tol, "dy B=%d U=%d H=%d", B, U, H);
    CHECK_MSG(test_scaled_diff(dhd[1], dhd[0], bh) < tol, "dz B=%d U=%d H=%d", B, U, H);
    CHECK_MSG(test_scaled_diff(gwd[1], gwd[0], uh) < tol, "dWd B=%d U=%d H=%d", B, U, H);
    CHECK_MSG(test_scaled_diff(gbd[1], gbd[0], U) < tol, "dbd B=%d U=%d H=%d", B, U, H);
    CHECK_MSG(test_scaled_diff(gwe[1], gwe[0], uh) < tol, "dWe B=%d U=%d H=%d", B, U, H);
    CHECK_MSG(test_scaled_diff(gbe[1], gbe[0], H) < tol, "dbe B=%d U=%d H=%d", B, U, H);
    for (int r = 0; r < B; r++) CHECK_CLOSE(loss[1][r], loss[0][r], 1e-5, 1e-6);
    /* where x is unobserved the loss gradient is exactly zero */
    size_t zeros_ok = 1;
    for (size_t i = 0; i < bu; i++) if (x[i] == 0.0f && dy[1][i] != 0.0f) zeros_ok = 0;
    CHECK(zeros_ok);
    for (int i = 0; i < 2; i++) {
        free(h[i]); free(hd[i]); free(dhd[i]); free(dy[i]); free(y[i]); free(loss[i]);
        free(gwe[i]); free(gbe[i]); free(gwd[i]); free(gbd[i]);
    }
    free(x); free(we); free(be); free(wd); free(bd); free(ids);
}

static void compare_on(int B, int U, int H, float p) {
    compare_on_act(B, U, H, p, ACT_SIGMOID, ACT_IDENTITY);
}

static void test_dense_equals_naive_small(void) { compare_on(3, 5, 2, 0.0f); }
static void test_dense_equals_naive_ragged(void) { compare_on(45, 130, 67, 0.0f); }
static void test_dense_equals_naive_dropout(void) { compare_on(70, 97, 129, 0.25f); }
static void test_dense_equals_naive_reference_shape(void) { compare_on(256, 943, 64, 0.05f); }

/* Every activation as the encoder's and as the decoder's, with dropout. */
static void test_dense_equals_naive_activations(void) {
    for (int a = 0; a < ACT_COUNT; a++) {
        compare_on_act(70, 97, 129, 0.25f, (Activation)a, ACT_IDENTITY);
        compare_on_act(45, 130, 67, 0.0f, ACT_SIGMOID, (Activation)a);
    }
}

/* Forward and backward of each activation agree with its definition and
 * with central finite differences of activation_apply_ref. */
static void test_activation_pairs(void) {
    const float z[6] = {-2.5f, -0.7f, -0.01f, 0.02f, 0.9f, 3.0f};
    for (int a = 0; a < ACT_COUNT; a++) {
        float y[6], g[6];
        memcpy(y, z, sizeof y);
        activation_forward_row(y, NULL, (Activation)a, 6);
        for (int i = 0; i < 6; i++) g[i] = 1.0f;
        activation_backward_row(g, y, (Activation)a, 6);
        for (int i = 0; i < 6; i++) {
            double ref = activation_apply_ref((Activation)a, z[i]);
            double fd = (activation_apply_ref((Activation)a, z[i] + 1e-4) -
                         activation_apply_ref((Activation)a, z[i] - 1e-4)) / 2e-4;
            CHECK_CLOSE(y[i], ref, 1e-6, 1e-6);
            CHECK_CLOSE(activation_apply((Activation)a, z[i]), ref, 1e-6, 1e-6);
            CHECK_CLOSE(g[i], fd, 1e-3, 1e-4);
            CHECK_CLOSE(activation_grad((Activation)a, y[i]), fd, 1e-3, 1e-4);
        }
    }
    CHECK(!strcmp(activation_name(ACT_ELU), "elu"));
    CHECK(!strcmp(activation_name(ACT_COUNT), "invalid"));
}

/* Dropout keeps about 1 - p of the units, scales them by 1/(1-p), and the
 * mask depends only on (seed, step, item, unit). */
static void test_dropout_mask(void) {
    int32_t ids[1000];
    for (int i = 0; i < 1000; i++) ids[i] = i;
    Dropout d = {0.3f, 5, 1, ids};
    long kept = 0;
    int scale_ok = 1;
    for (int r = 0; r < 1000; r++)
        for (int k = 0; k < 100; k++) {
            float s = dropout_scale(&d, r, k);
            if (s != 0.0f) { kept++; scale_ok &= fabsf(s - 1.0f / 0.7f) < 1e-6f; }
        }
    CHECK(scale_ok);
    CHECK_CLOSE(kept / 100000.0, 0.7, 0.0, 0.01);
    Dropout d2 = d;
    d2.step = 2;
    int differs = 0;
    for (int k = 0; k < 100; k++) differs |= dropout_scale(&d, 0, k) != dropout_scale(&d2, 0, k);
    CHECK(differs);
    CHECK(dropout_scale(NULL, 0, 0) == 1.0f);
}

/* The evaluation decoder is cut into column tiles (any width, any thread
 * count): its output is bit for bit one sgemm over the whole product plus
 * the bias, and the naive reference within rounding. */
static void decoder_tiles_on(int B, int U, int H) {
    unsigned s = (unsigned)(B * 17 + U + H);
    float *hd = rand_buf((size_t)B * H, 0, 1, 1, &s);
    float *w = rand_buf((size_t)U * H, -0.3f, 0.3f, 1, &s);
    float *b = rand_buf((size_t)U, -0.5f, 0.5f, 1, &s);
    float *ref = malloc((size_t)B * U * sizeof(float));
    float *nv = malloc((size_t)B * U * sizeof(float));
    float *y = malloc((size_t)B * U * sizeof(float));
    blas_sgemm(B, U, H, 1.0f, hd, H, 1, w, 1, H, 0.0f, ref, U, 1);
    for (int r = 0; r < B; r++)
        activation_forward_row(ref + (size_t)r * U, b, ACT_IDENTITY, U);
    kernels_naive.decoder_forward(nv, hd, w, b, ACT_IDENTITY, B, U, H);
    const int saved = omp_get_max_threads();
    for (int threads = 1; threads <= 3; threads++) {
        omp_set_num_threads(threads);
        memset(y, 0xff, (size_t)B * U * sizeof(float));
        kernels_dense.decoder_forward(y, hd, w, b, ACT_IDENTITY, B, U, H);
        CHECK_MSG(memcmp(y, ref, (size_t)B * U * sizeof(float)) == 0,
                  "B=%d U=%d H=%d, %d threads", B, U, H, threads);
    }
    omp_set_num_threads(saved);
    CHECK(test_scaled_diff(y, nv, (size_t)B * U) < 1e-5);
    /* stored by columns: the same bits, transposed */
    float *yt = malloc((size_t)B * U * sizeof(float));
    kernels_dense_decoder_forward_cols(yt, hd, w, b, ACT_IDENTITY, B, U, H);
    int same = 1;
    for (int r = 0; r < B; r++)
        for (int u = 0; u < U; u++)
            same &= memcmp(&yt[(size_t)u * B + r], &ref[(size_t)r * U + u], sizeof(float)) == 0;
    CHECK_MSG(same, "by columns: B=%d U=%d H=%d", B, U, H);
    /* another activation: within rounding of decoder_forward */
    kernels_dense.decoder_forward(y, hd, w, b, ACT_SIGMOID, B, U, H);
    kernels_dense_decoder_forward_cols(yt, hd, w, b, ACT_SIGMOID, B, U, H);
    double worst = 0;
    for (int r = 0; r < B; r++)
        for (int u = 0; u < U; u++) {
            double d = fabs(yt[(size_t)u * B + r] - y[(size_t)r * U + u]);
            if (d > worst) worst = d;
        }
    CHECK_MSG(worst < 1e-6, "sigmoid by columns: %g", worst);
    free(yt);
    free(hd); free(w); free(b); free(ref); free(nv); free(y);
}

static void test_dense_decoder_tiles_exact(void) {
    decoder_tiles_on(37, 5000, 67);   /* several 2048-wide tiles, ragged */
    decoder_tiles_on(256, 943, 500);  /* ML-100K: one tile per thread */
    decoder_tiles_on(5, 3, 2);
}

void suite_kernels(void) {
    RUN(test_dense_decoder_tiles_exact);
    RUN(test_dense_equals_naive_small);
    RUN(test_dense_equals_naive_ragged);
    RUN(test_dense_equals_naive_dropout);
    RUN(test_dense_equals_naive_reference_shape);
    RUN(test_dense_equals_naive_activations);
    RUN(test_activation_pairs);
    RUN(test_dropout_mask);
}

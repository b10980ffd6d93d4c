/* test_startup.c - the start-up path made faster gives the same numbers:
 * model_init drawn in parallel equals the sequential draw bit for bit,
 * rng_skip equals as many rng_next calls, csr_from_ratings sorts each row
 * as the former insertion sort did. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "csr.h"
#include "err.h"
#include "mem.h"
#include "model.h"
#include "rng.h"
#include "test.h"

/* The former model_init, one rng_normal call after another: the reference
 * the parallel draw must equal. */
static void init_sequential(Model *model, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed, 0x1417);
    const ModelTensors *p = &model->params;
    for (int l = 0; l < model->num_layers; l++) {
        const size_t in = (size_t)model->width[l], out = (size_t)model->width[l + 1];
        const int tr = l == 0 && model->enc_transposed;
        for (size_t i = 0; i < in * out; i++) {
            size_t at = tr ? (i % in) * out + i / in : i;
            p->w[l][at] = (float)(0.01 * rng_normal(&rng));
        }
        double bound = 1.0 / sqrt((double)in);
        for (size_t i = 0; i < out; i++)
            p->b[l][i] = (float)(bound * (2.0 * rng_uniform(&rng) - 1.0));
    }
    memset(model->mem + model->num_params, 0, 3 * model->num_params * sizeof(float));
    model->step = 0;
}

static void test_rng_skip_equals_next_calls(void) {
    Rng a, b;
    rng_seed(&a, 11, 3);
    b = a;
    for (int i = 0; i < 1000; i++) (void)rng_next(&a);
    rng_skip(&b, 1000);
    CHECK(rng_next(&a) == rng_next(&b));
    rng_skip(&b, 0);
    CHECK(rng_next(&a) == rng_next(&b));
}

/* Odd and even weight counts (a spare carried over the biases into the
 * next layer), a deep stack, both encoder layouts, 1 to 3 threads, and
 * moments that were not zero before: every float equal. */
static void test_parallel_init_equals_sequential(void) {
    static const int shapes[][5] = {
        {2, 7, 3, 7, 0}, {2, 5, 1, 5, 0}, {2, 1, 1, 1, 0}, {2, 33, 17, 33, 0},
        {4, 9, 5, 3, 7}, {3, 13, 11, 7, 13}};
    const int saved = omp_get_max_threads();
    char err[ERR_MAX];
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int L = shapes[s][0];
        int width[5];
        for (int l = 0; l < L; l++) width[l] = shapes[s][1 + l];
        width[L] = width[0];
        for (int tr = 0; tr <= 1; tr++)
            for (int threads = 1; threads <= 3; threads++) {
                Model a, b;
                CHECK(model_create_layers(&a, L, width, 1u << 30, err) == 0);
                CHECK(model_create_layers(&b, L, width, 1u << 30, err) == 0);
                for (size_t i = 0; i < 4 * a.num_params; i++) a.mem[i] = b.mem[i] = 7.0f;
                a.enc_transposed = b.enc_transposed = tr;
                omp_set_num_threads(threads);
                model_init(&a, 5 + s);
                init_sequential(&b, 5 + s);
                CHECK_MSG(memcmp(a.mem, b.mem, 4 * a.num_params * sizeof(float)) == 0,
                          "shape %zu, transposed %d, %d threads", s, tr, threads);
                CHECK(a.step == 0);
                model_free(&a);
                model_free(&b);
            }
    }
    omp_set_num_threads(saved);
}

/* A fresh model is zeroed whatever the thread count. */
static void test_create_zeroes(void) {
    Model m;
    char err[ERR_MAX];
    const int saved = omp_get_max_threads();
    omp_set_num_threads(2);
    CHECK(model_create(&m, 700, 400, 1u << 30, err) == 0);   /* > 1 MiB: chunks */
    size_t nonzero = 0;
    for (size_t i = 0; i < 4 * m.num_params; i++) nonzero += m.mem[i] != 0.0f;
    CHECK(nonzero == 0);
    model_free(&m);
    omp_set_num_threads(saved);
}

/* csr_from_ratings against the former build (every row sorted by
 * insertion, stable): random order, rows short and long (above the key
 * sort's threshold), duplicate columns in one row kept in input order,
 * empty rows, a row already sorted. */
static void test_csr_rows_sorted_as_before(void) {
    enum { ROWS = 9, COLS = 300, N = 2500 };
    Rating *r = mem_alloc(N * sizeof *r);
    CHECK(r != NULL);
    if (!r) return;
    Rng rng;
    rng_seed(&rng, 4, 0);
    for (int i = 0; i < N; i++) {
        int row = (int)rng_below(&rng, 100);
        row = row < 60 ? 0 : row < 80 ? 1 : row < 90 ? 3 : 4 + (int)rng_below(&rng, 4);
        r[i].item = row;
        r[i].user = row == 7 ? i % COLS : (int32_t)rng_below(&rng, row == 3 ? 5 : COLS);
        r[i].rating = (float)(i + 1);   /* tells equal columns apart */
    }
    Csr got, want;
    char err[ERR_MAX];
    CHECK(csr_from_ratings(&got, r, N, ROWS, COLS, err) == 0);
    /* the reference: rows filled in input order, then insertion-sorted */
    CHECK(csr_from_ratings(&want, r, 0, ROWS, COLS, err) == 0);
    csr_free(&want);
    int64_t *ptr = mem_calloc(ROWS + 1, sizeof *ptr), *fill = mem_alloc(ROWS * sizeof *fill);
    int32_t *col = mem_alloc(N * sizeof *col);
    float *val = mem_alloc(N * sizeof *val);
    CHECK(ptr && fill && col && val);
    if (ptr && fill && col && val) {
        for (int i = 0; i < N; i++) ptr[r[i].item + 1]++;
        for (int i = 0; i < ROWS; i++) ptr[i + 1] += ptr[i];
        memcpy(fill, ptr, ROWS * sizeof *fill);
        for (int i = 0; i < N; i++) {
            col[fill[r[i].item]] = r[i].user;
            val[fill[r[i].item]++] = r[i].rating;
        }
        for (int i = 0; i < ROWS; i++)
            for (int64_t p = ptr[i] + 1; p < ptr[i + 1]; p++) {
                int32_t c = col[p];
                float v = val[p];
                int64_t q = p - 1;
                for (; q >= ptr[i] && col[q] > c; q--) {
                    col[q + 1] = col[q];
                    val[q + 1] = val[q];
                }
                col[q + 1] = c;
                val[q + 1] = v;
            }
        CHECK(memcmp(got.ptr, ptr, (ROWS + 1) * sizeof *ptr) == 0);
        CHECK(memcmp(got.col, col, N * sizeof *col) == 0);
        CHECK(memcmp(got.val, val, N * sizeof *val) == 0);
        CHECK(ptr[1] - ptr[0] > 1000 && ptr[3] == ptr[2]);   /* long and empty rows */
    }
    mem_free(ptr);
    mem_free(fill);
    mem_free(col);
    mem_free(val);
    csr_free(&got);
    mem_free(r);
}

void suite_startup(void) {
    RUN(test_rng_skip_equals_next_calls);
    RUN(test_parallel_init_equals_sequential);
    RUN(test_create_zeroes);
    RUN(test_csr_rows_sorted_as_before);
}

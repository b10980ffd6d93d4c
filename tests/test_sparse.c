/* test_sparse.c - the sparse kernels equal the naive dense reference. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "csr.h"
#include "err.h"
#include "kernels_sparse.h"
#include "kernels_sparse_tile.h"
#include "kernels_sparse_um.h"
#include "mem.h"
#include "test.h"

/* A batch of B rows (items 3r+1 of an I x U matrix of density `dens`), run
 * through every sparse kernel and through the naive dense kernels on the
 * densified rows; compares every output. */
static void compare_sparse_act(int I, int U, int H, int B, float dens, float p,
                               Activation ae, Activation ad) {
    unsigned s = (unsigned)(I * 7 + U * 13 + H);
    size_t iu = (size_t)I * U, uh = (size_t)U * H, bh = (size_t)B * H, bu = (size_t)B * U;
    float *dense = calloc(iu, sizeof(float));
    for (size_t i = 0; i < iu; i++) if (test_urand(&s) < dens) dense[i] = 1 + (float)(int)(5 * test_urand(&s));
    Csr m;
    char err[ERR_MAX];
    CHECK(csr_from_dense(&m, dense, I, U, err) == 0);
    float *we = malloc(uh * 4), *wet = malloc(uh * 4), *wd = malloc(uh * 4);
    float *be = malloc(H * 4), *bd = malloc(U * 4);
    for (size_t i = 0; i < uh; i++) { we[i] = 0.6f * (test_urand(&s) - 0.5f); wd[i] = 0.6f * (test_urand(&s) - 0.5f); }
    for (int k = 0; k < H; k++) for (int u = 0; u < U; u++) wet[(size_t)u * H + k] = we[(size_t)k * U + u];
    for (int k = 0; k < H; k++) be[k] = test_urand(&s) - 0.5f;
    for (int u = 0; u < U; u++) bd[u] = test_urand(&s) - 0.5f;
    int32_t *rows = malloc(B * sizeof *rows);
    for (int r = 0; r < B; r++) rows[r] = (3 * r + 1) % I;
    Dropout drop = {p, 5, 2, rows};

    /* naive dense reference */
    float *x = malloc(bu * 4), *h0 = malloc(bh * 4), *hd0 = malloc(bh * 4), *dy0 = malloc(bu * 4);
    float *dhd0 = malloc(bh * 4), *gwe0 = calloc(uh, 4), *gbe0 = calloc(H, 4);
    float *gwd0 = calloc(uh, 4), *gbd0 = calloc(U, 4);
    double *loss0 = malloc(B * 8), *loss1 = malloc(B * 8);
    for (int r = 0; r < B; r++) memcpy(x + (size_t)r * U, dense + (size_t)rows[r] * U, U * 4);
    kernels_naive.encoder_forward(h0, hd0, x, we, be, ae, &drop, B, U, H);
    kernels_naive.decoder_mse_forward(dy0, loss0, hd0, wd, bd, ad, x, B, U, H);
    kernels_naive.decoder_backward(dhd0, gwd0, gbd0, dy0, hd0, wd, B, U, H);
    kernels_naive.encoder_backward(gwe0, gbe0, dhd0, h0, hd0, x, ae, &drop, B, U, H);

    /* sparse */
    SparseBatch sb;
    CHECK(sparse_batch_create(&sb, &m, B, err) == 0);
    sparse_batch_build(&sb, &m, rows, B);
    float *h1 = malloc(bh * 4), *hd1 = malloc(bh * 4), *dy1 = malloc((size_t)sb.max_nnz * 4);
    float *dhd1 = malloc(bh * 4), *gwet = calloc(uh, 4), *gbe1 = calloc(H, 4);
    float *gwd1 = calloc(uh, 4), *gbd1 = calloc(U, 4), *gwe1 = malloc(uh * 4);
    sparse_encoder_forward(h1, hd1, &sb, wet, be, ae, &drop, H);
    sparse_decoder_mse_forward(dy1, loss1, hd1, wd, bd, ad, &sb, H);
    sparse_decoder_backward(dhd1, gwd1, gbd1, dy1, hd1, wd, &sb, H);
    sparse_encoder_backward(gwet, gbe1, dhd1, h1, hd1, &sb, ae, &drop, H);
    for (int k = 0; k < H; k++) for (int u = 0; u < U; u++) gwe1[(size_t)k * U + u] = gwet[(size_t)u * H + k];

    /* the loss gradient per entry equals the dense one at that position */
    float *dy1d = calloc(bu, 4);
    for (int r = 0; r < B; r++)
        for (int64_t e = sb.off[r]; e < sb.off[r + 1]; e++) dy1d[(size_t)r * U + sb.col[e]] = dy1[e];
    const double tol = 1e-5;
    CHECK_MSG(test_scaled_diff(h1, h0, bh) < tol, "h I=%d U=%d H=%d B=%d %s/%s", I, U, H,
              B, activation_name(ae), activation_name(ad));
    CHECK_MSG(test_scaled_diff(hd1, hd0, bh) < tol, "hd");
    CHECK_MSG(test_scaled_diff(dy1d, dy0, bu) < tol, "dy");
    CHECK_MSG(test_scaled_diff(dhd1, dhd0, bh) < tol, "dz");
    CHECK_MSG(test_scaled_diff(gwd1, gwd0, uh) < tol, "dWd");
    CHECK_MSG(test_scaled_diff(gbd1, gbd0, U) < tol, "dbd");
    CHECK_MSG(test_scaled_diff(gwe1, gwe0, uh) < tol, "dWe");
    CHECK_MSG(test_scaled_diff(gbe1, gbe0, H) < tol, "dbe");
    for (int r = 0; r < B; r++) CHECK_CLOSE(loss1[r], loss0[r], 1e-5, 1e-6);

    sparse_batch_free(&sb);
    csr_free(&m);
    free(dense); free(we); free(wet); free(wd); free(be); free(bd); free(rows);
    free(x); free(h0); free(hd0); free(dy0); free(dhd0); free(gwe0); free(gbe0);
    free(gwd0); free(gbd0); free(loss0); free(loss1); free(h1); free(hd1); free(dy1);
    free(dhd1); free(gwet); free(gbe1); free(gwd1); free(gbd1); free(gwe1); free(dy1d);
}

static void compare_sparse(int I, int U, int H, int B, float dens, float p) {
    compare_sparse_act(I, U, H, B, dens, p, ACT_SIGMOID, ACT_IDENTITY);
}

/* Every activation as the encoder's and as the decoder's. */
static void test_sparse_equals_naive_activations(void) {
    for (int a = 0; a < ACT_COUNT; a++) {
        compare_sparse_act(200, 150, 130, 64, 0.05f, 0.3f, (Activation)a, ACT_IDENTITY);
        compare_sparse_act(120, 97, 67, 33, 0.08f, 0.0f, ACT_SIGMOID, (Activation)a);
    }
}

static void test_sparse_equals_naive_small(void) { compare_sparse(9, 7, 3, 4, 0.4f, 0.0f); }
static void test_sparse_equals_naive_ragged(void) { compare_sparse(120, 97, 67, 33, 0.08f, 0.0f); }
static void test_sparse_equals_naive_dropout(void) { compare_sparse(200, 150, 130, 64, 0.05f, 0.3f); }

/* The batch transpose lists every entry once, grouped by user, each group in
 * batch-row order; the scratch map is reset for the next build. */
static void test_sparse_batch_transpose(void) {
    const float d[4 * 5] = {1, 0, 2, 0, 0,
                            0, 3, 4, 0, 0,
                            5, 0, 0, 0, 1,
                            0, 0, 2, 2, 0};
    Csr m;
    SparseBatch b;
    char err[ERR_MAX];
    CHECK(csr_from_dense(&m, d, 4, 5, err) == 0);
    CHECK(m.nnz == 8 && m.ptr[4] == 8);
    CHECK(sparse_batch_create(&b, &m, 3, err) == 0);
    CHECK(b.max_nnz == 6);  /* the three longest rows: 2 + 2 + 2 */
    int32_t rows[3] = {3, 0, 1};
    sparse_batch_build(&b, &m, rows, 3);
    CHECK(b.nnz == 6 && b.off[1] == 2 && b.off[3] == 6);
    CHECK(b.nusers == 4);  /* users 0, 1, 2, 3 in ascending order */
    CHECK(b.users[0] == 0 && b.users[1] == 1 && b.users[2] == 2 && b.users[3] == 3);
    /* user 2 appears in batch rows 0 (item 3), 1 (item 0), 2 (item 1) */
    CHECK(b.uoff[3] - b.uoff[2] == 3);
    CHECK(b.urow[2] == 0 && b.urow[3] == 1 && b.urow[4] == 2);
    CHECK(b.val[b.uent[2]] == 2 && b.val[b.uent[3]] == 2 && b.val[b.uent[4]] == 4);
    CHECK(b.uval[2] == 2 && b.uval[3] == 2 && b.uval[4] == 4);
    CHECK(b.uoff[4] == 6);
    int reset = 1;
    for (int u = 0; u < 5; u++) reset &= b.slot[u] == -1;
    CHECK(reset);
    rows[0] = 2;
    sparse_batch_build(&b, &m, rows, 1);
    CHECK(b.nusers == 2 && b.users[0] == 0 && b.users[1] == 4);
    sparse_batch_free(&b);
    sparse_batch_free(&b);
    csr_free(&m);
}

/* Many users, few in the batch: the sorted (qsort) path of the build also
 * lists them ascending, each group in batch-row order. */
static void test_sparse_batch_users_sorted(void) {
    const int I = 30, U = 4000;
    float *d = calloc((size_t)I * U, sizeof(float));
    unsigned s = 3;
    for (int i = 0; i < I; i++)
        for (int k = 0; k < 5; k++) d[(size_t)i * U + (int)(test_urand(&s) * U)] = 1 + (float)k;
    Csr m;
    SparseBatch b;
    char err[ERR_MAX];
    CHECK(csr_from_dense(&m, d, I, U, err) == 0);
    CHECK(sparse_batch_create(&b, &m, 8, err) == 0);
    int32_t rows[8] = {29, 3, 17, 0, 8, 21, 5, 11};
    sparse_batch_build(&b, &m, rows, 8);
    CHECK(b.nusers > 1 && (int64_t)b.nusers * 32 < U);
    int sorted = 1, grouped = 1;
    for (int i = 1; i < b.nusers; i++) sorted &= b.users[i - 1] < b.users[i];
    for (int i = 0; i < b.nusers; i++)
        for (int64_t q = b.uoff[i]; q < b.uoff[i + 1]; q++) {
            grouped &= b.col[b.uent[q]] == b.users[i] && b.uval[q] == b.val[b.uent[q]] &&
                       b.erank[b.uent[q]] == i;
            if (q > b.uoff[i]) grouped &= b.urow[q - 1] < b.urow[q];
        }
    CHECK(sorted && grouped && b.uoff[b.nusers] == b.nnz);
    sparse_batch_free(&b);
    csr_free(&m);
    free(d);
}

/* Returns 1 when batches a and b hold the same arrays, byte for byte. */
static int batches_equal(const SparseBatch *a, const SparseBatch *b) {
    const size_t n = (size_t)a->nnz, nu = (size_t)a->nusers;
    return a->B == b->B && a->nnz == b->nnz && a->nusers == b->nusers &&
           !memcmp(a->off, b->off, ((size_t)a->B + 1) * sizeof *a->off) &&
           !memcmp(a->col, b->col, n * sizeof *a->col) &&
           !memcmp(a->val, b->val, n * sizeof *a->val) &&
           !memcmp(a->users, b->users, nu * sizeof *a->users) &&
           !memcmp(a->uoff, b->uoff, (nu + 1) * sizeof *a->uoff) &&
           !memcmp(a->uent, b->uent, n * sizeof *a->uent) &&
           !memcmp(a->urow, b->urow, n * sizeof *a->urow) &&
           !memcmp(a->uval, b->uval, n * sizeof *a->uval) &&
           !memcmp(a->erank, b->erank, n * sizeof *a->erank);
}

/* The parallel batch build gives the serial one's arrays (memcmp) on 1, 2
 * and 3 threads over random problems: ragged and empty rows, rows of one
 * user, users in one part only, a batch with one user, an empty batch; the
 * scratch map is left reset. */
static void test_sparse_batch_build_parallel(void) {
    const int cases[][4] = {  /* I, U, B, density in thousandths */
        {300, 500, 64, 30}, {200, 7, 50, 400}, {120, 3000, 33, 5},
        {90, 2, 90, 500}, {40, 1, 40, 300}, {64, 5000, 64, 1},
    };
    unsigned s = 77;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int I = cases[c][0], U = cases[c][1], B = cases[c][2];
        const float dens = (float)cases[c][3] / 1000.0f;
        float *d = calloc((size_t)I * U, sizeof(float));
        CHECK(d != NULL);
        if (!d) return;
        for (int i = 0; i < I; i++) {
            const int kind = i % 5;  /* 0: empty, 1: low users only */
            for (int u = 0; u < U; u++) {
                if (kind == 0 || (kind == 1 && u > U / 4)) continue;
                if (test_urand(&s) < dens) d[(size_t)i * U + u] = 1 + (float)(int)(5 * test_urand(&s));
            }
        }
        Csr m;
        SparseBatch ser, par;
        char err[ERR_MAX];
        CHECK(csr_from_dense(&m, d, I, U, err) == 0);
        CHECK(sparse_batch_create(&ser, &m, B, err) == 0);
        CHECK(sparse_batch_create(&par, &m, B, err) == 0);
        int32_t *rows = malloc((size_t)B * sizeof *rows);
        CHECK(rows != NULL);
        for (int trial = 0; rows && trial < 6; trial++) {
            const int n = trial == 5 ? 0 : trial == 4 ? 1 : B - trial * (B / 5);
            int32_t *perm = malloc((size_t)I * sizeof *perm);  /* distinct rows */
            CHECK(perm != NULL);
            if (!perm) break;
            for (int i = 0; i < I; i++) perm[i] = i;
            for (int i = I - 1; i > 0; i--) {
                int k = (int)(test_urand(&s) * (float)(i + 1)) % (i + 1);
                int32_t tmp = perm[i]; perm[i] = perm[k]; perm[k] = tmp;
            }
            memcpy(rows, perm, (size_t)n * sizeof *rows);
            free(perm);
            if (trial == 3 && n > 0) {   /* row 0 (empty) first */
                int k = 0;
                while (k < n && rows[k] != 0) k++;
                if (k < n) rows[k] = rows[0];
                rows[0] = 0;
            }
            sparse_batch_build_threads(&ser, &m, rows, n, 1);
            for (int threads = 1; threads <= 3; threads++) {
                omp_set_num_threads(threads);
                sparse_batch_build_threads(&par, &m, rows, n, threads);
                CHECK_MSG(batches_equal(&ser, &par), "case %zu trial %d threads %d",
                          c, trial, threads);
                sparse_batch_build(&par, &m, rows, n);
                CHECK_MSG(batches_equal(&ser, &par), "auto: case %zu trial %d", c, trial);
            }
            omp_set_num_threads(ser.cursor_slices);
        }
        /* a batch whose every entry is one user's */
        for (int i = 0; i < I; i++) {
            memset(d + (size_t)i * U, 0, (size_t)U * sizeof(float));
            if (i % 2) d[(size_t)i * U + U / 2] = 3.0f;
        }
        Csr one;
        CHECK(csr_from_dense(&one, d, I, U, err) == 0);
        SparseBatch s1, p1;
        CHECK(sparse_batch_create(&s1, &one, B, err) == 0);
        CHECK(sparse_batch_create(&p1, &one, B, err) == 0);
        for (int r = 0; rows && r < B; r++) rows[r] = (int32_t)((r * 7) % I);
        sparse_batch_build_threads(&s1, &one, rows, B, 1);
        sparse_batch_build_threads(&p1, &one, rows, B, 2);
        CHECK(s1.nusers == 1 && batches_equal(&s1, &p1));
        int reset = 1;
        for (int u = 0; u < U; u++) reset &= par.slot[u] == -1 && p1.slot[u] == -1;
        CHECK(reset);
        sparse_batch_free(&s1);
        sparse_batch_free(&p1);
        csr_free(&one);
        sparse_batch_free(&ser);
        sparse_batch_free(&par);
        csr_free(&m);
        free(rows);
        free(d);
    }
}

/* Fills a random problem from the state s: dense (iu cells, a rating 1..5
 * with probability dens), the weights wt and wd, Adam's moments mo and vo
 * (uh floats each) and the encoder bias be (H floats); the caller owns all. */
static void fill_problem(unsigned *s, float *dense, size_t iu, float dens,
                         float *wt, float *wd, float *mo, float *vo, size_t uh,
                         float *be, int H) {
    for (size_t i = 0; i < iu; i++) if (test_urand(s) < dens) dense[i] = 1 + (float)(int)(5 * test_urand(s));
    for (size_t i = 0; i < uh; i++) {
        wt[i] = 0.6f * (test_urand(s) - 0.5f);
        wd[i] = 0.6f * (test_urand(s) - 0.5f);
        mo[i] = 0.01f * (test_urand(s) - 0.5f);
        vo[i] = 1e-4f * test_urand(s);
    }
    for (int k = 0; k < H; k++) be[k] = test_urand(s) - 0.5f;
}

/* The user-major kernels (kernels_sparse_um.h) give the row-major kernels'
 * outputs bit for bit, with 1 and 2 threads; the fused encoder backward
 * leaves wt, m, v where the row-major gradient followed by Adam puts them. */
static void compare_um(int I, int U, int H, int B, float dens, float p,
                       Activation ae, Activation ad, int threads) {
    unsigned s = (unsigned)(I * 11 + U * 5 + H + threads);
    size_t iu = (size_t)I * U, uh = (size_t)U * H, bh = (size_t)B * H;
    float *dense = calloc(iu, sizeof(float));
    float *wt = malloc(uh * 4), *wd = malloc(uh * 4), *be = malloc(H * 4), *bd = malloc(U * 4);
    float *mo = malloc(uh * 4), *vo = malloc(uh * 4);
    CHECK(dense && wt && wd && be && bd && mo && vo);
    if (!dense || !wt || !wd || !be || !bd || !mo || !vo) return;
    /* the dense ratings are drawn before the weights, as they were */
    fill_problem(&s, dense, iu, dens, wt, wd, mo, vo, uh, be, H);
    for (int u = 0; u < U; u++) bd[u] = test_urand(&s) - 0.5f;
    Csr m;
    char err[ERR_MAX];
    CHECK(csr_from_dense(&m, dense, I, U, err) == 0);
    int32_t *rows = malloc(B * sizeof *rows);
    CHECK(rows);
    if (!rows) return;
    for (int r = 0; r < B; r++) rows[r] = (5 * r + 2) % I;
    Dropout drop = {p, 9, 4, rows};
    SparseBatch sb;
    CHECK(sparse_batch_create(&sb, &m, B, err) == 0);
    sparse_batch_build(&sb, &m, rows, B);
    const size_t nz = (size_t)sb.max_nnz;
    float *o[2][7];   /* h, hd, dy, dhd, dwd, dbd, dbe */
    size_t len[7] = {bh, bh, nz, bh, uh, (size_t)U, (size_t)H};
    for (int v = 0; v < 2; v++)
        for (int a = 0; a < 7; a++) o[v][a] = calloc(len[a], 4);
    double *loss0 = malloc(B * 8), *loss1 = malloc(B * 8);
    float *sq = malloc(nz * 4), *dwe = calloc(uh, 4), *scratch = malloc((size_t)threads * H * 4);
    float *wt1 = malloc(uh * 4), *m1 = malloc(uh * 4), *v1 = malloc(uh * 4);
    float *dhd_pre = malloc(bh * 4);
    int ok = loss0 && loss1 && sq && dwe && scratch && wt1 && m1 && v1 && dhd_pre;
    for (int v = 0; v < 2; v++)
        for (int a = 0; a < 7; a++) ok &= o[v][a] != NULL;
    CHECK(ok);
    if (!ok) return;   /* a failed test: what was allocated leaks */
    memcpy(wt1, wt, uh * 4); memcpy(m1, mo, uh * 4); memcpy(v1, vo, uh * 4);
    omp_set_num_threads(threads);
    /* row-major reference, then Adam on the batch users' encoder rows */
    sparse_encoder_forward(o[0][0], o[0][1], &sb, wt, be, ae, &drop, H);
    sparse_decoder_mse_forward(o[0][2], loss0, o[0][1], wd, bd, ad, &sb, H);
    sparse_decoder_backward(o[0][3], o[0][4], o[0][5], o[0][2], o[0][1], wd, &sb, H);
    /* the row-by-row register-tiled kernels of small matrices */
    float *rows_h = malloc(bh * 4), *rows_hd = malloc(bh * 4), *rows_dhd = malloc(bh * 4);
    CHECK(rows_h && rows_hd && rows_dhd);
    if (rows_h && rows_hd && rows_dhd) {
        sparse_encoder_forward_rows(rows_h, rows_hd, &sb, wt, be, ae, &drop, H);
        sparse_decoder_dhd_rows(rows_dhd, o[0][2], wd, &sb, H);
        CHECK_MSG(memcmp(rows_h, o[0][0], bh * 4) == 0 && memcmp(rows_hd, o[0][1], bh * 4) == 0,
                  "row-tiled encoder forward differs: I=%d U=%d H=%d B=%d p=%g %s, %d threads",
                  I, U, H, B, p, activation_name(ae), threads);
        CHECK_MSG(memcmp(rows_dhd, o[0][3], bh * 4) == 0, "row-tiled dhd differs: I=%d U=%d "
                  "H=%d B=%d, %d threads", I, U, H, B, threads);
    }
    free(rows_h);
    free(rows_hd);
    free(rows_dhd);
    sparse_encoder_backward(dwe, o[0][6], o[0][3], o[0][0], o[0][1], &sb, ae, &drop, H);
    AdamStep st;
    adam_step_scalars(&st, 0.01, 0.9f, 0.999f, 1e-8f, 1e-3f, 3);
    for (int i = 0; i < sb.nusers; i++) {
        size_t at = (size_t)sb.users[i] * H;
        adam_span(wt + at, dwe + at, mo + at, vo + at, H, &st);
    }
    /* user-major */
    sparse_encoder_forward_um(o[1][0], o[1][1], &sb, wt1, be, ae, &drop, H);
    sparse_decoder_fused(o[1][2], loss1, sq, o[1][4], o[1][5], o[1][1], wd, bd, ad, &sb, H);
    sparse_decoder_dhd(o[1][3], o[1][2], wd, &sb, H);
    memcpy(dhd_pre, o[1][3], bh * 4);
    sparse_encoder_backward_adam(wt1, m1, v1, o[1][6], o[1][3], o[1][0], o[1][1], &sb, ae,
                                 &drop, &st, NULL, scratch, threads, H);
    omp_set_num_threads(omp_get_num_procs());
    const char *name[7] = {"h", "hd", "dy", "dz", "dWd", "dbd", "dbe"};
    for (int a = 0; a < 7; a++) {
        size_t n = a == 2 ? (size_t)sb.nnz : len[a];
        CHECK_MSG(memcmp(o[0][a], o[1][a], n * 4) == 0, "%s differs: I=%d U=%d H=%d B=%d "
                  "p=%g %s/%s, %d threads", name[a], I, U, H, B, p, activation_name(ae),
                  activation_name(ad), threads);
    }
    CHECK_MSG(memcmp(loss0, loss1, B * 8) == 0, "row losses differ");
    /* the decoder's Adam-fused backward: dhd, then w, m, v of the batch
     * users' rows as Adam with the row-major gradient leaves them */
    float *w2 = malloc(uh * 4), *m2 = calloc(uh, 4), *v2 = calloc(uh, 4);
    float *m3 = calloc(uh, 4), *v3 = calloc(uh, 4), *dhd2 = malloc(bh * 4), *dy2 = malloc(nz * 4);
    CHECK(w2 && m2 && v2 && m3 && v3 && dhd2 && dy2);
    if (!w2 || !m2 || !v2 || !m3 || !v3 || !dhd2 || !dy2) return;
    memcpy(w2, wd, uh * 4);
    omp_set_num_threads(threads);
    sparse_decoder_fused(dy2, loss1, sq, NULL, o[1][5], o[1][1], wd, bd, ad, &sb, H);
    sparse_decoder_backward_adam(dhd2, w2, m2, v2, dy2, o[1][1], &sb, &st, NULL, scratch,
                                 threads, H);
    omp_set_num_threads(omp_get_num_procs());
    for (int i = 0; i < sb.nusers; i++) {
        size_t at = (size_t)sb.users[i] * H;
        adam_span(wd + at, o[0][4] + at, m3 + at, v3 + at, H, &st);
    }
    CHECK_MSG(memcmp(dy2, o[0][2], (size_t)sb.nnz * 4) == 0, "dy (no dw) differs");
    CHECK_MSG(memcmp(dhd2, dhd_pre, bh * 4) == 0, "dhd of the Adam-fused backward differs");
    CHECK_MSG(memcmp(w2, wd, uh * 4) == 0 && memcmp(m2, m3, uh * 4) == 0 &&
              memcmp(v2, v3, uh * 4) == 0, "fused decoder Adam differs (%d threads)", threads);
    free(w2); free(m2); free(v2); free(m3); free(v3); free(dhd2); free(dy2); free(dhd_pre);
    CHECK_MSG(memcmp(wt, wt1, uh * 4) == 0 && memcmp(mo, m1, uh * 4) == 0 &&
              memcmp(vo, v1, uh * 4) == 0, "fused encoder Adam differs");
    int zeroed = 1;
    for (int i = 0; i < threads * H; i++) zeroed &= scratch[i] == 0.0f;
    CHECK_MSG(zeroed, "the gradient scratch is not left zeroed");
    sparse_batch_free(&sb);
    csr_free(&m);
    for (int v = 0; v < 2; v++)
        for (int a = 0; a < 7; a++) free(o[v][a]);
    free(dense); free(wt); free(wd); free(be); free(bd); free(mo); free(vo); free(rows);
    free(loss0); free(loss1); free(sq); free(dwe); free(scratch); free(wt1); free(m1); free(v1);
}

static void test_sparse_um_equals_row_major(void) {
    for (int threads = 1; threads <= 2; threads++) {
        compare_um(9, 7, 3, 4, 0.4f, 0.0f, ACT_SIGMOID, ACT_IDENTITY, threads);
        compare_um(120, 97, 67, 33, 0.08f, 0.0f, ACT_SIGMOID, ACT_IDENTITY, threads);
        compare_um(200, 150, 130, 64, 0.05f, 0.3f, ACT_SIGMOID, ACT_IDENTITY, threads);
        compare_um(300, 900, 500, 48, 0.03f, 0.05f, ACT_SIGMOID, ACT_IDENTITY, threads);
        compare_um(300, 4000, 40, 16, 0.002f, 0.1f, ACT_SIGMOID, ACT_IDENTITY, threads);
        /* many ratings per user: the decoder's dot products four at a time */
        compare_um(300, 40, 130, 64, 0.5f, 0.05f, ACT_SIGMOID, ACT_IDENTITY, threads);
        compare_um(300, 30, 500, 96, 0.7f, 0.0f, ACT_SIGMOID, ACT_IDENTITY, threads);
    }
    for (int a = 0; a < ACT_COUNT; a++) {
        compare_um(200, 150, 130, 64, 0.05f, 0.3f, (Activation)a, ACT_IDENTITY, 2);
        compare_um(120, 97, 67, 33, 0.08f, 0.0f, ACT_SIGMOID, (Activation)a, 2);
    }
}

/* The register-tiled passes (kernels_sparse_tile.h) give the row-major
 * kernels' h, hd, dhd (alone and fused with Adam) and the decoder's
 * Adam-updated w, m, v bit for bit,
 * for block budgets from one user per block to one block, slices with
 * 128-float chunks and ragged tails, 1 and 2 threads, and a batch created
 * with fewer cursor sets (create_threads) than the threads that run; the
 * blocks' rows packed (sparse_tile_pack) or, with unpacked set, read in
 * place.  Returns 1 when the batch's blocks could be packed. */
static int compare_tiled(int I, int U, int H, int B, float dens, float p,
                         long block_bytes, int create_threads, int threads,
                         int unpacked) {
    unsigned s = (unsigned)(I * 3 + U * 17 + H + threads);
    size_t iu = (size_t)I * U, uh = (size_t)U * H, bh = (size_t)B * H;
    float *dense = calloc(iu, 4), *wt = malloc(uh * 4), *wd = malloc(uh * 4);
    float *mo = malloc(uh * 4), *vo = malloc(uh * 4), *be = malloc(H * 4);
    int32_t *rows = malloc(B * sizeof *rows);
    CHECK(dense && wt && wd && mo && vo && be && rows);
    if (!dense || !wt || !wd || !mo || !vo || !be || !rows) return 0;
    fill_problem(&s, dense, iu, dens, wt, wd, mo, vo, uh, be, H);
    for (int r = 0; r < B; r++) rows[r] = (7 * r + 1) % I;
    Csr m;
    char err[ERR_MAX];
    CHECK(csr_from_dense(&m, dense, I, U, err) == 0);
    Dropout drop = {p, 5, 2, rows};
    SparseBatch sb;
    omp_set_num_threads(create_threads);
    CHECK(sparse_batch_create(&sb, &m, B, err) == 0);
    sparse_batch_build(&sb, &m, rows, B);
    if (unpacked) sb.pack_floats = 0;
    const int packs = sparse_tile_pack(&sb, wd, H, 0, 0, 1, 0, 1) != NULL;
    const size_t nz = (size_t)sb.max_nnz;
    float *h[2], *hd[2], *dhd[2], *w2[2], *m2[2], *v2[2];
    for (int i = 0; i < 2; i++) {
        h[i] = malloc(bh * 4); hd[i] = malloc(bh * 4); dhd[i] = malloc(bh * 4);
        w2[i] = malloc(uh * 4); m2[i] = malloc(uh * 4); v2[i] = malloc(uh * 4);
        memcpy(w2[i], wd, uh * 4); memcpy(m2[i], mo, uh * 4); memcpy(v2[i], vo, uh * 4);
    }
    float *dy = malloc(nz * 4), *dw = calloc(uh, 4), *db = calloc(U, 4);
    float *scratch = calloc((size_t)threads * H, 4);
    for (size_t j = 0; j < nz; j++) dy[j] = test_urand(&s) - 0.5f;
    AdamStep st;
    adam_step_scalars(&st, 0.01, 0.9f, 0.999f, 1e-8f, 1e-3f, 2);
    omp_set_num_threads(threads);
    sparse_encoder_forward(h[0], hd[0], &sb, wt, be, ACT_SIGMOID, &drop, H);
    sparse_decoder_backward(dhd[0], dw, db, dy, hd[0], wd, &sb, H);
    for (int i = 0; i < sb.nusers; i++) {
        size_t at = (size_t)sb.users[i] * H;
        adam_span(w2[0] + at, dw + at, m2[0] + at, v2[0] + at, H, &st);
    }
    sparse_encoder_forward_tiled(h[1], hd[1], &sb, wt, be, ACT_SIGMOID, &drop, H, block_bytes);
    sparse_decoder_backward_adam_tiled(dhd[1], w2[1], m2[1], v2[1], dy, hd[0], &sb, &st, NULL,
                                       scratch, threads, H, block_bytes);
    float *dhd3 = malloc(bh * 4);
    sparse_decoder_dhd_tiled(dhd3, dy, wd, &sb, H, block_bytes);
    omp_set_num_threads(omp_get_num_procs());
    CHECK_MSG(memcmp(h[0], h[1], bh * 4) == 0 && memcmp(hd[0], hd[1], bh * 4) == 0,
              "tiled encoder forward differs: U=%d H=%d B=%d block %ld bytes, %d threads, "
              "packed %d", U, H, B, block_bytes, threads, packs);
    CHECK_MSG(memcmp(dhd[0], dhd[1], bh * 4) == 0 && memcmp(dhd[0], dhd3, bh * 4) == 0,
              "tiled dhd differs: U=%d H=%d block %ld, %d threads", U, H, block_bytes, threads);
    free(dhd3);
    CHECK_MSG(memcmp(w2[0], w2[1], uh * 4) == 0 && memcmp(m2[0], m2[1], uh * 4) == 0 &&
              memcmp(v2[0], v2[1], uh * 4) == 0, "tiled decoder Adam differs: U=%d H=%d "
              "block %ld, %d threads", U, H, block_bytes, threads);
    sparse_batch_free(&sb);
    csr_free(&m);
    for (int i = 0; i < 2; i++) {
        free(h[i]); free(hd[i]); free(dhd[i]); free(w2[i]); free(m2[i]); free(v2[i]);
    }
    free(dense); free(wt); free(wd); free(mo); free(vo); free(be); free(rows);
    free(dy); free(dw); free(db); free(scratch);
    return packs;
}

static void test_sparse_tiled_equals_row_major(void) {
    const long budgets[] = {1, 4096, 64L << 10, 1L << 30};
    int packed = 0, in_place = 0;
    for (int threads = 1; threads <= 2; threads++)
        for (int b = 0; b < 4; b++)
            for (int up = 0; up < 2; up++) {
                int k = compare_tiled(300, 900, 500, 48, 0.03f, 0.05f, budgets[b], threads, threads, up);
                k += compare_tiled(200, 150, 130, 64, 0.05f, 0.3f, budgets[b], threads, threads, up);
                k += compare_tiled(120, 97, 300, 33, 0.08f, 0.0f, budgets[b], threads, threads, up);
                k += compare_tiled(9, 7, 3, 4, 0.4f, 0.0f, budgets[b], threads, threads, up);
                k += compare_tiled(60, 50, 500, 40, 0.3f, 0.1f, budgets[b], threads, threads, up);
                packed += k;
                in_place += 5 - k;
            }
    compare_tiled(200, 400, 250, 40, 0.05f, 0.1f, 8192, 1, 2, 0);  /* one cursor set */
    CHECK(packed > 0 && in_place > 0);   /* both paths compared */
}

/* CSR from ratings sorts each row by user and round-trips through dense. */
static void test_csr_from_ratings(void) {
    Rating r[5] = {{3, 1, 4}, {0, 1, 2}, {2, 0, 5}, {1, 1, 1}, {0, 0, 3}};
    Csr m;
    char err[ERR_MAX];
    CHECK(csr_from_ratings(&m, r, 5, 2, 4, err) == 0);
    CHECK(m.ptr[1] == 2 && m.ptr[2] == 5);
    CHECK(m.col[0] == 0 && m.col[1] == 2 && m.col[2] == 0 && m.col[3] == 1 && m.col[4] == 3);
    CHECK(m.val[2] == 2 && m.val[4] == 4);
    float *d = csr_to_dense(&m);
    CHECK(d && d[0 * 4 + 2] == 5 && d[1 * 4 + 3] == 4 && d[1 * 4 + 2] == 0);
    mem_free_aligned(d);
    csr_free(&m);
    csr_free(&m);
}

void suite_sparse(void) {
    RUN(test_sparse_equals_naive_small);
    RUN(test_sparse_equals_naive_ragged);
    RUN(test_sparse_equals_naive_dropout);
    RUN(test_sparse_equals_naive_activations);
    RUN(test_sparse_batch_transpose);
    RUN(test_sparse_batch_users_sorted);
    RUN(test_sparse_batch_build_parallel);
    RUN(test_sparse_um_equals_row_major);
    RUN(test_sparse_tiled_equals_row_major);
    RUN(test_csr_from_ratings);
}

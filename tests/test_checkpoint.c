/* test_checkpoint.c - checkpoint round trips and corruption. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "err.h"
#include "mem.h"
#include "test.h"

static void temp_path(char *out, size_t n) {
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(out, n, "%s/autorec-ckpt-%d-%d.ckpt", dir, (int)getpid(), rand());
}

/* Saved parameters load back bit for bit, in either encoder layout. */
static void test_ckpt_round_trip(void) {
    Model m, back;
    char err[ERR_MAX], path[512];
    temp_path(path, sizeof path);
    CHECK(model_create(&m, 13, 5, 1u << 30, err) == 0);
    m.enc_transposed = 1;
    model_init(&m, 42);
    CHECK(ckpt_save(&m, 7, path, err) == 0);
    int epoch = 0;
    for (int layout = 0; layout < 2; layout++) {
        CHECK_MSG(ckpt_load(&back, layout, &epoch, path, err) == 0, "%s", err);
        CHECK(epoch == 7 && back.num_users == 13 && back.hidden == 5);
        float *a = malloc(m.num_params * 4), *b = malloc(m.num_params * 4);
        model_export(&m, &m.params, a);
        model_export(&back, &back.params, b);
        CHECK(memcmp(a, b, m.num_params * 4) == 0);
        free(a);
        free(b);
        model_free(&back);
    }
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);  /* the temporary was renamed */
    remove(path);
    model_free(&m);
}

/* Truncated, foreign, corrupted and newer files are refused with a clear
 * message. */
static void test_ckpt_corruption_refused(void) {
    Model m, back;
    char err[ERR_MAX] = "", path[512], bad[512];
    temp_path(path, sizeof path);
    temp_path(bad, sizeof bad);
    CHECK(model_create(&m, 9, 4, 1u << 30, err) == 0);
    model_init(&m, 1);
    CHECK(ckpt_save(&m, 3, path, err) == 0);
    FILE *f = fopen(path, "rb");
    static unsigned char data[1 << 16];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    CHECK(n == 32 + m.num_params * 4 + 8);
    struct { const char *what; size_t len; int flip; const char *expect; } cases[] = {
        {"truncated", n - 5, -1, "truncated"},
        {"header only", 32, -1, "truncated"},
        {"empty", 0, -1, "not an autorec checkpoint"},
        {"flipped parameter", n, 40, "checksum"},
        {"foreign", n, 0, "not an autorec checkpoint"},
        {"newer", n, 8, "newer"},
        {"trailing", n + 1, -2, "trailing"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        static unsigned char copy[1 << 16];
        memcpy(copy, data, n);
        copy[n] = 0;
        if (cases[c].flip >= 0) copy[cases[c].flip] ^= cases[c].flip == 8 ? 0x02 : 0x40;
        f = fopen(bad, "wb");
        fwrite(copy, 1, cases[c].len, f);
        fclose(f);
        CHECK_MSG(ckpt_load(&back, 0, NULL, bad, err) == -1, "%s accepted", cases[c].what);
        CHECK_MSG(strstr(err, cases[c].expect) && strstr(err, bad), "%s: %s", cases[c].what, err);
        CHECK(back.mem == NULL);
    }
    CHECK(ckpt_load(&back, 0, NULL, "/nonexistent/x.ckpt", err) == -1);
    CHECK(strstr(err, "cannot open"));
    CHECK(ckpt_save(&m, 1, "/nonexistent/dir/x.ckpt", err) == -1);
    CHECK(strstr(err, "cannot write"));
    remove(path);
    remove(bad);
    model_free(&m);
}

/* Allocation failures while loading are reported, never a crash. */
static void test_ckpt_alloc_failures(void) {
    Model m, back;
    char err[ERR_MAX], path[512];
    temp_path(path, sizeof path);
    CHECK(model_create(&m, 6, 3, 1u << 30, err) == 0);
    model_init(&m, 2);
    CHECK(ckpt_save(&m, 1, path, err) == 0);
    int ok = 0;
    for (long k = 1; k < 20 && !ok; k++) {
        mem_fail_at(k);
        int rc = ckpt_load(&back, 0, NULL, path, err);
        mem_fail_at(0);
        if (rc == 0) { ok = 1; model_free(&back); }
        else CHECK_MSG(strstr(err, "memory"), "k=%ld: %s", k, err);
    }
    CHECK(ok);
    remove(path);
    model_free(&m);
}

void suite_checkpoint(void) {
    RUN(test_ckpt_round_trip);
    RUN(test_ckpt_corruption_refused);
    RUN(test_ckpt_alloc_failures);
}

/* test_checkpoint.c - checkpoint round trips and corruption. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activation.h"
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
    CHECK(ckpt_save(&m, 7, 0, path, err) == 0);
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

/* A deep model with other activations round-trips with its layer widths
 * and activations. */
static void test_ckpt_deep_round_trip(void) {
    Model m, back;
    char err[ERR_MAX], path[512];
    temp_path(path, sizeof path);
    const int width[5] = {11, 6, 4, 7, 11};
    CHECK_MSG(model_create_layers(&m, 4, width, 1u << 30, err) == 0, "%s", err);
    m.enc_transposed = 1;
    m.act_encoder = ACT_ELU;
    m.act_decoder = ACT_TANH;
    model_init(&m, 9);
    CHECK(ckpt_save(&m, 4, 0, path, err) == 0);
    int epoch = 0;
    CHECK_MSG(ckpt_load(&back, 0, &epoch, path, err) == 0, "%s", err);
    CHECK(epoch == 4 && back.num_layers == 4 && back.num_params == m.num_params);
    CHECK(memcmp(back.width, width, sizeof width) == 0 && back.hidden == 6);
    CHECK(back.act_encoder == ACT_ELU && back.act_decoder == ACT_TANH);
    float *a = malloc(m.num_params * 4), *b = malloc(m.num_params * 4);
    model_export(&m, &m.params, a);
    model_export(&back, &back.params, b);
    CHECK(memcmp(a, b, m.num_params * 4) == 0);
    free(a);
    free(b);
    model_free(&back);
    remove(path);
    model_free(&m);
}

static uint64_t test_fnv1a(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* A version 1 file (no layer block) loads as the shallow sigmoid /
 * identity model. */
static void test_ckpt_version1_loads(void) {
    Model m, back;
    char err[ERR_MAX], path[512];
    temp_path(path, sizeof path);
    CHECK(model_create(&m, 8, 3, 1u << 30, err) == 0);
    model_init(&m, 5);
    static unsigned char file[32 + 59 * 4 + 8];
    CHECK(m.num_params == 59);
    memcpy(file, "AUTOREC\x01", 8);
    const uint32_t head[4] = {1, 8, 3, 6};  /* version, users, hidden, epoch */
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 4; b++) file[8 + 4 * i + b] = (unsigned char)(head[i] >> (8 * b));
    for (int b = 0; b < 8; b++) file[24 + b] = (unsigned char)((uint64_t)59 >> (8 * b));
    model_export(&m, &m.params, (float *)(void *)(file + 32));
    uint64_t h = test_fnv1a(0xcbf29ce484222325ULL, file, 32 + 59 * 4);
    for (int b = 0; b < 8; b++) file[32 + 59 * 4 + b] = (unsigned char)(h >> (8 * b));
    FILE *f = fopen(path, "wb");
    fwrite(file, 1, sizeof file, f);
    fclose(f);
    int epoch = 0;
    CHECK_MSG(ckpt_load(&back, 1, &epoch, path, err) == 0, "%s", err);
    CHECK(epoch == 6 && back.num_layers == 2 && back.hidden == 3 && back.num_users == 8);
    CHECK(back.act_encoder == ACT_SIGMOID && back.act_decoder == ACT_IDENTITY);
    float b[59];
    model_export(&back, &back.params, b);
    CHECK(memcmp(b, file + 32, sizeof b) == 0);
    model_free(&back);
    /* but not as a run's checkpoint: nothing says whose it is */
    const uint64_t key = 1;
    CHECK(ckpt_load_run(&back, 1, &key, NULL, path, err) == -1);
    CHECK_MSG(strstr(err, "older autorec") && strstr(err, path), "%s", err);
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
    CHECK(ckpt_save(&m, 3, 0, path, err) == 0);
    FILE *f = fopen(path, "rb");
    static unsigned char data[1 << 16];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    /* version 3, 2 layers, the run identity */
    CHECK(n == 32 + 4 * (3 + 3) + 8 + m.num_params * 4 + 8);
    struct { const char *what; size_t len; int flip; const char *expect; } cases[] = {
        {"truncated", n - 5, -1, "truncated"},
        {"header only", 32, -1, "truncated"},
        {"empty", 0, -1, "not an autorec checkpoint"},
        {"flipped parameter", n, 64, "checksum"},
        {"foreign", n, 0, "not an autorec checkpoint"},
        {"newer", n, 8, "newer"},
        {"bad layer count", n, 32, "corrupt checkpoint header"},
        {"bad activation", n, 36, "corrupt checkpoint header"},
        {"bad width", n, 48, "corrupt checkpoint header"},
        {"trailing", n + 1, -2, "trailing"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        static unsigned char copy[1 << 16];
        memcpy(copy, data, n);
        copy[n] = 0;
        if (cases[c].flip >= 0) copy[cases[c].flip] ^= cases[c].flip == 8 ? 0x04 : 0x40;
        f = fopen(bad, "wb");
        fwrite(copy, 1, cases[c].len, f);
        fclose(f);
        CHECK_MSG(ckpt_load(&back, 0, NULL, bad, err) == -1, "%s accepted", cases[c].what);
        CHECK_MSG(strstr(err, cases[c].expect) && strstr(err, bad), "%s: %s", cases[c].what, err);
        CHECK(back.mem == NULL);
    }
    CHECK(ckpt_load(&back, 0, NULL, "/nonexistent/x.ckpt", err) == -1);
    CHECK(strstr(err, "cannot open"));
    CHECK(ckpt_save(&m, 1, 0, "/nonexistent/dir/x.ckpt", err) == -1);
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
    CHECK(ckpt_save(&m, 1, 0, path, err) == 0);
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

/* A checkpoint records the run that wrote it and loads as that run's only:
 * a run of another database (or another attempt) is refused. */
static void test_ckpt_bound_to_its_run(void) {
    Model m, back;
    char err[ERR_MAX], path[512];
    temp_path(path, sizeof path);
    const uint64_t mine = ckpt_run_key("2026-01-01T10:00:00.123Z", "h", "x: 1");
    const uint64_t other = ckpt_run_key("2026-01-01T10:00:00.124Z", "h", "x: 1");
    CHECK(mine != other);
    CHECK(ckpt_run_key(NULL, "h", "x") == ckpt_run_key("", "h", "x"));
    CHECK(ckpt_run_key("a", "bc", "") != ckpt_run_key("ab", "c", ""));
    CHECK(model_create(&m, 7, 3, 1u << 30, err) == 0);
    model_init(&m, 3);
    CHECK(ckpt_save(&m, 2, mine, path, err) == 0);
    CHECK_MSG(ckpt_load_run(&back, 0, &mine, NULL, path, err) == 0, "%s", err);
    model_free(&back);
    CHECK(ckpt_load_run(&back, 0, &other, NULL, path, err) == -1);
    CHECK_MSG(strstr(err, "belongs to another run") && strstr(err, path), "%s", err);
    CHECK(back.mem == NULL);
    CHECK(ckpt_load(&back, 0, NULL, path, err) == 0);  /* no run asked */
    model_free(&back);
    remove(path);
    model_free(&m);
}

/* Writing never follows a link: not one planted at the old temporary name
 * (path.tmp), nor one at the target itself (it is replaced, not written
 * through); a FIFO is refused as a checkpoint to load. */
static void test_ckpt_write_never_follows_links(void) {
    Model m, back;
    char err[ERR_MAX], path[512], tmp[600], victim[600];
    temp_path(path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(victim, sizeof victim, "%s.victim", path);
    FILE *f = fopen(victim, "w");
    CHECK(f && fputs("precious\n", f) >= 0 && fclose(f) == 0);
    CHECK(symlink(victim, tmp) == 0);
    CHECK(model_create(&m, 5, 2, 1u << 30, err) == 0);
    model_init(&m, 4);
    CHECK_MSG(ckpt_save(&m, 1, 0, path, err) == 0, "%s", err);
    char buf[64] = "";
    f = fopen(victim, "r");
    CHECK(f && fgets(buf, sizeof buf, f) && fclose(f) == 0);
    CHECK_MSG(!strcmp(buf, "precious\n"), "the link at %s was followed", tmp);
    remove(path);
    CHECK(symlink(victim, path) == 0);
    CHECK_MSG(ckpt_save(&m, 1, 0, path, err) == 0, "%s", err);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
    f = fopen(victim, "r");
    CHECK(f && fgets(buf, sizeof buf, f) && fclose(f) == 0);
    CHECK(!strcmp(buf, "precious\n"));
    remove(path);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(ckpt_load(&back, 0, NULL, path, err) == -1);
    CHECK_MSG(strstr(err, "not a regular file"), "%s", err);
    remove(path);
    remove(tmp);
    remove(victim);
    model_free(&m);
}

void suite_checkpoint(void) {
    RUN(test_ckpt_bound_to_its_run);
    RUN(test_ckpt_write_never_follows_links);
    RUN(test_ckpt_round_trip);
    RUN(test_ckpt_corruption_refused);
    RUN(test_ckpt_deep_round_trip);
    RUN(test_ckpt_version1_loads);
    RUN(test_ckpt_alloc_failures);
}

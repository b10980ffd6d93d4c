/* test_data_scan.c - the fast ratings reader (data_scan.c) against the line
 * parser: the same ratings, bit for bit, on the real files and on edge
 * cases, and the same error messages whenever the fast reader gives up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"
#include "err.h"
#include "mem.h"
#include "test.h"

/* Writes len bytes of text to dir/name; returns the path (static buffer)
 * or NULL. */
static const char *put_file(const char *dir, const char *name,
                            const char *text, size_t len) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    size_t w = fwrite(text, 1, len, f);
    if (fclose(f) != 0 || w != len) return NULL;
    return path;
}

/* Reads path with `mode` on `threads` threads; *r and *n as data_read_raw. */
static int read_mode(const char *path, DataFormat f, int mode, int threads,
                     Rating **r, size_t *n, char *err) {
    err[0] = '\0';
    return data_read_raw(path, f, mode, threads, r, n, err);
}

/* Returns 1 when the n ratings of a and b are identical bit for bit. */
static int same(const Rating *a, const Rating *b, size_t n) {
    return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

/* Checks that the reader in `mode` (threads 1..4) agrees with the line
 * parser on path: the same rc, ratings, or error message.  Returns the
 * line parser's rc. */
static int agree(const char *path, DataFormat f, int mode, const char *what) {
    char e1[ERR_MAX], e2[ERR_MAX];
    Rating *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    int ra = read_mode(path, f, DATA_READ_LINES, 1, &a, &na, e1);
    for (int t = 1; t <= 4; t++) {
        int rb = read_mode(path, f, mode, t, &b, &nb, e2);
        CHECK_MSG(rb == ra, "%s (%d threads): rc %d vs line parser %d (%s)",
                  what, t, rb, ra, ra ? e1 : e2);
        if (ra == 0 && rb == 0)
            CHECK_MSG(na == nb && same(a, b, na), "%s (%d threads): ratings "
                      "differ (%zu vs %zu)", what, t, nb, na);
        if (ra != 0 && rb != 0 && mode == DATA_READ_AUTO)
            CHECK_MSG(strcmp(e1, e2) == 0, "%s: '%s' vs '%s'", what, e2, e1);
        mem_free(b);
        b = NULL;
    }
    mem_free(a);
    return ra;
}

/* The real data sets: the fast reader alone parses every file and gets
 * the line parser's ratings. */
static void test_scan_real_files(void) {
    static const struct { const char *path; DataFormat f; } files[] = {
        {"data/ml-100k/u.data", DATA_ML100K},
        {"data/ml-100k/u1.base", DATA_ML100K},
        {"data/ml-100k/u5.test", DATA_ML100K},
        {"data/ml-latest-small/ratings.csv", DATA_CSV},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        CHECK_MSG(agree(files[i].path, files[i].f, DATA_READ_SCAN,
                        files[i].path) == 0, "%s", files[i].path);
    }
}

/* A synthetic ml-1m file of 3 MiB (several pieces per thread count): the
 * fast reader alone matches the line parser, with and without a final
 * newline and with CRLF. */
static void test_scan_large_ml1m(void) {
    const char *dir = test_tmp_dir("scan");
    CHECK(dir != NULL);
    if (!dir) return;
    size_t cap = 4u << 20, len = 0;
    char *buf = mem_alloc(cap);
    CHECK(buf != NULL);
    unsigned s = 11;
    for (int u = 1; buf && len + 64 < cap - 64 && u < 100000; u++)
        for (int k = 0; k < 20 && len + 64 < cap; k++) {
            int item = 1 + k * 50 + (int)(test_urand(&s) * 50);
            int half = (int)(test_urand(&s) * 10);
            len += (size_t)snprintf(buf + len, cap - len, "%d::%d::%d.%d::%u\n",
                                    u, item, 1 + half / 2, half % 2 * 5,
                                    978300000u + (unsigned)u);
        }
    for (int variant = 0; buf && variant < 3; variant++) {
        size_t n = len;
        char name[32];
        if (variant == 1) n--;                           /* no final newline */
        snprintf(name, sizeof name, "r%d.dat", variant);
        const char *p = put_file(dir, name, buf, n);
        if (variant == 2 && p) {                        /* CRLF */
            char *crlf = mem_alloc(len * 2);
            size_t m = 0;
            CHECK(crlf != NULL);
            for (size_t i = 0; crlf && i < len; i++) {
                if (buf[i] == '\n') crlf[m++] = '\r';
                crlf[m++] = buf[i];
            }
            p = crlf ? put_file(dir, name, crlf, m) : NULL;
            mem_free(crlf);
        }
        CHECK(p != NULL);
        if (p) CHECK(agree(p, DATA_ML1M, DATA_READ_SCAN, name) == 0);
    }
    mem_free(buf);
    test_rm_tree(dir);
}

typedef struct {
    DataFormat f;
    const char *text;
    size_t len;     /* 0: strlen(text) */
    int regular;    /* 1: the fast reader must parse it itself */
} Edge;

/* Edge cases: the fast reader (with the line parser behind it) gives the
 * same ratings or the same message; the regular ones it parses itself. */
static void test_scan_edge_cases(void) {
    static const Edge cases[] = {
        {DATA_ML100K, "1\t2\t3\t4\r\n2\t3\t4\t5\r\n", 0, 1},        /* CRLF */
        {DATA_ML100K, "1\t2\t3\t4\n2\t3\t4\t5", 0, 1},        /* no final \n */
        {DATA_ML100K, "1\t2\t3\t4\r\n2\t3\t4\t5\r", 0, 1},
        {DATA_ML100K, "\xEF\xBB\xBF" "1\t2\t3\t4\n", 0, 1},         /* BOM */
        {DATA_ML100K, "007\t0002\t05\t0000000000000000000004\n", 0, 1},
        {DATA_ML100K, "1\t2\t5.\t4\n1\t3\t.5\t4\n1\t4\t0.001\t4\n", 0, 1},
        {DATA_ML100K, "1\t2\t3.14159265358979\t4\n", 0, 1},   /* 15 digits */
        {DATA_ML100K, "1\t2\t3.141592653589793\t4\n", 0, 0},  /* 16: parser */
        {DATA_ML100K, "1\t2\t10\t4\n1\t3\t10.0\t4\n", 0, 1},
        {DATA_ML100K, "2147483647\t2147483647\t1\t999999999999999999\n", 0, 1},
        {DATA_ML100K, "1\t2\t3\t9223372036854775807\n", 0, 0},  /* 19 digits */
        {DATA_ML100K, "1\t2\t3\t9223372036854775808\n", 0, 0},
        {DATA_ML100K, "1\t2\t3\t4\n\n", 0, 0},               /* blank last */
        {DATA_ML100K, "1\t2\t3\t4\n\n2\t3\t4\t5\n", 0, 0},
        {DATA_ML100K, "\n1\t2\t3\t4\n", 0, 0},
        {DATA_ML100K, "", 0, 0},                                /* empty */
        {DATA_ML100K, "\xEF\xBB\xBF", 0, 0},
        {DATA_ML100K, "\xEF\xBB\xBF\r\n1\t2\t3\t4\n", 0, 0},
        {DATA_ML100K, "1\t2\t3\t4\n1\t2\x00\t3\t4\n", 17, 0},      /* NUL */
        {DATA_ML100K, "1\t2\t3\t4\n1\t2\t3\t4\r\r\n", 0, 0},
        {DATA_ML100K, "1\t2\t3\t4\n1\r2\t3\t4\n", 0, 0},
        {DATA_ML100K, "1\t2\t3\t4\n2147483648\t2\t3\t4\n", 0, 0},
        {DATA_ML100K, "1\t2\t3\t4\n0\t2\t3\t4\n", 0, 0},
        {DATA_ML100K, "1\t2\t0\t4\n", 0, 0},
        {DATA_ML100K, "1\t2\t10.01\t4\n", 0, 0},
        {DATA_ML100K, "1\t2\t1e1\t4\n", 0, 0},
        {DATA_ML100K, "1\t2\t3\t4\t5\n", 0, 0},
        {DATA_ML100K, "1\t2\t3\n", 0, 0},
        {DATA_ML100K, "1,2,3,4\n", 0, 0},
        {DATA_ML100K, "1\t2\t3\t4\n1\t2\t3\t4\n", 0, 1},   /* duplicate: later */
        {DATA_ML1M, "1::2::3::4\r\n5::6::4.5::7", 0, 1},
        {DATA_ML1M, "1::2::3::4\n1:::2::3::4\n", 0, 0},
        {DATA_ML1M, "1::2::3::4\n1::2::3::4::\n", 0, 0},
        {DATA_ML1M, "1::2::3::4\n1:2::3::4\n", 0, 0},
        {DATA_CSV, "userId,movieId,rating,timestamp\r\n1,2,3.5,4\r\n", 0, 1},
        {DATA_CSV, "\xEF\xBB\xBFUSERID,movieid,Rating,ts\n1,2,3.5,4", 0, 1},
        {DATA_CSV, "userId,movieId,rating,timestamp\n", 0, 0},
        {DATA_CSV, "userId,movieId,rating,timestamp", 0, 0},
        {DATA_CSV, "1,2,3,4\n", 0, 0},
        {DATA_CSV, "userId,movieId,rating\n1,2,3,4\n", 0, 0},
        {DATA_CSV, "userId,movieId,rating,timestamp\n1,2,3\xC3\xA9,4\n", 0, 0},
    };
    const char *dir = test_tmp_dir("edge");
    CHECK(dir != NULL);
    if (!dir) return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const Edge *c = &cases[i];
        char what[32];
        snprintf(what, sizeof what, "case %zu", i);
        const char *p = put_file(dir, "r.txt", c->text,
                                 c->len ? c->len : strlen(c->text));
        CHECK(p != NULL);
        if (!p) continue;
        agree(p, c->f, DATA_READ_AUTO, what);
        if (c->regular) CHECK_MSG(agree(p, c->f, DATA_READ_SCAN, what) == 0,
                                  "%s not parsed by the fast reader", what);
    }
    /* a line longer than the limit of 64 KiB is refused by both (leading
     * zeros keep it a valid rating line for the fast reader's grammar) */
    size_t big = 70000;
    char *line = mem_alloc(big + 16);
    CHECK(line != NULL);
    if (line) {
        memset(line, '0', big);
        memcpy(line + big, "1\t2\t3\t4\n", 8);
        const char *p = put_file(dir, "long.txt", line, big + 8);
        CHECK(p && agree(p, DATA_ML100K, DATA_READ_AUTO, "long line") == -1);
        mem_free(line);
    }
    test_rm_tree(dir);
}

/* Random lines, mostly valid, some mutated: the reader always agrees with
 * the line parser (ratings or message). */
static void test_scan_random_agrees(void) {
    static const char alphabet[] = "0123456789.\t:,\r\n -x";
    const char *dir = test_tmp_dir("fuzz");
    CHECK(dir != NULL);
    if (!dir) return;
    unsigned s = 5;
    char buf[4096];
    for (int round = 0; round < 300; round++) {
        DataFormat f = (DataFormat)(round % 3);
        const char *sep = f == DATA_ML100K ? "\t" : f == DATA_ML1M ? "::" : ",";
        size_t len = 0;
        if (f == DATA_CSV)
            len += (size_t)snprintf(buf, sizeof buf, "userId,movieId,rating,timestamp\n");
        int lines = 1 + (int)(test_urand(&s) * 30);
        for (int l = 0; l < lines; l++) {
            int digits = 1 + (int)(test_urand(&s) * 17);
            char rating[32];
            size_t rn = 0;
            for (int d = 0; d < digits; d++) {
                if (d == 1 && test_urand(&s) < 0.7f) rating[rn++] = '.';
                rating[rn++] = (char)('0' + (int)(test_urand(&s) * 10));
            }
            rating[rn] = '\0';
            if (rating[0] == '0' && test_urand(&s) < 0.5f) rating[0] = '4';
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%d%s%d%s%s%s%u%s",
                                    1 + l, sep, 1 + (int)(test_urand(&s) * 9),
                                    sep, rating, sep,
                                    (unsigned)(test_urand(&s) * 1e9f),
                                    test_urand(&s) < 0.2f ? "\r\n" : "\n");
        }
        if (test_urand(&s) < 0.3f && len > 0) len--;        /* no final \n */
        if (test_urand(&s) < 0.5f) {                          /* mutate */
            size_t at = (size_t)(test_urand(&s) * (float)len);
            if (at < len)
                buf[at] = alphabet[(int)(test_urand(&s) * (sizeof alphabet - 1))];
        }
        const char *p = put_file(dir, "f.txt", buf, len);
        CHECK(p != NULL);
        char what[32];
        snprintf(what, sizeof what, "round %d", round);
        if (p) agree(p, f, DATA_READ_AUTO, what);
    }
    test_rm_tree(dir);
}

/* The fast reader's decimal conversion equals strtod's for every rating it
 * accepts: all 1..4 digit spellings, exhaustively. */
static void test_scan_ratings_exact(void) {
    const char *dir = test_tmp_dir("exact");
    CHECK(dir != NULL);
    if (!dir) return;
    size_t cap = 1u << 20, len = 0;
    char *buf = mem_alloc(cap);
    CHECK(buf != NULL);
    int line = 0;
    for (int v = 1; buf && v <= 9999; v++)
        for (int dot = 0; dot <= 4; dot++) {
            char digits[8], r[16];
            snprintf(digits, sizeof digits, "%d", v);
            int nd = (int)strlen(digits);
            if (dot > nd) continue;
            snprintf(r, sizeof r, "%.*s%s%s", nd - dot, digits, dot ? "." : "",
                     digits + nd - dot);
            if (strtod(r, NULL) > 10.0) continue;
            line++;
            len += (size_t)snprintf(buf + len, cap - len, "%d\t%d\t%s\t1\n",
                                    1 + line / 1000, 1 + line % 1000, r);
        }
    const char *p = buf ? put_file(dir, "exact.txt", buf, len) : NULL;
    CHECK(p != NULL && line > 1000);
    if (p) CHECK(agree(p, DATA_ML100K, DATA_READ_SCAN, "exact") == 0);
    mem_free(buf);
    test_rm_tree(dir);
}

/* Returns 1 when two loaded data sets are identical. */
static int same_dataset(const Dataset *a, const Dataset *b) {
    return a->n_train == b->n_train && a->n_test == b->n_test &&
           a->num_users == b->num_users && a->num_items == b->num_items &&
           same(a->train, b->train, a->n_train) &&
           same(a->test, b->test, a->n_test) &&
           memcmp(a->user_ids, b->user_ids, (size_t)a->num_users * 8) == 0 &&
           memcmp(a->item_ids, b->item_ids, (size_t)a->num_items * 8) == 0;
}

/* A 2-3 MB csv file (several pieces for the fast reader, sparse ids for the
 * csv map): 1, 2 and 3 threads load the same data set, and report the same
 * duplicate. */
static void test_thread_counts_agree(void) {
    const char *dir = test_tmp_dir("psort");
    CHECK(dir != NULL);
    if (!dir) return;
    size_t cap = 8u << 20, len = 0;
    char *buf = mem_alloc(cap);
    CHECK(buf != NULL);
    if (!buf) { test_rm_tree(dir); return; }
    len += (size_t)snprintf(buf, cap, "userId,movieId,rating,timestamp\n");
    unsigned st = 3;
    for (int u = 1; u <= 2000; u++)   /* sparse ids: the csv map sorts */
        for (int k = 0; k < 60; k++)
            len += (size_t)snprintf(buf + len, cap - len, "%d,%d,%.1f,1\n",
                                    u * 7919, k * 1000 + 1 + (int)(test_urand(&st) * 999),
                                    0.5 + (int)(test_urand(&st) * 10) * 0.5);
    char path[512];
    snprintf(path, sizeof path, "%s/r.csv", dir);
    const char *p = put_file(dir, "r.csv", buf, len);
    CHECK(p != NULL);
    Dataset ds[3];
    char err[3][ERR_MAX];
    int rc[3];
    for (int t = 0; t < 3; t++) {
        Config c;
        cfg_defaults(&c);
        snprintf(c.data_path, sizeof c.data_path, "%s", path);
        c.data_format = DATA_CSV;
        c.data_cache = 0;
        c.threads = t + 1;
        rc[t] = data_load(&c, &ds[t], err[t]);
    }
    /* random item ids may repeat within a user: then all report it alike */
    for (int t = 1; t < 3; t++) {
        CHECK(rc[t] == rc[0]);
        if (rc[0] == 0 && rc[t] == 0) CHECK(same_dataset(&ds[0], &ds[t]));
        else CHECK_MSG(strcmp(err[0], err[t]) == 0, "%s vs %s", err[0], err[t]);
    }
    /* a certain duplicate (the last line again), found the same way on
     * every thread count */
    for (int t = 0; t < 3; t++) data_free(&ds[t]);
    size_t last = len - 1;
    while (last > 0 && buf[last - 1] != '\n') last--;
    memmove(buf + len, buf + last, len - last);
    len += len - last;
    p = put_file(dir, "r.csv", buf, len);
    for (int t = 0; t < 3; t++) {
        Config c;
        cfg_defaults(&c);
        snprintf(c.data_path, sizeof c.data_path, "%s", path);
        c.data_format = DATA_CSV;
        c.data_cache = 0;
        c.threads = t + 1;
        rc[t] = data_load(&c, &ds[t], err[t]);
        CHECK_MSG(rc[t] == -1 && strstr(err[t], "duplicate rating"), "%s", err[t]);
        if (rc[t] == 0) data_free(&ds[t]);
        CHECK(strcmp(err[t], err[0]) == 0);
    }
    mem_free(buf);
    test_rm_tree(dir);
}

void suite_data_scan(void) {
    struct stat st;
    if (stat("data/ml-100k/u.data", &st) == 0 &&
        stat("data/ml-latest-small/ratings.csv", &st) == 0)
        RUN(test_scan_real_files);
    else
        printf("SKIP test_scan_real_files: data/ml-100k or "
               "data/ml-latest-small missing (make data)\n");
    RUN(test_scan_large_ml1m);
    RUN(test_scan_edge_cases);
    RUN(test_scan_random_agrees);
    RUN(test_scan_ratings_exact);
    RUN(test_thread_counts_agree);
}

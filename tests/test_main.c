/* test_main.c - runs every unit-test suite and prints the totals. */
#define _XOPEN_SOURCE 700   /* nftw */
#include "test.h"

#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int test_failed_checks;
int tests_passed, tests_failed, tests_skipped;
const char *test_fixture_dir = "tests/fixtures";
static char skip_reason[256]; /* non-empty once the current test skipped */

void test_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(skip_reason, sizeof skip_reason, fmt, ap);
    va_end(ap);
    if (!skip_reason[0]) snprintf(skip_reason, sizeof skip_reason, "no reason given");
}

void test_run_one(const char *name, void (*fn)(void)) {
    test_failed_checks = 0;
    skip_reason[0] = '\0';
    fn();
    if (test_failed_checks == 0 && skip_reason[0]) {
        tests_skipped++;
        printf("SKIP %s: %s\n", name, skip_reason);
    } else if (test_failed_checks == 0) {
        tests_passed++;
        printf("ok   %s\n", name);
    } else {
        tests_failed++;
        printf("FAIL %s\n", name);
    }
    fflush(stdout);
}

float test_urand(unsigned *state) {
    *state = *state * 1103515245u + 12345u;
    return (float)((*state >> 8) / 16777216.0);
}

double test_scaled_diff(const float *a, const float *b, size_t n) {
    double d = 0, m = 1e-30;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
    }
    return d / m;
}

const char *test_tmp_dir(const char *tag) {
    static char dir[256];
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/autorec-%s-XXXXXX", base, tag);
    return mkdtemp(dir);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

void test_rm_tree(const char *dir) {
    if (dir) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int test_describe(void *ctx, int64_t point, DbRunInfo *info, char *err) {
    TestDesc *d = ctx;
    (void)err;
    cfg_defaults(&d->cfg);
    d->cfg.hidden = 100 + (int)point;
    memset(info, 0, sizeof *info);
    info->cfg = &d->cfg;
    info->config_yaml = "x: 1\n";
    info->threads = 1;
    info->kernel = "auto";
    return 0;
}

int64_t test_sql_int(sqlite3 *h, const char *sql) {
    sqlite3_stmt *st = NULL;
    int64_t v = INT64_MIN;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

const char *test_write_temp(const char *suffix, const char *text) {
    static char paths[8][256];
    static int slot;
    char *p = paths[slot++ % 8];
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(p, 256, "%s/autorec-test-XXXXXX%s", dir, suffix);
    int fd = mkstemps(p, (int)strlen(suffix));
    if (fd < 0) return NULL;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) { close(fd); return NULL; }
    close(fd);
    return p;
}

/* Suites, one per module: tests/test_NAME.c defines suite_NAME().  The
 * Makefile writes the list of them into build/suites.h. */
#include "suites.h"
#define DECLARE(s) void suite_##s(void);
SUITES(DECLARE)

int main(int argc, char **argv) {
    /* optional filter: run only suites whose name contains argv[1] */
    const char *only = argc > 1 ? argv[1] : NULL;
    /* the ratings cache of every load goes to a scratch directory, not to
     * the user's ~/.cache (tests that need their own set it) */
    char cache[256];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(cache, sizeof cache, "%s/autorec-unit-cache-XXXXXX", tmp);
    if (!mkdtemp(cache)) {
        fprintf(stderr, "unit: cannot create %s: %s\n", cache, strerror(errno));
        return 1;
    }
    setenv("AUTOREC_CACHE_DIR", cache, 1);
#define CALL(s) if (!only || strstr(#s, only)) suite_##s();
    SUITES(CALL)
    test_rm_tree(cache);
    printf("unit: %d passed, %d failed, %d skipped\n", tests_passed,
           tests_failed, tests_skipped);
    return tests_failed ? 1 : 0;
}

/* test.h - the unit-test harness.
 *
 * A test is a `static void test_x(void)` that uses CHECK* macros; a suite is
 * a `void suite_NAME(void)` in tests/test_NAME.c that calls RUN(test_x) for
 * each test.  Suites are registered by the Makefile, which lists every
 * tests/test_*.c in build/suites.h for test_main.c: nothing to add by hand.
 * Each test prints "ok   name", "FAIL name" with the failed checks, or
 * "SKIP name: reason" when it called SKIP (it could not run here: counted
 * apart, never as passed); test_main prints
 * "unit: N passed, N failed, N skipped".
 *
 * Global mutable state: the counters below, owned by test_main.c. */
#ifndef AUTOREC_TEST_H
#define AUTOREC_TEST_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "db.h"

extern int test_failed_checks; /* checks failed in the current test */
extern int tests_passed, tests_failed, tests_skipped;
extern const char *test_fixture_dir; /* tests/fixtures */

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            test_failed_checks++;                                          \
            fprintf(stderr, "    %s:%d: check failed: %s\n", __FILE__,     \
                    __LINE__, #cond);                                      \
        }                                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                               \
    do {                                                                   \
        if (!(cond)) {                                                     \
            test_failed_checks++;                                          \
            fprintf(stderr, "    %s:%d: check failed: %s: ", __FILE__,     \
                    __LINE__, #cond);                                      \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

/* |a - b| <= rel * max(|a|, |b|) + abs_tol */
#define CHECK_CLOSE(a, b, rel, abs_tol)                                    \
    do {                                                                   \
        double a_ = (a), b_ = (b);                                         \
        double m_ = fabs(a_) > fabs(b_) ? fabs(a_) : fabs(b_);             \
        if (!(fabs(a_ - b_) <= (rel) * m_ + (abs_tol))) {                  \
            test_failed_checks++;                                          \
            fprintf(stderr, "    %s:%d: %s = %.9g vs %s = %.9g\n",         \
                    __FILE__, __LINE__, #a, a_, #b, b_);                   \
        }                                                                  \
    } while (0)

/* Marks the current test skipped with the reason (printf format) and
 * returns from it.  Checks failed before the SKIP still fail the test. */
void test_skip(const char *fmt, ...);
#define SKIP(...)                                                          \
    do {                                                                   \
        test_skip(__VA_ARGS__);                                            \
        return;                                                            \
    } while (0)

void test_run_one(const char *name, void (*fn)(void));
#define RUN(fn) test_run_one(#fn, fn)

/* A uniform float in [0, 1) from a small LCG state (reproducible inputs). */
float test_urand(unsigned *state);

/* max |a[i] - b[i]| divided by max |b[i]|: the error relative to the
 * array's scale, the right measure for sums whose terms may cancel. */
double test_scaled_diff(const float *a, const float *b, size_t n);

/* A fresh temporary directory named autorec-TAG-XXXXXX under $TMPDIR or
 * /tmp (static buffer, one at a time), or NULL. */
const char *test_tmp_dir(const char *tag);

/* Removes dir and everything below it; accepts NULL. */
void test_rm_tree(const char *dir);

/* The integer value of a one-value query on a plain SQLite connection, or
 * INT64_MIN when it fails, returns no row or NULL. */
struct sqlite3;
int64_t test_sql_int(struct sqlite3 *h, const char *sql);

/* A DbDescribeFn for claim tests: ctx is a TestDesc whose config (defaults,
 * hidden = 100 + point) the filled DbRunInfo points to; config_yaml "x: 1",
 * 1 thread, kernel "auto".  Returns 0. */
typedef struct {
    Config cfg;
} TestDesc;
int test_describe(void *ctx, int64_t point, DbRunInfo *info, char *err);

/* Routes SQLite's allocations through mem.c (on = 1), so mem_fail_at
 * reaches them, or back to SQLite's allocator (on = 0).  No connection may
 * be open.  Returns 0 or -1.  (Defined in test_faults.c.) */
int sqlite_use_mem(int on);

/* Writes text to a new temporary file; returns its path (static buffer
 * rotated among 8 slots) or NULL. */
const char *test_write_temp(const char *suffix, const char *text);

#endif

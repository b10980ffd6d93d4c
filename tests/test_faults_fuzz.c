/* test_faults_fuzz.c - replays the fuzzers' seed corpora and every saved
 * crash input (tests/fuzz/corpus/TARGET/, tests/fuzz/regressions/TARGET/)
 * through the same checks as the libFuzzer targets (tests/fuzz/
 * fuzz_targets.h), so the normal and sanitizer builds run them on every
 * `make test` without clang. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_targets.h"
#include "test.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

/* Runs fn on every file (dot files skipped) of dir.  Returns the number of
 * inputs run; a missing directory counts 0. */
static int replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t)) {
    DIR *d = opendir(dir);
    int count = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        CHECK_MSG(f != NULL, "cannot open %s", path);
        if (!f) continue;
        uint8_t *buf = malloc(1 << 20);
        size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
        fclose(f);
        CHECK(buf != NULL);
        if (!buf) continue;
        CHECK_MSG(fn(buf, n) == 0, "%s", path);
        free(buf);
        count++;
    }
    closedir(d);
    return count;
}

/* All inputs of one target: the seed corpus must not be empty. */
static void replay(const char *target, int (*fn)(const uint8_t *, size_t)) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", target);
    int n = replay_dir(dir, fn);
    CHECK_MSG(n >= 3, "%s: %d seed inputs", dir, n);
    snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", target);
    replay_dir(dir, fn);
}

static void test_fuzz_corpus_cfg(void) { replay("cfg", fuzz_cfg_one); }
static void test_fuzz_corpus_data(void) { replay("data", fuzz_data_one); }
static void test_fuzz_corpus_set(void) { replay("set", fuzz_set_one); }

/* In the sanitizer build (make test SAN=1): no memory leaked so far, after
 * the allocation-failure loops of test_faults.c.  (LeakSanitizer's report
 * at exit would come after the totals, where tests/run.sh does not look.)
 * Without LeakSanitizer nothing can be checked: the test is skipped. */
static void test_no_leaks_so_far(void) {
#ifdef __SANITIZE_ADDRESS__
    CHECK_MSG(__lsan_do_recoverable_leak_check() == 0,
              "LeakSanitizer found leaks (report above)");
#else
    SKIP("needs LeakSanitizer: run make test SAN=1");
#endif
}

void suite_faults_fuzz(void) {
    RUN(test_fuzz_corpus_cfg);
    RUN(test_fuzz_corpus_data);
    RUN(test_fuzz_corpus_set);
    RUN(test_no_leaks_so_far);
}

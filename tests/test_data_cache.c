/* test_data_cache.c - the binary ratings cache (data_cache.c) and the
 * in-memory memo (data_memo.c): hits, staleness, corruption, truncation,
 * concurrent creation, data.cache: false. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "data.h"
#include "data_cache.h"
#include "data_memo.h"
#include "err.h"
#include "mem.h"
#include "test.h"

#define N_USERS 40
#define N_ITEMS 30

typedef struct {
    char dir[256];         /* scratch directory */
    char cache[300];       /* the cache directory inside it */
    char data[300];        /* the ratings file */
    char entry[DATA_CACHE_PATH_MAX];
    char prev[512];        /* AUTOREC_CACHE_DIR before, "" when unset */
} Scratch;

/* Writes the ratings file at path: every 3rd (user, item) pair rated, the
 * ratings depending on salt (one digit each: the size never changes).
 * Returns 0 or -1. */
static int write_ratings(const char *path, int salt) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int u = 1; u <= N_USERS; u++)
        for (int i = 1; i <= N_ITEMS; i++)
            if ((u + i) % 3 == 0)
                fprintf(f, "%d\t%d\t%d\t88%d\n", u, i, 1 + (u * i + salt) % 5, u);
    return fclose(f) != 0 ? -1 : 0;
}

/* Creates a scratch directory with the ratings file (write_ratings), sets
 * AUTOREC_CACHE_DIR and fills s.  Returns 0 or -1. */
static int scratch_new(Scratch *s, int salt) {
    const char *d = test_tmp_dir("cache");
    if (!d) return -1;
    snprintf(s->dir, sizeof s->dir, "%s", d);
    snprintf(s->cache, sizeof s->cache, "%s/c", d);
    snprintf(s->data, sizeof s->data, "%s/u.data", d);
    if (write_ratings(s->data, salt)) return -1;
    const char *prev = getenv(DATA_CACHE_ENV);
    snprintf(s->prev, sizeof s->prev, "%s", prev ? prev : "");
    setenv(DATA_CACHE_ENV, s->cache, 1);
    char err[ERR_MAX];
    return data_cache_entry(s->cache, s->data, DATA_ML100K, s->entry,
                            sizeof s->entry, err);
}

/* Removes s's directory and restores AUTOREC_CACHE_DIR. */
static void scratch_free(Scratch *s) {
    if (s->prev[0]) setenv(DATA_CACHE_ENV, s->prev, 1);
    else unsetenv(DATA_CACHE_ENV);
    test_rm_tree(s->dir);
}

/* A config reading s's file with the cache on. */
static void cache_cfg(Config *c, const Scratch *s) {
    cfg_defaults(c);
    snprintf(c->data_path, sizeof c->data_path, "%s", s->data);
    c->threads = 2;
}

/* The ratings of s's file by the line parser (the truth). */
static Rating *truth(const Scratch *s, size_t *n) {
    Rating *r = NULL;
    char err[ERR_MAX];
    if (data_read_raw(s->data, DATA_ML100K, DATA_READ_LINES, 1, &r, n, err))
        return NULL;
    return r;
}

/* Loads s's file through data_load (cache on) and returns 1 when the
 * split holds exactly the ratings of `want` (raw ids: dense index + 1). */
static int load_matches(const Scratch *s, const Rating *want, size_t n) {
    Config c;
    Dataset ds;
    char err[ERR_MAX];
    cache_cfg(&c, s);
    c.test_ratio = 0.5;
    if (data_load(&c, &ds, err)) {
        fprintf(stderr, "    load failed: %s\n", err);
        return 0;
    }
    /* the split keeps file order within each side: merge them back */
    int ok = ds.n_train + ds.n_test == n;
    size_t a = 0, b = 0;
    for (size_t i = 0; ok && i < n; i++) {
        const Rating *x = (a < ds.n_train && ds.train[a].user + 1 == want[i].user &&
                           ds.train[a].item + 1 == want[i].item)
                              ? &ds.train[a++]
                              : (b < ds.n_test ? &ds.test[b++] : NULL);
        ok = x && x->user + 1 == want[i].user && x->item + 1 == want[i].item &&
             x->rating == want[i].rating;
    }
    data_free(&ds);
    return ok;
}

/* The key data_load uses for s's file now. */
static int key_of(const Scratch *s, DataCacheKey *k) {
    struct stat st;
    FILE *f = fopen(s->data, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f) fclose(f);
        return -1;
    }
    char *buf = mem_alloc((size_t)st.st_size);
    size_t got = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (got != (size_t)st.st_size) {
        mem_free(buf);
        return -1;
    }
    k->fmt = DATA_ML100K;
    k->size = (uint64_t)st.st_size;
    k->mtime_sec = st.st_mtim.tv_sec;
    k->mtime_nsec = st.st_mtim.tv_nsec;
    k->hash = data_hash(buf, got, 1);
    mem_free(buf);
    return 0;
}

/* A load writes the entry; the next load reads it (proved by replacing it
 * with a valid entry of different ratings under the same key). */
static void test_cache_hit(void) {
    Scratch s;
    size_t n;
    CHECK(scratch_new(&s, 0) == 0);
    Rating *t = truth(&s, &n);
    CHECK(t != NULL);
    if (!t) { scratch_free(&s); return; }
    struct stat st;
    CHECK(stat(s.entry, &st) != 0);
    CHECK(load_matches(&s, t, n));
    CHECK(stat(s.entry, &st) == 0 && S_ISREG(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);
    Rating *r2 = NULL;
    size_t n2 = 0;
    DataCacheKey k;
    char why[ERR_MAX];
    unsigned flags = 0;
    CHECK(key_of(&s, &k) == 0);
    CHECK(data_cache_load(s.entry, &k, 1, &r2, &n2, &flags, why) == DATA_CACHE_HIT);
    CHECK(n2 == n && r2 && memcmp(r2, t, n * sizeof *t) == 0);
    CHECK(flags == DATA_CACHE_DUP_FREE);   /* written after the check */
    mem_free(r2);
    for (size_t i = 0; i < n; i++) t[i].rating = 5.0f - t[i].rating + 1.0f;
    CHECK(data_cache_store(s.cache, s.entry, &k, DATA_CACHE_DUP_FREE, t, n, 1, why) == 0);
    CHECK(load_matches(&s, t, n));   /* the entry, not the file */
    mem_free(t);
    scratch_free(&s);
}

/* The duplicate check is skipped only for a random split's file read from
 * an entry flagged duplicate-free: an entry without the flag is checked,
 * and so are two files of a files split (a pair may be in both). */
static void test_cache_duplicate_flag(void) {
    Scratch s;
    size_t n;
    char why[ERR_MAX], err[ERR_MAX];
    CHECK(scratch_new(&s, 0) == 0);
    Rating *t = truth(&s, &n);
    DataCacheKey k;
    CHECK(t && key_of(&s, &k) == 0);
    if (!t) { scratch_free(&s); return; }
    t[1] = t[0];   /* a duplicate pair, in an entry without the flag */
    CHECK(data_cache_store(s.cache, s.entry, &k, 0, t, n, 1, why) == 0);
    Config c;
    Dataset ds;
    cache_cfg(&c, &s);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, "duplicate rating") != NULL, "%s", err);
    /* with the flag the entry is trusted as checked */
    CHECK(data_cache_store(s.cache, s.entry, &k, DATA_CACHE_DUP_FREE, t, n, 1,
                           why) == 0);
    CHECK_MSG(data_load(&c, &ds, err) == 0, "%s", err);
    data_free(&ds);
    mem_free(t);
    /* files split: each file is cached as duplicate-free, the pair shared
     * by both is still found on every load */
    char train[400], test[400];
    snprintf(train, sizeof train, "%s/a.data", s.dir);
    snprintf(test, sizeof test, "%s/b.data", s.dir);
    FILE *f = fopen(train, "w"), *g = fopen(test, "w");
    CHECK(f && g);
    if (f) CHECK(fputs("1\t1\t5\t1\n1\t2\t4\t1\n", f) >= 0 && fclose(f) == 0);
    if (g) CHECK(fputs("2\t1\t5\t1\n1\t2\t3\t1\n", g) >= 0 && fclose(g) == 0);
    /* each file alone (a random split) is duplicate-free: both cached */
    for (int k = 0; k < 2; k++) {
        Config one = c;
        char entry[DATA_CACHE_PATH_MAX];
        struct stat st;
        snprintf(one.data_path, sizeof one.data_path, "%s", k ? test : train);
        if (data_load(&one, &ds, err) == 0) data_free(&ds);
        CHECK(data_cache_entry(s.cache, one.data_path, DATA_ML100K, entry,
                               sizeof entry, why) == 0 && stat(entry, &st) == 0);
    }
    c.split_kind = SPLIT_FILES;
    snprintf(c.train_file, sizeof c.train_file, "%s", train);
    snprintf(c.test_file, sizeof c.test_file, "%s", test);
    for (int round = 0; round < 2; round++) {
        CHECK(data_load(&c, &ds, err) == -1);
        CHECK_MSG(strstr(err, "duplicate rating") && strstr(err, "b.data:2"),
                  "round %d: %s", round, err);
    }
    scratch_free(&s);
}

/* A changed file (new content, even with its old size and mtime put back)
 * is parsed again and its entry replaced. */
static void test_cache_stale(void) {
    Scratch s;
    size_t n;
    CHECK(scratch_new(&s, 0) == 0);
    Rating *t0 = truth(&s, &n);
    CHECK(t0 && load_matches(&s, t0, n));
    mem_free(t0);
    struct stat before;
    CHECK(stat(s.data, &before) == 0);
    /* same path and size, other ratings, the old mtime put back */
    CHECK(write_ratings(s.data, 2) == 0);
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    CHECK(utimensat(AT_FDCWD, s.data, times, 0) == 0);
    struct stat after;
    CHECK(stat(s.data, &after) == 0 && after.st_size == before.st_size);
    size_t n1;
    Rating *t1 = truth(&s, &n1);
    CHECK(t1 && n1 == n);
    CHECK(t1 && load_matches(&s, t1, n1));
    /* the entry now holds the new ratings */
    DataCacheKey k;
    Rating *r = NULL;
    size_t nr = 0;
    char why[ERR_MAX];
    unsigned flags = 0;
    CHECK(key_of(&s, &k) == 0);
    CHECK(data_cache_load(s.entry, &k, 1, &r, &nr, &flags, why) == DATA_CACHE_HIT);
    CHECK(r && t1 && nr == n1 && memcmp(r, t1, nr * sizeof *r) == 0);
    mem_free(r);
    /* only the mtime changed: a miss for the old key */
    k.mtime_nsec ^= 1;
    CHECK(data_cache_load(s.entry, &k, 1, &r, &nr, &flags, why) == DATA_CACHE_MISS);
    CHECK(r == NULL);
    mem_free(t1);
    scratch_free(&s);
}

/* Rewrites byte `at` of path (xor 0x40) or truncates it to `at` bytes. */
static int damage(const char *path, long at, int truncate_it) {
    if (truncate_it) return truncate(path, at);
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    int rc = fseek(f, at, SEEK_SET);
    int c = rc == 0 ? fgetc(f) : EOF;
    rc = c == EOF || fseek(f, at, SEEK_SET) != 0 || fputc(c ^ 0x40, f) == EOF;
    return fclose(f) != 0 || rc ? -1 : 0;
}

/* A damaged or truncated entry is never trusted: the load parses the file
 * (the right ratings) and replaces the entry with a valid one. */
static void test_cache_corrupt_and_truncated(void) {
    Scratch s;
    size_t n;
    CHECK(scratch_new(&s, 1) == 0);
    Rating *t = truth(&s, &n);
    CHECK(t && load_matches(&s, t, n));
    struct stat st;
    CHECK(stat(s.entry, &st) == 0);
    long size = (long)st.st_size, header = size - (long)(n * sizeof(Rating));
    const long at[] = {0, 8, header - 8, header - 1, header, header + 4,
                       size / 2, size - 1};
    DataCacheKey k;
    char why[ERR_MAX];
    unsigned flags = 0;
    CHECK(key_of(&s, &k) == 0);
    for (size_t i = 0; t && i < 2 * sizeof at / sizeof at[0]; i++) {
        int cut = i >= sizeof at / sizeof at[0];
        long where = at[i % (sizeof at / sizeof at[0])];
        CHECK(damage(s.entry, where, cut) == 0);
        Rating *r = NULL;
        size_t nr = 0;
        int got = data_cache_load(s.entry, &k, 1, &r, &nr, &flags, why);
        CHECK_MSG(got != DATA_CACHE_HIT && r == NULL,
                  "%s at %ld: trusted", cut ? "truncated" : "flipped", where);
        CHECK(load_matches(&s, t, n));
        CHECK(data_cache_load(s.entry, &k, 1, &r, &nr, &flags, why) == DATA_CACHE_HIT);
        mem_free(r);
    }
    /* garbage appended */
    FILE *f = fopen(s.entry, "ab");
    CHECK(f && fputs("x", f) >= 0 && fclose(f) == 0);
    Rating *r = NULL;
    size_t nr = 0;
    CHECK(data_cache_load(s.entry, &k, 1, &r, &nr, &flags, why) == DATA_CACHE_CORRUPT);
    CHECK(t && load_matches(&s, t, n));
    mem_free(t);
    scratch_free(&s);
}

/* Returns the number of entries of dir whose name contains `part`. */
static int count_names(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    int k = 0;
    struct dirent *e;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) k += strstr(e->d_name, part) != NULL;
    closedir(d);
    return k;
}

/* Several processes load the same file at once with an empty cache, then
 * again while others replace the entry: every load gets the right ratings,
 * one valid entry remains and no temporary file is left. */
static void test_cache_concurrent_creation(void) {
    enum { WORKERS = 6, ROUNDS = 3 };
    Scratch s;
    size_t n;
    CHECK(scratch_new(&s, 3) == 0);
    Rating *t = truth(&s, &n);
    CHECK(t != NULL);
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t pid[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            char c;
            close(go[1]);
            if (read(go[0], &c, 1) != 0) _exit(3);   /* wait for the start */
            int ok = 1;
            for (int r = 0; r < ROUNDS && ok; r++) {
                ok = load_matches(&s, t, n);
                if (w % 2 == 1) unlink(s.entry);    /* force rebuilds */
            }
            _exit(ok ? 0 : 1);
        }
        CHECK(pid[w] > 0);
    }
    close(go[0]);
    close(go[1]);   /* start them all */
    for (int w = 0; w < WORKERS; w++) {
        int status = -1;
        CHECK(pid[w] > 0 && waitpid(pid[w], &status, 0) == pid[w]);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "worker %d: status %d", w, status);
    }
    CHECK(t && load_matches(&s, t, n));
    CHECK(count_names(s.cache, ".tmp.") == 0);
    CHECK(count_names(s.cache, ".ratings") == 1);
    mem_free(t);
    scratch_free(&s);
}

/* data.cache: false reads and writes no entry; an unusable cache directory
 * does not stop the load. */
static void test_cache_off_and_unwritable(void) {
    Scratch s;
    size_t n;
    CHECK(scratch_new(&s, 4) == 0);
    Rating *t = truth(&s, &n);
    Config c;
    Dataset ds;
    char err[ERR_MAX];
    cache_cfg(&c, &s);
    c.data_cache = 0;
    CHECK(data_load(&c, &ds, err) == 0);
    data_free(&ds);
    struct stat st;
    CHECK(stat(s.cache, &st) != 0);   /* not even created */
    /* the cache directory path is a file */
    FILE *f = fopen(s.cache, "w");
    CHECK(f && fclose(f) == 0);
    CHECK(t && load_matches(&s, t, n));
    mem_free(t);
    scratch_free(&s);
}

/* The memo: a second load of an unchanged file is not parsed; a changed
 * one is, with its new ratings. */
static void test_memo_parses_once(void) {
    Scratch s;
    size_t n;
    CHECK(scratch_new(&s, 0) == 0);
    DataMemo *m = data_memo_new();
    CHECK(m != NULL);
    Config c;
    Dataset a, b;
    char err[ERR_MAX];
    cache_cfg(&c, &s);
    c.data_cache = 0;
    CHECK(data_load_memo(&c, m, &a, err) == 0);
    CHECK(data_memo_misses(m) == 1);
    c.seed = 9;   /* another split of the same file */
    CHECK(data_load_memo(&c, m, &b, err) == 0);
    CHECK(data_memo_misses(m) == 1);
    CHECK(a.n_train + a.n_test == b.n_train + b.n_test);
    data_free(&a);
    data_free(&b);
    /* rewritten in place with the same size: a new mtime */
    struct stat st0;
    CHECK(stat(s.data, &st0) == 0);
    st0.st_mtim.tv_sec -= 10;
    CHECK(write_ratings(s.data, 1) == 0);
    struct timespec old[2] = {st0.st_mtim, st0.st_mtim};
    CHECK(utimensat(AT_FDCWD, s.data, old, 0) == 0);
    Rating *t = truth(&s, &n);
    CHECK(data_load_memo(&c, m, &a, err) == 0);
    CHECK(data_memo_misses(m) == 2);
    data_free(&a);
    size_t k = 0;
    CHECK(t != NULL);
    struct stat st;
    CHECK(stat(s.data, &st) == 0);
    DataMemoKey key = {(uint64_t)st.st_dev, (uint64_t)st.st_ino,
                       (uint64_t)st.st_size, st.st_mtim.tv_sec,
                       st.st_mtim.tv_nsec, DATA_ML100K};
    const Rating *r = data_memo_find(m, &key, &k);
    CHECK(r && t && k == n && memcmp(r, t, n * sizeof *r) == 0);
    mem_free(t);
    data_memo_free(m);
    scratch_free(&s);
}

void suite_data_cache(void) {
    RUN(test_cache_hit);
    RUN(test_cache_duplicate_flag);
    RUN(test_cache_stale);
    RUN(test_cache_corrupt_and_truncated);
    RUN(test_cache_concurrent_creation);
    RUN(test_cache_off_and_unwritable);
    RUN(test_memo_parses_once);
}

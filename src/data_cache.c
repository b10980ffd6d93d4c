/* data_cache.c - the binary cache of parsed ratings files (see
 * data_cache.h).
 *
 * An entry is a header of DATA_CACHE_WORDS native 64-bit words followed by
 * the Rating records as they are in memory (the header records the byte
 * order and the record size, so an entry from another machine is a miss).
 *
 * No global mutable state. */
#include "data_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"

#define DATA_HASH_BLOCK ((size_t)4 << 20)
#define DATA_HASH_BATCH 256   /* block hashes per parallel batch (1 GiB) */
#define DATA_HASH_P1 0x9e3779b185ebca87ull
#define DATA_HASH_P2 0xc2b2ae3d27d4eb4full
#define DATA_HASH_P3 0x165667b19e3779f9ull
#define DATA_CACHE_MAGIC 0x0054415243455241ull   /* "ARECRAT\0" */
#define DATA_CACHE_ORDER 0x0102030405060708ull
#define DATA_CACHE_IO ((size_t)1 << 26)          /* bytes per read/write */

enum {   /* the header words */
    H_MAGIC, H_VERSION, H_ORDER, H_RECORD, H_FORMAT, H_SIZE, H_MTIME_SEC,
    H_MTIME_NSEC, H_HASH, H_COUNT, H_FLAGS, H_PAYLOAD, H_CHECK, DATA_CACHE_WORDS
};

/* ---- hashing --------------------------------------------------------- */

static inline uint64_t rotl64(uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
}

/* One multiply-rotate-multiply round folding word w into lane h. */
static inline uint64_t hash_round(uint64_t h, uint64_t w) {
    return rotl64(h + w * DATA_HASH_P2, 31) * DATA_HASH_P1;
}

/* Final avalanche: every input bit affects every output bit. */
static inline uint64_t hash_mix(uint64_t h) {
    h ^= h >> 33;
    h *= DATA_HASH_P2;
    h ^= h >> 29;
    h *= DATA_HASH_P3;
    h ^= h >> 32;
    return h;
}

/* Returns the hash of one block p[0..n) (four independent lanes over
 * 32-byte strides, then the tail byte by byte). */
static uint64_t hash_block(const unsigned char *p, size_t n, uint64_t seed) {
    uint64_t a = seed + DATA_HASH_P1 + DATA_HASH_P2, b = seed + DATA_HASH_P2,
             c = seed, d = seed - DATA_HASH_P1;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof w);
        a = hash_round(a, w[0]);
        b = hash_round(b, w[1]);
        c = hash_round(c, w[2]);
        d = hash_round(d, w[3]);
    }
    uint64_t h = rotl64(a, 1) + rotl64(b, 7) + rotl64(c, 12) + rotl64(d, 18);
    for (; i < n; i++) h = hash_round(h, p[i]);
    return hash_mix(h ^ (uint64_t)n);
}

/* See data_cache.h.  Block hashes are computed DATA_HASH_BATCH at a time
 * (in parallel) into a local array and folded in order: no allocation. */
uint64_t data_hash(const void *p, size_t n, int threads) {
    const unsigned char *s = p;
    size_t nb = n / DATA_HASH_BLOCK + 1;   /* the last block may be short */
    uint64_t h = DATA_HASH_P3 ^ (uint64_t)n, bh[DATA_HASH_BATCH];
    if (threads < 1) threads = 1;
    for (size_t first = 0; first < nb; first += DATA_HASH_BATCH) {
        size_t m = nb - first < DATA_HASH_BATCH ? nb - first : DATA_HASH_BATCH;
        #pragma omp parallel for num_threads(threads) schedule(static) if (m > 1 && threads > 1)
        for (size_t k = 0; k < m; k++) {
            size_t off = (first + k) * DATA_HASH_BLOCK;
            size_t len = n - off < DATA_HASH_BLOCK ? n - off : DATA_HASH_BLOCK;
            bh[k] = hash_block(s + off, len, first + k);
        }
        for (size_t k = 0; k < m; k++) h = hash_round(h, bh[k]);
    }
    return hash_mix(h);
}

/* ---- paths ----------------------------------------------------------- */

/* See data_cache.h. */
int data_cache_dir(char *out, size_t size, char *err) {
    const char *env = getenv(DATA_CACHE_ENV);
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int k;
    if (env && env[0]) k = snprintf(out, size, "%s", env);
    else if (xdg && xdg[0] == '/') k = snprintf(out, size, "%s/autorec", xdg);
    else if (home && home[0]) k = snprintf(out, size, "%s/.cache/autorec", home);
    else
        return err_set(err, "no directory for the ratings cache: set %s (or "
                       "HOME), or turn the cache off with data.cache: false",
                       DATA_CACHE_ENV);
    if (k < 0 || (size_t)k >= size)
        return err_set(err, "the ratings cache directory path is too long "
                       "(over %zu bytes): set %s to a shorter one",
                       size - 1, DATA_CACHE_ENV);
    return 0;
}

/* See data_cache.h. */
int data_cache_entry(const char *dir, const char *src, DataFormat fmt,
                     char *out, size_t size, char *err) {
    char abs[PATH_MAX];
    if (!realpath(src, abs))
        return err_set(err, "ratings cache: cannot resolve %s: %s", src,
                       strerror(errno));
    size_t len = strlen(abs);
    uint64_t h = hash_round(hash_block((const unsigned char *)abs, len, 0),
                            (uint64_t)fmt);
    int k = snprintf(out, size, "%s/%016llx.ratings", dir,
                     (unsigned long long)hash_mix(h));
    if (k < 0 || (size_t)k >= size)
        return err_set(err, "ratings cache: the entry path in %s is too long: "
                       "set %s to a shorter directory", dir, DATA_CACHE_ENV);
    return 0;
}

/* ---- reading --------------------------------------------------------- */

/* Reads exactly n bytes from fd into p.  Returns 0, or -1 (errno set; 0
 * for a short file). */
static int read_all(int fd, void *p, size_t n) {
    char *c = p;
    while (n > 0) {
        ssize_t k = read(fd, c, n < DATA_CACHE_IO ? n : DATA_CACHE_IO);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0) errno = 0;
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Writes exactly n bytes of p to fd.  Returns 0 or -1 (errno set). */
static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t k = write(fd, c, n < DATA_CACHE_IO ? n : DATA_CACHE_IO);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Fills the header h for n ratings r under key with flags. */
static void cache_header(uint64_t h[DATA_CACHE_WORDS], const DataCacheKey *key,
                         unsigned flags, const Rating *r, size_t n,
                         int threads) {
    h[H_MAGIC] = DATA_CACHE_MAGIC;
    h[H_VERSION] = DATA_CACHE_VERSION;
    h[H_ORDER] = DATA_CACHE_ORDER;
    h[H_RECORD] = sizeof(Rating);
    h[H_FORMAT] = (uint64_t)key->fmt;
    h[H_SIZE] = key->size;
    h[H_MTIME_SEC] = (uint64_t)key->mtime_sec;
    h[H_MTIME_NSEC] = (uint64_t)key->mtime_nsec;
    h[H_HASH] = key->hash;
    h[H_COUNT] = n;
    h[H_FLAGS] = flags;
    h[H_PAYLOAD] = data_hash(r, n * sizeof *r, threads);
    h[H_CHECK] = data_hash(h, H_CHECK * sizeof *h, 1);
}

/* See data_cache.h. */
int data_cache_load(const char *path, const DataCacheKey *key, int threads,
                    Rating **r, size_t *n, unsigned *flags, char *why) {
    uint64_t h[DATA_CACHE_WORDS];
    struct stat st;
    Rating *buf = NULL;
    int rc = DATA_CACHE_CORRUPT;
    *r = NULL;
    *n = 0;
    *flags = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return DATA_CACHE_MISS;
        err_set(why, "cannot open it: %s", strerror(errno));
        return DATA_CACHE_CORRUPT;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err_set(why, "not a regular file");
        goto done;
    }
    if ((size_t)st.st_size < sizeof h || read_all(fd, h, sizeof h)) {
        err_set(why, "shorter than its header (%lld bytes)",
                (long long)st.st_size);
        goto done;
    }
    if (h[H_MAGIC] != DATA_CACHE_MAGIC) {
        err_set(why, "it is not a ratings cache entry (magic)");
        goto done;
    }
    if (h[H_VERSION] != DATA_CACHE_VERSION) {   /* another layout: a miss */
        rc = DATA_CACHE_MISS;
        goto done;
    }
    if (h[H_CHECK] != data_hash(h, H_CHECK * sizeof *h, 1)) {
        err_set(why, "its header does not match its checksum");
        goto done;
    }
    if (h[H_ORDER] != DATA_CACHE_ORDER ||
        h[H_RECORD] != sizeof(Rating) || h[H_FORMAT] != (uint64_t)key->fmt ||
        h[H_SIZE] != key->size ||
        h[H_MTIME_SEC] != (uint64_t)key->mtime_sec ||
        h[H_MTIME_NSEC] != (uint64_t)key->mtime_nsec ||
        h[H_HASH] != key->hash) {
        rc = DATA_CACHE_MISS;   /* another version of the file or of autorec */
        goto done;
    }
    uint64_t count = h[H_COUNT];
    if (count == 0 || count > (SIZE_MAX - sizeof h) / sizeof(Rating) ||
        (uint64_t)st.st_size != sizeof h + count * sizeof(Rating)) {
        err_set(why, "its size (%lld bytes) does not match its %llu ratings",
                (long long)st.st_size, (unsigned long long)count);
        goto done;
    }
    buf = mem_alloc((size_t)count * sizeof *buf);
    if (!buf) {
        err_set(why, "out of memory for %llu cached ratings",
                (unsigned long long)count);
        rc = -1;
        goto done;
    }
    if (read_all(fd, buf, (size_t)count * sizeof *buf)) {
        err_set(why, "cannot read it: %s",
                errno ? strerror(errno) : "it is shorter than its header says");
        goto done;
    }
    if (data_hash(buf, (size_t)count * sizeof *buf, threads) != h[H_PAYLOAD]) {
        err_set(why, "its ratings do not match their checksum");
        goto done;
    }
    *r = buf;
    *n = (size_t)count;
    *flags = (unsigned)h[H_FLAGS];
    buf = NULL;
    rc = DATA_CACHE_HIT;
done:
    mem_free(buf);
    close(fd);
    return rc;
}

/* ---- writing --------------------------------------------------------- */

/* See data_cache.h. */
int data_cache_make_dirs(const char *dir, char *err) {
    char p[DATA_CACHE_PATH_MAX];
    struct stat st;
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return err_set(err, "ratings cache directory %s: path too long", dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return err_set(err, "cannot create the ratings cache directory "
                           "%s: %s (set %s elsewhere or data.cache: false)",
                           p, strerror(errno), DATA_CACHE_ENV);
        *s = c;
        if (c == '\0') break;
    }
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(err, "the ratings cache directory %s is not a "
                       "directory: set %s elsewhere", p, DATA_CACHE_ENV);
    return 0;
}

/* See data_cache.h. */
int data_cache_store(const char *dir, const char *path,
                     const DataCacheKey *key, unsigned flags, const Rating *r,
                     size_t n, int threads, char *err) {
    uint64_t h[DATA_CACHE_WORDS];
    char tmp[DATA_CACHE_PATH_MAX + 64];
    struct timespec ts;
    int fd = -1;
    if (data_cache_make_dirs(dir, err)) return -1;
    cache_header(h, key, flags, r, n, threads);
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int attempt = 0; fd < 0 && attempt < 16; attempt++) {
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lx.%d", path, (long)getpid(),
                 (unsigned long)ts.tv_nsec, attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0 && errno != EEXIST)
            return err_set(err, "cannot create the ratings cache file %s: %s "
                           "(set %s elsewhere or data.cache: false)", tmp,
                           strerror(errno), DATA_CACHE_ENV);
    }
    if (fd < 0)
        return err_set(err, "cannot create a unique ratings cache file "
                       "beside %s: remove stale %s.tmp.* files", path, path);
    if (write_all(fd, h, sizeof h) || write_all(fd, r, n * sizeof *r)) {
        err_set(err, "cannot write the ratings cache file %s: %s", tmp,
                strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) != 0) {
        err_set(err, "cannot write the ratings cache file %s: %s", tmp,
                strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        err_set(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* data.c - reading MovieLens rating files, id mapping and train/test split
 * (see data.h).
 *
 * Every line must be a rating: nothing is skipped silently.  A file is read
 * by the fast reader (data_scan.h: the whole file mapped, parsed in
 * parallel) when it is a regular file of regular lines; otherwise, and to
 * report any error, by the line parser below, which reads it in large
 * chunks (no per-line allocation) and reports a malformed line as
 * "path:LINE:COLUMN: what is wrong: "quoted line"" (COLUMN: the 1-based
 * byte of the bad field).  Both give the same ratings.
 * Parsed files go to the binary cache (data_cache.h, data.cache) and, in a
 * grid worker, to an in-memory memo (data_memo.h).  Duplicate (user, item)
 * pairs, within one file or across the train and test files, are refused;
 * they are found by radix-sorting the keys user * (max item + 1) + item, so
 * loading stays O(n) even for ML-10M sized files.
 *
 * Id mapping: ml-100k and ml-1m ids are 1-based and dense-ish, so the dense
 * index is id - 1 and the dimensions are the maximum ids (as the d2l
 * reference does).  csv ids (ml-latest) are sparse: the sorted unique ids
 * are mapped to 0..n-1.
 *
 * No global mutable state. */
#include "data.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_cache.h"
#include "data_memo.h"
#include "data_scan.h"
#include "err.h"
#include "mem.h"
#include "rng.h"

#define DATA_CHUNK (1u << 20)  /* bytes read per fread */
/* Longest line accepted: a rating line is under 100 bytes, so a longer one
 * means the file is not ratings (and the reader never needs more than one
 * chunk of memory, whatever the file). */
#define DATA_LINE_MAX (64u * 1024)
_Static_assert(DATA_LINE_MAX + 1 < DATA_CHUNK / 2, "a chunk holds a line");
#define DATA_QUOTE_MAX 80      /* characters of a line quoted in messages */
#define DATA_RATING_MAX 10.0   /* ratings must lie in (0, 10] */
#define DATA_JOIN_MAX (2 * CFG_PATH_MAX + 16)
#define DATA_FIELD_MAX 40      /* characters of a field quoted in messages */
#define DATA_FIELD_BUF (DATA_FIELD_MAX * 4 + 8)
/* ml-100k / ml-1m map ids densely (index = id - 1); ids larger than this
 * (and than 16 x the number of ratings) would allocate absurd matrices. */
#define DATA_DENSE_ID_FLOOR (1 << 20)
/* Random-number stream of the train/test split (see rng_seed). */
#define DATA_SPLIT_STREAM 0x5b117
/* Random-number stream of the validation split. */
#define DATA_VAL_STREAM 0x7a11d

/* ---- small helpers --------------------------------------------------- */

/* Returns the default ratings file name inside a data directory. */
static const char *data_default_file(DataFormat f) {
    switch (f) {
    case DATA_ML100K: return "u.data";
    case DATA_ML1M: return "ratings.dat";
    case DATA_CSV: return "ratings.csv";
    }
    return "?";
}

/* Returns a human description of the expected line layout. */
static const char *data_layout(DataFormat f) {
    switch (f) {
    case DATA_ML100K: return "4 TAB-separated fields (user item rating timestamp)";
    case DATA_ML1M: return "4 '::'-separated fields (user::item::rating::timestamp)";
    case DATA_CSV: return "4 comma-separated fields (userId,movieId,rating,timestamp)";
    }
    return "?";
}

/* Writes s[0..n) into out (size >= max * 4 + 8) with control characters,
 * bytes >= 0x7f (never part of a rating line, and maybe not UTF-8), quotes
 * and backslashes escaped, truncated to max characters ("..."
 * appended).  Returns out (caller-owned buffer). */
static char *data_escape(const char *s, size_t n, size_t max, char *out) {
    size_t o = 0, i;
    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t') { out[o++] = '\\'; out[o++] = 't'; }
        else if (c == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
        else if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; }
        else if (c < 0x20 || c >= 0x7f) {   /* ratings are ASCII */
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
        } else out[o++] = (char)c;
    }
    if (i < n) { memcpy(out + o, "...", 3); o += 3; }
    out[o] = '\0';
    return out;
}

/* Writes line[0..n) into out (DATA_QUOTE_MAX * 4 + 8 bytes) double-quoted,
 * escaped and truncated to DATA_QUOTE_MAX characters (then followed by
 * "...").  Returns out (caller-owned buffer). */
static char *data_quote(const char *line, size_t n, char *out) {
    int cut = n > DATA_QUOTE_MAX;
    out[0] = '"';
    data_escape(line, cut ? DATA_QUOTE_MAX : n, DATA_QUOTE_MAX, out + 1);
    strcat(out, cut ? "\"..." : "\"");
    return out;
}

/* Joins dir and name into out (DATA_JOIN_MAX bytes).  Returns 0, or -1 if
 * the result would not fit. */
static int data_join(char *out, const char *dir, const char *name) {
    size_t dl = strlen(dir);
    int k = snprintf(out, DATA_JOIN_MAX, "%s%s%s", dir,
                     (dl > 0 && dir[dl - 1] != '/') ? "/" : "", name);
    return (k < 0 || k >= DATA_JOIN_MAX) ? -1 : 0;
}

/* ---- chunked line reader --------------------------------------------- */

/* Lines of a file read in chunks, or of a buffer already in memory (f NULL,
 * eof set, buf holding the whole text). */
typedef struct {
    FILE *f;
    char *buf;         /* owned; always one spare byte for a NUL */
    size_t cap, pos, len;
    int eof;
} LineReader;

/* Returns the next line (NUL-terminated, newline removed, may contain NUL
 * bytes; its length in *n) in *line, pointing into the reader's buffer.
 * Returns 1 for a line, 0 at end of file, -1 on a read error (errno set) or
 * -2 for a line longer than DATA_LINE_MAX. */
static int data_next_line(LineReader *r, char **line, size_t *n) {
    for (;;) {
        char *start = r->buf + r->pos;
        size_t avail = r->len - r->pos;
        char *nl = memchr(start, '\n', avail);
        if (nl || r->eof) {
            if (!nl && avail == 0) return 0;
            size_t len = nl ? (size_t)(nl - start) : avail;
            if (len > DATA_LINE_MAX) return -2;
            start[len] = '\0';   /* the newline, or the spare byte at the end */
            *line = start;
            *n = len;
            r->pos += len + (nl != NULL);
            return 1;
        }
        if (avail > DATA_LINE_MAX) return -2;
        /* keep the partial line (at most DATA_LINE_MAX bytes), then refill */
        if (r->pos > 0) {
            memmove(r->buf, start, avail);
            r->len = avail;
            r->pos = 0;
        }
        assert(r->f && r->len + 1 < r->cap);
        size_t got = fread(r->buf + r->len, 1, r->cap - 1 - r->len, r->f);
        if (got == 0) {
            if (ferror(r->f)) return -1;
            r->eof = 1;
        }
        r->len += got;
    }
}

/* ---- growing rating vector ------------------------------------------- */

typedef struct {
    Rating *r;   /* owned; raw ids until mapped */
    size_t n, cap;
} RatingVec;

/* Appends one rating.  Returns 0, or -1 when out of memory. */
static int data_vec_push(RatingVec *v, Rating x) {
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 4096;
        if (nc < v->cap || nc > SIZE_MAX / sizeof(Rating)) return -1;
        Rating *nr = mem_realloc(v->r, nc * sizeof(Rating));
        if (!nr) return -1;
        v->r = nr;
        v->cap = nc;
    }
    v->r[v->n++] = x;
    return 0;
}

/* ---- line parsing ---------------------------------------------------- */

/* Splits s[0..n) at the format's separator; records up to 4 fields in
 * beg/end.  Returns the total number of fields. */
static size_t data_split_fields(const char *s, size_t n, DataFormat fmt,
                                const char *beg[4], const char *end[4]) {
    const char *p = s, *lim = s + n;
    size_t count = 0;
    for (;;) {
        const char *q = p, *sep = NULL;
        size_t seplen = fmt == DATA_ML1M ? 2 : 1;
        char c = fmt == DATA_ML100K ? '\t' : fmt == DATA_ML1M ? ':' : ',';
        while (q < lim && (q = memchr(q, c, (size_t)(lim - q))) != NULL) {
            if (seplen == 1 || (q + 1 < lim && q[1] == ':')) { sep = q; break; }
            q++;
        }
        if (count < 4) {
            beg[count] = p;
            end[count] = sep ? sep : lim;
        }
        count++;
        if (!sep) return count;
        p = sep + seplen;
    }
}

/* Returns 1 when [b, e) is non-empty and all ASCII digits. */
static int data_all_digits(const char *b, const char *e) {
    if (b == e) return 0;
    for (; b < e; b++)
        if (*b < '0' || *b > '9') return 0;
    return 1;
}

/* Formats "<prefix><field><suffix>" into what, the field [b, e) escaped and
 * truncated (only done on errors, keeping the fast path free of it).
 * Returns -1. */
static int data_field_err(char *what, const char *prefix, const char *b,
                          const char *e, const char *suffix) {
    char f[DATA_FIELD_BUF];
    data_escape(b, (size_t)(e - b), DATA_FIELD_MAX, f);
    return err_set(what, "%s%s%s", prefix, f, suffix);
}

/* Parses an id field [b, e) into *out (1..INT32_MAX).  Returns 0, or -1 with
 * a description of the problem in what (ERR_MAX bytes). */
static int data_parse_id(const char *b, const char *e, const char *name,
                         int32_t *out, char *what) {
    char pre[32];
    if (b == e) return err_set(what, "empty %s field", name);
    if (!data_all_digits(b, e)) {
        snprintf(pre, sizeof pre, "%s '", name);
        return data_field_err(what, pre, b, e, "' is not a positive integer");
    }
    errno = 0;
    char *stop;
    long long v = strtoll(b, &stop, 10);
    snprintf(pre, sizeof pre, "%s ", name);
    if (stop != e || errno == ERANGE || v > INT32_MAX)
        return data_field_err(what, pre, b, e, " is out of range 1..2147483647");
    if (v <= 0)
        return data_field_err(what, pre, b, e, " is not positive (ids start at 1)");
    *out = (int32_t)v;
    return 0;
}

/* Parses a rating field [b, e) (digits with at most one '.') into *out,
 * within (0, DATA_RATING_MAX].  Returns 0 or -1 with what filled. */
static int data_parse_rating(const char *b, const char *e, float *out,
                             char *what) {
    int dots = 0, digits = 0;
    if (b == e) return err_set(what, "empty rating field");
    for (const char *p = b; p < e; p++) {
        if (*p == '.') dots++;
        else if (*p >= '0' && *p <= '9') digits++;
        else { digits = -1; break; }
    }
    if (digits <= 0 || dots > 1)
        return data_field_err(what, "rating '", b, e, "' is not a number");
    char *stop;
    double v = strtod(b, &stop);
    if (stop != e)
        return data_field_err(what, "rating '", b, e, "' is not a number");
    if (!isfinite(v) || !(v > 0.0) || v > DATA_RATING_MAX)
        return data_field_err(what, "rating ", b, e, " is outside (0, 10]");
    /* ratings are stored as floats, where 0 means "not rated" */
    if ((float)v == 0.0f)
        return data_field_err(what, "rating ", b, e, " is too small: it "
                              "rounds to 0 in single precision (ratings lie "
                              "in (0, 10])");
    *out = (float)v;
    return 0;
}

/* Checks that the timestamp field [b, e) is a non-negative integer.
 * Returns 0 or -1 with what filled. */
static int data_check_timestamp(const char *b, const char *e, char *what) {
    if (b == e) return err_set(what, "empty timestamp field");
    if (!data_all_digits(b, e))
        return data_field_err(what, "timestamp '", b, e,
                              "' is not a non-negative integer");
    errno = 0;
    char *stop;
    (void)strtoll(b, &stop, 10);
    if (stop != e || errno == ERANGE)
        return data_field_err(what, "timestamp ", b, e, " is out of range");
    return 0;
}

/* Parses one rating line s[0..n) of format fmt into *out (raw ids).
 * Returns 0, or -1 with what (ERR_MAX bytes) describing the problem and
 * *col the 1-based byte column it is at: the bad field's first byte; for a
 * wrong field count, where the missing field would start (after the line)
 * or the first extra field. */
static int data_parse_line(const char *s, size_t n, DataFormat fmt,
                           Rating *out, char *what, size_t *col) {
    const char *b[4], *e[4];
    *col = 1;
    if (n == 0) return err_set(what, "empty line (expected %s)", data_layout(fmt));
    size_t nf = data_split_fields(s, n, fmt, b, e);
    if (nf != 4) {
        const char *hint = "";
        *col = nf < 4 ? n + 1
                      : (size_t)(e[3] - s) + (fmt == DATA_ML1M ? 2 : 1) + 1;
        if (fmt != DATA_ML100K && memchr(s, '\t', n))
            hint = " (the line is TAB-separated: is the format ml-100k?)";
        else if (fmt != DATA_ML1M && nf == 1 && memchr(s, ':', n))
            hint = " (the line uses '::': is the format ml-1m?)";
        else if (fmt != DATA_CSV && nf == 1 && memchr(s, ',', n))
            hint = " (the line is comma-separated: is the format csv?)";
        return err_set(what, "expected %s, found %zu field%s%s",
                       data_layout(fmt), nf, nf == 1 ? "" : "s", hint);
    }
    int bad = data_parse_id(b[0], e[0], "user id", &out->user, what) ? 0
            : data_parse_id(b[1], e[1], "item id", &out->item, what) ? 1
            : data_parse_rating(b[2], e[2], &out->rating, what)      ? 2
            : data_check_timestamp(b[3], e[3], what)                 ? 3
                                                                     : -1;
    if (bad < 0) return 0;
    *col = (size_t)(b[bad] - s) + 1;
    return -1;
}

/* Checks the csv header line s[0..n).  Returns 0 or -1 with what filled. */
static int data_check_csv_header(const char *s, size_t n, char *what) {
    static const char *const want[3] = {"userId", "movieId", "rating"};
    const char *b[4], *e[4];
    size_t nf = data_split_fields(s, n, DATA_CSV, b, e);
    int ok = nf == 4 && e[3] > b[3];
    for (int i = 0; ok && i < 3; i++) {
        size_t len = (size_t)(e[i] - b[i]);
        ok = len == strlen(want[i]) && strncasecmp(b[i], want[i], len) == 0;
    }
    if (ok) return 0;
    int numeric = n > 0 && s[0] >= '0' && s[0] <= '9';
    return err_set(what,
                   "expected the csv header userId,movieId,rating,timestamp%s",
                   numeric ? " (the file has no header line: add one)" : "");
}

/* Reads every rating line of r (the file `path`, format fmt) and appends
 * it to v with raw ids.  Returns 0, or -1 with err naming the file (and
 * line). */
static int data_read_lines(LineReader *r, const char *path, DataFormat fmt,
                           RatingVec *v, char *err) {
    char what[ERR_MAX], quoted[DATA_QUOTE_MAX * 4 + 8];
    size_t line_no = 0, first = v->n;
    for (;;) {
        char *s;
        size_t n;
        int k = data_next_line(r, &s, &n);
        if (k == 0) break;
        if (k == -1)
            return err_set(err, "%s: read error: %s", path, strerror(errno));
        if (k == -2)
            return err_set(err, "%s:%zu: line is longer than %u bytes (a "
                           "rating line is short: is this a ratings file?)",
                           path, line_no + 1, DATA_LINE_MAX);
        line_no++;
        if (n > 0 && s[n - 1] == '\r') s[--n] = '\0';   /* CRLF */
        size_t bom = 0;   /* bytes before s on the line (columns) */
        if (line_no == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;                                     /* UTF-8 BOM */
            n -= 3;
            bom = 3;
        }
        if (fmt == DATA_CSV && line_no == 1) {
            if (data_check_csv_header(s, n, what))
                return err_set(err, "%s:1:%zu: %s: %s", path, bom + 1, what,
                               data_quote(s, n, quoted));
            continue;
        }
        Rating x;
        size_t col;
        if (data_parse_line(s, n, fmt, &x, what, &col))
            return err_set(err, "%s:%zu:%zu: %s: %s", path, line_no,
                           col + bom, what, data_quote(s, n, quoted));
        if (data_vec_push(v, x))
            return err_set(err, "%s:%zu: out of memory", path, line_no);
    }
    if (v->n == first)
        return err_set(err, "%s: no ratings (the file is %s)", path,
                       line_no == 0 ? "empty" : "only a header");
    return 0;
}

/* The line parser: reads every rating of the file at path (format fmt) in
 * chunks and appends it to v with raw ids.  Returns 0, or -1 with err
 * naming the file (and line). */
static int data_read_ref(const char *path, DataFormat fmt, RatingVec *v,
                         char *err) {
    LineReader r = {0};
    int rc = -1;
    struct stat st;

    /* a FIFO would block the open (and a device never end): refused
     * before opening */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        err_set(err, "%s is %s, not a ratings file (check data.path / the "
                "split files)", path, S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
                : S_ISSOCK(st.st_mode) ? "a socket" : "a device or special file");
        goto done;
    }
    r.f = fopen(path, "rb");
    if (!r.f) {
        err_set(err, "cannot open %s: %s (check data.path / the split files)",
                path, strerror(errno));
        goto done;
    }
    if (fstat(fileno(r.f), &st) == 0 && S_ISDIR(st.st_mode)) {
        err_set(err, "%s is a directory, expected a ratings file", path);
        goto done;
    }
    r.cap = DATA_CHUNK;
    r.buf = mem_alloc(r.cap);
    if (!r.buf) {
        err_set(err, "%s: out of memory", path);
        goto done;
    }
    rc = data_read_lines(&r, path, fmt, v, err);
done:
    if (r.f) fclose(r.f);
    mem_free(r.buf);
    return rc;
}

/* ---- fast reader, cache and memo ------------------------------------ */

/* Returns the number of online cores (train.threads: 0), at least 1. */
static int data_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
}

/* How data_read_file reads one file. */
typedef struct {
    int mode;         /* DATA_READ_* */
    int cache;        /* data.cache */
    int threads;      /* for parsing and hashing */
    DataMemo *memo;   /* may be NULL */
} DataReadOpts;

/* Runs data_scan over the file image t[0..len) after its UTF-8 BOM and csv
 * header (checked as the line parser checks them).  Returns what data_scan
 * returns (DATA_SCAN_GIVE_UP also for a header the line parser must
 * report). */
static int data_scan_image(const char *t, size_t len, DataFormat fmt,
                           int threads, Rating **r, size_t *n) {
    char what[ERR_MAX];
    size_t bom = 0;
    if (len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0) bom = 3;
    const char *nl = memchr(t, '\n', len);
    size_t first = nl ? (size_t)(nl - t) : len;   /* line 1, with the BOM */
    if (first > DATA_LINE_MAX) return DATA_SCAN_GIVE_UP;
    if (fmt == DATA_CSV) {
        size_t hn = first - bom;
        if (!nl) return DATA_SCAN_GIVE_UP;
        if (hn > 0 && t[bom + hn - 1] == '\r') hn--;
        if (data_check_csv_header(t + bom, hn, what)) return DATA_SCAN_GIVE_UP;
        bom = first + 1;   /* skip the whole header line */
    }
    return data_scan(t + bom, len - bom, fmt, threads, DATA_LINE_MAX, r, n);
}

/* A ratings cache entry of one file: read, or to be written once the
 * ratings passed the duplicate check (data_cache_note_store). */
typedef struct {
    int store;          /* 1: write the entry below */
    int dup_free;       /* the ratings came from an entry flagged
                           DATA_CACHE_DUP_FREE */
    DataCacheKey key;
    char dir[DATA_CACHE_PATH_MAX], entry[DATA_CACHE_PATH_MAX];
    const char *path;   /* the ratings file (messages) */
} DataCacheNote;

/* Reads the whole regular file open as fd (st its status) with the fast
 * path: its cache entry when ro->cache and it is valid, else data_scan.
 * On a miss, note is set up to store the entry later.  Returns 0 with *r
 * and *n (owned by the caller), DATA_SCAN_GIVE_UP when the line parser must
 * read it (nothing set), or -1 with err. */
static int data_read_fast(int fd, const struct stat *st, const char *path,
                          DataFormat fmt, const DataReadOpts *ro,
                          DataCacheNote *note, Rating **r, size_t *n,
                          char *err) {
    char why[ERR_MAX];
    size_t size = (size_t)st->st_size;
    int use_cache = ro->cache && ro->mode == DATA_READ_AUTO, rc;
    DataCacheKey *key = &note->key;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) return DATA_SCAN_GIVE_UP;
    note->path = path;
    if (use_cache) {
        key->fmt = fmt;
        key->size = (uint64_t)size;
        key->mtime_sec = (int64_t)st->st_mtim.tv_sec;
        key->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
        key->hash = data_hash(map, size, ro->threads);
        if (data_cache_dir(note->dir, sizeof note->dir, why) ||
            data_cache_entry(note->dir, path, fmt, note->entry,
                             sizeof note->entry, why)) {
            fprintf(stderr, "autorec: note: %s; %s is parsed without it\n",
                    why, path);
            use_cache = 0;
        }
    }
    if (use_cache) {
        unsigned flags;
        rc = data_cache_load(note->entry, key, ro->threads, r, n, &flags, why);
        if (rc == DATA_CACHE_HIT) {
            munmap(map, size);
            note->dup_free = (flags & DATA_CACHE_DUP_FREE) != 0;
            return 0;
        }
        if (rc < 0) {
            munmap(map, size);
            return err_set(err, "%s: %s", path, why);
        }
        if (rc == DATA_CACHE_CORRUPT)
            fprintf(stderr, "autorec: note: the ratings cache entry %s of %s "
                    "cannot be trusted (%s): parsing the file again and "
                    "replacing it\n", note->entry, path, why);
        note->store = 1;
    }
    rc = data_scan_image(map, size, fmt, ro->threads, r, n);
    munmap(map, size);
    if (rc == DATA_SCAN_OOM) return err_set(err, "%s: out of memory", path);
    return rc;
}

/* Writes the cache entry of note (when it is to be stored) holding the n
 * raw ratings r, which passed the duplicate check.  A failure is only
 * reported on stderr: the ratings are used anyway. */
static void data_cache_note_store(const DataCacheNote *note, const Rating *r,
                                  size_t n, int threads) {
    char why[ERR_MAX];
    if (!note->store || n == 0) return;
    if (data_cache_store(note->dir, note->entry, &note->key,
                         DATA_CACHE_DUP_FREE, r, n, threads, why))
        fprintf(stderr, "autorec: note: %s (the ratings of %s were parsed "
                "and are used anyway)\n", why, note->path);
}

/* Reads the raw ratings of the file at path (format fmt) as ro says into
 * *r (owned by the caller, mem_free) and *n; note (zeroed by the caller)
 * records the file's cache entry.  Returns 0, 1 when mode
 * DATA_READ_SCAN gave up, or -1 with err naming the file (and line). */
static int data_read_file(const char *path, DataFormat fmt,
                          const DataReadOpts *ro, DataCacheNote *note,
                          Rating **r, size_t *n, char *err) {
    struct stat st;
    RatingVec v = {0};
    DataMemoKey mk;
    int rc = DATA_SCAN_GIVE_UP, have_key = 0;
    *r = NULL;
    *n = 0;
    /* only a regular file is opened here: opening a FIFO would block, and
     * closing it again would lose its writer */
    int fd = ro->mode == DATA_READ_LINES || stat(path, &st) != 0 ||
                     !S_ISREG(st.st_mode)
                 ? -1
                 : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > 0 && (uint64_t)st.st_size < SIZE_MAX) {
        memset(&mk, 0, sizeof mk);
        mk.dev = (uint64_t)st.st_dev;
        mk.ino = (uint64_t)st.st_ino;
        mk.size = (uint64_t)st.st_size;
        mk.mtime_sec = (int64_t)st.st_mtim.tv_sec;
        mk.mtime_nsec = (int64_t)st.st_mtim.tv_nsec;
        mk.fmt = fmt;
        have_key = 1;
        const Rating *m = data_memo_find(ro->memo, &mk, n);
        if (m) {
            close(fd);
            if (!(*r = mem_alloc(*n * sizeof **r)))
                return err_set(err, "%s: out of memory", path);
            memcpy(*r, m, *n * sizeof **r);
            return 0;
        }
        rc = data_read_fast(fd, &st, path, fmt, ro, note, r, n, err);
    }
    if (fd >= 0) close(fd);
    if (rc == DATA_SCAN_GIVE_UP) {
        if (ro->mode == DATA_READ_SCAN) return 1;
        if (data_read_ref(path, fmt, &v, err)) {
            mem_free(v.r);
            return -1;
        }
        *r = v.r;
        *n = v.n;
        rc = 0;
    }
    if (rc == 0 && ro->memo && have_key && *n > 0)
        (void)data_memo_put(ro->memo, &mk, *r, *n);   /* optional */
    return rc;
}

/* Appends the n ratings r (owned, consumed) to v.  Returns 0 or -1 with
 * err. */
static int data_vec_take(RatingVec *v, Rating *r, size_t n, const char *path,
                         char *err) {
    if (v->n == 0) {
        mem_free(v->r);
        v->r = r;
        v->n = v->cap = n;
        return 0;
    }
    if (n > SIZE_MAX / sizeof(Rating) - v->n) {
        mem_free(r);
        return err_set(err, "%s: too many ratings", path);
    }
    Rating *nr = mem_realloc(v->r, (v->n + n) * sizeof(Rating));
    if (!nr) {
        mem_free(r);
        return err_set(err, "%s: out of memory", path);
    }
    memcpy(nr + v->n, r, n * sizeof(Rating));
    mem_free(r);
    v->r = nr;
    v->n += n;
    v->cap = v->n;
    return 0;
}

/* Reads the file at path as ro says (its cache entry in note) and appends
 * its ratings to v.  Returns 0 or -1 with err. */
static int data_read_into(const char *path, DataFormat fmt,
                          const DataReadOpts *ro, DataCacheNote *note,
                          RatingVec *v, char *err) {
    Rating *r;
    size_t n;
    if (data_read_file(path, fmt, ro, note, &r, &n, err)) return -1;
    return data_vec_take(v, r, n, path, err);
}

/* See data.h. */
int data_read_raw(const char *path, DataFormat fmt, int mode, int threads,
                  Rating **r, size_t *n, char *err) {
    DataReadOpts ro = {mode, 0, threads, NULL};
    DataCacheNote note;
    memset(&note, 0, sizeof note);
    return data_read_file(path, fmt, &ro, &note, r, n, err);
}

/* ---- sorting and id mapping ------------------------------------------ */

/* Sorts the n keys in a (LSD radix, 11-bit digits) using tmp (n entries) as
 * scratch.  Returns whichever of a and tmp holds the sorted keys. */
static uint64_t *data_radix_sort(uint64_t *a, uint64_t *tmp, size_t n) {
    size_t count[2048];
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++) max |= a[i];
    for (int shift = 0; shift < 64 && (max >> shift) != 0; shift += 11) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++) count[(a[i] >> shift) & 2047]++;
        if (n == 0 || count[(a[0] >> shift) & 2047] == n) continue;
        size_t sum = 0;
        for (int d = 0; d < 2048; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) tmp[count[(a[i] >> shift) & 2047]++] = a[i];
        uint64_t *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}

/* Returns the index of key in the sorted array a[0..n), or -1. */
static ptrdiff_t data_bsearch(const uint64_t *a, size_t n, uint64_t key) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return (lo < n && a[lo] == key) ? (ptrdiff_t)lo : -1;
}

/* Where rating i came from, for messages. */
typedef struct {
    const char *path[2];
    size_t n_first;   /* ratings [0, n_first) are from path[0] */
    int header;       /* 1 when the files have a header line (csv) */
} Origin;

/* Sets *path and returns the 1-based line of rating i. */
static size_t data_origin_line(const Origin *o, size_t i, const char **path) {
    int second = i >= o->n_first;
    *path = o->path[second];
    return (second ? i - o->n_first : i) + 1 + (size_t)o->header;
}

/* Refuses duplicate (user, item) pairs among v's raw ratings, reporting the
 * earliest second occurrence.  keys/tmp are scratch arrays of v->n entries.
 * Returns 0 or -1 with err. */
static int data_check_duplicates(const RatingVec *v, const Origin *o,
                                 uint64_t *keys, uint64_t *tmp, char *err) {
    size_t n = v->n, d = 0;
    /* key = user * (max item + 1) + item: one per pair, and as few bits
     * (radix passes) as the ids need */
    uint64_t stride = 1;
    for (size_t i = 0; i < n; i++)
        if ((uint64_t)v->r[i].item >= stride) stride = (uint64_t)v->r[i].item + 1;
    for (size_t i = 0; i < n; i++)
        keys[i] = (uint64_t)v->r[i].user * stride + (uint64_t)v->r[i].item;
    uint64_t *s = data_radix_sort(keys, tmp, n);
    uint64_t *other = s == keys ? tmp : keys;
    for (size_t i = 1; i < n; i++)
        if (s[i] == s[i - 1] && (d == 0 || s[d - 1] != s[i])) s[d++] = s[i];
    if (d == 0) return 0;
    /* error path: find the duplicate whose second occurrence comes first */
    memset(other, 0, d * sizeof *other);          /* first index + 1 */
    for (size_t i = 0; i < n; i++) {
        uint64_t k = (uint64_t)v->r[i].user * stride + (uint64_t)v->r[i].item;
        ptrdiff_t j = data_bsearch(s, d, k);
        if (j < 0) continue;
        if (other[j] == 0) { other[j] = i + 1; continue; }
        const char *p1, *p2;
        size_t l1 = data_origin_line(o, (size_t)other[j] - 1, &p1);
        size_t l2 = data_origin_line(o, i, &p2);
        return err_set(err,
                       "%s:%zu: duplicate rating of item %d by user %d, already "
                       "rated at %s:%zu: each (user, item) pair may appear "
                       "once; remove one of the two lines",
                       p2, l2, (int)v->r[i].item, (int)v->r[i].user, p1, l1);
    }
    assert(0 && "duplicate key not found again");
    return err_set(err, "internal error in duplicate detection");
}

/* Builds the id table for one side (user or item): fills *ids_out (owned by
 * the caller) and *count, and rewrites the raw ids in v to dense indices.
 * Returns 0 or -1 with err. */
static int data_map_ids(RatingVec *v, DataFormat fmt, int users,
                        const Origin *o, uint64_t *keys, uint64_t *tmp,
                        int64_t **ids_out, int *count, char *err) {
    size_t n = v->n;
    const char *side = users ? "user" : "item";
    if (fmt == DATA_ML100K || fmt == DATA_ML1M) {
        int32_t mx = 0;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t id = users ? v->r[i].user : v->r[i].item;
            if (id > mx) { mx = id; at = i; }
        }
        size_t limit = n > SIZE_MAX / 16 ? SIZE_MAX : n * 16;
        if (limit < DATA_DENSE_ID_FLOOR) limit = DATA_DENSE_ID_FLOOR;
        if ((size_t)mx > limit) {
            const char *p;
            size_t line = data_origin_line(o, at, &p);
            return err_set(err,
                           "%s:%zu: %s id %d is far larger than the number of "
                           "ratings; format %s maps ids densely (index = id - "
                           "1): use format csv for sparse ids",
                           p, line, side, (int)mx, cfg_format_name(fmt));
        }
        int64_t *ids = mem_alloc((size_t)mx * sizeof *ids);
        if (!ids) return err_set(err, "out of memory for %d %s ids", (int)mx, side);
        for (int32_t k = 0; k < mx; k++) ids[k] = (int64_t)k + 1;
        for (size_t i = 0; i < n; i++) {
            if (users) v->r[i].user -= 1;
            else v->r[i].item -= 1;
        }
        *ids_out = ids;
        *count = (int)mx;
        return 0;
    }
    /* csv: sorted unique ids -> 0..m-1 */
    for (size_t i = 0; i < n; i++)
        keys[i] = (uint64_t)(users ? v->r[i].user : v->r[i].item);
    uint64_t *s = data_radix_sort(keys, tmp, n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || s[m - 1] != s[i]) s[m++] = s[i];
    assert(m >= 1 && m <= INT32_MAX);
    int64_t *ids = mem_alloc(m * sizeof *ids);
    if (!ids) return err_set(err, "out of memory for %zu %s ids", m, side);
    for (size_t k = 0; k < m; k++) ids[k] = (int64_t)s[k];
    /* a direct lookup table when the ids are not too sparse, else bsearch;
     * the table is optional, so failing to allocate it is not an error */
    uint64_t max_id = s[m - 1];
    int32_t *table = NULL;
    if (max_id <= (uint64_t)n * 4 || max_id <= (1u << 22))
        table = mem_alloc(((size_t)max_id + 1) * sizeof *table);
    if (table)
        for (size_t k = 0; k < m; k++) table[s[k]] = (int32_t)k;
    for (size_t i = 0; i < n; i++) {
        int32_t *f = users ? &v->r[i].user : &v->r[i].item;
        if (table) {
            *f = table[*f];
        } else {
            ptrdiff_t j = data_bsearch(s, m, (uint64_t)*f);
            assert(j >= 0);
            *f = (int32_t)j;
        }
    }
    mem_free(table);
    *ids_out = ids;
    *count = (int)m;
    return 0;
}

/* ---- split ----------------------------------------------------------- */

/* Allocates an array of n ratings (n may be 0).  Returns it or NULL. */
static Rating *data_alloc_ratings(size_t n) {
    if (n > SIZE_MAX / sizeof(Rating)) return NULL;
    return mem_alloc((n ? n : 1) * sizeof(Rating));
}

/* ---- public ---------------------------------------------------------- */

/* Resolves the split file `name` against data.path (see data.h) into out.
 * Returns 0 or -1 with err. */
static int data_resolve(const Config *cfg, const char *key, const char *name,
                        char *out, char *err) {
    struct stat st;
    if (name[0] == '\0')
        return err_set(err, "data.split.kind is files but %s is empty: set it "
                            "to the ratings file", key);
    if (name[0] == '/' || cfg->data_path[0] == '\0') {
        if (strlen(name) >= DATA_JOIN_MAX)
            return err_set(err, "%s is too long", key);
        strcpy(out, name);
        return 0;
    }
    char base[DATA_JOIN_MAX];
    if (stat(cfg->data_path, &st) != 0)
        return err_set(err,
                       "data.path %s: %s (relative %s '%s' is resolved against "
                       "it): fix data.path or use an absolute path",
                       cfg->data_path, strerror(errno), key, name);
    if (S_ISDIR(st.st_mode)) {
        strcpy(base, cfg->data_path);
    } else {
        strcpy(base, cfg->data_path);
        char *slash = strrchr(base, '/');
        if (!slash) strcpy(base, ".");
        else if (slash == base) base[1] = '\0';
        else *slash = '\0';
    }
    if (data_join(out, base, name))
        return err_set(err, "path of %s (%s/%s) is too long", key, base, name);
    return 0;
}

static int data_finish(const Config *cfg, SplitKind kind, RatingVec *vp,
                       const Origin *op, const DataCacheNote notes[2],
                       int threads, Dataset *ds, char *err);

/* Resolves the train and test files of a files or folds split (fold f =
 * data.split.index + 1 reads uF.base and uF.test) into train and test
 * (DATA_JOIN_MAX bytes each).  Returns 0 or -1 with err. */
static int data_split_files(const Config *cfg, char *train, char *test,
                            char *err) {
    char base[32], tst[32];
    if (cfg->split_kind != SPLIT_FOLDS)
        return data_resolve(cfg, "data.split.train_file", cfg->train_file,
                            train, err) ||
               data_resolve(cfg, "data.split.test_file", cfg->test_file,
                            test, err) ? -1 : 0;
    snprintf(base, sizeof base, "u%d.base", cfg->split_index + 1);
    snprintf(tst, sizeof tst, "u%d.test", cfg->split_index + 1);
    if (data_resolve(cfg, "fold file", base, train, err) ||
        data_resolve(cfg, "fold file", tst, test, err))
        return -1;
    return 0;
}

/* See data.h. */
int data_check_folds(const Config *cfg, char *err) {
    char train[DATA_JOIN_MAX], test[DATA_JOIN_MAX];
    struct stat st;
    assert(cfg);
    if (cfg->split_kind != SPLIT_FOLDS) return 0;
    for (int f = 0; f < CFG_FOLDS; f++) {
        Config c = *cfg;
        c.split_index = f;
        if (data_split_files(&c, train, test, err)) return -1;
        for (int k = 0; k < 2; k++) {
            const char *path = k ? test : train;
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                return err_set(err, "data.split.kind folds: fold %d's %s "
                               "file %s: %s (kind folds reads u1.base/u1.test "
                               "... u%d.base/u%d.test beside data.path %s)",
                               f + 1, k ? "test" : "training", path,
                               stat(path, &st) ? strerror(errno)
                                               : "not a regular file",
                               CFG_FOLDS, CFG_FOLDS, cfg->data_path);
        }
    }
    return 0;
}

/* See data.h. */
int data_ratings_file(const Config *cfg, char *out, size_t size, char *err) {
    struct stat st;
    const char *def = data_default_file(cfg->data_format);
    if (cfg->data_path[0] == '\0')
        return err_set(err, "data.path is empty: set it to a ratings file or "
                       "a directory holding one");
    if (stat(cfg->data_path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (snprintf(out, size, "%s", cfg->data_path) >= (int)size)
            return err_set(err, "data.path %s is too long", cfg->data_path);
        return 0;
    }
    if (size < DATA_JOIN_MAX || data_join(out, cfg->data_path, def))
        return err_set(err, "data.path %s is too long", cfg->data_path);
    if (stat(out, &st) != 0)
        return err_set(err, "cannot open %s: %s (data.path is a directory; "
                       "format %s expects %s in it)", out, strerror(errno),
                       cfg_format_name(cfg->data_format), def);
    return 0;
}

/* See data.h.  On failure *ds is left zeroed. */
int data_load_memo(const Config *cfg, DataMemo *memo, Dataset *ds,
                   char *err) {
    RatingVec v = {0};
    DataReadOpts ro = {DATA_READ_AUTO, cfg->data_cache,
                       cfg->threads > 0 ? cfg->threads : data_cores(),
                       memo};
    char path[2][DATA_JOIN_MAX];
    Origin o = {{path[0], path[1]}, 0, 0};
    int rc = -1;
    DataCacheNote notes[2];

    assert(cfg && ds);
    memset(ds, 0, sizeof *ds);
    memset(notes, 0, sizeof notes);
    o.header = cfg->data_format == DATA_CSV;

    if (cfg->split_kind == SPLIT_RANDOM) {
        if (data_ratings_file(cfg, path[0], sizeof path[0], err)) goto done;
        strcpy(path[1], path[0]);
        if (data_read_into(path[0], cfg->data_format, &ro, &notes[0], &v,
                           err))
            goto done;
        o.n_first = v.n;
    } else {
        if (data_split_files(cfg, path[0], path[1], err)) goto done;
        if (data_read_into(path[0], cfg->data_format, &ro, &notes[0], &v,
                           err))
            goto done;
        o.n_first = v.n;
        if (data_read_into(path[1], cfg->data_format, &ro, &notes[1], &v,
                           err))
            goto done;
    }
    rc = data_finish(cfg, cfg->split_kind, &v, &o, notes, ro.threads, ds, err);
done:
    mem_free(v.r);
    if (rc) data_free(ds);
    return rc;
}

/* See data.h. */
int data_load(const Config *cfg, Dataset *ds, char *err) {
    return data_load_memo(cfg, NULL, ds, err);
}

/* See data.h. */
int data_parse_buffer(const Config *cfg, const char *text, size_t len,
                      const char *name, Dataset *ds, char *err) {
    RatingVec v = {0};
    LineReader r = {0};
    Origin o = {{name, name}, 0, cfg->data_format == DATA_CSV};
    int rc = -1;

    assert(cfg && ds && name && (text || len == 0));
    memset(ds, 0, sizeof *ds);
    if (len > SIZE_MAX - 1) return err_set(err, "%s: too large", name);
    r.buf = mem_alloc(len + 1);
    if (!r.buf) return err_set(err, "%s: out of memory", name);
    if (len) memcpy(r.buf, text, len);
    r.cap = len + 1;
    r.len = len;
    r.eof = 1;
    if (data_read_lines(&r, name, cfg->data_format, &v, err) == 0) {
        o.n_first = v.n;
        rc = data_finish(cfg, SPLIT_RANDOM, &v, &o, NULL, 1, ds, err);
    }
    mem_free(r.buf);
    mem_free(v.r);
    if (rc) data_free(ds);
    return rc;
}

/* Moves each training rating of ds to the new validation set with
 * probability data.split.validation_ratio (stream DATA_VAL_STREAM of the
 * split seed), keeping the order of both.  Returns 0, or -1 with err when a
 * side would be empty or memory runs out (ds keeps its training set). */
static int data_carve_validation(const Config *cfg, Dataset *ds, char *err) {
    const double ratio = cfg->validation_ratio;
    const uint64_t seed = cfg_split_seed(cfg);
    Rng rng;
    size_t n_val = 0;
    rng_seed(&rng, seed, DATA_VAL_STREAM);
    for (size_t i = 0; i < ds->n_train; i++) n_val += rng_uniform(&rng) < ratio;
    if (n_val == 0 || n_val == ds->n_train)
        return err_set(err, "the validation split of %zu training ratings "
                       "(validation_ratio %g, seed %llu) left the %s set empty: "
                       "change data.split.validation_ratio or use more ratings",
                       ds->n_train, ratio, (unsigned long long)seed,
                       n_val == 0 ? "validation" : "train");
    ds->val = data_alloc_ratings(n_val);
    if (!ds->val)
        return err_set(err, "out of memory for %zu validation ratings", n_val);
    rng_seed(&rng, seed, DATA_VAL_STREAM);
    size_t a = 0, b = 0;
    for (size_t i = 0; i < ds->n_train; i++) {
        if (rng_uniform(&rng) < ratio) ds->val[b++] = ds->train[i];
        else ds->train[a++] = ds->train[i];
    }
    assert(b == n_val && a + b == ds->n_train);
    ds->n_train = a;
    ds->n_val = b;
    return 0;
}

/* Checks the raw ratings v read from the files in o (duplicates, ids), maps
 * the ids to dense indices and splits v into *ds as `kind` says (for kind
 * files, v's first o->n_first ratings are the training set).  notes (NULL:
 * none) are the files' cache entries: a random split's file read from an
 * entry flagged duplicate-free is not checked again, and the entries to
 * store are written once the check passed (with `threads`).  Returns 0, or
 * -1 with err (the caller frees v and *ds). */
static int data_finish(const Config *cfg, SplitKind kind, RatingVec *vp,
                       const Origin *op, const DataCacheNote notes[2],
                       int threads, Dataset *ds, char *err) {
    RatingVec v = *vp;      /* ratings are rewritten in place (ids) */
    Origin o = *op;
    uint64_t *keys = NULL, *tmp = NULL;
    int rc = -1;

    /* v.n * sizeof(Rating) did not overflow, so neither does v.n * 8 */
    keys = mem_alloc(v.n * sizeof *keys);
    tmp = mem_alloc(v.n * sizeof *tmp);
    if (!keys || !tmp) {
        err_set(err, "out of memory for %zu ratings", v.n);
        goto done;
    }
    if (!(kind == SPLIT_RANDOM && notes && notes[0].dup_free) &&
        data_check_duplicates(&v, &o, keys, tmp, err))
        goto done;
    if (notes) {   /* each file alone is free of duplicates too */
        data_cache_note_store(&notes[0], v.r, o.n_first, threads);
        data_cache_note_store(&notes[1], v.r + o.n_first, v.n - o.n_first,
                              threads);
    }
    if (data_map_ids(&v, cfg->data_format, 1, &o, keys, tmp, &ds->user_ids,
                     &ds->num_users, err) ||
        data_map_ids(&v, cfg->data_format, 0, &o, keys, tmp, &ds->item_ids,
                     &ds->num_items, err))
        goto done;

    ds->min_rating = ds->max_rating = v.r[0].rating;
    for (size_t i = 1; i < v.n; i++) {
        if (v.r[i].rating < ds->min_rating) ds->min_rating = v.r[i].rating;
        if (v.r[i].rating > ds->max_rating) ds->max_rating = v.r[i].rating;
    }

    if (kind == SPLIT_RANDOM) {
        double keep = 1.0 - cfg->test_ratio;
        Rng rng;
        rng_seed(&rng, cfg_split_seed(cfg), DATA_SPLIT_STREAM);
        size_t n_train = 0;
        for (size_t i = 0; i < v.n; i++) n_train += rng_uniform(&rng) < keep;
        ds->n_train = n_train;
        ds->n_test = v.n - n_train;
        if (ds->n_train == 0 || ds->n_test == 0) {
            err_set(err,
                    "the random split of %zu ratings (test_ratio %g, seed "
                    "%llu) left the %s set empty: change "
                    "data.split.test_ratio or use more ratings",
                    v.n, cfg->test_ratio,
                    (unsigned long long)cfg_split_seed(cfg),
                    ds->n_train == 0 ? "train" : "test");
            goto done;
        }
        ds->train = data_alloc_ratings(ds->n_train);
        ds->test = data_alloc_ratings(ds->n_test);
        if (!ds->train || !ds->test) {
            err_set(err, "out of memory for %zu ratings", v.n);
            goto done;
        }
        rng_seed(&rng, cfg_split_seed(cfg), DATA_SPLIT_STREAM);
        size_t a = 0, b = 0;
        for (size_t i = 0; i < v.n; i++) {
            if (rng_uniform(&rng) < keep) ds->train[a++] = v.r[i];
            else ds->test[b++] = v.r[i];
        }
        assert(a == ds->n_train && b == ds->n_test);
    } else {
        ds->n_train = o.n_first;
        ds->n_test = v.n - o.n_first;
        if (ds->n_train == 0 || ds->n_test == 0) {   /* files are non-empty */
            err_set(err, "the %s file %s has no ratings: change the split files",
                    ds->n_train == 0 ? "train" : "test",
                    ds->n_train == 0 ? o.path[0] : o.path[1]);
            goto done;
        }
        ds->train = data_alloc_ratings(ds->n_train);
        ds->test = data_alloc_ratings(ds->n_test);
        if (!ds->train || !ds->test) {
            err_set(err, "out of memory for %zu ratings", v.n);
            goto done;
        }
        memcpy(ds->train, v.r, ds->n_train * sizeof(Rating));
        memcpy(ds->test, v.r + o.n_first, ds->n_test * sizeof(Rating));
    }
    if (cfg->validation_ratio > 0 && data_carve_validation(cfg, ds, err))
        goto done;
    rc = 0;
done:
    mem_free(keys);
    mem_free(tmp);
    return rc;
}

/* See data.h.  Frees the owned arrays and zeroes *ds; ds may be NULL. */
void data_free(Dataset *ds) {
    if (!ds) return;
    mem_free(ds->train);
    mem_free(ds->test);
    mem_free(ds->val);
    mem_free(ds->user_ids);
    mem_free(ds->item_ids);
    memset(ds, 0, sizeof *ds);
}

/* See data.h.  Returns a zero-filled items x users matrix holding the n
 * ratings, owned by the caller (mem_free_aligned); NULL when the size
 * overflows or on OOM. */
float *data_dense_matrix(const Rating *r, size_t n, int num_items,
                         int num_users) {
    if (num_items <= 0 || num_users <= 0) return NULL;
    size_t ni = (size_t)num_items, nu = (size_t)num_users;
    if (ni > SIZE_MAX / nu) return NULL;
    size_t cells = ni * nu;
    if (cells > (SIZE_MAX - 64) / sizeof(float)) return NULL;
    float *m = mem_alloc_aligned(cells * sizeof(float));
    if (!m) return NULL;
    memset(m, 0, cells * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        assert(r[i].item >= 0 && r[i].item < num_items);
        assert(r[i].user >= 0 && r[i].user < num_users);
        m[(size_t)r[i].item * nu + (size_t)r[i].user] = r[i].rating;
    }
    return m;
}

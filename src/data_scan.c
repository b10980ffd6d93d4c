/* data_scan.c - the fast path of the ratings reader (see data_scan.h).
 *
 * The text is cut into one piece per thread at line boundaries; a first
 * parallel pass counts the lines of each piece (so every thread knows where
 * its ratings go and one exact array is allocated), a second parses them.
 * Numbers are read digit by digit.  A rating with k fractional digits and
 * at most 15 digits in all is the integer m of its digits divided by 10^k:
 * both are exact doubles and IEEE division rounds correctly, so the result
 * is the correctly rounded value strtod returns, and the float is the same
 * as the line parser's (float)strtod(...).
 *
 * No global mutable state. */
#include "data_scan.h"

#include <stdint.h>
#include <string.h>

#include "mem.h"

#define SCAN_MAX_THREADS 64
#define SCAN_MIN_PIECE (1u << 20)   /* bytes: smaller pieces are not split */
#define SCAN_RATING_DIGITS 15       /* exact in a double with room to spare */
#define SCAN_TIME_CAP 999999999999999999ull   /* 18 digits: no overflow */

static const double scan_pow10[SCAN_RATING_DIGITS + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
    1e13, 1e14, 1e15};

/* Reads the digits at p (at least one, value <= cap) into *v.  Returns the
 * first byte after them, or NULL when there is no digit or the value
 * exceeds cap. */
static inline const char *scan_uint(const char *p, const char *lim,
                                    uint64_t cap, uint64_t *v) {
    const char *s = p;
    uint64_t x = 0;
    while (p < lim && (unsigned char)(*p - '0') < 10) {
        x = x * 10 + (uint64_t)(*p - '0');
        if (x > cap) return NULL;
        p++;
    }
    if (p == s) return NULL;
    *v = x;
    return p;
}

/* Skips the separator at p (sep, doubled when twice).  Returns the byte
 * after it or NULL. */
static inline const char *scan_sep(const char *p, const char *lim, char sep,
                                   int twice) {
    if (p == NULL || p >= lim || *p != sep) return NULL;
    p++;
    if (twice) {
        if (p >= lim || *p != sep) return NULL;
        p++;
    }
    return p;
}

/* Reads a rating (digits with at most one '.', see the file comment) at p
 * into *out.  Returns the byte after it or NULL. */
static inline const char *scan_rating(const char *p, const char *lim,
                                      float *out) {
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (; p < lim; p++) {
        unsigned d = (unsigned char)(*p - '0');
        if (d < 10) {
            m = m * 10 + d;
            if (++digits > SCAN_RATING_DIGITS) return NULL;
            if (frac >= 0) frac++;
        } else if (*p == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (digits == 0) return NULL;
    double v = frac > 0 ? (double)m / scan_pow10[frac] : (double)m;
    if (!(v > 0.0) || v > 10.0 || (float)v == 0.0f) return NULL;
    *out = (float)v;
    return p;
}

/* Parses the line at p into *r.  Returns the start of the next line (or
 * lim), or NULL when the line is not of the regular shape. */
static inline const char *scan_line(const char *p, const char *lim, char sep,
                                    int twice, size_t line_max, Rating *r) {
    const char *start = p;
    uint64_t u, i, t;
    p = scan_uint(p, lim, INT32_MAX, &u);
    p = scan_sep(p, lim, sep, twice);
    if (!p || !(p = scan_uint(p, lim, INT32_MAX, &i))) return NULL;
    p = scan_sep(p, lim, sep, twice);
    if (!p || !(p = scan_rating(p, lim, &r->rating))) return NULL;
    p = scan_sep(p, lim, sep, twice);
    if (!p || !(p = scan_uint(p, lim, SCAN_TIME_CAP, &t))) return NULL;
    if (p < lim && *p == '\r') p++;
    if ((size_t)(p - start) > line_max || u == 0 || i == 0) return NULL;
    if (p < lim) {
        if (*p != '\n') return NULL;
        p++;
    }
    r->user = (int32_t)u;
    r->item = (int32_t)i;
    return p;
}

/* Returns the number of lines of text[0..len): its newlines, plus one for
 * a last line without one when `last` (the piece ends the text). */
static size_t scan_count_lines(const char *text, size_t len, int last) {
    const uint64_t ones = 0x0101010101010101ull, low7 = 0x7f7f7f7f7f7f7f7full;
    size_t n = 0, i = 0;
    /* 8 bytes at a time (memchr per line costs a call per 26 bytes): in
     * x = word ^ "\n\n...", a byte is 0 exactly where its high bit of
     * ((x & 0x7f..) + 0x7f..) | x is clear */
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, text + i, sizeof w);
        uint64_t x = w ^ (ones * '\n');
        uint64_t y = ((x & low7) + low7) | x;
        n += (size_t)__builtin_popcountll(~y & ~low7);
    }
    for (; i < len; i++) n += text[i] == '\n';
    if (last && len > 0 && text[len - 1] != '\n') n++;
    return n;
}

/* Parses the n lines of text[0..len) into out.  Returns 0, or -1 when a
 * line is irregular or the count differs. */
static int scan_piece(const char *text, size_t len, DataFormat fmt,
                      size_t line_max, Rating *out, size_t n) {
    const char sep = fmt == DATA_ML100K ? '\t' : fmt == DATA_ML1M ? ':' : ',';
    const int twice = fmt == DATA_ML1M;
    const char *p = text, *lim = text + len;
    size_t k = 0;
    while (p < lim) {
        if (k == n) return -1;
        p = scan_line(p, lim, sep, twice, line_max, &out[k]);
        if (!p) return -1;
        k++;
    }
    return k == n ? 0 : -1;
}

/* See data_scan.h. */
int data_scan(const char *text, size_t len, DataFormat fmt, int threads,
              size_t line_max, Rating **out, size_t *n) {
    size_t cut[SCAN_MAX_THREADS + 1], lines[SCAN_MAX_THREADS],
        at[SCAN_MAX_THREADS];
    int t = threads < 1 ? 1 : threads > SCAN_MAX_THREADS ? SCAN_MAX_THREADS
                                                         : threads;
    *out = NULL;
    *n = 0;
    if (len == 0) return DATA_SCAN_GIVE_UP;   /* "no ratings": the line parser */
    if (len / SCAN_MIN_PIECE < (size_t)t) t = (int)(len / SCAN_MIN_PIECE) + 1;
    cut[0] = 0;
    cut[t] = len;
    for (int k = 1; k < t; k++) {
        size_t from = len / (size_t)t * (size_t)k;
        if (from < cut[k - 1]) from = cut[k - 1];
        const char *nl = memchr(text + from, '\n', len - from);
        cut[k] = nl ? (size_t)(nl - text) + 1 : len;
    }
    #pragma omp parallel for num_threads(t) schedule(static, 1)
    for (int k = 0; k < t; k++)
        lines[k] = scan_count_lines(text + cut[k], cut[k + 1] - cut[k],
                                    cut[k + 1] == len);
    size_t total = 0;
    for (int k = 0; k < t; k++) {
        at[k] = total;
        total += lines[k];
    }
    if (total == 0 || total > SIZE_MAX / sizeof(Rating))
        return DATA_SCAN_GIVE_UP;
    Rating *r = mem_alloc(total * sizeof *r);
    if (!r) return DATA_SCAN_OOM;
    int bad = 0;
    #pragma omp parallel for num_threads(t) schedule(static, 1) reduction(|:bad)
    for (int k = 0; k < t; k++)
        bad |= scan_piece(text + cut[k], cut[k + 1] - cut[k], fmt, line_max,
                          r + at[k], lines[k]) != 0;
    if (bad) {
        mem_free(r);
        return DATA_SCAN_GIVE_UP;
    }
    *out = r;
    *n = total;
    return 0;
}

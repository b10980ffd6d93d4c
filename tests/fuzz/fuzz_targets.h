/* fuzz_targets.h - bodies of the libFuzzer targets, shared by the fuzzers
 * (tests/fuzz/fuzz_*.c, built with clang by `make fuzz-build`) and by the
 * unit test that replays the seed corpora and every saved crash input
 * (tests/test_faults_fuzz.c), so a crash found once stays a regression test.
 *
 * Each target feeds the bytes to a parser and checks what a parser must
 * guarantee on any input, returning 0, or -1 (with a line on stderr) when an
 * invariant is broken; the fuzzers then abort.  Memory errors and undefined
 * behaviour are caught by the sanitizers of either build.
 *
 *   fuzz_cfg_one   YAML config (+ grid) loader: on error the config and the
 *                  grid are untouched and the message names the file; on
 *                  success the resolved config re-reads to the same values
 *                  and every grid point (the first 64) applies.
 *   fuzz_data_one  ratings parsers: byte 0 picks the format, byte 1 the test
 *                  ratio; the rest is the file.  On success every index is
 *                  in range, ratings lie in (0, 10], no (user, item) pair
 *                  repeats and the split covers the ratings.  The fast
 *                  reader (data_scan) agrees on the same bytes (ml-100k,
 *                  ml-1m): what it accepts has no malformed line for the
 *                  line parser, and the same count and sums of ids and
 *                  ratings.
 *   fuzz_set_one   --set overrides, one per input line.
 *
 * No global mutable state. */
#ifndef AUTOREC_FUZZ_TARGETS_H
#define AUTOREC_FUZZ_TARGETS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "data.h"
#include "data_scan.h"
#include "err.h"
#include "mem.h"

/* Prints why an invariant failed.  Returns -1. */
static inline int fuzz_broken(const char *what, const char *detail) {
    fprintf(stderr, "fuzz invariant broken: %s: %s\n", what,
            detail ? detail : "");
    return -1;
}

/* Equality of two configs: their resolved YAML (every key of the schema,
 * reals written so they read back exactly) is the same text.  Returns 1 when
 * equal, 0 when not, -1 when out of memory. */
static inline int fuzz_cfg_same(const Config *a, const Config *b) {
    char *ya = cfg_to_yaml(a), *yb = cfg_to_yaml(b);
    int same = ya && yb ? strcmp(ya, yb) == 0 : -1;
    mem_free(ya);
    mem_free(yb);
    return same;
}

/* The resolved YAML of c reads back as c; every key is in range. */
static inline int fuzz_roundtrip(const Config *c) {
    char err[ERR_MAX] = "";
    Config back;
    char *y = cfg_to_yaml(c);
    if (!y) return fuzz_broken("cfg_to_yaml", "returned NULL");
    cfg_defaults(&back);
    back.hidden = c->hidden == 7 ? 8 : 7;   /* must be overwritten */
    int rc = cfg_load_string(&back, y, "resolved.yaml", err);
    if (rc != 0 || fuzz_cfg_same(c, &back) != 1 || back.hidden != c->hidden ||
        strcmp(back.data_path, c->data_path) != 0 || back.lr != c->lr) {
        fprintf(stderr, "%s\n", y);
        mem_free(y);
        return fuzz_broken("resolved config does not read back", err);
    }
    mem_free(y);
    return 0;
}

/* Returns 1 when err is a non-empty message starting with prefix. */
static inline int fuzz_msg_ok(const char *err, const char *prefix) {
    return memchr(err, '\0', ERR_MAX) && err[0] &&
           strncmp(err, prefix, strlen(prefix)) == 0;
}

static inline int fuzz_cfg_one(const uint8_t *data, size_t size) {
    Config c, before;
    Grid g;
    char err[ERR_MAX] = "";
    cfg_defaults(&c);
    before = c;
    memset(&g, 0, sizeof g);
    int rc = cfg_load_buffer(&c, &g, (const char *)data, size, "fuzz.yaml",
                             err);
    if (rc != 0) {
        if (rc != -1) return fuzz_broken("cfg_load_buffer", "returned neither 0 nor -1");
        if (fuzz_cfg_same(&c, &before) != 1 || g.naxes != 0)
            return fuzz_broken("failed load changed the config", err);
        if (!fuzz_msg_ok(err, "fuzz.yaml"))
            return fuzz_broken("message does not name the file", err);
        return 0;
    }
    int bad = fuzz_roundtrip(&c);
    size_t n = cfg_grid_size(&g);
    if (!bad && g.naxes > 0 && (n == 0 || n > CFG_GRID_MAX_POINTS))
        bad = fuzz_broken("grid size", "out of range");
    for (size_t i = 0; !bad && i < n && i < 64; i++) {
        Config p;
        if (cfg_grid_point(&c, &g, i, &p, err) != 0)
            bad = fuzz_broken("a validated grid point does not apply", err);
    }
    cfg_grid_free(&g);
    return bad;
}

static inline int fuzz_set_one(const uint8_t *data, size_t size) {
    Config c;
    char err[ERR_MAX], line[512];
    cfg_defaults(&c);
    size_t i = 0;
    for (int k = 0; k < 16 && i < size; k++) {
        size_t n = 0;
        while (i < size && data[i] != '\n') {
            if (n + 1 < sizeof line) line[n++] = (char)data[i];
            i++;
        }
        i++;                      /* the newline */
        line[n] = '\0';           /* a NUL inside ends the argument, as in argv */
        Config before = c;
        err[0] = '\0';
        int rc = cfg_set_override(&c, line, err);
        if (rc != 0) {
            if (fuzz_cfg_same(&c, &before) != 1)
                return fuzz_broken("failed --set changed the config", err);
            if (!fuzz_msg_ok(err, "--set "))
                return fuzz_broken("--set message", err);
        }
    }
    return fuzz_roundtrip(&c);
}

/* Orders (user, item) pairs. */
static inline int fuzz_cmp_pair(const void *a, const void *b) {
    const Rating *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* Checks a loaded data set.  Returns 0 or -1. */
static inline int fuzz_check_dataset(const Dataset *ds) {
    size_t n = ds->n_train + ds->n_test;
    if (ds->n_train == 0 || ds->n_test == 0)
        return fuzz_broken("split", "an empty side was accepted");
    if (ds->num_users < 1 || ds->num_items < 1 || !ds->user_ids || !ds->item_ids)
        return fuzz_broken("dimensions", "no users or items");
    Rating *all = malloc(n * sizeof *all);
    if (!all) return 0;
    memcpy(all, ds->train, ds->n_train * sizeof *all);
    memcpy(all + ds->n_train, ds->test, ds->n_test * sizeof *all);
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        const Rating *r = &all[i];
        if (r->user < 0 || r->user >= ds->num_users || r->item < 0 ||
            r->item >= ds->num_items)
            bad = fuzz_broken("index", "out of range");
        else if (!(r->rating > 0.0f && r->rating <= 10.0f))
            bad = fuzz_broken("rating", "outside (0, 10]");
        else if (r->rating < ds->min_rating || r->rating > ds->max_rating)
            bad = fuzz_broken("rating", "outside [min_rating, max_rating]");
        else if (ds->user_ids[r->user] < 1 || ds->item_ids[r->item] < 1)
            bad = fuzz_broken("ids", "an id below 1");
    }
    if (!bad) {
        qsort(all, n, sizeof *all, fuzz_cmp_pair);
        for (size_t i = 1; i < n && !bad; i++)
            if (fuzz_cmp_pair(&all[i - 1], &all[i]) == 0)
                bad = fuzz_broken("duplicates", "a (user, item) pair repeats");
    }
    free(all);
    return bad;
}

/* Checks the fast reader against data_parse_buffer's outcome (rc, ds, err)
 * on text[0..len) of format fmt (ml-100k or ml-1m, no BOM: data_scan
 * parses neither a header nor a BOM).  Returns 0 or -1. */
static inline int fuzz_scan_agrees(DataFormat fmt, const char *text,
                                   size_t len, int rc, const Dataset *ds,
                                   const char *err) {
    Rating *r = NULL;
    size_t n = 0;
    if (fmt == DATA_CSV || (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0))
        return 0;
    int k = data_scan(text, len, fmt, 2, 65536, &r, &n);
    if (k != 0) return 0;   /* gave up (or no memory): nothing to compare */
    int bad = 0;
    if (rc != 0) {
        /* only checks after parsing may refuse what it accepted */
        const char *p = strstr(err, "fuzz.data:");
        size_t line, col;
        if (p && sscanf(p, "fuzz.data:%zu:%zu:", &line, &col) == 2)
            bad = fuzz_broken("data_scan accepted a malformed line", err);
    } else {
        /* integer sums (order-free): ids, and the ratings' float bits */
        uint64_t su = 0, si = 0, sr = 0, tu = 0, ti = 0, tr = 0;
        uint32_t bits;
        for (size_t i = 0; i < n; i++) {
            su += (uint64_t)r[i].user;
            si += (uint64_t)r[i].item;
            memcpy(&bits, &r[i].rating, sizeof bits);
            sr += bits;
        }
        const Rating *side[2] = {ds->train, ds->test};
        size_t cnt[2] = {ds->n_train, ds->n_test};
        for (int s = 0; s < 2; s++)
            for (size_t i = 0; i < cnt[s]; i++) {
                tu += (uint64_t)side[s][i].user + 1;   /* index = id - 1 */
                ti += (uint64_t)side[s][i].item + 1;
                memcpy(&bits, &side[s][i].rating, sizeof bits);
                tr += bits;
            }
        if (n != ds->n_train + ds->n_test + ds->n_val || su != tu ||
            si != ti || sr != tr)
            bad = fuzz_broken("data_scan and the line parser differ", "");
    }
    mem_free(r);
    return bad;
}

static inline int fuzz_data_one(const uint8_t *data, size_t size) {
    static const double ratios[4] = {0.1, 0.5, 0.9, 0.999};
    Config c;
    Dataset ds;
    char err[ERR_MAX] = "";
    if (size < 2) return 0;
    cfg_defaults(&c);
    c.data_format = (DataFormat)(data[0] % 3);
    c.test_ratio = ratios[data[1] % 4];
    c.seed = data[1] / 4;
    int rc = data_parse_buffer(&c, (const char *)data + 2, size - 2,
                               "fuzz.data", &ds, err);
    if (fuzz_scan_agrees(c.data_format, (const char *)data + 2, size - 2, rc,
                         &ds, err)) {
        data_free(&ds);
        return -1;
    }
    if (rc != 0) {
        if (rc != -1) return fuzz_broken("data_parse_buffer", "returned neither 0 nor -1");
        if (ds.train || ds.test || ds.user_ids || ds.item_ids)
            return fuzz_broken("failed load left memory", err);
        /* messages name the input, or say what is wrong with the split */
        if (!fuzz_msg_ok(err, "fuzz.data") && !fuzz_msg_ok(err, "the random split") &&
            !fuzz_msg_ok(err, "out of memory"))
            return fuzz_broken("message does not name the file", err);
        return 0;
    }
    int bad = fuzz_check_dataset(&ds);
    /* the dense matrix too, when it is small */
    if (!bad && (double)ds.num_items * ds.num_users <= 1e6) {
        float *m = data_dense_matrix(ds.train, ds.n_train, ds.num_items,
                                     ds.num_users);
        mem_free_aligned(m);
    }
    data_free(&ds);
    return bad;
}

#endif

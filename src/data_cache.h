/* data_cache.h - the binary cache of parsed ratings files.
 *
 * Parsing a large ratings file costs far more than reading its ratings back
 * as an array, so after a file is parsed its raw ratings (ids as in the
 * file, in file order) are written to a cache entry, and the next load of
 * the same file reads the entry instead.
 *
 * Where: $AUTOREC_CACHE_DIR if set, else $XDG_CACHE_HOME/autorec, else
 * $HOME/.cache/autorec (created 0700).  One entry per source file and
 * format, named by a hash of the file's absolute path and the format
 * (<hash>.ratings); a changed file replaces its entry.
 *
 * An entry is trusted only when everything matches: magic, cache format
 * version, byte order, record size, data format, the source's size, mtime
 * (ns) and a 64-bit hash of its whole content, the entry's size, and the
 * checksums of the header and of the ratings.  Anything else is a miss and
 * the file is parsed again.  Entries are written to a temporary file
 * (O_CREAT | O_EXCL | O_NOFOLLOW, unique name) and renamed into place, so
 * concurrent workers never see a partial entry: each either reads a
 * complete one or parses and renames its own (the last rename wins; all
 * are equal).  data.cache: false turns the cache off.
 *
 * The hash is not cryptographic: it protects against stale and damaged
 * entries, not against someone forging one in your cache directory. */
#ifndef AUTOREC_DATA_CACHE_H
#define AUTOREC_DATA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "data.h"

/* The environment variable naming the cache directory. */
#define DATA_CACHE_ENV "AUTOREC_CACHE_DIR"
/* Bumped whenever the entry layout or the parsed values change. */
#define DATA_CACHE_VERSION 1
/* Bytes of a path the cache handles (directory and entry names). */
#define DATA_CACHE_PATH_MAX 4096

/* What an entry must match: the source file and how it is parsed. */
typedef struct {
    DataFormat fmt;
    uint64_t size;               /* bytes */
    int64_t mtime_sec, mtime_nsec;
    uint64_t hash;               /* data_hash of the whole content */
} DataCacheKey;

/* Returns a 64-bit hash of p[0..n) (fixed 4 MiB blocks hashed by up to
 * `threads` threads, then combined in order: the value does not depend on
 * the thread count). */
uint64_t data_hash(const void *p, size_t n, int threads);

/* Writes the cache directory (see the file comment) into out (size
 * bytes).  Returns 0, or -1 with err when neither variable nor HOME is set
 * or the path is too long. */
int data_cache_dir(char *out, size_t size, char *err);

/* Creates dir and its missing parents (mode 0700), as the cache directory
 * is created.  Returns 0, or -1 with err naming the directory. */
int data_cache_make_dirs(const char *dir, char *err);

/* Writes the entry path for the source file src (made absolute) read as
 * format fmt, inside dir, into out (size bytes).  Returns 0 or -1 with err. */
int data_cache_entry(const char *dir, const char *src, DataFormat fmt,
                     char *out, size_t size, char *err);

/* Flags of an entry. */
enum {
    DATA_CACHE_DUP_FREE = 1   /* no (user, item) pair appears twice in the
                                 file (checked before the entry was written) */
};

/* Outcomes of data_cache_load. */
enum { DATA_CACHE_HIT = 1, DATA_CACHE_MISS = 0, DATA_CACHE_CORRUPT = 2 };

/* Reads the entry at path when it matches key.  Returns DATA_CACHE_HIT
 * with *r (owned by the caller, mem_free), *n and *flags (DATA_CACHE_*)
 * set; DATA_CACHE_MISS when there is no entry or it is for another version
 * of the file; DATA_CACHE_CORRUPT (why says what is wrong) when it cannot
 * be trusted; -1 with why when memory runs out.  Never returns ratings that
 * fail a check. */
int data_cache_load(const char *path, const DataCacheKey *key, int threads,
                    Rating **r, size_t *n, unsigned *flags, char *why);

/* Writes the n ratings r under key with flags (DATA_CACHE_*) as the entry
 * at path (directory dir, created 0700 with its parents if missing),
 * atomically (see the file comment).  Returns 0, or -1 with err (nothing
 * is left behind). */
int data_cache_store(const char *dir, const char *path,
                     const DataCacheKey *key, unsigned flags, const Rating *r,
                     size_t n, int threads, char *err);

#endif

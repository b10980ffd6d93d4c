/* data_memo.h - parsed ratings files kept in memory by a long-lived
 * process (a grid worker), so that its runs parse each file once.
 *
 * Entries are the raw ratings of one file (ids as in the file), keyed by the
 * file's device, inode, size, mtime and the format; a file that changed is
 * a different key.  The memo holds at most DATA_MEMO_FILES files and
 * DATA_MEMO_BYTES bytes of ratings, dropping the oldest first. */
#ifndef AUTOREC_DATA_MEMO_H
#define AUTOREC_DATA_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "data.h"

#define DATA_MEMO_FILES 16
#define DATA_MEMO_BYTES ((size_t)2 << 30)

/* Identity of a file as read. */
typedef struct {
    uint64_t dev, ino, size;
    int64_t mtime_sec, mtime_nsec;
    DataFormat fmt;
} DataMemoKey;

typedef struct DataMemo DataMemo;

/* Returns an empty memo (owned by the caller: data_memo_free), or NULL
 * when out of memory. */
DataMemo *data_memo_new(void);

/* Frees the memo and its ratings; accepts NULL. */
void data_memo_free(DataMemo *m);

/* Returns the ratings stored under key (owned by the memo, valid until the
 * next data_memo_put or data_memo_free) with their count in *n, or NULL. */
const Rating *data_memo_find(const DataMemo *m, const DataMemoKey *key,
                             size_t *n);

/* Stores a copy of the n ratings r under key.  Returns 0, or -1 when the
 * copy does not fit (memory or DATA_MEMO_BYTES): the memo is then simply
 * not used for this file. */
int data_memo_put(DataMemo *m, const DataMemoKey *key, const Rating *r,
                  size_t n);

/* Number of files parsed through the memo (misses), for tests. */
long data_memo_misses(const DataMemo *m);

#endif

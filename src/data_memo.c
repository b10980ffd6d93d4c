/* data_memo.c - parsed ratings files kept in memory (see data_memo.h).
 *
 * No global mutable state. */
#include "data_memo.h"

#include <string.h>

#include "mem.h"

typedef struct {
    DataMemoKey key;
    Rating *r;        /* owned; NULL: free slot */
    size_t n;
    long stamp;       /* when stored: the oldest goes first */
} MemoEntry;

struct DataMemo {
    MemoEntry e[DATA_MEMO_FILES];
    size_t bytes;     /* sum of the entries' ratings */
    long clock;       /* puts so far */
};

/* See data_memo.h. */
DataMemo *data_memo_new(void) {
    return mem_calloc(1, sizeof(DataMemo));
}

/* See data_memo.h. */
void data_memo_free(DataMemo *m) {
    if (!m) return;
    for (int i = 0; i < DATA_MEMO_FILES; i++) mem_free(m->e[i].r);
    mem_free(m);
}

/* Returns 1 when a and b name the same file version. */
static int memo_same(const DataMemoKey *a, const DataMemoKey *b) {
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
           a->fmt == b->fmt;
}

/* See data_memo.h. */
const Rating *data_memo_find(const DataMemo *m, const DataMemoKey *key,
                             size_t *n) {
    for (int i = 0; m && i < DATA_MEMO_FILES; i++)
        if (m->e[i].r && memo_same(&m->e[i].key, key)) {
            *n = m->e[i].n;
            return m->e[i].r;
        }
    return NULL;
}

/* Frees entry i. */
static void memo_drop(DataMemo *m, int i) {
    m->bytes -= m->e[i].n * sizeof(Rating);
    mem_free(m->e[i].r);
    memset(&m->e[i], 0, sizeof m->e[i]);
}

/* See data_memo.h. */
int data_memo_put(DataMemo *m, const DataMemoKey *key, const Rating *r,
                  size_t n) {
    if (!m || n == 0 || n > DATA_MEMO_BYTES / sizeof(Rating)) return -1;
    size_t bytes = n * sizeof(Rating);
    for (int i = 0; i < DATA_MEMO_FILES; i++)   /* an older version */
        if (m->e[i].r && m->e[i].key.dev == key->dev &&
            m->e[i].key.ino == key->ino && m->e[i].key.fmt == key->fmt)
            memo_drop(m, i);
    for (;;) {   /* make room: a free slot and the byte budget */
        int used = 0, oldest = -1;
        for (int i = 0; i < DATA_MEMO_FILES; i++) {
            if (!m->e[i].r) continue;
            used++;
            if (oldest < 0 || m->e[i].stamp < m->e[oldest].stamp) oldest = i;
        }
        if (used < DATA_MEMO_FILES && m->bytes + bytes <= DATA_MEMO_BYTES)
            break;
        memo_drop(m, oldest);
    }
    Rating *copy = mem_alloc(bytes);
    if (!copy) return -1;
    memcpy(copy, r, bytes);
    for (int i = 0; i < DATA_MEMO_FILES; i++)
        if (!m->e[i].r) {
            m->e[i].key = *key;
            m->e[i].r = copy;
            m->e[i].n = n;
            m->e[i].stamp = ++m->clock;
            m->bytes += bytes;
            return 0;
        }
    mem_free(copy);   /* unreachable: room was made above */
    return -1;
}

/* See data_memo.h. */
long data_memo_misses(const DataMemo *m) {
    return m ? m->clock : 0;
}

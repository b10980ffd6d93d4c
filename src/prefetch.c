/* prefetch.c - software prefetch of weight rows (see prefetch.h). */
#include "prefetch.h"

/* Floats per 64-byte cache line. */
enum { LINE_FLOATS = 16 };

void prefetch_read(const float *p, long n) {
    for (long o = 0; o < n; o += LINE_FLOATS) __builtin_prefetch(p + o, 0);
}

void prefetch_write(const float *p, long n) {
    for (long o = 0; o < n; o += LINE_FLOATS) __builtin_prefetch(p + o, 1);
}

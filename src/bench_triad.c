/* bench_triad.c - the memory-bandwidth peak `autorec bench --shape` compares
 * its phases against: a STREAM-like triad a[i] = b[i] + s * c[i] over arrays
 * far larger than the caches, run by OpenMP threads over static chunks.
 *
 * Bytes are counted as STREAM counts them: 12 per element (two reads, one
 * write; the write-allocate read of a is not counted).  A benchmark, not a
 * test: the median of several passes after one that faults the pages in. */
#include "bench.h"

#include <math.h>
#include <stddef.h>

#include "mem.h"

#define TRIAD_ELEMS ((size_t)1 << 24)   /* 64 MiB per array */
#define TRIAD_PASSES 7

/* See bench.h. */
double bench_triad_peak(int threads) {
    const size_t n = TRIAD_ELEMS;
    float *buf = mem_alloc_aligned(3 * n * sizeof *buf);
    double t[TRIAD_PASSES];
    if (!buf) return NAN;
    float *a = buf, *b = buf + n, *c = buf + 2 * n;
    /* first touch by the threads that later stream each chunk */
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        a[i] = 0.0f;
        b[i] = (float)(i % 11);
        c[i] = (float)(i % 7);
    }
    for (int p = 0; p < TRIAD_PASSES; p++) {
        const float s = 0.5f + (float)p;
        double t0 = bench_now();
        #pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
        t[p] = bench_now() - t0;
    }
    /* a value the passes produced, so the loop cannot be dropped */
    volatile float keep = a[n / 2];
    (void)keep;
    mem_free_aligned(buf);
    return 12.0 * (double)n / bench_median(t, TRIAD_PASSES) / 1e9;
}

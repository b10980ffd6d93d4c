/* mem.c - checked allocation with failure injection (see mem.h).
 *
 * Global mutable state: the injection counters below.  They exist only for
 * tests (mem_fail_at) and are atomic so allocations from OpenMP threads stay
 * well-defined. */
#include "mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static atomic_long g_fail_at;    /* 0 = never fail */
static atomic_long g_count;      /* allocations since mem_fail_at */

/* Returns 1 when the current allocation must fail (injection). */
static int should_fail(void) {
    long n = atomic_fetch_add(&g_count, 1) + 1;
    long f = atomic_load(&g_fail_at);
    return f > 0 && n == f;
}

void mem_fail_at(long n) {
    atomic_store(&g_count, 0);
    atomic_store(&g_fail_at, n);
}

long mem_alloc_count(void) { return atomic_load(&g_count); }

void *mem_alloc(size_t size) {
    if (should_fail()) return NULL;
    return malloc(size ? size : 1);
}

void *mem_calloc(size_t count, size_t size) {
    if (should_fail()) return NULL;
    if (count == 0 || size == 0) return calloc(1, 1);
    return calloc(count, size);
}

void *mem_realloc(void *ptr, size_t size) {
    if (should_fail()) return NULL;
    return realloc(ptr, size ? size : 1);
}

/* Buffers of at least this size are aligned to 2 MiB and offered to the
 * kernel as transparent huge pages: model parameters and moments are touched
 * in full every step, and 4 KiB pages cost a page fault each on first touch
 * (measured: a third of the start-up of an ML-100K run in this VM). */
#define MEM_HUGE_MIN ((size_t)4 << 20)
#define MEM_HUGE_ALIGN ((size_t)2 << 20)

void *mem_alloc_aligned(size_t size) {
    if (should_fail()) return NULL;
    if (size >= MEM_HUGE_MIN) {
        size_t rounded = (size + MEM_HUGE_ALIGN - 1) / MEM_HUGE_ALIGN * MEM_HUGE_ALIGN;
        void *p = aligned_alloc(MEM_HUGE_ALIGN, rounded);
        if (p) madvise(p, rounded, MADV_HUGEPAGE);  /* advice only: ignore errors */
        return p;
    }
    size_t rounded = (size + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    return aligned_alloc(64, rounded);
}

void *mem_alloc_zeroed(size_t size) {
    if (size < MEM_HUGE_MIN) {
        void *p = mem_alloc_aligned(size);
        if (p) memset(p, 0, size);
        return p;
    }
    if (should_fail()) return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    madvise(p, size, MADV_HUGEPAGE);  /* advice only: ignore errors */
    return p;
}

void mem_free_zeroed(void *ptr, size_t size) {
    if (!ptr) return;
    if (size < MEM_HUGE_MIN) mem_free_aligned(ptr);
    else munmap(ptr, size);
}

void mem_free(void *ptr) { free(ptr); }

void mem_free_aligned(void *ptr) { free(ptr); }

char *mem_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = mem_alloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* mem.h - checked allocation with failure injection.
 *
 * All heap memory in autorec goes through these wrappers.  They behave like
 * the libc functions (NULL on failure, mem_free(NULL) is a no-op) and callers
 * must check every result.  For tests, mem_fail_at(n) makes the n-th
 * allocation from now on fail (as SQLite's test suite does), so every
 * allocation-failure path can be exercised. */
#ifndef AUTOREC_MEM_H
#define AUTOREC_MEM_H

#include <stddef.h>

void *mem_alloc(size_t size);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *ptr, size_t size);
/* 64-byte aligned allocation (for kernels); free with mem_free_aligned. */
void *mem_alloc_aligned(size_t size);
void mem_free(void *ptr);
void mem_free_aligned(void *ptr);
/* size bytes of zeroed, 64-byte aligned memory whose pages cost nothing
 * until first written (fresh anonymous pages from the kernel, offered as
 * transparent huge pages from 4 MiB), so memory a run never writes is
 * neither cleared nor resident.  NULL on failure; free with
 * mem_free_zeroed(ptr, the same size). */
void *mem_alloc_zeroed(size_t size);
void mem_free_zeroed(void *ptr, size_t size);
/* Duplicates a NUL-terminated string; NULL on failure. */
char *mem_strdup(const char *s);

/* Test hook: the n-th allocation from now fails (n >= 1); n = 0 disables. */
void mem_fail_at(long n);
/* Number of allocations attempted since the last mem_fail_at call. */
long mem_alloc_count(void);

#endif

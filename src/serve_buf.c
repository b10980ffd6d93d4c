/* serve_buf.c - growable text buffers for the dashboard's replies (see
 * serve.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "serve.h"

/* Makes room for n more bytes and the NUL.  Returns 0, or -1 (b->oom set,
 * its text freed). */
static int sb_reserve(SBuf *b, size_t n) {
    if (b->oom) return -1;
    if (b->len + n + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) {
        if (cap > ((size_t)-1) / 2) goto oom;
        cap *= 2;
    }
    char *p = mem_realloc(b->p, cap);
    if (!p) goto oom;
    b->p = p;
    b->cap = cap;
    return 0;
oom:
    mem_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 1;
    return -1;
}

void sb_add(SBuf *b, const char *s, size_t n) {
    if (sb_reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sb_puts(SBuf *b, const char *s) {
    sb_add(b, s, strlen(s));
}

void sb_printf(SBuf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        sb_add(b, small, (size_t)n);
        return;
    }
    if (sb_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sb_free(SBuf *b) {
    if (!b) return;
    mem_free(b->p);
    memset(b, 0, sizeof *b);
}

char *sb_take(SBuf *b) {
    if (!b->oom && !b->p) sb_reserve(b, 0);
    if (b->oom) {
        sb_free(b);
        return NULL;
    }
    b->p[b->len] = '\0';
    char *p = b->p;
    memset(b, 0, sizeof *b);
    return p;
}

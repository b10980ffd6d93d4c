/* test_rss.c - the per-run peak resident memory (rss.c). */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "rss.h"
#include "test.h"

/* Touching 256 MiB raises the peak by about that much; after freeing it
 * and resetting, the peak is back near the current size. */
static void test_rss_peak_and_reset(void) {
    const size_t big = (size_t)256 << 20;
    CHECK(rss_reset_peak() == 0);
    double before = rss_peak_mb();
    CHECK(before > 0);
    char *p = mem_alloc(big);
    CHECK(p != NULL);
    if (!p) return;
    memset(p, 1, big);
    double during = rss_peak_mb();
    CHECK_MSG(during >= before + 250, "peak %.1f MiB, before %.1f", during, before);
    mem_free(p);   /* a block this large is unmapped at once */
    CHECK(rss_reset_peak() == 0);
    double after = rss_peak_mb();
    CHECK_MSG(after < during - 200, "peak after reset %.1f MiB, during %.1f",
              after, during);
}

void suite_rss(void) {
    if (rss_reset_peak() != 0) {
        printf("SKIP test_rss_peak_and_reset: /proc/self/clear_refs cannot "
               "reset the peak here\n");
        return;
    }
    RUN(test_rss_peak_and_reset);
}

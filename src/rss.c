/* rss.c - peak resident memory of this process (see rss.h).
 *
 * No global mutable state. */
#include "rss.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* See rss.h. */
int rss_reset_peak(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = write(fd, "5", 1) == 1 ? 0 : -1;   /* 5: reset the peak RSS */
    close(fd);
    return rc;
}

/* See rss.h.  Reads VmHWM (kB) from /proc/self/status, else ru_maxrss. */
double rss_peak_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0 && sscanf(line + 6, "%ld", &kb) == 1)
            break;
    if (f) fclose(f);
    if (kb < 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) kb = ru.ru_maxrss;   /* kB */
    }
    return kb < 0 ? -1.0 : (double)kb / 1024.0;
}

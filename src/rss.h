/* rss.h - peak resident memory of this process, per run.
 *
 * Linux: the peak (VmHWM of /proc/self/status) can be reset through
 * /proc/self/clear_refs (since Linux 4.0), so a process that trains several
 * runs (a grid worker) measures each run's own peak; where the reset fails
 * the value is the process's peak so far (getrusage ru_maxrss) and may
 * include earlier runs. */
#ifndef AUTOREC_RSS_H
#define AUTOREC_RSS_H

/* Starts a new peak at the current resident size.  Returns 0, or -1 when
 * the kernel cannot reset it (the peak then covers the whole process). */
int rss_reset_peak(void);

/* Returns the peak resident size since the last reset (or since the
 * process started) in MiB, or a negative value when unknown. */
double rss_peak_mb(void);

#endif

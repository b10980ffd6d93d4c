/* bench.h - the `autorec bench` command: kernel and thread benchmarks. */
#ifndef AUTOREC_BENCH_H
#define AUTOREC_BENCH_H

#include <stdio.h>

#include "cfg.h"

int bench_main(int argc, char **argv);

/* Returns the monotonic clock in seconds. */
double bench_now(void);

/* Returns the median of v[0..n) (sorting v), NaN when n <= 0. */
double bench_median(double *v, int n);

/* `autorec bench --load`: times parsing and loading cfg's ratings file
 * (random split), `repeats` rounds; prints medians.  Returns an exit code. */
int bench_load(const Config *cfg, int repeats);
void bench_usage(FILE *f);

#endif

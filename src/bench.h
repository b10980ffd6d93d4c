/* bench.h - the `autorec bench` command: kernel and thread benchmarks. */
#ifndef AUTOREC_BENCH_H
#define AUTOREC_BENCH_H

#include <stdio.h>

int bench_main(int argc, char **argv);
void bench_usage(FILE *f);

#endif

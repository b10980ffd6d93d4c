/* bench.h - the `autorec bench` command: kernel and thread benchmarks. */
#ifndef AUTOREC_BENCH_H
#define AUTOREC_BENCH_H

#include <stdio.h>

#include "cfg.h"
#include "cli.h"
#include "runner.h"

int bench_main(int argc, char **argv);

/* Returns the monotonic clock in seconds. */
double bench_now(void);

/* Returns the median of v[0..n) (sorting v), NaN when n <= 0. */
double bench_median(double *v, int n);

/* `autorec bench --load`: times parsing and loading cfg's ratings file
 * (random split), `repeats` rounds; prints medians.  Returns an exit code. */
int bench_load(const Config *cfg, int repeats);
void bench_usage(FILE *f);

/* GFLOP/s of a 1024^3 sgemm through the project's BLIS wrapper, median of
 * 5, each of `threads` threads running its own product (the wrapper is
 * single-threaded by design).  Returns NaN on OOM. */
double bench_sgemm_peak(int threads);

/* GB/s of a STREAM-like triad (a = b + s c, 12 bytes per element, arrays
 * of 64 MiB each) on `threads` threads, median of 7 passes.  Returns NaN on
 * OOM. */
double bench_triad_peak(int threads);

/* FLOPs of one epoch's training and evaluation of the prepared run r for
 * the kernel it uses into *train and *eval (dense and naive: the input
 * layer over all users; sparse: over observed entries only, taking the
 * average row length for the rows processed; the output layer of an
 * evaluation only at the evaluated entries).  Middle layers of a deep stack
 * are dense products over the rows: forward, input gradient and weight
 * gradient. */
void bench_epoch_flops(const Runner *r, double *train, double *eval);

/* Options of `autorec bench --shape`. */
typedef struct {
    const char *shape;    /* ml-100k, ml-1m, ml-10m, netflix (synthetic), or
                             any label with data */
    const char *data;     /* ratings file or directory (ML-1M format), or
                             NULL: the shape generated into the cache */
    const char *db_path;
    int epochs, repeats;  /* 0: the config's epochs */
} BenchShapeOptions;

/* `autorec bench --shape`: times loading, training, evaluation and
 * ranking on the shape's data with the model and training keys of
 * in->config and its --set overrides (applied after the shape's data.path,
 * data.format, train.epochs and train.checkpoint: false), recording each
 * repeat as a run in the database.  Returns an exit code (messages
 * printed). */
int bench_shape(const CliConfig *in, const BenchShapeOptions *o);

#endif

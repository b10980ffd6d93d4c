/* recommend.h - `autorec recommend`: top items for one user of a run. */
#ifndef AUTOREC_RECOMMEND_H
#define AUTOREC_RECOMMEND_H

#include <stdio.h>

/* Prints the usage of autorec recommend to f. */
void recommend_usage(FILE *f);

/* autorec recommend --run ID --user U [--top N] [--db PATH] (argv[0] is
 * "recommend").  Returns the exit code: 0, 1 (no such run, no or bad
 * checkpoint, unknown user, database or data error) or 2 (bad usage). */
int recommend_main(int argc, char **argv);

#endif

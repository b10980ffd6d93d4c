/* synth.h - the `autorec synth` command: synthetic rating data sets. */
#ifndef AUTOREC_SYNTH_H
#define AUTOREC_SYNTH_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    int users, items;
    int64_t ratings;
    int rank;          /* latent factors of the low-rank model */
    double noise;      /* standard deviation of the Gaussian noise */
    uint64_t seed;
} SynthSpec;

/* Writes spec->ratings ratings in ML-1M format (user::item::rating::time,
 * ids from 1, integer stars 1..5) to f.  Ratings come from a low-rank model
 * (global mean, user and item biases, rank-k factors) plus noise, rounded and
 * clipped to 1..5; items are drawn with Zipf-like popularity, users with
 * log-normal activity (at least 20 ratings each where possible), no
 * duplicate pairs.  *oracle_rmse gets the RMSE of the noiseless model's
 * predictions (clipped) against the written ratings: the floor a learner
 * can approach.  Returns 0, or -1 with err (I/O, memory). */
int synth_write(const SynthSpec *spec, FILE *f, double *oracle_rmse, char *err);

/* Fills users, items and ratings of *spec with the shape named name
 * (ml-100k, ml-1m, ml-10m, netflix), leaving the other fields.  Returns 0,
 * or -1 for an unknown name. */
int synth_shape(const char *name, SynthSpec *spec);

/* The shape names synth_shape knows, for messages: "ml-100k, ..." */
#define SYNTH_SHAPE_NAMES "ml-100k, ml-1m, ml-10m, netflix"

int synth_main(int argc, char **argv);
void synth_usage(FILE *f);

#endif

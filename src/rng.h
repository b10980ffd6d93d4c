/* rng.h - deterministic random numbers (splitmix64).
 *
 * Two flavours: a sequential generator (Rng) for shuffles, splits and
 * initialisation, and stateless hashes (rng_hash64, rng_key_uniform) for
 * dropout masks,
 * so that a mask depends only on (seed, step, item, unit) and never on how
 * rows are distributed over threads. */
#ifndef AUTOREC_RNG_H
#define AUTOREC_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
    double spare;    /* second Box-Muller normal, valid when has_spare */
    int has_spare;
} Rng;

/* Seeds a generator; different streams for the same seed via `stream`. */
void rng_seed(Rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(Rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double rng_uniform(Rng *r);
/* Standard normal (Box-Muller: each pair of uniforms gives two normals,
 * the second kept for the next call). */
double rng_normal(Rng *r);
/* The two normals of one Box-Muller pair from the next two uniforms (what
 * rng_normal returns, then keeps as its spare); the spare is not touched. */
void rng_normal_pair(Rng *r, double *first, double *second);
/* Advances r as n calls of rng_next would, in O(1) (splitmix64 is a counter):
 * a generator skipped ahead continues the same stream, so a sequence can
 * be drawn in parallel pieces. */
void rng_skip(Rng *r, uint64_t n);
/* Uniform integer in [0, n), n >= 1, unbiased. */
uint64_t rng_below(Rng *r, uint64_t n);
/* A 64-bit key determined by the three words alone. */
uint64_t rng_hash64(uint64_t seed, uint64_t a, uint64_t b);
/* Uniform float in [0, 1) (24 bits) determined by (key, i) alone. */
float rng_key_uniform(uint64_t key, uint64_t i);
/* out[j] = rng_key_uniform(key, first + j) for j < n, vectorised. */
void rng_key_uniforms(uint64_t key, uint64_t first, int n, float *out);

#endif

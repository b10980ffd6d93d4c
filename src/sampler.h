/* sampler.h - points in the unit cube for sampled searches.
 *
 *   random  each coordinate a stateless hash of (seed, trial, dimension):
 *           trial i is the same whatever the number of trials;
 *   sobol   a Sobol sequence (Joe and Kuo's direction numbers,
 *           new-joe-kuo-6.21201, for the first SOBOL_MAX_DIMS dimensions),
 *           scrambled with a random linear matrix scramble and a digital
 *           shift (both from the seed), as scipy.stats.qmc.Sobol does:
 *           the first 2^m points of each dimension keep one point in each
 *           interval [k/2^m, (k+1)/2^m), and dimensions 1 and 2 together
 *           form a (0, m, 2)-net.
 * search.c maps the unit coordinates to the grid axes' distributions. */
#ifndef AUTOREC_SAMPLER_H
#define AUTOREC_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

#define SOBOL_MAX_DIMS 16
#define SOBOL_BITS 32

typedef struct {
    int dims;
    uint32_t v[SOBOL_MAX_DIMS][SOBOL_BITS];   /* direction numbers,
                                                 scrambled */
    uint32_t shift[SOBOL_MAX_DIMS];           /* digital shift */
} Sobol;

/* Sets up dims (1..SOBOL_MAX_DIMS) dimensions; scramble 0 gives the plain
 * sequence (point 0 is the origin), 1 the scrambled one drawn from seed.
 * Returns 0, or -1 with err (too many dimensions). */
int sobol_init(Sobol *s, int dims, int scramble, uint64_t seed, char *err);

/* Point `index` (0-based, in Gray-code order) into out[0 .. dims-1], each
 * in [0, 1). */
void sobol_point(const Sobol *s, uint64_t index, double *out);

/* The n x dims points of sampler kind (SAMPLER_RANDOM or SAMPLER_SOBOL) for
 * seed into out (row-major, caller-owned).  Returns 0, or -1 with err. */
int sampler_points(SamplerKind kind, uint64_t seed, int dims, size_t n,
                   double *out, char *err);

#endif

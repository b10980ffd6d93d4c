/* rng.c - splitmix64 generator and hash (see rng.h). */
#include "rng.h"

#include <math.h>

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(Rng *r, uint64_t seed, uint64_t stream) {
    r->state = mix64(seed ^ mix64(stream + 0x9e3779b97f4a7c15ULL));
    r->has_spare = 0;
}

#define RNG_GAMMA 0x9e3779b97f4a7c15ULL

uint64_t rng_next(Rng *r) {
    r->state += RNG_GAMMA;
    return mix64(r->state);
}

void rng_skip(Rng *r, uint64_t n) { r->state += n * RNG_GAMMA; }

double rng_uniform(Rng *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

void rng_normal_pair(Rng *r, double *first, double *second) {
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    double radius = sqrt(-2.0 * log(u1)), angle = 6.283185307179586 * u2;
    *second = radius * sin(angle);
    *first = radius * cos(angle);
}

double rng_normal(Rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double first;
    rng_normal_pair(r, &first, &r->spare);
    r->has_spare = 1;
    return first;
}

uint64_t rng_below(Rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rng_next(r); while (x >= limit);
    return x % n;
}

uint64_t rng_hash64(uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ (a * 0xd1b54a32d192ed03ULL));
    return mix64(h ^ (b * 0x8cb92ba72f3d8dd7ULL));
}

float rng_key_uniform(uint64_t key, uint64_t i) {
    return (float)(mix64(key + (i + 1) * 0x9e3779b97f4a7c15ULL) >> 40) * 0x1.0p-24f;
}

void rng_key_uniforms(uint64_t key, uint64_t first, int n, float *out) {
    #pragma omp simd
    for (int j = 0; j < n; j++)
        out[j] = (float)(mix64(key + (first + (uint64_t)j + 1) * 0x9e3779b97f4a7c15ULL) >> 40)
                 * 0x1.0p-24f;
}

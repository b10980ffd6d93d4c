/* sampler.c - random and scrambled Sobol points (see sampler.h).
 *
 * Sobol: column k of dimension d's generating matrix is the direction
 * number v[d][k], a 32-bit binary fraction (bit 31 = 1/2).  Point i is the
 * XOR of the v[d][k] for the bits k of gray(i) = i ^ (i >> 1).  The linear
 * matrix scramble replaces each column by L_d * v[d][k] with L_d a random
 * lower-triangular binary matrix with unit diagonal (which keeps the net
 * properties); the digital shift XORs a random word into every point.
 *
 * No global mutable state. */
#include "sampler.h"

#include "err.h"
#include "rng.h"

/* Joe and Kuo (2008), new-joe-kuo-6.21201: dimensions 2..16 as
 * (s, a, m_1 .. m_s); dimension 1 is van der Corput (every m_k = 1). */
static const struct {
    int s;
    unsigned a;
    unsigned m[6];
} joe_kuo[SOBOL_MAX_DIMS - 1] = {
    {1, 0, {1}},
    {2, 1, {1, 3}},
    {3, 1, {1, 3, 1}},
    {3, 2, {1, 1, 1}},
    {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}},
    {5, 2, {1, 1, 5, 5, 17}},
    {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}},
    {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}},
    {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}},
};

/* Parity of the set bits of x. */
static uint32_t parity32(uint32_t x) {
    x ^= x >> 16;
    x ^= x >> 8;
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return x & 1u;
}

int sobol_init(Sobol *s, int dims, int scramble, uint64_t seed, char *err) {
    if (dims < 1 || dims > SOBOL_MAX_DIMS)
        return err_set(err, "the sobol sampler takes 1..%d dimensions, not %d "
                       "(use search.sampler: random for more axes)",
                       SOBOL_MAX_DIMS, dims);
    s->dims = dims;
    for (int k = 0; k < SOBOL_BITS; k++) s->v[0][k] = 1u << (31 - k);
    for (int d = 1; d < dims; d++) {
        int deg = joe_kuo[d - 1].s;
        unsigned a = joe_kuo[d - 1].a;
        uint32_t *v = s->v[d];
        for (int k = 0; k < SOBOL_BITS; k++) {
            if (k < deg) {
                v[k] = (uint32_t)joe_kuo[d - 1].m[k] << (31 - k);
                continue;
            }
            uint32_t x = v[k - deg] ^ (v[k - deg] >> deg);
            for (int i = 1; i < deg; i++)
                if ((a >> (deg - 1 - i)) & 1u) x ^= v[k - i];
            v[k] = x;
        }
    }
    for (int d = 0; d < dims; d++) s->shift[d] = 0;
    if (!scramble) return 0;
    Rng r;
    rng_seed(&r, seed, 0x50b01);
    for (int d = 0; d < dims; d++) {
        uint32_t rows[SOBOL_BITS];   /* row p of L_d, MSB-first bit order */
        for (int p = 0; p < SOBOL_BITS; p++) {
            uint32_t diag = 1u << (31 - p);
            uint32_t above = p == 0 ? 0 : ~((diag << 1) - 1u);
            rows[p] = diag | ((uint32_t)rng_next(&r) & above);
        }
        for (int k = 0; k < SOBOL_BITS; k++) {
            uint32_t col = s->v[d][k], out = 0;
            for (int p = 0; p < SOBOL_BITS; p++)
                out |= parity32(rows[p] & col) << (31 - p);
            s->v[d][k] = out;
        }
        s->shift[d] = (uint32_t)rng_next(&r);
    }
    return 0;
}

void sobol_point(const Sobol *s, uint64_t index, double *out) {
    uint64_t g = index ^ (index >> 1);
    for (int d = 0; d < s->dims; d++) {
        uint32_t x = s->shift[d];
        for (int k = 0; k < SOBOL_BITS && (g >> k); k++)
            if ((g >> k) & 1u) x ^= s->v[d][k];
        out[d] = (double)x / 4294967296.0;
    }
}

int sampler_points(SamplerKind kind, uint64_t seed, int dims, size_t n,
                   double *out, char *err) {
    if (kind == SAMPLER_SOBOL) {
        Sobol s;
        if (sobol_init(&s, dims, 1, seed, err)) return -1;
        for (size_t i = 0; i < n; i++) sobol_point(&s, i, out + i * (size_t)dims);
        return 0;
    }
    if (kind != SAMPLER_RANDOM)
        return err_set(err, "internal: sampler %s draws no points",
                       cfg_sampler_name(kind));
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < dims; d++)
            out[i * (size_t)dims + (size_t)d] =
                (double)(rng_hash64(seed, i, (uint64_t)d) >> 11) * 0x1p-53;
    return 0;
}

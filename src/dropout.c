/* dropout.c - the dropout mask shared by every kernel (see kernels.h).
 *
 * One 64-bit key per batch row mixes (seed, step, item); each unit then costs
 * one splitmix64 finaliser.  The mask depends on nothing else, so it is the
 * same for any tiling or thread count. */
#include "kernels.h"
#include "rng.h"

uint64_t dropout_row_key(const Dropout *drop, int r) {
    return rng_hash64(drop->seed, drop->step, (uint64_t)(uint32_t)drop->row_ids[r]);
}

float dropout_scale_key(uint64_t row_key, int k, float p) {
    float u = rng_key_uniform(row_key, (uint64_t)k);
    return u >= p ? 1.0f / (1.0f - p) : 0.0f;
}

float dropout_scale(const Dropout *drop, int r, int k) {
    if (!drop || drop->p <= 0.0f) return 1.0f;
    return dropout_scale_key(dropout_row_key(drop, r), k, drop->p);
}

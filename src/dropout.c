/* dropout.c - the dropout mask shared by every kernel (see kernels.h). */
#include "kernels.h"
#include "rng.h"

float dropout_scale(const Dropout *drop, int r, int k) {
    if (!drop || drop->p <= 0.0f) return 1.0f;
    float u = rng_hash_uniform(drop->seed, drop->step,
                               (uint64_t)(uint32_t)drop->row_ids[r], (uint64_t)k);
    return u >= drop->p ? 1.0f / (1.0f - drop->p) : 0.0f;
}

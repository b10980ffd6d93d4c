/* dropout.c - the dropout mask shared by every kernel (see kernels.h).
 *
 * One 64-bit key per batch row mixes (seed, step, item); each unit then costs
 * one splitmix64 finaliser.  The mask depends on nothing else, so it is the
 * same for any tiling or thread count. */
#include <string.h>

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

void dropout_apply_row(float *hd, const float *h, const Dropout *drop, int r, int H) {
    if (!drop || drop->p <= 0.0f) {
        if (hd != h) memcpy(hd, h, (size_t)H * sizeof *hd);
        return;
    }
    const uint64_t key = dropout_row_key(drop, r);
    const float p = drop->p, keep = 1.0f / (1.0f - p);
    float u[256];
    for (int k0 = 0; k0 < H; k0 += 256) {
        const int n = H - k0 < 256 ? H - k0 : 256;
        rng_key_uniforms(key, (uint64_t)k0, n, u);
        #pragma omp simd
        for (int j = 0; j < n; j++) hd[k0 + j] = h[k0 + j] * (u[j] >= p ? keep : 0.0f);
    }
}

void dropout_activation_backward_row(float *g, const float *h, const float *hd,
                                     Activation act, const Dropout *drop, int r,
                                     int H) {
    if (drop && drop->p > 0.0f) {
        const float keep = 1.0f / (1.0f - drop->p);
        if (act == ACT_SIGMOID || act == ACT_RELU) {
            /* h == 0 only where act'(h) == 0 (a sigmoid that underflowed, an
             * inactive relu): the mask there does not matter */
            #pragma omp simd
            for (int k = 0; k < H; k++) g[k] *= hd[k] != 0.0f ? keep : 0.0f;
        } else {
            for (int k = 0; k < H; k++)
                g[k] *= hd[k] != 0.0f ? keep
                      : h[k] != 0.0f ? 0.0f : dropout_scale(drop, r, k);
        }
    }
    activation_backward_row(g, h, act, H);
}

/* adam.c - the exact Adam update of a span of parameters (see adam.h). */
#include "adam.h"

#include <math.h>

void adam_step_scalars(AdamStep *s, double lr, float beta1, float beta2,
                       float eps, float weight_decay, long step) {
    double bc1 = 1.0 - pow((double)beta1, (double)step);
    double bc2 = 1.0 - pow((double)beta2, (double)step);
    s->b1 = beta1;
    s->b2 = beta2;
    s->eps = eps;
    s->wd = weight_decay;
    s->step_size = (float)(lr / bc1);
    s->bc2_sqrt = (float)sqrt(bc2);
}

void adam_span(float *restrict p, float *restrict g, float *restrict m,
               float *restrict v, long n, const AdamStep *s) {
    const float b1 = s->b1, b2 = s->b2, eps = s->eps, wd = s->wd;
    const float step_size = s->step_size, bc2_sqrt = s->bc2_sqrt;
    if (g) {
        #pragma omp simd
        for (long i = 0; i < n; i++) {
            float gi = g[i] + wd * p[i];
            g[i] = 0.0f;
            float mi = b1 * m[i] + (1.0f - b1) * gi;
            float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] -= step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
        }
        return;
    }
    #pragma omp simd
    for (long i = 0; i < n; i++) {
        float gi = 0.0f + wd * p[i];   /* 0 + x, as the loop above: -0 -> +0 */
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

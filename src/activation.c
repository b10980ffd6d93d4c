/* activation.c - activations and their derivatives (see activation.h).
 *
 * The row functions switch once per row and run one vectorisable loop per
 * activation; the sigmoid is written exactly as the kernels always wrote it,
 * so the default model computes the same bits as before. */
#include "activation.h"

#include <math.h>

const char *activation_name(Activation a) {
    static const char *const names[ACT_COUNT] = {"sigmoid", "identity", "relu",
                                                 "elu", "tanh"};
    return a >= 0 && a < ACT_COUNT ? names[a] : "invalid";
}

void activation_forward_row(float *y, const float *b, Activation a, int n) {
    if (b) {
        #pragma omp simd
        for (int k = 0; k < n; k++) y[k] += b[k];
    }
    switch (a) {
    case ACT_SIGMOID:
        #pragma omp simd
        for (int k = 0; k < n; k++) y[k] = 1.0f / (1.0f + expf(-y[k]));
        break;
    case ACT_IDENTITY:
        break;
    case ACT_RELU:
        #pragma omp simd
        for (int k = 0; k < n; k++) y[k] = y[k] > 0.0f ? y[k] : 0.0f;
        break;
    case ACT_ELU:
        for (int k = 0; k < n; k++) y[k] = y[k] > 0.0f ? y[k] : expm1f(y[k]);
        break;
    case ACT_TANH:
        for (int k = 0; k < n; k++) y[k] = tanhf(y[k]);
        break;
    default:
        break;
    }
}

void activation_backward_row(float *g, const float *y, Activation a, int n) {
    switch (a) {
    case ACT_SIGMOID:
        #pragma omp simd
        for (int k = 0; k < n; k++) g[k] *= y[k] * (1.0f - y[k]);
        break;
    case ACT_IDENTITY:
        break;
    case ACT_RELU:
        #pragma omp simd
        for (int k = 0; k < n; k++) g[k] = y[k] > 0.0f ? g[k] : 0.0f;
        break;
    case ACT_ELU:
        #pragma omp simd
        for (int k = 0; k < n; k++) g[k] *= y[k] > 0.0f ? 1.0f : y[k] + 1.0f;
        break;
    case ACT_TANH:
        #pragma omp simd
        for (int k = 0; k < n; k++) g[k] *= 1.0f - y[k] * y[k];
        break;
    default:
        break;
    }
}

float activation_apply(Activation a, float z) {
    switch (a) {
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-z));
    case ACT_RELU: return z > 0.0f ? z : 0.0f;
    case ACT_ELU: return z > 0.0f ? z : expm1f(z);
    case ACT_TANH: return tanhf(z);
    default: return z;
    }
}

float activation_grad(Activation a, float y) {
    switch (a) {
    case ACT_SIGMOID: return y * (1.0f - y);
    case ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case ACT_ELU: return y > 0.0f ? 1.0f : y + 1.0f;
    case ACT_TANH: return 1.0f - y * y;
    default: return 1.0f;
    }
}

double activation_apply_ref(Activation a, double z) {
    switch (a) {
    case ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case ACT_RELU: return z > 0.0 ? z : 0.0;
    case ACT_ELU: return z > 0.0 ? z : expm1(z);
    case ACT_TANH: return tanh(z);
    default: return z;
    }
}

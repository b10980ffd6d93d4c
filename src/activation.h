/* activation.h - the elementwise activations of AutoRec's layers.
 *
 * Each activation is a forward/backward pair; the derivative is computed
 * from the output y = f(z) (sigmoid y (1 - y), tanh 1 - y^2, relu
 * y > 0 ? 1 : 0, elu with alpha 1 y > 0 ? 1 : y + 1, identity 1), so the
 * backward pass needs only the layer's stored output. */
#ifndef AUTOREC_ACTIVATION_H
#define AUTOREC_ACTIVATION_H

/* Values are the config spellings' indices (cfg.c's activation names). */
typedef enum {
    ACT_SIGMOID, ACT_IDENTITY, ACT_RELU, ACT_ELU, ACT_TANH, ACT_COUNT
} Activation;

/* The config spelling of a ("sigmoid", ...); "invalid" when out of range.
 * A static string. */
const char *activation_name(Activation a);

/* y[k] = f(y[k] + b[k]) for k < n, in place; b may be NULL (no bias). */
void activation_forward_row(float *y, const float *b, Activation a, int n);

/* g[k] *= f'(z) computed from the output y[k] = f(z), for k < n. */
void activation_backward_row(float *g, const float *y, Activation a, int n);

/* f(z) for one value, in float. */
float activation_apply(Activation a, float z);

/* f'(z) from the output y = f(z), in float. */
float activation_grad(Activation a, float y);

/* f(z) in double: the naive reference kernels' definition. */
double activation_apply_ref(Activation a, double z);

#endif

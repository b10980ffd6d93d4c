/* glocal_layer.h - one kernelised fully connected layer: the local kernel
 * of GLocal-K (Han et al., CIKM 2021), the layer of Sparse FC (Muller et
 * al., ICML 2018).
 *
 * A layer from n_in to n_out units holds a weight matrix W (n_in x n_out),
 * an embedding u_i (dim values) per input unit, an embedding v_j per output
 * unit and a bias b (n_out).  The embeddings give the finite-support kernel
 *     khat_ij = max(0, 1 - |u_i - v_j|^2)
 * and the layer computes, for a batch X (rows x n_in),
 *     Y = f(X (W * khat) + b)            (* elementwise)
 * so a pair (i, j) whose embeddings are 1 apart or more has no weight: the
 * kernel learns the layer's sparsity pattern.  The layer's penalty is
 *     l2 * sum W^2 + sparsity * sum khat^2.
 *
 * Storage: row-major floats; W and khat (n_in x n_out), u (n_in x dim),
 * v (n_out x dim).  The gradient with respect to the effective weights
 * W * khat is accumulated over one or more backward passes (the global
 * kernel stage runs the network twice with the same weights) and turned
 * into the parameters' gradients once.
 *
 * glocal_layer.c holds the BLAS kernels (OpenMP over row blocks, one BLIS
 * call per block); glocal_layer_naive.c the loop-by-loop reference in
 * double precision, which the unit tests compare them with. */
#ifndef AUTOREC_GLOCAL_LAYER_H
#define AUTOREC_GLOCAL_LAYER_H

#include <stddef.h>

#include "activation.h"

#define GLOCAL_MAX_DIM 64   /* largest embedding dimension (model.glocal.dim) */

typedef struct {
    int n_in, n_out, dim;
    Activation act;
} GlocalShape;

/* A layer's parameters (or their gradients): views into a flat vector. */
typedef struct {
    float *w;   /* (n_in, n_out) */
    float *u;   /* (n_in, dim) */
    float *v;   /* (n_out, dim) */
    float *b;   /* (n_out) */
} GlocalParams;

/* Number of floats of a layer's parameters (w, u, v, b). */
size_t glocal_layer_param_count(const GlocalShape *s);

/* Points p's fields into base (glocal_layer_param_count floats, in the
 * order w, u, v, b). */
void glocal_layer_bind(const GlocalShape *s, float *base, GlocalParams *p);

/* khat (n_in, n_out) = max(0, 1 - |u_i - v_j|^2) and weff = w * khat.
 * Returns the penalty l2 * sum w^2 + sparsity * sum khat^2. */
double glocal_layer_kernel(const GlocalShape *s, const GlocalParams *p,
                           float l2, float sparsity, float *khat,
                           float *weff);

/* y (rows, n_out) = act(x (rows, n_in) weff + b). */
void glocal_layer_forward(const GlocalShape *s, const float *weff,
                          const float *b, const float *x, int rows, float *y);

/* Backward through the layer for one pass: dy (rows, n_out), the loss
 * gradient at its output y, is turned in place into the gradient at the
 * pre-activation; then db += column sums, dweff += x^T dz and, when dx is
 * not NULL, dx (rows, n_in) = dz weff^T. */
void glocal_layer_backward(const GlocalShape *s, const float *weff,
                           const float *x, const float *y, float *dy,
                           int rows, float *dweff, float *db, float *dx);

/* The parameters' gradients from the accumulated dweff (n_in, n_out), with
 * the penalty's: g->w = dweff * khat + 2 l2 w; g->u, g->v through
 * dkhat = dweff * w + 2 sparsity khat on the kernel's support (khat > 0).
 * dweff is scratch: it is overwritten with dkhat on the support (0
 * elsewhere).  g->b is left alone (glocal_layer_backward accumulated it).
 * s->dim is at most GLOCAL_MAX_DIM. */
void glocal_layer_param_grads(const GlocalShape *s, const GlocalParams *p,
                              const float *khat, float *dweff,
                              float l2, float sparsity, GlocalParams *g);

/* The reference implementations (glocal_layer_naive.c): the same
 * contracts, plain loops, double accumulation, one thread. */
double glocal_layer_kernel_naive(const GlocalShape *s, const GlocalParams *p,
                                 float l2, float sparsity, float *khat,
                                 float *weff);
void glocal_layer_forward_naive(const GlocalShape *s, const float *weff,
                                const float *b, const float *x, int rows,
                                float *y);
void glocal_layer_backward_naive(const GlocalShape *s, const float *weff,
                                 const float *x, const float *y, float *dy,
                                 int rows, float *dweff, float *db, float *dx);
void glocal_layer_param_grads_naive(const GlocalShape *s,
                                    const GlocalParams *p, const float *khat,
                                    float *dweff, float l2,
                                    float sparsity, GlocalParams *g);

#endif

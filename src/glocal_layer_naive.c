/* glocal_layer_naive.c - the kernelised layer's reference implementation
 * (see glocal_layer.h): every formula written out as loops, accumulated in
 * double, on one thread.  Slow; the unit tests check glocal_layer.c
 * against it.
 *
 * No global mutable state. */
#include "glocal_layer.h"

#include <assert.h>

double glocal_layer_kernel_naive(const GlocalShape *s, const GlocalParams *p,
                                 float l2, float sparsity, float *khat,
                                 float *weff) {
    double pw = 0.0, pk = 0.0;
    for (int i = 0; i < s->n_in; i++)
        for (int j = 0; j < s->n_out; j++) {
            double d2 = 0.0;
            for (int d = 0; d < s->dim; d++) {
                double t = (double)p->u[(size_t)i * s->dim + d] -
                           (double)p->v[(size_t)j * s->dim + d];
                d2 += t * t;
            }
            double k = 1.0 - d2 > 0.0 ? 1.0 - d2 : 0.0;
            double w = p->w[(size_t)i * s->n_out + j];
            khat[(size_t)i * s->n_out + j] = (float)k;
            weff[(size_t)i * s->n_out + j] = (float)(w * k);
            pw += w * w;
            pk += k * k;
        }
    return l2 * pw + sparsity * pk;
}

void glocal_layer_forward_naive(const GlocalShape *s, const float *weff,
                                const float *b, const float *x, int rows,
                                float *y) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < s->n_out; j++) {
            double z = b[j];
            for (int i = 0; i < s->n_in; i++)
                z += (double)x[(size_t)r * s->n_in + i] *
                     weff[(size_t)i * s->n_out + j];
            y[(size_t)r * s->n_out + j] =
                (float)activation_apply_ref(s->act, z);
        }
}

void glocal_layer_backward_naive(const GlocalShape *s, const float *weff,
                                 const float *x, const float *y, float *dy,
                                 int rows, float *dweff, float *db,
                                 float *dx) {
    const int n_in = s->n_in, n_out = s->n_out;
    for (size_t k = 0; k < (size_t)rows * n_out; k++)
        dy[k] *= activation_grad(s->act, y[k]);
    for (int j = 0; j < n_out; j++) {
        double acc = 0.0;
        for (int r = 0; r < rows; r++) acc += dy[(size_t)r * n_out + j];
        db[j] += (float)acc;
    }
    for (int i = 0; i < n_in; i++)
        for (int j = 0; j < n_out; j++) {
            double acc = 0.0;
            for (int r = 0; r < rows; r++)
                acc += (double)x[(size_t)r * n_in + i] * dy[(size_t)r * n_out + j];
            dweff[(size_t)i * n_out + j] += (float)acc;
        }
    if (!dx) return;
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < n_in; i++) {
            double acc = 0.0;
            for (int j = 0; j < n_out; j++)
                acc += (double)dy[(size_t)r * n_out + j] * weff[(size_t)i * n_out + j];
            dx[(size_t)r * n_in + i] = (float)acc;
        }
}

void glocal_layer_param_grads_naive(const GlocalShape *s,
                                    const GlocalParams *p, const float *khat,
                                    float *dweff, float l2,
                                    float sparsity, GlocalParams *g) {
    const int n_in = s->n_in, n_out = s->n_out, dim = s->dim;
    assert(dim <= GLOCAL_MAX_DIM);
    for (size_t k = 0; k < (size_t)n_in * n_out; k++) {
        const double w = p->w[k], kh = khat[k], de = dweff[k];
        g->w[k] = (float)(de * kh + 2.0 * l2 * w);
        dweff[k] = (float)(kh > 0.0 ? de * w + 2.0 * sparsity * kh : 0.0);
    }
    /* dkhat_ij / du_i = -2 (u_i - v_j) and dkhat_ij / dv_j = 2 (u_i - v_j)
     * where 1 - |u_i - v_j|^2 > 0 (dweff now holds dkhat there, else 0) */
    for (int i = 0; i < n_in; i++)
        for (int d = 0; d < dim; d++) {
            double acc = 0.0;
            for (int j = 0; j < n_out; j++)
                acc += -2.0 * dweff[(size_t)i * n_out + j] *
                       ((double)p->u[(size_t)i * dim + d] - p->v[(size_t)j * dim + d]);
            g->u[(size_t)i * dim + d] = (float)acc;
        }
    for (int j = 0; j < n_out; j++)
        for (int d = 0; d < dim; d++) {
            double acc = 0.0;
            for (int i = 0; i < n_in; i++)
                acc += 2.0 * dweff[(size_t)i * n_out + j] *
                       ((double)p->u[(size_t)i * dim + d] - p->v[(size_t)j * dim + d]);
            g->v[(size_t)j * dim + d] = (float)acc;
        }
}

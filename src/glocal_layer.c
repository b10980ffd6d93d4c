/* glocal_layer.c - the kernelised layer's BLAS kernels (see glocal_layer.h).
 *
 * Matrix products go through blas_sgemm, one call per block of output rows,
 * the blocks spread over the OpenMP team (BLIS itself runs on one thread);
 * elementwise work is split the same way.  Every output element is
 * computed by one thread in a fixed order, so results do not depend on the
 * number of threads.
 *
 * No global mutable state. */
#include "glocal_layer.h"

#include <assert.h>
#include <omp.h>
#include <string.h>

#include "blas.h"

size_t glocal_layer_param_count(const GlocalShape *s) {
    return (size_t)s->n_in * s->n_out + (size_t)s->n_in * s->dim +
           (size_t)s->n_out * s->dim + (size_t)s->n_out;
}

void glocal_layer_bind(const GlocalShape *s, float *base, GlocalParams *p) {
    p->w = base;
    p->u = p->w + (size_t)s->n_in * s->n_out;
    p->v = p->u + (size_t)s->n_in * s->dim;
    p->b = p->v + (size_t)s->n_out * s->dim;
}

/* C (m, n; row stride ldc) = A B + beta C, A (m, k) and B (k, n) with
 * general strides, the rows of C split over the OpenMP team. */
static void par_sgemm(int m, int n, int k, const float *a, int rsa, int csa,
                      const float *b, int rsb, int csb, float beta, float *c,
                      int ldc) {
#pragma omp parallel
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int r0 = (int)((long long)m * t / nt);
        const int r1 = (int)((long long)m * (t + 1) / nt);
        if (r1 > r0)
            blas_sgemm(r1 - r0, n, k, 1.0f, a + (size_t)r0 * rsa, rsa, csa, b,
                       rsb, csb, beta, c + (size_t)r0 * ldc, ldc, 1);
    }
}

enum { COL_BLOCK = 64 };   /* columns summed together (contiguous reads) */

/* acc[j - j0] = sum over the rows of m (rows, n) of column j, for j0 <= j
 * < j1 (at most COL_BLOCK columns), rows added in order. */
static void column_block_sums(const float *m, int rows, int n, int j0, int j1,
                              double *acc) {
    for (int j = j0; j < j1; j++) acc[j - j0] = 0.0;
    for (int r = 0; r < rows; r++) {
        const float *row = m + (size_t)r * n;
        for (int j = j0; j < j1; j++) acc[j - j0] += row[j];
    }
}

/* out[j] += sum over the rows of m (rows, n) of column j, for j < n;
 * blocks of columns split over the team. */
static void add_column_sums(const float *m, int rows, int n, float *out) {
#pragma omp parallel for schedule(static)
    for (int j0 = 0; j0 < n; j0 += COL_BLOCK) {
        const int j1 = j0 + COL_BLOCK < n ? j0 + COL_BLOCK : n;
        double acc[COL_BLOCK];
        column_block_sums(m, rows, n, j0, j1, acc);
        for (int j = j0; j < j1; j++) out[j] += (float)acc[j - j0];
    }
}

double glocal_layer_kernel(const GlocalShape *s, const GlocalParams *p,
                           float l2, float sparsity, float *khat,
                           float *weff) {
    const int n_in = s->n_in, n_out = s->n_out, dim = s->dim;
    double pw = 0.0, pk = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : pw, pk)
    for (int i = 0; i < n_in; i++) {
        const float *ui = p->u + (size_t)i * dim;
        const float *wi = p->w + (size_t)i * n_out;
        float *ki = khat + (size_t)i * n_out, *ei = weff + (size_t)i * n_out;
        double rw = 0.0, rk = 0.0;
        for (int j = 0; j < n_out; j++) {
            const float *vj = p->v + (size_t)j * dim;
            float d2 = 0.0f;
            for (int d = 0; d < dim; d++) {
                const float t = ui[d] - vj[d];
                d2 += t * t;
            }
            const float k = d2 < 1.0f ? 1.0f - d2 : 0.0f;
            ki[j] = k;
            ei[j] = wi[j] * k;
            rw += (double)wi[j] * wi[j];
            rk += (double)k * k;
        }
        pw += rw;
        pk += rk;
    }
    return (double)l2 * pw + (double)sparsity * pk;
}

void glocal_layer_forward(const GlocalShape *s, const float *weff,
                          const float *b, const float *x, int rows, float *y) {
    const int n_in = s->n_in, n_out = s->n_out;
    par_sgemm(rows, n_out, n_in, x, n_in, 1, weff, n_out, 1, 0.0f, y, n_out);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++)
        activation_forward_row(y + (size_t)r * n_out, b, s->act, n_out);
}

void glocal_layer_backward(const GlocalShape *s, const float *weff,
                           const float *x, const float *y, float *dy,
                           int rows, float *dweff, float *db, float *dx) {
    const int n_in = s->n_in, n_out = s->n_out;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++)
        activation_backward_row(dy + (size_t)r * n_out, y + (size_t)r * n_out,
                                s->act, n_out);
    add_column_sums(dy, rows, n_out, db);
    /* dweff (n_in, n_out) += x^T dz: x read transposed through its strides */
    par_sgemm(n_in, n_out, rows, x, 1, n_in, dy, n_out, 1, 1.0f, dweff, n_out);
    if (dx)   /* dx (rows, n_in) = dz weff^T */
        par_sgemm(rows, n_in, n_out, dy, n_out, 1, weff, 1, n_out, 0.0f, dx,
                  n_in);
}

void glocal_layer_param_grads(const GlocalShape *s, const GlocalParams *p,
                              const float *khat, float *dweff,
                              float l2, float sparsity, GlocalParams *g) {
    const int n_in = s->n_in, n_out = s->n_out, dim = s->dim;
    float *gk = dweff;   /* overwritten with dkhat on the support */
    assert(dim <= GLOCAL_MAX_DIM);
    /* g->w, dkhat, and g->u from each row of dkhat:
     * du_i = -2 (u_i sum_j G_ij - sum_j G_ij v_j) */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n_in; i++) {
        const float *wi = p->w + (size_t)i * n_out;
        const float *ki = khat + (size_t)i * n_out;
        float *gi = gk + (size_t)i * n_out, *gwi = g->w + (size_t)i * n_out;
        double gv[GLOCAL_MAX_DIM] = {0}, sum = 0.0;
        for (int j = 0; j < n_out; j++) {
            const float de = gi[j];
            gwi[j] = de * ki[j] + 2.0f * l2 * wi[j];
            const float gkj = ki[j] > 0.0f ? de * wi[j] + 2.0f * sparsity * ki[j]
                                           : 0.0f;
            gi[j] = gkj;
            if (gkj == 0.0f) continue;
            sum += gkj;
            const float *vj = p->v + (size_t)j * dim;
            for (int d = 0; d < dim; d++) gv[d] += (double)gkj * vj[d];
        }
        const float *ui = p->u + (size_t)i * dim;
        for (int d = 0; d < dim; d++)
            g->u[(size_t)i * dim + d] = (float)(-2.0 * ((double)ui[d] * sum - gv[d]));
    }
    /* g->v: dv_j = 2 (sum_i G_ij u_i - v_j sum_i G_ij) */
    par_sgemm(n_out, dim, n_in, gk, 1, n_out, p->u, dim, 1, 0.0f, g->v, dim);
#pragma omp parallel for schedule(static)
    for (int j0 = 0; j0 < n_out; j0 += COL_BLOCK) {
        const int j1 = j0 + COL_BLOCK < n_out ? j0 + COL_BLOCK : n_out;
        double c[COL_BLOCK];
        column_block_sums(gk, n_in, n_out, j0, j1, c);
        for (int j = j0; j < j1; j++) {
            const float *vj = p->v + (size_t)j * dim;
            float *gvj = g->v + (size_t)j * dim;
            for (int d = 0; d < dim; d++)
                gvj[d] = (float)(2.0 * ((double)gvj[d] - (double)vj[d] * c[j - j0]));
        }
    }
}

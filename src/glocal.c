/* glocal.c - the GLocal-K model: initialisation, objective and gradient of
 * both stages, predictions (see glocal.h).
 *
 * Sums over rows are taken per row in parallel and added in row order, so
 * results do not depend on the number of threads.
 *
 * No global mutable state. */
#include "glocal.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "rng.h"

#define GLOCAL_INIT_STREAM 0x610ca1

/* Fills the shapes, offsets and parameter count from g->arch, rows, cols. */
static void glocal_layout(Glocal *g) {
    const GlocalArch *a = &g->arch;
    g->num_layers = a->num_hidden + 1;
    size_t off = 0;
    int n_in = g->cols;
    for (int l = 0; l < g->num_layers; l++) {
        const int last = l == g->num_layers - 1;
        GlocalShape s = {n_in, last ? g->cols : a->hidden[l], a->dim,
                         last ? a->decoder : a->encoder};
        g->shape[l] = s;
        g->offset[l] = off;
        off += glocal_layer_param_count(&s);
        n_in = s.n_out;
    }
    g->conv_offset = off;
    g->num_params = off + (size_t)g->rows * a->ksize * a->ksize;
}

/* The widest layer input or output (the backward scratch's row width). */
static int glocal_widest(const Glocal *g) {
    int w = g->cols;
    for (int l = 0; l < g->num_layers; l++)
        if (g->shape[l].n_out > w) w = g->shape[l].n_out;
    return w;
}

/* A model shape without storage: g's arch, sizes and layout only. */
static void glocal_shape_only(Glocal *g, const GlocalArch *a, int rows,
                              int cols) {
    memset(g, 0, sizeof *g);
    g->arch = *a;
    g->rows = rows;
    g->cols = cols;
    glocal_layout(g);
}

size_t glocal_param_count(const GlocalArch *a, int rows, int cols) {
    Glocal g;
    glocal_shape_only(&g, a, rows, cols);
    return g.num_params;
}

double glocal_bytes_needed(const GlocalArch *a, int rows, int cols) {
    Glocal g;
    glocal_shape_only(&g, a, rows, cols);
    double floats = (double)g.num_params + (double)rows * cols +
                    2.0 * rows * (double)glocal_widest(&g);
    for (int l = 0; l < g.num_layers; l++)
        floats += 3.0 * g.shape[l].n_in * (double)g.shape[l].n_out +
                  2.0 * rows * (double)g.shape[l].n_out;
    return floats * sizeof(float) +
           (double)rows * (2.0 + a->ksize * a->ksize) * sizeof(double);
}

/* A normal value with standard deviation sd, drawn again until it lies
 * within 2 sd (TensorFlow's truncated_normal). */
static float truncated_normal(Rng *r, double sd) {
    double z;
    do z = rng_normal(r);
    while (fabs(z) > 2.0);
    return (float)(z * sd);
}

/* Fills n floats uniformly in [-limit, limit). */
static void uniform_fill(Rng *r, float *p, size_t n, double limit) {
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((2.0 * rng_uniform(r) - 1.0) * limit);
}

void glocal_init(Glocal *g, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed, GLOCAL_INIT_STREAM);
    for (int l = 0; l < g->num_layers; l++) {
        const GlocalShape *s = &g->shape[l];
        GlocalParams p;
        glocal_layer_bind(s, g->params + g->offset[l], &p);
        uniform_fill(&r, p.w, (size_t)s->n_in * s->n_out,
                     sqrt(6.0 / (s->n_in + s->n_out)));
        for (size_t i = 0; i < (size_t)s->n_in * s->dim; i++)
            p.u[i] = truncated_normal(&r, 1e-3);
        for (size_t i = 0; i < (size_t)s->n_out * s->dim; i++)
            p.v[i] = truncated_normal(&r, 1e-3);
        uniform_fill(&r, p.b, (size_t)s->n_out, sqrt(3.0 / s->n_out));
    }
    const size_t nc = (size_t)g->rows * g->arch.ksize * g->arch.ksize;
    for (size_t i = 0; i < nc; i++)
        g->params[g->conv_offset + i] = truncated_normal(&r, 0.1);
}

int glocal_create(Glocal *g, const GlocalArch *a, const float *x, int rows,
                  int cols, size_t max_bytes, uint64_t seed, char *err) {
    memset(g, 0, sizeof *g);
    if (a->num_hidden < 1 || a->num_hidden > GLOCAL_MAX_LAYERS - 1)
        return err_set(err, "GLocal-K: %d hidden layers (expected 1..%d)",
                       a->num_hidden, GLOCAL_MAX_LAYERS - 1);
    if (a->dim < 1 || a->dim > GLOCAL_MAX_DIM || a->ksize < 1 ||
        a->ksize > GLOCAL_MAX_KSIZE || a->ksize % 2 == 0)
        return err_set(err, "GLocal-K: embedding dimension %d, global kernel "
                       "size %d (expected 1..%d and an odd size 1..%d)",
                       a->dim, a->ksize, GLOCAL_MAX_DIM, GLOCAL_MAX_KSIZE);
    if (rows < 1 || cols < 1)
        return err_set(err, "GLocal-K: an empty %d x %d rating matrix", rows,
                       cols);
    double need = glocal_bytes_needed(a, rows, cols);
    if (need > (double)max_bytes)
        return err_set(err, "GLocal-K on a %d x %d rating matrix needs %.3g GB "
                       "(dense: every layer's activations for every item), more "
                       "than the %.3g GB allowed: use a smaller data set or "
                       "smaller model.hidden", rows, cols, need / 1e9,
                       max_bytes / 1e9);
    glocal_shape_only(g, a, rows, cols);
    g->x = x;
    const size_t R = (size_t)rows, K2 = (size_t)a->ksize * a->ksize;
    const size_t widest = (size_t)glocal_widest(g);
    int ok = (g->params = mem_alloc_aligned(g->num_params * sizeof(float))) &&
             (g->xc = mem_alloc_aligned(R * cols * sizeof(float))) &&
             (g->dbuf[0] = mem_alloc_aligned(R * widest * sizeof(float))) &&
             (g->dbuf[1] = mem_alloc_aligned(R * widest * sizeof(float))) &&
             (g->pool = mem_alloc(R * 2 * sizeof(double))) &&
             (g->dk_rows = mem_alloc(R * K2 * sizeof(double)));
    for (int l = 0; ok && l < g->num_layers; l++) {
        const size_t nw = (size_t)g->shape[l].n_in * g->shape[l].n_out;
        const size_t no = R * g->shape[l].n_out;
        ok = (g->khat[l] = mem_alloc_aligned(nw * sizeof(float))) &&
             (g->weff[l] = mem_alloc_aligned(nw * sizeof(float))) &&
             (g->dweff[l] = mem_alloc_aligned(nw * sizeof(float))) &&
             (g->out[0][l] = mem_alloc_aligned(no * sizeof(float))) &&
             (g->out[1][l] = mem_alloc_aligned(no * sizeof(float)));
    }
    if (!ok)
        return err_set(err, "out of memory creating the GLocal-K model (%.3g MB "
                       "for a %d x %d matrix): use a smaller model.hidden",
                       need / 1e6, rows, cols);
    glocal_init(g, seed);
    return 0;
}

void glocal_free(Glocal *g) {
    if (!g) return;
    mem_free_aligned(g->params);
    mem_free_aligned(g->xc);
    mem_free_aligned(g->dbuf[0]);
    mem_free_aligned(g->dbuf[1]);
    mem_free(g->pool);
    mem_free(g->dk_rows);
    for (int l = 0; l < GLOCAL_MAX_LAYERS; l++) {
        mem_free_aligned(g->khat[l]);
        mem_free_aligned(g->weff[l]);
        mem_free_aligned(g->dweff[l]);
        mem_free_aligned(g->out[0][l]);
        mem_free_aligned(g->out[1][l]);
    }
    memset(g, 0, sizeof *g);
}

/* Every layer's khat and weff at theta; returns the summed penalty. */
static double glocal_kernels(Glocal *g, const float *theta) {
    double pen = 0.0;
    for (int l = 0; l < g->num_layers; l++) {
        GlocalParams p;
        glocal_layer_bind(&g->shape[l], (float *)theta + g->offset[l], &p);
        pen += glocal_layer_kernel(&g->shape[l], &p, g->arch.l2,
                                   g->arch.sparsity, g->khat[l], g->weff[l]);
    }
    return pen;
}

/* Forward pass `pass` of the network on input (rows, cols), with the
 * kernels of glocal_kernels; returns its output (rows, cols). */
static float *glocal_forward(Glocal *g, const float *theta, int pass,
                             const float *input) {
    const float *in = input;
    for (int l = 0; l < g->num_layers; l++) {
        GlocalParams p;
        glocal_layer_bind(&g->shape[l], (float *)theta + g->offset[l], &p);
        glocal_layer_forward(&g->shape[l], g->weff[l], p.b, in, g->rows,
                             g->out[pass][l]);
        in = g->out[pass][l];
    }
    return g->out[pass][g->num_layers - 1];
}

/* Backward through pass `pass` (input as given to glocal_forward) from the
 * output gradient in g->dbuf[buf], adding each layer's bias gradient to
 * grad and its weff gradient to g->dweff.  When want_dinput is set the
 * input's gradient is computed; returns the buffer holding it (else
 * NULL).  The dbufs are overwritten. */
static float *glocal_backward(Glocal *g, float *grad, int pass,
                              const float *input, int buf, int want_dinput) {
    float *dy = g->dbuf[buf];
    for (int l = g->num_layers - 1; l >= 0; l--) {
        const GlocalShape *s = &g->shape[l];
        GlocalParams gp;
        glocal_layer_bind(s, grad + g->offset[l], &gp);
        const float *in = l > 0 ? g->out[pass][l - 1] : input;
        float *dx = l > 0 || want_dinput ? g->dbuf[1 - buf] : NULL;
        glocal_layer_backward(s, g->weff[l], in, g->out[pass][l], dy, g->rows,
                              g->dweff[l], gp.b, dx);
        buf = 1 - buf;
        dy = dx;
    }
    return dy;
}

/* The squared error of pred against the observed entries of X, and (when
 * d is not NULL) its gradient 2 (pred - X) on them, 0 elsewhere. */
static double glocal_sse(Glocal *g, const float *pred, float *d) {
    const int C = g->cols;
    double *row = g->pool + g->rows;   /* the second half: per-row sums */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < g->rows; i++) {
        const float *xi = g->x + (size_t)i * C, *pi = pred + (size_t)i * C;
        double s = 0.0;
        for (int j = 0; j < C; j++) {
            const float e = xi[j] != 0.0f ? pi[j] - xi[j] : 0.0f;
            s += (double)e * e;
            if (d) d[(size_t)i * C + j] = 2.0f * e;
        }
        row[i] = s;
    }
    double sse = 0.0;
    for (int i = 0; i < g->rows; i++) sse += row[i];
    return sse;
}

/* The global kernel from pass 0's output: m_i into g->pool, K into g->gk. */
static void glocal_global_kernel(Glocal *g, const float *theta,
                                 const float *p0) {
    const int R = g->rows, C = g->cols, K2 = g->arch.ksize * g->arch.ksize;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < R; i++) {
        double s = 0.0;
        for (int j = 0; j < C; j++) s += p0[(size_t)i * C + j];
        g->pool[i] = s / C;
    }
    const float *cw = theta + g->conv_offset;
    for (int t = 0; t < K2; t++) {
        double s = 0.0;
        for (int i = 0; i < R; i++) s += g->pool[i] * cw[(size_t)i * K2 + t];
        g->gk[t] = (float)(g->arch.dot_scale * s);
    }
}

/* win[a * ksize + b] = X[i + a - c][j + b - c], c = ksize / 2, 0 outside
 * the matrix: the window the global kernel weighs at (i, j). */
static void glocal_window(const Glocal *g, int i, int j, float *win) {
    const int R = g->rows, C = g->cols, ks = g->arch.ksize, c = ks / 2;
    for (int a = 0; a < ks; a++) {
        const int ii = i + a - c;
        for (int b = 0; b < ks; b++) {
            const int jj = j + b - c;
            win[a * ks + b] = ii >= 0 && ii < R && jj >= 0 && jj < C
                              ? g->x[(size_t)ii * C + jj] : 0.0f;
        }
    }
}

/* g->xc = relu(K * X): "same" 2-D cross-correlation with zero padding
 * (glocal_window). */
static void glocal_convolve(Glocal *g) {
    const int R = g->rows, C = g->cols, K2 = g->arch.ksize * g->arch.ksize;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            float win[GLOCAL_MAX_KSIZE * GLOCAL_MAX_KSIZE], s = 0.0f;
            glocal_window(g, i, j, win);
            for (int t = 0; t < K2; t++) s += g->gk[t] * win[t];
            g->xc[(size_t)i * C + j] = s > 0.0f ? s : 0.0f;
        }
}

/* Backward through the convolution and the global kernel: dxc (rows,
 * cols), the gradient at Xc, gives dK (through the relu), then the
 * gradient of C into grad and of pass 0's output into dp0 (rows, cols:
 * dm_i / cols on every entry of row i). */
static void glocal_global_backward(Glocal *g, const float *theta, float *grad,
                                   const float *dxc, float *dp0) {
    const int R = g->rows, C = g->cols, K2 = g->arch.ksize * g->arch.ksize;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < R; i++) {
        double dk[GLOCAL_MAX_KSIZE * GLOCAL_MAX_KSIZE] = {0};
        for (int j = 0; j < C; j++) {
            const float d = dxc[(size_t)i * C + j];
            if (d == 0.0f || g->xc[(size_t)i * C + j] <= 0.0f) continue;
            float win[GLOCAL_MAX_KSIZE * GLOCAL_MAX_KSIZE];
            glocal_window(g, i, j, win);
            for (int t = 0; t < K2; t++) dk[t] += (double)d * win[t];
        }
    memcpy(g->dk_rows + (size_t)i * K2, dk, (size_t)K2 * sizeof(double));
    }
    double dk[GLOCAL_MAX_KSIZE * GLOCAL_MAX_KSIZE] = {0};
    for (int i = 0; i < R; i++)
        for (int t = 0; t < K2; t++) dk[t] += g->dk_rows[(size_t)i * K2 + t];
    const float *cw = theta + g->conv_offset;
    float *gc = grad + g->conv_offset;
    const double ds = g->arch.dot_scale;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < R; i++) {
        double dm = 0.0;
        for (int t = 0; t < K2; t++) {
            gc[(size_t)i * K2 + t] = (float)(ds * g->pool[i] * dk[t]);
            dm += ds * cw[(size_t)i * K2 + t] * dk[t];
        }
        const float v = (float)(dm / C);
        for (int j = 0; j < C; j++) dp0[(size_t)i * C + j] = v;
    }
}

/* The stage's forward computation at theta (kernels, pass 0, and for
 * fine-tuning the global kernel, the convolution and pass 1): returns the
 * predictions, *pen the penalty. */
static float *glocal_outputs(Glocal *g, GlocalStage stage, const float *theta,
                             double *pen) {
    *pen = glocal_kernels(g, theta);
    float *p = glocal_forward(g, theta, 0, g->x);
    if (stage == GLOCAL_FINETUNE) {
        glocal_global_kernel(g, theta, p);
        glocal_convolve(g);
        p = glocal_forward(g, theta, 1, g->xc);
    }
    return p;
}

double glocal_objective(Glocal *g, GlocalStage stage, const float *theta,
                        float *grad) {
    double pen;
    const float *p = glocal_outputs(g, stage, theta, &pen);
    const double sse = glocal_sse(g, p, grad ? g->dbuf[0] : NULL);
    if (!grad) return sse + pen;
    memset(grad, 0, g->num_params * sizeof(float));
    for (int l = 0; l < g->num_layers; l++)
        memset(g->dweff[l], 0, (size_t)g->shape[l].n_in * g->shape[l].n_out *
                                   sizeof(float));
    if (stage == GLOCAL_FINETUNE) {
        float *dxc = glocal_backward(g, grad, 1, g->xc, 0, 1);
        const int other = dxc == g->dbuf[0] ? 1 : 0;
        glocal_global_backward(g, theta, grad, dxc, g->dbuf[other]);
        glocal_backward(g, grad, 0, g->x, other, 0);
    } else {
        glocal_backward(g, grad, 0, g->x, 0, 0);
    }
    for (int l = 0; l < g->num_layers; l++) {
        GlocalParams p_l, g_l;
        glocal_layer_bind(&g->shape[l], (float *)theta + g->offset[l], &p_l);
        glocal_layer_bind(&g->shape[l], grad + g->offset[l], &g_l);
        glocal_layer_param_grads(&g->shape[l], &p_l, g->khat[l], g->dweff[l],
                                 g->arch.l2, g->arch.sparsity, &g_l);
    }
    return sse + pen;
}

const float *glocal_predict(Glocal *g, GlocalStage stage, const float *theta) {
    double pen;
    return glocal_outputs(g, stage, theta, &pen);
}

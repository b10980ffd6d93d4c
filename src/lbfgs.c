/* lbfgs.c - limited-memory BFGS with a strong Wolfe line search (see
 * lbfgs.h).
 *
 * Dot products are summed over fixed blocks of LBFGS_BLOCK elements (in
 * parallel) and the block sums added in order, so results do not depend on
 * the number of threads.
 *
 * No global mutable state. */
#include "lbfgs.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "mem.h"

#define LBFGS_BLOCK 8192
#define LBFGS_C1 1e-3          /* sufficient decrease */
#define LBFGS_C2 0.9           /* curvature */
#define LBFGS_MAX_EVALS 20     /* per line search */
#define LBFGS_EXTRAPOLATE 4.0  /* step growth while the slope stays steep */
#define LBFGS_EPS 2.2e-16      /* a pair is kept when s'y > eps y'y */

/* sum_i a[i] b[i] over o's n parameters in double: blocks of LBFGS_BLOCK
 * elements summed in parallel into o->part, then added in order. */
static double dot(const Lbfgs *o, const float *a, const float *b) {
    const size_t n = o->n;
    double *part = o->part;
    const size_t nb = (n + LBFGS_BLOCK - 1) / LBFGS_BLOCK;
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < nb; k++) {
        const size_t i0 = k * LBFGS_BLOCK;
        const size_t i1 = i0 + LBFGS_BLOCK < n ? i0 + LBFGS_BLOCK : n;
        double s = 0.0;
        for (size_t i = i0; i < i1; i++) s += (double)a[i] * b[i];
        part[k] = s;
    }
    double total = 0.0;
    for (size_t k = 0; k < nb; k++) total += part[k];
    return total;
}
/* y[i] += alpha x[i]. */
static void axpy(float *y, double alpha, const float *x, size_t n) {
    const float a = (float)alpha;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

double lbfgs_bytes(size_t n, int memory) {
    return ((2.0 * memory + 4.0) * (double)n) * sizeof(float) +
           (2.0 * memory + (double)n / LBFGS_BLOCK + 1.0) * sizeof(double);
}

int lbfgs_create(Lbfgs *o, size_t n, int memory, char *err) {
    memset(o, 0, sizeof *o);
    if (memory < 1 || memory > 100 || n == 0)
        return err_set(err, "L-BFGS: %d pairs of memory for %zu parameters "
                       "(expected 1..100 pairs and at least one parameter)",
                       memory, n);
    o->n = n;
    o->memory = memory;
    o->s = mem_alloc_aligned((size_t)memory * n * sizeof(float));
    o->y = mem_alloc_aligned((size_t)memory * n * sizeof(float));
    o->rho = mem_calloc((size_t)memory, sizeof(double));
    o->alpha = mem_calloc((size_t)memory, sizeof(double));
    o->part = mem_calloc((n + LBFGS_BLOCK - 1) / LBFGS_BLOCK, sizeof(double));
    o->g = mem_alloc_aligned(n * sizeof(float));
    o->d = mem_alloc_aligned(n * sizeof(float));
    o->xt = mem_alloc_aligned(n * sizeof(float));
    o->gt = mem_alloc_aligned(n * sizeof(float));
    if (!o->s || !o->y || !o->rho || !o->alpha || !o->part || !o->g || !o->d || !o->xt ||
        !o->gt)
        return err_set(err, "out of memory for the L-BFGS state (%.3g MB for "
                       "%zu parameters and %d pairs): lower the model's size",
                       lbfgs_bytes(n, memory) / 1e6, n, memory);
    return 0;
}

void lbfgs_free(Lbfgs *o) {
    if (!o) return;
    mem_free_aligned(o->s);
    mem_free_aligned(o->y);
    mem_free(o->rho);
    mem_free(o->alpha);
    mem_free(o->part);
    mem_free_aligned(o->g);
    mem_free_aligned(o->d);
    mem_free_aligned(o->xt);
    mem_free_aligned(o->gt);
    memset(o, 0, sizeof *o);
}

/* A point of the line search: step a, objective f, slope g'd there. */
typedef struct {
    double a, f, dg;
} LsPoint;

typedef struct {
    Lbfgs *o;
    LbfgsFn fn;
    void *ctx;
    const float *x;   /* the line's origin */
    double f0, dg0;
    int evals;
    double last_a;    /* step of the point in o->xt / o->gt, NAN: none */
} LineSearch;

/* Evaluates the objective at x + a d into o->xt, o->gt. */
static LsPoint ls_eval(LineSearch *ls, double a) {
    Lbfgs *o = ls->o;
    const float af = (float)a;
    const size_t n = o->n;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) o->xt[i] = ls->x[i] + af * o->d[i];
    LsPoint p = {a, ls->fn(ls->ctx, o->xt, o->gt), 0.0};
    p.dg = dot(o, o->gt, o->d);
    ls->evals++;
    ls->last_a = a;
    return p;
}

static int ls_sufficient(const LineSearch *ls, const LsPoint *p) {
    return isfinite(p->f) && p->f <= ls->f0 + LBFGS_C1 * p->a * ls->dg0;
}

static int ls_curvature(const LineSearch *ls, const LsPoint *p) {
    return isfinite(p->dg) && fabs(p->dg) <= -LBFGS_C2 * ls->dg0;
}

/* The minimiser of the cubic through p and q (values and slopes), kept
 * at least a tenth of the interval away from its ends; the midpoint when
 * the cubic has none there. */
static double cubic_step(const LsPoint *p, const LsPoint *q) {
    const double mid = 0.5 * (p->a + q->a);
    const double lo = fmin(p->a, q->a), w = fabs(q->a - p->a);
    if (!isfinite(p->f) || !isfinite(q->f) || !isfinite(p->dg) ||
        !isfinite(q->dg) || w == 0.0)
        return mid;
    const double d1 = p->dg + q->dg - 3.0 * (p->f - q->f) / (p->a - q->a);
    const double disc = d1 * d1 - p->dg * q->dg;
    if (disc < 0.0) return mid;
    const double d2 = (q->a > p->a ? 1.0 : -1.0) * sqrt(disc);
    const double den = q->dg - p->dg + 2.0 * d2;
    if (den == 0.0) return mid;
    const double a = q->a - (q->a - p->a) * (q->dg + d2 - d1) / den;
    if (!isfinite(a) || a < lo + 0.1 * w || a > lo + 0.9 * w) return mid;
    return a;
}

/* Nocedal and Wright's zoom: lo satisfies sufficient decrease with the
 * lowest objective so far, the minimiser lies between lo and hi.  Returns
 * 1 with the accepted point in o->xt/gt and *out, or 0 with *out = lo. */
static int ls_zoom(LineSearch *ls, LsPoint lo, LsPoint hi, LsPoint *out) {
    while (ls->evals < LBFGS_MAX_EVALS &&
           fabs(hi.a - lo.a) > 1e-12 * fmax(lo.a, hi.a)) {
        LsPoint c = ls_eval(ls, cubic_step(&lo, &hi));
        if (!ls_sufficient(ls, &c) || c.f >= lo.f) {
            hi = c;
            continue;
        }
        if (ls_curvature(ls, &c)) {
            *out = c;
            return 1;
        }
        if (c.dg * (hi.a - lo.a) >= 0.0) hi = lo;
        lo = c;
    }
    *out = lo;
    return 0;
}

/* Searches along o->d from x (objective f0, slope dg0 < 0) starting at step
 * a.  Returns 1 with an accepted point (strong Wolfe) in *out, or 0 with
 * *out the best point of sufficient decrease found (step 0 when none). */
static int line_search(LineSearch *ls, double a, LsPoint *out) {
    LsPoint prev = {0.0, ls->f0, ls->dg0};
    for (;;) {
        LsPoint c = ls_eval(ls, a);
        if (!ls_sufficient(ls, &c) || (prev.a > 0.0 && c.f >= prev.f))
            return ls_zoom(ls, prev, c, out);
        if (ls_curvature(ls, &c)) {
            *out = c;
            return 1;
        }
        if (c.dg >= 0.0) return ls_zoom(ls, c, prev, out);
        prev = c;
        if (ls->evals >= LBFGS_MAX_EVALS) {
            *out = prev;
            return 0;
        }
        a *= LBFGS_EXTRAPOLATE;
    }
}

/* d = -H g by the two-loop recursion over the k newest pairs (newest at
 * ring slot head - 1). */
static void direction(Lbfgs *o, int k, int head) {
    const size_t n = o->n;
    memcpy(o->d, o->g, n * sizeof(float));
    int slot = head;
    for (int i = 0; i < k; i++) {
        slot = (slot - 1 + o->memory) % o->memory;
        const float *s = o->s + (size_t)slot * n, *y = o->y + (size_t)slot * n;
        o->alpha[slot] = o->rho[slot] * dot(o, s, o->d);
        axpy(o->d, -o->alpha[slot], y, n);
    }
    if (k > 0) {
        const int newest = (head - 1 + o->memory) % o->memory;
        const float *y = o->y + (size_t)newest * n;
        const double gamma = 1.0 / (o->rho[newest] * dot(o, y, y));
        const float gf = (float)gamma;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) o->d[i] *= gf;
    }
    for (int i = 0; i < k; i++) {
        const float *s = o->s + (size_t)slot * n, *y = o->y + (size_t)slot * n;
        const double beta = o->rho[slot] * dot(o, y, o->d);
        axpy(o->d, o->alpha[slot] - beta, s, n);
        slot = (slot + 1) % o->memory;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) o->d[i] = -o->d[i];
}

void lbfgs_minimize(Lbfgs *o, LbfgsFn fn, void *ctx, float *x, int iterations,
                    const volatile sig_atomic_t *stop, LbfgsReport *rep) {
    const size_t n = o->n;
    memset(rep, 0, sizeof *rep);
    double f = fn(ctx, x, o->g);
    rep->f = rep->f0 = f;
    rep->evaluations = 1;
    if (!isfinite(f)) return;
    int k = 0, head = 0;   /* pairs stored, next ring slot */
    while (rep->iterations < iterations) {
        if (stop && *stop) {
            rep->stopped = 1;
            break;
        }
        direction(o, k, head);
        double dg = dot(o, o->g, o->d);
        if (!(dg < 0.0)) {   /* not a descent direction: restart */
            k = head = 0;
            direction(o, 0, 0);
            dg = dot(o, o->g, o->d);
            if (!(dg < 0.0)) break;   /* zero gradient */
        }
        /* the first step of a run is 1 / |g| long along -g; later ones try
         * the quasi-Newton step itself */
        const double a0 = k == 0 ? 1.0 / sqrt(-dg) : 1.0;
        LineSearch ls = {o, fn, ctx, x, f, dg, 0, NAN};
        LsPoint p;
        int ok = line_search(&ls, a0, &p);
        rep->evaluations += ls.evals;
        if (!ok) {
            rep->line_search_failed = 1;
            if (!(p.a > 0.0)) break;
            if (ls.last_a != p.a) {   /* bring back the point's gradient */
                p = ls_eval(&ls, p.a);
                rep->evaluations++;
            }
        }
        /* s = xt - x, y = gt - g */
        float *s = o->s + (size_t)head * n, *y = o->y + (size_t)head * n;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            s[i] = o->xt[i] - x[i];
            y[i] = o->gt[i] - o->g[i];
        }
        const double sy = dot(o, s, y), yy = dot(o, y, y);
        if (sy > LBFGS_EPS * yy && sy > 0.0) {
            o->rho[head] = 1.0 / sy;
            head = (head + 1) % o->memory;
            if (k < o->memory) k++;
        }
        memcpy(x, o->xt, n * sizeof(float));
        float *t = o->g;
        o->g = o->gt;
        o->gt = t;
        f = p.f;
        rep->f = f;
        rep->iterations++;
        if (!ok) break;
    }
}

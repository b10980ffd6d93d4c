/* lbfgs.h - limited-memory BFGS minimisation of a smooth function of many
 * float parameters (Nocedal and Wright, Numerical Optimization, 2nd ed.:
 * the two-loop recursion, Algorithm 7.4, with H0 = (s'y / y'y) I; a line
 * search for the strong Wolfe conditions, Algorithms 3.5 and 3.6, with
 * cubic interpolation).
 *
 * It follows what SciPy's L-BFGS-B does without bounds when it is called
 * with `maxiter` (GLocal-K's optimiser: ScipyOptimizerInterface, called
 * once per epoch): each lbfgs_minimize call starts with an empty memory,
 * its first step has length 1 along -g (step size 1 / |g|), later steps try
 * step size 1 first; sufficient decrease c1 = 1e-3, curvature c2 = 0.9, at
 * most 20 evaluations per line search; a pair (s, y) is kept only when
 * s'y > 2.2e-16 y'y.  The iteration count is the number of accepted steps.
 *
 * Vectors are float (the model's precision), dot products double. */
#ifndef AUTOREC_LBFGS_H
#define AUTOREC_LBFGS_H

#include <signal.h>
#include <stddef.h>

/* The objective: returns f(x) and writes its gradient into grad (n
 * floats).  Must be deterministic. */
typedef double (*LbfgsFn)(void *ctx, const float *x, float *grad);

typedef struct {
    size_t n;
    int memory;            /* pairs kept */
    float *s, *y;          /* (memory, n) ring of steps and gradient changes */
    double *rho;           /* (memory) 1 / s'y */
    double *alpha;         /* (memory) two-loop scratch */
    double *part;          /* dot products' block sums */
    float *g, *d;          /* (n) gradient at x, search direction */
    float *xt, *gt;        /* (n) trial point and its gradient */
} Lbfgs;

typedef struct {
    double f;              /* objective at the returned x */
    double f0;             /* objective at the starting x */
    int iterations;        /* accepted steps */
    int evaluations;       /* calls of the objective */
    int stopped;           /* 1: *stop was set: x is the last accepted point */
    int line_search_failed;/* 1: no acceptable step along the last
                              direction: x is the best point found */
} LbfgsReport;

/* Allocates the optimiser's state for n parameters and `memory` pairs
 * (1..100).  Returns 0, or -1 with err (out of memory: the state needs
 * (2 memory + 4) n floats).  Free with lbfgs_free, also on failure. */
int lbfgs_create(Lbfgs *o, size_t n, int memory, char *err);

/* Frees the state; accepts a zeroed one. */
void lbfgs_free(Lbfgs *o);

/* Bytes lbfgs_create allocates for n parameters and `memory` pairs. */
double lbfgs_bytes(size_t n, int memory);

/* Minimises fn from x (updated in place) for at most `iterations` accepted
 * steps, with an empty memory at the start.  Checks *stop (may be NULL)
 * before each iteration.  Never returns a point with a larger objective
 * than the start.  Fills *rep. */
void lbfgs_minimize(Lbfgs *o, LbfgsFn fn, void *ctx, float *x, int iterations,
                    const volatile sig_atomic_t *stop, LbfgsReport *rep);

#endif

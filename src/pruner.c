/* pruner.c - median and asha pruning decisions (see pruner.h).  Pure
 * functions of the values given; the worker reads them from the database
 * (db_peer_val_best).  No global mutable state. */
#include "pruner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"

void pruner_spec(const Config *c, PrunerSpec *out) {
    out->kind = c->search_pruner;
    out->warmup = c->search_warmup;
    out->min_trials = c->search_min_trials;
    out->min_epochs = c->search_min_epochs;
    out->eta = c->search_reduction;
    out->rungs = c->search_rungs;
    out->epochs = c->epochs;
}

int pruner_rung(const PrunerSpec *p, int epoch) {
    if (p->kind != PRUNER_ASHA || epoch >= p->epochs) return -1;
    long long r = p->min_epochs;
    for (int k = 0; (p->rungs == 0 || k < p->rungs) && r < p->epochs; k++) {
        if (r == epoch) return k;
        if (r > epoch) break;
        r *= p->eta;
    }
    return -1;
}

int pruner_checks(const PrunerSpec *p, int epoch) {
    if (epoch >= p->epochs) return 0;
    if (p->kind == PRUNER_MEDIAN) return epoch > p->warmup;
    return pruner_rung(p, epoch) >= 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The k-th smallest (0-based) of v[0..n-1] plus extra (n + 1 values when
 * with_extra), or of v alone; sorts a copy.  Returns NaN on OOM. */
static double kth(const double *v, int n, int with_extra, double extra,
                  int k) {
    int m = n + (with_extra != 0);
    double *c = mem_alloc((size_t)(m ? m : 1) * sizeof *c);
    if (!c) return 0.0 / 0.0;
    if (n) memcpy(c, v, (size_t)n * sizeof *c);
    if (with_extra) c[n] = extra;
    qsort(c, (size_t)m, sizeof *c, cmp_double);
    double r = c[k];
    mem_free(c);
    return r;
}

int pruner_decide(const PrunerSpec *p, int epoch, double value,
                  const double *peers, int n, char *reason) {
    if (!pruner_checks(p, epoch)) return 0;
    if (p->kind == PRUNER_MEDIAN) {
        if (n < p->min_trials) return 0;
        /* median of the peers: the mean of the two middle values */
        double lo = kth(peers, n, 0, 0, (n - 1) / 2);
        double hi = kth(peers, n, 0, 0, n / 2);
        double med = (lo + hi) / 2;
        if (!(value > med)) return 0;
        snprintf(reason, ERR_MAX, "median: best validation RMSE %.4f by "
                 "epoch %d is worse than the median %.4f of the %d other "
                 "trials there", value, epoch, med, n);
        return 1;
    }
    int m = n + 1, keep = m / p->eta;
    if (keep < 1) keep = 1;
    double cut = kth(peers, n, 1, value, keep - 1);
    if (!(value > cut)) return 0;
    snprintf(reason, ERR_MAX, "asha rung %d (epoch %d): best validation RMSE "
             "%.4f is not among the best %d of the %d trials there (cut-off "
             "%.4f)", pruner_rung(p, epoch), epoch, value, keep, m, cut);
    return 1;
}

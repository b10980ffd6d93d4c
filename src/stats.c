/* stats.c - mean, standard deviation and Student-t confidence intervals
 * (see stats.h).  The quantiles are a table (the standard t table, 0.975
 * column, 4 decimals; tests/test_stats.c integrates the density to check
 * it), not a numerical inversion. */
#include "stats.h"

#include <math.h>

/* t_{0.975}(df) for df = 1..30 */
static const double t975_small[30] = {
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060,
    2.2622,  2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199,
    2.1098,  2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
    2.0595,  2.0555, 2.0518, 2.0484, 2.0452, 2.0423};

/* beyond 30: (df, quantile), the last one the normal limit (1/df = 0) */
static const struct { double df, t; } t975_large[] = {
    {30, 2.0423}, {40, 2.0211}, {60, 2.0003}, {120, 1.9799},
    {INFINITY, 1.959964}};

double stats_t975(int df) {
    if (df < 1) return NAN;
    if (df <= 30) return t975_small[df - 1];
    int n = (int)(sizeof t975_large / sizeof t975_large[0]);
    for (int k = 1; k < n; k++) {
        if (df > t975_large[k].df) continue;
        /* interpolate linearly in 1/df between rows k-1 and k */
        double a = 1.0 / t975_large[k - 1].df, b = 1.0 / t975_large[k].df;
        double w = (1.0 / df - a) / (b - a);
        double lo = t975_large[k - 1].t, hi = t975_large[k].t;
        return lo + w * (hi - lo);
    }
    return t975_large[n - 1].t;
}

void stats_summarise(const double *x, int n, StatsSummary *out) {
    double sum = 0, ss = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) { sum += x[i]; m++; }
    out->n = m;
    out->mean = out->sd = out->t = out->half = NAN;
    if (m == 0) return;
    out->mean = sum / m;
    if (m < 2) return;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) ss += (x[i] - out->mean) * (x[i] - out->mean);
    out->sd = sqrt(ss / (m - 1));
    out->t = stats_t975(m - 1);
    out->half = out->t * out->sd / sqrt((double)m);
}

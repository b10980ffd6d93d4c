/* stats.h - summary statistics of repeated measurements: mean, sample
 * standard deviation and a Student-t 95% confidence interval of the mean
 * (what the split summaries of data.split.repeats / kind folds report). */
#ifndef AUTOREC_STATS_H
#define AUTOREC_STATS_H

typedef struct {
    int n;          /* finite values summarised */
    double mean;    /* NaN when n == 0 */
    double sd;      /* sample standard deviation (n - 1); NaN when n < 2 */
    double t;       /* t quantile 0.975 with n - 1 degrees; NaN when n < 2 */
    double half;    /* CI half-width t * sd / sqrt(n); NaN when n < 2 */
} StatsSummary;

/* The 0.975 quantile of Student's t distribution with df >= 1 degrees of
 * freedom (two-sided 95%): exact to 4 decimals for df <= 30, 40, 60, 120,
 * linear in 1/df between the tabulated values beyond 30, and 1.959964 (the
 * normal quantile) as df grows without bound.  Returns NaN for df < 1. */
double stats_t975(int df);

/* Summarises the finite values among x[0..n-1] (NaN entries are skipped)
 * into *out. */
void stats_summarise(const double *x, int n, StatsSummary *out);

#endif

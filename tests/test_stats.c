/* test_stats.c - the t quantiles against published values and against a
 * numerical integration of the t density; mean/sd/interval of samples. */
#include <math.h>

#include "stats.h"
#include "test.h"

/* P(T <= x) for Student's t with df degrees: 0.5 + the integral of the
 * density from 0 to x (composite Simpson, 20000 intervals). */
static double t_cdf(double x, int df) {
    double nu = df;
    double c = exp(lgamma((nu + 1) / 2) - lgamma(nu / 2)) / sqrt(nu * M_PI);
    int n = 20000;
    double h = x / n, sum = 0;
    for (int i = 0; i <= n; i++) {
        double t = i * h;
        double f = c * pow(1 + t * t / nu, -(nu + 1) / 2);
        sum += f * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
    }
    return 0.5 + sum * h / 3;
}

static void test_t975_known_values(void) {
    /* the 0.975 column of any t table */
    CHECK_CLOSE(stats_t975(1), 12.706, 0, 5e-4);
    CHECK_CLOSE(stats_t975(2), 4.303, 0, 5e-4);
    CHECK_CLOSE(stats_t975(4), 2.776, 0, 5e-4);
    CHECK_CLOSE(stats_t975(9), 2.262, 0, 5e-4);
    CHECK_CLOSE(stats_t975(29), 2.045, 0, 5e-4);
    CHECK_CLOSE(stats_t975(50), 2.009, 0, 1e-3);    /* interpolated */
    CHECK_CLOSE(stats_t975(1000000), 1.960, 0, 1e-3);
    CHECK(isnan(stats_t975(0)));
    /* decreasing in df */
    for (int df = 1; df < 300; df++) CHECK(stats_t975(df + 1) < stats_t975(df));
}

static void test_t975_integrates_to_0975(void) {
    /* every tabulated quantile, and interpolated ones, put 97.5% below */
    static const int dfs[] = {1, 2, 3, 4, 5, 7, 10, 15, 20, 25, 30, 35, 40, 50,
                              60, 90, 120, 500};
    for (size_t i = 0; i < sizeof dfs / sizeof dfs[0]; i++) {
        double p = t_cdf(stats_t975(dfs[i]), dfs[i]);
        CHECK_MSG(fabs(p - 0.975) < 2e-5, "df %d: P = %.7f", dfs[i], p);
    }
}

static void test_summarise(void) {
    const double x[5] = {0.8940, 0.8958, NAN, 0.8838, 0.8914};
    StatsSummary s;
    stats_summarise(x, 5, &s);
    double mean = (0.8940 + 0.8958 + 0.8838 + 0.8914) / 4, ss = 0;
    for (int i = 0; i < 5; i++)
        if (!isnan(x[i])) ss += (x[i] - mean) * (x[i] - mean);
    CHECK(s.n == 4);
    CHECK_CLOSE(s.mean, mean, 0, 1e-15);
    CHECK_CLOSE(s.sd, sqrt(ss / 3), 0, 1e-15);
    CHECK_CLOSE(s.t, 3.1824, 0, 1e-12);
    CHECK_CLOSE(s.half, 3.1824 * sqrt(ss / 3) / 2, 0, 1e-15);
    stats_summarise(x, 1, &s);
    CHECK(s.n == 1 && s.mean == 0.8940 && isnan(s.sd) && isnan(s.half));
    stats_summarise(x + 2, 1, &s);
    CHECK(s.n == 0 && isnan(s.mean));
}

void suite_stats(void) {
    RUN(test_t975_known_values);
    RUN(test_t975_integrates_to_0975);
    RUN(test_summarise);
}

/* ensemble_fit.c - the weights of an ensemble and the RMSE of a blend (see
 * ensemble.h).
 *
 * With G = X'X and b = X'y over the validation rows (X: one column of
 * predictions per member), the squared error of weights w is
 * f(w) = w'Gw - 2b'w + y'y.  The constrained least-squares solution is the
 * equality-constrained optimum on its support, so solving that small
 * system (nnls: G_S w = b_S; simplex: the KKT system with sum w = 1) on
 * every support S and keeping the feasible (w >= 0) one with the lowest f
 * gives the exact optimum.  With at most ENS_MAX_MEMBERS members that is at
 * most 4095 systems of at most 13 unknowns.  No global state. */
#include "ensemble.h"

#include <math.h>
#include <string.h>

#include "err.h"

#define ENS_N (ENS_MAX_MEMBERS + 1)

/* Solves a (n x n, row-major, stride ENS_N) x = r in place by Gaussian
 * elimination with partial pivoting; x gets the solution.  Returns 0, or -1
 * when the matrix is singular (relative to scale). */
static int solve(double a[ENS_N][ENS_N], double *r, int n, double *x,
                 double scale) {
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int i = c + 1; i < n; i++)
            if (fabs(a[i][c]) > fabs(a[p][c])) p = i;
        if (fabs(a[p][c]) <= 1e-12 * scale) return -1;
        if (p != c) {
            for (int j = 0; j < n; j++) {
                double t = a[c][j];
                a[c][j] = a[p][j];
                a[p][j] = t;
            }
            double t = r[c];
            r[c] = r[p];
            r[p] = t;
        }
        for (int i = c + 1; i < n; i++) {
            double f = a[i][c] / a[c][c];
            for (int j = c; j < n; j++) a[i][j] -= f * a[c][j];
            r[i] -= f * r[c];
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = r[i];
        for (int j = i + 1; j < n; j++) s -= a[i][j] * x[j];
        x[i] = s / a[i][i];
    }
    return 0;
}

int ens_fit(const float *x, const float *y, size_t n, int k, EnsWeights kind,
            double *w, char *err) {
    if (k < 1 || k > ENS_MAX_MEMBERS)
        return err_set(err, "an ensemble has 1 to %d members, not %d",
                       ENS_MAX_MEMBERS, k);
    if (kind == ENS_MEAN || k == 1) {
        for (int m = 0; m < k; m++) w[m] = 1.0 / k;
        if (kind == ENS_MEAN || kind == ENS_SIMPLEX) return 0;
    }
    if (n == 0)
        return err_set(err, "no validation ratings to fit the ensemble's "
                       "weights on: set data.split.validation_ratio, or "
                       "ensemble.weights: mean");
    double G[ENS_MAX_MEMBERS][ENS_MAX_MEMBERS], b[ENS_MAX_MEMBERS];
    memset(G, 0, sizeof G);
    memset(b, 0, sizeof b);
    for (size_t j = 0; j < n; j++) {
        const float *xj = x + j * (size_t)k;
        for (int p = 0; p < k; p++) {
            b[p] += (double)xj[p] * y[j];
            for (int q = p; q < k; q++) G[p][q] += (double)xj[p] * xj[q];
        }
    }
    double scale = 0;
    for (int p = 0; p < k; p++) {
        for (int q = 0; q < p; q++) G[p][q] = G[q][p];
        if (G[p][p] > scale) scale = G[p][p];
    }
    double best = INFINITY;
    int found = 0;
    for (unsigned mask = 1; mask < (1u << k); mask++) {
        int idx[ENS_MAX_MEMBERS], s = 0;
        for (int m = 0; m < k; m++)
            if (mask >> m & 1) idx[s++] = m;
        double a[ENS_N][ENS_N], r[ENS_N], sol[ENS_N];
        const int simplex = kind == ENS_SIMPLEX, dim = s + simplex;
        for (int i = 0; i < s; i++) {
            for (int j = 0; j < s; j++) a[i][j] = 2 * G[idx[i]][idx[j]];
            r[i] = 2 * b[idx[i]];
            if (simplex) a[i][s] = a[s][i] = 1;
        }
        if (simplex) {
            a[s][s] = 0;
            r[s] = 1;
        }
        if (solve(a, r, dim, sol, 2 * scale)) continue;
        int feasible = 1;
        for (int i = 0; i < s && feasible; i++)
            feasible = sol[i] >= -1e-12 && isfinite(sol[i]);
        if (!feasible) continue;
        double cand[ENS_MAX_MEMBERS] = {0}, f = 0;
        for (int i = 0; i < s; i++) cand[idx[i]] = sol[i] > 0 ? sol[i] : 0;
        for (int p = 0; p < k; p++) {
            f -= 2 * b[p] * cand[p];
            for (int q = 0; q < k; q++) f += cand[p] * G[p][q] * cand[q];
        }
        if (f < best) {
            best = f;
            memcpy(w, cand, (size_t)k * sizeof *w);
            found = 1;
        }
    }
    if (!found)
        return err_set(err, "no weights fit the ensemble's validation "
                       "predictions (every member predicts 0?): check the "
                       "members' runs");
    return 0;
}

double ens_blend_rmse(const float *x, const float *y, size_t n, int k,
                      const double *w, double lo, double hi) {
    if (n == 0) return NAN;
    double sse = 0;
    for (size_t j = 0; j < n; j++) {
        double p = 0;
        for (int m = 0; m < k; m++) p += w[m] * x[j * (size_t)k + m];
        if (lo < hi) p = p < lo ? lo : p > hi ? hi : p;
        sse += (p - y[j]) * (p - y[j]);
    }
    return sqrt(sse / (double)n);
}

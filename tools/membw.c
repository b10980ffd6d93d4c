/* membw.c - memory bandwidth of this machine for the training floors of
 * docs/performance.md ("Training on large data: where the time goes").
 * A benchmark, not part of autorec.  Build and run (tools/membw.sh does
 * both):  gcc -O2 -march=native -fopenmp tools/membw.c -o membw && ./membw [N]
 * Arrays of N floats (default 70M, the parameters of ML-10M's model) are
 * swept with the program's OpenMP threads (OMP_NUM_THREADS); for each
 * pattern the median of 7 sweeps is printed as GB/s of bytes read plus
 * written:
 *   read     sum of one array
 *   triad    a = b + s c                       (2 read, 1 written)
 *   rmw3     p, m, v read and written          (the exact Adam step of a
 *            parameter without gradient: 24 bytes per parameter) */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const long n = argc > 1 ? atol(argv[1]) : 70000000L;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    float *c = malloc(n * sizeof *c);
    if (!a || !b || !c || n < 1) {
        fprintf(stderr, "membw: cannot allocate 3 arrays of %ld floats: give a "
                "smaller N\n", n);
        return 1;
    }
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) { a[i] = 1.0f; b[i] = 0.5f; c[i] = 0.25f; }
    const char *name[3] = {"read", "triad", "rmw3"};
    const double bytes[3] = {4.0, 12.0, 24.0};
    double t[7], sink = 0.0;
    printf("membw: %ld floats per array, %d threads\n", n, omp_get_max_threads());
    for (int k = 0; k < 3; k++) {
        for (int rep = 0; rep < 7; rep++) {
            double t0 = omp_get_wtime();
            float s = 0.0f;
            if (k == 0) {
                #pragma omp parallel for simd schedule(static) reduction(+:s)
                for (long i = 0; i < n; i++) s += a[i];
            } else if (k == 1) {
                #pragma omp parallel for simd schedule(static)
                for (long i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
            } else {
                #pragma omp parallel for simd schedule(static)
                for (long i = 0; i < n; i++) {
                    float gi = 1e-5f * a[i];
                    b[i] = 0.9f * b[i] + 0.1f * gi;
                    c[i] = 0.999f * c[i] + 0.001f * gi * gi;
                    a[i] -= 1e-3f * b[i] / (c[i] + 1e-8f);
                }
            }
            t[rep] = omp_get_wtime() - t0;
            sink += s;
        }
        qsort(t, 7, sizeof *t, cmp_d);
        printf("%-6s %7.1f GB/s  (median %.4f s per sweep, %.0f bytes per element)\n",
               name[k], bytes[k] * n / t[3] / 1e9, t[3], bytes[k]);
    }
    free(a); free(b); free(c);
    return sink == 12345.0;  /* keeps the reads */
}

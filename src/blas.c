/* blas.c - BLIS wrapper (see blas.h).
 *
 * Threading decision: autorec parallelises with its own OpenMP loops over
 * tiles, and every BLIS call made from inside those loops must run on one
 * thread.  We pass an explicit runtime object asking for one thread, so the
 * behaviour does not depend on BLIS_NUM_THREADS or OpenMP nesting settings.
 *
 * Kernel selection: BLIS 0.9 (Debian 12) picks its sub-configuration from
 * the CPU model and does not know AMD Zen 4/5, where it falls back to the
 * portable 'generic' kernels (flame/blis#912), about 5x slower than its
 * AVX-512 'skx' kernels on such a CPU; and its BLIS_ARCH_TYPE override aborts
 * in this version.  So when BLIS chose 'generic' we choose by instruction
 * set instead: skx with AVX-512 (F, DQ, BW, VL), haswell with AVX2 and FMA.
 * AUTOREC_BLIS_ARCH=auto|generic|haswell|zen3|skx overrides the choice.
 * This needs bli_gks_lookup_nat_cntx, which the shared library does not
 * export: we link Debian's static libblis.a (see Makefile).
 *
 * Global state: the selected context, set once under pthread_once and
 * read-only afterwards. */
#include "blas.h"

#include <blis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static cntx_t *g_cntx;           /* NULL: BLIS's own choice */
static arch_t g_arch;
static const char *g_reason = "detected by BLIS";

static int cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

static int cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static void select_arch(void) {
    bli_init();
    g_arch = bli_arch_query_id();
    const char *want = getenv("AUTOREC_BLIS_ARCH");
    arch_t pick = g_arch;
    if (want && *want && strcmp(want, "auto") != 0) {
        static const struct { const char *name; arch_t id; } names[] = {
            {"generic", BLIS_ARCH_GENERIC}, {"haswell", BLIS_ARCH_HASWELL},
            {"zen3", BLIS_ARCH_ZEN3}, {"skx", BLIS_ARCH_SKX}};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (!strcmp(want, names[i].name)) { pick = names[i].id; g_reason = "AUTOREC_BLIS_ARCH"; }
        if (pick == g_arch && strcmp(want, bli_arch_string(g_arch)) != 0)
            fprintf(stderr, "autorec: ignoring AUTOREC_BLIS_ARCH=%s (use auto, generic, "
                    "haswell, zen3 or skx)\n", want);
    } else if (g_arch == BLIS_ARCH_GENERIC) {
        if (cpu_has_avx512()) { pick = BLIS_ARCH_SKX; g_reason = "chosen by CPU features (AVX-512)"; }
        else if (cpu_has_avx2_fma()) { pick = BLIS_ARCH_HASWELL; g_reason = "chosen by CPU features (AVX2, FMA)"; }
    }
    if (pick != g_arch) {
        cntx_t *c = bli_gks_lookup_nat_cntx(pick);
        if (c) { g_cntx = c; g_arch = pick; }
        else g_reason = "detected by BLIS (requested sub-configuration not built in)";
    }
}

void blas_sgemm(int m, int n, int k, float alpha,
                const float *a, int rsa, int csa,
                const float *b, int rsb, int csb,
                float beta, float *c, int rsc, int csc) {
    if (m <= 0 || n <= 0) return;
    pthread_once(&g_once, select_arch);
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(1, &rntm);
    /* BLIS's typed API takes non-const pointers but does not write a, b. */
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
                 (float *)a, rsa, csa, (float *)b, rsb, csb, &beta,
                 c, rsc, csc, g_cntx, &rntm);
}

void blas_describe(char *buf, int size) {
    pthread_once(&g_once, select_arch);
    snprintf(buf, (size_t)size, "BLIS %s, kernels %s (%s), threading %s, 1 thread per call",
             bli_info_get_version_str(), bli_arch_string(g_arch), g_reason,
             bli_info_get_enable_openmp() ? "openmp" : "none");
}

/* blas.h - the one place autorec calls BLIS. */
#ifndef AUTOREC_BLAS_H
#define AUTOREC_BLAS_H

/* C = alpha * A * B + beta * C, single precision, general strides:
 * A is m x k (element (i,p) at a[i*rsa + p*csa]), B is k x n, C is m x n.
 * Always runs single-threaded: callers parallelise over tiles themselves. */
void blas_sgemm(int m, int n, int k, float alpha,
                const float *a, int rsa, int csa,
                const float *b, int rsb, int csb,
                float beta, float *c, int rsc, int csc);

/* Writes a one-line description of the BLIS library (version, kernel
 * architecture, threading model) into buf. */
void blas_describe(char *buf, int size);

#endif

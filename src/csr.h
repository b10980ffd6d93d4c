/* csr.h - compressed sparse row matrices of ratings.
 *
 * Rows are items, columns users (the I-AutoRec input).  Within a row the
 * entries are sorted by column. */
#ifndef AUTOREC_CSR_H
#define AUTOREC_CSR_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"

typedef struct {
    int rows, cols;
    int64_t nnz;
    int64_t *ptr;   /* (rows + 1) start of each row in col/val */
    int32_t *col;   /* (nnz) column of each entry */
    float *val;     /* (nnz) value of each entry (never 0) */
} Csr;

/* Builds the items x users CSR of n ratings.  Returns 0, or -1 with err (out
 * of memory; an index outside the dimensions is a programming error and
 * asserts).  Free with csr_free. */
int csr_from_ratings(Csr *m, const Rating *r, size_t n, int rows, int cols,
                     char *err);

/* Builds a CSR from a dense rows x cols row-major matrix (0 = no entry). */
int csr_from_dense(Csr *m, const float *dense, int rows, int cols, char *err);

/* A dense rows x cols row-major copy (64-byte aligned, caller frees with
 * mem_free_aligned), or NULL on OOM or when the size overflows. */
float *csr_to_dense(const Csr *m);

/* Builds the transpose of m into t (cols x rows, rows still sorted by
 * column): the users x items matrix of U-AutoRec.  Returns 0, or -1 with err
 * (out of memory).  Free with csr_free. */
int csr_transpose(Csr *t, const Csr *m, char *err);

/* Frees the arrays and zeroes m; accepts NULL and zeroed matrices. */
void csr_free(Csr *m);

#endif

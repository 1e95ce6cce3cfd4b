/*
 * gp_internal.h — helpers shared by kernel.c, gp.c and fit.c; not part of the public
 * API (only optimize/gp/ includes it).
 */
#ifndef MRPC_OPTIMIZE_GP_INTERNAL_H
#define MRPC_OPTIMIZE_GP_INTERNAL_H

#include <stddef.h>

#include "gp.h"

/* Added to the diagonal of every kernel matrix on top of sn2, for round-off. */
#define GP_JITTER 1e-10

/*
 * Fills the lower triangle (and the diagonal) of K [n, n] (row-major, leading dimension
 * ldk) with k(X_i, X_j), adding sn2 + GP_JITTER on the diagonal.
 */
void gp_kernel_matrix(const mrpc_gp_hyper *h, const double *X, size_t n, double *K, size_t ldk);

/*
 * Cholesky factor in place: on entry the lower triangle of a symmetric positive
 * definite A [n, n] (row-major, leading dimension lda), on exit L with A = L L^T in the
 * lower triangle. Returns 0 on success, else the LAPACK info (> 0: not positive definite).
 */
int gp_cholesky(double *A, size_t n, size_t lda);

/* Solves L z = b in place (b[n]); L lower, row-major with leading dimension ldl. */
void gp_solve_lower(const double *L, size_t n, size_t ldl, double *b);

/* Solves L^T z = b in place. */
void gp_solve_upper_t(const double *L, size_t n, size_t ldl, double *b);

#endif /* MRPC_OPTIMIZE_GP_INTERNAL_H */

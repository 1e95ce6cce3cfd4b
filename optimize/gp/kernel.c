/* kernel.c — the Matern-5/2 ARD kernel, its matrix, and the triangular algebra (see gp.h). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>

#include "gp.h"
#include "gp_internal.h"

#define SQRT5 2.2360679774997896964091736687313

double mrpc_gp_matern52(double r) {
    double s = SQRT5 * r;
    return (1.0 + s + s * s / 3.0) * exp(-s);
}

double mrpc_gp_kernel(const mrpc_gp_hyper *h, const double *a, const double *b) {
    double r2 = 0.0;
    for (size_t i = 0; i < h->d; i++) {
        double t = (a[i] - b[i]) * exp(-h->log_ls[i]);
        r2 += t * t;
    }
    return exp(h->log_sf2) * mrpc_gp_matern52(sqrt(r2));
}

void mrpc_gp_hyper_pack(const mrpc_gp_hyper *h, double *theta) {
    for (size_t i = 0; i < h->d; i++) theta[i] = h->log_ls[i];
    theta[h->d] = h->log_sf2;
    theta[h->d + 1] = h->log_sn2;
}

void mrpc_gp_hyper_unpack(mrpc_gp_hyper *h, const double *theta) {
    for (size_t i = 0; i < h->d; i++) h->log_ls[i] = theta[i];
    h->log_sf2 = theta[h->d];
    h->log_sn2 = theta[h->d + 1];
}

void gp_kernel_matrix(const mrpc_gp_hyper *h, const double *X, size_t n, double *K, size_t ldk) {
    double inv_ls[MRPC_GP_MAX_DIM];
    for (size_t k = 0; k < h->d; k++) inv_ls[k] = exp(-h->log_ls[k]);
    double sf2 = exp(h->log_sf2), sn2 = exp(h->log_sn2);
    for (size_t i = 0; i < n; i++) {
        const double *xi = X + i * h->d;
        for (size_t j = 0; j < i; j++) {
            const double *xj = X + j * h->d;
            double r2 = 0.0;
            for (size_t k = 0; k < h->d; k++) {
                double t = (xi[k] - xj[k]) * inv_ls[k];
                r2 += t * t;
            }
            K[i * ldk + j] = sf2 * mrpc_gp_matern52(sqrt(r2));
        }
        K[i * ldk + i] = sf2 + sn2 + GP_JITTER;
    }
}

int gp_cholesky(double *A, size_t n, size_t lda) {
    if (n == 0) return 0;
    /* A row-major lower triangle is a column-major upper triangle: factor it as U^T U,
     * whose U read row-major is our L. No copy, no transposition. */
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, A, (lapack_int)lda);
    return (int)info;
}

void gp_solve_lower(const double *L, size_t n, size_t ldl, double *b) {
    if (n == 0) return;
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, L, (int)ldl, b, 1);
}

void gp_solve_upper_t(const double *L, size_t n, size_t ldl, double *b) {
    if (n == 0) return;
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)n, L, (int)ldl, b, 1);
}

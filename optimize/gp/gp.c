/* gp.c — conditioning, prediction and Kriging-believer fantasies (see gp.h). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gp.h"
#include "gp_internal.h"

void mrpc_gp_free(mrpc_gp *gp) {
    if (!gp) return;
    free(gp->X);
    free(gp->L);
    free(gp->alpha);
    free(gp->work);
    memset(gp, 0, sizeof *gp);
}

mrpc_status mrpc_gp_condition(mrpc_gp *gp, const double *X, const double *y, size_t n, size_t d,
                              const mrpc_gp_hyper *h, int normalize, size_t extra, mrpc_error *err) {
    mrpc_gp_free(gp);
    if (d == 0 || d > MRPC_GP_MAX_DIM || h->d != d) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "gp", "bad dimension %zu (hyperparameters for %zu)", d,
                              h->d);
    }
    size_t cap = n + extra;
    if (cap == 0) cap = 1;
    gp->d = d;
    gp->cap = cap;
    gp->hyper = *h;
    gp->X = malloc(cap * d * sizeof *gp->X);
    gp->L = malloc(cap * cap * sizeof *gp->L);
    gp->alpha = malloc((n ? n : 1) * sizeof *gp->alpha);
    gp->work = malloc(cap * sizeof *gp->work);
    if (!gp->X || !gp->L || !gp->alpha || !gp->work) {
        mrpc_gp_free(gp);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "gp", "out of memory for %zu points", cap);
    }
    if (n) memcpy(gp->X, X, n * d * sizeof *X);

    double mean = 0.0, sd = 1.0;
    if (normalize && n > 0) {
        for (size_t i = 0; i < n; i++) mean += y[i];
        mean /= (double)n;
        double ss = 0.0;
        for (size_t i = 0; i < n; i++) ss += (y[i] - mean) * (y[i] - mean);
        sd = sqrt(ss / (double)n);
        if (!(sd > 1e-12 * fmax(1.0, fabs(mean)))) sd = 1.0;
    }
    gp->y_mean = mean;
    gp->y_std = sd;

    gp_kernel_matrix(h, X, n, gp->L, cap);
    int info = gp_cholesky(gp->L, n, cap);
    if (info != 0) {
        mrpc_gp_free(gp);
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "gp",
                              "kernel matrix is not positive definite (LAPACK dpotrf info %d)", info);
    }
    for (size_t i = 0; i < n; i++) gp->alpha[i] = (y[i] - mean) / sd;
    gp_solve_lower(gp->L, n, cap, gp->alpha);
    gp_solve_upper_t(gp->L, n, cap, gp->alpha);
    gp->n_real = n;
    gp->n = n;
    return MRPC_OK;
}

/* k(X_i, x) for the first `n` points into out[n]. */
static void cross_kernel(const mrpc_gp *gp, const double *x, size_t n, double *out) {
    for (size_t i = 0; i < n; i++) out[i] = mrpc_gp_kernel(&gp->hyper, gp->X + i * gp->d, x);
}

void mrpc_gp_predict(const mrpc_gp *gp, const double *x, double *mean, double *var) {
    double sf2 = exp(gp->hyper.log_sf2);
    double *v = gp->work;
    cross_kernel(gp, x, gp->n, v);
    double m = 0.0;
    for (size_t i = 0; i < gp->n_real; i++) m += v[i] * gp->alpha[i];
    gp_solve_lower(gp->L, gp->n, gp->cap, v);
    double s = 0.0;
    for (size_t i = 0; i < gp->n; i++) s += v[i] * v[i];
    double var_f = sf2 - s;
    if (var_f < 1e-12 * sf2) var_f = 1e-12 * sf2;
    *mean = m;
    *var = var_f;
}

mrpc_status mrpc_gp_predict_many(const mrpc_gp *gp, const double *C, size_t m, double *mean, double *var,
                                 mrpc_error *err) {
    if (m == 0) return MRPC_OK;
    size_t n = gp->n;
    double sf2 = exp(gp->hyper.log_sf2);
    if (n == 0) {
        for (size_t j = 0; j < m; j++) { mean[j] = 0.0; var[j] = sf2; }
        return MRPC_OK;
    }
    double *V = malloc(n * m * sizeof *V); /* [n, m]: k(X_i, C_j) */
    if (!V) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "gp", "out of memory for %zu candidates", m);
    for (size_t i = 0; i < n; i++) {
        const double *xi = gp->X + i * gp->d;
        for (size_t j = 0; j < m; j++) V[i * m + j] = mrpc_gp_kernel(&gp->hyper, xi, C + j * gp->d);
    }
    for (size_t j = 0; j < m; j++) {
        double s = 0.0;
        for (size_t i = 0; i < gp->n_real; i++) s += V[i * m + j] * gp->alpha[i];
        mean[j] = s;
    }
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, (int)m, 1.0, gp->L,
                (int)gp->cap, V, (int)m);
    for (size_t j = 0; j < m; j++) var[j] = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) var[j] += V[i * m + j] * V[i * m + j];
    for (size_t j = 0; j < m; j++) {
        double v = sf2 - var[j];
        var[j] = v < 1e-12 * sf2 ? 1e-12 * sf2 : v;
    }
    free(V);
    return MRPC_OK;
}

mrpc_status mrpc_gp_add_fantasy(mrpc_gp *gp, const double *x, mrpc_error *err) {
    if (gp->n >= gp->cap) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "gp", "no room for another fantasy point (%zu)", gp->cap);
    }
    size_t n = gp->n;
    double *row = gp->L + n * gp->cap;
    cross_kernel(gp, x, n, row);
    gp_solve_lower(gp->L, n, gp->cap, row);
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += row[i] * row[i];
    double diag = exp(gp->hyper.log_sf2) + exp(gp->hyper.log_sn2) + GP_JITTER - s;
    /* With the noise term diag >= sn2 in exact arithmetic; keep it positive under round-off. */
    double floor_v = 1e-12 * exp(gp->hyper.log_sf2);
    row[n] = sqrt(diag > floor_v ? diag : floor_v);
    memcpy(gp->X + n * gp->d, x, gp->d * sizeof *x);
    gp->n = n + 1;
    return MRPC_OK;
}

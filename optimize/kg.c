/* kg.c — the knowledge gradient for continuous parameters of a conditioned GP (see kg.h). */
#include "kg.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acquisition.h"

void mrpc_kg_free(mrpc_kg *kg) {
    if (!kg) return;
    free(kg->W); free(kg->neg_mean); free(kg->a); free(kg->b); free(kg->c); free(kg->kx); free(kg->v);
    free(kg->ord); free(kg->env);
    memset(kg, 0, sizeof *kg);
}

mrpc_status mrpc_kg_prepare(mrpc_kg *kg, const mrpc_gp *gp, mrpc_error *err) {
    size_t n = gp->n, cap = gp->cap;
    if (kg->cap < cap) {
        mrpc_kg_free(kg);
        kg->cap = cap;
        kg->W = malloc(cap * cap * sizeof *kg->W);
        kg->neg_mean = malloc(cap * sizeof *kg->neg_mean);
        kg->a = malloc((cap + 1) * sizeof *kg->a);
        kg->b = malloc((cap + 1) * sizeof *kg->b);
        kg->c = malloc((cap + 1) * sizeof *kg->c);
        kg->kx = malloc((cap + 1) * sizeof *kg->kx);
        kg->v = malloc((cap + 1) * sizeof *kg->v);
        kg->ord = malloc((cap + 1) * sizeof *kg->ord);
        kg->env = malloc((cap + 1) * sizeof *kg->env);
        if (!kg->W || !kg->neg_mean || !kg->a || !kg->b || !kg->c || !kg->kx || !kg->v || !kg->ord || !kg->env) {
            mrpc_kg_free(kg);
            return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "bayes", "out of memory for %zu points", cap);
        }
    }
    kg->n = n;
    if (n == 0) return MRPC_OK;
    size_t d = gp->d;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) kg->W[i * cap + j] = mrpc_gp_kernel(&gp->hyper, gp->X + i * d, gp->X + j * d);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, (int)n, 1.0, gp->L,
                (int)gp->cap, kg->W, (int)cap);
    for (size_t j = 0; j < n; j++) {
        double m = 0.0;
        for (size_t i = 0; i < gp->n_real; i++) m += mrpc_gp_kernel(&gp->hyper, gp->X + i * d, gp->X + j * d) * gp->alpha[i];
        kg->neg_mean[j] = -m;
    }
    return MRPC_OK;
}

double mrpc_kg_log(mrpc_kg *kg, const mrpc_gp *gp, const double *x, double mean, double var, const double *v,
                   size_t v_stride) {
    size_t n = kg->n, d = gp->d, cap = kg->cap;
    for (size_t i = 0; i < n; i++) kg->kx[i] = mrpc_gp_kernel(&gp->hyper, gp->X + i * d, x);
    if (!v) {
        memcpy(kg->v, kg->kx, n * sizeof *kg->v);
        if (n) cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, gp->L, (int)gp->cap, kg->v, 1);
    } else {
        for (size_t i = 0; i < n; i++) kg->v[i] = v[i * v_stride];
    }
    /* Sigma(a, x) = k(a, x) - (L^-1 k(X, a)) . (L^-1 k(X, x)) for every point a: kx - W^T v. */
    if (n) cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)n, -1.0, kg->W, (int)cap, kg->v, 1, 1.0, kg->kx, 1);
    double s = sqrt(var + exp(gp->hyper.log_sn2));
    for (size_t i = 0; i < n; i++) {
        kg->a[i] = kg->neg_mean[i];
        kg->b[i] = kg->kx[i] / s;
    }
    kg->a[n] = -mean;
    kg->b[n] = var / s;
    return mrpc_log_kg_lines(n + 1, kg->a, kg->b, kg->ord, kg->env, kg->c);
}

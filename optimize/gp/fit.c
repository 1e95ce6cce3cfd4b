/* fit.c — log marginal likelihood, its gradient, and the maximum-likelihood fit (see gp.h). */
#include <lapacke.h>
#include <math.h>
#include <nlopt.h>
#include <stdlib.h>
#include <string.h>

#include "gp.h"
#include "gp_internal.h"

#define SQRT5 2.2360679774997896964091736687313
#define LOG_2PI 1.8378770664093454835606594728112

/* Scratch for repeated likelihood evaluations on the same data. */
typedef struct lml_work {
    const double *X, *y;
    size_t        n, d;
    double       *K;     /* [n, n] */
    double       *alpha; /* [n] */
    size_t        n_eval;
} lml_work;

/*
 * The likelihood and (when grad != NULL) its gradient with the scratch in w. Returns 0,
 * or the LAPACK info of a failed factorization.
 */
static int lml_eval(lml_work *w, const mrpc_gp_hyper *h, double *lml, double *grad) {
    size_t n = w->n, d = w->d;
    double *K = w->K;
    gp_kernel_matrix(h, w->X, n, K, n);
    int info = gp_cholesky(K, n, n);
    if (info != 0) return info;
    double logdet = 0.0;
    for (size_t i = 0; i < n; i++) logdet += log(K[i * n + i]);
    memcpy(w->alpha, w->y, n * sizeof *w->alpha);
    gp_solve_lower(K, n, n, w->alpha);
    double quad = 0.0;
    for (size_t i = 0; i < n; i++) quad += w->alpha[i] * w->alpha[i];
    gp_solve_upper_t(K, n, n, w->alpha);
    *lml = -0.5 * quad - logdet - 0.5 * (double)n * LOG_2PI;
    if (!grad) return 0;

    /* K^-1 from the factor (lower triangle, row-major = column-major upper). */
    info = (int)LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)n, K, (lapack_int)n);
    if (info != 0) return info;
    /* W = alpha alpha^T - K^-1; dLML/dtheta = 1/2 sum_ij W_ij dK_ij. Sum over the lower
     * triangle, counting off-diagonal entries twice. */
    double inv_ls2[MRPC_GP_MAX_DIM];
    for (size_t k = 0; k < d; k++) inv_ls2[k] = exp(-2.0 * h->log_ls[k]);
    double sf2 = exp(h->log_sf2), sn2 = exp(h->log_sn2);
    double g_ls[MRPC_GP_MAX_DIM] = {0};
    double g_sf2 = 0.0, g_sn2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *xi = w->X + i * d;
        for (size_t j = 0; j < i; j++) {
            const double *xj = w->X + j * d;
            double wij = w->alpha[i] * w->alpha[j] - K[i * n + j];
            double s2[MRPC_GP_MAX_DIM];
            double r2 = 0.0;
            for (size_t k = 0; k < d; k++) {
                double t = xi[k] - xj[k];
                s2[k] = t * t * inv_ls2[k];
                r2 += s2[k];
            }
            double r = sqrt(r2);
            double e = exp(-SQRT5 * r);
            double kij = sf2 * (1.0 + SQRT5 * r + 5.0 * r2 / 3.0) * e;
            /* d k / d log ls_k = sf2 * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * s2_k */
            double c = sf2 * (5.0 / 3.0) * (1.0 + SQRT5 * r) * e;
            g_sf2 += 2.0 * wij * kij;
            for (size_t k = 0; k < d; k++) g_ls[k] += 2.0 * wij * c * s2[k];
        }
        double wii = w->alpha[i] * w->alpha[i] - K[i * n + i];
        g_sf2 += wii * sf2;
        g_sn2 += wii * sn2;
    }
    for (size_t k = 0; k < d; k++) grad[k] = 0.5 * g_ls[k];
    grad[d] = 0.5 * g_sf2;
    grad[d + 1] = 0.5 * g_sn2;
    return 0;
}

mrpc_status mrpc_gp_log_marginal(const double *X, const double *y, size_t n, const mrpc_gp_hyper *h, double *lml,
                                 double *grad, mrpc_error *err) {
    if (n == 0 || h->d == 0 || h->d > MRPC_GP_MAX_DIM) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "gp", "need at least one point and 1..%d dimensions",
                              MRPC_GP_MAX_DIM);
    }
    lml_work w = {.X = X, .y = y, .n = n, .d = h->d};
    w.K = malloc(n * n * sizeof *w.K);
    w.alpha = malloc(n * sizeof *w.alpha);
    if (!w.K || !w.alpha) {
        free(w.K); free(w.alpha);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "gp", "out of memory for %zu points", n);
    }
    int info = lml_eval(&w, h, lml, grad);
    free(w.K);
    free(w.alpha);
    if (info != 0) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "gp",
                              "kernel matrix is not positive definite (LAPACK info %d)", info);
    }
    return MRPC_OK;
}

void mrpc_gp_fit_defaults(mrpc_gp_fit_options *opt, mrpc_rng *rng) {
    opt->ls_min = 0.02;
    opt->ls_max = 2.0;
    opt->sf2_min = 0.01;
    opt->sf2_max = 100.0;
    opt->sn2_min = 1e-6;
    opt->sn2_max = 1.0;
    opt->ls_prior = (mrpc_gp_prior){MRPC_GP_PRIOR_NONE, 0.0, 0.0};
    opt->sf2_prior = opt->ls_prior;
    opt->sn2_prior = opt->ls_prior;
    opt->restarts = 4;
    opt->max_eval = 200;
    opt->rng = rng;
}

void mrpc_gp_fit_map_defaults(mrpc_gp_fit_options *opt, mrpc_rng *rng) {
    mrpc_gp_fit_defaults(opt, rng);
    opt->ls_prior = (mrpc_gp_prior){MRPC_GP_PRIOR_GAMMA, 3.0, 6.0};
    opt->sf2_prior = (mrpc_gp_prior){MRPC_GP_PRIOR_GAMMA, 2.0, 0.15};
    opt->sn2_prior = (mrpc_gp_prior){MRPC_GP_PRIOR_GAMMA, 1.1, 0.05};
}

/* Adds the log prior of v = exp(theta) to *lp and its derivative by theta to *g. */
static void add_prior(const mrpc_gp_prior *p, double theta, double *lp, double *g) {
    if (p->kind == MRPC_GP_PRIOR_GAMMA) {
        double v = exp(theta);
        *lp += (p->a - 1.0) * theta - p->b * v;
        if (g) *g += (p->a - 1.0) - p->b * v;
    }
}

typedef struct fit_ctx {
    lml_work                  *w;
    mrpc_gp_hyper              h;
    const mrpc_gp_fit_options *opt;
} fit_ctx;

static double nlopt_objective(unsigned dim, const double *theta, double *grad, void *data) {
    fit_ctx *c = data;
    mrpc_gp_hyper_unpack(&c->h, theta);
    double lml;
    c->w->n_eval++;
    if (lml_eval(c->w, &c->h, &lml, grad) != 0 || !isfinite(lml)) {
        /* A matrix that fails to factor is a very poor point; steer away from it. */
        if (grad) memset(grad, 0, dim * sizeof *grad);
        return -1e300;
    }
    const mrpc_gp_fit_options *o = c->opt;
    size_t d = c->h.d;
    for (size_t k = 0; k < d; k++) add_prior(&o->ls_prior, theta[k], &lml, grad ? &grad[k] : NULL);
    add_prior(&o->sf2_prior, theta[d], &lml, grad ? &grad[d] : NULL);
    add_prior(&o->sn2_prior, theta[d + 1], &lml, grad ? &grad[d + 1] : NULL);
    if (grad) {
        for (unsigned i = 0; i < dim; i++)
            if (!isfinite(grad[i])) grad[i] = 0.0;
    }
    return lml;
}

mrpc_status mrpc_gp_fit(const double *X, const double *y, size_t n, size_t d, const mrpc_gp_fit_options *opt,
                        mrpc_gp_hyper *out, double *out_lml, mrpc_error *err) {
    if (n == 0 || d == 0 || d > MRPC_GP_MAX_DIM) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "gp", "need at least one point and 1..%d dimensions",
                              MRPC_GP_MAX_DIM);
    }
    size_t dim = d + 2;
    double lb[MRPC_GP_MAX_DIM + 2], ub[MRPC_GP_MAX_DIM + 2];
    for (size_t k = 0; k < d; k++) { lb[k] = log(opt->ls_min); ub[k] = log(opt->ls_max); }
    lb[d] = log(opt->sf2_min); ub[d] = log(opt->sf2_max);
    lb[d + 1] = log(opt->sn2_min); ub[d + 1] = log(opt->sn2_max);

    lml_work w = {.X = X, .y = y, .n = n, .d = d};
    w.K = malloc(n * n * sizeof *w.K);
    w.alpha = malloc(n * sizeof *w.alpha);
    nlopt_opt nl = nlopt_create(NLOPT_LD_LBFGS, (unsigned)dim);
    if (!w.K || !w.alpha || !nl) {
        free(w.K); free(w.alpha);
        if (nl) nlopt_destroy(nl);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "gp", "out of memory for %zu points", n);
    }
    fit_ctx ctx = {.w = &w, .opt = opt};
    ctx.h.d = d;
    nlopt_set_lower_bounds(nl, lb);
    nlopt_set_upper_bounds(nl, ub);
    nlopt_set_max_objective(nl, nlopt_objective, &ctx);
    nlopt_set_maxeval(nl, (int)(opt->max_eval ? opt->max_eval : 200));
    nlopt_set_ftol_rel(nl, 1e-9);
    nlopt_set_xtol_rel(nl, 1e-7);

    double best = -INFINITY;
    double best_theta[MRPC_GP_MAX_DIM + 2];
    size_t starts = 1 + (opt->rng ? opt->restarts : 0);
    for (size_t s = 0; s < starts; s++) {
        double theta[MRPC_GP_MAX_DIM + 2];
        if (s == 0) {
            for (size_t k = 0; k < d; k++) theta[k] = log(0.3);
            theta[d] = 0.0;
            theta[d + 1] = log(0.01);
        } else {
            for (size_t k = 0; k < dim; k++) theta[k] = lb[k] + (ub[k] - lb[k]) * mrpc_rng_uniform(opt->rng);
        }
        for (size_t k = 0; k < dim; k++) theta[k] = theta[k] < lb[k] ? lb[k] : (theta[k] > ub[k] ? ub[k] : theta[k]);
        double f = -INFINITY;
        nlopt_result r = nlopt_optimize(nl, theta, &f);
        /* Round-off and budget stops still leave the best point seen in theta. */
        if (r < 0 && r != NLOPT_ROUNDOFF_LIMITED) {
            if (nlopt_objective((unsigned)dim, theta, NULL, &ctx) <= -1e299) continue;
            f = nlopt_objective((unsigned)dim, theta, NULL, &ctx);
        }
        if (isfinite(f) && f > -1e299 && f > best) {
            best = f;
            memcpy(best_theta, theta, dim * sizeof *theta);
        }
    }
    nlopt_destroy(nl);
    int has_prior = opt->ls_prior.kind || opt->sf2_prior.kind || opt->sn2_prior.kind;
    if (best > -INFINITY) {
        memset(out, 0, sizeof *out);
        out->d = d;
        mrpc_gp_hyper_unpack(out, best_theta);
        /* The likelihood alone at the result (the objective included the priors). */
        if (has_prior && lml_eval(&w, out, &best, NULL) != 0) best = -INFINITY;
    }
    free(w.K);
    free(w.alpha);
    if (!(best > -INFINITY)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "gp",
                              "no hyperparameter start gave a finite likelihood (%zu points)", n);
    }
    if (out_lml) *out_lml = best;
    return MRPC_OK;
}

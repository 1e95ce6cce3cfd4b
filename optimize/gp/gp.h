/*
 * gp.h — Gaussian-process regression on the unit cube for the Bayesian stage.
 *
 * Model: y = f(x) + e, f ~ GP(0, k), e ~ N(0, sn2), with the Matern-5/2 kernel with
 * one length scale per input dimension (ARD):
 *
 *     k(a, b) = sf2 * (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r),  r^2 = sum_i ((a_i - b_i) / ls_i)^2
 *
 * The hyperparameters are handled in log form, theta = [log ls_1 .. log ls_d, log sf2,
 * log sn2] (d + 2 numbers), as scikit-learn does, and are fitted by maximum marginal
 * likelihood (analytic gradient, NLopt L-BFGS, several starts inside fixed bounds), or,
 * with priors (mrpc_gp_fit_map_defaults, what the Bayesian stage uses), by maximum a
 * posteriori.
 *
 * mrpc_gp_condition standardizes y (mean, population std, as scikit-learn's
 * normalize_y) and factors K + sn2 I with LAPACK (dpotrf). Points can then be added
 * as "fantasies" (mrpc_gp_add_fantasy): a pending run, or a point already chosen for
 * the wave, believed to return the posterior mean there (Kriging believer). A fantasy
 * leaves the posterior mean unchanged and only shrinks the variance around it, so the
 * mean uses the real points and the variance uses all of them.
 *
 * Example:
 *
 *     mrpc_gp_hyper h; mrpc_gp_fit_options fo; mrpc_gp_fit_defaults(&fo, &rng);
 *     mrpc_gp_fit(X, y_std, n, d, &fo, &h, NULL, &err);     // y_std: standardized y
 *     mrpc_gp gp = {0};
 *     mrpc_gp_condition(&gp, X, y, n, d, &h, 1, 8, &err);     // room for 8 fantasies
 *     mrpc_gp_predict(&gp, x, &mean, &var);                   // standardized units
 *     mrpc_gp_free(&gp);
 */
#ifndef MRPC_OPTIMIZE_GP_H
#define MRPC_OPTIMIZE_GP_H

#include <stddef.h>

#include "rng.h"
#include "status.h"

#define MRPC_GP_MAX_DIM 32

/* Kernel hyperparameters of a d-dimensional GP, in log form. */
typedef struct mrpc_gp_hyper {
    size_t d;
    double log_ls[MRPC_GP_MAX_DIM]; /* log length scales, in unit-cube units */
    double log_sf2;                 /* log signal variance */
    double log_sn2;                 /* log noise variance */
} mrpc_gp_hyper;

/* The Matern-5/2 correlation at scaled distance r >= 0: (1 + sqrt5 r + 5r^2/3) exp(-sqrt5 r). */
double mrpc_gp_matern52(double r);

/* k(a, b) without the noise term; a and b have h->d coordinates. */
double mrpc_gp_kernel(const mrpc_gp_hyper *h, const double *a, const double *b);

/* Packs h into theta[d + 2] / unpacks theta into h (h->d must be set). */
void mrpc_gp_hyper_pack(const mrpc_gp_hyper *h, double *theta);
void mrpc_gp_hyper_unpack(mrpc_gp_hyper *h, const double *theta);

/*
 * Log marginal likelihood of y (used as given, no standardization) at X [n, d]
 * (row-major) under h:  -1/2 y^T K^-1 y - 1/2 log|K| - n/2 log 2pi, K = k(X, X) + sn2 I.
 * When `grad` is not NULL it receives the d + 2 partial derivatives with respect to
 * theta. Fails with MRPC_ERR_INVALID when K is not positive definite, MRPC_ERR_NOMEM.
 */
mrpc_status mrpc_gp_log_marginal(const double *X, const double *y, size_t n, const mrpc_gp_hyper *h, double *lml,
                                 double *grad, mrpc_error *err);

/*
 * A prior on a positive hyperparameter v, as GPyTorch applies it (density of v itself):
 *   gamma(a = shape, b = rate):  log p(v) = (a - 1) log v - b v + const
 */
typedef enum mrpc_gp_prior_kind { MRPC_GP_PRIOR_NONE = 0, MRPC_GP_PRIOR_GAMMA } mrpc_gp_prior_kind;
typedef struct mrpc_gp_prior {
    mrpc_gp_prior_kind kind;
    double             a, b;
} mrpc_gp_prior;

/* Bounds, priors and effort of the hyperparameter fit. */
typedef struct mrpc_gp_fit_options {
    double    ls_min, ls_max;   /* length scales (unit-cube units) */
    double    sf2_min, sf2_max; /* signal variance (y standardized) */
    double    sn2_min, sn2_max; /* noise variance */
    /* Priors: with any of them the fit is maximum a posteriori (log marginal likelihood
     * + log priors) instead of maximum likelihood. */
    mrpc_gp_prior ls_prior, sf2_prior, sn2_prior;
    size_t    restarts;         /* random starts besides the fixed one */
    size_t    max_eval;         /* likelihood evaluations per start */
    mrpc_rng *rng;              /* source of the random starts; NULL: fixed start only */
} mrpc_gp_fit_options;

/*
 * Default bounds: ls [0.02, 2], sf2 [0.01, 100], sn2 [1e-6, 1], no priors (maximum
 * likelihood, as scikit-learn), 4 restarts, 200 evaluations.
 */
void mrpc_gp_fit_defaults(mrpc_gp_fit_options *opt, mrpc_rng *rng);

/*
 * The maximum-a-posteriori setting for noisy objectives (what the Bayesian stage uses):
 * the hyperparameter priors of BoTorch's SingleTaskGP (Balandat et al., "BoTorch: a
 * framework for efficient Monte-Carlo Bayesian optimization", NeurIPS 2020; the same
 * unit-cube inputs and standardized outputs as here): length scales Gamma(3, 6) (mode
 * 1/3 of the cube: a response that varies on a shorter scale needs the data to say
 * so), signal variance Gamma(2, 0.15) and noise variance Gamma(1.1, 0.05); the bounds
 * stay those of mrpc_gp_fit_defaults (BoTorch's noise floor of 1e-4 cost a factor of 10
 * in final regret on the noise-free Branin function). Without them, maximum
 * likelihood on 10-30 noisy runs mostly explains seed noise with very short length
 * scales and a near-zero noise (it interpolates the noise), so the posterior mean at
 * a run is its observed value and the luckiest run looks best.
 */
void mrpc_gp_fit_map_defaults(mrpc_gp_fit_options *opt, mrpc_rng *rng);

/*
 * Maximizes the log marginal likelihood of (X [n, d], y), plus the log priors when
 * opt has any, over the hyperparameters within the bounds, from a fixed start (ls 0.3,
 * sf2 1, sn2 0.01) and `restarts` random starts; keeps the best. y should be
 * standardized. *out_lml (may be NULL) receives the log marginal likelihood at the
 * result (without the priors). Fails only when no start gave a finite likelihood.
 */
mrpc_status mrpc_gp_fit(const double *X, const double *y, size_t n, size_t d, const mrpc_gp_fit_options *opt,
                        mrpc_gp_hyper *out, double *out_lml, mrpc_error *err);

/* A conditioned GP. Zero-initialize; release with mrpc_gp_free. */
typedef struct mrpc_gp {
    size_t        d;
    size_t        n_real;   /* observed points */
    size_t        n;        /* observed + fantasy points */
    size_t        cap;      /* room for points */
    mrpc_gp_hyper hyper;
    double        y_mean, y_std; /* y_standardized = (y - y_mean) / y_std */
    double       *X;        /* [cap, d] */
    double       *L;        /* [cap, cap] row-major; lower Cholesky factor of K + sn2 I over the first n points */
    double       *alpha;    /* [n_real] (K + sn2 I)^-1 y_standardized over the real points */
    double       *work;     /* [cap] scratch */
} mrpc_gp;

/*
 * Conditions `gp` on (X [n, d], y [n]) with hyperparameters h (h->d == d), leaving room
 * for `extra` fantasies. With `normalize` y is standardized first (mean, population
 * std; std 1 when it is 0 or n < 2), else used as given. Any previous content of gp is
 * freed. Fails with MRPC_ERR_INVALID when the kernel matrix is not positive definite.
 */
mrpc_status mrpc_gp_condition(mrpc_gp *gp, const double *X, const double *y, size_t n, size_t d,
                              const mrpc_gp_hyper *h, int normalize, size_t extra, mrpc_error *err);

/*
 * Posterior mean and variance of the latent f at x (d coordinates), in standardized
 * units (multiply the mean by y_std and add y_mean, the variance by y_std^2, for y
 * units). The variance is at least 1e-12 * sf2.
 */
void mrpc_gp_predict(const mrpc_gp *gp, const double *x, double *mean, double *var);

/*
 * As mrpc_gp_predict for m points C [m, d] at once (BLAS triangular solve), writing
 * mean[m] and var[m]. Fails only when out of memory.
 */
mrpc_status mrpc_gp_predict_many(const mrpc_gp *gp, const double *C, size_t m, double *mean, double *var,
                                 mrpc_error *err);

/*
 * Adds x as a fantasy point (Kriging believer): extends the Cholesky factor by one
 * row in O(n^2). Fails with MRPC_ERR_INVALID when there is no room left (cap).
 */
mrpc_status mrpc_gp_add_fantasy(mrpc_gp *gp, const double *x, mrpc_error *err);

/* Frees the arrays and clears gp. NULL is fine. */
void mrpc_gp_free(mrpc_gp *gp);

#endif /* MRPC_OPTIMIZE_GP_H */

/*
 * bo_recommend.c — the model's answer: the evaluated configuration with the best
 * posterior mean (see batch.h, mrpc_bo_recommend).
 *
 * Under seed noise the run with the best observed value is mostly the luckiest one:
 * its value is biased upwards by the winner's curse and its configuration is not the
 * best on average. The posterior mean of a GP with a noise term pools every run near a
 * configuration (its repeated seeds and its neighbours), so it estimates the expected
 * objective; ranking evaluated configurations by it is the "best posterior mean among
 * sampled points" identification rule of Picheny et al., "A benchmark of kriging-based
 * infill criteria for noisy optimization" (Struct. Multidisc. Optim. 48, 2013), also
 * the final recommendation of Letham et al., "Constrained Bayesian optimization with
 * noisy experiments" (Bayesian Analysis 14, 2019) and of Frazier's "A tutorial on
 * Bayesian optimization" (2018, section 5: noisy evaluations).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

typedef struct rec_rank {
    double mean;
    size_t index;
} rec_rank;

static int cmp_rec(const void *a, const void *b) {
    const rec_rank *x = a, *y = b;
    if (x->mean < y->mean) return -1;
    if (x->mean > y->mean) return 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

/* 1 when rows a and b (n values, canonical) are the same configuration. */
static int same_row(const double *a, const double *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

mrpc_status mrpc_bo_recommend(const mrpc_bo_problem *prob, const mrpc_bo_options *opt_in, mrpc_rng *rng,
                              const int *eligible, size_t k, mrpc_bo_pick *out, size_t *n_out, mrpc_bo_info *info,
                              mrpc_error *err) {
    *n_out = 0;
    if (info) memset(info, 0, sizeof *info);
    mrpc_bo_options opt;
    if (opt_in) opt = *opt_in; else mrpc_bo_options_defaults(&opt);
    const mrpc_space *space = prob->space;
    size_t np = space->n_params, d = prob->d, n = prob->n_obs;
    if (d > MRPC_GP_MAX_DIM || np == 0) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "recommend", "bad problem: %zu of %zu parameters", d, np);
    }
    for (size_t j = 0; j < d; j++) {
        if (prob->dims[j] >= np)
            return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "recommend", "bad dimension index");
    }
    if (n == 0 || k == 0) return MRPC_OK;

    mrpc_status s = MRPC_OK;
    double *canon = malloc(n * np * sizeof *canon);
    size_t *cfg_of = malloc(n * sizeof *cfg_of);   /* observation -> configuration */
    size_t *first = malloc(n * sizeof *first);     /* configuration -> first observation */
    size_t *first_el = malloc(n * sizeof *first_el);/* configuration -> first eligible observation (n: none) */
    size_t *count = calloc(n, sizeof *count);
    double *sum = calloc(n, sizeof *sum);
    double *X = malloc(n * (d ? d : 1) * sizeof *X);
    double *ys = malloc(n * sizeof *ys);
    double *U = malloc(n * (d ? d : 1) * sizeof *U);
    double *pm = malloc(n * sizeof *pm), *pv = malloc(n * sizeof *pv);
    rec_rank *rank = malloc(n * sizeof *rank);
    double *Xs = malloc(n * (d ? d : 1) * sizeof *Xs), *yss = malloc(n * sizeof *yss);
    size_t *idx = malloc(n * sizeof *idx);
    mrpc_gp gp = {0};
    if (!canon || !cfg_of || !first || !first_el || !count || !sum || !X || !ys || !U || !pm || !pv || !rank || !Xs ||
        !yss || !idx) {
        s = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "recommend", "out of memory for %zu runs", n);
        goto done;
    }
    /* Distinct configurations, in order of first appearance. */
    size_t n_cfg = 0;
    for (size_t i = 0; i < n; i++) {
        double *row = canon + i * np;
        for (size_t j = 0; j < np; j++) row[j] = mrpc_param_canonical(&space->params[j], prob->obs_values[i * np + j]);
        size_t c = 0;
        while (c < n_cfg && !same_row(canon + first[c] * np, row, np)) c++;
        if (c == n_cfg) {
            first[n_cfg] = i;
            first_el[n_cfg] = n;
            n_cfg++;
        }
        cfg_of[i] = c;
        count[c]++;
        sum[c] += prob->obs_y[i];
        if (first_el[c] == n && (!eligible || eligible[i])) first_el[c] = i;
    }

    int use_gp = d > 0 && n >= 2;
    if (use_gp) {
        double mu = 0.0, sd = 0.0;
        for (size_t i = 0; i < n; i++) mu += prob->obs_y[i];
        mu /= (double)n;
        for (size_t i = 0; i < n; i++) sd += (prob->obs_y[i] - mu) * (prob->obs_y[i] - mu);
        sd = sqrt(sd / (double)n);
        if (!(sd > 1e-12 * fmax(1.0, fabs(mu)))) sd = 1.0;
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < d; j++)
                X[i * d + j] = mrpc_param_encode(&space->params[prob->dims[j]], canon[i * np + prob->dims[j]]);
            ys[i] = (prob->obs_y[i] - mu) / sd;
        }
        /* As a wave's GP: hyperparameters on at most max_fit_points runs, the posterior on
         * at most max_gp_points (the best half and a random rest, mrpc_bo_select_subset). */
        mrpc_gp_fit_options fo;
        mrpc_bo_fit_settings(&opt, rng, &fo);
        mrpc_gp_hyper h;
        double lml = 0.0;
        size_t nf = mrpc_bo_select_subset(ys, n, opt.max_fit_points ? opt.max_fit_points : 128, rng, idx);
        for (size_t i = 0; i < nf; i++) {
            memcpy(Xs + i * d, X + idx[i] * d, d * sizeof *X);
            yss[i] = ys[idx[i]];
        }
        s = mrpc_gp_fit(Xs, yss, nf, d, &fo, &h, &lml, err);
        if (s != MRPC_OK) goto done;
        size_t nc = mrpc_bo_select_subset(ys, n, opt.max_gp_points ? opt.max_gp_points : 256, rng, idx);
        for (size_t i = 0; i < nc; i++) {
            memcpy(Xs + i * d, X + idx[i] * d, d * sizeof *X);
            yss[i] = ys[idx[i]];
        }
        s = mrpc_gp_condition(&gp, Xs, yss, nc, d, &h, 0, 0, err);
        if (s != MRPC_OK) goto done;
        for (size_t c = 0; c < n_cfg; c++) memcpy(U + c * d, X + first[c] * d, d * sizeof *U);
        s = mrpc_gp_predict_many(&gp, U, n_cfg, pm, pv, err);
        if (s != MRPC_OK) goto done;
        for (size_t c = 0; c < n_cfg; c++) {
            pm[c] = mu + sd * pm[c];
            pv[c] = sqrt(pv[c]) * sd;
        }
        if (info) {
            info->used_gp = 1;
            info->n_fit = nf;
            info->n_cond = nc;
            info->hyper = h;
            info->lml = lml;
            info->y_mean = mu;
            info->y_std = sd;
        }
    } else {
        for (size_t c = 0; c < n_cfg; c++) {
            pm[c] = sum[c] / (double)count[c];
            pv[c] = NAN;
        }
    }
    size_t n_rank = 0;
    for (size_t c = 0; c < n_cfg; c++) {
        if (first_el[c] == n) continue;
        rank[n_rank].mean = pm[c];
        rank[n_rank].index = c;
        n_rank++;
    }
    qsort(rank, n_rank, sizeof *rank, cmp_rec);
    for (size_t r = 0; r < n_rank && r < k; r++) {
        size_t c = rank[r].index;
        out[r].obs = first_el[c];
        out[r].n_obs = count[c];
        out[r].mean = pm[c];
        out[r].sd = pv[c];
        out[r].obs_mean = sum[c] / (double)count[c];
        (*n_out)++;
    }
done:
    mrpc_gp_free(&gp);
    free(canon); free(cfg_of); free(first); free(first_el); free(count); free(sum);
    free(X); free(ys); free(U); free(pm); free(pv); free(rank); free(Xs); free(yss); free(idx);
    return s;
}

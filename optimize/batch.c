/* batch.c — a wave of Bayesian-optimization suggestions by Kriging believer (see batch.h). */
#include "batch.h"

#include <cblas.h>
#include <math.h>
#include <nlopt.h>
#include <stdlib.h>
#include <string.h>

#include "acquisition.h"
#include "kg.h"

void mrpc_bo_options_defaults(mrpc_bo_options *opt) {
    opt->n_candidates = 2000;
    opt->n_local = 3;
    opt->local_max_eval = 0;
    opt->restarts = 4;
    opt->max_fit_points = 128;
    opt->max_gp_points = 256;
    opt->init_points = 0;
    opt->augmented = 1;
    opt->knowledge_gradient = MRPC_BO_KG_AUTO;
    opt->map_priors = 1;
}

size_t mrpc_bo_default_init_points(size_t d) {
    return 2 * d > 5 ? 2 * d : 5;
}

void mrpc_bo_fit_settings(const mrpc_bo_options *opt, mrpc_rng *rng, mrpc_gp_fit_options *fo) {
    if (opt->map_priors) mrpc_gp_fit_map_defaults(fo, rng); else mrpc_gp_fit_defaults(fo, rng);
    fo->restarts = opt->restarts;
}

/* The state of one round. */
typedef struct bo_ctx {
    const mrpc_bo_problem *p;
    size_t   np, d;
    double  *base;     /* [np] canonical values of the parameters not searched */
    /* Every configuration that must not be suggested: observed, pending, chosen. */
    double  *taken;    /* [cap, np] canonical natural values */
    double  *taken_u;  /* [cap, d] their unit coordinates */
    size_t   n_taken, cap_taken;
    mrpc_gp  gp;
    double   best;     /* incumbent: lowest posterior mean at a real or believed point (standardized) */
    double   y_mean, y_std;
    mrpc_rng *rng;
    int      augmented; /* score with augmented EI */
    mrpc_kg *kg;        /* score with the knowledge gradient (NULL: EI) */
} bo_ctx;

/* Decodes unit coordinates u[d] into a canonical configuration cfg[np] and its unit coordinates u_out[d]. */
static void project(const bo_ctx *c, const double *u, double *cfg, double *u_out) {
    memcpy(cfg, c->base, c->np * sizeof *cfg);
    for (size_t k = 0; k < c->d; k++) {
        const mrpc_param *par = &c->p->space->params[c->p->dims[k]];
        cfg[c->p->dims[k]] = mrpc_param_decode(par, u[k]);
        if (u_out) u_out[k] = mrpc_param_encode(par, cfg[c->p->dims[k]]);
    }
}

static void encode(const bo_ctx *c, const double *cfg, double *u) {
    for (size_t k = 0; k < c->d; k++) u[k] = mrpc_param_encode(&c->p->space->params[c->p->dims[k]], cfg[c->p->dims[k]]);
}

/* Both configurations are canonical, so equality is exact. */
static int is_taken(const bo_ctx *c, const double *cfg) {
    for (size_t t = 0; t < c->n_taken; t++) {
        const double *row = c->taken + t * c->np;
        size_t i = 0;
        while (i < c->np && row[i] == cfg[i]) i++;
        if (i == c->np) return 1;
    }
    return 0;
}

/* Adds a configuration (made canonical) to the taken set. The array has room for all (see ctx_init). */
static void add_taken(bo_ctx *c, const double *cfg) {
    double *row = c->taken + c->n_taken * c->np;
    for (size_t i = 0; i < c->np; i++) row[i] = mrpc_param_canonical(&c->p->space->params[i], cfg[i]);
    encode(c, row, c->taken_u + c->n_taken * c->d);
    c->n_taken++;
}

static double min_dist2(const bo_ctx *c, const double *u) {
    double best = INFINITY;
    for (size_t t = 0; t < c->n_taken; t++) {
        const double *v = c->taken_u + t * c->d;
        double s = 0.0;
        for (size_t k = 0; k < c->d; k++) s += (u[k] - v[k]) * (u[k] - v[k]);
        if (s < best) best = s;
    }
    return best;
}

/*
 * Space-filling choice: the unseen candidate farthest from everything taken, among
 * many random ones. Returns 1 and fills cfg, or 0 when no unseen candidate was found.
 */
static int choose_spread(bo_ctx *c, double *cfg) {
    size_t m = 200 * c->d;
    if (m < 200) m = 200;
    if (m > 4000) m = 4000;
    double u[MRPC_GP_MAX_DIM], uc[MRPC_GP_MAX_DIM];
    double *cand = malloc(c->np * sizeof *cand);
    if (!cand) return 0;
    double best = -1.0;
    int found = 0;
    for (size_t j = 0; j < m; j++) {
        for (size_t k = 0; k < c->d; k++) u[k] = mrpc_rng_uniform(c->rng);
        project(c, u, cand, uc);
        if (is_taken(c, cand)) continue;
        double dist = min_dist2(c, uc);
        if (dist > best) {
            best = dist;
            memcpy(cfg, cand, c->np * sizeof *cfg);
            found = 1;
        }
    }
    free(cand);
    return found;
}

/* The radical inverse of i in base b: the van der Corput sequence behind Halton's. */
static double radical_inverse(uint64_t i, unsigned b) {
    double f = 1.0, r = 0.0;
    while (i > 0) {
        f /= (double)b;
        r += f * (double)(i % b);
        i /= b;
    }
    return r;
}

/*
 * Space-filling choice for the first runs: Halton points 1, 2, ... in the searched
 * dimensions, shifted modulo 1 by a random vector from the design seed (Cranley-
 * Patterson rotation), starting after the points already accounted for (`*next`).
 * Returns 1 and fills cfg with the first unseen one, else 0.
 */
static int choose_design(bo_ctx *c, uint64_t *next, double *cfg) {
    static const unsigned primes[MRPC_GP_MAX_DIM] = {2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31,
                                                     37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79,
                                                     83, 89, 97, 101, 103, 107, 109, 113, 127, 131};
    mrpc_rng srng;
    mrpc_rng_init(&srng, c->p->design_seed, MRPC_RNG_OPTIMIZE, 0xD5u);
    double shift[MRPC_GP_MAX_DIM];
    for (size_t k = 0; k < c->d; k++) shift[k] = mrpc_rng_uniform(&srng);
    for (int tries = 0; tries < 1000; tries++) {
        uint64_t i = ++(*next);
        double u[MRPC_GP_MAX_DIM];
        for (size_t k = 0; k < c->d; k++) {
            double v = radical_inverse(i, primes[k]) + shift[k];
            u[k] = v - floor(v);
        }
        project(c, u, cfg, NULL);
        if (!is_taken(c, cfg)) return 1;
    }
    return 0;
}

/* Candidates with their scores, ordered best first (ties by position: a total order). */
typedef struct scored { double score; size_t index; } scored;
static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}
typedef struct ranked { double y; size_t index; } ranked;
static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->y < y->y) return -1;
    if (x->y > y->y) return 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}
static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : (x > y);
}

size_t mrpc_bo_select_subset(const double *y, size_t n, size_t max, mrpc_rng *rng, size_t *idx) {
    if (n <= max) {
        for (size_t i = 0; i < n; i++) idx[i] = i;
        return n;
    }
    ranked *r = malloc(n * sizeof *r);
    uint32_t *perm = malloc(n * sizeof *perm);
    if (!r || !perm) {
        free(r); free(perm);
        for (size_t i = 0; i < max; i++) idx[i] = i;
        return max;
    }
    for (size_t i = 0; i < n; i++) { r[i].y = y[i]; r[i].index = i; }
    qsort(r, n, sizeof *r, cmp_ranked);
    size_t n_best = max / 2, k = 0;
    for (; k < n_best; k++) idx[k] = r[k].index;
    size_t rest = n - n_best;
    mrpc_rng_permutation(rng, perm, rest);
    for (size_t j = 0; k < max; j++, k++) idx[k] = r[n_best + perm[j]].index;
    qsort(idx, max, sizeof *idx, cmp_size);
    free(r);
    free(perm);
    return max;
}

/*
 * The acquisition: log EI, times (augmented EI, Huang et al. 2006) the factor
 * 1 - sqrt(sn2 / (var + sn2)), which vanishes where the latent variance is small next to
 * the noise, so a noisy objective does not draw every suggestion back onto the incumbent.
 */
static double score(const bo_ctx *c, double m, double v) {
    double a = mrpc_log_ei(m, v, c->best);
    if (c->augmented) {
        double r = v / exp(c->gp.hyper.log_sn2);
        double sq = sqrt(1.0 + r);
        a += log(r) - log(sq + 1.0) - log(sq);
    }
    return a;
}

static double acq_at(const bo_ctx *c, const double *u) {
    double m, v;
    mrpc_gp_predict(&c->gp, u, &m, &v);
    if (c->kg) return mrpc_kg_log(c->kg, &c->gp, u, m, v, NULL, 0);
    return score(c, m, v);
}

typedef struct local_ctx { const bo_ctx *c; size_t n_eval; } local_ctx;
static double local_objective(unsigned n, const double *u, double *grad, void *data) {
    (void)n; (void)grad;
    local_ctx *l = data;
    l->n_eval++;
    double a = acq_at(l->c, u);
    return isfinite(a) ? a : -1e300;
}

/* Refines u (in place) by a bounded local search on log EI; returns the value reached. */
static double refine(const bo_ctx *c, double *u, size_t max_eval) {
    double lb[MRPC_GP_MAX_DIM], ub[MRPC_GP_MAX_DIM];
    for (size_t k = 0; k < c->d; k++) { lb[k] = 0.0; ub[k] = 1.0; }
    nlopt_opt nl = nlopt_create(c->d >= 2 ? NLOPT_LN_BOBYQA : NLOPT_LN_COBYLA, (unsigned)c->d);
    if (!nl) return acq_at(c, u);
    local_ctx l = {.c = c};
    nlopt_set_lower_bounds(nl, lb);
    nlopt_set_upper_bounds(nl, ub);
    nlopt_set_max_objective(nl, local_objective, &l);
    nlopt_set_maxeval(nl, (int)max_eval);
    nlopt_set_xtol_abs1(nl, 1e-5);
    nlopt_set_initial_step1(nl, 0.02);
    double start[MRPC_GP_MAX_DIM];
    memcpy(start, u, c->d * sizeof *u);
    double f0 = acq_at(c, u);
    double f = -INFINITY;
    nlopt_result r = nlopt_optimize(nl, u, &f);
    nlopt_destroy(nl);
    if (r < 0 && r != NLOPT_ROUNDOFF_LIMITED) f = acq_at(c, u);
    if (!(f >= f0)) {
        memcpy(u, start, c->d * sizeof *u);
        return f0;
    }
    return f;
}

/*
 * The candidates of a wave: drawn once (80% uniform, 20% Gaussian steps around the
 * best runs at three scales), projected onto the space, with their posterior mean and
 * variance. V = L^-1 k(X, C) is kept so that each believed point updates every
 * candidate's variance with one new row in O(n m) instead of a new O(n^2 m) solve.
 */
typedef struct pool {
    size_t  m;
    double *U;     /* [m, d] unit coordinates (projected) */
    double *cfgs;  /* [m, np] canonical configurations */
    double *mean;  /* [m] posterior mean (unchanged by believed points) */
    double *var;   /* [m] posterior variance */
    double *V;     /* [gp.cap, m] L^-1 k(X, C) */
    double *tmp;   /* [m] */
    scored *sc;    /* [m] */
} pool;

static void pool_free(pool *p) {
    free(p->U); free(p->cfgs); free(p->mean); free(p->var); free(p->V); free(p->tmp); free(p->sc);
    memset(p, 0, sizeof *p);
}

static mrpc_status pool_init(bo_ctx *c, const mrpc_bo_options *opt, const double *anchors, size_t n_anchors, pool *p,
                             mrpc_error *err) {
    size_t d = c->d, np = c->np, m = opt->n_candidates ? opt->n_candidates : 2000;
    size_t cap = c->gp.cap, n = c->gp.n;
    memset(p, 0, sizeof *p);
    p->m = m;
    p->U = malloc(m * d * sizeof *p->U);
    p->cfgs = malloc(m * np * sizeof *p->cfgs);
    p->mean = malloc(m * sizeof *p->mean);
    p->var = malloc(m * sizeof *p->var);
    p->V = malloc(cap * m * sizeof *p->V);
    p->tmp = malloc(m * sizeof *p->tmp);
    p->sc = malloc(m * sizeof *p->sc);
    if (!p->U || !p->cfgs || !p->mean || !p->var || !p->V || !p->tmp || !p->sc) {
        pool_free(p);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "bayes", "out of memory for %zu candidates", m);
    }
    static const double scales[3] = {0.02, 0.08, 0.25};
    size_t n_local_cand = n_anchors ? m / 5 : 0;
    for (size_t j = 0; j < m; j++) {
        double u[MRPC_GP_MAX_DIM];
        if (j < m - n_local_cand) {
            for (size_t k = 0; k < d; k++) u[k] = mrpc_rng_uniform(c->rng);
        } else {
            size_t a = j % n_anchors;
            double sd = scales[(j / n_anchors) % 3];
            for (size_t k = 0; k < d; k++) {
                double v = anchors[a * d + k] + sd * mrpc_rng_normal(c->rng);
                u[k] = v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
            }
        }
        project(c, u, p->cfgs + j * np, p->U + j * d);
    }
    const mrpc_gp *gp = &c->gp;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) p->V[i * m + j] = mrpc_gp_kernel(&gp->hyper, gp->X + i * d, p->U + j * d);
    for (size_t j = 0; j < m; j++) {
        double s = 0.0;
        for (size_t i = 0; i < gp->n_real; i++) s += p->V[i * m + j] * gp->alpha[i];
        p->mean[j] = s;
    }
    if (n) {
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, (int)m, 1.0, gp->L,
                    (int)gp->cap, p->V, (int)m);
    }
    double sf2 = exp(gp->hyper.log_sf2);
    for (size_t j = 0; j < m; j++) p->var[j] = sf2;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) p->var[j] -= p->V[i * m + j] * p->V[i * m + j];
    for (size_t j = 0; j < m; j++)
        if (p->var[j] < 1e-12 * sf2) p->var[j] = 1e-12 * sf2;
    return MRPC_OK;
}

/* After mrpc_gp_add_fantasy: the new row of V, and the variances it lowers. */
static void pool_add_fantasy(const bo_ctx *c, pool *p) {
    const mrpc_gp *gp = &c->gp;
    size_t r = gp->n - 1, m = p->m, d = c->d;
    const double *lrow = gp->L + r * gp->cap;
    const double *xf = gp->X + r * d;
    if (r > 0) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)r, (int)m, 1.0, p->V, (int)m, lrow, 1, 0.0, p->tmp, 1);
    } else {
        for (size_t j = 0; j < m; j++) p->tmp[j] = 0.0;
    }
    double sf2 = exp(gp->hyper.log_sf2);
    double *row = p->V + r * m;
    for (size_t j = 0; j < m; j++) {
        row[j] = (mrpc_gp_kernel(&gp->hyper, xf, p->U + j * d) - p->tmp[j]) / lrow[r];
        p->var[j] -= row[j] * row[j];
        if (p->var[j] < 1e-12 * sf2) p->var[j] = 1e-12 * sf2;
    }
}

/*
 * One GP choice: scores the pool, refines the best few by a local search, returns 1
 * with the best unseen configuration in cfg (and its unit coordinates in u), 0 when
 * every candidate was already taken or none has a finite acquisition.
 */
static int choose_gp(bo_ctx *c, const mrpc_bo_options *opt, pool *p, double *cfg, double *u_out, mrpc_error *err,
                     mrpc_status *status) {
    size_t d = c->d, np = c->np, m = p->m;
    int found = 0;
    *status = MRPC_OK;
    if (c->kg && (*status = mrpc_kg_prepare(c->kg, &c->gp, err)) != MRPC_OK) return 0;
    for (size_t j = 0; j < m; j++) {
        double a = c->kg ? mrpc_kg_log(c->kg, &c->gp, p->U + j * d, p->mean[j], p->var[j], p->V + j, m)
                         : score(c, p->mean[j], p->var[j]);
        p->sc[j].score = isfinite(a) ? a : -INFINITY;
        p->sc[j].index = j;
    }
    qsort(p->sc, m, sizeof *p->sc, cmp_scored);
    double best_score = -INFINITY;
    size_t n_refined = 0;
    size_t max_eval = opt->local_max_eval ? opt->local_max_eval : 30 * d + 30;
    double *trial = malloc(np * sizeof *trial);
    if (!trial) {
        *status = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "bayes", "out of memory");
        return 0;
    }
    for (size_t r = 0; r < m; r++) {
        const scored *s = &p->sc[r];
        if (!(s->score > -INFINITY)) break;
        const double *cand = p->cfgs + s->index * np;
        if (is_taken(c, cand)) continue;
        /* The best unseen candidate so far is a contender as it is. */
        if (s->score > best_score) {
            best_score = s->score;
            memcpy(cfg, cand, np * sizeof *cfg);
            memcpy(u_out, p->U + s->index * d, d * sizeof *u_out);
            found = 1;
        }
        if (n_refined >= opt->n_local) break;
        n_refined++;
        double u[MRPC_GP_MAX_DIM], uc[MRPC_GP_MAX_DIM];
        memcpy(u, p->U + s->index * d, d * sizeof *u);
        refine(c, u, max_eval);
        project(c, u, trial, uc);
        if (is_taken(c, trial)) continue;
        double a = acq_at(c, uc);
        if (a > best_score) {
            best_score = a;
            memcpy(cfg, trial, np * sizeof *cfg);
            memcpy(u_out, uc, d * sizeof *u_out);
        }
    }
    free(trial);
    return found;
}

mrpc_status mrpc_bo_suggest(const mrpc_bo_problem *prob, const mrpc_bo_options *opt_in, mrpc_rng *rng, size_t q,
                            double *out, size_t *n_out, mrpc_bo_info *info, mrpc_error *err) {
    *n_out = 0;
    mrpc_bo_options opt;
    if (opt_in) opt = *opt_in; else mrpc_bo_options_defaults(&opt);
    if (info) memset(info, 0, sizeof *info);
    const mrpc_space *space = prob->space;
    size_t np = space->n_params, d = prob->d;
    if (d > MRPC_GP_MAX_DIM || np == 0) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "bayes", "bad problem: %zu of %zu parameters", d, np);
    }
    for (size_t k = 0; k < d; k++) {
        if (prob->dims[k] >= np) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "bayes", "bad dimension index");
    }
    if (q == 0) return MRPC_OK;

    mrpc_kg kg = {0};
    bo_ctx c = {.p = prob, .np = np, .d = d, .rng = rng, .augmented = opt.augmented,
                .kg = opt.knowledge_gradient == 1 ? &kg : NULL};
    size_t cap = prob->n_obs + prob->n_pending + q;
    c.base = malloc(np * sizeof *c.base);
    c.taken = malloc(cap * np * sizeof *c.taken);
    c.taken_u = malloc(cap * (d ? d : 1) * sizeof *c.taken_u);
    double *cfg = malloc(np * sizeof *cfg);
    double *X = NULL, *ys = NULL, *Xf = NULL, *yf = NULL, *anchors = NULL;
    size_t *idx = NULL;
    mrpc_status s = MRPC_OK;
    if (!c.base || !c.taken || !c.taken_u || !cfg) {
        s = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "bayes", "out of memory");
        goto done;
    }
    c.cap_taken = cap;
    for (size_t i = 0; i < np; i++) c.base[i] = mrpc_param_canonical(&space->params[i], prob->base[i]);
    for (size_t i = 0; i < prob->n_obs; i++) add_taken(&c, prob->obs_values + i * np);
    for (size_t i = 0; i < prob->n_pending; i++) add_taken(&c, prob->pending_values + i * np);

    if (d == 0) {
        /* Nothing to search: the only configuration is the base one. */
        if (!is_taken(&c, c.base)) {
            memcpy(out, c.base, np * sizeof *out);
            *n_out = 1;
        }
        goto done;
    }

    size_t n = prob->n_obs;
    size_t init = opt.init_points ? opt.init_points : mrpc_bo_default_init_points(d);
    if (n < init || n < 2) {
        /* The design has `init` points (pending runs count): a wave that completes it is
         * not rounded up to a whole wave of design when a GP can choose the rest. */
        size_t have = n + prob->n_pending;
        size_t n_design = n < 2 ? q : (init > have ? init - have : 0);
        if (n_design > q) n_design = q;
        uint64_t next = prob->n_obs + prob->n_pending;
        for (size_t k = 0; k < n_design; k++) {
            if (!choose_design(&c, &next, cfg) && !choose_spread(&c, cfg)) goto done;
            memcpy(out + k * np, cfg, np * sizeof *cfg);
            add_taken(&c, cfg);
            (*n_out)++;
        }
        if (*n_out == q) goto done;
    }

    /* Standardize y over all runs (population std), so fit and posterior share a scale. */
    double mu = 0.0, sd = 0.0;
    for (size_t i = 0; i < n; i++) mu += prob->obs_y[i];
    mu /= (double)n;
    for (size_t i = 0; i < n; i++) sd += (prob->obs_y[i] - mu) * (prob->obs_y[i] - mu);
    sd = sqrt(sd / (double)n);
    if (!(sd > 1e-12 * fmax(1.0, fabs(mu)))) sd = 1.0;
    c.y_mean = mu;
    c.y_std = sd;
    X = malloc(n * d * sizeof *X);
    ys = malloc(n * sizeof *ys);
    idx = malloc(n * sizeof *idx);
    size_t max_pts = opt.max_fit_points > opt.max_gp_points ? opt.max_fit_points : opt.max_gp_points;
    if (max_pts > n) max_pts = n;
    Xf = malloc(max_pts * d * sizeof *Xf);
    yf = malloc(max_pts * sizeof *yf);
    if (!X || !ys || !idx || !Xf || !yf) {
        s = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "bayes", "out of memory for %zu runs", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        encode(&c, prob->obs_values + i * np, X + i * d);
        ys[i] = (prob->obs_y[i] - mu) / sd;
    }

    /* Hyperparameters on at most max_fit_points runs. */
    size_t nf = mrpc_bo_select_subset(ys, n, opt.max_fit_points ? opt.max_fit_points : 128, rng, idx);
    for (size_t i = 0; i < nf; i++) {
        memcpy(Xf + i * d, X + idx[i] * d, d * sizeof *X);
        yf[i] = ys[idx[i]];
    }
    mrpc_gp_fit_options fo;
    mrpc_bo_fit_settings(&opt, rng, &fo);
    mrpc_gp_hyper h;
    double lml = 0.0;
    s = mrpc_gp_fit(Xf, yf, nf, d, &fo, &h, &lml, err);
    if (s != MRPC_OK) goto done;

    /* Posterior on at most max_gp_points runs, then the pending runs as believed points. */
    size_t nc = mrpc_bo_select_subset(ys, n, opt.max_gp_points ? opt.max_gp_points : 256, rng, idx);
    for (size_t i = 0; i < nc; i++) {
        memcpy(Xf + i * d, X + idx[i] * d, d * sizeof *X);
        yf[i] = ys[idx[i]];
    }
    s = mrpc_gp_condition(&c.gp, Xf, yf, nc, d, &h, 0, prob->n_pending + q, err);
    if (s != MRPC_OK) goto done;
    if (opt.knowledge_gradient == MRPC_BO_KG_AUTO && exp(h.log_sn2) >= MRPC_BO_KG_NOISE_RATIO * exp(h.log_sf2)) c.kg = &kg;
    if (info) {
        info->used_kg = c.kg != NULL;
        info->used_gp = 1;
        info->n_fit = nf;
        info->n_cond = nc;
        info->hyper = h;
        info->lml = lml;
        info->y_mean = mu;
        info->y_std = sd;
    }

    /* Incumbent: the lowest posterior mean at a run; anchors: the three runs with the lowest means. */
    {
        double *pm = malloc(nc * sizeof *pm), *pv = malloc(nc * sizeof *pv);
        ranked *r = malloc(nc * sizeof *r);
        anchors = malloc(3 * d * sizeof *anchors);
        if (!pm || !pv || !r || !anchors) {
            free(pm); free(pv); free(r);
            s = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "bayes", "out of memory");
            goto done;
        }
        s = mrpc_gp_predict_many(&c.gp, Xf, nc, pm, pv, err);
        if (s == MRPC_OK) {
            for (size_t i = 0; i < nc; i++) { r[i].y = pm[i]; r[i].index = i; }
            qsort(r, nc, sizeof *r, cmp_ranked);
            c.best = r[0].y;
            for (size_t a = 0; a < 3; a++) memcpy(anchors + a * d, Xf + r[a < nc ? a : 0].index * d, d * sizeof *Xf);
        }
        free(pm); free(pv); free(r);
        if (s != MRPC_OK) goto done;
    }
    for (size_t i = 0; i < prob->n_pending + *n_out; i++) {
        /* Pending runs, then the design points of this wave, as believed points. */
        const double *v = i < prob->n_pending ? prob->pending_values + i * np : out + (i - prob->n_pending) * np;
        double u[MRPC_GP_MAX_DIM];
        encode(&c, v, u);
        s = mrpc_gp_add_fantasy(&c.gp, u, err);
        if (s != MRPC_OK) goto done;
    }

    pool pl;
    if ((s = pool_init(&c, &opt, anchors, 3, &pl, err)) != MRPC_OK) goto done;
    for (size_t k = *n_out; k < q; k++) {
        double u[MRPC_GP_MAX_DIM];
        int ok = choose_gp(&c, &opt, &pl, cfg, u, err, &s);
        if (s != MRPC_OK) break;
        if (!ok) {
            /* No candidate with a finite, unseen improvement: fill the slot by spread. */
            if (!choose_spread(&c, cfg)) break;
            encode(&c, cfg, u);
        }
        memcpy(out + k * np, cfg, np * sizeof *cfg);
        add_taken(&c, cfg);
        (*n_out)++;
        double m, v;
        mrpc_gp_predict(&c.gp, u, &m, &v);
        if (m < c.best) c.best = m;
        s = mrpc_gp_add_fantasy(&c.gp, u, err);
        if (s != MRPC_OK) break;
        pool_add_fantasy(&c, &pl);
    }
    pool_free(&pl);

done:
    mrpc_gp_free(&c.gp);
    mrpc_kg_free(&kg);
    free(c.base); free(c.taken); free(c.taken_u); free(cfg);
    free(X); free(ys); free(idx); free(Xf); free(yf); free(anchors);
    return s;
}

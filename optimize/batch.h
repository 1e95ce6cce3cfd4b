/*
 * batch.h — one wave of Bayesian-optimization suggestions: a GP fitted to the runs so
 * far, log expected improvement maximized over many random candidates plus local
 * refinement, and q points chosen one after another by the Kriging believer (each
 * chosen point, and each pending run, is believed to return the posterior mean there,
 * which shrinks the variance around it and pushes the next choice elsewhere).
 *
 * The problem is given in the study's natural values (mrpc_space); the GP works on the
 * unit cube of the searched dimensions only (log scale for log_uniform_values, ranks
 * for categoricals). Every suggestion is canonical (space.h) and differs from every
 * observed run, every pending run and every earlier suggestion of the wave: a
 * candidate that decodes onto an existing configuration is never emitted.
 *
 * Until `init_points` runs have an objective the wave is space-filling instead: the
 * next points of a Halton sequence shifted at random by `design_seed` (a randomized
 * quasi-random design that stays inside the cube, unlike a max-distance rule, which
 * drifts to the corners), skipping configurations already taken. The design has
 * init_points points in all (pending runs count): once 2 runs have an objective, the
 * rest of the wave that completes it comes from the GP, with the wave's design points
 * believed like pending runs.
 *
 * Everything random comes from the caller's stream: the same inputs and stream state
 * give the same suggestions.
 */
#ifndef MRPC_OPTIMIZE_BATCH_H
#define MRPC_OPTIMIZE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "gp.h"
#include "rng.h"
#include "space.h"
#include "status.h"

/* The data of one suggestion round. All value arrays hold space->n_params natural values per row. */
typedef struct mrpc_bo_problem {
    const mrpc_space *space;
    size_t            d;              /* searched parameters */
    const size_t     *dims;           /* [d] their indices in space */
    const double     *base;           /* [n_params] values of the parameters not searched */
    size_t            n_obs;
    const double     *obs_values;     /* [n_obs, n_params] runs with an objective (failed runs imputed) */
    const double     *obs_y;          /* [n_obs] objective to MINIMIZE, finite */
    size_t            n_pending;
    const double     *pending_values; /* [n_pending, n_params] runs without a result yet */
    uint64_t          design_seed;    /* seed of the space-filling design (same for every wave of a study) */
} mrpc_bo_problem;

typedef struct mrpc_bo_options {
    size_t n_candidates;   /* random candidates scored per choice */
    size_t n_local;        /* best candidates refined by a local search (BOBYQA) */
    size_t local_max_eval; /* acquisition evaluations per local search (0 = 30 d + 30) */
    size_t restarts;       /* random starts of the hyperparameter fit */
    size_t max_fit_points; /* runs used to fit the hyperparameters (the best half + a random rest) */
    size_t max_gp_points;  /* runs the GP is conditioned on (same rule) */
    size_t init_points;    /* space-filling until this many runs have an objective (0 = max(5, 2 d)) */
    int    augmented;      /* 1: augmented EI (log EI + log(1 - sqrt(sn2 / (var + sn2)))), 0: plain log EI */
    int    knowledge_gradient; /* 1: score by the knowledge gradient (kg.h; overrides augmented);
                                * MRPC_BO_KG_AUTO: when the fitted noise is large (below) */
    int    map_priors;     /* 1: hyperparameters by MAP with mrpc_gp_fit_map_defaults' priors; 0: maximum likelihood */
} mrpc_bo_options;

/*
 * The default size of the space-filling design: max(5, 2 d) runs, the rule of Ax's
 * default generation strategy (Sobol points before the GP). Under seed noise a GP fitted
 * on d + 1 runs (the previous default) mostly models noise, and its first waves chase
 * lucky runs; a design of about 2 d runs lets the first fit separate the effects from the
 * noise (measured in bench/optimizer_quality.sh: stage3-sd*).
 */
size_t mrpc_bo_default_init_points(size_t d);

/*
 * knowledge_gradient = MRPC_BO_KG_AUTO picks the acquisition from the fitted model: the
 * knowledge gradient when the noise variance is at least MRPC_BO_KG_NOISE_RATIO of the
 * signal variance (noise std at least about a third of the signal std: one run says
 * little, and the study's answer is the best posterior mean), else augmented EI. This
 * follows Picheny et al. (2013): EI-type criteria for deterministic and nearly
 * deterministic objectives, the knowledge gradient (their AKG) among the best under
 * noise. Measured (bench/optimizer_quality.sh): KG alone lost a factor of 20-50 in
 * final regret on the noise-free Branin function; EI alone was behind TPE at 2.4 points
 * of seed noise (200 seeds).
 */
#define MRPC_BO_KG_AUTO 2
#define MRPC_BO_KG_NOISE_RATIO 0.1

/* Defaults: 2000 candidates, 3 local searches, 4 restarts, 128 fit points, 256 GP points. */
void mrpc_bo_options_defaults(mrpc_bo_options *opt);

/*
 * Picks at most `max` of n runs into idx (sorted): all when n <= max, else the best half
 * by y (lowest) and a random selection of the rest. Returns the count. The GP of a wave
 * is fitted on max_fit_points and conditioned on max_gp_points runs chosen so.
 */
size_t mrpc_bo_select_subset(const double *y, size_t n, size_t max, mrpc_rng *rng, size_t *idx);

/* The hyperparameter-fit settings of opt (bounds, priors, restarts), shared by suggest and recommend. */
void mrpc_bo_fit_settings(const mrpc_bo_options *opt, mrpc_rng *rng, mrpc_gp_fit_options *fo);

/* What the round did, for reports. */
typedef struct mrpc_bo_info {
    int           used_gp;    /* 0: space-filling round */
    int           used_kg;    /* the GP choices were by the knowledge gradient (else EI) */
    size_t        n_fit, n_cond;
    mrpc_gp_hyper hyper;      /* fitted hyperparameters (used_gp) */
    double        lml;        /* their log marginal likelihood */
    double        y_mean, y_std;
} mrpc_bo_info;

/*
 * Suggests up to q new configurations into out [q, n_params] (natural, canonical) and
 * sets *n_out (< q only when the space has no unseen configuration left). `info`
 * may be NULL. Fails on bad arguments, MRPC_ERR_NOMEM, or a GP that cannot be fitted.
 */
mrpc_status mrpc_bo_suggest(const mrpc_bo_problem *prob, const mrpc_bo_options *opt, mrpc_rng *rng, size_t q,
                            double *out, size_t *n_out, mrpc_bo_info *info, mrpc_error *err);

/*
 * The recommendation of a problem (bo_recommend.c): the same GP as mrpc_bo_suggest's
 * (same hyperparameter fit and subsets: every observation up to max_gp_points), and its posterior mean
 * and standard deviation of the latent objective at each distinct evaluated
 * configuration (repeated seeds of the same canonical values are one configuration
 * with several observations). `eligible` [n_obs] (may be NULL: all) says which
 * observations may be recommended (completed runs; imputed failures inform the model
 * but are not answers). Up to k configurations with the lowest posterior mean (the
 * objective is minimized) go to out [k] in that order; *n_out receives the count.
 * With fewer than 2 observations, or no searched dimension, the ranking is by the
 * observed mean and sd is NaN (info->used_gp = 0). Deterministic given rng's state.
 */
typedef struct mrpc_bo_pick {
    size_t obs;      /* index of the configuration's first eligible observation */
    size_t n_obs;    /* observations of this configuration (eligible or not) */
    double mean;     /* posterior mean of the objective (minimized form, y units) */
    double sd;       /* posterior sd of that mean (y units); NaN without a GP */
    double obs_mean; /* mean of the configuration's observations */
} mrpc_bo_pick;

mrpc_status mrpc_bo_recommend(const mrpc_bo_problem *prob, const mrpc_bo_options *opt, mrpc_rng *rng,
                              const int *eligible, size_t k, mrpc_bo_pick *out, size_t *n_out, mrpc_bo_info *info,
                              mrpc_error *err);

#endif /* MRPC_OPTIMIZE_BATCH_H */

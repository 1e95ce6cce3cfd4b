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
 * drifts to the corners), skipping configurations already taken.
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
    size_t init_points;    /* space-filling until this many runs have an objective (0 = d + 1) */
    int    augmented;      /* 1: augmented EI (log EI + log(1 - sqrt(sn2 / (var + sn2)))), 0: plain log EI */
} mrpc_bo_options;

/* Defaults: 2000 candidates, 3 local searches, 4 restarts, 128 fit points, 256 GP points. */
void mrpc_bo_options_defaults(mrpc_bo_options *opt);

/* What the round did, for reports. */
typedef struct mrpc_bo_info {
    int           used_gp;    /* 0: space-filling round */
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

#endif /* MRPC_OPTIMIZE_BATCH_H */

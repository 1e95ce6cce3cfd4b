/*
 * recommend.h — the study's answer: the evaluated configurations with the best
 * posterior mean of a stage's Gaussian process, with its uncertainty, rather than the
 * luckiest run.
 *
 * For a stage (normally bayes), the model is the stage's own: the GP over the stage's
 * parameters (stages.h, mrpc_stage_parameters) fitted, as the stage's planner does, on
 * every run of the study whose other parameters sit at baseline (completed runs; failed
 * ones imputed with the worst objective, as in the planner). Its posterior mean and
 * standard deviation of the *expected* objective are evaluated at every distinct
 * evaluated configuration (repeated seeds of the same canonical values are one
 * configuration with several runs); the k completed configurations with the best
 * posterior mean are the recommendation (Picheny et al. 2013, "A benchmark of
 * kriging-based infill criteria for noisy optimization": the best posterior mean among
 * sampled points; see optimize/bo_recommend.c). With fewer than two runs, or no
 * searched parameter, they are ranked by their observed mean (used_gp = 0, sd NaN).
 *
 * Deterministic: the hyperparameter fit draws from a stream seeded by the study seed.
 *
 * Example:
 *
 *     mrpc_recommendation rec;
 *     if (mrpc_recommend(st, &h, MRPC_STAGE_BAYES, 3, &rec, &err) == MRPC_OK) {
 *         mrpc_recommendation_print(st, &rec, stdout);
 *         mrpc_recommendation_free(&rec);
 *     }
 */
#ifndef MRPC_OPTIMIZE_RECOMMEND_H
#define MRPC_OPTIMIZE_RECOMMEND_H

#include <stddef.h>
#include <stdio.h>

#include "history.h"
#include "status.h"
#include "study.h"

/* One recommended configuration. */
typedef struct mrpc_recommended {
    double values[MRPC_SPACE_MAX_PARAMS]; /* canonical natural values of every space parameter */
    double mean;           /* posterior mean of the objective (objective units, as recorded: accuracy, not loss) */
    double sd;             /* posterior standard deviation of that mean; NaN when used_gp is 0 */
    double observed_mean;  /* mean objective of its completed runs */
    double observed_best;  /* best objective among them */
    size_t n_runs;         /* its completed runs (seeds) */
    char (*run_ids)[129];  /* [n_runs] their run ids, in history order (malloc'd) */
} mrpc_recommended;

typedef struct mrpc_recommendation {
    mrpc_stage_kind   stage;
    size_t            d;                           /* parameters of the model */
    size_t            dims[MRPC_SPACE_MAX_PARAMS]; /* their indices in the space */
    int               used_gp;                     /* 0: ranked by observed mean */
    size_t            n_runs;                      /* runs the model used (completed + imputed) */
    size_t            n_imputed;                   /* failed runs among them, imputed with the worst objective */
    size_t            n_configs;                   /* distinct completed configurations ranked */
    double            noise_sd;                    /* fitted noise std (objective units); NaN without a GP */
    double            signal_sd;                   /* fitted signal std (objective units); NaN without a GP */
    size_t            n;                           /* entries, best first (<= k) */
    mrpc_recommended *items;
} mrpc_recommendation;

/*
 * Recommends the k best evaluated configurations of `stage` (see above). out->n == 0
 * when no eligible run has completed. Fails on out of memory or a GP that cannot be
 * fitted; `out` is then empty (safe to free).
 */
mrpc_status mrpc_recommend(const mrpc_study *study, const mrpc_history *h, mrpc_stage_kind stage, size_t k,
                           mrpc_recommendation *out, mrpc_error *err);

/*
 * The stage whose model answers for the study: bayes when it has one, else grid, else
 * sensitivity (what `mrpc-optimize status` and `recommend` use).
 */
mrpc_stage_kind mrpc_recommend_default_stage(const mrpc_study *study);

/* Frees the entries and clears rec. NULL is fine. */
void mrpc_recommendation_free(mrpc_recommendation *rec);

/*
 * Prints the recommendation, one entry per line:
 *   "  1. accuracy 0.8512 +- 0.0041 (posterior; observed mean 0.8490 over 2 runs: bayes-01-002, ...) learning_rate=..."
 * preceded by a header line naming the stage, the model and its noise estimate.
 */
void mrpc_recommendation_print(const mrpc_study *study, const mrpc_recommendation *rec, FILE *out);

#endif /* MRPC_OPTIMIZE_RECOMMEND_H */

/*
 * analysis.h — everything mrpc-analyze computes from a loaded study, in one struct
 * that the tables, figures, HTML report and terminal summary all read.
 *
 *   stages       per stage (study order): run counts by state, the best runs
 *   best         the best usable run of the whole study (highest objective; first on ties)
 *   baseline     the stage 1 baseline run (effects.h), else a usable run whose
 *                run_id contains "base"
 *   mcnemar      exact test of best vs baseline on their paired validation predictions
 *   bootstrap    95 % percentile CIs of accuracy and F1 of best and baseline, and of the
 *                paired accuracy difference (10,000 resamples, fixed seed)
 *   importance   random-forest importance (importance.h) of the non-seed parameters that
 *                vary among usable runs, on the unit / log scale, with Pearson and
 *                Spearman correlations against the objective
 *   progress     best-so-far by run index for the bayes and grid stages, and the random-
 *                search reference E[max of k draws] from the empirical distribution of
 *                all usable runs' objectives (stats.h mrpc_stats_expected_max)
 *   readings     one line of plain words per statistic
 *
 * Objectives are fractions (accuracy 0.85); readings speak in points (85.0).
 */
#ifndef MRPC_ANALYSIS_ANALYSIS_H
#define MRPC_ANALYSIS_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "importance.h"
#include "effects.h"
#include "stats.h"
#include "status.h"
#include "runset.h"

#define MRPC_ANALYSIS_MAX_STAGES 16
#define MRPC_ANALYSIS_TOP 5
#define MRPC_ANALYSIS_READING 640

typedef struct mrpc_analysis_options {
    size_t   n_resamples; /* bootstrap resamples, 10000 */
    double   level;       /* confidence level, 0.95 */
    uint64_t seed;        /* bootstrap and forest seed */
    size_t   n_trees;     /* forest size, 64 */
} mrpc_analysis_options;

void mrpc_analysis_options_default(mrpc_analysis_options *opt);

typedef struct mrpc_analysis_stage {
    char   name[32];
    size_t first, count;  /* the stage's runs are study->runs[first .. first+count) */
    size_t counts[MRPC_RUNSET_STATE_COUNT];
    size_t n_usable;
    size_t n_top;         /* best usable runs, best first */
    size_t top[MRPC_ANALYSIS_TOP];
} mrpc_analysis_stage;

/* Best-so-far series of one stage, by the stage's run order (every run counts, usable or not). */
typedef struct mrpc_analysis_progress {
    size_t  n;
    double *objective;    /* [n] NaN for runs that are not usable */
    double *best_so_far;  /* [n] NaN until the first usable run */
    int     stage;        /* index into stages, -1 when absent */
} mrpc_analysis_progress;

typedef struct mrpc_analysis {
    const mrpc_runset     *study;
    mrpc_analysis_options opt;

    size_t             n_stages;
    mrpc_analysis_stage stages[MRPC_ANALYSIS_MAX_STAGES];
    size_t             n_usable;

    int best;               /* run index or -1 */
    int baseline;           /* run index or -1 */
    char baseline_source[64];

    mrpc_effects sens;

    int          have_mcnemar;
    mrpc_stats_mcnemar_result mcnemar;   /* a = best, b = baseline */
    int          have_boot_best, have_boot_baseline, have_boot_diff;
    mrpc_stats_ci      boot_best_acc, boot_best_f1, boot_baseline_acc, boot_baseline_f1, boot_diff;

    size_t             n_imp;                          /* parameters in the importance table */
    size_t             imp_param[MRPC_RUNSET_MAX_PARAMS];
    double             imp_rf[MRPC_RUNSET_MAX_PARAMS];  /* NaN when the forest was not fitted */
    double             imp_pearson[MRPC_RUNSET_MAX_PARAMS], imp_spearman[MRPC_RUNSET_MAX_PARAMS];
    size_t             imp_n_runs;
    int                have_forest;
    mrpc_forest_result forest;

    mrpc_analysis_progress bayes, grid;
    size_t        n_random;
    double       *random_expected; /* [n_random] E[best of k random draws], k = 1..n_random */
    double        best_before_bayes; /* best usable objective outside the bayes stage; NaN when none */

    char reading_runs[MRPC_ANALYSIS_READING];
    char reading_best[MRPC_ANALYSIS_READING];
    char reading_mcnemar[MRPC_ANALYSIS_READING];
    char reading_bootstrap[MRPC_ANALYSIS_READING];
    char reading_sensitivity[MRPC_ANALYSIS_READING];
    char reading_grid[MRPC_ANALYSIS_READING];
    char reading_bayes[MRPC_ANALYSIS_READING];
    char reading_importance[MRPC_ANALYSIS_READING];

    size_t n_warnings;
    char   warnings[16][384];
} mrpc_analysis;

/*
 * Computes the analysis of `study` (which must outlive `out`). `opt` NULL means the
 * defaults. Fails only for lack of memory; a study without usable runs gives an
 * analysis whose readings say so.
 */
mrpc_status mrpc_analysis_compute(const mrpc_runset *study, const mrpc_analysis_options *opt, mrpc_analysis *out,
                                  mrpc_error *err);

/* Frees the arrays of `a` and clears it. NULL is fine. */
void mrpc_analysis_free(mrpc_analysis *a);

/* Index of the stage called `name`, or -1. */
int mrpc_analysis_find_stage(const mrpc_analysis *a, const char *name);

/*
 * Writes into params (capacity max) the non-seed parameters that take more than one
 * value among the runs of stage `stage` (any state; missing runs through their task
 * row) and returns how many.
 */
size_t mrpc_analysis_stage_varied(const mrpc_analysis *a, int stage, size_t *params, size_t max);

/* Objective as points (x100) for readings and figures. */
double mrpc_analysis_points(double objective);

#endif /* MRPC_ANALYSIS_ANALYSIS_H */

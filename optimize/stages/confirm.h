/*
 * confirm.h — the confirm stage: after the others, re-run the top_k configurations of the
 * study's recommendation (recommend.h) and the baseline over `seeds` NEW seeds, and answer
 * with the configuration of the best mean, its paired differences against the baseline
 * seed by seed, a t confidence interval of the mean difference and paired tests
 * (paired.h).
 *
 *     stages:
 *       ...
 *       confirm: {top_k: 3, seeds: 5}
 *
 * The wave (waves/confirm/00): one task per configuration and seed, the baseline first,
 * then the recommendation in its order; run ids
 *     conf-00-<task>-baseline-seed<s>   conf-00-<task>-rec<i>-seed<s>
 * Seeds: the `seeds` smallest integers >= the base config's seed that no run of the
 * study (any stage, any state, runs outside the waves included) has used: disjoint from
 * every earlier seed, the same for every configuration, so each difference is paired.
 * A recommended configuration equal to the baseline is not repeated (the next one is
 * taken). Runs that end without a final record are retried like any stage's.
 *
 * The recommendation is asked for once, when the wave is planned (the stage whose model
 * answers: mrpc_recommend_default_stage); afterwards the configurations are read back
 * from the wave's run ids, so the answer depends on the wave and its records only.
 *
 * The answer, once no confirm run is pending, is written by `mrpc-optimize next` to
 * <study_dir>/answer.yaml (atomically, only when it changed) and printed by `status`:
 * per configuration its values, objective per seed, mean and sd; against the baseline the
 * per-seed differences, their mean with a 95% t interval (n - 1 df), the paired t-test,
 * the exact sign and Wilcoxon signed-rank tests, in objective units and, for accuracy,
 * F1 and best_accuracy, in points (x 100; one example of MRPC's 408 validation pairs is
 * 0.245 points). `significant` is p_t < 0.05; when it is not, the text says that the
 * difference is within seed noise.
 */
#ifndef MRPC_OPTIMIZE_CONFIRM_H
#define MRPC_OPTIMIZE_CONFIRM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "history.h"
#include "paired.h"
#include "recommend.h"
#include "stages.h"
#include "status.h"
#include "study.h"
#include "yaml_doc.h"

#define MRPC_CONFIRM_MAX_K 20
#define MRPC_CONFIRM_MAX_SEEDS 64

/*
 * Reads stages.confirm (`node`, may be null: the defaults top_k 3, seeds 5) into
 * st->confirm. Needs an earlier stage (its recommendation is what is confirmed).
 * `stages_node` is the stages mapping, for errors. Errors name file:line:column.
 */
mrpc_status mrpc_confirm_parse(const mrpc_yaml_doc *doc, const yaml_node_t *node, const yaml_node_t *stages_node,
                               mrpc_study *st, mrpc_error *err);

/* The confirmation seeds (see above) into seeds[0 .. st->confirm.seeds). */
void mrpc_confirm_seeds(const mrpc_study *st, const mrpc_history *h, int64_t *seeds);

/*
 * Plans confirm wave `wave` from the recommendation `rec` (its first top_k entries that
 * differ from the baseline). plan->n_tasks == 0 when rec is empty (nothing completed to
 * confirm; note says so). Fails with MRPC_ERR_INTERNAL if a configuration and seed it
 * would plan is already in the history (it cannot be, by the choice of seeds).
 */
mrpc_status mrpc_confirm_plan(const mrpc_study *st, const mrpc_history *h, const mrpc_recommendation *rec, int wave,
                              mrpc_plan *plan, mrpc_error *err);

/* One configuration of the confirm wave. */
typedef struct mrpc_confirm_config {
    char    label[16];                         /* "baseline", "rec1", "rec2", ... */
    int     rank;                              /* 0 baseline, i for rec<i> */
    double  values[MRPC_SPACE_MAX_PARAMS];
    double  objective[MRPC_CONFIRM_MAX_SEEDS]; /* per seed (summary order); NaN unless completed */
    char    run_ids[MRPC_CONFIRM_MAX_SEEDS][129];
    size_t  n_completed;
    double  mean, sd;                          /* over its completed seeds (sd NaN below 2) */
    mrpc_paired_result vs_baseline;            /* objective - baseline's, seeds where both completed */
} mrpc_confirm_config;

typedef struct mrpc_confirm_summary {
    int     planned;              /* the study has a confirm wave */
    size_t  n_runs, n_pending, n_failed;
    size_t  n_seeds;
    int64_t seeds[MRPC_CONFIRM_MAX_SEEDS];
    size_t  n_configs;            /* the baseline first when it was planned */
    mrpc_confirm_config configs[MRPC_CONFIRM_MAX_K + 1];
    int     baseline;             /* index of the baseline in configs, -1 when none */
    int     answer;               /* index of the best mean (completed runs only), -1 when none */
    int     significant;          /* the answer's paired t-test p < 0.05 against the baseline */
    int     points;               /* the metric is a fraction (accuracy, f1, best_accuracy): x 100 = points */
} mrpc_confirm_summary;

/* Reads the confirm wave's observations into a summary (planned = 0 without a wave). */
mrpc_status mrpc_confirm_summarize(const mrpc_study *st, const mrpc_history *h, mrpc_confirm_summary *out,
                                   mrpc_error *err);

/* The text of answer.yaml (new malloc'd string). */
mrpc_status mrpc_confirm_to_yaml(const mrpc_study *st, const mrpc_confirm_summary *s, char **out, mrpc_error *err);

/* The answer for people (mrpc-optimize status), a few lines. */
void mrpc_confirm_print(const mrpc_study *st, const mrpc_confirm_summary *s, FILE *out);

/* Summarizes the confirm wave and prints it (nothing when there is none yet); for `status`. */
void mrpc_confirm_status(const mrpc_study *st, const mrpc_history *h, FILE *out);

/*
 * The stage's step in mrpc_optimize_next (after pending runs and retries were handled):
 * without a wave it asks mrpc_recommend and plans one (plan->n_tasks > 0); with a wave it
 * summarizes it and, when `write` and no run is pending, writes answer.yaml
 * (plan->n_tasks == 0: the stage is done).
 */
mrpc_status mrpc_confirm_step(const mrpc_study *st, const mrpc_history *h, int have_wave, int next_wave, int write,
                              mrpc_plan *plan, mrpc_error *err);

#endif /* MRPC_OPTIMIZE_CONFIRM_H */

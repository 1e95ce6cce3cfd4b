/*
 * stages.h — the three stages, each turning a study and its history into the next
 * wave (a plan: run ids and values), plus the sensitivity analysis that chooses the
 * tuned parameters. All of it works on in-memory data (study.h, history.h); writing
 * files is emit.h's job.
 *
 *   sensitivity  one wave: the baseline (repeated over `seeds` seeds) and a low and a
 *                high level of each candidate with the others at baseline. After it,
 *                each parameter's effect = the largest |objective - baseline| of its
 *                levels (failed levels imputed with the worst objective seen); the
 *                top_k by effect are the tuned parameters.
 *   grid         the Cartesian product of values of the tuned parameters (the others
 *                at baseline), without the configurations the study already ran, in
 *                waves of at most slurm.max_array_size.
 *   bayes        waves of wave_size GP suggestions over the tuned parameters until
 *                `budget` runs, warm-started from every run of the study whose other
 *                parameters sit at baseline.
 *
 * Run ids: "<stage short>-<wave nn>-<task nnn>", with "-baseline", "-baseline-seed<s>",
 * "-<param>-low" / "-<param>-high" for sensitivity tasks.
 */
#ifndef MRPC_OPTIMIZE_STAGES_H
#define MRPC_OPTIMIZE_STAGES_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "history.h"
#include "status.h"
#include "study.h"

/* One planned task. */
typedef struct mrpc_plan_task {
    char    run_id[129];
    double  values[MRPC_SPACE_MAX_PARAMS]; /* canonical natural values of every space parameter */
    int64_t seed;                          /* the run's seed (the base config's unless repeated) */
    int64_t pause_after_epoch;             /* 0: to the end; else pause after that epoch (fidelity.h) */
} mrpc_plan_task;

/* The next wave of a stage. Zero-initialize; release with mrpc_plan_free. */
typedef struct mrpc_plan {
    mrpc_stage_kind stage;
    int             wave;
    int             with_seed;   /* tasks.tsv gets a seed column */
    size_t          n_tasks, cap;
    mrpc_plan_task *tasks;
    char            note[256];   /* what the planner did, one line */
} mrpc_plan;

void mrpc_plan_free(mrpc_plan *plan);

/* Appends a task (values copied; run_id "<short>-<wave>-<index>[-suffix]" is made here). */
mrpc_status mrpc_plan_add(mrpc_plan *plan, const double *values, size_t n_values, int64_t seed, const char *suffix,
                          mrpc_error *err);

/*
 * Appends the retry of a run that ended without a final record: the same run id (so
 * the same record, resumed from its checkpoint), values and seed as its earlier task.
 */
mrpc_status mrpc_plan_add_retry(mrpc_plan *plan, const char *run_id, const double *values, size_t n_values,
                                int64_t seed, mrpc_error *err);

/*
 * Plans the retry wave `wave` of `stage`: every INTERRUPTED observation of the stage,
 * in history order. plan->n_tasks == 0 when there is nothing to retry.
 */
mrpc_status mrpc_retry_plan(const mrpc_study *study, const mrpc_history *h, mrpc_stage_kind stage, int wave,
                            mrpc_plan *plan, mrpc_error *err);

/* ---- sensitivity ------------------------------------------------------------------- */

/*
 * The low and high levels of parameter k: explicit (stages.sensitivity.levels) or at
 * unit positions (1 - span)/2 and (1 + span)/2 of its range. A level equal to the
 * baseline is dropped (*has_low / *has_high = 0).
 */
void mrpc_sensitivity_levels(const mrpc_study *study, size_t k, double *low, int *has_low, double *high,
                             int *has_high);

/* Plans the sensitivity wave (wave 0). */
mrpc_status mrpc_sensitivity_plan(const mrpc_study *study, mrpc_plan *plan, mrpc_error *err);

typedef struct mrpc_sensitivity_param {
    size_t         index;          /* into the space */
    int            has_low, has_high;
    double         low, high;      /* the levels */
    mrpc_obs_state low_state, high_state;
    double         obj_low, obj_high; /* objective, imputed (worst) when the run failed; NaN when pending */
    double         change_low, change_high; /* objective - baseline objective */
    double         effect;         /* largest |change|, objective units */
    double         effect_noise;   /* effect / seed std, NaN without >= 2 baseline seeds */
    int            rank;           /* 1 = largest effect */
    int            tuned;
} mrpc_sensitivity_param;

typedef struct mrpc_sensitivity_summary {
    size_t  n_baseline, n_baseline_completed;
    double  baseline_objective;    /* mean of the completed baseline runs */
    double  seed_std;              /* sample std of the baseline runs, NaN below 2 */
    int     has_worst;
    double  worst;                 /* imputed for failed levels */
    size_t  n_pending;             /* tasks without a final state: the summary is provisional */
    size_t  n_failed;              /* failed, diverged or missing tasks */
    int     ranked;                /* 0 when no baseline run completed: no effects, no ranking */
    size_t  n_params;
    mrpc_sensitivity_param params[MRPC_SPACE_MAX_PARAMS]; /* the candidates, in study order */
    size_t  n_tuned;
    size_t  tuned[MRPC_SPACE_MAX_PARAMS];                 /* space indices, largest effect first */
} mrpc_sensitivity_summary;

/*
 * Computes the sensitivity analysis from the sensitivity wave's observations (matched
 * by run id to the plan). Works with a partial wave (n_pending > 0; provisional).
 * Fails with MRPC_ERR_INVALID when the study has no sensitivity stage.
 */
mrpc_status mrpc_sensitivity_summarize(const mrpc_study *study, const mrpc_history *h, mrpc_sensitivity_summary *out,
                                       mrpc_error *err);

/* The summary as the YAML of <study_dir>/sensitivity.yaml (new malloc'd string). */
mrpc_status mrpc_sensitivity_to_yaml(const mrpc_study *study, const mrpc_sensitivity_summary *s, char **out,
                                     mrpc_error *err);

/*
 * Loads the study at `study_path`, reads its history and summarizes the sensitivity
 * stage: the one call mrpc-analyze needs. Returns what mrpc_study_load,
 * mrpc_history_load and mrpc_sensitivity_summarize return.
 */
mrpc_status mrpc_sensitivity_from_study(const char *study_path, mrpc_sensitivity_summary *out, mrpc_error *err);

/*
 * The parameters a later stage searches: its own `parameters` list, else the tuned
 * parameters of a completed sensitivity stage (`sens` may be NULL when the study has
 * none), else every searchable parameter. Returns the count written to idx.
 */
size_t mrpc_stage_parameters(const mrpc_study *study, mrpc_stage_kind stage, const mrpc_sensitivity_summary *sens,
                             size_t *idx);

/* ---- grid -------------------------------------------------------------------------- */

/* The values each searched parameter takes in the grid; returns the number of points. */
size_t mrpc_grid_values(const mrpc_study *study, const mrpc_sensitivity_summary *sens, const size_t *params,
                        size_t n_params, size_t *n_values, double values[][MRPC_SPACE_MAX_VALUES]);

/*
 * Plans the next grid wave: the grid points no observation of `h` has (any state),
 * at most slurm.max_array_size of them. plan->n_tasks == 0 means the grid is done.
 */
mrpc_status mrpc_grid_plan(const mrpc_study *study, const mrpc_history *h, const mrpc_sensitivity_summary *sens,
                           int wave, mrpc_plan *plan, mrpc_error *err);

/* ---- bayes ------------------------------------------------------------------------- */

/*
 * Plans bayes wave `wave` with `q` suggestions (the caller caps q by the budget left).
 * plan->n_tasks < q only when the space has no unseen configuration left. `info` may
 * be NULL.
 */
mrpc_status mrpc_bayes_plan(const mrpc_study *study, const mrpc_history *h, const mrpc_sensitivity_summary *sens,
                            int wave, size_t q, mrpc_plan *plan, mrpc_bo_info *info, mrpc_error *err);

#endif /* MRPC_OPTIMIZE_STAGES_H */

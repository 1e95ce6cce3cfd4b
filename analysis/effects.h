/*
 * effects.h — stage 1 (one factor at a time) effects, computed from the records.
 *
 * The baseline configuration is the most common value of every parameter among the
 * runs of the "sensitivity" stage (seed parameters left out). Baseline runs are the
 * stage's runs with exactly that configuration, or whose run_id contains "base";
 * several of them with different seeds are seed repeats. Every other run of the
 * stage should differ from the baseline in one parameter: it is a level of that
 * parameter. A run that differs in more than one is counted as unclassified.
 *
 *   baseline objective  mean of the usable baseline repeats
 *   delta of a level    objective(level) - baseline objective
 *   effect              max |delta| over the parameter's usable levels
 *   seed noise          sample std (ddof 1) of the baseline repeats, when there are >= 2;
 *                       else the binomial sampling s.e. sqrt(p(1-p)/n) of the baseline's
 *                       score on its n validation examples (noise_from_seeds = 0)
 *   rank                1 = largest effect; parameters without a usable level are not ranked
 *   chosen              the `tuned` list of mrpc-optimize's sensitivity.yaml when the study
 *                       has one; else the parameters the grid stage varied; else the top 3
 *
 * mrpc-optimize writes its own view to <study>/sensitivity.yaml (optimize/stages/stages.h,
 * mrpc_sensitivity_to_yaml). It differs in one respect: a failed or diverged level counts
 * there as the worst objective seen, while here it is left out (it has no objective).
 * Both are reported: this module's numbers from the records, and the optimizer's rank,
 * effect and tuned flag read from the file (opt_* fields; absent when there is no file).
 */
#ifndef MRPC_ANALYSIS_EFFECTS_H
#define MRPC_ANALYSIS_EFFECTS_H

#include <stddef.h>

#include "runset.h"
#include "status.h"

#define MRPC_EFFECTS_MAX_LEVELS 16
#define MRPC_EFFECTS_MAX_BASELINE 64

typedef struct mrpc_effects_level {
    size_t run;       /* index into study->runs */
    double value;     /* the parameter's value in that run */
    int    usable;
    double objective; /* NaN unless usable */
    double delta;     /* objective - baseline objective, NaN unless usable */
} mrpc_effects_level;

typedef struct mrpc_effects_param {
    size_t          param;          /* index into study->params */
    double          baseline_value;
    size_t          n_levels;       /* sorted by value */
    mrpc_effects_level levels[MRPC_EFFECTS_MAX_LEVELS];
    double          effect;         /* NaN when no level is usable */
    int             rank;           /* 1-based; 0 = not ranked */
    int             chosen;
    int             opt_rank;       /* rank in sensitivity.yaml; 0 = none */
    double          opt_effect;     /* effect in sensitivity.yaml (failed levels imputed); NaN = none */
} mrpc_effects_param;

/* Where `chosen` comes from. */
typedef enum mrpc_effects_chosen_source {
    MRPC_EFFECTS_CHOSEN_OPTIMIZER = 0, /* sensitivity.yaml's tuned list */
    MRPC_EFFECTS_CHOSEN_GRID,          /* the parameters the grid stage varied */
    MRPC_EFFECTS_CHOSEN_TOP3           /* the three largest effects here */
} mrpc_effects_chosen_source;

typedef struct mrpc_effects {
    int    found;              /* the study has sensitivity runs and a baseline among them */
    size_t n_stage_runs;       /* every run of the stage, usable or not */
    size_t n_baseline;         /* baseline runs (any state) */
    size_t baseline_runs[MRPC_EFFECTS_MAX_BASELINE];
    size_t n_baseline_usable;
    int    baseline_run;       /* the representative baseline: first usable repeat (with predictions
                                  when one has them); -1 when none */
    double baseline_objective; /* mean of usable repeats; NaN when none */
    double noise;              /* see above; NaN when unknown */
    int    noise_from_seeds;
    size_t n_params;           /* parameters with at least one level, ordered by rank (unranked last) */
    mrpc_effects_param params[MRPC_RUNSET_MAX_PARAMS];
    size_t n_unclassified;     /* stage runs differing from the baseline in more than one parameter */
    mrpc_effects_chosen_source chosen_source;
    int    has_optimizer_file; /* sensitivity.yaml was read */
    int    optimizer_complete; /* its `complete` flag (0: provisional, runs were pending) */
    char   optimizer_note[256]; /* why the file was not used, when it exists but could not be read */
} mrpc_effects;

/*
 * Computes stage 1 effects from `study` into `out`. A study without a sensitivity stage
 * gives found = 0 and MRPC_OK. Never fails for input reasons.
 */
mrpc_status mrpc_effects_compute(const mrpc_runset *study, mrpc_effects *out, mrpc_error *err);

#endif /* MRPC_ANALYSIS_EFFECTS_H */

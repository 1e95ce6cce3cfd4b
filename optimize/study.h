/*
 * study.h — the study config: what to optimize, over which space, in which stages,
 * and how to submit the waves. One YAML file; every error names file:line:column.
 *
 *     name: distilbert-mrpc            # safe name (default: the study file's name)
 *     seed: 1234                       # seeds every random choice of the optimizer
 *     objective: {metric: accuracy, goal: maximize}   # a run-record metric; maximize|minimize
 *     base_config: base.yaml           # run config with the fixed settings (relative to this file)
 *     study_dir: .                     # optional; default: this file's directory
 *     runs_dir: runs                   # run records, relative to study_dir
 *     parameters:                      # W&B-sweep style; names are run-config hyperparameter keys
 *       learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-4, baseline: 5.0e-5}
 *       weight_decay:  {min: 0.0, max: 0.1, baseline: 0.0}           # uniform (inferred)
 *       adam_epsilon:  {distribution: log_uniform_values, min: 1.0e-9, max: 1.0e-6, baseline: 1.0e-8}
 *       warmup_steps:  {min: 0, max: 300, baseline: 0}                # int_uniform (integer key)
 *       dropout:       {distribution: q_uniform, min: 0.0, max: 0.3, q: 0.05, baseline: 0.1}
 *       max_seq_length: {values: [64, 128, 256], baseline: 128}      # categorical
 *       max_grad_norm: {min: 0.5, max: 5.0, baseline: 1.0}
 *       num_epochs:    {value: 3}                                    # constant
 *     stages:                          # any subset, in this order
 *       sensitivity: {top_k: 3, seeds: 3, span: 1.0, levels: {learning_rate: [2.0e-5, 1.0e-4]}}
 *       grid: {levels: 3}              # or values: {learning_rate: [...]}; parameters: [...]
 *       bayes: {budget: 24, wave_size: 4}
 *     slurm: {partition: gpu, account: proj, time: "02:00:00", cpus_per_task: 8, gpus: 1,
 *             ranks_per_task: 1, throttle: 4, signal_seconds: 120}
 *     retries: 2                       # optional [2]: a run that ended without a final record
 *                                      # (cancelled, node failure, killed, time limit) is run again,
 *                                      # in a later wave, this many times before it counts failed
 *
 * Parameter keys: distribution (constant, categorical, int_uniform, uniform, q_uniform,
 * log_uniform_values; inferred from value / values / min+max when absent), value,
 * values, min, max, q, baseline (default: the base config's value). Every value is
 * checked against the run-config schema (type, range); `seed` cannot be searched (it
 * is the sensitivity stage's `seeds`).
 *
 * Stage settings (defaults in brackets):
 *   sensitivity: top_k [3], seeds [1] (baseline repeats, seeds base, base+1, ...),
 *                span [1.0] (fraction of each range the derived low/high levels span,
 *                around its middle in unit-cube terms), levels {param: [low, high]},
 *                candidates [every searchable parameter]
 *   grid:        parameters [the tuned ones], levels [3] (per parameter, derived from
 *                the space, or low/baseline/high after a sensitivity stage),
 *                values {param: [...]}, 
 *   bayes:       parameters [the tuned ones], budget (required: runs), wave_size [4],
 *                init_points [d + 1], candidates [2000], restarts [4],
 *                max_gp_points [256], acquisition [augmented_ei] | ei
 * Slurm settings: partition, account, time ["01:00:00"], cpus_per_task [4], gpus [0],
 * ranks_per_task [1], throttle [0 = none], signal_seconds [120], max_array_size
 * [1000], bindir [the directory of mrpc-optimize].
 */
#ifndef MRPC_OPTIMIZE_STUDY_H
#define MRPC_OPTIMIZE_STUDY_H

#include <stddef.h>
#include <stdint.h>

#include "runrec.h"
#include "space.h"
#include "status.h"

#define MRPC_STUDY_PATH_MAX 1024
#define MRPC_STUDY_DEFAULT_RETRIES 2
#define MRPC_STUDY_MAX_RETRIES 100

typedef enum mrpc_stage_kind {
    MRPC_STAGE_SENSITIVITY = 0,
    MRPC_STAGE_GRID,
    MRPC_STAGE_BAYES,
    MRPC_STAGE_COUNT
} mrpc_stage_kind;

/* "sensitivity", "grid", "bayes". */
const char *mrpc_stage_name(mrpc_stage_kind stage);
/* "sens", "grid", "bayes": the prefix of run ids. */
const char *mrpc_stage_short(mrpc_stage_kind stage);
/* Parses a stage name; returns 1 on success. */
int mrpc_stage_parse(const char *name, mrpc_stage_kind *out);

typedef struct mrpc_sensitivity_settings {
    int64_t top_k;
    int64_t seeds;                              /* baseline runs (seeds base_seed, base_seed + 1, ...) */
    double  span;
    size_t  n_candidates;
    size_t  candidates[MRPC_SPACE_MAX_PARAMS];  /* indices into the space */
    int     has_levels[MRPC_SPACE_MAX_PARAMS];
    double  levels[MRPC_SPACE_MAX_PARAMS][2];   /* explicit low, high */
} mrpc_sensitivity_settings;

typedef struct mrpc_grid_settings {
    size_t  n_params;                           /* 0: the tuned parameters */
    size_t  params[MRPC_SPACE_MAX_PARAMS];
    int64_t levels;
    size_t  n_values[MRPC_SPACE_MAX_PARAMS];    /* explicit values per parameter, 0 = derived */
    double  values[MRPC_SPACE_MAX_PARAMS][MRPC_SPACE_MAX_VALUES];
} mrpc_grid_settings;

typedef struct mrpc_bayes_settings {
    size_t  n_params;                           /* 0: the tuned parameters */
    size_t  params[MRPC_SPACE_MAX_PARAMS];
    int64_t budget;                             /* runs of this stage in all */
    int64_t wave_size;
    int64_t init_points;                        /* 0 = d + 1 */
    int64_t candidates;
    int64_t restarts;
    int64_t max_gp_points;
    int     augmented;                          /* acquisition: 1 augmented_ei, 0 ei */
} mrpc_bayes_settings;

typedef struct mrpc_slurm_settings {
    char    partition[64];                      /* "" = cluster default */
    char    account[64];                        /* "" = none */
    char    time[32];
    char    bindir[MRPC_STUDY_PATH_MAX];        /* "" = directory of the running mrpc-optimize */
    int64_t cpus_per_task, gpus, ranks_per_task, throttle, signal_seconds, max_array_size;
} mrpc_slurm_settings;

typedef struct mrpc_study {
    char       name[129];
    char       file[MRPC_STUDY_PATH_MAX];        /* absolute path of the study file */
    char       dir[MRPC_STUDY_PATH_MAX];         /* absolute study directory */
    char       base_config[MRPC_STUDY_PATH_MAX]; /* absolute */
    char       runs_dir[256];                    /* relative to dir */
    int64_t    seed;
    int64_t    retries;                          /* 0..MRPC_STUDY_MAX_RETRIES: see `retries` above */
    char       metric[32];
    int        maximize;
    mrpc_space space;
    int        has_stage[MRPC_STAGE_COUNT];
    mrpc_sensitivity_settings sensitivity;
    mrpc_grid_settings        grid;
    mrpc_bayes_settings       bayes;
    mrpc_slurm_settings       slurm;
    /* From the base config (with the constants applied): */
    int64_t     base_seed;
    size_t      n_fixed;                         /* hyperparameters not searched (constants included), except seed */
    mrpc_hparam fixed[MRPC_RUNREC_MAX_HPARAMS];  /* NaN float = unknown until a run resolves it (dropouts) */
    char        fixed_hash[17];                  /* 16 hex digits over the fixed settings */
} mrpc_study;

/*
 * Loads and validates the study file at `path` (made absolute), including its base
 * config. `out` is fully written on success; on failure err names the place.
 */
mrpc_status mrpc_study_load(const char *path, mrpc_study *out, mrpc_error *err);

/*
 * As mrpc_study_load from text in memory; `study_file` (absolute) names the file for
 * errors and anchors relative paths. Used by tests and the fuzz target.
 */
mrpc_status mrpc_study_parse(const char *study_file, const char *text, size_t size, mrpc_study *out, mrpc_error *err);

/* The value of fixed setting `name`, or NULL when it is not one. */
const mrpc_hparam *mrpc_study_fixed(const mrpc_study *study, const char *name);

#endif /* MRPC_OPTIMIZE_STUDY_H */

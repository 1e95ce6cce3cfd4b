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
 *                init_points [max(5, 2d)], candidates [2000], restarts [4],
 *                max_gp_points [256], acquisition [auto] | augmented_ei | ei | kg
 *                (auto: kg when the fitted noise is large, else augmented_ei; batch.h)
 *   grid, bayes: fidelity {min_iter [1], eta [3], max_iter [num_epochs], unit [epoch]}:
 *                successive halving (mrpc_fidelity below; absent = every run to the end)
 *   confirm:     top_k [3] (configurations of the recommendation, recommend.h), seeds [5]
 *                (new seeds, disjoint from every seed the study used, the same for each
 *                configuration and the baseline, so differences are paired); after the others
 * A W&B sweep file (`method:` at the top) is a study too: wandb_sweep.h.
 * Slurm settings: partition, account, time ["01:00:00"], cpus_per_task [4], gpus [0]
 * (of one task, over all its nodes), ranks_per_task [1] (MPI ranks of one run),
 * nodes_per_task [1] (nodes one run spans; ranks_per_task and gpus must be multiples of
 * it: wave.sbatch then asks for --nodes, --ntasks-per-node and --gpus-per-node), mpi
 * ["pmix"] (srun --mpi= for runs of more than one rank), throttle [0 = none],
 * signal_seconds [120], max_array_size [1000], bindir [the directory of mrpc-optimize].
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
    MRPC_STAGE_CONFIRM,     /* re-runs the recommendation and the baseline over new seeds (stages/confirm.h) */
    MRPC_STAGE_COUNT
} mrpc_stage_kind;

/* "sensitivity", "grid", "bayes", "confirm". */
const char *mrpc_stage_name(mrpc_stage_kind stage);
/* "sens", "grid", "bayes", "conf": the prefix of run ids. */
const char *mrpc_stage_short(mrpc_stage_kind stage);
/* Parses a stage name; returns 1 on success. */
int mrpc_stage_parse(const char *name, mrpc_stage_kind *out);

/*
 * mrpc_fidelity: successive halving (ASHA) for one stage, the `fidelity` block of
 * stages.grid or stages.bayes (the sensitivity stage stays at full fidelity: a block
 * there is refused). Names as W&B's hyperband early_terminate:
 *
 *     fidelity: {min_iter: 1, eta: 3, max_iter: 3, unit: epoch}
 *
 * A run keeps its full schedule (num_epochs, warmup, decay); it only pauses at a rung,
 * with its resume checkpoint. The rungs are the epochs min_iter * eta^k below max_iter,
 * then the full run (num_epochs) as the top rung: 3 epochs, eta 3 -> rungs 1, 3; 10
 * epochs -> 1, 3, 9, 10. New configurations pause at the first rung; the best
 * floor(n / eta) of the n runs at a rung continue to the next (optimize/fidelity.h).
 * Defaults: min_iter 1, eta 3, max_iter = the base config's num_epochs, unit epoch (the
 * only unit). Refused with file:line:column: eta < 2, min_iter < 1, min_iter >= max_iter,
 * max_iter > num_epochs, another unit, num_epochs searched, an objective that has no
 * per-epoch value (only accuracy, f1 and best_accuracy have). enabled = 0 when the stage
 * has no block: every run goes to the end at once (the plain waves).
 */
typedef enum mrpc_fidelity_unit { MRPC_FIDELITY_EPOCH = 0 } mrpc_fidelity_unit;

typedef struct mrpc_fidelity {
    int                enabled;                 /* 1 when the stage has a fidelity block */
    int64_t            min_iter;                /* the first rung, epochs [1] */
    int64_t            eta;                     /* keep the best 1/eta of a rung [3] */
    int64_t            max_iter;                /* no pause at or past it [num_epochs] */
    mrpc_fidelity_unit unit;                    /* epoch */
    int64_t            num_epochs;              /* the base config's: the top rung, the full run */
} mrpc_fidelity;

typedef struct mrpc_sensitivity_settings {
    int64_t top_k;
    int64_t seeds;                              /* baseline runs (seeds base_seed, base_seed + 1, ...) */
    double  span;
    size_t  n_candidates;
    size_t  candidates[MRPC_SPACE_MAX_PARAMS];  /* indices into the space */
    int     has_levels[MRPC_SPACE_MAX_PARAMS];
    double  levels[MRPC_SPACE_MAX_PARAMS][2];   /* explicit low, high */
    mrpc_fidelity fidelity;                     /* always off (full fidelity) */
} mrpc_sensitivity_settings;

typedef struct mrpc_grid_settings {
    size_t  n_params;                           /* 0: the tuned parameters */
    size_t  params[MRPC_SPACE_MAX_PARAMS];
    int64_t levels;
    size_t  n_values[MRPC_SPACE_MAX_PARAMS];    /* explicit values per parameter, 0 = derived */
    double  values[MRPC_SPACE_MAX_PARAMS][MRPC_SPACE_MAX_VALUES];
    mrpc_fidelity fidelity;
} mrpc_grid_settings;

typedef struct mrpc_bayes_settings {
    size_t  n_params;                           /* 0: the tuned parameters */
    size_t  params[MRPC_SPACE_MAX_PARAMS];
    int64_t budget;                             /* runs of this stage in all */
    int64_t wave_size;
    int64_t init_points;                        /* 0 = max(5, 2 d) (batch.h) */
    int64_t candidates;
    int64_t restarts;
    int64_t max_gp_points;
    int     augmented;                          /* acquisition: 0 ei, 1 augmented_ei, 2 kg, 3 auto */
    mrpc_fidelity fidelity;                     /* budget counts new configurations either way */
} mrpc_bayes_settings;

/* stages.confirm (stages/confirm.h): the top_k recommended configurations and the baseline over `seeds` new seeds. */
typedef struct mrpc_confirm_settings {
    int64_t top_k;                              /* [3] configurations of mrpc_recommend */
    int64_t seeds;                              /* [5] new seeds, the same for every configuration (paired) */
} mrpc_confirm_settings;

typedef struct mrpc_slurm_settings {
    char    partition[64];                      /* "" = cluster default */
    char    account[64];                        /* "" = none */
    char    time[32];
    char    mpi[32];                            /* srun --mpi= plugin for runs of several ranks */
    char    bindir[MRPC_STUDY_PATH_MAX];        /* "" = directory of the running mrpc-optimize */
    int64_t cpus_per_task, gpus, ranks_per_task, nodes_per_task, throttle, signal_seconds, max_array_size;
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
    mrpc_confirm_settings     confirm;
    mrpc_slurm_settings       slurm;
    /* From the base config (with the constants applied): */
    int64_t     base_seed;
    size_t      n_fixed;                         /* hyperparameters not searched (constants included), except seed */
    mrpc_hparam fixed[MRPC_RUNREC_MAX_HPARAMS];  /* NaN float = unknown until a run resolves it (dropouts) */
    char        fixed_hash[17];                  /* 16 hex digits over the fixed settings */
    int         wandb;                           /* the file is a W&B sweep (wandb_sweep.h) */
    char        notes[4096];                     /* what the file says that has no meaning here, one line each */
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

/*
 * wave.h — the wave spec: the tasks of one Slurm array, written by mrpc-optimize and
 * read by mrpc-train (one task each) and by mrpc-optimize itself.
 *
 * A wave directory <study_dir>/waves/<stage>/<nn>/ holds
 *
 *   tasks.tsv     one row per array task, tab-separated, with a header:
 *
 *                     task_id  run_id                 output                          learning_rate  max_seq_length
 *                     0        sens-00-000-baseline   runs/sens-00-000-baseline.h5    5e-05          128
 *
 *                 task_id counts 0, 1, 2, ... in row order (= $SLURM_ARRAY_TASK_ID);
 *                 run_id is a safe name (mrpc_name_is_safe); output is the run record's
 *                 path relative to the study directory (mrpc_relpath_is_safe); every
 *                 further column is a dotted run-config hyperparameter key (or
 *                 pause_after_epoch, a control flagged MRPC_CONFIG_CONTROL: the task
 *                 pauses after that epoch; absent = 0, run to the end), and its
 *                 values are text exactly as mrpc_run_config_set accepts (integers as
 *                 integers, floats in round-trip form).
 *   wave.yaml     metadata, a flat YAML mapping (no timestamps, so it is deterministic):
 *                 format, format_version, study, stage, wave, study_dir (absolute),
 *                 study_file, base_config (absolute), runs_dir, fixed_hash, n_tasks,
 *                 columns, searched. fixed_hash (mrpc_fixed_hash) covers the run-config
 *                 hyperparameters every run of the study shares: those of the base config
 *                 with the study's constants applied, except the seed and the `searched`
 *                 columns (the parameters that vary between runs; a constant is a column
 *                 but not searched). mrpc-train recomputes it from the current base config
 *                 before it trains a task (mrpc_wave_check_fixed). `searched` is optional
 *                 on reading (waves written before it have none).
 *   wave.sbatch   the Slurm array script (optimize/emit.c).
 *
 * The reader trusts nothing: a row with quotes, ';', '$(...)', '../', an extra or a
 * missing tab, an unknown or non-hyperparameter key, a value of the wrong type or out
 * of range, a duplicate run id is an error naming tasks.tsv:line:column.
 *
 * Example (mrpc-train, one array task):
 *
 *     mrpc_wave wave; mrpc_error err = {0};
 *     if (mrpc_wave_read(wave_dir, &wave, &err) != MRPC_OK) ...
 *     const mrpc_wave_task *t = mrpc_wave_task_by_id(&wave, task_id);
 *     mrpc_run_config cfg; mrpc_run_config_defaults(&cfg);
 *     mrpc_run_config_load_file(wave.base_config, &cfg, &err);
 *     mrpc_wave_apply_task(&wave, t, &cfg, &err);   // hyperparameters, run_id, stage, output
 *     mrpc_wave_clear(&wave);
 */
#ifndef MRPC_WAVE_WAVE_H
#define MRPC_WAVE_WAVE_H

#include <stddef.h>
#include <stdint.h>

#include "run_config.h"
#include "status.h"

#define MRPC_WAVE_FORMAT "mrpc-tune wave"
#define MRPC_WAVE_FORMAT_VERSION 1
#define MRPC_WAVE_MAX_KEYS 32     /* hyperparameter columns */
#define MRPC_WAVE_VALUE_MAX 64    /* bytes of one value's text, with the NUL */
#define MRPC_WAVE_MAX_TASKS 100000
#define MRPC_WAVE_PATH_MAX 1024

/* One row of tasks.tsv. */
typedef struct mrpc_wave_task {
    int64_t task_id;
    char    run_id[129];
    char    output[256];                                  /* relative to the study directory */
    char    values[MRPC_WAVE_MAX_KEYS][MRPC_WAVE_VALUE_MAX]; /* text of each key column */
    long    line;                                         /* line in tasks.tsv (0 when built in memory) */
} mrpc_wave_task;

/* A wave: its metadata and its tasks. Zero-initialize; release with mrpc_wave_clear. */
typedef struct mrpc_wave {
    char    study[129];                      /* study name */
    char    stage[32];                       /* "sensitivity", "grid", "bayes" */
    int     wave;                            /* wave number within the stage, from 0 */
    char    study_dir[MRPC_WAVE_PATH_MAX];   /* absolute */
    char    study_file[MRPC_WAVE_PATH_MAX];  /* absolute */
    char    base_config[MRPC_WAVE_PATH_MAX]; /* absolute */
    char    runs_dir[256];                   /* relative to study_dir */
    char    fixed_hash[17];                  /* 16 hex digits: the study's fixed settings */
    size_t  n_keys;
    char    keys[MRPC_WAVE_MAX_KEYS][48];    /* hyperparameter columns after task_id, run_id, output */
    int     has_searched;                    /* 0: wave.yaml has no `searched` list (older waves) */
    size_t  n_searched;
    char    searched[MRPC_WAVE_MAX_KEYS][48]; /* columns outside fixed_hash (searched parameters) */
    size_t  n_tasks;
    mrpc_wave_task *tasks;                   /* [n_tasks], malloc'd */
} mrpc_wave;

/*
 * Reads <wave_dir>/wave.yaml and <wave_dir>/tasks.tsv into `out` and checks that they
 * agree (n_tasks, columns). On failure `out` is cleared and err names the file, line
 * and column.
 */
mrpc_status mrpc_wave_read(const char *wave_dir, mrpc_wave *out, mrpc_error *err);

/*
 * Parses tasks.tsv text (`name` is the file name for errors) into out->keys and
 * out->tasks, replacing them; the metadata fields are left alone. Validates every
 * cell (see the overview).
 */
mrpc_status mrpc_wave_parse_tasks(const char *name, const char *text, size_t size, mrpc_wave *out, mrpc_error *err);

/* Parses wave.yaml text into the metadata fields of `out` (tasks untouched). */
mrpc_status mrpc_wave_parse_meta(const char *name, const char *text, size_t size, mrpc_wave *out, mrpc_error *err);

/*
 * Formats the tasks (header and rows) / the metadata as the text of tasks.tsv /
 * wave.yaml into a new malloc'd string (*out, caller frees). The tasks are validated
 * as the reader would, so a writer cannot produce a file the reader refuses.
 */
mrpc_status mrpc_wave_format_tasks(const mrpc_wave *w, char **out, mrpc_error *err);
mrpc_status mrpc_wave_format_meta(const mrpc_wave *w, char **out, mrpc_error *err);

/* The task with `task_id`, or NULL. */
const mrpc_wave_task *mrpc_wave_task_by_id(const mrpc_wave *w, int64_t task_id);

/* The task with `run_id`, or NULL. */
const mrpc_wave_task *mrpc_wave_task_by_run_id(const mrpc_wave *w, const char *run_id);

/*
 * Applies one task to a run config: every hyperparameter column (through
 * mrpc_run_config_set, with tasks.tsv:line:column in errors), then run_id, stage and
 * output (the study directory joined with the task's relative output path).
 */
mrpc_status mrpc_wave_apply_task(const mrpc_wave *w, const mrpc_wave_task *task, mrpc_run_config *cfg,
                                 mrpc_error *err);

/*
 * The hash of a study's fixed settings: 16 lowercase hex digits (and a NUL) in `out`,
 * FNV-1a over "name=value\n" lines in the given order (integers as integers, floats in
 * round-trip form, a NaN float as "unknown"). mrpc-optimize computes a study's
 * fixed_hash with it, mrpc-train the current one of a wave (mrpc_wave_check_fixed).
 */
void mrpc_fixed_hash(const mrpc_hparam *fixed, size_t n, char out[17]);

/*
 * Checks that `cfg` (the wave's base config as it is now, with `task` applied) still has
 * the fixed settings the wave was planned for: the hash of its hyperparameters, less the
 * seed and the searched columns, must equal w->fixed_hash. Otherwise an error naming the
 * base config and fixed_hash (the base config changed after the wave was planned). A
 * wave without a `searched` list cannot be checked and passes.
 */
mrpc_status mrpc_wave_check_fixed(const mrpc_wave *w, const mrpc_run_config *cfg, mrpc_error *err);

/* Frees the tasks and clears `w`. NULL is fine. */
void mrpc_wave_clear(mrpc_wave *w);

#endif /* MRPC_WAVE_WAVE_H */

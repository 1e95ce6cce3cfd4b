/*
 * runset.h — the runs of a study as mrpc-analyze sees them: every run record under runs/,
 * every task the waves asked for, and what is known about each hyperparameter.
 *
 * Layout read (all parts optional except the records):
 *
 *     STUDY/study.yaml                  the study file (optimize/study.h): objective.metric,
 *                                       runs_dir, parameters.<name>.distribution
 *     STUDY/runs/<run_id>.h5            one run record per training run (runrec.h)
 *     STUDY/waves/<stage>/<nn>/tasks.tsv  task_id, run_id, output, one column per hyperparameter
 *                                       (pipeline/wave/wave.h)
 *     STUDY/sensitivity.yaml            mrpc-optimize's stage 1 summary (read by effects.c)
 *
 * PATH may be the study directory, its study file, or a directory of records (then
 * its parent is the study when the directory is called "runs" and the parent has
 * study.yaml or waves/). The tasks.tsv reader here is deliberately lenient (a bad row
 * is a warning), unlike mrpc_wave_read: a report should come out of a damaged study.
 *
 * Every run gets one entry, whatever happened to it:
 *   - a readable record: its status ("completed", "failed", "diverged", "running");
 *   - a .h5 file that cannot be read: state "unreadable", reason = the reader's error;
 *   - a task of a wave with no record: state "missing" (stage and hyperparameters
 *     from tasks.tsv); so is a record that still says "running" when the wave that
 *     last listed it is finalized (it ended without a final record and was not retried).
 * A run listed again by a later wave of its stage is a retry of the same run (one
 * entry; `retries` counts them), not a duplicate.
 * Only completed runs with a finite objective are `usable` for statistics.
 *
 * Hyperparameters are the union of the names of all records and task columns, in the
 * order first seen. A parameter named "seed" is marked `is_seed`: it is not a tuned
 * knob and is left out of baseline matching, importance and parallel coordinates.
 */
#ifndef MRPC_ANALYSIS_RUNSET_H
#define MRPC_ANALYSIS_RUNSET_H

#include <stddef.h>

#include "runrec.h"
#include "status.h"

#define MRPC_RUNSET_MAX_PARAMS MRPC_RUNREC_MAX_HPARAMS
#define MRPC_RUNSET_PATH_MAX 1024

typedef enum mrpc_runset_state {
    MRPC_RUNSET_COMPLETED = 0,
    MRPC_RUNSET_FAILED,
    MRPC_RUNSET_DIVERGED,
    MRPC_RUNSET_RUNNING,
    MRPC_RUNSET_MISSING,    /* listed in a wave's tasks.tsv, no record */
    MRPC_RUNSET_UNREADABLE, /* a .h5 under runs/ the reader rejected */
    MRPC_RUNSET_PAUSED,     /* record says "paused" (pause_after_epoch): partial, neither completed nor failed */
    MRPC_RUNSET_STATE_COUNT
} mrpc_runset_state;

/* "completed", "failed", "diverged", "running", "missing", "unreadable". */
const char *mrpc_runset_state_str(mrpc_runset_state s);

/* One run of the study. */
typedef struct mrpc_runset_run {
    mrpc_runset_state state;
    char        run_id[160];    /* from the record, else from tasks.tsv, else the file name */
    char        stage[32];      /* record's stage attribute, else the wave directory name, else "" */
    char        file[MRPC_RUNSET_PATH_MAX]; /* the .h5 file ("" for a missing run without an output path) */
    char        reason[768];    /* status_reason, reader error, or why it is missing */
    int         has_record;     /* rec below is valid */
    mrpc_runrec rec;            /* series and predictions loaded */
    int         usable;         /* completed and the objective is finite */
    double      objective;      /* NaN unless usable */
    double     *x;              /* [study->n_params] natural values, NaN where absent */
    int         wave;           /* wave number (nn) or -1 */
    long        task;           /* row of the wave's tasks.tsv (0-based) or -1 */
    char        wave_stage[32]; /* the waves/<stage> directory name, "" when not in a wave */
    int         retries;        /* later waves of the stage that listed the run again (it had ended
                                   without a final record); wave/task are the last listing's */
    int         wave_finalized; /* the last listing's wave is finalized (its array ended) */
    int64_t     pause_after_epoch; /* the last listing's pause_after_epoch column (0: to the end, or none) */
    int         promotions;     /* later waves that listed the run again to continue it from a pause (a
                                   larger pause_after_epoch or 0): successive halving's promotions, not retries */
} mrpc_runset_run;

/* What is known about one hyperparameter. */
typedef struct mrpc_runset_param {
    char   name[48];
    int    is_seed;      /* a random seed, not a knob */
    int    log_scale;    /* 1: analyse and draw in log10 */
    int    log_from_space; /* log_scale came from study.yaml (else from the values) */
    int    is_int;       /* every value seen is integral */
    size_t n_distinct;   /* distinct finite values among usable runs */
    double min, max;     /* over usable runs (NaN when none) */
} mrpc_runset_param;

typedef struct mrpc_runset {
    char root[MRPC_RUNSET_PATH_MAX];     /* study directory (or the records directory) */
    char runs_dir[MRPC_RUNSET_PATH_MAX];
    char objective[32];                 /* "accuracy" or "f1" */
    int  has_study_yaml;                /* the study file was found (and read, unless a warning says otherwise) */
    int  has_sensitivity_yaml;
    size_t n_wave_files;                /* tasks.tsv files read */

    size_t           n_params;
    mrpc_runset_param params[MRPC_RUNSET_MAX_PARAMS];

    size_t          n_runs;  /* in study order: stage order, then wave/task, then start time, then id */
    mrpc_runset_run *runs;

    size_t n_warnings;       /* things worth telling the user that are not errors */
    char   warnings[32][384];
} mrpc_runset;

/*
 * Loads the study at `path` with `objective` ("accuracy" or "f1"; NULL: the study
 * file's objective.metric when it is one of those, else "accuracy"). Damaged records and
 * malformed tasks.tsv rows do not fail the load: they become "unreadable" runs or
 * warnings. Fails with MRPC_ERR_IO when `path` is not a directory or holds neither
 * records nor wave tasks, MRPC_ERR_INVALID for an unknown objective, MRPC_ERR_NOMEM.
 * On failure `out` is left empty (safe to free).
 */
mrpc_status mrpc_runset_load(const char *path, const char *objective, mrpc_runset *out, mrpc_error *err);

/* Frees what the study owns and clears it. NULL is fine. */
void mrpc_runset_free(mrpc_runset *study);

/* Count of runs in `state`. */
size_t mrpc_runset_count(const mrpc_runset *study, mrpc_runset_state state);

/* Index of the parameter `name`, or -1. */
int mrpc_runset_find_param(const mrpc_runset *study, const char *name);

/*
 * Position of value v of parameter p on [0, 1] between its min and max over usable
 * runs (log10 for log-scaled parameters); 0.5 when the parameter does not vary, NaN
 * for NaN (or a non-positive value on a log axis).
 */
double mrpc_runset_unit(const mrpc_runset *study, size_t p, double v);

/* Writes a parameter value for people: integers as integers, others with 4 significant digits, "-" for NaN. */
void mrpc_runset_format_value(const mrpc_runset *study, size_t p, double v, char *buf, size_t size);

/* Rank of a stage name for display order: sensitivity 0, grid 1, bayes 2, others 3. */
int mrpc_runset_stage_rank(const char *stage);

#endif /* MRPC_ANALYSIS_RUNSET_H */

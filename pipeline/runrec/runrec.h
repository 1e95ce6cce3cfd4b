/*
 * runrec.h — the HDF5 run record: one file per training run, written by rank 0 of
 * mrpc-train, read by mrpc-optimize and mrpc-analyze (and by users with h5py/h5dump).
 *
 * Layout (format "mrpc-tune run", format_version MRPC_RUNREC_FORMAT_VERSION):
 *
 *   /                  attributes: format, format_version, run_id, stage, status,
 *                      status_reason, start_time, end_time, host, n_ranks, backend,
 *                      precision, version, config (the resolved run config as YAML)
 *   /hparams           one attribute per hyperparameter (float64 or int64)
 *   /train/step        int64   [n_steps]  chunked, unlimited; one entry per optimizer step
 *   /train/loss        float64 [n_steps]
 *   /train/learning_rate float64 [n_steps]  the rate used by that update
 *   /train/grad_norm   float64 [n_steps]  global norm before clipping
 *   /eval/step, /eval/epoch (int64), /eval/accuracy, /eval/f1, /eval/loss (float64)
 *                      one entry per evaluation (after each epoch)
 *   /eval/predictions  int32 [n_val]  final validation predictions, in file order
 *   /eval/labels       int32 [n_val]
 *   /summary           attributes: accuracy, f1, best_accuracy, train_seconds,
 *                      tokens_per_second
 *
 * Crash safety: status is "running" from creation and is set to its final value
 * last, after every dataset has been written and flushed; the file is flushed after
 * every evaluation. A reader must treat any status other than "completed" as not
 * completed (see mrpc_runrec_is_completed).
 *
 * Only one process writes a record. Readers open without HDF5 file locking so that
 * they can look at a record while it is being written; what they see may then be
 * partial, which is why status is written last.
 */
#ifndef MRPC_RUNREC_RUNREC_H
#define MRPC_RUNREC_RUNREC_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define MRPC_RUNREC_FORMAT "mrpc-tune run"
#define MRPC_RUNREC_FORMAT_VERSION 1
#define MRPC_RUNREC_MAX_HPARAMS 64

/* Final and intermediate states of a run, as written in the `status` attribute. */
typedef enum mrpc_run_status {
    MRPC_RUN_RUNNING = 0, /* "running": being written, or the writer died */
    MRPC_RUN_COMPLETED,   /* "completed" */
    MRPC_RUN_FAILED,      /* "failed": see status_reason */
    MRPC_RUN_DIVERGED,    /* "diverged": NaN/inf loss or gradient */
    MRPC_RUN_STATUS_COUNT
} mrpc_run_status;

/* "running", "completed", "failed", "diverged". */
const char *mrpc_run_status_str(mrpc_run_status status);
/* Parses the strings above; returns 1 on success. */
int mrpc_run_status_parse(const char *s, mrpc_run_status *out);

/* A named hyperparameter value; `kind` says which member holds it. */
typedef enum mrpc_value_kind { MRPC_VALUE_FLOAT = 0, MRPC_VALUE_INT = 1 } mrpc_value_kind;
typedef struct mrpc_hparam {
    char            name[48];
    mrpc_value_kind kind;
    double          f; /* valid when kind == MRPC_VALUE_FLOAT */
    int64_t         i; /* valid when kind == MRPC_VALUE_INT */
} mrpc_hparam;

/* Returns the value as a double whatever its kind. */
double mrpc_hparam_as_double(const mrpc_hparam *h);

/* Root attributes fixed at creation. Strings are copied. */
typedef struct mrpc_runrec_meta {
    const char *run_id;      /* safe name (see mrpc_name_is_safe) */
    const char *stage;       /* "sensitivity", "grid", "bayes", "manual", ... */
    const char *host;        /* hostname of rank 0 */
    int         n_ranks;
    const char *backend;     /* "cpu" or "cuda" */
    const char *precision;   /* "fp32" or "bf16" */
    const char *config_yaml; /* resolved run config, may be NULL */
} mrpc_runrec_meta;

/* Final numbers written to /summary. NaN marks "not available". */
typedef struct mrpc_runrec_summary {
    double accuracy;
    double f1;
    double best_accuracy;
    double train_seconds;
    double tokens_per_second;
} mrpc_runrec_summary;

/* ---- writer (rank 0 of mrpc-train) ---------------------------------------------- */

typedef struct mrpc_runrec_writer mrpc_runrec_writer; /* opaque */

/*
 * Creates the record at `path` (its directory must exist), truncating a file that is
 * there, with status "running", the meta attributes, the start time and the
 * hyperparameters. On failure nothing is left at `path`.
 */
mrpc_status mrpc_runrec_create(const char *path, const mrpc_runrec_meta *meta, const mrpc_hparam *hparams,
                               size_t n_hparams, mrpc_runrec_writer **out, mrpc_error *err);

/*
 * Reopens an existing record to continue a preempted run: keeps its first
 * `n_train_keep` train entries and `n_eval_keep` eval entries (the state of the
 * resume checkpoint), drops the rest, and sets status back to "running".
 */
mrpc_status mrpc_runrec_resume(const char *path, int64_t n_train_keep, int64_t n_eval_keep,
                               mrpc_runrec_writer **out, mrpc_error *err);

/* Appends one optimizer step. */
mrpc_status mrpc_runrec_append_train(mrpc_runrec_writer *w, int64_t step, double loss, double learning_rate,
                                     double grad_norm, mrpc_error *err);

/* Appends one evaluation and flushes the file. */
mrpc_status mrpc_runrec_append_eval(mrpc_runrec_writer *w, int64_t step, int64_t epoch, double accuracy,
                                    double f1, double loss, mrpc_error *err);

/* Writes (or replaces) /eval/predictions and /eval/labels. */
mrpc_status mrpc_runrec_write_predictions(mrpc_runrec_writer *w, const int32_t *predictions, const int32_t *labels,
                                          size_t n, mrpc_error *err);

/* Adds or replaces a string attribute on the root (e.g. "resumed_from"). */
mrpc_status mrpc_runrec_set_attr_string(mrpc_runrec_writer *w, const char *name, const char *value, mrpc_error *err);

/*
 * Writes /summary (summary may be NULL for failed runs), end_time, status_reason
 * (may be NULL), and last the final `status`; flushes and closes; frees `w`.
 * The writer is freed even on failure.
 */
mrpc_status mrpc_runrec_finish(mrpc_runrec_writer *w, mrpc_run_status status, const char *reason,
                               const mrpc_runrec_summary *summary, mrpc_error *err);

/* Closes without setting a final status (the file keeps "running"). NULL is fine. */
void mrpc_runrec_abandon(mrpc_runrec_writer *w);

/* ---- reader (optimizer, analysis, tests) ---------------------------------------- */

/* What mrpc_runrec_read loads besides the attributes. */
enum {
    MRPC_RUNREC_READ_SERIES      = 1 << 0, /* /train and /eval series */
    MRPC_RUNREC_READ_PREDICTIONS = 1 << 1  /* /eval/predictions and /eval/labels */
};

/* A record read into memory. Arrays are NULL with count 0 when absent or not asked for. */
typedef struct mrpc_runrec {
    char            path[1024];
    char            format[32];
    int             format_version;
    char            run_id[160];
    char            stage[32];
    mrpc_run_status status;
    char            status_reason[512];
    char            start_time[32];
    char            end_time[32];
    char            host[128];
    int             n_ranks;
    char            backend[16];
    char            precision[16];
    char            version[32];
    char           *config_yaml; /* malloc'd, may be NULL */

    size_t      n_hparams;
    mrpc_hparam hparams[MRPC_RUNREC_MAX_HPARAMS];

    int                 has_summary;
    mrpc_runrec_summary summary;

    size_t   n_train;
    int64_t *train_step;
    double  *train_loss, *train_learning_rate, *train_grad_norm;

    size_t   n_eval;
    int64_t *eval_step, *eval_epoch;
    double  *eval_accuracy, *eval_f1, *eval_loss;

    size_t   n_predictions;
    int32_t *predictions, *labels;
} mrpc_runrec;

/*
 * Reads the record at `path`. Fails with MRPC_ERR_PARSE (and the file name) for a file
 * that is not HDF5, not a run record, from an unknown format_version, or cut short;
 * never crashes on a damaged file. On failure `out` is left cleared.
 */
mrpc_status mrpc_runrec_read(const char *path, unsigned flags, mrpc_runrec *out, mrpc_error *err);

/* Frees the arrays of `rec` and clears it. NULL is fine. */
void mrpc_runrec_clear(mrpc_runrec *rec);

/* 1 when rec->status is completed and the summary is present; else 0. */
int mrpc_runrec_is_completed(const mrpc_runrec *rec);

/* Finds a hyperparameter by name; NULL when absent. */
const mrpc_hparam *mrpc_runrec_find_hparam(const mrpc_runrec *rec, const char *name);

/*
 * Looks up a metric by name for the optimizer's objective: "accuracy", "f1",
 * "best_accuracy", "eval_loss" (last), "train_seconds", "tokens_per_second".
 * Returns 1 and sets *out when the record has it, else 0.
 */
int mrpc_runrec_metric(const mrpc_runrec *rec, const char *name, double *out);

#endif /* MRPC_RUNREC_RUNREC_H */

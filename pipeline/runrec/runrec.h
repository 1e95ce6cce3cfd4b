/*
 * runrec.h — the HDF5 run record: one file per training run, written by rank 0 of
 * mrpc-train, read by mrpc-optimize and mrpc-analyze (and by users with h5py/h5dump).
 * The full table, with types and h5py/h5dump examples, is docs/run-record.md.
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
 * Types: every string attribute is a scalar fixed-length, NUL-terminated UTF-8 string
 * (h5py returns numpy.bytes_; .decode() gives the text). `status` is 16 bytes so it is
 * rewritten in place; the others are as long as their text. Integers are int64 and
 * numbers float64, little-endian. `end_time` exists once the run has finished;
 * `config` only when the writer was given one; /summary only for runs that ended with
 * one; /eval/predictions and /eval/labels only after mrpc_runrec_write_predictions.
 * The file uses the HDF5 1.8 file format (checksummed superblock and object headers;
 * readable by HDF5 1.8 and later).
 *
 * Crash safety: status is "running" from creation and is set to its final value
 * last, after every dataset has been written and flushed; the file is flushed (and
 * fsync'd) after every evaluation. A reader must treat any status other than
 * "completed" as not completed (see mrpc_runrec_is_completed).
 *
 * Only one process writes a record (the writer holds HDF5's file lock). Readers open
 * without HDF5 file locking so that they can look at a record while it is being
 * written; what they see may then be partial, which is why status is written last.
 *
 * Errors: HDF5's automatic error printing is switched off for the duration of each
 * call (and the caller's setting restored); failures come back as mrpc_error records
 * naming the file and the object ("/train/loss", "/@status" for an attribute of the
 * root, "/hparams@lr") with HDF5's own explanation appended.
 *
 * Example (mrpc-train, rank 0):
 *
 *     mrpc_runrec_writer *w = NULL;
 *     if (mrpc_runrec_create(path, &meta, hparams, n_hparams, &w, &err) != MRPC_OK) return fail(&err);
 *     for (...) mrpc_runrec_append_train(w, step, loss, lr, grad_norm, &err);
 *     mrpc_runrec_append_eval(w, step, epoch, acc, f1, eval_loss, &err);   // flushes
 *     mrpc_runrec_write_predictions(w, pred, labels, n_val, &err);
 *     mrpc_runrec_finish(w, MRPC_RUN_COMPLETED, NULL, &summary, &err);      // frees w
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
    MRPC_RUN_PAUSED,      /* "paused": stopped on purpose after epoch /@paused_epoch (pause_after_epoch), its
                             resume checkpoint kept; not completed, not failed: the same run continues later */
    MRPC_RUN_STATUS_COUNT
} mrpc_run_status;

/* "running", "completed", "failed", "diverged", "paused"; "unknown" for any other value. Never NULL. */
const char *mrpc_run_status_str(mrpc_run_status status);
/* Parses the strings above (exact, lower case); returns 1 and sets *out (when not NULL)
 * on success, 0 for anything else including NULL. */
int mrpc_run_status_parse(const char *s, mrpc_run_status *out);

/* A named hyperparameter value; `kind` says which member holds it. */
typedef enum mrpc_value_kind { MRPC_VALUE_FLOAT = 0, MRPC_VALUE_INT = 1 } mrpc_value_kind;
typedef struct mrpc_hparam {
    char            name[48];
    mrpc_value_kind kind;
    double          f; /* valid when kind == MRPC_VALUE_FLOAT */
    int64_t         i; /* valid when kind == MRPC_VALUE_INT */
} mrpc_hparam;

/* Returns the value as a double whatever its kind; NaN for NULL. */
double mrpc_hparam_as_double(const mrpc_hparam *h);

/*
 * Root attributes fixed at creation. Strings are copied, must be valid UTF-8 and must
 * fit the matching field of mrpc_runrec (so run_id < 160 bytes, stage < 32, host < 128,
 * backend and precision < 16); all but config_yaml must be non-empty.
 */
typedef struct mrpc_runrec_meta {
    const char *run_id;      /* should be a safe name (mrpc_name_is_safe); the record stores
                                any text that fits, so readers that build paths from a
                                run_id read back must check it themselves */
    const char *stage;       /* "sensitivity", "grid", "bayes", "manual", ... */
    const char *host;        /* hostname of rank 0 */
    int         n_ranks;     /* >= 1 */
    const char *backend;     /* "cpu" or "cuda" */
    const char *precision;   /* "fp32" or "bf16" */
    const char *config_yaml; /* resolved run config, may be NULL; at most 60000 bytes */
} mrpc_runrec_meta;

/* Final numbers written to /summary. NaN marks "not available". */
typedef struct mrpc_runrec_summary {
    double accuracy;
    double f1;
    double best_accuracy;
    double train_seconds;
    double tokens_per_second;
} mrpc_runrec_summary;

/*
 * The resume checkpoints of a run, written to /checkpoints when the run ends (attributes
 * of the same names). Counts add up over every process that worked on the run: a run
 * stopped, killed and resumed reports all its checkpoints and resumes.
 */
typedef struct mrpc_runrec_checkpoints {
    const char *strategy;       /* save_strategy: "no", "epoch", "steps" or "minutes" */
    double      period;         /* save_steps or save_minutes (0 for "no" and "epoch") */
    int64_t     written;        /* checkpoints written (periodic and on stop signals) */
    int64_t     failed;         /* periodic checkpoints that could not be written (the run went on) */
    double      seconds;        /* time spent writing them */
    int64_t     resumes;        /* times the run continued from a checkpoint */
    int64_t     steps_redone;   /* steps logged after a checkpoint by a process that then died, trained again */
    int         kept;           /* 1 when the resume checkpoint was left on disk at the end */
    const char *note;           /* why it was kept or removed, and the last write failure ("" when none) */
} mrpc_runrec_checkpoints;

/* ---- writer (rank 0 of mrpc-train) ---------------------------------------------- */

typedef struct mrpc_runrec_writer mrpc_runrec_writer; /* opaque */

/*
 * Creates the record at `path` (its directory must exist), replacing a file that is
 * there, with status "running", the meta attributes, the start time and the
 * hyperparameters. The record is built in memory and written in one atomic write
 * (temporary file, fsync, rename), so a failure leaves nothing new at `path`. `hparams` may be NULL when n_hparams is 0; names
 * must be safe names (mrpc_name_is_safe), unique, at most MRPC_RUNREC_MAX_HPARAMS.
 * On success *out owns the open file until mrpc_runrec_finish or _abandon.
 *
 * Fails with MRPC_ERR_INVALID for bad arguments (checked before the file is touched,
 * except a duplicate hyperparameter name, which is found while writing),
 * MRPC_ERR_BUSY when another process holds HDF5's lock on the file (a writer, or a
 * reader that opened it with locking on; the file is left untouched), and
 * MRPC_ERR_HDF5/MRPC_ERR_IO otherwise (a full disk: MRPC_ERR_IO). On failure *out is
 * NULL, nothing new is left at `path` and a file that was there is left untouched.
 *
 * Full disk and I/O errors after creation: HDF5 works on an in-memory mirror of the file
 * and every flush copies the changes to the disk (docs/run-record.md, rule 0), so a
 * failed write never leaves libhdf5 unable to close the file. After a failed write every
 * append returns MRPC_ERR_IO; mrpc_runrec_finish then closes the writer and rewrites
 * status ("failed") and status_reason in place on disk when it can (rule 8).
 */
mrpc_status mrpc_runrec_create(const char *path, const mrpc_runrec_meta *meta, const mrpc_hparam *hparams,
                               size_t n_hparams, mrpc_runrec_writer **out, mrpc_error *err);

/*
 * Reopens an existing record to continue a preempted run: keeps its first
 * `n_train_keep` train entries and `n_eval_keep` eval entries (the state of the
 * resume checkpoint), drops the rest, and sets status back to "running" (first, and
 * flushed, so a crash during resume leaves a record that says "running"). It also
 * clears status_reason and removes end_time, /summary, /eval/predictions and
 * /eval/labels: they belong to the end of the run and are written again.
 *
 * Fails with MRPC_ERR_IO when the file is missing, MRPC_ERR_PARSE/_UNSUPPORTED when it
 * is not a record this build reads, MRPC_ERR_INVALID when a count is negative or larger
 * than what the record holds (the file is then left unchanged), MRPC_ERR_BUSY when
 * another writer has it open. *out is NULL on failure.
 */
mrpc_status mrpc_runrec_resume(const char *path, int64_t n_train_keep, int64_t n_eval_keep,
                               mrpc_runrec_writer **out, mrpc_error *err);

/*
 * Appends one optimizer step. Entries are buffered in the writer (256 of them) and
 * written in one extent-and-write per series when the buffer is full, and at every
 * mrpc_runrec_append_eval, finish and abandon; they reach the disk at the next flush.
 */
mrpc_status mrpc_runrec_append_train(mrpc_runrec_writer *w, int64_t step, double loss, double learning_rate,
                                     double grad_norm, mrpc_error *err);

/*
 * Appends one evaluation, after writing every buffered train entry, then flushes the
 * file (H5Fflush and fsync): what a reader in another process sees afterwards is
 * consistent up to this evaluation.
 */
mrpc_status mrpc_runrec_append_eval(mrpc_runrec_writer *w, int64_t step, int64_t epoch, double accuracy,
                                    double f1, double loss, mrpc_error *err);

/*
 * Writes the buffered train entries and flushes the file (H5Fflush and fsync), as an
 * evaluation does: what was appended so far is on disk (mrpc-train calls it before it
 * writes a resume checkpoint that counts those entries).
 */
mrpc_status mrpc_runrec_flush(mrpc_runrec_writer *w, mrpc_error *err);

/* Writes (or replaces) the /checkpoints group from `c`. */
mrpc_status mrpc_runrec_set_checkpoints(mrpc_runrec_writer *w, const mrpc_runrec_checkpoints *c, mrpc_error *err);

/*
 * Writes (or replaces) /eval/predictions and /eval/labels, `n` int32 each (n may be 0;
 * the arrays may then be NULL). Flushed with the next evaluation or at finish.
 */
mrpc_status mrpc_runrec_write_predictions(mrpc_runrec_writer *w, const int32_t *predictions, const int32_t *labels,
                                          size_t n, mrpc_error *err);

/*
 * Adds or replaces a string attribute on the root (e.g. "resumed_from"). `name` must
 * be a safe name and not one of the attributes the writer owns (format, status, ...);
 * `value` (NULL means "") valid UTF-8 of at most 60000 bytes. Else MRPC_ERR_INVALID.
 */
mrpc_status mrpc_runrec_set_attr_string(mrpc_runrec_writer *w, const char *name, const char *value, mrpc_error *err);

/*
 * Writes the buffered train entries, /summary (summary may be NULL for failed runs;
 * NaN fields are kept as NaN), end_time, status_reason (may be NULL for ""; invalid
 * UTF-8 is replaced by U+FFFD and the text is cut at a character boundary to 511
 * bytes), flushes and fsyncs, and last writes the final `status`, flushes again and
 * closes; frees `w`. `status` must be COMPLETED, FAILED or DIVERGED: anything else
 * gives MRPC_ERR_INVALID and closes the record as "running". When a write fails (now or
 * earlier) the requested status is not written: the record on disk is marked "failed"
 * with the reason (`reason` for a failed run, else the write error) when that can be
 * written in place, and otherwise keeps "running"; the returned error says which. The
 * writer is freed even on failure; NULL gives MRPC_ERR_INVALID.
 */
mrpc_status mrpc_runrec_finish(mrpc_runrec_writer *w, mrpc_run_status status, const char *reason,
                               const mrpc_runrec_summary *summary, mrpc_error *err);

/*
 * Ends this process's part of a run that pauses at a rung boundary (pause_after_epoch):
 * writes the buffered train entries, /@paused_epoch (int64, >= 1: the epochs done and
 * evaluated), end_time and status_reason (e.g. "paused after epoch 1 of 3"), flushes, and
 * last writes status "paused", flushes again and closes; frees `w`. No /summary: the run
 * is not finished. The caller writes its resume checkpoint first (and /checkpoints with
 * kept = 1); the same run started again resumes from it (mrpc_runrec_resume removes
 * /@paused_epoch). Write failures are handled as in mrpc_runrec_finish (the record then
 * says "failed" or "running"). paused_epoch < 1 gives MRPC_ERR_INVALID and closes the
 * record as "running"; NULL gives MRPC_ERR_INVALID.
 */
mrpc_status mrpc_runrec_pause(mrpc_runrec_writer *w, int64_t paused_epoch, const char *reason, mrpc_error *err);

/*
 * Closes without setting a final status (the file keeps "running"), after writing the
 * buffered train entries (best effort: errors are ignored). Frees `w`. NULL is fine.
 */
void mrpc_runrec_abandon(mrpc_runrec_writer *w);

/* ---- reader (optimizer, analysis, tests) ---------------------------------------- */

/* What mrpc_runrec_read loads besides the attributes. */
enum {
    MRPC_RUNREC_READ_SERIES      = 1 << 0, /* /train and /eval series */
    MRPC_RUNREC_READ_PREDICTIONS = 1 << 1, /* /eval/predictions and /eval/labels */
    /* The attributes of the root, /hparams and /summary alone, without the config text:
     * no dataset is opened, so the layout of the series is not checked (about a third of
     * the cost of a plain read; the optimizer's history). Not with the other flags. */
    MRPC_RUNREC_READ_ATTRS_ONLY  = 1 << 2,
    /* The attributes as with MRPC_RUNREC_READ_ATTRS_ONLY (no config text) and the /eval
     * series (checked), without opening /train: the learning curve of a run (the
     * optimizer's history, rungs of successive halving). Not with the other flags. */
    MRPC_RUNREC_READ_EVAL        = 1 << 3
};

/*
 * A record read into memory. Arrays are NULL with count 0 when absent or not asked for.
 * Strings that the file does not have (end_time while running, status_reason) are "".
 * hparams are in name order.
 */
typedef struct mrpc_runrec {
    char            path[1024];
    char            format[32];
    int             format_version;
    char            run_id[160];
    char            stage[32];
    mrpc_run_status status;
    int64_t         paused_epoch; /* /@paused_epoch of a "paused" record (>= 1); 0 for every other status */
    char            status_reason[512];
    char            start_time[32];
    char            end_time[32];
    char            host[128];
    char            hosts[512];   /* /@hosts: the distinct hosts of the ranks of the latest start; "" in older records */
    char            failure[32];  /* /@failure of a failed run the cluster failed (retryable): "lost_rank" or
                                     "requeues"; "" otherwise */
    int64_t         resumes;      /* /checkpoints@resumes: times the run continued from a checkpoint (0 when absent) */
    int64_t         steps_redone; /* /checkpoints@steps_redone (0 when absent) */
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
 * Reads the record at `path`: all attributes, and what `flags` asks for. The layout is
 * checked unless MRPC_RUNREC_READ_ATTRS_ONLY: every series must be there, 1-D, of the right type class,
 * and the series of a group must have equal lengths. A record that says "running" (its
 * writer may have died between two series) is read up to its shortest series instead.
 *
 * Values are checked against their ranges (docs/run-record.md, "Reading"): accuracy and
 * F1 in [0, 1], losses, times and rates >= 0 and finite, predictions 0/1; NaN is "not
 * available" except in a completed record's series; +inf only for a diverged run's loss.
 *
 * Fails with MRPC_ERR_IO when the file cannot be opened (missing, not a regular file,
 * no permission), MRPC_ERR_PARSE (naming the file, and the object where known) for a
 * file that is not HDF5, not a run record, damaged, cut short, holds a value out of
 * range, or has an impossible format_version, and MRPC_ERR_UNSUPPORTED for another format_version (newer: upgrade
 * mrpc-tune). Damage to the checksummed metadata is detected by HDF5; damage to the
 * unchecksummed parts (chunk indexes, raw data) is caught where our checks see it —
 * see docs/run-record.md for what libhdf5 1.10.8 itself does with crafted files.
 * On failure `out` is left cleared. `out` must not be NULL (else MRPC_ERR_INVALID).
 */
mrpc_status mrpc_runrec_read(const char *path, unsigned flags, mrpc_runrec *out, mrpc_error *err);

/* Frees the arrays of `rec` and clears it. NULL is fine. */
void mrpc_runrec_clear(mrpc_runrec *rec);

/* 1 when rec->status is completed and the summary is present; else 0 (also for "paused"). */
int mrpc_runrec_is_completed(const mrpc_runrec *rec);

/* Finds a hyperparameter by name; NULL when absent. */
const mrpc_hparam *mrpc_runrec_find_hparam(const mrpc_runrec *rec, const char *name);

/*
 * Looks up a metric by name for the optimizer's objective: "accuracy", "f1",
 * "best_accuracy", "train_seconds", "tokens_per_second" (from /summary), "eval_loss"
 * (the last evaluation's; needs MRPC_RUNREC_READ_SERIES). Returns 1 and sets *out
 * (when not NULL) when the record has it and it is not NaN, else 0.
 */
int mrpc_runrec_metric(const mrpc_runrec *rec, const char *name, double *out);

/*
 * The range of a metric of mrpc_runrec_metric: [0, 1] for accuracy, f1 and
 * best_accuracy, [0, inf) (finite) for train_seconds, tokens_per_second and eval_loss.
 * Returns 1 and sets *lo and *hi (when not NULL) for those names, else 0. The reader
 * refuses records whose values lie outside (docs/run-record.md, "Reading").
 */
int mrpc_runrec_metric_range(const char *name, double *lo, double *hi);

/* 1 when `value` is NaN ("not available"), `name` has no range, or value is finite and in range. */
int mrpc_runrec_metric_in_range(const char *name, double value);

#endif /* MRPC_RUNREC_RUNREC_H */

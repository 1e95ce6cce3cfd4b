/*
 * history.h — everything a study has run or planned so far, as observations: one per
 * task of every emitted wave (matched to its run record by run id) plus one per run
 * record that belongs to the study without being part of a wave (a run made by hand
 * with the study's fixed settings: warm start).
 *
 * States: a task whose record is absent or says "running" is PENDING, unless its wave
 * was finalized (`mrpc-optimize next --finalize`, after the whole array ended). Then
 * the run ended without a final record: an infrastructure failure (cancelled, node
 * failure, killed, time limit), not a result of its training. In the study's latest
 * wave it is INTERRUPTED, and the next wave of the stage retries it (the same run id
 * and record, resumed from <record>.resume when there is one), until it has been
 * retried `retries` times (study.h); after that, or in an older wave, it is MISSING,
 * which counts as failed (a record the reader rejects is no final record). A task
 * that a later wave retried is RETRIED: superseded, the later task is the run's one
 * observation (so a record is never counted twice). A record that is "failed" or
 * "diverged", that lacks the objective, or that ran with settings other than the
 * study's is FAILED / DIVERGED (the reason is in `note`). Unreadable records are
 * skipped and listed in `problems`; records of other studies (different fixed
 * settings) are counted only.
 *
 * A record that says "paused" (pause_after_epoch: stopped on purpose at a rung boundary,
 * resume checkpoint kept) is PAUSED: neither completed nor failed nor interrupted, never
 * retried and never imputed; its learning curve (epoch_accuracy, epoch_f1) says how it
 * did so far. A later wave's task of the same run with a larger pause_after_epoch (or 0)
 * is its promotion (interface 3 of issue 14): the earlier task is then RETRIED
 * (superseded) but the promotion does not count as a retry (attempts stays).
 *
 * Order is deterministic: waves by stage then number, tasks by id, then the runs
 * outside waves by run id.
 */
#ifndef MRPC_OPTIMIZE_HISTORY_H
#define MRPC_OPTIMIZE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "space.h"
#include "status.h"
#include "study.h"

typedef enum mrpc_obs_state {
    MRPC_OBS_COMPLETED = 0,
    MRPC_OBS_FAILED,
    MRPC_OBS_DIVERGED,
    MRPC_OBS_MISSING, /* no final record after the wave was finalized, retries spent */
    MRPC_OBS_PENDING, /* no record yet, or still "running" */
    MRPC_OBS_INTERRUPTED, /* no final record after the wave was finalized: to be retried */
    MRPC_OBS_RETRIED, /* superseded by the same run in a later wave: not an observation */
    MRPC_OBS_PAUSED,  /* record says "paused" (after /@paused_epoch): partial, to be promoted or left */
    MRPC_OBS_STATE_COUNT
} mrpc_obs_state;

/* "completed", "failed", "diverged", "missing", "pending", "interrupted", "retried", "paused". */
const char *mrpc_obs_state_str(mrpc_obs_state state);

/* Epochs of a learning curve an observation keeps (later epochs are not kept). */
#define MRPC_OBS_MAX_EPOCHS 64

typedef struct mrpc_obs {
    char           run_id[129];
    int            stage;      /* mrpc_stage_kind of its wave, -1 for a run outside the waves */
    int            wave;       /* wave number, -1 outside */
    int64_t        task;       /* task id, -1 outside */
    double         values[MRPC_SPACE_MAX_PARAMS]; /* natural values, one per space parameter */
    int64_t        seed;
    mrpc_obs_state state;
    double         objective;  /* the metric as recorded; NaN unless completed */
    char           note[200];  /* why it failed, "" otherwise */
    int            attempts;   /* waves that listed this run so far (1 + retries); 0 outside the waves */
    int64_t        pause_after_epoch; /* the task's planned pause (tasks.tsv column; 0 = to the end, and outside waves) */
    /* The learning curve from the record's /eval series (any status; empty without a readable
     * record): epochs_done = the highest /eval/epoch evaluated, epoch_accuracy[e - 1] and
     * epoch_f1[e - 1] the validation accuracy and F1 after epoch e (NaN when epoch e was not
     * evaluated or e > MRPC_OBS_MAX_EPOCHS). paused_epoch: the record's /@paused_epoch when
     * PAUSED, else 0. */
    int64_t        epochs_done;
    int64_t        paused_epoch;
    double         epoch_accuracy[MRPC_OBS_MAX_EPOCHS];
    double         epoch_f1[MRPC_OBS_MAX_EPOCHS];
} mrpc_obs;

/* Clears an observation: zero, with the objective and the learning curve NaN. */
void mrpc_obs_init(mrpc_obs *o);

/* One emitted wave. */
typedef struct mrpc_wave_entry {
    int    stage;              /* mrpc_stage_kind */
    int    wave;
    size_t n_tasks;
    int    finalized;
    size_t first_obs;          /* its tasks are obs[first_obs .. first_obs + n_tasks) */
    char   dir[MRPC_STUDY_PATH_MAX + 64];
} mrpc_wave_entry;

typedef struct mrpc_history {
    size_t           n_obs, cap_obs;
    mrpc_obs        *obs;
    size_t           n_waves;
    mrpc_wave_entry *waves;
    size_t           n_records;     /* readable records in runs_dir */
    size_t           n_unreadable;  /* skipped: not a run record, damaged, unknown version */
    size_t           n_foreign;     /* records of other studies (fixed settings differ) */
    size_t           n_outside;     /* records of this study whose values lie outside the space */
    size_t           n_problems;
    char           **problems;      /* one line each: what was skipped or ignored and why */
} mrpc_history;

/*
 * Reads the study's waves and run records. Fails (MRPC_ERR_PARSE / INVALID with the
 * file) only on a damaged wave directory or one written for other fixed settings;
 * damaged records are skipped and reported in h->problems.
 *
 * Records with a final status (and paused ones) are also kept in
 * <study_dir>/.mrpc-optimize-cache (one line per file: name, size, mtime, inode, status,
 * metrics, paused epoch, learning curve and hyperparameters in exact hex form), so a call reads from HDF5 only the records that are new or whose
 * file changed. mrpc_history_load only reads the cache; mrpc_history_load_update
 * also rewrites it when it changed (what `next` does; dry runs and status write
 * nothing). A damaged cache is ignored as a whole.
 */
mrpc_status mrpc_history_load(const mrpc_study *study, mrpc_history *h, mrpc_error *err);
mrpc_status mrpc_history_load_update(const mrpc_study *study, mrpc_history *h, mrpc_error *err);

/* Frees everything and clears h. NULL is fine. */
void mrpc_history_free(mrpc_history *h);

/* Adds an observation (copied); for tests and for building histories in memory. */
mrpc_status mrpc_history_add(mrpc_history *h, const mrpc_obs *obs, mrpc_error *err);

/* Adds a problem line (printf-style); out of memory drops it silently. */
void mrpc_history_problem(mrpc_history *h, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The objective in minimization form: -objective when the study maximizes. */
double mrpc_history_loss(const mrpc_study *study, double objective);

/*
 * The worst objective among completed observations (lowest when maximizing), used to
 * impute failed runs. Returns 0 and leaves *out alone when none completed.
 */
int mrpc_history_worst(const mrpc_study *study, const mrpc_history *h, double *out);

/* The best completed observation, or NULL. */
const mrpc_obs *mrpc_history_best(const mrpc_study *study, const mrpc_history *h);

/*
 * Number of runs of the waves of `stage` (a retried run counts once), and of those the
 * ones still pending.
 */
size_t mrpc_history_stage_tasks(const mrpc_history *h, int stage, size_t *pending);

/* The last wave of `stage` (highest number), or NULL. */
const mrpc_wave_entry *mrpc_history_last_wave(const mrpc_history *h, int stage);

/*
 * The state of a task of a finalized wave that has no final record: INTERRUPTED while
 * `latest` (its wave is the study's newest) and the run has retries left (o->attempts),
 * else MISSING. Writes the reason into o->note. Also for `next --finalize --dry-run`.
 */
void mrpc_history_unfinished(const mrpc_study *study, int latest, mrpc_obs *o);

#endif /* MRPC_OPTIMIZE_HISTORY_H */

/*
 * optimize.h — the commands of mrpc-optimize as library calls: decide and emit the
 * next wave of a study, and report where a study stands.
 *
 * mrpc_optimize_next, under the study's lock file (<study_dir>/.mrpc-optimize.lock):
 *   1. removes temporary wave directories a crashed run left (emit.h);
 *   2. reads the history (waves + run records; unreadable records are reported);
 *   3. with `finalize`, marks the latest wave finalized (<wave>/finalized): its tasks
 *      without a final record ended for good (history.h: retried in the next wave up to
 *      the study's `retries`, then counted failed);
 *   4. walks the stages in order: a stage with a pending task answers PENDING; the
 *      stage whose last wave has INTERRUPTED runs retries them in a new wave (same run
 *      ids, values and records); the
 *      sensitivity stage, once complete, writes <study_dir>/sensitivity.yaml and fixes
 *      the tuned parameters (BLOCKED when no baseline run completed); a stage with
 *      work left plans its next wave and writes it (WAVE); when every stage is spent
 *      the answer is DONE.
 * An existing wave is never rewritten, so a second call while the wave runs does
 * nothing new. With dry_run nothing is written at all (not even the lock file).
 */
#ifndef MRPC_OPTIMIZE_OPTIMIZE_H
#define MRPC_OPTIMIZE_OPTIMIZE_H

#include <stdio.h>

#include "emit.h"
#include "history.h"
#include "stages.h"
#include "status.h"
#include "study.h"

typedef struct mrpc_next_options {
    int         finalize;     /* the latest wave's array has ended: missing records are failures */
    int         dry_run;      /* plan only; write nothing */
    double      lock_timeout; /* seconds to wait for the study lock */
    const char *bindir;       /* directory of mrpc-train when the study has no slurm.bindir */
    FILE       *report;       /* skipped records, notes (stderr in the tool); NULL = quiet */
    const char *crash_after;  /* tests only: see mrpc_emit_write */
} mrpc_next_options;

typedef enum mrpc_next_outcome {
    MRPC_NEXT_WAVE = 0, /* a new wave was written (or, dry run, would be) */
    MRPC_NEXT_PENDING,  /* the current wave still has runs without a final record */
    MRPC_NEXT_DONE,     /* every stage has spent its budget */
    MRPC_NEXT_BLOCKED   /* the study cannot go on (no baseline run of the sensitivity stage completed) */
} mrpc_next_outcome;

typedef struct mrpc_next_result {
    mrpc_next_outcome outcome;
    mrpc_stage_kind   stage;            /* the stage concerned (WAVE, PENDING, BLOCKED) */
    int               wave;
    size_t            n_tasks;          /* WAVE: tasks of the new wave */
    size_t            pending;          /* PENDING: runs without a final record */
    size_t            retries;          /* WAVE: tasks of the new wave that retry an interrupted run */
    char              wave_dir[MRPC_STUDY_PATH_MAX + 64];
    char              sbatch[2 * MRPC_STUDY_PATH_MAX];  /* the submit command */
    char              note[512];        /* one line: what was decided and why */
    mrpc_emit_files   files;            /* WAVE: the rendered files */
} mrpc_next_result;

void mrpc_next_result_free(mrpc_next_result *res);

/* Decides and (unless dry_run) writes the next wave; see the overview. */
mrpc_status mrpc_optimize_next(const mrpc_study *study, const mrpc_next_options *opt, mrpc_next_result *res,
                               mrpc_error *err);

/*
 * Asks the batch system whether the array job named `job_name` is still queued or
 * running: 1 yes, 0 no, -1 cannot tell (no Slurm here). `ctx` is the caller's.
 */
typedef int (*mrpc_queue_probe)(const char *job_name, void *ctx);

/* The Slurm job name of a wave's array (as optimize/emit.c writes it in wave.sbatch). */
void mrpc_optimize_array_job_name(const mrpc_study *study, mrpc_stage_kind stage, int wave, char *out, size_t size);

/*
 * For a PENDING answer: how to go on, a few lines to `out`. With `probe` (may be NULL)
 * it says whether the wave's array is still in the queue; when it is not, or when no
 * Slurm can tell, it prints the exact command that finalizes the wave (`bindir`:
 * where mrpc-optimize is) and, for a local run stopped with Ctrl-C, the command that
 * continues it.
 */
void mrpc_optimize_pending_hint(const mrpc_study *study, const mrpc_next_result *res, const char *bindir,
                                mrpc_queue_probe probe, void *probe_ctx, FILE *out);

/*
 * Prints the study's state to `out`: stages and waves with runs completed / failed /
 * diverged / missing / pending / interrupted (to be retried), the runs that were
 * retried, the best run so far, skipped records, and what `next` would do now (a dry
 * run; when it would wait, how to go on: mrpc_optimize_pending_hint with `probe`).
 * Writes nothing.
 */
mrpc_status mrpc_optimize_status(const mrpc_study *study, const char *bindir, FILE *out, mrpc_error *err);
mrpc_status mrpc_optimize_status_probe(const mrpc_study *study, const char *bindir, mrpc_queue_probe probe,
                                       void *probe_ctx, FILE *out, mrpc_error *err);

#endif /* MRPC_OPTIMIZE_OPTIMIZE_H */

/*
 * cleanup.h — `mrpc-optimize cleanup`: removes the resume checkpoints of paused runs that
 * can no longer be promoted (successive halving, asha.h).
 *
 * A run that successive halving stopped at a lower rung keeps its partial record (status
 * "paused", its learning curve) and its resume checkpoint <record>.resume, which a
 * promotion would continue from. Once the run's stage is over (nothing of it pending, no
 * promotion due, no new configuration left, or a later stage started), no promotion
 * will come: the checkpoint is dead weight (a DistilBERT checkpoint with its optimizer
 * state is ~800 MB). The records stay. Under the study lock, like `next`.
 */
#ifndef MRPC_OPTIMIZE_CLEANUP_H
#define MRPC_OPTIMIZE_CLEANUP_H

#include <stdint.h>
#include <stdio.h>

#include "history.h"
#include "status.h"
#include "study.h"

/* 1 when `stage` has fidelity and is over (see the overview), on history h. */
int mrpc_cleanup_stage_over(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage);

typedef struct mrpc_cleanup_result {
    size_t   n_files;   /* checkpoints removed (or, dry run, that would be) */
    uint64_t bytes;     /* their size */
    size_t   n_kept;    /* checkpoints of paused runs whose stage is not over */
} mrpc_cleanup_result;

/*
 * Removes (unless dry_run) <study_dir>/<runs_dir>/<run_id>.h5.resume of every paused run of
 * a stage that is over; lists each file on `out` (may be NULL). lock_timeout: seconds to
 * wait for the study lock (not taken in a dry run).
 */
mrpc_status mrpc_cleanup(const mrpc_study *st, int dry_run, double lock_timeout, FILE *out, mrpc_cleanup_result *res,
                         mrpc_error *err);

#endif /* MRPC_OPTIMIZE_CLEANUP_H */

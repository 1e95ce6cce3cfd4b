/*
 * checkpoint_stats.h — what a run's resume checkpoints cost and saved, kept across the
 * processes that work on one run.
 *
 * A run may be stopped, killed and resumed several times; each resume starts from the
 * latest checkpoint, so counts kept in the checkpoint itself would forget everything
 * that happened after it (a failed write, a resume that was killed again). These counts
 * live in a small file beside the checkpoint, `<resume_checkpoint>.stats`, rewritten
 * atomically at every checkpoint, failed write and resume, and removed with the
 * checkpoint when the run ends (its record's /checkpoints group then holds them). The
 * file is one line of `key=value` pairs:
 *
 *     written=3 failed=0 seconds=4.21 resumes=1 steps_redone=7
 */
#ifndef MRPC_CHECKPOINT_STATS_H
#define MRPC_CHECKPOINT_STATS_H

#include <stdint.h>

#include "status.h"

typedef struct mrpc_checkpoint_stats {
    int64_t written;      /* checkpoints written (periodic and on stop signals) */
    int64_t failed;       /* periodic checkpoints that could not be written */
    double  seconds;      /* time spent writing checkpoints */
    int64_t resumes;      /* times the run continued from a checkpoint */
    int64_t steps_redone; /* steps a process logged after its last checkpoint and then lost by dying */
} mrpc_checkpoint_stats;

/*
 * Reads `path` into *out; a missing file gives zeros and MRPC_OK. A malformed one is
 * MRPC_ERR_PARSE naming the file and the key (the caller may start from zeros).
 */
mrpc_status mrpc_checkpoint_stats_load(const char *path, mrpc_checkpoint_stats *out, mrpc_error *err);

/* Writes *stats to `path` atomically. */
mrpc_status mrpc_checkpoint_stats_save(const char *path, const mrpc_checkpoint_stats *stats, mrpc_error *err);

#endif /* MRPC_CHECKPOINT_STATS_H */

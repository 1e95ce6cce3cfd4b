/*
 * resume.h — the resume checkpoint that lets a preempted run continue exactly where it
 * stopped.
 *
 * A safetensors file (readable with any safetensors tool) holding three F32 tensors,
 * "params", "adam_m" and "adam_v" (the model's flat slabs), and in __metadata__ the
 * position of the run: optimizer steps done, epoch and step within it, evaluations
 * done, the best accuracy so far, the time and tokens so far, plus the run id and a
 * hash of the resolved config, so a checkpoint of another run or another config is
 * refused instead of silently continued. The data order and the dropout masks are pure
 * functions of (seed, epoch, position), so nothing else is needed for a resumed run to
 * produce the same numbers as an uninterrupted one. Written atomically.
 */
#ifndef MRPC_RESUME_H
#define MRPC_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "status.h"

#define MRPC_RESUME_FORMAT "mrpc-tune resume"
#define MRPC_RESUME_VERSION 1

/* Where a run stands; everything but the slabs. */
typedef struct mrpc_resume_state {
    char     run_id[160];
    uint64_t config_hash;     /* of the resolved config (mrpc_run_config_to_yaml) */
    int64_t  steps_done;      /* optimizer updates applied */
    int64_t  evals_done;      /* evaluations appended to the record */
    double   best_accuracy;   /* NaN when no evaluation yet */
    double   train_seconds;   /* wall time of the training loop so far */
    double   compute_seconds; /* time in training steps (excludes evaluation) */
    int64_t  tokens_done;     /* training tokens so far, over all ranks */
} mrpc_resume_state;

/* Writes `path` from the model's slabs (host copies are made) and `state`. */
mrpc_status mrpc_resume_write(const char *path, mrpc_model *model, const mrpc_resume_state *state, mrpc_error *err);

/*
 * Reads the position of the run from `path` into *state, after checking format and
 * version and that run_id and config_hash equal `expect`'s (MRPC_ERR_INVALID, naming
 * the file, for a checkpoint of another run or config). Cheap: no tensor is read.
 */
mrpc_status mrpc_resume_read_state(const char *path, const mrpc_resume_state *expect, mrpc_resume_state *state,
                                   mrpc_error *err);

/* Reads the slabs of `path` into the model (sizes checked against it). */
mrpc_status mrpc_resume_load_slabs(const char *path, mrpc_model *model, mrpc_error *err);

#endif /* MRPC_RESUME_H */

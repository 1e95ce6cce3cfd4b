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
 * produce the same numbers as an uninterrupted one. Written atomically (temp file, fsync,
 * rename, directory fsync): a process killed at any instant leaves the previous
 * checkpoint or the new one, complete.
 *
 * Version 2 adds a U8 tensor "record": the bytes of the run record (HDF5) as they were
 * when the checkpoint was taken. A run that died after its checkpoint (kill -9, a node
 * lost, OOM) may have left its record with entries logged after the checkpoint, or
 * half-written; resuming puts this copy back, so the record and the checkpoint always
 * agree. Version 1 checkpoints (no record copy) are still read.
 */
#ifndef MRPC_RESUME_H
#define MRPC_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "status.h"

#define MRPC_RESUME_FORMAT "mrpc-tune resume"
#define MRPC_RESUME_VERSION 2

/* Where a run stands; everything but the slabs. */
typedef struct mrpc_resume_state {
    char     run_id[160];
    uint64_t config_hash;     /* of the resolved config (mrpc_run_config_hash) */
    uint64_t legacy_config_hash; /* expect side only: also accepted, the hash of the whole recorded config that
                                    checkpoints written before mrpc_run_config_hash carry (0 = none); not stored */
    int64_t  steps_done;      /* optimizer updates applied */
    int64_t  evals_done;      /* evaluations appended to the record */
    double   best_accuracy;   /* NaN when no evaluation yet */
    double   train_seconds;   /* wall time of the training loop so far */
    double   compute_seconds; /* time in training steps (excludes evaluation) */
    int64_t  tokens_done;     /* training tokens so far, over all ranks */
    int      has_record;      /* read side: the checkpoint holds a copy of the record */
} mrpc_resume_state;

/*
 * Writes `path` from the model's slabs (host copies are made), `state`, and the record's
 * bytes (`record`, `record_size`; NULL/0 writes none). On failure the previous file at
 * `path` is left as it was and no temp file stays behind.
 */
mrpc_status mrpc_resume_write(const char *path, mrpc_model *model, const mrpc_resume_state *state,
                              const void *record, size_t record_size, mrpc_error *err);

/*
 * Reads the copy of the run record held by the checkpoint at `path` into a new buffer
 * (*out, *out_size; the caller frees it). A checkpoint without one (version 1) is an
 * error; check state.has_record first.
 */
mrpc_status mrpc_resume_read_record(const char *path, unsigned char **out, size_t *out_size, mrpc_error *err);

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

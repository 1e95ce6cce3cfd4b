/*
 * trainer.h — one training run from start to finished run record: the loop that
 * mrpc-train runs on every rank.
 *
 * What it does, in order: tokenizes (or loads from the token cache) the training and
 * validation sets; builds the model from a checkpoint or at random and makes the
 * parameters identical on every rank; opens the run record on rank 0 (or reopens it
 * when a resume checkpoint says this run was interrupted); then for every optimizer
 * step takes this rank's share of the global batch, runs forward and backward,
 * all-reduces the gradients, clips them by global norm and applies AdamW with the
 * linear warmup/decay schedule; after every epoch evaluates on the validation set
 * (sharded over ranks) and appends the metrics; finally writes the predictions, the
 * summary and the status. A NaN or infinite loss or gradient ends the run as
 * "diverged"; a stop request (signal) writes a resume checkpoint and ends it as
 * interrupted; any other failure leaves status "failed" with the reason. With
 * pause_after_epoch K (0 < K < num_epochs) the run stops after epoch K's evaluation: it
 * writes its resume checkpoint, keeps it, and ends the record as "paused" with
 * /@paused_epoch K. The same run started again with pause_after_epoch 0 or > K resumes
 * from that checkpoint and its record ends as an uninterrupted run's would (bit for
 * bit); started again with 1..K it does nothing (already paused).
 */
#ifndef MRPC_TRAINER_H
#define MRPC_TRAINER_H

#include "dist.h"
#include "run_config.h"
#include "status.h"
#include "stop_signals.h"

/* How a run ended; main() maps it to the exit code (see mrpc-train --help). */
typedef enum mrpc_train_outcome {
    MRPC_TRAIN_COMPLETED = 0,
    MRPC_TRAIN_FAILED,      /* record says "failed" with a reason (when it could be written) */
    MRPC_TRAIN_DIVERGED,    /* record says "diverged" */
    MRPC_TRAIN_INTERRUPTED, /* resume checkpoint written; record still "running" */
    MRPC_TRAIN_GAVE_UP,     /* requeued too many times; record says "failed" */
    MRPC_TRAIN_PAUSED       /* stopped after epoch pause_after_epoch (or was already paused there): record says
                               "paused", resume checkpoint kept; exit 0 */
} mrpc_train_outcome;

typedef struct mrpc_train_options {
    int                          quiet;         /* no progress lines */
    int                          max_restarts;  /* give up when restart_count exceeds it; < 0 = never */
    int                          restart_count; /* how often this run was requeued (SLURM_RESTART_COUNT) */
    double                       kill_wait_seconds; /* stop signal to SIGKILL (Slurm's KillWait); <= 0 = 30 */
    int                          interrupted_exit_code; /* a rank stuck in MPI after a stop signal records the lost
                                                           rank and ends the process with it (main: 75) */
    const mrpc_stop_signals     *stop;          /* stop requests, read between steps; may be NULL */
} mrpc_train_options;

typedef struct mrpc_train_result {
    mrpc_train_outcome outcome;
    double             accuracy, f1;   /* final evaluation (NaN when none) */
    double             train_seconds;
    double             tokens_per_second;
    long long          steps_done;
} mrpc_train_result;

/*
 * Runs the whole training of `cfg` (finalized, identical on every rank) on this rank.
 * Collective: every rank of `dist` calls it. Returns MRPC_OK whenever the run reached a
 * defined end (see result->outcome); an error status means the run could not even be
 * recorded (e.g. the record's directory is not writable), with `err` saying why.
 */
mrpc_status mrpc_train_run(const mrpc_run_config *cfg, mrpc_dist *dist, const mrpc_train_options *opts,
                           mrpc_train_result *result, mrpc_error *err);

#endif /* MRPC_TRAINER_H */

/*
 * local_executor.h — runs the tasks of one wave as local processes, the way a Slurm
 * array would run them on a cluster: `mrpc-train --wave DIR --task-id N` per task, as
 * many at once as asked, each with its log in DIR/logs/local-<N>.log.
 *
 * Tasks whose run record already has a final status are skipped, so running a wave
 * again (after the pipeline was stopped) only does what is left; a task interrupted
 * earlier resumes from its checkpoint. A record that says "paused" is final for a task
 * that pauses at that epoch or earlier (pause_after_epoch column); a task that pauses
 * later or not at all (a promotion) runs and continues it from its checkpoint. A task
 * that exits 0 leaving a paused record counts as paused, not completed. A stop request (SIGINT/SIGTERM to the driver) is
 * passed on to the running trainers, which checkpoint and exit.
 */
#ifndef MRPC_DRIVER_LOCAL_EXECUTOR_H
#define MRPC_DRIVER_LOCAL_EXECUTOR_H

#include <signal.h>

#include "status.h"

typedef struct mrpc_local_options {
    int                          jobs;           /* tasks at once, >= 1 */
    int                          threads;        /* --set threads=N for each run; 0 = the config's */
    const char                  *bindir;         /* where mrpc-train is */
    int                          quiet;          /* no line per finished task */
    const volatile sig_atomic_t *stop_requested; /* may be NULL */
} mrpc_local_options;

/* What happened to the tasks of the wave (interrupted: exit 75, or killed by a signal; paused: exit 0
 * with a "paused" record, done for this wave). */
typedef struct mrpc_local_result {
    int n_tasks, skipped, completed, failed, diverged, interrupted, paused;
} mrpc_local_result;

/* Runs the wave in `wave_dir`. Returns an error only when the wave cannot be read or a
 * process cannot be started; failed runs are counted, not errors. */
mrpc_status mrpc_local_run_wave(const char *wave_dir, const mrpc_local_options *opts, mrpc_local_result *result,
                                mrpc_error *err);

#endif /* MRPC_DRIVER_LOCAL_EXECUTOR_H */

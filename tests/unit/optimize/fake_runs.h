/*
 * fake_runs.h — a stand-in for mrpc-train in the optimizer's tests and benchmarks:
 * writes the run record a task of a wave would produce, with an objective computed
 * by a test function instead of training.
 */
#ifndef MRPC_TESTS_FAKE_RUNS_H
#define MRPC_TESTS_FAKE_RUNS_H

#include <stddef.h>

#include "run_config.h"
#include "runrec.h"
#include "status.h"
#include "wave.h"

/*
 * The accuracy of a run with config `cfg`: a finite value completes the run, NaN makes
 * it "failed", +INFINITY "diverged", -INFINITY leaves it "running" (a run that died).
 */
typedef double (*fake_objective)(const mrpc_run_config *cfg, const char *run_id, void *ctx);

/*
 * A fake_objective: a plausible accuracy that tells runs apart, from a hash of the run id
 * (0.700 to 0.799 in steps of 0.001), whatever the config; `ctx` is unused.
 */
double fake_run_accuracy_of_id(const mrpc_run_config *cfg, const char *run_id, void *ctx);

/* Writes the record of one task: the wave's base config with the task's row applied. */
mrpc_status fake_run_task(const mrpc_wave *w, const mrpc_wave_task *t, fake_objective f, void *ctx, mrpc_error *err);

/* Runs every task of the wave at wave_dir (or only the first `limit` when limit > 0). */
mrpc_status fake_run_wave(const char *wave_dir, fake_objective f, void *ctx, size_t limit, mrpc_error *err);

/*
 * Writes a record at `path` directly: hyperparameters from `cfg`, run id, stage
 * "manual", the given final status and accuracy (summary omitted when NaN).
 */
mrpc_status fake_run_write(const char *path, const mrpc_run_config *cfg, const char *run_id, mrpc_run_status status,
                           double accuracy, mrpc_error *err);

#endif /* MRPC_TESTS_FAKE_RUNS_H */

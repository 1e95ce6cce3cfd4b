/*
 * task_config.h — how mrpc-train turns its command line into a finished run config:
 * a wave row (the Slurm array case) or a config file, then the checkpoint-dependent
 * defaults. Rank 0 calls these; the result is broadcast.
 */
#ifndef MRPC_TASK_CONFIG_H
#define MRPC_TASK_CONFIG_H

#include <stdint.h>

#include "run_config.h"
#include "status.h"

/*
 * Fills `cfg` (defaults already set) for row `task_id` of the wave in `wave_dir`: the
 * wave's base config, then the row's hyperparameters (and pause_after_epoch: the row's
 * column, 0 when the wave has none, whatever the base config says), run id, stage and output. The
 * token cache defaults to <study_dir>/cache so every run of a study shares it. Refuses
 * (MRPC_ERR_INVALID, field fixed_hash) when the base config's fixed settings are no
 * longer those the wave was planned for (mrpc_wave_check_fixed).
 */
mrpc_status mrpc_task_config_from_wave(const char *wave_dir, int64_t task_id, mrpc_run_config *cfg, mrpc_error *err);

/*
 * Resolves what depends on the checkpoint and validates: the dropouts default to the
 * checkpoint's config.json (or to DistilBertConfig's 0.1/0.1/0.2 for a random model); a
 * checkpoint directory's own vocab.txt is used unless data.vocab was set explicitly.
 * Then mrpc_run_config_finalize.
 */
mrpc_status mrpc_task_config_finalize(mrpc_run_config *cfg, mrpc_error *err);

#endif /* MRPC_TASK_CONFIG_H */

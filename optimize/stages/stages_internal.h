/* stages_internal.h — helpers shared by the stage planners; not part of the public API. */
#ifndef MRPC_OPTIMIZE_STAGES_INTERNAL_H
#define MRPC_OPTIMIZE_STAGES_INTERNAL_H

#include <stddef.h>

#include "history.h"
#include "study.h"

/*
 * The canonical values of every observation's configuration, [n_obs, n_params]
 * (malloc'd; NULL when out of memory or n_obs == 0), so duplicate checks are exact
 * comparisons.
 */
double *stage_canonical_configs(const mrpc_study *study, const mrpc_history *h);

/* 1 when the canonical configuration cfg equals one of the n rows of configs. */
int stage_config_taken(const double *configs, size_t n, size_t n_params, const double *cfg);

#endif /* MRPC_OPTIMIZE_STAGES_INTERNAL_H */

/*
 * fidelity.h — the `fidelity` block of a stage (successive halving, mrpc_fidelity in
 * study.h): parsing it from the study file and the rung arithmetic.
 *
 * Rungs: the epochs min_iter * eta^k (k = 0, 1, ...) that lie below max_iter, then the
 * full run, num_epochs, as the top rung. A run planned for rung i < top pauses after
 * epoch rungs[i] (tasks.tsv column pause_after_epoch = rungs[i]); one planned for the top
 * rung goes to the end (pause_after_epoch = 0). Examples (min_iter 1, eta 3):
 * num_epochs 3 -> 1, 3; num_epochs 10 -> 1, 3, 9, 10; max_iter 3 with num_epochs 9 -> 1, 9.
 */
#ifndef MRPC_OPTIMIZE_FIDELITY_H
#define MRPC_OPTIMIZE_FIDELITY_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "study.h"
#include "yaml_doc.h"

#define MRPC_FIDELITY_MAX_RUNGS 64

/*
 * Reads the `fidelity` key of every stage mapping in stage_nodes[MRPC_STAGE_COUNT] (NULL or
 * a non-mapping: none) into the stage's settings, with the defaults of study.h; checks it
 * against the study (num_epochs fixed, objective with a per-epoch value). Errors name
 * file:line:column and the key. Called by the study parser once the stages are read.
 */
mrpc_status mrpc_fidelity_parse_stages(const mrpc_yaml_doc *doc, const yaml_node_t *const *stage_nodes,
                                       mrpc_study *st, mrpc_error *err);

/* The fidelity settings of `stage` (never NULL; enabled = 0 when the stage has none). */
const mrpc_fidelity *mrpc_study_fidelity(const mrpc_study *st, mrpc_stage_kind stage);

/*
 * Writes the rungs in epochs, ascending, into rungs[0 .. cap) and returns their count
 * (>= 2 for a valid enabled block; 1, {num_epochs}, when disabled).
 */
size_t mrpc_fidelity_rungs(const mrpc_fidelity *f, int64_t *rungs, size_t cap);

/* The pause_after_epoch of a task planned to reach `epoch`: epoch, or 0 when epoch is the full run. */
int64_t mrpc_fidelity_pause_for(const mrpc_fidelity *f, int64_t epoch);

/*
 * Checks the numbers of a block alone (what the parser checks, without file positions):
 * 1 when valid, else 0 with a message in why (for W&B sweep files that map
 * early_terminate onto it, and for tests).
 */
int mrpc_fidelity_check(const mrpc_fidelity *f, char *why, size_t why_size);

#endif /* MRPC_OPTIMIZE_FIDELITY_H */

/*
 * wandb_sweep.h — a W&B sweep file as a study. A study file whose top level has
 * `method:` is read as a W&B sweep configuration and mapped onto a study:
 *
 *   method: grid     -> the grid stage over every searched parameter: `values` as given;
 *                       a parameter with a range (min/max) gets `levels` (3) values
 *                       spread over it (W&B refuses ranges in a grid; a note says so).
 *                       With run_cap below the number of grid points: refused (W&B
 *                       would run an arbitrary subset); above it: the grid just ends.
 *   method: random   -> the bayes stage with init_points = budget = run_cap: every run
 *                       comes from its initial design, a randomly shifted Halton
 *                       sequence (quasi-random: even coverage instead of independent
 *                       draws; there is no separate random-search stage). No model.
 *   method: bayes    -> the bayes stage (GP, expected improvement), budget = run_cap.
 *   run_cap          -> the budget in runs; required for random and bayes (W&B would
 *                       go on forever; a batch study needs an end).
 *   metric: {name, goal}
 *                    -> objective: name accuracy | eval/accuracy | eval_accuracy ->
 *                       accuracy; f1 | eval/f1 | eval_f1 -> f1; loss | eval/loss |
 *                       eval_loss -> eval_loss; best_accuracy; train_seconds |
 *                       train/train_runtime | train_runtime; tokens_per_second.
 *                       goal maximize | minimize; absent: W&B's default, minimize
 *                       (a note; for accuracy-like metrics it warns). `target` has no
 *                       meaning here (the study spends its budget): a note. Without
 *                       `metric`: accuracy, maximize (a note).
 *   early_terminate: {type: hyperband, min_iter, eta, max_iter, s, strict}
 *                    -> the stage's fidelity block (study.h mrpc_fidelity): min_iter and
 *                       max_iter in epochs (W&B counts logged steps of the metric; here
 *                       the metric is logged once per epoch), eta [3]; max_iter with s
 *                       and no min_iter gives min_iter = max_iter / eta^s (an integer
 *                       or refused). `strict`: a note (promotions keep the best 1/eta
 *                       either way). Other types are refused.
 *   parameters       -> as in a study (study.h); W&B's nested `parameters` and
 *                       distributions other than ours are refused with their place.
 *   name             -> the study name when it is a safe name, else a note.
 *   program, command, entity, project, description, controller
 *                    -> no meaning here (every run is mrpc-train with the base config
 *                       and the run's values; results stay in the study directory):
 *                       one note each.
 * Keys of a study that a sweep file may also have: base_config, study_dir, runs_dir,
 * seed, retries, slurm. The base config (model, data, epochs): `base_config:` when
 * given, else base.yaml next to the sweep file (what `mrpc-pipeline init DIR` writes,
 * a note names it), else an error. `objective` and `stages` are refused with a pointer
 * to metric / method. Every error names file:line:column.
 *
 * Notes go to st->notes, one line each; mrpc-optimize prints them on stderr (status, and
 * the `next` that writes the study's first wave).
 */
#ifndef MRPC_OPTIMIZE_WANDB_SWEEP_H
#define MRPC_OPTIMIZE_WANDB_SWEEP_H

#include <stdint.h>

#include "status.h"
#include "study.h"
#include "yaml_doc.h"

typedef enum mrpc_wandb_method { MRPC_WANDB_GRID = 0, MRPC_WANDB_RANDOM, MRPC_WANDB_BAYES } mrpc_wandb_method;

/* What the sweep says beyond the parameters, read before the space is parsed. */
typedef struct mrpc_wandb_sweep {
    mrpc_wandb_method  method;
    const yaml_node_t *method_node;
    int64_t            run_cap;         /* 0 = none */
    const yaml_node_t *run_cap_node;
    int                hyperband;       /* early_terminate given */
    int64_t            min_iter, eta, max_iter; /* max_iter 0 = num_epochs */
    const yaml_node_t *et_node;
    char               base_config[64]; /* "base.yaml" when the sweep has no base_config key, else "" */
} mrpc_wandb_sweep;

/* 1 when the document's top level has `method` (a W&B sweep, never a study). */
int mrpc_wandb_is_sweep(const mrpc_yaml_doc *doc, const yaml_node_t *root);

/*
 * Checks the top-level keys and reads method, metric (into st->metric, st->maximize),
 * run_cap, early_terminate, name (st->name when safe) and the base config's place; notes
 * into st->notes. `study_file` is absolute. Sets st->wandb.
 */
mrpc_status mrpc_wandb_sweep_read(const mrpc_yaml_doc *doc, const yaml_node_t *root, const char *study_file,
                                  mrpc_wandb_sweep *sw, mrpc_study *st, mrpc_error *err);

/*
 * Once the space is parsed and the stage settings hold their defaults: sets the stage of
 * the method (has_stage, budget, init_points, the grid's size check) and its fidelity.
 */
mrpc_status mrpc_wandb_sweep_stages(const mrpc_yaml_doc *doc, const yaml_node_t *root, const mrpc_wandb_sweep *sw,
                                    mrpc_study *st, mrpc_error *err);

#endif /* MRPC_OPTIMIZE_WANDB_SWEEP_H */

/*
 * asha.h — asynchronous successive halving (ASHA; Li et al., "A System for Massively
 * Parallel Hyperparameter Tuning", MLSys 2020) at wave granularity, for a stage with a
 * `fidelity` block (fidelity.h).
 *
 * New configurations start paused at the first rung. At every `mrpc-optimize next`, before
 * anything new, each rung i below the top promotes: its members are the stage's runs
 * planned to reach rungs[i] (a run that went further counts at rung i by its value after
 * epoch rungs[i]; a run that failed before reaching it counts as the worst); of the n_i
 * members the best floor(n_i / eta) by the objective after epoch rungs[i] (ties: the
 * smaller run id first) that are paused there and not promoted yet continue to rungs[i+1]:
 * a row of the next wave with the same run id, values, seed and record, and
 * pause_after_epoch = rungs[i+1] (0 for the top rung, the full run). "Promoted" is read
 * from the history alone: a run whose newest task aims past rungs[i] was promoted, so a
 * run is never promoted twice. A rung promotes as soon as it has eta results, without
 * waiting for the rung to fill (asynchronous).
 *
 * Budget: a stage's budget (bayes) counts new configurations, as without fidelity, so
 * switching fidelity on never spends more epochs than the plain waves; the stage ends when
 * the budget is spent and no rung can promote. The top rung's completed runs are its
 * results. Paused runs never promoted keep their partial records (mrpc-optimize cleanup
 * removes their checkpoints once the stage is over).
 *
 * Stage 3 with fidelity models one rung (BOHB, Falkner, Klein and Hutter, "BOHB: Robust
 * and Efficient Hyperparameter Optimization at Scale", ICML 2018): the highest rung with at
 * least d + 2 observations (d = the parameters searched); mrpc_asha_rung_view.
 */
#ifndef MRPC_OPTIMIZE_ASHA_H
#define MRPC_OPTIMIZE_ASHA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "history.h"
#include "stages.h"
#include "status.h"
#include "study.h"

/* The state of a run as ASHA sees it (the newest task of the run). */
typedef enum mrpc_asha_state {
    MRPC_ASHA_PAUSED = 0, /* reached its target rung and paused there */
    MRPC_ASHA_COMPLETED,  /* ran to the end (the top rung) */
    MRPC_ASHA_FAILED,     /* failed, diverged or missing: the worst at the rungs it did not reach */
    MRPC_ASHA_RUNNING     /* no final state yet (no promotion is planned while a run is pending) */
} mrpc_asha_state;

/* One run of the stage. `loss` is in minimization form (mrpc_history_loss): lower is better. */
typedef struct mrpc_asha_run {
    const char     *run_id;
    mrpc_asha_state state;
    int64_t         target;      /* epochs its newest task was planned to reach (num_epochs for a full run) */
    size_t          n_epochs;    /* loss[0 .. n_epochs): the loss after epoch 1, 2, ... (NaN: not evaluated) */
    const double   *loss;
    double          final_loss;  /* COMPLETED: the objective of the record (the top rung's value) */
    int             has_score;   /* 1: rank it by `score` instead of its value at the rung */
    double          score;       /* the model's predicted final loss (mf_model.h; mrpc_asha_score_runs) */
} mrpc_asha_run;

/* One promotion: runs[run] continues to rungs[to_rung]. */
typedef struct mrpc_asha_promotion {
    size_t run;
    size_t from_rung, to_rung;
} mrpc_asha_promotion;

/*
 * The loss of `r` at the rung of `epoch` (the top rung is num_epochs): the final loss of
 * a completed run at the top, else its loss after that epoch; +INFINITY when the run
 * failed before it, NaN when it has no value there (not reached).
 */
double mrpc_asha_value(const mrpc_asha_run *r, int64_t epoch, int64_t num_epochs);

/*
 * The promotions due now, rung by rung from the lowest, members ordered as above (by
 * `score` instead of the rung's value for runs that have one). Writes
 * at most `cap` into out (n_runs is enough) and their number into *n_out. `rungs` as
 * mrpc_fidelity_rungs. Runs still RUNNING count with their value at lower rungs but are
 * never chosen. Fails only when out of memory.
 */
mrpc_status mrpc_asha_promotions(const mrpc_asha_run *runs, size_t n_runs, const int64_t *rungs, size_t n_rungs,
                                 int64_t eta, mrpc_asha_promotion *out, size_t cap, size_t *n_out, mrpc_error *err);

/*
 * The runs of `stage` in the history as ASHA sees them: one per run (its newest task; a
 * RETRIED task is skipped), `idx[i]` the observation behind runs[i]. Arrays of h->n_obs;
 * returns the count. The loss arrays point into `loss_buf` [h->n_obs * MRPC_OBS_MAX_EPOCHS].
 */
size_t mrpc_asha_runs(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage, mrpc_asha_run *runs,
                      size_t *idx, double *loss_buf);

/* The loss of observation o after each epoch (the study's metric; NaN where not evaluated); returns the count. */
size_t mrpc_asha_obs_curve(const mrpc_study *st, const mrpc_obs *o, double *loss);

/*
 * Fits the stage's multi-fidelity model (mf_model.h) and gives every run it can predict a
 * score: its posterior mean of the final loss. Nothing changes when the model has too
 * few observations. What mrpc_asha_plan, status and cleanup rank promotions by.
 */
mrpc_status mrpc_asha_score_runs(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage,
                                 const mrpc_sensitivity_summary *sens, mrpc_asha_run *runs, const size_t *idx,
                                 size_t n_runs, mrpc_error *err);

/* Epochs the stage's runs have trained so far (each run's highest evaluated epoch). */
int64_t mrpc_asha_epochs_spent(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage);

/*
 * BOHB's view of the history for stage 3's model: the highest rung with at least
 * `min_obs` (d + 2) observations (every run of the study with a value there, any stage),
 * default the lowest. A copy of `h` where a run with a value at that rung is COMPLETED
 * with that value as its objective (the objective after that epoch), failed runs stay
 * failed, and every other run (paused below, or pending) is PENDING: never suggested
 * again, not modelled. *rung_epoch gets the rung's epoch. Free with mrpc_history_free.
 */
mrpc_status mrpc_asha_rung_view(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage, size_t min_obs,
                                mrpc_history *view, int64_t *rung_epoch, size_t *n_at_rung, mrpc_error *err);

/*
 * Plans the next wave of a stage with fidelity: the promotions due (asha above), then,
 * while the stage has work left, its new configurations (grid: the points not run yet;
 * bayes: min(wave_size, budget - configurations so far) GP suggestions on the rung view),
 * each pausing at the first rung. plan->n_tasks == 0: the stage is over. `info` may be NULL.
 */
mrpc_status mrpc_asha_plan(const mrpc_study *st, const mrpc_history *h, const mrpc_sensitivity_summary *sens,
                           mrpc_stage_kind stage, int wave, mrpc_plan *plan, mrpc_bo_info *info, mrpc_error *err);

/*
 * As mrpc_asha_plan with the model chosen, bits: 1 ranks promotions by the multi-fidelity
 * model's predicted final value (mf_model.h; a rung then promotes at most floor(n / eta) in
 * all), 2 suggests new configurations from it (the paused runs at their predicted final
 * value) instead of BOHB's single-rung view. mrpc_asha_plan uses 0 (plain ASHA, BOHB's
 * rung model): the model measured no better at MRPC's seed noise (bench/fidelity_bench.sh);
 * the benchmark compares the bits.
 */
mrpc_status mrpc_asha_plan_model(const mrpc_study *st, const mrpc_history *h, const mrpc_sensitivity_summary *sens,
                                 mrpc_stage_kind stage, int wave, int model, mrpc_plan *plan, mrpc_bo_info *info,
                                 mrpc_error *err);

/*
 * For `mrpc-optimize status` (nothing when the stage has no fidelity): one line with the
 * rungs, how many runs reached each and how many stay paused there, the promotions due
 * now, and the epochs trained against those of the same configurations run in full.
 */
void mrpc_asha_status(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage, FILE *out);

#endif /* MRPC_OPTIMIZE_ASHA_H */

/*
 * mf_model.h — the multi-fidelity model of a stage with successive halving: one Gaussian
 * process over (configuration, training length) fitted on every rung's results, used to
 * rank promotions, to choose new configurations and to recommend, by the *predicted final*
 * objective rather than by a raw value after fewer epochs.
 *
 * Model ("fidelity as a GP input": Swersky, Snoek, Adams 2014, "Freeze-Thaw Bayesian
 * Optimization"; Klein et al. 2017, "Fast Bayesian Optimization of Machine Learning
 * Hyperparameters on Large Datasets" (FABOLAS); Kandasamy et al. 2017, "Multi-fidelity
 * Bayesian Optimisation with Continuous Approximations" (BOCA)): inputs are the stage's
 * searched parameters on the unit cube plus t = log(epoch) / log(num_epochs) in [0, 1]
 * (t = 1: the full run); the observations are the loss (mrpc_history_loss) of every run of
 * the stage after each rung epoch it reached (a completed run: also its final objective at
 * t = 1). The kernel is gp.h's ARD Matern-5/2 over the d + 1 inputs (its own length scale
 * for t, so how far an early rung informs the final value is learned from the runs that
 * went on), fitted by maximum a posteriori with the Bayesian stage's priors
 * (mrpc_gp_fit_map_defaults). Failed runs are not modelled (the planner imputes them).
 *
 * Each rung's mean learning gain over the first rung (from the runs that reached both) is
 * removed from its values first, so the GP models how a configuration's standing changes
 * with training rather than the rise every curve shares.
 *
 * Uses (asha.h, mrpc_asha_plan_model bits): (1) a rung promotes its members with the best
 * posterior mean at t = 1 (a noise-robust rule: a run's own early value counts as much as
 * the model trusts it, its neighbours and the runs that went on count too); (2) the
 * Bayesian stage's suggestions come from a view of the history where every paused run of
 * the stage carries its predicted final objective (instead of BOHB's single-rung view);
 * (3) mrpc_mf_recommend: the completed configuration with the best posterior mean at t = 1.
 * mrpc-optimize itself does not use it (mrpc_asha_plan: bits 0): on bench/fidelity_bench.sh
 * it ranks all runs of a study far better than their epoch-1 values in hindsight, and helps
 * where early values are precise (low seed noise, 3 epochs), but not at MRPC's seed noise
 * and not with 9 epochs (see optimize/README.md, "Successive halving", measured).
 */
#ifndef MRPC_OPTIMIZE_MF_MODEL_H
#define MRPC_OPTIMIZE_MF_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "fidelity.h"
#include "gp.h"
#include "history.h"
#include "stages.h"
#include "status.h"
#include "study.h"

typedef struct mrpc_mf_model {
    int       fitted;                            /* 0: too few observations (< d + 3), use raw values */
    size_t    d;                                 /* searched parameters (the GP has d + 1 inputs) */
    size_t    dims[MRPC_SPACE_MAX_PARAMS];       /* their indices in the space */
    int64_t   num_epochs;
    size_t    n_points, n_runs;                  /* observations and runs behind them */
    size_t    n_rungs;
    double    t[MRPC_FIDELITY_MAX_RUNGS];        /* each rung's t */
    double    offset[MRPC_FIDELITY_MAX_RUNGS];   /* its mean loss change since the first rung (removed from y) */
    mrpc_gp   gp;
} mrpc_mf_model;

/*
 * Fits the model of `stage` (its fidelity block gives the rungs) on the runs of that
 * stage in `h`. m->fitted = 0 (and MRPC_OK) with fewer than d + 3 observations. Fails on
 * out of memory or a GP that cannot be fitted. Deterministic (study seed). Free with
 * mrpc_mf_free.
 */
mrpc_status mrpc_mf_fit(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage,
                        const mrpc_sensitivity_summary *sens, mrpc_mf_model *m, mrpc_error *err);

/* Posterior mean and sd of the final loss (minimization form) at natural `values`. */
void mrpc_mf_predict_final(const mrpc_mf_model *m, const mrpc_study *st, const double *values, double *loss_mean,
                           double *loss_sd);

/*
 * The index in h->obs of the completed run of `stage` (newest task of its run) with the
 * best posterior final mean; -1 when none (or the model is not fitted: then the best
 * observed objective). *mean (objective units, may be NULL) gets its posterior mean.
 */
long mrpc_mf_recommend(const mrpc_mf_model *m, const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage,
                       double *mean);

void mrpc_mf_free(mrpc_mf_model *m);

#endif /* MRPC_OPTIMIZE_MF_MODEL_H */

#!/usr/bin/python3
"""Optuna 3.1 baselines for bench/fidelity_bench.sh: TPE with SuccessiveHalvingPruner and
with HyperbandPruner on the learning-curve simulator of bench/fidelity_bench.c (the same
definitions; see there), at a budget of epochs.

Each trial trains epoch by epoch, reports the observed accuracy after each epoch and
stops when the pruner says so; a diverged run stops and fails. New trials start while the
epochs spent are below the budget. The answer is the best completed trial (study.best_trial);
regret = 0.865 - its noise-free final accuracy.

Prints: run <method> <E> <epoch budget> <seed> <epochs> <trials> <regret> <crossing> <noise> <regret>
(the last column, the regret of a model's recommendation in fidelity_bench.c, is Optuna's best trial here)
Usage: fidelity_optuna.py [--seeds N] [--epochs E] [--budgets 30,60] [--crossing C] [--noise SD]
Uses Debian's /usr/bin/python3 (python3-optuna 3.1).
"""
import argparse
import math
import sys
import warnings

import numpy as np

try:
    import optuna
except ImportError as e:  # pragma: no cover
    print(f"fidelity_optuna.py: {e}", file=sys.stderr)
    sys.exit(77)

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

A_STAR = 0.865


def final_true(u):
    return A_STAR - 0.30 * (u[0] - 0.45) ** 2 - 0.06 * (u[1] - 0.35) ** 2 - 0.08 * (u[2] - 0.3) ** 2


def acc_true(u, e, E, c):
    a = final_true(u)
    K = (1.0 + c * u[0] ** 2) / (1.0 + u[2])
    return 0.684 + (a - 0.684) * (1.0 - math.exp(-K * e / E)) / (1.0 - math.exp(-K))


def run(method, E, budget, seed, crossing, noise):
    rng = np.random.default_rng(seed * 7919 + budget * 31 + 2)
    if method == "tpe-sh":
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=0)
    else:
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=E, reduction_factor=3)
    # A fixed name: HyperbandPruner assigns a trial's bracket from a hash of the study name
    # and the trial number, so an auto-generated name made its results change run to run.
    study = optuna.create_study(study_name=f"fidelity-{method}-{E}-{budget}-{seed}", direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
    spent = 0
    trials = 0
    truth = {}
    while spent < budget:
        trial = study.ask()
        lr = trial.suggest_float("learning_rate", 1e-5, 1e-3, log=True)
        wd = trial.suggest_float("weight_decay", 0.0, 0.3)
        warm = trial.suggest_int("warmup_steps", 0, 300)
        u = (math.log(lr / 1e-5) / math.log(100.0), wd / 0.3, warm / 300.0)
        truth[trial.number] = final_true(u)
        trials += 1
        offset = noise * rng.standard_normal()
        div_epoch = E + 1
        if u[0] > 0.8 and rng.random() < 4.0 * (u[0] - 0.8):
            div_epoch = 1 + int(rng.random() * E)
        state, value = None, None
        for e in range(1, E + 1):
            spent += 1
            if e == div_epoch:
                state = optuna.trial.TrialState.FAIL
                break
            acc = acc_true(u, e, E, crossing) + offset + 0.4 * noise * rng.standard_normal()
            trial.report(acc, e)
            if e < E and trial.should_prune():
                state = optuna.trial.TrialState.PRUNED
                break
            value = acc
        if state is None:
            study.tell(trial, value)
        else:
            study.tell(trial, state=state)
    try:
        best = study.best_trial
        regret = A_STAR - truth[best.number]
    except ValueError:
        regret = float("nan")
    print(f"run {method} {E} {budget} {seed} {spent} {trials} {regret:.6f} {crossing:g} {noise:g} {regret:.6f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--budgets", default="30,60")
    ap.add_argument("--crossing", type=float, default=8.0)
    ap.add_argument("--noise", type=float, default=0.010)
    a = ap.parse_args()
    for seed in range(1, a.seeds + 1):
        for b in [int(x) for x in a.budgets.split(",")]:
            for m in ("tpe-sh", "tpe-hb"):
                run(m, a.epochs, b, seed, a.crossing, a.noise)


if __name__ == "__main__":
    main()

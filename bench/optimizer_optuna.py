#!/usr/bin/python3
"""Optuna 3.1 baselines for bench/optimizer_quality.sh: TPE and random search on the
same test functions as bench/optimizer_quality.c, at the same budgets.

Prints one line per run, in the format of optimizer_quality:

    trace <method> <function> <q> <seed> <regret after 1 evaluation> ... <after N>

Methods: "tpe" (TPESampler defaults, seeded; q=1 sequential ask/tell, q=4 asks four
trials, with constant_liar, before telling their values — the wave setting),
"tpe-mv" (the same with multivariate=True), and "random" (RandomSampler; waves make
no difference to it, reported as q=1).
Regret = f* minus the best noise-free value among the points evaluated so far.

After each run: "final <method> <function> <q> <seed> <oracle> <best observed>
<recommended>", the true regrets of the best point evaluated, of the trial with the best
observed value, and of the method's answer (Optuna's study.best_trial: the same trial),
and "obs <method> <function> <q> <seed> <n> <values.. y> ..." with every trial, for
optimizer_quality --rescore (our recommendation applied to the method's trials).

Usage: optimizer_optuna.py [--seeds N] [--evals N] [--q 1,4] [--functions LIST]
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
    print(f"optimizer_optuna.py: {e}", file=sys.stderr)
    sys.exit(77)

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def branin(x):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    u = x["x2"] - b * x["x1"] ** 2 + c * x["x1"] - 6
    return u * u + 10 * (1 - t) * math.cos(x["x1"]) + 10


HA = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
               [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
HP = np.array([[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
               [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
               [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
               [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]])
HALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(x):
    v = np.array([x[f"x{i + 1}"] for i in range(6)])
    return float(-np.sum(HALPHA * np.exp(-np.sum(HA * (v - HP) ** 2, axis=1))))


def mrpc3(x):
    l, w, wd = math.log10(x["learning_rate"]), x["warmup_steps"], x["weight_decay"]
    best_l = -4.45 + 0.25 * (w / 600.0)
    width = 0.6 if l < best_l else 0.35
    a = (l - best_l) / width
    peak = 0.86 - 0.03 * ((wd - 0.08) / 0.3) ** 2
    acc = 0.684 + (peak - 0.684) * math.exp(-0.5 * a * a) - 0.01 * ((w - 200.0) / 400.0) ** 2
    return -acc


def stage3(x):
    """The bayes stage in MRPC's real regime (bench/optimizer_quality.c, stage3_define)."""
    l, w, wd = math.log10(x["learning_rate"]), x["warmup_steps"], x["weight_decay"]
    best_l = -4.55 + 0.25 * (w / 300.0)
    a, b, c = (l - best_l) / 0.55, (wd - 0.07) / 0.07, (w - 100.0) / 200.0
    return -(0.85 - 0.04 * a * a - 0.012 * b * b - 0.012 * c * c)


def suggest_branin(t):
    return {"x1": t.suggest_float("x1", -5, 10), "x2": t.suggest_float("x2", 0, 15)}


def suggest_hartmann6(t):
    return {f"x{i + 1}": t.suggest_float(f"x{i + 1}", 0, 1) for i in range(6)}


def suggest_mrpc3(t):
    return {"learning_rate": t.suggest_float("learning_rate", 1e-6, 1e-3, log=True),
            "warmup_steps": t.suggest_int("warmup_steps", 0, 600),
            "weight_decay": t.suggest_float("weight_decay", 0.0, 0.3)}


def suggest_stage3(t):
    return {"learning_rate": t.suggest_float("learning_rate", 1e-5, 1e-4, log=True),
            "warmup_steps": t.suggest_int("warmup_steps", 0, 300),
            "weight_decay": t.suggest_float("weight_decay", 0.0, 0.1)}


FUNCTIONS = {
    "branin": (branin, suggest_branin, 0.397887357729738, 0.0),
    "hartmann6": (hartmann6, suggest_hartmann6, -3.32236801141551, 0.0),
    "mrpc3": (mrpc3, suggest_mrpc3, -0.86, 0.01),
    "stage3-sd03": (stage3, suggest_stage3, -0.85, 0.003),
    "stage3-sd12": (stage3, suggest_stage3, -0.85, 0.012),
    "stage3-sd24": (stage3, suggest_stage3, -0.85, 0.024),
}


def run(method, fname, q, seed, evals):
    f, suggest, f_star, noise_sd = FUNCTIONS[fname]
    if method == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=(q > 1))
    elif method == "tpe-mv":
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=(q > 1), multivariate=True)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(sampler=sampler, direction="minimize")
    noise = np.random.RandomState(10_000 + seed)
    best, trace, n, obs = math.inf, [], 0, []
    while n < evals:
        k = min(q, evals - n)
        # Ask and sample the whole wave first (define-by-run: sampling happens in
        # suggest_*), then evaluate and tell: trial i of a wave does not see i-1's value.
        trials = [study.ask() for _ in range(k)]
        xs = [suggest(t) for t in trials]
        for t, x in zip(trials, xs):
            true = f(x)
            y = true + noise_sd * noise.normal()
            study.tell(t, y)
            obs.append((x, true, y))
            best = min(best, true)
            trace.append(best - f_star)
            n += 1
    # The method's answer: its best trial (study.best_trial, the best observed value).
    best_obs = min(obs, key=lambda o: o[2])
    final = (trace[-1], best_obs[1] - f_star, best_obs[1] - f_star)
    return trace, final, obs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--evals", type=int, default=50)
    ap.add_argument("--q", default="1,4")
    ap.add_argument("--functions", default="branin,hartmann6,mrpc3")
    ap.add_argument("--methods", default="tpe,random")  # also tpe-mv: multivariate TPE
    a = ap.parse_args()
    for fname in a.functions.split(","):
        for method in a.methods.split(","):
            qs = [1] if method == "random" else [int(v) for v in a.q.split(",")]
            for q in qs:
                for s in range(a.seeds):
                    trace, final, obs = run(method, fname, q, 1000 + s, a.evals)
                    print(f"trace {method} {fname} {q} {s} " + " ".join(f"{v:.6g}" for v in trace))
                    print(f"final {method} {fname} {q} {s} " + " ".join(f"{v:.6g}" for v in final))
                    # Every trial (natural values, observed value) for optimizer_quality --rescore.
                    cells = " ".join(" ".join(repr(float(v)) for v in x.values()) + f" {y!r}" for x, _, y in obs)
                    print(f"obs {method} {fname} {q} {s} {len(obs)} {cells}", flush=True)


if __name__ == "__main__":
    main()

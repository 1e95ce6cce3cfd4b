#!/usr/bin/python3
"""End-to-end checks of the confirm stage and of W&B sweep files as studies, with the real
binaries (mrpc-pipeline run: mrpc-optimize, mrpc-train, mrpc-analyze) on a tiny random model.

    confirm_checks.py --bindir BUILD --data DATA --work DIR confirm|wandb

confirm: a study with sensitivity, bayes and confirm stages runs to the end. The confirm
  wave re-runs the baseline and the top_k configurations over `seeds` new seeds: seeds
  disjoint from every seed the study used before, the same for every configuration, no
  configuration+seed twice in the study. answer.yaml is recomputed here from the run
  records (means, sd, paired differences, the t interval and the paired t-test with SciPy's
  t distribution, the sign test by counting); `mrpc-optimize status` prints the answer;
  the report has the confirmation table with the same numbers and the rungs table.
wandb: a W&B sweep file (program, entity, project, method: bayes, metric eval/f1,
  run_cap, early_terminate hyperband) runs as a study: run_cap runs in the bayes stage,
  paused at rung 1 and promoted by successive halving, the notes said once, the objective
  f1 in the report.
"""
import argparse
import csv
import math
import os
import shutil
import subprocess
import sys

import h5py
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "slurm"))
import tiny_study  # noqa: E402

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)
    return cond


def write_base(work, data):
    """The tiny model of tests/slurm/tiny_study.py, with more examples so that seeds differ."""
    tiny_study.write_base(work, data)
    path = os.path.join(work, "base.yaml")
    text = open(path).read().replace("max_train_examples: 64", "max_train_examples: 192")
    text = text.replace("max_eval_examples: 64", "max_eval_examples: 96")
    with open(path, "w") as fh:
        fh.write(text)


def run_pipeline(bindir, study, work):
    p = subprocess.run([os.path.join(bindir, "mrpc-pipeline"), "run", study, "--jobs", "2"], cwd=work,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=900)
    sys.stdout.write(p.stderr[-3000:])
    return p


def read_tasks(path):
    with open(path) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return rows


def all_tasks(work):
    """(stage, wave, row) of every task of every wave."""
    out = []
    waves = os.path.join(work, "waves")
    for stage in sorted(os.listdir(waves)):
        for nn in sorted(os.listdir(os.path.join(waves, stage))):
            path = os.path.join(waves, stage, nn, "tasks.tsv")
            if os.path.exists(path):
                out += [(stage, int(nn), r) for r in read_tasks(path)]
    return out


def objective(work, run_id):
    """The study's objective, eval_loss: the last evaluation's loss (a tiny random model predicts the
    majority class, so its accuracy hardly moves; its loss differs by seed and configuration)."""
    with h5py.File(os.path.join(work, "runs", run_id + ".h5"), "r") as f:
        status = f.attrs["status"]
        status = status.decode() if isinstance(status, bytes) else str(status)
        if status != "completed":
            return float("nan")
        return float(f["eval"]["loss"][-1])


def tdist_cdf(t, df):
    from scipy import stats
    return float(stats.t.cdf(t, df))


def tdist_quantile(q, df):
    """By bisection on SciPy's t.cdf (SciPy 1.10's t.ppf is off by ~1e-9)."""
    lo, hi = 0.0, 1.0
    while tdist_cdf(hi, df) < q:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if tdist_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(b))


def check_confirm(a):
    work = a.work
    write_base(work, a.data)
    with open(os.path.join(work, "study.yaml"), "w") as fh:
        fh.write("""name: confirm
seed: 11
objective: {metric: eval_loss, goal: minimize}
base_config: base.yaml
parameters:
  learning_rate: {distribution: log_uniform_values, min: 3.0e-3, max: 1.0e-1, baseline: 2.0e-2}
  weight_decay: {distribution: uniform, min: 0.0, max: 0.1, baseline: 0.0}
stages:
  sensitivity: {top_k: 2, seeds: 2}
  bayes: {budget: 2, wave_size: 2, init_points: 2}
  confirm: {top_k: 2, seeds: 4}
slurm: {time: "00:10:00", cpus_per_task: 1, ranks_per_task: 1, throttle: 4, signal_seconds: 30}
""")
    p = run_pipeline(a.bindir, "study.yaml", work)
    if not check(p.returncode == 0, f"mrpc-pipeline run finished (exit {p.returncode})"):
        return
    tasks = all_tasks(work)
    conf = [r for s, w, r in tasks if s == "confirm"]
    check(len(conf) == 3 * 4, f"confirm wave: the baseline and 2 configurations over 4 seeds ({len(conf)} tasks)")
    check(all(r["run_id"].startswith("conf-00-") for r in conf), "run ids conf-00-<task>-...")
    base_seed = 42  # the run config's default seed; the sensitivity stage repeats 42, 43
    earlier = {int(r.get("seed") or base_seed) for s, w, r in tasks if s != "confirm"}
    cfg_of = lambda r: (float(r["learning_rate"]), float(r["weight_decay"]))
    configs = []
    for r in conf:
        if cfg_of(r) not in configs:
            configs.append(cfg_of(r))
    seeds = {c: [int(r["seed"]) for r in conf if cfg_of(r) == c] for c in configs}
    first = seeds[configs[0]]
    check(len(configs) == 3 and configs[0] == (2e-2, 0.0), f"3 configurations, the baseline first: {configs}")
    check(all(seeds[c] == first for c in configs), f"the same seeds for every configuration: {seeds}")
    check(len(set(first)) == 4 and not set(first) & earlier, f"4 new seeds {first}, disjoint from {sorted(earlier)}")
    pairs = [(cfg_of(r), int(r.get("seed") or base_seed)) for s, w, r in tasks]
    check(len(pairs) == len(set(pairs)), "no configuration and seed twice in the study")

    ans = yaml.safe_load(open(os.path.join(work, "answer.yaml")))
    check(ans["complete"] is True and ans["seeds"] == first, "answer.yaml: complete, the seeds")
    labels = [c["label"] for c in ans["configurations"]]
    check(labels == ["baseline", "rec1", "rec2"], f"configurations {labels}")
    by_label = {}
    for c in ans["configurations"]:
        ys = [objective(work, rid) for rid in c["run_ids"]]
        by_label[c["label"]] = ys
        good = [y for y in ys if not math.isnan(y)]
        mean = sum(good) / len(good)
        check(close(c["mean"], mean) and c["completed"] == len(good), f"{c['label']}: mean {mean} from the records")
        if len(good) > 1:
            sd = math.sqrt(sum((y - mean) ** 2 for y in good) / (len(good) - 1))
            check(close(c["sd"], sd), f"{c['label']}: sd {sd}")
    base = by_label["baseline"]
    for c in ans["configurations"][1:]:
        ys = by_label[c["label"]]
        d = [x - b for x, b in zip(ys, base) if not math.isnan(x) and not math.isnan(b)]
        vs = c["vs_baseline"]
        n = len(d)
        m = sum(d) / n
        check(vs["pairs"] == n and close(vs["mean"], m), f"{c['label']}: mean paired difference {m}")
        check(all(close(x, y) for x, y in zip(vs["differences"], [x - b for x, b in zip(ys, base)])),
              f"{c['label']}: per-seed differences")
        check("mean_points" not in vs, f"{c['label']}: eval_loss is not a fraction: no points")
        sd = math.sqrt(sum((x - m) ** 2 for x in d) / (n - 1))
        pos, neg = sum(x > 0 for x in d), sum(x < 0 for x in d)
        k = min(pos, neg)
        p_sign = min(1.0, 2 * sum(math.comb(pos + neg, i) for i in range(k + 1)) / 2 ** (pos + neg)) if pos + neg else 1.0
        check(close(vs["p_sign"], p_sign), f"{c['label']}: sign test p {p_sign}")
        try:
            half = tdist_quantile(0.975, n - 1) * sd / math.sqrt(n)
            p_t = 2 * tdist_cdf(-abs(m) / (sd / math.sqrt(n)), n - 1) if sd > 0 else (1.0 if m == 0 else 0.0)
        except ImportError:
            half = p_t = None
        if half is not None:
            check(close(vs["ci95"][0], m - half, 1e-7) and close(vs["ci95"][1], m + half, 1e-7),
                  f"{c['label']}: 95% t interval {m - half:.5f} .. {m + half:.5f}")
            check(close(vs["p_t"], p_t, 1e-7), f"{c['label']}: paired t-test p {p_t:.4g}")
    means = [sum(y for y in by_label[l] if not math.isnan(y)) / max(1, sum(not math.isnan(y) for y in by_label[l]))
             for l in labels]
    best = labels[min(range(3), key=lambda i: (means[i], i))]  # minimize; ties keep the earlier
    check(ans["answer"] == best, f"the answer is the best mean: {best}")
    if best != "baseline":
        sig = ans["configurations"][labels.index(best)]["vs_baseline"]["p_t"] < 0.05
        check(ans["significant"] == sig, "significant means p_t < 0.05")
        check(("NOT significant" in ans["verdict"]) == (not sig), "the verdict says whether it is significant")
    else:
        check(ans["verdict"].startswith("keep the baseline"), "the verdict keeps the baseline")

    st = subprocess.run([os.path.join(a.bindir, "mrpc-optimize"), "status", "--study", "study.yaml"], cwd=work,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    check(st.returncode == 0 and "confirmation: 3 configurations over 4 seeds" in st.stdout and
          "answer: " in st.stdout, "mrpc-optimize status prints the confirmation and the answer")

    rows = list(csv.DictReader(open(os.path.join(work, "report", "tables", "confirmation.csv"))))
    check([r["configuration"] for r in rows] == labels, "report: the confirmation table has every configuration")
    for r, l, m in zip(rows, labels, means):
        check(close(float(r["mean"]), m), f"report: {l} mean {m}")
        check((r["answer"] == "answer") == (l == ans["answer"]), f"report: {l} answer mark")
    html = open(os.path.join(work, "report", "report.html")).read()
    check("Confirmation over new seeds" in html and "rec2" in html, "report.html has the confirmation section")
    rungs = list(csv.DictReader(open(os.path.join(work, "report", "tables", "rungs.csv"))))
    check(len(rungs) == len(tasks) and all(r["rung"] == "full" for r in rungs) and rungs[0]["epoch 3"],
          f"report: rungs table, every run with its 3 epochs ({len(rungs)} rows)")
    check(os.path.exists(os.path.join(work, "report", "figures", "rungs.png")), "report: the rungs figure")


def check_wandb(a):
    work = a.work
    write_base(work, a.data)
    with open(os.path.join(work, "sweep.yaml"), "w") as fh:
        fh.write("""program: train.py
entity: someone
project: mrpc
method: bayes
metric:
  name: eval/f1
  goal: maximize
run_cap: 4
early_terminate:
  type: hyperband
  min_iter: 1
  eta: 3
parameters:
  learning_rate:
    distribution: log_uniform_values
    min: 1.0e-4
    max: 1.0e-2
  weight_decay:
    min: 0.0
    max: 0.1
command:
  - ${env}
  - python3
  - ${program}
""")
    p = run_pipeline(a.bindir, "sweep.yaml", work)
    if not check(p.returncode == 0, f"mrpc-pipeline run of a W&B sweep file finished (exit {p.returncode})"):
        return
    for key in ("program", "entity", "project", "command"):
        n = p.stderr.count(f"{key}: has no meaning here")
        check(n == 1, f"the note on {key} is printed once ({n})")
    check("sweep.yaml:1:10: program" in p.stderr, "notes name file:line:column")
    tasks = all_tasks(work)
    check({s for s, w, r in tasks} == {"bayes"}, "method bayes: the bayes stage alone")
    ids = {r["run_id"] for s, w, r in tasks}
    check(len(ids) == 4, f"run_cap 4: 4 runs ({sorted(ids)})")
    first = [r for s, w, r in tasks if w == 0]
    check(first and all(r.get("pause_after_epoch") == "1" for r in first),
          "early_terminate hyperband: new runs pause at rung 1 (min_iter)")
    rungs = list(csv.DictReader(open(os.path.join(work, "report", "tables", "rungs.csv"))))
    kinds = {r["rung"] for r in rungs}
    check("promoted" in kinds and "stopped" in kinds, f"rungs: promoted and stopped runs ({kinds})")
    for r in rungs:
        listed = [t.get("pause_after_epoch") or "0" for s, w, t in tasks if t["run_id"] == r["run_id"]]
        with h5py.File(os.path.join(work, "runs", r["run_id"] + ".h5"), "r") as f:
            status = f.attrs["status"]
            status = status.decode() if isinstance(status, bytes) else str(status)
            epochs = len(f["eval"]["epoch"])
        want = "promoted" if listed[:2] == ["1", "0"] else "stopped" if status == "paused" else "full"
        check(r["rung"] == want and int(r["epochs"]) == epochs and bool(r["epoch 1"]) and
              bool(r["epoch 3"]) == (epochs == 3),
              f"rungs: {r['run_id']} is {want} (listed {listed}, record {status}, {epochs} epochs)")
    html = open(os.path.join(work, "report", "report.html")).read()
    check("objective <b>f1</b>" in html, "the report ranks by f1 (metric eval/f1)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("check", choices=["confirm", "wandb"])
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    {"confirm": check_confirm, "wandb": check_wandb}[a.check](a)
    print(f"{len(FAILS)} failed" if FAILS else "all passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())

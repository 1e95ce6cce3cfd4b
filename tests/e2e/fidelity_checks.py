#!/usr/bin/python3
"""Successive halving end to end (label e2e): a tiny study with a fidelity block on the grid and
the bayes stage, run by mrpc-pipeline with local processes.

    fidelity_checks.py --bindir BUILD --data DIR --work DIR [--study-only]

Checks: the study completes and `mrpc-optimize next` says done; new configurations pause at the
first rung (epoch 2 in the grid: min_iter 2; epoch 1 in bayes) and the best third of each rung is promoted in a later wave with the same run id, values,
seed and record (pause_after_epoch 0: to the end); no run is trained twice past a rung (each
record evaluates epochs 1, 2, 3 once, its tasks pause later and later); a promoted run's final
record equals an uninterrupted run of the same configuration bit for bit (train/*, eval/*,
predictions, summary but times); paused runs never promoted stay paused with their partial
records and checkpoints; fewer epochs are spent than plain waves would; `mrpc-optimize status`
shows the rungs; `mrpc-optimize cleanup --dry-run` lists their checkpoints with their bytes and
`cleanup` removes exactly those (records stay).

--study-only writes the study into --work and exits (for the Slurm check).
"""
import argparse
import csv
import glob
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "slurm"))
import tiny_study  # noqa: E402

FAILURES = []
TIMING = {"train_seconds", "tokens_per_second"}


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def write_study(dir_, data):
    tiny_study.write_base(dir_, data, model=(32, 1, 2, 64), n_train=1000, n_eval=200, epochs=3,
                          extra="max_seq_length: 64\n")
    return tiny_study.write_study(dir_, "fid", 7, """\
stages:
  grid: {levels: 3, fidelity: {min_iter: 2, eta: 3, unit: epoch}}
  bayes: {budget: 6, wave_size: 3, init_points: 2, fidelity: {eta: 3}}
slurm: {time: "00:10:00", cpus_per_task: 1, ranks_per_task: 1, throttle: 4, signal_seconds: 30}
""")


def run(cmd, timeout=600):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def waves(study_dir):
    """[(stage, wave, wave_dir, [row dicts])] in stage then wave order."""
    out = []
    for stage in ("grid", "bayes"):
        for d in sorted(glob.glob(os.path.join(study_dir, "waves", stage, "[0-9][0-9]"))):
            with open(os.path.join(d, "tasks.tsv")) as fh:
                rows = list(csv.DictReader(fh, delimiter="\t"))
            out.append((stage, int(os.path.basename(d)), d, rows))
    return out


def status_of(path):
    with h5py.File(path, "r") as f:
        s = f.attrs["status"]
        s = s.decode() if isinstance(s, bytes) else str(s)
        epochs = [int(x) for x in np.asarray(f["eval/epoch"][()]).ravel()] if "eval/epoch" in f else []
        paused = int(f.attrs["paused_epoch"]) if "paused_epoch" in f.attrs else 0
    return s, epochs, paused


def results(path):
    """train/*, eval/*, predictions* datasets and summary attributes but times."""
    out = {}
    with h5py.File(path, "r") as f:
        def one(name, obj):
            top = name.split("/")[0]
            if isinstance(obj, h5py.Dataset) and (top in ("train", "eval") or top.startswith("predictions")):
                out["D:" + name] = np.asarray(obj[()]).tobytes()
        f.visititems(one)
        if "summary" in f:
            for k, v in f["summary"].attrs.items():
                if k not in TIMING:
                    out["summary@" + k] = np.asarray(v).tobytes()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--study-only", action="store_true")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    study_dir = os.path.join(a.work, "study")
    study = write_study(study_dir, a.data)
    if a.study_only:
        return 0
    opt = os.path.join(a.bindir, "mrpc-optimize")
    train = os.path.join(a.bindir, "mrpc-train")
    r = run([os.path.join(a.bindir, "mrpc-pipeline"), "run", study, "--jobs", "2", "--no-report"])
    if not check(r.returncode == 0, f"mrpc-pipeline run completes the study (exit {r.returncode})"):
        print(r.stdout[-3000:], r.stderr[-3000:])
        return 1
    r = run([opt, "next", "--study", study, "--dry-run"])
    check(r.stdout.strip().splitlines()[-1:] == ["done"], f"next says done: {r.stdout.strip()!r}")

    ws = waves(study_dir)
    tasks = {}  # run id -> [(stage, wave, wave_dir, row)]
    for stage, wave, d, rows in ws:
        for row in rows:
            tasks.setdefault(row["run_id"], []).append((stage, wave, d, row))
    first = {stage: rows for stage, wave, d, rows in ws if wave == 0}
    check(len(first) == 2 and all(row.get("pause_after_epoch") == "2" for row in first["grid"]) and
          all(row.get("pause_after_epoch") == "1" for row in first["bayes"]),
          "new configurations pause at the first rung: after epoch 2 (grid, min_iter 2), 1 (bayes, default)")
    promoted = {rid: ts for rid, ts in tasks.items() if len(ts) > 1}
    check(len(promoted) >= 4, f"runs were promoted in later waves ({len(promoted)})")
    same = True
    for rid, ts in promoted.items():
        a0 = ts[0][3]
        for t in ts[1:]:
            b = t[3]
            keys = [k for k in a0 if k not in ("task_id", "pause_after_epoch")]
            same &= all(a0[k] == b.get(k) for k in keys) and t[0] == ts[0][0]
        pauses = [int(t[3].get("pause_after_epoch") or 0) or 3 for t in ts]
        same &= pauses == sorted(set(pauses))
    check(same, "a promotion keeps run id, values, seed and record; its pause points only grow (never twice)")

    # Records: promoted runs completed, the others paused with their checkpoints.
    n_epochs = 0
    twice = []
    paused_left = []
    for rid, ts in tasks.items():
        path = os.path.join(study_dir, ts[-1][3]["output"])
        s, epochs, pe = status_of(path)
        n_epochs += max(epochs) if epochs else 0
        if epochs != list(range(1, len(epochs) + 1)):
            twice.append(f"{rid}: {epochs}")
        if rid in promoted:
            check(s == "completed" and epochs == [1, 2, 3], f"promoted {rid} completed after epochs 1-3 ({s}, {epochs})")
        else:
            paused_left.append(path)
            rung = 2 if rid.startswith("grid-") else 1
            check(s == "paused" and pe == rung and epochs == list(range(1, rung + 1)) and os.path.exists(path + ".resume"),
                  f"{rid} not promoted stays paused after epoch {rung} with its checkpoint ({s}, {pe}, {epochs})")
    check(not twice, f"no run trained an epoch twice {twice[:3]}")
    # Grid: 9 points, floor(9/3) = 3 promoted; bayes: 6 configurations, 2 or more promoted.
    grid_promoted = sum(1 for rid in promoted if rid.startswith("grid-"))
    check(grid_promoted == 3, f"the best third of the 9 grid points went to the end ({grid_promoted})")
    plain = 3 * len(tasks)
    check(n_epochs < plain, f"epochs trained {n_epochs} < {plain} of plain waves (the same configurations in full)")

    # The best third of the grid after epoch 2 is what was promoted.
    acc2 = {}
    for rid, ts in tasks.items():
        if rid.startswith("grid-"):
            with h5py.File(os.path.join(study_dir, ts[-1][3]["output"]), "r") as f:
                acc2[rid] = float(np.asarray(f["eval/accuracy"][()]).ravel()[1])
    order = sorted(acc2, key=lambda k: (-acc2[k], k))
    check(set(order[:3]) == {rid for rid in promoted if rid.startswith("grid-")},
          f"grid promotions are the top 3 by accuracy after epoch 2 (ties by run id): "
          f"{[(k, acc2[k]) for k in order[:4]]}, {len(set(acc2.values()))} distinct values")

    # A promoted run equals an uninterrupted run of the same configuration, bit for bit.
    rid = sorted(promoted)[0]
    stage, wave, d, row = promoted[rid][0]
    ref = os.path.join(a.work, "uninterrupted.h5")
    r = run([train, "--wave", d, "--task-id", row["task_id"], "--set", "pause_after_epoch=0", "--set",
             f"output={ref}", "-q"])
    if check(r.returncode == 0 and os.path.exists(ref), f"uninterrupted rerun of {rid} (exit {r.returncode}) {r.stderr[-500:]}"):
        x, y = results(os.path.join(study_dir, promoted[rid][-1][3]["output"])), results(ref)
        bad = [k for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k)]
        check(not bad and len(x) > 3, f"{rid}'s final record equals the uninterrupted run's ({len(x)} items) {bad[:5]}")

    r = run([opt, "status", "--study", study])
    check(r.returncode == 0 and "successive halving" in r.stdout and "paused" in r.stdout,
          "status shows the rungs and the paused runs")
    print(r.stdout)

    # Cleanup: the checkpoints of the runs that stay paused, their bytes, then removed.
    size = sum(os.path.getsize(p + ".resume") for p in paused_left if os.path.exists(p + ".resume"))
    r = run([opt, "cleanup", "--study", study, "--dry-run"])
    check(r.returncode == 0 and f"would remove {len(paused_left)} checkpoint" in r.stdout and f"{size} bytes" in r.stdout,
          f"cleanup --dry-run lists {len(paused_left)} checkpoints of {size} bytes: {r.stdout.strip().splitlines()[-1:]}")
    check(all(os.path.exists(p + ".resume") for p in paused_left), "a dry run removes nothing")
    r = run([opt, "cleanup", "--study", study])
    check(r.returncode == 0 and f"removed {len(paused_left)} checkpoint" in r.stdout and f"{size} bytes freed" in r.stdout,
          f"cleanup removes them: {r.stdout.strip().splitlines()[-1:]}")
    check(not glob.glob(os.path.join(study_dir, "runs", "*.resume")), "no checkpoint is left")
    check(all(status_of(p)[0] == "paused" for p in paused_left), "the paused records stay")
    r = run([opt, "next", "--study", study])
    check(r.stdout.strip().splitlines()[-1:] == ["done"], "the study is still done after the cleanup")
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Successive halving on Slurm (label slurm): the tiny fidelity study of
tests/e2e/fidelity_checks.py (fidelity on grid and bayes, 3 epochs) run unattended by
slurm/pipeline.sh on the private one-node cluster of tests/slurm/slurm_checks.py (fixture
slurm_cluster). Promotion waves are ordinary arrays of the same runs, chained by the
optimize step: every promoted run completes (each epoch trained once), every other run stays
paused after its first rung, the study ends done, `status` shows the rungs, and the result is
the same set of waves and records as the local executor's run of the same study.

    fidelity_checks.py --home SRC --bindir BUILD --data DIR --cluster DIR --work DIR
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import fidelity_checks as fc  # noqa: E402

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def records(study_dir):
    out = {}
    for p in sorted(glob.glob(os.path.join(study_dir, "runs", "*.h5"))):
        s, epochs, pe = fc.status_of(p)
        with h5py.File(p, "r") as f:
            acc = np.asarray(f["eval/accuracy"][()]).tobytes() if "eval/accuracy" in f else b""
        out[os.path.basename(p)] = (s, tuple(epochs), pe, acc)
    return out


def tasks_text(study_dir):
    out = {}
    for p in sorted(glob.glob(os.path.join(study_dir, "waves", "*", "[0-9][0-9]", "tasks.tsv"))):
        with open(p) as fh:
            out[os.path.relpath(p, study_dir)] = fh.read()
    return out


def main():
    ap = argparse.ArgumentParser()
    for k in ("--home", "--bindir", "--data", "--cluster", "--work"):
        ap.add_argument(k, required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    env = dict(os.environ, SLURM_CONF=os.path.join(a.cluster, "slurm.conf"), MRPC_HOME=a.home, MRPC_BINDIR=a.bindir,
               MRPC_DATA_DIR=a.data)
    study_dir = os.path.join(a.work, "slurm")
    study = fc.write_study(study_dir, a.data)
    r = subprocess.run([os.path.join(a.home, "slurm/pipeline.sh"), study], env=env, capture_output=True, text=True,
                       timeout=120)
    if not check(r.returncode == 0, f"slurm/pipeline.sh submitted the study: {r.stderr[-400:]}"):
        return 1
    t0 = time.time()
    while time.time() - t0 < 900:
        q = subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True)
        if q.returncode == 0 and not q.stdout.strip():
            break
        time.sleep(2)
    check(time.time() - t0 < 900, "the queue emptied")
    r = subprocess.run([os.path.join(a.bindir, "mrpc-optimize"), "status", "--study", study], env=env,
                       capture_output=True, text=True)
    check(r.returncode == 0 and "next: done" in r.stdout and "successive halving" in r.stdout,
          f"the study is done and status shows the rungs: {r.stdout[-600:]}")
    recs = records(study_dir)
    promoted = {k for k, v in recs.items() if v[0] == "completed"}
    paused = {k for k, v in recs.items() if v[0] == "paused"}
    check(len(recs) == 15 and len(promoted) + len(paused) == 15 and len(promoted) >= 4,
          f"15 records: {len(promoted)} promoted and completed, {len(paused)} paused")
    check(all(recs[k][1] == (1, 2, 3) for k in promoted), "every promoted run trained epochs 1, 2, 3 once")
    # The same study with the local executor: the same waves and the same records.
    local_dir = os.path.join(a.work, "local")
    local = fc.write_study(local_dir, a.data)
    r = subprocess.run([os.path.join(a.bindir, "mrpc-pipeline"), "run", local, "--jobs", "2", "--no-report"], env=env,
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, "the local executor ran the same study")
    tl, ts = tasks_text(local_dir), tasks_text(study_dir)
    check(tl == ts, f"the same waves on Slurm and locally ({len(ts)} vs {len(tl)}): "
          f"{sorted(k for k in set(tl) | set(ts) if tl.get(k) != ts.get(k))[:4]}")
    rl = records(local_dir)
    check(rl == recs, f"the same records (status, epochs, accuracies): "
          f"{sorted(k for k in set(rl) | set(recs) if rl.get(k) != recs.get(k))[:4]}")
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

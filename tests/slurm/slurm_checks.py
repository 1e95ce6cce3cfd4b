#!/usr/bin/python3
"""Tests of the Slurm side on a real one-node cluster (scripts/slurm-local.sh).

    slurm_checks.py --home SRC --bindir BUILD --data DIR --work DIR --cluster DIR CHECK

start / stop   start or stop the private cluster in --cluster (the ctest fixture)
pipeline       slurm/pipeline.sh runs a tiny study through all three stages unattended;
               one task of the first wave is cancelled (it ends without a record) and the
               study still completes; every other record is completed; a report is written
stage2         `sbatch slurm/stage2_grid.sh` runs the current grid wave on its own; an
               array range that does not match the wave stops with a clear message
requeue        a task requeued mid-run (scontrol requeue) resumes from its checkpoint and
               its record equals an uninterrupted run's
mpi            srun --mpi=pmix -n 2 runs a data-parallel task; same result as one rank
local          mrpc-pipeline runs the same tiny study with local processes (no Slurm)
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_study  # noqa: E402

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def sh(cmd, env, timeout=120, check_rc=True):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        print(f"command {cmd} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}", flush=True)
    return r


def squeue_empty(env):
    r = sh(["squeue", "-h", "-o", "%i %T"], env, check_rc=False)
    return r.returncode == 0 and r.stdout.strip() == ""


def wait_queue_empty(env, seconds, what):
    t0 = time.time()
    while time.time() - t0 < seconds:
        if squeue_empty(env):
            return True
        time.sleep(1)
    print(sh(["squeue"], env, check_rc=False).stdout)
    check(False, f"{what}: the queue emptied within {seconds} s")
    return False


def statuses(study_dir):
    out = {}
    for path in sorted(glob.glob(os.path.join(study_dir, "runs", "*.h5"))):
        with h5py.File(path, "r") as f:
            out[os.path.basename(path)[:-3]] = f.attrs["status"].decode()
    return out


def env_for(a):
    env = dict(os.environ)
    env["SLURM_CONF"] = os.path.join(a.cluster, "slurm.conf")
    env["MRPC_HOME"] = a.home
    env["MRPC_BINDIR"] = a.bindir
    env["MRPC_DATA_DIR"] = a.data
    return env


def start(a):
    shutil.rmtree(a.cluster, ignore_errors=True)
    r = subprocess.run([os.path.join(a.home, "scripts/slurm-local.sh"), "start", a.cluster], capture_output=True,
                       text=True, timeout=120)
    print(r.stdout, r.stderr)
    check(r.returncode == 0, "cluster started")


def stop(a):
    r = subprocess.run([os.path.join(a.home, "scripts/slurm-local.sh"), "stop", a.cluster], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "cluster stopped")


def pipeline(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    tiny_study.write(study_dir, a.data)
    study = os.path.join(study_dir, "study.yaml")
    r = sh([os.path.join(a.home, "slurm/pipeline.sh"), "--dry-run", study], env)
    check(r.returncode == 0 and "sbatch" in r.stderr and "--dependency=afterany:DRYRUN" in r.stderr,
          "dry run prints the sbatch commands")
    shutil.rmtree(study_dir)
    tiny_study.write(study_dir, a.data)
    r = sh([os.path.join(a.home, "slurm/pipeline.sh"), study], env)
    check(r.returncode == 0, f"pipeline submitted: {r.stderr[-500:]}")
    # Cancel the last task of the first wave before it runs: it ends without a record.
    jobs = sh(["squeue", "-h", "-r", "-o", "%i %j"], env).stdout.split("\n")
    array = [j.split()[0] for j in jobs if "-sens-" in j]
    victim = None
    if array:
        victim = array[0].split("_")[0] + "_16"
        sh(["scancel", victim], env, check_rc=False)
    check(victim is not None, "found the first wave's array job")
    wait_queue_empty(env, 900, "pipeline")
    st = statuses(study_dir)
    check(len(st) == 44, f"44 records (45 planned, one cancelled): {len(st)}")
    check(all(v == "completed" for v in st.values()), "every record that exists is completed")
    check("sens-00-016-max_grad_norm-high" not in st, "the cancelled task left no record")
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "status", "--study", study], env)
    check(r.returncode == 0 and "done" in r.stdout.lower(), f"the study is done: {r.stdout[-400:]}")
    check(os.path.exists(os.path.join(study_dir, "report", "report.html")), "the last optimize step wrote the report")
    logs = glob.glob(os.path.join(study_dir, "waves", "*", "*", "logs", "*.out"))
    check(len(logs) >= 44, f"per-task logs %A_%a ({len(logs)})")


def stage2(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    tiny_study.write(study_dir, a.data)
    study = os.path.join(study_dir, "study.yaml")
    env["MRPC_STUDY"] = study
    # Stage 1 with local processes (fast), then plan the grid wave.
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "next", "--study", study], env)
    wave = r.stdout.split("wave_dir=")[1].split("\n")[0]
    for i in range(17):
        sh([os.path.join(a.bindir, "mrpc-train"), "--wave", wave, "--task-id", str(i), "-q"], env)
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "next", "--study", study, "--finalize"], env)
    check("waves/grid/00" in r.stdout, f"grid wave planned: {r.stdout}")
    grid = os.path.join(study_dir, "waves", "grid", "00")
    with open(os.path.join(grid, "tasks.tsv")) as fh:
        n = sum(1 for _ in fh) - 1
    check(n == 20, f"20 grid tasks, as slurm/stage2_grid.sh expects ({n})")
    # A mismatched range first: every task stops with the right command.
    r = sh(["sbatch", "--parsable", "--array=0-3", f"--chdir={a.work}", os.path.join(a.home, "slurm/stage2_grid.sh")],
           env)
    wait_queue_empty(env, 120, "mismatched array")
    outs = glob.glob(os.path.join(a.work, "mrpc-mrpc-grid-*_0.out"))
    text = open(outs[0]).read() if outs else ""
    check("does not match" in text and "--array=0-19" in text, f"mismatch is a clear error: {text[-300:]}")
    check(not glob.glob(os.path.join(study_dir, "runs", "grid-*.h5")), "no grid run started on a mismatch")
    # Now exactly as a user would: sbatch slurm/stage2_grid.sh from the project directory.
    r = subprocess.run(["sbatch", os.path.join("slurm", "stage2_grid.sh")], cwd=a.home, env=env, capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, f"sbatch slurm/stage2_grid.sh: {r.stdout} {r.stderr}")
    wait_queue_empty(env, 600, "stage 2")
    st = statuses(study_dir)
    grid_runs = {k: v for k, v in st.items() if k.startswith("grid-")}
    check(len(grid_runs) == 20 and all(v == "completed" for v in grid_runs.values()),
          f"all 20 grid runs completed ({len(grid_runs)})")
    for f in glob.glob(os.path.join(a.home, "mrpc-mrpc-grid-*.out")):
        shutil.move(f, a.work)


def requeue(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    tiny_study.write(study_dir, a.data, slow=True)
    study = os.path.join(study_dir, "study.yaml")
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "next", "--study", study], env)
    wave = r.stdout.split("wave_dir=")[1].split("\n")[0]
    # The same task run locally, uninterrupted, as the reference.
    ref = sh([os.path.join(a.bindir, "mrpc-train"), "--wave", wave, "--task-id", "0", "-q", "--set",
              f"output={a.work}/reference.h5"], env, timeout=300)
    check(ref.returncode == 0, "reference run completed")
    r = sh(["sbatch", "--parsable", "--array=0-16", f"--chdir={a.work}", os.path.join(wave, "wave.sbatch")], env)
    job = r.stdout.strip().split(";")[0]
    log = os.path.join(wave, "logs", f"{job}_0.out")
    t0 = time.time()
    requeued = False
    while time.time() - t0 < 120:
        text = open(log).read() if os.path.exists(log) else ""
        if " step 60/" in text:
            sh(["scontrol", "requeue", f"{job}_0"], env)
            requeued = True
            break
        time.sleep(0.2)
    check(requeued, "task 0 was requeued mid-run")
    # scancel the other 16 tasks: only task 0 matters here.
    sh(["scancel", f"{job}_[1-16]"], env, check_rc=False)
    wait_queue_empty(env, 300, "requeue")
    path = os.path.join(study_dir, "runs", "sens-00-000-baseline.h5")
    text = open(log).read() if os.path.exists(log) else ""
    check("resumes at step" in text, f"the requeued task resumed from its checkpoint: {text[-400:]}")
    with h5py.File(path, "r") as f, h5py.File(os.path.join(a.work, "reference.h5"), "r") as g:
        check(f.attrs["status"].decode() == "completed", "requeued run completed")
        for k in ["train/loss", "train/learning_rate", "train/grad_norm", "eval/accuracy", "eval/loss",
                  "eval/predictions"]:
            check(f[k][:].tobytes() == g[k][:].tobytes(), f"{k} equals the uninterrupted run bit for bit")


def mpi(a):
    env = env_for(a)
    cfg = os.path.join(a.work, "run.yaml")
    tiny_study.write(a.work, a.data)
    os.rename(os.path.join(a.work, "base.yaml"), cfg)
    script = os.path.join(a.work, "mpi.sh")
    with open(script, "w") as fh:
        fh.write(f"""#!/bin/bash
#SBATCH --ntasks=2
#SBATCH --cpus-per-task=1
#SBATCH --output={a.work}/mpi.out
srun --mpi=pmix {a.bindir}/mrpc-train --config {cfg} -q --set output={a.work}/np2.h5
""")
    sh(["sbatch", script], env)
    r1 = sh([os.path.join(a.bindir, "mrpc-train"), "--config", cfg, "-q", "--set", f"output={a.work}/np1.h5"], env)
    wait_queue_empty(env, 300, "mpi")
    print(open(os.path.join(a.work, "mpi.out")).read()[-500:])
    with h5py.File(os.path.join(a.work, "np2.h5"), "r") as f, h5py.File(os.path.join(a.work, "np1.h5"), "r") as g:
        check(int(f.attrs["n_ranks"]) == 2 and f.attrs["status"].decode() == "completed", "2 ranks under srun")
        d = np.max(np.abs(f["train/loss"][:] - g["train/loss"][:]))
        check(d < 1e-5, f"same losses as one rank ({d:.2e})")
        check(np.array_equal(f["eval/predictions"][:], g["eval/predictions"][:]), "same predictions")


def local(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    tiny_study.write(study_dir, a.data)
    r = sh([os.path.join(a.bindir, "mrpc-pipeline"), "run", os.path.join(study_dir, "study.yaml"), "--jobs", "2"], env,
           timeout=900)
    check(r.returncode == 0, f"mrpc-pipeline run completed: {r.stderr[-500:]}")
    st = statuses(study_dir)
    check(len(st) == 45 and all(v == "completed" for v in st.values()), f"45 completed records ({len(st)})")
    check("report.html" in r.stdout, "the report path is printed")
    # Running it again does nothing new: every task is final, the study is done.
    r = sh([os.path.join(a.bindir, "mrpc-pipeline"), "run", os.path.join(study_dir, "study.yaml"), "--no-report"], env)
    check(r.returncode == 0 and "running" not in r.stderr, "a second run finds the study done")


def main():
    ap = argparse.ArgumentParser()
    for k in ["home", "bindir", "data", "work", "cluster"]:
        ap.add_argument("--" + k, required=True)
    ap.add_argument("check", choices=["start", "stop", "pipeline", "stage2", "requeue", "mpi", "local"])
    a = ap.parse_args()
    if a.check not in ("start", "stop"):
        shutil.rmtree(a.work, ignore_errors=True)
        os.makedirs(a.work)
    globals()[a.check](a)
    print(f"{a.check}: {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

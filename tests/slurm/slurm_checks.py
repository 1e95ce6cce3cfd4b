#!/usr/bin/python3
"""Tests of the Slurm side on a real one-node cluster (scripts/slurm-local.sh).

    slurm_checks.py --home SRC --bindir BUILD --data DIR --work DIR --cluster DIR CHECK

start / stop   start or stop the private cluster in --cluster (the ctest fixture)
pipeline       slurm/pipeline.sh runs a tiny study through all three stages unattended;
               one task of the first wave is cancelled (it ends without a record), is run
               again in a retry wave and the study completes; a report is written; the
               optimize steps log into the waves; --dry-run before it writes nothing
stage2         `sbatch slurm/stage2_grid.sh` runs the current grid wave on its own; an
               array range that does not match the wave stops with a clear message
requeue        a task requeued mid-run (scontrol requeue) resumes from its checkpoint and
               its record equals an uninterrupted run's
mpi            srun --mpi=pmix -n 2 runs a data-parallel task; same result as one rank
refuse         before a study exists (and before its first wave) `sbatch slurm/stage1_sensitivity.sh`
               says once how to create it and cancels the array: no task trains; the same
               script run without sbatch refuses before anything is queued
byhand         the README's by-hand flow, command by command, in a fresh project layout
               (init, next, sbatch stage1, next, sbatch stage2, next, sbatch stage3 twice,
               next says done, mrpc-analyze); logs only under the waves
pinned         an array of slurm/stage3_bayes.sh runs the wave that existed when it was
               submitted, even when a newer wave is planned before it starts
elsewhere      wave.sbatch and a stage script submitted from another directory, without
               MRPC_HOME, run their tasks; so does a stage script run without sbatch
fixed_hash     (e2e, no Slurm) mrpc-train --wave refuses a task when the base config's fixed
               settings changed after the wave was planned; other edits and constants pass
"""
import argparse
import glob
import os
import re
import shutil
import signal
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


def tree_state(root):
    """Every path under root with its type, size and mtime: equal states = nothing written."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            out[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def read(path):
    with open(path) as fh:
        return fh.read()


def env_user(a):
    """The environment of a user in a fresh clone: no MRPC_HOME, MRPC_BINDIR or MRPC_STUDY."""
    env = env_for(a)
    for k in ["MRPC_HOME", "MRPC_BINDIR", "MRPC_STUDY"]:
        env.pop(k, None)
    return env


def project_copy(a):
    """A project directory laid out as a fresh clone after the build: slurm/ and
    build/release/ (links to the tree under test and its binaries)."""
    proj = os.path.join(a.work, "proj")
    os.makedirs(os.path.join(proj, "build"))
    os.symlink(os.path.join(a.home, "slurm"), os.path.join(proj, "slurm"))
    os.symlink(a.bindir, os.path.join(proj, "build", "release"))
    return proj


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
    before = tree_state(study_dir)
    home_logs = set(glob.glob(os.path.join(a.home, "mrpc-*.out")))
    r = sh([os.path.join(a.home, "slurm/pipeline.sh"), "--dry-run", study], env)
    check(r.returncode == 0 and "sbatch" in r.stderr and "--dependency=afterany:DRYRUN" in r.stderr,
          "dry run prints the sbatch commands")
    check("waves/sensitivity/00" in r.stderr, "dry run names the wave it would plan")
    check(tree_state(study_dir) == before, "dry run wrote nothing into the study")
    check(squeue_empty(env), "dry run submitted nothing")
    # The real run on the same study: the dry run left nothing behind that could stop it.
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
    check(len(st) == 45 and all(v == "completed" for v in st.values()), f"45 completed records: {len(st)}")
    # The cancelled task ended without a record: an infrastructure failure, run again in a retry wave.
    retry = os.path.join(study_dir, "waves", "sensitivity", "01", "tasks.tsv")
    check(os.path.exists(retry) and "sens-00-016-max_grad_norm-high" in read(retry),
          "the cancelled task was run again in a retry wave")
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "status", "--study", study], env)
    check(r.returncode == 0 and "done" in r.stdout.lower(), f"the study is done: {r.stdout[-400:]}")
    check(os.path.exists(os.path.join(study_dir, "report", "report.html")), "the last optimize step wrote the report")
    logs = glob.glob(os.path.join(study_dir, "waves", "*", "*", "logs", "*_*.out"))
    check(len(logs) >= 44, f"per-task logs %A_%a ({len(logs)})")
    opt_logs = glob.glob(os.path.join(study_dir, "waves", "*", "*", "logs", "optimize-*.out"))
    waves = glob.glob(os.path.join(study_dir, "waves", "*", "[0-9][0-9]"))
    check(len(opt_logs) == len(waves) == 5,
          f"one optimize-<job>.out per wave, in the wave's logs ({len(opt_logs)} logs, {len(waves)} waves)")
    check(set(glob.glob(os.path.join(a.home, "mrpc-*.out"))) == home_logs, "no log in the project directory")


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
    outs = glob.glob(os.path.join(a.work, "mrpc-grid-*_*.out"))
    text = "".join(read(o) for o in outs)
    check("does not match" in text and "--array=0-19" in text, f"mismatch is a clear error: {text[-300:]}")
    check(1 <= len(outs) <= 4, f"said by the tasks that started, the rest of the array cancelled ({len(outs)})")
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
    left = glob.glob(os.path.join(a.home, "mrpc-grid-*.out"))
    for f in left:
        shutil.move(f, a.work)
    check(not left, f"no task log left in the submit directory ({len(left)})")
    logs = glob.glob(os.path.join(grid, "logs", "*_*.out"))
    check(len(logs) == 20 and all("runs " + grid in read(p) for p in logs), f"20 task logs in {grid}/logs")


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


def trainer_of_task(wave, task):
    """PIDs of the mrpc-train processes running row `task` of `wave` (all ranks)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"mrpc-train") and wave.encode() in argv and b"--task-id" in argv and \
                argv[argv.index(b"--task-id") + 1] == str(task).encode():
            pids.append(int(d))
    return pids


def kill9(a):
    """A task's trainer killed with SIGKILL (as the OOM killer or a dying node would), then the
    task requeued: it resumes from its latest periodic checkpoint, not from step 0, and the
    record equals an uninterrupted run's."""
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    tiny_study.write(study_dir, a.data, slow=True)
    with open(os.path.join(study_dir, "base.yaml"), "a") as fh:
        fh.write("save_strategy: steps\nsave_steps: 20\n")
    study = os.path.join(study_dir, "study.yaml")
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "next", "--study", study], env)
    wave = r.stdout.split("wave_dir=")[1].split("\n")[0]
    ref = sh([os.path.join(a.bindir, "mrpc-train"), "--wave", wave, "--task-id", "0", "-q", "--set",
              f"output={a.work}/reference.h5", "--set", f"resume_checkpoint={a.work}/reference.resume"], env,
             timeout=300)
    check(ref.returncode == 0, "reference run completed")
    r = sh(["sbatch", "--parsable", "--array=0-16", f"--chdir={a.work}", os.path.join(wave, "wave.sbatch")], env)
    job = r.stdout.strip().split(";")[0]
    log = os.path.join(wave, "logs", f"{job}_0.out")
    sh(["scancel", f"{job}_[1-16]"], env, check_rc=False)  # only task 0 matters here
    t0, killed = time.time(), []
    while time.time() - t0 < 180 and not killed:
        text = open(log).read() if os.path.exists(log) else ""
        if " step 50/" in text:  # past the checkpoint after step 40
            killed = trainer_of_task(wave, 0)
            for p in killed:
                os.kill(p, signal.SIGKILL)
        time.sleep(0.1)
    check(bool(killed), f"the trainer of task 0 was killed with SIGKILL after step 50 (pids {killed})")
    time.sleep(1)
    sh(["scontrol", "requeue", f"{job}_0"], env, check_rc=False)
    wait_queue_empty(env, 300, "kill9")
    text = open(log).read() if os.path.exists(log) else ""
    m = re.search(r"resumes at step (\d+) ", text)
    check(m is not None and 40 <= int(m.group(1)) <= 50,
          f"the requeued task resumed from its latest checkpoint (step {m.group(1) if m else None}): {text[-400:]}")
    path = os.path.join(study_dir, "runs", "sens-00-000-baseline.h5")
    with h5py.File(path, "r") as f, h5py.File(os.path.join(a.work, "reference.h5"), "r") as g:
        check(f.attrs["status"].decode() == "completed", "the killed and requeued run completed")
        for k in ["train/loss", "train/learning_rate", "train/grad_norm", "eval/accuracy", "eval/loss",
                  "eval/predictions"]:
            check(f[k][:].tobytes() == g[k][:].tobytes(), f"{k} equals the uninterrupted run bit for bit")
        ck = f["checkpoints"].attrs
        check(int(ck["resumes"]) == 1 and 0 <= int(ck["steps_redone"]) <= 20,
              f"/checkpoints: 1 resume, at most one period redone ({int(ck['resumes'])}, {int(ck['steps_redone'])})")


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


def refuse(a):
    proj = project_copy(a)
    env = env_user(a)
    study = os.path.join(proj, "studies", "default", "study.yaml")

    def run(cmd):
        return subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True, timeout=60, shell=True)

    # Without sbatch: refused before anything is queued.
    r = run("slurm/stage1_sensitivity.sh")
    check(r.returncode == 2 and "mrpc-pipeline init" in r.stderr and "nothing submitted" in r.stderr,
          f"slurm/stage1_sensitivity.sh refuses with the command that creates the study: {r.stderr}")
    check(squeue_empty(env), "nothing was queued")
    # With sbatch, before any study: one message with the create command, the array cancelled.
    r = run("sbatch slurm/stage1_sensitivity.sh")
    check(r.returncode == 0, f"sbatch accepted the script: {r.stdout} {r.stderr}")
    wait_queue_empty(env, 120, "no study")
    outs = glob.glob(os.path.join(proj, "mrpc-sensitivity-*_*.out"))
    text = "".join(read(o) for o in outs)
    check(f"mrpc-pipeline init {os.path.dirname(study)}" in text and f"mrpc-optimize next --study {study}" in text,
          f"the task log gives the commands that create the study and plan its wave: {text[-600:]}")
    check(1 <= len(outs) <= 4, f"the array was cancelled by its first tasks: {len(outs)} of 17 started")
    check(not os.path.exists(os.path.join(proj, "studies")), "nothing was written and no task trained")
    for o in outs:
        os.unlink(o)
    # A study without a wave yet: the same, with the command that plans it.
    r = run("build/release/mrpc-pipeline init studies/default")
    check(r.returncode == 0 and os.path.exists(study), "mrpc-pipeline init created the study")
    r = run("sbatch slurm/stage1_sensitivity.sh")
    wait_queue_empty(env, 120, "no wave")
    outs = glob.glob(os.path.join(proj, "mrpc-sensitivity-*_*.out"))
    text = "".join(read(o) for o in outs)
    check(f"mrpc-optimize next --study {study}" in text and "no sensitivity wave" in text,
          f"no wave yet: the log says how to plan it: {text[-400:]}")
    check(1 <= len(outs) <= 4 and not os.path.exists(os.path.join(os.path.dirname(study), "runs")),
          f"the array was cancelled, nothing trained ({len(outs)} started)")
    r = run("slurm/stage1_sensitivity.sh")
    check(r.returncode == 2 and "mrpc-optimize next --study" in r.stderr and squeue_empty(env),
          "without sbatch: refused, nothing queued")


# The README's by-hand Slurm flow, as it shows it (run from the project directory).
BYHAND = [
    "build/release/mrpc-pipeline init studies/default",
    "build/release/mrpc-optimize next --study studies/default/study.yaml",
    "sbatch slurm/stage1_sensitivity.sh",
    "build/release/mrpc-optimize next --study studies/default/study.yaml",
    "sbatch slurm/stage2_grid.sh",
    "build/release/mrpc-optimize next --study studies/default/study.yaml",
    "sbatch slurm/stage3_bayes.sh",
    "build/release/mrpc-optimize next --study studies/default/study.yaml",
    "sbatch slurm/stage3_bayes.sh",
    "build/release/mrpc-optimize next --study studies/default/study.yaml",
    "build/release/mrpc-analyze studies/default --out studies/default/report",
]


def byhand(a):
    proj = project_copy(a)
    env = env_user(a)
    study_dir = os.path.join(proj, "studies", "default")
    outputs = []
    for cmd in BYHAND:
        r = subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True, timeout=300, shell=True)
        outputs.append(r.stdout)
        check(r.returncode == 0, f"{cmd}: exit {r.returncode} {r.stdout[-300:]} {r.stderr[-500:]}")
        if cmd.endswith("init studies/default"):
            # The only step that is not the README's: a tiny model instead of the default one.
            tiny_study.write_base(study_dir, a.data)
        if cmd.startswith("sbatch"):
            wait_queue_empty(env, 600, cmd)
    nexts = [o for c, o in zip(BYHAND, outputs) if " next " in c]
    for o, w in zip(nexts, ["sensitivity/00", "grid/00", "bayes/00", "bayes/01"]):
        check(f"waves/{w}" in o, f"next planned {w}")
    check(nexts[-1].strip() == "done", f"the last next says done: {nexts[-1]}")
    st = statuses(study_dir)
    check(len(st) == 45 and all(v == "completed" for v in st.values()), f"45 completed records ({len(st)})")
    check(os.path.exists(os.path.join(study_dir, "report", "report.html")), "mrpc-analyze wrote the report")
    logs = glob.glob(os.path.join(study_dir, "waves", "*", "*", "logs", "*_*.out"))
    check(len(logs) == 45, f"one log per task, in its wave's logs/ ({len(logs)})")
    check(not glob.glob(os.path.join(proj, "*.out")), "no log in the project directory")


def pinned(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    tiny_study.write_mini(study_dir, a.data, "bayes")
    study = os.path.join(study_dir, "study.yaml")
    env["MRPC_STUDY"] = study
    opt = os.path.join(a.bindir, "mrpc-optimize")
    r = sh([opt, "next", "--study", study], env)
    check("waves/bayes/00" in r.stdout, "bayes wave 00 planned")
    # Submitted now, held so that it cannot start before the next wave is planned.
    r = sh(["sbatch", "--parsable", "--hold", "--array=0-1", f"--chdir={a.work}",
            os.path.join(a.home, "slurm/stage3_bayes.sh")], env)
    job = r.stdout.strip().split(";")[0]
    time.sleep(1.5)  # wave times and SubmitTime have a resolution of one second
    wave0 = os.path.join(study_dir, "waves", "bayes", "00")
    for i in range(2):
        sh([os.path.join(a.bindir, "mrpc-train"), "--wave", wave0, "--task-id", str(i), "-q"], env)
    r = sh([opt, "next", "--study", study], env)
    check("waves/bayes/01" in r.stdout, f"bayes wave 01 planned while the array waits: {r.stdout}")
    sh(["scontrol", "release", job], env)
    wait_queue_empty(env, 180, "pinned")
    logs = [os.path.join(wave0, "logs", f"{job}_{i}.out") for i in range(2)]
    texts = [read(p) if os.path.exists(p) else "" for p in logs]
    check(all(f"runs {wave0} " in t for t in texts), f"both tasks ran wave 00, the one submitted for: {texts}")
    check(not glob.glob(os.path.join(study_dir, "runs", "bayes-01-*.h5")), "no task of wave 01 ran")
    pin = os.path.join(study_dir, "waves", "bayes", f".array-{job}")
    check(os.path.islink(pin) and os.readlink(pin) == "00", "the array's wave is recorded for its requeued tasks")


def elsewhere(a):
    other = os.path.join(a.work, "elsewhere")
    os.makedirs(other)
    # wave.sbatch as mrpc-optimize prints it, from another directory, without MRPC_HOME/MRPC_BINDIR.
    env = env_user(a)
    s1 = os.path.join(a.work, "s1")
    tiny_study.write_mini(s1, a.data)
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "next", "--study", os.path.join(s1, "study.yaml")], env)
    cmd = r.stdout.split("sbatch=")[1].split("\n")[0].split()
    r = subprocess.run(cmd, cwd=other, env=env, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"{' '.join(cmd)} from {other}: {r.stdout} {r.stderr}")
    # A stage script by its absolute path from another directory (MRPC_BINDIR: this build is not build/release).
    s2 = os.path.join(a.work, "s2")
    tiny_study.write_mini(s2, a.data)
    env2 = dict(env, MRPC_STUDY=os.path.join(s2, "study.yaml"), MRPC_BINDIR=a.bindir)
    sh([os.path.join(a.bindir, "mrpc-optimize"), "next", "--study", env2["MRPC_STUDY"]], env2)
    r = subprocess.run(["sbatch", "--array=0-2", os.path.join(a.home, "slurm/stage1_sensitivity.sh")], cwd=other,
                       env=env2, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"sbatch {a.home}/slurm/stage1_sensitivity.sh from {other}: {r.stdout} {r.stderr}")
    # A stage script run without sbatch: it submits the wave's own wave.sbatch.
    s3 = os.path.join(a.work, "s3")
    tiny_study.write_mini(s3, a.data)
    sh([os.path.join(a.bindir, "mrpc-optimize"), "next", "--study", os.path.join(s3, "study.yaml")], env)
    r = subprocess.run([os.path.join(a.home, "slurm/stage1_sensitivity.sh"), os.path.join(s3, "study.yaml")], cwd=other,
                       env=env, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and "waves/sensitivity/00 is array job" in r.stderr,
          f"slurm/stage1_sensitivity.sh STUDY (without sbatch) submitted the wave: {r.stdout} {r.stderr}")
    wait_queue_empty(env, 180, "elsewhere")
    for d in (s1, s2, s3):
        st = statuses(d)
        check(len(st) == 3 and all(v == "completed" for v in st.values()), f"{d}: 3 completed records ({st})")
        logs = glob.glob(os.path.join(d, "waves", "sensitivity", "00", "logs", "*_*.out"))
        check(len(logs) == 3, f"{d}: the task logs are in the wave ({len(logs)})")
    left = os.listdir(other)
    check(not left, f"nothing written into the submit directory ({left})")


def fixed_hash(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    tiny_study.write_mini(study_dir, a.data, constant=True)  # a constant: a column outside the hash
    base = os.path.join(study_dir, "base.yaml")
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "next", "--study", os.path.join(study_dir, "study.yaml")], env)
    wave = r.stdout.split("wave_dir=")[1].split("\n")[0]
    train = os.path.join(a.bindir, "mrpc-train")
    r = sh([train, "--wave", wave, "--task-id", "0", "-q"], env)
    check(r.returncode == 0, f"the base config as planned: task 0 trains: {r.stderr[-300:]}")
    text = read(base)
    with open(base, "w") as fh:
        fh.write(text.replace("train_batch_size: 16", "train_batch_size: 8"))
    r = sh([train, "--wave", wave, "--task-id", "1", "-q"], env, check_rc=False)
    check(r.returncode == 2 and "fixed_hash" in r.stderr and base in r.stderr,
          f"a fixed setting changed after planning: refused (exit 2) naming {base}: {r.returncode} {r.stderr}")
    check(not os.path.exists(os.path.join(study_dir, "runs", "sens-00-001-learning_rate-low.h5")), "nothing written")
    with open(base, "w") as fh:
        fh.write(text.replace("progress_seconds: 0", "progress_seconds: 5"))
    r = sh([train, "--wave", wave, "--task-id", "1", "-q"], env)
    check(r.returncode == 0, "a setting that is not a hyperparameter may change")
    with h5py.File(os.path.join(study_dir, "runs", "sens-00-001-learning_rate-low.h5"), "r") as f:
        check(f.attrs["status"].decode() == "completed", "and the task completes")


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
    ap.add_argument("check", choices=["start", "stop", "pipeline", "stage2", "requeue", "kill9", "mpi", "local",
                                      "refuse", "byhand", "pinned", "elsewhere", "fixed_hash"])
    a = ap.parse_args()
    if a.check not in ("start", "stop"):
        shutil.rmtree(a.work, ignore_errors=True)
        os.makedirs(a.work)
    globals()[a.check](a)
    print(f"{a.check}: {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

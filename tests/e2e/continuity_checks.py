#!/usr/bin/python3
"""A study goes on after an interruption as if nothing had happened (label e2e).

    continuity_checks.py --bindir BUILD --data DIR --work DIR CHECK

interrupt-sensitivity, interrupt-grid, interrupt-bayes
        mrpc-pipeline runs a small three-stage study; during the named stage it gets SIGINT
        the way Ctrl-C sends it (to its whole process group) and exits 75 with the running
        trainers checkpointed; the same command then finishes the study. Every run record
        equals the one of an uninterrupted run of the same study (datasets bit for bit,
        attributes except times and host) and so does every wave file (tasks.tsv,
        wave.yaml, wave.sbatch, finalized) and sensitivity.yaml.
retry   a run that ends without a final record is an infrastructure failure, not a result:
        one trainer exits 75 (checkpoint, never rerun), another resumes from its checkpoint
        and is killed with SIGKILL; `mrpc-optimize next --finalize` retries both, with their
        run ids and records, in a wave of their own; one completes (resumed from its
        checkpoint), the other is interrupted again, and with `retries: 1` spent it counts
        failed. status shows the retried runs; mrpc-pipeline retries a trainer killed with
        SIGKILL by itself and completes the study.
"""
import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "slurm"))
import tiny_study  # noqa: E402

FAILURES = []

# Attributes that say when and where a run ran, not what it computed.
TIMING_ATTRS = {"/@start_time", "/@end_time", "/@host", "summary@train_seconds", "summary@tokens_per_second"}


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def write_study(dir_, data, retries=None):
    tiny_study.write_base(dir_, data, model=(64, 2, 2, 128), n_train=512, n_eval=64, epochs=2)
    return tiny_study.write_study(dir_, "cont", 5, """\
  warmup_steps: {distribution: int_uniform, min: 0, max: 10, baseline: 0}
  max_grad_norm: {distribution: uniform, min: 0.1, max: 5.0, baseline: 1.0}
stages:
  sensitivity: {top_k: 2, seeds: 1}
  grid: {}
  bayes: {budget: 4, wave_size: 2}
slurm: {time: "00:10:00", cpus_per_task: 1}
""" + (f"retries: {retries}\n" if retries is not None else ""))


def run(cmd, timeout=300):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r


def flatten(path, study_dir):
    """Every dataset and attribute of a record; paths inside text made relative to the study."""
    out = {}
    with h5py.File(path, "r") as f:
        def one(name, obj):
            if isinstance(obj, h5py.Dataset):
                out["D:" + name] = np.asarray(obj[()]).tobytes()
            for k, v in obj.attrs.items():
                out[name + "@" + k] = v
        for k, v in f.attrs.items():
            out["/@" + k] = v
        f.visititems(one)
    for k, v in out.items():
        if isinstance(v, bytes) and k.startswith("/@"):
            out[k] = v.replace(study_dir.encode(), b"<study>")
    return out


def same_value(a, b):
    if isinstance(a, (bytes, str)) or isinstance(b, (bytes, str)):
        return a == b
    return np.asarray(a).tobytes() == np.asarray(b).tobytes() and np.asarray(a).dtype == np.asarray(b).dtype


def wave_files(study_dir):
    """waves/**: every file but the logs, its text with the study directory written <study>."""
    out = {}
    for path in glob.glob(os.path.join(study_dir, "waves", "**", "*"), recursive=True):
        rel = os.path.relpath(path, study_dir)
        if os.path.isdir(path) or "/logs/" in "/" + rel + "/" or rel.split("/")[-2] == "logs":
            continue
        with open(path, "rb") as fh:
            out[rel] = fh.read().replace(study_dir.encode(), b"<study>")
    for name in ["sensitivity.yaml"]:
        p = os.path.join(study_dir, name)
        if os.path.exists(p):
            with open(p, "rb") as fh:
                out[name] = fh.read()
    return out


def compare_studies(ref_dir, dir_):
    ref_runs = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ref_dir, "runs", "*.h5")))
    runs = sorted(os.path.basename(p) for p in glob.glob(os.path.join(dir_, "runs", "*.h5")))
    check(ref_runs == runs and len(runs) > 0, f"the same {len(ref_runs)} run records ({len(runs)})")
    check(not glob.glob(os.path.join(dir_, "runs", "*.resume")), "no resume checkpoint is left over")
    differ = []
    for name in sorted(set(ref_runs) & set(runs)):
        a = flatten(os.path.join(ref_dir, "runs", name), ref_dir)
        b = flatten(os.path.join(dir_, "runs", name), dir_)
        # /checkpoints counts how often this run was stopped and resumed: bookkeeping, not results.
        keys = {k for k in (set(a) | set(b)) - TIMING_ATTRS if not k.startswith("checkpoints")}
        bad = [k for k in sorted(keys) if k not in a or k not in b or not same_value(a[k], b[k])]
        if bad:
            differ.append(f"{name}: {bad[:4]}")
    check(not differ, "every record equals the uninterrupted run's (datasets bit for bit, attributes but times/host)"
          + ("" if not differ else ": " + "; ".join(differ[:5])))
    wa, wb = wave_files(ref_dir), wave_files(dir_)
    check(sorted(wa) == sorted(wb), f"the same wave files ({len(wa)} vs {len(wb)}): "
          f"{sorted(set(wa) ^ set(wb))[:6]}")
    bad = [k for k in sorted(set(wa) & set(wb)) if wa[k] != wb[k]]
    check(not bad, f"every wave file and sensitivity.yaml is byte-identical {bad[:5]}")


PREFIX = {"sensitivity": "sens-", "grid": "grid-", "bayes": "bayes-"}


def interrupt(a, stage):
    pipeline = os.path.join(a.bindir, "mrpc-pipeline")
    ref_dir = os.path.join(a.work, "reference")
    study = write_study(ref_dir, a.data)
    r = run([pipeline, "run", study, "--jobs", "2", "--no-report"])
    if not check(r.returncode == 0, f"uninterrupted run completed: {r.stderr[-400:]}"):
        return

    dir_ = os.path.join(a.work, "interrupted")
    study = write_study(dir_, a.data)
    runs = os.path.join(dir_, "runs")
    interrupted = False
    for attempt in range(3):
        # Ctrl-C goes to the terminal's foreground process group: the driver and every trainer.
        p = subprocess.Popen([pipeline, "run", study, "--jobs", "2", "--no-report"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        t0 = time.time()
        while p.poll() is None and time.time() - t0 < 240:
            if glob.glob(os.path.join(runs, PREFIX[stage] + "*.h5")):
                time.sleep(0.15)
                os.killpg(p.pid, signal.SIGINT)
                break
            time.sleep(0.02)
        out, err = p.communicate(timeout=120)
        interrupted = p.returncode == 75
        if not check(interrupted, f"SIGINT during the {stage} stage: exit 75 (got {p.returncode}): {err[-300:]}"):
            return
        if glob.glob(os.path.join(runs, "*.resume")):
            break
        print(f"(no trainer was mid-run at the signal; attempt {attempt + 1})", flush=True)
    check(glob.glob(os.path.join(runs, "*.resume")) != [], "a trainer was stopped mid-run with a resume checkpoint")
    r = run([pipeline, "run", study, "--jobs", "2", "--no-report"])
    check(r.returncode == 0, f"the same command finished the study: {r.stderr[-600:]}")
    check("mrpc-pipeline: continuing " in r.stderr, f"it continued the stopped wave first: {r.stderr[:300]}")
    r = run([os.path.join(a.bindir, "mrpc-optimize"), "status", "--study", study])
    check(r.returncode == 0 and "next: done" in r.stdout and " 0 missing" in r.stdout and "retried" not in r.stdout,
          f"status: done, nothing missing or retried: {r.stdout[-600:]}")
    compare_studies(ref_dir, dir_)


def start_task(a, wave, task, extra=()):
    return subprocess.Popen([os.path.join(a.bindir, "mrpc-train"), "--wave", wave, "--task-id", str(task), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_mid_run(a, wave, task, record, sig):
    """Starts the task and sends `sig` once it is training; returns (exit code, stderr)."""
    p = start_task(a, wave, task)
    t0 = time.time()
    while p.poll() is None and time.time() - t0 < 60:
        if os.path.exists(record):
            time.sleep(0.25)
            p.send_signal(sig)
            break
        time.sleep(0.01)
    _, err = p.communicate(timeout=60)
    return p.returncode, err


def retry(a):
    optimize = os.path.join(a.bindir, "mrpc-optimize")
    dir_ = os.path.join(a.work, "study")
    study = write_study(dir_, a.data, retries=1)
    r = run([optimize, "next", "--study", study])
    wave = r.stdout.split("wave_dir=")[1].split("\n")[0]
    with open(os.path.join(wave, "tasks.tsv")) as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh][1:]
    ids = [row[1] for row in rows]
    rec = {i: os.path.join(dir_, "runs", i + ".h5") for i in ids}
    a_id, b_id = ids[3], ids[5]
    for t, run_id in enumerate(ids):
        if run_id == a_id:
            # Stopped with a checkpoint (time limit, preemption) and never run again.
            code, err = stop_mid_run(a, wave, t, rec[run_id], signal.SIGTERM)
            check(code == 75 and os.path.exists(rec[run_id] + ".resume"), f"{a_id}: exit 75 with a checkpoint ({code})")
        elif run_id == b_id:
            # Stopped with a checkpoint, resumed, then killed outright (node failure, kill -9).
            code, err = stop_mid_run(a, wave, t, rec[run_id], signal.SIGTERM)
            check(code == 75, f"{b_id}: exit 75 ({code})")
            p = start_task(a, wave, t)
            time.sleep(0.3)
            p.kill()
            p.communicate()
            check(p.returncode == -9 and os.path.exists(rec[run_id] + ".resume"),
                  f"{b_id}: killed with SIGKILL after its checkpoint ({p.returncode})")
        else:
            check(start_task(a, wave, t, ["-q"]).wait() == 0, f"{run_id} completed")
    r = run([optimize, "next", "--study", study])
    check("pending=2" in r.stdout and "--finalize" in r.stderr, f"before finalize: pending=2 and how to go on: {r.stderr}")
    r = run([optimize, "status", "--study", study])
    check(f"{optimize} next --study {study} --finalize" in r.stdout,
          f"status prints the exact command that finalizes: {r.stdout[-500:]}")
    # The array ended: the two runs are retried, not imputed.
    r = run([optimize, "next", "--study", study, "--finalize"])
    check("waves/sensitivity/01" in r.stdout and "retry of 2 runs" in r.stderr,
          f"--finalize plans a retry wave: {r.stdout} {r.stderr[-300:]}")
    retry_wave = os.path.join(dir_, "waves", "sensitivity", "01")
    with open(os.path.join(retry_wave, "tasks.tsv")) as fh:
        rrows = [line.rstrip("\n").split("\t") for line in fh][1:]
    check([row[1] for row in rrows] == [a_id, b_id], f"the retry wave lists the two runs by their ids: {rrows}")
    check([row[2] for row in rrows] == [f"runs/{a_id}.h5", f"runs/{b_id}.h5"], "with their record paths")
    orig = {row[1]: row[3:] for row in rows}
    check(all(row[3:] == orig[row[1]] for row in rrows), "and their values")
    check(not os.path.exists(os.path.join(dir_, "sensitivity.yaml")),
          "no sensitivity analysis yet: nothing is imputed for the interrupted runs")
    # A resumes and completes; B is interrupted again.
    p = start_task(a, retry_wave, 0)
    _, err = p.communicate(timeout=120)
    check(p.returncode == 0 and "resumes at step" in err, f"{a_id} resumed from its checkpoint and completed: {err[-300:]}")
    with h5py.File(rec[a_id], "r") as f:
        check(f.attrs["status"].decode() == "completed", f"{a_id}: its one record says completed")
    code, _ = stop_mid_run(a, retry_wave, 1, rec[b_id], signal.SIGTERM)
    check(code == 75, f"{b_id} interrupted again ({code})")
    r = run([optimize, "status", "--study", study])
    check("retried runs: 2" in r.stdout and f"{b_id}: 2 attempts" in r.stdout, f"status shows the retried runs: {r.stdout}")
    # retries: 1 is spent: B counts failed; the study moves on to the grid.
    r = run([optimize, "next", "--study", study, "--finalize"])
    check("waves/grid/00" in r.stdout, f"retries spent: on to the grid: {r.stdout} {r.stderr[-300:]}")
    r = run([optimize, "status", "--study", study])
    check("stage sensitivity: 2 waves, 7 runs: 6 completed, 0 failed, 0 diverged, 1 missing, 0 pending; 2 retried"
          in r.stdout, f"each run counted once, B failed after its retry: {r.stdout}")
    sens = open(os.path.join(dir_, "sensitivity.yaml")).read()
    check("state: missing" in sens and "imputed: true" in sens, "B's level is now imputed as failed")
    r = run([os.path.join(a.bindir, "mrpc-analyze"), dir_, "--out", os.path.join(a.work, "report1")])
    html = open(os.path.join(a.work, "report1", "report.html")).read() if r.returncode in (0, 1) else ""
    check("2 retried after ending without a final record" in html and " running" not in html.split("runs: ")[1][:200],
          f"the report counts the retried runs and calls none of them running: {r.stdout[-300:]} {r.stderr[-300:]}")
    check("after 1 retry: counted failed" in html, "the report says why B failed")

    # mrpc-pipeline: a trainer killed with SIGKILL (not a stop of the driver) is retried by itself.
    dir2 = os.path.join(a.work, "pipeline")
    study2 = write_study(dir2, a.data)
    p = subprocess.Popen([os.path.join(a.bindir, "mrpc-pipeline"), "run", study2, "--jobs", "2", "--no-report"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    victim = os.path.join(dir2, "runs", "sens-00-002-learning_rate-high.h5")
    killed = False
    t0 = time.time()
    while p.poll() is None and time.time() - t0 < 120 and not killed:
        if os.path.exists(victim):
            r = run(["pgrep", "-f", "-s", str(p.pid), "task-id 2( |$)"])
            for pid in r.stdout.split():
                os.kill(int(pid), signal.SIGKILL)
                killed = True
        time.sleep(0.01)
    out, err = p.communicate(timeout=600)
    check(killed, "a trainer was killed with SIGKILL")
    check(p.returncode == 0, f"mrpc-pipeline completed the study: {err[-500:]}")
    check("retry of 1 run" in err, "it retried the killed run in a wave of its own")
    with h5py.File(victim, "r") as f:
        check(f.attrs["status"].decode() == "completed", "the killed run's record completed on the retry")
    r = run([optimize, "status", "--study", study2])
    check("retried runs: 1" in r.stdout and " 0 missing" in r.stdout and "next: done" in r.stdout,
          f"status: one retried run, none missing, done: {r.stdout[-800:]}")
    r = run([os.path.join(a.bindir, "mrpc-analyze"), dir2, "--out", os.path.join(a.work, "report2")])
    html = open(os.path.join(a.work, "report2", "report.html")).read() if r.returncode == 0 else ""
    check("13 runs: 13 completed (1 retried after ending without a final record)" in html,
          f"the report of the finished study shows the retried run: {r.stderr[-300:]}")


def main():
    ap = argparse.ArgumentParser()
    for k in ["bindir", "data", "work"]:
        ap.add_argument("--" + k, required=True)
    ap.add_argument("check", choices=["interrupt-sensitivity", "interrupt-grid", "interrupt-bayes", "retry"])
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    if a.check.startswith("interrupt-"):
        interrupt(a, a.check.split("-", 1)[1])
    else:
        retry(a)
    print(f"{a.check}: {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

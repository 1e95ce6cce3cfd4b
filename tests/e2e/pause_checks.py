#!/usr/bin/python3
"""End-to-end checks of pausing a run at a rung boundary (pause_after_epoch) and promoting it:

    pause_checks.py --bin path/to/mrpc-train --data MRPC_DATA_DIR --work DIR CHECK

  promote       pause after epoch 1 of 3 (record "paused", paused_epoch 1, one evaluation, the
                checkpoint kept, exit 0, the partial record equal to the start of an uninterrupted
                run); started again with the same pause it does nothing; then pause after epoch 2,
                then to the end: the final record equals the uninterrupted run's bit for bit
  promote-mpi   the same with 2 MPI ranks (against a 2-rank uninterrupted run); skipped without mpirun
  promote-bf16  the same in bf16
  signal        the promoted segment is stopped by SIGTERM (exit 75) and later killed with -9; the
                run resumes from its latest checkpoint each time and still ends bit-equal
  errors        pause_after_epoch negative, not an integer, a float: errors naming file:line:column
                (or --set, or tasks.tsv:line:column); --print-config documents it; a pause whose
                checkpoint cannot be written runs on to the end instead (warned); a paused run whose
                checkpoint was removed trains again from the start (and says so)
  wave          a wave's tasks.tsv column pause_after_epoch (mrpc-train --wave): the row pauses, a row
                of 0 runs to the end, a wave without the column runs to the end whatever the base
                config says, and a later wave's row of the same run with 0 promotes it

Exit 0 when every assertion holds, 1 otherwise, 77 when a needed tool is missing.
"""
import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Checks, digest_diff, launch, mpirun_cmd, record_digest, trainer_pids, write_config  # noqa: E402

check = Checks()
STEPS_PER_EPOCH = 40  # 640 pairs, batches of 16
STEP_RE = re.compile(r" step (\d+)/(\d+) ")
SMALL = dict(dim=32, hidden=64)


def attrs(path):
    with h5py.File(path, "r", locking=False) as f:
        out = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        out["n_train"] = f["train/step"].shape[0]
        out["eval_epoch"] = [int(x) for x in f["eval/epoch"][:]]
        out["has_summary"] = "summary" in f
        out["ck"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f["checkpoints"].attrs.items()} \
            if "checkpoints" in f else {}
        out["train_loss"] = f["train/loss"][:].tobytes()
        out["eval_acc"] = f["eval/accuracy"][:].tobytes()
    return out


def sha(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def why(r):
    """The end of a failed command's stderr, for a check's message."""
    return "" if r.returncode == 0 else f" (exit {r.returncode}: {r.stderr.strip()[-300:]})"


def train(a, cwd, prefix, sets, quiet=True):
    cmd = prefix + [a.bin, "--config", "run.yaml"] + (["-q"] if quiet else []) + sets
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def setup(a, name, extra=""):
    d = os.path.join(a.work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    write_config(os.path.join(d, "run.yaml"), a.data, epochs=3, extra="threads: 1\n" + extra, **SMALL)
    return d


def reference(a, prefix, extra=""):
    d = setup(a, "ref", extra)
    r = train(a, d, prefix, [])
    if not check(r.returncode == 0, "uninterrupted reference run completed" + why(r)):
        return None, None
    rec = os.path.join(d, "runs/run.h5")
    return record_digest(rec), attrs(rec)


def pause_segment(a, d, prefix, k, ref_attrs, label):
    """Runs the same run with pause_after_epoch=k < 3 and checks the paused record."""
    rec, ckpt = os.path.join(d, "runs/run.h5"), os.path.join(d, "runs/run.h5.resume")
    r = train(a, d, prefix, ["--set", f"pause_after_epoch={k}"], quiet=False)
    check(r.returncode == 0, f"{label}: pause after epoch {k}: exit 0{why(r)}")
    check(f"paused after epoch {k} of 3" in r.stderr, f"{label}: says it paused after epoch {k}")
    if not os.path.exists(rec):
        check(False, f"{label}: record written")
        return
    at = attrs(rec)
    check(at["status"] == "paused" and at.get("paused_epoch") == k,
          f"{label}: record paused, paused_epoch {k} (status {at['status']}, {at.get('paused_epoch')})")
    check(at["status_reason"] == f"paused after epoch {k} of 3", f"{label}: status_reason ({at['status_reason']})")
    check(at["eval_epoch"] == list(range(1, k + 1)) and at["n_train"] == k * STEPS_PER_EPOCH and not at["has_summary"],
          f"{label}: {k} evaluation(s), {k * STEPS_PER_EPOCH} steps, no summary ({at['eval_epoch']}, {at['n_train']})")
    check(at["ck"].get("kept") == 1 and os.path.exists(ckpt), f"{label}: resume checkpoint kept ({at['ck'].get('kept')})")
    check("pause_after_epoch" not in at.get("config", ""), f"{label}: pause_after_epoch is not in the recorded config")
    # The partial record is the uninterrupted run's beginning.
    n = k * STEPS_PER_EPOCH
    check(at["train_loss"] == ref_attrs["train_loss"][:8 * n] and at["eval_acc"] == ref_attrs["eval_acc"][:8 * k],
          f"{label}: the paused record is the start of the uninterrupted one, bit for bit")


def promote(a, prefix=(), extra="", label="promote"):
    prefix = list(prefix)
    ref, ref_attrs = reference(a, prefix, extra)
    if ref is None:
        return
    d = setup(a, "run", extra)
    rec, ckpt = os.path.join(d, "runs/run.h5"), os.path.join(d, "runs/run.h5.resume")
    pause_segment(a, d, prefix, 1, ref_attrs, label)
    # Started again with the same pause: already paused, nothing done.
    before, ck_before = sha(rec), sha(ckpt) if os.path.exists(ckpt) else None
    r = train(a, d, prefix, ["--set", "pause_after_epoch=1"])
    check(r.returncode == 0 and "already paused after epoch 1" in r.stderr,
          f"{label}: the same pause again: exit 0 and says so{why(r)}")
    check(sha(rec) == before and os.path.exists(ckpt) and sha(ckpt) == ck_before,
          f"{label}: ... and leaves the record and the checkpoint as they were")
    pause_segment(a, d, prefix, 2, ref_attrs, label)
    r = train(a, d, prefix, ["--set", "pause_after_epoch=0"], quiet=False)
    check(r.returncode == 0 and "resumes at step 80" in r.stderr,
          f"{label}: promoted to the end: resumes at step 80, exit 0{why(r)}")
    at = attrs(rec)
    check(at["status"] == "completed" and "paused_epoch" not in at and at["ck"].get("kept") == 0 and not os.path.exists(ckpt),
          f"{label}: completed, paused_epoch gone, checkpoint removed")
    check(at["ck"].get("resumes") == 2, f"{label}: two resumes counted ({at['ck'].get('resumes')})")
    diff = digest_diff(ref, record_digest(rec))
    check(not diff, f"{label}: final record equals the uninterrupted run's bit for bit (differs: {diff[:6]})")


def run_watched(cmd, cwd, until_step, sig):
    """Starts cmd, sends `sig` to every trainer once a progress line shows step >= until_step."""
    p = launch(cmd, cwd)
    sent, resumed_at = False, None
    for line in p.stderr:
        m = re.search(r" resumes at step (\d+) ", line)
        if m:
            resumed_at = int(m.group(1))
        m = STEP_RE.search(line)
        if m and not sent and int(m.group(1)) >= until_step:
            for pid in trainer_pids(p):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            sent = True
    p.wait()
    return p.returncode, sent, resumed_at


def signal_check(a):
    extra = "save_strategy: steps\nsave_steps: 10\n"
    ref, ref_attrs = reference(a, [], extra)
    if ref is None:
        return
    d = setup(a, "run", extra)
    rec = os.path.join(d, "runs/run.h5")
    pause_segment(a, d, [], 1, ref_attrs, "signal")
    cmd = [a.bin, "--config", "run.yaml", "--set", "pause_after_epoch=0"]
    rc, sent, resumed = run_watched(cmd, d, 55, signal.SIGTERM)
    check(sent and resumed == 40 and rc == 75, f"signal: promoted run resumed at 40, SIGTERM at step >= 55: exit 75 "
                                               f"(got {rc}, resumed at {resumed}, sent {sent})")
    at = attrs(rec)
    check(at["status"] == "running" and "paused_epoch" not in at, f"signal: stopped record says running ({at['status']})")
    rc, sent, resumed = run_watched(cmd, d, 95, signal.SIGKILL)
    check(sent and resumed is not None and resumed >= 55 and rc != 0,
          f"signal: resumed from the stop checkpoint ({resumed}), killed with -9 at step >= 95 (exit {rc})")
    r = train(a, d, [], ["--set", "pause_after_epoch=0"], quiet=False)
    m = re.search(r" resumes at step (\d+) ", r.stderr)
    check(r.returncode == 0 and m and int(m.group(1)) >= 90,
          f"signal: resumed from the latest periodic checkpoint ({m.group(1) if m else None}) and completed "
          f"(exit {r.returncode})")
    diff = digest_diff(ref, record_digest(rec))
    check(not diff, f"signal: final record equals the uninterrupted run's bit for bit (differs: {diff[:6]})")


def errors(a):
    d = setup(a, "errors")
    base = open(os.path.join(d, "run.yaml")).read()
    n_lines = base.count("\n")
    for value, what in (("-1", "out of range"), ("abc", "expected an integer"), ("1.5", "expected an integer")):
        with open(os.path.join(d, "bad.yaml"), "w") as fh:
            fh.write(base + f"pause_after_epoch: {value}\n")
        r = subprocess.run([a.bin, "--config", "bad.yaml", "-q"], cwd=d, capture_output=True, text=True)
        where = f"bad.yaml:{n_lines + 1}:20"
        check(r.returncode == 2 and where in r.stderr and "pause_after_epoch" in r.stderr and what in r.stderr,
              f"errors: pause_after_epoch: {value} -> exit 2 naming {where} ({r.returncode}: {r.stderr.strip()[-200:]})")
    r = subprocess.run([a.bin, "--config", "run.yaml", "--set", "pause_after_epoch=-3", "-q"], cwd=d,
                       capture_output=True, text=True)
    check(r.returncode == 2 and "--set" in r.stderr and "pause_after_epoch" in r.stderr,
          f"errors: --set pause_after_epoch=-3 refused ({r.stderr.strip()[-200:]})")
    check(not os.path.exists(os.path.join(d, "runs/run.h5")), "errors: nothing was written")
    r = subprocess.run([a.bin, "--config", "run.yaml", "--print-config"], cwd=d, capture_output=True, text=True)
    check(r.returncode == 0 and re.search(r"^  *pause_after_epoch: 0  # stop after", r.stdout, re.M) is None
          and re.search(r"^pause_after_epoch: 0  # stop after this epoch", r.stdout, re.M) is not None,
          "errors: --print-config documents pause_after_epoch")
    # A pause whose checkpoint cannot be written would lose the run: it goes on to the end instead.
    r = subprocess.run([a.bin, "--config", "run.yaml", "--set", "pause_after_epoch=1", "--set",
                        f"resume_checkpoint={d}/no-such-dir/run.resume", "-q"], cwd=d, capture_output=True, text=True)
    at = attrs(os.path.join(d, "runs/run.h5")) if os.path.exists(os.path.join(d, "runs/run.h5")) else {"status": None}
    check(r.returncode == 0 and "cannot pause after epoch 1" in r.stderr and at["status"] == "completed"
          and at["eval_epoch"] == [1, 2, 3] and at["ck"].get("failed") == 1,
          f"errors: an unwritable pause checkpoint: warned, and the run completed instead ({at['status']}){why(r)}")
    # A paused run whose checkpoint was cleaned up: started again, it trains from the start (and says so).
    rec = os.path.join(d, "runs/run.h5")
    r1 = subprocess.run([a.bin, "--config", "run.yaml", "--set", "pause_after_epoch=1", "-q"], cwd=d,
                        capture_output=True, text=True)
    if os.path.exists(rec + ".resume"):
        os.remove(rec + ".resume")
    r = subprocess.run([a.bin, "--config", "run.yaml", "-q"], cwd=d, capture_output=True, text=True)
    at = attrs(rec) if os.path.exists(rec) else {"status": None, "eval_epoch": None, "ck": {}}
    check(r1.returncode == 0 and r.returncode == 0 and "resume checkpoint" in r.stderr and "is gone" in r.stderr
          and at["status"] == "completed" and at["eval_epoch"] == [1, 2, 3] and at["ck"].get("resumes") == 0,
          f"errors: a paused run without its checkpoint trains again from the start, and says so{why(r)}")
    # A task row with a bad value names tasks.tsv:line:column.
    wd = make_wave(a, d, "00", [("0", "r0", "runs/r0.h5", "abc")])
    r = subprocess.run([a.bin, "--wave", wd, "--task-id", "0", "-q"], cwd=d, capture_output=True, text=True)
    check(r.returncode == 2 and "tasks.tsv:2:" in r.stderr and "pause_after_epoch" in r.stderr,
          f"errors: a bad tasks.tsv cell names tasks.tsv:line:column ({r.stderr.strip()[-200:]})")


def make_wave(a, study, num, rows, column=True):
    """A wave directory written by hand (no `searched` list: the fixed settings are not checked)."""
    wd = os.path.join(study, "waves", "grid", num)
    os.makedirs(wd, exist_ok=True)
    cols = ["task_id", "run_id", "output", "learning_rate"] + (["pause_after_epoch"] if column else [])
    with open(os.path.join(wd, "tasks.tsv"), "w") as fh:
        fh.write("\t".join(cols) + "\n")
        for row in rows:
            cells = [row[0], row[1], row[2], "0.001"] + ([row[3]] if column else [])
            fh.write("\t".join(cells) + "\n")
    with open(os.path.join(wd, "wave.yaml"), "w") as fh:
        fh.write(f'format: "mrpc-tune wave"\nformat_version: 1\nstudy: s\nstage: grid\nwave: {int(num)}\n'
                 f'study_dir: "{study}"\nstudy_file: "{study}/study.yaml"\nbase_config: "{study}/run.yaml"\n'
                 f'runs_dir: runs\nfixed_hash: "0123456789abcdef"\nn_tasks: {len(rows)}\n'
                 f'columns: [{", ".join(cols)}]\n')
    return wd


def wave(a):
    d = setup(a, "wave", "pause_after_epoch: 2\n")  # the base config's pause is the wave's to override
    w0 = make_wave(a, d, "00", [("0", "p1", "runs/p1.h5", "1"), ("1", "full", "runs/full.h5", "0")])
    for task, want, epochs in (("0", "paused", [1]), ("1", "completed", [1, 2, 3])):
        r = subprocess.run([a.bin, "--wave", w0, "--task-id", task, "-q"], cwd=d, capture_output=True, text=True)
        out = os.path.join(d, "runs", ("p1" if task == "0" else "full") + ".h5")
        at = attrs(out) if os.path.exists(out) else {"status": None, "eval_epoch": None}
        check(r.returncode == 0 and at["status"] == want and at["eval_epoch"] == epochs,
              f"wave: task {task} with pause_after_epoch column: {want} after {epochs} (got {at['status']}, "
              f"{at['eval_epoch']}){why(r)}")
    w1 = make_wave(a, d, "01", [("0", "nocol", "runs/nocol.h5")], column=False)
    r = subprocess.run([a.bin, "--wave", w1, "--task-id", "0", "-q"], cwd=d, capture_output=True, text=True)
    at = attrs(os.path.join(d, "runs/nocol.h5")) if r.returncode == 0 else {"status": None}
    check(r.returncode == 0 and at["status"] == "completed",
          f"wave: no pause_after_epoch column: runs to the end despite the base config ({at['status']})")
    w2 = make_wave(a, d, "02", [("0", "p1", "runs/p1.h5", "0")])
    r = subprocess.run([a.bin, "--wave", w2, "--task-id", "0"], cwd=d, capture_output=True, text=True)
    at = attrs(os.path.join(d, "runs/p1.h5"))
    check(r.returncode == 0 and "resumes at step 40" in r.stderr and at["status"] == "completed"
          and at["eval_epoch"] == [1, 2, 3] and not os.path.exists(os.path.join(d, "runs/p1.h5.resume")),
          f"wave: a later wave's row with 0 promotes the paused run to the end ({at['status']}, {at['eval_epoch']})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("check", choices=["promote", "promote-mpi", "promote-bf16", "signal", "errors", "wave"])
    a = ap.parse_args()
    a.work = os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    if a.check == "promote":
        promote(a)
    elif a.check == "promote-mpi":
        mpi = mpirun_cmd(2)
        if not mpi:
            print("skip: mpirun not found")
            return 77
        promote(a, prefix=mpi, label="promote 2 ranks")
    elif a.check == "promote-bf16":
        promote(a, extra="precision: bf16\n", label="promote bf16")
    elif a.check == "signal":
        signal_check(a)
    elif a.check == "errors":
        errors(a)
    elif a.check == "wave":
        wave(a)
    if check.failures:
        print(f"{len(check.failures)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

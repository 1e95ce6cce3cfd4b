#!/usr/bin/env python3
"""kill -9 at any moment costs at most one checkpoint period, and the finished record is
the uninterrupted run's, bit for bit.

  random   Many runs (fp32 and bf16 on one rank, and 2 MPI ranks) with a checkpoint every
           SAVE_STEPS steps, each killed with SIGKILL at a random moment (on 2 ranks: one
           rank, or all), then started again with the same command, and killed again, until
           it completes. For every restart the steps trained again (the last step the dead
           process printed minus the step the new one resumes at) are at most SAVE_STEPS;
           every finished record equals the uninterrupted run's; no checkpoint or temp file
           is left; the record's /checkpoints group counts the resumes.

  unwritable A run whose checkpoints cannot be written (no such directory) completes, warns
           once per failed checkpoint, and its record says so in /checkpoints.

  stopfull A stop signal when the disk (a small tmpfs) has no room for the stop's checkpoint:
           the earlier periodic one stays, exit 75, and the rerun resumes from it.

  midwrite A larger model whose checkpoint takes a while to write, killed while the
           checkpoint's temp file is being written: the previous checkpoint is used (the
           run resumes at the step before), the temp file is cleaned up, and the finished
           record equals the uninterrupted one.

    kill9_check.py --bin mrpc-train --data DIR --work DIR [--kills N] [--seed S] random|midwrite
"""
import argparse
import glob
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import h5py

from harness import Checks, digest_diff, launch, mpirun_cmd, record_digest, trainer_pids, write_config

check = Checks()
SAVE_STEPS = 10
STEP_RE = re.compile(r" step (\d+)/(\d+) ")
RESUME_RE = re.compile(r" resumes at step (\d+) ")


def reference(a, work, prefix, sets, extra, dim=64, hidden=128):
    ref_dir = os.path.join(work, "ref")
    shutil.rmtree(ref_dir, ignore_errors=True)
    os.makedirs(ref_dir)
    write_config(os.path.join(ref_dir, "run.yaml"), a.data, dim=dim, hidden=hidden, extra=extra)
    t0 = time.time()
    r = subprocess.run(prefix + [a.bin, "--config", "run.yaml", "-q"] + sets, cwd=ref_dir, capture_output=True,
                       text=True)
    ok = check(r.returncode == 0, f"{work}: uninterrupted reference run completed ({time.time() - t0:.1f} s)"
               + ("" if r.returncode == 0 else ": " + r.stderr[-400:]))
    return (record_digest(os.path.join(ref_dir, "runs/run.h5")), time.time() - t0) if ok else (None, 0)


class Watcher:
    """Reads a trainer's stderr in a thread: the last step printed and where it resumed."""

    def __init__(self, proc):
        self.proc, self.last_step, self.resumed_at, self.lines, self.seen = proc, 0, None, [], False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            m = STEP_RE.search(line)
            if m:
                self.last_step, self.seen = int(m.group(1)), True
            m = RESUME_RE.search(line)
            if m:
                self.resumed_at = self.last_step = int(m.group(1))
                self.seen = True

    def finish(self):
        self.proc.wait()
        self.thread.join(timeout=10)


def completed(record):
    """The record says completed: the kill came after the run's end (nothing to resume)."""
    try:
        with h5py.File(record, "r") as f:
            status = f.attrs.get("status", b"")
            return (status.decode() if isinstance(status, bytes) else str(status)) == "completed"
    except (OSError, KeyError):
        return False


def kill_all(proc, rng, n):
    pids = trainer_pids(proc)
    if n > 1 and pids and rng.random() < 0.5:
        pids = [rng.choice(pids)]  # one rank dies: mpirun must take the others down
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return bool(pids)


def random_variant(a, rng, name, prefix, n, sets, kills, counts):
    work = os.path.join(a.work, "random", name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    extra = f"save_strategy: steps\nsave_steps: {SAVE_STEPS}\n"
    ref, duration = reference(a, work, prefix, sets, extra)
    if ref is None:
        return
    done_kills, runs, problems, worst_redo, i = 0, 0, [], 0, 0
    while done_kills < kills:
        run_dir = os.path.join(work, f"r{i:03d}")
        i += 1
        os.makedirs(run_dir)
        write_config(os.path.join(run_dir, "run.yaml"), a.data, extra=extra)
        last_dead_step, resumes, restarts = None, 0, 0
        for attempt in range(10):
            proc = launch(prefix + [a.bin, "--config", "run.yaml"] + sets, run_dir)
            w = Watcher(proc)
            runs += 1
            killed = False
            if attempt < 4 and done_kills < kills:
                deadline = time.time() + rng.uniform(0.05, duration * 1.1)
                while time.time() < deadline and proc.poll() is None:
                    time.sleep(0.005)
                if proc.poll() is None:
                    killed = kill_all(proc, rng, n)
            w.finish()
            if last_dead_step is not None:
                restarts += 1
            if last_dead_step is not None and w.seen:
                # Resumed from the latest checkpoint (or from the start, before the first one).
                start = w.resumed_at if w.resumed_at is not None else 0
                resumes += w.resumed_at is not None
                redo = last_dead_step - start
                worst_redo = max(worst_redo, redo)
                if redo > SAVE_STEPS or start > last_dead_step + 1:
                    problems.append(f"{run_dir}: died at step {last_dead_step}, restarted at step {start}")
            record = os.path.join(run_dir, "runs/run.h5")
            if killed and proc.returncode != 0 and not completed(record):
                done_kills += 1
                if w.seen or last_dead_step is None:  # killed before it said anything: it got no further
                    last_dead_step = w.last_step
                continue
            if killed and proc.returncode != 0:
                # Killed after the record said completed: the same command again only cleans up.
                again = subprocess.run(prefix + [a.bin, "--config", "run.yaml"] + sets, cwd=run_dir,
                                       capture_output=True, text=True)
                runs += 1
                if again.returncode != 0 or " resumes at step" in again.stderr:
                    problems.append(f"{run_dir}: rerun after a kill past completion: exit {again.returncode}: "
                                    f"{again.stderr[-300:]}")
                if "had completed" not in again.stderr:  # no stale checkpoint: it trained the run afresh
                    resumes = restarts = 0
            elif proc.returncode != 0:
                problems.append(f"{run_dir}: exit {proc.returncode}: {''.join(w.lines[-3:])}")
                break
            digest = record_digest(os.path.join(run_dir, "runs/run.h5"))
            diff = digest_diff(ref, digest)
            if diff:
                problems.append(f"{run_dir}: record differs in {', '.join(diff[:5])}")
            left = glob.glob(os.path.join(run_dir, "runs/run.h5.resume*"))
            if left:
                problems.append(f"{run_dir}: left behind {', '.join(os.path.basename(x) for x in left)}")
            with h5py.File(record, "r") as f:
                counted = int(f["checkpoints"].attrs["resumes"]) if "checkpoints" in f else -1
            if not resumes <= counted <= restarts:  # a restart killed before it printed may have resumed too
                problems.append(f"{run_dir}: /checkpoints says {counted} resumes; {resumes} restarts were seen "
                                f"resuming, of {restarts}")
            break
        else:
            problems.append(f"{run_dir}: never completed")
        if not problems:
            shutil.rmtree(run_dir)
    counts["kills"] += done_kills
    counts["runs"] += runs
    check(not problems, f"{name}: {done_kills} kill -9 over {runs} processes: every run completed, no restart redid "
          f"more than {SAVE_STEPS} steps (worst {worst_redo}), records equal the uninterrupted one, nothing left"
          + ("" if not problems else ": " + " | ".join(problems[:4])))


def random_kills(a):
    rng = random.Random(a.seed)
    counts = {"kills": 0, "runs": 0}
    variants = [("fp32_1thread", [], 1, ["--set", "threads=1"], 0.4),
                ("bf16_1thread", [], 1, ["--set", "threads=1", "--set", "precision=bf16"], 0.3)]
    mpi = mpirun_cmd()
    if mpi:
        variants.append(("mpi_2ranks", mpi, 2, ["--set", "threads=1"], 0.3))
    else:
        print("note: mpirun not found; the 2-rank variant is not run")
    total = sum(v[4] for v in variants)
    for name, prefix, n, sets, share in variants:
        random_variant(a, rng, name, prefix, n, sets, max(1, round(a.kills * share / total)), counts)
    print(f"kill -9: {counts['kills']} kills over {counts['runs']} trainer processes (seed {a.seed})")


def midwrite(a):
    work = os.path.join(a.work, "midwrite")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # dim 256: the checkpoint (parameters and two AdamW moments) is about 95 MB, written in a fraction
    # of a second, every 4 steps.
    extra = "save_strategy: steps\nsave_steps: 4\n"
    sets = ["--set", "threads=2"]
    ref, _ = reference(a, work, [], sets, extra, dim=256, hidden=256)
    if ref is None:
        return
    run_dir = os.path.join(work, "run")
    os.makedirs(run_dir)
    write_config(os.path.join(run_dir, "run.yaml"), a.data, dim=256, hidden=256, extra=extra)
    resume = os.path.join(run_dir, "runs/run.h5.resume")
    caught, problems, killed_at, killed_tmp = 0, [], None, None
    for attempt in range(10):
        proc = launch([a.bin, "--config", "run.yaml"] + sets, run_dir)
        w = Watcher(proc)
        tmp_seen = None
        stale = set(glob.glob(resume + ".tmp.*"))  # left by the process killed before: not a write in progress
        while caught < 3 and proc.poll() is None:
            # Kill while a checkpoint's temp file is being written and a complete one exists.
            tmps = [t for t in glob.glob(resume + ".tmp.*") if t not in stale and os.path.getsize(t) > 0]
            if tmps and os.path.exists(resume):
                tmp_seen = tmps[0]
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.0005)
        w.finish()
        if killed_at is not None:
            # The restart after a kill inside a checkpoint write resumed from the complete one before it.
            if w.resumed_at is None or w.resumed_at % 4 != 0 or not 0 <= killed_at - w.resumed_at <= 4:
                problems.append(f"killed inside the checkpoint write after step {killed_at}: resumed at {w.resumed_at}")
            if os.path.exists(killed_tmp):
                problems.append(f"{os.path.basename(killed_tmp)} was not cleaned up by the next start")
            killed_at = killed_tmp = None
        if tmp_seen:
            caught += 1
            killed_at, killed_tmp = w.last_step, tmp_seen
            check(os.path.exists(tmp_seen), f"midwrite {caught}: killed while {os.path.basename(tmp_seen)} was being "
                  f"written (after step {w.last_step})")
            continue
        if proc.returncode != 0:
            problems.append(f"attempt {attempt}: exit {proc.returncode}: {''.join(w.lines[-3:])}")
        break
    check(caught >= 2, f"midwrite: {caught} kills landed inside a checkpoint write")
    path = os.path.join(run_dir, "runs/run.h5")
    diff = digest_diff(ref, record_digest(path) if os.path.exists(path) else {})
    check(not diff, "midwrite: the finished record equals the uninterrupted one"
          + ("" if not diff else ": " + ", ".join(diff[:5])))
    check(not problems, "midwrite: each restart resumed from the previous complete checkpoint, temp files removed"
          + ("" if not problems else ": " + " | ".join(problems[:4])))


def unwritable(a):
    """A periodic checkpoint that cannot be written does not end the run."""
    work = os.path.join(a.work, "unwritable")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    extra = f"save_strategy: steps\nsave_steps: {SAVE_STEPS}\nresume_checkpoint: {work}/no-such-dir/run.resume\n"
    ref, _ = reference(a, work, [], ["--set", "threads=1", "--set", "save_strategy=no"], "")
    write_config(os.path.join(work, "run.yaml"), a.data, extra=extra)
    r = subprocess.run([a.bin, "--config", "run.yaml", "--set", "threads=1"], cwd=work, capture_output=True, text=True)
    check(r.returncode == 0, f"unwritable: the run completed although no checkpoint could be written (exit {r.returncode})")
    warnings = [l for l in r.stderr.splitlines() if "could not be written" in l and "training goes on" in l]
    check(len(warnings) == 7, f"unwritable: one warning per failed checkpoint on stderr ({len(warnings)} of 7)")
    record = os.path.join(work, "runs/run.h5")
    with h5py.File(record, "r") as f:
        ck = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f["checkpoints"].attrs.items()}
    check(ck["failed"] == 7 and ck["written"] == 0 and "No such file or directory" in ck["note"],
          f"unwritable: /checkpoints says 7 failed, none written, and why: {ck}")
    diff = [k for k in (digest_diff(ref, record_digest(record)) if ref else ["reference"]) if k != "@config"]
    check(not diff, "unwritable: the record equals a run without checkpoints (but for the config's save keys)"
          + ("" if not diff else ": " + ", ".join(diff[:5])))


def stopfull(a):
    """Stopped while the disk is too full for the stop's checkpoint: the earlier periodic one
    stays, the run exits 75 and resumes from it to the uninterrupted record."""
    work = os.path.join(a.work, "stopfull")
    mnt = os.path.join(work, "tmpfs")
    subprocess.run(["umount", mnt], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(mnt)
    # Room for one checkpoint of this model (about 23 MB) but not for a second beside it.
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=36m", "tmpfs", mnt], capture_output=True).returncode != 0:
        print("skip: cannot mount a tmpfs here (needs root)")
        sys.exit(77)
    try:
        extra = f"save_strategy: steps\nsave_steps: {SAVE_STEPS}\nresume_checkpoint: {mnt}/run.resume\n"
        ref, _ = reference(a, work, [], ["--set", "threads=1"], extra)
        write_config(os.path.join(work, "run.yaml"), a.data, extra=extra)
        proc = launch([a.bin, "--config", "run.yaml", "--set", "threads=1"], work)
        lines, stopped = [], False
        for line in proc.stderr:
            lines.append(line)
            if not stopped and "could not be written" in line:
                proc.send_signal(signal.SIGTERM)  # the next checkpoint, the stop's, cannot be written either
                stopped = True
        proc.wait()
        text = "".join(lines)
        check(stopped and proc.returncode == 75, f"stopfull: stopped with a full disk, exit 75 (got {proc.returncode})")
        check("the checkpoint after step 10 stays and the run resumes from there" in text,
              "stopfull: stderr says the earlier checkpoint stays" + ("" if stopped else ": " + text[-300:]))
        # The rerun writes no new checkpoint unless there is room: free it by resuming elsewhere is not
        # needed; it resumes from step 10 and trains on (its own checkpoints fail the same way, harmlessly).
        proc = launch([a.bin, "--config", "run.yaml", "--set", "threads=1"], work)
        w = Watcher(proc)
        w.finish()
        check(proc.returncode == 0 and w.resumed_at == 10,
              f"stopfull: the rerun resumed at step 10 and completed (exit {proc.returncode}, resumed at {w.resumed_at})")
        diff = digest_diff(ref, record_digest(os.path.join(work, "runs/run.h5"))) if ref else ["reference"]
        check(not diff, "stopfull: the finished record equals the uninterrupted one" +
              ("" if not diff else ": " + ", ".join(diff[:5])))
    finally:
        subprocess.run(["umount", mnt], capture_output=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--kills", type=int, default=36)
    p.add_argument("--seed", type=int, default=int(os.environ.get("MRPC_STORM_SEED", "0")) or None)
    p.add_argument("check", choices=["random", "midwrite", "unwritable", "stopfull"])
    a = p.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 1 << 30)
    a.bin = os.path.abspath(a.bin)
    os.makedirs(a.work, exist_ok=True)
    {"random": random_kills, "midwrite": midwrite, "unwritable": unwritable, "stopfull": stopfull}[a.check](a)
    if check.failures:
        print(f"{len(check.failures)} check(s) failed")
        sys.exit(1)
    print("all checks hold")


if __name__ == "__main__":
    main()

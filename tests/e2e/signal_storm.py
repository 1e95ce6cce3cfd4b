#!/usr/bin/env python3
"""Stop signals never crash mrpc-train, and every stopped run resumes to the same record.

Two checks:

  masks   While mrpc-train runs (1 rank with 2 threads, and 2 MPI ranks), every thread of every
          rank blocks SIGTERM, SIGUSR1, SIGINT and SIGHUP, except the one thread that waits for
          them ("mrpc-stopsig"), and no handler is installed for them. This is the design that
          makes the oneDNN crash impossible (a handler running on a thread inside oneDNN's JIT
          GEMM corrupts the heap): it holds on any CPU, whether or not its oneDNN kernels would
          crash.

  storm   Many short runs, each hit by TERM/USR1/INT/HUP at random moments (sometimes a burst of
          several, to land in the checkpoint write), then run again with the same command (and
          hit again) until it completes. Every stopped process must exit 75 (or 0 when it had
          already finished), never crash; every finished record must equal an uninterrupted
          run's bit for bit. Variants: fp32 1 thread (where the crash was most frequent), fp32 2
          threads, bf16, and 2 MPI ranks (signals sent to one rank or to both, as srun does).

    signal_storm.py --bin mrpc-train --data DIR --work DIR [--signals N] [--seed S] masks|storm

Prints one line per check and the counts (signals sent, runs, stops, crashes).
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from harness import (STOP_SIGNALS, Checks, default_signals, launch, mpirun_cmd, record_digest, digest_diff,
                     sigmask_has, status_field, trainer_pids, write_config)

check = Checks()


def ready(pids, n):
    """All n trainers have blocked the stop signals, or installed a handler for them (as the
    trainer before this design did): main has started and a signal is now a stop request."""
    if len(pids) != n:
        return False
    return all(sigmask_has(status_field(p, p, "SigBlk"), signal.SIGTERM) or
               sigmask_has(status_field(p, p, "SigCgt"), signal.SIGTERM) for p in pids)


def wait_ready(proc, n, timeout=60.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            return []
        pids = trainer_pids(proc)
        if ready(pids, n):
            return pids
        time.sleep(0.005)
    return []


# ---------------------------------------------------------------------------------- masks

def masks(a):
    mpi = mpirun_cmd()
    # (name, launcher, processes, settings, threads expected at least: main, waiter, OpenMP, MPI's)
    variants = [("1 rank, 2 threads, fp32", [], 1, ["--set", "threads=2"], 3),
                ("1 rank, 1 thread, bf16", [], 1, ["--set", "threads=1", "--set", "precision=bf16"], 2)]
    if mpi:
        variants.append(("2 MPI ranks", mpi, 2, ["--set", "threads=1"], 5))
    else:
        print("note: mpirun not found; the 2-rank variant is not run")
    for name, prefix, n, sets, min_threads in variants:
        work = os.path.join(a.work, "masks", name.replace(" ", "_").replace(",", ""))
        os.makedirs(work, exist_ok=True)
        cfg = os.path.join(work, "run.yaml")
        write_config(cfg, a.data, epochs=4)
        proc = launch(prefix + [a.bin, "--config", cfg, "-q"] + sets, work)
        pids = wait_ready(proc, n)
        check(len(pids) == n, f"{name}: {n} trainer process(es) started and blocked the stop signals")
        samples, threads_seen, bad = 0, set(), []
        while proc.poll() is None and samples < 400:
            for pid in pids:
                try:
                    tids = os.listdir(f"/proc/{pid}/task")
                except OSError:
                    continue
                caught = status_field(pid, pid, "SigCgt")
                for s in STOP_SIGNALS:
                    if caught is not None and sigmask_has(caught, s):
                        bad.append(f"pid {pid} has a handler for {signal.Signals(s).name}")
                for tid in tids:
                    try:
                        with open(f"/proc/{pid}/task/{tid}/comm") as fh:
                            comm = fh.read().strip()
                    except OSError:
                        continue
                    blk = status_field(pid, tid, "SigBlk")
                    if blk is None:
                        continue
                    threads_seen.add((pid, tid, comm))
                    if comm == "mrpc-stopsig":
                        continue  # blocked too, but sigwait unblocks them while it waits
                    for s in STOP_SIGNALS:
                        if not sigmask_has(blk, s):
                            bad.append(f"pid {pid} thread {tid} ({comm}) does not block {signal.Signals(s).name}")
            samples += 1
            time.sleep(0.01)
        err = proc.communicate()[1]
        waiters = [t for t in threads_seen if t[2] == "mrpc-stopsig"]
        check(samples >= 20, f"{name}: {samples} samples of every thread's signal mask taken during the run")
        check(len(threads_seen) >= min_threads,
              f"{name}: {len(threads_seen)} threads over {n} process(es) seen (at least {min_threads} expected)")
        check(len(waiters) == n, f"{name}: one stop-signal thread per process ({len(waiters)})")
        check(not bad, f"{name}: every other thread blocks TERM/USR1/INT/HUP, no handler installed"
              + ("" if not bad else ": " + "; ".join(sorted(set(bad))[:6])))
        check(proc.returncode == 0, f"{name}: the run completed (exit {proc.returncode})"
              + ("" if proc.returncode == 0 else ": " + err[-400:]))


# ---------------------------------------------------------------------------------- storm

def storm_variant(a, rng, name, prefix, n, sets, budget, counts):
    work = os.path.join(a.work, "storm", name)
    shutil.rmtree(work, ignore_errors=True)
    ref_dir = os.path.join(work, "ref")
    os.makedirs(ref_dir)
    write_config(os.path.join(ref_dir, "run.yaml"), a.data)
    t0 = time.time()
    r = subprocess.run(prefix + [a.bin, "--config", "run.yaml", "-q"] + sets, cwd=ref_dir, capture_output=True,
                       text=True, preexec_fn=default_signals)
    duration = time.time() - t0
    check(r.returncode == 0, f"{name}: uninterrupted reference run completed ({duration:.1f} s)"
          + ("" if r.returncode == 0 else ": " + r.stderr[-400:]))
    if r.returncode != 0:
        return
    ref = record_digest(os.path.join(ref_dir, "runs/run.h5"))
    sent, runs, mismatches, crashes, stops = 0, 0, [], [], 0
    i = 0
    while sent < budget:
        run_dir = os.path.join(work, f"r{i:03d}")
        i += 1
        os.makedirs(run_dir)
        write_config(os.path.join(run_dir, "run.yaml"), a.data)
        for attempt in range(12):
            proc = launch(prefix + [a.bin, "--config", "run.yaml", "-q"] + sets, run_dir)
            runs += 1
            hit = attempt < 6 and sent < budget
            pids = wait_ready(proc, n) if hit else []
            if hit and pids:
                time.sleep(rng.uniform(0.0, duration * 1.1))
                burst = 1 if rng.random() < 0.7 else rng.randint(2, 5)
                for b in range(burst):
                    targets = pids if (n == 1 or rng.random() < 0.5) else [rng.choice(pids)]
                    sig = rng.choice(STOP_SIGNALS)
                    for p in targets:
                        try:
                            os.kill(p, sig)
                            sent += 1
                        except ProcessLookupError:
                            pass
                    if b + 1 < burst:
                        time.sleep(rng.uniform(0.0, 0.08))
            try:
                _, err = proc.communicate(timeout=max(120.0, 20 * duration))
            except subprocess.TimeoutExpired:  # a corrupted heap can also deadlock in malloc
                for p in trainer_pids(proc) + [proc.pid]:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                _, err = proc.communicate()
                crashes.append(f"{run_dir} attempt {attempt}: hung after the signal(s) and was killed")
                break
            rc = proc.returncode
            if rc not in (0, 75):
                crashes.append(f"{run_dir} attempt {attempt}: exit {rc}: {err[-300:]}")
                break
            if rc == 75:
                stops += 1
                if not os.path.exists(os.path.join(run_dir, "runs/run.h5.resume")):
                    crashes.append(f"{run_dir} attempt {attempt}: exit 75 without a resume checkpoint")
                    break
                continue
            digest = record_digest(os.path.join(run_dir, "runs/run.h5"))
            diff = digest_diff(ref, digest)
            if diff:
                mismatches.append(f"{run_dir}: differs in {', '.join(diff[:5])}")
            elif os.path.exists(os.path.join(run_dir, "runs/run.h5.resume")):
                mismatches.append(f"{run_dir}: resume checkpoint left after completion")
            break
        else:
            crashes.append(f"{run_dir}: never completed")
        if not mismatches and not crashes:
            shutil.rmtree(run_dir)
    counts["signals"] += sent
    counts["runs"] += runs
    counts["stops"] += stops
    counts["crashes"] += len(crashes)
    check(not crashes, f"{name}: {sent} signals over {runs} processes ({stops} stops): no crash, every stop "
          f"exited 75 with a checkpoint" + ("" if not crashes else ": " + " | ".join(crashes[:3])))
    check(not mismatches, f"{name}: {i} resumed records equal the uninterrupted one bit for bit"
          + ("" if not mismatches else ": " + " | ".join(mismatches[:3])))


def storm(a):
    rng = random.Random(a.seed)
    mpi = mpirun_cmd()
    variants = [("fp32_1thread", [], 1, ["--set", "threads=1"], 0.4),
                ("fp32_2threads", [], 1, ["--set", "threads=2"], 0.2),
                ("bf16_1thread", [], 1, ["--set", "threads=1", "--set", "precision=bf16"], 0.2)]
    if mpi:
        variants.append(("mpi_2ranks", mpi, 2, ["--set", "threads=1"], 0.2))
    else:
        print("note: mpirun not found; the 2-rank variant is not run")
    counts = {"signals": 0, "runs": 0, "stops": 0, "crashes": 0}
    total = sum(v[4] for v in variants)
    for name, prefix, n, sets, share in variants:
        storm_variant(a, rng, name, prefix, n, sets, max(1, round(a.signals * share / total)), counts)
    print(f"storm: {counts['signals']} signals, {counts['runs']} trainer processes, {counts['stops']} stops "
          f"(exit 75), {counts['crashes']} crashes (seed {a.seed})")
    check(counts["signals"] >= a.signals * 0.9, f"at least {a.signals * 0.9:.0f} signals were delivered")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--signals", type=int, default=120, help="signals to send in the storm (default 120)")
    p.add_argument("--seed", type=int, default=int(os.environ.get("MRPC_STORM_SEED", "0")) or None)
    p.add_argument("check", choices=["masks", "storm"])
    a = p.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 1 << 30)
    a.bin = os.path.abspath(a.bin)
    os.makedirs(a.work, exist_ok=True)
    {"masks": masks, "storm": storm}[a.check](a)
    if check.failures:
        print(f"{len(check.failures)} check(s) failed")
        sys.exit(1)
    print("all checks hold")


if __name__ == "__main__":
    main()

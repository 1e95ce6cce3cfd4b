#!/usr/bin/python3
"""Data-parallel checks of mrpc-train under MPI.

    mpi_checks.py --bin mrpc-train --mpiexec mpirun --data DIR --work DIR CHECK

invariance: the same run (dropout on) with 1, 2 and 4 ranks (oversubscribed) gives the same
            losses, grad norms and metrics up to the rounding of the reduction, and the
            same predictions; each record says how many ranks ran it.
failure:    one rank failing ends every rank promptly with its message; the record says failed.
"""
import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def config(path, data):
    with open(path, "w") as fh:
        fh.write(f"""model: {{path: random, dim: 32, n_layers: 2, n_heads: 2, hidden_dim: 64, max_positions: 128}}
data:
  train: {data}/mrpc/train.tsv
  validation: {data}/mrpc/dev.tsv
  vocab: {data}/bert-base-uncased/vocab.txt
  max_train_examples: 330
learning_rate: 1.0e-3
warmup_steps: 4
weight_decay: 0.01
max_grad_norm: 1.0
num_epochs: 2
train_batch_size: 15
eval_batch_size: 50
threads: 1
""")


def mpirun(a, n, args, timeout=300):
    cmd = [a.mpiexec, "--allow-run-as-root", "--oversubscribe", "-np", str(n), a.bin] + args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def invariance(a):
    cfg = os.path.join(a.work, "run.yaml")
    config(cfg, a.data)
    recs = {}
    for n in (1, 2, 4):
        r = mpirun(a, n, ["--config", cfg, "-q", "--set", f"output=np{n}.h5"])
        check(r.returncode == 0, f"np={n} completed: {r.stderr[-300:]}")
        recs[n] = h5py.File(f"np{n}.h5", "r")
        check(int(recs[n].attrs["n_ranks"]) == n, f"np={n} record says {n} ranks")
        check(recs[n].attrs["status"].decode() == "completed", f"np={n} status completed")
    base = recs[1]
    # 330 examples in batches of 15 (uneven shares over 4 ranks: 4,4,4,3) for 2 epochs.
    check(len(base["train/loss"]) == 44, "44 steps")
    for n in (2, 4):
        f = recs[n]
        for k, tol in [("train/loss", 1e-5), ("train/grad_norm", 1e-5), ("eval/loss", 1e-5), ("eval/accuracy", 0),
                       ("eval/f1", 0)]:
            d = np.max(np.abs(f[k][:] - base[k][:]) / np.maximum(1e-12, np.abs(base[k][:])))
            check(d <= tol, f"np={n} {k}: max relative difference {d:.2e} <= {tol}")
        check(np.array_equal(f["train/learning_rate"][:], base["train/learning_rate"][:]), f"np={n} same schedule")
        check(np.array_equal(f["eval/predictions"][:], base["eval/predictions"][:]), f"np={n} same predictions")


def failure(a):
    cfg = os.path.join(a.work, "run.yaml")
    config(cfg, a.data)
    r = mpirun(a, 2, ["--config", cfg, "-q", "--set", "output=fail.h5", "--set", "debug_fail_rank=1"], timeout=60)
    check(r.returncode != 0, "the job fails")
    check("rank 1 failed on purpose" in r.stderr, "rank 0 reports rank 1's message")
    with h5py.File("fail.h5", "r") as f:
        check(f.attrs["status"].decode() == "failed" and "rank 1" in f.attrs["status_reason"].decode(),
              "record says failed with rank 1's reason")
    with open(os.path.join(a.work, "bad.yaml"), "w") as fh:
        fh.write("learning_rate: -1\n")
    r = mpirun(a, 2, ["--config", os.path.join(a.work, "bad.yaml")], timeout=60)
    check(r.returncode == 2 and "learning_rate" in r.stderr, "a bad config ends every rank with exit 2")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("check", choices=["invariance", "failure"])
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    os.chdir(a.work)
    globals()[a.check](a)
    print(f"{a.check}: {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

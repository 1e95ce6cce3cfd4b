#!/usr/bin/python3
"""End-to-end checks of mrpc-train on MRPC: a run from a random small model, its run
record read back with h5py, determinism, preemption and resume, divergence, bad input.

    train_checks.py --bin path/to/mrpc-train --data MRPC_DATA_DIR --work DIR CHECK

CHECK is one of: small, determinism, resume, diverged, errors, base. Exit 0 when every
assertion of the check holds, 1 otherwise (the message says which one failed).
"""
import argparse
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

FAILURES = []


def check(cond, what):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        FAILURES.append(what)


def write_config(path, data, output, extra=""):
    """A tiny random model on a slice of MRPC: quick, but every part of the loop runs."""
    text = f"""model:
  path: random
  dim: 32
  n_layers: 2
  n_heads: 2
  hidden_dim: 64
  max_positions: 128
data:
  train: {data}/mrpc/train.tsv
  validation: {data}/mrpc/dev.tsv
  vocab: {data}/bert-base-uncased/vocab.txt
  max_train_examples: 320
output: {output}
learning_rate: 1.0e-3
warmup_steps: 4
weight_decay: 0.01
max_grad_norm: 0.5
num_epochs: 2
train_batch_size: 16
eval_batch_size: 64
seed: 7
threads: 1
progress_seconds: 0
{extra}"""
    with open(path, "w") as fh:
        fh.write(text)


def run(binary, args, **kw):
    return subprocess.run([binary] + args, capture_output=True, text=True, **kw)


def attr(f, name):
    v = f.attrs[name]
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else v


def dev_labels(data):
    labels = []
    with open(f"{data}/mrpc/dev.tsv", encoding="utf-8-sig") as fh:
        next(fh)
        for line in fh:
            labels.append(int(line.split("\t")[0]))
    return np.array(labels)


def lr_at(k, base, warmup, total):
    s = k - 1
    mult = s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup))
    return base * mult


def check_record(path, data, steps, epochs, status="completed"):
    with h5py.File(path, "r") as f:
        check(attr(f, "format") == "mrpc-tune run", "format attribute")
        check(attr(f, "status") == status, f"status is {status} (got {attr(f, 'status')})")
        check(int(f.attrs["n_ranks"]) >= 1, "n_ranks recorded")
        hp = f["hparams"].attrs
        check(abs(hp["learning_rate"] - 1e-3) < 1e-15 and int(hp["train_batch_size"]) == 16, "hparams recorded")
        check(abs(hp["dropout"] - 0.1) < 1e-12 and abs(hp["classifier_dropout"] - 0.2) < 1e-12,
              "dropouts default to DistilBertConfig's for a random model")
        step = f["train/step"][:]
        check(len(step) == steps and np.array_equal(step, np.arange(1, steps + 1)), f"{steps} train steps")
        lr = f["train/learning_rate"][:]
        want = np.array([lr_at(k, 1e-3, 4, steps) for k in range(1, steps + 1)])
        check(np.allclose(lr, want, rtol=1e-12, atol=0), "learning rates follow get_linear_schedule_with_warmup")
        check(lr[0] == 0.0, "first update uses lr 0 with warmup (HF semantics)")
        loss = f["train/loss"][:]
        check(np.all(np.isfinite(loss)) and loss.mean() > 0.2 and loss.mean() < 2.0, "losses finite and plausible")
        gn = f["train/grad_norm"][:]
        check(np.all(gn > 0) and np.all(np.isfinite(gn)), "grad norms positive")
        check(len(f["eval/epoch"]) == epochs and list(f["eval/epoch"][:]) == list(range(1, epochs + 1)),
              "one evaluation per epoch")
        check(list(f["eval/step"][:]) == [steps // epochs * (e + 1) for e in range(epochs)], "eval steps")
        preds = f["eval/predictions"][:]
        labels = f["eval/labels"][:]
        check(len(preds) == 408 and np.array_equal(labels, dev_labels(data)), "408 predictions, labels in file order")
        acc = float((preds == labels).mean())
        tp = int(((preds == 1) & (labels == 1)).sum())
        fp = int(((preds == 1) & (labels == 0)).sum())
        fn = int(((preds == 0) & (labels == 1)).sum())
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        s = f["summary"].attrs
        check(abs(s["accuracy"] - acc) < 1e-12, f"summary accuracy {s['accuracy']} = recomputed {acc}")
        check(abs(s["f1"] - f1) < 1e-12, "summary f1 = recomputed from predictions")
        check(abs(f["eval/accuracy"][-1] - acc) < 1e-12, "last eval accuracy = final accuracy")
        check(abs(s["best_accuracy"] - f["eval/accuracy"][:].max()) < 1e-12, "best accuracy")
        check(s["train_seconds"] > 0 and s["tokens_per_second"] > 0, "time and throughput")
        return {k: f[k][:].copy() for k in ["train/loss", "train/learning_rate", "train/grad_norm",
                                            "eval/accuracy", "eval/f1", "eval/loss", "eval/predictions"]}


def small(a):
    cfg = os.path.join(a.work, "run.yaml")
    write_config(cfg, a.data, "runs/small.h5")
    r = run(a.bin, ["--config", cfg])
    sys.stdout.write(r.stderr[-2000:])
    check(r.returncode == 0, f"exit 0 (got {r.returncode})")
    check("epoch 2/2 eval accuracy" in r.stderr, "evaluation lines printed")
    check("step 1/40" in r.stderr and "tok/s" in r.stderr and "eta" in r.stderr, "progress line with tok/s and ETA")
    check_record(os.path.join(a.work, "runs/small.h5"), a.data, 40, 2)
    check(not os.path.exists(os.path.join(a.work, "runs/small.h5.resume")), "no resume checkpoint left behind")
    r = run(a.bin, ["--config", cfg, "-q", "--set", "output=runs/quiet.h5"])
    check(r.returncode == 0 and r.stderr == "", "-q prints nothing")


def determinism(a):
    cfg = os.path.join(a.work, "run.yaml")
    write_config(cfg, a.data, "runs/a.h5")
    r1 = run(a.bin, ["--config", cfg, "-q"])
    r2 = run(a.bin, ["--config", cfg, "-q", "--set", "output=runs/b.h5"])
    check(r1.returncode == 0 and r2.returncode == 0, "both runs completed")
    x = check_record(os.path.join(a.work, "runs/a.h5"), a.data, 40, 2)
    y = check_record(os.path.join(a.work, "runs/b.h5"), a.data, 40, 2)
    for k in x:
        check(x[k].tobytes() == y[k].tobytes(), f"{k} identical bit for bit")
    r3 = run(a.bin, ["--config", cfg, "-q", "--set", "output=runs/c.h5", "--set", "seed=8"])
    with h5py.File(os.path.join(a.work, "runs/c.h5"), "r") as f:
        check(f["train/loss"][:].tobytes() != x["train/loss"].tobytes(), "another seed gives another run")
    # tests/gpu/compare_records.py (CPU vs GPU records in tests/gpu/run.sh) on CPU records: a run with
    # another thread count matches, another seed does not
    r4 = run(a.bin, ["--config", cfg, "-q", "--set", "output=runs/d.h5", "--set", "threads=2"])
    check(r4.returncode == 0, "run with 2 threads completed")
    compare = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gpu", "compare_records.py")
    same = subprocess.run([sys.executable, compare, "runs/a.h5", "runs/d.h5", "--eval-examples", "408"],
                          capture_output=True, text=True)
    check(same.returncode == 0 and "all checks hold" in same.stdout,
          "compare_records: 1 and 2 threads match (rtol 1e-3)" + ("" if same.returncode == 0 else "\n" + same.stdout))
    other = subprocess.run([sys.executable, compare, "runs/a.h5", "runs/c.h5", "--eval-examples", "408"],
                           capture_output=True, text=True)
    check(other.returncode == 1 and "FAIL train/loss" in other.stdout and "FAIL hparams/seed" in other.stdout,
          "compare_records: another seed is reported as a mismatch")


def usr1_at_step_5(binary, args):
    """Runs mrpc-train with args, sends SIGUSR1 once it reports step 5 of 40; its exit code."""
    p = subprocess.Popen([binary] + args, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if " step 5/40 " in line:
            p.send_signal(signal.SIGUSR1)
            break
    p.stderr.read()
    return p.wait()


def resume(a):
    cfg = os.path.join(a.work, "run.yaml")
    write_config(cfg, a.data, "runs/full.h5")
    r = run(a.bin, ["--config", cfg, "-q"])
    check(r.returncode == 0, "uninterrupted run completed")
    full = check_record(os.path.join(a.work, "runs/full.h5"), a.data, 40, 2)
    # The same run, interrupted by SIGTERM once it has done 25 steps (past the first eval).
    out = "runs/cut.h5"
    p = subprocess.Popen([a.bin, "--config", cfg, "--set", f"output={out}"], stderr=subprocess.PIPE, text=True)
    sent = False
    lines = []
    for line in p.stderr:
        lines.append(line)
        if not sent and " step 25/40 " in line:
            p.send_signal(signal.SIGTERM)
            sent = True
    rc = p.wait()
    check(sent, "the signal was sent mid-run")
    check(rc == 75, f"interrupted run exits 75 (got {rc}); last lines: {''.join(lines[-3:])}")
    path = os.path.join(a.work, out)
    check(os.path.exists(path + ".resume"), "resume checkpoint written")
    with h5py.File(path, "r") as f:
        check(attr(f, "status") == "running", "interrupted record still says running")
        n = len(f["train/step"])
        check(25 <= n < 40, f"record holds the steps done so far ({n})")
    # Resumed with other progress and save settings (how the run is watched and saved, not
    # what it computes): accepted, and still bit for bit.
    r = run(a.bin, ["--config", cfg, "--set", f"output={out}", "--set", "progress_seconds=0", "--set", "save_minutes=3",
                    "--set", "save_strategy=steps", "--set", "save_steps=7"])
    check(r.returncode == 0, f"resumed run completed (exit {r.returncode}): {r.stderr[-500:]}")
    check("resumes at step" in r.stderr, "resume announced")
    cut = check_record(path, a.data, 40, 2)
    for k in full:
        check(full[k].tobytes() == cut[k].tobytes(), f"{k}: resumed run equals the uninterrupted one bit for bit")
    check(not os.path.exists(path + ".resume"), "resume checkpoint removed at the end")
    # A checkpoint of another config is refused, not silently continued.
    write_config(cfg, a.data, "runs/other.h5")
    check(usr1_at_step_5(a.bin, ["--config", cfg]) == 75, "SIGUSR1 also checkpoints and exits 75")
    r = run(a.bin, ["--config", cfg, "--set", "learning_rate=2e-3"])
    check(r.returncode == 1 and "another configuration" in r.stderr, "mismatched resume checkpoint refused")
    legacy_checkpoint(a, cfg)
    # Too many requeues: this task gives up, the record says failed, why, and that the cluster
    # failed it (/@failure requeues); the checkpoint stays, so the study's retry (a new task,
    # its restart count 0) continues from it instead of losing the steps done.
    env = dict(os.environ, SLURM_RESTART_COUNT="4")
    r = run(a.bin, ["--config", cfg, "--max-restarts", "3"], env=env)
    check(r.returncode == 4, f"gave up with exit 4 (got {r.returncode})")
    with h5py.File(os.path.join(a.work, "runs/other.h5"), "r") as f:
        check(attr(f, "status") == "failed" and "requeued 4 times" in attr(f, "status_reason"),
              "record of a run that gave up says failed and why")
        check(attr(f, "failure") == "requeues" and int(f["checkpoints"].attrs["kept"]) == 1,
              "/@failure requeues, checkpoint kept")
    check(os.path.exists(os.path.join(a.work, "runs/other.h5.resume")), "the checkpoint is still there")
    env = dict(os.environ)
    env.pop("SLURM_RESTART_COUNT", None)
    r = run(a.bin, ["--config", cfg, "--max-restarts", "3"], env=env)
    check(r.returncode == 0 and re.search(r"resumes at step [1-9]", r.stderr) is not None,
          f"the retry resumes from the checkpoint, not from step 0: {r.stderr[:300]}")
    with h5py.File(os.path.join(a.work, "runs/other.h5"), "r") as f:
        check(attr(f, "status") == "completed" and "failure" not in f.attrs, "and completes; /@failure is gone")


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def set_checkpoint_hash(path, value):
    """Rewrites the config_hash of a resume checkpoint (safetensors __metadata__) in place."""
    with open(path, "r+b") as fh:
        n = int.from_bytes(fh.read(8), "little")
        header = fh.read(n)
        old = json.loads(header)["__metadata__"]["config_hash"]
        new = f"{value:016x}".encode()
        assert len(old) == len(new)
        fh.seek(8)
        fh.write(header.replace(f'"config_hash":"{old}"'.encode(), b'"config_hash":"' + new + b'"', 1))
    return old


def legacy_checkpoint(a, cfg):
    """A checkpoint written before the hash left out progress and save settings carries the
    hash of the whole recorded config: it still resumes; any other hash is refused."""
    out = "runs/legacy.h5"
    check(usr1_at_step_5(a.bin, ["--config", cfg, "--set", f"output={out}"]) == 75, "legacy: interrupted")
    path = os.path.join(a.work, out)
    with h5py.File(path, "r") as f:
        text = f.attrs["config"]
        legacy = fnv1a64(text.encode() if isinstance(text, str) else bytes(text))
    ckpt = path + ".resume"
    current = set_checkpoint_hash(ckpt, 0x0123456789ABCDEF)
    check(int(current, 16) != legacy, "today's hash differs from the whole recorded config's")
    r = run(a.bin, ["--config", cfg, "--set", f"output={out}"])
    check(r.returncode == 1 and "another configuration" in r.stderr, "a checkpoint with a foreign hash is refused")
    set_checkpoint_hash(ckpt, legacy)
    r = run(a.bin, ["--config", cfg, "--set", f"output={out}"])
    check(r.returncode == 0 and "resumes at step" in r.stderr,
          f"a checkpoint with the hash of the whole recorded config (before the change) resumes: {r.stderr[-300:]}")


def diverged(a):
    cfg = os.path.join(a.work, "run.yaml")
    write_config(cfg, a.data, "runs/nan.h5", "debug_nan_at_step: 7\n")
    r = run(a.bin, ["--config", cfg, "-q"])
    check(r.returncode == 3, f"diverged run exits 3 (got {r.returncode})")
    with h5py.File(os.path.join(a.work, "runs/nan.h5"), "r") as f:
        check(attr(f, "status") == "diverged", "status diverged")
        check("step 7" in attr(f, "status_reason"), "reason names the step")
        loss = f["train/loss"][:]
        check(len(loss) == 7 and np.isnan(loss[-1]) and np.all(np.isfinite(loss[:-1])), "NaN step recorded last")


def errors(a):
    cfg = os.path.join(a.work, "bad.yaml")
    with open(cfg, "w") as fh:
        fh.write("output: runs/bad.h5\nlearning_rate: fast\n")
    r = run(a.bin, ["--config", cfg])
    check(r.returncode == 2, "bad config exits 2")
    check(f"{cfg}:2:16: learning_rate: expected a number" in r.stderr, f"error names file:line:col and key: {r.stderr}")
    check(not os.path.exists(os.path.join(a.work, "runs/bad.h5")), "nothing written for a bad config")
    good = os.path.join(a.work, "run.yaml")
    write_config(good, a.data, "runs/missing.h5")
    r = run(a.bin, ["--config", good, "--set", "learning_rate=1e-4", "--set", "nope=1"])
    check(r.returncode == 2 and "--set: nope: unknown key" in r.stderr, f"unknown --set key: {r.stderr}")
    check(not os.path.exists(os.path.join(a.work, "runs/missing.h5")), "nothing written for a bad --set")
    r = run(a.bin, ["--config", good, "--set", "data.train=/nonexistent/train.tsv"])
    check(r.returncode == 1 and "/nonexistent/train.tsv" in r.stderr, "missing data file is a failed run")
    with h5py.File(os.path.join(a.work, "runs/missing.h5"), "r") as f:
        check(attr(f, "status") == "failed" and "/nonexistent/train.tsv" in attr(f, "status_reason"),
              "failed record names the missing file")
    bad_tsv = os.path.join(a.work, "bad.tsv")
    with open(bad_tsv, "w") as fh:
        fh.write("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tonly four fields\n")
    r = run(a.bin, ["--config", good, "--set", f"data.train={bad_tsv}", "--set", "output=runs/badtsv.h5"])
    check(r.returncode == 1 and f"{bad_tsv}:2" in r.stderr, f"malformed TSV names file:line: {r.stderr[-300:]}")
    r = run(a.bin, ["--print-config", "--config", good])
    check(r.returncode == 0 and "learning_rate: 0.001" in r.stdout and "# peak AdamW" in r.stdout, "--print-config")
    r = run(a.bin, ["--bogus"])
    check(r.returncode == 2, "unknown option exits 2")
    for bad in ("0", "ten", "70000"):
        r = run(a.bin, ["--config", good, "--kill-wait", bad])
        check(r.returncode == 2 and f'--kill-wait needs whole seconds from 1 to 65533 (Slurm\'s KillWait), got "{bad}"'
              in r.stderr, f"--kill-wait {bad} is refused: {r.stderr[-200:]}")


def bf16(a):
    """precision: bf16 tracks fp32 on MRPC: the same run in both precisions, loss curves
    compared as 10-step moving averages (bf16 rounds every linear layer's operands to 8
    mantissa bits, so single steps differ more)."""
    cfg = os.path.join(a.work, "run.yaml")
    write_config(cfg, a.data, "runs/fp32.h5")
    r1 = run(a.bin, ["--config", cfg, "-q", "--set", "output=runs/fp32.h5", "--set", "data.max_train_examples=640",
                     "--set", "learning_rate=3e-4"])
    r2 = run(a.bin, ["--config", cfg, "-q", "--set", "output=runs/bf16.h5", "--set", "data.max_train_examples=640",
                     "--set", "learning_rate=3e-4", "--set", "precision=bf16"])
    if r2.returncode != 0 and "unsupported in this build" in r2.stderr:
        print("SKIP: this build has no bf16 (oneDNN missing)")
        sys.exit(77)
    check(r1.returncode == 0 and r2.returncode == 0, f"both runs completed: {r2.stderr[-300:]}")
    with h5py.File("runs/fp32.h5", "r") as f, h5py.File("runs/bf16.h5", "r") as g:
        check(attr(g, "precision") == "bf16" and attr(f, "precision") == "fp32", "records say their precision")
        la, lb = f["train/loss"][:], g["train/loss"][:]
        k = 10
        ma = np.convolve(la, np.ones(k) / k, "valid")
        mb = np.convolve(lb, np.ones(k) / k, "valid")
        d = float(np.max(np.abs(ma - mb)))
        check(d < 0.03, f"10-step moving averages of the loss within 0.03 (max {d:.4f})")
        de = float(np.max(np.abs(f["eval/loss"][:] - g["eval/loss"][:])))
        check(de < 0.03, f"eval losses within 0.03 (max {de:.4f})")
        check(la.tobytes() != lb.tobytes(), "the bf16 run really rounds (not identical to fp32)")


def hostile(a):
    """Hostile values never reach a shell and never escape the study directory: the wave
    reader refuses them with tasks.tsv:line:column, and the optimizer refuses them in a
    study file. mrpc-train itself never runs a shell."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "slurm"))
    import tiny_study
    study_dir = os.path.join(a.work, "study")
    tiny_study.write(study_dir, a.data)
    opt = os.path.join(os.path.dirname(a.bin), "mrpc-optimize")
    r = run(opt, ["next", "--study", os.path.join(study_dir, "study.yaml")])
    check(r.returncode == 0 and "wave_dir=" in r.stdout, "a wave was planned")
    wave = r.stdout.split("wave_dir=")[1].split("\n")[0]
    tasks = os.path.join(wave, "tasks.tsv")
    original = open(tasks).read()
    canary = os.path.join(a.work, "pwned")
    lines = original.split("\n")
    cols = lines[1].split("\t")
    hostile_rows = [
        (1, f"x$(touch {canary})", "run_id with $(...)"),
        (1, "a;rm -rf ~", "run_id with ;"),
        (1, "it's", "run_id with a quote"),
        (2, "../../../../tmp/evil.h5", "output outside the study"),
        (2, "/tmp/evil.h5", "absolute output"),
        (3, f"1e-3;touch {canary}", "hyperparameter with ;"),
        (3, "`id`", "hyperparameter with backquotes"),
    ]
    for col, value, what in hostile_rows:
        row = list(cols)
        row[col] = value
        with open(tasks, "w") as fh:
            fh.write("\n".join([lines[0], "\t".join(row)] + lines[2:]))
        r = run(a.bin, ["--wave", wave, "--task-id", "0", "-q"])
        check(r.returncode == 2 and "tasks.tsv:2:" in r.stderr, f"{what}: refused with tasks.tsv:2:col ({r.stderr.strip()[:160]})")
    with open(tasks, "w") as fh:
        fh.write(original)
    check(not os.path.exists(canary), "no hostile command ran")
    check(not os.path.exists("/tmp/evil.h5"), "nothing written outside the study")
    study = open(os.path.join(study_dir, "study.yaml")).read()
    bad = study.replace('time: "00:10:00"', 'time: "00:10:00; touch ' + canary + '"')
    path = os.path.join(a.work, "bad-study.yaml")
    with open(path, "w") as fh:
        fh.write(bad)
    shutil.copy(os.path.join(study_dir, "base.yaml"), os.path.join(a.work, "base.yaml"))
    r = run(opt, ["next", "--study", path, "--dry-run"])
    check(r.returncode == 2 and "bad-study.yaml:" in r.stderr and "time" in r.stderr,
          f"hostile Slurm value refused with file:line:col: {r.stderr.strip()[:200]}")
    check(not os.path.exists(canary), "still nothing ran")


def base(a):
    """distilbert-base-uncased shapes (random weights), a few steps on a slice of MRPC."""
    cfg = os.path.join(a.work, "run.yaml")
    write_config(cfg, a.data, "runs/base.h5")
    r = run(a.bin, ["--config", cfg, "-q", "--set", "model.dim=768", "--set", "model.n_layers=6",
                    "--set", "model.n_heads=12", "--set", "model.hidden_dim=3072", "--set", "model.max_positions=512",
                    "--set", "data.max_train_examples=64", "--set", "data.max_eval_examples=64",
                    "--set", "num_epochs=1", "--set", "threads=0", "--set", "learning_rate=5e-5"])
    check(r.returncode == 0, f"base-size run completed: {r.stderr[-500:]}")
    with h5py.File(os.path.join(a.work, "runs/base.h5"), "r") as f:
        check(attr(f, "status") == "completed", "base-size record completed")
        check(len(f["train/step"]) == 4 and len(f["eval/predictions"]) == 64, "4 steps, 64 predictions")
        check(np.all(np.isfinite(f["train/loss"][:])), "finite losses")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("check", choices=["small", "determinism", "resume", "diverged", "errors", "bf16", "hostile", "base"])
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

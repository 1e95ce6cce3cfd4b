"""Shared pieces of the fault-injection tests of mrpc-train (signal_storm.py, kill9_check.py):
a small run config, process launching with default signal dispositions, finding the trainer
processes under mpirun, and the part of a run record that a resumed run must reproduce."""
import os
import shutil
import signal
import subprocess

import h5py
import numpy as np

STOP_SIGNALS = [signal.SIGTERM, signal.SIGUSR1, signal.SIGINT, signal.SIGHUP]


class Checks:
    """Prints one line per check; remembers the failures."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            self.failures.append(what)
        return cond


def write_config(path, data, epochs=2, dim=64, hidden=128, extra=""):
    """A random model on 640 MRPC pairs: 80 optimizer steps in 2 epochs, about a second."""
    text = f"""model:
  path: random
  dim: {dim}
  n_layers: 2
  n_heads: 2
  hidden_dim: {hidden}
  max_positions: 128
data:
  train: {data}/mrpc/train.tsv
  validation: {data}/mrpc/dev.tsv
  vocab: {data}/bert-base-uncased/vocab.txt
  max_train_examples: 640
output: runs/run.h5
learning_rate: 1.0e-3
warmup_steps: 4
num_epochs: {epochs}
train_batch_size: 16
eval_batch_size: 64
seed: 11
progress_seconds: 0
{extra}"""
    with open(path, "w") as fh:
        fh.write(text)


def default_signals():
    """For preexec_fn: the child starts with default dispositions (a background shell ignores SIGINT)."""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_DFL)


def mpirun_cmd(n=2):
    mpirun = shutil.which("mpirun")
    if not mpirun:
        return None
    return [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", str(n), "--mca", "btl", "self,vader"]


def launch(cmd, cwd, stderr=subprocess.PIPE):
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr, text=True,
                            preexec_fn=default_signals)


def status_field(pid, tid, name):
    try:
        with open(f"/proc/{pid}/task/{tid}/status") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return line.split()[1]
    except OSError:
        return None
    return None


def sigmask_has(hexmask, sig):
    return hexmask is not None and (int(hexmask, 16) >> (sig - 1)) & 1 == 1


def trainer_pids(launcher):
    """mrpc-train processes: the launched one, or the children of mpirun."""
    if launcher.args[0].endswith("mrpc-train"):
        return [launcher.pid]
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                st = fh.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        if comm == "mrpc-train" and ppid == launcher.pid:
            pids.append(int(d))
    return sorted(pids)


def record_digest(path):
    """Everything of a record that a resumed run must reproduce: every dataset, hparams,
    summary metrics and the root attributes, but not clock times, the host, or the
    /checkpoints bookkeeping (how often this run was stopped and resumed)."""
    out = {}
    with h5py.File(path, "r") as f:
        for k, v in f.attrs.items():
            if k not in ("start_time", "end_time", "host"):
                out["@" + k] = v.tobytes() if isinstance(v, np.ndarray) else v

        def visit(name, obj):
            if name == "checkpoints" or name.startswith("checkpoints/"):
                return
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()].tobytes()
            for k, v in obj.attrs.items():
                if k in ("train_seconds", "tokens_per_second") or "seconds" in k:
                    continue
                out[name + "@" + k] = v.tobytes() if isinstance(v, np.ndarray) else v

        f.visititems(visit)
    return out


def digest_diff(a, b):
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))

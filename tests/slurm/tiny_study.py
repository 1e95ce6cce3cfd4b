#!/usr/bin/python3
"""Writes a tiny study shaped like the default one (17 / 20 / 4+4 tasks, so the array
ranges of slurm/stage*.sh fit it) with a model and data small enough that a run takes
about a second.

    tiny_study.py DIR DATA_DIR [--slow]

--slow makes every run take several seconds (for the requeue test)."""
import os
import sys


def write_base(dir_, data, slow=False, model=None, n_train=None, n_eval=64, epochs=3, extra=""):
    """Writes DIR/base.yaml: the tiny model and data (replaces a default study's base.yaml).
    The e2e studies pick their own size: model=(dim, n_layers, n_heads, hidden_dim) and n_train
    (training pairs) instead of the tiny or --slow ones, n_eval validation pairs, `epochs`, and
    `extra`, whole lines of further keys, written just before num_epochs."""
    os.makedirs(dir_, exist_ok=True)
    if n_train is None:
        n_train = 2000 if slow else 64
    dim, n_layers, n_heads, hidden = model or ((64, 2, 2, 256) if slow else (16, 1, 2, 32))
    with open(os.path.join(dir_, "base.yaml"), "w") as fh:
        fh.write(f"""model:
  path: random
  dim: {dim}
  n_layers: {n_layers}
  n_heads: {n_heads}
  hidden_dim: {hidden}
  max_positions: 128
data:
  train: {data}/mrpc/train.tsv
  validation: {data}/mrpc/dev.tsv
  vocab: {data}/bert-base-uncased/vocab.txt
  max_train_examples: {n_train}
  max_eval_examples: {n_eval}
{extra}num_epochs: {epochs}
train_batch_size: 16
eval_batch_size: 64
threads: 1
progress_seconds: 0
""")


def write_mini(dir_, data, stages="sensitivity", constant=False):
    """A study of a few tasks: stages="sensitivity" gives one wave of 3 (baseline, low and
    high learning rate); stages="bayes" gives two waves of 2. constant=True adds a
    constant parameter (num_epochs: 2), a column of tasks.tsv that is not searched."""
    write_base(dir_, data)
    stage = "sensitivity: {top_k: 1, seeds: 1}" if stages == "sensitivity" else \
        "bayes: {budget: 4, wave_size: 2, init_points: 2}"
    with open(os.path.join(dir_, "study.yaml"), "w") as fh:
        fh.write(f"""name: mini
seed: 5
objective: {{metric: accuracy, goal: maximize}}
base_config: base.yaml
parameters:
  learning_rate: {{distribution: log_uniform_values, min: 1.0e-4, max: 1.0e-2, baseline: 1.0e-3}}
""" + ("  num_epochs: {value: 2}\n" if constant else "") + f"""stages:
  {stage}
slurm: {{time: "00:10:00", cpus_per_task: 1, ranks_per_task: 1, throttle: 4, signal_seconds: 30}}
""")


def write_study(dir_, name, seed, rest):
    """Writes DIR/study.yaml: study `name` with `seed` over DIR/base.yaml, maximizing accuracy,
    records in runs/, searching learning_rate (log-uniform 1e-4..1e-2, baseline 1e-3) and
    weight_decay (uniform 0..0.1, baseline 0) and what `rest` adds: further parameter lines
    (indented two spaces), then `stages:` and any other top-level keys. Returns its path."""
    path = os.path.join(dir_, "study.yaml")
    with open(path, "w") as fh:
        fh.write(f"""name: {name}
seed: {seed}
objective: {{metric: accuracy, goal: maximize}}
base_config: base.yaml
runs_dir: runs
parameters:
  learning_rate: {{distribution: log_uniform_values, min: 1.0e-4, max: 1.0e-2, baseline: 1.0e-3}}
  weight_decay: {{distribution: uniform, min: 0.0, max: 0.1, baseline: 0.0}}
""" + rest)
    return path


def write(dir_, data, slow=False):
    write_base(dir_, data, slow)
    write_study(dir_, "tiny", 3, """\
  adam_epsilon: {distribution: log_uniform_values, min: 1.0e-9, max: 1.0e-6, baseline: 1.0e-8}
  warmup_steps: {distribution: int_uniform, min: 0, max: 10, baseline: 0}
  dropout: {distribution: q_uniform, min: 0.0, max: 0.3, q: 0.05, baseline: 0.1}
  max_seq_length: {distribution: categorical, values: [64, 96, 128], baseline: 128}
  max_grad_norm: {distribution: uniform, min: 0.1, max: 5.0, baseline: 1.0}
stages:
  sensitivity:
    top_k: 3
    seeds: 3
    levels: {weight_decay: [0.01, 0.1], warmup_steps: [2, 10], max_seq_length: [64, 96]}
  grid: {levels: 3}
  bayes: {budget: 8, wave_size: 4}
slurm: {time: "00:10:00", cpus_per_task: 1, ranks_per_task: 1, throttle: 4, signal_seconds: 30}
""")


if __name__ == "__main__":
    write(sys.argv[1], sys.argv[2], "--slow" in sys.argv)

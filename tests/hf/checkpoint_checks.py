#!/usr/bin/python3
"""checkpoint_checks.py — loading a Hugging Face checkpoint says what Hugging Face says.

A small random model is trained for a few steps and saved in HF layout; from it a
"pre-trained" checkpoint is made as distilbert-base-uncased is one: the same base
tensors, a masked-LM head (vocab_transform.*, vocab_layer_norm.*, vocab_projector.bias)
and no classification head. Fine-tuning from it must

  * print HF's two warnings on stderr: the checkpoint tensors that were not used (the
    MLM head) and the tensors that were newly initialised (pre_classifier.*,
    classifier.*);
  * record both lists as JSON arrays in the run record (root attributes
    checkpoint_unused, checkpoint_newly_initialized);
  * record the checkpoint's real dimensions in the resolved config (/@config), not the
    defaults of the random model.

Loading the saved checkpoint itself (head included) newly initialises nothing.

    checkpoint_checks.py --bin mrpc-train --data MRPC_DATA_DIR --work DIR
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

import h5py
import numpy as np

FAILURES = []
HEAD = ["classifier.bias", "classifier.weight", "pre_classifier.bias", "pre_classifier.weight"]
MLM = ["vocab_layer_norm.bias", "vocab_layer_norm.weight", "vocab_projector.bias", "vocab_transform.bias",
       "vocab_transform.weight"]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def attr(f, name):
    v = f.attrs[name]
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else v


def read_safetensors(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(raw[base + b:base + e], dtype="<f4").reshape(t["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def config_text(data, model, output, extra=""):
    return f"""model:
  path: {model}
  dim: 32
  n_layers: 1
  n_heads: 2
  hidden_dim: 48
  max_positions: 96
data:
  train: {data}/mrpc/train.tsv
  validation: {data}/mrpc/dev.tsv
  vocab: {data}/bert-base-uncased/vocab.txt
  max_train_examples: 32
  max_eval_examples: 32
output: {output}
num_epochs: 1
train_batch_size: 16
eval_batch_size: 32
max_seq_length: 64
seed: 3
threads: 1
progress_seconds: 0
{extra}"""


def run(binary, cfg_path, text):
    with open(cfg_path, "w") as fh:
        fh.write(text)
    return subprocess.run([binary, "--config", cfg_path], capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    a.bin, a.data, a.work = os.path.abspath(a.bin), os.path.abspath(a.data), os.path.abspath(a.work)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    os.chdir(a.work)

    # 1. A random model (dims 32/1/2/48/96), saved in HF layout.
    r = run(a.bin, "random.yaml", config_text(a.data, "random", "runs/random.h5", "save_checkpoint: saved\n"))
    check(r.returncode == 0, f"random run completed (exit {r.returncode}) {r.stderr[-400:]}")
    check("were not used" not in r.stderr and "newly initialized" not in r.stderr,
          "a random model prints no checkpoint warnings")
    with h5py.File("runs/random.h5", "r") as f:
        check("checkpoint_unused" not in f.attrs and "checkpoint_newly_initialized" not in f.attrs,
              "a random model records no checkpoint lists")

    # 2. A pre-trained-like checkpoint: base tensors + MLM head, no classification head.
    saved = read_safetensors("saved/model.safetensors")
    check(all(h in saved for h in HEAD), "the saved checkpoint holds the classification head")
    n_vocab, dim = saved["distilbert.embeddings.word_embeddings.weight"].shape
    rng = np.random.default_rng(0)
    pre = {k: v for k, v in saved.items() if k not in HEAD}
    pre["vocab_transform.weight"] = rng.normal(0, 0.02, (dim, dim)).astype("<f4")
    pre["vocab_transform.bias"] = np.zeros(dim, "<f4")
    pre["vocab_layer_norm.weight"] = np.ones(dim, "<f4")
    pre["vocab_layer_norm.bias"] = np.zeros(dim, "<f4")
    pre["vocab_projector.bias"] = np.zeros(n_vocab, "<f4")
    os.makedirs("pretrained")
    shutil.copy("saved/config.json", "pretrained/config.json")
    write_safetensors("pretrained/model.safetensors", pre)

    # 3. Fine-tuning from it: HF's two warnings, both lists recorded, the checkpoint's dims in the config.
    r = run(a.bin, "pre.yaml", config_text(a.data, "pretrained", "runs/pre.h5").replace(
        "  dim: 32\n  n_layers: 1\n  n_heads: 2\n  hidden_dim: 48\n  max_positions: 96\n", ""))
    sys.stdout.write(r.stderr[-1500:])
    check(r.returncode == 0, f"fine-tuning from the checkpoint completed (exit {r.returncode})")
    unused = json.dumps(MLM).replace('"', "'")
    init = json.dumps(HEAD).replace('"', "'")
    want_unused = ("some weights of the model checkpoint at pretrained were not used when initializing "
                   "DistilBertForSequenceClassification: " + json.dumps(MLM))
    want_init = ("some weights of DistilBertForSequenceClassification were not initialized from the model "
                 "checkpoint at pretrained and are newly initialized: " + json.dumps(HEAD))
    check(want_unused in r.stderr, "stderr names the unused MLM-head tensors " + unused)
    check(want_init in r.stderr, "stderr names the newly initialised head " + init)
    with h5py.File("runs/pre.h5", "r") as f:
        check(attr(f, "status") == "completed", "record completed")
        check(json.loads(attr(f, "checkpoint_unused")) == MLM, "record: checkpoint_unused = the MLM head")
        check(json.loads(attr(f, "checkpoint_newly_initialized")) == HEAD,
              "record: checkpoint_newly_initialized = pre_classifier.*, classifier.*")
        cfg = attr(f, "config")
        for key, value in (("dim", 32), ("n_layers", 1), ("n_heads", 2), ("hidden_dim", 48), ("max_positions", 96)):
            check(f"\n  {key}: {value}\n" in cfg, f"recorded config shows the checkpoint's {key} = {value}")

    # 4. The saved checkpoint itself (head included): nothing newly initialised, nothing unused.
    r = run(a.bin, "saved.yaml", config_text(a.data, "saved", "runs/saved.h5"))
    check(r.returncode == 0, f"run from the saved checkpoint completed (exit {r.returncode})")
    check("newly initialized" not in r.stderr and "were not used" not in r.stderr,
          "a checkpoint with the head: no warnings")
    with h5py.File("runs/saved.h5", "r") as f:
        check(json.loads(attr(f, "checkpoint_unused")) == [] and
              json.loads(attr(f, "checkpoint_newly_initialized")) == [], "record: both lists empty")

    print("checkpoint_checks: %s" % ("all checks hold" if not FAILURES else "%d FAILED" % len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

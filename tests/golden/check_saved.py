#!/usr/bin/python3
"""check_saved.py — a checkpoint written by mrpc_model_save_hf loads into the PyTorch model.

    /usr/bin/python3 tests/golden/check_saved.py SAVED_DIR REFERENCE_BIN

SAVED_DIR is test_golden's re-save of the golden checkpoint (config.json +
model.safetensors). The script parses the safetensors file with its own reader, builds
DistilBertForSequenceClassification from config.json, loads the state dict with
strict=True (every HF key present, none extra, shapes equal) and checks that the logits
of the reference batch equal those in REFERENCE_BIN (make_reference.py's dump).
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from distilbert_torch import Config, DistilBertForSequenceClassification  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + b:base + e]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"])
    return out


def read_dump(path):
    recs = {}
    with open(path, "rb") as f:
        assert f.read(8) == b"MRPCGLD\0"
        version, count = struct.unpack("<II", f.read(8))
        assert version == 1
        for _ in range(count):
            (ln,) = struct.unpack("<I", f.read(4))
            name = f.read(ln).decode("utf-8")
            code, nd = struct.unpack("<II", f.read(8))
            dims = struct.unpack("<%dQ" % nd, f.read(8 * nd))
            n = 1
            for d in dims:
                n *= d
            dt, size = {0: (torch.float32, 4), 1: (torch.int32, 4), 2: (torch.float64, 8)}[code]
            recs[name] = torch.frombuffer(bytearray(f.read(n * size)), dtype=dt).reshape(dims)
    return recs


def main():
    saved, ref = sys.argv[1], sys.argv[2]
    with open(os.path.join(saved, "config.json")) as f:
        c = json.load(f)
    assert c["architectures"] == ["DistilBertForSequenceClassification"], c.get("architectures")
    cfg = Config(vocab_size=c["vocab_size"], max_position_embeddings=c["max_position_embeddings"], dim=c["dim"],
                 n_layers=c["n_layers"], n_heads=c["n_heads"], hidden_dim=c["hidden_dim"], dropout=0.0,
                 attention_dropout=0.0, seq_classif_dropout=0.0, pad_token_id=c["pad_token_id"],
                 num_labels=len(c.get("id2label", {"0": 0, "1": 1})))
    model = DistilBertForSequenceClassification(cfg)
    model.load_state_dict(read_safetensors(os.path.join(saved, "model.safetensors")), strict=True)
    model.eval()
    d = read_dump(ref)
    ids = d["batch.ids"].long()
    lengths = d["batch.lengths"].long()
    mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).long()
    with torch.no_grad():
        _, logits = model(ids, mask)
    diff = (logits - d["ref.logits"]).abs().max().item()
    print("check_saved: %d tensors loaded strictly; logits max |d| = %.3e" % (len(model.state_dict()), diff))
    return 0 if diff < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())

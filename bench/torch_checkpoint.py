#!/usr/bin/env python3
"""The anchor of bench/checkpoint_cost.sh: what a Hugging Face Trainer checkpoint of
distilbert-base-uncased for sequence classification costs in PyTorch: the model's state
dict and AdamW's state (exp_avg, exp_avg_sq per parameter) saved with torch.save, then
fsync'ed (Trainer._save_checkpoint writes the model and optimizer.pt; we add the fsync so
both sides pay for durability). Shapes: dim 768, 6 layers, hidden 3072, vocab 30522,
512 positions, 2 labels (66,955,010 parameters).

    torch_checkpoint.py --repeats N --dir DIR     prints checkpoint_mb= and median_checkpoint_s=
"""
import argparse
import os
import statistics
import time

import torch


def distilbert_shapes(dim=768, layers=6, hidden=3072, vocab=30522, positions=512, labels=2):
    shapes = {"embeddings.word_embeddings.weight": (vocab, dim),
              "embeddings.position_embeddings.weight": (positions, dim),
              "embeddings.LayerNorm.weight": (dim,), "embeddings.LayerNorm.bias": (dim,)}
    for i in range(layers):
        p = f"transformer.layer.{i}."
        for lin in ("attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin"):
            shapes[p + lin + ".weight"] = (dim, dim)
            shapes[p + lin + ".bias"] = (dim,)
        shapes[p + "sa_layer_norm.weight"] = (dim,)
        shapes[p + "sa_layer_norm.bias"] = (dim,)
        shapes[p + "ffn.lin1.weight"] = (hidden, dim)
        shapes[p + "ffn.lin1.bias"] = (hidden,)
        shapes[p + "ffn.lin2.weight"] = (dim, hidden)
        shapes[p + "ffn.lin2.bias"] = (dim,)
        shapes[p + "output_layer_norm.weight"] = (dim,)
        shapes[p + "output_layer_norm.bias"] = (dim,)
    shapes.update({"pre_classifier.weight": (dim, dim), "pre_classifier.bias": (dim,),
                   "classifier.weight": (labels, dim), "classifier.bias": (labels,)})
    return shapes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", default=".")
    a = ap.parse_args()
    torch.manual_seed(0)
    params = {k: torch.randn(s) * 0.02 for k, s in distilbert_shapes().items()}
    opt_state = {i: {"step": torch.tensor(100.0), "exp_avg": torch.randn(t.shape) * 1e-3,
                     "exp_avg_sq": torch.rand(t.shape) * 1e-6} for i, t in enumerate(params.values())}
    optimizer = {"state": opt_state, "param_groups": [{"lr": 5e-5, "params": list(range(len(params)))}]}
    model_path, opt_path = os.path.join(a.dir, "pytorch_model.bin"), os.path.join(a.dir, "optimizer.pt")
    times = []
    for k in range(a.repeats):
        t0 = time.perf_counter()
        for obj, path in ((params, model_path), (optimizer, opt_path)):
            with open(path, "wb") as fh:
                torch.save(obj, fh)
                fh.flush()
                os.fsync(fh.fileno())
        times.append(time.perf_counter() - t0)
        print(f"checkpoint {k} write_s={times[-1]:.4f}")
    mb = (os.path.getsize(model_path) + os.path.getsize(opt_path)) / 1048576.0
    os.remove(model_path)
    os.remove(opt_path)
    print(f"parameters={sum(t.numel() for t in params.values())}")
    print(f"checkpoint_mb={mb:.1f}")
    print(f"median_checkpoint_s={statistics.median(times):.4f}")


if __name__ == "__main__":
    main()

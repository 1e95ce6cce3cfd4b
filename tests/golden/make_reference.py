#!/usr/bin/python3
"""make_reference.py — the PyTorch reference for tests/golden/test_golden.c (llm.c style).

Builds a tiny DistilBertForSequenceClassification in plain PyTorch (distilbert_torch.py,
HF semantics, no transformers), perturbs every parameter so no gradient path is trivial,
and writes into OUT_DIR:

  ckpt/config.json, ckpt/model.safetensors   the checkpoint (HF names; independent writer)
  reference.bin                               the dump below

Run with Debian's python:  /usr/bin/python3 tests/golden/make_reference.py OUT_DIR

Dump format (little-endian), version 1:
  bytes 0..7   magic "MRPCGLD\\0"
  u32          version (1)
  u32          number of records
  records:     u32 name length, name bytes (UTF-8, no NUL),
               u32 dtype (0 = f32, 1 = i32, 2 = f64), u32 n_dims, u64 dims[n_dims],
               data (product(dims) elements of dtype)
Records:
  batch.ids i32 [B,T] (padded with pad id 0), batch.lengths i32 [B], batch.labels i32 [B]
  ref.logits f32 [B,L], ref.loss f64 [1]        forward of the checkpoint, dropout off
  grad/<hf name> f32                            d(mean CE)/d(param) for every parameter
  train.hparams f64 [8] = lr, beta1, beta2, eps, weight_decay, max_grad_norm, warmup, total
  step<k>.ids / step<k>.lengths / step<k>.labels, k = 0..K-1   the batch of update k+1
  train.loss f64 [K]       mean CE of update k+1's batch, before the update
  train.grad_norm f64 [K]  clip_grad_norm_'s total norm (before clipping)
  train.lr f64 [K]         learning rate used by update k+1 (LambdaLR, linear warmup/decay)
  final/<hf name> f32      every parameter after K updates
  bf16.ref.logits, bf16.ref.loss, bf16.grad/<name>, bf16.train.loss, bf16.train.grad_norm,
  bf16.final/<name>        the same runs with every nn.Linear computing as our bf16 path:
                           y = bf16(x) bf16(W)^T + b, dx = bf16(dy) bf16(W), dW = bf16(dy)^T bf16(x),
                           products and sums in fp32 (bf16 = round to nearest even)
Training: dropout off, AdamW (HF decay grouping) with warmup, weight decay and clipping
all active (max_grad_norm is chosen below the gradient norms, so clipping triggers).
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from distilbert_torch import (Config, DistilBertForSequenceClassification,  # noqa: E402
                              hf_param_groups, linear_warmup_lambda)

SEED = 20240601
K_STEPS = 6
HP = dict(lr=3e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.05, max_grad_norm=0.5,
          warmup=2, total=8)


def write_safetensors(path, tensors):
    """Minimal independent safetensors writer (F32 only), header padded to 8 bytes."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().to(torch.float32)
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def bf16r(t):
    return t.to(torch.bfloat16).to(torch.float32)


class _BF16LinearFn(torch.autograd.Function):
    """Linear with bf16-rounded GEMM operands and fp32 accumulation, as the C bf16 path."""

    @staticmethod
    def forward(ctx, x, w, b):
        xr, wr = bf16r(x), bf16r(w)
        ctx.save_for_backward(xr, wr)
        return torch.matmul(xr, wr.t()) + b

    @staticmethod
    def backward(ctx, dy):
        xr, wr = ctx.saved_tensors
        dyr = bf16r(dy)
        dx = torch.matmul(dyr, wr)
        dw = torch.matmul(dyr.reshape(-1, dyr.shape[-1]).t(), xr.reshape(-1, xr.shape[-1]))
        db = dy.reshape(-1, dy.shape[-1]).sum(0)
        return dx, dw, db


class BF16Linear(torch.nn.Linear):
    def forward(self, x):
        return _BF16LinearFn.apply(x, self.weight, self.bias)


def to_bf16_linears(model):
    """Swaps every nn.Linear for BF16Linear (same parameters)."""
    for mod in list(model.modules()):
        for name, child in list(mod.named_children()):
            if type(child) is torch.nn.Linear:
                nl = BF16Linear(child.in_features, child.out_features)
                nl.weight = child.weight
                nl.bias = child.bias
                setattr(mod, name, nl)
    return model


class Dump:
    def __init__(self):
        self.records = []

    def add(self, name, t, dtype):
        t = torch.as_tensor(t)
        code, np_dtype, tt = {"f32": (0, "<f4", torch.float32), "i32": (1, "<i4", torch.int32),
                              "f64": (2, "<f8", torch.float64)}[dtype]
        arr = t.detach().to(tt).contiguous().numpy().astype(np_dtype)
        self.records.append((name, code, list(arr.shape), arr.tobytes()))

    def write(self, path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"MRPCGLD\0")
            f.write(struct.pack("<II", 1, len(self.records)))
            for name, code, dims, data in self.records:
                nb = name.encode("utf-8")
                f.write(struct.pack("<I", len(nb)))
                f.write(nb)
                f.write(struct.pack("<II", code, len(dims)))
                for d in dims:
                    f.write(struct.pack("<Q", d))
                f.write(data)
        os.replace(tmp, path)


def make_batch(g, B, T, cfg):
    lengths = torch.randint(2, T + 1, (B,), generator=g)
    lengths[0] = T                       # one full row
    lengths[1] = 1 if B > 2 else lengths[1]  # a row with only its [CLS] token
    ids = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        L = int(lengths[b])
        ids[b, :L] = torch.randint(1, cfg.vocab_size, (L,), generator=g)
        ids[b, 0] = 2                    # a fixed "[CLS]"
    if T > 3:
        ids[0, 3] = cfg.pad_token_id     # a pad id inside a sequence: padding_idx keeps row 0 at zero grad
    labels = torch.randint(0, cfg.num_labels, (B,), generator=g)
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
    return ids, lengths, labels, mask


def main():
    if len(sys.argv) != 2:
        print("usage: make_reference.py OUT_DIR", file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "ckpt"), exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    cfg = Config(vocab_size=100, max_position_embeddings=32, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                 dropout=0.0, attention_dropout=0.0, seq_classif_dropout=0.0, initializer_range=0.2,
                 pad_token_id=0, num_labels=2)
    model = DistilBertForSequenceClassification(cfg)
    model.init_weights(generator=g)
    with torch.no_grad():  # perturb everything so biases/LayerNorms are not at their trivial init
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0.0, 0.1, generator=g)
            elif "LayerNorm" in name or "layer_norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
        model.distilbert.embeddings.word_embeddings.weight[cfg.pad_token_id].zero_()
    model.train()  # dropout probabilities are 0: train mode == eval mode

    cfg_json = cfg.to_hf_json()
    # the checkpoint keeps the model's real dropouts apart from the test's (all 0 here)
    with open(os.path.join(out, "ckpt", "config.json"), "w") as f:
        json.dump(cfg_json, f, indent=2, sort_keys=True)
    write_safetensors(os.path.join(out, "ckpt", "model.safetensors"), dict(model.state_dict()))

    d = Dump()
    B, T = 5, 13
    ids, lengths, labels, mask = make_batch(g, B, T, cfg)
    d.add("batch.ids", ids, "i32")
    d.add("batch.lengths", lengths, "i32")
    d.add("batch.labels", labels, "i32")
    d.add("train.hparams", torch.tensor([HP["lr"], HP["beta1"], HP["beta2"], HP["eps"], HP["weight_decay"],
                                         HP["max_grad_norm"], HP["warmup"], HP["total"]],
                                        dtype=torch.float64), "f64")
    steps = [(ids, lengths, labels, mask)] + [make_batch(g, 4 + k % 3, 8 + 2 * k, cfg) for k in range(1, K_STEPS)]
    for k, (sids, slen, slab, _) in enumerate(steps):
        d.add("step%d.ids" % k, sids, "i32")
        d.add("step%d.lengths" % k, slen, "i32")
        d.add("step%d.labels" % k, slab, "i32")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for prefix in ("", "bf16."):
        m = DistilBertForSequenceClassification(cfg)
        m.load_state_dict(state)
        if prefix:
            to_bf16_linears(m)
        m.train()
        losses, lrs, clipped = run(m, d, prefix, ids, mask, labels, steps)
        print("make_reference: %s losses %s, %d/%d updates clipped, lrs %s" %
              (prefix or "fp32.", " ".join("%.6f" % x for x in losses), clipped, K_STEPS,
               " ".join("%.2e" % x for x in lrs)))
        if clipped == 0 or lrs[0] != 0.0:
            print("make_reference: clipping or warmup not exercised", file=sys.stderr)
            return 1
    d.write(os.path.join(out, "reference.bin"))
    print("make_reference: %d records in %s" % (len(d.records), os.path.join(out, "reference.bin")))
    return 0


def run(model, d, prefix, ids, mask, labels, steps):
    """Gradients of the reference batch, then K training updates; records under prefix."""
    model.zero_grad(set_to_none=True)
    loss, logits = model(ids, mask, labels)
    loss.backward()
    d.add(prefix + "ref.logits", logits, "f32")
    d.add(prefix + "ref.loss", torch.tensor([loss.item()], dtype=torch.float64), "f64")
    for name, p in model.named_parameters():
        d.add(prefix + "grad/" + name, p.grad, "f32")
    opt = torch.optim.AdamW(hf_param_groups(model, HP["weight_decay"]), lr=HP["lr"],
                            betas=(HP["beta1"], HP["beta2"]), eps=HP["eps"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup_lambda(HP["warmup"], HP["total"]))
    losses, norms, lrs = [], [], []
    clipped = 0
    for sids, slen, slab, smask in steps:
        opt.zero_grad(set_to_none=True)
        loss, _ = model(sids, smask, slab)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), HP["max_grad_norm"])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        losses.append(loss.item())
        norms.append(float(norm))
        clipped += float(norm) > HP["max_grad_norm"]
    d.add(prefix + "train.loss", torch.tensor(losses, dtype=torch.float64), "f64")
    d.add(prefix + "train.grad_norm", torch.tensor(norms, dtype=torch.float64), "f64")
    d.add(prefix + "train.lr", torch.tensor(lrs, dtype=torch.float64), "f64")
    for name, p in model.named_parameters():
        d.add(prefix + "final/" + name, p, "f32")
    return losses, lrs, clipped


if __name__ == "__main__":
    sys.exit(main())

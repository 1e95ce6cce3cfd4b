#!/usr/bin/env python3
"""torch_cuda_step.py — the PyTorch GPU anchor for `mrpc-train bench --backend cuda`: full DistilBERT training steps.

Same work as `mrpc-train bench --backend cuda` (and bench/torch_step.py on the CPU): distilbert-base-uncased
shapes (dim 768, 6 layers, 12 heads, 3072, vocab 30522, 512 positions), HF random init, random
token ids with every row full length (no padding), labels 0/1, dropout 0.1/0.1/0.2 active,
forward + backward + clip_grad_norm_(1.0) + AdamW (HF decay grouping, wd 0.01) + linear
schedule, on one CUDA device. bf16: torch.autocast('cuda', dtype=torch.bfloat16) with fp32
master weights and optimizer state (the usual HF Trainer --bf16 recipe); fp32: plain fp32 with
TF32 matmuls off (torch's default for matmul), like our fp32 path.

AdamW is torch's fused CUDA kernel when this torch has it (fused=True; the HF Trainer default
"adamw_torch_fused" on recent torch), else the foreach implementation: the strongest stock
optimizer, so the comparison is fair to PyTorch.

    python3 bench/torch_cuda_step.py --precision bf16 --batch 32 --seq 128

Each step is timed with torch.cuda.synchronize() at its end. Prints one line per step and last
`tokens_per_second=<v>` (median step). Exits 77 when torch or a CUDA device is missing.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))

try:
    import torch  # noqa: E402
except ImportError:
    print("torch_cuda_step: torch is not installed for %s" % sys.executable, file=sys.stderr)
    sys.exit(77)

from distilbert_torch import (Config, DistilBertForSequenceClassification,  # noqa: E402
                              hf_param_groups, linear_warmup_lambda)


def make_optimizer(model, lr):
    groups = hf_param_groups(model, 0.01)
    try:
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=True), "fused"
    except (TypeError, RuntimeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8), "default"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()

    if not torch.cuda.is_available():
        print("torch_cuda_step: torch %s has no usable CUDA device" % torch.__version__, file=sys.stderr)
        sys.exit(77)
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(a.seed)
    cfg = Config()
    model = DistilBertForSequenceClassification(cfg)
    model.init_weights()
    model.to(dev)
    model.train()
    opt, opt_kind = make_optimizer(model, 5e-5)
    total = a.warmup + a.steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup_lambda(0, total))

    g = torch.Generator().manual_seed(a.seed)
    ids = torch.randint(1, cfg.vocab_size, (a.batch, a.seq), generator=g)
    ids[:, 0] = 101
    ids = ids.to(dev)
    mask = torch.ones(a.batch, a.seq, dtype=torch.long, device=dev)
    labels = torch.randint(0, 2, (a.batch,), generator=g).to(dev)

    def step():
        opt.zero_grad(set_to_none=True)
        if a.precision == "bf16":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss, _ = model(ids, mask, labels)
        else:
            loss, _ = model(ids, mask, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        return loss

    times = []
    for k in range(total):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = step()
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        tag = "warmup" if k < a.warmup else "step"
        print("%s %d time_s=%.4f loss=%.5f" % (tag, k, dt, float(loss)), flush=True)
        if k >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    print("torch=%s device=%s precision=%s adamw=%s batch=%d seq=%d"
          % (torch.__version__, torch.cuda.get_device_name(0), a.precision, opt_kind, a.batch, a.seq))
    print("peak_gpu_mb=%.1f" % (torch.cuda.max_memory_allocated() / 1048576.0))
    print("median_step_s=%.5f" % med)
    print("tokens_per_second=%.1f" % (a.batch * a.seq / med))


if __name__ == "__main__":
    main()

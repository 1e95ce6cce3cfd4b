#!/usr/bin/python3
"""torch_step.py — the PyTorch anchor for `mrpc-train bench`: full DistilBERT training steps.

Same work as the C bench: distilbert-base-uncased shapes (dim 768, 6 layers, 12 heads, 3072,
vocab 30522, 512 positions), random weights, random token ids (every row full length, no
padding), labels 0/1, dropout 0.1/0.1/0.2 active, forward + backward + clip_grad_norm_(1.0)
+ AdamW (HF decay grouping, wd 0.01) + linear schedule. fp32, or bf16 with
torch.autocast('cpu', dtype=torch.bfloat16) (fp32 master weights and optimizer).

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_step.py --threads 2 --batch 32 --seq 128

Prints one line per timed step, then `median_step_s`, `min_step_s`, `peak_rss_mb`
(getrusage ru_maxrss) and last `tokens_per_second=<v>` (median step). Run it with OPENBLAS_NUM_THREADS equal to --threads:
torch's fp32 matmul runs in OpenBLAS here and ignores torch.set_num_threads.
"""
import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))

import torch  # noqa: E402

from distilbert_torch import (Config, DistilBertForSequenceClassification,  # noqa: E402
                              hf_param_groups, linear_warmup_lambda)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()

    if os.environ.get("OPENBLAS_NUM_THREADS") != str(a.threads):
        print("warning: OPENBLAS_NUM_THREADS=%s but --threads %d (torch fp32 matmul uses OpenBLAS)"
              % (os.environ.get("OPENBLAS_NUM_THREADS"), a.threads), file=sys.stderr)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = Config()
    model = DistilBertForSequenceClassification(cfg)
    model.init_weights()
    model.train()
    opt = torch.optim.AdamW(hf_param_groups(model, 0.01), lr=5e-5, betas=(0.9, 0.999), eps=1e-8)
    total = a.warmup + a.steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup_lambda(0, total))

    g = torch.Generator().manual_seed(a.seed)
    ids = torch.randint(1, cfg.vocab_size, (a.batch, a.seq), generator=g)
    ids[:, 0] = 101
    mask = torch.ones(a.batch, a.seq, dtype=torch.long)
    labels = torch.randint(0, 2, (a.batch,), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        if a.precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss, _ = model(ids, mask, labels)
        else:
            loss, _ = model(ids, mask, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        return float(loss)

    times = []
    for k in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        loss = step()
        dt = time.perf_counter() - t0
        tag = "warmup" if k < a.warmup else "step"
        print("%s %d time_s=%.4f loss=%.5f" % (tag, k, dt, loss), flush=True)
        if k >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("torch=%s precision=%s threads=%d batch=%d seq=%d"
          % (torch.__version__, a.precision, a.threads, a.batch, a.seq))
    print("median_step_s=%.4f" % med)
    print("min_step_s=%.4f" % min(times))
    print("peak_rss_mb=%.1f" % rss_mb)
    print("tokens_per_second=%.1f" % (a.batch * a.seq / med))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Summarizes trace lines from optimizer_quality and optimizer_optuna.py (on stdin or
the files given) into a table of median regret (and the quartiles) at the given
evaluation counts, one row per function, method and wave size.

With --curves FILE it also writes the median regret after every evaluation (the
median best-so-far curve) as CSV: function,method,q,evaluation,median,q25,q75.

The "final" lines (the answer of each run) make a second table: per function, method
and wave size, the median true regret of the best point evaluated (oracle), of the run
with the best observed value, and of the method's recommendation, and a paired
comparison of the recommendation against --ref (default tpe, same wave size, same
seed): seeds it beats / ties / loses to, with a two-sided exact sign-test p-value.

Usage: optimizer_summary.py [--at 20,50] [--curves FILE] [--ref tpe] [--finals-only] [files...]
"""
import argparse
import collections
import math
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--at", default="20,50")
    ap.add_argument("--curves")
    ap.add_argument("--ref", default="tpe")
    ap.add_argument("--finals-only", action="store_true", help="only the table of final answers")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    at = [int(v) for v in a.at.split(",")]
    runs = collections.defaultdict(list)
    finals = collections.defaultdict(dict)  # (fn, method, q) -> {seed: (oracle, observed, recommended)}
    streams = [open(f) for f in a.files] if a.files else [sys.stdin]
    for s in streams:
        for line in s:
            p = line.split()
            if p and p[0] == "final":
                finals[(p[2], p[1], int(p[3]))][int(p[4])] = tuple(float(v) for v in p[5:8])
                continue
            if not p or p[0] != "trace":
                continue
            method, fn, q = p[1], p[2], int(p[3])
            runs[(fn, method, q)].append([float(v) for v in p[5:]])
    if a.curves:
        with open(a.curves, "w") as f:
            f.write("function,method,q,evaluation,median,q25,q75\n")
            for (fn, method, q), tr in sorted(runs.items()):
                n = min(len(t) for t in tr)
                arr = np.array([t[:n] for t in tr])
                q25, med, q75 = np.percentile(arr, [25, 50, 75], axis=0)
                for e in range(n):
                    f.write(f"{fn},{method},{q},{e + 1},{med[e]:.6g},{q25[e]:.6g},{q75[e]:.6g}\n")
    if a.finals_only:
        print_finals(finals, a.ref, first=True)
        return
    fns = sorted({k[0] for k in runs})
    head = f"| function | method | q | seeds |" + "".join(f" median regret @{n} (IQR) |" for n in at)
    print(head)
    print("|" + "---|" * (4 + len(at)))
    for fn in fns:
        keys = sorted((k for k in runs if k[0] == fn), key=lambda k: (not k[1].startswith("gp"), k[1], k[2]))
        for k in keys:
            tr = runs[k]
            cells = []
            for n in at:
                vals = np.array([t[n - 1] for t in tr if len(t) >= n])
                if len(vals) == 0:
                    cells.append(" - |")
                    continue
                q1, med, q3 = np.percentile(vals, [25, 50, 75])
                cells.append(f" {med:.3g} ({q1:.3g}-{q3:.3g}) |")
            print(f"| {fn} | {k[1]} | {k[2]} | {len(tr)} |" + "".join(cells))
    if finals:
        print_finals(finals, a.ref)


def sign_test(wins, losses):
    """Two-sided exact sign test (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    p = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * p)


def print_finals(finals, ref, first=False):
    if not first:
        print()
    print(f"| function | method | q | seeds | oracle: best evaluated | best observed run | recommended |"
          f" recommended vs {ref} (same q, paired by seed): wins/ties/losses, sign-test p |")
    print("|" + "---|" * 8)
    for fn in sorted({k[0] for k in finals}):
        keys = sorted((k for k in finals if k[0] == fn), key=lambda k: (not k[1].startswith("gp"), k[1], k[2]))
        for k in keys:
            runs = finals[k]
            arr = np.array([runs[s] for s in sorted(runs)])
            med = np.median(arr, axis=0)
            rk = (fn, ref, k[2]) if (fn, ref, k[2]) in finals else next((r for r in finals if r[:2] == (fn, ref)), None)
            cmp = " - |"
            if rk and rk != k:
                other = finals[rk]
                common = sorted(set(runs) & set(other))
                w = sum(runs[s][2] < other[s][2] - 1e-12 for s in common)
                l = sum(runs[s][2] > other[s][2] + 1e-12 for s in common)
                cmp = f" {w}/{len(common) - w - l}/{l}, p={sign_test(w, l):.2g} |"
            print(f"| {fn} | {k[1]} | {k[2]} | {len(runs)} | {med[0]:.4f} | {med[1]:.4f} | {med[2]:.4f} |" + cmp)


if __name__ == "__main__":
    main()

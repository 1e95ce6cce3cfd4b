#!/usr/bin/python3
"""Summarizes trace lines from optimizer_quality and optimizer_optuna.py (on stdin or
the files given) into a table of median regret (and the quartiles) at the given
evaluation counts, one row per function, method and wave size.

With --curves FILE it also writes the median regret after every evaluation (the
median best-so-far curve) as CSV: function,method,q,evaluation,median,q25,q75.

Usage: optimizer_summary.py [--at 20,50] [--curves FILE] [files...]
"""
import argparse
import collections
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--at", default="20,50")
    ap.add_argument("--curves")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    at = [int(v) for v in a.at.split(",")]
    runs = collections.defaultdict(list)
    streams = [open(f) for f in a.files] if a.files else [sys.stdin]
    for s in streams:
        for line in s:
            p = line.split()
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
    fns = sorted({k[0] for k in runs})
    head = f"| function | method | q | seeds |" + "".join(f" median regret @{n} (IQR) |" for n in at)
    print(head)
    print("|" + "---|" * (4 + len(at)))
    for fn in fns:
        keys = sorted((k for k in runs if k[0] == fn), key=lambda k: (k[1] != "gp-ei", k[1], k[2]))
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


if __name__ == "__main__":
    main()

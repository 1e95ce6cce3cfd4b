#!/usr/bin/env python3
"""compare_records.py — does a GPU run record match the CPU run record of the same config?

    compare_records.py REFERENCE.h5 CANDIDATE.h5 [--rtol 1e-3] [--eval-examples N]

Both records come from `mrpc-train` with the same config and seed, one with backend=cpu and one
with backend=cuda (same counter-based dropout masks, same data order). Checked, and printed as
"ok"/"FAIL" lines:
  - both completed, same number of optimizer steps and evaluations;
  - /train/learning_rate identical (the schedule is host arithmetic);
  - /train/loss and /train/grad_norm within rtol relative, step by step;
  - /eval/loss within rtol relative; /eval/accuracy within one example per evaluation
    (a logit near the decision boundary may flip under fp32 rounding);
  - /hparams equal.
Exit 0 when every check holds, 1 otherwise, 2 on unreadable input.
"""
import argparse
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover - depends on the machine
    print("compare_records: %s" % e, file=sys.stderr)
    sys.exit(77)


def attr_text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("reference")
    ap.add_argument("candidate")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--eval-examples", type=int, required=True, help="evaluation set size (for the accuracy slack)")
    a = ap.parse_args()
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    try:
        ref, cand = h5py.File(a.reference, "r"), h5py.File(a.candidate, "r")
    except OSError as e:
        print("compare_records: %s" % e, file=sys.stderr)
        return 2
    with ref, cand:
        for name, f in (("reference", ref), ("candidate", cand)):
            check(attr_text(f.attrs["status"]) == "completed",
                  "%s status %s, backend %s, precision %s" % (name, attr_text(f.attrs["status"]),
                                                             attr_text(f.attrs["backend"]),
                                                             attr_text(f.attrs["precision"])))
        for k in sorted(ref["hparams"].attrs):
            check(ref["hparams"].attrs[k] == cand["hparams"].attrs.get(k), "hparams/%s equal" % k)
        n_ref, n_cand = len(ref["train/step"]), len(cand["train/step"])
        check(n_ref == n_cand and n_ref > 0, "optimizer steps: %d and %d" % (n_ref, n_cand))
        if n_ref != n_cand or n_ref == 0:
            return 1
        check(np.array_equal(ref["train/learning_rate"][:], cand["train/learning_rate"][:]),
              "train/learning_rate identical")

        def rel(name):
            x, y = ref[name][:].astype(np.float64), cand[name][:].astype(np.float64)
            return float(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-12))), x, y

        for name in ("train/loss", "train/grad_norm", "eval/loss"):
            r, x, y = rel(name)
            check(r <= a.rtol, "%s: max relative difference %.2e <= %.0e (first %.6f vs %.6f, last %.6f vs %.6f)"
                  % (name, r, a.rtol, x[0], y[0], x[-1], y[-1]))
        acc_r, acc_c = ref["eval/accuracy"][:], cand["eval/accuracy"][:]
        slack = 1.0 / a.eval_examples + 1e-9
        check(len(acc_r) == len(acc_c) and np.all(np.abs(acc_r - acc_c) <= slack),
              "eval/accuracy within one example: %s vs %s" % (np.round(acc_r, 4).tolist(), np.round(acc_c, 4).tolist()))
    print("compare_records: %s" % ("all checks hold" if not failures else "%d check(s) FAILED" % len(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())

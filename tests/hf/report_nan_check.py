#!/usr/bin/python3
"""report_nan_check.py — no "nan" in a report: an undefined statistic is said in words.

Writes the synthetic study of tests/unit/analysis (make_synth), then makes every usable
run predict the same class, so all runs have the same accuracy and F1: every rank
correlation and the forest's share of explained variance are undefined. mrpc-analyze
must still succeed, print no "nan"/"inf" anywhere (summary, Markdown, HTML, CSV
tables), and say why in words. The unmodified study is analysed too (no "nan" there
either; a diverged run's reason "loss is NaN at step N" is words, and allowed).

    report_nan_check.py --analyze mrpc-analyze --make-synth make_synth --work DIR
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np

FAILURES = []
BAD = re.compile(r"(?<![\w/.-])[+-]?(nan|inf)(?![\w/-])", re.IGNORECASE)
ALLOWED = re.compile(r"loss is NaN|NaN/inf|data:[^\"')\s]*", re.IGNORECASE)  # reasons in words; embedded images


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def flatten(study):
    """Every readable record with predictions: all ones, metrics recomputed."""
    n = 0
    for path in glob.glob(os.path.join(study, "runs", "*.h5")):
        try:
            f = h5py.File(path, "r+")
        except OSError:
            continue  # the study's deliberately unreadable record
        with f:
            if "eval/labels" not in f or "summary" not in f:
                continue
            labels = f["eval/labels"][:]
            preds = np.ones_like(labels)
            f["eval/predictions"][:] = preds
            acc = float((preds == labels).mean())
            tp = int(((preds == 1) & (labels == 1)).sum())
            fp = int(((preds == 1) & (labels == 0)).sum())
            f1 = 2 * tp / (2 * tp + fp)
            for k, v in (("accuracy", acc), ("best_accuracy", acc), ("f1", f1)):
                f["summary"].attrs[k] = v
            f["eval/accuracy"][:] = acc
            f["eval/f1"][:] = f1
            n += 1
    return n


def scan(out_dir):
    hits = []
    for path in glob.glob(os.path.join(out_dir, "**", "*"), recursive=True):
        if not os.path.isfile(path) or path.endswith((".png", ".svg")):
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            for no, line in enumerate(fh, 1):
                for m in BAD.finditer(ALLOWED.sub("", line)):
                    hits.append(f"{os.path.relpath(path, out_dir)}:{no}: ...{line[max(0, m.start() - 60):m.end() + 20]}...")
    return hits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--analyze", required=True)
    ap.add_argument("--make-synth", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    for name, size, flat in (("small-flat", "12", True), ("full-flat", None, True), ("full", None, False)):
        study = os.path.join(a.work, name)
        r = subprocess.run([a.make_synth, study] + ([size] if size else []), capture_output=True, text=True)
        check(r.returncode == 0, f"{name}: synthetic study written ({r.stderr.strip()})")
        if flat:
            check(flatten(study) >= 10, f"{name}: every usable run now has the same accuracy and F1")
        for objective in ("accuracy", "f1"):
            out = os.path.join(a.work, f"{name}-{objective}")
            r = subprocess.run([a.analyze, study, "--out", out, "--objective", objective], capture_output=True,
                               text=True)
            check(r.returncode == 0, f"{name} / {objective}: mrpc-analyze exit 0 ({r.stderr.strip()[-300:]})")
            hits = scan(out)
            check(not hits, f"{name} / {objective}: no nan/inf in the report" + "".join("\n    " + h for h in hits[:8]))
            if flat:
                with open(os.path.join(out, "summary.txt"), encoding="utf-8") as fh:
                    summary = fh.read()
                check(re.search(r"all \d+ usable runs have the same %s \([0-9.]+\), so no parameter explains any of "
                                r"it: rank correlations and forest importance are undefined" % objective, summary)
                      is not None, f"{name} / {objective}: the summary says why importance is undefined")
                with open(os.path.join(out, "tables", "importance.md"), encoding="utf-8") as fh:
                    check("An empty correlation is undefined" in fh.read(),
                          f"{name} / {objective}: the importance table says why its correlations are empty")
    print("report_nan_check: %s" % ("all checks hold" if not FAILURES else "%d FAILED" % len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""analyze_check.py -- checks mrpc-analyze's tables against the run records, read independently with h5py.

Usage: /usr/bin/python3 analyze_check.py STUDY_DIR OUT_DIR OBJECTIVE

Every number compared is recomputed here from the HDF5 files (h5py, numpy, scipy):
  runs.csv          one row per record (stage, status, reason, host, times, summary, every
                    hyperparameter: exact float equality), unreadable files and missing wave
                    tasks with their status, and nothing else
  not_completed.csv exactly the runs without a usable objective
  best_by_stage.csv rank 1 of each stage is the stage's best completed record
  sensitivity.csv   baseline mean, per-level delta and per-parameter effect
  grid.csv, bayes.csv  objectives equal the records; best_so_far is the running maximum
  statistics.csv    best objective, McNemar counts and p (scipy.stats.binomtest) of best vs
                    baseline on their stored predictions, seed noise (std ddof 1), the
                    random-search reference E[max of k draws]
  importance.csv    Pearson and Spearman correlation (scipy) on the unit/log10 scale
  figures/*.svg     parse as XML with an <svg> root
Prints each failure; exits 0 when everything holds, 1 otherwise.
"""
import csv
import glob
import math
import os
import sys
import xml.etree.ElementTree as ET

import h5py
import numpy as np
from scipy import stats

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def fnum(s):
    return float(s) if s != "" else math.nan


def same(csv_value, h5_value, what):
    got = fnum(csv_value)
    want = float(h5_value)
    if math.isnan(want) and math.isnan(got):
        return
    if got != want:
        fail("%s: csv %r, hdf5 %r" % (what, csv_value, want))


def close(got, want, what, tol=1e-9):
    if not (abs(got - want) <= tol * max(1.0, abs(want))):
        fail("%s: %r, want %r" % (what, got, want))


def load_records(study):
    recs = {}
    unreadable = []
    for path in sorted(glob.glob(os.path.join(study, "runs", "*.h5"))):
        try:
            with h5py.File(path, "r", locking=False) as f:
                if text(f.attrs.get("format", "")) != "mrpc-tune run":
                    raise OSError("not a run record")
                r = {k: f.attrs[k] for k in f.attrs}
                r["hparams"] = {k: f["hparams"].attrs[k] for k in f["hparams"].attrs} if "hparams" in f else {}
                r["summary"] = {k: float(f["summary"].attrs[k]) for k in f["summary"].attrs} if "summary" in f else None
                r["pred"] = np.array(f["eval/predictions"]) if "eval/predictions" in f else None
                r["labels"] = np.array(f["eval/labels"]) if "eval/labels" in f else None
                recs[text(r["run_id"])] = r
        except OSError:
            unreadable.append(os.path.basename(path)[:-3])
    return recs, unreadable


def objective_of(r, objective):
    if text(r["status"]) != "completed" or r["summary"] is None:
        return math.nan
    return r["summary"].get(objective, math.nan)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    study, out, objective = sys.argv[1:4]
    tables = os.path.join(out, "tables")
    recs, unreadable = load_records(study)
    missing = []
    for tsv in sorted(glob.glob(os.path.join(study, "waves", "*", "*", "tasks.tsv"))):
        with open(tsv, encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        for row in rows:
            rid = row["run_id"]
            if rid not in recs and not os.path.exists(os.path.join(study, row["output"])):
                missing.append(rid)

    runs = read_csv(os.path.join(tables, "runs.csv"))
    by_id = {r["run_id"]: r for r in runs}
    if len(runs) != len(recs) + len(unreadable) + len(missing):
        fail("runs.csv has %d rows, want %d records + %d unreadable + %d missing" % (len(runs), len(recs), len(unreadable),
                                                                                  len(missing)))
    for rid, r in recs.items():
        row = by_id.get(rid)
        if row is None:
            fail("record %s is not in runs.csv" % rid)
            continue
        for key in ("stage", "status", "host", "backend", "precision", "start_time"):
            if row[key] != text(r[key]):
                fail("%s: %s csv %r, hdf5 %r" % (rid, key, row[key], text(r[key])))
        if row["status_reason"] != text(r.get("status_reason", "")):
            fail("%s: status_reason csv %r, hdf5 %r" % (rid, row["status_reason"], text(r.get("status_reason", ""))))
        same(row["n_ranks"], r["n_ranks"], rid + " n_ranks")
        if r["summary"] is not None:
            for key in ("accuracy", "f1", "best_accuracy", "train_seconds", "tokens_per_second"):
                same(row[key], r["summary"][key], "%s summary %s" % (rid, key))
            if r["pred"] is not None:
                acc = float(np.mean(r["pred"] == r["labels"]))
                close(acc, r["summary"]["accuracy"], rid + " accuracy of the stored predictions", 1e-12)
        elif row["accuracy"] != "":
            fail("%s has no /summary but csv accuracy %r" % (rid, row["accuracy"]))
        for name, v in r["hparams"].items():
            if name not in row:
                fail("%s: hyperparameter column %s missing" % (rid, name))
            else:
                same(row[name], v, "%s hparam %s" % (rid, name))
    for rid in unreadable:
        if by_id.get(rid, {}).get("status") != "unreadable":
            fail("%s.h5 cannot be opened by h5py but runs.csv says %r" % (rid, by_id.get(rid, {}).get("status")))
    for rid in missing:
        if by_id.get(rid, {}).get("status") != "missing":
            fail("task %s has no record but runs.csv says %r" % (rid, by_id.get(rid, {}).get("status")))

    usable = {rid: objective_of(r, objective) for rid, r in recs.items() if not math.isnan(objective_of(r, objective))}
    nc = read_csv(os.path.join(tables, "not_completed.csv"))
    want_nc = set(by_id) - set(usable)
    if set(r["run_id"] for r in nc) != want_nc:
        fail("not_completed.csv lists %s, want %s" % (sorted(r["run_id"] for r in nc), sorted(want_nc)))

    best = read_csv(os.path.join(tables, "best_by_stage.csv"))
    for row in best:
        if row["rank"] != "1":
            continue
        stage_best = max(v for rid, v in usable.items() if text(recs[rid]["stage"]) == row["stage"])
        same(row[objective], stage_best, "best of stage %s" % row["stage"])
    best_id = max(usable, key=lambda rid: (usable[rid], -list(by_id).index(rid)))

    st = {r["statistic"]: r for r in read_csv(os.path.join(tables, "statistics.csv"))}
    same(st["best_objective"]["estimate"], usable[best_id], "best objective")
    same(st["usable_runs"]["estimate"], len(usable), "usable runs")

    sens = read_csv(os.path.join(tables, "sensitivity.csv"))
    base_ids = [r["run_id"] for r in sens if r["parameter"] == "(baseline)" and r["run_id"] in usable]
    if sens:
        base_vals = [usable[b] for b in base_ids]
        base_mean = float(np.mean(base_vals))
        if len(base_vals) >= 2:
            same(st["seed_noise"]["estimate"], float(np.std(base_vals, ddof=1)), "seed noise")
        effects = {}
        for row in sens:
            if row["parameter"] == "(baseline)":
                continue
            if row["run_id"] in usable:
                d = usable[row["run_id"]] - base_mean
                close(fnum(row["delta"]), d, "delta of " + row["run_id"], 1e-12)
                effects[row["parameter"]] = max(effects.get(row["parameter"], 0.0), abs(d))
            elif row["delta"] != "":
                fail("unusable level %s has a delta" % row["run_id"])
        for row in sens:
            if row["parameter"] in effects:
                close(fnum(row["effect"]), effects[row["parameter"]], "effect of " + row["parameter"], 1e-12)
        ranked = sorted(effects, key=lambda p: -effects[p])
        for row in sens:
            if row["parameter"] in effects and int(row["rank"]) != ranked.index(row["parameter"]) + 1:
                fail("rank of %s is %s, want %d" % (row["parameter"], row["rank"], ranked.index(row["parameter"]) + 1))

        base = base_ids[0]
        if best_id != base and "mcnemar_only_best_correct" in st:
            a, b, lab = recs[best_id]["pred"], recs[base]["pred"], recs[best_id]["labels"]
            only_a = int(np.sum((a == lab) & (b != lab)))
            only_b = int(np.sum((a != lab) & (b == lab)))
            same(st["mcnemar_only_best_correct"]["estimate"], only_a, "McNemar b")
            same(st["mcnemar_only_baseline_correct"]["estimate"], only_b, "McNemar c")
            p = stats.binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
            close(fnum(st["mcnemar_p"]["estimate"]), p, "McNemar p vs scipy", 1e-9)
            close(fnum(st["accuracy_difference"]["estimate"]),
                  float(np.mean(a == lab)) - float(np.mean(b == lab)), "accuracy difference", 1e-12)

    for name in ("grid", "bayes"):
        rows = read_csv(os.path.join(tables, name + ".csv"))
        running = -math.inf
        for k, row in enumerate(rows):
            v = usable.get(row["run_id"], math.nan)
            if math.isnan(v):
                if row["objective"] != "":
                    fail("%s row %s has an objective but no usable record" % (name, row["run_id"]))
            else:
                same(row["objective"], v, "%s objective of %s" % (name, row["run_id"]))
                running = max(running, v)
            if name == "bayes":
                same(row["index"], k + 1, "bayes index")
                if running > -math.inf:
                    same(row["best_so_far"], running, "bayes best so far at %d" % (k + 1))
        if name == "bayes" and rows and "random_search_expected_best" in st:
            x = np.sort(np.array(list(usable.values())))
            n, kk = len(x), len(rows)
            i = np.arange(1, n + 1)
            close(fnum(st["random_search_expected_best"]["estimate"]), float(np.sum(x * ((i / n) ** kk - ((i - 1) / n) ** kk))),
                  "random-search reference", 1e-12)

    imp = read_csv(os.path.join(tables, "importance.csv"))
    ids = list(usable)
    y = np.array([usable[r] for r in ids])
    for row in imp:
        x = np.array([float(recs[r]["hparams"][row["parameter"]]) for r in ids])
        if row["scale"] == "log":
            x = np.log10(x)
        close(fnum(row["pearson"]), stats.pearsonr(x, y)[0], "Pearson of " + row["parameter"], 1e-9)
        close(fnum(row["spearman"]), stats.spearmanr(x, y)[0], "Spearman of " + row["parameter"], 1e-9)
        if row["n_runs"] != str(len(ids)):
            fail("importance n_runs %s, want %d" % (row["n_runs"], len(ids)))
    if imp and abs(sum(fnum(r["rf_importance"]) for r in imp) - 1) > 1e-9:
        fail("forest importances do not sum to 1")

    for svg in glob.glob(os.path.join(out, "figures", "*.svg")):
        try:
            root = ET.parse(svg).getroot()
            if not root.tag.endswith("svg"):
                fail("%s: root element %s" % (svg, root.tag))
        except ET.ParseError as e:
            fail("%s does not parse as XML: %s" % (svg, e))

    print("%d records, %d unreadable, %d missing, %d usable; %d failures" % (len(recs), len(unreadable), len(missing),
                                                                           len(usable), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

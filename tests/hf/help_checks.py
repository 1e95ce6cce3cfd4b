#!/usr/bin/python3
"""help_checks.py — every command and subcommand answers --help (and -h) with its usage
on stdout and exit 0, wherever the option stands, and does nothing else (no file is
written, no study is started).

    help_checks.py --bindir BUILD_DIR --work DIR
"""
import argparse
import os
import shutil
import subprocess
import sys

FAILURES = []

# (binary, arguments before --help, what the usage must mention)
CASES = [
    ("mrpc-train", [], "usage: mrpc-train --config"),
    ("mrpc-train", ["--config", "run.yaml"], "usage: mrpc-train --config"),
    ("mrpc-train", ["--wave", "w", "--task-id", "0"], "usage: mrpc-train --config"),
    ("mrpc-train", ["tokenize"], "usage: mrpc-train tokenize"),
    ("mrpc-train", ["tokenize", "--vocab", "v.txt"], "usage: mrpc-train tokenize"),
    ("mrpc-train", ["bench"], "usage: mrpc-train bench"),
    ("mrpc-train", ["check-checkpoint"], "usage: mrpc-train check-checkpoint"),
    ("mrpc-train", ["check-checkpoint", "ckpt"], "usage: mrpc-train check-checkpoint"),
    ("mrpc-optimize", [], "usage: mrpc-optimize next"),
    ("mrpc-optimize", ["next"], "mrpc-optimize next --study"),
    ("mrpc-optimize", ["next", "--study", "study.yaml"], "mrpc-optimize next --study"),
    ("mrpc-optimize", ["status"], "mrpc-optimize status"),
    ("mrpc-optimize", ["show-wave"], "mrpc-optimize show-wave"),
    ("mrpc-pipeline", [], "usage: mrpc-pipeline run"),
    ("mrpc-pipeline", ["run"], "usage: mrpc-pipeline run"),
    ("mrpc-pipeline", ["run", "study.yaml"], "usage: mrpc-pipeline run"),
    ("mrpc-pipeline", ["init"], "mrpc-pipeline init"),
    ("mrpc-analyze", [], "usage: mrpc-analyze"),
    ("mrpc-analyze", ["runs"], "usage: mrpc-analyze"),
]

# Scripts (relative to the project root): --help prints their header and does nothing else
# (before, scripts/run-pipeline.sh --help started a build and stage scripts took it for a study).
SCRIPTS = [
    ("scripts/run-pipeline.sh", "scripts/run-pipeline.sh [STUDY.yaml]"),
    ("scripts/test.sh", "The test command of mrpc-tune"),
    ("scripts/stress-signals.sh", "scripts/stress-signals.sh [SIGNALS]"),
    ("scripts/stress-nodes.sh", "scripts/stress-nodes.sh [KILLS] [SEED] [EXAMPLES] [DIM]"),
    ("bench/mpi_scaling.sh", "bench/mpi_scaling.sh --nodes"),
    ("scripts/slurm-local.sh", "scripts/slurm-local.sh start DIR"),
    ("scripts/get-data.sh", "get-data"),
    ("slurm/pipeline.sh", "slurm/pipeline.sh [--dry-run]"),
    ("slurm/optimize_step.sh", "optimize_step.sh"),
    ("slurm/stage1_sensitivity.sh", "sbatch slurm/stage1_sensitivity.sh"),
    ("slurm/stage2_grid.sh", "sbatch slurm/stage2_grid.sh"),
    ("slurm/stage3_bayes.sh", "sbatch slurm/stage3_bayes.sh"),
    ("slurm/submit_stage.sh", "submit_stage.sh"),
    ("slurm/submit_wave.sh", "submit_wave.sh"),
]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    bindir = os.path.abspath(a.bindir)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    os.chdir(a.work)
    for binary, before, want in CASES:
        path = os.path.join(bindir, binary)
        if not os.path.exists(path):
            check(False, f"{binary} was built")
            continue
        for flag in ("--help", "-h"):
            args = before + [flag]
            r = subprocess.run([path] + args, capture_output=True, text=True, timeout=60)
            line = " ".join([binary] + args)
            check(r.returncode == 0, f"{line}: exit 0 (got {r.returncode}; stderr {r.stderr.strip()[:200]!r})")
            check(want in r.stdout, f"{line}: the usage on stdout mentions {want!r}")
            check(os.listdir(".") == [], f"{line}: nothing written ({os.listdir('.')})")
            for entry in os.listdir("."):
                shutil.rmtree(entry, ignore_errors=True)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for script, want in SCRIPTS:
        for flag in ("--help", "-h"):
            line = f"{script} {flag}"
            r = subprocess.run([os.path.join(root, script), flag], capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            check(r.returncode == 0, f"{line}: exit 0 (got {r.returncode}; stderr {r.stderr.strip()[:200]!r})")
            check(want in r.stdout, f"{line}: the usage on stdout mentions {want!r}")
            check(os.listdir(".") == [], f"{line}: nothing written ({os.listdir('.')})")
    print("help_checks: %s" % ("all checks hold" if not FAILURES else "%d FAILED" % len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# pipeline.sh — runs a whole mrpc-tune study on Slurm, unattended.
#
#   slurm/pipeline.sh [--dry-run] [STUDY.yaml]
#
# Plans the first wave (mrpc-optimize next), submits it as an array job and submits
# slurm/optimize_step.sh with --dependency=afterany:<that array>. Each optimize step
# plans and submits the next wave and the next optimize step, until the study's budgets
# are spent; the last one writes the report (mrpc-analyze) into <study_dir>/report.
# With --dry-run every sbatch command is printed instead of submitted (the waves are
# still planned, so you can look at their tasks.tsv).
#
# STUDY defaults to $MRPC_STUDY, then studies/default/study.yaml (created by
# `mrpc-pipeline init` when missing). Run it on a login node or as a tiny job.
set -euo pipefail
home=${MRPC_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
export MRPC_HOME=$home
exec "$home/slurm/submit_wave.sh" "$@"

#!/usr/bin/env bash
# pipeline.sh — runs a whole mrpc-tune study on Slurm, unattended.
#
#   slurm/pipeline.sh [--dry-run] [STUDY.yaml]
#
# Plans the first wave (mrpc-optimize next), submits it as an array job and submits
# slurm/optimize_step.sh with --dependency=afterany:<that array>. Each optimize step
# plans and submits the next wave and the next optimize step, until the study's budgets
# are spent; the last one writes the report (mrpc-analyze) into <study_dir>/report.
# With --dry-run nothing is written or submitted: it prints the first wave that would be
# planned (mrpc-optimize next --dry-run; `mrpc-optimize show-wave` prints its files) and
# the sbatch commands. Logs: <study_dir>/waves/<stage>/<nn>/logs/ holds each task's
# <array job>_<task>.out and the log of the optimize step that ran after that wave,
# optimize-<job>.out.
#
# STUDY defaults to $MRPC_STUDY, then studies/default/study.yaml (created by
# `mrpc-pipeline init` when missing). Run it on a login node or as a tiny job.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
home=${MRPC_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
export MRPC_HOME=$home
exec "$home/slurm/submit_wave.sh" "$@"

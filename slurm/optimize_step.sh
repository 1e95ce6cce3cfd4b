#!/usr/bin/env bash
# optimize_step.sh — the optimizer between waves. Submitted by slurm/pipeline.sh (and by
# itself) with --dependency=afterany:<array job>, so it runs once the whole wave has
# ended, whatever each task's exit status: a failed task never blocks the study.
#
# It runs `mrpc-optimize next --finalize` (tasks of the ended wave without a final record
# count as failed), then either submits the next wave and the next optimize step, or,
# when every stage's budget is spent, writes the report with mrpc-analyze and stops.
#
#   sbatch slurm/optimize_step.sh            (normally submitted for you by slurm/pipeline.sh)
#   slurm/optimize_step.sh --dry-run         print the sbatch commands instead of submitting
#
# Environment: MRPC_STUDY (study file), MRPC_HOME, MRPC_BINDIR, as in slurm/task.sh.
#SBATCH --job-name=mrpc-optimize        # name shown by squeue
#SBATCH --output=mrpc-%x-%j.out         # %j = job id; slurm/submit_wave.sh puts it into <wave>/logs/optimize-%j.out
#SBATCH --time=00:10:00                 # the optimizer takes seconds
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --requeue                       # run again when its node fails (planning a wave is idempotent)
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
# Slurm runs a copy of this script: the project is MRPC_HOME (exported by submit_wave.sh),
# else where this script was submitted from, else the submit directory.
home=${MRPC_HOME:-}
if [[ -z "$home" && -z "${SLURM_JOB_ID:-}" ]]; then home=$(cd "$(dirname "$0")/.." && pwd); fi  # run by hand
if [[ -z "$home" ]]; then
  script=$(scontrol show job "${SLURM_JOB_ID:-none}" -o 2>/dev/null | sed -n 's/.* Command=\([^ ]*\).*/\1/p' | head -n 1 || true)
  [[ -z "$script" || "$script" == /* ]] || script=${SLURM_SUBMIT_DIR:-$PWD}/$script
  home=$(dirname "$(dirname "${script:-/}")")
  [[ -x "$home/slurm/task.sh" ]] || home=${SLURM_SUBMIT_DIR:-$PWD}
fi
export MRPC_HOME=$home
exec "$home/slurm/submit_wave.sh" --finalize "$@"

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
#SBATCH --output=mrpc-%x-%j.out         # %j = job id (in the submit dir)
#SBATCH --time=00:10:00                 # the optimizer takes seconds
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
set -euo pipefail
home=${MRPC_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
exec "$home/slurm/submit_wave.sh" --finalize "$@"

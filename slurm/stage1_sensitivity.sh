#!/usr/bin/env bash
# stage1_sensitivity.sh — stage "sensitivity" of an mrpc-tune study as a Slurm array job.
#
#   sbatch slurm/stage1_sensitivity.sh                      run the sensitivity wave of the study (from the project directory)
#   MRPC_STUDY=path/study.yaml sbatch slurm/stage1_sensitivity.sh
#   sbatch --array=0-N%4 slurm/stage1_sensitivity.sh        a wave of another size (N = tasks - 1)
#   slurm/stage1_sensitivity.sh [STUDY.yaml]                without sbatch: checks first, then submits the
#                                          wave's own wave.sbatch (its size, the study's slurm: settings)
#
# The study is $MRPC_STUDY, default studies/default/study.yaml (`mrpc-pipeline init` writes
# it). Each array task runs one row of tasks.tsv of the newest sensitivity wave planned
# (mrpc-optimize next) before this array was submitted (slurm/task.sh); a later `next`
# does not change it. What every task would fail on alike (no study yet, no sensitivity wave yet,
# an --array range that does not match the wave) is said once, in the first task's
# %x-%A_%a.out, with the command to run, and the whole array is cancelled.
#
# The array range below fits the default study (the baseline (3 seeds) and two other values of 7 parameters: 17 runs).
# Resources: the #SBATCH lines below are fixed and fit the default study; the study's own
# slurm: settings (cpus_per_task, time, gpus, partition, account) are in the wave's
# wave.sbatch, which the form without sbatch submits. To override them here:
#   sbatch --cpus-per-task=8 --time=02:00:00 --gpus=1 --partition=gpu slurm/stage1_sensitivity.sh
# Logs: <study>/waves/sensitivity/<nn>/logs/<array job>_<task>.out, like every mrpc-tune job; a
# task moves there once it knows its wave and removes its %x-%A_%a.out in the submit
# directory, which stays only when the task stopped before that (it says why).
#SBATCH --job-name=mrpc-sensitivity          # name shown by squeue
#SBATCH --array=0-16%4             # one task per row of tasks.tsv; %4 = at most 4 at once
#SBATCH --output=%x-%A_%a.out           # %A = array job id, %a = task index (see Logs above)
#SBATCH --time=01:00:00                 # per task; a 3-epoch base-size run needs about 20 min on 2 cores
#SBATCH --ntasks=1                      # MPI ranks per run (data parallel); raise with srun --mpi=pmix
#SBATCH --cpus-per-task=2               # threads per rank
#SBATCH --requeue                       # preempted or failed nodes put the task back in the queue
#SBATCH --signal=B:USR1@120             # 120 s before the limit: checkpoint, requeue, resume
set -euo pipefail
if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
  exec "$(dirname "$0")/submit_stage.sh" sensitivity "$@"
fi
export MRPC_STAGE=sensitivity
# Slurm runs a copy of this script: find the project from MRPC_HOME, else from the path
# this script was submitted as, else the submit directory.
home=${MRPC_HOME:-}
if [[ -z "$home" ]]; then
  script=$(scontrol show job "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" -o 2>/dev/null | sed -n 's/.* Command=\([^ ]*\).*/\1/p' | head -n 1 || true)
  [[ -z "$script" || "$script" == /* ]] || script=${SLURM_SUBMIT_DIR:-$PWD}/$script
  home=$(dirname "$(dirname "${script:-/}")")
  [[ -x "$home/slurm/task.sh" ]] || home=${SLURM_SUBMIT_DIR:-$PWD}
fi
export MRPC_HOME=$home
exec "$home/slurm/task.sh"

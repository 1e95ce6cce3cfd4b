#!/usr/bin/env bash
# stage1_sensitivity.sh — stage "sensitivity" of an mrpc-tune study as a Slurm array job.
#
#   sbatch slurm/stage1_sensitivity.sh                      run the newest sensitivity wave of the default study
#   MRPC_STUDY=path/study.yaml sbatch slurm/stage1_sensitivity.sh
#   sbatch --array=0-N%4 slurm/stage1_sensitivity.sh        a wave of another size (N = tasks - 1)
#
# Each array task runs one row of the wave's tasks.tsv (see slurm/task.sh). The array
# range below fits the default study (the baseline (3 seeds) and two other values of 7 parameters: 17 runs); for another wave size pass --array on the
# sbatch command line (it overrides the line below) — a mismatch stops every task with
# the right command. Run from the project directory, or set MRPC_HOME.
#SBATCH --job-name=mrpc-sensitivity          # name shown by squeue
#SBATCH --array=0-16%4             # one task per row of tasks.tsv; %4 = at most 4 at once
#SBATCH --output=mrpc-%x-%A_%a.out      # %A = array job id, %a = task index (in the submit dir)
#SBATCH --time=01:00:00                 # per task; a 3-epoch base-size run needs about 20 min on 2 cores
#SBATCH --ntasks=1                      # MPI ranks per run (data parallel); raise with srun --mpi=pmix
#SBATCH --cpus-per-task=2               # threads per rank
#SBATCH --requeue                       # preempted or failed nodes put the task back in the queue
#SBATCH --signal=B:USR1@120             # 120 s before the limit: checkpoint, requeue, resume
set -euo pipefail
export MRPC_STAGE=sensitivity
exec "${MRPC_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}/slurm/task.sh"

#!/usr/bin/env bash
# task.sh — the body of every mrpc-tune array task (the stage scripts and each wave's
# wave.sbatch end here). It runs one row of a wave's tasks.tsv:
#
#     srun mrpc-train --wave WAVE_DIR --task-id $SLURM_ARRAY_TASK_ID
#
# mrpc-train reads the hyperparameters, run id and output path from the row itself:
# nothing from a config is ever put on a command line or into a shell word here.
#
# Which wave: $1, else $MRPC_WAVE_DIR, else the newest wave of stage $MRPC_STAGE of the
# study $MRPC_STUDY (default: studies/default/study.yaml under the project).
# Checks that the array range matches the wave (0..n-1): a mismatch is an error that
# names the right --array, not silently idle or missing tasks.
#
# Preemption: on USR1 (#SBATCH --signal=B:USR1@T, before the time limit) or TERM the
# signal is passed to the trainer, which writes a resume checkpoint and exits with 75.
# After USR1 the task requeues itself; after TERM (preemption, scontrol requeue) Slurm
# requeues it (--requeue), or not when it was cancelled. The requeued task resumes from
# the checkpoint.
# mrpc-train itself gives up (record marked failed) after MRPC_MAX_RESTARTS requeues.
#
# Environment: MRPC_HOME (project root; default $SLURM_SUBMIT_DIR), MRPC_BINDIR
# (default $MRPC_HOME/build/release), MRPC_STUDY, MRPC_STAGE, MRPC_WAVE_DIR,
# MRPC_MAX_RESTARTS (default 3), MRPC_SRUN_ARGS (extra srun arguments, e.g. --mpi=pmix).
set -euo pipefail

die() { echo "mrpc task: error: $*" >&2; exit 2; }

if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
  die "not inside a Slurm array job (submit it with sbatch; for a local run use mrpc-pipeline)"
fi
home=${MRPC_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
[[ -x "$home/slurm/task.sh" ]] || die "MRPC_HOME=$home is not the mrpc-tune project (set MRPC_HOME)"
bindir=${MRPC_BINDIR:-$home/build/release}
[[ -x "$bindir/mrpc-train" ]] || die "$bindir/mrpc-train not found: build the project or set MRPC_BINDIR"

wave_dir=${1:-${MRPC_WAVE_DIR:-}}
if [[ -z "$wave_dir" ]]; then
  stage=${MRPC_STAGE:?set MRPC_STAGE or MRPC_WAVE_DIR}
  study=${MRPC_STUDY:-$home/studies/default/study.yaml}
  [[ -f "$study" ]] || die "study $study not found (set MRPC_STUDY)"
  study_dir=$(cd "$(dirname "$study")" && pwd)
  wave_dir=$(ls -d "$study_dir/waves/$stage"/[0-9][0-9] 2>/dev/null | sort | tail -n 1 || true)
  [[ -n "$wave_dir" ]] || die "the study has no $stage wave yet: run '$bindir/mrpc-optimize next --study $study' first"
fi
[[ -f "$wave_dir/tasks.tsv" ]] || die "$wave_dir/tasks.tsv not found"

n_tasks=$(( $(grep -c '' "$wave_dir/tasks.tsv") - 1 ))
lo=${SLURM_ARRAY_TASK_MIN:-$SLURM_ARRAY_TASK_ID}
hi=${SLURM_ARRAY_TASK_MAX:-$SLURM_ARRAY_TASK_ID}
count=${SLURM_ARRAY_TASK_COUNT:-1}
if (( lo != 0 || hi != n_tasks - 1 || count != n_tasks )); then
  die "array range $lo-$hi ($count tasks) does not match $wave_dir, which has $n_tasks tasks: submit with sbatch --array=0-$((n_tasks - 1)) ..."
fi

child=0
got_usr1=0
forward() { # pass the signal to srun, which passes it to the trainer ranks
  if [[ "$1" == USR1 ]]; then got_usr1=1; fi
  if (( child > 0 )); then kill -s "$1" "$child" 2>/dev/null || true; fi
}
trap 'forward USR1' USR1
trap 'forward TERM' TERM

# shellcheck disable=SC2086  # MRPC_SRUN_ARGS is a list of srun options on purpose
srun ${MRPC_SRUN_ARGS:-} "$bindir/mrpc-train" --wave "$wave_dir" --task-id "$SLURM_ARRAY_TASK_ID" \
     --max-restarts "${MRPC_MAX_RESTARTS:-3}" &
child=$!
rc=0
while true; do
  wait "$child" && rc=0 || rc=$?
  # wait returns early (>128) when a trapped signal arrives; loop until srun is gone.
  if ! kill -0 "$child" 2>/dev/null; then break; fi
done

if (( rc == 75 )); then
  # USR1 is our own warning before the time limit: requeue ourselves. TERM comes from
  # Slurm (preemption or `scontrol requeue`, which requeue the job themselves, or scancel,
  # which must not bring it back), so then the checkpoint just waits for the next start.
  if (( got_usr1 )); then
    echo "mrpc task: checkpoint written, requeueing ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" >&2
    scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
  else
    echo "mrpc task: checkpoint written after SIGTERM" >&2
  fi
  exit 0
fi
exit "$rc"

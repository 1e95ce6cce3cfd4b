#!/usr/bin/env bash
# task.sh — the body of every mrpc-tune array task (the stage scripts and each wave's
# wave.sbatch end here). It runs one row of a wave's tasks.tsv:
#
#     srun mrpc-train --wave WAVE_DIR --task-id $SLURM_ARRAY_TASK_ID
#
# mrpc-train reads the hyperparameters, run id and output path from the row itself:
# nothing from a config is ever put on a command line or into a shell word here. It
# refuses a row whose wave was planned for other fixed settings (base config changed).
#
# Which wave: $1 (wave.sbatch passes its own), else $MRPC_WAVE_DIR, else (the stage
# scripts) the newest wave of stage $MRPC_STAGE of the study $MRPC_STUDY (default:
# studies/default/study.yaml under the project) that existed when the array was
# submitted (wave.yaml's time against the job's SubmitTime). The first task that starts
# records that choice in waves/<stage>/.array-<array job id>, and every task of the
# array, requeued ones included, runs that wave: a `mrpc-optimize next` while the array
# waits never mixes two waves in one array.
#
# What every task would fail on alike (no study, no wave, an array range that does not
# match the wave) is said once, with the command that fixes it, and the whole array is
# cancelled (scancel $SLURM_ARRAY_JOB_ID) instead of failing task after task.
#
# Logs: every task writes to <wave>/logs/<array job>_<task>.out. A stage script's task
# moves there as soon as it knows its wave and removes its <job name>-%A_%a.out in the
# submit directory, which stays only when the task stopped before (it says why).
#
# Preemption: on USR1 (#SBATCH --signal=B:USR1@T, before the time limit) or TERM the
# signal is passed to the trainer, which writes a resume checkpoint and exits with 75.
# After USR1 the task requeues itself; after TERM (preemption, scontrol requeue) Slurm
# requeues it (--requeue), or not when it was cancelled. The requeued task resumes from
# the checkpoint.
# mrpc-train itself stops trying after MRPC_MAX_RESTARTS requeues: the record says failed with
# /@failure "requeues" and keeps the checkpoint, and the study's retry resumes from it.
#
# Environment: MRPC_HOME (project root; default: the directory above this script),
# MRPC_BINDIR (default $MRPC_HOME/build/release), MRPC_STUDY, MRPC_STAGE, MRPC_WAVE_DIR,
# MRPC_MAX_RESTARTS (default 3), MRPC_SRUN_ARGS (extra srun arguments, e.g. --mpi=pmix).
set -euo pipefail

die() { echo "mrpc task: error: $*" >&2; exit 2; }

if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
  die "not inside a Slurm array job (submit it with sbatch; for a local run use mrpc-pipeline)"
fi
# Every task of this array would stop here alike: say so once and cancel the array.
refuse() {
  echo "mrpc task: error: $*" >&2
  echo "mrpc task: cancelling the whole array job $SLURM_ARRAY_JOB_ID: none of its tasks can run" >&2
  scancel "$SLURM_ARRAY_JOB_ID" 2>/dev/null || true
  exit 2
}
home=${MRPC_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
[[ -x "$home/slurm/task.sh" ]] || die "MRPC_HOME=$home is not the mrpc-tune project (set MRPC_HOME)"
bindir=${MRPC_BINDIR:-$home/build/release}
[[ -x "$bindir/mrpc-train" ]] || refuse "$bindir/mrpc-train not found: build the project (cmake --build) or set MRPC_BINDIR"

# job_field NAME: this task's NAME=... from scontrol (empty when scontrol cannot tell).
job_field() {
  scontrol show job "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" -o 2>/dev/null |
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" | head -n 1 || true
}
# The job's SubmitTime as seconds since the epoch (empty when scontrol cannot tell).
submit_time() {
  local t
  t=$(job_field SubmitTime)
  if [[ -n "$t" ]]; then date -d "${t/T/ }" +%s 2>/dev/null || true; fi
}

wave_dir=${1:-${MRPC_WAVE_DIR:-}}
from_stage=0
if [[ -z "$wave_dir" ]]; then
  from_stage=1
  stage=${MRPC_STAGE:?set MRPC_STAGE or MRPC_WAVE_DIR}
  study=${MRPC_STUDY:-$home/studies/default/study.yaml}
  if [[ ! -f "$study" ]]; then
    if [[ "$(basename "$study")" == study.yaml ]]; then
      create="$bindir/mrpc-pipeline init $(dirname "$study")    (the default study; or write study.yaml and base.yaml as in $home/optimize/examples)"
    else
      create="write it (see $home/optimize/examples/study.yaml and base.yaml), or $bindir/mrpc-pipeline init DIR for the default study in DIR/study.yaml"
    fi
    refuse "study $study not found. Create it, plan its first wave, then submit again:
    $create
    $bindir/mrpc-optimize next --study $study
(MRPC_STUDY=path/study.yaml picks another study)"
  fi
  study_dir=$(cd "$(dirname "$study")" && pwd)
  stage_dir=$study_dir/waves/$stage
  pin=$stage_dir/.array-$SLURM_ARRAY_JOB_ID
  chosen=""
  if [[ ! -L "$pin" ]]; then
    submitted=$(submit_time)
    [[ -n "$submitted" ]] || echo "mrpc task: warning: no SubmitTime from scontrol; running the newest $stage wave" >&2
    # Waves 00..99, then 100..999, ...: numeric order.
    for w in "$stage_dir"/[0-9][0-9] "$stage_dir"/[0-9][0-9][0-9] "$stage_dir"/[0-9][0-9][0-9][0-9]; do
      [[ -f "$w/wave.yaml" ]] || continue
      if [[ -z "$submitted" ]] || (( $(stat -c %Y "$w/wave.yaml") <= submitted )); then chosen=${w##*/}; fi
    done
    if [[ -z "$chosen" ]]; then
      refuse "the study $study had no $stage wave when this array was submitted. Plan it, then submit again:
    $bindir/mrpc-optimize next --study $study"
    fi
    ln -s "$chosen" "$pin" 2>/dev/null || true  # atomic: the first task to start decides
  fi
  pinned=$(readlink "$pin" 2>/dev/null || true)
  wave_dir=$stage_dir/${pinned:-$chosen}
fi
[[ -f "$wave_dir/tasks.tsv" ]] || refuse "$wave_dir/tasks.tsv not found"
wave_dir=$(cd "$wave_dir" && pwd)

n_tasks=$(( $(grep -c '' "$wave_dir/tasks.tsv") - 1 ))
lo=${SLURM_ARRAY_TASK_MIN:-$SLURM_ARRAY_TASK_ID}
hi=${SLURM_ARRAY_TASK_MAX:-$SLURM_ARRAY_TASK_ID}
count=${SLURM_ARRAY_TASK_COUNT:-1}
if (( lo != 0 || hi != n_tasks - 1 || count != n_tasks )); then
  refuse "array range $lo-$hi ($count tasks) does not match $wave_dir, which has $n_tasks tasks: submit with sbatch --array=0-$((n_tasks - 1)) ..., or sbatch $wave_dir/wave.sbatch"
fi

if (( from_stage )); then
  # One place for logs: the wave's logs/, as wave.sbatch's tasks and the optimize steps.
  log=$wave_dir/logs/${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.out
  mkdir -p "$wave_dir/logs"
  slurm_out=${SLURM_SUBMIT_DIR:-.}/${SLURM_JOB_NAME:-}-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.out
  exec >>"$log" 2>&1
  if [[ -f "$slurm_out" && "$(job_field StdOut)" == "$slurm_out" ]]; then rm -f "$slurm_out"; fi
  echo "mrpc task: ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} runs $wave_dir (stage $stage, submitted by ${SLURM_JOB_NAME:-?})"
  # The stage scripts' #SBATCH lines are fixed; the study's slurm: settings are in the wave's own wave.sbatch.
  want_cpus=$(sed -n 's/^#SBATCH --cpus-per-task=//p' "$wave_dir/wave.sbatch" 2>/dev/null || true)
  if [[ -n "$want_cpus" && -n "${SLURM_CPUS_PER_TASK:-}" && "$want_cpus" != "$SLURM_CPUS_PER_TASK" ]]; then
    echo "mrpc task: note: this task has $SLURM_CPUS_PER_TASK CPUs, the study asks for $want_cpus (slurm.cpus_per_task):" \
         "pass sbatch --cpus-per-task=$want_cpus (and --time, --gpus) or submit $wave_dir/wave.sbatch, which has them"
  fi
  want_nodes=$(sed -n 's/^#SBATCH --nodes=//p' "$wave_dir/wave.sbatch" 2>/dev/null || true)
  if [[ -n "$want_nodes" && "${SLURM_JOB_NUM_NODES:-1}" != "$want_nodes" ]]; then
    echo "mrpc task: note: this task has ${SLURM_JOB_NUM_NODES:-1} node(s), the study's runs span $want_nodes" \
         "(slurm.nodes_per_task): the run trains the same model on fewer ranks (rank-count invariance), more slowly;" \
         "submit $wave_dir/wave.sbatch, which asks for $want_nodes nodes"
  fi
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
# --kill-on-bad-exit: when one rank of a run dies (kill -9, OOM, its node lost), Slurm sends
# the others SIGTERM at once; they record the lost rank within seconds (mrpc-train exits 75,
# its record says failed with /@failure "lost_rank", the checkpoint is kept and the study
# retries the run from it) instead of waiting in an all-reduce that never completes.
# --kill-wait: the cluster's KillWait (stop signal to SIGKILL), so that a rank waiting for a
# lost peer gives up and writes the record in time.
kill_wait=$(scontrol show config 2>/dev/null | sed -n 's/^KillWait *= *\([0-9][0-9]*\).*/\1/p' | head -n 1 || true)
srun --kill-on-bad-exit=1 ${MRPC_SRUN_ARGS:-} "$bindir/mrpc-train" --wave "$wave_dir" --task-id "$SLURM_ARRAY_TASK_ID" \
     --max-restarts "${MRPC_MAX_RESTARTS:-3}" ${kill_wait:+--kill-wait "$kill_wait"} &
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

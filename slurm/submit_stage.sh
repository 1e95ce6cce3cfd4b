#!/usr/bin/env bash
# submit_stage.sh — what slurm/stage*.sh do when run without sbatch:
#
#   slurm/stage2_grid.sh [STUDY.yaml]      (= slurm/submit_stage.sh grid [STUDY.yaml])
#
# Checks that the study exists and has a wave of the stage, then submits that wave's own
# wave.sbatch (written by mrpc-optimize next: the wave's array size and the study's
# slurm: settings, logs in <wave>/logs/). Nothing is queued when a check fails; the
# message gives the command to run. STUDY defaults to $MRPC_STUDY, then
# studies/default/study.yaml under the project.
set -euo pipefail
for arg in "$@"; do
  if [[ "$arg" == "-h" || "$arg" == "--help" ]]; then
    script=$(ls "$(dirname "$0")"/stage*_"${1:-}"*.sh 2>/dev/null | head -n 1 || true)
    if [[ -n "$script" ]]; then sed -n '2,/^#SBATCH/s/^# \{0,1\}//p' "$script" | grep -v '^SBATCH'
    else sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; fi
    exit 0
  fi
done
stage=${1:?usage: submit_stage.sh sensitivity|grid|bayes [STUDY.yaml]}
shift
case $stage in sensitivity|grid|bayes) ;; *) echo "submit_stage: unknown stage $stage" >&2; exit 2 ;; esac
home=${MRPC_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
bindir=${MRPC_BINDIR:-$home/build/release}
study=${1:-${MRPC_STUDY:-$home/studies/default/study.yaml}}
if [[ ! -f "$study" ]]; then
  if [[ "$(basename "$study")" == study.yaml ]]; then
    create="$bindir/mrpc-pipeline init $(dirname "$study")    (the default study; or write study.yaml and base.yaml as in $home/optimize/examples)"
  else
    create="write it (see $home/optimize/examples/study.yaml and base.yaml)"
  fi
  echo "mrpc $stage: error: study $study not found; nothing submitted. Create it and plan its first wave:
    $create
    $bindir/mrpc-optimize next --study $study" >&2
  exit 2
fi
stage_dir=$(cd "$(dirname "$study")" && pwd)/waves/$stage
wave=""
for w in "$stage_dir"/[0-9][0-9] "$stage_dir"/[0-9][0-9][0-9] "$stage_dir"/[0-9][0-9][0-9][0-9]; do  # numeric order
  if [[ -f "$w/wave.sbatch" ]]; then wave=${w##*/}; fi
done
if [[ -z "$wave" ]]; then
  echo "mrpc $stage: error: the study $study has no $stage wave yet; nothing submitted. Plan it:
    $bindir/mrpc-optimize next --study $study" >&2
  exit 2
fi
job=$(sbatch --parsable "$stage_dir/$wave/wave.sbatch")
job=${job%%;*}
echo "mrpc $stage: wave $stage_dir/$wave is array job $job; logs: $stage_dir/$wave/logs/${job}_<task>.out" >&2
echo "$job"

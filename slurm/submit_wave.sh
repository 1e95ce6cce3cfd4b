#!/usr/bin/env bash
# submit_wave.sh — plan the next wave of a study and submit it with its optimize step.
# Shared by slurm/pipeline.sh (first wave) and slurm/optimize_step.sh (every later one).
#
#   submit_wave.sh [--finalize] [--dry-run] [STUDY.yaml]
#
# Prints what it does. Exit status: 0 when a wave was submitted or the study is done.
set -euo pipefail
finalize=() dry=0 study=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --finalize) finalize=(--finalize); shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) echo "submit_wave: unknown option $1" >&2; exit 2 ;;
    *) study=$1; shift ;;
  esac
done
home=${MRPC_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
[[ -x "$home/slurm/task.sh" ]] || { echo "submit_wave: MRPC_HOME=$home is not the mrpc-tune project" >&2; exit 2; }
bindir=${MRPC_BINDIR:-$home/build/release}
study=${study:-${MRPC_STUDY:-$home/studies/default/study.yaml}}
if [[ ! -f "$study" && "$study" == "$home/studies/default/study.yaml" ]]; then
  "$bindir/mrpc-pipeline" init "$(dirname "$study")"
fi
[[ -f "$study" ]] || { echo "submit_wave: study $study not found" >&2; exit 2; }
study=$(cd "$(dirname "$study")" && pwd)/$(basename "$study")
export MRPC_HOME=$home MRPC_BINDIR=$bindir MRPC_STUDY=$study

submit() { # submit ARGS...: sbatch --parsable, or print it in dry-run mode
  if (( dry )); then
    { printf 'sbatch'; printf ' %q' "$@"; printf '\n'; } >&2
    echo "DRYRUN"
  else
    sbatch --parsable "$@"
  fi
}

out=$("$bindir/mrpc-optimize" next --study "$study" "${finalize[@]}")
echo "$out" >&2
wave_dir=$(sed -n 's/^wave_dir=//p' <<<"$out")
if grep -qx done <<<"$out"; then
  echo "submit_wave: study complete; writing the report" >&2
  "$bindir/mrpc-analyze" "$(dirname "$study")" --out "$(dirname "$study")/report"
  exit 0
fi
if [[ -z "$wave_dir" ]]; then
  echo "submit_wave: mrpc-optimize planned no wave (see above)" >&2
  exit 1
fi
array_job=$(submit --chdir="$home" "$wave_dir/wave.sbatch")
array_job=${array_job%%;*}
echo "submit_wave: wave $wave_dir is array job $array_job" >&2
dep_job=$(submit --chdir="$home" --dependency="afterany:$array_job" --export=ALL "$home/slurm/optimize_step.sh")
echo "submit_wave: optimize step is job ${dep_job%%;*} (after $array_job)" >&2

#!/usr/bin/env bash
# submit_wave.sh — plan the next wave of a study and submit it with its optimize step.
# Shared by slurm/pipeline.sh (first wave) and slurm/optimize_step.sh (every later one).
#
#   submit_wave.sh [--finalize] [--dry-run] [STUDY.yaml]
#
# Prints what it does. Exit status: 0 when a wave was submitted or the study is done.
# --dry-run writes nothing and submits nothing: it asks `mrpc-optimize next --dry-run`
# what the next wave would be and prints the sbatch commands it would run.
# Logs: the wave's tasks write <wave>/logs/<array job>_<task>.out (wave.sbatch), the
# optimize step that runs after the wave writes <wave>/logs/optimize-<job>.out.
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
home=${MRPC_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
[[ -x "$home/slurm/task.sh" ]] || { echo "submit_wave: MRPC_HOME=$home is not the mrpc-tune project" >&2; exit 2; }
bindir=${MRPC_BINDIR:-$home/build/release}
study=${study:-${MRPC_STUDY:-$home/studies/default/study.yaml}}
if [[ ! -f "$study" && "$study" == "$home/studies/default/study.yaml" ]]; then
  if (( dry )); then
    echo "submit_wave: dry run: no study yet; a real run would first create the default study with:" >&2
    echo "    $bindir/mrpc-pipeline init $(dirname "$study")" >&2
    exit 0
  fi
  "$bindir/mrpc-pipeline" init "$(dirname "$study")"
fi
if [[ ! -f "$study" ]]; then
  echo "submit_wave: study $study not found; nothing submitted. Create it (or run without a study for the default one):" >&2
  if [[ "$(basename "$study")" == study.yaml ]]; then
    echo "    $bindir/mrpc-pipeline init $(dirname "$study")    (the default study; or write study.yaml and base.yaml as in $home/optimize/examples)" >&2
  else
    echo "    write it (see $home/optimize/examples/study.yaml and base.yaml)" >&2
  fi
  exit 2
fi
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

dry_arg=()
if (( dry )); then dry_arg=(--dry-run); fi
out=$("$bindir/mrpc-optimize" next --study "$study" "${finalize[@]}" "${dry_arg[@]}")
echo "$out" >&2
wave_dir=$(sed -n 's/^wave_dir=//p' <<<"$out")
if grep -qx 'done' <<<"$out"; then
  report=("$bindir/mrpc-analyze" "$study" --out "$(dirname "$study")/report")
  if (( dry )); then
    { printf 'submit_wave: dry run: the study is complete; a real run would write the report:'; printf ' %q' "${report[@]}"; printf '\n'; } >&2
    exit 0
  fi
  echo "submit_wave: study complete; writing the report" >&2
  "${report[@]}"
  exit 0
fi
if [[ -z "$wave_dir" ]]; then
  echo "submit_wave: mrpc-optimize planned no wave (see above)" >&2
  exit 1
fi
array_job=$(submit --chdir="$home" "$wave_dir/wave.sbatch")
array_job=${array_job%%;*}
echo "submit_wave: wave $wave_dir is array job $array_job" >&2
dep_job=$(submit --chdir="$home" --dependency="afterany:$array_job" --export=ALL \
                 --output="$wave_dir/logs/optimize-%j.out" "$home/slurm/optimize_step.sh")
echo "submit_wave: optimize step is job ${dep_job%%;*} (after $array_job)" >&2
if (( dry )); then echo "submit_wave: dry run: nothing was written or submitted" >&2; fi

#!/usr/bin/env bash
# stress-ranks.sh — lost ranks, many of them: a two-rank run across two nodes of a private
# Slurm cluster (scripts/slurm-local.sh --nodes 3), and one rank killed with kill -9 at a
# random moment, KILLS times. Every time the other rank must end before Slurm's SIGKILL
# (KillWait 10 s) with its record failed and /@failure lost_rank (when the record existed
# yet). One kill in four takes rank 0 instead (the rank that writes the record): the other
# must end as fast, the record stays "running" and the same command continues the run.
# Prints how often the stop watch saw the lost rank and how often Open MPI deadlocked
# inside MPI_Test and the call watch took over (train/dist/call_watch.h).
#
#   scripts/stress-ranks.sh [KILLS] [SEED]
#
# Defaults: 50 kills, seed 1 (about 10 s a kill). Needs root (network namespaces) and a
# release build in build/release.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
kills=${1:-50}
seed=${2:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MRPC_DATA_DIR:-$(cd "$root/.." && pwd)/shared/data}
work=$(mktemp -d /tmp/mrpc-stress-ranks.XXXXXX)
args=(--home "$root" --bindir "$root/build/release" --data "$data" --cluster "$work/cluster" --port 6887)
py=(/usr/bin/python3 "$root/tests/slurm/multinode_checks.py")
trap '"${py[@]}" "${args[@]}" --work none stop >/dev/null 2>&1 || true' EXIT
"${py[@]}" "${args[@]}" --work none start
"${py[@]}" "${args[@]}" --work "$work/ranks" --kills "$kills" --seed "$seed" rankstorm

#!/usr/bin/env bash
# stress-nodes.sh — node failures, many of them: the tiny default-shaped study (45 runs) on a
# private 3-node Slurm cluster (scripts/slurm-local.sh --nodes 3) while nodes lose power one
# after another. Checks that the study completes with every record completed, no
# configuration run twice, and resumed records equal to uninterrupted runs (a sample of 5).
#
#   scripts/stress-nodes.sh [KILLS] [SEED] [EXAMPLES] [DIM]
#
# Defaults: 10 node failures, seed 1, 600 training pairs per run, model width 64. The study
# must last long enough for the failures (about 50 s of it per failure): raise EXAMPLES (up
# to 3668) and DIM for more.
#
# Needs root (network namespaces) and a release build in build/release; prints the counts.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
kills=${1:-10}
seed=${2:-1}
examples=${3:-600}
dim=${4:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MRPC_DATA_DIR:-$(cd "$root/.." && pwd)/shared/data}
work=$(mktemp -d /tmp/mrpc-stress-nodes.XXXXXX)
args=(--home "$root" --bindir "$root/build/release" --data "$data" --cluster "$work/cluster" --port 6867)
py=(/usr/bin/python3 "$root/tests/slurm/multinode_checks.py")
trap '"${py[@]}" "${args[@]}" --work none stop >/dev/null 2>&1 || true' EXIT
"${py[@]}" "${args[@]}" --work none start
"${py[@]}" "${args[@]}" --work "$work/storm" --kills "$kills" --seed "$seed" --examples "$examples" --dim "$dim" storm

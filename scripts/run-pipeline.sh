#!/usr/bin/env bash
# The main job of mrpc-tune (README, command 1): the three-stage study on one machine.
#
#   scripts/run-pipeline.sh [STUDY.yaml] [mrpc-pipeline run options]
#
# Installs missing Debian packages, finds or fetches the data, builds the release tree,
# then runs `mrpc-pipeline run` — by default the embedded default study in
# studies/default: local executor, CPU, a random small model unless pretrained
# distilbert-base-uncased weights are in $MRPC_DATA_DIR/distilbert-base-uncased. It ends
# by printing where the report is. Stopped with Ctrl-C, the same command continues.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh run
if [[ -z "${MRPC_DATA_DIR:-}" ]]; then
  if [[ -d ../shared/data/mrpc ]]; then
    MRPC_DATA_DIR=$(cd ../shared/data && pwd)
  else
    MRPC_DATA_DIR=$root/data
    [[ -f "$MRPC_DATA_DIR/mrpc/train.tsv" ]] || scripts/get-data.sh --dest "$MRPC_DATA_DIR"
  fi
fi
export MRPC_DATA_DIR
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)" --target mrpc-train mrpc-optimize mrpc-analyze mrpc-pipeline
exec build/release/mrpc-pipeline run "$@"

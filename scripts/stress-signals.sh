#!/usr/bin/env bash
# A long signal storm against mrpc-train (the test suite runs a short one: e2e_signal_storm).
#
#   scripts/stress-signals.sh [SIGNALS] [BUILD_DIR]     default 600 signals, build/release
#
# Many short runs (fp32 on 1 and 2 threads, bf16, 2 MPI ranks), each hit by SIGTERM, SIGUSR1,
# SIGINT and SIGHUP at random moments (single signals and bursts), then rerun until they
# complete: every stopped process must exit 75 with a checkpoint, none may crash, and every
# finished record must equal an uninterrupted run's bit for bit. Prints the counts. Set
# MRPC_STORM_SEED to replay a storm.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
root=$(cd "$(dirname "$0")/.." && pwd)
signals=${1:-600}
build=${2:-$root/build/release}
if [[ -z "${MRPC_DATA_DIR:-}" ]]; then
  if [[ -d $root/../shared/data/mrpc ]]; then MRPC_DATA_DIR=$(cd "$root/../shared/data" && pwd); else MRPC_DATA_DIR=$root/data; fi
fi
[[ -x $build/mrpc-train ]] || { echo "stress-signals: $build/mrpc-train not built (scripts/test.sh or cmake --build)" >&2; exit 2; }
work=$(mktemp -d /tmp/mrpc-stress-signals.XXXXXX)
trap 'rm -rf "$work"' EXIT
exec /usr/bin/python3 "$root/tests/e2e/signal_storm.py" --bin "$build/mrpc-train" --data "$MRPC_DATA_DIR" \
  --work "$work" --signals "$signals" storm

#!/usr/bin/env bash
# optimizer_emit_time.sh BUILD_DIR [RECORDS] [REPEATS] — how long `mrpc-optimize next`
# takes to emit a Bayesian wave of 8 from RECORDS past runs (default 1000) written as
# real HDF5 run records into a scratch study (bench/optimizer_emit_time.c). Runs the
# cold case (no record cache: every record read from HDF5) and the warm case (the cache
# a previous `next` wrote, as in a running study where each call adds one wave).
set -euo pipefail
build=${1:?usage: optimizer_emit_time.sh BUILD_DIR [RECORDS] [REPEATS]}
records=${2:-1000}
repeats=${3:-5}
bin=$(ls "$build"/optimizer_emit_time 2>/dev/null | head -n1 || true)
opt="$build/mrpc-optimize"
[[ -n "$bin" && -x "$bin" && -x "$opt" ]] || { echo "optimizer_emit_time.sh: build optimizer_emit_time and mrpc-optimize first" >&2; exit 2; }
dir=$(mktemp -d /tmp/mrpc-emit-time.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "# cold: $records records, no cache"
"$bin" "$opt" --records "$records" --repeats "$repeats" --dir "$dir"
rm -rf "$dir/waves"
echo "# warm: the same study again, with the cache the first real next wrote"
"$bin" "$opt" --records 0 --repeats "$repeats" --dir "$dir"

#!/usr/bin/env bash
# run_fuzz.sh BINARY SEED_CORPUS_DIR WORK_DIR SECONDS
# Fuzzes BINARY for SECONDS from a copy of the seed corpus; fails on any crash, leak or
# sanitizer report (libFuzzer exits non-zero and leaves the crashing input in WORK_DIR).
set -euo pipefail
bin=$1 seeds=$2 work=$3 secs=$4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if [[ -d "$seeds" ]]; then cp -r "$seeds"/. "$work/corpus/"; fi
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
     -artifact_prefix="$work/artifacts/" "$work/corpus"

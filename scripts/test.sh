#!/usr/bin/env bash
# The test command of mrpc-tune (README, command 2; .ci/run calls it).
#
# Installs missing Debian packages, builds three trees and runs every test:
#   build/release  optimised build with every backend found (CUDA compiled, not run)
#                  -> all tests: unit, golden, e2e, mpi, slurm (a private one-node cluster)
#   build/asan     AddressSanitizer + UndefinedBehaviorSanitizer -> the unit tests
#   build/fuzz     clang + libFuzzer -> a short fuzz run per parser
#
# Environment: MRPC_DATA_DIR (default ../shared/data when it exists, else ./data) holds
# mrpc/{train,dev,test}.tsv and bert-base-uncased/vocab.txt; MRPC_FUZZ_SECONDS (default 15);
# MRPC_TEST_JOBS (default: number of cores).
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/install-deps.sh test

if [[ -z "${MRPC_DATA_DIR:-}" ]]; then
  if [[ -d ../shared/data/mrpc ]]; then MRPC_DATA_DIR=$(cd ../shared/data && pwd); else MRPC_DATA_DIR=$root/data; fi
fi
export MRPC_DATA_DIR
for f in mrpc/train.tsv mrpc/dev.tsv mrpc/test.tsv bert-base-uncased/vocab.txt; do
  if [[ ! -r "$MRPC_DATA_DIR/$f" ]]; then
    echo "test.sh: $MRPC_DATA_DIR/$f is missing: run scripts/get-data.sh or set MRPC_DATA_DIR" >&2
    exit 1
  fi
done
jobs=${MRPC_TEST_JOBS:-$(nproc)}
fuzz_seconds=${MRPC_FUZZ_SECONDS:-15}

step() { printf '\n==== %s\n' "$*"; }

step "release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DMRPC_WERROR=ON -DMRPC_TEST_DATA_DIR="$MRPC_DATA_DIR" >/dev/null
cmake --build build/release -j "$jobs"

step "sanitizer build (ASan + UBSan)"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DMRPC_SANITIZE=ON -DMRPC_CUDA=OFF -DMRPC_WERROR=ON \
      -DMRPC_TEST_DATA_DIR="$MRPC_DATA_DIR" >/dev/null
cmake --build build/asan -j "$jobs"

step "fuzz build (clang, libFuzzer)"
CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMRPC_FUZZ=ON -DMRPC_CUDA=OFF -DMRPC_MPI=OFF \
      -DMRPC_FUZZ_SECONDS="$fuzz_seconds" -DMRPC_TEST_DATA_DIR="$MRPC_DATA_DIR" >/dev/null
cmake --build build/fuzz -j "$jobs" --target mrpc_fuzz_all

status=0
step "unit tests under sanitizers"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan -L unit --output-on-failure -j "$jobs" || status=1

step "all tests (release)"
ctest --test-dir build/release -LE "fuzz|slurm" --output-on-failure -j "$jobs" || status=1

if ctest --test-dir build/release -N -L slurm | grep -q "Total Tests: [1-9]"; then
  step "Slurm tests on a private one-node cluster"
  ctest --test-dir build/release -L slurm --output-on-failure || status=1
fi

step "fuzzing (${fuzz_seconds}s per target)"
ctest --test-dir build/fuzz -L fuzz --output-on-failure -j "$jobs" || status=1

if [[ $status -ne 0 ]]; then
  echo; echo "test.sh: FAILED (see the output above)"; exit 1
fi
echo; echo "test.sh: all tests passed"

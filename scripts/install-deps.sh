#!/usr/bin/env bash
# Installs the Debian packages mrpc-tune needs, in two sets:
#
#   run   what building and running the pipeline needs (the main job, scripts/run-pipeline.sh):
#         compiler, CMake, the libraries the binaries link, Open MPI, h5dump, and python3 + curl
#         for scripts/get-data.sh
#   test  everything: the run set plus what only the tests and benchmarks use (PyTorch, h5py,
#         Optuna, scikit-learn as references, clang/libFuzzer and AFL++, a one-node Slurm with
#         munge, Chromium for the report screenshot)
#
#   scripts/install-deps.sh [run|test]          install what is missing of the set (default: test)
#   scripts/install-deps.sh [run|test] --check  exit 0 when the set is installed, 1 otherwise
#   scripts/install-deps.sh [run|test] --list   print the set's packages, one a line
#
# Both README commands call this script first (the main job with `run`, the tests with
# `test`); it is quick when nothing is missing.
set -euo pipefail

run_packages=(
  # toolchain
  build-essential cmake pkg-config
  # libraries the binaries link, and the tools a user of the records expects (h5dump, mpirun)
  libopenblas-dev liblapacke-dev libhdf5-dev hdf5-tools libyaml-dev libutf8proc-dev libjansson-dev
  libnlopt-dev libdnnl-dev libopenmpi-dev openmpi-bin libplplot-dev plplot-driver-cairo libcairo2-dev
  # scripts/get-data.sh: the MRPC split is rebuilt with python3's standard library, downloads by curl
  python3 curl ca-certificates
)
test_only_packages=(
  # sanitizer and fuzz builds
  clang libclang-rt-14-dev afl++
  # references and cross-checks used by the tests and benchmarks
  python3-numpy python3-scipy python3-torch python3-h5py python3-optuna python3-sklearn
  # a real one-node Slurm for the Slurm tests, and a browser for the report screenshot test
  slurm-wlm munge chromium
)

set_name=test
action=install
for arg in "$@"; do
  case $arg in
    run|test) set_name=$arg ;;
    --check) action=check ;;
    --list) action=list ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps: unknown argument '$arg' (run|test, --check, --list)" >&2; exit 2 ;;
  esac
done

packages=("${run_packages[@]}")
if [[ $set_name == test ]]; then packages+=("${test_only_packages[@]}"); fi

if [[ $action == list ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ $action == check ]]; then
  if ((${#missing[@]})); then echo "missing: ${missing[*]}"; exit 1; fi
  exit 0
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${#missing[@]} Debian packages ($set_name set): ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

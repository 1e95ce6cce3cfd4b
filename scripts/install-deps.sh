#!/usr/bin/env bash
# Installs every Debian package mrpc-tune needs to build, test and run.
#
#   scripts/install-deps.sh           install what is missing (as root, or through sudo)
#   scripts/install-deps.sh --check   exit 0 when everything is installed, 1 otherwise; installs nothing
#
# Both README commands call this script first; it is quick when nothing is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config clang libclang-rt-14-dev afl++
  # libraries the binaries link
  libopenblas-dev liblapacke-dev libhdf5-dev hdf5-tools libyaml-dev libutf8proc-dev libjansson-dev
  libnlopt-dev libdnnl-dev libopenmpi-dev openmpi-bin libplplot-dev plplot-driver-cairo libcairo2-dev
  # references and cross-checks used by the tests and benchmarks
  python3 python3-numpy python3-scipy python3-torch python3-h5py python3-optuna python3-sklearn
  # a real one-node Slurm for the Slurm tests, and a browser for the report screenshot test
  slurm-wlm munge chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ "${1:-}" == "--check" ]]; then
  if ((${#missing[@]})); then echo "missing: ${missing[*]}"; exit 1; fi
  exit 0
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

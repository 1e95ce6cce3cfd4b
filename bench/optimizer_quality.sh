#!/usr/bin/env bash
# optimizer_quality.sh BUILD_DIR [SEEDS] [EVALS] — the optimizer-quality benchmark:
# mrpc-optimize's Bayesian stage (bench/optimizer_quality.c) against Optuna 3.1's TPE
# and random search (bench/optimizer_optuna.py, Debian's /usr/bin/python3) on Branin,
# Hartmann-6 and a noisy MRPC-shaped 3-D function, waves of 1 and 4, SEEDS seeds
# (default 20) of EVALS evaluations (default 50). Prints a table of median regret at
# 20 and 50 evaluations (bench/optimizer_summary.py); the raw traces and the median
# best-so-far curves (curves.csv) are kept in $OUT (default ./optimizer_quality.out/).
#
# About 1 minute for mrpc-optimize and 5-10 for Optuna on two cores.
set -euo pipefail
build=${1:?usage: optimizer_quality.sh BUILD_DIR [SEEDS] [EVALS]}
seeds=${2:-20}
evals=${3:-50}
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-optimizer_quality.out}
mkdir -p "$out"
bin=$(ls "$build"/optimizer_quality 2>/dev/null | head -n1 || true)
[[ -n "$bin" && -x "$bin" ]] || { echo "optimizer_quality.sh: build $bin first (make optimizer_quality)" >&2; exit 2; }

start=$(date +%s)
"$bin" --seeds "$seeds" --evals "$evals" --q 1,4 > "$out/gp.txt"
mid=$(date +%s)
/usr/bin/python3 "$here/optimizer_optuna.py" --seeds "$seeds" --evals "$evals" --q 1,4 > "$out/optuna.txt"
end=$(date +%s)
echo "# mrpc-optimize: $((mid - start)) s; Optuna TPE + random: $((end - mid)) s; $seeds seeds x $evals evaluations"
/usr/bin/python3 "$here/optimizer_summary.py" --at 20,50 --curves "$out/curves.csv" "$out/gp.txt" "$out/optuna.txt"
echo "# median best-so-far regret after every evaluation: $out/curves.csv"

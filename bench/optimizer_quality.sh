#!/usr/bin/env bash
# optimizer_quality.sh BUILD_DIR [SEEDS] [EVALS] [NOISY_SEEDS] — the optimizer-quality benchmark:
# mrpc-optimize's Bayesian stage (bench/optimizer_quality.c) against Optuna 3.1's TPE
# and random search (bench/optimizer_optuna.py, Debian's /usr/bin/python3), in two parts.
#
# 1. Search: Branin, Hartmann-6 and a noisy MRPC-shaped 3-D function (mrpc3), waves of 1
#    and 4, SEEDS seeds (default 20) of EVALS evaluations (default 50): median regret of
#    the best point evaluated at 20 and 50 evaluations.
# 2. Noise (the bayes stage in MRPC's real regime, stage3-sd03/12/24: learning rate,
#    warmup, weight decay with effects of 4, 1.2, 1.2 accuracy points and seed noise of
#    0.3, 1.2, 2.4 points): 20 runs in waves of 4, NOISY_SEEDS seeds (default 200: at 40
#    the medians of two methods within 0.0005 of each other swap from run to run), against
#    TPE, multivariate TPE and random search. Per method the true regret of the best point
#    evaluated (oracle), of the best observed run, and of the method's answer (ours: the
#    best posterior mean among evaluated configurations, optimize/recommend.h; Optuna's:
#    its best trial), with a paired comparison against TPE; "+gp-rec" rows apply our
#    recommendation to the other methods' trials. gp is the stage as it is (`acquisition:
#    auto`), gp-ei and gp-kg with `acquisition: augmented_ei` and `kg`.
#
# Tables on stdout (bench/optimizer_summary.py); the raw lines and the median best-so-far
# curves (curves.csv) are kept in $OUT (default ./optimizer_quality.out/).
# About 2 minutes for mrpc-optimize and 5-10 for Optuna on two cores.
set -euo pipefail
build=${1:?usage: optimizer_quality.sh BUILD_DIR [SEEDS] [EVALS] [NOISY_SEEDS]}
seeds=${2:-20}
evals=${3:-50}
noisy_seeds=${4:-200}
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-optimizer_quality.out}
mkdir -p "$out"
bin=$(ls "$build"/optimizer_quality 2>/dev/null | head -n1 || true)
[[ -n "$bin" && -x "$bin" ]] || { echo "optimizer_quality.sh: build $bin first (make optimizer_quality)" >&2; exit 2; }
noisy=stage3-sd03,stage3-sd12,stage3-sd24

start=$(date +%s)
"$bin" --seeds "$seeds" --evals "$evals" --q 1,4 > "$out/gp.txt"
"$bin" --seeds "$noisy_seeds" --evals 20 --q 4 --functions "$noisy" > "$out/gp_noisy.txt"
"$bin" --seeds "$noisy_seeds" --evals 20 --q 4 --functions "$noisy" --ei --method gp-ei >> "$out/gp_noisy.txt"
"$bin" --seeds "$noisy_seeds" --evals 20 --q 4 --functions "$noisy" --kg --method gp-kg >> "$out/gp_noisy.txt"
mid=$(date +%s)
/usr/bin/python3 "$here/optimizer_optuna.py" --seeds "$seeds" --evals "$evals" --q 1,4 > "$out/optuna.txt"
/usr/bin/python3 "$here/optimizer_optuna.py" --seeds "$noisy_seeds" --evals 20 --q 4 --functions "$noisy" \
    --methods tpe,tpe-mv,random > "$out/optuna_noisy.txt"
end=$(date +%s)
"$bin" --rescore "$out/optuna_noisy.txt" > "$out/rescore_noisy.txt"
echo "# mrpc-optimize: $((mid - start)) s; Optuna TPE + random: $((end - mid)) s; $seeds seeds x $evals evaluations," \
     "noisy part $noisy_seeds seeds x 20 evaluations"
/usr/bin/python3 "$here/optimizer_summary.py" --at 20,50 --curves "$out/curves.csv" "$out/gp.txt" "$out/optuna.txt"
echo "# median best-so-far regret after every evaluation: $out/curves.csv"
echo
echo "# stage 3 under seed noise: true regret (accuracy) of what each method would answer"
/usr/bin/python3 "$here/optimizer_summary.py" --at 20 --finals-only "$out/gp_noisy.txt" "$out/optuna_noisy.txt" \
    "$out/rescore_noisy.txt"

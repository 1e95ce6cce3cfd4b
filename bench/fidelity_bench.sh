#!/usr/bin/env bash
# fidelity_bench.sh BUILD_DIR [SEEDS] — successive halving at equal epochs, on the
# learning-curve simulator of bench/fidelity_bench.c (curves that cross, diverging runs,
# seed noise): plain waves (bayes, waves of 4) vs our successive halving (bayes with
# fidelity {min_iter 1, eta 3}, driven through mrpc_asha_plan: "asha" with BOHB's rung model,
# what mrpc-optimize does, "asha-mf" with the multi-fidelity model of optimize/stages/mf_model.h,
# mrpc_asha_plan_model, not used by mrpc-optimize) vs Optuna 3.1's TPE with
# SuccessiveHalvingPruner and with HyperbandPruner (bench/fidelity_optuna.py, Debian's
# /usr/bin/python3), for runs of 3 epochs (rungs 1, 3) and 9 epochs (rungs 1, 3, 9).
# Prints the median epochs spent and the median (and mean) final regret of the best
# completed run, and the median regret of each method's answer (plain and asha:
# mrpc-optimize's recommendation, recommend.h; asha-mf: the joint model's best predicted
# final value among completed runs, mrpc_mf_recommend; Optuna: its best trial), over SEEDS seeds
# (default 20), for curves that cross strongly (crossing 8) and mildly (2), at MRPC-like seed
# noise (0.010) and at low noise (0.002, 3 epochs); raw lines in $OUT (default ./fidelity_bench.out/). About 10 minutes
# on 2 shared cores (FIDELITY_DIAG=1 adds Kendall-tau lines, see fidelity_bench.c).
set -euo pipefail
build=${1:?usage: fidelity_bench.sh BUILD_DIR [SEEDS]}
seeds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-fidelity_bench.out}
mkdir -p "$out"
bin="$build/fidelity_bench"
[[ -x "$bin" ]] || { echo "fidelity_bench.sh: build $bin first (make fidelity_bench)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$out/runs.txt"
start=$(date +%s)
for c in 8 2; do
  "$bin" --seeds "$seeds" --epochs 3 --crossing $c --plain 10,20 --asha 18,36 --mf 18,36 --dir "$tmp" >> "$out/runs.txt"
  "$bin" --seeds "$seeds" --epochs 9 --crossing $c --plain 10,20 --asha 38,76 --mf 38,76 --dir "$tmp" >> "$out/runs.txt"
  "$bin" --seeds "$seeds" --epochs 3 --crossing $c --noise 0.002 --plain 10,20 --asha 18,36 --mf 18,36 --dir "$tmp" >> "$out/runs.txt"
done
mid=$(date +%s)
for c in 8 2; do
  /usr/bin/python3 "$here/fidelity_optuna.py" --seeds "$seeds" --epochs 3 --crossing $c --budgets 30,60 >> "$out/runs.txt"
  /usr/bin/python3 "$here/fidelity_optuna.py" --seeds "$seeds" --epochs 9 --crossing $c --budgets 90,180 >> "$out/runs.txt"
  /usr/bin/python3 "$here/fidelity_optuna.py" --seeds "$seeds" --epochs 3 --crossing $c --noise 0.002 --budgets 30,60 \
    >> "$out/runs.txt"
done
end=$(date +%s)
echo "# mrpc-optimize (plain + successive halving): $((mid - start)) s; Optuna: $((end - mid)) s; $seeds seeds"
/usr/bin/python3 - "$out/runs.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if not f or f[0] != "run":
        continue
    key = (float(f[9]), float(f[8]), int(f[2]), f[1], int(f[3]))
    ans = float(f[11]) if f[1].startswith("asha-mf") else float(f[10])
    rows.setdefault(key, []).append((int(f[5]), int(f[6]), float(f[7]), ans))
print(f"{'noise':>5} {'cross':>5} {'E':>2} {'method':<7} {'budget':>6} {'epochs':>7} {'configs':>7} {'median regret':>13} {'mean regret':>11} {'answer':>11} {'seeds':>5}")
for (nz, c, E, m, b), v in sorted(rows.items(), key=lambda kv: (-kv[0][0], -kv[0][1], kv[0][2],
                                                                statistics.median(x[0] for x in kv[1]), kv[0][3])):
    reg = [x[2] for x in v if x[2] == x[2]]
    rec = [x[3] for x in v if x[3] == x[3]]
    print(f"{nz:>5g} {c:>5g} {E:>2} {m:<7} {b:>6} {statistics.median(x[0] for x in v):>7.0f} {statistics.median(x[1] for x in v):>7.0f} "
          f"{statistics.median(reg):>13.4f} {statistics.mean(reg):>11.4f} {statistics.median(rec):>11.4f} {len(v):>5}")
PY

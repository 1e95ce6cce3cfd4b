#!/bin/sh
# train_step_vs_torch.sh — the C training step (`mrpc-train bench`) and the same step in
# PyTorch 1.13 (bench/torch_step.py) side by side, same shapes, same threads.
#
#   bench/train_step_vs_torch.sh [--bin PATH] [--batch 32] [--seq 128] [--steps 3] [--warmup 1]
#                                [--threads 2] [--precision fp32|bf16|both] [--rounds 1]
#
# Runs C and torch alternately (`--rounds` times each, so load from other processes hits
# both sides alike) and prints a table: median and fastest step time, tokens/s (median),
# peak RSS, and the ratios C/torch (the fastest-step ratio is the one least disturbed by
# other processes on a shared machine). --bin defaults to build/release/mrpc-bench-step (or $MRPC_BENCH_BIN); a
# full mrpc-train binary works too when given as "--bin 'mrpc-train bench'".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${MRPC_BENCH_BIN:-$here/../build/release/mrpc-bench-step}
batch=32 seq=128 steps=3 warmup=1 threads=2 precision=fp32 rounds=1
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --seq) seq=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "train_step_vs_torch.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
py=${PYTHON:-/usr/bin/python3}  # a python with torch (PyTorch 1.13 from Debian by default)
case $precision in
fp32|bf16) precs=$precision ;;
both) precs="fp32 bf16" ;;
*) echo "train_step_vs_torch.sh: --precision fp32|bf16|both" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

val() { # val FILE KEY -> value of the last KEY=value line
    sed -n "s/^$2=//p" "$1" | tail -n 1
}

echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "shapes: distilbert-base-uncased, batch $batch x seq $seq, threads $threads, $steps timed steps after $warmup warmup"
for p in $precs; do
    r=1
    while [ "$r" -le "$rounds" ]; do
        echo "round $r/$rounds, $p: C ..." >&2
        # shellcheck disable=SC2086
        OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads $bin --batch "$batch" --seq "$seq" --steps "$steps" \
            --warmup "$warmup" --threads "$threads" --precision "$p" > "$tmp/c_${p}_$r.txt" 2>&1 ||
            echo "C bench failed ($p): $(tail -n 2 "$tmp/c_${p}_$r.txt")" >&2
        echo "round $r/$rounds, $p: torch ..." >&2
        OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads $py "$here/torch_step.py" --batch "$batch" --seq "$seq" \
            --steps "$steps" --warmup "$warmup" --threads "$threads" --precision "$p" > "$tmp/t_${p}_$r.txt" 2>&1 ||
            echo "torch bench failed ($p): $(tail -n 2 "$tmp/t_${p}_$r.txt")" >&2
        r=$((r + 1))
    done
done

printf '\n%-6s %-8s %14s %11s %12s %12s\n' prec side median_step_s min_step_s tokens/s peak_rss_mb
for p in $precs; do
    r=1
    while [ "$r" -le "$rounds" ]; do
        for side in c t; do
            f=$tmp/${side}_${p}_$r.txt
            name=$([ $side = c ] && echo C || echo torch)
            printf '%-6s %-8s %14s %11s %12s %12s\n' "$p" "$name" "$(val "$f" median_step_s)" \
                "$(val "$f" min_step_s)" "$(val "$f" tokens_per_second)" "$(val "$f" peak_rss_mb)"
        done
        ct=$(val "$tmp/c_${p}_$r.txt" tokens_per_second)
        tt=$(val "$tmp/t_${p}_$r.txt" tokens_per_second)
        cm=$(val "$tmp/c_${p}_$r.txt" min_step_s)
        tm=$(val "$tmp/t_${p}_$r.txt" min_step_s)
        cr=$(val "$tmp/c_${p}_$r.txt" peak_rss_mb)
        tr=$(val "$tmp/t_${p}_$r.txt" peak_rss_mb)
        if [ -n "$ct" ] && [ -n "$tt" ] && [ -n "$cr" ] && [ -n "$tr" ] && [ -n "$cm" ] && [ -n "$tm" ]; then
            awk -v ct="$ct" -v tt="$tt" -v cr="$cr" -v tr="$tr" -v cm="$cm" -v tm="$tm" -v p="$p" \
                'BEGIN { printf "%-6s ratio    speed C/torch %.2fx (median)  %.2fx (min step)   peak RSS C/torch %.2f\n",
                         p, ct / tt, tm / cm, cr / tr }'
        fi
        r=$((r + 1))
    done
done

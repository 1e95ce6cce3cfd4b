#!/bin/sh
# checkpoint_cost.sh — what a periodic resume checkpoint of distilbert-base-uncased costs.
#
#   bench/checkpoint_cost.sh [--bin PATH] [--repeats 3] [--rounds 2] [--dir DIR] [--period-minutes 10]
#
# Writes mrpc-train's resume checkpoint (66,955,010 parameters + both AdamW moments, F32,
# fsync + rename) `--repeats` times (`mrpc-train bench --checkpoint N`), and, alternately in
# the same run, the anchor: a Hugging Face Trainer-style checkpoint of the same tensors in
# PyTorch 1.13 (bench/torch_checkpoint.py: torch.save of the model state dict and of AdamW's
# state, fsync'ed). Prints both medians, their ratio, and the share of training time that
# one checkpoint per period (save_strategy: minutes, default 10) costs. --dir is where the
# files go (default: a temp dir under the build tree's filesystem, /tmp being a tmpfs
# on some machines).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${MRPC_BENCH_BIN:-$here/../build/release/mrpc-bench-step}
repeats=3 rounds=2 dir="" period=10
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --period-minutes) period=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "checkpoint_cost.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
py=${PYTHON:-/usr/bin/python3}
[ -n "$dir" ] || dir=$here/../build
work=$(mktemp -d "$dir/checkpoint-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); files on $(df -P "$work" | awk 'NR==2 {print $1}')"
r=1
while [ "$r" -le "$rounds" ]; do
    $bin --steps 1 --warmup 0 --batch 8 --seq 32 --checkpoint "$repeats" --checkpoint-path "$work/run.h5.resume" \
        > "$work/c.$r.txt"
    $py "$here/torch_checkpoint.py" --repeats "$repeats" --dir "$work" > "$work/t.$r.txt"
    c=$(sed -n 's/^median_checkpoint_s=//p' "$work/c.$r.txt"); cmb=$(sed -n 's/^checkpoint_mb=//p' "$work/c.$r.txt")
    t=$(sed -n 's/^median_checkpoint_s=//p' "$work/t.$r.txt"); tmb=$(sed -n 's/^checkpoint_mb=//p' "$work/t.$r.txt")
    awk -v r="$r" -v c="$c" -v t="$t" -v cmb="$cmb" -v tmb="$tmb" -v p="$period" 'BEGIN {
        printf "round %d: mrpc-train resume checkpoint %.0f MB in %.2f s (median of its writes); PyTorch torch.save " \
               "model + AdamW %.0f MB in %.2f s; ratio %.2fx; one checkpoint every %g min costs %.2f%% of training time\n",
               r, cmb, c, tmb, t, t / c, p, 100 * c / (60 * p + c) }'
    r=$((r + 1))
done

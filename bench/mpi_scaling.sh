#!/usr/bin/env bash
# mpi_scaling.sh — data parallel over MPI ranks against threads in one rank, on this machine.
#
#   bench/mpi_scaling.sh [BUILD_DIR] [MODEL_DIM] [LAYERS] [EXAMPLES]
#   bench/mpi_scaling.sh --nodes [BUILD_DIR] [MODEL_DIM] [LAYERS] [EXAMPLES]
#
# Runs the same training (a random DistilBERT of the given size on the first EXAMPLES
# MRPC pairs, batch 32, one epoch, dropout on) as np=1 x 2 threads and np=2 x 1 thread
# (mpirun), twice each, interleaved, and prints tokens/s and the share of the step time
# that the gradient all-reduce adds (the part not hidden behind the backward pass).
#
# --nodes: the two layouts are 2 ranks on one node and 2 ranks on 2 nodes of a private
# 2-node Slurm cluster in network namespaces (scripts/slurm-local.sh --nodes 2, port
# MRPC_SLURM_PORT or 6847, stopped at the end), both with srun --mpi=pmix: Open MPI's shared
# memory between the ranks of one node, TCP over a veth pair and a bridge between nodes. The
# nodes share this machine's cores, so this measures the cost of the TCP path, not speed-up.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
nodes=0
if [[ "${1:-}" == "--nodes" ]]; then nodes=1; shift; fi
build=${1:-build/release}
dim=${2:-384}
layers=${3:-4}
examples=${4:-640}
data=${MRPC_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
work=$(mktemp -d /tmp/mrpc-mpi-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat > "$work/run.yaml" <<YAML
model: {path: random, dim: $dim, n_layers: $layers, n_heads: 6, hidden_dim: $((4 * dim)), max_positions: 128}
data:
  train: $data/mrpc/train.tsv
  validation: $data/mrpc/dev.tsv
  vocab: $data/bert-base-uncased/vocab.txt
  max_train_examples: $examples
  max_eval_examples: 64
num_epochs: 1
train_batch_size: 32
eval_batch_size: 64
progress_seconds: 1000
YAML
mpirun=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
tps() { sed -n 's/.*(\([0-9.]*\) tokens\/s).*/\1/p' "$1" | tail -n 1; }
comm() { sed -n 's/.*, \([0-9.]*\)% of the step time.*/\1/p' "$1" | tail -n 1; }
steps=$(( (examples + 31) / 32 ))
if (( nodes )); then
  home=$(cd "$(dirname "$0")/.." && pwd)
  build=$(cd "$build" && pwd)
  cluster=$work/cluster
  export MRPC_SLURM_PORT=${MRPC_SLURM_PORT:-6847}
  trap '"$home/scripts/slurm-local.sh" stop "$cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  "$home/scripts/slurm-local.sh" start "$cluster" --nodes 2 >/dev/null
  export SLURM_CONF=$cluster/slurm.conf
  unhidden() { sed -n 's/.*all-reduce over [0-9]* ranks: \([0-9.]*\) s not hidden.*/\1/p' "$1" | tail -n 1; }
  per_step() { awk -v s="$(unhidden "$1")" -v n="$steps" 'BEGIN { printf "%.2f", 1000 * s / n }'; }
  printf '# model dim %s, %s layers, %s examples (%s steps), batch 32, 1 epoch; %s\n' "$dim" "$layers" "$examples" \
    "$steps" "$(lscpu | sed -n 's/^Model name: *//p')"
  printf '%-26s %12s %26s %22s\n' "layout (2 ranks x 1 thread)" "tokens/s" "all-reduce ms/step unhidden" "% of step"
  for round in 1 2; do
    for layout in "1 node:-N1 -n2" "2 nodes (TCP):-N2 --ntasks-per-node=1"; do
      name=${layout%%:*} args=${layout#*:}
      # shellcheck disable=SC2086  # srun options
      srun $args --mpi=pmix "$build/mrpc-train" --config "$work/run.yaml" --set output="$work/$round-${name%% *}.h5" \
          --set threads=1 2> "$work/$round-${name%% *}.log"
      printf '%-26s %12s %26s %22s\n' "$name" "$(tps "$work/$round-${name%% *}.log")" \
        "$(per_step "$work/$round-${name%% *}.log")" "$(comm "$work/$round-${name%% *}.log")"
    done
  done
  exit 0
fi
printf '# model dim %s, %s layers, %s examples, batch 32, 1 epoch\n' "$dim" "$layers" "$examples"
printf '%-22s %12s %22s\n' "layout" "tokens/s" "all-reduce % of step"
for round in 1 2; do
  "$build/mrpc-train" --config "$work/run.yaml" --set output="$work/a$round.h5" --set threads=2 2> "$work/a$round.log"
  printf '%-22s %12s %22s\n' "np=1 x 2 threads" "$(tps "$work/a$round.log")" "-"
  "${mpirun[@]}" -np 2 "$build/mrpc-train" --config "$work/run.yaml" --set output="$work/b$round.h5" \
      --set threads=1 2> "$work/b$round.log"
  printf '%-22s %12s %22s\n' "np=2 x 1 thread" "$(tps "$work/b$round.log")" "$(comm "$work/b$round.log")"
done

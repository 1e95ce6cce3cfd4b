#!/usr/bin/env bash
# mpi_scaling.sh — data parallel over MPI ranks against threads in one rank, on this machine.
#
#   bench/mpi_scaling.sh [BUILD_DIR] [MODEL_DIM] [LAYERS] [EXAMPLES]
#
# Runs the same training (a random DistilBERT of the given size on the first EXAMPLES
# MRPC pairs, batch 32, one epoch, dropout on) as np=1 x 2 threads and np=2 x 1 thread
# (mpirun), twice each, interleaved, and prints tokens/s and the share of the step time
# that the gradient all-reduce adds (the part not hidden behind the backward pass).
set -euo pipefail
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
printf '# model dim %s, %s layers, %s examples, batch 32, 1 epoch\n' "$dim" "$layers" "$examples"
printf '%-22s %12s %22s\n' "layout" "tokens/s" "all-reduce % of step"
for round in 1 2; do
  "$build/mrpc-train" --config "$work/run.yaml" --set output="$work/a$round.h5" --set threads=2 2> "$work/a$round.log"
  printf '%-22s %12s %22s\n' "np=1 x 2 threads" "$(tps "$work/a$round.log")" "-"
  "${mpirun[@]}" -np 2 "$build/mrpc-train" --config "$work/run.yaml" --set output="$work/b$round.h5" \
      --set threads=1 2> "$work/b$round.log"
  printf '%-22s %12s %22s\n' "np=2 x 1 thread" "$(tps "$work/b$round.log")" "$(comm "$work/b$round.log")"
done

#!/usr/bin/env bash
# tests/gpu/run.sh — the one command a session with a GPU runs: build with CUDA, run every
# GPU test (ctest -L cuda), then the training-step throughput of the CUDA backend side by
# side with PyTorch on the same GPU, and print a short table last. About 3 minutes on one
# H100 (budget: 5).
#
#     tests/gpu/run.sh [BUILD_DIR]                  (default: <repo>/build-gpu)
#
# Environment:
#   MRPC_CUDA_ARCHITECTURES   GPU code to build (default "native"; "80;90" if native fails)
#   MRPC_DATA_DIR             MRPC + vocab for test_cuda_train (default ../shared/data)
#   PYTHON                    a python with CUDA torch (default: the first of python3,
#                             /usr/bin/python3, python that has one)
#   BENCH_STEPS               timed steps per throughput run (default 20, plus 3 warm-up)
# Logs go to BUILD_DIR/gpu-logs/. Exit status 1 when the build fails, a GPU test fails, or
# a GPU test that should run on this machine reports "Not Run"; the throughput ratio is
# reported, not enforced.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build-gpu}
LOGS=$BUILD/gpu-logs
ARCH=${MRPC_CUDA_ARCHITECTURES:-native}
STEPS=${BENCH_STEPS:-20}
JOBS=$(nproc 2>/dev/null || echo 8)
T0=$(date +%s)
mkdir -p "$LOGS"
status=0
say() { printf '[run.sh %4ds] %s\n' $(( $(date +%s) - T0 )) "$*"; }

# ---- 0. the machine -------------------------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >"$LOGS/nvidia-smi.txt" 2>&1; then
    say "no working nvidia-smi: this machine has no usable GPU; the GPU tests would all be Not Run"
    cat "$LOGS/nvidia-smi.txt" 2>/dev/null
    exit 1
fi
GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
N_GPUS=$(nvidia-smi -L | grep -c '^GPU')
DRIVER=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)
say "GPU: $GPU_NAME x$N_GPUS, driver $DRIVER, $JOBS cores"

# ---- 1. configure and build -----------------------------------------------------------
configure() {
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMRPC_CUDA=ON -DMRPC_CUDA_ARCHITECTURES="$1" \
        >"$LOGS/configure.txt" 2>&1
}
say "configure (-DMRPC_CUDA=ON, architectures $ARCH)"
if ! configure "$ARCH"; then
    if [ "$ARCH" = native ]; then
        say "configure with native architectures failed; retrying with 80;90"
        ARCH="80;90"
        rm -f "$BUILD/CMakeCache.txt"
        configure "$ARCH" || { tail -30 "$LOGS/configure.txt"; exit 1; }
    else
        tail -30 "$LOGS/configure.txt"
        exit 1
    fi
fi
grep -E "mrpc backend" "$LOGS/configure.txt"
TARGETS="test_cuda_ops test_cuda_golden test_cuda_train mrpc-train"
if grep -q "mrpc backend NCCL: ON" "$LOGS/configure.txt"; then
    TARGETS="$TARGETS test_cuda_nccl"
fi
say "build: $TARGETS (-j$JOBS)"
# shellcheck disable=SC2086
if ! cmake --build "$BUILD" -j"$JOBS" --target $TARGETS >"$LOGS/build.txt" 2>&1; then
    grep -E "error|Error" "$LOGS/build.txt" | head -40
    say "BUILD FAILED (log: $LOGS/build.txt)"
    exit 1
fi
WARNINGS=$(grep -c -i "warning" "$LOGS/build.txt" || true)
say "build done ($WARNINGS warning lines; log $LOGS/build.txt)"

# ---- 2. the GPU tests -------------------------------------------------------------------
export MRPC_DATA_DIR=${MRPC_DATA_DIR:-$(cd "$ROOT/.." && pwd)/shared/data}
say "ctest -L cuda (MRPC_DATA_DIR=$MRPC_DATA_DIR)"
(cd "$BUILD" && timeout 200 ctest -L cuda --output-on-failure --timeout 180) >"$LOGS/ctest.txt" 2>&1
ctest_rc=$?
grep -E "Test +#|tests passed|Not Run|\*\*\*" "$LOGS/ctest.txt" | sed 's/^/    /'
if [ $ctest_rc -ne 0 ]; then
    status=1
    say "GPU TESTS FAILED (full output: $LOGS/ctest.txt)"
fi
# on a GPU machine only the NCCL test may skip (it needs 2 GPUs)
NOT_RUN=$(grep -E "^\s+[0-9]+ - " "$LOGS/ctest.txt" | grep -v -E "test_cuda_nccl" | grep -c "Skipped" || true)
if [ "$NOT_RUN" -gt 0 ]; then
    status=1
    say "$NOT_RUN GPU test(s) reported Not Run on a machine with a GPU"
fi
PASSED=$(grep -oE "[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+" "$LOGS/ctest.txt" | tail -1)

# ---- 3. throughput: ours ------------------------------------------------------------------
tps() { grep -oE "tokens_per_second=[0-9.]+" "$1" | tail -1 | cut -d= -f2; }
ours_fp32="-" ours_bf16="-"
for p in fp32 bf16; do
    say "mrpc-train bench --backend cuda --precision $p (batch 32 x seq 128, $STEPS steps)"
    if timeout 120 "$BUILD/mrpc-train" bench --backend cuda --precision $p --batch 32 --seq 128 --steps "$STEPS" \
        --warmup 3 >"$LOGS/bench_ours_$p.txt" 2>&1; then
        v=$(tps "$LOGS/bench_ours_$p.txt")
        [ $p = fp32 ] && ours_fp32=$v || ours_bf16=$v
        grep -E "median_step_s|tokens_per_second" "$LOGS/bench_ours_$p.txt" | sed 's/^/    /'
    else
        status=1
        tail -5 "$LOGS/bench_ours_$p.txt"
        say "mrpc-train bench --backend cuda $p FAILED"
    fi
done

# ---- 4. throughput: PyTorch on the same GPU ------------------------------------------------
torch_bf16="-" torch_fp32="-" TORCH_NOTE=""
PY=""
CANDIDATES="${PYTHON:+$PYTHON }python3 /usr/bin/python3 python"
for cand in $CANDIDATES; do
    if command -v "$cand" >/dev/null 2>&1 &&
        "$cand" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; then
        PY=$cand
        break
    fi
done
if [ -z "$PY" ]; then
    TORCH_NOTE="PyTorch with CUDA is not installed here (tried $CANDIDATES): no PyTorch numbers"
    say "$TORCH_NOTE"
else
    TORCH_NOTE="torch $("$PY" -c 'import torch; print(torch.__version__)') ($PY)"
    for p in bf16 fp32; do
        say "bench/torch_cuda_step.py --precision $p ($TORCH_NOTE)"
        if timeout 150 "$PY" "$ROOT/bench/torch_cuda_step.py" --precision $p --batch 32 --seq 128 --steps "$STEPS" \
            --warmup 3 >"$LOGS/bench_torch_$p.txt" 2>&1; then
            v=$(tps "$LOGS/bench_torch_$p.txt")
            [ $p = fp32 ] && torch_fp32=$v || torch_bf16=$v
            grep -E "^torch=|tokens_per_second" "$LOGS/bench_torch_$p.txt" | sed 's/^/    /'
        else
            tail -5 "$LOGS/bench_torch_$p.txt"
            say "torch $p run failed"
        fi
    done
fi

# ---- 5. the table ----------------------------------------------------------------------------
ratio() { # ratio A B -> "1.23x" or "-"
    if [[ "$1" =~ ^[0-9.]+$ && "$2" =~ ^[0-9.]+$ ]]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; else echo "-"; fi
}
R=$(ratio "$ours_bf16" "$torch_bf16")
VERDICT="-"
if [ "$R" != "-" ]; then
    VERDICT=$(awk -v r="${R%x}" 'BEGIN { print (r >= 1.3 ? "meets the >= 1.3x target" : "BELOW the >= 1.3x target") }')
fi
echo
echo "== tests/gpu/run.sh: $GPU_NAME x$N_GPUS, driver $DRIVER, architectures $ARCH, $(( $(date +%s) - T0 )) s =="
echo "GPU tests: ${PASSED:-no ctest summary} (details: $LOGS/ctest.txt)"
echo "DistilBERT-base training step, batch 32 x seq 128, tokens/s (median of $STEPS steps):"
printf "  %-34s %12s\n" "mrpc cuda fp32" "$ours_fp32" "mrpc cuda bf16" "$ours_bf16"
printf "  %-34s %12s\n" "torch bf16 autocast" "$torch_bf16" "torch fp32" "$torch_fp32"
printf "  %-34s %12s  %s\n" "ratio mrpc bf16 / torch bf16" "$R" "$VERDICT"
printf "  %-34s %12s\n" "ratio mrpc fp32 / torch fp32" "$(ratio "$ours_fp32" "$torch_fp32")"
[ -n "$TORCH_NOTE" ] && echo "  ($TORCH_NOTE)"
exit $status

#!/usr/bin/env bash
# tests/cuda/emu/run.sh — the CUDA backend's tests on a machine WITHOUT a GPU, through a CPU
# emulator of the CUDA dialect (cuemu.h/.cpp: one fiber per CUDA thread, barriers for
# __syncthreads and warp shuffles, cuBLAS as reference loops, NCCL over MPI).
#
#     tests/cuda/emu/run.sh [BUILD_DIR] [--train] [--nccl]
#
# BUILD_DIR is a configured tree of this repository (default <repo>/build-cuda; any
# MRPC_CUDA setting): the script builds the CPU libraries there, compiles the backend's .cu
# files as C++ against the emulator into BUILD_DIR/cuda-emu/, and runs test_cuda_ops and
# test_cuda_golden (fp32 and bf16): about a minute. --train adds test_cuda_train (MRPC
# training, ~15 minutes: the emulator is slow), --nccl the 2-rank NCCL test under mpirun.
#
# This checks the kernels' logic (indexing, layouts, barriers, launch and cuBLAS arguments)
# against the CPU reference before a GPU ever runs them; it proves nothing about speed,
# real cuBLAS/device-math rounding or memory-model races. A developer tool, not in ctest.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BUILD="$ROOT/build-cuda"
TRAIN=0 NCCL=0
for a in "$@"; do
    case "$a" in
    --train) TRAIN=1 ;;
    --nccl) NCCL=1 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) BUILD=$(cd "$a" && pwd) ;;
    esac
done
W="$BUILD/cuda-emu"
mkdir -p "$W/gen" "$W/obj" "$W/bin"
jobs=$(nproc 2>/dev/null || echo 2)

echo "cuda-emu: building the CPU libraries in $BUILD"
libs="mrpc_golden_common mrpc_model mrpc_io mrpc_data mrpc_text mrpc_dist mrpc_backend mrpc_optim mrpc_testutil mrpc_core"
# shellcheck disable=SC2086
cmake --build "$BUILD" -j"$jobs" --target $libs >"$W/libs.log" 2>&1 || { tail -20 "$W/libs.log"; exit 1; }
lib() { find "$BUILD" -name "lib$1.a" -not -path "*/cuda-emu/*" | head -1; }
LIBS=""
for l in $libs; do LIBS="$LIBS $(lib "$l")"; done
SYS="-fopenmp $(pkg-config --libs openblas libutf8proc jansson) -lm -lstdc++"
dnnl=$(grep -E "^DNNL_LIBRARY:FILEPATH=" "$BUILD/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || true)
if [ -n "$dnnl" ] && [ "${dnnl%NOTFOUND}" = "$dnnl" ]; then SYS="$SYS $dnnl"; fi

INC="-I$ROOT/train/backend/cuda -I$ROOT/train/backend -I$ROOT/train/backend/cpu -I$ROOT/pipeline/core
     -I$ROOT/train/optim -I$ROOT/train/model -I$ROOT/train/dist -I$ROOT/train/data -I$ROOT/train/text
     -I$ROOT/tests/testutil -I$ROOT/tests/golden -I$BUILD/generated"
EMU="-I$HERE -I$HERE/include"
echo "cuda-emu: compiling train/backend/cuda against the emulator"
pids=()
for f in "$ROOT"/train/backend/cuda/*.cu; do
    n=$(basename "$f" .cu)
    /usr/bin/python3 "$HERE/transform.py" "$f" "$W/gen/$n.cpp"
    # shellcheck disable=SC2086
    g++ -std=c++17 -O1 -g -ffp-contract=off -Wall -Wno-unused-parameter -Wno-unknown-pragmas $EMU $INC \
        -c "$W/gen/$n.cpp" -o "$W/obj/$n.o" &
    pids+=($!)
done
# shellcheck disable=SC2086
g++ -std=c++17 -O1 -g -ffp-contract=off $EMU -c "$HERE/cuemu.cpp" -o "$W/obj/cuemu.o"
for n in cuda_backend cuda_mem cuda_check; do
    # shellcheck disable=SC2086
    gcc -std=c11 -O1 -g -Wall -Wextra -Wno-unused-parameter $EMU $INC -c "$ROOT/train/backend/cuda/$n.c" -o "$W/obj/$n.o"
done
# backend.c with the CUDA dispatch on, whatever the build's MRPC_CUDA was
# shellcheck disable=SC2086
gcc -std=c11 -O1 -g -DMRPC_HAVE_CUDA $EMU $INC -c "$ROOT/train/backend/backend.c" -o "$W/obj/backend.o"
for p in "${pids[@]}"; do wait "$p"; done
OBJ=""
for o in "$W"/obj/*.o; do
    case "$(basename "$o")" in test_* | dist_nccl.o | fake_nccl.o) ;; *) OBJ="$OBJ $o" ;; esac
done

link_test() { # test name
    # shellcheck disable=SC2086
    gcc -std=c11 -O1 -g $EMU $INC -c "$ROOT/tests/cuda/$1.c" -o "$W/obj/$1.o"
    # shellcheck disable=SC2086
    g++ -o "$W/bin/$1" "$W/obj/$1.o" $OBJ $LIBS $SYS
}
status=0
run() { # label command...
    local label=$1
    shift
    echo "cuda-emu: $label: $*"
    "$@" >"$W/$label.log" 2>&1 || status=1
    tail -1 "$W/$label.log"
}

link_test test_cuda_ops
link_test test_cuda_golden
run ops "$W/bin/test_cuda_ops"
run golden_fp32 "$W/bin/test_cuda_golden" "$ROOT/tests/golden/data" fp32
run golden_bf16 "$W/bin/test_cuda_golden" "$ROOT/tests/golden/data" bf16
if [ $TRAIN = 1 ]; then
    link_test test_cuda_train
    export MRPC_DATA_DIR=${MRPC_DATA_DIR:-$(cd "$ROOT/.." && pwd)/shared/data}
    run train "$W/bin/test_cuda_train"
fi
if [ $NCCL = 1 ]; then
    # shellcheck disable=SC2086
    mpicc -std=c11 -O1 -g $EMU -c "$HERE/fake_nccl.c" -o "$W/obj/fake_nccl.o"
    # shellcheck disable=SC2086
    gcc -std=c11 -O1 -g -Wall -Wextra $EMU $INC -c "$ROOT/train/dist/dist_nccl.c" -o "$W/obj/dist_nccl.o"
    # shellcheck disable=SC2086
    mpicc -std=c11 -O1 -g $EMU $INC -c "$ROOT/tests/cuda/test_cuda_nccl.c" -o "$W/obj/test_cuda_nccl.o"
    # shellcheck disable=SC2086
    mpicxx -o "$W/bin/test_cuda_nccl" "$W/obj/test_cuda_nccl.o" "$W/obj/dist_nccl.o" "$W/obj/fake_nccl.o" $OBJ $LIBS $SYS
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    export CUEMU_DEVICES=2
    run nccl mpirun -n 2 --oversubscribe "$W/bin/test_cuda_nccl"
fi
echo "cuda-emu: $([ $status = 0 ] && echo all passed || echo FAILURES) (logs in $W)"
exit $status

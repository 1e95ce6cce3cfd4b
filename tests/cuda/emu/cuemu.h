/*
 * cuemu.h — the CUDA device dialect for the CPU emulator (tests/cuda/emu/run.sh).
 *
 * The .cu files of train/backend/cuda, rewritten by transform.py, compile as C++ with this
 * header included first. Every CUDA thread becomes a fiber (ucontext, cuemu.cpp); the
 * blocks of a launch run one after another; __syncthreads is a barrier of the block's
 * fibers and each warp shuffle two barriers of the warp's fibers (exited threads count as
 * arrived, a barrier nobody can complete aborts with "deadlock"). Fresh device memory and
 * shared memory are filled with garbage/NaN bytes, so reads of unwritten data show.
 *
 * What it checks: indexing, layouts, barrier placement, warp-uniform control flow around
 * shuffles, the host-side launch and cuBLAS calls (cuemu.cpp implements the documented
 * column-major GEMM/GEMV semantics and rejects bad leading dimensions). What it cannot:
 * memory-model races between unsynchronised threads, real cuBLAS summation orders, device
 * math accuracy (erfcf, expf), shared-memory and register limits, performance.
 */
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <math.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__

struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct float4 { float x, y, z, w; };

namespace emu {
extern uint3 block_idx;
extern dim3 block_dim, grid_dim;
const uint3 &thread_idx();
void syncthreads();
void warp_exchange(const void *in, void *out, int size, int src_xor);
void *dyn_smem();
void launch_impl(void (*body)(void *), void *ctx, dim3 g, dim3 b, size_t smem, const char *name);

template <class T> T shfl_xor(T v, int o) {
    T r;
    warp_exchange(&v, &r, (int)sizeof(T), o);
    return r;
}

template <class F> void trampoline(void *p) { (*(F *)p)(); }

template <class... KA> struct Launcher {
    void (*k)(KA...);
    dim3 g, b;
    size_t smem;
    const char *name;
    template <class... A> void operator()(A &&...a) {
        auto call = [&]() { k(a...); };
        launch_impl(&trampoline<decltype(call)>, &call, g, b, smem, name);
    }
};
template <class... KA>
Launcher<KA...> launcher_(const char *name, void (*k)(KA...), dim3 g, dim3 b, size_t smem = 0, void *stream = nullptr) {
    (void)stream;
    return Launcher<KA...>{k, g, b, smem, name};
}
} // namespace emu

#define threadIdx (emu::thread_idx())
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)
#define __syncthreads() emu::syncthreads()
#define __shfl_xor_sync(mask, v, o) emu::shfl_xor((v), (o))

inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
inline float __fdiv_rn(float a, float b) { volatile float r = a / b; return r; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
using std::max;
using std::min;

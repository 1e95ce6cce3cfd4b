/*
 * cuda_common.cuh — device helpers the CUDA op files share: warp reductions, the dropout
 * multiplier, bf16 rounding, launch checks.
 *
 * Like pipeline/core/philox.h this header defines (inline, device) functions: without
 * relocatable device code a kernel can only call device functions it sees, and these
 * few lines must be the same in every op file (the dropout rule above all). Everything
 * here is pure.
 */
#ifndef MRPC_CUDA_COMMON_CUH
#define MRPC_CUDA_COMMON_CUH

#include <stdint.h>

#include <cuda_runtime.h>

#include "cuda_internal.h"
#include "philox.h"

/* Checks the kernel launch just made; records a failure into cb and runs on_fail. */
#define LAUNCH_CHECK(cb, on_fail) CUDA_CHECK(&(cb)->error, cudaGetLastError(), on_fail)

/* Blocks of `threads` for n items, capped (grid-stride loops cover the rest). */
static inline unsigned cuda_blocks(size_t n, unsigned threads, unsigned cap) {
    size_t b = (n + threads - 1) / threads;
    if (b < 1) {
        b = 1;
    }
    return (unsigned)(b < cap ? b : cap);
}

#define CUDA_GRID_CAP 65535u

__device__ __forceinline__ float warp_sum_f(float v) {
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

__device__ __forceinline__ float warp_max_f(float v) {
    for (int o = 16; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}

/*
 * The dropout multiplier of backend.h, bit for bit: Philox4x32-10 keyed by the seed at
 * counter {epoch, example, site, position >> 2}, lane position & 3, u = (bits >> 8) *
 * 2^-24, keep = (u >= p), multiplier scale or 0. Only call with d.on.
 */
__device__ __forceinline__ float drop_mult(const cuda_drop &d, uint32_t example, uint32_t position) {
    const uint32_t key[2] = {d.key0, d.key1};
    const uint32_t ctr[4] = {d.epoch, example, d.site, position >> 2};
    uint32_t out[4];
    mrpc_philox4x32(ctr, key, out);
    const uint32_t lane = position & 3u;
    const uint32_t bits = lane == 0u ? out[0] : lane == 1u ? out[1] : lane == 2u ? out[2] : out[3];
    return mrpc_philox_uniform(bits) >= d.p ? d.scale : 0.0f;
}

/* The four multipliers of positions 4*block .. 4*block+3 (one Philox call). */
__device__ __forceinline__ float4 drop_mult4(const cuda_drop &d, uint32_t example, uint32_t block) {
    const uint32_t key[2] = {d.key0, d.key1};
    const uint32_t ctr[4] = {d.epoch, example, d.site, block};
    uint32_t out[4];
    mrpc_philox4x32(ctr, key, out);
    float4 m;
    m.x = mrpc_philox_uniform(out[0]) >= d.p ? d.scale : 0.0f;
    m.y = mrpc_philox_uniform(out[1]) >= d.p ? d.scale : 0.0f;
    m.z = mrpc_philox_uniform(out[2]) >= d.p ? d.scale : 0.0f;
    m.w = mrpc_philox_uniform(out[3]) >= d.p ? d.scale : 0.0f;
    return m;
}

/* fp32 -> bf16 bits, round to nearest even, NaN kept quiet: the CPU's cpu_bf16_from_f32. */
__device__ __forceinline__ uint16_t bf16_bits(float x) {
    uint32_t u = __float_as_uint(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (uint16_t)((u >> 16) | 0x40u);
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

#endif /* MRPC_CUDA_COMMON_CUH */

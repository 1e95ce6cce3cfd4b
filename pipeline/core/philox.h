/*
 * philox.h — the counter-based generator behind every random number of a run.
 *
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11)
 * maps a 128-bit counter and a 64-bit key to 128 random bits, with no state between
 * calls. We key it by the run's seed and put *what the number is for* in the counter:
 *
 *     counter = { epoch, example, site, position / 4 }   -> lane position % 4
 *
 * so the dropout mask of an example does not depend on which rank, thread, batch or
 * device computes it. That is what makes runs rank-count invariant and lets the CPU
 * and CUDA backends draw identical masks.
 *
 * This header is the one place in the project that defines functions in a header:
 * the same ten rounds must compile for the host (C11) and for CUDA device code, and
 * inlining them into the dropout loops is the point. Everything here is pure.
 */
#ifndef MRPC_CORE_PHILOX_H
#define MRPC_CORE_PHILOX_H

#include <stdint.h>

#if defined(__CUDACC__)
#define MRPC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define MRPC_HOST_DEVICE static inline
#endif

/* 32x32 -> 64-bit product split into high and low words. */
MRPC_HOST_DEVICE void mrpc_philox_mulhilo_(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

/* Philox4x32 with 10 rounds: out = philox(ctr, key). */
MRPC_HOST_DEVICE void mrpc_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    const uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mrpc_philox_mulhilo_(M0, c0, &hi0, &lo0);
        mrpc_philox_mulhilo_(M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0;
        uint32_t n1 = lo1;
        uint32_t n2 = hi0 ^ c3 ^ k1;
        uint32_t n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += W0; k1 += W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* Maps 32 random bits to a float uniform on [0, 1) with 24 bits of resolution. */
MRPC_HOST_DEVICE float mrpc_philox_uniform(uint32_t bits) {
    return (float)(bits >> 8) * (1.0f / 16777216.0f);
}

/*
 * One uniform number on [0, 1) for (seed; epoch, example, site, position).
 * Four consecutive positions share one Philox call; loops that want all four should
 * call mrpc_philox4x32 themselves with position / 4 in the last counter word.
 */
MRPC_HOST_DEVICE float mrpc_philox_uniform_at(uint64_t seed, uint32_t epoch, uint32_t example,
                                              uint32_t site, uint32_t position) {
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {epoch, example, site, position >> 2};
    uint32_t out[4];
    mrpc_philox4x32(ctr, key, out);
    return mrpc_philox_uniform(out[position & 3u]);
}

#endif /* MRPC_CORE_PHILOX_H */

/* rng.c — host random streams on top of Philox (see rng.h). */
#include "rng.h"

#include <math.h>

#include "philox.h"

void mrpc_rng_init(mrpc_rng *rng, uint64_t seed, mrpc_rng_purpose purpose, uint32_t substream) {
    rng->seed      = seed;
    rng->purpose   = (uint32_t)purpose;
    rng->substream = substream;
    rng->counter   = 0;
    rng->used      = 4;
    for (int i = 0; i < 4; i++) rng->block[i] = 0;
}

static void refill(mrpc_rng *rng) {
    /* Counter words: (purpose | 0x80000000) keeps host streams apart from dropout,
     * whose first word is an epoch number well below 2^31. */
    uint32_t key[2] = {(uint32_t)rng->seed, (uint32_t)(rng->seed >> 32)};
    uint32_t ctr[4] = {rng->purpose | 0x80000000u, rng->substream, (uint32_t)rng->counter,
                       (uint32_t)(rng->counter >> 32)};
    mrpc_philox4x32(ctr, key, rng->block);
    rng->counter++;
    rng->used = 0;
}

uint32_t mrpc_rng_u32(mrpc_rng *rng) {
    if (rng->used >= 4) refill(rng);
    return rng->block[rng->used++];
}

uint64_t mrpc_rng_u64(mrpc_rng *rng) {
    uint64_t hi = mrpc_rng_u32(rng);
    uint64_t lo = mrpc_rng_u32(rng);
    return (hi << 32) | lo;
}

double mrpc_rng_uniform(mrpc_rng *rng) {
    return (double)(mrpc_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

double mrpc_rng_normal(mrpc_rng *rng) {
    double u1 = mrpc_rng_uniform(rng);
    double u2 = mrpc_rng_uniform(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925286766559 * u2);
}

uint64_t mrpc_rng_below(mrpc_rng *rng, uint64_t n) {
    /* Rejection sampling on the top of the range keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    uint64_t x;
    do {
        x = mrpc_rng_u64(rng);
    } while (x >= limit);
    return x % n;
}

void mrpc_rng_permutation(mrpc_rng *rng, uint32_t *perm, size_t n) {
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mrpc_rng_below(rng, (uint64_t)i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

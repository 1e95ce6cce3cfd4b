/*
 * rng.h — seeded random streams for the host: weight initialisation, data order, the
 * optimizer's random candidates.
 *
 * A stream is a Philox key (the seed) plus a purpose and a running counter, so its
 * whole state is three integers: a resume checkpoint stores `mrpc_rng` as it is and
 * the stream continues exactly. Two streams with different purposes or seeds never
 * overlap. Dropout does not use streams: it calls philox.h with per-element counters.
 */
#ifndef MRPC_CORE_RNG_H
#define MRPC_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Purposes of host streams; the value goes into the counter. Always add at the end. */
typedef enum mrpc_rng_purpose {
    MRPC_RNG_INIT = 1,     /* weight initialisation */
    MRPC_RNG_SHUFFLE = 2,  /* per-epoch data order; sub-stream = epoch */
    MRPC_RNG_OPTIMIZE = 3, /* optimizer candidates and restarts */
    MRPC_RNG_TEST = 4,     /* tests and benchmarks */
    MRPC_RNG_BOOTSTRAP = 5 /* analysis resampling */
} mrpc_rng_purpose;

/* A random stream. Plain data: copy it to save it, copy it back to resume. */
typedef struct mrpc_rng {
    uint64_t seed;      /* the key */
    uint32_t purpose;   /* mrpc_rng_purpose */
    uint32_t substream; /* e.g. the epoch for MRPC_RNG_SHUFFLE */
    uint64_t counter;   /* number of 128-bit blocks drawn so far */
    uint32_t block[4];  /* the current block */
    uint32_t used;      /* words of `block` consumed (4 = empty) */
} mrpc_rng;

/* Starts a stream for (seed, purpose, substream) at its beginning. */
void mrpc_rng_init(mrpc_rng *rng, uint64_t seed, mrpc_rng_purpose purpose, uint32_t substream);

/* Next 32 random bits. */
uint32_t mrpc_rng_u32(mrpc_rng *rng);

/* Next 64 random bits. */
uint64_t mrpc_rng_u64(mrpc_rng *rng);

/* Uniform double on [0, 1) with 53 bits of resolution. */
double mrpc_rng_uniform(mrpc_rng *rng);

/* Standard normal double (Box-Muller on two uniforms; no cached second value). */
double mrpc_rng_normal(mrpc_rng *rng);

/* Uniform integer on [0, n) without modulo bias; n > 0. */
uint64_t mrpc_rng_below(mrpc_rng *rng, uint64_t n);

/* Writes a uniformly random permutation of 0..n-1 into perm (Fisher-Yates). */
void mrpc_rng_permutation(mrpc_rng *rng, uint32_t *perm, size_t n);

#endif /* MRPC_CORE_RNG_H */

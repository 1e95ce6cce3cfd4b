/*
 * optimizer.cu — sum of squares (gradient norm) and AdamW.
 *
 * sumsq: each of a fixed number of blocks (a function of n only) sums its grid-stride
 * share in double, then one warp adds the block partials in a fixed order: the result is
 * deterministic and as exact as the reference's double loop.
 *
 * AdamW: the arithmetic of train/optim/adamw.c with the same float constants
 * (mrpc_adamw_consts_make) and the same operation order, written with _rn intrinsics so
 * nvcc cannot contract a*b + c into an FMA: the update is bitwise the CPU's (IEEE
 * division and square root are nvcc's defaults; never build with --use_fast_math).
 */
#include <math.h>

#include "cuda_common.cuh"
#include "optimizer.cuh"

#define SUMSQ_THREADS 256
#define SUMSQ_MAX_BLOCKS 1024u

__global__ void sumsq_partial_kernel(double *part, const float *x, size_t n) {
    __shared__ double ws[SUMSQ_THREADS / 32];
    double acc = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        double v = x[i];
        acc += v * v;
    }
    acc = warp_sum_d(acc);
    if (threadIdx.x % 32 == 0) {
        ws[threadIdx.x / 32] = acc;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        double s = 0.0;
        for (int w = 0; w < SUMSQ_THREADS / 32; w++) {
            s += ws[w];
        }
        part[blockIdx.x] = s;
    }
}

/* out[0] = sum of part[0..nb) (one warp, fixed order). */
__global__ void sumsq_final_kernel(double *out, const double *part, int nb) {
    double acc = 0.0;
    for (int i = (int)threadIdx.x; i < nb; i += 32) {
        acc += part[i];
    }
    acc = warp_sum_d(acc);
    if (threadIdx.x == 0) {
        out[0] = acc;
    }
}

__global__ void adamw_kernel(float *p, const float *g, float *m, float *v, size_t n, mrpc_adamw_consts c) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float gi = g[i];
        float pi = __fmul_rn(p[i], c.decay);                                            /* p * (1 - lr wd) */
        float mi = __fadd_rn(__fmul_rn(m[i], c.beta1), __fmul_rn(c.one_minus_beta1, gi)); /* m b1 + (1-b1) g */
        float vi = __fadd_rn(__fmul_rn(v[i], c.beta2), __fmul_rn(__fmul_rn(c.one_minus_beta2, gi), gi));
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), c.bc2_sqrt), c.eps);          /* sqrt(v)/sqrt(bc2) + eps */
        p[i] = __fadd_rn(pi, __fmul_rn(c.neg_step, __fdiv_rn(mi, denom)));
        m[i] = mi;
        v[i] = vi;
    }
}

extern "C" double cuda_sumsq(mrpc_backend *be, const float *x, size_t n) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb)) {
        return NAN;
    }
    if (n == 0) {
        return 0.0;
    }
    unsigned nb = cuda_blocks(n, SUMSQ_THREADS * 4, SUMSQ_MAX_BLOCKS);
    if (!cuda_grow(cb, (void **)&cb->dpart, &cb->dpart_cap, sizeof(double) * (nb + 1))) {
        return NAN;
    }
    sumsq_partial_kernel<<<nb, SUMSQ_THREADS, 0, cb->stream>>>(cb->dpart, x, n);
    LAUNCH_CHECK(cb, return NAN);
    sumsq_final_kernel<<<1, 32, 0, cb->stream>>>(cb->dpart + nb, cb->dpart, (int)nb);
    LAUNCH_CHECK(cb, return NAN);
    double result = NAN;
    CUDA_CHECK(&cb->error,
               cudaMemcpyAsync(&result, cb->dpart + nb, sizeof result, cudaMemcpyDeviceToHost, cb->stream),
               return NAN);
    CUDA_CHECK(&cb->error, cudaStreamSynchronize(cb->stream), return NAN);
    return result;
}

extern "C" void cuda_adamw(mrpc_backend *be, float *p, const float *g, float *m, float *v, size_t n,
                           const mrpc_adamw_hparams *hp) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb) || n == 0) {
        return;
    }
    mrpc_adamw_consts c;
    mrpc_adamw_consts_make(hp, &c);
    adamw_kernel<<<cuda_blocks(n, 256, 8192), 256, 0, cb->stream>>>(p, g, m, v, n, c);
    LAUNCH_CHECK(cb, return);
}

/*
 * linear.cu — y = x W^T + b and its backward with cuBLAS.
 *
 * Row-major to cuBLAS (column-major): a row-major [R, K] matrix is a column-major
 * [K, R] one with the same leading dimension K, so (all ld = the row length)
 *     out [N,OC]   = inp . w^T    ->  gemm(T, N, m=OC, n=N,  k=IC; A=w,   B=inp)
 *     dinp [N,IC]  = dout . w     ->  gemm(N, N, m=IC, n=N,  k=OC; A=w,   B=dout)
 *     dw [OC,IC]  += dout^T . inp ->  gemm(N, T, m=IC, n=OC, k=N;  A=inp, B=dout), beta 1
 *     db [OC]     += dout^T . 1   ->  gemv(N, m=OC, n=N; A=dout), beta 1
 *
 * fp32: CUBLAS_COMPUTE_32F, i.e. true fp32 (no TF32) so results track the CPU; set
 * MRPC_CUDA_ALLOW_TF32=1 to allow TF32 tensor cores (~1e-3 relative operand rounding).
 * bf16: the GEMM operands are rounded to bf16 (round to nearest even, exactly as the CPU
 * path), multiplied on tensor cores with fp32 accumulation and fp32 output. Weights come
 * from the bf16 mirror of the parameter slab (refreshed by weights_changed), other
 * operands are converted into scratch per call. The bias and its gradient stay fp32
 * (the reference adds b and sums db from the unrounded values).
 *
 * The bias is broadcast into out first and the GEMM runs with beta = 1.
 */
#include "cuda_common.cuh"
#include "linear.cuh"

#include <cuda_bf16.h>

/* dst[i] = bf16(src[i]) for n elements. */
__global__ void to_bf16_kernel(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        dst[i] = bf16_bits(src[i]);
    }
}

/* out[n, o] = b[o]. */
__global__ void bias_broadcast_kernel(float *out, const float *b, int N, int OC) {
    size_t total = (size_t)N * OC;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        out[i] = b[i % OC];
    }
}

__global__ void fill_kernel(float *x, float v, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        x[i] = v;
    }
}

/* Converts n floats to bf16 into dst (device). */
static int convert_bf16(cuda_backend *cb, uint16_t *dst, const float *src, size_t n) {
    to_bf16_kernel<<<cuda_blocks(n, 256, 16384), 256, 0, cb->stream>>>(dst, src, n);
    LAUNCH_CHECK(cb, return 0);
    return 1;
}

/* A bf16 copy of [n] floats at src in the given scratch buffer; NULL on failure. */
static const uint16_t *scratch_bf16(cuda_backend *cb, uint16_t **buf, size_t *cap, const float *src, size_t n) {
    if (!cuda_grow(cb, (void **)buf, cap, n * sizeof(uint16_t)) || !convert_bf16(cb, *buf, src, n)) {
        return NULL;
    }
    return *buf;
}

/* The bf16 weights of w [n]: a view into the slab mirror when w lies in the slab it
   mirrors, else a fresh conversion into x16. */
static const uint16_t *weights_bf16(cuda_backend *cb, const float *w, size_t n) {
    uintptr_t p = (uintptr_t)w, lo = (uintptr_t)cb->w16_slab, hi = lo + cb->w16_n * sizeof(float);
    if (cb->w16_slab && p >= lo && p + n * sizeof(float) <= hi && (p - lo) % sizeof(float) == 0) {
        return cb->w16 + (w - cb->w16_slab);
    }
    return scratch_bf16(cb, &cb->x16, &cb->x16_cap, w, n);
}

/* C (fp32) = op(A) op(B) + beta C with fp32 or bf16 operands. */
static void gemm(cuda_backend *cb, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void *A,
                 int lda, const void *B, int ldb, float beta, float *C, int ldc, int bf16) {
    const float alpha = 1.0f;
    cudaDataType_t t = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasComputeType_t ct = (!bf16 && cb->tf32) ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUBLAS_CHECK(&cb->error,
                 cublasGemmEx(cb->cublas, ta, tb, m, n, k, &alpha, A, t, lda, B, t, ldb, &beta, C, CUDA_R_32F, ldc, ct,
                              CUBLAS_GEMM_DEFAULT),
                 return);
}

extern "C" void cuda_linear_forward(mrpc_backend *be, float *out, const float *inp, const float *w, const float *b,
                                    int N, int IC, int OC) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb) || N < 1 || IC < 1 || OC < 1) {
        return;
    }
    const int bf16 = be->precision == MRPC_PRECISION_BF16;
    const void *A = w, *B = inp;
    if (bf16) {
        A = weights_bf16(cb, w, (size_t)OC * IC);
        B = A ? scratch_bf16(cb, &cb->a16, &cb->a16_cap, inp, (size_t)N * IC) : NULL;
        if (!A || !B) {
            return;
        }
    }
    float beta = 0.0f;
    if (b) {
        bias_broadcast_kernel<<<cuda_blocks((size_t)N * OC, 256, 16384), 256, 0, cb->stream>>>(out, b, N, OC);
        LAUNCH_CHECK(cb, return);
        beta = 1.0f;
    }
    gemm(cb, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, IC, A, IC, B, IC, beta, out, OC, bf16);
}

extern "C" void cuda_linear_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                                     const float *inp, const float *w, int N, int IC, int OC, int accumulate_dinp) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb) || N < 1 || IC < 1 || OC < 1) {
        return;
    }
    const int bf16 = be->precision == MRPC_PRECISION_BF16;
    const void *W = w, *X = inp, *G = dout;
    if (bf16) {
        G = scratch_bf16(cb, &cb->d16, &cb->d16_cap, dout, (size_t)N * OC);
        X = G ? scratch_bf16(cb, &cb->a16, &cb->a16_cap, inp, (size_t)N * IC) : NULL;
        W = (X && dinp) ? weights_bf16(cb, w, (size_t)OC * IC) : X;
        if (!G || !X || !W) {
            return;
        }
    }
    if (dinp) {
        gemm(cb, CUBLAS_OP_N, CUBLAS_OP_N, IC, N, OC, W, IC, G, OC, accumulate_dinp ? 1.0f : 0.0f, dinp, IC, bf16);
    }
    gemm(cb, CUBLAS_OP_N, CUBLAS_OP_T, IC, OC, N, X, IC, G, OC, 1.0f, dw, IC, bf16);
    if (db && !cuda_failed(cb)) {
        if ((size_t)N > cb->ones_n) {
            if (!cuda_grow(cb, (void **)&cb->ones, &cb->ones_cap, sizeof(float) * (size_t)N)) {
                return;
            }
            size_t n1 = cb->ones_cap / sizeof(float);
            fill_kernel<<<cuda_blocks(n1, 256, 1024), 256, 0, cb->stream>>>(cb->ones, 1.0f, n1);
            LAUNCH_CHECK(cb, return);
            cb->ones_n = n1;
        }
        const float one = 1.0f;
        CUBLAS_CHECK(&cb->error, cublasSgemv(cb->cublas, CUBLAS_OP_N, OC, N, &one, dout, OC, cb->ones, 1, &one, db, 1),
                     return);
    }
}

extern "C" void cuda_weights_changed(mrpc_backend *be, const float *slab, size_t n_elems) {
    cuda_backend *cb = (cuda_backend *)be;
    if (be->precision != MRPC_PRECISION_BF16 || cuda_failed(cb) || !slab || n_elems == 0) {
        return;
    }
    cb->w16_slab = NULL;
    if (!cuda_grow(cb, (void **)&cb->w16, &cb->w16_cap, n_elems * sizeof(uint16_t)) ||
        !convert_bf16(cb, cb->w16, slab, n_elems)) {
        return;
    }
    cb->w16_slab = slab;
    cb->w16_n = n_elems;
}

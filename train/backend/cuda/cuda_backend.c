/*
 * cuda_backend.c — the CUDA backend object: creation (device, stream, cuBLAS), the op
 * table, sticky errors, synchronisation. The ops live in the .cu files (one per op
 * family, declared in their .cuh), memory and batch copies in cuda_mem.c.
 */
#include "cuda_backend.h"

#include <stdlib.h>
#include <string.h>

#include "attention.cuh"
#include "crossentropy.cuh"
#include "cuda_internal.h"
#include "elementwise.cuh"
#include "embedding.cuh"
#include "layernorm.cuh"
#include "linear.cuh"
#include "optimizer.cuh"

static void cuda_backend_free(mrpc_backend *be) {
    cuda_backend *cb = (cuda_backend *)be;
    if (!cb) {
        return;
    }
    if (cb->stream) {
        cudaStreamSynchronize(cb->stream); /* teardown: nothing left to report to */
    }
    cuda_mem_release(cb);
    if (cb->cublas) {
        cublasDestroy(cb->cublas);
    }
    if (cb->stream) {
        cudaStreamDestroy(cb->stream);
    }
    free(cb);
}

static mrpc_status cuda_get_error(mrpc_backend *be, mrpc_error *err) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cb->error.status != MRPC_OK && err) {
        *err = cb->error;
    }
    return cb->error.status;
}

static void cuda_synchronize(mrpc_backend *be) {
    cuda_backend *cb = (cuda_backend *)be;
    /* asynchronous kernel faults surface here */
    CUDA_CHECK(&cb->error, cudaStreamSynchronize(cb->stream), return);
}

static const mrpc_backend_ops cuda_ops = {
    .free = cuda_backend_free,
    .get_error = cuda_get_error,
    .synchronize = cuda_synchronize,
    .alloc = cuda_alloc,
    .free_mem = cuda_free_mem,
    .copy_to_backend = cuda_copy_to_backend,
    .copy_to_host = cuda_copy_to_host,
    .copy = cuda_copy,
    .zero = cuda_zero,
    .seqs_prepare = cuda_seqs_prepare,
    .weights_changed = cuda_weights_changed,
    .embedding_forward = cuda_embedding_forward,
    .embedding_backward = cuda_embedding_backward,
    .layernorm_forward = cuda_layernorm_forward,
    .layernorm_backward = cuda_layernorm_backward,
    .linear_forward = cuda_linear_forward,
    .linear_backward = cuda_linear_backward,
    .attention_forward = cuda_attention_forward,
    .attention_backward = cuda_attention_backward,
    .gelu_forward = cuda_gelu_forward,
    .gelu_backward = cuda_gelu_backward,
    .relu_forward = cuda_relu_forward,
    .relu_backward = cuda_relu_backward,
    .add = cuda_add,
    .dropout = cuda_dropout,
    .gather_first = cuda_gather_first,
    .gather_first_backward = cuda_gather_first_backward,
    .crossentropy = cuda_crossentropy,
    .sumsq = cuda_sumsq,
    .scale = cuda_scale,
    .adamw = cuda_adamw,
};

int mrpc_backend_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError(); /* clear it: "no device" is an answer, not a failure */
        return 0;
    }
    return n;
}

void *mrpc_backend_cuda_stream(mrpc_backend *be) {
    if (!be || be->ops != &cuda_ops) {
        return NULL;
    }
    return (void *)((cuda_backend *)be)->stream;
}

mrpc_status mrpc_backend_cuda_create(const mrpc_backend_options *opts, mrpc_backend **out, mrpc_error *err) {
    *out = NULL;
    int count = 0;
    cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess || count < 1) {
        const char *why = rc != cudaSuccess ? cudaGetErrorString(rc) : "0 devices";
        (void)cudaGetLastError();
        return mrpc_error_set(err, MRPC_ERR_CUDA, NULL, 0, 0, "cuda", "no CUDA device (cudaGetDeviceCount: %s)", why);
    }
    if (opts->device < 0 || opts->device >= count) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "device",
                              "CUDA device %d does not exist (this process sees %d)", opts->device, count);
    }
    if (opts->precision != MRPC_PRECISION_FP32 && opts->precision != MRPC_PRECISION_BF16) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "precision", "unknown precision %d",
                              (int)opts->precision);
    }
    cuda_backend *cb = calloc(1, sizeof *cb);
    if (!cb) {
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "backend", "out of memory");
    }
    cb->base.ops = &cuda_ops;
    cb->base.kind = MRPC_BACKEND_CUDA;
    cb->base.precision = opts->precision;
    cb->base.n_threads = 1;
    cb->base.host_memory = 0;
    cb->base.name = "cuda";
    cb->device = opts->device;
    const char *tf32 = getenv("MRPC_CUDA_ALLOW_TF32");
    cb->tf32 = tf32 && strcmp(tf32, "1") == 0;

    struct cudaDeviceProp prop;
    CUDA_CHECK(&cb->error, cudaGetDeviceProperties(&prop, opts->device), goto fail);
    if (prop.major < 8) {
        mrpc_error_set(&cb->error, MRPC_ERR_UNSUPPORTED, NULL, 0, 0, "cuda",
                       "device %d (%s) has compute capability %d.%d; this build needs 8.0 or newer (sm_80/sm_90 "
                       "code, bf16 tensor cores)",
                       opts->device, prop.name, prop.major, prop.minor);
        goto fail;
    }
    cb->smem_optin = prop.sharedMemPerBlockOptin;
    CUDA_CHECK(&cb->error, cudaSetDevice(opts->device), goto fail);
    CUDA_CHECK(&cb->error, cudaStreamCreate(&cb->stream), goto fail);
    CUBLAS_CHECK(&cb->error, cublasCreate(&cb->cublas), goto fail);
    CUBLAS_CHECK(&cb->error, cublasSetStream(cb->cublas, cb->stream), goto fail);
    /* true fp32 unless TF32 is allowed; bf16 GEMMs name their compute type explicitly */
    CUBLAS_CHECK(&cb->error, cublasSetMathMode(cb->cublas, cb->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                 goto fail);
    *out = &cb->base;
    return MRPC_OK;

fail:
    if (err) {
        *err = cb->error;
    }
    mrpc_status st = cb->error.status;
    cuda_backend_free(&cb->base);
    return st;
}

/*
 * cuda_check.h — one check-macro family for CUDA, cuBLAS and NCCL return codes.
 *
 * One generator (MRPC_GPU_CHECK_GEN, after ggml's CUDA_CHECK_GEN) makes the three
 * checks. A failing call is recorded into an mrpc_error with status MRPC_ERR_CUDA and a
 * message naming the library's error string, the failing statement, the function,
 * file:line and the current device; then `on_fail` runs (`return`, `return NULL`,
 * `goto fail`, ...). Nothing exits the process.
 *
 *     CUDA_CHECK(&cb->error, cudaMemsetAsync(p, 0, n, cb->stream), return);
 *     CUBLAS_CHECK(&cb->error, cublasGemmEx(...), return);
 *     NCCL_CHECK(&local, ncclAllReduce(...), goto fail);      (only where nccl.h is included)
 *
 * The error record keeps the FIRST failure (a sticky error, like CUDA's own): a later
 * failure into the same record is dropped, so get_error reports the root cause.
 *
 * The macros expand the library names (cudaSuccess, cublasGetStatusString, ...) only
 * where they are used, so this header includes no CUDA header itself: include
 * cuda_runtime_api.h / cublas_v2.h / nccl.h before using the matching macro.
 */
#ifndef MRPC_CUDA_CHECK_H
#define MRPC_CUDA_CHECK_H

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Records a failed call into `err` (NULL: nothing recorded) unless err already holds an
 * error: status MRPC_ERR_CUDA, field "cuda", message
 *     "<lib> error <code> (<lib_message>) in `<stmt>` at <func> <file>:<line>, device <d>".
 * Returns MRPC_ERR_CUDA. The device is read with cudaGetDevice (-1 when that fails too).
 */
mrpc_status mrpc_gpu_error(mrpc_error *err, const char *lib, int code, const char *lib_message, const char *stmt,
                           const char *func, const char *file, int line);

#ifdef __cplusplus
}
#endif

/* The generator: evaluates `stmt` once as type T; on a value other than `success`
   records it (with str_fn(value) as the library's message) and runs `on_fail`. */
#define MRPC_GPU_CHECK_GEN(T, success, str_fn, lib, err, stmt, on_fail)                                     \
    do {                                                                                                   \
        T mrpc_gpu_rc_ = (stmt);                                                                           \
        if (mrpc_gpu_rc_ != (success)) {                                                                   \
            mrpc_gpu_error((err), (lib), (int)mrpc_gpu_rc_, str_fn(mrpc_gpu_rc_), #stmt, __func__, __FILE__, \
                           __LINE__);                                                                      \
            on_fail;                                                                                       \
        }                                                                                                  \
    } while (0)

/* CUDA runtime calls (cudaError_t). */
#define CUDA_CHECK(err, stmt, on_fail) \
    MRPC_GPU_CHECK_GEN(cudaError_t, cudaSuccess, cudaGetErrorString, "CUDA", err, stmt, on_fail)
/* cuBLAS calls (cublasStatus_t). */
#define CUBLAS_CHECK(err, stmt, on_fail) \
    MRPC_GPU_CHECK_GEN(cublasStatus_t, CUBLAS_STATUS_SUCCESS, cublasGetStatusString, "cuBLAS", err, stmt, on_fail)
/* NCCL calls (ncclResult_t). */
#define NCCL_CHECK(err, stmt, on_fail) \
    MRPC_GPU_CHECK_GEN(ncclResult_t, ncclSuccess, ncclGetErrorString, "NCCL", err, stmt, on_fail)

#endif /* MRPC_CUDA_CHECK_H */

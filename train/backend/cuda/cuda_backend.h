/*
 * cuda_backend.h — the CUDA backend: the ops of backend.h on one NVIDIA GPU.
 *
 * GEMMs run in cuBLAS (fp32, or bf16 operands on tensor cores with fp32 accumulation and
 * output); every other op is a kernel of this directory (one .cu file per op family).
 * Parameters, gradients, optimizer state and activations live in device memory; the host
 * sees only what it copies (copy_to_host). Results match the CPU reference within float
 * rounding, dropout masks bit for bit (backend.h), the AdamW update bitwise; runs are
 * deterministic (no atomics).
 *
 * Use mrpc_backend_create (backend.h) with MRPC_BACKEND_CUDA; this is the constructor it
 * dispatches to.
 *
 *     mrpc_backend_options o = {.kind = MRPC_BACKEND_CUDA, .precision = MRPC_PRECISION_BF16, .device = 0};
 *     mrpc_backend *be = NULL;
 *     if (mrpc_backend_create(&o, &be, &err) != MRPC_OK) ...   (MRPC_ERR_CUDA: no device)
 *
 * Environment: MRPC_CUDA_ALLOW_TF32=1 lets fp32 GEMMs use TF32 tensor cores (faster,
 * ~1e-3 relative operand rounding; off by default so fp32 tracks the CPU).
 */
#ifndef MRPC_BACKEND_CUDA_H
#define MRPC_BACKEND_CUDA_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Creates a CUDA backend on device opts->device (made the calling thread's current
 * device) with its own stream and cuBLAS handle. MRPC_ERR_CUDA "no CUDA device" when
 * the machine has none (or no driver), MRPC_ERR_INVALID for a device ordinal out of
 * range or an unknown precision, MRPC_ERR_UNSUPPORTED for a GPU older than compute
 * capability 8.0 (the build carries sm_80/sm_90 code). Free with mrpc_backend_free.
 */
mrpc_status mrpc_backend_cuda_create(const mrpc_backend_options *opts, mrpc_backend **out, mrpc_error *err);

/* Number of CUDA devices this process sees; 0 when there is none or no driver. */
int mrpc_backend_cuda_device_count(void);

/*
 * The stream every op of `be` is queued on, as a cudaStream_t (cast it back); NULL when
 * `be` is not a CUDA backend (e.g. a profiling wrapper). Work queued by others on this
 * stream (an NCCL all-reduce of the gradient slab) is ordered with the ops. The stream
 * is a blocking one, so the legacy default stream orders with it too.
 */
void *mrpc_backend_cuda_stream(mrpc_backend *be);

#ifdef __cplusplus
}
#endif

#endif /* MRPC_BACKEND_CUDA_H */

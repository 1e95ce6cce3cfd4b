/* crossentropy.cuh — per-example cross-entropy and its gradient on the GPU (backend.h slot). */
#ifndef MRPC_CUDA_CROSSENTROPY_CUH
#define MRPC_CUDA_CROSSENTROPY_CUH

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

void cuda_crossentropy(mrpc_backend *be, float *losses, float *dlogits, const float *logits, const int32_t *labels,
                       int B, int L, float loss_scale);

#ifdef __cplusplus
}
#endif

#endif /* MRPC_CUDA_CROSSENTROPY_CUH */

/* layernorm.cuh — LayerNorm (eps 1e-12, biased variance) on the GPU (backend.h slots). */
#ifndef MRPC_CUDA_LAYERNORM_CUH
#define MRPC_CUDA_LAYERNORM_CUH

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

void cuda_layernorm_forward(mrpc_backend *be, float *out, float *mean, float *rstd, const float *inp, const float *w,
                            const float *b, int N, int C);
void cuda_layernorm_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                             const float *w, const float *mean, const float *rstd, int N, int C);

#ifdef __cplusplus
}
#endif

#endif /* MRPC_CUDA_LAYERNORM_CUH */

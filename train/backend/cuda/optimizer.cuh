/* optimizer.cuh — global sum of squares and the fused AdamW update on the GPU (backend.h
   slots). */
#ifndef MRPC_CUDA_OPTIMIZER_CUH
#define MRPC_CUDA_OPTIMIZER_CUH

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

double cuda_sumsq(mrpc_backend *be, const float *x, size_t n);
void   cuda_adamw(mrpc_backend *be, float *p, const float *g, float *m, float *v, size_t n,
                  const mrpc_adamw_hparams *hp);

#ifdef __cplusplus
}
#endif

#endif /* MRPC_CUDA_OPTIMIZER_CUH */

/* attention.cuh — multi-head self-attention over packed sequences on the GPU (backend.h
   slots; shapes, layouts and dropout positions are defined there). */
#ifndef MRPC_CUDA_ATTENTION_CUH
#define MRPC_CUDA_ATTENTION_CUH

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

void cuda_attention_forward(mrpc_backend *be, float *ctx, float *probs, const float *qkv, const mrpc_seqs *s, int H,
                            int D, int cls_only, const mrpc_dropout *drop);
void cuda_attention_backward(mrpc_backend *be, float *dqkv, const float *dctx, const float *qkv, const float *probs,
                             const mrpc_seqs *s, int H, int D, int cls_only, const mrpc_dropout *drop);

#ifdef __cplusplus
}
#endif

#endif /* MRPC_CUDA_ATTENTION_CUH */

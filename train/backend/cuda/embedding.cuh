/* embedding.cuh — word + position embeddings on the GPU (backend.h slots). */
#ifndef MRPC_CUDA_EMBEDDING_CUH
#define MRPC_CUDA_EMBEDDING_CUH

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

void cuda_embedding_forward(mrpc_backend *be, float *out, const int32_t *ids, const float *wte, const float *wpe,
                            const mrpc_seqs *s, int C);
void cuda_embedding_backward(mrpc_backend *be, float *dwte, float *dwpe, const float *dout, const int32_t *ids,
                             const mrpc_seqs *s, int C, int pad_id);

#ifdef __cplusplus
}
#endif

#endif /* MRPC_CUDA_EMBEDDING_CUH */

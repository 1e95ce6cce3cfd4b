/* elementwise.cuh — GELU, ReLU, add, dropout, [CLS] gather and scale on the GPU
   (backend.h slots). */
#ifndef MRPC_CUDA_ELEMENTWISE_CUH
#define MRPC_CUDA_ELEMENTWISE_CUH

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

void cuda_gelu_forward(mrpc_backend *be, float *out, const float *inp, size_t n);
void cuda_gelu_backward(mrpc_backend *be, float *dinp, const float *inp, const float *dout, size_t n);
void cuda_relu_forward(mrpc_backend *be, float *out, const float *inp, size_t n);
void cuda_relu_backward(mrpc_backend *be, float *dinp, const float *out, const float *dout, size_t n);
void cuda_add(mrpc_backend *be, float *out, const float *a, const float *b, size_t n);
void cuda_dropout(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int row_len,
                  const mrpc_dropout *drop);
void cuda_gather_first(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int C);
void cuda_gather_first_backward(mrpc_backend *be, float *dinp, const float *dout, const mrpc_seqs *s, int C);
void cuda_scale(mrpc_backend *be, float *x, size_t n, float s);

#ifdef __cplusplus
}
#endif

#endif /* MRPC_CUDA_ELEMENTWISE_CUH */

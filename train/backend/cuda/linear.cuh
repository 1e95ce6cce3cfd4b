/* linear.cuh — nn.Linear on cuBLAS (fp32, or bf16 operands on tensor cores) and the bf16
   weight mirror (backend.h slots). */
#ifndef MRPC_CUDA_LINEAR_CUH
#define MRPC_CUDA_LINEAR_CUH

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

void cuda_linear_forward(mrpc_backend *be, float *out, const float *inp, const float *w, const float *b, int N, int IC,
                         int OC);
void cuda_linear_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, int N, int IC, int OC, int accumulate_dinp);
void cuda_weights_changed(mrpc_backend *be, const float *slab, size_t n_elems);

#ifdef __cplusplus
}
#endif

#endif /* MRPC_CUDA_LINEAR_CUH */

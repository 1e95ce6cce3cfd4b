/*
 * crossentropy.cu — losses[b] = logsumexp(logits[b,:]) - logits[b, label] and
 * dlogits = (softmax - onehot) * loss_scale. One thread per example, in double exactly
 * as cpu_ref.c (B and L are tiny: the batch and 2 labels).
 */
#include "crossentropy.cuh"
#include "cuda_common.cuh"

__global__ void crossentropy_kernel(float *losses, float *dlogits, const float *logits, const int32_t *labels, int B,
                                    int L, float loss_scale) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) {
        return;
    }
    const float *z = logits + (size_t)b * L;
    double mx = z[0];
    for (int k = 1; k < L; k++) {
        if (z[k] > mx) {
            mx = z[k];
        }
    }
    double sum = 0.0;
    for (int k = 0; k < L; k++) {
        sum += exp(z[k] - mx);
    }
    double lse = mx + log(sum);
    int y = labels[b];
    losses[b] = (float)(lse - z[y]);
    if (dlogits) {
        for (int k = 0; k < L; k++) {
            double p = exp(z[k] - lse);
            dlogits[(size_t)b * L + k] = (float)((p - (k == y ? 1.0 : 0.0)) * loss_scale);
        }
    }
}

extern "C" void cuda_crossentropy(mrpc_backend *be, float *losses, float *dlogits, const float *logits,
                                  const int32_t *labels, int B, int L, float loss_scale) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb) || B < 1 || L < 1) {
        return;
    }
    crossentropy_kernel<<<(unsigned)((B + 127) / 128), 128, 0, cb->stream>>>(losses, dlogits, logits, labels, B, L,
                                                                             loss_scale);
    LAUNCH_CHECK(cb, return);
}

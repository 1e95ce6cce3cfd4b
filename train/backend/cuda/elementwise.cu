/*
 * elementwise.cu — the pointwise ops: exact-erf GELU and its derivative, ReLU, add,
 * dropout (bit-identical masks to the CPU), the [CLS] row gather, scale.
 *
 * GELU uses 0.5 x erfc(-x / sqrt 2), which equals 0.5 x (1 + erf(x / sqrt 2)) without
 * the cancellation of 1 + erf for negative x (the reference computes in double).
 * Every kernel is a grid-stride loop; in-place calls (out == inp) are safe because each
 * element is read and written by the same thread.
 */
#include "cuda_common.cuh"
#include "elementwise.cuh"

#define SQRT1_2F 0.70710678118654752440f
#define INV_SQRT_2PIF 0.39894228040143267794f
#define EW_THREADS 256
#define EW_CAP 16384u

#define GRID_STRIDE(i, n) \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

__global__ void gelu_forward_kernel(float *out, const float *inp, size_t n) {
    GRID_STRIDE(i, n) {
        float x = inp[i];
        out[i] = 0.5f * x * erfcf(-x * SQRT1_2F);
    }
}

__global__ void gelu_backward_kernel(float *dinp, const float *inp, const float *dout, size_t n) {
    GRID_STRIDE(i, n) {
        float x = inp[i];
        float cdf = 0.5f * erfcf(-x * SQRT1_2F);
        float pdf = expf(-0.5f * x * x) * INV_SQRT_2PIF;
        dinp[i] = dout[i] * (cdf + x * pdf);
    }
}

__global__ void relu_forward_kernel(float *out, const float *inp, size_t n) {
    GRID_STRIDE(i, n) {
        float x = inp[i];
        out[i] = x > 0.0f ? x : 0.0f;
    }
}

__global__ void relu_backward_kernel(float *dinp, const float *out, const float *dout, size_t n) {
    GRID_STRIDE(i, n) {
        dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
    }
}

__global__ void add_kernel(float *out, const float *a, const float *b, size_t n) {
    GRID_STRIDE(i, n) {
        out[i] = a[i] + b[i];
    }
}

__global__ void scale_kernel(float *x, size_t n, float s) {
    GRID_STRIDE(i, n) {
        x[i] *= s;
    }
}

/* out[n, c] = inp[n, c] * mult(example_b, t * row_len + c), one element per thread. */
__global__ void dropout_kernel(float *out, const float *inp, const int32_t *offsets, const int32_t *row_seq,
                               const uint32_t *example, int N, int row_len, cuda_drop drop) {
    size_t total = (size_t)N * row_len;
    GRID_STRIDE(i, total) {
        int n = (int)(i / row_len), c = (int)(i % row_len);
        int b = row_seq[n];
        uint32_t t = (uint32_t)(n - offsets[b]);
        out[i] = inp[i] * drop_mult(drop, example[b], t * (uint32_t)row_len + (uint32_t)c);
    }
}

/* The same with row_len % 4 == 0 and 16-byte aligned pointers: four consecutive
   elements share one Philox call (their positions form one aligned block of 4). */
__global__ void dropout4_kernel(float4 *out, const float4 *inp, const int32_t *offsets, const int32_t *row_seq,
                                const uint32_t *example, int N, int row_len, cuda_drop drop) {
    const int q = row_len / 4;
    size_t total = (size_t)N * q;
    GRID_STRIDE(i, total) {
        int n = (int)(i / q), c4 = (int)(i % q);
        int b = row_seq[n];
        uint32_t t = (uint32_t)(n - offsets[b]);
        uint32_t pos0 = t * (uint32_t)row_len + 4u * (uint32_t)c4;
        float4 m = drop_mult4(drop, example[b], pos0 >> 2);
        float4 x = inp[i];
        x.x *= m.x;
        x.y *= m.y;
        x.z *= m.z;
        x.w *= m.w;
        out[i] = x;
    }
}

/* out[b, c] = inp[offsets[b], c]. */
__global__ void gather_first_kernel(float *out, const float *inp, const int32_t *offsets, int B, int C) {
    size_t total = (size_t)B * C;
    GRID_STRIDE(i, total) {
        int b = (int)(i / C), c = (int)(i % C);
        out[i] = inp[(size_t)offsets[b] * C + c];
    }
}

/* dinp[n, c] = dout[b, c] at the first row of sequence b, 0 elsewhere (every element). */
__global__ void gather_first_backward_kernel(float *dinp, const float *dout, const int32_t *offsets,
                                             const int32_t *row_seq, int N, int C) {
    size_t total = (size_t)N * C;
    GRID_STRIDE(i, total) {
        int n = (int)(i / C), c = (int)(i % C);
        int b = row_seq[n];
        dinp[i] = n == offsets[b] ? dout[(size_t)b * C + c] : 0.0f;
    }
}

/* The boilerplate of a pointwise op over n elements. */
#define EW_LAUNCH(cb, kernel, n, ...)                                                              \
    do {                                                                                           \
        if (cuda_failed(cb) || (n) == 0) {                                                         \
            return;                                                                                \
        }                                                                                          \
        kernel<<<cuda_blocks((n), EW_THREADS, EW_CAP), EW_THREADS, 0, (cb)->stream>>>(__VA_ARGS__); \
        LAUNCH_CHECK(cb, return);                                                                  \
    } while (0)

extern "C" void cuda_gelu_forward(mrpc_backend *be, float *out, const float *inp, size_t n) {
    EW_LAUNCH((cuda_backend *)be, gelu_forward_kernel, n, out, inp, n);
}

extern "C" void cuda_gelu_backward(mrpc_backend *be, float *dinp, const float *inp, const float *dout, size_t n) {
    EW_LAUNCH((cuda_backend *)be, gelu_backward_kernel, n, dinp, inp, dout, n);
}

extern "C" void cuda_relu_forward(mrpc_backend *be, float *out, const float *inp, size_t n) {
    EW_LAUNCH((cuda_backend *)be, relu_forward_kernel, n, out, inp, n);
}

extern "C" void cuda_relu_backward(mrpc_backend *be, float *dinp, const float *out, const float *dout, size_t n) {
    EW_LAUNCH((cuda_backend *)be, relu_backward_kernel, n, dinp, out, dout, n);
}

extern "C" void cuda_add(mrpc_backend *be, float *out, const float *a, const float *b, size_t n) {
    EW_LAUNCH((cuda_backend *)be, add_kernel, n, out, a, b, n);
}

extern "C" void cuda_scale(mrpc_backend *be, float *x, size_t n, float s) {
    EW_LAUNCH((cuda_backend *)be, scale_kernel, n, x, n, s);
}

extern "C" void cuda_dropout(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int row_len,
                             const mrpc_dropout *drop) {
    cuda_backend *cb = (cuda_backend *)be;
    const int N = s->n_tok;
    if (cuda_failed(cb) || N < 1 || row_len < 1) {
        return;
    }
    const cuda_drop d = cuda_drop_make(drop);
    const size_t total = (size_t)N * row_len;
    if (!d.on) { /* identity */
        if (out != inp) {
            CUDA_CHECK(&cb->error,
                       cudaMemcpyAsync(out, inp, total * sizeof(float), cudaMemcpyDeviceToDevice, cb->stream), return);
        }
        return;
    }
    const cuda_seqs_dev *sd = cuda_seqs(cb, s);
    if (!sd) {
        return;
    }
    if (row_len % 4 == 0 && (uintptr_t)out % 16 == 0 && (uintptr_t)inp % 16 == 0) {
        dropout4_kernel<<<cuda_blocks(total / 4, EW_THREADS, EW_CAP), EW_THREADS, 0, cb->stream>>>(
            (float4 *)out, (const float4 *)inp, sd->offsets, sd->row_seq, sd->example, N, row_len, d);
    } else {
        dropout_kernel<<<cuda_blocks(total, EW_THREADS, EW_CAP), EW_THREADS, 0, cb->stream>>>(
            out, inp, sd->offsets, sd->row_seq, sd->example, N, row_len, d);
    }
    LAUNCH_CHECK(cb, return);
}

extern "C" void cuda_gather_first(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int C) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb) || s->n_seq < 1 || C < 1) {
        return;
    }
    const cuda_seqs_dev *sd = cuda_seqs(cb, s);
    if (!sd) {
        return;
    }
    size_t total = (size_t)s->n_seq * C;
    gather_first_kernel<<<cuda_blocks(total, EW_THREADS, EW_CAP), EW_THREADS, 0, cb->stream>>>(out, inp, sd->offsets,
                                                                                               s->n_seq, C);
    LAUNCH_CHECK(cb, return);
}

extern "C" void cuda_gather_first_backward(mrpc_backend *be, float *dinp, const float *dout, const mrpc_seqs *s,
                                           int C) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb) || s->n_tok < 1 || C < 1) {
        return;
    }
    const cuda_seqs_dev *sd = cuda_seqs(cb, s);
    if (!sd) {
        return;
    }
    size_t total = (size_t)s->n_tok * C;
    gather_first_backward_kernel<<<cuda_blocks(total, EW_THREADS, EW_CAP), EW_THREADS, 0, cb->stream>>>(
        dinp, dout, sd->offsets, sd->row_seq, s->n_tok, C);
    LAUNCH_CHECK(cb, return);
}

/*
 * embedding.cu — word + position embeddings, forward and backward.
 *
 * Backward without atomics, and in the reference's order: dwpe[t] is one thread per
 * element summing the rows of position t over sequences b = 0, 1, ...; dwte[id] is
 * summed by the block that owns the FIRST row with that id, walking the rows with the
 * same id in ascending order through a `next` link computed beforehand. Each element is
 * accumulated onto its old value in the same order as cpu_ref.c, so the result is
 * bitwise the reference's and run-to-run deterministic.
 */
#include "cuda_common.cuh"
#include "embedding.cuh"

/* out[n,c] = wte[ids[n],c] + wpe[t,c], t = n - offsets[seq(n)]. */
__global__ void embedding_forward_kernel(float *out, const int32_t *ids, const float *wte, const float *wpe,
                                         const int32_t *offsets, const int32_t *row_seq, int N, int C) {
    size_t total = (size_t)N * C;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int n = (int)(i / C), c = (int)(i % C);
        int t = n - offsets[row_seq[n]];
        out[i] = wte[(size_t)ids[n] * C + c] + wpe[(size_t)t * C + c];
    }
}

/* dwpe[t,c] += sum over b (ascending) with t < len_b of dout[offsets[b]+t, c].
   grid (max_len, ceil(C/threads)). */
__global__ void embedding_dwpe_kernel(float *dwpe, const float *dout, const int32_t *offsets, int B, int C) {
    int t = blockIdx.x;
    int c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c >= C) {
        return;
    }
    float acc = dwpe[(size_t)t * C + c];
    for (int b = 0; b < B; b++) {
        int o = offsets[b];
        if (t < offsets[b + 1] - o) {
            acc += dout[(size_t)(o + t) * C + c];
        }
    }
    dwpe[(size_t)t * C + c] = acc;
}

/* For each row n: first[n] = 1 when no earlier row has ids[n]; next[n] = the next row
   with the same id, or -1. One thread per row; O(N^2) compares, a few microseconds. */
__global__ void embedding_links_kernel(int32_t *first, int32_t *next, const int32_t *ids, int N) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) {
        return;
    }
    int32_t id = ids[n];
    int is_first = 1;
    for (int m = 0; m < n; m++) {
        if (ids[m] == id) {
            is_first = 0;
            break;
        }
    }
    int nx = -1;
    for (int m = n + 1; m < N; m++) {
        if (ids[m] == id) {
            nx = m;
            break;
        }
    }
    first[n] = is_first;
    next[n] = nx;
}

/* dwte[id,c] += dout rows with that id, ascending; the pad id gets nothing.
   grid (N, ceil(C/threads)): only the first row of each id does the work. */
__global__ void embedding_dwte_kernel(float *dwte, const float *dout, const int32_t *ids, const int32_t *first,
                                      const int32_t *next, int C, int pad_id) {
    int n = blockIdx.x;
    int c = blockIdx.y * blockDim.x + threadIdx.x;
    int32_t id = ids[n];
    if (c >= C || !first[n] || id == pad_id) {
        return;
    }
    float acc = dwte[(size_t)id * C + c];
    for (int m = n; m >= 0; m = next[m]) {
        acc += dout[(size_t)m * C + c];
    }
    dwte[(size_t)id * C + c] = acc;
}

extern "C" void cuda_embedding_forward(mrpc_backend *be, float *out, const int32_t *ids, const float *wte,
                                       const float *wpe, const mrpc_seqs *s, int C) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb) || s->n_tok < 1 || C < 1) {
        return;
    }
    const cuda_seqs_dev *sd = cuda_seqs(cb, s);
    if (!sd) {
        return;
    }
    size_t total = (size_t)s->n_tok * C;
    embedding_forward_kernel<<<cuda_blocks(total, 256, 8192), 256, 0, cb->stream>>>(out, ids, wte, wpe, sd->offsets,
                                                                                    sd->row_seq, s->n_tok, C);
    LAUNCH_CHECK(cb, return);
}

extern "C" void cuda_embedding_backward(mrpc_backend *be, float *dwte, float *dwpe, const float *dout,
                                        const int32_t *ids, const mrpc_seqs *s, int C, int pad_id) {
    cuda_backend *cb = (cuda_backend *)be;
    const int N = s->n_tok;
    if (cuda_failed(cb) || N < 1 || C < 1) {
        return;
    }
    const cuda_seqs_dev *sd = cuda_seqs(cb, s);
    if (!sd || !cuda_grow(cb, (void **)&cb->iscr, &cb->iscr_cap, sizeof(int32_t) * 2 * (size_t)N)) {
        return;
    }
    const unsigned threads = 128;
    const unsigned cblocks = (unsigned)((C + (int)threads - 1) / (int)threads);
    embedding_dwpe_kernel<<<dim3((unsigned)s->max_len, cblocks), threads, 0, cb->stream>>>(dwpe, dout, sd->offsets,
                                                                                          s->n_seq, C);
    LAUNCH_CHECK(cb, return);
    int32_t *first = cb->iscr, *next = cb->iscr + N;
    embedding_links_kernel<<<(unsigned)((N + 127) / 128), 128, 0, cb->stream>>>(first, next, ids, N);
    LAUNCH_CHECK(cb, return);
    embedding_dwte_kernel<<<dim3((unsigned)N, cblocks), threads, 0, cb->stream>>>(dwte, dout, ids, first, next, C,
                                                                                 pad_id);
    LAUNCH_CHECK(cb, return);
}

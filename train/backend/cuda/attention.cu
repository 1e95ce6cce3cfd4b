/*
 * attention.cu — fused multi-head self-attention for the packed ("varlen") layout.
 *
 * One block per (query tile of ATT_QT queries, head h, sequence b); blocks whose tile
 * starts past the sequence's length exit at once. Everything runs in fp32 on CUDA cores
 * with the sequence's keys/values streamed through shared memory in tiles of ATT_KT rows
 * (row stride D|1, odd, so column walks are free of bank conflicts); a tile's full score
 * rows [ATT_QT, len] live in shared memory, so len is limited by shared memory only
 * (len 512, D 64: 45 KiB).
 *
 * forward, per (b, h, tile):            S = (q / sqrt(D)) K^T      (q scaled first, as HF)
 *                                       P = softmax(S) -> probs    (saved, before dropout)
 *                                       Pd = P * M                 (M: dropout multipliers)
 *                                       ctx = Pd V
 * backward, kernel 1 per (b, h, query tile):
 *                                       dP = (dctx V^T) * M
 *                                       dS = P (dP - rowsum(P dP)) -> scratch (probs layout)
 *                                       dQ = dS K / sqrt(D)
 * backward, kernel 2 per (b, h, tile of ATT_KT2 keys), over all queries:
 *                                       dK = dS^T (q / sqrt(D)),  dV = Pd^T dctx
 * Splitting dK/dV into their own kernel (each key row owned by one block) avoids atomics:
 * results are deterministic. Dropout multipliers are recomputed from Philox wherever
 * they are needed; each (i, j) is drawn once per kernel.
 */
#include "attention.cuh"
#include "cuda_common.cuh"

#define ATT_THREADS 256
#define ATT_QT 16                                   /* queries per block */
#define ATT_KT 32                                   /* key rows per shared-memory tile */
#define ATT_MAXD 128                                /* largest head size */
#define ATT_OUTS (ATT_QT * ATT_MAXD / ATT_THREADS)  /* outputs per thread: [QT, D] / threads */
#define ATT_KT2 16                                  /* keys per block in backward kernel 2 */
#define ATT_QC 32                                   /* queries per shared-memory chunk there */
#define ATT_OUTS2 (ATT_KT2 * ATT_MAXD / ATT_THREADS)
static_assert(ATT_THREADS % ATT_KT == 0 && ATT_QT % (ATT_THREADS / ATT_KT) == 0, "score tiling");
static_assert(ATT_QT * ATT_MAXD % ATT_THREADS == 0 && ATT_KT2 * ATT_MAXD % ATT_THREADS == 0, "output tiling");

/* Start of the probs block of (b, h): [nq, len] row-major (backend.h layout). */
__device__ __forceinline__ size_t probs_base(int cls_only, int H, int h, int o, int len, int64_t sq_b) {
    return cls_only ? (size_t)H * o + (size_t)h * len : (size_t)H * (size_t)sq_b + (size_t)h * len * (size_t)len;
}

/* Dropout position of attention element (h, i, j): (h * P + i) * P + j, 32-bit. */
__device__ __forceinline__ uint32_t att_pos(const cuda_drop &d, int h, int i, int j) {
    return ((uint32_t)h * d.max_pos + (uint32_t)i) * d.max_pos + (uint32_t)j;
}

/* dst[j, d] = qkv[(o + k0 + j), part*C + h*D + d] for j < nk (row stride Dp). */
__device__ __forceinline__ void load_tile(float *dst, int Dp, const float *qkv, size_t C3, int col0, int row0, int nk,
                                          int D) {
    for (int idx = (int)threadIdx.x; idx < nk * D; idx += ATT_THREADS) {
        int j = idx / D, d = idx % D;
        dst[j * Dp + d] = qkv[(size_t)(row0 + j) * C3 + (size_t)col0 + d];
    }
}

/* Scores of the tile against key rows k0.. : S[qi, k0 + j] = sum_d A[qi, d] * KV[j, d].
   Thread t owns key j = t % ATT_KT for rows t / ATT_KT + r * ATT_SROWS: each key value
   loaded from shared memory serves ATT_QT / ATT_SROWS rows (rows >= nqt are computed from
   unused shared memory and dropped). */
#define ATT_SROWS (ATT_THREADS / ATT_KT)
__device__ __forceinline__ void tile_scores(float *S, int len, const float *A, int D, const float *KV, int Dp, int k0,
                                            int nk, int nqt) {
    const int j = (int)threadIdx.x % ATT_KT, q0 = (int)threadIdx.x / ATT_KT;
    if (j >= nk) {
        return;
    }
    float acc[ATT_QT / ATT_SROWS];
#pragma unroll
    for (int r = 0; r < ATT_QT / ATT_SROWS; r++) {
        acc[r] = 0.0f;
    }
    const float *kr = KV + j * Dp;
    for (int d = 0; d < D; d++) {
        const float k = kr[d];
#pragma unroll
        for (int r = 0; r < ATT_QT / ATT_SROWS; r++) {
            acc[r] = fmaf(A[(q0 + r * ATT_SROWS) * D + d], k, acc[r]);
        }
    }
#pragma unroll
    for (int r = 0; r < ATT_QT / ATT_SROWS; r++) {
        const int qi = q0 + r * ATT_SROWS;
        if (qi < nqt) {
            S[qi * len + k0 + j] = acc[r];
        }
    }
}

/* acc[r] += sum_j S[qi, k0 + j] * KV[j, d] for this thread's outputs idx = t + r * THREADS,
   (qi, d) = (idx / D, idx % D). When D divides the thread count, d is the same for every r,
   so each value of KV is loaded once for all of the thread's rows. */
__device__ __forceinline__ void tile_accumulate(float acc[ATT_OUTS], const float *S, int len, const float *KV, int Dp,
                                                int k0, int nk, int nqt, int D) {
    const int tid = (int)threadIdx.x;
    if (ATT_THREADS % D == 0) {
        const int d = tid % D, qb = tid / D, step = ATT_THREADS / D;
        for (int j = 0; j < nk; j++) {
            const float v = KV[j * Dp + d];
            const float *sc = S + k0 + j;
#pragma unroll
            for (int r = 0; r < ATT_OUTS; r++) {
                const int qi = qb + r * step;
                if (qi < nqt) {
                    acc[r] = fmaf(sc[qi * len], v, acc[r]);
                }
            }
        }
        return;
    }
#pragma unroll
    for (int r = 0; r < ATT_OUTS; r++) {
        int idx = tid + r * ATT_THREADS;
        if (idx < nqt * D) {
            int qi = idx / D, d = idx % D;
            const float *sr = S + qi * len + k0;
            float a = acc[r];
            for (int j = 0; j < nk; j++) {
                a = fmaf(sr[j], KV[j * Dp + d], a);
            }
            acc[r] = a;
        }
    }
}

__global__ void __launch_bounds__(ATT_THREADS, 2)
    attention_forward_kernel(float *ctx, float *probs, const float *qkv, const int32_t *offsets,
                             const int64_t *sq_offsets, const uint32_t *example, int H, int D, int cls_only, float inv,
                             cuda_drop drop) {
    extern __shared__ float sm[];
    const int b = (int)blockIdx.z, h = (int)blockIdx.y, q0 = (int)blockIdx.x * ATT_QT;
    const int o = offsets[b], len = offsets[b + 1] - o;
    const int nq = cls_only ? 1 : len;
    if (q0 >= nq) {
        return;
    }
    const int nqt = min(ATT_QT, nq - q0);
    const int C = H * D, Dp = D | 1;
    const size_t C3 = 3 * (size_t)C;
    float *Qs = sm;                  /* [QT, D]   q / sqrt(D) */
    float *KV = Qs + ATT_QT * D;     /* [KT, Dp]  key or value tile */
    float *S = KV + ATT_KT * Dp;     /* [QT, len] scores -> exp -> dropped probs */
    const int tid = (int)threadIdx.x, warp = tid / 32, lane = tid % 32;
    const size_t pbase = probs_base(cls_only, H, h, o, len, sq_offsets[b]);
    const uint32_t ex = example[b];

    for (int idx = tid; idx < nqt * D; idx += ATT_THREADS) {
        int qi = idx / D, d = idx % D;
        Qs[qi * D + d] = qkv[(size_t)(o + q0 + qi) * C3 + (size_t)h * D + d] / inv; /* float q / sqrt(D), as HF */
    }
    for (int k0 = 0; k0 < len; k0 += ATT_KT) {
        const int nk = min(ATT_KT, len - k0);
        __syncthreads(); /* the previous tile is consumed */
        load_tile(KV, Dp, qkv, C3, C + h * D, o + k0, nk, D);
        __syncthreads();
        tile_scores(S, len, Qs, D, KV, Dp, k0, nk, nqt);
    }
    __syncthreads();
    for (int qi = warp; qi < nqt; qi += ATT_THREADS / 32) { /* softmax over keys, one warp per row */
        float *row = S + qi * len;
        float mx = -INFINITY;
        for (int j = lane; j < len; j += 32) {
            mx = fmaxf(mx, row[j]);
        }
        mx = warp_max_f(mx);
        float sum = 0.0f;
        for (int j = lane; j < len; j += 32) {
            float e = expf(row[j] - mx);
            row[j] = e;
            sum += e;
        }
        sum = warp_sum_f(sum);
        const int i = q0 + qi;
        float *P = probs + pbase + (size_t)i * len;
        for (int j = lane; j < len; j += 32) {
            float p = row[j] / sum;
            P[j] = p;
            row[j] = drop.on ? p * drop_mult(drop, ex, att_pos(drop, h, i, j)) : p;
        }
    }
    float acc[ATT_OUTS];
#pragma unroll
    for (int r = 0; r < ATT_OUTS; r++) {
        acc[r] = 0.0f;
    }
    for (int k0 = 0; k0 < len; k0 += ATT_KT) {
        const int nk = min(ATT_KT, len - k0);
        __syncthreads(); /* dropped probs complete / previous tile consumed */
        load_tile(KV, Dp, qkv, C3, 2 * C + h * D, o + k0, nk, D);
        __syncthreads();
        tile_accumulate(acc, S, len, KV, Dp, k0, nk, nqt, D);
    }
#pragma unroll
    for (int r = 0; r < ATT_OUTS; r++) {
        int idx = tid + r * ATT_THREADS;
        if (idx < nqt * D) {
            int qi = idx / D, d = idx % D;
            size_t crow = cls_only ? (size_t)b : (size_t)(o + q0 + qi);
            ctx[crow * C + (size_t)h * D + d] = acc[r];
        }
    }
}

/* Backward kernel 1: dS (to scratch, probs layout) and dQ for the tile's queries. */
__global__ void __launch_bounds__(ATT_THREADS, 2)
    attention_backward_q_kernel(float *dqkv, float *dS, const float *dctx, const float *qkv, const float *probs,
                                const int32_t *offsets, const int64_t *sq_offsets, const uint32_t *example, int H,
                                int D, int cls_only, float inv, cuda_drop drop) {
    extern __shared__ float sm[];
    const int b = (int)blockIdx.z, h = (int)blockIdx.y, q0 = (int)blockIdx.x * ATT_QT;
    const int o = offsets[b], len = offsets[b + 1] - o;
    const int nq = cls_only ? 1 : len;
    if (q0 >= nq) {
        return;
    }
    const int nqt = min(ATT_QT, nq - q0);
    const int C = H * D, Dp = D | 1;
    const size_t C3 = 3 * (size_t)C;
    float *dC = sm;                  /* [QT, D]   dctx rows of the tile */
    float *KV = dC + ATT_QT * D;     /* [KT, Dp]  value, then key tile */
    float *G = KV + ATT_KT * Dp;     /* [QT, len] dPd -> dP -> dS */
    const int tid = (int)threadIdx.x, warp = tid / 32, lane = tid % 32;
    const size_t pbase = probs_base(cls_only, H, h, o, len, sq_offsets[b]);
    const uint32_t ex = example[b];

    for (int idx = tid; idx < nqt * D; idx += ATT_THREADS) {
        int qi = idx / D, d = idx % D;
        size_t crow = cls_only ? (size_t)b : (size_t)(o + q0 + qi);
        dC[qi * D + d] = dctx[crow * C + (size_t)h * D + d];
    }
    for (int k0 = 0; k0 < len; k0 += ATT_KT) { /* dPd = dctx V^T */
        const int nk = min(ATT_KT, len - k0);
        __syncthreads();
        load_tile(KV, Dp, qkv, C3, 2 * C + h * D, o + k0, nk, D);
        __syncthreads();
        tile_scores(G, len, dC, D, KV, Dp, k0, nk, nqt);
    }
    __syncthreads();
    for (int qi = warp; qi < nqt; qi += ATT_THREADS / 32) {
        const int i = q0 + qi;
        float *row = G + qi * len;
        const float *P = probs + pbase + (size_t)i * len;
        double dot = 0.0;
        for (int j = lane; j < len; j += 32) {
            float dp = row[j];
            if (drop.on) {
                dp *= drop_mult(drop, ex, att_pos(drop, h, i, j)); /* gradient w.r.t. P */
            }
            row[j] = dp;
            dot += (double)P[j] * dp;
        }
        dot = warp_sum_d(dot);
        float *dSrow = dS + pbase + (size_t)i * len;
        for (int j = lane; j < len; j += 32) {
            float ds = (float)((double)P[j] * ((double)row[j] - dot));
            row[j] = ds;
            dSrow[j] = ds;
        }
    }
    float acc[ATT_OUTS];
#pragma unroll
    for (int r = 0; r < ATT_OUTS; r++) {
        acc[r] = 0.0f;
    }
    for (int k0 = 0; k0 < len; k0 += ATT_KT) { /* dQ = dS K */
        const int nk = min(ATT_KT, len - k0);
        __syncthreads();
        load_tile(KV, Dp, qkv, C3, C + h * D, o + k0, nk, D);
        __syncthreads();
        tile_accumulate(acc, G, len, KV, Dp, k0, nk, nqt, D);
    }
#pragma unroll
    for (int r = 0; r < ATT_OUTS; r++) {
        int idx = tid + r * ATT_THREADS;
        if (idx < nqt * D) {
            int qi = idx / D, d = idx % D;
            dqkv[(size_t)(o + q0 + qi) * C3 + (size_t)h * D + d] = acc[r] / inv;
        }
    }
}

/* Backward kernel 2: dK, dV of ATT_KT2 key rows over all queries; zero dQ rows of
   queries that were not computed (cls_only). */
__global__ void __launch_bounds__(ATT_THREADS, 2)
    attention_backward_kv_kernel(float *dqkv, const float *dS, const float *dctx, const float *qkv, const float *probs,
                                 const int32_t *offsets, const int64_t *sq_offsets, const uint32_t *example, int H,
                                 int D, int cls_only, float inv, cuda_drop drop) {
    extern __shared__ float sm[];
    const int b = (int)blockIdx.z, h = (int)blockIdx.y, j0 = (int)blockIdx.x * ATT_KT2;
    const int o = offsets[b], len = offsets[b + 1] - o;
    if (j0 >= len) {
        return;
    }
    const int nkk = min(ATT_KT2, len - j0);
    const int nq = cls_only ? 1 : len;
    const int C = H * D, Dp = D | 1;
    const size_t C3 = 3 * (size_t)C;
    float *Qc = sm;                  /* [QC, Dp]  q / sqrt(D) */
    float *Dc = Qc + ATT_QC * Dp;    /* [QC, Dp]  dctx */
    float *dSt = Dc + ATT_QC * Dp;   /* [QC, KT2] dS of (query, key) */
    float *Pdt = dSt + ATT_QC * ATT_KT2; /* [QC, KT2] dropped probs */
    const int tid = (int)threadIdx.x;
    const size_t pbase = probs_base(cls_only, H, h, o, len, sq_offsets[b]);
    const uint32_t ex = example[b];
    float ak[ATT_OUTS2], av[ATT_OUTS2];
#pragma unroll
    for (int r = 0; r < ATT_OUTS2; r++) {
        ak[r] = 0.0f;
        av[r] = 0.0f;
    }
    for (int i0 = 0; i0 < nq; i0 += ATT_QC) {
        const int ni = min(ATT_QC, nq - i0);
        __syncthreads(); /* the previous chunk is consumed */
        for (int idx = tid; idx < ni * D; idx += ATT_THREADS) {
            int ii = idx / D, d = idx % D;
            Qc[ii * Dp + d] = qkv[(size_t)(o + i0 + ii) * C3 + (size_t)h * D + d] / inv;
            size_t crow = cls_only ? (size_t)b : (size_t)(o + i0 + ii);
            Dc[ii * Dp + d] = dctx[crow * C + (size_t)h * D + d];
        }
        for (int idx = tid; idx < ni * ATT_KT2; idx += ATT_THREADS) {
            int ii = idx / ATT_KT2, jj = idx % ATT_KT2;
            float ds = 0.0f, pd = 0.0f;
            if (jj < nkk) {
                int i = i0 + ii, j = j0 + jj;
                size_t at = pbase + (size_t)i * len + j;
                ds = dS[at];
                pd = probs[at];
                if (drop.on) {
                    pd *= drop_mult(drop, ex, att_pos(drop, h, i, j));
                }
            }
            dSt[ii * ATT_KT2 + jj] = ds;
            Pdt[ii * ATT_KT2 + jj] = pd;
        }
        __syncthreads();
        if (ATT_THREADS % D == 0) { /* d is the same for all r: load q and dctx once */
            const int d = tid % D, jb = tid / D, step = ATT_THREADS / D;
            for (int ii = 0; ii < ni; ii++) {
                const float q = Qc[ii * Dp + d], c = Dc[ii * Dp + d];
#pragma unroll
                for (int r = 0; r < ATT_OUTS2; r++) {
                    const int jj = jb + r * step;
                    if (jj < nkk) {
                        ak[r] = fmaf(dSt[ii * ATT_KT2 + jj], q, ak[r]);
                        av[r] = fmaf(Pdt[ii * ATT_KT2 + jj], c, av[r]);
                    }
                }
            }
        } else {
#pragma unroll
            for (int r = 0; r < ATT_OUTS2; r++) {
                int idx = tid + r * ATT_THREADS;
                if (idx < nkk * D) {
                    int jj = idx / D, d = idx % D;
                    float k = ak[r], v = av[r];
                    for (int ii = 0; ii < ni; ii++) {
                        k = fmaf(dSt[ii * ATT_KT2 + jj], Qc[ii * Dp + d], k);
                        v = fmaf(Pdt[ii * ATT_KT2 + jj], Dc[ii * Dp + d], v);
                    }
                    ak[r] = k;
                    av[r] = v;
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < ATT_OUTS2; r++) {
        int idx = tid + r * ATT_THREADS;
        if (idx < nkk * D) {
            int jj = idx / D, d = idx % D;
            float *row = dqkv + (size_t)(o + j0 + jj) * C3 + (size_t)h * D + d;
            row[C] = ak[r];
            row[2 * C] = av[r];
            if (j0 + jj >= nq) {
                row[0] = 0.0f; /* no query computed at this row: dq = 0 */
            }
        }
    }
}

/* Checks the dynamic shared memory of a launch and opts in above 48 KiB. */
static int smem_ok(cuda_backend *cb, const void *kernel, size_t smem, const char *what, int max_len, int D) {
    if (smem > cb->smem_optin) {
        cuda_set_error(cb, MRPC_ERR_UNSUPPORTED,
                       "%s: sequences of %d tokens with head size %d need %zu bytes of shared memory, the device "
                       "has %zu",
                       what, max_len, D, smem, cb->smem_optin);
        return 0;
    }
    if (smem > 48u * 1024u) {
        CUDA_CHECK(&cb->error, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
                   return 0);
    }
    return 1;
}

/* Common argument checks; the device copy of s or NULL. */
static const cuda_seqs_dev *attention_begin(cuda_backend *cb, const mrpc_seqs *s, int H, int D) {
    if (cuda_failed(cb) || s->n_tok < 1 || s->n_seq < 1) {
        return NULL;
    }
    if (H < 1 || D < 1 || D > ATT_MAXD) {
        cuda_set_error(cb, MRPC_ERR_UNSUPPORTED, "attention: head size %d outside 1..%d (CUDA kernels)", D, ATT_MAXD);
        return NULL;
    }
    return cuda_seqs(cb, s);
}

extern "C" void cuda_attention_forward(mrpc_backend *be, float *ctx, float *probs, const float *qkv, const mrpc_seqs *s,
                                       int H, int D, int cls_only, const mrpc_dropout *drop) {
    cuda_backend *cb = (cuda_backend *)be;
    const cuda_seqs_dev *sd = attention_begin(cb, s, H, D);
    if (!sd) {
        return;
    }
    size_t smem = sizeof(float) * ((size_t)ATT_QT * D + (size_t)ATT_KT * (D | 1) + (size_t)ATT_QT * s->max_len);
    if (!smem_ok(cb, (const void *)attention_forward_kernel, smem, "attention_forward", s->max_len, D)) {
        return;
    }
    const float inv = (float)sqrt((double)D);
    const int nq_max = cls_only ? 1 : s->max_len;
    dim3 grid((unsigned)((nq_max + ATT_QT - 1) / ATT_QT), (unsigned)H, (unsigned)s->n_seq);
    attention_forward_kernel<<<grid, ATT_THREADS, smem, cb->stream>>>(ctx, probs, qkv, sd->offsets, sd->sq_offsets,
                                                                      sd->example, H, D, cls_only ? 1 : 0, inv,
                                                                      cuda_drop_make(drop));
    LAUNCH_CHECK(cb, return);
}

extern "C" void cuda_attention_backward(mrpc_backend *be, float *dqkv, const float *dctx, const float *qkv,
                                        const float *probs, const mrpc_seqs *s, int H, int D, int cls_only,
                                        const mrpc_dropout *drop) {
    cuda_backend *cb = (cuda_backend *)be;
    const cuda_seqs_dev *sd = attention_begin(cb, s, H, D);
    if (!sd) {
        return;
    }
    size_t n_probs = cls_only ? (size_t)H * s->n_tok : (size_t)H * (size_t)s->sq_offsets[s->n_seq];
    if (!cuda_grow(cb, (void **)&cb->att, &cb->att_cap, sizeof(float) * n_probs)) {
        return;
    }
    size_t smem1 = sizeof(float) * ((size_t)ATT_QT * D + (size_t)ATT_KT * (D | 1) + (size_t)ATT_QT * s->max_len);
    size_t smem2 = sizeof(float) * (2 * (size_t)ATT_QC * (D | 1) + 2 * (size_t)ATT_QC * ATT_KT2);
    if (!smem_ok(cb, (const void *)attention_backward_q_kernel, smem1, "attention_backward", s->max_len, D) ||
        !smem_ok(cb, (const void *)attention_backward_kv_kernel, smem2, "attention_backward", s->max_len, D)) {
        return;
    }
    const float inv = (float)sqrt((double)D);
    const cuda_drop dr = cuda_drop_make(drop);
    const int nq_max = cls_only ? 1 : s->max_len;
    dim3 grid1((unsigned)((nq_max + ATT_QT - 1) / ATT_QT), (unsigned)H, (unsigned)s->n_seq);
    attention_backward_q_kernel<<<grid1, ATT_THREADS, smem1, cb->stream>>>(
        dqkv, cb->att, dctx, qkv, probs, sd->offsets, sd->sq_offsets, sd->example, H, D, cls_only ? 1 : 0, inv, dr);
    LAUNCH_CHECK(cb, return);
    dim3 grid2((unsigned)((s->max_len + ATT_KT2 - 1) / ATT_KT2), (unsigned)H, (unsigned)s->n_seq);
    attention_backward_kv_kernel<<<grid2, ATT_THREADS, smem2, cb->stream>>>(
        dqkv, cb->att, dctx, qkv, probs, sd->offsets, sd->sq_offsets, sd->example, H, D, cls_only ? 1 : 0, inv, dr);
    LAUNCH_CHECK(cb, return);
}

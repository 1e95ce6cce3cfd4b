/*
 * cpu_attention.c — fast multi-head self-attention over packed sequences.
 *
 * Parallel over (sequence, head) pairs, one small single-threaded GEMM per product per
 * thread (a single library call on 128x128x64 scales badly; cpu-ceilings.md). Each pair
 * writes its own block of probs, ctx and dqkv, so a dynamic schedule stays deterministic.
 *
 * Per pair (b, h), len = len_b, nq = len (or 1 with cls_only), Q = the head's q columns
 * of the first nq rows, K/V = its k/v columns of rows o_b..o_b+len-1 (row stride 3C):
 *   forward:  P = softmax(Q K^T / sqrt(D))  (written straight into the probs block)
 *             Pd = P * M (M = dropout multipliers, recomputed from Philox)
 *             ctx = Pd V
 *   backward: dV = Pd^T dctx;  dP = (dctx V^T) * M;  dS = P (dP - rowsum(P dP))
 *             dQ = dS K / sqrt(D);  dK = dS^T Q / sqrt(D)
 */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "cpu_internal.h"


/* Per-thread scratch of 2 * max_len^2 floats; NULL on failure (error recorded). */
static float *thread_scratch(cpu_backend *cb, int max_len, size_t *per_thread) {
    *per_thread = 2 * (size_t)max_len * (size_t)max_len + 64;
    size_t need = sizeof(float) * *per_thread * (size_t)cb->base.n_threads;
    if (!cpu_grow(cb, (void **)&cb->scratch, &cb->scratch_bytes, need)) {
        return NULL;
    }
    return cb->scratch;
}

/* M[i, :] = dropout multipliers of row i (query i) of head h. M [nq, len]. */
static void dropout_matrix(float *M, const mrpc_dropout *drop, uint32_t example, int h, int nq, int len) {
    uint32_t P = drop->max_pos;
    for (int i = 0; i < nq; i++) {
        uint32_t pos0 = ((uint32_t)h * P + (uint32_t)i) * P;
        cpu_vec_dropout_mults(M + (size_t)i * len, drop, example, pos0, len);
    }
}

void cpu_fast_attention_forward(mrpc_backend *be, float *ctx, float *probs, const float *qkv, const mrpc_seqs *s,
                                int H, int D, int cls_only, const mrpc_dropout *drop) {
    cpu_backend *cb = (cpu_backend *)be;
    size_t per;
    float *scr = thread_scratch(cb, s->max_len, &per);
    if (!scr) {
        return;
    }
    const int C = H * D, C3 = 3 * C;
    const float alpha = 1.0f / sqrtf((float)D);
    const int use_drop = drop && drop->p > 0.0f;
    const long items = (long)s->n_seq * H;
    /* one thread for tiny work (fork/join would cost more) */
    const int nt = (double)s->sq_offsets[s->n_seq] * H * D < 65536.0 ? 1 : be->n_threads;
#pragma omp parallel num_threads(nt)
    {
        float *M = scr + per * (size_t)omp_get_thread_num();          /* [len, len] multipliers */
        float *Pd = M + (size_t)s->max_len * s->max_len;               /* [len, len] dropped probs */
#pragma omp for schedule(dynamic, 1)
        for (long it = 0; it < items; it++) {
            int b = (int)(it / H), h = (int)(it % H);
            int o = s->offsets[b], len = s->offsets[b + 1] - o;
            const float *Q = qkv + (size_t)o * C3 + (size_t)h * D;     /* [len, D] ld 3C */
            const float *K = Q + C;
            const float *V = Q + 2 * C;
            int nq = cls_only ? 1 : len;
            float *P = cls_only ? probs + (size_t)H * o + (size_t)h * len                       /* [1, len] */
                                : probs + (size_t)H * s->sq_offsets[b] + (size_t)h * len * len; /* [len, len] */
            float *out = ctx + (cls_only ? (size_t)b : (size_t)o) * C + (size_t)h * D;          /* [nq, D] ld C */
            cpu_sgemm('N', 'T', nq, len, D, alpha, Q, C3, K, C3, 0.0f, P, len);
            for (int i = 0; i < nq; i++) {
                cpu_vec_softmax_row(P + (size_t)i * len, len);
            }
            const float *PV = P;
            if (use_drop) {
                dropout_matrix(M, drop, s->example[b], h, nq, len);
                cpu_vec_mul(Pd, P, M, (size_t)nq * len);
                PV = Pd;
            }
            cpu_sgemm('N', 'N', nq, D, len, 1.0f, PV, len, V, C3, 0.0f, out, C);
        }
    }
}

void cpu_fast_attention_backward(mrpc_backend *be, float *dqkv, const float *dctx, const float *qkv,
                                 const float *probs, const mrpc_seqs *s, int H, int D, int cls_only,
                                 const mrpc_dropout *drop) {
    cpu_backend *cb = (cpu_backend *)be;
    size_t per;
    float *scr = thread_scratch(cb, s->max_len, &per);
    if (!scr) {
        return;
    }
    const int C = H * D, C3 = 3 * C;
    const float alpha = 1.0f / sqrtf((float)D);
    const int use_drop = drop && drop->p > 0.0f;
    const long items = (long)s->n_seq * H;
    /* one thread for tiny work (fork/join would cost more) */
    const int nt = (double)s->sq_offsets[s->n_seq] * H * D < 65536.0 ? 1 : be->n_threads;
#pragma omp parallel num_threads(nt)
    {
        float *M = scr + per * (size_t)omp_get_thread_num();          /* [len, len] multipliers, then Pd */
        float *dP = M + (size_t)s->max_len * s->max_len;               /* [len, len] dP, then dS */
#pragma omp for schedule(dynamic, 1)
        for (long it = 0; it < items; it++) {
            int b = (int)(it / H), h = (int)(it % H);
            int o = s->offsets[b], len = s->offsets[b + 1] - o;
            const float *Q = qkv + (size_t)o * C3 + (size_t)h * D;     /* [len, D] ld 3C */
            const float *K = Q + C;
            const float *V = Q + 2 * C;
            int nq = cls_only ? 1 : len;
            const float *dC = dctx + (cls_only ? (size_t)b : (size_t)o) * C + (size_t)h * D; /* [nq, D] ld C */
            float *dQ = dqkv + (size_t)o * C3 + (size_t)h * D;
            float *dK = dQ + C;
            float *dV = dQ + 2 * C;
            const float *P = cls_only ? probs + (size_t)H * o + (size_t)h * len
                                      : probs + (size_t)H * s->sq_offsets[b] + (size_t)h * len * len; /* [nq, len] */
            /* dP = dctx V^T  (gradient w.r.t. the dropped probs) */
            cpu_sgemm('N', 'T', nq, len, D, 1.0f, dC, C, V, C3, 0.0f, dP, len);
            if (use_drop) {
                dropout_matrix(M, drop, s->example[b], h, nq, len);
                cpu_vec_mul(dP, dP, M, (size_t)nq * len);              /* dP = M * dPd */
                cpu_vec_mul(M, P, M, (size_t)nq * len);                /* M := Pd = P * M */
                cpu_sgemm('T', 'N', len, D, nq, 1.0f, M, len, dC, C, 0.0f, dV, C3);
            } else {
                cpu_sgemm('T', 'N', len, D, nq, 1.0f, P, len, dC, C, 0.0f, dV, C3);
            }
            for (int i = 0; i < nq; i++) {                             /* dS = P (dP - <P, dP>) */
                const float *p = P + (size_t)i * len;
                float *g = dP + (size_t)i * len;
                float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j < len; j++) {
                    dot += p[j] * g[j];
                }
#pragma omp simd
                for (int j = 0; j < len; j++) {
                    g[j] = p[j] * (g[j] - dot);
                }
            }
            cpu_sgemm('N', 'N', nq, D, len, alpha, dP, len, K, C3, 0.0f, dQ, C3);
            cpu_sgemm('T', 'N', len, D, nq, alpha, dP, len, Q, C3, 0.0f, dK, C3);
            for (int i = nq; i < len; i++) {                           /* queries not computed */
                memset(dQ + (size_t)i * C3, 0, sizeof(float) * (size_t)D);
            }
        }
    }
}

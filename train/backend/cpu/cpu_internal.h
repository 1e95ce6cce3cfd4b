/*
 * cpu_internal.h — what the CPU backend's files share (private to train/backend/cpu).
 */
#ifndef MRPC_BACKEND_CPU_INTERNAL_H
#define MRPC_BACKEND_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

typedef struct cpu_bf16_state cpu_bf16_state; /* cpu_bf16.c (oneDNN) */

/* The CPU backend object (both "cpu" and "cpu-ref"). */
typedef struct cpu_backend {
    mrpc_backend    base;
    mrpc_error      error;     /* first failure */
    int             has_error;
    /* per-thread scratch of the fast attention: n_threads blocks of scratch_per_thread floats */
    float          *scratch;
    size_t          scratch_bytes;
    /* bf16 scratch for GEMM operands (fast bf16 path) */
    void           *bf16_a, *bf16_b;
    size_t          bf16_a_bytes, bf16_b_bytes;
    void           *f32_out;   /* padded GEMM outputs of the bf16 path */
    size_t          f32_out_bytes;
    cpu_bf16_state *bf16;      /* NULL unless precision bf16 */
} cpu_backend;

/* Records the first error (later ones are dropped). */
void cpu_set_error(cpu_backend *cb, mrpc_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Shared slots: memory and errors (cpu_mem.c). */
mrpc_status cpu_get_error(mrpc_backend *be, mrpc_error *err);
void *cpu_alloc(mrpc_backend *be, size_t n_bytes);
void  cpu_free_mem(mrpc_backend *be, void *ptr);
void  cpu_copy(mrpc_backend *be, void *dst, const void *src, size_t n_bytes);
void  cpu_zero(mrpc_backend *be, void *dst, size_t n_bytes);
/* Grows a 64-byte aligned buffer to at least n_bytes (contents lost); 0 on failure. */
int   cpu_grow(cpu_backend *cb, void **buf, size_t *cap_bytes, size_t n_bytes);

/* Reference-loop ops shared with the fast backend where the reference is already fast
   enough (cpu_ref.c). */
void cpu_ref_crossentropy(mrpc_backend *be, float *losses, float *dlogits, const float *logits,
                          const int32_t *labels, int B, int L, float loss_scale);
void cpu_ref_gather_first(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int C);
void cpu_ref_gather_first_backward(mrpc_backend *be, float *dinp, const float *dout, const mrpc_seqs *s, int C);
void cpu_ref_relu_forward(mrpc_backend *be, float *out, const float *inp, size_t n);
void cpu_ref_relu_backward(mrpc_backend *be, float *dinp, const float *out, const float *dout, size_t n);

/* fp32 -> bf16 bits, round to nearest even (NaN stays NaN). */
uint16_t cpu_bf16_from_f32(float x);
/* bf16 bits -> fp32 (exact). */
float cpu_f32_from_bf16(uint16_t h);

/* ---- vectorised array kernels (cpu_vec.c; target_clones for AVX-512/AVX2) ---------- */
/* out = gelu(inp) with PyTorch's vectorised erf (Abramowitz-Stegun 7.1.26, |err| < 1.5e-7). */
void cpu_vec_gelu_forward(float *out, const float *inp, size_t n);
void cpu_vec_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
/* In-place softmax of one row with max subtraction, scaled exp; returns nothing. */
void cpu_vec_softmax_row(float *x, int n);
/* x[i] = exp(x[i] - m) summed; returns the sum (float). */
float cpu_vec_exp_sub_sum(float *x, int n, float m);
/* Dropout multipliers for `count` consecutive positions starting at `pos0` (pos0 % 4 == 0
   not required): mult[i] = mask(example, pos0 + i) ? scale : 0. */
void cpu_vec_dropout_mults(float *mult, const mrpc_dropout *d, uint32_t example, uint32_t pos0, int count);
/* The same with the path forced (tests): 0 best available, 1 portable vector code,
   2 scalar philox.h only. */
void cpu_vec_dropout_mults_path(float *mult, const mrpc_dropout *d, uint32_t example, uint32_t pos0, int count,
                                int path);
/* y[i] = x[i] * m[i] */
void cpu_vec_mul(float *y, const float *x, const float *m, size_t n);
/* out = a + b */
void cpu_vec_add(float *out, const float *a, const float *b, size_t n);
/* fp32 -> bf16 (round to nearest even), n elements */
void cpu_vec_to_bf16(uint16_t *dst, const float *src, size_t n);
/* fp32 -> bf16 of a strided matrix [rows, cols] with leading dimension ld into dense [rows, cols] */
void cpu_vec_to_bf16_2d(uint16_t *dst, const float *src, size_t rows, size_t cols, size_t ld);
/* dst = bf16-rounded src (as floats), strided [rows, cols] -> dense */
void cpu_vec_round_bf16_2d(float *dst, const float *src, size_t rows, size_t cols, size_t ld);
/* AdamW over a range (same arithmetic as train/optim/adamw.c) */
struct mrpc_adamw_consts;
void cpu_vec_adamw(float *p, const float *g, float *m, float *v, size_t n, const struct mrpc_adamw_consts *c);
/* sum of squares in double */
double cpu_vec_sumsq(const float *x, size_t n);
/* x *= s */
void cpu_vec_scale(float *x, size_t n, float s);

/* ---- GEMM (cpu_gemm.c) --------------------------------------------------------------- */
/* Row-major C[M,N] = alpha * op(A) op(B) + beta * C, op = transpose when trans* is 'T'.
   dnnl_sgemm when oneDNN is present, else cblas_sgemm (one OpenBLAS thread per OpenMP
   thread, rows of C split). Multi-threaded unless called from inside a parallel region
   (then single-threaded). */
void cpu_sgemm(char transa, char transb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);
/* db [OC] += column sums of dout [N,OC] (threads over columns, rows in order). */
void cpu_bias_grad(mrpc_backend *be, float *db, const float *dout, int N, int OC);
/* Puts OpenBLAS at one thread (its pthreads would fight OpenMP's; see cpu_gemm.c). */
void cpu_blas_init_threads(void);

/* ---- bf16 linear through oneDNN (cpu_bf16.c) ----------------------------------------- */
mrpc_status cpu_bf16_create(cpu_backend *cb, mrpc_error *err);
void cpu_bf16_free(cpu_backend *cb);
/* 1 when the bf16 GEMMs are emulated (oneDNN has no bf16 matmul on this CPU). */
int  cpu_bf16_emulated(const cpu_backend *cb);
/* Test mode of a bf16 backend: the oneDNN matmul code path (strides, bias, sum post-op,
   primitive cache, weight cache) with f32 operands, so it can be checked against the fp32
   reference on a CPU without bf16. Returns 0 when the build has no oneDNN. */
int  cpu_bf16_set_f32_check(mrpc_backend *be);
void cpu_bf16_weights_changed(mrpc_backend *be, const float *slab, size_t n_elems);
void cpu_bf16_linear_forward(mrpc_backend *be, float *out, const float *inp, const float *w, const float *b,
                             int N, int IC, int OC);
void cpu_bf16_linear_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                              const float *inp, const float *w, int N, int IC, int OC, int accumulate_dinp);

/* ---- fast attention (cpu_attention.c) ------------------------------------------------- */
void cpu_fast_attention_forward(mrpc_backend *be, float *ctx, float *probs, const float *qkv, const mrpc_seqs *s,
                                int H, int D, int cls_only, const mrpc_dropout *drop);
void cpu_fast_attention_backward(mrpc_backend *be, float *dqkv, const float *dctx, const float *qkv,
                                 const float *probs, const mrpc_seqs *s, int H, int D, int cls_only,
                                 const mrpc_dropout *drop);

/* ---- the two vtables --------------------------------------------------------------- */
extern const mrpc_backend_ops mrpc_cpu_ref_ops;
extern const mrpc_backend_ops mrpc_cpu_fast_ops;

#endif /* MRPC_BACKEND_CPU_INTERNAL_H */

/*
 * cuda_internal.h — what the CUDA backend's files share (private to train/backend/cuda).
 *
 * Included from C (cuda_backend.c, cuda_mem.c) and from CUDA C++ (the .cu op files), so
 * it holds C declarations only, wrapped in extern "C".
 *
 * Execution model: every op is enqueued on ONE stream (cb->stream, a blocking stream, so
 * it also orders with the legacy default stream) and returns at once; the ops that
 * return host values (sumsq, copy_to_host) wait for the stream. Scratch buffers are
 * reused across ops: stream order makes that safe, and a buffer is only freed after the
 * stream has drained (cuda_grow).
 */
#ifndef MRPC_CUDA_INTERNAL_H
#define MRPC_CUDA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "backend.h"
#include "cuda_check.h"

/* seqs_prepare keeps this many device copies in a ring (two per micro-batch: the
   sequences and the [CLS] rows); a seqs stays valid for 8 - 1 further prepares. */
#define CUDA_SEQS_SLOTS 8

/*
 * The device copy of one mrpc_seqs (what seqs->device points to). One device block
 * holds, in this order: offsets [B+1] int32, sq_offsets [B+1] int64 (8-aligned),
 * example [B] uint32 (zeros when the host had none), row_seq [N] int32 (the sequence of
 * each packed row).
 */
typedef struct cuda_seqs_dev {
    void           *block;     /* device allocation */
    size_t          cap_bytes;
    const int32_t  *offsets;   /* device [B+1] */
    const int64_t  *sq_offsets;/* device [B+1] */
    const uint32_t *example;   /* device [B] */
    const int32_t  *row_seq;   /* device [N] */
    /* identity of the host seqs it was made from (to detect a recycled slot) */
    const int32_t  *h_offsets;
    const int64_t  *h_sq;
    const uint32_t *h_example;
    int             n_seq, n_tok;
} cuda_seqs_dev;

/* The backend object. */
typedef struct cuda_backend {
    mrpc_backend   base;
    mrpc_error     error;        /* first failure (status MRPC_OK while none) */
    int            device;       /* CUDA ordinal */
    int            tf32;         /* fp32 GEMMs may use TF32 (MRPC_CUDA_ALLOW_TF32=1) */
    size_t         smem_optin;   /* max dynamic shared memory per block (opt-in) */
    cudaStream_t   stream;
    cublasHandle_t cublas;
    /* bf16 copy of the parameter slab (weights_changed), bf16 precision only */
    uint16_t      *w16;
    size_t         w16_cap;      /* bytes */
    const float   *w16_slab;     /* slab it mirrors, NULL when none */
    size_t         w16_n;        /* elements */
    /* scratch, grown on demand (cuda_grow) */
    uint16_t      *a16, *d16, *x16; /* bf16 GEMM operands: input, output gradient, weights */
    size_t         a16_cap, d16_cap, x16_cap;
    float         *ones;         /* [ones_n] 1.0f for the bias-gradient GEMV */
    size_t         ones_cap, ones_n;
    float         *att;          /* attention dS scratch (probs layout) */
    size_t         att_cap;
    double        *dpart;        /* reduction partials (layernorm dw/db, sumsq) */
    size_t         dpart_cap;
    int32_t       *iscr;         /* integer scratch (embedding backward links) */
    size_t         iscr_cap;
    /* seqs device copies */
    cuda_seqs_dev  slots[CUDA_SEQS_SLOTS];
    int            next_slot;
    void          *h_stage;      /* host staging for seqs uploads */
    size_t         h_stage_cap;
} cuda_backend;

/* Dropout parameters as the kernels take them (by value). on == 0: identity. */
typedef struct cuda_drop {
    int      on;
    float    p;
    float    scale;   /* 1.0f / (1.0f - p), computed on the host exactly as the CPU does */
    uint32_t key0, key1;
    uint32_t epoch, site, max_pos;
} cuda_drop;

/* ---- cuda_mem.c ---------------------------------------------------------------------- */

/* 1 when an error is already recorded (ops return early then). */
int  cuda_failed(const cuda_backend *cb);
/* Records a non-CUDA failure (bad argument, unsupported shape), first one wins. */
void cuda_set_error(cuda_backend *cb, mrpc_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Grows a device buffer to at least n_bytes (contents lost); waits for the stream before
   freeing the old one. Returns 0 (error recorded) on failure. */
int  cuda_grow(cuda_backend *cb, void **buf, size_t *cap_bytes, size_t n_bytes);
/* The device copy of s: the one seqs_prepare made when still valid, else a fresh upload
   into the ring. NULL (error recorded) on failure. */
const cuda_seqs_dev *cuda_seqs(cuda_backend *cb, const mrpc_seqs *s);
/* Fills a cuda_drop from an mrpc_dropout (NULL or p <= 0: off). */
cuda_drop cuda_drop_make(const mrpc_dropout *d);

/* memory and batch slots of the vtable */
void *cuda_alloc(mrpc_backend *be, size_t n_bytes);
void  cuda_free_mem(mrpc_backend *be, void *ptr);
void  cuda_copy_to_backend(mrpc_backend *be, void *dst, const void *host_src, size_t n_bytes);
void  cuda_copy_to_host(mrpc_backend *be, void *host_dst, const void *src, size_t n_bytes);
void  cuda_copy(mrpc_backend *be, void *dst, const void *src, size_t n_bytes);
void  cuda_zero(mrpc_backend *be, void *dst, size_t n_bytes);
void  cuda_seqs_prepare(mrpc_backend *be, mrpc_seqs *seqs);
/* Releases every scratch buffer and slot (backend free). */
void  cuda_mem_release(cuda_backend *cb);

#ifdef __cplusplus
}
#endif

#endif /* MRPC_CUDA_INTERNAL_H */

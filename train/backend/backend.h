/*
 * backend.h — the op boundary between the DistilBERT model and the hardware.
 *
 * A backend is a small vtable of ops in the ggml style (ggml-backend-impl.h): the model
 * (train/model) owns the parameter slab and the activation arena, both allocated through
 * the backend, and calls one op per layer piece. Every op works on *backend memory*
 * (host memory for the CPU backends, device pointers for CUDA) and on float32 unless said
 * otherwise. A CUDA backend implements the same slots with cuBLAS and kernels, and the op
 * tests (tests/unit/ops) compare any backend with the CPU reference loops op by op.
 *
 * Token layout: packed variable length ("varlen"). A batch of B sequences with lengths
 * len_b is stored without padding as N = sum len_b token rows; sequence b occupies rows
 * offsets[b] .. offsets[b+1]-1 and its token t is row offsets[b] + t. Padding never
 * reaches a backend: the key padding mask of HF DistilBERT (keys t >= len_b are filled
 * with finfo.min before the softmax, so they get probability exactly 0) becomes "keys of
 * other sequences are not looked at", and padded query rows (whose outputs HF computes
 * and never uses) are simply absent. Every result the model returns equals the padded
 * computation.
 *
 * Shapes below: N tokens, B sequences, C = dim, H heads, D = C / H head size, F hidden
 * dim, V vocab, P max positions, L labels. Matrices are row-major; nn.Linear weights are
 * [out, in] (y = x W^T + b).
 *
 * Gradients: ops named *_backward ACCUMULATE (+=) into parameter gradients (dw, db,
 * dwte, ...) and WRITE (=) input gradients (dinp), unless a flag says otherwise.
 *
 * Errors: ops return nothing. A backend that hits a failure (allocation, CUDA, oneDNN)
 * records the first one and keeps going as a no-op where it can; the model calls
 * get_error after each forward/backward/update and reports it. (Like CUDA's sticky
 * errors; it keeps the model code free of per-op checks.)
 *
 * Threads: ops may run in parallel inside (OpenMP, BLAS threads); the caller never
 * calls a backend from two threads at once.
 *
 * ---------------------------------------------------------------------------------
 * DROPOUT: the exact mask (the CUDA backend must reproduce it bit for bit)
 *
 * Inverted dropout with probability p (0 <= p < 1) multiplies element e by
 *     keep(e) ? scale : 0,       scale = 1.0f / (1.0f - p)   (float arithmetic)
 * where, with Philox4x32-10 of pipeline/core/philox.h,
 *     key  = { (uint32_t)seed, (uint32_t)(seed >> 32) }
 *     ctr  = { epoch, example, site, position >> 2 }
 *     bits = philox4x32(ctr, key)[position & 3]
 *     u    = (float)(bits >> 8) * 2^-24                 (mrpc_philox_uniform)
 *     keep = (u >= p)                                    (float compare)
 * p == 0 is the identity (no Philox call, no scaling). `example` is the example's
 * global index in the data set (the same on every rank and in every batch it lands in),
 * `epoch` the 0-based epoch, `seed` the run seed. Sites and positions, with positions in
 * the example's *unpadded* coordinates (t = token index in the example, c = feature):
 *
 *     site 0            embeddings output (after LayerNorm)   position t*C + c
 *     site 1            classifier dropout (pre_classifier ->   position c
 *                       ReLU -> dropout), [CLS] row only
 *     site 2 + 2*l      attention probabilities of layer l      position (h*P + i)*P + j
 *                       (query i, key j, head h; P = max_position_embeddings)
 *     site 3 + 2*l      FFN output (after lin2) of layer l      position t*C + c
 *
 * So a mask depends only on (seed, epoch, example, site, position): not on the batch it
 * is in, its padding, the rank, the thread count or the device. Masks are never stored:
 * backward ops recompute them from the same counters.
 * ---------------------------------------------------------------------------------
 */
#ifndef MRPC_BACKEND_H
#define MRPC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "adamw.h" /* mrpc_adamw_hparams */
#include "status.h"

/* Which implementation. Always add at the end. */
typedef enum mrpc_backend_kind {
    MRPC_BACKEND_CPU = 0,     /* fast CPU path: BLAS/oneDNN GEMMs, OpenMP */
    MRPC_BACKEND_CPU_REF = 1, /* plain reference loops (ground truth, slow) */
    MRPC_BACKEND_CUDA = 2     /* cuBLAS + kernels (not in this tree yet) */
} mrpc_backend_kind;

/* GEMM precision of the linear layers. Always add at the end. */
typedef enum mrpc_precision {
    MRPC_PRECISION_FP32 = 0, /* everything float32 */
    MRPC_PRECISION_BF16 = 1  /* linear-layer GEMM inputs rounded to bfloat16 (round to nearest
                                even), float32 accumulation and output; everything else,
                                master weights and optimizer state float32 */
} mrpc_precision;

/* Dropout sites (see the DROPOUT section above). */
#define MRPC_DROPOUT_SITE_EMBEDDINGS 0u
#define MRPC_DROPOUT_SITE_CLASSIFIER 1u
#define MRPC_DROPOUT_SITE_ATTENTION(l) (2u + 2u * (uint32_t)(l))
#define MRPC_DROPOUT_SITE_FFN(l) (3u + 2u * (uint32_t)(l))

/* One dropout application: probability, counters and the attention position stride. */
typedef struct mrpc_dropout {
    float    p;       /* drop probability, 0 <= p < 1; 0 disables */
    uint64_t seed;    /* run seed (Philox key) */
    uint32_t epoch;   /* counter word 0 */
    uint32_t site;    /* counter word 2: MRPC_DROPOUT_SITE_* */
    uint32_t max_pos; /* P, the position stride of attention sites */
} mrpc_dropout;

/*
 * The packed token layout of one (micro-)batch. Host arrays, owned by the caller; a
 * backend that needs device copies makes them in seqs_prepare and keeps them in `device`.
 * Fill with mrpc_seqs_build.
 */
typedef struct mrpc_seqs {
    int             n_seq;      /* B */
    int             n_tok;      /* N = offsets[B] */
    int             max_len;    /* max_b len_b */
    const int32_t  *offsets;    /* [B+1] first row of each sequence; offsets[0] = 0 */
    const int64_t  *sq_offsets; /* [B+1] prefix sums of len_b^2 (attention-prob layout) */
    const uint32_t *example;    /* [B] global example index (dropout counter word 1) */
    void           *device;     /* backend-private copy, NULL on the CPU */
} mrpc_seqs;

typedef struct mrpc_backend mrpc_backend;

/*
 * The op table. Slots marked (optional) may be NULL; the comment says what the model does
 * then. Every other slot is required. Pointer arguments are backend memory unless they
 * say "host".
 */
typedef struct mrpc_backend_ops {
    /* ---- lifecycle, errors ------------------------------------------------------ */
    /* Releases the backend and everything it allocated. */
    void (*free)(mrpc_backend *be);
    /* Returns the first recorded failure (MRPC_OK if none) and copies its record into err
       (may be NULL). The error stays set. */
    mrpc_status (*get_error)(mrpc_backend *be, mrpc_error *err);
    /* (optional) Waits until all queued ops are done (CUDA). NULL: ops are synchronous. */
    void (*synchronize)(mrpc_backend *be);

    /* ---- memory ----------------------------------------------------------------- */
    /* n_bytes of backend memory, zero-filled, 64-byte aligned; NULL (and a recorded error)
       on failure. */
    void *(*alloc)(mrpc_backend *be, size_t n_bytes);
    /* Frees alloc'd memory; NULL is a no-op. */
    void (*free_mem)(mrpc_backend *be, void *ptr);
    /* Host -> backend, backend -> host, backend -> backend copies of n_bytes. */
    void (*copy_to_backend)(mrpc_backend *be, void *dst, const void *host_src, size_t n_bytes);
    void (*copy_to_host)(mrpc_backend *be, void *host_dst, const void *src, size_t n_bytes);
    void (*copy)(mrpc_backend *be, void *dst, const void *src, size_t n_bytes);
    /* Sets n_bytes to zero. */
    void (*zero)(mrpc_backend *be, void *dst, size_t n_bytes);

    /* ---- batch layout, weights ---------------------------------------------------- */
    /* (optional) Makes a backend copy of seqs' host arrays (stored in seqs->device) before
       the ops of a micro-batch run; NULL: ops read the host arrays. */
    void (*seqs_prepare)(mrpc_backend *be, mrpc_seqs *seqs);
    /* (optional) Tells the backend that the parameter slab [n_elems] changed (init, load,
       optimizer step). A backend that keeps derived weights (bf16 copies, packed GEMM
       layouts) for linear ops whose `w` points into this slab drops or refreshes them.
       NULL: the backend keeps nothing derived. */
    void (*weights_changed)(mrpc_backend *be, const float *slab, size_t n_elems);

    /* ---- embeddings --------------------------------------------------------------- */
    /* out[n,:] = wte[ids[n],:] + wpe[t,:], t = n - offsets[b] for the row's sequence b.
       out [N,C], ids [N] (int32, < V), wte [V,C], wpe [P,C]. */
    void (*embedding_forward)(mrpc_backend *be, float *out, const int32_t *ids, const float *wte,
                              const float *wpe, const mrpc_seqs *s, int C);
    /* dwte[ids[n],:] += dout[n,:] except where ids[n] == pad_id (nn.Embedding padding_idx:
       the pad row never gets a gradient); dwpe[t,:] += dout[n,:]. dwte [V,C], dwpe [P,C]. */
    void (*embedding_backward)(mrpc_backend *be, float *dwte, float *dwpe, const float *dout,
                               const int32_t *ids, const mrpc_seqs *s, int C, int pad_id);

    /* ---- layer norm (eps 1e-12, biased variance) ------------------------------------ */
    /* out[n,:] = (inp[n,:] - mean_n) * rstd_n * w + b; saves mean [N], rstd [N].
       out, inp [N,C]; w, b [C]. out must not alias inp. */
    void (*layernorm_forward)(mrpc_backend *be, float *out, float *mean, float *rstd, const float *inp,
                              const float *w, const float *b, int N, int C);
    /* dinp = (write) gradient w.r.t. inp; dw += sum_n dout*xhat; db += sum_n dout.
       dinp, dout, inp [N,C]. dinp may alias dout. */
    void (*layernorm_backward)(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                               const float *inp, const float *w, const float *mean, const float *rstd,
                               int N, int C);

    /* ---- linear: y = x W^T + b ------------------------------------------------------ */
    /* out [N,OC] = inp [N,IC] . w[OC,IC]^T + b[OC] (b may be NULL). In bf16 precision inp
       and w are rounded to bf16, the products accumulated in float32. */
    void (*linear_forward)(mrpc_backend *be, float *out, const float *inp, const float *w, const float *b,
                           int N, int IC, int OC);
    /* dinp [N,IC] = dout . w (accumulate_dinp ? += : =; dinp may be NULL to skip);
       dw [OC,IC] += dout^T . inp; db [OC] += sum_n dout (db may be NULL). */
    void (*linear_backward)(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                            const float *inp, const float *w, int N, int IC, int OC, int accumulate_dinp);

    /* ---- attention ------------------------------------------------------------------ */
    /* Multi-head self-attention inside each sequence. qkv [N,3C] holds q | k | v per row
       (head h uses columns h*D..h*D+D-1 of each third). For each sequence b, head h:
           S = (q / sqrt(D)) k^T            [nq, len_b]  (q scaled first, as HF)
           probs = softmax(S) over keys     (saved, before dropout)
           ctx = dropout(probs) v           [nq, D] -> ctx rows, columns h*D..
       with nq = len_b queries, or nq = 1 (the [CLS] query t = 0 only) when cls_only.
       Layouts, row-major [query, key]:
         cls_only = 0: ctx [N,C]; probs of (b, h) at probs + H*sq_offsets[b] + h*len_b^2,
                       H*sq_offsets[B] floats in all;
         cls_only = 1: ctx [B,C] (row b); probs of (b, h) at probs + H*offsets[b] + h*len_b,
                       H*N floats in all.
       drop: the layer's attention site (positions as for the full computation). */
    void (*attention_forward)(mrpc_backend *be, float *ctx, float *probs, const float *qkv, const mrpc_seqs *s,
                              int H, int D, int cls_only, const mrpc_dropout *drop);
    /* dqkv [N,3C] (write, every element) from dctx ([N,C], or [B,C] when cls_only), the
       saved probs and qkv, same dropout. With cls_only the q part is 0 except t = 0. */
    void (*attention_backward)(mrpc_backend *be, float *dqkv, const float *dctx, const float *qkv,
                               const float *probs, const mrpc_seqs *s, int H, int D, int cls_only,
                               const mrpc_dropout *drop);

    /* ---- elementwise ------------------------------------------------------------------ */
    /* out = 0.5 x (1 + erf(x / sqrt 2)) (exact GELU). out may alias inp. [n] */
    void (*gelu_forward)(mrpc_backend *be, float *out, const float *inp, size_t n);
    /* dinp = dout * gelu'(inp), gelu'(x) = 0.5 (1 + erf(x/sqrt2)) + x exp(-x^2/2)/sqrt(2 pi).
       dinp may alias dout. [n] */
    void (*gelu_backward)(mrpc_backend *be, float *dinp, const float *inp, const float *dout, size_t n);
    /* out = max(x, 0). out may alias inp. [n] */
    void (*relu_forward)(mrpc_backend *be, float *out, const float *inp, size_t n);
    /* dinp = out > 0 ? dout : 0, where out is the forward output. dinp may alias dout. [n] */
    void (*relu_backward)(mrpc_backend *be, float *dinp, const float *out, const float *dout, size_t n);
    /* out = a + b (residual). out may alias a or b. [n] */
    void (*add)(mrpc_backend *be, float *out, const float *a, const float *b, size_t n);
    /* out[n,c] = inp[n,c] * mask(example_b, position t*row_len + c) for the rows of s
       (t = row's token index in its sequence). Forward and backward are the same call
       (backward passes dout/dinp). out may alias inp. [N, row_len] */
    void (*dropout)(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int row_len,
                    const mrpc_dropout *drop);
    /* out[b,:] = inp[offsets[b],:] (the [CLS] row). out [B,C], inp [N,C]. */
    void (*gather_first)(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int C);
    /* dinp = 0 except dinp[offsets[b],:] = dout[b,:]. dinp [N,C] (write), dout [B,C]. */
    void (*gather_first_backward)(mrpc_backend *be, float *dinp, const float *dout, const mrpc_seqs *s, int C);

    /* ---- loss ----------------------------------------------------------------------- */
    /* Per-example cross-entropy: losses[b] = logsumexp(logits[b,:]) - logits[b,labels[b]]
       (float32, [B]); when dlogits is not NULL, dlogits[b,:] = (softmax(logits[b,:]) -
       onehot(labels[b])) * loss_scale (write). labels [B] int32 in [0, L). */
    void (*crossentropy)(mrpc_backend *be, float *losses, float *dlogits, const float *logits,
                         const int32_t *labels, int B, int L, float loss_scale);

    /* ---- optimizer ------------------------------------------------------------------ */
    /* Returns sum_i x[i]^2 accumulated in double (host value); the global gradient norm is
       sqrt of this over the whole gradient slab. */
    double (*sumsq)(mrpc_backend *be, const float *x, size_t n);
    /* x *= s. [n] */
    void (*scale)(mrpc_backend *be, float *x, size_t n, float s);
    /* One fused torch.optim.AdamW update of p [n] with gradient g, moments m, v (see
       train/optim/adamw.h for the exact arithmetic). */
    void (*adamw)(mrpc_backend *be, float *p, const float *g, float *m, float *v, size_t n,
                  const mrpc_adamw_hparams *hp);
} mrpc_backend_ops;

/* A backend: its op table plus what every backend has. Backends embed this first. */
struct mrpc_backend {
    const mrpc_backend_ops *ops;
    mrpc_backend_kind       kind;
    mrpc_precision          precision;
    int                     n_threads;
    int                     host_memory; /* 1: backend memory is ordinary host memory (CPU), so
                                            callers may read and write it directly */
    const char             *name; /* "cpu", "cpu-ref", "cuda" (static string) */
};

/* Options for mrpc_backend_create. */
typedef struct mrpc_backend_options {
    mrpc_backend_kind kind;      /* MRPC_BACKEND_CPU, _CPU_REF, _CUDA */
    mrpc_precision    precision; /* fp32 or bf16 */
    int               n_threads; /* CPU threads (OpenMP and BLAS); <= 0: all available */
    int               device;    /* CUDA device ordinal; ignored on the CPU */
} mrpc_backend_options;

/*
 * Creates a backend. MRPC_ERR_UNSUPPORTED when this build lacks the kind (CUDA) or the
 * precision (bf16 needs oneDNN: "bf16 unsupported in this build"). The caller frees it
 * with mrpc_backend_free.
 *
 * The CPU backend sets the process-wide OpenMP thread count to n_threads (oneDNN follows
 * it) and OpenBLAS to one thread (GEMMs split their rows over the OpenMP threads instead:
 * two thread pools on the same cores oversubscribe them); do not mix CPU backends with
 * different thread counts in one process at the same time.
 */
mrpc_status mrpc_backend_create(const mrpc_backend_options *opts, mrpc_backend **out, mrpc_error *err);

/* Frees a backend; NULL is a no-op. */
void mrpc_backend_free(mrpc_backend *be);

/* "fp32" / "bf16"; parse returns 1 on success. */
const char *mrpc_precision_name(mrpc_precision p);
int         mrpc_precision_parse(const char *s, mrpc_precision *out);

/*
 * Fills a mrpc_seqs from host lengths: offsets [B+1], sq_offsets [B+1] (caller-provided
 * arrays), example = `example` (kept as a pointer). Returns MRPC_ERR_INVALID (naming the
 * row) when a length is < 1.
 */
mrpc_status mrpc_seqs_build(mrpc_seqs *s, int n_seq, const int32_t *lengths, const uint32_t *example,
                            int32_t *offsets, int64_t *sq_offsets, mrpc_error *err);

/* The dropout multiplier (0 or scale) of one element, by the rule above (host code; tests
   and reference loops use it). */
float mrpc_dropout_mult(const mrpc_dropout *d, uint32_t example, uint32_t position);

#endif /* MRPC_BACKEND_H */

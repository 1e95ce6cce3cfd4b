/*
 * model.h — DistilBertForSequenceClassification over a backend (train/backend/backend.h).
 *
 * The model is HF's, exactly (shared/docs/distilbert-mrpc-facts.md sections 2-3):
 * word + learned position embeddings -> LayerNorm(1e-12) -> dropout; n_layers post-LN
 * blocks (q/k/v linear, scaled QK^T with key padding mask, softmax, dropout on the
 * probabilities, context, out_lin, residual + sa_layer_norm, lin1 -> erf GELU -> lin2 ->
 * dropout, residual + output_layer_norm); head: [CLS] hidden -> pre_classifier -> ReLU ->
 * dropout(seq_classif) -> classifier; per-example cross-entropy.
 *
 * Memory, all allocated once at creation through the backend:
 *   - ONE float slab of parameters, with a table of named views carrying the HF tensor
 *     names and nn.Linear layout [out, in] (mrpc_model_views);
 *   - a gradient slab with the same layout (one flat buffer for the all-reduce);
 *   - AdamW m and v slabs with the same layout;
 *   - one activation arena sized for one micro-batch (see chunk_tokens).
 *
 * Batches come padded ([B, T] ids with the pad id after each row's length, as a data
 * loader makes them); the model packs the valid tokens (backend.h "token layout"), so
 * padding costs nothing and results do not depend on T. A batch larger than the arena
 * is processed as consecutive micro-batches of whole sequences whose gradients add up
 * in the gradient slab (the same sum, up to float summation order).
 *
 * Training loop, one optimizer step on one rank:
 *
 *     mrpc_model_zero_grad(m);
 *     for each of this rank's micro-batches (or the whole local batch):
 *         batch.loss_scale = 1.0 / global_batch_size;
 *         mrpc_model_forward_backward(m, &batch, &loss_sum, preds, &err);
 *     all-reduce(mrpc_model_grads(m, &n), n)                 (sum over ranks)
 *     norm = mrpc_model_clip_grad_norm(m, max_grad_norm);    (NaN guard on norm)
 *     hp.lr = mrpc_lr_linear_at_update(lr, k, warmup, total); hp.step = k;
 *     mrpc_model_adamw_step(m, &hp, &err);
 */
#ifndef MRPC_MODEL_H
#define MRPC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "adamw.h"
#include "backend.h"
#include "status.h"

/* Architecture (HF DistilBertConfig field names in comments). */
typedef struct mrpc_model_dims {
    int    dim;               /* dim: 768 */
    int    n_layers;          /* n_layers: 6 */
    int    n_heads;           /* n_heads: 12 (dim % n_heads == 0) */
    int    hidden_dim;        /* hidden_dim: 3072 */
    int    vocab_size;        /* vocab_size: 30522 */
    int    max_positions;     /* max_position_embeddings: 512 */
    int    num_labels;        /* num_labels: 2 */
    int    pad_id;            /* pad_token_id: 0 (padding_idx of the word embeddings) */
    double initializer_range; /* initializer_range: 0.02 */
} mrpc_model_dims;

/* Dropout probabilities (HF: dropout, attention_dropout, seq_classif_dropout). */
typedef struct mrpc_model_dropouts {
    double hidden;     /* embeddings and FFN output: 0.1 */
    double attention;  /* attention probabilities: 0.1 */
    double classifier; /* classification head: 0.2 */
} mrpc_model_dropouts;

/* How to build the model. Zero-initialise and set what you need. */
typedef struct mrpc_model_options {
    mrpc_backend_kind backend;      /* MRPC_BACKEND_CPU (default 0), _CPU_REF, _CUDA */
    mrpc_precision    precision;    /* fp32 (default) or bf16 */
    int               n_threads;    /* CPU threads; <= 0: all cores */
    int               max_batch;    /* largest B passed to forward_* (required, >= 1) */
    int               max_seq;      /* largest T passed to forward_* (required, <= max_positions) */
    int               chunk_tokens; /* micro-batch budget in tokens; 0: default 1024 (at least
                                       max_seq); the activation arena is sized for this */
    int               no_prune;     /* 1: compute the last layer for every token (testing);
                                       default 0 computes it for the [CLS] rows only after
                                       its keys/values, the only rows the loss depends on */
    int               profile;      /* 1: time every backend op (backend/profile.h; print
                                       with mrpc_backend_profile_report(mrpc_model_backend(m))) */
    int               device;       /* CUDA device ordinal (one GPU per rank); ignored on the CPU */
} mrpc_model_options;

/*
 * One (local) batch. Padded layout as the data loader makes it.
 */
typedef struct mrpc_model_batch {
    int                 B;             /* rows, 1..max_batch */
    int                 T;             /* padded length of this batch, 1..max_seq */
    const int32_t      *ids;           /* [B*T] token ids, row-major, padded with pad_id */
    const int32_t      *lengths;       /* [B] valid tokens per row, 1..T (mask = position < length) */
    const int32_t      *labels;        /* [B] class ids in [0, num_labels); NULL in eval: no loss */
    const uint32_t     *example_index; /* [B] global example ids (dropout counters) */
    uint32_t            epoch;         /* 0-based epoch (dropout counter) */
    uint64_t            seed;          /* run seed (dropout key) */
    mrpc_model_dropouts dropout;       /* probabilities for this batch (forward_backward only) */
    double              loss_scale;    /* d(total)/d(loss_b) for every example b, e.g.
                                          1/global_batch_size (forward_backward only) */
} mrpc_model_batch;

/* A named view into the slabs. */
typedef struct mrpc_param_view {
    const char *name;     /* HF name, e.g. "distilbert.transformer.layer.3.ffn.lin1.weight" */
    size_t      offset;   /* first element in the slab (floats) */
    size_t      n_elems;
    int         n_dims;   /* 1 or 2 */
    int64_t     shape[2]; /* [out, in] for nn.Linear weights, [rows, dim] for embeddings */
    int         decay;    /* 1: weight decay applies (HF Trainer grouping: not biases, not
                             LayerNorm weights; embeddings are decayed) */
} mrpc_param_view;

/* Which slab (for host copies). */
typedef enum mrpc_slab_kind {
    MRPC_SLAB_PARAMS = 0,
    MRPC_SLAB_GRADS = 1,
    MRPC_SLAB_ADAM_M = 2,
    MRPC_SLAB_ADAM_V = 3
} mrpc_slab_kind;

typedef struct mrpc_model mrpc_model;

/* distilbert-base-uncased with 2 labels. */
void mrpc_model_dims_default(mrpc_model_dims *dims);

/* Total parameter count of `dims` (66,955,010 for the default). */
size_t mrpc_model_param_count(const mrpc_model_dims *dims);

/*
 * Creates a model (parameters zero, call init_random or load_hf next), its backend, the
 * slabs and the arena. MRPC_ERR_INVALID for impossible dims/options (naming the field),
 * MRPC_ERR_UNSUPPORTED for a backend/precision this build lacks, MRPC_ERR_NOMEM.
 */
mrpc_status mrpc_model_create(const mrpc_model_dims *dims, const mrpc_model_options *opts, mrpc_model **out,
                              mrpc_error *err);

/* Frees the model and its backend; NULL is a no-op. */
void mrpc_model_free(mrpc_model *m);

/*
 * HF _init_weights from `seed` (mrpc_rng purpose MRPC_RNG_INIT): Linear and Embedding
 * weights ~ Normal(0, initializer_range) (plain, not truncated), the pad row of the word
 * embeddings zeroed, biases 0, LayerNorm weight 1 / bias 0. Also zeroes grads and the
 * AdamW moments.
 */
mrpc_status mrpc_model_init_random(mrpc_model *m, uint64_t seed, mrpc_error *err);

/*
 * Reads `dir`/config.json (the architecture and dropouts). Fills dims and, when not NULL,
 * dropouts. For sizing a model before mrpc_model_create.
 */
mrpc_status mrpc_model_read_hf_config(const char *dir, mrpc_model_dims *dims, mrpc_model_dropouts *dropouts,
                                      mrpc_error *err);

/*
 * Loads `dir`/model.safetensors into the model (whose dims must equal the checkpoint's
 * config.json; MRPC_ERR_INVALID naming the field otherwise). Base tensors are found by
 * HF name (with or without the "distilbert." prefix); unknown keys (the MLM head
 * vocab_*, position_ids) are ignored; a missing base tensor is an error naming it. The
 * head (pre_classifier.*, classifier.*) is loaded when present, else initialised
 * N(0, initializer_range) / zero bias from `seed`; *head_loaded (may be NULL) says which.
 * F32 and BF16 tensors are accepted. Grads and AdamW moments are zeroed. `dropouts`
 * (may be NULL) receives the checkpoint's dropout probabilities.
 */
mrpc_status mrpc_model_load_hf(mrpc_model *m, const char *dir, uint64_t seed, mrpc_model_dropouts *dropouts,
                               int *head_loaded, mrpc_error *err);

/* create + load_hf in one call: dims from `dir`/config.json. */
mrpc_status mrpc_model_create_from_hf(const char *dir, const mrpc_model_options *opts, uint64_t seed,
                                      mrpc_model **out, mrpc_model_dropouts *dropouts, mrpc_error *err);

/*
 * What loading a checkpoint did, in the terms of HF's from_pretrained warnings: the
 * checkpoint's tensors the model did not use ("Some weights of the model checkpoint at
 * ... were not used": for distilbert-base-uncased the masked-LM head vocab_*) and the
 * model's tensors the checkpoint lacked, newly initialised ("... are newly initialized":
 * pre_classifier.*, classifier.*). Each list is a JSON array of names, sorted, "[]"
 * when empty; both are malloc'd (free with mrpc_hf_load_report_free).
 */
typedef struct mrpc_hf_load_report {
    char  *unused;        /* checkpoint names, as written in model.safetensors */
    size_t n_unused;
    char  *initialized;   /* model names (HF names, "distilbert." prefix for the base) */
    size_t n_initialized;
} mrpc_hf_load_report;

/* Frees both lists and leaves *r empty; NULL is fine. */
void mrpc_hf_load_report_free(mrpc_hf_load_report *r);

/* mrpc_model_load_hf, also filling *report (may be NULL; empty on failure). */
mrpc_status mrpc_model_load_hf_report(mrpc_model *m, const char *dir, uint64_t seed, mrpc_model_dropouts *dropouts,
                                      int *head_loaded, mrpc_hf_load_report *report, mrpc_error *err);

/* mrpc_model_create_from_hf, also filling *report (may be NULL; empty on failure). */
mrpc_status mrpc_model_create_from_hf_report(const char *dir, const mrpc_model_options *opts, uint64_t seed,
                                             mrpc_model **out, mrpc_model_dropouts *dropouts,
                                             mrpc_hf_load_report *report, mrpc_error *err);

/*
 * Writes `dir`/model.safetensors (every parameter, F32, HF names) and `dir`/config.json
 * (architectures DistilBertForSequenceClassification, with `dropouts`, or the defaults
 * when NULL), both atomically; creates `dir`. HF's from_pretrained loads the result.
 */
mrpc_status mrpc_model_save_hf(mrpc_model *m, const char *dir, const mrpc_model_dropouts *dropouts,
                               mrpc_error *err);

/*
 * Forward and backward of one batch in training mode (dropout on, counters from the
 * batch). ADDS the gradients of sum_b loss_scale * loss_b to the gradient slab (call
 * zero_grad first for a fresh step). *loss_sum (may be NULL) = sum_b loss_b in double
 * (not scaled); preds (may be NULL) [B] = argmax of the logits. labels are required.
 * Invalid batches (ids out of range, lengths outside 1..T, B or T above the maxima) are
 * MRPC_ERR_INVALID naming the row; backend failures are returned with its message.
 */
mrpc_status mrpc_model_forward_backward(mrpc_model *m, const mrpc_model_batch *batch, double *loss_sum,
                                        int32_t *preds, mrpc_error *err);

/*
 * Forward only, dropout off. *loss_sum (may be NULL; 0 when labels is NULL), preds [B]
 * (may be NULL), logits [B, num_labels] (may be NULL), all host memory.
 */
mrpc_status mrpc_model_forward_eval(mrpc_model *m, const mrpc_model_batch *batch, double *loss_sum,
                                    int32_t *preds, float *logits, mrpc_error *err);

/* Sets the gradient slab to zero. */
void mrpc_model_zero_grad(mrpc_model *m);

/* Global L2 norm of the gradient slab, accumulated in double. */
double mrpc_model_grad_norm(mrpc_model *m);

/*
 * torch clip_grad_norm_: computes the norm; when max_norm > 0 and max_norm / (norm +
 * 1e-6) < 1 multiplies every gradient by that coefficient. Returns the norm before
 * clipping (NaN/inf when the gradient is not finite; nothing is scaled then).
 */
double mrpc_model_clip_grad_norm(mrpc_model *m, double max_norm);

/*
 * One AdamW update of every parameter (torch.optim.AdamW, train/optim/adamw.h) with
 * hp->lr, betas, eps, step; hp->weight_decay is applied to the views with decay == 1
 * only. Then refreshes the backend's derived weights (bf16 copies).
 */
mrpc_status mrpc_model_adamw_step(mrpc_model *m, const mrpc_adamw_hparams *hp, mrpc_error *err);

/*
 * Slabs in backend memory (host memory on the CPU backends; device pointers on CUDA):
 * for the all-reduce and resume checkpoints. n_elems (may be NULL) = parameter count.
 * Whoever writes into the parameter slab directly must call mrpc_model_params_changed.
 */
float *mrpc_model_slab(mrpc_model *m, mrpc_slab_kind which, size_t *n_elems);
float *mrpc_model_params(mrpc_model *m, size_t *n_elems);
float *mrpc_model_grads(mrpc_model *m, size_t *n_elems);

/*
 * Gradient buckets, for overlapping the data-parallel all-reduce with the backward pass.
 * The backward pass finishes the gradients of the head first, then of block n-1 down to
 * block 0, then of the embeddings; each of these finishes two ranges of the slab (its
 * weights among the decayed tensors, its biases and LayerNorm parameters among the
 * others). With a hook set, forward_backward calls hook(ctx, offset, n_elems) for each
 * range as soon as its gradients are final (during the last micro-batch), in the order of
 * mrpc_model_grad_buckets, which lists all 2 * (n_layers + 2) ranges; together they cover
 * the slab exactly once. The hook runs on the calling thread between backend ops; on
 * backends whose ops are asynchronous (CUDA) the range may still be in flight, so it is
 * meant for the CPU backend. NULL fn removes the hook.
 */
typedef void (*mrpc_grad_ready_fn)(void *ctx, size_t offset, size_t n_elems);
void   mrpc_model_set_grad_ready(mrpc_model *m, mrpc_grad_ready_fn fn, void *ctx);
/* Writes up to max ranges (offset, count) in hook order; returns how many there are. */
size_t mrpc_model_grad_buckets(const mrpc_model *m, size_t *offsets, size_t *counts, size_t max);

/* Host copies of a whole slab ([param_count] floats). */
void mrpc_model_slab_to_host(mrpc_model *m, mrpc_slab_kind which, float *host);
void mrpc_model_slab_from_host(mrpc_model *m, mrpc_slab_kind which, const float *host);

/* Tells the model that the parameter slab was written from outside (resume, broadcast). */
void mrpc_model_params_changed(mrpc_model *m);

/* The named views, in HF module order; the table lives as long as the model. */
const mrpc_param_view *mrpc_model_views(const mrpc_model *m, size_t *n_views);

/* The view named `name`, NULL when absent. */
const mrpc_param_view *mrpc_model_find_view(const mrpc_model *m, const char *name);

/* The architecture; the backend (for its name, kind and precision). */
const mrpc_model_dims *mrpc_model_get_dims(const mrpc_model *m);
mrpc_backend          *mrpc_model_backend(mrpc_model *m);

/* Bytes the model allocated through its backend (slabs + arena). */
size_t mrpc_model_bytes(const mrpc_model *m);

#endif /* MRPC_MODEL_H */

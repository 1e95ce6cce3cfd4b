/*
 * model_internal.h — the model object shared by train/model's files (private).
 */
#ifndef MRPC_MODEL_INTERNAL_H
#define MRPC_MODEL_INTERNAL_H

#include "model.h"
#include "rng.h"

/* Offsets (floats) of one block's parameters in the slab. q, k, v weights are adjacent
   ([3C, C] together) and so are their biases ([3C]): one GEMM computes q | k | v. */
typedef struct layer_params {
    size_t qkv_w;   /* q_lin.weight, k_lin.weight, v_lin.weight: [3C, C] */
    size_t qkv_b;   /* q_lin.bias, k_lin.bias, v_lin.bias: [3C] */
    size_t out_w;   /* out_lin.weight [C, C] */
    size_t out_b;   /* [C] */
    size_t ln1_w;   /* sa_layer_norm.weight [C] */
    size_t ln1_b;
    size_t lin1_w;  /* ffn.lin1.weight [F, C] */
    size_t lin1_b;  /* [F] */
    size_t lin2_w;  /* ffn.lin2.weight [C, F] */
    size_t lin2_b;  /* [C] */
    size_t ln2_w;   /* output_layer_norm.weight [C] */
    size_t ln2_b;
} layer_params;

/* Offsets of everything in the slab. */
typedef struct param_layout {
    size_t        wte;   /* word_embeddings.weight [V, C] */
    size_t        wpe;   /* position_embeddings.weight [P, C] */
    size_t        ln0_w; /* embeddings.LayerNorm.weight [C] */
    size_t        ln0_b;
    layer_params *layer; /* [n_layers] */
    size_t        pre_w; /* pre_classifier.weight [C, C] */
    size_t        pre_b; /* [C] */
    size_t        cls_w; /* classifier.weight [L, C] */
    size_t        cls_b; /* [L] */
    size_t        total;
} param_layout;

/* Activations of one block for one micro-batch (pointers into the arena). */
typedef struct layer_acts {
    float *qkv;         /* [N, 3C] */
    float *probs;       /* attention probabilities (backend.h layout) */
    float *ctx;         /* [N, C] (B rows in the pruned last layer) */
    float *r1;          /* [N, C] sa + x: sa_layer_norm input */
    float *mean1, *rstd1;
    float *x1;          /* [N, C] sa_layer_norm output */
    float *h;           /* [N, F] lin1 output (GELU input) */
    float *g;           /* [N, F] GELU output (lin2 input) */
    float *r2;          /* [N, C] dropout(lin2 out) + x1: output_layer_norm input */
    float *mean2, *rstd2;
    float *x2;          /* [N, C] block output */
} layer_acts;

struct mrpc_model {
    mrpc_model_dims    dims;
    mrpc_model_options opts;
    mrpc_backend      *be;
    /* gradient bucket hook (model.h), called during the last micro-batch's backward */
    mrpc_grad_ready_fn grad_ready;
    void              *grad_ready_ctx;
    /* parameters */
    param_layout       lay;
    mrpc_param_view   *views;
    char             **view_names;
    size_t             n_views;
    float             *params, *grads, *adam_m, *adam_v; /* backend memory, [lay.total] each */
    /* arena for one micro-batch of at most cap_tok tokens and cap_seq sequences */
    int                cap_tok, cap_seq;
    void              *arena;
    size_t             arena_bytes;
    int32_t           *ids_dev;  /* [cap_tok] packed ids (backend memory) */
    int32_t           *lab_dev;  /* [cap_seq] labels (backend memory) */
    float             *r0, *mean0, *rstd0, *x0; /* embeddings: sum, LN stats, output [N, C] */
    layer_acts        *la;       /* [n_layers] */
    float             *xcls;     /* [Bc, C] [CLS] hidden (input of pre_classifier) */
    float             *pre;      /* [Bc, C] pre_classifier output */
    float             *act;      /* [Bc, C] ReLU output */
    float             *actd;     /* [Bc, C] after dropout: classifier input */
    float             *logits;   /* [Bc, L] */
    float             *losses;   /* [Bc] */
    float             *dlogits;  /* [Bc, L] */
    float             *xcls_full;/* [Bc, C] gathered last-layer x (unpruned path) */
    /* scratch (forward and backward) */
    float             *dg;       /* [N, F] gradient of the GELU output, then of its input */
    float             *f;        /* [N, C] lin2 output / its gradient */
    float             *dres;     /* [N, C] running gradient of the residual stream */
    float             *dctx;     /* [N, C] */
    float             *dqkv;     /* [N, 3C] */
    float             *dcls;     /* [Bc, C] */
    float             *dact;     /* [Bc, C] */
    float             *xres_cls; /* [Bc, C] last-layer input at the [CLS] rows (pruned path) */
    /* host staging */
    int32_t           *h_ids;    /* [cap_tok] */
    int32_t           *h_off;    /* [cap_seq + 1] */
    int64_t           *h_sq;     /* [cap_seq + 1] */
    int32_t           *h_off1;   /* [cap_seq + 1] 0,1,2,... (one row per sequence) */
    int64_t           *h_sq1;    /* [cap_seq + 1] */
    int32_t           *h_len;    /* [cap_seq] */
    int32_t           *h_one;    /* [cap_seq] all 1 */
    float             *h_logits; /* [cap_seq, L] */
    float             *h_losses; /* [cap_seq] */
};

/* params.c */
mrpc_status model_layout_build(mrpc_model *m, mrpc_error *err);
void        model_layout_free(mrpc_model *m);
/* Fills [offset, offset+n) of host buffer `dst` with the HF init of view v. */
void        model_init_view(const mrpc_model *m, const mrpc_param_view *v, float *dst, mrpc_rng *rng);
/* 1 when v belongs to the classification head (pre_classifier.*, classifier.*). */
int         model_view_is_head(const mrpc_param_view *v);

#endif /* MRPC_MODEL_INTERNAL_H */

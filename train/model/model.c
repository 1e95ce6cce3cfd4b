/*
 * model.c — DistilBertForSequenceClassification: creation, the arena, forward and
 * backward over backend ops, gradient norm, clipping and the AdamW step.
 *
 * Shapes: N tokens of the micro-batch (packed), B its sequences, C dim, F hidden, H
 * heads, D = C/H, L labels. The residual stream of block l is x (its input: x0 for l = 0,
 * else the previous block's x2).
 *
 * Last-layer pruning: the loss depends on the last block's output at the [CLS] rows
 * only, and those rows depend on every row's keys and values but on nothing else of the
 * other rows. So the last block computes q|k|v for all N rows, attention for the [CLS]
 * query only (cls_only), and everything after it (out_lin, LayerNorms, FFN) on B rows.
 * Same values as the full computation (tests/unit/model checks it); ~13% fewer GEMM
 * flops for DistilBERT-base. opts.no_prune turns it off.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clip.h"
#include "model_internal.h"
#include "profile.h"

#define DEFAULT_CHUNK_TOKENS 1024

/* ---- arena ----------------------------------------------------------------------------- */

typedef struct bump {
    char  *base; /* NULL while measuring */
    size_t off;
} bump;

static void *take(bump *b, size_t n_bytes) {
    size_t o = b->off;
    b->off += (n_bytes + 63u) & ~(size_t)63u;
    return b->base ? (void *)(b->base + o) : NULL;
}

static float *takef(bump *b, size_t n_floats) {
    return take(b, n_floats * sizeof(float));
}

/* Lays out (base NULL: measures) the activation arena for cap_tok tokens, cap_seq sequences. */
static void arena_layout(mrpc_model *m, bump *b) {
    const mrpc_model_dims *d = &m->dims;
    size_t N = (size_t)m->cap_tok, Bc = (size_t)m->cap_seq, C = (size_t)d->dim, F = (size_t)d->hidden_dim,
           H = (size_t)d->n_heads, L = (size_t)d->num_labels, T = (size_t)m->opts.max_seq;
    m->ids_dev = take(b, N * sizeof(int32_t));
    m->lab_dev = take(b, Bc * sizeof(int32_t));
    m->r0 = takef(b, N * C);
    m->mean0 = takef(b, N);
    m->rstd0 = takef(b, N);
    m->x0 = takef(b, N * C);
    for (int l = 0; l < d->n_layers; l++) {
        layer_acts *a = &m->la[l];
        int pruned = !m->opts.no_prune && l == d->n_layers - 1;
        a->qkv = takef(b, N * 3 * C);
        a->probs = takef(b, pruned ? H * N : H * N * T); /* sum len^2 <= T * N */
        size_t rows = pruned ? Bc : N;
        a->ctx = takef(b, rows * C);
        a->r1 = takef(b, rows * C);
        a->mean1 = takef(b, rows);
        a->rstd1 = takef(b, rows);
        a->x1 = takef(b, rows * C);
        a->h = takef(b, rows * F);
        a->g = takef(b, rows * F);
        a->r2 = takef(b, rows * C);
        a->mean2 = takef(b, rows);
        a->rstd2 = takef(b, rows);
        a->x2 = takef(b, rows * C);
    }
    m->xcls = NULL; /* points at the last x2 (pruned) or xcls_full */
    m->xcls_full = takef(b, Bc * C);
    m->pre = takef(b, Bc * C);
    m->act = takef(b, Bc * C);
    m->actd = takef(b, Bc * C);
    m->logits = takef(b, Bc * L);
    m->losses = takef(b, Bc);
    m->dlogits = takef(b, Bc * L);
    m->dg = takef(b, N * F);
    m->f = takef(b, N * C);
    m->dres = takef(b, N * C);
    m->dctx = takef(b, N * C);
    m->dqkv = takef(b, N * 3 * C);
    m->dcls = takef(b, Bc * C);
    m->dact = takef(b, Bc * C);
    m->xres_cls = takef(b, Bc * C);
}

/* ---- create / free ---------------------------------------------------------------------- */

static mrpc_status check_dims(const mrpc_model_dims *d, const mrpc_model_options *o, mrpc_error *err) {
#define BAD(field, ...) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, field, __VA_ARGS__)
    if (d->dim < 1 || d->n_heads < 1 || d->dim % d->n_heads != 0) {
        BAD("dim", "dim %d must be a positive multiple of n_heads %d", d->dim, d->n_heads);
    }
    if (d->n_layers < 1) {
        BAD("n_layers", "n_layers must be >= 1, got %d", d->n_layers);
    }
    if (d->hidden_dim < 1 || d->vocab_size < 1 || d->max_positions < 1 || d->num_labels < 1) {
        BAD("dims", "hidden_dim, vocab_size, max_positions and num_labels must be >= 1");
    }
    if (d->pad_id < 0 || d->pad_id >= d->vocab_size) {
        BAD("pad_token_id", "pad id %d outside the vocabulary (%d)", d->pad_id, d->vocab_size);
    }
    if (!(d->initializer_range > 0.0)) {
        BAD("initializer_range", "must be > 0");
    }
    if ((double)d->max_positions * d->max_positions * d->n_heads > 4294967295.0) {
        BAD("max_position_embeddings", "n_heads * max_positions^2 must fit the 32-bit dropout position");
    }
    if (o->max_batch < 1) {
        BAD("max_batch", "max_batch must be >= 1, got %d", o->max_batch);
    }
    if (o->max_seq < 1 || o->max_seq > d->max_positions) {
        BAD("max_seq", "max_seq %d must be in 1..max_position_embeddings (%d)", o->max_seq, d->max_positions);
    }
    if (o->chunk_tokens < 0) {
        BAD("chunk_tokens", "chunk_tokens must be >= 0");
    }
#undef BAD
    return MRPC_OK;
}

mrpc_status mrpc_model_create(const mrpc_model_dims *dims, const mrpc_model_options *opts, mrpc_model **out,
                              mrpc_error *err) {
    *out = NULL;
    mrpc_status st = check_dims(dims, opts, err);
    if (st != MRPC_OK) {
        return st;
    }
    mrpc_model *m = calloc(1, sizeof *m);
    if (!m) {
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
    }
    m->dims = *dims;
    m->opts = *opts;
    mrpc_backend_options bo = {.kind = opts->backend, .precision = opts->precision, .n_threads = opts->n_threads,
                               .device = opts->device};
    st = mrpc_backend_create(&bo, &m->be, err);
    if (st != MRPC_OK) {
        free(m);
        return st;
    }
    if (opts->profile) {
        mrpc_backend *p = mrpc_backend_profile_wrap(m->be);
        if (!p) {
            mrpc_backend_free(m->be);
            free(m);
            return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
        }
        m->be = p;
    }
    st = model_layout_build(m, err);
    if (st != MRPC_OK) {
        mrpc_model_free(m);
        return st;
    }
    size_t n = m->lay.total;
    m->params = m->be->ops->alloc(m->be, n * sizeof(float));
    m->grads = m->be->ops->alloc(m->be, n * sizeof(float));
    m->adam_m = m->be->ops->alloc(m->be, n * sizeof(float));
    m->adam_v = m->be->ops->alloc(m->be, n * sizeof(float));
    /* micro-batch capacity */
    long full = (long)opts->max_batch * opts->max_seq;
    long chunk = opts->chunk_tokens > 0 ? opts->chunk_tokens : DEFAULT_CHUNK_TOKENS;
    if (chunk < opts->max_seq) {
        chunk = opts->max_seq;
    }
    if (chunk > full) {
        chunk = full;
    }
    m->cap_tok = (int)chunk;
    m->cap_seq = opts->max_batch < m->cap_tok ? opts->max_batch : m->cap_tok;
    m->la = calloc((size_t)dims->n_layers, sizeof *m->la);
    size_t cs = (size_t)m->cap_seq;
    m->h_ids = malloc(sizeof(int32_t) * (size_t)m->cap_tok);
    m->h_off = malloc(sizeof(int32_t) * (cs + 1));
    m->h_sq = malloc(sizeof(int64_t) * (cs + 1));
    m->h_off1 = malloc(sizeof(int32_t) * (cs + 1));
    m->h_sq1 = malloc(sizeof(int64_t) * (cs + 1));
    m->h_len = malloc(sizeof(int32_t) * cs);
    m->h_one = malloc(sizeof(int32_t) * cs);
    m->h_logits = malloc(sizeof(float) * cs * (size_t)dims->num_labels);
    m->h_losses = malloc(sizeof(float) * cs);
    if (!m->la || !m->h_ids || !m->h_off || !m->h_sq || !m->h_off1 || !m->h_sq1 || !m->h_len || !m->h_one ||
        !m->h_logits || !m->h_losses) {
        mrpc_model_free(m);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
    }
    for (size_t b = 0; b < cs; b++) {
        m->h_one[b] = 1;
    }
    bump b = {NULL, 0};
    arena_layout(m, &b);
    m->arena_bytes = b.off;
    m->arena = m->be->ops->alloc(m->be, m->arena_bytes);
    if (m->arena) {
        b = (bump){m->arena, 0};
        arena_layout(m, &b);
    }
    st = m->be->ops->get_error(m->be, err);
    if (st != MRPC_OK || !m->params || !m->grads || !m->adam_m || !m->adam_v || !m->arena) {
        mrpc_model_free(m);
        return st != MRPC_OK ? st : mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
    }
    if (m->be->ops->weights_changed) {
        m->be->ops->weights_changed(m->be, m->params, n);
    }
    *out = m;
    return MRPC_OK;
}

void mrpc_model_free(mrpc_model *m) {
    if (!m) {
        return;
    }
    if (m->be) {
        const mrpc_backend_ops *o = m->be->ops;
        o->free_mem(m->be, m->params);
        o->free_mem(m->be, m->grads);
        o->free_mem(m->be, m->adam_m);
        o->free_mem(m->be, m->adam_v);
        o->free_mem(m->be, m->arena);
        mrpc_backend_free(m->be);
    }
    model_layout_free(m);
    free(m->la);
    free(m->h_ids);
    free(m->h_off);
    free(m->h_sq);
    free(m->h_off1);
    free(m->h_sq1);
    free(m->h_len);
    free(m->h_one);
    free(m->h_logits);
    free(m->h_losses);
    free(m);
}

/* ---- parameters ------------------------------------------------------------------------ */

static void zero_state(mrpc_model *m) {
    size_t nb = m->lay.total * sizeof(float);
    m->be->ops->zero(m->be, m->grads, nb);
    m->be->ops->zero(m->be, m->adam_m, nb);
    m->be->ops->zero(m->be, m->adam_v, nb);
}

mrpc_status mrpc_model_init_random(mrpc_model *m, uint64_t seed, mrpc_error *err) {
    mrpc_rng rng;
    mrpc_rng_init(&rng, seed, MRPC_RNG_INIT, 0);
    float *stage = NULL;
    if (!m->be->host_memory) { /* one view at a time through a host buffer */
        size_t biggest = 0;
        for (size_t i = 0; i < m->n_views; i++) {
            biggest = m->views[i].n_elems > biggest ? m->views[i].n_elems : biggest;
        }
        stage = malloc(sizeof(float) * biggest);
        if (!stage) {
            return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
        }
    }
    for (size_t i = 0; i < m->n_views; i++) {                          /* HF module order */
        const mrpc_param_view *v = &m->views[i];
        float *dst = stage ? stage : m->params + v->offset;
        model_init_view(m, v, dst, &rng);
        if (stage) {
            m->be->ops->copy_to_backend(m->be, m->params + v->offset, stage, sizeof(float) * v->n_elems);
        }
    }
    free(stage);
    zero_state(m);
    mrpc_model_params_changed(m);
    return m->be->ops->get_error(m->be, err);
}

void mrpc_model_params_changed(mrpc_model *m) {
    if (m->be->ops->weights_changed) {
        m->be->ops->weights_changed(m->be, m->params, m->lay.total);
    }
}

const mrpc_param_view *mrpc_model_views(const mrpc_model *m, size_t *n_views) {
    if (n_views) {
        *n_views = m->n_views;
    }
    return m->views;
}

const mrpc_param_view *mrpc_model_find_view(const mrpc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_views; i++) {
        if (strcmp(m->views[i].name, name) == 0) {
            return &m->views[i];
        }
    }
    return NULL;
}

const mrpc_model_dims *mrpc_model_get_dims(const mrpc_model *m) {
    return &m->dims;
}

mrpc_backend *mrpc_model_backend(mrpc_model *m) {
    return m->be;
}

size_t mrpc_model_bytes(const mrpc_model *m) {
    return 4 * m->lay.total * sizeof(float) + m->arena_bytes;
}

float *mrpc_model_slab(mrpc_model *m, mrpc_slab_kind which, size_t *n_elems) {
    if (n_elems) {
        *n_elems = m->lay.total;
    }
    switch (which) {
    case MRPC_SLAB_PARAMS: return m->params;
    case MRPC_SLAB_GRADS: return m->grads;
    case MRPC_SLAB_ADAM_M: return m->adam_m;
    case MRPC_SLAB_ADAM_V: return m->adam_v;
    }
    return NULL;
}

float *mrpc_model_params(mrpc_model *m, size_t *n_elems) {
    return mrpc_model_slab(m, MRPC_SLAB_PARAMS, n_elems);
}

float *mrpc_model_grads(mrpc_model *m, size_t *n_elems) {
    return mrpc_model_slab(m, MRPC_SLAB_GRADS, n_elems);
}

void mrpc_model_slab_to_host(mrpc_model *m, mrpc_slab_kind which, float *host) {
    m->be->ops->copy_to_host(m->be, host, mrpc_model_slab(m, which, NULL), sizeof(float) * m->lay.total);
}

void mrpc_model_slab_from_host(mrpc_model *m, mrpc_slab_kind which, const float *host) {
    m->be->ops->copy_to_backend(m->be, mrpc_model_slab(m, which, NULL), host, sizeof(float) * m->lay.total);
    if (which == MRPC_SLAB_PARAMS) {
        mrpc_model_params_changed(m);
    }
}

/* ---- forward / backward ---------------------------------------------------------------- */

typedef struct pass {
    mrpc_seqs    s;     /* the micro-batch, packed */
    mrpc_seqs    s1;    /* one row per sequence (the [CLS] rows) */
    int          train; /* dropout on, backward follows */
    mrpc_dropout d_emb, d_cls;
    float        p_att, p_ffn;
    float        loss_scale;
} pass;

static mrpc_dropout drop_at(const pass *ps, const mrpc_model_batch *bt, const mrpc_model *m, float p, uint32_t site) {
    mrpc_dropout d = {.p = ps->train ? p : 0.0f, .seed = bt->seed, .epoch = bt->epoch, .site = site,
                      .max_pos = (uint32_t)m->dims.max_positions};
    return d;
}

static void forward(mrpc_model *m, const pass *ps, const mrpc_model_batch *bt) {
    mrpc_backend *be = m->be;
    const mrpc_backend_ops *o = be->ops;
    const mrpc_model_dims *d = &m->dims;
    const int N = ps->s.n_tok, B = ps->s.n_seq, C = d->dim, F = d->hidden_dim, H = d->n_heads, D = C / H,
              L = d->num_labels;
    const float *P = m->params;
    const param_layout *lay = &m->lay;

    /* embeddings: x0 = dropout(LN(wte[ids] + wpe[t])) */
    o->embedding_forward(be, m->r0, m->ids_dev, P + lay->wte, P + lay->wpe, &ps->s, C);       /* [N,C] */
    o->layernorm_forward(be, m->x0, m->mean0, m->rstd0, m->r0, P + lay->ln0_w, P + lay->ln0_b, N, C);
    o->dropout(be, m->x0, m->x0, &ps->s, C, &ps->d_emb);
    const float *x = m->x0;
    for (int l = 0; l < d->n_layers; l++) {
        const layer_params *lp = &lay->layer[l];
        layer_acts *a = &m->la[l];
        int pruned = !m->opts.no_prune && l == d->n_layers - 1;
        int rows = pruned ? B : N;
        const mrpc_seqs *sr = pruned ? &ps->s1 : &ps->s;
        mrpc_dropout da = drop_at(ps, bt, m, ps->p_att, MRPC_DROPOUT_SITE_ATTENTION(l));
        mrpc_dropout df = drop_at(ps, bt, m, ps->p_ffn, MRPC_DROPOUT_SITE_FFN(l));
        o->linear_forward(be, a->qkv, x, P + lp->qkv_w, P + lp->qkv_b, N, C, 3 * C);          /* [N,3C] */
        o->attention_forward(be, a->ctx, a->probs, a->qkv, &ps->s, H, D, pruned, &da);      /* [rows,C] */
        o->linear_forward(be, a->r1, a->ctx, P + lp->out_w, P + lp->out_b, rows, C, C);     /* sa */
        const float *xres = x;
        if (pruned) {
            o->gather_first(be, m->xres_cls, x, &ps->s, C);                                 /* x at [CLS] */
            xres = m->xres_cls;
        }
        o->add(be, a->r1, a->r1, xres, (size_t)rows * C);                                   /* sa + x */
        o->layernorm_forward(be, a->x1, a->mean1, a->rstd1, a->r1, P + lp->ln1_w, P + lp->ln1_b, rows, C);
        o->linear_forward(be, a->h, a->x1, P + lp->lin1_w, P + lp->lin1_b, rows, C, F);     /* [rows,F] */
        o->gelu_forward(be, a->g, a->h, (size_t)rows * F);
        o->linear_forward(be, m->f, a->g, P + lp->lin2_w, P + lp->lin2_b, rows, F, C);      /* [rows,C] */
        o->dropout(be, m->f, m->f, sr, C, &df);
        o->add(be, a->r2, m->f, a->x1, (size_t)rows * C);                                   /* f + x1 */
        o->layernorm_forward(be, a->x2, a->mean2, a->rstd2, a->r2, P + lp->ln2_w, P + lp->ln2_b, rows, C);
        x = a->x2;
    }
    /* head on the [CLS] rows */
    if (!m->opts.no_prune) {
        m->xcls = m->la[d->n_layers - 1].x2;                                                /* [B,C] */
    } else {
        o->gather_first(be, m->xcls_full, x, &ps->s, C);
        m->xcls = m->xcls_full;
    }
    o->linear_forward(be, m->pre, m->xcls, P + lay->pre_w, P + lay->pre_b, B, C, C);
    o->relu_forward(be, m->act, m->pre, (size_t)B * C);
    o->dropout(be, m->actd, m->act, &ps->s1, C, &ps->d_cls);
    o->linear_forward(be, m->logits, m->actd, P + lay->cls_w, P + lay->cls_b, B, C, L);     /* [B,L] */
}

/*
 * The bucket schedule: stage 0 is the head, stage 1 + (n_layers - 1 - l) block l, the
 * last stage the embeddings; each stage has its decayed range and its other range. The
 * decayed part is laid out [wte wpe | block 0 | ... | block n-1 | head] and the other
 * part [ln0 | block 0 | ... | head], so every range is contiguous.
 */
static void bucket_ranges(const mrpc_model *m, int stage, size_t off[2], size_t cnt[2]) {
    const param_layout *lay = &m->lay;
    const int nl = m->dims.n_layers;
    size_t w_lo, w_hi, b_lo, b_hi;
    if (stage == 0) {
        w_lo = lay->pre_w, w_hi = lay->ln0_w, b_lo = lay->pre_b, b_hi = lay->total;
    } else if (stage <= nl) {
        int l = nl - stage;
        w_lo = lay->layer[l].qkv_w;
        w_hi = l + 1 < nl ? lay->layer[l + 1].qkv_w : lay->pre_w;
        b_lo = lay->layer[l].qkv_b;
        b_hi = l + 1 < nl ? lay->layer[l + 1].qkv_b : lay->pre_b;
    } else {
        w_lo = lay->wte;
        w_hi = nl > 0 ? lay->layer[0].qkv_w : lay->pre_w;
        b_lo = lay->ln0_w;
        b_hi = nl > 0 ? lay->layer[0].qkv_b : lay->pre_b;
    }
    off[0] = w_lo, cnt[0] = w_hi - w_lo, off[1] = b_lo, cnt[1] = b_hi - b_lo;
}

void mrpc_model_set_grad_ready(mrpc_model *m, mrpc_grad_ready_fn fn, void *ctx) {
    m->grad_ready = fn;
    m->grad_ready_ctx = ctx;
}

size_t mrpc_model_grad_buckets(const mrpc_model *m, size_t *offsets, size_t *counts, size_t max) {
    size_t n = 0;
    for (int stage = 0; stage <= m->dims.n_layers + 1; stage++) {
        size_t off[2], cnt[2];
        bucket_ranges(m, stage, off, cnt);
        for (int k = 0; k < 2; k++, n++)
            if (n < max) offsets[n] = off[k], counts[n] = cnt[k];
    }
    return n;
}

/* Reports the two ranges of `stage` to the hook, when this is the last micro-batch. */
static void buckets_ready(mrpc_model *m, int stage, int last) {
    if (!last || !m->grad_ready) return;
    size_t off[2], cnt[2];
    bucket_ranges(m, stage, off, cnt);
    m->grad_ready(m->grad_ready_ctx, off[0], cnt[0]);
    m->grad_ready(m->grad_ready_ctx, off[1], cnt[1]);
}

static void backward(mrpc_model *m, const pass *ps, const mrpc_model_batch *bt, int last) {
    mrpc_backend *be = m->be;
    const mrpc_backend_ops *o = be->ops;
    const mrpc_model_dims *d = &m->dims;
    const int N = ps->s.n_tok, B = ps->s.n_seq, C = d->dim, F = d->hidden_dim, H = d->n_heads, D = C / H,
              L = d->num_labels;
    const float *P = m->params;
    float *G = m->grads;
    const param_layout *lay = &m->lay;

    /* head: dlogits [B,L] was written by crossentropy */
    o->linear_backward(be, m->dact, G + lay->cls_w, G + lay->cls_b, m->dlogits, m->actd, P + lay->cls_w, B, C, L, 0);
    o->dropout(be, m->dact, m->dact, &ps->s1, C, &ps->d_cls);
    o->relu_backward(be, m->dact, m->act, m->dact, (size_t)B * C);
    o->linear_backward(be, m->dcls, G + lay->pre_w, G + lay->pre_b, m->dact, m->xcls, P + lay->pre_w, B, C, C, 0);
    buckets_ready(m, 0, last);
    if (m->opts.no_prune) {
        o->gather_first_backward(be, m->dres, m->dcls, &ps->s, C);                          /* [N,C] */
    }
    for (int l = d->n_layers - 1; l >= 0; l--) {
        const layer_params *lp = &lay->layer[l];
        layer_acts *a = &m->la[l];
        int pruned = !m->opts.no_prune && l == d->n_layers - 1;
        int rows = pruned ? B : N;
        const mrpc_seqs *sr = pruned ? &ps->s1 : &ps->s;
        float *dx = pruned ? m->dcls : m->dres;                                             /* [rows,C] */
        mrpc_dropout da = drop_at(ps, bt, m, ps->p_att, MRPC_DROPOUT_SITE_ATTENTION(l));
        mrpc_dropout df = drop_at(ps, bt, m, ps->p_ffn, MRPC_DROPOUT_SITE_FFN(l));
        const float *xin = l == 0 ? m->x0 : m->la[l - 1].x2;                                /* block input */
        /* x2 = LN2(r2), r2 = dropout(f) + x1 */
        o->layernorm_backward(be, dx, G + lp->ln2_w, G + lp->ln2_b, dx, a->r2, P + lp->ln2_w, a->mean2, a->rstd2,
                              rows, C);                                                     /* dx := dr2 */
        o->dropout(be, m->f, dx, sr, C, &df);                                               /* df */
        o->linear_backward(be, m->dg, G + lp->lin2_w, G + lp->lin2_b, m->f, a->g, P + lp->lin2_w, rows, F, C, 0);
        o->gelu_backward(be, m->dg, a->h, m->dg, (size_t)rows * F);                         /* dh */
        o->linear_backward(be, dx, G + lp->lin1_w, G + lp->lin1_b, m->dg, a->x1, P + lp->lin1_w, rows, C, F, 1);
        /* x1 = LN1(r1), r1 = out_lin(ctx) + x */
        o->layernorm_backward(be, dx, G + lp->ln1_w, G + lp->ln1_b, dx, a->r1, P + lp->ln1_w, a->mean1, a->rstd1,
                              rows, C);                                                     /* dx := dr1 */
        o->linear_backward(be, m->dctx, G + lp->out_w, G + lp->out_b, dx, a->ctx, P + lp->out_w, rows, C, C, 0);
        o->attention_backward(be, m->dqkv, m->dctx, a->qkv, a->probs, &ps->s, H, D, pruned, &da);
        if (pruned) {
            o->gather_first_backward(be, m->dres, dx, &ps->s, C);                           /* residual, [N,C] */
        }
        o->linear_backward(be, m->dres, G + lp->qkv_w, G + lp->qkv_b, m->dqkv, xin, P + lp->qkv_w, N, C, 3 * C, 1);
        buckets_ready(m, d->n_layers - l, last);
    }
    /* embeddings */
    o->dropout(be, m->dres, m->dres, &ps->s, C, &ps->d_emb);
    o->layernorm_backward(be, m->dres, G + lay->ln0_w, G + lay->ln0_b, m->dres, m->r0, P + lay->ln0_w, m->mean0,
                          m->rstd0, N, C);
    o->embedding_backward(be, G + lay->wte, G + lay->wpe, m->dres, m->ids_dev, &ps->s, C, d->pad_id);
    buckets_ready(m, d->n_layers + 1, last);
}

/* Checks the batch; MRPC_ERR_INVALID naming the row. */
static mrpc_status check_batch(const mrpc_model *m, const mrpc_model_batch *bt, int train, mrpc_error *err) {
#define BAD(field, ...) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, field, __VA_ARGS__)
    if (bt->B < 1 || bt->B > m->opts.max_batch) {
        BAD("batch", "B = %d outside 1..max_batch (%d)", bt->B, m->opts.max_batch);
    }
    if (bt->T < 1 || bt->T > m->opts.max_seq) {
        BAD("batch", "T = %d outside 1..max_seq (%d)", bt->T, m->opts.max_seq);
    }
    if (!bt->ids || !bt->lengths) {
        BAD("batch", "ids and lengths are required");
    }
    if (train && (!bt->labels || !bt->example_index)) {
        BAD("batch", "forward_backward needs labels and example_index");
    }
    if (train) {
        double ps[3] = {bt->dropout.hidden, bt->dropout.attention, bt->dropout.classifier};
        for (int k = 0; k < 3; k++) {
            if (!(ps[k] >= 0.0 && ps[k] < 1.0)) {
                BAD("dropout", "dropout probability %g outside [0, 1)", ps[k]);
            }
        }
        if (!isfinite(bt->loss_scale)) {
            BAD("loss_scale", "loss_scale must be finite");
        }
    }
    for (int b = 0; b < bt->B; b++) {
        int len = bt->lengths[b];
        if (len < 1 || len > bt->T) {
            BAD("lengths", "row %d: length %d outside 1..T (%d)", b, len, bt->T);
        }
        for (int t = 0; t < len; t++) {
            int32_t id = bt->ids[(size_t)b * bt->T + t];
            if (id < 0 || id >= m->dims.vocab_size) {
                BAD("ids", "row %d, position %d: token id %d outside 0..%d", b, t, (int)id, m->dims.vocab_size - 1);
            }
        }
        if (bt->labels && (bt->labels[b] < 0 || bt->labels[b] >= m->dims.num_labels)) {
            BAD("labels", "row %d: label %d outside 0..%d", b, (int)bt->labels[b], m->dims.num_labels - 1);
        }
    }
#undef BAD
    return MRPC_OK;
}

/* Runs the batch as micro-batches of whole sequences. */
static mrpc_status run_batch(mrpc_model *m, const mrpc_model_batch *bt, int train, double *loss_sum, int32_t *preds,
                             float *logits_out, mrpc_error *err) {
    mrpc_status st = check_batch(m, bt, train, err);
    if (st != MRPC_OK) {
        return st;
    }
    mrpc_backend *be = m->be;
    const int L = m->dims.num_labels;
    const int have_labels = bt->labels != NULL;
    double loss = 0.0;
    int b0 = 0;
    while (b0 < bt->B) {
        /* the micro-batch: sequences b0..b1-1 with at most cap_tok tokens */
        int b1 = b0, tok = 0;
        while (b1 < bt->B && b1 - b0 < m->cap_seq && tok + bt->lengths[b1] <= m->cap_tok) {
            tok += bt->lengths[b1];
            b1++;
        }
        int nb = b1 - b0;
        for (int b = 0; b < nb; b++) {
            m->h_len[b] = bt->lengths[b0 + b];
        }
        int n = 0;
        for (int b = 0; b < nb; b++) {
            memcpy(m->h_ids + n, bt->ids + (size_t)(b0 + b) * bt->T, sizeof(int32_t) * (size_t)m->h_len[b]);
            n += m->h_len[b];
        }
        uint32_t ex_zero[1] = {0};
        const uint32_t *ex = bt->example_index ? bt->example_index + b0 : NULL;
        pass ps;
        memset(&ps, 0, sizeof ps);
        ps.train = train;
        st = mrpc_seqs_build(&ps.s, nb, m->h_len, ex ? ex : ex_zero, m->h_off, m->h_sq, err);
        if (st == MRPC_OK) {
            st = mrpc_seqs_build(&ps.s1, nb, m->h_one, ex ? ex : ex_zero, m->h_off1, m->h_sq1, err);
        }
        if (st != MRPC_OK) {
            return st;
        }
        if (!ex) { /* eval without example ids: dropout is off, counters unused */
            ps.s.example = NULL;
            ps.s1.example = NULL;
        }
        if (be->ops->seqs_prepare) {
            be->ops->seqs_prepare(be, &ps.s);
            be->ops->seqs_prepare(be, &ps.s1);
        }
        ps.d_emb = drop_at(&ps, bt, m, (float)bt->dropout.hidden, MRPC_DROPOUT_SITE_EMBEDDINGS);
        ps.d_cls = drop_at(&ps, bt, m, (float)bt->dropout.classifier, MRPC_DROPOUT_SITE_CLASSIFIER);
        ps.p_att = (float)bt->dropout.attention;
        ps.p_ffn = (float)bt->dropout.hidden;
        ps.loss_scale = (float)bt->loss_scale;
        be->ops->copy_to_backend(be, m->ids_dev, m->h_ids, sizeof(int32_t) * (size_t)n);
        if (have_labels) {
            be->ops->copy_to_backend(be, m->lab_dev, bt->labels + b0, sizeof(int32_t) * (size_t)nb);
        }
        forward(m, &ps, bt);
        if (have_labels) {
            be->ops->crossentropy(be, m->losses, train ? m->dlogits : NULL, m->logits, m->lab_dev, nb, L,
                                  ps.loss_scale);
        }
        if (train) {
            backward(m, &ps, bt, b1 == bt->B);
        }
        if (be->ops->synchronize) {
            be->ops->synchronize(be);
        }
        st = be->ops->get_error(be, err);
        if (st != MRPC_OK) {
            return st;
        }
        be->ops->copy_to_host(be, m->h_logits, m->logits, sizeof(float) * (size_t)nb * L);
        if (have_labels) {
            be->ops->copy_to_host(be, m->h_losses, m->losses, sizeof(float) * (size_t)nb);
            for (int b = 0; b < nb; b++) {
                loss += m->h_losses[b];
            }
        }
        for (int b = 0; b < nb; b++) {
            const float *z = m->h_logits + (size_t)b * L;
            if (preds) {
                int best = 0;
                for (int k = 1; k < L; k++) {
                    if (z[k] > z[best]) {
                        best = k;
                    }
                }
                preds[b0 + b] = best;
            }
            if (logits_out) {
                memcpy(logits_out + (size_t)(b0 + b) * L, z, sizeof(float) * (size_t)L);
            }
        }
        b0 = b1;
    }
    if (loss_sum) {
        *loss_sum = loss;
    }
    return MRPC_OK;
}

mrpc_status mrpc_model_forward_backward(mrpc_model *m, const mrpc_model_batch *batch, double *loss_sum,
                                        int32_t *preds, mrpc_error *err) {
    return run_batch(m, batch, 1, loss_sum, preds, NULL, err);
}

mrpc_status mrpc_model_forward_eval(mrpc_model *m, const mrpc_model_batch *batch, double *loss_sum, int32_t *preds,
                                    float *logits, mrpc_error *err) {
    return run_batch(m, batch, 0, loss_sum, preds, logits, err);
}

/* ---- optimizer ------------------------------------------------------------------------- */

void mrpc_model_zero_grad(mrpc_model *m) {
    m->be->ops->zero(m->be, m->grads, sizeof(float) * m->lay.total);
}

double mrpc_model_grad_norm(mrpc_model *m) {
    return sqrt(m->be->ops->sumsq(m->be, m->grads, m->lay.total));
}

double mrpc_model_clip_grad_norm(mrpc_model *m, double max_norm) {
    double norm = mrpc_model_grad_norm(m);
    double coef = mrpc_clip_coef(norm, max_norm);
    if (coef < 1.0) {
        m->be->ops->scale(m->be, m->grads, m->lay.total, (float)coef);
    }
    return norm;
}

mrpc_status mrpc_model_adamw_step(mrpc_model *m, const mrpc_adamw_hparams *hp, mrpc_error *err) {
    if (hp->step < 1) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "step", "AdamW step must be >= 1, got %lld",
                              (long long)hp->step);
    }
    mrpc_adamw_hparams with = *hp, without = *hp;
    without.weight_decay = 0.0;
    /* merge runs of adjacent views (in slab order) with the same decay flag */
    size_t nv = m->n_views;
    size_t pos = 0;
    while (pos < m->lay.total) {
        const mrpc_param_view *v = NULL;
        for (size_t i = 0; i < nv; i++) {
            if (m->views[i].offset == pos) {
                v = &m->views[i];
                break;
            }
        }
        if (!v) {
            return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, "model", "no view at slab offset %zu", pos);
        }
        size_t end = pos + v->n_elems;
        int decay = v->decay;
        for (;;) { /* extend while the next view has the same flag */
            const mrpc_param_view *w = NULL;
            for (size_t i = 0; i < nv; i++) {
                if (m->views[i].offset == end) {
                    w = &m->views[i];
                    break;
                }
            }
            if (!w || w->decay != decay) {
                break;
            }
            end += w->n_elems;
        }
        m->be->ops->adamw(m->be, m->params + pos, m->grads + pos, m->adam_m + pos, m->adam_v + pos, end - pos,
                          decay ? &with : &without);
        pos = end;
    }
    mrpc_model_params_changed(m);
    return m->be->ops->get_error(m->be, err);
}

/*
 * profile.c — a backend that wraps another and times every op (see profile.h).
 */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

enum {
    OP_EMB_F, OP_EMB_B, OP_LN_F, OP_LN_B, OP_LIN_F, OP_LIN_B, OP_ATT_F, OP_ATT_B, OP_GELU_F, OP_GELU_B, OP_RELU_F,
    OP_RELU_B, OP_ADD, OP_DROP, OP_GATHER, OP_GATHER_B, OP_CE, OP_SUMSQ, OP_SCALE, OP_ADAMW, OP_MEM, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "embedding_forward", "embedding_backward", "layernorm_forward", "layernorm_backward", "linear_forward",
    "linear_backward", "attention_forward", "attention_backward", "gelu_forward", "gelu_backward",
    "relu_forward", "relu_backward", "add", "dropout", "gather_first", "gather_first_backward", "crossentropy",
    "sumsq", "scale", "adamw", "memory (zero/copy)"};

#define MAX_SHAPES 32

typedef struct shape_stat {
    int    IC, OC, backward;
    double seconds, flops;
    long   calls;
} shape_stat;

typedef struct prof_backend {
    mrpc_backend  base;
    mrpc_backend *inner;
    double        seconds[OP_COUNT];
    long          calls[OP_COUNT];
    shape_stat    shapes[MAX_SHAPES];
    int           n_shapes;
} prof_backend;

#define INNER(be) (((prof_backend *)(be))->inner)
#define T0() double t0_ = mrpc_seconds_now()
#define T1(be, op)                                                      \
    do {                                                                \
        prof_backend *p_ = (prof_backend *)(be);                        \
        if (p_->inner->ops->synchronize) {                              \
            p_->inner->ops->synchronize(p_->inner);                     \
        }                                                               \
        p_->seconds[op] += mrpc_seconds_now() - t0_;                    \
        p_->calls[op]++;                                                \
    } while (0)

static void shape_add(prof_backend *p, int IC, int OC, int backward, double s, double flops) {
    for (int i = 0; i < p->n_shapes; i++) {
        shape_stat *st = &p->shapes[i];
        if (st->IC == IC && st->OC == OC && st->backward == backward) {
            st->seconds += s;
            st->flops += flops;
            st->calls++;
            return;
        }
    }
    if (p->n_shapes < MAX_SHAPES) {
        p->shapes[p->n_shapes++] = (shape_stat){IC, OC, backward, s, flops, 1};
    }
}

static void p_free(mrpc_backend *be) {
    mrpc_backend_free(INNER(be));
    free(be);
}
static mrpc_status p_get_error(mrpc_backend *be, mrpc_error *err) {
    return INNER(be)->ops->get_error(INNER(be), err);
}
static void p_synchronize(mrpc_backend *be) {
    if (INNER(be)->ops->synchronize) {
        INNER(be)->ops->synchronize(INNER(be));
    }
}
static void *p_alloc(mrpc_backend *be, size_t n) {
    return INNER(be)->ops->alloc(INNER(be), n);
}
static void p_free_mem(mrpc_backend *be, void *ptr) {
    INNER(be)->ops->free_mem(INNER(be), ptr);
}
static void p_copy_to_backend(mrpc_backend *be, void *d, const void *s, size_t n) {
    T0();
    INNER(be)->ops->copy_to_backend(INNER(be), d, s, n);
    T1(be, OP_MEM);
}
static void p_copy_to_host(mrpc_backend *be, void *d, const void *s, size_t n) {
    T0();
    INNER(be)->ops->copy_to_host(INNER(be), d, s, n);
    T1(be, OP_MEM);
}
static void p_copy(mrpc_backend *be, void *d, const void *s, size_t n) {
    T0();
    INNER(be)->ops->copy(INNER(be), d, s, n);
    T1(be, OP_MEM);
}
static void p_zero(mrpc_backend *be, void *d, size_t n) {
    T0();
    INNER(be)->ops->zero(INNER(be), d, n);
    T1(be, OP_MEM);
}
static void p_seqs_prepare(mrpc_backend *be, mrpc_seqs *s) {
    if (INNER(be)->ops->seqs_prepare) {
        INNER(be)->ops->seqs_prepare(INNER(be), s);
    }
}
static void p_weights_changed(mrpc_backend *be, const float *slab, size_t n) {
    if (INNER(be)->ops->weights_changed) {
        INNER(be)->ops->weights_changed(INNER(be), slab, n);
    }
}
static void p_emb_f(mrpc_backend *be, float *out, const int32_t *ids, const float *wte, const float *wpe,
                    const mrpc_seqs *s, int C) {
    T0();
    INNER(be)->ops->embedding_forward(INNER(be), out, ids, wte, wpe, s, C);
    T1(be, OP_EMB_F);
}
static void p_emb_b(mrpc_backend *be, float *dwte, float *dwpe, const float *dout, const int32_t *ids,
                    const mrpc_seqs *s, int C, int pad) {
    T0();
    INNER(be)->ops->embedding_backward(INNER(be), dwte, dwpe, dout, ids, s, C, pad);
    T1(be, OP_EMB_B);
}
static void p_ln_f(mrpc_backend *be, float *out, float *mean, float *rstd, const float *inp, const float *w,
                   const float *b, int N, int C) {
    T0();
    INNER(be)->ops->layernorm_forward(INNER(be), out, mean, rstd, inp, w, b, N, C);
    T1(be, OP_LN_F);
}
static void p_ln_b(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                   const float *w, const float *mean, const float *rstd, int N, int C) {
    T0();
    INNER(be)->ops->layernorm_backward(INNER(be), dinp, dw, db, dout, inp, w, mean, rstd, N, C);
    T1(be, OP_LN_B);
}
static void p_lin_f(mrpc_backend *be, float *out, const float *inp, const float *w, const float *b, int N, int IC,
                    int OC) {
    T0();
    INNER(be)->ops->linear_forward(INNER(be), out, inp, w, b, N, IC, OC);
    T1(be, OP_LIN_F);
    shape_add((prof_backend *)be, IC, OC, 0, mrpc_seconds_now() - t0_, 2.0 * N * IC * OC);
}
static void p_lin_b(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                    const float *w, int N, int IC, int OC, int acc) {
    T0();
    INNER(be)->ops->linear_backward(INNER(be), dinp, dw, db, dout, inp, w, N, IC, OC, acc);
    T1(be, OP_LIN_B);
    shape_add((prof_backend *)be, IC, OC, 1, mrpc_seconds_now() - t0_, (dinp ? 4.0 : 2.0) * N * IC * OC);
}
static void p_att_f(mrpc_backend *be, float *ctx, float *probs, const float *qkv, const mrpc_seqs *s, int H, int D,
                    int cls, const mrpc_dropout *d) {
    T0();
    INNER(be)->ops->attention_forward(INNER(be), ctx, probs, qkv, s, H, D, cls, d);
    T1(be, OP_ATT_F);
}
static void p_att_b(mrpc_backend *be, float *dqkv, const float *dctx, const float *qkv, const float *probs,
                    const mrpc_seqs *s, int H, int D, int cls, const mrpc_dropout *d) {
    T0();
    INNER(be)->ops->attention_backward(INNER(be), dqkv, dctx, qkv, probs, s, H, D, cls, d);
    T1(be, OP_ATT_B);
}
static void p_gelu_f(mrpc_backend *be, float *out, const float *inp, size_t n) {
    T0();
    INNER(be)->ops->gelu_forward(INNER(be), out, inp, n);
    T1(be, OP_GELU_F);
}
static void p_gelu_b(mrpc_backend *be, float *dinp, const float *inp, const float *dout, size_t n) {
    T0();
    INNER(be)->ops->gelu_backward(INNER(be), dinp, inp, dout, n);
    T1(be, OP_GELU_B);
}
static void p_relu_f(mrpc_backend *be, float *out, const float *inp, size_t n) {
    T0();
    INNER(be)->ops->relu_forward(INNER(be), out, inp, n);
    T1(be, OP_RELU_F);
}
static void p_relu_b(mrpc_backend *be, float *dinp, const float *out, const float *dout, size_t n) {
    T0();
    INNER(be)->ops->relu_backward(INNER(be), dinp, out, dout, n);
    T1(be, OP_RELU_B);
}
static void p_add(mrpc_backend *be, float *out, const float *a, const float *b, size_t n) {
    T0();
    INNER(be)->ops->add(INNER(be), out, a, b, n);
    T1(be, OP_ADD);
}
static void p_drop(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int row_len,
                   const mrpc_dropout *d) {
    T0();
    INNER(be)->ops->dropout(INNER(be), out, inp, s, row_len, d);
    T1(be, OP_DROP);
}
static void p_gather(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int C) {
    T0();
    INNER(be)->ops->gather_first(INNER(be), out, inp, s, C);
    T1(be, OP_GATHER);
}
static void p_gather_b(mrpc_backend *be, float *dinp, const float *dout, const mrpc_seqs *s, int C) {
    T0();
    INNER(be)->ops->gather_first_backward(INNER(be), dinp, dout, s, C);
    T1(be, OP_GATHER_B);
}
static void p_ce(mrpc_backend *be, float *losses, float *dlogits, const float *logits, const int32_t *labels,
                 int B, int L, float scale) {
    T0();
    INNER(be)->ops->crossentropy(INNER(be), losses, dlogits, logits, labels, B, L, scale);
    T1(be, OP_CE);
}
static double p_sumsq(mrpc_backend *be, const float *x, size_t n) {
    T0();
    double r = INNER(be)->ops->sumsq(INNER(be), x, n);
    T1(be, OP_SUMSQ);
    return r;
}
static void p_scale(mrpc_backend *be, float *x, size_t n, float s) {
    T0();
    INNER(be)->ops->scale(INNER(be), x, n, s);
    T1(be, OP_SCALE);
}
static void p_adamw(mrpc_backend *be, float *p, const float *g, float *m, float *v, size_t n,
                    const mrpc_adamw_hparams *hp) {
    T0();
    INNER(be)->ops->adamw(INNER(be), p, g, m, v, n, hp);
    T1(be, OP_ADAMW);
}

static const mrpc_backend_ops prof_ops = {
    .free = p_free, .get_error = p_get_error, .synchronize = p_synchronize, .alloc = p_alloc,
    .free_mem = p_free_mem, .copy_to_backend = p_copy_to_backend, .copy_to_host = p_copy_to_host, .copy = p_copy,
    .zero = p_zero, .seqs_prepare = p_seqs_prepare, .weights_changed = p_weights_changed,
    .embedding_forward = p_emb_f, .embedding_backward = p_emb_b, .layernorm_forward = p_ln_f,
    .layernorm_backward = p_ln_b, .linear_forward = p_lin_f, .linear_backward = p_lin_b,
    .attention_forward = p_att_f, .attention_backward = p_att_b, .gelu_forward = p_gelu_f,
    .gelu_backward = p_gelu_b, .relu_forward = p_relu_f, .relu_backward = p_relu_b, .add = p_add,
    .dropout = p_drop, .gather_first = p_gather, .gather_first_backward = p_gather_b, .crossentropy = p_ce,
    .sumsq = p_sumsq, .scale = p_scale, .adamw = p_adamw,
};

mrpc_backend *mrpc_backend_profile_wrap(mrpc_backend *inner) {
    prof_backend *p = calloc(1, sizeof *p);
    if (!p) {
        return NULL;
    }
    p->base = *inner;
    p->base.ops = &prof_ops;
    p->inner = inner;
    return &p->base;
}

int mrpc_backend_is_profile(const mrpc_backend *be) {
    return be && be->ops == &prof_ops;
}

void mrpc_backend_profile_reset(mrpc_backend *be) {
    if (!mrpc_backend_is_profile(be)) {
        return;
    }
    prof_backend *p = (prof_backend *)be;
    memset(p->seconds, 0, sizeof p->seconds);
    memset(p->calls, 0, sizeof p->calls);
    p->n_shapes = 0;
}

void mrpc_backend_profile_report(mrpc_backend *be, FILE *out) {
    if (!mrpc_backend_is_profile(be)) {
        return;
    }
    prof_backend *p = (prof_backend *)be;
    double total = 0.0;
    for (int i = 0; i < OP_COUNT; i++) {
        total += p->seconds[i];
    }
    fprintf(out, "profile: %-24s %10s %8s %6s\n", "op", "seconds", "calls", "share");
    for (int i = 0; i < OP_COUNT; i++) {
        if (p->calls[i]) {
            fprintf(out, "profile: %-24s %10.4f %8ld %5.1f%%\n", op_names[i], p->seconds[i], p->calls[i],
                    total > 0 ? 100.0 * p->seconds[i] / total : 0.0);
        }
    }
    fprintf(out, "profile: %-24s %10.4f\n", "total in ops", total);
    for (int i = 0; i < p->n_shapes; i++) {
        const shape_stat *s = &p->shapes[i];
        fprintf(out, "profile: linear %s IC=%-5d OC=%-5d %8.4f s %6ld calls %7.1f GFLOP/s\n",
                s->backward ? "bwd" : "fwd", s->IC, s->OC, s->seconds, s->calls,
                s->seconds > 0 ? s->flops / s->seconds * 1e-9 : 0.0);
    }
}

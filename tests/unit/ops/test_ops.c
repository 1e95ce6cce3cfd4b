/*
 * test_ops.c — every backend op: finite-difference checks of the backward ops against
 * the reference forward ops, and the fast CPU path against the reference loops.
 *
 * Inputs are random and fresh each run (the seed is printed; MRPC_TEST_SEED=<n> repeats
 * a run); written outputs are poisoned with NaN first, accumulated ones start from the
 * same random values on both sides.
 *
 * Finite differences: objective J = sum(out * R) for a random R, evaluated with the
 * reference op in float (its loops sum in double; only the final rounding to float
 * remains), central difference with step h per op. Checked on a random subset of
 * elements of each input with |num - ana| <= abs + rel*|ana|; tolerances per op below
 * (they are set by fp32 rounding of the outputs: noise ~ sqrt(n) * ulp(out) / h).
 *
 * Fast vs reference: fp32 tolerances set by summation order (GEMM K up to 3072) and
 * torch-style vectorised erf/exp (|err| ~ 1e-7).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cpu_backend.h"
#include "cpu_internal.h"
#include "profile.h"
#include "rng.h"
#include "testutil.h"

typedef struct tctx {
    mrpc_backend *ref;  /* reference loops, fp32 */
    mrpc_backend *fast; /* fast path, fp32, 2 threads */
    mrpc_rng      rng;
} tctx;

static float *fnew(size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void fill(tctx *t, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(lo + (hi - lo) * mrpc_rng_uniform(&t->rng));
    }
}

static void poison(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        x[i] = NAN;
    }
}

static float *fdup(const float *x, size_t n) {
    float *p = fnew(n);
    memcpy(p, x, sizeof(float) * n);
    return p;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
    }
    return s;
}

/* A packed batch: lengths, offsets, example ids. */
typedef struct batch {
    int       B;
    int32_t   len[16];
    int32_t   off[17];
    int64_t   sq[17];
    uint32_t  ex[16];
    mrpc_seqs s;
} batch;

static void batch_make(batch *bt, int B, const int32_t *len, uint32_t ex0) {
    bt->B = B;
    for (int b = 0; b < B; b++) {
        bt->len[b] = len[b];
        bt->ex[b] = ex0 + (uint32_t)b * 7u;
    }
    mrpc_error err = {0};
    CHECK_OK(mrpc_seqs_build(&bt->s, B, bt->len, bt->ex, bt->off, bt->sq, &err), &err);
}

/* Numerical-vs-analytic check of d J / d x[i] for a random subset of i. `eval` recomputes
   J with the current x. */
typedef double (*objective_fn)(void *ud);

static void fd_check(tctx *t, const char *what, float *x, size_t n, const float *ana, objective_fn eval, void *ud,
                     float h, double abs_tol, double rel_tol, int samples) {
    double worst = 0.0;
    int bad = 0;
    for (int k = 0; k < samples && k < (int)n; k++) {
        size_t i = samples >= (int)n ? (size_t)k : (size_t)mrpc_rng_below(&t->rng, n);
        float keep = x[i];
        x[i] = keep + h;
        double jp = eval(ud);
        x[i] = keep - h;
        double jm = eval(ud);
        x[i] = keep;
        double num = (jp - jm) / ((double)(keep + h) - (double)(keep - h));
        double diff = fabs(num - ana[i]);
        double lim = abs_tol + rel_tol * fabs(ana[i]);
        if (diff > lim) {
            if (bad < 3) {
                printf("  %s[%zu]: numeric %.7g analytic %.7g\n", what, i, num, (double)ana[i]);
            }
            bad++;
        }
        if (diff - lim > worst) {
            worst = diff - lim;
        }
    }
    CHECK(bad == 0, "finite differences of %s: %d of %d samples outside tolerance", what, bad, samples);
}

/* ---- embedding ------------------------------------------------------------------------ */

typedef struct emb_ud {
    tctx *t;
    batch *bt;
    int32_t *ids;
    float *wte, *wpe, *out, *R;
    int C;
} emb_ud;

static double emb_obj(void *p) {
    emb_ud *u = p;
    u->t->ref->ops->embedding_forward(u->t->ref, u->out, u->ids, u->wte, u->wpe, &u->bt->s, u->C);
    return dot(u->out, u->R, (size_t)u->bt->s.n_tok * u->C);
}

static void test_embedding(tctx *t) {
    const int V = 20, P = 12, C = 24;
    batch bt;
    batch_make(&bt, 3, (int32_t[]){5, 12, 1}, 100);
    int N = bt.s.n_tok;
    int32_t *ids = malloc(sizeof(int32_t) * N);
    for (int n = 0; n < N; n++) {
        ids[n] = (int32_t)mrpc_rng_below(&t->rng, V);
    }
    ids[1] = 0; /* a pad id inside a sequence: no gradient for row 0 */
    ids[2] = 0;
    float *wte = fnew((size_t)V * C), *wpe = fnew((size_t)P * C);
    fill(t, wte, (size_t)V * C, -1, 1);
    fill(t, wpe, (size_t)P * C, -1, 1);
    float *o_ref = fnew((size_t)N * C), *o_fast = fnew((size_t)N * C);
    poison(o_ref, (size_t)N * C);
    poison(o_fast, (size_t)N * C);
    t->ref->ops->embedding_forward(t->ref, o_ref, ids, wte, wpe, &bt.s, C);
    t->fast->ops->embedding_forward(t->fast, o_fast, ids, wte, wpe, &bt.s, C);
    CHECK_CLOSE_ARRAY(o_fast, o_ref, (size_t)N * C, 0.0, 0.0, "embedding_forward fast vs ref");

    float *R = fnew((size_t)N * C);
    fill(t, R, (size_t)N * C, -1, 1);
    float *dwte_r = fnew((size_t)V * C), *dwpe_r = fnew((size_t)P * C);
    fill(t, dwte_r, (size_t)V * C, -1, 1);
    fill(t, dwpe_r, (size_t)P * C, -1, 1);
    float *dwte_f = fdup(dwte_r, (size_t)V * C), *dwpe_f = fdup(dwpe_r, (size_t)P * C);
    float *dwte0 = fdup(dwte_r, (size_t)V * C);
    t->ref->ops->embedding_backward(t->ref, dwte_r, dwpe_r, R, ids, &bt.s, C, 0);
    t->fast->ops->embedding_backward(t->fast, dwte_f, dwpe_f, R, ids, &bt.s, C, 0);
    CHECK_CLOSE_ARRAY(dwte_f, dwte_r, (size_t)V * C, 1e-6, 1e-6, "embedding_backward dwte fast vs ref");
    CHECK_CLOSE_ARRAY(dwpe_f, dwpe_r, (size_t)P * C, 1e-6, 1e-6, "embedding_backward dwpe fast vs ref");
    CHECK(memcmp(dwte_r, dwte0, sizeof(float) * C) == 0, "pad row 0 gets no gradient");

    /* finite differences (exactly linear: tight) */
    float *gte = fnew((size_t)V * C), *gpe = fnew((size_t)P * C);
    memset(gte, 0, sizeof(float) * V * C);
    memset(gpe, 0, sizeof(float) * P * C);
    t->ref->ops->embedding_backward(t->ref, gte, gpe, R, ids, &bt.s, C, -1); /* no pad: true gradient */
    emb_ud u = {t, &bt, ids, wte, wpe, o_ref, R, C};
    fd_check(t, "embedding dwte", wte, (size_t)V * C, gte, emb_obj, &u, 1e-2f, 1e-3, 1e-3, 60);
    fd_check(t, "embedding dwpe", wpe, (size_t)P * C, gpe, emb_obj, &u, 1e-2f, 1e-3, 1e-3, 60);
    free(ids); free(wte); free(wpe); free(o_ref); free(o_fast); free(R); free(dwte_r); free(dwpe_r);
    free(dwte_f); free(dwpe_f); free(dwte0); free(gte); free(gpe);
}

/* ---- layer norm ----------------------------------------------------------------------- */

typedef struct ln_ud {
    tctx *t;
    float *inp, *w, *b, *out, *mean, *rstd, *R;
    int N, C;
} ln_ud;

static double ln_obj(void *p) {
    ln_ud *u = p;
    u->t->ref->ops->layernorm_forward(u->t->ref, u->out, u->mean, u->rstd, u->inp, u->w, u->b, u->N, u->C);
    return dot(u->out, u->R, (size_t)u->N * u->C);
}

static void test_layernorm(tctx *t, int N, int C) {
    size_t nc = (size_t)N * C;
    float *inp = fnew(nc), *w = fnew(C), *b = fnew(C);
    fill(t, inp, nc, -2, 3);
    fill(t, w, C, 0.5f, 1.5f);
    fill(t, b, C, -0.5f, 0.5f);
    float *o_r = fnew(nc), *o_f = fnew(nc), *m_r = fnew(N), *m_f = fnew(N), *r_r = fnew(N), *r_f = fnew(N);
    poison(o_r, nc); poison(o_f, nc); poison(m_r, N); poison(m_f, N); poison(r_r, N); poison(r_f, N);
    t->ref->ops->layernorm_forward(t->ref, o_r, m_r, r_r, inp, w, b, N, C);
    t->fast->ops->layernorm_forward(t->fast, o_f, m_f, r_f, inp, w, b, N, C);
    CHECK_CLOSE_ARRAY(o_f, o_r, nc, 2e-6, 2e-5, "layernorm_forward out fast vs ref");
    CHECK_CLOSE_ARRAY(m_f, m_r, N, 1e-6, 1e-5, "layernorm_forward mean fast vs ref");
    CHECK_CLOSE_ARRAY(r_f, r_r, N, 1e-6, 1e-5, "layernorm_forward rstd fast vs ref");

    float *R = fnew(nc);
    fill(t, R, nc, -1, 1);
    float *di_r = fnew(nc), *di_f = fnew(nc), *dw_r = fnew(C), *db_r = fnew(C);
    poison(di_r, nc); poison(di_f, nc);
    fill(t, dw_r, C, -1, 1);
    fill(t, db_r, C, -1, 1);
    float *dw_f = fdup(dw_r, C), *db_f = fdup(db_r, C), *dw0 = fdup(dw_r, C), *db0 = fdup(db_r, C);
    t->ref->ops->layernorm_backward(t->ref, di_r, dw_r, db_r, R, inp, w, m_r, r_r, N, C);
    t->fast->ops->layernorm_backward(t->fast, di_f, dw_f, db_f, R, inp, w, m_r, r_r, N, C);
    CHECK_CLOSE_ARRAY(di_f, di_r, nc, 1e-5, 1e-4, "layernorm_backward dinp fast vs ref");
    CHECK_CLOSE_ARRAY(dw_f, dw_r, C, 1e-5, 1e-5, "layernorm_backward dw fast vs ref");
    CHECK_CLOSE_ARRAY(db_f, db_r, C, 1e-5, 1e-5, "layernorm_backward db fast vs ref");
    /* in-place dinp == dout */
    float *inplace = fdup(R, nc), *dwx = fdup(dw0, C), *dbx = fdup(db0, C);
    t->fast->ops->layernorm_backward(t->fast, inplace, dwx, dbx, inplace, inp, w, m_r, r_r, N, C);
    CHECK_CLOSE_ARRAY(inplace, di_r, nc, 1e-5, 1e-4, "layernorm_backward in place");

    /* finite differences: gradients alone (dw, db start at zero) */
    float *gi = fnew(nc), *gw = fnew(C), *gb = fnew(C);
    memset(gw, 0, sizeof(float) * C);
    memset(gb, 0, sizeof(float) * C);
    t->ref->ops->layernorm_backward(t->ref, gi, gw, gb, R, inp, w, m_r, r_r, N, C);
    ln_ud u = {t, inp, w, b, o_r, m_r, r_r, R, N, C};
    fd_check(t, "layernorm dinp", inp, nc, gi, ln_obj, &u, 1e-2f, 2e-3, 1e-2, 40);
    fd_check(t, "layernorm dw", w, C, gw, ln_obj, &u, 1e-2f, 2e-3, 1e-2, 40);
    fd_check(t, "layernorm db", b, C, gb, ln_obj, &u, 1e-2f, 2e-3, 1e-2, 40);
    ln_obj(&u);
    free(inp); free(w); free(b); free(o_r); free(o_f); free(m_r); free(m_f); free(r_r); free(r_f); free(R);
    free(di_r); free(di_f); free(dw_r); free(db_r); free(dw_f); free(db_f); free(dw0); free(db0); free(inplace);
    free(dwx); free(dbx); free(gi); free(gw); free(gb);
}

/* ---- linear --------------------------------------------------------------------------- */

typedef struct lin_ud {
    tctx *t;
    float *inp, *w, *b, *out, *R;
    int N, IC, OC;
} lin_ud;

static double lin_obj(void *p) {
    lin_ud *u = p;
    u->t->ref->ops->linear_forward(u->t->ref, u->out, u->inp, u->w, u->b, u->N, u->IC, u->OC);
    return dot(u->out, u->R, (size_t)u->N * u->OC);
}

/* fast (be) vs reference (rb) linear forward/backward; tolerances for fp32 or bf16 */
static void compare_linear(tctx *t, mrpc_backend *be, mrpc_backend *rb, int N, int IC, int OC, int with_bias,
                           double atol, double rtol, const char *tag) {
    size_t ni = (size_t)N * IC, no = (size_t)N * OC, nw = (size_t)OC * IC;
    float *inp = fnew(ni), *w = fnew(nw), *b = fnew(OC);
    fill(t, inp, ni, -1, 1);
    fill(t, w, nw, -0.1f, 0.1f);
    fill(t, b, OC, -1, 1);
    float *o_r = fnew(no), *o_f = fnew(no);
    poison(o_r, no);
    poison(o_f, no);
    rb->ops->linear_forward(rb, o_r, inp, w, with_bias ? b : NULL, N, IC, OC);
    be->ops->linear_forward(be, o_f, inp, w, with_bias ? b : NULL, N, IC, OC);
    char what[160];
    snprintf(what, sizeof what, "%s linear_forward N=%d IC=%d OC=%d bias=%d", tag, N, IC, OC, with_bias);
    CHECK_CLOSE_ARRAY(o_f, o_r, no, atol, rtol, what);

    float *dout = fnew(no);
    fill(t, dout, no, -1, 1);
    for (int acc = 0; acc < 2; acc++) {
        float *di_r = fnew(ni), *di_f = fnew(ni), *dw_r = fnew(nw), *db_r = fnew(OC);
        if (acc) {
            fill(t, di_r, ni, -1, 1);
        } else {
            poison(di_r, ni);
        }
        memcpy(di_f, di_r, sizeof(float) * ni);
        fill(t, dw_r, nw, -1, 1);
        fill(t, db_r, OC, -1, 1);
        float *dw_f = fdup(dw_r, nw), *db_f = fdup(db_r, OC);
        rb->ops->linear_backward(rb, di_r, dw_r, with_bias ? db_r : NULL, dout, inp, w, N, IC, OC, acc);
        be->ops->linear_backward(be, di_f, dw_f, with_bias ? db_f : NULL, dout, inp, w, N, IC, OC, acc);
        snprintf(what, sizeof what, "%s linear_backward dinp N=%d IC=%d OC=%d acc=%d", tag, N, IC, OC, acc);
        CHECK_CLOSE_ARRAY(di_f, di_r, ni, atol, rtol, what);
        snprintf(what, sizeof what, "%s linear_backward dw N=%d IC=%d OC=%d", tag, N, IC, OC);
        CHECK_CLOSE_ARRAY(dw_f, dw_r, nw, atol * 4, rtol, what);
        snprintf(what, sizeof what, "%s linear_backward db N=%d OC=%d", tag, N, OC);
        CHECK_CLOSE_ARRAY(db_f, db_r, OC, 1e-4, 1e-5, what);
        free(di_r); free(di_f); free(dw_r); free(db_r); free(dw_f); free(db_f);
    }
    /* dinp NULL: only parameter gradients */
    float *dw1 = fnew(nw), *dw2 = fnew(nw);
    memset(dw1, 0, sizeof(float) * nw);
    memset(dw2, 0, sizeof(float) * nw);
    rb->ops->linear_backward(rb, NULL, dw1, NULL, dout, inp, w, N, IC, OC, 0);
    be->ops->linear_backward(be, NULL, dw2, NULL, dout, inp, w, N, IC, OC, 0);
    snprintf(what, sizeof what, "%s linear_backward without dinp", tag);
    CHECK_CLOSE_ARRAY(dw2, dw1, nw, atol * 4, rtol, what);
    free(dw1); free(dw2);
    free(inp); free(w); free(b); free(o_r); free(o_f); free(dout);
}

static void test_linear_fd(tctx *t) {
    const int N = 7, IC = 9, OC = 5;
    size_t ni = (size_t)N * IC, no = (size_t)N * OC, nw = (size_t)OC * IC;
    float *inp = fnew(ni), *w = fnew(nw), *b = fnew(OC), *out = fnew(no), *R = fnew(no);
    fill(t, inp, ni, -1, 1);
    fill(t, w, nw, -1, 1);
    fill(t, b, OC, -1, 1);
    fill(t, R, no, -1, 1);
    float *gi = fnew(ni), *gw = fnew(nw), *gb = fnew(OC);
    memset(gw, 0, sizeof(float) * nw);
    memset(gb, 0, sizeof(float) * OC);
    t->ref->ops->linear_backward(t->ref, gi, gw, gb, R, inp, w, N, IC, OC, 0);
    lin_ud u = {t, inp, w, b, out, R, N, IC, OC};
    fd_check(t, "linear dinp", inp, ni, gi, lin_obj, &u, 1e-2f, 1e-3, 1e-3, 40);
    fd_check(t, "linear dw", w, nw, gw, lin_obj, &u, 1e-2f, 1e-3, 1e-3, 40);
    fd_check(t, "linear db", b, OC, gb, lin_obj, &u, 1e-2f, 1e-3, 1e-3, 40);
    free(inp); free(w); free(b); free(out); free(R); free(gi); free(gw); free(gb);
}

/* ---- attention ------------------------------------------------------------------------ */

typedef struct att_ud {
    tctx *t;
    batch *bt;
    float *qkv, *ctx, *probs, *R;
    int H, D;
    mrpc_dropout *drop;
} att_ud;

static double att_obj(void *p) {
    att_ud *u = p;
    u->t->ref->ops->attention_forward(u->t->ref, u->ctx, u->probs, u->qkv, &u->bt->s, u->H, u->D, 0, u->drop);
    return dot(u->ctx, u->R, (size_t)u->bt->s.n_tok * u->H * u->D);
}

static void test_attention(tctx *t, int H, int D, float p, const int32_t *lens, int B, int fd_samples) {
    batch bt;
    batch_make(&bt, B, lens, 1000);
    int N = bt.s.n_tok, C = H * D;
    size_t nq = (size_t)N * 3 * C, nc = (size_t)N * C, np = (size_t)H * bt.s.sq_offsets[B];
    mrpc_dropout drop = {.p = p, .seed = 0x1234567890abcdefULL, .epoch = 3, .site = MRPC_DROPOUT_SITE_ATTENTION(1),
                         .max_pos = 64};
    float *qkv = fnew(nq);
    fill(t, qkv, nq, -1.5f, 1.5f);
    float *c_r = fnew(nc), *c_f = fnew(nc), *p_r = fnew(np), *p_f = fnew(np);
    poison(c_r, nc); poison(c_f, nc); poison(p_r, np); poison(p_f, np);
    t->ref->ops->attention_forward(t->ref, c_r, p_r, qkv, &bt.s, H, D, 0, &drop);
    t->fast->ops->attention_forward(t->fast, c_f, p_f, qkv, &bt.s, H, D, 0, &drop);
    char what[128];
    snprintf(what, sizeof what, "attention_forward probs H=%d D=%d p=%.2f", H, D, p);
    CHECK_CLOSE_ARRAY(p_f, p_r, np, 1e-6, 1e-5, what);
    snprintf(what, sizeof what, "attention_forward ctx H=%d D=%d p=%.2f", H, D, p);
    CHECK_CLOSE_ARRAY(c_f, c_r, nc, 1e-5, 1e-4, what);

    float *R = fnew(nc);
    fill(t, R, nc, -1, 1);
    float *g_r = fnew(nq), *g_f = fnew(nq);
    poison(g_r, nq);
    poison(g_f, nq);
    t->ref->ops->attention_backward(t->ref, g_r, R, qkv, p_r, &bt.s, H, D, 0, &drop);
    t->fast->ops->attention_backward(t->fast, g_f, R, qkv, p_r, &bt.s, H, D, 0, &drop);
    snprintf(what, sizeof what, "attention_backward dqkv H=%d D=%d p=%.2f", H, D, p);
    CHECK_CLOSE_ARRAY(g_f, g_r, nq, 1e-5, 1e-4, what);

    att_ud u = {t, &bt, qkv, c_r, p_r, R, H, D, &drop};
    snprintf(what, sizeof what, "attention dqkv (p=%.2f)", p);
    fd_check(t, what, qkv, nq, g_r, att_obj, &u, 1e-2f, 3e-3, 1e-2, fd_samples);
    free(qkv); free(c_r); free(c_f); free(p_r); free(p_f); free(R); free(g_r); free(g_f);
}

/* cls_only: the [CLS] query alone equals the CLS rows of the full computation, forward and
   backward (with a dctx that is zero except on the CLS rows). */
static void test_attention_cls(tctx *t, int H, int D, float p) {
    batch bt;
    batch_make(&bt, 4, (int32_t[]){6, 1, 19, 11}, 77);
    int N = bt.s.n_tok, B = bt.B, C = H * D;
    size_t nq = (size_t)N * 3 * C;
    mrpc_dropout drop = {.p = p, .seed = 5, .epoch = 0, .site = MRPC_DROPOUT_SITE_ATTENTION(5), .max_pos = 32};
    float *qkv = fnew(nq);
    fill(t, qkv, nq, -1.5f, 1.5f);
    float *cf = fnew((size_t)N * C), *pf = fnew((size_t)H * bt.s.sq_offsets[B]);
    float *cc = fnew((size_t)B * C), *pc = fnew((size_t)H * N);
    float *dctx_full = fnew((size_t)N * C), *dctx_cls = fnew((size_t)B * C);
    float *g_full = fnew(nq), *g_cls = fnew(nq);
    memset(dctx_full, 0, sizeof(float) * (size_t)N * C);
    fill(t, dctx_cls, (size_t)B * C, -1, 1);
    for (int b = 0; b < B; b++) {
        memcpy(dctx_full + (size_t)bt.off[b] * C, dctx_cls + (size_t)b * C, sizeof(float) * C);
    }
    for (int k = 0; k < 2; k++) {
        mrpc_backend *be = k ? t->fast : t->ref;
        poison(cc, (size_t)B * C);
        poison(g_cls, nq);
        be->ops->attention_forward(be, cf, pf, qkv, &bt.s, H, D, 0, &drop);
        be->ops->attention_forward(be, cc, pc, qkv, &bt.s, H, D, 1, &drop);
        float *cls_rows = fnew((size_t)B * C);
        for (int b = 0; b < B; b++) {
            memcpy(cls_rows + (size_t)b * C, cf + (size_t)bt.off[b] * C, sizeof(float) * C);
        }
        char what[96];
        snprintf(what, sizeof what, "%s attention cls_only ctx == full ctx at [CLS] (p=%.1f)", be->name, p);
        CHECK_CLOSE_ARRAY(cc, cls_rows, (size_t)B * C, 1e-6, 1e-5, what);
        be->ops->attention_backward(be, g_full, dctx_full, qkv, pf, &bt.s, H, D, 0, &drop);
        be->ops->attention_backward(be, g_cls, dctx_cls, qkv, pc, &bt.s, H, D, 1, &drop);
        snprintf(what, sizeof what, "%s attention cls_only dqkv == full dqkv (p=%.1f)", be->name, p);
        CHECK_CLOSE_ARRAY(g_cls, g_full, nq, 1e-6, 1e-5, what);
        free(cls_rows);
    }
    free(qkv); free(cf); free(pf); free(cc); free(pc); free(dctx_full); free(dctx_cls); free(g_full); free(g_cls);
}

/* A sequence's attention output does not depend on the other sequences in the batch, nor on
   its place in it (masks are keyed by example, not by row). */
static void test_attention_batch_independence(tctx *t) {
    const int H = 2, D = 8, C = H * D;
    mrpc_dropout drop = {.p = 0.3f, .seed = 99, .epoch = 1, .site = MRPC_DROPOUT_SITE_ATTENTION(0), .max_pos = 32};
    int32_t len_alone[1] = {9};
    batch a;
    batch_make(&a, 1, len_alone, 0);
    a.ex[0] = 4242;
    batch bb;
    batch_make(&bb, 3, (int32_t[]){5, 3, 9}, 0);
    bb.ex[2] = 4242;
    size_t nq_a = (size_t)a.s.n_tok * 3 * C, nq_b = (size_t)bb.s.n_tok * 3 * C;
    float *qkv_a = fnew(nq_a), *qkv_b = fnew(nq_b);
    fill(t, qkv_b, nq_b, -1, 1);
    memcpy(qkv_a, qkv_b + (size_t)bb.off[2] * 3 * C, sizeof(float) * nq_a);
    float *ca = fnew((size_t)a.s.n_tok * C), *cb = fnew((size_t)bb.s.n_tok * C);
    float *pa = fnew((size_t)H * a.s.sq_offsets[1]), *pb = fnew((size_t)H * bb.s.sq_offsets[3]);
    for (int k = 0; k < 2; k++) {
        mrpc_backend *be = k ? t->fast : t->ref;
        be->ops->attention_forward(be, ca, pa, qkv_a, &a.s, H, D, 0, &drop);
        be->ops->attention_forward(be, cb, pb, qkv_b, &bb.s, H, D, 0, &drop);
        CHECK(memcmp(ca, cb + (size_t)bb.off[2] * C, sizeof(float) * (size_t)a.s.n_tok * C) == 0,
              "%s: attention output of an example is the same alone and in a batch", be->name);
    }
    free(qkv_a); free(qkv_b); free(ca); free(cb); free(pa); free(pb);
}

/* ---- elementwise ------------------------------------------------------------------------ */

typedef struct ew_ud {
    tctx *t;
    int kind; /* 0 gelu, 1 relu, 2 dropout, 3 add(a), 4 gather */
    float *x, *x2, *out, *R;
    size_t n, n_out;
    batch *bt;
    int row_len;
    mrpc_dropout *drop;
} ew_ud;

static double ew_obj(void *p) {
    ew_ud *u = p;
    mrpc_backend *r = u->t->ref;
    switch (u->kind) {
    case 0: r->ops->gelu_forward(r, u->out, u->x, u->n); break;
    case 1: r->ops->relu_forward(r, u->out, u->x, u->n); break;
    case 2: r->ops->dropout(r, u->out, u->x, &u->bt->s, u->row_len, u->drop); break;
    case 3: r->ops->add(r, u->out, u->x, u->x2, u->n); break;
    default: r->ops->gather_first(r, u->out, u->x, &u->bt->s, u->row_len); break;
    }
    return dot(u->out, u->R, u->n_out);
}

static void test_elementwise(tctx *t) {
    const size_t n = 10007; /* not a multiple of 16 or of a thread chunk */
    float *x = fnew(n), *x2 = fnew(n), *o_r = fnew(n), *o_f = fnew(n), *R = fnew(n), *g_r = fnew(n), *g_f = fnew(n);
    fill(t, x, n, -6, 6);
    fill(t, x2, n, -1, 1);
    fill(t, R, n, -1, 1);
    /* GELU */
    poison(o_r, n); poison(o_f, n);
    t->ref->ops->gelu_forward(t->ref, o_r, x, n);
    t->fast->ops->gelu_forward(t->fast, o_f, x, n);
    CHECK_CLOSE_ARRAY(o_f, o_r, n, 4e-7, 1e-6, "gelu_forward fast vs ref");
    poison(g_r, n); poison(g_f, n);
    t->ref->ops->gelu_backward(t->ref, g_r, x, R, n);
    t->fast->ops->gelu_backward(t->fast, g_f, x, R, n);
    CHECK_CLOSE_ARRAY(g_f, g_r, n, 1e-6, 1e-6, "gelu_backward fast vs ref");
    float *inpl = fdup(R, n);
    t->fast->ops->gelu_backward(t->fast, inpl, x, inpl, n);
    CHECK_CLOSE_ARRAY(inpl, g_r, n, 1e-6, 1e-6, "gelu_backward in place");
    ew_ud u = {t, 0, x, x2, o_r, R, n, n, NULL, 0, NULL};
    fd_check(t, "gelu", x, n, g_r, ew_obj, &u, 1e-2f, 1e-3, 5e-3, 60);
    /* ReLU: keep inputs away from the kink for the finite differences */
    for (size_t i = 0; i < n; i++) {
        if (fabsf(x[i]) < 0.05f) {
            x[i] = 0.5f;
        }
    }
    t->ref->ops->relu_forward(t->ref, o_r, x, n);
    t->fast->ops->relu_forward(t->fast, o_f, x, n);
    CHECK_CLOSE_ARRAY(o_f, o_r, n, 0, 0, "relu_forward fast vs ref");
    t->ref->ops->relu_backward(t->ref, g_r, o_r, R, n);
    t->fast->ops->relu_backward(t->fast, g_f, o_r, R, n);
    CHECK_CLOSE_ARRAY(g_f, g_r, n, 0, 0, "relu_backward fast vs ref");
    u.kind = 1;
    fd_check(t, "relu", x, n, g_r, ew_obj, &u, 1e-2f, 1e-3, 1e-3, 60);
    /* add */
    t->ref->ops->add(t->ref, o_r, x, x2, n);
    t->fast->ops->add(t->fast, o_f, x, x2, n);
    CHECK_CLOSE_ARRAY(o_f, o_r, n, 0, 0, "add fast vs ref");
    float *aa = fdup(x, n);
    t->fast->ops->add(t->fast, aa, aa, x2, n);
    CHECK_CLOSE_ARRAY(aa, o_r, n, 0, 0, "add in place");
    u.kind = 3;
    fd_check(t, "add", x, n, R, ew_obj, &u, 1e-2f, 1e-3, 1e-3, 30); /* d/da (a+b).R = R */
    free(aa); free(inpl);
    free(x); free(x2); free(o_r); free(o_f); free(R); free(g_r); free(g_f);
}

/* Dropout: fast == reference mask bit for bit, rate ~ p, deterministic, batch independent. */
static void test_dropout(tctx *t) {
    const int C = 70; /* row length not a multiple of 4 or 16: exercises head/tail paths */
    batch bt;
    batch_make(&bt, 4, (int32_t[]){13, 1, 40, 7}, 500);
    size_t n = (size_t)bt.s.n_tok * C;
    mrpc_dropout drop = {.p = 0.25f, .seed = 0xfeedULL << 33, .epoch = 2, .site = MRPC_DROPOUT_SITE_FFN(3),
                         .max_pos = 512};
    float *x = fnew(n), *o_r = fnew(n), *o_f = fnew(n), *o_2 = fnew(n);
    fill(t, x, n, 0.5f, 1.5f); /* nonzero, so a zero output means dropped */
    poison(o_r, n); poison(o_f, n); poison(o_2, n);
    t->ref->ops->dropout(t->ref, o_r, x, &bt.s, C, &drop);
    t->fast->ops->dropout(t->fast, o_f, x, &bt.s, C, &drop);
    t->fast->ops->dropout(t->fast, o_2, x, &bt.s, C, &drop);
    CHECK(memcmp(o_f, o_r, sizeof(float) * n) == 0, "dropout fast == reference, bit for bit");
    CHECK(memcmp(o_f, o_2, sizeof(float) * n) == 0, "dropout: same counters give the same mask");
    size_t dropped = 0;
    int scale_ok = 1;
    for (size_t i = 0; i < n; i++) {
        if (o_r[i] == 0.0f) {
            dropped++;
        } else if (o_r[i] != x[i] * (1.0f / (1.0f - drop.p))) {
            scale_ok = 0;
        }
    }
    double rate = (double)dropped / (double)n;
    CHECK(fabs(rate - 0.25) < 0.03, "dropout rate %.4f for p=0.25 over %zu elements", rate, n);
    CHECK(scale_ok, "kept elements are scaled by 1/(1-p)");
    /* in place */
    float *ip = fdup(x, n);
    t->fast->ops->dropout(t->fast, ip, ip, &bt.s, C, &drop);
    CHECK(memcmp(ip, o_r, sizeof(float) * n) == 0, "dropout in place");
    /* other seed / epoch / site give other masks */
    mrpc_dropout d2 = drop;
    d2.epoch = 3;
    t->fast->ops->dropout(t->fast, o_2, x, &bt.s, C, &d2);
    CHECK(memcmp(o_2, o_r, sizeof(float) * n) != 0, "another epoch gives another mask");
    /* batch independence: sequence 2 (example 514) alone in a batch gives the same rows */
    batch one;
    batch_make(&one, 1, (int32_t[]){40}, 514);
    CHECK(one.ex[0] == bt.ex[2], "same example id");
    t->fast->ops->dropout(t->fast, o_2, x + (size_t)bt.off[2] * C, &one.s, C, &drop);
    CHECK(memcmp(o_2, o_r + (size_t)bt.off[2] * C, sizeof(float) * 40 * C) == 0,
          "dropout mask of an example does not depend on its batch");
    /* p = 0: identity */
    mrpc_dropout d0 = drop;
    d0.p = 0.0f;
    t->fast->ops->dropout(t->fast, o_2, x, &bt.s, C, &d0);
    CHECK(memcmp(o_2, x, sizeof(float) * n) == 0, "p = 0 is the identity");
    /* finite differences (linear in x) */
    float *R = fnew(n), *g = fnew(n);
    fill(t, R, n, -1, 1);
    t->ref->ops->dropout(t->ref, g, R, &bt.s, C, &drop); /* backward = same mask on dout */
    ew_ud u = {t, 2, x, NULL, o_r, R, n, n, &bt, C, &drop};
    fd_check(t, "dropout", x, n, g, ew_obj, &u, 1e-2f, 1e-3, 1e-3, 60);
    /* every code path of the multiplier generator (AVX2, portable vectors, scalar) agrees
       with the scalar rule, for unaligned starts and odd counts */
    float ma[300], mb[300], mc[300];
    uint32_t starts[4] = {0, 1, 6, 4093};
    for (int k = 0; k < 4; k++) {
        int cnt = 37 + 87 * k;
        cpu_vec_dropout_mults_path(ma, &drop, 12345u, starts[k], cnt, 0);
        cpu_vec_dropout_mults_path(mb, &drop, 12345u, starts[k], cnt, 1);
        cpu_vec_dropout_mults_path(mc, &drop, 12345u, starts[k], cnt, 2);
        int same = 1;
        for (int i = 0; i < cnt; i++) {
            float want = mrpc_dropout_mult(&drop, 12345u, starts[k] + (uint32_t)i);
            same &= ma[i] == want && mb[i] == want && mc[i] == want;
        }
        CHECK(same, "dropout multiplier paths agree (start %u, count %d)", starts[k], cnt);
    }
    /* the documented rule, one element by hand */
    uint32_t pos = 5u * C + 17u;
    float m = mrpc_dropout_mult(&drop, bt.ex[0], pos);
    CHECK(o_r[(size_t)5 * C + 17] == x[(size_t)5 * C + 17] * m, "element (b=0,t=5,c=17) uses position t*C+c");
    free(x); free(o_r); free(o_f); free(o_2); free(ip); free(R); free(g);
}

static void test_gather_and_loss(tctx *t) {
    const int C = 6, L = 3;
    batch bt;
    batch_make(&bt, 3, (int32_t[]){4, 1, 6}, 0);
    size_t n = (size_t)bt.s.n_tok * C;
    float *x = fnew(n), *o = fnew((size_t)3 * C), *R = fnew((size_t)3 * C), *g_r = fnew(n), *g_f = fnew(n);
    fill(t, x, n, -1, 1);
    fill(t, R, (size_t)3 * C, -1, 1);
    t->fast->ops->gather_first(t->fast, o, x, &bt.s, C);
    CHECK(memcmp(o + C, x + (size_t)4 * C, sizeof(float) * C) == 0, "gather_first takes row offsets[b]");
    poison(g_r, n); poison(g_f, n);
    t->ref->ops->gather_first_backward(t->ref, g_r, R, &bt.s, C);
    t->fast->ops->gather_first_backward(t->fast, g_f, R, &bt.s, C);
    CHECK_CLOSE_ARRAY(g_f, g_r, n, 0, 0, "gather_first_backward fast vs ref");
    ew_ud u = {t, 4, x, NULL, o, R, n, (size_t)3 * C, &bt, C, NULL};
    fd_check(t, "gather_first", x, n, g_r, ew_obj, &u, 1e-2f, 1e-3, 1e-3, 40);

    /* cross-entropy: values by hand and finite differences */
    float logits[6] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};
    int32_t labels[2] = {1, 0};
    float losses[2], dl[6];
    t->fast->ops->crossentropy(t->fast, losses, dl, logits, labels, 2, L, 0.5f);
    double lse0 = log(exp(1.0) + exp(2.0) + exp(0.5)), lse1 = log(exp(-1.0) + exp(0.0) + exp(3.0));
    CHECK_CLOSE(losses[0], lse0 - 2.0, 1e-6, 1e-6, "CE loss row 0");
    CHECK_CLOSE(losses[1], lse1 + 1.0, 1e-6, 1e-6, "CE loss row 1");
    CHECK_CLOSE(dl[1], (exp(2.0 - lse0) - 1.0) * 0.5, 1e-7, 1e-6, "CE grad (label, scaled)");
    CHECK_CLOSE(dl[5], exp(3.0 - lse1) * 0.5, 1e-7, 1e-6, "CE grad (other, scaled)");
    for (int i = 0; i < 6; i++) {
        float keep = logits[i];
        logits[i] = keep + 1e-2f;
        t->ref->ops->crossentropy(t->ref, losses, NULL, logits, labels, 2, L, 1.0f);
        double jp = 0.5 * ((double)losses[0] + losses[1]);
        logits[i] = keep - 1e-2f;
        t->ref->ops->crossentropy(t->ref, losses, NULL, logits, labels, 2, L, 1.0f);
        double jm = 0.5 * ((double)losses[0] + losses[1]);
        logits[i] = keep;
        CHECK_CLOSE((jp - jm) / 2e-2, dl[i], 1e-4, 1e-3, "CE finite difference (mean over 2 = scale 0.5)");
    }
    free(x); free(o); free(R); free(g_r); free(g_f);
}

/* sumsq / scale / adamw fast vs reference over a slab with odd length */
static void test_optimizer_ops(tctx *t) {
    const size_t n = 1000003;
    float *g = fnew(n);
    fill(t, g, n, -1, 1);
    double s_r = t->ref->ops->sumsq(t->ref, g, n), s_f = t->fast->ops->sumsq(t->fast, g, n);
    CHECK_CLOSE(s_f, s_r, 0.0, 1e-9, "sumsq fast vs ref");
    float *a = fdup(g, n), *b = fdup(g, n);
    t->ref->ops->scale(t->ref, a, n, 0.37f);
    t->fast->ops->scale(t->fast, b, n, 0.37f);
    CHECK(memcmp(a, b, sizeof(float) * n) == 0, "scale fast == ref");
    float *p1 = fnew(n), *m1 = fnew(n), *v1 = fnew(n);
    fill(t, p1, n, -1, 1);
    fill(t, m1, n, -0.1f, 0.1f);
    fill(t, v1, n, 0.0f, 0.01f);
    float *p2 = fdup(p1, n), *m2 = fdup(m1, n), *v2 = fdup(v1, n);
    mrpc_adamw_hparams hp = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .step = 3};
    t->ref->ops->adamw(t->ref, p1, g, m1, v1, n, &hp);
    t->fast->ops->adamw(t->fast, p2, g, m2, v2, n, &hp);
    CHECK_CLOSE_ARRAY(p2, p1, n, 0, 1e-7, "adamw p fast vs ref");
    CHECK_CLOSE_ARRAY(m2, m1, n, 0, 1e-7, "adamw m fast vs ref");
    CHECK_CLOSE_ARRAY(v2, v1, n, 0, 1e-7, "adamw v fast vs ref");
    free(g); free(a); free(b); free(p1); free(m1); free(v1); free(p2); free(m2); free(v2);
}

static void test_bf16(tctx *t) {
    if (!mrpc_backend_cpu_has_bf16()) {
        mrpc_backend *be = NULL;
        mrpc_error err = {0};
        mrpc_backend_options o = {.kind = MRPC_BACKEND_CPU, .precision = MRPC_PRECISION_BF16, .n_threads = 2};
        CHECK(mrpc_backend_create(&o, &be, &err) == MRPC_ERR_UNSUPPORTED, "bf16 rejected without oneDNN");
        CHECK(strstr(err.message, "unsupported in this build") != NULL, "message: %s", err.message);
        printf("bf16: not in this build, skipped\n");
        return;
    }
    mrpc_backend *fb = NULL, *rb = NULL;
    mrpc_error err = {0};
    mrpc_backend_options of = {.kind = MRPC_BACKEND_CPU, .precision = MRPC_PRECISION_BF16, .n_threads = 2};
    mrpc_backend_options orf = {.kind = MRPC_BACKEND_CPU_REF, .precision = MRPC_PRECISION_BF16, .n_threads = 1};
    CHECK_OK(mrpc_backend_create(&of, &fb, &err), &err);
    CHECK_OK(mrpc_backend_create(&orf, &rb, &err), &err);
    if (!fb || !rb) {
        return;
    }
    /* oneDNN bf16 x bf16 -> f32 against the emulated reference (same bf16 rounding of the
       operands, exact products; only the f32 summation order differs) */
    printf("bf16 backend: %s\n", fb->name);
    compare_linear(t, fb, rb, 37, 64, 48, 1, 1e-5, 1e-4, "bf16");
    compare_linear(t, fb, rb, 128, 96, 160, 0, 1e-5, 1e-4, "bf16");
    CHECK_OK(fb->ops->get_error(fb, &err), &err);
    mrpc_backend_free(fb);
    mrpc_backend_free(rb);
    /* the oneDNN matmul code path itself, with f32 operands (runs on any CPU): forward with
       and without bias, dX with and without accumulation, dW with the sum post-op, weights
       inside a registered slab (cached) and outside it */
    mrpc_backend *ob = NULL;
    CHECK_OK(mrpc_backend_create(&of, &ob, &err), &err);
    if (ob && cpu_bf16_set_f32_check(ob)) {
        printf("oneDNN path check: %s\n", ob->name);
        compare_linear(t, ob, t->ref, 37, 64, 48, 1, 1e-5, 1e-5, "onednn-f32");
        compare_linear(t, ob, t->ref, 130, 96, 160, 0, 1e-5, 1e-5, "onednn-f32");
        float *slab = fnew(48 * 64 + 16), *x = fnew(5 * 64), *y1 = fnew(5 * 48), *y2 = fnew(5 * 48);
        fill(t, slab, 48 * 64 + 16, -0.1f, 0.1f);
        fill(t, x, 5 * 64, -1, 1);
        ob->ops->weights_changed(ob, slab, 48 * 64 + 16);
        ob->ops->linear_forward(ob, y1, x, slab + 16, NULL, 5, 64, 48);            /* cached copy */
        t->ref->ops->linear_forward(t->ref, y2, x, slab + 16, NULL, 5, 64, 48);
        CHECK_CLOSE_ARRAY(y1, y2, 5 * 48, 1e-5, 1e-5, "oneDNN path, weight in the registered slab");
        for (int i = 0; i < 48 * 64; i++) {
            slab[16 + i] *= -2.0f;                                               /* an optimizer step */
        }
        ob->ops->weights_changed(ob, slab, 48 * 64 + 16);
        ob->ops->linear_forward(ob, y1, x, slab + 16, NULL, 5, 64, 48);
        t->ref->ops->linear_forward(t->ref, y2, x, slab + 16, NULL, 5, 64, 48);
        CHECK_CLOSE_ARRAY(y1, y2, 5 * 48, 1e-5, 1e-5, "oneDNN path, cached weight refreshed after weights_changed");
        CHECK_OK(ob->ops->get_error(ob, &err), &err);
        free(slab); free(x); free(y1); free(y2);
    }
    mrpc_backend_free(ob);
}

/* The profiling wrapper forwards every op unchanged and counts it. */
static void test_profile_wrapper(tctx *t) {
    mrpc_backend *inner = NULL;
    mrpc_error err = {0};
    mrpc_backend_options o = {.kind = MRPC_BACKEND_CPU, .precision = MRPC_PRECISION_FP32, .n_threads = 2};
    if (!CHECK_OK(mrpc_backend_create(&o, &inner, &err), &err)) {
        return;
    }
    mrpc_backend *p = mrpc_backend_profile_wrap(inner);
    CHECK(p && mrpc_backend_is_profile(p) && !mrpc_backend_is_profile(t->fast), "wrapper created");
    if (!p) {
        mrpc_backend_free(inner);
        return;
    }
    float x[6 * 8], w[5 * 8], y1[6 * 5], y2[6 * 5];
    fill(t, x, 48, -1, 1);
    fill(t, w, 40, -1, 1);
    p->ops->linear_forward(p, y1, x, w, NULL, 6, 8, 5);
    t->fast->ops->linear_forward(t->fast, y2, x, w, NULL, 6, 8, 5);
    CHECK(memcmp(y1, y2, sizeof y1) == 0, "wrapped op gives the same result");
    char buf[4096] = {0};
    FILE *f = tmpfile();
    if (f) {
        mrpc_backend_profile_report(p, f);
        rewind(f);
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        buf[got] = 0;
        fclose(f);
        CHECK(strstr(buf, "linear_forward") != NULL && strstr(buf, "IC=8") != NULL, "report lists the op:\n%s", buf);
    }
    mrpc_backend_free(p); /* frees the inner backend too */
}

int main(void) {
    tctx t;
    mrpc_error err = {0};
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    const char *env = getenv("MRPC_TEST_SEED");
    if (env) {
        seed = strtoull(env, NULL, 10);
    }
    printf("test_ops: seed %llu (MRPC_TEST_SEED=%llu to repeat)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    mrpc_rng_init(&t.rng, seed, MRPC_RNG_TEST, 0);
    mrpc_backend_options oref = {.kind = MRPC_BACKEND_CPU_REF, .precision = MRPC_PRECISION_FP32, .n_threads = 1};
    mrpc_backend_options ofast = {.kind = MRPC_BACKEND_CPU, .precision = MRPC_PRECISION_FP32, .n_threads = 2};
    if (!CHECK_OK(mrpc_backend_create(&oref, &t.ref, &err), &err) ||
        !CHECK_OK(mrpc_backend_create(&ofast, &t.fast, &err), &err)) {
        return mrpc_test_report();
    }
    test_embedding(&t);
    test_layernorm(&t, 9, 32);
    test_layernorm(&t, 33, 768);
    test_linear_fd(&t);
    compare_linear(&t, t.fast, t.ref, 1, 8, 3, 1, 1e-5, 1e-5, "fp32");
    compare_linear(&t, t.fast, t.ref, 37, 64, 48, 1, 1e-5, 1e-5, "fp32");
    compare_linear(&t, t.fast, t.ref, 130, 768, 96, 1, 3e-5, 1e-5, "fp32");
    compare_linear(&t, t.fast, t.ref, 64, 96, 3072, 0, 1e-5, 1e-5, "fp32");
    test_attention(&t, 2, 8, 0.0f, (int32_t[]){5, 1, 12}, 3, 80);
    test_attention(&t, 3, 16, 0.2f, (int32_t[]){17, 33, 2, 8}, 4, 80);
    test_attention(&t, 12, 64, 0.1f, (int32_t[]){64, 3}, 2, 12);
    test_attention_batch_independence(&t);
    test_attention_cls(&t, 2, 8, 0.0f);
    test_attention_cls(&t, 4, 16, 0.3f);
    test_elementwise(&t);
    test_dropout(&t);
    test_gather_and_loss(&t);
    test_optimizer_ops(&t);
    test_bf16(&t);
    test_profile_wrapper(&t);
    CHECK_OK(t.fast->ops->get_error(t.fast, &err), &err);
    CHECK_OK(t.ref->ops->get_error(t.ref, &err), &err);
    mrpc_backend_free(t.ref);
    mrpc_backend_free(t.fast);
    return mrpc_test_report();
}

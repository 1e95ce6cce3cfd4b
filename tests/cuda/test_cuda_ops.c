/*
 * test_cuda_ops.c — every op of the CUDA backend against the CPU reference loops.
 *
 * Each op runs on "cpu-ref" (plain loops, sums in double: the ground truth) and on
 * "cuda" with the same random inputs (fresh each run; the seed is printed and
 * MRPC_TEST_SEED=<n> repeats a run). Written GPU outputs start as NaN (poisoned), so an
 * element an op forgot to write fails; accumulated outputs start from the same random
 * values on both sides.
 *
 * Tolerances, |gpu - ref| <= abs + rel*|ref|:
 *   exact (memcmp)   embedding forward/backward (same summation order as the reference),
 *                    dropout masks (bit for bit, backend.h), relu, add, scale, gather,
 *                    AdamW (same float operations, no FMA contraction);
 *   fp32             set by float summation order against the reference's double sums
 *                    (as the fast CPU path in tests/unit/ops): layernorm 2e-6/2e-5,
 *                    linear 1e-5..3e-5 / 1e-5, attention 1e-5/1e-4, GELU 4e-7/1e-6;
 *   bf16             GEMMs against cpu-ref bf16 (the same bf16 rounding of the operands,
 *                    exact products, fp32 vs double accumulation): 1e-5/1e-4.
 *
 * Exits 77 (ctest "Not Run") when there is no CUDA device.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cuda_backend.h"
#include "rng.h"
#include "testutil.h"

typedef struct tctx {
    mrpc_backend *ref, *ref16; /* cpu-ref, fp32 and bf16 (emulated) */
    mrpc_backend *gpu, *gpu16; /* cuda, fp32 and bf16 */
    mrpc_rng      rng;
} tctx;

/* ---- host and device buffers ----------------------------------------------------------- */

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static float *fnew(size_t n) {
    return xmalloc(sizeof(float) * n);
}

static void fill(tctx *t, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(lo + (hi - lo) * mrpc_rng_uniform(&t->rng));
    }
}

static float *fdup(const float *x, size_t n) {
    float *p = fnew(n);
    memcpy(p, x, sizeof(float) * n);
    return p;
}

/* Device buffer of n_bytes holding `host`, or NaN bytes (0xff) when host is NULL. */
static void *dmem(mrpc_backend *g, const void *host, size_t n_bytes) {
    void *d = g->ops->alloc(g, n_bytes);
    if (!d) {
        mrpc_error err = {0};
        g->ops->get_error(g, &err);
        fprintf(stderr, "device allocation of %zu bytes failed: %s\n", n_bytes, err.message);
        exit(1);
    }
    if (host) {
        g->ops->copy_to_backend(g, d, host, n_bytes);
    } else {
        unsigned char *nan = xmalloc(n_bytes);
        memset(nan, 0xff, n_bytes);
        g->ops->copy_to_backend(g, d, nan, n_bytes);
        free(nan);
    }
    return d;
}

static float *dup_f(mrpc_backend *g, const float *h, size_t n) {
    return dmem(g, h, sizeof(float) * n);
}

static float *dpoison(mrpc_backend *g, size_t n) {
    return dmem(g, NULL, sizeof(float) * n);
}

static void fetch(mrpc_backend *g, float *host, const float *dev, size_t n) {
    g->ops->copy_to_host(g, host, dev, sizeof(float) * n);
}

static void dfree(mrpc_backend *g, void *d) {
    g->ops->free_mem(g, d);
}

static int same(const float *a, const float *b, size_t n) {
    return memcmp(a, b, sizeof(float) * n) == 0;
}

/* Checks the backend's sticky error after a group of ops. */
static void check_backend(mrpc_backend *g, const char *what) {
    mrpc_error err = {0};
    if (g->ops->synchronize) {
        g->ops->synchronize(g);
    }
    if (!CHECK(g->ops->get_error(g, &err) == MRPC_OK, "%s: backend error: %s", what, err.message)) {
        exit(mrpc_test_report()); /* a sticky device error makes everything after it noise */
    }
}

/* A packed batch (host arrays) plus its device copy on the GPU backends. */
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

/* seqs_prepare on `g` (the CPU reference ignores s.device). */
static void batch_prepare(mrpc_backend *g, batch *bt) {
    g->ops->seqs_prepare(g, &bt->s);
    CHECK(bt->s.device != NULL, "seqs_prepare made a device copy");
}

/* ---- memory ------------------------------------------------------------------------------- */

static void test_memory(tctx *t) {
    mrpc_backend *g = t->gpu;
    const size_t n = 100003;
    float *d = g->ops->alloc(g, sizeof(float) * n);
    float *h = fnew(n), *h2 = fnew(n);
    fetch(g, h, d, n);
    int zero = 1;
    for (size_t i = 0; i < n; i++) {
        zero &= h[i] == 0.0f;
    }
    CHECK(zero, "alloc returns zero-filled memory");
    fill(t, h, n, -1, 1);
    g->ops->copy_to_backend(g, d, h, sizeof(float) * n);
    float *d2 = g->ops->alloc(g, sizeof(float) * n);
    g->ops->copy(g, d2, d, sizeof(float) * n);
    fetch(g, h2, d2, n);
    CHECK(same(h, h2, n), "copy_to_backend + copy + copy_to_host round-trip");
    g->ops->zero(g, d2 + 10, sizeof(float) * 5);
    fetch(g, h2, d2, n);
    CHECK(h2[9] == h[9] && h2[10] == 0.0f && h2[14] == 0.0f && h2[15] == h[15], "zero clears exactly its range");
    void *z = g->ops->alloc(g, 0);
    CHECK(z != NULL, "alloc(0) gives a valid pointer");
    g->ops->free_mem(g, z);
    g->ops->free_mem(g, NULL);
    dfree(g, d);
    dfree(g, d2);
    free(h);
    free(h2);
    check_backend(g, "memory");
}

/* ---- embedding ---------------------------------------------------------------------------- */

static void test_embedding(tctx *t, int C, int pad_id) {
    const int V = 20, P = 40;
    batch bt;
    batch_make(&bt, 4, (int32_t[]){5, 33, 1, 12}, 100);
    batch_prepare(t->gpu, &bt);
    const int N = bt.s.n_tok;
    int32_t *ids = xmalloc(sizeof(int32_t) * (size_t)N);
    for (int n = 0; n < N; n++) {
        ids[n] = (int32_t)mrpc_rng_below(&t->rng, V); /* 20 ids over 51 rows: many repeats */
    }
    ids[1] = 0;
    ids[7] = 0; /* pad rows inside sequences */
    size_t nte = (size_t)V * C, npe = (size_t)P * C, no = (size_t)N * C;
    float *wte = fnew(nte), *wpe = fnew(npe), *o_r = fnew(no), *o_g = fnew(no);
    fill(t, wte, nte, -1, 1);
    fill(t, wpe, npe, -1, 1);
    mrpc_backend *g = t->gpu;
    int32_t *d_ids = dmem(g, ids, sizeof(int32_t) * (size_t)N);
    float *d_wte = dup_f(g, wte, nte), *d_wpe = dup_f(g, wpe, npe), *d_o = dpoison(g, no);
    t->ref->ops->embedding_forward(t->ref, o_r, ids, wte, wpe, &bt.s, C);
    g->ops->embedding_forward(g, d_o, d_ids, d_wte, d_wpe, &bt.s, C);
    fetch(g, o_g, d_o, no);
    CHECK(same(o_g, o_r, no), "embedding_forward C=%d: gpu == reference bitwise", C);

    float *dout = fnew(no), *dte_r = fnew(nte), *dpe_r = fnew(npe), *dte_g = fnew(nte), *dpe_g = fnew(npe);
    fill(t, dout, no, -1, 1);
    fill(t, dte_r, nte, -1, 1); /* accumulate onto random values */
    fill(t, dpe_r, npe, -1, 1);
    float *d_dout = dup_f(g, dout, no), *d_dte = dup_f(g, dte_r, nte), *d_dpe = dup_f(g, dpe_r, npe);
    float *dte0 = fdup(dte_r, nte);
    t->ref->ops->embedding_backward(t->ref, dte_r, dpe_r, dout, ids, &bt.s, C, pad_id);
    g->ops->embedding_backward(g, d_dte, d_dpe, d_dout, d_ids, &bt.s, C, pad_id);
    fetch(g, dte_g, d_dte, nte);
    fetch(g, dpe_g, d_dpe, npe);
    CHECK(same(dte_g, dte_r, nte), "embedding_backward dwte C=%d pad=%d: gpu == reference bitwise", C, pad_id);
    CHECK(same(dpe_g, dpe_r, npe), "embedding_backward dwpe C=%d: gpu == reference bitwise", C);
    if (pad_id == 0) {
        CHECK(same(dte_g, dte0, (size_t)C), "pad row 0 gets no gradient");
    }
    check_backend(g, "embedding");
    dfree(g, d_ids); dfree(g, d_wte); dfree(g, d_wpe); dfree(g, d_o); dfree(g, d_dout); dfree(g, d_dte);
    dfree(g, d_dpe);
    free(ids); free(wte); free(wpe); free(o_r); free(o_g); free(dout); free(dte_r); free(dpe_r); free(dte_g);
    free(dpe_g); free(dte0);
}

/* ---- layer norm --------------------------------------------------------------------------- */

static void test_layernorm(tctx *t, int N, int C) {
    mrpc_backend *g = t->gpu, *r = t->ref;
    size_t nc = (size_t)N * C;
    float *inp = fnew(nc), *w = fnew(C), *b = fnew(C);
    fill(t, inp, nc, -2, 3);
    fill(t, w, C, 0.5f, 1.5f);
    fill(t, b, C, -0.5f, 0.5f);
    float *o_r = fnew(nc), *m_r = fnew(N), *s_r = fnew(N), *o_g = fnew(nc), *m_g = fnew(N), *s_g = fnew(N);
    r->ops->layernorm_forward(r, o_r, m_r, s_r, inp, w, b, N, C);
    float *d_inp = dup_f(g, inp, nc), *d_w = dup_f(g, w, C), *d_b = dup_f(g, b, C);
    float *d_o = dpoison(g, nc), *d_m = dpoison(g, N), *d_s = dpoison(g, N);
    g->ops->layernorm_forward(g, d_o, d_m, d_s, d_inp, d_w, d_b, N, C);
    fetch(g, o_g, d_o, nc);
    fetch(g, m_g, d_m, N);
    fetch(g, s_g, d_s, N);
    char what[128];
    snprintf(what, sizeof what, "layernorm_forward out N=%d C=%d", N, C);
    CHECK_CLOSE_ARRAY(o_g, o_r, nc, 2e-6, 2e-5, what);
    CHECK_CLOSE_ARRAY(m_g, m_r, N, 1e-6, 1e-5, "layernorm_forward mean");
    CHECK_CLOSE_ARRAY(s_g, s_r, N, 1e-6, 1e-5, "layernorm_forward rstd");

    float *dout = fnew(nc), *dw_r = fnew(C), *db_r = fnew(C), *di_r = fnew(nc);
    fill(t, dout, nc, -1, 1);
    fill(t, dw_r, C, -1, 1);
    fill(t, db_r, C, -1, 1);
    float *d_dout = dup_f(g, dout, nc), *d_dw = dup_f(g, dw_r, C), *d_db = dup_f(g, db_r, C), *d_di = dpoison(g, nc);
    float *d_dw2 = dup_f(g, dw_r, C), *d_db2 = dup_f(g, db_r, C);
    r->ops->layernorm_backward(r, di_r, dw_r, db_r, dout, inp, w, m_r, s_r, N, C);
    g->ops->layernorm_backward(g, d_di, d_dw, d_db, d_dout, d_inp, d_w, d_m, d_s, N, C);
    float *di_g = fnew(nc), *dw_g = fnew(C), *db_g = fnew(C);
    fetch(g, di_g, d_di, nc);
    fetch(g, dw_g, d_dw, C);
    fetch(g, db_g, d_db, C);
    snprintf(what, sizeof what, "layernorm_backward dinp N=%d C=%d", N, C);
    CHECK_CLOSE_ARRAY(di_g, di_r, nc, 1e-5, 1e-4, what);
    CHECK_CLOSE_ARRAY(dw_g, dw_r, C, 1e-5, 1e-5, "layernorm_backward dw (accumulated)");
    CHECK_CLOSE_ARRAY(db_g, db_r, C, 1e-5, 1e-5, "layernorm_backward db (accumulated)");
    /* dinp aliasing dout (the model does this) */
    g->ops->layernorm_backward(g, d_dout, d_dw2, d_db2, d_dout, d_inp, d_w, d_m, d_s, N, C);
    fetch(g, di_g, d_dout, nc);
    CHECK_CLOSE_ARRAY(di_g, di_r, nc, 1e-5, 1e-4, "layernorm_backward in place (dinp == dout)");
    fetch(g, dw_g, d_dw2, C);
    CHECK_CLOSE_ARRAY(dw_g, dw_r, C, 1e-5, 1e-5, "layernorm_backward in place: dw");
    check_backend(g, "layernorm");
    dfree(g, d_inp); dfree(g, d_w); dfree(g, d_b); dfree(g, d_o); dfree(g, d_m); dfree(g, d_s); dfree(g, d_dout);
    dfree(g, d_dw); dfree(g, d_db); dfree(g, d_di); dfree(g, d_dw2); dfree(g, d_db2);
    free(inp); free(w); free(b); free(o_r); free(m_r); free(s_r); free(o_g); free(m_g); free(s_g); free(dout);
    free(dw_r); free(db_r); free(di_r); free(di_g); free(dw_g); free(db_g);
}

/* ---- linear ------------------------------------------------------------------------------- */

/* gpu backend g against reference rb. in_slab: w lives inside a larger device "parameter
   slab" announced with weights_changed (the bf16 mirror path), else a standalone buffer. */
static void test_linear(tctx *t, mrpc_backend *g, mrpc_backend *rb, int N, int IC, int OC, int with_bias,
                        int in_slab, double atol, double rtol, const char *tag) {
    size_t ni = (size_t)N * IC, no = (size_t)N * OC, nw = (size_t)OC * IC;
    float *inp = fnew(ni), *w = fnew(nw), *b = fnew(OC);
    fill(t, inp, ni, -1, 1);
    fill(t, w, nw, -0.1f, 0.1f);
    fill(t, b, OC, -1, 1);
    float *d_inp = dup_f(g, inp, ni), *d_b = dup_f(g, b, OC), *d_slab = NULL, *d_w;
    const size_t pre = 37, post = 11; /* w at an odd offset inside the slab */
    if (in_slab) {
        float *slab = fnew(pre + nw + post);
        fill(t, slab, pre + nw + post, -1, 1);
        memcpy(slab + pre, w, sizeof(float) * nw);
        d_slab = dup_f(g, slab, pre + nw + post);
        g->ops->weights_changed(g, d_slab, pre + nw + post);
        d_w = d_slab + pre;
        free(slab);
    } else {
        d_w = dup_f(g, w, nw);
    }
    char what[200];
    float *o_r = fnew(no), *o_g = fnew(no), *d_o = dpoison(g, no);
    rb->ops->linear_forward(rb, o_r, inp, w, with_bias ? b : NULL, N, IC, OC);
    g->ops->linear_forward(g, d_o, d_inp, d_w, with_bias ? d_b : NULL, N, IC, OC);
    fetch(g, o_g, d_o, no);
    snprintf(what, sizeof what, "%s linear_forward N=%d IC=%d OC=%d bias=%d slab=%d", tag, N, IC, OC, with_bias,
             in_slab);
    CHECK_CLOSE_ARRAY(o_g, o_r, no, atol, rtol, what);

    float *dout = fnew(no);
    fill(t, dout, no, -1, 1);
    float *d_dout = dup_f(g, dout, no);
    for (int acc = 0; acc < 2; acc++) {
        float *di_r = fnew(ni), *dw_r = fnew(nw), *db_r = fnew(OC), *di_g = fnew(ni), *dw_g = fnew(nw),
              *db_g = fnew(OC);
        fill(t, di_r, ni, -1, 1);
        fill(t, dw_r, nw, -1, 1);
        fill(t, db_r, OC, -1, 1);
        float *d_di = acc ? dup_f(g, di_r, ni) : dpoison(g, ni), *d_dw = dup_f(g, dw_r, nw), *d_db = dup_f(g, db_r, OC);
        rb->ops->linear_backward(rb, di_r, dw_r, with_bias ? db_r : NULL, dout, inp, w, N, IC, OC, acc);
        g->ops->linear_backward(g, d_di, d_dw, with_bias ? d_db : NULL, d_dout, d_inp, d_w, N, IC, OC, acc);
        fetch(g, di_g, d_di, ni);
        fetch(g, dw_g, d_dw, nw);
        fetch(g, db_g, d_db, OC);
        snprintf(what, sizeof what, "%s linear_backward dinp N=%d IC=%d OC=%d acc=%d slab=%d", tag, N, IC, OC, acc,
                 in_slab);
        CHECK_CLOSE_ARRAY(di_g, di_r, ni, atol, rtol, what);
        snprintf(what, sizeof what, "%s linear_backward dw N=%d IC=%d OC=%d", tag, N, IC, OC);
        CHECK_CLOSE_ARRAY(dw_g, dw_r, nw, atol * 4, rtol, what);
        snprintf(what, sizeof what, "%s linear_backward db N=%d OC=%d bias=%d", tag, N, OC, with_bias);
        CHECK_CLOSE_ARRAY(db_g, db_r, OC, 1e-4, 1e-5, what);
        dfree(g, d_di); dfree(g, d_dw); dfree(g, d_db);
        free(di_r); free(dw_r); free(db_r); free(di_g); free(dw_g); free(db_g);
    }
    /* dinp NULL: parameter gradients only */
    float *dw1 = fnew(nw), *dw2 = fnew(nw);
    memset(dw1, 0, sizeof(float) * nw);
    float *d_dw = dup_f(g, dw1, nw);
    rb->ops->linear_backward(rb, NULL, dw1, NULL, dout, inp, w, N, IC, OC, 0);
    g->ops->linear_backward(g, NULL, d_dw, NULL, d_dout, d_inp, d_w, N, IC, OC, 0);
    fetch(g, dw2, d_dw, nw);
    snprintf(what, sizeof what, "%s linear_backward without dinp", tag);
    CHECK_CLOSE_ARRAY(dw2, dw1, nw, atol * 4, rtol, what);
    check_backend(g, tag);
    if (in_slab) {
        dfree(g, d_slab); /* also drops the bf16 mirror of it */
    } else {
        dfree(g, d_w);
    }
    dfree(g, d_inp); dfree(g, d_b); dfree(g, d_o); dfree(g, d_dout); dfree(g, d_dw);
    free(inp); free(w); free(b); free(o_r); free(o_g); free(dout); free(dw1); free(dw2);
}

/* ---- attention ---------------------------------------------------------------------------- */

/* Full attention (cls_only 0) forward and backward; prepared: seqs_prepare first (else the
   backend uploads the layout itself). */
static void test_attention(tctx *t, int H, int D, float p, const int32_t *lens, int B, uint32_t max_pos,
                           int prepared) {
    mrpc_backend *g = t->gpu, *r = t->ref;
    batch bt;
    batch_make(&bt, B, lens, 1000);
    if (prepared) {
        batch_prepare(g, &bt);
    }
    const int N = bt.s.n_tok, C = H * D;
    size_t nq = (size_t)N * 3 * C, nc = (size_t)N * C, np = (size_t)H * bt.s.sq_offsets[B];
    mrpc_dropout drop = {.p = p, .seed = 0x1234567890abcdefULL, .epoch = 3, .site = MRPC_DROPOUT_SITE_ATTENTION(1),
                         .max_pos = max_pos};
    float *qkv = fnew(nq);
    fill(t, qkv, nq, -1.5f, 1.5f);
    float *c_r = fnew(nc), *p_r = fnew(np), *c_g = fnew(nc), *p_g = fnew(np);
    r->ops->attention_forward(r, c_r, p_r, qkv, &bt.s, H, D, 0, &drop);
    float *d_qkv = dup_f(g, qkv, nq), *d_c = dpoison(g, nc), *d_p = dpoison(g, np);
    g->ops->attention_forward(g, d_c, d_p, d_qkv, &bt.s, H, D, 0, &drop);
    fetch(g, c_g, d_c, nc);
    fetch(g, p_g, d_p, np);
    char what[160];
    snprintf(what, sizeof what, "attention_forward probs H=%d D=%d p=%.2f max_len=%d", H, D, p, bt.s.max_len);
    CHECK_CLOSE_ARRAY(p_g, p_r, np, 1e-6, 1e-5, what);
    snprintf(what, sizeof what, "attention_forward ctx H=%d D=%d p=%.2f max_len=%d", H, D, p, bt.s.max_len);
    CHECK_CLOSE_ARRAY(c_g, c_r, nc, 1e-5, 1e-4, what);

    float *dctx = fnew(nc), *g_r = fnew(nq), *g_g = fnew(nq);
    fill(t, dctx, nc, -1, 1);
    r->ops->attention_backward(r, g_r, dctx, qkv, p_r, &bt.s, H, D, 0, &drop);
    float *d_dctx = dup_f(g, dctx, nc), *d_g = dpoison(g, nq), *d_pr = dup_f(g, p_r, np);
    g->ops->attention_backward(g, d_g, d_dctx, d_qkv, d_pr, &bt.s, H, D, 0, &drop); /* the reference's probs */
    fetch(g, g_g, d_g, nq);
    snprintf(what, sizeof what, "attention_backward dqkv H=%d D=%d p=%.2f max_len=%d", H, D, p, bt.s.max_len);
    CHECK_CLOSE_ARRAY(g_g, g_r, nq, 1e-5, 1e-4, what);
    check_backend(g, "attention");
    dfree(g, d_qkv); dfree(g, d_c); dfree(g, d_p); dfree(g, d_dctx); dfree(g, d_g); dfree(g, d_pr);
    free(qkv); free(c_r); free(p_r); free(c_g); free(p_g); free(dctx); free(g_r); free(g_g);
}

/* cls_only (the pruned last layer): ctx [B, C], probs [H, N] layout, dqkv with q rows
   zero except t = 0; against the reference's cls_only. */
static void test_attention_cls(tctx *t, int H, int D, float p) {
    mrpc_backend *g = t->gpu, *r = t->ref;
    batch bt;
    batch_make(&bt, 4, (int32_t[]){6, 1, 19, 11}, 77);
    batch_prepare(g, &bt);
    const int N = bt.s.n_tok, B = bt.B, C = H * D;
    size_t nq = (size_t)N * 3 * C, ncls = (size_t)B * C, np = (size_t)H * N;
    mrpc_dropout drop = {.p = p, .seed = 5, .epoch = 0, .site = MRPC_DROPOUT_SITE_ATTENTION(5), .max_pos = 32};
    float *qkv = fnew(nq), *c_r = fnew(ncls), *p_r = fnew(np), *c_g = fnew(ncls), *p_g = fnew(np);
    fill(t, qkv, nq, -1.5f, 1.5f);
    r->ops->attention_forward(r, c_r, p_r, qkv, &bt.s, H, D, 1, &drop);
    float *d_qkv = dup_f(g, qkv, nq), *d_c = dpoison(g, ncls), *d_p = dpoison(g, np);
    g->ops->attention_forward(g, d_c, d_p, d_qkv, &bt.s, H, D, 1, &drop);
    fetch(g, c_g, d_c, ncls);
    fetch(g, p_g, d_p, np);
    char what[128];
    snprintf(what, sizeof what, "attention_forward cls_only probs H=%d D=%d p=%.1f", H, D, p);
    CHECK_CLOSE_ARRAY(p_g, p_r, np, 1e-6, 1e-5, what);
    snprintf(what, sizeof what, "attention_forward cls_only ctx H=%d D=%d p=%.1f", H, D, p);
    CHECK_CLOSE_ARRAY(c_g, c_r, ncls, 1e-5, 1e-4, what);
    float *dctx = fnew(ncls), *g_r = fnew(nq), *g_g = fnew(nq);
    fill(t, dctx, ncls, -1, 1);
    r->ops->attention_backward(r, g_r, dctx, qkv, p_r, &bt.s, H, D, 1, &drop);
    float *d_dctx = dup_f(g, dctx, ncls), *d_g = dpoison(g, nq), *d_pr = dup_f(g, p_r, np);
    g->ops->attention_backward(g, d_g, d_dctx, d_qkv, d_pr, &bt.s, H, D, 1, &drop);
    fetch(g, g_g, d_g, nq);
    snprintf(what, sizeof what, "attention_backward cls_only dqkv H=%d D=%d p=%.1f", H, D, p);
    CHECK_CLOSE_ARRAY(g_g, g_r, nq, 1e-5, 1e-4, what);
    int qzero = 1;
    for (int b = 0; b < B; b++) {
        for (int tt = 1; tt < bt.len[b]; tt++) {
            for (int c = 0; c < C; c++) {
                qzero &= g_g[(size_t)(bt.off[b] + tt) * 3 * C + c] == 0.0f;
            }
        }
    }
    CHECK(qzero, "cls_only: dq is exactly 0 except at the [CLS] rows");
    check_backend(g, "attention cls_only");
    dfree(g, d_qkv); dfree(g, d_c); dfree(g, d_p); dfree(g, d_dctx); dfree(g, d_g); dfree(g, d_pr);
    free(qkv); free(c_r); free(p_r); free(c_g); free(p_g); free(dctx); free(g_r); free(g_g);
}

/* ---- dropout ------------------------------------------------------------------------------ */

/* Masks bit for bit equal to the CPU's. row_len % 4 == 0 with aligned pointers takes the
   4-wide kernel; misalign shifts both pointers by one float to force the scalar one. */
static void test_dropout(tctx *t, int row_len, int misalign) {
    mrpc_backend *g = t->gpu, *r = t->ref;
    batch bt;
    batch_make(&bt, 4, (int32_t[]){13, 1, 40, 7}, 500);
    batch_prepare(g, &bt);
    size_t n = (size_t)bt.s.n_tok * row_len;
    mrpc_dropout drop = {.p = 0.25f, .seed = 0xfeedULL << 33, .epoch = 2, .site = MRPC_DROPOUT_SITE_FFN(3),
                         .max_pos = 512};
    float *x = fnew(n), *o_r = fnew(n), *o_g = fnew(n);
    fill(t, x, n, 0.5f, 1.5f);
    r->ops->dropout(r, o_r, x, &bt.s, row_len, &drop);
    float *base_x = dpoison(g, n + 1), *base_o = dpoison(g, n + 1);
    float *d_x = base_x + misalign, *d_o = base_o + misalign;
    g->ops->copy_to_backend(g, d_x, x, sizeof(float) * n);
    g->ops->dropout(g, d_o, d_x, &bt.s, row_len, &drop);
    fetch(g, o_g, d_o, n);
    CHECK(same(o_g, o_r, n), "dropout row_len=%d misalign=%d: gpu mask == cpu mask bit for bit", row_len, misalign);
    g->ops->dropout(g, d_x, d_x, &bt.s, row_len, &drop); /* in place */
    fetch(g, o_g, d_x, n);
    CHECK(same(o_g, o_r, n), "dropout in place row_len=%d", row_len);
    mrpc_dropout d0 = drop;
    d0.p = 0.0f;
    g->ops->copy_to_backend(g, d_x, x, sizeof(float) * n);
    g->ops->dropout(g, d_o, d_x, &bt.s, row_len, &d0);
    fetch(g, o_g, d_o, n);
    CHECK(same(o_g, x, n), "dropout p = 0 is the identity");
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        dropped += o_r[i] == 0.0f;
    }
    CHECK(fabs((double)dropped / (double)n - 0.25) < 0.05, "dropout rate %.3f for p = 0.25",
          (double)dropped / (double)n);
    check_backend(g, "dropout");
    dfree(g, base_x);
    dfree(g, base_o);
    free(x); free(o_r); free(o_g);
}

/* ---- elementwise, gather, loss ------------------------------------------------------------ */

static void test_elementwise(tctx *t) {
    mrpc_backend *g = t->gpu, *r = t->ref;
    const size_t n = 70001;
    float *x = fnew(n), *y = fnew(n), *o_r = fnew(n), *o_g = fnew(n);
    fill(t, x, n, -6, 6);
    fill(t, y, n, -1, 1);
    x[0] = 0.0f;
    x[1] = -0.0f;
    float *d_x = dup_f(g, x, n), *d_y = dup_f(g, y, n), *d_o = dpoison(g, n);

    r->ops->gelu_forward(r, o_r, x, n);
    g->ops->gelu_forward(g, d_o, d_x, n);
    fetch(g, o_g, d_o, n);
    CHECK_CLOSE_ARRAY(o_g, o_r, n, 4e-7, 1e-6, "gelu_forward");
    r->ops->gelu_backward(r, o_r, x, y, n);
    g->ops->gelu_backward(g, d_o, d_x, d_y, n);
    fetch(g, o_g, d_o, n);
    CHECK_CLOSE_ARRAY(o_g, o_r, n, 1e-6, 1e-6, "gelu_backward");
    float *d_y2 = dup_f(g, y, n);
    g->ops->gelu_backward(g, d_y2, d_x, d_y2, n); /* dinp aliasing dout */
    fetch(g, o_g, d_y2, n);
    CHECK_CLOSE_ARRAY(o_g, o_r, n, 1e-6, 1e-6, "gelu_backward in place");

    r->ops->relu_forward(r, o_r, x, n);
    g->ops->relu_forward(g, d_o, d_x, n);
    fetch(g, o_g, d_o, n);
    CHECK(same(o_g, o_r, n), "relu_forward exact");
    float *relu_out = fdup(o_r, n);
    float *d_ro = dup_f(g, relu_out, n);
    r->ops->relu_backward(r, o_r, relu_out, y, n);
    g->ops->relu_backward(g, d_o, d_ro, d_y, n);
    fetch(g, o_g, d_o, n);
    CHECK(same(o_g, o_r, n), "relu_backward exact");

    r->ops->add(r, o_r, x, y, n);
    g->ops->add(g, d_o, d_x, d_y, n);
    fetch(g, o_g, d_o, n);
    CHECK(same(o_g, o_r, n), "add exact");
    float *d_a = dup_f(g, x, n);
    g->ops->add(g, d_a, d_a, d_y, n);
    fetch(g, o_g, d_a, n);
    CHECK(same(o_g, o_r, n), "add in place");

    float *xs = fdup(x, n);
    r->ops->scale(r, xs, n, 0.37f);
    g->ops->scale(g, d_x, n, 0.37f);
    fetch(g, o_g, d_x, n);
    CHECK(same(o_g, xs, n), "scale exact");
    check_backend(g, "elementwise");
    dfree(g, d_x); dfree(g, d_y); dfree(g, d_o); dfree(g, d_y2); dfree(g, d_ro); dfree(g, d_a);
    free(x); free(y); free(o_r); free(o_g); free(relu_out); free(xs);
}

static void test_gather(tctx *t) {
    mrpc_backend *g = t->gpu, *r = t->ref;
    const int C = 48;
    batch bt;
    batch_make(&bt, 5, (int32_t[]){4, 1, 6, 2, 9}, 0);
    batch_prepare(g, &bt);
    size_t n = (size_t)bt.s.n_tok * C, nb = (size_t)bt.B * C;
    float *x = fnew(n), *o_r = fnew(nb), *o_g = fnew(nb), *dout = fnew(nb), *g_r = fnew(n), *g_g = fnew(n);
    fill(t, x, n, -1, 1);
    fill(t, dout, nb, -1, 1);
    float *d_x = dup_f(g, x, n), *d_o = dpoison(g, nb), *d_dout = dup_f(g, dout, nb), *d_g = dpoison(g, n);
    r->ops->gather_first(r, o_r, x, &bt.s, C);
    g->ops->gather_first(g, d_o, d_x, &bt.s, C);
    fetch(g, o_g, d_o, nb);
    CHECK(same(o_g, o_r, nb), "gather_first exact");
    r->ops->gather_first_backward(r, g_r, dout, &bt.s, C);
    g->ops->gather_first_backward(g, d_g, d_dout, &bt.s, C);
    fetch(g, g_g, d_g, n);
    CHECK(same(g_g, g_r, n), "gather_first_backward exact (every element written)");
    check_backend(g, "gather");
    dfree(g, d_x); dfree(g, d_o); dfree(g, d_dout); dfree(g, d_g);
    free(x); free(o_r); free(o_g); free(dout); free(g_r); free(g_g);
}

static void test_crossentropy(tctx *t) {
    mrpc_backend *g = t->gpu, *r = t->ref;
    const int B = 37, L = 3;
    float *logits = fnew((size_t)B * L);
    fill(t, logits, (size_t)B * L, -8, 8);
    int32_t labels[37];
    for (int b = 0; b < B; b++) {
        labels[b] = (int32_t)mrpc_rng_below(&t->rng, L);
    }
    float l_r[37], l_g[37], dl_r[111], dl_g[111];
    r->ops->crossentropy(r, l_r, dl_r, logits, labels, B, L, 0.125f);
    float *d_lg = dup_f(g, logits, (size_t)B * L), *d_l = dpoison(g, B), *d_dl = dpoison(g, (size_t)B * L);
    int32_t *d_lab = dmem(g, labels, sizeof labels);
    g->ops->crossentropy(g, d_l, d_dl, d_lg, d_lab, B, L, 0.125f);
    fetch(g, l_g, d_l, B);
    fetch(g, dl_g, d_dl, (size_t)B * L);
    CHECK_CLOSE_ARRAY(l_g, l_r, B, 1e-6, 1e-6, "crossentropy losses");
    CHECK_CLOSE_ARRAY(dl_g, dl_r, (size_t)B * L, 1e-7, 1e-6, "crossentropy dlogits (scaled)");
    float *d_l2 = dpoison(g, B);
    g->ops->crossentropy(g, d_l2, NULL, d_lg, d_lab, B, L, 1.0f); /* eval: no gradient */
    fetch(g, l_g, d_l2, B);
    CHECK_CLOSE_ARRAY(l_g, l_r, B, 1e-6, 1e-6, "crossentropy without dlogits");
    check_backend(g, "crossentropy");
    dfree(g, d_lg); dfree(g, d_l); dfree(g, d_dl); dfree(g, d_lab); dfree(g, d_l2);
    free(logits);
}

/* ---- optimizer ---------------------------------------------------------------------------- */

static void test_optimizer(tctx *t) {
    mrpc_backend *g = t->gpu, *r = t->ref;
    const size_t n = 1000003;
    float *gr = fnew(n);
    fill(t, gr, n, -1, 1);
    float *d_g = dup_f(g, gr, n);
    double s_r = r->ops->sumsq(r, gr, n), s_g = g->ops->sumsq(g, d_g, n);
    printf("sumsq: gpu %.17g ref %.17g\n", s_g, s_r);
    CHECK_CLOSE(s_g, s_r, 0.0, 1e-11, "sumsq (double accumulation; the reference sums sequentially)");
    CHECK(g->ops->sumsq(g, d_g, n) == s_g, "sumsq is deterministic");
    float *p1 = fnew(n), *m1 = fnew(n), *v1 = fnew(n);
    fill(t, p1, n, -1, 1);
    fill(t, m1, n, -0.1f, 0.1f);
    fill(t, v1, n, 0.0f, 0.01f);
    float *d_p = dup_f(g, p1, n), *d_m = dup_f(g, m1, n), *d_v = dup_f(g, v1, n);
    for (int step = 1; step <= 3; step++) {
        mrpc_adamw_hparams hp = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01,
                                 .step = step};
        r->ops->adamw(r, p1, gr, m1, v1, n, &hp);
        g->ops->adamw(g, d_p, d_g, d_m, d_v, n, &hp);
    }
    float *p2 = fnew(n), *m2 = fnew(n), *v2 = fnew(n);
    fetch(g, p2, d_p, n);
    fetch(g, m2, d_m, n);
    fetch(g, v2, d_v, n);
    CHECK(same(p2, p1, n), "adamw p: gpu == cpu bitwise after 3 updates");
    CHECK(same(m2, m1, n), "adamw m: gpu == cpu bitwise");
    CHECK(same(v2, v1, n), "adamw v: gpu == cpu bitwise");
    CHECK_CLOSE_ARRAY(p2, p1, n, 0, 1e-6, "adamw p (if not bitwise: how far)");
    check_backend(g, "optimizer");
    dfree(g, d_g); dfree(g, d_p); dfree(g, d_m); dfree(g, d_v);
    free(gr); free(p1); free(m1); free(v1); free(p2); free(m2); free(v2);
}

/* ---- batch layout copies ------------------------------------------------------------------ */

/* A prepared seqs whose ring slot was reused by later prepares still gives the right
   result (the backend notices and uploads again), as does one never prepared. */
static void test_seqs_recycling(tctx *t) {
    mrpc_backend *g = t->gpu, *r = t->ref;
    const int C = 24;
    batch a, other;
    batch_make(&a, 3, (int32_t[]){9, 4, 17}, 4000);
    batch_make(&other, 2, (int32_t[]){2, 3}, 9);
    batch_prepare(g, &a);
    for (int k = 0; k < 11; k++) {
        g->ops->seqs_prepare(g, &other.s); /* cycles the ring past a's slot */
    }
    size_t n = (size_t)a.s.n_tok * C;
    mrpc_dropout drop = {.p = 0.5f, .seed = 17, .epoch = 1, .site = 0, .max_pos = 512};
    float *x = fnew(n), *o_r = fnew(n), *o_g = fnew(n);
    fill(t, x, n, 1, 2);
    r->ops->dropout(r, o_r, x, &a.s, C, &drop);
    float *d_x = dup_f(g, x, n), *d_o = dpoison(g, n);
    g->ops->dropout(g, d_o, d_x, &a.s, C, &drop);
    fetch(g, o_g, d_o, n);
    CHECK(same(o_g, o_r, n), "a recycled seqs slot is detected and re-uploaded");
    batch u;
    batch_make(&u, 3, (int32_t[]){9, 4, 17}, 4000); /* never prepared: s.device NULL */
    g->ops->dropout(g, d_o, d_x, &u.s, C, &drop);
    fetch(g, o_g, d_o, n);
    CHECK(same(o_g, o_r, n), "an unprepared seqs works (uploaded on use)");
    check_backend(g, "seqs");
    dfree(g, d_x);
    dfree(g, d_o);
    free(x); free(o_r); free(o_g);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_errors(void) {
    mrpc_error err = {0};
    mrpc_backend *be = NULL;
    mrpc_backend_options bad = {.kind = MRPC_BACKEND_CUDA, .precision = MRPC_PRECISION_FP32, .device = 4096};
    CHECK(mrpc_backend_cuda_create(&bad, &be, &err) == MRPC_ERR_INVALID && be == NULL,
          "a device ordinal out of range is MRPC_ERR_INVALID (%s)", err.message);
    mrpc_backend_options o = {.kind = MRPC_BACKEND_CUDA, .precision = MRPC_PRECISION_FP32, .device = 0};
    if (!CHECK_OK(mrpc_backend_cuda_create(&o, &be, &err), &err)) {
        return;
    }
    CHECK(mrpc_backend_cuda_stream(be) != NULL, "the backend exposes its stream");
    CHECK(mrpc_backend_cuda_stream(NULL) == NULL, "no stream for NULL");
    batch bt;
    batch_make(&bt, 1, (int32_t[]){4}, 0);
    float *q = be->ops->alloc(be, sizeof(float) * 4 * 3 * 400);
    float *c = be->ops->alloc(be, sizeof(float) * 4 * 400), *p = be->ops->alloc(be, sizeof(float) * 64);
    be->ops->attention_forward(be, c, p, q, &bt.s, 2, 200, 0, NULL); /* head size 200: unsupported */
    CHECK(be->ops->get_error(be, &err) == MRPC_ERR_UNSUPPORTED, "head size 200 is MRPC_ERR_UNSUPPORTED: %s",
          err.message);
    be->ops->zero(be, c, 16); /* sticky: later ops are no-ops, the first error stays */
    CHECK(be->ops->get_error(be, &err) == MRPC_ERR_UNSUPPORTED && strstr(err.message, "200") != NULL,
          "the first error stays: %s", err.message);
    float h[4] = {1, 2, 3, 4};
    be->ops->copy_to_host(be, h, c, sizeof h);
    CHECK(isnan(h[0]) && isnan(h[3]), "copy_to_host after a failure gives NaN, never stale data");
    be->ops->free_mem(be, q);
    be->ops->free_mem(be, c);
    be->ops->free_mem(be, p);
    mrpc_backend_free(be);
}

int main(void) {
    int n_dev = mrpc_backend_cuda_device_count();
    if (n_dev < 1) {
        mrpc_test_skip("no CUDA device");
    }
    tctx t;
    mrpc_error err = {0};
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    const char *env = getenv("MRPC_TEST_SEED");
    if (env) {
        seed = strtoull(env, NULL, 10);
    }
    printf("test_cuda_ops: seed %llu (MRPC_TEST_SEED=%llu to repeat), %d device(s)\n", (unsigned long long)seed,
           (unsigned long long)seed, n_dev);
    mrpc_rng_init(&t.rng, seed, MRPC_RNG_TEST, 0);
    mrpc_backend_options oref = {.kind = MRPC_BACKEND_CPU_REF, .precision = MRPC_PRECISION_FP32, .n_threads = 1};
    mrpc_backend_options oref16 = {.kind = MRPC_BACKEND_CPU_REF, .precision = MRPC_PRECISION_BF16, .n_threads = 1};
    mrpc_backend_options og = {.kind = MRPC_BACKEND_CUDA, .precision = MRPC_PRECISION_FP32, .device = 0};
    mrpc_backend_options og16 = {.kind = MRPC_BACKEND_CUDA, .precision = MRPC_PRECISION_BF16, .device = 0};
    mrpc_status st = mrpc_backend_cuda_create(&og, &t.gpu, &err);
    if (st == MRPC_ERR_UNSUPPORTED) {
        mrpc_test_skip(err.message); /* a GPU older than sm_80 */
    }
    if (!CHECK_OK(st, &err) || !CHECK_OK(mrpc_backend_cuda_create(&og16, &t.gpu16, &err), &err) ||
        !CHECK_OK(mrpc_backend_create(&oref, &t.ref, &err), &err) ||
        !CHECK_OK(mrpc_backend_create(&oref16, &t.ref16, &err), &err)) {
        return mrpc_test_report();
    }
    test_memory(&t);
    test_embedding(&t, 24, 0);
    test_embedding(&t, 72, -1);
    test_layernorm(&t, 9, 32);
    test_layernorm(&t, 33, 768);
    test_layernorm(&t, 300, 768); /* several row chunks in the dw/db reduction */
    test_linear(&t, t.gpu, t.ref, 1, 8, 3, 1, 0, 1e-5, 1e-5, "fp32");
    test_linear(&t, t.gpu, t.ref, 37, 64, 48, 1, 0, 1e-5, 1e-5, "fp32");
    test_linear(&t, t.gpu, t.ref, 130, 768, 96, 1, 1, 3e-5, 1e-5, "fp32");
    test_linear(&t, t.gpu, t.ref, 64, 96, 3072, 0, 0, 1e-5, 1e-5, "fp32");
    test_linear(&t, t.gpu16, t.ref16, 37, 64, 48, 1, 0, 1e-5, 1e-4, "bf16");
    test_linear(&t, t.gpu16, t.ref16, 37, 64, 48, 1, 1, 1e-5, 1e-4, "bf16");
    test_linear(&t, t.gpu16, t.ref16, 128, 96, 160, 0, 1, 1e-5, 1e-4, "bf16");
    test_linear(&t, t.gpu16, t.ref16, 200, 768, 77, 1, 0, 3e-5, 1e-4, "bf16");
    test_attention(&t, 2, 8, 0.0f, (int32_t[]){5, 1, 12}, 3, 64, 1);
    test_attention(&t, 3, 16, 0.2f, (int32_t[]){17, 33, 2, 8}, 4, 64, 0);
    test_attention(&t, 12, 64, 0.1f, (int32_t[]){64, 3, 128, 77}, 4, 512, 1);
    test_attention(&t, 2, 64, 0.1f, (int32_t[]){300, 41}, 2, 512, 1);  /* many key tiles */
    test_attention(&t, 1, 128, 0.1f, (int32_t[]){512, 5}, 2, 512, 1); /* > 48 KiB shared memory */
    test_attention(&t, 2, 7, 0.3f, (int32_t[]){23, 6}, 2, 30, 1);     /* odd head size */
    test_attention_cls(&t, 2, 8, 0.0f);
    test_attention_cls(&t, 12, 64, 0.3f);
    test_dropout(&t, 70, 0);
    test_dropout(&t, 768, 0);
    test_dropout(&t, 768, 1);
    test_elementwise(&t);
    test_gather(&t);
    test_crossentropy(&t);
    test_optimizer(&t);
    test_seqs_recycling(&t);
    test_errors();
    CHECK_OK(t.gpu->ops->get_error(t.gpu, &err), &err);
    CHECK_OK(t.gpu16->ops->get_error(t.gpu16, &err), &err);
    mrpc_backend_free(t.gpu);
    mrpc_backend_free(t.gpu16);
    mrpc_backend_free(t.ref);
    mrpc_backend_free(t.ref16);
    return mrpc_test_report();
}

/*
 * cpu_bf16.c — bf16 linear layers through oneDNN's matmul primitive (AMX on Sapphire
 * Rapids: brg:avx512_core_amx_bf16), with fp32 master weights and fp32 accumulation and
 * output (bf16 x bf16 -> f32).
 *
 * Weights: each linear weight inside the registered parameter slab is converted to bf16
 * once per optimizer step (lazily, on its first use after weights_changed) and cached;
 * a weight pointer outside the slab is converted on every call. Activations and output
 * gradients are rounded to bf16 into backend scratch right before each GEMM.
 *
 * Primitives are cached per (product, M, N, K, bias, accumulate); oneDNN's own primitive
 * cache sits behind that.
 *
 * CPUs without bf16 matmul support in oneDNN (no AVX512-BF16 / AMX, e.g. AMD Zen 2/3):
 * creation probes a small bf16 primitive; when oneDNN answers "unimplemented", the
 * backend EMULATES the same numerics (operands rounded to bf16, kept as floats, products
 * exact in fp32, fp32 accumulation through sgemm) and says so in its name. That keeps
 * bf16 runs and tests meaningful on such machines; it is not faster than fp32. The three products of y = x W^T + b:
 *     forward   y  [N,OC] = x_bf [N,IC] . W_bf^T            (weights as K x N "ba")
 *     dX        dx [N,IC] (+)= dy_bf [N,OC] . W_bf [OC,IC]   (weights "ab")
 *     dW        dW [OC,IC] += dy_bf^T [OC,N] . x_bf [N,IC]   (src "ba"), sum post-op
 */
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "cpu_internal.h"

#if defined(MRPC_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>

enum { PROD_FWD = 0, PROD_DX = 1, PROD_DW = 2 };
#define PRIM_CACHE 96

typedef struct prim_entry {
    int              used;
    int              prod, M, N, K, bias, accum;
    uint64_t         last_use;
    dnnl_primitive_t prim;
} prim_entry;

typedef struct weight_entry {
    const float *w;
    int          OC, IC;
    uint64_t     gen;
    void        *wb; /* [OC, IC] bf16 bits, or bf16-rounded floats when emulating */
} weight_entry;

struct cpu_bf16_state {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    prim_entry    prims[PRIM_CACHE];
    uint64_t      clock;
    const float  *slab;
    size_t        slab_n;
    uint64_t      gen;
    weight_entry *weights;
    size_t        n_weights, cap_weights;
    int           emulate; /* 1: oneDNN has no bf16 matmul on this CPU */
    int           f32_check; /* 1: oneDNN matmul path with f32 operands (tests the primitive code
                                on any CPU; see cpu_bf16_set_f32_check) */
};

#define DNNL_TRY(cb, call)                                                                     \
    do {                                                                                       \
        dnnl_status_t st_ = (call);                                                            \
        if (st_ != dnnl_success) {                                                             \
            cpu_set_error((cb), MRPC_ERR_UNSUPPORTED, "oneDNN: %s failed with status %d", #call, \
                          (int)st_);                                                           \
            goto fail;                                                                         \
        }                                                                                      \
    } while (0)

mrpc_status cpu_bf16_create(cpu_backend *cb, mrpc_error *err) {
    cpu_bf16_state *st = calloc(1, sizeof *st);
    if (!st) {
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "backend", "out of memory");
    }
    if (dnnl_engine_create(&st->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&st->stream, st->engine, dnnl_stream_default_flags) != dnnl_success) {
        if (st->engine) {
            dnnl_engine_destroy(st->engine);
        }
        free(st);
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, NULL, 0, 0, "precision",
                              "oneDNN could not create a CPU engine for bf16");
    }
    cb->bf16 = st;
    /* probe: does oneDNN implement a bf16 matmul on this CPU? */
    dnnl_memory_desc_t a_md, b_md, c_md;
    dnnl_dims_t d16 = {16, 16};
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_memory_desc_init_by_tag(&a_md, 2, d16, dnnl_bf16, dnnl_ab) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&b_md, 2, d16, dnnl_bf16, dnnl_ab) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&c_md, 2, d16, dnnl_f32, dnnl_ab) == dnnl_success &&
             dnnl_matmul_desc_init(&md, &a_md, &b_md, NULL, &c_md) == dnnl_success &&
             dnnl_primitive_desc_create(&pd, &md, NULL, st->engine, NULL) == dnnl_success;
    if (pd) {
        dnnl_primitive_desc_destroy(pd);
    }
    if (!ok) {
        st->emulate = 1;
        cb->base.name = "cpu (bf16 emulated: oneDNN has no bf16 matmul on this CPU)";
    }
    return MRPC_OK;
}

int cpu_bf16_emulated(const cpu_backend *cb) {
    return cb->bf16 && cb->bf16->emulate;
}

int cpu_bf16_set_f32_check(mrpc_backend *be) {
    cpu_backend *cb = (cpu_backend *)be;
    if (!cb->bf16) {
        return 0;
    }
    cb->bf16->emulate = 0;
    cb->bf16->f32_check = 1;
    cb->base.name = "cpu (oneDNN matmul path with f32 operands: test mode)";
    return 1;
}

void cpu_bf16_free(cpu_backend *cb) {
    cpu_bf16_state *st = cb->bf16;
    if (!st) {
        return;
    }
    for (int i = 0; i < PRIM_CACHE; i++) {
        if (st->prims[i].used) {
            dnnl_primitive_destroy(st->prims[i].prim);
        }
    }
    for (size_t i = 0; i < st->n_weights; i++) {
        free(st->weights[i].wb);
    }
    free(st->weights);
    dnnl_stream_destroy(st->stream);
    dnnl_engine_destroy(st->engine);
    free(st);
    cb->bf16 = NULL;
}

void cpu_bf16_weights_changed(mrpc_backend *be, const float *slab, size_t n_elems) {
    cpu_backend *cb = (cpu_backend *)be;
    if (!cb->bf16) {
        return;
    }
    cb->bf16->slab = slab;
    cb->bf16->slab_n = n_elems;
    cb->bf16->gen++;
}

/* Converts src [rows, cols] (leading dimension ld) to dense bf16, in parallel. */
static void to_bf16_par(int nt, uint16_t *dst, const float *src, size_t rows, size_t cols, size_t ld) {
#pragma omp parallel num_threads(rows * cols < 32768 ? 1 : nt)
    {
        int tid = omp_get_thread_num(), n = omp_get_num_threads();
        size_t q = rows / (size_t)n, r = rows % (size_t)n, t = (size_t)tid;
        size_t lo = t * q + (t < r ? t : r), hi = lo + q + (t < r ? 1 : 0);
        cpu_vec_to_bf16_2d(dst + lo * cols, src + lo * ld, hi - lo, cols, ld);
    }
}

/* Rounds src [rows, cols] to bf16 precision, kept as dense floats (emulation). */
static void round_bf16_par(int nt, float *dst, const float *src, size_t rows, size_t cols, size_t ld) {
#pragma omp parallel num_threads(rows * cols < 32768 ? 1 : nt)
    {
        int tid = omp_get_thread_num(), n = omp_get_num_threads();
        size_t q = rows / (size_t)n, r = rows % (size_t)n, t = (size_t)tid;
        size_t lo = t * q + (t < r ? t : r), hi = lo + q + (t < r ? 1 : 0);
        cpu_vec_round_bf16_2d(dst + lo * cols, src + lo * ld, hi - lo, cols, ld);
    }
}

/* GEMM operand conversion: bf16 bits (oneDNN) or bf16-rounded floats (emulation). */
static void convert(cpu_backend *cb, void *dst, const float *src, size_t rows, size_t cols) {
    if (cb->bf16->f32_check) {
        memcpy(dst, src, sizeof(float) * rows * cols);
        return;
    }
    if (cb->bf16->emulate) {
        round_bf16_par(cb->base.n_threads, dst, src, rows, cols, cols);
    } else {
        to_bf16_par(cb->base.n_threads, dst, src, rows, cols, cols);
    }
}

static size_t elem_size(const cpu_backend *cb) {
    return cb->bf16->emulate || cb->bf16->f32_check ? sizeof(float) : sizeof(uint16_t);
}

/* The converted copy of weight w [OC, IC]; NULL on failure. */
static const void *weight_bf16(cpu_backend *cb, const float *w, int OC, int IC, void *tmp) {
    cpu_bf16_state *st = cb->bf16;
    int in_slab = st->slab && w >= st->slab && w + (size_t)OC * IC <= st->slab + st->slab_n;
    if (!in_slab) {
        convert(cb, tmp, w, (size_t)OC, (size_t)IC);
        return tmp;
    }
    weight_entry *e = NULL;
    for (size_t i = 0; i < st->n_weights; i++) {
        if (st->weights[i].w == w && st->weights[i].OC == OC && st->weights[i].IC == IC) {
            e = &st->weights[i];
            break;
        }
    }
    if (!e) {
        if (st->n_weights == st->cap_weights) {
            size_t cap = st->cap_weights ? 2 * st->cap_weights : 64;
            weight_entry *nw = realloc(st->weights, cap * sizeof *nw);
            if (!nw) {
                cpu_set_error(cb, MRPC_ERR_NOMEM, "bf16 weight table");
                return NULL;
            }
            st->weights = nw;
            st->cap_weights = cap;
        }
        e = &st->weights[st->n_weights];
        memset(e, 0, sizeof *e);
        e->wb = aligned_alloc(64, ((elem_size(cb) * (size_t)OC * IC) + 63) & ~(size_t)63);
        if (!e->wb) {
            cpu_set_error(cb, MRPC_ERR_NOMEM, "bf16 weight copy");
            return NULL;
        }
        e->w = w;
        e->OC = OC;
        e->IC = IC;
        e->gen = st->gen - 1;
        st->n_weights++;
    }
    if (e->gen != st->gen) {
        convert(cb, e->wb, w, (size_t)OC, (size_t)IC);
        e->gen = st->gen;
    }
    return e->wb;
}

/* Creates (or finds) the primitive for one product shape. */
static dnnl_primitive_t get_prim(cpu_backend *cb, int prod, int M, int N, int K, int bias, int accum) {
    cpu_bf16_state *st = cb->bf16;
    st->clock++;
    int victim = 0;
    for (int i = 0; i < PRIM_CACHE; i++) {
        prim_entry *e = &st->prims[i];
        if (e->used && e->prod == prod && e->M == M && e->N == N && e->K == K && e->bias == bias &&
            e->accum == accum) {
            e->last_use = st->clock;
            return e->prim;
        }
        if (!e->used || (st->prims[victim].used && e->last_use < st->prims[victim].last_use)) {
            victim = i;
        }
    }
    dnnl_memory_desc_t src_md, wei_md, dst_md, bia_md;
    dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N}, bd = {1, N};
    dnnl_dims_t s_ab = {K, 1}, s_ba = {1, M};
    dnnl_dims_t w_ab = {N, 1}, w_ba = {1, K};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_data_type_t dt = st->f32_check ? dnnl_f32 : dnnl_bf16;
    DNNL_TRY(cb, dnnl_memory_desc_init_by_strides(&src_md, 2, sd, dt, prod == PROD_DW ? s_ba : s_ab));
    DNNL_TRY(cb, dnnl_memory_desc_init_by_strides(&wei_md, 2, wd, dt, prod == PROD_FWD ? w_ba : w_ab));
    DNNL_TRY(cb, dnnl_memory_desc_init_by_tag(&dst_md, 2, dd, dnnl_f32, dnnl_ab));
    DNNL_TRY(cb, dnnl_memory_desc_init_by_tag(&bia_md, 2, bd, dnnl_f32, dnnl_ab));
    dnnl_matmul_desc_t md;
    DNNL_TRY(cb, dnnl_matmul_desc_init(&md, &src_md, &wei_md, bias ? &bia_md : NULL, &dst_md));
    DNNL_TRY(cb, dnnl_primitive_attr_create(&attr));
    if (accum) {
        DNNL_TRY(cb, dnnl_post_ops_create(&po));
        DNNL_TRY(cb, dnnl_post_ops_append_sum(po, 1.0f));
        DNNL_TRY(cb, dnnl_primitive_attr_set_post_ops(attr, po));
    }
    DNNL_TRY(cb, dnnl_primitive_desc_create(&pd, &md, attr, st->engine, NULL));
    DNNL_TRY(cb, dnnl_primitive_create(&prim, pd));
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    if (po) {
        dnnl_post_ops_destroy(po);
    }
    if (st->prims[victim].used) {
        dnnl_primitive_destroy(st->prims[victim].prim);
    }
    st->prims[victim] = (prim_entry){1, prod, M, N, K, bias, accum, st->clock, prim};
    return prim;
fail:
    if (pd) {
        dnnl_primitive_desc_destroy(pd);
    }
    if (attr) {
        dnnl_primitive_attr_destroy(attr);
    }
    if (po) {
        dnnl_post_ops_destroy(po);
    }
    return NULL;
}

/* Runs one matmul: dst [M,N] f32 (+)= src . wei (+ bias). */
static void run_prim(cpu_backend *cb, dnnl_primitive_t prim, const void *src, const void *wei, const float *bias,
                     float *dst) {
    cpu_bf16_state *st = cb->bf16;
    const_dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_t ms = NULL, mw = NULL, mb = NULL, md = NULL;
    DNNL_TRY(cb, dnnl_primitive_get_primitive_desc(prim, &pd));
    const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *wei_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    DNNL_TRY(cb, dnnl_memory_create(&ms, src_md, st->engine, (void *)src));
    DNNL_TRY(cb, dnnl_memory_create(&mw, wei_md, st->engine, (void *)wei));
    DNNL_TRY(cb, dnnl_memory_create(&md, dst_md, st->engine, dst));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}, {0, NULL}};
    int nargs = 3;
    if (bias) {
        const dnnl_memory_desc_t *b_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1);
        DNNL_TRY(cb, dnnl_memory_create(&mb, b_md, st->engine, (void *)bias));
        args[3] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mb};
        nargs = 4;
    }
    DNNL_TRY(cb, dnnl_primitive_execute(prim, st->stream, nargs, args));
    DNNL_TRY(cb, dnnl_stream_wait(st->stream));
fail:
    if (ms) {
        dnnl_memory_destroy(ms);
    }
    if (mw) {
        dnnl_memory_destroy(mw);
    }
    if (mb) {
        dnnl_memory_destroy(mb);
    }
    if (md) {
        dnnl_memory_destroy(md);
    }
}

/* Makes the two operand scratch buffers hold at least a_elems / b_elems values. */
static int bf16_scratch(cpu_backend *cb, size_t a_elems, size_t b_elems) {
    size_t es = elem_size(cb);
    return cpu_grow(cb, &cb->bf16_a, &cb->bf16_a_bytes, a_elems * es) &&
           cpu_grow(cb, &cb->bf16_b, &cb->bf16_b_bytes, b_elems * es);
}

/* Emulation: the three products through sgemm on bf16-rounded float operands. */
static void emu_forward(cpu_backend *cb, float *out, const float *xr, const float *wr, const float *b, int N,
                        int IC, int OC) {
    float beta = 0.0f;
    if (b) {
        for (int n = 0; n < N; n++) {
            memcpy(out + (size_t)n * OC, b, sizeof(float) * (size_t)OC);
        }
        beta = 1.0f;
    }
    cpu_sgemm('N', 'T', N, OC, IC, 1.0f, xr, IC, wr, IC, beta, out, OC);
}

/* Token counts are bucketed to multiples of TOKEN_BUCKET for the oneDNN primitives, so a
   run with varying micro-batch sizes (dynamic padding, packing) creates a bounded number
   of primitive shapes: converted operands get zero rows up to the bucket, outputs of the
   padded rows land in scratch and are dropped. dW needs no scratch: zero rows add 0. */
#define TOKEN_BUCKET 32

static int bucket(int n) {
    return (n + TOKEN_BUCKET - 1) / TOKEN_BUCKET * TOKEN_BUCKET;
}

/* Zeroes rows [n, nb) of a converted operand with `cols` columns. */
static void zero_rows(cpu_backend *cb, void *buf, int n, int nb, int cols) {
    size_t es = elem_size(cb);
    if (nb > n) {
        memset((char *)buf + (size_t)n * cols * es, 0, (size_t)(nb - n) * cols * es);
    }
}

/* f32 scratch of at least n floats for padded outputs; NULL on failure. */
static float *out_scratch(cpu_backend *cb, size_t n) {
    if (!cpu_grow(cb, &cb->f32_out, &cb->f32_out_bytes, n * sizeof(float))) {
        return NULL;
    }
    return cb->f32_out;
}

void cpu_bf16_linear_forward(mrpc_backend *be, float *out, const float *inp, const float *w, const float *b,
                             int N, int IC, int OC) {
    cpu_backend *cb = (cpu_backend *)be;
    if (cb->has_error || N <= 0) {
        return;
    }
    int Nb = cb->bf16->emulate ? N : bucket(N);
    if (!bf16_scratch(cb, (size_t)Nb * IC, (size_t)OC * IC)) {
        return;
    }
    const void *wb = weight_bf16(cb, w, OC, IC, cb->bf16_b);
    if (!wb) {
        return;
    }
    convert(cb, cb->bf16_a, inp, (size_t)N, (size_t)IC);                              /* x_bf [N,IC] */
    if (cb->bf16->emulate) {
        emu_forward(cb, out, cb->bf16_a, wb, b, N, IC, OC);
        return;
    }
    zero_rows(cb, cb->bf16_a, N, Nb, IC);                                             /* [Nb,IC] */
    float *dst = out;
    if (Nb != N && !(dst = out_scratch(cb, (size_t)Nb * OC))) {
        return;
    }
    dnnl_primitive_t p = get_prim(cb, PROD_FWD, Nb, OC, IC, b != NULL, 0);
    if (p) {
        run_prim(cb, p, cb->bf16_a, wb, b, dst);                                       /* [Nb,OC] */
        if (dst != out) {
            memcpy(out, dst, sizeof(float) * (size_t)N * OC);                          /* out [N,OC] */
        }
    }
}

void cpu_bf16_linear_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                              const float *inp, const float *w, int N, int IC, int OC, int accumulate_dinp) {
    cpu_backend *cb = (cpu_backend *)be;
    if (cb->has_error || N <= 0) {
        return;
    }
    int emu = cb->bf16->emulate;
    int Nb = emu ? N : bucket(N);
    size_t a = (size_t)Nb * OC, bsz = (size_t)Nb * IC;
    if (!bf16_scratch(cb, a, bsz > (size_t)OC * IC ? bsz : (size_t)OC * IC)) {
        return;
    }
    convert(cb, cb->bf16_a, dout, (size_t)N, (size_t)OC);                             /* dy_bf [N,OC] */
    zero_rows(cb, cb->bf16_a, N, Nb, OC);
    if (dinp) {
        const void *wb = weight_bf16(cb, w, OC, IC, cb->bf16_b);
        if (!wb) {
            return;
        }
        if (emu) {
            cpu_sgemm('N', 'N', N, IC, OC, 1.0f, cb->bf16_a, OC, wb, IC, accumulate_dinp ? 1.0f : 0.0f, dinp, IC);
        } else {
            float *dst = dinp;
            if (Nb != N) {
                if (!(dst = out_scratch(cb, (size_t)Nb * IC))) {
                    return;
                }
                if (accumulate_dinp) {
                    memcpy(dst, dinp, sizeof(float) * (size_t)N * IC);
                }
                memset(dst + (size_t)N * IC, 0, sizeof(float) * (size_t)(Nb - N) * IC);
            }
            dnnl_primitive_t p = get_prim(cb, PROD_DX, Nb, IC, OC, 0, accumulate_dinp);
            if (p) {
                run_prim(cb, p, cb->bf16_a, wb, NULL, dst);                            /* [Nb,IC] */
                if (dst != dinp) {
                    memcpy(dinp, dst, sizeof(float) * (size_t)N * IC);                 /* dinp [N,IC] */
                }
            }
        }
    }
    convert(cb, cb->bf16_b, inp, (size_t)N, (size_t)IC);                              /* x_bf [N,IC] */
    if (emu) {
        cpu_sgemm('T', 'N', OC, IC, N, 1.0f, cb->bf16_a, OC, cb->bf16_b, IC, 1.0f, dw, IC);
    } else {
        zero_rows(cb, cb->bf16_b, N, Nb, IC);
        dnnl_primitive_t p = get_prim(cb, PROD_DW, OC, IC, Nb, 0, 1);                  /* K = Nb */
        if (p) {
            run_prim(cb, p, cb->bf16_a, cb->bf16_b, NULL, dw);                         /* dw [OC,IC] */
        }
    }
    if (db) {
        cpu_bias_grad(be, db, dout, N, OC);
    }
}

#else /* !MRPC_HAVE_ONEDNN: bf16 is rejected at creation, these are never reached */

mrpc_status cpu_bf16_create(cpu_backend *cb, mrpc_error *err) {
    (void)cb;
    return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, NULL, 0, 0, "precision", "bf16 unsupported in this build");
}

void cpu_bf16_free(cpu_backend *cb) {
    (void)cb;
}

void cpu_bf16_weights_changed(mrpc_backend *be, const float *slab, size_t n_elems) {
    (void)be;
    (void)slab;
    (void)n_elems;
}

int cpu_bf16_emulated(const cpu_backend *cb) {
    (void)cb;
    return 0;
}

int cpu_bf16_set_f32_check(mrpc_backend *be) {
    (void)be;
    return 0;
}

void cpu_bf16_linear_forward(mrpc_backend *be, float *out, const float *inp, const float *w, const float *b,
                             int N, int IC, int OC) {
    (void)out; (void)inp; (void)w; (void)b; (void)N; (void)IC; (void)OC;
    cpu_set_error((cpu_backend *)be, MRPC_ERR_UNSUPPORTED, "bf16 unsupported in this build");
}

void cpu_bf16_linear_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                              const float *inp, const float *w, int N, int IC, int OC, int accumulate_dinp) {
    (void)dinp; (void)dw; (void)db; (void)dout; (void)inp; (void)w; (void)N; (void)IC; (void)OC;
    (void)accumulate_dinp;
    cpu_set_error((cpu_backend *)be, MRPC_ERR_UNSUPPORTED, "bf16 unsupported in this build");
}

#endif

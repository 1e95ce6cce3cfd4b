/*
 * cpu_fast.c — the fast CPU backend: GEMMs through dnnl_sgemm / cblas_sgemm with
 * transposes by flag, OpenMP over rows, vectorised elementwise passes (cpu_vec.c).
 * Attention is in cpu_attention.c, the bf16 linear layers in cpu_bf16.c.
 *
 * Determinism: every reduction has a fixed partition for a given thread count (static
 * schedules; per-thread partials summed in thread order), and no two threads ever add
 * into the same output element, so a run is bitwise reproducible at a fixed thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "adamw.h"
#include "cpu_backend.h"
#include "cpu_internal.h"

#define LN_EPS 1e-12f

/* Threads for `work` elements of a memory-bound pass: one below PAR_MIN, where a parallel
   region's fork/join costs more than it saves (and, on a loaded machine, a barrier can wait
   a whole scheduler time slice for a descheduled worker). */
#define PAR_MIN 32768
static int nthreads_for(const mrpc_backend *be, size_t work) {
    return work < PAR_MIN ? 1 : be->n_threads;
}

/* Rows [lo, hi) of thread `tid` out of `nt` for n rows. */
static void split(size_t n, int tid, int nt, size_t *lo, size_t *hi) {
    size_t q = n / (size_t)nt, r = n % (size_t)nt;
    size_t t = (size_t)tid;
    *lo = t * q + (t < r ? t : r);
    *hi = *lo + q + (t < r ? 1 : 0);
}

/* Sequence of packed row n (binary search in offsets). */
static int seq_of_row(const mrpc_seqs *s, int n) {
    int lo = 0, hi = s->n_seq - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (s->offsets[mid] <= n) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

/* ---- embeddings ----------------------------------------------------------------------- */

static void fast_embedding_forward(mrpc_backend *be, float *out, const int32_t *ids, const float *wte,
                                   const float *wpe, const mrpc_seqs *s, int C) {
    int N = s->n_tok;
#pragma omp parallel for num_threads(nthreads_for(be, (size_t)N * C)) schedule(static)
    for (int n = 0; n < N; n++) {
        int b = seq_of_row(s, n);
        int t = n - s->offsets[b];
        cpu_vec_add(out + (size_t)n * C, wte + (size_t)ids[n] * C, wpe + (size_t)t * C, (size_t)C); /* [C] */
    }
}

static void fast_embedding_backward(mrpc_backend *be, float *dwte, float *dwpe, const float *dout,
                                    const int32_t *ids, const mrpc_seqs *s, int C, int pad_id) {
    /* each thread owns a column range of dwte/dwpe and walks all tokens in order */
    int nt = nthreads_for(be, (size_t)s->n_tok * C);
#pragma omp parallel num_threads(nt)
    {
        size_t c0, c1;
        split((size_t)C, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
        for (int b = 0; b < s->n_seq; b++) {
            int len = s->offsets[b + 1] - s->offsets[b];
            for (int t = 0; t < len; t++) {
                size_t n = (size_t)s->offsets[b] + (size_t)t;
                const float *g = dout + n * C;                         /* [C] */
                float *dp = dwpe + (size_t)t * C;                       /* [C] */
                for (size_t c = c0; c < c1; c++) {
                    dp[c] += g[c];
                }
                if (ids[n] != pad_id) {
                    float *dw = dwte + (size_t)ids[n] * C;              /* [C] */
                    for (size_t c = c0; c < c1; c++) {
                        dw[c] += g[c];
                    }
                }
            }
        }
    }
}

/* ---- layer norm ------------------------------------------------------------------------- */

static void fast_layernorm_forward(mrpc_backend *be, float *out, float *mean, float *rstd, const float *inp,
                                   const float *w, const float *b, int N, int C) {
#pragma omp parallel for num_threads(nthreads_for(be, (size_t)N * C)) schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;                          /* [C] */
        float *y = out + (size_t)n * C;                                /* [C] */
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int c = 0; c < C; c++) {
            s += x[c];
        }
        float m = s / (float)C;
        float v = 0.0f;
#pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++) {
            float d = x[c] - m;
            v += d * d;
        }
        float rs = 1.0f / sqrtf(v / (float)C + LN_EPS);
#pragma omp simd
        for (int c = 0; c < C; c++) {
            y[c] = (x[c] - m) * rs * w[c] + b[c];
        }
        mean[n] = m;
        rstd[n] = rs;
    }
}

static void fast_layernorm_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                                    const float *inp, const float *w, const float *mean, const float *rstd,
                                    int N, int C) {
    cpu_backend *cb = (cpu_backend *)be;
    int nt = nthreads_for(be, (size_t)N * C);
    size_t need = sizeof(float) * (size_t)nt * 2 * (size_t)C;
    if (!cpu_grow(cb, (void **)&cb->scratch, &cb->scratch_bytes, need)) {
        return;
    }
    float *part = cb->scratch;                                         /* [nt, 2, C] */
    memset(part, 0, need);
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num();
        size_t lo, hi;
        split((size_t)N, tid, omp_get_num_threads(), &lo, &hi);
        float *pdw = part + (size_t)tid * 2 * C, *pdb = pdw + C;
        for (size_t n = lo; n < hi; n++) {
            const float *x = inp + n * C, *g = dout + n * C;           /* [C] */
            float *dx = dinp + n * C;                                  /* [C] */
            float mu = mean[n], rs = rstd[n];
            float sdx = 0.0f, sdxx = 0.0f;
#pragma omp simd reduction(+ : sdx, sdxx)
            for (int c = 0; c < C; c++) {
                float xh = (x[c] - mu) * rs;
                float dxh = g[c] * w[c];
                sdx += dxh;
                sdxx += dxh * xh;
                pdw[c] += g[c] * xh;
                pdb[c] += g[c];
            }
            float mdx = sdx / (float)C, mdxx = sdxx / (float)C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float xh = (x[c] - mu) * rs;
                dx[c] = (g[c] * w[c] - mdx - xh * mdxx) * rs;
            }
        }
    }
    for (int t = 0; t < nt; t++) {                                     /* fixed order */
        cpu_vec_add(dw, dw, part + (size_t)t * 2 * C, (size_t)C);
        cpu_vec_add(db, db, part + (size_t)t * 2 * C + C, (size_t)C);
    }
}

/* ---- linear (fp32) --------------------------------------------------------------------- */

/* db[o] += sum_n dout[n,o]: columns split over threads, rows in order. */
void cpu_bias_grad(mrpc_backend *be, float *db, const float *dout, int N, int OC) {
#pragma omp parallel num_threads(nthreads_for(be, (size_t)N * OC))
    {
        size_t o0, o1;
        split((size_t)OC, omp_get_thread_num(), omp_get_num_threads(), &o0, &o1);
        for (int n = 0; n < N; n++) {
            const float *g = dout + (size_t)n * OC;
            for (size_t o = o0; o < o1; o++) {
                db[o] += g[o];
            }
        }
    }
}

static void fast_linear_forward(mrpc_backend *be, float *out, const float *inp, const float *w, const float *b,
                                int N, int IC, int OC) {
    if (be->precision == MRPC_PRECISION_BF16) {
        cpu_bf16_linear_forward(be, out, inp, w, b, N, IC, OC);
        return;
    }
    float beta = 0.0f;
    if (b) {
#pragma omp parallel for num_threads(nthreads_for(be, (size_t)N * OC)) schedule(static)
        for (int n = 0; n < N; n++) {
            memcpy(out + (size_t)n * OC, b, sizeof(float) * (size_t)OC);   /* out [N,OC] = b */
        }
        beta = 1.0f;
    }
    /* out [N,OC] += inp [N,IC] . w[OC,IC]^T */
    cpu_sgemm('N', 'T', N, OC, IC, 1.0f, inp, IC, w, IC, beta, out, OC);
}

static void fast_linear_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                                 const float *inp, const float *w, int N, int IC, int OC, int accumulate_dinp) {
    if (be->precision == MRPC_PRECISION_BF16) {
        cpu_bf16_linear_backward(be, dinp, dw, db, dout, inp, w, N, IC, OC, accumulate_dinp);
        return;
    }
    if (dinp) {
        /* dinp [N,IC] (+)= dout [N,OC] . w [OC,IC] */
        cpu_sgemm('N', 'N', N, IC, OC, 1.0f, dout, OC, w, IC, accumulate_dinp ? 1.0f : 0.0f, dinp, IC);
    }
    /* dw [OC,IC] += dout^T [OC,N] . inp [N,IC] */
    cpu_sgemm('T', 'N', OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f, dw, IC);
    if (db) {
        cpu_bias_grad(be, db, dout, N, OC);
    }
}

/* ---- elementwise ------------------------------------------------------------------------ */

#define CHUNK 4096

static void fast_gelu_forward(mrpc_backend *be, float *out, const float *inp, size_t n) {
    long nch = (long)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for num_threads(nthreads_for(be, n)) schedule(static)
    for (long k = 0; k < nch; k++) {
        size_t i = (size_t)k * CHUNK, m = n - i < CHUNK ? n - i : CHUNK;
        cpu_vec_gelu_forward(out + i, inp + i, m);
    }
}

static void fast_gelu_backward(mrpc_backend *be, float *dinp, const float *inp, const float *dout, size_t n) {
    long nch = (long)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for num_threads(nthreads_for(be, n)) schedule(static)
    for (long k = 0; k < nch; k++) {
        size_t i = (size_t)k * CHUNK, m = n - i < CHUNK ? n - i : CHUNK;
        cpu_vec_gelu_backward(dinp + i, inp + i, dout + i, m);
    }
}

static void fast_add(mrpc_backend *be, float *out, const float *a, const float *b, size_t n) {
    long nch = (long)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for num_threads(nthreads_for(be, n)) schedule(static)
    for (long k = 0; k < nch; k++) {
        size_t i = (size_t)k * CHUNK, m = n - i < CHUNK ? n - i : CHUNK;
        cpu_vec_add(out + i, a + i, b + i, m);
    }
}

static void fast_dropout(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int row_len,
                         const mrpc_dropout *drop) {
    size_t N = (size_t)s->n_tok;
    if (!(drop->p > 0.0f)) {
        if (out != inp) {
            memcpy(out, inp, sizeof(float) * N * (size_t)row_len);
        }
        return;
    }
#pragma omp parallel num_threads(nthreads_for(be, N * (size_t)row_len))
    {
        float mult[256];
#pragma omp for schedule(static)
        for (long n = 0; n < (long)N; n++) {
            int b = seq_of_row(s, (int)n);
            uint32_t t = (uint32_t)((int)n - s->offsets[b]);
            for (int c = 0; c < row_len; c += 256) {
                int cnt = row_len - c < 256 ? row_len - c : 256;
                cpu_vec_dropout_mults(mult, drop, s->example[b], t * (uint32_t)row_len + (uint32_t)c, cnt);
                cpu_vec_mul(out + (size_t)n * row_len + c, inp + (size_t)n * row_len + c, mult, (size_t)cnt);
            }
        }
    }
}

/* ---- optimizer -------------------------------------------------------------------------- */

static double fast_sumsq(mrpc_backend *be, const float *x, size_t n) {
    int nt = nthreads_for(be, n);
    double part[256] = {0};
    if (nt > 256) {
        nt = 256;
    }
#pragma omp parallel num_threads(nt)
    {
        size_t lo, hi;
        int tid = omp_get_thread_num();
        split(n, tid, omp_get_num_threads(), &lo, &hi);
        part[tid] = cpu_vec_sumsq(x + lo, hi - lo);
    }
    double acc = 0.0;
    for (int t = 0; t < nt; t++) {
        acc += part[t];
    }
    return acc;
}

static void fast_scale(mrpc_backend *be, float *x, size_t n, float s) {
#pragma omp parallel num_threads(nthreads_for(be, n))
    {
        size_t lo, hi;
        split(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        cpu_vec_scale(x + lo, hi - lo, s);
    }
}

static void fast_adamw(mrpc_backend *be, float *p, const float *g, float *m, float *v, size_t n,
                       const mrpc_adamw_hparams *hp) {
    mrpc_adamw_consts c;
    mrpc_adamw_consts_make(hp, &c);
#pragma omp parallel num_threads(nthreads_for(be, n))
    {
        size_t lo, hi;
        split(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        cpu_vec_adamw(p + lo, g + lo, m + lo, v + lo, hi - lo, &c);
    }
}

static void fast_free(mrpc_backend *be) {
    if (!be) {
        return;
    }
    cpu_backend *cb = (cpu_backend *)be;
    cpu_bf16_free(cb);
    free(cb->scratch);
    free(cb->bf16_a);
    free(cb->bf16_b);
    free(cb->f32_out);
    free(cb);
}

const mrpc_backend_ops mrpc_cpu_fast_ops = {
    .free = fast_free,
    .get_error = cpu_get_error,
    .synchronize = NULL,
    .alloc = cpu_alloc,
    .free_mem = cpu_free_mem,
    .copy_to_backend = cpu_copy,
    .copy_to_host = cpu_copy,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .seqs_prepare = NULL,
    .weights_changed = cpu_bf16_weights_changed,
    .embedding_forward = fast_embedding_forward,
    .embedding_backward = fast_embedding_backward,
    .layernorm_forward = fast_layernorm_forward,
    .layernorm_backward = fast_layernorm_backward,
    .linear_forward = fast_linear_forward,
    .linear_backward = fast_linear_backward,
    .attention_forward = cpu_fast_attention_forward,
    .attention_backward = cpu_fast_attention_backward,
    .gelu_forward = fast_gelu_forward,
    .gelu_backward = fast_gelu_backward,
    .relu_forward = cpu_ref_relu_forward,
    .relu_backward = cpu_ref_relu_backward,
    .add = fast_add,
    .dropout = fast_dropout,
    .gather_first = cpu_ref_gather_first,
    .gather_first_backward = cpu_ref_gather_first_backward,
    .crossentropy = cpu_ref_crossentropy,
    .sumsq = fast_sumsq,
    .scale = fast_scale,
    .adamw = fast_adamw,
};

int mrpc_backend_cpu_has_bf16(void) {
#if defined(MRPC_HAVE_ONEDNN)
    return 1;
#else
    return 0;
#endif
}

mrpc_status mrpc_backend_cpu_create(const mrpc_backend_options *opts, mrpc_backend **out, mrpc_error *err) {
    *out = NULL;
    if (opts->precision == MRPC_PRECISION_BF16 && !mrpc_backend_cpu_has_bf16()) {
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, NULL, 0, 0, "precision",
                              "bf16 unsupported in this build (needs oneDNN; configure with MRPC_ONEDNN=ON)");
    }
    cpu_backend *cb = calloc(1, sizeof *cb);
    if (!cb) {
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "backend", "out of memory");
    }
    int nt = opts->n_threads > 0 ? opts->n_threads : omp_get_num_procs();
    cb->base.ops = &mrpc_cpu_fast_ops;
    cb->base.kind = MRPC_BACKEND_CPU;
    cb->base.precision = opts->precision;
    cb->base.n_threads = nt;
    cb->base.name = "cpu";
    cb->base.host_memory = 1;
    omp_set_num_threads(nt);   /* oneDNN's sgemm and matmul, and cpu_sgemm's row split, follow it */
    cpu_blas_init_threads();   /* OpenBLAS at one thread: no second thread pool */
    if (opts->precision == MRPC_PRECISION_BF16) {
        mrpc_status st = cpu_bf16_create(cb, err);
        if (st != MRPC_OK) {
            fast_free(&cb->base);
            return st;
        }
    }
    *out = &cb->base;
    return MRPC_OK;
}

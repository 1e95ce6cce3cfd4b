/*
 * cpu_ref.c — the reference CPU backend: one plain loop nest per op, shapes on every
 * line, sums in double. This is the ground truth the fast CPU path and the CUDA backend
 * are compared against (tests/unit/ops), and its backward ops are checked against finite
 * differences. Speed is not a goal.
 *
 * Notation: N tokens (packed, see backend.h), B sequences, sequence b has len_b tokens
 * at rows o_b = offsets[b] .. o_b + len_b - 1; C dim, H heads, D = C/H, F hidden.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adamw.h"
#include "cpu_backend.h"
#include "cpu_internal.h"

/* ---- embeddings ----------------------------------------------------------------------- */

static void ref_embedding_forward(mrpc_backend *be, float *out, const int32_t *ids, const float *wte,
                                  const float *wpe, const mrpc_seqs *s, int C) {
    (void)be;
    for (int b = 0; b < s->n_seq; b++) {                               /* sequence b */
        int len = s->offsets[b + 1] - s->offsets[b];
        for (int t = 0; t < len; t++) {                                /* token t of b */
            int n = s->offsets[b] + t;                                 /* packed row */
            const float *we = wte + (size_t)ids[n] * C;                /* [C] word vector */
            const float *pe = wpe + (size_t)t * C;                     /* [C] position vector */
            for (int c = 0; c < C; c++) {
                out[(size_t)n * C + c] = we[c] + pe[c];                /* out [N,C] */
            }
        }
    }
}

static void ref_embedding_backward(mrpc_backend *be, float *dwte, float *dwpe, const float *dout,
                                   const int32_t *ids, const mrpc_seqs *s, int C, int pad_id) {
    (void)be;
    for (int b = 0; b < s->n_seq; b++) {
        int len = s->offsets[b + 1] - s->offsets[b];
        for (int t = 0; t < len; t++) {
            int n = s->offsets[b] + t;
            const float *g = dout + (size_t)n * C;                     /* [C] */
            for (int c = 0; c < C; c++) {
                dwpe[(size_t)t * C + c] += g[c];                       /* dwpe [P,C] */
            }
            if (ids[n] == pad_id) {
                continue;                                              /* padding_idx: no grad */
            }
            for (int c = 0; c < C; c++) {
                dwte[(size_t)ids[n] * C + c] += g[c];                  /* dwte [V,C] */
            }
        }
    }
}

/* ---- layer norm ------------------------------------------------------------------------- */

#define LN_EPS 1e-12
#define SQRT1_2 0.70710678118654752440
#define SQRT_2PI 2.50662827463100050242

static void ref_layernorm_forward(mrpc_backend *be, float *out, float *mean, float *rstd, const float *inp,
                                  const float *w, const float *b, int N, int C) {
    (void)be;
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;                          /* [C] */
        double m = 0.0;
        for (int c = 0; c < C; c++) {
            m += x[c];
        }
        m /= C;
        double var = 0.0;
        for (int c = 0; c < C; c++) {
            double d = x[c] - m;
            var += d * d;
        }
        var /= C;                                                      /* biased */
        double rs = 1.0 / sqrt(var + LN_EPS);
        for (int c = 0; c < C; c++) {
            out[(size_t)n * C + c] = (float)((x[c] - m) * rs * w[c] + b[c]);
        }
        mean[n] = (float)m;                                            /* [N] */
        rstd[n] = (float)rs;                                           /* [N] */
    }
}

static void ref_layernorm_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                                   const float *inp, const float *w, const float *mean, const float *rstd,
                                   int N, int C) {
    (void)be;
    double *xhat = malloc(sizeof(double) * (size_t)C);
    double *dxhat = malloc(sizeof(double) * (size_t)C);
    if (!xhat || !dxhat) {
        cpu_set_error((cpu_backend *)be, MRPC_ERR_NOMEM, "layernorm_backward scratch");
        free(xhat);
        free(dxhat);
        return;
    }
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;                          /* [C] */
        const float *g = dout + (size_t)n * C;                         /* [C] */
        double mu = mean[n], rs = rstd[n];
        double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
        for (int c = 0; c < C; c++) {
            xhat[c] = (x[c] - mu) * rs;
            dxhat[c] = (double)g[c] * w[c];
            sum_dxhat += dxhat[c];
            sum_dxhat_xhat += dxhat[c] * xhat[c];
        }
        double mean_dxhat = sum_dxhat / C, mean_dxhat_xhat = sum_dxhat_xhat / C;
        for (int c = 0; c < C; c++) {
            dw[c] += (float)(g[c] * xhat[c]);                          /* dw [C] */
            db[c] += g[c];                                             /* db [C] */
            dinp[(size_t)n * C + c] = (float)((dxhat[c] - mean_dxhat - xhat[c] * mean_dxhat_xhat) * rs);
        }
    }
    free(xhat);
    free(dxhat);
}

/* ---- linear ----------------------------------------------------------------------------- */

/* Operand as the GEMM sees it: bf16-rounded in bf16 precision, else unchanged. */
static double gemm_in(const mrpc_backend *be, float x) {
    if (be->precision == MRPC_PRECISION_BF16) {
        return cpu_f32_from_bf16(cpu_bf16_from_f32(x));
    }
    return x;
}

static void ref_linear_forward(mrpc_backend *be, float *out, const float *inp, const float *w, const float *b,
                               int N, int IC, int OC) {
    for (int n = 0; n < N; n++) {
        for (int o = 0; o < OC; o++) {
            double acc = 0.0;
            for (int i = 0; i < IC; i++) {                             /* inp [N,IC] . w [OC,IC]^T */
                acc += gemm_in(be, inp[(size_t)n * IC + i]) * gemm_in(be, w[(size_t)o * IC + i]);
            }
            if (b) {
                acc += b[o];                                           /* b [OC] */
            }
            out[(size_t)n * OC + o] = (float)acc;                      /* out [N,OC] */
        }
    }
}

static void ref_linear_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                                const float *inp, const float *w, int N, int IC, int OC, int accumulate_dinp) {
    if (dinp) {
        for (int n = 0; n < N; n++) {
            for (int i = 0; i < IC; i++) {
                double acc = accumulate_dinp ? dinp[(size_t)n * IC + i] : 0.0;
                for (int o = 0; o < OC; o++) {                         /* dout [N,OC] . w [OC,IC] */
                    acc += gemm_in(be, dout[(size_t)n * OC + o]) * gemm_in(be, w[(size_t)o * IC + i]);
                }
                dinp[(size_t)n * IC + i] = (float)acc;                 /* dinp [N,IC] */
            }
        }
    }
    for (int o = 0; o < OC; o++) {
        for (int i = 0; i < IC; i++) {
            double acc = 0.0;
            for (int n = 0; n < N; n++) {                              /* dout^T [OC,N] . inp [N,IC] */
                acc += gemm_in(be, dout[(size_t)n * OC + o]) * gemm_in(be, inp[(size_t)n * IC + i]);
            }
            dw[(size_t)o * IC + i] += (float)acc;                      /* dw [OC,IC] */
        }
        if (db) {
            double acc = 0.0;
            for (int n = 0; n < N; n++) {
                acc += dout[(size_t)n * OC + o];
            }
            db[o] += (float)acc;                                       /* db [OC] */
        }
    }
}

/* ---- attention -------------------------------------------------------------------------- */

/* Dropout multiplier of attention prob (h, i, j) of sequence b. */
static float attn_mult(const mrpc_dropout *drop, const mrpc_seqs *s, int b, int h, int i, int j) {
    if (!drop || drop->p <= 0.0f) {
        return 1.0f;
    }
    uint32_t P = drop->max_pos;
    uint32_t pos = ((uint32_t)h * P + (uint32_t)i) * P + (uint32_t)j;
    return mrpc_dropout_mult(drop, s->example[b], pos);
}

static void ref_attention_forward(mrpc_backend *be, float *ctx, float *probs, const float *qkv,
                                  const mrpc_seqs *s, int H, int D, int cls_only, const mrpc_dropout *drop) {
    int C = H * D;
    size_t C3 = 3 * (size_t)C;
    float inv = (float)sqrt((double)D);                                /* q / sqrt(D), as HF */
    double *row = malloc(sizeof(double) * (size_t)(s->max_len > 0 ? s->max_len : 1));
    if (!row) {
        cpu_set_error((cpu_backend *)be, MRPC_ERR_NOMEM, "attention_forward scratch");
        return;
    }
    for (int b = 0; b < s->n_seq; b++) {
        int o = s->offsets[b], len = s->offsets[b + 1] - o;
        int nq = cls_only ? 1 : len;                                   /* queries */
        for (int h = 0; h < H; h++) {
            float *P = cls_only ? probs + (size_t)H * o + (size_t)h * len                       /* [1,len] */
                                : probs + (size_t)H * s->sq_offsets[b] + (size_t)h * len * len; /* [len,len] */
            for (int i = 0; i < nq; i++) {                             /* query i */
                const float *q = qkv + (size_t)(o + i) * C3 + (size_t)h * D;             /* [D] */
                double mx = -INFINITY;
                for (int j = 0; j < len; j++) {                        /* key j */
                    const float *k = qkv + (size_t)(o + j) * C3 + C + (size_t)h * D;     /* [D] */
                    double acc = 0.0;
                    for (int d = 0; d < D; d++) {
                        acc += (double)(q[d] / inv) * k[d];
                    }
                    row[j] = acc;
                    if (acc > mx) {
                        mx = acc;
                    }
                }
                double sum = 0.0;
                for (int j = 0; j < len; j++) {
                    row[j] = exp(row[j] - mx);
                    sum += row[j];
                }
                for (int j = 0; j < len; j++) {
                    P[(size_t)i * len + j] = (float)(row[j] / sum);    /* softmax over keys */
                }
                size_t crow = cls_only ? (size_t)b : (size_t)(o + i);  /* ctx row */
                for (int d = 0; d < D; d++) {                          /* ctx = drop(P) v */
                    double acc = 0.0;
                    for (int j = 0; j < len; j++) {
                        const float *v = qkv + (size_t)(o + j) * C3 + 2 * (size_t)C + (size_t)h * D;
                        acc += (double)P[(size_t)i * len + j] * attn_mult(drop, s, b, h, i, j) * v[d];
                    }
                    ctx[crow * C + (size_t)h * D + d] = (float)acc;    /* ctx [N or B, C] */
                }
            }
        }
    }
    free(row);
}

static void ref_attention_backward(mrpc_backend *be, float *dqkv, const float *dctx, const float *qkv,
                                   const float *probs, const mrpc_seqs *s, int H, int D, int cls_only,
                                   const mrpc_dropout *drop) {
    int C = H * D;
    size_t C3 = 3 * (size_t)C;
    float inv = (float)sqrt((double)D);
    int maxl = s->max_len > 0 ? s->max_len : 1;
    double *dP = malloc(sizeof(double) * (size_t)maxl * maxl);
    if (!dP) {
        cpu_set_error((cpu_backend *)be, MRPC_ERR_NOMEM, "attention_backward scratch");
        return;
    }
    memset(dqkv, 0, sizeof(float) * (size_t)s->n_tok * C3);
    for (int b = 0; b < s->n_seq; b++) {
        int o = s->offsets[b], len = s->offsets[b + 1] - o;
        int nq = cls_only ? 1 : len;
        for (int h = 0; h < H; h++) {
            const float *P = cls_only ? probs + (size_t)H * o + (size_t)h * len
                                      : probs + (size_t)H * s->sq_offsets[b] + (size_t)h * len * len; /* [nq,len] */
            /* dP[i][j] = mult(i,j) * sum_d dctx[i,d] v[j,d]; dv[j,d] += sum_i mult*P[i][j] dctx[i,d] */
            for (int i = 0; i < nq; i++) {
                size_t crow = cls_only ? (size_t)b : (size_t)(o + i);
                const float *dc = dctx + crow * C + (size_t)h * D;                         /* [D] */
                for (int j = 0; j < len; j++) {
                    const float *v = qkv + (size_t)(o + j) * C3 + 2 * (size_t)C + (size_t)h * D;
                    float *dv = dqkv + (size_t)(o + j) * C3 + 2 * (size_t)C + (size_t)h * D;
                    double m = attn_mult(drop, s, b, h, i, j);
                    double acc = 0.0;
                    for (int d = 0; d < D; d++) {
                        acc += (double)dc[d] * v[d];
                        dv[d] += (float)(m * P[(size_t)i * len + j] * dc[d]);
                    }
                    dP[(size_t)i * len + j] = acc * m;
                }
            }
            /* dS = P (dP - sum_k P dP); S = (q/inv) k^T */
            for (int i = 0; i < nq; i++) {
                double dot = 0.0;
                for (int j = 0; j < len; j++) {
                    dot += P[(size_t)i * len + j] * dP[(size_t)i * len + j];
                }
                const float *q = qkv + (size_t)(o + i) * C3 + (size_t)h * D;
                float *dq = dqkv + (size_t)(o + i) * C3 + (size_t)h * D;
                for (int j = 0; j < len; j++) {
                    double ds = P[(size_t)i * len + j] * (dP[(size_t)i * len + j] - dot);
                    const float *k = qkv + (size_t)(o + j) * C3 + C + (size_t)h * D;
                    float *dk = dqkv + (size_t)(o + j) * C3 + C + (size_t)h * D;
                    for (int d = 0; d < D; d++) {
                        dq[d] += (float)(ds * k[d] / inv);             /* dq [D] */
                        dk[d] += (float)(ds * (q[d] / inv));           /* dk [D] */
                    }
                }
            }
        }
    }
    free(dP);
}

/* ---- elementwise ------------------------------------------------------------------------ */

static void ref_gelu_forward(mrpc_backend *be, float *out, const float *inp, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        out[i] = (float)(0.5 * x * (1.0 + erf(x * SQRT1_2)));
    }
}

static void ref_gelu_backward(mrpc_backend *be, float *dinp, const float *inp, const float *dout, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        double cdf = 0.5 * (1.0 + erf(x * SQRT1_2));
        double pdf = exp(-0.5 * x * x) / SQRT_2PI;
        dinp[i] = (float)(dout[i] * (cdf + x * pdf));
    }
}

void cpu_ref_relu_forward(mrpc_backend *be, float *out, const float *inp, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) {
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
    }
}

void cpu_ref_relu_backward(mrpc_backend *be, float *dinp, const float *out, const float *dout, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) {
        dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
    }
}

static void ref_add(mrpc_backend *be, float *out, const float *a, const float *b, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) {
        out[i] = a[i] + b[i];
    }
}

static void ref_dropout(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int row_len,
                        const mrpc_dropout *drop) {
    (void)be;
    for (int b = 0; b < s->n_seq; b++) {
        int len = s->offsets[b + 1] - s->offsets[b];
        for (int t = 0; t < len; t++) {
            size_t n = (size_t)s->offsets[b] + t;
            for (int c = 0; c < row_len; c++) {
                uint32_t pos = (uint32_t)t * (uint32_t)row_len + (uint32_t)c;
                float m = drop->p > 0.0f ? mrpc_dropout_mult(drop, s->example[b], pos) : 1.0f;
                out[n * row_len + c] = inp[n * row_len + c] * m;       /* [N,row_len] */
            }
        }
    }
}

void cpu_ref_gather_first(mrpc_backend *be, float *out, const float *inp, const mrpc_seqs *s, int C) {
    (void)be;
    for (int b = 0; b < s->n_seq; b++) {
        memcpy(out + (size_t)b * C, inp + (size_t)s->offsets[b] * C, sizeof(float) * (size_t)C); /* [B,C] */
    }
}

void cpu_ref_gather_first_backward(mrpc_backend *be, float *dinp, const float *dout, const mrpc_seqs *s, int C) {
    (void)be;
    memset(dinp, 0, sizeof(float) * (size_t)s->n_tok * C);            /* [N,C] */
    for (int b = 0; b < s->n_seq; b++) {
        memcpy(dinp + (size_t)s->offsets[b] * C, dout + (size_t)b * C, sizeof(float) * (size_t)C);
    }
}

void cpu_ref_crossentropy(mrpc_backend *be, float *losses, float *dlogits, const float *logits,
                          const int32_t *labels, int B, int L, float loss_scale) {
    (void)be;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * L;                       /* [L] */
        double mx = z[0];
        for (int k = 1; k < L; k++) {
            if (z[k] > mx) {
                mx = z[k];
            }
        }
        double sum = 0.0;
        for (int k = 0; k < L; k++) {
            sum += exp(z[k] - mx);
        }
        double lse = mx + log(sum);
        losses[b] = (float)(lse - z[labels[b]]);                       /* [B] */
        if (dlogits) {
            for (int k = 0; k < L; k++) {
                double p = exp(z[k] - lse);
                dlogits[(size_t)b * L + k] = (float)((p - (k == labels[b] ? 1.0 : 0.0)) * loss_scale);
            }
        }
    }
}

/* ---- optimizer -------------------------------------------------------------------------- */

static double ref_sumsq(mrpc_backend *be, const float *x, size_t n) {
    (void)be;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        acc += (double)x[i] * x[i];
    }
    return acc;
}

static void ref_scale(mrpc_backend *be, float *x, size_t n, float s) {
    (void)be;
    for (size_t i = 0; i < n; i++) {
        x[i] *= s;
    }
}

static void ref_adamw(mrpc_backend *be, float *p, const float *g, float *m, float *v, size_t n,
                      const mrpc_adamw_hparams *hp) {
    (void)be;
    mrpc_adamw_update(p, g, m, v, n, hp);
}

static void ref_free(mrpc_backend *be) {
    free(be);
}

const mrpc_backend_ops mrpc_cpu_ref_ops = {
    .free = ref_free,
    .get_error = cpu_get_error,
    .synchronize = NULL,
    .alloc = cpu_alloc,
    .free_mem = cpu_free_mem,
    .copy_to_backend = cpu_copy,
    .copy_to_host = cpu_copy,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .seqs_prepare = NULL,
    .weights_changed = NULL,
    .embedding_forward = ref_embedding_forward,
    .embedding_backward = ref_embedding_backward,
    .layernorm_forward = ref_layernorm_forward,
    .layernorm_backward = ref_layernorm_backward,
    .linear_forward = ref_linear_forward,
    .linear_backward = ref_linear_backward,
    .attention_forward = ref_attention_forward,
    .attention_backward = ref_attention_backward,
    .gelu_forward = ref_gelu_forward,
    .gelu_backward = ref_gelu_backward,
    .relu_forward = cpu_ref_relu_forward,
    .relu_backward = cpu_ref_relu_backward,
    .add = ref_add,
    .dropout = ref_dropout,
    .gather_first = cpu_ref_gather_first,
    .gather_first_backward = cpu_ref_gather_first_backward,
    .crossentropy = cpu_ref_crossentropy,
    .sumsq = ref_sumsq,
    .scale = ref_scale,
    .adamw = ref_adamw,
};

mrpc_status mrpc_backend_cpu_ref_create(const mrpc_backend_options *opts, mrpc_backend **out, mrpc_error *err) {
    *out = NULL;
    cpu_backend *cb = calloc(1, sizeof *cb);
    if (!cb) {
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "backend", "out of memory");
    }
    cb->base.ops = &mrpc_cpu_ref_ops;
    cb->base.kind = MRPC_BACKEND_CPU_REF;
    cb->base.precision = opts->precision;
    cb->base.n_threads = 1;
    cb->base.name = "cpu-ref";
    cb->base.host_memory = 1;
    *out = &cb->base;
    return MRPC_OK;
}

/*
 * cpu_vec.c — the CPU backend's vectorised array kernels.
 *
 * Plain C loops written so that gcc vectorises them (no calls, no branches in the body),
 * compiled three times with target_clones (AVX-512, AVX2+FMA, baseline) and picked at
 * load time by the CPU's features, so the binary still runs on any x86-64.
 *
 * exp and erf are the vectorisable approximations PyTorch's CPU kernels use as well:
 * exp: Cephes range reduction + degree-6 polynomial (~1 ulp); erf: Abramowitz-Stegun
 * 7.1.26 (|error| < 1.5e-7), which is torch's Vectorized<float>::erf, so our GELU matches
 * torch's at the level of its own rounding.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "adamw.h"
#include "cpu_internal.h"
#include "philox.h"

/* the vector helpers are always inlined, so their vector ABI never shows */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(MRPC_NO_CLONES)
#define VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VEC_CLONES
#endif

/* ---- 8-wide building blocks (gcc vector extensions: one AVX2 register, two SSE ones) --- */

#define VW 8 /* the transpose in cpu_vec_dropout_mults assumes 8 */
typedef float    v16f __attribute__((vector_size(4 * VW)));
typedef int32_t  v16i __attribute__((vector_size(4 * VW)));
typedef uint32_t v16u __attribute__((vector_size(4 * VW)));
typedef uint64_t v16q __attribute__((vector_size(8 * VW)));

#define AI static inline __attribute__((always_inline))

AI v16f load16(const float *p) {
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

AI void store16(float *p, v16f v) {
    memcpy(p, &v, sizeof v);
}

AI v16f splat(float x) {
    return (v16f){0} + x;
}

/* m ? a : b for a lane mask m (all ones / all zeros). */
AI v16f vsel(v16i m, v16f a, v16f b) {
    return (v16f)((m & (v16i)a) | (~m & (v16i)b));
}

/* exp(x) for x <= 0 (all our callers: softmax after max subtraction, exp(-x^2)); below
   -87.3 it returns 0 (underflow), NaN stays NaN. Cephes range reduction + degree-6 poly. */
AI v16f vexp_neg(v16f x) {
    x = vsel(x < -87.33654f, splat(-87.33654f), x);
    v16f fx = x * 1.44269504088896341f + 0.5f;
    v16f n = __builtin_convertvector(__builtin_convertvector(fx, v16i), v16f);
    n = vsel(n > fx, n - 1.0f, n);                                   /* floor */
    v16f r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    v16f z = r * r;
    v16f y = splat(1.9875691500e-4f);
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * z + r + 1.0f;
    v16i e = __builtin_convertvector(n, v16i) + 127;
    return y * (v16f)(e << 23);
}

/* erf(x), Abramowitz-Stegun 7.1.26 as in torch's Vectorized<float>::erf. */
AI v16f verf(v16f x) {
    v16i sign = (v16i)x & (int32_t)0x80000000;
    v16f ax = (v16f)((v16i)x & 0x7fffffff);
    v16f t = 1.0f / (0.3275911f * ax + 1.0f);
    v16f r = splat(1.061405429f);
    r = r * t - 1.453152027f;
    r = r * t + 1.421413741f;
    r = r * t - 0.284496736f;
    r = r * t + 0.254829592f;
    v16f y = 1.0f - r * t * vexp_neg(-(x * x));
    return (v16f)((v16i)y ^ sign);
}

#define SQRT1_2F 0.70710678118654752440f
#define INV_SQRT_2PIF 0.39894228040143267794f

AI v16f gelu16(v16f x) {
    return 0.5f * x * (1.0f + verf(x * SQRT1_2F));
}

AI v16f gelu_grad16(v16f x, v16f g) {
    v16f cdf = 0.5f * (1.0f + verf(x * SQRT1_2F));
    v16f pdf = vexp_neg(-0.5f * x * x) * INV_SQRT_2PIF;
    return g * (cdf + x * pdf);
}

/* ---- GELU ------------------------------------------------------------------------------- */

VEC_CLONES void cpu_vec_gelu_forward(float *out, const float *inp, size_t n) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) {
        store16(out + i, gelu16(load16(inp + i)));
    }
    if (i < n) {
        float tmp[VW] = {0};
        memcpy(tmp, inp + i, (n - i) * sizeof(float));
        v16f y = gelu16(load16(tmp));
        store16(tmp, y);
        memcpy(out + i, tmp, (n - i) * sizeof(float));
    }
}

VEC_CLONES void cpu_vec_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) {
        store16(dinp + i, gelu_grad16(load16(inp + i), load16(dout + i)));
    }
    if (i < n) {
        float tx[VW] = {0}, tg[VW] = {0};
        memcpy(tx, inp + i, (n - i) * sizeof(float));
        memcpy(tg, dout + i, (n - i) * sizeof(float));
        store16(tx, gelu_grad16(load16(tx), load16(tg)));
        memcpy(dinp + i, tx, (n - i) * sizeof(float));
    }
}

/* ---- softmax pieces ----------------------------------------------------------------------- */

VEC_CLONES float cpu_vec_exp_sub_sum(float *x, int n, float m) {
    v16f acc = splat(0.0f);
    int i = 0;
    for (; i + VW <= n; i += VW) {
        v16f e = vexp_neg(load16(x + i) - m);
        store16(x + i, e);
        acc += e;
    }
    float sum = 0.0f;
    for (int k = 0; k < VW; k++) {
        sum += acc[k];
    }
    if (i < n) {
        float tmp[VW];
        for (int k = 0; k < VW; k++) {
            tmp[k] = i + k < n ? x[i + k] - m : -100.0f;
        }
        v16f e = vexp_neg(load16(tmp));
        for (int k = 0; i + k < n; k++) {
            x[i + k] = e[k];
            sum += e[k];
        }
    }
    return sum;
}

VEC_CLONES void cpu_vec_softmax_row(float *x, int n) {
    float m = x[0];
    for (int i = 1; i < n; i++) {
        m = x[i] > m ? x[i] : m;
    }
    float sum = cpu_vec_exp_sub_sum(x, n, m);
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) {
        x[i] *= inv;
    }
}

/* ---- dropout ------------------------------------------------------------------------------ */

/* hi and lo words of the 32x32 -> 64-bit products a * c, VW lanes. */
AI void mulhilo16(uint32_t a, v16u c, v16u *hi, v16u *lo) {
    v16q p = __builtin_convertvector(c, v16q) * (uint64_t)a;
    *hi = __builtin_convertvector(p >> 32, v16u);
    *lo = __builtin_convertvector(p, v16u);
}

/* VW Philox4x32-10 blocks at counters {epoch, example, site, blk0 + k}, k = 0..VW-1: the
   same rounds as philox.h, lane k of out[w] is word w of block k. */
AI void philox16(v16u out[4], uint32_t key0, uint32_t key1, uint32_t epoch, uint32_t example, uint32_t site,
                 uint32_t blk0) {
    const v16u iota = {0, 1, 2, 3, 4, 5, 6, 7};
    v16u c0 = (v16u){0} + epoch, c1 = (v16u){0} + example, c2 = (v16u){0} + site, c3 = iota + blk0;
    uint32_t k0 = key0, k1 = key1;
    for (int round = 0; round < 10; round++) {
        v16u hi0, lo0, hi1, lo1;
        mulhilo16(0xD2511F53u, c0, &hi0, &lo0);
        mulhilo16(0xCD9E8D57u, c2, &hi1, &lo1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* hi and lo words of c * m, 8 lanes, AVX2 (vpmuludq on even and odd lanes). */
__attribute__((target("avx2"))) static inline void mulhilo8_avx2(__m256i c, __m256i m, __m256i *hi, __m256i *lo) {
    __m256i pe = _mm256_mul_epu32(c, m);                           /* lanes 0,2,4,6 as u64 */
    __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(c, 32), m);    /* lanes 1,3,5,7 */
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
    *lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
}

/* The full 32-position chunks of cpu_vec_dropout_mults with AVX2 intrinsics; returns how
   many positions it wrote (a multiple of 32). pos0 must be a multiple of 4. */
__attribute__((target("avx2"))) static int dropout_chunks_avx2(float *mult, const mrpc_dropout *d, uint32_t example,
                                                               uint32_t pos0, int count) {
    const __m256i m0 = _mm256_set1_epi64x(0xD2511F53u), m1 = _mm256_set1_epi64x(0xCD9E8D57u);
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 vp = _mm256_set1_ps(d->p), vs = _mm256_set1_ps(1.0f / (1.0f - d->p));
    const __m256 inv24 = _mm256_set1_ps(1.0f / 16777216.0f);
    int i = 0;
    for (; count - i >= 32; i += 32) {
        uint32_t blk = (pos0 + (uint32_t)i) >> 2;
        __m256i c0 = _mm256_set1_epi32((int)d->epoch), c1 = _mm256_set1_epi32((int)example);
        __m256i c2 = _mm256_set1_epi32((int)d->site), c3 = _mm256_add_epi32(iota, _mm256_set1_epi32((int)blk));
        uint32_t k0 = (uint32_t)d->seed, k1 = (uint32_t)(d->seed >> 32);
        for (int round = 0; round < 10; round++) {
            __m256i hi0, lo0, hi1, lo1;
            mulhilo8_avx2(c0, m0, &hi0, &lo0);
            mulhilo8_avx2(c2, m1, &hi1, &lo1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)k0));
            c1 = lo1;
            c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)k1));
            c3 = lo0;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        /* 4 x 8 transpose: word w of block k belongs to position 4k + w */
        __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpackhi_epi32(c0, c1);
        __m256i t2 = _mm256_unpacklo_epi32(c2, c3), t3 = _mm256_unpackhi_epi32(c2, c3);
        __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
        __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
        /* u0 = blocks 0,4; u1 = 1,5; u2 = 2,6; u3 = 3,7 (128-bit halves) */
        __m256i r[4] = {_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u2, u3, 0x20),
                        _mm256_permute2x128_si256(u0, u1, 0x31), _mm256_permute2x128_si256(u2, u3, 0x31)};
        for (int q = 0; q < 4; q++) {
            __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(r[q], 8)), inv24);
            __m256 keep = _mm256_cmp_ps(u, vp, _CMP_GE_OQ);
            _mm256_storeu_ps(mult + i + 8 * q, _mm256_and_ps(keep, vs));
        }
    }
    return i;
}
#define HAVE_DROPOUT_AVX2 1
#endif

/* The same full chunks with gcc vector extensions (any target). */
VEC_CLONES static int dropout_chunks_generic(float *mult, const mrpc_dropout *d, uint32_t example, uint32_t pos0,
                                             int count) {
    const float p = d->p, scale = 1.0f / (1.0f - d->p);
    const uint32_t key0 = (uint32_t)d->seed, key1 = (uint32_t)(d->seed >> 32);
    v16u out[4];
    const v16f vs = splat(scale), vz = splat(0.0f);
    int i = 0;
    for (; count - i >= 4 * VW; i += 4 * VW) {
        uint32_t blk = (pos0 + (uint32_t)i) >> 2;
        philox16(out, key0, key1, d->epoch, example, d->site, blk);
        /* 4 x 8 transpose: word w of block k belongs to position 4k + w */
        v16u t0 = __builtin_shufflevector(out[0], out[1], 0, 8, 1, 9, 4, 12, 5, 13);
        v16u t1 = __builtin_shufflevector(out[0], out[1], 2, 10, 3, 11, 6, 14, 7, 15);
        v16u t2 = __builtin_shufflevector(out[2], out[3], 0, 8, 1, 9, 4, 12, 5, 13);
        v16u t3 = __builtin_shufflevector(out[2], out[3], 2, 10, 3, 11, 6, 14, 7, 15);
        v16u u[4] = {__builtin_shufflevector(t0, t2, 0, 1, 8, 9, 2, 3, 10, 11),
                     __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 2, 3, 10, 11),
                     __builtin_shufflevector(t0, t2, 4, 5, 12, 13, 6, 7, 14, 15),
                     __builtin_shufflevector(t1, t3, 4, 5, 12, 13, 6, 7, 14, 15)};
        for (int q = 0; q < 4; q++) {
            v16f uf = __builtin_convertvector(u[q] >> 8, v16f) * (1.0f / 16777216.0f);
            store16(mult + i + q * VW, vsel(uf >= p, vs, vz));
        }
    }
    return i;
}

void cpu_vec_dropout_mults(float *mult, const mrpc_dropout *d, uint32_t example, uint32_t pos0, int count) {
    cpu_vec_dropout_mults_path(mult, d, example, pos0, count, 0);
}

void cpu_vec_dropout_mults_path(float *mult, const mrpc_dropout *d, uint32_t example, uint32_t pos0, int count,
                                int path) {
    if (!(d->p > 0.0f)) {
        for (int i = 0; i < count; i++) {
            mult[i] = 1.0f;
        }
        return;
    }
    int i = 0;
    /* head: up to the next multiple of 4 positions */
    while (i < count && ((pos0 + (uint32_t)i) & 3u) != 0) {
        mult[i] = mrpc_dropout_mult(d, example, pos0 + (uint32_t)i);
        i++;
    }
#if defined(HAVE_DROPOUT_AVX2)
    if (path == 0 && __builtin_cpu_supports("avx2")) {
        i += dropout_chunks_avx2(mult + i, d, example, pos0 + (uint32_t)i, count - i);
    } else
#endif
    if (path != 2) {
        i += dropout_chunks_generic(mult + i, d, example, pos0 + (uint32_t)i, count - i);
    }
    for (; i < count; i++) {                                           /* tail */
        mult[i] = mrpc_dropout_mult(d, example, pos0 + (uint32_t)i);
    }
}

/* ---- simple maps ------------------------------------------------------------------------- */

VEC_CLONES void cpu_vec_mul(float *y, const float *x, const float *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        y[i] = x[i] * m[i];
    }
}

VEC_CLONES void cpu_vec_add(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        out[i] = a[i] + b[i];
    }
}

VEC_CLONES void cpu_vec_scale(float *x, size_t n, float s) {
    for (size_t i = 0; i < n; i++) {
        x[i] *= s;
    }
}

VEC_CLONES double cpu_vec_sumsq(const float *x, size_t n) {
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        acc += v * v;
    }
    return acc;
}

/* ---- bf16 conversion --------------------------------------------------------------------- */

AI uint16_t to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t nan = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? nan : r);
}

VEC_CLONES void cpu_vec_to_bf16(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        dst[i] = to_bf16(src[i]);
    }
}

VEC_CLONES void cpu_vec_to_bf16_2d(uint16_t *dst, const float *src, size_t rows, size_t cols, size_t ld) {
    for (size_t r = 0; r < rows; r++) {
        const float *s = src + r * ld;
        uint16_t *d = dst + r * cols;
        for (size_t c = 0; c < cols; c++) {
            d[c] = to_bf16(s[c]);
        }
    }
}

VEC_CLONES void cpu_vec_round_bf16_2d(float *dst, const float *src, size_t rows, size_t cols, size_t ld) {
    for (size_t r = 0; r < rows; r++) {
        const float *s = src + r * ld;
        float *d = dst + r * cols;
        for (size_t c = 0; c < cols; c++) {
            uint32_t u = (uint32_t)to_bf16(s[c]) << 16;
            memcpy(&d[c], &u, 4);
        }
    }
}

/* ---- AdamW ------------------------------------------------------------------------------- */

VEC_CLONES void cpu_vec_adamw(float *p, const float *g, float *m, float *v, size_t n,
                              const struct mrpc_adamw_consts *c) {
    const float decay = c->decay, b1 = c->beta1, omb1 = c->one_minus_beta1, b2 = c->beta2,
                omb2 = c->one_minus_beta2, bc2s = c->bc2_sqrt, eps = c->eps, ns = c->neg_step;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float pi = p[i] * decay;
        float mi = m[i] * b1 + omb1 * gi;
        float vi = v[i] * b2 + omb2 * gi * gi;
        float denom = sqrtf(vi) / bc2s + eps;
        p[i] = pi + ns * (mi / denom);
        m[i] = mi;
        v[i] = vi;
    }
}

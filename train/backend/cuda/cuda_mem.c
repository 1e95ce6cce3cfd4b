/*
 * cuda_mem.c — the CUDA backend's memory slots, scratch growth, sticky errors and the
 * device copies of packed batches (seqs_prepare).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"

int cuda_failed(const cuda_backend *cb) {
    return cb->error.status != MRPC_OK;
}

void cuda_set_error(cuda_backend *cb, mrpc_status status, const char *fmt, ...) {
    if (cuda_failed(cb)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    mrpc_error_setv(&cb->error, status, NULL, 0, 0, "cuda", fmt, ap);
    va_end(ap);
}

/* Rounds a device allocation up to 256 bytes (never 0). */
static size_t round256(size_t n) {
    size_t r = (n + 255u) & ~(size_t)255u;
    return r ? r : 256u;
}

int cuda_grow(cuda_backend *cb, void **buf, size_t *cap_bytes, size_t n_bytes) {
    if (*buf && *cap_bytes >= n_bytes) {
        return 1;
    }
    if (cuda_failed(cb)) {
        return 0;
    }
    if (*buf) {
        void *old = *buf;
        *buf = NULL;
        *cap_bytes = 0;
        CUDA_CHECK(&cb->error, cudaStreamSynchronize(cb->stream), return 0); /* queued ops may still use it */
        CUDA_CHECK(&cb->error, cudaFree(old), return 0);
    }
    size_t want = round256(n_bytes + n_bytes / 8); /* some headroom: shapes vary by batch */
    void *p = NULL;
    CUDA_CHECK(&cb->error, cudaMalloc(&p, want), return 0);
    *buf = p;
    *cap_bytes = want;
    return 1;
}

cuda_drop cuda_drop_make(const mrpc_dropout *d) {
    cuda_drop r;
    memset(&r, 0, sizeof r);
    if (!d || !(d->p > 0.0f)) {
        return r; /* p == 0 (or NaN): identity, exactly as mrpc_dropout_mult */
    }
    r.on = 1;
    r.p = d->p;
    r.scale = 1.0f / (1.0f - d->p); /* float arithmetic, as backend.c */
    r.key0 = (uint32_t)d->seed;
    r.key1 = (uint32_t)(d->seed >> 32);
    r.epoch = d->epoch;
    r.site = d->site;
    r.max_pos = d->max_pos;
    return r;
}

/* ---- memory slots ---------------------------------------------------------------------- */

void *cuda_alloc(mrpc_backend *be, size_t n_bytes) {
    cuda_backend *cb = (cuda_backend *)be;
    size_t rounded = round256(n_bytes); /* cudaMalloc aligns to 256 bytes */
    void *p = NULL;
    CUDA_CHECK(&cb->error, cudaMalloc(&p, rounded), return NULL);
    CUDA_CHECK(&cb->error, cudaMemsetAsync(p, 0, rounded, cb->stream), {
        cudaFree(p);
        return NULL;
    });
    return p;
}

void cuda_free_mem(mrpc_backend *be, void *ptr) {
    cuda_backend *cb = (cuda_backend *)be;
    if (!ptr) {
        return;
    }
    if ((const void *)ptr == (const void *)cb->w16_slab) {
        cb->w16_slab = NULL; /* the bf16 mirror no longer mirrors anything */
        cb->w16_n = 0;
    }
    CUDA_CHECK(&cb->error, cudaStreamSynchronize(cb->stream), (void)0);
    CUDA_CHECK(&cb->error, cudaFree(ptr), return);
}

void cuda_copy_to_backend(mrpc_backend *be, void *dst, const void *host_src, size_t n_bytes) {
    cuda_backend *cb = (cuda_backend *)be;
    if (!n_bytes || cuda_failed(cb)) {
        return;
    }
    /* synchronous: the caller may reuse host_src at once even when it is pinned memory */
    CUDA_CHECK(&cb->error, cudaMemcpyAsync(dst, host_src, n_bytes, cudaMemcpyHostToDevice, cb->stream), return);
    CUDA_CHECK(&cb->error, cudaStreamSynchronize(cb->stream), return);
}

void cuda_copy_to_host(mrpc_backend *be, void *host_dst, const void *src, size_t n_bytes) {
    cuda_backend *cb = (cuda_backend *)be;
    if (!n_bytes) {
        return;
    }
    if (!cuda_failed(cb)) {
        CUDA_CHECK(&cb->error, cudaMemcpyAsync(host_dst, src, n_bytes, cudaMemcpyDeviceToHost, cb->stream), (void)0);
        if (!cuda_failed(cb)) {
            CUDA_CHECK(&cb->error, cudaStreamSynchronize(cb->stream), (void)0);
        }
    }
    if (cuda_failed(cb)) {
        memset(host_dst, 0xff, n_bytes); /* NaN floats: a failure never reads as data */
    }
}

void cuda_copy(mrpc_backend *be, void *dst, const void *src, size_t n_bytes) {
    cuda_backend *cb = (cuda_backend *)be;
    if (!n_bytes || dst == src || cuda_failed(cb)) {
        return;
    }
    CUDA_CHECK(&cb->error, cudaMemcpyAsync(dst, src, n_bytes, cudaMemcpyDeviceToDevice, cb->stream), return);
}

void cuda_zero(mrpc_backend *be, void *dst, size_t n_bytes) {
    cuda_backend *cb = (cuda_backend *)be;
    if (!n_bytes || cuda_failed(cb)) {
        return;
    }
    CUDA_CHECK(&cb->error, cudaMemsetAsync(dst, 0, n_bytes, cb->stream), return);
}

/* ---- packed batches --------------------------------------------------------------------- */

static size_t align8(size_t x) {
    return (x + 7u) & ~(size_t)7u;
}

/* Uploads s into slot sl. 0 (error recorded) on failure. */
static int seqs_upload(cuda_backend *cb, cuda_seqs_dev *sl, const mrpc_seqs *s) {
    const int B = s->n_seq, N = s->n_tok;
    if (B < 1 || N < 1 || !s->offsets || !s->sq_offsets || s->offsets[0] != 0 || s->offsets[B] != N) {
        cuda_set_error(cb, MRPC_ERR_INVALID, "malformed packed batch (n_seq %d, n_tok %d)", B, N);
        return 0;
    }
    for (int b = 0; b < B; b++) {
        if (s->offsets[b + 1] <= s->offsets[b]) {
            cuda_set_error(cb, MRPC_ERR_INVALID, "packed batch: sequence %d is empty or offsets decrease", b);
            return 0;
        }
    }
    size_t off_sq = align8(sizeof(int32_t) * (size_t)(B + 1));
    size_t off_ex = off_sq + sizeof(int64_t) * (size_t)(B + 1);
    size_t off_rs = align8(off_ex + sizeof(uint32_t) * (size_t)B);
    size_t total = off_rs + sizeof(int32_t) * (size_t)N;
    if (cb->h_stage_cap < total) {
        void *p = realloc(cb->h_stage, total);
        if (!p) {
            cuda_set_error(cb, MRPC_ERR_NOMEM, "out of memory staging a batch of %d sequences", B);
            return 0;
        }
        cb->h_stage = p;
        cb->h_stage_cap = total;
    }
    if (!cuda_grow(cb, &sl->block, &sl->cap_bytes, total)) {
        return 0;
    }
    char *h = cb->h_stage;
    memcpy(h, s->offsets, sizeof(int32_t) * (size_t)(B + 1));
    memcpy(h + off_sq, s->sq_offsets, sizeof(int64_t) * (size_t)(B + 1));
    if (s->example) {
        memcpy(h + off_ex, s->example, sizeof(uint32_t) * (size_t)B);
    } else {
        memset(h + off_ex, 0, sizeof(uint32_t) * (size_t)B); /* eval: dropout off, counters unused */
    }
    int32_t *rs = (int32_t *)(void *)(h + off_rs);
    for (int b = 0; b < B; b++) {
        for (int n = s->offsets[b]; n < s->offsets[b + 1]; n++) {
            rs[n] = b;
        }
    }
    /* pageable source: returns once staged, so h_stage can be refilled by the next call */
    CUDA_CHECK(&cb->error, cudaMemcpyAsync(sl->block, h, total, cudaMemcpyHostToDevice, cb->stream), return 0);
    char *d = sl->block;
    sl->offsets = (const int32_t *)(const void *)d;
    sl->sq_offsets = (const int64_t *)(const void *)(d + off_sq);
    sl->example = (const uint32_t *)(const void *)(d + off_ex);
    sl->row_seq = (const int32_t *)(const void *)(d + off_rs);
    sl->h_offsets = s->offsets;
    sl->h_sq = s->sq_offsets;
    sl->h_example = s->example;
    sl->n_seq = B;
    sl->n_tok = N;
    return 1;
}

/* The next ring slot, marked empty. */
static cuda_seqs_dev *take_slot(cuda_backend *cb) {
    cuda_seqs_dev *sl = &cb->slots[cb->next_slot];
    cb->next_slot = (cb->next_slot + 1) % CUDA_SEQS_SLOTS;
    sl->h_offsets = NULL;
    sl->n_seq = 0;
    return sl;
}

void cuda_seqs_prepare(mrpc_backend *be, mrpc_seqs *seqs) {
    cuda_backend *cb = (cuda_backend *)be;
    seqs->device = NULL;
    if (cuda_failed(cb)) {
        return;
    }
    cuda_seqs_dev *sl = take_slot(cb);
    if (seqs_upload(cb, sl, seqs)) {
        seqs->device = sl;
    }
}

const cuda_seqs_dev *cuda_seqs(cuda_backend *cb, const mrpc_seqs *s) {
    uintptr_t p = (uintptr_t)s->device, lo = (uintptr_t)&cb->slots[0], hi = (uintptr_t)&cb->slots[CUDA_SEQS_SLOTS];
    if (p >= lo && p < hi) {
        const cuda_seqs_dev *d = s->device;
        if (d->block && d->h_offsets == s->offsets && d->h_sq == s->sq_offsets && d->h_example == s->example &&
            d->n_seq == s->n_seq && d->n_tok == s->n_tok) {
            return d;
        }
    }
    /* not prepared, or its slot was recycled: upload now (one small copy) */
    cuda_seqs_dev *sl = take_slot(cb);
    return seqs_upload(cb, sl, s) ? sl : NULL;
}

void cuda_mem_release(cuda_backend *cb) {
    void **bufs[] = {(void **)&cb->w16, (void **)&cb->a16, (void **)&cb->d16, (void **)&cb->x16, (void **)&cb->ones,
                     (void **)&cb->att, (void **)&cb->dpart, (void **)&cb->iscr};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (*bufs[i]) {
            cudaFree(*bufs[i]); /* teardown: errors here have nowhere to go */
            *bufs[i] = NULL;
        }
    }
    for (int k = 0; k < CUDA_SEQS_SLOTS; k++) {
        if (cb->slots[k].block) {
            cudaFree(cb->slots[k].block);
            cb->slots[k].block = NULL;
        }
    }
    free(cb->h_stage);
    cb->h_stage = NULL;
}

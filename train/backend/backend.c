/* backend.c — backend construction, the packed-sequence helper and the dropout rule. */
#include "backend.h"

#include <string.h>

#include "cpu/cpu_backend.h"
#include "philox.h"
#if defined(MRPC_HAVE_CUDA)
#include "cuda/cuda_backend.h"
#endif

mrpc_status mrpc_backend_create(const mrpc_backend_options *opts, mrpc_backend **out, mrpc_error *err) {
    *out = NULL;
    switch (opts->kind) {
    case MRPC_BACKEND_CPU:
        return mrpc_backend_cpu_create(opts, out, err);
    case MRPC_BACKEND_CPU_REF:
        return mrpc_backend_cpu_ref_create(opts, out, err);
    case MRPC_BACKEND_CUDA:
#if defined(MRPC_HAVE_CUDA)
        return mrpc_backend_cuda_create(opts, out, err);
#else
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, NULL, 0, 0, "backend",
                              "the CUDA backend is not part of this build (configure with MRPC_CUDA=ON)");
#endif
    }
    return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "backend", "unknown backend kind %d", (int)opts->kind);
}

void mrpc_backend_free(mrpc_backend *be) {
    if (be) {
        be->ops->free(be);
    }
}

const char *mrpc_precision_name(mrpc_precision p) {
    return p == MRPC_PRECISION_BF16 ? "bf16" : "fp32";
}

int mrpc_precision_parse(const char *s, mrpc_precision *out) {
    if (s && strcmp(s, "fp32") == 0) {
        *out = MRPC_PRECISION_FP32;
        return 1;
    }
    if (s && strcmp(s, "bf16") == 0) {
        *out = MRPC_PRECISION_BF16;
        return 1;
    }
    return 0;
}

mrpc_status mrpc_seqs_build(mrpc_seqs *s, int n_seq, const int32_t *lengths, const uint32_t *example,
                            int32_t *offsets, int64_t *sq_offsets, mrpc_error *err) {
    memset(s, 0, sizeof *s);
    offsets[0] = 0;
    sq_offsets[0] = 0;
    int max_len = 0;
    for (int b = 0; b < n_seq; b++) {
        if (lengths[b] < 1) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "lengths",
                                  "row %d has length %d; every sequence needs at least its [CLS] token", b,
                                  (int)lengths[b]);
        }
        offsets[b + 1] = offsets[b] + lengths[b];
        sq_offsets[b + 1] = sq_offsets[b] + (int64_t)lengths[b] * lengths[b];
        if (lengths[b] > max_len) {
            max_len = lengths[b];
        }
    }
    s->n_seq = n_seq;
    s->n_tok = offsets[n_seq];
    s->max_len = max_len;
    s->offsets = offsets;
    s->sq_offsets = sq_offsets;
    s->example = example;
    return MRPC_OK;
}

float mrpc_dropout_mult(const mrpc_dropout *d, uint32_t example, uint32_t position) {
    if (!(d->p > 0.0f)) {
        return 1.0f;
    }
    float u = mrpc_philox_uniform_at(d->seed, d->epoch, example, d->site, position);
    return u >= d->p ? 1.0f / (1.0f - d->p) : 0.0f;
}

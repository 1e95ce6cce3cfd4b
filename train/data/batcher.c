/* batcher.c — epoch orders, global batches and rank shares (see batcher.h). */
#include "batcher.h"

#include <stdlib.h>
#include <string.h>

#include "rng.h"

mrpc_status mrpc_batcher_init(mrpc_batcher *b, const mrpc_dataset *data, size_t n_examples, int batch_size, int rank,
                              int n_ranks, int32_t pad_id, uint64_t seed, mrpc_error *err) {
    memset(b, 0, sizeof *b);
    if (n_examples == 0 || n_examples > data->n) n_examples = data->n;
    if (n_examples == 0) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "the dataset is empty");
    if (batch_size < 1 || n_ranks < 1 || rank < 0 || rank >= n_ranks) {
        return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL, "bad batcher arguments");
    }
    b->data = data;
    b->n_examples = n_examples;
    b->batch_size = batch_size;
    b->rank = rank;
    b->n_ranks = n_ranks;
    b->pad_id = pad_id;
    b->seed = seed;
    b->order_epoch = -2;
    b->order = malloc(n_examples * sizeof *b->order);
    /* A share holds at most ceil(batch/ranks) rows; ids at most rows * longest. */
    b->capacity_rows = (size_t)(batch_size + n_ranks - 1) / (size_t)n_ranks;
    b->capacity_ids = b->capacity_rows * (data->max_len > 0 ? data->max_len : 1);
    b->batch.ids = malloc(b->capacity_ids * sizeof *b->batch.ids);
    b->batch.lengths = malloc(b->capacity_rows * sizeof *b->batch.lengths);
    b->batch.labels = malloc(b->capacity_rows * sizeof *b->batch.labels);
    b->batch.example_index = malloc(b->capacity_rows * sizeof *b->batch.example_index);
    if (!b->order || !b->batch.ids || !b->batch.lengths || !b->batch.labels || !b->batch.example_index) {
        mrpc_batcher_free(b);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory for batches");
    }
    return MRPC_OK;
}

void mrpc_batcher_free(mrpc_batcher *b) {
    if (!b) return;
    free(b->order);
    free(b->batch.ids);
    free(b->batch.lengths);
    free(b->batch.labels);
    free(b->batch.example_index);
    memset(b, 0, sizeof *b);
}

int64_t mrpc_batcher_steps_per_epoch(const mrpc_batcher *b) {
    return (int64_t)((b->n_examples + (size_t)b->batch_size - 1) / (size_t)b->batch_size);
}

static void set_order(mrpc_batcher *b, int64_t epoch, int shuffle) {
    int64_t want = shuffle ? epoch : -1;
    if (b->order_epoch == want) return;
    if (shuffle) {
        mrpc_rng rng;
        mrpc_rng_init(&rng, b->seed, MRPC_RNG_SHUFFLE, (uint32_t)epoch);
        mrpc_rng_permutation(&rng, b->order, b->n_examples);
    } else {
        for (size_t i = 0; i < b->n_examples; i++) b->order[i] = (uint32_t)i;
    }
    b->order_epoch = want;
}

mrpc_status mrpc_batcher_get(mrpc_batcher *b, int64_t epoch, int64_t step_in_epoch, int shuffle,
                             const mrpc_batch **out, mrpc_error *err) {
    int64_t steps = mrpc_batcher_steps_per_epoch(b);
    if (step_in_epoch < 0 || step_in_epoch >= steps || epoch < 0) {
        return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL, "batch %lld of epoch %lld is out of range",
                              (long long)step_in_epoch, (long long)epoch);
    }
    set_order(b, epoch, shuffle);
    size_t start = (size_t)step_in_epoch * (size_t)b->batch_size;
    size_t global = b->n_examples - start < (size_t)b->batch_size ? b->n_examples - start : (size_t)b->batch_size;
    size_t lo = (size_t)b->rank * global / (size_t)b->n_ranks;
    size_t hi = (size_t)(b->rank + 1) * global / (size_t)b->n_ranks;
    mrpc_batch *batch = &b->batch;
    batch->global_size = (int)global;
    batch->n_rows = (int)(hi - lo);
    int T = 0;
    for (size_t r = lo; r < hi; r++) {
        uint32_t ex = b->order[start + r];
        int len = (int)(b->data->offsets[ex + 1] - b->data->offsets[ex]);
        if (len > T) T = len;
    }
    batch->seq_len = T;
    batch->n_tokens = 0;
    for (size_t r = lo; r < hi; r++) {
        size_t row = r - lo;
        uint32_t ex = b->order[start + r];
        const int32_t *src = b->data->ids + b->data->offsets[ex];
        int len = (int)(b->data->offsets[ex + 1] - b->data->offsets[ex]);
        int32_t *dst = batch->ids + row * (size_t)T;
        memcpy(dst, src, (size_t)len * sizeof *dst);
        for (int t = len; t < T; t++) dst[t] = b->pad_id;
        batch->lengths[row] = len;
        batch->labels[row] = b->data->labels[ex];
        batch->example_index[row] = ex;
        batch->n_tokens += len;
    }
    *out = batch;
    return MRPC_OK;
}

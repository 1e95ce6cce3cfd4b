/*
 * batcher.h — turns a tokenized dataset into the padded batches of one rank.
 *
 * Training order is the HF Trainer's: every epoch is a fresh random permutation of the
 * training set (from the run seed and the epoch number, so it is the same on every
 * rank and after a resume), cut into global batches of train_batch_size examples
 * (the last one smaller, not dropped). Each rank takes a contiguous share of every
 * global batch: rank r of R gets positions [floor(r*b/R), floor((r+1)*b/R)) of a batch
 * of b examples, so uneven shares are fine and a rank may get none. A rank pads its
 * share to its own longest example (dynamic padding); masking makes that equivalent
 * to padding to the global longest.
 *
 * Every batch carries the global example index of each row, which keys the dropout
 * masks, so the mask of an example does not depend on the rank count.
 */
#ifndef MRPC_DATA_BATCHER_H
#define MRPC_DATA_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "token_cache.h"

/* One padded batch (a rank's share). Arrays are owned by the batcher and reused. */
typedef struct mrpc_batch {
    int       n_rows;        /* B: rows on this rank (may be 0) */
    int       seq_len;       /* T: padded length (longest row of this share) */
    int       global_size;   /* b: examples in the global batch, over all ranks */
    int32_t  *ids;           /* [B, T] token ids, padded with the pad id */
    int32_t  *lengths;       /* [B] real tokens per row */
    int32_t  *labels;        /* [B] */
    uint32_t *example_index; /* [B] index of the example in the dataset (file order) */
    int64_t   n_tokens;      /* sum of lengths on this rank */
} mrpc_batch;

typedef struct mrpc_batcher {
    const mrpc_dataset *data;
    size_t              n_examples; /* examples used (<= data->n) */
    int                 batch_size; /* global */
    int                 rank, n_ranks;
    int32_t             pad_id;
    uint64_t            seed;
    uint32_t           *order;      /* [n_examples] current epoch's order */
    int64_t             order_epoch;/* epoch `order` belongs to, -1 for file order */
    mrpc_batch          batch;      /* reused storage */
    size_t              capacity_rows, capacity_ids;
} mrpc_batcher;

/*
 * Prepares a batcher over the first n_examples of `data` (0 = all). `shuffle` chooses
 * training order (per-epoch permutations) over file order (evaluation).
 */
mrpc_status mrpc_batcher_init(mrpc_batcher *b, const mrpc_dataset *data, size_t n_examples, int batch_size, int rank,
                              int n_ranks, int32_t pad_id, uint64_t seed, mrpc_error *err);
void mrpc_batcher_free(mrpc_batcher *b);

/* Global batches per epoch: ceil(n_examples / batch_size). */
int64_t mrpc_batcher_steps_per_epoch(const mrpc_batcher *b);

/*
 * Fills b->batch with this rank's share of global batch `step_in_epoch` of `epoch`.
 * With shuffle = 0 the order is the file order (for evaluation). Returns the batch.
 */
mrpc_status mrpc_batcher_get(mrpc_batcher *b, int64_t epoch, int64_t step_in_epoch, int shuffle,
                             const mrpc_batch **out, mrpc_error *err);

#endif /* MRPC_DATA_BATCHER_H */

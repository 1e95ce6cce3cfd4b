/*
 * token_cache.h — a tokenized MRPC split, computed once and reused by every run of a
 * study.
 *
 * A dataset is the encoded pairs of one TSV file in file order: ragged rows of input
 * ids ([CLS] A [SEP] B [SEP], no padding) plus labels. The cache file name is derived
 * from a key over the TSV bytes, the vocab bytes, max_seq_length and the cache format
 * version, so a change of any of them is a miss; files are written atomically, so
 * concurrent runs of a Slurm array can share a cache directory. A cache file that
 * fails its checks is ignored (and rewritten), never trusted.
 */
#ifndef MRPC_TEXT_TOKEN_CACHE_H
#define MRPC_TEXT_TOKEN_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tokenizer.h"

typedef struct mrpc_dataset {
    size_t   n;          /* number of examples */
    int32_t *labels;     /* [n]: 0/1, or -1 when unlabeled */
    size_t  *offsets;    /* [n+1]: example i's ids are ids[offsets[i] .. offsets[i+1]) */
    int32_t *ids;        /* [offsets[n]] */
    size_t   max_len;    /* longest example */
    size_t   n_truncated;/* examples that lost tokens to max_seq_length */
} mrpc_dataset;

/*
 * Tokenizes the TSV at `tsv_path` with `vocab` (loaded from `vocab_path`). When
 * `cache_dir` is non-NULL and non-empty, looks for a cached copy first and stores the
 * result there on a miss. *out_cache_hit (may be NULL) says which happened.
 */
mrpc_status mrpc_dataset_load(const char *tsv_path, const char *vocab_path, const mrpc_vocab *vocab,
                              size_t max_seq_length, const char *cache_dir, mrpc_dataset *out,
                              int *out_cache_hit, mrpc_error *err);

void mrpc_dataset_free(mrpc_dataset *ds);

#endif /* MRPC_TEXT_TOKEN_CACHE_H */

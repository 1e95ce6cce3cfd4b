/*
 * token_cache.h — a tokenized MRPC split, computed once and reused by every run of a
 * study.
 *
 * A dataset is the encoded pairs of one TSV file in file order: ragged rows of input
 * ids ([CLS] A [SEP] B [SEP], no padding) plus labels. The cache file name is derived
 * from a key over the TSV bytes, the vocab bytes, max_seq_length, the truncation rule
 * and the cache format version, so a change of any of them is a miss; files are written atomically, so
 * concurrent runs of a Slurm array can share a cache directory. A cache file that
 * fails its checks is ignored (and rewritten), never trusted.
 *
 * Cache file: <cache_dir>/mrpc-tokens-<key as 16 hex digits>.bin, little-endian:
 *
 *     offset  0  char[8]  magic "MRPCTOKC"
 *             8  u32      format version (MRPC_TOKEN_CACHE_VERSION)
 *            12  u32      header size (80)
 *            16  u64      key
 *            24  u64      max_seq_length
 *            32  u64      n (examples)
 *            40  u64      n_ids (total ids)
 *            48  u64      max_len
 *            56  u64      n_truncated
 *            64  u64      vocab size (every id must be below it)
 *            72  u64      checksum: FNV-1a over bytes [0, 72) and the payload
 *            80  payload  labels i32[n], offsets u64[n+1], ids i32[n_ids]
 *
 * key = FNV-1a chained over: the TSV bytes, the vocab fingerprint (FNV-1a of the
 * vocab file bytes, mrpc_vocab_fingerprint) as u64 LE, max_seq_length as u64 LE, the
 * truncation rule (mrpc_truncation) as u32 LE, and the format version as u32 LE. The
 * version is bumped whenever the format or the tokenizer's output changes, so old
 * files simply stop matching (version 2: the truncation rule joined the key and the
 * default rule became the fast tokenizer's; version-1 files were cut by the slow rule).
 *
 * Example:
 *
 *     mrpc_dataset ds; int hit; mrpc_error err = {0};
 *     if (mrpc_dataset_load("dev.tsv", "vocab.txt", NULL, 128, MRPC_TRUNCATION_LONGEST_FIRST, "cache",
 *                           &ds, &hit, &err) != MRPC_OK) ...
 *     for (size_t i = 0; i < ds.n; i++) use(ds.ids + ds.offsets[i], ds.offsets[i + 1] - ds.offsets[i]);
 *     mrpc_dataset_free(&ds);
 */
#ifndef MRPC_TEXT_TOKEN_CACHE_H
#define MRPC_TEXT_TOKEN_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tokenizer.h"

/* Cache format version; part of the key. Bump it when the format or the tokenizer output changes. */
#define MRPC_TOKEN_CACHE_VERSION 2u

typedef struct mrpc_dataset {
    size_t   n;          /* number of examples */
    int32_t *labels;     /* [n]: 0/1, or -1 when unlabeled */
    size_t  *offsets;    /* [n+1]: example i's ids are ids[offsets[i] .. offsets[i+1]) */
    int32_t *ids;        /* [offsets[n]] */
    size_t   max_len;    /* longest example */
    size_t   n_truncated;/* examples that lost tokens to max_seq_length */
} mrpc_dataset;

/*
 * Tokenizes the TSV at `tsv_path` with `vocab`, or, when `vocab` is NULL, with a vocab
 * loaded from `vocab_path` (which may be NULL when `vocab` is given; the cache key
 * uses the bytes the vocab was loaded from either way). max_seq_length >= 3; pairs
 * longer than that are cut by `truncation` (see tokenizer.h).
 *
 * When `cache_dir` is non-NULL and non-empty, looks for a valid cached copy first and
 * on a miss stores the result there (creating the directory), atomically. A cache
 * file that is truncated, corrupted, of another version or otherwise inconsistent is
 * treated as a miss and overwritten. *out_cache_hit (may be NULL) gets 1 for a hit,
 * 0 otherwise.
 *
 * On success *out owns its arrays (free with mrpc_dataset_free). On failure *out is
 * empty: MRPC_ERR_IO (TSV or vocab unreadable, cache directory or file not
 * writable), MRPC_ERR_PARSE (malformed TSV, with file and line), MRPC_ERR_INVALID
 * (bad arguments), MRPC_ERR_NOMEM.
 */
mrpc_status mrpc_dataset_load(const char *tsv_path, const char *vocab_path, const mrpc_vocab *vocab,
                              size_t max_seq_length, mrpc_truncation truncation, const char *cache_dir,
                              mrpc_dataset *out, int *out_cache_hit, mrpc_error *err);

/* Frees the arrays and leaves *ds empty; NULL is fine. */
void mrpc_dataset_free(mrpc_dataset *ds);

#endif /* MRPC_TEXT_TOKEN_CACHE_H */

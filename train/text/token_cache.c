/* token_cache.c — tokenized datasets and their on-disk cache (see token_cache.h). */
#include "token_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "mrpc_tsv.h"

#define CACHE_MAGIC "MRPCTOKC"
#define CACHE_HEADER_BYTES 80u
#define CACHE_MAX_FILE_BYTES ((size_t)1 << 30)
#define TSV_MAX_FILE_BYTES ((size_t)1 << 30)
/* Bounds on counts read from a cache file, far above MRPC and small enough to keep size arithmetic exact. */
#define CACHE_MAX_COUNT ((uint64_t)1 << 32)

/* ---- little-endian packing ------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- dataset --------------------------------------------------------------------- */

void mrpc_dataset_free(mrpc_dataset *ds) {
    if (!ds) return;
    free(ds->labels);
    free(ds->offsets);
    free(ds->ids);
    memset(ds, 0, sizeof *ds);
}

static uint64_t cache_key(const char *tsv, size_t tsv_size, uint64_t vocab_fingerprint, size_t max_seq_length,
                          mrpc_truncation truncation) {
    unsigned char b[8];
    uint64_t h = mrpc_fnv1a(MRPC_FNV1A_INIT, tsv, tsv_size);
    put_u64(b, vocab_fingerprint);
    h = mrpc_fnv1a(h, b, 8);
    put_u64(b, (uint64_t)max_seq_length);
    h = mrpc_fnv1a(h, b, 8);
    put_u32(b, (uint32_t)truncation);
    h = mrpc_fnv1a(h, b, 4);
    put_u32(b, MRPC_TOKEN_CACHE_VERSION);
    return mrpc_fnv1a(h, b, 4);
}

/* Tokenizes every pair of `pairs` into *ds. */
static mrpc_status tokenize_pairs(const char *tsv_path, const mrpc_pairs *pairs, const mrpc_vocab *vocab,
                                  size_t max_seq_length, mrpc_truncation truncation, mrpc_dataset *ds,
                                  mrpc_error *err) {
    memset(ds, 0, sizeof *ds);
    size_t n = pairs->n;
    int32_t *row = malloc(max_seq_length * sizeof *row);
    ds->labels = malloc((n ? n : 1) * sizeof *ds->labels);
    ds->offsets = malloc((n + 1) * sizeof *ds->offsets);
    size_t cap = n * 64 + 16, used = 0;
    ds->ids = malloc(cap * sizeof *ds->ids);
    if (!row || !ds->labels || !ds->offsets || !ds->ids) {
        free(row);
        mrpc_dataset_free(ds);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, tsv_path, 0, 0, NULL, "out of memory");
    }
    ds->offsets[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const mrpc_pair *p = &pairs->items[i];
        size_t len = 0, truncated = 0;
        mrpc_status st = mrpc_tokenizer_encode_pair(vocab, p->sentence1, p->sentence2, max_seq_length, truncation,
                                                    row, &len, &truncated, err);
        if (st != MRPC_OK) {
            if (err) {
                err->line = p->line;
                err->column = 0;
                snprintf(err->file, sizeof err->file, "%s", tsv_path);
            }
            free(row);
            mrpc_dataset_free(ds);
            return st;
        }
        if (used + len > cap) {
            size_t ncap = cap * 2 + len;
            int32_t *nids = realloc(ds->ids, ncap * sizeof *nids);
            if (!nids) {
                free(row);
                mrpc_dataset_free(ds);
                return mrpc_error_set(err, MRPC_ERR_NOMEM, tsv_path, 0, 0, NULL, "out of memory");
            }
            ds->ids = nids;
            cap = ncap;
        }
        memcpy(ds->ids + used, row, len * sizeof *row);
        used += len;
        ds->offsets[i + 1] = used;
        ds->labels[i] = p->label;
        if (len > ds->max_len) ds->max_len = len;
        if (truncated) ds->n_truncated++;
    }
    ds->n = n;
    free(row);
    return MRPC_OK;
}

/* ---- cache file ------------------------------------------------------------------ */

/* Serializes ds into a new buffer (*out_buf, *out_size); returns 0 on out-of-memory. */
static int cache_serialize(const mrpc_dataset *ds, uint64_t key, size_t max_seq_length, size_t vocab_size,
                           unsigned char **out_buf, size_t *out_size) {
    size_t n = ds->n, n_ids = ds->offsets[ds->n];
    size_t size = CACHE_HEADER_BYTES + 4 * n + 8 * (n + 1) + 4 * n_ids;
    unsigned char *b = malloc(size);
    if (!b) return 0;
    memcpy(b, CACHE_MAGIC, 8);
    put_u32(b + 8, MRPC_TOKEN_CACHE_VERSION);
    put_u32(b + 12, CACHE_HEADER_BYTES);
    put_u64(b + 16, key);
    put_u64(b + 24, (uint64_t)max_seq_length);
    put_u64(b + 32, (uint64_t)n);
    put_u64(b + 40, (uint64_t)n_ids);
    put_u64(b + 48, (uint64_t)ds->max_len);
    put_u64(b + 56, (uint64_t)ds->n_truncated);
    put_u64(b + 64, (uint64_t)vocab_size);
    unsigned char *p = b + CACHE_HEADER_BYTES;
    for (size_t i = 0; i < n; i++, p += 4) put_u32(p, (uint32_t)ds->labels[i]);
    for (size_t i = 0; i <= n; i++, p += 8) put_u64(p, (uint64_t)ds->offsets[i]);
    for (size_t i = 0; i < n_ids; i++, p += 4) put_u32(p, (uint32_t)ds->ids[i]);
    uint64_t sum = mrpc_fnv1a(MRPC_FNV1A_INIT, b, 72);
    sum = mrpc_fnv1a(sum, b + CACHE_HEADER_BYTES, size - CACHE_HEADER_BYTES);
    put_u64(b + 72, sum);
    *out_buf = b;
    *out_size = size;
    return 1;
}

/*
 * Checks and decodes a cache file's bytes. Returns 1 with *ds filled when every check
 * passes, 0 (and *ds empty) when anything is off or memory runs out.
 */
static int cache_decode(const unsigned char *b, size_t size, uint64_t key, size_t max_seq_length, size_t vocab_size,
                        mrpc_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    if (size < CACHE_HEADER_BYTES || memcmp(b, CACHE_MAGIC, 8) != 0) return 0;
    if (get_u32(b + 8) != MRPC_TOKEN_CACHE_VERSION || get_u32(b + 12) != CACHE_HEADER_BYTES) return 0;
    if (get_u64(b + 16) != key || get_u64(b + 24) != (uint64_t)max_seq_length) return 0;
    uint64_t n = get_u64(b + 32), n_ids = get_u64(b + 40), max_len = get_u64(b + 48);
    uint64_t n_truncated = get_u64(b + 56);
    if (get_u64(b + 64) != (uint64_t)vocab_size) return 0;
    if (n > CACHE_MAX_COUNT || n_ids > CACHE_MAX_COUNT || n_truncated > n || max_len > max_seq_length) return 0;
    uint64_t want = (uint64_t)CACHE_HEADER_BYTES + 4 * n + 8 * (n + 1) + 4 * n_ids;
    if (want != (uint64_t)size) return 0;
    uint64_t sum = mrpc_fnv1a(MRPC_FNV1A_INIT, b, 72);
    sum = mrpc_fnv1a(sum, b + CACHE_HEADER_BYTES, size - CACHE_HEADER_BYTES);
    if (sum != get_u64(b + 72)) return 0;

    ds->labels = malloc((n ? (size_t)n : 1) * sizeof *ds->labels);
    ds->offsets = malloc(((size_t)n + 1) * sizeof *ds->offsets);
    ds->ids = malloc((n_ids ? (size_t)n_ids : 1) * sizeof *ds->ids);
    if (!ds->labels || !ds->offsets || !ds->ids) goto bad;
    const unsigned char *p = b + CACHE_HEADER_BYTES;
    for (size_t i = 0; i < n; i++, p += 4) {
        int32_t label = (int32_t)get_u32(p);
        if (label < -1 || label > 1) goto bad;
        ds->labels[i] = label;
    }
    uint64_t longest = 0;
    for (size_t i = 0; i <= n; i++, p += 8) {
        uint64_t off = get_u64(p);
        if (i == 0 ? off != 0 : (off < ds->offsets[i - 1] || off - ds->offsets[i - 1] < 3 ||
                                 off - ds->offsets[i - 1] > max_seq_length))
            goto bad;
        if (i > 0 && off - ds->offsets[i - 1] > longest) longest = off - ds->offsets[i - 1];
        ds->offsets[i] = (size_t)off;
    }
    if (ds->offsets[n] != n_ids || longest != max_len) goto bad;
    for (size_t i = 0; i < n_ids; i++, p += 4) {
        uint32_t id = get_u32(p);
        if (id >= vocab_size) goto bad;
        ds->ids[i] = (int32_t)id;
    }
    ds->n = (size_t)n;
    ds->max_len = (size_t)max_len;
    ds->n_truncated = (size_t)n_truncated;
    return 1;
bad:
    mrpc_dataset_free(ds);
    return 0;
}

mrpc_status mrpc_dataset_load(const char *tsv_path, const char *vocab_path, const mrpc_vocab *vocab,
                              size_t max_seq_length, mrpc_truncation truncation, const char *cache_dir,
                              mrpc_dataset *out, int *out_cache_hit, mrpc_error *err) {
    if (out) memset(out, 0, sizeof *out);
    if (out_cache_hit) *out_cache_hit = 0;
    if (!out || !tsv_path || (!vocab && !vocab_path))
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL,
                              "mrpc_dataset_load: needs a TSV path, an output and a vocab or a vocab path");
    if (max_seq_length < 3)
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "max_seq_length",
                              "must be at least 3 ([CLS] and two [SEP]), got %zu", max_seq_length);
    if (truncation != MRPC_TRUNCATION_LONGEST_FIRST && truncation != MRPC_TRUNCATION_LONGEST_FIRST_SLOW)
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "truncation", "unknown truncation rule %d",
                              (int)truncation);

    mrpc_vocab *own_vocab = NULL;
    char *tsv = NULL;
    size_t tsv_size = 0;
    unsigned char *cache_bytes = NULL;
    char cache_path[4096] = "";
    mrpc_pairs pairs = {0};
    mrpc_status st = MRPC_OK;

    if (!vocab) {
        st = mrpc_vocab_load(vocab_path, &own_vocab, err);
        if (st != MRPC_OK) return st;
        vocab = own_vocab;
    }
    st = mrpc_file_read_all(tsv_path, TSV_MAX_FILE_BYTES, &tsv, &tsv_size, err);
    if (st != MRPC_OK) goto done;

    int use_cache = cache_dir && cache_dir[0];
    uint64_t key = 0;
    if (use_cache) {
        key = cache_key(tsv, tsv_size, mrpc_vocab_fingerprint(vocab), max_seq_length, truncation);
        int w = snprintf(cache_path, sizeof cache_path, "%s/mrpc-tokens-%016llx.bin", cache_dir,
                         (unsigned long long)key);
        if (w < 0 || (size_t)w >= sizeof cache_path) {
            st = mrpc_error_set(err, MRPC_ERR_INVALID, cache_dir, 0, 0, NULL, "cache directory path too long");
            goto done;
        }
        char *bytes = NULL;
        size_t size = 0;
        /* Any failure to read (missing file, permissions, too large) is a miss. */
        if (mrpc_file_read_all(cache_path, CACHE_MAX_FILE_BYTES, &bytes, &size, NULL) == MRPC_OK) {
            int ok = cache_decode((const unsigned char *)bytes, size, key, max_seq_length, mrpc_vocab_size(vocab), out);
            free(bytes);
            if (ok) {
                if (out_cache_hit) *out_cache_hit = 1;
                goto done;
            }
        }
    }

    st = mrpc_tsv_parse(tsv_path, tsv, tsv_size, &pairs, err);
    if (st != MRPC_OK) goto done;
    st = tokenize_pairs(tsv_path, &pairs, vocab, max_seq_length, truncation, out, err);
    if (st != MRPC_OK) goto done;

    if (use_cache) {
        size_t size = 0;
        if (!cache_serialize(out, key, max_seq_length, mrpc_vocab_size(vocab), &cache_bytes, &size)) {
            st = mrpc_error_set(err, MRPC_ERR_NOMEM, cache_path, 0, 0, NULL, "out of memory");
            goto done;
        }
        st = mrpc_mkdir_p(cache_dir, err);
        if (st == MRPC_OK) st = mrpc_file_write_atomic(cache_path, cache_bytes, size, err);
        if (st != MRPC_OK && err) mrpc_error_prefix(err, "writing the token cache: ");
    }

done:
    if (st != MRPC_OK) mrpc_dataset_free(out);
    free(cache_bytes);
    mrpc_pairs_free(&pairs);
    free(tsv);
    mrpc_vocab_free(own_vocab);
    return st;
}

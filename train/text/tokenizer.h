/*
 * tokenizer.h — the BERT uncased tokenizer (BertTokenizer / DistilBertTokenizer with
 * do_lower_case=True): basic tokenization (clean text, CJK spacing, lowercase, accent
 * stripping by NFD, punctuation split) followed by greedy longest-match WordPiece, and
 * pair encoding "[CLS] A [SEP] B [SEP]" with longest_first truncation. Unicode
 * properties and normalisation come from utf8proc. See
 * ../shared/docs/distilbert-mrpc-facts.md section 4 for the exact rules.
 *
 * Example:
 *
 *     mrpc_vocab *vocab; mrpc_error err = {0};
 *     if (mrpc_vocab_load("vocab.txt", &vocab, &err) != MRPC_OK) ...
 *     int32_t ids[128]; size_t n;
 *     mrpc_tokenizer_encode_pair(vocab, "This is one.", "This is two.", 128, ids, &n, &err);
 *     mrpc_vocab_free(vocab);
 */
#ifndef MRPC_TEXT_TOKENIZER_H
#define MRPC_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct mrpc_vocab mrpc_vocab; /* opaque: tokens, hash table, special ids */

/* Loads vocab.txt (one token per line, id = 0-based line number). */
mrpc_status mrpc_vocab_load(const char *path, mrpc_vocab **out, mrpc_error *err);
void        mrpc_vocab_free(mrpc_vocab *vocab);
size_t      mrpc_vocab_size(const mrpc_vocab *vocab);
/* Id of `token`, or -1 when absent. */
int32_t     mrpc_vocab_lookup(const mrpc_vocab *vocab, const char *token);
/* Token string of `id`, or NULL when out of range. */
const char *mrpc_vocab_token(const mrpc_vocab *vocab, int32_t id);

/* Special ids, looked up by name at load ([PAD] [UNK] [CLS] [SEP] [MASK]); load fails without them. */
int32_t mrpc_vocab_pad_id(const mrpc_vocab *vocab);
int32_t mrpc_vocab_unk_id(const mrpc_vocab *vocab);
int32_t mrpc_vocab_cls_id(const mrpc_vocab *vocab);
int32_t mrpc_vocab_sep_id(const mrpc_vocab *vocab);

/*
 * Tokenizes one text into WordPiece ids (no specials), appending to a growable array:
 * *ids (malloc'd, may start NULL) with *n used and *cap allocated. Invalid UTF-8 is
 * MRPC_ERR_PARSE with the byte offset in the message.
 */
mrpc_status mrpc_tokenizer_encode(const mrpc_vocab *vocab, const char *text, int32_t **ids, size_t *n, size_t *cap,
                                  mrpc_error *err);

/*
 * Encodes a pair as [CLS] A [SEP] B [SEP], truncating A and B longest_first (the slow
 * tokenizer's rule) so the total is at most max_seq_length (>= 4). Writes the ids
 * (no padding) into out_ids, which must hold max_seq_length entries; *out_n gets the
 * length. *out_truncated (may be NULL) gets the number of tokens removed.
 */
mrpc_status mrpc_tokenizer_encode_pair(const mrpc_vocab *vocab, const char *text_a, const char *text_b,
                                       size_t max_seq_length, int32_t *out_ids, size_t *out_n,
                                       size_t *out_truncated, mrpc_error *err);

#endif /* MRPC_TEXT_TOKENIZER_H */

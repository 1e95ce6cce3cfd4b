/*
 * tokenizer.h — the BERT uncased tokenizer (BertTokenizer / DistilBertTokenizer with
 * do_lower_case=True): basic tokenization (clean text, CJK spacing, lowercase, accent
 * stripping by NFD, punctuation split) followed by greedy longest-match WordPiece, and
 * pair encoding "[CLS] A [SEP] B [SEP]" with longest_first truncation (the fast
 * tokenizer's rule by default, the slow one's on request: mrpc_truncation below).
 * Unicode properties and normalisation come from utf8proc. See
 * ../shared/docs/distilbert-mrpc-facts.md section 4 for the exact rules; the text
 * steps follow HF's slow (Python) tokenizer, step by step, and give the same ids as
 * the fast one (tests/hf compares with the Rust `tokenizers` library):
 *
 *  0. The special tokens [PAD] [UNK] [CLS] [SEP] [MASK], written exactly so in the
 *     text, are split off first and map to their ids (HF splits added tokens before
 *     anything else; matching is case-sensitive, so "[sep]" is ordinary text).
 *  1. clean_text: drop U+0000, U+FFFD and every "control" code point (category C*
 *     except \t \n \r); \t \n \r and category Zs become ' '.
 *  2. ' ' around CJK ideographs (the eight ranges of the facts doc).
 *  3. split on whitespace (' ', and U+2028/U+2029, which Python's str.split() also
 *     splits on).
 *  4. per word: lowercase, then NFD (with canonical reordering) and drop category Mn.
 *     Lowercasing is Python's str.lower() applied to each code point on its own,
 *     because HF's PreTrainedTokenizer.tokenize() lowercases the text one character
 *     at a time (regex "(.+?)") before BasicTokenizer lowercases words again. Over
 *     all code points utf8proc_tolower equals that except U+0130 (Python: "i" +
 *     U+0307; handled here), and since every character is lowercased alone Python's
 *     Final_Sigma rule never fires: U+03A3 always becomes U+03C3, as in HF's slow and
 *     fast tokenizers (though not in BasicTokenizer used on its own).
 *  5. every punctuation code point (ASCII 33-47, 58-64, 91-96, 123-126, or category
 *     P*) becomes its own word.
 *  6. WordPiece per word: more than 100 code points -> [UNK]; else greedy
 *     longest-match-first with "##" continuation pieces; a word with a position where
 *     nothing matches becomes a single [UNK].
 *
 * The text steps give the fast tokenizer's ids too (tests/hf: every MRPC pair, a file
 * of hostile text, 2,000 generated pairs, against the npm package tokenizers 0.23.2).
 * Known differences, none of which occurs in MRPC: code points unassigned in Unicode
 * 15 (category Cn) are dropped here as "control", as the slow tokenizer does, while the
 * fast one keeps them (so their word becomes [UNK]); characters assigned after the
 * Rust library's Unicode tables (since Unicode 10: some marks, punctuation, format
 * characters) and CJK code points 0x2B820-0x2B91F (outside the fast tokenizer's CJK
 * ranges) are split differently.
 *
 * Newer HF versions add an NFC step before (3); it cannot change the result because
 * (4) decomposes again (checked by the Python cross-check in tests/unit/text, which
 * follows HF's order of steps literally). The Unicode data is utf8proc 2.8's (Unicode
 * 15.0, as Python 3.12's unicodedata); utf8proc's categories, NFD and simple
 * lowercase agree with Python 3.11's for every code point assigned in Unicode 14,
 * and Python 3.11 drops the 4,489 code points new in 15.0 as unassigned (category
 * Cn, "control") where this tokenizer keeps them (as [UNK] or a piece).
 *
 * Example:
 *
 *     mrpc_vocab *vocab; mrpc_error err = {0};
 *     if (mrpc_vocab_load("vocab.txt", &vocab, &err) != MRPC_OK) ...
 *     int32_t ids[128]; size_t n;
 *     mrpc_tokenizer_encode_pair(vocab, "This is one.", "This is two.", 128, MRPC_TRUNCATION_LONGEST_FIRST,
 *                                ids, &n, NULL, &err);
 *     mrpc_vocab_free(vocab);
 *
 * A loaded vocab is read-only: any number of threads may tokenize with it at once.
 */
#ifndef MRPC_TEXT_TOKENIZER_H
#define MRPC_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct mrpc_vocab mrpc_vocab; /* opaque: tokens, hash table, special ids */

/* Longest word (in code points, after basic tokenization) WordPiece splits; longer ones are [UNK]. */
#define MRPC_TOKENIZER_MAX_WORD_CHARS 100

/*
 * Loads vocab.txt: one token per line, id = 0-based line number; a line ends in "\n",
 * "\r\n" or "\r" (Python's universal newlines, as HF's load_vocab reads it), and only
 * the line ending is stripped. When a token appears twice, the later id wins (as in
 * HF's dict). The special tokens [PAD] [UNK] [CLS] [SEP] [MASK] must be present.
 * Lookups use a hash table. On success *out is a new vocab to free with
 * mrpc_vocab_free; on failure *out is NULL: MRPC_ERR_IO (unreadable), MRPC_ERR_PARSE
 * (invalid UTF-8 or a NUL byte, with the line), MRPC_ERR_INVALID (a special token
 * missing, more than 2^31-1 lines, file over 256 MiB).
 */
mrpc_status mrpc_vocab_load(const char *path, mrpc_vocab **out, mrpc_error *err);

/* As mrpc_vocab_load, from `size` bytes in memory; `name` (may be NULL) is used in messages. */
mrpc_status mrpc_vocab_load_mem(const char *name, const char *data, size_t size, mrpc_vocab **out,
                                mrpc_error *err);

/* Frees the vocab; NULL is fine. */
void mrpc_vocab_free(mrpc_vocab *vocab);

/* Number of ids (lines of the file). */
size_t mrpc_vocab_size(const mrpc_vocab *vocab);

/* Id of `token` (NUL-terminated, exact bytes), or -1 when absent. */
int32_t mrpc_vocab_lookup(const mrpc_vocab *vocab, const char *token);

/* Token string of `id` (owned by the vocab), or NULL when out of range. */
const char *mrpc_vocab_token(const mrpc_vocab *vocab, int32_t id);

/*
 * 64-bit FNV-1a over the bytes the vocab was loaded from (== mrpc_file_hash of the
 * file, chained from MRPC_FNV1A_INIT). Cache keys use it.
 */
uint64_t mrpc_vocab_fingerprint(const mrpc_vocab *vocab);

/* Special ids, looked up by name at load ([PAD] [UNK] [CLS] [SEP] [MASK]); load fails without them. */
int32_t mrpc_vocab_pad_id(const mrpc_vocab *vocab);
int32_t mrpc_vocab_unk_id(const mrpc_vocab *vocab);
int32_t mrpc_vocab_cls_id(const mrpc_vocab *vocab);
int32_t mrpc_vocab_sep_id(const mrpc_vocab *vocab);
int32_t mrpc_vocab_mask_id(const mrpc_vocab *vocab);

/*
 * Tokenizes one NUL-terminated UTF-8 text into WordPiece ids (no [CLS]/[SEP] added),
 * appending to a growable array: *ids (malloc'd, may start NULL; the caller frees it)
 * with *n used and *cap allocated. Invalid UTF-8 is MRPC_ERR_PARSE with the byte
 * offset in the message (and err->column = offset + 1); *n is then unchanged.
 * MRPC_ERR_NOMEM when memory runs out.
 */
mrpc_status mrpc_tokenizer_encode(const mrpc_vocab *vocab, const char *text, int32_t **ids, size_t *n, size_t *cap,
                                  mrpc_error *err);

/*
 * How a pair longer than max_seq_length is cut (the `data.truncation` run-config key,
 * `mrpc-train tokenize --truncation`). Both are "longest_first": tokens go from the
 * right end of the longer text until the pair fits; they differ only in which text
 * keeps the odd token when both must be cut (and which text counts as the longer).
 *
 *  MRPC_TRUNCATION_LONGEST_FIRST       Hugging Face's fast tokenizer (the Rust
 *      `tokenizers` library behind BertTokenizerFast, AutoTokenizer and run_glue.py),
 *      as the npm package tokenizers 0.23.2 computes it, in two steps:
 *      1. each text on its own stops after the word (pre-token: a run of characters
 *         between spaces and punctuation, one punctuation character or one CJK
 *         character) that holds its max_length-th word piece, so it may keep a
 *         few pieces more than max_length; special tokens written in the text
 *         ("[SEP]") belong to the word after them;
 *      2. the pair rule (tokenizers/src/utils/truncation.rs) on those lengths, with
 *         budget L = max_length - 3 and the shorter length s: when s <= L - s the
 *         shorter is kept and the longer cut to L - s; otherwise both are cut, the
 *         longer one (B on a tie) to L/2 + L%2 and the other to L/2.
 *      Step 1 only decides which text counts as the longer one; it is why a pair of
 *      71 and 70 one-piece words at 64 is cut to 30 + 31, not 31 + 30. The default.
 *      (tests/hf compares every MRPC pair at 128/96/64/32 with the npm package.)
 *  MRPC_TRUNCATION_LONGEST_FIRST_SLOW  HF's slow Python tokenizer (BertTokenizer,
 *      truncate_sequences) and the original BERT code: with r tokens to remove,
 *      min(|len_a - len_b|, r) come off the longer one, then of the rest r2 A loses
 *      floor(r2/2) and B ceil(r2/2), so A keeps the odd token.
 */
typedef enum mrpc_truncation {
    MRPC_TRUNCATION_LONGEST_FIRST = 0,
    MRPC_TRUNCATION_LONGEST_FIRST_SLOW = 1
} mrpc_truncation;

/* "longest_first" | "longest_first_slow" (the run-config spelling); "?" for other values. */
const char *mrpc_truncation_name(mrpc_truncation t);

/* Parses the run-config spelling; returns 0 (and leaves *out) for anything else. */
int mrpc_truncation_parse(const char *name, mrpc_truncation *out);

/*
 * Applies `rule` to a pair of lengths with `budget` tokens for both (max_seq_length
 * minus [CLS] and two [SEP]). Tokens are removed from the right end. Writes the kept
 * lengths; when the pair fits, they are the lengths given. For
 * MRPC_TRUNCATION_LONGEST_FIRST this is step 2 only: pass the lengths after step 1
 * (mrpc_tokenizer_encode_pair does both).
 */
void mrpc_tokenizer_truncate_lengths(mrpc_truncation rule, size_t len_a, size_t len_b, size_t budget, size_t *keep_a,
                                     size_t *keep_b);

/*
 * Encodes a pair as [CLS] A [SEP] B [SEP], truncating A and B by `rule` so the total
 * is at most max_seq_length (>= 3; with 3 both texts are dropped entirely). Writes the
 * ids (no padding) into out_ids, which must hold max_seq_length entries; *out_n gets
 * the length. *out_truncated (may be NULL) gets the number of word pieces removed.
 * Errors as mrpc_tokenizer_encode (the message says which text), and
 * MRPC_ERR_INVALID for max_seq_length < 3 or an unknown rule.
 */
mrpc_status mrpc_tokenizer_encode_pair(const mrpc_vocab *vocab, const char *text_a, const char *text_b,
                                       size_t max_seq_length, mrpc_truncation rule, int32_t *out_ids, size_t *out_n,
                                       size_t *out_truncated, mrpc_error *err);

#endif /* MRPC_TEXT_TOKENIZER_H */

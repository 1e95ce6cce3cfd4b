/*
 * mrpc_utf8.h — strict UTF-8 decoding shared by the TSV reader and the tokenizer.
 *
 * "Strict" means what Python's bytes.decode("utf-8") accepts and nothing more: no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
 * sequences. NUL (U+0000) is valid UTF-8; callers that cannot hold it check for it.
 */
#ifndef MRPC_TEXT_MRPC_UTF8_H
#define MRPC_TEXT_MRPC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the code point that starts at s[0] (n > 0 bytes available) into *out_cp and
 * returns its length in bytes (1..4). Returns 0 when the bytes at s are not a valid
 * UTF-8 sequence; *out_cp is then left unchanged.
 */
size_t mrpc_utf8_decode(const unsigned char *s, size_t n, uint32_t *out_cp);

/*
 * Returns 1 when s[0..n) is valid UTF-8, else 0 with *out_bad_offset (may be NULL) set
 * to the 0-based byte offset of the first byte of the first invalid sequence.
 */
int mrpc_utf8_validate(const char *s, size_t n, size_t *out_bad_offset);

/* Writes the UTF-8 form of `cp` (<= U+10FFFF, not a surrogate) into out and returns its length (1..4). */
size_t mrpc_utf8_encode(uint32_t cp, char out[4]);

#endif /* MRPC_TEXT_MRPC_UTF8_H */

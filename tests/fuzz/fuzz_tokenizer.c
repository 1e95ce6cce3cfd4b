/*
 * fuzz_tokenizer.c — libFuzzer target for the BERT tokenizer with the real vocab.
 *
 * Input: byte 0 picks max_seq_length (3 + byte % 64); the rest is text, split at its
 * first tab into sentence A and B (C strings: a NUL ends each early). Checks: invalid
 * UTF-8 is MRPC_ERR_PARSE with a column inside the text; valid text gives ids inside
 * the vocab; the pair is [CLS] ... [SEP] ... [SEP] within max_seq_length with the
 * right truncation count; tokenizing twice gives the same ids.
 *
 * The vocab is loaded once in LLVMFuzzerInitialize from $MRPC_DATA_DIR/bert-base-
 * uncased/vocab.txt, else from MRPC_FUZZ_VOCAB (the test data path at configure
 * time), else a small embedded vocab. It is the one piece of static state here:
 * libFuzzer's entry points take no context argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrpc_utf8.h"
#include "tokenizer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mrpc_vocab *g_vocab;

static const char embedded_vocab[] =
    "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n!\n\"\n'\n,\n.\n?\na\nb\nc\ne\ni\nn\no\nr\ns\nt\nthe\nthis\nis\n"
    "##s\n##e\n##n\n##t\n##ing\n##ed\ncafe\n\xcf\x83\n##\xcf\x83\n\xe4\xb8\xad\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char path[4096] = "";
    const char *dir = getenv("MRPC_DATA_DIR");
    if (dir && dir[0]) snprintf(path, sizeof path, "%s/bert-base-uncased/vocab.txt", dir);
#ifdef MRPC_FUZZ_VOCAB
    else snprintf(path, sizeof path, "%s", MRPC_FUZZ_VOCAB);
#endif
    mrpc_error err = {0};
    if (path[0] && mrpc_vocab_load(path, &g_vocab, &err) == MRPC_OK) {
        fprintf(stderr, "fuzz_tokenizer: vocab %s (%zu tokens)\n", path, mrpc_vocab_size(g_vocab));
        return 0;
    }
    if (mrpc_vocab_load_mem("embedded", embedded_vocab, sizeof embedded_vocab - 1, &g_vocab, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "fuzz_tokenizer", &err);
        abort();
    }
    fprintf(stderr, "fuzz_tokenizer: embedded vocab (%zu tokens)\n", mrpc_vocab_size(g_vocab));
    return 0;
}

/* Tokenizes text; aborts on a broken invariant. Returns the number of ids (or (size_t)-1 for invalid UTF-8). */
static size_t check_one(const char *text) {
    size_t len = strlen(text);
    int valid = mrpc_utf8_validate(text, len, NULL);
    int32_t *ids = NULL, *ids2 = NULL;
    size_t n = 0, cap = 0, n2 = 0, cap2 = 0;
    mrpc_error err = {0};
    mrpc_status st = mrpc_tokenizer_encode(g_vocab, text, &ids, &n, &cap, &err);
    if (!valid) {
        if (st != MRPC_ERR_PARSE || n != 0 || err.column < 1 || (size_t)err.column > len) abort();
        free(ids);
        return (size_t)-1;
    }
    if (st != MRPC_OK) abort();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= mrpc_vocab_size(g_vocab)) abort();
    if (mrpc_tokenizer_encode(g_vocab, text, &ids2, &n2, &cap2, &err) != MRPC_OK || n2 != n ||
        (n && memcmp(ids, ids2, n * sizeof *ids) != 0))
        abort();
    free(ids);
    free(ids2);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || !g_vocab) return 0;
    size_t max_seq = 3 + data[0] % 64;
    mrpc_truncation rule = (data[0] & 0x40) ? MRPC_TRUNCATION_LONGEST_FIRST_SLOW : MRPC_TRUNCATION_LONGEST_FIRST;
    char *buf = malloc(size);
    if (!buf) return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *b = strchr(buf, '\t');
    const char *a = buf;
    const char *second = "";
    if (b) {
        *b = '\0';
        second = b + 1;
    }
    size_t na = check_one(a), nb = check_one(second);
    int32_t out[80];
    size_t n = 0, truncated = 0;
    mrpc_error err = {0};
    mrpc_status st = mrpc_tokenizer_encode_pair(g_vocab, a, second, max_seq, rule, out, &n, &truncated, &err);
    if (na == (size_t)-1 || nb == (size_t)-1) {
        if (st != MRPC_ERR_PARSE) abort();
    } else {
        size_t fits = na + nb < max_seq - 3 ? na + nb : max_seq - 3;
        if (st != MRPC_OK || n != fits + 3 || n + truncated != na + nb + 3) abort();
        if (out[0] != mrpc_vocab_cls_id(g_vocab) || out[n - 1] != mrpc_vocab_sep_id(g_vocab)) abort();
        if (rule == MRPC_TRUNCATION_LONGEST_FIRST_SLOW) {
            size_t ka, kb;
            mrpc_tokenizer_truncate_lengths(rule, na, nb, max_seq - 3, &ka, &kb);
            if (out[ka + 1] != mrpc_vocab_sep_id(g_vocab) || ka + kb + 3 != n) abort();
        }
    }
    free(buf);
    return 0;
}

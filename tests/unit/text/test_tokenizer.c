/*
 * test_tokenizer.c — the vocab, the BERT uncased tokenizer and pair truncation.
 *
 * Expected ids come from ../shared/docs/distilbert-mrpc-facts.md section 4 (the HF
 * course pair, MRPC train row 1, café, résumé, don’t, don´t, Señor, x\x12y); the
 * extra cases were computed with bert_reference.py (HF's slow tokenizer steps in
 * Python), which itself reproduces every documented vector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "mrpc_tsv.h"
#include "testutil.h"
#include "tokenizer.h"

/* Tokenizes `text` and compares with want[0..n_want). */
static void check_ids(const mrpc_vocab *v, const char *text, const int32_t *want, size_t n_want, const char *what) {
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_tokenizer_encode(v, text, &ids, &n, &cap, &err), &err)) { free(ids); return; }
    int same = n == n_want && (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0);
    char got[2048] = "";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 12 < sizeof got; i++) o += (size_t)snprintf(got + o, sizeof got - o, " %d", ids[i]);
    CHECK(same, "%s: got [%s ] (%zu ids, want %zu)", what, got, n, n_want);
    free(ids);
}

#define CHECK_IDS(v, text, ...)                                                          \
    do {                                                                                 \
        const int32_t want_[] = {__VA_ARGS__};                                           \
        check_ids((v), (text), want_, sizeof want_ / sizeof want_[0], #text);            \
    } while (0)

static void test_vocab(const mrpc_vocab *v, const char *path) {
    CHECK(mrpc_vocab_size(v) == 30522, "size %zu", mrpc_vocab_size(v));
    CHECK(mrpc_vocab_pad_id(v) == 0, "[PAD]");
    CHECK(mrpc_vocab_unk_id(v) == 100, "[UNK]");
    CHECK(mrpc_vocab_cls_id(v) == 101, "[CLS]");
    CHECK(mrpc_vocab_sep_id(v) == 102, "[SEP]");
    CHECK(mrpc_vocab_mask_id(v) == 103, "[MASK]");
    CHECK(mrpc_vocab_lookup(v, "the") == 1996, "the");
    CHECK(mrpc_vocab_lookup(v, "##s") == 2015, "##s");
    CHECK(mrpc_vocab_lookup(v, "[unused0]") == 1, "[unused0]");
    CHECK(mrpc_vocab_lookup(v, "not-a-token") == -1, "absent");
    CHECK(mrpc_vocab_lookup(v, "") == -1, "empty");
    CHECK(mrpc_vocab_token(v, 1996) && strcmp(mrpc_vocab_token(v, 1996), "the") == 0, "token 1996");
    CHECK(mrpc_vocab_token(v, 30521) && strcmp(mrpc_vocab_token(v, 30521), "##～") == 0, "last token");
    CHECK(mrpc_vocab_token(v, -1) == NULL && mrpc_vocab_token(v, 30522) == NULL, "out of range");
    /* Every token maps back to its own id (no duplicates in this vocab). */
    size_t mismatched = 0;
    for (int32_t id = 0; id < 30522; id++)
        if (mrpc_vocab_lookup(v, mrpc_vocab_token(v, id)) != id) mismatched++;
    CHECK(mismatched == 0, "%zu tokens do not look up to their own id", mismatched);
    uint64_t h = 0;
    mrpc_error err = {0};
    CHECK_OK(mrpc_file_hash(path, MRPC_FNV1A_INIT, &h, &err), &err);
    CHECK(h == mrpc_vocab_fingerprint(v), "fingerprint is the FNV-1a of the file");
    CHECK(mrpc_vocab_size(NULL) == 0 && mrpc_vocab_lookup(NULL, "a") == -1 && mrpc_vocab_token(NULL, 0) == NULL,
          "NULL vocab");
    mrpc_vocab_free(NULL);
}

static void test_vocab_mem(void) {
    mrpc_error err = {0};
    mrpc_vocab *v = NULL;
    /* CRLF and CR line endings (Python universal newlines), no final newline, a duplicate. */
    const char crlf[] = "[PAD]\r\n[UNK]\r\n[CLS]\r[SEP]\n[MASK]\r\nx\r\ny\nx";
    CHECK_OK(mrpc_vocab_load_mem("crlf", crlf, sizeof crlf - 1, &v, &err), &err);
    CHECK(v && mrpc_vocab_size(v) == 8, "8 lines");
    CHECK(v && mrpc_vocab_sep_id(v) == 3 && mrpc_vocab_mask_id(v) == 4, "specials after CR endings");
    CHECK(v && mrpc_vocab_lookup(v, "x") == 7, "a duplicate token gets the later id (as in a Python dict)");
    CHECK(v && mrpc_vocab_lookup(v, "y") == 6, "y");
    mrpc_vocab_free(v);

    const char missing[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
    CHECK(mrpc_vocab_load_mem("m", missing, sizeof missing - 1, &v, &err) == MRPC_ERR_INVALID && v == NULL,
          "missing [MASK]");
    CHECK(strstr(err.message, "[MASK]") != NULL, "message names the token: %s", err.message);

    const char bad[] = "[PAD]\n[UNK]\nab\xff\n[CLS]\n[SEP]\n[MASK]\n";
    CHECK(mrpc_vocab_load_mem("b", bad, sizeof bad - 1, &v, &err) == MRPC_ERR_PARSE, "invalid UTF-8");
    CHECK(err.line == 3 && err.column == 3, "at line 3 col 3: %ld:%ld", err.line, err.column);

    const char nul[] = "[PAD]\n[U\0NK]\n";
    CHECK(mrpc_vocab_load_mem("n", nul, sizeof nul - 1, &v, &err) == MRPC_ERR_PARSE && err.line == 2, "NUL byte");
    CHECK(mrpc_vocab_load_mem("e", "", 0, &v, &err) == MRPC_ERR_INVALID, "empty vocab");
    CHECK(mrpc_vocab_load("/nonexistent/vocab.txt", &v, &err) == MRPC_ERR_IO && v == NULL, "missing file");
}

static void test_documented_vectors(const mrpc_vocab *v) {
    CHECK_IDS(v, "caf\xc3\xa9", 7668);
    CHECK_IDS(v, "r\xc3\xa9sum\xc3\xa9  \t\xc2\xa0ok", 13746, 7929);
    CHECK_IDS(v, "don\xe2\x80\x99t", 2123, 1521, 1056);
    CHECK_IDS(v, "don\xc2\xb4t", 2123, 29658, 2102);
    CHECK_IDS(v, "Se\xc3\xb1or", 12411, 2953);
    CHECK_IDS(v, "x\x12y", 1060, 2100);
    CHECK_IDS(v, "Amrozi accused his brother, whom he called \"the witness\", of deliberately distorting his evidence.",
              2572, 3217, 5831, 5496, 2010, 2567, 1010, 3183, 2002, 2170, 1000, 1996, 7409, 1000, 1010, 1997, 9969,
              4487, 23809, 3436, 2010, 3350, 1012);

    int32_t ids[128];
    size_t n = 0, truncated = 99;
    mrpc_error err = {0};
    CHECK_OK(mrpc_tokenizer_encode_pair(v, "This is the first sentence.", "This is the second one.", 128,
                                        MRPC_TRUNCATION_LONGEST_FIRST, ids, &n, &truncated, &err),
             &err);
    const int32_t want[] = {101, 2023, 2003, 1996, 2034, 6251, 1012, 102, 2023, 2003, 1996, 2117, 2028, 1012, 102};
    CHECK(n == 15 && memcmp(ids, want, sizeof want) == 0, "HF course pair (%zu ids)", n);
    CHECK(truncated == 0, "nothing truncated");
}

static void test_more_vectors(const mrpc_vocab *v) {
    check_ids(v, "", NULL, 0, "empty text");
    check_ids(v, " \t\n\r\xc2\xa0\xe3\x80\x80", NULL, 0, "only whitespace");
    check_ids(v, "\x01\x7f\xef\xbf\xbd\xe2\x80\x8b", NULL, 0, "only dropped characters (controls, U+FFFD, U+200B)");
    CHECK_IDS(v, "hello,world!", 7592, 1010, 2088, 999);
    /* Capital sigma: HF lowercases one character at a time, so no final sigma (ς). */
    CHECK_IDS(v, "\xce\x9f\xce\x94\xce\x9f\xce\xa3", 1169, 29722, 29730, 29733);
    CHECK_IDS(v, "\xce\xbf\xce\xb4\xce\xbf\xcf\x82", 1169, 29722, 15297);
    /* U+0130: Python lowercases it to "i" + U+0307, and the accent strip removes the mark. */
    CHECK_IDS(v, "\xc4\xb0stanbul", 9960);
    CHECK_IDS(v, "\xe2\x84\xaa", 1047);               /* KELVIN SIGN -> k */
    CHECK_IDS(v, "e\xcc\x81", 1041);                  /* e + combining acute -> e */
    CHECK_IDS(v, "\xea\xb0\x80", 1455, 30006);        /* Hangul syllable decomposes into jamo */
    CHECK_IDS(v, "\xe4\xb8\xad\xe6\x96\x87", 1746, 1861); /* CJK characters are words of their own */
    CHECK_IDS(v, "x\xe2\x80\xa8y", 1060, 1061);       /* LINE SEPARATOR splits like Python's str.split() */
    CHECK_IDS(v, "x\xc2\xady", 1060, 2100);           /* SOFT HYPHEN (Cf) is dropped */
    CHECK_IDS(v, "\xf0\x9f\x98\x80", 100);            /* no piece matches -> [UNK] */
    CHECK_IDS(v, "ab\xe2\x98\x83" "cd", 100);         /* an unmatched char inside makes the whole word [UNK] */
    CHECK_IDS(v, "a[SEP]b", 1037, 102, 1038);         /* special tokens in the text */
    CHECK_IDS(v, "[sep]", 1031, 19802, 1033);         /* ... matched case-sensitively */
    CHECK_IDS(v, "[CLS][MASK][PAD][UNK]", 101, 103, 0, 100);

    char word[128];
    memset(word, 'a', 101);
    word[101] = '\0';
    CHECK_IDS(v, word, 100); /* 101 characters -> [UNK] */
    word[100] = '\0';
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    mrpc_error err = {0};
    CHECK_OK(mrpc_tokenizer_encode(v, word, &ids, &n, &cap, &err), &err);
    CHECK(n == 50 && ids[0] == 13360 && ids[1] == 11057 && ids[48] == 11057 && ids[49] == 2050,
          "100 characters are split into pieces (%zu)", n);
    /* encode appends to what is already there. */
    CHECK_OK(mrpc_tokenizer_encode(v, "the", &ids, &n, &cap, &err), &err);
    CHECK(n == 51 && ids[50] == 1996, "appended");
    free(ids);
}

static void test_invalid_utf8(const mrpc_vocab *v) {
    static const struct { const char *text; long column; } cases[] = {
        {"ab\xff" "cd", 3},              /* not a lead byte */
        {"\x80", 1},                     /* lone continuation */
        {"abc\xc0\x80", 4},              /* overlong NUL */
        {"\xe0\x80\xaf", 1},             /* overlong '/' */
        {"x\xed\xa0\x80", 2},            /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 1},         /* above U+10FFFF */
        {"ok \xe2\x82", 4},              /* truncated at the end */
        {"\xe2\x28\xa1", 1},             /* bad continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        mrpc_error err = {0};
        mrpc_status st = mrpc_tokenizer_encode(v, cases[i].text, &ids, &n, &cap, &err);
        char off[64];
        snprintf(off, sizeof off, "byte offset %ld", cases[i].column - 1);
        CHECK(st == MRPC_ERR_PARSE && n == 0, "case %zu: status %d", i, st);
        CHECK(err.column == cases[i].column && strstr(err.message, off) != NULL, "case %zu: col %ld, '%s'", i,
              err.column, err.message);
        free(ids);
    }
    int32_t out[8];
    size_t n = 0;
    mrpc_error err = {0};
    const mrpc_truncation rule = MRPC_TRUNCATION_LONGEST_FIRST;
    CHECK(mrpc_tokenizer_encode_pair(v, "fine", "bad \xff", 8, rule, out, &n, NULL, &err) == MRPC_ERR_PARSE, "pair");
    CHECK(strstr(err.message, "sentence 2") != NULL, "names the sentence: %s", err.message);
    CHECK(mrpc_tokenizer_encode_pair(v, "a", "b", 2, rule, out, &n, NULL, &err) == MRPC_ERR_INVALID,
          "max_seq_length 2");
    CHECK(mrpc_tokenizer_encode_pair(v, "a", "b", 8, rule, out, &n, NULL, NULL) == MRPC_OK && n == 5,
          "NULL err is fine");
}

/*
 * Canonical ordering is only visible through non-Mn marks with a combining class
 * (Mn marks are dropped); bert-base-uncased has none of them, so use a tiny vocab:
 * U+1D165 (Mc, class 216) and U+1D16D (Mc, class 226) must come out sorted by class,
 * for a short run (insertion sort) and a long one (counting sort); U+0301 (Mn, 230)
 * is dropped.
 */
static void test_canonical_order(void) {
    static const char vocab_text[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n##\xf0\x9d\x85\xa5\n##\xf0\x9d\x85\xad\n";
    mrpc_vocab *v = NULL;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_vocab_load_mem("tiny", vocab_text, sizeof vocab_text - 1, &v, &err), &err)) return;
    CHECK_IDS(v, "a\xf0\x9d\x85\xad\xf0\x9d\x85\xa5", 5, 6, 7);
    CHECK_IDS(v, "a\xf0\x9d\x85\xad\xcc\x81\xf0\x9d\x85\xa5 a", 5, 6, 7, 5);
    char text[1024];
    size_t o = 0;
    text[o++] = 'a';
    for (int k = 0; k < 20; k++) {
        memcpy(text + o, "\xf0\x9d\x85\xad" "\xcc\x81" "\xf0\x9d\x85\xa5", 10);
        o += 10;
    }
    text[o] = '\0';
    int32_t want[41];
    want[0] = 5;
    for (int k = 0; k < 20; k++) {
        want[1 + k] = 6;
        want[21 + k] = 7;
    }
    check_ids(v, text, want, 41, "60 marks: counting sort");
    mrpc_vocab_free(v);
}

/* The one-token-at-a-time loop of older HF versions, which the closed form must equal. */
static void truncate_loop(size_t a, size_t b, size_t budget, size_t *ka, size_t *kb) {
    while (a + b > budget) {
        if (a > b) a--;
        else b--;
    }
    *ka = a;
    *kb = b;
}

static void test_truncation_rule(void) {
    const mrpc_truncation SLOW = MRPC_TRUNCATION_LONGEST_FIRST_SLOW, FAST = MRPC_TRUNCATION_LONGEST_FIRST;
    /* The slow tokenizer's rule (HF truncate_sequences, original BERT). */
    static const size_t slow_cases[][5] = {
        /* len_a, len_b, budget, keep_a, keep_b */
        {10, 4, 20, 10, 4},  /* fits */
        {10, 4, 10, 6, 4},   /* only the longer loses: r=4 < diff=6 */
        {10, 4, 8, 4, 4},    /* r == diff */
        {10, 4, 5, 3, 2},    /* r=9: 6 from A, then r2=3: A floor(1.5)=1, B ceil=2 */
        {4, 10, 5, 3, 2},    /* mirrored: A still keeps the odd extra token */
        {5, 5, 7, 4, 3},     /* tie, odd r: B loses the extra one */
        {5, 5, 6, 3, 3},     /* tie, even r */
        {3, 3, 0, 0, 0},
        {0, 9, 4, 0, 4},
    };
    for (size_t i = 0; i < sizeof slow_cases / sizeof slow_cases[0]; i++) {
        const size_t *c = slow_cases[i];
        size_t ka, kb;
        mrpc_tokenizer_truncate_lengths(SLOW, c[0], c[1], c[2], &ka, &kb);
        CHECK(ka == c[3] && kb == c[4], "slow (%zu,%zu) budget %zu -> (%zu,%zu), want (%zu,%zu)", c[0], c[1], c[2],
              ka, kb, c[3], c[4]);
    }
    /*
     * The fast tokenizer's rule. The first 16 are the lengths of the Rust tokenizers'
     * own unit test (truncate_encodings_longest_first: encodings of 0, 2, 4, 8 ids,
     * every pair, max_length 7); the rest are worked by hand.
     */
    static const size_t fast_cases[][5] = {
        {0, 0, 7, 0, 0}, {0, 2, 7, 0, 2}, {0, 4, 7, 0, 4}, {0, 8, 7, 0, 7},
        {2, 0, 7, 2, 0}, {2, 2, 7, 2, 2}, {2, 4, 7, 2, 4}, {2, 8, 7, 2, 5},
        {4, 0, 7, 4, 0}, {4, 2, 7, 4, 2}, {4, 4, 7, 3, 4}, {4, 8, 7, 3, 4},
        {8, 0, 7, 7, 0}, {8, 2, 7, 5, 2}, {8, 4, 7, 4, 3}, {8, 8, 7, 3, 4},
        {10, 4, 20, 10, 4},  /* fits */
        {10, 4, 5, 3, 2},    /* both cut, A longer: A gets 5/2 + 1 (as the slow rule) */
        {4, 10, 5, 2, 3},    /* mirrored: now B keeps the odd token (the slow rule gives A 3) */
        {5, 5, 7, 3, 4},     /* tie: B counts as the longer one */
        {5, 5, 6, 3, 3},
        {3, 3, 0, 0, 0},
        {0, 9, 4, 0, 4},
        {61, 61, 61, 30, 31}, /* max_seq_length 64 */
        {40, 100, 125, 40, 85},
        {71, 70, 61, 31, 30}, /* both cut: the longer gets the odd token, A or B */
        {70, 71, 61, 30, 31},
        {5, 4, 1, 1, 0},
        {4, 5, 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof fast_cases / sizeof fast_cases[0]; i++) {
        const size_t *c = fast_cases[i];
        size_t ka, kb;
        mrpc_tokenizer_truncate_lengths(FAST, c[0], c[1], c[2], &ka, &kb);
        CHECK(ka == c[3] && kb == c[4], "fast (%zu,%zu) budget %zu -> (%zu,%zu), want (%zu,%zu)", c[0], c[1], c[2],
              ka, kb, c[3], c[4]);
    }
    /*
     * Over a grid: the slow closed form equals the one-token-at-a-time loop of older HF
     * versions; both rules keep min(a + b, budget) tokens, never more of a text than it
     * has; they agree whenever A is strictly longer and otherwise differ by at most the
     * one odd token, which the fast rule gives to B.
     */
    size_t bad_loop = 0, bad_total = 0, bad_relation = 0, n_differ = 0;
    for (size_t a = 0; a <= 40; a++)
        for (size_t b = 0; b <= 40; b++)
            for (size_t budget = 0; budget <= 82; budget++) {
                size_t ka, kb, la, lb, fa, fb;
                mrpc_tokenizer_truncate_lengths(SLOW, a, b, budget, &ka, &kb);
                truncate_loop(a, b, budget, &la, &lb);
                if (ka != la || kb != lb) bad_loop++;
                mrpc_tokenizer_truncate_lengths(FAST, a, b, budget, &fa, &fb);
                size_t total = a + b < budget ? a + b : budget;
                if (ka + kb != total || fa + fb != total || ka > a || kb > b || fa > a || fb > b) bad_total++;
                if (fa != ka || fb != kb) {
                    n_differ++;
                    if (a > b || fb != kb + 1 || fa + 1 != ka) bad_relation++;
                }
            }
    CHECK(bad_loop == 0, "slow closed form differs from the one-at-a-time loop in %zu cases", bad_loop);
    CHECK(bad_total == 0, "wrong totals in %zu cases", bad_total);
    CHECK(bad_relation == 0 && n_differ > 0, "fast vs slow: %zu unexpected differences (%zu differ)", bad_relation,
          n_differ);
}

/* "the the ... the" (n words, one id 1996 each). */
static char *repeat_word(const char *word, size_t n) {
    size_t wl = strlen(word);
    char *s = malloc(n * (wl + 1) + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(s + o, word, wl);
        o += wl;
        s[o++] = ' ';
    }
    s[o] = '\0';
    return s;
}

/* Checks [CLS] a*ka [SEP] b*kb [SEP] with ids ia, ib. */
static int layout_ok(const int32_t *ids, size_t n, size_t ka, size_t kb, int32_t ia, int32_t ib) {
    if (n != ka + kb + 3 || ids[0] != 101 || ids[ka + 1] != 102 || ids[n - 1] != 102) return 0;
    for (size_t i = 0; i < ka; i++)
        if (ids[1 + i] != ia) return 0;
    for (size_t i = 0; i < kb; i++)
        if (ids[ka + 2 + i] != ib) return 0;
    return 1;
}

static void test_truncation_pairs(const mrpc_vocab *v) {
    const mrpc_truncation SLOW = MRPC_TRUNCATION_LONGEST_FIRST_SLOW, FAST = MRPC_TRUNCATION_LONGEST_FIRST;
    int32_t ids[128];
    size_t n, t;
    mrpc_error err = {0};
    char *a100 = repeat_word("the", 100), *b30 = repeat_word("a", 30);
    char *a70 = repeat_word("the", 70), *b70 = repeat_word("a", 70), *b61 = repeat_word("a", 61);
    for (int r = 0; r < 2; r++) {
        mrpc_truncation rule = r ? SLOW : FAST;
        const char *name = mrpc_truncation_name(rule);
        /* 100 + 30 > 125: only A loses 5. */
        CHECK_OK(mrpc_tokenizer_encode_pair(v, a100, b30, 128, rule, ids, &n, &t, &err), &err);
        CHECK(layout_ok(ids, n, 95, 30, 1996, 1037) && t == 5, "%s: longer first: n=%zu t=%zu", name, n, t);
        /* 30 + 100 the other way round: B loses 5. */
        CHECK_OK(mrpc_tokenizer_encode_pair(v, b30, a100, 128, rule, ids, &n, &t, &err), &err);
        CHECK(layout_ok(ids, n, 30, 95, 1037, 1996) && t == 5, "%s: B longer: n=%zu t=%zu", name, n, t);
        /* 70 + 70 = 140 on a budget of 125: the odd token goes to A (slow) or B (fast). */
        CHECK_OK(mrpc_tokenizer_encode_pair(v, a70, b70, 128, rule, ids, &n, &t, &err), &err);
        CHECK(layout_ok(ids, n, r ? 63 : 62, r ? 62 : 63, 1996, 1037) && t == 15, "%s: odd tie-break: n=%zu t=%zu",
              name, n, t);
        /* 70 + 61 = 131, r = 6: the shorter fits beside 125 - 61 = 64, A loses all 6. */
        CHECK_OK(mrpc_tokenizer_encode_pair(v, a70, b61, 128, rule, ids, &n, &t, &err), &err);
        CHECK(layout_ok(ids, n, 64, 61, 1996, 1037) && t == 6, "%s: diff > r: n=%zu", name, n);
        /* 100 + 30 at 64: budget 61, A keeps 31. */
        CHECK_OK(mrpc_tokenizer_encode_pair(v, a100, b30, 64, rule, ids, &n, &t, &err), &err);
        CHECK(layout_ok(ids, n, 31, 30, 1996, 1037) && t == 69, "%s: budget 61: n=%zu", name, n);
        /* 100 + 30 at 40: budget 37, both cut; A is the longer, so it keeps 19 under both rules. */
        CHECK_OK(mrpc_tokenizer_encode_pair(v, a100, b30, 40, rule, ids, &n, &t, &err), &err);
        CHECK(layout_ok(ids, n, 19, 18, 1996, 1037) && t == 93, "%s: both cut: n=%zu", name, n);
        /* 30 + 100 at 40: B is the longer: fast gives it 19, slow still gives A 19. */
        CHECK_OK(mrpc_tokenizer_encode_pair(v, b30, a100, 40, rule, ids, &n, &t, &err), &err);
        CHECK(layout_ok(ids, n, r ? 19 : 18, r ? 18 : 19, 1037, 1996) && t == 93, "%s: both cut, B longer: n=%zu",
              name, n);
        /* max_seq_length 3: only the specials. */
        CHECK_OK(mrpc_tokenizer_encode_pair(v, a70, b70, 3, rule, ids, &n, &t, &err), &err);
        CHECK(n == 3 && ids[0] == 101 && ids[1] == 102 && ids[2] == 102 && t == 140, "%s: max 3", name);
        /* Truncation cuts word pieces from the right, so a word can lose its tail. */
        CHECK_OK(mrpc_tokenizer_encode_pair(v, "deliberately distorting", "x", 6, rule, ids, &n, &t, &err), &err);
        CHECK(n == 6 && ids[1] == 9969 && ids[2] == 4487 && ids[3] == 102 && ids[4] == 1060 && t == 2,
              "%s: cut inside a word: %zu", name, n);
    }
    /*
     * The fast tokenizer's first step: each text stops after the word holding its
     * max_length-th piece. 71 + 70 one-piece words at 64 are both cut to 64 first, a
     * tie, so B keeps the odd token (the pair rule alone would give it to A, as the slow
     * rule does). "distorting" is 3 pieces (di ##stor ##ting): 12 of them (36 pieces)
     * stop at 33 > 32, so A stays the longer one against 34 one-piece words cut to 32.
     */
    char *a71 = repeat_word("the", 71), *d12 = repeat_word("distorting", 12), *b34 = repeat_word("a", 34);
    CHECK_OK(mrpc_tokenizer_encode_pair(v, a71, b70, 64, FAST, ids, &n, &t, &err), &err);
    CHECK(layout_ok(ids, n, 30, 31, 1996, 1037) && t == 80, "fast: 71 + 70 at 64: n=%zu t=%zu", n, t);
    CHECK_OK(mrpc_tokenizer_encode_pair(v, a71, b70, 64, SLOW, ids, &n, &t, &err), &err);
    CHECK(layout_ok(ids, n, 31, 30, 1996, 1037) && t == 80, "slow: 71 + 70 at 64: n=%zu t=%zu", n, t);
    CHECK_OK(mrpc_tokenizer_encode_pair(v, d12, b34, 32, FAST, ids, &n, &t, &err), &err);
    CHECK(n == 32 && ids[0] == 101 && ids[1] == 4487 && ids[2] == 23809 && ids[3] == 3436 && ids[16] == 102 &&
              ids[17] == 1037 && ids[30] == 1037 && ids[31] == 102 && t == 41,
          "fast: a word of 3 pieces across the first cut keeps A the longer: n=%zu t=%zu ids[16]=%d", n, t,
          (int)ids[16]);
    free(a71); free(d12); free(b34);

    CHECK(mrpc_tokenizer_encode_pair(v, "a", "b", 8, (mrpc_truncation)7, ids, &n, &t, &err) == MRPC_ERR_INVALID &&
              strcmp(err.field, "truncation") == 0,
          "an unknown rule is refused");
    mrpc_truncation parsed = SLOW;
    CHECK(mrpc_truncation_parse("longest_first", &parsed) && parsed == FAST, "parse longest_first");
    CHECK(mrpc_truncation_parse("longest_first_slow", &parsed) && parsed == SLOW, "parse longest_first_slow");
    CHECK(!mrpc_truncation_parse("only_first", &parsed) && !mrpc_truncation_parse("Longest_First", &parsed) &&
              !mrpc_truncation_parse(NULL, &parsed) && parsed == SLOW,
          "other names are refused");
    CHECK(strcmp(mrpc_truncation_name(FAST), "longest_first") == 0 &&
              strcmp(mrpc_truncation_name(SLOW), "longest_first_slow") == 0,
          "names");
    free(a100); free(b30); free(a70); free(b70); free(b61);
}

/* MRPC train row 1, sentence A, read from the real file and encoded on its own (facts doc vector). */
static void test_train_row1(const mrpc_vocab *v) {
    mrpc_pairs pairs = {0};
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_tsv_read(mrpc_test_data_path("mrpc/train.tsv"), &pairs, &err), &err)) return;
    int32_t ids[128];
    size_t n = 0;
    CHECK_OK(mrpc_tokenizer_encode_pair(v, pairs.items[0].sentence1, "", 128, MRPC_TRUNCATION_LONGEST_FIRST, ids, &n,
                                        NULL, &err),
             &err);
    const int32_t want[] = {101, 2572, 3217, 5831, 5496, 2010, 2567, 1010, 3183, 2002, 2170, 1000, 1996,
                            7409, 1000, 1010, 1997, 9969, 4487, 23809, 3436, 2010, 3350, 1012, 102};
    CHECK(n == 26 && memcmp(ids, want, sizeof want) == 0 && ids[25] == 102, "[CLS] A [SEP] [SEP] (%zu)", n);
    mrpc_pairs_free(&pairs);
}

int main(void) {
    const char *vocab_path = mrpc_test_data_path("bert-base-uncased/vocab.txt");
    char path[1024];
    snprintf(path, sizeof path, "%s", vocab_path);
    mrpc_vocab *v = NULL;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_vocab_load(path, &v, &err), &err)) return mrpc_test_report();
    test_vocab(v, path);
    test_vocab_mem();
    test_documented_vectors(v);
    test_more_vectors(v);
    test_invalid_utf8(v);
    test_canonical_order();
    test_truncation_rule();
    test_truncation_pairs(v);
    test_train_row1(v);
    mrpc_vocab_free(v);
    return mrpc_test_report();
}

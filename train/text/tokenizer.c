/* tokenizer.c — vocab hash table, BERT basic tokenizer, WordPiece, pair encoding (see tokenizer.h). */
#include "tokenizer.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "fsutil.h"
#include "mrpc_utf8.h"

#define VOCAB_MAX_FILE_BYTES ((size_t)256 << 20)

/* ---- vocab ------------------------------------------------------------------------ */

struct mrpc_vocab {
    size_t    n;               /* number of ids */
    char     *storage;         /* all tokens, each NUL-terminated */
    size_t   *offsets;         /* [n]: token i starts at storage + offsets[i] */
    uint32_t *lens;            /* [n]: byte length of token i */
    int32_t  *table;           /* [table_mask + 1]: id, or -1 for an empty slot */
    uint32_t *table_hash;      /* [table_mask + 1]: low 32 bits of the slot's hash */
    size_t    table_mask;
    size_t    max_token_bytes; /* longest token, in bytes */
    uint64_t  fingerprint;     /* FNV-1a of the file bytes */
    int32_t   pad_id, unk_id, cls_id, sep_id, mask_id;
};

/* The special tokens, in the order of the *_id fields above. */
static const char *const special_names[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

static uint64_t hash_piece(int continuation, const char *s, size_t len) {
    uint64_t h = MRPC_FNV1A_INIT;
    if (continuation) h = mrpc_fnv1a(h, "##", 2);
    return mrpc_fnv1a(h, s, len);
}

/* Id of the token "##"s (continuation) or s, given by bytes; -1 when absent. */
static int32_t vocab_find(const mrpc_vocab *v, int continuation, const char *s, size_t len) {
    size_t total = len + (continuation ? 2 : 0);
    if (total > v->max_token_bytes) return -1;
    uint64_t h = hash_piece(continuation, s, len);
    size_t slot = (size_t)h & v->table_mask;
    for (;;) {
        int32_t id = v->table[slot];
        if (id < 0) return -1;
        if (v->table_hash[slot] == (uint32_t)h && v->lens[id] == total) {
            const char *t = v->storage + v->offsets[id];
            if (continuation) {
                if (t[0] == '#' && t[1] == '#' && memcmp(t + 2, s, len) == 0) return id;
            } else if (memcmp(t, s, len) == 0) {
                return id;
            }
        }
        slot = (slot + 1) & v->table_mask;
    }
}

/* Inserts token `id`; a token seen before is re-pointed at the later id (as a Python dict would). */
static void vocab_insert(mrpc_vocab *v, int32_t id) {
    const char *t = v->storage + v->offsets[id];
    size_t len = v->lens[id];
    uint64_t h = hash_piece(0, t, len);
    size_t slot = (size_t)h & v->table_mask;
    for (;;) {
        int32_t other = v->table[slot];
        if (other < 0) {
            v->table[slot] = id;
            v->table_hash[slot] = (uint32_t)h;
            return;
        }
        if (v->table_hash[slot] == (uint32_t)h && v->lens[other] == len &&
            memcmp(v->storage + v->offsets[other], t, len) == 0) {
            v->table[slot] = id;
            return;
        }
        slot = (slot + 1) & v->table_mask;
    }
}

void mrpc_vocab_free(mrpc_vocab *vocab) {
    if (!vocab) return;
    free(vocab->storage);
    free(vocab->offsets);
    free(vocab->lens);
    free(vocab->table);
    free(vocab->table_hash);
    free(vocab);
}

mrpc_status mrpc_vocab_load_mem(const char *name, const char *data, size_t size, mrpc_vocab **out,
                                mrpc_error *err) {
    *out = NULL;
    if (!name) name = "<vocab>";
    if (!data && size > 0) return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, NULL, "no data");
    if (size > VOCAB_MAX_FILE_BYTES)
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, NULL, "vocab is larger than 256 MiB");

    /* Count lines with universal newlines: "\n", "\r\n" and "\r" each end one. */
    size_t n_lines = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n' || data[i] == '\r') {
            n_lines++;
            if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n') i++;
        }
    }
    if (size > 0 && data[size - 1] != '\n' && data[size - 1] != '\r') n_lines++;
    if (n_lines > (size_t)INT32_MAX)
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, NULL, "more than 2^31-1 tokens");

    mrpc_vocab *v = calloc(1, sizeof *v);
    if (!v) return mrpc_error_set(err, MRPC_ERR_NOMEM, name, 0, 0, NULL, "out of memory");
    size_t table_size = 16;
    while (table_size < 2 * n_lines) table_size *= 2;
    v->storage = malloc(size + 1);
    v->offsets = malloc((n_lines ? n_lines : 1) * sizeof *v->offsets);
    v->lens = malloc((n_lines ? n_lines : 1) * sizeof *v->lens);
    v->table = malloc(table_size * sizeof *v->table);
    v->table_hash = malloc(table_size * sizeof *v->table_hash);
    if (!v->storage || !v->offsets || !v->lens || !v->table || !v->table_hash) {
        mrpc_vocab_free(v);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, name, 0, 0, NULL, "out of memory");
    }
    if (size) memcpy(v->storage, data, size);
    v->storage[size] = '\0';
    v->table_mask = table_size - 1;
    for (size_t i = 0; i < table_size; i++) v->table[i] = -1;
    v->fingerprint = mrpc_fnv1a(MRPC_FNV1A_INIT, data, size);

    size_t pos = 0;
    for (size_t id = 0; id < n_lines; id++) {
        size_t end = pos;
        while (end < size && data[end] != '\n' && data[end] != '\r') end++;
        size_t bad;
        const char *nul = memchr(data + pos, '\0', end - pos);
        if (nul) {
            long col = (long)(nul - (data + pos)) + 1;
            mrpc_vocab_free(v);
            return mrpc_error_set(err, MRPC_ERR_PARSE, name, (long)id + 1, col, NULL, "NUL byte in a token");
        }
        if (!mrpc_utf8_validate(data + pos, end - pos, &bad)) {
            mrpc_vocab_free(v);
            return mrpc_error_set(err, MRPC_ERR_PARSE, name, (long)id + 1, (long)bad + 1, NULL,
                                  "invalid UTF-8 (byte offset %zu in the file)", pos + bad);
        }
        if (end - pos > UINT32_MAX - 2) {
            mrpc_vocab_free(v);
            return mrpc_error_set(err, MRPC_ERR_INVALID, name, (long)id + 1, 0, NULL, "token too long");
        }
        v->storage[end] = '\0';
        v->offsets[id] = pos;
        v->lens[id] = (uint32_t)(end - pos);
        if (end - pos > v->max_token_bytes) v->max_token_bytes = end - pos;
        vocab_insert(v, (int32_t)id);
        pos = end;
        if (pos < size && data[pos] == '\r') {
            pos++;
            if (pos < size && data[pos] == '\n') pos++;
        } else if (pos < size && data[pos] == '\n') {
            pos++;
        }
    }
    v->n = n_lines;

    int32_t *special_ids[5] = {&v->pad_id, &v->unk_id, &v->cls_id, &v->sep_id, &v->mask_id};
    for (int i = 0; i < 5; i++) {
        *special_ids[i] = vocab_find(v, 0, special_names[i], strlen(special_names[i]));
        if (*special_ids[i] < 0) {
            mrpc_vocab_free(v);
            return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, NULL, "the special token %s is missing",
                                  special_names[i]);
        }
    }
    *out = v;
    return MRPC_OK;
}

mrpc_status mrpc_vocab_load(const char *path, mrpc_vocab **out, mrpc_error *err) {
    *out = NULL;
    char *data = NULL;
    size_t size = 0;
    mrpc_status st = mrpc_file_read_all(path, VOCAB_MAX_FILE_BYTES, &data, &size, err);
    if (st != MRPC_OK) return st;
    st = mrpc_vocab_load_mem(path, data, size, out, err);
    free(data);
    return st;
}

size_t mrpc_vocab_size(const mrpc_vocab *vocab) { return vocab ? vocab->n : 0; }

int32_t mrpc_vocab_lookup(const mrpc_vocab *vocab, const char *token) {
    if (!vocab || !token) return -1;
    return vocab_find(vocab, 0, token, strlen(token));
}

const char *mrpc_vocab_token(const mrpc_vocab *vocab, int32_t id) {
    if (!vocab || id < 0 || (size_t)id >= vocab->n) return NULL;
    return vocab->storage + vocab->offsets[id];
}

uint64_t mrpc_vocab_fingerprint(const mrpc_vocab *vocab) { return vocab ? vocab->fingerprint : 0; }
int32_t mrpc_vocab_pad_id(const mrpc_vocab *vocab) { return vocab ? vocab->pad_id : -1; }
int32_t mrpc_vocab_unk_id(const mrpc_vocab *vocab) { return vocab ? vocab->unk_id : -1; }
int32_t mrpc_vocab_cls_id(const mrpc_vocab *vocab) { return vocab ? vocab->cls_id : -1; }
int32_t mrpc_vocab_sep_id(const mrpc_vocab *vocab) { return vocab ? vocab->sep_id : -1; }
int32_t mrpc_vocab_mask_id(const mrpc_vocab *vocab) { return vocab ? vocab->mask_id : -1; }

/* ---- character classes (HF tokenization_utils / tokenization_bert) --------------- */

static int is_whitespace(uint32_t c) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return 1;
    return c >= 0x80 && utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_ZS;
}

static int is_control(uint32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return 0;
    if (c < 0x80) return c < 0x20 || c == 0x7F;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN:
        return 1;
    default:
        return 0;
    }
}

static int is_punctuation(uint32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return 1;
    if (c < 0x80) return 0;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF: case UTF8PROC_CATEGORY_PO:
        return 1;
    default:
        return 0;
    }
}

static int is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Python's str.split() separators that survive clean_text: ' ' plus LINE/PARAGRAPH SEPARATOR. */
static int is_split_space(uint32_t c) { return c == ' ' || c == 0x2028 || c == 0x2029; }

/* ---- the tokenizer ---------------------------------------------------------------- */

/* Scratch buffers for one call; all grow on demand and are freed at the end. */
typedef struct work {
    const mrpc_vocab *v;
    uint32_t *seg;  size_t seg_n,  seg_cap;  /* cleaned code points of the current segment */
    uint32_t *low;  size_t low_n,  low_cap;  /* the current word, lowercased */
    uint32_t *nfd;  size_t nfd_n,  nfd_cap;  /* ... decomposed, reordered, Mn dropped */
    char     *pb;   size_t pb_cap;           /* UTF-8 of the current piece */
    size_t   *pofs; size_t pofs_cap;         /* [m+1]: byte offset of each code point of the piece */
    uint32_t *tmp;  size_t tmp_cap;          /* scratch for canonical ordering */
    int32_t **ids;  size_t *n, *cap;         /* the output array */
    unsigned char **starts; size_t *starts_cap; /* optional, parallel to ids: a WORD_* kind per id */
    int       word_start;                    /* kind of the next emitted id */
    int       nomem;
} work;

/*
 * Makes room for `need` elements of `elem` bytes in the array whose pointer is at
 * `pp` (a T **, passed as void * so every element type can use it; the pointer is
 * copied with memcpy, not accessed through a void ** lvalue), capacity *cap.
 * Returns 0 on out-of-memory, leaving the array as it was.
 */
static int grow(void *pp, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) {
        if (ncap > ((size_t)-1 / 2) / elem) return 0;
        ncap *= 2;
    }
    void *p;
    memcpy(&p, pp, sizeof p);
    void *np = realloc(p, ncap * elem);
    if (!np) return 0;
    memcpy(pp, &np, sizeof np);
    *cap = ncap;
    return 1;
}

/* Kinds of ids for the fast tokenizer's first cut (first_cut). */
enum { WORD_CONTINUES = 0, WORD_STARTS = 1, WORD_SPECIAL = 2 };

static void emit(work *w, int32_t id) {
    if (w->nomem) return;
    if (!grow(w->ids, w->cap, *w->n + 1, sizeof **w->ids)) { w->nomem = 1; return; }
    if (w->starts) {
        if (!grow(w->starts, w->starts_cap, *w->n + 1, sizeof **w->starts)) { w->nomem = 1; return; }
        (*w->starts)[*w->n] = (unsigned char)w->word_start;
    }
    w->word_start = WORD_CONTINUES;
    (*w->ids)[(*w->n)++] = id;
}

static void push_cp(work *w, uint32_t **buf, size_t *n, size_t *cap, uint32_t c) {
    if (w->nomem) return;
    if (!grow(buf, cap, *n + 1, sizeof **buf)) { w->nomem = 1; return; }
    (*buf)[(*n)++] = c;
}

/* Id of the special token spelled at text[0..avail), with its byte length, or -1. */
static int32_t special_text_id(const mrpc_vocab *v, const char *text, size_t avail, size_t *out_len) {
    const int32_t ids[5] = {v->pad_id, v->unk_id, v->cls_id, v->sep_id, v->mask_id};
    for (int s = 0; s < 5; s++) {
        size_t len = strlen(special_names[s]);
        if (len <= avail && memcmp(text, special_names[s], len) == 0) {
            *out_len = len;
            return ids[s];
        }
    }
    return -1;
}

/* Greedy longest-match-first WordPiece on one punctuation-free word (or one punctuation char). */
static void wordpiece(work *w, const uint32_t *c, size_t m) {
    const mrpc_vocab *v = w->v;
    if (m == 0) return;
    w->word_start = WORD_STARTS; /* one word of the fast tokenizer's pre-tokenizer */
    if (m > MRPC_TOKENIZER_MAX_WORD_CHARS) { emit(w, v->unk_id); return; }
    if (!grow(&w->pb, &w->pb_cap, 4 * m + 1, 1) ||
        !grow(&w->pofs, &w->pofs_cap, m + 1, sizeof *w->pofs)) {
        w->nomem = 1;
        return;
    }
    size_t nb = 0;
    for (size_t i = 0; i < m; i++) {
        w->pofs[i] = nb;
        if (c[i] < 0x80) w->pb[nb++] = (char)c[i];
        else nb += mrpc_utf8_encode(c[i], w->pb + nb);
    }
    w->pofs[m] = nb;
    size_t n_before = *w->n;
    size_t start = 0;
    while (start < m) {
        int cont = start > 0; /* a continuation piece: looked up as "##" + bytes */
        size_t prefix = cont ? 2 : 0;
        size_t max_bytes = v->max_token_bytes > prefix ? v->max_token_bytes - prefix : 0;
        size_t end = m;
        while (end > start && w->pofs[end] - w->pofs[start] > max_bytes) end--;
        int32_t found = -1;
        while (end > start) {
            found = vocab_find(v, cont, w->pb + w->pofs[start], w->pofs[end] - w->pofs[start]);
            if (found >= 0) break;
            end--;
        }
        if (found < 0) {
            *w->n = n_before; /* the whole word becomes [UNK] */
            w->word_start = WORD_STARTS;
            emit(w, v->unk_id);
            return;
        }
        emit(w, found);
        start = end;
    }
}

static int combining_class(uint32_t c) {
    return c < 0x300 ? 0 : utf8proc_get_property((utf8proc_int32_t)c)->combining_class;
}

/*
 * Unicode canonical ordering of w->nfd: every run of non-starters (combining class
 * > 0) is stable-sorted by combining class. Short runs use insertion sort, long ones
 * a counting sort, so a word of a million combining marks stays linear.
 */
static void canonical_order(work *w) {
    uint32_t *d = w->nfd;
    size_t n = w->nfd_n, i = 0;
    while (i < n) {
        if (combining_class(d[i]) == 0) { i++; continue; }
        size_t s = i;
        while (i < n && combining_class(d[i]) != 0) i++;
        size_t len = i - s;
        if (len < 2) continue;
        if (len <= 32) {
            for (size_t j = s + 1; j < i; j++) {
                uint32_t x = d[j];
                int cx = combining_class(x);
                size_t k = j;
                while (k > s && combining_class(d[k - 1]) > cx) {
                    d[k] = d[k - 1];
                    k--;
                }
                d[k] = x;
            }
            continue;
        }
        if (!grow(&w->tmp, &w->tmp_cap, len, sizeof *w->tmp)) { w->nomem = 1; return; }
        size_t start[257] = {0};
        for (size_t j = s; j < i; j++) start[combining_class(d[j]) + 1]++;
        for (int c = 1; c <= 256; c++) start[c] += start[c - 1];
        for (size_t j = s; j < i; j++) w->tmp[start[combining_class(d[j])]++] = d[j];
        memcpy(d + s, w->tmp, len * sizeof *d);
    }
}

/* Lowercases, strips accents and splits punctuation of one whitespace-separated word, then WordPiece. */
static void process_word(work *w, const uint32_t *c, size_t k) {
    int ascii = 1;
    for (size_t i = 0; i < k; i++)
        if (c[i] >= 0x80) { ascii = 0; break; }
    if (ascii) {
        w->nfd_n = 0;
        for (size_t i = 0; i < k; i++) {
            uint32_t x = c[i];
            push_cp(w, &w->nfd, &w->nfd_n, &w->nfd_cap, (x >= 'A' && x <= 'Z') ? x + 32 : x);
        }
    } else {
        /*
         * Python str.lower() of each code point on its own (HF lowercases the text one
         * character at a time before anything else, so the Final_Sigma rule never
         * applies): utf8proc's simple mapping, except U+0130 -> "i" U+0307.
         */
        w->low_n = 0;
        for (size_t i = 0; i < k; i++) {
            uint32_t x = c[i];
            if (x == 0x130) {
                push_cp(w, &w->low, &w->low_n, &w->low_cap, 'i');
                push_cp(w, &w->low, &w->low_n, &w->low_cap, 0x307);
            } else {
                push_cp(w, &w->low, &w->low_n, &w->low_cap, (uint32_t)utf8proc_tolower((utf8proc_int32_t)x));
            }
        }
        if (w->nomem) return;
        /* NFD: canonical decomposition of each code point, then canonical ordering. */
        w->nfd_n = 0;
        for (size_t i = 0; i < w->low_n; i++) {
            utf8proc_int32_t dec[32];
            int boundclass = 0;
            utf8proc_ssize_t nd = utf8proc_decompose_char((utf8proc_int32_t)w->low[i], dec, 32, UTF8PROC_DECOMPOSE,
                                                          &boundclass);
            if (nd < 0 || nd > 32) { /* cannot happen for canonical decompositions; keep the code point */
                dec[0] = (utf8proc_int32_t)w->low[i];
                nd = 1;
            }
            for (utf8proc_ssize_t j = 0; j < nd; j++) push_cp(w, &w->nfd, &w->nfd_n, &w->nfd_cap, (uint32_t)dec[j]);
        }
        if (w->nomem) return;
        canonical_order(w);
        if (w->nomem) return;
        /* Strip accents: drop nonspacing marks. */
        size_t kept = 0;
        for (size_t i = 0; i < w->nfd_n; i++) {
            uint32_t x = w->nfd[i];
            if (x >= 0x80 && utf8proc_category((utf8proc_int32_t)x) == UTF8PROC_CATEGORY_MN) continue;
            w->nfd[kept++] = x;
        }
        w->nfd_n = kept;
    }
    if (w->nomem) return;
    const uint32_t *word = w->nfd;
    size_t wn = w->nfd_n;
    /* Punctuation split, then WordPiece on each part. */
    size_t start = 0;
    for (size_t i = 0; i < wn; i++) {
        if (is_punctuation(word[i])) {
            wordpiece(w, word + start, i - start);
            wordpiece(w, word + i, 1);
            start = i + 1;
        }
    }
    wordpiece(w, word + start, wn - start);
}

/* Basic tokenization of the bytes text[0..len) (valid UTF-8, no special tokens inside). */
static void process_segment(work *w, const char *text, size_t len) {
    const unsigned char *p = (const unsigned char *)text;
    w->seg_n = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t c;
        if (p[i] < 0x80) {
            c = p[i++];
        } else {
            size_t l = mrpc_utf8_decode(p + i, len - i, &c);
            if (l == 0) { i++; continue; } /* validated by the caller; never taken */
            i += l;
        }
        if (c == 0 || c == 0xFFFD || is_control(c)) continue;
        if (is_whitespace(c)) {
            push_cp(w, &w->seg, &w->seg_n, &w->seg_cap, ' ');
        } else if (c >= 0x3400 && is_cjk(c)) {
            push_cp(w, &w->seg, &w->seg_n, &w->seg_cap, ' ');
            push_cp(w, &w->seg, &w->seg_n, &w->seg_cap, c);
            push_cp(w, &w->seg, &w->seg_n, &w->seg_cap, ' ');
        } else {
            push_cp(w, &w->seg, &w->seg_n, &w->seg_cap, c);
        }
    }
    if (w->nomem) return;
    size_t start = 0;
    for (size_t k = 0; k <= w->seg_n; k++) {
        if (k < w->seg_n && !is_split_space(w->seg[k])) continue;
        if (k > start) process_word(w, w->seg + start, k - start);
        if (w->nomem) return;
        start = k + 1;
    }
}

/* mrpc_tokenizer_encode, also writing to *starts (when non-NULL) the WORD_* kind of every id. */
static mrpc_status encode_text(const mrpc_vocab *vocab, const char *text, int32_t **ids, size_t *n, size_t *cap,
                               unsigned char **starts, size_t *starts_cap, mrpc_error *err) {
    if (!vocab || !text || !ids || !n || !cap)
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "mrpc_tokenizer_encode: NULL argument");
    size_t len = strlen(text);
    size_t bad = 0;
    if (!mrpc_utf8_validate(text, len, &bad)) {
        return mrpc_error_set(err, MRPC_ERR_PARSE, NULL, 0, (long)bad + 1, NULL,
                              "invalid UTF-8 at byte offset %zu (byte 0x%02X)", bad, (unsigned char)text[bad]);
    }
    work w;
    memset(&w, 0, sizeof w);
    w.v = vocab;
    w.ids = ids;
    w.n = n;
    w.cap = cap;
    w.starts = starts;
    w.starts_cap = starts_cap;
    size_t n0 = *n;
    size_t seg_start = 0;
    for (size_t i = 0; i < len && !w.nomem; i++) {
        if (text[i] != '[') continue;
        size_t slen = 0;
        int32_t sid = special_text_id(vocab, text + i, len - i, &slen);
        if (sid < 0) continue;
        process_segment(&w, text + seg_start, i - seg_start);
        w.word_start = WORD_SPECIAL;
        emit(&w, sid);
        i += slen - 1;
        seg_start = i + 1;
    }
    if (!w.nomem && seg_start < len) process_segment(&w, text + seg_start, len - seg_start);
    free(w.seg);
    free(w.low);
    free(w.nfd);
    free(w.pb);
    free(w.pofs);
    free(w.tmp);
    if (w.nomem) {
        *n = n0;
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory while tokenizing");
    }
    return MRPC_OK;
}

mrpc_status mrpc_tokenizer_encode(const mrpc_vocab *vocab, const char *text, int32_t **ids, size_t *n, size_t *cap,
                                  mrpc_error *err) {
    return encode_text(vocab, text, ids, n, cap, NULL, NULL, err);
}

/*
 * The fast tokenizer's first cut of one text of n ids (kinds[i] a WORD_* value) to
 * max_length: it stops after the group that holds the max_length-th id, where a group
 * is one word (a WORD_STARTS id and its continuations), with any special tokens
 * written in the text just before it. (Seen from tokenizers 0.23.2; tests/hf.)
 */
static size_t first_cut(const unsigned char *kinds, size_t n, size_t max_length) {
    if (n <= max_length) return n;
    size_t k = max_length;
    while (k < n && (kinds[k] == WORD_CONTINUES || kinds[k - 1] == WORD_SPECIAL)) k++;
    return k;
}

const char *mrpc_truncation_name(mrpc_truncation t) {
    switch (t) {
    case MRPC_TRUNCATION_LONGEST_FIRST: return "longest_first";
    case MRPC_TRUNCATION_LONGEST_FIRST_SLOW: return "longest_first_slow";
    }
    return "?";
}

int mrpc_truncation_parse(const char *name, mrpc_truncation *out) {
    if (!name) return 0;
    if (strcmp(name, "longest_first") == 0) {
        *out = MRPC_TRUNCATION_LONGEST_FIRST;
        return 1;
    }
    if (strcmp(name, "longest_first_slow") == 0) {
        *out = MRPC_TRUNCATION_LONGEST_FIRST_SLOW;
        return 1;
    }
    return 0;
}

/*
 * The fast tokenizer's pair rule (see tokenizer.h), on lengths after its first cut:
 * the shorter is kept when it leaves room, else the budget is split and the longer
 * one (B on a tie) gets the odd token.
 */
static void truncate_fast(size_t len_a, size_t len_b, size_t budget, size_t *keep_a, size_t *keep_b) {
    int a_longer = len_a > len_b; /* on a tie B counts as the longer one */
    size_t shorter = a_longer ? len_b : len_a, longer = a_longer ? len_a : len_b;
    size_t keep_short, keep_long;
    if (shorter <= budget && shorter <= budget - shorter) {
        keep_short = shorter;
        keep_long = budget - shorter;
    } else {
        keep_short = budget / 2;
        keep_long = budget / 2 + budget % 2;
    }
    if (keep_short > shorter) keep_short = shorter;
    if (keep_long > longer) keep_long = longer;
    *keep_a = a_longer ? keep_long : keep_short;
    *keep_b = a_longer ? keep_short : keep_long;
}

/* The slow tokenizer's rule: even out the lengths first, then A loses floor(r/2) and B ceil(r/2). */
static void truncate_slow(size_t len_a, size_t len_b, size_t budget, size_t *keep_a, size_t *keep_b) {
    size_t r = len_a + len_b - budget;
    if (len_a > len_b) {
        size_t m = len_a - len_b < r ? len_a - len_b : r;
        len_a -= m;
        r -= m;
    } else if (len_b > len_a) {
        size_t m = len_b - len_a < r ? len_b - len_a : r;
        len_b -= m;
        r -= m;
    }
    *keep_a = len_a - r / 2;
    *keep_b = len_b - (r - r / 2);
}

void mrpc_tokenizer_truncate_lengths(mrpc_truncation rule, size_t len_a, size_t len_b, size_t budget, size_t *keep_a,
                                     size_t *keep_b) {
    if (len_a + len_b <= budget) {
        *keep_a = len_a;
        *keep_b = len_b;
    } else if (rule == MRPC_TRUNCATION_LONGEST_FIRST_SLOW) {
        truncate_slow(len_a, len_b, budget, keep_a, keep_b);
    } else {
        truncate_fast(len_a, len_b, budget, keep_a, keep_b);
    }
}

mrpc_status mrpc_tokenizer_encode_pair(const mrpc_vocab *vocab, const char *text_a, const char *text_b,
                                       size_t max_seq_length, mrpc_truncation rule, int32_t *out_ids, size_t *out_n,
                                       size_t *out_truncated, mrpc_error *err) {
    if (out_n) *out_n = 0;
    if (out_truncated) *out_truncated = 0;
    if (!vocab || !text_a || !text_b || !out_ids || !out_n)
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "mrpc_tokenizer_encode_pair: NULL argument");
    if (max_seq_length < 3)
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "max_seq_length",
                              "must be at least 3 ([CLS] and two [SEP]), got %zu", max_seq_length);
    if (rule != MRPC_TRUNCATION_LONGEST_FIRST && rule != MRPC_TRUNCATION_LONGEST_FIRST_SLOW)
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "truncation", "unknown truncation rule %d", (int)rule);
    int32_t *ids = NULL;
    unsigned char *starts = NULL;
    size_t n = 0, cap = 0, starts_cap = 0;
    mrpc_status st = encode_text(vocab, text_a, &ids, &n, &cap, &starts, &starts_cap, err);
    if (st != MRPC_OK) {
        free(ids);
        free(starts);
        if (err) mrpc_error_prefix(err, "sentence 1: ");
        return st;
    }
    size_t len_a = n;
    st = encode_text(vocab, text_b, &ids, &n, &cap, &starts, &starts_cap, err);
    if (st != MRPC_OK) {
        free(ids);
        free(starts);
        if (err) mrpc_error_prefix(err, "sentence 2: ");
        return st;
    }
    size_t len_b = n - len_a;
    size_t cut_a = len_a, cut_b = len_b, keep_a, keep_b;
    if (rule == MRPC_TRUNCATION_LONGEST_FIRST) {
        cut_a = first_cut(starts, len_a, max_seq_length);
        cut_b = first_cut(starts ? starts + len_a : NULL, len_b, max_seq_length);
    }
    free(starts);
    mrpc_tokenizer_truncate_lengths(rule, cut_a, cut_b, max_seq_length - 3, &keep_a, &keep_b);
    size_t o = 0;
    out_ids[o++] = vocab->cls_id;
    if (keep_a) memcpy(out_ids + o, ids, keep_a * sizeof *ids);
    o += keep_a;
    out_ids[o++] = vocab->sep_id;
    if (keep_b) memcpy(out_ids + o, ids + len_a, keep_b * sizeof *ids);
    o += keep_b;
    out_ids[o++] = vocab->sep_id;
    free(ids);
    *out_n = o;
    if (out_truncated) *out_truncated = (len_a - keep_a) + (len_b - keep_b);
    return MRPC_OK;
}

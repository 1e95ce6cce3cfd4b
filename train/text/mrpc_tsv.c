/* mrpc_tsv.c — the MRPC TSV reader (see mrpc_tsv.h). */
#include "mrpc_tsv.h"

#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "mrpc_utf8.h"

#define TSV_MAX_FILE_BYTES ((size_t)1 << 30)
#define TSV_N_FIELDS 5

static const char *const field_names[TSV_N_FIELDS] = {"Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"};

/* Name of field `i` (0-based) for messages; the first column is "index" in unlabeled files. */
static const char *field_name(int i, int labeled) {
    if (i == 0 && !labeled) return "index";
    return (i >= 0 && i < TSV_N_FIELDS) ? field_names[i] : NULL;
}

/*
 * Checks the bytes of one line (without its line ending) for NUL, stray CR and
 * invalid UTF-8. `base` is the offset of the BOM-stripped text in the original
 * file, so byte offsets in messages are file offsets.
 */
static mrpc_status check_line_bytes(const char *name, const char *buf, size_t start, size_t end, long line,
                                    size_t base, int labeled, mrpc_error *err) {
    const unsigned char *p = (const unsigned char *)buf;
    size_t i = start;
    int f = 0; /* field index: tabs seen so far */
    while (i < end) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80) { i++; continue; }
        if (c == '\t') { f++; i++; continue; }
        long col = (long)(i - start + 1);
        if (c == 0) {
            return mrpc_error_set(err, MRPC_ERR_PARSE, name, line, col, field_name(f, labeled),
                                  "NUL byte in the text (byte offset %zu in the file)", base + i);
        }
        if (c == '\r') {
            return mrpc_error_set(err, MRPC_ERR_PARSE, name, line, col, field_name(f, labeled),
                                  "carriage return inside a line (only a \"\\r\\n\" line ending is allowed)");
        }
        if (c < 0x80) { i++; continue; }
        uint32_t cp;
        size_t len = mrpc_utf8_decode(p + i, end - i, &cp);
        if (len == 0) {
            return mrpc_error_set(err, MRPC_ERR_PARSE, name, line, col, field_name(f, labeled),
                                  "invalid UTF-8 (byte 0x%02X at byte offset %zu in the file)", c, base + i);
        }
        i += len;
    }
    return MRPC_OK;
}

/* 1 when buf[pos..size) holds nothing but empty lines ("\n" or "\r\n"). */
static int only_empty_lines(const char *buf, size_t pos, size_t size) {
    while (pos < size) {
        if (buf[pos] == '\n') { pos++; continue; }
        if (buf[pos] == '\r' && pos + 1 < size && buf[pos + 1] == '\n') { pos += 2; continue; }
        return 0;
    }
    return 1;
}

static mrpc_status check_header(const char *name, char **fields, const size_t *starts, int *labeled,
                                mrpc_error *err) {
    if (strcmp(fields[0], "Quality") == 0) {
        *labeled = 1;
    } else if (strcmp(fields[0], "index") == 0) {
        *labeled = 0;
    } else {
        return mrpc_error_set(err, MRPC_ERR_PARSE, name, 1, 1, "header",
                              "expected the header \"Quality\\t#1 ID\\t#2 ID\\t#1 String\\t#2 String\" "
                              "(or \"index\\t...\" for test files), first column is \"%.40s\"",
                              fields[0]);
    }
    for (int i = 1; i < TSV_N_FIELDS; i++) {
        if (strcmp(fields[i], field_names[i]) != 0) {
            return mrpc_error_set(err, MRPC_ERR_PARSE, name, 1, (long)starts[i] + 1, "header",
                                  "expected column %d of the header to be \"%s\", got \"%.40s\"", i + 1,
                                  field_names[i], fields[i]);
        }
    }
    return MRPC_OK;
}

static mrpc_status parse_label(const char *name, const char *s, long line, int labeled, int32_t *out,
                               mrpc_error *err) {
    if (labeled) {
        if (s[0] == '0' && s[1] == '\0') { *out = 0; return MRPC_OK; }
        if (s[0] == '1' && s[1] == '\0') { *out = 1; return MRPC_OK; }
        return mrpc_error_set(err, MRPC_ERR_PARSE, name, line, 1, "Quality", "expected a label 0 or 1, got \"%.40s\"",
                              s);
    }
    size_t n = strlen(s);
    int ok = n > 0 && n <= 18;
    for (size_t i = 0; ok && i < n; i++)
        if (s[i] < '0' || s[i] > '9') ok = 0;
    if (!ok) {
        return mrpc_error_set(err, MRPC_ERR_PARSE, name, line, 1, "index",
                              "expected a non-negative integer index, got \"%.40s\"", s);
    }
    *out = -1;
    return MRPC_OK;
}

/*
 * Parses `buf` (size bytes plus a writable byte at buf[size]) in place and takes
 * ownership of it: on success it becomes out->storage_, on failure it is freed.
 */
static mrpc_status parse_owned(const char *name, char *buf, size_t size, mrpc_pairs *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    if (!name) name = "<memory>";
    buf[size] = '\0';
    size_t base = 0;
    if (size >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB && (unsigned char)buf[2] == 0xBF)
        base = 3;
    char *text = buf + base;
    size_t n = size - base;

    mrpc_status st = MRPC_OK;
    mrpc_pair *items = NULL;
    size_t n_items = 0, cap = 0;
    int labeled = 1, have_header = 0;
    long line = 1;
    size_t pos = 0;

    while (pos < n) {
        const char *nl = memchr(text + pos, '\n', n - pos);
        size_t eol = nl ? (size_t)(nl - text) : n;
        size_t end = eol;
        if (end > pos && text[end - 1] == '\r') end--;
        st = check_line_bytes(name, text, pos, end, line, base, labeled, err);
        if (st != MRPC_OK) goto fail;
        if (end == pos) {
            if (line == 1) {
                st = mrpc_error_set(err, MRPC_ERR_PARSE, name, 1, 1, "header", "the first line is empty; expected the header");
                goto fail;
            }
            if (only_empty_lines(text, pos, n)) break;
            st = mrpc_error_set(err, MRPC_ERR_PARSE, name, line, 1, NULL,
                                "empty line (expected %d tab-separated fields)", TSV_N_FIELDS);
            goto fail;
        }
        /* Split into fields in place. */
        char *fields[TSV_N_FIELDS];
        size_t starts[TSV_N_FIELDS];
        int nf = 0;
        size_t fstart = pos;
        for (size_t i = pos; i <= end; i++) {
            if (i < end && text[i] != '\t') continue;
            if (nf == TSV_N_FIELDS) {
                /* A sixth field: report at the tab that starts it. */
                int total = TSV_N_FIELDS + 1;
                for (size_t k = i; k < end; k++)
                    if (text[k] == '\t') total++;
                st = mrpc_error_set(err, MRPC_ERR_PARSE, name, line, (long)(fstart - pos), line == 1 ? "header" : NULL,
                                    "expected %d tab-separated fields, found %d", TSV_N_FIELDS, total);
                goto fail;
            }
            fields[nf] = text + fstart;
            starts[nf] = fstart - pos;
            nf++;
            fstart = i + 1;
        }
        if (nf < TSV_N_FIELDS) {
            st = mrpc_error_set(err, MRPC_ERR_PARSE, name, line, (long)(end - pos + 1),
                                line == 1 ? "header" : field_name(nf, labeled),
                                "expected %d tab-separated fields, found %d", TSV_N_FIELDS, nf);
            goto fail;
        }
        /* Terminate the fields: every tab and the line ending become NUL. */
        for (size_t i = pos; i < end; i++)
            if (text[i] == '\t') text[i] = '\0';
        text[end] = '\0';

        if (!have_header) {
            st = check_header(name, fields, starts, &labeled, err);
            if (st != MRPC_OK) goto fail;
            have_header = 1;
        } else {
            if (n_items == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                mrpc_pair *ni = realloc(items, ncap * sizeof *ni);
                if (!ni) {
                    st = mrpc_error_set(err, MRPC_ERR_NOMEM, name, line, 0, NULL, "out of memory");
                    goto fail;
                }
                items = ni;
                cap = ncap;
            }
            mrpc_pair *p = &items[n_items];
            st = parse_label(name, fields[0], line, labeled, &p->label, err);
            if (st != MRPC_OK) goto fail;
            p->id1 = fields[1];
            p->id2 = fields[2];
            p->sentence1 = fields[3];
            p->sentence2 = fields[4];
            p->line = line;
            n_items++;
        }
        if (eol >= n) break;
        pos = eol + 1;
        line++;
    }
    if (!have_header) {
        st = mrpc_error_set(err, MRPC_ERR_PARSE, name, 1, 1, "header", "the file is empty; expected the header");
        goto fail;
    }
    out->n = n_items;
    out->items = items;
    out->labeled = labeled;
    out->storage_ = buf;
    return MRPC_OK;

fail:
    free(items);
    free(buf);
    memset(out, 0, sizeof *out);
    return st;
}

mrpc_status mrpc_tsv_parse(const char *name, const char *text, size_t size, mrpc_pairs *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    if (!text && size > 0) return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, NULL, "no text");
    if (size >= TSV_MAX_FILE_BYTES)
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, NULL, "text is larger than 1 GiB");
    char *buf = malloc(size + 1);
    if (!buf) return mrpc_error_set(err, MRPC_ERR_NOMEM, name, 0, 0, NULL, "out of memory");
    if (size) memcpy(buf, text, size);
    return parse_owned(name, buf, size, out, err);
}

mrpc_status mrpc_tsv_read(const char *path, mrpc_pairs *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t size = 0;
    mrpc_status st = mrpc_file_read_all(path, TSV_MAX_FILE_BYTES, &buf, &size, err);
    if (st != MRPC_OK) return st;
    return parse_owned(path, buf, size, out, err);
}

void mrpc_pairs_free(mrpc_pairs *pairs) {
    if (!pairs) return;
    free(pairs->items);
    free(pairs->storage_);
    memset(pairs, 0, sizeof *pairs);
}

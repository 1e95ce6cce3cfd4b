/*
 * mrpc_tsv.h — reader for the GLUE MRPC TSV files (train.tsv, dev.tsv, test.tsv).
 *
 * Format: an optional UTF-8 BOM, one header line, then one pair per line with exactly
 * five tab-separated fields: Quality (label 0/1), #1 ID, #2 ID, #1 String, #2 String.
 * The header is "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String" for labeled files;
 * test.tsv carries an index instead of a label in the first column (header
 * "index\t#1 ID\t#2 ID\t#1 String\t#2 String", index a non-negative integer); its
 * labels read as -1. Lines end in "\n" (a "\r\n" ending is accepted; a carriage
 * return anywhere else is an error). Empty lines at the very end of the file are
 * fine; any other deviation is an error naming the file, the 1-based line, the
 * 1-based byte column (counted after a BOM) and the field:
 *
 *     dev.tsv:7:2: Quality: expected a label 0 or 1, got "2"
 *     dev.tsv:9:41: #1 String: invalid UTF-8 (byte offset 1234 in the file)
 *
 * Invalid UTF-8, NUL bytes, a wrong field count, a bad label or a bad header give
 * MRPC_ERR_PARSE; an unreadable file gives MRPC_ERR_IO. No input makes the reader
 * crash or read out of bounds (tests/fuzz/fuzz_tsv.c).
 *
 * Example:
 *
 *     mrpc_pairs pairs = {0}; mrpc_error err = {0};
 *     if (mrpc_tsv_read("dev.tsv", &pairs, &err) != MRPC_OK) { mrpc_error_print(stderr, "x", &err); ... }
 *     for (size_t i = 0; i < pairs.n; i++) use(pairs.items[i].sentence1, pairs.items[i].label);
 *     mrpc_pairs_free(&pairs);
 */
#ifndef MRPC_TEXT_MRPC_TSV_H
#define MRPC_TEXT_MRPC_TSV_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct mrpc_pair {
    int32_t label;    /* 0 or 1; -1 for unlabeled (test) files */
    char   *id1;      /* "#1 ID" */
    char   *id2;      /* "#2 ID" */
    char   *sentence1;/* UTF-8, no NUL, tab, CR or LF inside */
    char   *sentence2;
    long    line;     /* 1-based line of this pair in the file (the header is line 1) */
} mrpc_pair;

typedef struct mrpc_pairs {
    size_t     n;
    mrpc_pair *items;    /* [n], in file order */
    int        labeled;  /* 1 for a "Quality" header, 0 for an "index" header */
    char      *storage_; /* owns all strings */
} mrpc_pairs;

/*
 * Reads the file at `path` (at most 1 GiB). On success *out owns its strings (free
 * with mrpc_pairs_free). On failure *out is empty ({0}) and err says where.
 */
mrpc_status mrpc_tsv_read(const char *path, mrpc_pairs *out, mrpc_error *err);

/*
 * Parses TSV text already in memory: `size` bytes at `text` (need not be
 * NUL-terminated, may contain any bytes). `name` (may be NULL) is used as the file
 * name in error messages. The text is copied; *out does not point into it.
 */
mrpc_status mrpc_tsv_parse(const char *name, const char *text, size_t size, mrpc_pairs *out, mrpc_error *err);

/* Frees everything and leaves *pairs empty; NULL is fine. */
void mrpc_pairs_free(mrpc_pairs *pairs);

#endif /* MRPC_TEXT_MRPC_TSV_H */

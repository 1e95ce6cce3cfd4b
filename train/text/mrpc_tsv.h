/*
 * mrpc_tsv.h — reader for the GLUE MRPC TSV files (train.tsv, dev.tsv, test.tsv).
 *
 * Format: an optional UTF-8 BOM, one header line, then one pair per line with exactly
 * five tab-separated fields: Quality (label 0/1), #1 ID, #2 ID, #1 String, #2 String.
 * test.tsv carries an index instead of a label in the first column (header starts
 * with "index"); its labels read as -1. Lines end in "\n" (a "\r\n" ending is
 * accepted). An empty last line is fine; any other deviation is an error naming the
 * file, the 1-based line and the column.
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
    char   *sentence1;/* UTF-8 */
    char   *sentence2;
} mrpc_pair;

typedef struct mrpc_pairs {
    size_t     n;
    mrpc_pair *items;
    char      *storage_; /* owns all strings */
} mrpc_pairs;

/* Reads the file at `path`. On failure `out` is empty. */
mrpc_status mrpc_tsv_read(const char *path, mrpc_pairs *out, mrpc_error *err);

/* Parses TSV text already in memory (`name` is used in error messages). */
mrpc_status mrpc_tsv_parse(const char *name, const char *text, size_t size, mrpc_pairs *out, mrpc_error *err);

/* Frees everything; NULL is fine. */
void mrpc_pairs_free(mrpc_pairs *pairs);

#endif /* MRPC_TEXT_MRPC_TSV_H */

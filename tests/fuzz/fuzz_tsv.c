/*
 * fuzz_tsv.c — libFuzzer target for the MRPC TSV reader: any bytes go to
 * mrpc_tsv_parse, which must either fail with a parse error that has a line, or
 * return pairs whose fields are clean (valid UTF-8, no tab, CR, LF) and whose labels
 * fit the header. Built from train/text sources so that they carry coverage.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mrpc_tsv.h"
#include "mrpc_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *s) {
    size_t n = strlen(s);
    if (!mrpc_utf8_validate(s, n, NULL)) abort();
    if (strpbrk(s, "\t\r\n")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mrpc_pairs pairs;
    mrpc_error err = {0};
    mrpc_status st = mrpc_tsv_parse("fuzz.tsv", (const char *)data, size, &pairs, &err);
    if (st != MRPC_OK) {
        if (st != MRPC_ERR_PARSE || err.line < 1 || pairs.n != 0 || pairs.items || pairs.storage_) abort();
        return 0;
    }
    for (size_t i = 0; i < pairs.n; i++) {
        const mrpc_pair *p = &pairs.items[i];
        if (pairs.labeled ? (p->label != 0 && p->label != 1) : p->label != -1) abort();
        if (p->line < 2 || (i > 0 && p->line <= pairs.items[i - 1].line)) abort();
        check_field(p->id1);
        check_field(p->id2);
        check_field(p->sentence1);
        check_field(p->sentence2);
    }
    mrpc_pairs_free(&pairs);
    return 0;
}

/* test_tsv.c — the MRPC TSV reader: valid files, BOM, line endings, and every error path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "mrpc_tsv.h"
#include "testutil.h"

#define HDR "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"
#define TEST_HDR "index\t#1 ID\t#2 ID\t#1 String\t#2 String"
#define BOM "\xef\xbb\xbf"

static mrpc_status parse(const char *text, size_t size, mrpc_pairs *out, mrpc_error *err) {
    return mrpc_tsv_parse("x.tsv", text, size, out, err);
}

/* Parses a NUL-terminated text. */
static mrpc_status parse_str(const char *text, mrpc_pairs *out, mrpc_error *err) {
    return parse(text, strlen(text), out, err);
}

static void test_valid(void) {
    mrpc_pairs p = {0};
    mrpc_error err = {0};
    const char *text = HDR "\n1\t11\t12\tFirst one.\tSecond one.\n0\t21\t22\t\xc3\xa9t\xc3\xa9\t\n";
    if (CHECK_OK(parse_str(text, &p, &err), &err)) {
        CHECK(p.n == 2 && p.labeled == 1, "2 labeled pairs, got %zu", p.n);
        CHECK(p.items[0].label == 1 && strcmp(p.items[0].id1, "11") == 0 && strcmp(p.items[0].id2, "12") == 0, "row 1");
        CHECK(strcmp(p.items[0].sentence1, "First one.") == 0 && strcmp(p.items[0].sentence2, "Second one.") == 0,
              "row 1 strings");
        CHECK(p.items[1].label == 0 && strcmp(p.items[1].sentence1, "\xc3\xa9t\xc3\xa9") == 0 &&
                  p.items[1].sentence2[0] == '\0',
              "row 2: UTF-8 kept, empty sentence allowed");
        CHECK(p.items[0].line == 2 && p.items[1].line == 3, "line numbers");
    }
    mrpc_pairs_free(&p);
    mrpc_pairs_free(&p); /* twice is fine */
    mrpc_pairs_free(NULL);

    /* BOM, CRLF, no final newline, trailing empty lines: all give the same pairs. */
    const char *variants[] = {
        HDR "\n1\ta\tb\tc\td\n",
        BOM HDR "\n1\ta\tb\tc\td\n",
        HDR "\r\n1\ta\tb\tc\td\r\n",
        BOM HDR "\r\n1\ta\tb\tc\td",
        HDR "\n1\ta\tb\tc\td\n\n\n",
        HDR "\n1\ta\tb\tc\td\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        mrpc_pairs q = {0};
        if (CHECK_OK(parse_str(variants[i], &q, &err), &err)) {
            CHECK(q.n == 1 && q.items[0].label == 1 && strcmp(q.items[0].id1, "a") == 0 &&
                      strcmp(q.items[0].sentence2, "d") == 0,
                  "variant %zu: n=%zu", i, q.n);
        }
        mrpc_pairs_free(&q);
    }

    /* Header only: zero pairs. Control characters other than CR are text (MRPC has U+0012). */
    CHECK_OK(parse_str(HDR "\n", &p, &err), &err);
    CHECK(p.n == 0, "header only");
    mrpc_pairs_free(&p);
    CHECK_OK(parse_str(HDR "\n0\t1\t2\tx\x12y\tz\x0bw\n", &p, &err), &err);
    CHECK(p.n == 1 && strcmp(p.items[0].sentence1, "x\x12y") == 0, "control chars kept");
    mrpc_pairs_free(&p);

    /* Test-file header: labels read as -1. */
    CHECK_OK(parse_str(TEST_HDR "\n0\t1\t2\ta\tb\n17\t3\t4\tc\td\n", &p, &err), &err);
    CHECK(p.n == 2 && p.labeled == 0 && p.items[0].label == -1 && p.items[1].label == -1, "unlabeled");
    mrpc_pairs_free(&p);

    /* The text need not be NUL-terminated: only `size` bytes are read. */
    char buf[64];
    memcpy(buf, HDR "\n1\ta\tb\tc\tdXYZ", sizeof HDR + 12);
    CHECK_OK(parse(buf, sizeof HDR - 1 + 10, &p, &err), &err);
    CHECK(p.n == 1 && strcmp(p.items[0].sentence2, "d") == 0, "sized text: '%s'", p.n ? p.items[0].sentence2 : "");
    mrpc_pairs_free(&p);
}

typedef struct bad_case {
    const char *text;
    size_t size;         /* 0 = strlen */
    mrpc_status status;
    long line, column;   /* column 0 = do not check */
    const char *field;   /* NULL = do not check */
    const char *message; /* substring of the message, NULL = do not check */
} bad_case;

static void test_errors(void) {
    static const char nul_text[] = HDR "\n1\t1\t2\tab\0c\td\n";
    const bad_case cases[] = {
        {"", 0, MRPC_ERR_PARSE, 1, 1, "header", "empty"},
        {BOM, 0, MRPC_ERR_PARSE, 1, 1, "header", "empty"},
        {"\n" HDR "\n", 0, MRPC_ERR_PARSE, 1, 1, "header", "first line is empty"},
        {"Quality\t#1 ID\t#2 ID\t#1 String\n", 0, MRPC_ERR_PARSE, 1, 0, "header", "expected 5 tab-separated fields, found 4"},
        {"Qualty\t#1 ID\t#2 ID\t#1 String\t#2 String\n", 0, MRPC_ERR_PARSE, 1, 1, "header", "Qualty"},
        {"Quality\t#1 ID\t#2 Id\t#1 String\t#2 String\n", 0, MRPC_ERR_PARSE, 1, 15, "header", "#2 Id"},
        {HDR "\n1\ta\tb\tc\n", 0, MRPC_ERR_PARSE, 2, 8, "#2 String", "found 4"},
        {HDR "\n1\ta\tb\tc\td\te\n", 0, MRPC_ERR_PARSE, 2, 10, NULL, "found 6"},
        {HDR "\n1\ta\tb\tc\td\n1\ta\tb\n", 0, MRPC_ERR_PARSE, 3, 0, "#1 String", "found 3"},
        {HDR "\n1\ta\tb\tc\td\n\n1\ta\tb\tc\td\n", 0, MRPC_ERR_PARSE, 3, 1, NULL, "empty line"},
        {HDR "\n2\ta\tb\tc\td\n", 0, MRPC_ERR_PARSE, 2, 1, "Quality", "\"2\""},
        {HDR "\n1\ta\tb\tc\td\n\ta\tb\tc\td\n", 0, MRPC_ERR_PARSE, 3, 1, "Quality", "label 0 or 1"},
        {HDR "\n01\ta\tb\tc\td\n", 0, MRPC_ERR_PARSE, 2, 1, "Quality", NULL},
        {HDR "\n 1\ta\tb\tc\td\n", 0, MRPC_ERR_PARSE, 2, 1, "Quality", NULL},
        {TEST_HDR "\n-1\ta\tb\tc\td\n", 0, MRPC_ERR_PARSE, 2, 1, "index", "non-negative integer"},
        {TEST_HDR "\nx\ta\tb\tc\td\n", 0, MRPC_ERR_PARSE, 2, 1, "index", NULL},
        {nul_text, sizeof nul_text - 1, MRPC_ERR_PARSE, 2, 9, "#1 String", "NUL byte"},
        {HDR "\n1\ta\tb\tc\xff\td\n", 0, MRPC_ERR_PARSE, 2, 8, "#1 String", "byte offset 47"},
        {BOM HDR "\n1\ta\tb\tc\xff\td\n", 0, MRPC_ERR_PARSE, 2, 8, "#1 String", "byte offset 50"},
        {HDR "\n1\ta\tb\tc\td\xed\xa0\x80\n", 0, MRPC_ERR_PARSE, 2, 10, "#2 String", "invalid UTF-8"},
        {HDR "\n1\ta\tb\tc\td\xe2\x82", 0, MRPC_ERR_PARSE, 2, 10, "#2 String", "invalid UTF-8"},
        {"Quality\xc0\xaf\t#1 ID\n", 0, MRPC_ERR_PARSE, 1, 8, "Quality", "invalid UTF-8"},
        {HDR "\n1\ta\tb\tc\rx\td\n", 0, MRPC_ERR_PARSE, 2, 8, "#1 String", "carriage return"},
        {HDR "\n" BOM "1\ta\tb\tc\td\n", 0, MRPC_ERR_PARSE, 2, 1, "Quality", NULL}, /* BOM only at the start */
        {HDR "\r\r\n", 0, MRPC_ERR_PARSE, 1, 40, NULL, "carriage return"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        mrpc_pairs p = {0};
        mrpc_error err = {0};
        size_t size = c->size ? c->size : strlen(c->text);
        mrpc_status st = parse(c->text, size, &p, &err);
        char msg[2048];
        mrpc_error_format(&err, msg, sizeof msg);
        CHECK(st == c->status, "case %zu: status %d, want %d (%s)", i, st, c->status, msg);
        CHECK(p.n == 0 && p.items == NULL && p.storage_ == NULL, "case %zu: output left empty", i);
        CHECK(strcmp(err.file, "x.tsv") == 0, "case %zu: file '%s'", i, err.file);
        CHECK(err.line == c->line, "case %zu: line %ld, want %ld (%s)", i, err.line, c->line, msg);
        if (c->column) CHECK(err.column == c->column, "case %zu: column %ld, want %ld (%s)", i, err.column, c->column, msg);
        if (c->field) CHECK(strcmp(err.field, c->field) == 0, "case %zu: field '%s', want '%s'", i, err.field, c->field);
        if (c->message) CHECK(strstr(err.message, c->message) != NULL, "case %zu: message '%s' lacks '%s'", i,
                              err.message, c->message);
        mrpc_pairs_free(&p);
    }
    /* The formatted record reads like a compiler message. */
    mrpc_pairs p = {0};
    mrpc_error err = {0};
    parse_str(HDR "\n1\ta\tb\tc\td\n7\ta\tb\tc\td\n", &p, &err);
    char buf[1024];
    mrpc_error_format(&err, buf, sizeof buf);
    CHECK(strcmp(buf, "x.tsv:3:1: Quality: expected a label 0 or 1, got \"7\"") == 0, "formatted: %s", buf);
    CHECK(mrpc_tsv_parse(NULL, "", 0, &p, &err) == MRPC_ERR_PARSE && strcmp(err.file, "<memory>") == 0, "no name");
    CHECK(mrpc_tsv_parse("n", NULL, 5, &p, &err) == MRPC_ERR_INVALID, "NULL text");
}

static void test_files(void) {
    mrpc_pairs p = {0};
    mrpc_error err = {0};
    CHECK(mrpc_tsv_read("/nonexistent/dir/train.tsv", &p, &err) == MRPC_ERR_IO, "missing file");
    CHECK(strcmp(err.file, "/nonexistent/dir/train.tsv") == 0, "names the file");

    static const struct { const char *rel; size_t n, pos, neg; int labeled; } splits[] = {
        {"mrpc/train.tsv", 3668, 2474, 1194, 1},
        {"mrpc/dev.tsv", 408, 279, 129, 1},
        {"mrpc/test.tsv", 1725, 0, 0, 0},
    };
    for (size_t s = 0; s < 3; s++) {
        char path[1024];
        snprintf(path, sizeof path, "%s", mrpc_test_data_path(splits[s].rel));
        if (!CHECK_OK(mrpc_tsv_read(path, &p, &err), &err)) continue;
        size_t pos = 0, neg = 0, unl = 0;
        for (size_t i = 0; i < p.n; i++) {
            if (p.items[i].label == 1) pos++;
            else if (p.items[i].label == 0) neg++;
            else if (p.items[i].label == -1) unl++;
        }
        CHECK(p.n == splits[s].n, "%s: %zu pairs", splits[s].rel, p.n);
        CHECK(p.labeled == splits[s].labeled, "%s: labeled", splits[s].rel);
        if (splits[s].labeled) {
            CHECK(pos == splits[s].pos && neg == splits[s].neg, "%s: %zu pos / %zu neg", splits[s].rel, pos, neg);
        } else {
            CHECK(unl == p.n, "%s: all unlabeled", splits[s].rel);
        }
        CHECK(p.n > 0 && p.items[p.n - 1].line == (long)p.n + 1, "%s: last line number", splits[s].rel);
        if (s == 0) {
            CHECK(strcmp(p.items[0].id1, "702876") == 0 && strcmp(p.items[0].id2, "702977") == 0 &&
                      strncmp(p.items[0].sentence1, "Amrozi accused", 14) == 0,
                  "train row 1 (BOM stripped)");
        }
        mrpc_pairs_free(&p);
    }
}

int main(void) {
    test_valid();
    test_errors();
    test_files();
    return mrpc_test_report();
}

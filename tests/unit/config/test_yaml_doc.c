/* test_yaml_doc.c — YAML loading, positions, typed accessors and their errors. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "yaml_doc.h"

static mrpc_status load(const char *text, mrpc_yaml_doc **doc, mrpc_error *err) {
    return mrpc_yaml_load_string("t.yaml", text, strlen(text), doc, err);
}

int main(void) {
    mrpc_error err = {0};
    mrpc_yaml_doc *doc = NULL;
    const char *text = "a: 1\nb:\n  c: [1, 2, 3]\n  d: \"1\"\ne: ~\nf: yes\ng: hello\n";
    CHECK_OK(load(text, &doc, &err), &err);
    const yaml_node_t *root = mrpc_yaml_root(doc);
    CHECK(root && root->type == YAML_MAPPING_NODE, "root is a mapping");
    CHECK(mrpc_yaml_len(root) == 5, "five pairs");
    int64_t i = 0;
    double d = 0;
    int b = 0;
    char s[8];
    CHECK_OK(mrpc_yaml_get_i64(doc, mrpc_yaml_map_get(doc, root, "a"), "a", &i, &err), &err);
    CHECK(i == 1, "a = 1");
    const yaml_node_t *bnode = mrpc_yaml_map_get(doc, root, "b");
    const yaml_node_t *c = mrpc_yaml_map_get(doc, bnode, "c");
    CHECK(mrpc_yaml_len(c) == 3, "list of three");
    CHECK_OK(mrpc_yaml_get_f64(doc, mrpc_yaml_seq_at(doc, c, 2), "c", &d, &err), &err);
    CHECK(d == 3.0, "c[2] = 3");
    CHECK(mrpc_yaml_seq_at(doc, c, 3) == NULL, "out of range item");
    const yaml_node_t *dq = mrpc_yaml_map_get(doc, bnode, "d");
    CHECK(mrpc_yaml_is_quoted(dq), "quoted scalar");
    CHECK(mrpc_yaml_get_i64(doc, dq, "d", &i, &err) == MRPC_ERR_INVALID, "quoted number is a string");
    CHECK(err.line == 4 && err.column == 6, "error at 4:6, got %ld:%ld", err.line, err.column);
    CHECK(strcmp(err.field, "d") == 0 && strcmp(err.file, "t.yaml") == 0, "names file and field");
    CHECK(mrpc_yaml_is_null(mrpc_yaml_map_get(doc, root, "e")), "~ is null");
    CHECK_OK(mrpc_yaml_get_bool(doc, mrpc_yaml_map_get(doc, root, "f"), "f", &b, &err), &err);
    CHECK(b == 1, "yes is true");
    CHECK(mrpc_yaml_get_str(doc, mrpc_yaml_map_get(doc, root, "g"), "g", s, 4, &err) == MRPC_ERR_INVALID,
          "too long for the buffer");
    CHECK(mrpc_yaml_get_f64(doc, c, "c", &d, &err) == MRPC_ERR_INVALID && strstr(err.message, "list"),
          "a list is not a number: %s", err.message);
    CHECK(mrpc_yaml_map_get(doc, root, "zz") == NULL, "absent key");
    mrpc_yaml_free(doc);

    CHECK(load("a: 1\na: 2\n", &doc, &err) == MRPC_ERR_INVALID, "duplicate key refused");
    CHECK(err.line == 2 && strstr(err.message, "line 1"), "duplicate at line 2 names line 1: %ld %s", err.line,
          err.message);
    CHECK(load("b: 1\na: 1\nc: 0\na: 2\nb: 2\n", &doc, &err) == MRPC_ERR_INVALID && err.line == 4 &&
              strcmp(err.field, "a") == 0 && strstr(err.message, "line 2"),
          "the earliest repeat is reported (line 4, a, first at line 2): %ld %s %s", err.line, err.field, err.message);
    {
        /* 300,000 keys: checked in well under a second (the pairwise check took hours at
         * the 16 MB limit); then the same mapping with one repeated key at its end. */
        const size_t n_keys = 300000;
        char *big = malloc(n_keys * 16 + 32);
        size_t len = 0;
        for (size_t k = 0; big && k < n_keys; k++) len += (size_t)sprintf(big + len, "k%zu: %zu\n", k, k % 7);
        CHECK(big != NULL, "allocated the large document");
        if (big) {
            CHECK_OK(mrpc_yaml_load_string("big.yaml", big, len, &doc, &err), &err);
            mrpc_yaml_free(doc);
            doc = NULL;
            len += (size_t)sprintf(big + len, "k12345: 0\n");
            CHECK(mrpc_yaml_load_string("big.yaml", big, len, &doc, &err) == MRPC_ERR_INVALID &&
                      err.line == (long)n_keys + 1 && strcmp(err.field, "k12345") == 0 && strstr(err.message, "line 12346"),
                  "a repeat among 300,000 keys is found: %ld %s", err.line, err.message);
            free(big);
        }
    }
    CHECK(load("a: [1, 2\nb: 3\n", &doc, &err) == MRPC_ERR_PARSE, "unterminated flow sequence");
    CHECK(err.line >= 1 && strcmp(err.file, "t.yaml") == 0, "parse error has a location");
    CHECK(load("a: 1\n---\nb: 2\n", &doc, &err) == MRPC_ERR_PARSE, "two documents refused");
    CHECK(mrpc_yaml_load_string("t.yaml", "a: \"x\0y\"", 9, &doc, &err) == MRPC_ERR_PARSE, "embedded NUL refused");
    CHECK(load("\t- a\n", &doc, &err) == MRPC_ERR_PARSE, "tab indentation refused");
    CHECK_OK(load("", &doc, &err), &err);
    CHECK(mrpc_yaml_root(doc) == NULL, "empty file has no root");
    mrpc_yaml_free(doc);
    CHECK(mrpc_yaml_load_file("/nonexistent/x.yaml", &doc, &err) == MRPC_ERR_IO, "missing file");
    return mrpc_test_report();
}

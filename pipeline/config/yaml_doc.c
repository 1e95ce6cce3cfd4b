/* yaml_doc.c — libyaml documents with positions and typed accessors (see yaml_doc.h). */
#include "yaml_doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "strutil.h"

/* YAML input larger than this is refused: configs are small, and this bounds memory. */
#define MRPC_YAML_MAX_BYTES (16u << 20)

struct mrpc_yaml_doc {
    yaml_document_t document;
    int             has_document;
    char            name[1024];
};

static mrpc_status parser_error(const yaml_parser_t *parser, const char *name, mrpc_error *err) {
    const yaml_mark_t *mark = parser->problem ? &parser->problem_mark : &parser->mark;
    const char *problem = parser->problem ? parser->problem : "malformed YAML";
    if (parser->context) {
        return mrpc_error_set(err, MRPC_ERR_PARSE, name, (long)mark->line + 1, (long)mark->column + 1, NULL,
                              "%s %s (line %lu)", problem, parser->context, (unsigned long)parser->context_mark.line + 1);
    }
    return mrpc_error_set(err, MRPC_ERR_PARSE, name, (long)mark->line + 1, (long)mark->column + 1, NULL, "%s", problem);
}

/* A mapping key and its position among the mapping's pairs, for sorting. */
typedef struct key_ref {
    const char *key;
    size_t      index;
} key_ref;

/* By key, then by position: equal keys end up adjacent, in document order. */
static int compare_key_refs(const void *a, const void *b) {
    const key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * libyaml accepts duplicate keys; a config with two "learning_rate:" lines is a mistake.
 * Each mapping's keys are sorted (n log n: a hostile file of a million keys is checked
 * in a second, not hours); the duplicate reported is the earliest second occurrence.
 */
static mrpc_status check_unique_keys(const mrpc_yaml_doc *doc, mrpc_error *err) {
    const yaml_document_t *d = &doc->document;
    key_ref *refs = NULL;
    size_t cap = 0;
    mrpc_status s = MRPC_OK;
    for (const yaml_node_t *node = d->nodes.start; node < d->nodes.top && s == MRPC_OK; node++) {
        if (node->type != YAML_MAPPING_NODE) continue;
        const yaml_node_pair_t *start = node->data.mapping.pairs.start;
        size_t n = (size_t)(node->data.mapping.pairs.top - start);
        if (n > cap) {
            key_ref *r = realloc(refs, n * sizeof *r);
            if (!r) {
                s = mrpc_error_set(err, MRPC_ERR_NOMEM, doc->name, 0, 0, NULL, "out of memory");
                break;
            }
            refs = r;
            cap = n;
        }
        for (size_t i = 0; i < n && s == MRPC_OK; i++) {
            const yaml_node_t *key = mrpc_yaml_node(doc, start[i].key);
            if (!key || key->type != YAML_SCALAR_NODE) {
                s = mrpc_yaml_error_at(doc, key ? key : node, err, MRPC_ERR_PARSE, NULL,
                                       "mapping keys must be plain strings");
                break;
            }
            refs[i] = (key_ref){(const char *)key->data.scalar.value, i};
        }
        if (s != MRPC_OK || n < 2) continue;
        qsort(refs, n, sizeof *refs, compare_key_refs);
        size_t dup = n, first = n; /* earliest second occurrence, and its group's first */
        for (size_t i = 1, group = 0; i < n; i++) {
            if (strcmp(refs[i].key, refs[i - 1].key) != 0) {
                group = i;
            } else if (i == group + 1 && refs[i].index < dup) { /* a group's second is its earliest repeat */
                dup = refs[i].index;
                first = refs[group].index;
            }
        }
        if (dup < n) {
            const yaml_node_t *key = mrpc_yaml_node(doc, start[dup].key);
            const yaml_node_t *other = mrpc_yaml_node(doc, start[first].key);
            s = mrpc_yaml_error_at(doc, key, err, MRPC_ERR_INVALID, (const char *)key->data.scalar.value,
                                   "duplicate key (first given at line %lu)", (unsigned long)other->start_mark.line + 1);
        }
    }
    free(refs);
    return s;
}

mrpc_status mrpc_yaml_load_string(const char *name, const char *text, size_t size, mrpc_yaml_doc **out,
                                  mrpc_error *err) {
    *out = NULL;
    if (size > MRPC_YAML_MAX_BYTES) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, NULL, "YAML input larger than %u bytes",
                              MRPC_YAML_MAX_BYTES);
    }
    if (memchr(text, '\0', size)) {
        return mrpc_error_set(err, MRPC_ERR_PARSE, name, 0, 0, NULL, "file contains a NUL byte");
    }
    mrpc_yaml_doc *doc = calloc(1, sizeof *doc);
    if (!doc) return mrpc_error_set(err, MRPC_ERR_NOMEM, name, 0, 0, NULL, "out of memory");
    mrpc_str_copy(doc->name, sizeof doc->name, name);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(doc);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, name, 0, 0, NULL, "cannot initialise the YAML parser");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    if (!yaml_parser_load(&parser, &doc->document)) {
        mrpc_status s = parser_error(&parser, name, err);
        yaml_parser_delete(&parser);
        free(doc);
        return s;
    }
    doc->has_document = 1;
    /* A second document in the same file is almost certainly a mistake: refuse it. */
    yaml_document_t extra;
    if (yaml_parser_load(&parser, &extra)) {
        int has_root = yaml_document_get_root_node(&extra) != NULL;
        yaml_mark_t mark = extra.start_mark;
        yaml_document_delete(&extra);
        if (has_root) {
            yaml_parser_delete(&parser);
            mrpc_yaml_free(doc);
            return mrpc_error_set(err, MRPC_ERR_PARSE, name, (long)mark.line + 1, (long)mark.column + 1, NULL,
                                  "only one YAML document per file is allowed");
        }
    } else {
        mrpc_status s = parser_error(&parser, name, err);
        yaml_parser_delete(&parser);
        mrpc_yaml_free(doc);
        return s;
    }
    yaml_parser_delete(&parser);
    mrpc_status s = check_unique_keys(doc, err);
    if (s != MRPC_OK) {
        mrpc_yaml_free(doc);
        return s;
    }
    *out = doc;
    return MRPC_OK;
}

mrpc_status mrpc_yaml_load_file(const char *path, mrpc_yaml_doc **out, mrpc_error *err) {
    char *text = NULL;
    size_t size = 0;
    *out = NULL;
    mrpc_status s = mrpc_file_read_all(path, MRPC_YAML_MAX_BYTES, &text, &size, err);
    if (s != MRPC_OK) return s;
    s = mrpc_yaml_load_string(path, text, size, out, err);
    free(text);
    return s;
}

void mrpc_yaml_free(mrpc_yaml_doc *doc) {
    if (!doc) return;
    if (doc->has_document) yaml_document_delete(&doc->document);
    free(doc);
}

const char *mrpc_yaml_name(const mrpc_yaml_doc *doc) { return doc->name; }

const yaml_node_t *mrpc_yaml_root(const mrpc_yaml_doc *doc) {
    return yaml_document_get_root_node((yaml_document_t *)&doc->document);
}

const yaml_node_t *mrpc_yaml_node(const mrpc_yaml_doc *doc, int index) {
    return yaml_document_get_node((yaml_document_t *)&doc->document, index);
}

size_t mrpc_yaml_len(const yaml_node_t *node) {
    if (!node) return 0;
    if (node->type == YAML_MAPPING_NODE) return (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    if (node->type == YAML_SEQUENCE_NODE) return (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    return 0;
}

int mrpc_yaml_map_at(const mrpc_yaml_doc *doc, const yaml_node_t *map, size_t i, const char **key,
                     const yaml_node_t **key_node, const yaml_node_t **value) {
    if (!map || map->type != YAML_MAPPING_NODE || i >= mrpc_yaml_len(map)) return 0;
    const yaml_node_pair_t *p = map->data.mapping.pairs.start + i;
    const yaml_node_t *k = mrpc_yaml_node(doc, p->key);
    if (key) *key = (k && k->type == YAML_SCALAR_NODE) ? (const char *)k->data.scalar.value : "";
    if (key_node) *key_node = k;
    if (value) *value = mrpc_yaml_node(doc, p->value);
    return 1;
}

const yaml_node_t *mrpc_yaml_map_get(const mrpc_yaml_doc *doc, const yaml_node_t *map, const char *key) {
    size_t n = mrpc_yaml_len(map);
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *k;
        const yaml_node_t *v;
        if (mrpc_yaml_map_at(doc, map, i, &k, NULL, &v) && strcmp(k, key) == 0) return v;
    }
    return NULL;
}

const yaml_node_t *mrpc_yaml_seq_at(const mrpc_yaml_doc *doc, const yaml_node_t *seq, size_t i) {
    if (!seq || seq->type != YAML_SEQUENCE_NODE || i >= mrpc_yaml_len(seq)) return NULL;
    return mrpc_yaml_node(doc, seq->data.sequence.items.start[i]);
}

const char *mrpc_yaml_scalar(const yaml_node_t *node) {
    if (!node || node->type != YAML_SCALAR_NODE) return NULL;
    return (const char *)node->data.scalar.value;
}

int mrpc_yaml_is_quoted(const yaml_node_t *node) {
    return node && node->type == YAML_SCALAR_NODE && node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
}

int mrpc_yaml_is_null(const yaml_node_t *node) {
    if (!node || node->type != YAML_SCALAR_NODE || mrpc_yaml_is_quoted(node)) return 0;
    const char *s = (const char *)node->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

mrpc_status mrpc_yaml_error_at(const mrpc_yaml_doc *doc, const yaml_node_t *node, mrpc_error *err,
                               mrpc_status status, const char *field, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    long line = node ? (long)node->start_mark.line + 1 : 0;
    long col = node ? (long)node->start_mark.column + 1 : 0;
    mrpc_status s = mrpc_error_setv(err, status, doc ? doc->name : NULL, line, col, field, fmt, ap);
    va_end(ap);
    return s;
}

static const char *node_kind(const yaml_node_t *node) {
    if (!node) return "nothing";
    switch (node->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a scalar";
    }
}

mrpc_status mrpc_yaml_get_f64(const mrpc_yaml_doc *doc, const yaml_node_t *node, const char *field, double *out,
                              mrpc_error *err) {
    const char *s = mrpc_yaml_scalar(node);
    if (!s) return mrpc_yaml_error_at(doc, node, err, MRPC_ERR_INVALID, field, "expected a number, got %s", node_kind(node));
    if (mrpc_yaml_is_quoted(node) || !mrpc_parse_f64(s, out)) {
        return mrpc_yaml_error_at(doc, node, err, MRPC_ERR_INVALID, field, "expected a number, got \"%s\"", s);
    }
    return MRPC_OK;
}

mrpc_status mrpc_yaml_get_i64(const mrpc_yaml_doc *doc, const yaml_node_t *node, const char *field, int64_t *out,
                              mrpc_error *err) {
    const char *s = mrpc_yaml_scalar(node);
    if (!s) return mrpc_yaml_error_at(doc, node, err, MRPC_ERR_INVALID, field, "expected an integer, got %s", node_kind(node));
    if (mrpc_yaml_is_quoted(node) || !mrpc_parse_i64(s, out)) {
        /* Accept integral floats written as 1e3 or 128.0: common in sweep files. */
        double d;
        if (!mrpc_yaml_is_quoted(node) && mrpc_parse_f64(s, &d) && d == (double)(int64_t)d && d > -9.0e15 && d < 9.0e15) {
            *out = (int64_t)d;
            return MRPC_OK;
        }
        return mrpc_yaml_error_at(doc, node, err, MRPC_ERR_INVALID, field, "expected an integer, got \"%s\"", s);
    }
    return MRPC_OK;
}

mrpc_status mrpc_yaml_get_bool(const mrpc_yaml_doc *doc, const yaml_node_t *node, const char *field, int *out,
                               mrpc_error *err) {
    const char *s = mrpc_yaml_scalar(node);
    if (!s || mrpc_yaml_is_quoted(node) || !mrpc_parse_bool(s, out)) {
        return mrpc_yaml_error_at(doc, node, err, MRPC_ERR_INVALID, field, "expected true or false, got %s%s%s",
                                  s ? "\"" : "", s ? s : node_kind(node), s ? "\"" : "");
    }
    return MRPC_OK;
}

mrpc_status mrpc_yaml_get_str(const mrpc_yaml_doc *doc, const yaml_node_t *node, const char *field, char *out,
                              size_t out_size, mrpc_error *err) {
    const char *s = mrpc_yaml_scalar(node);
    if (!s) return mrpc_yaml_error_at(doc, node, err, MRPC_ERR_INVALID, field, "expected a string, got %s", node_kind(node));
    if (!mrpc_str_copy(out, out_size, s)) {
        return mrpc_yaml_error_at(doc, node, err, MRPC_ERR_INVALID, field, "value longer than %zu characters",
                                  out_size - 1);
    }
    return MRPC_OK;
}

/*
 * yaml_doc.h — a YAML file loaded with libyaml into a node tree that remembers where
 * every node came from, plus typed accessors that turn a bad value into an error
 * record with file:line:column and the key's name.
 *
 * Only the first document of a file is read; aliases are resolved by libyaml. Mapping
 * keys must be scalars and unique (libyaml does not check that; we do at load).
 *
 * Example:
 *
 *     mrpc_yaml_doc *doc; mrpc_error err = {0};
 *     if (mrpc_yaml_load_file("study.yaml", &doc, &err) != MRPC_OK) ...
 *     const yaml_node_t *root = mrpc_yaml_root(doc);
 *     const yaml_node_t *lr = mrpc_yaml_map_get(doc, root, "learning_rate");
 *     double v;
 *     if (lr && mrpc_yaml_get_f64(doc, lr, "learning_rate", &v, &err) != MRPC_OK) ...
 *     mrpc_yaml_free(doc);
 */
#ifndef MRPC_CONFIG_YAML_DOC_H
#define MRPC_CONFIG_YAML_DOC_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "status.h"

typedef struct mrpc_yaml_doc mrpc_yaml_doc; /* opaque: the libyaml document and the file name */

/* Loads the file at `path`. An empty file gives a document whose root is NULL. */
mrpc_status mrpc_yaml_load_file(const char *path, mrpc_yaml_doc **out, mrpc_error *err);

/* Loads YAML text from memory; `name` is used as the file name in errors. */
mrpc_status mrpc_yaml_load_string(const char *name, const char *text, size_t size, mrpc_yaml_doc **out,
                                  mrpc_error *err);

void mrpc_yaml_free(mrpc_yaml_doc *doc);

/* The file name given at load. */
const char *mrpc_yaml_name(const mrpc_yaml_doc *doc);

/* Root node, NULL for an empty document. */
const yaml_node_t *mrpc_yaml_root(const mrpc_yaml_doc *doc);

/* Node by libyaml index (as found in mapping pairs and sequence items); NULL when out of range. */
const yaml_node_t *mrpc_yaml_node(const mrpc_yaml_doc *doc, int index);

/* Value of `key` in a mapping node, NULL when absent or when `map` is not a mapping. */
const yaml_node_t *mrpc_yaml_map_get(const mrpc_yaml_doc *doc, const yaml_node_t *map, const char *key);

/* Number of pairs of a mapping / items of a sequence (0 for other nodes). */
size_t mrpc_yaml_len(const yaml_node_t *node);

/* The i-th pair of a mapping: its key text and value node. Returns 0 when out of range. */
int mrpc_yaml_map_at(const mrpc_yaml_doc *doc, const yaml_node_t *map, size_t i, const char **key,
                     const yaml_node_t **key_node, const yaml_node_t **value);

/* The i-th item of a sequence, NULL when out of range. */
const yaml_node_t *mrpc_yaml_seq_at(const mrpc_yaml_doc *doc, const yaml_node_t *seq, size_t i);

/* Scalar text (NUL-terminated), NULL when the node is not a scalar. */
const char *mrpc_yaml_scalar(const yaml_node_t *node);

/* 1 when the scalar was written with quotes (so "1" is a string, not a number). */
int mrpc_yaml_is_quoted(const yaml_node_t *node);

/* 1 when the node is a null scalar (~, null, empty plain scalar). */
int mrpc_yaml_is_null(const yaml_node_t *node);

/*
 * Typed reads. Each fails with MRPC_ERR_INVALID and an error at the node's position
 * naming `field` ("expected an integer for max_seq_length, got \"abc\"").
 */
mrpc_status mrpc_yaml_get_f64(const mrpc_yaml_doc *doc, const yaml_node_t *node, const char *field, double *out,
                              mrpc_error *err);
mrpc_status mrpc_yaml_get_i64(const mrpc_yaml_doc *doc, const yaml_node_t *node, const char *field, int64_t *out,
                              mrpc_error *err);
mrpc_status mrpc_yaml_get_bool(const mrpc_yaml_doc *doc, const yaml_node_t *node, const char *field, int *out,
                               mrpc_error *err);
/* Copies a scalar into out (capacity out_size); too long is an error. */
mrpc_status mrpc_yaml_get_str(const mrpc_yaml_doc *doc, const yaml_node_t *node, const char *field, char *out,
                              size_t out_size, mrpc_error *err);

/*
 * Sets an error located at `node` (file, 1-based line and column) naming `field`.
 * Returns `status`.
 */
mrpc_status mrpc_yaml_error_at(const mrpc_yaml_doc *doc, const yaml_node_t *node, mrpc_error *err,
                               mrpc_status status, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

#endif /* MRPC_CONFIG_YAML_DOC_H */

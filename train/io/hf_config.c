/* hf_config.c — DistilBERT config.json reader and writer (see hf_config.h). */
#define _POSIX_C_SOURCE 200809L
#include "hf_config.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "strutil.h"

#define HF_MAX_SIZE (1 << 24)              /* upper bound for every dimension and count */
#define HF_MAX_FILE_BYTES (16u << 20)      /* a config.json is a few hundred bytes */

void mrpc_hf_config_defaults(mrpc_hf_config *cfg) {
    if (!cfg) return;
    cfg->dim = 768;
    cfg->n_layers = 6;
    cfg->n_heads = 12;
    cfg->hidden_dim = 4 * 768;
    cfg->vocab_size = 30522;
    cfg->max_position_embeddings = 512;
    cfg->num_labels = 2;
    cfg->pad_token_id = 0;
    cfg->dropout = 0.1;
    cfg->attention_dropout = 0.1;
    cfg->seq_classif_dropout = 0.2;
    cfg->initializer_range = 0.02;
}

static const char *name_or_default(const char *name) { return name ? name : "config.json"; }

/* ---- validation ------------------------------------------------------------------- */

static mrpc_status check_size(const char *name, const char *field, int v, mrpc_error *err) {
    if (v < 1 || v > HF_MAX_SIZE) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, field, "must be between 1 and %d, got %d",
                              HF_MAX_SIZE, v);
    }
    return MRPC_OK;
}

static mrpc_status check_dropout(const char *name, const char *field, double v, mrpc_error *err) {
    if (!(v >= 0.0 && v < 1.0)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, field, "must be in [0, 1), got %g", v);
    }
    return MRPC_OK;
}

mrpc_status mrpc_hf_config_validate(const char *name, const mrpc_hf_config *cfg, mrpc_error *err) {
    name = name_or_default(name);
    if (!cfg) return mrpc_error_set(err, MRPC_ERR_INTERNAL, name, 0, 0, NULL, "config is NULL");
    mrpc_status s;
    if ((s = check_size(name, "dim", cfg->dim, err)) != MRPC_OK) return s;
    if ((s = check_size(name, "n_layers", cfg->n_layers, err)) != MRPC_OK) return s;
    if ((s = check_size(name, "n_heads", cfg->n_heads, err)) != MRPC_OK) return s;
    if ((s = check_size(name, "hidden_dim", cfg->hidden_dim, err)) != MRPC_OK) return s;
    if ((s = check_size(name, "vocab_size", cfg->vocab_size, err)) != MRPC_OK) return s;
    if ((s = check_size(name, "max_position_embeddings", cfg->max_position_embeddings, err)) != MRPC_OK) return s;
    if ((s = check_size(name, "num_labels", cfg->num_labels, err)) != MRPC_OK) return s;
    if (cfg->dim % cfg->n_heads != 0) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "n_heads",
                              "dim %d is not divisible by n_heads %d", cfg->dim, cfg->n_heads);
    }
    if (cfg->pad_token_id < 0 || cfg->pad_token_id >= cfg->vocab_size) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "pad_token_id",
                              "must be in [0, vocab_size %d), got %d", cfg->vocab_size, cfg->pad_token_id);
    }
    if ((s = check_dropout(name, "dropout", cfg->dropout, err)) != MRPC_OK) return s;
    if ((s = check_dropout(name, "attention_dropout", cfg->attention_dropout, err)) != MRPC_OK) return s;
    if ((s = check_dropout(name, "seq_classif_dropout", cfg->seq_classif_dropout, err)) != MRPC_OK) return s;
    if (!(isfinite(cfg->initializer_range) && cfg->initializer_range >= 0.0)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "initializer_range",
                              "must be a finite number >= 0, got %g", cfg->initializer_range);
    }
    return MRPC_OK;
}

/* ---- reading ------------------------------------------------------------------------ */

/* Reads integer field `key` into *out when present. */
static mrpc_status get_int(const char *name, const json_t *root, const char *key, int *out, int *present,
                           mrpc_error *err) {
    const json_t *v = json_object_get(root, key);
    if (present) *present = (v != NULL);
    if (!v) return MRPC_OK;
    if (!json_is_integer(v)) return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, key, "expected an integer");
    json_int_t i = json_integer_value(v);
    if (i < INT32_MIN || i > INT32_MAX) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, key, "integer %lld is out of range", (long long)i);
    }
    *out = (int)i;
    return MRPC_OK;
}

/* Reads number field `key` (integer or real) into *out when present. */
static mrpc_status get_num(const char *name, const json_t *root, const char *key, double *out, mrpc_error *err) {
    const json_t *v = json_object_get(root, key);
    if (!v) return MRPC_OK;
    if (!json_is_number(v)) return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, key, "expected a number");
    *out = json_number_value(v);
    return MRPC_OK;
}

/* Reads `alias` (an attribute_map name) into *out, checking it agrees with `field` when both are present. */
static mrpc_status get_alias(const char *name, const json_t *root, const char *field, const char *alias, int *out,
                             mrpc_error *err) {
    int has_field = 0, has_alias = 0, value = 0;
    mrpc_status s = get_int(name, root, field, out, &has_field, err);
    if (s != MRPC_OK) return s;
    if ((s = get_int(name, root, alias, &value, &has_alias, err)) != MRPC_OK) return s;
    if (!has_alias) return MRPC_OK;
    if (has_field && value != *out) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, alias, "is %d but %s is %d (they name the same setting)",
                              value, field, *out);
    }
    *out = value;
    return MRPC_OK;
}

/* Counts id2label entries, checking the keys are exactly "0".."n-1" and the values strings. */
static mrpc_status id2label_count(const char *name, const json_t *map, int *out, mrpc_error *err) {
    if (!json_is_object(map)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "id2label", "expected an object {\"0\": \"label\", ...}");
    }
    size_t n = json_object_size(map);
    if (n < 1 || n > HF_MAX_SIZE) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "id2label", "must have between 1 and %d labels, has %zu",
                              HF_MAX_SIZE, n);
    }
    unsigned char *seen = calloc(n, 1);
    if (!seen) return mrpc_error_set(err, MRPC_ERR_NOMEM, name, 0, 0, "id2label", "out of memory");
    mrpc_status s = MRPC_OK;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)map, key, v) {
        int64_t id;
        if (!mrpc_parse_i64(key, &id) || id < 0 || (uint64_t)id >= n || seen[id]) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "id2label",
                               "keys must be the label ids \"0\"..\"%zu\" once each, got \"%.40s\"", n - 1, key);
            break;
        }
        seen[id] = 1;
        if (!json_is_string(v)) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "id2label", "label of id %s must be a string", key);
            break;
        }
    }
    free(seen);
    if (s == MRPC_OK) *out = (int)n;
    return s;
}

mrpc_status mrpc_hf_config_parse(const char *name, const char *text, size_t size, mrpc_hf_config *cfg,
                                 mrpc_error *err) {
    name = name_or_default(name);
    if (!cfg || (!text && size > 0)) return mrpc_error_set(err, MRPC_ERR_INTERNAL, name, 0, 0, NULL, "NULL argument");
    json_error_t je;
    json_t *root = json_loadb(text ? text : "", size, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        return mrpc_error_set(err, MRPC_ERR_PARSE, name, je.line > 0 ? je.line : 0, je.column > 0 ? je.column : 0, NULL,
                              "invalid JSON: %s", je.text);
    }
    mrpc_hf_config c;
    mrpc_hf_config_defaults(&c);
    mrpc_status s = MRPC_OK;
    const json_t *v;
    if (!json_is_object(root)) {
        s = mrpc_error_set(err, MRPC_ERR_PARSE, name, 0, 0, NULL, "config.json must be a JSON object");
        goto done;
    }
    if ((v = json_object_get(root, "model_type")) != NULL) {
        if (!json_is_string(v)) { s = mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "model_type", "expected a string"); goto done; }
        if (strcmp(json_string_value(v), "distilbert") != 0) {
            s = mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, name, 0, 0, "model_type",
                               "\"%.40s\" is not supported (only \"distilbert\")", json_string_value(v));
            goto done;
        }
    }
    if ((s = get_alias(name, root, "dim", "hidden_size", &c.dim, err)) != MRPC_OK) goto done;
    if ((s = get_alias(name, root, "n_layers", "num_hidden_layers", &c.n_layers, err)) != MRPC_OK) goto done;
    if ((s = get_alias(name, root, "n_heads", "num_attention_heads", &c.n_heads, err)) != MRPC_OK) goto done;
    if ((s = get_int(name, root, "hidden_dim", &c.hidden_dim, NULL, err)) != MRPC_OK) goto done;
    if ((s = get_int(name, root, "vocab_size", &c.vocab_size, NULL, err)) != MRPC_OK) goto done;
    if ((s = get_int(name, root, "max_position_embeddings", &c.max_position_embeddings, NULL, err)) != MRPC_OK) goto done;
    if ((s = get_int(name, root, "pad_token_id", &c.pad_token_id, NULL, err)) != MRPC_OK) goto done;
    if ((s = get_num(name, root, "dropout", &c.dropout, err)) != MRPC_OK) goto done;
    if ((s = get_num(name, root, "attention_dropout", &c.attention_dropout, err)) != MRPC_OK) goto done;
    if ((s = get_num(name, root, "seq_classif_dropout", &c.seq_classif_dropout, err)) != MRPC_OK) goto done;
    if ((s = get_num(name, root, "initializer_range", &c.initializer_range, err)) != MRPC_OK) goto done;

    int has_num_labels = 0;
    if ((s = get_int(name, root, "num_labels", &c.num_labels, &has_num_labels, err)) != MRPC_OK) goto done;
    if ((v = json_object_get(root, "id2label")) != NULL) {
        int n = 0;
        if ((s = id2label_count(name, v, &n, err)) != MRPC_OK) goto done;
        if (has_num_labels && n != c.num_labels) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "num_labels", "is %d but id2label has %d labels",
                               c.num_labels, n);
            goto done;
        }
        c.num_labels = n;
    }
    if ((v = json_object_get(root, "activation")) != NULL) {
        if (!json_is_string(v)) { s = mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "activation", "expected a string"); goto done; }
        if (strcmp(json_string_value(v), "gelu") != 0) {
            s = mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, name, 0, 0, "activation",
                               "\"%.40s\" is not supported (only \"gelu\", the exact erf form)", json_string_value(v));
            goto done;
        }
    }
    if ((v = json_object_get(root, "sinusoidal_pos_embds")) != NULL) {
        if (!json_is_boolean(v)) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, "sinusoidal_pos_embds", "expected true or false");
            goto done;
        }
        if (json_is_true(v)) {
            s = mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, name, 0, 0, "sinusoidal_pos_embds",
                               "sinusoidal position embeddings are not supported (only learned ones)");
            goto done;
        }
    }
    if ((s = mrpc_hf_config_validate(name, &c, err)) != MRPC_OK) goto done;
    *cfg = c;
done:
    json_decref(root);
    return s;
}

mrpc_status mrpc_hf_config_read(const char *path, mrpc_hf_config *cfg, mrpc_error *err) {
    if (!path) return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL, "path is NULL");
    char *text = NULL;
    size_t size = 0;
    mrpc_status s = mrpc_file_read_all(path, HF_MAX_FILE_BYTES, &text, &size, err);
    if (s != MRPC_OK) return s;
    s = mrpc_hf_config_parse(path, text, size, cfg, err);
    free(text);
    return s;
}

/* ---- writing ------------------------------------------------------------------------ */

typedef struct strbuf {
    char  *data;
    size_t len, cap;
    int    failed;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(strbuf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->failed = 1; return; }
        if (b->data && (size_t)n < b->cap - b->len) { b->len += (size_t)n; return; }
        size_t need = b->len + (size_t)n + 1, cap = b->cap ? b->cap : 1024;
        while (cap < need) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) { b->failed = 1; return; }
        b->data = p;
        b->cap = cap;
    }
}

static void sb_num(strbuf *b, const char *key, double v) {
    char num[64];
    mrpc_format_f64(num, sizeof num, v);
    sb_printf(b, "  \"%s\": %s,\n", key, num);
}

mrpc_status mrpc_hf_config_write(const char *path, const mrpc_hf_config *cfg, mrpc_error *err) {
    if (!path) return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL, "path is NULL");
    mrpc_status s = mrpc_hf_config_validate(path, cfg, err);
    if (s != MRPC_OK) return s;
    strbuf b = {0};
    /* Keys sorted, two-space indent: the layout of HF's save_pretrained. */
    sb_printf(&b, "{\n  \"activation\": \"gelu\",\n");
    sb_printf(&b, "  \"architectures\": [\n    \"DistilBertForSequenceClassification\"\n  ],\n");
    sb_num(&b, "attention_dropout", cfg->attention_dropout);
    sb_printf(&b, "  \"dim\": %d,\n", cfg->dim);
    sb_num(&b, "dropout", cfg->dropout);
    sb_printf(&b, "  \"hidden_dim\": %d,\n", cfg->hidden_dim);
    sb_printf(&b, "  \"id2label\": {\n");
    for (int i = 0; i < cfg->num_labels; i++) {
        if (cfg->num_labels == 2) sb_printf(&b, "    \"%d\": \"%s\"", i, i == 0 ? "not_equivalent" : "equivalent");
        else sb_printf(&b, "    \"%d\": \"LABEL_%d\"", i, i);
        sb_printf(&b, "%s\n", i + 1 < cfg->num_labels ? "," : "");
    }
    sb_printf(&b, "  },\n");
    sb_num(&b, "initializer_range", cfg->initializer_range);
    sb_printf(&b, "  \"label2id\": {\n");
    for (int i = 0; i < cfg->num_labels; i++) {
        if (cfg->num_labels == 2) sb_printf(&b, "    \"%s\": %d", i == 0 ? "not_equivalent" : "equivalent", i);
        else sb_printf(&b, "    \"LABEL_%d\": %d", i, i);
        sb_printf(&b, "%s\n", i + 1 < cfg->num_labels ? "," : "");
    }
    sb_printf(&b, "  },\n");
    sb_printf(&b, "  \"max_position_embeddings\": %d,\n", cfg->max_position_embeddings);
    sb_printf(&b, "  \"model_type\": \"distilbert\",\n");
    sb_printf(&b, "  \"n_heads\": %d,\n", cfg->n_heads);
    sb_printf(&b, "  \"n_layers\": %d,\n", cfg->n_layers);
    sb_printf(&b, "  \"pad_token_id\": %d,\n", cfg->pad_token_id);
    sb_num(&b, "qa_dropout", 0.1);
    sb_num(&b, "seq_classif_dropout", cfg->seq_classif_dropout);
    sb_printf(&b, "  \"sinusoidal_pos_embds\": false,\n");
    sb_printf(&b, "  \"tie_weights_\": true,\n");
    sb_printf(&b, "  \"vocab_size\": %d\n}\n", cfg->vocab_size);
    if (b.failed) {
        free(b.data);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
    }
    s = mrpc_file_write_atomic(path, b.data, b.len, err);
    free(b.data);
    return s;
}

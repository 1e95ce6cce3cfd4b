/*
 * hf_config.h — Hugging Face config.json for DistilBERT (model_type "distilbert").
 *
 * Reads the fields that shape the model (dim, n_layers, n_heads, hidden_dim,
 * vocab_size, max_position_embeddings, dropout, attention_dropout,
 * seq_classif_dropout, activation, sinusoidal_pos_embds, initializer_range, pad_token_id,
 * num_labels / id2label) with the DistilBertConfig defaults for absent fields, and
 * rejects what this trainer does not implement (sinusoidal positions, an activation
 * other than "gelu", a model_type other than "distilbert", dim not divisible by
 * n_heads) with the file and field named. The attribute_map aliases hidden_size,
 * num_attention_heads and num_hidden_layers are accepted (an alias that disagrees with
 * its field is an error). num_labels comes from "num_labels" or from the size of
 * "id2label" (keys "0".."n-1"); when both are present they must agree. A field of the
 * wrong JSON type is an error naming it; unknown fields are ignored.
 *
 * Limits checked on read and on write: every size >= 1 and <= 2^24, 0 <= pad_token_id
 * < vocab_size, dropouts in [0, 1), initializer_range finite and >= 0.
 *
 * Example:
 *
 *     mrpc_hf_config cfg;
 *     mrpc_error err = {0};
 *     if (mrpc_hf_config_read("distilbert-base-uncased/config.json", &cfg, &err) != MRPC_OK)
 *         mrpc_error_print(stderr, "mrpc-train", &err);   // config.json: activation: ...
 */
#ifndef MRPC_IO_HF_CONFIG_H
#define MRPC_IO_HF_CONFIG_H

#include <stddef.h>

#include "status.h"

typedef struct mrpc_hf_config {
    int    dim;                     /* 768 */
    int    n_layers;                /* 6 */
    int    n_heads;                 /* 12 */
    int    hidden_dim;              /* 3072 */
    int    vocab_size;              /* 30522 */
    int    max_position_embeddings; /* 512 */
    int    num_labels;              /* 2 */
    int    pad_token_id;            /* 0 */
    double dropout;                 /* 0.1 */
    double attention_dropout;       /* 0.1 */
    double seq_classif_dropout;     /* 0.2 */
    double initializer_range;       /* 0.02 */
} mrpc_hf_config;

/* Fills `cfg` with the DistilBertConfig defaults (distilbert-base-uncased). */
void mrpc_hf_config_defaults(mrpc_hf_config *cfg);

/*
 * Reads config.json at `path`: absent fields take the defaults (the previous contents
 * of *cfg are not used). On failure *cfg is left unchanged and `err` names the file and
 * the field (and line/column for JSON syntax errors).
 */
mrpc_status mrpc_hf_config_read(const char *path, mrpc_hf_config *cfg, mrpc_error *err);

/* Parses config.json text `text[0..size)` (need not be NUL-terminated; `name` for messages) as mrpc_hf_config_read does. */
mrpc_status mrpc_hf_config_parse(const char *name, const char *text, size_t size, mrpc_hf_config *cfg,
                                 mrpc_error *err);

/*
 * Checks `cfg` against the limits above (the same checks the reader makes); `name`
 * (may be NULL) goes into err->file, the offending field into err->field.
 */
mrpc_status mrpc_hf_config_validate(const char *name, const mrpc_hf_config *cfg, mrpc_error *err);

/*
 * Writes a config.json that HF's DistilBertForSequenceClassification loads (atomic):
 * model_type "distilbert", architectures ["DistilBertForSequenceClassification"], every
 * dimension and dropout, and id2label/label2id for num_labels labels (for 2 labels the
 * MRPC names "not_equivalent"/"equivalent", as run_glue writes them; otherwise
 * "LABEL_<i>"). An invalid `cfg` is an error naming the field, and nothing is written.
 */
mrpc_status mrpc_hf_config_write(const char *path, const mrpc_hf_config *cfg, mrpc_error *err);

#endif /* MRPC_IO_HF_CONFIG_H */

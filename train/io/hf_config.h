/*
 * hf_config.h — Hugging Face config.json for DistilBERT (model_type "distilbert").
 *
 * Reads the fields that shape the model (dim, n_layers, n_heads, hidden_dim,
 * vocab_size, max_position_embeddings, dropout, attention_dropout,
 * seq_classif_dropout, activation, sinusoidal_pos_embds, initializer_range, pad_token_id,
 * num_labels / id2label) with the DistilBertConfig defaults for absent fields, and
 * rejects what this trainer does not implement (sinusoidal positions, an activation
 * other than "gelu", dim not divisible by n_heads) with the file and field named.
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

/* Reads config.json at `path` over the defaults. */
mrpc_status mrpc_hf_config_read(const char *path, mrpc_hf_config *cfg, mrpc_error *err);

/* Parses config.json text (`name` for messages). */
mrpc_status mrpc_hf_config_parse(const char *name, const char *text, size_t size, mrpc_hf_config *cfg,
                                 mrpc_error *err);

/* Writes a config.json that HF's DistilBertForSequenceClassification loads (atomic). */
mrpc_status mrpc_hf_config_write(const char *path, const mrpc_hf_config *cfg, mrpc_error *err);

#endif /* MRPC_IO_HF_CONFIG_H */

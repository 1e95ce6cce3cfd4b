/*
 * run_config.h — the configuration of one training run, read from YAML, overridden
 * from the command line, validated against one schema table.
 *
 * A run config file reads like this (every key optional; `mrpc-train --print-config`
 * prints all of them with their defaults and a line of documentation each):
 *
 *     model:
 *       path: random            # or a Hugging Face checkpoint directory
 *       dim: 128                # the dims below are used only for `random`
 *       n_layers: 2
 *     data:
 *       train: ${MRPC_DATA_DIR}/mrpc/train.tsv
 *       validation: ${MRPC_DATA_DIR}/mrpc/dev.tsv
 *       vocab: ${MRPC_DATA_DIR}/bert-base-uncased/vocab.txt
 *     output: runs/baseline.h5
 *     learning_rate: 5.0e-5
 *     train_batch_size: 32
 *
 * Nested mappings become dotted keys ("model.dim"); `--set model.dim=256` and the
 * columns of a wave's tasks.tsv use the same dotted names. The schema table (one
 * entry per key: type, range, default, whether it is a hyperparameter, a line of
 * documentation) drives parsing, validation, defaults, --print-config and the list of
 * hyperparameters written to the run record; nothing else knows the keys.
 *
 * Errors name the file, line and column and the key: unknown keys, wrong types
 * ("expected a number"), values out of range ("learning_rate must be > 0").
 * Path values may use ${VAR} and ${VAR:-fallback} for environment variables; "$$" is a
 * literal "$".
 */
#ifndef MRPC_CONFIG_RUN_CONFIG_H
#define MRPC_CONFIG_RUN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "runrec.h"
#include "status.h"

#define MRPC_PATH_MAX 1024
#define MRPC_RUN_CONFIG_MAX_KEYS 64

typedef struct mrpc_run_config {
    /* model */
    char    model_path[MRPC_PATH_MAX]; /* "random" or a checkpoint directory (config.json, model.safetensors) */
    int64_t model_dim;                 /* random model only */
    int64_t model_n_layers;
    int64_t model_n_heads;
    int64_t model_hidden_dim;
    int64_t model_max_positions;
    /* data */
    char    train_path[MRPC_PATH_MAX];
    char    validation_path[MRPC_PATH_MAX];
    char    vocab_path[MRPC_PATH_MAX];
    char    cache_dir[MRPC_PATH_MAX];  /* token cache, "" = no cache */
    char    truncation[24];            /* "longest_first" (HF fast tokenizer) | "longest_first_slow" */
    int64_t max_train_examples;        /* 0 = all; for smoke tests and demos */
    int64_t max_eval_examples;         /* 0 = all */
    /* run */
    char    output[MRPC_PATH_MAX];           /* run record path */
    char    run_id[129];
    char    stage[32];
    char    save_checkpoint[MRPC_PATH_MAX];  /* final weights as HF safetensors, "" = none */
    char    resume_checkpoint[MRPC_PATH_MAX];/* preemption checkpoint, "" = <output>.resume */
    char    save_strategy[8];                /* "no" | "epoch" | "steps" | "minutes": periodic checkpoints */
    int64_t save_steps;                      /* steps between checkpoints (save_strategy "steps") */
    double  save_minutes;                    /* minutes between checkpoints (save_strategy "minutes") */
    int64_t pause_after_epoch;               /* stop "paused" after this epoch's evaluation, 0 = run to the end */
    char    backend[8];                      /* "cpu" | "cuda" */
    char    precision[8];                    /* "fp32" | "bf16" */
    int64_t threads;                         /* 0 = all cores of this process */
    double  progress_seconds;                /* progress line interval on stderr */
    int64_t debug_nan_at_step;               /* testing: step whose loss is made NaN, 0 = off */
    int64_t debug_fail_rank;                 /* testing: this rank fails while loading, -1 = off */
    /* hyperparameters */
    double  learning_rate;
    double  weight_decay;
    double  adam_beta1;
    double  adam_beta2;
    double  adam_epsilon;
    int64_t warmup_steps;
    double  dropout;            /* NaN until resolved from the checkpoint */
    double  attention_dropout;  /* NaN until resolved */
    double  classifier_dropout; /* NaN until resolved */
    int64_t max_seq_length;
    double  max_grad_norm;      /* 0 disables clipping */
    int64_t num_epochs;
    int64_t train_batch_size;   /* global, over all ranks */
    int64_t eval_batch_size;
    int64_t seed;

    /* bookkeeping: which keys were given explicitly (index = schema position) */
    unsigned char is_set[MRPC_RUN_CONFIG_MAX_KEYS];
    char          source[MRPC_PATH_MAX]; /* file the config came from, "" for the defaults */
} mrpc_run_config;

/* Value types of schema keys. */
typedef enum mrpc_config_type {
    MRPC_CONFIG_STRING = 0,
    MRPC_CONFIG_PATH,   /* string; ${VAR} expanded */
    MRPC_CONFIG_FLOAT,
    MRPC_CONFIG_INT,
    MRPC_CONFIG_ENUM    /* string from a fixed list */
} mrpc_config_type;

/* Flags of schema keys. */
enum {
    MRPC_CONFIG_HPARAM = 1 << 0,          /* written to /hparams of the run record */
    MRPC_CONFIG_FROM_CHECKPOINT = 1 << 1, /* default comes from the checkpoint's config.json */
    MRPC_CONFIG_MIN_EXCLUSIVE = 1 << 2,   /* value must be > min (else >= min) */
    MRPC_CONFIG_MAX_EXCLUSIVE = 1 << 3,   /* value must be < max (else <= max) */
    /* A control of this invocation, not a setting of the run (pause_after_epoch): never a
     * hyperparameter, left out of the recorded config (mrpc_run_config_to_yaml without docs)
     * and so of the resume checkpoint's config hash, so the same run may be started again
     * with another value; allowed as a column of a wave's tasks.tsv. */
    MRPC_CONFIG_CONTROL = 1 << 4,
    /* How the run is watched and saved, not what it computes (progress_seconds, the
     * save_* keys): recorded, but left out of mrpc_run_config_hash, so a run interrupted
     * with one value resumes with another, bit for bit. */
    MRPC_CONFIG_NOT_IN_HASH = 1 << 5
};

/* One schema entry. */
typedef struct mrpc_config_key {
    const char      *name;          /* dotted key, e.g. "learning_rate", "model.dim" */
    mrpc_config_type type;
    unsigned         flags;
    double           min, max;      /* numeric range (inclusive unless flagged) */
    const char      *default_value; /* as text; "" for empty strings; NULL for FROM_CHECKPOINT */
    const char      *choices;       /* ENUM: "|"-separated list */
    const char      *doc;           /* one line */
    size_t           offset;        /* into mrpc_run_config */
    size_t           size;          /* for strings: capacity */
} mrpc_config_key;

/* The schema: number of keys and the i-th key. */
size_t                 mrpc_run_config_key_count(void);
const mrpc_config_key *mrpc_run_config_key_at(size_t i);
/* Key by dotted name; NULL when unknown. */
const mrpc_config_key *mrpc_run_config_find_key(const char *name);

/* Sets every key to its default (dropouts NaN: resolved later from the checkpoint). */
void mrpc_run_config_defaults(mrpc_run_config *cfg);

/* Reads a YAML file over the current values of `cfg` (call defaults first). */
mrpc_status mrpc_run_config_load_file(const char *path, mrpc_run_config *cfg, mrpc_error *err);

/* As load_file, from text in memory (`name` is used in errors). */
mrpc_status mrpc_run_config_load_string(const char *name, const char *text, size_t size, mrpc_run_config *cfg,
                                        mrpc_error *err);

/*
 * Sets one key from text, validating type and range. `source` names where the value
 * came from for error messages ("--set", "tasks.tsv"), with `line`/`column` if known.
 */
mrpc_status mrpc_run_config_set(mrpc_run_config *cfg, const char *key, const char *value, const char *source,
                                long line, long column, mrpc_error *err);

/* Parses "key=value" (the --set form) and applies it. */
mrpc_status mrpc_run_config_set_assignment(mrpc_run_config *cfg, const char *assignment, mrpc_error *err);

/* 1 when `key` was given explicitly (file, --set or task row). */
int mrpc_run_config_is_set(const mrpc_run_config *cfg, const char *key);

/*
 * Fills the dropouts that were not given explicitly from a checkpoint's config.json
 * values (or the DistilBertConfig defaults 0.1/0.1/0.2 for a random model), then checks
 * the cross-field rules (paths present, run_id safe, eval and train batch sizes,
 * beta ranges). Call once, after all overrides.
 */
mrpc_status mrpc_run_config_finalize(mrpc_run_config *cfg, double ckpt_dropout, double ckpt_attention_dropout,
                                     double ckpt_classifier_dropout, mrpc_error *err);

/*
 * Writes the whole config as YAML (nested sections, every key, a comment with the doc
 * line when `with_docs`) into a new malloc'd string (*out; caller frees). Without docs it
 * is the run's recorded config (/@config, the resume checkpoint's hash): keys flagged
 * MRPC_CONFIG_CONTROL are left out.
 */
mrpc_status mrpc_run_config_to_yaml(const mrpc_run_config *cfg, int with_docs, char **out, mrpc_error *err);

/*
 * The identity of a run's computation, kept in its resume checkpoint: a hash (FNV-1a) of
 * the recorded config without the keys flagged MRPC_CONFIG_NOT_IN_HASH. Resuming under
 * another hash is refused (the checkpoint belongs to another computation).
 */
mrpc_status mrpc_run_config_hash(const mrpc_run_config *cfg, uint64_t *out, mrpc_error *err);

/* Copies every hyperparameter (keys flagged MRPC_CONFIG_HPARAM) into out; returns the count. */
size_t mrpc_run_config_hparams(const mrpc_run_config *cfg, mrpc_hparam *out, size_t max_out);

/* Formats the current value of `key` as text (for tasks.tsv, reports). Returns 0 for unknown keys. */
int mrpc_run_config_get_text(const mrpc_run_config *cfg, const char *key, char *out, size_t out_size);

#endif /* MRPC_CONFIG_RUN_CONFIG_H */

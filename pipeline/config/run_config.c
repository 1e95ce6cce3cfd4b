/* run_config.c — the run config schema and everything it drives (see run_config.h). */
#include "run_config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "strbuf.h"
#include "strutil.h"
#include "yaml_doc.h"

#define F(member) offsetof(mrpc_run_config, member), sizeof(((mrpc_run_config *)0)->member)
#define HP MRPC_CONFIG_HPARAM
#define XMIN MRPC_CONFIG_MIN_EXCLUSIVE
#define XMAX MRPC_CONFIG_MAX_EXCLUSIVE
#define CKPT MRPC_CONFIG_FROM_CHECKPOINT
#define CTRL MRPC_CONFIG_CONTROL
#define NOHASH MRPC_CONFIG_NOT_IN_HASH
#define BIG 1e18

/*
 * The schema. Order is the order of --print-config within each section. Defaults of
 * hyperparameters follow the HF Trainer / run_glue for MRPC
 * (../shared/docs/distilbert-mrpc-facts.md section 5); dropouts default to the
 * checkpoint's config.json.
 */
static const mrpc_config_key schema[] = {
    {"model.path", MRPC_CONFIG_PATH, 0, 0, 0, "random", NULL,
     "\"random\" for a randomly initialised model with the dims below, or a Hugging Face checkpoint directory "
     "(config.json, model.safetensors)", F(model_path)},
    {"model.dim", MRPC_CONFIG_INT, 0, 8, 8192, "128", NULL, "hidden size of a random model", F(model_dim)},
    {"model.n_layers", MRPC_CONFIG_INT, 0, 1, 64, "2", NULL, "transformer blocks of a random model", F(model_n_layers)},
    {"model.n_heads", MRPC_CONFIG_INT, 0, 1, 128, "2", NULL, "attention heads of a random model (divides dim)",
     F(model_n_heads)},
    {"model.hidden_dim", MRPC_CONFIG_INT, 0, 8, 65536, "512", NULL, "FFN width of a random model", F(model_hidden_dim)},
    {"model.max_positions", MRPC_CONFIG_INT, 0, 8, 8192, "512", NULL, "position table size of a random model",
     F(model_max_positions)},

    {"data.train", MRPC_CONFIG_PATH, 0, 0, 0, "${MRPC_DATA_DIR:-data}/mrpc/train.tsv", NULL, "MRPC training pairs (TSV)",
     F(train_path)},
    {"data.validation", MRPC_CONFIG_PATH, 0, 0, 0, "${MRPC_DATA_DIR:-data}/mrpc/dev.tsv", NULL,
     "MRPC validation pairs (TSV)", F(validation_path)},
    {"data.vocab", MRPC_CONFIG_PATH, 0, 0, 0, "${MRPC_DATA_DIR:-data}/bert-base-uncased/vocab.txt", NULL,
     "WordPiece vocabulary (vocab.txt); a checkpoint directory's own vocab.txt wins when present", F(vocab_path)},
    {"data.cache_dir", MRPC_CONFIG_PATH, 0, 0, 0, "", NULL, "directory for tokenized data shared by runs (\"\" = none)",
     F(cache_dir)},
    {"data.truncation", MRPC_CONFIG_ENUM, 0, 0, 0, "longest_first", "longest_first|longest_first_slow",
     "how a pair longer than max_seq_length is cut: longest_first = HF's fast tokenizer (AutoTokenizer, "
     "run_glue.py); longest_first_slow = the slow BertTokenizer and original BERT (A keeps the odd token)",
     F(truncation)},
    {"data.max_train_examples", MRPC_CONFIG_INT, 0, 0, BIG, "0", NULL, "use only the first N training pairs (0 = all)",
     F(max_train_examples)},
    {"data.max_eval_examples", MRPC_CONFIG_INT, 0, 0, BIG, "0", NULL, "use only the first N validation pairs (0 = all)",
     F(max_eval_examples)},

    {"output", MRPC_CONFIG_PATH, 0, 0, 0, "run.h5", NULL, "path of the HDF5 run record", F(output)},
    {"run_id", MRPC_CONFIG_STRING, 0, 0, 0, "", NULL, "run name, [A-Za-z0-9._-] (\"\" = from the output file name)",
     F(run_id)},
    {"stage", MRPC_CONFIG_STRING, 0, 0, 0, "manual", NULL, "study stage this run belongs to", F(stage)},
    {"save_checkpoint", MRPC_CONFIG_PATH, NOHASH, 0, 0, "", NULL,
     "directory to save the final weights in HF layout (\"\" = none)", F(save_checkpoint)},
    {"resume_checkpoint", MRPC_CONFIG_PATH, 0, 0, 0, "", NULL,
     "resume checkpoint file, written on a stop signal and as save_strategy says (\"\" = <output>.resume)",
     F(resume_checkpoint)},
    {"save_strategy", MRPC_CONFIG_ENUM, NOHASH, 0, 0, "minutes", "no|epoch|steps|minutes",
     "when to write the resume checkpoint during the run (besides on a stop signal): never, after every epoch, "
     "every save_steps steps, or every save_minutes minutes of training", F(save_strategy)},
    {"save_steps", MRPC_CONFIG_INT, NOHASH, 1, BIG, "500", NULL, "optimizer steps between checkpoints (save_strategy: steps)",
     F(save_steps)},
    {"save_minutes", MRPC_CONFIG_FLOAT, XMIN | NOHASH, 0, 1e6, "10", NULL,
     "minutes of training between checkpoints (save_strategy: minutes)", F(save_minutes)},
    {"pause_after_epoch", MRPC_CONFIG_INT, CTRL, 0, 100000, "0", NULL,
     "stop after this epoch's evaluation with the resume checkpoint kept and the record \"paused\"; the same run "
     "started again with a larger value (or 0) continues from there, bit for bit (0 = run to the end; not part of "
     "the run's settings)", F(pause_after_epoch)},
    {"backend", MRPC_CONFIG_ENUM, 0, 0, 0, "cpu", "cpu|cuda", "compute backend", F(backend)},
    {"precision", MRPC_CONFIG_ENUM, 0, 0, 0, "fp32", "fp32|bf16",
     "matmul precision; bf16 keeps fp32 master weights and optimizer state", F(precision)},
    {"threads", MRPC_CONFIG_INT, 0, 0, 1024, "0", NULL, "CPU threads per rank (0 = cores available to the process)",
     F(threads)},
    {"progress_seconds", MRPC_CONFIG_FLOAT, NOHASH, 0, 1e6, "10", NULL, "seconds between progress lines on stderr",
     F(progress_seconds)},
    {"debug_nan_at_step", MRPC_CONFIG_INT, 0, 0, BIG, "0", NULL,
     "testing only: the loss of this optimizer step becomes NaN, to exercise the divergence path (0 = off)",
     F(debug_nan_at_step)},
    {"debug_fail_rank", MRPC_CONFIG_INT, 0, -1, 1e6, "-1", NULL,
     "testing only: this rank fails after loading the data, to exercise failure propagation (-1 = off)",
     F(debug_fail_rank)},

    {"learning_rate", MRPC_CONFIG_FLOAT, HP | XMIN, 0, 1, "5e-05", NULL, "peak AdamW learning rate", F(learning_rate)},
    {"weight_decay", MRPC_CONFIG_FLOAT, HP, 0, 10, "0", NULL,
     "decoupled weight decay (not on biases and LayerNorm weights)", F(weight_decay)},
    {"adam_beta1", MRPC_CONFIG_FLOAT, HP | XMAX, 0, 1, "0.9", NULL, "AdamW beta1", F(adam_beta1)},
    {"adam_beta2", MRPC_CONFIG_FLOAT, HP | XMAX, 0, 1, "0.999", NULL, "AdamW beta2", F(adam_beta2)},
    {"adam_epsilon", MRPC_CONFIG_FLOAT, HP | XMIN, 0, 1, "1e-08", NULL, "AdamW epsilon", F(adam_epsilon)},
    {"warmup_steps", MRPC_CONFIG_INT, HP, 0, BIG, "0", NULL, "linear warmup steps of the learning rate",
     F(warmup_steps)},
    {"dropout", MRPC_CONFIG_FLOAT, HP | CKPT | XMAX, 0, 1, NULL, NULL,
     "dropout of embeddings and FFN outputs (default: the checkpoint's)", F(dropout)},
    {"attention_dropout", MRPC_CONFIG_FLOAT, HP | CKPT | XMAX, 0, 1, NULL, NULL,
     "dropout of attention probabilities (default: the checkpoint's)", F(attention_dropout)},
    {"classifier_dropout", MRPC_CONFIG_FLOAT, HP | CKPT | XMAX, 0, 1, NULL, NULL,
     "dropout before the classifier (default: the checkpoint's seq_classif_dropout)", F(classifier_dropout)},
    {"max_seq_length", MRPC_CONFIG_INT, HP, 4, 8192, "128", NULL,
     "longest pair in tokens incl. [CLS]/[SEP]; longer pairs are truncated longest_first", F(max_seq_length)},
    {"max_grad_norm", MRPC_CONFIG_FLOAT, HP, 0, 1e9, "1", NULL, "clip gradients to this global norm (0 = off)",
     F(max_grad_norm)},
    {"num_epochs", MRPC_CONFIG_INT, HP, 1, 100000, "3", NULL, "passes over the training set", F(num_epochs)},
    {"train_batch_size", MRPC_CONFIG_INT, HP, 1, 1048576, "8", NULL, "examples per optimizer step, over all ranks",
     F(train_batch_size)},
    {"eval_batch_size", MRPC_CONFIG_INT, HP, 1, 1048576, "8", NULL, "examples per evaluation batch, over all ranks",
     F(eval_batch_size)},
    {"seed", MRPC_CONFIG_INT, HP, 0, 9.2e18, "42", NULL, "seed of initialisation, data order and dropout", F(seed)},
};

#define N_KEYS (sizeof schema / sizeof schema[0])
_Static_assert(N_KEYS <= MRPC_RUN_CONFIG_MAX_KEYS, "raise MRPC_RUN_CONFIG_MAX_KEYS");

size_t mrpc_run_config_key_count(void) { return N_KEYS; }

const mrpc_config_key *mrpc_run_config_key_at(size_t i) { return i < N_KEYS ? &schema[i] : NULL; }

const mrpc_config_key *mrpc_run_config_find_key(const char *name) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(schema[i].name, name) == 0) return &schema[i];
    return NULL;
}

static size_t key_index(const mrpc_config_key *key) { return (size_t)(key - schema); }

/* ---- value handling ---------------------------------------------------------------- */

/*
 * Expands ${VAR} and ${VAR:-fallback} in `in` into `out`; "$$" is a literal "$". An
 * unset variable without a fallback is an error (a silently empty data path would fail
 * much later, far from its cause).
 */
static mrpc_status expand_env(const char *in, char *out, size_t out_size, const char *source, long line, long col,
                              const char *field, mrpc_error *err) {
    size_t o = 0;
    for (const char *p = in; *p;) {
        if (p[0] == '$' && p[1] == '$') {
            if (o + 1 >= out_size) goto too_long;
            out[o++] = '$';
            p += 2;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (!end) return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, field, "unterminated ${ in \"%s\"", in);
            char name[256], fallback[1024];
            size_t len = (size_t)(end - (p + 2));
            if (len == 0 || len >= sizeof name) {
                return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, field, "bad variable reference in \"%s\"", in);
            }
            memcpy(name, p + 2, len);
            name[len] = '\0';
            char *sep = strstr(name, ":-");
            int has_fallback = sep != NULL;
            if (sep) {
                mrpc_str_copy(fallback, sizeof fallback, sep + 2);
                *sep = '\0';
            }
            for (const char *c = name; *c; c++) {
                if (!(isalnum((unsigned char)*c) || *c == '_')) {
                    return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, field,
                                          "bad environment variable name \"%s\"", name);
                }
            }
            const char *value = getenv(name);
            if (!value || !value[0]) {
                if (!has_fallback) {
                    return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, field,
                                          "environment variable %s is not set (used in \"%s\")", name, in);
                }
                value = fallback;
            }
            size_t vl = strlen(value);
            if (o + vl >= out_size) goto too_long;
            memcpy(out + o, value, vl);
            o += vl;
            p = end + 1;
        } else {
            if (o + 1 >= out_size) goto too_long;
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return MRPC_OK;
too_long:
    return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, field, "value longer than %zu characters",
                          out_size - 1);
}

static int choice_allowed(const char *choices, const char *value) {
    size_t vl = strlen(value);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vl && strncmp(p, value, n) == 0) return 1;
        p += n;
        if (*p == '|') p++;
    }
    return 0;
}

static mrpc_status check_range(const mrpc_config_key *key, double v, const char *text, const char *source, long line,
                               long col, mrpc_error *err) {
    int lo_ok = (key->flags & MRPC_CONFIG_MIN_EXCLUSIVE) ? v > key->min : v >= key->min;
    int hi_ok = (key->flags & MRPC_CONFIG_MAX_EXCLUSIVE) ? v < key->max : v <= key->max;
    if (lo_ok && hi_ok) return MRPC_OK;
    char lo[40], hi[40];
    mrpc_format_f64(lo, sizeof lo, key->min);
    mrpc_format_f64(hi, sizeof hi, key->max);
    return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, key->name, "%s is out of range: must be in %s%s, %s%s",
                          text, (key->flags & MRPC_CONFIG_MIN_EXCLUSIVE) ? "(" : "[", lo, hi,
                          (key->flags & MRPC_CONFIG_MAX_EXCLUSIVE) ? ")" : "]");
}

/* Applies `value` to `key` without marking it as set. */
static mrpc_status apply_value(mrpc_run_config *cfg, const mrpc_config_key *key, const char *value, const char *source,
                               long line, long col, mrpc_error *err) {
    char *base = (char *)cfg + key->offset;
    switch (key->type) {
    case MRPC_CONFIG_STRING:
        if (!mrpc_str_copy(base, key->size, value)) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, key->name, "value longer than %zu characters",
                                  key->size - 1);
        }
        return MRPC_OK;
    case MRPC_CONFIG_PATH: {
        char expanded[MRPC_PATH_MAX];
        mrpc_status s = expand_env(value, expanded, sizeof expanded, source, line, col, key->name, err);
        if (s != MRPC_OK) return s;
        if (!mrpc_str_copy(base, key->size, expanded)) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, key->name, "path longer than %zu characters",
                                  key->size - 1);
        }
        return MRPC_OK;
    }
    case MRPC_CONFIG_ENUM:
        if (!choice_allowed(key->choices, value)) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, key->name, "\"%s\" is not one of %s", value,
                                  key->choices);
        }
        mrpc_str_copy(base, key->size, value);
        return MRPC_OK;
    case MRPC_CONFIG_FLOAT: {
        double v;
        if (!mrpc_parse_f64(value, &v)) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, key->name, "expected a number, got \"%s\"",
                                  value);
        }
        mrpc_status s = check_range(key, v, value, source, line, col, err);
        if (s != MRPC_OK) return s;
        *(double *)base = v;
        return MRPC_OK;
    }
    case MRPC_CONFIG_INT: {
        int64_t v;
        double d;
        if (!mrpc_parse_i64(value, &v)) {
            /* "1e3" and "128.0" are integers written as floats, common in sweep files. */
            if (mrpc_parse_f64(value, &d) && d == floor(d) && fabs(d) < 9.0e15) {
                v = (int64_t)d;
            } else {
                return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, col, key->name,
                                      "expected an integer, got \"%s\"", value);
            }
        }
        mrpc_status s = check_range(key, (double)v, value, source, line, col, err);
        if (s != MRPC_OK) return s;
        *(int64_t *)base = v;
        return MRPC_OK;
    }
    }
    return mrpc_error_set(err, MRPC_ERR_INTERNAL, source, line, col, key->name, "unknown key type");
}

void mrpc_run_config_defaults(mrpc_run_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++) {
        const mrpc_config_key *key = &schema[i];
        if (!key->default_value) {
            *(double *)((char *)cfg + key->offset) = NAN;
            continue;
        }
        /* Defaults are valid by construction (checked by the schema test); a
         * ${VAR:-fallback} default cannot fail. */
        if (apply_value(cfg, key, key->default_value, "default", 0, 0, NULL) != MRPC_OK) {
            memset((char *)cfg + key->offset, 0, key->size);
        }
    }
}

mrpc_status mrpc_run_config_set(mrpc_run_config *cfg, const char *key_name, const char *value, const char *source,
                                long line, long column, mrpc_error *err) {
    const mrpc_config_key *key = mrpc_run_config_find_key(key_name);
    if (!key) {
        /* Suggest the dotted form when the user wrote a section key at the top level. */
        for (size_t i = 0; i < N_KEYS; i++) {
            const char *dot = strchr(schema[i].name, '.');
            if (dot && strcmp(dot + 1, key_name) == 0) {
                return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, column, key_name,
                                      "unknown key (did you mean %s?)", schema[i].name);
            }
        }
        return mrpc_error_set(err, MRPC_ERR_INVALID, source, line, column, key_name,
                              "unknown key (mrpc-train --print-config lists them all)");
    }
    mrpc_status s = apply_value(cfg, key, value, source, line, column, err);
    if (s == MRPC_OK) cfg->is_set[key_index(key)] = 1;
    return s;
}

mrpc_status mrpc_run_config_set_assignment(mrpc_run_config *cfg, const char *assignment, mrpc_error *err) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, "--set", 0, 0, NULL, "expected key=value, got \"%s\"", assignment);
    }
    char key[128];
    size_t n = (size_t)(eq - assignment);
    if (n >= sizeof key) return mrpc_error_set(err, MRPC_ERR_INVALID, "--set", 0, 0, NULL, "key too long");
    memcpy(key, assignment, n);
    key[n] = '\0';
    return mrpc_run_config_set(cfg, key, eq + 1, "--set", 0, 0, err);
}

int mrpc_run_config_is_set(const mrpc_run_config *cfg, const char *key_name) {
    const mrpc_config_key *key = mrpc_run_config_find_key(key_name);
    return key ? cfg->is_set[key_index(key)] : 0;
}

/* ---- YAML -------------------------------------------------------------------------- */

/* Directory part of `path` ("" when none), for resolving relative paths in a file. */
static void dir_of(const char *path, char *out, size_t out_size) {
    const char *slash = strrchr(path, '/');
    if (!slash) { out[0] = '\0'; return; }
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/x" -> "/" */
    if (n >= out_size) n = out_size - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

/* Walks a mapping, turning nested mappings into dotted keys. */
static mrpc_status load_mapping(const mrpc_yaml_doc *doc, const yaml_node_t *map, const char *prefix,
                                const char *base_dir, mrpc_run_config *cfg, mrpc_error *err) {
    size_t n = mrpc_yaml_len(map);
    for (size_t i = 0; i < n; i++) {
        const char *k;
        const yaml_node_t *key_node, *value;
        mrpc_yaml_map_at(doc, map, i, &k, &key_node, &value);
        char name[128];
        if (snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", k) >= (int)sizeof name) {
            return mrpc_yaml_error_at(doc, key_node, err, MRPC_ERR_INVALID, k, "key too long");
        }
        if (value && value->type == YAML_MAPPING_NODE) {
            int is_section = 0;
            size_t plen = strlen(name);
            for (size_t j = 0; j < N_KEYS; j++)
                if (strncmp(schema[j].name, name, plen) == 0 && schema[j].name[plen] == '.') is_section = 1;
            if (!is_section) {
                if (mrpc_run_config_find_key(name)) {
                    return mrpc_yaml_error_at(doc, value, err, MRPC_ERR_INVALID, name, "expected a single value, got a mapping");
                }
                return mrpc_yaml_error_at(doc, key_node, err, MRPC_ERR_INVALID, name,
                                          "unknown section (mrpc-train --print-config lists the keys)");
            }
            mrpc_status s = load_mapping(doc, value, name, base_dir, cfg, err);
            if (s != MRPC_OK) return s;
            continue;
        }
        const mrpc_config_key *key = mrpc_run_config_find_key(name);
        long line = value ? (long)value->start_mark.line + 1 : (long)key_node->start_mark.line + 1;
        long col = value ? (long)value->start_mark.column + 1 : (long)key_node->start_mark.column + 1;
        if (!key) {
            return mrpc_run_config_set(cfg, name, "", mrpc_yaml_name(doc), (long)key_node->start_mark.line + 1,
                                       (long)key_node->start_mark.column + 1, err);
        }
        const char *text = mrpc_yaml_scalar(value);
        if (!text) {
            return mrpc_yaml_error_at(doc, value, err, MRPC_ERR_INVALID, name, "expected a single value, got a %s",
                                      value && value->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
        }
        int numeric = key->type == MRPC_CONFIG_FLOAT || key->type == MRPC_CONFIG_INT;
        if (numeric && mrpc_yaml_is_quoted(value)) {
            return mrpc_yaml_error_at(doc, value, err, MRPC_ERR_INVALID, name, "expected a number, got the string \"%s\"",
                                      text);
        }
        if (mrpc_yaml_is_null(value)) {
            return mrpc_yaml_error_at(doc, value, err, MRPC_ERR_INVALID, name, "has no value");
        }
        char resolved[MRPC_PATH_MAX];
        if (key->type == MRPC_CONFIG_PATH && base_dir[0] && text[0] && text[0] != '/' && text[0] != '$' &&
            strcmp(text, "random") != 0) {
            /* Relative paths in a file are relative to the file, so configs work from any cwd. */
            if (snprintf(resolved, sizeof resolved, "%s/%s", base_dir, text) >= (int)sizeof resolved) {
                return mrpc_yaml_error_at(doc, value, err, MRPC_ERR_INVALID, name, "path too long");
            }
            text = resolved;
        }
        mrpc_status s = mrpc_run_config_set(cfg, name, text, mrpc_yaml_name(doc), line, col, err);
        if (s != MRPC_OK) return s;
    }
    return MRPC_OK;
}

static mrpc_status load_doc(const mrpc_yaml_doc *doc, const char *base_dir, mrpc_run_config *cfg, mrpc_error *err) {
    const yaml_node_t *root = mrpc_yaml_root(doc);
    if (!root) return MRPC_OK; /* an empty file means "all defaults" */
    if (root->type != YAML_MAPPING_NODE) {
        return mrpc_yaml_error_at(doc, root, err, MRPC_ERR_INVALID, NULL, "a run config must be a mapping of keys to values");
    }
    mrpc_str_copy(cfg->source, sizeof cfg->source, mrpc_yaml_name(doc));
    return load_mapping(doc, root, "", base_dir, cfg, err);
}

mrpc_status mrpc_run_config_load_file(const char *path, mrpc_run_config *cfg, mrpc_error *err) {
    mrpc_yaml_doc *doc;
    mrpc_status s = mrpc_yaml_load_file(path, &doc, err);
    if (s != MRPC_OK) return s;
    char base_dir[MRPC_PATH_MAX];
    dir_of(path, base_dir, sizeof base_dir);
    s = load_doc(doc, base_dir, cfg, err);
    mrpc_yaml_free(doc);
    return s;
}

mrpc_status mrpc_run_config_load_string(const char *name, const char *text, size_t size, mrpc_run_config *cfg,
                                        mrpc_error *err) {
    mrpc_yaml_doc *doc;
    mrpc_status s = mrpc_yaml_load_string(name, text, size, &doc, err);
    if (s != MRPC_OK) return s;
    s = load_doc(doc, "", cfg, err);
    mrpc_yaml_free(doc);
    return s;
}

/* ---- finalize ---------------------------------------------------------------------- */

static void basename_no_ext(const char *path, char *out, size_t out_size) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    mrpc_str_copy(out, out_size, base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

mrpc_status mrpc_run_config_finalize(mrpc_run_config *cfg, double ckpt_dropout, double ckpt_attention_dropout,
                                     double ckpt_classifier_dropout, mrpc_error *err) {
    const char *src = cfg->source[0] ? cfg->source : "config";
    struct { const char *key; double *value; double from_ckpt; } drops[] = {
        {"dropout", &cfg->dropout, ckpt_dropout},
        {"attention_dropout", &cfg->attention_dropout, ckpt_attention_dropout},
        {"classifier_dropout", &cfg->classifier_dropout, ckpt_classifier_dropout},
    };
    for (size_t i = 0; i < 3; i++) {
        if (!mrpc_run_config_is_set(cfg, drops[i].key)) *drops[i].value = drops[i].from_ckpt;
        if (!(*drops[i].value >= 0.0 && *drops[i].value < 1.0)) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, src, 0, 0, drops[i].key, "must be in [0, 1), got %g",
                                  *drops[i].value);
        }
    }
    if (!cfg->output[0]) return mrpc_error_set(err, MRPC_ERR_INVALID, src, 0, 0, "output", "must not be empty");
    if (!cfg->run_id[0]) basename_no_ext(cfg->output, cfg->run_id, sizeof cfg->run_id);
    if (!mrpc_name_is_safe(cfg->run_id)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, src, 0, 0, "run_id",
                              "\"%s\" is not a safe name: use 1-128 characters from [A-Za-z0-9._-], not starting with "
                              "'.' or '-'", cfg->run_id);
    }
    if (!mrpc_name_is_safe(cfg->stage)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, src, 0, 0, "stage", "\"%s\" is not a safe name", cfg->stage);
    }
    if (strcmp(cfg->model_path, "random") == 0) {
        if (cfg->model_dim % cfg->model_n_heads != 0) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, src, 0, 0, "model.n_heads", "%lld heads do not divide dim %lld",
                                  (long long)cfg->model_n_heads, (long long)cfg->model_dim);
        }
        if (cfg->max_seq_length > cfg->model_max_positions) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, src, 0, 0, "max_seq_length",
                                  "%lld is longer than the model's %lld positions", (long long)cfg->max_seq_length,
                                  (long long)cfg->model_max_positions);
        }
    }
    if (!cfg->train_path[0]) return mrpc_error_set(err, MRPC_ERR_INVALID, src, 0, 0, "data.train", "must not be empty");
    if (!cfg->validation_path[0]) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, src, 0, 0, "data.validation", "must not be empty");
    }
    if (!cfg->resume_checkpoint[0]) {
        if (snprintf(cfg->resume_checkpoint, sizeof cfg->resume_checkpoint, "%s.resume", cfg->output) >=
            (int)sizeof cfg->resume_checkpoint) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, src, 0, 0, "output", "path too long");
        }
    }
    return MRPC_OK;
}

/* ---- output ------------------------------------------------------------------------ */

int mrpc_run_config_get_text(const mrpc_run_config *cfg, const char *key_name, char *out, size_t out_size) {
    const mrpc_config_key *key = mrpc_run_config_find_key(key_name);
    if (!key) return 0;
    const char *base = (const char *)cfg + key->offset;
    switch (key->type) {
    case MRPC_CONFIG_FLOAT: mrpc_format_f64(out, out_size, *(const double *)base); break;
    case MRPC_CONFIG_INT: snprintf(out, out_size, "%lld", (long long)*(const int64_t *)base); break;
    default: mrpc_str_copy(out, out_size, base); break;
    }
    return 1;
}

size_t mrpc_run_config_hparams(const mrpc_run_config *cfg, mrpc_hparam *out, size_t max_out) {
    size_t n = 0;
    for (size_t i = 0; i < N_KEYS && n < max_out; i++) {
        const mrpc_config_key *key = &schema[i];
        if (!(key->flags & MRPC_CONFIG_HPARAM)) continue;
        mrpc_hparam *h = &out[n++];
        memset(h, 0, sizeof *h);
        mrpc_str_copy(h->name, sizeof h->name, key->name);
        const char *base = (const char *)cfg + key->offset;
        if (key->type == MRPC_CONFIG_INT) {
            h->kind = MRPC_VALUE_INT;
            h->i = *(const int64_t *)base;
            h->f = (double)h->i;
        } else {
            h->kind = MRPC_VALUE_FLOAT;
            h->f = *(const double *)base;
        }
    }
    return n;
}

/* Double-quoted YAML scalar with escapes, always safe whatever the content. */
static void sb_quoted(mrpc_strbuf *sb, const char *s) {
    mrpc_strbuf_appendf(sb, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') mrpc_strbuf_appendf(sb, "\\%c", *p);
        else if (*p == '\n') mrpc_strbuf_appendf(sb, "\\n");
        else if (*p == '\t') mrpc_strbuf_appendf(sb, "\\t");
        else if (*p < 0x20 || *p == 0x7f) mrpc_strbuf_appendf(sb, "\\x%02x", *p);
        else mrpc_strbuf_appendf(sb, "%c", *p);
    }
    mrpc_strbuf_appendf(sb, "\"");
}

/* What a YAML rendering of the config is for. */
typedef enum yaml_use { YAML_DOCS, YAML_RECORD, YAML_HASH } yaml_use;

static void write_key(mrpc_strbuf *sb, const mrpc_run_config *cfg, const mrpc_config_key *key, int indent, yaml_use use) {
    int with_docs = use == YAML_DOCS;
    if (!with_docs && (key->flags & MRPC_CONFIG_CONTROL)) return; /* not part of the recorded run */
    if (use == YAML_HASH && (key->flags & MRPC_CONFIG_NOT_IN_HASH)) return;
    const char *dot = strrchr(key->name, '.');
    const char *leaf = dot ? dot + 1 : key->name;
    char text[MRPC_PATH_MAX];
    mrpc_run_config_get_text(cfg, key->name, text, sizeof text);
    mrpc_strbuf_appendf(sb, "%*s%s: ", indent, "", leaf);
    const char *base = (const char *)cfg + key->offset;
    if (key->type == MRPC_CONFIG_FLOAT && isnan(*(const double *)base)) {
        mrpc_strbuf_appendf(sb, "null");
    } else if (key->type == MRPC_CONFIG_FLOAT || key->type == MRPC_CONFIG_INT) {
        mrpc_strbuf_appendf(sb, "%s", text);
    } else if (key->type == MRPC_CONFIG_PATH && strchr(text, '$')) {
        /* Paths are expanded when read: print a literal "$" as "$$" so it reads back. */
        char escaped[2 * MRPC_PATH_MAX];
        size_t o = 0;
        for (const char *p = text; *p && o + 2 < sizeof escaped; p++) {
            if (*p == '$') escaped[o++] = '$';
            escaped[o++] = *p;
        }
        escaped[o] = '\0';
        sb_quoted(sb, escaped);
    } else {
        sb_quoted(sb, text);
    }
    if (with_docs) mrpc_strbuf_appendf(sb, "  # %s", key->doc);
    mrpc_strbuf_appendf(sb, "\n");
}

static mrpc_status to_yaml(const mrpc_run_config *cfg, yaml_use use, char **out, mrpc_error *err) {
    mrpc_strbuf sb = {0};
    *out = NULL;
    /* Sections in schema order: keys without a dot at the top, then each section. */
    const char *sections[N_KEYS];
    size_t n_sections = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *dot = strchr(schema[i].name, '.');
        if (!dot) continue;
        size_t len = (size_t)(dot - schema[i].name);
        int seen = 0;
        for (size_t j = 0; j < n_sections; j++)
            if (strncmp(sections[j], schema[i].name, len) == 0 && sections[j][len] == '.') seen = 1;
        if (!seen) sections[n_sections++] = schema[i].name;
    }
    for (size_t s = 0; s < n_sections; s++) {
        size_t len = (size_t)(strchr(sections[s], '.') - sections[s]);
        mrpc_strbuf_appendf(&sb, "%.*s:\n", (int)len, sections[s]);
        for (size_t i = 0; i < N_KEYS; i++)
            if (strncmp(schema[i].name, sections[s], len) == 0 && schema[i].name[len] == '.')
                write_key(&sb, cfg, &schema[i], 2, use);
    }
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strchr(schema[i].name, '.')) write_key(&sb, cfg, &schema[i], 0, use);
    if (sb.failed || !sb.data) {
        free(sb.data);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory writing the config");
    }
    *out = sb.data;
    return MRPC_OK;
}

mrpc_status mrpc_run_config_to_yaml(const mrpc_run_config *cfg, int with_docs, char **out, mrpc_error *err) {
    return to_yaml(cfg, with_docs ? YAML_DOCS : YAML_RECORD, out, err);
}

mrpc_status mrpc_run_config_hash(const mrpc_run_config *cfg, uint64_t *out, mrpc_error *err) {
    char *yaml = NULL;
    mrpc_status s = to_yaml(cfg, YAML_HASH, &yaml, err);
    if (s != MRPC_OK) return s;
    *out = mrpc_fnv1a(MRPC_FNV1A_INIT, yaml, strlen(yaml));
    free(yaml);
    return MRPC_OK;
}

/* test_hf_config.c — DistilBERT config.json: the real distilbert-base-uncased file,
 * defaults, attribute_map aliases, num_labels/id2label, every error path with the field
 * named, and a write/read round trip. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "hf_config.h"
#include "testutil.h"

/* huggingface.co/distilbert-base-uncased config.json (see docs/distilbert-mrpc-facts.md §1). */
static const char *const real_config =
    "{\n"
    "  \"activation\": \"gelu\",\n"
    "  \"architectures\": [\n"
    "    \"DistilBertForMaskedLM\"\n"
    "  ],\n"
    "  \"attention_dropout\": 0.1,\n"
    "  \"dim\": 768,\n"
    "  \"dropout\": 0.1,\n"
    "  \"hidden_dim\": 3072,\n"
    "  \"initializer_range\": 0.02,\n"
    "  \"max_position_embeddings\": 512,\n"
    "  \"model_type\": \"distilbert\",\n"
    "  \"n_heads\": 12,\n"
    "  \"n_layers\": 6,\n"
    "  \"pad_token_id\": 0,\n"
    "  \"qa_dropout\": 0.1,\n"
    "  \"seq_classif_dropout\": 0.2,\n"
    "  \"sinusoidal_pos_embds\": false,\n"
    "  \"tie_weights_\": true,\n"
    "  \"transformers_version\": \"4.10.0.dev0\",\n"
    "  \"vocab_size\": 30522\n"
    "}\n";

static int same_config(const mrpc_hf_config *a, const mrpc_hf_config *b) {
    return a->dim == b->dim && a->n_layers == b->n_layers && a->n_heads == b->n_heads &&
           a->hidden_dim == b->hidden_dim && a->vocab_size == b->vocab_size &&
           a->max_position_embeddings == b->max_position_embeddings && a->num_labels == b->num_labels &&
           a->pad_token_id == b->pad_token_id && a->dropout == b->dropout &&
           a->attention_dropout == b->attention_dropout && a->seq_classif_dropout == b->seq_classif_dropout &&
           a->initializer_range == b->initializer_range;
}

static mrpc_status parse(const char *text, mrpc_hf_config *cfg, mrpc_error *err) {
    return mrpc_hf_config_parse("test.json", text, strlen(text), cfg, err);
}

/* `text` must fail with `status` (0: any failure) naming test.json and `field` ("" = none); cfg untouched. */
static void expect_error(const char *text, mrpc_status status, const char *field) {
    mrpc_hf_config cfg;
    memset(&cfg, 0x5a, sizeof cfg);
    mrpc_hf_config before = cfg;
    mrpc_error err = {0};
    mrpc_status s = parse(text, &cfg, &err);
    CHECK(s != MRPC_OK, "accepted: %s", text);
    if (status) CHECK(s == status, "status %s, want %s for %s", mrpc_status_str(s), mrpc_status_str(status), text);
    CHECK(strcmp(err.file, "test.json") == 0, "err.file '%s' for %s", err.file, text);
    CHECK(strcmp(err.field, field) == 0, "err.field '%s', want '%s' for %s (%s)", err.field, field, text, err.message);
    CHECK(memcmp(&cfg, &before, sizeof cfg) == 0, "cfg modified on failure: %s", text);
}

static void test_real_and_defaults(void) {
    mrpc_hf_config def, cfg;
    mrpc_hf_config_defaults(&def);
    CHECK(def.dim == 768 && def.n_layers == 6 && def.n_heads == 12 && def.hidden_dim == 3072 &&
          def.vocab_size == 30522 && def.max_position_embeddings == 512 && def.num_labels == 2 &&
          def.pad_token_id == 0 && def.dropout == 0.1 && def.attention_dropout == 0.1 &&
          def.seq_classif_dropout == 0.2 && def.initializer_range == 0.02,
          "DistilBertConfig defaults");
    mrpc_hf_config_defaults(NULL);

    mrpc_error err = {0};
    memset(&cfg, 0, sizeof cfg);
    CHECK_OK(parse(real_config, &cfg, &err), &err);
    CHECK(same_config(&cfg, &def), "real config equals the defaults");

    memset(&cfg, 0, sizeof cfg);
    CHECK_OK(parse("{}", &cfg, &err), &err);
    CHECK(same_config(&cfg, &def), "empty object gives the defaults");

    CHECK_OK(parse("{\"dim\": 512, \"n_heads\": 8, \"dropout\": 0, \"initializer_range\": 1e-2, \"unknown\": [1, {}]}",
                   &cfg, &err), &err);
    CHECK(cfg.dim == 512 && cfg.n_heads == 8 && cfg.dropout == 0.0 && cfg.initializer_range == 0.01 &&
          cfg.n_layers == 6, "partial config over defaults (integer accepted for a float field)");

    /* From a file: the path goes into err.file. */
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", mrpc_test_tmpdir());
    CHECK_OK(mrpc_file_write_atomic(path, real_config, strlen(real_config), &err), &err);
    memset(&cfg, 0, sizeof cfg);
    CHECK_OK(mrpc_hf_config_read(path, &cfg, &err), &err);
    CHECK(same_config(&cfg, &def), "read from file");
    const char *bad = "{\n  \"dim\": 768,\n  \"activation\": \"relu\"\n}\n";
    CHECK_OK(mrpc_file_write_atomic(path, bad, strlen(bad), &err), &err);
    mrpc_error e = {0};
    CHECK(mrpc_hf_config_read(path, &cfg, &e) == MRPC_ERR_UNSUPPORTED, "relu from file");
    CHECK(strcmp(e.file, path) == 0 && strcmp(e.field, "activation") == 0, "file %s field %s", e.file, e.field);
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/missing.json", mrpc_test_tmpdir());
    memset(&e, 0, sizeof e);
    CHECK(mrpc_hf_config_read(missing, &cfg, &e) == MRPC_ERR_IO && strcmp(e.file, missing) == 0, "missing file");
}

static void test_aliases_and_labels(void) {
    mrpc_hf_config cfg;
    mrpc_error err = {0};
    CHECK_OK(parse("{\"hidden_size\": 256, \"num_attention_heads\": 4, \"num_hidden_layers\": 3}", &cfg, &err), &err);
    CHECK(cfg.dim == 256 && cfg.n_heads == 4 && cfg.n_layers == 3, "aliases: %d %d %d", cfg.dim, cfg.n_heads, cfg.n_layers);
    CHECK_OK(parse("{\"dim\": 256, \"hidden_size\": 256, \"n_heads\": 4, \"num_attention_heads\": 4}", &cfg, &err), &err);
    CHECK(cfg.dim == 256 && cfg.n_heads == 4, "agreeing alias and field");
    expect_error("{\"dim\": 768, \"hidden_size\": 512}", MRPC_ERR_INVALID, "hidden_size");
    expect_error("{\"n_layers\": 6, \"num_hidden_layers\": 12}", MRPC_ERR_INVALID, "num_hidden_layers");
    expect_error("{\"num_attention_heads\": \"12\"}", MRPC_ERR_INVALID, "num_attention_heads");
    expect_error("{\"hidden_size\": 770}", MRPC_ERR_INVALID, "n_heads"); /* 770 % 12 != 0 */

    CHECK_OK(parse("{\"num_labels\": 3}", &cfg, &err), &err);
    CHECK(cfg.num_labels == 3, "num_labels 3");
    CHECK_OK(parse("{\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\", \"3\": \"d\"}}", &cfg, &err), &err);
    CHECK(cfg.num_labels == 4, "num_labels from id2label: %d", cfg.num_labels);
    CHECK_OK(parse("{\"id2label\": {\"1\": \"equivalent\", \"0\": \"not_equivalent\"}, \"num_labels\": 2, "
                   "\"label2id\": {\"equivalent\": 1, \"not_equivalent\": 0}}", &cfg, &err), &err);
    CHECK(cfg.num_labels == 2, "agreeing num_labels and id2label");
    expect_error("{\"id2label\": {\"0\": \"a\"}, \"num_labels\": 2}", MRPC_ERR_INVALID, "num_labels");
    expect_error("{\"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", MRPC_ERR_INVALID, "id2label");
    expect_error("{\"id2label\": {\"0\": \"a\", \"00\": \"b\"}}", MRPC_ERR_INVALID, "id2label");
    expect_error("{\"id2label\": {\"x\": \"a\"}}", MRPC_ERR_INVALID, "id2label");
    expect_error("{\"id2label\": {\"0\": 1}}", MRPC_ERR_INVALID, "id2label");
    expect_error("{\"id2label\": {}}", MRPC_ERR_INVALID, "id2label");
    expect_error("{\"id2label\": [\"a\", \"b\"]}", MRPC_ERR_INVALID, "id2label");
    expect_error("{\"num_labels\": 0}", MRPC_ERR_INVALID, "num_labels");
    expect_error("{\"num_labels\": 2.0}", MRPC_ERR_INVALID, "num_labels");
}

static void test_errors(void) {
    /* unsupported features */
    expect_error("{\"sinusoidal_pos_embds\": true}", MRPC_ERR_UNSUPPORTED, "sinusoidal_pos_embds");
    expect_error("{\"activation\": \"relu\"}", MRPC_ERR_UNSUPPORTED, "activation");
    expect_error("{\"activation\": \"gelu_new\"}", MRPC_ERR_UNSUPPORTED, "activation");
    expect_error("{\"model_type\": \"bert\"}", MRPC_ERR_UNSUPPORTED, "model_type");
    /* wrong JSON types */
    expect_error("{\"sinusoidal_pos_embds\": \"false\"}", MRPC_ERR_INVALID, "sinusoidal_pos_embds");
    expect_error("{\"sinusoidal_pos_embds\": 0}", MRPC_ERR_INVALID, "sinusoidal_pos_embds");
    expect_error("{\"activation\": 1}", MRPC_ERR_INVALID, "activation");
    expect_error("{\"activation\": null}", MRPC_ERR_INVALID, "activation");
    expect_error("{\"model_type\": [\"distilbert\"]}", MRPC_ERR_INVALID, "model_type");
    expect_error("{\"dim\": \"768\"}", MRPC_ERR_INVALID, "dim");
    expect_error("{\"dim\": 768.0}", MRPC_ERR_INVALID, "dim");
    expect_error("{\"dim\": true}", MRPC_ERR_INVALID, "dim");
    expect_error("{\"hidden_dim\": \"3072\"}", MRPC_ERR_INVALID, "hidden_dim");
    expect_error("{\"vocab_size\": [30522]}", MRPC_ERR_INVALID, "vocab_size");
    expect_error("{\"pad_token_id\": null}", MRPC_ERR_INVALID, "pad_token_id");
    expect_error("{\"dropout\": \"0.1\"}", MRPC_ERR_INVALID, "dropout");
    expect_error("{\"seq_classif_dropout\": null}", MRPC_ERR_INVALID, "seq_classif_dropout");
    expect_error("{\"initializer_range\": {}}", MRPC_ERR_INVALID, "initializer_range");
    /* values out of range */
    expect_error("{\"dim\": 770}", MRPC_ERR_INVALID, "n_heads");
    expect_error("{\"dim\": 0}", MRPC_ERR_INVALID, "dim");
    expect_error("{\"dim\": -768}", MRPC_ERR_INVALID, "dim");
    expect_error("{\"dim\": 10000000000}", MRPC_ERR_INVALID, "dim");
    expect_error("{\"dim\": 33554432, \"n_heads\": 1}", MRPC_ERR_INVALID, "dim");
    expect_error("{\"n_layers\": 0}", MRPC_ERR_INVALID, "n_layers");
    expect_error("{\"n_heads\": -1}", MRPC_ERR_INVALID, "n_heads");
    expect_error("{\"n_heads\": 0}", MRPC_ERR_INVALID, "n_heads");
    expect_error("{\"hidden_dim\": 0}", MRPC_ERR_INVALID, "hidden_dim");
    expect_error("{\"vocab_size\": 0}", MRPC_ERR_INVALID, "vocab_size");
    expect_error("{\"max_position_embeddings\": -512}", MRPC_ERR_INVALID, "max_position_embeddings");
    expect_error("{\"pad_token_id\": 30522}", MRPC_ERR_INVALID, "pad_token_id");
    expect_error("{\"pad_token_id\": -1}", MRPC_ERR_INVALID, "pad_token_id");
    expect_error("{\"dropout\": 1.0}", MRPC_ERR_INVALID, "dropout");
    expect_error("{\"dropout\": -0.1}", MRPC_ERR_INVALID, "dropout");
    expect_error("{\"attention_dropout\": 1.5}", MRPC_ERR_INVALID, "attention_dropout");
    expect_error("{\"seq_classif_dropout\": 1}", MRPC_ERR_INVALID, "seq_classif_dropout");
    expect_error("{\"initializer_range\": -0.02}", MRPC_ERR_INVALID, "initializer_range");
    expect_error("{\"initializer_range\": 1e999}", 0, ""); /* jansson: real number overflow */
    /* JSON syntax */
    expect_error("{\"dim\": 768,}", MRPC_ERR_PARSE, "");
    expect_error("", MRPC_ERR_PARSE, "");
    expect_error("[1, 2]", MRPC_ERR_PARSE, "");
    expect_error("\"distilbert\"", MRPC_ERR_PARSE, "");
    expect_error("{\"dim\": 768, \"dim\": 512}", MRPC_ERR_PARSE, "");
    expect_error("{\"dim\": 768} {}", MRPC_ERR_PARSE, "");
    expect_error("{\"dim\": 768", MRPC_ERR_PARSE, "");

    /* JSON syntax errors carry line and column. */
    mrpc_hf_config cfg;
    mrpc_error err = {0};
    CHECK(parse("{\n  \"dim\": 768,\n  \"n_heads\": 12,\n}\n", &cfg, &err) == MRPC_ERR_PARSE, "trailing comma");
    CHECK(err.line == 4, "line %ld", err.line);
    CHECK(err.column >= 1, "column %ld", err.column);
    /* Text need not be NUL-terminated: parse only the first bytes. */
    const char *text = "{\"dim\": 240}garbage";
    CHECK_OK(mrpc_hf_config_parse("slice", text, 12, &cfg, &err), &err);
    CHECK(cfg.dim == 240, "slice parsed");
    CHECK(mrpc_hf_config_parse(NULL, "{", 1, &cfg, &err) == MRPC_ERR_PARSE, "NULL name");
    CHECK(err.file[0] != '\0', "a default name is used");
}

static void test_write_round_trip(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/out/config.json", mrpc_test_tmpdir());
    mrpc_error err = {0};
    CHECK_OK(mrpc_mkdir_parent(path, &err), &err);

    mrpc_hf_config cfg = {
        .dim = 256, .n_layers = 2, .n_heads = 4, .hidden_dim = 1024, .vocab_size = 1000,
        .max_position_embeddings = 128, .num_labels = 3, .pad_token_id = 5, .dropout = 0.15,
        .attention_dropout = 0.05, .seq_classif_dropout = 0.3, .initializer_range = 1.0 / 3.0,
    };
    CHECK_OK(mrpc_hf_config_write(path, &cfg, &err), &err);
    mrpc_hf_config back;
    memset(&back, 0, sizeof back);
    CHECK_OK(mrpc_hf_config_read(path, &back, &err), &err);
    CHECK(same_config(&cfg, &back), "round trip of non-default values");

    char *text = NULL;
    size_t n = 0;
    CHECK_OK(mrpc_file_read_all(path, 0, &text, &n, &err), &err);
    CHECK(text && strstr(text, "\"architectures\": [\n    \"DistilBertForSequenceClassification\"\n  ]"), "architectures");
    CHECK(text && strstr(text, "\"model_type\": \"distilbert\""), "model_type");
    CHECK(text && strstr(text, "\"LABEL_2\": 2") && strstr(text, "\"2\": \"LABEL_2\""), "3 labels");
    CHECK(text && strstr(text, "\"dropout\": 0.15,"), "shortest float form");
    free(text);

    mrpc_hf_config def;
    mrpc_hf_config_defaults(&def);
    CHECK_OK(mrpc_hf_config_write(path, &def, &err), &err);
    CHECK_OK(mrpc_hf_config_read(path, &back, &err), &err);
    CHECK(same_config(&def, &back), "round trip of the defaults");
    CHECK_OK(mrpc_file_read_all(path, 0, &text, &n, &err), &err);
    CHECK(text && strstr(text, "\"0\": \"not_equivalent\"") && strstr(text, "\"equivalent\": 1"), "MRPC label names");
    CHECK(text && strstr(text, "\"attention_dropout\": 0.1,") && strstr(text, "\"initializer_range\": 0.02,"),
          "floats written as 0.1 and 0.02");
    CHECK(text && strstr(text, "\"sinusoidal_pos_embds\": false") && strstr(text, "\"activation\": \"gelu\""),
          "fixed fields");
    free(text);

    /* An invalid config is refused, naming the field, and the old file stays. */
    mrpc_hf_config bad = def;
    bad.n_heads = 7;
    mrpc_error e = {0};
    CHECK(mrpc_hf_config_write(path, &bad, &e) == MRPC_ERR_INVALID, "dim %% n_heads");
    CHECK(strcmp(e.field, "n_heads") == 0 && strcmp(e.file, path) == 0, "field %s file %s", e.field, e.file);
    bad = def;
    bad.dropout = NAN;
    CHECK(mrpc_hf_config_write(path, &bad, &e) == MRPC_ERR_INVALID && strcmp(e.field, "dropout") == 0, "NaN dropout");
    bad = def;
    bad.initializer_range = INFINITY;
    CHECK(mrpc_hf_config_write(path, &bad, &e) == MRPC_ERR_INVALID && strcmp(e.field, "initializer_range") == 0,
          "infinite initializer_range");
    CHECK_OK(mrpc_hf_config_read(path, &back, &err), &err);
    CHECK(same_config(&def, &back), "old file kept");
    CHECK(mrpc_hf_config_validate(NULL, NULL, &e) != MRPC_OK, "NULL config");
}

int main(void) {
    test_real_and_defaults();
    test_aliases_and_labels();
    test_errors();
    test_write_round_trip();
    return mrpc_test_report();
}

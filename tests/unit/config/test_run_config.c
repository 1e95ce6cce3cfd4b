/* test_run_config.c — the run config schema: defaults, YAML, --set, errors, printing. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "run_config.h"
#include "testutil.h"

static mrpc_status load(const char *text, mrpc_run_config *cfg, mrpc_error *err) {
    mrpc_run_config_defaults(cfg);
    return mrpc_run_config_load_string("run.yaml", text, strlen(text), cfg, err);
}

static void test_schema_defaults(void) {
    mrpc_run_config cfg;
    mrpc_run_config_defaults(&cfg);
    /* Every default is valid under its own key's rules. */
    for (size_t i = 0; i < mrpc_run_config_key_count(); i++) {
        const mrpc_config_key *key = mrpc_run_config_key_at(i);
        CHECK(key->doc && key->doc[0], "%s has documentation", key->name);
        if (!key->default_value) {
            CHECK(key->flags & MRPC_CONFIG_FROM_CHECKPOINT, "%s without default comes from the checkpoint", key->name);
            continue;
        }
        mrpc_run_config tmp;
        mrpc_error err = {0};
        mrpc_run_config_defaults(&tmp);
        CHECK_OK(mrpc_run_config_set(&tmp, key->name, key->default_value, "default", 0, 0, &err), &err);
    }
    /* HF Trainer defaults for MRPC. */
    CHECK(cfg.learning_rate == 5e-5, "lr 5e-5");
    CHECK(cfg.weight_decay == 0.0, "wd 0");
    CHECK(cfg.adam_epsilon == 1e-8, "eps 1e-8");
    CHECK(cfg.adam_beta1 == 0.9 && cfg.adam_beta2 == 0.999, "betas");
    CHECK(cfg.warmup_steps == 0, "warmup 0");
    CHECK(cfg.max_seq_length == 128, "max_seq_length 128");
    CHECK(cfg.max_grad_norm == 1.0, "clip 1.0");
    CHECK(cfg.num_epochs == 3, "3 epochs");
    CHECK(cfg.train_batch_size == 8 && cfg.eval_batch_size == 8, "batch 8");
    CHECK(cfg.seed == 42, "seed 42");
    CHECK(isnan(cfg.dropout) && isnan(cfg.attention_dropout) && isnan(cfg.classifier_dropout),
          "dropouts wait for the checkpoint");
    CHECK(strcmp(cfg.model_path, "random") == 0, "random model by default");
    CHECK(strcmp(cfg.truncation, "longest_first") == 0, "the fast tokenizer's truncation rule by default");
    mrpc_hparam hp[MRPC_RUNREC_MAX_HPARAMS];
    size_t n = mrpc_run_config_hparams(&cfg, hp, MRPC_RUNREC_MAX_HPARAMS);
    const char *expected[] = {"learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon",
                              "warmup_steps", "dropout", "attention_dropout", "classifier_dropout", "max_seq_length",
                              "max_grad_norm", "num_epochs", "train_batch_size", "eval_batch_size", "seed"};
    CHECK(n == sizeof expected / sizeof expected[0], "%zu hyperparameters", n);
    for (size_t i = 0; i < n && i < sizeof expected / sizeof expected[0]; i++) {
        CHECK(strcmp(hp[i].name, expected[i]) == 0, "hparam %zu is %s, got %s", i, expected[i], hp[i].name);
    }
    CHECK(hp[5].kind == MRPC_VALUE_INT && hp[0].kind == MRPC_VALUE_FLOAT, "kinds follow the schema types");
}

static void test_yaml_values(void) {
    mrpc_run_config cfg;
    mrpc_error err = {0};
    const char *text =
        "model:\n  path: random\n  dim: 64\n  n_heads: 4\n"
        "data:\n  train: /d/train.tsv\n  max_train_examples: 100\n"
        "output: /tmp/r1.h5\nlearning_rate: 2e-5\nwarmup_steps: 1e2\nprecision: bf16\ndropout: 0.0\n";
    CHECK_OK(load(text, &cfg, &err), &err);
    CHECK(cfg.model_dim == 64 && cfg.model_n_heads == 4, "model dims");
    CHECK(strcmp(cfg.train_path, "/d/train.tsv") == 0, "train path");
    CHECK(cfg.max_train_examples == 100, "max_train_examples");
    CHECK(cfg.learning_rate == 2e-5, "lr");
    CHECK(cfg.warmup_steps == 100, "1e2 accepted as an integer");
    CHECK(strcmp(cfg.precision, "bf16") == 0, "precision");
    CHECK(mrpc_run_config_is_set(&cfg, "dropout") && !mrpc_run_config_is_set(&cfg, "attention_dropout"), "is_set");
    CHECK_OK(mrpc_run_config_finalize(&cfg, 0.1, 0.15, 0.2, &err), &err);
    CHECK(cfg.dropout == 0.0, "explicit dropout kept");
    CHECK(cfg.attention_dropout == 0.15 && cfg.classifier_dropout == 0.2, "dropouts from the checkpoint");
    CHECK(strcmp(cfg.run_id, "r1") == 0, "run_id from the output name: %s", cfg.run_id);
    CHECK(strcmp(cfg.resume_checkpoint, "/tmp/r1.h5.resume") == 0, "resume path derived");
}

static void expect_error(const char *text, mrpc_status status, long line, long col, const char *field,
                         const char *message_part) {
    mrpc_run_config cfg;
    mrpc_error err = {0};
    mrpc_status s = load(text, &cfg, &err);
    CHECK(s == status, "status %d for %s", s, field);
    CHECK(err.line == line && err.column == col, "%s at %ld:%ld, want %ld:%ld", field, err.line, err.column, line, col);
    CHECK(strcmp(err.field, field) == 0, "field '%s', want '%s'", err.field, field);
    CHECK(strcmp(err.file, "run.yaml") == 0, "file named");
    CHECK(strstr(err.message, message_part) != NULL, "message '%s' contains '%s'", err.message, message_part);
}

static void test_yaml_errors(void) {
    expect_error("learning_rate: 5e-5\nlerning_rate: 1\n", MRPC_ERR_INVALID, 2, 1, "lerning_rate", "unknown key");
    expect_error("learning_rate: fast\n", MRPC_ERR_INVALID, 1, 16, "learning_rate", "expected a number");
    expect_error("learning_rate: 0\n", MRPC_ERR_INVALID, 1, 16, "learning_rate", "out of range");
    expect_error("learning_rate: -1e-5\n", MRPC_ERR_INVALID, 1, 16, "learning_rate", "out of range");
    expect_error("num_epochs: 2.5\n", MRPC_ERR_INVALID, 1, 13, "num_epochs", "expected an integer");
    expect_error("dropout: 1.0\n", MRPC_ERR_INVALID, 1, 10, "dropout", "out of range");
    expect_error("max_seq_length: \"128\"\n", MRPC_ERR_INVALID, 1, 17, "max_seq_length", "string");
    expect_error("model:\n  dim: [1, 2]\n", MRPC_ERR_INVALID, 2, 8, "model.dim", "list");
    expect_error("model:\n  depth: 3\n", MRPC_ERR_INVALID, 2, 3, "model.depth", "unknown key");
    expect_error("precision: fp16\n", MRPC_ERR_INVALID, 1, 12, "precision", "not one of");
    expect_error("data:\n  truncation: only_first\n", MRPC_ERR_INVALID, 2, 15, "data.truncation", "not one of");
    expect_error("seed:\n", MRPC_ERR_INVALID, 1, 6, "seed", "no value");
    expect_error("dim: 3\n", MRPC_ERR_INVALID, 1, 1, "dim", "did you mean model.dim");
    expect_error("learning_rate: 1\nlearning_rate: 2\n", MRPC_ERR_INVALID, 2, 1, "learning_rate", "duplicate");
    expect_error("training:\n  lr: 1\n", MRPC_ERR_INVALID, 1, 1, "training", "unknown section");
    expect_error("- 1\n- 2\n", MRPC_ERR_INVALID, 1, 1, "", "must be a mapping");
    expect_error("output: ${MRPC_SURELY_UNSET_VAR}/x.h5\n", MRPC_ERR_INVALID, 1, 9, "output", "MRPC_SURELY_UNSET_VAR");
    {
        mrpc_run_config cfg;
        mrpc_error err = {0};
        CHECK(load("learning_rate: [1\n", &cfg, &err) == MRPC_ERR_PARSE, "malformed YAML");
        CHECK(err.line >= 1 && strcmp(err.file, "run.yaml") == 0, "malformed YAML has a location");
    }
}

static void test_set_and_env(void) {
    mrpc_run_config cfg;
    mrpc_error err = {0};
    mrpc_run_config_defaults(&cfg);
    CHECK_OK(mrpc_run_config_set_assignment(&cfg, "model.dim=256", &err), &err);
    CHECK(cfg.model_dim == 256, "--set model.dim");
    CHECK(mrpc_run_config_set_assignment(&cfg, "learning_rate", &err) == MRPC_ERR_INVALID, "missing =");
    CHECK(mrpc_run_config_set_assignment(&cfg, "nope=1", &err) == MRPC_ERR_INVALID && strcmp(err.file, "--set") == 0,
          "unknown --set key names --set");
    CHECK(mrpc_run_config_set_assignment(&cfg, "seed=-1", &err) == MRPC_ERR_INVALID, "negative seed");
    setenv("MRPC_TEST_DIR_X", "/data/x", 1);
    CHECK_OK(mrpc_run_config_set_assignment(&cfg, "data.vocab=${MRPC_TEST_DIR_X}/vocab.txt", &err), &err);
    CHECK(strcmp(cfg.vocab_path, "/data/x/vocab.txt") == 0, "env expanded: %s", cfg.vocab_path);
    CHECK_OK(mrpc_run_config_set_assignment(&cfg, "data.vocab=${MRPC_SURELY_UNSET_VAR:-fallback}/v.txt", &err), &err);
    CHECK(strcmp(cfg.vocab_path, "fallback/v.txt") == 0, "fallback used: %s", cfg.vocab_path);
    CHECK_OK(mrpc_run_config_set_assignment(&cfg, "data.vocab=/a/$${NOT_EXPANDED}/$$x", &err), &err);
    CHECK(strcmp(cfg.vocab_path, "/a/${NOT_EXPANDED}/$x") == 0, "$$ is a literal $: %s", cfg.vocab_path);
    char *printed = NULL;
    CHECK_OK(mrpc_run_config_to_yaml(&cfg, 0, &printed, &err), &err);
    CHECK(printed && strstr(printed, "vocab: \"/a/$${NOT_EXPANDED}/$$x\""), "a literal $ prints as $$");
    free(printed);
    CHECK_OK(mrpc_run_config_set_assignment(&cfg, "run_id=a;rm -rf", &err), &err);
    CHECK(mrpc_run_config_finalize(&cfg, 0.1, 0.1, 0.2, &err) == MRPC_ERR_INVALID && strcmp(err.field, "run_id") == 0,
          "unsafe run_id refused at finalize");
    mrpc_run_config_defaults(&cfg);
    CHECK_OK(mrpc_run_config_set_assignment(&cfg, "model.n_heads=3", &err), &err);
    CHECK(mrpc_run_config_finalize(&cfg, 0.1, 0.1, 0.2, &err) == MRPC_ERR_INVALID, "heads must divide dim");
    mrpc_run_config_defaults(&cfg);
    CHECK_OK(mrpc_run_config_set_assignment(&cfg, "max_seq_length=1024", &err), &err);
    CHECK(mrpc_run_config_finalize(&cfg, 0.1, 0.1, 0.2, &err) == MRPC_ERR_INVALID &&
              strcmp(err.field, "max_seq_length") == 0,
          "max_seq_length beyond the position table");
}

static void test_file_paths_and_round_trip(void) {
    const char *dir = mrpc_test_tmpdir();
    char path[1300], sub[1200];
    mrpc_error err = {0};
    snprintf(sub, sizeof sub, "%s/conf", dir);
    CHECK_OK(mrpc_mkdir_p(sub, &err), &err);
    snprintf(path, sizeof path, "%s/run.yaml", sub);
    const char *text = "output: runs/r.h5\ndata:\n  train: /abs/train.tsv\n  validation: dev.tsv\nrun_id: \"quote\\\"d\"\n";
    CHECK_OK(mrpc_file_write_atomic(path, text, strlen(text), &err), &err);
    mrpc_run_config cfg;
    mrpc_run_config_defaults(&cfg);
    CHECK_OK(mrpc_run_config_load_file(path, &cfg, &err), &err);
    char want[1300];
    snprintf(want, sizeof want, "%s/runs/r.h5", sub);
    CHECK(strcmp(cfg.output, want) == 0, "relative path resolved against the file: %s", cfg.output);
    CHECK(strcmp(cfg.train_path, "/abs/train.tsv") == 0, "absolute path kept");
    CHECK(strcmp(cfg.run_id, "quote\"d") == 0, "quoted string");
    CHECK(strcmp(cfg.source, path) == 0, "source recorded");

    /* --print-config output loads back to the same values. */
    cfg.dropout = 0.25;
    char *yaml = NULL;
    CHECK_OK(mrpc_run_config_to_yaml(&cfg, 1, &yaml, &err), &err);
    CHECK(yaml && strstr(yaml, "learning_rate: 5e-05  # peak AdamW learning rate"), "documented key in:\n%s",
          yaml ? yaml : "");
    CHECK(yaml && strstr(yaml, "attention_dropout: null"), "unresolved dropout printed as null");
    mrpc_run_config back;
    mrpc_run_config_defaults(&back);
    /* null dropouts are not valid input; drop those lines before loading back. */
    char *p;
    while (yaml && (p = strstr(yaml, ": null")) != NULL) {
        char *line_start = p;
        while (line_start > yaml && line_start[-1] != '\n') line_start--;
        char *line_end = strchr(p, '\n');
        memmove(line_start, line_end + 1, strlen(line_end + 1) + 1);
    }
    CHECK_OK(mrpc_run_config_load_string("printed.yaml", yaml, strlen(yaml), &back, &err), &err);
    for (size_t i = 0; i < mrpc_run_config_key_count(); i++) {
        const mrpc_config_key *key = mrpc_run_config_key_at(i);
        char a[MRPC_PATH_MAX], b[MRPC_PATH_MAX];
        mrpc_run_config_get_text(&cfg, key->name, a, sizeof a);
        mrpc_run_config_get_text(&back, key->name, b, sizeof b);
        if (key->flags & MRPC_CONFIG_FROM_CHECKPOINT && strcmp(key->name, "dropout") != 0) continue;
        CHECK(strcmp(a, b) == 0, "%s round trip: '%s' vs '%s'", key->name, a, b);
    }
    free(yaml);
}

/* The resume checkpoint's identity: how a run is watched and saved is not part of it,
 * what it computes is (mrpc_run_config_hash). */
static void test_hash(void) {
    mrpc_run_config cfg;
    mrpc_error err = {0};
    mrpc_run_config_defaults(&cfg);
    uint64_t h0 = 0, h = 0;
    CHECK_OK(mrpc_run_config_hash(&cfg, &h0, &err), &err);
    const char *same[] = {"progress_seconds=0", "save_strategy=steps", "save_steps=7", "save_minutes=3",
                          "save_checkpoint=/tmp/final", "pause_after_epoch=1"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        mrpc_run_config c = cfg;
        CHECK_OK(mrpc_run_config_set_assignment(&c, same[i], &err), &err);
        CHECK_OK(mrpc_run_config_hash(&c, &h, &err), &err);
        CHECK(h == h0, "%s leaves the hash as it is", same[i]);
    }
    const char *other[] = {"learning_rate=1e-4", "seed=7", "threads=3", "precision=bf16", "output=other.h5",
                           "model.dim=256"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        mrpc_run_config c = cfg;
        CHECK_OK(mrpc_run_config_set_assignment(&c, other[i], &err), &err);
        CHECK_OK(mrpc_run_config_hash(&c, &h, &err), &err);
        CHECK(h != h0, "%s changes the hash", other[i]);
    }
    /* The recorded config still holds the watched-and-saved keys (only the hash leaves them out). */
    char *yaml = NULL;
    CHECK_OK(mrpc_run_config_to_yaml(&cfg, 0, &yaml, &err), &err);
    CHECK(yaml && strstr(yaml, "progress_seconds: ") && strstr(yaml, "save_strategy: ") &&
          !strstr(yaml, "pause_after_epoch"), "recorded config: progress and save keys in, controls out");
    free(yaml);
}

int main(void) {
    test_hash();
    test_schema_defaults();
    test_yaml_values();
    test_yaml_errors();
    test_set_and_env();
    test_file_paths_and_round_trip();
    return mrpc_test_report();
}

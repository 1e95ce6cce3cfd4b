/*
 * test_wave.c — the wave spec: tasks.tsv and wave.yaml written, read back and applied
 * to a run config; every kind of hostile row refused with tasks.tsv:line:column.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "run_config.h"
#include "testutil.h"
#include "wave.h"

static const char good[] =
    "task_id\trun_id\toutput\tlearning_rate\tmax_seq_length\tseed\n"
    "0\tsens-00-000-baseline\truns/sens-00-000-baseline.h5\t5e-05\t128\t42\n"
    "1\tsens-00-001-lr-low\truns/sens-00-001-lr-low.h5\t1e-05\t128\t42\n";

static mrpc_wave sample(void) {
    mrpc_wave w;
    memset(&w, 0, sizeof w);
    snprintf(w.study, sizeof w.study, "demo");
    snprintf(w.stage, sizeof w.stage, "sensitivity");
    w.wave = 0;
    snprintf(w.study_dir, sizeof w.study_dir, "/data/studies/demo");
    snprintf(w.study_file, sizeof w.study_file, "/data/studies/demo/study \"v2\".yaml");
    snprintf(w.base_config, sizeof w.base_config, "/data/studies/demo/base.yaml");
    snprintf(w.runs_dir, sizeof w.runs_dir, "runs");
    snprintf(w.fixed_hash, sizeof w.fixed_hash, "0123456789abcdef");
    return w;
}

static void test_round_trip(void) {
    mrpc_wave w = sample();
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_wave_parse_tasks("tasks.tsv", good, strlen(good), &w, &err), &err)) return;
    CHECK(w.n_tasks == 2 && w.n_keys == 3, "2 tasks, 3 keys");
    CHECK(strcmp(w.keys[0], "learning_rate") == 0 && strcmp(w.tasks[1].values[0], "1e-05") == 0, "cells");
    CHECK(w.tasks[1].line == 3 && w.tasks[1].task_id == 1, "line numbers");
    char *tsv = NULL, *yaml = NULL;
    CHECK_OK(mrpc_wave_format_tasks(&w, &tsv, &err), &err);
    CHECK(tsv && strcmp(tsv, good) == 0, "format gives the same bytes");
    CHECK_OK(mrpc_wave_format_meta(&w, &yaml, &err), &err);
    /* Through a directory. */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/wave", mrpc_test_tmpdir());
    mrpc_mkdir_p(dir, &err);
    char path[1200];
    snprintf(path, sizeof path, "%s/tasks.tsv", dir);
    mrpc_file_write_atomic(path, tsv, strlen(tsv), &err);
    snprintf(path, sizeof path, "%s/wave.yaml", dir);
    mrpc_file_write_atomic(path, yaml, strlen(yaml), &err);
    mrpc_wave r;
    if (CHECK_OK(mrpc_wave_read(dir, &r, &err), &err)) {
        CHECK(strcmp(r.study_file, w.study_file) == 0, "quoted path survives: %s", r.study_file);
        CHECK(r.n_tasks == 2 && strcmp(r.stage, "sensitivity") == 0 && strcmp(r.fixed_hash, w.fixed_hash) == 0, "metadata");
        const mrpc_wave_task *t = mrpc_wave_task_by_id(&r, 1);
        CHECK(t && strcmp(t->run_id, "sens-00-001-lr-low") == 0, "task by id");
        CHECK(mrpc_wave_task_by_id(&r, 2) == NULL && mrpc_wave_task_by_id(&r, -1) == NULL, "no such task");
        CHECK(mrpc_wave_task_by_run_id(&r, "sens-00-000-baseline") == &r.tasks[0], "task by run id");
        /* Applying a row. */
        mrpc_run_config cfg;
        mrpc_run_config_defaults(&cfg);
        if (t && CHECK_OK(mrpc_wave_apply_task(&r, t, &cfg, &err), &err)) {
            CHECK(cfg.learning_rate == 1e-5 && cfg.max_seq_length == 128 && cfg.seed == 42, "hyperparameters applied");
            CHECK(strcmp(cfg.output, "/data/studies/demo/runs/sens-00-001-lr-low.h5") == 0, "output under the study: %s",
                  cfg.output);
            CHECK(strcmp(cfg.run_id, "sens-00-001-lr-low") == 0 && strcmp(cfg.stage, "sensitivity") == 0, "run id, stage");
        }
        mrpc_wave_clear(&r);
    }
    /* wave.yaml and tasks.tsv must agree. */
    const char *bad_tsv = "task_id\trun_id\toutput\tlearning_rate\n0\ta\truns/a.h5\t1e-05\n";
    snprintf(path, sizeof path, "%s/tasks.tsv", dir);
    mrpc_file_write_atomic(path, bad_tsv, strlen(bad_tsv), &err);
    CHECK(mrpc_wave_read(dir, &r, &err) == MRPC_ERR_INVALID, "column / count mismatch refused");
    /* An unknown format version. */
    char *v2 = strdup(yaml);
    char *p = strstr(v2, "format_version: 1");
    if (p) p[16] = '7';
    snprintf(path, sizeof path, "%s/wave.yaml", dir);
    mrpc_file_write_atomic(path, v2, strlen(v2), &err);
    CHECK(mrpc_wave_read(dir, &r, &err) == MRPC_ERR_UNSUPPORTED && err.line == 3, "version 7 refused at line 3 (%ld)", err.line);
    free(v2);
    free(tsv);
    free(yaml);
    mrpc_wave_clear(&w);
    mrpc_wave_clear(NULL);
}

/* One hostile file: must fail, at the given line and column (0 = don't care). */
static void hostile(const char *what, const char *text, long line, long col) {
    mrpc_wave w;
    memset(&w, 0, sizeof w);
    mrpc_error err = {0};
    mrpc_status s = mrpc_wave_parse_tasks("tasks.tsv", text, strlen(text), &w, &err);
    char buf[1024];
    mrpc_error_format(&err, buf, sizeof buf);
    CHECK(s != MRPC_OK, "%s: refused", what);
    CHECK(strncmp(buf, "tasks.tsv:", 10) == 0, "%s: error names the file (%s)", what, buf);
    if (line) CHECK(err.line == line, "%s: line %ld, got %ld (%s)", what, line, err.line, buf);
    if (col) CHECK(err.column == col, "%s: column %ld, got %ld (%s)", what, col, err.column, buf);
    CHECK(w.tasks == NULL && w.n_tasks == 0, "%s: nothing kept", what);
}

static void test_hostile(void) {
    const char *H = "task_id\trun_id\toutput\tlearning_rate\n";
    char buf[2048];
#define ROW(r) (snprintf(buf, sizeof buf, "%s%s", H, r), buf)
    hostile("quote in run id", ROW("0\tab\"c\truns/a.h5\t1e-05\n"), 2, 3);
    hostile("semicolon", ROW("0\ta;rm -rf x\truns/a.h5\t1e-05\n"), 2, 3);
    hostile("command substitution", ROW("0\t$(reboot)\truns/a.h5\t1e-05\n"), 2, 3);
    hostile("dot-dot output", ROW("0\ta\t../../etc/passwd\t1e-05\n"), 2, 5);
    hostile("absolute output", ROW("0\ta\t/etc/passwd\t1e-05\n"), 2, 5);
    hostile("value with shell", ROW("0\ta\truns/a.h5\t$(id)\n"), 2, 15);
    hostile("value with trailing junk", ROW("0\ta\truns/a.h5\t1e-05; ls\n"), 2, 15);
    hostile("negative learning rate", ROW("0\ta\truns/a.h5\t-1\n"), 2, 15);
    hostile("extra tab", ROW("0\ta\truns/a.h5\t1e-05\t\n"), 2, 0);
    hostile("missing column", ROW("0\ta\truns/a.h5\n"), 2, 0);
    hostile("task ids out of order", ROW("1\ta\truns/a.h5\t1e-05\n"), 2, 1);
    hostile("task id not a number", ROW("zero\ta\truns/a.h5\t1e-05\n"), 2, 1);
    hostile("task id -0", ROW("-0\ta\truns/a.h5\t1e-05\n"), 2, 1);
    hostile("task id with a leading zero", ROW("00\ta\truns/a.h5\t1e-05\n"), 2, 1);
    hostile("duplicate run id", ROW("0\ta\truns/a.h5\t1e-05\n1\ta\truns/b.h5\t1e-05\n"), 3, 3);
    hostile("duplicate output", ROW("0\ta\truns/a.h5\t1e-05\n1\tb\truns/a.h5\t1e-05\n"), 3, 5);
    hostile("carriage return", ROW("0\ta\truns/a.h5\t1e-05\r\n"), 2, 0);
    hostile("empty line", ROW("0\ta\truns/a.h5\t1e-05\n\n1\tb\truns/b.h5\t1e-05\n"), 3, 1);
    hostile("header only", H, 0, 0);
    hostile("empty file", "", 1, 0);
    hostile("bad header", "id\trun_id\toutput\n0\ta\truns/a.h5\n", 1, 1);
    hostile("unknown key", "task_id\trun_id\toutput\tlr\n0\ta\truns/a.h5\t1e-05\n", 1, 23);
    hostile("not a hyperparameter", "task_id\trun_id\toutput\tdata.train\n0\ta\truns/a.h5\t/etc/passwd\n", 1, 23);
    hostile("run_id as a key", "task_id\trun_id\toutput\trun_id\n0\ta\truns/a.h5\tb\n", 1, 23);
    hostile("duplicate column", "task_id\trun_id\toutput\tseed\tseed\n0\ta\truns/a.h5\t1\t2\n", 1, 28);
    hostile("integer key with a float", "task_id\trun_id\toutput\tmax_seq_length\n0\ta\truns/a.h5\t128.5\n", 2, 15);
    hostile("run id starting with a dash", ROW("0\t-rf\truns/a.h5\t1e-05\n"), 2, 3);
    const char nul[] = "task_id\trun_id\toutput\n0\ta\0b\truns/a.h5\n";
    mrpc_wave w;
    memset(&w, 0, sizeof w);
    mrpc_error err = {0};
    CHECK(mrpc_wave_parse_tasks("tasks.tsv", nul, sizeof nul - 1, &w, &err) == MRPC_ERR_PARSE, "NUL byte refused");
    /* A writer cannot produce what the reader refuses. */
    mrpc_wave bad = sample();
    bad.n_keys = 1;
    snprintf(bad.keys[0], sizeof bad.keys[0], "learning_rate");
    mrpc_wave_task t;
    memset(&t, 0, sizeof t);
    snprintf(t.run_id, sizeof t.run_id, "x y");
    snprintf(t.output, sizeof t.output, "runs/x.h5");
    snprintf(t.values[0], sizeof t.values[0], "1e-05");
    bad.tasks = &t;
    bad.n_tasks = 1;
    char *out = NULL;
    CHECK(mrpc_wave_format_tasks(&bad, &out, &err) == MRPC_ERR_INVALID && out == NULL, "writer refuses an unsafe run id");
#undef ROW
}

/* The searched columns survive wave.yaml; mrpc-train's check recomputes fixed_hash from a config. */
static void test_fixed_hash(void) {
    mrpc_wave w = sample();
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_wave_parse_tasks("tasks.tsv", good, strlen(good), &w, &err), &err)) return;
    w.has_searched = 1;
    w.n_searched = 1;
    snprintf(w.searched[0], sizeof w.searched[0], "learning_rate"); /* max_seq_length: a constant column */
    /* The hash the study would have: every hyperparameter of the config but the seed and learning_rate. */
    mrpc_run_config cfg;
    mrpc_run_config_defaults(&cfg);
    if (!CHECK_OK(mrpc_wave_apply_task(&w, &w.tasks[1], &cfg, &err), &err)) return;
    mrpc_hparam hp[MRPC_RUNREC_MAX_HPARAMS];
    size_t n_hp = mrpc_run_config_hparams(&cfg, hp, MRPC_RUNREC_MAX_HPARAMS), n = 0;
    for (size_t i = 0; i < n_hp; i++)
        if (strcmp(hp[i].name, "seed") != 0 && strcmp(hp[i].name, "learning_rate") != 0) hp[n++] = hp[i];
    mrpc_fixed_hash(hp, n, w.fixed_hash);
    CHECK(strlen(w.fixed_hash) == 16, "16 hex digits");
    char *yaml = NULL;
    if (!CHECK_OK(mrpc_wave_format_meta(&w, &yaml, &err), &err)) return;
    CHECK(strstr(yaml, "\nsearched: [learning_rate]\n") != NULL, "searched written: %s", yaml);
    mrpc_wave r;
    memset(&r, 0, sizeof r);
    if (CHECK_OK(mrpc_wave_parse_meta("wave.yaml", yaml, strlen(yaml), &r, &err), &err)) {
        CHECK(r.has_searched && r.n_searched == 1 && strcmp(r.searched[0], "learning_rate") == 0, "searched read back");
    }
    CHECK_OK(mrpc_wave_check_fixed(&w, &cfg, &err), &err);
    /* A searched value or the seed may differ; a fixed setting may not. */
    cfg.learning_rate = 3e-4;
    cfg.seed = 7;
    CHECK_OK(mrpc_wave_check_fixed(&w, &cfg, &err), &err);
    cfg.num_epochs += 1;
    CHECK(mrpc_wave_check_fixed(&w, &cfg, &err) == MRPC_ERR_INVALID && strcmp(err.field, "fixed_hash") == 0 &&
              strstr(err.file, "base.yaml") != NULL,
          "a changed fixed setting is refused, naming the base config: %s", err.message);
    cfg.num_epochs -= 1;
    cfg.max_seq_length = 64; /* the constant column counts as fixed */
    CHECK(mrpc_wave_check_fixed(&w, &cfg, &err) == MRPC_ERR_INVALID, "a changed constant is refused");
    /* A wave from before `searched` cannot be checked: it passes. */
    w.has_searched = 0;
    CHECK_OK(mrpc_wave_check_fixed(&w, &cfg, &err), &err);
    /* A searched name that is no column is refused on reading. */
    char *bad = malloc(strlen(yaml) + 16);
    if (bad) {
        strcpy(bad, yaml);
        char *p = strstr(bad, "searched: [learning_rate]");
        if (p) memcpy(p, "searched: [warmup_steps] ", 25);
        mrpc_wave_clear(&r);
        CHECK(mrpc_wave_parse_meta("wave.yaml", bad, strlen(bad), &r, &err) == MRPC_ERR_INVALID &&
                  strcmp(err.field, "searched") == 0,
              "unknown searched column refused");
        free(bad);
    }
    free(yaml);
    mrpc_wave_clear(&w);
}

int main(void) {
    test_round_trip();
    test_hostile();
    test_fixed_hash();
    return mrpc_test_report();
}

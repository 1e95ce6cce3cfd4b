/*
 * test_wandb_sweep.c — W&B sweep files as studies (optimize/wandb_sweep.h): each method
 * onto its stage, metric onto the objective (each name, the goal and W&B's default),
 * run_cap onto the budget, early_terminate onto the fidelity block (min_iter; max_iter
 * with s), the keys that mean nothing here as notes with their place, the base config
 * next to the sweep file, and every refusal with file:line:column.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "study.h"
#include "testutil.h"

static char study_file[1200], lonely_file[1200], dir[1024];

static int parse_at(const char *file, const char *text, mrpc_study *st, mrpc_error *err) {
    return mrpc_study_parse(file, text, strlen(text), st, err) == MRPC_OK;
}

#define PARAMS                                                                                    \
    "parameters:\n"                                                                               \
    "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-3}\n"            \
    "  max_seq_length: {values: [64, 128]}\n"

static const char full[] =
    "program: train.py\n"                                             /* 1 */
    "name: mrpc-sweep\n"                                              /* 2 */
    "description: tune distilbert\n"                                  /* 3 */
    "entity: me\n"                                                    /* 4 */
    "project: mrpc\n"                                                 /* 5 */
    "method: bayes\n"                                                 /* 6 */
    "metric: {name: eval/accuracy, goal: maximize}\n"                 /* 7 */
    "run_cap: 12\n"                                                   /* 8 */
    "early_terminate: {type: hyperband, min_iter: 1, eta: 3}\n"       /* 9 */
    "command:\n"                                                      /* 10 */
    "  - ${env}\n  - python3\n  - ${program}\n  - ${args}\n"          /* 11-14 */
    PARAMS                                                            /* 15-17 */
    "slurm: {time: \"00:30:00\"}\n";

/* 1 when the notes have a line starting "<file>:<line>:<col>: " that contains `needle`. */
static int has_note(const mrpc_study *st, long line, long col, const char *needle) {
    char head[1300];
    snprintf(head, sizeof head, "%s:%ld:%ld: ", study_file, line, col);
    for (const char *p = st->notes; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char l[1024];
        snprintf(l, sizeof l, "%.*s", (int)len, p);
        if (!strncmp(l, head, strlen(head)) && strstr(l, needle)) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static void test_bayes(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_study_parse(study_file, full, strlen(full), &st, &err), &err)) return;
    CHECK(st.wandb, "read as a W&B sweep");
    CHECK(!strcmp(st.name, "mrpc-sweep"), "name: the study's (%s)", st.name);
    CHECK(!strcmp(st.metric, "accuracy") && st.maximize, "eval/accuracy, maximize -> accuracy");
    CHECK(st.has_stage[MRPC_STAGE_BAYES] && !st.has_stage[MRPC_STAGE_GRID] && !st.has_stage[MRPC_STAGE_SENSITIVITY] &&
          !st.has_stage[MRPC_STAGE_CONFIRM], "method bayes -> the bayes stage alone");
    CHECK(st.bayes.budget == 12 && st.bayes.init_points == 0 && st.bayes.wave_size == 4 && st.bayes.candidates == 2000,
          "run_cap -> budget; the stage's other defaults");
    const mrpc_fidelity *f = &st.bayes.fidelity;
    CHECK(f->enabled && f->min_iter == 1 && f->eta == 3 && f->max_iter == 3 && f->num_epochs == 3 && f->unit == MRPC_FIDELITY_EPOCH,
          "early_terminate -> fidelity {1, 3, 3 of 3}");
    char want[1300];
    snprintf(want, sizeof want, "%s/base.yaml", dir);
    CHECK(!strcmp(st.base_config, want), "base.yaml next to the sweep file (%s)", st.base_config);
    CHECK(st.space.n_params == 2 && st.space.params[0].dist == MRPC_DIST_LOG_UNIFORM_VALUES, "parameters as in a study");
    CHECK(!strcmp(st.slurm.time, "00:30:00"), "slurm block");
    CHECK(has_note(&st, 1, 10, "program: has no meaning here"), "program note: %s", st.notes);
    CHECK(has_note(&st, 11, 3, "command: has no meaning here"), "command note");
    CHECK(has_note(&st, 4, 9, "entity: has no meaning here") && has_note(&st, 5, 10, "project: has no meaning here"),
          "entity, project notes");
    CHECK(has_note(&st, 3, 14, "description: has no meaning here"), "description note");
    CHECK(has_note(&st, 1, 1, "base_config: none given; using base.yaml"), "base config note");
    CHECK(has_note(&st, 9, 18, "hyperband over epochs"), "early_terminate note: %s", st.notes);
    CHECK(!strstr(st.notes, "name:"), "a safe name is used without a note");
}

static void test_methods(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    const char *random = "method: random\nrun_cap: 7\nmetric: {name: eval/f1, goal: maximize}\n" PARAMS;
    if (CHECK_OK(mrpc_study_parse(study_file, random, strlen(random), &st, &err), &err)) {
        CHECK(st.has_stage[MRPC_STAGE_BAYES] && st.bayes.budget == 7 && st.bayes.init_points == 7,
              "random -> bayes with init_points = budget = run_cap");
        CHECK(!strcmp(st.metric, "f1") && !st.bayes.fidelity.enabled, "eval/f1 -> f1; no early_terminate, no fidelity");
        CHECK(has_note(&st, 1, 9, "Halton"), "the mapping is said: %s", st.notes);
        CHECK(!strcmp(st.name, "study"), "no name: the file's (%s)", st.name);
    }
    const char *grid = "method: grid\nmetric: {name: loss}\n"
                       "parameters:\n  learning_rate: {values: [1.0e-5, 1.0e-4, 1.0e-3]}\n  weight_decay: {min: 0.0, max: 0.1, baseline: 0.0}\n"
                       "early_terminate: {type: hyperband, max_iter: 3, s: 1}\n";
    if (!CHECK(!parse_at(study_file, grid, &st, &err), "hyperband on eval_loss refused")) return;
    CHECK(err.line == 6 && err.column == 18 && strstr(err.message, "per-epoch"), "at 6:18: %s", err.message);
    const char *grid2 = "method: grid\nrun_cap: 20\nmetric: {name: eval/loss, goal: minimize}\n"
                        "parameters:\n  learning_rate: {values: [1.0e-5, 1.0e-4, 1.0e-3]}\n  weight_decay: {min: 0.0, max: 0.1, baseline: 0.0}\n";
    if (CHECK_OK(mrpc_study_parse(study_file, grid2, strlen(grid2), &st, &err), &err)) {
        CHECK(st.has_stage[MRPC_STAGE_GRID] && !st.has_stage[MRPC_STAGE_BAYES] && st.grid.levels == 3, "grid -> the grid stage");
        CHECK(!strcmp(st.metric, "eval_loss") && !st.maximize, "eval/loss minimize -> eval_loss");
        CHECK(has_note(&st, 1, 9, "grid over a range (weight_decay)"), "range note: %s", st.notes);
        CHECK(has_note(&st, 2, 10, "more than the grid's 9 points"), "run_cap above the grid");
    }
    const char *grid3 = "method: grid\nrun_cap: 5\nmetric: {name: accuracy}\n"
                        "parameters:\n  learning_rate: {values: [1.0e-5, 1.0e-4, 1.0e-3]}\n  max_seq_length: {values: [64, 128]}\n"
                        "early_terminate: {type: hyperband, max_iter: 3, s: 1}\n";
    CHECK(!parse_at(study_file, grid3, &st, &err) && err.line == 2 && err.column == 10 && strstr(err.message, "6 points"),
          "run_cap below the grid's points refused at 2:10: %s", err.message);
    const char *grid4 = "method: grid\nmetric: {name: accuracy}\nbase_config: base.yaml\n"
                        "parameters:\n  learning_rate: {values: [1.0e-5, 1.0e-3]}\n"
                        "early_terminate: {type: hyperband, max_iter: 3, s: 1, strict: true}\n";
    if (CHECK_OK(mrpc_study_parse(study_file, grid4, strlen(grid4), &st, &err), &err)) {
        const mrpc_fidelity *f = &st.grid.fidelity;
        CHECK(f->enabled && f->min_iter == 1 && f->max_iter == 3 && f->eta == 3, "max_iter 3, s 1 -> min_iter 3/3 = 1");
        CHECK(!st.maximize && has_note(&st, 2, 9, "minimizing accuracy is almost certainly not what you want"),
              "no goal: W&B's minimize, with a warning: %s", st.notes);
        CHECK(has_note(&st, 6, 63, "strict: has no meaning"), "strict note");
        CHECK(!strstr(st.notes, "base_config: none given"), "an explicit base_config needs no note");
    }
}

static void bad(const char *what, const char *file, const char *text, long line, long col, const char *needle) {
    static mrpc_study st;
    mrpc_error err = {0};
    int ok = parse_at(file, text, &st, &err);
    char buf[2048];
    mrpc_error_format(&err, buf, sizeof buf);
    CHECK(!ok, "%s: refused", what);
    CHECK(err.line == line && err.column == col, "%s: at %ld:%ld, got %ld:%ld (%s)", what, line, col, err.line, err.column, buf);
    CHECK(strncmp(buf, file, strlen(file)) == 0 && strstr(buf, needle), "%s: names the file and says \"%s\": %s", what,
          needle, buf);
}

static void test_refusals(void) {
    const char *M = "metric: {name: accuracy, goal: maximize}\n";
    char t[2048];
#define TXT(...) (snprintf(t, sizeof t, __VA_ARGS__), t)
    bad("unknown method", study_file, TXT("method: hyperopt\n%s" PARAMS, M), 1, 9, "expected grid, random or bayes");
    bad("bayes without run_cap", study_file, TXT("method: bayes\n%s" PARAMS, M), 1, 9, "needs run_cap");
    bad("random without run_cap", study_file, TXT("method: random\n%s" PARAMS, M), 1, 9, "needs run_cap");
    bad("run_cap 0", study_file, TXT("method: bayes\nrun_cap: 0\n%s" PARAMS, M), 2, 10, "must be 1..100000");
    bad("unknown metric", study_file, TXT("method: bayes\nrun_cap: 4\nmetric: {name: eval/mcc, goal: maximize}\n" PARAMS), 3, 16,
        "unknown metric \"eval/mcc\"");
    bad("bad goal", study_file, TXT("method: bayes\nrun_cap: 4\nmetric: {name: f1, goal: up}\n" PARAMS), 3, 26, "maximize or minimize");
    bad("metric without name", study_file, TXT("method: bayes\nrun_cap: 4\nmetric: {goal: maximize}\n" PARAMS), 3, 9, "missing key name");
    bad("envelope early_terminate", study_file,
        TXT("method: bayes\nrun_cap: 4\n%searly_terminate: {type: envelope}\n" PARAMS, M), 4, 25, "only hyperband");
    bad("hyperband without type", study_file,
        TXT("method: bayes\nrun_cap: 4\n%searly_terminate: {min_iter: 1}\n" PARAMS, M), 4, 18, "missing key type");
    bad("eta 1", study_file, TXT("method: bayes\nrun_cap: 4\n%searly_terminate: {type: hyperband, min_iter: 1, eta: 1}\n" PARAMS, M),
        4, 54, "must be 2..1000");
    bad("min_iter = num_epochs", study_file,
        TXT("method: bayes\nrun_cap: 4\n%searly_terminate: {type: hyperband, min_iter: 3}\n" PARAMS, M), 4, 18, "min_iter");
    bad("s that does not divide", study_file,
        TXT("method: bayes\nrun_cap: 4\n%searly_terminate: {type: hyperband, max_iter: 3, s: 2}\n" PARAMS, M), 4, 52,
        "not a whole number");
    bad("objective instead of metric", study_file,
        TXT("method: bayes\nrun_cap: 4\nobjective: {metric: accuracy, goal: maximize}\n" PARAMS), 3, 1, "metric: {name, goal}");
    bad("stages in a sweep", study_file, TXT("method: bayes\nrun_cap: 4\n%sstages: {grid: {}}\n" PARAMS, M), 4, 1,
        "stage comes from method");
    bad("unknown key", study_file, TXT("method: bayes\nrun_cap: 4\n%sagent_count: 3\n" PARAMS, M), 4, 1, "unknown key in a W&B sweep");
    bad("nested parameters", study_file,
        TXT("method: bayes\nrun_cap: 4\n%sparameters:\n  optimizer:\n    parameters: {lr: {min: 0.1, max: 0.2}}\n", M), 5, 3,
        "not a run-config key");
    bad("W&B's normal distribution", study_file,
        TXT("method: bayes\nrun_cap: 4\n%sparameters:\n  learning_rate: {distribution: normal, mu: 0.0001, sigma: 0.00001}\n", M), 5, 41,
        "unknown key");
    bad("no base config", lonely_file, TXT("method: bayes\nrun_cap: 4\n%s" PARAMS, M), 1, 1, "names no base config");
    /* An unsafe W&B name is a note, not an error. */
    static mrpc_study st;
    mrpc_error err = {0};
    const char *named = "name: my sweep #2\nmethod: bayes\nrun_cap: 3\nmetric: {name: accuracy, goal: maximize}\n" PARAMS;
    if (CHECK_OK(mrpc_study_parse(study_file, named, strlen(named), &st, &err), &err)) {
        CHECK(!strcmp(st.name, "study") && has_note(&st, 1, 7, "not a safe study name"), "unsafe name: a note (%s)", st.notes);
    }
    /* A study without `method` is still a study: a W&B key there is an unknown key. */
    const char *native = "objective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\nrun_cap: 3\n" PARAMS
                         "stages:\n  bayes: {budget: 3}\n";
    bad("run_cap in a study", study_file, native, 3, 1, "unknown key in the study");
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", mrpc_test_tmpdir());
    snprintf(study_file, sizeof study_file, "%s/study.yaml", dir);
    snprintf(lonely_file, sizeof lonely_file, "%s/elsewhere/sweep.yaml", dir);
    char path[1300];
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    const char *base = "learning_rate: 5.0e-5\nnum_epochs: 3\n";
    mrpc_error err = {0};
    CHECK_OK(mrpc_file_write_atomic(path, base, strlen(base), &err), &err);
    test_bayes();
    test_methods();
    test_refusals();
    return mrpc_test_report();
}

/*
 * test_study.c — the study config: a full example read correctly, defaults, and every
 * kind of bad or hostile value refused with file:line:column.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "emit.h"
#include "fsutil.h"
#include "study.h"
#include "testutil.h"

static char dir[1024], study_file[1200];

static const char full[] =
    "name: distilbert-mrpc\n"                                                                   /* 1 */
    "seed: 1234\n"                                                                              /* 2 */
    "objective: {metric: accuracy, goal: maximize}\n"                                           /* 3 */
    "base_config: base.yaml\n"                                                                  /* 4 */
    "parameters:\n"                                                                             /* 5 */
    "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-4, baseline: 5.0e-5}\n" /* 6 */
    "  weight_decay: {min: 0.0, max: 0.1, baseline: 0.0}\n"                                     /* 7 */
    "  warmup_steps: {min: 0, max: 300}\n"                                                      /* 8 */
    "  dropout: {distribution: q_uniform, min: 0.0, max: 0.3, q: 0.05, baseline: 0.1}\n"        /* 9 */
    "  max_seq_length: {values: [256, 64, 128], baseline: 128}\n"                               /* 10 */
    "  num_epochs: {value: 3}\n"                                                                /* 11 */
    "stages:\n"                                                                                 /* 12 */
    "  sensitivity: {top_k: 2, seeds: 3, levels: {learning_rate: [2.0e-5, 1.0e-4]}}\n"          /* 13 */
    "  grid:\n"                                                                                 /* 14 */
    "  bayes: {budget: 24, wave_size: 8, acquisition: ei}\n"                                    /* 15 */
    "slurm: {partition: gpu, account: proj-1, time: \"1-00:00:00\", gpus: 2, ranks_per_task: 2, throttle: 4}\n";

static mrpc_status parse(const char *text, mrpc_study *st, mrpc_error *err) {
    return mrpc_study_parse(study_file, text, strlen(text), st, err);
}

static void test_full(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    if (!CHECK_OK(parse(full, &st, &err), &err)) return;
    CHECK(strcmp(st.name, "distilbert-mrpc") == 0 && st.seed == 1234 && st.maximize && !strcmp(st.metric, "accuracy"), "top");
    CHECK(strcmp(st.dir, dir) == 0, "study dir is the file's directory: %s", st.dir);
    char want[1300];
    snprintf(want, sizeof want, "%s/base.yaml", dir);
    CHECK(strcmp(st.base_config, want) == 0 && strcmp(st.runs_dir, "runs") == 0, "paths");
    CHECK(st.space.n_params == 6, "6 parameters");
    const mrpc_param *lr = &st.space.params[0], *wd = &st.space.params[1], *w = &st.space.params[2];
    const mrpc_param *dr = &st.space.params[3], *sl = &st.space.params[4], *ep = &st.space.params[5];
    CHECK(lr->dist == MRPC_DIST_LOG_UNIFORM_VALUES && lr->baseline == 5e-5 && lr->line == 6 && lr->column == 3, "lr");
    CHECK(wd->dist == MRPC_DIST_UNIFORM && !wd->is_int, "uniform inferred for a float key");
    CHECK(w->dist == MRPC_DIST_INT_UNIFORM && w->is_int && w->baseline == 0, "int_uniform inferred; baseline from the base config");
    CHECK(dr->dist == MRPC_DIST_Q_UNIFORM && dr->q == 0.05, "q_uniform");
    CHECK(sl->dist == MRPC_DIST_CATEGORICAL && sl->n_values == 3 && sl->values[0] == 64 && sl->values[2] == 256, "sorted");
    CHECK(ep->dist == MRPC_DIST_CONSTANT && ep->min == 3, "constant");
    CHECK(st.has_stage[0] && st.has_stage[1] && st.has_stage[2], "three stages");
    CHECK(st.sensitivity.top_k == 2 && st.sensitivity.seeds == 3 && st.sensitivity.has_levels[0] &&
          st.sensitivity.levels[0][0] == 2e-5, "sensitivity settings");
    CHECK(st.sensitivity.n_candidates == 5, "constants are not candidates");
    CHECK(st.grid.levels == 3 && st.bayes.budget == 24 && st.bayes.wave_size == 8 && !st.bayes.augmented, "grid, bayes");
    CHECK(!strcmp(st.slurm.partition, "gpu") && !strcmp(st.slurm.account, "proj-1") && st.slurm.gpus == 2 &&
          st.slurm.ranks_per_task == 2 && st.slurm.throttle == 4 && !strcmp(st.slurm.time, "1-00:00:00"), "slurm");
    CHECK(st.base_seed == 42, "base seed from the base config defaults");
    CHECK(mrpc_study_fixed(&st, "train_batch_size") && mrpc_study_fixed(&st, "num_epochs") &&
          !mrpc_study_fixed(&st, "learning_rate") && !mrpc_study_fixed(&st, "seed"), "fixed settings: constants in, searched parameters and seed out");
    CHECK(mrpc_study_fixed(&st, "num_epochs")->i == 3, "constants applied to the fixed settings");
    CHECK(strlen(st.fixed_hash) == 16, "hash");
    /* Another base config changes the hash. */
    static mrpc_study st2;
    char path[1300];
    snprintf(path, sizeof path, "%s/base2.yaml", dir);
    const char *b2 = "train_batch_size: 16\n";
    mrpc_file_write_atomic(path, b2, strlen(b2), &err);
    char text[sizeof full + 8];
    snprintf(text, sizeof text, "%s", full);
    char *p = strstr(text, "base.yaml");
    memmove(p + 5, p + 4, strlen(p + 4) + 1);
    p[4] = '2';
    if (CHECK_OK(parse(text, &st2, &err), &err)) CHECK(strcmp(st.fixed_hash, st2.fixed_hash) != 0, "hash depends on fixed settings");
}

/* A study that must be refused: at `line`:`col` (0 = don't check), with `needle` in the message. */
static void bad(const char *what, const char *text, long line, long col, const char *needle) {
    static mrpc_study st;
    mrpc_error err = {0};
    mrpc_status s = parse(text, &st, &err);
    char buf[2048];
    mrpc_error_format(&err, buf, sizeof buf);
    CHECK(s != MRPC_OK, "%s: refused", what);
    CHECK(strncmp(buf, study_file, strlen(study_file)) == 0, "%s: names the study file (%s)", what, buf);
    if (line) CHECK(err.line == line, "%s: line %ld expected, got %ld (%s)", what, line, err.line, buf);
    if (col) CHECK(err.column == col, "%s: column %ld expected, got %ld (%s)", what, col, err.column, buf);
    if (needle) CHECK(strstr(buf, needle) != NULL, "%s: message mentions \"%s\" (%s)", what, needle, buf);
}

#define HEAD "objective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
#define STAGES "stages:\n  bayes: {budget: 4}\n"

static void test_bad(void) {
    bad("unknown top key", HEAD "lerning_rate: 1\nparameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES, 3, 1,
        "unknown key");
    bad("unknown parameter", HEAD "parameters:\n  lr: {min: 1.0e-5, max: 1.0e-4}\n" STAGES, 4, 3, "not a run-config key");
    bad("non-numeric key", HEAD "parameters:\n  data.train: {values: [1, 2]}\n" STAGES, 4, 3, "not a numeric hyperparameter");
    bad("seed searched", HEAD "parameters:\n  seed: {min: 1, max: 5}\n" STAGES, 4, 3, "seeds");
    bad("out of schema range", HEAD "parameters:\n  learning_rate: {min: -1.0, max: 1.0e-4}\n" STAGES, 4, 24, "valid range");
    bad("dropout 1.0", HEAD "parameters:\n  dropout: {min: 0.0, max: 1.0, baseline: 0.1}\n" STAGES, 4, 28, "valid range");
    bad("natural-log form", HEAD "parameters:\n  learning_rate: {distribution: log_uniform, min: -11, max: -9}\n" STAGES, 4, 33,
        "log_uniform_values");
    bad("log with min 0", HEAD "parameters:\n  weight_decay: {distribution: log_uniform_values, min: 0.0, max: 0.1}\n" STAGES, 4,
        0, "min > 0");
    bad("max below min", HEAD "parameters:\n  weight_decay: {min: 0.1, max: 0.0}\n" STAGES, 4, 0, "below min");
    bad("int with float bounds", HEAD "parameters:\n  warmup_steps: {min: 0.5, max: 10}\n" STAGES, 4, 0, "integer");
    bad("q not positive", HEAD "parameters:\n  dropout: {distribution: q_uniform, min: 0.0, max: 0.3, q: 0}\n" STAGES, 4, 0, "q");
    bad("baseline outside", HEAD "parameters:\n  weight_decay: {min: 0.0, max: 0.1, baseline: 0.5}\n" STAGES, 4, 48, "baseline");
    bad("baseline off the lattice", HEAD "parameters:\n  dropout: {distribution: q_uniform, min: 0.0, max: 0.3, q: 0.1, baseline: 0.15}\n" STAGES,
        4, 0, "baseline");
    bad("baseline unknown", HEAD "parameters:\n  dropout: {min: 0.0, max: 0.3}\n" STAGES, 4, 3, "give a baseline");
    bad("duplicate categorical value", HEAD "parameters:\n  max_seq_length: {values: [64, 64]}\n" STAGES, 4, 0, "twice");
    bad("string value", HEAD "parameters:\n  learning_rate: {min: \"1e-5\", max: 1.0e-4}\n" STAGES, 4, 24, "number");
    bad("shell in a value", HEAD "parameters:\n  learning_rate: {min: $(reboot), max: 1.0e-4}\n" STAGES, 4, 24, "number");
    bad("key of another distribution", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4, q: 1}\n" STAGES, 4, 0,
        "does not take q");
    bad("duplicate key", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n  learning_rate: {min: 1.0e-5, max: 1.0e-3}\n" STAGES,
        5, 3, "duplicate");
    bad("stage order", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\nstages:\n  bayes: {budget: 4}\n  grid: {}\n",
        7, 3, "order");
    bad("unknown stage", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\nstages:\n  random: {}\n", 6, 3, "unknown stage");
    bad("bayes without budget", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\nstages:\n  bayes: {wave_size: 4}\n", 6,
        0, "budget");
    bad("negative budget", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\nstages:\n  bayes: {budget: -3}\n", 6, 19,
        "budget");
    bad("unsafe partition", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES "slurm: {partition: \"gpu; rm -rf ~\"}\n",
        7, 20, "unsafe");
    bad("unsafe time", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES "slurm: {time: \"1:00 $(id)\"}\n", 7, 15,
        "unsafe");
    bad("ranks not a multiple of nodes", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES
        "slurm: {ranks_per_task: 3, nodes_per_task: 2}\n", 7, 44, "multiple of nodes_per_task");
    bad("gpus not a multiple of nodes", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES
        "slurm: {ranks_per_task: 2, nodes_per_task: 2, gpus: 3}\n", 7, 53, "multiple of nodes_per_task");
    bad("unsafe mpi", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES "slurm: {mpi: \"pmix; id\"}\n", 7, 14,
        "unsafe");
    bad("relative bindir", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES "slurm: {bindir: bin}\n", 7, 17,
        "absolute");
    bad("runs_dir escaping", HEAD "runs_dir: ../elsewhere\nparameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES, 3, 11,
        "safe path");
    bad("study_dir with a space", HEAD "study_dir: \"my study\"\nparameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES,
        3, 12, "unsafe");
    bad("study_dir with $()", HEAD "study_dir: $(reboot)\nparameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES, 3, 12,
        "unsafe");
    bad("unsafe name", "name: \"a b\"\n" HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES, 1, 7, "safe name");
    bad("unknown metric", "objective: {metric: loss, goal: minimize}\nbase_config: base.yaml\nparameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES,
        1, 21, "unknown metric");
    bad("missing goal", "objective: {metric: accuracy}\nbase_config: base.yaml\nparameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES,
        1, 12, "goal");
    bad("missing base config file", "objective: {metric: accuracy, goal: maximize}\nbase_config: nope.yaml\nparameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES,
        2, 14, "nope.yaml");
    bad("nothing to search", HEAD "parameters:\n  num_epochs: {value: 3}\n" STAGES, 4, 0, "nothing to search");
    bad("malformed YAML", HEAD "parameters: [\n", 4, 0, NULL);
    bad("grid level for a constant", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n  num_epochs: {value: 3}\nstages:\n  grid: {values: {num_epochs: [3]}}\n",
        7, 19, "searchable");
    bad("sensitivity level outside", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\nstages:\n  sensitivity: {levels: {learning_rate: [1.0e-6, 1.0e-4]}}\n",
        6, 42, "space");
    bad("constant out of range", HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n  num_epochs: {value: 0}\n" STAGES, 5, 0,
        "valid range");
}

static void test_load_file(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    char path[1300];
    snprintf(path, sizeof path, "%s/sub/../study.yaml", dir);
    mrpc_mkdir_p(dir, &err);
    char sub[1300];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mrpc_mkdir_p(sub, &err);
    const char *text = HEAD "study_dir: out/x\nruns_dir: records\nparameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES;
    char real[1300];
    snprintf(real, sizeof real, "%s/study.yaml", dir);
    mrpc_file_write_atomic(real, text, strlen(text), &err);
    if (CHECK_OK(mrpc_study_load(path, &st, &err), &err)) {
        CHECK(strcmp(st.file, real) == 0, "absolute, resolved study path: %s", st.file);
        char want[1300];
        snprintf(want, sizeof want, "%s/out/x", dir);
        CHECK(strcmp(st.dir, want) == 0 && strcmp(st.runs_dir, "records") == 0, "study_dir relative to the file: %s", st.dir);
        CHECK(strcmp(st.name, "study") == 0, "name from the file name: %s", st.name);
        CHECK(st.bayes.wave_size == 4 && st.bayes.augmented && st.slurm.max_array_size == 1000, "defaults");
    }
    CHECK(mrpc_study_load("/nonexistent/study.yaml", &st, &err) == MRPC_ERR_IO, "missing file");
}

/* A run over several nodes: wave.sbatch asks for nodes, ranks per node, GPUs per node and PMIx. */
static void test_multinode_sbatch(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    const char *text = HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES
        "slurm: {gpus: 8, ranks_per_task: 8, nodes_per_task: 2, cpus_per_task: 8}\n";
    if (!CHECK_OK(parse(text, &st, &err), &err)) return;
    CHECK(st.slurm.nodes_per_task == 2 && !strcmp(st.slurm.mpi, "pmix"), "nodes_per_task 2, mpi pmix by default");
    char *sb = NULL;
    if (CHECK_OK(mrpc_emit_sbatch(&st, MRPC_STAGE_BAYES, 0, 4, "/s/waves/bayes/00", "/opt/mrpc/bin", &sb, &err), &err)) {
        CHECK(strstr(sb, "#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=4\n#SBATCH --cpus-per-task=8\n") &&
              strstr(sb, "#SBATCH --gpus-per-node=4\n") && !strstr(sb, "--ntasks=") && !strstr(sb, "#SBATCH --gpus=8"),
              "2 nodes x 4 ranks x 4 GPUs: %s", sb);
        CHECK(strstr(sb, "export MRPC_SRUN_ARGS=\"${MRPC_SRUN_ARGS:---mpi=pmix}\"\n") != NULL, "srun --mpi=pmix");
    }
    free(sb);
    sb = NULL;
    /* One node, one rank: as before (no PMI plugin needed). */
    text = HEAD "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4}\n" STAGES "slurm: {gpus: 1}\n";
    if (CHECK_OK(parse(text, &st, &err), &err) &&
        CHECK_OK(mrpc_emit_sbatch(&st, MRPC_STAGE_BAYES, 0, 4, "/s/waves/bayes/00", "/opt/mrpc/bin", &sb, &err), &err)) {
        CHECK(strstr(sb, "#SBATCH --ntasks=1\n") && strstr(sb, "#SBATCH --gpus=1\n") && !strstr(sb, "--nodes=") &&
              !strstr(sb, "MRPC_SRUN_ARGS"), "one rank: --ntasks=1, --gpus=1: %s", sb);
    }
    free(sb);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", mrpc_test_tmpdir());
    snprintf(study_file, sizeof study_file, "%s/study.yaml", dir);
    mrpc_error err = {0};
    char path[1300];
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    const char *base = "learning_rate: 5.0e-5\nnum_epochs: 3\ntrain_batch_size: 32\n";
    CHECK_OK(mrpc_file_write_atomic(path, base, strlen(base), &err), &err);
    test_full();
    test_bad();
    test_load_file();
    test_multinode_sbatch();
    return mrpc_test_report();
}

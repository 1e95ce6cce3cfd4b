/* default_study.c — the embedded default study (see default_study.h). */
#include "default_study.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

/*
 * The study. Seven candidates of stage 1 with their W&B-style ranges, each with two
 * levels besides the baseline (3 baseline seeds + 14 = 17 runs); stage 1 keeps the three
 * that move accuracy most; stage 2 is the 3x3x3 grid over low/baseline/high of those,
 * less the 7 configurations stage 1 already ran (20 runs); stage 3 spends 8 runs on
 * Bayesian optimisation in waves of 4. The array ranges of slurm/stage*.sh match these
 * wave sizes (17, 20, 4).
 */
static const char study_template[] =
    "# The default mrpc-tune study (written by mrpc-pipeline init; edit freely).\n"
    "# Stage 1 runs the baseline with 3 seeds plus two other values of 7 parameters (17 runs),\n"
    "# stage 2 a 3x3x3 grid over the 3 that matter most less what stage 1 ran (20 runs),\n"
    "# stage 3 Bayesian optimisation (8 runs in waves of 4). slurm/stage*.sh fit these sizes.\n"
    "name: default\n"
    "seed: 1\n"
    "objective: {metric: accuracy, goal: maximize}\n"
    "base_config: base.yaml\n"
    "runs_dir: runs\n"
    "parameters:\n"
    "  learning_rate: {distribution: log_uniform_values, min: %s, max: %s, baseline: %s}\n"
    "  weight_decay: {distribution: uniform, min: 0.0, max: 0.1, baseline: 0.0}\n"
    "  adam_epsilon: {distribution: log_uniform_values, min: 1.0e-9, max: 1.0e-6, baseline: 1.0e-8}\n"
    "  warmup_steps: {distribution: int_uniform, min: 0, max: 100, baseline: 0}\n"
    "  dropout: {distribution: q_uniform, min: 0.0, max: 0.3, q: 0.05, baseline: 0.1}\n"
    "  max_seq_length: {distribution: categorical, values: [64, 96, 128], baseline: 128}\n"
    "  max_grad_norm: {distribution: uniform, min: 0.1, max: 5.0, baseline: 1.0}\n"
    "stages:\n"
    "  sensitivity:\n"
    "    top_k: 3\n"
    "    seeds: 3\n"
    "    # explicit levels where the baseline sits at the edge of the range or the range is a list\n"
    "    levels: {weight_decay: [0.01, 0.1], warmup_steps: [10, 100], max_seq_length: [64, 96]}\n"
    "  grid: {levels: 3}\n"
    "  bayes: {budget: 8, wave_size: 4}\n"
    "slurm: {time: \"01:00:00\", cpus_per_task: 2, ranks_per_task: 1, throttle: 4, signal_seconds: 120}\n";

static const char base_random_template[] =
    "# Fixed settings of every run of the default study.\n"
    "# No pretrained weights were found when this was written, so the runs start from a\n"
    "# RANDOM small DistilBERT (dim 64, 2 layers): it shows the pipeline, not DistilBERT's\n"
    "# accuracy. Put distilbert-base-uncased in $MRPC_DATA_DIR (scripts/get-data.sh) and\n"
    "# set model.path to fine-tune the real model.\n"
    "model:\n"
    "  path: random\n"
    "  dim: 64\n"
    "  n_layers: 2\n"
    "  n_heads: 2\n"
    "  hidden_dim: 256\n"
    "  max_positions: 512\n"
    "%s"
    "num_epochs: 3\n"
    "train_batch_size: 32\n"
    "eval_batch_size: 128\n"
    "threads: 1\n"
    "progress_seconds: 30\n";

static const char base_pretrained_template[] =
    "# Fixed settings of every run of the default study: fine-tune distilbert-base-uncased.\n"
    "model:\n"
    "  path: %s\n"
    "%s"
    "num_epochs: 3\n"
    "train_batch_size: 32\n"
    "eval_batch_size: 64\n"
    "threads: 0\n"
    "progress_seconds: 60\n";

static const char data_template[] =
    "data:\n"
    "  train: ${MRPC_DATA_DIR:-%s}/mrpc/train.tsv\n"
    "  validation: ${MRPC_DATA_DIR:-%s}/mrpc/dev.tsv\n"
    "  vocab: ${MRPC_DATA_DIR:-%s}/bert-base-uncased/vocab.txt\n";

mrpc_status mrpc_default_study_write(const char *dir, const char *data_dir, const char *pretrained_dir, int *written,
                                     mrpc_error *err) {
    *written = 0;
    char study_path[2048], base_path[2048];
    snprintf(study_path, sizeof study_path, "%s/study.yaml", dir);
    snprintf(base_path, sizeof base_path, "%s/base.yaml", dir);
    if (mrpc_path_exists(study_path)) return MRPC_OK;
    mrpc_status s = mrpc_mkdir_p(dir, err);
    if (s != MRPC_OK) return s;
    if (strpbrk(data_dir, "\"'\n\\{}[]#") || (pretrained_dir && strpbrk(pretrained_dir, "\"'\n\\{}[]#"))) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "data directory",
                              "\"%s\" contains characters that the study files cannot hold", data_dir);
    }
    char data[4096], base[8192], study[8192];
    snprintf(data, sizeof data, data_template, data_dir, data_dir, data_dir);
    if (pretrained_dir) {
        snprintf(base, sizeof base, base_pretrained_template, pretrained_dir, data);
        snprintf(study, sizeof study, study_template, "1.0e-5", "1.0e-4", "5.0e-5");
    } else {
        snprintf(base, sizeof base, base_random_template, data);
        snprintf(study, sizeof study, study_template, "1.0e-4", "1.0e-2", "1.0e-3");
    }
    /* base.yaml first: a study.yaml without its base config would be a broken study. */
    s = mrpc_file_write_atomic(base_path, base, strlen(base), err);
    if (s == MRPC_OK) s = mrpc_file_write_atomic(study_path, study, strlen(study), err);
    if (s == MRPC_OK) *written = 1;
    return s;
}

/* synth_study.c — a synthetic study with known numbers (see synth_study.h). */
#define _POSIX_C_SOURCE 200809L
#include "synth_study.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "runrec.h"

static const char *names[SYNTH_N_PARAMS + 1] = {"learning_rate", "weight_decay",  "warmup_steps", "train_batch_size",
                                                "num_epochs",    "dropout",       "max_grad_norm", "seed"};
static const int is_int[SYNTH_N_PARAMS + 1] = {0, 0, 1, 1, 1, 0, 0, 1};
static const double base[SYNTH_N_PARAMS] = {5e-5, 0.01, 100, 32, 3, 0.1, 1.0};
static const double lo[SYNTH_N_PARAMS] = {2e-5, 0.001, 0, 16, 2, 0.05, 0.5};
static const double hi[SYNTH_N_PARAMS] = {1e-4, 0.1, 300, 64, 4, 0.2, 2.0};

static uint32_t hash32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static int label_of(size_t i) { return (hash32((uint32_t)i * 2654435761u) % 100) < 68; }

/* Examples right, a known function of the hyperparameters (and the seed, +-1 example). */
static int correct_of(const double *p) {
    double lr = log10(p[0] / 6.5e-5);              /* the best learning rate is 6.5e-5 */
    double wu = (p[2] - 150.0) / 150.0;            /* the best warmup is 150 steps */
    double acc = 0.846 - 0.3 * lr * lr             /* learning rate matters most */
                 + 0.012 * (p[4] - 3)              /* more epochs help */
                 - 0.005 * fabs(log2(p[3] / 32))   /* batch size 32 is best */
                 + 0.008 * (1 - wu * wu)           /* warmup helps a little */
                 + 0.0025 * ((int)p[7] % 3 - 1);   /* seed noise: about one example */
    int k = (int)lround(acc * SYNTH_N_VAL);
    return k < 0 ? 0 : (k > SYNTH_N_VAL ? SYNTH_N_VAL : k);
}

typedef struct score_idx {
    double s;
    size_t i;
} score_idx;

static int cmp_score(const void *a, const void *b) {
    double x = ((const score_idx *)a)->s, y = ((const score_idx *)b)->s;
    return (x > y) - (x < y);
}

/* Predictions with exactly k examples right: the k lowest of difficulty + run noise. */
static void make_predictions(int k, uint32_t run_salt, int32_t *pred, int32_t *labels) {
    score_idx t[SYNTH_N_VAL];
    for (size_t i = 0; i < SYNTH_N_VAL; i++) {
        double d = hash32((uint32_t)i + 77u) / 4294967296.0;
        double u = hash32((uint32_t)i * 31u + run_salt * 1000003u) / 4294967296.0;
        t[i] = (score_idx){d + 0.35 * u, i};
    }
    qsort(t, SYNTH_N_VAL, sizeof t[0], cmp_score);
    for (size_t r = 0; r < SYNTH_N_VAL; r++) {
        size_t i = t[r].i;
        labels[i] = label_of(i);
        pred[i] = (int)r < k ? labels[i] : 1 - labels[i];
    }
}

static double f1_of(const int32_t *pred, const int32_t *labels) {
    size_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < SYNTH_N_VAL; i++) {
        tp += pred[i] == 1 && labels[i] == 1;
        fp += pred[i] == 1 && labels[i] == 0;
        fn += pred[i] == 0 && labels[i] == 1;
    }
    return 2.0 * (double)tp / (double)(2 * tp + fp + fn);
}

static mrpc_status write_record(const char *dir, synth_run *r, uint32_t salt, mrpc_error *err) {
    char path[2048];
    snprintf(path, sizeof path, "%s/runs/%s.h5", dir, r->run_id);
    if (strcmp(r->status, "missing") == 0) return MRPC_OK;
    if (strcmp(r->status, "unreadable") == 0) {
        const char junk[] = "\x89HDF\r\n\x1a\n but not really: this file was cut off by a full disk";
        return mrpc_file_write_atomic(path, junk, sizeof junk, err);
    }
    mrpc_hparam hp[SYNTH_N_PARAMS + 1];
    for (size_t p = 0; p <= SYNTH_N_PARAMS; p++) {
        memset(&hp[p], 0, sizeof hp[p]);
        snprintf(hp[p].name, sizeof hp[p].name, "%s", names[p]);
        hp[p].kind = is_int[p] ? MRPC_VALUE_INT : MRPC_VALUE_FLOAT;
        if (is_int[p]) hp[p].i = (int64_t)r->params[p];
        else hp[p].f = r->params[p];
    }
    mrpc_runrec_meta meta = {.run_id = r->run_id, .stage = r->stage, .host = "node-07", .n_ranks = 1,
                             .backend = "cpu", .precision = "fp32", .config_yaml = NULL};
    mrpc_runrec_writer *w = NULL;
    mrpc_status st = mrpc_runrec_create(path, &meta, hp, SYNTH_N_PARAMS + 1, &w, err);
    if (st != MRPC_OK) return st;
    int diverged = strcmp(r->status, "diverged") == 0, failed = strcmp(r->status, "failed") == 0;
    int running = strcmp(r->status, "running") == 0;
    int epochs = (int)r->params[4];
    int steps_per_epoch = 40;
    int n_steps = epochs * steps_per_epoch;
    if (failed) n_steps = 25;
    if (running) n_steps = steps_per_epoch + 10;
    double lr = r->params[0];
    int warm = (int)r->params[2] / 10;
    double final_acc = (double)r->correct / SYNTH_N_VAL;
    for (int s = 1; s <= n_steps && st == MRPC_OK; s++) {
        double sched = s <= warm ? (double)s / warm : (double)(epochs * steps_per_epoch - s) / (epochs * steps_per_epoch - warm);
        double noise = (hash32((uint32_t)s * 7919u + salt) / 4294967296.0 - 0.5) * 0.12;
        double loss = 0.25 + 0.45 * exp(-s / 35.0) + noise;
        if (diverged && s > 30) loss = s > 34 ? NAN : loss * pow(3.0, s - 30);
        st = mrpc_runrec_append_train(w, s, loss, lr * sched, 1.0 + noise, err);
        if (s % steps_per_epoch == 0 && st == MRPC_OK && !diverged) {
            int e = s / steps_per_epoch;
            double acc = final_acc - 0.03 * (epochs - e) + 0.002 * ((int)salt % 3);
            st = mrpc_runrec_append_eval(w, s, e, acc, acc + 0.05, 0.4 + 0.02 * (epochs - e), err);
        }
        if (diverged && s == 36) break;
    }
    if (st != MRPC_OK) {
        mrpc_runrec_abandon(w);
        return st;
    }
    if (running) {
        mrpc_runrec_abandon(w);
        return MRPC_OK;
    }
    if (diverged) return mrpc_runrec_finish(w, MRPC_RUN_DIVERGED, "loss is NaN at step 35 (learning rate too high?)", NULL, err);
    if (failed)
        return mrpc_runrec_finish(w, MRPC_RUN_FAILED, "killed by signal 9 (out of memory) <oom-killer> & \"exit 137\"",
                                  NULL, err);
    int32_t pred[SYNTH_N_VAL], labels[SYNTH_N_VAL];
    make_predictions(r->correct, salt, pred, labels);
    if ((st = mrpc_runrec_write_predictions(w, pred, labels, SYNTH_N_VAL, err)) != MRPC_OK) {
        mrpc_runrec_abandon(w);
        return st;
    }
    mrpc_runrec_summary sum = {.accuracy = final_acc, .f1 = f1_of(pred, labels), .best_accuracy = final_acc + 0.0025 * (salt % 2),
                               .train_seconds = 600.0 + 37.5 * epochs + 0.125 * salt,
                               .tokens_per_second = 5120.0 / (1.0 + r->params[3] / 256.0)};
    return mrpc_runrec_finish(w, MRPC_RUN_COMPLETED, NULL, &sum, err);
}

static synth_run *add(synth_info *info, const char *id, const char *stage, const double *p, int seed, const char *status) {
    synth_run *r = &info->runs[info->n_runs++];
    memset(r, 0, sizeof *r);
    snprintf(r->run_id, sizeof r->run_id, "%s", id);
    snprintf(r->stage, sizeof r->stage, "%s", stage);
    snprintf(r->status, sizeof r->status, "%s", status);
    memcpy(r->params, p, SYNTH_N_PARAMS * sizeof *p);
    r->params[SYNTH_N_PARAMS] = seed;
    r->correct = correct_of(r->params);
    return r;
}

static mrpc_status write_tasks(const char *dir, const char *stage, int wave, const synth_info *info, size_t first,
                               size_t count, mrpc_error *err) {
    char path[2048], line[1024];
    snprintf(path, sizeof path, "%s/waves/%s/%02d/tasks.tsv", dir, stage, wave);
    mrpc_status st = mrpc_mkdir_parent(path, err);
    if (st != MRPC_OK) return st;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "oom");
    len += (size_t)snprintf(buf + len, cap - len, "task_id\trun_id\toutput");
    for (size_t p = 0; p <= SYNTH_N_PARAMS; p++) len += (size_t)snprintf(buf + len, cap - len, "\t%s", names[p]);
    len += (size_t)snprintf(buf + len, cap - len, "\n");
    for (size_t k = 0; k < count; k++) {
        const synth_run *r = &info->runs[first + k];
        int n = snprintf(line, sizeof line, "%zu\t%s\truns/%s.h5", k, r->run_id, r->run_id);
        for (size_t p = 0; p <= SYNTH_N_PARAMS; p++) {
            if (is_int[p]) n += snprintf(line + n, sizeof line - (size_t)n, "\t%.0f", r->params[p]);
            else n += snprintf(line + n, sizeof line - (size_t)n, "\t%.17g", r->params[p]);
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s\n", line);
    }
    st = mrpc_file_write_atomic(path, buf, len, err);
    free(buf);
    return st;
}

/* The study file, in optimize/study.h's format (weight_decay's distribution is inferred: linear). */
static const char *study_yaml =
    "# synthetic study for the analysis tests\n"
    "name: synthetic\n"
    "objective: {metric: accuracy, goal: maximize}\n"
    "runs_dir: runs\n"
    "parameters:\n"
    "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-4, baseline: 5.0e-5}\n"
    "  weight_decay: {distribution: log_uniform_values, min: 1.0e-3, max: 0.1, baseline: 0.01}\n"
    "  warmup_steps: {min: 0, max: 300, baseline: 100}\n"
    "  train_batch_size: {values: [16, 32, 64], baseline: 32}\n"
    "  num_epochs: {distribution: int_uniform, min: 2, max: 4, baseline: 3}\n"
    "  dropout: {distribution: uniform, min: 0.05, max: 0.2, baseline: 0.1}\n"
    "  max_grad_norm: {min: 0.5, max: 2.0, baseline: 1.0}\n"
    "stages:\n"
    "  sensitivity: {top_k: 3, seeds: 3}\n"
    "  grid: {levels: 3}\n"
    "  bayes: {budget: 10, wave_size: 5}\n";

/* mrpc-optimize's stage 1 summary, in the format of optimize/stages/sensitivity.c (abridged). */
static const char *sensitivity_yaml =
    "# Sensitivity analysis of study synthetic, written by mrpc-optimize.\n"
    "study: synthetic\nobjective: accuracy\ngoal: maximize\n"
    "complete: true\nranked: true\npending_runs: 0\nfailed_runs: 1\n"
    "baseline:\n  runs: 3\n  completed: 3\n  objective: 0.8488562091503268\n  seed_std: 0.0036\n"
    "worst_objective: 0.7745098039215687\n"
    "parameters:\n"
    "  learning_rate:\n    rank: 1\n    tuned: true\n    baseline: 5e-05\n"
    "    low: {value: 2e-05, state: completed, objective: 0.7745, change: -0.0743}\n"
    "    high: {value: 0.0001, state: diverged, objective: 0.7745, change: -0.0743, imputed: true}\n"
    "    effect: 0.07434640522875813\n    effect_in_seed_std: 20.6\n"
    "  num_epochs:\n    rank: 2\n    tuned: true\n    effect: 0.011437908496732\n"
    "  train_batch_size:\n    rank: 3\n    tuned: true\n    effect: 0.0057\n"
    "  warmup_steps:\n    rank: 4\n    tuned: false\n    effect: 0.0057\n"
    "  weight_decay:\n    rank: null\n    tuned: false\n    effect: null\n"
    "tuned: [learning_rate, num_epochs, train_batch_size]\n";

static mrpc_status write_all(const char *dir, synth_info *info, size_t n_s1, size_t n_grid, size_t n_b0, size_t n_b1,
                             mrpc_error *err) {
    char path[2048];
    snprintf(path, sizeof path, "%s/runs", dir);
    mrpc_status st = mrpc_mkdir_p(path, err);
    if (st != MRPC_OK) return st;
    snprintf(path, sizeof path, "%s/study.yaml", dir);
    if ((st = mrpc_file_write_atomic(path, study_yaml, strlen(study_yaml), err)) != MRPC_OK) return st;
    if (n_grid) {
        snprintf(path, sizeof path, "%s/sensitivity.yaml", dir);
        if ((st = mrpc_file_write_atomic(path, sensitivity_yaml, strlen(sensitivity_yaml), err)) != MRPC_OK) return st;
    }
    for (size_t i = 0; i < info->n_runs && st == MRPC_OK; i++) st = write_record(dir, &info->runs[i], (uint32_t)i + 1, err);
    if (st == MRPC_OK) st = write_tasks(dir, "sensitivity", 0, info, 0, n_s1, err);
    if (st == MRPC_OK && n_grid) st = write_tasks(dir, "grid", 0, info, n_s1, n_grid, err);
    if (st == MRPC_OK && n_b0) st = write_tasks(dir, "bayes", 0, info, n_s1 + n_grid, n_b0, err);
    if (st == MRPC_OK && n_b1) st = write_tasks(dir, "bayes", 1, info, n_s1 + n_grid + n_b0, n_b1, err);
    return st;
}

static void facts(synth_info *info) {
    for (size_t p = 0; p <= SYNTH_N_PARAMS; p++) info->param_names[p] = names[p];
    double b[3];
    size_t nb = 0;
    info->best_accuracy = -1;
    for (size_t i = 0; i < info->n_runs; i++) {
        const synth_run *r = &info->runs[i];
        if (strcmp(r->status, "completed") != 0) continue;
        double acc = (double)r->correct / SYNTH_N_VAL;
        if (strncmp(r->run_id, "s1-base-", 8) == 0 && nb < 3) b[nb++] = acc;
        if (acc > info->best_accuracy) {
            info->best_accuracy = acc;
            snprintf(info->best_run_id, sizeof info->best_run_id, "%s", r->run_id);
        }
    }
    info->baseline_mean = nb ? (b[0] + (nb > 1 ? b[1] : 0) + (nb > 2 ? b[2] : 0)) / (double)nb : NAN;
    double ss = 0;
    for (size_t k = 0; k < nb; k++) ss += (b[k] - info->baseline_mean) * (b[k] - info->baseline_mean);
    info->baseline_std = nb > 1 ? sqrt(ss / (double)(nb - 1)) : NAN;
    info->lr_effect = NAN;
    for (size_t i = 0; i < info->n_runs; i++) {
        const synth_run *r = &info->runs[i];
        if (strncmp(r->run_id, "s1-learning_rate-", 17) != 0 || strcmp(r->status, "completed") != 0) continue;
        double d = fabs((double)r->correct / SYNTH_N_VAL - info->baseline_mean);
        if (isnan(info->lr_effect) || d > info->lr_effect) info->lr_effect = d;
    }
}

static void sensitivity_runs(synth_info *info) {
    for (int s = 0; s < 3; s++) {
        char id[64];
        snprintf(id, sizeof id, "s1-base-%d", s);
        add(info, id, "sensitivity", base, s + 1, "completed");
    }
    for (size_t p = 0; p < SYNTH_N_PARAMS; p++) {
        for (int side = 0; side < 2; side++) {
            double v[SYNTH_N_PARAMS];
            memcpy(v, base, sizeof v);
            v[p] = side ? hi[p] : lo[p];
            char id[64];
            snprintf(id, sizeof id, "s1-%s-%s", names[p], side ? "hi" : "lo");
            add(info, id, "sensitivity", v, 1, p == 0 && side ? "diverged" : "completed");
        }
    }
}

mrpc_status synth_study_write(const char *dir, synth_info *info, mrpc_error *err) {
    memset(info, 0, sizeof *info);
    sensitivity_runs(info);
    size_t n_s1 = info->n_runs;
    const double lrs[3] = {3e-5, 5e-5, 8e-5};
    const double eps[3] = {2, 3, 4};
    const double bss[2] = {16, 32};
    size_t g = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 2; c++, g++) {
                double v[SYNTH_N_PARAMS];
                memcpy(v, base, sizeof v);
                v[0] = lrs[a];
                v[4] = eps[b];
                v[3] = bss[c];
                char id[64];
                snprintf(id, sizeof id, "g2-%02zu", g);
                add(info, id, "grid", v, 1, g == 5 ? "failed" : "completed");
            }
    /* Stage 3: suggestions that home in on lr ~ 6e-5, 4 epochs. */
    const double b_lr[10] = {4.2e-5, 7.5e-5, 9.0e-5, 6.0e-5, 5.0e-5, 6.2e-5, 5.5e-5, 6.5e-5, 6.1e-5, 6.3e-5};
    const double b_ep[10] = {3, 4, 3, 4, 4, 4, 4, 4, 4, 4};
    const double b_wu[10] = {80, 200, 60, 120, 100, 140, 90, 150, 110, 130};
    const char *b_status[10] = {"completed", "completed", "completed", "missing",  "completed",
                                "completed", "unreadable", "completed", "running", "completed"};
    for (int k = 0; k < 10; k++) {
        double v[SYNTH_N_PARAMS];
        memcpy(v, base, sizeof v);
        v[0] = b_lr[k];
        v[4] = b_ep[k];
        v[2] = b_wu[k];
        char id[64];
        snprintf(id, sizeof id, "b3-%02d", k);
        add(info, id, "bayes", v, 1, b_status[k]);
    }
    facts(info);
    return write_all(dir, info, n_s1, 18, 5, 5, err);
}

mrpc_status synth_study_write_small(const char *dir, size_t n_completed, synth_info *info, mrpc_error *err) {
    memset(info, 0, sizeof *info);
    sensitivity_runs(info);
    if (n_completed < info->n_runs) info->n_runs = n_completed;
    for (size_t i = 0; i < info->n_runs; i++) snprintf(info->runs[i].status, sizeof info->runs[i].status, "completed");
    facts(info);
    return write_all(dir, info, info->n_runs, 0, 0, 0, err);
}

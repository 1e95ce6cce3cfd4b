/* fake_runs.c — run records as mrpc-train would write them, for tests (see fake_runs.h). */
#include "fake_runs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

double fake_run_accuracy_of_id(const mrpc_run_config *cfg, const char *run_id, void *ctx) {
    (void)cfg;
    (void)ctx;
    return 0.70 + (double)(mrpc_fnv1a(MRPC_FNV1A_INIT, run_id, strlen(run_id)) % 100) * 1e-3;
}

mrpc_status fake_run_write(const char *path, const mrpc_run_config *cfg_in, const char *run_id, mrpc_run_status status,
                           double accuracy, mrpc_error *err) {
    mrpc_run_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
    *cfg = *cfg_in;
    /* Dropouts a real run resolves from the checkpoint (DistilBertConfig defaults). */
    if (isnan(cfg->dropout)) cfg->dropout = 0.1;
    if (isnan(cfg->attention_dropout)) cfg->attention_dropout = 0.1;
    if (isnan(cfg->classifier_dropout)) cfg->classifier_dropout = 0.2;
    mrpc_hparam hp[MRPC_RUNREC_MAX_HPARAMS];
    size_t n = mrpc_run_config_hparams(cfg, hp, MRPC_RUNREC_MAX_HPARAMS);
    free(cfg);
    mrpc_runrec_meta meta = {.run_id = run_id, .stage = "manual", .host = "test", .n_ranks = 1, .backend = "cpu",
                             .precision = "fp32", .config_yaml = NULL};
    mrpc_status s = mrpc_mkdir_parent(path, err);
    if (s != MRPC_OK) return s;
    mrpc_runrec_writer *w = NULL;
    s = mrpc_runrec_create(path, &meta, hp, n, &w, err);
    if (s != MRPC_OK) return s;
    if (status == MRPC_RUN_RUNNING) {
        mrpc_runrec_abandon(w);
        return MRPC_OK;
    }
    if (isfinite(accuracy)) {
        s = mrpc_runrec_append_eval(w, 10, 1, accuracy, accuracy, 0.5, err);
        if (s != MRPC_OK) { mrpc_runrec_abandon(w); return s; }
    }
    mrpc_runrec_summary sum = {.accuracy = accuracy, .f1 = accuracy, .best_accuracy = accuracy, .train_seconds = 1.0,
                               .tokens_per_second = 1000.0};
    return mrpc_runrec_finish(w, status, status == MRPC_RUN_COMPLETED ? NULL : "fake failure",
                              isfinite(accuracy) ? &sum : NULL, err);
}

mrpc_status fake_run_task(const mrpc_wave *w, const mrpc_wave_task *t, fake_objective f, void *ctx, mrpc_error *err) {
    mrpc_run_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    mrpc_run_config_defaults(cfg);
    mrpc_status s = mrpc_run_config_load_file(w->base_config, cfg, err);
    if (s == MRPC_OK) s = mrpc_wave_apply_task(w, t, cfg, err);
    if (s == MRPC_OK) {
        double acc = f(cfg, t->run_id, ctx);
        mrpc_run_status st = MRPC_RUN_COMPLETED;
        if (isnan(acc)) st = MRPC_RUN_FAILED;
        else if (acc == INFINITY) st = MRPC_RUN_DIVERGED;
        else if (acc == -INFINITY) st = MRPC_RUN_RUNNING;
        s = fake_run_write(cfg->output, cfg, t->run_id, st, st == MRPC_RUN_COMPLETED ? acc : NAN, err);
    }
    free(cfg);
    return s;
}

mrpc_status fake_run_wave(const char *wave_dir, fake_objective f, void *ctx, size_t limit, mrpc_error *err) {
    mrpc_wave w;
    mrpc_status s = mrpc_wave_read(wave_dir, &w, err);
    if (s != MRPC_OK) return s;
    size_t n = limit && limit < w.n_tasks ? limit : w.n_tasks;
    for (size_t i = 0; i < n && s == MRPC_OK; i++) s = fake_run_task(&w, &w.tasks[i], f, ctx, err);
    mrpc_wave_clear(&w);
    return s;
}

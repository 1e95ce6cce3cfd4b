/* task_config.c — run config from a wave row or a file, checkpoint defaults (see task_config.h). */
#include "task_config.h"

#include <stdio.h>
#include <string.h>

#include "fsutil.h"
#include "hf_config.h"
#include "strutil.h"
#include "wave.h"

mrpc_status mrpc_task_config_from_wave(const char *wave_dir, int64_t task_id, mrpc_run_config *cfg, mrpc_error *err) {
    mrpc_wave wave;
    memset(&wave, 0, sizeof wave);
    mrpc_status s = mrpc_wave_read(wave_dir, &wave, err);
    if (s != MRPC_OK) return s;
    const mrpc_wave_task *task = mrpc_wave_task_by_id(&wave, task_id);
    if (!task) {
        s = mrpc_error_set(err, MRPC_ERR_INVALID, wave_dir, 0, 0, "task_id",
                           "task %lld is not in this wave (it has tasks 0..%lld): is the array range right?",
                           (long long)task_id, (long long)wave.n_tasks - 1);
        mrpc_wave_clear(&wave);
        return s;
    }
    s = mrpc_run_config_load_file(wave.base_config, cfg, err);
    /* Pausing is the wave's to decide (its pause_after_epoch column), never the base config's. */
    if (s == MRPC_OK) s = mrpc_run_config_set(cfg, "pause_after_epoch", "0", wave_dir, 0, 0, err);
    if (s == MRPC_OK) s = mrpc_wave_apply_task(&wave, task, cfg, err);
    /* The base config may have changed since the wave was planned: then this run would not be the one planned. */
    if (s == MRPC_OK) s = mrpc_wave_check_fixed(&wave, cfg, err);
    if (s == MRPC_OK && !mrpc_run_config_is_set(cfg, "data.cache_dir")) {
        char cache[MRPC_PATH_MAX + 16];
        snprintf(cache, sizeof cache, "%s/cache", wave.study_dir);
        s = mrpc_run_config_set(cfg, "data.cache_dir", cache, wave_dir, 0, 0, err);
    }
    mrpc_wave_clear(&wave);
    return s;
}

mrpc_status mrpc_task_config_finalize(mrpc_run_config *cfg, mrpc_error *err) {
    /* DistilBertConfig defaults, used for a random model. */
    double dropout = 0.1, attention = 0.1, classifier = 0.2;
    if (strcmp(cfg->model_path, "random") != 0) {
        char path[MRPC_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/config.json", cfg->model_path);
        mrpc_hf_config hf;
        mrpc_status s = mrpc_hf_config_read(path, &hf, err);
        if (s != MRPC_OK) {
            mrpc_error_prefix(err, "model.path: ");
            return s;
        }
        dropout = hf.dropout;
        attention = hf.attention_dropout;
        classifier = hf.seq_classif_dropout;
        /* The recorded config shows the checkpoint's architecture, not the random model's defaults. */
        cfg->model_dim = hf.dim;
        cfg->model_n_layers = hf.n_layers;
        cfg->model_n_heads = hf.n_heads;
        cfg->model_hidden_dim = hf.hidden_dim;
        cfg->model_max_positions = hf.max_position_embeddings;
        if (cfg->max_seq_length > hf.max_position_embeddings) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, cfg->source[0] ? cfg->source : NULL, 0, 0, "max_seq_length",
                                  "%lld is longer than the checkpoint's %d positions", (long long)cfg->max_seq_length,
                                  hf.max_position_embeddings);
        }
        char vocab[MRPC_PATH_MAX + 32];
        snprintf(vocab, sizeof vocab, "%s/vocab.txt", cfg->model_path);
        if (!mrpc_run_config_is_set(cfg, "data.vocab") && mrpc_path_exists(vocab)) {
            s = mrpc_run_config_set(cfg, "data.vocab", vocab, "checkpoint", 0, 0, err);
            if (s != MRPC_OK) return s;
        }
    }
    return mrpc_run_config_finalize(cfg, dropout, attention, classifier, err);
}

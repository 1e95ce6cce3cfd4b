/* resume.c — resume checkpoints as safetensors with metadata (see resume.h). */
#include "resume.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "safetensors.h"
#include "strutil.h"

static const char *const slab_names[3] = {"params", "adam_m", "adam_v"};
static const mrpc_slab_kind slab_ids[3] = {MRPC_SLAB_PARAMS, MRPC_SLAB_ADAM_M, MRPC_SLAB_ADAM_V};

mrpc_status mrpc_resume_write(const char *path, mrpc_model *model, const mrpc_resume_state *state,
                              const void *record, size_t record_size, mrpc_error *err) {
    size_t n = 0;
    mrpc_model_slab(model, MRPC_SLAB_PARAMS, &n);
    /* On the CPU the slabs are host memory: written from where they are (no 766 MB copy at
     * base size); on a GPU they are copied to the host first. */
    int direct = mrpc_model_backend(model)->host_memory;
    float *host[3] = {NULL, NULL, NULL};
    const float *src[3] = {NULL, NULL, NULL};
    mrpc_status s = MRPC_OK;
    for (int k = 0; k < 3; k++) {
        if (direct) {
            src[k] = mrpc_model_slab(model, slab_ids[k], NULL);
            continue;
        }
        host[k] = malloc(n * sizeof(float));
        if (!host[k]) {
            s = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory for the resume checkpoint");
            goto done;
        }
        mrpc_model_slab_to_host(model, slab_ids[k], host[k]);
        src[k] = host[k];
    }
    mrpc_st_write_item items[4];
    size_t n_items = 3;
    for (int k = 0; k < 3; k++) {
        memset(&items[k], 0, sizeof items[k]);
        items[k].name = slab_names[k];
        items[k].dtype = MRPC_ST_F32;
        items[k].n_dims = 1;
        items[k].shape[0] = (int64_t)n;
        items[k].data = src[k];
    }
    if (record) {
        memset(&items[3], 0, sizeof items[3]);
        items[3].name = "record";
        items[3].dtype = MRPC_ST_U8;
        items[3].n_dims = 1;
        items[3].shape[0] = (int64_t)record_size;
        items[3].bytes = record;
        n_items = 4;
    }
    char version[16], hash[32], steps[32], evals[32], best[40], secs[40], csecs[40], tokens[32];
    snprintf(version, sizeof version, "%d", MRPC_RESUME_VERSION);
    snprintf(hash, sizeof hash, "%016" PRIx64, state->config_hash);
    snprintf(steps, sizeof steps, "%" PRId64, state->steps_done);
    snprintf(evals, sizeof evals, "%" PRId64, state->evals_done);
    mrpc_format_f64(best, sizeof best, isnan(state->best_accuracy) ? -1.0 : state->best_accuracy);
    mrpc_format_f64(secs, sizeof secs, state->train_seconds);
    mrpc_format_f64(csecs, sizeof csecs, state->compute_seconds);
    snprintf(tokens, sizeof tokens, "%" PRId64, state->tokens_done);
    const char *meta[] = {"format", MRPC_RESUME_FORMAT, "version", version, "run_id", state->run_id,
                          "config_hash", hash, "steps_done", steps, "evals_done", evals, "best_accuracy", best,
                          "train_seconds", secs, "compute_seconds", csecs, "tokens_done", tokens, NULL};
    s = mrpc_st_write(path, items, n_items, meta, err);
done:
    for (int k = 0; k < 3; k++) free(host[k]);
    return s;
}

/* Reads a metadata value as text; missing keys are an error naming the key. */
static mrpc_status meta_text(const mrpc_st_file *f, const char *path, const char *key, const char **out,
                             mrpc_error *err) {
    *out = mrpc_st_metadata(f, key);
    if (!*out) return mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, key, "missing from the resume checkpoint");
    return MRPC_OK;
}

static mrpc_status meta_i64(const mrpc_st_file *f, const char *path, const char *key, int64_t *out, mrpc_error *err) {
    const char *t;
    mrpc_status s = meta_text(f, path, key, &t, err);
    if (s != MRPC_OK) return s;
    if (!mrpc_parse_i64(t, out) || *out < 0) return mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, key, "bad value \"%s\"", t);
    return MRPC_OK;
}

static mrpc_status meta_f64(const mrpc_st_file *f, const char *path, const char *key, double *out, mrpc_error *err) {
    const char *t;
    mrpc_status s = meta_text(f, path, key, &t, err);
    if (s != MRPC_OK) return s;
    if (!mrpc_parse_f64(t, out)) return mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, key, "bad value \"%s\"", t);
    return MRPC_OK;
}

mrpc_status mrpc_resume_read_state(const char *path, const mrpc_resume_state *expect, mrpc_resume_state *state,
                                   mrpc_error *err) {
    mrpc_st_file *f = NULL;
    mrpc_status s = mrpc_st_open(path, &f, err);
    if (s != MRPC_OK) return s;
    memset(state, 0, sizeof *state);
    const char *t;
    if ((s = meta_text(f, path, "format", &t, err)) != MRPC_OK) goto done;
    if (strcmp(t, MRPC_RESUME_FORMAT) != 0) {
        s = mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, "format", "not a resume checkpoint (\"%s\")", t);
        goto done;
    }
    int64_t version;
    if ((s = meta_i64(f, path, "version", &version, err)) != MRPC_OK) goto done;
    if (version != 1 && version != MRPC_RESUME_VERSION) {
        s = mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, path, 0, 0, "version",
                           "resume checkpoint version %lld, this build reads %d", (long long)version, MRPC_RESUME_VERSION);
        goto done;
    }
    if ((s = meta_text(f, path, "run_id", &t, err)) != MRPC_OK) goto done;
    mrpc_str_copy(state->run_id, sizeof state->run_id, t);
    if ((s = meta_text(f, path, "config_hash", &t, err)) != MRPC_OK) goto done;
    char *end = NULL;
    state->config_hash = strtoull(t, &end, 16);
    if (!end || *end != '\0' || strlen(t) != 16) {
        s = mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, "config_hash", "bad value \"%s\"", t);
        goto done;
    }
    int same_config = state->config_hash == expect->config_hash ||
                      (expect->legacy_config_hash != 0 && state->config_hash == expect->legacy_config_hash);
    if (strcmp(state->run_id, expect->run_id) != 0 || !same_config) {
        s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL,
                           "this resume checkpoint belongs to run \"%s\" with another configuration; remove it to "
                           "start this run from scratch", state->run_id);
        goto done;
    }
    if ((s = meta_i64(f, path, "steps_done", &state->steps_done, err)) != MRPC_OK) goto done;
    if ((s = meta_i64(f, path, "evals_done", &state->evals_done, err)) != MRPC_OK) goto done;
    if ((s = meta_i64(f, path, "tokens_done", &state->tokens_done, err)) != MRPC_OK) goto done;
    if ((s = meta_f64(f, path, "best_accuracy", &state->best_accuracy, err)) != MRPC_OK) goto done;
    if (state->best_accuracy < 0) state->best_accuracy = NAN;
    if ((s = meta_f64(f, path, "train_seconds", &state->train_seconds, err)) != MRPC_OK) goto done;
    if ((s = meta_f64(f, path, "compute_seconds", &state->compute_seconds, err)) != MRPC_OK) goto done;
    if (version >= 2) state->has_record = mrpc_st_find(f, "record") != NULL;
done:
    mrpc_st_close(f);
    return s;
}

mrpc_status mrpc_resume_load_slabs(const char *path, mrpc_model *model, mrpc_error *err) {
    mrpc_st_file *f = NULL;
    mrpc_status s = mrpc_st_open(path, &f, err);
    if (s != MRPC_OK) return s;
    size_t n = 0;
    mrpc_model_slab(model, MRPC_SLAB_PARAMS, &n);
    float *host = malloc(n * sizeof(float));
    if (!host) s = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
    int64_t shape[1] = {(int64_t)n};
    for (int k = 0; s == MRPC_OK && k < 3; k++) {
        s = mrpc_st_read_f32(f, slab_names[k], shape, 1, host, err);
        if (s == MRPC_OK) mrpc_model_slab_from_host(model, slab_ids[k], host);
    }
    if (s == MRPC_OK) mrpc_model_params_changed(model);
    free(host);
    mrpc_st_close(f);
    return s;
}

mrpc_status mrpc_resume_read_record(const char *path, unsigned char **out, size_t *out_size, mrpc_error *err) {
    mrpc_st_file *f = NULL;
    mrpc_status s = mrpc_st_open(path, &f, err);
    if (s != MRPC_OK) return s;
    s = mrpc_st_read_bytes(f, "record", out, out_size, err);
    mrpc_st_close(f);
    return s;
}

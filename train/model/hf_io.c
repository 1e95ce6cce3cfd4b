/*
 * hf_io.c — Hugging Face checkpoints: config.json + model.safetensors in and out
 * (train/io: mrpc_io). Tensors are matched by HF name; see model.h for the rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "hf_config.h"
#include "model_internal.h"
#include "safetensors.h"
#include "strutil.h"

static void dims_from_cfg(const mrpc_hf_config *c, mrpc_model_dims *d) {
    d->dim = c->dim;
    d->n_layers = c->n_layers;
    d->n_heads = c->n_heads;
    d->hidden_dim = c->hidden_dim;
    d->vocab_size = c->vocab_size;
    d->max_positions = c->max_position_embeddings;
    d->num_labels = c->num_labels;
    d->pad_id = c->pad_token_id;
    d->initializer_range = c->initializer_range;
}

static mrpc_status join(char *buf, size_t size, const char *dir, const char *file, mrpc_error *err) {
    int n = snprintf(buf, size, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= size) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, dir, 0, 0, NULL, "checkpoint path too long");
    }
    return MRPC_OK;
}

mrpc_status mrpc_model_read_hf_config(const char *dir, mrpc_model_dims *dims, mrpc_model_dropouts *dropouts,
                                      mrpc_error *err) {
    char path[4096];
    mrpc_status st = join(path, sizeof path, dir, "config.json", err);
    if (st != MRPC_OK) {
        return st;
    }
    mrpc_hf_config cfg;
    mrpc_hf_config_defaults(&cfg);
    st = mrpc_hf_config_read(path, &cfg, err);
    if (st != MRPC_OK) {
        return st;
    }
    dims_from_cfg(&cfg, dims);
    if (dropouts) {
        dropouts->hidden = cfg.dropout;
        dropouts->attention = cfg.attention_dropout;
        dropouts->classifier = cfg.seq_classif_dropout;
    }
    return MRPC_OK;
}

/*
 * Reads tensor `name` (or the name without "distilbert.") into dst; *found = 0 when
 * absent. *used gets the checkpoint's name of the tensor read (NULL when absent).
 */
static mrpc_status read_view(const mrpc_st_file *f, const mrpc_param_view *v, float *dst, int *found,
                             const char **used, mrpc_error *err) {
    const char *name = v->name;
    *used = NULL;
    if (!mrpc_st_find(f, name) && strncmp(name, "distilbert.", 11) == 0 && mrpc_st_find(f, name + 11)) {
        name += 11; /* saved from a bare DistilBertModel */
    }
    if (!mrpc_st_find(f, name)) {
        *found = 0;
        return MRPC_OK;
    }
    *found = 1;
    *used = name;
    return mrpc_st_read_f32(f, name, v->shape, v->n_dims, dst, err);
}

void mrpc_hf_load_report_free(mrpc_hf_load_report *r) {
    if (!r) return;
    free(r->unused);
    free(r->initialized);
    memset(r, 0, sizeof *r);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* names[0..n) sorted, as a JSON array of strings ("[]" when n is 0); NULL when out of memory. */
static char *json_name_list(const char **names, size_t n) {
    qsort(names, n, sizeof *names, cmp_names);
    size_t len = 3;
    for (size_t i = 0; i < n; i++) len += strlen(names[i]) * 6 + 4;
    char *out = malloc(len);
    if (!out) return NULL;
    size_t o = 0;
    out[o++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i) {
            out[o++] = ',';
            out[o++] = ' ';
        }
        out[o++] = '"';
        for (const unsigned char *c = (const unsigned char *)names[i]; *c; c++) {
            if (*c == '"' || *c == '\\') {
                out[o++] = '\\';
                out[o++] = (char)*c;
            } else if (*c < 0x20) {
                o += (size_t)snprintf(out + o, len - o, "\\u%04x", *c);
            } else {
                out[o++] = (char)*c;
            }
        }
        out[o++] = '"';
    }
    out[o++] = ']';
    out[o] = '\0';
    return out;
}

/* Fills *r from what was read: used[i] is the checkpoint name view i was read from, NULL when initialised. */
static mrpc_status make_report(const mrpc_model *m, const mrpc_st_file *f, const char **used,
                               mrpc_hf_load_report *r, mrpc_error *err) {
    size_t n_file = mrpc_st_count(f);
    const char **names = malloc(((n_file > m->n_views ? n_file : m->n_views) + 1) * sizeof *names);
    if (!names) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n_file; i++) {
        const char *name = mrpc_st_at(f, i)->name;
        int is_used = 0;
        for (size_t j = 0; j < m->n_views && !is_used; j++) is_used = used[j] && strcmp(used[j], name) == 0;
        if (!is_used) names[k++] = name;
    }
    r->n_unused = k;
    r->unused = json_name_list(names, k);
    k = 0;
    for (size_t j = 0; j < m->n_views; j++)
        if (!used[j]) names[k++] = m->views[j].name;
    r->n_initialized = k;
    r->initialized = json_name_list(names, k);
    free(names);
    if (!r->unused || !r->initialized) {
        mrpc_hf_load_report_free(r);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
    }
    return MRPC_OK;
}

mrpc_status mrpc_model_load_hf(mrpc_model *m, const char *dir, uint64_t seed, mrpc_model_dropouts *dropouts,
                               int *head_loaded, mrpc_error *err) {
    return mrpc_model_load_hf_report(m, dir, seed, dropouts, head_loaded, NULL, err);
}

mrpc_status mrpc_model_load_hf_report(mrpc_model *m, const char *dir, uint64_t seed, mrpc_model_dropouts *dropouts,
                                      int *head_loaded, mrpc_hf_load_report *report, mrpc_error *err) {
    if (report) memset(report, 0, sizeof *report);
    mrpc_model_dims d;
    mrpc_model_dropouts dr;
    mrpc_status st = mrpc_model_read_hf_config(dir, &d, &dr, err);
    if (st != MRPC_OK) {
        return st;
    }
    const mrpc_model_dims *md = &m->dims;
    struct {
        const char *field;
        int have, want;
    } cmp[] = {{"dim", d.dim, md->dim},
               {"n_layers", d.n_layers, md->n_layers},
               {"n_heads", d.n_heads, md->n_heads},
               {"hidden_dim", d.hidden_dim, md->hidden_dim},
               {"vocab_size", d.vocab_size, md->vocab_size},
               {"max_position_embeddings", d.max_positions, md->max_positions},
               {"num_labels", d.num_labels, md->num_labels},
               {"pad_token_id", d.pad_id, md->pad_id}};
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++) {
        if (cmp[i].have != cmp[i].want) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, dir, 0, 0, cmp[i].field,
                                  "checkpoint has %s = %d but the model was built with %d", cmp[i].field,
                                  cmp[i].have, cmp[i].want);
        }
    }
    char path[4096];
    st = join(path, sizeof path, dir, "model.safetensors", err);
    if (st != MRPC_OK) {
        return st;
    }
    mrpc_st_file *f = NULL;
    st = mrpc_st_open(path, &f, err);
    if (st != MRPC_OK) {
        return st;
    }
    float *stage = NULL;
    const char **used = calloc(m->n_views ? m->n_views : 1, sizeof *used);
    if (!used) {
        mrpc_st_close(f);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
    }
    if (!m->be->host_memory) {
        size_t biggest = 0;
        for (size_t i = 0; i < m->n_views; i++) {
            biggest = m->views[i].n_elems > biggest ? m->views[i].n_elems : biggest;
        }
        stage = malloc(sizeof(float) * biggest);
        if (!stage) {
            free(used);
            mrpc_st_close(f);
            return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
        }
    }
    mrpc_rng rng;
    mrpc_rng_init(&rng, seed, MRPC_RNG_INIT, 1); /* substream 1: head init after loading */
    int all_head = 1;
    for (size_t i = 0; i < m->n_views && st == MRPC_OK; i++) {
        const mrpc_param_view *v = &m->views[i];
        float *dst = stage ? stage : m->params + v->offset;
        int found = 0;
        st = read_view(f, v, dst, &found, &used[i], err);
        if (st != MRPC_OK) {
            break;
        }
        if (!found) {
            if (!model_view_is_head(v)) {
                st = mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, v->name,
                                    "tensor missing from the checkpoint");
                break;
            }
            all_head = 0;
            model_init_view(m, v, dst, &rng); /* N(0, initializer_range) / zero bias */
        }
        if (stage) {
            m->be->ops->copy_to_backend(m->be, m->params + v->offset, stage, sizeof(float) * v->n_elems);
        }
    }
    free(stage);
    if (st == MRPC_OK && report) st = make_report(m, f, used, report, err);
    free(used);
    mrpc_st_close(f);
    if (st != MRPC_OK) {
        return st;
    }
    if (head_loaded) {
        *head_loaded = all_head;
    }
    if (dropouts) {
        *dropouts = dr;
    }
    size_t nb = m->lay.total * sizeof(float);
    m->be->ops->zero(m->be, m->grads, nb);
    m->be->ops->zero(m->be, m->adam_m, nb);
    m->be->ops->zero(m->be, m->adam_v, nb);
    mrpc_model_params_changed(m);
    st = m->be->ops->get_error(m->be, err);
    if (st != MRPC_OK) mrpc_hf_load_report_free(report);
    return st;
}

mrpc_status mrpc_model_create_from_hf(const char *dir, const mrpc_model_options *opts, uint64_t seed,
                                      mrpc_model **out, mrpc_model_dropouts *dropouts, mrpc_error *err) {
    return mrpc_model_create_from_hf_report(dir, opts, seed, out, dropouts, NULL, err);
}

mrpc_status mrpc_model_create_from_hf_report(const char *dir, const mrpc_model_options *opts, uint64_t seed,
                                             mrpc_model **out, mrpc_model_dropouts *dropouts,
                                             mrpc_hf_load_report *report, mrpc_error *err) {
    *out = NULL;
    if (report) memset(report, 0, sizeof *report);
    mrpc_model_dims d;
    mrpc_status st = mrpc_model_read_hf_config(dir, &d, NULL, err);
    if (st != MRPC_OK) {
        return st;
    }
    mrpc_model *m = NULL;
    st = mrpc_model_create(&d, opts, &m, err);
    if (st != MRPC_OK) {
        return st;
    }
    st = mrpc_model_load_hf_report(m, dir, seed, dropouts, NULL, report, err);
    if (st != MRPC_OK) {
        mrpc_model_free(m);
        return st;
    }
    *out = m;
    return MRPC_OK;
}

mrpc_status mrpc_model_save_hf(mrpc_model *m, const char *dir, const mrpc_model_dropouts *dropouts,
                               mrpc_error *err) {
    mrpc_status st = mrpc_mkdir_p(dir, err);
    if (st != MRPC_OK) {
        return st;
    }
    const float *src = m->params;
    float *host = NULL;
    if (!m->be->host_memory) {
        host = malloc(sizeof(float) * m->lay.total);
        if (!host) {
            return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
        }
        mrpc_model_slab_to_host(m, MRPC_SLAB_PARAMS, host);
        src = host;
    }
    mrpc_st_write_item *items = calloc(m->n_views, sizeof *items);
    if (!items) {
        free(host);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
    }
    for (size_t i = 0; i < m->n_views; i++) {
        const mrpc_param_view *v = &m->views[i];
        items[i].name = v->name;
        items[i].dtype = MRPC_ST_F32;
        items[i].n_dims = v->n_dims;
        items[i].shape[0] = v->shape[0];
        items[i].shape[1] = v->shape[1];
        items[i].data = src + v->offset;
    }
    char path[4096];
    st = join(path, sizeof path, dir, "model.safetensors", err);
    static const char *const meta[] = {"format", "pt", NULL};
    if (st == MRPC_OK) {
        st = mrpc_st_write(path, items, m->n_views, meta, err);
    }
    free(items);
    free(host);
    if (st != MRPC_OK) {
        return st;
    }
    mrpc_hf_config cfg;
    mrpc_hf_config_defaults(&cfg);
    const mrpc_model_dims *d = &m->dims;
    cfg.dim = d->dim;
    cfg.n_layers = d->n_layers;
    cfg.n_heads = d->n_heads;
    cfg.hidden_dim = d->hidden_dim;
    cfg.vocab_size = d->vocab_size;
    cfg.max_position_embeddings = d->max_positions;
    cfg.num_labels = d->num_labels;
    cfg.pad_token_id = d->pad_id;
    cfg.initializer_range = d->initializer_range;
    if (dropouts) {
        cfg.dropout = dropouts->hidden;
        cfg.attention_dropout = dropouts->attention;
        cfg.seq_classif_dropout = dropouts->classifier;
    }
    st = join(path, sizeof path, dir, "config.json", err);
    if (st == MRPC_OK) {
        st = mrpc_hf_config_write(path, &cfg, err);
    }
    return st;
}

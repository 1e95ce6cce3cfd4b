/*
 * params.c — the parameter slab: where each tensor lives, its HF name, its init.
 *
 * Slab order (what the all-reduce and AdamW see): first every tensor with weight decay
 * (HF grouping), then every tensor without, so one AdamW step is two fused passes:
 *   decayed:  word_embeddings [V,C], position_embeddings [P,C];
 *             per block: q_lin.weight, k_lin.weight, v_lin.weight (adjacent: one [3C,C]
 *             GEMM), out_lin.weight [C,C], ffn.lin1.weight [F,C], ffn.lin2.weight [C,F];
 *             pre_classifier.weight [C,C], classifier.weight [L,C]
 *   no decay: embeddings.LayerNorm w, b [C];
 *             per block: q_lin.bias, k_lin.bias, v_lin.bias ([3C] together), out_lin.bias,
 *             sa_layer_norm w, b, ffn.lin1.bias [F], ffn.lin2.bias [C], output_layer_norm w, b;
 *             pre_classifier.bias [C], classifier.bias [L]
 * The view table lists the same tensors in HF state_dict order with their HF names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

size_t mrpc_model_param_count(const mrpc_model_dims *d) {
    size_t C = (size_t)d->dim, F = (size_t)d->hidden_dim;
    size_t emb = (size_t)d->vocab_size * C + (size_t)d->max_positions * C + 2 * C;
    size_t layer = 4 * (C * C + C) + 2 * C + (F * C + F) + (C * F + C) + 2 * C;
    size_t head = C * C + C + (size_t)d->num_labels * C + (size_t)d->num_labels;
    return emb + (size_t)d->n_layers * layer + head;
}

void mrpc_model_dims_default(mrpc_model_dims *d) {
    d->dim = 768;
    d->n_layers = 6;
    d->n_heads = 12;
    d->hidden_dim = 3072;
    d->vocab_size = 30522;
    d->max_positions = 512;
    d->num_labels = 2;
    d->pad_id = 0;
    d->initializer_range = 0.02;
}

/* Appends a view; returns 0 on allocation failure. */
static int add_view(mrpc_model *m, size_t *cap, const char *name, size_t offset, int n_dims, int64_t d0, int64_t d1) {
    if (m->n_views == *cap) {
        size_t nc = *cap ? 2 * *cap : 128;
        mrpc_param_view *nv = realloc(m->views, nc * sizeof *nv);
        if (!nv) {
            return 0;
        }
        m->views = nv;
        char **nn = realloc(m->view_names, nc * sizeof *nn);
        if (!nn) {
            return 0;
        }
        m->view_names = nn;
        *cap = nc;
    }
    char *s = malloc(strlen(name) + 1);
    if (!s) {
        return 0;
    }
    strcpy(s, name);
    mrpc_param_view *v = &m->views[m->n_views];
    m->view_names[m->n_views] = s;
    v->name = s;
    v->offset = offset;
    v->n_dims = n_dims;
    v->shape[0] = d0;
    v->shape[1] = n_dims == 2 ? d1 : 0;
    v->n_elems = (size_t)d0 * (size_t)(n_dims == 2 ? d1 : 1);
    size_t len = strlen(name);
    int is_bias = len >= 5 && strcmp(name + len - 5, ".bias") == 0;
    int is_ln = strstr(name, "LayerNorm") != NULL || strstr(name, "layer_norm") != NULL;
    v->decay = !(is_bias || is_ln);
    m->n_views++;
    return 1;
}

mrpc_status model_layout_build(mrpc_model *m, mrpc_error *err) {
    const mrpc_model_dims *d = &m->dims;
    size_t C = (size_t)d->dim, F = (size_t)d->hidden_dim, V = (size_t)d->vocab_size, P = (size_t)d->max_positions,
           L = (size_t)d->num_labels;
    param_layout *lay = &m->lay;
    lay->layer = calloc((size_t)d->n_layers, sizeof *lay->layer);
    if (!lay->layer) {
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
    }
    /* decayed tensors first, then the ones without weight decay, so AdamW runs as two
       ranges; q|k|v weights and q|k|v biases stay adjacent */
    size_t o = 0;
    lay->wte = o; o += V * C;
    lay->wpe = o; o += P * C;
    for (int l = 0; l < d->n_layers; l++) {
        layer_params *lp = &lay->layer[l];
        lp->qkv_w = o; o += 3 * C * C;
        lp->out_w = o; o += C * C;
        lp->lin1_w = o; o += F * C;
        lp->lin2_w = o; o += C * F;
    }
    lay->pre_w = o; o += C * C;
    lay->cls_w = o; o += L * C;
    lay->ln0_w = o; o += C;
    lay->ln0_b = o; o += C;
    for (int l = 0; l < d->n_layers; l++) {
        layer_params *lp = &lay->layer[l];
        lp->qkv_b = o; o += 3 * C;
        lp->out_b = o; o += C;
        lp->ln1_w = o; o += C;
        lp->ln1_b = o; o += C;
        lp->lin1_b = o; o += F;
        lp->lin2_b = o; o += C;
        lp->ln2_w = o; o += C;
        lp->ln2_b = o; o += C;
    }
    lay->pre_b = o; o += C;
    lay->cls_b = o; o += L;
    lay->total = o;

    size_t cap = 0;
    int ok = 1;
    char name[160];
    ok &= add_view(m, &cap, "distilbert.embeddings.word_embeddings.weight", lay->wte, 2, (int64_t)V, (int64_t)C);
    ok &= add_view(m, &cap, "distilbert.embeddings.position_embeddings.weight", lay->wpe, 2, (int64_t)P, (int64_t)C);
    ok &= add_view(m, &cap, "distilbert.embeddings.LayerNorm.weight", lay->ln0_w, 1, (int64_t)C, 0);
    ok &= add_view(m, &cap, "distilbert.embeddings.LayerNorm.bias", lay->ln0_b, 1, (int64_t)C, 0);
    static const char *const qkv[3] = {"q_lin", "k_lin", "v_lin"};
    for (int l = 0; l < d->n_layers && ok; l++) {
        const layer_params *lp = &lay->layer[l];
        char pfx[64];
        snprintf(pfx, sizeof pfx, "distilbert.transformer.layer.%d.", l);
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "%sattention.%s.weight", pfx, qkv[k]);
            ok &= add_view(m, &cap, name, lp->qkv_w + (size_t)k * C * C, 2, (int64_t)C, (int64_t)C);
            snprintf(name, sizeof name, "%sattention.%s.bias", pfx, qkv[k]);
            ok &= add_view(m, &cap, name, lp->qkv_b + (size_t)k * C, 1, (int64_t)C, 0);
        }
        snprintf(name, sizeof name, "%sattention.out_lin.weight", pfx);
        ok &= add_view(m, &cap, name, lp->out_w, 2, (int64_t)C, (int64_t)C);
        snprintf(name, sizeof name, "%sattention.out_lin.bias", pfx);
        ok &= add_view(m, &cap, name, lp->out_b, 1, (int64_t)C, 0);
        snprintf(name, sizeof name, "%ssa_layer_norm.weight", pfx);
        ok &= add_view(m, &cap, name, lp->ln1_w, 1, (int64_t)C, 0);
        snprintf(name, sizeof name, "%ssa_layer_norm.bias", pfx);
        ok &= add_view(m, &cap, name, lp->ln1_b, 1, (int64_t)C, 0);
        snprintf(name, sizeof name, "%sffn.lin1.weight", pfx);
        ok &= add_view(m, &cap, name, lp->lin1_w, 2, (int64_t)F, (int64_t)C);
        snprintf(name, sizeof name, "%sffn.lin1.bias", pfx);
        ok &= add_view(m, &cap, name, lp->lin1_b, 1, (int64_t)F, 0);
        snprintf(name, sizeof name, "%sffn.lin2.weight", pfx);
        ok &= add_view(m, &cap, name, lp->lin2_w, 2, (int64_t)C, (int64_t)F);
        snprintf(name, sizeof name, "%sffn.lin2.bias", pfx);
        ok &= add_view(m, &cap, name, lp->lin2_b, 1, (int64_t)C, 0);
        snprintf(name, sizeof name, "%soutput_layer_norm.weight", pfx);
        ok &= add_view(m, &cap, name, lp->ln2_w, 1, (int64_t)C, 0);
        snprintf(name, sizeof name, "%soutput_layer_norm.bias", pfx);
        ok &= add_view(m, &cap, name, lp->ln2_b, 1, (int64_t)C, 0);
    }
    ok &= add_view(m, &cap, "pre_classifier.weight", lay->pre_w, 2, (int64_t)C, (int64_t)C);
    ok &= add_view(m, &cap, "pre_classifier.bias", lay->pre_b, 1, (int64_t)C, 0);
    ok &= add_view(m, &cap, "classifier.weight", lay->cls_w, 2, (int64_t)L, (int64_t)C);
    ok &= add_view(m, &cap, "classifier.bias", lay->cls_b, 1, (int64_t)L, 0);
    if (!ok) {
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "model", "out of memory");
    }
    return MRPC_OK;
}

void model_layout_free(mrpc_model *m) {
    for (size_t i = 0; i < m->n_views; i++) {
        free(m->view_names[i]);
    }
    free(m->view_names);
    free(m->views);
    free(m->lay.layer);
    m->views = NULL;
    m->view_names = NULL;
    m->lay.layer = NULL;
    m->n_views = 0;
}

int model_view_is_head(const mrpc_param_view *v) {
    return strncmp(v->name, "pre_classifier.", 15) == 0 || strncmp(v->name, "classifier.", 11) == 0;
}

void model_init_view(const mrpc_model *m, const mrpc_param_view *v, float *dst, mrpc_rng *rng) {
    size_t len = strlen(v->name);
    int is_bias = len >= 5 && strcmp(v->name + len - 5, ".bias") == 0;
    int is_ln = strstr(v->name, "LayerNorm") != NULL || strstr(v->name, "layer_norm") != NULL;
    if (is_bias) {
        memset(dst, 0, sizeof(float) * v->n_elems);                   /* biases and LN biases 0 */
        return;
    }
    if (is_ln) {
        for (size_t i = 0; i < v->n_elems; i++) {
            dst[i] = 1.0f;                                             /* LayerNorm weight 1 */
        }
        return;
    }
    double r = m->dims.initializer_range;
    for (size_t i = 0; i < v->n_elems; i++) {
        dst[i] = (float)(r * mrpc_rng_normal(rng));                    /* Linear / Embedding N(0, r) */
    }
    if (v->offset == m->lay.wte) {
        memset(dst + (size_t)m->dims.pad_id * m->dims.dim, 0, sizeof(float) * (size_t)m->dims.dim); /* padding_idx */
    }
}

/*
 * test_model.c — the model API on a tiny DistilBERT: parameter table, init, checkpoint
 * loading rules, batch validation, loss scaling and gradient accumulation, clipping and
 * AdamW grouping, [PAD] row, dropout determinism and batch independence.
 * (Numerics against PyTorch: tests/golden.)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adamw.h"
#include "hf_config.h"
#include "model.h"
#include "safetensors.h"
#include "testutil.h"

static mrpc_model_dims tiny_dims(void) {
    mrpc_model_dims d;
    mrpc_model_dims_default(&d);
    d.dim = 16;
    d.n_layers = 2;
    d.n_heads = 2;
    d.hidden_dim = 24;
    d.vocab_size = 50;
    d.max_positions = 20;
    d.initializer_range = 0.3;
    return d;
}

static mrpc_model *tiny(mrpc_backend_kind kind, int chunk) {
    mrpc_model_dims d = tiny_dims();
    mrpc_model_options o = {.backend = kind, .n_threads = 2, .max_batch = 6, .max_seq = 12, .chunk_tokens = chunk};
    mrpc_model *m = NULL;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_model_create(&d, &o, &m, &err), &err)) {
        return NULL;
    }
    CHECK_OK(mrpc_model_init_random(m, 99, &err), &err);
    return m;
}

/* A batch of 6 rows padded to T = 12. */
typedef struct tb {
    int32_t  ids[6 * 12];
    int32_t  len[6];
    int32_t  lab[6];
    uint32_t ex[6];
} tb;

static mrpc_model_batch make_batch(tb *t, int B, int T) {
    static const int32_t lens[6] = {12, 3, 7, 1, 9, 5};
    memset(t->ids, 0, sizeof t->ids);
    for (int b = 0; b < B; b++) {
        t->len[b] = lens[b] < T ? lens[b] : T;
        t->lab[b] = b % 2;
        t->ex[b] = 100u + (uint32_t)b;
        for (int i = 0; i < t->len[b]; i++) {
            t->ids[b * T + i] = 1 + (b * 7 + i * 3) % 49;
        }
    }
    mrpc_model_batch mb = {.B = B, .T = T, .ids = t->ids, .lengths = t->len, .labels = t->lab,
                           .example_index = t->ex, .seed = 5, .loss_scale = 1.0 / B};
    return mb;
}

static void test_param_table(void) {
    mrpc_model_dims d;
    mrpc_model_dims_default(&d);
    CHECK(mrpc_model_param_count(&d) == 66955010u, "distilbert-base + 2-label head = 66,955,010 parameters, got %zu",
          mrpc_model_param_count(&d));
    mrpc_model *m = tiny(MRPC_BACKEND_CPU, 0);
    if (!m) {
        return;
    }
    size_t nv = 0, n = 0;
    const mrpc_param_view *v = mrpc_model_views(m, &nv);
    mrpc_model_params(m, &n);
    mrpc_model_dims td = tiny_dims();
    CHECK(n == mrpc_model_param_count(&td), "slab holds every parameter");
    CHECK(nv == 4 + 2 * 16 + 4, "views: 4 embedding + 16 per layer + 4 head, got %zu", nv);
    size_t covered = 0;
    for (size_t i = 0; i < nv; i++) {
        covered += v[i].n_elems;
    }
    CHECK(covered == n, "views cover the slab exactly");
    CHECK(strcmp(v[0].name, "distilbert.embeddings.word_embeddings.weight") == 0, "first view %s", v[0].name);
    CHECK(strcmp(v[nv - 1].name, "classifier.bias") == 0, "last view %s", v[nv - 1].name);
    const mrpc_param_view *q = mrpc_model_find_view(m, "distilbert.transformer.layer.1.attention.q_lin.weight");
    const mrpc_param_view *k = mrpc_model_find_view(m, "distilbert.transformer.layer.1.attention.k_lin.weight");
    const mrpc_param_view *vv = mrpc_model_find_view(m, "distilbert.transformer.layer.1.attention.v_lin.weight");
    CHECK(q && k && vv && k->offset == q->offset + 256 && vv->offset == k->offset + 256,
          "q, k, v weights adjacent in the slab (one [3C, C] GEMM)");
    const mrpc_param_view *l1 = mrpc_model_find_view(m, "distilbert.transformer.layer.0.ffn.lin1.weight");
    CHECK(l1 && l1->shape[0] == 24 && l1->shape[1] == 16, "nn.Linear layout [out, in]");
    struct {
        const char *name;
        int decay;
    } dec[] = {{"distilbert.embeddings.word_embeddings.weight", 1},
               {"distilbert.embeddings.position_embeddings.weight", 1},
               {"distilbert.embeddings.LayerNorm.weight", 0},
               {"distilbert.transformer.layer.0.sa_layer_norm.weight", 0},
               {"distilbert.transformer.layer.0.attention.out_lin.bias", 0},
               {"distilbert.transformer.layer.0.ffn.lin2.weight", 1},
               {"pre_classifier.weight", 1},
               {"classifier.bias", 0}};
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) {
        const mrpc_param_view *x = mrpc_model_find_view(m, dec[i].name);
        CHECK(x && x->decay == dec[i].decay, "%s: decay %d (HF grouping)", dec[i].name, dec[i].decay);
    }
    CHECK(mrpc_model_find_view(m, "nope") == NULL, "unknown view is NULL");
    mrpc_model_free(m);
    mrpc_model_free(NULL);
}

static void test_create_errors(void) {
    mrpc_model_dims d = tiny_dims();
    mrpc_model_options o = {.max_batch = 2, .max_seq = 8};
    mrpc_model *m = NULL;
    mrpc_error err = {0};
    d.n_heads = 3;
    CHECK(mrpc_model_create(&d, &o, &m, &err) == MRPC_ERR_INVALID && strcmp(err.field, "dim") == 0,
          "dim not divisible by n_heads rejected (%s)", err.message);
    d = tiny_dims();
    o.max_seq = 21;
    CHECK(mrpc_model_create(&d, &o, &m, &err) == MRPC_ERR_INVALID && strcmp(err.field, "max_seq") == 0,
          "max_seq above max_positions rejected (%s)", err.message);
    o.max_seq = 8;
    o.max_batch = 0;
    CHECK(mrpc_model_create(&d, &o, &m, &err) == MRPC_ERR_INVALID, "max_batch 0 rejected");
    CHECK(m == NULL, "no model on failure");
}

static void test_init(void) {
    mrpc_model *a = tiny(MRPC_BACKEND_CPU, 0), *b = tiny(MRPC_BACKEND_CPU, 0);
    if (!a || !b) {
        return;
    }
    size_t n = 0;
    float *pa = mrpc_model_params(a, &n), *pb = mrpc_model_params(b, NULL);
    CHECK(memcmp(pa, pb, n * sizeof(float)) == 0, "same seed, same init");
    mrpc_error err = {0};
    CHECK_OK(mrpc_model_init_random(b, 100, &err), &err);
    CHECK(memcmp(pa, pb, n * sizeof(float)) != 0, "another seed, another init");
    const mrpc_param_view *w = mrpc_model_find_view(a, "distilbert.embeddings.word_embeddings.weight");
    int pad_zero = 1;
    for (int c = 0; c < 16; c++) {
        pad_zero &= pa[w->offset + c] == 0.0f;
    }
    CHECK(pad_zero, "word embedding row pad_id (0) is zero");
    const mrpc_param_view *l = mrpc_model_find_view(a, "distilbert.transformer.layer.0.ffn.lin1.weight");
    double s = 0, s2 = 0;
    for (size_t i = 0; i < l->n_elems; i++) {
        s += pa[l->offset + i];
        s2 += (double)pa[l->offset + i] * pa[l->offset + i];
    }
    double mean = s / l->n_elems, sd = sqrt(s2 / l->n_elems - mean * mean);
    CHECK(fabs(mean) < 0.05 && fabs(sd - 0.3) < 0.05, "Linear weights ~ N(0, 0.3): mean %.3f sd %.3f", mean, sd);
    const mrpc_param_view *bias = mrpc_model_find_view(a, "distilbert.transformer.layer.0.ffn.lin1.bias");
    const mrpc_param_view *lnw = mrpc_model_find_view(a, "distilbert.transformer.layer.1.output_layer_norm.weight");
    CHECK(pa[bias->offset] == 0.0f && pa[bias->offset + 23] == 0.0f, "biases zero");
    CHECK(pa[lnw->offset] == 1.0f && pa[lnw->offset + 15] == 1.0f, "LayerNorm weight one");
    mrpc_model_free(a);
    mrpc_model_free(b);
}

/* Writes a checkpoint of `m` under dir with some tensors left out and some extra ones. */
static void write_partial(mrpc_model *m, const char *dir, int drop_head, const char *drop_name, int dim_override) {
    mrpc_error err = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s", dir);
    CHECK_OK(mrpc_model_save_hf(m, dir, NULL, &err), &err);
    size_t nv = 0;
    const mrpc_param_view *v = mrpc_model_views(m, &nv);
    float *p = mrpc_model_params(m, NULL);
    mrpc_st_write_item *items = calloc(nv + 2, sizeof *items);
    size_t k = 0;
    for (size_t i = 0; i < nv; i++) {
        int head = strncmp(v[i].name, "pre_classifier", 14) == 0 || strncmp(v[i].name, "classifier", 10) == 0;
        if ((drop_head && head) || (drop_name && strcmp(v[i].name, drop_name) == 0)) {
            continue;
        }
        items[k].name = v[i].name;
        items[k].dtype = MRPC_ST_F32;
        items[k].n_dims = v[i].n_dims;
        items[k].shape[0] = v[i].shape[0];
        items[k].shape[1] = v[i].shape[1];
        items[k].data = p + v[i].offset;
        k++;
    }
    static float extra[16];
    items[k++] = (mrpc_st_write_item){.name = "vocab_projector.bias", .dtype = MRPC_ST_F32, .n_dims = 1,
                                      .shape = {16}, .data = extra};
    items[k++] = (mrpc_st_write_item){.name = "vocab_layer_norm.weight", .dtype = MRPC_ST_BF16, .n_dims = 1,
                                      .shape = {16}, .data = extra};
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK_OK(mrpc_st_write(path, items, k, NULL, &err), &err);
    free(items);
    if (dim_override) {
        mrpc_hf_config cfg;
        snprintf(path, sizeof path, "%s/config.json", dir);
        mrpc_hf_config_defaults(&cfg);
        CHECK_OK(mrpc_hf_config_read(path, &cfg, &err), &err);
        cfg.hidden_dim = dim_override;
        CHECK_OK(mrpc_hf_config_write(path, &cfg, &err), &err);
    }
}

static void test_load_rules(void) {
    mrpc_model *src = tiny(MRPC_BACKEND_CPU, 0);
    mrpc_model *dst = tiny(MRPC_BACKEND_CPU, 0);
    if (!src || !dst) {
        return;
    }
    mrpc_error err = {0};
    CHECK_OK(mrpc_model_init_random(src, 7, &err), &err);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/nohead", mrpc_test_tmpdir());
    write_partial(src, dir, 1, NULL, 0);
    int head = -1;
    mrpc_model_dropouts dr;
    CHECK_OK(mrpc_model_load_hf(dst, dir, 3, &dr, &head, &err), &err);
    CHECK(head == 0, "head absent: initialised, head_loaded 0");
    CHECK(dr.hidden == 0.1 && dr.attention == 0.1 && dr.classifier == 0.2, "dropouts from config.json");
    const mrpc_param_view *e = mrpc_model_find_view(dst, "distilbert.transformer.layer.1.ffn.lin2.weight");
    const mrpc_param_view *cb = mrpc_model_find_view(dst, "classifier.bias");
    const mrpc_param_view *pw = mrpc_model_find_view(dst, "pre_classifier.weight");
    float *a = mrpc_model_params(src, NULL), *b = mrpc_model_params(dst, NULL);
    CHECK(memcmp(a + e->offset, b + e->offset, e->n_elems * sizeof(float)) == 0, "base tensors loaded by name");
    CHECK(b[cb->offset] == 0.0f && b[cb->offset + 1] == 0.0f, "new classifier bias zero");
    double s2 = 0;
    for (size_t i = 0; i < pw->n_elems; i++) {
        s2 += (double)b[pw->offset + i] * b[pw->offset + i];
    }
    double sd = sqrt(s2 / pw->n_elems);
    CHECK(fabs(sd - 0.3) < 0.06, "new pre_classifier ~ N(0, initializer_range): sd %.3f", sd);
    /* missing base tensor */
    snprintf(dir, sizeof dir, "%s/missing", mrpc_test_tmpdir());
    write_partial(src, dir, 0, "distilbert.transformer.layer.0.sa_layer_norm.bias", 0);
    CHECK(mrpc_model_load_hf(dst, dir, 3, NULL, NULL, &err) != MRPC_OK &&
              strcmp(err.field, "distilbert.transformer.layer.0.sa_layer_norm.bias") == 0,
          "missing base tensor is an error naming it (%s: %s)", err.field, err.message);
    /* architecture mismatch */
    snprintf(dir, sizeof dir, "%s/mismatch", mrpc_test_tmpdir());
    write_partial(src, dir, 0, NULL, 32);
    CHECK(mrpc_model_load_hf(dst, dir, 3, NULL, NULL, &err) == MRPC_ERR_INVALID &&
              strcmp(err.field, "hidden_dim") == 0,
          "config mismatch names the field (%s: %s)", err.field, err.message);
    mrpc_model_free(src);
    mrpc_model_free(dst);
}

static void test_batch_errors(void) {
    mrpc_model *m = tiny(MRPC_BACKEND_CPU, 0);
    if (!m) {
        return;
    }
    tb t;
    mrpc_model_batch b = make_batch(&t, 4, 12);
    mrpc_error err = {0};
    double loss;
    t.ids[3] = 50;
    CHECK(mrpc_model_forward_backward(m, &b, &loss, NULL, &err) == MRPC_ERR_INVALID && strcmp(err.field, "ids") == 0,
          "token id out of range (%s)", err.message);
    b = make_batch(&t, 4, 12);
    t.len[2] = 0;
    CHECK(mrpc_model_forward_eval(m, &b, &loss, NULL, NULL, &err) == MRPC_ERR_INVALID, "length 0 rejected");
    b = make_batch(&t, 4, 12);
    t.lab[1] = 2;
    CHECK(mrpc_model_forward_backward(m, &b, &loss, NULL, &err) == MRPC_ERR_INVALID, "label out of range");
    b = make_batch(&t, 4, 12);
    b.T = 13;
    CHECK(mrpc_model_forward_eval(m, &b, &loss, NULL, NULL, &err) == MRPC_ERR_INVALID, "T above max_seq");
    b = make_batch(&t, 4, 12);
    b.dropout.attention = 1.0;
    CHECK(mrpc_model_forward_backward(m, &b, &loss, NULL, &err) == MRPC_ERR_INVALID, "dropout 1 rejected");
    mrpc_model_free(m);
}

/* Two half batches with loss_scale 1/B add up to the full batch (the data-parallel rule),
   eval predictions are argmax of the logits, the [PAD] row never gets a gradient. */
static void test_accumulation(void) {
    mrpc_model *m = tiny(MRPC_BACKEND_CPU, 0);
    if (!m) {
        return;
    }
    size_t n = 0;
    mrpc_model_grads(m, &n);
    float *full = malloc(n * sizeof(float)), *halves = malloc(n * sizeof(float));
    tb t;
    mrpc_model_batch b = make_batch(&t, 6, 12);
    b.dropout = (mrpc_model_dropouts){0.1, 0.1, 0.2};
    t.ids[2] = 0; /* a pad id inside row 0 */
    mrpc_error err = {0};
    double l_full = 0, l1 = 0, l2 = 0;
    mrpc_model_zero_grad(m);
    CHECK_OK(mrpc_model_forward_backward(m, &b, &l_full, NULL, &err), &err);
    mrpc_model_slab_to_host(m, MRPC_SLAB_GRADS, full);
    mrpc_model_batch h1 = b, h2 = b;
    h1.B = 3;
    h2.B = 3;
    h2.ids = t.ids + 3 * 12;
    h2.lengths = t.len + 3;
    h2.labels = t.lab + 3;
    h2.example_index = t.ex + 3;
    mrpc_model_zero_grad(m);
    CHECK_OK(mrpc_model_forward_backward(m, &h1, &l1, NULL, &err), &err);
    CHECK_OK(mrpc_model_forward_backward(m, &h2, &l2, NULL, &err), &err);
    mrpc_model_slab_to_host(m, MRPC_SLAB_GRADS, halves);
    CHECK_CLOSE(l1 + l2, l_full, 1e-6, 1e-6, "loss sums of the halves add up (dropout on, masks per example)");
    CHECK_CLOSE_ARRAY(halves, full, n, 1e-6, 1e-4, "gradients of two half batches add up to the full batch");
    const mrpc_param_view *w = mrpc_model_find_view(m, "distilbert.embeddings.word_embeddings.weight");
    int pad0 = 1;
    for (int c = 0; c < 16; c++) {
        pad0 &= full[w->offset + c] == 0.0f;
    }
    CHECK(pad0, "[PAD] row gradient is zero even with a pad id inside a sequence");
    /* predictions */
    float logits[12];
    int32_t preds[6];
    double le = 0;
    CHECK_OK(mrpc_model_forward_eval(m, &b, &le, preds, logits, &err), &err);
    int ok = 1;
    for (int r = 0; r < 6; r++) {
        ok &= preds[r] == (logits[2 * r + 1] > logits[2 * r] ? 1 : 0);
    }
    CHECK(ok, "predictions are the argmax of the logits");
    mrpc_model_batch nolab = b;
    nolab.labels = NULL;
    CHECK_OK(mrpc_model_forward_eval(m, &nolab, &le, preds, NULL, &err), &err);
    CHECK(le == 0.0, "eval without labels: loss 0");
    /* the batch as micro-batches of at most 12 tokens: same gradient */
    mrpc_model *mc = tiny(MRPC_BACKEND_CPU, 12);
    if (mc) {
        mrpc_model_zero_grad(mc);
        CHECK_OK(mrpc_model_forward_backward(mc, &b, &l1, NULL, &err), &err);
        mrpc_model_slab_to_host(mc, MRPC_SLAB_GRADS, halves);
        CHECK_CLOSE(l1, l_full, 1e-6, 1e-6, "micro-batched loss");
        CHECK_CLOSE_ARRAY(halves, full, n, 1e-6, 1e-4, "micro-batched gradient");
        mrpc_model_free(mc);
    }
    free(full);
    free(halves);
    mrpc_model_free(m);
}

/* Dropout: same counters -> same loss; another epoch -> another loss; an example's loss does
   not depend on the batch it is in. */
static void test_dropout_model(void) {
    mrpc_model *m = tiny(MRPC_BACKEND_CPU, 0);
    if (!m) {
        return;
    }
    tb t;
    mrpc_model_batch b = make_batch(&t, 6, 12);
    b.dropout = (mrpc_model_dropouts){0.3, 0.3, 0.3};
    mrpc_error err = {0};
    double a1 = 0, a2 = 0, a3 = 0, e0 = 0;
    CHECK_OK(mrpc_model_forward_backward(m, &b, &a1, NULL, &err), &err);
    CHECK_OK(mrpc_model_forward_backward(m, &b, &a2, NULL, &err), &err);
    b.epoch = 1;
    CHECK_OK(mrpc_model_forward_backward(m, &b, &a3, NULL, &err), &err);
    CHECK(a1 == a2, "same seed/epoch/examples: bitwise the same loss");
    CHECK(a1 != a3, "another epoch: another mask");
    CHECK_OK(mrpc_model_forward_eval(m, &b, &e0, NULL, NULL, &err), &err);
    CHECK(e0 != a1, "eval has dropout off");
    /* example 104 (row 4) alone, same epoch */
    b.epoch = 0;
    mrpc_model_batch one = b;
    one.B = 1;
    one.ids = t.ids + 4 * 12;
    one.lengths = t.len + 4;
    one.labels = t.lab + 4;
    one.example_index = t.ex + 4;
    mrpc_model_batch rest = b;
    rest.B = 4;
    double l_one = 0, l_rest = 0;
    mrpc_model_batch last = b;
    last.B = 1;
    last.ids = t.ids + 5 * 12;
    last.lengths = t.len + 5;
    last.labels = t.lab + 5;
    last.example_index = t.ex + 5;
    double l_last = 0;
    CHECK_OK(mrpc_model_forward_backward(m, &one, &l_one, NULL, &err), &err);
    CHECK_OK(mrpc_model_forward_backward(m, &rest, &l_rest, NULL, &err), &err);
    CHECK_OK(mrpc_model_forward_backward(m, &last, &l_last, NULL, &err), &err);
    CHECK_CLOSE(l_rest + l_one + l_last, a1, 1e-6, 1e-6,
                "per-example losses with dropout do not depend on batch composition");
    mrpc_model_free(m);
}

static void test_clip_and_adamw(void) {
    mrpc_model *m = tiny(MRPC_BACKEND_CPU, 0);
    if (!m) {
        return;
    }
    tb t;
    mrpc_model_batch b = make_batch(&t, 6, 12);
    mrpc_error err = {0};
    double l = 0;
    mrpc_model_zero_grad(m);
    CHECK_OK(mrpc_model_forward_backward(m, &b, &l, NULL, &err), &err);
    size_t n = 0;
    float *g = mrpc_model_grads(m, &n);
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        s += (double)g[i] * g[i];
    }
    double norm = mrpc_model_grad_norm(m);
    CHECK_CLOSE(norm, sqrt(s), 0, 1e-12, "grad norm = sqrt(sum g^2)");
    float *g0 = malloc(n * sizeof(float));
    memcpy(g0, g, n * sizeof(float));
    double before = mrpc_model_clip_grad_norm(m, norm * 2);
    CHECK(before == norm && memcmp(g, g0, n * sizeof(float)) == 0, "no clipping below max_norm");
    double max_norm = norm / 4;
    mrpc_model_clip_grad_norm(m, max_norm);
    float coef = (float)(max_norm / (norm + 1e-6));
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        ok &= g[i] == g0[i] * coef;
    }
    CHECK(ok, "clipping multiplies every gradient by max_norm/(norm+1e-6)");
    CHECK_CLOSE(mrpc_model_grad_norm(m), max_norm, 1e-9, 1e-5, "norm after clipping");
    /* AdamW: decayed views use wd, the others 0 */
    float *p0 = malloc(n * sizeof(float)), *m0 = calloc(n, sizeof(float)), *v0 = calloc(n, sizeof(float));
    memcpy(p0, mrpc_model_params(m, NULL), n * sizeof(float));
    mrpc_adamw_hparams hp = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1, .step = 1};
    CHECK_OK(mrpc_model_adamw_step(m, &hp, &err), &err);
    size_t nv = 0;
    const mrpc_param_view *v = mrpc_model_views(m, &nv);
    mrpc_adamw_hparams nd = hp;
    nd.weight_decay = 0.0;
    for (size_t i = 0; i < nv; i++) {
        mrpc_adamw_update(p0 + v[i].offset, g + v[i].offset, m0 + v[i].offset, v0 + v[i].offset, v[i].n_elems,
                          v[i].decay ? &hp : &nd);
    }
    CHECK_CLOSE_ARRAY(mrpc_model_params(m, NULL), p0, n, 0, 1e-6, "adamw_step = per-view AdamW with HF grouping");
    CHECK_CLOSE_ARRAY(mrpc_model_slab(m, MRPC_SLAB_ADAM_V, NULL), v0, n, 0, 1e-6, "second moments");
    hp.step = 0;
    CHECK(mrpc_model_adamw_step(m, &hp, &err) == MRPC_ERR_INVALID, "step 0 rejected");
    free(g0);
    free(p0);
    free(m0);
    free(v0);
    mrpc_model_free(m);
}

/* The reference-loop backend and the fast backend agree on a whole step. */
static void test_backends_agree(void) {
    mrpc_model *a = tiny(MRPC_BACKEND_CPU, 0), *r = tiny(MRPC_BACKEND_CPU_REF, 0);
    if (!a || !r) {
        return;
    }
    tb t;
    mrpc_model_batch b = make_batch(&t, 6, 12);
    b.dropout = (mrpc_model_dropouts){0.2, 0.2, 0.2};
    mrpc_error err = {0};
    double la = 0, lr = 0;
    CHECK_OK(mrpc_model_forward_backward(a, &b, &la, NULL, &err), &err);
    CHECK_OK(mrpc_model_forward_backward(r, &b, &lr, NULL, &err), &err);
    size_t n = 0;
    mrpc_model_grads(a, &n);
    CHECK_CLOSE(la, lr, 1e-6, 1e-6, "loss, fast vs reference backend (dropout on)");
    CHECK_CLOSE_ARRAY(mrpc_model_grads(a, NULL), mrpc_model_grads(r, NULL), n, 1e-6, 1e-4,
                      "gradients, fast vs reference backend (dropout on)");
    mrpc_model_free(a);
    mrpc_model_free(r);
}

int main(void) {
    test_param_table();
    test_create_errors();
    test_init();
    test_load_rules();
    test_batch_errors();
    test_accumulation();
    test_dropout_model();
    test_clip_and_adamw();
    test_backends_agree();
    return mrpc_test_report();
}

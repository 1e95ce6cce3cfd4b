/* golden_common.c — the golden tests' shared dump reader and checks (see golden_common.h). */
#include "golden_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr_schedule.h"
#include "testutil.h"

/* ---- the dump ------------------------------------------------------------------------- */

static int rd(FILE *f, void *p, size_t n) {
    return fread(p, 1, n, f) == n;
}

int golden_dump_load(const char *path, golden_dump *d) {
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("cannot open %s (regenerate with /usr/bin/python3 tests/golden/make_reference.py DIR)\n", path);
        return 0;
    }
    char magic[8];
    uint32_t version = 0, count = 0;
    if (!rd(f, magic, 8) || memcmp(magic, "MRPCGLD\0", 8) != 0 || !rd(f, &version, 4) || version != 1 ||
        !rd(f, &count, 4) || count > 100000) {
        printf("%s: not a version-1 golden golden_dump (regenerate with tests/golden/make_reference.py)\n", path);
        fclose(f);
        return 0;
    }
    d->r = calloc(count ? count : 1, sizeof *d->r);
    if (!d->r) {
        fclose(f);
        return 0;
    }
    for (uint32_t i = 0; i < count; i++) {
        golden_rec *r = &d->r[i];
        uint32_t len = 0;
        if (!rd(f, &len, 4) || len > 4096 || !(r->name = calloc(len + 1, 1)) || !rd(f, r->name, len) ||
            !rd(f, &r->dtype, 4) || !rd(f, &r->n_dims, 4) || r->n_dims > 8 || r->dtype > 2) {
            printf("%s: truncated or corrupt record %u\n", path, i);
            free(r->name);
            r->name = NULL;
            fclose(f);
            return 0;
        }
        r->n = 1;
        for (uint32_t k = 0; k < r->n_dims; k++) {
            if (!rd(f, &r->dims[k], 8)) {
                free(r->name);
                r->name = NULL;
                fclose(f);
                return 0;
            }
            r->n *= r->dims[k];
        }
        size_t es = r->dtype == 2 ? 8 : 4;
        r->data = malloc(r->n * es + 1);
        if (!r->data || !rd(f, r->data, r->n * es)) {
            printf("%s: truncated data of %s\n", path, r->name);
            free(r->name);
            free(r->data);
            r->name = NULL;
            r->data = NULL;
            fclose(f);
            return 0;
        }
        d->n++;
    }
    fclose(f);
    return 1;
}

void golden_dump_free(golden_dump *d) {
    for (size_t i = 0; i < d->n; i++) {
        free(d->r[i].name);
        free(d->r[i].data);
    }
    free(d->r);
}

const golden_rec *golden_find(const golden_dump *d, const char *name) {
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->r[i].name, name) == 0) {
            return &d->r[i];
        }
    }
    printf("reference golden_dump lacks record %s\n", name);
    return NULL;
}

/* golden_find(prefix + name) */
const golden_rec *golden_findp(const golden_dump *d, const char *prefix, const char *name) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return golden_find(d, full);
}

/* k_lin.bias has an identically zero true gradient: adding b_k to every key adds q.b_k
   to a whole row of scores, which the softmax ignores. Its computed gradient is rounding
   noise (|g| ~ 1e-9) in torch and here alike, and AdamW turns noise into steps of up to
   lr in random directions, so after training it is compared with abs tolerance sum(lr). */
int golden_is_k_bias(const char *name) {
    return strstr(name, "attention.k_lin.bias") != NULL;
}

/* ---- comparison -------------------------------------------------------------------------- */

/* Compares and prints "name: max |d| ..., first values"; returns the max abs diff. */
double golden_compare(const char *what, const float *got, const float *want, size_t n, golden_tol t, int verbose) {
    double maxd = 0.0, sd = 0.0, sw = 0.0, worst_excess = 0.0, worst_outlier_d = 0.0;
    size_t worst = 0, bad = 0, outliers = 0, worst_outlier = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d == d)) {
            d = INFINITY;
        }
        sd += d * d;
        sw += (double)want[i] * want[i];
        if (d > maxd) {
            maxd = d;
        }
        double lim = t.abs + t.rel * fabs(want[i]);
        if (t.normwise || d <= lim) {
            continue;
        }
        if (d <= t.outlier_abs) {
            outliers++;
            if (d > worst_outlier_d) {
                worst_outlier_d = d;
                worst_outlier = i;
            }
        } else {
            bad++;
            if (d - lim > worst_excess) {
                worst_excess = d - lim;
                worst = i;
            }
        }
    }
    double nrm = sw > 0 ? sqrt(sd / sw) : sqrt(sd);
    size_t max_outliers = n / 1000 > 1 ? n / 1000 : 1;
    int ok = t.normwise ? (sqrt(sd) <= t.rel * sqrt(sw) + t.abs * sqrt((double)n) && isfinite(nrm))
                        : bad == 0 && outliers <= max_outliers;
    if (verbose || !ok) {
        printf("  %-58s n=%-6zu max|d|=%.3e  rel-norm=%.3e  first:", what, n, maxd, nrm);
        for (size_t i = 0; i < n && i < 3; i++) {
            printf(" %.6g/%.6g", (double)got[i], (double)want[i]);
        }
        printf("\n");
    }
    if (outliers > 0) {
        printf("  %-58s %zu of %zu values beyond %.0e + %.0e*|want| but within %.1e (worst [%zu] %.8g vs %.8g)\n",
               what, outliers, n, t.abs, t.rel, t.outlier_abs, worst_outlier, (double)got[worst_outlier],
               (double)want[worst_outlier]);
    }
    if (t.normwise) {
        CHECK(ok, "%s: normwise error %.3e > %.1e (+ abs floor %.0e)", what, nrm, t.rel, t.abs);
    } else if (outliers > max_outliers) {
        CHECK(0, "%s: %zu outliers (within %.1e) > %zu allowed", what, outliers, t.outlier_abs, max_outliers);
    } else {
        CHECK(ok, "%s: %zu of %zu values outside %.0e + %.0e*|want| (worst [%zu] %.8g vs %.8g)", what, bad, n, t.abs,
              t.rel, worst, (double)got[worst], (double)want[worst]);
    }
    return maxd;
}

/* ---- model helpers ---------------------------------------------------------------------- */

int golden_batch_from(const golden_dump *d, const char *prefix, golden_batch *g) {
    char n1[64], n2[64], n3[64];
    snprintf(n1, sizeof n1, "%s.ids", prefix);
    snprintf(n2, sizeof n2, "%s.lengths", prefix);
    snprintf(n3, sizeof n3, "%s.labels", prefix);
    const golden_rec *ri = golden_find(d, n1), *rl = golden_find(d, n2), *rb = golden_find(d, n3);
    if (!ri || !rl || !rb || ri->n_dims != 2) {
        return 0;
    }
    g->B = (int)ri->dims[0];
    g->T = (int)ri->dims[1];
    g->ids = ri->data;
    g->len = rl->data;
    g->lab = rb->data;
    g->ex = malloc(sizeof(uint32_t) * (size_t)g->B);
    if (!g->ex) {
        return 0;
    }
    for (int b = 0; b < g->B; b++) {
        g->ex[b] = (uint32_t)b;
    }
    return 1;
}

mrpc_model_batch golden_model_batch(const golden_batch *g) {
    mrpc_model_batch b = {0};
    b.B = g->B;
    b.T = g->T;
    b.ids = g->ids;
    b.lengths = g->len;
    b.labels = g->lab;
    b.example_index = g->ex;
    b.seed = 1;
    b.loss_scale = 1.0 / g->B;
    return b; /* dropout all 0 */
}

mrpc_model *golden_load(const char *ckpt, mrpc_backend_kind kind, mrpc_precision prec, int no_prune, int chunk,
                        int threads, mrpc_status *create_status) {
    mrpc_model_dims dims;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_model_read_hf_config(ckpt, &dims, NULL, &err), &err)) {
        return NULL;
    }
    mrpc_model_options o = {.backend = kind, .precision = prec, .n_threads = threads, .max_batch = 8,
                            .max_seq = 32, .chunk_tokens = chunk, .no_prune = no_prune};
    mrpc_model *m = NULL;
    mrpc_status st = mrpc_model_create(&dims, &o, &m, &err);
    if (create_status) *create_status = st;
    if (create_status && st != MRPC_OK && kind == MRPC_BACKEND_CUDA) return NULL; /* the caller decides */
    if (!CHECK_OK(st, &err)) {
        return NULL;
    }
    int head = 0;
    if (!CHECK_OK(mrpc_model_load_hf(m, ckpt, 7, NULL, &head, &err), &err)) {
        mrpc_model_free(m);
        return NULL;
    }
    CHECK(head == 1, "the golden checkpoint carries the classification head");
    return m;
}

/* Logits, loss and all gradients of the reference batch. */
void golden_check_gradients(mrpc_model *m, const golden_dump *d, const char *prefix, const char *tag, golden_tol tl, golden_tol tg,
                            int verbose) {
    golden_batch g;
    if (!golden_batch_from(d, "batch", &g)) {
        CHECK(0, "batch records");
        return;
    }
    mrpc_model_batch b = golden_model_batch(&g);
    mrpc_error err = {0};
    const mrpc_model_dims *dims = mrpc_model_get_dims(m);
    float *logits = malloc(sizeof(float) * (size_t)g.B * dims->num_labels);
    double loss_eval = 0.0, loss_sum = 0.0;
    CHECK_OK(mrpc_model_forward_eval(m, &b, &loss_eval, NULL, logits, &err), &err);
    mrpc_model_zero_grad(m);
    CHECK_OK(mrpc_model_forward_backward(m, &b, &loss_sum, NULL, &err), &err);
    const golden_rec *rl = golden_findp(d, prefix, "ref.logits"), *rloss = golden_findp(d, prefix, "ref.loss");
    char what[200];
    printf("%s vs torch %s: forward/backward of the reference batch (B=%d T=%d)\n", tag,
           *prefix ? "bf16-operand linears" : "fp32", g.B, g.T);
    if (rl && rloss) {
        snprintf(what, sizeof what, "%s logits", tag);
        golden_compare(what, logits, rl->data, rl->n, tl, 1);
        double ref_loss = ((double *)rloss->data)[0];
        printf("  loss %.8f vs torch %.8f (|d| %.2e)\n", loss_sum / g.B, ref_loss, fabs(loss_sum / g.B - ref_loss));
        CHECK_CLOSE(loss_sum / g.B, ref_loss, tl.normwise ? 0.0 : 10 * tl.abs, tl.normwise ? tl.rel : 1e-5, "loss");
        CHECK_CLOSE(loss_eval, loss_sum, 1e-6, 1e-6, "eval loss == training loss with dropout off");
    }
    size_t nv = 0, np = 0;
    const mrpc_param_view *views = mrpc_model_views(m, &nv);
    float *grads = malloc(sizeof(float) * mrpc_model_param_count(dims));
    mrpc_model_slab_to_host(m, MRPC_SLAB_GRADS, grads);
    (void)np;
    double worst = 0.0;
    const char *worst_name = "";
    for (size_t i = 0; i < nv; i++) {
        snprintf(what, sizeof what, "grad/%s", views[i].name);
        const golden_rec *r = golden_findp(d, prefix, what);
        if (!r || !CHECK(r->n == views[i].n_elems, "%s: %zu elements, reference %zu", what, views[i].n_elems, r->n)) {
            continue;
        }
        golden_tol t = tg;
        if (golden_is_k_bias(views[i].name)) { /* zero true gradient: noise on both sides */
            t = (golden_tol){0, 1e-6, 0.0, 0};
        }
        double md = golden_compare(what, grads + views[i].offset, r->data, r->n, t, verbose);
        if (md > worst) {
            worst = md;
            worst_name = views[i].name;
        }
    }
    printf("  %zu gradient tensors compared; largest |d| %.3e in %s\n", nv, worst, worst_name);
    free(grads);
    free(logits);
    free(g.ex);
}

/* K updates; returns the final parameters (host, caller frees) and the per-step losses. */
float *golden_train(mrpc_model *m, const golden_dump *d, double *losses, double *norms, double *lrs, int *K_out) {
    const golden_rec *hp = golden_find(d, "train.hparams"), *rloss = golden_find(d, "train.loss");
    if (!hp || !rloss) {
        return NULL;
    }
    const double *h = hp->data;
    int K = (int)rloss->n;
    mrpc_error err = {0};
    for (int k = 0; k < K; k++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "step%d", k);
        golden_batch g;
        if (!golden_batch_from(d, prefix, &g)) {
            return NULL;
        }
        mrpc_model_batch b = golden_model_batch(&g);
        double loss_sum = 0.0;
        mrpc_model_zero_grad(m);
        CHECK_OK(mrpc_model_forward_backward(m, &b, &loss_sum, NULL, &err), &err);
        losses[k] = loss_sum / g.B;
        norms[k] = mrpc_model_clip_grad_norm(m, h[5]);
        mrpc_adamw_hparams a = {.lr = mrpc_lr_linear_at_update(h[0], k + 1, (int64_t)h[6], (int64_t)h[7]),
                                .beta1 = h[1], .beta2 = h[2], .eps = h[3], .weight_decay = h[4], .step = k + 1};
        lrs[k] = a.lr;
        CHECK_OK(mrpc_model_adamw_step(m, &a, &err), &err);
        free(g.ex);
    }
    *K_out = K;
    size_t n = 0;
    mrpc_model_params(m, &n);
    float *p = malloc(sizeof(float) * n);
    mrpc_model_slab_to_host(m, MRPC_SLAB_PARAMS, p);
    return p;
}

void golden_check_training(mrpc_model *m, const golden_dump *d, const char *prefix, const char *tag, golden_tol tloss, golden_tol tw,
                           double tnorm, int verbose) {
    double losses[64], norms[64], lrs[64];
    int K = 0;
    float *p = golden_train(m, d, losses, norms, lrs, &K);
    if (!CHECK(p != NULL, "training ran")) {
        return;
    }
    const golden_rec *rl = golden_findp(d, prefix, "train.loss"), *rn = golden_findp(d, prefix, "train.grad_norm"),
              *rr = golden_findp(d, prefix, "train.lr");
    const golden_rec *hp = golden_find(d, "train.hparams");
    double lr_sum = 0.0;
    for (int k = 0; k < K; k++) {
        lr_sum += lrs[k];
    }
    printf("%s vs torch %s: %d AdamW updates (warmup %g, total %g, wd %g, clip %g)\n", tag,
           *prefix ? "bf16-operand linears" : "fp32", K, ((double *)hp->data)[6],
           ((double *)hp->data)[7], ((double *)hp->data)[4], ((double *)hp->data)[5]);
    for (int k = 0; k < K; k++) {
        double wl = ((double *)rl->data)[k], wn = ((double *)rn->data)[k], wr = ((double *)rr->data)[k];
        printf("  update %d: loss %.7f (torch %.7f)  grad norm %.6f (torch %.6f)  lr %.3e (torch %.3e)\n", k + 1,
               losses[k], wl, norms[k], wn, lrs[k], wr);
        CHECK_CLOSE(losses[k], wl, tloss.normwise ? 0.0 : tloss.abs, tloss.rel, "per-update loss");
        CHECK_CLOSE(norms[k], wn, 0.0, tnorm, "per-update gradient norm");
        CHECK_CLOSE(lrs[k], wr, 1e-15, 1e-9, "per-update learning rate");
    }
    size_t nv = 0;
    const mrpc_param_view *views = mrpc_model_views(m, &nv);
    double worst = 0.0;
    const char *worst_name = "";
    char what[200];
    for (size_t i = 0; i < nv; i++) {
        snprintf(what, sizeof what, "final/%s", views[i].name);
        const golden_rec *r = golden_findp(d, prefix, what);
        if (!r) {
            continue;
        }
        golden_tol t = tw;
        if (golden_is_k_bias(views[i].name)) { /* noise-driven AdamW steps, see is_k_bias */
            t = (golden_tol){0, lr_sum, 0.0, 0.0};
        } else if (!t.normwise) {
            /* A weight whose gradient nearly cancels at some update (an embedding row used by
               few tokens, say) has a gradient that is mostly rounding noise, in torch and here
               alike; AdamW normalises it by sqrt(v) into a step of up to about lr in a random
               direction. Such values may miss the tolerance, within sum(lr), one in a thousand:
               a real error moves many values, not one. */
            t.outlier_abs = lr_sum;
        }
        double md = golden_compare(what, p + views[i].offset, r->data, r->n, t, verbose);
        if (md > worst) {
            worst = md;
            worst_name = views[i].name;
        }
    }
    printf("  %zu final weight tensors compared; largest |d| %.3e in %s\n", nv, worst, worst_name);
    free(p);
}

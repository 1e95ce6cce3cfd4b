/* fidelity.c — the `fidelity` block of a stage and its rungs (see fidelity.h). */
#include "fidelity.h"

#include <stdio.h>
#include <string.h>

/* Stages without a fidelity block of their own (confirm): always full runs. */
static const mrpc_fidelity full_fidelity = {.enabled = 0};

static mrpc_fidelity *stage_fidelity(mrpc_study *st, int stage) {
    switch (stage) {
    case MRPC_STAGE_SENSITIVITY: return &st->sensitivity.fidelity;
    case MRPC_STAGE_GRID: return &st->grid.fidelity;
    case MRPC_STAGE_BAYES: return &st->bayes.fidelity;
    default: return NULL;
    }
}

const mrpc_fidelity *mrpc_study_fidelity(const mrpc_study *st, mrpc_stage_kind stage) {
    const mrpc_fidelity *f = stage_fidelity((mrpc_study *)st, (int)stage);
    return f ? f : &full_fidelity;
}

size_t mrpc_fidelity_rungs(const mrpc_fidelity *f, int64_t *rungs, size_t cap) {
    size_t n = 0;
    if (f->enabled && f->min_iter >= 1 && f->eta >= 2) {
        for (int64_t r = f->min_iter; r < f->max_iter && r < f->num_epochs && n + 1 < cap; r *= f->eta) {
            rungs[n++] = r;
            if (r > INT64_MAX / f->eta) break;
        }
    }
    if (n < cap) rungs[n++] = f->num_epochs;
    return n;
}

int64_t mrpc_fidelity_pause_for(const mrpc_fidelity *f, int64_t epoch) {
    return epoch >= f->num_epochs ? 0 : epoch;
}

int mrpc_fidelity_check(const mrpc_fidelity *f, char *why, size_t size) {
    if (f->unit != MRPC_FIDELITY_EPOCH) { snprintf(why, size, "unit: only epoch is supported"); return 0; }
    if (f->eta < 2) { snprintf(why, size, "eta: must be at least 2 (keep the best 1/eta of a rung), got %lld", (long long)f->eta); return 0; }
    if (f->min_iter < 1) { snprintf(why, size, "min_iter: must be at least 1 epoch, got %lld", (long long)f->min_iter); return 0; }
    if (f->max_iter > f->num_epochs) {
        snprintf(why, size, "max_iter: %lld is more than the %lld epochs of a run (num_epochs)", (long long)f->max_iter,
                 (long long)f->num_epochs);
        return 0;
    }
    if (f->min_iter >= f->max_iter) {
        snprintf(why, size, "min_iter: %lld must be below max_iter %lld, or no run ever pauses", (long long)f->min_iter,
                 (long long)f->max_iter);
        return 0;
    }
    return 1;
}

/* Parses one block; `field_node` is where whole-block errors point. */
static mrpc_status parse_block(const mrpc_yaml_doc *doc, const yaml_node_t *node, const char *stage, int64_t num_epochs,
                               mrpc_fidelity *f, mrpc_error *err) {
    memset(f, 0, sizeof *f);
    f->enabled = 1;
    f->min_iter = 1;
    f->eta = 3;
    f->max_iter = num_epochs;
    f->unit = MRPC_FIDELITY_EPOCH;
    f->num_epochs = num_epochs;
    if (mrpc_yaml_is_null(node)) goto check;
    if (node->type != YAML_MAPPING_NODE) {
        return mrpc_yaml_error_at(doc, node, err, MRPC_ERR_INVALID, "fidelity",
                                  "expected a mapping {min_iter, eta, max_iter, unit} in stages.%s", stage);
    }
    static const char *const allowed[] = {"min_iter", "eta", "max_iter", "unit", NULL};
    const char *key;
    const yaml_node_t *kn, *v;
    for (size_t i = 0; mrpc_yaml_map_at(doc, node, i, &key, &kn, &v); i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, key) == 0;
        if (!ok) {
            return mrpc_yaml_error_at(doc, kn, err, MRPC_ERR_INVALID, key,
                                      "unknown key in stages.%s.fidelity (expected: min_iter, eta, max_iter, unit)", stage);
        }
        if (strcmp(key, "unit") == 0) {
            const char *u = mrpc_yaml_scalar(v);
            if (!u || strcmp(u, "epoch") != 0) {
                return mrpc_yaml_error_at(doc, v, err, MRPC_ERR_INVALID, "unit",
                                          "unknown unit \"%s\" (expected epoch: runs pause after an epoch's evaluation)",
                                          u ? u : "");
            }
            continue;
        }
        int64_t x;
        mrpc_status s = mrpc_yaml_get_i64(doc, v, key, &x, err);
        if (s != MRPC_OK) return s;
        if (strcmp(key, "min_iter") == 0) f->min_iter = x;
        else if (strcmp(key, "eta") == 0) f->eta = x;
        else f->max_iter = x;
    }
check:;
    char why[256];
    if (!mrpc_fidelity_check(f, why, sizeof why)) {
        /* Point at the key the message names (when the file has it), else at the block. */
        const char *colon = strchr(why, ':');
        char name[16] = "";
        if (colon && (size_t)(colon - why) < sizeof name) snprintf(name, sizeof name, "%.*s", (int)(colon - why), why);
        const yaml_node_t *at = node->type == YAML_MAPPING_NODE ? mrpc_yaml_map_get(doc, node, name) : NULL;
        if (!at && strcmp(name, "min_iter") == 0 && node->type == YAML_MAPPING_NODE) at = mrpc_yaml_map_get(doc, node, "max_iter");
        return mrpc_yaml_error_at(doc, at ? at : node, err, MRPC_ERR_INVALID, name[0] ? name : "fidelity", "stages.%s.fidelity.%s",
                                  stage, why);
    }
    return MRPC_OK;
}

mrpc_status mrpc_fidelity_parse_stages(const mrpc_yaml_doc *doc, const yaml_node_t *const *stage_nodes, mrpc_study *st,
                                       mrpc_error *err) {
    for (int k = 0; k < MRPC_STAGE_COUNT; k++) {
        mrpc_fidelity *f = stage_fidelity(st, k);
        if (!f) continue;
        memset(f, 0, sizeof *f);
        const mrpc_hparam *ne = mrpc_study_fixed(st, "num_epochs");
        f->num_epochs = ne && ne->kind == MRPC_VALUE_INT ? ne->i : 0;
        const yaml_node_t *sn = stage_nodes[k];
        if (!st->has_stage[k] || !sn || sn->type != YAML_MAPPING_NODE) continue;
        const yaml_node_t *node = NULL, *key_node = NULL;
        const char *key;
        const yaml_node_t *kn, *v;
        for (size_t i = 0; mrpc_yaml_map_at(doc, sn, i, &key, &kn, &v); i++)
            if (strcmp(key, "fidelity") == 0) { node = v; key_node = kn; }
        if (!node) continue;
        const char *stage = mrpc_stage_name((mrpc_stage_kind)k);
        if (k == MRPC_STAGE_SENSITIVITY) {
            return mrpc_yaml_error_at(doc, key_node, err, MRPC_ERR_INVALID, "fidelity",
                                      "the sensitivity stage measures every level's full-run effect and stays at full "
                                      "fidelity; put the fidelity block on grid or bayes");
        }
        if (!ne) {
            return mrpc_yaml_error_at(doc, key_node, err, MRPC_ERR_INVALID, "fidelity",
                                      "stages.%s.fidelity needs a fixed num_epochs (the top rung), but num_epochs is searched",
                                      stage);
        }
        if (strcmp(st->metric, "accuracy") != 0 && strcmp(st->metric, "f1") != 0 && strcmp(st->metric, "best_accuracy") != 0) {
            return mrpc_yaml_error_at(doc, key_node, err, MRPC_ERR_INVALID, "fidelity",
                                      "stages.%s.fidelity ranks runs at a rung by the objective after an epoch; %s has no "
                                      "per-epoch value (use accuracy, f1 or best_accuracy)", stage, st->metric);
        }
        mrpc_status r = parse_block(doc, node, stage, f->num_epochs, f, err);
        if (r != MRPC_OK) return r;
    }
    return MRPC_OK;
}

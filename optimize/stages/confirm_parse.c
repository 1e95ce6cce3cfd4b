/* confirm_parse.c — stages.confirm of the study file (see confirm.h); apart from the planner, so that
 * the study parser (and its fuzz target) needs no more than the YAML reader. */
#include <string.h>

#include "confirm.h"

mrpc_status mrpc_confirm_parse(const mrpc_yaml_doc *doc, const yaml_node_t *node, const yaml_node_t *stages_node,
                               mrpc_study *st, mrpc_error *err) {
    mrpc_confirm_settings *c = &st->confirm;
    c->top_k = 3;
    c->seeds = 5;
    if (!st->has_stage[MRPC_STAGE_SENSITIVITY] && !st->has_stage[MRPC_STAGE_GRID] && !st->has_stage[MRPC_STAGE_BAYES]) {
        return mrpc_yaml_error_at(doc, node && !mrpc_yaml_is_null(node) ? node : stages_node, err, MRPC_ERR_INVALID,
                                  "confirm", "the confirm stage re-runs the recommendation of an earlier stage: add "
                                             "sensitivity, grid or bayes before it");
    }
    if (!node || mrpc_yaml_is_null(node)) return MRPC_OK;
    if (node->type != YAML_MAPPING_NODE) {
        return mrpc_yaml_error_at(doc, node, err, MRPC_ERR_INVALID, "confirm", "expected a mapping {top_k, seeds}");
    }
    const char *key;
    const yaml_node_t *kn, *v;
    for (size_t i = 0; mrpc_yaml_map_at(doc, node, i, &key, &kn, &v); i++) {
        int64_t *dst, lo, hi;
        if (strcmp(key, "top_k") == 0) {
            dst = &c->top_k;
            lo = 1;
            hi = MRPC_CONFIRM_MAX_K;
        } else if (strcmp(key, "seeds") == 0) {
            dst = &c->seeds;
            lo = 2; /* a spread needs two seeds */
            hi = MRPC_CONFIRM_MAX_SEEDS;
        } else {
            return mrpc_yaml_error_at(doc, kn, err, MRPC_ERR_INVALID, key, "unknown key in stages.confirm (expected: top_k, seeds)");
        }
        int64_t x;
        mrpc_status r = mrpc_yaml_get_i64(doc, v, key, &x, err);
        if (r != MRPC_OK) return r;
        if (x < lo || x > hi) {
            return mrpc_yaml_error_at(doc, v, err, MRPC_ERR_INVALID, key, "must be %lld..%lld, got %lld%s", (long long)lo,
                                      (long long)hi, (long long)x,
                                      dst == &c->seeds && x < lo ? " (a paired test needs at least 2 seeds)" : "");
        }
        *dst = x;
    }
    return MRPC_OK;
}

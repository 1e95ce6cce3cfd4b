/* effects.c — stage 1 baseline, levels, effects and ranks (see effects.h). */
#include "effects.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "stats.h"
#include "strutil.h"
#include "yaml_doc.h"

static int same(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* Most common finite value of parameter p among the stage's runs (NaN when none). */
static double mode_of(const mrpc_runset *s, const size_t *idx, size_t n, size_t p) {
    double best = NAN;
    size_t best_count = 0;
    for (size_t i = 0; i < n; i++) {
        double v = s->runs[idx[i]].x[p];
        if (!isfinite(v)) continue;
        size_t c = 0;
        for (size_t j = 0; j < n; j++) c += same(s->runs[idx[j]].x[p], v);
        if (c > best_count) {
            best_count = c;
            best = v;
        }
    }
    return best;
}

static int cmp_level(const void *pa, const void *pb) {
    const mrpc_effects_level *a = pa, *b = pb;
    return (a->value > b->value) - (a->value < b->value);
}

static int cmp_param(const void *pa, const void *pb) {
    const mrpc_effects_param *a = pa, *b = pb;
    if (a->rank && b->rank) return a->rank - b->rank;
    if (a->rank != b->rank) return a->rank ? -1 : 1;
    return (a->param > b->param) - (a->param < b->param);
}

/* Index of parameter `name` in out->params, or -1. */
static int effects_find(const mrpc_runset *s, const mrpc_effects *out, const char *name) {
    for (size_t k = 0; k < out->n_params; k++)
        if (strcmp(s->params[out->params[k].param].name, name) == 0) return (int)k;
    return -1;
}

/*
 * Reads mrpc-optimize's <root>/sensitivity.yaml: per parameter rank and effect, and the
 * tuned list. Returns 1 when a tuned list was read. A file that is there but cannot be
 * read leaves a note and changes nothing.
 */
static int read_optimizer_file(const mrpc_runset *s, mrpc_effects *out, int *tuned_flags) {
    char path[MRPC_RUNSET_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/sensitivity.yaml", s->root);
    if (!mrpc_path_exists(path)) return 0;
    mrpc_yaml_doc *doc = NULL;
    mrpc_error yerr = {0};
    if (mrpc_yaml_load_file(path, &doc, &yerr) != MRPC_OK) {
        char msg[200];
        mrpc_error_format(&yerr, msg, sizeof msg);
        snprintf(out->optimizer_note, sizeof out->optimizer_note, "sensitivity.yaml could not be read: %s", msg);
        return 0;
    }
    const yaml_node_t *root = mrpc_yaml_root(doc);
    const yaml_node_t *tuned = mrpc_yaml_map_get(doc, root, "tuned");
    const yaml_node_t *params = mrpc_yaml_map_get(doc, root, "parameters");
    const yaml_node_t *complete = mrpc_yaml_map_get(doc, root, "complete");
    int ok = tuned && tuned->type == YAML_SEQUENCE_NODE;
    if (!ok) {
        snprintf(out->optimizer_note, sizeof out->optimizer_note, "sensitivity.yaml has no `tuned` list; not used");
        mrpc_yaml_free(doc);
        return 0;
    }
    out->has_optimizer_file = 1;
    int flag = 1;
    out->optimizer_complete = !complete || mrpc_yaml_get_bool(doc, complete, "complete", &flag, NULL) != MRPC_OK || flag;
    for (size_t i = 0; i < mrpc_yaml_len(tuned); i++) {
        const char *name = mrpc_yaml_scalar(mrpc_yaml_seq_at(doc, tuned, i));
        int k = name ? effects_find(s, out, name) : -1;
        if (k >= 0) tuned_flags[k] = 1;
    }
    for (size_t i = 0; params && i < mrpc_yaml_len(params); i++) {
        const char *name;
        const yaml_node_t *kn, *val;
        if (!mrpc_yaml_map_at(doc, params, i, &name, &kn, &val)) continue;
        int k = effects_find(s, out, name);
        if (k < 0) continue;
        const yaml_node_t *rank = mrpc_yaml_map_get(doc, val, "rank"), *effect = mrpc_yaml_map_get(doc, val, "effect");
        int64_t r;
        double e;
        if (rank && !mrpc_yaml_is_null(rank) && mrpc_yaml_get_i64(doc, rank, "rank", &r, NULL) == MRPC_OK && r > 0 && r < 1000)
            out->params[k].opt_rank = (int)r;
        if (effect && !mrpc_yaml_is_null(effect) && mrpc_yaml_get_f64(doc, effect, "effect", &e, NULL) == MRPC_OK)
            out->params[k].opt_effect = e;
    }
    mrpc_yaml_free(doc);
    return 1;
}

mrpc_status mrpc_effects_compute(const mrpc_runset *s, mrpc_effects *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    out->chosen_source = MRPC_EFFECTS_CHOSEN_TOP3;
    out->baseline_run = -1;
    out->baseline_objective = NAN;
    out->noise = NAN;
    size_t *idx = malloc((s->n_runs ? s->n_runs : 1) * sizeof *idx);
    double *base_cfg = malloc((s->n_params ? s->n_params : 1) * sizeof *base_cfg);
    if (!idx || !base_cfg) {
        free(idx);
        free(base_cfg);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < s->n_runs; i++)
        if (strcmp(s->runs[i].stage, "sensitivity") == 0 && s->runs[i].state != MRPC_RUNSET_UNREADABLE) idx[n++] = i;
    out->n_stage_runs = n;
    for (size_t p = 0; p < s->n_params; p++) base_cfg[p] = s->params[p].is_seed ? NAN : mode_of(s, idx, n, p);

    int param_slot[MRPC_RUNSET_MAX_PARAMS];
    for (size_t p = 0; p < MRPC_RUNSET_MAX_PARAMS; p++) param_slot[p] = -1;
    double base_obj[MRPC_EFFECTS_MAX_BASELINE];
    for (size_t k = 0; k < n; k++) {
        const mrpc_runset_run *r = &s->runs[idx[k]];
        size_t n_diff = 0, diff_p = 0;
        for (size_t p = 0; p < s->n_params; p++) {
            if (s->params[p].is_seed) continue;
            if (!same(r->x[p], base_cfg[p])) {
                n_diff++;
                diff_p = p;
            }
        }
        if (n_diff == 0 || strstr(r->run_id, "base") != NULL) {
            if (out->n_baseline < MRPC_EFFECTS_MAX_BASELINE) {
                out->baseline_runs[out->n_baseline++] = idx[k];
                if (r->usable) {
                    base_obj[out->n_baseline_usable++] = r->objective;
                    int has_pred = r->rec.n_predictions > 0;
                    if (out->baseline_run < 0 ||
                        (has_pred && s->runs[out->baseline_run].rec.n_predictions == 0))
                        out->baseline_run = (int)idx[k];
                }
            }
            continue;
        }
        if (n_diff > 1) {
            out->n_unclassified++;
            continue;
        }
        if (param_slot[diff_p] < 0) {
            param_slot[diff_p] = (int)out->n_params;
            mrpc_effects_param *P = &out->params[out->n_params++];
            P->param = diff_p;
            P->baseline_value = base_cfg[diff_p];
            P->effect = NAN;
            P->opt_effect = NAN;
        }
        mrpc_effects_param *P = &out->params[param_slot[diff_p]];
        if (P->n_levels < MRPC_EFFECTS_MAX_LEVELS)
            P->levels[P->n_levels++] = (mrpc_effects_level){.run = idx[k], .value = r->x[diff_p], .usable = r->usable,
                                                         .objective = r->usable ? r->objective : NAN, .delta = NAN};
    }
    out->found = n > 0 && out->n_baseline > 0;
    if (out->n_baseline_usable) {
        out->baseline_objective = mrpc_stats_mean(base_obj, out->n_baseline_usable);
        if (out->n_baseline_usable >= 2) {
            out->noise = mrpc_stats_std(base_obj, out->n_baseline_usable);
            out->noise_from_seeds = 1;
        } else {
            const mrpc_runset_run *b = &s->runs[out->baseline_run];
            double nv = b->rec.n_predictions ? (double)b->rec.n_predictions : 408.0;
            double pb = out->baseline_objective;
            if (pb > 0 && pb < 1) out->noise = sqrt(pb * (1 - pb) / nv);
        }
    }
    /* Deltas, effects, ranks. */
    for (size_t k = 0; k < out->n_params; k++) {
        mrpc_effects_param *P = &out->params[k];
        qsort(P->levels, P->n_levels, sizeof P->levels[0], cmp_level);
        for (size_t l = 0; l < P->n_levels; l++) {
            mrpc_effects_level *L = &P->levels[l];
            if (!L->usable || isnan(out->baseline_objective)) continue;
            L->delta = L->objective - out->baseline_objective;
            if (isnan(P->effect) || fabs(L->delta) > P->effect) P->effect = fabs(L->delta);
        }
    }
    for (size_t k = 0; k < out->n_params; k++) {
        mrpc_effects_param *P = &out->params[k];
        if (isnan(P->effect)) continue;
        int rank = 1;
        for (size_t j = 0; j < out->n_params; j++) {
            const mrpc_effects_param *Q = &out->params[j];
            if (j == k || isnan(Q->effect)) continue;
            if (Q->effect > P->effect || (Q->effect == P->effect && j < k)) rank++;
        }
        P->rank = rank;
    }
    qsort(out->params, out->n_params, sizeof out->params[0], cmp_param);
    /* Chosen: mrpc-optimize's tuned list, else the parameters the grid stage varied, else the top 3. */
    int tuned_flags[MRPC_RUNSET_MAX_PARAMS] = {0};
    if (read_optimizer_file(s, out, tuned_flags)) {
        for (size_t k = 0; k < out->n_params; k++) out->params[k].chosen = tuned_flags[k];
        out->chosen_source = MRPC_EFFECTS_CHOSEN_OPTIMIZER;
        free(idx);
        free(base_cfg);
        return MRPC_OK;
    }
    size_t n_grid = 0;
    for (size_t i = 0; i < s->n_runs; i++) n_grid += strcmp(s->runs[i].stage, "grid") == 0 && s->runs[i].has_record;
    out->chosen_source = n_grid >= 2 ? MRPC_EFFECTS_CHOSEN_GRID : MRPC_EFFECTS_CHOSEN_TOP3;
    for (size_t k = 0; k < out->n_params; k++) {
        mrpc_effects_param *P = &out->params[k];
        if (n_grid >= 2) {
            double first = NAN;
            for (size_t i = 0; i < s->n_runs && !P->chosen; i++) {
                const mrpc_runset_run *r = &s->runs[i];
                if (strcmp(r->stage, "grid") != 0 || !r->has_record || !isfinite(r->x[P->param])) continue;
                if (isnan(first)) first = r->x[P->param];
                else if (!same(first, r->x[P->param])) P->chosen = 1;
            }
        } else {
            P->chosen = P->rank >= 1 && P->rank <= 3;
        }
    }
    free(idx);
    free(base_cfg);
    return MRPC_OK;
}

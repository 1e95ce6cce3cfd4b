/* sensitivity.c — stage 1: one-factor-at-a-time levels, effects and the tuned parameters (see stages.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages.h"
#include "strbuf.h"
#include "strutil.h"

void mrpc_sensitivity_levels(const mrpc_study *st, size_t k, double *low, int *has_low, double *high, int *has_high) {
    const mrpc_param *p = &st->space.params[k];
    const mrpc_sensitivity_settings *s = &st->sensitivity;
    if (s->has_levels[k]) {
        *low = s->levels[k][0];
        *high = s->levels[k][1];
    } else {
        double m = 0.5 * (1.0 - s->span);
        *low = mrpc_param_decode(p, m);
        *high = mrpc_param_decode(p, 1.0 - m);
    }
    *has_low = mrpc_param_is_searchable(p) && !mrpc_param_equal(p, *low, p->baseline);
    *has_high = mrpc_param_is_searchable(p) && !mrpc_param_equal(p, *high, p->baseline) &&
                !(*has_low && mrpc_param_equal(p, *high, *low));
}

/* The plan, and for each candidate position the task index of its low / high level (-1 when none). */
static mrpc_status build_plan(const mrpc_study *st, mrpc_plan *plan, long *low_task, long *high_task, mrpc_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->stage = MRPC_STAGE_SENSITIVITY;
    plan->wave = 0;
    const mrpc_sensitivity_settings *s = &st->sensitivity;
    plan->with_seed = s->seeds > 1;
    double base[MRPC_SPACE_MAX_PARAMS];
    size_t np = st->space.n_params;
    mrpc_space_baseline(&st->space, base);
    mrpc_status r = mrpc_plan_add(plan, base, np, st->base_seed, "baseline", err);
    for (int64_t j = 1; j < s->seeds && r == MRPC_OK; j++) {
        char suffix[48];
        snprintf(suffix, sizeof suffix, "baseline-seed%lld", (long long)(st->base_seed + j));
        r = mrpc_plan_add(plan, base, np, st->base_seed + j, suffix, err);
    }
    for (size_t c = 0; c < s->n_candidates && r == MRPC_OK; c++) {
        size_t k = s->candidates[c];
        double low, high, vals[MRPC_SPACE_MAX_PARAMS];
        int has_low, has_high;
        mrpc_sensitivity_levels(st, k, &low, &has_low, &high, &has_high);
        char suffix[64];
        low_task[c] = high_task[c] = -1;
        if (has_low) {
            memcpy(vals, base, sizeof vals);
            vals[k] = low;
            snprintf(suffix, sizeof suffix, "%s-low", st->space.params[k].name);
            low_task[c] = (long)plan->n_tasks;
            r = mrpc_plan_add(plan, vals, np, st->base_seed, suffix, err);
        }
        if (has_high && r == MRPC_OK) {
            memcpy(vals, base, sizeof vals);
            vals[k] = high;
            snprintf(suffix, sizeof suffix, "%s-high", st->space.params[k].name);
            high_task[c] = (long)plan->n_tasks;
            r = mrpc_plan_add(plan, vals, np, st->base_seed, suffix, err);
        }
    }
    if (r != MRPC_OK) mrpc_plan_free(plan);
    return r;
}

mrpc_status mrpc_sensitivity_plan(const mrpc_study *st, mrpc_plan *plan, mrpc_error *err) {
    long low_task[MRPC_SPACE_MAX_PARAMS], high_task[MRPC_SPACE_MAX_PARAMS];
    mrpc_status r = build_plan(st, plan, low_task, high_task, err);
    if (r == MRPC_OK) {
        snprintf(plan->note, sizeof plan->note, "baseline x %lld seed%s and low/high levels of %zu parameters",
                 (long long)st->sensitivity.seeds, st->sensitivity.seeds > 1 ? "s" : "", st->sensitivity.n_candidates);
    }
    return r;
}

/* The run's observation: its newest task (a retried task's earlier attempts are superseded). */
static const mrpc_obs *find_obs(const mrpc_history *h, const char *run_id) {
    for (size_t i = 0; i < h->n_obs; i++)
        if (h->obs[i].stage == MRPC_STAGE_SENSITIVITY && h->obs[i].state != MRPC_OBS_RETRIED &&
            strcmp(h->obs[i].run_id, run_id) == 0)
            return &h->obs[i];
    return NULL;
}

/* Not final yet: running, or interrupted and about to be retried. */
static int obs_waiting(const mrpc_obs *o) {
    return !o || o->state == MRPC_OBS_PENDING || o->state == MRPC_OBS_INTERRUPTED;
}

/* Objective of a level: its value, the worst seen for a failed run, NaN while pending or absent. */
static double level_objective(const mrpc_obs *o, const mrpc_sensitivity_summary *s, mrpc_obs_state *state) {
    if (!o) { *state = MRPC_OBS_PENDING; return NAN; }
    *state = o->state;
    if (o->state == MRPC_OBS_COMPLETED) return o->objective;
    if (obs_waiting(o)) return NAN;
    return s->has_worst ? s->worst : NAN;
}

typedef struct rank_item { double effect; size_t pos; } rank_item;
static int cmp_rank(const void *a, const void *b) {
    const rank_item *x = a, *y = b;
    int xn = isnan(x->effect), yn = isnan(y->effect);
    if (xn != yn) return xn - yn; /* unknown effects last */
    if (!xn && x->effect != y->effect) return x->effect > y->effect ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

mrpc_status mrpc_sensitivity_summarize(const mrpc_study *st, const mrpc_history *h, mrpc_sensitivity_summary *s,
                                       mrpc_error *err) {
    memset(s, 0, sizeof *s);
    if (!st->has_stage[MRPC_STAGE_SENSITIVITY]) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, st->file, 0, 0, "stages", "the study has no sensitivity stage");
    }
    mrpc_plan plan;
    long low_task[MRPC_SPACE_MAX_PARAMS], high_task[MRPC_SPACE_MAX_PARAMS];
    mrpc_status r = build_plan(st, &plan, low_task, high_task, err);
    if (r != MRPC_OK) return r;
    s->has_worst = mrpc_history_worst(st, h, &s->worst);
    s->baseline_objective = NAN;
    s->seed_std = NAN;

    /* Baseline runs. */
    size_t n_seeds = (size_t)st->sensitivity.seeds;
    double sum = 0.0, vals[128];
    for (size_t j = 0; j < n_seeds; j++) {
        const mrpc_obs *o = find_obs(h, plan.tasks[j].run_id);
        s->n_baseline++;
        if (obs_waiting(o)) { s->n_pending++; continue; }
        if (o->state != MRPC_OBS_COMPLETED) { s->n_failed++; continue; }
        vals[s->n_baseline_completed++] = o->objective;
        sum += o->objective;
    }
    if (s->n_baseline_completed > 0) {
        s->ranked = 1;
        s->baseline_objective = sum / (double)s->n_baseline_completed;
        if (s->n_baseline_completed >= 2) {
            double ss = 0.0;
            for (size_t j = 0; j < s->n_baseline_completed; j++)
                ss += (vals[j] - s->baseline_objective) * (vals[j] - s->baseline_objective);
            s->seed_std = sqrt(ss / (double)(s->n_baseline_completed - 1));
        }
    }

    /* Levels and effects. */
    rank_item items[MRPC_SPACE_MAX_PARAMS];
    s->n_params = st->sensitivity.n_candidates;
    for (size_t c = 0; c < s->n_params; c++) {
        mrpc_sensitivity_param *p = &s->params[c];
        p->index = st->sensitivity.candidates[c];
        mrpc_sensitivity_levels(st, p->index, &p->low, &p->has_low, &p->high, &p->has_high);
        p->obj_low = p->obj_high = p->change_low = p->change_high = NAN;
        p->low_state = p->high_state = MRPC_OBS_PENDING;
        p->effect = NAN;
        p->effect_noise = NAN;
        double effect = 0.0;
        int known = 1, any = 0;
        for (int side = 0; side < 2; side++) {
            long t = side == 0 ? low_task[c] : high_task[c];
            if (t < 0) continue;
            any = 1;
            const mrpc_obs *o = find_obs(h, plan.tasks[t].run_id);
            mrpc_obs_state state;
            double obj = level_objective(o, s, &state);
            if (state == MRPC_OBS_PENDING || state == MRPC_OBS_INTERRUPTED) s->n_pending++;
            else if (state != MRPC_OBS_COMPLETED) s->n_failed++;
            double change = s->ranked ? obj - s->baseline_objective : NAN;
            if (side == 0) { p->obj_low = obj; p->low_state = state; p->change_low = change; }
            else { p->obj_high = obj; p->high_state = state; p->change_high = change; }
            if (isnan(change)) known = 0;
            else if (fabs(change) > effect) effect = fabs(change);
        }
        if (s->ranked && known) p->effect = any ? effect : 0.0;
        if (isfinite(p->effect) && isfinite(s->seed_std) && s->seed_std > 0.0) p->effect_noise = p->effect / s->seed_std;
        items[c].effect = p->effect;
        items[c].pos = c;
    }
    mrpc_plan_free(&plan);
    if (!s->ranked) return MRPC_OK;
    qsort(items, s->n_params, sizeof *items, cmp_rank);
    for (size_t r2 = 0; r2 < s->n_params; r2++) {
        mrpc_sensitivity_param *p = &s->params[items[r2].pos];
        p->rank = (int)r2 + 1;
        if (s->n_tuned < (size_t)st->sensitivity.top_k && (p->has_low || p->has_high) && !isnan(p->effect)) {
            p->tuned = 1;
            s->tuned[s->n_tuned++] = p->index;
        }
    }
    return MRPC_OK;
}

/* ---- sensitivity.yaml -------------------------------------------------------------- */

/* A number in round-trip form, or null. */
static const char *num(char *buf, size_t size, double v) {
    if (!isfinite(v)) return "null";
    mrpc_format_f64(buf, size, v == 0.0 ? 0.0 : v);
    return buf;
}

mrpc_status mrpc_sensitivity_to_yaml(const mrpc_study *st, const mrpc_sensitivity_summary *s, char **out,
                                     mrpc_error *err) {
    *out = NULL;
    mrpc_strbuf t = {0};
    char a[40], b[40];
    mrpc_strbuf_appendf(&t, "# Sensitivity analysis of study %s, written by mrpc-optimize.\n", st->name);
    mrpc_strbuf_appendf(&t, "# effect: the largest |objective - baseline objective| over a parameter's levels\n");
    mrpc_strbuf_appendf(&t, "# (a failed level counts as the worst objective seen); in objective units and in\n");
    mrpc_strbuf_appendf(&t, "# units of the baseline's seed-to-seed standard deviation when >= 2 seeds ran.\n");
    mrpc_strbuf_appendf(&t, "study: %s\nobjective: %s\ngoal: %s\n", st->name, st->metric, st->maximize ? "maximize" : "minimize");
    mrpc_strbuf_appendf(&t, "complete: %s\nranked: %s\npending_runs: %zu\nfailed_runs: %zu\n", s->n_pending ? "false" : "true",
        s->ranked ? "true" : "false", s->n_pending, s->n_failed);
    mrpc_strbuf_appendf(&t, "baseline:\n  runs: %zu\n  completed: %zu\n  objective: %s\n  seed_std: %s\n", s->n_baseline,
        s->n_baseline_completed, num(a, sizeof a, s->baseline_objective), num(b, sizeof b, s->seed_std));
    mrpc_strbuf_appendf(&t, "worst_objective: %s\n", s->has_worst ? num(a, sizeof a, s->worst) : "null");
    mrpc_strbuf_appendf(&t, "parameters:\n");
    for (size_t c = 0; c < s->n_params; c++) {
        const mrpc_sensitivity_param *p = &s->params[c];
        const mrpc_param *sp = &st->space.params[p->index];
        mrpc_strbuf_appendf(&t, "  %s:\n", sp->name);
        if (p->rank) mrpc_strbuf_appendf(&t, "    rank: %d\n", p->rank);
        else mrpc_strbuf_appendf(&t, "    rank: null\n");
        mrpc_strbuf_appendf(&t, "    tuned: %s\n", p->tuned ? "true" : "false");
        char v[40];
        mrpc_param_format(sp, sp->baseline, v, sizeof v);
        mrpc_strbuf_appendf(&t, "    baseline: %s\n", v);
        for (int side = 0; side < 2; side++) {
            int has = side ? p->has_high : p->has_low;
            const char *nm = side ? "high" : "low";
            if (!has) { mrpc_strbuf_appendf(&t, "    %s: null\n", nm); continue; }
            mrpc_param_format(sp, side ? p->high : p->low, v, sizeof v);
            mrpc_obs_state state = side ? p->high_state : p->low_state;
            mrpc_strbuf_appendf(&t, "    %s: {value: %s, state: %s, objective: %s, change: %s%s}\n", nm, v, mrpc_obs_state_str(state),
                num(a, sizeof a, side ? p->obj_high : p->obj_low), num(b, sizeof b, side ? p->change_high : p->change_low),
                (state != MRPC_OBS_COMPLETED && state != MRPC_OBS_PENDING && state != MRPC_OBS_INTERRUPTED)
                    ? ", imputed: true" : "");
        }
        mrpc_strbuf_appendf(&t, "    effect: %s\n    effect_in_seed_std: %s\n", num(a, sizeof a, p->effect), num(b, sizeof b, p->effect_noise));
    }
    mrpc_strbuf_appendf(&t, "tuned: [");
    for (size_t i = 0; i < s->n_tuned; i++) mrpc_strbuf_appendf(&t, "%s%s", i ? ", " : "", st->space.params[s->tuned[i]].name);
    mrpc_strbuf_appendf(&t, "]\n");
    if (t.failed) {
        free(t.data);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    *out = t.data;
    return MRPC_OK;
}

mrpc_status mrpc_sensitivity_from_study(const char *study_path, mrpc_sensitivity_summary *out, mrpc_error *err) {
    mrpc_study *st = malloc(sizeof *st);
    if (!st) return mrpc_error_set(err, MRPC_ERR_NOMEM, study_path, 0, 0, NULL, "out of memory");
    mrpc_status r = mrpc_study_load(study_path, st, err);
    if (r == MRPC_OK) {
        mrpc_history h;
        r = mrpc_history_load(st, &h, err);
        if (r == MRPC_OK) r = mrpc_sensitivity_summarize(st, &h, out, err);
        mrpc_history_free(&h);
    }
    free(st);
    return r;
}

size_t mrpc_stage_parameters(const mrpc_study *st, mrpc_stage_kind stage, const mrpc_sensitivity_summary *sens,
                             size_t *idx) {
    const size_t *list = NULL;
    size_t n = 0;
    if (stage == MRPC_STAGE_GRID && st->grid.n_params) { list = st->grid.params; n = st->grid.n_params; }
    if (stage == MRPC_STAGE_BAYES && st->bayes.n_params) { list = st->bayes.params; n = st->bayes.n_params; }
    if (!list && st->has_stage[MRPC_STAGE_SENSITIVITY] && sens && sens->ranked) { list = sens->tuned; n = sens->n_tuned; }
    if (list) {
        memcpy(idx, list, n * sizeof *idx);
        return n;
    }
    for (size_t k = 0; k < st->space.n_params; k++)
        if (mrpc_param_is_searchable(&st->space.params[k])) idx[n++] = k;
    return n;
}

/* plan.c — the wave plan every stage fills (see stages.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "stages.h"
#include "stages_internal.h"
#include "strutil.h"

void mrpc_plan_free(mrpc_plan *plan) {
    if (!plan) return;
    free(plan->tasks);
    memset(plan, 0, sizeof *plan);
}

mrpc_status mrpc_plan_add(mrpc_plan *plan, const double *values, size_t n_values, int64_t seed, const char *suffix,
                          mrpc_error *err) {
    if (n_values > MRPC_SPACE_MAX_PARAMS) return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL, "too many values");
    if (plan->n_tasks == plan->cap) {
        size_t cap = plan->cap ? plan->cap * 2 : 16;
        mrpc_plan_task *t = realloc(plan->tasks, cap * sizeof *t);
        if (!t) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        plan->tasks = t;
        plan->cap = cap;
    }
    mrpc_plan_task *t = &plan->tasks[plan->n_tasks];
    memset(t, 0, sizeof *t);
    memcpy(t->values, values, n_values * sizeof *values);
    t->seed = seed;
    int n = snprintf(t->run_id, sizeof t->run_id, "%s-%02d-%03zu%s%s", mrpc_stage_short(plan->stage), plan->wave,
                     plan->n_tasks, suffix ? "-" : "", suffix ? suffix : "");
    if (n < 0 || (size_t)n >= sizeof t->run_id || !mrpc_name_is_safe(t->run_id)) {
        return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, "run_id", "cannot make a safe run id from \"%s\"",
                              suffix ? suffix : "");
    }
    plan->n_tasks++;
    return MRPC_OK;
}

mrpc_status mrpc_plan_add_retry(mrpc_plan *plan, const char *run_id, const double *values, size_t n_values,
                                int64_t seed, mrpc_error *err) {
    if (strlen(run_id) >= sizeof plan->tasks[0].run_id || !mrpc_name_is_safe(run_id)) {
        return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, "run_id", "unsafe run id \"%s\"", run_id);
    }
    size_t before = plan->n_tasks;
    mrpc_status r = mrpc_plan_add(plan, values, n_values, seed, NULL, err);
    if (r == MRPC_OK) mrpc_str_copy(plan->tasks[before].run_id, sizeof plan->tasks[before].run_id, run_id);
    return r;
}

mrpc_status mrpc_retry_plan(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage, int wave,
                            mrpc_plan *plan, mrpc_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->stage = stage;
    plan->wave = wave;
    /* The same columns as the stage's own waves: the sensitivity stage's seed column. */
    plan->with_seed = (stage == MRPC_STAGE_SENSITIVITY && st->sensitivity.seeds > 1) || stage == MRPC_STAGE_CONFIRM;
    mrpc_status r = MRPC_OK;
    int attempt = 0;
    for (size_t i = 0; i < h->n_obs && r == MRPC_OK; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->stage != (int)stage || o->state != MRPC_OBS_INTERRUPTED) continue;
        r = mrpc_plan_add_retry(plan, o->run_id, o->values, st->space.n_params, o->seed, err);
        if (r == MRPC_OK) plan->tasks[plan->n_tasks - 1].pause_after_epoch = o->pause_after_epoch; /* same rung */
        if (o->attempts + 1 > attempt) attempt = o->attempts + 1;
    }
    if (r != MRPC_OK) {
        mrpc_plan_free(plan);
        return r;
    }
    snprintf(plan->note, sizeof plan->note,
             "retry of %zu run%s that ended without a final record (attempt %d of at most %lld; each resumes its "
             "own record from <record>.resume when the run left one)",
             plan->n_tasks, plan->n_tasks == 1 ? "" : "s", attempt, (long long)st->retries + 1);
    return MRPC_OK;
}

double *stage_canonical_configs(const mrpc_study *st, const mrpc_history *h) {
    size_t np = st->space.n_params;
    if (h->n_obs == 0) return NULL;
    double *c = malloc(h->n_obs * np * sizeof *c);
    if (!c) return NULL;
    for (size_t i = 0; i < h->n_obs; i++)
        for (size_t k = 0; k < np; k++) c[i * np + k] = mrpc_param_canonical(&st->space.params[k], h->obs[i].values[k]);
    return c;
}

int stage_config_taken(const double *configs, size_t n, size_t np, const double *cfg) {
    for (size_t i = 0; i < n; i++) {
        const double *row = configs + i * np;
        size_t k = 0;
        while (k < np && row[k] == cfg[k]) k++;
        if (k == np) return 1;
    }
    return 0;
}

/* bayes.c — stage 3: GP waves over the tuned parameters, warm-started from the study (see stages.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "stages.h"
#include "stages_internal.h"

mrpc_status mrpc_bayes_plan(const mrpc_study *st, const mrpc_history *h, const mrpc_sensitivity_summary *sens,
                            int wave, size_t q, mrpc_plan *plan, mrpc_bo_info *info, mrpc_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->stage = MRPC_STAGE_BAYES;
    plan->wave = wave;
    size_t np = st->space.n_params;
    size_t dims[MRPC_SPACE_MAX_PARAMS];
    size_t d = mrpc_stage_parameters(st, MRPC_STAGE_BAYES, sens, dims);
    int searched[MRPC_SPACE_MAX_PARAMS] = {0};
    for (size_t i = 0; i < d; i++) searched[dims[i]] = 1;
    double base[MRPC_SPACE_MAX_PARAMS];
    mrpc_space_baseline(&st->space, base);
    for (size_t k = 0; k < np; k++) base[k] = mrpc_param_canonical(&st->space.params[k], base[k]);

    double *canon = stage_canonical_configs(st, h);
    size_t n = h->n_obs;
    double *obs_values = malloc((n ? n : 1) * np * sizeof *obs_values);
    double *obs_y = malloc((n ? n : 1) * sizeof *obs_y);
    double *pend = malloc((n ? n : 1) * np * sizeof *pend);
    double *out = malloc((q ? q : 1) * np * sizeof *out);
    mrpc_status r = MRPC_OK;
    if ((n && !canon) || !obs_values || !obs_y || !pend || !out) {
        r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        goto done;
    }
    double worst = NAN;
    int has_worst = mrpc_history_worst(st, h, &worst);
    size_t n_obs = 0, n_pend = 0, n_imputed = 0;
    for (size_t i = 0; i < n; i++) {
        /* Only runs whose unsearched parameters sit at baseline share the stage's fixed settings. */
        int eligible = 1;
        for (size_t k = 0; k < np && eligible; k++)
            if (!searched[k] && canon[i * np + k] != base[k]) eligible = 0;
        if (!eligible) continue;
        const mrpc_obs *o = &h->obs[i];
        if (o->state == MRPC_OBS_RETRIED) continue; /* the same run's newer task is its observation */
        int waiting = o->state == MRPC_OBS_PENDING || o->state == MRPC_OBS_INTERRUPTED ||
                      o->state == MRPC_OBS_PAUSED; /* partial (asha.h): never imputed */
        if (o->state == MRPC_OBS_COMPLETED || (!waiting && has_worst)) {
            memcpy(obs_values + n_obs * np, o->values, np * sizeof *obs_values);
            obs_y[n_obs++] = mrpc_history_loss(st, o->state == MRPC_OBS_COMPLETED ? o->objective : worst);
            if (o->state != MRPC_OBS_COMPLETED) n_imputed++;
        } else {
            /* Running, or failed with nothing to impute yet: never suggested again, believed where modelled. */
            memcpy(pend + n_pend * np, o->values, np * sizeof *pend);
            n_pend++;
        }
    }
    mrpc_bo_problem prob = {.space = &st->space, .d = d, .dims = dims, .base = base, .n_obs = n_obs,
                            .obs_values = obs_values, .obs_y = obs_y, .n_pending = n_pend, .pending_values = pend,
                            .design_seed = (uint64_t)st->seed};
    mrpc_bo_options opt;
    mrpc_bo_options_defaults(&opt);
    opt.n_candidates = (size_t)st->bayes.candidates;
    opt.restarts = (size_t)st->bayes.restarts;
    opt.max_gp_points = (size_t)st->bayes.max_gp_points;
    if (opt.max_fit_points > opt.max_gp_points) opt.max_fit_points = opt.max_gp_points;
    opt.init_points = (size_t)st->bayes.init_points;
    /* acquisition: 0 ei, 1 augmented_ei, 2 kg, 3 auto (kg under noise, else augmented_ei) */
    opt.augmented = st->bayes.augmented != 0;
    opt.knowledge_gradient = st->bayes.augmented == 2 ? 1 : st->bayes.augmented == 3 ? MRPC_BO_KG_AUTO : 0;
    mrpc_rng rng;
    mrpc_rng_init(&rng, (uint64_t)st->seed, MRPC_RNG_OPTIMIZE, 1000u + (uint32_t)wave);
    mrpc_bo_info local_info;
    if (!info) info = &local_info;
    size_t got = 0;
    r = mrpc_bo_suggest(&prob, &opt, &rng, q, out, &got, info, err);
    if (r != MRPC_OK) goto done;
    for (size_t j = 0; j < got && r == MRPC_OK; j++) r = mrpc_plan_add(plan, out + j * np, np, st->base_seed, NULL, err);
    if (r != MRPC_OK) goto done;
    if (info->used_gp) {
        snprintf(plan->note, sizeof plan->note,
                 "GP over %zu parameter%s on %zu runs (%zu imputed, %zu pending), fitted on %zu: noise std %.3g, "
                 "signal std %.3g (objective units); %s",
                 d, d == 1 ? "" : "s", n_obs, n_imputed, n_pend, info->n_fit, sqrt(exp(info->hyper.log_sn2)) * info->y_std,
                 sqrt(exp(info->hyper.log_sf2)) * info->y_std, info->used_kg ? "knowledge gradient" : "expected improvement");
    } else {
        snprintf(plan->note, sizeof plan->note,
                 "space-filling design over %zu parameter%s (%zu runs with an objective, fewer than needed for a GP)", d,
                 d == 1 ? "" : "s", n_obs);
    }
    if (got < q) {
        size_t len = strlen(plan->note);
        snprintf(plan->note + len, sizeof plan->note - len, "; only %zu new configuration%s left", got, got == 1 ? "" : "s");
    }
done:
    free(canon); free(obs_values); free(obs_y); free(pend); free(out);
    if (r != MRPC_OK) mrpc_plan_free(plan);
    return r;
}

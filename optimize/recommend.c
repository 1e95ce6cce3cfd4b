/* recommend.c — the study's answer: best posterior mean among evaluated configurations (see recommend.h). */
#include "recommend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "rng.h"
#include "stages.h"
#include "stages_internal.h"
#include "strutil.h"

void mrpc_recommendation_free(mrpc_recommendation *rec) {
    if (!rec) return;
    for (size_t i = 0; i < rec->n; i++) free(rec->items[i].run_ids);
    free(rec->items);
    memset(rec, 0, sizeof *rec);
}

mrpc_stage_kind mrpc_recommend_default_stage(const mrpc_study *st) {
    if (st->has_stage[MRPC_STAGE_BAYES]) return MRPC_STAGE_BAYES;
    if (st->has_stage[MRPC_STAGE_GRID]) return MRPC_STAGE_GRID;
    return MRPC_STAGE_SENSITIVITY;
}

/* Canonical configurations are equal when every value is (as bo_recommend.c compares them). */
static int same_config(const double *a, const double *b, size_t np) {
    for (size_t j = 0; j < np; j++)
        if (a[j] != b[j]) return 0;
    return 1;
}

/* Substream of the recommendation's hyperparameter fit (the planner's waves use 1000 + wave). */
#define RECOMMEND_SUBSTREAM 0x7EC0u

mrpc_status mrpc_recommend(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage, size_t k,
                           mrpc_recommendation *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    out->stage = stage;
    out->noise_sd = NAN;
    out->signal_sd = NAN;
    size_t np = st->space.n_params, n = h->n_obs;
    mrpc_status r = MRPC_OK;

    /* The stage's parameters, as its planner chooses them. */
    mrpc_sensitivity_summary *sens = NULL;
    if (st->has_stage[MRPC_STAGE_SENSITIVITY] && mrpc_history_last_wave(h, MRPC_STAGE_SENSITIVITY)) {
        sens = malloc(sizeof *sens);
        if (!sens) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "recommend", "out of memory");
        if ((r = mrpc_sensitivity_summarize(st, h, sens, err)) != MRPC_OK) {
            free(sens);
            return r;
        }
    }
    out->d = mrpc_stage_parameters(st, stage, sens, out->dims);
    free(sens);
    if (n == 0 || k == 0) return MRPC_OK;

    int searched[MRPC_SPACE_MAX_PARAMS] = {0};
    for (size_t i = 0; i < out->d; i++) searched[out->dims[i]] = 1;
    double base[MRPC_SPACE_MAX_PARAMS];
    mrpc_space_baseline(&st->space, base);
    for (size_t j = 0; j < np; j++) base[j] = mrpc_param_canonical(&st->space.params[j], base[j]);

    double *canon = stage_canonical_configs(st, h);
    double *values = malloc(n * np * sizeof *values);
    double *y = malloc(n * sizeof *y);
    size_t *obs_index = malloc(n * sizeof *obs_index); /* model row -> history index */
    int *eligible = malloc(n * sizeof *eligible);
    mrpc_bo_pick *picks = malloc(k * sizeof *picks);
    if (!canon || !values || !y || !obs_index || !eligible || !picks) {
        r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "recommend", "out of memory");
        goto done;
    }
    double worst = NAN;
    int has_worst = mrpc_history_worst(st, h, &worst);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const mrpc_obs *o = &h->obs[i];
        int same_fixed = 1;
        for (size_t j = 0; j < np && same_fixed; j++)
            if (!searched[j] && canon[i * np + j] != base[j]) same_fixed = 0;
        if (!same_fixed || o->state == MRPC_OBS_RETRIED) continue;
        int waiting = o->state == MRPC_OBS_PENDING || o->state == MRPC_OBS_INTERRUPTED ||
                      o->state == MRPC_OBS_PAUSED; /* partial (asha.h): never imputed */
        int completed = o->state == MRPC_OBS_COMPLETED;
        if (!completed && (waiting || !has_worst)) continue;
        memcpy(values + m * np, canon + i * np, np * sizeof *values);
        y[m] = mrpc_history_loss(st, completed ? o->objective : worst);
        eligible[m] = completed;
        obs_index[m] = i;
        out->n_imputed += !completed;
        m++;
    }
    out->n_runs = m;
    if (m == 0) goto done;

    mrpc_bo_problem prob = {.space = &st->space, .d = out->d, .dims = out->dims, .base = base, .n_obs = m,
                            .obs_values = values, .obs_y = y, .design_seed = (uint64_t)st->seed};
    mrpc_bo_options opt;
    mrpc_bo_options_defaults(&opt);
    if (st->has_stage[MRPC_STAGE_BAYES]) { /* the planner's model settings */
        opt.restarts = (size_t)st->bayes.restarts;
        opt.max_gp_points = (size_t)st->bayes.max_gp_points;
        if (opt.max_fit_points > opt.max_gp_points) opt.max_fit_points = opt.max_gp_points;
    }
    mrpc_rng rng;
    mrpc_rng_init(&rng, (uint64_t)st->seed, MRPC_RNG_OPTIMIZE, RECOMMEND_SUBSTREAM);
    mrpc_bo_info info;
    size_t got = 0;
    if ((r = mrpc_bo_recommend(&prob, &opt, &rng, eligible, k, picks, &got, &info, err)) != MRPC_OK) goto done;
    out->used_gp = info.used_gp;
    if (info.used_gp) {
        out->noise_sd = sqrt(exp(info.hyper.log_sn2)) * info.y_std;
        out->signal_sd = sqrt(exp(info.hyper.log_sf2)) * info.y_std;
    }
    out->items = calloc(got ? got : 1, sizeof *out->items);
    if (!out->items) {
        r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "recommend", "out of memory");
        goto done;
    }
    /* Distinct completed configurations, for the report. */
    for (size_t a = 0; a < m; a++) {
        if (!eligible[a]) continue;
        size_t b = 0;
        while (b < a && !(eligible[b] && same_config(values + a * np, values + b * np, np))) b++;
        out->n_configs += b == a;
    }
    for (size_t e = 0; e < got; e++) {
        mrpc_recommended *it = &out->items[e];
        const double *cfg = values + picks[e].obs * np;
        memcpy(it->values, cfg, np * sizeof *cfg);
        it->mean = st->maximize ? -picks[e].mean : picks[e].mean;
        it->sd = picks[e].sd;
        it->run_ids = malloc(picks[e].n_obs * sizeof *it->run_ids);
        if (!it->run_ids) {
            out->n = e;
            r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, "recommend", "out of memory");
            goto done;
        }
        double sum = 0.0, best = NAN;
        for (size_t a = 0; a < m; a++) {
            if (!eligible[a] || !same_config(values + a * np, cfg, np)) continue;
            const mrpc_obs *o = &h->obs[obs_index[a]];
            mrpc_str_copy(it->run_ids[it->n_runs], sizeof it->run_ids[0], o->run_id);
            it->n_runs++;
            sum += o->objective;
            if (isnan(best) || (st->maximize ? o->objective > best : o->objective < best)) best = o->objective;
        }
        it->observed_mean = it->n_runs ? sum / (double)it->n_runs : NAN;
        it->observed_best = best;
        out->n = e + 1;
    }
done:
    if (r != MRPC_OK) mrpc_recommendation_free(out);
    free(canon); free(values); free(y); free(obs_index); free(eligible); free(picks);
    return r;
}

void mrpc_recommendation_print(const mrpc_study *st, const mrpc_recommendation *rec, FILE *out) {
    char a[40];
    if (rec->n == 0) {
        fprintf(out, "recommendation (%s): none yet (no completed run of the stage's configurations)\n",
                mrpc_stage_name(rec->stage));
        return;
    }
    if (rec->used_gp) {
        fprintf(out,
                "recommendation (%s): best posterior mean of a GP over %zu parameter%s on %zu runs (%zu imputed), "
                "%zu configurations; noise std %.3g, signal std %.3g\n",
                mrpc_stage_name(rec->stage), rec->d, rec->d == 1 ? "" : "s", rec->n_runs, rec->n_imputed,
                rec->n_configs, rec->noise_sd, rec->signal_sd);
    } else {
        fprintf(out, "recommendation (%s): best observed mean over %zu runs, %zu configurations (too few runs for a GP)\n",
                mrpc_stage_name(rec->stage), rec->n_runs, rec->n_configs);
    }
    for (size_t e = 0; e < rec->n; e++) {
        const mrpc_recommended *it = &rec->items[e];
        fprintf(out, "  %zu. %s %.4f", e + 1, st->metric, it->mean);
        if (!isnan(it->sd)) fprintf(out, " +- %.4f", it->sd);
        fprintf(out, " (observed mean %.4f over %zu run%s:", it->observed_mean, it->n_runs, it->n_runs == 1 ? "" : "s");
        for (size_t j = 0; j < it->n_runs; j++) {
            if (j == 8) {
                fprintf(out, " ... %zu more", it->n_runs - 8);
                break;
            }
            fprintf(out, " %s", it->run_ids[j]);
        }
        fprintf(out, ")");
        for (size_t j = 0; j < st->space.n_params; j++) {
            const mrpc_param *p = &st->space.params[j];
            if (!mrpc_param_is_searchable(p)) continue;
            mrpc_param_format(p, it->values[j], a, sizeof a);
            fprintf(out, " %s=%s", p->name, a);
        }
        fprintf(out, "\n");
    }
}

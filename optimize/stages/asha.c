/* asha.c — successive halving at wave granularity for a stage with fidelity (see asha.h). */
#include "asha.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fidelity.h"
#include "mf_model.h"

double mrpc_asha_value(const mrpc_asha_run *r, int64_t epoch, int64_t num_epochs) {
    if (epoch >= num_epochs) {
        if (r->state == MRPC_ASHA_COMPLETED) return r->final_loss;
    } else if (epoch >= 1 && (size_t)epoch <= r->n_epochs && r->loss && isfinite(r->loss[epoch - 1])) {
        return r->loss[epoch - 1]; /* also of a run that went on from there */
    }
    return r->state == MRPC_ASHA_FAILED ? INFINITY : NAN;
}

typedef struct member {
    size_t      run;
    double      value;
    const char *id;
} member;

static int cmp_member(const void *a, const void *b) {
    const member *x = a, *y = b;
    if (x->value < y->value) return -1;
    if (x->value > y->value) return 1;
    return strcmp(x->id, y->id);
}

mrpc_status mrpc_asha_promotions(const mrpc_asha_run *runs, size_t n_runs, const int64_t *rungs, size_t n_rungs,
                                 int64_t eta, mrpc_asha_promotion *out, size_t cap, size_t *n_out_p, mrpc_error *err) {
    *n_out_p = 0;
    if (n_rungs < 2 || eta < 2 || n_runs == 0) return MRPC_OK;
    member *m = malloc(n_runs * sizeof *m);
    if (!m) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    int64_t top = rungs[n_rungs - 1];
    size_t n_out = 0;
    for (size_t i = 0; i + 1 < n_rungs; i++) {
        /* The rung's results: runs planned to reach it whose value there is known. */
        size_t n = 0;
        for (size_t j = 0; j < n_runs; j++) {
            if (runs[j].target < rungs[i]) continue;
            double v = mrpc_asha_value(&runs[j], rungs[i], top);
            if (isnan(v)) continue;
            if (isfinite(v) && runs[j].has_score && isfinite(runs[j].score)) v = runs[j].score;
            m[n++] = (member){.run = j, .value = v, .id = runs[j].run_id};
        }
        size_t k = n / (size_t)eta;
        if (k == 0) continue;
        qsort(m, n, sizeof *m, cmp_member);
        /* Ranked by the model, a rung's order changes from wave to wave as the model learns:
         * then the rung sends at most floor(n / eta) runs on in all (the best not yet promoted
         * fill what earlier promotions left), so it never spends more epochs than halving. */
        size_t scored = 0, promoted = 0;
        for (size_t j = 0; j < n; j++) {
            scored += runs[m[j].run].has_score;
            promoted += runs[m[j].run].target > rungs[i];
        }
        size_t quota = promoted < k ? k - promoted : 0, limit = scored ? n : k;
        for (size_t j = 0; j < limit && n_out < cap && (!scored || quota > 0); j++) {
            const mrpc_asha_run *r = &runs[m[j].run];
            /* Paused right here and not promoted yet (a run aiming further was promoted). */
            if (r->state != MRPC_ASHA_PAUSED || r->target != rungs[i] || !isfinite(m[j].value)) continue;
            out[n_out++] = (mrpc_asha_promotion){.run = m[j].run, .from_rung = i, .to_rung = i + 1};
            quota--;
        }
    }
    free(m);
    *n_out_p = n_out;
    return MRPC_OK;
}

size_t mrpc_asha_obs_curve(const mrpc_study *st, const mrpc_obs *o, double *loss) {
    size_t n = o->epochs_done > 0 ? (size_t)o->epochs_done : 0;
    if (n > MRPC_OBS_MAX_EPOCHS) n = MRPC_OBS_MAX_EPOCHS;
    int f1 = strcmp(st->metric, "f1") == 0, best = strcmp(st->metric, "best_accuracy") == 0;
    double run_max = -INFINITY;
    for (size_t e = 0; e < n; e++) {
        double v = f1 ? o->epoch_f1[e] : o->epoch_accuracy[e];
        if (best && isfinite(v)) {
            if (v > run_max) run_max = v;
            v = run_max;
        }
        loss[e] = isfinite(v) ? mrpc_history_loss(st, v) : NAN;
    }
    return n;
}

size_t mrpc_asha_runs(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage, mrpc_asha_run *runs,
                      size_t *idx, double *loss_buf) {
    int64_t num_epochs = mrpc_study_fidelity(st, stage)->num_epochs;
    size_t n = 0;
    for (size_t i = 0; i < h->n_obs; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->stage != (int)stage || o->state == MRPC_OBS_RETRIED) continue;
        mrpc_asha_run *r = &runs[n];
        memset(r, 0, sizeof *r);
        r->run_id = o->run_id;
        r->target = o->pause_after_epoch > 0 && o->pause_after_epoch < num_epochs ? o->pause_after_epoch : num_epochs;
        double *loss = loss_buf + n * MRPC_OBS_MAX_EPOCHS;
        r->n_epochs = mrpc_asha_obs_curve(st, o, loss);
        r->loss = loss;
        r->final_loss = NAN;
        switch (o->state) {
        case MRPC_OBS_COMPLETED:
            r->state = MRPC_ASHA_COMPLETED;
            r->final_loss = mrpc_history_loss(st, o->objective);
            break;
        case MRPC_OBS_PAUSED:
            /* A record paused before the task's target: the promotion has not run yet. */
            r->state = o->paused_epoch >= r->target ? MRPC_ASHA_PAUSED : MRPC_ASHA_RUNNING;
            break;
        case MRPC_OBS_FAILED:
        case MRPC_OBS_DIVERGED:
        case MRPC_OBS_MISSING:
            r->state = MRPC_ASHA_FAILED;
            break;
        default:
            r->state = MRPC_ASHA_RUNNING;
            break;
        }
        idx[n++] = i;
    }
    return n;
}

mrpc_status mrpc_asha_score_runs(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage,
                                 const mrpc_sensitivity_summary *sens, mrpc_asha_run *runs, const size_t *idx,
                                 size_t n_runs, mrpc_error *err) {
    mrpc_mf_model m;
    mrpc_status r = mrpc_mf_fit(st, h, stage, sens, &m, err);
    if (r != MRPC_OK || !m.fitted) return r;
    for (size_t i = 0; i < n_runs; i++) {
        mrpc_mf_predict_final(&m, st, h->obs[idx[i]].values, &runs[i].score, NULL);
        runs[i].has_score = isfinite(runs[i].score);
    }
    mrpc_mf_free(&m);
    return MRPC_OK;
}

/*
 * The model's view for new suggestions: a copy of h where every run of `stage` that paused
 * below the top rung counts as COMPLETED with its predicted final objective (mf_model.h);
 * completed runs keep their observed final value, failed ones stay failed. Without a
 * fitted model: BOHB's rung view.
 */
static mrpc_status predicted_view(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage,
                                  const mrpc_sensitivity_summary *sens, size_t min_obs, mrpc_history *view,
                                  int64_t *rung_epoch, size_t *n_at_rung, mrpc_error *err) {
    mrpc_mf_model m;
    mrpc_status r = mrpc_mf_fit(st, h, stage, sens, &m, err);
    if (r != MRPC_OK) return r;
    if (!m.fitted) return mrpc_asha_rung_view(st, h, stage, min_obs, view, rung_epoch, n_at_rung, err);
    memset(view, 0, sizeof *view);
    *rung_epoch = 0; /* 0: the multi-fidelity model */
    *n_at_rung = m.n_runs;
    for (size_t j = 0; j < h->n_obs && r == MRPC_OK; j++) {
        mrpc_obs o = h->obs[j];
        if (o.stage == (int)stage && o.state == MRPC_OBS_PAUSED) {
            double loss;
            mrpc_mf_predict_final(&m, st, o.values, &loss, NULL);
            o.state = MRPC_OBS_COMPLETED;
            o.objective = st->maximize ? -loss : loss;
        }
        r = mrpc_history_add(view, &o, err);
    }
    if (r == MRPC_OK && h->n_waves) {
        view->waves = malloc(h->n_waves * sizeof *view->waves);
        if (!view->waves) r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        else {
            memcpy(view->waves, h->waves, h->n_waves * sizeof *view->waves);
            view->n_waves = h->n_waves;
        }
    }
    mrpc_mf_free(&m);
    if (r != MRPC_OK) mrpc_history_free(view);
    return r;
}

int64_t mrpc_asha_epochs_spent(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage) {
    int64_t num_epochs = mrpc_study_fidelity(st, stage)->num_epochs, sum = 0;
    for (size_t i = 0; i < h->n_obs; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->stage != (int)stage || o->state == MRPC_OBS_RETRIED) continue;
        int64_t e = o->epochs_done;
        if (o->state == MRPC_OBS_COMPLETED && num_epochs > e) e = num_epochs;
        if (o->state == MRPC_OBS_PAUSED && o->paused_epoch > e) e = o->paused_epoch;
        sum += e > 0 ? e : 0;
    }
    return sum;
}

/* The value of observation o at `epoch` in objective units (not loss); NaN when it has none. */
static double obs_value_at(const mrpc_study *st, const mrpc_obs *o, int64_t epoch, int64_t num_epochs) {
    if (o->state == MRPC_OBS_COMPLETED && epoch >= num_epochs) return o->objective;
    if (o->state != MRPC_OBS_COMPLETED && o->state != MRPC_OBS_PAUSED) return NAN;
    if (o->state == MRPC_OBS_PAUSED && o->paused_epoch < epoch) return NAN;
    double loss[MRPC_OBS_MAX_EPOCHS];
    size_t n = mrpc_asha_obs_curve(st, o, loss);
    if (epoch < 1 || (size_t)epoch > n || !isfinite(loss[epoch - 1])) return NAN;
    return st->maximize ? -loss[epoch - 1] : loss[epoch - 1];
}

mrpc_status mrpc_asha_rung_view(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage, size_t min_obs,
                                mrpc_history *view, int64_t *rung_epoch, size_t *n_at_rung, mrpc_error *err) {
    memset(view, 0, sizeof *view);
    const mrpc_fidelity *f = mrpc_study_fidelity(st, stage);
    int64_t rungs[MRPC_FIDELITY_MAX_RUNGS];
    size_t nr = mrpc_fidelity_rungs(f, rungs, MRPC_FIDELITY_MAX_RUNGS);
    /* The highest rung with enough observations (every run of the study with a value there). */
    size_t chosen = 0, chosen_n = 0;
    for (size_t i = nr; i-- > 0;) {
        size_t n = 0;
        for (size_t j = 0; j < h->n_obs; j++) n += !isnan(obs_value_at(st, &h->obs[j], rungs[i], f->num_epochs));
        if (i == 0 || n >= min_obs) {
            chosen = i;
            chosen_n = n;
            break;
        }
    }
    int64_t epoch = rungs[chosen];
    if (rung_epoch) *rung_epoch = epoch;
    if (n_at_rung) *n_at_rung = chosen_n;
    mrpc_status r = MRPC_OK;
    for (size_t j = 0; j < h->n_obs && r == MRPC_OK; j++) {
        mrpc_obs o = h->obs[j];
        double v = obs_value_at(st, &o, epoch, f->num_epochs);
        if (!isnan(v)) {
            o.state = MRPC_OBS_COMPLETED;
            o.objective = v;
        } else if (o.state == MRPC_OBS_COMPLETED || o.state == MRPC_OBS_PAUSED) {
            o.state = MRPC_OBS_PENDING; /* no value at this rung: not modelled, never suggested again */
            o.objective = NAN;
        }
        r = mrpc_history_add(view, &o, err);
    }
    if (r == MRPC_OK && h->n_waves) {
        view->waves = malloc(h->n_waves * sizeof *view->waves);
        if (!view->waves) r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        else {
            memcpy(view->waves, h->waves, h->n_waves * sizeof *view->waves);
            view->n_waves = h->n_waves;
        }
    }
    if (r != MRPC_OK) mrpc_history_free(view);
    return r;
}

/* Appends the tasks of `sub` (new configurations) to `plan`, pausing at `pause`. */
static mrpc_status append(mrpc_plan *plan, const mrpc_plan *sub, size_t np, int64_t pause, mrpc_error *err) {
    mrpc_status r = MRPC_OK;
    for (size_t i = 0; i < sub->n_tasks && r == MRPC_OK; i++) {
        r = mrpc_plan_add_retry(plan, sub->tasks[i].run_id, sub->tasks[i].values, np, sub->tasks[i].seed, err);
        if (r == MRPC_OK) plan->tasks[plan->n_tasks - 1].pause_after_epoch = pause;
    }
    return r;
}

mrpc_status mrpc_asha_plan(const mrpc_study *st, const mrpc_history *h, const mrpc_sensitivity_summary *sens,
                           mrpc_stage_kind stage, int wave, mrpc_plan *plan, mrpc_bo_info *info, mrpc_error *err) {
    return mrpc_asha_plan_model(st, h, sens, stage, wave, 0, plan, info, err);
}

mrpc_status mrpc_asha_plan_model(const mrpc_study *st, const mrpc_history *h, const mrpc_sensitivity_summary *sens,
                                 mrpc_stage_kind stage, int wave, int model, mrpc_plan *plan, mrpc_bo_info *info,
                                 mrpc_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->stage = stage;
    plan->wave = wave;
    const mrpc_fidelity *f = mrpc_study_fidelity(st, stage);
    int64_t rungs[MRPC_FIDELITY_MAX_RUNGS];
    size_t nr = mrpc_fidelity_rungs(f, rungs, MRPC_FIDELITY_MAX_RUNGS);
    size_t np = st->space.n_params, n_obs = h->n_obs ? h->n_obs : 1;
    mrpc_asha_run *runs = malloc(n_obs * sizeof *runs);
    size_t *idx = malloc(n_obs * sizeof *idx);
    double *loss = malloc(n_obs * MRPC_OBS_MAX_EPOCHS * sizeof *loss);
    mrpc_asha_promotion *promo = malloc(n_obs * sizeof *promo);
    mrpc_plan sub;
    memset(&sub, 0, sizeof sub);
    mrpc_history view;
    memset(&view, 0, sizeof view);
    mrpc_status r = MRPC_OK;
    if (!runs || !idx || !loss || !promo) {
        r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        goto done;
    }
    size_t n_runs = mrpc_asha_runs(st, h, stage, runs, idx, loss);
    size_t n_promo = 0;
    if ((model & 1) && (r = mrpc_asha_score_runs(st, h, stage, sens, runs, idx, n_runs, err)) != MRPC_OK) goto done;
    if ((r = mrpc_asha_promotions(runs, n_runs, rungs, nr, f->eta, promo, n_obs, &n_promo, err)) != MRPC_OK) goto done;
    size_t limit = (size_t)st->slurm.max_array_size;
    if (n_promo > limit) n_promo = limit;
    char what[128] = "";
    size_t wl = 0;
    for (size_t i = 0; i < n_promo && r == MRPC_OK; i++) {
        const mrpc_obs *o = &h->obs[idx[promo[i].run]];
        r = mrpc_plan_add_retry(plan, o->run_id, o->values, np, o->seed, err);
        if (r != MRPC_OK) break;
        plan->tasks[plan->n_tasks - 1].pause_after_epoch = mrpc_fidelity_pause_for(f, rungs[promo[i].to_rung]);
        if (i == 0 || promo[i].from_rung != promo[i - 1].from_rung) {
            size_t cnt = 0;
            for (size_t j = i; j < n_promo && promo[j].from_rung == promo[i].from_rung; j++) cnt++;
            int w = snprintf(what + wl, sizeof what - wl, "%s%zu from epoch %lld to %lld", wl ? ", " : "", cnt,
                             (long long)rungs[promo[i].from_rung], (long long)rungs[promo[i].to_rung]);
            if (w > 0 && (size_t)w < sizeof what - wl) wl += (size_t)w;
        }
    }
    if (r != MRPC_OK) goto done;
    /* New configurations, all pausing at the first rung. */
    size_t room = limit - plan->n_tasks;
    int64_t rung_epoch = rungs[0];
    size_t n_at_rung = 0;
    if (room > 0 && stage == MRPC_STAGE_GRID) {
        if ((r = mrpc_grid_plan(st, h, sens, wave, &sub, err)) != MRPC_OK) goto done;
        if (sub.n_tasks > room) sub.n_tasks = room;
    } else if (room > 0 && stage == MRPC_STAGE_BAYES) {
        size_t started = mrpc_history_stage_tasks(h, MRPC_STAGE_BAYES, NULL);
        size_t q = (size_t)st->bayes.wave_size, budget = (size_t)st->bayes.budget;
        q = started >= budget ? 0 : (q < budget - started ? q : budget - started);
        if (q > room) q = room;
        if (q > 0) {
            size_t dims[MRPC_SPACE_MAX_PARAMS];
            size_t d = mrpc_stage_parameters(st, MRPC_STAGE_BAYES, sens, dims);
            r = (model & 2) ? predicted_view(st, h, stage, sens, d + 2, &view, &rung_epoch, &n_at_rung, err)
                      : mrpc_asha_rung_view(st, h, stage, d + 2, &view, &rung_epoch, &n_at_rung, err);
            if (r != MRPC_OK) goto done;
            if ((r = mrpc_bayes_plan(st, &view, sens, wave, q, &sub, info, err)) != MRPC_OK) goto done;
        }
    }
    if ((r = append(plan, &sub, np, mrpc_fidelity_pause_for(f, rungs[0]), err)) != MRPC_OK) goto done;
    int n = snprintf(plan->note, sizeof plan->note, "successive halving (eta %lld, rungs", (long long)f->eta);
    for (size_t i = 0; i < nr && n > 0 && (size_t)n < sizeof plan->note; i++)
        n += snprintf(plan->note + n, sizeof plan->note - (size_t)n, "%s%lld", i ? ", " : " ", (long long)rungs[i]);
    if (n > 0 && (size_t)n < sizeof plan->note) {
        n += snprintf(plan->note + n, sizeof plan->note - (size_t)n, " epochs): %zu promoted%s%s%s, %zu new", n_promo,
                      wl ? " (" : "", what, wl ? ")" : "", sub.n_tasks);
    }
    if (sub.n_tasks && stage == MRPC_STAGE_BAYES && rung_epoch == 0 && n > 0 && (size_t)n < sizeof plan->note) {
        n += snprintf(plan->note + n, sizeof plan->note - (size_t)n,
                      " from the multi-fidelity model of %zu runs (predicted final values)", n_at_rung);
    } else if (sub.n_tasks && stage == MRPC_STAGE_BAYES && n > 0 && (size_t)n < sizeof plan->note) {
        n += snprintf(plan->note + n, sizeof plan->note - (size_t)n, " from a model of the rung at epoch %lld (%zu runs there)",
                      (long long)rung_epoch, n_at_rung);
    }
    if (sub.n_tasks && sub.note[0] && n > 0 && (size_t)n < sizeof plan->note)
        snprintf(plan->note + n, sizeof plan->note - (size_t)n, "; %.200s", sub.note);
done:
    mrpc_plan_free(&sub);
    mrpc_history_free(&view);
    free(runs);
    free(idx);
    free(loss);
    free(promo);
    if (r != MRPC_OK) mrpc_plan_free(plan);
    return r;
}

void mrpc_asha_status(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage, FILE *out) {
    const mrpc_fidelity *f = mrpc_study_fidelity(st, stage);
    if (!f->enabled) return;
    int64_t rungs[MRPC_FIDELITY_MAX_RUNGS];
    size_t nr = mrpc_fidelity_rungs(f, rungs, MRPC_FIDELITY_MAX_RUNGS);
    size_t n_obs = h->n_obs ? h->n_obs : 1;
    mrpc_asha_run *runs = malloc(n_obs * sizeof *runs);
    size_t *idx = malloc(n_obs * sizeof *idx);
    double *loss = malloc(n_obs * MRPC_OBS_MAX_EPOCHS * sizeof *loss);
    mrpc_asha_promotion *promo = malloc(n_obs * sizeof *promo);
    if (!runs || !idx || !loss || !promo) {
        fprintf(out, "  successive halving: out of memory\n");
        goto done;
    }
    size_t n = mrpc_asha_runs(st, h, stage, runs, idx, loss);
    size_t due = 0;
    mrpc_error err = {0};
    if (mrpc_asha_promotions(runs, n, rungs, nr, f->eta, promo, n_obs, &due, &err) != MRPC_OK) {
        fprintf(out, "  successive halving: out of memory\n");
        goto done;
    }
    fprintf(out, "  successive halving (eta %lld):", (long long)f->eta);
    for (size_t i = 0; i < nr; i++) {
        size_t reached = 0, stay = 0;
        for (size_t j = 0; j < n; j++) {
            if (runs[j].target < rungs[i]) continue;
            if (!isnan(mrpc_asha_value(&runs[j], rungs[i], f->num_epochs)) || runs[j].state == MRPC_ASHA_RUNNING) reached++;
            if (runs[j].state == MRPC_ASHA_PAUSED && runs[j].target == rungs[i]) stay++;
        }
        fprintf(out, "%s epoch %lld: %zu run%s", i ? ";" : "", (long long)rungs[i], reached, reached == 1 ? "" : "s");
        if (i + 1 < nr) fprintf(out, " (%zu paused there)", stay);
    }
    int64_t spent = mrpc_asha_epochs_spent(st, h, stage);
    fprintf(out, "; %zu promotion%s due; %lld epochs trained, %lld for the same %zu configurations in full\n", due,
            due == 1 ? "" : "s", (long long)spent, (long long)(f->num_epochs * (int64_t)n), n);
done:
    free(runs);
    free(idx);
    free(loss);
    free(promo);
}

/* mf_model.c — the multi-fidelity GP of a stage with successive halving (see mf_model.h). */
#include "mf_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "asha.h"
#include "fidelity.h"
#include "rng.h"

static double t_of(int64_t epoch, int64_t num_epochs) {
    if (epoch >= num_epochs || num_epochs < 2) return 1.0;
    return log((double)epoch) / log((double)num_epochs);
}

static void encode(const mrpc_mf_model *m, const mrpc_study *st, const double *values, double *x) {
    for (size_t k = 0; k < m->d; k++) x[k] = mrpc_param_encode(&st->space.params[m->dims[k]], values[m->dims[k]]);
}

mrpc_status mrpc_mf_fit(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage,
                        const mrpc_sensitivity_summary *sens, mrpc_mf_model *m, mrpc_error *err) {
    memset(m, 0, sizeof *m);
    const mrpc_fidelity *f = mrpc_study_fidelity(st, stage);
    int64_t rungs[MRPC_FIDELITY_MAX_RUNGS];
    size_t nr = mrpc_fidelity_rungs(f, rungs, MRPC_FIDELITY_MAX_RUNGS);
    m->num_epochs = f->num_epochs;
    m->d = mrpc_stage_parameters(st, stage, sens, m->dims);
    size_t D = m->d + 1, cap = (h->n_obs ? h->n_obs : 1) * nr;
    double *X = malloc(cap * D * sizeof *X), *y = malloc(cap * sizeof *y), *ys = malloc(cap * sizeof *ys);
    mrpc_status r = MRPC_OK;
    if (!X || !y || !ys) {
        r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        goto done;
    }
    size_t n = 0;
    double loss[MRPC_OBS_MAX_EPOCHS];
    for (size_t i = 0; i < h->n_obs; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->stage != (int)stage || o->state == MRPC_OBS_RETRIED) continue;
        size_t ne = mrpc_asha_obs_curve(st, o, loss), before = n;
        for (size_t j = 0; j < nr; j++) {
            double v = NAN;
            if (rungs[j] >= f->num_epochs) {
                if (o->state == MRPC_OBS_COMPLETED) v = mrpc_history_loss(st, o->objective);
            } else if (rungs[j] >= 1 && (size_t)rungs[j] <= ne) {
                v = loss[rungs[j] - 1];
            }
            if (!isfinite(v)) continue;
            encode(m, st, o->values, X + n * D);
            X[n * D + m->d] = t_of(rungs[j], f->num_epochs);
            y[n++] = v;
        }
        m->n_runs += n > before;
    }
    m->n_points = n;
    if (n < m->d + 3 || m->d == 0) goto done;
    /* Each rung's mean learning gain over the first rung, from the runs that reached both
     * (the same runs at both fidelities, so promoted runs being the better ones does not bias
     * it), is removed from that rung's values: the GP then models how a configuration's
     * standing changes with training, not the shared rise of every curve. */
    for (size_t j = 1; j < nr && j < MRPC_FIDELITY_MAX_RUNGS; j++) {
        double t0 = t_of(rungs[0], f->num_epochs), tj = t_of(rungs[j], f->num_epochs), sum = 0;
        size_t cnt = 0;
        for (size_t a = 0; a < n; a++) {
            if (X[a * D + m->d] != tj) continue;
            for (size_t b = 0; b < n; b++) {
                if (X[b * D + m->d] != t0 || memcmp(X + a * D, X + b * D, m->d * sizeof *X) != 0) continue;
                sum += y[a] - y[b];
                cnt++;
                break;
            }
        }
        m->offset[j] = cnt ? sum / (double)cnt : 0.0;
        m->t[j] = tj;
        for (size_t a = 0; a < n; a++)
            if (X[a * D + m->d] == tj) y[a] -= m->offset[j];
    }
    m->n_rungs = nr;
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++) mean += y[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) var += (y[i] - mean) * (y[i] - mean);
    double sd = sqrt(var / (double)n);
    if (!(sd > 0)) sd = 1;
    for (size_t i = 0; i < n; i++) ys[i] = (y[i] - mean) / sd;
    mrpc_rng rng;
    mrpc_rng_init(&rng, (uint64_t)st->seed, MRPC_RNG_OPTIMIZE, 7000u + (uint32_t)n);
    mrpc_gp_fit_options fo;
    mrpc_gp_fit_map_defaults(&fo, &rng);
    fo.restarts = 2;
    mrpc_gp_hyper hy;
    if ((r = mrpc_gp_fit(X, ys, n, D, &fo, &hy, NULL, err)) != MRPC_OK) goto done;
    if ((r = mrpc_gp_condition(&m->gp, X, y, n, D, &hy, 1, 0, err)) != MRPC_OK) goto done;
    m->fitted = 1;
done:
    free(X);
    free(y);
    free(ys);
    if (r != MRPC_OK) mrpc_mf_free(m);
    return r;
}

void mrpc_mf_predict_final(const mrpc_mf_model *m, const mrpc_study *st, const double *values, double *loss_mean,
                           double *loss_sd) {
    double x[MRPC_GP_MAX_DIM], mu = NAN, var = NAN;
    if (m->fitted) {
        encode(m, st, values, x);
        x[m->d] = 1.0;
        mrpc_gp_predict(&m->gp, x, &mu, &var);
        mu = mu * m->gp.y_std + m->gp.y_mean + (m->n_rungs ? m->offset[m->n_rungs - 1] : 0.0);
        var *= m->gp.y_std * m->gp.y_std;
    }
    if (loss_mean) *loss_mean = mu;
    if (loss_sd) *loss_sd = sqrt(var);
}

long mrpc_mf_recommend(const mrpc_mf_model *m, const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage,
                       double *mean) {
    long best = -1;
    double best_loss = INFINITY;
    for (size_t i = 0; i < h->n_obs; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->stage != (int)stage || o->state != MRPC_OBS_COMPLETED) continue;
        double l = mrpc_history_loss(st, o->objective);
        if (m->fitted) mrpc_mf_predict_final(m, st, o->values, &l, NULL);
        if (l < best_loss) {
            best_loss = l;
            best = (long)i;
        }
    }
    if (mean) *mean = best < 0 ? NAN : st->maximize ? -best_loss : best_loss;
    return best;
}

void mrpc_mf_free(mrpc_mf_model *m) {
    if (!m) return;
    mrpc_gp_free(&m->gp);
    m->fitted = 0;
}

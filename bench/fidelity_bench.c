/*
 * fidelity_bench.c — successive halving (optimize/stages/asha.h) against plain waves on a
 * learning-curve simulator, driven through mrpc-optimize's real planning code
 * (mrpc_asha_plan / mrpc_bayes_plan on in-memory histories; no HDF5, no files but the
 * study and base config it parses).
 *
 * The simulator (the same in bench/fidelity_optuna.py): three parameters, learning_rate
 * log-uniform 1e-5..1e-3, weight_decay 0..0.3, warmup_steps 0..300, u = their unit
 * positions. The noise-free accuracy after the full E epochs is
 *     a(u) = 0.865 - 0.30 (u0 - 0.45)^2 - 0.06 (u1 - 0.35)^2 - 0.08 (u2 - 0.3)^2
 * (maximum 0.865 at u = (0.45, 0.35, 0.3)); after epoch e it is
 *     acc(e) = 0.684 + (a - 0.684) (1 - exp(-K e / E)) / (1 - exp(-K)),  K = (1 + c u0^2) / (1 + u2)
 * so high learning rates learn fast and look best early but end worse: curves cross (c = 8,
 * --crossing, the default: after a third of the epochs u0 = 0.8 looks better than the optimum;
 * c = 2: they cross less, the ranking after epoch 1 is mostly right). A
 * run with u0 > 0.8 diverges with probability 4 (u0 - 0.8) at a uniform epoch (its record
 * says diverged; the curve stops before). Observed: acc(e) + a per-run seed offset
 * (sd 0.010, --noise; MRPC's seed noise is ~0.012) + evaluation noise (0.4 of it, per epoch).
 *
 * The answer of a method is its completed run with the best observed final accuracy;
 * regret = 0.865 - a(u) of that run (noise-free). Epochs = all epochs trained.
 *
 * Output, one line per run:
 *     run <method> <E> <budget> <seed> <epochs> <configs> <regret> <crossing> <noise> <regret of the recommendation>
 *         <regret of the joint model's recommendation>
 * (the recommendation: the configuration mrpc_recommend gives, the best posterior mean among
 * completed runs; the last: mrpc_mf_recommend, the completed run with the best predicted final
 * value of the multi-fidelity model, mf_model.h; nan for plain waves).
 * With FIDELITY_DIAG set, a line per successive-halving study: Kendall's tau between the true
 * final value of its runs and (a) their observed epoch-1 value, (b) the joint model's predicted
 * final value at the end of the study.
 * Usage: fidelity_bench [--seeds N] [--epochs E] [--crossing C] [--noise SD] [--eta N] [--plain LIST]
 *        [--asha LIST] [--dir D]
 *   --plain 10,20: plain waves of 4 with these budgets (configurations);
 *   --asha 18,36:  bayes with fidelity {min_iter 1, eta 3 (--eta)}, waves of 4 new configurations;
 *   --mf 18,36:    the same with the multi-fidelity model (mf_model.h; mrpc_asha_plan_model bits 3;
 *                  --mf-bits 1: only its promotions, 2: only its suggestions).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asha.h"
#include "fidelity.h"
#include "mf_model.h"
#include "fsutil.h"
#include "recommend.h"
#include "stages.h"
#include "study.h"

#define MAX_RUNS 4096
#define A_STAR 0.865

typedef struct sim_run {
    char   run_id[129];
    double u[3];
    int    n_epochs;                    /* epochs with a value (diverged: before the divergence) */
    int    diverged;
    double acc[MRPC_OBS_MAX_EPOCHS];    /* observed */
} sim_run;

typedef struct sim {
    uint64_t state;
    int      E;
    double   crossing;
    double   noise;                     /* sd of the per-run seed offset; evaluation noise 0.4 of it */
    size_t   n;
    sim_run *runs;
} sim;

static uint64_t next_u64(sim *s) {
    uint64_t z = (s->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double uniform01(sim *s) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }
static double normal(sim *s) {
    double a = uniform01(s), b = uniform01(s);
    return sqrt(-2.0 * log(a > 0 ? a : 1e-300)) * cos(2.0 * 3.14159265358979323846 * b);
}

static void unit_of(const double *v, double *u) {
    u[0] = log(v[0] / 1e-5) / log(100.0);
    u[1] = v[1] / 0.3;
    u[2] = v[2] / 300.0;
}
static double final_true(const double *u) {
    return A_STAR - 0.30 * (u[0] - 0.45) * (u[0] - 0.45) - 0.06 * (u[1] - 0.35) * (u[1] - 0.35) -
           0.08 * (u[2] - 0.3) * (u[2] - 0.3);
}
static double acc_true(const double *u, int e, int E, double c) {
    double a = final_true(u), K = (1.0 + c * u[0] * u[0]) / (1.0 + u[2]);
    return 0.684 + (a - 0.684) * (1.0 - exp(-K * e / E)) / (1.0 - exp(-K));
}

/* The run `run_id` (created with its whole noisy curve the first time it is seen). */
static sim_run *sim_get(sim *s, const char *run_id, const double *values) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->runs[i].run_id, run_id) == 0) return &s->runs[i];
    if (s->n == MAX_RUNS) return NULL;
    sim_run *r = &s->runs[s->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->run_id, sizeof r->run_id, "%s", run_id);
    unit_of(values, r->u);
    double offset = s->noise * normal(s);
    int div_epoch = s->E + 1;
    if (r->u[0] > 0.8 && uniform01(s) < 4.0 * (r->u[0] - 0.8)) div_epoch = 1 + (int)(uniform01(s) * s->E);
    r->diverged = div_epoch <= s->E;
    r->n_epochs = r->diverged ? div_epoch - 1 : s->E;
    for (int e = 1; e <= s->E; e++) r->acc[e - 1] = acc_true(r->u, e, s->E, s->crossing) + offset + 0.4 * s->noise * normal(s);
    return r;
}

/* Runs the tasks of a plan on the simulator and records them in the history. */
static int run_plan(sim *s, const mrpc_study *st, mrpc_history *h, const mrpc_plan *p, long long *epochs) {
    mrpc_error err = {0};
    for (size_t i = 0; i < p->n_tasks; i++) {
        const mrpc_plan_task *t = &p->tasks[i];
        mrpc_obs *prev = NULL;
        for (size_t j = h->n_obs; j-- > 0;)
            if (strcmp(h->obs[j].run_id, t->run_id) == 0) { prev = &h->obs[j]; break; }
        sim_run *r = sim_get(s, t->run_id, t->values);
        if (!r) return -1;
        int64_t done_before = prev ? prev->epochs_done : 0;
        if (prev) prev->state = MRPC_OBS_RETRIED;
        int target = t->pause_after_epoch > 0 ? (int)t->pause_after_epoch : s->E;
        mrpc_obs o;
        mrpc_obs_init(&o);
        snprintf(o.run_id, sizeof o.run_id, "%s", t->run_id);
        o.stage = p->stage;
        o.wave = p->wave;
        o.task = (int64_t)i;
        memcpy(o.values, t->values, sizeof o.values);
        o.seed = t->seed;
        o.attempts = 1;
        o.pause_after_epoch = t->pause_after_epoch;
        int reached = target < r->n_epochs ? target : r->n_epochs;
        o.epochs_done = reached;
        for (int e = 0; e < reached; e++) o.epoch_accuracy[e] = r->acc[e];
        if (r->diverged && r->n_epochs < target) {
            o.state = MRPC_OBS_DIVERGED;
            *epochs += r->n_epochs + 1 - done_before; /* the epoch it diverged in was spent too */
        } else if (target >= s->E) {
            o.state = MRPC_OBS_COMPLETED;
            o.objective = r->acc[s->E - 1];
            *epochs += s->E - done_before;
        } else {
            o.state = MRPC_OBS_PAUSED;
            o.paused_epoch = target;
            *epochs += target - done_before;
        }
        if (mrpc_history_add(h, &o, &err) != MRPC_OK) return -1;
    }
    (void)st;
    return 0;
}

static int load_study(const char *dir, int E, int fidelity, int eta, int budget, long long seed, mrpc_study *st) {
    char path[1200], text[2048], base[64];
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    int n = snprintf(base, sizeof base, "num_epochs: %d\n", E);
    mrpc_error err = {0};
    if (mrpc_file_write_atomic(path, base, (size_t)n, &err) != MRPC_OK) return -1;
    snprintf(text, sizeof text,
             "name: sim\nseed: %lld\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
             "parameters:\n"
             "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-3, baseline: 1.0e-4}\n"
             "  weight_decay: {min: 0.0, max: 0.3, baseline: 0.0}\n"
             "  warmup_steps: {min: 0, max: 300, baseline: 0}\n"
             "  num_epochs: {value: %d}\n"
             "stages:\n  bayes: {budget: %d, wave_size: 4%s%.0d%s}\n",
             seed, E, budget, fidelity ? ", fidelity: {min_iter: 1, eta: " : "", fidelity ? eta : 0, fidelity ? "}" : "");
    snprintf(path, sizeof path, "%s/study.yaml", dir);
    if (mrpc_study_parse(path, text, strlen(text), st, &err) != MRPC_OK) {
        char msg[1500];
        mrpc_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "fidelity_bench: %s\n", msg);
        return -1;
    }
    return 0;
}

/* One study to its end; prints its line. */
/* fidelity: 0 plain waves, 1 successive halving with BOHB's rung view (model 0), 2 with the multi-fidelity model. */
static int run_method(const char *dir, int E, double crossing, double noise, int fidelity, int mf_bits, int eta,
                      int budget, long long seed) {
    static mrpc_study st;
    if (load_study(dir, E, fidelity, eta, budget, seed, &st) != 0) return -1;
    sim s = {.state = (uint64_t)seed * 7919u + (uint64_t)budget * 31u + (uint64_t)(fidelity != 0), .E = E, .crossing = crossing, .noise = noise};
    s.runs = calloc(MAX_RUNS, sizeof *s.runs);
    if (!s.runs) return -1;
    mrpc_history h;
    memset(&h, 0, sizeof h);
    long long epochs = 0;
    int rc = 0;
    for (int wave = 0; wave < 10000; wave++) {
        mrpc_plan p;
        mrpc_error err = {0};
        mrpc_status r;
        if (fidelity) {
            r = mrpc_asha_plan_model(&st, &h, NULL, MRPC_STAGE_BAYES, wave, fidelity == 2 ? mf_bits : 0, &p, NULL, &err);
        } else {
            size_t spent = mrpc_history_stage_tasks(&h, MRPC_STAGE_BAYES, NULL);
            size_t q = spent >= (size_t)budget ? 0 : (size_t)budget - spent;
            if (q > 4) q = 4;
            if (q == 0) break;
            r = mrpc_bayes_plan(&st, &h, NULL, wave, q, &p, NULL, &err);
        }
        if (r != MRPC_OK) {
            char msg[1500];
            mrpc_error_format(&err, msg, sizeof msg);
            fprintf(stderr, "fidelity_bench: %s\n", msg);
            rc = -1;
            break;
        }
        if (p.n_tasks == 0) { mrpc_plan_free(&p); break; }
        rc = run_plan(&s, &st, &h, &p, &epochs);
        mrpc_plan_free(&p);
        if (rc != 0) break;
    }
    /* The answer: the completed run with the best observed final accuracy. */
    double best = -INFINITY, regret = NAN;
    for (size_t i = 0; i < h.n_obs; i++) {
        const mrpc_obs *o = &h.obs[i];
        if (o->state != MRPC_OBS_COMPLETED || !(o->objective > best)) continue;
        best = o->objective;
        double u[3];
        unit_of(o->values, u);
        regret = A_STAR - final_true(u);
    }
    /* The study's answer as mrpc-optimize gives it: the best posterior mean (recommend.h). */
    double rec_regret = NAN;
    mrpc_recommendation rec;
    mrpc_error err = {0};
    if (rc == 0 && mrpc_recommend(&st, &h, MRPC_STAGE_BAYES, 1, &rec, &err) == MRPC_OK && rec.n > 0) {
        double u[3];
        unit_of(rec.items[0].values, u);
        rec_regret = A_STAR - final_true(u);
    }
    mrpc_recommendation_free(&rec);
    /* The multi-fidelity model's answer (mf_model.h): the completed run with the best predicted final value. */
    double mf_regret = NAN;
    if (rc == 0 && fidelity) {
        mrpc_mf_model m;
        if (mrpc_mf_fit(&st, &h, MRPC_STAGE_BAYES, NULL, &m, &err) == MRPC_OK) {
            long i = mrpc_mf_recommend(&m, &st, &h, MRPC_STAGE_BAYES, NULL);
            if (i >= 0) {
                double u[3];
                unit_of(h.obs[i].values, u);
                mf_regret = A_STAR - final_true(u);
            }
            mrpc_mf_free(&m);
        }
    }
    /* FIDELITY_DIAG: how well the model's predicted final and the raw epoch-1 value rank the runs by their true final value. */
    if (rc == 0 && fidelity && getenv("FIDELITY_DIAG")) {
        mrpc_mf_model m;
        if (mrpc_mf_fit(&st, &h, MRPC_STAGE_BAYES, NULL, &m, &err) == MRPC_OK && m.fitted) {
            double tru[MAX_RUNS], raw[MAX_RUNS], pred[MAX_RUNS];
            size_t k = 0;
            for (size_t i = 0; i < h.n_obs && k < MAX_RUNS; i++) {
                const mrpc_obs *o = &h.obs[i];
                if (o->state == MRPC_OBS_RETRIED || !(o->epochs_done >= 1) || !isfinite(o->epoch_accuracy[0])) continue;
                double u[3], l;
                unit_of(o->values, u);
                mrpc_mf_predict_final(&m, &st, o->values, &l, NULL);
                tru[k] = final_true(u);
                raw[k] = o->epoch_accuracy[0];
                pred[k++] = -l;
            }
            double c_raw = 0, c_pred = 0, pairs = 0;
            for (size_t i = 0; i < k; i++)
                for (size_t j = i + 1; j < k; j++) {
                    double t = tru[i] - tru[j];
                    c_raw += (t * (raw[i] - raw[j]) > 0) - (t * (raw[i] - raw[j]) < 0);
                    c_pred += (t * (pred[i] - pred[j]) > 0) - (t * (pred[i] - pred[j]) < 0);
                    pairs++;
                }
            printf("diag %d %g %g %d kendall_raw %.3f kendall_model %.3f runs %zu\n", E, crossing, noise, budget,
                   c_raw / pairs, c_pred / pairs, k);
            mrpc_mf_free(&m);
        }
    }
    char name[32];
    snprintf(name, sizeof name, "%s%s", !fidelity ? "plain" : fidelity == 1 ? "asha" : mf_bits == 3 ? "asha-mf" : mf_bits == 1 ? "asha-mf-promote" : "asha-mf-suggest",
             fidelity && eta != 3 ? (eta == 2 ? "-eta2" : "-eta") : "");
    if (rc == 0)
        printf("run %s %d %d %lld %lld %zu %.6f %g %g %.6f %.6f\n", name, E, budget, seed, epochs, s.n, regret, crossing,
               noise, rec_regret, mf_regret);
    fflush(stdout);
    mrpc_history_free(&h);
    free(s.runs);
    return rc;
}

static int parse_list(const char *s, int *out, int cap) {
    int n = 0;
    while (s && *s && n < cap) {
        out[n++] = atoi(s);
        s = strchr(s, ',');
        if (s) s++;
    }
    return n;
}

int main(int argc, char **argv) {
    double crossing = 8.0, noise = 0.010;
    int eta = 3;
    int mf_bits = 3; /* the model in promotions (1) and in suggestions (2) */
    int seeds = 20, E = 3, plain[16], asha[16], mf[16], n_plain = 0, n_asha = 0, n_mf = 0;
    const char *dir = "/tmp/fidelity_bench";
    n_plain = parse_list("10,20", plain, 16);
    n_asha = parse_list("18,36", asha, 16);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc) seeds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) E = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--crossing") && i + 1 < argc) crossing = atof(argv[++i]);
        else if (!strcmp(argv[i], "--eta") && i + 1 < argc) eta = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--noise") && i + 1 < argc) noise = atof(argv[++i]);
        else if (!strcmp(argv[i], "--plain") && i + 1 < argc) n_plain = parse_list(argv[++i], plain, 16);
        else if (!strcmp(argv[i], "--asha") && i + 1 < argc) n_asha = parse_list(argv[++i], asha, 16);
        else if (!strcmp(argv[i], "--mf") && i + 1 < argc) n_mf = parse_list(argv[++i], mf, 16);
        else if (!strcmp(argv[i], "--mf-bits") && i + 1 < argc) mf_bits = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else {
            fprintf(stderr, "usage: fidelity_bench [--seeds N] [--epochs E] [--crossing C] [--noise SD] [--eta N] "
                            "[--plain LIST] [--asha LIST] [--mf LIST] [--dir D]\n");
            return 2;
        }
    }
    if (E < 2 || E > MRPC_OBS_MAX_EPOCHS || seeds < 1) return 2;
    mrpc_error err = {0};
    if (mrpc_mkdir_p(dir, &err) != MRPC_OK) return 1;
    for (int seed = 1; seed <= seeds; seed++) {
        for (int i = 0; i < n_plain; i++)
            if (run_method(dir, E, crossing, noise, 0, 0, eta, plain[i], seed) != 0) return 1;
        for (int i = 0; i < n_asha; i++)
            if (run_method(dir, E, crossing, noise, 1, 0, eta, asha[i], seed) != 0) return 1;
        for (int i = 0; i < n_mf; i++)
            if (run_method(dir, E, crossing, noise, 2, mf_bits, eta, mf[i], seed) != 0) return 1;
    }
    return 0;
}

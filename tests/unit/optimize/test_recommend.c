/*
 * test_recommend.c — the noise-robust parts of the Bayesian stage and the study's
 * answer: the knowledge-gradient envelope against Monte Carlo; the GP's noise estimate
 * on repeated configurations and along a noisy optimization; the recommendation (best
 * posterior mean among evaluated configurations) against the best observed run on a
 * noisy function with a known optimum; repeated seeds of one configuration collapsing
 * into one entry; and mrpc_recommend on a study history (eligibility, run ids, sign).
 * Everything is seeded: the same numbers on every run.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acquisition.h"
#include "batch.h"
#include "fsutil.h"
#include "gp.h"
#include "recommend.h"
#include "stages.h"
#include "rng.h"
#include "study_fixture.h"
#include "testutil.h"

static void set_uniform(mrpc_param *p, const char *name, double lo, double hi) {
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->dist = MRPC_DIST_UNIFORM;
    p->min = lo;
    p->max = hi;
    p->baseline = 0.5 * (lo + hi);
}

/* A 2-D "accuracy" bowl (minimization form): optimum -0.85 at (0.62, 0.3), effects of 4 and 1.5 points. */
static double bowl(const double *x) {
    double a = (x[0] - 0.62) / 0.4, b = (x[1] - 0.3) / 0.5;
    return -(0.85 - 0.04 * a * a - 0.015 * b * b);
}

static void unit_square(mrpc_space *s) {
    memset(s, 0, sizeof *s);
    s->n_params = 2;
    set_uniform(&s->params[0], "x0", 0.0, 1.0);
    set_uniform(&s->params[1], "x1", 0.0, 1.0);
}

/* E[max(a + b Z)] - max a by the envelope equals a Monte-Carlo estimate; exact small cases. */
static void test_kg_lines(void) {
    size_t ord[8], env[8];
    double c[8];
    double a2[2] = {0.0, 0.0}, b2[2] = {0.0, 1.0};
    CHECK_CLOSE(exp(mrpc_log_kg_lines(2, a2, b2, ord, env, c)), 0.3989422804014327, 1e-12, 1e-12, "E[max(0, Z)] = phi(0)");
    double a3[3] = {0.1, -0.3, 0.2}, b3[3] = {0.5, 0.5, 0.5};
    CHECK(mrpc_log_kg_lines(3, a3, b3, ord, env, c) == -INFINITY, "equal slopes carry no information");
    double a[6] = {0.3, -0.2, 0.25, -1.0, 0.0, 0.28}, b[6] = {0.1, 0.9, -0.4, 1.5, 0.05, 0.1};
    double kg = exp(mrpc_log_kg_lines(6, a, b, ord, env, c));
    mrpc_rng rng;
    mrpc_rng_init(&rng, 11, MRPC_RNG_TEST, 0);
    double sum = 0.0, sum2 = 0.0, amax = 0.3;
    const int n = 400000;
    for (int i = 0; i < n; i++) {
        double z = mrpc_rng_normal(&rng), m = -INFINITY;
        for (int j = 0; j < 6; j++) m = fmax(m, a[j] + b[j] * z);
        sum += m - amax;
        sum2 += (m - amax) * (m - amax);
    }
    double mc = sum / n, se = sqrt((sum2 / n - mc * mc) / n);
    CHECK(fabs(kg - mc) < 4.0 * se, "KG %.6f vs Monte Carlo %.6f +- %.6f", kg, mc, se);
    /* Far out (a line barely reaching the top) the log stays finite where the value underflows. */
    double af[2] = {0.0, -60.0}, bf[2] = {0.0, 1.0};
    double lf = mrpc_log_kg_lines(2, af, bf, ord, env, c);
    CHECK(isfinite(lf) && lf < -1700.0, "log KG far out is finite: %g", lf);
}

/* The MAP fit is a stationary point of log marginal likelihood + log priors (analytic gradient + prior terms). */
static void test_map_stationary(void) {
    mrpc_rng rng;
    mrpc_rng_init(&rng, 3, MRPC_RNG_TEST, 0);
    double X[30 * 2], y[30], mean = 0.0, sd = 0.0;
    for (int i = 0; i < 30; i++) {
        X[i * 2] = mrpc_rng_uniform(&rng);
        X[i * 2 + 1] = mrpc_rng_uniform(&rng);
        y[i] = bowl(X + i * 2) + 0.01 * mrpc_rng_normal(&rng);
        mean += y[i] / 30;
    }
    for (int i = 0; i < 30; i++) sd += (y[i] - mean) * (y[i] - mean) / 30;
    for (int i = 0; i < 30; i++) y[i] = (y[i] - mean) / sqrt(sd);
    mrpc_gp_fit_options fo;
    mrpc_gp_fit_map_defaults(&fo, &rng);
    CHECK(fo.ls_prior.kind == MRPC_GP_PRIOR_GAMMA && fo.ls_prior.a == 3.0 && fo.ls_prior.b == 6.0 &&
              fo.sn2_prior.a == 1.1 && fo.sn2_prior.b == 0.05 && fo.sf2_prior.a == 2.0 && fo.sf2_prior.b == 0.15,
          "BoTorch's priors");
    mrpc_gp_hyper h;
    double lml = 0.0, lml_at = 0.0, grad[4];
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_gp_fit(X, y, 30, 2, &fo, &h, &lml, &err), &err)) return;
    if (!CHECK_OK(mrpc_gp_log_marginal(X, y, 30, &h, &lml_at, grad, &err), &err)) return;
    CHECK_CLOSE(lml, lml_at, 1e-9, 1e-9, "reported value is the likelihood without the priors");
    double theta[4], lb[4], ub[4];
    mrpc_gp_hyper_pack(&h, theta);
    const mrpc_gp_prior *pr[4] = {&fo.ls_prior, &fo.ls_prior, &fo.sf2_prior, &fo.sn2_prior};
    lb[0] = lb[1] = log(fo.ls_min); ub[0] = ub[1] = log(fo.ls_max);
    lb[2] = log(fo.sf2_min); ub[2] = log(fo.sf2_max); lb[3] = log(fo.sn2_min); ub[3] = log(fo.sn2_max);
    for (int k = 0; k < 4; k++) {
        double g = grad[k] + (pr[k]->a - 1.0) - pr[k]->b * exp(theta[k]);
        int at_bound = theta[k] <= lb[k] + 1e-6 || theta[k] >= ub[k] - 1e-6;
        CHECK(at_bound || fabs(g) < 1e-2, "posterior gradient %d is %.3g at an interior optimum", k, g);
    }
}

/* 8 configurations x 4 seeds: the fitted noise std is the true one (0.05) within 30%. */
static void test_noise_on_repeats(void) {
    mrpc_space s;
    unit_square(&s);
    double X[32 * 2], y[32];
    mrpc_rng rng;
    mrpc_rng_init(&rng, 5, MRPC_RNG_TEST, 0);
    for (int c = 0; c < 8; c++) {
        double x[2] = {mrpc_param_canonical(&s.params[0], mrpc_rng_uniform(&rng)),
                       mrpc_param_canonical(&s.params[1], mrpc_rng_uniform(&rng))};
        for (int r = 0; r < 4; r++) {
            memcpy(X + (c * 4 + r) * 2, x, sizeof x);
            y[c * 4 + r] = 10.0 * bowl(x) + 0.05 * mrpc_rng_normal(&rng);
        }
    }
    size_t dims[2] = {0, 1};
    double base[2] = {0.5, 0.5};
    mrpc_bo_problem p = {.space = &s, .d = 2, .dims = dims, .base = base, .n_obs = 32, .obs_values = X, .obs_y = y};
    mrpc_bo_pick pick[8];
    size_t got = 0;
    mrpc_bo_info info;
    mrpc_error err = {0};
    mrpc_rng_init(&rng, 1, MRPC_RNG_OPTIMIZE, 0);
    if (!CHECK_OK(mrpc_bo_recommend(&p, NULL, &rng, NULL, 8, pick, &got, &info, &err), &err)) return;
    double noise = sqrt(exp(info.hyper.log_sn2)) * info.y_std;
    CHECK(info.used_gp && noise > 0.035 && noise < 0.065, "fitted noise std %.4f, true 0.05", noise);
    CHECK(got == 8, "8 configurations, one entry each (got %zu)", got);
    for (size_t e = 0; e < got; e++) CHECK(pick[e].n_obs == 4, "entry %zu has its 4 seeds (%zu)", e, pick[e].n_obs);
    for (size_t e = 1; e < got; e++) CHECK(pick[e].mean >= pick[e - 1].mean, "best posterior mean first");
}

/*
 * The bayes stage in MRPC's regime (bench/optimizer_quality.c, stage3): learning rate
 * 1e-5..1e-4 (log), warmup 0..300, weight decay 0..0.1; effects of 4, 1.2 and 1.2
 * accuracy points; optimum 0.85 (minimization form -0.85).
 */
static void stage3_space(mrpc_space *s) {
    memset(s, 0, sizeof *s);
    s->n_params = 3;
    set_uniform(&s->params[0], "learning_rate", 1e-5, 1e-4);
    s->params[0].dist = MRPC_DIST_LOG_UNIFORM_VALUES;
    set_uniform(&s->params[1], "warmup_steps", 0, 300);
    s->params[1].dist = MRPC_DIST_INT_UNIFORM;
    s->params[1].is_int = 1;
    set_uniform(&s->params[2], "weight_decay", 0.0, 0.1);
}
static double stage3(const double *x) {
    double l = log10(x[0]), w = x[1], wd = x[2];
    double a = (l - (-4.55 + 0.25 * (w / 300.0))) / 0.55, b = (wd - 0.07) / 0.07, c = (w - 100.0) / 200.0;
    return -(0.85 - 0.04 * a * a - 0.012 * b * b - 0.012 * c * c);
}

/*
 * Studies of stage 3 (waves of 4, 20 runs) with seed noise of 2.4 points: the GP's
 * noise estimate at the end does not collapse onto the runs (maximum likelihood without
 * hyperparameter priors, TEST_RECOMMEND_MLE=1, put it below a quarter of the truth in 4
 * of these 12 studies: it interpolated the noise, and the posterior mean of a run was
 * its own luck).
 */
static void test_noisy_studies(void) {
    mrpc_space s;
    stage3_space(&s);
    size_t dims[3] = {0, 1, 2};
    double base[3];
    mrpc_space_baseline(&s, base);
    const int studies = 12;
    mrpc_bo_options bo;
    mrpc_bo_options_defaults(&bo);
    if (getenv("TEST_RECOMMEND_MLE")) bo.map_priors = 0; /* to see this test fail without the priors */
    int collapsed = 0, wins = 0, losses = 0;
    double reg_obs = 0.0, reg_rec = 0.0;
    for (int st = 0; st < studies; st++) {
        double X[20 * 3], y[20];
        size_t n = 0;
        mrpc_rng noise;
        mrpc_rng_init(&noise, 300 + (uint64_t)st, MRPC_RNG_TEST, 0);
        mrpc_error err = {0};
        for (int wave = 0; n < 20; wave++) {
            mrpc_bo_problem p = {.space = &s, .d = 3, .dims = dims, .base = base, .n_obs = n, .obs_values = X,
                                 .obs_y = y, .design_seed = 300 + (uint64_t)st};
            mrpc_rng rng;
            mrpc_rng_init(&rng, 300 + (uint64_t)st, MRPC_RNG_OPTIMIZE, (uint32_t)wave);
            double out[4 * 3];
            size_t got = 0;
            if (!CHECK_OK(mrpc_bo_suggest(&p, &bo, &rng, 4, out, &got, NULL, &err), &err) || got != 4) return;
            for (size_t k = 0; k < got; k++, n++) {
                memcpy(X + n * 3, out + k * 3, 3 * sizeof *X);
                y[n] = stage3(out + k * 3) + 0.024 * mrpc_rng_normal(&noise);
            }
        }
        mrpc_bo_problem p = {.space = &s, .d = 3, .dims = dims, .base = base, .n_obs = n, .obs_values = X, .obs_y = y};
        mrpc_rng rng;
        mrpc_rng_init(&rng, 7, MRPC_RNG_OPTIMIZE, 0);
        mrpc_bo_pick pick;
        size_t got = 0;
        mrpc_bo_info info;
        if (!CHECK_OK(mrpc_bo_recommend(&p, &bo, &rng, NULL, 1, &pick, &got, &info, &err), &err) || got != 1) return;
        collapsed += sqrt(exp(info.hyper.log_sn2)) * info.y_std < 0.024 / 4.0;
        size_t b = 0;
        for (size_t i = 1; i < n; i++)
            if (y[i] < y[b]) b = i;
        double ro = stage3(X + b * 3) + 0.85, rr = stage3(X + pick.obs * 3) + 0.85;
        reg_obs += ro / studies;
        reg_rec += rr / studies;
        wins += rr < ro - 1e-12;
        losses += rr > ro + 1e-12;
    }
    CHECK(collapsed * 6 <= studies, "noise estimate below a quarter of the truth in %d of %d studies", collapsed, studies);
    /* Reported on failure only: the answer's and the best run's mean regret (a ranking of
     * methods needs the benchmark's seeds: bench/optimizer_quality.sh). */
    CHECK(reg_rec < 2.0 * reg_obs, "recommendation regret %.5f vs best observed %.5f (wins %d, losses %d)", reg_rec,
          reg_obs, wins, losses);
}

/*
 * Random designs of 24 runs of the noisy bowl, 40 per noise level: the recommendation
 * is a configuration with a better true mean than the best observed run, on average
 * (about 0.65 of its regret) and in most designs (about 25 wins to 5 losses).
 */
static void test_recommend_vs_best_observed(void) {
    mrpc_space s;
    unit_square(&s);
    size_t dims[2] = {0, 1};
    double base[2] = {0.5, 0.5};
    for (int level = 0; level < 2; level++) {
        double sd = level == 0 ? 0.012 : 0.024, reg_obs = 0.0, reg_rec = 0.0;
        int wins = 0, losses = 0;
        const int reps = 40;
        for (int rep = 0; rep < reps; rep++) {
            double X[24 * 2], y[24];
            mrpc_rng r;
            mrpc_rng_init(&r, 100 + (uint64_t)rep, MRPC_RNG_TEST, (uint32_t)level);
            size_t b = 0;
            for (size_t i = 0; i < 24; i++) {
                for (size_t j = 0; j < 2; j++) X[i * 2 + j] = mrpc_param_canonical(&s.params[j], mrpc_rng_uniform(&r));
                y[i] = bowl(X + i * 2) + sd * mrpc_rng_normal(&r);
                if (y[i] < y[b]) b = i;
            }
            mrpc_bo_problem p = {.space = &s, .d = 2, .dims = dims, .base = base, .n_obs = 24, .obs_values = X, .obs_y = y};
            mrpc_rng rng;
            mrpc_rng_init(&rng, 1, MRPC_RNG_OPTIMIZE, 0);
            mrpc_bo_pick pick;
            size_t got = 0;
            mrpc_error err = {0};
            if (!CHECK_OK(mrpc_bo_recommend(&p, NULL, &rng, NULL, 1, &pick, &got, NULL, &err), &err) || got != 1) return;
            double ro = bowl(X + b * 2) + 0.85, rr = bowl(X + pick.obs * 2) + 0.85;
            reg_obs += ro / reps;
            reg_rec += rr / reps;
            wins += rr < ro - 1e-12;
            losses += rr > ro + 1e-12;
        }
        CHECK(reg_rec < 0.85 * reg_obs && wins >= 2 * losses, "noise %.3f: recommended %.5f vs best observed %.5f (%d/%d)", sd,
              reg_rec, reg_obs, wins, losses);
    }
}

/* Repeated seeds are one configuration; an ineligible configuration is never an answer. */
static void test_dedupe(void) {
    mrpc_space s;
    unit_square(&s);
    size_t dims[2] = {0, 1};
    double base[2] = {0.5, 0.5};
    /* A (near the optimum) x3, B x1, C x2, D x1 (a failed run, imputed, not eligible). */
    double X[7 * 2] = {0.6, 0.3, 0.1, 0.9, 0.6, 0.3, 0.4, 0.5, 0.6, 0.3, 0.4, 0.5, 0.62, 0.32};
    double y[7], cfgy[7];
    int eligible[7] = {1, 1, 1, 1, 1, 1, 0};
    for (int i = 0; i < 7; i++) cfgy[i] = y[i] = bowl(X + i * 2);
    y[6] = -0.7; /* the imputed worst */
    (void)cfgy;
    mrpc_bo_problem p = {.space = &s, .d = 2, .dims = dims, .base = base, .n_obs = 7, .obs_values = X, .obs_y = y};
    mrpc_bo_pick pick[5];
    size_t got = 0;
    mrpc_error err = {0};
    mrpc_rng rng;
    mrpc_rng_init(&rng, 1, MRPC_RNG_OPTIMIZE, 0);
    if (!CHECK_OK(mrpc_bo_recommend(&p, NULL, &rng, eligible, 5, pick, &got, NULL, &err), &err)) return;
    CHECK(got == 3, "three eligible configurations (got %zu)", got);
    if (got < 1) return;
    CHECK(pick[0].obs == 0 && pick[0].n_obs == 3, "A first with its 3 runs (obs %zu, %zu runs)", pick[0].obs, pick[0].n_obs);
    CHECK_CLOSE(pick[0].obs_mean, bowl(X), 1e-12, 1e-12, "observed mean of A");
    for (size_t e = 0; e < got; e++)
        for (size_t f = 0; f < e; f++)
            CHECK(!(X[pick[e].obs * 2] == X[pick[f].obs * 2] && X[pick[e].obs * 2 + 1] == X[pick[f].obs * 2 + 1]),
                  "entries %zu and %zu are distinct configurations", f, e);
    for (size_t e = 0; e < got; e++) CHECK(pick[e].obs != 6, "the failed configuration is not an answer");
}

/* acquisition auto: EI on a noise-free function, the knowledge gradient when noise dominates. */
static void test_auto_acquisition(void) {
    mrpc_space s;
    unit_square(&s);
    size_t dims[2] = {0, 1};
    double base[2] = {0.5, 0.5};
    for (int noisy = 0; noisy < 2; noisy++) {
        double X[16 * 2], y[16];
        mrpc_rng r;
        mrpc_rng_init(&r, 21, MRPC_RNG_TEST, 0);
        for (int i = 0; i < 16; i++) {
            X[i * 2] = mrpc_param_canonical(&s.params[0], mrpc_rng_uniform(&r));
            X[i * 2 + 1] = mrpc_param_canonical(&s.params[1], mrpc_rng_uniform(&r));
            y[i] = bowl(X + i * 2) + (noisy ? 0.03 * mrpc_rng_normal(&r) : 0.0);
        }
        mrpc_bo_problem p = {.space = &s, .d = 2, .dims = dims, .base = base, .n_obs = 16, .obs_values = X, .obs_y = y};
        mrpc_rng rng;
        mrpc_rng_init(&rng, 4, MRPC_RNG_OPTIMIZE, 0);
        double out[4 * 2];
        size_t got = 0;
        mrpc_bo_info info;
        mrpc_error err = {0};
        if (!CHECK_OK(mrpc_bo_suggest(&p, NULL, &rng, 4, out, &got, &info, &err), &err)) return;
        double ratio = exp(info.hyper.log_sn2 - info.hyper.log_sf2);
        CHECK(got == 4 && info.used_gp && info.used_kg == noisy, "%s: %s (noise/signal variance %.3g)",
              noisy ? "noisy" : "noise-free", info.used_kg ? "knowledge gradient" : "EI", ratio);
    }
}

/* ---- study level ------------------------------------------------------------------ */

static char study_file[1200];

static const char study_text[] =
    "name: r\nseed: 9\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
    "parameters:\n"
    "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-4, baseline: 3.0e-5}\n"
    "  weight_decay: {min: 0.0, max: 0.1, baseline: 0.0}\n"
    "  warmup_steps: {min: 0, max: 100, baseline: 0}\n"
    "stages:\n"
    "  bayes: {budget: 8, wave_size: 4, parameters: [learning_rate, weight_decay]}\n";

static void add_obs(mrpc_history *h, const char *run_id, const double *values, mrpc_obs_state state, double objective,
                    int64_t seed) {
    mrpc_obs o;
    memset(&o, 0, sizeof o);
    snprintf(o.run_id, sizeof o.run_id, "%s", run_id);
    o.stage = MRPC_STAGE_BAYES;
    o.wave = 0;
    o.task = -1;
    memcpy(o.values, values, 3 * sizeof *values);
    o.state = state;
    o.objective = state == MRPC_OBS_COMPLETED ? objective : NAN;
    o.seed = seed;
    mrpc_error err = {0};
    CHECK_OK(mrpc_history_add(h, &o, &err), &err);
}

static void test_study_recommend(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_study_parse(study_file, study_text, strlen(study_text), &st, &err), &err)) return;
    CHECK(st.bayes.augmented == 3, "acquisition defaults to auto (%d)", st.bayes.augmented);
    mrpc_history h;
    memset(&h, 0, sizeof h);
    double good[3] = {3e-5, 0.05, 0}, mid[3] = {1e-5, 0.0, 0}, bad[3] = {1e-4, 0.1, 0};
    double other[3] = {3e-5, 0.05, 50}; /* warmup not at baseline: another stage's setting */
    add_obs(&h, "bayes-00-000", good, MRPC_OBS_COMPLETED, 0.84, 42);
    add_obs(&h, "bayes-00-001", mid, MRPC_OBS_COMPLETED, 0.80, 42);
    add_obs(&h, "bayes-00-002", bad, MRPC_OBS_COMPLETED, 0.72, 42);
    add_obs(&h, "bayes-00-003", good, MRPC_OBS_COMPLETED, 0.86, 43);
    add_obs(&h, "bayes-00-004", other, MRPC_OBS_COMPLETED, 0.95, 42);
    double fail[3] = {5e-5, 0.02, 0};
    add_obs(&h, "bayes-00-005", fail, MRPC_OBS_FAILED, NAN, 42);
    mrpc_recommendation rec;
    if (!CHECK_OK(mrpc_recommend(&st, &h, MRPC_STAGE_BAYES, 5, &rec, &err), &err)) {
        mrpc_history_free(&h);
        return;
    }
    CHECK(rec.d == 2 && rec.used_gp, "a GP over the stage's 2 parameters");
    CHECK(rec.n_runs == 5 && rec.n_imputed == 1, "4 completed runs + 1 imputed (got %zu, %zu)", rec.n_runs, rec.n_imputed);
    CHECK(rec.n == 3 && rec.n_configs == 3, "three completed configurations, the other setting and the failure left out");
    if (rec.n >= 1) {
        const mrpc_recommended *it = &rec.items[0];
        CHECK(it->values[0] == 3e-5 && it->values[1] == 0.05, "the best configuration first");
        CHECK(it->n_runs == 2 && !strcmp(it->run_ids[0], "bayes-00-000") && !strcmp(it->run_ids[1], "bayes-00-003"),
              "its two seeds are one entry, run ids in history order");
        CHECK_CLOSE(it->observed_mean, 0.85, 1e-12, 1e-12, "observed mean");
        CHECK(it->observed_best == 0.86, "observed best");
        CHECK(it->mean > 0.7 && it->mean < 0.95 && it->sd > 0.0, "posterior mean %.4f (accuracy units) and sd %.4f",
              it->mean, it->sd);
        for (size_t e = 1; e < rec.n; e++) CHECK(rec.items[e].mean <= rec.items[e - 1].mean, "best (highest) first");
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f) {
        mrpc_recommendation_print(&st, &rec, f);
        fclose(f);
        CHECK(buf && strstr(buf, "1. accuracy ") && strstr(buf, "bayes-00-000 bayes-00-003") &&
                  strstr(buf, "learning_rate=3e-05"),
              "printed: %s", buf ? buf : "");
        free(buf);
    }
    mrpc_recommendation_free(&rec);
    mrpc_history_free(&h);
}

/* `acquisition: kg` plans a wave by the knowledge gradient: 4 new, distinct configurations. */
static void test_kg_wave(void) {
    static mrpc_study st;
    static char text[sizeof study_text + 64];
    snprintf(text, sizeof text, "%s", study_text);
    char *at = strstr(text, "wave_size: 4");
    if (!CHECK(at != NULL, "study text")) return;
    memcpy(at, "wave_size: 4, acquisition: kg}\n", strlen("wave_size: 4, acquisition: kg}\n") + 1);
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_study_parse(study_file, text, strlen(text), &st, &err), &err)) return;
    CHECK(st.bayes.augmented == 2, "acquisition kg parsed (%d)", st.bayes.augmented);
    mrpc_history h;
    memset(&h, 0, sizeof h);
    mrpc_rng rng;
    mrpc_rng_init(&rng, 17, MRPC_RNG_TEST, 0);
    for (int i = 0; i < 8; i++) {
        double v[3] = {mrpc_param_canonical(&st.space.params[0], 1e-5 * pow(10.0, mrpc_rng_uniform(&rng))),
                       mrpc_param_canonical(&st.space.params[1], 0.1 * mrpc_rng_uniform(&rng)), 0};
        char id[32];
        snprintf(id, sizeof id, "bayes-00-%03d", i);
        add_obs(&h, id, v, MRPC_OBS_COMPLETED, 0.85 - 0.04 * pow(log10(v[0]) + 4.5, 2) + 0.01 * mrpc_rng_normal(&rng), 42);
    }
    mrpc_plan plan;
    mrpc_bo_info info;
    if (CHECK_OK(mrpc_bayes_plan(&st, &h, NULL, 1, 4, &plan, &info, &err), &err)) {
        CHECK(plan.n_tasks == 4 && info.used_gp, "4 suggestions from the GP (got %zu)", plan.n_tasks);
        for (size_t t = 0; t < plan.n_tasks; t++) {
            for (size_t i = 0; i < h.n_obs; i++)
                CHECK(!mrpc_space_config_equal(&st.space, plan.tasks[t].values, h.obs[i].values), "task %zu is new", t);
            for (size_t u = 0; u < t; u++)
                CHECK(!mrpc_space_config_equal(&st.space, plan.tasks[t].values, plan.tasks[u].values),
                      "tasks %zu and %zu differ", u, t);
        }
        mrpc_plan_free(&plan);
    }
    mrpc_history_free(&h);
    snprintf(text, sizeof text, "%s", study_text);
    at = strstr(text, "wave_size: 4");
    memcpy(at, "wave_size: 4, acquisition: ucb}\n", strlen("wave_size: 4, acquisition: ucb}\n") + 1);
    CHECK(mrpc_study_parse(study_file, text, strlen(text), &st, &err) == MRPC_ERR_INVALID && strstr(err.message, "kg"),
          "unknown acquisition refused, naming kg: %s", err.message);
}

int main(void) {
    study_fixture_minimal_base(mrpc_test_tmpdir(), study_file, sizeof study_file);
    test_kg_lines();
    test_map_stationary();
    test_noise_on_repeats();
    test_dedupe();
    test_auto_acquisition();
    test_recommend_vs_best_observed();
    test_noisy_studies();
    test_study_recommend();
    test_kg_wave();
    return mrpc_test_report();
}

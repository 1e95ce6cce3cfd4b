/*
 * test_confirm.c — the confirm stage (optimize/stages/confirm.h) on in-memory histories:
 * its settings and their errors (file:line:column), the planner (the baseline and the k
 * configurations of the recommendation, a recommendation equal to the baseline skipped,
 * seeds new and disjoint from every seed used, the same seeds for every configuration,
 * never a configuration and seed twice, run ids), the step that asks mrpc_recommend, the
 * retry of an interrupted confirm run (its seed column), and the summary: means, paired
 * differences and tests as paired.h computes them on the same vectors, the answer and its
 * significance, pending and failed runs, and answer.yaml.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confirm.h"
#include "fsutil.h"
#include "recommend.h"
#include "stages.h"
#include "study_fixture.h"
#include "testutil.h"
#include "yaml_doc.h"

static char study_file[1200];

static const char study_text[] =
    "name: c\nseed: 3\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
    "parameters:\n"
    "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-3, baseline: 1.0e-4}\n"
    "  weight_decay: {min: 0.0, max: 0.2, baseline: 0.0}\n"
    "  num_epochs: {value: 3}\n"
    "stages:\n"
    "  sensitivity: {top_k: 2, seeds: 3}\n"
    "  bayes: {budget: 6, wave_size: 3}\n"
    "  confirm: {top_k: 2, seeds: 4}\n";

static int parse(const char *text, mrpc_study *st, mrpc_error *err) {
    return mrpc_study_parse(study_file, text, strlen(text), st, err) == MRPC_OK;
}

static void add_obs(mrpc_history *h, const char *run_id, int stage, const double *values, mrpc_obs_state state,
                    double objective, int64_t seed) {
    mrpc_obs o;
    memset(&o, 0, sizeof o);
    snprintf(o.run_id, sizeof o.run_id, "%s", run_id);
    o.stage = stage;
    o.wave = stage >= 0 ? 0 : -1;
    o.task = -1;
    memcpy(o.values, values, 2 * sizeof *values);
    o.values[2] = 3;
    o.state = state;
    o.objective = state == MRPC_OBS_COMPLETED ? objective : NAN;
    o.seed = seed;
    mrpc_error err = {0};
    CHECK_OK(mrpc_history_add(h, &o, &err), &err);
}

static void bad(const char *what, const char *stages, long line, long col, const char *needle) {
    static mrpc_study st;
    char text[2048];
    snprintf(text, sizeof text,
             "objective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
             "parameters:\n  learning_rate: {min: 1.0e-5, max: 1.0e-4, baseline: 5.0e-5}\nstages:\n%s", stages);
    mrpc_error err = {0};
    int ok = parse(text, &st, &err);
    char buf[2048];
    mrpc_error_format(&err, buf, sizeof buf);
    CHECK(!ok, "%s: refused", what);
    CHECK(err.line == line && err.column == col, "%s: at %ld:%ld, got %ld:%ld (%s)", what, line, col, err.line, err.column, buf);
    CHECK(strncmp(buf, study_file, strlen(study_file)) == 0 && strstr(buf, needle), "%s: %s", what, buf);
}

static void test_settings(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    if (!CHECK(parse(study_text, &st, &err), "study with a confirm stage parses")) return;
    CHECK(st.has_stage[MRPC_STAGE_CONFIRM] && st.confirm.top_k == 2 && st.confirm.seeds == 4, "confirm settings");
    CHECK(!strcmp(mrpc_stage_name(MRPC_STAGE_CONFIRM), "confirm") && !strcmp(mrpc_stage_short(MRPC_STAGE_CONFIRM), "conf"),
          "stage names");
    static mrpc_study d;
    char text[2048];
    snprintf(text, sizeof text, "%.*sconfirm:\n", (int)(strstr(study_text, "  confirm:") - study_text + 2), study_text);
    if (CHECK(parse(text, &d, &err), "empty confirm block")) CHECK(d.confirm.top_k == 3 && d.confirm.seeds == 5, "defaults 3, 5");
    bad("confirm alone", "  confirm: {top_k: 2}\n", 6, 12, "earlier stage");
    bad("one seed", "  bayes: {budget: 4}\n  confirm: {seeds: 1}\n", 7, 20, "at least 2 seeds");
    bad("top_k 0", "  bayes: {budget: 4}\n  confirm: {top_k: 0}\n", 7, 20, "must be 1..20");
    bad("unknown key", "  bayes: {budget: 4}\n  confirm: {top_k: 2, seed: 4}\n", 7, 23, "unknown key in stages.confirm");
    bad("before bayes", "  confirm: {}\n  bayes: {budget: 4}\n", 7, 3, "order");
}

/* A history: 3 sensitivity baselines (seeds 42..44), bayes runs, one manual run with seed 46. */
static void history(mrpc_history *h) {
    memset(h, 0, sizeof *h);
    double base[2] = {1e-4, 0.0}, a[2] = {3e-4, 0.1}, b[2] = {5e-5, 0.2}, c[2] = {2e-4, 0.05};
    add_obs(h, "sens-00-000-baseline", MRPC_STAGE_SENSITIVITY, base, MRPC_OBS_COMPLETED, 0.80, 42);
    add_obs(h, "sens-00-001-baseline-seed43", MRPC_STAGE_SENSITIVITY, base, MRPC_OBS_COMPLETED, 0.81, 43);
    add_obs(h, "sens-00-002-baseline-seed44", MRPC_STAGE_SENSITIVITY, base, MRPC_OBS_FAILED, 0, 44);
    add_obs(h, "bayes-00-000", MRPC_STAGE_BAYES, a, MRPC_OBS_COMPLETED, 0.84, 42);
    add_obs(h, "bayes-00-001", MRPC_STAGE_BAYES, b, MRPC_OBS_COMPLETED, 0.78, 42);
    add_obs(h, "bayes-00-002", MRPC_STAGE_BAYES, c, MRPC_OBS_COMPLETED, 0.83, 42);
    add_obs(h, "manual", -1, c, MRPC_OBS_COMPLETED, 0.82, 46);
}

static int same(const double *x, const double *y) { return x[0] == y[0] && x[1] == y[1]; }

static void test_plan(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    if (!CHECK(parse(study_text, &st, &err), "parse")) return;
    mrpc_history h;
    history(&h);
    /* A recommendation whose second entry is the baseline: it is skipped, the third taken. */
    mrpc_recommended items[4];
    memset(items, 0, sizeof items);
    double v[4][2] = {{3e-4, 0.1}, {1e-4, 0.0}, {2e-4, 0.05}, {5e-5, 0.2}};
    for (int i = 0; i < 4; i++) {
        items[i].values[0] = v[i][0];
        items[i].values[1] = v[i][1];
        items[i].values[2] = 3;
    }
    mrpc_recommendation rec;
    memset(&rec, 0, sizeof rec);
    rec.stage = MRPC_STAGE_BAYES;
    rec.n = 4;
    rec.items = items;
    mrpc_plan plan;
    if (!CHECK_OK(mrpc_confirm_plan(&st, &h, &rec, 0, &plan, &err), &err)) goto out;
    CHECK(plan.stage == MRPC_STAGE_CONFIRM && plan.wave == 0 && plan.with_seed, "a confirm wave with a seed column");
    CHECK(plan.n_tasks == 3 * 4, "baseline + top_k 2 over 4 seeds: %zu tasks", plan.n_tasks);
    if (plan.n_tasks != 12) goto out;
    /* Seeds: the 4 smallest >= 42 not used by any run: 45, 47, 48, 49 (46 is the manual run's). */
    const int64_t want_seeds[4] = {45, 47, 48, 49};
    const double *want_cfg[3] = {v[1], v[0], v[2]};
    const char *labels[3] = {"baseline", "rec1", "rec2"};
    for (size_t i = 0; i < plan.n_tasks; i++) {
        const mrpc_plan_task *t = &plan.tasks[i];
        size_t c = i / 4, s = i % 4;
        char id[64];
        snprintf(id, sizeof id, "conf-00-%03zu-%s-seed%lld", i, labels[c], (long long)want_seeds[s]);
        CHECK(!strcmp(t->run_id, id), "run id %s, want %s", t->run_id, id);
        CHECK(t->seed == want_seeds[s], "task %zu seed %lld", i, (long long)t->seed);
        CHECK(same(t->values, want_cfg[c]) && t->values[2] == 3, "task %zu configuration", i);
        for (size_t j = 0; j < h.n_obs; j++) CHECK(h.obs[j].seed != t->seed, "seed %lld is new", (long long)t->seed);
        for (size_t j = 0; j < i; j++) {
            CHECK(!(same(plan.tasks[j].values, t->values) && plan.tasks[j].seed == t->seed), "no configuration+seed twice");
        }
    }
    int64_t seeds[4];
    mrpc_confirm_seeds(&st, &h, seeds);
    CHECK(!memcmp(seeds, want_seeds, sizeof seeds), "mrpc_confirm_seeds agrees with the plan");
    mrpc_plan_free(&plan);

    /* Nothing recommended: no wave, and the note says why. */
    rec.n = 0;
    if (CHECK_OK(mrpc_confirm_plan(&st, &h, &rec, 0, &plan, &err), &err)) {
        CHECK(plan.n_tasks == 0 && strstr(plan.note, "nothing to confirm"), "empty recommendation: %s", plan.note);
        mrpc_plan_free(&plan);
    }
    /* The step asks mrpc_recommend itself: its top entries (less the baseline) are the configurations. */
    if (CHECK_OK(mrpc_confirm_step(&st, &h, 0, 0, 0, &plan, &err), &err)) {
        mrpc_recommendation r2;
        if (CHECK_OK(mrpc_recommend(&st, &h, mrpc_recommend_default_stage(&st), 3, &r2, &err), &err)) {
            size_t k = 0;
            for (size_t i = 0; i < r2.n && k < 2; i++) {
                if (same(r2.items[i].values, v[1])) continue;
                CHECK(plan.n_tasks == 12 && same(plan.tasks[4 * (k + 1)].values, r2.items[i].values),
                      "rec%zu is the recommendation's entry %zu", k + 1, i);
                k++;
            }
            CHECK(k == 2, "two recommended configurations");
            mrpc_recommendation_free(&r2);
        }
        mrpc_plan_free(&plan);
    }
out:
    mrpc_history_free(&h);
}

/* The confirm wave's observations: objectives per configuration and seed (NaN = failed, -1 = pending). */
static void add_wave(mrpc_history *h, const mrpc_plan *plan, const double obj[3][4]) {
    for (size_t i = 0; i < plan->n_tasks; i++) {
        double y = obj[i / 4][i % 4];
        mrpc_obs_state s = isnan(y) ? MRPC_OBS_FAILED : y < 0 ? MRPC_OBS_PENDING : MRPC_OBS_COMPLETED;
        add_obs(h, plan->tasks[i].run_id, MRPC_STAGE_CONFIRM, plan->tasks[i].values, s, y, plan->tasks[i].seed);
    }
}

static void test_summary(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    if (!CHECK(parse(study_text, &st, &err), "parse")) return;
    mrpc_history h;
    history(&h);
    mrpc_recommended items[2];
    memset(items, 0, sizeof items);
    items[0].values[0] = 3e-4; items[0].values[1] = 0.1; items[0].values[2] = 3;
    items[1].values[0] = 2e-4; items[1].values[1] = 0.05; items[1].values[2] = 3;
    mrpc_recommendation rec = {.stage = MRPC_STAGE_BAYES, .n = 2, .items = items};
    mrpc_plan plan;
    if (!CHECK_OK(mrpc_confirm_plan(&st, &h, &rec, 0, &plan, &err), &err)) { mrpc_history_free(&h); return; }
    /* rec1 beats the baseline on every seed by 3-5 examples of 408; rec2 is a coin flip; one rec2 run failed. */
    const double obj[3][4] = {{330 / 408., 335 / 408., 328 / 408., 333 / 408.},
                              {334 / 408., 339 / 408., 333 / 408., 336 / 408.},
                              {331 / 408., 334 / 408., NAN, 333 / 408.}};
    add_wave(&h, &plan, obj);
    mrpc_confirm_summary *s = malloc(sizeof *s);
    if (!s) return;
    if (CHECK_OK(mrpc_confirm_summarize(&st, &h, s, &err), &err)) {
        CHECK(s->planned && s->n_runs == 12 && s->n_pending == 0 && s->n_failed == 1, "runs %zu, pending %zu, failed %zu",
              s->n_runs, s->n_pending, s->n_failed);
        CHECK(s->n_configs == 3 && s->baseline == 0 && s->n_seeds == 4 && s->seeds[0] == 45, "configurations, seeds");
        CHECK(s->points, "accuracy is reported in points");
        CHECK(s->answer == 1 && !strcmp(s->configs[1].label, "rec1"), "rec1 has the best mean");
        mrpc_paired_result want;
        CHECK_OK(mrpc_paired_compare(obj[1], obj[0], 4, 0.95, &want, &err), &err);
        const mrpc_paired_result *got = &s->configs[1].vs_baseline;
        CHECK(got->n == 4 && got->mean == want.mean && got->ci_low == want.ci_low && got->p_t == want.p_t &&
              got->p_wilcoxon == want.p_wilcoxon, "rec1 vs baseline as paired.h computes it");
        CHECK(s->significant == (want.p_t < 0.05) && s->significant, "4 of 4 seeds by 3-5 examples: significant (p %g)", want.p_t);
        CHECK(s->configs[2].n_completed == 3 && s->configs[2].vs_baseline.n == 3, "the failed seed drops out of the pairs");
        CHECK_CLOSE(s->configs[0].mean, (330 + 335 + 328 + 333) / 4.0 / 408, 1e-15, 1e-12, "baseline mean");
        char *yaml = NULL;
        if (CHECK_OK(mrpc_confirm_to_yaml(&st, s, &yaml, &err), &err)) {
            mrpc_yaml_doc *doc = NULL;
            if (CHECK_OK(mrpc_yaml_load_string("answer.yaml", yaml, strlen(yaml), &doc, &err), &err)) {
                const yaml_node_t *root = mrpc_yaml_root(doc);
                const char *ans = mrpc_yaml_scalar(mrpc_yaml_map_get(doc, root, "answer"));
                const char *sig = mrpc_yaml_scalar(mrpc_yaml_map_get(doc, root, "significant"));
                const yaml_node_t *cfgs = mrpc_yaml_map_get(doc, root, "configurations");
                CHECK(ans && !strcmp(ans, "rec1") && sig && !strcmp(sig, "true") && mrpc_yaml_len(cfgs) == 3, "answer.yaml");
                const yaml_node_t *r1 = mrpc_yaml_seq_at(doc, cfgs, 1);
                const yaml_node_t *vs = mrpc_yaml_map_get(doc, r1, "vs_baseline");
                double p = NAN, mp = NAN;
                mrpc_yaml_get_f64(doc, mrpc_yaml_map_get(doc, vs, "p_t"), "p_t", &p, &err);
                mrpc_yaml_get_f64(doc, mrpc_yaml_map_get(doc, vs, "mean_points"), "mean_points", &mp, &err);
                CHECK(p == want.p_t && fabs(mp - 100 * want.mean) < 1e-12, "p_t and mean_points round-trip");
                mrpc_yaml_free(doc);
            }
            CHECK(strstr(yaml, "verdict: \"rec1 has the best mean accuracy") != NULL, "verdict names the answer");
            free(yaml);
        }
    }
    /* Pending runs: provisional; the baseline wins ties and keeps the answer when nothing beats it. */
    mrpc_history_free(&h);
    history(&h);
    const double obj2[3][4] = {{0.83, 0.84, 0.82, 0.83}, {0.83, 0.83, 0.83, -1}, {0.82, 0.80, 0.81, 0.83}};
    add_wave(&h, &plan, obj2);
    if (CHECK_OK(mrpc_confirm_summarize(&st, &h, s, &err), &err)) {
        CHECK(s->n_pending == 1 && s->answer == 0 && !s->significant, "baseline kept (answer %d)", s->answer);
        FILE *f = tmpfile();
        if (f) {
            mrpc_confirm_print(&st, s, f);
            rewind(f);
            char text[4096] = "";
            size_t n = fread(text, 1, sizeof text - 1, f);
            text[n] = '\0';
            fclose(f);
            CHECK(strstr(text, "provisional") && strstr(text, "answer: keep the baseline"), "status text: %s", text);
        }
    }
    /* A difference within noise is called so. */
    mrpc_history_free(&h);
    history(&h);
    const double obj3[3][4] = {{0.83, 0.84, 0.82, 0.83}, {0.84, 0.83, 0.83, 0.835}, {0.82, 0.80, 0.81, 0.83}};
    add_wave(&h, &plan, obj3);
    if (CHECK_OK(mrpc_confirm_summarize(&st, &h, s, &err), &err)) {
        char *yaml = NULL;
        CHECK(s->answer == 1 && !s->significant, "rec1 best but not significant");
        if (CHECK_OK(mrpc_confirm_to_yaml(&st, s, &yaml, &err), &err)) {
            CHECK(strstr(yaml, "NOT significant at the 5% level: the difference is within seed noise") != NULL &&
                  strstr(yaml, "points against the baseline"), "honest verdict");
            free(yaml);
        }
    }
    /* An interrupted confirm run is retried with its seed column. */
    mrpc_history_free(&h);
    history(&h);
    add_obs(&h, plan.tasks[5].run_id, MRPC_STAGE_CONFIRM, plan.tasks[5].values, MRPC_OBS_INTERRUPTED, 0, plan.tasks[5].seed);
    mrpc_plan retry;
    if (CHECK_OK(mrpc_retry_plan(&st, &h, MRPC_STAGE_CONFIRM, 1, &retry, &err), &err)) {
        CHECK(retry.n_tasks == 1 && retry.with_seed && retry.tasks[0].seed == plan.tasks[5].seed &&
              !strcmp(retry.tasks[0].run_id, plan.tasks[5].run_id), "retry keeps run id and seed");
        mrpc_plan_free(&retry);
    }
    free(s);
    mrpc_plan_free(&plan);
    mrpc_history_free(&h);
}

int main(void) {
    study_fixture_minimal_base(mrpc_test_tmpdir(), study_file, sizeof study_file);
    test_settings();
    test_plan();
    test_summary();
    return mrpc_test_report();
}

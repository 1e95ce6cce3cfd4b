/*
 * test_stages.c — each stage's planning on in-memory histories (no run records):
 * sensitivity levels and run ids, the sensitivity analysis (effects, seed noise,
 * ranks, imputed failures, pending and blocked cases), grid points without the runs
 * already made and in waves of max_array_size, and bayes waves that keep unsearched
 * parameters at baseline, skip runs of other settings and never repeat a run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "stages.h"
#include "study_fixture.h"
#include "testutil.h"

static char study_file[1200];

static int parse(const char *text, mrpc_study *st) {
    mrpc_error err = {0};
    return CHECK_OK(mrpc_study_parse(study_file, text, strlen(text), st, &err), &err);
}

static const char sens_study[] =
    "name: t\nseed: 3\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
    "parameters:\n"
    "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-4, baseline: 3.0e-5}\n"
    "  weight_decay: {min: 0.0, max: 0.2, baseline: 0.0}\n"
    "  max_seq_length: {values: [64, 128, 256], baseline: 128}\n"
    "  num_epochs: {value: 3}\n"
    "  warmup_steps: {min: 0, max: 100, baseline: 50}\n"
    "stages:\n"
    "  sensitivity: {top_k: 2, seeds: 3, span: 0.5, levels: {max_seq_length: [64, 256]}}\n"
    "  grid: {}\n"
    "  bayes: {budget: 6, wave_size: 3}\n"
    "slurm: {max_array_size: 3}\n";

/* Adds an observation of a plan task (or of explicit values) with a state and objective. */
static void add_obs(mrpc_history *h, const char *run_id, int stage, const double *values, size_t np, mrpc_obs_state state,
                    double objective, int64_t seed) {
    mrpc_obs o;
    memset(&o, 0, sizeof o);
    snprintf(o.run_id, sizeof o.run_id, "%s", run_id);
    o.stage = stage;
    o.wave = stage >= 0 ? 0 : -1;
    o.task = -1;
    memcpy(o.values, values, np * sizeof *values);
    o.state = state;
    o.objective = state == MRPC_OBS_COMPLETED ? objective : NAN;
    o.seed = seed;
    mrpc_error err = {0};
    CHECK_OK(mrpc_history_add(h, &o, &err), &err);
}

static void test_sensitivity(void) {
    static mrpc_study st;
    if (!parse(sens_study, &st)) return;
    mrpc_plan plan;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_sensitivity_plan(&st, &plan, &err), &err)) return;
    /* 3 baselines; lr low/high at 1/4 and 3/4 of the log range; wd only high (baseline at min, span 0.5 -> 0.05, 0.15);
     * max_seq_length explicit; warmup 25 and 75. */
    static const char *const ids[] = {
        "sens-00-000-baseline", "sens-00-001-baseline-seed43", "sens-00-002-baseline-seed44",
        "sens-00-003-learning_rate-low", "sens-00-004-learning_rate-high", "sens-00-005-weight_decay-low",
        "sens-00-006-weight_decay-high", "sens-00-007-max_seq_length-low", "sens-00-008-max_seq_length-high",
        "sens-00-009-warmup_steps-low", "sens-00-010-warmup_steps-high"};
    CHECK(plan.n_tasks == 11, "11 tasks (got %zu)", plan.n_tasks);
    for (size_t i = 0; i < plan.n_tasks && i < 11; i++)
        CHECK(strcmp(plan.tasks[i].run_id, ids[i]) == 0, "run id %zu: %s", i, plan.tasks[i].run_id);
    CHECK(plan.with_seed && plan.tasks[1].seed == 43 && plan.tasks[3].seed == 42, "seed column for repeats");
    CHECK(plan.tasks[3].values[0] == 1.77828e-05 && plan.tasks[4].values[0] == 5.62341e-05, "log levels: %g %g",
          plan.tasks[3].values[0], plan.tasks[4].values[0]);
    CHECK(plan.tasks[5].values[1] == 0.05 && plan.tasks[6].values[1] == 0.15, "wd levels");
    CHECK(plan.tasks[9].values[4] == 25 && plan.tasks[10].values[4] == 75, "int levels");
    CHECK(plan.tasks[4].values[1] == 0.0 && plan.tasks[4].values[2] == 128 && plan.tasks[4].values[3] == 3, "others at baseline");

    /* Results: lr matters (low 0.70, high diverged), max_seq_length a little, the rest is noise. */
    mrpc_history h;
    memset(&h, 0, sizeof h);
    const double obj[11] = {0.80, 0.82, 0.81, 0.70, NAN, 0.805, 0.812, 0.78, 0.79, 0.811, 0.809};
    for (size_t i = 0; i < plan.n_tasks; i++) {
        mrpc_obs_state s = i == 4 ? MRPC_OBS_DIVERGED : MRPC_OBS_COMPLETED;
        add_obs(&h, plan.tasks[i].run_id, MRPC_STAGE_SENSITIVITY, plan.tasks[i].values, st.space.n_params, s, obj[i],
                plan.tasks[i].seed);
    }
    mrpc_sensitivity_summary sum;
    if (CHECK_OK(mrpc_sensitivity_summarize(&st, &h, &sum, &err), &err)) {
        CHECK(sum.ranked && sum.n_pending == 0 && sum.n_failed == 1, "complete, one failure");
        CHECK_CLOSE(sum.baseline_objective, 0.81, 1e-12, 0, "baseline mean");
        CHECK_CLOSE(sum.seed_std, 0.01, 1e-12, 0, "seed std (n-1)");
        CHECK(sum.has_worst && sum.worst == 0.70, "worst seen");
        const mrpc_sensitivity_param *lr = &sum.params[0], *sl = &sum.params[2];
        CHECK(lr->high_state == MRPC_OBS_DIVERGED && lr->obj_high == 0.70, "diverged level imputed with the worst");
        CHECK_CLOSE(lr->effect, 0.11, 1e-12, 0, "lr effect");
        CHECK_CLOSE(lr->effect_noise, 11.0, 1e-9, 0, "in seed-noise units");
        CHECK(lr->rank == 1 && sl->rank == 2 && lr->tuned && sl->tuned && !sum.params[1].tuned, "ranks and tuned");
        CHECK(sum.n_tuned == 2 && sum.tuned[0] == 0 && sum.tuned[1] == 2, "tuned in rank order");
        char *yaml = NULL;
        CHECK_OK(mrpc_sensitivity_to_yaml(&st, &sum, &yaml, &err), &err);
        CHECK(yaml && strstr(yaml, "tuned: [learning_rate, max_seq_length]\n") &&
                  strstr(yaml, "high: {value: 5.62341e-05, state: diverged, objective: 0.7, change: -0.1100000000000001, imputed: true}"),
              "yaml:\n%s", yaml ? yaml : "");
        free(yaml);

        /* Grid: lr and max_seq_length at {low, baseline, high}; 5 of 9 points ran in the sensitivity wave. */
        size_t params[MRPC_SPACE_MAX_PARAMS], nv[MRPC_SPACE_MAX_PARAMS];
        double vals[MRPC_SPACE_MAX_PARAMS][MRPC_SPACE_MAX_VALUES];
        size_t np = mrpc_stage_parameters(&st, MRPC_STAGE_GRID, &sum, params);
        CHECK(np == 2 && mrpc_grid_values(&st, &sum, params, np, nv, vals) == 9, "3 x 3 grid");
        mrpc_plan g;
        if (CHECK_OK(mrpc_grid_plan(&st, &h, &sum, 0, &g, &err), &err)) {
            CHECK(g.n_tasks == 3, "4 new points, at most 3 per wave (got %zu)", g.n_tasks);
            CHECK(strcmp(g.tasks[0].run_id, "grid-00-000") == 0 && !g.with_seed, "grid run ids");
            for (size_t i = 0; i < g.n_tasks; i++) {
                add_obs(&h, g.tasks[i].run_id, MRPC_STAGE_GRID, g.tasks[i].values, st.space.n_params, MRPC_OBS_PENDING, 0, 42);
                CHECK(g.tasks[i].values[1] == 0.0 && g.tasks[i].values[4] == 50, "untuned at baseline");
            }
            mrpc_plan_free(&g);
        }
        if (CHECK_OK(mrpc_grid_plan(&st, &h, &sum, 1, &g, &err), &err)) {
            CHECK(g.n_tasks == 1 && strcmp(g.tasks[0].run_id, "grid-01-000") == 0, "the last point in wave 1");
            add_obs(&h, g.tasks[0].run_id, MRPC_STAGE_GRID, g.tasks[0].values, st.space.n_params, MRPC_OBS_COMPLETED, 0.83, 42);
            mrpc_plan_free(&g);
        }
        if (CHECK_OK(mrpc_grid_plan(&st, &h, &sum, 2, &g, &err), &err)) {
            CHECK(g.n_tasks == 0, "grid done");
            mrpc_plan_free(&g);
        }
        /* Bayes over the tuned parameters: 2 dims; a run with weight_decay off baseline is not its data. */
        double other[MRPC_SPACE_MAX_PARAMS];
        memcpy(other, plan.tasks[0].values, sizeof other);
        other[1] = 0.1;
        other[0] = 4e-5;
        add_obs(&h, "manual-1", -1, other, st.space.n_params, MRPC_OBS_COMPLETED, 0.99, 42);
        mrpc_plan b, b2;
        mrpc_bo_info info;
        if (CHECK_OK(mrpc_bayes_plan(&st, &h, &sum, 0, 3, &b, &info, &err), &err)) {
            CHECK(b.n_tasks == 3 && info.used_gp, "3 GP suggestions");
            CHECK(strstr(b.note, "GP over 2 parameters on 8 runs (1 imputed, 3 pending)") != NULL, "note: %s", b.note);
            for (size_t i = 0; i < b.n_tasks; i++) {
                CHECK(b.tasks[i].values[1] == 0.0 && b.tasks[i].values[4] == 50 && b.tasks[i].values[3] == 3, "unsearched at baseline");
                for (size_t j = 0; j < h.n_obs; j++)
                    CHECK(!mrpc_space_config_equal(&st.space, b.tasks[i].values, h.obs[j].values), "not a run or pending run");
                for (size_t j = 0; j < i; j++)
                    CHECK(!mrpc_space_config_equal(&st.space, b.tasks[i].values, b.tasks[j].values), "distinct in the wave");
            }
            CHECK_OK(mrpc_bayes_plan(&st, &h, &sum, 0, 3, &b2, NULL, &err), &err);
            CHECK(b2.n_tasks == b.n_tasks && memcmp(b.tasks, b2.tasks, b.n_tasks * sizeof *b.tasks) == 0, "deterministic");
            mrpc_plan_free(&b);
            mrpc_plan_free(&b2);
        }
        mrpc_plan_free(&plan);
        CHECK_OK(mrpc_sensitivity_plan(&st, &plan, &err), &err);
    }
    mrpc_history_free(&h);

    /* Partial wave: provisional summary; no baseline: not ranked. */
    memset(&h, 0, sizeof h);
    add_obs(&h, plan.tasks[3].run_id, MRPC_STAGE_SENSITIVITY, plan.tasks[3].values, st.space.n_params, MRPC_OBS_COMPLETED, 0.7, 42);
    add_obs(&h, plan.tasks[0].run_id, MRPC_STAGE_SENSITIVITY, plan.tasks[0].values, st.space.n_params, MRPC_OBS_FAILED, 0, 42);
    add_obs(&h, plan.tasks[1].run_id, MRPC_STAGE_SENSITIVITY, plan.tasks[1].values, st.space.n_params, MRPC_OBS_MISSING, 0, 43);
    if (CHECK_OK(mrpc_sensitivity_summarize(&st, &h, &sum, &err), &err)) {
        CHECK(!sum.ranked && sum.n_tuned == 0, "no completed baseline: no ranking");
        CHECK(sum.n_pending == 8 && sum.n_failed == 2, "pending %zu, failed %zu", sum.n_pending, sum.n_failed);
        CHECK(isnan(sum.params[0].effect), "no effect without a baseline");
    }
    mrpc_history_free(&h);
    mrpc_plan_free(&plan);
}

static void test_grid_without_sensitivity(void) {
    static mrpc_study st;
    const char *text =
        "seed: 1\nobjective: {metric: eval_loss, goal: minimize}\nbase_config: base.yaml\n"
        "parameters:\n"
        "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-3, baseline: 1.0e-4}\n"
        "  warmup_steps: {min: 0, max: 3, baseline: 0}\n"
        "  weight_decay: {min: 0.01, max: 0.01}\n"
        "stages:\n  grid: {levels: 3, values: {warmup_steps: [0, 3]}}\n";
    if (!parse(text, &st)) return;
    mrpc_history h;
    memset(&h, 0, sizeof h);
    mrpc_plan g;
    mrpc_error err = {0};
    if (CHECK_OK(mrpc_grid_plan(&st, &h, NULL, 0, &g, &err), &err)) {
        CHECK(g.n_tasks == 6, "3 derived lr levels x 2 given warmups (weight_decay has one value): %zu", g.n_tasks);
        CHECK(g.tasks[0].values[0] == 1e-5 && g.tasks[2].values[0] == 1e-4 && g.tasks[5].values[0] == 1e-3, "log levels");
        CHECK(g.tasks[1].values[1] == 3 && g.tasks[1].values[2] == 0.01, "second parameter fastest; the single value");
        mrpc_plan_free(&g);
    }
}

static void test_bayes_edges(void) {
    static mrpc_study st;
    const char *text =
        "seed: 9\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
        "parameters:\n"
        "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-3, baseline: 1.0e-4}\n"
        "  dropout: {min: 0.1, max: 0.1}\n"
        "  num_epochs: {value: 3}\n"
        "stages:\n  bayes: {budget: 10, wave_size: 4}\n";
    if (!parse(text, &st)) return;
    mrpc_history h;
    memset(&h, 0, sizeof h);
    mrpc_plan b;
    mrpc_bo_info info;
    mrpc_error err = {0};
    /* No runs yet: a space-filling first wave over the one real dimension. */
    if (CHECK_OK(mrpc_bayes_plan(&st, &h, NULL, 0, 4, &b, &info, &err), &err)) {
        CHECK(b.n_tasks == 4 && !info.used_gp && strstr(b.note, "space-filling design over 1 parameter"), "design: %s", b.note);
        for (size_t i = 0; i < b.n_tasks; i++) {
            CHECK(b.tasks[i].values[1] == 0.1 && b.tasks[i].values[2] == 3, "single-valued parameters kept");
            add_obs(&h, b.tasks[i].run_id, MRPC_STAGE_BAYES, b.tasks[i].values, 3, MRPC_OBS_FAILED, 0, 42);
        }
        mrpc_plan_free(&b);
    }
    /* All failed: nothing to impute from; a new design avoids the failed points. */
    if (CHECK_OK(mrpc_bayes_plan(&st, &h, NULL, 1, 4, &b, &info, &err), &err)) {
        CHECK(b.n_tasks == 4 && !info.used_gp, "still a design");
        for (size_t i = 0; i < b.n_tasks; i++)
            for (size_t j = 0; j < h.n_obs; j++)
                CHECK(!mrpc_space_config_equal(&st.space, b.tasks[i].values, h.obs[j].values), "failed points not repeated");
        for (size_t i = 0; i < b.n_tasks; i++)
            add_obs(&h, b.tasks[i].run_id, MRPC_STAGE_BAYES, b.tasks[i].values, 3, MRPC_OBS_COMPLETED,
                    0.8 - fabs(log10(b.tasks[i].values[0]) + 4.5) * 0.05, 42);
        mrpc_plan_free(&b);
    }
    /* Now failures are imputed with the worst objective and the GP runs. */
    if (CHECK_OK(mrpc_bayes_plan(&st, &h, NULL, 2, 2, &b, &info, &err), &err)) {
        CHECK(b.n_tasks == 2 && info.used_gp && strstr(b.note, "on 8 runs (4 imputed"), "GP: %s", b.note);
        mrpc_plan_free(&b);
    }
    mrpc_history_free(&h);
}

int main(void) {
    study_fixture_minimal_base(mrpc_test_tmpdir(), study_file, sizeof study_file);
    test_sensitivity();
    test_grid_without_sensitivity();
    test_bayes_edges();
    return mrpc_test_report();
}

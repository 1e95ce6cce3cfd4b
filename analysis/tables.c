/* tables.c — the report's tables from an analysis (see tables.h). */
#include "tables.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "confirmation.h"
#include "fsutil.h"
#include "rungs.h"
#include "strutil.h"


static void set_param(mrpc_table *t, size_t row, int col, const mrpc_runset *s, size_t p, double v) {
    if (isnan(v)) {
        mrpc_table_set(t, row, col, "", "");
        return;
    }
    char e[64], d[48];
    mrpc_format_f64(e, sizeof e, v);
    mrpc_runset_format_value(s, p, v, d, sizeof d);
    mrpc_table_set(t, row, col, e, d);
}

static const char *row_class_of(const mrpc_runset_run *r) {
    if (r->state == MRPC_RUNSET_COMPLETED) return r->usable ? NULL : "bad";
    if (r->state == MRPC_RUNSET_RUNNING || r->state == MRPC_RUNSET_PAUSED) return "running";
    return "bad";
}

static void set_status(mrpc_table *t, size_t row, int col, const mrpc_runset_run *r) {
    const char *st = mrpc_runset_state_str(r->state);
    if (r->state == MRPC_RUNSET_COMPLETED && !r->usable) st = "completed (no objective)";
    mrpc_table_set(t, row, col, mrpc_runset_state_str(r->state), st);
}

static void set_summary_num(mrpc_table *t, size_t row, int col, const mrpc_runset_run *r, double v, int points) {
    if (!r->has_record || !r->rec.has_summary || isnan(v)) {
        mrpc_table_set(t, row, col, "", "");
        return;
    }
    if (points) mrpc_table_set_f64(t, row, col, v, 100, 2, 0);
    else mrpc_table_set_f64(t, row, col, v, 1, 1, 0);
}

static void build_runs(const mrpc_analysis *a, mrpc_table *t) {
    const mrpc_runset *s = a->study;
    mrpc_table_init(t, "runs", "All runs");
    snprintf(t->note, sizeof t->note,
             "Every run of the study in stage order. accuracy and f1 are shown in points (CSV: fractions as stored); "
             "status_reason is the record's own, note is what the analysis found (missing, unreadable, still "
             "running). Runs that are not usable completed runs are excluded from the statistics.");
    const char *fixed[] = {"run_id", "stage", "wave", "task", "status", "status_reason", "accuracy", "f1",
                           "best_accuracy", "train_seconds", "tokens_per_second", "start_time", "end_time",
                           "host", "n_ranks", "backend", "precision", "file", "note"};
    const int num[] = {0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    for (size_t c = 0; c < sizeof fixed / sizeof fixed[0]; c++) mrpc_table_add_col(t, fixed[c], num[c]);
    int pcol[MRPC_RUNSET_MAX_PARAMS];
    for (size_t p = 0; p < s->n_params; p++) pcol[p] = mrpc_table_add_col(t, s->params[p].name, 1);
    for (size_t i = 0; i < s->n_runs; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        size_t row = mrpc_table_add_row(t);
        if (row == (size_t)-1) return;
        mrpc_table_set_row_class(t, row, (int)i == a->best ? "best" : row_class_of(r));
        mrpc_table_set(t, row, 0, r->run_id, NULL);
        mrpc_table_set(t, row, 1, r->stage, NULL);
        if (r->wave >= 0) mrpc_table_set_i64(t, row, 2, r->wave);
        if (r->task >= 0) mrpc_table_set_i64(t, row, 3, r->task);
        set_status(t, row, 4, r);
        /* status_reason is the record's attribute as stored; note is what the analysis adds
           (missing, unreadable, still running, no objective). */
        mrpc_table_set(t, row, 5, r->has_record ? r->rec.status_reason : "", NULL);
        if (strcmp(r->reason, r->has_record ? r->rec.status_reason : "") != 0) mrpc_table_set(t, row, 18, r->reason, NULL);
        set_summary_num(t, row, 6, r, r->rec.summary.accuracy, 1);
        set_summary_num(t, row, 7, r, r->rec.summary.f1, 1);
        set_summary_num(t, row, 8, r, r->rec.summary.best_accuracy, 1);
        set_summary_num(t, row, 9, r, r->rec.summary.train_seconds, 0);
        set_summary_num(t, row, 10, r, r->rec.summary.tokens_per_second, 0);
        if (r->has_record) {
            mrpc_table_set(t, row, 11, r->rec.start_time, NULL);
            mrpc_table_set(t, row, 12, r->rec.end_time, NULL);
            mrpc_table_set(t, row, 13, r->rec.host, NULL);
            mrpc_table_set_i64(t, row, 14, r->rec.n_ranks);
            mrpc_table_set(t, row, 15, r->rec.backend, NULL);
            mrpc_table_set(t, row, 16, r->rec.precision, NULL);
        }
        mrpc_table_set(t, row, 17, r->file, NULL);
        for (size_t p = 0; p < s->n_params; p++) set_param(t, row, pcol[p], s, p, r->x[p]);
    }
}

static void build_not_completed(const mrpc_analysis *a, mrpc_table *t) {
    const mrpc_runset *s = a->study;
    mrpc_table_init(t, "not_completed", "Runs left out of the statistics");
    snprintf(t->note, sizeof t->note,
             "Failed, diverged, still running, missing (a wave task without a record) and unreadable runs, "
             "and completed runs without a %s.", s->objective);
    mrpc_table_add_col(t, "run_id", 0);
    mrpc_table_add_col(t, "stage", 0);
    mrpc_table_add_col(t, "status", 0);
    mrpc_table_add_col(t, "reason", 0);
    mrpc_table_add_col(t, "file", 0);
    for (size_t i = 0; i < s->n_runs; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        if (r->usable) continue;
        size_t row = mrpc_table_add_row(t);
        if (row == (size_t)-1) return;
        mrpc_table_set_row_class(t, row, row_class_of(r));
        mrpc_table_set(t, row, 0, r->run_id, NULL);
        mrpc_table_set(t, row, 1, r->stage, NULL);
        set_status(t, row, 2, r);
        mrpc_table_set(t, row, 3, r->reason[0] ? r->reason : "(no reason recorded)", NULL);
        mrpc_table_set(t, row, 4, r->file, NULL);
    }
}

static void build_best(const mrpc_analysis *a, mrpc_table *t) {
    const mrpc_runset *s = a->study;
    mrpc_table_init(t, "best_by_stage", "Best runs per stage");
    snprintf(t->note, sizeof t->note, "Up to %d best usable runs of each stage by %s.", MRPC_ANALYSIS_TOP, s->objective);
    mrpc_table_add_col(t, "stage", 0);
    mrpc_table_add_col(t, "rank", 1);
    mrpc_table_add_col(t, "run_id", 0);
    mrpc_table_add_col(t, "accuracy", 1);
    mrpc_table_add_col(t, "f1", 1);
    mrpc_table_add_col(t, "train_seconds", 1);
    int pcol[MRPC_RUNSET_MAX_PARAMS];
    size_t pl[MRPC_RUNSET_MAX_PARAMS], np = 0;
    for (size_t p = 0; p < s->n_params; p++)
        if (!s->params[p].is_seed && s->params[p].n_distinct >= 2) {
            pl[np] = p;
            pcol[np++] = mrpc_table_add_col(t, s->params[p].name, 1);
        }
    for (size_t g = 0; g < a->n_stages; g++) {
        const mrpc_analysis_stage *st = &a->stages[g];
        for (size_t k = 0; k < st->n_top; k++) {
            const mrpc_runset_run *r = &s->runs[st->top[k]];
            size_t row = mrpc_table_add_row(t);
            if (row == (size_t)-1) return;
            if ((int)st->top[k] == a->best) mrpc_table_set_row_class(t, row, "best");
            mrpc_table_set(t, row, 0, st->name, NULL);
            mrpc_table_set_i64(t, row, 1, (long long)k + 1);
            mrpc_table_set(t, row, 2, r->run_id, NULL);
            set_summary_num(t, row, 3, r, r->rec.summary.accuracy, 1);
            set_summary_num(t, row, 4, r, r->rec.summary.f1, 1);
            set_summary_num(t, row, 5, r, r->rec.summary.train_seconds, 0);
            for (size_t q = 0; q < np; q++) set_param(t, row, pcol[q], s, pl[q], r->x[pl[q]]);
        }
    }
}

static void build_sensitivity(const mrpc_analysis *a, mrpc_table *t) {
    const mrpc_runset *s = a->study;
    const mrpc_effects *z = &a->sens;
    mrpc_table_init(t, "sensitivity", "Stage 1: one-factor effects and ranking");
    snprintf(t->note, sizeof t->note,
             "delta = objective - baseline objective (mean of %zu usable baseline runs); effect = largest |delta| of the "
             "parameter's usable levels; noise = %s. Objective: %s. chosen: %s.%s",
             z->n_baseline_usable,
             z->noise_from_seeds ? "std of the baseline seed repeats" : "binomial sampling s.e. (no seed repeats)",
             s->objective,
             z->chosen_source == MRPC_EFFECTS_CHOSEN_OPTIMIZER ? "the tuned list of mrpc-optimize's sensitivity.yaml"
             : z->chosen_source == MRPC_EFFECTS_CHOSEN_GRID  ? "the parameters the grid stage varied"
                                                             : "the three largest effects",
             z->has_optimizer_file ? " optimizer_rank and optimizer_effect are sensitivity.yaml's, where a failed level "
                                     "counts as the worst objective seen."
                                   : "");
    const char *cols[] = {"rank", "parameter", "baseline_value", "value", "run_id", "status", "objective", "delta",
                          "effect", "effect_over_noise", "chosen", "optimizer_rank", "optimizer_effect"};
    const int num[] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1};
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) mrpc_table_add_col(t, cols[c], num[c]);
    if (!z->n_stage_runs) return;
    for (size_t k = 0; k < z->n_baseline; k++) {
        const mrpc_runset_run *r = &s->runs[z->baseline_runs[k]];
        size_t row = mrpc_table_add_row(t);
        if (row == (size_t)-1) return;
        mrpc_table_set_row_class(t, row, r->usable ? "baseline" : row_class_of(r));
        mrpc_table_set(t, row, 1, "(baseline)", NULL);
        mrpc_table_set(t, row, 4, r->run_id, NULL);
        set_status(t, row, 5, r);
        if (r->usable) mrpc_table_set_f64(t, row, 6, r->objective, 100, 2, 0);
    }
    for (size_t k = 0; k < z->n_params; k++) {
        const mrpc_effects_param *P = &z->params[k];
        for (size_t l = 0; l < P->n_levels; l++) {
            const mrpc_effects_level *L = &P->levels[l];
            const mrpc_runset_run *r = &s->runs[L->run];
            size_t row = mrpc_table_add_row(t);
            if (row == (size_t)-1) return;
            if (!r->usable) mrpc_table_set_row_class(t, row, row_class_of(r));
            if (P->rank) mrpc_table_set_i64(t, row, 0, P->rank);
            mrpc_table_set(t, row, 1, s->params[P->param].name, NULL);
            set_param(t, row, 2, s, P->param, P->baseline_value);
            set_param(t, row, 3, s, P->param, L->value);
            mrpc_table_set(t, row, 4, r->run_id, NULL);
            set_status(t, row, 5, r);
            if (L->usable) mrpc_table_set_f64(t, row, 6, L->objective, 100, 2, 0);
            mrpc_table_set_f64(t, row, 7, L->delta, 100, 2, 1);
            mrpc_table_set_f64(t, row, 8, P->effect, 100, 2, 0);
            double ratio = z->noise > 0 ? P->effect / z->noise : NAN;
            mrpc_table_set_f64(t, row, 9, ratio, 1, 1, 0);
            mrpc_table_set(t, row, 10, P->chosen ? "yes" : "no", NULL);
            if (P->opt_rank) mrpc_table_set_i64(t, row, 11, P->opt_rank);
            mrpc_table_set_f64(t, row, 12, P->opt_effect, 100, 2, 0);
        }
    }
}

static void build_grid(const mrpc_analysis *a, mrpc_table *t) {
    const mrpc_runset *s = a->study;
    int gi = mrpc_analysis_find_stage(a, "grid");
    mrpc_table_init(t, "grid", "Stage 2: grid");
    size_t varied[MRPC_RUNSET_MAX_PARAMS];
    size_t nv = mrpc_analysis_stage_varied(a, gi, varied, MRPC_RUNSET_MAX_PARAMS);
    snprintf(t->note, sizeof t->note, "The runs of stage \"grid\" in wave order with the parameters the grid varies.");
    mrpc_table_add_col(t, "run_id", 0);
    mrpc_table_add_col(t, "status", 0);
    int pcol[MRPC_RUNSET_MAX_PARAMS];
    for (size_t k = 0; k < nv; k++) pcol[k] = mrpc_table_add_col(t, s->params[varied[k]].name, 1);
    int c_obj = mrpc_table_add_col(t, "objective", 1);
    int c_acc = mrpc_table_add_col(t, "accuracy", 1);
    int c_f1 = mrpc_table_add_col(t, "f1", 1);
    if (gi < 0) return;
    const mrpc_analysis_stage *g = &a->stages[gi];
    for (size_t i = g->first; i < g->first + g->count; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        size_t row = mrpc_table_add_row(t);
        if (row == (size_t)-1) return;
        mrpc_table_set_row_class(t, row, (int)i == a->best || (g->n_top && g->top[0] == i) ? "best" : row_class_of(r));
        mrpc_table_set(t, row, 0, r->run_id, NULL);
        set_status(t, row, 1, r);
        for (size_t k = 0; k < nv; k++) set_param(t, row, pcol[k], s, varied[k], r->x[varied[k]]);
        if (r->usable) mrpc_table_set_f64(t, row, c_obj, r->objective, 100, 2, 0);
        set_summary_num(t, row, c_acc, r, r->rec.summary.accuracy, 1);
        set_summary_num(t, row, c_f1, r, r->rec.summary.f1, 1);
    }
}

static void build_bayes(const mrpc_analysis *a, mrpc_table *t) {
    const mrpc_runset *s = a->study;
    int bi = mrpc_analysis_find_stage(a, "bayes");
    mrpc_table_init(t, "bayes", "Stage 3: Bayesian-optimisation suggestions in order");
    snprintf(t->note, sizeof t->note,
             "Suggestions in wave and task order; best_so_far is the best usable objective of stage 3 up to that run.");
    size_t varied[MRPC_RUNSET_MAX_PARAMS];
    size_t nv = mrpc_analysis_stage_varied(a, bi, varied, MRPC_RUNSET_MAX_PARAMS);
    mrpc_table_add_col(t, "index", 1);
    mrpc_table_add_col(t, "wave", 1);
    mrpc_table_add_col(t, "task", 1);
    mrpc_table_add_col(t, "run_id", 0);
    mrpc_table_add_col(t, "status", 0);
    int pcol[MRPC_RUNSET_MAX_PARAMS];
    for (size_t k = 0; k < nv; k++) pcol[k] = mrpc_table_add_col(t, s->params[varied[k]].name, 1);
    int c_obj = mrpc_table_add_col(t, "objective", 1);
    int c_bsf = mrpc_table_add_col(t, "best_so_far", 1);
    int c_new = mrpc_table_add_col(t, "new_best", 0);
    if (bi < 0) return;
    const mrpc_analysis_stage *g = &a->stages[bi];
    double prev = NAN;
    for (size_t k = 0; k < g->count; k++) {
        const mrpc_runset_run *r = &s->runs[g->first + k];
        size_t row = mrpc_table_add_row(t);
        if (row == (size_t)-1) return;
        mrpc_table_set_row_class(t, row, (int)(g->first + k) == a->best ? "best" : row_class_of(r));
        mrpc_table_set_i64(t, row, 0, (long long)k + 1);
        if (r->wave >= 0) mrpc_table_set_i64(t, row, 1, r->wave);
        if (r->task >= 0) mrpc_table_set_i64(t, row, 2, r->task);
        mrpc_table_set(t, row, 3, r->run_id, NULL);
        set_status(t, row, 4, r);
        for (size_t q = 0; q < nv; q++) set_param(t, row, pcol[q], s, varied[q], r->x[varied[q]]);
        if (r->usable) mrpc_table_set_f64(t, row, c_obj, r->objective, 100, 2, 0);
        double bsf = a->bayes.best_so_far[k];
        mrpc_table_set_f64(t, row, c_bsf, bsf, 100, 2, 0);
        int is_new = !isnan(bsf) && (isnan(prev) || bsf > prev);
        mrpc_table_set(t, row, c_new, is_new ? "yes" : "", NULL);
        prev = bsf;
    }
}

static void build_importance(const mrpc_analysis *a, mrpc_table *t) {
    const mrpc_runset *s = a->study;
    mrpc_table_init(t, "importance", "Parameter importance");
    snprintf(t->note, sizeof t->note,
             "Random-forest importance (%zu trees, mean decrease in impurity, sums to 1) and correlations of each "
             "parameter (unit / log10 scale) with the %s over %zu usable runs.",
             a->opt.n_trees, s->objective, a->imp_n_runs);
    int undefined = 0;
    for (size_t k = 0; k < a->n_imp; k++) undefined |= !isfinite(a->imp_pearson[k]) || !isfinite(a->imp_spearman[k]);
    if (undefined) {
        size_t used = strlen(t->note);
        snprintf(t->note + used, sizeof t->note - used,
                 " An empty correlation is undefined: the parameter, or the %s, takes a single value over these runs.",
                 s->objective);
    }
    mrpc_table_add_col(t, "parameter", 0);
    mrpc_table_add_col(t, "scale", 0);
    mrpc_table_add_col(t, "rf_importance", 1);
    mrpc_table_add_col(t, "pearson", 1);
    mrpc_table_add_col(t, "spearman", 1);
    mrpc_table_add_col(t, "n_runs", 1);
    size_t order[MRPC_RUNSET_MAX_PARAMS];
    for (size_t k = 0; k < a->n_imp; k++) order[k] = k;
    for (size_t i = 1; i < a->n_imp; i++)
        for (size_t j = i; j > 0; j--) {
            double x = a->have_forest ? a->imp_rf[order[j]] : fabs(a->imp_spearman[order[j]]);
            double y = a->have_forest ? a->imp_rf[order[j - 1]] : fabs(a->imp_spearman[order[j - 1]]);
            if (!(isnan(y) || (!isnan(x) && x > y))) break;
            size_t tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    for (size_t q = 0; q < a->n_imp; q++) {
        size_t k = order[q];
        size_t row = mrpc_table_add_row(t);
        if (row == (size_t)-1) return;
        const mrpc_runset_param *P = &s->params[a->imp_param[k]];
        mrpc_table_set(t, row, 0, P->name, NULL);
        mrpc_table_set(t, row, 1, P->log_scale ? "log" : "linear", NULL);
        mrpc_table_set_f64(t, row, 2, a->imp_rf[k], 1, 3, 0);
        mrpc_table_set_f64(t, row, 3, a->imp_pearson[k], 1, 2, 1);
        mrpc_table_set_f64(t, row, 4, a->imp_spearman[k], 1, 2, 1);
        mrpc_table_set_i64(t, row, 5, (long long)a->imp_n_runs);
    }
}

static void stat_row(mrpc_table *t, const char *name, double est, double lo, double hi, double scale, int digits,
                     int sign, const char *reading) {
    size_t row = mrpc_table_add_row(t);
    if (row == (size_t)-1) return;
    mrpc_table_set(t, row, 0, name, NULL);
    mrpc_table_set_f64(t, row, 1, est, scale, digits, sign);
    mrpc_table_set_f64(t, row, 2, lo, scale, digits, sign);
    mrpc_table_set_f64(t, row, 3, hi, scale, digits, sign);
    mrpc_table_set(t, row, 4, reading ? reading : "", NULL);
}

static void build_statistics(const mrpc_analysis *a, mrpc_table *t) {
    mrpc_table_init(t, "statistics", "Statistics and their readings");
    snprintf(t->note, sizeof t->note,
             "Accuracies as fractions in CSV, points here; intervals are %.0f%% percentile bootstrap intervals over the "
             "validation examples (%zu resamples, fixed seed).",
             100 * a->opt.level, a->opt.n_resamples);
    mrpc_table_add_col(t, "statistic", 0);
    mrpc_table_add_col(t, "estimate", 1);
    mrpc_table_add_col(t, "low", 1);
    mrpc_table_add_col(t, "high", 1);
    mrpc_table_add_col(t, "reading", 0);
    stat_row(t, "runs", (double)a->study->n_runs, NAN, NAN, 1, 0, 0, a->reading_runs);
    stat_row(t, "usable_runs", (double)a->n_usable, NAN, NAN, 1, 0, 0, NULL);
    double best = a->best >= 0 ? a->study->runs[a->best].objective : NAN;
    stat_row(t, "best_objective", best, NAN, NAN, 100, 2, 0, a->reading_best);
    if (a->have_mcnemar) {
        stat_row(t, "mcnemar_p", a->mcnemar.p, NAN, NAN, 1, -4, 0, a->reading_mcnemar);
        stat_row(t, "mcnemar_only_best_correct", (double)a->mcnemar.only_a, NAN, NAN, 1, 0, 0, NULL);
        stat_row(t, "mcnemar_only_baseline_correct", (double)a->mcnemar.only_b, NAN, NAN, 1, 0, 0, NULL);
    } else {
        stat_row(t, "mcnemar_p", NAN, NAN, NAN, 1, -4, 0, a->reading_mcnemar);
    }
    if (a->have_boot_best) {
        stat_row(t, "best_accuracy", a->boot_best_acc.estimate, a->boot_best_acc.low, a->boot_best_acc.high, 100, 2, 0,
                 a->reading_bootstrap);
        stat_row(t, "best_f1", a->boot_best_f1.estimate, a->boot_best_f1.low, a->boot_best_f1.high, 100, 2, 0, NULL);
    } else {
        stat_row(t, "best_accuracy", NAN, NAN, NAN, 100, 2, 0, a->reading_bootstrap);
    }
    if (a->have_boot_baseline) {
        stat_row(t, "baseline_accuracy", a->boot_baseline_acc.estimate, a->boot_baseline_acc.low,
                 a->boot_baseline_acc.high, 100, 2, 0, NULL);
        stat_row(t, "baseline_f1", a->boot_baseline_f1.estimate, a->boot_baseline_f1.low, a->boot_baseline_f1.high, 100, 2, 0, NULL);
    }
    if (a->have_boot_diff)
        stat_row(t, "accuracy_difference", a->boot_diff.estimate, a->boot_diff.low, a->boot_diff.high, 100, 2, 1, NULL);
    stat_row(t, "seed_noise", a->sens.noise, NAN, NAN, 100, 2, 0, a->reading_sensitivity);
    stat_row(t, "grid_best", a->grid.n ? a->grid.best_so_far[a->grid.n - 1] : NAN, NAN, NAN, 100, 2, 0, a->reading_grid);
    stat_row(t, "bayes_best", a->bayes.n ? a->bayes.best_so_far[a->bayes.n - 1] : NAN, NAN, NAN, 100, 2, 0,
             a->reading_bayes);
    if (a->bayes.n && a->n_random >= a->bayes.n)
        stat_row(t, "random_search_expected_best", a->random_expected[a->bayes.n - 1], NAN, NAN, 100, 2, 0, NULL);
    stat_row(t, "forest_oob_r2", a->have_forest ? a->forest.oob_r2 : NAN, NAN, NAN, 1, 3, 0, a->reading_importance);
}

mrpc_status mrpc_report_tables_build(const mrpc_analysis *a, mrpc_report_tables *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    build_runs(a, &out->t[MRPC_TABLE_RUNS]);
    build_not_completed(a, &out->t[MRPC_TABLE_NOT_COMPLETED]);
    build_best(a, &out->t[MRPC_TABLE_BEST_BY_STAGE]);
    build_sensitivity(a, &out->t[MRPC_TABLE_SENSITIVITY]);
    build_grid(a, &out->t[MRPC_TABLE_GRID]);
    build_bayes(a, &out->t[MRPC_TABLE_BAYES]);
    build_importance(a, &out->t[MRPC_TABLE_IMPORTANCE]);
    build_statistics(a, &out->t[MRPC_TABLE_STATISTICS]);
    mrpc_rungs_table(a->study, &out->t[MRPC_TABLE_RUNGS]);
    mrpc_confirmation_table(a->study, &out->t[MRPC_TABLE_CONFIRMATION]);
    for (int k = 0; k < MRPC_TABLE_COUNT; k++) {
        mrpc_status st = mrpc_table_status(&out->t[k], err);
        if (st != MRPC_OK) {
            mrpc_report_tables_free(out);
            return st;
        }
    }
    return MRPC_OK;
}

void mrpc_report_tables_free(mrpc_report_tables *t) {
    if (!t) return;
    for (int k = 0; k < MRPC_TABLE_COUNT; k++) mrpc_table_free(&t->t[k]);
}

static mrpc_status write_buf(const char *dir, const char *name, const char *ext, mrpc_textbuf *b, mrpc_error *err) {
    mrpc_status st = mrpc_textbuf_status(b, err);
    if (st != MRPC_OK) return st;
    char path[2048];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext) >= sizeof path)
        return mrpc_error_set(err, MRPC_ERR_INVALID, dir, 0, 0, NULL, "output path too long");
    return mrpc_file_write_atomic(path, b->data ? b->data : "", b->len, err);
}

mrpc_status mrpc_report_tables_write(const mrpc_report_tables *t, const char *dir, mrpc_error *err) {
    for (int k = 0; k < MRPC_TABLE_COUNT; k++) {
        mrpc_textbuf csv, md;
        mrpc_textbuf_init(&csv);
        mrpc_textbuf_init(&md);
        mrpc_table_csv(&t->t[k], &csv);
        mrpc_table_markdown(&t->t[k], &md);
        mrpc_status st = write_buf(dir, t->t[k].name, "csv", &csv, err);
        if (st == MRPC_OK) st = write_buf(dir, t->t[k].name, "md", &md, err);
        mrpc_textbuf_free(&csv);
        mrpc_textbuf_free(&md);
        if (st != MRPC_OK) return st;
    }
    return MRPC_OK;
}

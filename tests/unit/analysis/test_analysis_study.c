/* test_analysis_study.c — study loading, stage 1 effects and the analysis on the synthetic study
 * of synth_study.h, whose numbers are known: states of every run, baseline repeats, the
 * effect of the learning rate, the best run, the order of stage 3. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "fsutil.h"
#include "runset.h"
#include "synth_study.h"
#include "testutil.h"

static const mrpc_runset_run *find(const mrpc_runset *s, const char *id) {
    for (size_t i = 0; i < s->n_runs; i++)
        if (strcmp(s->runs[i].run_id, id) == 0) return &s->runs[i];
    return NULL;
}

static void check_full(const char *dir, const synth_info *info) {
    mrpc_runset s;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_runset_load(dir, "accuracy", &s, &err), &err)) return;
    CHECK(s.n_runs == info->n_runs, "%zu runs, want %zu", s.n_runs, info->n_runs);
    CHECK(mrpc_runset_count(&s, MRPC_RUNSET_COMPLETED) == 40, "completed %zu", mrpc_runset_count(&s, MRPC_RUNSET_COMPLETED));
    CHECK(mrpc_runset_count(&s, MRPC_RUNSET_FAILED) == 1, "failed");
    CHECK(mrpc_runset_count(&s, MRPC_RUNSET_DIVERGED) == 1, "diverged");
    CHECK(mrpc_runset_count(&s, MRPC_RUNSET_RUNNING) == 1, "running");
    CHECK(mrpc_runset_count(&s, MRPC_RUNSET_MISSING) == 1, "missing");
    CHECK(mrpc_runset_count(&s, MRPC_RUNSET_UNREADABLE) == 1, "unreadable");
    CHECK(s.has_study_yaml && s.n_wave_files == 4, "study.yaml and 4 tasks.tsv (got %zu)", s.n_wave_files);
    CHECK(strcmp(s.runs[0].run_id, "s1-base-0") == 0, "study order starts with the first stage 1 task: %s", s.runs[0].run_id);

    /* Every record's numbers are exactly what was written. */
    for (size_t k = 0; k < info->n_runs; k++) {
        const synth_run *w = &info->runs[k];
        const mrpc_runset_run *r = find(&s, w->run_id);
        if (!CHECK(r != NULL, "run %s not found", w->run_id)) continue;
        CHECK(strcmp(mrpc_runset_state_str(r->state), w->status) == 0, "%s: state %s, want %s", w->run_id,
              mrpc_runset_state_str(r->state), w->status);
        CHECK(strcmp(r->stage, w->stage) == 0, "%s: stage %s, want %s", w->run_id, r->stage, w->stage);
        if (strcmp(w->status, "completed") == 0)
            CHECK(r->usable && r->objective == (double)w->correct / SYNTH_N_VAL, "%s: objective %.17g", w->run_id,
                  r->objective);
        if (strcmp(w->status, "unreadable") != 0) {
            for (size_t p = 0; p <= SYNTH_N_PARAMS; p++) {
                int q = mrpc_runset_find_param(&s, info->param_names[p]);
                CHECK(q >= 0 && r->x[q] == w->params[p], "%s: %s = %.17g, want %.17g", w->run_id, info->param_names[p],
                      q >= 0 ? r->x[q] : NAN, w->params[p]);
            }
        }
    }
    const mrpc_runset_run *m = find(&s, "b3-03");
    if (CHECK(m != NULL, "missing run listed")) {
        CHECK(m->wave == 0 && m->task == 3, "missing run: wave %d task %ld", m->wave, m->task);
        CHECK(strstr(m->reason, "waves/bayes/00/tasks.tsv") != NULL, "reason names the tasks file: %s", m->reason);
    }
    const mrpc_runset_run *u = find(&s, "b3-06");
    if (CHECK(u != NULL, "unreadable run named from its tasks.tsv row")) {
        CHECK(strcmp(u->stage, "bayes") == 0 && u->wave == 1 && u->task == 1, "unreadable: stage %s wave %d task %ld",
              u->stage, u->wave, u->task);
        CHECK(strstr(u->reason, "b3-06.h5") != NULL, "reason names the file: %s", u->reason);
    }
    const mrpc_runset_run *f = find(&s, "g2-05");
    if (f) CHECK(strstr(f->reason, "out of memory") != NULL, "failed run keeps its status_reason: %s", f->reason);

    int lr = mrpc_runset_find_param(&s, "learning_rate"), ep = mrpc_runset_find_param(&s, "num_epochs");
    int seed = mrpc_runset_find_param(&s, "seed"), wd = mrpc_runset_find_param(&s, "weight_decay");
    CHECK(lr >= 0 && s.params[lr].log_scale && s.params[lr].log_from_space, "learning_rate is log (study.yaml)");
    CHECK(wd >= 0 && s.params[wd].log_scale, "weight_decay is log");
    int wu = mrpc_runset_find_param(&s, "warmup_steps");
    CHECK(wu >= 0 && !s.params[wu].log_scale && s.params[wu].log_from_space, "warmup_steps: inferred distribution, linear");
    CHECK(ep >= 0 && !s.params[ep].log_scale && s.params[ep].is_int, "num_epochs is a linear integer");
    CHECK(seed >= 0 && s.params[seed].is_seed, "seed is a seed");

    mrpc_analysis a;
    if (!CHECK_OK(mrpc_analysis_compute(&s, NULL, &a, &err), &err)) {
        mrpc_runset_free(&s);
        return;
    }
    CHECK(a.n_usable == 40, "usable %zu", a.n_usable);
    CHECK(a.n_stages == 3 && strcmp(a.stages[0].name, "sensitivity") == 0 && strcmp(a.stages[1].name, "grid") == 0 &&
              strcmp(a.stages[2].name, "bayes") == 0,
          "stages in order");
    CHECK(a.best >= 0 && strcmp(s.runs[a.best].run_id, info->best_run_id) == 0, "best %s, want %s",
          a.best >= 0 ? s.runs[a.best].run_id : "-", info->best_run_id);
    CHECK(a.baseline >= 0 && strcmp(s.runs[a.baseline].run_id, "s1-base-0") == 0, "baseline is s1-base-0");
    const mrpc_effects *z = &a.sens;
    CHECK(z->found && z->n_baseline == 3 && z->n_baseline_usable == 3, "3 baseline repeats (%zu)", z->n_baseline);
    CHECK_CLOSE(z->baseline_objective, info->baseline_mean, 1e-15, 1e-12, "baseline mean");
    CHECK(z->noise_from_seeds, "noise from seed repeats");
    CHECK_CLOSE(z->noise, info->baseline_std, 1e-15, 1e-12, "seed noise = std of the repeats");
    CHECK(z->n_params == 7 && z->n_unclassified == 0, "7 parameters with levels (%zu), none unclassified", z->n_params);
    if (z->n_params) {
        CHECK(z->params[0].param == (size_t)lr && z->params[0].rank == 1, "learning_rate ranks first");
        CHECK_CLOSE(z->params[0].effect, info->lr_effect, 1e-15, 1e-12, "learning_rate effect");
        CHECK(z->params[0].n_levels == 2 && !z->params[0].levels[1].usable, "the high learning rate diverged");
    }
    size_t chosen = 0;
    for (size_t k = 0; k < z->n_params; k++) {
        const char *name = s.params[z->params[k].param].name;
        int want = strcmp(name, "learning_rate") == 0 || strcmp(name, "num_epochs") == 0 ||
                   strcmp(name, "train_batch_size") == 0;
        CHECK(z->params[k].chosen == want, "%s chosen = %d", name, z->params[k].chosen);
        chosen += (size_t)z->params[k].chosen;
    }
    CHECK(chosen == 3 && z->chosen_source == MRPC_EFFECTS_CHOSEN_OPTIMIZER && z->has_optimizer_file &&
              z->optimizer_complete,
          "three chosen, from sensitivity.yaml");
    for (size_t k = 0; k < z->n_params; k++) {
        const char *name = s.params[z->params[k].param].name;
        if (strcmp(name, "learning_rate") == 0) {
            CHECK(z->params[k].opt_rank == 1, "optimizer rank of learning_rate");
            CHECK_CLOSE(z->params[k].opt_effect, 0.07434640522875813, 0, 0, "optimizer effect of learning_rate");
        }
        if (strcmp(name, "weight_decay") == 0)
            CHECK(z->params[k].opt_rank == 0 && isnan(z->params[k].opt_effect), "null rank and effect stay absent");
    }
    CHECK(strstr(a.reading_sensitivity, "mrpc-optimize tuned: learning_rate, num_epochs, train_batch_size") != NULL,
          "sensitivity reading names the optimizer's choice: %s", a.reading_sensitivity);
    CHECK(a.have_mcnemar && a.mcnemar.n == SYNTH_N_VAL, "McNemar on 408 paired examples");
    CHECK(a.mcnemar.correct_a == (size_t)lround(info->best_accuracy * SYNTH_N_VAL), "best's correct count");
    CHECK(a.have_boot_best && a.have_boot_baseline && a.have_boot_diff, "bootstrap intervals");
    CHECK(a.bayes.n == 10 && a.grid.n == 18 && a.n_random == 18, "progress lengths %zu %zu %zu", a.bayes.n, a.grid.n,
          a.n_random);
    CHECK(isnan(a.bayes.objective[3]) && isnan(a.bayes.objective[6]) && isnan(a.bayes.objective[8]),
          "missing, unreadable and running suggestions have no objective");
    for (size_t k = 1; k < a.bayes.n; k++) CHECK(a.bayes.best_so_far[k] >= a.bayes.best_so_far[k - 1], "best so far grows");
    for (size_t k = 1; k < a.n_random; k++)
        CHECK(a.random_expected[k] >= a.random_expected[k - 1], "random-search reference grows");
    CHECK(a.random_expected[a.n_random - 1] <= info->best_accuracy, "reference stays below the best");
    CHECK(a.have_forest && a.imp_n_runs == 40, "forest over 40 runs");
    double sum = 0;
    for (size_t k = 0; k < a.n_imp; k++) sum += a.imp_rf[k];
    CHECK_CLOSE(sum, 1, 1e-12, 0, "importances sum to 1");
    for (size_t k = 0; k < a.n_imp; k++) CHECK(a.imp_param[k] != (size_t)seed, "seed is not a knob");
    CHECK(strstr(a.reading_runs, "1 failed") && strstr(a.reading_runs, "1 diverged") && strstr(a.reading_runs, "1 missing") &&
              strstr(a.reading_runs, "1 unreadable") && strstr(a.reading_runs, "1 running"),
          "summary reading counts every state: %s", a.reading_runs);
    CHECK(strstr(a.reading_mcnemar, "McNemar exact p = ") != NULL, "McNemar reading: %s", a.reading_mcnemar);
    mrpc_analysis_free(&a);
    mrpc_runset_free(&s);
}

int main(void) {
    const char *tmp = mrpc_test_tmpdir();
    char dir[2048], runs[2100], small[2048], empty[2048];
    snprintf(dir, sizeof dir, "%s/study", tmp);
    synth_info info;
    mrpc_error err = {0};
    if (!CHECK_OK(synth_study_write(dir, &info, &err), &err)) return mrpc_test_report();
    check_full(dir, &info);

    /* Without mrpc-optimize's sensitivity.yaml, the chosen parameters are the ones the grid varied;
       PATH may also be the study file itself. */
    char sy[2200], sf[2200];
    snprintf(sy, sizeof sy, "%s/sensitivity.yaml", dir);
    snprintf(sf, sizeof sf, "%s/study.yaml", dir);
    CHECK(remove(sy) == 0, "removed sensitivity.yaml");
    mrpc_runset s0;
    if (CHECK_OK(mrpc_runset_load(sf, NULL, &s0, &err), &err)) {
        CHECK(strcmp(s0.root, dir) == 0 && strcmp(s0.objective, "accuracy") == 0, "study file PATH: root %s", s0.root);
        mrpc_analysis a0;
        if (CHECK_OK(mrpc_analysis_compute(&s0, NULL, &a0, &err), &err)) {
            size_t n_chosen = 0;
            for (size_t k = 0; k < a0.sens.n_params; k++) n_chosen += (size_t)a0.sens.params[k].chosen;
            CHECK(a0.sens.chosen_source == MRPC_EFFECTS_CHOSEN_GRID && n_chosen == 3 && !a0.sens.has_optimizer_file,
                  "chosen from the grid stage without sensitivity.yaml");
            mrpc_analysis_free(&a0);
        }
        mrpc_runset_free(&s0);
    }

    /* PATH = the runs directory: the study around it is found (study.yaml, waves/). */
    snprintf(runs, sizeof runs, "%s/runs", dir);
    mrpc_runset s;
    if (CHECK_OK(mrpc_runset_load(runs, "f1", &s, &err), &err)) {
        CHECK(strcmp(s.root, dir) == 0 && s.n_runs == info.n_runs, "root %s, %zu runs", s.root, s.n_runs);
        CHECK(mrpc_runset_count(&s, MRPC_RUNSET_MISSING) == 1, "missing found through the parent");
        const mrpc_runset_run *b = find(&s, "s1-base-0");
        CHECK(b && b->objective == b->rec.summary.f1, "objective f1");
        mrpc_runset_free(&s);
    }

    /* A tiny study: statistics that need more runs say so instead of pretending. */
    snprintf(small, sizeof small, "%s/small", tmp);
    synth_info si;
    if (CHECK_OK(synth_study_write_small(small, 5, &si, &err), &err) && CHECK_OK(mrpc_runset_load(small, "accuracy", &s, &err), &err)) {
        mrpc_analysis a;
        if (CHECK_OK(mrpc_analysis_compute(&s, NULL, &a, &err), &err)) {
            CHECK(!a.have_forest, "no forest on 5 runs");
            CHECK(strstr(a.reading_importance, "too few") != NULL, "importance reading says too few: %s", a.reading_importance);
            CHECK(strstr(a.reading_bayes, "no run has stage") != NULL, "no bayes stage: %s", a.reading_bayes);
            mrpc_analysis_free(&a);
        }
        mrpc_runset_free(&s);
    }

    /* Errors. */
    snprintf(empty, sizeof empty, "%s/empty", tmp);
    CHECK_OK(mrpc_mkdir_p(empty, &err), &err);
    CHECK(mrpc_runset_load(empty, "accuracy", &s, &err) == MRPC_ERR_IO, "empty directory: no records");
    CHECK(strstr(err.message, "no run records") != NULL, "message: %s", err.message);
    CHECK(mrpc_runset_load("/nonexistent/study", "accuracy", &s, &err) == MRPC_ERR_IO, "missing directory");
    CHECK(mrpc_runset_load(dir, "loss", &s, &err) == MRPC_ERR_INVALID, "unknown objective");
    mrpc_runset_free(NULL);
    mrpc_analysis_free(NULL);

    /* A malformed tasks.tsv row becomes a warning, not a failure. */
    char bad[2200];
    snprintf(bad, sizeof bad, "%s/waves/bayes/02/tasks.tsv", dir);
    const char *tsv = "task_id\trun_id\toutput\tlearning_rate\n0\tb3-10\truns/b3-10.h5\n1\tb3-11\truns/b3-11.h5\t7e-5\n";
    CHECK_OK(mrpc_mkdir_parent(bad, &err), &err);
    CHECK_OK(mrpc_file_write_atomic(bad, tsv, strlen(tsv), &err), &err);
    if (CHECK_OK(mrpc_runset_load(dir, "accuracy", &s, &err), &err)) {
        CHECK(s.n_warnings == 1 && strstr(s.warnings[0], "waves/bayes/02/tasks.tsv:2") != NULL, "warning: %s",
              s.n_warnings ? s.warnings[0] : "(none)");
        CHECK(mrpc_runset_count(&s, MRPC_RUNSET_MISSING) == 2 && find(&s, "b3-11") != NULL, "the good row is a missing task");
        mrpc_runset_free(&s);
    }
    return mrpc_test_report();
}

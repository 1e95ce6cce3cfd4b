/*
 * test_history_paused.c — a run paused at a rung boundary (pause_after_epoch, record status
 * "paused") as the readers of a study see it: mrpc-optimize's history gives it the state
 * PAUSED with its learning curve (per-epoch accuracy and F1 from /eval) and never counts
 * it completed, failed or interrupted, also after its wave was finalized; the record cache
 * (.mrpc-optimize-cache) keeps it paused with the same curve, bit for bit (checked by making
 * the record unreadable behind the cache's back: only the cache can then say it); `status`
 * prints the paused count; mrpc-analyze's run set lists it as paused, not completed. And a
 * later wave's task of the same run with a larger pause_after_epoch is its promotion, not a
 * retry.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_runs.h"
#include "fsutil.h"
#include "history.h"
#include "optimize.h"
#include "runset.h"
#include "strutil.h"
#include "study_fixture.h"
#include "testutil.h"
#include "wave.h"

/* Accuracies that are exact in neither decimal nor short hex: the cache must keep every bit. */
static const double CURVE_ACC[3] = {0.6123456789012345, 0.7012345678901234, 0.7298765432109876};
static const double CURVE_F1[3] = {0.7111111111111111, 0.7922222222222222, 0.8133333333333333};

/*
 * The record of task `t` as mrpc-train writes it: evaluations after epochs 1..n_epochs,
 * then paused after epoch n_epochs (`pause`) or completed.
 */
static int write_curve_record(const mrpc_wave *w, const mrpc_wave_task *t, int n_epochs, int pause) {
    static mrpc_run_config cfg;
    mrpc_error err = {0};
    mrpc_run_config_defaults(&cfg);
    if (!CHECK_OK(mrpc_run_config_load_file(w->base_config, &cfg, &err), &err) ||
        !CHECK_OK(mrpc_wave_apply_task(w, t, &cfg, &err), &err))
        return 0;
    cfg.attention_dropout = 0.1;
    cfg.classifier_dropout = 0.2;
    mrpc_hparam hp[MRPC_RUNREC_MAX_HPARAMS];
    size_t n = mrpc_run_config_hparams(&cfg, hp, MRPC_RUNREC_MAX_HPARAMS);
    mrpc_runrec_meta meta = {.run_id = t->run_id, .stage = w->stage, .host = "test", .n_ranks = 1, .backend = "cpu",
                             .precision = "fp32", .config_yaml = NULL};
    mrpc_runrec_writer *wr = NULL;
    if (!CHECK_OK(mrpc_runrec_create(cfg.output, &meta, hp, n, &wr, &err), &err)) return 0;
    for (int e = 0; e < n_epochs; e++) {
        for (int s = 1; s <= 10; s++) CHECK_OK(mrpc_runrec_append_train(wr, e * 10 + s, 0.5, 1e-5, 1.0, &err), &err);
        CHECK_OK(mrpc_runrec_append_eval(wr, (e + 1) * 10, e + 1, CURVE_ACC[e], CURVE_F1[e], 0.6, &err), &err);
    }
    if (pause) return CHECK_OK(mrpc_runrec_pause(wr, n_epochs, "paused after epoch 1 of 3", &err), &err);
    mrpc_runrec_summary sum = {CURVE_ACC[n_epochs - 1], CURVE_F1[n_epochs - 1], CURVE_ACC[n_epochs - 1], 1.0, 1000.0};
    return CHECK_OK(mrpc_runrec_finish(wr, MRPC_RUN_COMPLETED, NULL, &sum, &err), &err);
}

static const mrpc_obs *obs_of(const mrpc_history *h, const char *run_id) {
    for (size_t i = 0; i < h->n_obs; i++)
        if (h->obs[i].state != MRPC_OBS_RETRIED && strcmp(h->obs[i].run_id, run_id) == 0) return &h->obs[i];
    return NULL;
}

/* The checks on the paused run's and the 3-epoch run's observations (from HDF5 or from the cache). */
static void check_obs(const mrpc_history *h, const char *paused_id, const char *full_id, const char *how) {
    const mrpc_obs *p = obs_of(h, paused_id), *f = obs_of(h, full_id);
    if (!CHECK(p && f, "%s: both runs observed", how)) return;
    CHECK(p->state == MRPC_OBS_PAUSED && strcmp(mrpc_obs_state_str(p->state), "paused") == 0,
          "%s: paused run is PAUSED (%s)", how, mrpc_obs_state_str(p->state));
    CHECK(p->paused_epoch == 1 && p->epochs_done == 1 && isnan(p->objective) && p->note[0] == '\0',
          "%s: paused after epoch 1, no objective, no problem note (%lld, %lld, %g, \"%s\")", how,
          (long long)p->paused_epoch, (long long)p->epochs_done, p->objective, p->note);
    CHECK(p->epoch_accuracy[0] == CURVE_ACC[0] && p->epoch_f1[0] == CURVE_F1[0] && isnan(p->epoch_accuracy[1]) &&
              isnan(p->epoch_f1[1]),
          "%s: paused run's curve is epoch 1's accuracy and F1, exactly", how);
    CHECK(f->state == MRPC_OBS_COMPLETED && f->epochs_done == 3 && f->paused_epoch == 0, "%s: full run completed", how);
    int same = 1;
    for (int e = 0; e < 3; e++) same &= f->epoch_accuracy[e] == CURVE_ACC[e] && f->epoch_f1[e] == CURVE_F1[e];
    CHECK(same && isnan(f->epoch_accuracy[3]), "%s: full run's curve has 3 exact epochs", how);
}

int main(void) {
    static mrpc_study st;
    char dir[1024], wave_dir[1200];
    if (!study_fixture_first_wave("paused", "  sensitivity: {top_k: 1, seeds: 1}\n", &st, dir, sizeof dir, wave_dir,
                                  sizeof wave_dir))
        return mrpc_test_report();
    mrpc_error err = {0};
    static mrpc_wave w;
    if (!CHECK_OK(mrpc_wave_read(wave_dir, &w, &err), &err) || !CHECK(w.n_tasks >= 3, "%zu tasks", w.n_tasks))
        return mrpc_test_report();
    /* The wave plans task 1 to pause after epoch 1 (the pause_after_epoch column), the others to the end. */
    if (!CHECK(w.n_keys < MRPC_WAVE_MAX_KEYS, "room for a column")) return mrpc_test_report();
    size_t col = w.n_keys++;
    mrpc_str_copy(w.keys[col], sizeof w.keys[0], "pause_after_epoch");
    for (size_t i = 0; i < w.n_tasks; i++) mrpc_str_copy(w.tasks[i].values[col], MRPC_WAVE_VALUE_MAX, i == 1 ? "1" : "0");
    char *tsv = NULL, *meta = NULL;
    if (CHECK_OK(mrpc_wave_format_tasks(&w, &tsv, &err), &err) && CHECK_OK(mrpc_wave_format_meta(&w, &meta, &err), &err)) {
        study_fixture_write(wave_dir, "tasks.tsv", tsv);
        study_fixture_write(wave_dir, "wave.yaml", meta);
    }
    free(tsv);
    free(meta);
    CHECK_OK(fake_run_wave(wave_dir, fake_run_accuracy_of_id, NULL, 0, &err), &err);
    const char *paused_id = w.tasks[1].run_id, *full_id = w.tasks[2].run_id;
    if (!write_curve_record(&w, &w.tasks[1], 1, 1) || !write_curve_record(&w, &w.tasks[2], 3, 0))
        return mrpc_test_report();
    /* The whole array ended: a paused run is still no interruption (never retried). */
    study_fixture_write(wave_dir, "finalized", "");

    /* From the records. */
    mrpc_history h;
    size_t n_completed = 0;
    if (CHECK_OK(mrpc_history_load_update(&st, &h, &err), &err)) {
        check_obs(&h, paused_id, full_id, "records");
        for (size_t i = 0; i < h.n_obs; i++) n_completed += h.obs[i].state == MRPC_OBS_COMPLETED;
        CHECK(n_completed == w.n_tasks - 1, "every run but the paused one completed (%zu of %zu)", n_completed,
              w.n_tasks);
        const mrpc_obs *best = mrpc_history_best(&st, &h);
        CHECK(best && strcmp(best->run_id, paused_id) != 0, "a paused run is never the best");
        mrpc_history_free(&h);
    }

    /* The cache holds it, paused, with its curve. */
    char cache_path[1200];
    snprintf(cache_path, sizeof cache_path, "%s/.mrpc-optimize-cache", dir);
    char *cache = NULL;
    size_t cache_size = 0;
    if (CHECK_OK(mrpc_file_read_all(cache_path, 1 << 24, &cache, &cache_size, &err), &err)) {
        CHECK(strncmp(cache, "# mrpc-optimize record cache v2\n", 32) == 0, "cache format v2");
        char needle[300];
        snprintf(needle, sizeof needle, "\t%s\t%d\t", paused_id, (int)MRPC_RUN_PAUSED);
        CHECK(strstr(cache, needle) != NULL, "the paused record is cached with its status");
        free(cache);
    }
    /* Damage the paused record in place, keeping its size, inode and mtime: only the cache knows it now. */
    char rec_path[2048];
    snprintf(rec_path, sizeof rec_path, "%s/%s", dir, w.tasks[1].output);
    struct stat before;
    if (CHECK(stat(rec_path, &before) == 0, "stat the paused record")) {
        int fd = open(rec_path, O_WRONLY);
        char zeros[64] = {0};
        CHECK(fd >= 0 && pwrite(fd, zeros, sizeof zeros, 0) == (ssize_t)sizeof zeros, "damage the superblock");
        if (fd >= 0) close(fd);
        struct timespec times[2] = {before.st_atim, before.st_mtim};
        CHECK(utimensat(AT_FDCWD, rec_path, times, 0) == 0, "restore the mtime");
    }
    if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) {
        CHECK(h.n_unreadable == 0, "the damaged record came from the cache (%zu unreadable)", h.n_unreadable);
        check_obs(&h, paused_id, full_id, "cache");
        mrpc_history_free(&h);
    }
    /* Without the cache, the damaged file is what it is: unreadable (the check above was not vacuous). */
    remove(cache_path);
    if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) {
        CHECK(h.n_unreadable == 1, "without the cache the damaged record is unreadable (%zu)", h.n_unreadable);
        mrpc_history_free(&h);
    }
    write_curve_record(&w, &w.tasks[1], 1, 1); /* the intact paused record again */

    /* mrpc-optimize status counts it as paused. */
    char *text = NULL;
    size_t text_size = 0;
    FILE *out = open_memstream(&text, &text_size);
    if (CHECK(out != NULL, "memstream")) {
        CHECK_OK(mrpc_optimize_status(&st, "/opt/mrpc/bin", out, &err), &err);
        fclose(out);
        char want[64];
        snprintf(want, sizeof want, "%zu completed, 0 failed", n_completed);
        CHECK(text && strstr(text, want) && strstr(text, ", 1 paused"), "status prints the paused run:\n%s",
              text ? text : "");
        free(text);
    }

    /* mrpc-analyze's run set: paused, not completed, not failed. */
    static mrpc_runset rs;
    if (CHECK_OK(mrpc_runset_load(dir, "accuracy", &rs, &err), &err)) {
        CHECK(mrpc_runset_count(&rs, MRPC_RUNSET_PAUSED) == 1 && mrpc_runset_count(&rs, MRPC_RUNSET_COMPLETED) == n_completed &&
                  mrpc_runset_count(&rs, MRPC_RUNSET_FAILED) == 0 && mrpc_runset_count(&rs, MRPC_RUNSET_MISSING) == 0,
              "run set: 1 paused, %zu completed (got %zu paused, %zu completed)", n_completed,
              mrpc_runset_count(&rs, MRPC_RUNSET_PAUSED), mrpc_runset_count(&rs, MRPC_RUNSET_COMPLETED));
        CHECK(strcmp(mrpc_runset_state_str(MRPC_RUNSET_PAUSED), "paused") == 0, "run set state name");
        mrpc_runset_free(&rs);
    }

    /* A promotion: wave 00 planned the run to pause after epoch 1, wave 01 lists it again to the end. */
    {
        static mrpc_wave w1;
        w1 = w;
        w1.wave = 1;
        w1.n_tasks = 1;
        w1.tasks = &w.tasks[1];
        mrpc_wave_task saved = w.tasks[1];
        w.tasks[1].task_id = 0;
        mrpc_str_copy(w.tasks[1].values[col], MRPC_WAVE_VALUE_MAX, "0");
        char w1_dir[1300];
        snprintf(w1_dir, sizeof w1_dir, "%s/waves/%s/01", dir, w.stage);
        if (CHECK_OK(mrpc_wave_format_tasks(&w1, &tsv, &err), &err) && CHECK_OK(mrpc_wave_format_meta(&w1, &meta, &err), &err)) {
            study_fixture_write(w1_dir, "tasks.tsv", tsv);
            study_fixture_write(w1_dir, "wave.yaml", meta);
        }
        free(tsv);
        free(meta);
        w.tasks[1] = saved;
        if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) {
            const mrpc_obs *o = obs_of(&h, paused_id);
            const mrpc_obs *first = NULL;
            for (size_t i = 0; i < h.n_obs; i++)
                if (h.obs[i].state == MRPC_OBS_RETRIED && strcmp(h.obs[i].run_id, paused_id) == 0) first = &h.obs[i];
            /* Its record still says paused after epoch 1: the promotion has yet to run. */
            CHECK(o && o->wave == 1 && o->state == MRPC_OBS_PENDING && o->attempts == 1 && o->pause_after_epoch == 0 &&
                      o->epochs_done == 1 && o->epoch_accuracy[0] == CURVE_ACC[0],
                  "the promotion is the run's observation, pending, with the curve so far, not a retry (%s, attempts %d)",
                  o ? mrpc_obs_state_str(o->state) : "none", o ? o->attempts : -1);
            CHECK(first && first->pause_after_epoch == 1 && strstr(first->note, "promoted in wave 01"),
                  "the paused task is superseded by its promotion (%s)", first ? first->note : "none");
            mrpc_history_free(&h);
        }
        /* mrpc-analyze: a promotion, not a retry; the column is no hyperparameter. */
        static mrpc_runset rs2;
        if (CHECK_OK(mrpc_runset_load(dir, "accuracy", &rs2, &err), &err)) {
            const mrpc_runset_run *pr = NULL;
            for (size_t i = 0; i < rs2.n_runs; i++)
                if (strcmp(rs2.runs[i].run_id, paused_id) == 0) pr = &rs2.runs[i];
            CHECK(pr && pr->promotions == 1 && pr->retries == 0 && pr->wave == 1 && pr->pause_after_epoch == 0 &&
                      pr->state == MRPC_RUNSET_PAUSED,
                  "run set: promoted once, never retried (%d promotions, %d retries)", pr ? pr->promotions : -1,
                  pr ? pr->retries : -1);
            int has_pause_param = 0;
            for (size_t k = 0; k < rs2.n_params; k++) has_pause_param |= strcmp(rs2.params[k].name, "pause_after_epoch") == 0;
            CHECK(!has_pause_param, "run set: pause_after_epoch is not a parameter");
            mrpc_runset_free(&rs2);
        }
    }
    mrpc_wave_clear(&w);
    return mrpc_test_report();
}

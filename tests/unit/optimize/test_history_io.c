/*
 * test_one_record.c — one run id, one record, and metrics in range, as both readers of a
 * study see it: mrpc-optimize's history and mrpc-analyze's run set load the same study
 * (a sensitivity wave run by the fake trainer) after copies of records were left in
 * runs/ (x.bak.h5 and an alphabetically first copy holding the same run id, a hand-made
 * run with a backup) and records with out-of-range metrics were written. Both must pick
 * the same file for every run (the wave task's own output path; for a run outside the
 * waves the file named after its run id), ignore and report the copies, and refuse the
 * out-of-range records with a reason naming the file and the attribute.
 *
 * And the record cache: a temporary cache file left by an mrpc-optimize killed while
 * writing it (.mrpc-optimize-cache.tmp.<host>.<pid>.<ns>) is removed, and reported, by
 * the next `next` under the study's lock, not by read-only calls, and a temporary file
 * newer than that call (a live writer's) is left alone.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "fake_runs.h"
#include "fsutil.h"
#include "optimize.h"
#include "record_owner.h"
#include "runset.h"
#include "study_fixture.h"
#include "testutil.h"
#include "wave.h"

/* The run config of a task (base config + its row), as mrpc-train would run it. */
static int task_config(const mrpc_wave *w, const mrpc_wave_task *t, mrpc_run_config *cfg) {
    mrpc_error err = {0};
    mrpc_run_config_defaults(cfg);
    return CHECK_OK(mrpc_run_config_load_file(w->base_config, cfg, &err), &err) &&
           CHECK_OK(mrpc_wave_apply_task(w, t, cfg, &err), &err);
}

/* Writes a record of run `run_id` at dir/name with `acc`. */
static void write_record(const char *dir, const char *name, const mrpc_run_config *cfg, const char *run_id,
                         double acc) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mrpc_error err = {0};
    CHECK_OK(fake_run_write(path, cfg, run_id, MRPC_RUN_COMPLETED, acc, &err), &err);
}

/* A file at dir/name whose modification time is `age` seconds ago (negative: in the future). */
static void write_aged(const char *dir, const char *name, double age, char *path, size_t size) {
    snprintf(path, size, "%s/%s", dir, name);
    study_fixture_write(dir, name, "partial cache");
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= (time_t)age;
    t[1] = t[0];
    CHECK(utimensat(AT_FDCWD, path, t, 0) == 0, "set the age of %s", name);
}

static int has_line(char **lines, size_t n, const char *a, const char *b) {
    for (size_t i = 0; i < n; i++)
        if (strstr(lines[i], a) && (!b || strstr(lines[i], b))) return 1;
    return 0;
}

int main(void) {
    static mrpc_study st;
    char dir[1024], wave_dir[1200];
    const char *stages = "  sensitivity: {top_k: 1, seeds: 2}\n"
                         "  grid: {}\n"
                         "  bayes: {budget: 4, wave_size: 2}\n";
    if (!study_fixture_first_wave("dup", stages, &st, dir, sizeof dir, wave_dir, sizeof wave_dir))
        return mrpc_test_report();
    mrpc_error err = {0};
    CHECK_OK(fake_run_wave(wave_dir, fake_run_accuracy_of_id, NULL, 0, &err), &err);
    static mrpc_wave w;
    if (!CHECK_OK(mrpc_wave_read(wave_dir, &w, &err), &err) || !CHECK(w.n_tasks >= 4, "%zu tasks", w.n_tasks))
        return mrpc_test_report();

    /* Task 0 (the baseline): its own record, plus two copies with better accuracies. */
    const mrpc_wave_task *t0 = &w.tasks[0];
    static mrpc_run_config cfg;
    if (!task_config(&w, t0, &cfg)) return mrpc_test_report();
    char bak[400], first[400];
    snprintf(bak, sizeof bak, "runs/%s.bak.h5", t0->run_id);
    snprintf(first, sizeof first, "runs/000-copy.h5");
    write_record(dir, bak, &cfg, t0->run_id, 0.96);
    write_record(dir, first, &cfg, t0->run_id, 0.95);
    double own = fake_run_accuracy_of_id(&cfg, t0->run_id, NULL);

    /* Tasks 1 and 2: out-of-range accuracies in their own records. */
    static mrpc_run_config c1, c2;
    if (!task_config(&w, &w.tasks[1], &c1) || !task_config(&w, &w.tasks[2], &c2)) return mrpc_test_report();
    write_record(dir, w.tasks[1].output, &c1, w.tasks[1].run_id, 1e300);
    write_record(dir, w.tasks[2].output, &c2, w.tasks[2].run_id, -5.0);

    /* A run outside the waves (the baseline's settings) and a backup of it that sorts first. */
    write_record(dir, "runs/zz-manual.h5", &cfg, "zz-manual", 0.71);
    write_record(dir, "runs/aa-backup.h5", &cfg, "zz-manual", 0.99);

    /* ---- mrpc-optimize's view ---- */
    mrpc_history h;
    double hist_own = NAN, hist_manual = NAN;
    size_t hist_completed = 0;
    if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) {
        for (size_t i = 0; i < h.n_obs; i++) {
            const mrpc_obs *o = &h.obs[i];
            if (strcmp(o->run_id, t0->run_id) == 0) hist_own = o->objective;
            if (strcmp(o->run_id, "zz-manual") == 0) hist_manual = o->objective;
            hist_completed += o->state == MRPC_OBS_COMPLETED;
        }
        CHECK(hist_own == own, "optimizer: the baseline's record is its task's output (%.17g, want %.17g)", hist_own,
              own);
        CHECK(hist_manual == 0.71, "optimizer: the manual run is the file named after it (%.17g)", hist_manual);
        CHECK(has_line(h.problems, h.n_problems, bak, "output of its wave task") &&
                  has_line(h.problems, h.n_problems, first, "output of its wave task") &&
                  has_line(h.problems, h.n_problems, "runs/aa-backup.h5", "also in runs/zz-manual.h5"),
              "optimizer: the three copies are reported");
        CHECK(h.n_unreadable == 2 && has_line(h.problems, h.n_problems, w.tasks[1].output, "/summary@accuracy") &&
                  has_line(h.problems, h.n_problems, w.tasks[2].output, "/summary@accuracy"),
              "optimizer: out-of-range records refused, naming the file and the attribute (%zu)", h.n_unreadable);
        const mrpc_obs *best = mrpc_history_best(&st, &h);
        CHECK(best && best->objective < 0.9, "optimizer: no copy and no out-of-range value is the best (%.17g)",
              best ? best->objective : NAN);
        for (size_t i = 0; i < h.n_problems; i++)
            printf("note: optimizer: %s\n", h.problems[i]);
    }

    /* ---- mrpc-analyze's view ---- */
    static mrpc_runset rs;
    if (CHECK_OK(mrpc_runset_load(dir, NULL, &rs, &err), &err)) {
        size_t n_own = 0, n_manual = 0, usable = 0;
        for (size_t i = 0; i < rs.n_runs; i++) {
            const mrpc_runset_run *r = &rs.runs[i];
            usable += r->usable;
            if (strcmp(r->run_id, t0->run_id) == 0) {
                n_own++;
                CHECK(r->usable && r->objective == hist_own, "analysis: the baseline is the same record (%.17g)",
                      r->objective);
            }
            if (strcmp(r->run_id, "zz-manual") == 0) {
                n_manual++;
                CHECK(r->objective == hist_manual, "analysis: the manual run is the same record (%.17g)", r->objective);
            }
            if (strcmp(r->run_id, w.tasks[1].run_id) == 0 || strcmp(r->run_id, w.tasks[2].run_id) == 0)
                CHECK(r->state == MRPC_RUNSET_UNREADABLE && strstr(r->reason, "/summary@accuracy") &&
                          strstr(r->reason, "refused"),
                      "analysis: %s refused: %s", r->run_id, r->reason);
            /* Every completed run agrees with the optimizer's observation. */
            for (size_t j = 0; j < h.n_obs && r->usable; j++)
                if (strcmp(h.obs[j].run_id, r->run_id) == 0)
                    CHECK(h.obs[j].state == MRPC_OBS_COMPLETED && h.obs[j].objective == r->objective,
                          "analysis and optimizer agree on %s", r->run_id);
        }
        CHECK(n_own == 1 && n_manual == 1, "analysis: one run per run id (baseline %zu, manual %zu)", n_own, n_manual);
        CHECK(usable == hist_completed, "both count the same completed runs (%zu vs %zu)", usable, hist_completed);
        int warned = 0;
        for (size_t i = 0; i < rs.n_warnings; i++) {
            printf("note: analysis: %s\n", rs.warnings[i]);
            warned += strstr(rs.warnings[i], "ignored") != NULL;
        }
        CHECK(warned == 3, "analysis: the three copies are reported (%d)", warned);
        mrpc_runset_free(&rs);
    }
    mrpc_history_free(&h);

    /* ---- stale temporary record-cache files ---- */
    char stale[2048], live[2048];
    write_aged(dir, ".mrpc-optimize-cache.tmp.node7.4242.123456789", 3600.0, stale, sizeof stale);
    write_aged(dir, ".mrpc-optimize-cache.tmp.node7.4243.987654321", -600.0, live, sizeof live);
    if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) mrpc_history_free(&h);
    CHECK(mrpc_path_exists(stale), "a read-only load leaves the temporary file alone");
    mrpc_next_options opt = {.lock_timeout = 5.0, .bindir = "/opt/mrpc/bin"};
    mrpc_next_result res;
    CHECK_OK(mrpc_optimize_next(&st, &opt, &res, &err), &err);
    CHECK(!mrpc_path_exists(stale), "next (under the lock) removes the stale temporary cache file");
    CHECK(mrpc_path_exists(live), "a temporary file newer than that call is left alone");
    if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) mrpc_history_free(&h);
    char *cache = NULL;
    size_t n_cache = 0;
    char path[2048];
    snprintf(path, sizeof path, "%s/.mrpc-optimize-cache", dir);
    CHECK(mrpc_file_read_all(path, 0, &cache, &n_cache, &err) == MRPC_OK && strstr(cache, "record cache"),
          "the cache itself was written");

    /* A cache entry with an out-of-range metric (an older build cached it) is not trusted:
     * the record is read again. Task 3's accuracy cell (column 8) becomes 2^997. */
    const char *name3 = strrchr(w.tasks[3].output, '/') + 1;
    char *line        = cache ? strstr(cache, name3) : NULL;
    if (CHECK(line != NULL, "task 3 is in the cache")) {
        char *cell = line;
        for (int c = 0; c < 7 && cell; c++) {
            cell = strchr(cell, '\t');
            if (cell) cell++;
        }
        char *end = cell ? strchr(cell, '\t') : NULL;
        if (CHECK(cell && end, "the accuracy cell")) {
            char forged[65536];
            snprintf(forged, sizeof forged, "%.*s0x1p+997%s", (int)(cell - cache), cache, end);
            CHECK_OK(mrpc_file_write_atomic(path, forged, strlen(forged), &err), &err);
            static mrpc_run_config c3;
            double want = task_config(&w, &w.tasks[3], &c3) ? fake_run_accuracy_of_id(&c3, w.tasks[3].run_id, NULL) : NAN;
            if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) {
                for (size_t i = 0; i < h.n_obs; i++)
                    if (strcmp(h.obs[i].run_id, w.tasks[3].run_id) == 0)
                        CHECK(h.obs[i].objective == want, "forged cache value ignored: %.17g (want %.17g)",
                              h.obs[i].objective, want);
                mrpc_history_free(&h);
            }
        }
    }
    free(cache);
    mrpc_wave_clear(&w);
    mrpc_next_result_free(&res);
    return mrpc_test_report();
}

/*
 * test_local_paused.c — the local executor (mrpc-pipeline) and paused runs: a task whose
 * record says "paused" at or after the task's own pause_after_epoch is done (skipped); a
 * task that pauses later or runs to the end (a promotion of the paused run) is started; a
 * task that exits 0 leaving a paused record counts as paused, not completed. The trainer
 * is a stand-in script that logs its task id and, for some tasks, leaves a prepared record.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "local_executor.h"
#include "runrec.h"
#include "strutil.h"
#include "testutil.h"
#include "wave.h"

/* A record of run `run_id` at `path`: one evaluation, then paused after epoch 1 or completed. */
static int write_record(const char *path, const char *run_id, int paused) {
    mrpc_error err = {0};
    mrpc_runrec_meta meta = {.run_id = run_id, .stage = "grid", .host = "test", .n_ranks = 1, .backend = "cpu",
                             .precision = "fp32", .config_yaml = NULL};
    mrpc_runrec_writer *w = NULL;
    if (!CHECK_OK(mrpc_mkdir_parent(path, &err), &err) || !CHECK_OK(mrpc_runrec_create(path, &meta, NULL, 0, &w, &err), &err))
        return 0;
    CHECK_OK(mrpc_runrec_append_train(w, 1, 0.5, 1e-5, 1.0, &err), &err);
    CHECK_OK(mrpc_runrec_append_eval(w, 1, 1, 0.7, 0.8, 0.6, &err), &err);
    if (paused) return CHECK_OK(mrpc_runrec_pause(w, 1, "paused after epoch 1 of 3", &err), &err);
    mrpc_runrec_summary sum = {0.7, 0.8, 0.7, 1.0, 100.0};
    return CHECK_OK(mrpc_runrec_finish(w, MRPC_RUN_COMPLETED, NULL, &sum, &err), &err);
}

static void write_text(const char *path, const char *text) {
    mrpc_error err = {0};
    CHECK_OK(mrpc_mkdir_parent(path, &err), &err);
    CHECK_OK(mrpc_file_write_atomic(path, text, strlen(text), &err), &err);
}

int main(void) {
    const char *tmp = mrpc_test_tmpdir();
    char dir[900], bindir[1100], path[1400], wave_dir[1200];
    snprintf(dir, sizeof dir, "%s/study", tmp);
    snprintf(bindir, sizeof bindir, "%s/bin", tmp);
    snprintf(wave_dir, sizeof wave_dir, "%s/waves/grid/01", dir);
    mrpc_error err = {0};
    CHECK_OK(mrpc_mkdir_p(wave_dir, &err), &err);
    CHECK_OK(mrpc_mkdir_p(bindir, &err), &err);

    /* Tasks: pause_after_epoch and the record each finds. */
    static const struct {
        const char *pause;
        int         record; /* 0 none, 1 paused after epoch 1, 2 completed */
        int         runs;   /* the executor must start it */
    } rows[] = {
        {"1", 1, 0}, /* paused where its row pauses: done */
        {"0", 1, 1}, /* promotion to the end */
        {"2", 1, 1}, /* promotion to epoch 2 */
        {"0", 2, 0}, /* completed: done */
        {"1", 0, 1}, /* new: runs, and (the stand-in) leaves a paused record */
    };
    enum { N = sizeof rows / sizeof rows[0] };
    static mrpc_wave w;
    memset(&w, 0, sizeof w);
    mrpc_str_copy(w.study, sizeof w.study, "s");
    mrpc_str_copy(w.stage, sizeof w.stage, "grid");
    w.wave = 1;
    mrpc_str_copy(w.study_dir, sizeof w.study_dir, dir);
    snprintf(w.study_file, sizeof w.study_file, "%s/study.yaml", dir);
    snprintf(w.base_config, sizeof w.base_config, "%s/base.yaml", dir);
    mrpc_str_copy(w.runs_dir, sizeof w.runs_dir, "runs");
    mrpc_str_copy(w.fixed_hash, sizeof w.fixed_hash, "0123456789abcdef");
    w.n_keys = 2;
    mrpc_str_copy(w.keys[0], sizeof w.keys[0], "learning_rate");
    mrpc_str_copy(w.keys[1], sizeof w.keys[1], "pause_after_epoch");
    static mrpc_wave_task tasks[N];
    for (int i = 0; i < N; i++) {
        tasks[i].task_id = i;
        snprintf(tasks[i].run_id, sizeof tasks[i].run_id, "r%d", i);
        snprintf(tasks[i].output, sizeof tasks[i].output, "runs/r%d.h5", i);
        mrpc_str_copy(tasks[i].values[0], MRPC_WAVE_VALUE_MAX, "0.001");
        mrpc_str_copy(tasks[i].values[1], MRPC_WAVE_VALUE_MAX, rows[i].pause);
        snprintf(path, sizeof path, "%s/runs/r%d.h5", dir, i);
        if (rows[i].record) write_record(path, tasks[i].run_id, rows[i].record == 1);
    }
    w.tasks = tasks;
    w.n_tasks = N;
    char *tsv = NULL, *meta = NULL;
    if (!CHECK_OK(mrpc_wave_format_tasks(&w, &tsv, &err), &err) || !CHECK_OK(mrpc_wave_format_meta(&w, &meta, &err), &err))
        return mrpc_test_report();
    snprintf(path, sizeof path, "%s/tasks.tsv", wave_dir);
    write_text(path, tsv);
    snprintf(path, sizeof path, "%s/wave.yaml", wave_dir);
    write_text(path, meta);
    free(tsv);
    free(meta);

    /* The stand-in trainer: logs the task id; task 4 leaves a paused record, task 1 a completed one. */
    char paused_tpl[1300], done_tpl[1300], log[1300], script[6000];
    snprintf(paused_tpl, sizeof paused_tpl, "%s/paused.h5", tmp);
    snprintf(done_tpl, sizeof done_tpl, "%s/done.h5", tmp);
    snprintf(log, sizeof log, "%s/started.txt", tmp);
    remove(log);
    write_record(paused_tpl, "r4", 1);
    write_record(done_tpl, "r1", 0);
    snprintf(script, sizeof script,
             "#!/bin/sh\n"
             "echo \"$4\" >> '%s'\n"
             "if [ \"$4\" = 4 ]; then cp '%s' '%s/runs/r4.h5'; fi\n"
             "if [ \"$4\" = 1 ]; then cp '%s' '%s/runs/r1.h5'; fi\n"
             "exit 0\n",
             log, paused_tpl, dir, done_tpl, dir);
    snprintf(path, sizeof path, "%s/mrpc-train", bindir);
    write_text(path, script);
    CHECK(chmod(path, 0755) == 0, "stand-in trainer executable");

    mrpc_local_options opts = {1, 0, bindir, 1, NULL};
    mrpc_local_result r;
    if (!CHECK_OK(mrpc_local_run_wave(wave_dir, &opts, &r, &err), &err)) return mrpc_test_report();
    char *started = NULL;
    size_t n = 0;
    CHECK_OK(mrpc_file_read_all(log, 4096, &started, &n, &err), &err);
    CHECK(started && strcmp(started, "1\n2\n4\n") == 0, "started tasks 1, 2 and 4 (the promotions and the new one), got:\n%s",
          started ? started : "");
    free(started);
    CHECK(r.n_tasks == N && r.skipped == 2, "skipped the paused-at-its-pause and the completed task (%d)", r.skipped);
    CHECK(r.completed == 1 && r.paused == 2 && r.failed == 0 && r.interrupted == 0,
          "exit 0 with a paused record counts as paused: %d completed, %d paused", r.completed, r.paused);
    return mrpc_test_report();
}

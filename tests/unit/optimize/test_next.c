/*
 * test_next.c — mrpc-optimize end to end through real files: a study run from the
 * sensitivity stage to "done" with a fake trainer writing HDF5 run records, and the
 * edge cases around it: no runs yet, a corrupt record, all runs failed, a wave
 * re-emitted after the optimizer crashed mid-write, lock contention, --finalize,
 * determinism (byte-identical waves), status, and the command-line tool's stdout
 * lines and exit codes.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_runs.h"
#include "fsutil.h"
#include "optimize.h"
#include "strutil.h"
#include "testutil.h"
#include "wave.h"

#define BINDIR "/opt/mrpc/bin"

static const char base_yaml[] =
    "model:\n  path: random\n"
    "learning_rate: 5.0e-5\nnum_epochs: 3\ntrain_batch_size: 32\ndropout: 0.1\n";

static const char study_yaml[] =
    "name: e2e\nseed: 11\n"
    "objective: {metric: accuracy, goal: maximize}\n"
    "base_config: base.yaml\n"
    "parameters:\n"
    "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 2.0e-4}\n"
    "  weight_decay: {min: 0.0, max: 0.1, baseline: 0.0}\n"
    "  adam_epsilon: {distribution: log_uniform_values, min: 1.0e-9, max: 1.0e-6, baseline: 1.0e-8}\n"
    "  warmup_steps: {min: 0, max: 300, baseline: 0}\n"
    "  dropout: {distribution: q_uniform, min: 0.0, max: 0.3, q: 0.05, baseline: 0.1}\n"
    "  max_seq_length: {values: [64, 128, 256], baseline: 128}\n"
    "  max_grad_norm: {min: 0.5, max: 5.0, baseline: 1.0}\n"
    "  num_epochs: {value: 3}\n"
    "stages:\n"
    "  sensitivity: {top_k: 3, seeds: 3}\n"
    "  grid: {}\n"
    "  bayes: {budget: 10, wave_size: 4}\n"
    "slurm: {partition: gpu, time: \"02:00:00\", gpus: 1, throttle: 4}\n";

/*
 * MRPC-like accuracy: a bell in log learning rate (best near 4e-5), a little help from
 * warmup and a longer max_seq_length, dropout and the rest nearly irrelevant, seed
 * noise of about 0.004; learning rates of 2e-4 diverge.
 */
static double mrpc_like(const mrpc_run_config *c, const char *run_id, void *ctx) {
    (void)run_id; (void)ctx;
    if (c->learning_rate >= 1.9e-4) return INFINITY;
    double a = (log10(c->learning_rate) + 4.4) / 0.45;
    double acc = 0.684 + 0.16 * exp(-0.5 * a * a);
    acc += 0.01 * (1.0 - fabs((double)c->warmup_steps - 150.0) / 150.0);
    acc += c->max_seq_length >= 128 ? 0.01 : 0.0;
    acc -= 0.002 * fabs(c->dropout - 0.1);
    acc += 0.004 * sin(12.9898 * (double)c->seed);
    return acc;
}

static double all_fail(const mrpc_run_config *c, const char *run_id, void *ctx) {
    (void)c; (void)run_id; (void)ctx;
    return NAN;
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mrpc_error err = {0};
    mrpc_mkdir_parent(path, &err);
    CHECK_OK(mrpc_file_write_atomic(path, text, strlen(text), &err), &err);
}

static char *read_file(const char *dir, const char *name) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = NULL;
    size_t n;
    if (mrpc_file_read_all(path, 0, &data, &n, NULL) != MRPC_OK) return NULL;
    return data;
}

/* A fresh study directory under the test's scratch directory. */
static void make_study(char *dir, size_t size, const char *name, const char *study) {
    snprintf(dir, size, "%s/%s", mrpc_test_tmpdir(), name);
    mrpc_error err = {0};
    mrpc_mkdir_p(dir, &err);
    write_file(dir, "base.yaml", base_yaml);
    write_file(dir, "study.yaml", study);
}

static int load(const char *dir, mrpc_study *st) {
    char path[2048];
    snprintf(path, sizeof path, "%s/study.yaml", dir);
    mrpc_error err = {0};
    return CHECK_OK(mrpc_study_load(path, st, &err), &err);
}

static mrpc_status next(const mrpc_study *st, mrpc_next_result *res, int finalize) {
    mrpc_next_options opt = {.lock_timeout = 5.0, .bindir = BINDIR, .finalize = finalize};
    mrpc_error err = {0};
    mrpc_status s = mrpc_optimize_next(st, &opt, res, &err);
    if (s != MRPC_OK) {
        char buf[1024];
        mrpc_error_format(&err, buf, sizeof buf);
        fprintf(stderr, "next: %s\n", buf);
    }
    return s;
}

/* Every configuration of every wave (ignoring the seed column) appears once, except baseline seed repeats
 * (a retried run is the same run continued: its earlier task is superseded, not a second configuration). */
static void check_no_duplicates(const mrpc_study *st) {
    mrpc_history h;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_history_load(st, &h, &err), &err)) return;
    size_t dups = 0;
    for (size_t i = 0; i < h.n_obs; i++)
        for (size_t j = 0; j < i; j++)
            if (h.obs[i].state != MRPC_OBS_RETRIED && h.obs[j].state != MRPC_OBS_RETRIED &&
                mrpc_space_config_equal(&st->space, h.obs[i].values, h.obs[j].values) && h.obs[i].seed == h.obs[j].seed) {
                fprintf(stderr, "duplicate: %s and %s\n", h.obs[i].run_id, h.obs[j].run_id);
                dups++;
            }
    CHECK(dups == 0, "%zu duplicate configurations", dups);
    mrpc_history_free(&h);
}

static void test_full_study(void) {
    char dir[1024];
    make_study(dir, sizeof dir, "full", study_yaml);
    static mrpc_study st;
    if (!load(dir, &st)) return;
    mrpc_next_result res;
    size_t waves[MRPC_STAGE_COUNT] = {0}, tasks[MRPC_STAGE_COUNT] = {0};
    int done = 0;
    for (int it = 0; it < 30 && !done; it++) {
        if (!CHECK(next(&st, &res, 0) == MRPC_OK, "next succeeds (iteration %d)", it)) return;
        if (res.outcome == MRPC_NEXT_DONE) { done = 1; break; }
        if (!CHECK(res.outcome == MRPC_NEXT_WAVE, "a new wave each time the last one has finished (got %d)", res.outcome)) {
            mrpc_next_result_free(&res);
            return;
        }
        waves[res.stage]++;
        tasks[res.stage] += res.n_tasks;
        /* Asking again before the wave ran changes nothing. */
        mrpc_next_result again;
        CHECK(next(&st, &again, 0) == MRPC_OK && again.outcome == MRPC_NEXT_PENDING && again.pending == res.n_tasks,
              "a running wave is not re-emitted (pending=%zu)", again.pending);
        mrpc_next_result_free(&again);
        mrpc_error err = {0};
        CHECK_OK(fake_run_wave(res.wave_dir, mrpc_like, NULL, 0, &err), &err);
        mrpc_next_result_free(&res);
    }
    CHECK(done, "the study reaches done");
    /* weight_decay and warmup_steps have their baseline at the minimum: only a high level. */
    CHECK(waves[MRPC_STAGE_SENSITIVITY] == 1 && tasks[MRPC_STAGE_SENSITIVITY] == 15,
          "one sensitivity wave of 3 baselines + 12 levels (got %zu waves, %zu tasks)", waves[0], tasks[0]);
    CHECK(waves[MRPC_STAGE_GRID] == 1 && tasks[MRPC_STAGE_GRID] == 20,
          "one grid wave: 27 points less the 7 sensitivity runs on the grid (got %zu)", tasks[1]);
    CHECK(tasks[MRPC_STAGE_BAYES] == 10 && waves[MRPC_STAGE_BAYES] == 3, "bayes: budget 10 in waves of 4, 4, 2 (got %zu in %zu)",
          tasks[2], waves[2]);

    char *sens = read_file(dir, "sensitivity.yaml");
    CHECK(sens != NULL, "sensitivity.yaml written");
    if (sens) {
        CHECK(strstr(sens, "tuned: [learning_rate, ") != NULL, "learning rate has the largest effect:\n%s", sens);
        CHECK(strstr(sens, "state: diverged, objective: ") && strstr(sens, "imputed: true"),
              "the diverged high learning rate is imputed with the worst objective");
        CHECK(strstr(sens, "seed_std: null") == NULL, "seed noise measured from 3 seeds");
        free(sens);
    }
    check_no_duplicates(&st);

    /* The best run comes from a late stage and beats the baseline. */
    mrpc_history h;
    mrpc_error err = {0};
    if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) {
        const mrpc_obs *best = mrpc_history_best(&st, &h);
        CHECK(best && best->objective > 0.85, "best accuracy %.4f > 0.85", best ? best->objective : 0);
        mrpc_history_free(&h);
    }
    /* Status tells the story. */
    char path[1200];
    snprintf(path, sizeof path, "%s/status.txt", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        CHECK_OK(mrpc_optimize_status(&st, BINDIR, f, &err), &err);
        fclose(f);
        char *text = read_file(dir, "status.txt");
        CHECK(text && strstr(text, "stage sensitivity: 1 wave, 15 runs: 14 completed, 0 failed, 1 diverged"),
              "status counts the sensitivity runs:\n%s", text ? text : "");
        CHECK(text && strstr(text, "stage bayes: 3 waves, 10 runs of a budget of 10: 10 completed"), "status counts bayes");
        CHECK(text && strstr(text, "best: ") && strstr(text, "next: done"), "status shows best and next");
        free(text);
    }
}

static void test_no_runs_and_determinism(void) {
    /* Two identical studies in two directories give the same tasks.tsv byte for byte; the
     * same directory re-planned gives the same three files. Bayes-only: no runs at all yet. */
    static const char bayes_only[] =
        "name: cold\nseed: 5\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
        "parameters:\n"
        "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 2.0e-4, baseline: 5.0e-5}\n"
        "  warmup_steps: {min: 0, max: 300, baseline: 0}\n"
        "  max_seq_length: {values: [64, 128], baseline: 128}\n"
        "  weight_decay: {min: 0.0, max: 0.0, baseline: 0.0}\n"
        "stages:\n  bayes: {budget: 12, wave_size: 6}\n";
    char a[1024], b[1024];
    make_study(a, sizeof a, "det_a", bayes_only);
    make_study(b, sizeof b, "det_b", bayes_only);
    static mrpc_study sa, sb;
    if (!load(a, &sa) || !load(b, &sb)) return;
    for (int wave = 0; wave < 2; wave++) {
        mrpc_next_result ra, rb;
        if (!CHECK(next(&sa, &ra, 0) == MRPC_OK && next(&sb, &rb, 0) == MRPC_OK, "next")) return;
        CHECK(ra.outcome == MRPC_NEXT_WAVE && ra.n_tasks == 6, "wave %d of 6", wave);
        CHECK(strcmp(ra.files.tasks_tsv, rb.files.tasks_tsv) == 0, "same study, same tasks.tsv (wave %d)", wave);
        /* Re-plan the same wave in a dry run: identical files. */
        char wd[1200];
        mrpc_str_copy(wd, sizeof wd, ra.wave_dir);
        char *tsv = read_file(wd, "tasks.tsv"), *yaml = read_file(wd, "wave.yaml"), *sb_text = read_file(wd, "wave.sbatch");
        char cmd[2400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", wd);
        CHECK(system(cmd) == 0, "removed the wave");
        mrpc_next_result rc;
        if (CHECK(next(&sa, &rc, 0) == MRPC_OK && rc.outcome == MRPC_NEXT_WAVE, "re-planned")) {
            char *tsv2 = read_file(wd, "tasks.tsv"), *yaml2 = read_file(wd, "wave.yaml"), *sb2 = read_file(wd, "wave.sbatch");
            CHECK(tsv && tsv2 && strcmp(tsv, tsv2) == 0, "tasks.tsv byte-identical");
            CHECK(yaml && yaml2 && strcmp(yaml, yaml2) == 0, "wave.yaml byte-identical");
            CHECK(sb_text && sb2 && strcmp(sb_text, sb2) == 0, "wave.sbatch byte-identical");
            free(tsv2); free(yaml2); free(sb2);
        }
        free(tsv); free(yaml); free(sb_text);
        /* The constant-range parameter stays at its single value. */
        CHECK(strstr(ra.files.tasks_tsv, "weight_decay") != NULL, "constant parameter is a column");
        mrpc_error err = {0};
        CHECK_OK(fake_run_wave(ra.wave_dir, mrpc_like, NULL, 0, &err), &err);
        CHECK_OK(fake_run_wave(rb.wave_dir, mrpc_like, NULL, 0, &err), &err);
        mrpc_next_result_free(&ra);
        mrpc_next_result_free(&rb);
        mrpc_next_result_free(&rc);
    }
    check_no_duplicates(&sa);
}

static void test_corrupt_and_foreign_records(void) {
    char dir[1024];
    make_study(dir, sizeof dir, "corrupt", study_yaml);
    static mrpc_study st;
    if (!load(dir, &st)) return;
    mrpc_next_result res;
    if (!CHECK(next(&st, &res, 0) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE, "first wave")) return;
    mrpc_error err = {0};
    CHECK_OK(fake_run_wave(res.wave_dir, mrpc_like, NULL, 0, &err), &err);
    /* Damage one record and add garbage and a record of another study. */
    write_file(dir, "runs/sens-00-005-weight_decay-high.h5", "this is not HDF5\n");
    write_file(dir, "runs/zz-garbage.h5", "\x89HDF\r\n\x1a\n truncated");
    static mrpc_run_config cfg;
    mrpc_run_config_defaults(&cfg);
    cfg.num_epochs = 7; /* other fixed settings */
    char path[1200];
    snprintf(path, sizeof path, "%s/runs/other-study.h5", dir);
    CHECK_OK(fake_run_write(path, &cfg, "other-study", MRPC_RUN_COMPLETED, 0.99, &err), &err);
    mrpc_history h;
    if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) {
        CHECK(h.n_unreadable == 2, "two unreadable records skipped (got %zu)", h.n_unreadable);
        CHECK(h.n_foreign == 1, "one record of another study ignored");
        int reported = 0;
        for (size_t i = 0; i < h.n_problems; i++)
            if (strstr(h.problems[i], "skipped unreadable run record runs/zz-garbage.h5")) reported = 1;
        CHECK(reported, "the corrupt record is reported");
        size_t pending = 0;
        mrpc_history_stage_tasks(&h, MRPC_STAGE_SENSITIVITY, &pending);
        CHECK(pending == 1, "the task whose record is damaged is pending (got %zu)", pending);
        const mrpc_obs *best = mrpc_history_best(&st, &h);
        CHECK(best && best->objective < 0.9, "the foreign record's 0.99 is not this study's best");
        mrpc_history_free(&h);
    }
    mrpc_next_result_free(&res);
    /* The study does not stall: after the array ended, the task whose record is damaged has no
     * final record: it is retried (the retry writes the record anew), twice, then counts failed. */
    for (int attempt = 1; attempt <= 2; attempt++) {
        CHECK(next(&st, &res, 1) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE && res.stage == MRPC_STAGE_SENSITIVITY &&
                  res.n_tasks == 1 && strstr(res.files.tasks_tsv, "\tsens-00-005-weight_decay-high\t"),
              "--finalize: the damaged task is retried (attempt %d)", attempt);
        mrpc_next_result_free(&res);
    }
    CHECK(next(&st, &res, 1) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE && res.stage == MRPC_STAGE_GRID,
          "--finalize: retries spent, on to the grid");
    char *sens = read_file(dir, "sensitivity.yaml");
    CHECK(sens && strstr(sens, "weight_decay:") && strstr(sens, "state: missing"), "the lost level is reported as missing");
    free(sens);
    mrpc_next_result_free(&res);
}

static void test_all_failed(void) {
    char dir[1024];
    make_study(dir, sizeof dir, "allfail", study_yaml);
    static mrpc_study st;
    if (!load(dir, &st)) return;
    mrpc_next_result res;
    if (!CHECK(next(&st, &res, 0) == MRPC_OK, "first wave")) return;
    mrpc_error err = {0};
    CHECK_OK(fake_run_wave(res.wave_dir, all_fail, NULL, 0, &err), &err);
    mrpc_next_result_free(&res);
    CHECK(next(&st, &res, 0) == MRPC_OK && res.outcome == MRPC_NEXT_BLOCKED, "every run failed: blocked, not a guess");
    CHECK(strstr(res.note, "no baseline run") != NULL, "says why: %s", res.note);
    char *sens = read_file(dir, "sensitivity.yaml");
    CHECK(sens && strstr(sens, "ranked: false") && strstr(sens, "failed_runs: 15"), "sensitivity.yaml reports the failures");
    free(sens);
    mrpc_next_result_free(&res);

    /* A bayes-only study whose first wave all failed plans a new, different design. */
    static const char bayes_only[] =
        "name: fails\nseed: 3\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
        "parameters:\n"
        "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 2.0e-4, baseline: 5.0e-5}\n"
        "  warmup_steps: {min: 0, max: 300, baseline: 0}\n"
        "stages:\n  bayes: {budget: 8, wave_size: 4}\n";
    make_study(dir, sizeof dir, "allfail_bayes", bayes_only);
    static mrpc_study sb;
    if (!load(dir, &sb)) return;
    CHECK(next(&sb, &res, 0) == MRPC_OK && res.n_tasks == 4, "first bayes wave");
    CHECK_OK(fake_run_wave(res.wave_dir, all_fail, NULL, 0, &err), &err);
    mrpc_next_result_free(&res);
    CHECK(next(&sb, &res, 0) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE && res.n_tasks == 4, "second wave despite failures");
    mrpc_next_result_free(&res);
    check_no_duplicates(&sb);
}

static void test_crash_recovery(void) {
    char dir[1024];
    make_study(dir, sizeof dir, "crash", study_yaml);
    static mrpc_study st;
    if (!load(dir, &st)) return;
    /* The optimizer dies right after writing tasks.tsv (before wave.yaml and wave.sbatch). */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        mrpc_next_options opt = {.lock_timeout = 5.0, .bindir = BINDIR, .crash_after = "tasks.tsv"};
        mrpc_next_result res;
        mrpc_optimize_next(&st, &opt, &res, NULL);
        _exit(0); /* not reached */
    }
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 99, "the child crashed mid-write");
    char wave[1200], tmp[1200];
    snprintf(wave, sizeof wave, "%s/waves/sensitivity/00", dir);
    snprintf(tmp, sizeof tmp, "%s/waves/sensitivity/.00.tmp/tasks.tsv", dir);
    CHECK(!mrpc_path_exists(wave), "no half-written wave is visible");
    CHECK(mrpc_path_exists(tmp), "the crash left its temporary directory");
    /* The next run cleans up and emits the same wave, complete. */
    mrpc_next_result res;
    if (CHECK(next(&st, &res, 0) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE, "re-emitted after the crash")) {
        CHECK(!mrpc_path_exists(tmp), "temporary directory removed");
        mrpc_wave w;
        mrpc_error err = {0};
        CHECK_OK(mrpc_wave_read(res.wave_dir, &w, &err), &err);
        CHECK(w.n_tasks == 15, "complete wave of 15 tasks");
        mrpc_wave_clear(&w);
        char *sb = read_file(res.wave_dir, "wave.sbatch");
        CHECK(sb && strstr(sb, "#SBATCH --array=0-14%4"), "wave.sbatch written");
        free(sb);
        char *tsv = read_file(res.wave_dir, "tasks.tsv");
        mrpc_next_result_free(&res);
        /* Identical to what a clean run writes. */
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s/waves'", dir);
        CHECK(system(cmd) == 0, "rm");
        if (CHECK(next(&st, &res, 0) == MRPC_OK, "clean run")) {
            char *tsv2 = read_file(res.wave_dir, "tasks.tsv");
            CHECK(tsv && tsv2 && strcmp(tsv, tsv2) == 0, "recovered wave is byte-identical to a clean one");
            free(tsv2);
            mrpc_next_result_free(&res);
        }
        free(tsv);
    }
    /* A crash after the rename but before printing: the wave exists and is not rewritten. */
    CHECK(next(&st, &res, 0) == MRPC_OK && res.outcome == MRPC_NEXT_PENDING, "existing wave left alone");
    mrpc_next_result_free(&res);
}

static void test_lock(void) {
    char dir[1024];
    make_study(dir, sizeof dir, "lock", study_yaml);
    static mrpc_study st;
    if (!load(dir, &st)) return;
    char lock_path[1200];
    snprintf(lock_path, sizeof lock_path, "%s/.mrpc-optimize.lock", dir);
    mrpc_lock lock;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_lock_acquire(&lock, lock_path, 0, &err), &err)) return;
    mrpc_next_options opt = {.lock_timeout = 0.2, .bindir = BINDIR};
    mrpc_next_result res;
    mrpc_status s = mrpc_optimize_next(&st, &opt, &res, &err);
    CHECK(s == MRPC_ERR_BUSY, "a second optimizer is refused while the lock is held (status %d)", s);
    CHECK(strstr(err.message, "another mrpc-optimize") != NULL, "says why: %s", err.message);
    char wave[1200];
    snprintf(wave, sizeof wave, "%s/waves", dir);
    CHECK(!mrpc_path_exists(wave), "nothing written");
    mrpc_lock_release(&lock);
    CHECK(mrpc_optimize_next(&st, &opt, &res, &err) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE, "works once released");
    mrpc_next_result_free(&res);
}

static void test_finalize_and_running(void) {
    char dir[1024];
    make_study(dir, sizeof dir, "finalize", study_yaml);
    static mrpc_study st;
    if (!load(dir, &st)) return;
    mrpc_next_result res;
    if (!CHECK(next(&st, &res, 0) == MRPC_OK, "first wave")) return;
    mrpc_error err = {0};
    /* 10 tasks finish; the rest never start. */
    CHECK_OK(fake_run_wave(res.wave_dir, mrpc_like, NULL, 10, &err), &err);
    mrpc_next_result_free(&res);
    CHECK(next(&st, &res, 0) == MRPC_OK && res.outcome == MRPC_NEXT_PENDING && res.pending == 5, "5 pending");
    mrpc_next_result_free(&res);
    /* The array ended: the 5 runs without a record are an infrastructure failure, not a result.
     * They are retried (retries: 2 by default) in waves of their own, with the same run ids. */
    static const char *const expect_ids[] = {"sens-00-010-", "sens-00-011-", "sens-00-012-", "sens-00-013-",
                                             "sens-00-014-"};
    for (int attempt = 1; attempt <= 2; attempt++) {
        size_t want = attempt == 1 ? 5 : 4; /* one completes in the first retry */
        if (!CHECK(next(&st, &res, 1) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE &&
                       res.stage == MRPC_STAGE_SENSITIVITY && res.wave == attempt && res.n_tasks == want &&
                       res.retries == want,
                   "--finalize plans retry wave %d of the %zu runs (outcome %d, stage %d, wave %d, %zu tasks)", attempt,
                   want, res.outcome, res.stage, res.wave, res.n_tasks))
            return;
        for (int i = 5 - (int)want; i < 5; i++) {
            CHECK(strstr(res.files.tasks_tsv, expect_ids[i]) != NULL, "retry wave lists %s...", expect_ids[i]);
        }
        CHECK(strstr(res.files.tasks_tsv, "sens-00-009-") == NULL, "a completed run is not retried");
        CHECK(attempt == 1 || strstr(res.files.tasks_tsv, expect_ids[0]) == NULL, "nor one completed by a retry");
        char outpath[64];
        snprintf(outpath, sizeof outpath, "\truns/%s", expect_ids[4]);
        CHECK(strstr(res.files.tasks_tsv, outpath) != NULL, "the retry writes the same record path");
        char wave[1200];
        mrpc_str_copy(wave, sizeof wave, res.wave_dir);
        mrpc_next_result_free(&res);
        mrpc_history h;
        if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) {
            size_t pending = 0, n = mrpc_history_stage_tasks(&h, MRPC_STAGE_SENSITIVITY, &pending);
            CHECK(n == 15 && pending == want, "a retried run counts once (%zu runs, %zu pending)", n, pending);
            size_t retried = 0;
            for (size_t i = 0; i < h.n_obs; i++) retried += h.obs[i].state == MRPC_OBS_RETRIED;
            CHECK(retried == (attempt == 1 ? 5u : 9u), "the earlier tasks are superseded (%zu)", retried);
            mrpc_history_free(&h);
        }
        if (attempt == 1) {
            /* One of them completes in the first retry; the wave is asked again before it ended. */
            CHECK_OK(fake_run_wave(wave, mrpc_like, NULL, 1, &err), &err);
            CHECK(next(&st, &res, 0) == MRPC_OK && res.outcome == MRPC_NEXT_PENDING && res.pending == 4, "4 pending");
            mrpc_next_result_free(&res);
        }
    }
    /* Retries spent: the last 4 count failed (imputed), and the study moves on. */
    CHECK(next(&st, &res, 1) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE && res.stage == MRPC_STAGE_GRID,
          "--finalize after the last retry counts them failed and moves on");
    mrpc_next_result_free(&res);
    mrpc_history h;
    if (CHECK_OK(mrpc_history_load(&st, &h, &err), &err)) {
        size_t completed = 0, missing = 0;
        for (size_t i = 0; i < h.n_obs; i++) {
            if (h.obs[i].stage != MRPC_STAGE_SENSITIVITY) continue;
            completed += h.obs[i].state == MRPC_OBS_COMPLETED;
            missing += h.obs[i].state == MRPC_OBS_MISSING;
        }
        CHECK(completed == 10 && missing == 4, "10 completed (one diverged), 4 failed after 2 retries (%zu, %zu)", completed, missing);
        mrpc_history_free(&h);
    }
    check_no_duplicates(&st);
    char marker[1200];
    snprintf(marker, sizeof marker, "%s/waves/sensitivity/00/finalized", dir);
    CHECK(mrpc_path_exists(marker), "finalized marker written");
    char path[1200];
    snprintf(path, sizeof path, "%s/status.txt", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        CHECK_OK(mrpc_optimize_status(&st, BINDIR, f, &err), &err);
        fclose(f);
        char *text = read_file(dir, "status.txt");
        CHECK(text && strstr(text, "stage sensitivity: 3 waves, 15 runs: 10 completed, 0 failed, 1 diverged, 4 missing, "
                                   "0 pending; 5 retried"),
              "status counts each run once and the retried ones:\n%s", text ? text : "");
        CHECK(text && strstr(text, "retried runs: 5") && strstr(text, "sens-00-014-") && strstr(text, ": 3 attempts,"),
              "status lists the retried runs:\n%s", text ? text : "");
        free(text);
    }
}

static void test_retries_setting(void) {
    /* retries: 0 writes the runs off at once; impossible values are errors naming the place. */
    char dir[1024];
    char yaml[8192];
    snprintf(yaml, sizeof yaml, "%sretries: 0\n", study_yaml);
    make_study(dir, sizeof dir, "retries0", yaml);
    static mrpc_study st;
    if (!load(dir, &st)) return;
    CHECK(st.retries == 0, "retries: 0 read");
    mrpc_next_result res;
    if (!CHECK(next(&st, &res, 0) == MRPC_OK, "first wave")) return;
    mrpc_error err = {0};
    CHECK_OK(fake_run_wave(res.wave_dir, mrpc_like, NULL, 14, &err), &err);
    mrpc_next_result_free(&res);
    CHECK(next(&st, &res, 1) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE && res.stage == MRPC_STAGE_GRID,
          "retries: 0: no retry wave");
    mrpc_next_result_free(&res);
    static const char *const bad[] = {"retries: -1\n", "retries: 101\n", "retries: 1.5\n", "retries: [2]\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char d2[1024], y2[8192], name[32];
        snprintf(y2, sizeof y2, "%s%s", study_yaml, bad[i]);
        snprintf(name, sizeof name, "retries_bad%zu", i);
        make_study(d2, sizeof d2, name, y2);
        static mrpc_study sb;
        char file[1200];
        snprintf(file, sizeof file, "%s/study.yaml", d2);
        mrpc_error e2 = {0};
        mrpc_status s = mrpc_study_load(file, &sb, &e2);
        CHECK(s == MRPC_ERR_INVALID && strcmp(e2.field, "retries") == 0 && e2.line > 0,
              "%s is refused with its line (status %d, field %s, line %ld)", bad[i], s, e2.field, e2.line);
    }
}

/* Runs the tool; returns its exit code and its stdout in out (size). */
static int run_tool(const char *args, char *out, size_t size) {
    const char *bin = getenv("MRPC_OPTIMIZE"); /* the mrpc-optimize under test (CMake passes it) */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", bin ? bin : "./mrpc-optimize", args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void) {
    char dir[1024];
    make_study(dir, sizeof dir, "cli", study_yaml);
    char args[1400], out[8192], expect[2400];
    snprintf(args, sizeof args, "next --study %s/study.yaml --dry-run", dir);
    CHECK(run_tool(args, out, sizeof out) == 0, "dry run exits 0");
    CHECK(strncmp(out, "dry_run=1\nwave_dir=", 19) == 0 && strstr(out, "\nsbatch=sbatch "), "dry-run lines: %s", out);
    char waves[1200];
    snprintf(waves, sizeof waves, "%s/waves", dir);
    CHECK(!mrpc_path_exists(waves), "dry run wrote nothing");
    snprintf(args, sizeof args, "show-wave --study %s/study.yaml", dir);
    CHECK(run_tool(args, out, sizeof out) == 0 && strstr(out, "tasks.tsv <==\ntask_id\trun_id\toutput\t"), "show-wave prints tasks.tsv");
    snprintf(args, sizeof args, "next --study %s/study.yaml", dir);
    CHECK(run_tool(args, out, sizeof out) == 0, "next exits 0");
    snprintf(expect, sizeof expect, "wave_dir=%s/waves/sensitivity/00\nsbatch=sbatch %s/waves/sensitivity/00/wave.sbatch\n",
             dir, dir);
    CHECK(strcmp(out, expect) == 0, "stdout is exactly the two lines: %s", out);
    snprintf(expect, sizeof expect, "pending=15\npending_wave_dir=%s/waves/sensitivity/00\n", dir);
    CHECK(run_tool(args, out, sizeof out) == 0 && strcmp(out, expect) == 0, "then pending=15: %s", out);
    snprintf(args, sizeof args, "status --study %s/study.yaml", dir);
    CHECK(run_tool(args, out, sizeof out) == 0 && strstr(out, "next: waiting"), "status: %s", out);
    snprintf(expect, sizeof expect, "mrpc-optimize next --study %s/study.yaml --finalize\n", dir);
    CHECK(strstr(out, expect) != NULL, "status says how to finalize when the array is gone: %s", out);
    /* Exit codes. */
    CHECK(run_tool("next", out, sizeof out) == 2, "no --study: 2");
    CHECK(run_tool("frobnicate --study x", out, sizeof out) == 2, "unknown command: 2");
    snprintf(args, sizeof args, "next --study %s/missing.yaml", dir);
    CHECK(run_tool(args, out, sizeof out) == 1, "missing study file: 1 (I/O)");
    write_file(dir, "bad.yaml", "objective: {metric: accuracy, goal: sideways}\n");
    snprintf(args, sizeof args, "next --study %s/bad.yaml", dir);
    CHECK(run_tool(args, out, sizeof out) == 2, "invalid study: 2");
    char lock_path[1200];
    snprintf(lock_path, sizeof lock_path, "%s/.mrpc-optimize.lock", dir);
    mrpc_lock lock;
    mrpc_error err = {0};
    if (CHECK_OK(mrpc_lock_acquire(&lock, lock_path, 0, &err), &err)) {
        snprintf(args, sizeof args, "next --study %s/study.yaml --lock-timeout 0", dir);
        CHECK(run_tool(args, out, sizeof out) == 3, "locked: 3");
        mrpc_lock_release(&lock);
    }
    /* A blocked study exits 4. */
    static mrpc_study st;
    if (load(dir, &st)) {
        char wd[1200];
        snprintf(wd, sizeof wd, "%s/waves/sensitivity/00", dir);
        CHECK_OK(fake_run_wave(wd, all_fail, NULL, 0, &err), &err);
        snprintf(args, sizeof args, "next --study %s/study.yaml", dir);
        CHECK(run_tool(args, out, sizeof out) == 4 && strcmp(out, "blocked\n") == 0, "blocked: 4, %s", out);
    }
}

static double fixed_acc(const mrpc_run_config *c, const char *run_id, void *ctx) {
    (void)c; (void)run_id;
    return *(const double *)ctx;
}

static void test_record_cache(void) {
    char dir[1024];
    make_study(dir, sizeof dir, "cache", study_yaml);
    static mrpc_study st;
    if (!load(dir, &st)) return;
    mrpc_next_result res;
    if (!CHECK(next(&st, &res, 0) == MRPC_OK, "first wave")) return;
    mrpc_error err = {0};
    double acc = 0.7;
    CHECK_OK(fake_run_wave(res.wave_dir, fixed_acc, &acc, 0, &err), &err);
    char wave_dir[1200];
    mrpc_str_copy(wave_dir, sizeof wave_dir, res.wave_dir);
    mrpc_next_result_free(&res);
    CHECK(next(&st, &res, 0) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE, "grid wave");
    mrpc_next_result_free(&res);
    char *cache = read_file(dir, ".mrpc-optimize-cache");
    CHECK(cache && strncmp(cache, "# mrpc-optimize record cache v2\n", 32) == 0, "cache written by next");
    CHECK(cache && strstr(cache, "sens-00-000-baseline.h5\t") != NULL, "final records cached");
    free(cache);
    /* The cache gives the same history as the records themselves. */
    mrpc_history h1;
    size_t n_obs = 0;
    if (CHECK_OK(mrpc_history_load(&st, &h1, &err), &err)) {
        n_obs = h1.n_obs;
        CHECK(h1.n_obs > 15 && h1.obs[0].objective == 0.7 && h1.n_records == 15, "history through the cache");
        mrpc_history_free(&h1);
    }
    /* A record written again (a rerun) is read again, not taken from the cache. */
    mrpc_wave w;
    if (CHECK_OK(mrpc_wave_read(wave_dir, &w, &err), &err)) {
        acc = 0.9;
        CHECK_OK(fake_run_task(&w, &w.tasks[0], fixed_acc, &acc, &err), &err);
        mrpc_wave_clear(&w);
    }
    if (CHECK_OK(mrpc_history_load(&st, &h1, &err), &err)) {
        CHECK(h1.obs[0].objective == 0.9, "changed record re-read (%g)", h1.obs[0].objective);
        mrpc_history_free(&h1);
    }
    /* A damaged cache is ignored. */
    write_file(dir, ".mrpc-optimize-cache", "# mrpc-optimize record cache v2\nsens-00-000-baseline.h5\tgarbage\n");
    if (CHECK_OK(mrpc_history_load(&st, &h1, &err), &err)) {
        CHECK(h1.n_obs == n_obs && h1.obs[0].objective == 0.9 && h1.obs[1].objective == 0.7, "damaged cache ignored");
        mrpc_history_free(&h1);
    }
}

int main(void) {
    test_full_study();
    test_record_cache();
    test_no_runs_and_determinism();
    test_corrupt_and_foreign_records();
    test_all_failed();
    test_crash_recovery();
    test_lock();
    test_finalize_and_running();
    test_retries_setting();
    test_cli();
    return mrpc_test_report();
}

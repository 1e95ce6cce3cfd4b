/*
 * optimizer_emit_time.c — how long `mrpc-optimize next` takes to emit a Bayesian wave
 * of 8 from a study with many past runs, through real files: it writes N small HDF5
 * run records (a 3-D MRPC-like space: learning rate, warmup steps, weight decay) into
 * a scratch study, then runs the mrpc-optimize binary `repeats` times with --dry-run
 * (the whole decision: reading every record, fitting the GP, choosing 8 points, rendering
 * the files) and once for real, and prints the wall-clock times. It also times the two
 * big parts inside one process (reading the history; planning the wave).
 *
 * Usage: optimizer_emit_time MRPC_OPTIMIZE_BINARY [--records N] [--repeats R] [--dir DIR]
 * Output: one line "emit_time records=N wave=8 ..." with the median, min and max seconds.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
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
#include "timeutil.h"

static const char study_text[] =
    "name: emit-time\nseed: 1\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n"
    "parameters:\n"
    "  learning_rate: {distribution: log_uniform_values, min: 1.0e-6, max: 1.0e-3, baseline: 5.0e-5}\n"
    "  warmup_steps: {min: 0, max: 600, baseline: 0}\n"
    "  weight_decay: {min: 0.0, max: 0.3, baseline: 0.0}\n"
    "stages:\n  bayes: {budget: 8, wave_size: 8}\n"
    "slurm: {bindir: /opt/mrpc/bin}\n";

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y);
}

static double run_binary(const char *bin, const char *study, int dry) {
    double t0 = mrpc_seconds_now();
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
        if (dry) execl(bin, bin, "next", "--study", study, "--dry-run", (char *)NULL);
        else execl(bin, bin, "next", "--study", study, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    double t = mrpc_seconds_now() - t0;
    return (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? t : -1.0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MRPC_OPTIMIZE_BINARY [--records N] [--repeats R] [--dir DIR]\n", argv[0]);
        return 2;
    }
    const char *bin = argv[1];
    int64_t n_records = 1000, repeats = 5;
    char dir[1024];
    snprintf(dir, sizeof dir, "/tmp/mrpc-emit-time-%ld", (long)getpid());
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--records") && i + 1 < argc) {
            if (!mrpc_parse_i64(argv[++i], &n_records) || n_records < 0) return 2;
        } else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) {
            if (!mrpc_parse_i64(argv[++i], &repeats) || repeats < 1 || repeats > 100) return 2;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            snprintf(dir, sizeof dir, "%s", argv[++i]);
        } else {
            fprintf(stderr, "unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    mrpc_error err = {0};
    char path[1200];
    if (mrpc_mkdir_p(dir, &err) != MRPC_OK) goto fail;
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    const char *base = "model:\n  path: random\nnum_epochs: 3\ntrain_batch_size: 32\ndropout: 0.1\n";
    if (mrpc_file_write_atomic(path, base, strlen(base), &err) != MRPC_OK) goto fail;
    char study_path[1200];
    snprintf(study_path, sizeof study_path, "%s/study.yaml", dir);
    if (mrpc_file_write_atomic(study_path, study_text, strlen(study_text), &err) != MRPC_OK) goto fail;

    /* The past runs: random configurations of the space with an MRPC-like accuracy. */
    double t0 = mrpc_seconds_now();
    mrpc_run_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return 1;
    mrpc_run_config_defaults(cfg);
    if (mrpc_run_config_load_file(path, cfg, &err) != MRPC_OK) goto fail;
    mrpc_rng rng;
    mrpc_rng_init(&rng, 77, MRPC_RNG_TEST, 0);
    for (int64_t i = 0; i < n_records; i++) {
        char run_id[64], rec[1400];
        snprintf(run_id, sizeof run_id, "past-%05lld", (long long)i);
        snprintf(rec, sizeof rec, "%s/runs/%s.h5", dir, run_id);
        double l = -6.0 + 3.0 * mrpc_rng_uniform(&rng);
        char text[64];
        mrpc_format_f64(text, sizeof text, pow(10.0, l));
        mrpc_run_config_set(cfg, "learning_rate", text, "bench", 0, 0, NULL);
        snprintf(text, sizeof text, "%d", (int)(601.0 * mrpc_rng_uniform(&rng)));
        mrpc_run_config_set(cfg, "warmup_steps", text, "bench", 0, 0, NULL);
        mrpc_format_f64(text, sizeof text, 0.3 * mrpc_rng_uniform(&rng));
        mrpc_run_config_set(cfg, "weight_decay", text, "bench", 0, 0, NULL);
        double a = (l + 4.4) / 0.5;
        double acc = 0.684 + 0.17 * exp(-0.5 * a * a) + 0.01 * mrpc_rng_normal(&rng);
        if (fake_run_write(rec, cfg, run_id, MRPC_RUN_COMPLETED, acc, &err) != MRPC_OK) goto fail;
    }
    free(cfg);
    fprintf(stderr, "optimizer_emit_time: wrote %lld records in %.1f s\n", (long long)n_records, mrpc_seconds_now() - t0);

    /* Inside one process: reading the history, planning the wave. */
    static mrpc_study st;
    if (mrpc_study_load(study_path, &st, &err) != MRPC_OK) goto fail;
    openblas_set_num_threads(1);
    mrpc_history h;
    t0 = mrpc_seconds_now();
    if (mrpc_history_load(&st, &h, &err) != MRPC_OK) goto fail;
    double t_hist = mrpc_seconds_now() - t0;
    mrpc_plan plan;
    t0 = mrpc_seconds_now();
    if (mrpc_bayes_plan(&st, &h, NULL, 0, 8, &plan, NULL, &err) != MRPC_OK) goto fail;
    double t_plan = mrpc_seconds_now() - t0;
    size_t n_obs = h.n_obs, n_tasks = plan.n_tasks;
    mrpc_plan_free(&plan);
    mrpc_history_free(&h);

    /* The binary, as the pipeline runs it. */
    double *t = malloc((size_t)repeats * sizeof *t);
    if (!t) return 1;
    for (int64_t r = 0; r < repeats; r++) {
        t[r] = run_binary(bin, study_path, 1);
        if (t[r] < 0) { fprintf(stderr, "optimizer_emit_time: mrpc-optimize failed\n"); return 1; }
    }
    double t_real = run_binary(bin, study_path, 0);
    qsort(t, (size_t)repeats, sizeof *t, cmp_double);
    char wave[1300];
    snprintf(wave, sizeof wave, "%s/waves/bayes/00/tasks.tsv", dir);
    printf("emit_time records=%lld history_obs=%zu wave=%zu repeats=%lld median_s=%.3f min_s=%.3f max_s=%.3f "
           "real_next_s=%.3f in_process_history_s=%.3f in_process_plan_s=%.3f written=%s\n",
           (long long)n_records, n_obs, n_tasks, (long long)repeats, t[repeats / 2], t[0], t[repeats - 1], t_real, t_hist,
           t_plan, mrpc_path_exists(wave) ? "yes" : "no");
    free(t);
    return (n_tasks == 8 && t_real >= 0 && mrpc_path_exists(wave)) ? 0 : 1;
fail:
    mrpc_error_print(stderr, "optimizer_emit_time", &err);
    return 1;
}

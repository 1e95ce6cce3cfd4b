/*
 * main.c — mrpc-pipeline: the whole study on one machine, without Slurm.
 *
 *   mrpc-pipeline run [STUDY.yaml] [--jobs N] [--threads N] [--no-report]
 *   mrpc-pipeline init [DIR]
 *
 * `run` alternates the optimizer and the local executor exactly as the Slurm chain
 * alternates optimize steps and array waves: `mrpc-optimize next --finalize` plans a
 * wave, its tasks run as local processes (--jobs at once), and so on until every
 * stage's budget is spent; then `mrpc-analyze` writes the report and its path is
 * printed. Without STUDY it runs the default study in studies/default (written by
 * `init` on first use; see default_study.h). Stopping it (Ctrl-C) checkpoints the
 * running trainers; running it again continues where it stopped: before anything
 * else it finishes the wave that was running (`mrpc-optimize next --dry-run` says
 * pending=N), the interrupted trainers resuming from their checkpoints, and only then
 * finalizes that wave and plans the next, so the finished study is the one an
 * uninterrupted run gives. A trainer that ends without a final record while the
 * driver is not stopping (killed, crashed) is retried by a later wave (history.h).
 * One driver per study: <study_dir>/.mrpc-pipeline.lock.
 *
 * Exit codes: 0 the study is complete (report written), 1 a failure (the message says
 * which), 2 bad usage or study, 75 stopped by a signal (run again to continue).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "default_study.h"
#include "fsutil.h"
#include "local_executor.h"
#include "mrpc_version.h"
#include "process.h"
#include "strutil.h"

/* A signal handler can only talk to the program through a volatile sig_atomic_t. */
static volatile sig_atomic_t stop_requested_;

static void on_signal(int sig) { stop_requested_ = sig; }

static void usage(FILE *out) {
    fprintf(out,
            "usage: mrpc-pipeline run [STUDY.yaml] [--jobs N] [--threads N] [--no-report]\n"
            "       mrpc-pipeline init [DIR]\n"
            "\n"
            "run    the study's stages (sensitivity, grid, bayes, confirm) with local processes: mrpc-optimize\n"
            "       plans each wave, mrpc-train runs its tasks, mrpc-analyze writes the report at the end.\n"
            "       STUDY may also be a W&B sweep file (method:, metric:, run_cap:, parameters:).\n"
            "       Without STUDY: studies/default/study.yaml (written by init when missing).\n"
            "       --jobs N     tasks at once (default: cores / threads per run)\n"
            "       --threads N  threads per run (default: the base config's)\n"
            "init   write the default study into DIR (default studies/default)\n"
            "\n"
            "exit codes: 0 complete, 1 failure, 2 bad usage or study, 75 stopped (run again to continue)\n");
}

/* Data directory for the default study: $MRPC_DATA_DIR, else <project>/data. */
static void default_data_dir(char *out, size_t size) {
    const char *env = getenv("MRPC_DATA_DIR");
    if (env && env[0]) {
        mrpc_str_copy(out, size, env);
    } else {
        snprintf(out, size, "%s/data", MRPC_SOURCE_DIR);
    }
}

static int cmd_init(const char *dir, int quiet) {
    char data[1024], pretrained[1100];
    default_data_dir(data, sizeof data);
    snprintf(pretrained, sizeof pretrained, "%s/distilbert-base-uncased", data);
    char weights[1200];
    snprintf(weights, sizeof weights, "%s/model.safetensors", pretrained);
    int have_weights = mrpc_path_exists(weights);
    int written = 0;
    mrpc_error err = {0};
    if (mrpc_default_study_write(dir, data, have_weights ? pretrained : NULL, &written, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-pipeline", &err);
        return 1;
    }
    if (!quiet) {
        if (!written) {
            fprintf(stderr, "mrpc-pipeline: %s/study.yaml exists; left as it is\n", dir);
        } else if (have_weights) {
            fprintf(stderr, "mrpc-pipeline: wrote %s/study.yaml: fine-tunes the pretrained weights in %s\n", dir,
                    pretrained);
        } else {
            fprintf(stderr,
                    "mrpc-pipeline: wrote %s/study.yaml: no pretrained weights in %s, so the study starts from a\n"
                    "  RANDOM small DistilBERT (dim 64, 2 layers) — it shows the pipeline, not DistilBERT's\n"
                    "  accuracy (scripts/get-data.sh fetches the real weights)\n",
                    dir, pretrained);
        }
    }
    return 0;
}

/*
 * 1 when the wave's logs show that Slurm ran (or runs) it: a *.out log that the local
 * executor did not write (the array's logs/<job>_<task>.out, the optimize step's
 * logs/optimize-<job>.out; the local executor writes logs/local-<task>.log).
 */
static int wave_has_slurm_logs(const char *wave_dir) {
    char logs[2100];
    snprintf(logs, sizeof logs, "%s/logs", wave_dir);
    DIR *d = opendir(logs);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] != '.' && strncmp(e->d_name, "local-", 6) != 0 && n > 4 && strcmp(e->d_name + n - 4, ".out") == 0)
            found = 1;
    }
    closedir(d);
    return found;
}

/* The value of line "key=value" in `text`, copied into out; 0 when absent. */
static int answer_value(const char *text, const char *key, char *out, size_t size) {
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            size_t vlen = len - klen - 1;
            if (vlen >= size) vlen = size - 1;
            memcpy(out, line + klen + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

static long cores_available(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

/* Runs (or continues) one wave with local processes; 0, or the exit code of the driver. */
static int run_one_wave(const char *wave_dir, int jobs, int threads, const char *bindir, mrpc_error *err) {
    fprintf(stderr, "mrpc-pipeline: running %s (%d at once)\n", wave_dir, jobs);
    mrpc_local_options opts = {jobs, threads, bindir, 0, &stop_requested_};
    mrpc_local_result r;
    if (mrpc_local_run_wave(wave_dir, &opts, &r, err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-pipeline", err);
        return 1;
    }
    fprintf(stderr, "mrpc-pipeline: wave done: %d tasks, %d completed, %d paused, %d failed, %d diverged, %d skipped%s\n",
            r.n_tasks, r.completed, r.paused, r.failed, r.diverged, r.skipped,
            r.interrupted ? (stop_requested_ ? " (some interrupted)"
                                             : " (some ended without a final record: retried by a later wave)")
                          : "");
    return 0;
}

static int run_rounds(const char *study, const char *study_dir, const char *bindir, int jobs, int threads, int report);

static int cmd_run(const char *study, int jobs, int threads, int report) {
    char bindir[1024];
    mrpc_error err = {0};
    if (mrpc_process_own_dir(bindir, sizeof bindir, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-pipeline", &err);
        return 1;
    }
    if (!mrpc_path_exists(study)) {
        fprintf(stderr, "mrpc-pipeline: error: study %s not found\n", study);
        return 2;
    }
    char study_dir[1024];
    mrpc_str_copy(study_dir, sizeof study_dir, study);
    char *slash = strrchr(study_dir, '/');
    if (slash) *slash = '\0';
    else mrpc_str_copy(study_dir, sizeof study_dir, ".");
    if (jobs <= 0) jobs = (int)(cores_available() / (threads > 0 ? threads : 1));
    if (jobs <= 0) jobs = 1;
    /* One driver per study: two would run the same tasks twice. */
    char lock_path[1100];
    snprintf(lock_path, sizeof lock_path, "%s/.mrpc-pipeline.lock", study_dir);
    mrpc_lock lock = {.fd = -1};
    if (mrpc_lock_acquire(&lock, lock_path, 0.0, &err) != MRPC_OK) {
        if (err.status == MRPC_ERR_BUSY)
            fprintf(stderr, "mrpc-pipeline: error: another mrpc-pipeline (or a trainer it started) is running the study "
                            "in %s (%s is locked)\n", study_dir, lock_path);
        else mrpc_error_print(stderr, "mrpc-pipeline", &err);
        return 1;
    }
    int rc = run_rounds(study, study_dir, bindir, jobs, threads, report);
    mrpc_lock_release(&lock);
    return rc;
}

/* The rounds of optimizer and executor, then the report; see cmd_run. */
static int run_rounds(const char *study, const char *study_dir, const char *bindir, int jobs, int threads, int report) {
    mrpc_error err = {0};

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char optimize[1100], analyze[1100];
    snprintf(optimize, sizeof optimize, "%s/mrpc-optimize", bindir);
    snprintf(analyze, sizeof analyze, "%s/mrpc-analyze", bindir);
    char last_wave[2048] = "";
    int repeats = 0;
    for (int round = 0;; round++) {
        if (stop_requested_) {
            fprintf(stderr, "mrpc-pipeline: stopped; run the same command again to continue\n");
            return 75;
        }
        if (round == 0) {
            /* A run stopped earlier (Ctrl-C, or the machine went down) left its wave unfinished:
             * finish it first, the interrupted trainers resuming from their checkpoints. Only a
             * wave whose tasks all ran to their end is finalized. */
            char *dry[] = {optimize, "next", "--study", (char *)study, "--dry-run", NULL};
            char *out = NULL;
            int code = 0;
            if (mrpc_process_capture(dry, &out, &code, &err) != MRPC_OK) {
                mrpc_error_print(stderr, "mrpc-pipeline", &err);
                return 1;
            }
            if (stop_requested_) {
                free(out);
                continue;
            }
            if (code != 0 && code != 4) {
                fprintf(stderr, "mrpc-pipeline: mrpc-optimize next --dry-run failed (exit %d)\n", code);
                free(out);
                return code == 2 ? 2 : 1;
            }
            char pending_dir[2048] = "", pending[32] = "";
            int is_pending = answer_value(out, "pending", pending, sizeof pending) &&
                             answer_value(out, "pending_wave_dir", pending_dir, sizeof pending_dir) && pending_dir[0];
            free(out);
            if (is_pending) {
                if (wave_has_slurm_logs(pending_dir)) {
                    fprintf(stderr,
                            "mrpc-pipeline: error: %s (%s runs without a final record) was submitted to Slurm; wait for\n"
                            "  its array, or, when it is no longer in the queue, finalize it first:\n"
                            "    %s next --study %s --finalize\n",
                            pending_dir, pending, optimize, study);
                    return 1;
                }
                fprintf(stderr, "mrpc-pipeline: continuing %s (%s runs without a final record)\n", pending_dir, pending);
                int rc = run_one_wave(pending_dir, jobs, threads, bindir, &err);
                if (rc != 0) return rc;
                continue;
            }
        }
        char *argv[] = {optimize, "next", "--study", (char *)study, "--finalize", NULL};
        char *out = NULL;
        int code = 0;
        if (mrpc_process_capture(argv, &out, &code, &err) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-pipeline", &err);
            return 1;
        }
        if (stop_requested_) {
            free(out);
            continue; /* Ctrl-C reached mrpc-optimize too; the next run redoes this step */
        }
        if (code != 0) {
            fprintf(stderr, "mrpc-pipeline: mrpc-optimize next failed (exit %d)%s\n", code,
                    code == 4 ? ": the study is blocked (see above)" : "");
            free(out);
            return code == 2 ? 2 : 1;
        }
        char wave_dir[2048] = "";
        int done = 0;
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            if (strncmp(line, "wave_dir=", 9) == 0) mrpc_str_copy(wave_dir, sizeof wave_dir, line + 9);
            else if (strcmp(line, "done") == 0) done = 1;
            else if (strncmp(line, "pending=", 8) == 0) {
                fprintf(stderr, "mrpc-pipeline: error: the current wave still has %s runs pending; is another "
                                "executor (Slurm?) running this study?\n", line + 8);
                free(out);
                return 1;
            }
        }
        free(out);
        if (done) break;
        if (!wave_dir[0]) {
            fprintf(stderr, "mrpc-pipeline: error: mrpc-optimize planned no wave\n");
            return 1;
        }
        /* A wave that comes back with nothing runnable would loop forever. */
        repeats = strcmp(wave_dir, last_wave) == 0 ? repeats + 1 : 0;
        if (repeats >= 2) {
            fprintf(stderr, "mrpc-pipeline: error: mrpc-optimize keeps planning %s; giving up\n", wave_dir);
            return 1;
        }
        mrpc_str_copy(last_wave, sizeof last_wave, wave_dir);
        int rc = run_one_wave(wave_dir, jobs, threads, bindir, &err);
        if (rc != 0) return rc;
    }
    fprintf(stderr, "mrpc-pipeline: every stage's budget is spent\n");
    if (!report) return 0;
    char out_dir[1100];
    snprintf(out_dir, sizeof out_dir, "%s/report", study_dir);
    /* The study file, not its directory: a study file may have another name than study.yaml (a W&B sweep). */
    char *argv[] = {analyze, (char *)study, "--out", out_dir, NULL};
    pid_t pid;
    if (mrpc_process_start(argv, NULL, NULL, &pid, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-pipeline", &err);
        return 1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    int code = mrpc_process_exit_code(status);
    if (code != 0 && code != 1) {
        fprintf(stderr, "mrpc-pipeline: mrpc-analyze failed (exit %d)\n", code);
        return 1;
    }
    return 0; /* mrpc-analyze printed the summary and where the report is */
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mrpc-pipeline %s\n", MRPC_VERSION_STRING);
        return 0;
    }
    for (int i = 2; i < argc; i++) { /* `mrpc-pipeline run --help`, `mrpc-pipeline init -h` */
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    if (strcmp(argv[1], "init") == 0) {
        if (argc > 3) { usage(stderr); return 2; }
        return cmd_init(argc == 3 ? argv[2] : "studies/default", 0);
    }
    if (strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "mrpc-pipeline: error: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
        return 2;
    }
    const char *study = NULL;
    int jobs = 0, threads = 0, report = 1;
    for (int i = 2; i < argc; i++) {
        int64_t n;
        if ((strcmp(argv[i], "--jobs") == 0 || strcmp(argv[i], "--threads") == 0) && i + 1 < argc) {
            if (!mrpc_parse_i64(argv[i + 1], &n) || n < 1 || n > 4096) {
                fprintf(stderr, "mrpc-pipeline: error: %s needs a positive integer, got \"%s\"\n", argv[i], argv[i + 1]);
                return 2;
            }
            if (argv[i][2] == 'j') jobs = (int)n;
            else threads = (int)n;
            i++;
        } else if (strcmp(argv[i], "--no-report") == 0) {
            report = 0;
        } else if (argv[i][0] != '-' && !study) {
            study = argv[i];
        } else {
            fprintf(stderr, "mrpc-pipeline: error: unknown option \"%s\"\n", argv[i]);
            return 2;
        }
    }
    if (!study) {
        int rc = cmd_init("studies/default", 0);
        if (rc != 0) return rc;
        study = "studies/default/study.yaml";
    }
    return cmd_run(study, jobs, threads, report);
}

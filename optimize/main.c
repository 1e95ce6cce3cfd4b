/*
 * main.c — mrpc-optimize: between Slurm array waves, reads a study's run records and
 * writes the next wave.
 *
 *   mrpc-optimize next --study FILE [--finalize] [--dry-run] [--lock-timeout S]
 *   mrpc-optimize status --study FILE
 *   mrpc-optimize show-wave --study FILE [--finalize]
 *   mrpc-optimize recommend --study FILE [-k N]
 *   mrpc-optimize cleanup --study FILE [--dry-run]
 *
 * `next` prints machine-readable lines on stdout (notes go to stderr):
 *   wave_dir=<absolute wave directory>   and   sbatch=sbatch <wave_dir>/wave.sbatch
 *                                       a new wave was written: submit it
 *   pending=<n>                         the current wave still has n runs without a final record
 *   pending_wave_dir=<wave directory>   (with pending=) the wave they belong to; stderr says how
 *                                       to go on when its array is no longer queued
 *   done                                every stage has spent its budget
 *   blocked                             the study cannot go on (reason on stderr)
 * With --dry-run the first line is `dry_run=1` and nothing is written.
 *
 * Exit codes: 0 success (any of the answers above except blocked), 1 failure at run
 * time (I/O, HDF5, out of memory, internal), 2 bad usage or invalid input (study
 * file, base config, a damaged wave), 3 another mrpc-optimize holds the study lock,
 * 4 blocked.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "mrpc_version.h"
#include "optimize.h"
#include "recommend.h"
#include "strutil.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_BUSY = 3, EXIT_BLOCKED = 4 };

static void usage(FILE *out) {
    fprintf(out,
            "usage: mrpc-optimize next --study FILE [--finalize] [--dry-run] [--lock-timeout SECONDS]\n"
            "       mrpc-optimize status --study FILE\n"
            "       mrpc-optimize show-wave --study FILE [--finalize]\n"
            "       mrpc-optimize recommend --study FILE [-k N]\n"
            "       mrpc-optimize cleanup --study FILE [--dry-run]\n"
            "       mrpc-optimize --version | --help\n"
            "\n"
            "next       decide and write the next wave of the study: prints wave_dir=... and sbatch=...,\n"
            "           or pending=N (the current wave is still running), done, or blocked\n"
            "           --finalize      the last wave's array has ended: runs without a final record failed\n"
            "           --dry-run       print what would happen; write nothing\n"
            "           --lock-timeout  seconds to wait for another mrpc-optimize on the study (default 30)\n"
            "status     stages, waves, runs completed/failed/diverged/missing/pending, best run, what next would do,\n"
            "           and the confirm stage's answer (also in <study_dir>/answer.yaml)\n"
            "show-wave  print the files the next wave would have (tasks.tsv, wave.yaml, wave.sbatch); writes nothing\n"
            "recommend  the study's answer: the N (default 3) evaluated configurations with the best posterior\n"
            "           mean of the last stage's GP (bayes, else grid), with posterior sd, observed mean and run ids\n"
            "           (repeated seeds of one configuration are one entry); writes nothing\n"
            "           -k N            how many configurations (1..1000)\n"
            "cleanup    remove the resume checkpoints of paused runs that successive halving will no longer\n"
            "           promote (their stage is over); the records stay. Says how many bytes it freed\n"
            "           --dry-run       list them and their size; remove nothing\n"
            "\n"
            "FILE is a study (optimize/README.md) or a W&B sweep file (method:, metric:, run_cap:, parameters:)\n"
            "\n"
            "exit codes: 0 ok, 1 run-time failure, 2 bad usage or invalid input, 3 study locked, 4 blocked\n");
}

static int exit_code(mrpc_status s) {
    switch (s) {
    case MRPC_OK: return EXIT_OK;
    case MRPC_ERR_PARSE:
    case MRPC_ERR_INVALID:
    case MRPC_ERR_UNSUPPORTED: return EXIT_USAGE;
    case MRPC_ERR_BUSY: return EXIT_BUSY;
    default: return EXIT_RUNTIME;
    }
}

/* The directory of this executable (where mrpc-train is installed beside it). */
static void own_bindir(char *out, size_t size) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    out[0] = '\0';
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = '\0';
    mrpc_str_copy(out, size, exe[0] ? exe : "/");
}

extern char **environ;

/*
 * mrpc_queue_probe with Slurm's squeue: 1 when a job named `job_name` is queued or
 * running, 0 when squeue answers and lists none, -1 when there is no squeue or it fails.
 */
static int squeue_probe(const char *job_name, void *ctx) {
    (void)ctx;
    char name_arg[300];
    snprintf(name_arg, sizeof name_arg, "--name=%s", job_name);
    char *argv[] = {"squeue", "-h", "-o", "%i", name_arg, NULL};
    int fds[2];
    if (pipe(fds) != 0) return -1;
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    pid_t pid;
    int rc = posix_spawnp(&pid, "squeue", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1; /* no Slurm on this machine */
    }
    char buf[256];
    size_t total = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) total += buf[i] != '\n' && buf[i] != ' ';
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    return total > 0 ? 1 : 0;
}

/* The study file's notes (a W&B sweep's keys that mean nothing here: wandb_sweep.h), one per line. */
static void print_notes(const mrpc_study *st) {
    for (const char *p = st->notes; *p;) {
        const char *e = strchr(p, '\n');
        int len = e ? (int)(e - p) : (int)strlen(p);
        fprintf(stderr, "mrpc-optimize: note: %.*s\n", len, p);
        p = e ? e + 1 : p + len;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("mrpc-optimize %s\n", MRPC_VERSION_STRING);
        return EXIT_OK;
    }
    int is_next = !strcmp(cmd, "next"), is_status = !strcmp(cmd, "status"), is_show = !strcmp(cmd, "show-wave");
    int is_recommend = !strcmp(cmd, "recommend"), is_cleanup = !strcmp(cmd, "cleanup");
    int64_t rec_k = 3;
    if (!is_next && !is_status && !is_show && !is_recommend && !is_cleanup) {
        fprintf(stderr, "mrpc-optimize: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *study_path = NULL;
    mrpc_next_options opt = {.lock_timeout = 30.0, .report = stderr};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { /* `mrpc-optimize next --help` */
            usage(stdout);
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--study") && i + 1 < argc) {
            study_path = argv[++i];
        } else if (!strcmp(argv[i], "-k") && is_recommend && i + 1 < argc) {
            if (!mrpc_parse_i64(argv[++i], &rec_k) || rec_k < 1 || rec_k > 1000) {
                fprintf(stderr, "mrpc-optimize: -k takes a number of configurations in 1..1000, got \"%s\"\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "--finalize") && !is_status && !is_recommend && !is_cleanup) {
            opt.finalize = 1;
        } else if (!strcmp(argv[i], "--dry-run") && (is_next || is_cleanup)) {
            opt.dry_run = 1;
        } else if (!strcmp(argv[i], "--lock-timeout") && is_next && i + 1 < argc) {
            if (!mrpc_parse_f64(argv[++i], &opt.lock_timeout) || opt.lock_timeout < 0) {
                fprintf(stderr, "mrpc-optimize: --lock-timeout takes seconds >= 0, got \"%s\"\n", argv[i]);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "mrpc-optimize %s: unexpected argument \"%s\"\n", cmd, argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!study_path) {
        fprintf(stderr, "mrpc-optimize %s: --study FILE is required\n", cmd);
        return EXIT_USAGE;
    }
    if (is_show) opt.dry_run = 1;
    /* The matrices are small: BLAS threads only cost time, and one thread keeps results identical everywhere. */
    openblas_set_num_threads(1);

    char bindir[PATH_MAX];
    own_bindir(bindir, sizeof bindir);
    opt.bindir = bindir;

    mrpc_error err = {0};
    mrpc_study *st = malloc(sizeof *st);
    if (!st) {
        fprintf(stderr, "mrpc-optimize: out of memory\n");
        return EXIT_RUNTIME;
    }
    mrpc_status s = mrpc_study_load(study_path, st, &err);
    if (s != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-optimize", &err);
        free(st);
        return exit_code(s);
    }
    if (is_recommend) {
        mrpc_history h;
        s = mrpc_history_load(st, &h, &err);
        if (s == MRPC_OK) {
            mrpc_recommendation rec;
            s = mrpc_recommend(st, &h, mrpc_recommend_default_stage(st), (size_t)rec_k, &rec, &err);
            if (s == MRPC_OK) mrpc_recommendation_print(st, &rec, stdout);
            mrpc_recommendation_free(&rec);
            mrpc_history_free(&h);
        }
        if (s != MRPC_OK) mrpc_error_print(stderr, "mrpc-optimize", &err);
        free(st);
        if (s == MRPC_OK && fflush(stdout) != 0) return EXIT_RUNTIME;
        return exit_code(s);
    }
    if (is_cleanup) { /* cleanup.h */
        mrpc_cleanup_result cr;
        s = mrpc_cleanup(st, opt.dry_run, opt.lock_timeout, stdout, &cr, &err);
        if (s == MRPC_OK) {
            printf("%s %zu checkpoint%s of paused runs that can no longer be promoted: %llu bytes%s; %zu kept (stage not over)\n",
                   opt.dry_run ? "would remove" : "removed", cr.n_files, cr.n_files == 1 ? "" : "s",
                   (unsigned long long)cr.bytes, opt.dry_run ? " would be freed" : " freed", cr.n_kept);
        } else {
            mrpc_error_print(stderr, "mrpc-optimize", &err);
        }
        free(st);
        if (s == MRPC_OK && fflush(stdout) != 0) return EXIT_RUNTIME;
        return exit_code(s);
    }
    if (is_status) {
        print_notes(st);
        s = mrpc_optimize_status_probe(st, bindir, squeue_probe, NULL, stdout, &err);
        if (s != MRPC_OK) mrpc_error_print(stderr, "mrpc-optimize", &err);
        free(st);
        return exit_code(s);
    }

    mrpc_next_result res;
    s = mrpc_optimize_next(st, &opt, &res, &err);
    if (s != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-optimize", &err);
        free(st);
        return exit_code(s);
    }
    int rc = EXIT_OK;
    fprintf(stderr, "mrpc-optimize: %s\n", res.note);
    /* What a W&B sweep file says that means nothing here: once, with the study's first wave. */
    if (is_show || (!opt.dry_run && res.outcome == MRPC_NEXT_WAVE && res.wave == 0)) print_notes(st);
    if (is_show) {
        if (res.outcome == MRPC_NEXT_WAVE) {
            printf("# mrpc-optimize show-wave: the next wave of study %s (nothing written)\n# %s\n", st->name, res.note);
            printf("==> %s/tasks.tsv <==\n%s", res.wave_dir, res.files.tasks_tsv);
            printf("==> %s/wave.yaml <==\n%s", res.wave_dir, res.files.wave_yaml);
            printf("==> %s/wave.sbatch <==\n%s", res.wave_dir, res.files.wave_sbatch);
        } else {
            printf("# mrpc-optimize show-wave: no new wave: %s\n", res.note);
        }
        rc = res.outcome == MRPC_NEXT_BLOCKED ? EXIT_BLOCKED : EXIT_OK;
    } else {
        if (opt.dry_run) printf("dry_run=1\n");
        switch (res.outcome) {
        case MRPC_NEXT_WAVE: printf("wave_dir=%s\nsbatch=%s\n", res.wave_dir, res.sbatch); break;
        case MRPC_NEXT_PENDING:
            printf("pending=%zu\npending_wave_dir=%s\n", res.pending, res.wave_dir);
            if (!opt.dry_run) mrpc_optimize_pending_hint(st, &res, bindir, squeue_probe, NULL, stderr);
            break;
        case MRPC_NEXT_DONE: printf("done\n"); break;
        case MRPC_NEXT_BLOCKED: printf("blocked\n"); rc = EXIT_BLOCKED; break;
        }
    }
    if (fflush(stdout) != 0) rc = EXIT_RUNTIME;
    mrpc_next_result_free(&res);
    free(st);
    return rc;
}

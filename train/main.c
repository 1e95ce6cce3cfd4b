/*
 * main.c — the mrpc-train command line.
 *
 *   mrpc-train --config run.yaml [--set key=value ...] [-q] [--print-config]
 *   mrpc-train --wave WAVE_DIR --task-id N [--set key=value ...] [-q] [--max-restarts N] [--kill-wait S]
 *   mrpc-train tokenize --vocab FILE [--max-seq-length N] [--truncation RULE] PAIRS.tsv
 *   mrpc-train bench [--batch B] [--seq L] [--steps N] [--precision fp32|bf16] [--threads N]
 *   mrpc-train check-checkpoint DIR
 *
 * Shaped like an MPI mini-app main: start the collective layer, let rank 0 read and
 * validate the configuration and broadcast it (every rank learns of an error and
 * exits together), run, map the outcome to an exit code that the Slurm scripts
 * understand. Exit codes:
 *   0  the run completed and its record says "completed"; or it paused as pause_after_epoch
 *      asked (record "paused", resume checkpoint kept: the same command with a larger
 *      pause_after_epoch, or 0, continues it), or it had already paused there
 *   1  the run failed (record says "failed" with the reason, when it could be written)
 *   2  bad command line or configuration (nothing was written)
 *   3  the run diverged (NaN/inf loss or gradient; record says "diverged")
 *   4  gave up: requeued more than --max-restarts times (record says "failed")
 *   75 interrupted by a signal (SIGTERM, SIGUSR1, SIGINT, SIGHUP): a resume checkpoint was
 *      written and the same command continues the run (the Slurm task requeues itself);
 *      also when a rank or the network was lost: the run continues from its latest
 *      periodic checkpoint (save_strategy), or from the start when none was written yet
 *
 * No signal handler is installed: the stop signals are blocked in every thread and taken
 * by one waiting thread (stop_signals.h), because a handler running on a thread inside
 * oneDNN's JIT GEMM corrupts the heap.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cli.h"
#include "call_watch.h"
#include "checkpoint_cli.h"
#include "dist.h"
#include "fsutil.h"
#include "mrpc_version.h"
#include "run_config.h"
#include "stop_signals.h"
#include "strutil.h"
#include "task_config.h"
#include "tokenize_cli.h"
#include "trainer.h"

enum {
    EXIT_COMPLETED = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_DIVERGED = 3,
    EXIT_GAVE_UP = 4,
    EXIT_INTERRUPTED = 75 /* EX_TEMPFAIL: try again */
};

static void usage(FILE *out) {
    fprintf(out,
            "usage: mrpc-train --config run.yaml [--set key=value ...] [-q] [--print-config]\n"
            "       mrpc-train --wave WAVE_DIR --task-id N [--set key=value ...] [-q] [--max-restarts N]\n"
            "                  [--kill-wait SECONDS]\n"
            "       mrpc-train tokenize --vocab FILE [--max-seq-length N] [--truncation RULE] PAIRS.tsv\n"
            "       mrpc-train bench [--batch B] [--seq L] [--steps N] [--precision fp32|bf16] [--threads N]\n"
            "       mrpc-train check-checkpoint DIR\n"
            "\n"
            "Fine-tunes DistilBERT on GLUE MRPC and writes every metric to one HDF5 run record.\n"
            "Run under mpirun/srun for data-parallel training over ranks.\n"
            "\n"
            "  --config FILE      run config (YAML); --print-config lists every key with its default\n"
            "  --set key=value    override a config key (dotted names: model.dim=256); repeatable\n"
            "  --wave DIR         run row --task-id of DIR/tasks.tsv (a wave planned by mrpc-optimize)\n"
            "  --max-restarts N   give up (record failed, exit 4) when SLURM_RESTART_COUNT > N\n"
            "  --kill-wait S      seconds between the stop signal and SIGKILL (Slurm's KillWait, default 30): after a\n"
            "                     stop signal, a rank waits at most S/2 (and 20 s) for lost peers before it records them\n"
            "  -q, --quiet        no progress lines\n"
            "  --version          print the version\n"
            "\n"
            "exit codes: 0 completed (or paused as pause_after_epoch asks), 1 failed, 2 bad usage or config, 3 diverged, 4 gave up after\n"
            "too many requeues, 75 interrupted by a signal or a lost rank (rerun to continue from the latest\n"
            "resume checkpoint)\n");
}

typedef struct cli_args {
    const char *config_path;
    const char *wave_dir;
    long long   task_id;
    int         have_task_id;
    const char *sets[256];
    int         n_sets;
    int         quiet;
    int         print_config;
    long long   max_restarts;
    long long   kill_wait;
} cli_args;

/* Parses the training command line; returns 0 on success, prints the problem otherwise. */
static int parse_args(int argc, char **argv, cli_args *a) {
    memset(a, 0, sizeof *a);
    a->max_restarts = -1;
    a->kill_wait = -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        int64_t n;
        if (strcmp(arg, "--config") == 0 && has_value) {
            a->config_path = argv[++i];
        } else if (strcmp(arg, "--wave") == 0 && has_value) {
            a->wave_dir = argv[++i];
        } else if (strcmp(arg, "--task-id") == 0 && has_value) {
            if (!mrpc_parse_i64(argv[++i], &n) || n < 0) {
                fprintf(stderr, "mrpc-train: error: --task-id needs a non-negative integer, got \"%s\"\n", argv[i]);
                return -1;
            }
            a->task_id = n;
            a->have_task_id = 1;
        } else if (strcmp(arg, "--set") == 0 && has_value) {
            if (a->n_sets == (int)(sizeof a->sets / sizeof a->sets[0])) {
                fprintf(stderr, "mrpc-train: error: too many --set options\n");
                return -1;
            }
            a->sets[a->n_sets++] = argv[++i];
        } else if (strcmp(arg, "--max-restarts") == 0 && has_value) {
            if (!mrpc_parse_i64(argv[++i], &n) || n < 0) {
                fprintf(stderr, "mrpc-train: error: --max-restarts needs a non-negative integer, got \"%s\"\n", argv[i]);
                return -1;
            }
            a->max_restarts = n;
        } else if (strcmp(arg, "--kill-wait") == 0 && has_value) {
            if (!mrpc_parse_i64(argv[++i], &n) || n < 1 || n > 65533) {
                fprintf(stderr, "mrpc-train: error: --kill-wait needs whole seconds from 1 to 65533 (Slurm's KillWait), "
                                "got \"%s\"\n", argv[i]);
                return -1;
            }
            a->kill_wait = n;
        } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            a->quiet = 1;
        } else if (strcmp(arg, "--print-config") == 0) {
            a->print_config = 1;
        } else {
            fprintf(stderr, "mrpc-train: error: unknown or incomplete option \"%s\" (see --help)\n", arg);
            return -1;
        }
    }
    if (a->wave_dir && !a->have_task_id) {
        fprintf(stderr, "mrpc-train: error: --wave needs --task-id (SLURM_ARRAY_TASK_ID)\n");
        return -1;
    }
    if (a->wave_dir && a->config_path) {
        fprintf(stderr, "mrpc-train: error: use --wave or --config, not both (a wave names its base config)\n");
        return -1;
    }
    return 0;
}

/*
 * Rank 0's part of start-up: the config from file or wave row, the --set overrides,
 * the checkpoint's dropouts, validation.
 */
static mrpc_status build_config(const cli_args *a, mrpc_run_config *cfg, mrpc_error *err) {
    mrpc_run_config_defaults(cfg);
    mrpc_status s = MRPC_OK;
    if (a->wave_dir) {
        s = mrpc_task_config_from_wave(a->wave_dir, a->task_id, cfg, err);
    } else if (a->config_path) {
        s = mrpc_run_config_load_file(a->config_path, cfg, err);
    }
    for (int i = 0; s == MRPC_OK && i < a->n_sets; i++) s = mrpc_run_config_set_assignment(cfg, a->sets[i], err);
    if (s != MRPC_OK) return s;
    return mrpc_task_config_finalize(cfg, err);
}

static int train_main(int argc, char **argv) {
    cli_args args;
    if (parse_args(argc, argv, &args) != 0) return EXIT_USAGE;
    if (!args.config_path && !args.wave_dir && !args.print_config) {
        usage(stderr);
        return EXIT_USAGE;
    }
    mrpc_error err = {0};
    if (args.print_config) {
        /* Local and collective-free: prints the resolved config of rank 0's view. */
        mrpc_run_config cfg;
        mrpc_status s = build_config(&args, &cfg, &err);
        if (s != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-train", &err);
            return EXIT_USAGE;
        }
        char *yaml = NULL;
        if (mrpc_run_config_to_yaml(&cfg, 1, &yaml, &err) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-train", &err);
            return EXIT_FAILED;
        }
        fputs(yaml, stdout);
        free(yaml);
        return EXIT_COMPLETED;
    }

    /* Before MPI_Init and the first BLAS/OpenMP call: every thread started later inherits
     * the blocked stop signals. */
    mrpc_stop_signals *stop = NULL;
    if (mrpc_stop_signals_start(&stop, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train", &err);
        return EXIT_FAILED;
    }
    /* A write to the socket of a rank that died must fail with EPIPE inside MPI (then the
     * stop watch or the call watch records the lost rank), not kill this rank with SIGPIPE
     * before it can say why (seen: "task 0: Broken pipe", record left "running"). */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "mrpc-train: error: cannot ignore SIGPIPE: %s\n", strerror(errno));
        mrpc_stop_signals_free(stop);
        return EXIT_FAILED;
    }
    /* MPI_Init waits for every rank (a PMIx fence) and cannot be polled: a rank lost there
     * would hold this one until SIGKILL, so the call watch looks at it too. */
    mrpc_call_watch *init_watch = NULL;
    if (mrpc_call_watch_start(EXIT_INTERRUPTED, &init_watch, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train", &err);
        mrpc_stop_signals_free(stop);
        return EXIT_FAILED;
    }
    mrpc_call_watch_set_probe(init_watch, mrpc_stop_signals_probe, stop, 3.0);
    mrpc_dist *dist = NULL;
    mrpc_call_watch_enter(init_watch, "MPI_Init");
    mrpc_status started = mrpc_dist_init(&argc, &argv, 0, &dist, &err);
    mrpc_call_watch_leave(init_watch);
    mrpc_call_watch_free(init_watch);
    if (started != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train", &err);
        mrpc_stop_signals_free(stop);
        return EXIT_FAILED;
    }
    int rank = mrpc_dist_rank(dist);
    /* From the first collective on, a lost rank ends this one within seconds of the stop
     * signal Slurm then sends (dist.h: the stop watch and the call watch). */
    mrpc_dist_watch_stop(dist, mrpc_stop_signals_probe, stop, 3.0);
    if (mrpc_dist_watch_stuck(dist, NULL, NULL, EXIT_INTERRUPTED, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train", &err);
        mrpc_dist_free(dist);
        mrpc_stop_signals_free(stop);
        return EXIT_FAILED;
    }

    /* Rank 0 reads and validates, then everyone agrees and receives the result. */
    mrpc_run_config *cfg = calloc(1, sizeof *cfg);
    mrpc_status s = cfg ? MRPC_OK : mrpc_error_set(&err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    if (s == MRPC_OK && rank == 0) s = build_config(&args, cfg, &err);
    s = mrpc_dist_agree(dist, s, &err);
    if (s == MRPC_OK) s = mrpc_dist_bcast(dist, cfg, sizeof *cfg, 0, &err);
    if (s != MRPC_OK) {
        if (rank == 0 || err.status == MRPC_ERR_MPI) mrpc_error_print(stderr, "mrpc-train", &err);
        int code = mrpc_dist_broken(dist)                       ? EXIT_INTERRUPTED /* a lost rank: retried */
                   : s == MRPC_ERR_MPI || s == MRPC_ERR_NOMEM ? EXIT_FAILED
                                                              : EXIT_USAGE;
        free(cfg);
        mrpc_dist_free(dist);
        mrpc_stop_signals_free(stop);
        return code;
    }

    mrpc_train_options opts = {0};
    opts.quiet = args.quiet || rank != 0;
    opts.max_restarts = (int)args.max_restarts;
    opts.kill_wait_seconds = args.kill_wait > 0 ? (double)args.kill_wait : 30.0; /* Slurm's default KillWait */
    opts.interrupted_exit_code = EXIT_INTERRUPTED;
    const char *restarts = getenv("SLURM_RESTART_COUNT");
    int64_t n_restarts = 0;
    if (restarts && mrpc_parse_i64(restarts, &n_restarts) && n_restarts > 0) opts.restart_count = (int)n_restarts;
    opts.stop = stop;

    mrpc_train_result result;
    s = mrpc_train_run(cfg, dist, &opts, &result, &err);
    int code;
    if (s != MRPC_OK) {
        if (rank == 0) mrpc_error_print(stderr, "mrpc-train", &err);
        code = mrpc_dist_broken(dist) ? EXIT_INTERRUPTED : EXIT_FAILED; /* a lost rank: retried */
    } else {
        switch (result.outcome) {
        case MRPC_TRAIN_COMPLETED: code = EXIT_COMPLETED; break;
        case MRPC_TRAIN_PAUSED: code = EXIT_COMPLETED; break;
        case MRPC_TRAIN_DIVERGED: code = EXIT_DIVERGED; break;
        case MRPC_TRAIN_INTERRUPTED: code = EXIT_INTERRUPTED; break;
        case MRPC_TRAIN_GAVE_UP: code = EXIT_GAVE_UP; break;
        default: code = EXIT_FAILED; break;
        }
        if (result.outcome == MRPC_TRAIN_FAILED && rank == 0) mrpc_error_print(stderr, "mrpc-train", &err);
    }
    free(cfg);
    mrpc_dist_free(dist);
    mrpc_stop_signals_free(stop);
    return code;
}

int main(int argc, char **argv) {
    if (argc >= 2) {
        const char *cmd = argv[1];
        if (strcmp(cmd, "tokenize") == 0) return mrpc_tokenize_cli_main(argc - 1, argv + 1);
        if (strcmp(cmd, "bench") == 0) return mrpc_bench_cli_main(argc - 1, argv + 1);
        if (strcmp(cmd, "check-checkpoint") == 0) return mrpc_checkpoint_cli_main(argc - 1, argv + 1);
        /* --help anywhere (not as the value of an option) answers with the usage. */
        for (int i = 1; i < argc; i++) {
            static const char *const takes_value[] = {"--config",       "--set",      "--wave", "--task-id",
                                                      "--max-restarts", "--kill-wait"};
            int is_value = 0;
            for (size_t k = 0; i > 1 && k < sizeof takes_value / sizeof takes_value[0]; k++)
                is_value |= strcmp(argv[i - 1], takes_value[k]) == 0;
            if (!is_value && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
                usage(stdout);
                return EXIT_COMPLETED;
            }
        }
        if (strcmp(cmd, "--version") == 0) {
            printf("mrpc-train %s\n", MRPC_VERSION_STRING);
            return EXIT_COMPLETED;
        }
    }
    return train_main(argc, argv);
}

/* local_executor.c — a wave's tasks as local processes (see local_executor.h). */
#define _POSIX_C_SOURCE 200809L
#include "local_executor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "process.h"
#include "strutil.h"
#include "runrec.h"
#include "wave.h"

/* The task's pause_after_epoch column (0 when the wave has none: run to the end). */
static int64_t task_pause_after(const mrpc_wave *w, const mrpc_wave_task *t) {
    int64_t k = 0;
    for (size_t c = 0; c < w->n_keys; c++)
        if (strcmp(w->keys[c], "pause_after_epoch") == 0 && !mrpc_parse_i64(t->values[c], &k)) k = 0;
    return k;
}

/* The status of the task's record: 1 and *rec_status when it is readable, else 0. */
static int task_record_status(const mrpc_wave *w, const mrpc_wave_task *t, mrpc_run_status *rec_status,
                              int64_t *paused_epoch) {
    char path[2 * MRPC_WAVE_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", w->study_dir, t->output);
    if (!mrpc_path_exists(path)) return 0;
    mrpc_runrec rec;
    if (mrpc_runrec_read(path, MRPC_RUNREC_READ_ATTRS_ONLY, &rec, NULL) != MRPC_OK) return 0;
    *rec_status = rec.status;
    *paused_epoch = rec.paused_epoch;
    mrpc_runrec_clear(&rec);
    return 1;
}

/* 1 when the task's record exists and has a final status for this task (nothing left to run):
 * a paused record is final unless the task pauses later or runs to the end (a promotion). */
static int task_is_final(const mrpc_wave *w, const mrpc_wave_task *t) {
    mrpc_run_status st = MRPC_RUN_RUNNING;
    int64_t paused = 0;
    if (!task_record_status(w, t, &st, &paused)) return 0;
    if (st == MRPC_RUN_PAUSED) {
        int64_t k = task_pause_after(w, t);
        return k > 0 && k <= paused;
    }
    return st != MRPC_RUN_RUNNING;
}

typedef struct running_task {
    pid_t   pid;
    int64_t task_id;
} running_task;

static void count_exit(mrpc_local_result *r, int code) {
    switch (code) {
    case 0: r->completed++; break;
    case 3: r->diverged++; break;
    case 75: r->interrupted++; break;
    default:
        /* Killed by a signal (128 + n): it ended without a final record, like an interruption. */
        if (code > 128) r->interrupted++;
        else r->failed++;
        break;
    }
}

mrpc_status mrpc_local_run_wave(const char *wave_dir, const mrpc_local_options *opts, mrpc_local_result *result,
                                mrpc_error *err) {
    memset(result, 0, sizeof *result);
    mrpc_wave w;
    memset(&w, 0, sizeof w);
    mrpc_status s = mrpc_wave_read(wave_dir, &w, err);
    if (s != MRPC_OK) return s;
    result->n_tasks = (int)w.n_tasks;
    char logs[MRPC_WAVE_PATH_MAX + 16];
    snprintf(logs, sizeof logs, "%s/logs", wave_dir);
    s = mrpc_mkdir_p(logs, err);
    int jobs = opts->jobs > 0 ? opts->jobs : 1;
    running_task *running = calloc((size_t)jobs, sizeof *running);
    if (s == MRPC_OK && !running) s = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    char train[MRPC_WAVE_PATH_MAX + 32];
    snprintf(train, sizeof train, "%s/mrpc-train", opts->bindir);
    int n_running = 0;
    size_t next = 0;
    int stop_sent = 0;
    while (s == MRPC_OK && (next < w.n_tasks || n_running > 0)) {
        int stopping = opts->stop_requested && *opts->stop_requested;
        if (stopping && !stop_sent) {
            for (int i = 0; i < jobs; i++)
                if (running[i].pid > 0) kill(running[i].pid, SIGTERM);
            stop_sent = 1;
        }
        /* Fill free slots. */
        while (!stopping && n_running < jobs && next < w.n_tasks) {
            const mrpc_wave_task *t = &w.tasks[next++];
            if (task_is_final(&w, t)) {
                result->skipped++;
                continue;
            }
            char id[32], log[MRPC_WAVE_PATH_MAX + 64], threads[48];
            snprintf(id, sizeof id, "%lld", (long long)t->task_id);
            snprintf(log, sizeof log, "%s/local-%lld.log", logs, (long long)t->task_id);
            snprintf(threads, sizeof threads, "threads=%d", opts->threads);
            char *argv[10];
            int a = 0;
            argv[a++] = train;
            argv[a++] = "--wave";
            argv[a++] = (char *)wave_dir;
            argv[a++] = "--task-id";
            argv[a++] = id;
            argv[a++] = "-q";
            if (opts->threads > 0) {
                argv[a++] = "--set";
                argv[a++] = threads;
            }
            argv[a] = NULL;
            int slot = 0;
            while (running[slot].pid > 0) slot++;
            s = mrpc_process_start(argv, log, NULL, &running[slot].pid, err);
            if (s != MRPC_OK) break;
            running[slot].task_id = t->task_id;
            n_running++;
        }
        if (n_running == 0) break;
        int status = 0;
        pid_t done = waitpid(-1, &status, 0);
        if (done < 0) {
            if (errno == EINTR) continue; /* a signal: loop to pass it on */
            s = mrpc_error_set(err, MRPC_ERR_IO, NULL, 0, 0, NULL, "waitpid: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < jobs; i++) {
            if (running[i].pid != done) continue;
            int code = mrpc_process_exit_code(status);
            /* Exit 0 with a paused record: done for this wave (paused at its rung), not completed. */
            const mrpc_wave_task *pt = mrpc_wave_task_by_id(&w, running[i].task_id);
            mrpc_run_status rst = MRPC_RUN_RUNNING;
            int64_t pe = 0;
            int paused = code == 0 && pt && task_record_status(&w, pt, &rst, &pe) && rst == MRPC_RUN_PAUSED;
            if (paused) result->paused++;
            else count_exit(result, code);
            if (!opts->quiet) {
                const mrpc_wave_task *t = mrpc_wave_task_by_id(&w, running[i].task_id);
                fprintf(stderr, "mrpc-pipeline: %s %s task %lld (%s): %s\n", w.stage, code == 0 ? "done" : "ended",
                        (long long)running[i].task_id, t ? t->run_id : "?",
                        paused ? "paused" : code == 0 ? "completed" : code == 3 ? "diverged" : code == 75 ? "interrupted"
                                                                          : code > 128 ? "killed by a signal" : "failed");
            }
            running[i].pid = 0;
            n_running--;
        }
    }
    /* On an error, do not leave orphans behind. */
    for (int i = 0; running && i < jobs; i++) {
        if (running[i].pid > 0) {
            kill(running[i].pid, SIGTERM);
            int st;
            waitpid(running[i].pid, &st, 0);
        }
    }
    free(running);
    mrpc_wave_clear(&w);
    return s;
}

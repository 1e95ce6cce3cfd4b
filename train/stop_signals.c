/* stop_signals.c — stop requests taken by one sigwait thread, never by a handler (see stop_signals.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "stop_signals.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mrpc_stop_signals {
    sigset_t    set;       /* the signals this object waits for */
    sigset_t    old_mask;  /* the caller's mask before start */
    pthread_t   thread;
    _Atomic int first;     /* first signal received, 0 = none */
    _Atomic long count;    /* signals received in all */
};

static const int stop_signal_numbers[] = {SIGTERM, SIGUSR1, SIGINT, SIGHUP};

/* The waiting thread: takes each signal of the set as it becomes pending. */
static void *wait_for_signals(void *arg) {
    mrpc_stop_signals *stop = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&stop->set, &sig) != 0) continue; /* only EINVAL, impossible for this set */
        int none = 0;
        atomic_compare_exchange_strong(&stop->first, &none, sig);
        atomic_fetch_add(&stop->count, 1);
    }
    return NULL;
}

/* Threads of this process now (entries of /proc/self/task); 0 when unknown. */
static int count_threads(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

mrpc_status mrpc_stop_signals_start(mrpc_stop_signals **out, mrpc_error *err) {
    *out = NULL;
    mrpc_stop_signals *stop = calloc(1, sizeof *stop);
    if (!stop) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    atomic_init(&stop->first, 0);
    atomic_init(&stop->count, 0);
    sigemptyset(&stop->set);
    for (size_t i = 0; i < sizeof stop_signal_numbers / sizeof stop_signal_numbers[0]; i++) {
        struct sigaction now;
        if (sigaction(stop_signal_numbers[i], NULL, &now) == 0 && now.sa_handler == SIG_IGN) continue;
        sigaddset(&stop->set, stop_signal_numbers[i]);
    }
    int rc = pthread_sigmask(SIG_BLOCK, &stop->set, &stop->old_mask);
    if (rc != 0) {
        free(stop);
        return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL, "cannot block the stop signals: %s",
                              strerror(rc));
    }
    int threads = count_threads();
    rc = pthread_create(&stop->thread, NULL, wait_for_signals, stop);
    if (rc != 0) {
        pthread_sigmask(SIG_SETMASK, &stop->old_mask, NULL);
        free(stop);
        return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL,
                              "cannot start the thread that waits for stop signals: %s", strerror(rc));
    }
    pthread_setname_np(stop->thread, "mrpc-stopsig"); /* names it in /proc/PID/task/TID/comm; cosmetic */
    if (threads > 1)
        fprintf(stderr,
                "mrpc-train: warning: %d threads were running before the stop signals were blocked; a stop signal "
                "delivered to one of them could end the process without a checkpoint\n",
                threads - 1);
    *out = stop;
    return MRPC_OK;
}

int mrpc_stop_signals_requested(const mrpc_stop_signals *stop) {
    return stop ? atomic_load(&((mrpc_stop_signals *)stop)->first) : 0;
}

int mrpc_stop_signals_probe(const void *stop) { return mrpc_stop_signals_requested(stop) != 0; }

long mrpc_stop_signals_count(const mrpc_stop_signals *stop) {
    return stop ? atomic_load(&((mrpc_stop_signals *)stop)->count) : 0;
}

void mrpc_stop_signals_free(mrpc_stop_signals *stop) {
    if (!stop) return;
    /* sigwait is a cancellation point: the thread ends there. */
    if (pthread_cancel(stop->thread) == 0) pthread_join(stop->thread, NULL);
    free(stop);
}

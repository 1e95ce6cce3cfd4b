/* call_watch.c — the watchdog of call_watch.h: a thread that looks every 50 ms and ends at
 * once when freed (it waits on a condition variable, not in a sleep). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "call_watch.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timeutil.h"

/* The watched thread's calls are numbered: `seq` is odd inside a call, even outside, and
 * TAKEN after a takeover. A compare-and-swap on it decides between leave() and the watch,
 * and a call that ended and another that began are never confused (the number moved). */
#define TAKEN UINT64_MAX

struct mrpc_call_watch {
    pthread_t  thread;
    int        exit_code;
    atomic_uint_fast64_t  seq;
    _Atomic double        entered_at; /* when the current call began */
    _Atomic(const char *) call;
    /* Settings, changed rarely by the watched thread, read by the watch thread; `quit`
     * (set by free, which signals `wake`) too. */
    pthread_mutex_t          lock;
    pthread_cond_t           wake;
    int                      quit;
    int                    (*probe)(const void *ctx);
    const void              *probe_ctx;
    double                   grace;
    mrpc_call_watch_stuck_fn on_stuck;
    void                    *stuck_ctx;
};

/* Takes over: runs on_stuck (under the settings lock, so that it cannot be cleared
 * meanwhile) and ends the process. */
static void take_over(mrpc_call_watch *w, double now) {
    const char *call = atomic_load(&w->call);
    double seconds = now - atomic_load(&w->entered_at);
    pthread_mutex_lock(&w->lock);
    fprintf(stderr, "mrpc-train: %s did not return for %.1f s after a stop signal (the MPI library is stuck on the "
                    "connection to a lost rank): ending this rank\n", call ? call : "a library call", seconds);
    if (w->on_stuck) w->on_stuck(w->stuck_ctx, call ? call : "a library call", seconds);
    fflush(stdout);
    fflush(stderr);
    _exit(w->exit_code);
}

static void *watch_loop(void *arg) {
    mrpc_call_watch *w = arg;
    double stop_seen = -1.0;
    pthread_mutex_lock(&w->lock);
    while (!w->quit) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 50 * 1000 * 1000;
        if (until.tv_nsec >= 1000 * 1000 * 1000) {
            until.tv_sec++;
            until.tv_nsec -= 1000 * 1000 * 1000;
        }
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
        if (w->quit) break;
        int stopping = w->probe && w->probe(w->probe_ctx);
        double grace = w->grace;
        pthread_mutex_unlock(&w->lock);
        double now = mrpc_seconds_now();
        if (!stopping) stop_seen = -1.0;
        else if (stop_seen < 0) stop_seen = now;
        uint_fast64_t seq = atomic_load(&w->seq);
        if (stopping && seq % 2 == 1 && seq != TAKEN) {
            double entered = atomic_load(&w->entered_at);
            double since = entered > stop_seen ? entered : stop_seen;
            /* Still the same call (it did not leave meanwhile), past the grace: take over. */
            if (atomic_load(&w->seq) == seq && now - since > grace &&
                atomic_compare_exchange_strong(&w->seq, &seq, TAKEN))
                take_over(w, now);
        }
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Wakes the watch thread with `quit` set and joins it. */
static void stop_thread(mrpc_call_watch *w) {
    pthread_mutex_lock(&w->lock);
    w->quit = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
}

mrpc_status mrpc_call_watch_start(int exit_code, mrpc_call_watch **out, mrpc_error *err) {
    *out = NULL;
    mrpc_call_watch *w = calloc(1, sizeof *w);
    if (!w) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    w->exit_code = exit_code;
    atomic_init(&w->seq, 0);
    atomic_init(&w->entered_at, 0.0);
    atomic_init(&w->call, NULL);
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0) rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0) rc = pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        free(w);
        return mrpc_error_set(err, MRPC_ERR_IO, NULL, 0, 0, "pthread_cond_init", "%s", strerror(rc));
    }
    rc = pthread_mutex_init(&w->lock, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&w->wake);
        free(w);
        return mrpc_error_set(err, MRPC_ERR_IO, NULL, 0, 0, "pthread_mutex_init", "%s", strerror(rc));
    }
    /* Signals stay with the threads that wait for them (stop_signals.c), never this one. */
    sigset_t all, old;
    sigfillset(&all);
    rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc == 0) {
        rc = pthread_create(&w->thread, NULL, watch_loop, w);
        int rc2 = pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc == 0 && rc2 != 0) {
            stop_thread(w);
            rc = rc2;
        }
    }
    if (rc != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        return mrpc_error_set(err, MRPC_ERR_IO, NULL, 0, 0, "pthread_create", "call watch: %s", strerror(rc));
    }
    pthread_setname_np(w->thread, "mrpc-callwatch");
    *out = w;
    return MRPC_OK;
}

void mrpc_call_watch_free(mrpc_call_watch *w) {
    if (!w) return;
    stop_thread(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w);
}

void mrpc_call_watch_set_probe(mrpc_call_watch *w, int (*probe)(const void *ctx), const void *ctx,
                               double grace_seconds) {
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->probe = probe;
    w->probe_ctx = ctx;
    w->grace = grace_seconds;
    pthread_mutex_unlock(&w->lock);
}

void mrpc_call_watch_on_stuck(mrpc_call_watch *w, mrpc_call_watch_stuck_fn fn, void *ctx) {
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->on_stuck = fn;
    w->stuck_ctx = ctx;
    pthread_mutex_unlock(&w->lock);
}

void mrpc_call_watch_enter(mrpc_call_watch *w, const char *call) {
    if (!w) return;
    atomic_store(&w->call, call);
    atomic_store(&w->entered_at, mrpc_seconds_now());
    atomic_fetch_add(&w->seq, 1); /* odd: inside (only this thread moves it off TAKEN's way) */
}

void mrpc_call_watch_leave(mrpc_call_watch *w) {
    if (!w) return;
    uint_fast64_t seq = atomic_load(&w->seq);
    if (seq != TAKEN && atomic_compare_exchange_strong(&w->seq, &seq, seq + 1)) return;
    for (;;) pause(); /* taken over: the watch thread ends the process */
}

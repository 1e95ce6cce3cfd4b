/* test_call_watch.c — the watchdog for a library call that never returns (call_watch.h).
 *
 * Each case runs in a child process, since a takeover ends the process: a call that
 * hangs after a stop signal is taken over (on_stuck runs, exit code as asked, soon after
 * the grace); short calls, calls without a stop, and a watch without a probe never are. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "call_watch.h"
#include "testutil.h"
#include "timeutil.h"

#define STUCK_EXIT 75

/* The stop flag the probe reads, set by the child's main thread. */
static int probe_flag(const void *ctx) { return atomic_load((const atomic_int *)ctx); }

/* on_stuck writes "call seconds" to the file named by ctx. */
static void write_marker(void *ctx, const char *call, double seconds) {
    FILE *fh = fopen(ctx, "w");
    if (!fh) return;
    fprintf(fh, "%s %.3f\n", call, seconds);
    fclose(fh);
}

static void sleep_seconds(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

typedef enum scenario {
    HANG_AFTER_STOP,    /* stop, then a call that never returns: taken over */
    HANG_BEFORE_STOP,   /* a call hangs, the stop comes 0.6 s later: taken over grace after the stop */
    HANG_WITHOUT_STOP,  /* a call takes 1.5 s, no stop: returns normally */
    SHORT_CALLS,        /* stop, then 1.5 s of 1 ms calls: never taken over */
    NO_PROBE            /* stop flag set but no probe: a 1.5 s call returns normally */
} scenario;

/* The child: exits 0 when its calls all returned, STUCK_EXIT when taken over. */
static void child(scenario sc, const char *marker, double grace) {
    static atomic_int stop;
    atomic_init(&stop, 0);
    mrpc_call_watch *w = NULL;
    mrpc_error err = {0};
    if (mrpc_call_watch_start(STUCK_EXIT, &w, &err) != MRPC_OK) _exit(3);
    if (sc != NO_PROBE) mrpc_call_watch_set_probe(w, probe_flag, &stop, grace);
    mrpc_call_watch_on_stuck(w, write_marker, (void *)marker);
    switch (sc) {
    case HANG_AFTER_STOP:
        atomic_store(&stop, 1);
        mrpc_call_watch_enter(w, "MPI_Test");
        sleep_seconds(10.0);
        mrpc_call_watch_leave(w);
        break;
    case HANG_BEFORE_STOP:
        mrpc_call_watch_enter(w, "MPI_Wait");
        sleep_seconds(0.6);
        atomic_store(&stop, 1); /* as the signal thread would, while this one is stuck */
        sleep_seconds(10.0);
        mrpc_call_watch_leave(w);
        break;
    case HANG_WITHOUT_STOP:
    case NO_PROBE:
        if (sc == NO_PROBE) atomic_store(&stop, 1);
        mrpc_call_watch_enter(w, "MPI_Test");
        sleep_seconds(1.5);
        mrpc_call_watch_leave(w);
        break;
    case SHORT_CALLS: {
        atomic_store(&stop, 1);
        double t0 = mrpc_seconds_now();
        while (mrpc_seconds_now() - t0 < 1.5) {
            mrpc_call_watch_enter(w, "MPI_Test");
            sleep_seconds(0.001);
            mrpc_call_watch_leave(w);
        }
        break;
    }
    }
    mrpc_call_watch_free(w);
    _exit(0);
}

/* Runs a scenario; returns the child's exit code (-1 when it did not exit normally) and
 * how long it ran. */
static int run(scenario sc, const char *marker, double grace, double *seconds) {
    remove(marker);
    double t0 = mrpc_seconds_now();
    pid_t pid = fork();
    if (pid == 0) child(sc, marker, grace);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    *seconds = mrpc_seconds_now() - t0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Reads "call seconds" back; call has room for 63 characters. */
static int read_marker(const char *marker, char call[64], double *seconds) {
    FILE *fh = fopen(marker, "r");
    if (!fh) return 0;
    int n = fscanf(fh, "%63s %lf", call, seconds);
    fclose(fh);
    return n == 2;
}

int main(void) {
    char marker[1024];
    snprintf(marker, sizeof marker, "%s/call_watch_marker", mrpc_test_tmpdir());
    const double grace = 0.4;
    double took = 0, stuck_for = 0;
    char call[64] = "";

    int code = run(HANG_AFTER_STOP, marker, grace, &took);
    CHECK(code == STUCK_EXIT, "a call hanging after a stop is taken over: exit %d", code);
    CHECK(took >= grace && took < grace + 1.0, "soon after the grace: %.2f s", took);
    CHECK(read_marker(marker, call, &stuck_for) && strcmp(call, "MPI_Test") == 0 && stuck_for >= grace,
          "on_stuck ran with the call and its time: %s %.2f", call, stuck_for);

    code = run(HANG_BEFORE_STOP, marker, grace, &took);
    CHECK(code == STUCK_EXIT, "a call hanging before the stop is taken over: exit %d", code);
    CHECK(took >= 0.6 + grace && took < 0.6 + grace + 1.0, "the grace counts from the stop: %.2f s", took);
    CHECK(read_marker(marker, call, &stuck_for) && strcmp(call, "MPI_Wait") == 0 && stuck_for >= 0.6 + grace,
          "on_stuck names MPI_Wait, stuck since before the stop: %s %.2f", call, stuck_for);

    code = run(HANG_WITHOUT_STOP, marker, grace, &took);
    CHECK(code == 0 && access(marker, F_OK) != 0, "a long call without a stop returns: exit %d", code);

    code = run(SHORT_CALLS, marker, grace, &took);
    CHECK(code == 0 && access(marker, F_OK) != 0, "short calls after a stop are never taken over: exit %d", code);

    code = run(NO_PROBE, marker, grace, &took);
    CHECK(code == 0 && access(marker, F_OK) != 0, "no probe, no takeover: exit %d", code);
    remove(marker);
    return mrpc_test_report();
}

/* timeutil.c — clocks (see timeutil.h). */
#define _POSIX_C_SOURCE 200809L
#include "timeutil.h"

#include <time.h>

double mrpc_seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void mrpc_utc_timestamp(char *buf, size_t buf_size) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, buf_size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

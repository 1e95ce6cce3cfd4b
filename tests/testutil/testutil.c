/* testutil.c — the shared test assertions (see testutil.h).
 *
 * The pass/fail counters are the one piece of process-wide state in the project:
 * a test binary is a single main() and the counters live exactly as long as it. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

static int n_passed_;
static int n_failed_;
static char tmpdir_[1024];
static char data_path_[1024];

int mrpc_test_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...) {
    if (ok) { n_passed_++; return 1; }
    n_failed_++;
    fprintf(stderr, "FAIL %s:%d: %s", file, line, expr);
    if (fmt && fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, ": ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "\n");
    return 0;
}

int mrpc_test_close(double got, double want, double abs_tol, double rel_tol, const char *file, int line,
                    const char *what) {
    double diff = fabs(got - want);
    int ok = !isnan(got) && !isnan(want) && diff <= abs_tol + rel_tol * fabs(want);
    return mrpc_test_check(ok, file, line, what, "got %.9g, want %.9g (diff %.3g, tol %.3g)", got, want, diff,
                           abs_tol + rel_tol * fabs(want));
}

int mrpc_test_ok(int status, const mrpc_error *err, const char *file, int line, const char *expr) {
    if (status == MRPC_OK) { n_passed_++; return 1; }
    char buf[2048] = "";
    if (err) mrpc_error_format(err, buf, sizeof buf);
    return mrpc_test_check(0, file, line, expr, "status %d (%s): %s", status, mrpc_status_str((mrpc_status)status),
                           buf);
}

int mrpc_test_close_array(const float *got, const float *want, size_t n, double abs_tol, double rel_tol,
                          const char *file, int line, const char *what) {
    size_t worst = 0, n_bad = 0;
    double worst_excess = -1.0, max_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - (double)want[i]);
        double tol = abs_tol + rel_tol * fabs((double)want[i]);
        int bad = isnan(got[i]) || isnan(want[i]) || diff > tol;
        if (diff > max_diff || isnan(diff)) max_diff = diff;
        if (bad) n_bad++;
        double excess = isnan(diff) ? INFINITY : diff - tol;
        if (excess > worst_excess) { worst_excess = excess; worst = i; }
    }
    if (n_bad == 0) { n_passed_++; return 1; }
    fprintf(stderr, "  %s: first values (got / want):", what);
    for (size_t i = 0; i < n && i < 5; i++) fprintf(stderr, " %.6g/%.6g", got[i], want[i]);
    fprintf(stderr, "\n");
    return mrpc_test_check(0, file, line, what,
                           "%zu of %zu values out of tolerance; worst at [%zu]: got %.9g want %.9g; max |diff| %.3g",
                           n_bad, n, worst, got[worst], want[worst], max_diff);
}

int mrpc_test_report(void) {
    printf("%d passed, %d failed\n", n_passed_, n_failed_);
    fflush(stdout);
    return n_failed_ ? 1 : 0;
}

void mrpc_test_skip(const char *reason) {
    printf("SKIP: %s\n", reason);
    fflush(stdout);
    exit(77);
}

/* The file that says a directory is a test's scratch directory, safe to clear. */
#define SCRATCH_MARK ".mrpc-test-scratch"

/* 1 when `dir` holds no names (hidden ones aside), else 0 (also when it cannot be listed). */
static int dir_is_empty(const char *dir) {
    char **names = NULL;
    size_t n = 0;
    mrpc_error err = {0};
    if (mrpc_list_dir(dir, NULL, NULL, &names, &n, &err) != MRPC_OK) return 0;
    mrpc_names_free(names, n);
    return n == 0;
}

const char *mrpc_test_tmpdir(void) {
    if (tmpdir_[0]) return tmpdir_;
    const char *base = getenv("MRPC_TEST_TMPDIR");
    if (base && base[0]) {
        snprintf(tmpdir_, sizeof tmpdir_, "%s", base);
    } else {
        snprintf(tmpdir_, sizeof tmpdir_, "/tmp/mrpc-test-%ld", (long)getpid());
    }
    /* Cleared only when a test made it (its mark is there), it is empty, or it is ctest's
     * own build/test-tmp/<test>: pointed at /tmp or a home directory by mistake, it must
     * not be wiped. */
    char mark[1100];
    snprintf(mark, sizeof mark, "%s/" SCRATCH_MARK, tmpdir_);
    const char *build = getenv("MRPC_BINARY_DIR"); /* ctest's own scratch area: build/test-tmp/<test> */
    char ours[1100] = "";
    if (build && build[0]) snprintf(ours, sizeof ours, "%s/test-tmp/", build);
    int in_build = ours[0] && strncmp(tmpdir_, ours, strlen(ours)) == 0 && !strstr(tmpdir_ + strlen(ours), "..");
    if (mrpc_path_exists(tmpdir_) && access(mark, F_OK) != 0 && !in_build && !dir_is_empty(tmpdir_)) {
        fprintf(stderr, "test: the scratch directory %s (MRPC_TEST_TMPDIR) holds files that no test put there (no %s): "
                        "not clearing it; point MRPC_TEST_TMPDIR at a new directory\n", tmpdir_, SCRATCH_MARK);
        exit(1);
    }
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not clear %s\n", tmpdir_);
    mrpc_error err = {0};
    if (mrpc_mkdir_p(tmpdir_, &err) != MRPC_OK || mrpc_file_write_atomic(mark, "", 0, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "test", &err);
        exit(1);
    }
    return tmpdir_;
}

const char *mrpc_test_data_path(const char *relative) {
    const char *dir = getenv("MRPC_DATA_DIR");
    if (!dir || !dir[0]) mrpc_test_skip("MRPC_DATA_DIR is not set");
    snprintf(data_path_, sizeof data_path_, "%s/%s", dir, relative);
    if (access(data_path_, R_OK) != 0) {
        fprintf(stderr, "data file %s is missing\n", data_path_);
        exit(1); /* data missing is a failure, not a skip: CI must have it */
    }
    return data_path_;
}

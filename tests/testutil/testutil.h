/*
 * testutil.h — the assertions every C test uses.
 *
 * A test is a main() that calls CHECK* as often as it likes and ends with
 * `return mrpc_test_report();`, which prints "<N> passed, <M> failed" and returns 1
 * when anything failed. A failed check prints file:line, the expression and a detail
 * message, and the test goes on, so one run shows every failure.
 *
 *     CHECK(n == 3, "expected 3 rows, got %zu", n);
 *     CHECK_CLOSE(loss, 0.6931, 1e-5, 1e-4, "loss");
 *     CHECK_OK(mrpc_tsv_read(path, &pairs, &err), &err);
 *     return mrpc_test_report();
 *
 * Tests that need something this machine lacks (a GPU, torch) call
 * mrpc_test_skip(reason), which exits 77 so ctest reports "Not Run".
 */
#ifndef MRPC_TESTUTIL_H
#define MRPC_TESTUTIL_H

#include <stddef.h>

#include "status.h"

/* Records one check; returns `ok`. Use the macros below. */
int mrpc_test_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* |got - want| <= abs_tol + rel_tol * |want|, with NaN never close. */
int mrpc_test_close(double got, double want, double abs_tol, double rel_tol, const char *file, int line,
                    const char *what);

/* Checks that status is MRPC_OK, printing the error record otherwise. */
int mrpc_test_ok(int status, const mrpc_error *err, const char *file, int line, const char *expr);

/*
 * Compares two float arrays elementwise with |a-b| <= abs_tol + rel_tol*|b|; prints the
 * first values, the worst index and the largest difference on failure (llm.c style).
 */
int mrpc_test_close_array(const float *got, const float *want, size_t n, double abs_tol, double rel_tol,
                          const char *file, int line, const char *what);

/* Prints the totals; returns 0 when every check passed, 1 otherwise. */
int mrpc_test_report(void);

/* Prints "SKIP: reason" and exits with 77. */
void mrpc_test_skip(const char *reason)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

/*
 * Returns a fresh scratch directory for this test ($MRPC_TEST_TMPDIR itself, or
 * /tmp/mrpc-test-PID), emptied first and marked with a file ".mrpc-test-scratch". An
 * existing directory is emptied only when it has that mark, nothing but hidden files, or
 * is ctest's own $MRPC_BINARY_DIR/test-tmp/<test>:
 * pointed at /tmp or a home directory by mistake, the test exits 1 and deletes nothing.
 * The string is static storage owned by testutil.
 */
const char *mrpc_test_tmpdir(void);

/* Path of a file under $MRPC_DATA_DIR (e.g. "mrpc/dev.tsv"), or skip when unset/missing. */
const char *mrpc_test_data_path(const char *relative);

#define CHECK(cond, ...) mrpc_test_check(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define CHECK_CLOSE(got, want, abs_tol, rel_tol, what) \
    mrpc_test_close((got), (want), (abs_tol), (rel_tol), __FILE__, __LINE__, (what))
#define CHECK_OK(expr, err) mrpc_test_ok((int)(expr), (err), __FILE__, __LINE__, #expr)
#define CHECK_CLOSE_ARRAY(got, want, n, abs_tol, rel_tol, what) \
    mrpc_test_close_array((got), (want), (n), (abs_tol), (rel_tol), __FILE__, __LINE__, (what))

#endif /* MRPC_TESTUTIL_H */

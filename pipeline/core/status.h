/*
 * status.h — status codes and error records shared by every mrpc-tune module.
 *
 * Every function that can fail returns an `mrpc_status` (MRPC_OK == 0) and, when the
 * caller passes a non-NULL `mrpc_error *`, fills it with a record that says *where*
 * the problem is: the input file, 1-based line and column (0 when unknown), the name
 * of the field or key involved, and a sentence in plain words. A caller that only
 * wants the code may pass NULL.
 *
 * The record prints as
 *
 *     runs/study.yaml:12:5: learning_rate: expected a number, got "fast"
 *
 * which is the form compilers use, so editors can jump to the place.
 *
 * Example:
 *
 *     mrpc_error err = {0};
 *     if (mrpc_run_config_load(path, &cfg, &err) != MRPC_OK) {
 *         mrpc_error_print(stderr, "mrpc-train", &err);
 *         return 2;
 *     }
 */
#ifndef MRPC_CORE_STATUS_H
#define MRPC_CORE_STATUS_H

#include <stdarg.h>
#include <stdio.h>

/* Status codes. Always add at the end; the numbers are not exit codes. */
typedef enum mrpc_status {
    MRPC_OK = 0,
    MRPC_ERR_IO,          /* a file could not be opened, read, written or renamed */
    MRPC_ERR_PARSE,       /* malformed input: YAML, TSV, JSON, safetensors, HDF5 layout */
    MRPC_ERR_INVALID,     /* well-formed but not allowed: unknown key, out-of-range value */
    MRPC_ERR_NOMEM,       /* an allocation failed */
    MRPC_ERR_UNSUPPORTED, /* a feature this build or this file version does not have */
    MRPC_ERR_HDF5,        /* the HDF5 library reported an error */
    MRPC_ERR_MPI,         /* MPI reported an error */
    MRPC_ERR_CUDA,        /* CUDA, cuBLAS or NCCL reported an error */
    MRPC_ERR_DIVERGED,    /* training produced a NaN or infinite loss or gradient */
    MRPC_ERR_INTERRUPTED, /* a signal asked the run to stop (preemption, time limit) */
    MRPC_ERR_BUSY,        /* another process holds the lock */
    MRPC_ERR_INTERNAL,    /* a bug: an invariant of our own code did not hold */
    MRPC_STATUS_COUNT
} mrpc_status;

/* Where an error happened and why. All strings are NUL-terminated and truncated to fit. */
typedef struct mrpc_error {
    mrpc_status status;
    char        file[512];    /* input file the problem is in, "" when none */
    long        line;         /* 1-based line, 0 when unknown */
    long        column;       /* 1-based column, 0 when unknown */
    char        field[128];   /* key, column or tensor name involved, "" when none */
    char        message[768]; /* what is wrong, in words */
} mrpc_error;

/* Returns a short lowercase name for `status` ("io error", "parse error", ...). Never NULL. */
const char *mrpc_status_str(mrpc_status status);

/*
 * Fills `err` (when not NULL) with a status, a location and a printf-style message,
 * and returns `status`, so a failing path can be written as
 *
 *     return mrpc_error_set(err, MRPC_ERR_PARSE, path, line, 0, "label", "expected 0 or 1");
 *
 * `file` and `field` may be NULL. An `err` that already holds an error is overwritten.
 */
mrpc_status mrpc_error_set(mrpc_error *err, mrpc_status status, const char *file, long line,
                           long column, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;

/* As mrpc_error_set, with a va_list. */
mrpc_status mrpc_error_setv(mrpc_error *err, mrpc_status status, const char *file, long line,
                            long column, const char *field, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 0)))
#endif
    ;

/*
 * Puts context in front of an existing message ("loading checkpoint: " + old message),
 * keeping status and location. Returns err->status; when `err` is NULL it does nothing
 * and returns MRPC_OK (there is no status to return), so callers return their own.
 */
mrpc_status mrpc_error_prefix(mrpc_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Writes "file:line:col: field: message" (parts that are unknown are left out) into buf. */
void mrpc_error_format(const mrpc_error *err, char *buf, size_t buf_size);

/* Prints "<program>: error: <formatted record>\n" to `out`. */
void mrpc_error_print(FILE *out, const char *program, const mrpc_error *err);

#endif /* MRPC_CORE_STATUS_H */

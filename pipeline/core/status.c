/* status.c — status names and the error record (see status.h). */
#include "status.h"

#include <string.h>

static const char *const status_names[MRPC_STATUS_COUNT] = {
    [MRPC_OK]              = "ok",
    [MRPC_ERR_IO]          = "io error",
    [MRPC_ERR_PARSE]       = "parse error",
    [MRPC_ERR_INVALID]     = "invalid value",
    [MRPC_ERR_NOMEM]       = "out of memory",
    [MRPC_ERR_UNSUPPORTED] = "unsupported",
    [MRPC_ERR_HDF5]        = "hdf5 error",
    [MRPC_ERR_MPI]         = "mpi error",
    [MRPC_ERR_CUDA]        = "cuda error",
    [MRPC_ERR_DIVERGED]    = "diverged",
    [MRPC_ERR_INTERRUPTED] = "interrupted",
    [MRPC_ERR_BUSY]        = "busy",
    [MRPC_ERR_INTERNAL]    = "internal error",
};

const char *mrpc_status_str(mrpc_status status) {
    if ((int)status < 0 || status >= MRPC_STATUS_COUNT || !status_names[status]) return "unknown status";
    return status_names[status];
}

static void copy_str(char *dst, size_t dst_size, const char *src) {
    if (!src) src = "";
    size_t n = strlen(src);
    if (n >= dst_size) n = dst_size - 1;
    memmove(dst, src, n);
    dst[n] = '\0';
}

mrpc_status mrpc_error_setv(mrpc_error *err, mrpc_status status, const char *file, long line,
                            long column, const char *field, const char *fmt, va_list ap) {
    if (!err) return status;
    err->status = status;
    copy_str(err->file, sizeof err->file, file);
    copy_str(err->field, sizeof err->field, field);
    err->line   = line > 0 ? line : 0;
    err->column = column > 0 ? column : 0;
    if (fmt) {
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    } else {
        copy_str(err->message, sizeof err->message, mrpc_status_str(status));
    }
    return status;
}

mrpc_status mrpc_error_set(mrpc_error *err, mrpc_status status, const char *file, long line,
                           long column, const char *field, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mrpc_status s = mrpc_error_setv(err, status, file, line, column, field, fmt, ap);
    va_end(ap);
    return s;
}

mrpc_status mrpc_error_prefix(mrpc_error *err, const char *fmt, ...) {
    if (!err) return MRPC_OK; /* nothing recorded, nothing to prefix */
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char combined[sizeof prefix + sizeof err->message];
    snprintf(combined, sizeof combined, "%s%s", prefix, err->message);
    copy_str(err->message, sizeof err->message, combined);
    return err->status;
}

void mrpc_error_format(const mrpc_error *err, char *buf, size_t buf_size) {
    if (!buf || buf_size == 0) return;
    if (!err) { copy_str(buf, buf_size, "(no error record)"); return; }
    size_t off = 0;
#define MRPC_APPEND_(...)                                                        \
    do {                                                                        \
        if (off < buf_size) {                                                   \
            int n_ = snprintf(buf + off, buf_size - off, __VA_ARGS__);          \
            if (n_ > 0) off += (size_t)n_;                                      \
        }                                                                       \
    } while (0)
    if (err->file[0]) {
        MRPC_APPEND_("%s", err->file);
        if (err->line > 0) MRPC_APPEND_(":%ld", err->line);
        if (err->line > 0 && err->column > 0) MRPC_APPEND_(":%ld", err->column);
        MRPC_APPEND_(": ");
    }
    if (err->field[0]) MRPC_APPEND_("%s: ", err->field);
    MRPC_APPEND_("%s", err->message[0] ? err->message : mrpc_status_str(err->status));
#undef MRPC_APPEND_
}

void mrpc_error_print(FILE *out, const char *program, const mrpc_error *err) {
    char buf[2048];
    mrpc_error_format(err, buf, sizeof buf);
    fprintf(out, "%s: error: %s\n", program ? program : "mrpc", buf);
    fflush(out);
}

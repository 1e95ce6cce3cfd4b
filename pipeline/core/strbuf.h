/*
 * strbuf.h — a growable string for writing files in memory before an atomic write
 * (wave.sbatch, tasks.tsv, sensitivity.yaml, printed configs).
 *
 * Appending never fails loudly: an allocation failure sets `failed`, later appends do
 * nothing, and the writer checks `failed` once at the end.
 *
 *     mrpc_strbuf sb = {0};
 *     mrpc_strbuf_appendf(&sb, "n_tasks: %zu\n", n);
 *     if (sb.failed) ... out of memory ...
 *     mrpc_file_write_atomic(path, sb.data, sb.len, &err);
 *     mrpc_strbuf_free(&sb);
 */
#ifndef MRPC_CORE_STRBUF_H
#define MRPC_CORE_STRBUF_H

#include <stddef.h>

typedef struct mrpc_strbuf {
    char  *data;   /* NUL-terminated once anything was appended; NULL before */
    size_t len;    /* bytes, without the NUL */
    size_t cap;
    int    failed; /* an allocation failed; the content is incomplete */
} mrpc_strbuf;

/* Appends printf-formatted text. */
void mrpc_strbuf_appendf(mrpc_strbuf *sb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Frees the text and clears the buffer; NULL is fine. */
void mrpc_strbuf_free(mrpc_strbuf *sb);

#endif /* MRPC_CORE_STRBUF_H */

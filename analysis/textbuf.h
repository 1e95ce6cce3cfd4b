/*
 * textbuf.h — a growable NUL-terminated text buffer for building output files in memory
 * (CSV, Markdown, HTML) before they are written atomically.
 *
 * Appending never fails loudly: on an allocation failure the buffer remembers it
 * (`failed`), further appends are ignored, and mrpc_textbuf_status reports
 * MRPC_ERR_NOMEM, so a writer checks once at the end.
 *
 *     mrpc_textbuf b; mrpc_textbuf_init(&b);
 *     mrpc_textbuf_printf(&b, "%d runs\n", n);
 *     if (mrpc_textbuf_status(&b, &err) == MRPC_OK) write(b.data, b.len);
 *     mrpc_textbuf_free(&b);
 */
#ifndef MRPC_ANALYSIS_TEXTBUF_H
#define MRPC_ANALYSIS_TEXTBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "status.h"

typedef struct mrpc_textbuf {
    char  *data; /* NUL-terminated when non-NULL; NULL until the first append */
    size_t len;  /* bytes before the NUL */
    size_t cap;
    int    failed; /* an allocation failed; contents are incomplete */
} mrpc_textbuf;

/* Starts an empty buffer (no allocation). */
void mrpc_textbuf_init(mrpc_textbuf *b);

/* Frees the data and clears the buffer. NULL is fine. */
void mrpc_textbuf_free(mrpc_textbuf *b);

/* Appends `n` bytes. */
void mrpc_textbuf_append(mrpc_textbuf *b, const char *s, size_t n);

/* Appends a NUL-terminated string (NULL appends nothing). */
void mrpc_textbuf_puts(mrpc_textbuf *b, const char *s);

/* Appends printf-formatted text. */
void mrpc_textbuf_printf(mrpc_textbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void mrpc_textbuf_vprintf(mrpc_textbuf *b, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 0)))
#endif
    ;

/* Appends `s` with &, <, >, " and ' replaced by HTML entities (NULL appends nothing). */
void mrpc_textbuf_html(mrpc_textbuf *b, const char *s);

/* Appends the standard base64 encoding of `n` bytes. */
void mrpc_textbuf_base64(mrpc_textbuf *b, const unsigned char *data, size_t n);

/* MRPC_OK, or MRPC_ERR_NOMEM (filling err) when an append failed. */
mrpc_status mrpc_textbuf_status(const mrpc_textbuf *b, mrpc_error *err);

#endif /* MRPC_ANALYSIS_TEXTBUF_H */

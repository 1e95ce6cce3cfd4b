/* textbuf.c — growable text buffer (see textbuf.h). */
#include "textbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mrpc_textbuf_init(mrpc_textbuf *b) { memset(b, 0, sizeof *b); }

void mrpc_textbuf_free(mrpc_textbuf *b) {
    if (!b) return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Makes room for `extra` more bytes plus the NUL; returns 0 (and marks failure) when it cannot. */
static int reserve(mrpc_textbuf *b, size_t extra) {
    if (b->failed) return 0;
    if (extra > ((size_t)-1) / 2 - b->len) {
        b->failed = 1;
        return 0;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void mrpc_textbuf_append(mrpc_textbuf *b, const char *s, size_t n) {
    if (!reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void mrpc_textbuf_puts(mrpc_textbuf *b, const char *s) {
    if (s) mrpc_textbuf_append(b, s, strlen(s));
}

void mrpc_textbuf_vprintf(mrpc_textbuf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (!reserve(b, (size_t)n)) return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void mrpc_textbuf_printf(mrpc_textbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mrpc_textbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void mrpc_textbuf_html(mrpc_textbuf *b, const char *s) {
    if (!s) return;
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *ent = NULL;
        switch (*p) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default: break;
        }
        if (ent || *p == '\0') {
            mrpc_textbuf_append(b, run, (size_t)(p - run));
            if (*p == '\0') break;
            mrpc_textbuf_puts(b, ent);
            run = p + 1;
        }
    }
}

void mrpc_textbuf_base64(mrpc_textbuf *b, const unsigned char *data, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!reserve(b, (n + 2) / 3 * 4)) return;
    char *o = b->data + b->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = tab[v >> 6 & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)data[i] << 16 | (i + 1 < n ? (unsigned)data[i + 1] << 8 : 0u);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
}

mrpc_status mrpc_textbuf_status(const mrpc_textbuf *b, mrpc_error *err) {
    if (b->failed) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory building output text");
    return MRPC_OK;
}

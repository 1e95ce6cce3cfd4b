/* table.c — report tables and their CSV / Markdown / HTML forms (see table.h). */
#define _POSIX_C_SOURCE 200809L
#include "table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

void mrpc_table_init(mrpc_table *t, const char *name, const char *title) {
    memset(t, 0, sizeof *t);
    mrpc_str_copy(t->name, sizeof t->name, name);
    mrpc_str_copy(t->title, sizeof t->title, title);
}

void mrpc_table_free(mrpc_table *t) {
    if (!t) return;
    for (size_t c = 0; c < t->n_cols; c++) free(t->cols[c]);
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < MRPC_TABLE_MAX_COLS; c++) {
            free(t->exact[r * MRPC_TABLE_MAX_COLS + c]);
            free(t->display[r * MRPC_TABLE_MAX_COLS + c]);
        }
        free(t->row_class[r]);
    }
    free(t->exact);
    free(t->display);
    free(t->row_class);
    memset(t, 0, sizeof *t);
}

static char *dup_or_fail(mrpc_table *t, const char *s) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) t->failed = 1;
    return d;
}

int mrpc_table_add_col(mrpc_table *t, const char *header, int numeric) {
    if (t->n_cols >= MRPC_TABLE_MAX_COLS) return -1;
    t->cols[t->n_cols] = dup_or_fail(t, header);
    t->numeric[t->n_cols] = numeric;
    return (int)t->n_cols++;
}

size_t mrpc_table_add_row(mrpc_table *t) {
    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? 2 * t->cap_rows : 16;
        char **e = realloc(t->exact, cap * MRPC_TABLE_MAX_COLS * sizeof *e);
        if (e) t->exact = e;
        char **d = realloc(t->display, cap * MRPC_TABLE_MAX_COLS * sizeof *d);
        if (d) t->display = d;
        char **rc = realloc(t->row_class, cap * sizeof *rc);
        if (rc) t->row_class = rc;
        if (!e || !d || !rc) {
            t->failed = 1;
            return (size_t)-1;
        }
        t->cap_rows = cap;
    }
    size_t r = t->n_rows++;
    memset(&t->exact[r * MRPC_TABLE_MAX_COLS], 0, MRPC_TABLE_MAX_COLS * sizeof *t->exact);
    memset(&t->display[r * MRPC_TABLE_MAX_COLS], 0, MRPC_TABLE_MAX_COLS * sizeof *t->display);
    t->row_class[r] = NULL;
    return r;
}

void mrpc_table_set(mrpc_table *t, size_t row, int col, const char *exact, const char *display) {
    if (row >= t->n_rows || col < 0 || (size_t)col >= t->n_cols) return;
    size_t k = row * MRPC_TABLE_MAX_COLS + (size_t)col;
    free(t->exact[k]);
    free(t->display[k]);
    t->exact[k] = dup_or_fail(t, exact ? exact : "");
    t->display[k] = dup_or_fail(t, display);
}

void mrpc_table_set_f64(mrpc_table *t, size_t row, int col, double value, double scale, int digits, int sign) {
    char e[64] = "", d[64] = "";
    if (!isnan(value)) {
        mrpc_format_f64(e, sizeof e, value);
        double v = scale * value;
        if (digits >= 0) snprintf(d, sizeof d, sign ? "%+.*f" : "%.*f", digits, v);
        else snprintf(d, sizeof d, sign ? "%+.*g" : "%.*g", -digits, v);
    }
    mrpc_table_set(t, row, col, e, d);
}

void mrpc_table_set_i64(mrpc_table *t, size_t row, int col, long long value) {
    char e[32];
    snprintf(e, sizeof e, "%lld", value);
    mrpc_table_set(t, row, col, e, NULL);
}

void mrpc_table_set_row_class(mrpc_table *t, size_t row, const char *cls) {
    if (row >= t->n_rows) return;
    free(t->row_class[row]);
    t->row_class[row] = dup_or_fail(t, cls);
}

int mrpc_table_find_col(const mrpc_table *t, const char *header) {
    for (size_t c = 0; c < t->n_cols; c++)
        if (t->cols[c] && strcmp(t->cols[c], header) == 0) return (int)c;
    return -1;
}

static const char *cell_exact(const mrpc_table *t, size_t r, size_t c) {
    const char *s = t->exact[r * MRPC_TABLE_MAX_COLS + c];
    return s ? s : "";
}

static const char *cell_display(const mrpc_table *t, size_t r, size_t c) {
    const char *s = t->display[r * MRPC_TABLE_MAX_COLS + c];
    return s ? s : cell_exact(t, r, c);
}

static void csv_field(mrpc_textbuf *out, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        mrpc_textbuf_puts(out, s);
        return;
    }
    mrpc_textbuf_puts(out, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"') mrpc_textbuf_puts(out, "\"\"");
        else mrpc_textbuf_append(out, p, 1);
    }
    mrpc_textbuf_puts(out, "\"");
}

void mrpc_table_csv(const mrpc_table *t, mrpc_textbuf *out) {
    for (size_t c = 0; c < t->n_cols; c++) {
        if (c) mrpc_textbuf_puts(out, ",");
        csv_field(out, t->cols[c] ? t->cols[c] : "");
    }
    mrpc_textbuf_puts(out, "\n");
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            if (c) mrpc_textbuf_puts(out, ",");
            csv_field(out, cell_exact(t, r, c));
        }
        mrpc_textbuf_puts(out, "\n");
    }
}

/* Markdown cell text: pipes escaped, newlines as spaces, HTML specials as entities. */
static void md_text(mrpc_textbuf *out, const char *s) {
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '|': mrpc_textbuf_puts(out, "\\|"); break;
        case '\\': mrpc_textbuf_puts(out, "\\\\"); break;
        case '\n':
        case '\r':
        case '\t': mrpc_textbuf_puts(out, " "); break;
        case '<': mrpc_textbuf_puts(out, "&lt;"); break;
        case '>': mrpc_textbuf_puts(out, "&gt;"); break;
        case '&': mrpc_textbuf_puts(out, "&amp;"); break;
        case '*':
        case '_':
        case '`':
        case '[':
        case ']':
            mrpc_textbuf_puts(out, "\\");
            mrpc_textbuf_append(out, p, 1);
            break;
        default: mrpc_textbuf_append(out, p, 1);
        }
    }
}

void mrpc_table_markdown(const mrpc_table *t, mrpc_textbuf *out) {
    mrpc_textbuf_puts(out, "### ");
    md_text(out, t->title);
    mrpc_textbuf_puts(out, "\n\n");
    if (t->note[0]) {
        md_text(out, t->note);
        mrpc_textbuf_puts(out, "\n\n");
    }
    if (t->n_rows == 0) {
        mrpc_textbuf_puts(out, "(no rows)\n\n");
        return;
    }
    mrpc_textbuf_puts(out, "|");
    for (size_t c = 0; c < t->n_cols; c++) {
        mrpc_textbuf_puts(out, " ");
        md_text(out, t->cols[c] ? t->cols[c] : "");
        mrpc_textbuf_puts(out, " |");
    }
    mrpc_textbuf_puts(out, "\n|");
    for (size_t c = 0; c < t->n_cols; c++) mrpc_textbuf_puts(out, t->numeric[c] ? " ---: |" : " --- |");
    mrpc_textbuf_puts(out, "\n");
    for (size_t r = 0; r < t->n_rows; r++) {
        mrpc_textbuf_puts(out, "|");
        for (size_t c = 0; c < t->n_cols; c++) {
            mrpc_textbuf_puts(out, " ");
            md_text(out, cell_display(t, r, c));
            mrpc_textbuf_puts(out, " |");
        }
        mrpc_textbuf_puts(out, "\n");
    }
    mrpc_textbuf_puts(out, "\n");
}

void mrpc_table_html(const mrpc_table *t, mrpc_textbuf *out) {
    mrpc_textbuf_puts(out, "<table class=\"data\">\n<thead><tr>");
    for (size_t c = 0; c < t->n_cols; c++) {
        mrpc_textbuf_puts(out, t->numeric[c] ? "<th class=\"num\">" : "<th>");
        mrpc_textbuf_html(out, t->cols[c]);
        mrpc_textbuf_puts(out, "</th>");
    }
    mrpc_textbuf_puts(out, "</tr></thead>\n<tbody>\n");
    for (size_t r = 0; r < t->n_rows; r++) {
        if (t->row_class[r]) {
            mrpc_textbuf_puts(out, "<tr class=\"");
            mrpc_textbuf_html(out, t->row_class[r]);
            mrpc_textbuf_puts(out, "\">");
        } else {
            mrpc_textbuf_puts(out, "<tr>");
        }
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *text = cell_display(t, r, c);
            /* Short cells (ids, numbers) stay on one line; long text (reasons, readings) wraps. */
            mrpc_textbuf_puts(out, t->numeric[c] ? "<td class=\"num\">" : strlen(text) > 40 ? "<td class=\"long\">" : "<td>");
            mrpc_textbuf_html(out, text);
            mrpc_textbuf_puts(out, "</td>");
        }
        mrpc_textbuf_puts(out, "</tr>\n");
    }
    mrpc_textbuf_puts(out, "</tbody></table>\n");
}

mrpc_status mrpc_table_status(const mrpc_table *t, mrpc_error *err) {
    if (t->failed) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, t->name, "out of memory building the table");
    return MRPC_OK;
}

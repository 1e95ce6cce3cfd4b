/*
 * table.h — one table of the report, kept as text cells and rendered three ways:
 * CSV (RFC 4180 quoting, the exact values: numbers in shortest round-trip form, so
 * they equal what the run record holds), Markdown and HTML (rounded display values,
 * every string escaped).
 *
 *     mrpc_table t; mrpc_table_init(&t, "runs", "All runs");
 *     mrpc_table_add_col(&t, "run_id", 0);
 *     mrpc_table_add_col(&t, "accuracy", 1);
 *     size_t r = mrpc_table_add_row(&t);
 *     mrpc_table_set(&t, r, 0, "base-0", NULL);
 *     mrpc_table_set_f64(&t, r, 1, 0.8431, 100, 2, 0);   // "84.31"
 *     mrpc_table_csv(&t, &buf);
 *     mrpc_table_free(&t);
 *
 * Allocation failures are remembered (`failed`) and reported by mrpc_table_status.
 */
#ifndef MRPC_ANALYSIS_TABLE_H
#define MRPC_ANALYSIS_TABLE_H

#include <stddef.h>

#include "status.h"
#include "textbuf.h"

#define MRPC_TABLE_MAX_COLS 96

typedef struct mrpc_table {
    char    name[64];    /* file stem: tables/<name>.csv */
    char    title[160];
    char    note[768];   /* a sentence under the title (may be empty) */
    size_t  n_cols;
    char   *cols[MRPC_TABLE_MAX_COLS];
    int     numeric[MRPC_TABLE_MAX_COLS]; /* right-aligned */
    size_t  n_rows, cap_rows;
    char  **exact;       /* [n_rows * MRPC_TABLE_MAX_COLS], NULL = empty */
    char  **display;     /* same shape; NULL = use exact */
    char  **row_class;   /* [n_rows] HTML class, NULL = none */
    int     failed;
} mrpc_table;

/* Starts an empty table. */
void mrpc_table_init(mrpc_table *t, const char *name, const char *title);

/* Frees every cell. NULL is fine. */
void mrpc_table_free(mrpc_table *t);

/* Adds a column; returns its index (columns past MRPC_TABLE_MAX_COLS are dropped: returns -1). */
int mrpc_table_add_col(mrpc_table *t, const char *header, int numeric);

/* Adds an empty row; returns its index ((size_t)-1 when memory ran out). */
size_t mrpc_table_add_row(mrpc_table *t);

/* Sets a cell to text (display NULL = same as exact). Out-of-range row/col is ignored. */
void mrpc_table_set(mrpc_table *t, size_t row, int col, const char *exact, const char *display);

/*
 * Sets a numeric cell: exact = shortest round-trip form of `value`; display =
 * scale * value with `digits` decimals (digits < 0: -digits significant digits, %g
 * style), with a leading '+' when `sign` is set. NaN gives an empty cell.
 */
void mrpc_table_set_f64(mrpc_table *t, size_t row, int col, double value, double scale, int digits, int sign);

/* Sets an integer cell. */
void mrpc_table_set_i64(mrpc_table *t, size_t row, int col, long long value);

/* Sets the HTML class of a row ("failed", "best", ...). */
void mrpc_table_set_row_class(mrpc_table *t, size_t row, const char *cls);

/* Appends the table as CSV (header line, then rows; exact values). */
void mrpc_table_csv(const mrpc_table *t, mrpc_textbuf *out);

/* Appends the table as Markdown: "### title", the note, a pipe table of display values. */
void mrpc_table_markdown(const mrpc_table *t, mrpc_textbuf *out);

/* Appends the table as an HTML <table> (no title), every cell escaped. */
void mrpc_table_html(const mrpc_table *t, mrpc_textbuf *out);

/* Index of the column with that header, or -1. */
int mrpc_table_find_col(const mrpc_table *t, const char *header);

/* MRPC_OK, or MRPC_ERR_NOMEM when a cell could not be stored. */
mrpc_status mrpc_table_status(const mrpc_table *t, mrpc_error *err);

#endif /* MRPC_ANALYSIS_TABLE_H */

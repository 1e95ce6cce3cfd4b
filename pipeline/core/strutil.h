/*
 * strutil.h — strict number parsing and bounded string copies.
 *
 * The parsers accept the whole string or nothing: "12abc", "", " 1" and values out of
 * range are rejected (strtol/strtod with an end-pointer and errno check; never atoi).
 */
#ifndef MRPC_CORE_STRUTIL_H
#define MRPC_CORE_STRUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses a decimal integer (optional sign). Returns 1 on success, 0 otherwise. */
int mrpc_parse_i64(const char *s, int64_t *out);

/* Parses a finite floating-point number ("1e-5", "0.1", "3"). Returns 1 on success, 0 otherwise. */
int mrpc_parse_f64(const char *s, double *out);

/* Parses true/false/yes/no/on/off/1/0 (case-insensitive). Returns 1 on success, 0 otherwise. */
int mrpc_parse_bool(const char *s, int *out);

/*
 * Copies src into dst (capacity dst_size, always NUL-terminated). Returns 1 when it
 * fitted, 0 when it was truncated.
 */
int mrpc_str_copy(char *dst, size_t dst_size, const char *src);

/* Formats a double so that parsing it back gives the same value ("%.17g", shortened when exact). */
void mrpc_format_f64(char *buf, size_t buf_size, double value);

/*
 * Splits `line` at tabs in place (each tab becomes a NUL) into at most `max` fields,
 * pointers into `line`; the last field keeps any further tabs. Returns the number of
 * fields (1 for a line without tabs).
 */
size_t mrpc_split_tabs(char *line, char **fields, size_t max);

#endif /* MRPC_CORE_STRUTIL_H */

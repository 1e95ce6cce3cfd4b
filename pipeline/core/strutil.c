/* strutil.c — strict number parsing and bounded copies (see strutil.h). */
#include "strutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int mrpc_parse_i64(const char *s, int64_t *out) {
    if (!s || !*s || isspace((unsigned char)s[0])) return 0;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') return 0;
    *out = (int64_t)v;
    return 1;
}

int mrpc_parse_f64(const char *s, double *out) {
    if (!s || !*s || isspace((unsigned char)s[0])) return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0') return 0;
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)) return 0;
    if (!isfinite(v)) return 0;
    *out = v;
    return 1;
}

int mrpc_parse_bool(const char *s, int *out) {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[]  = {"false", "no", "off", "0"};
    if (!s) return 0;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) { *out = 1; return 1; }
        if (strcasecmp(s, no[i]) == 0) { *out = 0; return 1; }
    }
    return 0;
}

int mrpc_str_copy(char *dst, size_t dst_size, const char *src) {
    if (!dst || dst_size == 0) return 0;
    if (!src) src = "";
    size_t n = strlen(src);
    int fits = n < dst_size;
    if (!fits) n = dst_size - 1;
    memmove(dst, src, n);
    dst[n] = '\0';
    return fits;
}

void mrpc_format_f64(char *buf, size_t buf_size, double value) {
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, buf_size, "%.*g", prec, value);
        double back = strtod(buf, NULL);
        if (back == value) return;
    }
    snprintf(buf, buf_size, "%.17g", value);
}

size_t mrpc_split_tabs(char *line, char **fields, size_t max) {
    size_t n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = '\0';
        p = t + 1;
    }
    return n;
}

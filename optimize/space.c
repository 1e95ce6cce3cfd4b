/* space.c — distributions, the unit-interval encoding and canonical values (see space.h). */
#include "space.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

static const char *const dist_names[MRPC_DIST_COUNT] = {
    "constant", "categorical", "int_uniform", "uniform", "q_uniform", "log_uniform_values",
};

const char *mrpc_dist_name(mrpc_dist dist) {
    return (dist >= 0 && dist < MRPC_DIST_COUNT) ? dist_names[dist] : "unknown";
}

int mrpc_dist_parse(const char *name, mrpc_dist *out) {
    for (int i = 0; i < MRPC_DIST_COUNT; i++) {
        if (name && strcmp(name, dist_names[i]) == 0) {
            *out = (mrpc_dist)i;
            return 1;
        }
    }
    return 0;
}

int mrpc_param_is_searchable(const mrpc_param *p) {
    switch (p->dist) {
    case MRPC_DIST_CONSTANT: return 0;
    case MRPC_DIST_CATEGORICAL: return p->n_values >= 2;
    default: return p->max > p->min;
    }
}

static double clamp(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* Rounds to MRPC_SPACE_FLOAT_DIGITS significant digits through the decimal text, so the
 * result is the double nearest to a short decimal (what a person would write). */
static double round_digits(double v) {
    if (v == 0.0 || !isfinite(v)) return v;
    char buf[64];
    snprintf(buf, sizeof buf, "%.*e", MRPC_SPACE_FLOAT_DIGITS - 1, v);
    double r = v;
    if (!mrpc_parse_f64(buf, &r)) return v;
    return r;
}

static size_t nearest_value(const mrpc_param *p, double v) {
    size_t best = 0;
    double best_d = INFINITY;
    for (size_t i = 0; i < p->n_values; i++) {
        double d = fabs(p->values[i] - v);
        if (d < best_d) { best_d = d; best = i; } /* ties keep the smaller value */
    }
    return best;
}

double mrpc_param_canonical(const mrpc_param *p, double v) {
    if (p->dist == MRPC_DIST_CONSTANT) return p->min;
    if (!isfinite(v)) v = p->baseline;
    if (p->dist == MRPC_DIST_CATEGORICAL) return p->n_values ? p->values[nearest_value(p, v)] : v;
    v = clamp(v, p->min, p->max);
    if (p->dist == MRPC_DIST_Q_UNIFORM && p->q > 0) {
        double k = round(v / p->q);
        double w = k * p->q;
        /* Step inward when rounding left the range (min or max not on the lattice). */
        if (w < p->min - 1e-12 * fabs(p->min)) w = (k + 1) * p->q;
        if (w > p->max + 1e-12 * fabs(p->max)) w = (k - 1) * p->q;
        v = w;
    }
    if (p->is_int) {
        v = round(v);
        if (v < p->min) v = ceil(p->min);
        if (v > p->max) v = floor(p->max);
        return v == 0.0 ? 0.0 : v; /* no negative zero */
    }
    v = round_digits(v);
    v = clamp(v, p->min, p->max);
    return v == 0.0 ? 0.0 : v;
}

double mrpc_param_encode(const mrpc_param *p, double v) {
    if (!mrpc_param_is_searchable(p)) return 0.5;
    if (!isfinite(v)) v = p->baseline;
    if (p->dist == MRPC_DIST_CATEGORICAL) return (double)nearest_value(p, v) / (double)(p->n_values - 1);
    v = clamp(v, p->min, p->max);
    double u;
    if (p->dist == MRPC_DIST_LOG_UNIFORM_VALUES) {
        u = (log(v) - log(p->min)) / (log(p->max) - log(p->min));
    } else {
        u = (v - p->min) / (p->max - p->min);
    }
    return clamp(u, 0.0, 1.0);
}

double mrpc_param_decode(const mrpc_param *p, double u) {
    if (p->dist == MRPC_DIST_CONSTANT) return p->min;
    if (!isfinite(u)) u = 0.5;
    u = clamp(u, 0.0, 1.0);
    if (p->dist == MRPC_DIST_CATEGORICAL) {
        if (p->n_values == 0) return p->baseline;
        size_t i = (size_t)lround(u * (double)(p->n_values - 1));
        if (i >= p->n_values) i = p->n_values - 1;
        return p->values[i];
    }
    double v;
    if (p->dist == MRPC_DIST_LOG_UNIFORM_VALUES) {
        v = exp(log(p->min) + u * (log(p->max) - log(p->min)));
    } else {
        v = p->min + u * (p->max - p->min);
    }
    return mrpc_param_canonical(p, v);
}

static int close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(fabs(a), fabs(b)) + 1e-300; }

int mrpc_param_contains(const mrpc_param *p, double v) {
    if (!isfinite(v)) return 0;
    switch (p->dist) {
    case MRPC_DIST_CONSTANT: return close_rel(v, p->min, 1e-9) || (v == 0.0 && p->min == 0.0);
    case MRPC_DIST_CATEGORICAL:
        if (p->n_values == 0) return 0;
        return close_rel(v, p->values[nearest_value(p, v)], 1e-9) || v == p->values[nearest_value(p, v)];
    default: break;
    }
    double span = p->max - p->min;
    double tol = 1e-9 * fmax(fmax(fabs(p->min), fabs(p->max)), span);
    if (v < p->min - tol || v > p->max + tol) return 0;
    if (p->is_int && v != round(v)) return 0;
    if (p->dist == MRPC_DIST_Q_UNIFORM && p->q > 0) {
        double k = v / p->q;
        if (fabs(k - round(k)) > 1e-6) return 0;
    }
    return 1;
}

int mrpc_param_equal(const mrpc_param *p, double a, double b) {
    return mrpc_param_canonical(p, a) == mrpc_param_canonical(p, b);
}

void mrpc_param_format(const mrpc_param *p, double v, char *buf, size_t buf_size) {
    if (p->is_int) {
        snprintf(buf, buf_size, "%lld", (long long)llround(v));
    } else {
        mrpc_format_f64(buf, buf_size, v == 0.0 ? 0.0 : v);
    }
}

int mrpc_space_find(const mrpc_space *space, const char *name) {
    for (size_t i = 0; i < space->n_params; i++)
        if (strcmp(space->params[i].name, name) == 0) return (int)i;
    return -1;
}

int mrpc_space_config_equal(const mrpc_space *space, const double *a, const double *b) {
    for (size_t i = 0; i < space->n_params; i++)
        if (!mrpc_param_equal(&space->params[i], a[i], b[i])) return 0;
    return 1;
}

void mrpc_space_baseline(const mrpc_space *space, double *values) {
    for (size_t i = 0; i < space->n_params; i++) {
        const mrpc_param *p = &space->params[i];
        values[i] = p->dist == MRPC_DIST_CONSTANT ? p->min : p->baseline;
    }
}

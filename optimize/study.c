/* study.c — loading and validating a study config (see study.h). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "study.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "fidelity.h"
#include "fsutil.h"
#include "run_config.h"
#include "confirm.h"
#include "strutil.h"
#include "wandb_sweep.h"
#include "wave.h"
#include "yaml_doc.h"

static const char *const stage_names[MRPC_STAGE_COUNT] = {"sensitivity", "grid", "bayes", "confirm"};
static const char *const stage_shorts[MRPC_STAGE_COUNT] = {"sens", "grid", "bayes", "conf"};

const char *mrpc_stage_name(mrpc_stage_kind stage) {
    return (stage >= 0 && stage < MRPC_STAGE_COUNT) ? stage_names[stage] : "unknown";
}

const char *mrpc_stage_short(mrpc_stage_kind stage) {
    return (stage >= 0 && stage < MRPC_STAGE_COUNT) ? stage_shorts[stage] : "unknown";
}

int mrpc_stage_parse(const char *name, mrpc_stage_kind *out) {
    for (int i = 0; i < MRPC_STAGE_COUNT; i++) {
        if (name && strcmp(name, stage_names[i]) == 0) {
            *out = (mrpc_stage_kind)i;
            return 1;
        }
    }
    return 0;
}

const mrpc_hparam *mrpc_study_fixed(const mrpc_study *study, const char *name) {
    for (size_t i = 0; i < study->n_fixed; i++)
        if (strcmp(study->fixed[i].name, name) == 0) return &study->fixed[i];
    return NULL;
}

/* ---- paths ------------------------------------------------------------------------- */

/* Joins dir and rel (rel may be absolute) and removes "." and ".." lexically. Returns 0 when too long. */
static int join_normalize(const char *dir, const char *rel, char *out, size_t out_size) {
    char buf[2 * MRPC_STUDY_PATH_MAX + 2];
    int n = rel[0] == '/' ? snprintf(buf, sizeof buf, "%s", rel) : snprintf(buf, sizeof buf, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= sizeof buf) return 0;
    size_t starts[MRPC_STUDY_PATH_MAX];
    size_t depth = 0, o = 0;
    char res[sizeof buf];
    res[0] = '\0';
    for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
        if (strcmp(tok, ".") == 0) continue;
        if (strcmp(tok, "..") == 0) {
            if (depth > 0) o = starts[--depth];
            res[o] = '\0';
            continue;
        }
        if (depth >= MRPC_STUDY_PATH_MAX) return 0;
        starts[depth++] = o;
        o += (size_t)snprintf(res + o, sizeof res - o, "/%s", tok);
    }
    if (o == 0) snprintf(res, sizeof res, "/");
    return mrpc_str_copy(out, out_size, res);
}

/* ---- YAML helpers ------------------------------------------------------------------ */

typedef struct ctx {
    mrpc_yaml_doc *doc;
    mrpc_error    *err;
    int            wandb; /* a W&B sweep file: parameters have no baseline (wandb_sweep.h) */
} ctx;

static mrpc_status check_keys(ctx *c, const yaml_node_t *map, const char *section, const char *const *allowed) {
    const char *key;
    const yaml_node_t *key_node, *value;
    for (size_t i = 0; mrpc_yaml_map_at(c->doc, map, i, &key, &key_node, &value); i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) ok = 1;
        if (!ok) {
            char list[512] = "";
            for (const char *const *a = allowed; *a; a++) {
                strncat(list, *a, sizeof list - strlen(list) - 1);
                if (a[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
            }
            return mrpc_yaml_error_at(c->doc, key_node, c->err, MRPC_ERR_INVALID, key, "unknown key in %s (expected: %s)",
                                      section, list);
        }
    }
    return MRPC_OK;
}

static mrpc_status need_map(ctx *c, const yaml_node_t *node, const char *field) {
    if (node && node->type == YAML_MAPPING_NODE) return MRPC_OK;
    return mrpc_yaml_error_at(c->doc, node, c->err, MRPC_ERR_INVALID, field, "expected a mapping");
}

/* Optional integer in [lo, hi]; absent leaves *out alone. */
static mrpc_status opt_i64(ctx *c, const yaml_node_t *map, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    const yaml_node_t *n = mrpc_yaml_map_get(c->doc, map, key);
    if (!n) return MRPC_OK;
    int64_t v;
    mrpc_status s = mrpc_yaml_get_i64(c->doc, n, key, &v, c->err);
    if (s != MRPC_OK) return s;
    if (v < lo || v > hi) {
        return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, key, "must be %lld..%lld, got %lld", (long long)lo,
                                  (long long)hi, (long long)v);
    }
    *out = v;
    return MRPC_OK;
}

static mrpc_status opt_str(ctx *c, const yaml_node_t *map, const char *key, char *out, size_t size) {
    const yaml_node_t *n = mrpc_yaml_map_get(c->doc, map, key);
    if (!n) return MRPC_OK;
    return mrpc_yaml_get_str(c->doc, n, key, out, size, c->err);
}

/* A list of parameter names into indices of the space. */
static mrpc_status param_list(ctx *c, const mrpc_space *space, const yaml_node_t *list, const char *field,
                              size_t *idx, size_t *n_out) {
    if (!list || list->type != YAML_SEQUENCE_NODE) {
        return mrpc_yaml_error_at(c->doc, list, c->err, MRPC_ERR_INVALID, field, "expected a list of parameter names");
    }
    size_t n = mrpc_yaml_len(list);
    if (n == 0 || n > MRPC_SPACE_MAX_PARAMS) {
        return mrpc_yaml_error_at(c->doc, list, c->err, MRPC_ERR_INVALID, field, "expected 1 to %d names",
                                  MRPC_SPACE_MAX_PARAMS);
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = mrpc_yaml_seq_at(c->doc, list, i);
        const char *name = mrpc_yaml_scalar(item);
        int k = name ? mrpc_space_find(space, name) : -1;
        if (k < 0) {
            return mrpc_yaml_error_at(c->doc, item, c->err, MRPC_ERR_INVALID, field, "\"%s\" is not a parameter of the study",
                                      name ? name : "");
        }
        if (!mrpc_param_is_searchable(&space->params[k])) {
            return mrpc_yaml_error_at(c->doc, item, c->err, MRPC_ERR_INVALID, field,
                                      "%s has a single value and cannot be varied", name);
        }
        for (size_t j = 0; j < i; j++) {
            if (idx[j] == (size_t)k) return mrpc_yaml_error_at(c->doc, item, c->err, MRPC_ERR_INVALID, field, "%s is listed twice", name);
        }
        idx[i] = (size_t)k;
    }
    *n_out = n;
    return MRPC_OK;
}

/* Reads a list of numbers valid for parameter p (contained in its space). */
static mrpc_status value_list(ctx *c, const mrpc_param *p, const yaml_node_t *list, const char *field, size_t min_n,
                              size_t max_n, double *out, size_t *n_out) {
    if (!list || list->type != YAML_SEQUENCE_NODE) {
        return mrpc_yaml_error_at(c->doc, list, c->err, MRPC_ERR_INVALID, field, "expected a list of numbers");
    }
    size_t n = mrpc_yaml_len(list);
    if (n < min_n || n > max_n) {
        return mrpc_yaml_error_at(c->doc, list, c->err, MRPC_ERR_INVALID, field, "expected %zu to %zu values, got %zu", min_n,
                                  max_n, n);
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = mrpc_yaml_seq_at(c->doc, list, i);
        double v;
        mrpc_status s = mrpc_yaml_get_f64(c->doc, item, field, &v, c->err);
        if (s != MRPC_OK) return s;
        if (!mrpc_param_contains(p, v)) {
            return mrpc_yaml_error_at(c->doc, item, c->err, MRPC_ERR_INVALID, field, "%g is not a value of %s's space", v,
                                      p->name);
        }
        out[i] = mrpc_param_canonical(p, v);
    }
    *n_out = n;
    return MRPC_OK;
}

/* ---- parameters -------------------------------------------------------------------- */

/* Checks v against the run-config schema entry of the key (type and range). */
static mrpc_status check_schema_value(ctx *c, const yaml_node_t *node, const mrpc_config_key *key, double v) {
    if (key->type == MRPC_CONFIG_INT && v != floor(v)) {
        return mrpc_yaml_error_at(c->doc, node, c->err, MRPC_ERR_INVALID, key->name, "%s is an integer key, got %g", key->name, v);
    }
    int lo_ok = (key->flags & MRPC_CONFIG_MIN_EXCLUSIVE) ? v > key->min : v >= key->min;
    int hi_ok = (key->flags & MRPC_CONFIG_MAX_EXCLUSIVE) ? v < key->max : v <= key->max;
    if (!lo_ok || !hi_ok) {
        return mrpc_yaml_error_at(c->doc, node, c->err, MRPC_ERR_INVALID, key->name,
                                  "%g is outside the valid range of %s (%s%g .. %g%s)", v, key->name,
                                  (key->flags & MRPC_CONFIG_MIN_EXCLUSIVE) ? "> " : "", key->min, key->max,
                                  (key->flags & MRPC_CONFIG_MAX_EXCLUSIVE) ? " exclusive" : "");
    }
    return MRPC_OK;
}

static mrpc_status num(ctx *c, const yaml_node_t *spec, const char *key, const mrpc_config_key *ck, double *out,
                       const yaml_node_t **node_out) {
    const yaml_node_t *n = mrpc_yaml_map_get(c->doc, spec, key);
    if (node_out) *node_out = n;
    if (!n) return mrpc_yaml_error_at(c->doc, spec, c->err, MRPC_ERR_INVALID, key, "missing key %s", key);
    mrpc_status s = mrpc_yaml_get_f64(c->doc, n, key, out, c->err);
    if (s == MRPC_OK && ck) s = check_schema_value(c, n, ck, *out);
    return s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y);
}

/* Parses one parameter; `base_value` is the base config's value (NaN when unknown). */
static mrpc_status parse_param(ctx *c, const char *name, const yaml_node_t *name_node, const yaml_node_t *spec,
                               double base_value, mrpc_param *p) {
    memset(p, 0, sizeof *p);
    p->line = (long)name_node->start_mark.line + 1;
    p->column = (long)name_node->start_mark.column + 1;
    const mrpc_config_key *ck = mrpc_run_config_find_key(name);
    if (!ck) {
        return mrpc_yaml_error_at(c->doc, name_node, c->err, MRPC_ERR_INVALID, name,
                                  "not a run-config key (mrpc-train --print-config lists them)");
    }
    if (!(ck->flags & MRPC_CONFIG_HPARAM) || (ck->type != MRPC_CONFIG_INT && ck->type != MRPC_CONFIG_FLOAT)) {
        return mrpc_yaml_error_at(c->doc, name_node, c->err, MRPC_ERR_INVALID, name,
                                  "not a numeric hyperparameter of the run config, so it cannot be searched");
    }
    if (strcmp(name, "seed") == 0) {
        return mrpc_yaml_error_at(c->doc, name_node, c->err, MRPC_ERR_INVALID, name,
                                  "seed is not searched; repeat runs over seeds with stages.sensitivity.seeds");
    }
    if (!mrpc_str_copy(p->name, sizeof p->name, name)) {
        return mrpc_yaml_error_at(c->doc, name_node, c->err, MRPC_ERR_INVALID, name, "name too long");
    }
    p->is_int = ck->type == MRPC_CONFIG_INT;
    mrpc_status s = need_map(c, spec, name);
    if (s != MRPC_OK) return s;
    static const char *const allowed[] = {"distribution", "value", "values", "min", "max", "q", "baseline", NULL};
    if ((s = check_keys(c, spec, name, allowed)) != MRPC_OK) return s;

    const yaml_node_t *dist_node = mrpc_yaml_map_get(c->doc, spec, "distribution");
    const yaml_node_t *value_node = mrpc_yaml_map_get(c->doc, spec, "value");
    const yaml_node_t *values_node = mrpc_yaml_map_get(c->doc, spec, "values");
    if (dist_node) {
        const char *d = mrpc_yaml_scalar(dist_node);
        if (!d || !mrpc_dist_parse(d, &p->dist)) {
            const char *hint = (d && strcmp(d, "log_uniform") == 0)
                                   ? " (log_uniform takes natural-log exponents; use log_uniform_values with min/max as values)"
                                   : "";
            return mrpc_yaml_error_at(c->doc, dist_node, c->err, MRPC_ERR_INVALID, "distribution",
                                      "unknown distribution \"%s\"; expected constant, categorical, int_uniform, uniform, "
                                      "q_uniform or log_uniform_values%s", d ? d : "", hint);
        }
    } else if (value_node) {
        p->dist = MRPC_DIST_CONSTANT;
    } else if (values_node) {
        p->dist = MRPC_DIST_CATEGORICAL;
    } else {
        p->dist = p->is_int ? MRPC_DIST_INT_UNIFORM : MRPC_DIST_UNIFORM;
    }
    /* Keys that do not belong to the distribution are mistakes. */
    struct { const char *key; int allowed; } use[] = {
        {"value", p->dist == MRPC_DIST_CONSTANT},
        {"values", p->dist == MRPC_DIST_CATEGORICAL},
        {"min", p->dist >= MRPC_DIST_INT_UNIFORM},
        {"max", p->dist >= MRPC_DIST_INT_UNIFORM},
        {"q", p->dist == MRPC_DIST_Q_UNIFORM},
        {"baseline", p->dist != MRPC_DIST_CONSTANT},
    };
    for (size_t i = 0; i < sizeof use / sizeof use[0]; i++) {
        const yaml_node_t *n = mrpc_yaml_map_get(c->doc, spec, use[i].key);
        if (n && !use[i].allowed) {
            return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, use[i].key, "%s does not take %s",
                                      mrpc_dist_name(p->dist), use[i].key);
        }
    }
    switch (p->dist) {
    case MRPC_DIST_CONSTANT: {
        double v;
        if ((s = num(c, spec, "value", ck, &v, NULL)) != MRPC_OK) return s;
        p->min = p->max = p->baseline = v;
        return MRPC_OK;
    }
    case MRPC_DIST_CATEGORICAL: {
        if (!values_node) return mrpc_yaml_error_at(c->doc, spec, c->err, MRPC_ERR_INVALID, "values", "missing key values");
        if (values_node->type != YAML_SEQUENCE_NODE || mrpc_yaml_len(values_node) < 1 ||
            mrpc_yaml_len(values_node) > MRPC_SPACE_MAX_VALUES) {
            return mrpc_yaml_error_at(c->doc, values_node, c->err, MRPC_ERR_INVALID, "values",
                                      "expected a list of 1 to %d numbers", MRPC_SPACE_MAX_VALUES);
        }
        p->n_values = mrpc_yaml_len(values_node);
        for (size_t i = 0; i < p->n_values; i++) {
            const yaml_node_t *item = mrpc_yaml_seq_at(c->doc, values_node, i);
            double v;
            if ((s = mrpc_yaml_get_f64(c->doc, item, "values", &v, c->err)) != MRPC_OK) return s;
            if ((s = check_schema_value(c, item, ck, v)) != MRPC_OK) return s;
            /* Categorical values are used as given; round floats like every other value. */
            mrpc_param tmp = {.dist = MRPC_DIST_UNIFORM, .is_int = p->is_int, .min = v, .max = v};
            double cv = mrpc_param_canonical(&tmp, v);
            if (!p->is_int && cv != v) {
                return mrpc_yaml_error_at(c->doc, item, c->err, MRPC_ERR_INVALID, "values",
                                          "%.17g has more than %d significant digits", v, MRPC_SPACE_FLOAT_DIGITS);
            }
            for (size_t j = 0; j < i; j++) {
                if (p->values[j] == v) return mrpc_yaml_error_at(c->doc, item, c->err, MRPC_ERR_INVALID, "values", "%g is listed twice", v);
            }
            p->values[i] = v;
        }
        qsort(p->values, p->n_values, sizeof p->values[0], cmp_double);
        p->min = p->values[0];
        p->max = p->values[p->n_values - 1];
        break;
    }
    default: {
        const yaml_node_t *min_node, *max_node;
        if ((s = num(c, spec, "min", ck, &p->min, &min_node)) != MRPC_OK) return s;
        if ((s = num(c, spec, "max", ck, &p->max, &max_node)) != MRPC_OK) return s;
        if (p->min > p->max) {
            return mrpc_yaml_error_at(c->doc, max_node, c->err, MRPC_ERR_INVALID, "max", "max (%g) is below min (%g)", p->max,
                                      p->min);
        }
        if (p->dist == MRPC_DIST_INT_UNIFORM && (p->min != floor(p->min) || p->max != floor(p->max))) {
            return mrpc_yaml_error_at(c->doc, p->min != floor(p->min) ? min_node : max_node, c->err, MRPC_ERR_INVALID, "min",
                                      "int_uniform needs integer min and max");
        }
        if (p->dist == MRPC_DIST_INT_UNIFORM) p->is_int = 1;
        if (p->dist == MRPC_DIST_LOG_UNIFORM_VALUES && !(p->min > 0.0)) {
            return mrpc_yaml_error_at(c->doc, min_node, c->err, MRPC_ERR_INVALID, "min", "log_uniform_values needs min > 0");
        }
        if (p->is_int && ceil(p->min) > floor(p->max)) {
            return mrpc_yaml_error_at(c->doc, min_node, c->err, MRPC_ERR_INVALID, "min", "no integer between min and max");
        }
        if (p->dist == MRPC_DIST_Q_UNIFORM) {
            const yaml_node_t *q_node;
            if ((s = num(c, spec, "q", NULL, &p->q, &q_node)) != MRPC_OK) return s;
            if (!(p->q > 0.0) || (p->max > p->min && p->q > p->max - p->min)) {
                return mrpc_yaml_error_at(c->doc, q_node, c->err, MRPC_ERR_INVALID, "q", "q must be > 0 and at most max - min");
            }
            if (p->is_int && p->q != floor(p->q)) {
                return mrpc_yaml_error_at(c->doc, q_node, c->err, MRPC_ERR_INVALID, "q", "an integer key needs an integer q");
            }
            /* The lattice must have a point inside the range. */
            if (floor(p->max / p->q) * p->q < p->min - 1e-12 * fabs(p->min)) {
                return mrpc_yaml_error_at(c->doc, q_node, c->err, MRPC_ERR_INVALID, "q", "no multiple of q between min and max");
            }
        }
        break;
    }
    }
    const yaml_node_t *bn = mrpc_yaml_map_get(c->doc, spec, "baseline");
    double b = base_value;
    if (!mrpc_param_is_searchable(p)) b = p->dist == MRPC_DIST_CATEGORICAL ? p->values[0] : p->min; /* its only value */
    if (bn) {
        if ((s = mrpc_yaml_get_f64(c->doc, bn, "baseline", &b, c->err)) != MRPC_OK) return s;
    } else if (c->wandb && (!isfinite(b) || !mrpc_param_contains(p, b))) {
        b = mrpc_param_decode(p, 0.5); /* W&B has no baseline: the base config's value, else the middle */
    } else if (!isfinite(b)) {
        return mrpc_yaml_error_at(c->doc, name_node, c->err, MRPC_ERR_INVALID, "baseline",
                                  "the base config does not fix %s; give a baseline", name);
    }
    if (!mrpc_param_contains(p, b)) {
        return mrpc_yaml_error_at(c->doc, bn ? bn : name_node, c->err, MRPC_ERR_INVALID, "baseline",
                                  "baseline %g%s is not a value of %s's space", b, bn ? "" : " (from the base config)", name);
    }
    p->baseline = mrpc_param_canonical(p, b);
    return MRPC_OK;
}

static double config_value(const mrpc_hparam *hp, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(hp[i].name, name) == 0) return hp[i].kind == MRPC_VALUE_INT ? (double)hp[i].i : hp[i].f;
    return NAN;
}

/* ---- stages ------------------------------------------------------------------------ */

static mrpc_status parse_sensitivity(ctx *c, const yaml_node_t *node, mrpc_study *st) {
    mrpc_sensitivity_settings *s = &st->sensitivity;
    const mrpc_space *sp = &st->space;
    s->top_k = 3;
    s->seeds = 1;
    s->span = 1.0;
    s->n_candidates = 0;
    for (size_t i = 0; i < sp->n_params; i++)
        if (mrpc_param_is_searchable(&sp->params[i])) s->candidates[s->n_candidates++] = i;
    if (!node || mrpc_yaml_is_null(node)) goto check;
    mrpc_status r;
    if ((r = need_map(c, node, "sensitivity")) != MRPC_OK) return r;
    static const char *const allowed[] = {"top_k", "seeds", "span", "levels", "candidates", "fidelity", NULL};
    if ((r = check_keys(c, node, "stages.sensitivity", allowed)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "top_k", 1, MRPC_SPACE_MAX_PARAMS, &s->top_k)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "seeds", 1, 100, &s->seeds)) != MRPC_OK) return r;
    const yaml_node_t *n = mrpc_yaml_map_get(c->doc, node, "span");
    if (n) {
        if ((r = mrpc_yaml_get_f64(c->doc, n, "span", &s->span, c->err)) != MRPC_OK) return r;
        if (!(s->span > 0.0 && s->span <= 1.0)) return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, "span", "must be in (0, 1]");
    }
    n = mrpc_yaml_map_get(c->doc, node, "candidates");
    if (n && (r = param_list(c, sp, n, "candidates", s->candidates, &s->n_candidates)) != MRPC_OK) return r;
    n = mrpc_yaml_map_get(c->doc, node, "levels");
    if (n) {
        if ((r = need_map(c, n, "levels")) != MRPC_OK) return r;
        const char *key;
        const yaml_node_t *kn, *v;
        for (size_t i = 0; mrpc_yaml_map_at(c->doc, n, i, &key, &kn, &v); i++) {
            int k = mrpc_space_find(sp, key);
            if (k < 0 || !mrpc_param_is_searchable(&sp->params[k])) {
                return mrpc_yaml_error_at(c->doc, kn, c->err, MRPC_ERR_INVALID, key, "not a searchable parameter of the study");
            }
            size_t cnt;
            double lv[2];
            if ((r = value_list(c, &sp->params[k], v, key, 2, 2, lv, &cnt)) != MRPC_OK) return r;
            s->has_levels[k] = 1;
            s->levels[k][0] = lv[0];
            s->levels[k][1] = lv[1];
        }
    }
check:
    if (s->n_candidates == 0) {
        return mrpc_yaml_error_at(c->doc, node, c->err, MRPC_ERR_INVALID, "sensitivity", "no parameter of the study can be varied");
    }
    if ((size_t)s->top_k > s->n_candidates) s->top_k = (int64_t)s->n_candidates;
    return MRPC_OK;
}

static mrpc_status parse_grid(ctx *c, const yaml_node_t *node, mrpc_study *st) {
    mrpc_grid_settings *g = &st->grid;
    const mrpc_space *sp = &st->space;
    g->levels = 3;
    if (!node || mrpc_yaml_is_null(node)) return MRPC_OK;
    mrpc_status r;
    if ((r = need_map(c, node, "grid")) != MRPC_OK) return r;
    static const char *const allowed[] = {"parameters", "levels", "values", "fidelity", NULL};
    if ((r = check_keys(c, node, "stages.grid", allowed)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "levels", 2, 20, &g->levels)) != MRPC_OK) return r;
    const yaml_node_t *n = mrpc_yaml_map_get(c->doc, node, "parameters");
    if (n && (r = param_list(c, sp, n, "parameters", g->params, &g->n_params)) != MRPC_OK) return r;
    n = mrpc_yaml_map_get(c->doc, node, "values");
    if (n) {
        if ((r = need_map(c, n, "values")) != MRPC_OK) return r;
        const char *key;
        const yaml_node_t *kn, *v;
        for (size_t i = 0; mrpc_yaml_map_at(c->doc, n, i, &key, &kn, &v); i++) {
            int k = mrpc_space_find(sp, key);
            if (k < 0 || !mrpc_param_is_searchable(&sp->params[k])) {
                return mrpc_yaml_error_at(c->doc, kn, c->err, MRPC_ERR_INVALID, key, "not a searchable parameter of the study");
            }
            if ((r = value_list(c, &sp->params[k], v, key, 1, MRPC_SPACE_MAX_VALUES, g->values[k], &g->n_values[k])) != MRPC_OK) return r;
        }
    }
    return MRPC_OK;
}

static mrpc_status parse_bayes(ctx *c, const yaml_node_t *node, mrpc_study *st) {
    mrpc_bayes_settings *b = &st->bayes;
    b->wave_size = 4;
    b->candidates = 2000;
    b->restarts = 4;
    b->max_gp_points = 256;
    b->augmented = 3; /* acquisition: auto */
    if (!node && st->wandb) return MRPC_OK; /* the defaults; wandb_sweep.c sets the budget */
    mrpc_status r;
    if (!node || mrpc_yaml_is_null(node) || node->type != YAML_MAPPING_NODE) {
        return mrpc_yaml_error_at(c->doc, node, c->err, MRPC_ERR_INVALID, "bayes", "expected a mapping with at least budget");
    }
    static const char *const allowed[] = {"parameters", "budget", "wave_size", "init_points", "candidates",
                                          "restarts", "max_gp_points", "acquisition", "fidelity", NULL};
    if ((r = check_keys(c, node, "stages.bayes", allowed)) != MRPC_OK) return r;
    if (!mrpc_yaml_map_get(c->doc, node, "budget")) {
        return mrpc_yaml_error_at(c->doc, node, c->err, MRPC_ERR_INVALID, "budget", "missing key budget (runs of the stage)");
    }
    if ((r = opt_i64(c, node, "budget", 1, 100000, &b->budget)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "wave_size", 1, 10000, &b->wave_size)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "init_points", 0, 10000, &b->init_points)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "candidates", 16, 1000000, &b->candidates)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "restarts", 0, 100, &b->restarts)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "max_gp_points", 8, 5000, &b->max_gp_points)) != MRPC_OK) return r;
    const yaml_node_t *n = mrpc_yaml_map_get(c->doc, node, "acquisition");
    if (n) {
        const char *a = mrpc_yaml_scalar(n);
        if (a && strcmp(a, "augmented_ei") == 0) b->augmented = 1;
        else if (a && strcmp(a, "ei") == 0) b->augmented = 0;
        else if (a && strcmp(a, "kg") == 0) b->augmented = 2; /* knowledge gradient (optimize/kg.h) */
        else if (a && strcmp(a, "auto") == 0) b->augmented = 3; /* kg under noise, else augmented_ei (batch.h) */
        else return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, "acquisition",
                                       "expected auto, augmented_ei, ei or kg");
    }
    n = mrpc_yaml_map_get(c->doc, node, "parameters");
    if (n && (r = param_list(c, &st->space, n, "parameters", b->params, &b->n_params)) != MRPC_OK) return r;
    return MRPC_OK;
}

static mrpc_status parse_slurm(ctx *c, const yaml_node_t *node, mrpc_study *st) {
    mrpc_slurm_settings *s = &st->slurm;
    mrpc_str_copy(s->time, sizeof s->time, "01:00:00");
    s->cpus_per_task = 4;
    s->gpus = 0;
    s->ranks_per_task = 1;
    s->nodes_per_task = 1;
    mrpc_str_copy(s->mpi, sizeof s->mpi, "pmix");
    s->throttle = 0;
    s->signal_seconds = 120;
    s->max_array_size = 1000;
    if (!node || mrpc_yaml_is_null(node)) return MRPC_OK;
    mrpc_status r;
    if ((r = need_map(c, node, "slurm")) != MRPC_OK) return r;
    static const char *const allowed[] = {"partition", "account", "time", "cpus_per_task", "gpus", "ranks_per_task",
                                          "nodes_per_task", "mpi", "throttle", "signal_seconds", "max_array_size",
                                          "bindir", NULL};
    if ((r = check_keys(c, node, "slurm", allowed)) != MRPC_OK) return r;
    if ((r = opt_str(c, node, "partition", s->partition, sizeof s->partition)) != MRPC_OK) return r;
    if ((r = opt_str(c, node, "account", s->account, sizeof s->account)) != MRPC_OK) return r;
    if ((r = opt_str(c, node, "time", s->time, sizeof s->time)) != MRPC_OK) return r;
    if ((r = opt_str(c, node, "bindir", s->bindir, sizeof s->bindir)) != MRPC_OK) return r;
    if ((r = opt_str(c, node, "mpi", s->mpi, sizeof s->mpi)) != MRPC_OK) return r;
    struct { const char *key; const char *value; int ok; } checks[] = {
        {"partition", s->partition, !s->partition[0] || mrpc_name_is_safe(s->partition)},
        {"account", s->account, !s->account[0] || mrpc_name_is_safe(s->account)},
        {"time", s->time, s->time[0] && strspn(s->time, "0123456789:-") == strlen(s->time)},
        {"bindir", s->bindir, !s->bindir[0] || mrpc_emit_path_is_safe(s->bindir)},
        {"mpi", s->mpi, s->mpi[0] && mrpc_name_is_safe(s->mpi)},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (!checks[i].ok) {
            return mrpc_yaml_error_at(c->doc, mrpc_yaml_map_get(c->doc, node, checks[i].key), c->err, MRPC_ERR_INVALID,
                                      checks[i].key, "unsafe value \"%s\" (%s)", checks[i].value,
                                      i < 2 || i == 4 ? "expected [A-Za-z0-9._-]"
                                      : i == 2 ? "expected a Slurm time such as 02:00:00 or 1-00:00:00"
                                               : "expected an absolute path of [A-Za-z0-9._+,@=~/-]");
        }
    }
    if ((r = opt_i64(c, node, "cpus_per_task", 1, 4096, &s->cpus_per_task)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "gpus", 0, 1024, &s->gpus)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "ranks_per_task", 1, 4096, &s->ranks_per_task)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "nodes_per_task", 1, 4096, &s->nodes_per_task)) != MRPC_OK) return r;
    /* A run spans nodes_per_task nodes with the same number of ranks (and GPUs) on each. */
    if (s->ranks_per_task % s->nodes_per_task != 0) {
        return mrpc_yaml_error_at(c->doc, mrpc_yaml_map_get(c->doc, node, "nodes_per_task"), c->err, MRPC_ERR_INVALID,
                                  "nodes_per_task", "%lld nodes cannot share %lld ranks evenly: ranks_per_task must be a "
                                  "multiple of nodes_per_task", (long long)s->nodes_per_task,
                                  (long long)s->ranks_per_task);
    }
    if (s->gpus % s->nodes_per_task != 0) {
        return mrpc_yaml_error_at(c->doc, mrpc_yaml_map_get(c->doc, node, "gpus"), c->err, MRPC_ERR_INVALID, "gpus",
                                  "%lld GPUs cannot be spread evenly over %lld nodes: gpus (of one task, all its nodes) "
                                  "must be a multiple of nodes_per_task", (long long)s->gpus,
                                  (long long)s->nodes_per_task);
    }
    if ((r = opt_i64(c, node, "throttle", 0, 100000, &s->throttle)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "signal_seconds", 0, 65535, &s->signal_seconds)) != MRPC_OK) return r;
    if ((r = opt_i64(c, node, "max_array_size", 1, 1000000, &s->max_array_size)) != MRPC_OK) return r;
    return MRPC_OK;
}

/* ---- the whole study --------------------------------------------------------------- */

/* The stage of a W&B sweep (wandb_sweep.h) on the defaults of every stage, then slurm. */
static mrpc_status wandb_stages(ctx *c, const yaml_node_t *root, const mrpc_wandb_sweep *sw, mrpc_study *st) {
    const yaml_node_t *none[MRPC_STAGE_COUNT] = {0};
    mrpc_status r;
    if ((r = parse_grid(c, NULL, st)) != MRPC_OK) return r;
    if ((r = parse_bayes(c, NULL, st)) != MRPC_OK) return r;
    if ((r = mrpc_fidelity_parse_stages(c->doc, none, st, c->err)) != MRPC_OK) return r;
    if ((r = mrpc_wandb_sweep_stages(c->doc, root, sw, st, c->err)) != MRPC_OK) return r;
    return parse_slurm(c, mrpc_yaml_map_get(c->doc, root, "slurm"), st);
}

/* The hash is shared with mrpc-train, which recomputes it before training a wave's task (wave.h). */
static void hash_fixed(mrpc_study *st) { mrpc_fixed_hash(st->fixed, st->n_fixed, st->fixed_hash); }

/* objective: {metric, goal} */
static mrpc_status parse_objective(ctx *c, const yaml_node_t *root, mrpc_study *st) {
    mrpc_status r;
    const yaml_node_t *n = mrpc_yaml_map_get(c->doc, root, "objective");
    if (!n) return mrpc_yaml_error_at(c->doc, root, c->err, MRPC_ERR_INVALID, "objective", "missing key objective");
    if ((r = need_map(c, n, "objective")) != MRPC_OK) return r;
    static const char *const obj_keys[] = {"metric", "goal", NULL};
    if ((r = check_keys(c, n, "objective", obj_keys)) != MRPC_OK) return r;
    const yaml_node_t *m = mrpc_yaml_map_get(c->doc, n, "metric");
    if (!m) return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, "metric", "missing key metric");
    if ((r = mrpc_yaml_get_str(c->doc, m, "metric", st->metric, sizeof st->metric, c->err)) != MRPC_OK) return r;
    static const char *const metrics[] = {"accuracy", "f1", "best_accuracy", "eval_loss", "train_seconds", "tokens_per_second"};
    int known = 0;
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
        if (strcmp(metrics[i], st->metric) == 0) known = 1;
    if (!known) {
        return mrpc_yaml_error_at(c->doc, m, c->err, MRPC_ERR_INVALID, "metric",
                                  "unknown metric \"%s\" (accuracy, f1, best_accuracy, eval_loss, train_seconds, "
                                  "tokens_per_second)", st->metric);
    }
    const yaml_node_t *g = mrpc_yaml_map_get(c->doc, n, "goal");
    if (!g) return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, "goal", "missing key goal (maximize or minimize)");
    const char *gs = mrpc_yaml_scalar(g);
    if (gs && strcmp(gs, "maximize") == 0) st->maximize = 1;
    else if (gs && strcmp(gs, "minimize") == 0) st->maximize = 0;
    else return mrpc_yaml_error_at(c->doc, g, c->err, MRPC_ERR_INVALID, "goal", "expected maximize or minimize");
    return MRPC_OK;
}

static mrpc_status parse_study(ctx *c, const char *study_file, mrpc_study *st) {
    const yaml_node_t *root = mrpc_yaml_root(c->doc);
    mrpc_status r;
    if (!root || root->type != YAML_MAPPING_NODE) {
        return mrpc_error_set(c->err, MRPC_ERR_PARSE, study_file, 1, 1, NULL, "a study file is a YAML mapping");
    }
    static const char *const allowed[] = {"name", "seed", "objective", "base_config", "study_dir", "runs_dir",
                                          "parameters", "stages", "slurm", "retries", NULL};
    mrpc_wandb_sweep sw; /* a W&B sweep file (`method:` at the top): wandb_sweep.h */
    memset(&sw, 0, sizeof sw);
    int wandb = mrpc_wandb_is_sweep(c->doc, root);
    c->wandb = wandb;
    if (wandb) r = mrpc_wandb_sweep_read(c->doc, root, study_file, &sw, st, c->err);
    else r = check_keys(c, root, "the study", allowed);
    if (r != MRPC_OK) return r;
    if (!mrpc_str_copy(st->file, sizeof st->file, study_file)) {
        return mrpc_error_set(c->err, MRPC_ERR_INVALID, study_file, 0, 0, NULL, "path too long");
    }
    char file_dir[MRPC_STUDY_PATH_MAX];
    mrpc_str_copy(file_dir, sizeof file_dir, study_file);
    char *slash = strrchr(file_dir, '/');
    if (slash) *(slash == file_dir ? slash + 1 : slash) = '\0';

    /* name: default from the file name, made safe. */
    const yaml_node_t *n = wandb ? NULL : mrpc_yaml_map_get(c->doc, root, "name");
    if (n) {
        if ((r = mrpc_yaml_get_str(c->doc, n, "name", st->name, sizeof st->name, c->err)) != MRPC_OK) return r;
        if (!mrpc_name_is_safe(st->name)) {
            return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, "name", "\"%s\" is not a safe name ([A-Za-z0-9._-])",
                                      st->name);
        }
    } else if (!st->name[0]) {
        const char *base = strrchr(study_file, '/');
        base = base ? base + 1 : study_file;
        size_t k = 0;
        for (const char *p = base; *p && *p != '.' && k < 64; p++) {
            char ch = *p;
            int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
            st->name[k++] = ok ? ch : '_';
        }
        st->name[k] = '\0';
        if (!mrpc_name_is_safe(st->name)) mrpc_str_copy(st->name, sizeof st->name, "study");
    }
    if ((r = opt_i64(c, root, "seed", 0, INT64_MAX, &st->seed)) != MRPC_OK) return r;
    /* Retries of a run that ended without a final record (an infrastructure failure). */
    st->retries = MRPC_STUDY_DEFAULT_RETRIES;
    if ((r = opt_i64(c, root, "retries", 0, MRPC_STUDY_MAX_RETRIES, &st->retries)) != MRPC_OK) return r;

    /* objective (a W&B sweep's is its metric: wandb_sweep.c) */
    if (!st->wandb && (r = parse_objective(c, root, st)) != MRPC_OK) return r;

    /* paths */
    char rel[MRPC_STUDY_PATH_MAX];
    n = mrpc_yaml_map_get(c->doc, root, "base_config");
    if (!n && !wandb) return mrpc_yaml_error_at(c->doc, root, c->err, MRPC_ERR_INVALID, "base_config", "missing key base_config");
    if (!n) mrpc_str_copy(rel, sizeof rel, sw.base_config); /* base.yaml next to the sweep file */
    else if ((r = mrpc_yaml_get_str(c->doc, n, "base_config", rel, sizeof rel, c->err)) != MRPC_OK) return r;
    if (!rel[0] || !join_normalize(file_dir, rel, st->base_config, sizeof st->base_config)) {
        return mrpc_yaml_error_at(c->doc, n ? n : root, c->err, MRPC_ERR_INVALID, "base_config", "bad path");
    }
    const yaml_node_t *base_node = n ? n : root;
    n = mrpc_yaml_map_get(c->doc, root, "study_dir");
    mrpc_str_copy(rel, sizeof rel, ".");
    if (n && (r = mrpc_yaml_get_str(c->doc, n, "study_dir", rel, sizeof rel, c->err)) != MRPC_OK) return r;
    if (!rel[0] || !join_normalize(file_dir, rel, st->dir, sizeof st->dir)) {
        return mrpc_yaml_error_at(c->doc, n ? n : root, c->err, MRPC_ERR_INVALID, "study_dir", "bad path");
    }
    if (!mrpc_emit_path_is_safe(st->dir)) {
        return mrpc_yaml_error_at(c->doc, n ? n : root, c->err, MRPC_ERR_INVALID, "study_dir",
                                  "the study directory \"%s\" has characters that are unsafe in a Slurm script "
                                  "(use [A-Za-z0-9._+,@=~/-])", st->dir);
    }
    mrpc_str_copy(st->runs_dir, sizeof st->runs_dir, "runs");
    n = mrpc_yaml_map_get(c->doc, root, "runs_dir");
    if (n) {
        if ((r = mrpc_yaml_get_str(c->doc, n, "runs_dir", st->runs_dir, sizeof st->runs_dir, c->err)) != MRPC_OK) return r;
        if (!mrpc_relpath_is_safe(st->runs_dir) || strcmp(st->runs_dir, "waves") == 0 ||
            strncmp(st->runs_dir, "waves/", 6) == 0) {
            return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, "runs_dir",
                                      "\"%s\" must be a safe path inside the study directory (not waves/)", st->runs_dir);
        }
    }

    /* base config: fixed settings and default baselines */
    mrpc_run_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return mrpc_error_set(c->err, MRPC_ERR_NOMEM, study_file, 0, 0, NULL, "out of memory");
    mrpc_run_config_defaults(cfg);
    r = mrpc_run_config_load_file(st->base_config, cfg, c->err);
    if (r != MRPC_OK) {
        free(cfg);
        if (c->err && c->err->line == 0) {
            /* No place inside the base config: point at the study's base_config line instead. */
            char msg[1400];
            mrpc_error_format(c->err, msg, sizeof msg);
            return mrpc_yaml_error_at(c->doc, base_node, c->err, r, "base_config", "cannot load the base config: %s", msg);
        }
        return r;
    }
    mrpc_hparam hp[MRPC_RUNREC_MAX_HPARAMS];
    size_t n_hp = mrpc_run_config_hparams(cfg, hp, MRPC_RUNREC_MAX_HPARAMS);

    /* parameters */
    n = mrpc_yaml_map_get(c->doc, root, "parameters");
    if (!n) { free(cfg); return mrpc_yaml_error_at(c->doc, root, c->err, MRPC_ERR_INVALID, "parameters", "missing key parameters"); }
    if ((r = need_map(c, n, "parameters")) != MRPC_OK) { free(cfg); return r; }
    size_t np = mrpc_yaml_len(n);
    if (np == 0 || np > MRPC_SPACE_MAX_PARAMS) {
        free(cfg);
        return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, "parameters", "expected 1 to %d parameters",
                                  MRPC_SPACE_MAX_PARAMS);
    }
    for (size_t i = 0; i < np; i++) {
        const char *key;
        const yaml_node_t *kn, *v;
        mrpc_yaml_map_at(c->doc, n, i, &key, &kn, &v);
        r = parse_param(c, key, kn, v, config_value(hp, n_hp, key), &st->space.params[i]);
        if (r != MRPC_OK) { free(cfg); return r; }
        st->space.n_params = i + 1;
        if (st->space.params[i].dist == MRPC_DIST_CONSTANT) {
            /* Constants are fixed settings too: apply them to the base config. */
            char text[64];
            mrpc_param_format(&st->space.params[i], st->space.params[i].min, text, sizeof text);
            r = mrpc_run_config_set(cfg, key, text, study_file, (long)kn->start_mark.line + 1,
                                    (long)kn->start_mark.column + 1, c->err);
            if (r != MRPC_OK) { free(cfg); return r; }
        }
    }
    n_hp = mrpc_run_config_hparams(cfg, hp, MRPC_RUNREC_MAX_HPARAMS);
    st->base_seed = cfg->seed;
    free(cfg);
    st->n_fixed = 0;
    for (size_t i = 0; i < n_hp; i++) {
        /* Searched parameters and the seed vary between runs; everything else, constants included, is fixed. */
        int k = mrpc_space_find(&st->space, hp[i].name);
        if (strcmp(hp[i].name, "seed") == 0 || (k >= 0 && st->space.params[k].dist != MRPC_DIST_CONSTANT)) continue;
        st->fixed[st->n_fixed++] = hp[i];
    }
    hash_fixed(st);

    if (wandb) return wandb_stages(c, root, &sw, st); /* the sweep's method is its stage */
    /* stages */
    n = mrpc_yaml_map_get(c->doc, root, "stages");
    if (!n) return mrpc_yaml_error_at(c->doc, root, c->err, MRPC_ERR_INVALID, "stages", "missing key stages");
    if ((r = need_map(c, n, "stages")) != MRPC_OK) return r;
    if (mrpc_yaml_len(n) == 0) return mrpc_yaml_error_at(c->doc, n, c->err, MRPC_ERR_INVALID, "stages", "no stage given");
    int last = -1;
    const yaml_node_t *stage_nodes[MRPC_STAGE_COUNT] = {0};
    const char *key;
    const yaml_node_t *kn, *v;
    for (size_t i = 0; mrpc_yaml_map_at(c->doc, n, i, &key, &kn, &v); i++) {
        mrpc_stage_kind k;
        if (!mrpc_stage_parse(key, &k)) {
            return mrpc_yaml_error_at(c->doc, kn, c->err, MRPC_ERR_INVALID, key, "unknown stage (sensitivity, grid, bayes, confirm)");
        }
        if ((int)k < last) {
            return mrpc_yaml_error_at(c->doc, kn, c->err, MRPC_ERR_INVALID, key,
                                      "stages run in the order sensitivity, grid, bayes, confirm; list them in that order");
        }
        last = (int)k;
        st->has_stage[k] = 1;
        stage_nodes[k] = v;
    }
    int searchable = 0;
    for (size_t i = 0; i < st->space.n_params; i++) searchable |= mrpc_param_is_searchable(&st->space.params[i]);
    if (!searchable) {
        return mrpc_yaml_error_at(c->doc, mrpc_yaml_map_get(c->doc, root, "parameters"), c->err, MRPC_ERR_INVALID,
                                  "parameters", "every parameter has a single value: nothing to search");
    }
    if (st->has_stage[MRPC_STAGE_SENSITIVITY] && (r = parse_sensitivity(c, stage_nodes[0], st)) != MRPC_OK) return r;
    if ((r = parse_grid(c, st->has_stage[MRPC_STAGE_GRID] ? stage_nodes[1] : NULL, st)) != MRPC_OK) return r;
    if (st->has_stage[MRPC_STAGE_BAYES] && (r = parse_bayes(c, stage_nodes[2], st)) != MRPC_OK) return r;
    if ((r = mrpc_fidelity_parse_stages(c->doc, stage_nodes, st, c->err)) != MRPC_OK) return r; /* fidelity.h */
    if (st->has_stage[MRPC_STAGE_CONFIRM] &&
        (r = mrpc_confirm_parse(c->doc, stage_nodes[MRPC_STAGE_CONFIRM], n, st, c->err)) != MRPC_OK) return r;
    if ((r = parse_slurm(c, mrpc_yaml_map_get(c->doc, root, "slurm"), st)) != MRPC_OK) return r;
    return MRPC_OK;
}

mrpc_status mrpc_study_parse(const char *study_file, const char *text, size_t size, mrpc_study *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    if (!study_file || study_file[0] != '/') {
        return mrpc_error_set(err, MRPC_ERR_INVALID, study_file, 0, 0, NULL, "the study file path must be absolute");
    }
    ctx c = {.err = err};
    mrpc_status r = mrpc_yaml_load_string(study_file, text, size, &c.doc, err);
    if (r != MRPC_OK) return r;
    r = parse_study(&c, study_file, out);
    mrpc_yaml_free(c.doc);
    if (r != MRPC_OK) memset(out, 0, sizeof *out);
    return r;
}

mrpc_status mrpc_study_load(const char *path, mrpc_study *out, mrpc_error *err) {
    char abs[PATH_MAX];
    if (!realpath(path, abs)) {
        memset(out, 0, sizeof *out);
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot open the study file");
    }
    char *data = NULL;
    size_t size = 0;
    mrpc_status r = mrpc_file_read_all(abs, 4u << 20, &data, &size, err);
    if (r != MRPC_OK) {
        memset(out, 0, sizeof *out);
        return r;
    }
    r = mrpc_study_parse(abs, data, size, out, err);
    free(data);
    return r;
}

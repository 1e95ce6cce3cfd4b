/*
 * space.h — the search space of a study: one distribution per run-config key, in
 * W&B-sweep terms, and the map between a parameter's natural values and the unit
 * interval the Gaussian process works on.
 *
 * Distributions (what the study file calls them):
 *
 *     constant            value: v                 never searched; a column of every wave
 *     categorical         values: [a, b, c]        numbers; encoded by rank (sorted ascending)
 *     int_uniform         min, max (integers)      encoded linearly, rounded on decode
 *     uniform             min, max                 encoded linearly
 *     q_uniform           min, max, q              round(v/q)*q, kept inside [min, max]
 *     log_uniform_values  min, max (> 0)           encoded linearly in log(v)
 *
 * A parameter of an integer run-config key (max_seq_length, warmup_steps) is rounded on
 * decode whatever its distribution. Every value the optimizer writes is *canonical*
 * (mrpc_param_canonical): a float keeps 6 significant digits, an integer is integral, a
 * quantized value sits on its lattice, a categorical value is one of the list. Two
 * configurations are the same when their canonical values are equal
 * (mrpc_space_config_equal), which is how duplicate suggestions are refused.
 *
 * Example:
 *
 *     mrpc_param lr = {.name = "learning_rate", .dist = MRPC_DIST_LOG_UNIFORM_VALUES,
 *                      .min = 1e-5, .max = 1e-4, .baseline = 5e-5};
 *     double u = mrpc_param_encode(&lr, 3.1623e-5);   // 0.5: the middle in log scale
 *     double v = mrpc_param_decode(&lr, 0.5);         // 3.16228e-05, canonical
 */
#ifndef MRPC_OPTIMIZE_SPACE_H
#define MRPC_OPTIMIZE_SPACE_H

#include <stddef.h>

#define MRPC_SPACE_MAX_PARAMS 32
#define MRPC_SPACE_MAX_VALUES 64
/* Significant digits kept for float parameters (enough for any hyperparameter). */
#define MRPC_SPACE_FLOAT_DIGITS 6

typedef enum mrpc_dist {
    MRPC_DIST_CONSTANT = 0,
    MRPC_DIST_CATEGORICAL,
    MRPC_DIST_INT_UNIFORM,
    MRPC_DIST_UNIFORM,
    MRPC_DIST_Q_UNIFORM,
    MRPC_DIST_LOG_UNIFORM_VALUES,
    MRPC_DIST_COUNT
} mrpc_dist;

/* One searched (or fixed) run-config key. */
typedef struct mrpc_param {
    char      name[48];  /* dotted run-config key, e.g. "learning_rate" */
    mrpc_dist dist;
    int       is_int;    /* the run-config key is an integer: values are rounded */
    double    min, max;  /* range (categorical: smallest and largest value; constant: the value) */
    double    q;         /* q_uniform step, else 0 */
    size_t    n_values;  /* categorical: number of values */
    double    values[MRPC_SPACE_MAX_VALUES]; /* categorical: sorted ascending, unique, canonical */
    double    baseline;  /* the value used when the parameter is not being varied */
    long      line, column; /* where the study file declares it (0 when built in code) */
} mrpc_param;

/* The parameters of a study, in the order the study file lists them. */
typedef struct mrpc_space {
    size_t     n_params;
    mrpc_param params[MRPC_SPACE_MAX_PARAMS];
} mrpc_space;

/* "constant", "categorical", ... (never NULL; "unknown" for bad values). */
const char *mrpc_dist_name(mrpc_dist dist);
/* Parses a distribution name; returns 1 on success. */
int mrpc_dist_parse(const char *name, mrpc_dist *out);

/*
 * 1 when the parameter can take more than one value (not constant, min < max, or at
 * least two categorical values); only such parameters are dimensions of the GP.
 */
int mrpc_param_is_searchable(const mrpc_param *p);

/*
 * The canonical form of `v`: clamped into the range, rounded for integer keys, put on
 * the q lattice, snapped to the nearest categorical value, floats rounded to
 * MRPC_SPACE_FLOAT_DIGITS significant digits (and clamped again). A constant gives its
 * value. Non-finite input gives the baseline.
 */
double mrpc_param_canonical(const mrpc_param *p, double v);

/* Position of `v` in [0, 1] (clamped; 0.5 for a parameter that is not searchable). */
double mrpc_param_encode(const mrpc_param *p, double v);

/* The canonical value at position `u` of [0, 1] (u is clamped first). */
double mrpc_param_decode(const mrpc_param *p, double u);

/*
 * 1 when `v` is a value the parameter can take: inside the range (relative tolerance
 * 1e-9), integral for integer keys, on the lattice for q_uniform, one of the
 * categorical values, equal to a constant. Used to decide whether a run made outside
 * the optimizer belongs to the study's space.
 */
int mrpc_param_contains(const mrpc_param *p, double v);

/* 1 when a and b have the same canonical value for this parameter. */
int mrpc_param_equal(const mrpc_param *p, double a, double b);

/*
 * Writes `v` as the text a run config accepts: an integer key as "%lld", a float
 * with the shortest round-trip form (mrpc_format_f64).
 */
void mrpc_param_format(const mrpc_param *p, double v, char *buf, size_t buf_size);

/* Index of the parameter called `name`, or -1. */
int mrpc_space_find(const mrpc_space *space, const char *name);

/*
 * 1 when two configurations (arrays of space->n_params natural values) are the same
 * configuration: every parameter equal in canonical form.
 */
int mrpc_space_config_equal(const mrpc_space *space, const double *a, const double *b);

/* Fills `values` (n_params) with every parameter's baseline (constants: their value). */
void mrpc_space_baseline(const mrpc_space *space, double *values);

#endif /* MRPC_OPTIMIZE_SPACE_H */

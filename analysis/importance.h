/*
 * importance.h — parameter importance from a small random forest of regression trees
 * (the W&B "parameter importance" panel, computed offline).
 *
 * Each tree is a CART regression tree grown on a bootstrap sample of the runs: at a
 * node, `max_features` features are tried in random order (more when the ones tried
 * are constant there, as scikit-learn does), every threshold halfway between two
 * distinct sorted values is scored by the decrease of the sum of squared errors, and
 * the best split is kept. A feature's importance is the total SSE decrease of its
 * splits (mean decrease in impurity); each tree's importances are normalised to sum
 * 1 and averaged over the trees, then normalised again. With one tree, no bootstrap
 * and every feature tried, the result equals scikit-learn's
 * DecisionTreeRegressor().feature_importances_ (up to ties between equally good splits).
 *
 * The out-of-bag R^2 (each run predicted by the trees that did not see it) says how
 * much of the objective the forest explains at all: near or below 0 means the
 * importances describe noise.
 *
 * Inputs should be on comparable scales (the analysis uses [0, 1], log scale for
 * log-scaled parameters); trees do not need that, but thresholds then read the same.
 */
#ifndef MRPC_ANALYSIS_IMPORTANCE_H
#define MRPC_ANALYSIS_IMPORTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct mrpc_forest_options {
    size_t   n_trees;          /* 64 by default */
    size_t   max_features;     /* features tried per split; 0 = ceil(d/3), >= d = all */
    size_t   min_samples_leaf; /* 1 by default */
    size_t   max_depth;        /* 0 = unlimited */
    int      bootstrap;        /* 1: each tree sees a bootstrap sample; 0: all rows */
    uint64_t seed;             /* MRPC_RNG_BOOTSTRAP stream key */
} mrpc_forest_options;

/* Fills the defaults: 64 trees, max_features 0 (ceil(d/3)), min leaf 1, no depth limit, bootstrap. */
void mrpc_forest_options_default(mrpc_forest_options *opt);

typedef struct mrpc_forest_result {
    double oob_r2;    /* out-of-bag R^2; NaN without bootstrap or when no row was ever out of bag */
    size_t n_oob;     /* rows with at least one out-of-bag prediction */
} mrpc_forest_result;

/*
 * Fits the forest on x [n, d] (row-major) and y [n] and writes the normalised
 * importances into importance [d] (all 0 when y is constant or no split was possible).
 * `opt` NULL means the defaults; `result` may be NULL. Fails with MRPC_ERR_INVALID when
 * n < 2, d == 0 or a value is not finite, MRPC_ERR_NOMEM when memory runs out.
 */
mrpc_status mrpc_forest_importance(const double *x, const double *y, size_t n, size_t d,
                                   const mrpc_forest_options *opt, double *importance, mrpc_forest_result *result,
                                   mrpc_error *err);

#endif /* MRPC_ANALYSIS_IMPORTANCE_H */

/* importance.c — random-forest parameter importance (see importance.h). */
#include "importance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* A fitted node: a split (feature >= 0) or a leaf (feature == -1, value = mean of y). */
typedef struct tree_node {
    int    feature;
    double threshold;
    size_t left, right;
    double value;
} tree_node;

/* Scratch and settings shared by the recursion of one tree. */
typedef struct grower {
    const double *x, *y;
    size_t        n, d;
    size_t        max_features, min_leaf, max_depth;
    mrpc_rng     *rng;
    tree_node    *nodes;
    size_t        n_nodes, cap_nodes;
    double       *gain;     /* [d] SSE decrease per feature for this tree */
    uint32_t     *perm;     /* [d] */
    int           failed;
} grower;

typedef struct sort_key {
    double v;
    size_t row;
} sort_key;

static int cmp_key(const void *pa, const void *pb) {
    const sort_key *a = pa, *b = pb;
    if (a->v != b->v) return a->v < b->v ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

static size_t new_node(grower *g) {
    if (g->n_nodes == g->cap_nodes) {
        size_t cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        tree_node *p = realloc(g->nodes, cap * sizeof *p);
        if (!p) {
            g->failed = 1;
            return (size_t)-1;
        }
        g->nodes = p;
        g->cap_nodes = cap;
    }
    memset(&g->nodes[g->n_nodes], 0, sizeof g->nodes[0]);
    return g->n_nodes++;
}

/*
 * Grows the subtree over rows[0..m) (row indices, repeats allowed) and returns its
 * node index. `keys` is scratch of at least m entries.
 */
static size_t grow(grower *g, size_t *rows, size_t m, size_t depth, sort_key *keys) {
    size_t id = new_node(g);
    if (id == (size_t)-1) return id;
    double sum = 0, sumsq = 0;
    for (size_t k = 0; k < m; k++) {
        double v = g->y[rows[k]];
        sum += v;
        sumsq += v * v;
    }
    double mean = sum / (double)m;
    double sse = sumsq - sum * mean;
    if (sse < 0) sse = 0;
    g->nodes[id].feature = -1;
    g->nodes[id].value = mean;
    if (m < 2 * g->min_leaf || m < 2 || (g->max_depth && depth >= g->max_depth)) return id;
    /* Pure node: compare against the data's own scale. */
    if (sse <= 1e-12 * (sumsq + 1e-300)) return id;

    int best_f = -1;
    double best_gain = 0, best_thr = 0;
    mrpc_rng_permutation(g->rng, g->perm, g->d);
    size_t tried = 0;
    for (size_t pi = 0; pi < g->d && tried < g->max_features; pi++) {
        size_t f = g->perm[pi];
        for (size_t k = 0; k < m; k++) keys[k] = (sort_key){g->x[rows[k] * g->d + f], rows[k]};
        qsort(keys, m, sizeof *keys, cmp_key);
        if (keys[m - 1].v - keys[0].v <= 1e-7) continue; /* constant here: does not count as tried */
        tried++;
        double ls = 0, lsq = 0;
        for (size_t k = 0; k + 1 < m; k++) {
            double v = g->y[keys[k].row];
            ls += v;
            lsq += v * v;
            size_t nl = k + 1, nr = m - nl;
            if (keys[k + 1].v - keys[k].v <= 1e-7) continue;
            if (nl < g->min_leaf || nr < g->min_leaf) continue;
            double rs = sum - ls, rsq = sumsq - lsq;
            double sse_l = lsq - ls * ls / (double)nl, sse_r = rsq - rs * rs / (double)nr;
            double gain = sse - sse_l - sse_r;
            if (gain > best_gain + 1e-12 * sse) {
                best_gain = gain;
                best_f = (int)f;
                best_thr = 0.5 * (keys[k].v + keys[k + 1].v);
            }
        }
    }
    if (best_f < 0) return id;

    /* Partition rows in place: left (< thr) first. */
    size_t nl = 0;
    for (size_t k = 0; k < m; k++) {
        if (g->x[rows[k] * g->d + (size_t)best_f] <= best_thr) {
            size_t t = rows[nl];
            rows[nl] = rows[k];
            rows[k] = t;
            nl++;
        }
    }
    if (nl == 0 || nl == m) return id; /* cannot happen with a midpoint threshold; stay safe */
    g->gain[best_f] += best_gain;
    g->nodes[id].feature = best_f;
    g->nodes[id].threshold = best_thr;
    size_t l = grow(g, rows, nl, depth + 1, keys);
    if (l == (size_t)-1) return l;
    size_t r = grow(g, rows + nl, m - nl, depth + 1, keys);
    if (r == (size_t)-1) return r;
    g->nodes[id].left = l;
    g->nodes[id].right = r;
    return id;
}

static double predict(const tree_node *nodes, const double *xrow) {
    size_t i = 0;
    while (nodes[i].feature >= 0) i = xrow[nodes[i].feature] <= nodes[i].threshold ? nodes[i].left : nodes[i].right;
    return nodes[i].value;
}

void mrpc_forest_options_default(mrpc_forest_options *opt) {
    memset(opt, 0, sizeof *opt);
    opt->n_trees = 64;
    opt->max_features = 0;
    opt->min_samples_leaf = 1;
    opt->max_depth = 0;
    opt->bootstrap = 1;
    opt->seed = 20240917;
}

mrpc_status mrpc_forest_importance(const double *x, const double *y, size_t n, size_t d,
                                   const mrpc_forest_options *opt_in, double *importance, mrpc_forest_result *result,
                                   mrpc_error *err) {
    mrpc_forest_options opt;
    if (opt_in) opt = *opt_in;
    else mrpc_forest_options_default(&opt);
    if (result) {
        result->oob_r2 = NAN;
        result->n_oob = 0;
    }
    if (n < 2 || d == 0) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "a forest needs at least 2 rows and 1 feature");
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(x[i])) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "feature value %zu is not finite", i);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i])) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "target %zu is not finite", i);
    if (opt.n_trees == 0) opt.n_trees = 1;
    if (opt.max_features == 0) opt.max_features = (d + 2) / 3;
    if (opt.max_features > d) opt.max_features = d;
    if (opt.min_samples_leaf == 0) opt.min_samples_leaf = 1;

    grower g = {.x = x, .y = y, .n = n, .d = d, .max_features = opt.max_features, .min_leaf = opt.min_samples_leaf,
                .max_depth = opt.max_depth};
    mrpc_rng rng;
    mrpc_rng_init(&rng, opt.seed, MRPC_RNG_BOOTSTRAP, 100);
    g.rng = &rng;
    g.gain = calloc(d, sizeof *g.gain);
    g.perm = malloc(d * sizeof *g.perm);
    size_t *rows = malloc(n * sizeof *rows);
    sort_key *keys = malloc(n * sizeof *keys);
    unsigned char *in_bag = malloc(n);
    double *oob_sum = calloc(n, sizeof *oob_sum);
    size_t *oob_cnt = calloc(n, sizeof *oob_cnt);
    double *total = calloc(d, sizeof *total);
    mrpc_status st = MRPC_OK;
    if (!g.gain || !g.perm || !rows || !keys || !in_bag || !oob_sum || !oob_cnt || !total) {
        st = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory for the forest");
        goto done;
    }
    for (size_t t = 0; t < opt.n_trees; t++) {
        memset(in_bag, 0, n);
        for (size_t i = 0; i < n; i++) {
            rows[i] = opt.bootstrap ? (size_t)mrpc_rng_below(&rng, n) : i;
            in_bag[rows[i]] = 1;
        }
        memset(g.gain, 0, d * sizeof *g.gain);
        g.n_nodes = 0;
        (void)grow(&g, rows, n, 0, keys);
        if (g.failed) {
            st = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory growing a tree");
            goto done;
        }
        double s = 0;
        for (size_t f = 0; f < d; f++) s += g.gain[f];
        if (s > 0) {
            for (size_t f = 0; f < d; f++) total[f] += g.gain[f] / s;
        }
        if (opt.bootstrap) {
            for (size_t i = 0; i < n; i++) {
                if (in_bag[i]) continue;
                oob_sum[i] += predict(g.nodes, x + i * d);
                oob_cnt[i]++;
            }
        }
    }
    double s = 0;
    for (size_t f = 0; f < d; f++) s += total[f];
    for (size_t f = 0; f < d; f++) importance[f] = s > 0 ? total[f] / s : 0.0;

    if (result && opt.bootstrap) {
        double ym = 0;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (oob_cnt[i]) {
                ym += y[i];
                k++;
            }
        if (k >= 2) {
            ym /= (double)k;
            double ss_res = 0, ss_tot = 0;
            for (size_t i = 0; i < n; i++) {
                if (!oob_cnt[i]) continue;
                double p = oob_sum[i] / (double)oob_cnt[i];
                ss_res += (y[i] - p) * (y[i] - p);
                ss_tot += (y[i] - ym) * (y[i] - ym);
            }
            result->n_oob = k;
            result->oob_r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : NAN;
        }
    }
done:
    free(g.nodes);
    free(g.gain);
    free(g.perm);
    free(rows);
    free(keys);
    free(in_bag);
    free(oob_sum);
    free(oob_cnt);
    free(total);
    return st;
}

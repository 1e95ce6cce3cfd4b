/* stats.c — McNemar, bootstrap, correlations, order statistics (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* ln(a + b) from ln a and ln b. */
static double log_add(double la, double lb) {
    if (la == -INFINITY) return lb;
    if (lb == -INFINITY) return la;
    double hi = la > lb ? la : lb, lo = la > lb ? lb : la;
    return hi + log1p(exp(lo - hi));
}

double mrpc_stats_log_binom_cdf_half(uint64_t k, uint64_t n) {
    if (k >= n) return 0.0;
    double ln_n1 = lgamma((double)n + 1.0);
    double acc = -INFINITY;
    for (uint64_t i = 0; i <= k; i++) {
        double lc = ln_n1 - lgamma((double)i + 1.0) - lgamma((double)(n - i) + 1.0);
        acc = log_add(acc, lc);
    }
    return acc + (double)n * log(0.5);
}

double mrpc_stats_mcnemar_p(uint64_t b, uint64_t c) {
    uint64_t n = b + c;
    if (n == 0) return 1.0;
    uint64_t k = b < c ? b : c;
    /* For b == c the two tails overlap at the centre; 2 P(X <= n/2) >= 1 and is clipped. */
    double p = 2.0 * exp(mrpc_stats_log_binom_cdf_half(k, n));
    return p > 1.0 ? 1.0 : p;
}

mrpc_status mrpc_stats_mcnemar(const int32_t *a, const int32_t *b, const int32_t *labels, size_t n,
                               mrpc_stats_mcnemar_result *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    if (n == 0 || !a || !b || !labels)
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "McNemar's test needs paired predictions");
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        int ra = a[i] == labels[i], rb = b[i] == labels[i];
        out->correct_a += (size_t)ra;
        out->correct_b += (size_t)rb;
        if (ra && !rb) out->only_a++;
        if (rb && !ra) out->only_b++;
    }
    out->p = mrpc_stats_mcnemar_p(out->only_a, out->only_b);
    return MRPC_OK;
}

double mrpc_stats_accuracy(const int32_t *pred, const int32_t *labels, size_t n) {
    if (n == 0) return NAN;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += pred[i] == labels[i];
    return (double)ok / (double)n;
}

/* F1 of class 1 from the confusion counts. */
static double f1_counts(size_t tp, size_t fp, size_t fn) {
    size_t den = 2 * tp + fp + fn;
    return den ? 2.0 * (double)tp / (double)den : 0.0;
}

double mrpc_stats_f1(const int32_t *pred, const int32_t *labels, size_t n) {
    size_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        tp += pred[i] == 1 && labels[i] == 1;
        fp += pred[i] == 1 && labels[i] != 1;
        fn += pred[i] != 1 && labels[i] == 1;
    }
    return f1_counts(tp, fp, fn);
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    if (isnan(a)) return isnan(b) ? 0 : 1;
    if (isnan(b)) return -1;
    return (a > b) - (a < b);
}

void mrpc_stats_sort(double *x, size_t n) {
    if (n > 1) qsort(x, n, sizeof *x, cmp_double);
}

double mrpc_stats_percentile_sorted(const double *sorted, size_t n, double q) {
    if (n == 0) return NAN;
    if (q <= 0) return sorted[0];
    if (q >= 100) return sorted[n - 1];
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double frac = pos - (double)lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

static mrpc_status check_boot_args(size_t n, size_t n_resamples, double level, mrpc_error *err) {
    if (n == 0) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "bootstrap of an empty sample");
    if (n_resamples < 2)
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "bootstrap needs at least 2 resamples");
    if (!(level > 0 && level < 1))
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "confidence level %g is not in (0, 1)", level);
    return MRPC_OK;
}

static void fill_ci(mrpc_stats_ci *ci, double estimate, double *dist, size_t n_resamples, double level) {
    mrpc_stats_sort(dist, n_resamples);
    ci->estimate = estimate;
    ci->level = level;
    ci->n_resamples = n_resamples;
    ci->low = mrpc_stats_percentile_sorted(dist, n_resamples, 50.0 * (1.0 - level));
    ci->high = mrpc_stats_percentile_sorted(dist, n_resamples, 50.0 * (1.0 + level));
}

mrpc_status mrpc_stats_bootstrap_run(const int32_t *pred, const int32_t *labels, size_t n, size_t n_resamples,
                                     uint64_t seed, double level, mrpc_stats_ci *acc, mrpc_stats_ci *f1, double *dist_acc,
                                     mrpc_error *err) {
    mrpc_status st = check_boot_args(n, n_resamples, level, err);
    if (st != MRPC_OK) return st;
    double *da = malloc(n_resamples * sizeof *da), *df = malloc(n_resamples * sizeof *df);
    if (!da || !df) {
        free(da);
        free(df);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory for %zu resamples", n_resamples);
    }
    mrpc_rng rng;
    mrpc_rng_init(&rng, seed, MRPC_RNG_BOOTSTRAP, 0);
    for (size_t r = 0; r < n_resamples; r++) {
        size_t ok = 0, tp = 0, fp = 0, fn = 0;
        for (size_t i = 0; i < n; i++) {
            size_t j = (size_t)mrpc_rng_below(&rng, n);
            ok += pred[j] == labels[j];
            tp += pred[j] == 1 && labels[j] == 1;
            fp += pred[j] == 1 && labels[j] != 1;
            fn += pred[j] != 1 && labels[j] == 1;
        }
        da[r] = (double)ok / (double)n;
        df[r] = f1_counts(tp, fp, fn);
    }
    if (acc) fill_ci(acc, mrpc_stats_accuracy(pred, labels, n), da, n_resamples, level);
    if (f1) fill_ci(f1, mrpc_stats_f1(pred, labels, n), df, n_resamples, level);
    if (dist_acc) {
        if (!acc) mrpc_stats_sort(da, n_resamples);
        memcpy(dist_acc, da, n_resamples * sizeof *da);
    }
    free(da);
    free(df);
    return MRPC_OK;
}

mrpc_status mrpc_stats_bootstrap_diff(const int32_t *a, const int32_t *b, const int32_t *labels, size_t n,
                                      size_t n_resamples, uint64_t seed, double level, mrpc_stats_ci *diff,
                                      mrpc_error *err) {
    mrpc_status st = check_boot_args(n, n_resamples, level, err);
    if (st != MRPC_OK) return st;
    double *d = malloc(n_resamples * sizeof *d);
    if (!d) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory for %zu resamples", n_resamples);
    mrpc_rng rng;
    mrpc_rng_init(&rng, seed, MRPC_RNG_BOOTSTRAP, 1);
    for (size_t r = 0; r < n_resamples; r++) {
        long delta = 0;
        for (size_t i = 0; i < n; i++) {
            size_t j = (size_t)mrpc_rng_below(&rng, n);
            delta += (long)(a[j] == labels[j]) - (long)(b[j] == labels[j]);
        }
        d[r] = (double)delta / (double)n;
    }
    double est = mrpc_stats_accuracy(a, labels, n) - mrpc_stats_accuracy(b, labels, n);
    fill_ci(diff, est, d, n_resamples, level);
    free(d);
    return MRPC_OK;
}

double mrpc_stats_mean(const double *x, size_t n) {
    if (n == 0) return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s / (double)n;
}

double mrpc_stats_std(const double *x, size_t n) {
    if (n < 2) return NAN;
    double m = mrpc_stats_mean(x, n), s = 0;
    for (size_t i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (double)(n - 1));
}

double mrpc_stats_pearson(const double *x, const double *y, size_t n) {
    if (n < 2) return NAN;
    double mx = mrpc_stats_mean(x, n), my = mrpc_stats_mean(y, n);
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (sxx <= 0 || syy <= 0) return NAN;
    double r = sxy / sqrt(sxx * syy);
    return r > 1 ? 1 : (r < -1 ? -1 : r);
}

typedef struct idx_val {
    double v;
    size_t i;
} idx_val;

static int cmp_idx_val(const void *pa, const void *pb) {
    const idx_val *a = pa, *b = pb;
    if (a->v != b->v) return a->v < b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

mrpc_status mrpc_stats_ranks(const double *x, size_t n, double *ranks, mrpc_error *err) {
    if (n == 0) return MRPC_OK;
    idx_val *t = malloc(n * sizeof *t);
    if (!t) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory for ranks");
    for (size_t i = 0; i < n; i++) t[i] = (idx_val){x[i], i};
    qsort(t, n, sizeof *t, cmp_idx_val);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && t[j + 1].v == t[i].v) j++;
        double r = 0.5 * (double)(i + j) + 1.0;
        for (size_t k = i; k <= j; k++) ranks[t[k].i] = r;
        i = j + 1;
    }
    free(t);
    return MRPC_OK;
}

mrpc_status mrpc_stats_spearman(const double *x, const double *y, size_t n, double *out, mrpc_error *err) {
    *out = NAN;
    if (n < 2) return MRPC_OK;
    double *rx = malloc(n * sizeof *rx), *ry = malloc(n * sizeof *ry);
    mrpc_status st = MRPC_OK;
    if (!rx || !ry) {
        st = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory for ranks");
    } else if ((st = mrpc_stats_ranks(x, n, rx, err)) == MRPC_OK && (st = mrpc_stats_ranks(y, n, ry, err)) == MRPC_OK) {
        *out = mrpc_stats_pearson(rx, ry, n);
    }
    free(rx);
    free(ry);
    return st;
}

double mrpc_stats_expected_max(const double *sorted, size_t n, size_t k) {
    if (n == 0 || k == 0) return NAN;
    /* ((i+1)/n)^k - (i/n)^k, in a form that stays accurate for large k. */
    double e = 0, prev = 0;
    for (size_t i = 0; i < n; i++) {
        double cur = pow((double)(i + 1) / (double)n, (double)k);
        e += sorted[i] * (cur - prev);
        prev = cur;
    }
    return e;
}

/* test_analysis_stats.c — analysis/stats.c and importance.c against scipy, numpy and sklearn
 * (numbers from stats_reference.py, run with /usr/bin/python3), plus properties that need
 * no reference: determinism, paired counts, forests that must find the one feature that matters. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "importance.h"
#include "run_python.h"
#include "stats.h"
#include "strutil.h"
#include "testutil.h"

/* Splits `line` at spaces in place; returns the number of tokens (at most max). */
static size_t tokens(char *line, char **tok, size_t max) {
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save)) tok[n++] = t;
    return n;
}

static double num(const char *s) {
    double v = NAN;
    if (!mrpc_parse_f64(s, &v)) CHECK(0, "not a number: %s", s);
    return v;
}

static size_t n_checked[16];

static void check_line(char *line) {
    enum { MAXT = 30000 };
    static char *tok[MAXT];
    size_t nt = tokens(line, tok, MAXT);
    if (nt == 0) return;
    const char *kind = tok[0];
    if (strcmp(kind, "mcnemar") == 0 && nt == 4) {
        uint64_t b = (uint64_t)num(tok[1]), c = (uint64_t)num(tok[2]);
        double want = num(tok[3]);
        CHECK_CLOSE(mrpc_stats_mcnemar_p(b, c), want, 1e-15, 1e-10, "McNemar p vs scipy binomtest");
        /* The same through predictions: b examples only A right, c only B right, 50 both right, 20 both wrong. */
        size_t n = (size_t)(b + c) + 70;
        int32_t *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb), *lab = malloc(n * sizeof *lab);
        size_t i = 0;
        for (uint64_t k = 0; k < b; k++, i++) lab[i] = (int32_t)(k % 2), pa[i] = lab[i], pb[i] = 1 - lab[i];
        for (uint64_t k = 0; k < c; k++, i++) lab[i] = (int32_t)(k % 2), pa[i] = 1 - lab[i], pb[i] = lab[i];
        for (int k = 0; k < 50; k++, i++) lab[i] = 1, pa[i] = 1, pb[i] = 1;
        for (int k = 0; k < 20; k++, i++) lab[i] = 0, pa[i] = 1, pb[i] = 1;
        mrpc_stats_mcnemar_result m;
        mrpc_error err = {0};
        CHECK_OK(mrpc_stats_mcnemar(pa, pb, lab, n, &m, &err), &err);
        CHECK(m.only_a == b && m.only_b == c, "discordant counts %zu %zu, want %llu %llu", m.only_a, m.only_b,
              (unsigned long long)b, (unsigned long long)c);
        CHECK(m.correct_a == b + 50 && m.correct_b == c + 50, "correct counts %zu %zu", m.correct_a, m.correct_b);
        CHECK_CLOSE(m.p, want, 1e-15, 1e-10, "McNemar p through predictions");
        free(pa);
        free(pb);
        free(lab);
        n_checked[0]++;
    } else if (strcmp(kind, "logcdf") == 0 && nt == 4) {
        double got = mrpc_stats_log_binom_cdf_half((uint64_t)num(tok[1]), (uint64_t)num(tok[2]));
        CHECK_CLOSE(got, num(tok[3]), 1e-10, 1e-10, "log binomial cdf vs scipy");
        n_checked[1]++;
    } else if ((strcmp(kind, "pearson") == 0 || strcmp(kind, "spearman") == 0) && nt >= 3) {
        size_t n = (size_t)num(tok[1]);
        if (nt != 3 + 2 * n) {
            CHECK(0, "malformed %s line", kind);
            return;
        }
        double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        for (size_t k = 0; k < n; k++) x[k] = num(tok[2 + k]), y[k] = num(tok[2 + n + k]);
        double want = num(tok[2 + 2 * n]), got;
        if (kind[0] == 'p') {
            got = mrpc_stats_pearson(x, y, n);
            n_checked[2]++;
        } else {
            mrpc_error err = {0};
            CHECK_OK(mrpc_stats_spearman(x, y, n, &got, &err), &err);
            n_checked[3]++;
        }
        CHECK_CLOSE(got, want, 1e-12, 1e-10, kind);
        free(x);
        free(y);
    } else if (strcmp(kind, "percentile") == 0 && nt >= 4) {
        size_t n = (size_t)num(tok[1]);
        double q = num(tok[2]);
        if (nt != 4 + n) {
            CHECK(0, "malformed percentile line");
            return;
        }
        double *x = malloc(n * sizeof *x);
        for (size_t k = 0; k < n; k++) x[k] = num(tok[3 + k]);
        CHECK_CLOSE(mrpc_stats_percentile_sorted(x, n, q), num(tok[3 + n]), 1e-15, 1e-12, "percentile vs numpy");
        free(x);
        n_checked[4]++;
    } else if (strcmp(kind, "expmax") == 0 && nt >= 4) {
        size_t n = (size_t)num(tok[1]), k = (size_t)num(tok[2]);
        double *x = malloc(n * sizeof *x);
        for (size_t i = 0; i < n; i++) x[i] = num(tok[3 + i]);
        CHECK_CLOSE(mrpc_stats_expected_max(x, n, k), num(tok[3 + n]), 1e-12, 1e-10, "expected max of k draws");
        free(x);
        n_checked[5]++;
    } else if (strcmp(kind, "bootci") == 0) {
        size_t n = (size_t)num(tok[1]);
        int32_t *p = malloc(n * sizeof *p), *l = malloc(n * sizeof *l);
        for (size_t i = 0; i < n; i++) p[i] = (int32_t)num(tok[2 + i]), l[i] = (int32_t)num(tok[2 + n + i]);
        double lo = num(tok[2 + 2 * n]), hi = num(tok[3 + 2 * n]);
        mrpc_stats_ci acc, f1, acc2;
        mrpc_error err = {0};
        double *dist = malloc(10000 * sizeof *dist);
        CHECK_OK(mrpc_stats_bootstrap_run(p, l, n, 10000, 7, 0.95, &acc, &f1, dist, &err), &err);
        /* Different random streams: agree within the Monte Carlo error of a 2.5% quantile (~0.002). */
        CHECK_CLOSE(acc.low, lo, 0.006, 0, "bootstrap CI low vs scipy.stats.bootstrap");
        CHECK_CLOSE(acc.high, hi, 0.006, 0, "bootstrap CI high vs scipy.stats.bootstrap");
        CHECK_CLOSE(acc.estimate, mrpc_stats_accuracy(p, l, n), 0, 0, "estimate is the sample accuracy");
        CHECK(acc.low < acc.estimate && acc.estimate < acc.high, "CI [%g, %g] holds %g", acc.low, acc.high, acc.estimate);
        CHECK(f1.low < f1.estimate && f1.estimate < f1.high, "F1 CI [%g, %g] holds %g", f1.low, f1.high, f1.estimate);
        CHECK_CLOSE(acc.low, mrpc_stats_percentile_sorted(dist, 10000, 2.5), 0, 0, "CI low is the 2.5th percentile");
        CHECK_CLOSE(acc.high, mrpc_stats_percentile_sorted(dist, 10000, 97.5), 0, 0, "CI high is the 97.5th percentile");
        /* Same seed, same interval; another seed, a slightly different one. */
        CHECK_OK(mrpc_stats_bootstrap_run(p, l, n, 10000, 7, 0.95, &acc2, NULL, NULL, &err), &err);
        CHECK(acc2.low == acc.low && acc2.high == acc.high, "bootstrap is deterministic for a seed");
        /* Paired difference of a run with itself is exactly 0; with a worse copy it is positive. */
        mrpc_stats_ci d;
        CHECK_OK(mrpc_stats_bootstrap_diff(p, p, l, n, 2000, 7, 0.95, &d, &err), &err);
        CHECK(d.low == 0 && d.high == 0 && d.estimate == 0, "self difference [%g, %g]", d.low, d.high);
        int32_t *worse = malloc(n * sizeof *worse);
        memcpy(worse, p, n * sizeof *p);
        size_t flipped = 0;
        for (size_t i = 0; i < n && flipped < 40; i++)
            if (worse[i] == l[i]) worse[i] = 1 - l[i], flipped++;
        CHECK_OK(mrpc_stats_bootstrap_diff(p, worse, l, n, 2000, 7, 0.95, &d, &err), &err);
        CHECK_CLOSE(d.estimate, 40.0 / (double)n, 1e-15, 0, "paired difference estimate");
        CHECK(d.low > 0, "40 flipped examples give a CI above 0: [%g, %g]", d.low, d.high);
        CHECK(mrpc_stats_bootstrap_run(p, l, 0, 100, 1, 0.95, &acc, NULL, NULL, &err) == MRPC_ERR_INVALID, "n = 0 fails");
        CHECK(mrpc_stats_bootstrap_run(p, l, n, 100, 1, 1.5, &acc, NULL, NULL, &err) == MRPC_ERR_INVALID, "level 1.5 fails");
        free(worse);
        free(dist);
        free(p);
        free(l);
        n_checked[6]++;
    } else if (strcmp(kind, "tree") == 0) {
        size_t n = (size_t)num(tok[1]), d = (size_t)num(tok[2]);
        double *x = malloc(n * d * sizeof *x), *y = malloc(n * sizeof *y), want[8], got[8];
        for (size_t i = 0; i < n * d; i++) x[i] = num(tok[3 + i]);
        for (size_t i = 0; i < n; i++) y[i] = num(tok[3 + n * d + i]);
        for (size_t k = 0; k < d; k++) want[k] = num(tok[3 + n * d + n + k]);
        mrpc_forest_options o;
        mrpc_forest_options_default(&o);
        o.n_trees = 1;
        o.bootstrap = 0;
        o.max_features = d;
        o.max_depth = 4;
        o.min_samples_leaf = 5;
        mrpc_error err = {0};
        mrpc_forest_result res;
        CHECK_OK(mrpc_forest_importance(x, y, n, d, &o, got, &res, &err), &err);
        for (size_t k = 0; k < d; k++) CHECK_CLOSE(got[k], want[k], 1e-9, 1e-7, "tree importance vs sklearn");
        CHECK(isnan(res.oob_r2), "no OOB estimate without bootstrap");
        free(x);
        free(y);
        n_checked[7]++;
    } else {
        CHECK(0, "unknown reference line kind %s", kind);
    }
}

static void forest_properties(void) {
    enum { N = 60, D = 4 };
    double x[N * D], y[N], imp[D];
    uint64_t s = 12345;
    for (size_t i = 0; i < N * D; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (double)(s >> 11) / 9007199254740992.0;
    }
    for (size_t i = 0; i < N; i++) y[i] = 0.85 + 0.05 * x[i * D + 2] * x[i * D + 2]; /* only feature 2 matters */
    mrpc_error err = {0};
    mrpc_forest_result res;
    CHECK_OK(mrpc_forest_importance(x, y, N, D, NULL, imp, &res, &err), &err);
    double sum = 0;
    for (int k = 0; k < D; k++) sum += imp[k];
    CHECK_CLOSE(sum, 1.0, 1e-12, 0, "importances sum to 1");
    CHECK(imp[2] > 0.7, "the one feature that matters gets most importance: %g %g %g %g", imp[0], imp[1], imp[2], imp[3]);
    CHECK(res.oob_r2 > 0.7, "a noiseless one-feature target is explained out of bag: R2 = %g", res.oob_r2);
    double imp2[D];
    CHECK_OK(mrpc_forest_importance(x, y, N, D, NULL, imp2, NULL, &err), &err);
    CHECK(memcmp(imp, imp2, sizeof imp) == 0, "the forest is deterministic for a seed");
    /* Pure noise: the forest must say it explains little. */
    for (size_t i = 0; i < N; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        y[i] = (double)(s >> 11) / 9007199254740992.0;
    }
    CHECK_OK(mrpc_forest_importance(x, y, N, D, NULL, imp, &res, &err), &err);
    CHECK(res.oob_r2 < 0.2, "noise is not explained out of bag: R2 = %g", res.oob_r2);
    /* Constant target: no split, all zero. */
    for (size_t i = 0; i < N; i++) y[i] = 0.84;
    CHECK_OK(mrpc_forest_importance(x, y, N, D, NULL, imp, &res, &err), &err);
    CHECK(imp[0] == 0 && imp[1] == 0 && imp[2] == 0 && imp[3] == 0, "constant target gives zero importance");
    y[3] = NAN;
    CHECK(mrpc_forest_importance(x, y, N, D, NULL, imp, NULL, &err) == MRPC_ERR_INVALID, "NaN target is refused");
    CHECK(mrpc_forest_importance(x, y, 1, D, NULL, imp, NULL, &err) == MRPC_ERR_INVALID, "one row is refused");
}

int main(void) {
    /* Properties without a reference. */
    CHECK(mrpc_stats_mcnemar_p(0, 0) == 1.0, "no discordant pair: p = 1");
    CHECK(mrpc_stats_mcnemar_p(40000, 40000) == 1.0, "balanced huge counts: p = 1");
    double p = mrpc_stats_mcnemar_p(100000, 101000);
    CHECK(p > 0 && p < 1 && isfinite(p), "large counts stay finite: %g", p);
    CHECK(mrpc_stats_mcnemar_p(0, 5000) >= 0, "tiny p does not go negative or NaN");
    double r[5];
    double xr[5] = {3, 1, 3, 2, 3};
    mrpc_error err = {0};
    CHECK_OK(mrpc_stats_ranks(xr, 5, r, &err), &err);
    CHECK(r[0] == 4 && r[1] == 1 && r[2] == 4 && r[3] == 2 && r[4] == 4, "average ranks of ties");
    CHECK(isnan(mrpc_stats_pearson(xr, (double[]){1, 1, 1, 1, 1}, 5)), "constant side: NaN correlation");
    CHECK(isnan(mrpc_stats_std(xr, 1)), "std of one value is NaN");
    CHECK_CLOSE(mrpc_stats_std((double[]){0.84, 0.85, 0.86}, 3), 0.01, 1e-12, 0, "sample std (ddof 1)");
    forest_properties();

    char ref[4096];
    snprintf(ref, sizeof ref, "%s/stats_reference.txt", mrpc_test_tmpdir());
    int rc = run_python("stats_reference.py", "import numpy, scipy, sklearn", ref, (char *)NULL);
    CHECK(rc == 0, "stats_reference.py exited %d", rc);
    char *text = NULL;
    size_t size = 0;
    if (rc == 0 && mrpc_file_read_all(ref, 0, &text, &size, &err) == MRPC_OK) {
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) check_line(line);
        free(text);
    }
    const char *what[8] = {"mcnemar", "logcdf", "pearson", "spearman", "percentile", "expmax", "bootci", "tree"};
    for (int k = 0; k < 8; k++) CHECK(n_checked[k] > 0, "no %s reference case was checked", what[k]);
    return mrpc_test_report();
}

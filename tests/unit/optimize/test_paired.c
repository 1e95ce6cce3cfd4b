/*
 * test_paired.c — the paired statistics of the confirm stage (optimize/paired.h) against
 * SciPy (scipy_paired_reference.py: mean, sd, t interval, ttest_rel, binomtest, exact
 * wilcoxon, t quantiles and CDF) and against closed forms that need no SciPy: Student's t
 * with 1 and 2 degrees of freedom, exact sign and signed-rank p-values counted by hand
 * (ties included), and the degenerate cases.
 */
#define _DEFAULT_SOURCE /* popen, M_PI */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "paired.h"
#include "testutil.h"

static size_t parse_values(char *s, double *out, size_t max) {
    size_t k = 0;
    for (char *tok = strtok(s, " \n"); tok && k < max; tok = strtok(NULL, " \n")) out[k++] = strtod(tok, NULL);
    return k;
}

/* Runs the SciPy script and checks every case; returns the script's exit code (77: no SciPy). */
static int against_scipy(void) {
    const char *src = getenv("MRPC_SOURCE_DIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/unit/optimize/scipy_paired_reference.py", src ? src : "../../..");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[8192];
    double level = 0, a[64], b[64];
    size_t n = 0, cases = 0, quantiles = 0, wilcoxon = 0;
    while (fgets(line, sizeof line, p)) {
        double v[140];
        if (strncmp(line, "case ", 5) == 0) {
            size_t k = parse_values(line + 5, v, 140);
            level = v[0];
            n = (size_t)v[1];
            if (k != 2 + 2 * n || n > 64) { CHECK(0, "bad case line"); break; }
            memcpy(a, v + 2, n * sizeof *a);
            memcpy(b, v + 2 + n, n * sizeof *b);
        } else if (strncmp(line, "want ", 5) == 0) {
            if (parse_values(line + 5, v, 140) != 8) { CHECK(0, "bad want line"); break; }
            mrpc_paired_result r;
            mrpc_error err = {0};
            if (!CHECK_OK(mrpc_paired_compare(a, b, n, level, &r, &err), &err)) continue;
            char what[64];
            snprintf(what, sizeof what, "case %zu (n %zu, level %g)", cases, n, level);
            CHECK(r.n == n && r.df == (double)(n - 1), "%s: n and df", what);
            CHECK_CLOSE(r.mean, v[0], 1e-15, 1e-12, what);
            CHECK_CLOSE(r.sd, v[1], 1e-15, 1e-10, what);
            CHECK_CLOSE(r.ci_low, v[2], 1e-13, 1e-9, what);
            CHECK_CLOSE(r.ci_high, v[3], 1e-13, 1e-9, what);
            CHECK_CLOSE(r.t, v[4], 1e-12, 1e-9, what);
            CHECK_CLOSE(r.p_t, v[5], 1e-13, 1e-9, what);
            CHECK_CLOSE(r.p_sign, v[6], 1e-14, 1e-12, what);
            if (!isnan(v[7])) {
                CHECK_CLOSE(r.p_wilcoxon, v[7], 1e-14, 1e-12, what);
                wilcoxon++;
            }
            cases++;
        } else if (strncmp(line, "tq ", 3) == 0) {
            if (parse_values(line + 3, v, 140) != 4) { CHECK(0, "bad tq line"); break; }
            char what[64];
            snprintf(what, sizeof what, "t quantile %g, df %g", v[0], v[1]);
            CHECK_CLOSE(mrpc_student_t_quantile(v[0], v[1]), v[2], 1e-12, 1e-10, what);
            CHECK_CLOSE(mrpc_student_t_cdf(1.7, v[1]), v[3], 1e-14, 1e-12, what);
            quantiles++;
        }
    }
    int rc = pclose(p);
    int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    if (code == 0) {
        CHECK(cases == 12 && quantiles == 30, "every reference case was read (%zu cases, %zu quantiles)", cases, quantiles);
        CHECK(wilcoxon >= 6, "the exact signed-rank test was compared on cases without ties (%zu)", wilcoxon);
    }
    return code;
}

static void closed_forms(void) {
    /* df 1 is Cauchy, df 2 has F(t) = 1/2 + t / (2 sqrt(2 + t^2)). */
    for (double t = -30; t <= 30; t += 0.75) {
        CHECK_CLOSE(mrpc_student_t_cdf(t, 1), 0.5 + atan(t) / M_PI, 1e-14, 1e-12, "cauchy cdf");
        CHECK_CLOSE(mrpc_student_t_cdf(t, 2), 0.5 + t / (2 * sqrt(2 + t * t)), 1e-14, 1e-12, "t2 cdf");
    }
    for (double q = 0.01; q < 1; q += 0.07) {
        CHECK_CLOSE(mrpc_student_t_quantile(q, 1), tan(M_PI * (q - 0.5)), 1e-11, 1e-10, "cauchy quantile");
        double a = 4 * q * (1 - q);
        CHECK_CLOSE(mrpc_student_t_quantile(q, 2), (2 * q - 1) * sqrt(2 / a), 1e-11, 1e-10, "t2 quantile");
    }
    /* The table value every statistics book prints: t_{0.975, 4} = 2.776. */
    CHECK(fabs(mrpc_student_t_quantile(0.975, 4) - 2.776) < 5e-4, "t(0.975, 4) = 2.776");
    CHECK(isnan(mrpc_student_t_quantile(0, 3)) && isnan(mrpc_student_t_quantile(0.5, 0)), "bad arguments -> NaN");

    /* Five seeds all in favour: sign and signed-rank p = 2 / 2^5; the t interval by hand. */
    double a[5] = {0.85, 0.86, 0.84, 0.87, 0.85}, b[5] = {0.84, 0.84, 0.83, 0.84, 0.83};
    mrpc_paired_result r;
    mrpc_error err = {0};
    if (CHECK_OK(mrpc_paired_compare(a, b, 5, 0.95, &r, &err), &err)) {
        CHECK_CLOSE(r.p_sign, 0.0625, 1e-15, 1e-13, "sign test, 5 of 5");
        CHECK_CLOSE(r.p_wilcoxon, 0.0625, 1e-15, 1e-13, "signed rank, 5 of 5");
        CHECK(r.n_pos == 5 && r.n_neg == 0 && r.n_zero == 0, "signs");
        /* d = .01 .02 .01 .03 .02: mean .018, sd sqrt(.00028 / 4) */
        double sd = sqrt(0.00028 / 4);
        CHECK_CLOSE(r.mean, 0.018, 1e-15, 1e-12, "mean");
        CHECK_CLOSE(r.sd, sd, 1e-15, 1e-9, "sd");
        CHECK_CLOSE(r.ci_high - r.mean, mrpc_student_t_quantile(0.975, 4) * sd / sqrt(5), 1e-15, 1e-9, "half width");
    }
    /* Ties and a zero, counted by hand: d = 1, 1, 2 (ranks 1.5 1.5 3): W+ = 6 of {0,1.5,1.5,3,3,4.5,4.5,6}: p = 2/8. */
    double c[4] = {1, 1, 2, 5}, z[4] = {0, 0, 0, 5};
    if (CHECK_OK(mrpc_paired_compare(c, z, 4, 0.95, &r, &err), &err)) {
        CHECK(r.n == 4 && r.n_zero == 1 && r.n_pos == 3, "zero counted, not ranked");
        CHECK_CLOSE(r.p_wilcoxon, 0.25, 1e-15, 1e-13, "signed rank with ties");
        CHECK_CLOSE(r.p_sign, 0.25, 1e-15, 1e-13, "sign test 3 of 3");
    }
    /* d = 1, -1, 2: W+ = 4.5, P(W+ >= 4.5) = 3/8, P(W+ <= 4.5) = 7/8: p = 0.75. */
    double e[3] = {1, 0, 2}, f[3] = {0, 1, 0};
    if (CHECK_OK(mrpc_paired_compare(e, f, 3, 0.95, &r, &err), &err)) {
        CHECK_CLOSE(r.p_wilcoxon, 0.75, 1e-15, 1e-13, "signed rank, mixed signs with a tie");
        CHECK_CLOSE(r.p_sign, 1.0, 1e-15, 1e-13, "sign test 2 of 3");
    }
    /* Degenerate: identical runs; one pair; NaN pairs left out; a constant difference. */
    if (CHECK_OK(mrpc_paired_compare(a, a, 5, 0.95, &r, &err), &err)) {
        CHECK(r.mean == 0 && r.sd == 0 && r.p_t == 1 && r.p_sign == 1 && r.p_wilcoxon == 1 && r.n_zero == 5, "no difference");
    }
    if (CHECK_OK(mrpc_paired_compare(a, b, 1, 0.95, &r, &err), &err)) {
        CHECK(r.n == 1 && isnan(r.sd) && isnan(r.ci_low) && isnan(r.p_t), "one pair: no interval, no t-test");
    }
    double g[3] = {0.8, NAN, 0.9}, h[3] = {0.7, 0.8, INFINITY};
    if (CHECK_OK(mrpc_paired_compare(g, h, 3, 0.95, &r, &err), &err)) CHECK(r.n == 1, "pairs with a missing value are left out");
    double k[3] = {0.75, 0.5, 0.25}, l[3] = {0.5, 0.25, 0.0}; /* exact in binary */
    if (CHECK_OK(mrpc_paired_compare(k, l, 3, 0.95, &r, &err), &err)) {
        CHECK(r.p_t == 0 && isinf(r.t) && r.t > 0 && fabs(r.ci_low - r.ci_high) < 1e-15, "constant difference: p 0");
    }
    CHECK(mrpc_paired_compare(a, b, 5, 1.0, &r, &err) == MRPC_ERR_INVALID, "level 1 refused");
    CHECK(mrpc_paired_compare(a, b, 65, 0.95, &r, &err) == MRPC_ERR_INVALID, "more than 64 pairs refused");
}

int main(void) {
    closed_forms();
    int rc = against_scipy();
    if (rc == 77) {
        fprintf(stderr, "note: SciPy is not available to /usr/bin/python3; checked the closed forms only\n");
    } else {
        CHECK(rc == 0, "reference script ran (rc %d)", rc);
    }
    return mrpc_test_report();
}

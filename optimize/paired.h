/*
 * paired.h — statistics of paired differences d_i = a_i - b_i (the same seed for a
 * configuration and the baseline), for the confirm stage's answer (stages/confirm.h).
 *
 *  - mean, sample standard deviation (ddof 1) and the Student-t confidence interval of
 *    the mean difference, mean ± t_{(1+level)/2, n-1} · sd / sqrt(n);
 *  - the paired t-test, t = mean / (sd / sqrt(n)) with n - 1 degrees of freedom,
 *    two-sided p (scipy.stats.ttest_rel); sd = 0: p = 1 when the mean is 0, else 0;
 *  - the exact two-sided sign test over the non-zero differences
 *    (scipy.stats.binomtest(n_pos, n_pos + n_neg, 0.5));
 *  - the exact two-sided Wilcoxon signed-rank test: zero differences dropped (Wilcoxon's
 *    rule), tied |d| (equal to 1e-9 relative) get their average rank, and the p-value is the exact permutation
 *    distribution of the sum of positive ranks given those ranks (every sign equally
 *    likely). Without ties it equals scipy.stats.wilcoxon(..., method="exact").
 *
 * The t distribution is computed through the regularized incomplete beta function
 * (continued fraction, Numerical Recipes 6.4), |error| < 1e-12 for the df used here.
 * With 5 seeds no two-sided exact test can go below p = 2/32 = 0.0625: say so, do not
 * pretend.
 *
 * Pure functions: no state beyond the arguments.
 */
#ifndef MRPC_OPTIMIZE_PAIRED_H
#define MRPC_OPTIMIZE_PAIRED_H

#include <stddef.h>

#include "status.h"

/* Regularized incomplete beta I_x(a, b) for a, b > 0 and x in [0, 1]; NaN otherwise. */
double mrpc_incbeta(double a, double b, double x);

/* P(T <= t) for Student's t with df > 0 degrees of freedom. */
double mrpc_student_t_cdf(double t, double df);

/* The q-quantile (0 < q < 1) of Student's t with df > 0; NaN outside. */
double mrpc_student_t_quantile(double q, double df);

typedef struct mrpc_paired_result {
    size_t n;                  /* pairs (both values finite) */
    double mean, sd;           /* of the differences; sd NaN below 2 pairs */
    double level;              /* of the interval, e.g. 0.95 */
    double ci_low, ci_high;    /* t interval of the mean difference; NaN below 2 pairs */
    double t, df, p_t;         /* paired t-test; NaN below 2 pairs */
    size_t n_pos, n_neg, n_zero;
    double p_sign;             /* exact sign test; 1 without a non-zero difference */
    double p_wilcoxon;         /* exact signed-rank test; 1 without a non-zero difference */
} mrpc_paired_result;

/*
 * Compares a[i] with b[i] for i < n; pairs where either value is not finite are left
 * out. `level` in (0, 1). Fails with MRPC_ERR_INVALID for a bad level or n above 64,
 * MRPC_ERR_NOMEM when scratch cannot be allocated.
 */
mrpc_status mrpc_paired_compare(const double *a, const double *b, size_t n, double level, mrpc_paired_result *out,
                                mrpc_error *err);

#endif /* MRPC_OPTIMIZE_PAIRED_H */

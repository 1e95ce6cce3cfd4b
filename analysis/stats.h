/*
 * stats.h — the statistics mrpc-analyze uses to say whether an improvement is real.
 *
 *  - McNemar's exact test on paired predictions: with b = examples only run A gets
 *    right and c = examples only run B gets right, p = min(1, 2 P(X <= min(b, c)))
 *    for X ~ Binomial(b + c, 1/2) (two-sided; computed in log space, so it is exact
 *    for any count). Same number as scipy.stats.binomtest(min(b,c), b+c, 0.5).pvalue.
 *  - Percentile bootstrap over examples: resample the n validation examples with
 *    replacement B times from a fixed-seed MRPC_RNG_BOOTSTRAP stream and take the
 *    (1-level)/2 and (1+level)/2 percentiles (numpy's default "linear" rule) of the
 *    resampled accuracy / F1, or of the paired accuracy difference of two runs.
 *  - Pearson and Spearman correlation (Spearman = Pearson of average ranks, as scipy).
 *  - The expected maximum of k draws with replacement from an empirical sample (the
 *    random-search reference of the optimisation-progress figure).
 *
 * All functions are pure: no state beyond their arguments.
 */
#ifndef MRPC_ANALYSIS_STATS_H
#define MRPC_ANALYSIS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* ln P(X <= k) for X ~ Binomial(n, 1/2); 0 when k >= n. */
double mrpc_stats_log_binom_cdf_half(uint64_t k, uint64_t n);

/* Two-sided exact McNemar p-value for discordant counts b and c (1 when b + c == 0). */
double mrpc_stats_mcnemar_p(uint64_t b, uint64_t c);

/* Result of comparing two runs' predictions on the same labelled examples. */
typedef struct mrpc_stats_mcnemar_result {
    size_t n;          /* examples */
    size_t correct_a;  /* examples run A gets right */
    size_t correct_b;
    size_t only_a;     /* b: A right, B wrong */
    size_t only_b;     /* c: A wrong, B right */
    double p;          /* exact two-sided p-value */
} mrpc_stats_mcnemar_result;

/*
 * Counts the discordant pairs of predictions `a` and `b` (each [n]) against `labels`
 * [n] and computes the exact p-value. Fails with MRPC_ERR_INVALID when n is 0.
 */
mrpc_status mrpc_stats_mcnemar(const int32_t *a, const int32_t *b, const int32_t *labels, size_t n,
                               mrpc_stats_mcnemar_result *out, mrpc_error *err);

/* Fraction of predictions equal to labels (NaN when n is 0). */
double mrpc_stats_accuracy(const int32_t *pred, const int32_t *labels, size_t n);

/* Binary F1 of class 1 (0 when there are no true or predicted positives, as sklearn). */
double mrpc_stats_f1(const int32_t *pred, const int32_t *labels, size_t n);

/* A point estimate with a confidence interval. */
typedef struct mrpc_stats_ci {
    double estimate; /* on the original sample */
    double low, high;
    double level;    /* e.g. 0.95 */
    size_t n_resamples;
} mrpc_stats_ci;

/*
 * Percentile bootstrap CIs of the accuracy and the F1 of one run's predictions
 * (either output may be NULL). `seed` keys the MRPC_RNG_BOOTSTRAP stream, so the
 * result is reproducible. When `dist_acc` is not NULL it receives the n_resamples
 * resampled accuracies, sorted (for tests). Fails for n == 0, n_resamples < 2 or a
 * level outside (0, 1); MRPC_ERR_NOMEM when scratch cannot be allocated.
 */
mrpc_status mrpc_stats_bootstrap_run(const int32_t *pred, const int32_t *labels, size_t n, size_t n_resamples,
                                     uint64_t seed, double level, mrpc_stats_ci *acc, mrpc_stats_ci *f1, double *dist_acc,
                                     mrpc_error *err);

/*
 * Paired percentile bootstrap CI of accuracy(a) - accuracy(b): the same resampled
 * examples for both runs. Same failures as mrpc_stats_bootstrap_run.
 */
mrpc_status mrpc_stats_bootstrap_diff(const int32_t *a, const int32_t *b, const int32_t *labels, size_t n,
                                      size_t n_resamples, uint64_t seed, double level, mrpc_stats_ci *diff,
                                      mrpc_error *err);

/* q-th percentile (q in [0, 100]) of an ascending sample, numpy's linear rule. NaN for n == 0. */
double mrpc_stats_percentile_sorted(const double *sorted, size_t n, double q);

/* Mean (NaN for n == 0) and sample standard deviation with ddof 1 (NaN for n < 2). */
double mrpc_stats_mean(const double *x, size_t n);
double mrpc_stats_std(const double *x, size_t n);

/* Pearson correlation; NaN when n < 2 or either side is constant. */
double mrpc_stats_pearson(const double *x, const double *y, size_t n);

/*
 * Average ranks (1-based; ties get the mean of their ranks) of x [n] into ranks [n].
 * MRPC_ERR_NOMEM when scratch cannot be allocated.
 */
mrpc_status mrpc_stats_ranks(const double *x, size_t n, double *ranks, mrpc_error *err);

/* Spearman rank correlation into *out (NaN when undefined). */
mrpc_status mrpc_stats_spearman(const double *x, const double *y, size_t n, double *out, mrpc_error *err);

/*
 * E[max of k independent draws with replacement] from the empirical distribution of
 * an ascending sample: sum_i sorted[i] * ((i+1)^k - i^k) / n^k. NaN for n == 0 or k == 0.
 */
double mrpc_stats_expected_max(const double *sorted, size_t n, size_t k);

/* Sorts doubles ascending in place (NaN last). */
void mrpc_stats_sort(double *x, size_t n);

#endif /* MRPC_ANALYSIS_STATS_H */

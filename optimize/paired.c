/* paired.c — statistics of paired differences (see paired.h). */
#define _DEFAULT_SOURCE /* lgamma_r: lgamma would write the global signgam */
#include "paired.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAIRED_MAX 64

static double log_beta(double a, double b) {
    int s;
    return lgamma_r(a, &s) + lgamma_r(b, &s) - lgamma_r(a + b, &s);
}

/* Continued fraction of I_x(a, b) by the modified Lentz method (Numerical Recipes 6.4). */
static double betacf(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-16;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < eps) break;
    }
    return h;
}

double mrpc_incbeta(double a, double b, double x) {
    if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0 && x <= 1.0)) return NAN;
    if (x == 0.0 || x == 1.0) return x;
    double front = exp(a * log(x) + b * log1p(-x) - log_beta(a, b));
    /* The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise. */
    if (x < (a + 1.0) / (a + b + 2.0)) return front * betacf(a, b, x) / a;
    return 1.0 - front * betacf(b, a, 1.0 - x) / b;
}

double mrpc_student_t_cdf(double t, double df) {
    if (!(df > 0.0) || isnan(t)) return NAN;
    if (isinf(t)) return t > 0 ? 1.0 : 0.0;
    /* P(|T| > |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2). */
    double tail = 0.5 * mrpc_incbeta(0.5 * df, 0.5, df / (df + t * t));
    return t > 0 ? 1.0 - tail : tail;
}

double mrpc_student_t_quantile(double q, double df) {
    if (!(q > 0.0 && q < 1.0) || !(df > 0.0)) return NAN;
    if (q == 0.5) return 0.0;
    if (q < 0.5) return -mrpc_student_t_quantile(1.0 - q, df);
    double lo = 0.0, hi = 1.0;
    while (mrpc_student_t_cdf(hi, df) < q && hi < 1e300) hi *= 2.0;
    for (int i = 0; i < 400 && hi - lo > 1e-15 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (mrpc_student_t_cdf(mid, df) < q) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Two-sided exact sign test: min(1, 2 P(X <= min(pos, neg))), X ~ Binomial(pos + neg, 1/2). */
static double sign_test(size_t pos, size_t neg) {
    size_t m = pos + neg, k = pos < neg ? pos : neg;
    if (m == 0) return 1.0;
    double sum = 0.0;
    for (size_t i = 0; i <= k; i++) {
        int s;
        sum += exp(lgamma_r((double)m + 1, &s) - lgamma_r((double)i + 1, &s) - lgamma_r((double)(m - i) + 1, &s) -
                   (double)m * log(2.0));
    }
    double p = 2.0 * sum;
    return p > 1.0 ? 1.0 : p;
}

static int cmp_abs(const void *pa, const void *pb) {
    double a = fabs(*(const double *)pa), b = fabs(*(const double *)pb);
    return a < b ? -1 : (a > b);
}

/* Exact signed-rank test over the non-zero differences d[0..m) (sorted here by |d|). */
static mrpc_status wilcoxon(double *d, size_t m, double *p, mrpc_error *err) {
    *p = 1.0;
    if (m == 0) return MRPC_OK;
    qsort(d, m, sizeof *d, cmp_abs);
    /* Doubled average ranks are integers: ties at positions i..j-1 (1-based i+1..j) get i+1+j. */
    long r2[PAIRED_MAX];
    long total = 0, w = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        /* Equal up to rounding: accuracies k/n differ in the last bits after a subtraction. */
        while (j < m && fabs(d[j]) - fabs(d[i]) <= 1e-9 * fabs(d[i])) j++;
        for (size_t k = i; k < j; k++) r2[k] = (long)(i + 1 + j);
        i = j;
    }
    for (size_t i = 0; i < m; i++) {
        total += r2[i];
        if (d[i] > 0) w += r2[i];
    }
    double *dist = calloc((size_t)total + 1, sizeof *dist);
    if (!dist) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    dist[0] = 1.0;
    long reach = 0;
    for (size_t i = 0; i < m; i++) {
        /* Each rank is positive or negative with probability 1/2. */
        for (long s = reach; s >= 0; s--) {
            double v = dist[s] * 0.5;
            dist[s] = v;
            dist[s + r2[i]] += v;
        }
        reach += r2[i];
    }
    double le = 0.0, ge = 0.0;
    for (long s = 0; s <= total; s++) {
        if (s <= w) le += dist[s];
        if (s >= w) ge += dist[s];
    }
    free(dist);
    double q = 2.0 * (le < ge ? le : ge);
    *p = q > 1.0 ? 1.0 : q;
    return MRPC_OK;
}

mrpc_status mrpc_paired_compare(const double *a, const double *b, size_t n, double level, mrpc_paired_result *out,
                                mrpc_error *err) {
    memset(out, 0, sizeof *out);
    out->mean = out->sd = out->ci_low = out->ci_high = out->t = out->df = out->p_t = NAN;
    out->p_sign = out->p_wilcoxon = 1.0;
    out->level = level;
    if (!(level > 0.0 && level < 1.0)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "level", "must be in (0, 1), got %g", level);
    }
    if (n > PAIRED_MAX) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "at most %d pairs, got %zu", PAIRED_MAX, n);
    }
    double d[PAIRED_MAX], nz[PAIRED_MAX];
    size_t m = 0, n_nz = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) continue;
        d[m] = a[i] - b[i];
        if (d[m] > 0) out->n_pos++;
        else if (d[m] < 0) out->n_neg++;
        else out->n_zero++;
        if (d[m] != 0) nz[n_nz++] = d[m];
        m++;
    }
    out->n = m;
    if (m == 0) return MRPC_OK;
    double sum = 0.0;
    for (size_t i = 0; i < m; i++) sum += d[i];
    out->mean = sum / (double)m;
    out->p_sign = sign_test(out->n_pos, out->n_neg);
    mrpc_status r = wilcoxon(nz, n_nz, &out->p_wilcoxon, err);
    if (r != MRPC_OK) return r;
    if (m < 2) return MRPC_OK;
    double ss = 0.0;
    for (size_t i = 0; i < m; i++) ss += (d[i] - out->mean) * (d[i] - out->mean);
    out->sd = sqrt(ss / (double)(m - 1));
    out->df = (double)(m - 1);
    double se = out->sd / sqrt((double)m);
    double tq = mrpc_student_t_quantile(0.5 * (1.0 + level), out->df);
    out->ci_low = out->mean - tq * se;
    out->ci_high = out->mean + tq * se;
    if (se > 0.0) {
        out->t = out->mean / se;
        out->p_t = 2.0 * mrpc_student_t_cdf(-fabs(out->t), out->df);
    } else {
        /* Every difference is the same: no spread to test against. */
        out->t = out->mean == 0.0 ? NAN : copysign(INFINITY, out->mean);
        out->p_t = out->mean == 0.0 ? 1.0 : 0.0;
    }
    return MRPC_OK;
}

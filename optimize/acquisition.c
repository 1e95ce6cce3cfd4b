/* acquisition.c — numerically safe log expected improvement (see acquisition.h). */
#include "acquisition.h"

#include <math.h>
#include <stdlib.h>

#define LOG_SQRT_2PI 0.91893853320467274178032973640562   /* log sqrt(2 pi) */
#define LOG_SQRT_PI_2 0.22579135264472743236309761494744  /* log sqrt(pi / 2) */
#define INV_SQRT2 0.70710678118654752440084436210485
#define INV_SQRT_2PI 0.39894228040143267793994605993438

/* log(1 - exp(a)) for a < 0, accurate on both sides of -log 2. */
static double log1mexp(double a) {
    return a > -0.6931471805599453 ? log(-expm1(a)) : log1p(-exp(a));
}

double mrpc_log_h(double z) {
    if (isnan(z)) return z;
    if (z > -1.0) {
        if (z > 40.0) return log(z); /* phi underflows, Phi = 1: h = z (to 1e-300 relative) */
        double phi = INV_SQRT_2PI * exp(-0.5 * z * z);
        double Phi = 0.5 * erfc(-z * INV_SQRT2);
        return log(phi + z * Phi);
    }
    if (z > -35.0) {
        /* erfcx(t) = exp(t^2) erfc(t) for t = -z/sqrt2 in (0.7, 24.8]: neither factor over- or
         * underflows here. a = log(|z| erfcx(t)) + log sqrt(pi/2) < 0. */
        double t = -z * INV_SQRT2;
        double erfcx = exp(t * t) * erfc(t);
        double a = log(-z * erfcx) + LOG_SQRT_PI_2;
        return -0.5 * z * z - LOG_SQRT_2PI + log1mexp(a);
    }
    if (isinf(z)) return -INFINITY;
    /* h(z) = phi(z) / z^2 * S, S = 1 - 3/z^2 + 15/z^4 - 105/z^6 + 945/z^8 - 10395/z^10
     * (asymptotic; the first omitted term is below 1e-17 relative for z < -35). */
    double w = 1.0 / (z * z);
    double s = 1.0 + w * (-3.0 + w * (15.0 + w * (-105.0 + w * (945.0 + w * -10395.0))));
    return -0.5 * z * z - LOG_SQRT_2PI - 2.0 * log(-z) + log(s);
}

double mrpc_log_ei(double mean, double var, double best) {
    if (!(var > 0.0)) {
        double imp = best - mean;
        return imp > 0.0 ? log(imp) : -INFINITY;
    }
    double sigma = sqrt(var);
    double z = (best - mean) / sigma;
    return log(sigma) + mrpc_log_h(z);
}

double mrpc_ei(double mean, double var, double best) {
    if (!(var > 0.0)) return best > mean ? best - mean : 0.0;
    double sigma = sqrt(var);
    double z = (best - mean) / sigma;
    return sigma * (INV_SQRT_2PI * exp(-0.5 * z * z) + z * 0.5 * erfc(-z * INV_SQRT2));
}

/* Insertion sort of ord by (b ascending, a ascending): n is a few hundred at most, and
 * it needs no comparison context (qsort has none). */
static void sort_lines(size_t n, const double *a, const double *b, size_t *ord) {
    for (size_t i = 0; i < n; i++) ord[i] = i;
    for (size_t i = 1; i < n; i++) {
        size_t t = ord[i];
        size_t j = i;
        while (j > 0 && (b[ord[j - 1]] > b[t] || (b[ord[j - 1]] == b[t] && a[ord[j - 1]] > a[t]))) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = t;
    }
}

double mrpc_log_kg_lines(size_t n, const double *a, const double *b, size_t *ord, size_t *env, double *c) {
    if (n < 2) return -INFINITY;
    sort_lines(n, a, b, ord);
    /* The upper envelope: env[0..k], line env[j] is on top for z in (c[j], c[j+1]). */
    size_t k = 0;
    env[0] = ord[0];
    c[0] = -INFINITY;
    for (size_t t = 1; t < n; t++) {
        size_t i = ord[t];
        for (;;) {
            size_t j = env[k];
            if (b[i] == b[j]) { /* same slope, a[i] >= a[j]: i dominates j */
                if (k == 0) { env[0] = i; c[0] = -INFINITY; goto next; }
                k--;
                continue;
            }
            double z = (a[j] - a[i]) / (b[i] - b[j]); /* where line i overtakes line j */
            if (k > 0 && z <= c[k]) { k--; continue; }
            env[++k] = i;
            c[k] = z;
            break;
        }
    next:;
    }
    if (k == 0) return -INFINITY;
    double terms_max = -INFINITY;
    for (size_t j = 1; j <= k; j++) {
        double t = log(b[env[j]] - b[env[j - 1]]) + mrpc_log_h(-fabs(c[j]));
        c[j - 1] = t; /* c[j] is no longer needed once read: reuse c for the terms */
        if (t > terms_max) terms_max = t;
    }
    if (!(terms_max > -INFINITY)) return -INFINITY;
    double s = 0.0;
    for (size_t j = 0; j < k; j++) s += exp(c[j] - terms_max);
    return terms_max + log(s);
}

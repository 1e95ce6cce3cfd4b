/* acquisition.c — numerically safe log expected improvement (see acquisition.h). */
#include "acquisition.h"

#include <math.h>

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

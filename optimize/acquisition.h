/*
 * acquisition.h — expected improvement in log form, computed so that it stays finite
 * and accurate where plain EI underflows to 0 (far from the incumbent, tiny sigma).
 *
 * For minimization, with posterior mean mu, standard deviation sigma and incumbent
 * f_best, z = (f_best - mu) / sigma and
 *
 *     EI = sigma * h(z),   h(z) = phi(z) + z Phi(z)
 *     log EI = log sigma + log h(z)
 *
 * log h is evaluated in three regimes (after Ament et al., "Unexpected improvements to
 * expected improvement", 2023): directly for z > -1; for -35 < z <= -1 as
 * -z^2/2 - log sqrt(2pi) + log(1 - z sqrt(pi/2) erfcx(-z/sqrt2)) with erfcx written as
 * exp(t^2) erfc(t) and log(1 - e^a) taken with expm1/log1p; and below that by the
 * asymptotic series h(z) = phi(z)/z^2 (1 - 3/z^2 + 15/z^4 - ...). The result is finite
 * for |z| < 1e154 (about -z^2/2 far out) and accurate to about 1e-12 relative.
 */
#ifndef MRPC_OPTIMIZE_ACQUISITION_H
#define MRPC_OPTIMIZE_ACQUISITION_H

#include <stddef.h>

/* log(phi(z) + z Phi(z)) for finite z; -inf for z = -inf, z for huge z. */
double mrpc_log_h(double z);

/*
 * log EI for minimization at a point with posterior mean `mean` and variance `var`
 * (>= 0), against the incumbent `best`. A variance of 0 gives log(max(best - mean, 0)),
 * i.e. -inf where no improvement is possible.
 */
double mrpc_log_ei(double mean, double var, double best);

/* Plain EI (for tests and reports): sigma * h(z); may underflow to 0. */
double mrpc_ei(double mean, double var, double best);

/*
 * log(E[max_i (a_i + b_i Z)] - max_i a_i) for Z ~ N(0, 1) and n >= 1 lines: the
 * knowledge-gradient value of a measurement whose outcome moves the (maximization-form)
 * posterior means a_i by b_i Z. Exact, by the upper envelope of the lines (Frazier,
 * Powell and Dayanik, "The knowledge-gradient policy for correlated normal beliefs",
 * INFORMS J. Computing 21, 2009, Algorithm 1): sort by slope, drop dominated lines,
 * then the value is sum over the envelope's breakpoints c_j of
 * (b_{j+1} - b_j) h(-|c_j|), summed here in log form with mrpc_log_h (finite far out
 * where the value underflows). -inf when every slope is equal (no information).
 * Scratch: ord [n] and env [n] indices, c [n] doubles.
 */
double mrpc_log_kg_lines(size_t n, const double *a, const double *b, size_t *ord, size_t *env, double *c);

#endif /* MRPC_OPTIMIZE_ACQUISITION_H */

/*
 * kg.h — the knowledge gradient for continuous parameters (KGCP) of a conditioned GP:
 * the expected improvement of the best posterior mean among the evaluated points
 * (and the candidate) that one more noisy observation at the candidate brings.
 *
 * Scott, Frazier and Powell, "The correlated knowledge gradient for simulation
 * optimization of continuous parameters using Gaussian process regression", SIAM J.
 * Optim. 21 (2011); called AKG in Picheny et al., "A benchmark of kriging-based infill
 * criteria for noisy optimization", Struct. Multidisc. Optim. 48 (2013), where it is
 * among the best criteria at medium and high noise. It is the acquisition that matches
 * the study's answer (recommend.h: the best posterior mean among evaluated
 * configurations): it values a run by how much it is expected to improve that answer,
 * so it weighs the noise of the run it plans (a run whose outcome would be mostly
 * noise teaches little) and, unlike EI against a noisy incumbent, does not reward
 * sampling next to a lucky run.
 *
 * For the points A = {x_1 .. x_n} of the GP (observed and believed) plus the candidate
 * x, with posterior means mu(a) and, after observing y = f(x) + e,
 *     mu'(a) = mu(a) + Sigma(a, x) / sqrt(Sigma(x, x) + sn2) Z,   Z ~ N(0, 1),
 * KGCP(x) = E[max_a -mu'(a)] - max_a -mu(a) (minimization), computed exactly by
 * mrpc_log_kg_lines (acquisition.h). Costs O(n^2) per candidate after an O(n^3)
 * preparation per GP state (mrpc_kg_prepare after each added fantasy).
 */
#ifndef MRPC_OPTIMIZE_KG_H
#define MRPC_OPTIMIZE_KG_H

#include <stddef.h>

#include "gp.h"
#include "status.h"

typedef struct mrpc_kg {
    size_t  n, cap;
    double *W;        /* [cap, cap] L^-1 k(X, X) (noise-free kernel), row-major, leading dimension cap */
    double *neg_mean; /* [cap] -posterior mean at each point of the GP */
    double *a, *b, *c, *kx, *v; /* [cap + 1] scratch */
    size_t *ord, *env;          /* [cap + 1] scratch */
} mrpc_kg;

/* Prepares kg for the GP's current points (real and believed). Allocates on first use. */
mrpc_status mrpc_kg_prepare(mrpc_kg *kg, const mrpc_gp *gp, mrpc_error *err);

/*
 * log KGCP at x (standardized units), given its posterior mean and variance there and,
 * when v is not NULL, v = L^-1 k(X, x) read with stride v_stride (as the candidate pool
 * keeps it); with v NULL it is computed here. -inf where a run at x cannot change the
 * answer.
 */
double mrpc_kg_log(mrpc_kg *kg, const mrpc_gp *gp, const double *x, double mean, double var, const double *v,
                   size_t v_stride);

/* Frees the arrays and clears kg. */
void mrpc_kg_free(mrpc_kg *kg);

#endif /* MRPC_OPTIMIZE_KG_H */

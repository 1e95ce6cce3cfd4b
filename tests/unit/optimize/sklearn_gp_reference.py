#!/usr/bin/python3
"""Reference numbers for test_gp.c from scikit-learn's GaussianProcessRegressor.

Fixed data and fixed kernel hyperparameters (no fitting): the C test reads this
script's stdout and compares its GP (optimize/gp/) against it. Printed, one item per
line, as "<name> <values...>":

  d, n, m          sizes; X (n lines), y, Xs (m lines): the data
  theta            log ls_1..log ls_d, log sf2, log sn2 (the C packing)
  lml, grad        log marginal likelihood of y and its gradient w.r.t. theta
  mean, var        posterior mean and latent variance at Xs (normalize_y=False)
  nmean, nvar      the same with normalize_y=True, in y units
  nlml             log marginal likelihood of the standardized y

Kernel: ConstantKernel(sf2) * Matern(ls, nu=2.5), noise sn2 as `alpha` for the
predictions (so the variance is that of f, without noise) and as a WhiteKernel for the
likelihood gradient. Exits 77 when scikit-learn is missing (ctest: not run).
"""
import sys

try:
    import numpy as np
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e}", file=sys.stderr)
    sys.exit(77)

rng = np.random.RandomState(20261126)
d, n, m = 3, 15, 7
X = rng.uniform(size=(n, d))
X[-1] = X[0] + 1e-4  # a near-duplicate point: conditioning must cope
y = np.sin(6 * X[:, 0]) + 0.5 * np.cos(3 * X[:, 1]) + X[:, 2] ** 2 + 0.1 * rng.normal(size=n) + 3.0
Xs = rng.uniform(size=(m, d))
Xs[0] = X[3]  # at a training point
Xs[1] = [2.0, -1.0, 0.5]  # far away: variance back to the prior

ls = np.array([0.35, 0.8, 1.7])
sf2, sn2 = 1.3, 0.02


def show(name, values):
    print(name, " ".join(repr(float(v)) for v in np.ravel(values)))


print("d", d)
print("n", n)
print("m", m)
for row in X:
    show("X", row)
show("y", y)
for row in Xs:
    show("Xs", row)
show("theta", list(np.log(ls)) + [np.log(sf2), np.log(sn2)])

kern = ConstantKernel(sf2, "fixed") * Matern(ls, "fixed", nu=2.5)
gp = GaussianProcessRegressor(kern, alpha=sn2, optimizer=None, normalize_y=False).fit(X, y)
mean, std = gp.predict(Xs, return_std=True)
show("mean", mean)
show("var", std ** 2)

# Likelihood and gradient with a learned-noise form of the same model.
kern_w = ConstantKernel(sf2) * Matern(ls, nu=2.5) + WhiteKernel(sn2)
gpw = GaussianProcessRegressor(kern_w, alpha=0.0, optimizer=None, normalize_y=False).fit(X, y)
lml, grad = gpw.log_marginal_likelihood(kern_w.theta, eval_gradient=True)
# sklearn theta order: [log sf2, log ls_1..d, log sn2] -> C order [log ls.., log sf2, log sn2]
grad_c = list(grad[1:1 + d]) + [grad[0], grad[1 + d]]
show("lml", [lml])
show("grad", grad_c)
assert abs(lml - gp.log_marginal_likelihood_value_) < 1e-8 * abs(lml)

gpn = GaussianProcessRegressor(kern, alpha=sn2, optimizer=None, normalize_y=True).fit(X, y)
nmean, nstd = gpn.predict(Xs, return_std=True)
show("nmean", nmean)
show("nvar", nstd ** 2)
show("nlml", [gpn.log_marginal_likelihood_value_])

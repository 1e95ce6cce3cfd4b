#!/usr/bin/python3
"""Reference values for test_paired.c from SciPy (run by the test with /usr/bin/python3).

Prints one line per case:
    case <level> <n> a_1 .. a_n b_1 .. b_n
    want mean sd ci_low ci_high t p_t p_sign p_wilcoxon
p_wilcoxon is nan where the differences have ties or zeros (SciPy then leaves the exact
method, so it is no reference for ours), and the quantiles of Student's t:
    tq <q> <df> <quantile> <cdf at 1.7>
Exits 77 when SciPy is missing."""
import sys

try:
    import numpy as np
    from scipy import optimize, stats
except ImportError:
    sys.exit(77)


def tppf(q, df):
    """The t quantile by root finding on stats.t.cdf: SciPy 1.10's own t.ppf (stdtrit) is off
    by about 1e-9 (t.cdf(t.ppf(0.95, 4), 4) = 0.9499999997), its cdf is not."""
    lo, hi = (0.0, 1.0) if q > 0.5 else (-1.0, 0.0)
    while stats.t.cdf(hi, df) < q:
        hi *= 2
    while stats.t.cdf(lo, df) > q:
        lo *= 2
    return optimize.brentq(lambda t: stats.t.cdf(t, df) - q, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500)


rng = np.random.default_rng(20261204)
cases = []
# Seed-noise-like accuracies on 408 examples: k/408, paired by seed.
for n, shift in [(5, 3), (5, 0), (8, 2), (3, 5), (12, 1), (6, -4)]:
    base = rng.integers(330, 350, size=n)
    a = (base + shift + rng.integers(-4, 5, size=n)) / 408.0
    b = base / 408.0
    cases.append((0.95, a, b))
# Continuous values without ties (the exact Wilcoxon applies), and another level.
for n in (5, 7, 10):
    b = rng.normal(0.84, 0.012, size=n)
    a = b + rng.normal(0.004, 0.01, size=n)
    cases.append((0.95, a, b))
    cases.append((0.9, a, b))

for level, a, b in cases:
    d = a - b
    n = len(d)
    mean = d.mean()
    sd = d.std(ddof=1)
    tq = tppf(0.5 * (1 + level), n - 1)
    se = sd / np.sqrt(n)
    tt = stats.ttest_rel(a, b)
    pos, neg = int((d > 0).sum()), int((d < 0).sum())
    p_sign = stats.binomtest(pos, pos + neg, 0.5).pvalue if pos + neg else 1.0
    nz = d[d != 0]
    ties = len(np.unique(np.round(np.abs(nz), 12))) != len(nz) or len(nz) != n
    p_w = float("nan") if ties else stats.wilcoxon(a, b, method="exact").pvalue
    print("case", repr(level), n, " ".join(repr(float(x)) for x in a), " ".join(repr(float(x)) for x in b))
    print("want", *(repr(float(x)) for x in (mean, sd, mean - tq * se, mean + tq * se, tt.statistic, tt.pvalue,
                                                p_sign, p_w)))
for q in (0.975, 0.95, 0.995, 0.6, 0.025):
    for df in (1, 2, 4, 7, 29, 200):
        print("tq", repr(q), df, repr(float(tppf(q, df))), repr(float(stats.t.cdf(1.7, df))))

#!/usr/bin/python3
"""stats_reference.py -- reference numbers for test_analysis_stats (analysis/stats.c, importance.c).

Usage: /usr/bin/python3 stats_reference.py OUT_FILE

Writes one case per line, fields separated by spaces; the C test recomputes each value
and compares:

  mcnemar B C P                      P = scipy.stats.binomtest(min(B,C), B+C, 0.5).pvalue (1 when B+C == 0)
  logcdf K N L                       L = scipy.stats.binom.logcdf(K, N, 0.5)
  pearson N x1..xN y1..yN R          R = scipy.stats.pearsonr
  spearman N x1..xN y1..yN R         R = scipy.stats.spearmanr (average ranks for ties)
  percentile N Q x1..xN V            V = numpy.percentile(x, Q) (linear)
  expmax N K x1..xN E                E = E[max of K draws with replacement], brute force over all
                                     K-tuples for tiny N/K, else Monte Carlo-free exact sum
  bootci N p1..pN l1..lN LO HI       scipy.stats.bootstrap(accuracy, percentile, 10000 resamples) 95% CI
  tree N D x11..xND y1..yN I1..ID    sklearn DecisionTreeRegressor(max_depth=4, min_samples_leaf=5).feature_importances_ (one tree, all rows;
                                     no tiny nodes, where several features give the same split and the choice is arbitrary)
"""
import itertools
import sys

import numpy as np
from scipy import stats
from sklearn.tree import DecisionTreeRegressor


def fmt(v):
    return repr(float(v))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    rng = np.random.RandomState(20240917)
    lines = []
    for b, c in [(0, 0), (5, 5), (0, 10), (10, 0), (3, 30), (12, 19), (24, 19), (250, 300), (1000, 1100), (7, 1), (0, 1)]:
        p = 1.0 if b + c == 0 else stats.binomtest(min(b, c), b + c, 0.5).pvalue
        lines.append("mcnemar %d %d %s" % (b, c, fmt(p)))
    for k, n in [(0, 1), (3, 30), (19, 43), (250, 550), (1000, 2100), (5, 10)]:
        lines.append("logcdf %d %d %s" % (k, n, fmt(stats.binom.logcdf(k, n, 0.5))))
    for n in [5, 12, 40]:
        x = rng.normal(size=n)
        y = 0.6 * x + rng.normal(size=n)
        lines.append("pearson %d %s %s %s" % (n, " ".join(map(fmt, x)), " ".join(map(fmt, y)), fmt(stats.pearsonr(x, y)[0])))
        xt = np.round(x * 2) / 2  # ties
        yt = np.round(y)
        lines.append("spearman %d %s %s %s" % (n, " ".join(map(fmt, xt)), " ".join(map(fmt, yt)),
                                                fmt(stats.spearmanr(xt, yt)[0])))
    for n, q in [(1, 50), (2, 2.5), (7, 97.5), (10000, 2.5), (10000, 97.5), (13, 0), (13, 100)]:
        x = np.sort(rng.uniform(0.8, 0.9, size=n))
        lines.append("percentile %d %s %s %s" % (n, fmt(q), " ".join(map(fmt, x)), fmt(np.percentile(x, q))))
    for n, k in [(3, 2), (4, 3), (5, 1)]:
        x = np.sort(rng.uniform(0.8, 0.9, size=n))
        e = np.mean([max(t) for t in itertools.product(x, repeat=k)])
        lines.append("expmax %d %d %s %s" % (n, k, " ".join(map(fmt, x)), fmt(e)))
    for n, k in [(40, 10), (40, 200)]:
        x = np.sort(rng.uniform(0.8, 0.9, size=n))
        i = np.arange(1, n + 1)
        e = np.sum(x * ((i / n) ** k - ((i - 1) / n) ** k))
        lines.append("expmax %d %d %s %s" % (n, k, " ".join(map(fmt, x)), fmt(e)))
    labels = (rng.uniform(size=408) < 0.68).astype(int)
    pred = np.where(rng.uniform(size=408) < 0.85, labels, 1 - labels)
    correct = (pred == labels).astype(float)
    ci = stats.bootstrap((correct,), np.mean, n_resamples=10000, method="percentile", random_state=0,
                         confidence_level=0.95).confidence_interval
    lines.append("bootci 408 %s %s %s %s" % (" ".join(map(str, pred)), " ".join(map(str, labels)), fmt(ci.low),
                                              fmt(ci.high)))
    for n, d in [(30, 3), (50, 5)]:
        x = rng.uniform(size=(n, d))
        y = np.sin(3 * x[:, 0]) + 0.3 * x[:, 1] ** 2 + 0.05 * rng.normal(size=n)
        t = DecisionTreeRegressor(max_depth=4, min_samples_leaf=5, random_state=0).fit(x, y)
        lines.append("tree %d %d %s %s %s" % (n, d, " ".join(map(fmt, x.ravel())), " ".join(map(fmt, y)),
                                              " ".join(map(fmt, t.feature_importances_))))
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

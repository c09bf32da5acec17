"""Data from scipy's GitHub issues about ``fit`` (weibull_min, gamma, beta) and from
scipy's own ``stats.fit`` tests, with where each came from.

Inline data are transcribed exactly from the issue; data the issue drew at random
(unseeded there) are drawn here by the issue's own code with a seed. Three issues named
in the acceptance criteria attached their data as files that are not reproduced in the
issue text (gh-19407 ``table.csv``, gh-10212 ``data.zip``, gh-18775 ``variances``); they
are listed in ``NOT_AVAILABLE`` and have no array here.

scipy's ``stats.fit`` cases are ``scipy/stats/tests/test_fit.py`` (scipy main, commit
3dbf660a919b1479cdf30d533176053b428d08d3): ``TestFit.basic_fit_test`` (run by
``test_basic_fit_mle``, N = 5000, shapes from ``scipy.stats._distr_params.distcont``,
bounds shapes/10..shapes*10, loc (0, 10), scale (1e-16, 10)) and the per-distribution
tests that use their own data and bounds (``test_beta``, ``test_nakagami``,
``test_foldnorm``, ``test_truncpareto``, ``test_truncweibull_min``, N = 1000).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

# gh-11806 "Unexpectedly poor results when distribution fitting with `weibull_min` and
# `exponweib`", https://github.com/scipy/scipy/issues/11806 (the 40 values in
# mdhaber's comment of 2020-11-27, the data set). weibull_min, all free / floc=0.
GH11806 = np.array([
    4836.6, 823.6, 3131.7, 1343.4, 709.7, 610.6,
    3034.2, 1973, 7358.5, 265, 4590.5, 5440.4, 4613.7, 4763.1,
    115.3, 5385.1, 6398.1, 8444.6, 2397.1, 3259.7, 307.5, 4607.4,
    6523.7, 600.3, 2813.5, 6119.8, 6438.8, 2799.1, 2849.8, 5309.6,
    3182.4, 705.5, 5673.3, 2939.9, 2631.8, 5002.1, 1967.3, 2810.4,
    2948, 6904.8,
])  # fmt: skip

# gh-20659 "BUG: stats.weibull_min: poor fit results on shape parameters",
# https://github.com/scipy/scipy/issues/20659: frequency data H with counts nrep, expanded
# by the code (``np.repeat(np.sort(H)[::-1], nrep)``, 130,993 values, 27 distinct).
# The reporter knows loc ~ 0.7 and compares with MATLAB's wblfit on H - 0.7 (loc held at
# 0.7: shape 1.16995, scale 1.63053); scipy's weibull_min.fit(expanded, loc=0) there gave
# (0.896, 0.75, 1.644).
GH20659_H = np.array([
    15.25, 13.75, 12.75, 12.25, 11.75, 11.25, 10.75, 10.25, 9.75, 9.25, 8.75, 8.25, 7.75,
    7.25, 6.75, 6.25, 5.75, 5.25, 4.75, 4.25, 3.75, 3.25, 2.75, 2.25, 1.75, 1.25, 0.75,
])  # fmt: skip
GH20659_NREP = np.array([
    1, 1, 1, 2, 5, 20, 17, 18, 37, 66, 112, 151, 215, 352, 525, 750, 1130, 1731, 2649,
    4002, 6083, 9610, 14990, 21362, 26898, 26783, 13482,
])  # fmt: skip
GH20659 = np.repeat(np.sort(GH20659_H)[::-1], GH20659_NREP)

# gh-9754 "Why doesn't "beta.fit" come out right? Please take a look at it for me",
# https://github.com/scipy/scipy/issues/9754: the 104 values the reporter printed
# (``observed['and_retention'].values``). beta, all four free (beta.fit(x)) and on [0, 1].
GH9754 = np.array([
    0.294, 0.2955, 0.235, 0.2536, 0.2423, 0.2844, 0.2099, 0.2355, 0.2946, 0.3388,
    0.2202, 0.2523, 0.2209, 0.2707, 0.1885, 0.2414, 0.2846, 0.328, 0.2265, 0.2563,
    0.2345, 0.2845, 0.1787, 0.2392, 0.2777, 0.3076, 0.2108, 0.2477, 0.234, 0.2696,
    0.1839, 0.2344, 0.2872, 0.3224, 0.2152, 0.2593, 0.2295, 0.2702, 0.1876, 0.2331,
    0.2809, 0.3316, 0.2099, 0.2814, 0.2174, 0.2516, 0.2029, 0.2282, 0.2697, 0.3424,
    0.2259, 0.2626, 0.2187, 0.2502, 0.2161, 0.2194, 0.2628, 0.3296, 0.2323, 0.2557,
    0.2215, 0.2383, 0.2166, 0.2315, 0.2757, 0.3163, 0.2311, 0.2479, 0.2199, 0.2418,
    0.1938, 0.2394, 0.2718, 0.3297, 0.2346, 0.2523, 0.2262, 0.2481, 0.2118, 0.241,
    0.271, 0.3525, 0.2323, 0.2513, 0.2313, 0.2476, 0.232, 0.2295, 0.2645, 0.3386,
    0.2334, 0.2631, 0.226, 0.2603, 0.2334, 0.2375, 0.2744, 0.3491, 0.2052, 0.2473,
    0.228, 0.2448, 0.2189, 0.2149,
])  # fmt: skip

# gh-22328 "BUG: stats.beta.fit: `FitError` on reasonable data",
# https://github.com/scipy/scipy/issues/22328: 10 values from np.random.beta(1, 2, 10),
# as printed in the issue. beta.fit(x) (all free) raises FitError there.
GH22328 = np.array([
    0.7122827, 0.04830956, 0.54410219, 0.04173127, 0.54462469, 0.54565197, 0.05497849,
    0.07792652, 0.6817948, 0.19735519,
])  # fmt: skip

# gh-19884 "ENH: scipy.stats.gamma.fit: return globally optimal result for arbitrary
# input", https://github.com/scipy/scipy/issues/19884: gamma.fit([1, 2, 3], floc=0,
# method="MM") gave shape 4.5e8, scale 4.7e-9. Here by maximum likelihood, floc=0 and free.
GH19884 = np.array([1.0, 2.0, 3.0])

# gh-9166 "Poor numerical performance of gamma.fit()",
# https://github.com/scipy/scipy/issues/9166: ``for a in np.arange(.1, .9, .1):
# x = gamma.rvs(a, size=1000); gamma.fit(x)`` (all free), unseeded in the issue; drawn
# here in the same order from one generator seeded with GH9166_SEED.
GH9166_SEED = 9166
GH9166_SHAPES = tuple(round(float(a), 1) for a in np.arange(0.1, 0.9, 0.1))


def gh9166() -> dict[float, np.ndarray]:
    """The issue's eight samples, true shape -> 1000 draws of gamma(a) (loc 0, scale 1)."""
    rng = np.random.default_rng(GH9166_SEED)
    return {a: stats.gamma.rvs(a, size=1000, random_state=rng) for a in GH9166_SHAPES}


NOT_AVAILABLE = {
    "gh-19407": "https://github.com/scipy/scipy/issues/19407: column 'Anisotropy' of an "
    "attached table.csv (github.com/scipy/scipy/files/13042774/table.csv); no values in the "
    "issue text (scipy gave c = 2.2e8, loc = -2.2e7, scale = 2.2e7)",
    "gh-10212": "https://github.com/scipy/scipy/issues/10212: 65,094 values in an attached "
    "data.zip (github.com/scipy/scipy/files/3212202/data.zip); no values in the issue text",
    "gh-18775": "https://github.com/scipy/scipy/issues/18775: 100,000 'variances' never "
    "posted (only a histogram image)",
}

# ---- scipy.stats.fit's own test cases (scipy/stats/tests/test_fit.py) ----------------
SCIPY_FIT_SEED = 654634816187  # TestFit.seed

# A representative, fast subset of test_basic_fit_mle's distributions: eight of its
# default set (not slow) and ten of its "slow" set, chosen for the families the issues are
# about (thresholds: weibull_min/max, gamma, lognorm, pareto, genpareto, truncexpon,
# expon, halfnorm) and common heavy/light tails (t, genextreme, logistic, gumbel_r).
BASIC_FIT_MLE = (
    "gumbel_r", "logistic", "chi2", "expon", "halfnorm", "rayleigh", "loggamma", "dgamma",
    "wald", "truncexpon", "weibull_min", "weibull_max", "gamma", "lognorm", "genextreme",
    "invgauss", "t", "pareto", "genpareto",
)  # fmt: skip


def basic_fit_case(name: str, n: int = 5000):
    """``TestFit.basic_fit_test``'s data for a continuous distribution: (x, the parameters
    drawn with, stats.fit's bounds as an (k, 2) array)."""
    from scipy.stats._distr_params import distcont

    rng = np.random.default_rng(SCIPY_FIT_SEED)
    dist = getattr(stats, name)
    shapes = np.array(dict(distcont)[name])
    bounds = np.empty((len(shapes) + 2, 2), dtype=np.float64)
    bounds[:-2, 0] = shapes / 10.0 ** np.sign(shapes)
    bounds[:-2, 1] = shapes * 10.0 ** np.sign(shapes)
    bounds[-2] = (0, 10)
    bounds[-1] = (1e-16, 10)
    loc = rng.uniform(*bounds[-2])
    scale = rng.uniform(*bounds[-1])
    ref = [*shapes.tolist(), loc, scale]
    x = dist.rvs(*ref, size=n, random_state=rng)
    return x, ref, bounds


# TestFit's per-distribution tests: name -> (parameters drawn with, stats.fit's bounds).
SPECIAL_FIT_CASES = {
    "beta": ((2.3098496451481823, 0.62687954300963677, 1.0, 2.0),  # test_beta
             {"a": (0.1, 10), "b": (0.1, 10), "loc": (0.1, 10), "scale": (0.1, 10)}),
    "nakagami": ((4.9673794866666237, 1.0, 2.0),  # test_nakagami
                 {"nu": (0.1, 10), "loc": (0.1, 10), "scale": (0.1, 10)}),
    "foldnorm": ((1.952125337355587, 2.0, 3.0),  # test_foldnorm
                 {"c": (0.1, 10), "loc": (0.1, 10), "scale": (0.1, 10)}),
    "truncpareto": ((1.8, 5.3, 2.3, 4.1), [(0.1, 10)] * 4),  # test_truncpareto
    "truncweibull_min": ((2.5, 0.25, 1.75, 2.0, 3.0), [(0.1, 10)] * 5),  # test_truncweibull_min
}  # fmt: skip


def special_fit_case(name: str, n: int = 1000):
    """The data of TestFit's own test for ``name``: (x, parameters, bounds)."""
    params, bounds = SPECIAL_FIT_CASES[name]
    rng = np.random.default_rng(SCIPY_FIT_SEED)
    x = getattr(stats, name).rvs(*params, size=n, random_state=rng)
    return x, list(params), bounds

"""Goodness of fit: how far the fitted distribution is from the data's empirical one.

The Kolmogorov-Smirnov statistic ``sup |F_n(x) - F(x; theta_hat)|`` ranks candidate
models the way distribution-fitting tools do. Its p-value assumes the parameters were not
estimated from the same data, so it is optimistic here (Lilliefors); it is reported for
orientation, under that name.
"""

from __future__ import annotations

import numpy as np

from runner.stats.families.base import Family, Theta

MAX_POINTS = 1_000_000  # beyond this, a random subsample (sorting all would copy the data)


def ks_statistic(family: Family, x: np.ndarray, theta: Theta) -> dict[str, float] | None:
    """KS statistic and (optimistic) p-value for a continuous univariate fit, else None.
    Past ``MAX_POINTS`` values it is computed on a seeded random subsample of that size."""
    if family.discrete or x.ndim != 1:
        return None
    if x.size > MAX_POINTS:
        x = x[np.sort(np.random.default_rng(0).choice(x.size, MAX_POINTS, replace=False))]
    try:
        cdf = family.cdf
        cdf(x[:1], theta)
    except NotImplementedError:
        return None
    from scipy import stats

    result = stats.kstest(x, lambda v: cdf(v, theta))
    if not (np.isfinite(result.statistic) and np.isfinite(result.pvalue)):
        return None
    return {
        "ks": float(result.statistic),
        "ks_pvalue_optimistic": float(result.pvalue),
        "ks_points": int(x.size),
    }

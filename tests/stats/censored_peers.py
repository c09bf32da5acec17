"""What the censored-fit comparisons with other packages share: the censored
log-likelihood written again straight on ``scipy.stats`` (not the runner's), its exact
observed information by Richardson-extrapolated central differences (not the runner's
``numdiff``), and the one check every reference case makes.

The check, for a fit of ours against a reference (estimates, and the log-likelihood and
standard errors the reference printed):

- the estimates agree to 1e-6 relative (the references are optima, score ~1e-9);
- our log-likelihood is never below the reference's, recomputed here at its estimates
  (and that recomputation is the log-likelihood the reference printed: the same model);
- our standard errors are within 0.5% of sqrt(diag(inv(-H))), H the Hessian of the
  log-likelihood at our estimate computed here, and of the reference's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pytest
from scipy import stats

EST_RTOL = 1e-6
SE_RTOL = 5e-3
LOGLIK_SLACK = 1e-9  # our log-likelihood may fall this far below theirs (roundoff)


def frozen(family: str, theta: Mapping[str, float], dist: str | None = None):
    """The scipy distribution of a runner family at ``theta``, written out here (not
    through the family's own ``scipy_dist``)."""
    t = {k: float(v) for k, v in theta.items()}
    if family == "scipy":
        return getattr(stats, dist)(**t)
    return {
        "gaussian": lambda: stats.norm(t["mu"], t["sigma"]),
        "lognormal": lambda: stats.lognorm(t["sigma"], scale=np.exp(t["mu"])),
        "weibull": lambda: stats.weibull_min(t["shape"], scale=t["scale"]),
        "exponential": lambda: stats.expon(scale=1 / t["rate"]),
        "gamma": lambda: stats.gamma(t["shape"], scale=1 / t["rate"]),
        "beta": lambda: stats.beta(t["a"], t["b"]),
        "laplace": lambda: stats.laplace(t["mu"], t["b"]),
    }[family]()


def censored_loglik(pairs: np.ndarray, d) -> float:
    """sum log f(x) + log F(left) + log S(right) + log(F(high) - F(low)), the interval's
    mass from the side of the distribution where it is not a difference of two numbers
    near 1."""
    low, high = pairs[:, 0], pairs[:, 1]
    exact = low == high
    left = np.isneginf(low) & ~exact
    right = np.isposinf(high) & ~exact
    inter = ~(exact | left | right)
    lo, hi = low[inter], high[inter]
    upper = d.cdf(lo) > 0.5
    mass = np.where(upper, d.sf(lo) - d.sf(hi), d.cdf(hi) - d.cdf(lo))
    return float(np.sum(d.logpdf(low[exact])) + np.sum(d.logcdf(high[left]))
                 + np.sum(d.logsf(low[right])) + np.sum(np.log(mass)))  # fmt: skip


def richardson_hessian(f: Callable[[np.ndarray], float], x: np.ndarray,
                       rel_step: float = 1e-2, levels: int = 5) -> np.ndarray:  # fmt: skip
    """The Hessian of ``f`` at ``x``: central differences with steps h, h/2, ..., their
    h^2, h^4, ... error terms cancelled by Richardson extrapolation (numDeriv's method)."""
    x = np.asarray(x, dtype=float)
    k = x.size
    h0 = rel_step * np.where(x != 0, np.abs(x), 1.0)
    f0 = f(x)

    def at(h: np.ndarray) -> np.ndarray:
        e = np.diag(h)
        out = np.empty((k, k))
        for i in range(k):
            out[i, i] = (f(x + e[i]) - 2 * f0 + f(x - e[i])) / h[i] ** 2
            for j in range(i):
                out[i, j] = out[j, i] = (
                    f(x + e[i] + e[j]) - f(x + e[i] - e[j])
                    - f(x - e[i] + e[j]) + f(x - e[i] - e[j])
                ) / (4 * h[i] * h[j])  # fmt: skip
        return out

    table = [at(h0 / 2**m) for m in range(levels)]
    for order in range(1, levels):
        factor = 4.0**order
        table = [(factor * table[m + 1] - table[m]) / (factor - 1)
                 for m in range(len(table) - 1)]  # fmt: skip
    return table[0]


def observed_se(pairs: np.ndarray, family: str, theta: Mapping[str, float],
                free: list[str], dist: str | None = None) -> dict[str, float]:  # fmt: skip
    """sqrt(diag(inv(-H))) over the ``free`` parameters, the others held at ``theta``."""
    point = np.array([float(theta[n]) for n in free])

    def ll(v: np.ndarray) -> float:
        at = {**theta, **dict(zip(free, v, strict=True))}
        return censored_loglik(pairs, frozen(family, at, dist))

    cov = np.linalg.inv(-richardson_hessian(ll, point))
    return dict(zip(free, np.sqrt(np.diag(cov)), strict=True))


def check_fit(f, pairs: np.ndarray, family: str, estimates: Mapping[str, float],
              loglik: float, ses: Mapping[str, float] | None = None, dist: str | None = None,
              fixed: Mapping[str, float] | None = None) -> None:  # fmt: skip
    """The checks of the module docstring for the runner's fit ``f`` of ``pairs`` against a
    reference's ``estimates``, ``loglik`` and standard errors ``ses`` (by our names);
    ``fixed`` are the parameters held in both fits."""
    check_loglik(f, pairs, family, {**(fixed or {}), **estimates}, loglik, dist)
    check_estimates(f, estimates)
    check_ses(f, pairs, family, list(estimates), ses, dist)


def ours(f) -> dict[str, float]:
    return {e.name: float(e.estimate) for e in f.estimates}


def check_loglik(f, pairs: np.ndarray, family: str, theirs: Mapping[str, float],
                 loglik: float, dist: str | None = None) -> None:  # fmt: skip
    """Ours is never below the reference's, recomputed here at its estimates ``theirs``
    (every parameter), which is the ``loglik`` it printed; ours is the one written here."""
    at_theirs = censored_loglik(pairs, frozen(family, theirs, dist))
    assert at_theirs == pytest.approx(loglik, rel=1e-10, abs=1e-9), "not the same likelihood"
    assert censored_loglik(pairs, frozen(family, ours(f), dist)) == pytest.approx(
        f.loglik, rel=1e-10, abs=1e-9
    ), "the runner's log-likelihood is not the one written here"
    assert f.loglik >= at_theirs - LOGLIK_SLACK, (f.loglik, at_theirs)


def check_estimates(f, estimates: Mapping[str, float]) -> None:
    got = ours(f)
    for name, value in estimates.items():
        assert got[name] == pytest.approx(value, rel=EST_RTOL), (name, got[name], value)


def check_ses(f, pairs: np.ndarray, family: str, free: list[str],
              ses: Mapping[str, float] | None = None, dist: str | None = None) -> None:  # fmt: skip
    """Our SEs of the ``free`` parameters against the exact observed information in them
    at our estimate (the others held there), and against the reference's ``ses``."""
    by_name = {e.name: e for e in f.estimates}
    exact = observed_se(pairs, family, ours(f), free, dist)
    for name in free:
        se = by_name[name].se
        assert se == pytest.approx(exact[name], rel=SE_RTOL), (name, se, exact[name])
        if ses is not None and name in ses:
            assert se == pytest.approx(ses[name], rel=SE_RTOL), (name, se, ses[name])

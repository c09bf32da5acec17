"""Expected Fisher information by numbers, for families with no formula for it.

``I(theta) = -E[d^2 log f(X | theta) / d theta^2]`` per observation, the Cramer-Rao
bound's inverse. For scipy's distributions and your own log-density there is no closed
form, so the expectation is taken over points that stand for the distribution, each with
its weight, and the second derivatives are central differences of the weighted
log-density sum:

- a discrete distribution: its support, weighted by the masses (to a tail of 1e-12);
- a continuous scipy distribution: its quantiles at ``u = Phi(t)`` for ``t`` evenly
  spaced over ``[-T, T]``, weighted by ``phi(t) dt`` (the trapezoid rule after the change
  of variable ``u = Phi(t)``, which crowds points into both tails and converges fast where
  the integrand has a singularity at a threshold); ``T`` leaves out ``TAIL`` of
  probability at each end;
- your own density: ``M`` seeded draws from its sampler.

Where the information is infinite, the model is not regular (a threshold at which the
density does not vanish fast enough, e.g. weibull_min with shape below 2) and no bound
applies: the sum then grows as more of the tail is included (or with ``M`` for draws),
so it is computed twice, with ``TAIL`` and ``COARSE_TAIL`` (or ``M/10`` and ``M``
draws), and refused when the two disagree. Close to that edge (gamma with shape just
above 2) it converges too slowly to be trusted, and is refused too.
"""

from __future__ import annotations

import numpy as np

from runner.stats.families.base import Family, Theta
from runner.stats.numdiff import hessian_from_value

POINTS = 200_000  # M: draws from a sampler standing for the distribution
NODES = 20_001  # quantile nodes of the trapezoid rule in t (continuous scipy families)
TAIL = 1e-9  # probability left out at each end by the quantile nodes
COARSE_TAIL = 1e-7  # ... by the check that the information does not diverge
AGREE = 0.02  # relative: M/10 and M must agree this well, else the information diverges
TAIL_MASS = 1e-12
MAX_SUPPORT = 1_000_000
SEED = 20261201


def numerical_information(family: Family, truth: Theta,
                          names: list[str]) -> tuple[np.ndarray | None, str]:  # fmt: skip
    """The expected information per observation in ``names`` (the other parameters held
    at the truth), and how it was computed (``masses``, ``quantiles``, ``draws``); or
    None and why not."""
    points = _points(family, truth)
    if points is None:
        return None, (
            f"{family.name} has no closed-form expected information, and neither quantiles, "
            "an enumerable support nor a sampler to compute it from"
        )
    x, weights, how = points
    z0 = np.array([float(truth[n]) for n in names])
    info = _information(family, truth, names, z0, x, weights)
    if info is None:
        return None, (
            "the log-density is not finite at every point near the truth (the support "
            "moves with the parameters): the Cramer-Rao bound does not apply"
        )
    if how != "masses":  # an infinite information shows as a sum that grows with the tail
        if how == "draws":
            m = x.size // 10
            check = x[:m], np.full(m, 1.0 / m)
        else:
            check = _points(family, truth, COARSE_TAIL)[:2]
        coarse = _information(family, truth, names, z0, *check)
        scale = np.sqrt(np.abs(np.outer(np.diag(info), np.diag(info)))) + 1e-300
        if coarse is None or np.max(np.abs(coarse - info) / scale) > AGREE:
            what = (f"{check[0].size:,} and {x.size:,} draws" if how == "draws" else
                    f"the tails beyond {COARSE_TAIL:g} and {TAIL:g} of probability")  # fmt: skip
            return None, (
                f"the expected information is infinite or nearly so (it differs between "
                f"{what}): a threshold where the density vanishes too slowly, a non-regular "
                "model (or almost), where the Cramer-Rao bound does not apply"
            )
    return info, how


def _information(family, truth, names, z0, x, weights) -> np.ndarray | None:
    """Minus the Hessian of the weighted log-density sum at ``z0``; None if not finite."""

    def expected_loglik(z: np.ndarray) -> float:
        theta = {**truth, **dict(zip(names, z, strict=True))}
        with np.errstate(all="ignore"):
            values = np.asarray(family.logpdf(x, theta), dtype=float)
        return float(np.sum(weights * values)) if np.all(np.isfinite(values)) else -np.inf

    info = -hessian_from_value(expected_loglik, z0)
    return info if np.all(np.isfinite(info)) else None


def _points(family: Family, truth: Theta, tail: float = TAIL):
    """(points, weights, how) standing for the distribution at the truth, or None."""
    try:
        dist = family.scipy_dist(truth)
    except (NotImplementedError, AttributeError):
        dist = None
    if dist is not None and family.discrete:
        low, high = float(dist.support()[0]), float(dist.isf(TAIL_MASS))
        if np.isfinite(low) and np.isfinite(high) and high - low <= MAX_SUPPORT:
            x = np.arange(low, high + 1)
            return x, np.asarray(dist.pmf(x), dtype=float), "masses"
        return None
    if dist is not None:
        from scipy.special import ndtr, ndtri

        t = np.linspace(ndtri(tail), -ndtri(tail), NODES)
        weights = np.exp(-0.5 * t * t)
        weights[[0, -1]] *= 0.5  # the trapezoid rule
        with np.errstate(all="ignore"):  # each half from its own end, for precision
            x = np.where(t < 0, dist.ppf(ndtr(t)), dist.isf(ndtr(-t)))
        if np.all(np.isfinite(x)):
            return np.asarray(x, dtype=float), weights / weights.sum(), "quantiles"
    try:
        x = np.asarray(family.sample(truth, POINTS, np.random.default_rng(SEED)), dtype=float)
    except Exception:  # no sampler (model=custom without one), or it failed
        return None
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        return None
    return x, np.full(x.size, 1.0 / x.size), "draws"

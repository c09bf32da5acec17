"""Confidence intervals that say their method and stay in the parameter space.

- ``wald_transformed`` (the default): the Wald interval formed on the parameter's
  unconstrained scale (log for a positive parameter, logit for a probability, each
  simplex component's logit, a covariance's diagonal on the log scale) by the delta
  method, ``g^-1(g(theta) +- z se |g'(theta)|)``, then mapped back: it never leaves the
  space, and it is asymmetric where the space is.
- ``wald``: ``theta +- z se``, which can (a rate's ``[-0.035, 3.25]`` from 8 values).
- ``profile``: the likelihood-ratio interval, every ``v`` with ``2 (l_max - l_p(v)) <=
  chi2_1(level)``, ``l_p(v)`` re-maximising the other parameters with this one held at
  ``v``; open-ended (the space's edge) where the profile never falls that far.
- ``bootstrap``: percentile and BCa intervals (runner.stats.bootstrap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from runner.stats.constraints import (
    Bounded,
    Constraint,
    CovarianceMatrix,
    Positive,
    Simplex,
    UnitInterval,
)

METHODS = ("wald_transformed", "wald", "profile", "bootstrap")
LEVEL = 0.95


@dataclass(frozen=True)
class Scale:
    """An unconstrained scale of one component: ``forward`` maps the value there, and
    ``inverse`` back; ``name`` is what the table says ("log", "logit")."""

    name: str
    forward: Callable[[float], float]
    inverse: Callable[[float], float]
    slope: Callable[[float], float]  # d forward / d value

    def interval(self, estimate, se, level: float = LEVEL):
        """``(low, high)``: floats for one estimate, arrays for a batch of them."""
        z = stats.norm.ppf(0.5 + level / 2)
        centre, half = self.forward(estimate), z * se * np.abs(self.slope(estimate))
        a, b = self.inverse(centre - half), self.inverse(centre + half)
        low, high = np.minimum(a, b), np.maximum(a, b)
        if np.ndim(low) == 0:
            return float(low), float(high)
        return low, high


IDENTITY = Scale("identity", lambda v: v, lambda u: u, lambda v: np.ones_like(v))
LOG = Scale("log", np.log, np.exp, lambda v: 1.0 / v)
LOGIT = Scale("logit", special.logit, special.expit, lambda v: 1.0 / (v * (1.0 - v)))


def _shifted_log(low: float) -> Scale:
    return Scale(f"log(x - {low:g})", lambda v: np.log(v - low), lambda u: low + np.exp(u),
                 lambda v: 1.0 / (v - low))  # fmt: skip


def _reflected_log(high: float) -> Scale:
    return Scale(f"log({high:g} - x)", lambda v: np.log(high - v), lambda u: high - np.exp(u),
                 lambda v: -1.0 / (high - v))  # fmt: skip


def _scaled_logit(low: float, high: float) -> Scale:
    width = high - low
    return Scale(f"logit on ({low:g}, {high:g})",
                 lambda v: special.logit((v - low) / width),
                 lambda u: low + width * special.expit(u),
                 lambda v: width / ((v - low) * (high - v)))  # fmt: skip


def scales(constraint: Constraint, size: int) -> list[Scale]:
    """The unconstrained scale of each component of a parameter."""
    if isinstance(constraint, Positive):
        return [LOG] * size
    if isinstance(constraint, (UnitInterval, Simplex)):
        return [LOGIT] * size
    if isinstance(constraint, Bounded):
        low, high = constraint.low, constraint.high
        if np.isfinite(low) and np.isfinite(high):
            return [_scaled_logit(low, high)] * size
        return [_shifted_log(low) if np.isfinite(low) else _reflected_log(high)] * size
    if isinstance(constraint, CovarianceMatrix):
        return [LOG if d else IDENTITY for d in constraint._diagonal]
    return [IDENTITY] * size


def wald(estimate: float, se: float, scale: Scale, transformed: bool,
         level: float = LEVEL) -> tuple[tuple[float, float], str]:  # fmt: skip
    """The interval and its method's name (``wald``, ``wald (log scale)``)."""
    if not transformed or scale is IDENTITY:
        return IDENTITY.interval(estimate, se, level), "wald"
    return scale.interval(estimate, se, level), f"wald ({scale.name} scale)"


# ---- profile-likelihood intervals ----------------------------------------------------------
MAX_STEPS = 40  # doublings of the step outward before an end is called open


def profile_interval(profile: Callable[[float], float], estimate: float, loglik: float,
                     scale: Scale, se_scale: float | None, level: float = LEVEL,
                     ) -> tuple[tuple[float, float], list[str]]:  # fmt: skip
    """Both ends of ``{v : 2 (loglik - profile(v)) <= chi2_1(level)}`` around the MLE,
    searched outward on the unconstrained ``scale`` from ``se_scale`` (the SE there, or
    a unit step) and refined by brentq; an end the profile never falls below the cut
    before the space's edge is open (that edge, and a note)."""
    from scipy.optimize import brentq

    cut = loglik - stats.chi2.ppf(level, 1) / 2
    with np.errstate(divide="ignore"):
        centre = float(scale.forward(estimate))
    if not np.isfinite(centre):  # an estimate on the space's edge: that end is the edge
        return _one_sided(profile, estimate, cut, scale, centre)
    step0 = se_scale if se_scale and np.isfinite(se_scale) and se_scale > 0 else 1.0

    def excess(u: float) -> float:
        with np.errstate(all="ignore"):
            value = profile(float(scale.inverse(u)))
        return value - cut if np.isfinite(value) else -np.inf

    ends, notes = [], []
    for side in (-1.0, 1.0):
        inside, step = centre, step0
        for _ in range(MAX_STEPS):
            trial = centre + side * step
            with np.errstate(over="ignore"):
                value = float(scale.inverse(trial))
            if not np.isfinite(value) or value == float(scale.inverse(inside)):
                trial = None  # the scale ran out (the space's edge in double precision)
                break
            if excess(trial) < 0:
                break
            inside, step = trial, step * 2
        else:
            trial = None
        if trial is None:
            edge = scale.inverse(side * np.inf)
            ends.append(float(edge))
            notes.append(f"the profile stays above the cut toward {float(edge):g}: open-ended")
            continue
        low, high = sorted((inside, trial))

        def finite_excess(u: float) -> float:
            value = excess(u)
            return value if np.isfinite(value) else -1e300

        root = brentq(finite_excess, low, high, xtol=1e-10 * max(1.0, abs(centre)),
                      rtol=1e-12, maxiter=200)  # fmt: skip
        ends.append(float(scale.inverse(root)))
    return (min(ends), max(ends)), notes


EDGE_START = 30.0  # an estimate on the edge: the other end is searched from 30 units in


def _one_sided(profile, estimate: float, cut: float, scale: Scale, centre: float
               ) -> tuple[tuple[float, float], list[str]]:  # fmt: skip
    """The likelihood-ratio interval of an estimate on the edge of the space (a p of 0):
    ``[edge, v]`` with ``v`` where the profile falls to the cut, scanned inward on the
    unconstrained scale from ``EDGE_START`` units off the edge, one unit a step."""
    from scipy.optimize import brentq

    inward = -np.sign(centre)

    def excess(u: float) -> float:
        with np.errstate(all="ignore"):
            value = profile(float(scale.inverse(u)))
        return value - cut if np.isfinite(value) else -1e300

    previous = -inward * EDGE_START
    if excess(previous) < 0:  # too far in already: the interval is narrower than that
        return (estimate, estimate), ["the profile falls to the cut at the edge itself"]
    for k in range(1, 2 * int(EDGE_START) + 1):
        u = -inward * EDGE_START + inward * k
        if excess(u) < 0:
            root = brentq(excess, previous, u, xtol=1e-12, rtol=1e-12, maxiter=200)
            end = float(scale.inverse(root))
            return (min(estimate, end), max(estimate, end)), []
        previous = u
    edge = float(scale.inverse(inward * np.inf))
    return (min(estimate, edge), max(estimate, edge)), [
        "the profile stays above the cut across the space: open-ended"]  # fmt: skip

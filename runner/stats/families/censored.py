"""A continuous family fitted to censored and/or truncated observations.

The data are ``(low, high)`` pairs (``runner.stats.censoring``); the parameters,
constraints and parameterization are the base family's, and so are the estimates'
meaning. The likelihood goes through the base family's scipy distribution, so every
continuous built-in and every ``model=scipy`` distribution takes censoring. The search
is the generic one (numerical derivatives, observed-information SEs), from the base
family's fit to the censoring points as if exact; the right-censored exponential keeps
its closed form, ``rate = events / total time on test``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runner.errors import ConfigError
from runner.stats import censoring
from runner.stats.families.base import Family, Stats, Theta


class Censored(Family):
    """``base`` with censored observations and an optional truncation ``(a, b)``."""

    min_n = 1

    def __init__(self, base: Family, truncation: tuple[float, float] | None = None):
        if base.discrete or base.multivariate:
            raise ConfigError(
                f"censored data are for continuous families of one variable; {base.name} "
                "is not one (counts with censoring are not supported yet)"
            )
        try:
            base.scipy_dist(base.default_truth() or _any_theta(base))
        except NotImplementedError:
            raise ConfigError(
                f"{base.name} has no scipy distribution (cdf and survival function), which "
                "censored and truncated data need"
            ) from None
        self.base = base
        self.truncation = _truncation(truncation)
        self.name = base.name
        self.parameterization = base.parameterization
        self.support = base.support
        self.interval = base.interval
        self.min_n = base.min_n
        self.se_source = "observed" if base.se_source == "observed" else base.se_source
        self.irregular_note = base.irregular_note

    @property
    def params(self):
        return self.base.params

    def options(self) -> dict[str, Any]:
        extra = {"truncation": list(self.truncation)} if self.truncation else {}
        return {**self.base.options(), **extra}

    # ---- data -------------------------------------------------------------------------
    def check_shape(self, values: Any) -> None:
        censoring.as_pairs(values)

    def validate(self, values: Any, check_finite: bool = True,
                 check_support: bool = True) -> np.ndarray:  # fmt: skip
        pairs = censoring.as_pairs(values)
        censoring.check_pairs(self.base, pairs)
        if self.truncation is not None:
            a, b = self.truncation
            finite = pairs[np.isfinite(pairs)]
            if finite.size and (finite.min() < a or finite.max() > b):
                value = finite.min() if finite.min() < a else finite.max()
                raise ConfigError(
                    f"a value {value:g} lies outside the truncation ({a:g}, {b:g}): only "
                    "values inside it can have been recorded"
                )
        return pairs

    def sample_size(self, x: np.ndarray) -> int:
        return int(np.shape(x)[0])

    def reduce(self, x: np.ndarray) -> Stats:
        return censoring.reduce(np.asarray(x, dtype=float))

    def loglik(self, stats: Stats, theta: Theta) -> Any:
        try:
            dist = self.base.scipy_dist(censoring.theta_scalar(theta))
        except (ValueError, FloatingPointError):
            return -np.inf
        return censoring.loglik(dist, stats, self.truncation)

    def logpdf(self, x: np.ndarray, theta: Theta) -> np.ndarray:
        return self.base.logpdf(x, theta)

    def cdf(self, x: np.ndarray, theta: Theta) -> np.ndarray:
        return self.base.cdf(x, theta)

    def scipy_dist(self, theta: Theta):
        return self.base.scipy_dist(theta)

    def sample(self, theta: Theta, size: Any, rng: np.random.Generator) -> np.ndarray:
        return self.base.sample(theta, size, rng)

    # ---- the search ---------------------------------------------------------------------
    def initial(self, stats: Stats) -> Theta:
        """The base family's fit to the censoring points and interval midpoints as if
        exact (a start, not an estimate)."""
        from runner.stats.estimate import fit

        values = censoring.pseudo_values(stats)
        try:
            return dict(fit(self.base, values).params)
        except Exception:  # the points do not fit the base family as exact values
            return self.base.initial(self.base.reduce(values))

    @property
    def has_closed_form(self) -> bool:
        return self.base.name == "exponential"

    def closed_form(self, stats: Stats) -> Theta | None:
        """Right-censored (and exact) exponential lifetimes: events / total time."""
        if self.base.name != "exponential" or self.truncation is not None:
            return None
        if stats["left"].size or stats["low"].size or not stats["exact"].size:
            return None
        total = float(np.sum(stats["exact"]) + np.sum(stats["right"]))
        return {"rate": stats["exact"].size / total}

    def degenerate(self, stats: Stats, free: set[str]) -> str | None:
        return None  # check_pairs refused what has no MLE

    def default_truth(self) -> Theta | None:
        return self.base.default_truth()


def _any_theta(family: Family) -> Theta:
    return {p.name: float(p.constraint.from_unconstrained(np.zeros(1))[0]) for p in family.params}


def _truncation(truncation: Any) -> tuple[float, float] | None:
    if truncation is None:
        return None
    try:
        a, b = (float(np.inf if v is None else v) for v in truncation)
    except (TypeError, ValueError):
        raise ConfigError(
            f"truncation = {truncation!r}: expected (low, high), either side may be None"
        ) from None
    if truncation[0] is None:
        a = -np.inf
    if not a < b:
        raise ConfigError(f"truncation = ({a:g}, {b:g}): expected low < high")
    return a, b

"""A continuous family fitted to censored and/or truncated observations.

Each observation is a pair ``(low, high)``, fitdistrplus's convention: ``low == high``
an exact value, ``(-inf, c]`` left-censored at ``c`` (below a detection limit), ``(c,
inf)`` right-censored at ``c`` (still working when the test stopped), ``(l, h]`` interval
censored (failed between two inspections). Its log-likelihood is ``log f(x)``,
``log F(c)``, ``log S(c)`` or ``log(F(h) - F(l))``; truncation to ``(a, b)`` (only values
there could be recorded) subtracts ``log(F(b) - F(a))`` per observation; differences in
the tail where they do not cancel.

The parameters, constraints and parameterization are the base family's, and so are
the estimates' meaning. The likelihood goes through the base family's scipy
distribution, so every continuous built-in and every ``model=scipy`` distribution takes
censoring. The search is the generic one (numerical derivatives, observed-information
SEs), from the base family's closed form or start on the censoring points as if exact;
the right-censored exponential keeps its closed form, ``rate = events / time on test``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats.families import censored_scores
from runner.stats.families.base import Family, Stats, Theta
from runner.stats.numdiff import hessian_from_gradient


class Censored(Family):
    """``base`` with censored observations and an optional truncation ``(a, b)``."""

    min_n = 1

    def __init__(self, base: Family, truncation: tuple[float, float] | None = None):
        if base.multivariate or (base.discrete and not base.interval.integer):
            raise ConfigError(
                f"censored data are for families of one number (continuous values or "
                f"counts); {base.name} is not one"
            )
        try:
            base.scipy_dist(base.default_truth() or _any_theta(base))
        except NotImplementedError:
            raise ConfigError(
                f"{base.name} has no scipy distribution (cdf and survival function), which "
                "censored and truncated data need"
            ) from None
        self.base = base
        self.discrete = base.discrete
        self.truncation = _truncation(truncation)
        # counts: "l to h" is F(h) - F(l - 1), "l or more" S(l - 1); a truncation keeps
        # the whole numbers in [low, high]: F(floor(high)) - F(ceil(low) - 1)
        self._cut = self.truncation
        if self.discrete and self.truncation is not None:  # the whole numbers in [low, high]
            low, high = self.truncation
            self._cut = (np.ceil(low) - 1.0, np.floor(high))
        self.name = base.name
        self.parameterization = base.parameterization
        self.support = base.support
        self.interval = base.interval
        self.min_n = base.min_n
        # the uncensored family's expected information (laplace) is not the censored one's
        self.se_source = "none" if base.se_source == "none" else "observed"
        self.irregular_note = base.irregular_note
        kernel = censored_scores.kernel_for(base.name)
        # an analytic score where the built-in family has one (same parameters)
        self.kernel = kernel if kernel and tuple(base.param_names) == kernel.names else None
        self._memo: tuple[Any, Any, Any] | None = None  # (stats, theta key, weibull sums)

    @classmethod
    def for_pairs(cls, base: Family, pairs: np.ndarray,
                  truncation: tuple[float, float] | None = None) -> Censored:  # fmt: skip
        """The censored family, its base completed from the values the pairs name (a
        model=scipy threshold then stays below the smallest of them)."""
        seen = np.where(np.isfinite(pairs[:, 0]), pairs[:, 0], pairs[:, 1])
        return cls(base.for_data(seen[np.isfinite(seen)]), truncation)

    @property
    def params(self):
        return self.base.params

    def options(self) -> dict[str, Any]:
        # an open side is None (JSON has no infinity)
        extra = ({"truncation": [v if np.isfinite(v) else None for v in self.truncation]}
                 if self.truncation else {})  # fmt: skip
        return {**self.base.options(), **extra}

    # ---- data -------------------------------------------------------------------------
    def check_shape(self, values: Any) -> None:
        as_pairs(values)

    def validate(self, values: Any, check_finite: bool = True,
                 check_support: bool = True) -> np.ndarray:  # fmt: skip
        pairs = as_pairs(values)
        check_pairs(self.base, pairs)
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
        stats = reduce(np.asarray(x, dtype=float))
        if self.discrete:  # inclusive ends as the cdf's: l to h is F(h) - F(l - 1)
            stats["right"] = stats["right"] - 1.0
            stats["low"] = stats["low"] - 1.0
        return stats

    def loglik(self, stats: Stats, theta: Theta) -> Any:
        """One value, or one per grid point when the parameters are arrays (a likelihood
        surface): each through its own frozen scipy distribution."""
        shape = np.broadcast(*[np.asarray(v) for v in theta.values()]).shape
        if shape:
            flat = {k: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel()
                    for k, v in theta.items()}  # fmt: skip
            values = [self.loglik(stats, {k: v[i] for k, v in flat.items()})
                      for i in range(int(np.prod(shape)))]  # fmt: skip
            return np.asarray(values).reshape(shape)
        theta = theta_scalar(theta)
        if not all(np.isfinite(v) for v in theta.values()):
            return -np.inf
        sums = self._weibull_sums(stats, theta)
        if sums is not None:  # exact and right-censored weibull: three sums
            k, lam, d, exact_l, su, _, _ = sums
            value = d * np.log(k / lam) + (k - 1.0) * exact_l - su
            return float(value) if np.isfinite(value) else -np.inf
        try:
            dist = self.base.scipy_dist(theta)
        except (ValueError, FloatingPointError):
            return -np.inf
        exact = None
        with np.errstate(all="ignore"):
            if self.kernel is not None and stats["exact"].size:
                exact = censored_scores.exact_loglik(self.kernel, stats["exact"], theta)
            elif self.discrete:
                exact = float(np.sum(dist.logpmf(stats["exact"])))
        return loglik(dist, stats, self._cut, exact, midpoint=not self.discrete)

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
        values = pseudo_values(stats)
        if self.discrete:
            values = np.maximum(np.floor(values), self.base.interval.low)
        reduced = self.base.reduce(values)
        if self.base.has_closed_form:
            start = self.base.closed_form(reduced)
            if start is not None:
                return dict(start)
        return self.base.initial(reduced)

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

    # ---- analytic derivatives ------------------------------------------------------------
    @property
    def has_score(self) -> bool:
        return self.kernel is not None

    @property
    def has_hessian(self) -> bool:
        return self.has_score

    def score(self, stats: Stats, theta: Theta) -> Theta | None:
        """d l / d theta: for exact and right-censored weibull lifetimes from three sums
        (u = (t / scale)^k over all times, L = log(t / scale)); otherwise the kernel's
        per-observation scores (censored_scores)."""
        theta = theta_scalar(theta)
        sums = self._weibull_sums(stats, theta)
        if sums is not None:
            k, lam, d, exact_l, su, sul, _ = sums
            return {"shape": d / k + exact_l - sul, "scale": k / lam * (su - d)}
        low, high, weights = mass_intervals(stats, self._cut)
        with np.errstate(all="ignore"):
            log_m, narrow = log_mass_parts(self.base.scipy_dist(theta), low, high)
        return censored_scores.score(self.kernel, theta, stats["exact"], low, high, weights,
                                     log_m, narrow)  # fmt: skip

    def hessian(self, stats: Stats, theta: Theta) -> np.ndarray | None:
        """Analytic for exact and right-censored weibull lifetimes, else central
        differences of the analytic score (accurate to ~1e-8 relative)."""
        theta = theta_scalar(theta)
        sums = self._weibull_sums(stats, theta)
        if sums is None:
            names = self.param_names
            point = np.array([theta[n] for n in names])

            def grad(v: np.ndarray) -> np.ndarray:
                at = self.score(stats, dict(zip(names, map(float, v), strict=True)))
                return np.array([at[n] for n in names])

            return hessian_from_gradient(grad, point)
        k, lam, d, _, su, sul, sull = sums
        cross = -d / lam + su / lam + k * sul / lam
        return np.array([[-d / k**2 - sull, cross],
                         [cross, d * k / lam**2 - k * (k + 1) * su / lam**2]])  # fmt: skip

    def _weibull_sums(self, stats: Stats, theta: Theta):
        """_weibull_sums for a weibull without truncation, remembered for the last
        parameters (the likelihood, score and Hessian at one point share them)."""
        if self.base.name != "weibull" or self.kernel is None or self.truncation:
            return None
        key = (theta["shape"], theta["scale"])
        if self._memo is not None and self._memo[0] is stats and self._memo[1] == key:
            return self._memo[2]
        sums = _weibull_sums(stats, theta)
        self._memo = (stats, key, sums)
        return sums

    def without_curvature(self, stats: Stats) -> dict[str, str]:
        names = LAPLACE.get(self.base.name)
        if names is None or not stats["exact"].size:
            return {}
        mu, b = names
        return {mu: (
            f"{mu}: the censored laplace likelihood is piecewise linear in {mu} between the "
            f"exact values, so its observed information is 0 and {mu} has no Wald standard "
            f"error ({b}'s holds {mu} at its estimate)")}  # fmt: skip

    def profile_mle(self, stats: Stats, free: set[str]) -> Theta | None:
        """Right-censored (and exact) weibull lifetimes: given the shape k the scale has
        the closed form lambda^k = sum(t^k) / d over all times, d the failures, so Newton
        runs on the one-dimensional profile in k (three sums over the data a step).
        A censored laplace: its profile in mu (see _laplace_profile)."""
        if self.base.name in LAPLACE and free == set(LAPLACE[self.base.name]):
            return self._laplace_profile(stats, *LAPLACE[self.base.name])
        if self.base.name != "weibull" or free != {"shape", "scale"} or self.truncation:
            return None
        if stats["left"].size or stats["low"].size or not stats["exact"].size:
            return None
        return _weibull_right_censored(stats["exact"], stats["right"],
                                       float(self.initial(stats)["shape"]))  # fmt: skip

    def _laplace_profile(self, stats: Stats, mu_name: str, b_name: str) -> Theta | None:
        """The censored laplace likelihood has kinks in mu at the exact values, where a
        gradient search stalls short of the optimum. Given mu it is smooth in b (Brent in
        log b); the profile in mu is maximised by Brent, then at the exact values next to
        that point, where a maximum on a kink sits. Up to LAPLACE_PROFILE_N observations
        (each profile point costs a 1-D search)."""
        from scipy.optimize import minimize_scalar

        if stats["n"] > LAPLACE_PROFILE_N:
            return None
        values = pseudo_values(stats)
        spread = float(np.mean(np.abs(values - np.median(values)))) or 1.0

        def best_b(mu: float) -> tuple[float, float]:
            found = minimize_scalar(
                lambda log_b: -self.loglik(stats, {mu_name: mu, b_name: float(np.exp(log_b))}),
                bounds=(np.log(spread) - 30, np.log(spread) + 30), method="bounded",
                options={"xatol": 1e-13, "maxiter": 500})  # fmt: skip
            return float(np.exp(found.x)), -float(found.fun)

        low, high = float(values.min()), float(values.max())
        found = minimize_scalar(lambda mu: -best_b(mu)[1], bounds=(low, high),
                                method="bounded", options={"xatol": 1e-12 * spread})  # fmt: skip
        exact = np.sort(stats["exact"])
        at = int(np.searchsorted(exact, found.x))
        candidates = [float(found.x), *exact[max(at - 3, 0) : at + 3]]
        fits = [(best_b(mu), mu) for mu in candidates]
        (b, value), mu = max(fits, key=lambda f: f[0][1])
        return {mu_name: mu, b_name: b} if np.isfinite(value) else None

    def degenerate(self, stats: Stats, free: set[str]) -> str | None:
        return None  # check_pairs refused what has no MLE

    def default_truth(self) -> Theta | None:
        return self.base.default_truth()


def _weibull_right_censored(exact: np.ndarray, right: np.ndarray, k: float) -> Theta | None:
    """Newton on the weibull profile log-likelihood in the shape (see profile_mle):
    l(k) = d log k - d log(sum t^k / d) + (k - 1) sum_exact log t - d."""
    logs = np.log(np.concatenate([exact, right]))
    d, exact_logs = exact.size, float(np.sum(np.log(exact)))
    top = float(np.max(logs))
    centred = logs - top
    if not (np.isfinite(k) and k > 0):
        k = 1.0
    for _ in range(100):
        w = np.exp(k * centred)  # t^k / top^k: no overflow
        s0, s1, s2 = float(w.sum()), float(w @ logs), float(w @ (logs * logs))
        mean1, var = s1 / s0, s2 / s0 - (s1 / s0) ** 2
        grad = d / k - d * mean1 + exact_logs
        hess = -d / k**2 - d * var
        step = -grad / hess
        while k + step <= 0:  # stay in k > 0
            step /= 2
        k += step
        if abs(step) <= 1e-13 * k:
            break
    else:
        return None
    w = np.exp(k * centred)
    log_scale = (np.log(w.sum() / d) + k * top) / k
    return {"shape": k, "scale": float(np.exp(log_scale))}


def _weibull_sums(stats: Stats, theta: Theta):
    """(k, lambda, d, sum_exact L, sum u, sum u L, sum u L^2) for exact and right-censored
    times, or None where other kinds of censoring are present."""
    if stats["left"].size or stats["low"].size:
        return None
    k, lam = float(theta["shape"]), float(theta["scale"])
    times = np.concatenate([stats["exact"], stats["right"]])
    logs = np.log(times / lam)
    with np.errstate(over="ignore"):
        u = np.exp(k * logs)
    d = stats["exact"].size
    return (k, lam, d, float(np.sum(logs[:d])), float(u.sum()), float(u @ logs),
            float(u @ (logs * logs)))  # fmt: skip


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


# ---- the likelihood of (low, high) pairs ------------------------------------------------
KINDS = ("exact", "left", "right", "interval")
NARROW = 1e-7  # |log F(h) - log F(l)| below this: the interval's mass by the midpoint rule
LAPLACE_PROFILE_N = 100_000  # a censored laplace fits by its profile in mu up to this n
LAPLACE = {"laplace": ("mu", "b"), "scipy.laplace": ("loc", "scale")}  # (location, scale)


def as_pairs(data: Any) -> np.ndarray:
    """``(n, 2)`` float pairs from a ``scipy.stats.CensoredData`` or pairs already."""
    from scipy.stats import CensoredData

    if isinstance(data, CensoredData):
        exact = np.asarray(data._uncensored, dtype=float)
        left = np.asarray(data._left, dtype=float)
        right = np.asarray(data._right, dtype=float)
        interval = np.asarray(data._interval, dtype=float).reshape(-1, 2)
        return np.concatenate([
            np.column_stack([exact, exact]),
            np.column_stack([np.full(left.size, -np.inf), left]),
            np.column_stack([right, np.full(right.size, np.inf)]),
            interval,
        ])  # fmt: skip
    pairs = np.asarray(data, dtype=float)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise DataError(
            f"censored data are (low, high) pairs, one row per observation; got shape {pairs.shape}"
        )
    return pairs


def kinds(pairs: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of the exact, left-, right- and interval-censored rows."""
    low, high = pairs[:, 0], pairs[:, 1]
    exact = low == high
    left = (low == -np.inf) & ~exact
    right = (high == np.inf) & ~exact & ~left
    return {"exact": exact, "left": left, "right": right,
            "interval": ~(exact | left | right)}  # fmt: skip


def check_pairs(family: Family, pairs: np.ndarray) -> None:
    """Refuse what no likelihood can use, naming the row: NaN, low > high, both sides open,
    a value outside the family's support, every observation censored on one side."""
    low, high = pairs[:, 0], pairs[:, 1]
    problems = [
        (np.isnan(low) | np.isnan(high), "is missing (NaN)"),
        (low > high, "has low > high"),
        (np.isneginf(low) & np.isposinf(high), "is censored on both sides (says nothing)"),
        (np.isinf(low) & (low == high), "is infinite"),
    ]
    for bad, what in problems:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"observation {i + 1} ({low[i]:g}, {high[i]:g}) {what}; censored data are "
                "(low, high) pairs: equal for an exact value, low = -inf left-censored, "
                "high = inf right-censored, low < high an interval"
            )
    support = family.interval
    if support.integer:
        finite = pairs[np.isfinite(pairs)]
        whole = np.floor(finite) == finite
        if not whole.all():
            raise DataError(
                f"{finite[np.flatnonzero(~whole)[0]]:g} is not a whole number; censored "
                f"counts for {family.name} are whole numbers: (l, l) a count, (l, inf) l or "
                "more, (-inf, h) h or fewer, (l, h) from l to h (ends included)"
            )
    masks = kinds(pairs)
    exact = low[masks["exact"]]
    bounds = np.concatenate([low[~masks["exact"]], high[~masks["exact"]]])
    bounds = bounds[np.isfinite(bounds)]  # an interval may end at the support's edge
    for values, ok, what in (
        (exact, support.mask(exact), "an exact value"),
        (bounds, (bounds >= support.low) & (bounds <= support.high), "a censoring value"),
    ):
        if values.size and not ok.all():
            value = float(values[np.flatnonzero(~ok)[0]])
            raise DataError(
                f"{what} {value:g} is outside the support of {family.name} "
                f"({family.support or 'its support'})"
            )
    if not masks["exact"].any() and not masks["interval"].any():
        side = "right" if masks["right"].all() else "left" if masks["left"].all() else None
        if side:
            raise DataError(
                f"every observation is {side}-censored: the likelihood grows as "
                f"{family.name} moves {'up' if side == 'right' else 'down'} without bound, "
                "so there is no MLE; exact values or intervals are needed"
            )


def censor_at(values: np.ndarray, limit: np.ndarray | float) -> np.ndarray:
    """Pairs of values seen up to ``limit`` (exact) and right-censored there beyond it."""
    x = np.asarray(values, dtype=float)
    limit = np.broadcast_to(np.asarray(limit, dtype=float), x.shape)
    seen = x <= limit
    return np.column_stack([np.where(seen, x, limit), np.where(seen, x, np.inf)])


def counts(pairs: np.ndarray) -> dict[str, int]:
    return {k: int(v.sum()) for k, v in kinds(pairs).items()}


def reduce(pairs: np.ndarray) -> Stats:
    masks = kinds(pairs)
    return {
        "n": int(pairs.shape[0]),
        "exact": pairs[masks["exact"], 0],
        "left": pairs[masks["left"], 1],
        "right": pairs[masks["right"], 0],
        "low": pairs[masks["interval"], 0],
        "high": pairs[masks["interval"], 1],
    }


def loglik(dist: Any, stats: Stats, truncation: tuple[float, float] | None = None,
           exact: float | None = None, midpoint: bool = True) -> float:  # fmt: skip
    """The censored (and truncated) log-likelihood under a frozen scipy distribution
    (``exact``: the exact values' part, when the caller has it in closed form). Under
    truncation to (a, b) a censored value's mass is what lies inside (a, b): left-censored
    at c is the interval (a, c], right-censored (c, b). ``midpoint``: narrow intervals by
    the midpoint rule (densities; counts have masses that need none)."""
    with np.errstate(all="ignore"):
        total = float(np.sum(dist.logpdf(stats["exact"]))) if exact is None else exact
        if truncation is None:  # one side's tail: scipy's logcdf / logsf directly
            if stats["left"].size:
                total += float(np.sum(dist.logcdf(stats["left"])))
            if stats["right"].size:
                total += float(np.sum(dist.logsf(stats["right"])))
            low, high = stats["low"], stats["high"]
            if low.size:
                total += float(np.sum(log_mass_parts(dist, low, high, midpoint)[0]))
        else:
            low, high, weights = mass_intervals(stats, truncation)
            total += float(log_mass_parts(dist, low, high, midpoint)[0] @ weights)
    return total if not np.isnan(total) else -np.inf


def mass_intervals(stats: Stats, truncation: tuple[float, float] | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Every censored value's interval ``(low, high)`` with its weight in the likelihood
    (1 each), clipped to the truncation ``(a, b)``, whose own mass counts ``-n`` times."""
    a, b = truncation if truncation is not None else (-np.inf, np.inf)
    left, right = stats["left"], stats["right"]
    low = [np.full(left.shape, a), right, np.maximum(stats["low"], a)]
    high = [left, np.full(right.shape, b), np.minimum(stats["high"], b)]
    weights = [np.ones(left.size + right.size + stats["low"].size)]
    if truncation is not None:
        low.append(np.array([a]))
        high.append(np.array([b]))
        weights.append(np.array([-float(stats["n"])]))
    return np.concatenate(low), np.concatenate(high), np.concatenate(weights)


def log_mass(dist: Any, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``log(F(high) - F(low))`` without cancellation (see log_mass_parts)."""
    return log_mass_parts(dist, low, high)[0]


def log_mass_parts(dist: Any, low: np.ndarray, high: np.ndarray, midpoint: bool = True
                   ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``log(F(high) - F(low))`` without cancellation: from the cdf in the lower half,
    from the survival function in the upper, ``log(1 - e^d)`` by the log1mexp switch;
    an interval too narrow for the cdf to tell its ends apart is ``f(mid) (high - low)``
    (the second array marks those)."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    upper = dist.cdf(low) > 0.5
    out = np.empty(low.shape)
    gap = np.zeros(low.shape)  # the ends' log-cdf (log-sf) difference
    lo, hi = low[~upper], high[~upper]
    if lo.size:
        f_hi, f_lo = dist.logcdf(hi), dist.logcdf(lo)
        gap[~upper] = f_lo - f_hi
        out[~upper] = f_hi + _log1mexp(f_lo - f_hi)
    lo, hi = low[upper], high[upper]
    if lo.size:
        s_lo, s_hi = dist.logsf(lo), dist.logsf(hi)
        gap[upper] = s_hi - s_lo
        out[upper] = s_lo + _log1mexp(s_hi - s_lo)
    # ends within 1e-7 of each other in log-cdf: the difference would keep only its
    # leading digits, the midpoint rule all of them (its error is (h - l)^2 relative)
    narrow = (~np.isfinite(out) | (np.abs(gap) < NARROW)) & (high > low)
    narrow &= np.isfinite(low) & np.isfinite(high) & midpoint
    if narrow.any():
        mid = 0.5 * (low[narrow] + high[narrow])
        out[narrow] = dist.logpdf(mid) + np.log(high[narrow] - low[narrow])
    return out, narrow


def _log1mexp(d: np.ndarray) -> np.ndarray:
    """log(1 - e^d) for d <= 0, accurate near 0 and far below (Maechler 2012)."""
    d = np.asarray(d, dtype=float)
    near = d > -np.log(2.0)
    with np.errstate(divide="ignore"):  # d = 0 (an empty interval): -inf
        return np.where(near, np.log(-np.expm1(np.where(near, d, -1.0))),
                        np.log1p(-np.exp(np.where(near, -1.0, d))))  # fmt: skip


def pseudo_values(stats: Stats) -> np.ndarray:
    """Values standing in for the observations (censoring points, interval midpoints):
    a start for the search, not an estimate."""
    mids = 0.5 * (stats["low"] + stats["high"])
    return np.concatenate([stats["exact"], stats["left"], stats["right"], mids])


def describe(pairs: np.ndarray, truncation: tuple[float, float] | None = None) -> str:
    """ "censored data: 80 exact, 20 right-censored" (what the result says it used)."""
    found = counts(pairs)
    words = {"exact": "exact", "left": "left-censored", "right": "right-censored",
             "interval": "interval-censored"}  # fmt: skip
    parts = [f"{found[k]:,} {words[k]}" for k in KINDS if found[k]]
    if parts == [f"{found['exact']:,} exact"]:
        text = f"{found['exact']:,} exact values"
    else:
        text = "censored data: " + ", ".join(parts)
    if truncation is not None:
        text += f"; truncated to ({truncation[0]:g}, {truncation[1]:g})"
    return text


def theta_scalar(theta: Theta) -> Theta:
    return {k: float(v) for k, v in theta.items()}

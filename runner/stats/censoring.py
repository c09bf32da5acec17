"""Censored and truncated observations: a family's likelihood when not every value is
seen exactly.

Each observation is a pair ``(low, high)``, fitdistrplus's convention: ``low == high``
an exact value, ``(-inf, c]`` left-censored at ``c`` (below a detection limit), ``(c,
inf)`` right-censored at ``c`` (still working when the test stopped), ``(l, h]`` interval
censored (failed between two inspections). Its log-likelihood is ``log f(x)``,
``log F(c)``, ``log S(c)`` or ``log(F(h) - F(l))``; truncation to ``(a, b)`` (only values
there could be recorded) subtracts ``log(F(b) - F(a))`` per observation. All through the
family's scipy distribution (``logpdf``, ``logcdf``, ``logsf``), differences in the tail
where they do not cancel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runner.errors import DataError
from runner.stats.families.base import Family, Stats, Theta

KINDS = ("exact", "left", "right", "interval")


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
            f"censored data are (low, high) pairs, one row per observation; got shape "
            f"{pairs.shape}"
        )
    return pairs


def kinds(pairs: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of the exact, left-, right- and interval-censored rows."""
    low, high = pairs[:, 0], pairs[:, 1]
    exact = low == high
    left = np.isneginf(low) & ~exact
    right = np.isposinf(high) & ~exact & ~left
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


def loglik(dist: Any, stats: Stats, truncation: tuple[float, float] | None = None) -> float:
    """The censored (and truncated) log-likelihood under a frozen scipy distribution."""
    total = 0.0
    with np.errstate(all="ignore"):
        if stats["exact"].size:
            total += float(np.sum(dist.logpdf(stats["exact"])))
        if stats["left"].size:
            total += float(np.sum(dist.logcdf(stats["left"])))
        if stats["right"].size:
            total += float(np.sum(dist.logsf(stats["right"])))
        if stats["low"].size:
            total += float(np.sum(log_mass(dist, stats["low"], stats["high"])))
        if truncation is not None:
            a, b = truncation
            total -= stats["n"] * float(log_mass(dist, np.array([a]), np.array([b]))[0])
    return total if not np.isnan(total) else -np.inf


def log_mass(dist: Any, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``log(F(high) - F(low))`` without cancellation: from the cdf in the lower half,
    from the survival function in the upper (``log S(l) + log1p(-S(h)/S(l))``)."""
    upper = dist.cdf(low) > 0.5
    out = np.empty(low.shape)
    lo, hi = low[~upper], high[~upper]
    if lo.size:
        f_hi, f_lo = dist.logcdf(hi), dist.logcdf(lo)
        out[~upper] = f_hi + np.log1p(-np.exp(f_lo - f_hi))
    lo, hi = low[upper], high[upper]
    if lo.size:
        s_lo, s_hi = dist.logsf(lo), dist.logsf(hi)
        out[upper] = s_lo + np.log1p(-np.exp(s_hi - s_lo))
    return out


def pseudo_values(stats: Stats) -> np.ndarray:
    """Values standing in for the observations (censoring points, interval midpoints):
    a start for the search, not an estimate."""
    mids = 0.5 * (stats["low"] + stats["high"])
    return np.concatenate([stats["exact"], stats["left"], stats["right"], mids])


def describe(pairs: np.ndarray, truncation: tuple[float, float] | None = None) -> str:
    """"censored data: 80 exact, 20 right-censored" (what the result says it used)."""
    found = counts(pairs)
    words = {"exact": "exact", "left": "left-censored", "right": "right-censored",
             "interval": "interval-censored"}  # fmt: skip
    parts = [f"{found[k]:,} {words[k]}" for k in KINDS if found[k]]
    text = "censored data: " + ", ".join(parts)
    if truncation is not None:
        text += f"; truncated to ({truncation[0]:g}, {truncation[1]:g})"
    return text


def theta_scalar(theta: Theta) -> Theta:
    return {k: float(v) for k, v in theta.items()}

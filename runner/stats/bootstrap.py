"""The bootstrap: the sampling spread of the MLE from refits of resampled data, and the
percentile and BCa intervals read from it.

- ``parametric``: each replicate is a sample of the data's size drawn from the fitted
  family at ``theta_hat``; where the family knows the exact law of its sufficient
  statistics (``Family.sample_stats``), those are drawn instead of the data, O(1) per
  replicate whatever ``n`` is.
- ``nonparametric``: each replicate resamples the observations with replacement (one
  ``(replicates, n)`` array of row indices per chunk; univariate data only).

Replicates are reduced along the last axis and refitted as one batch
(``runner.stats.batch.fit_batch``) in memory-bounded chunks, with the convergence study's
helpers (``study._chunks``, ``study.mle_exists``): a resample whose MLE does not exist
(a constant resample of gaussian data) is NaN, counted in ``failed`` and explained by an
example in ``why``, as a study counts its replicates, instead of stopping 999 good refits.
Intervals use the finite replicates and say so when some are missing: they are then
conditional on the MLE existing.

One ``seed`` drives every draw (``numpy.random.default_rng(seed)``); the same seed and
``max_memory_mb`` give the same replicates. Nonparametric index draws are
``rng.integers(0, n, (count, n))`` per chunk, the draws ``scipy.stats.bootstrap`` makes, so
with one chunk the same seed resamples the same rows as scipy does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from runner.errors import ConfigError, DataError
from runner.stats.batch import fit_batch
from runner.stats.families.base import Family, Theta
from runner.stats.study import _chunks, _flat, draw_stats, mle_exists

KINDS = ("parametric", "nonparametric")
MIN_REPLICATES = 2
LEVEL = 0.95
# The jackknife behind BCa's acceleration leaves out one observation up to this many
# observations (an (n, n - 1) batch, at most 10^6 values), and this many groups beyond.
JACKKNIFE_GROUPS = 1000

SOURCES = {
    "stats": "statistics drawn from their exact law at the estimate",
    "draws": "samples drawn from the fitted family",
    "rows": "observations resampled with replacement",
}


@dataclass
class BootstrapResult:
    """Refitted estimates of every replicate, per parameter component (NaN where that
    replicate has no MLE), and how they were made."""

    kind: str  # "parametric" or "nonparametric"
    replicates: int
    seed: int
    n: int  # observations per replicate (the data's size)
    estimates: dict[str, np.ndarray]
    failed: int = 0  # replicates without an MLE (NaN in ``estimates``)
    why: str | None = None  # an example of why one had none, in the family's words
    source: str = ""  # what a replicate is: a key of SOURCES

    def finite(self, name: str) -> np.ndarray:
        """The replicates of ``name`` that have an estimate."""
        values = np.asarray(self.estimates[name], dtype=float)
        return values[np.isfinite(values)]

    def std_error(self, name: str) -> float:
        """The bootstrap standard error: the spread (ddof 1) of the finite replicates."""
        values = self.finite(name)
        return float(np.std(values, ddof=1)) if values.size >= 2 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """The settings and counts (not the replicates: those go to the CSV, ``to_frame``)."""
        return {
            "kind": self.kind, "replicates": self.replicates, "seed": self.seed,
            "n": self.n, "failed": self.failed, "why": self.why,
            "source": SOURCES.get(self.source, self.source),
            "std_error": {k: self.std_error(k) for k in self.estimates},
        }  # fmt: skip


@dataclass(frozen=True)
class BootstrapInterval:
    """One parameter's bootstrap interval, or why there is none (``low``/``high`` None)."""

    name: str
    method: str  # "percentile" or "bca"
    level: float
    low: float | None
    high: float | None
    why: str | None = None  # why there is no interval
    notes: tuple[str, ...] = ()  # what a reader must know about the one there is
    z0: float | None = None  # BCa: bias correction
    acceleration: float | None = None  # BCa: from the jackknife
    levels: tuple[float, float] | None = None  # the quantile levels the ends were read at

    @property
    def bounds(self) -> tuple[float, float] | None:
        """``(low, high)``, or None where there is no interval."""
        return None if self.low is None or self.high is None else (self.low, self.high)


@dataclass
class Jackknife:
    """Estimates with one group of observations left out, per parameter component."""

    estimates: dict[str, np.ndarray]
    group_size: int  # 1: the ordinary leave-one-out jackknife
    kept: int  # observations in no group (fewer than group_size; never left out)
    failed: int = 0
    why: str | None = None


def bootstrap(
    family: Family,
    x: np.ndarray,
    theta_hat: Mapping[str, Any],
    kind: str = "parametric",
    replicates: int = 1000,
    seed: int = 0,
    max_memory_mb: float = 512,
) -> BootstrapResult:
    """Refit ``replicates`` bootstrap samples of ``x`` (as ``family.validate`` returned it)
    around the fit ``theta_hat`` (the family's parameters, as ``Fit.params``)."""
    _check(family, x, kind, replicates)
    theta = family.check_theta(theta_hat, "theta_hat")
    n = family.sample_size(x)
    rng = np.random.default_rng(seed)
    parts: list[dict[str, np.ndarray]] = []
    failed, why, source = 0, None, "rows"
    for _, count in _chunks(replicates, n, max_memory_mb):
        if kind == "nonparametric":
            stats = family.reduce(x[rng.integers(0, n, (count, n))])
        else:
            stats, exact = _draw_stats(family, theta, n, count, rng)
            source = "stats" if exact else "draws"
        estimates, missing, reason = _refit(family, stats)
        failed, why = failed + missing, why or reason
        parts.append(estimates)
    estimates = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return BootstrapResult(kind, replicates, seed, n, estimates, failed, why, source)


def _refit(family: Family, stats) -> tuple[dict[str, np.ndarray], int, str | None]:
    """A batch's estimates (NaN where a row has no MLE), how many have none, and why."""
    with np.errstate(all="ignore"):
        fitted = fit_batch(family, stats)
        exists, reason = mle_exists(family, stats, fitted)
    estimates = {k: np.where(exists, np.asarray(v, dtype=float), np.nan)
                 for k, v in fitted.estimate.items()}  # fmt: skip
    return estimates, int(np.count_nonzero(~exists)), reason


def flat_estimate(family: Family, theta_hat: Mapping[str, Any]) -> dict[str, float]:
    """``theta_hat`` by component name (``p.A``, ``p.B`` for a vector), as the replicates."""
    return _flat(family, dict(theta_hat))


def to_frame(result: BootstrapResult):
    """The replicates as a tidy frame: one row per (replicate, parameter), for the CSV."""
    import pandas as pd

    replicate = np.arange(result.replicates)
    return pd.concat(
        [pd.DataFrame({"replicate": replicate, "parameter": name, "estimate": values})
         for name, values in result.estimates.items()],
        ignore_index=True,
    )  # fmt: skip


# ---- intervals -----------------------------------------------------------------------------
def percentile_interval(
    result: BootstrapResult, name: str, level: float = LEVEL
) -> BootstrapInterval:
    """The ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the replicates: right
    where the estimate's law is a monotone transform of a symmetric one about the truth."""
    _check_level(level)
    values, trouble = _usable(result, name, level)
    if trouble:
        return BootstrapInterval(name, "percentile", level, None, None, why=trouble)
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return BootstrapInterval(name, "percentile", level, float(low), float(high),
                             notes=_missing_note(result), levels=(alpha, 1 - alpha))  # fmt: skip


def bca_interval(
    result: BootstrapResult,
    family: Family,
    x: np.ndarray,
    theta_hat: Mapping[str, Any],
    name: str,
    level: float = LEVEL,
    jackknife: Jackknife | None = None,
) -> BootstrapInterval:
    """Efron's bias-corrected and accelerated interval (Efron and Tibshirani 1993, 14.3).

    The ends are the replicates' quantiles at ``Phi(z0 + (z0 + z) / (1 - a (z0 + z)))``
    for ``z = Phi^-1`` of each percentile end: ``z0`` is ``Phi^-1`` of the share of
    replicates below the estimate (ties count half, as scipy), correcting a median bias;
    the acceleration ``a = sum d^3 / (6 (sum d^2)^1.5)``, ``d`` the jackknife estimates'
    deviations from their mean, corrects a standard error that changes with the parameter.
    The jackknife (``jackknife()``) is exact up to ``JACKKNIFE_GROUPS`` observations and
    grouped beyond; pass one in to share it between parameters (``intervals`` does). For
    a parametric bootstrap the acceleration is the same nonparametric jackknife's, the
    usual approximation. The result is transformation-respecting and second-order accurate.
    """
    _check_level(level)
    values, trouble = _usable(result, name, level)
    if trouble:
        return BootstrapInterval(name, "bca", level, None, None, why=trouble)
    estimate = flat_estimate(family, theta_hat)[name]
    share = (np.count_nonzero(values < estimate) + np.count_nonzero(values <= estimate)) / (
        2 * values.size
    )
    if share <= 0 or share >= 1:
        side = "above" if share <= 0 else "below"
        return BootstrapInterval(name, "bca", level, None, None, why=(
            f"every bootstrap estimate of {name} lies {side} the estimate {estimate:.6g}: "
            "BCa's bias correction z0 is infinite (use the percentile interval)"))  # fmt: skip
    z0 = float(special.ndtri(share))
    jack = jackknife if jackknife is not None else _jackknife_for(result, family, x)
    if jack.failed:
        why = (f"BCa's acceleration needs every jackknife estimate, and {jack.failed:,} of "
               f"the {_groups_text(jack)} have no MLE ({jack.why}); use the percentile "
               "interval")  # fmt: skip
        return BootstrapInterval(name, "bca", level, None, None, z0=z0, why=why)
    a = acceleration(jack.estimates[name])
    alpha = (1 - level) / 2
    ends = []
    for z in (special.ndtri(alpha), special.ndtri(1 - alpha)):
        denominator = 1 - a * (z0 + z)
        if denominator <= 0:
            return BootstrapInterval(name, "bca", level, None, None, z0=z0, acceleration=a,
                                     why=(f"the acceleration a = {a:.3g} is too large for a "
                                          f"{level:.0%} BCa interval (1 - a (z0 + z) <= 0): "
                                          "use the percentile interval"))  # fmt: skip
        ends.append(float(special.ndtr(z0 + (z0 + z) / denominator)))
    low, high = np.quantile(values, ends)
    notes = list(_missing_note(result))
    if min(ends[0], 1 - ends[1]) * values.size < 1:
        notes.append(
            f"the BCa levels ({ends[0]:.4f}, {ends[1]:.4f}) reach beyond the "
            f"{values.size:,} replicates' extremes: an end is the extreme replicate; use "
            "more replicates"
        )
    if jack.group_size > 1:
        notes.append(f"acceleration from a grouped jackknife ({_groups_text(jack)})")
    return BootstrapInterval(name, "bca", level, float(low), float(high), notes=tuple(notes),
                             z0=z0, acceleration=a, levels=(ends[0], ends[1]))  # fmt: skip


def intervals(
    result: BootstrapResult,
    family: Family,
    x: np.ndarray,
    theta_hat: Mapping[str, Any],
    method: str = "percentile",
    level: float = LEVEL,
) -> dict[str, BootstrapInterval]:
    """Every parameter component's interval by ``method`` ("percentile" or "bca"), the
    jackknife computed once for all of them."""
    if method == "percentile":
        return {k: percentile_interval(result, k, level) for k in result.estimates}
    if method != "bca":
        raise ConfigError(f"bootstrap interval method {method!r}: choose percentile or bca")
    jack = _jackknife_for(result, family, x)
    return {k: bca_interval(result, family, x, theta_hat, k, level, jack)
            for k in result.estimates}  # fmt: skip


def acceleration(jackknifed: np.ndarray) -> float:
    """BCa's ``a`` from jackknife estimates: their skewness / 6, as Efron's (14.15); 0
    where they do not vary (no sign of a standard error that changes)."""
    d = np.mean(jackknifed) - np.asarray(jackknifed, dtype=float)
    spread = float(np.sum(d * d))
    return float(np.sum(d**3) / (6 * spread**1.5)) if spread > 0 else 0.0


def jackknife(
    family: Family,
    x: np.ndarray,
    groups: int = JACKKNIFE_GROUPS,
    seed: int = 0,
    max_memory_mb: float = 512,
) -> Jackknife:
    """Refits with one group of observations left out, batched through ``fit_batch``.

    Up to ``groups`` observations each group is one observation: the ordinary jackknife,
    an ``(n, n - 1)`` batch, in the data's order. Beyond, the observations are shuffled
    (``seed``) into ``n // m`` groups of ``m = ceil(n / groups)``, the few left over
    (fewer than ``m``) kept in every refit. The delete-a-group estimates give the same
    acceleration to first order (third and second cumulants of group sums scale alike),
    with more Monte Carlo noise, at the cost of ``groups`` refits of ``n - m`` values
    rather than ``n`` of ``n - 1``: for n = 10^6, 10^9 values, against 10^12.
    """
    n = family.sample_size(x)
    if n < 2:
        raise DataError("the jackknife needs at least 2 observations")
    size = 1 if n <= groups else -(-n // groups)
    count = n // size
    order = np.arange(n) if size == 1 else np.random.default_rng([seed, 1]).permutation(n)
    width = n - size
    base = np.arange(width)
    parts: list[dict[str, np.ndarray]] = []
    failed, why = 0, None
    for first, chunk in _chunks(count, width, max_memory_mb):
        starts = (first + np.arange(chunk))[:, None] * size
        rows = order[base + np.where(base >= starts, size, 0)]
        estimates, missing, reason = _refit(family, family.reduce(x[rows]))
        failed, why = failed + missing, why or reason
        parts.append(estimates)
    estimates = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return Jackknife(estimates, size, n - count * size, failed, why)


# ---- internals ------------------------------------------------------------------------------
def _check(family: Family, x: np.ndarray, kind: str, replicates: Any) -> None:
    """Refuse what the bootstrap cannot do, before any work, saying what would work."""
    if kind not in KINDS:
        raise ConfigError(
            f"inference.bootstrap.kind = {kind!r}: choose parametric (draws from the fitted "
            "family) or nonparametric (the observations resampled with replacement)"
        )
    whole = isinstance(replicates, (int, np.integer)) and not isinstance(replicates, bool)
    if not whole or replicates < MIN_REPLICATES:
        raise ConfigError(
            f"inference.bootstrap.replicates = {replicates!r}: expected an integer >= "
            f"{MIN_REPLICATES} (a spread needs two replicates; a 95% interval's ends need "
            "40, and 1000 or more give two-digit ends)"
        )
    if family.multivariate or np.ndim(x) != 1:
        what = "multivariate" if family.multivariate else f"data of shape {np.shape(x)}"
        raise ConfigError(
            f"the bootstrap works with univariate families and one column of values; "
            f"{family.name} has {what} (censored pairs and multivariate rows are not "
            "resampled yet)"
        )
    n = family.sample_size(x)
    if n < max(family.min_n, 1):
        raise DataError(
            f"the bootstrap needs at least {max(family.min_n, 1)} observations for "
            f"{family.name}; got {n}"
        )


def _draw_stats(family: Family, theta: Theta, n: int, count: int, rng: np.random.Generator):
    try:
        return draw_stats(family, theta, n, count, rng)
    except NotImplementedError:
        raise ConfigError(
            f"{family.name} cannot draw samples, which a parametric bootstrap needs: use "
            "inference.bootstrap.kind=nonparametric"
        ) from None


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ConfigError(f"interval level {level!r}: expected a number between 0 and 1")


def _usable(result: BootstrapResult, name: str, level: float) -> tuple[np.ndarray, str | None]:
    """The finite replicates of ``name``, or why they cannot give an interval: too few
    for its ends to be more than the extremes, or all equal."""
    if name not in result.estimates:
        raise KeyError(f"{name!r} is not a bootstrapped parameter: {list(result.estimates)}")
    values = result.finite(name)
    needed = max(MIN_REPLICATES, math.ceil(2 / (1 - level)))
    if values.size < needed:
        lost = f" ({result.failed:,} have no MLE: {result.why})" if result.failed else ""
        return values, (
            f"only {values.size:,} of {result.replicates:,} bootstrap replicates of {name} have "
            f"an estimate{lost}; a {level:.0%} interval's ends need at least {needed}"
        )
    if values.min() == values.max():
        return values, (
            f"every bootstrap estimate of {name} equals {values[0]:.6g}: the replicates "
            "have no spread to form an interval from (the data or the fit leave nothing "
            "to vary, e.g. p = 0)"
        )
    return values, None


def _missing_note(result: BootstrapResult) -> tuple[str, ...]:
    if not result.failed:
        return ()
    return (
        f"{result.failed:,} of {result.replicates:,} replicates have no MLE ({result.why}) "
        "and are left out: the interval is conditional on the MLE existing",
    )


def _jackknife_for(result: BootstrapResult, family: Family, x: np.ndarray) -> Jackknife:
    return jackknife(family, x, seed=result.seed)


def _groups_text(jack: Jackknife) -> str:
    count = len(next(iter(jack.estimates.values())))
    if jack.group_size == 1:
        return f"{count:,} leave-one-out refits"
    kept = f", {jack.kept} never left out" if jack.kept else ""
    return f"{count:,} groups of {jack.group_size:,} observations{kept}"


def attach(fit: Any, family: Family, x: np.ndarray, kind: str = "parametric",
           replicates: int = 1000, seed: int = 0) -> BootstrapResult:  # fmt: skip
    """A fit's 95% intervals by the bootstrap: each estimate's ``ci`` becomes its BCa
    interval (the percentile one where BCa has none), both kept in ``intervals``; notes
    say what failed. Held parameters are refused: the refits estimate every one."""
    held = [e.name for e in fit.estimates if e.fixed]
    if held:
        raise ConfigError(f"inference.ci=bootstrap refits every parameter; {', '.join(held)} "
                          "held (model.fixed) is not supported with it")  # fmt: skip
    result = bootstrap(family, x, fit.params, kind, replicates, seed)
    percentile = intervals(result, family, x, fit.params, "percentile")
    bca = intervals(result, family, x, fit.params, "bca")
    notes: list[str] = []
    for e in fit.estimates:
        if e.on_boundary or e.name not in percentile:
            continue
        found = {"bootstrap (percentile)": percentile[e.name], "bootstrap (BCa)": bca[e.name]}
        e.intervals = {m: i.bounds for m, i in found.items() if i.bounds is not None}
        best = next((m for m in ("bootstrap (BCa)", "bootstrap (percentile)")
                     if m in e.intervals), None)  # fmt: skip
        e.ci, e.ci_method = (e.intervals[best], best) if best else (None, None)
        for method, interval in found.items():
            if interval.why:
                notes.append(f"{e.name}: no {method} interval: {interval.why}")
            notes.extend(f"{e.name}, {method}: {note}" for note in interval.notes)
    fit.notes.append(f"{kind} bootstrap: {replicates:,} refits, seed {seed}"
                     + (f", {result.failed:,} without an MLE" if result.failed else ""))
    fit.notes.extend(dict.fromkeys(notes))
    return result

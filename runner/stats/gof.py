"""Goodness of fit: how far the fitted distribution is from the data, and how surprising
that distance is for data that really came from the fitted family.

Continuous univariate fits get the three EDF statistics of ``scipy.stats.goodness_of_fit``
with its definitions (``ks``: Kolmogorov-Smirnov ``D``; ``cvm``: Cramer-von Mises ``W^2``;
``ad``: Anderson-Darling ``A^2``), evaluated at the fit. Count families get Pearson's
chi-squared on cells of the support merged until each expects at least 5 observations.

Their textbook p-values assume the parameters were not estimated from the same data, so
they are too large (Lilliefors). The p-values here come from a parametric bootstrap that
re-estimates on each replicate, as scipy's does: ``R`` samples of the data's size are drawn
from the fit, each is fitted again (parameters the user held stay held), and each
replicate's statistic is taken at its own estimate; ``p = (1 + #{T* >= T}) / (1 + R)``
with scipy's tolerance for ties. The replicates are one ``(R, n)`` array per chunk: drawn,
reduced and refitted as a batch (``batch.fit_batch``), sorted along the rows and turned into
statistics with array operations. ``fit_batch`` holds no parameters, so with ``fixed`` the
refits are one ``fit_validated`` per replicate (the statistics stay batched); replicates
whose refit fails are left out and counted. The chi-squared's asymptotic p-value (``cells - 1 -
free`` degrees of freedom) is given beside its bootstrap one: for an MLE from the ungrouped
data it lies between two chi-squared laws (Chernoff-Lehmann), so it is approximate.

``ks_statistic`` (KS with kstest's optimistic p-value) is the older, cheaper report.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runner.errors import DataError
from runner.stats.families.base import Family, Theta

MAX_POINTS = 1_000_000  # ks_statistic: beyond this, a random subsample

SORT_LIMIT = 10_000_000  # goodness_of_fit sorts this many values; beyond, a subsample
MIN_EXPECTED = 5.0  # chi-squared cells are merged until each expects this many
CELL_LIMIT = 10_000_000  # support points a count range may span for chi-squared cells
EDF_STATISTICS = ("ks", "cvm", "ad")
WORK_ARRAYS = 8  # float64 arrays of a replicate's size alive at once (draws, cdf, logs, ...)
_TIES = 100 * np.finfo(float).eps  # scipy.stats.monte_carlo_test's tolerance
TINY = np.finfo(float).tiny  # below it a probability is subnormal: its log inexact


@dataclass
class GoodnessOfFit:
    """The goodness of fit of one univariate fit: statistics, p-values, what they used."""

    family: str
    n: int  # observations in the data
    points: int  # observations the statistics used (n, or a seeded subsample)
    statistics: dict[str, float]  # ks, cvm, ad (continuous) or chi2 (counts)
    pvalues: dict[str, float] = field(default_factory=dict)  # bootstrap, per statistic
    replicates: int = 0  # bootstrap replicates asked for
    replicates_used: int = 0  # those whose refit and statistics succeeded
    refits_failed: int = 0
    fixed: tuple[str, ...] = ()  # held in every refit
    df: int | None = None  # chi-squared degrees of freedom: cells - 1 - free parameters
    asymptotic_pvalue: float | None = None  # chi-squared's, from df (approximate)
    cells: list[dict[str, Any]] = field(default_factory=list)  # chi-squared's cells
    notes: list[str] = field(default_factory=list)
    null: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # T* per replicate
    _cells: _Cells | None = field(default=None, repr=False)  # the bootstrap counts in these

    def to_dict(self) -> dict[str, float]:
        """Flat numbers (``ks``, ``ks_pvalue``, ..., ``gof_points``): results.json's ``gof``
        and MLflow metrics. Cells and notes are in ``details()``."""
        out: dict[str, float] = {}
        for name, value in self.statistics.items():
            out[name] = value
            if name in self.pvalues:
                out[f"{name}_pvalue"] = self.pvalues[name]
        if self.df is not None:
            out["chi2_df"] = self.df
            out["chi2_cells"] = len(self.cells)
            if self.asymptotic_pvalue is not None:
                out["chi2_pvalue_asymptotic"] = self.asymptotic_pvalue
        out["gof_points"] = self.points
        if self.replicates:
            out["gof_replicates"] = self.replicates_used
            out["gof_refits_failed"] = self.refits_failed
        return out

    def details(self) -> dict[str, Any]:
        """Everything but the null distributions, JSON-ready (cells' open ends as None)."""
        return {**self.to_dict(), "family": self.family, "n": self.n,
                "replicates_requested": self.replicates, "fixed": list(self.fixed),
                "cells": self.cells, "notes": self.notes}  # fmt: skip

    def summary(self) -> str:
        """One line per statistic, as a terminal shows it."""
        lines = []
        for name, value in self.statistics.items():
            p = self.pvalues.get(name)
            text = f"{name:>4} = {value:.4g}"
            if p is not None:
                text += f"  p = {p:.3g} (bootstrap, {self.replicates_used} refits)"
            if name == "chi2" and self.df is not None:
                text += f"  df = {self.df}"
                if self.asymptotic_pvalue is not None:
                    text += f"  p(asymptotic) = {self.asymptotic_pvalue:.3g}"
            lines.append(text)
        return "\n".join(lines + [f"  ({note})" for note in self.notes])


def goodness_of_fit(
    family: Family,
    x: np.ndarray,
    theta_hat: Theta,
    replicates: int = 0,
    seed: int = 0,
    fixed: Mapping[str, Any] | None = None,
    max_memory_mb: float = 512,
) -> GoodnessOfFit | None:
    """Statistics of the fit ``theta_hat`` to the validated univariate data ``x``, and with
    ``replicates > 0`` their parametric-bootstrap p-values (refits hold ``fixed``).

    None where the question has no answer here: multivariate or censored data, or a
    family with no distribution function. Continuous data past ``SORT_LIMIT`` values are
    assessed on a seeded random subsample (said in ``notes``); the bootstrap draws
    samples of the size assessed, so its cost is ``replicates x points`` draws and refits'
    worth of arithmetic, in chunks of at most ``max_memory_mb``."""
    x = np.asarray(x)
    if family.multivariate or x.ndim != 1 or x.size == 0:
        return None
    fixed = dict(fixed or {})
    rng = np.random.default_rng(seed)
    budget = max(1.0, float(max_memory_mb)) * 2**20
    try:
        if family.discrete:
            result = _chi_squared(family, x, theta_hat, fixed)
        else:
            result = _edf(family, x, theta_hat, rng, budget)
    except NotImplementedError:  # no cdf (your own density, a categorical)
        return None
    if result is None or replicates <= 0 or not result.statistics:
        return result
    _bootstrap(family, theta_hat, result, int(replicates), rng, fixed, budget)
    return result


# ---- the statistics -------------------------------------------------------------------------
def edf_statistics(
    family: Family, x_sorted: np.ndarray, theta: Theta, budget: float = 256 * 2**20
) -> dict[str, np.ndarray]:
    """KS, Cramer-von Mises and Anderson-Darling of ``x_sorted`` (sorted along the last
    axis) against the family at ``theta``; for a (rows, n) batch, ``theta`` holds arrays
    over the rows, row i scored at its own. scipy.stats.goodness_of_fit's definitions:

    ``D = max(max(i/n - F_i), max(F_i - (i-1)/n))``, ``W^2 = 1/(12n) + sum(((2i-1)/(2n) -
    F_i)^2)``, ``A^2 = -n - sum((2i-1)/n (log F_i + log S_{n+1-i}))``; A^2's second sum is
    re-indexed as ``sum((2n-2i+1)/n log S_i)`` so the columns can be taken in blocks."""
    rows = np.atleast_2d(x_sorted)
    r, n = rows.shape
    block = int(max(1, min(n, budget // (WORK_ARRAYS * 8 * r))))
    dplus = np.full(r, -np.inf)
    dminus = np.full(r, -np.inf)
    cvm = np.full(r, 1 / (12 * n))
    ad = np.zeros(r)
    funcs = _functions(family, theta, r if np.ndim(x_sorted) > 1 else None)
    for start in range(0, n, block):
        part = rows[:, start : start + block]
        i = np.arange(start + 1, start + part.shape[1] + 1, dtype=float)
        with np.errstate(all="ignore"):
            cdf, sf = (np.broadcast_to(f(part), part.shape) for f in funcs[:2])
            logcdf, logsf = _log(cdf, funcs[2], part), _log(sf, funcs[3], part)
            dplus = np.maximum(dplus, np.max(i / n - cdf, axis=-1))
            dminus = np.maximum(dminus, np.max(cdf - (i - 1) / n, axis=-1))
            cvm += np.sum(((2 * i - 1) / (2 * n) - cdf) ** 2, axis=-1)
            ad += np.sum((2 * i - 1) / n * logcdf + (2 * n - 2 * i + 1) / n * logsf, axis=-1)
    out = {"ks": np.maximum(dplus, dminus), "cvm": cvm, "ad": -n - ad}
    return out if np.ndim(x_sorted) > 1 else {k: v[0] for k, v in out.items()}


def _log(p: np.ndarray, exact: Callable, x: np.ndarray) -> np.ndarray:
    """log p, from scipy's own log function where p is too small for its log to be exact
    (the far tails): the same values, without paying for logcdf and logsf everywhere
    (for gamma they cost 7 times cdf and sf)."""
    out = np.log(p)
    tiny = ~(p >= TINY)
    if tiny.any():
        out = np.where(tiny, np.broadcast_to(exact(x), x.shape), out)
    return out


def _edf(family: Family, x: np.ndarray, theta: Theta, rng, budget: float) -> GoodnessOfFit:
    """The observed EDF statistics (on a seeded subsample past ``SORT_LIMIT``)."""
    notes = []
    points = x
    if x.size > SORT_LIMIT:
        points = subsample(x, SORT_LIMIT, rng)
        notes.append(f"statistics of a seeded random subsample of {points.size:,} of the "
                     f"{x.size:,} values (sorting all would not pay)")  # fmt: skip
    ordered = points.astype(float)  # a copy, sorted in place
    ordered.sort()
    observed = edf_statistics(family, ordered, theta, budget)
    return GoodnessOfFit(family.name, int(x.size), int(points.size),
                         {k: float(observed[k]) for k in EDF_STATISTICS}, notes=notes)  # fmt: skip


def subsample(x: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """About ``size`` values kept independently with probability size/n, block by block
    (no permutation of all n indices)."""
    keep = size / x.size
    block = 1 << 22
    return np.concatenate([x[s : s + block][rng.random(min(block, x.size - s)) < keep]
                           for s in range(0, x.size, block)])  # fmt: skip


@dataclass
class _Cells:
    """Chi-squared cells over the support: cell j holds ``low[j] <= x <= high[j]``, the
    first open below and the last open above."""

    low: np.ndarray  # lower support point of each cell
    high: np.ndarray  # upper support point of each cell

    def counts(self, x: np.ndarray, block: int = 1 << 22) -> np.ndarray:
        """Observed counts per cell, per row of ``x`` (rows, n), a block of columns at a time."""
        rows = np.atleast_2d(x)
        cells = self.low.size
        total = np.zeros((rows.shape[0], cells), dtype=np.int64)
        offsets = (cells * np.arange(rows.shape[0]))[:, None]
        step = max(1, block // rows.shape[0])
        for s in range(0, rows.shape[1], step):
            index = np.searchsorted(self.low[1:], rows[:, s : s + step], side="right")
            total += np.bincount((index + offsets).ravel(),
                                 minlength=total.size).reshape(total.shape)  # fmt: skip
        return total if np.ndim(x) > 1 else total[0]

    def probabilities(self, family: Family, theta: Theta, rows: int | None = None) -> np.ndarray:
        """Each cell's probability at ``theta`` (cells,), or at each row's (rows, cells)."""
        cdf = _functions(family, theta, rows)[0]
        upper = np.broadcast_to(self.high[:-1], (rows or 1, self.high.size - 1))
        with np.errstate(all="ignore"):
            inner = np.broadcast_to(cdf(upper), upper.shape)
        ends = np.ones((upper.shape[0], 1))
        probabilities = np.diff(np.concatenate([0 * ends, inner, ends], axis=1), axis=1)
        return probabilities if rows is not None else probabilities[0]

    def table(self, family: Family, observed, expected) -> list[dict[str, Any]]:
        """One dict per cell; the open ends are the support's ends (None if infinite)."""
        support = family.interval
        low = [float(v) for v in self.low]
        high = [float(v) for v in self.high]
        low[0], high[-1] = support.low, support.high
        end = lambda v: int(v) if np.isfinite(v) else None  # noqa: E731
        return [{"low": end(lo), "high": end(hi), "observed": int(o), "expected": float(e)}
                for lo, hi, o, e in zip(low, high, observed, expected, strict=True)]  # fmt: skip


def _chi_squared(family: Family, x: np.ndarray, theta: Theta, fixed) -> GoodnessOfFit:
    """Pearson's chi-squared of counts on cells merged until each expects MIN_EXPECTED."""
    n = x.size
    low, high = math.floor(x.min()), math.ceil(x.max())
    base = GoodnessOfFit(family.name, int(n), int(n), {})
    if high - low + 1 > CELL_LIMIT:
        base.notes.append(f"no chi-squared: the counts span {high - low + 1:,} values, "
                          f"past the {CELL_LIMIT:,} cells' support it builds")  # fmt: skip
        return base
    cells = _build_cells(family, np.arange(low, high + 1, dtype=float), theta, n)
    observed = cells.counts(x)
    expected = n * cells.probabilities(family, theta)
    free = sum(p.constraint.unconstrained_size(p.size) for p in family.params
               if p.name not in fixed)  # fmt: skip
    df = cells.low.size - 1 - free
    base.statistics["chi2"] = float(_pearson(observed, expected))
    base.df = int(df)
    if df > 0:
        from scipy import stats

        base.asymptotic_pvalue = float(stats.chi2.sf(base.statistics["chi2"], df))
    else:
        base.notes.append(f"chi-squared has {df} degrees of freedom ({cells.low.size} cells, "
                          f"{free} free parameters): no asymptotic p-value")  # fmt: skip
    base.cells = cells.table(family, observed, expected)
    base.notes.append(f"chi-squared on {cells.low.size} cells, merged so that each expects "
                      f"at least {MIN_EXPECTED:g} observations")  # fmt: skip
    base._cells = cells
    return base


def _build_cells(family: Family, support: np.ndarray, theta: Theta, n: int) -> _Cells:
    """Greedy left to right: a cell closes once it expects MIN_EXPECTED; what is left at
    the right end joins the last cell. The first cell takes all mass below the data's
    minimum, the last all mass above its maximum. One step per cell, not per point."""
    cdf = _functions(family, theta)[0]
    with np.errstate(all="ignore"):
        cumulative = n * np.asarray(cdf(support[:-1]), dtype=float).reshape(-1)
    cumulative = np.append(np.maximum.accumulate(np.nan_to_num(cumulative)), float(n))
    ends: list[int] = []
    before = 0.0
    while True:
        j = int(np.searchsorted(cumulative, before + MIN_EXPECTED * (1 - 1e-9), side="left"))
        if j >= support.size:
            break
        ends.append(j)
        before = cumulative[j]
    if not ends:
        ends = [support.size - 1]
    elif ends[-1] != support.size - 1:
        ends[-1] = support.size - 1  # the short remainder joins the last cell
    high = support[ends]
    low = np.concatenate([[support[0]], support[np.asarray(ends[:-1], dtype=np.int64) + 1]])
    return _Cells(low, high)


def _pearson(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.sum((observed - expected) ** 2 / expected, axis=-1)


# ---- the bootstrap --------------------------------------------------------------------------
def _bootstrap(family, theta_hat, result: GoodnessOfFit, replicates: int, rng, fixed,
               budget: float) -> None:  # fmt: skip
    """Fill ``result``'s p-values: ``replicates`` draws of ``result.points`` values from the
    fit, refitted and scored in chunks that fit in ``budget`` bytes."""
    m = result.points
    names = list(result.statistics)
    chunk = int(max(1, min(replicates, budget // (WORK_ARRAYS * 8 * m))))
    cells = result._cells
    null: dict[str, list[np.ndarray]] = {k: [] for k in names}
    failed = 0
    for start in range(0, replicates, chunk):
        rows = min(chunk, replicates - start)
        draws = np.asarray(family.sample(theta_hat, (rows, m), rng))
        theta, ok = _refit(family, draws, theta_hat, fixed)
        draws, theta = draws[ok], {k: v[ok] for k, v in theta.items()}
        if draws.shape[0]:
            if cells is not None:
                expected = m * cells.probabilities(family, theta, draws.shape[0])
                values = {"chi2": _pearson(cells.counts(draws), expected)}
            else:
                draws.sort(axis=-1)
                values = edf_statistics(family, draws, theta, budget)
            good = np.all([~np.isnan(values[k]) for k in names], axis=0)
            for k in names:
                null[k].append(np.asarray(values[k])[good])
            failed += int((~good).sum())
        failed += int((~ok).sum())
    result.null = {k: np.concatenate(v) if v else np.zeros(0) for k, v in null.items()}
    used = replicates - failed
    result.replicates, result.replicates_used, result.refits_failed = replicates, used, failed
    result.fixed = tuple(fixed)
    for k in names:
        result.pvalues[k] = _pvalue(result.statistics[k], result.null[k])
        if math.isinf(result.statistics[k]):
            result.notes.append(f"{k} is infinite: the fitted cdf is 0 or 1 at a data value "
                                "(a uniform's MLE always); its p-value counts the replicates "
                                "where it is infinite too")  # fmt: skip
    held = f", holding {', '.join(fixed)}" if fixed else ""
    lost = f"; {failed} refits failed (no MLE, or no convergence) and are left out"
    result.notes.append(f"p-values by parametric bootstrap: {replicates} samples of {m:,} "
                        f"drawn from the fit and each fitted again{held}"
                        + (lost if failed else ""))  # fmt: skip


def _pvalue(t: float, null: np.ndarray) -> float:
    """``(1 + #{T* >= T}) / (1 + R)``, a replicate within scipy's ``100 eps |T|`` of T
    counting as at least as large (the tolerance floored at ``100 eps``, so a statistic
    that is 0 up to rounding, chi-squared of an exactly fitting model, ties with its
    replicates' rounding noise); an infinite T is matched by infinite replicates."""
    if math.isinf(t):
        beyond = int(np.sum(null == t))
    else:
        beyond = int(np.sum(null >= t - _TIES * max(abs(t), 1.0)))
    return (beyond + 1) / (null.size + 1)


def _refit(family: Family, draws: np.ndarray, theta_hat: Theta, fixed: dict[str, Any]
           ) -> tuple[dict[str, np.ndarray], np.ndarray]:  # fmt: skip
    """Each row's estimate (arrays over the rows; vectors as (rows, k)) and which rows
    have one. All rows in one ``fit_batch`` when nothing is held; with held parameters
    one ``fit_validated`` per row, since ``fit_batch`` cannot hold any."""
    rows = draws.shape[0]
    free = [p for p in family.params if p.name not in fixed]
    if not free:  # nothing to estimate: every replicate is scored at the fit itself
        theta = {k: np.broadcast_to(np.asarray(v, float), (rows, *np.shape(v)))
                 for k, v in theta_hat.items()}  # fmt: skip
        return theta, np.ones(rows, dtype=bool)
    if fixed:
        return _refit_rows(family, draws, fixed)
    from runner.stats.batch import fit_batch

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        batch = fit_batch(family, family.reduce(draws))
    theta = {}
    for p in family.params:
        parts = [np.asarray(batch.estimate[c], dtype=float) for c in p.component_names()]
        theta[p.name] = np.stack(parts, axis=-1) if p.is_vector else parts[0]
    ok = np.asarray(batch.converged, dtype=bool).copy()
    ok[list(batch.no_mle)] = False
    for v in theta.values():
        ok &= np.all(np.isfinite(v.reshape(rows, -1)), axis=-1)
    return theta, ok


def _refit_rows(family: Family, draws: np.ndarray, fixed: dict[str, Any]):
    """One full ``fit_validated`` per row, holding ``fixed``."""
    from runner.stats.estimate import fit_validated

    found: list[Theta | None] = []
    for row in draws:
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                f = fit_validated(family, row, fixed=fixed)
            found.append(f.params if f.converged else None)
        except DataError:
            found.append(None)
    ok = np.array([t is not None for t in found], dtype=bool)
    theta = {}
    for p in family.params:
        blank = np.full(p.value_shape, np.nan)
        theta[p.name] = np.stack([np.asarray(t[p.name], dtype=float) if t is not None
                                  else blank for t in found])  # fmt: skip
    return theta, ok


# ---- the distribution functions, batched ----------------------------------------------------
def _functions(family: Family, theta: Theta, rows: int | None = None
               ) -> tuple[Callable, ...]:  # fmt: skip
    """``cdf``, ``sf``, ``logcdf``, ``logsf`` at ``theta``; with ``rows``, ``theta`` holds arrays
    over the rows and the functions take (rows, m) arrays, row i at its own parameters.

    One call for all rows where the family's scipy distribution takes array parameters
    (a column per parameter broadcasts against the rows); else row by row. Families with
    no scipy distribution (mixtures) give logs of their ``cdf``: A^2 is then less exact in
    the far tails."""
    if rows is None:
        return _of(family, theta)
    if rows == 1:
        first = _of(family, {k: np.asarray(v)[0] for k, v in theta.items()})
        return tuple(lambda x, f=f: f(np.asarray(x)[0])[None] for f in first)  # type: ignore
    if not any(p.is_vector for p in family.params):
        column = {k: np.asarray(v, dtype=float)[:, None] for k, v in theta.items()}
        try:
            funcs = _of(family, column)
            with np.errstate(all="ignore"):
                probe = np.asarray(funcs[0](np.zeros((rows, 1))))
            if probe.shape == (rows, 1):
                return funcs
        except (TypeError, ValueError):
            pass  # a family that takes scalars only (scipy's by name): row by row
    each = [_of(family, {k: np.asarray(v)[i] for k, v in theta.items()}) for i in range(rows)]

    def by_row(which: int) -> Callable:
        return lambda x: np.stack([f[which](x[i]) for i, f in enumerate(each)])

    return tuple(by_row(which) for which in range(4))


def _of(family: Family, theta: Theta) -> tuple[Callable, ...]:
    try:
        dist = family.scipy_dist(theta)
    except NotImplementedError:
        dist = None
    if dist is not None:
        return dist.cdf, dist.sf, dist.logcdf, dist.logsf

    def cdf(x):
        return family.cdf(x, theta)

    def sf(x):
        return 1 - cdf(x)

    return cdf, sf, lambda x: np.log(cdf(x)), lambda x: np.log1p(-cdf(x))


# ---- the older report ------------------------------------------------------------------------
def ks_statistic(family: Family, x: np.ndarray, theta: Theta) -> dict[str, float] | None:
    """KS statistic and (optimistic) p-value for a continuous univariate fit, else None.
    Past ``MAX_POINTS`` values it is computed on a seeded random subsample of that size.
    The p-value assumes parameters not estimated from these data (Lilliefors): use
    ``goodness_of_fit(..., replicates=R)`` for one that is not optimistic."""
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

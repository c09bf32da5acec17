"""Convergence against sample size: how the estimator approaches the truth as n grows.

For synthetic data with a known truth, ``replicates`` samples are drawn at each size and
fitted as batches (``runner.stats.batch``); per size and parameter the summary has the mean
estimate, bias, variance, MSE, RMSE, the Cramer-Rao bound ``[I(theta)^-1]_jj / n``,
efficiency (CRLB / MSE) and the coverage of the 95% Wald interval with its Monte Carlo
standard error, and over sizes the log-log slope of RMSE against n (theory: -0.5). For real
data, subsamples without replacement at each size are compared with the full-data
estimate. One long sample path gives the running estimate ``theta_hat(x_1..x_k)`` from
cumulative statistics.

A number that cannot be computed is NaN in the tables and comes with its reason in words
(``StudyResult.unavailable``, ``notes``, the slopes' ``note``): a study is read by people
deciding whether an estimator works, and a bare NaN (or a number computed from one
replicate) tells them nothing. Replicates whose MLE does not exist (a negative binomial
sample with variance <= mean, a student_t sample no heavier-tailed than a Gaussian) are
left out of the statistics and counted (``no_mle``), as a single fit refuses them.

Tables are tidy pandas frames (one row per size, replicate, estimator and parameter).
Memory stays bounded: replicates are drawn and fitted in chunks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runner.errors import ConfigError
from runner.stats.batch import BatchFit, fit_batch, wald_covers
from runner.stats.families.base import Family, Stats, Theta
from runner.stats.families.pointwise import PointwiseFamily

BYTES_PER_VALUE = 8 * 6  # a float64 and the temporaries a batched fit makes of it
MIN_REPLICATES = 2  # a variance (so MSE's spread, efficiency) needs two replicates
FEW_REPLICATES = 100  # below this the console says how uncertain the Monte Carlo numbers are
TAIL_MASS = 1e-15  # the support of a discrete family is summed to this tail mass
MAX_SUPPORT = 2_000_000  # points summed for a discrete expected information, at most

NON_REGULAR = (
    "the support depends on the parameters (a non-regular family): the Cramer-Rao bound "
    "does not apply, and the MLE can converge faster than n^-1/2"
)


@dataclass
class StudySpec:
    sizes: list[int]
    replicates: int = 1000
    seed: int = 0
    estimator: str = "mle"
    prior: dict[str, Any] = field(default_factory=dict)
    max_memory_mb: float = 512
    stream: bool = True
    slope_from: int = 100  # fit the RMSE slope on sizes >= this (the asymptotic regime)


@dataclass
class StudyResult:
    mode: str  # "synthetic" (truth known) or "subsample" (truth = full-data estimate)
    truth: dict[str, float]
    draws: Any  # pandas.DataFrame: size, replicate, estimator, parameter, estimate, truth, ...
    summary: Any  # pandas.DataFrame: per size, estimator and parameter
    slopes: Any  # pandas.DataFrame: per estimator and parameter (with the sizes used, a note)
    stream: Any = None  # pandas.DataFrame: k, parameter, estimate, truth
    population: int | None = None  # size of the real data set (subsample mode)
    sizes: list[int] = field(default_factory=list)  # the sizes studied
    dropped: list[int] = field(default_factory=list)  # sizes asked for but not studied
    notes: list[str] = field(default_factory=list)  # what a reader must know, in words
    # Why a column is NaN, per row label ("p.A", "map.p") and column ("crlb", "coverage").
    unavailable: dict[str, dict[str, str]] = field(default_factory=dict)
    # Per size with replicates that have no MLE: an example of why (the family's words).
    no_mle: dict[int, str] = field(default_factory=dict)
    # pandas.DataFrame per size, parameter and interval method: coverage, its MCSE, width
    intervals: Any = None


DEFAULT_SIZES = {"start": 10, "stop": 10_000, "num": 10}


def _whole(value: Any) -> int:
    """An integer given as 10, "10", 1e4 or "1e4"; 10.5 is refused."""
    number = float(value)
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


def parse_sizes(spec: Any) -> list[int]:
    """``[10, 100, 1000]`` or ``{start: 10, stop: 100000, num: 15}`` (log-spaced); None
    means ``DEFAULT_SIZES``."""
    if spec is None:
        spec = DEFAULT_SIZES
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"start", "stop", "num"}
        try:
            if unknown:
                raise KeyError(unknown)
            start, stop, num = (_whole(spec.get(k, 10)) for k in ("start", "stop", "num"))
            if "start" not in spec or "stop" not in spec:
                raise KeyError("start/stop")
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"study.sizes = {dict(spec)!r}: expected a list of sizes or "
                "{start: 10, stop: 100000, num: 15}"
            ) from None
        if not 1 <= start < stop or num < 2:
            raise ConfigError(f"study.sizes = {dict(spec)!r}: expected 1 <= start < stop, num >= 2")
        sizes = np.unique(np.round(np.geomspace(start, stop, num)).astype(int))
        return sizes.tolist()
    try:
        sizes = sorted({_whole(v) for v in spec})
    except (TypeError, ValueError):
        raise ConfigError(f"study.sizes = {spec!r}: expected a list of integers") from None
    if not sizes or sizes[0] < 1:
        raise ConfigError(f"study.sizes = {spec!r}: expected sizes >= 1")
    return sizes


def check_replicates(replicates: int) -> None:
    """Refuse fewer than two replicates per size: with one, the variance (and so the
    efficiency) is undefined and the coverage is 0 or 1, so every number would mislead."""
    if replicates < MIN_REPLICATES:
        raise ConfigError(
            f"study.replicates = {replicates}: a convergence study needs at least "
            f"{MIN_REPLICATES} replicates per size, since a variance (and so the efficiency) "
            "needs two and the coverage of a single replicate is 0 or 1; use 100 or more "
            "(coverage near 0.95 is then known to about ±0.02)"
        )


def synthetic_study(family: Family, truth: Theta, spec: StudySpec, progress: bool = True):
    """Replicates drawn from ``truth`` at every size, fitted in batches."""
    _check_family(family)
    check_replicates(spec.replicates)
    _check_sizes(family, spec.sizes)
    _check_estimator(family, spec)
    rng = np.random.default_rng(spec.seed)
    frames = []
    no_mle: dict[int, str] = {}
    with _progress(spec, progress, "convergence study") as bar:
        for size in spec.sizes:
            for first, count in _chunks(spec.replicates, size, spec.max_memory_mb):
                stats, _ = draw_stats(family, truth, size, count, rng)
                fitted = fit_batch(family, stats, estimator=spec.estimator, prior=spec.prior)
                exists, why = mle_exists(family, stats, fitted)
                if why is not None:
                    no_mle.setdefault(size, why)
                frames.append(_tidy(family, fitted, truth, size, first, exists))
                bar.update(count)
    flat_truth = _flat(family, truth)
    stream = None
    if spec.stream:
        path = family.sample(truth, max(spec.sizes), np.random.default_rng([spec.seed, 2]))
        stream = running_estimates(family, family.validate(path), flat_truth)
    return _result("synthetic", family, truth, frames, spec, stream, no_mle=no_mle)


def subsample_study(family: Family, x: np.ndarray, spec: StudySpec, progress: bool = True):
    """Subsamples of real data without replacement at every size, against the full-data
    estimate; their spread is the sampling spread at that size. Sizes >= the data size
    cannot be subsampled: they are dropped, and the result says which (``dropped``)."""
    from runner.stats.estimate import fit_validated

    _check_family(family)
    check_replicates(spec.replicates)
    total = family.sample_size(x)
    sizes = [s for s in spec.sizes if s < total]
    dropped = [s for s in spec.sizes if s >= total]
    if not sizes:
        raise ConfigError(
            f"study.sizes {spec.sizes} are all >= the {total} observations in the data: "
            "subsampling needs sizes below the data size"
        )
    _check_sizes(family, sizes)
    _check_estimator(family, spec)
    reference = fit_validated(family, x).params
    rng = np.random.default_rng(spec.seed)
    frames = []
    no_mle: dict[int, str] = {}
    spec = StudySpec(**{**spec.__dict__, "sizes": sizes})
    with _progress(spec, progress, "subsampling study") as bar:
        for size in sizes:
            for first, count in _chunks(spec.replicates, total, spec.max_memory_mb):
                keys = rng.random((count, total))
                rows = np.argpartition(keys, size - 1, axis=1)[:, :size]
                stats = family.reduce(x[rows])
                fitted = fit_batch(family, stats, estimator=spec.estimator, prior=spec.prior)
                exists, why = mle_exists(family, stats, fitted)
                if why is not None:
                    no_mle.setdefault(size, why)
                frames.append(_tidy(family, fitted, reference, size, first, exists))
                bar.update(count)
    stream = None
    if spec.stream:
        order = np.random.default_rng([spec.seed, 2]).permutation(total)
        stream = running_estimates(family, x[order], _flat(family, reference))
    return _result("subsample", family, reference, frames, spec, stream, total, dropped, no_mle)


def running_estimates(family: Family, path: np.ndarray, truth: dict[str, float], points: int = 300):
    """The estimate from the first k observations, for log-spaced k up to the path length:
    one cumulative pass where the statistics add up, one fit per checkpoint otherwise.
    Prefixes whose MLE does not exist (see ``mle_exists``) have a NaN estimate."""
    import pandas as pd

    total = family.sample_size(path)
    start = max(family.min_n, 2)
    if total < start:
        return None
    ends = np.unique(np.round(np.geomspace(start, total, points)).astype(int))
    stats = family.prefix_stats(path, ends)
    if stats is None:
        ends = np.unique(np.round(np.geomspace(start, total, 60)).astype(int))
        parts = []
        for k in ends:
            prefix = family.reduce(path[None, :k])
            parts.append(_without_missing_mle(family, prefix, fit_batch(family, prefix)))
        estimates = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    else:
        with np.errstate(all="ignore"):
            estimates = _without_missing_mle(family, stats, fit_batch(family, stats))
    rows = [
        pd.DataFrame(
            {"k": ends, "parameter": name, "estimate": values, "truth": truth.get(name, np.nan)}
        )
        for name, values in estimates.items()
    ]
    return pd.concat(rows, ignore_index=True)


def mle_exists(family: Family, stats: Stats, fitted: BatchFit) -> tuple[np.ndarray, str | None]:
    """Which rows of a batch have an MLE, and an example of why one has none.

    A row has none when the family says the likelihood has no maximum for its data
    (``degenerate``: constant data, negative binomial variance <= mean), or that the
    optimizer's stopping point is a runaway rather than a maximum (``check_estimate``:
    student_t df -> infinity), or when the batched fit did not converge or is not finite.
    A single ``fit`` refuses such data; a study counts them and leaves them out, so that
    one runaway replicate (df = 1e13) does not become the RMSE of the whole size.
    """
    count = len(fitted.converged)
    finite = np.ones(count, dtype=bool)
    for values in fitted.estimate.values():
        finite &= np.isfinite(np.asarray(values, dtype=float))
    exists = finite & np.asarray(fitted.converged, dtype=bool)
    if fitted.no_mle:  # the family's search said why (a likelihood unbounded at min(x))
        exists[list(fitted.no_mle)] = False
    checks_data = type(family).degenerate is not Family.degenerate
    checks_estimate = type(family).check_estimate is not Family.check_estimate
    if not (checks_data or checks_estimate):
        if fitted.no_mle:
            return exists, next(iter(fitted.no_mle.values())).split(": ")[0]
        return exists, None if exists.all() else "the fit did not converge to a finite maximum"
    example = None
    free = set(family.param_names)
    shared, batched = _split_batch(stats, count)
    with np.errstate(all="ignore"):
        for i in range(count):
            reason = None
            row = {**shared, **{k: v[i] for k, v in batched.items()}}
            if checks_data:
                reason = family.degenerate(row, free)
            if reason is None and checks_estimate and finite[i]:  # the family's words first
                reason = family.check_estimate(_theta_row(family, fitted, i), free, row)
            if reason is None and i in fitted.no_mle:
                reason = fitted.no_mle[i]
            if reason is None and not exists[i]:
                reason = "the fit did not converge to a finite maximum"
            if reason is not None:
                exists[i] = False
                example = example or reason.split(": ")[0]
    return exists, example


def summarize(draws, family: Family, truth: Theta, slope_from: int = 100, slope_to=None):
    """Per size, estimator and parameter: bias, variance, MSE, RMSE, CRLB, efficiency,
    Wald (or credible) coverage with its Monte Carlo standard error, the share of
    replicates without an interval or an MLE, and the 2.5-97.5% spread; and the RMSE
    slopes with the sizes each was fitted on and a note where the fit is not the plain
    one (sizes below ``slope_from`` used, or no slope at all)."""
    import pandas as pd

    draws = draws.copy()
    if "has_mle" not in draws:
        draws["has_mle"] = True
    draws["with_interval"] = draws["has_interval"] & draws["has_mle"]
    bounds, _ = crlb(family, truth)
    grouped = draws.groupby(["size", "estimator", "parameter"], sort=True)
    summary = grouped.agg(
        replicates=("estimate", "size"),
        mean=("estimate", "mean"),
        variance=("estimate", "var"),
        mse=("sq_error", "mean"),
        coverage=("covered", "sum"),
        intervals=("with_interval", "sum"),
        estimated=("has_mle", "sum"),
        q025=("estimate", lambda s: s.quantile(0.025)),
        q975=("estimate", lambda s: s.quantile(0.975)),
        truth=("truth", "first"),
    ).reset_index()
    intervals = summary["intervals"].astype(float)
    estimated = summary["estimated"].astype(float)
    # Coverage among the replicates that have an interval; NaN where none has one.
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["coverage"] = summary["coverage"] / intervals.where(intervals > 0)
        summary["coverage_mcse"] = np.sqrt(
            summary["coverage"] * (1 - summary["coverage"]) / intervals.where(intervals > 0)
        )
        summary["no_interval"] = 1 - intervals / estimated.where(estimated > 0)
    summary["no_mle"] = 1 - estimated / summary["replicates"]
    summary["bias"] = summary["mean"] - summary["truth"]
    summary["rmse"] = np.sqrt(summary["mse"])
    summary["crlb"] = summary["parameter"].map(bounds).astype(float) / summary["size"]
    with np.errstate(invalid="ignore", divide="ignore"):
        efficiency = summary["crlb"] / summary["mse"].where(summary["mse"] > 0)
    summary["efficiency"] = efficiency
    slopes = [
        {"estimator": estimator, "parameter": name, **_slope(rows, slope_from, slope_to)}
        for (estimator, name), rows in summary.groupby(["estimator", "parameter"])
    ]
    columns = ["size", "estimator", "parameter", "replicates", "truth", "mean", "bias",
               "variance", "mse", "rmse", "crlb", "efficiency", "coverage", "coverage_mcse",
               "no_interval", "no_mle", "q025", "q975"]  # fmt: skip
    return summary[columns], pd.DataFrame(slopes)


def crlb(family: Family, truth: Theta) -> tuple[dict[str, float], dict[str, str]]:
    """Per-observation Cramer-Rao bound of each scalar component, and why a component has
    none (a family's words for the table).

    The bound of component j is ``[U (U^T I U)^-1 U^T]_jj``: ``I`` the expected information
    per observation in the natural parameters, ``U`` a basis of the directions in which the
    parameters can move (the constrained Cramer-Rao bound; Gorman & Hero 1990). For free
    scalars ``U`` is the identity and the bound is ``[I^-1]_jj``; on a simplex, whose
    components sum to 1, ``U`` is ``e_i - e_K``, and for a categorical p (``I = diag(1/p)``)
    the bound is ``diag(p) - p p^T``: ``p_i (1 - p_i)``, the multinomial variance. Where a
    family has no closed-form information and is discrete, ``I`` is summed over its
    support (negative_binomial, categorical).
    """
    names = [name for p in family.params for name in p.component_names()]
    if family.se_source == "none":
        return {}, dict.fromkeys(names, NON_REGULAR)
    values = _flat(family, truth)
    edge = [p for p in family.params if not p.is_vector and p.constraint.on_boundary(truth[p.name])]
    if edge:
        shown = ", ".join(f"{p.name} = {values[p.name]:g}" for p in edge)
        why = (
            f"the truth ({shown}) is on the boundary of the parameter space, where every "
            "sample pins the estimate: the Cramer-Rao bound does not apply"
        )
        return {}, dict.fromkeys(names, why)
    pinned = _pinned_components(family, values)
    reasons = {
        name: (
            f"the truth ({name} = {values[name]:g}) is on the boundary of the simplex: that "
            "probability is estimated exactly (its MSE is 0) and has no Cramer-Rao bound"
        )
        for name in pinned
    }
    info = family.fisher_information(truth)
    if info is None:
        info = summed_information(family, truth)
    if info is None and isinstance(family, PointwiseFamily):
        return _numerical_crlb(family, truth, names, reasons)
    if info is None:
        why = (
            f"{family.name} has no closed-form expected Fisher information (for a mixture it "
            "is an integral with no closed form), so no Cramer-Rao bound is computed"
        )
        return {}, dict.fromkeys(names, why)
    info = np.asarray(info, dtype=float)
    live = [j for j, name in enumerate(names) if name not in pinned]
    basis = _directions(family, names, live)
    if info.shape != (len(names), len(names)) or basis.shape[1] == 0:
        return {}, {**dict.fromkeys(names, "no expected information for these parameters"),
                    **reasons}  # fmt: skip
    sub = info[np.ix_(live, live)]
    moved = basis.T @ sub @ basis
    try:
        if not np.all(np.isfinite(moved)):
            raise np.linalg.LinAlgError
        np.linalg.cholesky(moved)
    except np.linalg.LinAlgError:
        why = (
            "the expected information is singular at the truth (the parameters are not "
            "identifiable there): no Cramer-Rao bound"
        )
        return {}, {**dict.fromkeys(names, why), **reasons}
    bound = basis @ np.linalg.inv(moved) @ basis.T
    return {names[j]: float(bound[i, i]) for i, j in enumerate(live)}, reasons


INTEGER_PARAMETER = (
    "an integer parameter: for large n it is estimated exactly, so it has no Cramer-Rao "
    "bound (the others' bounds treat it as known)"
)


def _numerical_crlb(
    family: Family, truth: Theta, names: list[str], reasons: dict[str, str]
) -> tuple[dict[str, float], dict[str, str]]:
    """The bound from the expected information computed numerically (scipy's families
    and your own density: no formula), for the parameters that are not integers."""
    integer = set(family.integer_params())
    reasons = {**reasons, **{n: INTEGER_PARAMETER for n in names if n in integer}}
    live = [n for n in names if n not in reasons]
    if not live:
        return {}, reasons
    info, how = _cached_information(family, truth, live)
    if info is None:
        return {}, {**dict.fromkeys(live, how), **reasons}
    try:
        np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        why = ("the expected information is singular at the truth (the parameters are not "
               "identifiable there): no Cramer-Rao bound")  # fmt: skip
        return {}, {**dict.fromkeys(live, why), **reasons}
    bound = np.linalg.inv(info)
    return {n: float(bound[i, i]) for i, n in enumerate(live)}, reasons


_INFORMATION_CACHE: dict[tuple, tuple[np.ndarray | None, str]] = {}


def _cached_information(family: Family, truth: Theta, names: list[str]):
    """One numerical information per family, truth and parameters (a study asks several
    times; each costs a few hundred thousand density evaluations)."""
    from runner.stats.information import numerical_information

    key = (family.name, repr(sorted(family.options().items())),
           tuple((k, float(truth[k])) for k in sorted(truth)), tuple(names))  # fmt: skip
    if key not in _INFORMATION_CACHE:
        _INFORMATION_CACHE.clear()  # keep only the latest: studies come one at a time
        _INFORMATION_CACHE[key] = numerical_information(family, truth, names)
    return _INFORMATION_CACHE[key]


def numerical_bound_note(family: Family, truth: Theta) -> str | None:
    """What a reader should know when the bound was computed numerically."""
    if not isinstance(family, PointwiseFamily) or family.fisher_information(truth) is not None:
        return None
    names = [n for n in family.param_names if n not in set(family.integer_params())]
    info, how = _cached_information(family, truth, names) if names else (None, "")
    if info is None:
        return None
    from runner.stats.information import NODES, POINTS

    over = {"masses": "the probability masses over the support",
            "quantiles": f"{NODES:,} quantiles of the true distribution",
            "draws": f"{POINTS:,} seeded draws from the sampler"}[how]  # fmt: skip
    return (f"{family.name} has no formula for its expected information: the Cramer-Rao "
            f"bound uses one computed numerically, over {over}")  # fmt: skip


def summed_information(family: Family, theta: Theta) -> np.ndarray | None:
    """Expected information per observation of a discrete family, ``sum_x f(x) s(x) s(x)^T``
    over its support (to a tail mass of ``TAIL_MASS``), ``s`` the score of one observation
    in the natural parameters; None where the support cannot be enumerated or the family
    has no score. For families without a closed-form ``fisher_information``."""
    points = _support(family, theta)
    if points is None or not family.has_score:
        return None
    with np.errstate(divide="ignore"):
        weights = np.exp(np.asarray(family.logpdf(points, theta), dtype=float))
    keep = weights > 0
    points, weights = points[keep], weights[keep]
    if weights.sum() < 1 - 1e-9:
        return None
    with np.errstate(all="ignore"):
        score = family.score(family.reduce(points[:, None]), theta)
    columns = [np.asarray(score[p.name], dtype=float).reshape(len(points), -1)
               for p in family.params]  # fmt: skip
    s = np.concatenate(columns, axis=1)
    if not np.all(np.isfinite(s)):
        return None
    return (s * weights[:, None]).T @ s


# ---- internals ------------------------------------------------------------------------------
def _result(mode, family, truth, frames, spec, stream, population=None, dropped=(),
            no_mle=None) -> StudyResult:  # fmt: skip
    import pandas as pd

    draws = pd.concat(frames, ignore_index=True)
    # Subsamples near the data size share most of their points: the spread shrinks by the
    # finite-population factor (1 - n/N), so the slope is fitted where that is small.
    slope_to = None if population is None else population / 4
    summary, slopes = summarize(draws, family, truth, spec.slope_from, slope_to)
    tidy = draws[["size", "replicate", "estimator", "parameter", "estimate", "truth", "se",
                  "covered"]]  # fmt: skip
    notes = []
    if dropped:
        notes.append(
            f"study.sizes {_listed(dropped)} dropped: subsampling without replacement needs "
            f"n < N = {population:,}, the number of observations in the data"
        )
    bound_note = numerical_bound_note(family, truth)
    if bound_note:
        notes.append(bound_note)
    if spec.replicates < FEW_REPLICATES:
        r = spec.replicates
        notes.append(
            f"only {r:,} replicates per size: the Monte Carlo error is large (coverage "
            f"± sqrt(c(1-c)/R), shown beside it; MSE and efficiency ± about "
            f"{100 * np.sqrt(2 / r):.0f}% relative, sqrt(2/R)); use study.replicates >= 1000 "
            "for two-digit numbers"
        )
    return StudyResult(
        mode, _flat(family, truth), tidy, summary, slopes, stream, population,
        list(spec.sizes), list(dropped), notes, _unavailable(family, truth, summary, slopes),
        dict(no_mle or {}),
    )  # fmt: skip


def _slope(rows, slope_from: int, slope_to: float | None) -> dict[str, Any]:
    """The log-log RMSE slope of one estimator and parameter, on sizes >= ``slope_from``
    (and <= ``slope_to``); with fewer than three there, on the three largest usable sizes,
    saying so; with fewer than two usable sizes, NaN and why."""
    sizes = rows["size"].to_numpy()
    rmse = rows["rmse"].to_numpy(dtype=float)
    usable = np.isfinite(rmse) & (rmse > 0)
    if slope_to is not None:
        usable &= sizes <= slope_to
    large = usable & (sizes >= slope_from)
    note = None
    if large.sum() >= 3:
        chosen = large
    elif usable.sum() >= 2:
        chosen = usable & (sizes >= np.sort(sizes[usable])[-3:].min())
        below = _listed(sizes[chosen & ~large])
        if large.any() and below:  # (two sizes, both large enough, are a plain fit)
            count = int(large.sum())
            note = (
                f"only {count} size{'s' if count > 1 else ''} >= study.slope_from = "
                f"{slope_from:,}: the slope also uses n = {below}, nearer the small-sample regime"
            )
        elif not large.any():
            note = (
                f"no size is >= study.slope_from = {slope_from:,}: the slope is fitted on the "
                f"largest sizes, n = {below}, below the asymptotic regime (n^-1/2 theory may "
                "not hold yet)"
            )
    else:
        return {"slope": np.nan, "intercept": np.nan, "from_size": 0, "sizes": [],
                "note": "n/a: " + _no_slope(sizes, rmse, slope_to)}  # fmt: skip
    slope, intercept = np.polyfit(np.log(sizes[chosen]), np.log(rmse[chosen]), 1)
    used = [int(s) for s in sizes[chosen]]
    return {"slope": float(slope), "intercept": float(intercept), "from_size": used[0],
            "sizes": used, "note": note}  # fmt: skip


def _no_slope(sizes: np.ndarray, rmse: np.ndarray, slope_to: float | None) -> str:
    """Why no slope: fewer than two sizes with a positive, finite RMSE (and n <= N/4)."""
    why = "a slope needs at least two sizes with a positive RMSE"
    if len(sizes) < 2:
        return f"{why}, and only n = {_listed(sizes)} was studied (add sizes to study.sizes)"
    parts = []
    exact = sizes[np.isfinite(rmse) & (rmse == 0)]
    if exact.size:
        parts.append(f"RMSE is 0 at n = {_listed(exact)} (the estimate is exact)")
    missing = sizes[~np.isfinite(rmse)]
    if missing.size:
        parts.append(f"no replicate has an MLE at n = {_listed(missing)}")
    if slope_to is not None and (sizes > slope_to).any():
        parts.append(
            f"n = {_listed(sizes[sizes > slope_to])} exceed N/4 = {slope_to:g} (subsamples "
            "near the data size share most of their points)"
        )
    return f"{why}; " + "; ".join(parts) if parts else why


def _unavailable(family: Family, truth: Theta, summary, slopes) -> dict[str, dict[str, str]]:
    """Why each NaN cell of the summary and slopes is NaN, per row label and column."""
    _, crlb_reasons = crlb(family, truth)
    out: dict[str, dict[str, str]] = {}
    for (estimator, name), rows in summary.groupby(["estimator", "parameter"], sort=False):
        why: dict[str, str] = {}
        if name in crlb_reasons:
            why["crlb"] = why["efficiency"] = crlb_reasons[name]
        sizes = rows["size"].to_numpy()
        nothing = sizes[rows["no_mle"].to_numpy() >= 1]
        if nothing.size:
            why["mean"] = f"no replicate has an MLE at n = {_listed(nothing)}"
        exact = sizes[(rows["mse"] == 0).to_numpy()]
        if exact.size and "efficiency" not in why:
            why["efficiency"] = (
                f"the MSE is 0 at n = {_listed(exact)} (every replicate estimated the truth "
                "exactly): efficiency CRLB / MSE is undefined"
            )
        if rows["coverage"].isna().any():
            if family.se_source == "none" and estimator == "mle":
                why["coverage"] = "no Wald intervals: " + (family.irregular_note or NON_REGULAR)
            else:
                lacking = sizes[rows["coverage"].isna().to_numpy()]
                why["coverage"] = (
                    f"no replicate at n = {_listed(lacking)} has a Wald interval (every "
                    "estimate is on the boundary of the parameter space, e.g. p = 0, or has "
                    "no finite standard error)"
                )
        fit = slopes[(slopes["estimator"] == estimator) & (slopes["parameter"] == name)]
        if len(fit) and not np.isfinite(fit["slope"].iloc[0]):
            why["slope"] = str(fit["note"].iloc[0]).removeprefix("n/a: ")
        if why:
            out[_label(estimator, name)] = why
    return out


def _label(estimator: str, name: str) -> str:
    """A row's name as in the MLflow metrics: ``p.A`` for the MLE, ``map.p.A`` for MAP."""
    return name if estimator == "mle" else f"{estimator}.{name}"


def _listed(sizes: Sequence[int] | np.ndarray) -> str:
    """Sizes for a sentence: ``10, 100, 1,000``; a long list as ``10 .. 10,000 (9 sizes)``."""
    values = [int(s) for s in sizes]
    if len(values) > 5:
        return f"{values[0]:,} .. {values[-1]:,} ({len(values)} sizes)"
    return ", ".join(f"{s:,}" for s in values)


def _tidy(family: Family, fitted: BatchFit, truth: Theta, size: int, first: int,
          exists: np.ndarray | None = None):  # fmt: skip
    """One chunk's estimates as long rows (one per replicate, estimator and parameter).
    Replicates without an MLE (``exists`` False) get a NaN estimate and no interval."""
    import pandas as pd

    flat_truth = _flat(family, truth)
    count = len(fitted.converged)
    exists = np.ones(count, dtype=bool) if exists is None else exists
    replicate = np.arange(first, first + count)
    frames = []
    for name, estimate in fitted.estimate.items():
        estimate = np.where(exists, np.asarray(estimate, dtype=float), np.nan)
        se = np.where(exists, fitted.se[name], np.nan)
        covered = wald_covers(estimate, se, flat_truth[name])
        frames.append(_rows(size, replicate, "mle", name, estimate, flat_truth[name], se,
                            covered, has_mle=exists))  # fmt: skip
        if fitted.map is not None and name in fitted.map:
            low, high = fitted.credible[name]
            covered = (low <= flat_truth[name]) & (flat_truth[name] <= high)
            frames.append(_rows(size, replicate, "map", name, fitted.map[name],
                                flat_truth[name], np.full(count, np.nan), covered,
                                has_interval=np.ones(count, dtype=bool)))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _rows(size, replicate, estimator, name, estimate, truth, se, covered, has_interval=None,
          has_mle=None):  # fmt: skip
    import pandas as pd

    estimate = np.asarray(estimate, dtype=float)
    if has_interval is None:
        has_interval = np.isfinite(se)
    if has_mle is None:
        has_mle = np.ones(len(estimate), dtype=bool)
    return pd.DataFrame({
        "size": size, "replicate": replicate, "estimator": estimator, "parameter": name,
        "estimate": estimate, "truth": truth, "se": se,
        "covered": np.asarray(covered, dtype=float), "has_interval": has_interval,
        "has_mle": has_mle, "sq_error": (estimate - truth) ** 2,
    })  # fmt: skip


def _without_missing_mle(family: Family, stats: Stats, fitted: BatchFit) -> dict[str, np.ndarray]:
    """A batch's estimates, NaN where the MLE does not exist."""
    exists, _ = mle_exists(family, stats, fitted)
    return {k: np.where(exists, np.asarray(v, dtype=float), np.nan)
            for k, v in fitted.estimate.items()}  # fmt: skip


def _split_batch(stats: Stats, count: int) -> tuple[Stats, Stats]:
    """Batched statistics as (entries shared by every row, entries with a batch axis), so
    that row ``i`` is ``{**shared, **{k: v[i] for k, v in batched.items()}}``."""
    shared, batched = {}, {}
    for k, v in stats.items():
        if k.startswith("_"):  # a family's cache (weibull powers), not a statistic
            continue
        if np.ndim(v) >= 1 and np.shape(v)[0] == count:
            batched[k] = np.asarray(v)
        else:
            shared[k] = v
    return shared, batched


def _theta_row(family: Family, fitted: BatchFit, i: int) -> Theta:
    """Row ``i`` of a batch's estimates as the family's parameters (vectors reassembled)."""
    theta = {}
    for p in family.params:
        values = [float(fitted.estimate[c][i]) for c in p.component_names()]
        theta[p.name] = np.asarray(values) if p.is_vector else values[0]
    return theta


def _flat(family: Family, theta: Theta) -> dict[str, float]:
    flat = {}
    for p in family.params:
        values = p.constraint.components(theta[p.name])
        flat.update(zip(p.component_names(), map(float, values), strict=True))
    return flat


def _pinned_components(family: Family, values: dict[str, float]) -> set[str]:
    """Simplex components whose true value is 0 or 1: never (always) observed, so known."""
    pinned = set()
    for p in family.params:
        if p.constraint.name == "simplex":
            pinned |= {c for c in p.component_names() if values[c] in (0.0, 1.0)}
    return pinned


def _directions(family: Family, names: list[str], live: list[int]) -> np.ndarray:
    """A basis (columns) of the directions the live components can move in together:
    one per free scalar, ``e_i - e_last`` within a simplex (its components sum to 1)."""
    position = {j: i for i, j in enumerate(live)}
    columns = []
    offset = 0
    for p in family.params:
        mine = [position[j] for j in range(offset, offset + len(p.component_names()))
                if j in position]  # fmt: skip
        offset += len(p.component_names())
        if p.constraint.name == "simplex":
            for i in mine[:-1]:
                column = np.zeros(len(live))
                column[i], column[mine[-1]] = 1.0, -1.0
                columns.append(column)
        else:
            for i in mine:
                column = np.zeros(len(live))
                column[i] = 1.0
                columns.append(column)
    return np.stack(columns, axis=1) if columns else np.zeros((len(live), 0))


def _support(family: Family, theta: Theta) -> np.ndarray | None:
    """The values a discrete family can take with probability above ``TAIL_MASS`` (the
    integer codes for a categorical), or None (continuous, or too wide to sum)."""
    from runner.stats.families.discrete import Categorical

    if isinstance(family, Categorical):
        return np.arange(len(family.categories))
    if not family.discrete:
        return None
    try:
        dist = family.scipy_dist(theta)
    except NotImplementedError:
        return None
    low = max(float(family.interval.low), float(dist.ppf(0.0)))
    high = float(dist.isf(TAIL_MASS))
    if not (np.isfinite(low) and np.isfinite(high)) or high - low > MAX_SUPPORT:
        return None
    return np.arange(int(low), int(high) + 1)


def _chunks(replicates: int, width: int, max_memory_mb: float):
    """(first replicate, count) pieces small enough to hold ``count x width`` values."""
    per_chunk = max(1, int(max_memory_mb * 2**20 // (BYTES_PER_VALUE * max(width, 1))))
    for first in range(0, replicates, per_chunk):
        yield first, min(per_chunk, replicates - first)


def draw_stats(family: Family, theta: Theta, size: int, count: int,
               rng: np.random.Generator) -> tuple[Stats, bool]:  # fmt: skip
    """The statistics of ``count`` samples of ``size`` at ``theta``: from their exact law
    where the family has one (True), else reduced from drawn data (False)."""
    stats = family.sample_stats(theta, size, count, rng)
    if stats is not None:
        return stats, True
    sample = _as_batch(family, family.sample(theta, (count, size), rng), count)
    return family.reduce(sample), False


def _as_batch(family: Family, sample: np.ndarray, count: int) -> np.ndarray:
    """Drawn values as the (count, size) array the family reduces (labels as codes)."""
    values = family.validate(sample)
    return values.reshape(count, -1)


def _check_family(family: Family) -> None:
    if family.multivariate:
        raise ConfigError(
            f"study=convergence works with univariate families; {family.name} is multivariate"
        )


def _check_estimator(family: Family, spec: StudySpec) -> None:
    from runner.stats import families

    if spec.estimator == "map" and family.name not in families.conjugate():
        raise ConfigError(
            f"estimator=map needs a conjugate prior, and {family.name} has none here; "
            f"families with one: {', '.join(families.conjugate())}"
        )


def _check_sizes(family: Family, sizes: Sequence[int]) -> None:
    small = [s for s in sizes if s < family.min_n]
    if small:
        raise ConfigError(
            f"study.sizes {small} are below the {family.min_n} observations {family.name} "
            "needs for its parameters to be identified"
        )


class _progress:
    """A tqdm bar over replicates (on a terminal only), or nothing."""

    def __init__(self, spec: StudySpec, enabled: bool, label: str):
        self.total = spec.replicates * len(spec.sizes)
        self.enabled = enabled
        self.label = label
        self.bar = None

    def __enter__(self):
        if self.enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=self.label, unit="fit", disable=None,
                            leave=False)  # fmt: skip
        return self

    def update(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False

"""Convergence against sample size: how the estimator approaches the truth as n grows.

For synthetic data with a known truth, ``replicates`` samples are drawn at each size and
fitted as batches (``runner.stats.batch``); per size and parameter the summary has the mean
estimate, bias, variance, MSE, RMSE, the Cramer-Rao bound ``[I(theta)^-1]_jj / n``,
efficiency (CRLB / MSE) and the coverage of the 95% Wald interval, and over sizes the
log-log slope of RMSE against n (theory: -0.5). For real data, subsamples without
replacement at each size are compared with the full-data estimate. One long sample path
gives the running estimate ``theta_hat(x_1..x_k)`` from cumulative statistics.

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
from runner.stats.families.base import Family, Theta

BYTES_PER_VALUE = 8 * 6  # a float64 and the temporaries a batched fit makes of it


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
    slopes: Any  # pandas.DataFrame: per estimator and parameter
    stream: Any = None  # pandas.DataFrame: k, parameter, estimate, truth
    population: int | None = None  # size of the real data set (subsample mode)
    sizes: list[int] = field(default_factory=list)  # the sizes studied


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


def synthetic_study(family: Family, truth: Theta, spec: StudySpec, progress: bool = True):
    """Replicates drawn from ``truth`` at every size, fitted in batches."""
    _check_family(family)
    _check_sizes(family, spec.sizes)
    _check_estimator(family, spec)
    rng = np.random.default_rng(spec.seed)
    frames = []
    with _progress(spec, progress, "convergence study") as bar:
        for size in spec.sizes:
            for first, count in _chunks(spec.replicates, size, spec.max_memory_mb):
                stats = family.sample_stats(truth, size, count, rng)
                if stats is None:  # no exact law for the statistics: draw the data
                    sample = _as_batch(family, family.sample(truth, (count, size), rng), count)
                    stats = family.reduce(sample)
                fitted = fit_batch(family, stats, estimator=spec.estimator, prior=spec.prior)
                frames.append(_tidy(family, fitted, truth, size, first))
                bar.update(count)
    flat_truth = _flat(family, truth)
    stream = None
    if spec.stream:
        path = family.sample(truth, max(spec.sizes), np.random.default_rng([spec.seed, 2]))
        stream = running_estimates(family, family.validate(path), flat_truth)
    return _result("synthetic", family, truth, frames, spec, stream)


def subsample_study(family: Family, x: np.ndarray, spec: StudySpec, progress: bool = True):
    """Subsamples of real data without replacement at every size, against the full-data
    estimate; their spread is the sampling spread at that size."""
    from runner.stats.estimate import fit_validated

    _check_family(family)
    total = family.sample_size(x)
    sizes = [s for s in spec.sizes if s < total]
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
    spec = StudySpec(**{**spec.__dict__, "sizes": sizes})
    with _progress(spec, progress, "subsampling study") as bar:
        for size in sizes:
            for first, count in _chunks(spec.replicates, total, spec.max_memory_mb):
                keys = rng.random((count, total))
                rows = np.argpartition(keys, size - 1, axis=1)[:, :size]
                fitted = fit_batch(family, family.reduce(x[rows]), estimator=spec.estimator,
                                   prior=spec.prior)  # fmt: skip
                frames.append(_tidy(family, fitted, reference, size, first))
                bar.update(count)
    stream = None
    if spec.stream:
        order = np.random.default_rng([spec.seed, 2]).permutation(total)
        stream = running_estimates(family, x[order], _flat(family, reference))
    return _result("subsample", family, reference, frames, spec, stream, total)


def running_estimates(family: Family, path: np.ndarray, truth: dict[str, float], points: int = 300):
    """The estimate from the first k observations, for log-spaced k up to the path length:
    one cumulative pass where the statistics add up, one fit per checkpoint otherwise."""
    import pandas as pd

    total = family.sample_size(path)
    start = max(family.min_n, 2)
    if total < start:
        return None
    ends = np.unique(np.round(np.geomspace(start, total, points)).astype(int))
    stats = family.prefix_stats(path, ends)
    if stats is None:
        ends = np.unique(np.round(np.geomspace(start, total, 60)).astype(int))
        fits = [fit_batch(family, family.reduce(path[None, :k])) for k in ends]
        estimates = {k: np.concatenate([f.estimate[k] for f in fits]) for k in fits[0].estimate}
    else:
        with np.errstate(all="ignore"):
            estimates = fit_batch(family, stats).estimate
    rows = [
        pd.DataFrame(
            {"k": ends, "parameter": name, "estimate": values, "truth": truth.get(name, np.nan)}
        )
        for name, values in estimates.items()
    ]
    return pd.concat(rows, ignore_index=True)


def summarize(draws, family: Family, truth: Theta, slope_from: int = 100, slope_to=None):
    """Per size, estimator and parameter: bias, variance, MSE, RMSE, CRLB, efficiency,
    Wald (or credible) coverage and the 2.5-97.5% spread; and the RMSE slopes."""
    import pandas as pd

    crlb = _crlb(family, truth)
    grouped = draws.groupby(["size", "estimator", "parameter"], sort=True)
    summary = grouped.agg(
        replicates=("estimate", "size"),
        mean=("estimate", "mean"),
        variance=("estimate", "var"),
        mse=("sq_error", "mean"),
        coverage=("covered", "sum"),
        intervals=("has_interval", "sum"),
        no_interval=("has_interval", lambda s: 1 - s.mean()),
        q025=("estimate", lambda s: s.quantile(0.025)),
        q975=("estimate", lambda s: s.quantile(0.975)),
        truth=("truth", "first"),
    ).reset_index()
    # Coverage among the replicates that have an interval; NaN where none has one.
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["coverage"] = summary["coverage"] / summary["intervals"].where(
            summary["intervals"] > 0
        )
    summary["bias"] = summary["mean"] - summary["truth"]
    summary["rmse"] = np.sqrt(summary["mse"])
    summary["crlb"] = summary["parameter"].map(crlb).astype(float) / summary["size"]
    summary["efficiency"] = summary["crlb"] / summary["mse"]
    slopes = []
    for (estimator, name), rows in summary.groupby(["estimator", "parameter"]):
        ok = np.isfinite(rows["rmse"]) & (rows["rmse"] > 0)
        if slope_to is not None:
            ok &= rows["size"] <= slope_to
        large = ok & (rows["size"] >= slope_from)
        if large.sum() < 3:  # too few large sizes: use the three largest available
            large = ok & (rows["size"] >= rows["size"][ok].nlargest(3).min())
        slope = intercept = np.nan
        if large.sum() >= 2:
            slope, intercept = np.polyfit(
                np.log(rows["size"][large]), np.log(rows["rmse"][large]), 1
            )
        first = int(rows["size"][large].min()) if large.any() else 0
        slopes.append({"estimator": estimator, "parameter": name, "slope": slope,
                       "intercept": intercept, "from_size": first})  # fmt: skip
    columns = ["size", "estimator", "parameter", "replicates", "truth", "mean", "bias",
               "variance", "mse", "rmse", "crlb", "efficiency", "coverage", "no_interval",
               "q025", "q975"]  # fmt: skip
    return summary[columns], pd.DataFrame(slopes)


# ---- internals ------------------------------------------------------------------------------
def _result(mode, family, truth, frames, spec, stream, population=None) -> StudyResult:
    import pandas as pd

    draws = pd.concat(frames, ignore_index=True)
    # Subsamples near the data size share most of their points: the spread shrinks by the
    # finite-population factor (1 - n/N), so the slope is fitted where that is small.
    slope_to = None if population is None else population / 4
    summary, slopes = summarize(draws, family, truth, spec.slope_from, slope_to)
    tidy = draws[["size", "replicate", "estimator", "parameter", "estimate", "truth", "se",
                  "covered"]]  # fmt: skip
    return StudyResult(
        mode, _flat(family, truth), tidy, summary, slopes, stream, population, list(spec.sizes)
    )


def _tidy(family: Family, fitted: BatchFit, truth: Theta, size: int, first: int):
    """One chunk's estimates as long rows (one per replicate, estimator and parameter)."""
    import pandas as pd

    flat_truth = _flat(family, truth)
    count = len(fitted.converged)
    replicate = np.arange(first, first + count)
    frames = []
    for name, estimate in fitted.estimate.items():
        se = fitted.se[name]
        frames.append(_rows(size, replicate, "mle", name, estimate, flat_truth[name], se,
                            wald_covers(estimate, se, flat_truth[name])))  # fmt: skip
        if fitted.map is not None and name in fitted.map:
            low, high = fitted.credible[name]
            covered = (low <= flat_truth[name]) & (flat_truth[name] <= high)
            frames.append(_rows(size, replicate, "map", name, fitted.map[name],
                                flat_truth[name], np.full(count, np.nan), covered,
                                has_interval=np.ones(count, dtype=bool)))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _rows(size, replicate, estimator, name, estimate, truth, se, covered, has_interval=None):
    import pandas as pd

    estimate = np.asarray(estimate, dtype=float)
    if has_interval is None:
        has_interval = np.isfinite(se)
    return pd.DataFrame({
        "size": size, "replicate": replicate, "estimator": estimator, "parameter": name,
        "estimate": estimate, "truth": truth, "se": se,
        "covered": np.asarray(covered, dtype=float), "has_interval": has_interval,
        "sq_error": (estimate - truth) ** 2,
    })  # fmt: skip


def _flat(family: Family, theta: Theta) -> dict[str, float]:
    flat = {}
    for p in family.params:
        values = p.constraint.components(theta[p.name])
        flat.update(zip(p.component_names(), map(float, values), strict=True))
    return flat


def _crlb(family: Family, truth: Theta) -> dict[str, float]:
    """Per-observation Cramer-Rao bound of each scalar parameter: [I(theta)^-1]_jj."""
    info = family.fisher_information(truth)
    if info is None or any(p.is_vector for p in family.params):
        return {}
    inverse = np.linalg.inv(np.asarray(info, dtype=float))
    return {p.name: float(inverse[j, j]) for j, p in enumerate(family.params)}


def _chunks(replicates: int, width: int, max_memory_mb: float):
    """(first replicate, count) pieces small enough to hold ``count x width`` values."""
    per_chunk = max(1, int(max_memory_mb * 2**20 // (BYTES_PER_VALUE * max(width, 1))))
    for first in range(0, replicates, per_chunk):
        yield first, min(per_chunk, replicates - first)


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

"""How well each kind of 95% interval covers the truth as n grows: plain Wald,
Wald on the unconstrained scale, profile likelihood and the parametric bootstrap's
percentile interval, on replicates of their own (seeded apart from the study's table).

Coverage is over the replicates that have an MLE; a replicate without an interval by a
method (no standard error on the boundary, a bootstrap whose refits failed) counts as a
miss for it, so methods are compared on the same replicates. Profile and bootstrap
intervals cost a search (or ``boot_replicates`` refits) per replicate: they run on the
first ``subset`` replicates of each size, which the table says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from runner.errors import ConfigError
from runner.stats import intervals, study
from runner.stats.batch import _batch_size, fit_batch
from runner.stats.families.base import Family, Stats, Theta

METHODS = ("wald", "wald_transformed", "profile", "bootstrap")
EXPENSIVE = ("profile", "bootstrap")


@dataclass
class CoverageSpec:
    methods: Sequence[str]
    sizes: Sequence[int]
    replicates: int = 1000
    subset: int = 200  # replicates per size for profile and bootstrap intervals
    boot_replicates: int = 200  # refits per bootstrap interval
    seed: int = 0
    max_memory_mb: float = 512


def check_methods(methods: Sequence[str]) -> list[str]:
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"study.intervals {unknown}: choose from {', '.join(METHODS)}")
    return methods


def interval_coverage(family: Family, truth: Theta, spec: CoverageSpec, progress=None):
    """A table: size, parameter, method, replicates, coverage, coverage_mcse, mean_width,
    no_interval (the share of replicates without one)."""
    import pandas as pd

    methods = check_methods(spec.methods)
    if not all(not p.is_vector and p.constraint.elementwise for p in family.params):
        raise ConfigError(f"study.intervals needs scalar parameters; {family.name} has a "
                          "vector parameter")  # fmt: skip
    if "profile" in methods and family.se_source == "none":
        raise ConfigError(f"study.intervals: no profile intervals for {family.name}: its "
                          "support moves with its parameters, so the likelihood ratio is not "
                          "chi-square(1)")  # fmt: skip
    rng = np.random.default_rng([spec.seed, 5])
    flat_truth = {k: float(v) for k, v in truth.items()}
    rows = []
    for size in spec.sizes:
        found: dict[tuple[str, str], list[np.ndarray]] = {}
        for first, count in study._chunks(spec.replicates, size, spec.max_memory_mb):
            stats, _ = study.draw_stats(family, truth, size, count, rng)
            with np.errstate(all="ignore"):
                fitted = fit_batch(family, stats)
                exists, _ = study.mle_exists(family, stats, fitted)
            for method in methods:
                if method in EXPENSIVE and first >= spec.subset:
                    continue
                take = count if method not in EXPENSIVE else min(count, spec.subset - first)
                ends = _intervals(method, family, stats, fitted, take, size, spec, rng)
                for name, (low, high) in ends.items():
                    ok = exists[:take]
                    low, high = low[ok], high[ok]
                    found.setdefault((name, method), []).append(np.column_stack([low, high]))
            if progress is not None:
                progress.update(count)
        for (name, method), parts in found.items():
            ends = np.concatenate(parts)
            rows.append(_summary(size, name, method, ends, flat_truth[name]))
    return pd.DataFrame(rows)


def _summary(size: int, name: str, method: str, ends: np.ndarray, truth: float) -> dict:
    low, high = ends[:, 0], ends[:, 1]
    has = np.isfinite(low) | np.isfinite(high)
    has &= ~(np.isnan(low) | np.isnan(high))
    covered = has & (low <= truth) & (truth <= high)
    count = len(ends)
    coverage = covered.mean() if count else np.nan
    width = high[has] - low[has]
    return {
        "size": size, "parameter": name, "method": method, "replicates": count,
        "coverage": coverage,
        "coverage_mcse": np.sqrt(coverage * (1 - coverage) / count) if count else np.nan,
        "mean_width": float(np.mean(width)) if width.size else np.nan,
        "no_interval": 1 - has.mean() if count else np.nan,
    }  # fmt: skip


def _intervals(method: str, family: Family, stats: Stats, fitted, take: int, size: int,
               spec: CoverageSpec, rng) -> dict[str, tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Each parameter's (low, high) arrays over the first ``take`` replicates (NaN: none)."""
    if method == "profile":
        return _profiles(family, stats, fitted, take)
    if method == "bootstrap":
        return _bootstraps(family, fitted, take, size, spec, rng)
    out = {}
    for p in family.params:
        estimate = np.asarray(fitted.estimate[p.name], dtype=float)[:take]
        se = np.asarray(fitted.se[p.name], dtype=float)[:take]
        scale = intervals.scales(p.constraint, 1)[0]
        transformed = method == "wald_transformed"
        with np.errstate(all="ignore"):
            out[p.name] = (scale if transformed else intervals.IDENTITY).interval(estimate, se)
    return out


def _profiles(family: Family, stats: Stats, fitted, take: int):
    """Profile-likelihood intervals row by row, on each replicate's statistics."""
    from runner.stats import optimizers
    from runner.stats.estimate import LikelihoodProblem

    count = _batch_size(stats)
    shared, batched = study._split_batch(stats, count)
    names = family.param_names
    out = {n: (np.full(take, np.nan), np.full(take, np.nan)) for n in names}
    opt = optimizers.get("auto")
    for i in range(take):
        row = {**shared, **{k: v[i] for k, v in batched.items()}}
        theta = {n: float(np.asarray(fitted.estimate[n])[i]) for n in names}
        if not all(np.isfinite(v) for v in theta.values()):
            continue
        with np.errstate(all="ignore"):
            top = float(family.loglik(row, theta))
        for p in family.params:
            scale = intervals.scales(p.constraint, 1)[0]
            others = {k: v for k, v in theta.items() if k != p.name}

            def profile(v, name=p.name, row=row, others=others):
                fixed = {name: v}
                if not others:
                    return float(family.loglik(row, fixed))
                problem = LikelihoodProblem(family, row, fixed, others)
                with np.errstate(all="ignore"):
                    outcome = opt.maximize(problem)
                    return float(family.loglik(row, {**outcome.theta, **fixed}))

            se = float(np.asarray(fitted.se[p.name])[i])
            se_scale = se * abs(scale.slope(theta[p.name])) if np.isfinite(se) else None
            try:
                (low, high), _ = intervals.profile_interval(profile, theta[p.name], top, scale,
                                                            se_scale)  # fmt: skip
            except (ValueError, ConfigError):
                continue
            out[p.name][0][i], out[p.name][1][i] = low, high
    return out


def _bootstraps(family: Family, fitted, take: int, size: int, spec: CoverageSpec, rng):
    """Parametric-bootstrap percentile intervals: ``boot_replicates`` refits per row."""
    names = family.param_names
    out = {n: (np.full(take, np.nan), np.full(take, np.nan)) for n in names}
    for i in range(take):
        theta = {n: float(np.asarray(fitted.estimate[n])[i]) for n in names}
        if not all(np.isfinite(v) for v in theta.values()):
            continue
        stats, _ = study.draw_stats(family, theta, size, spec.boot_replicates, rng)
        with np.errstate(all="ignore"):
            refit = fit_batch(family, stats)
            exists, _ = study.mle_exists(family, stats, refit)
        for n in names:
            values = np.asarray(refit.estimate[n], dtype=float)[exists]
            values = values[np.isfinite(values)]
            if values.size >= 40:
                out[n][0][i], out[n][1][i] = np.quantile(values, [0.025, 0.975])
    return out

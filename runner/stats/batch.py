"""Many fits at once: a batch of samples (replicates, or the prefixes of one long sample)
fitted with array operations, not a Python loop calling an optimizer per sample.

Statistics come from ``Family.reduce`` along the last axis, so a batch is a leading axis
on every statistic. Closed forms then apply as they are; families without one get a
batched Newton iteration in unconstrained coordinates (the same safeguards as
``optimizers.Newton``: curvature made negative, step halving) on all rows together.
Standard errors come from the observed information, batched. Families whose parameters
are vectors (categorical) or whose fit needs EM (mixtures) fall back to one ``fit`` per
row: correct, and honest about the cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from runner.stats.families.base import Family, Stats, Theta

_Z95 = 1.959963984540054


@dataclass
class BatchFit:
    """Estimates of one batch: per parameter component, arrays over the batch."""

    estimate: dict[str, np.ndarray]
    se: dict[str, np.ndarray]  # NaN where no Wald standard error exists
    converged: np.ndarray
    map: dict[str, np.ndarray] | None = None
    credible: dict[str, tuple[np.ndarray, np.ndarray]] | None = None


def batchable(family: Family) -> bool:
    """True if every parameter is a scalar with an elementwise bijection (the array path)."""
    return all(p.constraint.elementwise and not p.is_vector for p in family.params) and (
        family.has_closed_form or family.has_score
    )


def fit_batch(
    family: Family,
    stats: Stats,
    *,
    estimator: str = "mle",
    prior: dict[str, Any] | None = None,
    tol: float = 1e-9,
    maxiter: int = 100,
) -> BatchFit:
    """Fit every row of a batch of reduced samples (``stats`` with a leading batch axis)."""
    size = _batch_size(stats)
    if not batchable(family):
        return _fit_rows(family, stats, size, estimator, prior)
    profiled = (
        None if family.has_closed_form else family.profile_mle(stats, set(family.param_names))
    )
    if family.has_closed_form:
        theta = {k: np.broadcast_to(np.asarray(v, float), (size,)).copy()
                 for k, v in family.closed_form(stats).items()}  # fmt: skip
        converged = np.ones(size, dtype=bool)
    elif profiled is not None:
        theta = {k: np.broadcast_to(np.asarray(v, float), (size,)).copy()
                 for k, v in profiled.items()}  # fmt: skip
        converged = np.ones(size, dtype=bool)
    else:
        theta, converged = newton(family, stats, family.initial(stats), tol, maxiter)
    se = standard_errors(family, stats, theta)
    result = BatchFit(theta, se, converged)
    if estimator == "map":
        post = family.posterior(stats, prior or {}, {})
        result.map = {k: np.broadcast_to(v, (size,)) for k, v in post.map.items()}
        result.credible = {
            k: (np.asarray(lo), np.asarray(hi)) for k, (lo, hi) in post.interval.items()
        }
    return result


def newton(
    family: Family, stats: Stats, start: Theta, tol: float = 1e-9, maxiter: int = 100
) -> tuple[Theta, np.ndarray]:
    """Batched Newton-Raphson on the score in unconstrained coordinates."""
    params = family.params
    z = np.stack([p.constraint.to_unconstrained(np.asarray(start[p.name], float)).reshape(-1)
                  for p in params], axis=-1)  # fmt: skip
    z = np.clip(np.nan_to_num(z, nan=0.0, posinf=30.0, neginf=-30.0), -700, 700)
    n = np.asarray(stats["n"], dtype=float).reshape(-1)
    value, grad, hess = _derivatives(family, stats, z)
    for _ in range(maxiter):
        active = np.max(np.abs(grad), axis=-1) / n >= tol
        if not active.any():
            break
        step = np.zeros_like(z)
        step[active] = _ascent_steps(hess[active], grad[active])
        t = np.ones(len(z))
        accepted = ~active
        slack = 1e-12 * np.maximum(1.0, np.abs(value))
        for _ in range(50):
            trial = z + t[:, None] * step
            trial_value = _loglik(family, stats, trial)
            ok = np.isfinite(trial_value) & (trial_value >= value - slack) & ~accepted
            z[ok] = trial[ok]
            accepted |= ok
            if accepted.all():
                break
            t = np.where(accepted, t, t / 2)
        stalled = ~accepted
        value, grad, hess = _derivatives(family, stats, z)
        if stalled.all():
            break
    converged = np.max(np.abs(grad), axis=-1) / n < max(tol, 1e-7)
    return _theta(params, z), converged


def standard_errors(family: Family, stats: Stats, theta: Theta) -> dict[str, np.ndarray]:
    """Wald standard errors from the observed information (or the expected one, where the
    family says so), NaN where the estimate is on the boundary or the information is
    not positive definite."""
    names = family.param_names
    size = len(theta[names[0]])
    nan = {k: np.full(size, np.nan) for k in names}
    if family.se_source == "none":
        return nan
    if family.se_source == "expected":
        info = np.stack([family.fisher_information({k: theta[k][i] for k in names})
                         for i in range(size)])  # fmt: skip
        info = info * np.asarray(stats["n"], float).reshape(-1, 1, 1)
    else:
        with np.errstate(all="ignore"):
            info = -_natural_hessian(family, stats, theta)
    with np.errstate(all="ignore"):
        usable = np.all(np.isfinite(info), axis=(-2, -1))
        cov = np.full_like(info, np.nan)
        if usable.any():
            cov[usable] = np.linalg.inv(info[usable])
        variances = np.diagonal(cov, axis1=-2, axis2=-1)
    out = {}
    for j, p in enumerate(family.params):
        var = variances[:, j]
        interior = np.isfinite(var) & (var > 0)
        interior &= ~_on_boundary(p.constraint, theta[p.name])
        out[p.name] = np.where(interior, np.sqrt(np.where(interior, var, 1.0)), np.nan)
    return out


def wald_covers(estimate: np.ndarray, se: np.ndarray, truth: float) -> np.ndarray:
    """Whether each 95% Wald interval holds the truth (False where there is none)."""
    with np.errstate(invalid="ignore"):
        return np.abs(estimate - truth) <= _Z95 * se


# ---- internals ------------------------------------------------------------------------------
def _batch_size(stats: Stats) -> int:
    sizes = [
        np.shape(v)[0]
        for k, v in stats.items()
        if k != "n" and not k.startswith("_") and np.ndim(v) >= 1
    ]
    return max(sizes) if sizes else 1


def _theta(params, z: np.ndarray) -> Theta:
    return {p.name: p.constraint.from_unconstrained(z[:, j]) for j, p in enumerate(params)}


def _loglik(family, stats, z) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(family.loglik(stats, _theta(family.params, z)), dtype=float)


def _natural_hessian(family, stats, theta) -> np.ndarray:
    """(batch, d, d): the family's Hessian, or central differences of its score."""
    if family.has_hessian:
        return np.asarray(family.hessian(stats, theta), dtype=float)
    names = family.param_names
    columns = []
    for name in names:
        h = 1e-6 * np.maximum(1.0, np.abs(theta[name]))
        up = family.score(stats, {**theta, name: theta[name] + h})
        down = family.score(stats, {**theta, name: theta[name] - h})
        columns.append(np.stack([(up[k] - down[k]) / (2 * h) for k in names], axis=-1))
    hess = np.stack(columns, axis=-1)
    return 0.5 * (hess + np.swapaxes(hess, -1, -2))


def _derivatives(family, stats, z):
    """Log-likelihood, gradient and Hessian in z for the whole batch (chain rule)."""
    params = family.params
    theta = _theta(params, z)
    with np.errstate(all="ignore"):
        value = np.asarray(family.loglik(stats, theta), dtype=float)
        score = family.score(stats, theta)
        hess_theta = _natural_hessian(family, stats, theta)
    first = np.empty_like(z)
    curvature = np.empty_like(z)
    grad = np.empty_like(z)
    for j, p in enumerate(params):
        d1, d2 = p.constraint.derivatives(z[:, j])
        first[:, j] = d1
        grad[:, j] = score[p.name] * d1
        curvature[:, j] = score[p.name] * d2
    hess = first[:, :, None] * hess_theta * first[:, None, :]
    hess[:, np.arange(z.shape[1]), np.arange(z.shape[1])] += curvature
    bad = ~np.all(np.isfinite(hess), axis=(-2, -1)) | ~np.all(np.isfinite(grad), axis=-1)
    hess[bad] = -np.eye(z.shape[1])
    grad[bad] = 0.0
    return value, grad, hess


def _ascent_steps(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Newton steps with the curvature's signs made negative (always uphill), batched."""
    eigenvalues, vectors = np.linalg.eigh(-hess)
    floor = 1e-10 * np.maximum(1.0, np.max(np.abs(eigenvalues), axis=-1, keepdims=True))
    curvature = np.maximum(np.abs(eigenvalues), floor)
    projected = np.einsum("bji,bj->bi", vectors, grad) / curvature
    return np.einsum("bij,bj->bi", vectors, projected)


def _on_boundary(constraint, values: np.ndarray) -> np.ndarray:
    name = constraint.name
    values = np.asarray(values)
    if name == "positive":
        return values <= 0
    if name == "unit_interval":
        return (values <= 0) | (values >= 1)
    return np.zeros(values.shape, dtype=bool)


def _fit_rows(family, stats, size, estimator, prior) -> BatchFit:
    """One ``fit`` per row, for families the array path does not cover."""
    from runner.stats.estimate import LikelihoodProblem, _covariance
    from runner.stats.optimizers import Auto

    estimate: dict[str, list] = {}
    se: dict[str, list] = {}
    converged = np.zeros(size, dtype=bool)
    maps: dict[str, list] = {}
    lows: dict[str, list] = {}
    highs: dict[str, list] = {}
    for i in range(size):
        row = {k: (v[i] if np.ndim(v) >= 1 and np.shape(v)[0] == size else v)
               for k, v in stats.items() if not k.startswith("_")}  # fmt: skip
        problem = LikelihoodProblem(family, row)
        outcome = Auto().maximize(problem)
        theta = outcome.theta
        converged[i] = outcome.converged
        cov = None
        if not any(p.constraint.on_boundary(theta[p.name]) for p in family.params):
            cov, _ = _covariance(problem, theta)
        offset = 0
        post = family.posterior(row, prior or {}, {}) if estimator == "map" else None
        for p in family.params:
            values = p.constraint.components(theta[p.name])
            for j, name in enumerate(p.component_names()):
                estimate.setdefault(name, []).append(values[j])
                var = np.nan if cov is None else cov[offset + j, offset + j]
                se.setdefault(name, []).append(np.sqrt(var) if var > 0 else np.nan)
                if post is not None:
                    maps.setdefault(name, []).append(p.constraint.components(post.map[p.name])[j])
                    lo, hi = (np.atleast_1d(v) for v in post.interval[p.name])
                    lows.setdefault(name, []).append(lo[j])
                    highs.setdefault(name, []).append(hi[j])
            offset += p.size
    result = BatchFit(
        {k: np.asarray(v) for k, v in estimate.items()},
        {k: np.asarray(v, dtype=float) for k, v in se.items()},
        converged,
    )
    if maps:
        result.map = {k: np.asarray(v) for k, v in maps.items()}
        result.credible = {k: (np.asarray(lows[k]), np.asarray(highs[k])) for k in maps}
    return result

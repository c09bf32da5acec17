"""Many fits at once: a batch of samples (replicates, or the prefixes of one long sample)
fitted with array operations, not a Python loop calling an optimizer per sample.

Statistics come from ``Family.reduce`` along the last axis, so a batch is a leading axis
on every statistic. Closed forms then apply as they are; families without one get a
batched Newton iteration in unconstrained coordinates (the same safeguards as
``optimizers.Newton``: curvature made negative, step halving) on all rows together.
Standard errors come from the observed information, batched. Families with no score
(scipy's by name, your own density) climb the same way with central differences of the
batched log-likelihood (2d^2 + 2d + 1 evaluations of the whole batch per step), and rows
the climb may have got wrong go to the family's own search one by one. Families whose
parameters are vectors (categorical), integers, or whose fit needs EM (mixtures) fall
back to one ``fit`` per row: correct, and honest about the cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    no_mle: dict[int, str] = field(default_factory=dict)  # row -> why it has no MLE


def batchable(family: Family) -> bool:
    """True if every parameter is a scalar with an elementwise bijection (the array path)."""
    return all(p.constraint.elementwise and not p.is_vector for p in family.params) and (
        family.has_closed_form or family.has_score or family.batch_by_differences
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
        start = {k: np.broadcast_to(np.asarray(v, float), (size,)).copy()
                 for k, v in family.initial(stats).items()}  # fmt: skip
        theta, converged = newton(family, stats, start, tol, maxiter)
    se = standard_errors(family, stats, theta)
    result = BatchFit(theta, se, converged)
    if not family.has_score and not family.has_closed_form:
        _search_where_suspect(family, stats, result, size, estimator, prior)
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
        if usable.any():  # an information that is not positive definite gives no Wald SE
            usable[usable] = np.all(np.linalg.eigvalsh(info[usable]) > 0, axis=-1)
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


def _search_where_suspect(family, stats, result: BatchFit, size, estimator, prior) -> None:
    """Rows the batched climb may have got wrong (not converged, not a proper maximum, or
    where the family's own search would look further: a threshold at min(x)) are fitted
    again one by one with that search, so every row is what ``fit`` would give."""
    suspect = ~result.converged | ~np.all(np.isfinite(
        np.stack([result.se[k] for k in family.param_names], axis=-1)), axis=-1)  # fmt: skip
    suspect |= np.asarray(family.needs_own_search(stats, result.estimate), dtype=bool)
    rows = np.flatnonzero(suspect)
    if rows.size == 0:
        return
    subset = {k: (v[rows] if np.ndim(v) >= 1 and np.shape(v)[0] == size else v)
              for k, v in stats.items() if not k.startswith("_")}  # fmt: skip
    again = _fit_rows(family, subset, rows.size, estimator, prior)
    for k in result.estimate:
        result.estimate[k] = np.asarray(result.estimate[k], dtype=float).copy()
        result.estimate[k][rows] = again.estimate[k]
        result.se[k] = np.asarray(result.se[k], dtype=float).copy()
        result.se[k][rows] = again.se[k]
    result.converged = result.converged.copy()
    result.converged[rows] = again.converged
    result.no_mle.update({int(rows[i]): why for i, why in again.no_mle.items()})


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
    """(batch, d, d): the family's Hessian, or central differences of its score (or of
    its log-likelihood, for a family with neither)."""
    if family.has_hessian:
        return np.asarray(family.hessian(stats, theta), dtype=float)
    if not family.has_score:
        names = family.param_names
        z = np.stack([np.asarray(theta[k], dtype=float).reshape(-1) for k in names], axis=-1)
        return _difference_hessian(lambda w: _value_at(family, stats, names, w), z)
    names = family.param_names
    columns = []
    for name in names:
        h = 1e-6 * np.maximum(1.0, np.abs(theta[name]))
        up = family.score(stats, {**theta, name: theta[name] + h})
        down = family.score(stats, {**theta, name: theta[name] - h})
        columns.append(np.stack([(up[k] - down[k]) / (2 * h) for k in names], axis=-1))
    hess = np.stack(columns, axis=-1)
    return 0.5 * (hess + np.swapaxes(hess, -1, -2))


def _value_at(family, stats, names, w: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        theta = {k: w[:, j] for j, k in enumerate(names)}
        return np.asarray(family.loglik(stats, theta), dtype=float)


GRADIENT_STEP = 1e-6  # relative central-difference steps, as runner.stats.numdiff's
HESSIAN_STEP = 1e-4


def _difference_gradient(f, z: np.ndarray) -> np.ndarray:
    grad = np.empty_like(z)
    h = GRADIENT_STEP * np.maximum(1.0, np.abs(z))
    with np.errstate(all="ignore"):
        for i in range(z.shape[1]):
            e = np.zeros_like(z)
            e[:, i] = h[:, i]
            grad[:, i] = (f(z + e) - f(z - e)) / (2 * h[:, i])
    return grad


def _difference_hessian(f, z: np.ndarray) -> np.ndarray:
    """(batch, d, d) second central differences of a batched scalar function, all rows
    at once: 2d^2 + 1 evaluations of the batch, whatever its size."""
    rows, d = z.shape
    h = HESSIAN_STEP * np.maximum(1.0, np.abs(z))
    f0 = f(z)
    hess = np.empty((rows, d, d))
    unit = [np.zeros_like(z) for _ in range(d)]
    for i in range(d):
        unit[i][:, i] = h[:, i]
    with np.errstate(all="ignore"):  # -inf - -inf where a step leaves the support: NaN, bad row
        for i in range(d):
            hess[:, i, i] = (f(z + unit[i]) - 2 * f0 + f(z - unit[i])) / h[:, i] ** 2
            for j in range(i):
                ei, ej = unit[i], unit[j]
                mixed = f(z + ei + ej) - f(z + ei - ej) - f(z - ei + ej) + f(z - ei - ej)
                hess[:, i, j] = hess[:, j, i] = mixed / (4 * h[:, i] * h[:, j])
    return hess


def _derivatives(family, stats, z):
    """Log-likelihood, gradient and Hessian in z for the whole batch (chain rule; by
    differences in z itself for a family with no score)."""
    params = family.params
    if not family.has_score:
        value = _loglik(family, stats, z)
        grad = _difference_gradient(lambda w: _loglik(family, stats, w), z)
        hess = _difference_hessian(lambda w: _loglik(family, stats, w), z)
        bad = ~np.all(np.isfinite(hess), axis=(-2, -1)) | ~np.all(np.isfinite(grad), axis=-1)
        hess[bad] = -np.eye(z.shape[1])
        grad[bad] = 0.0
        return value, grad, hess
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
    from runner.errors import DataError
    from runner.stats.estimate import LikelihoodProblem, _covariance
    from runner.stats.families.pointwise import PointwiseFamily
    from runner.stats.optimizers import Auto

    no_mle: dict[int, str] = {}
    estimate: dict[str, list] = {}
    se: dict[str, list] = {}
    converged = np.zeros(size, dtype=bool)
    maps: dict[str, list] = {}
    lows: dict[str, list] = {}
    highs: dict[str, list] = {}
    for i in range(size):
        row = {k: (v[i] if np.ndim(v) >= 1 and np.shape(v)[0] == size else v)
               for k, v in stats.items() if not k.startswith("_")}  # fmt: skip
        if isinstance(family, PointwiseFamily):  # the family's own per-sample checks too
            row = family.reduce(row["x"])
        problem = LikelihoodProblem(family, row)
        try:
            outcome = Auto().maximize(problem)
        except DataError as exc:  # the search found that this sample has no MLE
            no_mle[i] = str(exc)
            for name in (c for p in family.params for c in p.component_names()):
                estimate.setdefault(name, []).append(np.nan)
                se.setdefault(name, []).append(np.nan)
            continue
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
        no_mle=no_mle,
    )
    if maps:
        result.map = {k: np.asarray(v) for k, v in maps.items()}
        result.credible = {k: (np.asarray(lows[k]), np.asarray(highs[k])) for k in maps}
    return result

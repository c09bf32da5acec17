"""Sandwich (Huber-White) covariance: standard errors that stay right when the model is wrong.

When the data do not come from the fitted family, the MLE still converges, to the
pseudo-true parameter (``runner.stats.pseudo_true``), and ``sqrt(n)(theta_hat - theta*)``
is asymptotically normal with covariance ``A^-1 B A^-1``: ``A`` the expected negative
Hessian and ``B`` the variance of one observation's score. The observed-information SE
assumes the information equality ``A = B``, which holds only for a correct model. The
sample version is ``H^-1 B H^-1``: ``H`` the observed information (minus the Hessian of
the total log-likelihood) and ``B = sum_i s_i s_i^T`` the outer product of the
per-observation scores, with no small-sample factor (statsmodels' ``cov_type="HC0"``).

Per-observation scores come from the family's analytic score applied to each observation
as a batch of samples of size one (``family.reduce(x[..., None])``), or, for families
without one (scipy's by name, your own density) or with vector parameters, from central
differences of the per-observation log-density, all observations in one call per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats.families.base import Family, Stats, Theta
from runner.stats.numdiff import gradient_from_value, hessian_from_value, jacobian


def sandwich_covariance(
    family: Family, x: Any, theta: Mapping[str, Any], fixed: Mapping[str, Any] | None = None
) -> np.ndarray:
    """``H^-1 B H^-1`` at ``theta`` for the sample ``x`` (validated, as ``fit`` fits it).

    Rows and columns are the free parameters' scalar components in ``family.params``
    order (``p.A``, ``p.B`` for a vector), as ``Fit``'s covariance; ``fixed`` (held
    parameters and their values, as ``fit``'s) are left out. For scalar parameters it is
    the natural parameters' ``H^-1 B H^-1`` at any ``theta``, derivatives by differences
    taken in the optimizers' unconstrained coordinates (steps that suit a rate of 1e-3
    and of 1e3 alike). Vector parameters (simplex, covariance matrix) are handled in
    those coordinates and carried back by the delta method, like the observed
    covariance: the same thing where the score vanishes, at the estimate, where a
    sandwich is meant to be evaluated.

    Raises ``ConfigError`` where the family has no sandwich (its log-likelihood is not
    twice differentiable in a parameter, or its support moves with one), ``DataError``
    where these data have none at ``theta`` (an estimate on the boundary, an observed
    information that is not positive definite).
    """
    refuse_irregular(family)
    held = dict(fixed or {})
    theta = {**theta, **held}
    x = np.asarray(x)
    stats = family.reduce(x)
    _refuse_flat(family, stats)
    free = _Free(family, theta, held)
    if free.dim == 0:
        return np.zeros((0, 0))
    z = free.z_of(theta)
    if not np.all(np.isfinite(z)):
        raise DataError(EDGE)
    with np.errstate(all="ignore"):
        if free.scalar:
            bread, scores = _natural(family, x, stats, theta, free, z)
            jac = np.eye(free.dim)
        else:
            bread = -hessian_from_value(lambda w: float(family.loglik(stats, free.theta(w))), z)
            scores = jacobian(lambda w: family.logpdf(x, free.theta(w)), z)
            jac = free.jacobian(z)
    scores = np.asarray(scores, dtype=float).reshape(-1, free.dim)
    _check_bread(bread)
    if not np.all(np.isfinite(scores)):
        raise DataError(
            "a per-observation score is not finite at these parameters: no sandwich covariance"
        )
    inverse = np.linalg.inv(bread)
    cov = jac @ inverse @ (scores.T @ scores) @ inverse @ jac.T
    return 0.5 * (cov + cov.T)


GRADIENT_STEP = 1e-6  # relative central-difference steps, as runner.stats.batch's

EDGE = "the estimate is at the edge of the parameter space: no sandwich covariance"


def refuse_irregular(family: Family) -> None:
    """``ConfigError`` for families whose log-likelihood has no Hessian to make the bread
    from: not twice differentiable in a parameter (laplace: |x - mu|), or a support that
    moves with the parameters (uniform)."""
    if family.se_source == "observed":
        return
    why = (
        "its support moves with the parameters, so the log-likelihood has no Hessian"
        if family.se_source == "none"
        else "its log-likelihood is not twice differentiable in a parameter at the estimate "
        "(the observed information does not exist there)"
    )
    raise ConfigError(f"no sandwich covariance for {family.name}: {why}")


# ---- internals ------------------------------------------------------------------------------
def _refuse_flat(family: Family, stats: Stats) -> None:
    flat = family.without_curvature(stats)
    if flat:
        name, why = next(iter(flat.items()))
        raise ConfigError(f"no sandwich covariance for {family.name}: {name}: {why}")


class _Free:
    """The free parameters in the optimizers' unconstrained coordinates ``z``."""

    def __init__(self, family: Family, theta: Theta, held: Theta):
        self.base = dict(theta)
        self.params = [p for p in family.params if p.name not in held]
        self.scalar = all(p.constraint.elementwise and not p.is_vector for p in self.params)
        self.slices: dict[str, slice] = {}
        start = 0
        for p in self.params:
            size = p.constraint.unconstrained_size(p.size)
            self.slices[p.name] = slice(start, start + size)
            start += size
        self.dim = start

    def z_of(self, theta: Theta) -> np.ndarray:
        parts = [np.atleast_1d(p.constraint.to_unconstrained(theta[p.name])) for p in self.params]
        return np.concatenate(parts).astype(float)

    def theta(self, z: np.ndarray) -> Theta:
        theta = dict(self.base)
        for p in self.params:
            value = p.constraint.from_unconstrained(z[self.slices[p.name]])
            theta[p.name] = value if p.is_vector else value[0]
        return theta

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """d(free components) / dz: block-diagonal."""
        blocks = [p.constraint.jacobian(z[self.slices[p.name]]) for p in self.params]
        jac = np.zeros((sum(b.shape[0] for b in blocks), self.dim))
        row = 0
        for p, block in zip(self.params, blocks, strict=True):
            jac[row : row + block.shape[0], self.slices[p.name]] = block
            row += block.shape[0]
        return jac


def _natural(family: Family, x, stats: Stats, theta: Theta, free: _Free, z: np.ndarray):
    """(-H, per-observation scores) in the natural scalar parameters: the family's Hessian
    and scores where it has them, else differences in ``z`` carried back by the chain
    rule, ``d theta / dz`` and ``d2 theta / dz2`` being known for each bijection."""
    names = [p.name for p in free.params]
    pairs = [p.constraint.derivatives(z[j]) for j, p in enumerate(free.params)]
    d1 = np.array([float(a) for a, _ in pairs])
    d2 = np.array([float(b) for _, b in pairs])
    if family.has_hessian:
        keep = [family.param_names.index(k) for k in names]
        hess = np.asarray(family.hessian(stats, theta), dtype=float)[np.ix_(keep, keep)]
    elif family.has_score:
        # d score / dz_j = (d score / d theta_j) theta_j'(z_j): steps taken in z, where
        # they suit every scale, and the chain rule undone exactly
        def score(w: np.ndarray) -> np.ndarray:
            values = family.score(stats, free.theta(w))
            return np.array([float(values[k]) for k in names])

        hess = jacobian(score, z, base_step=1e-5) / d1[None, :]
        hess = 0.5 * (hess + hess.T)
    else:
        # the Hessian in z holds the bijections' curvature, gradient * theta''(z): out
        def value(w: np.ndarray) -> float:
            return float(family.loglik(stats, free.theta(w)))

        grad_z = gradient_from_value(value, z)
        hess = (hessian_from_value(value, z) - np.diag(grad_z * d2 / d1)) / np.outer(d1, d1)
    scores = _observation_scores(family, x, theta, names)
    if scores is None:
        scores = jacobian(lambda w: family.logpdf(x, free.theta(w)), z) / d1[None, :]
    return -hess, scores


def _check_bread(bread: np.ndarray) -> None:
    if not np.all(np.isfinite(bread)):
        raise DataError(
            "the Hessian of the log-likelihood is not finite at these parameters: no sandwich "
            "covariance"
        )
    try:
        np.linalg.cholesky(bread)
    except np.linalg.LinAlgError:
        raise DataError(
            "the observed information is not positive definite at these parameters (not a "
            "strict maximum, or the parameters are not identifiable): no sandwich covariance"
        ) from None


def _observation_scores(
    family: Family, x: np.ndarray, theta: Theta, names: list[str]
) -> np.ndarray | None:
    """(..., n, d): the analytic score of each observation in the natural parameters, the
    observations a batch of samples of size one; None where the family has no score or
    its statistics do not batch (vector parameters)."""
    if not family.has_score or not all(
        p.constraint.elementwise and not p.is_vector for p in family.params
    ):
        return None
    per = family.reduce(x[..., None])
    shape = x.shape
    # (..., 1): meets the per-observation statistics (..., n) and, for families that keep
    # the data, their values (..., n, 1) once the family adds its own trailing axis
    at = {k: np.asarray(theta[k], dtype=float)[..., None] for k in family.param_names}
    score = family.score(per, at)
    return np.stack([np.broadcast_to(np.asarray(score[k], dtype=float), shape)
                     for k in names], axis=-1)  # fmt: skip


def _difference_scores(family: Family, samples: np.ndarray, theta: Theta, free) -> np.ndarray:
    """(replicates, n, d): central differences, in unconstrained coordinates, of each
    observation's log-density, carried to the natural parameters; one batched evaluation
    of every observation per step."""

    per = family.reduce(samples[..., None])
    shape = samples.shape
    at = {k: np.asarray(v, dtype=float)[..., None] for k, v in theta.items()}  # as above
    columns = []
    for p in free:
        z = p.constraint.to_unconstrained(at[p.name])
        h = GRADIENT_STEP * np.maximum(1.0, np.abs(z))
        up = family.loglik(per, {**at, p.name: p.constraint.from_unconstrained(z + h)})
        down = family.loglik(per, {**at, p.name: p.constraint.from_unconstrained(z - h)})
        d1, _ = p.constraint.derivatives(z)
        column = (np.asarray(up, float) - np.asarray(down, float)) / (2 * h) / d1
        columns.append(np.broadcast_to(column, shape))
    return np.stack(columns, axis=-1)

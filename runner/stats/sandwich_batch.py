"""Sandwich standard errors for a batch of replicates (a study's or a bootstrap's): the
array path shares its bread with ``batch.standard_errors``; see runner.stats.sandwich."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats.families.base import Family, Theta
from runner.stats.sandwich import (
    _difference_scores,
    _observation_scores,
    _refuse_flat,
    refuse_irregular,
    sandwich_covariance,
)


def sandwich_se_batch(
    family: Family,
    samples: Any,
    theta: Mapping[str, Any],
    fixed: Collection[str] = (),
) -> dict[str, np.ndarray]:
    """Sandwich standard errors for each row of ``samples`` (replicates, n) at that row's
    ``theta`` (arrays over the replicates, e.g. ``BatchFit.estimate``), by parameter
    component; parameters named in ``fixed`` are held (left out of the covariance).

    One batched pass for families ``batch`` fits with arrays (scalar parameters), its
    bread the very information ``batch.standard_errors`` inverts for the observed SEs.
    NaN where a row has no sandwich (on the boundary, the information not positive
    definite). Other families: ``sandwich_covariance`` row by row, a loop over
    replicates, never over observations; their vector parameters may come as
    ``BatchFit`` gives them, one array per component (``p.A``, ``p.B``).
    """
    from runner.stats.batch import _natural_hessian, batchable

    refuse_irregular(family)
    samples = np.asarray(samples)
    rows = samples.shape[0]
    names = family.param_names
    free = [p for p in family.params if p.name not in set(fixed)]
    if not batchable(family):
        return _rows(family, samples, theta, free, set(fixed))
    theta = {k: np.broadcast_to(np.asarray(theta[k], dtype=float), (rows,)).copy() for k in names}
    stats = family.reduce(samples)
    _refuse_flat(family, stats)
    keep = [names.index(p.name) for p in free]
    with np.errstate(all="ignore"):
        info = -np.asarray(_natural_hessian(family, stats, theta), dtype=float)
        info = info[:, keep][:, :, keep]
        scores = _observation_scores(family, samples, theta, [p.name for p in free])
        if scores is None:
            scores = _difference_scores(family, samples, theta, free)
        meat = np.einsum("rni,rnj->rij", scores, scores)
        usable = np.all(np.isfinite(info), axis=(-2, -1)) & np.all(np.isfinite(meat), axis=(-2, -1))
        if usable.any():
            usable[usable] = np.all(np.linalg.eigvalsh(info[usable]) > 0, axis=-1)
        variances = np.full((rows, len(free)), np.nan)
        if usable.any():
            inverse = np.linalg.inv(info[usable])
            cov = inverse @ meat[usable] @ inverse
            variances[usable] = np.diagonal(cov, axis1=-2, axis2=-1)
    out = {}
    for j, p in enumerate(free):
        z = p.constraint.to_unconstrained(theta[p.name])
        ok = np.isfinite(variances[:, j]) & (variances[:, j] > 0) & np.isfinite(z)
        out[p.name] = np.where(ok, np.sqrt(np.where(ok, variances[:, j], 1.0)), np.nan)
    return out


def _rows(family: Family, samples, theta, free, fixed: set[str]) -> dict[str, np.ndarray]:
    """One ``sandwich_covariance`` per replicate, for families the array path does not
    cover (vector parameters, mixtures)."""
    rows = samples.shape[0]
    names = [c for p in free for c in p.component_names()]
    out = {k: np.full(rows, np.nan) for k in names}
    for i in range(rows):
        row = _row(family, theta, i)
        held = {k: row[k] for k in fixed}
        try:
            cov = sandwich_covariance(family, samples[i], row, held)
        except DataError:
            continue
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.diagonal(cov))
        for j, k in enumerate(names):
            out[k][i] = se[j]
    return out


def _row(family: Family, theta: Mapping[str, Any], i: int) -> Theta:
    """Replicate ``i``'s parameters, from arrays by parameter or by component."""
    row = {}
    for p in family.params:
        if p.name in theta:
            value = np.asarray(theta[p.name], dtype=float)
            row[p.name] = value[i] if value.ndim > len(p.value_shape) else value
        elif p.is_vector and len(p.value_shape) == 1:
            row[p.name] = np.array([np.asarray(theta[c])[i] for c in p.component_names()])
        else:
            raise ConfigError(f"sandwich_se_batch needs theta[{p.name!r}] as an array of values")
        if not p.is_vector:
            row[p.name] = float(row[p.name])
    return row

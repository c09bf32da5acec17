"""The log-likelihood around the estimate, on a grid: what the likelihood plots draw.

Only for fits with one or two free scalar parameters (a curve or a contour map). The
grid spans about four standard errors each way (or a quarter of the estimate where there
is no standard error), clipped to the parameter space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runner.stats.families.base import Family, Stats
from runner.stats.result import Fit


@dataclass
class Surface:
    names: list[str]
    axes: list[np.ndarray]
    loglik: np.ndarray  # shape (len(axes[0]),) or (len(axes[0]), len(axes[1]))
    estimate: list[float]


def likelihood_surface(family: Family, stats: Stats, fit: Fit, points: int = 61) -> Surface | None:
    """Log-likelihood on a grid over the free parameters, or None if there are not 1 or 2."""
    free = [p for p in family.params if p.name not in _fixed_names(fit)]
    if not 1 <= len(free) <= 2 or any(p.is_vector for p in free):
        return None
    if not np.isfinite(fit.loglik):
        return None
    if len(free) == 2:
        points = max(11, points // 2 + 1)
    axes = [_axis(p, fit, points) for p in free]
    mesh = np.meshgrid(*axes, indexing="ij")
    theta = dict(fit.params)
    for p, grid in zip(free, mesh, strict=True):
        theta[p.name] = grid.ravel()
    with np.errstate(all="ignore"):
        try:
            values = np.asarray(family.loglik(stats, theta), dtype=float)
        except ValueError:  # a family whose loglik does not broadcast over a grid
            values = np.array(
                [
                    family.loglik(
                        stats, {**theta, **{p.name: g[i] for p, g in zip(free, mesh, strict=True)}}
                    )
                    for i in np.ndindex(mesh[0].shape)
                ]
            )
    values = values.reshape(mesh[0].shape)
    return Surface([p.name for p in free], axes, values, [float(fit.params[p.name]) for p in free])


def _fixed_names(fit: Fit) -> set[str]:
    return {e.name for e in fit.estimates if e.fixed}


def _axis(param, fit: Fit, points: int) -> np.ndarray:
    center = float(fit.params[param.name])
    se = fit.se.get(param.name)
    half = 4 * se if se else 0.25 * max(abs(center), 1e-3)
    low, high = center - half, center + half
    name = param.constraint.name
    if name in ("positive", "unit_interval"):
        low = max(low, center * 1e-3 if center > 0 else 1e-9)
    if name == "unit_interval":
        high = min(high, 1 - 1e-9)
    return np.linspace(low, high, points)

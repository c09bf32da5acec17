"""Central finite differences, for Hessians the families do not give in closed form.

Steps scale with ``|z|`` so the truncation and rounding errors balance: with an
analytic gradient the Hessian is accurate to about 1e-8 relative, enough for standard
errors and Newton steps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _steps(z: np.ndarray, base: float) -> np.ndarray:
    return base * np.maximum(1.0, np.abs(z))


def hessian_from_gradient(
    grad: Callable[[np.ndarray], np.ndarray], z: np.ndarray, base_step: float = 1e-5
) -> np.ndarray:
    """Symmetrized central differences of an analytic gradient."""
    z = np.asarray(z, dtype=float)
    if z.size == 0:
        return np.zeros((0, 0))
    hess = jacobian(grad, z, base_step)
    return 0.5 * (hess + hess.T)


def hessian_from_value(
    f: Callable[[np.ndarray], float], z: np.ndarray, base_step: float = 1e-4
) -> np.ndarray:
    """Second central differences of a scalar function."""
    z = np.asarray(z, dtype=float)
    d = z.size
    steps = _steps(z, base_step)
    f0 = f(z)
    hess = np.empty((d, d))
    for i in range(d):
        ei = np.zeros(d)
        ei[i] = steps[i]
        hess[i, i] = (f(z + ei) - 2 * f0 + f(z - ei)) / steps[i] ** 2
        for j in range(i):
            ej = np.zeros(d)
            ej[j] = steps[j]
            hess[i, j] = hess[j, i] = (
                f(z + ei + ej) - f(z + ei - ej) - f(z - ei + ej) + f(z - ei - ej)
            ) / (4 * steps[i] * steps[j])
    return hess


def gradient_from_value(
    f: Callable[[np.ndarray], float], z: np.ndarray, base_step: float = 1e-6
) -> np.ndarray:
    """Central-difference gradient, for families without an analytic score."""
    return jacobian(lambda w: np.atleast_1d(f(w)), z, base_step)[0]


def jacobian(
    f: Callable[[np.ndarray], np.ndarray], z: np.ndarray, base_step: float = 1e-6
) -> np.ndarray:
    """Central-difference Jacobian of a vector function, (outputs, inputs)."""
    z = np.asarray(z, dtype=float)
    steps = _steps(z, base_step)
    columns = []
    for j, h in enumerate(steps):
        e = np.zeros_like(z)
        e[j] = h
        columns.append((np.asarray(f(z + e)) - np.asarray(f(z - e))) / (2 * h))
    return np.column_stack(columns)

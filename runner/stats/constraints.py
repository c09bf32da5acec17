"""Parameter spaces and their bijections onto unconstrained coordinates.

One registry of constraints (the numpyro/PyTorch pattern): a family only declares that
``sigma`` is positive or ``p`` lies on the simplex; numerical optimizers work on
unconstrained ``z`` and never see a bound. Each constraint also says how to pull a
gradient back to ``z`` and what its Jacobian is, so standard errors can be computed in
``z`` and carried back to the natural parameters by the delta method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, logit


class Constraint:
    """A parameter space. Values are floats (scalar) or 1-D arrays (vector)."""

    name: str = ""
    description: str = ""
    elementwise: bool = False  # a scalar bijection per component (not simplex, covariance)

    def contains(self, value: np.ndarray) -> bool:
        """True if ``value`` lies in the closed parameter space."""
        raise NotImplementedError

    def on_boundary(self, value: np.ndarray) -> bool:
        """True if ``value`` is on the boundary, where Wald theory does not apply."""
        raise NotImplementedError

    def unconstrained_size(self, size: int) -> int:
        return size

    def to_unconstrained(self, value: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def from_unconstrained(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """d value / d z as a (value size, z size) matrix."""
        raise NotImplementedError

    def tangent(self, value: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """The part of a gradient that moves within the space (all of it, but on a simplex)."""
        return grad

    def components(self, value: Any) -> np.ndarray:
        """The value's free scalar components, flat (a matrix gives its lower triangle)."""
        return np.atleast_1d(np.asarray(value, dtype=float))


class _Elementwise(Constraint):
    """A constraint applied to each component separately, through a scalar bijection."""

    def _forward(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def _inverse(self, value):  # pragma: no cover - abstract
        raise NotImplementedError

    def _derivative(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def _second_derivative(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    elementwise = True

    def derivatives(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """d value / dz and d2 value / dz2, componentwise (any batch shape)."""
        z = np.asarray(z, dtype=float)
        return self._derivative(z), self._second_derivative(z)

    def to_unconstrained(self, value):
        with np.errstate(divide="ignore"):
            return np.atleast_1d(self._inverse(np.asarray(value, dtype=float)))

    def from_unconstrained(self, z):
        return self._forward(np.asarray(z, dtype=float))

    def jacobian(self, z):
        return np.diag(np.atleast_1d(self._derivative(np.asarray(z, dtype=float))))


class Real(_Elementwise):
    name = "real"
    description = "a real number"

    def contains(self, value):
        return bool(np.all(np.isfinite(value)))

    def on_boundary(self, value):
        return False

    def _forward(self, z):
        return z

    def _inverse(self, value):
        return value

    def _derivative(self, z):
        return np.ones_like(z)

    def _second_derivative(self, z):
        return np.zeros_like(z)


class Positive(_Elementwise):
    name = "positive"
    description = "a number > 0"

    def contains(self, value):
        value = np.asarray(value, dtype=float)
        return bool(np.all(np.isfinite(value) & (value > 0)))

    def on_boundary(self, value):
        return bool(np.any(np.asarray(value) <= 0))

    def _forward(self, z):
        return np.exp(z)

    def _inverse(self, value):
        return np.log(value)

    def _derivative(self, z):
        return np.exp(z)

    def _second_derivative(self, z):
        return np.exp(z)


class UnitInterval(_Elementwise):
    name = "unit_interval"
    description = "a probability in [0, 1]"

    def contains(self, value):
        value = np.asarray(value, dtype=float)
        return bool(np.all((value >= 0) & (value <= 1)))

    def on_boundary(self, value):
        value = np.asarray(value)
        return bool(np.any((value <= 0) | (value >= 1)))

    def _forward(self, z):
        return expit(z)

    def _inverse(self, value):
        return logit(value)

    def _derivative(self, z):
        p = expit(z)
        return p * (1 - p)

    def _second_derivative(self, z):
        p = expit(z)
        return p * (1 - p) * (1 - 2 * p)


class Bounded(_Elementwise):
    """An interval with finite ends on one or both sides: ``low + exp(z)``,
    ``high - exp(z)`` or ``low + (high - low) expit(z)``. For scipy's shape domains (a
    ``c`` in (-1, inf)) and for a threshold held below the data (``loc < min(x)``)."""

    name = "bounded"

    def __init__(self, low: float = -np.inf, high: float = np.inf, why: str = ""):
        if not low < high:
            raise ValueError(f"empty interval ({low}, {high})")
        self.low, self.high = float(low), float(high)
        self.width = self.high - self.low
        self.description = _interval_text(self.low, self.high) + (f" ({why})" if why else "")

    def __repr__(self) -> str:
        return f"Bounded({self.low}, {self.high})"

    def contains(self, value):
        value = np.asarray(value, dtype=float)
        return bool(np.all(np.isfinite(value) & (value >= self.low) & (value <= self.high)))

    def on_boundary(self, value):
        value = np.asarray(value, dtype=float)
        return bool(np.any((value <= self.low) | (value >= self.high)))

    def _forward(self, z):
        if np.isfinite(self.width):
            return self.low + self.width * expit(z)
        if np.isfinite(self.low):
            return self.low + np.exp(z)
        return self.high - np.exp(z)

    def _inverse(self, value):
        if np.isfinite(self.width):
            return logit((value - self.low) / self.width)
        if np.isfinite(self.low):
            return np.log(value - self.low)
        return np.log(self.high - value)

    def _derivative(self, z):
        if np.isfinite(self.width):
            p = expit(z)
            return self.width * p * (1 - p)
        return np.exp(z) if np.isfinite(self.low) else -np.exp(z)

    def _second_derivative(self, z):
        if np.isfinite(self.width):
            p = expit(z)
            return self.width * p * (1 - p) * (1 - 2 * p)
        return np.exp(z) if np.isfinite(self.low) else -np.exp(z)


def _interval_text(low: float, high: float) -> str:
    if np.isfinite(low) and np.isfinite(high):
        return f"a number in ({low:g}, {high:g})"
    return f"a number > {low:g}" if np.isfinite(low) else f"a number < {high:g}"


def interval(low: float, high: float) -> Constraint:
    """The constraint for the open interval (low, high): the named ones where they fit."""
    if low == -np.inf and high == np.inf:
        return real
    if low == 0 and high == np.inf:
        return positive
    if low == 0 and high == 1:
        return unit_interval
    return Bounded(low, high)


class Simplex(Constraint):
    """Probability vectors: softmax of ``[z, 0]``, so ``K`` values use ``K - 1`` coordinates."""

    name = "simplex"
    description = "probabilities >= 0 that sum to 1"

    def contains(self, value):
        value = np.asarray(value, dtype=float)
        return bool(value.ndim == 1 and np.all(value >= 0) and abs(value.sum() - 1.0) <= 1e-8)

    def on_boundary(self, value):
        return bool(np.any(np.asarray(value) <= 0))

    def unconstrained_size(self, size):
        return size - 1

    def to_unconstrained(self, value):
        value = np.asarray(value, dtype=float)
        with np.errstate(divide="ignore"):
            logs = np.log(value)
        return logs[:-1] - logs[-1]

    def from_unconstrained(self, z):
        logits = np.append(np.asarray(z, dtype=float), 0.0)
        logits -= logits.max()
        weights = np.exp(logits)
        return weights / weights.sum()

    def jacobian(self, z):
        p = self.from_unconstrained(z)
        full = np.diag(p) - np.outer(p, p)
        return full[:, :-1]

    def tangent(self, value, grad):
        return grad - np.mean(grad)


class CovarianceMatrix(Constraint):
    """Symmetric positive definite d x d matrices, through the Cholesky factor ``L``
    (log of its diagonal, and its strict lower triangle, are the free coordinates).
    Components are the lower triangle ``cov[i, j]`` for ``i >= j``."""

    name = "covariance"
    description = "a symmetric positive definite matrix"

    def __init__(self, dim: int):
        self.dim = dim
        self._rows, self._cols = np.tril_indices(dim)
        self._diagonal = self._rows == self._cols

    def contains(self, value):
        value = np.asarray(value, dtype=float)
        if value.shape != (self.dim, self.dim) or not np.allclose(value, value.T):
            return False
        try:
            np.linalg.cholesky(value)
        except np.linalg.LinAlgError:
            return False
        return True

    def on_boundary(self, value):
        return not self.contains(value)

    def components(self, value):
        return np.asarray(value, dtype=float)[self._rows, self._cols]

    def to_unconstrained(self, value):
        factor = np.linalg.cholesky(np.asarray(value, dtype=float))
        z = factor[self._rows, self._cols].copy()
        z[self._diagonal] = np.log(z[self._diagonal])
        return z

    def from_unconstrained(self, z):
        z = np.asarray(z, dtype=float)
        factor = np.zeros((self.dim, self.dim))
        entries = z.copy()
        entries[self._diagonal] = np.exp(entries[self._diagonal])
        factor[self._rows, self._cols] = entries
        return factor @ factor.T

    def jacobian(self, z):
        from runner.stats.numdiff import jacobian

        return jacobian(lambda w: self.components(self.from_unconstrained(w)), z)


@dataclass(frozen=True)
class Param:
    """One named parameter: its space, its size (1 for scalars) and what it means."""

    name: str
    constraint: Constraint
    meaning: str = ""
    size: int = 1
    labels: tuple[str, ...] = ()
    shape: tuple[int, ...] | None = None  # of the value; default () or (size,)

    @property
    def value_shape(self) -> tuple[int, ...]:
        if self.shape is not None:
            return self.shape
        return (self.size,) if self.is_vector else ()

    @property
    def is_vector(self) -> bool:
        return bool(self.labels)

    def component_names(self) -> list[str]:
        """Flat names as MLflow accepts them: ``sigma``, or ``p.A``, ``p.B`` for a vector."""
        if not self.is_vector:
            return [self.name]
        return [f"{self.name}.{label}" for label in self.labels]


real = Real()
positive = Positive()
unit_interval = UnitInterval()
simplex = Simplex()

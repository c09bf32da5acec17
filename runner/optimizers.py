"""Maximizers of a log-likelihood in unconstrained coordinates.

An optimizer sees a ``Problem``: a function of an unconstrained vector ``z`` (with its
gradient, where known), a starting point and, possibly, an exact solution. It knows
nothing of which family it is maximizing; the family's constraints were turned into
bijections before it was called.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from runner.errors import ConfigError
from runner.numdiff import hessian_from_gradient


class Problem(Protocol):
    """What an optimizer may ask of the objective."""

    dim: int
    n: int
    has_gradient: bool
    label: str

    def value(self, z: np.ndarray) -> float: ...

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]: ...

    def start(self) -> np.ndarray: ...

    def closed_form(self) -> dict[str, Any] | None: ...

    def theta(self, z: np.ndarray) -> dict[str, Any]: ...


@dataclass
class Outcome:
    """Where an optimizer stopped, in natural parameters, and how it got there."""

    theta: dict[str, Any]
    optimizer: str
    iterations: int
    converged: bool
    message: str
    trace: list[dict[str, Any]] = field(default_factory=list)


class Optimizer(ABC):
    name: str

    @abstractmethod
    def maximize(self, problem: Problem) -> Outcome:
        """Find the argmax of ``problem.value``."""

    def options(self) -> dict[str, Any]:
        return {}


class ClosedForm(Optimizer):
    """The solution of the score equations, where the family has one."""

    name = "closed_form"

    def maximize(self, problem):
        theta = problem.closed_form()
        if theta is None:
            raise ConfigError(
                f"{problem.label} has no closed-form MLE; use optimizer=auto or optimizer=scipy"
            )
        return Outcome(theta, self.name, 0, True, "solved the score equations in closed form")


class Scipy(Optimizer):
    """``scipy.optimize.minimize`` on ``-loglik / n`` (per-observation scale, so tolerances
    mean the same at every sample size), with the analytic gradient where there is one."""

    name = "scipy"
    _USES_GRADIENT = frozenset(
        m.lower()
        for m in (
            "CG",
            "BFGS",
            "Newton-CG",
            "L-BFGS-B",
            "TNC",
            "SLSQP",
            "dogleg",
            "trust-ncg",
            "trust-krylov",
            "trust-exact",
            "trust-constr",
        )
    )
    _NEEDS_HESSIAN = frozenset({"dogleg", "trust-ncg", "trust-krylov", "trust-exact"})

    def __init__(
        self,
        method: str = "L-BFGS-B",
        tol: float | None = None,
        maxiter: int | None = None,
        options: dict[str, Any] | None = None,
    ):
        self.method = method
        self.tol = tol
        self.maxiter = maxiter
        self.extra = dict(options or {})

    def options(self):
        return {"method": self.method, "tol": self.tol, "maxiter": self.maxiter}

    def maximize(self, problem):
        from scipy.optimize import minimize

        scale = 1.0 / max(problem.n, 1)
        method = self.method.lower()
        use_grad = problem.has_gradient and method in self._USES_GRADIENT

        def negative(z):
            value = problem.value(z)
            return -value * scale if np.isfinite(value) else np.inf

        def negative_with_grad(z):
            value, grad = problem.value_and_grad(z)
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                return np.inf, np.zeros_like(z)
            return -value * scale, -grad * scale

        kwargs: dict[str, Any] = {"method": self.method, "tol": self.tol}
        if use_grad:
            kwargs["jac"] = True
            fun = negative_with_grad
        else:
            fun = negative
        if method in self._NEEDS_HESSIAN:
            if not problem.has_gradient:
                raise ConfigError(f"optimizer.method={self.method} needs an analytic score")
            kwargs["hess"] = lambda z: hessian_from_gradient(
                lambda w: -problem.value_and_grad(w)[1] * scale, z
            )
        options = dict(self.extra)
        if self.maxiter is not None:
            options["maxiter"] = self.maxiter
        try:
            result = minimize(fun, problem.start(), options=options, **kwargs)
        except ValueError as exc:  # unknown method, bad option
            raise ConfigError(f"scipy.optimize.minimize refused the settings: {exc}") from None
        iterations = int(getattr(result, "nit", 0) or getattr(result, "nfev", 0))
        return Outcome(
            problem.theta(result.x),
            f"scipy:{self.method}",
            iterations,
            bool(result.success),
            str(result.message),
        )


class Auto(Optimizer):
    """The closed form where the family has one, else ``scipy`` with its defaults."""

    name = "auto"

    def __init__(self, **scipy_options: Any):
        self.fallback = Scipy(**scipy_options)

    def options(self):
        return self.fallback.options()

    def maximize(self, problem):
        if problem.closed_form() is not None:
            return ClosedForm().maximize(problem)
        return self.fallback.maximize(problem)


_REGISTRY: dict[str, type[Optimizer]] = {cls.name: cls for cls in (Auto, ClosedForm, Scipy)}


def available() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str | Optimizer, **options: Any) -> Optimizer:
    """The optimizer called ``name`` with its options (None values mean the default)."""
    if isinstance(name, Optimizer):
        return name
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown optimizer {name!r}; choose one of: {', '.join(available())}"
        ) from None
    given = {k: v for k, v in options.items() if v is not None}
    signature = inspect.signature(cls.__init__ if cls is not Auto else Scipy.__init__)
    accepted = [p for p in signature.parameters if p != "self"]
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ConfigError(f"optimizer {name!r} takes {accepted or 'no options'}; got {unknown}")
    return cls(**given)

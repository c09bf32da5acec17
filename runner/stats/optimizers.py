"""Maximizers of a log-likelihood in unconstrained coordinates.

An optimizer sees a ``Problem``: a function of an unconstrained vector ``z`` (with its
gradient, where known), a starting point and, possibly, an exact solution or an EM
update. It knows nothing of which family it is maximizing; the family's constraints were
turned into bijections before it was called. Iterative optimizers record a trace
(iteration, log-likelihood, gradient norm, parameter values) so the climb to the maximum
can be plotted.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats.registry import build


class Problem(Protocol):
    """What an optimizer may ask of the objective."""

    dim: int
    n: int
    has_gradient: bool
    label: str

    def value(self, z: np.ndarray) -> float: ...

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]: ...

    def hessian(self, z: np.ndarray) -> np.ndarray: ...

    def numerical_hessian(self, z: np.ndarray) -> np.ndarray: ...

    def start(self) -> np.ndarray: ...

    def closed_form(self) -> dict[str, Any] | None: ...

    def theta(self, z: np.ndarray) -> dict[str, Any]: ...

    def z_of(self, theta: dict[str, Any]) -> np.ndarray: ...

    def flat(self, theta: dict[str, Any]) -> dict[str, float]: ...

    def em(self) -> Any: ...

    def profile(self) -> dict[str, Any] | None: ...


@dataclass
class Outcome:
    """Where an optimizer stopped, in natural parameters, and how it got there."""

    theta: dict[str, Any]
    optimizer: str
    iterations: int
    converged: bool
    message: str
    trace: list[dict[str, float]] = field(default_factory=list)


class Optimizer(ABC):
    name: str

    @abstractmethod
    def maximize(self, problem: Problem) -> Outcome:
        """Find the argmax of ``problem.value``."""

    def options(self) -> dict[str, Any]:
        return {}


def _record(problem: Problem, iteration: int, z: np.ndarray, value: float, grad) -> dict:
    """One trace row: the log-likelihood, the gradient norm in z, the natural parameters."""
    row = {
        "iteration": iteration,
        "loglik": float(value),
        "grad_norm": float(np.linalg.norm(grad)) if grad is not None else float("nan"),
    }
    row.update(problem.flat(problem.theta(z)))
    return row


class ClosedForm(Optimizer):
    """The solution of the score equations, where the family has one."""

    name = "closed_form"

    def maximize(self, problem):
        theta = problem.closed_form()
        if theta is None:
            raise ConfigError(
                f"{problem.label} has no closed-form MLE here; use optimizer=auto, "
                "optimizer=scipy or optimizer=newton"
            )
        return Outcome(theta, self.name, 0, True, "solved the score equations in closed form")


class Scipy(Optimizer):
    """``scipy.optimize.minimize`` on ``-loglik / n`` (per-observation scale, so tolerances
    mean the same at every sample size), with the analytic gradient where there is one."""

    name = "scipy"
    _USES_GRADIENT = frozenset(
        m.lower()
        for m in (
            "CG", "BFGS", "Newton-CG", "L-BFGS-B", "TNC", "SLSQP", "dogleg",
            "trust-ncg", "trust-krylov", "trust-exact", "trust-constr",
        )
    )  # fmt: skip
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

        trace: list[dict] = []

        def callback(*args):
            z = np.asarray(getattr(args[0], "x", args[0]), dtype=float)
            value, grad = problem.value_and_grad(z)
            trace.append(_record(problem, len(trace), z, value, grad))

        kwargs: dict[str, Any] = {"method": self.method, "tol": self.tol}
        if use_grad:
            kwargs["jac"] = True
            fun = negative_with_grad
        else:
            fun = negative
        if method in self._NEEDS_HESSIAN:
            kwargs["hess"] = lambda z: -problem.hessian(z) * scale
        options = dict(self.extra)
        if self.maxiter is not None:
            options["maxiter"] = self.maxiter
        z0 = problem.start()
        callback(z0)
        try:
            result = minimize(fun, z0, options=options, callback=callback, **kwargs)
        except ValueError as exc:  # unknown method, bad option
            raise ConfigError(f"scipy.optimize.minimize refused the settings: {exc}") from None
        iterations = int(getattr(result, "nit", 0) or getattr(result, "nfev", 0))
        final = problem.flat(problem.theta(result.x))
        if any(trace[-1].get(k) != v for k, v in final.items()):
            callback(result.x)
        return Outcome(
            problem.theta(result.x),
            f"scipy:{self.method}",
            iterations,
            bool(result.success),
            str(result.message),
            trace,
        )


class Newton(Optimizer):
    """Newton-Raphson on the score equations, in unconstrained coordinates.

    Each step solves ``H d = -g``; where ``H`` is not negative definite (far from the
    maximum) the step falls back to the gradient direction. The step is halved until the
    log-likelihood does not decrease, so every iteration climbs.
    """

    name = "newton"
    HESSIANS = ("auto", "analytic", "numerical")

    def __init__(self, tol: float = 1e-9, maxiter: int = 100, hessian: str = "auto"):
        if hessian not in self.HESSIANS:
            raise ConfigError(
                f"optimizer.hessian = {hessian!r}: choose one of {', '.join(self.HESSIANS)}"
            )
        self.tol = tol
        self.maxiter = maxiter
        self.hessian = hessian

    def options(self):
        return {"tol": self.tol, "maxiter": self.maxiter, "hessian": self.hessian}

    def _hessian_of(self, problem):
        """The family's analytic Hessian (auto: where it has one) or finite differences."""
        if self.hessian == "numerical":
            return problem.numerical_hessian
        if self.hessian == "analytic" and not getattr(problem, "analytic_hessian", False):
            raise ConfigError(
                f"optimizer.hessian=analytic: {problem.label} has no analytic Hessian here; "
                "use optimizer.hessian=auto or numerical"
            )
        return problem.hessian

    def maximize(self, problem):
        z = problem.start()
        value, grad = problem.value_and_grad(z)
        trace = [_record(problem, 0, z, value, grad)]
        scale = 1.0 / max(problem.n, 1)
        hessian = self._hessian_of(problem)
        message = f"reached maxiter={self.maxiter}"
        for iteration in range(1, self.maxiter + 1):
            if np.max(np.abs(grad)) * scale < self.tol:
                message = "the score is zero (within tol) at the estimate"
                break
            step = _newton_step(hessian(z), grad)
            z_new, value_new, grad_new, halvings = _halve_until_no_worse(problem, z, step, value)
            if halvings < 0:
                message = "step halving found no point with a higher log-likelihood"
                break
            z, value, grad = z_new, value_new, grad_new
            trace.append(_record(problem, iteration, z, value, grad))
        # Where halving stalls at machine precision, the score may be zero to ~sqrt(tol).
        converged = bool(np.max(np.abs(grad)) * scale < max(self.tol, 1e-7))
        return Outcome(problem.theta(z), self.name, len(trace) - 1, converged, message, trace)


def _newton_step(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Solve ``H d = -g``, with the curvature's signs made negative where ``H`` is not
    negative definite (far from the maximum), so ``d`` always points uphill."""
    if not (np.all(np.isfinite(hess)) and np.all(np.isfinite(grad))):
        return np.nan_to_num(grad) / max(1.0, float(np.max(np.abs(np.nan_to_num(grad)))))
    try:
        eigenvalues, vectors = np.linalg.eigh(-hess)
    except np.linalg.LinAlgError:
        return grad / max(1.0, float(np.max(np.abs(grad))))
    floor = 1e-10 * max(1.0, float(np.max(np.abs(eigenvalues), initial=0.0)))
    curvature = np.maximum(np.abs(eigenvalues), floor)
    return vectors @ ((vectors.T @ grad) / curvature)


class GradientAscent(Optimizer):
    """Plain gradient ascent on the per-observation log-likelihood in unconstrained
    coordinates. The learning rate is halved whenever a step would go downhill."""

    name = "gradient_ascent"

    def __init__(self, learning_rate: float = 0.5, tol: float = 1e-6, maxiter: int = 20000):
        if learning_rate <= 0:
            raise ConfigError(f"optimizer.learning_rate = {learning_rate}: expected > 0")
        self.learning_rate = learning_rate
        self.tol = tol
        self.maxiter = maxiter

    def options(self):
        return {"learning_rate": self.learning_rate, "tol": self.tol, "maxiter": self.maxiter}

    def maximize(self, problem):
        z = problem.start()
        value, grad = problem.value_and_grad(z)
        scale = 1.0 / max(problem.n, 1)
        rate = self.learning_rate
        trace = [_record(problem, 0, z, value, grad)]
        every = max(1, self.maxiter // 1000)  # keep traces of long runs to ~1000 rows
        converged, message = False, f"reached maxiter={self.maxiter}"
        for iteration in range(1, self.maxiter + 1):
            if np.linalg.norm(grad) * scale < self.tol:
                converged, message = True, "gradient norm below tol"
                break
            candidate = z + rate * grad * scale
            new_value, new_grad = problem.value_and_grad(candidate)
            if not np.isfinite(new_value) or new_value < value:
                rate /= 2
                if rate < 1e-12:
                    message = "learning rate underflow: no ascent step found"
                    break
                continue
            z, value, grad = candidate, new_value, new_grad
            if iteration % every == 0:
                trace.append(_record(problem, iteration, z, value, grad))
        else:
            iteration = self.maxiter
        if trace[-1]["iteration"] != iteration:
            trace.append(_record(problem, iteration, z, value, grad))
        return Outcome(problem.theta(z), self.name, iteration, converged, message, trace)


class EM(Optimizer):
    """Expectation-maximization for families that provide an EM update (mixtures), from
    several starts; the best maximum found is kept and its climb is the trace."""

    name = "em"

    def __init__(self, tol: float = 1e-8, maxiter: int = 1000, starts: int = 10, seed: int = 0):
        if starts < 1:
            raise ConfigError(f"optimizer.starts = {starts}: expected >= 1")
        self.tol = tol
        self.maxiter = maxiter
        self.starts = starts
        self.seed = seed

    def options(self):
        return {"tol": self.tol, "maxiter": self.maxiter, "starts": self.starts}

    def maximize(self, problem):
        em = problem.em()
        if em is None:
            raise ConfigError(
                f"optimizer=em needs a family with latent variables (a mixture); "
                f"{problem.label} has none: use optimizer=auto"
            )
        rng = np.random.default_rng(self.seed)
        best = None
        collapsed = 0
        for start in em.starts(self.starts, rng):
            run = self._climb(problem, em, start)
            # A component shrunk onto one point has an unbounded likelihood: not an MLE.
            why = em.collapsed(run[0])
            if why:
                collapsed += 1
                continue
            if best is None or run[1] > best[1]:
                best = run
        if best is None:
            raise DataError(
                f"every one of the {self.starts} EM start(s) ended with {why}: the likelihood "
                "is unbounded there, so no MLE exists among them; lower model.k, give more "
                "data, or raise optimizer.starts"
            )
        theta, _, iterations, converged, trace = best
        message = f"EM from {self.starts} start(s); best run " + (
            "converged" if converged else f"stopped at maxiter={self.maxiter}"
        )
        if collapsed:
            message += f"; {collapsed} start(s) collapsed onto a point and were discarded"
        return Outcome(theta, self.name, iterations, converged, message, trace)

    def _climb(self, problem, em, theta):
        value = em.loglik(theta)
        trace = [{"iteration": 0, "loglik": float(value), "grad_norm": float("nan"),
                  **problem.flat(theta)}]  # fmt: skip
        for iteration in range(1, self.maxiter + 1):
            theta = em.step(theta)
            new_value = em.loglik(theta)
            trace.append({"iteration": iteration, "loglik": float(new_value),
                          "grad_norm": float("nan"), **problem.flat(theta)})  # fmt: skip
            if abs(new_value - value) <= self.tol * max(1.0, abs(new_value)):
                return theta, new_value, iteration, True, trace
            value = new_value
        return theta, value, self.maxiter, False, trace


class Auto(Optimizer):
    """The closed form where the family has one, EM for mixtures, else Newton on the
    analytic score (a few steps from the method-of-moments start: much cheaper than a
    quasi-Newton search), with ``scipy`` (L-BFGS-B) where Newton does not converge or
    the family has no score."""

    name = "auto"

    def __init__(self, **scipy_options: Any):
        self.fallback = Scipy(**scipy_options)

    def options(self):
        return self.fallback.options()

    def maximize(self, problem):
        if problem.closed_form() is not None:
            return ClosedForm().maximize(problem)
        if problem.em() is not None:
            return EM().maximize(problem)
        profiled = problem.profile()
        if profiled is not None:
            message = "Newton on the profile likelihood (the rest in closed form)"
            return Outcome(profiled, "newton:profile", 0, True, message)
        if problem.has_gradient:
            newton = Newton().maximize(problem)
            if newton.converged:
                return newton
            other = self.fallback.maximize(problem)
            if problem.value(problem.z_of(other.theta)) >= problem.value(
                problem.z_of(newton.theta)
            ):
                other.message += f" (after newton: {newton.message})"
                return other
            return newton
        return self.fallback.maximize(problem)


def _halve_until_no_worse(problem, z, step, value, max_halvings: int = 50):
    """``z + t step`` for the largest ``t = 2^-h`` that does not lower the log-likelihood."""
    # Near the maximum the gain of a step is below the rounding of the log-likelihood:
    # a step that loses no more than rounding noise is accepted, or Newton would stall.
    slack = 1e-12 * max(1.0, abs(value))
    t = 1.0
    for halvings in range(max_halvings + 1):
        candidate = z + t * step
        new_value, new_grad = problem.value_and_grad(candidate)
        if np.isfinite(new_value) and new_value >= value - slack:
            return candidate, new_value, new_grad, halvings
        t /= 2
    _, grad = problem.value_and_grad(z)
    return z, value, grad, -1


_REGISTRY: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (Auto, ClosedForm, Scipy, Newton, GradientAscent, EM)
}


def available() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str | Optimizer, **options: Any) -> Optimizer:
    """The optimizer called ``name`` with its options (None values mean the default)."""
    if isinstance(name, Optimizer):
        return name
    # auto passes its options on to scipy, its fallback: it takes what scipy takes.
    signature = Scipy if name == "auto" else None
    return build("optimizer", name, _REGISTRY, options, signature_of=signature)

"""Maximizers of a log-likelihood in unconstrained coordinates.

An optimizer sees a ``Problem``: a function of an unconstrained vector ``z`` (with its
gradient, where known), a starting point and, possibly, an exact solution or an EM
update. It knows nothing of which family it is maximizing; the family's constraints were
turned into bijections before it was called. Iterative optimizers record a trace
(iteration, log-likelihood, gradient norm, parameter values) so the climb to the maximum
can be plotted.

Every setting an optimizer accepts takes effect. A setting that none of its stages would
use (``optimizer=auto optimizer.method=Powell`` for a family it solves in closed form,
``optimizer.starts`` where no EM runs) is refused with a ``ConfigError`` that says why and
what to choose instead: a setting that is accepted and silently dropped makes a user
believe they compared two methods when they compared one with itself.
"""

from __future__ import annotations

import itertools
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats.registry import build, init_parameters


class Problem(Protocol):
    """What an optimizer may ask of the objective."""

    dim: int
    n: int
    has_gradient: bool
    label: str
    fixed: dict[str, Any]  # parameters held at given values (model.fixed)
    init: dict[str, Any]  # a starting point the user gave (optimizer.init), maybe partial

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
    # Parameters estimated by a search over a discrete set (integers): counted in k, but
    # with no Wald standard error (the information is for continuous parameters).
    held: set[str] = field(default_factory=set)
    # Support ends held at the data's extremes (model=scipy: uniform, powerlaw, ...).
    ends: tuple[str, ...] = ()


class Optimizer(ABC):
    name: str

    @abstractmethod
    def maximize(self, problem: Problem) -> Outcome:
        """Find the argmax of ``problem.value``."""

    def options(self) -> dict[str, Any]:
        return {}


def _positive(name: str, value: Any) -> float:
    """``optimizer.<name>`` as a finite float > 0 (the jobs layer checks the config; this,
    the Python API)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not (np.isfinite(number) and number > 0):
        raise ConfigError(f"optimizer.{name} = {value!r}: expected a number > 0")
    return number


def _tolerance(value: Any) -> float:
    return _positive("tol", value)


def _count(name: str, value: Any) -> int:
    """An iteration or start count as an int >= 1 (a float like 100.0 is accepted)."""
    try:
        ok = not isinstance(value, bool) and float(value).is_integer() and value >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"optimizer.{name} = {value!r}: expected an integer >= 1")
    return int(value)


def _given(problem: Problem, name: str) -> dict[str, Any]:
    """``problem.fixed`` or ``problem.init`` (empty for a problem that has none)."""
    return dict(getattr(problem, name, None) or {})


def _value_and_grad(problem: Problem, z: np.ndarray) -> tuple[float, np.ndarray]:
    """``problem.value_and_grad``, with one-sided differences where the central difference
    of a family without a score straddles the edge of the region the data allow (the
    uniform's low at min(x): -inf on one side, so the central difference is -inf or NaN).
    The difference from the side that is inside gives the slope the climb needs."""
    value, grad = problem.value_and_grad(z)
    grad = np.asarray(grad, dtype=float)
    if problem.has_gradient or not np.isfinite(value) or np.all(np.isfinite(grad)):
        return value, grad
    grad = grad.copy()
    for i in np.flatnonzero(~np.isfinite(grad)):
        step = np.zeros_like(z)
        step[i] = 1e-6 * max(1.0, abs(z[i]))
        up, down = problem.value(z + step), problem.value(z - step)
        if np.isfinite(up):
            grad[i] = (up - value) / step[i]
        elif np.isfinite(down):
            grad[i] = (value - down) / step[i]
        else:  # hemmed in on both sides: no direction to offer
            grad[i] = 0.0
    return value, grad


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
        init = _given(problem, "init")
        if init:
            raise ConfigError(
                f"optimizer.init = {init}: closed_form solves the score equations exactly and "
                "starts from nowhere, so a starting point would have no effect; drop "
                "optimizer.init, or choose optimizer=newton, scipy or gradient_ascent to "
                "start from it"
            )
        theta = problem.closed_form()
        if theta is None:
            fixed = _given(problem, "fixed")
            if fixed:
                raise ConfigError(
                    f"{problem.label} has no closed-form MLE with {', '.join(fixed)} held "
                    "(model.fixed): the closed form solves for every parameter at once; use "
                    "optimizer=auto or optimizer=newton"
                )
            raise ConfigError(
                f"{problem.label} has no closed-form MLE here; use optimizer=auto, "
                "optimizer=scipy or optimizer=newton"
            )
        return Outcome(theta, self.name, 0, True, "solved the score equations in closed form")


class Scipy(Optimizer):
    """``scipy.optimize.minimize`` on ``-loglik / n`` (per-observation scale, so tolerances
    mean the same at every sample size), with the analytic gradient where there is one.

    Where the family has no score, gradient-based methods get the problem's central
    differences (one-sided at the edge of the support), not scipy's forward differences:
    those step outside the support of a family like the uniform and come back NaN, and
    methods that need a gradient (Newton-CG, the trust-region ones) would refuse to run.
    Options a method does not know (``maxiter`` for TNC, which counts function
    evaluations) are refused: scipy itself only warns and carries on without them.
    Whatever else scipy warns about during the run is kept in the outcome's message, not
    printed. A "success" from which a line search along the score still climbs (a stall
    against an edge where the likelihood is -inf) is reported as not converged.
    """

    name = "scipy"
    _USES_GRADIENT = frozenset(
        m.lower()
        for m in (
            "CG", "BFGS", "Newton-CG", "L-BFGS-B", "TNC", "SLSQP", "dogleg",
            "trust-ncg", "trust-krylov", "trust-exact", "trust-constr",
        )
    )  # fmt: skip
    # Given the problem's Hessian (analytic, or differences of the gradient or value): for
    # Newton-CG it replaces scipy's differences of a gradient that may itself be numerical.
    _USES_HESSIAN = frozenset({"newton-cg", "dogleg", "trust-ncg", "trust-krylov", "trust-exact"})

    def __init__(
        self,
        method: str = "L-BFGS-B",
        tol: float | None = None,
        maxiter: int | None = None,
        options: dict[str, Any] | None = None,
    ):
        if not isinstance(method, str) or not method:
            raise ConfigError(
                f"optimizer.method = {method!r}: expected the name of a "
                "scipy.optimize.minimize method (L-BFGS-B, BFGS, Nelder-Mead, Powell, ...)"
            )
        self.method = method
        self.tol = None if tol is None else _tolerance(tol)
        self.maxiter = None if maxiter is None else _count("maxiter", maxiter)
        self.extra = dict(options or {})

    def options(self):
        return {"method": self.method, "tol": self.tol, "maxiter": self.maxiter}

    def maximize(self, problem):
        from scipy.optimize import OptimizeWarning, minimize

        scale = 1.0 / max(problem.n, 1)
        method = self.method.lower()
        # Without a score, the problem's central differences (one-sided at the edge of the
        # support, where scipy's own forward differences step outside it and return NaN).
        use_grad = method in self._USES_GRADIENT

        def negative(z):
            value = problem.value(z)
            return -value * scale if np.isfinite(value) else np.inf

        def negative_with_grad(z):
            value, grad = _value_and_grad(problem, z)
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                return np.inf, np.zeros_like(z)
            return -value * scale, -grad * scale

        trace: list[dict] = []

        def callback(*args):
            z = np.asarray(getattr(args[0], "x", args[0]), dtype=float)
            value, grad = _value_and_grad(problem, z)
            trace.append(_record(problem, len(trace), z, value, grad))

        kwargs: dict[str, Any] = {"method": self.method, "tol": self.tol}
        if use_grad:
            kwargs["jac"] = True
            fun = negative_with_grad
        else:
            fun = negative
        if method in self._USES_HESSIAN:
            kwargs["hess"] = lambda z: -problem.hessian(z) * scale
        options = dict(self.extra)
        if self.maxiter is not None:
            options["maxiter"] = self.maxiter
        z0 = problem.start()
        callback(z0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.filterwarnings("error", "Unknown solver options", OptimizeWarning)
            try:
                result = minimize(fun, z0, options=options, callback=callback, **kwargs)
            except OptimizeWarning as exc:  # an option the method would silently drop
                unknown = str(exc).partition(":")[2].strip() or str(sorted(options))
                raise ConfigError(
                    f"scipy's {self.method} does not take the option(s) {unknown}, so they "
                    f"would have no effect (scipy: {exc}); drop them, or choose another "
                    "optimizer.method"
                ) from None
            except ValueError as exc:  # unknown method, bad option
                raise ConfigError(f"scipy.optimize.minimize refused the settings: {exc}") from None
        iterations = int(getattr(result, "nit", 0) or getattr(result, "nfev", 0))
        final = problem.flat(problem.theta(result.x))
        if any(trace[-1].get(k) != v for k, v in final.items()):
            callback(result.x)
        converged, message = bool(result.success), str(result.message)
        end = np.asarray(result.x, dtype=float)
        if not converged and _at_edge(problem, end, scale):
            converged = True
            message += f"; {EDGE}"
        elif converged:
            gain = _gain_along_score(problem, end, scale)
            if gain > 1e-4:  # 0.1 per 1000 observations: far beyond any method's tolerance
                converged = False
                message += (
                    f"; but a step along the score still raises the log-likelihood by "
                    f"{gain:.3g} per observation, so this is no maximum"
                )
        said = sorted({str(w.message) for w in caught})
        if said:
            message += "; scipy warned: " + "; ".join(said)
        return Outcome(
            problem.theta(result.x), f"scipy:{self.method}", iterations, converged, message, trace
        )


# Where a numerical optimizer stops at the edge of the parameters the data allow.
EDGE = (
    "the maximum is at the edge of the parameters the data allow: every step uphill, however "
    "short, gives some observation zero likelihood"
)


def _blocked(problem: Problem, z: np.ndarray, value: float, grad: np.ndarray) -> np.ndarray:
    """Coordinates in which the log-likelihood rises, but any step uphill, however short,
    leaves the region where every observation has positive likelihood (the uniform's
    ``low`` at ``min(x)``). A maximum there is a maximum with a non-zero score, which a
    search for a zero of the score never reports; Newton and gradient ascent hold these
    coordinates and go on in the others. Consulted only after the optimizer's own steps
    failed, so the probe (1e-10 relative) is far longer than the distance to the edge.

    The maximum must also be attained: the log-likelihood has to reach the edge with a
    finite slope. Where it instead rises without bound towards the edge (uniform with
    high held at the value all the data share: -n log(high - low), low -> high), the
    slope from inside over one probe length is about twice that over two, not equal, and
    the coordinate is not held: no maximum is claimed at a spike."""
    blocked = np.zeros(np.shape(z), dtype=bool)
    if not np.isfinite(value):
        return blocked
    for i in np.flatnonzero(np.isfinite(grad) & (grad != 0)):
        step = np.zeros(np.shape(z))
        step[i] = np.sign(grad[i]) * 1e-10 * max(1.0, abs(float(z[i])))
        if problem.value(z + step) != -np.inf:
            continue
        near = (value - problem.value(z - step)) / abs(step[i])
        far = (value - problem.value(z - 2 * step)) / (2 * abs(step[i]))
        blocked[i] = bool(np.isfinite(near) and np.isfinite(far) and 0 < near <= 1.25 * far)
    return blocked


def _gain_along_score(problem: Problem, z: np.ndarray, scale: float) -> float:
    """The most a line search along the score (held edge coordinates left out) raises the
    log-likelihood from ``z``, per observation: ~0 at a maximum, whatever the method's
    tolerance. scipy's line searches can stall against an edge where the likelihood is
    -inf and report success by a small relative change of the objective (L-BFGS-B's
    factr test) while a step along the score still climbs a long way. Steps of every
    length from ``max(1, |z|)`` down (no scale is assumed)."""
    value, grad = _value_and_grad(problem, z)
    if not np.isfinite(value):
        return float("inf")
    grad = np.where(_blocked(problem, z, value, grad), 0.0, np.nan_to_num(grad))
    norm = float(np.linalg.norm(grad))
    if norm == 0:
        return 0.0
    direction = grad / norm
    reach = max(1.0, float(np.max(np.abs(z), initial=0.0)))
    best = 0.0
    for k in range(41):
        trial = problem.value(z + reach * 2.0**-k * direction)
        if np.isfinite(trial):
            best = max(best, trial - value)
    return best * scale


def _at_edge(problem: Problem, z: np.ndarray, scale: float) -> bool:
    """True if every coordinate the score still pushes is held by the edge of the region
    the data allow (``_blocked``): a maximum on that edge."""
    value, grad = _value_and_grad(problem, z)
    pushing = np.abs(np.nan_to_num(grad)) * scale > 1e-7
    if not pushing.any():
        return False
    return bool(np.all(_blocked(problem, z, value, grad)[pushing]))


class Newton(Optimizer):
    """Newton-Raphson on the score equations, in unconstrained coordinates.

    Each step solves ``H d = -g``; where ``H`` is not negative definite (far from the
    maximum) the step falls back to the gradient direction. The step is halved until the
    log-likelihood does not decrease, so every iteration climbs. Where no step helps
    because the uphill direction leaves the region the data allow, those coordinates are
    held at that edge (``_blocked``) and the others solved on.
    """

    name = "newton"
    HESSIANS = ("auto", "analytic", "numerical")

    def __init__(self, tol: float = 1e-9, maxiter: int = 100, hessian: str = "auto"):
        if hessian not in self.HESSIANS:
            raise ConfigError(
                f"optimizer.hessian = {hessian!r}: choose one of {', '.join(self.HESSIANS)}"
            )
        self.tol = _tolerance(tol)
        self.maxiter = _count("maxiter", maxiter)
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
        value, grad = _value_and_grad(problem, z)
        trace = [_record(problem, 0, z, value, grad)]
        scale = 1.0 / max(problem.n, 1)
        hessian = self._hessian_of(problem)
        blocked = np.zeros(problem.dim, dtype=bool)  # coordinates held at the data's edge
        pushed = np.zeros(problem.dim)  # the score's sign when each was held
        message = f"reached maxiter={self.maxiter}"
        iteration = 0
        while iteration < self.maxiter:
            free = ~blocked
            if np.max(np.abs(grad[free]), initial=0.0) * scale < self.tol:
                message = (
                    EDGE if blocked.all() else "the score is zero (within tol) at the estimate"
                )
                break
            step = np.zeros_like(z)
            step[free] = _newton_step(hessian(z)[np.ix_(free, free)], grad[free])
            z_new, value_new, grad_new, halvings = _halve_until_no_worse(problem, z, step, value)
            if halvings < 0:
                edge = _blocked(problem, z, value, grad) & free
                if edge.any():  # hold those at the edge; try again in the others
                    blocked |= edge
                    pushed[edge] = np.sign(grad[edge])
                    continue
                message = "step halving found no point with a higher log-likelihood"
                break
            iteration += 1
            z, value, grad = z_new, value_new, grad_new
            blocked &= np.sign(grad) == pushed  # released where the score turns inward
            trace.append(_record(problem, iteration, z, value, grad))
        # Where halving stalls at machine precision, the score may be zero to ~sqrt(tol).
        free = ~blocked
        converged = bool(np.max(np.abs(grad[free]), initial=0.0) * scale < max(self.tol, 1e-7))
        if converged and blocked.any() and message != EDGE:
            message += f"; {EDGE} in {int(blocked.sum())} coordinate(s)"
        return Outcome(problem.theta(z), self.name, len(trace) - 1, converged, message, trace)


def _newton_step(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Solve ``H d = -g``, with the curvature's signs made negative where ``H`` is not
    negative definite (far from the maximum), so ``d`` always points uphill."""
    if grad.size == 0:
        return grad
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
    coordinates. The learning rate is halved whenever a step would go downhill; where it
    underflows because the uphill direction leaves the region the data allow, those
    coordinates are held at that edge and the climb goes on in the others."""

    name = "gradient_ascent"

    def __init__(self, learning_rate: float = 0.5, tol: float = 1e-6, maxiter: int = 20000):
        self.learning_rate = _positive("learning_rate", learning_rate)
        self.tol = _tolerance(tol)
        self.maxiter = _count("maxiter", maxiter)

    def options(self):
        return {"learning_rate": self.learning_rate, "tol": self.tol, "maxiter": self.maxiter}

    def maximize(self, problem):
        z = problem.start()
        value, grad = _value_and_grad(problem, z)
        scale = 1.0 / max(problem.n, 1)
        rate = self.learning_rate
        trace = [_record(problem, 0, z, value, grad)]
        every = max(1, self.maxiter // 1000)  # keep traces of long runs to ~1000 rows
        blocked = np.zeros(problem.dim, dtype=bool)
        pushed = np.zeros(problem.dim)
        converged, message = False, f"reached maxiter={self.maxiter}"
        for iteration in range(1, self.maxiter + 1):
            climb = np.where(blocked, 0.0, grad)
            if np.linalg.norm(climb) * scale < self.tol:
                converged = True
                message = EDGE if blocked.any() else "gradient norm below tol"
                break
            candidate = z + rate * climb * scale
            new_value, new_grad = _value_and_grad(problem, candidate)
            if not np.isfinite(new_value) or new_value < value:
                rate /= 2
                if rate < 1e-12:
                    edge = _blocked(problem, z, value, grad) & ~blocked
                    if edge.any():  # hold those at the edge; climb on in the others
                        blocked |= edge
                        pushed[edge] = np.sign(grad[edge])
                        rate = self.learning_rate
                        continue
                    message = "learning rate underflow: no ascent step found"
                    break
                continue
            z, value, grad = candidate, new_value, new_grad
            blocked &= np.sign(grad) == pushed
            if iteration % every == 0:
                trace.append(_record(problem, iteration, z, value, grad))
        else:
            iteration = self.maxiter
        if trace[-1]["iteration"] != iteration:
            trace.append(_record(problem, iteration, z, value, grad))
        return Outcome(problem.theta(z), self.name, iteration, converged, message, trace)


class EM(Optimizer):
    """Expectation-maximization for families that provide an EM update (mixtures), from
    several starts; the best maximum found is kept and its climb is the trace. A user's
    ``optimizer.init`` is the first start (completed from the data-driven one)."""

    name = "em"

    def __init__(self, tol: float = 1e-8, maxiter: int = 1000, starts: int = 10, seed: int = 0):
        self.tol = _tolerance(tol)
        self.maxiter = _count("maxiter", maxiter)
        self.starts = _count("starts", starts)
        self.seed = seed

    def options(self):
        return {"tol": self.tol, "maxiter": self.maxiter, "starts": self.starts}

    def maximize(self, problem):
        em = problem.em()
        if em is None:
            fixed = _given(problem, "fixed")
            if fixed:
                raise ConfigError(
                    f"optimizer=em cannot hold {', '.join(fixed)} (model.fixed): its updates "
                    "move every parameter at once; drop model.fixed, or use optimizer=newton "
                    "or optimizer=scipy"
                )
            raise ConfigError(
                f"optimizer=em needs a family with latent variables (a mixture); "
                f"{problem.label} has none: use optimizer=auto"
            )
        rng = np.random.default_rng(self.seed)
        init = _given(problem, "init")
        starts = em.starts(self.starts, rng)
        if init:  # the user's start first, completed where it is partial
            first = next(starts)
            starts = itertools.chain([{**first, **init}], starts)
        best = None
        collapsed = 0
        why = ""
        for start in starts:
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
        first = " (the first at optimizer.init)" if init else ""
        message = f"EM from {self.starts} start(s){first}; best run " + (
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
    """The family's own solution where it has one, else a generic numerical search:

    1. the closed form (exact: no iterations, no start);
    2. EM for mixtures (``tol``, ``maxiter``, ``starts``, ``init`` as the first start);
    3. the family's profile-likelihood solver (weibull: Newton in the shape alone, to
       machine precision on its own);
    4. Newton from the method-of-moments start, on the analytic score (or differences of
       the value where the family has none), a few steps: much cheaper than a
       quasi-Newton search, and it stops at an edge of the support that line searches
       step over (``tol``, ``maxiter``, ``hessian``); scipy (L-BFGS-B) where Newton does
       not converge. Or scipy alone, with ``method`` (and ``tol``, ``maxiter``), where a
       method is asked for.

    ``tol`` bounds how far from the maximum the answer may stop: the exact solutions of
    stages 1 and 3 meet any ``tol``, and the closed form any ``maxiter`` (it takes no
    iterations). Every other setting must be used by the stage that runs; one that would
    not be is refused with the reason, so no setting is accepted and ignored.
    """

    name = "auto"

    def __init__(
        self,
        method: str | None = None,
        tol: float | None = None,
        maxiter: int | None = None,
        starts: int | None = None,
        hessian: str | None = None,
        options: dict[str, Any] | None = None,
    ):
        given = {"method": method, "tol": tol, "maxiter": maxiter, "starts": starts,
                 "hessian": hessian, "options": options}  # fmt: skip
        self.given = {k: v for k, v in given.items() if v is not None}
        # Built now, so a bad value is refused before any data are looked at.
        numerical = {k: self.given[k] for k in ("tol", "maxiter") if k in self.given}
        self._scipy = Scipy(
            **numerical, **{k: self.given[k] for k in ("method", "options") if k in self.given}
        )
        self._newton = Newton(**numerical, **({"hessian": hessian} if hessian else {}))
        self._em = EM(**numerical, **({"starts": starts} if starts is not None else {}))
        if method is not None and hessian is not None:
            raise ConfigError(
                f"optimizer=auto with optimizer.method = {method!r} and optimizer.hessian = "
                f"{hessian!r}: method makes auto search with scipy, hessian with newton; give "
                "one of them (or choose optimizer=scipy or optimizer=newton)"
            )

    def options(self):
        return dict(self.given)

    def _refuse(self, problem: Problem, how: str, uses: set[str], init_used: bool) -> None:
        """A ``ConfigError`` for the first setting the chosen stage would not use."""
        unused = [k for k in self.given if k not in uses]
        if unused:
            key = unused[0]
            hint = {
                "method": f"optimizer=scipy optimizer.method={self.given.get('method')}",
                "hessian": "optimizer=newton",
                "starts": "optimizer=em",
                "maxiter": "optimizer=newton or optimizer=scipy",
                "options": "optimizer=scipy",
            }.get(key, "another optimizer")
            raise ConfigError(
                f"optimizer.{key} = {self.given[key]!r} would have no effect: optimizer=auto "
                f"{how.format(label=problem.label)}, which does not use it; drop "
                f"optimizer.{key}, or run the method it belongs to ({hint})"
            )
        init = _given(problem, "init")
        if init and not init_used:
            raise ConfigError(
                f"optimizer.init = {init} would have no effect: optimizer=auto "
                f"{how.format(label=problem.label)}, which starts from nowhere; drop "
                "optimizer.init, or choose optimizer=newton, scipy or gradient_ascent"
            )

    def maximize(self, problem):
        em = problem.em()
        if "starts" in self.given and em is None:
            raise ConfigError(
                f"optimizer.starts = {self.given['starts']!r} would have no effect: "
                "optimizer=auto runs several starts only for EM (mixtures), and "
                f"{problem.label} is fitted from one start (the data-driven one, or "
                "optimizer.init); drop optimizer.starts"
            )
        if problem.closed_form() is not None:
            self._refuse(problem, "solves {label} in closed form", {"tol", "maxiter"}, False)
            return ClosedForm().maximize(problem)
        if em is not None:
            self._refuse(problem, "fits {label} by EM", {"tol", "maxiter", "starts"}, True)
            return self._em.maximize(problem)
        if problem.family.has_own_search:
            self._refuse(problem, "searches {label} from several starts", set(), True)
            return problem.family.maximize(problem)
        profiled = problem.profile()
        if profiled is not None:
            how = "solves {label} by Newton on its profile likelihood (to machine precision)"
            self._refuse(problem, how, {"tol"}, False)
            message = "Newton on the profile likelihood (the rest in closed form)"
            return Outcome(profiled, "newton:profile", 0, True, message)
        if "method" in self.given or "options" in self.given:
            return self._scipy.maximize(problem)
        newton = self._newton.maximize(problem)
        if newton.converged:
            return newton
        other = self._scipy.maximize(problem)
        # Each trace ends at its optimizer's end point; comparing there needs no z_of, whose
        # Cholesky (mvn) would fail at a covariance an optimizer left singular.
        if _final_loglik(other) >= _final_loglik(newton):
            other.message += f" (after newton: {newton.message})"
            return other
        return newton


def _final_loglik(outcome: Outcome) -> float:
    """The log-likelihood where an optimizer stopped (its trace's last row), -inf if none."""
    value = outcome.trace[-1]["loglik"] if outcome.trace else -np.inf
    return float(value) if np.isfinite(value) or value == np.inf else -np.inf


def _halve_until_no_worse(problem, z, step, value, max_halvings: int = 50):
    """``z + t step`` for the largest ``t = 2^-h`` that does not lower the log-likelihood."""
    # Near the maximum the gain of a step is below the rounding of the log-likelihood:
    # a step that loses no more than rounding noise is accepted, or Newton would stall.
    slack = 1e-12 * max(1.0, abs(value))
    t = 1.0
    for halvings in range(max_halvings + 1):
        candidate = z + t * step
        if not problem.has_gradient:  # a numerical gradient costs 2d values: only if taken
            new_value = problem.value(candidate)
            if np.isfinite(new_value) and new_value >= value - slack:
                new_value, new_grad = _value_and_grad(problem, candidate)
                return candidate, new_value, new_grad, halvings
            t /= 2
            continue
        new_value, new_grad = _value_and_grad(problem, candidate)
        if np.isfinite(new_value) and new_value >= value - slack:
            return candidate, new_value, new_grad, halvings
        t /= 2
    _, grad = _value_and_grad(problem, z)
    return z, value, grad, -1


_REGISTRY: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (Auto, ClosedForm, Scipy, Newton, GradientAscent, EM)
}


def available() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str | Optimizer, **options: Any) -> Optimizer:
    """The optimizer called ``name`` with its options (None values mean the default).

    An option the optimizer does not take is refused, naming the optimizers that do take
    it: it would otherwise be a setting that has no effect."""
    if isinstance(name, Optimizer):
        return name
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is not None:
        accepted = [p.name for p in init_parameters(cls)]
        unknown = sorted(k for k, v in options.items() if v is not None and k not in accepted)
        if unknown:
            takes = (
                f"takes only {accepted}"
                if accepted
                else "takes no options (it solves the score equations exactly)"
            )
            where = "; ".join(f"{key} is an option of {_owners(key)}" for key in unknown)
            raise ConfigError(
                f"optimizer {name!r} {takes}, so {unknown} would have no effect; {where}"
            )
    return build("optimizer", name, _REGISTRY, options)


def _owners(option: str) -> str:
    """The optimizers that take ``option``, as the config would name them."""
    owners = [f"optimizer={n}" for n, c in sorted(_REGISTRY.items()) if option in _option_names(c)]
    if not owners:
        return "no optimizer"
    return owners[0] if len(owners) == 1 else ", ".join(owners[:-1]) + " and " + owners[-1]


def _option_names(cls: type) -> list[str]:
    return [p.name for p in init_parameters(cls)]

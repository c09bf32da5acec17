"""The pseudo-true parameter: where the MLE of a wrong family goes as n grows.

Data drawn from one law and fitted with another family send the MLE to
``theta* = argmax_theta E_true[log f_fit(X | theta)]``, the parameter whose density is
closest to the truth in Kullback-Leibler divergence (White 1982). A misspecification
study measures errors and interval coverage around it, not around any "true" value of
the fitted family's parameters (it has none).

The expectation is a sum over points that stand for the true law, built as
``runner.stats.information`` builds them for the expected information: quantiles at
``u = Phi(t)`` for ``t`` evenly spaced (the trapezoid rule in ``t``, which converges
fast, tails included), or the support weighted by the masses for a discrete law. The
tails are taken much further here (``TAIL``) than there, since ``log f`` grows in the
tails (a gamma's ``log f`` is linear in ``x``) and the answer is wanted to ~1e-8. The
search starts from the fitted family's MLE on an evenly weighted pseudo-sample of the
true law's quantiles and climbs with Newton's method on the weighted sum.

Where the expectation is infinite there is no pseudo-true value, and it is refused:
the true law puts mass where the fitted density is 0 (a gamma fitted to gaussian data:
``log f = -inf`` there, the divergence is infinite for every theta), or a moment the
fitted ``log f`` needs does not exist (a gaussian fitted to cauchy data: ``E[X^2]``),
which shows as a result that moves when the tails are cut elsewhere (``COARSE_TAIL``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats.estimate import LikelihoodProblem
from runner.stats.families.base import Family, Theta
from runner.stats.information import _points
from runner.stats.numdiff import gradient_from_value

TAIL = 1e-30  # probability left out at each end by the quantile nodes (continuous laws)
COARSE_TAIL = 1e-20  # ... by the check that the expectation converges in the tails
COARSE_MASS = 1e-10  # discrete laws: the check's upper tail mass (the nodes keep 1e-12)
AGREE = 1e-6  # the two cuts' optima must agree this well (unconstrained coordinates)
COLLAPSED = 1e-9  # probability of quantiles that round onto the support's end, at most
PSEUDO_SAMPLE = 10_000  # evenly weighted quantiles for the starting fit
TOL = 1e-12  # Newton: the expected score (per observation) this close to 0


def pseudo_true(
    fit_family: Family,
    true_family: Family,
    true_theta: Mapping[str, Any],
    fixed: Mapping[str, Any] | None = None,
) -> Theta:
    """``argmax_theta E[log f_fit(X | theta)]`` for ``X`` from ``true_family`` at
    ``true_theta``, to about 1e-8; ``fixed`` parameters of ``fit_family`` are held at
    the given values. ``ConfigError`` where that expectation is infinite or cannot be
    computed, naming why.

    A continuous family fitted to a discrete law has an infinite divergence for every
    theta (a density against masses), but ``E log f`` is finite and its argmax is still
    where the MLE goes: that is returned.
    """
    from runner.stats import optimizers

    for family in (fit_family, true_family):
        if family.multivariate:
            raise ConfigError(
                f"no pseudo-true parameter for {family.name}: only univariate laws have "
                "quantiles to integrate over"
            )
    true_theta = true_family.check_theta(true_theta, "the true parameters")
    held = fit_family.check_theta_subset(dict(fixed or {}), "the fixed parameters")
    if fit_family.se_source != "observed":
        raise ConfigError(
            f"no pseudo-true parameter for {fit_family.name} by this search: its expected "
            "log-density is not twice differentiable in its parameters (a support that "
            "moves with them, or |x - mu|), which Newton's method needs"
        )
    x, weights = _nodes(true_family, true_theta, TAIL)
    _refuse_outside_support(fit_family, true_family, x, weights)
    start = _start(fit_family, true_family, true_theta, held)
    problem = _Expected(fit_family, x, weights, held, start)
    outcome = optimizers.Newton(tol=TOL, maxiter=200).maximize(problem)
    theta = outcome.theta
    free = {p.name for p in problem.free}
    why = fit_family.check_estimate(theta, free)
    if why is None and any(p.constraint.on_boundary(theta[p.name]) for p in problem.free):
        why = "the maximum is on the edge of the parameter space"
    if why is None and not outcome.converged:
        why = f"the search did not converge ({outcome.message})"
    if why is not None:
        raise ConfigError(
            f"no pseudo-true parameter for {fit_family.name} fitted to {true_family.name} "
            f"data: no interior maximum of the expected log-likelihood was found ({why})"
        )
    _refuse_divergent(problem, theta, true_family, true_theta, x, weights)
    return {k: v if np.ndim(v) else float(v) for k, v in theta.items()}


# ---- internals ------------------------------------------------------------------------------
class _Expected(LikelihoodProblem):
    """``sum_i w_i log f(x_i | theta)`` over the true law's nodes, as a problem the
    optimizers climb: an expected log-likelihood per observation (``n = 1``)."""

    analytic_hessian = False  # the Hessian: central differences of the gradient

    def __init__(self, family: Family, x: np.ndarray, weights: np.ndarray, fixed: Theta,
                 start: Theta):  # fmt: skip
        super().__init__(family, {"n": 1}, fixed)
        self.x, self.weights, self._start = x, weights, start
        self.label = f"expected {family.name} log-likelihood"
        # The analytic score, node by node (samples of size one), where the family's
        # statistics batch; otherwise central differences of the weighted log-density.
        scalar = all(p.constraint.elementwise and not p.is_vector for p in family.params)
        self.has_gradient = family.has_score and scalar
        self._per = family.reduce(x[:, None]) if self.has_gradient else None

    def value(self, z: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            values = np.asarray(self.family.logpdf(self.x, self.theta(z)), dtype=float)
        if not np.all(np.isfinite(values)):
            return -np.inf
        return _weighted_sum(self.weights, values)

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        value = self.value(z)
        if not self.has_gradient:
            return value, gradient_from_value(self.value, z)
        theta = self.theta(z)
        with np.errstate(all="ignore"):
            score = self.family.score(self._per, theta)
        grad = np.empty(self.dim)
        for p in self.free:
            d1, _ = p.constraint.derivatives(z[self.slices[p.name]])
            each = np.broadcast_to(np.asarray(score[p.name], dtype=float), self.x.shape)
            grad[self.slices[p.name]] = d1 * _weighted_sum(self.weights, each)
        return value, grad

    def start(self) -> np.ndarray:
        return self.z_of(self._start)


def _weighted_sum(weights: np.ndarray, values: np.ndarray) -> float:
    # Not ``weights @ values``: a multithreaded BLAS dot of 20,001 values took ~15 ms on a
    # loaded machine, against ~10 us for the pairwise sum.
    return float(np.sum(weights * values))


def _nodes(family: Family, theta: Theta, tail: float) -> tuple[np.ndarray, np.ndarray]:
    """(points, weights) standing for the true law: ``information``'s construction."""
    points = _points(family, theta, tail)
    if points is None or points[2] == "draws":
        raise ConfigError(
            f"no pseudo-true parameter for {family.name} data: the true law has no quantile "
            f"function finite out to {tail:g} of probability in each tail, nor a support to "
            "enumerate, to integrate over (draws from it would give the expectation to Monte "
            "Carlo accuracy only)"
        )
    x, weights, how = points
    if how == "quantiles":
        # Quantiles so far out that they round onto the support's end (a gamma with a
        # small shape: ppf(1e-30) underflows to 0; a beta's isf(1e-30) to 1) are moved to
        # the nearest double inside; they stand for almost no probability.
        low, high = (float(v) for v in family.scipy_dist(theta).support())
        at_low, at_high = x <= low, x >= high
        if weights[at_low | at_high].sum() > COLLAPSED:
            raise ConfigError(
                f"no pseudo-true parameter for {family.name} data: the true law is so "
                "concentrated at the end of its support that its quantiles round onto it"
            )
        x = np.where(at_low, np.nextafter(low, np.inf), x)
        x = np.where(at_high, np.nextafter(high, -np.inf), x)
    keep = weights > 0
    return x[keep], weights[keep]


def _refuse_outside_support(fit_family, true_family, x, weights) -> None:
    outside = ~fit_family.in_support(x)
    if outside.any():
        mass = float(weights[outside].sum())
        example = float(x[outside][np.argmax(weights[outside])])
        raise ConfigError(
            f"no pseudo-true parameter for {fit_family.name} fitted to {true_family.name} "
            f"data: the true law puts probability {mass:.3g} outside {fit_family.name}'s "
            f"support ({fit_family.support}; e.g. x = {example:.6g}), where the fitted "
            "density is 0: E[log f] is -infinity and the Kullback-Leibler divergence is "
            "infinite for every parameter value"
        )


def _start(fit_family, true_family, true_theta, held) -> Theta:
    """The fitted family's MLE on evenly weighted quantiles of the true law."""
    from runner.stats import optimizers

    u = (np.arange(PSEUDO_SAMPLE) + 0.5) / PSEUDO_SAMPLE
    sample = np.asarray(true_family.scipy_dist(true_theta).ppf(u), dtype=float)
    try:
        data = fit_family.validate(sample)
        problem = LikelihoodProblem(fit_family, fit_family.reduce(data), held)
        return optimizers.Auto().maximize(problem).theta
    except DataError as exc:
        raise ConfigError(
            f"no pseudo-true parameter for {fit_family.name} fitted to {true_family.name} "
            f"data: its fit to the true law's quantiles fails ({exc})"
        ) from None


def _refuse_divergent(problem, theta, true_family, true_theta, x, weights) -> None:
    """Cut the tails elsewhere and take one Newton step from the optimum: a step longer
    than ``AGREE`` means the expectation still moves with the tails (infinite, or so
    slowly convergent that the answer cannot be trusted)."""
    if true_family.discrete:  # the masses' upper tail cut shorter
        inside = x <= true_family.scipy_dist(true_theta).isf(COARSE_MASS)
        coarse = x[inside], weights[inside] / weights[inside].sum()
    else:
        coarse = _nodes(true_family, true_theta, COARSE_TAIL)
    check = _Expected(problem.family, *coarse, problem.fixed, theta)
    z = check.start()
    value, grad = check.value_and_grad(z)
    hess = check.hessian(z)
    with np.errstate(all="ignore"):
        try:
            step = np.linalg.solve(hess, -grad) if np.isfinite(value) else np.full(z.shape, np.inf)
        except np.linalg.LinAlgError:
            step = np.full(z.shape, np.inf)
    if not np.all(np.isfinite(step)) or np.max(np.abs(step), initial=0.0) > AGREE:
        raise ConfigError(
            f"no pseudo-true parameter for {problem.family.name} fitted to "
            f"{true_family.name} data: E[log f] is infinite or nearly so (its maximum moves "
            f"by {np.max(np.abs(step), initial=0.0):.3g} when the true law's tails are cut "
            "at another probability): a moment of the true law that the fitted density needs "
            "does not exist"
        )

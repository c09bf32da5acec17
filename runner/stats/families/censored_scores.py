"""Analytic scores of censored (and truncated) likelihoods, for the families that have
them: gaussian and lognormal (through the standard normal), weibull and exponential
(through the cumulative hazard).

An exact value contributes ``d log f / d theta``; a censored one the derivative of the
log of its mass ``m = F(h) - F(l)``, i.e. ``(dF(h) - dF(l)) / m`` where ``dF(e) = d F(e)
/ d theta``. Each kernel writes ``dF(e) = exp(w(e)) * factor(e)`` with ``w`` a log
density-like weight, so the ratio ``exp(w - log m)`` stays finite far in the tails where
both ``dF`` and ``m`` underflow. Intervals too narrow for the cdf (``log_mass``'s midpoint
rule) take the exact score at their midpoint, the derivative of that rule.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from runner.stats.families.base import Theta

LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


class Kernel(Protocol):
    names: tuple[str, ...]

    def exact(self, x: np.ndarray, theta: Theta) -> tuple[np.ndarray, list[np.ndarray]]:
        """``log f(x)`` and ``d log f(x) / d theta_j`` per parameter."""

    def weight(self, e: np.ndarray, theta: Theta) -> tuple[np.ndarray, list[np.ndarray]]:
        """``w(e)`` and ``factor_j(e)`` with ``dF(e)/d theta_j = exp(w(e)) factor_j(e)``."""


class _Normal:
    """z = (y - mu) / sigma with y = x (gaussian) or log x (lognormal)."""

    names = ("mu", "sigma")

    def __init__(self, log_scale: bool):
        self.log_scale = log_scale

    def _z(self, x: np.ndarray, theta: Theta) -> np.ndarray:
        y = np.log(x) if self.log_scale else x
        return (y - float(theta["mu"])) / float(theta["sigma"])

    def exact(self, x, theta):
        sigma = float(theta["sigma"])
        z = self._z(x, theta)
        logf = -np.log(sigma) - LOG_SQRT_2PI - 0.5 * z * z
        if self.log_scale:
            logf = logf - np.log(x)
        return logf, [z / sigma, (z * z - 1.0) / sigma]

    def weight(self, e, theta):
        sigma = float(theta["sigma"])
        z = self._z(e, theta)
        return -LOG_SQRT_2PI - 0.5 * z * z, [np.full(z.shape, -1.0 / sigma), -z / sigma]


class _Weibull:
    """u = (t / scale)^shape, S = exp(-u); exponential is shape 1 with rate = 1 / scale."""

    names = ("shape", "scale")

    def exact(self, x, theta):
        k, lam = float(theta["shape"]), float(theta["scale"])
        log_ratio = np.log(x / lam)
        u = np.exp(k * log_ratio)
        logf = np.log(k / lam) + (k - 1.0) * log_ratio - u
        return logf, [1.0 / k + log_ratio * (1.0 - u), k / lam * (u - 1.0)]

    def weight(self, e, theta):
        k, lam = float(theta["shape"]), float(theta["scale"])
        with np.errstate(divide="ignore"):
            log_ratio = np.log(e / lam)
        log_u = k * log_ratio
        # dF/dk = S u log(t/lambda), dF/dscale = -S u k / lambda
        return log_u - np.exp(log_u), [log_ratio, np.full(e.shape, -k / lam)]


class _Exponential:
    names = ("rate",)

    def exact(self, x, theta):
        rate = float(theta["rate"])
        return np.log(rate) - rate * x, [1.0 / rate - x]

    def weight(self, e, theta):
        rate = float(theta["rate"])
        with np.errstate(divide="ignore"):
            return np.log(e) - rate * e, [np.ones(e.shape)]  # dF/drate = S t


KERNELS: dict[str, Kernel] = {
    "gaussian": _Normal(log_scale=False),
    "lognormal": _Normal(log_scale=True),
    "weibull": _Weibull(),
    "exponential": _Exponential(),
}


def kernel_for(family_name: str) -> Kernel | None:
    return KERNELS.get(family_name)


def score(kernel: Kernel, theta: Theta, exact: np.ndarray, low: np.ndarray,
          high: np.ndarray, weights: np.ndarray, log_m: np.ndarray,
          narrow: np.ndarray) -> Theta:  # fmt: skip
    """The censored log-likelihood's gradient, one entry per parameter of ``kernel``:
    the exact values' scores plus ``weights @ d log m / d theta`` over the censored
    values' intervals ``(low, high)``, whose log masses ``log_m`` (and midpoint-rule
    marks ``narrow``) come from censored.log_mass_parts."""
    grad = np.zeros(len(kernel.names))
    if exact.size:
        _, parts = kernel.exact(exact, theta)
        grad += [float(np.sum(p)) for p in parts]
    if low.size:
        with np.errstate(all="ignore"):  # ends at the support's edge weigh exp(-inf) = 0
            grad += _ratio_sums(kernel, theta, low, high, weights, log_m, narrow)
    return dict(zip(kernel.names, grad, strict=True))


def _ratio_sums(kernel, theta, low, high, weights, log_m, narrow) -> np.ndarray:
    grad = np.zeros(len(kernel.names))
    wide = ~narrow
    for end, sign in ((high[wide], 1.0), (low[wide], -1.0)):
        inside = np.isfinite(end)  # F(+-inf) does not move with theta
        if not inside.any():
            continue
        w, factors = kernel.weight(end[inside], theta)
        ratio = np.exp(w - log_m[wide][inside]) * weights[wide][inside]
        for j, factor in enumerate(factors):
            terms = ratio * factor
            grad[j] += sign * float(np.sum(np.where(ratio == 0, 0.0, terms)))
    if narrow.any():
        mid = 0.5 * (low[narrow] + high[narrow])
        _, parts = kernel.exact(mid, theta)
        grad += [float(p @ weights[narrow]) for p in parts]
    return grad


def exact_loglik(kernel: Kernel, x: np.ndarray, theta: Theta) -> float:
    return float(np.sum(kernel.exact(x, theta)[0]))

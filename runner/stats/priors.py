"""Conjugate priors and the posteriors they give: Bayesian parameter learning.

MLE overfits small samples: no successes in m trials gives p = 0, an unseen category gets
probability 0. A conjugate prior adds pseudo-counts. Each family that has one says which
(``Family.posterior``); this module holds the arithmetic, on ``scipy.stats``.

Mind the arithmetic (checked in tests): under Beta(1, 1) the MAP *is* the MLE; add-one
(Laplace) smoothing is the MAP under Beta(2, 2) / Dirichlet(2) and the posterior mean
under Beta(1, 1) / Dirichlet(1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from runner.errors import ConfigError

LEVEL = 0.95
_TAILS = ((1 - LEVEL) / 2, (1 + LEVEL) / 2)


@dataclass
class Posterior:
    """The posterior of a conjugate model: MAP, mean and equal-tailed credible intervals,
    each a dict keyed like ``theta`` (floats, or arrays for vector parameters)."""

    prior: str
    posterior: str
    map: dict[str, Any]
    mean: dict[str, Any]
    interval: dict[str, tuple[Any, Any]]
    notes: list[str] = field(default_factory=list)


def hyper(prior: Mapping[str, Any], name: str, default: float, positive: bool = True) -> float:
    """One prior hyperparameter from ``model.prior``, checked."""
    value = prior.get(name, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"model.prior.{name} = {value!r}: expected a number") from None
    if positive and not value > 0:
        raise ConfigError(f"model.prior.{name} = {value!r}: expected a number > 0")
    return value


def beta_mode(a, b):
    """The mode of Beta(a, b); at an end when a or b is <= 1 (uniform: the middle).
    Works elementwise on arrays (batches of posteriors)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        interior = (a - 1) / (a + b - 2)
    edge = np.where(a == b, 0.5, np.where(a < b, 0.0, 1.0))
    return _scalar(np.where((a > 1) & (b > 1), interior, edge))


def _scalar(value):
    """A 0-d array as a float (so single fits read naturally); arrays unchanged."""
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value


def _g(value) -> str:
    """A hyperparameter for a description (a batch is described by its shape)."""
    value = np.asarray(value)
    return f"{float(value):g}" if value.ndim == 0 else f"<{value.size} values>"


def beta_binomial(
    prior: Mapping[str, Any], successes: float, failures: float, name: str = "p"
) -> Posterior:
    """Beta(a, b) prior on a success probability; posterior Beta(a + s, b + f)."""
    a0, b0 = hyper(prior, "a", 2.0), hyper(prior, "b", 2.0)
    a, b = a0 + successes, b0 + failures
    return Posterior(
        prior=f"Beta(a={a0:g}, b={b0:g})",
        posterior=f"Beta({_g(a)}, {_g(b)})",
        map={name: beta_mode(a, b)},
        mean={name: _scalar(a / (a + b))},
        interval={name: _tails(stats.beta, a, b)},
    )


def _tails(dist, *args, **kwargs) -> tuple:
    """The equal-tailed credible interval, elementwise."""
    low, high = (_scalar(dist.ppf(q, *args, **kwargs)) for q in _TAILS)
    return low, high


def gamma_rate(
    prior: Mapping[str, Any], shape_gain: float, rate_gain: float, name: str
) -> Posterior:
    """Gamma(a, b) prior (shape a, rate b) on a rate; posterior Gamma(a + ., b + .)."""
    a0, b0 = hyper(prior, "a", 2.0), hyper(prior, "b", 1.0)
    a, b = a0 + shape_gain, b0 + rate_gain
    return Posterior(
        prior=f"Gamma(a={a0:g}, b={b0:g}) (shape, rate)",
        posterior=f"Gamma({_g(a)}, {_g(b)})",
        map={name: _scalar(np.maximum(a - 1, 0.0) / b)},
        mean={name: _scalar(a / b)},
        interval={name: _tails(stats.gamma, a, scale=1 / np.asarray(b, dtype=float))},
    )


def dirichlet_categorical(prior: Mapping[str, Any], counts: np.ndarray) -> Posterior:
    """Dirichlet(alpha) prior on category probabilities; posterior Dirichlet(alpha + n)."""
    raw = prior.get("alpha", 2.0)
    try:
        alpha0 = np.broadcast_to(np.asarray(raw, dtype=float), counts.shape[-1:]).copy()
    except ValueError:
        raise ConfigError(
            f"model.prior.alpha = {raw!r}: expected one number or {counts.shape[-1]} numbers"
        ) from None
    if not np.all(alpha0 > 0):
        raise ConfigError(f"model.prior.alpha = {raw!r}: expected numbers > 0")
    alpha = alpha0 + counts  # (..., K): a batch of posteriors works row by row
    total = alpha.sum(axis=-1, keepdims=True)
    excess = np.maximum(alpha - 1, 0.0)
    mass = excess.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mode = np.where(mass > 0, excess / mass, 1 / alpha.shape[-1])
    low = stats.beta.ppf(_TAILS[0], alpha, total - alpha)
    high = stats.beta.ppf(_TAILS[1], alpha, total - alpha)
    shown = f"{alpha0[0]:g}" if np.all(alpha0 == alpha0[0]) else str(alpha0.tolist())
    return Posterior(
        prior=f"Dirichlet(alpha={shown})",
        posterior=f"Dirichlet({alpha.tolist()})" if alpha.ndim == 1 else "Dirichlet(batch)",
        map={"p": mode},
        mean={"p": alpha / total},
        interval={"p": (low, high)},
    )


def normal_inverse_gamma(
    prior: Mapping[str, Any], n: int, mean: float, m2: float, sigma: float | None = None
) -> Posterior:
    """Normal-Inverse-Gamma prior on (mu, sigma^2) of a Gaussian; with ``sigma`` known, the
    Normal prior on mu alone (mu ~ N(mu0, sigma^2 / kappa0)).

    The MAP is the joint mode in (mu, sigma^2), reported as sigma = sqrt(mode of sigma^2):
    a mode depends on the parameterization, and this is the conjugate one.
    """
    mu0 = hyper(prior, "mu0", 0.0, positive=False)
    kappa0 = hyper(prior, "kappa0", 1.0)
    kappa = kappa0 + n
    mu_n = _scalar((kappa0 * mu0 + n * np.asarray(mean, dtype=float)) / kappa)
    if sigma is not None:
        sd = sigma / np.sqrt(kappa)
        return Posterior(
            prior=f"Normal(mu0={mu0:g}, sigma^2/kappa0) with kappa0={kappa0:g}, sigma fixed",
            posterior=f"Normal({_g(mu_n)}, {_g(sd)}^2)",
            map={"mu": mu_n},
            mean={"mu": mu_n},
            interval={"mu": _tails(stats.norm, mu_n, sd)},
        )
    alpha0, beta0 = hyper(prior, "alpha0", 2.0), hyper(prior, "beta0", 1.0)
    alpha = alpha0 + n / 2
    beta = beta0 + np.asarray(m2) / 2 + kappa0 * n * (np.asarray(mean) - mu0) ** 2 / (2 * kappa)
    var_mode = beta / (alpha + 1.5)  # joint mode of NIG in (mu, sigma^2)
    with np.errstate(divide="ignore"):
        var_mean = np.where(alpha > 1, beta / np.maximum(alpha - 1, 0.0), np.inf)
    mu_scale = np.sqrt(beta / (alpha * kappa))
    notes = []
    if not np.all(np.isfinite(var_mean)):
        notes.append("posterior mean of sigma^2 is infinite (alpha <= 1)")
    low, high = _tails(stats.invgamma, alpha, scale=beta)
    return Posterior(
        prior=(
            f"Normal-Inverse-Gamma(mu0={mu0:g}, kappa0={kappa0:g}, alpha0={alpha0:g}, "
            f"beta0={beta0:g})"
        ),
        posterior=f"NIG({_g(mu_n)}, {_g(kappa)}, {_g(alpha)}, {_g(beta)})",
        map={"mu": mu_n, "sigma": _scalar(np.sqrt(var_mode))},
        mean={"mu": mu_n, "sigma": _scalar(np.sqrt(var_mean))},
        interval={
            "mu": _tails(stats.t, 2 * alpha, mu_n, mu_scale),
            "sigma": (_scalar(np.sqrt(low)), _scalar(np.sqrt(high))),
        },
        notes=notes,
    )

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


def beta_mode(a: float, b: float) -> float:
    """The mode of Beta(a, b); at an end when a or b is <= 1 (uniform: the middle)."""
    if a > 1 and b > 1:
        return (a - 1) / (a + b - 2)
    if a == b:
        return 0.5
    return 0.0 if a < b else 1.0


def beta_binomial(
    prior: Mapping[str, Any], successes: float, failures: float, name: str = "p"
) -> Posterior:
    """Beta(a, b) prior on a success probability; posterior Beta(a + s, b + f)."""
    a0, b0 = hyper(prior, "a", 2.0), hyper(prior, "b", 2.0)
    a, b = a0 + successes, b0 + failures
    return Posterior(
        prior=f"Beta(a={a0:g}, b={b0:g})",
        posterior=f"Beta({a:g}, {b:g})",
        map={name: beta_mode(a, b)},
        mean={name: a / (a + b)},
        interval={name: tuple(stats.beta.ppf(_TAILS, a, b))},
    )


def gamma_rate(
    prior: Mapping[str, Any], shape_gain: float, rate_gain: float, name: str
) -> Posterior:
    """Gamma(a, b) prior (shape a, rate b) on a rate; posterior Gamma(a + ., b + .)."""
    a0, b0 = hyper(prior, "a", 2.0), hyper(prior, "b", 1.0)
    a, b = a0 + shape_gain, b0 + rate_gain
    return Posterior(
        prior=f"Gamma(a={a0:g}, b={b0:g}) (shape, rate)",
        posterior=f"Gamma({a:g}, {b:g})",
        map={name: max(a - 1, 0.0) / b},
        mean={name: a / b},
        interval={name: tuple(stats.gamma.ppf(_TAILS, a, scale=1 / b))},
    )


def dirichlet_categorical(prior: Mapping[str, Any], counts: np.ndarray) -> Posterior:
    """Dirichlet(alpha) prior on category probabilities; posterior Dirichlet(alpha + n)."""
    raw = prior.get("alpha", 2.0)
    alpha0 = np.broadcast_to(np.asarray(raw, dtype=float), counts.shape).copy()
    if not np.all(alpha0 > 0):
        raise ConfigError(f"model.prior.alpha = {raw!r}: expected numbers > 0")
    alpha = alpha0 + counts
    total = alpha.sum()
    excess = np.maximum(alpha - 1, 0.0)
    mode = excess / excess.sum() if excess.sum() > 0 else np.full(alpha.shape, 1 / alpha.size)
    low = stats.beta.ppf(_TAILS[0], alpha, total - alpha)
    high = stats.beta.ppf(_TAILS[1], alpha, total - alpha)
    shown = f"{alpha0[0]:g}" if np.all(alpha0 == alpha0[0]) else str(alpha0.tolist())
    return Posterior(
        prior=f"Dirichlet(alpha={shown})",
        posterior=f"Dirichlet({alpha.tolist()})",
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
    mu_n = (kappa0 * mu0 + n * mean) / kappa
    if sigma is not None:
        sd = sigma / np.sqrt(kappa)
        return Posterior(
            prior=f"Normal(mu0={mu0:g}, sigma^2/kappa0) with kappa0={kappa0:g}, sigma fixed",
            posterior=f"Normal({mu_n:.6g}, {sd:.6g}^2)",
            map={"mu": mu_n},
            mean={"mu": mu_n},
            interval={"mu": tuple(stats.norm.ppf(_TAILS, mu_n, sd))},
        )
    alpha0, beta0 = hyper(prior, "alpha0", 2.0), hyper(prior, "beta0", 1.0)
    alpha = alpha0 + n / 2
    beta = beta0 + m2 / 2 + kappa0 * n * (mean - mu0) ** 2 / (2 * kappa)
    var_mode = beta / (alpha + 1.5)  # joint mode of NIG in (mu, sigma^2)
    var_mean = beta / (alpha - 1) if alpha > 1 else np.inf
    mu_scale = np.sqrt(beta / (alpha * kappa))
    var_interval = stats.invgamma.ppf(_TAILS, alpha, scale=beta)
    notes = []
    if not np.isfinite(var_mean):
        notes.append("posterior mean of sigma^2 is infinite (alpha <= 1)")
    return Posterior(
        prior=(
            f"Normal-Inverse-Gamma(mu0={mu0:g}, kappa0={kappa0:g}, alpha0={alpha0:g}, "
            f"beta0={beta0:g})"
        ),
        posterior=f"NIG({mu_n:.6g}, {kappa:g}, {alpha:g}, {beta:.6g})",
        map={"mu": mu_n, "sigma": float(np.sqrt(var_mode))},
        mean={"mu": mu_n, "sigma": float(np.sqrt(var_mean))},
        interval={
            "mu": tuple(stats.t.ppf(_TAILS, 2 * alpha, mu_n, mu_scale)),
            "sigma": tuple(np.sqrt(var_interval)),
        },
        notes=notes,
    )

"""Finite mixtures: ``gaussian_mixture`` with ``k`` components, fitted by EM.

The likelihood has no closed-form maximum and is multimodal, and a component can collapse
onto a single point (sigma -> 0, likelihood -> infinity). EM from several starts finds the
best local maximum; components are kept in order of their means so the labels mean the
same thing in every run (no label switching).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from runner.errors import ConfigError
from runner.stats.constraints import Param, positive, real, simplex
from runner.stats.families.base import Family

_LOG_2PI = np.log(2 * np.pi)


class GaussianMixture(Family):
    name = "gaussian_mixture"
    parameterization = (
        "weight.j = mixing proportions (sum to 1), mu.j = component means, "
        "sigma.j = component standard deviations; components ordered by mean"
    )
    support = "any real number"

    def __init__(self, k: int = 2):
        try:
            ok = not isinstance(k, bool) and float(k).is_integer() and k >= 1
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"model.k = {k!r}: expected an integer >= 1 (components)")
        self.k = int(k)

    @property
    def min_n(self) -> int:  # type: ignore[override]
        return 3 * self.k

    def options(self):
        return {"k": self.k}

    def for_truth(self, truth):
        weights = truth.get("weight")
        if weights is not None and np.size(weights) != self.k:
            raise ConfigError(
                f"model.k = {self.k} but model.truth has {np.size(weights)} components: give "
                f"weight, mu and sigma with {self.k} values each (e.g. "
                f"'model.truth.weight=[...]'), or fit real data (data=csv)"
            )
        return self

    @property
    def params(self):
        labels = tuple(str(j + 1) for j in range(self.k))
        return (
            Param("weight", simplex, "mixing proportions", self.k, labels),
            Param("mu", real, "component means", self.k, labels),
            Param("sigma", positive, "component standard deviations", self.k, labels),
        )

    def reduce(self, x):
        return {"n": x.shape[-1], "x": x}

    def _log_joint(self, x, theta):
        """log(weight_j) + log N(x_i | mu_j, sigma_j), shape (n, k)."""
        w, mu, sigma = (np.asarray(theta[p]) for p in ("weight", "mu", "sigma"))
        z = (x[:, None] - mu) / sigma
        with np.errstate(divide="ignore"):
            return np.log(w) - np.log(sigma) - 0.5 * (_LOG_2PI + z * z)

    def loglik(self, stats, theta):
        return float(special.logsumexp(self._log_joint(stats["x"], theta), axis=1).sum())

    def _responsibilities(self, x, theta):
        joint = self._log_joint(x, theta)
        total = special.logsumexp(joint, axis=1, keepdims=True)
        return np.exp(joint - total)

    def score(self, stats, theta):
        x = stats["x"]
        mu, sigma, w = (np.asarray(theta[p]) for p in ("mu", "sigma", "weight"))
        r = self._responsibilities(x, theta)
        z = (x[:, None] - mu) / sigma
        with np.errstate(divide="ignore", invalid="ignore"):
            return {
                "weight": r.sum(axis=0) / w,
                "mu": (r * z).sum(axis=0) / sigma,
                "sigma": (r * (z * z - 1)).sum(axis=0) / sigma,
            }

    def initial(self, stats):
        return _quantile_start(stats["x"], self.k)

    def em(self, stats):
        return _MixtureEM(self, stats["x"])

    def degenerate(self, stats, free):
        x = stats["x"]
        if np.unique(x).size < self.k + 1 and {"sigma", "mu"} & free:
            return (
                f"{np.unique(x).size} distinct value(s) cannot identify {self.k} components: "
                "a component would collapse onto a single point (sigma -> 0, likelihood -> "
                "infinity), so the MLE does not exist; lower model.k"
            )
        return None

    def logpdf(self, x, theta):
        return special.logsumexp(self._log_joint(np.asarray(x, dtype=float), theta), axis=1)

    def cdf(self, x, theta):
        from scipy import stats

        w, mu, sigma = (np.asarray(theta[p]) for p in ("weight", "mu", "sigma"))
        return (w * stats.norm.cdf(np.asarray(x, dtype=float)[..., None], mu, sigma)).sum(-1)

    def sample(self, theta, size, rng):
        component = rng.choice(self.k, size=size, p=np.asarray(theta["weight"]))
        mu, sigma = np.asarray(theta["mu"]), np.asarray(theta["sigma"])
        return rng.normal(mu[component], sigma[component])

    def scipy_dist(self, theta):  # a mixture has no single scipy distribution
        raise NotImplementedError


class _MixtureEM:
    """EM updates bound to one sample (what ``optimizers.EM`` drives)."""

    def __init__(self, family: GaussianMixture, x: np.ndarray):
        self.family = family
        self.x = x
        self.sorted = np.sort(x)
        spread = np.std(x)
        # A component narrower than this is treated as collapsed onto a point.
        self.sigma_floor = max(spread, 1e-300) * 1e-6

    def loglik(self, theta):
        return self.family.loglik({"x": self.x}, theta)

    def collapsed(self, theta) -> str | None:
        """Why a solution is degenerate (a component on a single point), or None."""
        narrow = np.flatnonzero(np.asarray(theta["sigma"]) <= self.sigma_floor * 1.0001)
        if narrow.size:
            return f"component {narrow[0] + 1} collapsed onto a single point (sigma -> 0)"
        return None

    def step(self, theta):
        x = self.x
        r = self.family._responsibilities(x, theta)
        mass = r.sum(axis=0) + 1e-300
        mu = (r * x[:, None]).sum(axis=0) / mass
        var = (r * (x[:, None] - mu) ** 2).sum(axis=0) / mass
        sigma = np.maximum(np.sqrt(var), self.sigma_floor)
        order = np.argsort(mu)
        return {
            "weight": (mass / mass.sum())[order],
            "mu": mu[order],
            "sigma": sigma[order],
        }

    def starts(self, count: int, rng: np.random.Generator):
        """Quantile-spaced means first, then random data points as means."""
        yield _quantile_start(self.x, self.family.k)
        spread = np.std(self.x)
        for _ in range(count - 1):
            # Drawn from the sorted values: the same data in any order give the same fit.
            mu = np.sort(rng.choice(self.sorted, size=self.family.k, replace=False))
            yield {
                "weight": np.full(self.family.k, 1 / self.family.k),
                "mu": mu,
                "sigma": np.full(self.family.k, spread),
            }


def _quantile_start(x: np.ndarray, k: int) -> dict:
    mu = np.quantile(x, (np.arange(k) + 0.5) / k)
    return {
        "weight": np.full(k, 1 / k),
        "mu": mu,
        "sigma": np.full(k, max(np.std(x) / k, 1e-12)),
    }


__all__ = ["GaussianMixture"]

"""Continuous families: gaussian, exponential, gamma.

Gaussian data reduce to (n, mean, sum of squared deviations), computed around the mean
so large offsets do not cancel; gamma to (n, sum x, sum log x), so its numerical
optimization costs O(1) per step.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from runner.constraints import Param, positive, real
from runner.families.base import Family


class Gaussian(Family):
    name = "gaussian"
    parameterization = "mu = mean, sigma = standard deviation (MLE of sigma^2 divides by n)"
    support = "any real number"
    min_n = 2

    @property
    def params(self):
        return (Param("mu", real, "mean"), Param("sigma", positive, "standard deviation"))

    def reduce(self, x):
        mean = x.mean(axis=-1)
        dev = x - mean[..., None] if x.ndim > 1 else x - mean
        m2 = np.einsum("...i,...i->...", dev, dev)
        return {"n": x.shape[-1], "mean": mean, "m2": m2}

    def _sum_squares(self, stats, mu):
        return stats["m2"] + stats["n"] * (stats["mean"] - mu) ** 2

    def loglik(self, stats, theta):
        mu, sigma, n = theta["mu"], theta["sigma"], stats["n"]
        return -0.5 * n * np.log(2 * np.pi * sigma**2) - self._sum_squares(stats, mu) / (
            2 * sigma**2
        )

    def score(self, stats, theta):
        mu, sigma, n = theta["mu"], theta["sigma"], stats["n"]
        return {
            "mu": n * (stats["mean"] - mu) / sigma**2,
            "sigma": -n / sigma + self._sum_squares(stats, mu) / sigma**3,
        }

    def closed_form(self, stats):
        return {"mu": stats["mean"], "sigma": np.sqrt(stats["m2"] / stats["n"])}

    def fisher_information(self, theta):
        s2 = theta["sigma"] ** 2
        return np.array([[1 / s2, 0.0], [0.0, 2 / s2]])

    def scipy_dist(self, theta):
        return stats.norm(theta["mu"], theta["sigma"])


class Exponential(Family):
    name = "exponential"
    parameterization = "rate = 1 / mean (scipy: scale = 1 / rate)"
    support = "a number >= 0"

    @property
    def params(self):
        return (Param("rate", positive, "events per unit time (1 / mean)"),)

    def in_support(self, x):
        return x >= 0

    def reduce(self, x):
        return {"n": x.shape[-1], "total": x.sum(axis=-1)}

    def loglik(self, stats, theta):
        rate = theta["rate"]
        return stats["n"] * np.log(rate) - rate * stats["total"]

    def score(self, stats, theta):
        return {"rate": stats["n"] / theta["rate"] - stats["total"]}

    def closed_form(self, stats):
        with np.errstate(divide="ignore"):
            return {"rate": stats["n"] / stats["total"]}

    def fisher_information(self, theta):
        return np.array([[1 / theta["rate"] ** 2]])

    def scipy_dist(self, theta):
        return stats.expon(scale=1 / theta["rate"])


class Gamma(Family):
    name = "gamma"
    parameterization = (
        "shape = k, rate = beta (mean = shape / rate; scipy: a = shape, scale = 1 / rate)"
    )
    support = "a number > 0"
    min_n = 2

    @property
    def params(self):
        return (Param("shape", positive, "shape k"), Param("rate", positive, "rate (1 / scale)"))

    def in_support(self, x):
        return x > 0

    def reduce(self, x):
        return {"n": x.shape[-1], "total": x.sum(axis=-1), "log_total": np.log(x).sum(axis=-1)}

    def loglik(self, stats, theta):
        a, b, n = theta["shape"], theta["rate"], stats["n"]
        return (
            n * (special.xlogy(a, b) - special.gammaln(a))
            + (a - 1) * stats["log_total"]
            - b * stats["total"]
        )

    def score(self, stats, theta):
        a, b, n = theta["shape"], theta["rate"], stats["n"]
        return {
            "shape": n * (np.log(b) - special.digamma(a)) + stats["log_total"],
            "rate": n * a / b - stats["total"],
        }

    def initial(self, stats):
        """Method of moments, refined by the closed-form approximation of Minka (2002)."""
        n = stats["n"]
        mean = stats["total"] / n
        s = np.log(mean) - stats["log_total"] / n  # >= 0 by Jensen; 0 only for constant data
        s = np.maximum(s, 1e-12)
        shape = (3 - s + np.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
        return {"shape": shape, "rate": shape / mean}

    def fisher_information(self, theta):
        a, b = theta["shape"], theta["rate"]
        return np.array([[special.polygamma(1, a), -1 / b], [-1 / b, a / b**2]])

    def scipy_dist(self, theta):
        return stats.gamma(theta["shape"], scale=1 / theta["rate"])

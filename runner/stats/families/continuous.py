"""Continuous families: gaussian, exponential, gamma, lognormal, beta, weibull, laplace,
uniform, student_t.

Gaussian data reduce to (n, mean, sum of squared deviations), computed around the mean
so large offsets do not cancel; gamma and beta to sums of logs, so their numerical
optimization costs O(1) per step. Weibull, laplace and student_t keep the data.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from runner.errors import ConfigError
from runner.stats import priors
from runner.stats.constraints import Param, positive, real
from runner.stats.families.base import (
    CHUNK,
    Family,
    Interval,
    Stats,
    Theta,
    chunked_sums,
    cumulative,
    matrix,
)

# Past this, a t density differs from the Gaussian by less than ~1e-4 anywhere that
# matters: an optimizer still climbing in df is following the Gaussian limit.
DF_GAUSSIAN_LIMIT = 1e4

_CONSTANT = (
    "all values are equal: the {name} likelihood grows without bound as {param}, so the "
    "MLE does not exist (hold that parameter with model.fixed, or give data with spread)"
)


def _number(v: float) -> str:
    """A value as the data or config wrote it: 3 for 3.0, every digit of 2.0826773397."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)


def _no_spread(m2, n, mean, squared: bool = False) -> bool:
    """True when the sum of squared deviations is zero up to rounding of the mean."""
    spread = m2 if squared else m2 / n
    return bool(spread <= (16 * np.finfo(float).eps * np.abs(mean)) ** 2)


def merge_moments(a, b):
    """Gaussian moments (n, mean, m2) of two samples together (Chan, Golub and LeVeque's
    pairwise update: no sums of squares that cancel)."""
    n = a["n"] + b["n"]
    delta = b["mean"] - a["mean"]
    mean = a["mean"] + delta * (b["n"] / n)
    return {"n": n, "mean": mean, "m2": a["m2"] + b["m2"] + delta * delta * (a["n"] * b["n"] / n)}


class Gaussian(Family):
    name = "gaussian"
    parameterization = "mu = mean, sigma = standard deviation (MLE of sigma^2 divides by n)"
    support = "any real number"
    min_n = 2

    @property
    def params(self):
        return (Param("mu", real, "mean"), Param("sigma", positive, "standard deviation"))

    def reduce(self, x):
        n = x.shape[-1]
        if x.ndim == 1:
            # One sum and one dot product; where the mean is large against the spread the
            # difference cancels, and the two-pass form below is used instead.
            mean = x.sum() / n
            squares = float(np.dot(x, x))
            m2 = squares - n * mean * mean
            if m2 > 1e-5 * squares:
                return {"n": n, "mean": mean, "m2": m2}
        mean = x.mean(axis=-1)
        dev = x - mean[..., None] if x.ndim > 1 else x - mean
        m2 = np.einsum("...i,...i->...", dev, dev)
        return {"n": n, "mean": mean, "m2": m2}

    def merge(self, a, b):
        return merge_moments(a, b)

    def sample_stats(self, theta, size, replicates, rng):
        # mean ~ N(mu, sigma^2 / n) and m2 ~ sigma^2 chi2(n - 1), independent.
        mu, sigma = theta["mu"], theta["sigma"]
        return {
            "n": size,
            "mean": rng.normal(mu, sigma / np.sqrt(size), replicates),
            "m2": sigma**2 * rng.chisquare(size - 1, replicates) if size > 1 else 0.0,
        }

    def prefix_stats(self, x, ends):
        # Shifted by the first value so that sums of squares do not cancel catastrophically.
        shifted = x - x[0]
        ends = np.asarray(ends)
        total = cumulative(shifted, ends)
        squares = cumulative(shifted * shifted, ends)
        return {
            "n": ends,
            "mean": x[0] + total / ends,
            "m2": np.maximum(squares - total**2 / ends, 0.0),
        }

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

    def hessian(self, stats, theta):
        mu, sigma, n = theta["mu"], theta["sigma"], stats["n"]
        cross = -2 * n * (stats["mean"] - mu) / sigma**3
        return matrix(
            [
                [-n / sigma**2, cross],
                [cross, n / sigma**2 - 3 * self._sum_squares(stats, mu) / sigma**4],
            ]
        )

    def closed_form(self, stats):
        return {"mu": stats["mean"], "sigma": np.sqrt(stats["m2"] / stats["n"])}

    def posterior(self, stats, prior, fixed):
        if "mu" in fixed:
            raise ConfigError(
                "MAP for gaussian is conjugate for mu (with sigma fixed) or for (mu, sigma); "
                "not for sigma alone with mu fixed"
            )
        post = priors.normal_inverse_gamma(
            prior, stats["n"], stats["mean"], stats["m2"], fixed.get("sigma")
        )
        if "sigma" not in fixed:
            post.notes.append(
                "gaussian MAP and posterior mean of sigma are sqrt of those of sigma^2 "
                "(the conjugate parameterization)"
            )
        return post

    def degenerate(self, stats, free):
        if "sigma" in free and _no_spread(stats["m2"], stats["n"], stats["mean"]):
            return _CONSTANT.format(name=self.name, param="sigma -> 0")

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

    interval = Interval(0.0)

    def reduce(self, x):
        return {"n": x.shape[-1], "total": x.sum(axis=-1)}

    def merge(self, a, b):
        return {"n": a["n"] + b["n"], "total": a["total"] + b["total"]}

    def prefix_stats(self, x, ends):
        return {"n": np.asarray(ends), "total": cumulative(x, ends)}

    def sample_stats(self, theta, size, replicates, rng):
        return {"n": size, "total": rng.gamma(size, 1 / theta["rate"], replicates)}

    def loglik(self, stats, theta):
        rate = theta["rate"]
        return stats["n"] * np.log(rate) - rate * stats["total"]

    def score(self, stats, theta):
        return {"rate": stats["n"] / theta["rate"] - stats["total"]}

    def hessian(self, stats, theta):
        return matrix([[-stats["n"] / theta["rate"] ** 2]])

    def closed_form(self, stats):
        with np.errstate(divide="ignore"):
            return {"rate": stats["n"] / stats["total"]}

    def posterior(self, stats, prior, fixed):
        return priors.gamma_rate(prior, stats["n"], stats["total"], "rate")

    def degenerate(self, stats, free):
        if "rate" in free and stats["total"] == 0:
            return (
                "every value is 0: the exponential likelihood grows without bound as "
                "rate -> infinity, so the MLE does not exist"
            )
        return None

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

    interval = Interval(0.0, low_open=True)
    logs_reveal_support = True

    def reduce(self, x):
        log_total, _ = chunked_sums(np.log, x)
        return {"n": x.shape[-1], "total": x.sum(axis=-1), "log_total": log_total}

    def merge(self, a, b):
        return {key: a[key] + b[key] for key in ("n", "total", "log_total")}

    def prefix_stats(self, x, ends):
        return {
            "n": np.asarray(ends),
            "total": cumulative(x, ends),
            "log_total": cumulative(np.log(x), ends),
        }

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

    def hessian(self, stats, theta):
        a, b, n = theta["shape"], theta["rate"], stats["n"]
        return matrix([[-n * special.polygamma(1, a), n / b], [n / b, -n * a / b**2]])

    def degenerate(self, stats, free):
        n = stats["n"]
        s = np.log(stats["total"] / n) - stats["log_total"] / n
        if "shape" in free and s <= 16 * np.finfo(float).eps:
            return _CONSTANT.format(name=self.name, param="shape -> infinity")
        return None

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


class Lognormal(Family):
    name = "lognormal"
    parameterization = (
        "mu, sigma = mean and standard deviation of log x (scipy: s = sigma, scale = exp(mu))"
    )
    support = "a number > 0"
    min_n = 2

    @property
    def params(self):
        return (
            Param("mu", real, "mean of log x"),
            Param("sigma", positive, "standard deviation of log x"),
        )

    interval = Interval(0.0, low_open=True)
    logs_reveal_support = True

    def reduce(self, x):
        if x.ndim == 1 and x.size > CHUNK:  # long data: moments of log x piece by piece
            n = x.size
            total, squares = chunked_sums(np.log, x, squares=True)
            mean = total / n
            m2 = squares - n * mean * mean
            if not m2 > 1e-5 * squares:  # cancellation: a second pass around the mean
                m2 = chunked_sums(lambda v: np.log(v) - mean, x, squares=True)[1]
            return {"n": n, "mean": mean, "m2": m2, "log_total": total}
        logs = np.log(x)
        stats = Gaussian().reduce(logs)
        stats["log_total"] = logs.sum(axis=-1)
        return stats

    def merge(self, a, b):
        return {**merge_moments(a, b), "log_total": a["log_total"] + b["log_total"]}

    def sample_stats(self, theta, size, replicates, rng):
        stats = Gaussian().sample_stats(theta, size, replicates, rng)
        stats["log_total"] = size * stats["mean"]
        return stats

    def prefix_stats(self, x, ends):
        logs = np.log(x)
        stats = Gaussian().prefix_stats(logs, ends)
        stats["log_total"] = cumulative(logs, ends)
        return stats

    def loglik(self, stats, theta):
        return Gaussian().loglik(stats, theta) - stats["log_total"]

    def degenerate(self, stats, free):
        return Gaussian().degenerate(stats, free) and _CONSTANT.format(
            name=self.name, param="sigma -> 0"
        )

    def score(self, stats, theta):
        return Gaussian().score(stats, theta)

    def hessian(self, stats, theta):
        return Gaussian().hessian(stats, theta)

    def closed_form(self, stats):
        return Gaussian().closed_form(stats)

    def fisher_information(self, theta):
        return Gaussian().fisher_information(theta)

    def scipy_dist(self, theta):
        return stats.lognorm(theta["sigma"], scale=np.exp(theta["mu"]))


class Beta(Family):
    name = "beta"
    parameterization = "a, b = shape parameters (mean = a / (a + b))"
    support = "a number strictly between 0 and 1"
    min_n = 2

    @property
    def params(self):
        return (Param("a", positive, "shape alpha"), Param("b", positive, "shape beta"))

    interval = Interval(0.0, 1.0, low_open=True, high_open=True)
    logs_reveal_support = True

    def reduce(self, x):
        n = x.shape[-1]
        # The spread only seeds the optimizer: a strided subsample is enough for it.
        part = x[..., :: max(1, n // 100_000)]
        mean = x.mean(axis=-1)
        return {
            "n": n,
            "mean": mean,
            "mean_square": mean**2 + part.var(axis=-1),
            "log_total": chunked_sums(np.log, x)[0],
            "log1m_total": chunked_sums(lambda v: np.log1p(-v), x)[0],
        }

    def merge(self, a, b):
        n = a["n"] + b["n"]
        share = b["n"] / n
        return {
            "n": n,
            "mean": a["mean"] + (b["mean"] - a["mean"]) * share,
            "mean_square": a["mean_square"] + (b["mean_square"] - a["mean_square"]) * share,
            "log_total": a["log_total"] + b["log_total"],
            "log1m_total": a["log1m_total"] + b["log1m_total"],
        }

    def prefix_stats(self, x, ends):
        ends = np.asarray(ends)
        return {
            "n": ends,
            "mean": cumulative(x, ends) / ends,
            "mean_square": cumulative(x * x, ends) / ends,
            "log_total": cumulative(np.log(x), ends),
            "log1m_total": cumulative(np.log1p(-x), ends),
        }

    def loglik(self, stats, theta):
        a, b, n = theta["a"], theta["b"], stats["n"]
        return (
            -n * special.betaln(a, b)
            + (a - 1) * stats["log_total"]
            + (b - 1) * stats["log1m_total"]
        )

    def score(self, stats, theta):
        a, b, n = theta["a"], theta["b"], stats["n"]
        both = special.digamma(a + b)
        return {
            "a": n * (both - special.digamma(a)) + stats["log_total"],
            "b": n * (both - special.digamma(b)) + stats["log1m_total"],
        }

    def hessian(self, stats, theta):
        a, b, n = theta["a"], theta["b"], stats["n"]
        both = special.polygamma(1, a + b)
        return matrix(
            [
                [n * (both - special.polygamma(1, a)), n * both],
                [n * both, n * (both - special.polygamma(1, b))],
            ]
        )

    def degenerate(self, stats, free):
        # With one of a, b held the maximum exists even for constant data.
        # Constant data, and only then: log(mean) = mean(log x) (Jensen's gap closes).
        n, m = stats["n"], stats["mean"]
        gap = np.log(m) - stats["log_total"] / n + np.log1p(-m) - stats["log1m_total"] / n
        if {"a", "b"} <= free and np.all(gap <= 64 * np.finfo(float).eps):
            return _CONSTANT.format(name=self.name, param="a, b -> infinity")
        return None

    def initial(self, stats):
        """Method of moments (a = b = 1 if the sample variance is too large for a beta)."""
        m = stats["mean"]
        v = stats["mean_square"] - m**2
        common = m * (1 - m) / np.maximum(v, 1e-300) - 1
        common = np.clip(np.where(common > 0, common, 2.0), 1e-3, 1e4)
        return {"a": m * common, "b": (1 - m) * common}

    def fisher_information(self, theta):
        a, b = theta["a"], theta["b"]
        both = special.polygamma(1, a + b)
        return np.array(
            [[special.polygamma(1, a) - both, -both], [-both, special.polygamma(1, b) - both]]
        )

    def scipy_dist(self, theta):
        return stats.beta(theta["a"], theta["b"])


class Weibull(Family):
    name = "weibull"
    parameterization = "shape k, scale lambda (scipy weibull_min: c = shape, scale = scale)"
    support = "a number > 0"
    min_n = 2

    @property
    def params(self):
        return (Param("shape", positive, "shape k"), Param("scale", positive, "scale lambda"))

    interval = Interval(0.0, low_open=True)
    logs_reveal_support = True

    def reduce(self, x):
        logs = np.log(x)
        return {"n": x.shape[-1], "log_x": logs, "log_total": logs.sum(axis=-1)}

    def _scaled_powers(self, stats, theta):
        """(x / scale)^shape, computed on the log scale; the last one is kept, since the
        log-likelihood, score and Hessian at one point all need it."""
        k, lam = theta["shape"], theta["scale"]
        key = (np.asarray(k).tobytes(), np.asarray(lam).tobytes())
        cached = stats.get("_powers")
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        log_ratio = stats["log_x"] - np.expand_dims(np.log(lam), -1)
        powers = np.exp(np.expand_dims(k, -1) * log_ratio)
        stats["_powers"] = (key, powers, log_ratio)
        return powers, log_ratio

    def loglik(self, stats, theta):
        k, lam, n = theta["shape"], theta["scale"], stats["n"]
        powers, _ = self._scaled_powers(stats, theta)
        return (
            n * (np.log(k) - k * np.log(lam)) + (k - 1) * stats["log_total"] - powers.sum(axis=-1)
        )

    def score(self, stats, theta):
        k, lam, n = theta["shape"], theta["scale"], stats["n"]
        powers, log_ratio = self._scaled_powers(stats, theta)
        return {
            "shape": n / k + (log_ratio * (1 - powers)).sum(axis=-1),
            "scale": k / lam * (powers.sum(axis=-1) - n),
        }

    def hessian(self, stats, theta):
        k, lam, n = theta["shape"], theta["scale"], stats["n"]
        powers, log_ratio = self._scaled_powers(stats, theta)
        total = powers.sum(axis=-1)
        cross = (powers - 1 + np.expand_dims(k, -1) * log_ratio * powers).sum(axis=-1) / lam
        return matrix(
            [
                [-n / k**2 - (log_ratio**2 * powers).sum(axis=-1), cross],
                [cross, -(k / lam**2) * (total - n) - (k / lam) ** 2 * total],
            ]
        )

    def degenerate(self, stats, free):
        if "shape" not in free or np.ptp(stats["log_x"], axis=-1) != 0:
            return None
        # Constant data: unbounded unless the scale is held away from the value itself.
        if "scale" in free:
            return _CONSTANT.format(name=self.name, param="shape -> infinity")
        return None

    def check_estimate(self, theta: Theta, free: set[str], stats: Stats | None = None):
        if "shape" in free and theta["shape"] > 1e8:
            return (
                f"the Weibull shape runs off to infinity (stopped at {theta['shape']:.3g}): "
                "the data sit on a single point as seen from the held scale, so the "
                "likelihood is unbounded and the MLE does not exist"
            )
        return None

    def profile_mle(self, stats, free):
        """Newton on the shape alone: given the shape k the scale has the closed form
        lambda^k = mean(x^k), so the profile log-likelihood is one-dimensional. Works on
        one sample or a batch (rows)."""
        if free != {"shape", "scale"}:
            return None
        logs = stats["log_x"]
        k = np.asarray(self.initial(stats)["shape"], dtype=float)
        if logs.shape[-1] > 5_000:  # most iterations on a strided subsample, the last on all
            k = _weibull_profile_newton(logs[..., :: logs.shape[-1] // 2_000], k, 1e-6)
        k = _weibull_profile_newton(logs, k, 1e-13)
        if k is None:  # pragma: no cover - the profile is concave in practice
            return None
        top = logs.max(axis=-1)
        powers = np.exp(k[..., None] * (logs - top[..., None]))
        log_scale = (np.log(powers.mean(axis=-1)) + k * top) / k
        if k.ndim == 0:
            return {"shape": float(k), "scale": float(np.exp(log_scale))}
        return {"shape": k, "scale": np.exp(log_scale)}

    def initial(self, stats):
        """From the moments of log x, which follow a Gumbel law."""
        n = stats["n"]
        mean_log = stats["log_total"] / n
        sd_log = np.sqrt(np.mean((stats["log_x"] - np.expand_dims(mean_log, -1)) ** 2, axis=-1))
        k = np.pi / (np.sqrt(6) * np.maximum(sd_log, 1e-12))
        return {"shape": k, "scale": np.exp(mean_log + np.euler_gamma / k)}

    def fisher_information(self, theta):
        k, lam = theta["shape"], theta["scale"]
        g = 1 - np.euler_gamma
        return np.array([[(g**2 + np.pi**2 / 6) / k**2, -g / lam], [-g / lam, k**2 / lam**2]])

    def scipy_dist(self, theta):
        return stats.weibull_min(theta["shape"], scale=theta["scale"])


def _weibull_profile_newton(logs: np.ndarray, k, tol: float):
    """Solve d/dk of the Weibull profile log-likelihood = 0 for the shape k, by Newton,
    row by row for a batch.

    With m_j the x^k-weighted means of (log x)^j: slope = n/k - n m_1 + sum(log x) and
    curvature = -n/k^2 - n (m_2 - m_1^2) < 0, so the profile is concave.
    """
    if k is None:
        return None
    k = np.array(k, dtype=float)
    n = logs.shape[-1]
    shifted = logs - logs.max(axis=-1, keepdims=True)  # x^k / max(x)^k: never overflows
    total = logs.sum(axis=-1)
    for _ in range(100):
        powers = np.exp(k[..., None] * shifted)
        s0 = powers.sum(axis=-1)
        weighted = powers * logs
        m1 = weighted.sum(axis=-1) / s0
        m2 = np.einsum("...i,...i->...", weighted, logs) / s0
        slope = n / k - n * m1 + total
        curvature = -n / k**2 - n * (m2 - m1 * m1)
        step = -slope / curvature
        for _ in range(60):  # keep the shape positive
            outside = k + step <= 0
            if not np.any(outside):
                break
            step = np.where(outside, step / 2, step)
        k = k + step
        if np.all(np.abs(step) <= tol * k):
            return k
    return None


class Laplace(Family):
    """Not differentiable in ``mu`` at the data points: the MLE is the sample median and
    standard errors come from the expected information."""

    name = "laplace"
    parameterization = "mu = location (median), b = scale (mean absolute deviation)"
    support = "any real number"
    min_n = 2
    se_source = "expected"

    @property
    def params(self):
        return (Param("mu", real, "location (median)"), Param("b", positive, "scale"))

    def reduce(self, x):
        median = np.median(x, axis=-1)
        at_median = np.abs(x - np.expand_dims(median, -1)).sum(axis=-1)
        return {"n": x.shape[-1], "x": x, "median": median, "abs_at_median": at_median}

    def _abs_total(self, stats, mu):
        """Sum of |x - mu|; at the median it was computed once, in ``reduce``."""
        if np.array_equal(mu, stats["median"]):
            return stats["abs_at_median"]
        return np.abs(stats["x"] - np.expand_dims(mu, -1)).sum(axis=-1)

    def loglik(self, stats, theta):
        mu, b, n = theta["mu"], theta["b"], stats["n"]
        return -n * np.log(2 * b) - self._abs_total(stats, mu) / b

    def score(self, stats, theta):
        mu, b, n = theta["mu"], theta["b"], stats["n"]
        signs = np.sign(stats["x"] - np.expand_dims(mu, -1)).sum(axis=-1)
        return {"mu": signs / b, "b": -n / b + self._abs_total(stats, mu) / b**2}

    def degenerate(self, stats, free):
        # Zero absolute deviation from the median: every value is the median.
        if "b" in free and np.all(stats["abs_at_median"] == 0):
            return _CONSTANT.format(name=self.name, param="b -> 0")
        return None

    def closed_form(self, stats):
        mu = stats["median"]
        return {"mu": mu, "b": self._abs_total(stats, mu) / stats["n"]}

    def fisher_information(self, theta):
        b2 = theta["b"] ** 2
        return np.array([[1 / b2, 0.0], [0.0, 1 / b2]])

    def scipy_dist(self, theta):
        return stats.laplace(theta["mu"], theta["b"])


class Uniform(Family):
    """The support depends on the parameters: the MLE is (min, max), on the boundary of
    the region the data allow, and the regularity conditions of Wald theory fail.

    The two ends are separable: -n log(high - low) rises as low rises to min(x) whatever
    high is, so with high held (R fitdistrplus fixes ``max``) the MLE of low is still
    min(x), provided the held high covers the data. There is no score (the support moves
    with the parameters, and at the MLE the log-likelihood is -inf on one side): the
    numerical optimizers difference the value from the side inside the support, climb to
    the edge the data allow and stop there (``optimizers._blocked``), and
    ``check_estimate`` says when a held end leaves observations outside the support.
    """

    name = "uniform"
    parameterization = "low, high = the ends of the interval"
    support = "any real number (the fit sets the interval to the data's range)"
    min_n = 2
    se_source = "none"
    irregular_note = (
        "the uniform MLE is (min, max) of the data: the likelihood is maximal at the edge of "
        "the parameters the data allow, so the score is not zero there and Wald standard "
        "errors do not apply"
    )

    @property
    def params(self):
        return (Param("low", real, "lower end"), Param("high", real, "upper end"))

    def reduce(self, x):
        return {"n": x.shape[-1], "min": x.min(axis=-1), "max": x.max(axis=-1)}

    def merge(self, a, b):
        return {"n": a["n"] + b["n"], "min": min(a["min"], b["min"]),
                "max": max(a["max"], b["max"])}  # fmt: skip

    def loglik(self, stats, theta):
        low, high, n = theta["low"], theta["high"], stats["n"]
        inside = (low <= stats["min"]) & (stats["max"] <= high) & (high > low)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(inside, -n * np.log(high - low), -np.inf)

    def closed_form(self, stats):
        return {"low": stats["min"], "high": stats["max"]}

    def degenerate(self, stats, free):
        # With one end held away from the value, the other one's MLE is that value.
        if {"low", "high"} <= free and stats["min"] == stats["max"]:
            return _CONSTANT.format(name=self.name, param="high - low -> 0")
        return None

    def check_estimate(self, theta: Theta, free: set[str], stats: Stats | None = None):
        """A held end that leaves observations outside [low, high]: their likelihood is zero
        for every value of the other end, so no MLE exists (the data are not to blame for
        being large or small: the held value does not allow them)."""
        if stats is None or np.ndim(stats["min"]):
            return None
        low, high = float(theta["low"]), float(theta["high"])
        smallest, largest = float(stats["min"]), float(stats["max"])
        if "low" not in free and low > smallest:
            return (
                f"value {_number(smallest)} (the smallest) lies below the held low = "
                f"{_number(low)}: the data lie outside the support [low, high] that "
                "model.fixed.low allows, so their likelihood is zero whatever high is; hold "
                f"low at or below min(x) = {_number(smallest)}, or leave it free"
            )
        if "high" not in free and high < largest:
            return (
                f"value {_number(largest)} (the largest) lies above the held high = "
                f"{_number(high)}: the data lie outside the support [low, high] that "
                "model.fixed.high allows, so their likelihood is zero whatever low is; hold "
                f"high at or above max(x) = {_number(largest)}, or leave it free"
            )
        held_at_the_data = ("low" in free and "high" not in free and smallest >= high) or (
            "high" in free and "low" not in free and largest <= low
        )
        if held_at_the_data:  # every value sits on the held end: the interval can shrink
            return (
                f"every value is {_number(smallest)}, and so is the held end: the likelihood "
                "grows without bound as high - low -> 0, so the MLE does not exist; hold "
                "the end away from the data"
            )
        return None

    def scipy_dist(self, theta):
        return stats.uniform(theta["low"], theta["high"] - theta["low"])


LARGE_DF = 1000.0  # beyond this, the t's gamma-function differences by their series


def t_log_normalizer(nu):
    """``gammaln((nu + 1) / 2) - gammaln(nu / 2) - log(nu) / 2``, which cancels in double
    precision for large nu (loglik +76 at df = 1e15): there its asymptotic series in
    x = nu / 2, -log(2)/2 - 1/(8x) + 1/(192x^3) + 1/(640x^5) (relative error < 1e-17)."""
    nu = np.asarray(nu, dtype=float)
    x = np.maximum(nu, LARGE_DF) / 2
    series = -0.5 * np.log(2.0) - 1 / (8 * x) + 1 / (192 * x**3) + 1 / (640 * x**5)
    small = np.minimum(nu, LARGE_DF)
    direct = special.gammaln((small + 1) / 2) - special.gammaln(small / 2) - 0.5 * np.log(small)
    return np.where(nu > LARGE_DF, series, direct)


def t_digamma_gap(nu):
    """``digamma((nu + 1) / 2) - digamma(nu / 2) - 1 / nu`` (its series for large nu)."""
    nu = np.asarray(nu, dtype=float)
    x = np.maximum(nu, LARGE_DF) / 2
    series = 1 / (8 * x**2) - 1 / (64 * x**4) - 1 / (128 * x**6)
    small = np.minimum(nu, LARGE_DF)
    direct = special.digamma((small + 1) / 2) - special.digamma(small / 2) - 1 / small
    return np.where(nu > LARGE_DF, series, direct)


def t_trigamma_gap(nu):
    """``(trigamma((nu + 1) / 2) - trigamma(nu / 2)) / 4 + 1 / (2 nu^2)`` (series for large nu)."""
    nu = np.asarray(nu, dtype=float)
    x = np.maximum(nu, LARGE_DF) / 2
    series = -1 / (16 * x**3) + 1 / (64 * x**5)
    small = np.minimum(nu, LARGE_DF)
    direct = (0.25 * special.polygamma(1, (small + 1) / 2) - 0.25 * special.polygamma(1, small / 2)
              + 0.5 / small**2)  # fmt: skip
    return np.where(nu > LARGE_DF, series, direct)


class StudentT(Family):
    """Location-scale t. Its likelihood has a spike wherever sigma -> 0 with mu at a value
    that ``m`` of the ``n`` observations share: that point contributes -m log sigma, every
    other one ``(df + 1) log sigma - (df + 1) log|x - mu| + ...``, about df log sigma
    each, so

        loglik ~ ((n - m) df - m) log sigma + const   as sigma -> 0,

    unbounded exactly when ``(n - m) df < m``. When ``(n - m) df > m`` the MLE of mu and
    sigma exists (the univariate case of Kent & Tyler 1991, "Redescending M-estimates of
    multivariate location and scatter", Ann. Statist. 19, 2102-2119: no value may be
    shared by a fraction df / (df + 1) or more of the data); at equality the likelihood
    is bounded but may be approached only as sigma -> 0. With df estimated the spike is
    always there, at df < m / (n - m) (Fernandez & Steel
    1999, "Multivariate Student-t regression models: pitfalls and inference", Biometrika
    86, 153-167); the usual estimate is the interior local maximum, which with a handful
    of values often does not exist (3 values: the optimizer runs to df ~ 0.1, sigma ~ 0).
    ``check_estimate`` refuses an end point inside the spike region and says why.
    """

    name = "student_t"
    parameterization = (
        "df = degrees of freedom, mu = location, sigma = scale (scipy t: df, loc, scale)"
    )
    support = "any real number"
    min_n = 3

    @property
    def params(self):
        return (
            Param("df", positive, "degrees of freedom"),
            Param("mu", real, "location"),
            Param("sigma", positive, "scale"),
        )

    def reduce(self, x):
        return {"n": x.shape[-1], "x": x}

    def _r2(self, stats, theta):
        r = (stats["x"] - np.expand_dims(theta["mu"], -1)) / np.expand_dims(theta["sigma"], -1)
        return r, r * r

    def loglik(self, stats, theta):
        nu, sigma, n = theta["df"], theta["sigma"], stats["n"]
        _, r2 = self._r2(stats, theta)
        nu_ = np.expand_dims(nu, -1)
        return n * (t_log_normalizer(nu) - 0.5 * np.log(np.pi) - np.log(sigma)) - (
            (nu_ + 1) / 2 * np.log1p(r2 / nu_)
        ).sum(axis=-1)

    def score(self, stats, theta):
        nu, sigma, n = theta["df"], theta["sigma"], stats["n"]
        r, r2 = self._r2(stats, theta)
        nu_ = np.expand_dims(nu, -1)
        w = (nu_ + 1) / (nu_ + r2)
        return {
            "df": n * 0.5 * t_digamma_gap(nu)
            + (-0.5 * np.log1p(r2 / nu_) + w * r2 / (2 * nu_)).sum(axis=-1),
            "mu": (w * r).sum(axis=-1) / sigma,
            "sigma": (-1 + w * r2).sum(axis=-1) / sigma,
        }

    def degenerate(self, stats, free):
        if "sigma" in free and np.ptp(stats["x"], axis=-1) == 0:
            return _CONSTANT.format(name=self.name, param="sigma -> 0")
        return None

    def hessian(self, stats, theta):
        nu, sigma, n = theta["df"], theta["sigma"], stats["n"]
        r, u = self._r2(stats, theta)
        nu_ = np.expand_dims(nu, -1)
        s2 = np.expand_dims(sigma, -1) ** 2
        w = (nu_ + 1) / (nu_ + u)
        a = 2 * w * w / (nu_ + 1)
        mu_mu = ((a * u - w) / s2).sum(axis=-1)
        mu_sigma = ((a * r * u - 2 * w * r) / s2).sum(axis=-1)
        sigma_sigma = ((a * u * u - 3 * w * u + 1) / s2).sum(axis=-1)
        both = (nu_ + u) ** 2
        cross = (1 - u) / both
        df_mu = (-cross * r / np.expand_dims(sigma, -1)).sum(axis=-1)
        df_sigma = (-cross * u / np.expand_dims(sigma, -1)).sum(axis=-1)
        per_value = u / (2 * nu_ * (nu_ + u)) - u * (nu_**2 + 2 * nu_ + u) / (2 * nu_**2 * both)
        df_df = n * t_trigamma_gap(nu) + per_value.sum(axis=-1)
        return matrix(
            [
                [df_df, df_mu, df_sigma],
                [df_mu, mu_mu, mu_sigma],
                [df_sigma, mu_sigma, sigma_sigma],
            ]
        )

    def check_estimate(self, theta: Theta, free: set[str], stats: Stats | None = None):
        why = None if stats is None else self._unbounded(stats, theta, free)
        if why:
            return why
        if "df" in free and theta["df"] > DF_GAUSSIAN_LIMIT:
            return (
                f"the student_t likelihood keeps rising as df -> infinity (stopped at "
                f"df = {theta['df']:.3g}): the data are no heavier-tailed than a Gaussian, "
                "so the MLE of df does not exist; fit model=gaussian, or hold df with "
                "+model.fixed.df=..."
            )
        return None

    def _unbounded(self, stats: Stats, theta: Theta, free: set[str]) -> str | None:
        """Why the end point lies where the likelihood is unbounded (df < m / (n - m),
        see the class docstring), or None. Not for a batch, and not with sigma held
        (then there is no spike: sigma -> 0 is what makes it)."""
        x = np.asarray(stats["x"])
        if "sigma" not in free or x.ndim != 1:
            return None
        n, df, sigma = x.size, float(theta["df"]), float(theta["sigma"])
        if "mu" in free:
            values, counts = np.unique(x, return_counts=True)
            m, at = int(counts.max()), float(values[np.argmax(counts)])
        else:
            at = float(theta["mu"])
            m = int(np.count_nonzero(x == at))
        if m == 0 or m >= n:  # mu held off the data: bounded; all equal: degenerate()
            return None
        threshold = m / (n - m)
        if df >= threshold:
            return None
        where = "the data value" if m == 1 else f"the value {m} observations share,"
        if "df" not in free:
            return (
                f"with df held at {_number(df)} the student_t likelihood grows without "
                f"bound as sigma -> 0 with mu at {where} {_number(at)}: it is bounded only "
                f"when (n - m) * df >= m (n = {n} values, at most m = {m} of them equal), "
                f"and here ({n} - {m}) * {_number(df)} = {(n - m) * df:.4g} < {m}, so the "
                f"MLE does not exist; hold df above {threshold:.4g} (= m / (n - m)), or give "
                "more data"
            )
        return (
            f"the student_t likelihood is unbounded for these {n} values: for df < m / "
            f"(n - m) = {threshold:.4g} (at most m = {m} of them equal) it grows without "
            "bound as sigma -> 0 with mu at a data value, and the optimizer ran into that "
            f"spike (df = {df:.3g}, sigma = {sigma:.3g}) instead of an interior maximum, so "
            "no MLE was found; give more data, or hold df (e.g. +model.fixed.df=5: any df "
            f"above {threshold:.4g} gives a bounded likelihood)"
        )

    def initial(self, stats):
        """Median and scaled MAD for location and scale; df from the sample kurtosis."""
        x = stats["x"]
        mu = np.median(x, axis=-1)
        mad = np.median(np.abs(x - np.expand_dims(mu, -1)), axis=-1)
        sigma = np.maximum(1.4826 * mad, 1e-12)
        z = (x - np.expand_dims(x.mean(axis=-1), -1)) / np.maximum(x.std(axis=-1), 1e-300)[
            ..., None
        ]
        excess = np.mean(z**4, axis=-1) - 3
        df = np.where(excess > 0, 6 / np.maximum(excess, 1e-12) + 4, 30.0)
        return {"df": np.clip(df, 1.0, 100.0), "mu": mu, "sigma": sigma}

    def fisher_information(self, theta):
        nu, sigma = theta["df"], theta["sigma"]
        i_nu = 0.25 * (special.polygamma(1, nu / 2) - special.polygamma(1, (nu + 1) / 2)) - (
            nu + 5
        ) / (2 * nu * (nu + 1) * (nu + 3))
        i_nu_sigma = -2 / (sigma * (nu + 1) * (nu + 3))
        return np.array(
            [
                [i_nu, 0.0, i_nu_sigma],
                [0.0, (nu + 1) / ((nu + 3) * sigma**2), 0.0],
                [i_nu_sigma, 0.0, 2 * nu / ((nu + 3) * sigma**2)],
            ]
        )

    def scipy_dist(self, theta):
        return stats.t(theta["df"], theta["mu"], theta["sigma"])

"""Discrete families: bernoulli, binomial, categorical, poisson, geometric, negative_binomial.

Each reduces the data to counts (negative_binomial to a tally of distinct values), so the
likelihood costs O(1) (O(K) for categorical) whatever ``n`` is; all but negative_binomial
have the closed-form MLE of their score equation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special, stats

from runner.errors import ConfigError, DataError
from runner.stats import priors
from runner.stats.constraints import Param, positive, simplex, unit_interval
from runner.stats.families.base import Family, Interval, cumulative, matrix


def _tally(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(distinct values, counts) of a 1-D array of small non-negative integers, from one
    bincount; None where that does not apply (floats, batches, a huge range)."""
    if x.ndim != 1 or x.dtype.kind not in "iu" or x.size < 1024:
        return None
    if x.max() > 4 * x.size + 1024:  # a sparse range: bincount would allocate too much
        return None
    counts = np.bincount(x)
    present = np.flatnonzero(counts)
    return present.astype(float), counts[present].astype(float)


class Bernoulli(Family):
    name = "bernoulli"
    parameterization = "p = P(x = 1)"
    support = "0 or 1"
    discrete = True

    @property
    def params(self):
        return (Param("p", unit_interval, "probability of a 1 (success)"),)

    interval = Interval(0, 1, integer=True)

    def reduce(self, x):
        return {"n": x.shape[-1], "successes": x.sum(axis=-1)}

    def merge(self, a, b):
        return {"n": a["n"] + b["n"], "successes": a["successes"] + b["successes"]}

    def prefix_stats(self, x, ends):
        return {"n": np.asarray(ends), "successes": cumulative(x, ends)}

    def sample_stats(self, theta, size, replicates, rng):
        return {"n": size, "successes": rng.binomial(size, theta["p"], replicates).astype(float)}

    def loglik(self, stats, theta):
        p, k, n = theta["p"], stats["successes"], stats["n"]
        return special.xlogy(k, p) + special.xlog1py(n - k, -p)

    def score(self, stats, theta):
        p, k, n = theta["p"], stats["successes"], stats["n"]
        return {"p": k / p - (n - k) / (1 - p)}

    def hessian(self, stats, theta):
        p, k, n = theta["p"], stats["successes"], stats["n"]
        return matrix([[-k / p**2 - (n - k) / (1 - p) ** 2]])

    def closed_form(self, stats):
        return {"p": stats["successes"] / stats["n"]}

    def posterior(self, stats, prior, fixed):
        k = stats["successes"]
        return priors.beta_binomial(prior, k, stats["n"] - k)

    def fisher_information(self, theta):
        p = theta["p"]
        return np.array([[1 / (p * (1 - p))]])

    def scipy_dist(self, theta):
        return stats.bernoulli(theta["p"])


class Binomial(Family):
    name = "binomial"
    parameterization = "p = success probability per trial; trials fixed (model.trials)"
    discrete = True

    def __init__(self, trials: int):
        try:
            ok = not isinstance(trials, bool) and float(trials).is_integer() and trials >= 1
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"model.trials = {trials!r}: expected an integer >= 1")
        self.trials = int(trials)

    def options(self):
        return {"trials": self.trials}

    @property
    def params(self):
        return (Param("p", unit_interval, "success probability per trial"),)

    @property
    def support(self):  # type: ignore[override]
        return f"an integer in 0..{self.trials} (model.trials)"

    @property
    def interval(self):  # type: ignore[override]
        return Interval(0, self.trials, integer=True)

    def reduce(self, x):
        log_choose = (
            special.gammaln(self.trials + 1)
            - special.gammaln(x + 1)
            - special.gammaln(self.trials - x + 1)
        )
        return {
            "n": x.shape[-1],
            "successes": x.sum(axis=-1),
            "log_choose": log_choose.sum(axis=-1),
        }

    def merge(self, a, b):
        return {key: a[key] + b[key] for key in ("n", "successes", "log_choose")}

    def sample_stats(self, theta, size, replicates, rng):
        successes = rng.binomial(size * self.trials, theta["p"], replicates).astype(float)
        return {"n": size, "successes": successes, "log_choose": 0.0}

    def prefix_stats(self, x, ends):
        log_choose = (
            special.gammaln(self.trials + 1)
            - special.gammaln(x + 1)
            - special.gammaln(self.trials - x + 1)
        )
        return {
            "n": np.asarray(ends),
            "successes": cumulative(x, ends),
            "log_choose": cumulative(log_choose, ends),
        }

    def loglik(self, stats, theta):
        p, s = theta["p"], stats["successes"]
        failures = stats["n"] * self.trials - s
        return special.xlogy(s, p) + special.xlog1py(failures, -p) + stats["log_choose"]

    def score(self, stats, theta):
        p, s = theta["p"], stats["successes"]
        return {"p": s / p - (stats["n"] * self.trials - s) / (1 - p)}

    def hessian(self, stats, theta):
        p, s = theta["p"], stats["successes"]
        return matrix([[-s / p**2 - (stats["n"] * self.trials - s) / (1 - p) ** 2]])

    def closed_form(self, stats):
        return {"p": stats["successes"] / (stats["n"] * self.trials)}

    def posterior(self, stats, prior, fixed):
        s = stats["successes"]
        return priors.beta_binomial(prior, s, stats["n"] * self.trials - s)

    def fisher_information(self, theta):
        p = theta["p"]
        return np.array([[self.trials / (p * (1 - p))]])

    def scipy_dist(self, theta):
        return stats.binom(self.trials, theta["p"])


class Poisson(Family):
    name = "poisson"
    parameterization = "lam = mean = variance"
    support = "a non-negative integer (0, 1, 2, ...)"
    discrete = True

    @property
    def params(self):
        return (Param("lam", positive, "rate (mean count)"),)

    interval = Interval(0, integer=True)

    def reduce(self, x):
        tally = _tally(x)
        if tally is not None:  # one bincount gives the total and sum of log x! alike
            values, counts = tally
            return {
                "n": x.shape[-1],
                "total": float(values @ counts),
                "log_factorials": float(special.gammaln(values + 1) @ counts),
            }
        return {
            "n": x.shape[-1],
            "total": x.sum(axis=-1),
            "log_factorials": special.gammaln(x + 1).sum(axis=-1),
        }

    def merge(self, a, b):
        return {key: a[key] + b[key] for key in ("n", "total", "log_factorials")}

    def prefix_stats(self, x, ends):
        return {
            "n": np.asarray(ends),
            "total": cumulative(x, ends),
            "log_factorials": cumulative(special.gammaln(x + 1), ends),
        }

    def sample_stats(self, theta, size, replicates, rng):
        total = rng.poisson(size * theta["lam"], replicates).astype(float)
        return {"n": size, "total": total, "log_factorials": 0.0}

    def loglik(self, stats, theta):
        lam = theta["lam"]
        return special.xlogy(stats["total"], lam) - stats["n"] * lam - stats["log_factorials"]

    def score(self, stats, theta):
        return {"lam": stats["total"] / theta["lam"] - stats["n"]}

    def hessian(self, stats, theta):
        return matrix([[-stats["total"] / theta["lam"] ** 2]])

    def closed_form(self, stats):
        return {"lam": stats["total"] / stats["n"]}

    def posterior(self, stats, prior, fixed):
        return priors.gamma_rate(prior, stats["total"], stats["n"], "lam")

    def fisher_information(self, theta):
        return np.array([[1 / theta["lam"]]])

    def scipy_dist(self, theta):
        return stats.poisson(theta["lam"])


class Categorical(Family):
    """One draw from K categories. Data are labels (``"A"``) or integer codes (``0..K-1``).

    ``categories`` lists the labels in order; left open, they are the sorted distinct
    values of the data, so a category never seen is unknown to the model (give
    ``categories`` to keep it, with estimated probability 0).
    """

    name = "categorical"
    parameterization = "p = vector of category probabilities (sums to 1)"
    discrete = True

    def __init__(self, categories: Sequence[Any] | None = None):
        if categories is not None:
            categories = list(categories)
            if len(categories) < 2:
                raise ConfigError(
                    f"model.categories = {categories!r}: expected at least 2 categories"
                )
            if len({str(c) for c in categories}) != len(categories):
                raise ConfigError(f"model.categories = {categories!r}: labels must be distinct")
        self.categories = categories

    def options(self):
        return {"categories": self.categories}

    @property
    def support(self):  # type: ignore[override]
        if self.categories is None:
            return "a category label or integer code"
        return f"one of {self.categories}"

    @property
    def params(self):
        if self.categories is None:
            raise ConfigError("categorical needs its categories: set model.categories or give data")
        labels = _distinct_labels(self.categories)
        return (Param("p", simplex, "category probabilities", len(labels), labels),)

    def for_truth(self, truth):
        if self.categories is not None or "p" not in truth:
            return self
        try:
            k = len(truth["p"])
        except TypeError:
            raise ConfigError(
                f"model.truth.p = {truth['p']!r}: expected a list of probabilities"
            ) from None
        return Categorical(list(range(k)))

    def for_data(self, values, labels=None):
        if self.categories is not None:
            return self
        values = np.asarray(values)
        if values.dtype.kind == "f" and np.all(np.floor(values) == values):
            values = values.astype(np.int64)  # integer codes read as floats (e.g. CSV with NaN)
        found = np.unique(values.astype(str) if _mixed(values) else values)
        if found.size < 2:
            raise DataError(
                f"categorical data need at least 2 distinct categories, found {found.tolist()}; "
                "list them in model.categories"
            )
        return Categorical([v.item() if hasattr(v, "item") else v for v in found])

    def validate(self, values, check_finite=True, check_support=True):
        """Map labels to integer codes 0..K-1, with one lookup per distinct value."""
        raw = np.asarray(values)
        if raw.ndim != 1:
            raw = raw.ravel()
        distinct, inverse = np.unique(raw.astype(str) if _mixed(raw) else raw, return_inverse=True)
        lookup = {}
        for i, c in enumerate(self.categories):
            lookup.setdefault(c, i)
            lookup.setdefault(str(c), i)
        codes_of_distinct = np.array(
            [
                lookup.get(d.item() if hasattr(d, "item") else d, lookup.get(str(d), -1))
                for d in distinct
            ],
            dtype=np.int64,
        )
        codes = codes_of_distinct[inverse]
        bad = codes < 0
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"value {_plain(raw[i])!r} is not a category of this model: expected one of "
                f"{self.categories} (set model.categories to list them all)",
                index=i,
                value=raw[i],
            )
        return codes

    def reduce(self, x):
        k = len(self.categories)
        if x.ndim == 1:
            counts = np.bincount(x, minlength=k).astype(float)
        else:
            counts = (x[..., None] == np.arange(k)).sum(axis=-2).astype(float)
        return {"n": x.shape[-1], "counts": counts}

    def merge(self, a, b):
        return {"n": a["n"] + b["n"], "counts": a["counts"] + b["counts"]}

    def sample_stats(self, theta, size, replicates, rng):
        counts = rng.multinomial(size, theta["p"], replicates).astype(float)
        return {"n": size, "counts": counts}

    def prefix_stats(self, x, ends):
        counts = np.stack(
            [cumulative((x == k).astype(float), ends) for k in range(len(self.categories))],
            axis=-1,
        )
        return {"n": np.asarray(ends), "counts": counts}

    def loglik(self, stats, theta):
        return special.xlogy(stats["counts"], theta["p"]).sum(axis=-1)

    def score(self, stats, theta):
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"p": np.where(stats["counts"] > 0, stats["counts"] / theta["p"], 0.0)}

    def closed_form(self, stats):
        return {"p": stats["counts"] / stats["n"]}

    def posterior(self, stats, prior, fixed):
        return priors.dirichlet_categorical(prior, stats["counts"])

    def logpdf(self, x, theta):
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(theta["p"]))[x]

    def sample(self, theta, size, rng):
        codes = rng.choice(len(self.categories), size=size, p=theta["p"])
        return np.asarray(self.categories, dtype=object)[codes] if not self._codes() else codes

    def _codes(self) -> bool:
        """True if the labels are exactly the integer codes 0..K-1."""
        return all(
            isinstance(c, (int, np.integer)) and c == i for i, c in enumerate(self.categories)
        )


def _label(category: Any) -> str:
    """A category as a name MLflow accepts (letters, digits, ``_-. /``)."""
    text = str(category)
    return "".join(ch if ch.isalnum() or ch in "_-. /" else "_" for ch in text) or "_"


def _distinct_labels(categories: Sequence[Any]) -> tuple[str, ...]:
    """Sanitized labels, suffixed where two categories would get the same name."""
    labels: list[str] = []
    for c in categories:
        label = _label(c)
        candidate, k = label, 1
        while candidate in labels:
            k += 1
            candidate = f"{label}_{k}"
        labels.append(candidate)
    return tuple(labels)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (for messages: 'abc', not np.str_)."""
    return value.item() if hasattr(value, "item") else value


def _mixed(values: Any) -> bool:
    """True for object arrays, whose mixed types ``np.unique`` cannot sort."""
    return np.asarray(values).dtype == object


class Geometric(Family):
    name = "geometric"
    parameterization = "p = success probability; x = number of trials up to the first success"
    support = "an integer >= 1 (1, 2, 3, ...)"
    discrete = True

    @property
    def params(self):
        return (Param("p", unit_interval, "success probability per trial"),)

    interval = Interval(1, integer=True)

    def reduce(self, x):
        return {"n": x.shape[-1], "total": x.sum(axis=-1)}

    def merge(self, a, b):
        return {"n": a["n"] + b["n"], "total": a["total"] + b["total"]}

    def prefix_stats(self, x, ends):
        return {"n": np.asarray(ends), "total": cumulative(x, ends)}

    def sample_stats(self, theta, size, replicates, rng):
        # Failures before the size-th success: negative binomial; plus the size trials.
        failures = rng.negative_binomial(size, theta["p"], replicates)
        return {"n": size, "total": (failures + size).astype(float)}

    def loglik(self, stats, theta):
        p, n = theta["p"], stats["n"]
        return special.xlogy(n, p) + special.xlog1py(stats["total"] - n, -p)

    def score(self, stats, theta):
        p, n = theta["p"], stats["n"]
        return {"p": n / p - (stats["total"] - n) / (1 - p)}

    def hessian(self, stats, theta):
        p, n = theta["p"], stats["n"]
        return matrix([[-n / p**2 - (stats["total"] - n) / (1 - p) ** 2]])

    def closed_form(self, stats):
        return {"p": stats["n"] / stats["total"]}

    def posterior(self, stats, prior, fixed):
        return priors.beta_binomial(prior, stats["n"], stats["total"] - stats["n"])

    def fisher_information(self, theta):
        p = theta["p"]
        return np.array([[1 / (p**2 * (1 - p))]])

    def scipy_dist(self, theta):
        return stats.geom(theta["p"])


class NegativeBinomial(Family):
    """Failures before the ``size``-th success; ``size`` need not be an integer.

    The data are tallied once (distinct value, count), so each likelihood evaluation
    costs O(distinct values), not O(n).
    """

    name = "negative_binomial"
    parameterization = (
        "size r > 0, p = success probability; mean = r (1 - p) / p (scipy nbinom: n = size, p)"
    )
    support = "a non-negative integer (0, 1, 2, ...)"
    discrete = True
    min_n = 2

    @property
    def params(self):
        return (
            Param("size", positive, "number of successes r (dispersion)"),
            Param("p", unit_interval, "success probability"),
        )

    interval = Interval(0, integer=True)

    def reduce(self, x):
        if x.ndim == 1:  # every sum over the distinct values: one bincount, else a sort
            values, weights = _tally(x) or np.unique(x, return_counts=True)
            values, weights = values.astype(float), weights.astype(float)
            return _tallied(values, weights, float(special.gammaln(values + 1) @ weights))
        return {  # a batch: each row's values as they are
            "n": x.shape[-1],
            "values": x,
            "weights": np.ones_like(x, dtype=float),
            "total": x.sum(axis=-1),
            "mean": x.mean(axis=-1),
            "mean_square": (x * x).mean(axis=-1),
            "log_factorials": special.gammaln(x + 1).sum(axis=-1),
        }

    def merge(self, a, b):
        # the tallies of distinct values join; the sums add
        values, where = np.unique(np.concatenate([a["values"], b["values"]]),
                                  return_inverse=True)  # fmt: skip
        weights = np.bincount(where, np.concatenate([a["weights"], b["weights"]]))
        return _tallied(values, weights, a["log_factorials"] + b["log_factorials"])

    def _sum(self, stats, terms):
        return (stats["weights"] * terms).sum(axis=-1)

    def loglik(self, stats, theta):
        r, p, n = theta["size"], theta["p"], stats["n"]
        r_ = np.expand_dims(r, -1)
        return (
            self._sum(stats, special.gammaln(stats["values"] + r_))
            - n * special.gammaln(r)
            - stats["log_factorials"]
            + n * special.xlogy(r, p)
            + special.xlog1py(stats["total"], -p)
        )

    def score(self, stats, theta):
        r, p, n = theta["size"], theta["p"], stats["n"]
        r_ = np.expand_dims(r, -1)
        return {
            "size": self._sum(stats, special.digamma(stats["values"] + r_))
            - n * special.digamma(r)
            + n * np.log(p),
            "p": n * r / p - stats["total"] / (1 - p),
        }

    def degenerate(self, stats, free):
        m = stats["mean"]
        v = stats["mean_square"] - m**2
        if "size" in free and v <= m:
            return (
                f"the sample variance ({v:.4g}) does not exceed the mean ({m:.4g}): the "
                "negative binomial likelihood keeps rising as size -> infinity (the Poisson "
                "limit), so its MLE does not exist; fit model=poisson instead"
            )
        return None

    def initial(self, stats):
        """Method of moments; under-dispersed data (variance <= mean) start near Poisson."""
        m = stats["mean"]
        v = stats["mean_square"] - m**2
        over = v > m * (1 + 1e-9)
        r = np.where(over, m**2 / np.where(over, v - m, 1.0), 1e3)
        r = np.maximum(r, 1e-3)
        return {"size": r, "p": r / (r + np.maximum(m, 1e-12))}

    def scipy_dist(self, theta):
        return stats.nbinom(theta["size"], theta["p"])


def _tallied(values: np.ndarray, weights: np.ndarray, log_factorials: float) -> dict:
    """Negative-binomial statistics of distinct values and their counts (a sample's
    tally, or two merged)."""
    n = float(weights.sum())
    total = float(values @ weights)
    return {"n": int(n), "values": values, "weights": weights, "total": total,
            "mean": total / n, "mean_square": float((values * values) @ weights) / n,
            "log_factorials": log_factorials}  # fmt: skip

"""The multivariate Gaussian: rows of ``x`` are observations, columns are variables.

Reduced once to (n, mean vector, scatter matrix); the MLE of the covariance divides the
scatter by n. Parameters are named by column: ``mean.height``, ``cov.height.weight``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from runner.errors import ConfigError, DataError
from runner.stats.constraints import CovarianceMatrix, Param, real
from runner.stats.families.base import Family


class MultivariateNormal(Family):
    name = "mvn"
    parameterization = (
        "mean = vector of means, cov = covariance matrix (MLE divides by n); "
        "components cov.i.j for i >= j"
    )
    support = "rows of real numbers (one column per variable: data.columns=[...])"
    multivariate = True

    def __init__(self, dim: int | None = None, labels: Sequence[str] | None = None):
        if labels is not None:
            labels = [str(v) for v in labels]
            dim = dim or len(labels)
        if dim is not None and (int(dim) != dim or dim < 1):
            raise ConfigError(f"mvn dimension {dim!r}: expected an integer >= 1")
        if labels is not None and len(labels) != dim:
            raise ConfigError(f"mvn has {dim} variables but {len(labels)} labels {labels}")
        self.dim = None if dim is None else int(dim)
        self.labels = labels

    def options(self):
        return {"dim": self.dim, "labels": self.labels}

    @property
    def min_n(self) -> int:  # type: ignore[override]
        return (self.dim or 1) + 1

    @property
    def params(self):
        if self.dim is None:
            raise ConfigError("mvn needs its dimension: give model.truth.mean or data columns")
        names = self.labels or [str(j + 1) for j in range(self.dim)]
        rows, cols = np.tril_indices(self.dim)
        pairs = tuple(f"{names[i]}.{names[j]}" for i, j in zip(rows, cols, strict=True))
        return (
            Param("mean", real, "mean vector", self.dim, tuple(names)),
            Param(
                "cov",
                CovarianceMatrix(self.dim),
                "covariance matrix",
                len(pairs),
                pairs,
                (self.dim, self.dim),
            ),
        )

    def for_truth(self, truth):
        if self.dim is None and "mean" in truth:
            return MultivariateNormal(len(truth["mean"]), self.labels)
        return self

    def for_data(self, values, labels=None):
        values = np.asarray(values)
        if values.ndim != 2:
            raise DataError(
                "mvn needs a table of observations (rows) by variables (columns): "
                "use data=csv with data.columns=[a, b, ...]"
            )
        if self.dim is not None and values.shape[1] != self.dim:
            raise DataError(
                f"the data have {values.shape[1]} columns but the model has {self.dim} "
                "variables (model.truth.mean)"
            )
        if self.labels is None and labels is not None:
            return MultivariateNormal(values.shape[1], labels)
        return self if self.dim is not None else MultivariateNormal(values.shape[1])

    def sample_size(self, x):
        return int(x.shape[0])

    def reduce(self, x):
        mean = x.mean(axis=0)
        dev = x - mean
        return {"n": x.shape[0], "mean": mean, "scatter": dev.T @ dev}

    def _spread(self, stats, mu):
        delta = stats["mean"] - mu
        return stats["scatter"] / stats["n"] + np.outer(delta, delta)

    def loglik(self, stats, theta):
        cov = np.asarray(theta["cov"])
        try:
            factor = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            return -np.inf
        n, d = stats["n"], cov.shape[0]
        log_det = 2 * np.log(np.diag(factor)).sum()
        spread = self._spread(stats, np.asarray(theta["mean"]))
        trace = np.trace(np.linalg.solve(cov, spread))
        return -0.5 * n * (d * np.log(2 * np.pi) + log_det + trace)

    def score(self, stats, theta):
        cov = np.asarray(theta["cov"])
        mu = np.asarray(theta["mean"])
        n = stats["n"]
        precision = np.linalg.inv(cov)
        spread = self._spread(stats, mu)
        grad = 0.5 * n * (precision @ spread @ precision - precision)
        rows, cols = np.tril_indices(cov.shape[0])
        doubled = np.where(rows == cols, 1.0, 2.0)  # cov[i, j] and cov[j, i] move together
        return {
            "mean": n * precision @ (stats["mean"] - mu),
            "cov": grad[rows, cols] * doubled,
        }

    def closed_form(self, stats):
        return {"mean": stats["mean"], "cov": stats["scatter"] / stats["n"]}

    def degenerate(self, stats, free):
        if "cov" not in free:
            return None
        try:
            np.linalg.cholesky(stats["scatter"] / stats["n"])
        except np.linalg.LinAlgError:
            return (
                "the sample covariance is singular (fewer rows than columns, a constant "
                "column, or columns that are exact combinations of others): the likelihood "
                "is unbounded and the MLE does not exist"
            )
        return None

    def logpdf(self, x, theta):
        return stats.multivariate_normal(theta["mean"], theta["cov"]).logpdf(x)

    def sample(self, theta, size, rng):
        return rng.multivariate_normal(np.asarray(theta["mean"]), np.asarray(theta["cov"]), size)

    def scipy_dist(self, theta):
        return stats.multivariate_normal(theta["mean"], theta["cov"])

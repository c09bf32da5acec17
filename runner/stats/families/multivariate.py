"""The multivariate Gaussian: rows of ``x`` are observations, columns are variables.

Reduced once to (n, mean vector, scatter matrix); the MLE of the covariance divides the
scatter by n. Parameters are named by column: ``mean.height``, ``cov.height.weight``.

Every matrix operation goes through a Cholesky factor that is checked, never through
``inv`` or ``solve`` of a matrix that may be singular: a covariance that is not positive
definite gives a log-likelihood of -inf (an optimizer steps back from it), and data whose
covariance is singular up to rounding are refused before any fit with the column to blame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import linalg, stats

from runner.errors import ConfigError, DataError
from runner.stats.constraints import CovarianceMatrix, Param, real
from runner.stats.families.base import Family, Stats, Theta

_EPS = float(np.finfo(float).eps)
_LOG_2PI = float(np.log(2 * np.pi))


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
        scatter = dev.T @ dev
        found = _rank(x, mean, dev, scatter)
        return {"n": x.shape[0], "mean": mean, "scatter": scatter, **found}

    def _spread(self, stats, mu):
        delta = stats["mean"] - mu
        return stats["scatter"] / stats["n"] + np.outer(delta, delta)

    def loglik(self, stats, theta):
        factor = _cholesky(theta["cov"])
        if factor is None:  # not positive definite: no density (an optimizer backs off)
            return -np.inf
        n, d = stats["n"], factor.shape[0]
        log_det = 2 * np.log(np.diag(factor)).sum()
        spread = self._spread(stats, np.asarray(theta["mean"], dtype=float))
        # trace(cov^-1 spread) = trace(L^-1 spread L^-T), from two triangular solves.
        half = linalg.solve_triangular(factor, spread, lower=True, check_finite=False)
        whole = linalg.solve_triangular(factor, half.T, lower=True, check_finite=False)
        return -0.5 * n * (d * _LOG_2PI + log_det + np.trace(whole))

    def score(self, stats, theta):
        mu = np.asarray(theta["mean"], dtype=float)
        factor = _cholesky(theta["cov"])
        rows, cols = np.tril_indices(mu.size)
        if factor is None:  # no gradient where there is no density
            return {"mean": np.full(mu.size, np.nan), "cov": np.full(rows.size, np.nan)}
        n = stats["n"]
        precision = linalg.cho_solve((factor, True), np.eye(mu.size), check_finite=False)
        spread = self._spread(stats, mu)
        grad = 0.5 * n * (precision @ spread @ precision - precision)
        doubled = np.where(rows == cols, 1.0, 2.0)  # cov[i, j] and cov[j, i] move together
        return {
            "mean": n * precision @ (stats["mean"] - mu),
            "cov": grad[rows, cols] * doubled,
        }

    def closed_form(self, stats):
        return {"mean": stats["mean"], "cov": stats["scatter"] / stats["n"]}

    def degenerate(self, stats, free):
        """Refuse data whose covariance is singular up to rounding (see ``_rank``): the
        likelihood then grows without bound as the covariance collapses onto the data's
        subspace. With ``cov`` held there is nothing to collapse."""
        if "cov" not in free:
            return None
        found = self._singular(stats)
        if found is None and _cholesky(stats["scatter"] / stats["n"]) is None:
            # Passed the rank test, yet rounding in the scatter itself broke Cholesky:
            # blame the column that the weakest direction leans on.
            found = self._dependent([stats["_weakest"]])
        if found is None:
            return None
        why, hint = found
        return f"no MLE: the covariance is singular ({why}; the likelihood is unbounded): {hint}"

    def check_estimate(self, theta: Theta, free: set[str], stats: Stats | None = None):
        """An optimizer's covariance (mean held: the spread around the held mean) must be
        positive definite to rounding, or the standard errors' Cholesky coordinates fail."""
        if "cov" in free and _cholesky(theta["cov"]) is None:
            return (
                "no MLE: the covariance estimate is singular (not positive definite in double "
                "precision; the likelihood is unbounded there): check model.fixed.mean "
                "against the data, or leave dependent columns out of data.columns"
            )
        return None

    def _names(self, columns: list[int]) -> str:
        """'column 'b'' / 'columns 'b' and 'c'' by label, else by position (1-based)."""
        if self.labels is not None:
            shown = [repr(self.labels[j]) for j in columns]
        else:
            shown = [str(j + 1) for j in columns]
        word = "column" if len(shown) == 1 else "columns"
        listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
        return f"{word} {listed}"

    def _singular(self, stats: Stats) -> tuple[str, str] | None:
        """Why the covariance is singular up to rounding and what to do, or None."""
        n, d = int(stats["n"]), int(np.size(stats["mean"]))
        constant = [int(j) for j in np.flatnonzero(stats["_constant"])]
        if constant:
            verb, it = ("is", "it") if len(constant) == 1 else ("are", "them")
            return f"{self._names(constant)} {verb} constant", f"leave {it} out of data.columns"
        if n <= d:
            return (
                f"{n} row{'s' if n != 1 else ''} spread around their mean in at most "
                f"{n - 1} of the {d} columns' directions",
                f"a {d}-column covariance needs at least {d + 1} rows",
            )
        return self._dependent(stats["_dependent"]) if stats["_dependent"] else None

    def _dependent(self, columns: list[int]) -> tuple[str, str]:
        """The words for columns that are linear functions of the others, and the remedy."""
        one = len(columns) == 1
        verb, what, it = (
            ("is", "a linear function", "it") if one else ("are", "linear functions", "them")
        )
        return (
            f"{self._names(columns)} {verb}, up to rounding, {what} of the others",
            f"leave {it} out of data.columns",
        )

    def logpdf(self, x, theta):
        """Log density of each row, through the Cholesky factor (scipy's own check of the
        covariance compares eigenvalues on the raw scale, so it calls a covariance of
        columns in metres and in micrometres singular; this does not)."""
        factor = _cholesky(theta["cov"])
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if factor is None:
            return np.full(x.shape[0], -np.inf)
        dev = x - np.asarray(theta["mean"], dtype=float)
        white = linalg.solve_triangular(factor, dev.T, lower=True, check_finite=False)
        log_det = 2 * np.log(np.diag(factor)).sum()
        return -0.5 * (factor.shape[0] * _LOG_2PI + log_det + np.einsum("ij,ij->j", white, white))

    def sample(self, theta, size, rng):
        return rng.multivariate_normal(
            np.asarray(theta["mean"]), np.asarray(theta["cov"]), size, method="cholesky"
        )

    def scipy_dist(self, theta):
        return stats.multivariate_normal(theta["mean"], theta["cov"])


def _cholesky(cov: Any) -> np.ndarray | None:
    """The lower Cholesky factor of ``cov``, or None where it is not positive definite in
    double precision (or not finite): the one test of definiteness every path shares."""
    cov = np.asarray(cov, dtype=float)
    if cov.ndim != 2 or not np.all(np.isfinite(cov)):
        return None
    try:
        factor = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return None
    diagonal = np.diag(factor)
    return factor if np.all(np.isfinite(factor)) and np.all(diagonal > 0) else None


def _rank(x: np.ndarray, mean: np.ndarray, dev: np.ndarray, scatter: np.ndarray) -> Stats:
    """Which columns are, up to rounding, constant or linear functions of the others.

    Scale-invariant: the centred columns are divided by their standard deviations, so the
    test is on the correlation matrix ``R``, and a column in micrometres beside one in
    kilometres is never refused for its scale.

    ``R`` is singular up to rounding when its smallest eigenvalue over its largest (which
    lies in [1, d]) is within what the arithmetic can resolve: below ``d (d + 1) u``
    (u = eps / 2) Cholesky of the computed covariance is no longer guaranteed to succeed
    (Demmel's bound: it succeeds when lambda_min(R) > d gamma_{d+1}; Higham, Accuracy and
    Stability of Numerical Algorithms, 2nd ed., Thm 10.7), so the covariance cannot be
    told from a singular one. The bound is taken 16 times over, plus the data's own
    rounding: values known to a relative eps, in standardized units m_j = max|x_j| / sd_j,
    can fake an eigenvalue of (eps ||m||)^2. An exact relation (b = 2a + 1 in a CSV with
    17 digits) sits near eps^2; a correlation of 1 - 1e-12 passes. A constant column (sd
    below 16 eps |mean|) is named as such.

    Eigenvalues that small are only resolved from the data themselves: the squared
    singular values of the standardized data over sqrt(n), by a (backward stable)
    Householder QR and the SVD of its d x d factor. The rounding of the scatter would
    swamp them (it is up to n u in ``R``'s units), but it is small enough to screen with:
    only data whose scatter-based ratio is below ``max(1e-8, 64 n eps)`` pay for the QR,
    which costs ~20 times the scatter itself.
    """
    n, d = x.shape
    found: Stats = {"_constant": np.zeros(d, dtype=bool), "_dependent": [], "_weakest": d - 1}
    with np.errstate(all="ignore"):
        if not (np.all(np.isfinite(scatter)) and np.all(np.isfinite(mean))):
            return found  # NaN or overflow: refused from the statistics
        sd = np.sqrt(np.diag(scatter) / n)
        constant = (sd == 0) | (sd <= 16 * _EPS * np.abs(mean))
        found["_constant"] = constant
        if n <= d or constant.any():
            return found
        screen, vectors = np.linalg.eigh(scatter / (n * np.outer(sd, sd)))
        found["_weakest"] = _dependent_columns(vectors[:, :1].T)[0]
        if screen[0] > max(1e-8, 64 * n * _EPS) * screen[-1]:
            return found  # clearly of full rank: no need to look closer
        r = np.linalg.qr(dev / (sd * np.sqrt(n)), mode="r")  # d x d
        _, singular, vt = np.linalg.svd(r, full_matrices=False)
        magnitude = np.max(np.abs(x), axis=0) / sd
    tol = 16 * d * (d + 1) * _EPS / 2 + (_EPS * float(np.linalg.norm(magnitude))) ** 2
    found["_dependent"] = _dependent_columns(vt[singular**2 <= tol * singular[0] ** 2])
    found["_weakest"] = _dependent_columns(vt[-1:])[0]
    return found


def _dependent_columns(null: np.ndarray) -> list[int]:
    """One column per near-null direction (rows of ``null``), each expressible through
    the others: column-pivoted Gram-Schmidt on the null vectors. The pivot is the last
    column whose weight is at least half the largest (a well-conditioned choice, not
    only the largest): for ``b = 2a + 1`` both weigh the same up to rounding, and the
    column named is ``b``, the later one, written as the function of the other."""
    weights = np.array(null, dtype=float).T  # (d, k): each column's share of the directions
    chosen: list[int] = []
    for _ in range(null.shape[0]):
        norms = np.linalg.norm(weights, axis=1)
        norms[chosen] = -1.0
        j = int(np.flatnonzero(norms >= 0.5 * norms.max())[-1])
        chosen.append(j)
        q = weights[j] / norms[j]
        weights = weights - np.outer(weights @ q, q)  # the other columns, without column j
    return sorted(chosen)


__all__ = ["MultivariateNormal", "Theta"]

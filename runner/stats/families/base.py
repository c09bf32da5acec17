"""The ``Family`` interface: the questions every distribution answers, with the same names.

A family is a parametric density ``f(x | theta)``. ``theta`` is a dict from parameter name
to a float (or a 1-D array for vector parameters such as categorical ``p``). Data are first
checked against the support (``validate``), then reduced once to sufficient statistics
(``reduce``), so every later likelihood, score or Hessian evaluation costs O(1) where the
family allows it. Reductions work along the last axis, so a batch of samples of shape
``(replicates, n)`` reduces to batched statistics with the same code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats.constraints import Param

Theta = dict[str, Any]
Stats = dict[str, Any]


@dataclass(frozen=True)
class Interval:
    """A family's support as an interval (of integers for count families): checked with a
    reduction or two, not an elementwise mask, when the data are fine."""

    low: float = -np.inf
    high: float = np.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def holds(self, x: np.ndarray, extremes: tuple[Any, Any] | None = None) -> bool:
        """True if every value lies in the interval (NaN never does); counts must also be
        below MAX_EXACT_COUNT. ``extremes`` are ``(x.min(), x.max())`` if already known."""
        if self.low > -np.inf:
            m = x.min() if extremes is None else extremes[0]
            if not (m > self.low if self.low_open else m >= self.low):
                return False
        if self.high < np.inf or self.integer:
            m = x.max() if extremes is None else extremes[1]
            if self.integer and not m < MAX_EXACT_COUNT:
                return False
            if not (m < self.high if self.high_open else m <= self.high):
                return False
        if self.integer and x.dtype.kind == "f":
            return bool(np.all(np.floor(x) == x))
        return True

    def mask(self, x: np.ndarray) -> np.ndarray:
        ok = np.ones(x.shape, dtype=bool)
        if self.low > -np.inf:
            ok &= (x > self.low) if self.low_open else (x >= self.low)
        if self.high < np.inf:
            ok &= (x < self.high) if self.high_open else (x <= self.high)
        if self.integer and x.dtype.kind == "f":
            ok &= np.floor(x) == x
        return ok


# Doubles hold every integer below 2^53 and skip some beyond it, and sums of larger int64
# counts wrap around: count families refuse larger counts rather than miscount them.
MAX_EXACT_COUNT = 2**53


class Family(ABC):
    """A parametric family. Subclasses declare ``params`` and implement the maths."""

    name: ClassVar[str]
    parameterization: ClassVar[str] = ""
    support: ClassVar[str] = ""
    discrete: ClassVar[bool] = False
    multivariate: ClassVar[bool] = False  # observations are rows of x, not entries
    min_n: ClassVar[int] = 1
    # Where standard errors come from: "observed" information (the default), "expected"
    # (the log-likelihood is not twice differentiable at the MLE, e.g. laplace), or
    # "none" (the support depends on the parameters, e.g. uniform).
    se_source: ClassVar[str] = "observed"
    irregular_note: ClassVar[str] = ""

    # ---- what the family is -------------------------------------------------------------
    @property
    @abstractmethod
    def params(self) -> tuple[Param, ...]:
        """Ordered parameters, each with its constraint."""

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.params]

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def options(self) -> dict[str, Any]:
        """Fixed, non-estimated settings (binomial trials, categorical labels)."""
        return {}

    def for_data(self, values: np.ndarray, labels: list[str] | None = None) -> Family:
        """A family completed from the data where the config left something open
        (categorical labels, the dimension of a multivariate family). ``labels`` name the
        data's columns, when they have names."""
        return self

    def for_truth(self, truth: Mapping[str, Any]) -> Family:
        """A family completed from the true parameters (categorical: K from len(p))."""
        return self

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"

    # ---- data ---------------------------------------------------------------------------
    def check_shape(self, values: Any) -> None:
        """A table of several columns is for multivariate families only."""
        shape = np.shape(values)
        if not self.multivariate and len(shape) != 1:
            raise DataError(
                f"the data have shape {shape}; {self.name} is univariate and needs one "
                "column (data.column=NAME), or choose model=mvn for several"
            )

    def validate(
        self, values: Any, check_finite: bool = True, check_support: bool = True
    ) -> np.ndarray:
        """Check raw values against the support; return them as the array the maths uses
        (integer arrays stay integers for count families).

        The check is a few reductions (min, max) over the data; only when one fails are
        the values scanned to name the first offender and its position (``DataError``).
        ``check_finite=False`` leaves NaN and infinities on an unbounded side to be caught
        from the sufficient statistics, and ``check_support=False`` values outside the
        support where the statistics reveal them (``logs_reveal_support``): ``fit`` does
        both, to save passes over the data, and checks the statistics.
        """
        x = as_numeric_array(values, keep_integers=self.interval.integer)
        if x.size == 0:
            return x
        # Integer counts: their extremes serve the support check and the overflow check.
        extremes = (x.min(), x.max()) if x.dtype.kind in "iu" else None
        support_ok = not check_support or self.interval.holds(x, extremes)
        if support_ok and (not check_finite or _all_finite(x)):
            return _summable(x, extremes)
        return self._locate_bad_value(x)

    def _locate_bad_value(self, x: np.ndarray) -> np.ndarray:
        """Scan for the first value that is not finite or not in the support; raise."""
        bad = ~np.isfinite(x) if x.dtype.kind == "f" else np.zeros(x.shape, dtype=bool)
        if bad.any():
            i, value = _first(bad, x)
            hint = (
                "set data.dropna=true to drop missing values"
                if np.isnan(value)
                else "infinite values cannot be fitted: remove or cap them"
            )
            raise DataError(
                f"value {value} is missing or infinite; the data must be finite numbers ({hint})",
                index=i,
                value=value,
            )
        if self.interval.integer:
            bad = np.abs(x) >= MAX_EXACT_COUNT
            if bad.any():
                i, value = _first(bad, x)
                raise DataError(
                    f"value {_fmt(value)} is too large to count exactly: {self.name} counts "
                    f"must be below 2^53 = {MAX_EXACT_COUNT:,} (beyond it doubles skip "
                    "integers and sums wrap around); rescale the data or fit a continuous "
                    "family",
                    index=i,
                    value=value,
                )
        bad = ~self.in_support(x)
        if bad.any():
            i, value = _first(bad, x)
            raise DataError(
                f"value {_fmt(value)} is outside the support of {self.name}: "
                f"expected {self.support}",
                index=i,
                value=value,
            )
        return _summable(x)

    interval: ClassVar[Interval] = Interval()  # the real line unless a family says otherwise
    # True where reduce() takes logs that turn any value outside the support into a
    # non-finite statistic (log of x <= 0): fit() then skips the separate support pass.
    logs_reveal_support: ClassVar[bool] = False

    def in_support(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask: which finite values the family can produce."""
        return self.interval.mask(x)

    def sample_size(self, x: np.ndarray) -> int:
        """Observations in ``x``: along the last axis (rows for multivariate families)."""
        return int(x.shape[-1])

    @abstractmethod
    def reduce(self, x: np.ndarray) -> Stats:
        """Sufficient statistics along the last axis (always including ``n``)."""

    def merge(self, a: Stats, b: Stats) -> Stats | None:
        """The statistics of two samples together, from each one's ``reduce`` (1-D data):
        ``merge(reduce(x1), reduce(x2)) == reduce(concat([x1, x2]))`` up to rounding. None
        where the statistics do not merge (a family that keeps raw values or a median):
        chunked data are then fitted by one pass per likelihood evaluation."""
        return None

    def sample_stats(
        self, theta: Theta, size: int, replicates: int, rng: np.random.Generator
    ) -> Stats | None:
        """Sufficient statistics of ``replicates`` samples of ``size``, drawn from their own
        exact sampling distribution (O(1) per replicate instead of O(size)); None where
        that distribution is not simple. Terms of the log-likelihood that do not depend on
        the parameters are left at 0: estimates, scores and Hessians do not use them."""
        return None

    def prefix_stats(self, x: np.ndarray, ends: np.ndarray) -> Stats | None:
        """Statistics of the prefixes ``x[:k]`` for each ``k`` in ``ends``, in one pass
        (cumulative sums), as a batch; None where the statistics are not additive."""
        return None

    # ---- likelihood ---------------------------------------------------------------------
    @abstractmethod
    def loglik(self, stats: Stats, theta: Theta) -> Any:
        """Log-likelihood of the reduced data, built on ``scipy.special``."""

    def score(self, stats: Stats, theta: Theta) -> Theta | None:
        """Gradient of the log-likelihood in the natural parameters, or None if unknown."""
        return None

    @property
    def has_score(self) -> bool:
        return type(self).score is not Family.score

    def hessian(self, stats: Stats, theta: Theta) -> np.ndarray | None:
        """Second derivatives of the log-likelihood in the natural (scalar) parameters, as a
        (..., d, d) array in ``params`` order; None where not written out."""
        return None

    @property
    def has_hessian(self) -> bool:
        return type(self).hessian is not Family.hessian

    def closed_form(self, stats: Stats) -> Theta | None:
        """The MLE solved from the score equations, where they have a closed form."""
        return None

    @property
    def has_closed_form(self) -> bool:
        return type(self).closed_form is not Family.closed_form

    def degenerate(self, stats: Stats, free: set[str]) -> str | None:
        """Why the MLE does not exist for these data (e.g. no spread), or None.

        ``free`` names the parameters being estimated: holding the one that runs off
        (gaussian ``sigma``) makes the problem well posed again.
        """
        return None

    def profile_mle(self, stats: Stats, free: set[str]) -> Theta | None:
        """The MLE by a family-specific iteration (a profile likelihood in fewer
        parameters), where one is cheaper than the generic optimizers; or None."""
        return None

    def maximize(self, problem: Any) -> Any:
        """The family's own complete search for ``optimizer=auto`` (an ``Outcome``:
        several starts, integer parameters, a threshold profile); families without one
        leave it to the generic stages (``has_own_search``)."""
        raise NotImplementedError

    @property
    def has_own_search(self) -> bool:
        return type(self).maximize is not Family.maximize

    @property
    def batch_by_differences(self) -> bool:
        """True if a batch of samples can be fitted with one batched Newton climb whose
        derivatives are central differences of the batched log-likelihood (families with
        no score: scipy's by name, your own density); rows it may get wrong are then
        fitted again with ``needs_own_search``'s say."""
        return False

    def needs_own_search(self, stats: Stats, theta: Theta) -> np.ndarray | bool:
        """Rows of a batch fit the family's own search must look at again (a threshold
        near min(x), a shape at the edge of its domain); False: none."""
        return False

    def without_curvature(self, stats: Stats) -> dict[str, str]:
        """Parameters whose observed information does not exist at the MLE (a likelihood
        piecewise linear in them), each with why: no Wald SE for them, and the others'
        SEs hold them at their estimates."""
        return {}

    def integer_params(self) -> list[str]:
        """Parameters that take integer values only: only a family's own search can
        estimate them (binom ``n``); other optimizers need them held."""
        return []

    def default_truth(self) -> Theta | None:
        """True parameters for synthetic data when the config gives none, or None."""
        return None

    def check_estimate(
        self, theta: Theta, free: set[str], stats: Stats | None = None
    ) -> str | None:
        """Why an optimizer's stopping point is not an MLE (a parameter running off to
        infinity, e.g. student_t df in the Gaussian limit; a spike of unbounded likelihood
        at a data point, which needs the data's ``stats`` to see), or None."""
        return None

    def initial(self, stats: Stats) -> Theta:
        """A data-driven starting point for numerical optimizers (method of moments)."""
        start = self.closed_form(stats)
        if start is None:
            raise NotImplementedError(f"{self.name} must define initial()")
        return start

    def posterior(self, stats: Stats, prior: Mapping[str, Any], fixed: Theta) -> Any:
        """The conjugate posterior (``runner.stats.priors.Posterior``) for MAP, or None if the
        family has no conjugate prior here."""
        return None

    def em(self, stats: Stats) -> Any:
        """An EM updater bound to the data (mixtures), or None."""
        return None

    def fisher_information(self, theta: Theta) -> np.ndarray | None:
        """Expected information per observation (the Cramer-Rao bound's inverse), if known."""
        return None

    # ---- densities and sampling ---------------------------------------------------------
    def scipy_dist(self, theta: Theta):
        """The frozen ``scipy.stats`` distribution with these parameters."""
        raise NotImplementedError

    def logpdf(self, x: np.ndarray, theta: Theta) -> np.ndarray:
        """Log density (or mass) of each value, from ``scipy.stats``."""
        dist = self.scipy_dist(theta)
        return dist.logpmf(x) if self.discrete else dist.logpdf(x)

    def cdf(self, x: np.ndarray, theta: Theta) -> np.ndarray:
        """The distribution function, from ``scipy.stats``."""
        return self.scipy_dist(theta).cdf(x)

    def sample(self, theta: Theta, size: int, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self.scipy_dist(theta).rvs(size=size, random_state=rng))

    # ---- parameters ---------------------------------------------------------------------
    def check_theta(self, theta: Mapping[str, Any], where: str = "theta") -> Theta:
        """Validate a full parameter dict (e.g. ``model.truth``); return floats/arrays."""
        missing = [n for n in self.param_names if n not in theta]
        if missing:
            raise ConfigError(
                f"{where} is missing {missing}; {self.name} needs {self.param_names} "
                f"({self.parameterization})"
            )
        return self.check_theta_subset(theta, where)

    def check_theta_subset(self, theta: Mapping[str, Any], where: str = "theta") -> Theta:
        """Validate some of the parameters (e.g. ``model.fixed``), in the family's order."""
        extra = [k for k in theta if k not in self.param_names]
        if extra:
            raise ConfigError(
                f"{where} has unknown parameter(s) {extra}; {self.name} has "
                f"{self.param_names} ({self.parameterization})"
            )
        return {
            p.name: _check_value(p, theta[p.name], where) for p in self.params if p.name in theta
        }


def _check_value(p: Param, raw: Any, where: str) -> Any:
    try:
        value = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}.{p.name} = {raw!r}: expected {p.constraint.description}"
        ) from None
    expected_shape = p.value_shape
    if value.shape != expected_shape:
        what = {0: "a single number", 1: f"a list of {p.size} values"}.get(
            len(expected_shape), f"a {' x '.join(map(str, expected_shape))} matrix"
        )
        raise ConfigError(f"{where}.{p.name} = {raw!r}: expected {what}")
    if not p.constraint.contains(value):
        raise ConfigError(f"{where}.{p.name} = {raw!r}: expected {p.constraint.description}")
    return value if p.is_vector else float(value)


CHUNK = 1 << 20  # values per piece when a transform of the data must be summed


def chunked_sums(transform, x: np.ndarray, squares: bool = False) -> tuple[Any, Any]:
    """(sum, sum of squares or None) of ``transform(x)`` along the last axis, computed
    piece by piece for long 1-D data, so no temporary as large as the data is made."""
    if x.ndim == 2 and x.size > CHUNK:  # a batch: blocks of rows
        rows = max(1, CHUNK // x.shape[1])
        parts = [chunked_sums(transform, x[i : i + rows], squares) for i in range(0, len(x), rows)]
        total = np.concatenate([p[0] for p in parts])
        return total, np.concatenate([p[1] for p in parts]) if squares else None
    if x.ndim != 1 or x.size <= CHUNK:
        t = transform(x)
        return t.sum(axis=-1), np.einsum("...i,...i->...", t, t) if squares else None
    total, square_total = 0.0, 0.0 if squares else None
    for start in range(0, x.size, CHUNK):
        t = transform(x[start : start + CHUNK])
        total += t.sum()
        if squares:
            square_total += float(np.dot(t, t))
    return total, square_total


def cumulative(values: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sums of ``values[:k]`` for each ``k`` in ``ends`` (one pass)."""
    return np.cumsum(values, axis=0)[np.asarray(ends) - 1]


def matrix(rows: list[list[Any]]) -> np.ndarray:
    """A (..., d, d) array from a d x d nested list of (batched) entries."""
    entries = np.broadcast_arrays(*[np.asarray(v, dtype=float) for row in rows for v in row])
    stacked = np.stack(entries, axis=-1)
    return stacked.reshape(*stacked.shape[:-1], len(rows), len(rows))


def as_numeric_array(values: Any, keep_integers: bool = False) -> np.ndarray:
    """Values as float64, or kept as integers for count families (no copy, exact sums)."""
    arr = np.asarray(values)
    if keep_integers and arr.dtype.kind in "iu":
        return arr
    if keep_integers and arr.dtype.kind == "b":
        return arr.astype(np.int64)
    return as_float_array(arr)


def _all_finite(x: np.ndarray) -> bool:
    """No NaN or infinity: one sum (finite unless a value is not, or it overflows)."""
    if x.dtype.kind != "f":
        return True
    with np.errstate(over="ignore"):  # an overflowing sum sends the values to the scan
        return bool(np.isfinite(np.sum(x)))


def as_float_array(values: Any) -> np.ndarray:
    """Values as a float array; a non-numeric entry raises ``DataError`` naming it."""
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return arr.astype(float, copy=False)
    try:
        return arr.astype(float)
    except (TypeError, ValueError):
        pass
    flat = arr.ravel()
    for i, v in enumerate(flat):  # error path only: locate the first offender
        try:
            float(v)
        except (TypeError, ValueError):
            row = int(np.unravel_index(i, arr.shape)[0])
            shown = v.item() if hasattr(v, "item") else v
            raise DataError(f"value {shown!r} is not a number", index=row, value=shown) from None
    raise DataError("values could not be read as numbers")  # pragma: no cover


def _first(bad: np.ndarray, x: np.ndarray) -> tuple[int, float]:
    """The row (first-axis position) and value of the first flagged entry."""
    flat = int(np.argmax(bad.ravel()))
    return int(np.unravel_index(flat, x.shape)[0]), x.ravel()[flat]


def _fmt(v: Any) -> str:
    """A value as the user wrote it: integers as integers (exactly, however large, when they
    arrived as integers), other numbers as Python prints them (1e+308, not 309 digits)."""
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    number = float(v)
    return str(int(number)) if number.is_integer() and abs(number) < 1e16 else repr(number)


def _summable(x: np.ndarray, extremes: tuple[Any, Any] | None = None) -> np.ndarray:
    """Counts whose sum could pass int64 (each is below 2^53, checked) as float64: every
    value stays exact and the sums round instead of wrapping around."""
    if x.dtype.kind not in "iu" or x.size <= 1024:  # 1024 * 2^53 = 2^63: no overflow
        return x
    lo, hi = (x.min(), x.max()) if extremes is None else extremes
    if x.dtype == np.uint64 or max(-int(lo), int(hi)) * x.size >= 2**63:
        return x.astype(np.float64)
    return x

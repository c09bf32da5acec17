"""Fits of data that arrive in chunks: files larger than memory, partitions on a cluster.

The log-likelihood of IID data is a sum over observations, so it is a sum over any
split of them into chunks. Two ways follow from that:

- a family whose statistics merge (``Family.merge``: sums and ``n``, Gaussian moments,
  extremes, tallies) reduces every chunk once and merges the results: **one pass**, after
  which the fit costs what an in-memory fit of the same statistics costs;
- any other family (student_t keeps its values) gets the log-likelihood, score and
  Hessian at a point as sums over chunks of the family's own ones: **one pass per point
  the optimizer asks about** (the three are computed together in that pass).

Where the chunks come from is not this module's business: a ``Chunks`` maps a function
over validated chunks and folds the results in order. ``LocalChunks`` does so in this
process from a generator of chunks (``runner.io.parquet_data`` reads Parquet row groups
and CSV pieces), ``runner.io.dask_data`` on a Dask cluster. ``chunked(family, data)``
gives the family and the data to hand to ``estimate.fit_validated``.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats.families.base import Family, Stats, Theta

T = TypeVar("T")

# Values of a non-mergeable family kept for its starting point (median, MAD, kurtosis):
# a strided subsample of every chunk, thinned to stay below this.
START_SAMPLE = 100_000
START_PER_CHUNK = 4096


class Chunks(ABC):
    """Data as chunks along the observations: what ``chunked`` fits."""

    n: int | None = None  # observations, known after the first pass

    @abstractmethod
    def map_reduce(self, fn: Callable[[np.ndarray], T], combine: Callable[[T, T], T]) -> T:
        """``fn`` of every chunk (validated, 1-D), folded with ``combine`` in chunk order."""

    def describe(self) -> dict[str, Any]:
        """Where the chunks come from, for the results file."""
        return {}

    def fingerprint(self) -> str:
        """A short hash of the values (a pass): of the per-chunk hashes, in order."""
        import hashlib

        def digest(chunk):
            return [hashlib.sha1(np.ascontiguousarray(chunk).tobytes()).hexdigest()]

        parts = self.map_reduce(digest, lambda a, b: a + b)
        return hashlib.sha1("".join(parts).encode()).hexdigest()[:16]

    # fit_validated and its error paths look at these of the data they are given
    @property
    def shape(self) -> tuple[int]:
        return (self.n or 0,)

    @property
    def ndim(self) -> int:
        return 1

    @property
    def size(self) -> int:
        return self.n or 0

    dtype = np.dtype(float)

    def __array__(self, dtype=None, copy=None):
        raise DataError(
            "this step needs every value in memory, and the data are read in chunks: "
            "it is not available for chunked data (data=parquet, data.chunk_rows, "
            "data.engine=dask)"
        )


class LocalChunks(Chunks):
    """Chunks read in this process: ``passes()`` starts a new pass over them."""

    def __init__(self, passes: Callable[[], Iterable[np.ndarray]], about: dict | None = None):
        self.passes = passes
        self.about = dict(about or {})
        self.n = None

    def map_reduce(self, fn, combine):
        total: Any = None
        started = False
        for chunk in self.passes():
            if chunk.size == 0:
                continue
            value = fn(chunk)
            total = value if not started else combine(total, value)
            started = True
        if not started:
            raise DataError("there are no observations to fit: every chunk is empty")
        return total

    def describe(self):
        return dict(self.about)

    def fingerprint(self) -> str:
        """The hash ``runner.io.data.fingerprint`` gives the same values in memory (SHA-1
        reads its input as a stream, so chunk boundaries do not change it)."""
        import hashlib

        sha = hashlib.sha1()
        for chunk in self.passes():
            sha.update(memoryview(np.ascontiguousarray(chunk)).cast("B"))
        return sha.hexdigest()[:16]


def reduce_chunks(family: Family, data: Chunks) -> Stats | None:
    """The family's statistics of all the data in one pass, merged chunk by chunk; None
    if the family's statistics do not merge (``Family.merge``)."""
    if not mergeable(family):
        return None

    def combine(a, b):
        merged = family.merge(a, b)
        if merged is None:  # pragma: no cover - mergeable() said it would
            raise ConfigError(f"{family.name}: statistics stopped merging")
        return merged

    with np.errstate(all="ignore"), one_blas_thread():  # bad values: named by the source
        stats = data.map_reduce(family.reduce, combine)
    data.n = int(stats["n"])
    return stats


def one_blas_thread():
    """BLAS on one thread while chunks are reduced (threadpoolctl, where installed): a
    chunk's dot product is too short to share, and on a busy 2-core machine OpenBLAS's
    threads made ``np.dot`` of 2^20 values 40x slower (15 ms instead of 0.35 ms)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with the bigdata extra
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def mergeable(family: Family) -> bool:
    """True if the family's statistics merge: it implements ``Family.merge`` (families
    that keep raw values or a median do not)."""
    return type(family).merge is not Family.merge


def chunked(family: Family, data: Chunks) -> tuple[Family, Chunks]:
    """The family and data to pass to ``fit_validated``: a family that reduces ``data``
    in one merged pass where its statistics merge, else one whose likelihood, score and
    Hessian are sums over a pass each. The first pass happens here (it also validates)."""
    if family.multivariate:
        raise ConfigError(f"{family.name} is multivariate: chunked data hold one column")
    cls = _wrapper_class(type(family))
    wrapped = object.__new__(cls)
    wrapped.__dict__.update(family.__dict__)
    wrapped._base = family
    wrapped._stats = reduce_chunks(family, data)
    if wrapped._stats is None:
        _refuse_search(family)
        wrapped._stats = _first_pass(family, data)
    return wrapped, data


def _refuse_search(family: Family) -> None:
    """Families whose estimate needs every value at once (a median, a search over the data)
    and whose statistics do not merge cannot be fitted by passes yet."""
    if family.has_own_search or family.has_closed_form or type(family).em is not Family.em:
        raise ConfigError(
            f"{family.name}: its estimate needs every value at once (a closed form, EM or "
            "a search of its own over the raw values) and its statistics do not merge, so it "
            "cannot be fitted in chunks yet; read the data into memory (data=npy or "
            "data=csv without data.chunk_rows), or fit a family with sufficient statistics"
        )


def _first_pass(family: Family, data: Chunks) -> Stats:
    """What a non-mergeable family's fit needs beyond the passes: ``n``, the extremes
    (a constant sample is degenerate) and a subsample to start the optimizer from."""

    def summary(chunk: np.ndarray):
        step = max(1, chunk.size // START_PER_CHUNK)
        # a copy: a view would keep the chunk (and the reader's buffer under it) alive
        return chunk.size, chunk.min(), chunk.max(), [chunk[::step].copy()]

    def combine(a, b):
        kept = a[3] + b[3]
        if sum(len(k) for k in kept) > 2 * START_SAMPLE:  # thin: every other value
            kept = [np.concatenate(kept)[::2].copy()]
        return a[0] + b[0], min(a[1], b[1]), max(a[2], b[2]), kept

    n, low, high, kept = data.map_reduce(summary, combine)
    data.n = int(n)
    start = np.concatenate(kept)
    return {"n": int(n), "_data": data, "_low": low, "_high": high, "_start": start}


_WRAPPERS: dict[type, type] = {}


def _wrapper_class(cls: type) -> type:
    if cls not in _WRAPPERS:
        _WRAPPERS[cls] = type(f"Chunked{cls.__name__}", (_ChunkedFamily, cls), {})
    return _WRAPPERS[cls]


class _ChunkedFamily(Family):
    """Mixed in before a family's own class: the family, reading ``Chunks``.

    With merged statistics every method is the family's own. Without, the statistics are
    ``{"n", "_data", ...}`` and the likelihood, score and Hessian are sums over a pass;
    the spike check of ``check_estimate`` (which counts ties among all values) is skipped.
    """

    _base: Family
    _stats: Stats

    @property
    def _passes(self) -> bool:
        return "_data" in self._stats

    def validate(self, values, check_finite=True, check_support=True):
        if isinstance(values, Chunks):
            return values  # each chunk was validated as it was read
        return self._base.validate(values, check_finite, check_support)

    def sample_size(self, x):
        return int(x.n) if isinstance(x, Chunks) else self._base.sample_size(x)

    def reduce(self, x):
        if isinstance(x, Chunks):
            return self._stats
        return self._base.reduce(x)

    def merge(self, a, b):
        return self._base.merge(a, b)

    # ---- likelihood by passes -----------------------------------------------------------
    def _sums(self, stats: Stats, theta: Theta) -> tuple[Any, Any, Any]:
        """(loglik, score, Hessian) at ``theta``: one pass, remembered for that point."""
        key = tuple(np.asarray(theta[name], dtype=float).tobytes() for name in self.param_names)
        cache = stats.setdefault("_cache", {})
        if key in cache:
            return cache[key]
        base = self._base

        def terms(chunk):
            s = base.reduce(chunk)
            score = base.score(s, theta) if base.has_score else None
            hessian = base.hessian(s, theta) if base.has_hessian else None
            return base.loglik(s, theta), score, hessian

        def combine(a, b):
            score = None if a[1] is None else {k: a[1][k] + b[1][k] for k in a[1]}
            hessian = None if a[2] is None else np.asarray(a[2]) + np.asarray(b[2])
            return a[0] + b[0], score, hessian

        with np.errstate(all="ignore"), one_blas_thread():
            result = stats["_data"].map_reduce(terms, combine)
        cache.clear()  # the optimizer moves on: keep one point
        cache[key] = result
        return result

    def loglik(self, stats, theta):
        if "_data" not in stats:
            return self._base.loglik(stats, theta)
        return self._sums(stats, theta)[0]

    def score(self, stats, theta):
        if "_data" not in stats:
            return self._base.score(stats, theta)
        return self._sums(stats, theta)[1]

    def hessian(self, stats, theta):
        if "_data" not in stats:
            return self._base.hessian(stats, theta)
        return self._sums(stats, theta)[2]

    @property
    def has_score(self):
        return self._base.has_score

    @property
    def has_hessian(self):
        return self._base.has_hessian

    @property
    def has_closed_form(self):
        return not self._passes and self._base.has_closed_form

    @property
    def has_own_search(self):
        return not self._passes and self._base.has_own_search

    def closed_form(self, stats):
        return self._base.closed_form(stats) if "_data" not in stats else None

    def profile_mle(self, stats, free):
        return self._base.profile_mle(stats, free) if "_data" not in stats else None

    def em(self, stats):
        return self._base.em(stats) if "_data" not in stats else None

    def posterior(self, stats, prior, fixed):
        if "_data" in stats:
            raise ConfigError(f"estimator=map for {self.name} needs merged statistics; "
                              "its data are read by passes (MLE only)")  # fmt: skip
        return self._base.posterior(stats, prior, fixed)

    def initial(self, stats):
        if "_data" not in stats:
            return self._base.initial(stats)
        return self._base.initial(self._base.reduce(stats["_start"]))

    def degenerate(self, stats, free):
        if "_data" not in stats:
            return self._base.degenerate(stats, free)
        if stats["_low"] == stats["_high"]:  # every value equal: the family says why
            return self._base.degenerate(self._base.reduce(stats["_start"]), free)
        return None

    def check_estimate(self, theta, free, stats=None):
        if stats is not None and "_data" in stats:
            stats = None  # its checks on the raw values need them all in memory
        return self._base.check_estimate(theta, free, stats)

    def without_curvature(self, stats):
        if "_data" in stats:
            return self._base.without_curvature(self._base.reduce(stats["_start"]))
        return self._base.without_curvature(stats)

    def needs_own_search(self, stats, theta):
        return False if "_data" in stats else self._base.needs_own_search(stats, theta)

    def __repr__(self):
        return f"chunked({self._base!r})"


def fit_chunks(family: Family, data: Chunks, **settings: Any):
    """``fit_validated`` of chunked data (settings as there; sandwich SEs and held-out
    data need the values in memory and are refused)."""
    from runner.stats.estimate import fit_validated

    if settings.get("se") == "sandwich":
        raise ConfigError("se=sandwich needs every observation's score at the estimate: not "
                          "available for chunked data yet (use se=observed)")  # fmt: skip
    if settings.get("ci") == "profile":
        raise ConfigError("ci=profile refits the data per grid point: not available for "
                          "chunked data yet (use ci=wald_transformed)")  # fmt: skip
    fam, chunks = chunked(family, data)
    return fit_validated(fam, chunks, **settings)

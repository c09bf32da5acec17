"""Which family fits best: every candidate fitted to the same data, ranked by AIC.

Each candidate is a ``scipy.stats`` distribution fitted by maximum likelihood with all its
parameters free (shapes, ``loc``, ``scale``) unless held, exactly as ``fit("scipy", x,
dist=...)`` fits it, so its log-likelihood is never below scipy's own ``fit``. Beside AIC:
AICc (the small-sample correction), BIC, Akaike weights (the relative support of each
candidate, summing to 1), and the Kolmogorov-Smirnov and Anderson-Darling statistics of
the fitted distribution against the data. The two distances are for orientation only:
their usual p-values assume parameters not estimated from the same data, so none are
given. A candidate that cannot be fitted (no MLE, data outside its support, a failure)
stays in the table with the reason and no rank.

Likelihoods of densities and of probability masses are not comparable, so a ranking holds
either continuous or discrete candidates, not both.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runner.errors import ConfigError, RunnerError
from runner.stats.families.scipy_family import ScipyFamily, catalogue
from runner.stats.result import Fit

# A statistician's first look at continuous data: symmetric, skewed, heavy-tailed,
# lifetimes, extremes, bounded.
COMMON = ("norm", "lognorm", "gamma", "weibull_min", "expon", "gumbel_r", "logistic", "t",
          "cauchy", "uniform")  # fmt: skip
# Counts: Poisson and its overdispersed and heavy-tailed relatives.
COUNTS = ("poisson", "nbinom", "geom", "betabinom", "logser", "zipf", "yulesimon", "dlaplace",
          "planck", "boltzmann")  # fmt: skip
# Left out of ``all`` (still available by name): too slow to rank at n = 10^5.
SLOW = {
    "studentized_range": "its density is a numerical double integral per point",
    "kstwo": "its density is a numerical series per point (the KS statistic's law)",
    "ksone": "its density is a numerical series per point (the KS statistic's law)",
    "kstwobign": "its density is a numerical series per point (the KS statistic's law)",
    "genhyperbolic": "its density needs a Bessel function of a shape-dependent order per "
    "point, and its five parameters take minutes to fit at n = 10^5",
    "vonmises_fisher": "a distribution on the sphere, not of one variable",
}
SETS = {"common": COMMON, "counts": COUNTS}


@dataclass
class Candidate:
    """One family's line in the ranking."""

    dist: str
    fit: Fit | None = None
    error: str | None = None
    seconds: float = 0.0
    aic: float = math.nan
    aicc: float = math.nan
    bic: float = math.nan
    ks: float = math.nan
    ad: float = math.nan
    delta_aic: float = math.nan
    weight: float = math.nan
    rank: int | None = None

    @property
    def fitted(self) -> bool:
        return self.fit is not None

    def row(self) -> dict[str, Any]:
        fit = self.fit
        return {
            "rank": self.rank,
            "dist": self.dist,
            "k": fit.k if fit else None,
            "loglik": fit.loglik if fit else math.nan,
            "aic": self.aic,
            "aicc": self.aicc,
            "bic": self.bic,
            "delta_aic": self.delta_aic,
            "akaike_weight": self.weight,
            "ks": self.ks,
            "ad": self.ad,
            "params": _params_text(fit) if fit else "",
            "converged": fit.converged if fit else None,
            "notes": "; ".join(fit.notes) if fit else "",
            "error": self.error or "",
            "seconds": round(self.seconds, 4),
        }


@dataclass
class Ranking:
    """Candidates best first (by AIC); the ones that failed last, in the order given."""

    n: int
    candidates: list[Candidate]
    fixed: dict[str, float] = field(default_factory=dict)

    @property
    def fitted(self) -> list[Candidate]:
        return [c for c in self.candidates if c.fitted]

    @property
    def failed(self) -> list[Candidate]:
        return [c for c in self.candidates if not c.fitted]

    @property
    def best(self) -> Candidate | None:
        fitted = self.fitted
        return fitted[0] if fitted else None

    def table(self):
        """The ranking as a pandas DataFrame, one row per candidate (``ranking.csv``)."""
        import pandas as pd

        return pd.DataFrame([c.row() for c in self.candidates])

    def summary(self, rows: int = 12) -> str:
        """A table to read on a terminal: the best ``rows`` and every failure."""
        lines = [f"ranking of {len(self.candidates)} candidates by AIC, n = {self.n:,}"]
        head = f"{'':>3} {'dist':<16} {'k':>2} {'loglik':>14} {'dAIC':>10} {'weight':>7} " \
               f"{'KS':>7} {'AD':>9}"  # fmt: skip
        lines.append(head)
        for c in self.fitted[:rows]:
            assert c.fit is not None
            lines.append(
                f"{c.rank:>3} {c.dist:<16} {c.fit.k:>2} {c.fit.loglik:>14.6g} "
                f"{c.delta_aic:>10.4g} {c.weight:>7.3f} {_num(c.ks, 7)} {_num(c.ad, 9)}"
            )
        hidden = len(self.fitted) - rows
        if hidden > 0:
            lines.append(f"    ... {hidden} more in ranking.csv")
        for c in self.failed:
            lines.append(f"  - {c.dist}: not fitted: {c.error}")
        best = self.best
        if best is not None and best.fit is not None:
            lines.append(f"best: {best.dist} ({_params_text(best.fit)})")
        lines.append("KS and AD compare the fitted distribution with the data; their "
                     "p-values would assume parameters not estimated from these data, so "
                     "none are given.")  # fmt: skip
        return "\n".join(lines)


def candidate_names(spec: str | Sequence[str]) -> list[str]:
    """``common``, ``counts``, ``all`` (every continuous scipy distribution but ``SLOW``),
    ``all_discrete``, or a list of scipy.stats names."""
    found = catalogue()
    if isinstance(spec, str):
        if spec in SETS:
            return list(SETS[spec])
        if spec in ("all", "all_discrete"):
            from scipy import stats

            kind = stats.rv_continuous if spec == "all" else stats.rv_discrete
            return sorted(n for n, d in found.items() if isinstance(d, kind) and n not in SLOW)
        spec = [spec]
    names = [str(s) for s in spec]
    if not names:
        raise ConfigError("study.candidates is empty: give common, all, counts or a list")
    seen = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"study.candidates lists {name!r} twice")
        seen.add(name)
        ScipyFamily(name)  # an unknown name says what is close
    return names


def rank(
    x: np.ndarray,
    candidates: str | Sequence[str] = "common",
    fixed: dict[str, float] | None = None,
    progress: Callable[[str], Any] | None = None,
    jobs: int | None = None,
) -> Ranking:
    """Fit every candidate to ``x``, rank by AIC. ``fixed`` holds a parameter in every
    candidate that has it (``{"loc": 0}``: two-parameter lifetimes). ``jobs`` processes
    fit candidates side by side (None: every core, when the work is worth a process)."""
    names = candidate_names(candidates)
    _refuse_mixed(names)
    x = np.asarray(x)
    fixed = dict(fixed or {})
    known = {p for n in names for p in ScipyFamily(n).param_names}
    unused = sorted(set(fixed) - known)
    if unused:
        raise ConfigError(
            f"study.fixed.{unused[0]}: no candidate has a parameter {unused[0]!r} (they have "
            f"{', '.join(sorted(known))}); it would be ignored"
        )
    order = np.sort(x[np.isfinite(x)]) if x.ndim == 1 and x.dtype.kind in "fiu" else None
    workers = _workers(jobs, len(names), x.size)
    if workers == 1:
        out = []
        for name in names:
            out.append(_candidate(name, x, order, fixed))
            if progress is not None:
                progress(name)
    else:
        out = _in_processes(names, x, order, fixed, workers, progress)
    n = int(x.shape[0])
    _criteria(out, n)
    fitted = sorted((c for c in out if c.fitted), key=lambda c: (c.aic, c.dist))
    for i, c in enumerate(fitted, 1):
        c.rank = i
    return Ranking(n, fitted + [c for c in out if not c.fitted], fixed)


PARALLEL_WORK = 200_000  # candidates x observations below which one process is quicker


def _workers(jobs: int | None, candidates: int, n: int) -> int:
    if jobs is not None:
        if jobs < 1:
            raise ConfigError(f"study.jobs = {jobs}: expected at least 1 (or null: every core)")
        return min(jobs, candidates)
    if candidates < 3 or candidates * n < PARALLEL_WORK:
        return 1
    import os

    return max(1, min(os.cpu_count() or 1, candidates))


def _candidate(name: str, x: np.ndarray, order: np.ndarray | None,
               fixed: dict[str, float]) -> Candidate:  # fmt: skip
    """One candidate fitted, its distances measured; a failure becomes its reason."""
    from runner.stats.estimate import fit as fit_one

    started = time.perf_counter()
    held = {k: v for k, v in fixed.items() if k in ScipyFamily(name).param_names}
    candidate = Candidate(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            candidate.fit = fit_one("scipy", x, dist=name, fixed=held or None)
    except RunnerError as exc:
        candidate.error = str(exc)
    except Exception as exc:  # a candidate's failure is a line of the table, not the end
        candidate.error = f"{type(exc).__name__}: {exc}"
    if candidate.fit is not None:
        if not math.isfinite(candidate.fit.loglik):
            candidate.error, candidate.fit = "the log-likelihood is not finite", None
        elif order is not None and not ScipyFamily(name).discrete:
            candidate.ks, candidate.ad = distances(name, candidate.fit, order)
    candidate.seconds = time.perf_counter() - started
    return candidate


_shared: dict[str, Any] = {}  # a worker process's copy of the data (sent once, not per task)


def _share(x: np.ndarray, order: np.ndarray | None, fixed: dict[str, float]) -> None:
    _shared.update(x=x, order=order, fixed=fixed)


def _candidate_in_worker(name: str) -> Candidate:
    return _candidate(name, _shared["x"], _shared["order"], _shared["fixed"])


def _in_processes(names, x, order, fixed, workers: int, progress) -> list[Candidate]:
    """The candidates over ``workers`` processes, the slowest-looking first so no core
    idles at the end; results in the order given."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    done: dict[str, Candidate] = {}
    pending = _by_cost(names)
    alone = False  # after a crash, one candidate per pool: only the culprit is marked
    while pending:
        crashed: list[str] = []
        size = 1 if alone else workers
        batch = pending[:1] if alone else pending
        with ProcessPoolExecutor(size, mp_context=context, initializer=_share,
                                 initargs=(x, order, fixed)) as pool:  # fmt: skip
            futures = {pool.submit(_candidate_in_worker, n): n for n in batch}
            try:
                for future in as_completed(futures):
                    name = futures[future]
                    try:
                        done[name] = future.result()
                    except BrokenProcessPool:  # killed (out of memory?) or crashed
                        crashed.append(name)
                        continue
                    if progress is not None:
                        progress(name)
            except BaseException:  # Ctrl-C: stop the workers now, not when they finish
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.terminate()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        if alone and crashed:
            done[crashed[0]] = Candidate(crashed[0], error="its fitting process ended (killed, "
                                         "out of memory, or a crash in scipy)")  # fmt: skip
            if progress is not None:
                progress(crashed[0])
        pending = [n for n in pending if n not in done]
        alone = alone or bool(crashed)
    return [done[n] for n in names]


def _by_cost(names: list[str]) -> list[str]:
    """More parameters first: they take longest."""
    return sorted(names, key=lambda n: -len(ScipyFamily(n).param_names))


def _refuse_mixed(names: list[str]) -> None:
    kinds = {ScipyFamily(n).discrete for n in names}
    if len(kinds) > 1:
        discrete = [n for n in names if ScipyFamily(n).discrete]
        raise ConfigError(
            f"study.candidates mixes discrete ({', '.join(discrete)}) and continuous "
            "distributions: a probability mass and a density are not comparable by "
            "likelihood; rank one kind at a time"
        )


def _criteria(candidates: list[Candidate], n: int) -> None:
    """AIC, AICc, BIC, and Akaike weights over the fitted candidates."""
    for c in candidates:
        if c.fit is None:
            continue
        k, ll = c.fit.k, c.fit.loglik
        c.aic = 2 * k - 2 * ll
        c.aicc = c.aic + 2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf
        c.bic = k * math.log(n) - 2 * ll
    fitted = [c for c in candidates if c.fit is not None]
    if not fitted:
        return
    best = min(c.aic for c in fitted)
    raw = [math.exp(-(c.aic - best) / 2) for c in fitted]
    total = sum(raw)
    for c, w in zip(fitted, raw, strict=True):
        c.delta_aic = c.aic - best
        c.weight = w / total


def distances(name: str, fit: Fit, order: np.ndarray) -> tuple[float, float]:
    """Kolmogorov-Smirnov ``D`` and Anderson-Darling ``A^2`` of the fitted distribution
    against the sorted data (one cdf evaluation)."""
    family = ScipyFamily(name)
    with np.errstate(all="ignore"):
        cdf = np.clip(family.scipy_dist(fit.params).cdf(order), 0.0, 1.0)
    n = order.size
    i = np.arange(1, n + 1)
    ks = float(max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n)))
    with np.errstate(all="ignore"):
        terms = (2 * i - 1) * (np.log(cdf) + np.log1p(-cdf[::-1]))
    ad = float(-n - np.mean(terms))
    return ks, (ad if math.isfinite(ad) else math.inf)


def _params_text(fit: Fit) -> str:
    return ", ".join(f"{k}={float(v):.6g}" for k, v in fit.params.items())


def _num(value: float, width: int) -> str:
    """A number; ``inf`` (a fitted cdf of 0 or 1 at a data point: AD is infinite), or ``-``
    where the statistic does not apply (discrete data)."""
    return f"{value:>{width}.4g}" if not math.isnan(value) else f"{'-':>{width}}"

"""Any ``scipy.stats`` distribution as a family: ``fit("scipy", x, dist="gumbel_r")``.

Parameters are scipy's own, in scipy's parameterization: the distribution's shape names
(``dist.shapes``), then ``loc`` and, for continuous distributions, ``scale``. Shape
domains come from scipy (``_shape_info``), so constraints are the same parameter spaces
as the built-in families use. The data are kept whole: one evaluation of the
log-likelihood is one vectorised ``logpdf`` sum, and derivatives are numerical (central
differences in unconstrained coordinates), so the standard errors are still those of the
observed information.

Where ``loc`` is a threshold (the support starts at ``loc``: weibull_min, gamma, lognorm,
expon, ...), ``loc`` is kept below the smallest observation, and the fit looks at what
the likelihood does as ``loc`` approaches it. For shapes that put infinite density at the
threshold it grows without bound there: then either an interior local maximum is found
by profiling over the threshold and reported with a note, or the fit says that no MLE
exists, instead of returning a degenerate spike. Integer shapes (binom ``n``) and a
discrete ``loc`` are searched over the integers, the other parameters refitted at each.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any

import numpy as np

from runner.errors import ConfigError
from runner.stats.constraints import Bounded, Param, interval, positive, real
from runner.stats.families.base import Interval, Stats, Theta
from runner.stats.families.pointwise import PointwiseFamily

# Distributions scipy ships but cannot fit as a family here, with the reason.
UNSUPPORTED = {
    "levy_stable": "its density is a numerical integral per point (seconds per evaluation)",
    "poisson_binom": "its parameter is a vector of per-trial probabilities of any length, "
    "not a fixed set of scalar shapes",
    "studentized_range": "its density is a numerical double integral (about 2 s per "
    "500 values)",
    "ksone": "its density (Kolmogorov-Smirnov one-sided, integer n) costs about 0.25 s per "
    "500 values, and every step of the search over n refits the rest: many minutes a fit",
    "kstwo": "its density (Kolmogorov-Smirnov two-sided, integer n) costs about 0.15 s per "
    "500 values, and every step of the search over n refits the rest: many minutes a fit",
    "rv_histogram": "a histogram-based distribution built from data, not a parametric family",
    "rv_discrete": "the generic base class, not a distribution",
    "rv_continuous": "the generic base class, not a distribution",
}
# Shape domains narrower than scipy's, where scipy fails outside them: its BiasedUrn code
# (the noncentral hypergeometrics) aborts the interpreter with an uncaught C++ exception
# at odds near 1e200, so odds stay within [1e-100, 1e100], far beyond any data's reach.
SAFE_DOMAINS = {
    ("nchypergeom_fisher", "odds"): (1e-100, 1e100),
    ("nchypergeom_wallenius", "odds"): (1e-100, 1e100),
}
# Densities periodic over the whole line (vonmises: period 2 pi scale): with scale free,
# every value can be wrapped next to loc as scale -> 0, so the likelihood has no maximum.
PERIODIC = {"vonmises"}
CLOSED_FORMS = ("norm", "expon", "uniform", "laplace")  # MLEs with all parameters free
MASS_CEILING = 10.0  # the density's mass over the data's gaps beyond this: scipy's numerics
SPIKE = 1e-9  # a threshold this close to min(x) (relative to the spread) is at the edge


@functools.cache
def catalogue() -> dict[str, Any]:
    """Every distribution object scipy.stats ships, by name (continuous and discrete)."""
    from scipy import stats

    found = {}
    for name in dir(stats):
        obj = getattr(stats, name)
        if isinstance(obj, (stats.rv_continuous, stats.rv_discrete)) and name not in UNSUPPORTED:
            found[name] = obj
    return found


@functools.cache
def example_shapes() -> dict[str, tuple[float, ...]]:
    """scipy's own example shape values per distribution (its test suite's), for a default
    truth when synthetic data are asked for without one."""
    from scipy.stats import _distr_params

    return {name: tuple(shapes) for name, shapes in
            [*_distr_params.distcont, *_distr_params.distdiscrete]
            if isinstance(name, str)}  # fmt: skip


def _dist(name: Any):
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"model.dist = {name!r}: expected the name of a scipy.stats distribution "
            "(gumbel_r, weibull_min, genextreme, nbinom, ...)"
        )
    found = catalogue()
    if name in found:
        return found[name]
    if name in UNSUPPORTED:
        raise ConfigError(f"scipy.stats.{name} cannot be fitted here: {UNSUPPORTED[name]}")
    close = difflib.get_close_matches(name, list(found), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(
        f"model.dist = {name!r} is not a scipy.stats distribution{hint} "
        f"({len(found)} are available: python -c \"from runner.stats.families.scipy_family "
        "import catalogue; print(sorted(catalogue()))\")"
    )


class ScipyFamily(PointwiseFamily):
    """``scipy.stats.<dist>`` with every parameter free unless held (``fixed``)."""

    name = "scipy"
    min_n = 2

    def __init__(self, dist: str, bounds: tuple[float, float] | None = None):
        self.dist = _dist(dist)
        self.dist_name = dist
        from scipy import stats

        self.discrete = isinstance(self.dist, stats.rv_discrete)
        self.name = f"scipy.{dist}"  # what results and tables show
        self.support = f"the support of scipy.stats.{dist}"
        self.parameterization = (
            f"scipy.stats.{dist}({', '.join(self._names())}); see scipy's documentation"
        )
        self.interval = Interval(integer=True) if self.discrete else Interval()
        self.bounds = bounds  # (min, max) of the data, once known: for the threshold
        if dist == "uniform":  # both ends of the support move with loc and scale
            self.se_source = "none"
            self.irregular_note = (
                "scipy.uniform's MLE is loc = min(x), scale = max(x) - min(x): the likelihood "
                "is maximal at the edge of the parameters the data allow, so the score is not "
                "zero there and Wald standard errors do not apply"
            )

        if dist == "laplace":  # no second derivative in loc at the data: the expected one
            self.se_source = "expected"

    def fisher_information(self, theta: Theta) -> np.ndarray | None:
        """Known forms only: laplace, diag(1, 1) / scale^2 per observation."""
        if self.dist_name == "laplace":
            return np.eye(2) / float(theta["scale"]) ** 2
        return None

    # ---- closed forms (the score equations solved, or the boundary maximum) -------------
    @property
    def has_closed_form(self) -> bool:
        return self.dist_name in CLOSED_FORMS

    def closed_form(self, stats: Stats) -> Theta | None:
        """norm: mean and sd (divisor n); expon: min(x) and mean - min; uniform: min and
        range; laplace: median and mean absolute deviation from it. Along the last axis,
        so a batch of replicates is solved at once."""
        x = np.asarray(stats["x"], dtype=float)
        if self.dist_name == "norm":
            return {"loc": x.mean(axis=-1), "scale": x.std(axis=-1)}
        if self.dist_name == "expon":
            low = x.min(axis=-1)
            return {"loc": low, "scale": x.mean(axis=-1) - low}
        if self.dist_name == "uniform":
            low = x.min(axis=-1)
            return {"loc": low, "scale": x.max(axis=-1) - low}
        if self.dist_name == "laplace":
            mid = np.median(x, axis=-1)
            spread = np.mean(np.abs(x - np.expand_dims(mid, -1)), axis=-1)
            return {"loc": mid, "scale": spread}
        return None

    def options(self) -> dict[str, Any]:
        return {"dist": self.dist_name}

    def for_data(self, values: np.ndarray, labels: list[str] | None = None) -> ScipyFamily:
        x = np.asarray(values, dtype=float)
        finite = x[np.isfinite(x)] if x.size else x
        if finite.size == 0:
            return self
        return ScipyFamily(self.dist_name, (float(finite.min()), float(finite.max())))

    # ---- parameters -----------------------------------------------------------------
    def _shape_info(self) -> list[Any]:
        return list(self.dist._shape_info())

    def _names(self) -> list[str]:
        shapes = [s.name for s in self._shape_info()]
        return [*shapes, "loc"] + ([] if self.discrete else ["scale"])

    @functools.cached_property
    def _params(self) -> tuple[Param, ...]:
        params = []
        for info in self._shape_info():
            low, high = (float(v) for v in info.domain)
            low, high = SAFE_DOMAINS.get((self.dist_name, info.name), (low, high))
            what = "integer shape" if info.integrality else "shape"
            params.append(Param(info.name, interval(low, high), f"scipy {what} {info.name}"))
        params.append(Param("loc", self._loc_constraint(), "location (scipy loc)"))
        if not self.discrete:
            params.append(Param("scale", positive, "scale (scipy scale)"))
        return tuple(params)

    @property
    def params(self) -> tuple[Param, ...]:
        return self._params

    def integer_params(self) -> list[str]:
        """Parameters that only take integer values (searched over the integers)."""
        names = [s.name for s in self._shape_info() if s.integrality]
        return names + (["loc"] if self.discrete else [])

    @property
    def threshold(self) -> bool:
        """True if the support starts at ``loc`` whatever the shapes (``a = 0``, no upper
        end that moves with them): then ``loc`` must stay below min(x)."""
        from scipy import stats

        if self.discrete or self.bounds is None:
            return False
        own_support = type(self.dist)._get_support is not stats.rv_continuous._get_support
        return not own_support and self.dist.a == 0 and np.isinf(self.dist.b)

    def _loc_constraint(self):
        if self.threshold:
            low = self.bounds[0]
            return Bounded(-np.inf, low, why=f"a threshold below min(x) = {low:g}")
        return real

    # ---- data -----------------------------------------------------------------------
    def _args(self, theta: Theta) -> tuple[list[Any], dict[str, Any]]:
        """scipy's call: shapes in order, then loc (and scale)."""
        shapes = [theta[s.name] for s in self._shape_info()]
        kwargs = {"loc": theta["loc"]}
        if not self.discrete:
            kwargs["scale"] = theta["scale"]
        return shapes, kwargs

    def pointwise(self, x: np.ndarray, theta: Theta) -> np.ndarray:
        shapes, kwargs = self._args(self.broadcast(theta, x))
        with np.errstate(all="ignore"):
            if self.discrete:
                return self.dist.logpmf(x, *shapes, **kwargs)
            return self.dist.logpdf(x, *shapes, **kwargs)

    def reduce(self, x: np.ndarray) -> Stats:
        stats = super().reduce(x)
        if self.discrete and stats["x"].ndim == 1:  # where each distinct value first appears
            stats["_distinct"] = np.unique(stats["x"], return_index=True)[1]
        elif stats["x"].shape[-1] > 1:  # for the mass check below (rows of a batch too)
            order = np.argsort(stats["x"], axis=-1, kind="stable")
            ranked = np.take_along_axis(stats["x"], order, axis=-1)
            stats["_order"], stats["_gaps"] = order, np.diff(ranked, axis=-1)
        return stats

    def loglik(self, stats: Stats, theta: Theta) -> Any:
        """The logpmf/logpdf sum; for discrete data also a check that scipy's masses of the
        distinct values sum to at most 1 (betanbinom with a, b ~ 1e22 gives every value
        log-mass 0, a breakdown of its numerics that would otherwise look like a perfect
        fit): where they do not, the parameters are treated as outside the space."""
        if "_distinct" not in stats:
            return self._continuous_loglik(stats, theta)
        values = self.pointwise(stats["x"], theta)
        total = float(np.sum(values))
        if np.isnan(total):
            return -np.inf
        with np.errstate(all="ignore"):
            if total > -np.inf and np.sum(np.exp(values[stats["_distinct"]])) > 1 + 1e-9:
                return -np.inf
        return total

    def _continuous_loglik(self, stats: Stats, theta: Theta) -> Any:
        """The logpdf sum, with a check for scipy's numerics breaking down. Between two
        neighbouring observations a density that is monotone there is at least the smaller
        of its two end values, so that sum over the gaps is a lower bound of its mass
        between min(x) and max(x) (at most 1; a density infinite at a support end does not
        inflate it), once the largest term is left out (the one gap that may span a dip).
        Far above 1, what scipy returned is no density (powernorm at c ~ 1e-17, scale ~
        1e-8 gives every value a log-density near 19, a log-likelihood of +1.9e6 on 10^5
        values spread over 28): such parameters are treated as outside the space."""
        x = np.asarray(stats["x"], dtype=float)
        values = self.pointwise(x, theta)
        total = np.sum(values, axis=-1)
        total = np.where(np.isnan(total), -np.inf, total)
        if "_gaps" in stats and np.shape(stats["_order"]) == np.shape(values):
            ranked = np.take_along_axis(values, stats["_order"], axis=-1)
            with np.errstate(all="ignore"):  # a lower sum of the density between the data
                lower = np.exp(np.minimum(ranked[..., :-1], ranked[..., 1:])) * stats["_gaps"]
                # without its largest term: one gap may span a dip (a U-shaped beta)
                mass = np.sum(lower, axis=-1) - np.max(lower, axis=-1)
            total = np.where(mass <= MASS_CEILING, total, -np.inf)
        return total if np.ndim(total) else float(total)

    def degenerate(self, stats: Stats, free: set[str]) -> str | None:
        x = stats["x"]
        if self.dist_name in PERIODIC and "scale" in free:
            return (
                f"no MLE for {self.name} with scale free: its density is periodic on the "
                "whole line (period 2 pi scale), so as scale -> 0 every value can be wrapped "
                "next to loc and the likelihood grows without bound; hold scale "
                "(fit(..., fixed={'scale': 1}), +model.fixed.scale=1), as "
                f"scipy.stats.{self.dist_name}.fit does"
            )
        if x.ndim == 1 and x.size and np.all(x == x[0]) and ({"scale", "loc"} & free):
            return (
                f"all {x.size} values are equal ({x[0]:g}): {self.name} has no MLE (its "
                "scale runs to 0); hold scale and loc (+model.fixed.scale=...) or use more "
                "varied data"
            )
        return None

    # ---- starting points ------------------------------------------------------------
    def initial(self, stats: Stats) -> Theta:
        """scipy's own starting guess (``_fitstart``, moments), moved into the support of
        the data: a threshold below min(x), a scale that covers the spread."""
        x = stats["x"]
        if x.ndim > 1:  # a batch: one start per row
            rows = [self.initial({"n": stats["n"], "x": row}) for row in x]
            return {k: np.array([r[k] for r in rows]) for k in self.param_names}
        names = self.param_names
        guess = None
        if not self.discrete:
            try:
                with np.errstate(all="ignore"):
                    guess = [float(v) for v in self.dist._fitstart(x)]
            except Exception:  # scipy's guess needs what these data lack
                guess = None
        if guess is None or len(guess) != len(names) or not np.all(np.isfinite(guess)):
            guess = [*self._example(), float(np.min(x)) if self.discrete else 0.0]
            if not self.discrete:
                guess.append(float(np.std(x)) or 1.0)
        theta = dict(zip(names, guess, strict=True))
        return self._into_support(x, theta)

    def _example(self) -> list[float]:
        shapes = example_shapes().get(self.dist_name)
        infos = self._shape_info()
        if shapes is not None and len(shapes) == len(infos):
            return [float(s) for s in shapes]
        out = []
        for info in infos:
            low, high = (float(v) for v in info.domain)
            if np.isfinite(low) and np.isfinite(high):
                out.append((low + high) / 2)
            elif np.isfinite(low):
                out.append(low + 1.0)
            elif np.isfinite(high):
                out.append(high - 1.0)
            else:
                out.append(0.0)
        return out

    def _into_support(self, x: np.ndarray, theta: Theta) -> Theta:
        """A start where every value has positive density, if a shift and a stretch of
        loc and scale find one (else the guess as it was)."""
        theta = dict(theta)
        for p in self.params:  # shapes inside their domains
            if not p.constraint.contains(np.asarray(theta[p.name])):
                theta[p.name] = float(p.constraint.from_unconstrained(np.zeros(1))[0])
        lo, hi = float(np.min(x)), float(np.max(x))
        spread = (hi - lo) or max(abs(lo), 1.0)
        if self.threshold and not theta["loc"] < lo:
            theta["loc"] = lo - 0.1 * spread
        if np.all(np.isfinite(self.pointwise(x, theta))):
            return theta
        if self.discrete:
            a = self.dist.support(*[theta[s.name] for s in self._shape_info()])[0]
            if np.isfinite(a):
                theta["loc"] = float(np.floor(lo - a))
            return theta
        shapes = [theta[s.name] for s in self._shape_info()]
        a, b = (float(v) for v in self.dist.support(*shapes))
        if np.isfinite(a) and np.isfinite(b):  # fit the data inside [loc + a s, loc + b s]
            scale = (hi - lo) / (b - a) * 1.1 or 1.0
            loc = lo - a * scale - 0.05 * (b - a) * scale
        elif np.isfinite(a):
            scale = theta["scale"]
            loc = lo - a * scale - 0.1 * spread
        elif np.isfinite(b):
            scale = theta["scale"]
            loc = hi - b * scale + 0.1 * spread
        else:
            return theta
        candidate = {**theta, "loc": loc, "scale": scale}
        if self.threshold:
            candidate["loc"] = min(candidate["loc"], lo - 0.1 * spread)
        return candidate if np.all(np.isfinite(self.pointwise(x, candidate))) else theta

    # ---- the maximization -----------------------------------------------------------
    def maximize(self, problem: Any) -> Any:
        """The whole search (``optimizer=auto``): several starts (scipy's guess, then
        scipy's own ``fit`` where the first ends badly), integer parameters over the
        integers, and a profile over a threshold whose likelihood runs off at min(x)."""
        from runner.stats.families import scipy_search

        return scipy_search.maximize(self, problem)

    def needs_own_search(self, stats: Stats, theta: Theta) -> np.ndarray | bool:
        """Rows of a batch whose estimate puts a support end near min(x) or max(x): there
        the search would look at a threshold or hold that end (a batched climb does not)."""
        from runner.stats.families.scipy_search import NEAR_END

        x = np.asarray(stats["x"], dtype=float)
        if x.ndim != 2 or self.discrete:
            return False
        shapes, kwargs = self._args(theta)
        with np.errstate(all="ignore"):
            lo_end, hi_end = (np.asarray(v, dtype=float) for v in self.dist.support(
                *[np.asarray(v, dtype=float) for v in shapes],
                **{k: np.asarray(v, dtype=float) for k, v in kwargs.items()}))  # fmt: skip
        low, high = x.min(axis=-1), x.max(axis=-1)
        spread = np.where(high > low, high - low, 1.0)
        near = np.isfinite(lo_end) & (low - lo_end <= NEAR_END * spread)
        return near | (np.isfinite(hi_end) & (hi_end - high <= NEAR_END * spread))

    def check_estimate(self, theta: Theta, free: set[str], stats: Stats | None = None):
        if stats is None or stats["x"].ndim != 1:
            return None
        if not np.all(np.isfinite(self.pointwise(stats["x"], theta))):
            return (
                f"no parameters of {self.name} give every observation a positive "
                f"{'mass' if self.discrete else 'density'} from this start: the data lie "
                "outside its support; check the data, or hold loc/scale so they fit"
            )
        return None

    def scipy_dist(self, theta: Theta):
        """The frozen distribution; integer shapes as ints (numpy's ``Generator.binomial``,
        behind binom's ``rvs``, refuses a float ``n``)."""
        shapes, kwargs = self._args(theta)
        integer = {s.name for s in self._shape_info() if s.integrality}
        values = [int(v) if info.name in integer and float(v).is_integer() else float(v)
                  for info, v in zip(self._shape_info(), shapes, strict=True)]  # fmt: skip
        return self.dist(*values, **{k: float(v) for k, v in kwargs.items()})

    def default_truth(self) -> Theta:
        """scipy's example shapes, loc 0, scale 1: synthetic data when no truth is given."""
        values = [*self._example(), 0.0] + ([] if self.discrete else [1.0])
        return dict(zip(self.param_names, values, strict=True))


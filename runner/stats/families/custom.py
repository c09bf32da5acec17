"""Your own log-density as a family: ``fit("custom", x, logpdf=f, params={"mu": "real",
"sigma": "positive"})``, or ``model=custom model.logpdf=my_module:logpdf`` on the CLI.

``logpdf(x, **theta)`` must be vectorised: an array of log-densities for an array of
values (parameters may arrive as arrays with a trailing axis of 1, for batches). Each
parameter's space is named as for the built-in families (``real``, ``positive``,
``unit_interval``) or given as an interval ``[low, high]``. An optional ``sampler(theta,
size, rng)`` draws synthetic data (for ``data=synthetic`` and studies). A config names
callables by module path only (``package.module:function``); data never name code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from runner.errors import ConfigError
from runner.stats.constraints import Param, interval, positive, real, unit_interval
from runner.stats.families.base import Stats, Theta
from runner.stats.families.pointwise import PointwiseFamily

SPACES = {"real": real, "positive": positive, "unit_interval": unit_interval}


def load_callable(ref: Any, key: str) -> Callable:
    """A callable, or ``"module:function"`` imported (a clear error naming ``key``)."""
    if callable(ref):
        return ref
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise ConfigError(
            f"{key} = {ref!r}: expected 'module:function' (a function importable from "
            "the current folder or an installed package)"
        )
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{key} = {ref!r}: cannot import {module_name!r} ({exc})") from None
    found = getattr(module, attr, None)
    if not callable(found):
        raise ConfigError(f"{key} = {ref!r}: {module_name} has no function {attr!r}")
    return found


def _space(name: str, spec: Any):
    if isinstance(spec, str) and spec in SPACES:
        return SPACES[spec]
    if isinstance(spec, (list, tuple)) and len(spec) == 2:
        try:
            low, high = (float(v) for v in spec)
        except (TypeError, ValueError):
            low = high = np.nan
        if low < high:
            return interval(low, high)
    raise ConfigError(
        f"model.params.{name} = {spec!r}: expected one of {', '.join(SPACES)} or an "
        "interval [low, high] with low < high (.inf for no bound)"
    )


class Custom(PointwiseFamily):
    """A user's log-density with named, constrained parameters."""

    name = "custom"
    parameterization = "the parameters of your logpdf(x, **theta)"
    support = "where your logpdf is finite"

    def __init__(self, logpdf: Any, params: Mapping[str, Any], sampler: Any = None):
        self._logpdf = load_callable(logpdf, "model.logpdf")
        self._sampler = None if sampler is None else load_callable(sampler, "model.sampler")
        if not isinstance(params, Mapping) or not params:
            raise ConfigError(
                "model.params: name each parameter and its space, e.g. "
                "'+model.params={mu: real, sigma: positive}'"
            )
        self._params = tuple(Param(str(k), _space(str(k), v), "yours") for k, v in params.items())
        self.reference = getattr(logpdf, "__name__", str(logpdf))
        self.name = f"custom:{self.reference}"

    @property
    def params(self) -> tuple[Param, ...]:
        return self._params

    def options(self) -> dict[str, Any]:
        return {"logpdf": self.reference}

    def pointwise(self, x: np.ndarray, theta: Theta) -> np.ndarray:
        with np.errstate(all="ignore"):
            values = np.asarray(self._logpdf(x, **self.broadcast(theta, x)), dtype=float)
        if values.shape != np.shape(x):
            raise ConfigError(
                f"model.logpdf {self.reference} returned shape {values.shape} for data of "
                f"shape {np.shape(x)}: it must return one log-density per value (vectorised)"
            )
        return values

    def initial(self, stats: Stats) -> Theta:
        """The centre of each space (0, 1, 0.5, the interval's midpoint) unless
        ``optimizer.init`` says better."""
        return {p.name: float(p.constraint.from_unconstrained(np.zeros(1))[0]) for p in self.params}

    def maximize(self, problem: Any) -> Any:
        from runner.stats.families import scipy_search

        x = problem.stats["x"]
        self.pointwise(x[..., :2], problem.theta(problem.start()))  # vectorised? (says if not)
        return scipy_search.maximize_continuous(problem)

    def sample(self, theta: Theta, size: int, rng: np.random.Generator) -> np.ndarray:
        if self._sampler is None:
            raise ConfigError(
                "synthetic data from model=custom need model.sampler=module:function "
                "(sampler(theta, size, rng) -> array); or fit data=csv / inline"
            )
        return np.asarray(self._sampler(theta, size, rng), dtype=float)

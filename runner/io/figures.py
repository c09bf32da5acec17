"""Which pictures a single fit gets: the likelihood around the estimate, and the fitted
density (or probability masses) over the data. Computes what to draw (with the family);
``plots`` draws it.

Each picture shows the MLE, the MAP beside it when the fit has one (estimator=map), and
the truth when it is known (synthetic data, or ``model.truth``): the reader sees at once
how far the estimate is from what generated the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from runner.stats.families.base import Family
from runner.stats.result import Fit
from runner.stats.surface import likelihood_surface

HISTOGRAM_SAMPLE = 200_000  # a histogram of more points looks the same and costs more
TAIL = 0.001  # count families show their masses out to these quantiles of each fit
WHOLE_SUPPORT = 60  # a finite support this small is shown whole (bernoulli's 0 and 1)
MAX_POINTS = 200  # beyond this range of counts, an evenly spread subset of them

_PMF_LABELS = {"MLE": "fitted pmf, MLE", "MAP": "pmf at the MAP", "truth": "true pmf"}
_PDF_LABELS = {"MLE": "fitted density, MLE", "MAP": "density at the MAP", "truth": "true density"}


def fit_figures(family: Family, data: np.ndarray, fit: Fit, run_dir: Path) -> list[Path]:
    """Write ``likelihood.png`` (1-2 free parameters) and ``density.png`` (univariate
    data: a histogram and densities, or frequencies and masses); return their paths."""
    from runner.io import plots

    written = []
    stats = family.reduce(data)
    surface = likelihood_surface(family, stats, fit)
    if surface is not None:
        held = [e for e in fit.estimates if e.fixed]
        fixed = "; " + ", ".join(f"{e.name} = {e.estimate:.3g} held" for e in held) if held else ""
        title = f"{fit.model}: log-likelihood, n = {fit.n:,}{fixed}"
        written.append(plots.likelihood_plot(surface, run_dir / "likelihood.png", title))
    from runner.stats.families.censored import Censored

    if isinstance(family, Censored):  # (low, high) pairs: against Kaplan-Meier
        from runner.io.censored_figure import censored_figure

        truth = _thetas(family, fit).get("truth")
        written.append(censored_figure(family, data, fit, run_dir / "survival.png", truth))
        return written
    if data.ndim != 1:
        return written
    thetas = _thetas(family, fit)
    both = " (MLE and MAP)" if "MAP" in thetas else ""
    title = f"{fit.model} fit, n = {fit.n:,}{both}"
    path = run_dir / "density.png"
    if family.discrete:
        support, labels = _support(family, data, list(thetas.values()))
        masses = [
            (key, _label(_PMF_LABELS[key], family, theta), _masses(family, support, theta))
            for key, theta in thetas.items()
        ]
        frequency = _frequencies(data, support)
        written.append(plots.pmf_plot(support, frequency, masses, path, title, fit.n, labels))
    else:
        shown = data
        if data.size > HISTOGRAM_SAMPLE:
            shown = np.random.default_rng(0).choice(data, HISTOGRAM_SAMPLE, replace=False)
        grid = _grid(family, shown, list(thetas.values()))
        curves = [
            (key, _label(_PDF_LABELS[key], family, theta), _masses(family, grid, theta))
            for key, theta in thetas.items()
        ]
        written.append(plots.density_plot(shown, grid, curves, path, title, fit.n))
    return written


def _thetas(family: Family, fit: Fit) -> dict[str, dict[str, Any]]:
    """The parameters to draw, by key: the MLE; the MAP (estimator=map); the truth, where
    every component of it is known (parameters held fixed count at their held value)."""
    found: dict[str, dict[str, Any]] = {"MLE": dict(fit.params)}
    if fit.posterior is not None:
        found["MAP"] = {**fit.params, **fit.posterior.map}
    truth: dict[str, Any] = {}
    for p in family.params:
        parts = [fit.estimate(name) for name in p.component_names()]
        values = [e.estimate if e.truth is None and e.fixed else e.truth for e in parts]
        if any(v is None for v in values):
            return found
        truth[p.name] = np.asarray(values, dtype=float) if p.is_vector else float(values[0])
    if any(e.truth is not None for e in fit.estimates):
        found["truth"] = truth
    return found


def _label(text: str, family: Family, theta: dict[str, Any]) -> str:
    """``fitted pmf, MLE (p = 0.001)``: the values, for families of scalar parameters."""
    if any(p.is_vector for p in family.params):
        return text
    values = ", ".join(f"{p.name} = {float(theta[p.name]):.3g}" for p in family.params)
    return f"{text} ({values})"


def _masses(family: Family, points: np.ndarray, theta: dict[str, Any]) -> np.ndarray:
    with np.errstate(all="ignore"):
        values = np.exp(family.logpdf(points, theta))
    return np.where(np.isfinite(values), values, 0.0)


def _support(
    family: Family, data: np.ndarray, thetas: list[dict[str, Any]]
) -> tuple[np.ndarray, list[str] | None]:
    """The support points to show: every category; else every count from the data's
    range out to the 0.1% and 99.9% quantiles of each fit drawn, or the whole support
    where it is finite and small (bernoulli's 1 with no 1 in the data, and no mass in
    the MLE's fit, is still a point of the model)."""
    categories = getattr(family, "categories", None)
    if categories is not None:
        return np.arange(len(categories)), [str(c) for c in categories]
    low, high = float(data.min()), float(data.max())
    for ends in (_quantiles(family, theta) for theta in thetas):
        if ends is not None:
            low, high = min(low, ends[0]), max(high, ends[1])
    interval = family.interval
    if np.isfinite(interval.low) and interval.high - interval.low <= WHOLE_SUPPORT:
        low, high = interval.low, interval.high
    low, high = max(low, interval.low), min(high, interval.high)
    low, high = int(np.floor(low)), int(np.ceil(high))
    if high - low > MAX_POINTS:
        return np.unique(np.linspace(low, high, MAX_POINTS + 1).round()), None
    return np.arange(low, high + 1), None


def _frequencies(data: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Relative frequency of each support point in all the data (a bincount: counts are
    cheap, and a subsample would blur the small ones a log axis shows)."""
    n = data.size
    if n == 0:
        return np.zeros(len(support))
    low = data.min()
    if low >= 0 and data.max() < 4 * n + 1024:
        counts = np.bincount(data.astype(np.int64, copy=False)).astype(float)
        inside = (support >= 0) & (support < counts.size)
        out = np.zeros(len(support))
        out[inside] = counts[support[inside].astype(np.int64)]
        return out / n
    values, counts = np.unique(data, return_counts=True)
    position = np.searchsorted(support, values)
    hit = (position < len(support)) & (support[np.minimum(position, len(support) - 1)] == values)
    out = np.zeros(len(support))
    np.add.at(out, position[hit], counts[hit])
    return out / n


def _grid(family: Family, data: np.ndarray, thetas: list[dict[str, Any]]) -> np.ndarray:
    """Where to draw a density: the data's 0.1-99.9% range and each drawn fit's, so the
    true density of 8 draws is not cut off where the draws happen to end."""
    low, high = np.quantile(data, [TAIL, 1 - TAIL])
    for ends in (_quantiles(family, theta) for theta in thetas):
        if ends is not None:
            low, high = min(low, ends[0]), max(high, ends[1])
    pad = 0.05 * (high - low or 1.0)
    interval = family.interval
    low, high = max(low - pad, interval.low), min(high + pad, interval.high)
    return np.linspace(low, high, 400)


def _quantiles(family: Family, theta: dict[str, Any]) -> np.ndarray | None:
    """The fit's 0.1% and 99.9% quantiles, where scipy knows its distribution."""
    try:
        with np.errstate(all="ignore"):
            ends = np.asarray(family.scipy_dist(theta).ppf([TAIL, 1 - TAIL]), dtype=float)
    except (NotImplementedError, ValueError, TypeError):
        return None
    return ends if ends.shape == (2,) and np.all(np.isfinite(ends)) else None

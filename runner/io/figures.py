"""Which pictures a single fit gets: the likelihood around the estimate, and the fitted
density over the data. Computes what to draw (with the family); ``plots`` draws it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runner.stats.families.base import Family
from runner.stats.result import Fit
from runner.stats.surface import likelihood_surface

HISTOGRAM_SAMPLE = 200_000  # a histogram of more points looks the same and costs more


def fit_figures(family: Family, data: np.ndarray, fit: Fit, run_dir: Path) -> list[Path]:
    """Write ``likelihood.png`` (1-2 free parameters) and ``density.png``; return paths."""
    from runner.io import plots

    written = []
    stats = family.reduce(data)
    surface = likelihood_surface(family, stats, fit)
    if surface is not None:
        written.append(
            plots.likelihood_plot(
                surface, run_dir / "likelihood.png", f"{fit.model}: log-likelihood"
            )
        )
    if data.ndim == 1:
        shown = data
        if data.size > HISTOGRAM_SAMPLE:
            shown = np.random.default_rng(0).choice(data, HISTOGRAM_SAMPLE, replace=False)
        grid, labels = _grid(family, shown)
        with np.errstate(all="ignore"):
            density = np.exp(family.logpdf(grid, fit.params))
        written.append(
            plots.density_plot(
                shown,
                grid,
                density,
                run_dir / "density.png",
                f"{fit.model} fit, n = {fit.n:,}",
                family.discrete,
                labels,
            )
        )
    return written


def _grid(family: Family, data: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
    if family.discrete:
        categories = getattr(family, "categories", None)
        if categories is not None:
            return np.arange(len(categories)), [str(c) for c in categories]
        low, high = int(data.min()), int(data.max())
        if high - low > 200:
            return np.unique(np.linspace(low, high, 201).round()), None
        return np.arange(low, high + 1), None
    low, high = np.quantile(data, [0.001, 0.999])
    pad = 0.05 * (high - low or 1.0)
    return np.linspace(low - pad, high + pad, 400), None

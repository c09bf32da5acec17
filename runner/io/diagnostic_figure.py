"""``diagnostics.png``: the four panels of fitdistrplus' ``plot(fitdist)``, so a reader sees
where a fit departs from the data, not only by how much (``runner.stats.gof``).

- top left: the data's histogram under the fitted density (counts: observed relative
  frequencies beside the fitted masses);
- bottom left: the empirical cdf under the fitted cdf;
- top right: Q-Q, the fitted distribution's quantiles against the data's order statistics
  at R's plotting positions ``ppoints`` (``(i - a) / (n + 1 - 2a)``, a = 3/8 up to n = 10,
  else 1/2), with the 1:1 line;
- bottom right: P-P, the fitted cdf at each order statistic against its plotting position.

Departures in the tails show in Q-Q, in the middle in P-P. The true density and cdf are
drawn dashed when the truth is known. Past ``POINTS`` values the point panels (ECDF, Q-Q,
P-P) show that many order statistics evenly spaced through all the sorted data, the
extremes included: the same picture as every point, without drawing millions of markers
(the caption says so). Counts' Q-Q points repeat: a marker's area says how many.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from runner.io import figures, plots
from runner.stats.families.base import Family
from runner.stats.gof import subsample

POINTS = 100_000  # order statistics drawn in the point panels; beyond, evenly spaced ones
SORT_LIMIT = 10_000_000  # values sorted; beyond, a seeded random subsample of about this many
BINS = (10, 100)  # the histogram's bin count (numpy's "auto") is kept in this range


def diagnostic_figure(
    family: Family,
    x: np.ndarray,
    theta_hat: Mapping[str, Any],
    path: Path,
    truth: Mapping[str, Any] | None = None,
    gof: Any = None,
    title: str | None = None,
) -> Path | None:
    """Write the four-panel figure for the univariate fit ``theta_hat`` to ``x``; return
    ``path``, or None where it cannot be drawn (multivariate or censored data, a family
    with no cdf). ``gof`` (a ``runner.stats.gof.GoodnessOfFit``) adds its statistics to
    the caption."""
    x = np.asarray(x)
    if family.multivariate or x.ndim != 1 or x.size == 0:
        return None
    theta = dict(theta_hat)
    try:
        with np.errstate(all="ignore"):
            family.cdf(x[:1], theta)
    except NotImplementedError:
        return None
    caption = []
    values = x
    if x.size > SORT_LIMIT:
        values = subsample(x, SORT_LIMIT, np.random.default_rng(0))
        caption.append(f"a seeded random {values.size:,} of the {x.size:,} values shown")
    ordered = np.sort(values.astype(float))
    m = ordered.size
    index = _spaced(m)
    if index.size < m:
        caption.append(f"ECDF, Q-Q and P-P: {index.size:,} of the {m:,} order statistics, "
                       "evenly spaced, the extremes included")  # fmt: skip
    a = 3 / 8 if m <= 10 else 1 / 2
    positions = (index + 1 - a) / (m + 1 - 2 * a)
    thetas = {"MLE": theta, **({"truth": dict(truth)} if truth else {})}

    fig = plots._figure(10.4, 8.0)
    density, qq = fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2)
    cdf_ax, pp = fig.add_subplot(2, 2, 3), fig.add_subplot(2, 2, 4)
    _qq(family, ordered[index], positions, theta, qq)
    if family.discrete:
        fitted, empirical = _count_panels(family, ordered, thetas, density, cdf_ax)
        _pp(fitted, empirical, pp, "data (one point per count shown)")
    else:
        _continuous_panels(family, ordered, thetas, density, cdf_ax)
        with np.errstate(all="ignore"):
            fitted = family.cdf(ordered[index], theta)
        _pp(fitted, positions, pp, f"data ({index.size:,} order statistics)")
    if gof is not None:
        caption.insert(0, _statistics_text(gof))
    if caption:
        fig.supxlabel("; ".join(caption), fontsize=8)
    fit_title = title or f"{family.name} fit, n = {x.size:,}: goodness-of-fit diagnostics"
    return plots._save(fig, path, fit_title)


# ---- the panels -----------------------------------------------------------------------------
def _continuous_panels(family, ordered, thetas, density, cdf_ax) -> None:
    n = ordered.size
    grid = figures._grid(family, ordered, list(thetas.values()))
    edges = np.histogram_bin_edges(ordered[(ordered >= grid[0]) & (ordered <= grid[-1])],
                                   bins="auto", range=(grid[0], grid[-1]))  # fmt: skip
    if not BINS[0] <= edges.size - 1 <= BINS[1]:
        edges = np.linspace(grid[0], grid[-1], int(np.clip(edges.size - 1, *BINS)) + 1)
    counts = np.diff(np.searchsorted(ordered, edges, side="left"))  # [low, high) bins
    counts[-1] += np.searchsorted(ordered, edges[-1], side="right") - np.searchsorted(
            ordered, edges[-1], side="left")  # the last bin holds its right end  # fmt: skip
    outside = n - counts.sum()
    label = f"data (n = {n:,})" + (f", {outside:,} beyond the axis" if outside else "")
    density.stairs(counts / (n * np.diff(edges)), edges, fill=True, color=plots.COLORS["data"],
                   label=label)  # fmt: skip
    for key, theta in thetas.items():
        density.plot(grid, figures._masses(family, grid, theta), color=plots.COLORS[key],
                     linestyle=plots.LINES[key], linewidth=1.6,
                     label=figures._label(figures._PDF_LABELS[key], family, theta))  # fmt: skip
    _finish(density, "histogram and fitted density", "x", "probability density")

    shown = _spaced(n)
    steps = np.concatenate([[grid[0]], ordered[shown], [grid[-1]]])
    levels = np.concatenate([[0.0], (shown + 1) / n, [1.0]])
    cdf_ax.step(steps, levels, where="post", color="0.2", linewidth=1.2,
                label="empirical cdf")  # fmt: skip
    for key, theta in thetas.items():
        with np.errstate(all="ignore"):
            curve = family.cdf(grid, theta)
        cdf_ax.plot(grid, curve, color=plots.COLORS[key], linestyle=plots.LINES[key],
                    linewidth=1.6, label=f"{'fitted' if key == 'MLE' else 'true'} cdf")  # fmt: skip
    _finish(cdf_ax, "empirical and fitted cdf", "x", "cumulative probability F(x)")


def _count_panels(family, ordered, thetas, masses_ax, cdf_ax) -> tuple[np.ndarray, np.ndarray]:
    """Masses and cdfs at the support points shown; returns the fitted and empirical cdf
    there (the P-P plot of counts: one point per count, not one per tied observation)."""
    n = ordered.size
    support, labels = figures._support(family, ordered, list(thetas.values()))
    frequency = figures._frequencies(ordered, support)
    wide = 0.8 if support.size <= plots.GROUPED_BARS else 1.0
    masses_ax.bar(support, frequency, wide, color=plots.COLORS["data"],
                  label=f"data: relative frequency (n = {n:,})")  # fmt: skip
    for key, theta in thetas.items():
        values = figures._masses(family, support, theta)
        label = figures._label(figures._PMF_LABELS[key], family, theta)
        if support.size <= 80:
            if key == "MLE":  # stems for the fit; the truth's masses as markers beside them
                masses_ax.vlines(support, 0, values, color=plots.COLORS[key], linewidth=1.2)
            masses_ax.plot(support, values, "o" if key == "MLE" else "_", markersize=
                           3.5 if key == "MLE" else 9, markeredgewidth=1.6,
                           color=plots.COLORS[key], label=label)  # fmt: skip
        else:
            masses_ax.plot(support, values, color=plots.COLORS[key], linewidth=1.2,
                           linestyle=plots.LINES[key], label=label)  # fmt: skip
    _finish(masses_ax, "observed frequencies and fitted masses", "x", "probability")
    if labels is not None:
        masses_ax.set_xticks(support, labels)

    empirical = np.searchsorted(ordered, support, side="right") / n
    cdf_ax.step(support, empirical, where="post", color="0.2", linewidth=1.2,
                label="empirical cdf")  # fmt: skip
    curves = {}
    for key, theta in thetas.items():
        with np.errstate(all="ignore"):
            curves[key] = np.asarray(family.cdf(support, theta), dtype=float)
        cdf_ax.step(support, curves[key], where="post", color=plots.COLORS[key],
                    linestyle=plots.LINES[key], linewidth=1.6,
                    label=f"{'fitted' if key == 'MLE' else 'true'} cdf")  # fmt: skip
    _finish(cdf_ax, "empirical and fitted cdf", "x", "cumulative probability F(x)")
    return curves["MLE"], empirical


def _qq(family, points, positions, theta, ax) -> None:
    """Fitted quantiles (x) against the data's (y); repeated pairs (counts) as one marker
    whose area grows with the repeats."""
    theoretical = _quantiles(family, theta, positions)
    label = f"data ({points.size:,} order statistics)"
    if family.discrete:
        pairs, repeats = np.unique(np.stack([theoretical, points]), axis=1, return_counts=True)
        area = 6 + 120 * repeats / repeats.max()
        ax.scatter(pairs[0], pairs[1], s=area, color=plots.COLORS["MLE"], alpha=0.6,
                   label=label + "; area: repeats")  # fmt: skip
    else:
        ax.plot(theoretical, points, "o", markersize=2.5, color=plots.COLORS["MLE"],
                alpha=0.6 if points.size > 1000 else 1.0, label=label)  # fmt: skip
    finite = np.concatenate([theoretical[np.isfinite(theoretical)], points])
    ends = [finite.min(), finite.max()]
    ax.plot(ends, ends, color=plots.COLORS["reference"], linestyle=":", linewidth=1.2,
            label="1:1 line")  # fmt: skip
    _finish(ax, "Q-Q plot", "theoretical quantiles (fitted)", "empirical quantiles")


def _pp(fitted: np.ndarray, empirical: np.ndarray, ax, label: str) -> None:
    """The fitted cdf (x) against the empirical probabilities (y), with the 1:1 line."""
    ax.plot(fitted, empirical, "o", markersize=2.5, color=plots.COLORS["MLE"],
            alpha=0.6 if fitted.size > 1000 else 1.0, label=label)  # fmt: skip
    ax.plot([0, 1], [0, 1], color=plots.COLORS["reference"], linestyle=":", linewidth=1.2,
            label="1:1 line")  # fmt: skip
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    _finish(ax, "P-P plot", "theoretical probabilities (fitted cdf)", "empirical probabilities")


def _finish(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize=7.5, framealpha=0.9)


# ---- helpers --------------------------------------------------------------------------------
def _spaced(m: int) -> np.ndarray:
    """Indices of at most ``POINTS`` order statistics, evenly spaced, both ends included."""
    if m <= POINTS:
        return np.arange(m)
    return np.unique(np.linspace(0, m - 1, POINTS).round().astype(np.int64))


def _quantiles(family: Family, theta: Mapping[str, Any], p: np.ndarray) -> np.ndarray:
    """The fitted quantile function: scipy's ``ppf``, or bisection on the family's cdf
    where there is no scipy distribution (mixtures)."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(family.scipy_dist(dict(theta)).ppf(p), dtype=float)
    except NotImplementedError:
        pass
    low, high = -1.0, 1.0
    with np.errstate(all="ignore"):
        while family.cdf(np.array([low]), theta)[0] > p.min():
            low *= 2
        while family.cdf(np.array([high]), theta)[0] < p.max():
            high *= 2
        lo, hi = np.full(p.shape, low), np.full(p.shape, high)
        for _ in range(100):  # 100 halvings: double precision for any bracket
            middle = (lo + hi) / 2
            below = family.cdf(middle, theta) < p
            lo, hi = np.where(below, middle, lo), np.where(below, hi, middle)
    return (lo + hi) / 2


def _statistics_text(gof: Any) -> str:
    """``KS = 0.041 (p = 0.31), ...`` from a GoodnessOfFit, bootstrap p-values where known."""
    names = {"ks": "KS", "cvm": "CvM", "ad": "AD", "chi2": "chi-squared"}
    parts = []
    for key, value in gof.statistics.items():
        text = f"{names.get(key, key)} = {value:.3g}"
        if key == "chi2" and gof.df is not None:
            text += f" on {gof.df} df"
        shown = [f"p = {gof.pvalues[key]:.3g}"] if key in gof.pvalues else []
        if key == "chi2" and gof.asymptotic_pvalue is not None:
            shown.append(f"asymptotic p = {gof.asymptotic_pvalue:.3g}")
        parts.append(text + (f" ({', '.join(shown)})" if shown else ""))
    if gof.pvalues:
        parts[-1] += f", bootstrap p-values from {gof.replicates_used:,} refits"
    return ", ".join(parts)

"""``rank.png``: the best few candidates of a ranking over the data, and their QQ plots.

Left, the histogram (continuous data) or the relative frequencies (counts) under each
candidate's fitted density or masses; right, the data's quantiles against each fitted
distribution's, on the 1:1 line when the fit is right. The best candidate is drawn in the
MLE's red, the others in colours of their own, each labelled with its rank and AIC
difference, so a reader sees how much better the winner is, and where the others miss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runner.io import plots
from runner.stats.families.scipy_family import ScipyFamily
from runner.stats.rank import Ranking

OTHERS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
QQ_POINTS = 400  # plotting positions shown: a QQ line of more points looks the same
HISTOGRAM_SAMPLE = 200_000


def rank_figure(x: np.ndarray, ranking: Ranking, show: int, path: Path, title: str) -> Path | None:
    """Draw the best ``show`` fitted candidates; None when nothing was fitted."""
    best = ranking.fitted[: max(show, 1)]
    if not best or x.ndim != 1:
        return None
    x = np.sort(np.asarray(x, dtype=float)[np.isfinite(x)])
    fig, (left, right) = plots._panels(2, width=5.2, height=4.0)
    discrete = ScipyFamily(best[0].dist).discrete
    frozen = [ScipyFamily(c.dist).scipy_dist(c.fit.params) for c in best]
    colours = [plots.COLORS["MLE"], *OTHERS]
    labels = [f"{c.rank}. {c.dist}" + ("" if c.rank == 1 else f" (ΔAIC {c.delta_aic:.3g})")
              for c in best]  # fmt: skip
    if discrete:
        support = np.arange(x[0], x[-1] + 1)
        if support.size > 200:
            support = np.unique(np.linspace(x[0], x[-1], 200).round())
        values, counts = np.unique(x, return_counts=True)
        frequency = np.zeros(support.size)
        where = np.searchsorted(support, values)
        inside = (where < support.size) & (support[np.minimum(where, support.size - 1)] == values)
        frequency[where[inside]] = counts[inside] / x.size
        left.bar(support, frequency, 0.9, color=plots.COLORS["data"],
                 label=f"data: relative frequency (n = {x.size:,})")  # fmt: skip
        for dist, colour, label in zip(frozen, colours, labels, strict=False):
            left.plot(support, dist.pmf(support), marker="o", markersize=3, linewidth=1,
                      color=colour, label=label)  # fmt: skip
        left.set_ylabel("probability")
    else:
        shown = x
        if x.size > HISTOGRAM_SAMPLE:
            shown = np.random.default_rng(0).choice(x, HISTOGRAM_SAMPLE, replace=False)
        low, high = np.quantile(x, [0.001, 0.999]) if x.size > 1000 else (x[0], x[-1])
        clipped = shown[(shown >= low) & (shown <= high)]
        left.hist(clipped, bins="auto", density=True, color=plots.COLORS["data"],
                  label=f"data (n = {x.size:,})")  # fmt: skip
        grid = np.linspace(low, high, 400)
        for dist, colour, label in zip(frozen, colours, labels, strict=False):
            with np.errstate(all="ignore"):
                density = dist.pdf(grid)
            left.plot(grid, density, color=colour, linewidth=1.6, label=label)
        left.set_ylabel("probability density")
    left.set_xlabel("x")
    left.set_title("fitted distributions over the data")
    left.legend(loc="best", fontsize=8, framealpha=0.9)

    count = min(QQ_POINTS, x.size)
    positions = (np.arange(1, count + 1) - 0.5) / count
    sample_q = np.quantile(x, positions)
    for dist, colour, label in zip(frozen, colours, labels, strict=False):
        with np.errstate(all="ignore"):
            fitted_q = dist.ppf(positions)
        right.plot(fitted_q, sample_q, linestyle="none", marker=".", markersize=3,
                   color=colour, label=label)  # fmt: skip
    span = [float(sample_q[0]), float(sample_q[-1])]
    right.plot(span, span, color=plots.COLORS["reference"], linestyle=":", linewidth=1,
               label="1:1 (a perfect fit)")  # fmt: skip
    margin = 0.05 * (span[1] - span[0] or 1.0)
    right.set_xlim(span[0] - margin, span[1] + margin)  # a heavy tail's far quantiles off-axis
    right.set_ylim(span[0] - margin, span[1] + margin)
    right.set_xlabel("fitted quantile")
    right.set_ylabel("data quantile")
    right.set_title("QQ plot")
    right.legend(loc="best", fontsize=8, framealpha=0.9)
    return plots._save(fig, path, title)

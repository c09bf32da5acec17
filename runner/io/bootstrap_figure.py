"""``bootstrap.png``: the bootstrap distribution of each estimate, with its interval.

One panel per parameter component: the histogram of the replicates' refitted estimates
(the data's light blue: they are the bootstrap's data), the estimate from the data as the
MLE's red line, and the interval as a red band between dotted ends, labelled with its
method and level. A parameter with no interval says so in its legend; replicates without
an MLE are counted in the legend, not drawn. Styles are ``plots``' (matplotlib Agg,
imported on use), so the picture reads like the fit's and the study's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from runner.io import plots
from runner.stats.bootstrap import BootstrapResult


def bootstrap_figure(
    result: BootstrapResult,
    theta_hat: Mapping[str, float],
    intervals: Mapping[str, tuple[float, float] | None],
    path: Path,
    method_label: str,
) -> Path:
    """Draw every component of ``result`` (``theta_hat`` by component name, as
    ``bootstrap.flat_estimate`` gives it; ``intervals`` by the same names, None or absent
    where there is none; ``method_label`` e.g. "95% BCa interval")."""
    names = list(result.estimates)
    fig, axes = plots._panels(len(names))
    for ax, name in zip(axes, names, strict=True):
        values = result.finite(name)
        spread = float(values.max() - values.min()) if values.size else None
        left_out = result.replicates - values.size
        if values.size:
            missing = f", {left_out:,} without an MLE" if left_out else ""
            ax.hist(values, bins=_bins(values), color=plots.COLORS["data"],
                    label=f"{values.size:,} bootstrap estimates{missing}")  # fmt: skip
        else:
            ax.text(0.5, 0.5, "no replicate has an estimate", ha="center", va="center",
                    transform=ax.transAxes)  # fmt: skip
        bounds = intervals.get(name)
        if bounds is not None:
            low, high = (float(v) for v in bounds)
            span = high - low
            ax.axvspan(low, high, color=plots.COLORS["MLE"], alpha=0.12, linewidth=0)
            ax.axvline(low, color=plots.COLORS["MLE"], linestyle=":", linewidth=1.4,
                       label=f"{method_label} [{plots._fmt(low, span)}, "
                             f"{plots._fmt(high, span)}]")  # fmt: skip
            ax.axvline(high, color=plots.COLORS["MLE"], linestyle=":", linewidth=1.4)
        else:
            ax.plot([], [], color=plots.COLORS["MLE"], linestyle=":",
                    label=f"{method_label}: none (see the results for why)")  # fmt: skip
        if name in theta_hat and np.isfinite(theta_hat[name]):
            estimate = float(theta_hat[name])
            label = f"estimate {name} = {plots._fmt(estimate, spread)}"
            ax.axvline(estimate, color=plots.COLORS["MLE"], linestyle=plots.LINES["MLE"],
                       linewidth=1.8, label=label)  # fmt: skip
        ax.set_xlabel(f"bootstrap estimate of {name}")
        ax.set_ylabel("replicates")
        ax.set_title(name)
        ax.legend(loc="best", fontsize=8, framealpha=0.9)
    failed = f"; {result.failed:,} without an MLE" if result.failed else ""
    title = (f"{result.kind} bootstrap of the MLE: {result.replicates:,} replicates of "
             f"n = {result.n:,}{failed}")  # fmt: skip
    return plots._save(fig, path, title)


def _bins(values: np.ndarray) -> int | str:
    """numpy's automatic bins, but few where the estimates take few distinct values
    (counts: p = k / n), so bars do not fall between them."""
    distinct = np.unique(values).size
    return max(distinct, 1) if distinct <= 30 else "auto"

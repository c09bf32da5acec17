"""Matplotlib figures, written as PNG. They draw what they are given and fit nothing.

matplotlib is imported here only, with the non-interactive Agg backend, so runs without
plots never pay for it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runner.surface import Surface


def _figure(width: float = 6.4, height: float = 4.4):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def likelihood_plot(surface: Surface, path: Path, title: str) -> Path:
    """The log-likelihood curve (one parameter) or contours (two), estimate marked."""
    fig = _figure()
    ax = fig.add_subplot()
    if len(surface.names) == 1:
        ax.plot(surface.axes[0], surface.loglik, color="C0")
        ax.axvline(surface.estimate[0], color="C3", linestyle="--", label="MLE")
        ax.set_xlabel(surface.names[0])
        ax.set_ylabel("log-likelihood")
    else:
        top = np.nanmax(surface.loglik[np.isfinite(surface.loglik)])
        # Contours at the drops that bound 50/90/95/99% likelihood-ratio regions (chi2, 2 df).
        drops = [0.69, 2.30, 3.00, 4.61]
        levels = sorted(top - d for d in drops)
        x, y = np.meshgrid(*surface.axes, indexing="ij")
        filled = ax.contourf(x, y, surface.loglik, levels=30, cmap="viridis")
        lines = ax.contour(x, y, surface.loglik, levels=levels, colors="white", linewidths=0.8)
        ax.clabel(lines, fmt={lv: f"{p}%" for lv, p in zip(levels, (99, 95, 90, 50), strict=True)})
        fig.colorbar(filled, ax=ax, label="log-likelihood")
        ax.plot(*surface.estimate, marker="x", color="C3", markersize=10, label="MLE")
        ax.set_xlabel(surface.names[0])
        ax.set_ylabel(surface.names[1])
    ax.legend(loc="best")
    ax.set_title(title)
    fig.savefig(path)
    return path


def density_plot(
    data: np.ndarray,
    grid: np.ndarray,
    density: np.ndarray,
    path: Path,
    title: str,
    discrete: bool,
    labels: list[str] | None = None,
) -> Path:
    """The fitted density (or pmf) over the data's histogram (or relative frequencies)."""
    fig = _figure()
    ax = fig.add_subplot()
    if discrete:
        values, counts = np.unique(data, return_counts=True)
        ax.bar(values, counts / counts.sum(), width=0.8, alpha=0.45, label="data")
        ax.plot(grid, density, "o-", color="C3", label="fitted pmf")
        if labels is not None:
            ax.set_xticks(grid, labels)
        ax.set_ylabel("probability")
    else:
        ax.hist(data, bins="auto", density=True, alpha=0.45, label="data")
        ax.plot(grid, density, color="C3", label="fitted density")
        ax.set_ylabel("density")
    ax.set_xlabel("x")
    ax.legend(loc="best")
    ax.set_title(title)
    fig.savefig(path)
    return path

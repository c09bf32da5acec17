"""Matplotlib figures, written as PNG. They draw what they are given and fit nothing.

matplotlib is imported here only, with the non-interactive Agg backend, so runs without
plots never pay for it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runner.stats.surface import Surface


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


def _panels(count: int, width: float = 4.2, height: float = 3.4):
    """A figure with ``count`` side-by-side axes (wrapping after three)."""
    columns = min(count, 3)
    rows = -(-count // columns)
    fig = _figure(width * columns, height * rows)
    return fig, [fig.add_subplot(rows, columns, i + 1) for i in range(count)]


def _label(ax, name: str, xlabel: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_title(name)
    ax.legend(fontsize=7)


def _save(fig, title: str, path: Path) -> Path:
    fig.suptitle(title)
    fig.savefig(path)
    return path


def rmse_plot(summary, slopes, path: Path, title: str) -> Path:
    """RMSE against n on log-log axes, per parameter: the Cramer-Rao line and the slope."""
    mle = summary[summary["estimator"] == "mle"]
    names = list(dict.fromkeys(mle["parameter"]))
    fig, axes = _panels(len(names))
    for ax, name in zip(axes, names, strict=True):
        rows = mle[mle["parameter"] == name]
        ax.loglog(rows["size"], rows["rmse"], "o-", label="RMSE (MLE)")
        others = summary[(summary["estimator"] != "mle") & (summary["parameter"] == name)]
        for estimator, group in others.groupby("estimator"):
            ax.loglog(group["size"], group["rmse"], "s--", label=f"RMSE ({estimator.upper()})")
        if np.isfinite(rows["crlb"]).any():
            ax.loglog(rows["size"], np.sqrt(rows["crlb"]), "k:", label="sqrt(CRLB)")
        fit = slopes[(slopes["estimator"] == "mle") & (slopes["parameter"] == name)]
        if len(fit) and np.isfinite(fit["slope"].iloc[0]):
            slope, intercept = fit["slope"].iloc[0], fit["intercept"].iloc[0]
            if "sizes" in fit:  # the sizes the slope was fitted on (not those above N/4)
                sizes = np.asarray(fit["sizes"].iloc[0], dtype=float)
            else:
                sizes = rows["size"][rows["size"] >= fit["from_size"].iloc[0]]
            ax.loglog(sizes, np.exp(intercept) * sizes**slope, color="C3", alpha=0.6,
                      label=f"fitted slope {slope:.3f}")  # fmt: skip
        ax.set_ylabel("RMSE")
        _label(ax, name, "n")
    return _save(fig, title, path)


def estimates_plot(summary, path: Path, title: str, truth_label: str = "truth") -> Path:
    """Mean estimate against n with the 2.5-97.5% band of the replicates and the truth."""
    names = list(dict.fromkeys(summary["parameter"]))
    fig, axes = _panels(len(names))
    for ax, name in zip(axes, names, strict=True):
        for i, (estimator, rows) in enumerate(
            summary[summary["parameter"] == name].groupby("estimator")
        ):
            color = f"C{i}"
            ax.fill_between(rows["size"], rows["q025"], rows["q975"], color=color, alpha=0.2)
            ax.plot(rows["size"], rows["mean"], "o-", color=color,
                    label=f"{estimator.upper()} mean, 95% band")  # fmt: skip
        ax.axhline(summary[summary["parameter"] == name]["truth"].iloc[0], color="k",
                   linestyle="--", label=truth_label)  # fmt: skip
        ax.set_xscale("log")
        _label(ax, name, "n")
    return _save(fig, title, path)


def stream_plot(stream, path: Path, title: str, truth_label: str = "truth") -> Path:
    """The running estimate from the first k observations of one sample path."""
    names = list(dict.fromkeys(stream["parameter"]))
    fig, axes = _panels(len(names))
    for ax, name in zip(axes, names, strict=True):
        rows = stream[stream["parameter"] == name]
        ax.plot(rows["k"], rows["estimate"], color="C0", label="estimate from x_1..x_k")
        ax.axhline(rows["truth"].iloc[0], color="k", linestyle="--", label=truth_label)
        ax.set_xscale("log")
        _label(ax, name, "k")
    return _save(fig, title, path)

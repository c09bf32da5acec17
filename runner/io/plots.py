"""Matplotlib figures, written as PNG. They draw what they are given and fit nothing.

matplotlib is imported inside the functions only, with the non-interactive Agg backend:
it costs about 0.4 s, and runs without plots never pay for it.

One style across the kinds, so a reader learns it once: the MLE red, the MAP orange, the
truth black and dashed (a star on a contour map), the data light blue, reference lines
grey and dotted, the Cramer-Rao bound green. Every axis is labelled (parameters by the
family's own names), a figure that draws more than one thing has a legend, and a log
axis says so where its ticks alone would not (a probability axis). Likelihood plots all
show the same likelihood-ratio confidence levels (``surface.LEVELS``), so they read alike.

``SAVE_HOOK``, when set, is called with each figure and its path once saved: tests check
the figures' objects there (labels, scales, markers, contour levels), not pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from runner.stats.surface import OUTER, Surface

SAVE_HOOK: Callable[[Any, Path], None] | None = None

COLORS = {
    "MLE": "#d62728",
    "MAP": "#ff7f0e",
    "truth": "black",
    "data": "#9ecae1",
    "reference": "0.45",
    "crlb": "#2ca02c",
    "slope": "#9467bd",
}
LINES = {"MLE": "-", "MAP": "-.", "truth": "--"}
MARKERS = {"MLE": "X", "MAP": "D", "truth": "*"}
LOG_RATIO = 100.0  # masses spanning more than this factor go on a log axis
GROUPED_BARS = 40  # up to this many support points, the masses are bars side by side

# (key, legend label, values): one curve or set of masses to draw, styled by its key.
Curve = tuple[str, str, np.ndarray]


def _figure(width: float = 6.4, height: float = 4.4):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _panels(count: int, width: float = 4.4, height: float = 3.5):
    """A figure with ``count`` side-by-side axes (wrapping after three)."""
    columns = min(count, 3)
    rows = -(-count // columns)
    fig = _figure(width * columns, height * rows)
    return fig, [fig.add_subplot(rows, columns, i + 1) for i in range(count)]


def _save(fig, path: Path, title: str | None = None) -> Path:
    """Write the figure (after fixing log ticks, which need the final limits); hook."""
    if title:
        fig.suptitle(title)
    for ax in fig.axes:
        _tidy_log_ticks(ax)
    fig.savefig(path)
    if SAVE_HOOK is not None:
        SAVE_HOOK(fig, path)
    return path


def _tidy_log_ticks(ax) -> None:
    """A log axis with fewer than three powers of ten in view gets plain-number ticks at
    1-2-5 steps: matplotlib would label its minor ticks (2x10^-1, 3x10^-1, ...) there,
    and they collide."""
    from matplotlib import ticker

    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        low, high = min(low, high), max(low, high)
        if axis.get_scale() != "log" or not low > 0:
            continue
        if np.floor(np.log10(high)) - np.ceil(np.log10(low)) >= 2:
            continue  # three or more decades labelled: matplotlib's own ticks read well
        axis.set_major_locator(ticker.FixedLocator(_log_ticks(low, high)))
        span = high - low  # enough digits that neighbouring ticks read apart
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _, s=span: _fmt(v, s)))
        axis.set_minor_formatter(ticker.NullFormatter())


def _log_ticks(low: float, high: float) -> list[float]:
    """Three to six ticks between ``low`` and ``high``: the densest of the 1-9, 1-2-3-5-7,
    1-2-5, 1-3 and 1 sequences that gives no more than six, or round values evenly spaced
    where even 1-9 gives fewer than three (a span of 21 to 28)."""
    decades = np.arange(np.floor(np.log10(low)) - 1, np.ceil(np.log10(high)) + 1)
    for subs in (tuple(range(1, 10)), (1, 2, 3, 5, 7), (1, 2, 5), (1, 3), (1,)):
        ticks = [float(m * 10.0**e) for e in decades for m in subs if low <= m * 10.0**e <= high]
        if len(ticks) <= 6:
            break
    if len(ticks) >= 3:
        return ticks
    values = _round_values(low, high)
    return values if len(values) >= max(2, len(ticks)) else ticks or [low, high]


def _round_values(low: float, high: float) -> list[float]:
    """Evenly spaced round values in a narrow span (a log axis over a factor of 1.2 or 2)."""
    from matplotlib import ticker

    ticks = ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    return [float(t) for t in ticks if low <= t <= high and t > 0]


def _fmt(value: float, span: float | None = None) -> str:
    """Three significant digits, or enough to tell ``value`` apart at a hundredth of
    ``span`` (an MLE of 50.01 on an axis 0.6 wide is not "50")."""
    digits = 3
    if span and span > 0 and np.isfinite(span) and value and np.isfinite(value):
        digits = int(min(10, max(3, np.ceil(np.log10(abs(value) / span)) + 2)))
    return f"{value:.{digits}g}"


def _named(names: Sequence[str], values: Sequence[float], spans: Sequence[float]) -> str:
    return ", ".join(f"{n} = {_fmt(v, s)}" for n, v, s in zip(names, values, spans, strict=True))


# ---- one fit ----------------------------------------------------------------------------


def likelihood_plot(surface: Surface, path: Path, title: str) -> Path:
    """The log-likelihood relative to its maximum: a curve (one parameter) or a contour
    map (two), with the likelihood-ratio confidence levels drawn and labelled, and the
    MLE, the truth and the MAP marked where known."""
    fig = _figure()
    ax = fig.add_subplot()
    # Scales first: contour labels cut their gaps in the line in screen coordinates.
    for i, (name, log) in enumerate(zip(surface.names, surface.log_axes, strict=True)):
        label = f"{name} (log scale)" if log else name
        if i == 0:
            ax.set_xscale("log" if log else "linear")
            ax.set_xlabel(label)
        else:
            ax.set_yscale("log" if log else "linear")
            ax.set_ylabel(label)
    if len(surface.names) == 1:
        _likelihood_curve(ax, surface)
    else:
        ax.set_xlim(surface.axes[0][0], surface.axes[0][-1])
        ax.set_ylim(surface.axes[1][0], surface.axes[1][-1])
        _likelihood_contours(fig, ax, surface)
    spans = [a[-1] - a[0] for a in surface.axes]
    for label, values in surface.off_grid.items():  # named, so its absence is not a doubt
        ax.plot([], [], marker=MARKERS[label], linestyle="none", color=COLORS[label],
                label=f"{label} off the plot: {_named(surface.names, values, spans)}")  # fmt: skip
    if surface.open:  # the likelihood never falls that far: the region has no end there
        along = ", ".join(surface.open)
        ax.plot(
            [],
            [],
            linestyle="none",
            label=f"{OUTER:.0%} region open: runs past the plot in {along}",
        )
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    ax.set_title(title)
    return _save(fig, path)


def _likelihood_curve(ax, surface: Surface) -> None:
    x, rel = surface.axes[0], surface.relative
    outer = surface.drops[OUTER]
    ax.plot(x, rel, color="0.15", linewidth=1.6, label="log-likelihood")
    from matplotlib.transforms import blended_transform_factory

    right = blended_transform_factory(ax.transAxes, ax.transData)
    for level, drop in surface.drops.items():
        ax.axhline(-drop, color=COLORS["reference"], linewidth=0.8, linestyle=":")
        ax.text(1.01, -drop, f"{level:.0%}", transform=right, va="center", fontsize=8,
                color="0.3")  # fmt: skip
    ax.plot([], [], color=COLORS["reference"], linewidth=0.8, linestyle=":",
            label="likelihood-ratio CI levels (chi2, 1 df)")  # fmt: skip
    name, span = surface.names[0], x[-1] - x[0]
    ax.axvline(surface.estimate[0], color=COLORS["MLE"], linewidth=1.4,
               label=f"MLE {name} = {_fmt(surface.estimate[0], span)}")  # fmt: skip
    for label, values in surface.marks.items():
        ax.axvline(values[0], color=COLORS[label], linestyle=LINES[label], linewidth=1.4,
                   label=f"{label} {name} = {_fmt(values[0], span)}")  # fmt: skip
    ax.set_ylim(-1.6 * outer, 0.12 * outer)
    ax.set_ylabel("log-likelihood - maximum")


def _likelihood_contours(fig, ax, surface: Surface) -> None:
    from matplotlib import colormaps

    x, y = np.meshgrid(*surface.axes, indexing="ij")
    rel = surface.relative
    levels = sorted(-d for d in surface.drops.values())  # 99% (lowest) .. 50%
    names = {-d: f"{level:.0%}" for level, d in surface.drops.items()}
    finite = rel[np.isfinite(rel)]
    floor = min(float(finite.min()) if finite.size else levels[0], levels[0]) - 1.0
    ceiling = max(float(finite.max()) if finite.size else 0.0, 0.0) + 1e-9
    shaded = np.where(np.isfinite(rel), rel, floor)  # zero likelihood: outside every region
    colors = colormaps["Blues"](np.linspace(0.04, 0.78, len(levels) + 1))
    filled = ax.contourf(x, y, shaded, levels=[floor, *levels, ceiling], colors=colors)
    lines = ax.contour(
        x, y, shaded, levels=levels, colors="0.15", linewidths=0.8, linestyles="solid"
    )
    ax.clabel(lines, fmt=lambda v: names[min(names, key=lambda lv: abs(lv - v))], fontsize=8)
    bar = fig.colorbar(filled, ax=ax, spacing="uniform", ticks=levels)
    bar.set_ticklabels([names[lv] for lv in levels])
    bar.set_label("likelihood-ratio confidence region (chi2, 2 df)")
    spans = [a[-1] - a[0] for a in surface.axes]
    ax.plot(*surface.estimate, marker=MARKERS["MLE"], color=COLORS["MLE"], markersize=11,
            markeredgecolor="white", linestyle="none",
            label=f"MLE ({_named(surface.names, surface.estimate, spans)})")  # fmt: skip
    for label, values in surface.marks.items():
        text = f"{label} ({_named(surface.names, values, spans)})"
        ax.plot(*values, marker=MARKERS[label], color=COLORS[label],
                markersize=15 if label == "truth" else 8, markeredgecolor="white",
                linestyle="none", label=text)  # fmt: skip


def pmf_plot(
    support: np.ndarray,
    frequency: np.ndarray,
    masses: list[Curve],
    path: Path,
    title: str,
    n: int,
    labels: list[str] | None = None,
) -> Path:
    """The data's relative frequencies beside the fitted probability masses (and the
    MAP's, and the true ones, where given) at every support point shown; a log axis
    where the masses span more than ``LOG_RATIO`` (0.999 beside 0.001), and a "0" at the
    foot of a bar that is exactly zero, which no axis can show."""
    fig = _figure()
    ax = fig.add_subplot()
    series = [("data", f"data: relative frequency (n = {n:,})", frequency), *masses]
    positive = np.concatenate([np.asarray(v)[np.asarray(v) > 0] for _, _, v in series])
    log = positive.size > 0 and positive.max() / positive.min() > LOG_RATIO
    grouped = len(support) <= GROUPED_BARS
    width = 0.8 / len(series) if grouped else 0.9
    for j, (key, label, values) in enumerate(series):
        if grouped or key == "data":
            offset = (j - (len(series) - 1) / 2) * width if grouped else 0.0
            ax.bar(support + offset, values, width, color=COLORS[key], label=label,
                   edgecolor="white" if grouped else "none", linewidth=0.5)  # fmt: skip
        else:
            marker = "o" if len(support) <= 80 else ""
            ax.plot(support, values, marker=marker, markersize=3, linewidth=1,
                    linestyle=LINES[key], color=COLORS[key], label=label)  # fmt: skip
    if log:
        ax.set_yscale("log")
        ax.set_ylim(positive.min() / 4, positive.max() * 2.5)
        ax.set_ylabel("probability (log scale)")
    else:
        ax.set_ylim(0, max(positive.max() if positive.size else 1.0, 1e-12) * 1.12)
        ax.set_ylabel("probability")
    if grouped:
        from matplotlib.transforms import blended_transform_factory

        foot = blended_transform_factory(ax.transData, ax.transAxes)
        for j, (key, _, values) in enumerate(series):
            offset = (j - (len(series) - 1) / 2) * width
            for x in np.asarray(support)[np.asarray(values) == 0]:
                ax.text(x + offset, 0.01, "0", transform=foot, ha="center", va="bottom",
                        fontsize=8, color="0.2" if key == "data" else COLORS[key])  # fmt: skip
    if labels is not None:
        long = len(labels) > 8 or max(len(t) for t in labels) > 6
        ax.set_xticks(support, labels, rotation=30 if long else 0, ha="right" if long else "center")
        ax.set_xlabel("category")
    else:
        if len(support) <= 25:
            ax.set_xticks(support, [str(int(v)) for v in support])
        else:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("x")
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    ax.set_title(title)
    return _save(fig, path)


def density_plot(
    sample: np.ndarray, grid: np.ndarray, curves: list[Curve], path: Path, title: str, n: int
) -> Path:
    """The data's histogram under the fitted density (and the MAP's, and the true one)."""
    fig = _figure()
    ax = fig.add_subplot()
    shown = "" if sample.size == n else f", histogram of a random {sample.size:,}"
    ax.hist(sample, bins="auto", density=True, color=COLORS["data"],
            label=f"data (n = {n:,}{shown})")  # fmt: skip
    for key, label, values in curves:
        ax.plot(grid, values, color=COLORS[key], linestyle=LINES[key], linewidth=1.6,
                label=label)  # fmt: skip
    ax.set_xlabel("x")
    ax.set_ylabel("probability density")
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    ax.set_title(title)
    return _save(fig, path)


# ---- convergence studies ----------------------------------------------------------------


def _finish(ax, name: str, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(name)
    ax.grid(True, which="major", alpha=0.25)
    ax.legend(fontsize=8, framealpha=0.9)


def _replicates(summary) -> str:
    counts = summary["replicates"].dropna()
    if counts.empty:
        return ""
    low, high = int(counts.min()), int(counts.max())
    return f" ({low:,} replicates per n)" if low == high else f" ({low:,}-{high:,} replicates)"


def _reference(ax, sizes: np.ndarray, anchor_sizes: np.ndarray, anchor_values: np.ndarray,
               label: str = "reference ~ n^-1/2") -> None:  # fmt: skip
    """A line of slope -1/2 on log-log axes, through the geometric mean of the points it
    is anchored on (the sizes the slope was fitted on): the rate a regular model gives."""
    ok = np.isfinite(anchor_values) & (anchor_values > 0)
    if not ok.any():
        return
    scale = np.exp(np.mean(np.log(anchor_values[ok]) + 0.5 * np.log(anchor_sizes[ok])))
    span = np.geomspace(sizes.min(), sizes.max(), 50)
    ax.loglog(span, scale * span**-0.5, color=COLORS["reference"], linestyle=":",
              linewidth=1.4, label=label)  # fmt: skip


def rmse_plot(summary, slopes, path: Path, title: str) -> Path:
    """RMSE against n on log-log axes, per parameter, with the square root of the
    Cramer-Rao bound (the smallest RMSE an unbiased estimator can have: same scale), an
    n^-1/2 reference line through the data, and the fitted slope."""
    mle = summary[summary["estimator"] == "mle"]
    names = list(dict.fromkeys(mle["parameter"]))
    fig, axes = _panels(len(names))
    for ax, name in zip(axes, names, strict=True):
        rows = mle[mle["parameter"] == name]
        sizes = rows["size"].to_numpy(dtype=float)
        rmse = rows["rmse"].to_numpy(dtype=float)
        ax.loglog(sizes, rmse, "o-", color=COLORS["MLE"], label="RMSE (MLE)")
        others = summary[(summary["estimator"] != "mle") & (summary["parameter"] == name)]
        for estimator, group in others.groupby("estimator"):
            ax.loglog(group["size"], group["rmse"], "s--", color=COLORS["MAP"],
                      label=f"RMSE ({estimator.upper()})")  # fmt: skip
        crlb = rows["crlb"].to_numpy(dtype=float)
        if np.isfinite(crlb).any():
            ax.loglog(sizes, np.sqrt(crlb), color=COLORS["crlb"], linestyle="-.",
                      label="sqrt(CRLB)")  # fmt: skip
        fit = slopes[(slopes["estimator"] == "mle") & (slopes["parameter"] == name)]
        anchor = sizes
        if len(fit) and np.isfinite(fit["slope"].iloc[0]):
            slope, intercept = fit["slope"].iloc[0], fit["intercept"].iloc[0]
            if "sizes" in fit:  # the sizes the slope was fitted on (not those above N/4)
                anchor = np.asarray(fit["sizes"].iloc[0], dtype=float)
            else:
                anchor = sizes[sizes >= fit["from_size"].iloc[0]]
            ax.loglog(anchor, np.exp(intercept) * anchor**slope, color=COLORS["slope"],
                      alpha=0.8, label=f"fitted slope {slope:.3f}")  # fmt: skip
        through = np.isin(sizes, anchor)  # the reference passes through the same points
        if not through.any():
            through = np.ones(sizes.shape, dtype=bool)
        if sizes.size:
            _reference(ax, sizes, sizes[through], rmse[through])
        _finish(ax, name, "n (sample size)", f"RMSE of {name}")
    return _save(fig, path, title + _replicates(summary))


def estimates_plot(summary, path: Path, title: str, truth_label: str = "truth") -> Path:
    """Mean estimate against n with the 2.5-97.5% band of the replicates and the truth."""
    names = list(dict.fromkeys(summary["parameter"]))
    fig, axes = _panels(len(names))
    for ax, name in zip(axes, names, strict=True):
        rows_of = summary[summary["parameter"] == name]
        for estimator, rows in rows_of.groupby("estimator"):
            color = COLORS["MLE"] if estimator == "mle" else COLORS["MAP"]
            ax.fill_between(rows["size"], rows["q025"], rows["q975"], color=color, alpha=0.15,
                            linewidth=0)  # fmt: skip
            ax.plot(rows["size"], rows["mean"], "o-", color=color,
                    label=f"{estimator.upper()}: mean, 2.5-97.5% of replicates")  # fmt: skip
        truth = float(rows_of["truth"].iloc[0])
        ax.axhline(truth, color=COLORS["truth"], linestyle=LINES["truth"],
                   label=f"{truth_label} {_fmt(truth)}")  # fmt: skip
        ax.set_xscale("log")
        _finish(ax, name, "n (sample size)", f"estimate of {name}")
    return _save(fig, path, title + _replicates(summary))


def stream_plot(stream, path: Path, title: str, truth_label: str = "truth") -> Path:
    """The running estimate from the first k observations of one sample path, on a log
    k axis (k = 2 .. N). The y axis covers the path from k = 10 on (from the middle of
    the log axis, for a short path) and the truth, so a wild estimate from the first few
    values (shape 26 from two draws) does not flatten the rest; the legend names the k
    that fall outside."""
    names = list(dict.fromkeys(stream["parameter"]))
    fig, axes = _panels(len(names))
    total = int(stream["k"].max()) if len(stream) else 0
    for ax, name in zip(axes, names, strict=True):
        rows = stream[stream["parameter"] == name]
        k = rows["k"].to_numpy(dtype=float)
        estimate = rows["estimate"].to_numpy(dtype=float)
        truth = float(rows["truth"].iloc[0])
        ax.plot(k, estimate, color=COLORS["MLE"], linewidth=1.3, label="MLE from x_1..x_k")
        if np.isfinite(truth):
            ax.axhline(truth, color=COLORS["truth"], linestyle=LINES["truth"],
                       label=f"{truth_label} {_fmt(truth)}")  # fmt: skip
        settled = np.isfinite(estimate)
        if settled.any():
            start = min(10.0, np.sqrt(k[settled].min() * k[settled].max()))
            if (settled & (k >= start)).any():
                settled &= k >= start
            low, high = estimate[settled].min(), estimate[settled].max()
            if np.isfinite(truth):
                low, high = min(low, truth), max(high, truth)
            pad = 0.08 * (high - low or abs(high) or 1.0)
            low, high = low - pad, high + pad
            ax.set_ylim(low, high)
            off = k[np.isfinite(estimate) & ((estimate < low) | (estimate > high))]
            if off.size:
                ax.plot([], [], linestyle="none",
                        label=f"(off the y range: k <= {int(off.max()):,})")  # fmt: skip
        ax.set_xscale("log")
        _finish(ax, name, "k (observations used)", f"estimate of {name}")
    return _save(fig, path, f"{title} (N = {total:,})" if total else title)

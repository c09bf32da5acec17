"""``survival.png``: a censored fit against the data without a model.

Right-censored (and exact) data: the Kaplan-Meier estimate of the survival function, a
step at each failure with a tick at each censoring time, under the fitted survival
curve (and the true one, when known). Data with left- or interval-censored values: each
observation as the interval it is known to lie in, at its rank, over the fitted cdf
(fitdistrplus' plotdistcens without the NPMLE); a Turnbull estimate is still to come.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runner.io import plots


def kaplan_meier(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Failure times and the Kaplan-Meier survival just after each, from exact and
    right-censored pairs (a value censored at t is still at risk at a failure at t)."""
    low, high = pairs[:, 0], pairs[:, 1]
    exact = low == high
    times = np.sort(low)
    failures, counts = np.unique(low[exact], return_counts=True)
    at_risk = times.size - np.searchsorted(times, failures, side="left")
    return failures, np.cumprod(1.0 - counts / at_risk)


def censored_figure(family, pairs: np.ndarray, fit, path: Path, truth=None) -> Path:
    fig = plots._figure()
    ax = fig.add_subplot()
    low, high = pairs[:, 0], pairs[:, 1]
    exact = low == high
    right = np.isposinf(high) & ~exact
    finite = np.concatenate([low[np.isfinite(low)], high[np.isfinite(high)]])
    span = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = 0.05 * ((span[1] - span[0]) or 1.0)
    grid = np.linspace(span[0] - pad, span[1] + pad, 400)
    fitted = family.scipy_dist(fit.params)
    if np.all(exact | right):
        times, survival = kaplan_meier(pairs)
        steps_x = np.concatenate([[grid[0]], np.repeat(times, 2), [grid[-1]]])
        steps_y = np.concatenate([[1.0, 1.0], np.repeat(survival, 2)])
        label = f"Kaplan-Meier (n = {pairs.shape[0]:,}, {right.sum():,} censored)"
        ax.plot(steps_x, steps_y, color=plots.COLORS["data"], linewidth=2, label=label)
        if right.any():
            marks = np.interp(low[right], np.concatenate([[grid[0]], times]),
                              np.concatenate([[1.0], survival]))  # fmt: skip
            ax.plot(low[right], marks, linestyle="none", marker="|", markersize=7,
                    color="0.35", label="censored")  # fmt: skip
        _curves(ax, grid, fitted.sf, truth and family.scipy_dist(truth).sf, fit, "survival")
        ax.set_ylabel("survival probability S(t)")
        ax.set_xlabel("t")
        title = f"{fit.model}: fitted survival against Kaplan-Meier"
    else:
        order = np.argsort(np.where(np.isfinite(low), low, high) + np.where(
            np.isfinite(high), high, low), kind="stable")  # fmt: skip
        ranks = (np.arange(1, pairs.shape[0] + 1) - 0.5) / pairs.shape[0]
        lo = np.where(np.isfinite(low[order]), low[order], grid[0])
        hi = np.where(np.isfinite(high[order]), high[order], grid[-1])
        label = f"data: the interval each value lies in (n = {pairs.shape[0]:,})"
        ax.hlines(ranks, lo, hi, color=plots.COLORS["data"], linewidth=2, label=label)
        point = exact[order]
        ax.plot(lo[point], ranks[point], linestyle="none", marker="o", markersize=4,
                color=plots.COLORS["data"], label="exact values")  # fmt: skip
        _curves(ax, grid, fitted.cdf, truth and family.scipy_dist(truth).cdf, fit, "cdf")
        ax.set_ylabel("cumulative probability F(x)")
        ax.set_xlabel("x")
        title = f"{fit.model}: fitted cdf against the censored data"
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    ax.set_title(title)
    return plots._save(fig, path)


def _curves(ax, grid, fitted, true, fit, what: str) -> None:
    """The fitted curve in the MLE's red, and the true one dashed where it is known."""
    ax.plot(grid, fitted(grid), color=plots.COLORS["MLE"], linewidth=1.6,
            label=f"fitted {what}, MLE ({fit.model})")  # fmt: skip
    if true:
        ax.plot(grid, true(grid), color=plots.COLORS["truth"], linestyle=plots.LINES["truth"],
                linewidth=1.4, label=f"true {what}")  # fmt: skip

"""``survival.png``: a censored fit against the data's nonparametric MLE.

Right-censored (and exact) data: the Kaplan-Meier estimate of the survival function, a
step at each failure with a tick at each censoring time, under the fitted survival
curve (and the true one, when known). Data with left- or interval-censored values: the
Turnbull NPMLE of the cdf (``runner.stats.turnbull``) under the fitted cdf. The NPMLE
fixes only the mass of each Turnbull interval, not where inside it that mass lies, so
the curve is drawn where it is determined and each interval holding mass is a shaded
box from the cdf below it to the cdf above it (as fitdistrplus' plotdistcens draws its
NPMLE): a fitted cdf agrees with the data where it passes through the boxes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runner.io import plots
from runner.stats.turnbull import turnbull

FIGURE_MAX_ITER = 2_000  # EM-ICM cycles for the picture; a stop before converging is said
NPMLE_LINE = "#3182bd"  # the darker blue of the data's: the line over its pale boxes


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
        _curves(ax, grid, fitted.sf, truth and family.scipy_dist(truth).sf, fit)
        ax.set_ylabel("survival probability S(t)")
        ax.set_xlabel("t")
        title = f"{fit.model}: fitted survival against Kaplan-Meier"
    else:
        npmle = turnbull(pairs, max_iter=FIGURE_MAX_ITER)
        _turnbull_cdf(ax, npmle, grid[0], grid[-1])
        _curves(ax, grid, fitted.cdf, truth and family.scipy_dist(truth).cdf, fit)
        ax.set_ylabel("cumulative probability F(x)")
        ax.set_xlabel("x")
        title = f"{fit.model}: fitted cdf against the Turnbull NPMLE"
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    ax.set_title(title)
    return plots._save(fig, path)


def _turnbull_cdf(ax, npmle, start: float, stop: float) -> None:
    """The NPMLE's cdf, a line where it is determined and a shaded box over each
    Turnbull interval with mass (clipped to the axes where it reaches +-inf). Drawn
    from the cdf's bounds on each piece between interval ends, so 10^5 intervals are
    one line and one fill."""
    ends = np.concatenate([npmle.left, npmle.right])
    ends = np.unique(np.clip(ends[np.isfinite(ends)], start, stop))
    x = np.unique(np.concatenate([[start], ends, [stop]]))
    middle = (x[:-1] + x[1:]) / 2  # each piece's bounds, ends aside (they hold no area)
    lower, upper = npmle.cdf(middle)
    lower, upper = np.append(lower, lower[-1]), np.append(upper, upper[-1])
    determined = np.where(upper - lower <= 1e-9, lower, np.nan)
    stopped = "" if npmle.converged else f", stopped after {npmle.iterations:,} iterations"
    label = f"Turnbull NPMLE (n = {npmle.n:,}{stopped})"
    ax.plot(x, determined, drawstyle="steps-post", color=NPMLE_LINE,
            linewidth=1.8, label=label)  # fmt: skip
    points = (npmle.left == npmle.right) & (npmle.mass > 0)  # an exact value's jump
    ax.vlines(npmle.left[points], npmle.before()[points], npmle.after()[points],
              color=NPMLE_LINE, linewidth=1.8)  # fmt: skip
    ax.fill_between(x, lower, upper, step="post", facecolor=plots.COLORS["data"],
                    edgecolor=NPMLE_LINE, linewidth=0.6, alpha=0.8,
                    label="NPMLE undetermined (Turnbull intervals)")  # fmt: skip


def _curves(ax, grid, fitted, true, fit) -> None:
    """The fitted curve in the MLE's red, and the true one dashed where it is known."""
    ax.plot(grid, fitted(grid), color=plots.COLORS["MLE"], linewidth=1.6,
            label=f"fitted {fit.model} (MLE)")  # fmt: skip
    if true:
        ax.plot(grid, true(grid), color=plots.COLORS["truth"], linestyle=plots.LINES["truth"],
                linewidth=1.4, label="truth")  # fmt: skip

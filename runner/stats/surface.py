"""The log-likelihood around the estimate, on a grid: what the likelihood plots draw.

Only for fits with one or two free scalar parameters (a curve or a contour map).

The grid is chosen from the likelihood itself, not from standard errors: a quadratic
guess is wrong where the plots matter most (n = 8, whose region is skewed; p = 0 on the
boundary, which has no standard error at all). Along each axis the grid spans the region
where the log-likelihood is within ``chi2(d, 0.99) / 2`` of its maximum (d = 1 or 2 free
parameters: the 99% likelihood-ratio region), found by a search on the unconstrained
scale (log for positive parameters, logit for probabilities, so the region's long tail
towards large values is reached in a few steps). With two parameters the box then grows
until that region no longer touches its edges (a correlated pair reaches further than
either axis alone). The truth and the MAP, where known and not far off, are brought into
the grid so the plot can mark them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, logit

from runner.stats.constraints import Param
from runner.stats.families.base import Family, Stats
from runner.stats.result import Fit

LEVELS = (0.50, 0.90, 0.95, 0.99)  # the likelihood-ratio confidence levels every plot shows
OUTER = LEVELS[-1]  # the grid spans this region, with a margin
MARGIN = 0.12  # of the region's span, each side: the outer contour closes inside the plot
FAR = 2.0  # a truth or MAP further than this many region spans away is named, not drawn
LOG_AXIS_RATIO = 30.0  # a positive axis spanning more than this factor is drawn on log scale


def lr_drops(df: int) -> dict[float, float]:
    """Drop of the log-likelihood below its maximum that bounds each likelihood-ratio
    confidence region (Wilks: ``2 (max - loglik) ~ chi2(df)``), by confidence level."""
    from scipy.stats import chi2

    return {level: float(chi2.ppf(level, df)) / 2 for level in LEVELS}


@dataclass
class Surface:
    """The log-likelihood on a grid over the free parameters, with what to mark on it."""

    names: list[str]
    axes: list[np.ndarray]  # natural scale; evenly spaced on the unconstrained scale
    loglik: np.ndarray  # shape (len(axes[0]),) or (len(axes[0]), len(axes[1]))
    estimate: list[float]
    top: float = np.nan  # the maximum log-likelihood (at the MLE)
    drops: dict[float, float] = field(default_factory=dict)  # level -> drop (see lr_drops)
    log_axes: list[bool] = field(default_factory=list)  # draw this axis on a log scale
    marks: dict[str, list[float]] = field(default_factory=dict)  # "truth", "MAP" in the grid
    off_grid: dict[str, list[float]] = field(default_factory=dict)  # too far off to draw
    open: list[str] = field(default_factory=list)  # the 99% region runs past the grid here

    @property
    def relative(self) -> np.ndarray:
        """``loglik - top``: 0 at the MLE, ``-drops[level]`` on each region's edge."""
        return self.loglik - self.top


def likelihood_surface(family: Family, stats: Stats, fit: Fit, points: int = 61) -> Surface | None:
    """Log-likelihood on a grid over the free parameters, or None if there are not 1 or 2.

    ``points`` per axis for two parameters; a single parameter's curve gets three times as
    many (it costs nothing and its ends are steep)."""
    free = [p for p in family.params if p.name not in _fixed_names(fit)]
    if not 1 <= len(free) <= 2 or any(p.is_vector for p in free):
        return None
    if not np.isfinite(fit.loglik):
        return None
    center = [float(fit.params[p.name]) for p in free]
    scales = [_Scale.of(p, c) for p, c in zip(free, center, strict=True)]
    z0 = [s.to_z(c) for s, c in zip(scales, center, strict=True)]
    evaluate = _evaluator(family, stats, fit.params, free, scales)
    drops = lr_drops(len(free))
    top = float(fit.loglik)
    outer = drops[OUTER]

    box, limits = [], []
    for i, (p, scale) in enumerate(zip(free, scales, strict=True)):
        step = scale.z_step(center[i], fit.se.get(p.name))
        reach = scale.z_cap(step)  # an unbounded region is drawn this far, and said open
        limit = [max(z0[i] - reach, scale.z_low), min(z0[i] + reach, scale.z_high)]
        limits.append(limit)

        def line(z: np.ndarray, i: int = i) -> np.ndarray:
            coords = [np.full(z.shape, v) for v in z0]
            coords[i] = z
            return evaluate(coords)

        low = z0[i] - _reach(line, z0[i], -1, step, limit[0], top - outer)
        high = z0[i] + _reach(line, z0[i], +1, step, limit[1], top - outer)
        if len(free) == 2 and fit.se.get(p.name):  # the quadratic guess of the region's shadow
            half = np.sqrt(2 * outer) * step
            low, high = (
                max(min(low, z0[i] - half), limit[0]),
                min(max(high, z0[i] + half), limit[1]),
            )
        box.append([low, high])
    if len(free) == 2:
        box = _grow(evaluate, box, limits, top - outer)
        top = max(top, _finite_max(_grid_values(evaluate, box, 25)[1]))
    box = _with_margin(box, scales)

    marks, off_grid = {}, {}
    for label, values in _marks(fit, free).items():
        z = [s.to_z(v) for s, v in zip(scales, values, strict=True)]
        if all(_near(zi, lo, hi) for zi, (lo, hi) in zip(z, box, strict=True)):
            for zi, edge, scale in zip(z, box, scales, strict=True):
                pad = 0.05 * (edge[1] - edge[0])
                edge[0] = max(min(edge[0], zi - pad), scale.z_low)
                edge[1] = min(max(edge[1], zi + pad), scale.z_high)
            marks[label] = values
        else:
            off_grid[label] = values

    count = 3 * points if len(free) == 1 else points
    axes_z, values = _grid_values(evaluate, box, count)
    top = max(top, _finite_max(values))
    axes = [s.from_z(a) for s, a in zip(scales, axes_z, strict=True)]
    log_axes = [
        s.kind == "log" and bool(a[-1] / a[0] > LOG_AXIS_RATIO)
        for s, a in zip(scales, axes, strict=True)
    ]
    open_axes = _open_axes(values >= top - outer, box, scales)
    return Surface([p.name for p in free], axes, values, center, top, drops, log_axes,
                   marks, off_grid, [free[i].name for i in open_axes])  # fmt: skip


def _open_axes(inside: np.ndarray, box: list[list[float]], scales: list[_Scale]) -> list[int]:
    """Axes along which the 99% region reaches the grid's edge where the parameter space
    goes on: the likelihood never falls that far (negative_binomial size -> infinity at
    n = 8, the Poisson limit), so the region is open and the plot must say so. An edge
    that is the space's own bound (p = 0) cuts the region truly, and is not counted."""
    found = []
    for i, (edge, scale) in enumerate(zip(box, scales, strict=True)):
        along = inside.any(axis=1 - i) if inside.ndim == 2 else inside
        if (along[0] and edge[0] > scale.z_low) or (along[-1] and edge[1] < scale.z_high):
            found.append(i)
    return found


@dataclass(frozen=True)
class _Scale:
    """A parameter's unconstrained coordinate ``z``, and the bounds of ``z``.

    An estimate on the boundary (p = 0) has no finite logit: its axis stays on the
    natural scale, bounded by the parameter space."""

    kind: str  # "log", "logit" or "natural"
    z_low: float = -np.inf
    z_high: float = np.inf

    @staticmethod
    def of(param: Param, center: float) -> _Scale:
        name = param.constraint.name
        if name == "positive":
            return _Scale("log") if center > 0 else _Scale("natural", 0.0)
        if name == "unit_interval":
            return _Scale("logit") if 0 < center < 1 else _Scale("natural", 0.0, 1.0)
        return _Scale("natural")

    def to_z(self, value: float) -> float:
        with np.errstate(divide="ignore"):
            if self.kind == "log":
                return float(np.log(value)) if value > 0 else -np.inf
            if self.kind == "logit":
                return float(logit(value))
        return float(value)

    def from_z(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "log":
            return np.exp(z)
        if self.kind == "logit":
            return expit(z)
        return np.clip(z, self.z_low, self.z_high)

    def z_cap(self, step: float) -> float:
        """How far from the estimate (in ``z``) the grid may reach: four orders of
        magnitude for a positive parameter, odds of 1e5 either way for a probability,
        10,000 first steps on the natural scale."""
        return {"log": np.log(1e4), "logit": np.log(1e5)}.get(self.kind, 1e4 * step)

    def z_step(self, center: float, se: float | None) -> float:
        """A first step for the search: the standard error carried to ``z`` (delta
        method), or a tenth of the value's magnitude where there is none."""
        if se and np.isfinite(se) and se > 0:
            derivative = {"log": center, "logit": center * (1 - center)}.get(self.kind, 1.0)
            return se / derivative
        if self.kind == "natural":
            return 0.1 * max(abs(center), 1e-3)
        return 0.1


def _evaluator(
    family: Family, stats: Stats, params: dict, free: list[Param], scales: list[_Scale]
) -> Callable[[list[np.ndarray]], np.ndarray]:
    """The log-likelihood at points given by their ``z`` coordinates (arrays of one shape):
    in one vectorized call where the family broadcasts, else point by point."""

    def evaluate(coords: list[np.ndarray]) -> np.ndarray:
        shape = coords[0].shape
        theta = dict(params)
        with np.errstate(all="ignore"):  # far steps of the search overflow exp: -inf there
            for p, scale, z in zip(free, scales, coords, strict=True):
                theta[p.name] = scale.from_z(np.asarray(z, dtype=float)).ravel()
            try:
                values = np.asarray(family.loglik(stats, theta), dtype=float)
            except ValueError:  # a family whose loglik does not broadcast over a grid
                values = None
            if values is None or values.size != int(np.prod(shape)):
                flat = [theta[p.name] for p in free]
                values = np.array(
                    [
                        family.loglik(stats, {**theta, **{p.name: v[j] for p, v in
                                                         zip(free, flat, strict=True)}})
                        for j in range(flat[0].size)
                    ],
                    dtype=float,
                )  # fmt: skip
        return values.reshape(shape)

    return evaluate


def _reach(
    line: Callable[[np.ndarray], np.ndarray],
    z0: float,
    sign: int,
    step: float,
    bound: float,
    floor: float,
) -> float:
    """How far from ``z0`` towards ``sign`` the log-likelihood stays above ``floor``: the
    first crossing among steps doubling from ``step * 2^-30``, then refined between the
    two steps around it (two vectorized calls). Up to ``bound``."""
    room = abs(bound - z0)
    offsets = step * 2.0 ** np.arange(-30, 31)
    offsets = offsets[offsets < room]
    if np.isfinite(room):
        offsets = np.append(offsets, room)
    if offsets.size == 0:
        return 0.0
    below = ~(line(z0 + sign * offsets) >= floor)  # NaN and -inf are outside the region
    if not below.any():
        return float(offsets[-1])
    j = int(np.argmax(below))
    if j == 0:
        return float(offsets[0])
    fine = np.linspace(offsets[j - 1], offsets[j], 33)
    below = ~(line(z0 + sign * fine) >= floor)
    return float(fine[int(np.argmax(below))])


def _grid_values(evaluate, box: list[list[float]], count: int):
    axes = [np.linspace(lo, hi, count) for lo, hi in box]
    mesh = np.meshgrid(*axes, indexing="ij")
    return axes, evaluate(mesh)


def _grow(evaluate, box: list[list[float]], limits: list[list[float]], floor: float):
    """Widen each side of a 2-D box whose region above ``floor`` touches it (by half the
    box's span, a few times at most, within ``limits``); then fit the box to the region."""
    for _ in range(8):
        axes, values = _grid_values(evaluate, box, 25)
        inside = values >= floor
        touching = False
        for i in range(2):
            along = inside.any(axis=1 - i)
            span = box[i][1] - box[i][0]
            if along[0] and box[i][0] > limits[i][0]:
                box[i][0] = max(box[i][0] - span / 2, limits[i][0])
                touching = True
            if along[-1] and box[i][1] < limits[i][1]:
                box[i][1] = min(box[i][1] + span / 2, limits[i][1])
                touching = True
        if not touching:
            break
    if inside.any():  # fit the box to the region (one grid cell beyond it each way)
        for i in range(2):
            hit = np.flatnonzero(inside.any(axis=1 - i))
            ax = axes[i]
            box[i] = [ax[max(hit[0] - 1, 0)], ax[min(hit[-1] + 1, len(ax) - 1)]]
    return box


def _with_margin(box: list[list[float]], scales: list[_Scale]) -> list[list[float]]:
    """The region's box plus ``MARGIN`` each side (within the parameter space). A side the
    region does not reach beyond the estimate (a boundary MLE, or the uniform's ends
    where the likelihood drops to zero) still gets the margin, so the edge shows."""
    out = []
    for (lo, hi), scale in zip(box, scales, strict=True):
        span = hi - lo
        if not span > 0:
            span = 1e-3 * max(abs(lo), 1.0)
        out.append([max(lo - MARGIN * span, scale.z_low), min(hi + MARGIN * span, scale.z_high)])
    return out


def _near(z: float, low: float, high: float) -> bool:
    span = high - low
    return bool(np.isfinite(z) and low - FAR * span <= z <= high + FAR * span)


def _marks(fit: Fit, free: list[Param]) -> dict[str, list[float]]:
    """The truth and the MAP of the free parameters, where the fit knows them."""
    found = {}
    for label, attr in (("truth", "truth"), ("MAP", "map")):
        values = [getattr(fit.estimate(p.name), attr) for p in free]
        if all(v is not None and np.isfinite(v) for v in values):
            found[label] = [float(v) for v in values]
    return found


def _finite_max(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else -np.inf


def _fixed_names(fit: Fit) -> set[str]:
    return {e.name for e in fit.estimates if e.fixed}

"""The search behind ``ScipyFamily.maximize``: a likelihood with no closed form, no
analytic derivatives and perhaps a threshold or integer parameters.

1. Continuous parameters: Newton (numerical Hessian) from scipy's starting guess, then
   L-BFGS-B and Nelder-Mead where Newton does not converge, then scipy's own ``fit`` as a
   second start where that ends higher; the best end point wins.
2. A threshold ``loc`` that ends at min(x) (the likelihood rising without bound there):
   a profile over the gap ``min(x) - loc`` looks for an interior local maximum; without
   one there is no MLE, and the fit says so.
3. Integer parameters (binom ``n``, a discrete ``loc``): a walk over the integers from the
   start, each step refitting the others, until neither neighbour is better.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from runner.errors import DataError
from runner.stats import optimizers
from runner.stats.families.pointwise import PointwiseFamily

PROFILE_POINTS = 24  # gaps min(x) - loc from 1e-8 to 3 spreads, evenly in log
EDGE_GAP = 1e-6  # a threshold within this fraction of the spread of min(x) is at the edge
MAX_INTEGER_STEPS = 10_000
NEAR_END = 1e-3  # a support end within this fraction of the spread of an extreme may bind


def maximize_continuous(problem: Any) -> optimizers.Outcome:
    """Several optimizers from the problem's start; the best end point (custom families)."""
    return _climb(problem)


def maximize(family: Any, problem: Any) -> optimizers.Outcome:
    """The whole search; on a large sample, first on a random subsample of it, then from
    that estimate on all the data (the same search, which then has little left to do:
    one log-density evaluation of a large sample costs as much as a whole search of
    the subsample)."""
    x = problem.stats["x"]
    if x.ndim == 1 and x.size > LARGE and not problem.init:
        found = _subsample_estimate(family, problem)
        if found is not None:
            start, ends = found
            outcome = _search(family, _derived(problem, init=start), warm=True, ends=ends)
            outcome.message = (outcome.message + "; " if outcome.message else "") + (
                f"searched on a random subsample of {SUBSAMPLE:,} first, then on all "
                f"{x.size:,} values from there"
            )
            return outcome
    return _search(family, problem)


LARGE = 20_000  # beyond this many values, the search starts on a subsample
SUBSAMPLE = 2_000


def _subsample_estimate(family: Any, problem: Any) -> dict[str, float] | None:
    """The search's estimate on a seeded random subsample that keeps min(x) and max(x)
    (where support ends and thresholds bind); None where it finds none there (the search
    on all the data then decides)."""
    x = problem.stats["x"]
    pick = np.random.default_rng(0).choice(x.size, SUBSAMPLE, replace=False)
    sub = np.concatenate([x[[int(np.argmin(x)), int(np.argmax(x))]], x[pick]])
    smaller = type(problem)(family, family.reduce(sub), dict(problem.fixed), {})
    try:
        outcome = _search(family, smaller)
    except DataError:
        return None
    theta = {k: float(v) for k, v in outcome.theta.items() if k not in problem.fixed}
    if not np.isfinite(loglik_of(problem, {**problem.fixed, **theta})):
        return None
    return theta, outcome.ends


def _search(family: Any, problem: Any, warm: bool = False,
            ends: tuple[str, ...] = ()) -> optimizers.Outcome:  # fmt: skip
    integers = [name for name in family.integer_params() if name not in problem.fixed]
    if integers:
        return _integer_search(family, problem, integers, warm)
    best = _continuous(family, problem, warm, ends)
    return _refuse_runaway(family, problem, best)


RUNAWAY = 1e6  # a shape beyond this (with no upper end to its domain) may be running off
RUNAWAY_DROP = 1e-3  # ... and is, unless ten times further out the likelihood is this lower


def loglik_of(problem: Any, theta: dict[str, Any]) -> float:
    with np.errstate(all="ignore"):
        value = float(problem.family.loglik(problem.stats, theta))
    return value if np.isfinite(value) else -np.inf


WARM_ITERATIONS = 8  # Newton from a warm start: near the maximum in a few, or at a boundary


def _climb(problem: Any, warm: bool = False) -> optimizers.Outcome:
    """Newton, then quasi-Newton and simplex searches where Newton stops short. From a
    warm start (the estimate of a subsample) Newton alone, briefly: it converges in a few
    steps, and where it does not, the maximum is on a boundary that the support-end and
    threshold steps handle, not something a longer climb would reach."""
    if warm:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome = optimizers.Newton(maxiter=WARM_ITERATIONS).maximize(problem)
            if np.isfinite(loglik_of(problem, outcome.theta)):
                return outcome
        except (DataError, np.linalg.LinAlgError, ValueError, FloatingPointError):
            pass
    best = None
    simplex = optimizers.Scipy(method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
    # (warm: the subsample's whole search came first; a simplex on all the data would
    # cost thousands of evaluations of it)
    chain = (optimizers.Scipy(),) if warm else (optimizers.Newton(), optimizers.Scipy(), simplex)
    for optimizer in chain:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                outcome = optimizer.maximize(problem)
            except (DataError, np.linalg.LinAlgError, ValueError, FloatingPointError):
                continue
        if best is None or loglik_of(problem, outcome.theta) > loglik_of(problem, best.theta):
            best = outcome
        if outcome.converged and best is outcome:
            break
    if best is None:
        raise DataError(f"no optimizer found a finite log-likelihood for {problem.label}")
    return best


def _derived(problem: Any, fixed: dict[str, Any] | None = None,
             init: dict[str, Any] | None = None) -> Any:  # fmt: skip
    """The same likelihood with more parameters held, or from another start."""
    return type(problem)(problem.family, problem.stats, {**problem.fixed, **(fixed or {})},
                         {**problem.init, **(init or {})})  # fmt: skip


def _refuse_runaway(family: Any, problem: Any, best: optimizers.Outcome,
                    depth: int = 0) -> optimizers.Outcome:  # fmt: skip
    """A shape that ends huge because the likelihood keeps rising as it grows (beta's b
    -> inf: the gamma limit) has no MLE: the supremum is a limiting case outside the
    family. First the shape is held at moderate values (10, 100, ...): a higher
    likelihood there means the climb went the wrong way, and the search starts again
    from that point. Else it is held ten times further out, the rest refitted: not
    clearly lower there (by ``RUNAWAY_DROP``; the log-density itself rounds at that
    size) means a run-off, and the fit says so."""
    shapes = {s.name for s in family._shape_info()}
    value = loglik_of(problem, best.theta)
    tol = max(RUNAWAY_DROP, 1e-7 * abs(value))
    for p in problem.free:
        v = float(best.theta[p.name])
        if p.name not in shapes or not abs(v) > RUNAWAY:
            continue
        open_end = getattr(p.constraint, "high" if v > 0 else "low", np.inf if v > 0 else -np.inf)
        if np.isfinite(open_end):  # a domain with an end that way: a boundary, not a run-off
            continue
        inward = [np.sign(v) * 10.0**k for k in range(1, 5)]
        held = [(_held_at(family, problem, best, p.name, w), w) for w in inward]
        found = [(loglik_of(problem, o.theta), o) for o, _ in held if o is not None]
        if found and depth < 2:
            top, outcome = max(found, key=lambda t: t[0])
            if top > value + tol:  # the climb ran the wrong way: search again from there
                start = {k: x for k, x in outcome.theta.items() if k not in problem.fixed}
                again = _continuous(family, _derived(problem, init=start))
                return _refuse_runaway(family, problem, again, depth + 1)
        further = 10.0 * v
        probe = _held_at(family, problem, best, p.name, further)
        if probe is None:
            continue
        probe_value = loglik_of(problem, probe.theta)
        if probe_value >= value - tol:  # not clearly lower out there: a run-off
            raise DataError(
                f"no MLE for {family.name} with these parameters free: {p.name} runs off "
                f"to {'-' if v < 0 else ''}infinity ({p.name} = {v:.3g}; held at "
                f"{further:.3g} the log-likelihood is {probe_value:.8g}, not clearly below "
                f"{value:.8g}): the best fit is a limiting case of the family, not a "
                f"member of it. Hold {p.name} (+model.fixed.{p.name}=...) or fit the "
                "limiting family"
            )
    return best


def _held_at(family: Any, problem: Any, best: optimizers.Outcome, name: str,
             value: float) -> optimizers.Outcome | None:  # fmt: skip
    """The rest refitted with ``name`` held at ``value``, from a start with the fitted
    mean and variance."""
    rest = {k: x for k, x in best.theta.items() if k not in problem.fixed and k != name}
    rest.update(_same_moments(family, best.theta, {name: value}, problem.fixed))
    try:
        return _climb(_derived(problem, fixed={name: value}, init=rest))
    except DataError:
        return None


def _same_moments(family: Any, theta: dict[str, Any], moved: dict[str, float],
                  fixed: dict[str, Any]) -> dict[str, float]:  # fmt: skip
    """loc and scale that keep the fitted mean and variance when shapes move to ``moved``:
    a start from which the rest of the fit has little to change (a gamma's a ten times
    larger needs loc ~ sqrt(10) times further out)."""
    if "loc" in fixed or "scale" in fixed or family.discrete:
        return {}
    shapes = [float(theta[s.name]) for s in family._shape_info()]
    new = [float(moved.get(s.name, theta[s.name])) for s in family._shape_info()]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m, v = (float(t) for t in family.dist.stats(*shapes, moments="mv"))
            m2, v2 = (float(t) for t in family.dist.stats(*new, moments="mv"))
        except Exception:
            return {}
    if not all(np.isfinite([m, v, m2, v2])) or v <= 0 or v2 <= 0:
        return {}
    mean = float(theta["loc"]) + m * float(theta["scale"])
    sd = np.sqrt(v) * float(theta["scale"])
    scale = sd / np.sqrt(v2)
    return {"loc": mean - m2 * scale, "scale": scale}


def _continuous(family: Any, problem: Any, warm: bool = False,
                ends: tuple[str, ...] = ()) -> optimizers.Outcome:  # fmt: skip
    if ends:  # the subsample's maximum had support ends at its extremes (the same as ours)
        start = {**problem.fixed, **problem.init}
        best = optimizers.Outcome(start, "subsample", 0, False, "")
        return _support_ends(family, problem, best, warm)
    best = _climb(problem, warm)
    if not problem.init:
        # scipy's own fit as a second start, wherever it ends higher (a converged climb
        # may have found another local maximum) or the first climb stopped short
        second = _scipy_fit_start(family, problem)
        if second is not None and (
            not best.converged
            or loglik_of(problem, {**problem.fixed, **second}) > loglik_of(problem, best.theta)
        ):
            other = _climb(_derived(problem, init=second))
            if loglik_of(problem, other.theta) > loglik_of(problem, best.theta):
                other.message += " (from scipy's own fit as the start)"
                best = other
    if family.threshold and "loc" in {p.name for p in problem.free}:
        return _threshold(family, problem, best, warm)
    return _support_ends(family, problem, best, warm)


class _EndsPinned(PointwiseFamily):
    """A continuous scipy family with its support's lower and/or upper end held at the
    data's extremes: ``loc`` (and ``scale``, when both ends are held) follow from the
    shapes through ``loc + a scale = min(x)``, ``loc + b scale = max(x)``, where
    [a, b] is the standard support at those shapes."""

    def __init__(self, family: Any, ends: tuple[str, ...], low: float, high: float,
                 start: dict[str, float]):  # fmt: skip
        self.family, self.ends, self.start = family, ends, start
        # a hair outside the extremes, so rounding in loc + a scale cannot leave the
        # extreme observation just outside the support (a change of ~1e-12 in loglik)
        slack = 1e-12 * ((high - low) + abs(low) + abs(high))
        self.low, self.high = low - slack, high + slack
        self.derived = {"loc", "scale"} if len(ends) == 2 else {"loc"}
        self._params = tuple(p for p in family.params if p.name not in self.derived)
        self.shape_names = [s.name for s in family._shape_info()]
        self.name = family.name

    @property
    def params(self):
        return self._params

    def initial(self, stats):
        return dict(self.start)

    def full(self, theta: dict[str, Any]) -> dict[str, Any]:
        shapes = [theta[n] for n in self.shape_names]
        with np.errstate(all="ignore"):
            a, b = self.family.dist.support(*shapes)
            scale = (self.high - self.low) / (b - a) if len(self.ends) == 2 else theta["scale"]
            loc = self.low - a * scale if "lower" in self.ends else self.high - b * scale
        return {**theta, "loc": loc, "scale": scale}

    def pointwise(self, x, theta):
        return self.family.pointwise(x, self.full(theta))


def _end_density_infinite(family: Any, theta: dict[str, Any], end: str) -> bool:
    """The standard density at the support's end, at these shapes, is infinite (beta
    with b < 1 at its upper end): the likelihood has no maximum on that edge."""
    shapes = [float(theta[s.name]) for s in family._shape_info()]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        a, b = family.dist.support(*shapes)
        at = float(a if end == "lower" else b)
        value = float(family.dist.logpdf(at, *shapes))
    return value == np.inf


def _support_ends(family: Any, problem: Any, best: optimizers.Outcome,
                  warm: bool = False) -> optimizers.Outcome:  # fmt: skip
    """Where the support has an end that moves with the parameters (uniform, beta,
    pareto, truncnorm, ...), the maximum can lie where an end meets the smallest or
    largest observation: a boundary of the parameters the data allow, which the climbs
    only approach. Each end (and both) held there, the rest refitted; the best wins. An
    end at an extreme where the density is infinite is no MLE (the likelihood grows
    without bound), and the fit says so."""
    x = problem.stats["x"]
    free = {p.name for p in problem.free}
    if family.discrete or x.ndim != 1 or "loc" not in free:
        return best
    low, high = float(np.min(x)), float(np.max(x))
    spread = (high - low) or 1.0
    shapes = [float(best.theta[s.name]) for s in family._shape_info()]
    with np.errstate(all="ignore"):
        a, b = (float(v) for v in family.dist.support(*shapes))
    with np.errstate(all="ignore"):
        lo_end, hi_end = (float(v) for v in family.scipy_dist(best.theta).support())
    # the ends the climb left near an extreme (an end far from the data is not binding)
    finite = [end for end, v, gap in (("lower", a, low - lo_end), ("upper", b, hi_end - high))
              if np.isfinite(v) and gap <= NEAR_END * spread]  # fmt: skip
    if not finite:
        return best
    choices = [(end,) for end in finite]
    if len(finite) == 2 and "scale" in free:
        choices.append(("lower", "upper"))
    best_value = loglik_of(problem, best.theta)
    for ends in choices:
        pinned = _EndsPinned(family, ends, low, high, {})
        start = {k: v for k, v in best.theta.items() if k in free and k not in pinned.derived}
        pinned.start = {**start, **problem.fixed}
        held = type(problem)(pinned, problem.stats, dict(problem.fixed), start)
        try:
            outcome = _climb(held, warm) if held.dim else optimizers.Outcome(
                held.theta(np.zeros(0)), "none", 0, True, "")
        except DataError:
            continue
        theta = pinned.full(outcome.theta)
        theta = {name: float(theta[name]) for name in family.param_names}
        value = loglik_of(problem, theta)
        if value > best_value + 1e-12 * max(1.0, abs(best_value)):
            where = " and ".join(f"{'min' if e == 'lower' else 'max'}(x) = "
                                 f"{low if e == 'lower' else high:g}" for e in ends)  # fmt: skip
            best = optimizers.Outcome(
                theta, f"support ends held + {outcome.optimizer}", outcome.iterations,
                outcome.converged,
                f"the support's {' and '.join(ends)} end{'s' if len(ends) > 1 else ''} at "
                f"{where}: the likelihood rises as the support closes in on the data and "
                "the density stays finite there, so the maximum is on that boundary "
                "(no Wald standard errors there)",
                outcome.trace,
                ends=ends,
            )
            best_value = value
    _refuse_spike(family, problem, best)
    return best


def _refuse_spike(family: Any, problem: Any, best: optimizers.Outcome) -> None:
    """An end of the support at an extreme observation, with infinite density there: a
    spike of unbounded likelihood, not a maximum."""
    x = problem.stats["x"]
    low, high = float(np.min(x)), float(np.max(x))
    spread = (high - low) or 1.0
    theta = best.theta
    with np.errstate(all="ignore"):
        lo_end, hi_end = (float(v) for v in family.scipy_dist(theta).support())
    for end, gap, extreme in (("lower", low - lo_end, "min"), ("upper", hi_end - high, "max")):
        if np.isfinite(gap) and gap <= EDGE_GAP * spread and _end_density_infinite(
                family, theta, end):  # fmt: skip
            edge = low if end == "lower" else high
            raise DataError(
                f"no MLE for {family.name} with loc and scale free: its density is infinite "
                f"at the {end} end of its support at these shapes, so the likelihood grows "
                f"without bound as that end -> {extreme}(x) = {edge:g}. Hold loc and scale "
                "(e.g. fit(..., fixed={'loc': 0, 'scale': 1}), +model.fixed.loc=0 "
                "+model.fixed.scale=1), or choose a family whose density is finite there"
            )


def _scipy_fit_start(family: Any, problem: Any) -> dict[str, float] | None:
    """scipy's ``dist.fit`` (held parameters passed as ``f<name>``), as a start."""
    if family.discrete or problem.stats["x"].ndim != 1:
        return None
    held = {f"f{k}": float(v) for k, v in problem.fixed.items()}  # floc, fscale, fc, ...
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            values = family.dist.fit(problem.stats["x"], **held)
    except Exception:
        return None
    theta = dict(zip(family.param_names, (float(v) for v in values), strict=True))
    if not np.isfinite(loglik_of(problem, theta)):
        return None
    return {k: v for k, v in theta.items() if k not in problem.fixed}


def _threshold(family: Any, problem: Any, best: optimizers.Outcome,
               warm: bool = False) -> optimizers.Outcome:  # fmt: skip
    x = problem.stats["x"]
    low, high = float(np.min(x)), float(np.max(x))
    spread = (high - low) or 1.0
    gap = low - float(best.theta["loc"])
    if gap > EDGE_GAP * spread:
        return best
    at_threshold = float(family.pointwise(np.array([best.theta["loc"]]), best.theta)[0])
    if at_threshold < np.inf:  # finite density at loc (expon): the maximum is loc = min(x)
        return _threshold_at_minimum(problem, best, low, warm)
    gaps = spread * np.logspace(-8, np.log10(3.0), PROFILE_POINTS)
    profile = []
    for g in gaps:
        held = _derived(problem, fixed={"loc": low - g})
        try:
            outcome = _climb(held, warm)
        except DataError:
            profile.append((-np.inf, None))
            continue
        profile.append((loglik_of(problem, outcome.theta), outcome.theta))
    values = np.array([v for v, _ in profile])
    # An interior local maximum: higher than both neighbours, away from the smallest gap.
    interior = [i for i in range(1, len(values) - 1)
                if np.isfinite(values[i]) and values[i] >= values[i - 1]
                and values[i] >= values[i + 1]]  # fmt: skip
    finite = values[np.isfinite(values)]
    rising = finite.size == 0 or values[0] >= finite.max()  # highest at the smallest gap
    edge_note = (
        f"the likelihood grows without bound as loc -> min(x) = {low:g} (the density is "
        "infinite at the threshold for these shapes)"
    )
    if not interior:
        if rising:
            raise DataError(
                f"no MLE for {family.name} with a free threshold: {edge_note}, and the profile "
                "over loc has no interior maximum. Hold loc (e.g. +model.fixed.loc=0, or "
                f"fit(..., fixed={{'loc': 0}})), or choose a family without a threshold"
            )
        return best
    i = max(interior, key=lambda j: values[j])
    start = {k: v for k, v in profile[i][1].items() if k not in problem.fixed}
    refit = _climb(_derived(problem, init=start), warm)
    if low - float(refit.theta["loc"]) <= EDGE_GAP * spread:  # ran off again: keep the point
        refit = optimizers.Outcome(profile[i][1], "profile over loc", PROFILE_POINTS, True, "")
    refit.message = (refit.message + "; " if refit.message else "") + (
        f"{edge_note}; this is the interior local maximum, found by profiling over loc"
    )
    return refit


def _fitting_start(start: dict[str, int], evaluate) -> tuple[dict[str, int], float, Any]:
    """The first point, growing integer shapes (then lowering loc) by powers of two, at
    which every observation has positive mass."""
    shapes = [name for name in start if name != "loc"]
    moves = [{name: +1 for name in shapes}] if shapes else []
    if "loc" in start:
        moves += [{"loc": -1}, {"loc": +1}]
    for move in moves:
        for power in range(40):
            trial = {k: v + move.get(k, 0) * 2**power for k, v in start.items()}
            value, outcome = evaluate(trial)
            if np.isfinite(value):
                return trial, value, outcome
    value, outcome = evaluate(start)
    return start, value, outcome


def _threshold_at_minimum(problem: Any, best: optimizers.Outcome, low: float,
                          warm: bool = False):  # fmt: skip
    """loc = min(x) exactly, the others refitted there: the boundary maximum of a
    threshold whose density stays finite (expon: loc = min(x), scale = mean - min)."""
    try:
        at_edge = _climb(_derived(problem, fixed={"loc": low}), warm)
    except DataError:
        return best
    theta = {**at_edge.theta, "loc": low}
    if loglik_of(problem, theta) < loglik_of(problem, best.theta):
        return best
    return optimizers.Outcome(
        theta, at_edge.optimizer, at_edge.iterations, at_edge.converged,
        f"loc = min(x) = {low:g}: the likelihood rises as loc approaches the smallest "
        "observation and stays finite there, so the maximum is on that boundary",
        at_edge.trace,
    )


def _integer_search(family: Any, problem: Any, integers: list[str],
                    warm: bool = False) -> optimizers.Outcome:  # fmt: skip
    """Coordinate walks over the integer parameters, refitting the rest at each point."""
    start = {**family.initial(problem.stats), **problem.init}
    current = {name: round(float(start[name])) for name in integers}
    cache: dict[tuple[int, ...], tuple[float, Any]] = {}

    def evaluate(point: dict[str, int]) -> tuple[float, Any]:
        key = tuple(point[n] for n in integers)
        if key not in cache:
            held = _derived(problem, fixed={k: float(v) for k, v in point.items()})
            if any(not held.family.param(k).constraint.contains(np.asarray(float(v)))
                   for k, v in point.items()):  # fmt: skip
                cache[key] = (-np.inf, None)
            elif held.dim == 0:
                theta = held.theta(np.zeros(0))
                cache[key] = (loglik_of(problem, theta),
                              optimizers.Outcome(theta, "integer search", 0, True, ""))  # fmt: skip
            else:
                try:
                    outcome = _climb(held, warm)
                    cache[key] = (loglik_of(problem, outcome.theta), outcome)
                except DataError:
                    cache[key] = (-np.inf, None)
        return cache[key]

    value, outcome = evaluate(current)
    if not np.isfinite(value):  # move the start until the data fit (binom n >= max(x), ...)
        current, value, outcome = _fitting_start(current, evaluate)
    steps = 0
    improved = True
    while improved and steps < MAX_INTEGER_STEPS:
        improved = False
        for name in integers:
            for direction in (1, -1):
                stride = 1
                while steps < MAX_INTEGER_STEPS:
                    steps += 1
                    trial = {**current, name: current[name] + direction * stride}
                    trial_value, trial_outcome = evaluate(trial)
                    if trial_value > value + 1e-12 * max(1.0, abs(value)):
                        current, value, outcome = trial, trial_value, trial_outcome
                        improved = True
                        stride *= 2  # gallop while it climbs
                    elif stride > 1:
                        stride = 1  # overshot: back to unit steps from the best point
                    else:
                        break
        if not improved and len(integers) > 1:  # along a ridge: two at once (hypergeom)
            for i, first in enumerate(integers):
                for second in integers[i + 1:]:
                    for da, db in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                        steps += 1
                        trial = {**current, first: current[first] + da,
                                 second: current[second] + db}  # fmt: skip
                        trial_value, trial_outcome = evaluate(trial)
                        if trial_value > value + 1e-12 * max(1.0, abs(value)):
                            current, value, outcome = trial, trial_value, trial_outcome
                            improved = True
    if outcome is None:
        raise DataError(
            f"no integer values of {', '.join(integers)} give {family.name} a finite "
            "log-likelihood on these data"
        )
    held_text = ", ".join(f"{k} = {v}" for k, v in current.items())
    result = optimizers.Outcome(
        dict(outcome.theta), f"integer search + {outcome.optimizer}", steps + outcome.iterations,
        outcome.converged,
        f"{held_text} by a search over the integers (neither neighbour is better); "
        + (outcome.message or ""),
        outcome.trace,
    )
    result.held = set(integers)  # type: ignore[attr-defined]
    return result

"""Expected Fisher information of right-censored observations, for the Cramer-Rao bound of
a study with censored synthetic data: how much each observation is worth once censored.

A lifetime ``X ~ F_theta`` is seen as ``T = min(X, C)`` with ``delta = [X <= C]``, where
the censoring time ``C = min(right, s E)``, ``E ~ Exp(1)`` independent of ``X`` (either
part may be absent). The censoring law does not involve ``theta``, so per observation

    I = int s_e s_e^T f(x) P(C >= x) dx + int s_c s_c^T S(c) dG(c)
        (+ the atom of C at right: S(right) P(s E >= right) s_c s_c^T at right)

with ``s_e = d log f / d theta`` and ``s_c = d log S / d theta``, central differences in
theta (steps relative to each parameter) over all quadrature nodes at once.

Both integrals run over the same nodes, the quantiles ``x(t) = F^-1(Phi(t))`` of the true
distribution (as in ``runner.stats.information``): in ``t`` the integrands are smooth and
decay like ``phi(t)`` times a polynomial in both tails, and the censored part needs no
nodes of its own where ``X`` has no mass (there ``S = 1`` and ``s_c = 0``). The rule is
Gauss-Legendre on panels of ``t`` from ``-TAIL_T`` to ``min(TAIL_T, t(right))``, with
extra panel ends at ``x = 0`` (where ``P(s E >= x)`` has a kink, for a law with mass below
0) and at ``x = s * E_BREAKS`` (where the censoring survival ``exp(-x / s)`` falls fast
when ``s`` is small against the spread of ``X``). On smooth cases the rule is good to
about 1e-11 and the differences to about 1e-10 relative (the tests ask 1e-8 of both).

An infinite information (a threshold where the density vanishes too slowly) shows as a
sum that still grows in the far tails: the sum within ``|t| <= CHECK_T`` must agree with
the whole to ``AGREE``, else the information is refused.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize, special

from runner.errors import ConfigError
from runner.stats.families.base import Family, Theta
from runner.stats.numdiff import jacobian

TAIL_T = 8.0  # nodes cover Phi(t) for |t| <= 8: 6e-16 of probability left out at each end
CHECK_T = 6.0  # the sum within |t| <= 6 (1e-9 left out) must agree with the whole ...
AGREE = 1e-3  # ... this well (relative), else the information is infinite or nearly so
ORDER = 20  # Gauss-Legendre nodes per panel; panels are at most 1 wide in t
E_BREAKS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  # panel ends at x = s * E
STEP = 1e-5  # relative central-difference step: truncation and rounding both ~1e-11
_GAUSS = np.polynomial.legendre.leggauss(ORDER)


def censoring_scale(family: Family, theta: Theta, rate: float, right: float | None = None) -> float:
    """The scale ``s`` of exponential censoring times ``s E`` such that a share ``rate`` of
    draws from ``family`` at ``theta`` is censored, ``P(X > min(s E, right)) = rate``: the
    censoring of a study fixed by the truth rather than re-fitted to each sample, so every
    replicate shares one censoring law and one information.

    ``P(X > sE) = E[1 - exp(-X+ / s)]`` by quadrature; the root in ``log s`` by brentq.
    """
    dist = _distribution(family, theta)
    rate = float(rate)
    if not 0 < rate < 1:
        raise ConfigError(f"rate = {rate:g}: expected a share of censored draws in (0, 1)")
    right = _check_right(dist, right)
    floor = 0.0 if right is None else float(dist.sf(right))  # s -> infinity
    if floor >= rate:
        raise ConfigError(
            f"censoring at right = {right:g} alone censors a share {floor:.4g} of the draws "
            f"(S(right) at the truth), at least rate = {rate:g}: random censoring cannot "
            "lower it; raise the rate or censor later (a larger right)"
        )
    ceiling = float(dist.sf(0.0 if right is None else min(right, 0.0)))  # s -> 0
    if rate >= ceiling:
        raise ConfigError(
            f"rate = {rate:g}: exponential censoring times are positive, so draws at or "
            f"below 0 are never censored and at most a share {ceiling:.4g} can be"
        )

    def excess(log_s: float) -> float:
        return _censored_share(dist, right, float(np.exp(log_s))) - rate

    centre = np.log(_spread(dist))
    low, high = centre - 1.0, centre + 1.0
    for _ in range(60):  # the share falls from `ceiling` to `floor` as s grows
        if excess(low) > 0:
            break
        low -= high - low
    for _ in range(60):
        if excess(high) < 0:
            break
        high += high - low
    log_s = optimize.brentq(excess, low, high, xtol=1e-13, rtol=4 * np.finfo(float).eps)
    return float(np.exp(log_s))


def censored_information(family: Family, theta: Theta, right: float | None = None,
                         scale: float | None = None) -> np.ndarray:  # fmt: skip
    """Expected information per observation (``family.param_names`` order) of ``X ~ family
    at theta`` censored at ``min(right, scale * E)``: the inverse of the Cramer-Rao bound
    for censored data. Neither given, the ordinary information.

    Raises ``ConfigError`` where it is not defined: a discrete or vector-valued family, no
    scipy distribution, every draw censored, a density or survival not finite near the
    truth within the bulk of the law (a support that moves with the parameters), or an
    information that is infinite (or so nearly that the tails cannot be trusted).
    """
    family, dist = _base(family), _distribution(family, theta)
    right = _check_right(dist, right)
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise ConfigError(f"scale = {scale}: expected a positive, finite censoring scale")
    names = family.param_names

    def logsf(x: np.ndarray, at: Theta) -> np.ndarray:
        return family.scipy_dist(at).logsf(x)

    t, w = _panels(dist, right, scale)
    x = _quantiles(dist, t)
    log_phi = -0.5 * t * t - 0.5 * np.log(2 * np.pi)
    with np.errstate(all="ignore"):
        log_f = np.asarray(family.logpdf(x, theta), dtype=float)
        s_e = _scores(family.logpdf, names, theta, x)
        exact = w * np.exp(log_phi - _censored_hazard(x, scale))  # f dx P(C >= x)
        parts = [(s_e, exact)]
        if scale is not None:  # C = s E < right has density exp(-c / s) / s on c > 0
            # S(c) g(c) dc = S g / f dF, and S(x(t)) = Phi(-t)
            log_g = -x / scale - np.log(scale) + special.log_ndtr(-t) - log_f
            random = np.where(x > 0, w * np.exp(log_phi + log_g), 0.0)
            parts.append((_scores(logsf, names, theta, x), random))
    core = np.abs(t) <= CHECK_T
    info = np.zeros((len(names), len(names)))
    info_core = np.zeros_like(info)
    for score, weight in parts:
        used = weight > 0
        bad = used & ~np.all(np.isfinite(score), axis=1)
        if np.any(bad & core) or not np.all(np.isfinite(weight)):
            first = x[bad & core][0] if np.any(bad & core) else None
            raise ConfigError(_not_finite(family, theta, first))
        ok = used & ~bad  # nodes in the far tails within a step of a moving edge: left out
        info += (score[ok] * weight[ok, None]).T @ score[ok]
        info_core += (score[ok & core] * weight[ok & core, None]).T @ score[ok & core]
    if right is not None:  # those still alive at `right` with C = right
        mass = float(dist.sf(right)) * float(np.exp(-max(right, 0.0) / scale) if scale else 1.0)
        with np.errstate(all="ignore"):
            s_r = _scores(logsf, names, theta, np.array([right]))[0]
        if mass > 0:
            if not np.all(np.isfinite(s_r)):
                raise ConfigError(_not_finite(family, theta, right))
            info += mass * np.outer(s_r, s_r)
            info_core += mass * np.outer(s_r, s_r)
    size = np.sqrt(np.abs(np.outer(np.diag(info), np.diag(info)))) + 1e-300
    if np.max(np.abs(info - info_core) / size) > AGREE:
        raise ConfigError(
            f"the expected information of {family.name} at this truth is infinite or nearly "
            f"so (it still grows beyond {special.ndtr(-CHECK_T):.0e} of probability in the "
            "tails): a threshold where the density vanishes too slowly, a non-regular "
            "model (or almost), where the Cramer-Rao bound does not apply"
        )
    return 0.5 * (info + info.T)


# ---- quadrature -------------------------------------------------------------------------
def _panels(dist, right: float | None, scale: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights in t, on panels at most 1 wide whose ends include
    right, x = 0 and x = scale * E_BREAKS (each mapped to t) where they fall inside."""
    high = TAIL_T if right is None else min(TAIL_T, _t_of(dist, right))
    low = min(-TAIL_T, high - 1.0)
    ends = [low, high, *np.arange(np.ceil(low), high)]
    if scale is not None:
        cuts = [0.0, *(scale * e for e in E_BREAKS)]
        ends += [_t_of(dist, c) for c in cuts if right is None or c < right]
    ends = np.unique(np.clip(np.asarray(ends, dtype=float), low, high))
    ends = ends[np.concatenate([[True], np.diff(ends) > 1e-12])]
    a, b = ends[:-1, None], ends[1:, None]
    nodes, weights = _GAUSS
    t = (0.5 * (a + b) + 0.5 * (b - a) * nodes).ravel()
    return t, (0.5 * (b - a) * weights).ravel()


def _quantiles(dist, t: np.ndarray) -> np.ndarray:
    """``F^-1(Phi(t))``, each half from its own end of the law (for precision)."""
    with np.errstate(all="ignore"):
        x = np.where(t < 0, dist.ppf(special.ndtr(t)), dist.isf(special.ndtr(-t)))
    return np.asarray(x, dtype=float)


def _t_of(dist, x: float) -> float:
    """``Phi^-1(F(x))``, from the nearer tail; +-inf beyond the support."""
    lower = float(dist.cdf(x))
    return float(special.ndtri(lower)) if lower < 0.5 else -float(special.ndtri(dist.sf(x)))


def _censored_hazard(x: np.ndarray, scale: float | None) -> np.ndarray:
    """``-log P(s E >= x)``: 0 without random censoring and for x <= 0."""
    return np.zeros_like(x) if scale is None else np.maximum(x, 0.0) / scale


def _censored_share(dist, right: float | None, scale: float) -> float:
    """``P(X > min(s E, right)) = S(right) + E[(1 - exp(-X+ / s)) 1{X <= right}]``."""
    t, w = _panels(dist, right, scale)
    x = _quantiles(dist, t)
    weight = w * np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)
    share = float(np.sum(weight * -np.expm1(-np.maximum(x, 0.0) / scale)))
    return share + (0.0 if right is None else float(dist.sf(right)))


def _spread(dist) -> float:
    """A positive length of the law, to start the search for the scale from."""
    q1, q2, q3 = (float(v) for v in dist.ppf([0.25, 0.5, 0.75]))
    for v in (q2, q3, q3 - q1):
        if np.isfinite(v) and v > 0:
            return v
    return 1.0


# ---- scores and checks ------------------------------------------------------------------
def _scores(log_fn: Callable, names: list[str], theta: Theta, x: np.ndarray) -> np.ndarray:
    """``d log_fn(x, theta) / d theta`` at every x, (len(x), d): central differences with a
    step of STEP times each parameter (STEP itself for a parameter at 0), via numdiff's
    Jacobian in coordinates scaled by the parameters."""
    z0 = np.array([float(theta[n]) for n in names])
    unit = np.where(z0 != 0, np.abs(z0), 1.0)

    def at(offset: np.ndarray) -> np.ndarray:
        moved = {**theta, **dict(zip(names, z0 + unit * offset, strict=True))}
        return np.asarray(log_fn(x, moved), dtype=float)

    return jacobian(at, np.zeros(len(names)), STEP) / unit


def _base(family: Family) -> Family:
    """The law of X: a ``Censored`` family's base (the censoring is given here, not by the
    data), refused with a truncation (which changes the law)."""
    from runner.stats.families.censored import Censored

    if isinstance(family, Censored):
        if family.truncation is not None:
            raise ConfigError(
                "the censored-data information is for untruncated draws; this family "
                f"truncates to {family.truncation}"
            )
        family = family.base
    return family


def _distribution(family: Family, theta: Theta):
    """The frozen scipy law at theta, refusing families this information is not for."""
    family = _base(family)
    if family.discrete or family.multivariate or any(p.is_vector for p in family.params):
        raise ConfigError(
            f"the censored-data information is for continuous families of scalar "
            f"parameters; {family.name} is not one"
        )
    try:
        return family.scipy_dist(theta)
    except NotImplementedError:
        raise ConfigError(
            f"{family.name} has no scipy distribution (quantiles and survival function), "
            "which the censored-data information needs"
        ) from None


def _check_right(dist, right: float | None) -> float | None:
    if right is None:
        return None
    right = float(right)
    if not np.isfinite(right):
        raise ConfigError(f"right = {right}: expected a finite censoring time (or none)")
    if float(dist.cdf(right)) <= 0:
        raise ConfigError(
            f"right = {right:g} censors every draw (none can fall below it at the truth): "
            "the data carry no information"
        )
    return right


def _not_finite(family: Family, theta: Theta, x: float | None) -> str:
    where = "" if x is None else f" (at x = {x:.6g})"
    shown = ", ".join(f"{k} = {float(v):g}" for k, v in theta.items())
    return (
        f"the log-density or log-survival of {family.name} is not finite near the truth "
        f"({shown}){where}: the support moves with the parameters, so the censored-data "
        "Cramer-Rao bound is not computed"
    )

"""The nonparametric MLE of a distribution function from censored observations
(Turnbull 1976): what a censored fit is compared with when no family is assumed.

The observations are ``(low, high)`` pairs (``runner.stats.families.censored``): equal
for an exact value ``[x, x]``, ``(-inf, c]`` left-censored, ``(c, inf)`` right-censored,
``(l, h]`` an interval. The likelihood of a distribution ``P`` is ``prod_i P(A_i)``, the
probability of each observation's set. It is maximised by distributions that put all
their mass on the *Turnbull intervals* (Peto 1973, Turnbull 1976): the innermost
intervals, each a left end of some observation followed, with no other end between, by a
right end. Only each interval's total mass is determined, not how it spreads inside: the
estimated cdf is known outside the Turnbull intervals and only bounded inside them
(``cdf`` gives both bounds; where they differ the curve is undetermined and a figure
should show the box, not a line).

The masses come from EM-ICM (Wellner and Zhan 1997): each cycle is one of Turnbull's
self-consistency (EM) steps, ``p_j <- p_j d_j`` with ``d_j = (1/N) sum_i w_i [A_i holds
interval j] / P(A_i)``, then one iterative-convex-minorant step (Groeneboom and Wellner
1992; Jongbloed 1998): a Newton step on the cumulative masses with the Hessian's diagonal,
projected back onto non-decreasing cumulative masses by weighted isotonic regression and
halved until the likelihood does not fall. EM alone crawls where masses go to zero
(current-status data: thousands of steps); the ICM step sets them to zero at once.
Each observation's set covers a run of consecutive Turnbull intervals, so ``P(A_i)`` is
a difference of cumulative sums (from the nearer end, so that small probabilities in the
upper tail keep their digits) and ``d`` a cumulative sum of differences: a cycle costs
O(pairs + intervals) with no incidence matrix, after the data are reduced to their
distinct pairs with counts. Exact and right-censored data (Kaplan-Meier), and exact and
left-censored data (the product-limit estimate run backwards), start from their closed
forms, which the first cycle confirms.

The iterations stop when the Karush-Kuhn-Tucker conditions of the NPMLE hold to ``tol``
and an EM step moves no mass by more than ``tol``: ``d_j <= 1 + tol`` for every interval
(``= 1`` where there is mass), which bounds what the log-likelihood could still gain by
``N tol`` (concavity: ``l(p*) - l(p) <= N (max_j d_j - 1)``). A run stopped by
``max_iter`` says so (``converged``, ``note``).

Right-censored (and exact) data give the Kaplan-Meier estimate; exact data alone, the
empirical distribution. The NPMLE's log-likelihood is ``sum_i log P(A_i)``; without exact
values it is the same likelihood a parametric censored fit maximises, over every
distribution, so it is never below any parametric fit's. With exact values the two are
on different scales (a probability for the NPMLE, a density for a continuous family) and
are not comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runner.errors import DataError

TOL = 1e-10
MAX_ITER = 100_000
HALVINGS = 20  # of an ICM step that does not raise the likelihood; then the EM step alone


@dataclass(frozen=True)
class Turnbull:
    """The NPMLE: Turnbull intervals in increasing order and their masses.

    Interval ``j`` is ``[left[j], right[j]]`` where ``closed[j]`` (an exact value, or an
    interval starting at one), else ``(left[j], right[j]]``; ``right`` may be ``inf``
    (mass beyond the last inspection) and ``left`` ``-inf``. ``gradient`` is ``d_j`` above
    (``<= 1`` at the NPMLE, ``= 1`` where the mass is positive).
    """

    left: np.ndarray
    right: np.ndarray
    closed: np.ndarray
    mass: np.ndarray
    gradient: np.ndarray
    loglik: float
    n: int
    distinct: int  # distinct (low, high) pairs the iterations ran on
    iterations: int  # EM-ICM cycles
    converged: bool
    note: str | None = None

    def cdf(self, t) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of ``F(t) = P(X <= t)`` over all NPMLEs: equal outside
        the Turnbull intervals (the mass of every interval ending at or before ``t``),
        apart inside one by that interval's mass."""
        t = np.asarray(t, dtype=float)
        below = np.concatenate([[0.0], np.cumsum(self.mass)])
        lower = below[np.searchsorted(self.right, t, side="right")]
        # an interval holds points <= t if its left end is below t, or at t and closed
        # (at a shared left end the closed interval [t, t] sorts before (t, h])
        starts = np.searchsorted(self.left, t, side="left")
        tied = np.searchsorted(self.left, t, side="right") > starts
        touching = starts + (tied & self.closed[np.minimum(starts, self.mass.size - 1)])
        upper = below[touching]
        return np.minimum(lower, 1.0), np.minimum(upper, 1.0)

    def survival(self, t) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of ``S(t) = P(X > t) = 1 - F(t)``."""
        lower, upper = self.cdf(t)
        return 1.0 - upper, 1.0 - lower

    def before(self) -> np.ndarray:
        """``F`` just below each Turnbull interval (the mass of the ones before it)."""
        return np.concatenate([[0.0], np.cumsum(self.mass)[:-1]])

    def after(self) -> np.ndarray:
        """``F`` at each interval's right end (the mass up to and including it)."""
        return np.cumsum(self.mass)

    def __repr__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return (f"Turnbull(n={self.n}, intervals={self.mass.size}, loglik={self.loglik:.6f}, "
                f"{self.iterations} iterations, {state})")  # fmt: skip


def turnbull(pairs, *, tol: float = TOL, max_iter: int = MAX_ITER) -> Turnbull:
    """The Turnbull NPMLE of ``(n, 2)`` ``(low, high)`` pairs (see the module)."""
    pairs = _checked(pairs)
    low, high, counts = _distinct(pairs)
    values = _sorted_unique(np.concatenate([low, high]))
    # The extended order: key 2r is the value values[r], 2r + 1 the open gap above it.
    # An observation is the run of keys [start, stop]: (l, h] starts just above l.
    opens = 2 * np.searchsorted(values, low) + (low < high)
    shuts = 2 * np.searchsorted(values, high)
    tl, tr = _innermost(_sorted_unique(opens), _sorted_unique(shuts))
    first = np.searchsorted(tl, opens, side="left")  # the run of intervals each covers
    last = np.searchsorted(tr, shuts, side="right") - 1
    closed = tl % 2 == 0
    guess = None  # closed forms where there are some; the first cycle confirms them
    if np.all((low == high) | (high == np.inf)):
        guess = _kaplan_meier(low, high, counts, closed)
    elif np.all((low == high) | (low == -np.inf)):
        guess = _reverse_kaplan_meier(low, high, counts, closed)
    mass, gradient, loglik, iterations, converged = _em(first, last, counts, tl.size,
                                                        tol, max_iter, guess)  # fmt: skip
    note = None
    if not converged:
        note = (f"the Turnbull NPMLE stopped at the cap of {max_iter:,} EM-ICM cycles "
                f"before converging: max d_j - 1 = {gradient.max() - 1:.2g} "
                f"(the log-likelihood may still rise by up to "
                f"{counts.sum() * max(gradient.max() - 1, 0):.2g})")  # fmt: skip
    return Turnbull(
        left=values[tl // 2], right=values[tr // 2], closed=closed, mass=mass,
        gradient=gradient, loglik=loglik, n=int(counts.sum()), distinct=int(counts.size),
        iterations=iterations, converged=converged, note=note,
    )  # fmt: skip


def _checked(pairs) -> np.ndarray:
    """Float pairs, or the first bad row named; (-inf, inf) is allowed (it holds every
    interval and changes nothing)."""
    pairs = np.asarray(pairs, dtype=float)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.shape[0] == 0:
        raise DataError(f"the Turnbull estimate needs (low, high) pairs; got shape "
                        f"{pairs.shape}")  # fmt: skip
    low, high = pairs[:, 0], pairs[:, 1]
    for bad, what in (
        (np.isnan(low) | np.isnan(high), "is missing (NaN)"),
        (low > high, "has low > high"),
        (np.isinf(low) & (low == high), "is infinite"),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"observation {i + 1} ({low[i]:g}, {high[i]:g}) {what}",
                            index=i)  # fmt: skip
    return pairs


def _distinct(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (low, high) pairs and how often each occurs."""
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    low, high = pairs[order, 0], pairs[order, 1]
    new = np.ones(low.size, dtype=bool)
    new[1:] = (low[1:] != low[:-1]) | (high[1:] != high[:-1])
    counts = np.diff(np.append(np.flatnonzero(new), low.size)).astype(float)
    return low[new], high[new], counts


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy 2's hashing unique is several times slower here)."""
    x = np.sort(x)
    keep = np.ones(x.size, dtype=bool)
    keep[1:] = x[1:] != x[:-1]
    return x[keep]


def _innermost(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Turnbull intervals [tl, tr] in keys: a start followed by a stop with no other
    start or stop between (at a shared key the start comes first: [x, x] meets (l, x])."""
    keys = np.concatenate([starts, stops])
    kind = np.concatenate([np.zeros(starts.size, int), np.ones(stops.size, int)])
    order = np.lexsort((kind, keys))
    keys, kind = keys[order], kind[order]
    here = np.flatnonzero((kind[:-1] == 0) & (kind[1:] == 1))
    return keys[here], keys[here + 1]


def _kaplan_meier(low, high, counts, closed) -> np.ndarray:
    """Exact and right-censored pairs: the NPMLE in closed form, the product-limit
    estimate (a value censored at t is at risk at a failure at t). Its masses are at the
    failure times, the closed Turnbull intervals [t, t]; what it leaves goes to the last
    interval, (largest censoring time, inf), when there is one."""
    exact = low == high
    times, failures = low[exact], counts[exact]  # distinct, increasing
    before = np.concatenate([[0.0], np.cumsum(counts)])  # the pairs are sorted by low
    at_risk = counts.sum() - before[np.searchsorted(low, times, side="left")]
    survival = np.cumprod(1.0 - failures / at_risk)
    mass = np.zeros(closed.size)
    mass[closed] = -np.diff(np.concatenate([[1.0], survival]))
    if not closed[-1]:
        mass[-1] = survival[-1] if survival.size else 1.0
    return mass


def _reverse_kaplan_meier(low, high, counts, closed) -> np.ndarray:
    """Exact and left-censored pairs: the product-limit estimate run down from the top,
    ``F(t-) = F(t) (1 - d_t / r_t)`` with ``r_t`` the values known to be at most t: the
    exact ones and those censored strictly below t (one censored at t may be t itself,
    so it is not counted against it). What is left goes to (-inf, smallest censoring
    value], when that is the first Turnbull interval."""
    exact = low == high
    times, failures = high[exact], counts[exact]  # distinct, increasing
    censored_at, censored = high[~exact], counts[~exact]  # (-inf, c]: sorted by c
    below = np.concatenate([[0.0], np.cumsum(censored)])
    at_risk = np.cumsum(failures) + below[np.searchsorted(censored_at, times, side="left")]
    factors = 1.0 - failures / at_risk
    upto = np.concatenate([np.cumprod(factors[::-1])[::-1], [1.0]])  # F(t_k-), then 1
    mass = np.zeros(closed.size)
    mass[closed] = np.diff(upto)
    if not closed[0]:
        mass[0] = upto[0]
    return mass


def _em(first, last, counts, m, tol, max_iter, start=None):
    """EM-ICM on the ``m`` Turnbull intervals, pair i covering ``first[i]..last[i]``,
    from ``start`` or else each pair's weight spread evenly over the intervals it covers;
    returns (mass, gradient, loglik, cycles, converged)."""
    total = counts.sum()
    single = first == last  # a pair covering one interval: its probability is p_j itself
    a, b = first[~single], last[~single] + 1  # the rest: cum[b] - cum[a]
    w_single, w_wide, at = counts[single], counts[~single], first[single]
    direct = np.bincount(at, weights=w_single, minlength=m)

    def probabilities(p, tail=None):
        """P(A_i) of the one-interval pairs and of the rest; the rest from prefix sums
        where they start in the lower half and from suffix sums in the upper (``tail``),
        so a small probability in either tail keeps its digits (a cdf near 1 would keep
        only ~1e-16 of them)."""
        cum = np.concatenate([[0.0], np.cumsum(p)])
        rest = np.concatenate([np.cumsum(p[::-1])[::-1], [0.0]])
        if tail is None:
            tail = cum[a] > 0.5
        return p[at], np.where(tail, rest[a] - rest[b], cum[b] - cum[a]), tail

    def loglik(p) -> float:
        single_p, wide_p, _ = probabilities(p)
        if min(single_p.min(initial=1.0), wide_p.min(initial=1.0)) <= 0:
            return -np.inf
        return float(w_single @ np.log(single_p) + w_wide @ np.log(wide_p))

    def gradient(p):
        """d_j: the log-likelihood's derivative in p_j, over N."""
        _, wide_p, _ = probabilities(p)
        r = w_wide / wide_p
        run = np.cumsum(np.bincount(a, r, minlength=m + 1)
                        - np.bincount(b, r, minlength=m + 1))[:m].astype(float)  # fmt: skip
        with np.errstate(divide="ignore", invalid="ignore"):
            run += np.where(direct > 0, direct / p, 0.0)
        return run / total

    def icm(p):
        """Newton on the cumulative masses C_1..C_{m-1} with the Hessian's diagonal,
        projected onto 0 <= C_1 <= ... <= C_{m-1} <= 1 (weighted isotonic regression),
        halved until the likelihood rises."""
        cum = np.concatenate([[0.0], np.cumsum(p)])
        cum[-1] = 1.0
        single_p, wide_p, tail = probabilities(p)
        prob = np.concatenate([single_p, wide_p])
        weight = np.concatenate([w_single, w_wide])
        lows = np.concatenate([at, a])  # the same pairs, ordered as prob
        highs = np.concatenate([at + 1, b])
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            r, r2 = weight / prob, weight / prob**2
        g = np.bincount(highs, r, minlength=m + 1) - np.bincount(lows, r, minlength=m + 1)
        h = np.bincount(highs, r2, minlength=m + 1) + np.bincount(lows, r2, minlength=m + 1)
        inner, g, h = cum[1:m], g[1:m], h[1:m]
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h)) and np.all(h > 0)):
            return p
        target = np.clip(_isotonic(inner + g / h, h), 0.0, 1.0)
        # the step in the masses from the step in C (not the masses re-read from C, whose
        # rounding near C = 1 would cost more than the step gains)
        move = np.diff(np.concatenate([[0.0], target - inner, [0.0]]))
        step = 1.0
        for _ in range(HALVINGS):
            trial = np.maximum(p + step * move, 0.0)
            trial /= trial.sum()
            # l(trial) - l(p) from the change in each probability: no cancellation
            # between two large log-likelihoods, so a gain of 1e-12 still shows
            change_single, change_wide, _ = probabilities(trial - p, tail)
            single_t, wide_t, _ = probabilities(trial)  # as the next cycle will see them
            if single_t.min(initial=1.0) > 0 and wide_t.min(initial=1.0) > 0:
                with np.errstate(divide="ignore", invalid="ignore"):
                    gain = (w_single @ np.log1p(change_single / single_p)
                            + w_wide @ np.log1p(change_wide / wide_p))  # fmt: skip
                if gain >= 0:
                    return trial
            step /= 2
        return p

    if start is None:
        share = counts / (last - first + 1)
        start = np.cumsum(np.bincount(first, share, minlength=m + 1)
                          - np.bincount(last + 1, share, minlength=m + 1))[:m]  # fmt: skip
    p = np.maximum(start, 0.0)
    p /= p.sum()
    for cycle in range(1, max_iter + 1):
        d = gradient(p)
        em = p * d
        em /= em.sum()
        if d.max() - 1 <= tol and np.max(np.abs(em - p)) <= tol:
            return p, d, loglik(p), cycle, True
        p = icm(em) if m > 1 else em
    d = gradient(p)
    return p, d, loglik(p), max_iter, bool(d.max() - 1 <= tol)


def _isotonic(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    try:
        from scipy.optimize import isotonic_regression
    except ImportError:  # scipy < 1.12
        return _pava(y, w)
    return isotonic_regression(y, weights=w).x


def _pava(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pool adjacent violators, one value at a time (scipy's compiled one where it has
    it)."""
    values, weights, sizes = [], [], []
    for yi, wi in zip(y.tolist(), w.tolist(), strict=True):
        values.append(yi)
        weights.append(wi)
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            v, wt, sz = values.pop(), weights.pop(), sizes.pop()
            total = weights[-1] + wt
            values[-1] = (values[-1] * weights[-1] + v * wt) / total
            weights[-1] = total
            sizes[-1] += sz
    return np.repeat(values, sizes)

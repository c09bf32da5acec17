"""The Turnbull NPMLE: Kaplan-Meier on right-censored data, the empirical cdf on exact
values, R's survival::survfit and fitdistrplus' NPMLE on published data, the optimality
(KKT) conditions checked against an incidence matrix built here from the intervals
themselves, and a log-likelihood no parametric fit exceeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runner.errors import DataError
from runner.io.censored_data import from_left_right
from runner.stats import turnbull as turnbull_module
from runner.stats.estimate import fit_validated
from runner.stats.families import get
from runner.stats.families.censored import Censored
from runner.stats.turnbull import turnbull

DATA = Path(__file__).resolve().parent.parent / "data" / "fitdistrplus"
INF = np.inf

# Breast cosmesis (Finkelstein and Wolfe 1985, Biometrics 41: 933-945): months to breast
# retraction, each (left, right] between two visits, right = inf not seen by the last.
# As in R package MLEcens' `cosmesis` (which writes infinity as 100); 46 women had
# radiotherapy alone, 48 radiotherapy and chemotherapy.
RT = (
    [45, 6, 0, 46, 46, 7, 17, 7, 37, 0, 4, 15, 11, 22, 46, 46, 25, 46, 26, 46, 27, 36, 46, 36, 37,
     40, 17, 46, 11, 38, 5, 37, 0, 18, 24, 36, 5, 19, 17, 24, 32, 33, 19, 37, 34, 36],
    [INF, 10, 7, INF, INF, 16, INF, 14, 44, 8, 11, INF, 15, INF, INF, INF, 37, INF, 40, INF, 34,
     44, INF, 48, INF, INF, 25, INF, 18, INF, 12, INF, 5, INF, INF, INF, 11, 35, 25, INF, INF, INF,
     26, INF, INF, INF],
)  # fmt: skip
RTCT = (
    [8, 0, 24, 17, 17, 24, 16, 13, 11, 16, 18, 17, 32, 23, 44, 14, 0, 5, 12, 11, 33, 31, 13, 19,
     34, 13, 16, 35, 15, 11, 22, 10, 30, 13, 10, 8, 4, 11, 14, 4, 34, 30, 18, 16, 35, 21, 11, 48],
    [12, 22, 31, 27, 23, 30, 24, INF, 13, 20, 25, 26, INF, INF, 48, 17, 5, 8, 20, INF, 40, INF, 39,
     32, INF, INF, 24, INF, 22, 17, 32, 35, 34, INF, 17, 21, 9, INF, 19, 8, INF, 36, 24, 60, 39,
     INF, 20, INF],
)  # fmt: skip

# survival 3.5-3 (R 4.2.2), the same vectors with NA for inf:
#   f <- survfit(Surv(left, right, type = "interval2") ~ 1, data = rt); f$time; f$surv
# survfit places each jump at the middle of its Turnbull interval and reports S after it.
SURVFIT = {
    "RT": (
        [4.5, 6.5, 7.5, 11.5, 15, 15.5, 17, 17.5, 18, 22, 24, 24.5, 25.5, 32, 33, 33.5, 34, 34.5,
         36, 36.5, 37, 38, 39, 40, 42, 45, 46, 47],
        [0.9536619913, 0.9202687489, 0.8316232119, 0.7608773657, 0.7608773657, 0.7608773657,
         0.7608773657, 0.7608564536, 0.7608564536, 0.7608564536, 0.7608564536, 0.6682287272,
         0.6682287263, 0.6682287263, 0.6682287263, 0.5864170552, 0.5864170552, 0.5864170552,
         0.5864170552, 0.5864122849, 0.5864122849, 0.5864122849, 0.4658578369, 0.4658578369,
         0.4655388217, 0.4655388217, 0.4655388217, 0],
    ),
    "RTCT": (
        [4.5, 6.5, 8.5, 11, 11.5, 12.5, 13, 16.5, 18.5, 19.5, 21, 21.5, 22.5, 23, 23.5, 24.5, 30.5,
         31, 31.5, 32, 33.5, 34, 34.5, 35, 35.5, 46, 48, 54],
        [0.9567174316, 0.9134348631, 0.9134348631, 0.9134348631, 0.844221505, 0.844221505,
         0.844221505, 0.6989055003, 0.5576515033, 0.4419894479, 0.4419894479, 0.4419894479,
         0.4419894477, 0.4419894477, 0.4419894477, 0.3420967189, 0.2712524819, 0.2712524819,
         0.2712524816, 0.2712524816, 0.2712519997, 0.2712519997, 0.2712519997, 0.2712519997,
         0.1104094877, 0.05520474384, 0.05520474384, 0],
    ),
}  # fmt: skip

# fitdistrplus 1.1.8's NPMLE (Wang's constrained Newton method, tolerance 1e-6), R 4.2.2:
#   data(salinity); fitdistrplus:::npmle(salinity, method = "Wang")
# (left, right, p): a single value is an exact one's point mass, else (left, right].
SALINITY_WANG = [
    (12.6, 12.6, 0.0224991388059), (12.8, 12.8, 0.0449985869871), (15.0, 15.0, 0.1038856189595),
    (15.0, 20.0, 0.0335724642276), (21.5, 21.5, 0.0570964498430), (23.7, 23.7, 0.0570964502817),
    (26.1, 26.1, 0.0343813990567), (26.2, 26.2, 0.0343815024047), (29.1, 29.1, 0.0687629120803),
    (30.0, 30.0, 0.0343815638413), (35.0, 35.0, 0.1146073372794), (43.9, 43.9, 0.0618209806569),
    (45.7, 45.7, 0.0618209978303), (47.0, 47.0, 0.1236417511471), (49.0, 49.0, 0.1470528465986),
]  # fmt: skip
# ... and for the radiotherapy-alone cosmesis group (fitdistrplus' data frame convention,
# NA right for inf): npmle(rt, method = "Wang")
RT_WANG = [
    (4, 5, 4.52948763379e-02), (6, 7, 3.18001844108e-02), (7, 8, 8.85354160675e-02),
    (11, 12, 6.89770938530e-02), (24, 25, 9.34969831684e-02), (25, 26, 2.45620819388e-07),
    (33, 34, 8.22546397068e-02), (38, 40, 1.20619128166e-01), (40, 44, 6.77479650773e-04),
    (46, 48, 4.68343953018e-01),
]  # fmt: skip


def pairs_of(group) -> np.ndarray:
    return np.column_stack([np.asarray(group[0], float), np.asarray(group[1], float)])


def incidence(pairs: np.ndarray, left, right, closed) -> np.ndarray:
    """Which Turnbull intervals lie inside which observation, from the sets themselves:
    an exact x is [x, x]; else (low, high], so an interval (l, r] or [l, r] is inside it
    when low <= l (low < l for a closed one) and r <= high."""
    low, high = pairs[:, :1], pairs[:, 1:]
    exact = low == high
    inside_exact = closed & (left == low) & (right == low)
    inside_other = ((left > low) | ((left == low) & ~closed)) & (right <= high)
    return np.where(exact, inside_exact, inside_other)


def dense_loglik(pairs: np.ndarray, left, right, closed, mass) -> float:
    return float(np.log(incidence(pairs, left, right, closed) @ mass).sum())


def kaplan_meier(times: np.ndarray, observed: np.ndarray):
    """The product-limit estimate by its definition, one failure time at a time."""
    failures = np.unique(times[observed])
    survival, s = [], 1.0
    for t in failures:
        at_risk = np.sum(times >= t)  # censored at t: still at risk at a failure at t
        s *= 1 - np.sum((times == t) & observed) / at_risk
        survival.append(s)
    return failures, np.array(survival)


def mixed_sample(n: int, seed: int) -> np.ndarray:
    """Every kind at once, with ties: exact (to 0.1), left-censored at the next whole
    number, right-censored at the half below, intervals between whole numbers."""
    rng = np.random.default_rng(seed)
    t = np.round(rng.weibull(1.5, n) * 2, 1)
    kind = rng.integers(0, 4, n)
    low = np.select([kind == 0, kind == 1, kind == 2], [t, -INF, np.floor(t * 2) / 2],
                    np.floor(t))  # fmt: skip
    high = np.select([kind == 0, kind == 1, kind == 2], [t, np.floor(t) + 1, INF],
                     np.floor(t) + 1)  # fmt: skip
    return np.column_stack([low, high])


@pytest.mark.parametrize("closed_form", [True, False], ids=["product-limit", "iterations"])
def test_right_censored_npmle_is_kaplan_meier(monkeypatch, closed_form):
    if not closed_form:  # the EM-ICM iterations alone, from their own start
        monkeypatch.setattr(turnbull_module, "_kaplan_meier", lambda *args: None)
    rng = np.random.default_rng(3)
    t = np.round(rng.weibull(1.2, 400), 1)  # ties among failures, and with censoring times
    c = np.round(rng.exponential(1.5, 400), 1)
    times, observed = np.minimum(t, c), t <= c
    pairs = np.column_stack([times, np.where(observed, times, INF)])
    failures, survival = kaplan_meier(times, observed)
    r = turnbull(pairs)
    assert r.converged and (r.iterations == 1) == closed_form
    lower, upper = r.survival(failures)
    np.testing.assert_allclose(lower, survival, atol=1e-9)  # determined at the failures
    np.testing.assert_array_equal(lower, upper)
    np.testing.assert_array_equal(r.left[r.closed], failures)
    if times[~observed].max() >= failures.max():  # the rest lies beyond the last censoring
        assert not r.closed[-1] and r.right[-1] == INF
        assert r.mass[-1] == pytest.approx(survival[-1], abs=1e-9)


def test_left_censored_and_exact_in_closed_form_equal_the_iterations(monkeypatch):
    rng = np.random.default_rng(4)
    t = np.round(rng.weibull(1.5, 300), 1)
    limit = np.round(rng.uniform(0, 1.5, 300), 1)
    pairs = np.column_stack([np.where(t <= limit, -INF, t), np.where(t <= limit, limit, t)])
    r = turnbull(pairs)
    assert r.iterations == 1 and r.converged  # the closed form needed no iteration
    monkeypatch.setattr(turnbull_module, "_reverse_kaplan_meier", lambda *args: None)
    iterated = turnbull(pairs)
    assert iterated.converged and iterated.iterations > 1
    np.testing.assert_allclose(r.mass, iterated.mass, atol=1e-8)
    assert r.loglik == pytest.approx(iterated.loglik, abs=1e-9)


def test_exact_values_give_the_empirical_distribution():
    x = np.array([3.0, 1.0, 2.0, 2.0, 5.0, 2.0, 1.0])
    r = turnbull(np.column_stack([x, x]))
    np.testing.assert_array_equal(r.left, [1, 2, 3, 5])
    np.testing.assert_array_equal(r.left, r.right)
    assert r.closed.all()
    np.testing.assert_allclose(r.mass, np.array([2, 3, 1, 1]) / 7, rtol=1e-12)
    grid = np.linspace(0, 6, 61)
    lower, upper = r.cdf(grid)
    np.testing.assert_allclose(lower, np.mean(x[:, None] <= grid, axis=0), rtol=1e-12)
    np.testing.assert_array_equal(lower, upper)


def test_half_open_conventions_for_exact_values_at_interval_ends():
    # 2 exact, (1, 2] (holds 2) and (2, 3] (does not): the Turnbull intervals are [2, 2]
    # and (2, 3]; L = p^2 (1 - p) is largest at p = 2/3
    r = turnbull([[2, 2], [1, 2], [2, 3]])
    np.testing.assert_array_equal(r.left, [2, 2])
    np.testing.assert_array_equal(r.right, [2, 3])
    np.testing.assert_array_equal(r.closed, [True, False])
    np.testing.assert_allclose(r.mass, [2 / 3, 1 / 3], atol=1e-9)
    lower, upper = r.cdf([1.5, 2.0, 2.5, 3.0])
    np.testing.assert_allclose(lower, [0, 2 / 3, 2 / 3, 1], atol=1e-9)
    np.testing.assert_allclose(upper, [0, 2 / 3, 1, 1], atol=1e-9)  # undetermined in (2, 3)
    # left-censored at 1 holds the exact 0.5, not the exact 2: [0.5, 0.5] gets 2/3
    r = turnbull([[-INF, 1], [0.5, 0.5], [2, 2]])
    np.testing.assert_array_equal(r.left, [0.5, 2])
    np.testing.assert_allclose(r.mass, [2 / 3, 1 / 3], atol=1e-9)


@pytest.mark.parametrize("group", ["RT", "RTCT"])
def test_breast_cosmesis_matches_survival_survfit(group):
    pairs = pairs_of(RT if group == "RT" else RTCT)
    r = turnbull(pairs)
    assert r.converged and r.n == pairs.shape[0]
    times, surv = (np.array(v, float) for v in SURVFIT[group])
    lower, _ = r.survival(times)  # after each Turnbull interval: what survfit reports
    # survfit stops when S changes by < 5e-5 in an iteration, which leaves it ~3e-4 short
    np.testing.assert_allclose(lower, surv, atol=5e-4)
    at_survfit = np.zeros(r.mass.size)  # survfit's jumps, each in its Turnbull interval
    jumps = -np.diff(np.concatenate([[1.0], surv]))
    inside = np.searchsorted(r.right, times, side="left")
    np.add.at(at_survfit, inside, jumps)
    theirs = dense_loglik(pairs, r.left, r.right, r.closed, at_survfit)
    assert r.loglik >= theirs - 1e-12
    assert r.loglik == pytest.approx(dense_loglik(pairs, r.left, r.right, r.closed, r.mass),
                                     abs=1e-10)  # fmt: skip


def test_breast_cosmesis_support_and_fitdistrplus():
    pairs = pairs_of(RT)
    r = turnbull(pairs)
    held = r.mass > 1e-6  # Wang's method also keeps (25, 26] and (40, 44] at < 1e-3
    wang = np.array(RT_WANG)
    big = wang[:, 2] > 1e-3
    np.testing.assert_array_equal(r.left[held], wang[big, 0])
    np.testing.assert_array_equal(r.right[held], wang[big, 1])
    np.testing.assert_allclose(r.mass[held], wang[big, 2], atol=3e-3)  # theirs stops short
    left, right = wang[:, 0], wang[:, 1]
    theirs = dense_loglik(pairs, left, right, np.zeros(left.size, bool), wang[:, 2])
    assert r.loglik > theirs  # -58.06002 against -58.06478


def test_salinity_matches_fitdistrplus_npmle():
    pairs = from_left_right(str(DATA / "salinity.csv"), "left", "right").values
    r = turnbull(pairs)
    wang = np.array(SALINITY_WANG)
    held = r.mass > 1e-9
    np.testing.assert_array_equal(r.left[held], wang[:, 0])
    np.testing.assert_array_equal(r.right[held], wang[:, 1])
    np.testing.assert_allclose(r.mass[held], wang[:, 2], atol=1e-6)  # their tolerance
    closed = wang[:, 0] == wang[:, 1]
    assert r.loglik >= dense_loglik(pairs, wang[:, 0], wang[:, 1], closed, wang[:, 2]) - 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_npmle_meets_its_kkt_and_self_consistency_conditions(seed):
    pairs = mixed_sample(300, seed)
    r = turnbull(pairs)
    assert r.converged
    a = incidence(pairs, r.left, r.right, r.closed)
    assert a.any(axis=1).all()  # every observation holds a Turnbull interval
    assert np.all(r.left[1:] >= r.right[:-1])  # disjoint, in order
    prob = a @ r.mass
    d = (a / prob[:, None]).sum(axis=0) / pairs.shape[0]
    np.testing.assert_allclose(d, r.gradient, rtol=1e-9)
    assert d.max() <= 1 + 1e-9  # no interval would raise the likelihood
    np.testing.assert_allclose(d[r.mass > 1e-8], 1, atol=1e-8)  # p = p d: self-consistent
    assert r.mass.sum() == pytest.approx(1, abs=1e-12) and r.mass.min() >= 0
    assert r.loglik == pytest.approx(np.log(prob).sum(), abs=1e-9)


@pytest.mark.parametrize("family", ["exponential", "gamma", "lognormal", "weibull"])
def test_no_parametric_fit_has_a_higher_likelihood(family):
    # no exact values: both likelihoods are products of probabilities of the sets
    smokedfish = from_left_right(str(DATA / "smokedfish.csv"), "left", "right").values
    for pairs in (pairs_of(RT), pairs_of(RTCT), smokedfish):
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        fam = Censored(get(family))
        fit = fit_validated(fam, fam.validate(pairs))
        assert turnbull(pairs).loglik >= fit.loglik - 1e-9


def test_large_samples_run_on_their_distinct_pairs():
    rng = np.random.default_rng(5)
    t = rng.weibull(1.5, 200_000)
    visit = np.floor(t * 4) / 4  # quarterly inspections
    pairs = np.column_stack([visit, np.where(t > 3, INF, visit + 0.25)])
    pairs[t > 3, 0] = 3.0
    r = turnbull(pairs)
    assert r.n == 200_000 and r.distinct == np.unique(pairs, axis=0).shape[0] < 20
    assert r.converged


def test_stopping_at_the_cap_says_so():
    r = turnbull(mixed_sample(300, 0), max_iter=2)
    assert not r.converged and r.iterations == 2
    assert "cap of 2" in r.note and "NOT converged" in repr(r)


@pytest.mark.parametrize("row, what", [([np.nan, 1.0], "missing"), ([3.0, 1.0], "low > high"),
                                       ([INF, INF], "infinite")])  # fmt: skip
def test_bad_pairs_are_refused_by_row(row, what):
    with pytest.raises(DataError, match=f"observation 2 .*{what}"):
        turnbull([[1.0, 2.0], row])


def test_pool_adjacent_violators_fallback_matches_scipy():
    from scipy.optimize import isotonic_regression

    rng = np.random.default_rng(6)
    y, w = rng.normal(size=200).cumsum() * 0.1 + rng.normal(size=200), rng.uniform(0.1, 2, 200)
    expected = isotonic_regression(y, weights=w).x
    np.testing.assert_allclose(turnbull_module._pava(y, w), expected, rtol=1e-12, atol=1e-12)

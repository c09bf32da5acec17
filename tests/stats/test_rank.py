"""Which family fits best (runner.stats.rank): the family that drew the data ranks first,
criteria by their formulas, distances as scipy computes them, every failure listed."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from runner.errors import ConfigError
from runner.stats.rank import COMMON, SLOW, candidate_names, rank

FEW = ["gamma", "weibull_min", "lognorm", "norm", "expon"]


@pytest.fixture(scope="module")
def lifetimes():
    return stats.weibull_min.rvs(1.7, loc=0.0, scale=3.0, size=1500, random_state=11)


@pytest.fixture(scope="module")
def ranked(lifetimes):
    return rank(lifetimes, FEW)


def test_the_family_that_drew_the_data_ranks_first(ranked):
    assert ranked.best.dist == "weibull_min"
    assert [c.rank for c in ranked.candidates] == list(range(1, len(FEW) + 1))


@pytest.mark.parametrize(
    "dist, truth",
    [("gamma", dict(a=4.0, loc=1.0, scale=0.5)), ("lognorm", dict(s=0.6, scale=2.0)),
     ("norm", dict(loc=3.0, scale=1.0)), ("gumbel_r", dict(loc=1.0, scale=2.0))],
)  # fmt: skip
def test_each_common_family_wins_on_its_own_data(dist, truth):
    x = getattr(stats, dist).rvs(**truth, size=4000, random_state=3)
    # the others are tried on every draw: only a family nested in the truth could tie
    others = [d for d in ("gamma", "lognorm", "norm", "gumbel_r", "logistic") if d != dist]
    assert rank(x, [dist, *others]).best.dist == dist


def test_criteria_are_their_formulas(ranked, lifetimes):
    n = lifetimes.size
    weights = 0.0
    for c in ranked.fitted:
        k, ll = c.fit.k, c.fit.loglik
        assert k == len(c.fit.params)  # all free
        assert c.aic == pytest.approx(2 * k - 2 * ll, rel=1e-14)
        assert c.aicc == pytest.approx(2 * k - 2 * ll + 2 * k * (k + 1) / (n - k - 1), rel=1e-14)
        assert c.bic == pytest.approx(k * math.log(n) - 2 * ll, rel=1e-14)
        assert c.delta_aic == pytest.approx(c.aic - ranked.best.aic, abs=1e-9)
        weights += c.weight
    assert weights == pytest.approx(1.0, abs=1e-12)
    assert ranked.best.delta_aic == 0.0
    assert all(a.aic <= b.aic for a, b in zip(ranked.fitted, ranked.fitted[1:], strict=False))


def test_logliks_are_never_below_scipys_fit(ranked, lifetimes):
    for c in ranked.fitted:
        dist = getattr(stats, c.dist)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = float(np.sum(dist.logpdf(lifetimes, *dist.fit(lifetimes))))
        assert c.fit.loglik >= theirs - 1e-7 * abs(theirs), c.dist


def test_distances_are_scipys_ks_and_anderson_darling(ranked, lifetimes):
    for c in ranked.fitted[:3]:
        dist = getattr(stats, c.dist)
        frozen = dist(**c.fit.params)
        assert c.ks == pytest.approx(stats.kstest(lifetimes, frozen.cdf).statistic, rel=1e-10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ad = stats.goodness_of_fit(dist, lifetimes, known_params=c.fit.params,
                                       statistic="ad", n_mc_samples=9, random_state=0)  # fmt: skip
        assert c.ad == pytest.approx(ad.statistic, rel=1e-8), c.dist


def test_a_candidate_that_cannot_be_fitted_is_listed_with_the_reason():
    x = np.random.default_rng(2).normal(0.0, 1.0, 500)  # negative values: no lognormal at loc 0
    ranking = rank(x, ["norm", "lognorm", "logistic"], fixed={"loc": 0.0})
    assert [c.dist for c in ranking.candidates][-1] == "lognorm"
    failed = ranking.failed
    assert [c.dist for c in failed] == ["lognorm"]
    assert failed[0].rank is None and failed[0].error
    assert "lognorm: not fitted" in ranking.summary()
    table = ranking.table()
    assert table.loc[table.dist == "lognorm", "error"].item() == failed[0].error


def test_fixed_holds_the_parameter_in_every_candidate_that_has_it(lifetimes):
    ranking = rank(lifetimes, ["gamma", "weibull_min"], fixed={"loc": 0.0})
    for c in ranking.fitted:
        assert c.fit.params["loc"] == 0.0
        assert c.fit.k == 2


def test_counts_rank_the_overdispersed_family_first():
    x = stats.nbinom.rvs(3, 0.3, size=1500, random_state=5)
    ranking = rank(x, ["poisson", "nbinom", "geom"])
    assert ranking.best.dist == "nbinom"
    assert math.isnan(ranking.best.ks)  # no KS or AD for counts


def test_candidate_sets_and_refusals():
    assert candidate_names("common") == list(COMMON)
    every = candidate_names("all")
    assert len(every) > 90 and "gamma" in every and "poisson" not in every
    assert not set(SLOW) & set(every)
    assert "poisson" in candidate_names("all_discrete")
    assert candidate_names(["gamma", "t"]) == ["gamma", "t"]
    with pytest.raises(ConfigError, match=r"gama.*did you mean.*gamma"):
        candidate_names(["gama"])
    with pytest.raises(ConfigError, match="twice"):
        candidate_names(["gamma", "gamma"])
    with pytest.raises(ConfigError, match="mixes discrete"):
        rank(np.arange(10.0), ["poisson", "gamma"])


def test_a_held_parameter_no_candidate_has_is_refused(lifetimes):
    with pytest.raises(ConfigError, match=r"study\.fixed\.lco"):
        rank(lifetimes, ["gamma", "norm"], fixed={"lco": 0.0})


def test_a_crashed_worker_costs_only_its_own_candidate(lifetimes, monkeypatch):
    import os

    from runner.stats import rank as ranking

    real = ranking._candidate

    def crash_on_gamma(name, *args):
        if name == "gamma":
            os._exit(9)  # what the kernel's out-of-memory killer does, in a forked worker
        return real(name, *args)

    monkeypatch.setattr(ranking, "_candidate", crash_on_gamma)
    result = rank(lifetimes, ["gamma", "weibull_min", "norm", "logistic"], jobs=2)
    failed = {c.dist: c.error for c in result.failed}
    assert list(failed) == ["gamma"] and "process ended" in failed["gamma"]
    assert {c.dist for c in result.fitted} == {"weibull_min", "norm", "logistic"}

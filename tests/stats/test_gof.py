"""Goodness of fit (runner.stats.gof): the statistics against scipy.stats.goodness_of_fit
and scipy.stats.chisquare on the same data and fit, the bootstrap p-values against
scipy's within Monte Carlo error, held parameters held, and the older KS report against
scipy.stats.kstest."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runner import families, fit
from runner.stats import batch, estimate, gof
from runner.stats.families.scipy_family import ScipyFamily
from runner.stats.gof import edf_statistics, goodness_of_fit, ks_statistic

RNG = np.random.default_rng
CASES = {
    # name: (data, the fitted distribution in scipy's parameterization)
    "gamma": (RNG(3).gamma(2.5, 1 / 1.5, 800),
              lambda p: stats.gamma(p["shape"], scale=1 / p["rate"])),
    "gaussian": (RNG(4).normal(1.0, 2.0, 800), lambda p: stats.norm(p["mu"], p["sigma"])),
    "weibull": (2.0 * RNG(5).weibull(1.5, 800),
                lambda p: stats.weibull_min(p["shape"], scale=p["scale"])),
    "lognormal": (RNG(6).lognormal(0.3, 0.7, 800),
                  lambda p: stats.lognorm(p["sigma"], scale=np.exp(p["mu"]))),
    "exponential": (RNG(7).exponential(2.0, 800), lambda p: stats.expon(scale=1 / p["rate"])),
}  # fmt: skip
# The same fits as scipy.stats.goodness_of_fit's (dist, known_params): all known, so it
# scores the fit as given instead of refitting.
SCIPY_ALL_KNOWN = {
    "gamma": lambda p: (stats.gamma, {"a": p["shape"], "loc": 0.0, "scale": 1 / p["rate"]}),
    "gaussian": lambda p: (stats.norm, {"loc": p["mu"], "scale": p["sigma"]}),
    "weibull": lambda p: (stats.weibull_min, {"c": p["shape"], "loc": 0.0, "scale": p["scale"]}),
    "lognormal": lambda p: (stats.lognorm, {"s": p["sigma"], "loc": 0.0,
                                            "scale": np.exp(p["mu"])}),
    "exponential": lambda p: (stats.expon, {"loc": 0.0, "scale": 1 / p["rate"]}),
}  # fmt: skip


def _mc_tolerance(p: float, *replicates: int) -> float:
    """4 standard errors of a difference of independent Monte Carlo p-values."""
    p = min(max(p, 1 / max(replicates)), 1 - 1 / max(replicates))
    return 4 * np.sqrt(p * (1 - p) * sum(1 / r for r in replicates))


# ---- the statistics -------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("statistic", ["ks", "cvm", "ad"])
def test_statistics_equal_scipys_goodness_of_fit_at_the_same_fit(name, statistic):
    x, _ = CASES[name]
    f = fit(name, x)
    result = goodness_of_fit(families.get(name), x, f.params)
    dist, known = SCIPY_ALL_KNOWN[name](f.params)
    reference = stats.goodness_of_fit(dist, x, known_params=known, statistic=statistic,
                                      n_mc_samples=1, rng=0)  # fmt: skip
    # 1e-10: the same formula; only the order of a sum of n terms differs
    assert result.statistics[statistic] == pytest.approx(reference.statistic, rel=1e-10)
    assert result.points == x.size and not result.pvalues


@pytest.mark.parametrize("family", [families.get("gamma"), ScipyFamily("gumbel_r")],
                         ids=["broadcast", "row_by_row"])  # fmt: skip
def test_a_batch_of_samples_is_scored_row_by_row_at_its_own_parameters(family):
    # gamma's scipy distribution takes a column of parameters; scipy's by name does not
    # (its parameters are cast to floats) and is scored one row at a time
    rng = RNG(11)
    x = np.sort(rng.gamma(2.0, 1.0, (6, 150)) + 0.3, axis=1)
    names = family.param_names
    theta = {k: np.abs(rng.normal(1.5, 0.2, 6)) for k in names}
    batched = edf_statistics(family, x, theta)
    for i in range(6):
        one = edf_statistics(family, x[i], {k: float(v[i]) for k, v in theta.items()})
        dist = family.scipy_dist({k: float(v[i]) for k, v in theta.items()})
        for k in ("ks", "cvm", "ad"):
            assert batched[k][i] == pytest.approx(one[k], rel=1e-12)
        assert one["ks"] == pytest.approx(stats.kstest(x[i], dist.cdf).statistic, rel=1e-12)
        assert one["cvm"] == pytest.approx(stats.cramervonmises(x[i], dist.cdf).statistic,
                                           rel=1e-10)  # fmt: skip


def test_anderson_darling_takes_logs_of_tail_probabilities_that_underflow_from_scipy():
    # sf(45) = 1e-442 is 0 in double precision: its log comes from scipy's logsf, not
    # log(0); everywhere else log(sf) is as exact and 7 times cheaper for gamma
    x = np.append(RNG(12).normal(0.0, 1.0, 200), 45.0)
    result = goodness_of_fit(families.get("gaussian"), x, {"mu": 0.0, "sigma": 1.0})
    reference = stats.goodness_of_fit(stats.norm, x, known_params={"loc": 0.0, "scale": 1.0},
                                      statistic="ad", n_mc_samples=1, rng=0)  # fmt: skip
    assert np.isfinite(result.statistics["ad"])
    assert result.statistics["ad"] == pytest.approx(reference.statistic, rel=1e-10)


def test_statistics_past_the_sort_limit_are_of_a_seeded_subsample(monkeypatch):
    monkeypatch.setattr(gof, "SORT_LIMIT", 1000)
    x = RNG(1).normal(0.0, 1.0, 5000)
    f = fit("gaussian", x)
    result = goodness_of_fit(families.get("gaussian"), x, f.params, seed=3)
    kept = x[RNG(3).random(x.size) < 1000 / 5000]  # one block: the same draws, in order
    assert result.points == kept.size and result.n == 5000
    assert "subsample" in " ".join(result.notes)
    expected = stats.goodness_of_fit(stats.norm, kept, statistic="ad", n_mc_samples=1, rng=0,
                                     known_params={"loc": f.params["mu"],
                                                   "scale": f.params["sigma"]})  # fmt: skip
    assert result.statistics["ad"] == pytest.approx(expected.statistic, rel=1e-10)


# ---- the bootstrap --------------------------------------------------------------------------
@pytest.mark.parametrize("statistic", ["ks", "cvm", "ad"])
def test_gaussian_pvalues_agree_with_scipys_within_monte_carlo_error(statistic):
    # Both re-estimate mu and sigma on every replicate. scipy's normal fit divides the
    # variance by n - 1 (its vectorised _fit_norm), the MLE by n: statistics O(1/n) apart,
    # p-values 0.01 apart at R = 20000 for these data, well inside the tolerance.
    x = RNG(21).normal(1.0, 2.0, 120)
    f = fit("gaussian", x)
    ours = goodness_of_fit(families.get("gaussian"), x, f.params, replicates=500, seed=1)
    theirs = stats.goodness_of_fit(stats.norm, x, statistic=statistic, n_mc_samples=500, rng=2)
    p = ours.pvalues[statistic]
    assert ours.replicates_used == 500 and ours.refits_failed == 0
    assert abs(p - theirs.pvalue) < _mc_tolerance(theirs.pvalue, 500, 500)


@pytest.mark.parametrize("statistic", ["ks", "cvm", "ad"])
def test_exponential_pvalues_agree_with_scipys_within_monte_carlo_error(statistic):
    # scipy refits the scale with loc held at 0: the MLE, the same statistic exactly
    x = RNG(22).exponential(2.0, 100)
    f = fit("exponential", x)
    ours = goodness_of_fit(families.get("exponential"), x, f.params, replicates=400, seed=1)
    theirs = stats.goodness_of_fit(stats.expon, x, known_params={"loc": 0.0},
                                   statistic=statistic, n_mc_samples=400, rng=2)  # fmt: skip
    assert ours.statistics[statistic] == pytest.approx(theirs.statistic, rel=1e-10)
    assert abs(ours.pvalues[statistic] - theirs.pvalue) < _mc_tolerance(theirs.pvalue, 400, 400)


def test_held_parameters_stay_held_in_every_refit(monkeypatch):
    seen = []
    real = estimate.fit_validated

    def recording(fam, data, **kwargs):
        result = real(fam, data, **kwargs)
        seen.append((kwargs.get("fixed"), result.params["sigma"]))
        return result

    x = RNG(23).normal(1.0, 2.0, 100)
    f = fit("gaussian", x, fixed={"sigma": 2.5})
    monkeypatch.setattr(estimate, "fit_validated", recording)  # the refits from here on
    ours = goodness_of_fit(families.get("gaussian"), x, f.params, replicates=400, seed=1,
                           fixed={"sigma": 2.5})  # fmt: skip
    assert len(seen) == 400
    assert all(held == {"sigma": 2.5} and sigma == 2.5 for held, sigma in seen)
    assert ours.fixed == ("sigma",) and "holding sigma" in " ".join(ours.notes)
    # scipy with the scale known refits loc alone, by the mean: the MLE with sigma held
    for statistic in ("ks", "cvm", "ad"):
        theirs = stats.goodness_of_fit(stats.norm, x, known_params={"scale": 2.5},
                                       statistic=statistic, n_mc_samples=400, rng=2)  # fmt: skip
        assert ours.statistics[statistic] == pytest.approx(theirs.statistic, rel=1e-10)
        assert abs(ours.pvalues[statistic] - theirs.pvalue) < _mc_tolerance(
            theirs.pvalue, 400, 400)  # fmt: skip


def test_with_every_parameter_held_nothing_is_refitted(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("nothing to refit")

    monkeypatch.setattr(estimate, "fit_validated", refuse)
    monkeypatch.setattr(batch, "fit_batch", refuse)
    x = RNG(24).normal(0.2, 1.0, 100)
    held = {"mu": 0.0, "sigma": 1.0}
    ours = goodness_of_fit(families.get("gaussian"), x, held, replicates=400, seed=1,
                           fixed=held)  # fmt: skip
    theirs = stats.goodness_of_fit(stats.norm, x, known_params={"loc": 0.0, "scale": 1.0},
                                   statistic="ks", n_mc_samples=400, rng=2)  # fmt: skip
    assert abs(ours.pvalues["ks"] - theirs.pvalue) < _mc_tolerance(theirs.pvalue, 400, 400)


@pytest.mark.parametrize("name", ["gaussian", "gamma", "weibull"])
def test_a_wrong_model_is_rejected_and_the_right_one_is_not(name):
    # lognormal(0, 1) at n = 300: every statistic's p is 1/300 for each of these models
    # on five seeds tried (at sigma = 0.8, n = 200, gamma and weibull are only near 0.01)
    lognormal = RNG(31).lognormal(0.0, 1.0, 300)
    right = families.get(name).sample(fit(name, lognormal).params, 300, RNG(32))
    for data, wrong in ((lognormal, True), (right, False)):
        f = fit(name, data)
        result = goodness_of_fit(families.get(name), data, f.params, replicates=299, seed=5)
        for statistic, p in result.pvalues.items():
            assert (p < 0.01) == wrong, (name, statistic, p, wrong)


def test_chunks_do_not_change_the_pvalues():
    # the replicates are drawn chunk after chunk from one stream: the same draws
    x = RNG(25).normal(0.0, 1.0, 400)
    f = fit("gaussian", x)
    whole = goodness_of_fit(families.get("gaussian"), x, f.params, replicates=300, seed=2)
    chunked = goodness_of_fit(
        families.get("gaussian"), x, f.params, replicates=300, seed=2, max_memory_mb=1
    )  # 1 MB: 40 replicates of 400 per chunk
    assert chunked.pvalues == whole.pvalues
    np.testing.assert_array_equal(chunked.null["ad"], whole.null["ad"])


def test_failed_refits_are_counted_and_left_out(monkeypatch):
    real = batch.fit_batch

    def two_fail(family, stats_):
        result = real(family, stats_)
        result.no_mle.update({0: "no MLE", 1: "no MLE"})
        return result

    monkeypatch.setattr(batch, "fit_batch", two_fail)
    x = RNG(26).normal(0.0, 1.0, 100)
    f = fit("gaussian", x)
    result = goodness_of_fit(families.get("gaussian"), x, f.params, replicates=100, seed=2,
                             max_memory_mb=1)  # fmt: skip
    chunks = -(-100 // int(2**20 // (gof.WORK_ARRAYS * 8 * 100)))
    assert result.refits_failed == 2 * chunks
    assert result.replicates_used == 100 - 2 * chunks == result.null["ks"].size
    beyond = np.sum(result.null["ks"] >= result.statistics["ks"] * (1 - 1e-13))
    assert result.pvalues["ks"] == pytest.approx((1 + beyond) / (1 + result.replicates_used))
    assert "refits failed" in " ".join(result.notes)


# ---- counts: chi-squared --------------------------------------------------------------------
@pytest.mark.parametrize("name, data", [
    ("poisson", RNG(41).poisson(3.0, 400)),
    ("negative_binomial", RNG(42).negative_binomial(3, 0.4, 400)),
    ("binomial", RNG(43).binomial(12, 0.3, 400)),
])  # fmt: skip
def test_chi_squared_equals_scipys_chisquare_on_the_same_cells(name, data):
    options = {"trials": 12} if name == "binomial" else {}
    family = families.get(name, **options)
    f = fit(family, data)
    result = goodness_of_fit(family, data, f.params)
    observed = np.array([c["observed"] for c in result.cells])
    expected = np.array([c["expected"] for c in result.cells])
    free = len(family.param_names)
    reference = stats.chisquare(observed, expected, ddof=free)
    assert result.statistics["chi2"] == pytest.approx(reference.statistic, rel=1e-10)
    assert result.asymptotic_pvalue == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.df == len(result.cells) - 1 - free
    # the cells: every value in one, each expecting 5 or more, from scipy's own masses
    assert observed.sum() == data.size and np.all(expected >= 5)
    dist = family.scipy_dist(f.params)
    for c, e in zip(result.cells, expected, strict=True):
        low = -np.inf if c["low"] is None else c["low"]
        high = np.inf if c["high"] is None else c["high"]
        assert np.sum((data >= low) & (data <= high)) == c["observed"]
        probability = dist.cdf(high) - dist.cdf(low - 1)
        assert e == pytest.approx(data.size * probability, rel=1e-9)
    assert result.cells[0]["low"] == 0


def test_overdispersed_counts_reject_a_poisson_and_poisson_counts_do_not():
    for data, wrong in ((RNG(44).negative_binomial(2, 0.4, 300), True),
                        (RNG(45).poisson(3.0, 300), False)):  # fmt: skip
        family = families.get("poisson")
        result = goodness_of_fit(family, data, fit(family, data).params, replicates=299,
                                 seed=3)  # fmt: skip
        assert (result.pvalues["chi2"] < 0.01) == wrong
        assert (result.asymptotic_pvalue < 0.01) == wrong


def test_a_count_model_that_fits_exactly_has_no_evidence_against_it():
    # bernoulli: two cells, one free parameter, the MLE matches both frequencies
    x = RNG(46).binomial(1, 0.3, 200)
    family = families.get("bernoulli")
    result = goodness_of_fit(family, x, fit(family, x).params, replicates=99)
    assert result.df == 0 and result.asymptotic_pvalue is None
    assert result.statistics["chi2"] == pytest.approx(0.0, abs=1e-12)
    assert result.pvalues["chi2"] == 1.0


# ---- what has no answer, and the serialised form -------------------------------------------
def test_multivariate_data_and_families_without_a_cdf_get_none():
    mvn = families.get("mvn")
    x = RNG(0).normal(size=(50, 2))
    assert goodness_of_fit(mvn, x, fit(mvn, x).params) is None
    categorical = families.get("categorical", categories=[0, 1, 2])
    codes = RNG(0).integers(0, 3, 60)
    assert goodness_of_fit(categorical, codes, fit(categorical, codes).params) is None


def test_to_dict_is_flat_numbers_for_results_and_mlflow():
    x, _ = CASES["gamma"]
    f = fit("gamma", x)
    result = goodness_of_fit(families.get("gamma"), x, f.params, replicates=19, seed=0)
    flat = result.to_dict()
    assert set(flat) == {"ks", "ks_pvalue", "cvm", "cvm_pvalue", "ad", "ad_pvalue",
                         "gof_points", "gof_replicates", "gof_refits_failed"}  # fmt: skip
    assert all(isinstance(v, (int, float)) for v in flat.values())
    assert result.details()["notes"] and "ks" in result.summary()


# ---- the older KS report ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_ks_statistic_equals_scipys_kstest(name):
    x, scipy_fitted = CASES[name]
    f = fit(name, x)
    reference = stats.kstest(x, scipy_fitted(f.params).cdf)
    result = ks_statistic(families.get(name), x, f.params)
    assert result["ks"] == pytest.approx(reference.statistic, rel=1e-10)
    assert result["ks_pvalue_optimistic"] == pytest.approx(reference.pvalue, rel=1e-8)
    assert result["ks_points"] == x.size


def test_ks_statistic_is_not_reported_for_discrete_families():
    x = RNG(0).poisson(3.0, 200)
    assert ks_statistic(families.get("poisson"), x, fit("poisson", x).params) is None


def test_ks_on_a_subsample_past_the_point_limit(monkeypatch):
    monkeypatch.setattr(gof, "MAX_POINTS", 500)
    x = RNG(1).normal(0.0, 1.0, 2000)
    f = fit("gaussian", x)
    result = ks_statistic(families.get("gaussian"), x, f.params)
    assert result["ks_points"] == 500
    chosen = x[np.sort(RNG(0).choice(x.size, 500, replace=False))]
    expected = stats.kstest(chosen, stats.norm(f.params["mu"], f.params["sigma"]).cdf)
    assert result["ks"] == pytest.approx(expected.statistic, rel=1e-10)

"""The bootstrap (``runner.stats.bootstrap``): replicates against their exact law and
against resampling by hand, intervals against scipy.stats.bootstrap on the same
resamples, the jackknife by hand, failures counted, refusals named.

Every statistical check runs on a fixed seed, so it is deterministic; its tolerance is
still set from the Monte Carlo standard error (MCSE) it allows (>= 4 MCSE), so another
seed would pass too and a real error would not.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runner.errors import ConfigError, DataError
from runner.stats import families
from runner.stats.bootstrap import (
    BootstrapResult,
    acceleration,
    bca_interval,
    bootstrap,
    intervals,
    jackknife,
    percentile_interval,
    to_frame,
)
from runner.stats.estimate import fit_validated


def _data(name: str, values, **options):
    family = families.get(name, **options).for_data(np.asarray(values))
    x = family.validate(np.asarray(values))
    return family, x, fit_validated(family, x).params


def test_parametric_exponential_rate_percentiles_match_the_exact_law():
    # rate* = n / T with T ~ Gamma(n, 1 / rate_hat): its quantiles are n / gamma.ppf(1 - q).
    family, x, theta = _data("exponential", np.random.default_rng(4).exponential(0.5, 20))
    replicates, n, rate = 4000, 20, theta["rate"]
    result = bootstrap(family, x, theta, "parametric", replicates, seed=11)
    assert result.source == "stats" and result.failed == 0
    interval = percentile_interval(result, "rate", 0.90)
    law = stats.gamma(n, scale=1 / rate)
    for q, end in ((0.05, interval.low), (0.95, interval.high)):
        exact = n / law.ppf(1 - q)
        density = law.pdf(n / exact) * n / exact**2  # of rate* at its q quantile
        mcse = np.sqrt(q * (1 - q) / replicates) / density
        assert abs(end - exact) < 4 * mcse, (q, end, exact, mcse)
    # and the whole distribution: Kolmogorov-Smirnov against P(rate* <= r) = sf(n / r)
    ks = stats.kstest(result.estimates["rate"], lambda r: law.sf(n / r))
    assert ks.pvalue > 1e-3


def test_parametric_gamma_draws_samples_and_spreads_as_the_information_says():
    # gamma has no exact law of its statistics: replicates are drawn data. At n = 2000
    # the bootstrap SE is the Wald SE's to O(1/n); MCSE of an SD from 400 replicates 3.5%.
    family = families.get("gamma")
    x = family.validate(np.random.default_rng(5).gamma(2.0, 1 / 1.5, 2000))
    fit = fit_validated(family, x)
    result = bootstrap(family, x, fit.params, "parametric", 400, seed=2)
    assert result.source == "draws" and result.failed == 0
    for name in ("shape", "rate"):
        assert result.std_error(name) == pytest.approx(fit.se[name], rel=0.15)


def test_nonparametric_gaussian_replicates_are_the_resampled_means_and_spreads():
    family, x, theta = _data("gaussian", np.random.default_rng(6).normal(3.0, 2.0, 40))
    result = bootstrap(family, x, theta, "nonparametric", 500, seed=9)
    rows = x[np.random.default_rng(9).integers(0, x.size, (500, x.size))]  # one chunk
    np.testing.assert_allclose(result.estimates["mu"], rows.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(result.estimates["sigma"], rows.std(axis=1), rtol=1e-10)
    assert result.source == "rows" and result.kind == "nonparametric"


def _inverse_mean(v, axis=-1):
    return 1 / np.mean(v, axis=axis)


@pytest.mark.parametrize(
    "name, values, parameter, statistic",
    [
        ("gaussian", np.random.default_rng(7).normal(1.0, 2.0, 50), "mu", np.mean),
        ("gaussian", np.random.default_rng(7).normal(1.0, 2.0, 50), "sigma", np.std),
        ("exponential", np.random.default_rng(8).exponential(2.0, 30), "rate", _inverse_mean),
    ],
)
def test_intervals_equal_scipy_bootstrap_on_the_same_resamples(name, values, parameter,
                                                               statistic):  # fmt: skip
    # scipy.stats.bootstrap draws rng.integers(0, n, (B, n)) too: with one chunk and the
    # same seed the resamples are the same rows, so the intervals agree to rounding (the
    # MLE of mu, sigma and rate is the mean, the divide-by-n SD and 1 / mean).
    family, x, theta = _data(name, values)
    result = bootstrap(family, x, theta, "nonparametric", 2000, seed=3)
    for method, ours in (("percentile", percentile_interval(result, parameter)),
                         ("BCa", bca_interval(result, family, x, theta, parameter))):  # fmt: skip
        theirs = stats.bootstrap((x,), statistic, n_resamples=2000, method=method,
                                 rng=np.random.default_rng(3)).confidence_interval  # fmt: skip
        np.testing.assert_allclose(ours.bounds, (theirs.low, theirs.high), rtol=1e-9)


def test_bca_of_a_gaussian_mean_agrees_with_scipy_on_its_own_draws():
    # Independent resamples: the ends differ by Monte Carlo error only. MCSE of a 2.5%
    # quantile from B = 4000 replicates ~ 0.04 bootstrap SDs, z0's own error moves it by
    # ~0.02 more: a difference of two such ends has MCSE ~ 0.07 SD; 5 MCSE ~ 0.35 SD.
    family, x, theta = _data("gaussian", np.random.default_rng(10).normal(0.0, 1.0, 60))
    result = bootstrap(family, x, theta, "nonparametric", 4000, seed=1)
    ours = bca_interval(result, family, x, theta, "mu")
    theirs = stats.bootstrap((x,), np.mean, n_resamples=4000, method="BCa",
                             rng=np.random.default_rng(12345)).confidence_interval  # fmt: skip
    sd = result.std_error("mu")
    assert abs(ours.low - theirs.low) < 0.35 * sd and abs(ours.high - theirs.high) < 0.35 * sd


def test_bca_corrects_toward_the_exact_interval_for_an_exponential_rate():
    # Parametric BCa for rate = 1 / mean at n = 15: the exact equal-tailed interval comes
    # from 2 n rate / rate_hat ~ chi2(2n) (pivot). BCa's second-order ends sit nearer it
    # than the percentile interval's (which carry the MLE's O(1/n) bias twice).
    family, x, theta = _data("exponential", np.random.default_rng(13).exponential(1.0, 15))
    n, rate = 15, theta["rate"]
    result = bootstrap(family, x, theta, "parametric", 4000, seed=5)
    exact = np.array([stats.chi2.ppf(q, 2 * n) * rate / (2 * n) for q in (0.025, 0.975)])
    bca = np.array(bca_interval(result, family, x, theta, "rate").bounds)
    plain = np.array(percentile_interval(result, "rate").bounds)
    assert np.all(np.abs(bca - exact) < np.abs(plain - exact))


def test_seeded_bootstraps_are_reproducible():
    family, x, theta = _data("gamma", np.random.default_rng(14).gamma(3.0, 1.0, 200))
    for kind in ("parametric", "nonparametric"):
        first = bootstrap(family, x, theta, kind, 50, seed=21)
        again = bootstrap(family, x, theta, kind, 50, seed=21)
        other = bootstrap(family, x, theta, kind, 50, seed=22)
        for name in ("shape", "rate"):
            np.testing.assert_array_equal(first.estimates[name], again.estimates[name])
            assert not np.array_equal(first.estimates[name], other.estimates[name])


def test_chunks_hold_every_replicate_in_order():
    # Tiny memory: many chunks; each draw continues the same generator.
    family, x, theta = _data("gaussian", np.random.default_rng(15).normal(0, 1, 1000))
    result = bootstrap(family, x, theta, "nonparametric", 300, seed=4, max_memory_mb=1)
    assert all(len(v) == 300 for v in result.estimates.values())
    assert np.all(np.isfinite(result.estimates["mu"]))


def test_resamples_without_an_mle_are_counted_and_left_out():
    # x = 0, 0, 0, 1: a resample is constant (no gaussian MLE: sigma -> 0) when all four
    # draws are 0 (p = 0.316) or 1 (p = 0.004); counted exactly from the same draws.
    family = families.get("gaussian")
    x = family.validate(np.array([0.0, 0.0, 0.0, 1.0]))
    theta = {"mu": 0.25, "sigma": np.sqrt(0.1875)}
    result = bootstrap(family, x, theta, "nonparametric", 1000, seed=8)
    rows = x[np.random.default_rng(8).integers(0, 4, (1000, 4))]
    constant = rows.min(axis=1) == rows.max(axis=1)
    assert result.failed == constant.sum() > 250
    assert np.array_equal(np.isnan(result.estimates["mu"]), constant)
    assert "all values are equal" in result.why
    interval = percentile_interval(result, "mu")
    assert interval.bounds is not None and "no MLE" in interval.notes[0]
    # leaving out the 1 makes the data constant: no jackknife estimate there, so no BCa
    bca = bca_interval(result, family, x, theta, "mu")
    assert bca.bounds is None and "jackknife" in bca.why


def test_replicates_that_cannot_vary_give_no_interval():
    # binomial p_hat = 0: every parametric replicate is all zeros, p* = 0 (an MLE on the
    # boundary, not a failure), so there is no spread to read an interval from.
    family, x, theta = _data("binomial", np.zeros(5, dtype=int), trials=3)
    result = bootstrap(family, x, theta, "parametric", 200, seed=0)
    assert result.failed == 0 and np.all(result.estimates["p"] == 0)
    for interval in (percentile_interval(result, "p"),
                     bca_interval(result, family, x, theta, "p")):  # fmt: skip
        assert interval.bounds is None and "no spread" in interval.why


def test_too_few_replicates_for_the_level_give_no_interval():
    family, x, theta = _data("exponential", np.random.default_rng(16).exponential(1, 30))
    result = bootstrap(family, x, theta, "parametric", 20, seed=0)
    interval = percentile_interval(result, "rate", 0.95)
    assert interval.bounds is None and "at least 40" in interval.why
    assert percentile_interval(result, "rate", 0.80).bounds is not None  # needs 10


def test_bca_refuses_an_infinite_bias_correction():
    family, x, theta = _data("exponential", np.random.default_rng(17).exponential(1, 30))
    above = BootstrapResult("parametric", 100, 0, 30,
                            {"rate": theta["rate"] + np.linspace(0.1, 1.0, 100)})  # fmt: skip
    interval = bca_interval(above, family, x, theta, "rate")
    assert interval.bounds is None and "z0 is infinite" in interval.why


def test_the_jackknife_is_leave_one_out_up_to_the_group_count():
    family, x, _ = _data("gaussian", np.random.default_rng(18).normal(0, 1, 30))
    jack = jackknife(family, x)
    left_out = (x.sum() - x) / (x.size - 1)
    np.testing.assert_allclose(jack.estimates["mu"], left_out, rtol=1e-12)
    assert jack.group_size == 1 and jack.kept == 0


def test_the_grouped_jackknife_leaves_out_shuffled_groups():
    # n = 2501 > 1000: groups of m = 3 from a seeded shuffle, 833 of them, 2 kept always.
    family = families.get("exponential")
    x = family.validate(np.random.default_rng(19).exponential(1.0, 2501))
    jack = jackknife(family, x, seed=6)
    assert (jack.group_size, jack.kept, len(jack.estimates["rate"])) == (3, 2, 833)
    order = np.random.default_rng([6, 1]).permutation(x.size)
    group_sums = x[order[: 833 * 3]].reshape(833, 3).sum(axis=1)
    np.testing.assert_allclose(jack.estimates["rate"], (x.size - 3) / (x.sum() - group_sums),
                               rtol=1e-10)  # fmt: skip
    # its acceleration estimates the leave-one-out one (-skewness / (6 sqrt n) for 1 / mean)
    d = x - x.mean()
    exact = -np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)
    assert acceleration(jack.estimates["rate"]) == pytest.approx(exact, rel=0.35)


def test_intervals_share_one_jackknife_and_name_every_component():
    family, x, theta = _data("categorical", np.random.default_rng(20).choice(["a", "b", "c"],
                             size=80, p=[0.5, 0.3, 0.2]))  # fmt: skip
    result = bootstrap(family, x, theta, "nonparametric", 400, seed=1)
    found = intervals(result, family, x, theta, "bca")
    assert sorted(found) == ["p.a", "p.b", "p.c"]
    for name, interval in found.items():
        low, high = interval.bounds
        assert low < np.mean(result.estimates[name]) < high
    with pytest.raises(ConfigError, match="percentile or bca"):
        intervals(result, family, x, theta, "studentized")


def test_the_frame_is_tidy_with_missing_replicates_kept():
    family = families.get("gaussian")
    x = family.validate(np.array([0.0, 0.0, 0.0, 1.0]))
    result = bootstrap(family, x, {"mu": 0.25, "sigma": 0.43}, "nonparametric", 50, seed=8)
    frame = to_frame(result)
    assert list(frame.columns) == ["replicate", "parameter", "estimate"]
    assert len(frame) == 100 and set(frame["parameter"]) == {"mu", "sigma"}
    assert frame["estimate"].isna().sum() == 2 * result.failed
    assert frame.groupby("parameter")["replicate"].nunique().eq(50).all()


@pytest.mark.parametrize(
    "change, error, words",
    [
        ({"kind": "jackknife"}, ConfigError, "parametric .* or nonparametric"),
        ({"replicates": 1}, ConfigError, "integer >= 2"),
        ({"replicates": True}, ConfigError, "integer >= 2"),
        ({"replicates": 10.5}, ConfigError, "integer >= 2"),
    ],
)
def test_bad_settings_are_refused_with_what_would_work(change, error, words):
    family, x, theta = _data("exponential", [1.0, 2.0, 3.0])
    with pytest.raises(error, match=words):
        bootstrap(family, x, theta, **{"kind": "parametric", "replicates": 100, **change})


def test_multivariate_and_too_small_data_are_refused():
    mvn = families.get("mvn")
    rows = np.random.default_rng(0).normal(size=(20, 2))
    family = mvn.for_data(rows)
    theta = {"mean": rows.mean(axis=0), "cov": np.cov(rows.T, bias=True)}
    with pytest.raises(ConfigError, match="univariate"):
        bootstrap(family, family.validate(rows), theta)
    gamma = families.get("gamma")
    with pytest.raises(DataError, match="at least 2 observations"):
        bootstrap(gamma, gamma.validate([1.0]), {"shape": 1.0, "rate": 1.0})
    with pytest.raises(ConfigError, match="theta_hat is missing"):
        bootstrap(gamma, gamma.validate([1.0, 2.0]), {"shape": 1.0})

"""Convergence studies (``study=convergence``): the statistics against theory, the batched
fits against one-at-a-time fits, the running estimate against prefix fits, and the job
end to end (files, MLflow step metrics with step = n, the command line).

Every statistical check runs on a fixed seed, so it is deterministic; each tolerance is
still chosen from the Monte Carlo standard error (MCSE) it allows, so that a different
seed would pass too (the margins are >= 3 MCSE) and a real error would not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import runner
import runner.stats.study
from runner.errors import ConfigError
from runner.stats import families
from runner.stats.batch import fit_batch
from runner.stats.study import (
    DEFAULT_SIZES,
    StudySpec,
    parse_sizes,
    running_estimates,
    subsample_study,
    synthetic_study,
)

TRUTHS = {
    "gaussian": {"mu": 0.0, "sigma": 1.0},
    "poisson": {"lam": 4.0},
    "gamma": {"shape": 2.0, "rate": 1.5},
    "weibull": {"shape": 1.5, "scale": 2.0},
    "beta": {"a": 2.0, "b": 5.0},
    "student_t": {"df": 5.0, "mu": 0.0, "sigma": 1.0},
    "negative_binomial": {"size": 3.0, "p": 0.4},
    "categorical": {"p": [0.5, 0.3, 0.2]},
    "bernoulli": {"p": 0.3},
}
OPTIONS = {"categorical": {"categories": ["A", "B", "C"]}}


def reference_fit(name: str, x):
    """One ``runner.fit``, precise enough to compare with to 1e-6: the closed form where
    there is one, else runner's own (unbatched) Newton, which stops on the gradient. The
    default scipy L-BFGS-B stops on the relative change of the log-likelihood, which leaves
    ~1e-6 relative in flat directions (student_t df) whatever its tolerance."""
    fam = families.get(name, **OPTIONS.get(name, {}))
    optimizer = "auto" if fam.has_closed_form else "newton"
    return runner.fit(name, x, optimizer=optimizer, **OPTIONS.get(name, {}))


def family_and_truth(name: str, **truth_override):
    fam = families.get(name, **OPTIONS.get(name, {}))
    truth = {**TRUTHS[name], **truth_override}
    fam = fam.for_truth(truth)
    return fam, fam.check_theta(truth)


def study(name: str, progress: bool = False, truth: dict | None = None, **spec):
    fam, theta = family_and_truth(name, **(truth or {}))
    return synthetic_study(fam, theta, StudySpec(**spec), progress=progress)


def rows(frame: pd.DataFrame, **where) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


# ---- 1. the estimator against theory ------------------------------------------------------
SIZES = [100, 300, 1000, 3000, 10000]
REPLICATES = 2000


@pytest.fixture(scope="module", params=["gaussian", "poisson", "gamma"])
def efficient(request):
    """A study of a family whose MLE is efficient: 2000 replicates at 100 .. 10,000."""
    result = study(request.param, sizes=SIZES, replicates=REPLICATES, seed=11, stream=False)
    return request.param, result


def test_rmse_slope_is_minus_one_half(efficient):
    # MCSE of one log RMSE: 0.5 * sqrt(2 / R) = 0.016 (MSE of ~normal errors has relative
    # sd sqrt(2/R)); over ln n = 4.6 .. 9.2 (sum of squared deviations 13.3) the fitted slope
    # has MCSE 0.016 / sqrt(13.3) = 0.004. The 0.05 allowed is > 10 MCSE, which leaves room
    # for the O(1/n) curvature at n = 100 (gamma's shape is -0.52 on this seed) and nothing
    # like a wrong rate (-1, -0.25).
    _, result = efficient
    slopes = result.slopes
    assert set(slopes["estimator"]) == {"mle"}
    assert set(slopes["parameter"]) == set(result.truth)
    for _, row in slopes.iterrows():
        assert row["slope"] == pytest.approx(-0.5, abs=0.05), row.to_dict()
        assert row["from_size"] == 100


def test_efficiency_is_one_at_the_largest_size(efficient):
    # efficiency = CRLB / MSE. MCSE of the MSE relative to itself: sqrt(2 / 2000) = 0.032,
    # so 10% is ~3 MCSE; the finite-n excess of the MSE over the bound at n = 10,000 is
    # O(1/n) relative, negligible.
    name, result = efficient
    fam, theta = family_and_truth(name)
    inverse = np.linalg.inv(fam.fisher_information(theta))
    largest = rows(result.summary, size=max(SIZES), estimator="mle")
    assert len(largest) == len(fam.params)
    for _, row in largest.iterrows():
        j = fam.param_names.index(row["parameter"])
        assert row["crlb"] == pytest.approx(inverse[j, j] / row["size"], rel=1e-12)
        assert row["efficiency"] == pytest.approx(1.0, abs=0.10), row.to_dict()


def test_wald_coverage_is_95_percent_at_large_n(efficient):
    # MCSE of a coverage near 0.95 over 2000 replicates: sqrt(0.95 * 0.05 / 2000) = 0.0049;
    # 2 points is ~4 MCSE. Checked at n = 3000 and 10,000, where the Wald approximation's
    # own error (O(1/sqrt(n)) skewness) is well below that.
    _, result = efficient
    summary = result.summary
    large = summary[(summary["size"] >= 3000) & (summary["estimator"] == "mle")]
    assert len(large) == 2 * len(result.truth)
    for _, row in large.iterrows():
        assert row["coverage"] == pytest.approx(0.95, abs=0.02), row.to_dict()
        assert row["no_interval"] == 0.0
        assert row["replicates"] == REPLICATES


def test_gaussian_variance_mle_is_biased_by_minus_sigma_squared_over_n():
    # sigma_hat^2 = sum (x - mean)^2 / n has mean (n - 1) / n sigma^2: bias -sigma^2 / n.
    # sigma = 2 (so sigma^2 != sigma), n = 10: bias -0.4. Var(sigma_hat^2) =
    # 2 (n - 1) sigma^4 / n^2 = 2.88, so over R = 20,000 replicates the mean has MCSE
    # sqrt(2.88 / 20000) = 0.012; 0.05 is ~4 MCSE, and far from 0 (no bias) or -0.2
    # (-sigma / n, the wrong power of sigma): the check tells them apart.
    n, sigma, replicates = 10, 2.0, 20_000
    result = study("gaussian", truth={"sigma": sigma}, sizes=[n], replicates=replicates,
                   seed=5, stream=False)  # fmt: skip
    draws = rows(result.draws, estimator="mle", parameter="sigma")
    assert len(draws) == replicates
    assert (draws["truth"] == sigma).all()
    variance = draws["estimate"].to_numpy() ** 2
    bias = variance.mean() - sigma**2
    assert bias == pytest.approx(-(sigma**2) / n, abs=0.05)
    assert variance.mean() < sigma**2  # 33 MCSE below: the MLE of sigma^2 underestimates
    # The n / (n - 1) correction removes it (same MCSE scaled by 10/9).
    assert (variance * n / (n - 1)).mean() == pytest.approx(sigma**2, abs=0.06)


# ---- 2. batched fits against one-at-a-time fits ------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["gamma", "weibull", "beta", "student_t", "negative_binomial", "gaussian", "poisson",
     "categorical"],
)  # fmt: skip
def test_fit_batch_agrees_with_fit(name):
    fam, theta = family_and_truth(name)
    rng = np.random.default_rng(3)
    drawn = fam.sample(theta, (5, 200), rng)
    codes = fam.validate(np.asarray(drawn).ravel()).reshape(5, -1)
    batch = fit_batch(fam, fam.reduce(codes))
    assert batch.converged.all()
    for i in range(5):
        single = reference_fit(name, np.asarray(drawn)[i])
        assert set(batch.estimate) == {e.name for e in single.estimates}
        for e in single.estimates:
            # Relative to the larger of |estimate| and its SE: a location near 0 (student_t
            # mu) has no meaningful relative error, but one at 1e-6 of an SE is exact.
            scale = max(abs(e.estimate), e.se)
            assert abs(batch.estimate[e.name][i] - e.estimate) <= 1e-6 * scale, (i, e.name)
            # SEs: batched observed information (central differences of the score where
            # there is no analytic Hessian) against the single fit's, in z: ~1e-6 apart.
            assert batch.se[e.name][i] == pytest.approx(e.se, rel=1e-4), (i, e.name)


def test_fit_batch_has_no_standard_error_on_the_boundary():
    # A row of zeros puts the Poisson MLE at lam = 0: no Wald SE, as in a single fit.
    fam, _ = family_and_truth("poisson")
    x = np.array([[0, 0, 0, 0, 0], [1, 3, 0, 2, 4]], dtype=float)
    batch = fit_batch(fam, fam.reduce(x))
    assert batch.estimate["lam"].tolist() == [0.0, 2.0]
    assert np.isnan(batch.se["lam"][0])
    assert runner.fit("poisson", x[0]).estimate("lam").se is None
    assert batch.se["lam"][1] == pytest.approx(runner.fit("poisson", x[1]).se["lam"], rel=1e-9)


# ---- 3. the running estimate along one sample ---------------------------------------------
@pytest.mark.parametrize(
    ("name", "truth", "rtol"),
    [
        # closed forms from cumulative sums: only rounding (k * eps) separates them; the
        # Gaussian far from 0 checks the sums of squares do not cancel catastrophically.
        ("gaussian", {"mu": 1e4, "sigma": 1.0}, 1e-8),
        ("poisson", {}, 1e-10),
        # batched Newton over the prefixes' statistics, against single Newton fits
        ("gamma", {}, 1e-6),
        # no prefix statistics: one fit per checkpoint
        ("weibull", {}, 1e-6),
    ],
)
def test_running_estimates_equal_prefix_fits(name, truth, rtol):
    fam, theta = family_and_truth(name, **truth)
    path = fam.validate(fam.sample(theta, 5000, np.random.default_rng(8)))
    flat = {k: float(v) for k, v in theta.items()}
    stream = running_estimates(fam, path, flat)
    assert set(stream.columns) == {"k", "parameter", "estimate", "truth"}
    assert set(stream["parameter"]) == set(fam.param_names)
    for param, value in flat.items():
        assert (rows(stream, parameter=param)["truth"] == value).all()
    ks = np.sort(stream["k"].unique())
    assert ks[0] == max(fam.min_n, 2) and ks[-1] == 5000
    if name == "weibull":
        assert fam.prefix_stats(path, ks) is None  # really the checkpoint path
    assert 40 <= len(ks) <= 300  # log-spaced checkpoints, not every k
    for k in [ks[ks >= 10][0], ks[len(ks) // 2], ks[-1]]:
        reference = reference_fit(name, path[:k])
        for e in reference.estimates:
            got = rows(stream, k=k, parameter=e.name)["estimate"]
            assert len(got) == 1
            scale = max(abs(e.estimate), e.se)
            assert abs(got.iloc[0] - e.estimate) <= rtol * scale, (k, e.name)


# ---- 4. sizes -------------------------------------------------------------------------------
def test_parse_sizes_list_is_sorted_unique_ints():
    assert parse_sizes([1000, 10, 100, 100]) == [10, 100, 1000]
    assert parse_sizes((5.0, 50)) == [5, 50]
    assert all(type(s) is int for s in parse_sizes([10.0, 20.0]))


def test_parse_sizes_spec_is_log_spaced():
    assert parse_sizes({"start": 10, "stop": 1000, "num": 5}) == [10, 32, 100, 316, 1000]
    # As Hydra passes them from 'study.sizes={start: 10, stop: 1e5, num: 15}'.
    sizes = parse_sizes({"start": 10, "stop": 1e5, "num": 15})
    assert sizes[0] == 10 and sizes[-1] == 100_000 and len(sizes) == 15
    # Each is the nearest integer to the geometric grid 10 * 10^(4 j / 14).
    grid = 10 * 10 ** (4 * np.arange(15) / 14)
    assert np.all(np.abs(np.array(sizes) - grid) <= 0.5)
    # More points than integers in the range: duplicates after rounding are dropped.
    dense = parse_sizes({"start": 1, "stop": 10, "num": 30})
    assert dense == sorted(set(dense)) and dense[0] == 1 and dense[-1] == 10
    assert len(dense) == 10
    assert all(type(s) is int for s in dense)


def test_parse_sizes_default():
    assert parse_sizes(None) == parse_sizes(DEFAULT_SIZES)
    default = parse_sizes(None)
    assert default[0] == 10 and default[-1] == 10_000 and len(default) == 10


@pytest.mark.parametrize(
    "bad",
    [
        [],
        [0, 10],
        [-5, 10],
        ["ten", 100],
        [None],
        100,
        {"start": 100, "stop": 10},
        {"start": 10, "stop": 10},
        {"start": 0, "stop": 10},
        {"stop": 100},
        {"start": "a", "stop": 100},
        {"start": 10, "stop": 100, "num": 1},
    ],
)
def test_parse_sizes_rejects_bad_values(bad):
    with pytest.raises(ConfigError, match=r"study\.sizes"):
        parse_sizes(bad)


def test_sizes_below_the_family_minimum_are_config_errors():
    fam, theta = family_and_truth("gamma")  # two parameters: n >= 2
    with pytest.raises(ConfigError, match="below"):
        synthetic_study(fam, theta, StudySpec(sizes=[1, 10], replicates=10), progress=False)


# ---- 5. memory chunks ---------------------------------------------------------------------
def test_chunks_keep_every_replicate_and_the_statistics(monkeypatch):
    sizes, replicates = [100, 300, 1000, 3000], 1000
    calls = []
    real = runner.stats.study.fit_batch

    def counted(family, stats, **kw):
        calls.append(np.shape(stats["total"])[0])
        return real(family, stats, **kw)

    monkeypatch.setattr(runner.stats.study, "fit_batch", counted)
    spec = {"sizes": sizes, "replicates": replicates, "seed": 4, "stream": False}
    # 1 MB holds ~218 replicates of 100 and ~7 of 3000 (48 bytes per value): ~210 chunks.
    chunked = study("gamma", max_memory_mb=1, **spec)
    assert len(calls) > 100 and max(calls) < replicates
    assert sum(calls) == replicates * len(sizes)
    calls.clear()
    whole = study("gamma", max_memory_mb=4096, **spec)
    assert calls == [replicates] * len(sizes)

    draws = chunked.draws
    assert len(draws) == replicates * len(sizes) * 2  # shape and rate
    assert list(draws.columns) == ["size", "replicate", "estimator", "parameter",
                                   "estimate", "truth", "se", "covered"]  # fmt: skip
    for (size, param), group in draws.groupby(["size", "parameter"]):
        assert sorted(group["replicate"]) == list(range(replicates)), (size, param)
    assert not draws.duplicated(["size", "replicate", "estimator", "parameter"]).any()
    assert np.isfinite(draws["estimate"]).all()
    # Same statistics: each slope has MCSE 0.5 * sqrt(2 / 1000) / sqrt(6.5) = 0.009 (four
    # sizes over ln n 4.6 .. 8.0), so the difference of two independent runs has MCSE
    # 0.0125 and 0.05 is 4 of those; each is also -0.5 to within that.
    merged = chunked.slopes.merge(whole.slopes, on=["estimator", "parameter"])
    assert len(merged) == 2
    for _, row in merged.iterrows():
        assert row["slope_x"] == pytest.approx(row["slope_y"], abs=0.05)
        assert row["slope_x"] == pytest.approx(-0.5, abs=0.05)
    assert (chunked.summary["replicates"] == replicates).all()
    # Coverage MCSE sqrt(0.95 * 0.05 / 1000) = 0.007: 3 points is > 4 MCSE.
    assert np.allclose(chunked.summary["coverage"], 0.95, atol=0.03)


# ---- 6. subsampling real data -------------------------------------------------------------
@pytest.fixture(scope="module")
def weibull_data():
    fam, theta = family_and_truth("weibull")
    return np.asarray(fam.sample(theta, 500, np.random.default_rng(21)), dtype=float)


def test_subsample_study_compares_with_the_full_data_estimate(weibull_data):
    x = weibull_data
    fam = families.get("weibull")
    spec = StudySpec(sizes=[25, 50, 100, 200, 500, 2000], replicates=200, seed=2)
    result = subsample_study(fam, fam.validate(x), spec, progress=False)
    full = runner.fit("weibull", x)
    assert result.mode == "subsample"
    assert result.population == 500
    assert result.truth == pytest.approx(full.params, rel=1e-9)
    assert result.truth != pytest.approx(TRUTHS["weibull"], rel=1e-3)  # not the true values
    # Sizes >= N cannot be subsampled without replacement: dropped.
    assert sorted(result.summary["size"].unique()) == [25, 50, 100, 200]
    assert sorted(result.draws["size"].unique()) == [25, 50, 100, 200]
    assert len(result.draws) == 4 * 200 * 2
    for param, value in full.params.items():
        np.testing.assert_allclose(rows(result.draws, parameter=param)["truth"], value, rtol=1e-12)
        np.testing.assert_allclose(rows(result.summary, parameter=param)["truth"], value,
                                   rtol=1e-12)  # fmt: skip
    # The stream runs along a permutation of the data: its end is the full-data estimate.
    last = result.stream[result.stream["k"] == 500]
    for _, row in last.iterrows():
        assert row["estimate"] == pytest.approx(full.params[row["parameter"]], rel=1e-5)
    # The slope is fitted where the finite-population factor (1 - n/N) is small: n <= N/4.
    assert (result.slopes["from_size"] <= 125).all()


def test_subsample_sizes_all_above_the_data_are_a_config_error(weibull_data):
    fam = families.get("weibull")
    spec = StudySpec(sizes=[500, 1000], replicates=10)
    with pytest.raises(ConfigError, match="500 observations"):
        subsample_study(fam, fam.validate(weibull_data), spec, progress=False)




# ---- 7. MAP beside the MLE ----------------------------------------------------------------
def test_map_study_for_bernoulli_reports_credible_coverage():
    a, b, p = 2.0, 2.0, TRUTHS["bernoulli"]["p"]
    sizes, replicates = [20, 100, 500], 1000
    result = study("bernoulli", sizes=sizes, replicates=replicates, seed=6, estimator="map",
                   prior={"a": a, "b": b}, stream=False)  # fmt: skip
    summary = result.summary
    assert set(summary["estimator"]) == {"map", "mle"}
    assert len(rows(summary, estimator="map")) == len(sizes)
    assert set(result.slopes["estimator"]) == {"map", "mle"}

    mle = rows(result.draws, estimator="mle").sort_values(["size", "replicate"])
    map_ = rows(result.draws, estimator="map").sort_values(["size", "replicate"])
    assert len(mle) == len(map_) == replicates * len(sizes)
    n = mle["size"].to_numpy()
    k = np.round(mle["estimate"].to_numpy() * n)
    # MAP under Beta(a, b): (a + k - 1) / (a + b + n - 2); here add-one smoothing.
    np.testing.assert_allclose(map_["estimate"], (a + k - 1) / (a + b + n - 2), rtol=1e-12)
    assert map_["se"].isna().all()
    # The map row's coverage is that of the equal-tailed 95% credible interval of
    # Beta(a + k, b + n - k), not a Wald interval around the MAP.
    low, high = stats.beta.ppf([[0.025], [0.975]], a + k, b + n - k)
    credible = pd.Series((low <= p) & (p <= high), index=n).groupby(level=0).mean()
    got = rows(summary, estimator="map").set_index("size")["coverage"]
    np.testing.assert_allclose(got.loc[sizes], credible.loc[sizes], rtol=0, atol=1e-12)
    assert (rows(summary, estimator="map")["no_interval"] == 0).all()
    # And that coverage is the interval's: its exact frequentist coverage (a sum over the
    # binomial law of k) is 0.944, 0.950, 0.949 at these sizes; the MCSE over 1000
    # replicates is sqrt(0.95 * 0.05 / 1000) = 0.007, so 0.025 is ~3.5 MCSE.
    for size in sizes:
        j = np.arange(size + 1)
        lo, hi = stats.beta.ppf([[0.025], [0.975]], a + j, b + size - j)
        exact = (stats.binom.pmf(j, size, p) * ((lo <= p) & (p <= hi))).sum()
        assert got.loc[size] == pytest.approx(exact, abs=0.025), size
    wald = rows(summary, estimator="mle").set_index("size")["coverage"]
    assert not np.allclose(wald.loc[20], got.loc[20], atol=1e-9)


@pytest.mark.parametrize("mode", ["synthetic", "subsample"])
def test_map_needs_a_conjugate_prior(mode, weibull_data):
    fam, theta = family_and_truth("gamma")
    spec = StudySpec(sizes=[10, 20], replicates=10, estimator="map")
    with pytest.raises(ConfigError, match="conjugate"):
        if mode == "synthetic":
            synthetic_study(fam, theta, spec, progress=False)
        else:
            subsample_study(fam, fam.validate(weibull_data), spec, progress=False)


def test_multivariate_study_is_refused_as_a_config_error():
    # mvn observations are rows of a table; the study's tables are per scalar parameter of
    # a univariate sample. It must say so (ConfigError), not fail with an IndexError deep
    # in the batch fit.
    truth = {"mean": [0.0, 0.0], "cov": [[1.0, 0.5], [0.5, 2.0]]}
    fam = families.get("mvn").for_truth(truth)
    spec = StudySpec(sizes=[20, 50], replicates=20, stream=False)
    with pytest.raises(ConfigError, match="univariate families; mvn is multivariate"):
        synthetic_study(fam, fam.check_theta(truth), spec, progress=False)


# ---- 8. end to end through the config, tracked in MLflow ---------------------------------




# ---- 9. the command line ------------------------------------------------------------------

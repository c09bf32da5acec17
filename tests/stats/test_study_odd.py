"""Convergence studies on odd inputs: every number is right, or says n/a and why.

One replicate, one size, ``slope_from`` beyond every size, sizes above a data set's size,
families whose Cramer-Rao bound needs more than ``[I^-1]_jj`` (a simplex, no closed-form
information), or none at all (mixtures, non-regular families, a truth on the boundary),
and replicates whose MLE does not exist. References are closed forms (the multinomial
variance, the negative binomial information), recomputations from the draws, or Monte
Carlo margins of >= 3 MCSE on fixed seeds.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import special, stats

from runner.errors import ConfigError
from runner.jobs.study_job import describe, save_study, study_metrics, study_steps
from runner.stats import families
from runner.stats.study import (
    StudySpec,
    check_replicates,
    crlb,
    running_estimates,
    subsample_study,
    summed_information,
    synthetic_study,
)


def family_and_truth(name: str, truth: dict, **options):
    fam = families.get(name, **options).for_truth(truth)
    return fam, fam.check_theta(truth)


def study(name: str, truth: dict, options: dict | None = None, **spec):
    fam, theta = family_and_truth(name, truth, **(options or {}))
    return fam, synthetic_study(fam, theta, StudySpec(**{"stream": False, **spec}),
                                progress=False)  # fmt: skip


def printed(fam, result, replicates: int) -> str:
    """The console table with its wrapped notes joined up again (one space per break)."""
    spec = StudySpec(sizes=result.sizes, replicates=replicates)
    return " ".join(describe(fam.name, result, spec, regular=fam.se_source != "none").split())


def slope_row(result, parameter: str, estimator: str = "mle"):
    slopes = result.slopes
    return slopes[(slopes["parameter"] == parameter) & (slopes["estimator"] == estimator)].iloc[0]


# ---- 1. replicates ------------------------------------------------------------------------
@pytest.mark.parametrize("replicates", [1, 0, -3])
def test_fewer_than_two_replicates_are_refused_with_the_reason(replicates):
    fam, theta = family_and_truth("gamma", {"shape": 2.0, "rate": 1.5})
    spec = StudySpec(sizes=[100, 1000], replicates=replicates)
    pattern = rf"study\.replicates = {replicates}: .*at least 2 replicates.*variance.*0 or 1"
    with pytest.raises(ConfigError, match=pattern):
        synthetic_study(fam, theta, spec, progress=False)
    with pytest.raises(ConfigError, match=pattern):
        subsample_study(fam, fam.validate(np.linspace(0.5, 3, 50)), spec, progress=False)
    with pytest.raises(ConfigError, match=pattern):
        check_replicates(replicates)


def test_two_replicates_are_enough_for_every_number_and_the_table_says_they_are_few():
    fam, result = study("poisson", {"lam": 4.0}, sizes=[100, 1000], replicates=2, seed=1)
    summary = result.summary
    assert np.isfinite(summary[["variance", "mse", "efficiency"]]).all().all()
    assert (summary["replicates"] == 2).all()
    text = printed(fam, result, 2)
    assert "only 2 replicates per size" in text and "sqrt(2/R)" in text
    assert any("only 2 replicates" in note for note in result.notes)
    assert "nan" not in text


def test_coverage_mcse_is_the_binomial_standard_error_over_replicates_with_an_interval():
    # Bernoulli at n = 10, p = 0.2: P(k = 0) = 0.8^10 = 0.107, so about 11% of replicates
    # have no Wald interval (p_hat = 0 on the boundary). Coverage and its MCSE are over the
    # others, recomputed here from the draws (se NaN = no interval).
    fam, result = study("bernoulli", {"p": 0.2}, sizes=[10, 40], replicates=600, seed=4)
    draws = result.draws
    for size in (10, 40):
        rows = draws[draws["size"] == size]
        with_interval = rows[np.isfinite(rows["se"])]
        m = len(with_interval)
        c = with_interval["covered"].mean()
        got = result.summary[result.summary["size"] == size].iloc[0]
        assert got["coverage"] == pytest.approx(c, rel=1e-12)
        assert got["coverage_mcse"] == pytest.approx(np.sqrt(c * (1 - c) / m), rel=1e-12)
        assert got["no_interval"] == pytest.approx(1 - m / 600, abs=1e-12)
    # The share without an interval at n = 10 is 0.107 +- sqrt(0.107 * 0.893 / 600) = 0.013.
    share = result.summary.set_index("size")["no_interval"]
    assert share[10] == pytest.approx(0.8**10, abs=0.04)
    text = printed(fam, result, 600)
    assert "no CI" in text and "cover is over the replicates with a Wald interval" in text
    assert " ± " in text


def test_coverage_mcse_matches_the_spread_of_coverage_over_seeds():
    # The MCSE claims to be the standard deviation of the coverage over repeated studies:
    # 60 studies (seeds) of R = 200 replicates. The sample sd of 60 values has relative sd
    # 1 / sqrt(2 * 59) = 0.092, so 30% is > 3 of those.
    coverages, mcses = [], []
    fam, theta = family_and_truth("poisson", {"lam": 4.0})
    for seed in range(60):
        spec = StudySpec(sizes=[50], replicates=200, seed=seed, stream=False)
        row = synthetic_study(fam, theta, spec, progress=False).summary.iloc[0]
        coverages.append(row["coverage"])
        mcses.append(row["coverage_mcse"])
    assert np.std(coverages, ddof=1) == pytest.approx(np.mean(mcses), rel=0.30)


# ---- 2. one size: no slope ----------------------------------------------------------------
def test_a_single_size_has_no_slope_and_says_why():
    fam, result = study("poisson", {"lam": 4.0}, sizes=[1], replicates=200, seed=2)
    fit = slope_row(result, "lam")
    assert np.isnan(fit["slope"]) and fit["sizes"] == []
    assert fit["note"].startswith("n/a: a slope needs at least two sizes")
    assert "only n = 1 was studied" in fit["note"]
    assert "only n = 1 was studied" in result.unavailable["lam"]["slope"]
    text = printed(fam, result, 200)
    assert "RMSE slope n/a" in text and "only n = 1 was studied" in text
    assert "nan" not in text.lower().replace("n/a", "")
    assert "slope.lam" not in study_metrics(result)  # no NaN for MLflow
    # The per-size numbers are still there: Poisson at n = 1, CRLB lam / n = 4.
    row = result.summary.iloc[0]
    assert row["crlb"] == pytest.approx(4.0, rel=1e-12)


def test_sizes_below_the_family_minimum_are_still_refused():
    fam, theta = family_and_truth("gamma", {"shape": 2.0, "rate": 1.5})
    with pytest.raises(ConfigError, match=r"study\.sizes \[1\] are below the 2 observations"):
        synthetic_study(fam, theta, StudySpec(sizes=[1], replicates=10), progress=False)


# ---- 3. slope_from -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sizes", "slope_from", "used", "note"),
    [
        ([10, 20, 40, 80], 1000, [20, 40, 80], "no size is >= study.slope_from = 1,000"),
        ([10, 20, 40, 80], 40, [20, 40, 80], "only 2 sizes >= study.slope_from = 40"),
        ([10, 20, 40, 80], 80, [20, 40, 80], "only 1 size >= study.slope_from = 80"),
        ([10, 20, 40, 80], 20, [20, 40, 80], None),
        ([10, 20], 1000, [10, 20], "no size is >= study.slope_from = 1,000"),
        ([10, 20], 10, [10, 20], None),
    ],
)
def test_the_slope_names_the_sizes_it_used(sizes, slope_from, used, note):
    fam, result = study("poisson", {"lam": 4.0}, sizes=sizes, replicates=300, seed=3,
                        slope_from=slope_from)  # fmt: skip
    fit = slope_row(result, "lam")
    assert fit["sizes"] == used and fit["from_size"] == used[0]
    # The slope is the least-squares line through those sizes' log RMSE, recomputed.
    rows = result.summary.set_index("size").loc[used]
    expected = np.polyfit(np.log(used), np.log(rows["rmse"]), 1)[0]
    assert fit["slope"] == pytest.approx(expected, rel=1e-10)
    text = printed(fam, result, 300)
    listed = ", ".join(f"{s:,}" for s in used)
    assert f"over n = {listed} (theory -0.5)" in text
    if note is None:
        assert fit["note"] is None and "slope:" not in text
    else:
        assert fit["note"].startswith(note)
        assert note in text


def test_slope_from_beyond_every_size_is_stated_in_study_json(tmp_path):
    from runner.jobs.config import RunnerConfig

    fam, result = study("poisson", {"lam": 4.0}, sizes=[10, 20], replicates=50, seed=3,
                        slope_from=1000)  # fmt: skip
    config = RunnerConfig()
    config.plots = False
    save_study(config, tmp_path, fam.name, result, StudySpec(sizes=[10, 20], replicates=50,
                                                             slope_from=1000))  # fmt: skip
    record = _strict_json(tmp_path / "study.json")
    assert record["slope_from"] == 1000
    (fit,) = record["slopes"]
    assert fit["sizes"] == [10, 20]
    assert fit["note"].startswith("no size is >= study.slope_from = 1,000")


# ---- 4. sizes above the data size ---------------------------------------------------------
def test_subsample_sizes_above_the_data_are_dropped_and_named():
    fam = families.get("weibull")
    x = fam.validate(2.0 * np.random.default_rng(21).weibull(1.5, 400))
    spec = StudySpec(sizes=[20, 50, 100, 400, 1000], replicates=40, seed=2, stream=False)
    result = subsample_study(fam, x, spec, progress=False)
    assert result.sizes == [20, 50, 100]
    assert result.dropped == [400, 1000]
    (note,) = [n for n in result.notes if "dropped" in n]
    assert note.startswith("study.sizes 400, 1,000 dropped")
    assert "n < N = 400" in note
    assert "400, 1,000 dropped" in printed(fam, result, 40)


# ---- 5. Cramer-Rao bounds beyond [I^-1]_jj ------------------------------------------------
def test_categorical_bound_is_the_multinomial_variance():
    p = np.array([0.5, 0.3, 0.2])
    fam, theta = family_and_truth("categorical", {"p": p.tolist()})
    bounds, reasons = crlb(fam, theta)
    assert reasons == {}
    assert list(bounds) == ["p.0", "p.1", "p.2"]
    np.testing.assert_allclose(list(bounds.values()), p * (1 - p), rtol=1e-12)
    # Two categories are a Bernoulli: the same bound as its closed-form information.
    two, theta2 = family_and_truth("categorical", {"p": [0.3, 0.7]})
    bernoulli, theta_b = family_and_truth("bernoulli", {"p": 0.3})
    assert crlb(two, theta2)[0]["p.0"] == pytest.approx(crlb(bernoulli, theta_b)[0]["p"])


def test_categorical_study_efficiency_is_one():
    # p_hat_i = n_i / n is unbiased with variance p_i (1 - p_i) / n: efficiency 1. The MSE
    # over R = 1000 replicates has relative MCSE sqrt(2 / 1000) = 0.045; 0.15 is 3.3 MCSE.
    p = [0.5, 0.3, 0.2]
    fam, result = study("categorical", {"p": p}, sizes=[5000], replicates=1000, seed=3)
    summary = result.summary.set_index("parameter")
    for j, name in enumerate(["p.0", "p.1", "p.2"]):
        assert summary.loc[name, "crlb"] == pytest.approx(p[j] * (1 - p[j]) / 5000, rel=1e-12)
        assert summary.loc[name, "efficiency"] == pytest.approx(1.0, abs=0.15)
    assert "n/a sqrt(CRLB)" not in printed(fam, result, 1000)


def test_a_category_with_probability_zero_has_no_bound_and_the_others_keep_theirs():
    fam, theta = family_and_truth("categorical", {"p": [0.6, 0.4, 0.0]})
    bounds, reasons = crlb(fam, theta)
    assert bounds == pytest.approx({"p.0": 0.24, "p.1": 0.24}, rel=1e-12)
    assert set(reasons) == {"p.2"} and "boundary of the simplex" in reasons["p.2"]


def test_negative_binomial_bound_inverts_its_whole_information():
    # Per observation: I_pp = r / (p^2 (1 - p)), I_rp = -1 / p, and
    # I_rr = psi'(r) - E psi'(X + r) (scipy's own expectation over the nbinom law).
    r, p = 3.0, 0.4
    fam, theta = family_and_truth("negative_binomial", {"size": r, "p": p})
    i_rr = special.polygamma(1, r) - stats.nbinom(r, p).expect(
        lambda x: special.polygamma(1, x + r)
    )
    info = np.array([[i_rr, -1 / p], [-1 / p, r / (p**2 * (1 - p))]])
    np.testing.assert_allclose(summed_information(fam, theta), info, rtol=1e-8)
    inverse = np.linalg.inv(info)
    bounds, reasons = crlb(fam, theta)
    assert reasons == {}
    assert bounds["size"] == pytest.approx(inverse[0, 0], rel=1e-8)
    assert bounds["p"] == pytest.approx(inverse[1, 1], rel=1e-8)


@pytest.mark.parametrize(
    ("name", "truth", "options"),
    [
        ("poisson", {"lam": 4.0}, {}),
        ("geometric", {"p": 0.25}, {}),
        ("bernoulli", {"p": 0.3}, {}),
        ("binomial", {"p": 0.4}, {"trials": 12}),
    ],
)
def test_summed_information_equals_the_closed_forms(name, truth, options):
    fam, theta = family_and_truth(name, truth, **options)
    np.testing.assert_allclose(summed_information(fam, theta), fam.fisher_information(theta),
                               rtol=1e-10)  # fmt: skip


def test_negative_binomial_study_efficiency_is_near_one_at_large_n():
    # Relative MCSE of the MSE over 400 replicates: sqrt(2 / 400) = 0.071; 0.25 is 3.5 MCSE
    # (and leaves room for the O(1/n) excess of the size estimate at n = 1000). The bound
    # of size from 1 / I_rr alone would be 12x too small: efficiency 0.08.
    _, result = study("negative_binomial", {"size": 3.0, "p": 0.4}, sizes=[1000],
                        replicates=400, seed=5)  # fmt: skip
    for _, row in result.summary.iterrows():
        assert row["efficiency"] == pytest.approx(1.0, abs=0.25), row.to_dict()


def test_a_mixture_has_no_bound_and_says_why():
    truth = {"weight": [0.4, 0.6], "mu": [-2.0, 2.0], "sigma": [1.0, 0.7]}
    fam, result = study("gaussian_mixture", truth, sizes=[60, 120], replicates=3, seed=1)
    assert result.summary["crlb"].isna().all()
    for name in ("weight.1", "mu.2", "sigma.1"):
        assert "no closed-form expected Fisher information" in result.unavailable[name]["crlb"]
    text = printed(fam, result, 3)
    assert "n/a sqrt(CRLB), eff.: gaussian_mixture has no closed-form" in text
    assert "nan" not in text


def test_uniform_is_non_regular_and_says_so():
    fam, result = study("uniform", {"low": 0.0, "high": 1.0}, sizes=[20, 200], replicates=50,
                        seed=1)  # fmt: skip
    why = result.unavailable["high"]
    assert "non-regular" in why["crlb"] and why["crlb"] == why["efficiency"]
    assert why["coverage"].startswith("no Wald intervals: the uniform MLE is (min, max)")
    text = printed(fam, result, 50)
    assert "n/a sqrt(CRLB), eff.: the support depends on the parameters" in text
    assert "n/a cover: no Wald intervals" in text and "nan" not in text


def test_a_truth_on_the_boundary_makes_every_theory_number_n_a():
    fam, result = study("bernoulli", {"p": 0.0}, sizes=[10, 100], replicates=30, seed=1)
    assert (result.summary["mse"] == 0).all()
    why = result.unavailable["p"]
    assert set(why) == {"crlb", "efficiency", "coverage", "slope"}
    assert "(p = 0) is on the boundary" in why["crlb"]
    assert "RMSE is 0 at n = 10, 100" in why["slope"]
    text = printed(fam, result, 30)
    assert "nan" not in text and "RMSE slope n/a" in text
    steps = study_steps(result)
    assert all(np.isfinite(value) for _, value, _ in steps)
    assert {name for name, _, _ in steps} == {"rmse/p", "bias/p"}


# ---- siblings: replicates without an MLE -------------------------------------------------
def test_negative_binomial_replicates_without_an_mle_are_counted_and_left_out():
    # The NB MLE does not exist when the sample variance does not exceed the mean (size ->
    # infinity). Redraw the study's samples (one chunk, the same generator) to count them.
    r, p, n, replicates, seed = 3.0, 0.4, 10, 500, 7
    fam, result = study("negative_binomial", {"size": r, "p": p}, sizes=[n],
                        replicates=replicates, seed=seed)  # fmt: skip
    fam2, theta = family_and_truth("negative_binomial", {"size": r, "p": p})
    x = fam2.sample(theta, (replicates, n), np.random.default_rng(seed)).astype(float)
    none = x.var(axis=1) <= x.mean(axis=1)
    assert 0.03 < none.mean() < 0.3  # the case is exercised
    summary = result.summary.set_index("parameter")
    assert summary.loc["size", "no_mle"] == pytest.approx(none.mean(), abs=1e-12)
    draws = result.draws[result.draws["parameter"] == "size"].sort_values("replicate")
    np.testing.assert_array_equal(draws["estimate"].isna().to_numpy(), none)
    assert summary.loc["size", "replicates"] == replicates
    # Without them the size estimates are finite numbers of the order of the truth, not
    # the 1e5 .. 1e9 where the optimizer stopped on the runaway samples.
    assert summary.loc["size", "mean"] == pytest.approx(
        draws["estimate"].dropna().mean(), rel=1e-12
    )
    assert summary.loc["size", "rmse"] < 100
    assert "does not exceed the mean" in result.no_mle[n]
    text = printed(fam, result, replicates)
    assert "no MLE" in text and "does not exceed the mean" in text


def test_student_t_runaway_df_is_no_mle():
    _, result = study("student_t", {"df": 5.0, "mu": 0.0, "sigma": 1.0}, sizes=[20],
                        replicates=200, seed=2)  # fmt: skip
    df = result.draws[result.draws["parameter"] == "df"]["estimate"]
    assert df.isna().mean() > 0.1  # at n = 20 many samples look Gaussian: df -> infinity
    assert df.max() <= 1e4  # DF_GAUSSIAN_LIMIT: the kept ones are maxima
    assert "df -> infinity" in result.no_mle[20]


def test_running_estimate_is_nan_where_the_prefix_has_no_mle():
    # A path that starts constant: prefixes up to k = 20 have variance 0 <= mean, so no
    # negative binomial MLE; after 20 draws of a dispersed law most prefixes have one.
    fam, theta = family_and_truth("negative_binomial", {"size": 2.0, "p": 0.2})
    drawn = fam.sample(theta, 2000, np.random.default_rng(3))
    path = fam.validate(np.concatenate([np.full(20, 4), drawn]))
    stream = running_estimates(fam, path, {"size": 2.0, "p": 0.2})
    size = stream[stream["parameter"] == "size"].set_index("k")["estimate"]
    k = size.index.to_numpy()
    prefix_var = np.array([path[:j].var() for j in k])
    prefix_mean = np.array([path[:j].mean() for j in k])
    np.testing.assert_array_equal(size.isna().to_numpy(), prefix_var <= prefix_mean)
    assert size[k <= 20].isna().all() and np.isfinite(size.iloc[-1])


# ---- JSON and MLflow stay clean ------------------------------------------------------------
def _strict_json(path):
    def refuse(token):
        raise AssertionError(f"{path.name} has {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_study_json_gives_every_null_its_reason(tmp_path):
    from runner.jobs.config import RunnerConfig

    fam, result = study("bernoulli", {"p": 0.0}, sizes=[10, 100], replicates=20, seed=1)
    config = RunnerConfig()
    config.plots = False
    save_study(config, tmp_path, fam.name, result, StudySpec(sizes=[10, 100], replicates=20))
    record = _strict_json(tmp_path / "study.json")
    (fit,) = record["slopes"]
    assert fit["slope"] is None and fit["note"].startswith("n/a: a slope needs")
    largest = record["largest_size"][0]
    assert largest["crlb"] is None and largest["efficiency"] is None
    assert largest["coverage"] is None
    assert set(record["unavailable"]["p"]) == {"crlb", "efficiency", "coverage", "slope"}
    assert any("only 20 replicates" in note for note in record["notes"])
    assert record["dropped_sizes"] == [] and record["no_mle"] == {}
    assert study_metrics(result) == {}

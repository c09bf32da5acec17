"""The families' maths against scipy.stats and textbook formulas.

Every check here is made against something computed independently of ``runner``:
scipy's densities, finite differences, Monte Carlo moments, or a closed formula.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from runner.errors import ConfigError, DataError
from runner.stats import families

CATEGORIES = ["A", "B", "C"]


# One entry per family: its options, a data generator, two parameter values that are
# NOT the MLE of that data, and the log density computed directly with scipy.stats
# (for categorical, whose validated data are integer codes: log p[code]).
CASES = {
    "bernoulli": dict(
        options={},
        data=lambda rng, n: rng.binomial(1, 0.3, n).astype(float),
        thetas=[{"p": 0.2}, {"p": 0.71}],
        logpdf=lambda x, t: stats.bernoulli.logpmf(x, t["p"]),
    ),
    "binomial": dict(
        options={"trials": 7},
        data=lambda rng, n: rng.binomial(7, 0.4, n).astype(float),
        thetas=[{"p": 0.33}, {"p": 0.62}],
        logpdf=lambda x, t: stats.binom.logpmf(x, 7, t["p"]),
    ),
    "categorical": dict(
        options={"categories": CATEGORIES},
        data=lambda rng, n: rng.choice(CATEGORIES, n, p=[0.5, 0.3, 0.2]),
        thetas=[{"p": np.array([0.4, 0.35, 0.25])}, {"p": np.array([0.1, 0.6, 0.3])}],
        logpdf=lambda codes, t: np.log(t["p"])[codes],
    ),
    "poisson": dict(
        options={},
        data=lambda rng, n: rng.poisson(3.5, n).astype(float),
        thetas=[{"lam": 2.9}, {"lam": 0.7}],
        logpdf=lambda x, t: stats.poisson.logpmf(x, t["lam"]),
    ),
    "gaussian": dict(
        options={},
        data=lambda rng, n: rng.normal(3.0, 2.0, n),
        thetas=[{"mu": 2.5, "sigma": 1.7}, {"mu": -1.0, "sigma": 4.0}],
        logpdf=lambda x, t: stats.norm.logpdf(x, t["mu"], t["sigma"]),
    ),
    "exponential": dict(
        options={},
        data=lambda rng, n: rng.exponential(1 / 2.5, n),
        thetas=[{"rate": 2.0}, {"rate": 0.3}],
        logpdf=lambda x, t: stats.expon.logpdf(x, scale=1 / t["rate"]),
    ),
    "gamma": dict(
        options={},
        data=lambda rng, n: rng.gamma(2.5, 1 / 1.5, n),
        thetas=[{"shape": 2.0, "rate": 1.2}, {"shape": 0.6, "rate": 3.0}],
        logpdf=lambda x, t: stats.gamma.logpdf(x, t["shape"], scale=1 / t["rate"]),
    ),
}
NAMES = sorted(CASES)
SCALAR_NAMES = [name for name in NAMES if name != "categorical"]


def make(name, n=200, seed=0):
    """The family, its validated data and their sufficient statistics."""
    case = CASES[name]
    fam = families.get(name, **case["options"])
    raw = case["data"](np.random.default_rng(seed), n)
    x = fam.validate(raw)
    return fam, x, fam.reduce(x)


def test_the_seven_core_families_are_registered():
    # Families added later need their own CASES entry to be covered by this file.
    assert set(CASES) <= set(families.available())


# ---- likelihood -------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("which", [0, 1])
def test_loglik_of_reduced_data_equals_sum_of_scipy_log_densities(name, which):
    fam, x, st = make(name)
    theta = CASES[name]["thetas"][which]
    expected = float(np.sum(CASES[name]["logpdf"](x, theta)))
    # Same quantity summed in a different order: agreement to rounding (~1e-13).
    assert float(fam.loglik(st, theta)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_logpdf_matches_scipy_per_observation(name):
    fam, x, _ = make(name, n=50)
    theta = CASES[name]["thetas"][0]
    np.testing.assert_allclose(fam.logpdf(x, theta), CASES[name]["logpdf"](x, theta), rtol=1e-12)


def test_gaussian_loglik_is_accurate_for_data_with_a_large_offset():
    # Reduction around the mean keeps sum((x - mu)^2) accurate when |x| >> sd.
    fam = families.get("gaussian")
    x = 1e8 + np.random.default_rng(3).normal(0.0, 1.0, 1000)
    theta = {"mu": 1e8 + 0.1, "sigma": 1.1}
    expected = float(np.sum(stats.norm.logpdf(x, theta["mu"], theta["sigma"])))
    # Rounding of x itself near 1e8 is ~1e-8 per value, so a looser, still tight, bound.
    assert float(fam.loglik(fam.reduce(x), theta)) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("which", [0, 1])
def test_score_equals_central_finite_difference_of_loglik(name, which):
    fam, _, st = make(name)
    theta = CASES[name]["thetas"][which]
    score = fam.score(st, theta)
    for p in fam.params:
        base = np.atleast_1d(np.asarray(theta[p.name], dtype=float))
        numeric = np.empty_like(base)
        for i in range(base.size):
            h = 1e-6 * max(1.0, abs(base[i]))
            up, down = base.copy(), base.copy()
            up[i] += h
            down[i] -= h

            def ll(v, name=p.name, vector=p.is_vector):
                return float(fam.loglik(st, {**theta, name: v if vector else float(v[0])}))

            numeric[i] = (ll(up) - ll(down)) / (2 * h)
        # Central difference with h = 1e-6: truncation O(h^2) and rounding
        # ~eps * |loglik| / h ~ 1e-7, both far below 1e-5 of the score's scale (~n).
        analytic = np.atleast_1d(np.asarray(score[p.name], dtype=float))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-5 * st["n"])


# ---- closed forms -----------------------------------------------------------------------
def test_closed_form_bernoulli_is_successes_over_n():
    fam, x, st = make("bernoulli")
    assert fam.closed_form(st)["p"] == pytest.approx(np.count_nonzero(x == 1) / len(x), rel=1e-15)


def test_closed_form_binomial_is_total_successes_over_n_times_trials():
    fam, x, st = make("binomial")
    assert fam.closed_form(st)["p"] == pytest.approx(np.sum(x) / (len(x) * 7), rel=1e-15)


def test_closed_form_categorical_is_counts_over_n():
    fam = families.get("categorical", categories=CATEGORIES)
    raw = ["A", "C", "C", "B", "A", "C", "C", "A"]
    p = fam.closed_form(fam.reduce(fam.validate(raw)))["p"]
    np.testing.assert_allclose(p, [3 / 8, 1 / 8, 4 / 8], rtol=1e-15)


def test_closed_form_poisson_is_sample_mean():
    fam, x, st = make("poisson")
    assert fam.closed_form(st)["lam"] == pytest.approx(np.mean(x), rel=1e-14)


def test_closed_form_gaussian_is_mean_and_std_dividing_by_n():
    fam, x, st = make("gaussian")
    est = fam.closed_form(st)
    assert est["mu"] == pytest.approx(np.mean(x), rel=1e-14)
    assert est["sigma"] == pytest.approx(np.std(x, ddof=0), rel=1e-12)
    assert est["sigma"] != pytest.approx(np.std(x, ddof=1), rel=1e-4)  # not the n-1 version


def test_closed_form_exponential_is_one_over_mean():
    fam, x, st = make("exponential")
    assert fam.closed_form(st)["rate"] == pytest.approx(1 / np.mean(x), rel=1e-14)


def test_gamma_has_no_closed_form_but_a_method_of_moments_start():
    fam, x, st = make("gamma")
    assert not fam.has_closed_form
    assert fam.closed_form(st) is None
    start = fam.initial(st)
    # The Minka start is within a few percent of the MLE; here only "near and valid".
    a_hat, _, scale_hat = stats.gamma.fit(x, floc=0)
    assert start["shape"] == pytest.approx(a_hat, rel=0.05)
    assert start["rate"] == pytest.approx(1 / scale_hat, rel=0.05)


# ---- Fisher information -----------------------------------------------------------------
FISHER_THETA = {
    "bernoulli": {"p": 0.3},
    "binomial": {"p": 0.4},
    "poisson": {"lam": 3.5},
    "gaussian": {"mu": 1.5, "sigma": 2.0},
    "exponential": {"rate": 2.5},
    "gamma": {"shape": 2.5, "rate": 1.5},
}


@pytest.mark.parametrize("name", sorted(FISHER_THETA))
def test_fisher_information_equals_monte_carlo_variance_of_the_per_observation_score(name):
    fam = families.get(name, **CASES[name]["options"])
    theta = FISHER_THETA[name]
    x = fam.sample(theta, 200_000, np.random.default_rng(11)).astype(float)
    st = fam.reduce(x[:, None])  # batched: one "sample" of size 1 per observation
    score = fam.score(st, theta)
    s = np.column_stack([np.asarray(score[n], dtype=float) for n in fam.param_names])
    mc = s.T @ s / len(x)  # E[s s^T] (E[s] = 0 at the true theta)
    info = fam.fisher_information(theta)
    # Compare in correlation units: the MC error of each entry, divided by
    # sqrt(I_ii I_jj), has sd <= sqrt(kurtosis / N) ~ sqrt(15 / 2e5) ~ 0.009 for the
    # heaviest-tailed score here (gaussian sigma, a chi-square with 1 df), so 0.05 is
    # > 5 sd while still catching a wrong factor (e.g. 1 vs 2 for sigma).
    d = np.sqrt(np.diag(info))
    np.testing.assert_allclose((mc - info) / np.outer(d, d), 0.0, atol=0.05)


@pytest.mark.parametrize("name", ["gamma", "exponential"])
def test_fisher_information_equals_minus_hessian_per_observation_when_data_free(name):
    # For gamma and exponential the Hessian of the log-likelihood does not depend on x,
    # so -H / n is exactly the expected information: check it by differentiating the
    # (already checked) score numerically.
    fam, _, st = make(name)
    theta = FISHER_THETA[name]
    names = fam.param_names
    hess = np.empty((len(names), len(names)))
    for j, pj in enumerate(names):
        h = 1e-6 * theta[pj]
        up = fam.score(st, {**theta, pj: theta[pj] + h})
        down = fam.score(st, {**theta, pj: theta[pj] - h})
        for i, pi in enumerate(names):
            hess[i, j] = (up[pi] - down[pi]) / (2 * h)
    # Central differences of an analytic gradient: ~1e-8 relative.
    np.testing.assert_allclose(-hess / st["n"], fam.fisher_information(theta), rtol=1e-6)


def test_gamma_fisher_information_is_the_textbook_matrix():
    a, b = 2.5, 1.5
    info = families.get("gamma").fisher_information({"shape": a, "rate": b})
    expected = [[special.polygamma(1, a), -1 / b], [-1 / b, a / b**2]]
    np.testing.assert_allclose(info, expected, rtol=1e-14)


# ---- support checks ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "options", "values", "index", "shown"),
    [
        ("poisson", {}, [1, 0, -1, 3], 2, "-1"),
        ("poisson", {}, [1, 2, 1.5, 4], 2, "1.5"),
        ("bernoulli", {}, [0, 1, 1, 2, 0], 3, "2"),
        ("binomial", {"trials": 5}, [0, 5, 6, 2], 2, "6"),
        ("binomial", {"trials": 5}, [0, -1], 1, "-1"),
        ("exponential", {}, [0.5, 0.0, -0.25], 2, "-0.25"),
        ("gamma", {}, [1.2, 0.0, 3.0], 1, "0"),
        ("gamma", {}, [1.2, 3.0, -2.0], 2, "-2"),
        ("gaussian", {}, [0.5, np.nan, 1.0], 1, "nan"),
        ("gaussian", {}, [0.5, 1.0, np.inf], 2, "inf"),
        ("gaussian", {}, [0.5, 1.0, -np.inf], 2, "-inf"),
    ],
)
def test_validate_raises_data_error_pointing_at_first_bad_value(
    name, options, values, index, shown
):
    fam = families.get(name, **options)
    with pytest.raises(DataError) as err:
        fam.validate(values)
    assert err.value.index == index
    assert f"value {shown} " in str(err.value)


@pytest.mark.parametrize("name", SCALAR_NAMES)
def test_validate_rejects_a_non_numeric_string_naming_it(name):
    fam = families.get(name, **CASES[name]["options"])
    with pytest.raises(DataError) as err:
        fam.validate(["1", "1", "abc", "0"])
    assert err.value.index == 2
    assert err.value.value == "abc"
    assert "'abc'" in str(err.value)


def test_validate_reports_the_first_of_several_bad_values():
    with pytest.raises(DataError) as err:
        families.get("poisson").validate([0, 1, 2, -3, -4, 0.5])
    assert err.value.index == 3


@pytest.mark.parametrize("name", SCALAR_NAMES)
def test_validate_accepts_values_in_the_support_and_returns_floats(name):
    fam, x, _ = make(name, n=30)
    out = fam.validate(list(x))
    assert out.dtype == float
    np.testing.assert_array_equal(out, x)


def test_validate_of_a_two_dimensional_batch_reports_the_bad_value_as_data_error():
    # Valid 2-D batches are accepted (reduce works along the last axis), so a bad value
    # in one must be a DataError too, not a crash while locating it.
    fam = families.get("poisson")
    assert fam.validate([[1, 2], [3, 4]]).shape == (2, 2)
    with pytest.raises(DataError) as err:
        fam.validate([[1, 2], [3, -1]])
    assert "-1" in str(err.value)


def test_support_edges_are_accepted():
    np.testing.assert_array_equal(families.get("exponential").validate([0.0, 1.0]), [0, 1])
    np.testing.assert_array_equal(families.get("binomial", trials=4).validate([0, 4]), [0, 4])
    np.testing.assert_array_equal(families.get("poisson").validate([0.0, 7.0]), [0, 7])


# ---- categorical ------------------------------------------------------------------------
def test_categorical_for_data_infers_sorted_string_labels():
    fam = families.get("categorical").for_data(["b", "c", "a", "b"])
    assert fam.categories == ["a", "b", "c"]
    np.testing.assert_array_equal(fam.validate(["b", "c", "a", "b"]), [1, 2, 0, 1])


def test_categorical_integer_codes_work_and_name_components_by_code():
    raw = [2, 0, 1, 1, 2, 2]
    fam = families.get("categorical").for_data(raw)
    assert fam.categories == [0, 1, 2]
    codes = fam.validate(raw)
    np.testing.assert_array_equal(codes, raw)
    assert fam.params[0].component_names() == ["p.0", "p.1", "p.2"]
    np.testing.assert_allclose(fam.closed_form(fam.reduce(codes))["p"], [1 / 6, 2 / 6, 3 / 6])


def test_categorical_integer_codes_read_as_floats_are_codes():
    # e.g. a CSV column with a missing value is read as float
    fam = families.get("categorical").for_data(np.array([1.0, 0.0, 2.0]))
    assert fam.categories == [0, 1, 2]
    np.testing.assert_array_equal(fam.validate(np.array([1.0, 0.0, 2.0])), [1, 0, 2])


def test_categorical_labels_and_codes_give_the_same_likelihood():
    labels = ["x", "z", "y", "z", "z"]
    by_label = families.get("categorical").for_data(labels)
    by_code = families.get("categorical").for_data([0, 2, 1, 2, 2])
    theta = {"p": np.array([0.2, 0.3, 0.5])}
    a = by_label.loglik(by_label.reduce(by_label.validate(labels)), theta)
    b = by_code.loglik(by_code.reduce(by_code.validate([0, 2, 1, 2, 2])), theta)
    assert a == pytest.approx(b, rel=1e-15)
    assert a == pytest.approx(np.log(0.2) + np.log(0.3) + 3 * np.log(0.5), rel=1e-12)


def test_categorical_label_outside_configured_categories_raises_naming_it():
    fam = families.get("categorical", categories=CATEGORIES)
    with pytest.raises(DataError) as err:
        fam.validate(["A", "B", "D", "A", "E"])
    assert err.value.index == 2
    assert "'D'" in str(err.value)


def test_categorical_components_are_named_p_dot_label_in_configured_order():
    fam = families.get("categorical", categories=["B", "A", "C"])
    assert fam.params[0].component_names() == ["p.B", "p.A", "p.C"]
    np.testing.assert_array_equal(fam.validate(["A", "B", "C"]), [1, 0, 2])


def test_categorical_configured_category_absent_from_data_keeps_its_slot():
    fam = families.get("categorical", categories=CATEGORIES)
    st = fam.reduce(fam.validate(["A", "B", "A"]))
    np.testing.assert_array_equal(st["counts"], [2, 1, 0])


def test_categorical_labels_that_sanitize_alike_still_get_distinct_component_names():
    # "a!" and "a?" are different categories; their MLflow-safe names must not collide,
    # or Fit.to_dict() (keyed by component name) silently drops one of them. Either
    # refusing such categories or disambiguating the names is correct.
    try:
        fam = families.get("categorical", categories=["a!", "a?"])
    except ConfigError:
        return
    names = fam.params[0].component_names()
    assert len(set(names)) == 2, names


def test_categorical_needs_two_distinct_categories():
    with pytest.raises(DataError):
        families.get("categorical").for_data(["A", "A", "A"])
    with pytest.raises(ConfigError):
        families.get("categorical", categories=["A"])
    with pytest.raises(ConfigError):
        families.get("categorical", categories=["A", "A"])


# ---- check_theta ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "options", "theta"),
    [
        ("gaussian", {}, {"mu": 0.0, "sigma": -1.0}),
        ("gaussian", {}, {"mu": 0.0, "sigma": 0.0}),
        ("gaussian", {}, {"mu": np.nan, "sigma": 1.0}),
        ("bernoulli", {}, {"p": 1.5}),
        ("bernoulli", {}, {"p": -0.1}),
        ("binomial", {"trials": 3}, {"p": 1.5}),
        ("poisson", {}, {"lam": -2.0}),
        ("gamma", {}, {"shape": 2.0, "rate": 0.0}),
        ("categorical", {"categories": CATEGORIES}, {"p": [0.5, 0.5, 0.5]}),
        ("categorical", {"categories": CATEGORIES}, {"p": [1.2, -0.2, 0.0]}),
        ("categorical", {"categories": CATEGORIES}, {"p": [0.5, 0.5]}),
        ("gaussian", {}, {"mu": "abc", "sigma": 1.0}),
    ],
)
def test_check_theta_rejects_values_outside_the_parameter_space(name, options, theta):
    with pytest.raises(ConfigError):
        families.get(name, **options).check_theta(theta)


def test_check_theta_rejects_missing_parameter_naming_it():
    with pytest.raises(ConfigError, match="sigma"):
        families.get("gaussian").check_theta({"mu": 0.0})


def test_check_theta_rejects_extra_parameter_naming_it():
    with pytest.raises(ConfigError, match="scale"):
        families.get("gamma").check_theta({"shape": 1.0, "rate": 1.0, "scale": 1.0})


def test_check_theta_returns_floats_and_arrays_for_valid_values():
    out = families.get("gaussian").check_theta({"sigma": 2, "mu": -1})
    assert out == {"mu": -1.0, "sigma": 2.0}
    assert all(type(v) is float for v in out.values())
    p = families.get("categorical", categories=CATEGORIES).check_theta({"p": [0.2, 0.3, 0.5]})
    np.testing.assert_array_equal(p["p"], [0.2, 0.3, 0.5])
    # Boundary values are in the closed parameter space.
    assert families.get("bernoulli").check_theta({"p": 0.0}) == {"p": 0.0}


# ---- sampling ---------------------------------------------------------------------------
SAMPLE_THETA = {
    **FISHER_THETA,
    "categorical": {"p": np.array([0.5, 0.3, 0.2])},
}
# (mean, sd) of one draw, from textbook formulas.
MOMENTS = {
    "bernoulli": (0.3, np.sqrt(0.3 * 0.7)),
    "binomial": (7 * 0.4, np.sqrt(7 * 0.4 * 0.6)),
    "poisson": (3.5, np.sqrt(3.5)),
    "gaussian": (1.5, 2.0),
    "exponential": (1 / 2.5, 1 / 2.5),
    "gamma": (2.5 / 1.5, np.sqrt(2.5) / 1.5),
}


@pytest.mark.parametrize("name", SCALAR_NAMES)
def test_sample_has_the_right_size_support_and_mean(name):
    fam = families.get(name, **CASES[name]["options"])
    n = 20_000
    x = fam.sample(SAMPLE_THETA[name], n, np.random.default_rng(5))
    assert x.shape == (n,)
    fam.validate(x)  # every draw is in the support
    mean, sd = MOMENTS[name]
    # 5 standard errors of the mean: fails by chance with probability ~6e-7.
    assert abs(np.mean(x) - mean) < 5 * sd / np.sqrt(n)


def test_sample_is_reproducible_with_the_same_seed():
    fam = families.get("gamma")
    a = fam.sample({"shape": 2.0, "rate": 1.0}, 10, np.random.default_rng(42))
    b = fam.sample({"shape": 2.0, "rate": 1.0}, 10, np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)


def test_categorical_sample_returns_labels_with_the_right_frequencies():
    fam = families.get("categorical", categories=CATEGORIES)
    n = 20_000
    x = fam.sample(SAMPLE_THETA["categorical"], n, np.random.default_rng(6))
    assert len(x) == n
    assert set(x) <= set(CATEGORIES)
    freq = np.bincount(fam.validate(x), minlength=3) / n
    p = SAMPLE_THETA["categorical"]["p"]
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n))  # 5 standard errors


def test_categorical_sample_with_integer_categories_returns_codes():
    fam = families.get("categorical", categories=[0, 1, 2])
    x = fam.sample({"p": np.array([0.2, 0.3, 0.5])}, 100, np.random.default_rng(7))
    assert set(np.unique(x)) <= {0, 1, 2}
    np.testing.assert_array_equal(fam.validate(x), x)


# ---- the catalogue ----------------------------------------------------------------------
def test_available_is_sorted_and_every_name_builds():
    names = families.available()
    assert names == sorted(names)
    assert {"bernoulli", "categorical", "exponential", "gamma", "gaussian", "poisson"} <= set(names)
    for name in set(names) & set(CASES):
        assert families.get(name, **CASES[name]["options"]).name == name


def test_get_unknown_family_raises_config_error_listing_choices():
    with pytest.raises(ConfigError) as err:
        families.get("nope")
    assert "'nope'" in str(err.value)
    for name in families.available():
        assert name in str(err.value)


def test_get_binomial_without_trials_raises_config_error():
    with pytest.raises(ConfigError, match="trials"):
        families.get("binomial")


@pytest.mark.parametrize("trials", [0, -3, 2.5, True])
def test_get_binomial_with_invalid_trials_raises_config_error(trials):
    with pytest.raises(ConfigError, match="trials"):
        families.get("binomial", trials=trials)


def test_get_family_with_an_option_it_does_not_take_raises_config_error():
    with pytest.raises(ConfigError, match="trials"):
        families.get("gaussian", trials=3)
    with pytest.raises(ConfigError, match="categories"):
        families.get("binomial", trials=3, categories=["A", "B"])


def test_get_ignores_options_set_to_none():
    assert families.get("gaussian", trials=None, categories=None).name == "gaussian"
    assert families.get("binomial", trials=4).trials == 4

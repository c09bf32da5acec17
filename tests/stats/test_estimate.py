"""``fit``: estimates, standard errors and the ``Fit`` API, checked against scipy and
textbook formulas rather than against ``runner``'s own code paths."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import special, stats

from runner import ConfigError, DataError, fit
from runner.stats import families
from runner.stats.families.base import Family
from runner.stats.families.continuous import Gamma

Z95 = 1.959963984540054  # the 97.5% normal quantile
CATEGORIES = ["A", "B", "C"]
N = 400


def data(name, n=N, seed=0):
    """A reproducible sample for each family, with the options ``fit`` needs."""
    rng = np.random.default_rng(seed)
    samples = {
        "bernoulli": (rng.binomial(1, 0.3, n).astype(float), {}),
        "binomial": (rng.binomial(8, 0.35, n).astype(float), {"trials": 8}),
        "categorical": (rng.choice(CATEGORIES, n, p=[0.5, 0.3, 0.2]), {}),
        "poisson": (rng.poisson(3.5, n).astype(float), {}),
        "gaussian": (rng.normal(3.0, 2.0, n), {}),
        "exponential": (rng.exponential(1 / 2.5, n), {}),
        "gamma": (rng.gamma(2.5, 1 / 1.5, n), {}),
    }
    return samples[name]


def scipy_loglik(name, x, theta, options):
    """sum of log densities at ``theta``, computed directly with scipy.stats."""
    if name == "bernoulli":
        return float(np.sum(stats.bernoulli.logpmf(x, theta["p"])))
    if name == "binomial":
        return float(np.sum(stats.binom.logpmf(x, options["trials"], theta["p"])))
    if name == "categorical":
        labels = sorted(set(x))
        codes = np.array([labels.index(v) for v in x])
        with np.errstate(divide="ignore"):
            return float(np.sum(np.log(np.asarray(theta["p"]))[codes]))
    if name == "poisson":
        return float(np.sum(stats.poisson.logpmf(x, theta["lam"])))
    if name == "gaussian":
        return float(np.sum(stats.norm.logpdf(x, theta["mu"], theta["sigma"])))
    if name == "exponential":
        return float(np.sum(stats.expon.logpdf(x, scale=1 / theta["rate"])))
    if name == "gamma":
        return float(np.sum(stats.gamma.logpdf(x, theta["shape"], scale=1 / theta["rate"])))
    raise AssertionError(name)


def textbook_mle(name, x, options):
    if name == "bernoulli":
        return {"p": np.mean(x)}
    if name == "binomial":
        return {"p": np.sum(x) / (len(x) * options["trials"])}
    if name == "categorical":
        return {"p": np.array([np.mean(np.asarray(x) == c) for c in sorted(set(x))])}
    if name == "poisson":
        return {"lam": np.mean(x)}
    if name == "gaussian":
        return {"mu": np.mean(x), "sigma": np.std(x, ddof=0)}
    if name == "exponential":
        return {"rate": 1 / np.mean(x)}
    raise AssertionError(name)


CLOSED_FORM = ["bernoulli", "binomial", "categorical", "exponential", "gaussian", "poisson"]
ALL = sorted([*CLOSED_FORM, "gamma"])


def test_the_seven_core_families_are_registered():
    # Families added later need their own entries here to be covered by this file.
    assert set(ALL) <= set(families.available())


def far_start(fam: Family, shift: float = 0.7) -> Family:
    """The same family, but numerical optimizers start ``shift`` away (in unconstrained
    coordinates) from the default start, which for closed-form families IS the MLE and
    would make an optimizer comparison vacuous."""
    cls = type(fam)

    def initial(self, st):
        start = cls.initial(self, st)
        out = {}
        for p in self.params:
            z = p.constraint.to_unconstrained(np.asarray(start[p.name], dtype=float)) + shift
            v = p.constraint.from_unconstrained(z)
            out[p.name] = v if p.is_vector else float(v[0])
        return out

    moved = object.__new__(type(f"FarStart{cls.__name__}", (cls,), {"initial": initial}))
    moved.__dict__.update(fam.__dict__)
    return moved


def assert_theta_close(a, b, rtol):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(np.asarray(a[k], float), np.asarray(b[k], float), rtol=rtol)


# ---- estimates ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLOSED_FORM)
def test_fit_matches_textbook_closed_form(name):
    x, opts = data(name)
    f = fit(name, x, **opts)
    assert f.optimizer == "closed_form"  # auto picks the exact solution
    assert_theta_close(f.params, textbook_mle(name, x, opts), rtol=1e-12)
    assert f.loglik == pytest.approx(scipy_loglik(name, x, f.params, opts), rel=1e-10)


def test_gaussian_mle_matches_scipy_norm_fit():
    x, _ = data("gaussian")
    f = fit("gaussian", x)
    mu, sigma = stats.norm.fit(x)  # MLE: sigma divides by n
    assert f.params["mu"] == pytest.approx(mu, rel=1e-12)
    assert f.params["sigma"] == pytest.approx(sigma, rel=1e-12)
    ref = scipy_loglik("gaussian", x, {"mu": mu, "sigma": sigma}, {})
    assert f.loglik >= ref - 1e-6 * abs(ref)


def test_exponential_mle_matches_scipy_expon_fit():
    x, _ = data("exponential")
    f = fit("exponential", x)
    _, scale = stats.expon.fit(x, floc=0)
    assert f.params["rate"] == pytest.approx(1 / scale, rel=1e-12)
    ref = scipy_loglik("exponential", x, {"rate": 1 / scale}, {})
    assert f.loglik >= ref - 1e-6 * abs(ref)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gamma_mle_matches_scipy_fit(seed):
    x, _ = data("gamma", seed=seed)
    f = fit("gamma", x)
    assert f.optimizer == "newton"  # auto: no closed form, so Newton on the score
    assert f.converged
    a, _, scale = stats.gamma.fit(x, floc=0)
    # Newton stops at max |score| / n < 1e-9: both solve the shape equation to ~1e-9.
    assert f.params["shape"] == pytest.approx(a, rel=1e-7)
    assert f.params["rate"] == pytest.approx(1 / scale, rel=1e-7)
    ref = scipy_loglik("gamma", x, {"shape": a, "rate": 1 / scale}, {})
    # Near the maximum the loss is quadratic in that 1e-5 error: far below 1e-6.
    assert f.loglik >= ref - 1e-6 * abs(ref)
    assert f.loglik == pytest.approx(scipy_loglik("gamma", x, f.params, {}), rel=1e-10)


def test_gamma_mle_solves_the_shape_equation():
    # log(a) - digamma(a) = log(mean x) - mean(log x), and rate = a / mean x.
    x, _ = data("gamma")
    f = fit("gamma", x, optimizer_options={"tol": 1e-12})
    a, b = f.params["shape"], f.params["rate"]
    s = np.log(np.mean(x)) - np.mean(np.log(x))
    assert np.log(a) - special.digamma(a) == pytest.approx(s, rel=1e-7)
    assert b == pytest.approx(a / np.mean(x), rel=1e-7)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("step", [1e-3, 1e-2])
def test_loglik_at_estimate_is_not_below_nearby_points(name, step):
    x, opts = data(name)
    f = fit(name, x, **opts)
    best = scipy_loglik(name, x, f.params, opts)
    neighbours = []
    for k, v in f.params.items():
        if np.ndim(v):  # a probability vector: move mass between two components
            for i in range(len(v)):
                for j in range(len(v)):
                    if i != j:
                        w = np.array(v, dtype=float)
                        d = step * min(w[i], w[j])
                        w[i] += d
                        w[j] -= d
                        neighbours.append({k: w})
        else:
            neighbours += [{**f.params, k: v * (1 + step)}, {**f.params, k: v * (1 - step)}]
    for theta in neighbours:
        # Closed forms are exact; gamma's optimizer error (~1e-5) costs < 1e-9 of loglik,
        # while a 1e-3 relative step costs ~1e-4: a strict comparison with a 1e-10 slack.
        assert scipy_loglik(name, x, theta, opts) <= best + 1e-10 * abs(best), theta


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_scipy_optimizer_agrees_with_closed_form(name):
    x, opts = data(name)
    fam = families.get(name, **opts).for_data(x)
    exact = fit(name, x, optimizer="closed_form", **opts)
    numeric = fit(far_start(fam), x, optimizer="scipy", optimizer_options={"tol": 1e-10})
    assert numeric.optimizer == "scipy:L-BFGS-B"
    assert numeric.converged
    assert numeric.iterations > 0  # it started away from the answer and had to move
    # tol=1e-10 on the per-observation objective: the estimates agree to ~1e-8.
    assert_theta_close(numeric.params, exact.params, rtol=1e-6)
    # Both are maxima of the same function: standard errors agree too.
    for a, b in zip(numeric.estimates, exact.estimates, strict=True):
        assert a.se == pytest.approx(b.se, rel=1e-4)


@pytest.mark.parametrize("method", ["BFGS", "Nelder-Mead", "L-BFGS-B", "trust-exact", "Powell"])
def test_scipy_methods_agree_on_gamma(method):
    x, _ = data("gamma")
    a, _, scale = stats.gamma.fit(x, floc=0)
    f = fit(
        far_start(families.get("gamma")),
        x,
        optimizer="scipy",
        # 1e-8, not smaller: trust-exact's finite-difference Hessian cannot resolve
        # gradients below ~1e-10 and then reports failure although it is at the root.
        optimizer_options={"method": method, "tol": 1e-8},
    )
    assert f.optimizer == f"scipy:{method}"
    assert f.converged, f.message
    # With tol=1e-8 each method reaches the exact root to ~1e-7 (Nelder-Mead's simplex
    # is the coarsest); 1e-5 leaves room and still catches a wrong maximum.
    assert f.params["shape"] == pytest.approx(a, rel=1e-5)
    assert f.params["rate"] == pytest.approx(1 / scale, rel=1e-5)


def test_gamma_without_analytic_score_fits_by_numerical_gradient_and_hessian():
    class GammaWithoutScore(Gamma):
        score = Family.score  # as if the family gave no score

    fam = GammaWithoutScore()
    assert not fam.has_score
    x, _ = data("gamma")
    a, _, scale = stats.gamma.fit(x, floc=0)
    f = fit(fam, x, optimizer_options={"tol": 1e-10})
    assert f.params["shape"] == pytest.approx(a, rel=1e-5)
    assert f.params["rate"] == pytest.approx(1 / scale, rel=1e-5)
    se = gamma_se(f.params["shape"], f.params["rate"], len(x))
    # Second differences of the value alone (step 1e-4): ~1e-6 relative.
    assert f.se["shape"] == pytest.approx(se[0], rel=1e-4)
    assert f.se["rate"] == pytest.approx(se[1], rel=1e-4)


def test_closed_form_on_gamma_raises_config_error():
    x, _ = data("gamma")
    with pytest.raises(ConfigError, match="closed-form"):
        fit("gamma", x, optimizer="closed_form")


def test_unknown_optimizer_or_method_raises_config_error():
    x, _ = data("gaussian")
    with pytest.raises(ConfigError, match="auto"):
        fit("gaussian", x, optimizer="no-such-optimizer")
    with pytest.raises(ConfigError):
        fit("gaussian", x, optimizer="scipy", optimizer_options={"method": "no-such-method"})
    with pytest.raises(ConfigError):
        fit("gaussian", x, optimizer="closed_form", optimizer_options={"method": "BFGS"})


# ---- standard errors --------------------------------------------------------------------
def gamma_se(a, b, n):
    info = n * np.array([[special.polygamma(1, a), -1 / b], [-1 / b, a / b**2]])
    return np.sqrt(np.diag(np.linalg.inv(info)))


def analytic_se(name, f, options):
    """Inverse observed information at the MLE, from textbook formulas."""
    n, t = f.n, f.params
    if name == "gaussian":
        return {"mu": t["sigma"] / math.sqrt(n), "sigma": t["sigma"] / math.sqrt(2 * n)}
    if name == "poisson":
        return {"lam": math.sqrt(t["lam"] / n)}
    if name == "bernoulli":
        return {"p": math.sqrt(t["p"] * (1 - t["p"]) / n)}
    if name == "binomial":
        return {"p": math.sqrt(t["p"] * (1 - t["p"]) / (n * options["trials"]))}
    if name == "exponential":
        return {"rate": t["rate"] / math.sqrt(n)}
    if name == "gamma":
        se = gamma_se(t["shape"], t["rate"], n)
        return {"shape": se[0], "rate": se[1]}
    if name == "categorical":
        p = t["p"]
        return {f"p.{c}": math.sqrt(p[i] * (1 - p[i]) / n) for i, c in enumerate(CATEGORIES)}
    raise AssertionError(name)


@pytest.mark.parametrize("name", ALL)
def test_standard_errors_match_inverse_observed_information(name):
    x, opts = data(name)
    # gamma: tight optimizer tolerance so the formula is evaluated at the same point
    f = fit(name, x, optimizer_options={"tol": 1e-12} if name == "gamma" else None, **opts)
    expected = analytic_se(name, f, opts)
    assert set(f.se) == set(expected)
    for k, se in expected.items():
        # Finite-difference Hessian of an analytic score: ~1e-8; 1e-4 per the brief.
        assert f.se[k] == pytest.approx(se, rel=1e-4), k


@pytest.mark.parametrize("name", ALL)
def test_plain_wald_interval_is_estimate_plus_minus_z_times_se(name):
    x, opts = data(name)
    f = fit(name, x, ci="wald", **opts)
    for e in f.estimates:
        assert e.ci == pytest.approx((e.estimate - Z95 * e.se, e.estimate + Z95 * e.se), rel=1e-9)
        assert e.ci[0] < e.estimate < e.ci[1]
        assert e.ci_method == "wald"


def _transformed(space: str, v: float, se: float) -> tuple[float, float]:
    """The delta-method Wald interval on the unconstrained scale, mapped back."""
    if space == "positive":
        return v * np.exp(-Z95 * se / v), v * np.exp(Z95 * se / v)
    if space in ("unit_interval", "simplex"):
        half = Z95 * se / (v * (1 - v))
        return tuple(special.expit(special.logit(v) + s * half) for s in (-1, 1))
    return v - Z95 * se, v + Z95 * se


@pytest.mark.parametrize("name", ALL)
def test_default_wald_interval_is_formed_on_the_unconstrained_scale(name):
    x, opts = data(name)
    f = fit(name, x, **opts)
    family = families.get(name, **opts).for_data(x)
    spaces = {c: p.constraint.name for p in family.params for c in p.component_names()}
    for e in f.estimates:
        space = spaces[e.name]
        assert e.ci == pytest.approx(_transformed(space, e.estimate, e.se), rel=1e-9)
        assert e.ci[0] < e.estimate < e.ci[1]
        expected = {"positive": "wald (log scale)", "unit_interval": "wald (logit scale)",
                    "simplex": "wald (logit scale)"}.get(space, "wald")  # fmt: skip
        assert e.ci_method == expected
        if space == "positive":
            assert e.ci[0] > 0
        if space in ("unit_interval", "simplex"):
            assert e.ci[0] > 0 and e.ci[1] < 1


def test_categorical_covariance_respects_the_sum_to_one_constraint():
    x, _ = data("categorical")
    f = fit("categorical", x)
    p, n = f.params["p"], f.n
    # Multinomial: Cov(p_hat) = (diag(p) - p p^T) / n, singular because sum(p) = 1.
    np.testing.assert_allclose(f.covariance, (np.diag(p) - np.outer(p, p)) / n, rtol=1e-4)
    np.testing.assert_allclose(f.covariance.sum(axis=1), 0.0, atol=1e-10)


# ---- boundary ---------------------------------------------------------------------------
def test_bernoulli_all_zeros_is_on_boundary_without_wald_inference():
    f = fit("bernoulli", np.zeros(25))
    e = f.estimate("p")
    assert f.params["p"] == 0.0
    assert e.on_boundary
    assert e.se is None
    assert e.ci is None
    assert f.grad_norm is None
    assert any("boundary" in note for note in f.notes)
    assert f.loglik == 0.0  # P(all zeros | p = 0) = 1
    json.dumps(f.to_dict(), allow_nan=False)


def test_bernoulli_all_ones_is_on_boundary():
    f = fit("bernoulli", np.ones(10))
    assert f.params["p"] == 1.0
    assert f.estimate("p").on_boundary
    assert f.estimate("p").se is None


def test_categorical_unseen_configured_category_is_on_boundary():
    f = fit("categorical", ["A", "B", "A", "A"], categories=CATEGORIES)
    np.testing.assert_allclose(f.params["p"], [0.75, 0.25, 0.0])
    assert f.estimate("p.C").estimate == 0.0
    assert f.estimate("p.C").on_boundary
    assert f.se == {"p.A": None, "p.B": None, "p.C": None}
    assert any("boundary" in note for note in f.notes)


@pytest.mark.parametrize(
    ("name", "optimizer"),
    [("gaussian", "auto"), ("gaussian", "scipy"), ("gamma", "auto"), ("gamma", "newton")],
)
def test_zero_spread_data_are_refused_because_the_mle_does_not_exist(name, optimizer):
    # With all values equal the likelihood grows without bound (sigma -> 0, or gamma
    # shape -> inf at fixed mean): whichever optimizer was asked for, the answer must say
    # so instead of presenting the last iterate as an ordinary estimate.
    with pytest.raises(DataError, match="does not exist"):
        fit(name, [2.0, 2.0, 2.0], optimizer=optimizer)


def test_zero_spread_is_fine_when_the_runaway_parameter_is_fixed():
    f = fit("gaussian", [2.0, 2.0, 2.0], fixed={"sigma": 1.0})
    assert f.params["mu"] == pytest.approx(2.0)
    assert f.k == 1


def test_numerical_optimizer_reports_the_exact_boundary_maximum():
    # scipy can only approach lam = 0 in log coordinates; the closed form reaches it.
    f = fit("poisson", [0, 0, 0], optimizer="scipy")
    assert f.params["lam"] == 0.0
    assert f.estimate("lam").on_boundary and f.se["lam"] is None
    assert any("boundary" in note for note in f.notes)


def test_all_parameters_fixed_is_a_converged_fit_with_no_free_parameters():
    f = fit("categorical", ["A", "B"], fixed={"p": [0.5, 0.5]})
    assert f.converged and f.k == 0
    assert f.loglik == pytest.approx(2 * np.log(0.5))


def test_interior_fit_has_no_notes_and_is_not_on_boundary():
    x, _ = data("bernoulli")
    f = fit("bernoulli", x)
    assert not f.estimate("p").on_boundary
    assert f.notes == []


# ---- the Fit API ------------------------------------------------------------------------
def test_fit_api_gamma_params_loglik_and_information_criteria():
    x, _ = data("gamma")
    f = fit("gamma", x)
    assert set(f.params) == {"shape", "rate"}
    assert isinstance(f.params["shape"], float)
    assert isinstance(f.loglik, float)
    assert f.model == "gamma"
    assert f.n == N
    assert f.k == 2
    assert f.aic == pytest.approx(2 * 2 - 2 * f.loglik, rel=1e-15)
    assert f.bic == pytest.approx(2 * math.log(N) - 2 * f.loglik, rel=1e-15)
    assert f.mean_loglik == pytest.approx(f.loglik / N, rel=1e-15)
    assert [e.name for e in f.estimates] == ["shape", "rate"]
    assert "shape" in f.summary()


@pytest.mark.parametrize("name", ALL)
def test_to_dict_is_strict_json_with_the_documented_keys(name):
    x, opts = data(name)
    f = fit(name, x, **opts)
    d = json.loads(json.dumps(f.to_dict(), allow_nan=False))
    for key in ("model", "n", "params", "loglik", "aic", "bic", "converged", "iterations"):
        assert key in d, key
    assert d["model"] == name
    assert d["n"] == N
    assert d["loglik"] == pytest.approx(f.loglik)
    assert d["aic"] == pytest.approx(f.aic)
    assert d["bic"] == pytest.approx(f.bic)
    assert d["converged"] is True
    for pname, entry in d["params"].items():
        assert {"estimate", "se", "ci", "truth"} <= set(entry), pname
        assert entry["estimate"] == pytest.approx(f.estimate(pname).estimate)
        assert entry["se"] == pytest.approx(f.estimate(pname).se)
        assert entry["ci"] == pytest.approx(list(f.estimate(pname).ci))
        assert entry["truth"] is None


def test_categorical_to_dict_names_components_p_dot_label():
    x, _ = data("categorical")
    d = fit("categorical", x).to_dict()
    assert list(d["params"]) == ["p.A", "p.B", "p.C"]
    assert d["k"] == 2  # K - 1 free probabilities
    assert d["options"] == {"categories": CATEGORIES}


def test_truth_passes_through_to_estimates_and_to_dict():
    x, _ = data("gaussian")
    f = fit("gaussian", x, truth={"mu": 3.0, "sigma": 2.0})
    assert f.estimate("mu").truth == 3.0
    assert f.estimate("sigma").truth == 2.0
    d = f.to_dict()
    assert d["params"]["mu"]["truth"] == 3.0
    assert d["params"]["sigma"]["truth"] == 2.0


def test_categorical_truth_passes_through_per_component():
    x, _ = data("categorical")
    f = fit("categorical", x, truth={"p": [0.5, 0.3, 0.2]})
    assert [f.estimate(f"p.{c}").truth for c in CATEGORIES] == [0.5, 0.3, 0.2]


def test_invalid_truth_raises_config_error():
    x, _ = data("gaussian")
    with pytest.raises(ConfigError):
        fit("gaussian", x, truth={"mu": 0.0, "sigma": -1.0})
    with pytest.raises(ConfigError):
        fit("gaussian", x, truth={"mu": 0.0})


def test_fixed_sigma_holds_it_and_estimates_mu_as_the_mean():
    x, _ = data("gaussian")
    f = fit("gaussian", x, fixed={"sigma": 1.0})
    assert f.params["sigma"] == 1.0
    # mu comes from the numerical optimizer (no closed form with a fixed parameter);
    # its default tolerance gives ~1e-6 on this scale.
    assert f.params["mu"] == pytest.approx(np.mean(x), rel=1e-5)
    assert f.k == 1
    assert f.estimate("sigma").fixed
    assert f.estimate("sigma").se is None
    assert not f.estimate("mu").fixed
    assert f.estimate("mu").se == pytest.approx(1 / math.sqrt(N), rel=1e-4)
    assert f.aic == pytest.approx(2 * 1 - 2 * f.loglik)
    assert set(f.score) == {"mu"}


def test_fixed_sigma_allows_a_single_observation():
    f = fit("gaussian", [2.5], fixed={"sigma": 1.0})
    assert f.params["mu"] == pytest.approx(2.5, rel=1e-5)


def test_fixed_unknown_parameter_raises_config_error():
    x, _ = data("gaussian")
    with pytest.raises(ConfigError, match="tau"):
        fit("gaussian", x, fixed={"tau": 1.0})


# ---- bad data ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["poisson", "gaussian", "gamma", "bernoulli"])
def test_no_observations_raises_data_error(name):
    with pytest.raises(DataError):
        fit(name, [])


def test_gaussian_with_one_observation_raises_data_error():
    with pytest.raises(DataError, match="observations"):
        fit("gaussian", [1.0])


def test_data_outside_the_support_raises_data_error_from_fit():
    with pytest.raises(DataError) as err:
        fit("poisson", [1, 2, -1])
    assert err.value.index == 2


def test_binomial_fit_needs_trials():
    with pytest.raises(ConfigError, match="trials"):
        fit("binomial", [1, 2, 3])


# ---- the score at the estimate ----------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_score_at_interior_estimate_is_near_zero(name):
    x, opts = data(name)
    f = fit(name, x, **opts)
    assert f.grad_norm is not None
    if name == "gamma":
        # L-BFGS-B stops when the per-observation gradient (in log coordinates) is
        # < 1e-5; in natural coordinates that is < 1e-4 per observation here.
        assert f.grad_norm < 1e-4 * f.n
    else:
        # Closed form: zero up to rounding of sums of n terms.
        assert f.grad_norm < 1e-9 * f.n
    assert set(f.score) == {e.name for e in f.estimates}

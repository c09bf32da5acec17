"""The pseudo-true parameter (the Kullback-Leibler minimiser) of a family fitted to data
from another law: where it has a closed form, the expected score equations, the truth
itself for a correct model, and refusals where the divergence is infinite."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from runner.errors import ConfigError
from runner.stats.families import get
from runner.stats.pseudo_true import pseudo_true

# The quadrature and the Newton climb give ~1e-13 where the tails are light; 1e-8 is the
# accuracy promised (the tails are cut at 1e-30 of probability).
TOL = 1e-8


@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 0.5), (1.0, 1.0), (-0.5, 2.0)])
def test_gamma_fitted_to_lognormal_solves_the_expected_score_equations(mu, sigma):
    # E[score] = 0: shape / rate = E X = exp(mu + sigma^2 / 2) and
    # digamma(shape) - log(rate) = E log X = mu.
    theta = pseudo_true(get("gamma"), get("lognormal"), {"mu": mu, "sigma": sigma})
    a, b = theta["shape"], theta["rate"]
    assert a / b == pytest.approx(np.exp(mu + sigma**2 / 2), rel=TOL)
    assert special.digamma(a) - np.log(b) == pytest.approx(mu, abs=TOL)


@pytest.mark.parametrize(
    ("model", "truth", "mean"),
    [
        ("gamma", {"shape": 2.5, "rate": 1.5}, 2.5 / 1.5),
        ("weibull", {"shape": 1.7, "scale": 2.0}, 2.0 * special.gamma(1 + 1 / 1.7)),
        ("lognormal", {"mu": 0.3, "sigma": 1.2}, np.exp(0.3 + 1.2**2 / 2)),
        ("poisson", {"lam": 3.5}, 3.5),  # a discrete law: a sum over its masses
    ],
)
def test_exponential_fitted_to_anything_has_rate_one_over_the_mean(model, truth, mean):
    theta = pseudo_true(get("exponential"), get(model), truth)
    assert theta["rate"] == pytest.approx(1 / mean, rel=TOL)


@pytest.mark.parametrize(
    ("model", "truth", "mean", "sd"),
    [
        ("gamma", {"shape": 2.5, "rate": 1.5}, 2.5 / 1.5, np.sqrt(2.5) / 1.5),
        ("student_t", {"df": 5.0, "mu": 1.0, "sigma": 2.0}, 1.0, 2.0 * np.sqrt(5 / 3)),
        # finite variance, but E X^4 is not: the tails converge slowly, still to ~1e-10
        ("student_t", {"df": 3.0, "mu": 0.0, "sigma": 1.0}, 0.0, np.sqrt(3.0)),
        ("laplace", {"mu": 1.0, "b": 2.0}, 1.0, 2.0 * np.sqrt(2.0)),
        ("beta", {"a": 0.5, "b": 0.7}, 0.5 / 1.2, np.sqrt(0.35 / (1.2**2 * 2.2))),
        ("poisson", {"lam": 3.5}, 3.5, np.sqrt(3.5)),
    ],
)
def test_gaussian_fitted_to_anything_has_its_mean_and_sd(model, truth, mean, sd):
    theta = pseudo_true(get("gaussian"), get(model), truth)
    assert theta["mu"] == pytest.approx(mean, rel=TOL, abs=TOL)
    assert theta["sigma"] == pytest.approx(sd, rel=TOL)


@pytest.mark.parametrize(
    ("model", "truth"),
    [
        ("gamma", {"shape": 0.05, "rate": 1.0}),  # quantiles underflow to 0 in the far tail
        ("weibull", {"shape": 1.7, "scale": 2.0}),
        ("beta", {"a": 0.5, "b": 0.7}),  # ... and round to 1
        ("negative_binomial", {"size": 3.0, "p": 0.4}),
    ],
)
def test_a_correct_model_has_the_truth_as_its_pseudo_true_value(model, truth):
    theta = pseudo_true(get(model), get(model), truth)
    for name, value in truth.items():
        assert theta[name] == pytest.approx(value, rel=TOL)


def test_held_parameters_stay_held():
    # gamma with shape held at a: the rate's expected score a / b - E X = 0.
    theta = pseudo_true(get("gamma"), get("lognormal"), {"mu": 0.0, "sigma": 1.0},
                        fixed={"shape": 2.0})  # fmt: skip
    assert theta["shape"] == 2.0
    assert theta["rate"] == pytest.approx(2.0 / np.exp(0.5), rel=TOL)


# ---- refusals ---------------------------------------------------------------------------------
def test_support_that_excludes_part_of_the_truth_is_an_infinite_divergence():
    with pytest.raises(ConfigError, match=r"probability 0\.00135 outside gamma's support"):
        pseudo_true(get("gamma"), get("gaussian"), {"mu": 3.0, "sigma": 1.0})
    with pytest.raises(ConfigError, match="the Kullback-Leibler divergence is infinite"):
        pseudo_true(get("poisson"), get("gamma"), {"shape": 2.0, "rate": 1.0})


def test_a_missing_moment_is_an_infinite_expectation():
    # a gaussian's log f needs E X^2: none for cauchy (t_1); t_2.5 has it, but its tail
    # converges too slowly (p^0.2) for 1e-8, and is refused too.
    for df in (1.0, 2.5):
        with pytest.raises(ConfigError, match="infinite or nearly so"):
            pseudo_true(get("gaussian"), get("student_t"), {"df": df, "mu": 0.0, "sigma": 1.0})


def test_no_interior_maximum_is_refused_with_the_family_reason():
    with pytest.raises(ConfigError, match="df -> infinity"):
        pseudo_true(get("student_t"), get("gaussian"), {"mu": 0.0, "sigma": 1.0})


def test_families_the_search_cannot_climb_are_refused():
    with pytest.raises(ConfigError, match="not twice differentiable"):
        pseudo_true(get("laplace"), get("gaussian"), {"mu": 0.0, "sigma": 1.0})
    with pytest.raises(ConfigError, match="univariate"):
        pseudo_true(get("gaussian"), get("mvn", dim=2), {"mean": [0, 0], "cov": np.eye(2)})
    mixture = get("gaussian_mixture", k=2)
    truth = {"weight": [0.5, 0.5], "mu": [0.0, 3.0], "sigma": [1.0, 1.0]}
    with pytest.raises(ConfigError, match="no quantile function"):
        pseudo_true(get("gaussian"), mixture, truth)

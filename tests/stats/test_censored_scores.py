"""Analytic scores of censored likelihoods (gaussian, lognormal, weibull, exponential)
against central differences of the likelihood itself, for every kind of censoring with and
without truncation, and where the differences cannot go: far in the tails."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from runner.stats.families import get
from runner.stats.families.censored import Censored
from runner.stats.numdiff import gradient_from_value

THETAS = {
    "gaussian": {"mu": 1.5, "sigma": 1.2},
    "lognormal": {"mu": 0.3, "sigma": 0.9},
    "weibull": {"shape": 1.4, "scale": 2.1},
    "exponential": {"rate": 0.6},
}


def mixed_pairs() -> np.ndarray:
    """Exact, right-, left-, interval-censored and two too-narrow intervals."""
    x = np.random.default_rng(0).weibull(1.5, 200) * 2 + 0.01
    pairs = np.column_stack([x, x])
    pairs[:30, 1] = np.inf
    pairs[30:50, 0] = -np.inf
    pairs[50:80, 1] = pairs[50:80, 0] * 1.5
    pairs[80:85, 1] = pairs[80:85, 0] * (1 + 1e-9)
    return pairs


@pytest.mark.parametrize("truncation", [None, (0.005, 20.0), (0.005, None)])
@pytest.mark.parametrize("name", sorted(THETAS))
def test_analytic_score_equals_differences_of_the_likelihood(name, truncation):
    family = Censored(get(name), truncation)
    assert family.has_score
    stats = family.reduce(family.validate(mixed_pairs()))
    names, theta = family.param_names, THETAS[name]
    point = np.array([theta[n] for n in names])
    expected = gradient_from_value(
        lambda v: family.loglik(stats, dict(zip(names, v, strict=True))), point
    )
    got = family.score(stats, theta)
    np.testing.assert_allclose([got[n] for n in names], expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(THETAS))
def test_hessian_is_the_derivative_of_the_score(name):
    family = Censored(get(name), (0.005, None))
    stats = family.reduce(family.validate(mixed_pairs()))
    names, theta = family.param_names, THETAS[name]

    def grad(v):
        at = family.score(stats, dict(zip(names, v, strict=True)))
        return np.array([at[n] for n in names])

    point = np.array([theta[n] for n in names])
    h = 1e-5 * point
    numeric = np.column_stack([(grad(point + e) - grad(point - e)) / (2 * e[j])
                               for j, e in enumerate(np.diag(h))])  # fmt: skip
    np.testing.assert_allclose(family.hessian(stats, theta), numeric, rtol=1e-5, atol=1e-6)


def test_gaussian_score_in_the_far_tails_is_the_hazard():
    """Right-censored at z = 50: d log S / d mu = phi(50) / S(50) (~ 50.02), where S
    underflows to 0 in linear scale; left-censored at z = -45 the mirror image."""
    family = Censored(get("gaussian"))
    pairs = np.array([[50.0, np.inf], [-np.inf, -45.0]])
    stats = family.reduce(pairs)
    got = family.score(stats, {"mu": 0.0, "sigma": 1.0})
    hazard = np.exp(st.norm.logpdf(50.0) - st.norm.logsf(50.0))  # d log S(50) / d mu
    mills = np.exp(st.norm.logpdf(-45.0) - st.norm.logcdf(-45.0))  # -d log F(-45) / d mu
    assert got["mu"] == pytest.approx(hazard - mills, rel=1e-12)
    assert got["sigma"] == pytest.approx(50 * hazard + 45 * mills, rel=1e-12)


def test_right_censored_weibull_score_from_sums_equals_the_general_kernel():
    """The fast three-sum path and the per-observation kernel agree (truncation to (0,
    inf) sends the same data through the kernel)."""
    x = st.weibull_min.rvs(1.5, scale=2.0, size=500, random_state=3)
    pairs = np.column_stack([np.minimum(x, 2.5), np.where(x <= 2.5, x, np.inf)])
    theta = {"shape": 1.3, "scale": 2.2}
    fast, general = Censored(get("weibull")), Censored(get("weibull"), (0.0, None))
    a = fast.score(fast.reduce(pairs), theta)
    b = general.score(general.reduce(pairs), theta)
    assert a["shape"] == pytest.approx(b["shape"], rel=1e-10)
    assert a["scale"] == pytest.approx(b["scale"], rel=1e-10)
    assert fast.loglik(fast.reduce(pairs), theta) == pytest.approx(
        general.loglik(general.reduce(pairs), theta), rel=1e-12
    )

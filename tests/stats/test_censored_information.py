"""The censored-data expected information: closed forms (exponential with fixed and random
censoring, the Tobit model), the ordinary information when nothing is censored, a Monte
Carlo estimate of E[score score^T] for a weibull censored both ways, the censoring scale
against simulated shares, and the loss of information as censoring grows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, special, stats

from runner.errors import ConfigError
from runner.stats.censored_information import censored_information, censoring_scale
from runner.stats.families import get
from runner.stats.families.censored import Censored
from runner.stats.families.scipy_family import ScipyFamily

# The quadrature is ~1e-12 and the central differences ~1e-10 relative: 1e-8 leaves room.
RTOL = 1e-8


@pytest.mark.parametrize("c", [0.05, 0.7, 2.0, 25.0])
def test_exponential_censored_at_a_fixed_time_matches_its_closed_form(c):
    # seen events carry 1/rate^2 each, the censored ones nothing beyond their count:
    # I = P(X <= c) / rate^2
    rate = 1.7
    info = censored_information(get("exponential"), {"rate": rate}, right=c)
    assert info[0, 0] == pytest.approx(-np.expm1(-rate * c) / rate**2, rel=RTOL)


@pytest.mark.parametrize("mu", [0.01, 0.5, 3.0, 100.0])
def test_exponential_with_exponential_censoring_matches_its_closed_form(mu):
    # C ~ Exp(mu), scale 1/mu: I = P(X <= C) / rate^2 = [rate / (rate + mu)] / rate^2
    rate = 1.7
    info = censored_information(get("exponential"), {"rate": rate}, scale=1 / mu)
    assert info[0, 0] == pytest.approx(rate / (rate + mu) / rate**2, rel=RTOL)


@pytest.mark.parametrize(
    "name, theta",
    [
        ("gaussian", {"mu": 1.0, "sigma": 2.0}),
        ("weibull", {"shape": 1.7, "scale": 2.0}),
        ("weibull", {"shape": 0.3, "scale": 2.0}),
        ("gamma", {"shape": 0.5, "rate": 2.0}),
        ("gamma", {"shape": 3.0, "rate": 2.0}),
        ("lognormal", {"mu": 0.3, "sigma": 1.5}),
        ("exponential", {"rate": 0.01}),
    ],
)
def test_without_censoring_it_is_the_closed_form_fisher_information(name, theta):
    # gaussian diag(1, 2) / sigma^2; gamma's trigamma; weibull's Euler-gamma form
    family = get(name)
    expected = family.fisher_information(theta)
    info = censored_information(family, theta)
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    np.testing.assert_allclose(info / scale, expected / scale, rtol=0, atol=RTOL)


def _tobit_information(mu: float, sigma: float, c: float) -> np.ndarray:
    """Gaussian right-censored at c, in (mu, sigma), from the moments of the standard
    normal below z = (c - mu) / sigma: int^z u^2 phi = Phi - z phi, int^z u^3 phi =
    -(z^2 + 2) phi, int^z u^4 phi = 3 Phi - (z^3 + 3 z) phi; plus the censored share
    S = 1 - Phi with d log S / d(mu, sigma) = (phi, z phi) / (sigma S)."""
    z = (c - mu) / sigma
    cdf, pdf, sf = stats.norm.cdf(z), stats.norm.pdf(z), stats.norm.sf(z)
    mm = cdf - z * pdf + pdf**2 / sf
    ms = -(z**2 + 1) * pdf + z * pdf**2 / sf
    ss = 2 * cdf - (z**3 + z) * pdf + z**2 * pdf**2 / sf
    return np.array([[mm, ms], [ms, ss]]) / sigma**2


def _tobit_by_quad(mu: float, sigma: float, c: float) -> np.ndarray:
    """The same by scipy.integrate.quad over the exact values, plus the censored atom."""

    def score(x):
        u = (x - mu) / sigma
        return np.array([u / sigma, (u * u - 1) / sigma])

    info = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            info[i, j] = integrate.quad(
                lambda x, i=i, j=j: score(x)[i] * score(x)[j] * stats.norm.pdf(x, mu, sigma),
                -np.inf, c, epsabs=0, epsrel=1e-12,
            )[0]  # fmt: skip
    z = (c - mu) / sigma
    sf = stats.norm.sf(z)
    s_c = np.array([1.0, z]) * stats.norm.pdf(z) / (sigma * sf)
    return info + sf * np.outer(s_c, s_c)


@pytest.mark.parametrize("c", [-2.0, 1.0, 2.0, 6.0])
def test_gaussian_censored_at_a_fixed_time_is_the_tobit_information(c):
    mu, sigma = 1.0, 2.0
    closed = _tobit_information(mu, sigma, c)
    np.testing.assert_allclose(_tobit_by_quad(mu, sigma, c), closed, rtol=1e-9, atol=1e-12)
    info = censored_information(get("gaussian"), {"mu": mu, "sigma": sigma}, right=c)
    np.testing.assert_allclose(info, closed, rtol=RTOL, atol=RTOL * closed.max())


def test_weibull_censored_both_ways_matches_a_monte_carlo_estimate():
    # E[score score^T] over simulated (T, delta), with weibull's analytic scores:
    # exact, (1/k + L - z L, k (z - 1) / lam); censored, d log S = (-z L, k z / lam),
    # z = (t / lam)^k, L = log(t / lam). Tolerance: 4 Monte Carlo standard errors.
    k, lam, right, scale, n = 1.7, 2.0, 3.0, 4.0, 400_000
    rng = np.random.default_rng(20261215)
    x = lam * rng.weibull(k, n)
    c = np.minimum(right, scale * rng.exponential(1.0, n))
    t, seen = np.minimum(x, c), x <= c
    z, log_t = (t / lam) ** k, np.log(t / lam)
    score = np.where(
        seen[:, None],
        np.column_stack([1 / k + log_t - z * log_t, k * (z - 1) / lam]),
        np.column_stack([-z * log_t, k * z / lam]),
    )
    products = score[:, :, None] * score[:, None, :]
    estimate = products.mean(axis=0)
    mcse = products.std(axis=0) / np.sqrt(n)
    info = censored_information(get("weibull"), {"shape": k, "scale": lam}, right, scale)
    assert np.all(np.abs(info - estimate) <= 4 * mcse), (info, estimate, mcse)
    # the power to tell: the atom at `right` alone, S(right) P(sE >= right) s_c s_c^T,
    # is many standard errors in every entry
    zr, log_r = (right / lam) ** k, np.log(right / lam)
    s_r = np.array([-zr * log_r, k * zr / lam])
    atom = np.exp(-zr - right / scale) * np.outer(s_r, s_r)
    assert np.all(np.abs(atom) > 20 * mcse)


def test_exponential_censoring_at_its_scale_keeps_the_closed_forms_together():
    # P(X > sE) = 1 / (1 + rate s): s = (1 - share) / (rate share), and I = (1 - share) / rate^2
    rate, share = 1.7, 0.3
    s = censoring_scale(get("exponential"), {"rate": rate}, share)
    assert s == pytest.approx((1 - share) / (rate * share), rel=1e-10)
    info = censored_information(get("exponential"), {"rate": rate}, scale=s)
    assert info[0, 0] == pytest.approx((1 - share) / rate**2, rel=RTOL)


@pytest.mark.parametrize(
    "name, theta, share, right",
    [
        ("weibull", {"shape": 1.7, "scale": 2.0}, 0.4, 3.0),
        ("weibull", {"shape": 0.6, "scale": 1.0}, 0.8, None),
        ("gaussian", {"mu": 2.0, "sigma": 1.0}, 0.3, None),
        ("gaussian", {"mu": 0.0, "sigma": 1.0}, 0.45, 1.0),
        ("gamma", {"shape": 2.5, "rate": 0.5}, 0.05, None),
    ],
)
def test_censoring_scale_censors_its_share_of_simulated_draws(name, theta, share, right):
    family, n = get(name), 1_000_000
    s = censoring_scale(family, theta, share, right)
    rng = np.random.default_rng(20261216)
    x = family.sample(theta, n, rng)
    c = s * rng.exponential(1.0, n)
    if right is not None:
        c = np.minimum(c, right)
    # 4 binomial standard errors
    assert abs(np.mean(x > c) - share) < 4 * np.sqrt(share * (1 - share) / n)


def test_censoring_scale_refuses_a_rate_the_fixed_censoring_already_exceeds():
    theta = {"shape": 1.7, "scale": 2.0}  # S(1) = exp(-0.5^1.7) = 0.7351
    with pytest.raises(ConfigError, match=r"right = 1 .*0\.7351.*rate = 0\.5"):
        censoring_scale(get("weibull"), theta, 0.5, right=1.0)


def test_censoring_scale_refuses_more_than_the_positive_part_can_give():
    with pytest.raises(ConfigError, match=r"rate = 0\.6.*at most a share 0\.5"):
        censoring_scale(get("gaussian"), {"mu": 0.0, "sigma": 1.0}, 0.6)
    with pytest.raises(ConfigError, match=r"\(0, 1\)"):
        censoring_scale(get("exponential"), {"rate": 1.0}, 1.0)


def _loewner_decreasing(infos: list[np.ndarray]) -> None:
    for more, less in itertools.pairwise(infos):
        # strictly: each step of censoring loses information in every direction
        assert np.linalg.eigvalsh(more - less).min() > 1e-6 * np.abs(more).max()


def test_information_decreases_as_random_censoring_grows():
    family, theta = get("weibull"), {"shape": 1.7, "scale": 2.0}
    for right in (None, 3.0):
        rates = (0.4, 0.5, 0.7, 0.9) if right else (0.05, 0.2, 0.5, 0.9)
        scales = [censoring_scale(family, theta, r, right) for r in rates]
        infos = [censored_information(family, theta)]
        infos += [censored_information(family, theta, right, s) for s in scales]
        _loewner_decreasing(infos)


def test_information_decreases_as_the_fixed_censoring_time_comes_earlier():
    family, theta = get("gaussian"), {"mu": 1.0, "sigma": 2.0}
    for scale in (None, 3.0):
        infos = [censored_information(family, theta, None, scale)]
        infos += [censored_information(family, theta, c, scale) for c in (5.0, 2.0, 0.5, -1.0)]
        _loewner_decreasing(infos)


def test_heavy_random_censoring_of_a_gaussian_tends_to_censoring_at_zero():
    # s -> 0: every positive draw is censored just above 0, the Tobit model at c = 0
    family, theta = get("gaussian"), {"mu": 0.0, "sigma": 1.0}
    info = censored_information(family, theta, scale=1e-7)
    np.testing.assert_allclose(info, _tobit_information(0.0, 1.0, 0.0), rtol=1e-5, atol=1e-6)


def test_a_censored_family_is_read_as_its_base_law_and_truncation_refused():
    theta = {"shape": 1.7, "scale": 2.0}
    base = censored_information(get("weibull"), theta, 3.0, 4.0)
    np.testing.assert_array_equal(censored_information(Censored(get("weibull")), theta, 3.0, 4.0),
                                  base)  # fmt: skip
    with pytest.raises(ConfigError, match="truncat"):
        censored_information(Censored(get("weibull"), (0.0, 5.0)), theta, 3.0)


def test_a_threshold_that_moves_with_the_parameters_is_refused():
    # weibull_min with loc free and c < 2: infinite information for loc, no bound
    family = ScipyFamily("weibull_min")
    with pytest.raises(ConfigError, match=r"not finite|infinite"):
        censored_information(family, {"c": 1.5, "loc": 0.0, "scale": 1.0}, right=2.0)


def test_a_threshold_with_finite_information_matches_the_formula():
    # three-parameter gamma, finite for a > 2 (Johnson, Kotz & Balakrishnan 1994, ch. 17);
    # the loc term converges slowest in the tail left out (1e-6 relative here)
    a, b = 3.5, 2.0
    expected = np.array([
        [special.polygamma(1, a), 1 / (b * (a - 1)), 1 / b],
        [1 / (b * (a - 1)), 1 / (b**2 * (a - 2)), 1 / b**2],
        [1 / b, 1 / b**2, a / b**2],
    ])  # fmt: skip
    info = censored_information(ScipyFamily("gamma"), {"a": a, "loc": 1.0, "scale": b})
    np.testing.assert_allclose(info, expected, rtol=1e-4)


def test_what_it_is_not_for_is_refused():
    with pytest.raises(ConfigError, match="continuous"):
        censored_information(get("poisson"), {"rate": 2.0})
    with pytest.raises(ConfigError, match="censors every draw"):
        censored_information(get("exponential"), {"rate": 1.0}, right=-1.0)
    with pytest.raises(ConfigError, match="scale"):
        censored_information(get("exponential"), {"rate": 1.0}, scale=0.0)

"""Profile-likelihood intervals against the likelihood-ratio ends solved directly, and
open-ended where the profile never falls to the cut."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from runner import fit
from runner.errors import ConfigError

CUT = stats.chi2.ppf(0.95, 1) / 2  # log-likelihood drop at a 95% end


def lr_ends(loglik, estimate: float, low: float, high: float) -> tuple[float, float]:
    top = loglik(estimate)

    def drop(v):
        return top - loglik(v) - CUT

    return (optimize.brentq(drop, low, estimate, xtol=1e-14),
            optimize.brentq(drop, estimate, high, xtol=1e-14))  # fmt: skip


def test_bernoulli_profile_interval_is_the_likelihood_ratio_interval():
    x = np.array([1] * 4 + [0] * 16)
    f = fit("bernoulli", x, ci="profile")
    e = f.estimate("p")
    expected = lr_ends(lambda p: stats.binom.logpmf(4, 20, p), 0.2, 1e-9, 1 - 1e-9)
    assert e.ci == pytest.approx(expected, rel=1e-8)
    assert e.ci_method == "profile"
    # the plain Wald interval leaves [0, 1] far less often here, but is symmetric
    assert fit("bernoulli", x, ci="wald").estimate("p").ci[0] < e.ci[0]


def test_gaussian_mu_profile_re_maximises_sigma():
    x = np.random.default_rng(4).normal(3.0, 2.0, 15)
    f = fit("gaussian", x, ci="profile")

    def profile(mu):  # sigma^2(mu) = mean((x - mu)^2) maximises the rest
        s2 = np.mean((x - mu) ** 2)
        return -x.size / 2 * (np.log(2 * np.pi * s2) + 1)

    expected = lr_ends(profile, x.mean(), x.mean() - 10, x.mean() + 10)
    assert f.estimate("mu").ci == pytest.approx(expected, rel=1e-8)


def test_exponential_rate_profile_stays_positive():
    x = np.random.default_rng(5).exponential(2.0, 8)
    f = fit("exponential", x, ci="profile")
    n, total = x.size, x.sum()
    expected = lr_ends(lambda r: n * np.log(r) - r * total, n / total, 1e-12, 50)
    assert f.estimate("rate").ci == pytest.approx(expected, rel=1e-8)
    assert f.estimate("rate").ci[0] > 0


def test_a_profile_that_never_falls_to_the_cut_is_open_ended():
    """Student-t on gaussian data: the profile in df flattens toward the normal limit."""
    x = np.random.default_rng(0).normal(0.0, 1.0, 40)
    f = fit("student_t", x, ci="profile")
    e = f.estimate("df")
    assert e.ci[1] == np.inf and e.ci[0] > 0
    assert any("df: the profile stays above the cut toward inf: open-ended" in n
               for n in f.notes)  # fmt: skip


def test_an_unknown_interval_method_is_refused():
    with pytest.raises(ConfigError, match="ci='exact': choose one of wald_transformed"):
        fit("gaussian", np.arange(5.0), ci="exact")


def test_student_t_likelihood_tends_to_the_gaussian_one_for_large_df():
    """Its gamma-function differences cancel in double precision for large df (the
    profile above walks there): the series keeps the limit."""
    x = np.random.default_rng(0).normal(0.0, 1.0, 40)
    gaussian = fit("gaussian", x).loglik
    for df in (1e8, 1e15, 1e100):
        held = fit("student_t", x, fixed={"df": df})
        assert held.loglik == pytest.approx(gaussian, abs=1e-6 + 40 / df)


def test_what_the_interval_methods_cannot_serve_is_refused_or_said():
    from scipy.stats import CensoredData

    x = np.random.default_rng(2).exponential(1.0, 50)
    with pytest.raises(ConfigError, match="not supported with censored or truncated data"):
        fit("exponential", x, truncation=(0.01, None), ci="bootstrap")
    with pytest.raises(ConfigError, match="sandwich is not supported with censored"):
        fit("exponential", CensoredData(uncensored=x[:40], right=x[40:]), se="sandwich")
    with pytest.raises(ConfigError, match="laplace"):
        fit("laplace", x, se="sandwich")
    f = fit("uniform", x, ci="profile")  # its support moves: no chi-square(1) cut
    assert all(e.ci is None for e in f.estimates)
    assert any("no profile intervals" in note for note in f.notes)

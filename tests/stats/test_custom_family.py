"""model=custom: a user's vectorised log-density fitted like a built-in family."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runner import fit
from runner.errors import ConfigError
from runner.stats.families.custom_example import logpdf as normal_logpdf


def test_a_hand_written_normal_is_the_gaussian_closed_form():
    x = np.random.default_rng(0).normal(3.0, 2.0, 400)
    ours = fit("custom", x, logpdf=normal_logpdf, params={"mu": "real", "sigma": "positive"},
               init={"mu": 1.0, "sigma": 1.0})  # fmt: skip
    built_in = fit("gaussian", x)
    assert ours.params["mu"] == pytest.approx(built_in.params["mu"], rel=1e-7)
    assert ours.params["sigma"] == pytest.approx(built_in.params["sigma"], rel=1e-7)
    assert ours.loglik == pytest.approx(built_in.loglik, rel=1e-12)
    for name in ("mu", "sigma"):
        assert ours.estimate(name).se == pytest.approx(built_in.estimate(name).se, rel=1e-4)


def zero_inflated_poisson(x, pi, lam):
    """log P(x) of a zero-inflated Poisson: a family the catalogue does not have."""
    base = stats.poisson.logpmf(x, lam)
    return np.where(x == 0, np.logaddexp(np.log(pi), np.log1p(-pi) + base), np.log1p(-pi) + base)


def test_a_family_of_your_own_by_module_path_with_a_unit_interval_parameter():
    rng = np.random.default_rng(1)
    x = np.where(rng.random(3000) < 0.3, 0, rng.poisson(2.5, 3000)).astype(float)
    f = fit("custom", x, logpdf=f"{__name__}:zero_inflated_poisson",
            params={"pi": "unit_interval", "lam": "positive"})  # fmt: skip
    assert f.converged
    assert f.params["pi"] == pytest.approx(0.3, abs=0.04)
    assert f.params["lam"] == pytest.approx(2.5, abs=0.15)
    # the argmax: no nearby point is higher
    for d_pi, d_lam in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)]:
        nearby = zero_inflated_poisson(x, f.params["pi"] + d_pi, f.params["lam"] + d_lam).sum()
        assert nearby <= f.loglik + 1e-9


def test_interval_spaces_keep_estimates_inside():
    x = np.random.default_rng(2).normal(0.0, 1.0, 200)
    f = fit("custom", x, logpdf=normal_logpdf, params={"mu": [0.5, 2.0], "sigma": "positive"})
    assert 0.5 < f.params["mu"] < 2.0
    # The unconstrained MLE (the mean, near 0) is outside: the profile log-likelihood
    # (sigma at its MLE for each mu) falls across the whole interval, and the fit is at
    # least as high as any of it.
    def profile(mu):
        return float(normal_logpdf(x, mu, np.sqrt(np.mean((x - mu) ** 2))).sum())

    assert x.mean() < 0.5
    assert f.loglik >= max(profile(mu) for mu in np.linspace(0.5, 2.0, 301)[1:]) - 1e-9


@pytest.mark.parametrize(
    "options, words",
    [
        (dict(logpdf="no_such_module_xyz:f", params={"a": "real"}), "cannot import"),
        (dict(logpdf="numpy:no_such_function", params={"a": "real"}), "has no function"),
        (dict(logpdf="just_a_name", params={"a": "real"}), "expected 'module:function'"),
        (dict(logpdf=normal_logpdf, params={"mu": "reals"}), "expected one of real"),
        (dict(logpdf=normal_logpdf, params={}), "name each parameter"),
    ],
)
def test_bad_settings_say_what_is_wrong(options, words):
    with pytest.raises(ConfigError, match=words):
        fit("custom", [1.0, 2.0, 3.0], **options)


def test_a_logpdf_that_is_not_vectorised_is_refused():
    with pytest.raises(ConfigError, match="vectorised"):
        fit("custom", [1.0, 2.0, 3.0], logpdf=lambda x, mu: float(np.sum(-(x - mu) ** 2)),
            params={"mu": "real"})  # fmt: skip

"""The KS goodness of fit (runner.stats.gof) against scipy.stats.kstest on the same data
and the fitted distribution built in scipy's own parameterization."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runner import families, fit
from runner.stats import gof
from runner.stats.gof import ks_statistic

RNG = np.random.default_rng
CASES = {
    # name: (data, the fitted distribution in scipy's parameterization)
    "gamma": (RNG(3).gamma(2.5, 1 / 1.5, 800),
              lambda p: stats.gamma(p["shape"], scale=1 / p["rate"])),
    "gaussian": (RNG(4).normal(1.0, 2.0, 800), lambda p: stats.norm(p["mu"], p["sigma"])),
    "weibull": (2.0 * RNG(5).weibull(1.5, 800),
                lambda p: stats.weibull_min(p["shape"], scale=p["scale"])),
    "lognormal": (RNG(6).lognormal(0.3, 0.7, 800),
                  lambda p: stats.lognorm(p["sigma"], scale=np.exp(p["mu"]))),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_ks_statistic_equals_scipys_kstest(name):
    x, scipy_fitted = CASES[name]
    f = fit(name, x)
    reference = stats.kstest(x, scipy_fitted(f.params).cdf)
    result = ks_statistic(families.get(name), x, f.params)
    assert result["ks"] == pytest.approx(reference.statistic, rel=1e-10)
    assert result["ks_pvalue_optimistic"] == pytest.approx(reference.pvalue, rel=1e-8)
    assert result["ks_points"] == x.size


def test_ks_statistic_is_not_reported_for_discrete_families():
    x = RNG(0).poisson(3.0, 200)
    assert ks_statistic(families.get("poisson"), x, fit("poisson", x).params) is None


def test_ks_on_a_subsample_past_the_point_limit(monkeypatch):
    monkeypatch.setattr(gof, "MAX_POINTS", 500)
    x = RNG(1).normal(0.0, 1.0, 2000)
    f = fit("gaussian", x)
    result = ks_statistic(families.get("gaussian"), x, f.params)
    assert result["ks_points"] == 500
    chosen = x[np.sort(RNG(0).choice(x.size, 500, replace=False))]
    expected = stats.kstest(chosen, stats.norm(f.params["mu"], f.params["sigma"]).cdf)
    assert result["ks"] == pytest.approx(expected.statistic, rel=1e-10)

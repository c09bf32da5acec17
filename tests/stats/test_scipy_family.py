"""Any scipy.stats distribution as a family (model=scipy): estimates against closed forms
and the built-in families, log-likelihoods never below scipy's own ``fit``, thresholds
that say when no MLE exists, integer parameters searched over the integers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from runner import fit
from runner.errors import ConfigError, DataError
from runner.stats.families.scipy_family import UNSUPPORTED, ScipyFamily, catalogue
from runner.stats.numdiff import hessian_from_value


def scipy_loglik(dist, x, fixed=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = dist.fit(x, **(fixed or {}))
    return float(np.sum(dist.logpdf(x, *params))), params


# (distribution, parameters to draw with, scipy's fit settings for the same free set)
CASES = [
    ("gumbel_r", dict(loc=2.0, scale=3.0), {}),
    ("gumbel_l", dict(loc=-1.0, scale=0.5), {}),
    ("genextreme", dict(c=-0.2, loc=10.0, scale=2.0), {}),
    ("weibull_min", dict(c=2.0, loc=5.0, scale=2.0), {}),
    ("gamma", dict(a=3.0, loc=10.0, scale=2.0), {}),
    ("lognorm", dict(s=0.5, loc=3.0, scale=2.0), {}),
    ("t", dict(df=4.0, loc=1.0, scale=3.0), {}),
    ("beta", dict(a=2.0, b=5.0, loc=1.0, scale=3.0), {}),
    ("logistic", dict(loc=0.5, scale=1.5), {}),
    ("invgauss", dict(mu=0.7, loc=0.0, scale=2.0), {"floc": 0}),
    ("burr12", dict(c=2.0, d=3.0, loc=0.0, scale=1.5), {"floc": 0}),
    ("fisk", dict(c=3.0, loc=0.0, scale=2.0), {"floc": 0}),
]


@pytest.mark.parametrize("name, truth, held", CASES, ids=[c[0] for c in CASES])
def test_loglik_is_never_below_scipys_fit(name, truth, held):
    dist = getattr(stats, name)
    x = dist.rvs(**truth, size=400, random_state=7)
    fixed = {k[1:]: v for k, v in held.items()}
    ours = fit("scipy", x, dist=name, fixed=fixed or None)
    theirs, params = scipy_loglik(dist, x, held)
    assert ours.loglik >= theirs - 1e-6 * abs(theirs)
    # and it is that distribution's own log-likelihood at the reported parameters
    args = [ours.params[k] for k in ScipyFamily(name).param_names]
    assert ours.loglik == pytest.approx(float(np.sum(dist.logpdf(x, *args))), rel=1e-12)
    if ours.converged:
        np.testing.assert_allclose(args, params, rtol=2e-3, atol=2e-3)


def test_normal_through_scipy_is_the_closed_form():
    x = np.random.default_rng(1).normal(3.0, 2.0, 500)
    f = fit("scipy", x, dist="norm")
    assert f.params["loc"] == pytest.approx(x.mean(), rel=1e-8)
    assert f.params["scale"] == pytest.approx(x.std(), rel=1e-7)
    # observed information of the Gaussian: se(mu) = sigma / sqrt(n), se(sigma) = sigma / sqrt(2n)
    sigma = x.std()
    assert f.estimate("loc").se == pytest.approx(sigma / np.sqrt(500), rel=1e-4)
    assert f.estimate("scale").se == pytest.approx(sigma / np.sqrt(1000), rel=1e-4)


def test_weibull_with_loc_held_is_the_built_in_weibull():
    x = 2.0 * np.random.default_rng(2).weibull(1.5, 800)
    ours = fit("scipy", x, dist="weibull_min", fixed={"loc": 0.0})
    built_in = fit("weibull", x)
    assert ours.params["c"] == pytest.approx(built_in.params["shape"], rel=1e-7)
    assert ours.params["scale"] == pytest.approx(built_in.params["scale"], rel=1e-7)
    assert ours.loglik == pytest.approx(built_in.loglik, rel=1e-12)
    assert ours.estimate("c").se == pytest.approx(built_in.estimate("shape").se, rel=1e-4)
    assert ours.k == 2 and ours.estimate("loc").fixed


def test_standard_errors_are_the_observed_information_of_scipys_density():
    dist, truth = stats.genextreme, dict(c=-0.1, loc=0.0, scale=1.0)
    x = dist.rvs(**truth, size=1000, random_state=3)
    f = fit("scipy", x, dist="genextreme")
    theta = np.array([f.params[k] for k in ("c", "loc", "scale")])
    hess = hessian_from_value(lambda t: float(np.sum(dist.logpdf(x, *t))), theta)
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    got = [f.estimate(k).se for k in ("c", "loc", "scale")]
    np.testing.assert_allclose(got, se, rtol=5e-3)


def test_expon_with_free_loc_puts_it_at_the_minimum():
    x = stats.expon.rvs(loc=2.0, scale=3.0, size=200, random_state=4)
    f = fit("scipy", x, dist="expon")
    assert f.params["loc"] == x.min()
    assert f.params["scale"] == pytest.approx(x.mean() - x.min(), rel=1e-7)
    assert f.estimate("loc").on_boundary


def test_a_threshold_with_unbounded_likelihood_is_no_mle():
    # weibull shape < 1: the density is infinite at the threshold, so the likelihood runs
    # off as loc -> min(x); scipy returns that spike as its fit
    x = stats.weibull_min.rvs(0.8, loc=5.0, scale=2.0, size=300, random_state=1)
    with pytest.raises(DataError, match=r"no MLE .* grows without bound as loc -> min\(x\)"):
        fit("scipy", x, dist="weibull_min")
    held = fit("scipy", x, dist="weibull_min", fixed={"loc": 4.9})
    assert held.converged and held.params["c"] < 1


def test_integer_parameters_are_searched_over_the_integers():
    x = stats.binom.rvs(12, 0.3, size=400, random_state=2)
    f = fit("scipy", x, dist="binom")
    # the profile over n (p = mean / n at each), by brute force
    profile = {n: float(stats.binom.logpmf(x, n, x.mean() / n).sum()) for n in range(x.max(), 80)}
    best = max(profile, key=profile.get)
    assert f.params["n"] == best and f.params["loc"] == 0
    assert f.loglik == pytest.approx(profile[best], rel=1e-10)
    assert f.estimate("n").se is None and f.estimate("p").se is not None
    assert f.k == 3


def test_poisson_through_scipy_is_the_sample_mean():
    x = np.random.default_rng(5).poisson(4.0, 600)
    f = fit("scipy", x, dist="poisson", fixed={"loc": 0})
    assert f.params["mu"] == pytest.approx(x.mean(), rel=1e-8)
    assert f.estimate("mu").se == pytest.approx(np.sqrt(x.mean() / 600), rel=1e-4)


def test_unknown_names_say_what_is_close():
    with pytest.raises(ConfigError, match="did you mean gumbel_r"):
        fit("scipy", [1.0, 2.0, 3.0], dist="gumbl")
    with pytest.raises(ConfigError, match=r"needs model\.dist"):
        fit("scipy", [1.0, 2.0, 3.0])


def test_the_catalogue_holds_every_scipy_distribution_but_the_listed_ones():
    from scipy.stats import _distr_params  # scipy's own list of its distributions

    names = set(catalogue())
    listed = {name for name, _ in [*_distr_params.distcont, *_distr_params.distdiscrete]
              if isinstance(name, str)}  # fmt: skip
    assert listed - set(UNSUPPORTED) <= names
    assert not names & set(UNSUPPORTED)


def test_parameter_spaces_come_from_scipys_shape_domains():
    fam = ScipyFamily("genpareto")  # c in (-inf, inf)
    assert [p.name for p in fam.params] == ["c", "loc", "scale"]
    assert fam.param("scale").constraint.contains(np.asarray(2.0))
    assert not fam.param("scale").constraint.contains(np.asarray(-1.0))
    beta = ScipyFamily("beta")
    assert not beta.param("a").constraint.contains(np.asarray(0.0))


def test_integer_parameters_need_the_integer_search_or_a_held_value():
    x = stats.binom.rvs(12, 0.3, size=200, random_state=2)
    with pytest.raises(ConfigError, match=r"n, loc take integer values only.*optimizer=newton"):
        fit("scipy", x, dist="binom", optimizer="newton")
    held = fit("scipy", x, dist="binom", optimizer="newton", fixed={"n": 12, "loc": 0})
    assert held.params["p"] == pytest.approx(x.mean() / 12, rel=1e-7)


def test_settings_the_search_would_not_use_are_refused_before_it_runs(monkeypatch):
    def never(self, problem):
        raise AssertionError("the search ran before the settings were checked")

    monkeypatch.setattr(ScipyFamily, "maximize", never)
    with pytest.raises(ConfigError, match=r"optimizer\.tol = 1e-06 would have no effect"):
        fit("scipy", stats.gumbel_r.rvs(size=50, random_state=0), dist="gumbel_r",
            optimizer_options={"tol": 1e-6})  # fmt: skip

"""Censored and truncated data: the right-censored exponential's closed form, agreement
with scipy's CensoredData fits, the likelihood by its formula, stable interval masses,
and clear refusals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from runner import fit
from runner.errors import ConfigError, DataError
from runner.stats import families
from runner.stats.families import censored as censoring
from runner.stats.families.censored import Censored
from runner.stats.numdiff import gradient_from_value, hessian_from_value


def right_censored(times: np.ndarray, limit: float) -> stats.CensoredData:
    seen = times <= limit
    return stats.CensoredData(uncensored=times[seen], right=np.full((~seen).sum(), limit))


def scipy_censored_fit(dist, data, **held):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dist.fit(data, **held)


def test_right_censored_exponential_is_events_over_time_on_test():
    t = np.random.default_rng(1).exponential(2.0, 500)
    data = right_censored(t, 3.0)
    f = fit("exponential", data)
    events, total = (t <= 3.0).sum(), np.minimum(t, 3.0).sum()
    assert f.optimizer == "closed_form"
    assert f.params["rate"] == pytest.approx(events / total, rel=1e-14)
    assert f.estimates[0].se == pytest.approx(events / total / np.sqrt(events), rel=1e-5)
    assert f.notes[0] == f"censored data: {events} exact, {500 - events} right-censored"


def test_right_censored_weibull_matches_scipys_censored_fit():
    t = stats.weibull_min.rvs(1.5, scale=2.0, size=400, random_state=2)
    data = right_censored(t, 2.5)
    f = fit("weibull", data)
    c, _, scale = scipy_censored_fit(stats.weibull_min, data, floc=0)
    seen = t[t <= 2.5]
    theirs = (stats.weibull_min.logpdf(seen, c, scale=scale).sum()
              + (t > 2.5).sum() * stats.weibull_min.logsf(2.5, c, scale=scale))  # fmt: skip
    assert f.loglik >= theirs - 1e-9 * abs(theirs)
    assert f.params["shape"] == pytest.approx(c, rel=1e-4)
    assert f.params["scale"] == pytest.approx(scale, rel=1e-4)
    # the reported log-likelihood is the censored one at the reported parameters
    ours = (stats.weibull_min.logpdf(seen, f.params["shape"], scale=f.params["scale"]).sum()
            + (t > 2.5).sum() * stats.weibull_min.logsf(2.5, f.params["shape"],
                                                        scale=f.params["scale"]))  # fmt: skip
    assert f.loglik == pytest.approx(ours, rel=1e-12)


def test_below_a_detection_limit_lognormal_matches_scipy():
    y = np.random.default_rng(3).lognormal(0.5, 0.8, 500)
    data = stats.CensoredData(uncensored=y[y >= 1.0], left=np.full((y < 1.0).sum(), 1.0))
    f = fit("lognormal", data)
    s, _, scale = scipy_censored_fit(stats.lognorm, data, floc=0)
    assert f.params["mu"] == pytest.approx(np.log(scale), abs=1e-4)
    assert f.params["sigma"] == pytest.approx(s, rel=1e-4)
    assert "left-censored" in f.notes[0]


def test_interval_censored_likelihood_is_its_formula_and_any_scipy_family_takes_it():
    y = np.random.default_rng(4).lognormal(0.5, 0.8, 300)
    low, high = np.floor(y), np.floor(y) + 1
    data = stats.CensoredData.interval_censored(low=low, high=high)
    f = fit("scipy", data, dist="weibull_min", fixed={"loc": 0})
    dist = stats.weibull_min(f.params["c"], scale=f.params["scale"])
    assert f.loglik == pytest.approx(np.sum(np.log(dist.cdf(high) - dist.cdf(low))), rel=1e-10)
    g = fit("lognormal", data)
    s, _, scale = scipy_censored_fit(stats.lognorm, data, floc=0)
    assert g.params["sigma"] == pytest.approx(s, rel=1e-4)
    assert g.params["mu"] == pytest.approx(np.log(scale), abs=1e-4)


def test_truncation_recovers_the_untruncated_parameters():
    x = np.random.default_rng(5).normal(1.0, 2.0, 20_000)
    x = x[x > 0.0]  # a registry that only records positive values
    f = fit("gaussian", x, truncation=(0.0, None))
    assert abs(f.params["mu"] - 1.0) < 3 * f.estimates[0].se
    assert abs(f.params["sigma"] - 2.0) < 3 * f.estimates[1].se
    mu, sigma = f.params["mu"], f.params["sigma"]
    expected = stats.norm.logpdf(x, mu, sigma).sum() - x.size * stats.norm.logsf(0.0, mu, sigma)
    assert f.loglik == pytest.approx(expected, rel=1e-12)
    # the argmax: nudging either parameter lowers it
    for dmu, dsigma in ((1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)):
        nudged = (stats.norm.logpdf(x, mu + dmu, sigma + dsigma).sum()
                  - x.size * stats.norm.logsf(0.0, mu + dmu, sigma + dsigma))  # fmt: skip
        assert nudged < f.loglik


def test_far_tail_interval_masses_do_not_cancel():
    dist = stats.norm()
    mass = censoring.log_mass(dist, np.array([10.0, -11.0]), np.array([11.0, -10.0]))
    expected = np.log(stats.norm.sf(10.0) - stats.norm.sf(11.0))
    assert mass[0] == pytest.approx(expected, rel=1e-10)
    assert mass[1] == pytest.approx(expected, rel=1e-10)  # the mirror image, from the cdf


@pytest.mark.parametrize(
    "pairs, words",
    [
        ([[1.0, 2.0], [3.0, 2.0]], "observation 2 (3, 2) has low > high"),
        ([[1.0, np.inf], [2.0, np.inf]], "every observation is right-censored"),
        ([[1.0, 1.0], [np.nan, 2.0]], "observation 2 (nan, 2) is missing"),
        ([[-1.0, -1.0], [2.0, 2.0]], "an exact value -1 is outside the support"),
    ],
)
def test_bad_pairs_are_refused_by_row(pairs, words):
    # (as a data file's rows would come: scipy's CensoredData refuses some of these itself)
    family = Censored(families.get("exponential"))
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)")):
        family.validate(np.array(pairs))


def test_settings_that_do_not_apply_are_refused():
    data = right_censored(np.random.default_rng(6).exponential(1.0, 50), 1.0)
    with pytest.raises(DataError, match="is not a whole number; censored counts"):
        fit("poisson", data)
    with pytest.raises(ConfigError, match="continuous values or counts"):
        fit("categorical", data)
    with pytest.raises(ConfigError, match="outside the truncation"):
        fit("gaussian", np.array([0.5, 1.5, 2.5]), truncation=(1.0, None))
    with pytest.raises(ConfigError, match="MLE only"):
        fit("exponential", data, estimator="map")


def test_censoring_inside_a_truncation_counts_only_the_mass_inside_it():
    # a sample recorded only in (-1, 1), and right-censored at 0.5 within it
    x = np.random.default_rng(7).normal(0.0, 1.0, 6000)
    x = x[(x > -1) & (x < 1)]
    data = stats.CensoredData(uncensored=x[x <= 0.5], right=np.full((x > 0.5).sum(), 0.5))
    f = fit("gaussian", data, truncation=(-1.0, 1.0))
    mu, sigma = f.params["mu"], f.params["sigma"]
    d = stats.norm(mu, sigma)
    inside = d.cdf(1.0) - d.cdf(-1.0)
    expected = (d.logpdf(x[x <= 0.5]).sum() + (x > 0.5).sum() * np.log(d.cdf(1.0) - d.cdf(0.5))
                - x.size * np.log(inside))  # fmt: skip
    assert f.loglik == pytest.approx(expected, rel=1e-10)
    assert f.loglik < 0
    assert abs(mu) < 4 * f.estimates[0].se and abs(sigma - 1) < 4 * f.estimates[1].se


def test_a_censored_laplace_is_the_argmax_and_says_mu_has_no_curvature():
    """Its likelihood is piecewise linear in mu: the profile search lands on the maximum
    (higher than any nearby point), b's SE is its own observed information, mu has none."""
    y = stats.laplace.rvs(size=300, random_state=1)
    data = stats.CensoredData(uncensored=y[y < 1], right=np.full((y >= 1).sum(), 1.0))
    f = fit("laplace", data)
    mu, b = f.params["mu"], f.params["b"]

    def loglik(m, s):
        d = stats.laplace(m, s)
        return d.logpdf(y[y < 1]).sum() + (y >= 1).sum() * d.logsf(1.0)

    assert f.loglik == pytest.approx(loglik(mu, b), rel=1e-12)
    for dm, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-4 * b), (0, -1e-4 * b), (1e-2, 1e-2)]:
        assert f.loglik >= loglik(mu + dm, b + db)
    by_name = {e.name: e for e in f.estimates}
    assert by_name["mu"].se is None
    h = 1e-4 * b
    curvature = (loglik(mu, b + h) - 2 * loglik(mu, b) + loglik(mu, b - h)) / h**2
    assert by_name["b"].se == pytest.approx(1 / np.sqrt(-curvature), rel=1e-4)
    assert any("piecewise linear in mu" in note for note in f.notes)


def test_narrow_intervals_keep_their_digits():
    dist = stats.norm()
    low = np.array([0.3, 0.0])
    high = np.array([0.3 + 1e-12, 1e-17])
    expected = dist.logpdf(0.5 * (low + high)) + np.log(high - low)
    np.testing.assert_allclose(censoring.log_mass(dist, low, high), expected, rtol=1e-9)


def test_right_censored_weibull_runs_on_its_profile_in_the_shape():
    t = stats.weibull_min.rvs(1.5, scale=2.0, size=3000, random_state=8)
    data = right_censored(t, 2.5)
    f = fit("weibull", data)
    generic = fit("scipy", data, dist="weibull_min", fixed={"loc": 0})
    assert f.optimizer == "newton:profile"
    assert f.params["shape"] == pytest.approx(generic.params["c"], rel=1e-8)
    assert f.params["scale"] == pytest.approx(generic.params["scale"], rel=1e-8)
    assert f.loglik >= generic.loglik - 1e-9 * abs(generic.loglik)


def test_standard_errors_are_the_exact_observed_information_of_censored_weibull():
    # l(k, lam) = d log k - d k log lam + (k - 1) sum_exact log t - sum_all (t / lam)^k
    t = stats.weibull_min.rvs(1.7, scale=3.0, size=800, random_state=9)
    data = right_censored(t, 3.5)
    f = fit("weibull", data)
    k, lam = f.params["shape"], f.params["scale"]
    times, d = np.minimum(t, 3.5), int((t <= 3.5).sum())
    u, logs = (times / lam) ** k, np.log(times / lam)
    info = -np.array([
        [-d / k**2 - np.sum(u * logs**2), -d / lam + np.sum(u) / lam + k * np.sum(u * logs) / lam],
        [-d / lam + np.sum(u) / lam + k * np.sum(u * logs) / lam,
         d * k / lam**2 - k * (k + 1) * np.sum(u) / lam**2],
    ])  # fmt: skip
    exact = np.sqrt(np.diag(np.linalg.inv(info)))
    ours = [f.estimates[0].se, f.estimates[1].se]
    np.testing.assert_allclose(ours, exact, rtol=1e-4)  # the acceptance asks 0.5%


def test_the_censored_weibull_score_and_hessian_are_the_likelihoods_derivatives():
    t = stats.weibull_min.rvs(1.7, scale=3.0, size=500, random_state=10)
    family = Censored(families.get("weibull"))
    for pairs in (censoring.as_pairs(right_censored(t, 3.5)),
                  censoring.as_pairs(stats.CensoredData.interval_censored(
                      low=np.floor(t), high=np.floor(t) + 1))):  # fmt: skip
        stats_ = family.reduce(pairs)
        theta = {"shape": 1.6, "scale": 2.9}

        def value(v, stats_=stats_):
            return family.loglik(stats_, {"shape": v[0], "scale": v[1]})

        point = np.array([1.6, 2.9])
        score = family.score(stats_, theta)
        np.testing.assert_allclose([score["shape"], score["scale"]],
                                   gradient_from_value(value, point), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(family.hessian(stats_, theta),
                                   hessian_from_value(value, point), rtol=1e-4, atol=1e-4)

"""The families added after the core seven (geometric, negative_binomial, beta, lognormal,
weibull, laplace, uniform, student_t, gaussian_mixture) and the iterative optimizers
(newton, gradient_ascent, em), checked against scipy.stats, textbook formulas and each
other rather than against ``runner``'s own code paths.

The core seven families are covered by test_families.py and test_estimate.py; they appear
here only where an optimizer comparison needs a closed-form reference.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize, special, stats

from runner import fit
from runner.errors import DataError
from runner.stats import families

NEW = [
    "beta",
    "geometric",
    "laplace",
    "lognormal",
    "negative_binomial",
    "student_t",
    "uniform",
    "weibull",
]
N = 3000

# One entry per new family: a data generator (with the true parameters), two parameter
# values that are NOT the MLE of that data, and the log density computed directly with
# scipy.stats in the runner's documented parameterization.
CASES = {
    "geometric": dict(
        truth={"p": 0.3},
        data=lambda rng, n: rng.geometric(0.3, n).astype(float),  # trials, 1, 2, ...
        thetas=[{"p": 0.25}, {"p": 0.6}],
        logpdf=lambda x, t: stats.geom.logpmf(x, t["p"]),
    ),
    "negative_binomial": dict(
        truth={"size": 3.0, "p": 0.4},
        data=lambda rng, n: rng.negative_binomial(3.0, 0.4, n).astype(float),  # failures
        thetas=[{"size": 2.5, "p": 0.35}, {"size": 6.0, "p": 0.6}],
        logpdf=lambda x, t: stats.nbinom.logpmf(x, t["size"], t["p"]),
    ),
    "beta": dict(
        truth={"a": 2.5, "b": 4.0},
        data=lambda rng, n: rng.beta(2.5, 4.0, n),
        thetas=[{"a": 2.0, "b": 3.5}, {"a": 0.7, "b": 1.3}],
        logpdf=lambda x, t: stats.beta.logpdf(x, t["a"], t["b"]),
    ),
    "lognormal": dict(
        truth={"mu": 0.5, "sigma": 0.8},
        data=lambda rng, n: rng.lognormal(0.5, 0.8, n),
        thetas=[{"mu": 0.3, "sigma": 1.1}, {"mu": -1.0, "sigma": 0.4}],
        logpdf=lambda x, t: stats.lognorm.logpdf(x, t["sigma"], scale=np.exp(t["mu"])),
    ),
    "weibull": dict(
        truth={"shape": 1.8, "scale": 1.7},
        data=lambda rng, n: 1.7 * rng.weibull(1.8, n),
        thetas=[{"shape": 1.5, "scale": 2.0}, {"shape": 3.0, "scale": 1.1}],
        logpdf=lambda x, t: stats.weibull_min.logpdf(x, t["shape"], scale=t["scale"]),
    ),
    "laplace": dict(
        truth={"mu": 1.0, "b": 2.0},
        data=lambda rng, n: rng.laplace(1.0, 2.0, n),
        thetas=[{"mu": 0.7, "b": 2.4}, {"mu": 3.0, "b": 0.9}],
        logpdf=lambda x, t: stats.laplace.logpdf(x, t["mu"], t["b"]),
    ),
    "uniform": dict(
        truth={"low": -1.0, "high": 3.0},
        data=lambda rng, n: rng.uniform(-1.0, 3.0, n),
        # Both intervals contain the data: elsewhere the likelihood is 0 (checked below).
        thetas=[{"low": -1.5, "high": 3.2}, {"low": -1.01, "high": 7.0}],
        logpdf=lambda x, t: stats.uniform.logpdf(x, t["low"], t["high"] - t["low"]),
    ),
    "student_t": dict(
        truth={"df": 5.0, "mu": 2.0, "sigma": 1.5},
        data=lambda rng, n: 2.0 + 1.5 * rng.standard_t(5.0, n),
        thetas=[{"df": 4.0, "mu": 2.1, "sigma": 1.4}, {"df": 12.0, "mu": 1.5, "sigma": 2.0}],
        logpdf=lambda x, t: stats.t.logpdf(x, t["df"], t["mu"], t["sigma"]),
    ),
}


def sample(name, n=N, seed=0):
    """A reproducible sample from the family's true parameters."""
    return CASES[name]["data"](np.random.default_rng(seed), n)


def make(name, n=N, seed=0):
    """The family, its validated data and their sufficient statistics."""
    fam = families.get(name)
    x = fam.validate(sample(name, n, seed))
    return fam, x, fam.reduce(x)


def scipy_loglik(name, x, theta):
    return float(np.sum(CASES[name]["logpdf"](x, theta)))


def test_the_new_families_are_registered():
    assert set(NEW) | {"gaussian_mixture"} <= set(families.available())
    assert set(CASES) == set(NEW)


# ---- 1. likelihood and score against scipy --------------------------------------------
@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("which", [0, 1])
def test_loglik_of_reduced_data_equals_sum_of_scipy_log_densities(name, which):
    fam, x, st = make(name, n=500)
    theta = CASES[name]["thetas"][which]
    # The same sum in a different order (and, for lognormal, log x taken once): ~1e-13.
    assert float(fam.loglik(st, theta)) == pytest.approx(scipy_loglik(name, x, theta), rel=1e-9)


@pytest.mark.parametrize("name", NEW)
def test_logpdf_and_scipy_dist_match_scipy_per_observation(name):
    fam, x, _ = make(name, n=50)
    theta = CASES[name]["thetas"][0]
    np.testing.assert_allclose(fam.logpdf(x, theta), CASES[name]["logpdf"](x, theta), rtol=1e-12)


@pytest.mark.parametrize(
    "theta",
    [{"low": 0.0, "high": 3.0}, {"low": -1.5, "high": 2.0}, {"low": 3.0, "high": -1.0}],
    ids=["low-above-min", "high-below-max", "reversed"],
)
def test_uniform_loglik_is_minus_infinity_when_the_interval_misses_data(theta):
    fam, x, st = make("uniform", n=200)
    assert float(fam.loglik(st, theta)) == -np.inf
    if theta["high"] > theta["low"]:  # scipy has no density at all for a negative width
        assert scipy_loglik("uniform", x, theta) == -np.inf


@pytest.mark.parametrize("name", [n for n in NEW if families.get(n).has_score])
@pytest.mark.parametrize("which", [0, 1])
def test_score_equals_central_finite_difference_of_loglik(name, which):
    fam, _, st = make(name, n=500)
    theta = CASES[name]["thetas"][which]
    score = fam.score(st, theta)
    for p in fam.param_names:
        h = 1e-6 * max(1.0, abs(theta[p]))
        up = float(fam.loglik(st, {**theta, p: theta[p] + h}))
        down = float(fam.loglik(st, {**theta, p: theta[p] - h}))
        numeric = (up - down) / (2 * h)
        # Central difference with h = 1e-6: truncation O(h^2 * third derivative) and
        # rounding ~eps * |loglik| / h ~ 1e-7, both far below 1e-5 of the score scale (~n).
        # (laplace: no data point lies within h of mu here, so |x - mu| is smooth.)
        assert float(score[p]) == pytest.approx(numeric, rel=1e-6, abs=1e-5 * st["n"]), p


def test_uniform_has_no_score_because_the_support_moves_with_the_parameters():
    assert not families.get("uniform").has_score


# ---- 2. estimates against closed forms and scipy.stats fits -----------------------------
def test_geometric_mle_is_one_over_the_mean():
    x = sample("geometric")
    f = fit("geometric", x)
    assert f.optimizer == "closed_form"
    assert f.params["p"] == pytest.approx(1 / np.mean(x), rel=1e-12)
    # The reported loglik is scipy's sum of log pmfs at that p.
    ref = scipy_loglik("geometric", x, {"p": 1 / np.mean(x)})
    assert f.loglik == pytest.approx(ref, rel=1e-10)


def test_lognormal_mle_is_mean_and_std_of_log_x_and_matches_scipy_lognorm_fit():
    x = sample("lognormal")
    f = fit("lognormal", x)
    assert f.optimizer == "closed_form"
    logs = np.log(x)
    assert f.params["mu"] == pytest.approx(np.mean(logs), rel=1e-12)
    assert f.params["sigma"] == pytest.approx(np.std(logs, ddof=0), rel=1e-12)
    s, loc, scale = stats.lognorm.fit(x, floc=0)
    assert loc == 0
    # scipy's lognorm fit with floc=0 is also analytic: agreement to rounding.
    assert f.params["sigma"] == pytest.approx(s, rel=1e-9)
    assert f.params["mu"] == pytest.approx(np.log(scale), rel=1e-9)
    ref = scipy_loglik("lognormal", x, {"mu": np.log(scale), "sigma": s})
    assert f.loglik >= ref - 1e-6 * abs(ref)


@pytest.mark.parametrize("n", [2999, 3000])  # odd: one median; even: the midpoint
def test_laplace_mle_is_median_and_mean_absolute_deviation_and_matches_scipy(n):
    x = sample("laplace", n=n)
    f = fit("laplace", x)
    assert f.optimizer == "closed_form"
    med = np.median(x)
    assert f.params["mu"] == pytest.approx(med, rel=1e-12)
    assert f.params["b"] == pytest.approx(np.mean(np.abs(x - med)), rel=1e-12)
    loc, scale = stats.laplace.fit(x)
    ref = scipy_loglik("laplace", x, {"mu": loc, "b": scale})
    assert f.loglik >= ref - 1e-6 * abs(ref)
    assert f.params["b"] == pytest.approx(scale, rel=1e-9)


def test_uniform_mle_is_min_and_max_and_matches_scipy():
    x = sample("uniform")
    f = fit("uniform", x)
    assert f.params == {"low": float(np.min(x)), "high": float(np.max(x))}
    loc, scale = stats.uniform.fit(x)
    assert f.params["low"] == pytest.approx(loc, rel=1e-12)
    assert f.params["high"] == pytest.approx(loc + scale, rel=1e-12)
    assert f.loglik == pytest.approx(-len(x) * np.log(np.ptp(x)), rel=1e-12)


def _nbinom_reference(x):
    """The negative binomial MLE by Nelder-Mead on scipy's logpmf, in (log r, logit p).

    (``scipy.stats.fit`` treats nbinom's ``n`` as an integer, so it is no reference.)
    """
    m, v = np.mean(x), np.var(x)
    r0 = m**2 / (v - m)

    def nll(z):
        return -np.sum(stats.nbinom.logpmf(x, np.exp(z[0]), special.expit(z[1]))) / len(x)

    z0 = [np.log(r0), special.logit(r0 / (r0 + m))]
    res = optimize.minimize(nll, z0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    assert res.success
    return {"size": float(np.exp(res.x[0])), "p": float(special.expit(res.x[1]))}


def _scipy_reference(name, x):
    """The MLE found by scipy.stats, in the runner's parameterization."""
    if name == "beta":
        a, b, _, _ = stats.beta.fit(x, floc=0, fscale=1)
        return {"a": a, "b": b}
    if name == "weibull":
        c, _, scale = stats.weibull_min.fit(x, floc=0)
        return {"shape": c, "scale": scale}
    if name == "student_t":
        df, loc, scale = stats.t.fit(x)
        return {"df": df, "mu": loc, "sigma": scale}
    if name == "negative_binomial":
        return _nbinom_reference(x)
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["beta", "negative_binomial", "student_t", "weibull"])
def test_numerical_mle_is_at_least_as_good_as_scipy_and_agrees_with_it(name):
    x = sample(name)
    f = fit(name, x)
    assert f.optimizer.startswith("newton")  # auto: no closed form, no EM: Newton
    assert f.converged, f.message
    ref = _scipy_reference(name, x)
    ref_ll = scipy_loglik(name, x, ref)
    assert f.loglik == pytest.approx(scipy_loglik(name, x, f.params), rel=1e-9)
    assert f.loglik >= ref_ll - 1e-6 * abs(ref_ll)
    # L-BFGS-B stops at a per-observation gradient (in log/logit coordinates) of ~1e-5;
    # divided by the per-observation curvature (smallest for student_t's log df, ~0.08 at
    # df = 5) that leaves the estimate up to ~1e-4 relative from the exact root, and
    # scipy's references carry errors of a similar order. 1e-3 relative is still >= 20x
    # smaller than one standard error for every parameter here.
    for k, v in ref.items():
        assert f.params[k] == pytest.approx(v, rel=1e-3), k


@pytest.mark.parametrize("name", ["beta", "negative_binomial", "student_t", "weibull"])
def test_numerical_mle_with_tight_tolerance_matches_scipy_closely(name):
    x = sample(name)
    f = fit(name, x, optimizer_options={"tol": 1e-12})
    ref = _scipy_reference(name, x)
    ref_ll = scipy_loglik(name, x, ref)
    # Near a maximum the loglik drops by (error / SE)^2 / 2: a loss of 1e-9 relative
    # (~6e-6 absolute here) is an error of ~3e-3 standard errors: both are at the top.
    assert f.loglik >= ref_ll - 1e-9 * abs(ref_ll)
    for k, v in ref.items():
        # tol=1e-12 puts the runner at the root to ~1e-7; scipy's fits (their own
        # tolerances, Nelder-Mead for nbinom) are within ~1e-5 of it.
        assert f.params[k] == pytest.approx(v, rel=1e-4), k


def test_negative_binomial_mle_solves_its_score_equations():
    # p = r / (r + mean) and sum(digamma(x + r)) - n digamma(r) + n log(p) = 0.
    x = sample("negative_binomial")
    f = fit("negative_binomial", x, optimizer="newton")
    r, p, n = f.params["size"], f.params["p"], len(x)
    assert p == pytest.approx(r / (r + np.mean(x)), rel=1e-8)
    eq = np.sum(special.digamma(x + r)) - n * special.digamma(r) + n * np.log(p)
    assert abs(eq) / n < 1e-8


# ---- 3. optimizers agree --------------------------------------------------------------
# Closed-form families, with a start far from the answer for the iterative optimizers.
FAR_STARTS = {
    "gaussian": (lambda rng, n: rng.normal(3.0, 2.0, n), {"mu": -4.0, "sigma": 9.0}),
    "poisson": (lambda rng, n: rng.poisson(3.5, n).astype(float), {"lam": 20.0}),
    "exponential": (lambda rng, n: rng.exponential(1 / 2.5, n), {"rate": 0.2}),
    "geometric": (lambda rng, n: rng.geometric(0.3, n).astype(float), {"p": 0.9}),
    "lognormal": (lambda rng, n: rng.lognormal(0.5, 0.8, n), {"mu": -2.0, "sigma": 3.0}),
}
# Per-optimizer options and how close each gets to the exact root, relative:
# newton stops at max |score| / n < 1e-9 with quadratic convergence (one more step would
# square the error), so ~1e-9; scipy with tol=1e-10 reaches ~1e-8; gradient ascent stops
# at |grad| / n < 1e-8 (set below), i.e. a parameter error of 1e-8 / curvature ~1e-7.
ITERATIVE = {
    "newton": ({}, 1e-7),
    "scipy": ({"tol": 1e-10}, 1e-6),
    "gradient_ascent": ({"tol": 1e-8}, 1e-5),
}


@pytest.mark.parametrize("name", sorted(FAR_STARTS))
@pytest.mark.parametrize("optimizer", sorted(ITERATIVE))
def test_iterative_optimizers_agree_with_the_closed_form_from_a_far_start(name, optimizer):
    gen, init = FAR_STARTS[name]
    x = gen(np.random.default_rng(4), N)
    exact = fit(name, x, optimizer="closed_form")
    options, rtol = ITERATIVE[optimizer]
    f = fit(name, x, optimizer=optimizer, optimizer_options=options, init=init)
    assert f.converged, f.message
    assert f.iterations > 0  # it started away from the answer and had to move
    assert f.trace[0]["iteration"] == 0
    for k, v in init.items():  # and it really started at init
        assert f.trace[0][k] == pytest.approx(v, rel=1e-12)
    for k, v in exact.params.items():
        assert f.params[k] == pytest.approx(v, rel=rtol), k
    assert f.loglik >= exact.loglik - 1e-9 * abs(exact.loglik)
    # Both are maxima of the same function: standard errors agree as well (each is a
    # finite-difference Hessian, ~1e-6 relative, at points ~rtol apart).
    for a, b in zip(f.estimates, exact.estimates, strict=True):
        assert a.se == pytest.approx(b.se, rel=1e-4), a.name


@pytest.mark.parametrize("name", ["gamma", "weibull", "beta", "student_t", "negative_binomial"])
def test_newton_and_scipy_agree_where_there_is_no_closed_form(name):
    x = np.random.default_rng(0).gamma(2.5, 1 / 1.5, N) if name == "gamma" else sample(name)
    newton = fit(name, x, optimizer="newton")
    scipy = fit(name, x, optimizer="scipy", optimizer_options={"tol": 1e-12})
    assert newton.optimizer == "newton"
    assert newton.converged and scipy.converged
    assert newton.iterations > 0
    # newton is at the root to ~1e-9 relative; scipy (tol=1e-12) to ~1e-7.
    for k, v in scipy.params.items():
        assert newton.params[k] == pytest.approx(v, rel=1e-5), k
    assert newton.loglik >= scipy.loglik - 1e-10 * abs(scipy.loglik)
    # Newton's stopping rule: max |score in log/logit coordinates| / n < 1e-9. In natural
    # coordinates that is |score| / n < 1e-9 / (parameter or p(1-p)) < 1e-7 here.
    assert newton.grad_norm / newton.n < 1e-7


def test_newton_converges_quadratically_on_weibull():
    # Near the root each Newton step roughly squares the score (relative to its start).
    x = sample("weibull")
    f = fit("weibull", x, optimizer="newton", init={"shape": 1.2, "scale": 1.2})
    norms = [row["grad_norm"] / f.n for row in f.trace]
    assert norms[-1] < 1e-9
    assert len(f.trace) <= 12  # plain gradient ascent would need hundreds of steps
    last = [g for g in norms if g < 1e-2]
    for a, b in itertools.pairwise(last):
        assert b < max(10 * a * a, 1e-11)  # quadratic, up to the rounding floor


# ---- 4. traces ----------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["newton", "gradient_ascent", "scipy"])
@pytest.mark.parametrize("name", ["lognormal", "weibull", "negative_binomial"])
def test_iterative_fit_records_a_trace_of_rows(name, optimizer):
    x = sample(name)
    fam = families.get(name)
    start = {p: 1.5 * v for p, v in fam.initial(fam.reduce(x)).items()}
    if name == "negative_binomial":
        start["p"] = 0.7
    f = fit(name, x, optimizer=optimizer, init=start)
    assert isinstance(f.trace, list) and len(f.trace) >= 2
    keys = {"iteration", "loglik", "grad_norm", *fam.param_names}
    for row in f.trace:
        assert isinstance(row, dict)
        assert keys <= set(row), set(row)
        assert all(np.isfinite(row[k]) for k in keys)
    iterations = [row["iteration"] for row in f.trace]
    assert iterations[0] == 0
    assert all(b > a for a, b in itertools.pairwise(iterations))
    # The last row is the reported estimate.
    for p in fam.param_names:
        assert f.trace[-1][p] == pytest.approx(f.params[p], rel=1e-12)
    assert f.trace[-1]["loglik"] == pytest.approx(f.loglik, rel=1e-12)
    assert f.trace[-1]["loglik"] > f.trace[0]["loglik"]


@pytest.mark.parametrize("optimizer", ["newton", "gradient_ascent"])
@pytest.mark.parametrize("name", ["gaussian", "geometric", "weibull", "beta", "student_t"])
def test_loglik_never_decreases_along_newton_and_gradient_ascent_traces(name, optimizer):
    x = np.random.default_rng(0).normal(3.0, 2.0, N) if name == "gaussian" else sample(name)
    fam = families.get(name)
    start = fam.initial(fam.reduce(x))
    init = {p: (0.5 if name == "geometric" else 2.0 * v) for p, v in start.items()}
    f = fit(name, x, optimizer=optimizer, init=init)
    ll = np.array([row["loglik"] for row in f.trace])
    assert len(ll) >= 3
    # Newton accepts a step that loses at most rounding noise (1e-12 relative) near the
    # top; gradient ascent only uphill steps. 1e-9 relative slack covers both.
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:]))
    assert ll[-1] > ll[0]


@pytest.mark.parametrize("learning_rate", [5.0, 50.0])
def test_gradient_ascent_with_a_large_learning_rate_still_only_climbs(learning_rate):
    # Steps this long overshoot: the rate must be halved until a step goes uphill.
    x = sample("weibull")
    f = fit(
        "weibull",
        x,
        optimizer="gradient_ascent",
        # maxiter=1000: every iteration is recorded in the trace.
        optimizer_options={"learning_rate": learning_rate, "maxiter": 1000},
        init={"shape": 3.0, "scale": 3.0},
    )
    assert f.converged, f.message
    ll = np.array([row["loglik"] for row in f.trace])
    iterations = [row["iteration"] for row in f.trace]
    assert iterations[0] == 0 and len(ll) >= 5
    assert all(b > a for a, b in itertools.pairwise(iterations))  # rejected steps skipped
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:]))
    newton = fit("weibull", x, optimizer="newton")
    for k, v in newton.params.items():
        assert f.params[k] == pytest.approx(v, rel=1e-4), k  # |grad| / n < 1e-6 at the end


@pytest.mark.parametrize("name", ["geometric", "lognormal", "laplace", "uniform"])
def test_closed_form_fit_has_an_empty_trace_and_no_iterations(name):
    f = fit(name, sample(name), optimizer="closed_form")
    assert f.optimizer == "closed_form"
    assert f.trace == []
    assert f.iterations == 0
    assert f.converged


def test_em_trace_loglik_never_decreases():
    x = mixture_sample()
    f = fit("gaussian_mixture", x, k=2)
    ll = np.array([row["loglik"] for row in f.trace])
    assert {"iteration", "loglik", "grad_norm", "weight.1", "mu.2", "sigma.1"} <= set(f.trace[0])
    # EM's defining property: each step does not lower the likelihood (up to rounding).
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:]))


# ---- 5. the score at the estimate; boundaries ------------------------------------------
@pytest.mark.parametrize("name", ["geometric", "lognormal", "laplace"])
def test_closed_form_interior_mle_has_zero_score(name):
    f = fit(name, sample(name, n=2999))  # odd n: the laplace median is a data point
    assert f.grad_norm is not None
    # Exact solutions: zero up to rounding of sums of n terms (laplace: the signs cancel
    # exactly at the median).
    assert f.grad_norm < 1e-9 * f.n
    assert set(f.score) == set(f.params)
    assert not any(e.on_boundary for e in f.estimates)
    assert f.notes == [] or name == "laplace"


@pytest.mark.parametrize("name", ["beta", "negative_binomial", "student_t", "weibull"])
def test_numerical_interior_mle_has_small_score(name):
    f = fit(name, sample(name))
    assert f.grad_norm is not None
    # L-BFGS-B's default gtol (1e-5 per observation, in log/logit coordinates) becomes
    # < 1e-4 per observation in natural coordinates here (parameters >= 0.4).
    assert f.grad_norm < 1e-4 * f.n
    assert not any(e.on_boundary for e in f.estimates)
    assert all(e.se is not None and e.se > 0 for e in f.estimates)


def test_uniform_is_on_the_boundary_with_no_standard_errors_and_says_why():
    f = fit("uniform", sample("uniform"))
    for name in ("low", "high"):
        e = f.estimate(name)
        assert e.on_boundary
        assert e.se is None
        assert e.ci is None
    assert f.grad_norm is None
    assert f.covariance is None
    assert any("uniform" in note and "Wald" in note for note in f.notes)


def test_geometric_all_ones_is_on_the_boundary():
    f = fit("geometric", np.ones(20))
    assert f.params["p"] == 1.0
    e = f.estimate("p")
    assert e.on_boundary and e.se is None and e.ci is None
    assert f.grad_norm is None
    assert f.loglik == 0.0  # P(success on the first trial every time | p = 1) = 1
    assert any("boundary" in note for note in f.notes)


@pytest.mark.parametrize("optimizer", ["newton", "scipy", "gradient_ascent"])
def test_numerical_optimizers_report_the_exact_geometric_boundary(optimizer):
    # They can only approach p = 1 in logit coordinates; the closed form reaches it.
    f = fit("geometric", np.ones(20), optimizer=optimizer)
    assert f.params["p"] == 1.0
    assert f.estimate("p").on_boundary


def test_bernoulli_all_zeros_is_on_the_boundary_for_newton_too():
    f = fit("bernoulli", np.zeros(30), optimizer="newton")
    assert f.params["p"] == 0.0
    assert f.estimate("p").on_boundary and f.se["p"] is None


# ---- 6. fixed parameters -------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["auto", "newton", "gradient_ascent"])
def test_gaussian_fixed_sigma_gives_mu_equal_to_the_mean(optimizer):
    x = np.random.default_rng(2).normal(3.0, 2.0, N)
    f = fit("gaussian", x, optimizer=optimizer, fixed={"sigma": 1.0})
    assert f.params["sigma"] == 1.0
    assert f.estimate("sigma").fixed
    # Iterative optimizers stop at |score| / n <= 1e-6, i.e. |mu - mean| <= 1e-6 * sigma^2.
    assert f.params["mu"] == pytest.approx(np.mean(x), abs=2e-6)
    assert f.k == 1
    assert f.aic == pytest.approx(2 * 1 - 2 * f.loglik, rel=1e-15)


def test_gamma_fixed_shape_gives_rate_shape_over_mean():
    x = np.random.default_rng(0).gamma(2.5, 1 / 1.5, N)
    f = fit("gamma", x, fixed={"shape": 2.0})
    rate = 2.0 / np.mean(x)  # the score n a / b - sum x = 0, solved for b
    assert f.params["shape"] == 2.0
    assert f.params["rate"] == pytest.approx(rate, rel=1e-5)  # L-BFGS-B default tol
    assert f.k == 1
    ll = float(np.sum(stats.gamma.logpdf(x, 2.0, scale=1 / rate)))
    assert f.loglik >= ll - 1e-9 * abs(ll)
    assert f.aic == pytest.approx(2 * 1 - 2 * ll, rel=1e-9)
    # With the shape known, the rate's SE is rate / sqrt(n a) (information n a / b^2).
    assert f.se["rate"] == pytest.approx(rate / np.sqrt(N * 2.0), rel=1e-4)
    assert f.se["shape"] is None


def test_weibull_with_shape_one_is_the_exponential_fit():
    x = np.random.default_rng(0).exponential(1 / 2.5, N)
    w = fit("weibull", x, fixed={"shape": 1.0}, optimizer_options={"tol": 1e-12})
    e = fit("exponential", x)
    assert w.params["scale"] == pytest.approx(np.mean(x), rel=1e-7)
    assert w.params["scale"] == pytest.approx(1 / e.params["rate"], rel=1e-7)
    assert w.loglik == pytest.approx(e.loglik, rel=1e-10)
    assert w.k == e.k == 1
    # The delta method carries se(rate) to se(scale) = se(rate) / rate^2.
    assert w.se["scale"] == pytest.approx(e.se["rate"] / e.params["rate"] ** 2, rel=1e-4)


@pytest.mark.parametrize("df", [3.0, 10.0])
def test_student_t_with_fixed_df_matches_scipy_t_fit_with_fix_df(df):
    x = sample("student_t")
    f = fit("student_t", x, fixed={"df": df})
    assert f.params["df"] == df
    assert f.k == 2
    _, loc, scale = stats.t.fit(x, fix_df=df)
    ref = scipy_loglik("student_t", x, {"df": df, "mu": loc, "sigma": scale})
    assert f.loglik >= ref - 1e-6 * abs(ref)
    # Same function, both at its maximum within their optimizers' tolerances (~1e-5).
    assert f.params["mu"] == pytest.approx(loc, rel=1e-3)
    assert f.params["sigma"] == pytest.approx(scale, rel=1e-3)


def test_beta_with_b_fixed_at_one_has_the_power_law_closed_form():
    # Beta(a, 1) has density a x^(a-1): the MLE is a = -n / sum(log x).
    x = np.random.default_rng(0).beta(2.0, 1.0, N)
    f = fit("beta", x, fixed={"b": 1.0}, optimizer="newton")
    a = -len(x) / np.sum(np.log(x))
    assert f.params["a"] == pytest.approx(a, rel=1e-8)
    assert f.se["a"] == pytest.approx(a / np.sqrt(len(x)), rel=1e-4)  # information n / a^2


def test_negative_binomial_with_fixed_size_has_p_in_closed_form_even_if_underdispersed():
    # Holding size, p = size / (size + mean); the Poisson-limit degeneracy needs size free.
    x = np.random.default_rng(0).binomial(10, 0.5, N).astype(float)  # variance < mean
    f = fit("negative_binomial", x, fixed={"size": 4.0}, optimizer="newton")
    assert f.params["p"] == pytest.approx(4.0 / (4.0 + np.mean(x)), rel=1e-8)
    assert f.k == 1


def test_laplace_with_fixed_mu_gives_b_as_the_mean_absolute_deviation_about_it():
    x = sample("laplace")
    f = fit("laplace", x, fixed={"mu": 0.0}, optimizer="newton")
    assert f.params["b"] == pytest.approx(np.mean(np.abs(x)), rel=1e-8)
    # Expected information for b alone is n / b^2.
    assert f.se["b"] == pytest.approx(f.params["b"] / np.sqrt(len(x)), rel=1e-12)


def test_lognormal_with_fixed_sigma_gives_mu_as_the_mean_of_log_x():
    x = sample("lognormal")
    f = fit("lognormal", x, fixed={"sigma": 0.5}, optimizer="newton")
    assert f.params["mu"] == pytest.approx(np.mean(np.log(x)), rel=1e-8)
    assert f.se["mu"] == pytest.approx(0.5 / np.sqrt(len(x)), rel=1e-4)


# ---- 7. gaussian mixture ---------------------------------------------------------------
MIX = {"weight": [0.3, 0.7], "mu": [-2.0, 3.0], "sigma": [0.8, 1.2]}


def mixture_sample(n=N, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.random(n) < MIX["weight"][0]
    return np.where(
        z,
        rng.normal(MIX["mu"][0], MIX["sigma"][0], n),
        rng.normal(MIX["mu"][1], MIX["sigma"][1], n),
    )


def mixture_loglik(x, w, mu, sigma):
    dens = np.column_stack(
        [np.log(w[j]) + stats.norm.logpdf(x, mu[j], sigma[j]) for j in range(len(w))]
    )
    return float(np.sum(special.logsumexp(dens, axis=1)))


def reference_em(x, mu0, iterations=500):
    """A textbook EM for a 2-component gaussian mixture, independent of the runner."""
    w, mu, sigma = np.array([0.5, 0.5]), np.array(mu0, float), np.full(2, np.std(x))
    for _ in range(iterations):
        logs = np.log(w) + stats.norm.logpdf(x[:, None], mu, sigma)
        r = np.exp(logs - special.logsumexp(logs, axis=1, keepdims=True))
        mass = r.sum(axis=0)
        w = mass / len(x)
        mu = (r * x[:, None]).sum(axis=0) / mass
        sigma = np.sqrt((r * (x[:, None] - mu) ** 2).sum(axis=0) / mass)
    return mixture_loglik(x, w, mu, sigma)


def test_gaussian_mixture_recovers_well_separated_components():
    x = mixture_sample()
    f = fit("gaussian_mixture", x, k=2)
    assert f.optimizer == "em"
    assert f.converged, f.message
    w, mu, sigma = (np.asarray(f.params[k]) for k in ("weight", "mu", "sigma"))
    assert mu[0] < mu[1]  # ordered by mean
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    n = len(x)
    # Well-separated components (7 pooled sds apart): each parameter's SE is that of a
    # single gaussian fitted to its n w_j points, and the weight's is binomial.
    tw, tm, ts = (np.asarray(MIX[k]) for k in ("weight", "mu", "sigma"))
    se_w = np.sqrt(tw * (1 - tw) / n)
    se_mu = ts / np.sqrt(n * tw)
    se_sigma = ts / np.sqrt(2 * n * tw)
    assert np.all(np.abs(w - tw) < 4 * se_w), w
    assert np.all(np.abs(mu - tm) < 4 * se_mu), mu
    assert np.all(np.abs(sigma - ts) < 4 * se_sigma), sigma
    # The runner's loglik is the mixture density summed with scipy.
    assert f.loglik == pytest.approx(mixture_loglik(x, w, mu, sigma), rel=1e-10)


def test_gaussian_mixture_is_at_least_as_good_as_random_start_em_runs():
    x = mixture_sample()
    f = fit("gaussian_mixture", x, k=2)
    rng = np.random.default_rng(7)
    for _ in range(4):
        ref = reference_em(x, np.sort(rng.choice(x, 2, replace=False)))
        # EM stopped at a relative change of 1e-8: within ~1e-8 of its local maximum.
        assert f.loglik >= ref - 1e-7 * abs(ref)


def test_gaussian_mixture_score_is_near_zero_at_the_em_estimate():
    x = mixture_sample()
    f = fit("gaussian_mixture", x, k=2)
    assert f.grad_norm is not None
    # EM stops when loglik changes by < 1e-8 relative; the score is then ~1e-3 per
    # observation or less (EM's linear rate is slow), far from a score of order 1.
    assert f.grad_norm / f.n < 1e-3


def test_em_step_keeps_components_ordered_by_mean():
    x = mixture_sample()
    fam = families.get("gaussian_mixture", k=2)
    swapped = {
        "weight": np.array([0.7, 0.3]),
        "mu": np.array([3.0, -2.0]),
        "sigma": np.array([1.2, 0.8]),
    }
    new = fam.em(fam.reduce(x)).step(swapped)
    # Labels follow the means, so the same component is "1" in every run.
    assert new["mu"][0] < new["mu"][1]
    assert new["weight"][0] == pytest.approx(0.3, abs=0.05)
    assert new["sigma"][0] == pytest.approx(0.8, abs=0.1)


def test_gaussian_mixture_with_two_distinct_values_for_two_components_is_refused():
    x = np.array([1.0, 2.0] * 10)
    with pytest.raises(DataError, match="does not exist"):
        fit("gaussian_mixture", x, k=2)


# ---- 8. degenerate data --------------------------------------------------------------
@pytest.mark.parametrize(
    "x",
    [
        np.full(40, 3.0),  # no spread at all
        np.random.default_rng(0).binomial(10, 0.5, N).astype(float),  # variance ~ 2.5 < 5
        np.tile([4.0, 5.0, 6.0], 100),  # variance 2/3 < mean 5
    ],
    ids=["constant", "binomial", "three-values"],
)
@pytest.mark.parametrize("optimizer", ["auto", "newton"])
def test_negative_binomial_on_underdispersed_data_is_refused_pointing_to_poisson(x, optimizer):
    assert np.var(x) <= np.mean(x)
    with pytest.raises(DataError, match="poisson"):
        fit("negative_binomial", x, optimizer=optimizer)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("weibull", 2.0),
        ("weibull", 0.1),
        ("beta", 0.3),
        ("beta", 0.1),
        ("beta", 0.7),
        ("laplace", 1.5),
        ("lognormal", 2.0),
        ("lognormal", 0.1),
        ("student_t", 1.0),
        ("student_t", -0.1),
        ("uniform", 0.25),
    ],
)
@pytest.mark.parametrize("n", [5, 7, 100])
def test_constant_data_are_refused_because_the_mle_does_not_exist(name, value, n):
    # With all values equal the likelihood grows without bound (a scale -> 0 or a shape
    # -> infinity). n and values vary because the check must not depend on how the
    # rounding of mean(x^2) - mean(x)^2 happens to fall.
    with pytest.raises(DataError, match="does not exist"):
        fit(name, np.full(n, value))


@pytest.mark.parametrize(
    ("name", "value", "fixed", "free", "equation"),
    [
        # Beta(a, b) with b held: the score in a is n (digamma(a + b) - digamma(a) + log c),
        # and digamma(a + b) - digamma(a) falls from +inf to 0: one finite root.
        (
            "beta",
            0.3,
            {"b": 3.0},
            "a",
            lambda a: special.digamma(a + 3) - special.digamma(a) + np.log(0.3),
        ),
        (
            "beta",
            0.3,
            {"a": 2.0},
            "b",
            lambda b: special.digamma(b + 2) - special.digamma(b) + np.log(0.7),
        ),
        # Weibull with scale held at 3 and every value 2: the score in k is
        # n (1 / k + log(2/3) (1 - (2/3)^k)), which has one finite root.
        (
            "weibull",
            2.0,
            {"scale": 3.0},
            "shape",
            lambda k: 1 / k + np.log(2 / 3) * (1 - (2 / 3) ** k),
        ),
    ],
    ids=["beta-b-fixed", "beta-a-fixed", "weibull-scale-fixed"],
)
def test_constant_data_are_fine_when_a_parameter_is_held_and_the_mle_exists(
    name, value, fixed, free, equation
):
    # The refusal above is about the free parameters: holding one of them (as the error
    # message itself suggests) leaves a one-parameter problem with a finite maximum.
    root = optimize.brentq(equation, 1e-3, 1e3, xtol=1e-14)
    f = fit(name, np.full(5, value), fixed=fixed, optimizer="newton")
    assert f.params[free] == pytest.approx(root, rel=1e-6)


def test_student_t_on_light_tailed_data_does_not_report_an_ordinary_interior_df():
    # For data with lighter tails than any t (here uniform), the likelihood keeps rising as
    # df -> infinity (the gaussian limit): like negative_binomial's Poisson limit, the MLE
    # does not exist. The fit must say so (refuse, or give no Wald SE for df and a note)
    # rather than present the last iterate (df ~ 1e6, "converged") as an estimate.
    x = np.random.default_rng(0).uniform(-1.0, 1.0, N)
    try:
        f = fit("student_t", x)
    except DataError as err:
        assert "gaussian" in str(err) or "df" in str(err)
        return
    assert f.se["df"] is None, (f.params, f.se, f.notes)
    assert any("df" in note for note in f.notes), f.notes


# ---- 10. standard errors ---------------------------------------------------------------
def test_geometric_se_is_the_textbook_formula():
    x = sample("geometric")
    f = fit("geometric", x)
    p, n = f.params["p"], len(x)
    # Observed information at the MLE: n / (p^2 (1 - p)). Finite-difference Hessian: ~1e-8.
    assert f.se["p"] == pytest.approx(math.sqrt(p**2 * (1 - p) / n), rel=1e-4)


def test_lognormal_se_is_the_gaussian_one_on_log_x():
    x = sample("lognormal")
    f = fit("lognormal", x)
    g = fit("gaussian", np.log(x))
    sigma, n = f.params["sigma"], len(x)
    assert f.se["mu"] == pytest.approx(sigma / math.sqrt(n), rel=1e-4)
    assert f.se["sigma"] == pytest.approx(sigma / math.sqrt(2 * n), rel=1e-4)
    assert f.se == pytest.approx(g.se, rel=1e-6)


def test_laplace_se_comes_from_expected_information_b_over_root_n():
    x = sample("laplace")
    f = fit("laplace", x)
    se = f.params["b"] / math.sqrt(len(x))
    # Exact: inverse of n times diag(1 / b^2, 1 / b^2), no numerical differentiation.
    assert f.se["mu"] == pytest.approx(se, rel=1e-12)
    assert f.se["b"] == pytest.approx(se, rel=1e-12)
    assert any("expected" in note for note in f.notes)


@pytest.mark.parametrize("name", ["weibull", "beta", "student_t"])
def test_observed_information_se_approaches_the_expected_information_se(name):
    x = sample(name, n=20_000, seed=3)
    fam = families.get(name)
    f = fit(name, x, optimizer="newton")
    theta = f.params
    info = len(x) * fam.fisher_information(theta)
    expected = np.sqrt(np.diag(np.linalg.inv(info)))
    # Observed / expected information differ by O(1/sqrt(n)) times the spread of the
    # per-observation Hessian: a few percent at n = 20000 even for student_t's df.
    for p, se in zip(fam.param_names, expected, strict=True):
        assert f.se[p] == pytest.approx(se, rel=0.05), p


def test_negative_binomial_se_matches_the_hessian_of_scipy_logpmf():
    x = sample("negative_binomial")
    f = fit("negative_binomial", x, optimizer="newton")
    theta = np.array([f.params["size"], f.params["p"]])

    def ll(t):
        return float(np.sum(stats.nbinom.logpmf(x, t[0], t[1])))

    # Second central differences of scipy's loglik in (size, p), step 1e-4 relative:
    # truncation ~1e-8, rounding ~eps |ll| / h^2 ~ 1e-4 of the curvature.
    h = 1e-4 * theta
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            hess[i, j] = (
                ll(theta + ei + ej)
                - ll(theta + ei - ej)
                - ll(theta - ei + ej)
                + ll(theta - ei - ej)
            ) / (4 * h[i] * h[j])
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    assert f.se["size"] == pytest.approx(se[0], rel=1e-3)
    assert f.se["p"] == pytest.approx(se[1], rel=1e-3)


FISHER_THETA = {
    "geometric": {"p": 0.3},
    "beta": {"a": 2.5, "b": 4.0},
    "lognormal": {"mu": 0.5, "sigma": 0.8},
    "weibull": {"shape": 1.8, "scale": 1.7},
    "laplace": {"mu": 1.0, "b": 2.0},
    "student_t": {"df": 5.0, "mu": 2.0, "sigma": 1.5},
}


@pytest.mark.parametrize("name", sorted(FISHER_THETA))
def test_fisher_information_equals_monte_carlo_variance_of_the_per_observation_score(name):
    fam = families.get(name)
    theta = FISHER_THETA[name]
    x = fam.sample(theta, 100_000, np.random.default_rng(11)).astype(float)
    st = fam.reduce(x[:, None])  # batched: one "sample" of size 1 per observation
    score = fam.score(st, theta)
    s = np.column_stack([np.asarray(score[p], dtype=float) for p in fam.param_names])
    mc = s.T @ s / len(x)  # E[s s^T] (E[s] = 0 at the true theta)
    info = fam.fisher_information(theta)
    # In correlation units the MC error of each entry has sd <= sqrt(kurtosis / N); the
    # heaviest-tailed scores here (sigma-like, kurtosis <= ~15) give ~0.012 at N = 1e5,
    # so 0.06 is ~5 sd while still catching a wrong factor or sign.
    d = np.sqrt(np.diag(info))
    np.testing.assert_allclose((mc - info) / np.outer(d, d), 0.0, atol=0.06)


def test_negative_binomial_tallies_counts_to_the_same_statistics_and_fit():
    # Integer counts go through one bincount; the same values as floats through np.unique:
    # both must give the same sufficient statistics and the same maximum.
    x = np.random.default_rng(3).negative_binomial(3.0, 0.4, 5_000)
    family = families.get("negative_binomial")
    tallied, sorted_ = family.reduce(x), family.reduce(x.astype(float))
    assert tallied["weights"].sum() == x.size
    for key in ("n", "total", "mean", "mean_square", "log_factorials"):
        assert tallied[key] == pytest.approx(sorted_[key], rel=1e-12), key
    np.testing.assert_array_equal(tallied["values"], sorted_["values"])
    a, b = fit("negative_binomial", x), fit("negative_binomial", x.astype(float))
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    assert a.params["size"] == pytest.approx(b.params["size"], rel=1e-9)

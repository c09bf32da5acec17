"""Analytic Hessians: equal to finite differences of the score, in natural and in
unconstrained coordinates, and Newton finds the same maximum with either."""

from __future__ import annotations

import numpy as np
import pytest

from runner import fit
from runner.stats import families
from runner.stats.estimate import LikelihoodProblem
from runner.stats.numdiff import hessian_from_gradient, jacobian

CASES = [
    ("gaussian", {"mu": 1.0, "sigma": 2.0}, {}),
    ("lognormal", {"mu": 0.2, "sigma": 0.5}, {}),
    ("gamma", {"shape": 2.0, "rate": 1.5}, {}),
    ("beta", {"a": 2.0, "b": 5.0}, {}),
    ("weibull", {"shape": 1.5, "scale": 2.0}, {}),
    ("poisson", {"lam": 3.0}, {}),
    ("exponential", {"rate": 2.0}, {}),
    ("bernoulli", {"p": 0.3}, {}),
    ("binomial", {"p": 0.3}, {"trials": 10}),
    ("geometric", {"p": 0.3}, {}),
    ("student_t", {"df": 5.0, "mu": 1.0, "sigma": 2.0}, {}),
]


def sample(name, theta, options, n=400, seed=0):
    fam = families.get(name, **options)
    x = fam.validate(fam.sample(theta, n, np.random.default_rng(seed)))
    return fam, x


@pytest.mark.parametrize(("name", "theta", "options"), CASES, ids=[c[0] for c in CASES])
def test_every_written_hessian_matches_differences_of_the_score(name, theta, options):
    fam, x = sample(name, theta, options)
    assert fam.has_hessian
    stats = fam.reduce(x)
    away = {k: v * 1.1 for k, v in theta.items()}  # not at the MLE: curvature terms matter
    names = fam.param_names

    def score(v):
        s = fam.score(stats, dict(zip(names, v, strict=True)))
        return np.array([s[k] for k in names])

    numeric = jacobian(score, np.array([away[k] for k in names]), base_step=1e-6)
    analytic = fam.hessian(stats, away)
    # Central differences of an exact score with step 1e-6: ~1e-8 relative.
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8 * np.abs(numeric).max())


@pytest.mark.parametrize(("name", "theta", "options"), CASES, ids=[c[0] for c in CASES])
def test_chain_rule_hessian_in_unconstrained_coordinates(name, theta, options):
    fam, x = sample(name, theta, options)
    problem = LikelihoodProblem(fam, fam.reduce(x))
    assert problem.analytic_hessian
    z = problem.z_of({k: v * 0.9 for k, v in theta.items()})
    numeric = hessian_from_gradient(lambda w: problem.value_and_grad(w)[1], z)
    np.testing.assert_allclose(problem.hessian(z), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["gamma", "weibull", "beta"])
def test_newton_with_analytic_and_numerical_hessian_agree(name):
    theta = dict(next(c[1] for c in CASES if c[0] == name))
    fam, x = sample(name, theta, {}, n=2000, seed=3)
    start = {k: v * 3 for k, v in theta.items()}
    fits = [
        fit(fam, x, optimizer="newton", optimizer_options={"hessian": h}, init=start)
        for h in ("analytic", "numerical")
    ]
    for f in fits:
        assert f.converged and f.iterations > 0
    for k in theta:
        assert fits[0].params[k] == pytest.approx(fits[1].params[k], rel=1e-8)

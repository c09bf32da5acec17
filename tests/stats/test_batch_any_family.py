"""Replicates of families with no score (scipy's by name, your own density) fitted in one
batched climb: the same estimates and standard errors as one ``fit`` per sample, and the
family's own search where a sample needs it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runner import fit
from runner.stats.batch import fit_batch
from runner.stats.families import get
from runner.stats.families.scipy_family import ScipyFamily
from runner.stats.study import StudySpec, mle_exists, synthetic_study


def _custom():
    return get("custom", logpdf="runner.stats.families.custom_example:logpdf",
               params={"mu": "real", "sigma": "positive"},
               sampler="runner.stats.families.custom_example:sample")  # fmt: skip


@pytest.mark.parametrize("dist", ["gumbel_r", "genextreme", "logistic"])
def test_a_batch_is_what_one_fit_per_sample_gives(dist):
    family = ScipyFamily(dist)
    x = getattr(stats, dist).rvs(*family._example(), size=(40, 200), random_state=4)
    batch = fit_batch(family, family.reduce(x))
    for i in range(0, 40, 7):
        one = fit("scipy", x[i], dist=dist)
        for e in one.estimates:
            assert batch.estimate[e.name][i] == pytest.approx(e.estimate, rel=1e-6, abs=1e-8)
            assert batch.se[e.name][i] == pytest.approx(e.se, rel=1e-3)


def test_your_own_density_in_a_batch_is_the_gaussian_closed_form():
    family = _custom()
    x = np.random.default_rng(8).normal(1.0, 3.0, size=(25, 120))
    batch = fit_batch(family, family.reduce(x))
    np.testing.assert_allclose(batch.estimate["mu"], x.mean(axis=1), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(batch.estimate["sigma"], x.std(axis=1), rtol=1e-7)
    np.testing.assert_allclose(batch.se["mu"], x.std(axis=1) / np.sqrt(120), rtol=1e-4)


def test_a_sample_without_an_mle_is_counted_with_the_searchs_reason():
    family = ScipyFamily("weibull_min")
    # shape 0.5: infinite density at the threshold, the likelihood unbounded at min(x)
    x = stats.weibull_min.rvs(0.5, size=(6, 40), random_state=1)
    batch = fit_batch(family, family.reduce(x))
    exists, why = mle_exists(family, family.reduce(x), batch)
    assert not exists.all()
    assert why is not None and "no MLE" in why
    for i in np.flatnonzero(~exists):
        assert np.isnan(batch.estimate["c"][i])


def test_a_study_of_your_own_density_draws_from_its_sampler_and_has_a_bound():
    spec = StudySpec(sizes=[50, 400], replicates=200, seed=3, stream=False)
    result = synthetic_study(_custom(), {"mu": 0.5, "sigma": 2.0}, spec, progress=False)
    rows = result.summary.set_index(["size", "parameter"])
    for size in (50, 400):
        assert rows.loc[(size, "mu"), "crlb"] == pytest.approx(4.0 / size, rel=0.02)
        assert rows.loc[(size, "sigma"), "crlb"] == pytest.approx(2.0 / size, rel=0.02)
        assert 0.88 <= rows.loc[(size, "mu"), "coverage"] <= 0.99
    assert any("computed numerically" in note for note in result.notes)


def test_scipys_numerical_breakdown_is_refused_row_by_row_in_a_batch():
    # powernorm at c ~ 1e-17, scale ~ 1e-8 gives every value a log-density near 19: no
    # density; the row with sound parameters keeps its own log-likelihood
    family = ScipyFamily("powernorm")
    x = stats.gamma.rvs(3.0, loc=2, scale=1.5, size=(2, 20_000), random_state=1)
    theta = {"c": np.array([7.3e-18, 1.0]), "loc": np.array([2.0087, 5.0]),
             "scale": np.array([9.9e-9, 2.0])}  # fmt: skip
    values = family.loglik(family.reduce(x), theta)
    assert values[0] == -np.inf
    assert values[1] == pytest.approx(stats.powernorm.logpdf(x[1], 1.0, 5.0, 2.0).sum())

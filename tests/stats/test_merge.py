"""``Family.merge``: two samples' statistics together equal the statistics of both."""

from __future__ import annotations

import numpy as np
import pytest

from runner.stats import families
from runner.stats.chunked import LocalChunks, fit_chunks, mergeable
from runner.stats.estimate import fit_validated

RNG = np.random.default_rng(17)
SAMPLES = {
    "gaussian": lambda n: RNG.normal(3.0, 2.0, n),
    "exponential": lambda n: RNG.exponential(2.0, n),
    "gamma": lambda n: RNG.gamma(2.5, 1.5, n),
    "lognormal": lambda n: RNG.lognormal(0.5, 0.7, n),
    "beta": lambda n: RNG.beta(2.0, 5.0, n),
    "uniform": lambda n: RNG.uniform(-1.0, 4.0, n),
    "bernoulli": lambda n: RNG.binomial(1, 0.3, n),
    "binomial": lambda n: RNG.binomial(10, 0.4, n),
    "poisson": lambda n: RNG.poisson(4.0, n),
    "geometric": lambda n: RNG.geometric(0.3, n),
    "negative_binomial": lambda n: RNG.negative_binomial(3, 0.4, n),
}
NOT_MERGEABLE = ["student_t", "laplace", "weibull"]


def _family(name: str):
    return families.get(name, trials=10 if name == "binomial" else None)


def _close(a, b) -> None:
    assert a.keys() == b.keys()
    for key in a:
        # rounding of sums of 10^3-10^4 terms in another order: 1e-12 relative is loose
        np.testing.assert_allclose(np.asarray(b[key], float), np.asarray(a[key], float),
                                   rtol=1e-12, atol=1e-12, err_msg=key)  # fmt: skip


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_merge_of_two_reductions_is_the_reduction_of_both(name):
    family = _family(name)
    x1, x2 = SAMPLES[name](1500), SAMPLES[name](2600)
    x1, x2 = family.validate(x1), family.validate(x2)
    merged = family.merge(family.reduce(x1), family.reduce(x2))
    _close(family.reduce(np.concatenate([x1, x2])), merged)


def test_categorical_counts_merge():
    family = families.get("categorical", categories=["a", "b", "c"])
    x1, x2 = RNG.integers(0, 3, 100), RNG.integers(0, 3, 70)
    merged = family.merge(family.reduce(x1), family.reduce(x2))
    _close(family.reduce(np.concatenate([x1, x2])), merged)


@pytest.mark.parametrize("name", NOT_MERGEABLE)
def test_families_that_keep_values_say_they_do_not_merge(name):
    assert not mergeable(families.get(name))


def _chunks(x: np.ndarray, size: int) -> LocalChunks:
    return LocalChunks(lambda: (x[i : i + size] for i in range(0, x.size, size)))


@pytest.mark.parametrize("name", ["gaussian", "poisson", "gamma", "negative_binomial"])
def test_fit_of_merged_chunks_equals_the_fit_in_memory(name):
    family = _family(name)
    x = family.validate(SAMPLES[name](5000))
    whole = fit_validated(family, x)
    parts = fit_chunks(family, _chunks(x, 777))
    assert parts.n == whole.n
    for name_, value in whole.params.items():
        np.testing.assert_allclose(parts.params[name_], value, rtol=1e-12)
    np.testing.assert_allclose(parts.loglik, whole.loglik, rtol=1e-12)


def test_student_t_by_passes_equals_the_fit_in_memory():
    family = families.get("student_t")
    x = RNG.standard_t(4.0, 6000) * 1.5 + 2.0
    whole = fit_validated(family, x)
    calls = []

    def passes():
        calls.append(1)
        return (x[i : i + 1000] for i in range(0, x.size, 1000))

    parts = fit_chunks(family, LocalChunks(passes))
    for name, value in whole.params.items():
        np.testing.assert_allclose(parts.params[name], value, rtol=1e-12)
    np.testing.assert_allclose(parts.loglik, whole.loglik, rtol=1e-12)
    for a, b in zip(parts.estimates, whole.estimates, strict=True):
        np.testing.assert_allclose(a.se, b.se, rtol=1e-8)  # Hessians summed in pieces
    assert len(calls) < 60  # one pass per point the optimizer visits, not per call


def test_weibull_by_passes_equals_the_fit_in_memory():
    family = families.get("weibull")
    x = RNG.weibull(1.7, 8000) * 3.0
    settings = {"optimizer_options": {"tol": 1e-12}}
    whole = fit_validated(family, x, **settings)
    parts = fit_chunks(family, _chunks(x, 999), **settings)
    # in memory: Newton on the profile likelihood in the shape; by passes: Newton in both
    # parameters (the profile needs every log x). Two algorithms, one maximum: 1e-10.
    assert whole.optimizer == "newton:profile" and parts.optimizer == "newton"
    for name, value in whole.params.items():
        np.testing.assert_allclose(parts.params[name], value, rtol=1e-10)


def test_categorical_labels_in_chunks_equal_the_fit_in_memory():
    family = families.get("categorical", categories=["a", "b", "c"])
    x = RNG.choice(["a", "b", "c"], 3000, p=[0.2, 0.3, 0.5])
    chunks = LocalChunks(lambda: (family.validate(x[i : i + 400]) for i in range(0, 3000, 400)))
    whole = fit_validated(family, family.validate(x))
    np.testing.assert_allclose(fit_chunks(family, chunks).params["p"], whole.params["p"],
                               rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("name", ["laplace", "scipy", "gaussian_mixture"])
def test_families_that_need_every_value_at_once_are_refused(name):
    from runner.errors import ConfigError

    options = {"dist": "gumbel_r"} if name == "scipy" else {"k": 2} if name != "laplace" else {}
    family = families.get(name, **options)
    with pytest.raises(ConfigError, match="every value at once"):
        fit_chunks(family, _chunks(RNG.normal(size=100), 30))

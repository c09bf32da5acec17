"""The multivariate normal (``mvn``) against scipy.stats.multivariate_normal and the
textbook MLE: mean = sample mean, covariance = scatter / n (not n - 1), and standard
errors from the Gaussian information, Var(S_ij) = (S_ii S_jj + S_ij^2) / n."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runner import fit

MEAN = np.array([1.0, -2.0, 0.5])
COV = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return np.random.default_rng(7).multivariate_normal(MEAN, COV, size=400)


def test_mvn_estimates_are_the_mean_and_the_covariance_divided_by_n(sample):
    f = fit("mvn", sample)
    n = len(sample)
    np.testing.assert_allclose(f.params["mean"], sample.mean(axis=0), rtol=1e-12)
    centred = sample - sample.mean(axis=0)
    np.testing.assert_allclose(f.params["cov"], centred.T @ centred / n, rtol=1e-10)
    np.testing.assert_allclose(f.params["cov"], np.cov(sample, rowvar=False, bias=True),
                               rtol=1e-10)  # fmt: skip
    unbiased = np.cov(sample, rowvar=False)  # divides by n - 1: must differ by (n-1)/n
    assert not np.allclose(f.params["cov"], unbiased, rtol=1e-4)


def test_mvn_loglik_is_scipys_at_the_estimate_and_the_maximum(sample):
    f = fit("mvn", sample)
    reference = stats.multivariate_normal(f.params["mean"], f.params["cov"])
    assert f.loglik == pytest.approx(reference.logpdf(sample).sum(), rel=1e-12)
    # The same closed form from scipy's own estimator: equal log-likelihoods.
    scipy_mean, scipy_cov = stats.multivariate_normal.fit(sample)
    scipy_ll = stats.multivariate_normal(scipy_mean, scipy_cov).logpdf(sample).sum()
    assert f.loglik == pytest.approx(scipy_ll, rel=1e-10)
    # The argmax: nearby means and covariances (kept positive definite) are no better.
    rng = np.random.default_rng(1)
    for _ in range(20):
        mean = f.params["mean"] + rng.normal(0, 0.02, 3)
        tilt = np.eye(3) + rng.normal(0, 0.02, (3, 3))
        cov = tilt @ f.params["cov"] @ tilt.T
        assert stats.multivariate_normal(mean, cov).logpdf(sample).sum() < f.loglik


def test_mvn_standard_errors_are_the_gaussian_information(sample):
    f = fit("mvn", sample)
    n, s = len(sample), f.params["cov"]
    for i in range(3):
        assert f.se[f"mean.{i + 1}"] == pytest.approx(np.sqrt(s[i, i] / n), rel=1e-6)
        for j in range(i + 1):
            expected = np.sqrt((s[i, i] * s[j, j] + s[i, j] ** 2) / n)
            assert f.se[f"cov.{i + 1}.{j + 1}"] == pytest.approx(expected, rel=1e-6), (i, j)

"""The Cramer-Rao bound of families without a formula for their information (scipy's by
name, your own density): computed numerically, checked against the formulas known for
some of them, and refused where the model is not regular."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from runner.stats.families import get
from runner.stats.families.scipy_family import ScipyFamily
from runner.stats.study import INTEGER_PARAMETER, crlb


def test_three_parameter_gamma_matches_its_information_formula():
    # Johnson, Kotz & Balakrishnan (1994), ch. 17: finite for shape a > 2.
    a, loc, b = 3.5, 1.0, 2.0
    info = np.array([
        [special.polygamma(1, a), 1 / (b * (a - 1)), 1 / b],
        [1 / (b * (a - 1)), 1 / (b**2 * (a - 2)), 1 / b**2],
        [1 / b, 1 / b**2, a / b**2],
    ])  # fmt: skip
    expected = np.diag(np.linalg.inv(info))
    bounds, reasons = crlb(ScipyFamily("gamma"), {"a": a, "loc": loc, "scale": b})
    assert reasons == {}
    # the tails beyond 1e-9 are left out: the loc term converges slowest there
    np.testing.assert_allclose([bounds["a"], bounds["loc"], bounds["scale"]], expected, rtol=5e-3)


def test_a_discrete_family_sums_over_its_support_and_holds_integers_known():
    n, p = 5, 0.3
    bounds, reasons = crlb(ScipyFamily("nbinom"), {"n": n, "p": p, "loc": 0})
    assert bounds["p"] == pytest.approx(p**2 * (1 - p) / n, rel=1e-6)
    assert reasons == {"n": INTEGER_PARAMETER, "loc": INTEGER_PARAMETER}


def test_your_own_density_uses_draws_from_its_sampler():
    family = get("custom", logpdf="runner.stats.families.custom_example:logpdf",
                 params={"mu": "real", "sigma": "positive"},
                 sampler="runner.stats.families.custom_example:sample")  # fmt: skip
    bounds, reasons = crlb(family, {"mu": 0.5, "sigma": 2.0})
    assert reasons == {}
    assert bounds["mu"] == pytest.approx(4.0, rel=0.02)  # sigma^2
    assert bounds["sigma"] == pytest.approx(2.0, rel=0.02)  # sigma^2 / 2


def test_an_infinite_information_is_no_bound():
    # weibull_min with shape < 2: the density's threshold term has infinite variance
    _, reasons = crlb(ScipyFamily("weibull_min"), {"c": 1.5, "loc": 0.0, "scale": 1.0})
    assert set(reasons) == {"c", "loc", "scale"}
    assert "the Cramer-Rao bound does not apply" in reasons["loc"]


def test_a_regular_threshold_model_has_a_bound_an_irregular_one_not():
    regular, _ = crlb(ScipyFamily("weibull_min"), {"c": 3.0, "loc": 0.0, "scale": 1.0})
    assert set(regular) == {"c", "loc", "scale"}
    _, reasons = crlb(ScipyFamily("gamma"), {"a": 2.2, "loc": 0.0, "scale": 1.0})
    assert "infinite or nearly so" in reasons["loc"]  # finite, barely: not to be trusted


def test_a_density_that_jumps_at_its_threshold_is_no_bound():
    _, reasons = crlb(ScipyFamily("expon"), {"loc": 0.0, "scale": 1.0})
    assert "support" in reasons["loc"]

"""Censored and truncated counts: "5 or more", "from 2 to 4", a zero-truncated Poisson,
against the likelihood maximised directly with scipy, and inline censored values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as st

from runner.errors import ConfigError, DataError
from runner.io.censored_data import as_counts, censor_draws, from_inline, is_censored_inline
from runner.stats.estimate import fit_validated
from runner.stats.families import get
from runner.stats.families.censored import Censored


def argmax_1d(nll, low: float, high: float) -> float:
    return optimize.minimize_scalar(nll, bounds=(low, high), method="bounded",
                                    options={"xatol": 1e-12}).x  # fmt: skip


def test_poisson_with_five_or_more_is_the_censored_mle():
    x = np.random.default_rng(1).poisson(3.2, 500).astype(float)
    big = x >= 5
    pairs = np.column_stack([x, x])
    pairs[big] = [5, np.inf]  # "5 or more": P(X >= 5) = S(4)
    family = Censored(get("poisson"))
    f = fit_validated(family, family.validate(pairs))

    def nll(lam):
        return -(st.poisson.logpmf(x[~big], lam).sum() + big.sum() * st.poisson.logsf(4, lam))

    lam = argmax_1d(nll, 0.1, 10)
    assert f.params["lam"] == pytest.approx(lam, rel=1e-7)
    assert f.loglik == pytest.approx(-nll(lam), rel=1e-12)
    assert f.loglik >= -nll(lam) - 1e-9


def test_interval_counts_include_both_ends():
    """(2, 4) is P(2 <= X <= 4) = F(4) - F(1); (-inf, 1) is 1 or fewer."""
    family = Censored(get("binomial", trials=10))
    pairs = np.array([[2, 4], [-np.inf, 1], [7, 7], [3, 3], [5, np.inf]], dtype=float)
    stats = family.reduce(family.validate(pairs))
    p = 0.4
    b = st.binom(10, p)
    expected = (np.log(b.cdf(4) - b.cdf(1)) + b.logcdf(1) + b.logpmf(7) + b.logpmf(3)
                + b.logsf(4))  # fmt: skip
    assert family.loglik(stats, {"p": p}) == pytest.approx(expected, rel=1e-12)


def test_zero_truncated_poisson_solves_its_score_equation():
    """Only counts of 1 or more recorded: the MLE solves mean = lam / (1 - e^-lam)."""
    y = np.random.default_rng(2).poisson(1.3, 3000)
    y = y[y > 0].astype(float)
    family = Censored(get("poisson"), (1, None))
    f = fit_validated(family, family.validate(np.column_stack([y, y])))
    lam = f.params["lam"]
    assert y.mean() == pytest.approx(lam / -np.expm1(-lam), rel=1e-8)


def test_a_count_that_is_not_whole_is_refused():
    family = Censored(get("poisson"))
    with pytest.raises(DataError, match=r"2\.5 is not a whole number.*l or more"):
        family.validate(np.array([[1, 1], [2.5, np.inf]]))


def test_categorical_data_cannot_be_censored():
    with pytest.raises(ConfigError, match="one number"):
        Censored(get("categorical"))


def test_still_working_at_t_is_t_plus_one_or_more_for_counts():
    pairs = censor_draws(np.array([1.0, 3.0, 6.0, 9.0]), right=4.0, rate=None, seed=0)
    np.testing.assert_array_equal(as_counts(pairs),
                                  [[1, 1], [3, 3], [5, np.inf], [5, np.inf]])  # fmt: skip


def test_inline_values_in_r_surv_notation():
    values = [1.2, "3.4", "5+", ">7", "0.5-", "<0.2", [1, 2]]
    assert is_censored_inline(values) and not is_censored_inline([1.0, "2", -3])
    np.testing.assert_array_equal(from_inline(values).values, [
        [1.2, 1.2], [3.4, 3.4], [5, np.inf], [7, np.inf], [-np.inf, 0.5], [-np.inf, 0.2],
        [1, 2]])  # fmt: skip


@pytest.mark.parametrize("bad, what", [("abc", "'abc'"), ([3, 1], r"\[3, 1\]: expected low"),
                                       ([1, 2, 3], r"\[1, 2, 3\]")])  # fmt: skip
def test_bad_inline_values_are_named(bad, what):
    with pytest.raises(DataError, match=rf"data\.values\[1\] = {what}"):
        from_inline([1.0, bad])


def test_a_count_truncation_keeps_the_whole_numbers_inside_it():
    """(0.5, inf) and (1, inf) keep the same counts: 1, 2, ... (zero-truncated)."""
    from runner import fit

    y = np.random.default_rng(3).poisson(1.3, 2000)
    y = y[y > 0]
    half = fit("poisson", y, truncation=(0.5, None)).params["lam"]
    assert half == pytest.approx(fit("poisson", y, truncation=(1, None)).params["lam"], rel=1e-12)
    assert half < y.mean()  # not the untruncated MLE


def test_strict_inline_bounds_are_strict_for_counts():
    strict = from_inline([1, ">5", "<2"], counts=True).values
    np.testing.assert_array_equal(strict, [[1, 1], [6, np.inf], [-np.inf, 1]])
    np.testing.assert_array_equal(from_inline(["5+", "2-"], counts=True).values,
                                  [[5, np.inf], [-np.inf, 2]])  # fmt: skip

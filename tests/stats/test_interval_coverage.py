"""Coverage of each interval method against n, checked against exact coverages: the
exponential rate's from the Gamma law of the sum, the Bernoulli p's by summing the
binomial over every count."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special, stats

from runner.errors import ConfigError
from runner.stats.families import get
from runner.stats.interval_coverage import CoverageSpec, interval_coverage

Z = stats.norm.ppf(0.975)
CUT = stats.chi2.ppf(0.95, 1)


def exact_exponential(n: int) -> dict[str, float]:
    """P(rate in the interval), each interval a function of lambda S ~ Gamma(n, 1)."""
    g = stats.gamma(n)

    def between(a, b):
        return g.cdf(b) - g.cdf(a)

    def drop(t):
        return 2 * n * (t - 1 - np.log(t)) - CUT

    t1, t2 = optimize.brentq(drop, 1e-12, 1), optimize.brentq(drop, 1, 100)
    q025, q975 = g.ppf([0.025, 0.975])  # bootstrap rates: rate_hat * n / Gamma(n, 1)
    root = np.sqrt(n)
    return {
        "wald": between(n * (1 - Z / root), n * (1 + Z / root)),
        "wald_transformed": between(n * np.exp(-Z / root), n * np.exp(Z / root)),
        "profile": between(n * t1, n * t2),
        "bootstrap": between(n * n / q975, n * n / q025),
    }


def test_exponential_coverage_of_every_method_is_its_exact_value():
    spec = CoverageSpec(["wald", "wald_transformed", "profile", "bootstrap"], [10, 40],
                        replicates=3000, subset=600, boot_replicates=400, seed=1)  # fmt: skip
    table = interval_coverage(get("exponential"), {"rate": 2.0}, spec)
    assert set(table["method"]) == set(spec.methods)
    for _, row in table.iterrows():
        exact = exact_exponential(int(row["size"]))[row["method"]]
        # the bootstrap's own percentiles from 400 refits add a little spread
        slack = 0.01 if row["method"] == "bootstrap" else 0.0
        assert abs(row["coverage"] - exact) < 4 * row["coverage_mcse"] + slack, row.to_dict()
        assert row["replicates"] == (600 if row["method"] in ("profile", "bootstrap") else 3000)


def exact_bernoulli(n: int, p: float) -> dict[str, float]:
    k = np.arange(n + 1)
    weight = stats.binom.pmf(k, n, p)
    ph = k / n
    se = np.sqrt(ph * (1 - ph) / n)
    with np.errstate(all="ignore"):
        half = Z * se / (ph * (1 - ph))
        low, high = special.expit(special.logit(ph) - half), special.expit(special.logit(ph) + half)
        top = stats.binom.logpmf(k, n, ph)
        lr = 2 * (top - stats.binom.logpmf(k, n, p)) <= CUT
    return {"wald": weight[(np.abs(ph - p) <= Z * se) & (se > 0)].sum(),
            "wald_transformed": weight[(low <= p) & (p <= high) & (se > 0)].sum(),
            "profile": weight[lr].sum()}  # fmt: skip


def test_bernoulli_at_n_20_transformed_and_profile_cover_closer_to_95_than_wald():
    spec = CoverageSpec(["wald", "wald_transformed", "profile"], [20], replicates=4000,
                        subset=1500, seed=1)  # fmt: skip
    table = interval_coverage(get("bernoulli"), {"p": 0.2}, spec).set_index("method")
    exact = exact_bernoulli(20, 0.2)
    for method, value in exact.items():
        row = table.loc[method]
        assert abs(row["coverage"] - value) < 4 * row["coverage_mcse"], method
    gap = (table["coverage"] - 0.95).abs()
    assert gap["wald_transformed"] < gap["wald"] and gap["profile"] < gap["wald"]
    # p_hat = 0 has no standard error: no Wald interval; the profile's is [0, upper]
    assert table.loc["wald", "no_interval"] > 0 and table.loc["profile", "no_interval"] == 0


def test_unknown_methods_and_vector_parameters_are_refused():
    spec = CoverageSpec(["exact"], [10], replicates=10)
    with pytest.raises(ConfigError, match=r"study.intervals \['exact'\]: choose from wald"):
        interval_coverage(get("exponential"), {"rate": 1.0}, spec)
    spec = CoverageSpec(["wald"], [10], replicates=10)
    with pytest.raises(ConfigError, match="scalar parameters"):
        interval_coverage(get("categorical", categories=["a", "b"]), {"p": [0.5, 0.5]}, spec)

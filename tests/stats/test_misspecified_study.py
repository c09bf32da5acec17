"""The wrong model on purpose: lognormal data fitted by a gamma. The estimates converge
to the pseudo-true parameter; sandwich intervals cover it, observed-information ones do
not (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from runner.errors import ConfigError
from runner.stats.families import get
from runner.stats.misspecified_study import misspecified_study
from runner.stats.pseudo_true import pseudo_true
from runner.stats.study import StudySpec


def test_sandwich_intervals_cover_the_pseudo_true_parameter_and_observed_do_not():
    truth = {"mu": 0.0, "sigma": 1.0}
    spec = StudySpec(sizes=[2000], replicates=300, seed=20261201)
    result = misspecified_study(get("gamma"), get("lognormal"), truth, spec, progress=False)
    target = pseudo_true(get("gamma"), get("lognormal"), truth)
    assert result.truth == pytest.approx({k: float(v) for k, v in target.items()})
    # the gamma's mean matches the lognormal's, exp(1/2) (a score equation of the KL fit)
    assert target["shape"] / target["rate"] == pytest.approx(np.exp(0.5), rel=1e-8)
    table = result.intervals.set_index(["parameter", "method"])
    for name in ("shape", "rate"):
        row = table.loc[(name, "wald (sandwich)")]
        assert abs(row["coverage"] - 0.95) < 4 * row["coverage_mcse"], name
    observed = table.loc[("rate", "wald (observed information)")]
    assert observed["coverage"] < 0.95 - 4 * observed["coverage_mcse"]
    summary = result.summary.set_index("parameter")
    for name in ("shape", "rate"):  # the estimates centre on the pseudo-true value
        assert abs(summary.loc[name, "bias"]) < 4 * summary.loc[name, "rmse"] / np.sqrt(300)
        assert np.isnan(summary.loc[name, "crlb"])
        assert "does not apply" in result.unavailable[name]["crlb"]
    assert result.notes[0].startswith("misspecified: data from lognormal(mu = 0, sigma = 1)")


def test_a_truth_outside_the_fitted_support_has_no_pseudo_true_value():
    spec = StudySpec(sizes=[50], replicates=10)
    with pytest.raises(ConfigError):
        misspecified_study(get("exponential"), get("gaussian"), {"mu": 0.0, "sigma": 1.0},
                           spec, progress=False)  # fmt: skip

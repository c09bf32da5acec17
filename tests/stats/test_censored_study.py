"""The convergence study under censoring: its Cramer-Rao bound is the censored data's
(exponential censored at c: I = (1 - e^{-lambda c}) / lambda^2), its estimates behave as
that bound says, and what it cannot study is refused."""

from __future__ import annotations

import numpy as np
import pytest

from runner.errors import ConfigError
from runner.stats.censored_study import censored_study
from runner.stats.families import get
from runner.stats.families.censored import Censored
from runner.stats.study import StudySpec


def test_exponential_censored_at_a_fixed_time_has_the_closed_form_bound():
    rate, c = 0.5, 2.0
    spec = StudySpec(sizes=[40, 400], replicates=400, seed=3)
    result = censored_study(Censored(get("exponential")), {"rate": rate}, spec, c, None,
                            progress=False)  # fmt: skip
    rows = result.summary.set_index("size")
    kept = 1 - np.exp(-rate * c)  # the share of failures seen
    for n in (40, 400):
        assert rows.loc[n, "crlb"] == pytest.approx(rate**2 / kept / n, rel=1e-8)
        assert rows.loc[n, "crlb_uncensored"] == pytest.approx(rate**2 / n, rel=1e-8)
        assert rows.loc[n, "information_kept"] == pytest.approx(kept, rel=1e-8)
    big = rows.loc[400]
    # the closed-form MLE (events / time on test) is efficient: MSE near the bound,
    # within the Monte Carlo error of an MSE over 400 replicates (~7%) and its bias
    assert big["efficiency"] == pytest.approx(1.0, abs=0.25)
    assert abs(big["coverage"] - 0.95) < 4 * big["coverage_mcse"]
    assert "keeps this share" in result.notes[0] and f"rate {100 * kept:.1f}%" in result.notes[0]


def test_weibull_with_random_censoring_reaches_its_censored_bound():
    spec = StudySpec(sizes=[500], replicates=300, seed=1)
    truth = {"shape": 1.5, "scale": 2.0}
    result = censored_study(Censored(get("weibull")), truth, spec, None, 0.3, progress=False)
    rows = result.summary.set_index("parameter")
    assert (rows["information_kept"] < 1).all() and (rows["information_kept"] > 0.5).all()
    for name in truth:
        assert rows.loc[name, "efficiency"] == pytest.approx(1.0, abs=0.3)
        assert abs(rows.loc[name, "bias"]) < 4 * rows.loc[name, "rmse"] / np.sqrt(300)
    assert result.draws["estimate"].notna().all()


@pytest.mark.parametrize("family, right, rate, match", [
    (Censored(get("weibull"), (0.0, 5.0)), 2.0, None, "model.truncation"),
    (Censored(get("poisson")), 3.0, None, "censored counts"),
    (Censored(get("weibull")), None, None, "data.censor.right"),
])  # fmt: skip
def test_what_a_censored_study_cannot_do_is_refused(family, right, rate, match):
    spec = StudySpec(sizes=[20], replicates=10)
    with pytest.raises(ConfigError, match=match):
        censored_study(family, family.default_truth(), spec, right, rate, progress=False)

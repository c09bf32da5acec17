"""The censored fit's picture: Kaplan-Meier by hand, and survival.png from a fit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runner import fit
from runner.io import plots
from runner.io.censored_figure import kaplan_meier
from runner.io.figures import fit_figures
from runner.stats.families import get
from runner.stats.families.censored import Censored, as_pairs


def test_kaplan_meier_by_hand():
    # 1, 2, 2, 3+, 4, 5+: S(1) = 5/6, S(2) = 5/6 (1 - 2/5), S(4) = S(2) (1 - 1/2)
    pairs = np.array([[1, 1], [2, 2], [2, 2], [3, np.inf], [4, 4], [5, np.inf]], float)
    times, survival = kaplan_meier(pairs)
    np.testing.assert_array_equal(times, [1, 2, 4])
    np.testing.assert_allclose(survival, [5 / 6, 5 / 6 * 3 / 5, 5 / 6 * 3 / 5 / 2])


@pytest.mark.parametrize("kind", ["right", "interval"])
def test_a_censored_fit_draws_its_data_against_the_fit(tmp_path, monkeypatch, kind):
    seen = []
    monkeypatch.setattr(plots, "SAVE_HOOK", lambda fig, path: seen.append((fig, path)))
    t = stats.weibull_min.rvs(1.5, scale=2.0, size=200, random_state=1)
    if kind == "right":
        data = stats.CensoredData(uncensored=t[t <= 2.5], right=np.full((t > 2.5).sum(), 2.5))
    else:
        data = stats.CensoredData.interval_censored(low=np.floor(t), high=np.floor(t) + 1)
    f = fit("weibull", data)
    family = Censored(get("weibull"))
    written = fit_figures(family, as_pairs(data), f, tmp_path)
    assert tmp_path / "survival.png" in written and (tmp_path / "survival.png").is_file()
    fig = next(fig for fig, path in seen if path.name == "survival.png")
    ax = fig.axes[0]
    expected = "survival probability S(t)" if kind == "right" else "cumulative probability F(x)"
    assert ax.get_ylabel() == expected
    labels = [line.get_label() for line in ax.get_lines()]
    assert any("fitted" in label for label in labels)

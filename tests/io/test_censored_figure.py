"""The censored fit's picture: Kaplan-Meier by hand, survival.png from a fit, and the
Turnbull NPMLE drawn where it is determined with boxes where it is not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runner import fit
from runner.io import plots
from runner.io.censored_figure import censored_figure, kaplan_meier
from runner.io.figures import fit_figures
from runner.stats.families import get
from runner.stats.families.censored import Censored, as_pairs
from runner.stats.turnbull import turnbull


def test_kaplan_meier_by_hand():
    # 1, 2, 2, 3+, 4, 5+: S(1) = 5/6, S(2) = 5/6 (1 - 2/5), S(4) = S(2) (1 - 1/2)
    pairs = np.array([[1, 1], [2, 2], [2, 2], [3, np.inf], [4, 4], [5, np.inf]], float)
    times, survival = kaplan_meier(pairs)
    np.testing.assert_array_equal(times, [1, 2, 4])
    np.testing.assert_allclose(survival, [5 / 6, 5 / 6 * 3 / 5, 5 / 6 * 3 / 5 / 2])


def test_kaplan_meier_is_the_turnbull_npmle_on_right_censored_data():
    pairs = np.array([[1, 1], [2, 2], [2, 2], [3, np.inf], [4, 4], [5, np.inf]], float)
    times, survival = kaplan_meier(pairs)
    lower, upper = turnbull(pairs).survival(times)
    np.testing.assert_allclose(lower, survival, atol=1e-12)
    np.testing.assert_array_equal(lower, upper)


@pytest.fixture
def seen(monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "SAVE_HOOK", lambda fig, path: figures.append((fig, path)))
    return figures


@pytest.mark.parametrize("kind", ["right", "interval"])
def test_a_censored_fit_draws_its_data_against_the_fit(tmp_path, seen, kind):
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
    assert "fitted weibull (MLE)" in labels
    nonparametric = "Kaplan-Meier" if kind == "right" else "Turnbull NPMLE"
    assert any(label.startswith(nonparametric) for label in labels)


def test_the_turnbull_npmle_is_drawn_only_where_it_is_determined(tmp_path, seen):
    # exact values, left-, right- and interval-censored ones: a line through the gaps
    # between Turnbull intervals, a box over each interval with mass
    rng = np.random.default_rng(2)
    t = stats.weibull_min.rvs(1.5, scale=2.0, size=300, random_state=rng)
    kind = rng.integers(0, 4, t.size)
    low = np.select([kind == 0, kind == 1, kind == 2], [t, -np.inf, np.floor(t)], np.floor(t))
    high = np.select([kind == 0, kind == 1, kind == 2], [t, np.ceil(t), np.inf],
                     np.floor(t) + 1)  # fmt: skip
    pairs = np.column_stack([low, high])
    family = Censored(get("weibull"))
    data = family.validate(pairs)
    f = fit(family.base, stats.CensoredData.interval_censored(low=low, high=high))
    truth = {"shape": 1.5, "scale": 2.0}
    censored_figure(family, data, f, tmp_path / "survival.png", truth)
    ax = seen[-1][0].axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert "truth" in lines and "fitted weibull (MLE)" in lines
    npmle_line = next(line for label, line in lines.items() if label.startswith("Turnbull"))
    assert npmle_line.get_label() == "Turnbull NPMLE (n = 300)"
    x, y = (np.asarray(v, float) for v in npmle_line.get_data())
    npmle = turnbull(pairs)
    middle = (x[:-1] + x[1:]) / 2
    lower, upper = npmle.cdf(middle)
    shown = np.isfinite(y[:-1])
    assert shown.any() and not shown.all()
    np.testing.assert_allclose(y[:-1][shown], lower[shown], atol=1e-12)  # where determined
    assert np.all(upper[~shown] - lower[~shown] > 1e-9)  # and nowhere else
    boxes = [c for c in ax.collections if c.get_label().startswith("NPMLE undetermined")]
    assert len(boxes) == 1
    assert ax.get_title() == "weibull: fitted cdf against the Turnbull NPMLE"

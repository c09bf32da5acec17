"""The four-panel diagnostic figure (runner.io.diagnostic_figure): a PNG with density,
cdf, Q-Q and P-P panels, labelled, for continuous and count fits; thinned point panels
for long data, said in the caption; the quantiles of a family scipy has no ppf for."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from runner import fit
from runner.io import diagnostic_figure as module
from runner.io import plots
from runner.io.diagnostic_figure import diagnostic_figure
from runner.stats import families
from runner.stats.gof import goodness_of_fit

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RNG = np.random.default_rng
TITLES = ["histogram and fitted density", "Q-Q plot", "empirical and fitted cdf", "P-P plot"]
COUNT_TITLES = ["observed frequencies and fitted masses", *TITLES[1:]]


@pytest.fixture
def saved(monkeypatch):
    """The figures as saved (their objects, not pixels)."""
    seen = []
    monkeypatch.setattr(plots, "SAVE_HOOK", lambda fig, path: seen.append(fig))
    return seen


@pytest.mark.parametrize("name, data, truth", [
    ("gamma", RNG(0).gamma(2.5, 1 / 1.5, 400), {"shape": 2.5, "rate": 1.5}),
    ("poisson", RNG(0).poisson(3.5, 400), {"lam": 3.5}),
])  # fmt: skip
def test_four_labelled_panels_with_the_fit_the_truth_and_the_statistics(
    name, data, truth, tmp_path, saved
):
    family = families.get(name)
    x = family.validate(data)
    f = fit(family, x)
    gof = goodness_of_fit(family, x, f.params, replicates=19)
    path = diagnostic_figure(family, x, f.params, tmp_path / "diagnostics.png", truth=truth,
                             gof=gof)  # fmt: skip
    assert path == tmp_path / "diagnostics.png" and path.read_bytes()[:8] == PNG_MAGIC
    (fig,) = saved
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == (COUNT_TITLES if family.discrete else TITLES)
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_legend() is not None
    labels = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in axes]
    assert any(label.startswith("fitted") for label in labels[0])
    assert any(label.startswith("true") for label in labels[0])  # the truth's curve
    assert "true cdf" in labels[2] and "fitted cdf" in labels[2]
    assert "1:1 line" in labels[1] and "1:1 line" in labels[3]
    caption = fig._supxlabel.get_text()
    assert ("chi-squared" if family.discrete else "KS") in caption and "p = " in caption


def test_a_long_sample_shows_evenly_spaced_order_statistics_and_says_so(
    tmp_path, saved, monkeypatch
):
    monkeypatch.setattr(module, "POINTS", 300)
    family = families.get("gaussian")
    x = RNG(1).normal(0.0, 1.0, 5000)
    f = fit(family, x)
    diagnostic_figure(family, x, f.params, tmp_path / "d.png")
    (fig,) = saved
    qq = fig.axes[1]
    shown = qq.get_lines()[0].get_ydata()
    assert shown.size == 300
    ordered = np.sort(x)
    assert shown[0] == ordered[0] and shown[-1] == ordered[-1]  # the extremes included
    np.testing.assert_array_equal(shown, ordered[np.linspace(0, 4999, 300).round().astype(int)])
    assert "300 of the 5,000 order statistics" in fig._supxlabel.get_text()


def test_the_fitted_quantiles_of_a_mixture_invert_its_cdf(tmp_path, saved):
    family = families.get("gaussian_mixture", k=2)
    x = np.concatenate([RNG(2).normal(-2.0, 0.8, 150), RNG(3).normal(2.0, 1.0, 150)])
    f = fit(family, x)
    assert diagnostic_figure(family, x, f.params, tmp_path / "d.png").is_file()
    p = np.array([0.01, 0.3, 0.5, 0.9])
    got = module._quantiles(family, f.params, p)
    for pi, q in zip(p, got, strict=True):
        root = optimize.brentq(lambda v, pi=pi: family.cdf(np.array([v]), f.params)[0] - pi,
                               -20, 20, xtol=1e-13)  # fmt: skip
        assert q == pytest.approx(root, abs=1e-9)


def test_data_it_cannot_draw_give_none(tmp_path):
    mvn = families.get("mvn")
    x = RNG(0).normal(size=(50, 2))
    assert diagnostic_figure(mvn, x, fit(mvn, x).params, tmp_path / "d.png") is None
    categorical = families.get("categorical", categories=[0, 1, 2])
    codes = RNG(0).integers(0, 3, 60)
    assert diagnostic_figure(categorical, codes, fit(categorical, codes).params,
                             tmp_path / "c.png") is None  # fmt: skip
    assert not list(tmp_path.iterdir())

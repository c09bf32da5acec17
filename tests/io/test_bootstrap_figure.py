"""``bootstrap.png``: one histogram panel per parameter, the estimate and interval marked
(checked on the saved figure's objects through ``plots.SAVE_HOOK``, not pixels)."""

from __future__ import annotations

import numpy as np

from runner.io import plots
from runner.io.bootstrap_figure import bootstrap_figure
from runner.stats import families
from runner.stats.bootstrap import bootstrap, flat_estimate, intervals
from runner.stats.estimate import fit_validated


def _drawn(monkeypatch):
    seen = {}
    monkeypatch.setattr(plots, "SAVE_HOOK", lambda fig, path: seen.__setitem__(path.name, fig))
    return seen


def test_each_parameter_gets_a_histogram_with_its_estimate_and_interval(tmp_path, monkeypatch):
    seen = _drawn(monkeypatch)
    family = families.get("gamma")
    x = family.validate(np.random.default_rng(0).gamma(2.0, 1.0, 300))
    fit = fit_validated(family, x)
    result = bootstrap(family, x, fit.params, "parametric", 200, seed=1)
    found = intervals(result, family, x, fit.params, "percentile")
    path = bootstrap_figure(result, flat_estimate(family, fit.params),
                            {k: v.bounds for k, v in found.items()}, tmp_path / "bootstrap.png",
                            "95% percentile interval")  # fmt: skip
    assert path.is_file() and path.stat().st_size > 0
    fig = seen["bootstrap.png"]
    assert len(fig.axes) == 2
    for ax, name in zip(fig.axes, ("shape", "rate"), strict=True):
        assert ax.get_title() == name
        assert ax.get_xlabel() == f"bootstrap estimate of {name}"
        assert ax.get_ylabel() == "replicates"
        assert len(ax.patches) > 5  # the histogram's bars (and the interval's band)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(label.startswith("200 bootstrap estimates") for label in labels)
        assert any(label.startswith(f"estimate {name} = ") for label in labels)
        assert any(label.startswith("95% percentile interval [") for label in labels)
        xs = {line.get_xdata()[0] for line in ax.get_lines() if len(line.get_xdata())}
        low, high = found[name].bounds
        assert {low, high, fit.params[name]} <= {float(v) for v in xs}
    assert "parametric bootstrap" in fig.get_suptitle()


def test_a_parameter_without_an_interval_says_so_and_failures_are_counted(tmp_path,
                                                                          monkeypatch):  # fmt: skip
    seen = _drawn(monkeypatch)
    family = families.get("gaussian")
    x = family.validate(np.array([0.0, 0.0, 0.0, 1.0]))
    theta = {"mu": 0.25, "sigma": float(np.sqrt(0.1875))}
    result = bootstrap(family, x, theta, "nonparametric", 100, seed=8)
    assert result.failed > 0
    bootstrap_figure(result, theta, {"mu": (0.0, 0.5), "sigma": None},
                     tmp_path / "bootstrap.png", "95% BCa interval")  # fmt: skip
    fig = seen["bootstrap.png"]
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
    assert any(f"{result.failed:,} without an MLE" in label for label in legends[0])
    assert "95% BCa interval: none (see the results for why)" in legends[1]
    assert f"{result.failed:,} without an MLE" in fig.get_suptitle()

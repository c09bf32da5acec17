"""Every figure kind, drawn on tiny data and read back through matplotlib's objects (not
pixels): valid PNGs of the expected names, labelled axes, the MLE, truth and MAP marked
where known, log scales where promised, likelihood-ratio contour levels, likelihood grids
that hold the whole 99% region, and no colliding tick labels on log axes.

``plots.SAVE_HOOK`` hands each saved figure to the test (the ``drawn`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from runner import fit
from runner.io import plots, report
from runner.io.figures import fit_figures
from runner.stats import families
from runner.stats.study import StudySpec, subsample_study, synthetic_study
from runner.stats.surface import LEVELS, likelihood_surface

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RNG = np.random.default_rng


def lr_levels(df: int) -> np.ndarray:
    """The log-likelihood drops (as negative numbers, ascending) that bound the 50, 90,
    95 and 99% likelihood-ratio confidence regions: computed here, independently."""
    return np.sort(-scipy_stats.chi2.ppf([0.50, 0.90, 0.95, 0.99], df) / 2)


@pytest.fixture
def drawn(monkeypatch) -> dict[str, object]:
    """Figures by file name, as each is saved."""
    figures: dict[str, object] = {}
    monkeypatch.setattr(plots, "SAVE_HOOK", lambda fig, path: figures.__setitem__(path.name, fig))
    return figures


# ---- reading figures --------------------------------------------------------------------


def main_axes(fig) -> list:
    """The plotting axes (colorbars aside)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None, f"no legend on {ax.get_title()!r}"
    return [t.get_text() for t in legend.get_texts()]


def lines_labelled(ax, word: str) -> list:
    return [line for line in ax.get_lines() if word in line.get_label()]


def bars_labelled(ax, word: str) -> list:
    return [c for c in ax.containers if word in c.get_label()]


def contour_sets(ax) -> list:
    from matplotlib.contour import ContourSet

    return [c for c in ax.collections if isinstance(c, ContourSet)]


def assert_labelled(fig) -> None:
    """Every plotting axis has an x and a y label; the figure or each axis a title."""
    for ax in main_axes(fig):
        assert ax.get_xlabel().strip(), f"no x label on {ax.get_title()!r}"
        assert ax.get_ylabel().strip(), f"no y label on {ax.get_title()!r}"
        assert ax.get_title() or (fig._suptitle and fig._suptitle.get_text())


def colliding_tick_labels(fig) -> list[tuple[str, str]]:
    """Pairs of tick labels (in view, on a log axis) whose boxes overlap once drawn, or
    that say the same number (too few digits to tell neighbours apart)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    found = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() != "log":
                continue
            low, high = sorted(axis.get_view_interval())
            labels = [
                tick.label1
                for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]
                if tick.get_loc() is not None
                and low <= tick.get_loc() <= high
                and tick.label1.get_visible()
                and tick.label1.get_text()
            ]
            texts = [t.get_text() for t in labels]
            found += [(a, a) for a in sorted(set(texts)) if texts.count(a) > 1]  # unreadable
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
            for i, (text_a, a) in enumerate(boxes):
                for text_b, b in boxes[i + 1 :]:
                    overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
                    overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
                    if overlap_x > 1 and overlap_y > 1:
                        found.append((text_a, text_b))
    return found


def check_written(written: list[Path], expected: list[str], drawn: dict) -> None:
    assert sorted(p.name for p in written) == sorted(expected)
    for path in written:
        assert path.read_bytes()[:8] == PNG_MAGIC, path
        fig = drawn[path.name]
        assert_labelled(fig)
        assert colliding_tick_labels(fig) == [], path.name


def fitted(name: str, x, **options):
    """A family, its validated data and a fit (options: family options, then fit's)."""
    family_options = {k: options.pop(k) for k in ("k", "categories", "trials") if k in options}
    fam = families.get(name, **family_options)
    f = fit(fam, x, **options)
    fam = fam.for_data(np.asarray(x)) if name == "categorical" else fam
    return fam, fam.validate(x), f


# ---- one fit: likelihood ----------------------------------------------------------------

GAMMA_8 = RNG(3).gamma(2.0, 1 / 1.5, 8)


def test_two_parameters_contours_at_likelihood_ratio_levels_truth_and_mle(tmp_path, drawn):
    fam, x, f = fitted("gamma", GAMMA_8, truth={"shape": 2.0, "rate": 1.5})
    written = fit_figures(fam, x, f, tmp_path)
    check_written(written, ["likelihood.png", "density.png"], drawn)
    (ax,) = main_axes(drawn["likelihood.png"])
    assert ax.get_xlabel().startswith("shape") and ax.get_ylabel().startswith("rate")
    assert "gamma" in ax.get_title() and "n = 8" in ax.get_title()

    lines = [c for c in contour_sets(ax) if not c.filled]
    filled = [c for c in contour_sets(ax) if c.filled]
    assert len(lines) == 1 and len(filled) == 1
    assert np.allclose(lines[0].levels, lr_levels(2), rtol=1e-9)
    # The shading changes exactly at the same levels (one band per region).
    assert np.allclose(filled[0].levels[1:-1], lr_levels(2), rtol=1e-9)
    assert sorted(t.get_text() for t in lines[0].labelTexts) == ["50%", "90%", "95%", "99%"]

    # Every region closes inside the plot: no level's contour runs into the frame (the
    # grid ends are the axis limits; labels cut gaps in the lines, so "closed" is not
    # asked of the segments). Distances in screen terms: fractions of the axes.
    to_axes = ax.transData + ax.transAxes.inverted()
    for level, segments in zip(lines[0].levels, lines[0].allsegs, strict=True):
        assert segments, f"no contour at {level}"
        points = to_axes.transform(np.concatenate(segments))
        assert (points > 0.02).all() and (points < 0.98).all(), f"{level} runs off the plot"
        # The labels' gaps are label-sized: each piece ends near where another begins.
        ends = [to_axes.transform(seg[[0, -1]]) for seg in segments]
        for _, end in ends:
            gap = min(np.hypot(*(end - start)) for start, _ in ends)
            assert gap < 0.1, f"a label cut {gap:.2f} of the axes out of the {level} contour"

    (mle,) = lines_labelled(ax, "MLE")
    (truth,) = lines_labelled(ax, "truth")
    assert mle.get_xydata()[0] == pytest.approx([f.params["shape"], f.params["rate"]])
    assert truth.get_xydata()[0] == pytest.approx([2.0, 1.5])
    assert any("truth" in t for t in legend_texts(ax))


def test_gamma_n8_grid_holds_the_whole_99_percent_region():
    fam, x, f = fitted("gamma", GAMMA_8)
    surface = likelihood_surface(fam, fam.reduce(x), f)
    rel = surface.relative
    outer = -lr_levels(2)[0]
    assert np.nanmax(rel) <= 1e-9 and np.nanmax(rel) > -0.05  # the top is the MLE's
    edges = np.concatenate([rel[0], rel[-1], rel[:, 0], rel[:, -1]])
    assert edges.max() < -outer  # the 99% region stays off the edges
    # ...and fills a fair part of the grid (not a dot in a sea of flat colour).
    assert 0.05 < (rel >= -outer).mean() < 0.8
    # The region's skew at n = 8: a positive axis spanning > 30x is drawn on a log scale.
    assert surface.log_axes == [True, True]


def test_one_parameter_curve_lr_levels_truth_and_mle(tmp_path, drawn):
    x = RNG(0).exponential(2.0, 40)
    fam, x, f = fitted("exponential", x, truth={"rate": 0.5})
    written = fit_figures(fam, x, f, tmp_path)
    check_written(written, ["likelihood.png", "density.png"], drawn)
    (ax,) = main_axes(drawn["likelihood.png"])
    assert ax.get_xlabel() == "rate"
    heights = sorted(
        line.get_ydata()[0]
        for line in ax.get_lines()
        if len(set(np.asarray(line.get_ydata(), dtype=float))) == 1 and line.get_label()[0] == "_"
    )
    assert np.allclose(heights, lr_levels(1), rtol=1e-9)
    (mle,) = lines_labelled(ax, "MLE")
    (truth,) = lines_labelled(ax, "truth")
    assert mle.get_xdata()[0] == pytest.approx(f.params["rate"])
    assert truth.get_xdata()[0] == pytest.approx(0.5)
    # The curve spans the 99% interval with room on both sides.
    (curve,) = [line for line in ax.get_lines() if line.get_label() == "log-likelihood"]
    y = np.asarray(curve.get_ydata())
    assert y[0] < lr_levels(1)[0] and y[-1] < lr_levels(1)[0]
    assert np.max(y) == pytest.approx(0.0, abs=1e-3)


# ---- one fit: density and probability masses -------------------------------------------


@pytest.fixture
def plane_crashes(tmp_path, drawn):
    """0 collisions in 1000 flights, MAP under Beta(2, 2) beside the MLE, truth 1e-4."""
    fam, x, f = fitted("bernoulli", np.zeros(1000, dtype=int), estimator="map",
                       prior={"a": 2, "b": 2}, truth={"p": 1e-4})  # fmt: skip
    return fit_figures(fam, x, f, tmp_path), f


def test_bernoulli_zero_successes_shows_both_outcomes_the_map_and_a_log_axis(plane_crashes, drawn):
    written, f = plane_crashes
    check_written(written, ["likelihood.png", "density.png"], drawn)
    (ax,) = main_axes(drawn["density.png"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1"]
    assert ax.get_yscale() == "log" and "log" in ax.get_ylabel()
    p_map = f.estimate("p").map
    assert p_map == pytest.approx(1 / 1002)
    (data,) = bars_labelled(ax, "data")
    (mle,) = bars_labelled(ax, "MLE")
    (map_,) = bars_labelled(ax, "MAP")
    (truth,) = bars_labelled(ax, "true")
    heights = {name: [b.get_height() for b in c] for name, c in
               (("data", data), ("mle", mle), ("map", map_), ("truth", truth))}  # fmt: skip
    assert heights["data"] == pytest.approx([1.0, 0.0])
    assert heights["mle"] == pytest.approx([1.0, 0.0])
    assert heights["map"] == pytest.approx([1 - p_map, p_map])
    assert heights["truth"] == pytest.approx([1 - 1e-4, 1e-4])
    # The masses of 1e-4 and 1e-3 are inside the log axis, not under it.
    assert ax.get_ylim()[0] < 1e-4
    # A mass of exactly 0 is written as "0" at the bar's foot (the data's and the MLE's).
    assert [t.get_text() for t in ax.texts].count("0") == 2


def test_bernoulli_boundary_likelihood_marks_mle_truth_and_map(plane_crashes, drawn):
    (ax,) = main_axes(drawn["likelihood.png"])
    assert ax.get_xlabel() == "p"
    assert lines_labelled(ax, "MLE")[0].get_xdata()[0] == 0.0
    assert lines_labelled(ax, "truth")[0].get_xdata()[0] == pytest.approx(1e-4)
    assert lines_labelled(ax, "MAP")[0].get_xdata()[0] == pytest.approx(1 / 1002)
    texts = legend_texts(ax)
    assert any("MLE" in t for t in texts) and any("MAP" in t for t in texts)
    # The grid runs from the boundary to past the 99% interval's end, 1 - exp(-3.32/1000).
    (curve,) = [line for line in ax.get_lines() if line.get_label() == "log-likelihood"]
    p = np.asarray(curve.get_xdata())
    end = -np.expm1(lr_levels(1)[0] / 1000)
    assert p[0] == 0.0 and end < p[-1] < 2 * end


def test_count_family_shows_data_beside_fitted_and_true_masses(tmp_path, drawn):
    x = RNG(0).poisson(3.5, 60)
    fam, x, f = fitted("poisson", x, truth={"lam": 3.5})
    written = fit_figures(fam, x, f, tmp_path)
    check_written(written, ["likelihood.png", "density.png"], drawn)
    (ax,) = main_axes(drawn["density.png"])
    (data,) = bars_labelled(ax, "data")
    (mle,) = bars_labelled(ax, "MLE")
    (truth,) = bars_labelled(ax, "true")
    support = np.array([int(t.get_text()) for t in ax.get_xticklabels()])
    assert len(support) == len(data)
    heights = np.array([b.get_height() for b in data])
    assert heights.sum() == pytest.approx(1.0)  # every observed count is shown
    assert support[0] == 0 and support[-1] >= x.max()
    # The fitted pmf is there out to its 99.9% quantile.
    assert support[-1] >= scipy_stats.poisson(f.params["lam"]).ppf(0.999)
    fitted_heights = np.array([b.get_height() for b in mle])
    assert fitted_heights == pytest.approx(scipy_stats.poisson(f.params["lam"]).pmf(support))
    assert len(truth) == len(data)


def test_categorical_with_an_unseen_category_and_the_map(tmp_path, drawn):
    x = ["a"] * 30 + ["b"] * 10
    fam, codes, f = fitted("categorical", x, categories=["a", "b", "c"], estimator="map",
                           prior={"alpha": 2})  # fmt: skip
    written = fit_figures(fam, codes, f, tmp_path)
    check_written(written, ["density.png"], drawn)  # p is a vector: no likelihood plot
    (ax,) = main_axes(drawn["density.png"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "category"
    (map_,) = bars_labelled(ax, "MAP")
    assert [b.get_height() for b in map_] == pytest.approx(list(f.posterior.map["p"]))
    assert [b.get_height() for b in map_][2] > 0  # the MAP's mass on the unseen "c"


def test_continuous_density_with_truth_and_map(tmp_path, drawn):
    x = RNG(0).normal(5.0, 2.0, 15)
    fam, x, f = fitted("gaussian", x, truth={"mu": 5.0, "sigma": 2.0}, estimator="map")
    written = fit_figures(fam, x, f, tmp_path)
    check_written(written, ["likelihood.png", "density.png"], drawn)
    (ax,) = main_axes(drawn["density.png"])
    assert ax.get_ylabel() == "probability density"
    (truth,) = lines_labelled(ax, "true density")
    grid = np.asarray(truth.get_xdata())
    assert truth.get_ydata() == pytest.approx(scipy_stats.norm(5.0, 2.0).pdf(grid))
    assert lines_labelled(ax, "MLE") and lines_labelled(ax, "MAP")
    assert "gaussian" in ax.get_title() and "n = 15" in ax.get_title()
    (lik,) = main_axes(drawn["likelihood.png"])
    assert [line.get_label().split()[0] for line in lik.get_lines() if
            line.get_label()[0] != "_"] == ["MLE", "truth", "MAP"]  # fmt: skip


def test_mixture_gets_a_density_and_mvn_no_figures(tmp_path, drawn):
    x = np.concatenate([RNG(0).normal(-2.0, 0.8, 40), RNG(1).normal(3.0, 1.0, 60)])
    fam, x, f = fitted("gaussian_mixture", x, k=2)
    check_written(fit_figures(fam, x, f, tmp_path), ["density.png"], drawn)
    (ax,) = main_axes(drawn["density.png"])
    assert lines_labelled(ax, "MLE")
    mvn = families.get("mvn")
    y = RNG(0).normal(size=(30, 2))
    mvn = mvn.for_data(y)
    assert fit_figures(mvn, mvn.validate(y), fit(mvn, y), tmp_path / "mvn") == []


# ---- convergence studies ----------------------------------------------------------------


@pytest.fixture
def study(tmp_path, drawn):
    """A tiny study (sizes less than a decade apart: the log axes' awkward case) drawn
    as ``study_job.save_study`` draws it. With seed 0 the path's first estimates are wild
    (shape 26 and rate 46 from two values, against 2 and 1.5), as in the review."""
    fam = families.get("gamma")
    result = synthetic_study(fam, {"shape": 2.0, "rate": 1.5},
                             StudySpec(sizes=[20, 40, 80], replicates=40, seed=0),
                             progress=False)  # fmt: skip
    written = [
        plots.rmse_plot(result.summary, result.slopes, tmp_path / "convergence_rmse.png",
                        "gamma: RMSE against n"),
        plots.estimates_plot(result.summary, tmp_path / "convergence_estimates.png",
                             "gamma: estimates against n", "truth"),
        plots.stream_plot(result.stream, tmp_path / "stream.png",
                          "gamma: running estimate along one sample", "truth"),
    ]  # fmt: skip
    return result, written


def test_study_figures_are_valid_and_labelled(study, drawn):
    _, written = study
    check_written(written, ["convergence_rmse.png", "convergence_estimates.png", "stream.png"],
                  drawn)  # fmt: skip
    for name in ("convergence_rmse.png", "convergence_estimates.png", "stream.png"):
        fig = drawn[name]
        assert "gamma" in fig._suptitle.get_text()
        assert sorted(ax.get_title() for ax in main_axes(fig)) == ["rate", "shape"]


def test_rmse_has_crlb_on_its_scale_and_an_inverse_root_n_line_through_the_data(study, drawn):
    result, _ = study
    for ax in main_axes(drawn["convergence_rmse.png"]):
        name = ax.get_title()
        rows = result.summary[(result.summary["parameter"] == name)
                              & (result.summary["estimator"] == "mle")]  # fmt: skip
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert name in ax.get_ylabel()
        (crlb,) = lines_labelled(ax, "CRLB")
        assert crlb.get_ydata() == pytest.approx(np.sqrt(rows["crlb"].to_numpy()))
        (reference,) = lines_labelled(ax, "n^-1/2")
        n, y = (np.asarray(v, dtype=float) for v in reference.get_data())
        slope = np.polyfit(np.log(n), np.log(y), 1)[0]
        assert slope == pytest.approx(-0.5)
        # Through the data: the geometric mean of RMSE sqrt(n) over the sizes is on it.
        through = np.exp(np.mean(np.log(rows["rmse"]) + 0.5 * np.log(rows["size"])))
        assert y * np.sqrt(n) == pytest.approx(through)
        assert n.min() == rows["size"].min() and n.max() == rows["size"].max()


def test_estimates_have_a_y_label_and_the_truth(study, drawn):
    for ax in main_axes(drawn["convergence_estimates.png"]):
        name = ax.get_title()
        assert ax.get_ylabel() == f"estimate of {name}"
        assert ax.get_xscale() == "log"
        (truth,) = lines_labelled(ax, "truth")
        assert truth.get_ydata()[0] == {"shape": 2.0, "rate": 1.5}[name]


def test_stream_is_on_a_log_k_axis_with_the_truth(study, drawn):
    result, _ = study
    for ax in main_axes(drawn["stream.png"]):
        name = ax.get_title()
        assert ax.get_xscale() == "log"
        assert ax.get_xlabel().startswith("k") and name in ax.get_ylabel()
        (truth,) = lines_labelled(ax, "truth")
        assert truth.get_ydata()[0] == {"shape": 2.0, "rate": 1.5}[name]
        (path,) = lines_labelled(ax, "MLE")
        rows = result.stream[result.stream["parameter"] == name]
        assert path.get_xdata()[0] == 2 and path.get_xdata()[-1] == rows["k"].max()
        # The y range is set by the settled path and the truth, not by k = 2.
        low, high = ax.get_ylim()
        late = [*rows[rows["k"] >= 10]["estimate"], truth.get_ydata()[0]]
        assert low <= min(late) and high >= max(late)
        assert high - low <= 1.2 * (max(late) - min(late))
        assert rows["estimate"].iloc[0] > 10 * high  # k = 2: off the range, and said so
        assert any("off the y range: k <=" in t for t in legend_texts(ax))


def test_subsample_study_names_its_reference(tmp_path, drawn):
    fam = families.get("poisson")
    x = fam.validate(RNG(0).poisson(4.0, 400))
    result = subsample_study(fam, x, StudySpec(sizes=[10, 100], replicates=30), progress=False)
    plots.estimates_plot(result.summary, tmp_path / "e.png", "poisson", "full-data estimate")
    (ax,) = main_axes(drawn["e.png"])
    assert lines_labelled(ax, "full-data estimate")


def test_map_study_draws_both_estimators(tmp_path, drawn):
    fam = families.get("poisson")
    result = synthetic_study(fam, {"lam": 4.0}, StudySpec(sizes=[10, 100, 1000], replicates=30,
                             estimator="map", prior={"a": 2, "b": 1}), progress=False)  # fmt: skip
    plots.rmse_plot(result.summary, result.slopes, tmp_path / "r.png", "poisson")
    (ax,) = main_axes(drawn["r.png"])
    assert lines_labelled(ax, "RMSE (MLE)") and lines_labelled(ax, "RMSE (MAP)")
    assert colliding_tick_labels(drawn["r.png"]) == []


def test_log_axes_over_a_narrow_span_get_a_few_distinct_ticks(tmp_path, drawn):
    """Sizes 100..140: the log axes span a factor of 1.4, where matplotlib labels minor
    ticks; the figure gets several plain ticks instead, each a different number."""
    fam = families.get("poisson")
    result = synthetic_study(fam, {"lam": 4.0}, StudySpec(sizes=[100, 120, 140],
                             replicates=30), progress=False)  # fmt: skip
    plots.rmse_plot(result.summary, result.slopes, tmp_path / "r.png", "poisson")
    fig = drawn["r.png"]
    assert colliding_tick_labels(fig) == []
    (ax,) = main_axes(fig)
    for axis in (ax.xaxis, ax.yaxis):
        low, high = sorted(axis.get_view_interval())
        shown = [t for t in axis.get_majorticklocs() if low <= t <= high]
        assert len(shown) >= 3, shown


# ---- sweep report -----------------------------------------------------------------------


def sweep_folder(root: Path) -> Path:
    """A multirun folder as Hydra leaves it: jobs 0..N-1 with their overrides, status and
    results (errors shrinking like n^-1/2); two models whose parameters differ in scale
    by 10^4 (bernoulli p = 1e-3, gaussian mu = 50), three seeds per n."""
    rng = np.random.default_rng(1)
    truths = {"gaussian": {"mu": 50.0, "sigma": 2.0}, "bernoulli": {"p": 1e-3}}
    job = 0
    for model, truth in truths.items():
        for n in (10, 100, 1000):
            for seed in range(3):
                folder = root / str(job)
                (folder / ".hydra").mkdir(parents=True)
                (folder / ".hydra" / "overrides.yaml").write_text(
                    f"- model={model}\n- n={n}\n- seed={seed}\n"
                )
                (folder / "status.json").write_text(json.dumps({"status": "FINISHED"}))
                params = {k: {"estimate": v + rng.normal(0, v / np.sqrt(n)), "truth": v}
                          for k, v in truth.items()}  # fmt: skip
                record = {"model": model, "n": n, "loglik": -1.0, "k": len(params),
                          "params": params, "data": {"sha1": str(job)}}  # fmt: skip
                (folder / "results.json").write_text(json.dumps(record))
                job += 1
    return root


def test_report_error_one_panel_per_parameter_mean_over_jobs_and_reference(tmp_path, drawn):
    folder = sweep_folder(tmp_path / "multirun")
    frame = report.from_folder(folder)
    written = report.write(frame, tmp_path / "out", "sweep")
    plot = tmp_path / "out" / "report_error.png"
    assert plot in written and plot.read_bytes()[:8] == PNG_MAGIC
    fig = drawn["report_error.png"]
    assert_labelled(fig)
    assert colliding_tick_labels(fig) == []
    assert "mean" in fig._suptitle.get_text()
    panels = {ax.get_title(): ax for ax in main_axes(fig)}
    assert sorted(panels) == ["bernoulli: p", "gaussian: mu", "gaussian: sigma"]
    table = report.tidy(frame)
    for title, ax in panels.items():
        model, name = title.split(": ")
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert name in ax.get_ylabel()
        (mean,) = lines_labelled(ax, "mean over 3 jobs per n")
        rows = table[table["model"] == model]
        expected = rows[f"error.{name}"].abs().groupby(rows["n"]).mean()
        assert list(mean.get_xdata()) == [10, 100, 1000]
        assert mean.get_ydata() == pytest.approx(expected.to_numpy())
        (reference,) = lines_labelled(ax, "n^-1/2")
        n, y = (np.asarray(v, dtype=float) for v in reference.get_data())
        assert np.polyfit(np.log(n), np.log(y), 1)[0] == pytest.approx(-0.5)


def test_report_error_keeps_other_swept_settings_apart(tmp_path, drawn):
    folder = sweep_folder(tmp_path / "multirun")
    frame = report.from_folder(folder)
    frame = frame[frame["model"] == "gaussian"].copy()
    frame["override.estimator"] = ["mle", "map"] * (len(frame) // 2) + ["mle"] * (len(frame) % 2)
    report.write(frame, tmp_path / "out", "sweep")
    ax = main_axes(drawn["report_error.png"])[0]
    labels = [line.get_label() for line in ax.get_lines() if "mean over" in line.get_label()]
    assert len(labels) == 2 and all("estimator=" in label for label in labels)


def test_report_error_needs_two_sizes(tmp_path, drawn):
    frame = pd.DataFrame({"job": [0, 1], "model": ["gaussian"] * 2, "status": ["FINISHED"] * 2,
                          "n": [10, 10], "error.mu": [0.1, -0.2]})  # fmt: skip
    assert report._error_plot(frame, tmp_path / "report_error.png") is None
    assert "report_error.png" not in drawn


# ---- the levels themselves ----------------------------------------------------------------


def test_levels_are_the_promised_confidence_levels():
    assert LEVELS == (0.50, 0.90, 0.95, 0.99)


# ---- every family of the catalogue ------------------------------------------------------

CONF = Path(__file__).resolve().parents[2] / "conf" / "model"
MODELS = sorted(p.stem for p in CONF.glob("*.yaml") if p.stem != "mvn")


@pytest.mark.parametrize("size", [8, 300])
@pytest.mark.parametrize("name", MODELS)
def test_every_family_draws_labelled_figures_with_the_truth(name, size, tmp_path, drawn):
    """Data drawn from each model's configured truth; the MAP too where a prior is
    configured (small n only, where the two differ)."""
    import yaml

    config = yaml.safe_load((CONF / f"{name}.yaml").read_text())
    keys = ("k", "trials", "dist", "logpdf", "params", "sampler")
    options = {k: config[k] for k in keys if config.get(k) is not None}
    fam = families.get(name, **options)
    given = config["truth"] or fam.default_truth()  # model=scipy: scipy's example values
    fam = fam.for_truth(given)
    truth = fam.check_theta(given)
    x = fam.sample(truth, size, np.random.default_rng(size))
    bayes = {"estimator": "map", "prior": config["prior"]} if "prior" in config else {}
    # 8 student_t draws seldom have an MLE of df: held, as a user would (model.fixed).
    held = {"df": truth["df"]} if name == "student_t" and size == 8 else None
    f = fit(fam, x, truth=truth, fixed=held, **(bayes if size == 8 else {}))
    written = fit_figures(fam, fam.validate(x), f, tmp_path)
    free = [p for p in fam.params if p.name not in (held or {})]
    scalar = not any(p.is_vector for p in free)
    expected = ["density.png"] + ["likelihood.png"] * (scalar and len(free) <= 2)
    check_written(written, expected, drawn)
    (density,) = main_axes(drawn["density.png"])
    texts = legend_texts(density)
    assert any(t.startswith(("true pmf", "true density")) for t in texts), texts
    assert any("MLE" in t for t in texts) and any("MAP" in t for t in texts) == bool(f.posterior)
    if "likelihood.png" in drawn:
        (ax,) = main_axes(drawn["likelihood.png"])
        labels = [line.get_label() for line in ax.get_lines()]
        assert any(label.startswith("MLE") for label in labels)
        assert any(label.startswith("truth") for label in labels)
        lines = [c for c in contour_sets(ax) if not c.filled]
        if lines:  # two parameters: every level drawn; a region off the plot is said open
            assert np.allclose(lines[0].levels, lr_levels(2), rtol=1e-9)
            assert all(len(segments) for segments in lines[0].allsegs)
            to_axes = ax.transData + ax.transAxes.inverted()
            points = to_axes.transform(np.concatenate(lines[0].allsegs[0]))
            off = (points < 0.01).any() or (points > 0.99).any()
            assert off == any("region open" in t for t in legend_texts(ax)), name

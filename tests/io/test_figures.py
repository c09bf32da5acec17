"""Figures for one fit (runner.io.figures): valid PNGs of the density and the likelihood,
for every family that can be drawn."""

from __future__ import annotations

import numpy as np
import pytest

from runner import fit
from runner.io.figures import fit_figures
from runner.stats import families

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


RNG = np.random.default_rng
PLOT_SAMPLES = {
    "poisson": lambda: RNG(0).poisson(3.5, 500).astype(float),
    "gamma": lambda: RNG(0).gamma(2.5, 1 / 1.5, 500),
    "geometric": lambda: RNG(0).geometric(0.3, 500).astype(float),
    "laplace": lambda: RNG(0).laplace(1.0, 2.0, 500),
    "uniform": lambda: RNG(0).uniform(-1.0, 3.0, 500),
    "negative_binomial": lambda: RNG(0).negative_binomial(3.0, 0.4, 500).astype(float),
    "student_t": lambda: 2.0 + 1.5 * RNG(0).standard_t(5.0, 500),
    "gaussian_mixture": lambda: np.concatenate(
        [RNG(0).normal(-2.0, 0.8, 150), RNG(1).normal(3.0, 1.2, 350)]
    ),
}


# 1 or 2 free scalar parameters: a likelihood curve or contour map; 3 (student_t) or
# vector parameters (the mixture): none. Every 1-D fit gets its density plot.
HAS_LIKELIHOOD_PLOT = {"student_t": False, "gaussian_mixture": False}


@pytest.mark.parametrize("name", sorted(PLOT_SAMPLES))
def test_fit_figures_write_valid_pngs(name, tmp_path):
    options = {"k": 2} if name == "gaussian_mixture" else {}
    fam = families.get(name, **options)
    data = fam.validate(PLOT_SAMPLES[name]())
    expect_likelihood = HAS_LIKELIHOOD_PLOT.get(name, True)
    f = fit(fam, data)
    written = fit_figures(fam, data, f, tmp_path)
    names = sorted(p.name for p in written)
    expected = ["density.png", "likelihood.png"] if expect_likelihood else ["density.png"]
    assert names == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    for path in written:
        assert path.read_bytes()[:8] == PNG_MAGIC


def test_fit_figures_for_student_t_with_df_held_draw_the_likelihood_of_the_other_two(
    tmp_path,
):
    x = PLOT_SAMPLES["student_t"]()
    fam = families.get("student_t")
    f = fit(fam, x, fixed={"df": 5.0})  # two free parameters left: a contour map
    names = sorted(p.name for p in fit_figures(fam, x, f, tmp_path))
    assert names == ["density.png", "likelihood.png"]


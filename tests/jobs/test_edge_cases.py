"""Edge cases found in review: each asserts what a user should get instead of a traceback,
a silently different model, or a misleading number."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import compose_config

from runner import ConfigError, DataError, fit
from runner.io.data import npy
from runner.jobs.config import to_spec
from runner.jobs.launch import run
from runner.stats import families
from runner.stats.study import StudySpec, synthetic_study


def compose_cfg(*overrides: str):
    return compose_config(*overrides, "tracking=none")


def test_mixture_k_disagreeing_with_the_truth_is_refused_not_silently_changed():
    fam = families.get("gaussian_mixture", k=3)
    truth = {"weight": [0.4, 0.6], "mu": [-2.0, 2.0], "sigma": [1.0, 0.7]}
    with pytest.raises(ConfigError, match=r"model\.k = 3 but model\.truth has 2"):
        fam.for_truth(truth)


def test_mixture_k_is_honoured_on_real_data():
    x = np.concatenate([np.random.default_rng(s).normal(m, 0.5, 300)
                        for s, m in enumerate((-4.0, 0.0, 4.0))])  # fmt: skip
    f = fit("gaussian_mixture", x, k=3)
    assert len(f.params["weight"]) == 3


def test_two_column_data_for_a_univariate_family_is_a_clear_data_error():
    with pytest.raises(DataError, match=r"shape \(10, 2\).*univariate"):
        fit("gaussian", np.ones((10, 2)))


def test_npy_with_dropna_drops_missing_values_and_says_how_many(tmp_path):
    values = np.array([1.0, np.nan, 2.0, 3.0, np.nan])
    np.save(tmp_path / "x.npy", values)
    sample = npy(tmp_path / "x.npy", dropna=True)
    assert sample.dropped == 2
    np.testing.assert_array_equal(sample.values, [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="element 1"):
        sample = npy(tmp_path / "x.npy")
        sample.validated_by(families.get("gaussian"))


def test_too_few_observations_counts_scalar_parameters():
    with pytest.raises(DataError, match="mvn has 5 free parameters"):
        fit("mvn", np.array([[1.0, 2.0]]))


def test_study_refuses_fixed_parameters(tmp_path):
    cfg = compose_cfg("study=convergence", "+model.fixed.sigma=1.0", "study.sizes=[10,100]",
                      "study.replicates=20")  # fmt: skip
    with pytest.raises(ConfigError, match=r"model\.fixed"):
        run(to_spec(cfg), tmp_path / "run", "name", echo=lambda *_: None)


def test_study_coverage_is_nan_where_no_replicate_has_an_interval():
    # The uniform MLE sits on the edge of what the data allow: no Wald interval exists,
    # so coverage is undefined (NaN), not 0%.
    fam = families.get("uniform")
    result = synthetic_study(fam, {"low": 0.0, "high": 1.0},
                             StudySpec([20, 200], replicates=50, stream=False),
                             progress=False)  # fmt: skip
    assert result.summary["coverage"].isna().all()
    assert (result.summary["no_interval"] == 1).all()


def test_weibull_with_the_scale_held_at_constant_data_is_refused():
    # x = scale for every value: the likelihood grows without bound as the shape grows.
    with pytest.raises(DataError, match="shape runs off to infinity"):
        fit("weibull", [2.0] * 5, fixed={"scale": 2.0})
    assert fit("weibull", [2.0] * 5, fixed={"scale": 3.0}).converged  # a finite maximum


def test_report_on_a_missing_sqlite_store_says_so_and_creates_nothing(tmp_path, capsys):
    from runner.report import main

    store = tmp_path / "typo.db"
    with pytest.raises(SystemExit, match="no MLflow store"):
        main(["--experiment", "x", "--tracking-uri", f"sqlite:///{store}"])
    assert not store.exists()

"""The convergence study as a job: through the config (subsampled CSV data), end to end in
MLflow (files, step metrics with step = n), and on the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import run_python

import runner
import runner.stats.study


@pytest.fixture(scope="module")
def weibull_data():
    return 2.0 * np.random.default_rng(21).weibull(1.5, 500)  # shape 1.5, scale 2


def test_subsample_job_records_the_sizes_it_studied(in_tmp, weibull_data):
    # Through the config (data=csv): a size >= N is dropped, so the record, the console
    # header and the "largest size" block describe the sizes actually studied.
    from runner.jobs.config import to_spec
    from runner.jobs.launch import run

    (in_tmp / "w.csv").write_text("x\n" + "\n".join(map(str, weibull_data[:400].tolist())) + "\n")
    cfg = compose_cfg("study=convergence", "model=weibull", "data=csv", "data.path=w.csv",
                      "study.sizes=[20,50,100,1000]", "study.replicates=50",
                      "tracking=none", "plots=false")  # fmt: skip
    printed: list[str] = []
    outcome = run(to_spec(cfg), in_tmp / "run", "subsample", echo=printed.append)
    assert outcome.study.population == 400
    assert sorted(outcome.study.summary["size"].unique()) == [20, 50, 100]
    record = json.loads((in_tmp / "run" / "study.json").read_text())
    assert record["mode"] == "subsample" and record["population"] == 400
    assert record["truth"] == pytest.approx(runner.fit("weibull", weibull_data[:400]).params,
                                            rel=1e-9)  # fmt: skip
    assert record["sizes"] == [20, 50, 100]
    assert [r["size"] for r in record["largest_size"]] == [100, 100]
    assert "n = 20 .. 100 " in printed[0]


def compose_cfg(*overrides: str):
    from helpers import compose_config

    return compose_config(*overrides)


def test_convergence_job_end_to_end_with_mlflow(in_tmp):
    from mlflow.tracking import MlflowClient

    from runner.jobs.config import to_spec
    from runner.jobs.launch import run

    uri = f"sqlite:///{in_tmp / 'mlflow.db'}"
    cfg = compose_cfg("study=convergence", "model=poisson", "study.sizes=[10,100,1000]",
                      "study.replicates=200", f"tracking.uri={uri}")  # fmt: skip
    assert cfg.tracking.enabled
    printed: list[str] = []
    run_dir = in_tmp / "run"
    outcome = run(to_spec(cfg), run_dir, "poisson convergence", echo=printed.append)

    assert outcome.tracking_error is None
    assert outcome.tracked_at and outcome.fit is None
    assert outcome.results_path == run_dir / "study.json"
    text = "\n".join(printed)
    assert "RMSE slope" in text and "lam" in text

    for file in ("convergence.csv", "convergence_summary.csv", "stream.csv", "study.json",
                 "convergence_rmse.png", "convergence_estimates.png", "stream.png"):  # fmt: skip
        assert (run_dir / file).is_file(), file
    draws = pd.read_csv(run_dir / "convergence.csv")
    assert list(draws.columns) == ["size", "replicate", "estimator", "parameter", "estimate",
                                   "truth", "se", "covered"]  # fmt: skip
    assert len(draws) == 3 * 200
    assert sorted(draws["size"].unique()) == [10, 100, 1000]
    summary = pd.read_csv(run_dir / "convergence_summary.csv")
    assert sorted(summary["size"]) == [10, 100, 1000]
    stream = pd.read_csv(run_dir / "stream.csv")
    assert list(stream.columns) == ["k", "parameter", "estimate", "truth"]
    assert stream["k"].max() == 1000 and (stream["truth"] == 4.0).all()
    record = json.loads((run_dir / "study.json").read_text())
    assert record["model"] == "poisson" and record["mode"] == "synthetic"
    assert record["sizes"] == [10, 100, 1000] and record["replicates"] == 200
    assert record["truth"] == {"lam": 4.0}
    slope = record["slopes"][0]["slope"]
    # 200 replicates: each log RMSE has MCSE 0.5 * sqrt(2 / 200) = 0.05; over ln n 2.3 ..
    # 6.9 (sum of squared deviations 10.6) the slope has MCSE 0.015; 0.06 is 4 of them.
    assert slope == pytest.approx(-0.5, abs=0.06)

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(cfg.tracking.experiment)
    found = client.search_runs([experiment.experiment_id])
    assert len(found) == 1
    logged = found[0]
    assert logged.info.status == "FINISHED"
    assert logged.info.run_name == "poisson convergence"
    assert logged.data.tags["study"] == "convergence"
    assert logged.data.params["study.name"] == "convergence"
    history = client.get_metric_history(logged.info.run_id, "rmse/lam")
    assert sorted(m.step for m in history) == [10, 100, 1000]
    by_size = summary.set_index("size")["rmse"]
    for m in history:
        assert m.value == pytest.approx(by_size[m.step], rel=1e-9)
    coverage = client.get_metric_history(logged.info.run_id, "coverage/lam")
    assert sorted(m.step for m in coverage) == [10, 100, 1000]
    assert logged.data.metrics["slope.lam"] == pytest.approx(slope, rel=1e-9)
    artifacts = {f.path for f in client.list_artifacts(logged.info.run_id)}
    assert {"convergence_summary.csv", "convergence.csv", "study.json",
            "convergence_rmse.png"} <= artifacts  # fmt: skip


def test_cli_convergence_study(tmp_path):
    args = ["study=convergence", "model=gamma", "study.sizes=[20,200]", "study.replicates=100",
            "tracking=none", "plots=false"]  # fmt: skip
    proc = run_python(["-m", "runner", *args], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "RMSE slope" in proc.stdout
    assert "shape (MLE)" in proc.stdout and "rate (MLE)" in proc.stdout
    saved = list((tmp_path / "outputs" / "runs").glob("**/convergence_summary.csv"))
    assert len(saved) == 1
    assert not list(saved[0].parent.glob("*.png"))  # plots=false
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # tracking=none


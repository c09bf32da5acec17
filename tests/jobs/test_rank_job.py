"""``python -m runner.rank`` as a newcomer runs it: a CSV in, ranking.csv, ranking.json and
rank.png out, one MLflow run that says which family won; a wrong candidate is one line."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.helpers import run_python

CANDIDATES = "study.candidates=[gamma,weibull_min,lognorm,norm,expon]"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    x = stats.gamma.rvs(5.0, scale=2.0, size=2000, random_state=9)
    cases = {
        "csv": ["-m", "runner.rank", "data=csv", "data.path=life.csv", "data.column=hours",
                CANDIDATES],
        "synthetic_no_tracking": ["-m", "runner", "study=rank", "model=scipy",
                                  "model.dist=gumbel_r", "n=600", "tracking=none",
                                  "study.candidates=[gumbel_r,norm,logistic]"],
        "bad_name": ["-m", "runner.rank", "data=csv", "data.path=life.csv",
                     "data.column=hours", "study.candidates=[gamma,weibul]", "tracking=none"],
    }  # fmt: skip
    folders = {}
    for name in cases:
        folder = tmp_path_factory.mktemp(name)
        pd.DataFrame({"hours": x}).to_csv(folder / "life.csv", index=False)
        folders[name] = folder
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {n: pool.submit(run_python, a, folders[n]) for n, a in cases.items()}
        return {n: (folders[n], f.result()) for n, f in futures.items()}


def _run_folder(cwd: Path) -> Path:
    (folder,) = [p.parent for p in cwd.glob("outputs/runs/*/*/ranking.csv")]
    return folder


def test_a_csv_is_ranked_and_the_drawing_family_wins(runs):
    cwd, proc = runs["csv"]
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    folder = _run_folder(cwd)
    assert folder.name.endswith("_rank")
    table = pd.read_csv(folder / "ranking.csv")
    assert list(table.columns[:11]) == ["rank", "dist", "k", "loglik", "aic", "aicc", "bic",
                                        "delta_aic", "akaike_weight", "ks", "ad"]  # fmt: skip
    assert table["dist"].iloc[0] == "gamma"
    assert table["rank"].tolist() == [1, 2, 3, 4, 5]
    assert table["akaike_weight"].sum() == pytest.approx(1.0)
    record = json.loads((folder / "ranking.json").read_text())
    assert record["best"] == "gamma" and record["n"] == 2000
    assert (folder / "rank.png").is_file()  # plots=auto, tracked
    assert json.loads((folder / "status.json").read_text())["status"] == "FINISHED"
    assert "best: gamma" in proc.stdout


def test_one_mlflow_run_says_which_family_won(runs):
    from mlflow.tracking import MlflowClient

    cwd, _ = runs["csv"]
    table = pd.read_csv(_run_folder(cwd) / "ranking.csv")
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'outputs' / 'mlflow.db'}")
    (logged,) = client.search_runs([client.get_experiment_by_name("mle-runner").experiment_id])
    assert logged.info.status == "FINISHED"
    assert logged.data.tags["best"] == "gamma"
    assert logged.data.tags["study"] == "rank"
    assert logged.info.run_name == "rank life.csv:hours"
    metrics = logged.data.metrics
    for _, row in table.iterrows():
        assert metrics[f"weight/{row.dist}"] == pytest.approx(row.akaike_weight, rel=1e-12)
        assert metrics[f"delta_aic/{row.dist}"] == pytest.approx(row.delta_aic, abs=1e-9)
    assert metrics["candidates.fitted"] == 5 and metrics["candidates.failed"] == 0
    artifacts = {f.path for f in client.list_artifacts(logged.info.run_id)}
    assert {"ranking.csv", "ranking.json", "rank.png"} <= artifacts
    assert logged.data.params["study.name"] == "rank"


def test_synthetic_data_through_the_main_entry(runs):
    cwd, proc = runs["synthetic_no_tracking"]
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(_run_folder(cwd) / "ranking.csv")
    assert table["dist"].iloc[0] == "gumbel_r"
    assert not (cwd / "outputs" / "mlflow.db").exists()
    assert np.isfinite(table["loglik"]).all()


def test_an_unknown_candidate_is_one_line_that_names_it(runs):
    cwd, proc = runs["bad_name"]
    assert proc.returncode == 1
    message = proc.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    assert "'weibul'" in message and "weibull_min" in message
    assert not list(cwd.glob("outputs/runs/*/*/ranking.csv"))

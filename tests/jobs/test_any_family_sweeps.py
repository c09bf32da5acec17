"""Sweeps over scipy distributions and over data sets to rank: one MLflow parent with a
child per job, each child's parameters and estimates as for a built-in family, and the
sweep report reading fits and rankings alike."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from scipy import stats

from tests.helpers import run_python


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    fits = tmp_path_factory.mktemp("scipy_sweep")
    ranks = tmp_path_factory.mktemp("rank_sweep")
    pd.DataFrame({"v": stats.gamma.rvs(4.0, size=600, random_state=1)}).to_csv(
        ranks / "a.csv", index=False)  # fmt: skip
    pd.DataFrame({"v": stats.lognorm.rvs(0.5, size=600, random_state=2)}).to_csv(
        ranks / "b.csv", index=False)  # fmt: skip
    jobs = {
        "fits": (["-m", "runner", "-m", "model=scipy", "model.dist=gumbel_r,genextreme",
                  "n=300", "plots=false"], fits),
        "ranks": (["-m", "runner.rank", "-m", "data=csv", "data.path=a.csv,b.csv",
                   "data.column=v", "study.candidates=[gamma,lognorm,norm]", "plots=false"],
                  ranks),
    }  # fmt: skip
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {k: pool.submit(run_python, args, cwd) for k, (args, cwd) in jobs.items()}
        return {k: (jobs[k][1], f.result()) for k, f in futures.items()}


def _runs(cwd):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'outputs' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mle-runner")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("sweep.parent") == "true"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def _report(cwd):
    (folder,) = list(cwd.glob("outputs/multirun/*/*"))
    proc = run_python(["-m", "runner.report", str(folder)], cwd)
    assert proc.returncode == 0, proc.stderr
    return pd.read_csv(folder / "report.csv")


def test_a_sweep_over_scipy_distributions_logs_a_child_per_distribution(sweeps):
    cwd, proc = sweeps["fits"]
    assert proc.returncode == 0, proc.stderr
    (parent,), children = _runs(cwd)
    assert parent.info.status == "FINISHED"
    assert sorted(c.data.params["model.dist"] for c in children) == ["genextreme", "gumbel_r"]
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["model"] == f"scipy.{child.data.params['model.dist']}"
        metrics = child.data.metrics
        assert {"estimate.loc", "se.loc", "estimate.scale", "loglik", "aic"} <= set(metrics)
    report = _report(cwd)
    assert sorted(report["model"]) == ["scipy.genextreme", "scipy.gumbel_r"]
    assert report["estimate.c"].notna().sum() == 1  # genextreme's shape, gumbel has none


def test_a_sweep_over_data_sets_ranks_each_and_the_report_names_the_winners(sweeps):
    cwd, proc = sweeps["ranks"]
    assert proc.returncode == 0, proc.stderr
    (parent,), children = _runs(cwd)
    assert parent.info.status == "FINISHED"
    best = {c.data.params["data.path"]: c.data.tags["best"] for c in children}
    assert best == {"a.csv": "gamma", "b.csv": "lognorm"}
    for job in cwd.glob("outputs/multirun/*/*/[0-9]"):
        record = json.loads((job / "ranking.json").read_text())
        assert record["best"] in ("gamma", "lognorm")
    report = _report(cwd).sort_values("override.data.path")
    assert report["best"].tolist() == ["gamma", "lognorm"]
    assert (report["fitted"] == 3).all() and (report["failed"] == 0).all()

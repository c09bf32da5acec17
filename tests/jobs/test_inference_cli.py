"""How sure, from the command line: interval methods, standard-error sources, goodness
of fit with bootstrap p-values, and their files and MLflow records."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from runner import fit
from tests.helpers import run_python

CASES = {
    "profile": ["model=gamma", "n=8", "inference.ci=profile", "tracking=none"],
    "bootstrap": ["model=gamma", "n=40", "inference.ci=bootstrap",
                  "inference.bootstrap.replicates=400", "inference.gof_replicates=100",
                  "plots=true"],
    "sandwich": ["model=gamma", "n=500", "inference.se=sandwich", "tracking=none"],
    "bad_ci": ["model=gamma", "inference.ci=exact", "tracking=none"],
    "misspecified": ["model=gamma", "study=convergence", "study.truth_model=lognormal",
                     "study.sizes=[200,2000]", "study.replicates=200", "tracking=none"],
    "coverage": ["model=exponential", "study=convergence", "study.sizes=[10,40]",
                 "study.replicates=400", "study.intervals=[wald,wald_transformed,profile]",
                 "study.interval_subset=100"],
}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folders = {name: tmp_path_factory.mktemp(name) for name in CASES}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {n: pool.submit(run_python, ["-m", "runner", *a], folders[n])
                   for n, a in CASES.items()}  # fmt: skip
        return {n: (folders[n], f.result()) for n, f in futures.items()}


def _folder(cwd):
    (path,) = cwd.glob("outputs/runs/*/*/results.json")
    return path.parent


def _draws(n: int) -> np.ndarray:
    """The job's synthetic gamma sample, drawn again the way fit() sees it."""
    from runner.io.data import load
    from runner.stats.families import get

    truth = {"shape": 2.0, "rate": 1.5}  # conf/model/gamma.yaml
    return load("synthetic", family=get("gamma"), truth=truth, n=n, seed=0).values


def test_profile_intervals_from_the_command_line_equal_the_api(runs):
    cwd, proc = runs["profile"]
    assert proc.returncode == 0, proc.stderr
    record = json.loads((_folder(cwd) / "results.json").read_text())
    expected = fit("gamma", _draws(8), ci="profile")
    for e in expected.estimates:
        got = record["params"][e.name]
        assert got["ci_method"] == "profile"
        assert got["ci"] == pytest.approx(list(e.ci), rel=1e-9)
    assert "profile" in proc.stdout


def test_bootstrap_writes_its_replicates_figure_and_mlflow_record(runs):
    from mlflow.tracking import MlflowClient

    cwd, proc = runs["bootstrap"]
    assert proc.returncode == 0, proc.stderr
    folder = _folder(cwd)
    record = json.loads((folder / "results.json").read_text())
    table = pd.read_csv(folder / "bootstrap.csv")
    assert set(table["parameter"]) == {"shape", "rate"} and len(table) == 800
    assert record["bootstrap"] == {"kind": "parametric", "replicates": 400, "seed": 0,
                                   "failed": 0, "file": "bootstrap.csv"}  # fmt: skip
    for name in ("shape", "rate"):
        p = record["params"][name]
        assert p["ci_method"] == "bootstrap (BCa)"
        assert set(p["intervals"]) == {"bootstrap (percentile)", "bootstrap (BCa)"}
        values = table.loc[table["parameter"] == name, "estimate"]
        low, high = p["intervals"]["bootstrap (percentile)"]
        assert low == pytest.approx(values.quantile(0.025), rel=1e-2)
        assert high == pytest.approx(values.quantile(0.975), rel=1e-2)
    gof = record["goodness_of_fit"]
    assert gof["gof_replicates"] == 100 and 0 < gof["ks_pvalue"] <= 1
    assert (folder / "bootstrap.png").is_file() and (folder / "diagnostics.png").is_file()
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'outputs' / 'mlflow.db'}")
    (logged,) = client.search_runs([client.get_experiment_by_name("mle-runner").experiment_id])
    assert logged.data.tags["ci.shape"] == "bootstrap (BCa)"
    assert logged.data.metrics["ks_pvalue"] == pytest.approx(gof["ks_pvalue"])
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"bootstrap.csv", "bootstrap.png", "diagnostics.png"} <= artifacts


def test_sandwich_standard_errors_from_the_command_line(runs):
    cwd, proc = runs["sandwich"]
    assert proc.returncode == 0, proc.stderr
    record = json.loads((_folder(cwd) / "results.json").read_text())
    expected = fit("gamma", _draws(500), se="sandwich")
    for e in expected.estimates:
        assert record["params"][e.name]["se"] == pytest.approx(e.se, rel=1e-9)
    assert any("sandwich (Huber-White, HC0)" in n for n in record["notes"])


def test_an_unknown_interval_method_is_one_line(runs):
    _, proc = runs["bad_ci"]
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("error: inference.ci = 'exact': choose one of "
                                   "wald_transformed, wald, profile, bootstrap")  # fmt: skip


def test_a_study_measures_each_interval_method_against_n(runs):
    from mlflow.tracking import MlflowClient

    cwd, proc = runs["coverage"]
    assert proc.returncode == 0, proc.stderr
    (folder,) = [p.parent for p in cwd.glob("outputs/runs/*/*/study.json")]
    table = pd.read_csv(folder / "convergence_intervals.csv")
    assert set(zip(table["size"], table["method"], strict=True)) == {
        (n, m) for n in (10, 40) for m in ("wald", "wald_transformed", "profile")
    }
    assert set(table.loc[table["method"] == "profile", "replicates"]) == {100}
    assert ((table["coverage"] > 0.8) & (table["coverage"] <= 1)).all()
    record = json.loads((folder / "study.json").read_text())
    assert len(record["intervals"]) == 6
    assert (folder / "convergence_intervals.png").is_file()
    assert "95% interval coverage" in proc.stdout
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'outputs' / 'mlflow.db'}")
    (logged,) = client.search_runs([client.get_experiment_by_name("mle-runner").experiment_id])
    history = client.get_metric_history(logged.info.run_id, "coverage.profile/rate")
    assert sorted(m.step for m in history) == [10, 40]
    row = table[(table["method"] == "profile") & (table["size"] == 40)].iloc[0]
    assert {m.step: m.value for m in history}[40] == pytest.approx(row["coverage"])


def test_a_misspecified_study_from_the_command_line(runs):
    cwd, proc = runs["misspecified"]
    assert proc.returncode == 0, proc.stderr
    (folder,) = [p.parent for p in cwd.glob("outputs/runs/*/*/study.json")]
    record = json.loads((folder / "study.json").read_text())
    assert record["mode"] == "misspecified"
    # conf/model/lognormal.yaml's truth (mu 0, sigma 0.5): the gamma keeps its mean
    truth = record["truth"]
    assert truth["shape"] / truth["rate"] == pytest.approx(np.exp(0.125), rel=1e-8)
    methods = {r["method"] for r in record["intervals"]}
    assert methods == {"wald (observed information)", "wald (sandwich)"}
    assert "errors against the pseudo-true value" in proc.stdout

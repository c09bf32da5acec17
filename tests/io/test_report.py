"""``python -m runner.report``: one table, the models ranked by AIC, the error plot.

The sweeps are subprocesses in fresh folders, all started at once the first time a test
asks for one; the reports are made by the command line where that is the point, else by
``runner.report``'s functions in-process (cheaper).
"""

from __future__ import annotations

import json
import math
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_python

from runner.io import report

PARENT_KEYS = ("RUNNER_MLFLOW_PARENT_RUN_ID", "RUNNER_MLFLOW_PARENT_URI")
MODELS = ["gamma", "weibull", "lognormal", "exponential"]


@dataclass(repr=False)
class Proc:
    args: list[str]
    cwd: Path
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"$ python {' '.join(self.args)}   (exit {self.returncode})\n"
            f"--- stdout (tail)\n{self.stdout[-3000:]}--- stderr\n{self.stderr[-5000:]}"
        )


def python(args: list[str], cwd: Path) -> Proc:
    proc = run_python(args, cwd)
    return Proc(args, cwd, proc.returncode, proc.stdout, proc.stderr)


def multirun_folder(cwd: Path) -> Path:
    found = sorted((cwd / "outputs" / "multirun").glob("*/*"))
    assert len(found) == 1, found
    return found[0]


def store(cwd: Path) -> str:
    return f"sqlite:///{cwd / 'outputs' / 'mlflow.db'}"


@dataclass
class Done:
    """A sweep and, where the command line made one, its report."""

    sweep: Proc
    report: Proc | None = None

    @property
    def folder(self) -> Path:
        return multirun_folder(self.sweep.cwd)


# ---- the sweeps, all at once ------------------------------------------------------------


def csv_sweep(cwd: Path) -> Done:
    """Four models fitted to one CSV of gamma draws; then the report from the folder."""
    rng = np.random.default_rng(20240101)
    values = rng.gamma(shape=2.0, scale=1 / 1.5, size=1000)
    (cwd / "x.csv").write_text("v\n" + "\n".join(f"{v:.10g}" for v in values) + "\n")
    models = f"model={','.join(MODELS)}"
    data = ["data=csv", "data.path=x.csv", "data.column=v"]
    sweep = python(["-m", "runner", "-m", models, *data, "plots=false", "tracking=none"], cwd)
    if sweep.returncode != 0:
        return Done(sweep)
    folder = multirun_folder(cwd)
    return Done(sweep, python(["-m", "runner.report", str(folder)], cwd))


def synthetic_sweep(cwd: Path) -> Done:
    """Two models, two sample sizes, each job drawing its own sample; tracked in MLflow;
    then the report from the experiment."""
    sweep = python(
        ["-m", "runner", "-m", "model=gaussian,poisson", "n=10,1000", "plots=false"], cwd
    )
    if sweep.returncode != 0:
        return Done(sweep)
    args = ["-m", "runner.report", "--experiment", "mle-runner",
            "--tracking-uri", store(cwd), "--out", str(cwd / "rep")]  # fmt: skip
    return Done(sweep, python(args, cwd))


def failing_sweep(cwd: Path) -> Done:
    """One job fails (1.5 is outside the support of beta), one does not; tracked."""
    data = ["data=inline", "data.values=[0.2,0.5,1.5,0.3]"]
    return Done(python(["-m", "runner", "-m", "model=beta,gaussian", *data, "plots=false"], cwd))


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, Done]:
    jobs = {"csv": csv_sweep, "synthetic": synthetic_sweep, "failing": failing_sweep}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {
            name: pool.submit(job, tmp_path_factory.mktemp(name)) for name, job in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def csv_done(sweeps) -> Done:
    done = sweeps["csv"]
    assert done.sweep.returncode == 0, str(done.sweep)
    assert done.report is not None
    assert done.report.returncode == 0, str(done.report)
    assert "Traceback" not in done.report.stderr, str(done.report)
    return done


@pytest.fixture(scope="module")
def synthetic(sweeps) -> Done:
    done = sweeps["synthetic"]
    assert done.sweep.returncode == 0, str(done.sweep)
    return done


@pytest.fixture(scope="module")
def failing(sweeps) -> Done:
    done = sweeps["failing"]
    assert done.sweep.returncode != 0, str(done.sweep)
    assert "Traceback" not in done.sweep.stderr, str(done.sweep)
    return done


@pytest.fixture
def keep_environ():
    """Undo what MlflowTracker.client() sets in os.environ (HTTP bounds, telemetry)."""
    before = dict(os.environ)
    yield
    for key in set(os.environ) - set(before):
        del os.environ[key]
    os.environ.update(before)


# ---- 1. from a folder: one row per job, models ranked by AIC ----------------------------


def test_report_from_folder_writes_its_files(csv_done):
    folder = csv_done.folder
    for name in ("report.csv", "report.md", "ranking.csv"):
        assert (folder / name).is_file(), name
        assert str(folder / name) in csv_done.report.stdout
    assert csv_done.report.stdout.startswith("4 job(s); wrote ")
    # One data set, one n: nothing to plot against n.
    assert not (folder / "report_error.png").exists()


def test_report_csv_one_row_per_job(csv_done):
    table = pd.read_csv(csv_done.folder / "report.csv")
    assert len(table) == 4
    for column in ("job", "override.model", "status", "model", "loglik", "aic", "bic", "ks"):
        assert column in table.columns, column
    assert list(table.columns[:3]) == ["job", "override.model", "status"]
    assert sorted(table["job"]) == [0, 1, 2, 3]
    assert set(table["model"]) == set(MODELS)
    assert (table["override.model"] == table["model"]).all()
    assert (table["status"] == "FINISHED").all()
    assert table["data.sha1"].nunique() == 1  # the same values in every job
    # Constant overrides (data=csv, data.path=...) are left out: they say nothing.
    assert not [c for c in table.columns if c.startswith("override.data")]
    assert "override.plots" not in table.columns

    for _, row in table.iterrows():
        record = json.loads((csv_done.folder / str(row["job"]) / "results.json").read_text())
        assert row["model"] == record["model"]
        assert row["n"] == record["n"] == 1000
        assert row["loglik"] == pytest.approx(record["loglik"], rel=1e-12)
        assert row["aic"] == pytest.approx(record["aic"], rel=1e-12)
        assert row["bic"] == pytest.approx(record["bic"], rel=1e-12)
        assert row["ks"] == pytest.approx(record["gof"]["ks"], rel=1e-12)
        for name, p in record["params"].items():
            assert row[f"estimate.{name}"] == pytest.approx(p["estimate"], rel=1e-12)
    estimates = {c for c in table.columns if c.startswith("estimate.")}
    assert {"estimate.shape", "estimate.rate", "estimate.mu", "estimate.sigma"} <= estimates


def test_ranking_by_aic(csv_done):
    table = pd.read_csv(csv_done.folder / "report.csv")
    ranks = pd.read_csv(csv_done.folder / "ranking.csv")
    assert len(ranks) == 4
    assert sorted(ranks["model"]) == sorted(MODELS)
    assert list(ranks["rank"]) == [1, 2, 3, 4]
    assert ranks["aic"].is_monotonic_increasing
    assert ranks["delta_aic"].iloc[0] == 0
    assert (ranks["delta_aic"] >= 0).all()
    assert ranks["akaike_weight"].sum() == pytest.approx(1.0)
    assert ranks["akaike_weight"].is_monotonic_decreasing
    assert ranks["data"].nunique() == 1
    assert ranks["data"].iloc[0] == f"{table['data.sha1'].iloc[0]} (n=1000)"
    # The data are gamma draws: the gamma wins, the exponential (shape 1) is far behind.
    assert ranks["model"].iloc[0] == "gamma"
    assert ranks["model"].iloc[-1] == "exponential"

    # The same ranking, by hand, from report.csv's aic column.
    by_hand = table.sort_values("aic").reset_index(drop=True)
    delta = by_hand["aic"] - by_hand["aic"].min()
    weights = [math.exp(-d / 2) for d in delta]
    weights = [w / sum(weights) for w in weights]
    assert list(ranks["model"]) == list(by_hand["model"])
    assert list(ranks["delta_aic"]) == pytest.approx(list(delta), abs=1e-9)
    assert list(ranks["akaike_weight"]) == pytest.approx(weights, rel=1e-9, abs=1e-300)
    for column in ("aic", "bic", "loglik", "ks"):
        assert list(ranks[column]) == pytest.approx(list(by_hand[column]), rel=1e-12), column


def test_report_md(csv_done):
    text = (csv_done.folder / "report.md").read_text()
    assert text.startswith(f"# Sweep {csv_done.folder}")
    assert "4 job(s): 4 finished, 0 not." in text
    assert "## Jobs" in text
    assert "## Models ranked by AIC" in text
    assert "## Failures" not in text
    ranked = text.split("## Models ranked by AIC", 1)[1]
    header = next(line for line in ranked.splitlines() if line.startswith("| "))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[:6] == ["data", "rank", "model", "aic", "delta_aic", "akaike_weight"]
    rows = [line for line in ranked.splitlines() if line.startswith("| ") and line != header]
    assert [r.split("|")[3].strip() for r in rows][:1] == ["gamma"]
    assert len(rows) == 4


# ---- 2. synthetic data: no ranking, an error plot ---------------------------------------


@pytest.fixture(scope="module")
def synthetic_report(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic_report")
    frame = report.from_folder(synthetic.folder)
    written = report.write(frame, out, "synthetic")
    return frame, out, written


def test_synthetic_sweep_has_no_ranking(synthetic_report):
    frame, out, written = synthetic_report
    assert len(frame) == 4
    assert frame["data.sha1"].nunique() == 4  # every job drew its own sample
    assert report.ranking(report.tidy(frame)).empty
    assert not (out / "ranking.csv").exists()
    assert out / "ranking.csv" not in written
    assert "ranked by AIC" not in (out / "report.md").read_text()


def test_synthetic_sweep_over_n_plots_the_error(synthetic_report):
    _, out, written = synthetic_report
    plot = out / "report_error.png"
    assert plot in written
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![error against n](report_error.png)" in (out / "report.md").read_text()
    table = pd.read_csv(out / "report.csv")
    assert sorted(table["n"]) == [10, 10, 1000, 1000]
    # Errors against the truth are there (the plot's data): estimate - truth.
    assert table["error.mu"].notna().sum() == 2
    assert table["error.lam"].notna().sum() == 2
    ok = table["error.mu"].notna()
    diff = table.loc[ok, "estimate.mu"] - table.loc[ok, "truth.mu"]
    assert list(table.loc[ok, "error.mu"]) == pytest.approx(list(diff))


def test_ranking_needs_two_models_on_the_same_data():
    frame = pd.DataFrame(
        {
            "model": ["gamma", "weibull", "gamma", "gamma", "weibull"],
            "status": ["FINISHED", "FINISHED", "FINISHED", "FINISHED", "FAILED"],
            "aic": [10.0, 12.0, 5.0, 6.0, None],
            "bic": [11.0, 13.0, 6.0, 7.0, None],
            "loglik": [-3.0, -4.0, -0.5, -1.0, None],
            "n": [50, 50, 20, 20, 20],
            "data.sha1": ["a", "a", "b", "b", "b"],
        }
    )
    ranks = report.ranking(frame)
    # Data set "b": one model (twice) and a failed weibull: nothing to rank there.
    assert list(ranks["model"]) == ["gamma", "weibull"]
    assert list(ranks["data"]) == ["a (n=50)", "a (n=50)"]
    assert list(ranks["delta_aic"]) == [0.0, 2.0]
    w = 1 / (1 + math.exp(-1))
    assert list(ranks["akaike_weight"]) == pytest.approx([w, 1 - w])
    assert "ks" not in ranks.columns  # no KS column in, none out


# ---- 3. from an MLflow experiment -------------------------------------------------------


def test_report_from_experiment(synthetic):
    from mlflow.tracking import MlflowClient

    assert synthetic.report is not None
    assert synthetic.report.returncode == 0, str(synthetic.report)
    assert "Traceback" not in synthetic.report.stderr, str(synthetic.report)
    out = synthetic.sweep.cwd / "rep"
    table = pd.read_csv(out / "report.csv")

    client = MlflowClient(tracking_uri=store(synthetic.sweep.cwd))
    experiment = client.get_experiment_by_name("mle-runner")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("sweep.parent") == "true"]
    children = [r for r in runs if r.data.tags.get("sweep.parent") != "true"]
    assert len(parents) == 1
    assert len(children) == 4
    assert len(table) == 4  # the children; the sweep's parent run is no row
    assert set(table["run_id"]) == {c.info.run_id for c in children}
    assert "sweep" not in set(table["model"])
    assert (table["status"] == "FINISHED").all()
    assert synthetic.report.stdout.startswith("4 job(s); wrote ")

    # The same numbers as the report from the folder.
    folder = report.from_folder(synthetic.folder).set_index(["model", "n"])
    for _, row in table.iterrows():
        same = folder.loc[(row["model"], int(row["n"]))]
        for column in ("loglik", "aic", "ks"):
            assert row[column] == pytest.approx(same[column], rel=1e-12, nan_ok=True), column
    assert {"estimate.mu", "estimate.sigma", "estimate.lam"} <= set(table.columns)
    assert not (out / "ranking.csv").exists()
    assert (out / "report_error.png").is_file()
    assert "# MLflow experiment mle-runner" in (out / "report.md").read_text()


# ---- 4. failed jobs ---------------------------------------------------------------------


def _check_failure_report(out: Path, frame) -> None:
    table = pd.read_csv(out / "report.csv")
    assert len(table) == 2
    failed = table[table["status"] == "FAILED"]
    assert len(failed) == 1
    assert "outside the support of beta" in failed["error"].iloc[0]
    assert set(table.loc[table["status"] == "FINISHED", "model"]) == {"gaussian"}
    text = (out / "report.md").read_text()
    assert "2 job(s): 1 finished, 1 not." in text
    assert "## Failures" in text
    failures = text.split("## Failures", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in failures.splitlines() if line.startswith("- job ")]
    assert len(lines) == 1
    assert lines[0].startswith(f"- job {failed['job'].iloc[0]}: ")
    assert "value 1.5 is outside the support of beta" in lines[0]
    assert not (out / "ranking.csv").exists()  # one finished model: nothing to rank


def test_failed_job_in_folder_report(failing, tmp_path):
    frame = report.from_folder(failing.folder)
    report.write(frame, tmp_path, "failing")
    _check_failure_report(tmp_path, frame)
    row = frame[frame["status"] == "FAILED"].iloc[0]
    assert row["override.model"] == "beta"
    assert pd.isna(row["loglik"])


def test_failed_job_in_experiment_report(failing, tmp_path, keep_environ):
    frame = report.from_experiment("mle-runner", store(failing.sweep.cwd))
    report.write(frame, tmp_path, "failing")
    _check_failure_report(tmp_path, frame)
    failed = frame[frame["status"] == "FAILED"].iloc[0]
    assert failed["model"] == "beta"


# ---- 5. bad usage -----------------------------------------------------------------------


def test_no_path_and_no_experiment_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        report.main([])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: python -m runner.report" in err
    assert "--experiment" in err


def test_path_and_experiment_together_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        report.main([str(tmp_path), "--experiment", "x"])
    assert exit_info.value.code == 2


def test_path_that_is_not_a_folder(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert report.main([str(missing)]) != 0
    assert f"error: {missing} is not a folder" in capsys.readouterr().err
    a_file = tmp_path / "results.json"
    a_file.write_text("{}")
    assert report.main([str(a_file)]) != 0
    assert f"error: {a_file} is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "report.csv").exists()


def test_folder_without_jobs(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        report.main([str(tmp_path)])
    assert exit_info.value.code not in (0, None)
    assert "holds no Hydra job folders" in str(exit_info.value.code)


def test_bad_usage_from_the_command_line(tmp_path):
    usage = python(["-m", "runner.report"], tmp_path)
    assert usage.returncode == 2, str(usage)
    assert "Traceback" not in usage.stderr
    missing = python(["-m", "runner.report", "nope"], tmp_path)
    assert missing.returncode not in (0, 2), str(missing)
    assert "nope is not a folder" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_report_from_an_unreachable_server_says_so(tmp_path):
    with socket.socket() as s:  # a local port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    run = python(["-m", "runner.report", "--experiment", "mle-runner", "--tracking-uri", uri],
                 tmp_path)  # fmt: skip
    assert run.returncode not in (0, 2), str(run)
    assert "not reachable" in run.stderr, str(run)
    assert f"127.0.0.1:{port}" in run.stderr, str(run)
    assert "Traceback" not in run.stderr, str(run)  # a user's problem: one message

"""A sweep's parent run as the MLflow UI shows it: its name, its summary metrics, the best
model by AIC, the sweep's report as artifacts and description, and its children's names.

Real sweeps (``python -m runner -m ...``, the basic launcher) run in fresh folders, all
started together by a module fixture; the records are read back with MlflowClient and
compared with the files the sweep left. The callback is also driven in-process for a
report that cannot be made: it must cost a warning, never the sweep.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_python

EXPERIMENT = "mle-runner"
RANKED = ["model=gamma,weibull,lognormal", "data=csv", "data.path=x.csv", "data.column=v",
          "plots=false"]  # fmt: skip
GRID = ["model=gaussian,poisson", "n=10,100", "seed=0", "plots=false"]
BAD = ["model=beta,gaussian", "data=inline", "data.values=[0.2,0.5,1.5,0.3]", "plots=false"]


class Sweep:
    def __init__(self, cwd: Path, args: list[str]):
        self.cwd, self.args = cwd, args
        self.proc = run_python(["-m", "runner", "-m", *args], cwd)

    def __str__(self) -> str:
        return (f"$ python -m runner -m {' '.join(self.args)} (exit {self.proc.returncode})\n"
                f"--- stderr\n{self.proc.stderr[-4000:]}")  # fmt: skip

    @property
    def folder(self) -> Path:
        (found,) = (self.cwd / "outputs" / "multirun").glob("*/*")
        return found

    @property
    def store(self) -> str:
        return f"sqlite:///{self.cwd / 'outputs' / 'mlflow.db'}"

    def runs(self):
        """(parent, {child name: child}), the parent told apart by its sweep.parent tag."""
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.store)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        runs = client.search_runs([experiment.experiment_id])
        (parent,) = [r for r in runs if r.data.tags.get("sweep.parent") == "true"]
        children = {r.info.run_name: r for r in runs if r is not parent}
        assert len(children) == len(runs) - 1, "two children with one name"
        return parent, children

    def artifacts(self, run) -> dict[str, int]:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.store)
        return {f.path: f.file_size for f in client.list_artifacts(run.info.run_id)}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    def ranked() -> Sweep:
        cwd = tmp_path_factory.mktemp("ranked")
        x = 2.0 * np.random.default_rng(5).weibull(1.5, 800)
        (cwd / "x.csv").write_text("v\n" + "\n".join(map(repr, x.tolist())) + "\n")
        return Sweep(cwd, RANKED)

    with ThreadPoolExecutor(max_workers=3) as pool:
        started = {
            "ranked": pool.submit(ranked),
            "grid": pool.submit(Sweep, tmp_path_factory.mktemp("grid"), GRID),
            "bad": pool.submit(Sweep, tmp_path_factory.mktemp("bad"), BAD),
        }
        yield {name: future.result() for name, future in started.items()}


def _head(jobs: int, failed: int) -> str:
    return (f"**{jobs} job(s): {jobs - failed} finished, {failed} failed.** Every job's "
            "numbers are in `report.md` and `report.csv` (Artifacts).")  # fmt: skip


def test_models_ranked_on_one_data_set(sweeps):
    sweep = sweeps["ranked"]
    assert sweep.proc.returncode == 0, str(sweep)
    parent, children = sweep.runs()
    folder = sweep.folder

    assert parent.info.run_name == "sweep: model (3 jobs)"
    assert parent.info.status == "FINISHED"
    assert set(children) == {"gamma", "weibull", "lognormal"}  # what varies: the model
    ranking = pd.read_csv(folder / "ranking.csv")
    best = ranking[ranking["rank"] == 1].iloc[0]
    second = ranking[ranking["rank"] == 2].iloc[0]
    aic = {name: child.data.metrics["aic"] for name, child in children.items()}
    assert best["model"] == min(aic, key=aic.get)
    assert parent.data.metrics == {
        "jobs.finished": 3.0,
        "jobs.failed": 0.0,
        "best.aic": pytest.approx(min(aic.values()), rel=1e-9),
        "best.delta_aic": pytest.approx(second["delta_aic"], rel=1e-9),
    }
    tags = parent.data.tags
    assert tags["best_model"] == best["model"]
    assert (tags["sweep.jobs"], tags["sweep.failed"]) == ("3", "0")
    assert tags["sweep.dir"] == str(folder.resolve())
    from runner.io.report import markdown

    gap = f"{second['delta_aic']:.3g}"
    assert tags["mlflow.note.content"] == (
        f"{_head(3, 0)}\n\nBest by AIC on the same data: **{best['model']}** (AIC {gap} below "
        f"the next)\n\n{markdown(ranking.drop(columns=['data']))}"
    )
    # Written into the sweep folder first, then logged: the same files, the same sizes.
    written = {name: (folder / name).stat().st_size
               for name in ("report.md", "report.csv", "ranking.csv")}  # fmt: skip
    assert sweep.artifacts(parent) == written  # n does not vary: no error plot
    for child in children.values():
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_a_grid_sweep_names_what_it_varies(sweeps):
    sweep = sweeps["grid"]
    assert sweep.proc.returncode == 0, str(sweep)
    parent, children = sweep.runs()
    assert parent.info.run_name == "sweep: model x n (4 jobs)"
    assert set(children) == {"gaussian n=10", "gaussian n=100", "poisson n=10", "poisson n=100"}
    assert parent.data.metrics == {"jobs.finished": 4.0, "jobs.failed": 0.0}
    assert "best_model" not in parent.data.tags  # each job drew its own data: no ranking
    artifacts = sweep.artifacts(parent)
    assert set(artifacts) == {"report.md", "report.csv", "report_error.png"}
    assert artifacts["report_error.png"] == (sweep.folder / "report_error.png").stat().st_size
    assert parent.data.tags["mlflow.note.content"] == _head(4, 0)

    # The summary says where the sweep is: its parent run, in the training layout.
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(tracking_uri=sweep.store).get_experiment_by_name(EXPERIMENT)
    lines = sweep.proc.stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("sweep: 4 job(s)"))
    url = (f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}/runs/"
           f"{parent.info.run_id}?workflowType=machine_learning")  # fmt: skip
    assert lines[at + 1] == (f"  the sweep in MLflow: open {url} "
                             "(while mlflow ui --backend-store-uri sqlite:///outputs/mlflow.db "
                             "runs)")  # fmt: skip
    # Every job printed its own run's link.
    links = re.findall(r"#/experiments/\d+/runs/([0-9a-f]{32})\?workflowType=machine_learning",
                       sweep.proc.stdout)  # fmt: skip
    assert sorted(links) == sorted(c.info.run_id for c in children.values())


def test_a_failed_job_is_counted_and_reported(sweeps):
    sweep = sweeps["bad"]
    assert sweep.proc.returncode == 1, str(sweep)
    parent, children = sweep.runs()
    assert parent.info.run_name == "sweep: model (2 jobs)"
    assert parent.info.status == "FAILED"
    assert parent.data.metrics == {"jobs.finished": 1.0, "jobs.failed": 1.0}
    assert set(children) == {"beta", "gaussian"}
    assert children["beta"].info.status == "FAILED"
    error = children["beta"].data.tags["error"]
    assert children["beta"].data.tags["mlflow.note.content"] == f"**FAILED**\n\n```\n{error}\n```"
    job = children["beta"].data.tags["sweep.job"]
    status = json.loads((sweep.folder / job / "status.json").read_text())
    assert parent.data.tags["mlflow.note.content"] == (
        f"{_head(2, 1)}\n\nFailed jobs:\n\n- job {job}: {status['error']}"
    )
    assert "outside the support of beta" in status["error"]
    assert {"report.md", "report.csv"} <= set(sweep.artifacts(parent))


# ---- in-process: a report that cannot be made ----------------------------------------------


def start_callback(tmp_path: Path, monkeypatch, task: list[str]):
    """A SweepCallback after on_multirun_start on a fresh store (two finished jobs in its
    folder), its atexit guard kept from the interpreter and its environment variables
    undone afterwards."""
    import atexit

    from omegaconf import OmegaConf

    from runner.jobs.sweep import SweepCallback

    monkeypatch.setattr(os, "environ", os.environ.copy())
    monkeypatch.setattr(atexit, "register", lambda func, *a, **k: func)
    sweep_dir = tmp_path / "multirun" / "2024-01-01" / "00-00-00"
    sweep_dir.mkdir(parents=True)
    config = OmegaConf.create({
        "tracking": {"enabled": True, "uri": f"sqlite:///{tmp_path / 'm.db'}",
                     "experiment": "e", "required": True},
        "hydra": {"sweep": {"dir": str(sweep_dir)}, "overrides": {"task": task}},
    })  # fmt: skip
    started = SweepCallback()
    started.on_multirun_start(config)
    for job in "01":
        (sweep_dir / job).mkdir()
        (sweep_dir / job / "status.json").write_text(json.dumps({"status": "FINISHED"}))
    return started, config


@pytest.fixture
def callback(tmp_path, monkeypatch):
    return start_callback(tmp_path, monkeypatch, ["n=10,100", "seed=1"])


def _parent(callback):
    """The only run of the callback's experiment: its parent."""
    from mlflow.tracking import MlflowClient

    _, config = callback
    client = MlflowClient(tracking_uri=config.tracking.uri)
    (run,) = client.search_runs([client.get_experiment_by_name("e").experiment_id])
    return run


def test_the_parent_is_named_and_tells_jobs_what_varies(callback):
    started, config = callback
    parent = _parent(callback)
    assert parent.info.run_name == "sweep: n (2 jobs)"
    assert parent.data.tags["sweep.parent"] == "true"
    assert json.loads(os.environ["RUNNER_SWEEP_KEYS"]) == ["n"]
    started.on_multirun_end(config)
    assert "RUNNER_SWEEP_KEYS" not in os.environ


def test_a_sweep_that_cannot_be_counted_is_named_with_its_count_at_the_end(
    tmp_path, monkeypatch
):
    # An interval is swept by optimizing sweepers, one job at a time: no count up front.
    callback = start_callback(tmp_path, monkeypatch, ["x=interval(0,1)"])
    assert _parent(callback).info.run_name == "sweep: x"
    started, config = callback
    started.on_multirun_end(config)
    assert _parent(callback).info.run_name == "sweep: x (2 jobs)"


def test_job_folders_without_a_report_cost_a_warning(callback, capsys):
    # No .hydra in the job folders: runner.io.report refuses the folder (SystemExit).
    started, config = callback
    started.on_multirun_end(config)  # no SystemExit: both jobs finished
    err = capsys.readouterr().err
    assert "warning: could not write the sweep's report: " in err
    assert "sweep: 2 job(s), 2 finished;" in err
    parent = _parent(callback)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics == {"jobs.finished": 2.0, "jobs.failed": 0.0}
    assert "mlflow.note.content" not in parent.data.tags


def test_a_report_that_raises_costs_a_warning(callback, capsys, monkeypatch):
    from runner.io import report

    def broken(*args, **kwargs):
        raise ValueError("no plot today")

    monkeypatch.setattr(report, "from_folder", broken)
    started, config = callback
    started.on_multirun_end(config)
    err = capsys.readouterr().err
    assert "warning: could not write the sweep's report: no plot today" in err
    assert _parent(callback).info.status == "FINISHED"


def test_swept_keys_and_job_count():
    from runner.jobs.sweep import parent_name, swept

    assert swept(["model=a,b", "n=range(3)", "plots=false", "+experiment.m=1,2"]) == (
        ["model", "n", "experiment.m"], 12)  # fmt: skip
    assert swept(["x=interval(0,1)"]) == (["x"], None)
    assert swept(["plots=false"]) == ([], None)
    assert parent_name(["model", "n"], 12) == "sweep: model x n (12 jobs)"
    assert parent_name(["experiment.m"], 1) == "sweep: m (1 job)"
    assert parent_name(["x"], None) == "sweep: x"

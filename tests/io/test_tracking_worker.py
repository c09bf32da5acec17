"""The tracking worker (runner.io.tracking_worker): runs logged through the warm second
process are the same MLflow records as runs logged in-process; a worker that is gone
costs no record; the command line's own process never imports MLflow."""

from __future__ import annotations

import json
import os

import pytest
from helpers import run_python

from runner.errors import TrackingError
from runner.io import tracking_worker
from runner.io.tracking import MlflowTracker
from runner.io.tracking_worker import WarmTracker, _Worker

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def worker_on(monkeypatch):
    monkeypatch.setenv(tracking_worker.ENV, "1")
    _Worker._instance, _Worker._failed = None, False
    yield
    if _Worker._instance is not None:
        _Worker._instance.close()
    _Worker._instance, _Worker._failed = None, False


def log_one(tracker, run_dir, name="gaussian n=10"):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text('{"loglik": -1.5}\n')
    return tracker.log_run(
        params={"model.name": "gaussian", "n": 10},
        metrics={"loglik": -1.5, "aic": 7.0},
        steps=[("trace/loglik", -3.0, 0), ("trace/loglik", -1.5, 1)],
        run_dir=run_dir,
        run_name=name,
        tags={"model": "gaussian"},
        note="**summary**",
    )


def record(uri: str, run_id: str) -> dict:
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    history = [(m.step, m.value) for m in client.get_metric_history(run_id, "trace/loglik")]
    return {
        "name": run.info.run_name,
        "status": run.info.status,
        "params": run.data.params,
        "metrics": {k: v for k, v in run.data.metrics.items() if not k.startswith("trace/")},
        "history": sorted(history),
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        "note": run.data.tags.get("mlflow.note.content"),
        "artifacts": sorted(a.path for a in client.list_artifacts(run_id)),
    }


def run_id_of(where: str) -> str:
    return where.split()[2]


def test_a_run_logged_by_the_worker_is_the_in_process_record(tmp_path, worker_on):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    warm = log_one(WarmTracker(uri, "exp"), tmp_path / "a")
    pid = _Worker._instance.process.pid
    again = log_one(WarmTracker(uri, "exp"), tmp_path / "b")
    assert _Worker._instance.process.pid == pid  # one worker serves every run of a process
    plain = log_one(MlflowTracker(uri, "exp"), tmp_path / "c")
    assert warm.startswith("MLflow run ") and "workflowType=machine_learning" in warm
    records = [record(uri, run_id_of(w)) for w in (warm, again, plain)]
    assert records[0] == records[1] == records[2]
    assert records[0]["status"] == "FINISHED"
    assert records[0]["history"] == [(0, -3.0), (1, -1.5)]
    assert records[0]["artifacts"] == ["results.json"]


def test_a_worker_that_is_gone_costs_no_record(tmp_path, worker_on):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_one(WarmTracker(uri, "exp"), tmp_path / "a")
    _Worker._instance.process.kill()
    _Worker._instance.process.wait()
    where = log_one(WarmTracker(uri, "exp"), tmp_path / "b", name="after the kill")
    assert record(uri, run_id_of(where))["name"] == "after the kill"


def test_a_worker_that_cannot_start_costs_no_record(tmp_path, worker_on, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no more processes")

    monkeypatch.setattr(tracking_worker.subprocess, "Popen", refuse)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    where = log_one(WarmTracker(uri, "exp"), tmp_path / "a")
    assert record(uri, run_id_of(where))["status"] == "FINISHED"


def test_the_worker_reports_tracking_errors_in_the_in_process_words(tmp_path, worker_on):
    folder = tmp_path / "not-a-folder"
    folder.write_text("a file where the store's folder should be\n")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.raises(TrackingError) as in_process:
        log_one(MlflowTracker(uri, "exp"), tmp_path / "a")
    with pytest.raises(TrackingError) as through_worker:
        log_one(WarmTracker(uri, "exp"), tmp_path / "b")
    assert str(through_worker.value) == str(in_process.value)
    assert _Worker._instance.process.poll() is None  # and it stays up for the next run


def test_the_sweep_parent_set_after_the_worker_started_is_honoured(tmp_path, worker_on,
                                                                   monkeypatch):  # fmt: skip
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_one(WarmTracker(uri, "exp"), tmp_path / "warm")  # the worker is up
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    parent = client.create_run(client.get_experiment_by_name("exp").experiment_id).info.run_id
    monkeypatch.setenv("RUNNER_MLFLOW_PARENT_RUN_ID", parent)
    monkeypatch.setenv("RUNNER_MLFLOW_PARENT_URI", uri)
    child = run_id_of(log_one(WarmTracker(uri, "exp"), tmp_path / "child"))
    assert client.get_run(child).data.tags["mlflow.parentRunId"] == parent


@pytest.mark.parametrize(
    "argv, starts",
    [
        (["runner", "model=gaussian", "n=1000"], True),
        (["runner", "-m", "model=gaussian,poisson"], True),
        (["runner", "model=gaussian", "tracking=none"], False),
        (["runner", "tracking.enabled=false"], False),
        (["runner", "--help"], False),
        (["runner", "--cfg", "job"], False),
        (["runner", "--cfg=job"], False),
    ],
)
def test_the_worker_starts_early_unless_nothing_will_be_tracked(argv, starts, monkeypatch):
    started = []
    monkeypatch.delenv(tracking_worker.ENV, raising=False)
    monkeypatch.setattr(_Worker, "get", classmethod(lambda cls: started.append(1)))
    tracking_worker.start_early(argv)
    assert bool(started) == starts
    assert os.environ[tracking_worker.ENV] == "1"


def test_worker_off_by_the_environment_stays_off(monkeypatch):
    started = []
    monkeypatch.setenv(tracking_worker.ENV, "0")
    monkeypatch.setattr(_Worker, "get", classmethod(lambda cls: started.append(1)))
    tracking_worker.start_early(["runner", "model=gaussian"])
    assert not started and not tracking_worker.enabled()


PROBE = """
import atexit, json, runpy, sys
def report():
    print("MAIN_IMPORTED_MLFLOW=" + json.dumps("mlflow" in sys.modules))
atexit.register(report)
sys.argv = ["runner", "model=gaussian", "n=50", "plots=false", "hydra.run.dir=run"]
runpy.run_module("runner", run_name="__main__")
"""


def test_the_command_line_logs_without_importing_mlflow_itself(tmp_path):
    done = run_python(["-c", PROBE], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "MAIN_IMPORTED_MLFLOW=false" in done.stdout
    assert "logged: MLflow run " in done.stdout
    run_id = done.stdout.split("logged: MLflow run ")[1].split()[0]
    store = f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}"
    logged = record(store, run_id)
    assert logged["status"] == "FINISHED"
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert logged["metrics"]["loglik"] == pytest.approx(results["loglik"])
    assert "results.json" in logged["artifacts"]

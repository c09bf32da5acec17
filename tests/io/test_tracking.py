"""MLflow tracking (runner.io.tracking): an unreachable server is refused before any MLflow
client exists, and calls that meet a locked SQLite store are retried until they land.

Both are checked by events (which calls happened, what the store holds), not by the clock.
"""

from __future__ import annotations

import socket
import sys

import pytest

from runner.errors import TrackingError
from runner.io import tracking
from runner.io.tracking import MlflowTracker, retry


def closed_port() -> int:
    with socket.socket() as s:  # a local port nobody listens on
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_one(tracker: MlflowTracker, run_dir, **overrides):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text("{}\n")
    arguments = dict(
        params={"model.name": "gaussian", "n": 10},
        metrics={"loglik": -1.5, "aic": 7.0},
        steps=[("trace.loglik", -3.0, 0), ("trace.loglik", -1.5, 1)],
        run_dir=run_dir,
        run_name="gaussian n=10",
        tags={"model": "gaussian"},
    )
    return tracker.log_run(**{**arguments, **overrides})


def test_unreachable_server_is_refused_before_any_mlflow_client(tmp_path, monkeypatch):
    # With mlflow made unimportable, reaching for a client would raise ImportError: the
    # TrackingError below proves the refusal came first (no client, no retry loop).
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    port = closed_port()
    tracker = MlflowTracker(f"http://127.0.0.1:{port}", "mle-runner")
    with pytest.raises(TrackingError, match=rf"127\.0\.0\.1:{port} is not reachable"):
        log_one(tracker, tmp_path / "run")


def test_report_from_an_unreachable_server_is_refused_before_any_mlflow_client(monkeypatch):
    from runner.io import report

    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(TrackingError, match="not reachable"):
        report.from_experiment("mle-runner", f"http://127.0.0.1:{closed_port()}")


class Flaky:
    """A call that fails ``failures`` times with ``message``, then returns ``result``."""

    def __init__(self, failures: int, message: str, result: object = "done"):
        self.failures, self.message, self.result, self.calls = failures, message, result, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(self.message)
        return self.result


@pytest.fixture
def no_sleep(monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr(tracking.time, "sleep", pauses.append)
    return pauses


def test_retry_waits_out_a_locked_store(no_sleep):
    call = Flaky(3, "(sqlite3.OperationalError) database is locked")
    assert retry(call, attempts=6) == "done"
    assert call.calls == 4
    assert no_sleep == [0.2, 0.4, 0.8]  # doubling pauses between attempts


def test_retry_gives_up_after_its_attempts(no_sleep):
    call = Flaky(10, "database is busy")
    with pytest.raises(RuntimeError, match="busy"):
        retry(call, attempts=3)
    assert call.calls == 3


def test_retry_does_not_repeat_other_errors(no_sleep):
    call = Flaky(1, "no such table: runs")
    with pytest.raises(RuntimeError, match="no such table"):
        retry(call)
    assert call.calls == 1 and no_sleep == []


def test_a_job_logs_everything_through_a_locked_store(tmp_path, monkeypatch, no_sleep):
    # Each of the client's writes meets "database is locked" once (as SQLite raises it when
    # another job holds the write lock past busy_timeout); the run still lands whole.
    from mlflow.tracking import MlflowClient

    locked = []
    for name in ("create_run", "log_batch", "log_artifact", "set_terminated"):
        real = getattr(MlflowClient, name)

        def once_locked(self, *args, _real=real, _name=name, **kwargs):
            if _name not in locked:
                locked.append(_name)
                raise RuntimeError("(sqlite3.OperationalError) database is locked")
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(MlflowClient, name, once_locked)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    where = log_one(MlflowTracker(uri, "locked"), tmp_path / "run")
    assert where and "locked" in where
    assert sorted(locked) == ["create_run", "log_artifact", "log_batch", "set_terminated"]

    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("locked").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params == {"model.name": "gaussian", "n": "10"}
    assert run.data.metrics == {"loglik": -1.5, "aic": 7.0, "trace.loglik": -1.5}
    history = client.get_metric_history(run.info.run_id, "trace.loglik")
    assert [(m.step, m.value) for m in history] == [(0, -3.0), (1, -1.5)]
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["results.json"]


def test_ctrl_c_while_logging_leaves_the_run_killed(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(MlflowClient, "log_artifact", interrupted)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(KeyboardInterrupt):
        log_one(MlflowTracker(uri, "stopped"), tmp_path / "run")
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("stopped").experiment_id])
    assert run.info.status == "KILLED"

"""MLflow tracking, and a tracker that does nothing (``tracking=none``).

The job writes its results to the run folder first; a tracker only copies them to
MLflow. Every failure here is turned into ``TrackingError`` with the reason, so an
unreachable server costs a warning, never a result. MLflow is imported only when a run
is logged: it costs about a second.
"""

from __future__ import annotations

import math
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from runner.errors import TrackingError

if TYPE_CHECKING:
    from runner.stats.result import Fit

DEFAULT_STORE = Path("outputs") / "mlflow.db"
DEFAULT_ARTIFACTS = Path("outputs") / "mlartifacts"
# What a run folder holds that is worth keeping in MLflow: results, traces, plots.
_ARTIFACT_SUFFIXES = (".json", ".csv", ".png", ".md")

# A client pointed at a dead server otherwise retries silently for minutes.
_HTTP_BOUNDS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


Step = tuple[str, float, int]  # metric name, value, step (iteration, or sample size)


class Tracker(Protocol):
    def log_run(
        self,
        *,
        params: dict[str, Any],
        metrics: dict[str, float],
        steps: list[Step],
        run_dir: Path,
        run_name: str,
        tags: dict[str, str],
        status: str = "FINISHED",
    ) -> str | None:
        """Record one job: params, metrics, step metrics and the run folder's files;
        return where to find it (or None)."""


class NullTracker:
    """``tracking=none``: results stay in the run folder only."""

    def log_run(self, **_: Any) -> str | None:
        return None


def resolve_uri(uri: str | None) -> str:
    """``tracking.uri``, else MLFLOW_TRACKING_URI, else the SQLite store under outputs/."""
    if uri:
        return uri
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{DEFAULT_STORE.resolve()}"


PARENT_RUN_ENV = "RUNNER_MLFLOW_PARENT_RUN_ID"  # set by the sweep callback for its jobs
PARENT_URI_ENV = "RUNNER_MLFLOW_PARENT_URI"


class MlflowTracker:
    """Logs a job as one MLflow run: config as params, numbers as metrics, files as artifacts.

    Inside a sweep (the sweep callback set ``RUNNER_MLFLOW_PARENT_RUN_ID``) the run is a
    child of the sweep's parent run. Calls that hit a locked SQLite store are retried.
    """

    def __init__(self, uri: str | None = None, experiment: str = "mle-runner"):
        self.uri = resolve_uri(uri)
        self.experiment = experiment

    def client(self):
        """An MlflowClient on this store, after a fast reachability check; quiet logs."""
        check_reachable(self.uri)
        for key, value in _HTTP_BOUNDS.items():
            os.environ.setdefault(key, value)
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import logging

        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        return MlflowClient(tracking_uri=self.uri)

    def log_run(self, *, params, metrics, steps, run_dir, run_name, tags, status="FINISHED"):
        try:
            client = self.client()
            experiment_id = self.experiment_id(client)
            run = retry(client.create_run, experiment_id, run_name=run_name,
                        tags={**tags, **self._parent_tag()})  # fmt: skip
            run_id = run.info.run_id
            final = "FAILED"
            try:
                _log_batch(client, run_id, params, _finite(metrics), steps)
                for path in sorted(run_dir.iterdir()) if run_dir.is_dir() else ():
                    if path.is_file() and path.suffix in _ARTIFACT_SUFFIXES:
                        retry(client.log_artifact, run_id, str(path))
                hydra_dir = run_dir / ".hydra"
                if hydra_dir.is_dir():
                    retry(client.log_artifacts, run_id, str(hydra_dir), artifact_path="config")
                final = status
            finally:
                retry(client.set_terminated, run_id, status=final)
        except TrackingError:
            raise
        except Exception as exc:  # MLflow raises many types; all mean "not logged"
            raise TrackingError(
                f"could not log to MLflow at {self.uri}: {type(exc).__name__}: {exc}"
            ) from exc
        return f"MLflow run {run_id} in experiment {self.experiment!r} ({self.uri})"

    def _parent_tag(self) -> dict[str, str]:
        parent = os.environ.get(PARENT_RUN_ENV)
        if parent and os.environ.get(PARENT_URI_ENV) == self.uri:
            return {"mlflow.parentRunId": parent}
        return {}

    def experiment_id(self, client) -> str:
        found = retry(client.get_experiment_by_name, self.experiment)
        if found is not None:
            return found.experiment_id
        location = None
        if self.uri == f"sqlite:///{DEFAULT_STORE.resolve()}":
            location = DEFAULT_ARTIFACTS.resolve().as_uri()
        try:
            return client.create_experiment(self.experiment, artifact_location=location)
        except Exception:  # created meanwhile by a parallel job
            found = retry(client.get_experiment_by_name, self.experiment)
            if found is None:
                raise
            return found.experiment_id


def retry(call, *args, attempts: int = 6, **kwargs):
    """``call(*args, **kwargs)``, again after a pause while the SQLite store is locked."""
    for attempt in range(attempts):
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            text = str(exc).lower()
            if attempt == attempts - 1 or not ("locked" in text or "busy" in text):
                raise
            time.sleep(0.2 * 2**attempt)
    return None  # pragma: no cover


def fit_metrics(fit: Fit) -> dict[str, float]:
    """Every number of a fit worth charting, under names MLflow accepts."""
    metrics: dict[str, float | None] = {
        "loglik": fit.loglik,
        "mean_loglik": fit.mean_loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "n": fit.n,
        "k": fit.k,
        "iterations": fit.iterations,
        "converged": float(fit.converged),
        "grad_norm": fit.grad_norm,
        "wall_time": fit.wall_time,
    }
    for e in fit.estimates:
        metrics[f"estimate.{e.name}"] = e.estimate
        metrics[f"se.{e.name}"] = e.se
        metrics[f"truth.{e.name}"] = e.truth
        if e.ci is not None:
            metrics[f"ci_low.{e.name}"], metrics[f"ci_high.{e.name}"] = e.ci
        if e.map is not None:
            metrics[f"map.{e.name}"] = e.map
            metrics[f"posterior_mean.{e.name}"] = e.posterior_mean
    metrics.update(fit.gof or {})
    for label, held in fit.heldout.items():
        # -inf is skipped as a metric (charts cannot show it); the count says why.
        metrics[f"heldout.{label}.mean_loglik"] = held.mean_loglik
        metrics[f"heldout.{label}.zero_probability"] = held.zero_probability
    return _finite(metrics)


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    """MLflow charts finite numbers; None, NaN and inf are left out (the files keep them)."""
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}


def trace_metrics(fit: Fit) -> list[Step]:
    """The optimizer's climb as step metrics (step = iteration): MLflow charts them."""
    rows = []
    for row in fit.trace:
        step = int(row["iteration"])
        for key, value in row.items():
            if key != "iteration" and value is not None and math.isfinite(value):
                rows.append((f"trace.{key}", float(value), step))
    return rows


def _log_batch(
    client,
    run_id: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    steps: list[Step] = (),
) -> None:
    """Few round trips: MLflow takes up to 100 params and 1000 metrics per batch."""
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    param_list = [Param(k, _param_value(v)) for k, v in params.items()]
    metric_list = [Metric(k, v, now, 0) for k, v in metrics.items()]
    metric_list += [Metric(k, v, now, step) for k, v, step in steps]
    for i in range(0, max(len(param_list), 1), 100):
        retry(client.log_batch, run_id, params=param_list[i : i + 100])
    for i in range(0, len(metric_list), 1000):
        retry(client.log_batch, run_id, metrics=metric_list[i : i + 1000])


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:480] + f"... ({len(text)} chars)"


def check_reachable(uri: str, timeout: float = 3.0) -> None:
    """Fail fast, with the reason, when an HTTP tracking server does not answer."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("http", "https"):
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        raise TrackingError(
            f"the MLflow tracking server at {uri} is not reachable ({exc.strerror or exc})"
        ) from None

"""What a job leaves behind: files in its run folder first, then one MLflow run.

Order matters: the results are on disk before MLflow is called, so a tracking failure
never loses a fit. Fit jobs, study jobs and the launcher (for failed jobs) all record
through here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import TrackingError
from runner.io.tracking import MlflowTracker, NullTracker, Step, Tracker
from runner.jobs.config import RunnerConfig, TrackingConfig

RESULTS_FILE = "results.json"
TRACE_FILE = "trace.csv"
STATUS_FILE = "status.json"


@dataclass
class JobOutcome:
    fit: Any  # runner.stats.result.Fit for a single fit; None for a study
    results_path: Path
    tracked_at: str | None
    tracking_error: str | None = None
    study: Any = None  # runner.stats.study.StudyResult for study=convergence


def write_json(path: Path, record: dict[str, Any], allow_nan: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(record), indent=2, allow_nan=allow_nan) + "\n")
    return path


def write_status(run_dir: Path, status: str, error: str | None = None) -> None:
    write_json(run_dir / STATUS_FILE, {"status": status, "error": error})


def write_trace(trace: list[dict[str, float]], path: Path) -> None:
    """The optimizer's climb, one row per iteration (iteration, loglik, grad_norm, params)."""
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(trace[0]))
        writer.writeheader()
        writer.writerows(trace)


def make_tracker(tracking: TrackingConfig) -> Tracker:
    if not tracking.enabled:
        return NullTracker()
    return MlflowTracker(tracking.uri, tracking.experiment)


def track(
    spec: RunnerConfig,
    run_dir: Path,
    run_name: str,
    metrics: dict[str, float],
    steps: list[Step],
    tags: dict[str, str],
    echo: Callable[[str], Any] = print,
    status: str = "FINISHED",
) -> tuple[str | None, str | None]:
    """Send what the run folder holds to the tracker; (where, None) or (None, error)."""
    try:
        where = make_tracker(spec.tracking).log_run(
            params=flat_params(spec),
            metrics=metrics,
            steps=steps,
            run_dir=run_dir,
            run_name=run_name,
            tags=tags,
            status=status,
        )
    except TrackingError as exc:
        return None, str(exc)
    if where:
        echo(f"logged: {where}")
    return where, None


def flat_params(spec: RunnerConfig) -> dict[str, Any]:
    """The config as flat ``a.b.c`` keys, lists as one value; the tracking URI left out."""
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            flat[prefix[:-1]] = node

    walk(dataclasses.asdict(spec), "")
    flat.pop("tracking.uri", None)
    return flat


def jsonable(value: Any) -> Any:
    """Numpy arrays and scalars as plain lists and numbers, recursively."""
    import numpy as np

    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value

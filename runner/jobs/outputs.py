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
from runner.io import tracking_worker
from runner.io.tracking import (
    DataRecord,
    MlflowTracker,
    NullTracker,
    Step,
    Tracker,
    code_block,
)
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


def write_status(run_dir: Path, status: str, error: str | None = None, **extra: Any) -> None:
    """``status.json``: FINISHED, FAILED or KILLED, the error, and anything else the job
    records about itself (a sweep's job: its fingerprint, see runner/jobs/resume.py)."""
    write_json(run_dir / STATUS_FILE, {"status": status, "error": error, **extra})


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
    if tracking_worker.enabled():  # the command line: MLflow already imported next door
        return tracking_worker.WarmTracker(tracking.uri, tracking.experiment)
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
    note: str | None = None,
    dataset: DataRecord | None = None,
) -> tuple[str | None, str | None]:
    """Send what the run folder holds to the tracker; (where, None) or (None, error).

    ``note`` is the run's description (Markdown): given, else a FAILED run's error.
    ``dataset`` is what was fitted (MLflow's dataset tracking).
    """
    if note is None and status == "FAILED" and tags.get("error"):
        note = f"**FAILED**\n\n{code_block(tags['error'])}"
    try:
        where = make_tracker(spec.tracking).log_run(
            params=flat_params(spec),
            metrics=metrics,
            steps=steps,
            run_dir=run_dir,
            run_name=run_name,
            tags=tags,
            status=status,
            note=note,
            dataset=dataset,
        )
    except TrackingError as exc:
        return None, str(exc)
    if where:
        echo(f"logged: {where}")
    return where, None


def flat_params(spec: RunnerConfig) -> dict[str, Any]:
    """The settings that are set, as flat ``a.b.c`` keys, lists as one value: None and
    empty mappings or lists are left out (they fill MLflow's compare view with blanks),
    and so is the tracking URI."""
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        elif node is not None and not (isinstance(node, (list, tuple)) and not node):
            flat[prefix[:-1]] = node

    walk(dataclasses.asdict(spec), "")
    flat.pop("tracking.uri", None)
    flat.pop("resume", None)  # how a sweep was launched, not a setting of the fit
    # each study's own settings only (a fit's runs need no candidates, a ranking no sizes)
    other = CONVERGENCE_KEYS if spec.study.name == "rank" else RANK_KEYS
    for key in other:
        flat.pop(f"study.{key}", None)
    return flat


RANK_KEYS = ("candidates", "fixed", "show", "jobs")
CONVERGENCE_KEYS = ("sizes", "replicates", "stream", "slope_from", "max_memory_mb")


# ---- what was fitted, for MLflow's Dataset column -----------------------------------------


def data_record(spec: RunnerConfig, x: Any, digest: str, source: str | None = None) -> DataRecord:
    """The fitted values ``x`` (a numpy array) as MLflow should list them: a name that says
    what they are, the runner's hash of them, their shape and type, and where they came
    from (the file, or how they were made)."""
    dtype = getattr(x, "dtype", None)
    kind = "str" if dtype is None or dtype.kind in "OUS" else str(dtype)
    return _record(spec, digest, tuple(int(d) for d in x.shape), kind, source)


def _record(spec: RunnerConfig, digest: str, shape: tuple[int, ...], dtype: str,
            source: str | None = None) -> DataRecord:  # fmt: skip
    data = spec.data
    source = source or data.source
    if source in ("csv", "npy") and data.path:
        path = Path(data.path).resolve()
        column = data.column or (",".join(data.columns) if data.columns else None)
        name = path.name + (f":{column}" if column and source == "csv" else "")
        return DataRecord(name, digest, shape, dtype, path=str(path))
    code: dict[str, Any] = {"data.source": source, "model": spec.model.name}
    if source == "synthetic":
        name = f"synthetic {spec.model.name}({truth_text(spec.model.truth)})"[:80]
        name += f" n={shape[0]} seed={spec.seed}"
        code.update(truth=jsonable(spec.model.truth), n=shape[0], seed=spec.seed)
    elif source == "counts":
        counts = data.counts or {}
        name = "counts " + " ".join(f"{k}:{v}" for k, v in counts.items())
        code["counts"] = {str(k): v for k, v in counts.items()}
    else:
        name = f"{source} values (n={shape[0]})"
    return DataRecord(name[:200], digest, shape, dtype, code=code)


def truth_text(truth: dict[str, Any]) -> str:
    """True parameters short enough for a dataset name: ``mu=0, sigma=1``."""

    def short(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:g}"
        text = str(value).replace(" ", "")
        return text if len(text) <= 24 else text[:21] + "..."

    return ", ".join(f"{k}={short(v)}" for k, v in truth.items())


# ---- run names: what varies first, short enough for the runs table (~25 characters) ----

# Config groups: an override of one reads as its choice alone (``poisson``, ``newton``).
SWEEP_KEYS_ENV = "RUNNER_SWEEP_KEYS"  # the keys a sweep varies, set by the sweep callback
_GROUPS = ("model", "data", "optimizer", "estimator", "study", "experiment", "tracking")


def run_name(spec: Any, experiment: str | None = None) -> str:
    """A single run's name: the model, the choices that are not the defaults, and the data
    (``gaussian n=1000 seed=0``, ``gamma newton x.csv:v``). ``spec`` is the composed
    config or its RunnerConfig (attributes only)."""
    parts = [experiment] if experiment else []
    if spec.study.name != "rank" or spec.data.source == "synthetic":  # rank: no model of its own
        parts.append(spec.model.name)
    if spec.study.name != "single":
        parts.append(spec.study.name)
    if spec.estimator.name != "mle":
        parts.append(spec.estimator.name)
    if spec.optimizer.name != "auto":
        parts.append(spec.optimizer.name)
    data = spec.data
    if data.source == "synthetic":
        parts += ([] if spec.study.name != "single" else [f"n={spec.n}"]) + [f"seed={spec.seed}"]
    elif data.source in ("csv", "npy") and data.path:
        column = f":{data.column}" if data.column and data.source == "csv" else ""
        parts.append(Path(data.path).name + column)
    elif not experiment:
        parts.append(data.source)
    return " ".join(parts)


def swept_keys() -> list[str] | None:
    """The keys the current sweep varies (``["model", "n"]``), as the sweep callback told
    its jobs; None when it did not (tracking off, or another callback)."""
    import os

    text = os.environ.get(SWEEP_KEYS_ENV)
    if not text:
        return None
    try:
        keys = json.loads(text)
    except ValueError:
        return None
    return [str(k) for k in keys] if isinstance(keys, list) else None


def job_name(overrides: list[str], swept: list[str] | None, model: str) -> str:
    """A sweep job's name: the overrides the sweep varies, in order (``poisson n=100
    seed=3``), then the model if the sweep does not vary it; all the job's overrides when
    the swept keys are unknown."""
    parts, has_model = [], False
    for item in overrides:
        key, _, value = item.lstrip("+~").partition("=")
        if (swept is not None and key not in swept) or key == "resume":  # how it was launched
            continue
        has_model = has_model or key == "model"
        parts.append(value if key in _GROUPS else f"{key.rsplit('.', 1)[-1]}={value}")
    if not has_model:
        parts.append(model)
    return " ".join(parts)


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

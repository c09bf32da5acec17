"""One Hydra job, start to end: run it, write its status, turn failures into words.

A single run that fails prints one paragraph and exits non-zero. Inside a sweep a failed
job must not stop the others (Hydra would skip ``on_multirun_end`` and leave the sweep's
MLflow run open): it is recorded as a FAILED child run with the error as a tag, its folder
keeps what it had plus ``status.json``, and the sweep's end counts it.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

STATUS_FILE = "status.json"


def execute(cfg: Any, run_dir: Path, run_name: str, tags: dict[str, str], in_sweep: bool) -> int:
    """Run the job; return its exit status (0 ok, 1 failed)."""
    from runner.app import run
    from runner.errors import RunnerError

    try:
        outcome = run(cfg, run_dir, run_name, extra_tags=tags)
    except RunnerError as exc:
        if debugging():
            traceback.print_exc()
        return _failed(cfg, run_dir, run_name, tags, str(exc), in_sweep)
    except Exception as exc:
        if not in_sweep:
            raise  # a bug: keep the traceback
        traceback.print_exc()
        return _failed(cfg, run_dir, run_name, tags, f"{type(exc).__name__}: {exc}", in_sweep)
    if outcome.tracking_error:
        print(
            f"warning: {outcome.tracking_error}\n"
            f"The results are saved in {outcome.results_path}; nothing is lost.",
            file=sys.stderr,
        )
        if cfg.tracking.required:
            print(
                "Exiting with status 1 because tracking.required=true "
                "(set tracking.required=false to accept results on disk only).",
                file=sys.stderr,
            )
            write_status(run_dir, "FAILED", f"tracking: {outcome.tracking_error}")
            return 1
    write_status(run_dir, "FINISHED")
    return 0


def debugging() -> bool:
    """Tracebacks for the runner's own errors too: RUNNER_DEBUG=1 or hydra.verbose=true."""
    if os.environ.get("RUNNER_DEBUG", "").lower() in ("1", "true", "yes"):
        return True
    try:
        from hydra.core.hydra_config import HydraConfig

        return bool(HydraConfig.get().verbose)
    except Exception:  # no Hydra context (tests calling execute directly)
        return False


def write_status(run_dir: Path, status: str, error: str | None = None) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {"status": status, "error": error}
    (run_dir / STATUS_FILE).write_text(json.dumps(record, indent=2) + "\n")


def _failed(cfg, run_dir: Path, run_name: str, tags: dict, error: str, in_sweep: bool) -> int:
    print(f"error: {error}", file=sys.stderr)
    write_status(run_dir, "FAILED", error)
    if in_sweep and cfg.tracking.enabled:
        from runner.app import flat_params, make_tracker
        from runner.errors import TrackingError

        try:
            make_tracker(cfg.tracking).log_run(
                params=flat_params(cfg),
                metrics={},
                steps=[],
                run_dir=run_dir,
                run_name=run_name,
                tags={**tags, "model": str(cfg.model.name), "error": error[:5000]},
                status="FAILED",
            )
        except TrackingError as exc:
            print(f"warning: the failure could not be logged either: {exc}", file=sys.stderr)
    return 1

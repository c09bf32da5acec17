"""Sweeps in MLflow: one parent run per ``-m`` sweep, one child per job.

A Hydra callback (``hydra.callbacks.sweep`` in ``conf/config.yaml``). Before any job
starts it creates the store and the experiment once, in the launching process (parallel
jobs racing to create a fresh SQLite schema fail), and opens the parent run with
``MlflowClient`` (a fluent ``start_run`` would make every job in the same process fail as
"already active"). Jobs find the parent through an environment variable. At the end it
counts the jobs' ``status.json`` files, closes the parent (FAILED if any job failed) and
exits non-zero if one did. An ``atexit`` guard closes the parent as KILLED when the sweep
is interrupted, so it is never left RUNNING.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from runner.io.tracking import PARENT_RUN_ENV, PARENT_URI_ENV, MlflowTracker, retry
from runner.jobs.outputs import STATUS_FILE


class SweepCallback(Callback):
    def __init__(self) -> None:
        self.tracker: MlflowTracker | None = None
        self.client = None
        self.parent: str | None = None

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        if not config.tracking.enabled:
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        self.tracker = MlflowTracker(config.tracking.uri, config.tracking.experiment)
        try:
            self.client = self.tracker.client(write=True)
            experiment_id = self.tracker.experiment_id(self.client)
            overrides = " ".join(config.hydra.overrides.task)
            run = retry(
                self.client.create_run,
                experiment_id,
                run_name=f"sweep {sweep_dir.parent.name}/{sweep_dir.name}",
                tags={
                    "sweep.dir": str(sweep_dir.resolve()),
                    "sweep.overrides": overrides,
                    "model": "sweep",
                },
            )
        except Exception as exc:  # no parent: the jobs still run and report on their own
            print(f"warning: could not open the sweep's MLflow run: {exc}", file=sys.stderr)
            return
        self.parent = run.info.run_id
        os.environ[PARENT_RUN_ENV] = self.parent
        os.environ[PARENT_URI_ENV] = self.tracker.uri
        atexit.register(self._close, "KILLED")
        # SIGTERM (kill, Slurm time limits, timeout) skips atexit unless it becomes an exit.
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        ):
            signal.signal(signal.SIGTERM, lambda number, _: sys.exit(128 + number))

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        statuses = _statuses(sweep_dir)
        failed = {job: error for job, (status, error) in statuses.items() if status != "FINISHED"}
        self._close("FAILED" if failed else "FINISHED", len(statuses), len(failed))
        summary = f"sweep: {len(statuses)} job(s), {len(statuses) - len(failed)} finished"
        if failed:
            first = next(iter(failed.items()))
            summary += f", {len(failed)} FAILED (e.g. job {first[0]}: {first[1]})"
        print(f"{summary}; results in {sweep_dir}", file=sys.stderr)
        if failed:
            sys.exit(1)

    def _close(self, status: str, jobs: int | None = None, failed: int | None = None) -> None:
        if self.parent is None or self.client is None:
            return
        parent, self.parent = self.parent, None
        try:
            if jobs is not None:
                retry(self.client.set_tag, parent, "sweep.jobs", str(jobs))
                retry(self.client.set_tag, parent, "sweep.failed", str(failed))
            retry(self.client.set_terminated, parent, status=status)
        except Exception as exc:
            print(f"warning: could not close the sweep's MLflow run: {exc}", file=sys.stderr)
        for key in (PARENT_RUN_ENV, PARENT_URI_ENV):
            os.environ.pop(key, None)


def _statuses(sweep_dir: Path) -> dict[str, tuple[str, str | None]]:
    """Job folder name -> (status, error), from each job's status.json."""
    found = {}
    for path in sorted(sweep_dir.glob(f"*/{STATUS_FILE}")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            record = {"status": "UNKNOWN", "error": "unreadable status.json"}
        found[path.parent.name] = (record.get("status", "UNKNOWN"), record.get("error"))
    return found

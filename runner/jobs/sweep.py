"""Sweeps in MLflow: one parent run per ``-m`` sweep, one child per job.

A Hydra callback (``hydra.callbacks.sweep`` in ``conf/config.yaml``). Before any job
starts it creates the store and the experiment once, in the launching process (parallel
jobs racing to create a fresh SQLite schema fail), and opens the parent run with
``MlflowClient`` (a fluent ``start_run`` would make every job in the same process fail as
"already active"). Jobs find the parent, and the keys the sweep varies (their run names
start with them), through environment variables. At the end it counts the jobs'
``status.json`` files, writes the sweep's report into the sweep folder and logs it to the
parent with the counts and the best model by AIC, closes the parent (FAILED if any job
failed) and exits non-zero if one did. An ``atexit`` guard closes the parent as KILLED
when the sweep is interrupted, so it is never left RUNNING.

Every sweep folder gets ``sweep.json`` (its overrides, parent run and store). With
``resume=true`` the callback reopens that parent instead of making one, and tells the
jobs which folders are done (runner/jobs/resume.py); at the end it keeps one child per
job and counts every job of the folder once.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from runner.io.tracking import (
    NOTE_TAG,
    PARENT_RUN_ENV,
    PARENT_URI_ENV,
    MlflowTracker,
    clip_note,
    retry,
)
from runner.jobs import resume
from runner.jobs.outputs import STATUS_FILE, SWEEP_KEYS_ENV

_ENV = (PARENT_RUN_ENV, PARENT_URI_ENV, SWEEP_KEYS_ENV)
PARENT_TAG = "sweep.parent"  # "true" on a sweep's parent run: how readers tell it apart


class SweepCallback(Callback):
    def __init__(self) -> None:
        self.tracker: MlflowTracker | None = None
        self.client = None
        self.parent: str | None = None
        self.experiment_id: str | None = None
        self.keys: list[str] = []
        self.sweep_dir: Path | None = None
        self.resumed: resume.Resumed | None = None
        self.record: dict[str, Any] | None = None  # the folder's sweep.json, when resumed

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        task = list(config.hydra.overrides.task)
        how = resume.mode(config, task)
        sweep_dir, record = (resume.choose(config, how, task) if how
                             else (Path(config.hydra.sweep.dir), None))  # fmt: skip
        self.sweep_dir, self.record = sweep_dir, record
        self.keys, jobs = swept(task)
        children = None
        if config.tracking.enabled:
            children = self._open_parent(config, sweep_dir, task, jobs, record)
        self._write_record(config, sweep_dir, task)
        if record is not None:  # resuming: tell the jobs what is done
            self.resumed = resume.plan(sweep_dir, children)
            atexit.register(self._forget_plan)

    def _open_parent(self, config: Any, sweep_dir: Path, task: list[str], jobs: int | None,
                     record: dict[str, Any] | None) -> dict[str, list[Any]] | None:  # fmt: skip
        """Open the sweep's parent run (a resumed sweep's own, reopened) and tell the jobs;
        a resumed sweep's children by job folder (None if MLflow cannot say)."""
        self.tracker = MlflowTracker(config.tracking.uri, config.tracking.experiment)
        recorded_uri = (record or {}).get("tracking_uri")
        if recorded_uri and recorded_uri != self.tracker.uri:
            resume.refuse(f"the sweep in {sweep_dir} was tracked at {recorded_uri}, not "
                          f"{self.tracker.uri}: resume it with tracking.uri={recorded_uri}, "
                          "so its jobs stay under one parent run")  # fmt: skip
        children = None
        try:
            self.client = self.tracker.client(write=True)
            self.experiment_id = self.tracker.experiment_id(self.client)
            parent = self._reopen(sweep_dir, record) if record is not None else None
            if parent is None:
                run = retry(
                    self.client.create_run,
                    self.experiment_id,
                    run_name=parent_name(self.keys, jobs),
                    tags={
                        "sweep.dir": str(sweep_dir.resolve()),
                        "sweep.overrides": " ".join(resume.without_resume(task)),
                        PARENT_TAG: "true",
                    },
                )
                parent = run.info.run_id
            elif record is not None:
                children = resume.children_by_folder(self.client, self.experiment_id,
                                                     parent, sweep_dir)  # fmt: skip
            if record is not None and children is None:
                children = {}  # a new parent: no job has a child under it yet
        except Exception as exc:  # no parent: the jobs still run and report on their own
            print(f"warning: could not open the sweep's MLflow run: {exc}", file=sys.stderr)
            return None
        self.parent = parent
        os.environ[PARENT_RUN_ENV] = self.parent
        os.environ[PARENT_URI_ENV] = self.tracker.uri
        os.environ[SWEEP_KEYS_ENV] = json.dumps(self.keys)
        atexit.register(self._close, "KILLED")
        # SIGTERM (kill, Slurm time limits, timeout) skips atexit unless it becomes an exit.
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        ):
            signal.signal(signal.SIGTERM, lambda number, _: sys.exit(128 + number))
        return children

    def _reopen(self, sweep_dir: Path, record: dict[str, Any]) -> str | None:
        """The resumed sweep's parent run, RUNNING again; None if the store lacks it."""
        parent = record.get("parent_run_id") or resume.find_parent(
            self.client, self.experiment_id, sweep_dir
        )
        if parent is None:
            return None
        try:
            run = retry(self.client.get_run, parent)
            if run.info.lifecycle_stage != "active":
                raise LookupError("it was deleted")
            retry(self.client.update_run, parent, status="RUNNING")
        except Exception as exc:
            print(f"warning: the sweep's MLflow run {parent} cannot be reopened ({exc}); its "
                  "jobs go under a new one", file=sys.stderr)  # fmt: skip
            return None
        return parent

    def _write_record(self, config: Any, sweep_dir: Path, task: list[str]) -> None:
        """sweep.json: what a resume needs (a resume keeps the first run's store and
        parent when it tracks nothing itself)."""
        record = dict(self.record or {})
        record["overrides"] = resume.without_resume(task)
        if self.record is None:
            record["started"] = resume.now()
        else:
            record["resumed"] = [*record.get("resumed", []), resume.now()]
        if config.tracking.enabled and self.parent is not None and self.tracker is not None:
            record.update(parent_run_id=self.parent, tracking_uri=self.tracker.uri,
                          experiment=self.tracker.experiment,
                          experiment_id=self.experiment_id)  # fmt: skip
        try:
            sweep_dir.mkdir(parents=True, exist_ok=True)  # FolderCheck said it can be made
            resume.write_record(sweep_dir, record)
        except OSError as exc:
            print(f"warning: could not write {sweep_dir / resume.SWEEP_FILE} "
                  f"({exc.strerror or exc}): this sweep cannot be resumed",
                  file=sys.stderr)  # fmt: skip

    def _forget_plan(self) -> None:
        if self.resumed is not None:
            self.resumed.done()

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = self.sweep_dir or Path(config.hydra.sweep.dir)
        skipped = None
        if self.resumed is not None:
            skipped = self.resumed.skipped()
            self.resumed.done()  # before the report: the plan is no job's folder
        statuses = _statuses(sweep_dir)
        failed = {job: error for job, (status, error) in statuses.items() if status != "FINISHED"}
        where = None
        if self.parent is not None and self.tracker is not None and self.experiment_id:
            where = self.tracker.open_hint(self.experiment_id, self.parent)
            extra = {}
            if skipped is not None:
                self._supersede(sweep_dir, skipped)
                extra = {
                    "sweep.skipped": str(len(skipped)),
                    "sweep.resumed": str(len((self.record or {}).get("resumed", [])) + 1),
                }
            self._record(sweep_dir, len(statuses), failed, extra)
        self._close("FAILED" if failed else "FINISHED")
        summary = f"sweep: {len(statuses)} job(s), {len(statuses) - len(failed)} finished"
        if skipped is not None:
            summary += f" ({len(skipped)} skipped: already finished)"
        if failed:
            first = next(iter(failed.items()))
            summary += f", {len(failed)} FAILED (e.g. job {first[0]}: {first[1]})"
        print(f"{summary}; results in {sweep_dir}", file=sys.stderr)
        if where:
            print(f"  the sweep in MLflow: {where}", file=sys.stderr)
        if failed:
            sys.exit(1)

    def _supersede(self, sweep_dir: Path, skipped: dict[str, str | None]) -> None:
        """One child per job folder: the earlier attempts of the jobs that ran again are
        soft-deleted (a warning if they cannot be)."""
        try:
            children = resume.children_by_folder(self.client, self.experiment_id,
                                                 self.parent, sweep_dir)  # fmt: skip
            resume.supersede(self.client, children, skipped)
        except Exception as exc:
            print(f"warning: could not retire the earlier attempts' MLflow runs: {exc}",
                  file=sys.stderr)  # fmt: skip

    def _record(self, sweep_dir: Path, jobs: int, failed: dict[str, str | None],
                extra_tags: dict[str, str] | None = None) -> None:  # fmt: skip
        """The parent's summary: job counts, the report (written into the sweep folder,
        then logged), the best model by AIC, and its name with the real job count. A report
        that cannot be made costs a warning, never the sweep."""
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        metrics = {"jobs.finished": jobs - len(failed), "jobs.failed": len(failed)}
        tags = {"sweep.jobs": str(jobs), "sweep.failed": str(len(failed)), **(extra_tags or {})}
        files: list[Path] = []
        try:
            files, found_metrics, found_tags = sweep_report(sweep_dir, jobs, failed)
            metrics.update(found_metrics)
            tags.update(found_tags)
        except (Exception, SystemExit) as exc:  # report.py exits on a folder without jobs
            print(f"warning: could not write the sweep's report: {exc}", file=sys.stderr)
        try:
            retry(self.client.log_batch, self.parent,
                  metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
                  tags=[RunTag(k, v) for k, v in tags.items()])  # fmt: skip
            for path in files:
                retry(self.client.log_artifact, self.parent, str(path))
            retry(self.client.update_run, self.parent, name=parent_name(self.keys, jobs))
        except Exception as exc:
            print(f"warning: could not log the sweep's summary to MLflow: {exc}",
                  file=sys.stderr)  # fmt: skip

    def _close(self, status: str) -> None:
        if self.parent is None or self.client is None:
            return
        parent, self.parent = self.parent, None
        try:
            retry(self.client.set_terminated, parent, status=status)
        except Exception as exc:
            print(f"warning: could not close the sweep's MLflow run: {exc}", file=sys.stderr)
        for key in _ENV:
            os.environ.pop(key, None)


def swept(overrides: list[str]) -> tuple[list[str], int | None]:
    """The keys a sweep varies (``model=a,b n=range(3)`` -> model, n) and its number of
    jobs (None when a sweep cannot be counted, e.g. an interval for an optimizer)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:  # Hydra will refuse them itself, in its own words
        return [], None
    keys, jobs = [], 1
    for override in parsed:
        if not override.is_sweep_override():
            continue
        keys.append(override.key_or_group)
        try:
            jobs *= len(list(override.sweep_string_iterator()))
        except Exception:
            jobs = None
            break
    return keys, jobs if keys else None


def parent_name(keys: list[str], jobs: int | None) -> str:
    """``sweep: model x n (12 jobs)``: what the sweep varies, and how many jobs it ran."""
    shown = " x ".join(key.rsplit(".", 1)[-1] for key in keys) or "overrides"
    count = "" if jobs is None else f" ({jobs} job{'s' if jobs != 1 else ''})"
    return f"sweep: {shown}{count}"


def sweep_report(
    sweep_dir: Path, jobs: int, failed: dict[str, str | None]
) -> tuple[list[Path], dict[str, float], dict[str, str]]:
    """The report of runner.io.report for the sweep folder, written there: its files, and
    the parent's numbers and tags from it (the best model by AIC where models were ranked
    on the same data, and a short description: the ranking and the failures, the wide
    table of every job staying in report.md)."""
    import pandas as pd

    from runner.io import report

    frame = report.from_folder(sweep_dir)
    written = report.write(frame, sweep_dir, f"Sweep {sweep_dir}")
    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    lines = [f"**{jobs} job(s): {jobs - len(failed)} finished, {len(failed)} "
             "failed.** Every job's numbers are in `report.md` and `report.csv` (Artifacts).",
             ""]  # fmt: skip
    ranking = next((p for p in written if p.name == "ranking.csv"), None)
    if ranking is not None:
        ranks = pd.read_csv(ranking)
        winners = ranks[ranks["rank"] == 1]
        if winners["data"].nunique() == 1:
            best = winners.iloc[0]
            tags["best_model"] = str(best["model"])
            metrics["best.aic"] = float(best["aic"])
            runner_up = ranks[ranks["rank"] == 2]
            gap = ""
            if len(runner_up):
                metrics["best.delta_aic"] = float(runner_up["delta_aic"].iloc[0])
                gap = f" (AIC {metrics['best.delta_aic']:.3g} below the next)"
            lines.append(f"Best by AIC on the same data: **{best['model']}**{gap}")
            ranks = ranks.drop(columns=["data"])
        else:  # several data sets, each with its own winner
            counts = winners["model"].value_counts()
            tags["best_model"] = ", ".join(f"{m} ({c} data sets)" for m, c in counts.items())
            lines.append(f"Best by AIC, per data set: {tags['best_model']}")
        lines += ["", report.markdown(ranks), ""]
    if failed:
        lines += ["Failed jobs:", ""]
        lines += [f"- job {job}: {error}" for job, error in list(failed.items())[:20]]
    tags[NOTE_TAG] = clip_note("\n".join(lines).rstrip())
    return written, metrics, tags


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

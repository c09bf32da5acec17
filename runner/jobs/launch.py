"""One Hydra job, start to end: turn the config into a spec, run it, write its status,
turn failures into words.

A single run that fails prints one paragraph and exits non-zero. Inside a sweep a failed
job must not stop the others (Hydra would skip ``on_multirun_end`` and leave the sweep's
MLflow run open): it is recorded as a FAILED child run with the error as a tag, its folder
keeps what it had plus ``status.json``, and the sweep's end counts it. A sweep's job that
finishes records its fingerprint in ``status.json``; with ``resume=true`` a job whose
folder finished with the same fingerprint is skipped (runner/jobs/resume.py).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.errors import ConfigError, RunnerError
from runner.jobs import resume
from runner.jobs.config import RunnerConfig, to_spec
from runner.jobs.outputs import STATUS_FILE, JobOutcome, track, write_status

STUDIES = ("single", "convergence", "rank")
INTERRUPTED = 130  # the shell's exit status for a process stopped by SIGINT (128 + 2)

__all__ = ["STATUS_FILE", "STUDIES", "execute", "run"]


def run(
    spec: RunnerConfig,
    run_dir: Path,
    run_name: str,
    echo: Callable[[str], Any] = print,
    extra_tags: dict[str, str] | None = None,
) -> JobOutcome:
    """The job the config asks for: one fit (``study=single``) or a convergence study."""
    if spec.study.name == "single":
        from runner.jobs import fit_job as job
    elif spec.study.name == "convergence":
        from runner.jobs import study_job as job
    elif spec.study.name == "rank":
        from runner.jobs import rank_job as job
    else:
        raise ConfigError(
            f"unknown study {spec.study.name!r}; choose one of: {', '.join(STUDIES)}"
        )
    return job.run(spec, run_dir, run_name, echo, extra_tags)


def execute(cfg: Any, run_dir: Path, run_name: str, tags: dict[str, str], in_sweep: bool) -> int:
    """Run the job for the composed config (a ``DictConfig`` or a spec); return its exit
    status (0 ok, 1 failed)."""
    spec = None
    stamp = None
    try:
        spec = to_spec(cfg)
        if in_sweep:  # what the job's results depend on, before it reads anything
            stamp = resume.fingerprint(spec)
            skipped = resume.skip(run_dir, stamp, run_name)
            if skipped:
                print(skipped)
                return 0
        elif spec.resume:
            raise ConfigError(
                f"resume={str(spec.resume).lower()} resumes a sweep: run the sweep's command "
                "again with -m, hydra.sweep.dir=<its folder> and resume=true"
            )
        outcome = run(spec, run_dir, run_name, extra_tags=tags)
    except RunnerError as exc:
        if debugging():
            traceback.print_exc()
        return _failed(spec, run_dir, run_name, tags, str(exc), in_sweep)
    except KeyboardInterrupt:
        print(f"interrupted: the run stopped before it finished; {run_dir} keeps what it "
              "had written (status KILLED)", file=sys.stderr)  # fmt: skip
        _write_status_quietly(run_dir, "KILLED", "interrupted (Ctrl-C or SIGINT)")
        if in_sweep:
            raise  # stop the whole sweep; its guard closes the parent run as KILLED
        return INTERRUPTED
    except OSError as exc:  # the machine, not the maths: a disk full, a folder gone
        where = f" {exc.filename}" if exc.filename else ""
        error = f"cannot write{where}: {exc.strerror or exc}"
        return _failed(spec, run_dir, run_name, tags, error, in_sweep)
    except Exception as exc:
        if not in_sweep:
            raise  # a bug: keep the traceback
        traceback.print_exc()
        return _failed(spec, run_dir, run_name, tags, f"{type(exc).__name__}: {exc}", in_sweep)
    if outcome.tracking_error:
        print(
            f"warning: {outcome.tracking_error}\n"
            f"The results are saved in {outcome.results_path}; nothing is lost.",
            file=sys.stderr,
        )
        if spec.tracking.required:
            print(
                "Exiting with status 1 because tracking.required=true "
                "(set tracking.required=false to accept results on disk only).",
                file=sys.stderr,
            )
            write_status(run_dir, "FAILED", f"tracking: {outcome.tracking_error}")
            return 1
    # a sweep's job records its fingerprint: resume=true skips it while that holds
    write_status(run_dir, "FINISHED", **({"fingerprint": stamp} if stamp else {}))
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


def _failed(
    spec: RunnerConfig | None,
    run_dir: Path,
    run_name: str,
    tags: dict[str, str],
    error: str,
    in_sweep: bool,
) -> int:
    print(f"error: {error}", file=sys.stderr)
    _write_status_quietly(run_dir, "FAILED", error)
    # A sweep's failed job is a FAILED child run; without a spec (the config itself was
    # refused) there are no settings to log it with, and status.json says why.
    if in_sweep and spec is not None and spec.tracking.enabled:
        _, problem = track(spec, run_dir, run_name, {}, [],
                           {**tags, "model": str(spec.model.name), "error": error[:5000],
                            "run_dir": str(run_dir.resolve())},
                           echo=lambda *_: None, status="FAILED")  # fmt: skip
        if problem:
            print(f"warning: the failure could not be logged either: {problem}", file=sys.stderr)
    return 1


def _write_status_quietly(run_dir: Path, status: str, error: str) -> None:
    """status.json where it can be written; the message already told the user the rest."""
    try:
        write_status(run_dir, status, error)
    except OSError as exc:
        print(f"warning: could not write {run_dir}/status.json: {exc.strerror or exc}",
              file=sys.stderr)  # fmt: skip

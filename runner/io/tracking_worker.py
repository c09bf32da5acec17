"""MLflow in a second process, warmed up while the job computes.

Importing MLflow and its SQL store costs over a second, more than a quick fit, its
files and its figures together. From the command line the runner therefore starts this
worker before Hydra composes the config: it imports MLflow on the other core while the
job runs, then logs each run the job hands it (``WarmTracker``) and answers with what
``MlflowTracker.log_run`` returned or raised. The job still waits for that answer, so
``logged: ...`` and tracking warnings come where they always did and nothing is logged
after the process exits. If the worker is gone (killed, crashed, never started), the
run is logged in-process instead: a record is never lost to the worker.

``RUNNER_TRACKING_WORKER=1`` (set by ``python -m runner``) turns it on; ``0`` turns it
off. The Python API and tests calling jobs directly log in-process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import signal
import subprocess
import sys
import traceback
from typing import Any, BinaryIO

from runner.errors import TrackingError
from runner.io.tracking import MlflowTracker

ENV = "RUNNER_TRACKING_WORKER"
# Passed to the worker with each run: what the sweep callback sets for its jobs and any
# MLflow setting changed after the worker started.
_ENV_PREFIXES = ("RUNNER_", "MLFLOW_")
# Arguments that print and exit, or say that nothing is tracked: no worker for those.
_NO_TRACKING_ARGS = ("tracking=none", "tracking.enabled=false", "tracking.enabled=False")
_INFO_FLAGS = ("-h", "--help", "--hydra-help", "--cfg", "-c", "--info", "-i",
               "--shell-completion", "-sc", "--version")  # fmt: skip


def enabled() -> bool:
    return os.environ.get(ENV) == "1"


def start_early(argv: list[str]) -> None:
    """Turn the worker on for this process and its children, and start it now, unless the
    command line only asks for help or turns tracking off (RUNNER_TRACKING_WORKER=0 wins)."""
    if os.environ.get(ENV, "1") != "1":
        return
    os.environ[ENV] = "1"
    args = argv[1:]
    if any(a in _INFO_FLAGS or a.split("=")[0] in _INFO_FLAGS for a in args):
        return
    if any(a.lstrip("+") in _NO_TRACKING_ARGS for a in args):
        return
    _Worker.get()


class WarmTracker:
    """The ``Tracker`` that logs through the worker (``MlflowTracker``'s arguments)."""

    def __init__(self, uri: str | None = None, experiment: str = "mle-runner"):
        self.uri = uri
        self.experiment = experiment

    def log_run(self, **record: Any) -> str | None:
        worker = _Worker.get()
        if worker is not None:
            env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
            reply = worker.ask((self.uri, self.experiment, os.getcwd(), env, record))
            if reply is not None:
                kind, value = reply
                if kind == "ok":
                    return value
                if kind == "tracking_error":
                    raise TrackingError(value)
                if kind == "interrupted":
                    raise KeyboardInterrupt
                # anything else: the worker failed in a way of its own; log here instead
                print(f"warning: the tracking worker failed ({value}); logging in-process",
                      file=sys.stderr)  # fmt: skip
        return MlflowTracker(self.uri, self.experiment).log_run(**record)


class _Worker:
    """The one worker process of this process (a sweep's jobs share it)."""

    _instance: _Worker | None = None
    _failed = False

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, ENV: "0"},
        )
        atexit.register(self.close)

    @classmethod
    def get(cls) -> _Worker | None:
        if cls._instance is not None and cls._instance.process.poll() is None:
            return cls._instance
        if cls._failed:
            return None
        try:
            cls._instance = cls()
        except OSError:  # cannot start a process: log in-process
            cls._failed = True
            return None
        return cls._instance

    def ask(self, request: tuple) -> tuple[str, Any] | None:
        """Send one run, wait for the answer; None when the worker is gone. Ctrl-C while
        waiting is passed on to the worker, which marks the run KILLED and exits."""
        try:
            _send(self.process.stdin, request)
            return pickle.load(self.process.stdout)
        except KeyboardInterrupt:
            self.process.send_signal(signal.SIGINT)  # ignored if the terminal sent it too
            self._wait_briefly()
            type(self)._instance = None
            raise
        except (OSError, EOFError, pickle.UnpicklingError):
            self.close()
            type(self)._instance = None
            return None

    def _wait_briefly(self) -> None:
        try:
            self.process.wait(timeout=10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            self.process.kill()

    def close(self) -> None:
        """End of the process: the worker has nothing pending (every run was awaited)."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _send(stream: BinaryIO, message: Any) -> None:
    pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


def _warm_up() -> None:
    """The imports a first ``log_run`` would pay (MLflow, its client, the SQL store)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        import mlflow.entities
        import mlflow.store.tracking.sqlalchemy_store
        import mlflow.tracking  # noqa: F401
    except Exception:  # not importable here: log_run will say why, in its own words
        pass


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    _warm_up()
    home = os.getcwd()
    while True:
        try:
            uri, experiment, cwd, env, record = pickle.load(requests)
        except (EOFError, OSError):
            return
        os.environ.update(env)
        for key in [k for k in os.environ if k.startswith(_ENV_PREFIXES) and k not in env]:
            del os.environ[key]
        os.environ[ENV] = "0"
        os.chdir(cwd or home)
        try:
            reply: tuple[str, Any] = ("ok", MlflowTracker(uri, experiment).log_run(**record))
        except TrackingError as exc:
            reply = ("tracking_error", str(exc))
        except KeyboardInterrupt:
            reply = ("interrupted", None)
        except Exception:
            reply = ("error", traceback.format_exc(limit=3).strip().splitlines()[-1])
        try:
            _send(replies, reply)
        except OSError:  # the job is gone
            return
        if reply[0] == "interrupted":
            return


def _first_interrupt_only(signum: int, frame: Any) -> None:
    """Ctrl-C reaches the worker twice (the terminal, then the job passing it on): the
    second must not cut short the run's closing as KILLED."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGINT, _first_interrupt_only)
    # The protocol owns the real stdout; anything MLflow prints goes to stderr.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C while idle: the job stops too
        _serve(sys.stdin.buffer, replies)
    # Every run was committed and answered: skip the interpreter's teardown of MLflow and
    # SQLAlchemy (~0.5 s, which the job would otherwise wait for at its exit).
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

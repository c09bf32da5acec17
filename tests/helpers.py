"""Shared test helpers: composing the project's configs with Hydra's compose API, and
running the command line as a new user would."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

import runner.jobs.config

CONF = (Path(__file__).resolve().parent.parent / "conf").resolve()


def compose_config(*overrides: str, hydra: bool = False):
    """The composed config for ``overrides``, as ``python -m runner`` would see it
    (``hydra=True`` keeps the ``hydra`` node); Hydra's global state is left clean."""
    runner.jobs.config.register()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose(
                config_name="config", overrides=list(overrides), return_hydra_config=hydra
            )
    finally:
        GlobalHydra.instance().clear()


# ---- subprocesses -----------------------------------------------------------------------
# Variables that would leak the developer's setup into a run: a tracking server, Hydra's
# full tracebacks, the runner's debug switch, a sweep's parent run.
_LEAKY = ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR", "RUNNER_DEBUG",
          "RUNNER_MLFLOW_PARENT_RUN_ID", "RUNNER_MLFLOW_PARENT_URI")  # fmt: skip
# A run is stopped only when it stops making progress this long: no new output and no file
# changing under its folder. A busy machine makes runs slower, not stalled, so no test
# depends on the machine's speed; a real hang still fails its test, not the session.
STALL_SECONDS = 600


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a new user has: no tracking URI, no telemetry, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env.update(extra)
    return env


def run_python(
    args: list[str], cwd: Path, stall: float = STALL_SECONDS, **extra_env: str
) -> subprocess.CompletedProcess:
    """``python ARGS`` in ``cwd`` to its end (text output captured), stopped only if it
    stalls (see STALL_SECONDS)."""
    with tempfile.TemporaryDirectory() as scratch:
        out_path, err_path = Path(scratch) / "out", Path(scratch) / "err"
        with out_path.open("w") as out, err_path.open("w") as err:
            proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=clean_env(**extra_env),
                                    stdout=out, stderr=err, text=True)  # fmt: skip
            last, changed = None, time.monotonic()
            while proc.poll() is None:
                time.sleep(0.25)
                now = _progress(cwd, out_path, err_path)
                if now != last:
                    last, changed = now, time.monotonic()
                elif time.monotonic() - changed > stall:
                    proc.kill()
                    proc.wait()
                    raise AssertionError(
                        f"python {' '.join(args)} made no progress for {stall:.0f} s\n"
                        f"--- stdout\n{out_path.read_text()[-3000:]}\n"
                        f"--- stderr\n{err_path.read_text()[-5000:]}"
                    )
        return subprocess.CompletedProcess(
            [sys.executable, *args], proc.returncode, out_path.read_text(), err_path.read_text()
        )


def _progress(cwd: Path, *outputs: Path) -> tuple:
    """What changes while a run works: its output's length, its folder's files (a file may
    vanish while it is looked at: SQLite's journal, a temporary file)."""
    files = []
    try:
        for path in (cwd / "outputs").rglob("*"):
            try:
                files.append(path.stat())
            except OSError:
                continue
    except OSError:  # a folder removed while walked: the next look sees the new state
        pass
    return (*(p.stat().st_size for p in outputs), len(files),
            max((s.st_mtime_ns for s in files), default=0))  # fmt: skip


def same_fit(chunked, whole, rtol: float = 1e-12) -> None:
    """Two fits of the same values (read in chunks, and in memory) agree."""
    import numpy as np

    assert chunked.n == whole.n
    for name, value in whole.params.items():
        np.testing.assert_allclose(chunked.params[name], value, rtol=rtol, err_msg=name)
    np.testing.assert_allclose(chunked.loglik, whole.loglik, rtol=rtol)

"""A Hydra callback that checks, before Hydra creates it, that the run (or sweep) folder can
be created: a read-only disk, a path through a file or into /proc would otherwise end in
a Python traceback from inside Hydra. It creates nothing a run would not create anyway."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

# The single run's folder, as Hydra will name it (``${now:}`` resolves once per config), so
# a Ctrl-C that lands while Hydra sets the job up can still mark the folder KILLED.
_PLANNED: list[Path] = []


class FolderCheck(Callback):
    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        folder = Path(str(config.hydra.run.dir))
        _check_creatable(folder, "hydra.run.dir")
        _PLANNED.append(folder)

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        _check_creatable(Path(str(config.hydra.sweep.dir)), "hydra.sweep.dir")


def planned_run_folder() -> Path | None:
    """The folder of the single run this process started, once Hydra has named it."""
    return _PLANNED[-1] if _PLANNED else None


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be created (or written, if it exists); None if it can."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        existing.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=".runner-probe-", dir=existing)
        os.rmdir(probe)
    except OSError as exc:
        return f"no folder can be created in {existing} ({exc.strerror or exc})"
    return None


def _check_creatable(folder: Path, key: str) -> None:
    problem = folder_problem(folder)
    if problem:
        print(
            f"error: the run folder {folder} cannot be created: {problem}. Run from a folder "
            f"you can write to, or set {key}=PATH to a writable place.",
            file=sys.stderr,
        )
        sys.exit(1)

"""Ctrl-C that lands where the job can handle it.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be, and two places
go wrong (seen: a Ctrl-C in the first second of a run, while the job imports SciPy):

- inside an import, the interrupt can hit a C extension's initialisation: NumPy is left
  half-imported ("cannot load module more than once per process"), pybind11 turns it into
  "ImportError: initialization failed", or Python remembers it and exits by SIGINT after
  the job had already closed its run as KILLED and chosen exit status 130;
- inside a weakref callback or a ``__del__`` (importlib's module locks use one), Python
  drops it ("Exception ignored in ...") and the job runs to its end and exits 0.

So from the command line Ctrl-C is held while a module is being imported and raised as
soon as the import is done (imports take milliseconds to a second), and an interrupt
Python dropped is delivered again. Either way the job's own handling sees it: status
KILLED, "interrupted", exit 130.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from types import FrameType
from typing import Any

RETRY_AFTER = 0.02  # seconds between looks at whether the import is done
_IMPORT_MACHINERY = ("<frozen importlib._bootstrap", "<frozen zipimport")

_previous_hook = sys.__unraisablehook__
_pending = threading.Lock()  # held while one interrupt waits to be delivered


def install() -> None:
    """For ``python -m runner`` only: a notebook keeps its own Ctrl-C handling."""
    global _previous_hook
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)
    if sys.unraisablehook is not _redeliver_dropped:
        _previous_hook = sys.unraisablehook
        sys.unraisablehook = _redeliver_dropped


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    if _importing(frame):
        _deliver_later()
        return
    raise KeyboardInterrupt


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith(_IMPORT_MACHINERY):
            return True
        frame = frame.f_back
    return False


def _deliver_later() -> None:
    """Once: a second Ctrl-C while the first waits is the same request."""
    if not _pending.acquire(blocking=False):
        return

    def deliver() -> None:
        _pending.release()
        _thread.interrupt_main(signal.SIGINT)  # runs _on_sigint again, in the main thread

    # From another thread, so that it is raised in the main thread's code of that moment.
    timer = threading.Timer(RETRY_AFTER, deliver)
    timer.daemon = True
    timer.start()


def _redeliver_dropped(unraisable: Any) -> None:
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        _deliver_later()
        return
    _previous_hook(unraisable)

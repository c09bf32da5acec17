"""Ctrl-C from the command line lands where the job handles it: never inside an import
(where it breaks NumPy or SciPy's initialisation), never dropped by Python."""

from __future__ import annotations

import importlib
import signal
import sys
import time

import pytest

from runner.jobs import interrupts
from tests.helpers import STALL_SECONDS


@pytest.fixture
def installed():
    hook, handler = sys.unraisablehook, signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupts.install()
    yield
    sys.unraisablehook = hook
    signal.signal(signal.SIGINT, handler)
    interrupts._previous_hook = sys.__unraisablehook__


def _wait_for_interrupt() -> None:
    deadline = time.monotonic() + STALL_SECONDS  # a hang guard, not a speed test
    while time.monotonic() < deadline:
        time.sleep(0.005)
    pytest.fail("the held Ctrl-C was never delivered")


def test_ctrl_c_outside_an_import_is_raised_at_once(installed):
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
        sys.getrefcount(None)  # the handler runs at the next instruction at the latest


def test_ctrl_c_during_an_import_waits_for_the_import_to_finish(installed, tmp_path, monkeypatch):
    (tmp_path / "slow_module_for_ctrl_c.py").write_text(
        "import signal, time\n"
        "signal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of this module's code\n"
        "time.sleep(0.2)\n"
        "FINISHED = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        module = importlib.import_module("slow_module_for_ctrl_c")
        assert module.FINISHED  # the import ran to its end
        _wait_for_interrupt()  # and the interrupt came right after
    assert sys.modules["slow_module_for_ctrl_c"].FINISHED
    del sys.modules["slow_module_for_ctrl_c"]


class _DropsCtrlC:
    def __del__(self):
        raise KeyboardInterrupt  # what SIGINT does when it lands in here


def test_a_ctrl_c_python_drops_is_delivered_again(installed, capsys):
    with pytest.raises(KeyboardInterrupt):
        _DropsCtrlC()  # Python calls __del__ at once and drops its KeyboardInterrupt
        _wait_for_interrupt()
    assert "Exception ignored" not in capsys.readouterr().err


def test_other_dropped_exceptions_still_reach_the_previous_hook(installed):
    seen = []
    interrupts._previous_hook = seen.append

    class _Fails:
        def __del__(self):
            raise ValueError("in __del__")

    _Fails()
    assert [u.exc_type for u in seen] == [ValueError]


def test_install_twice_keeps_one_hook(installed):
    interrupts.install()
    assert sys.unraisablehook is interrupts._redeliver_dropped
    assert interrupts._previous_hook is not interrupts._redeliver_dropped
    assert signal.getsignal(signal.SIGINT) is interrupts._on_sigint

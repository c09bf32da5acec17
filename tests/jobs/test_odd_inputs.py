"""Odd inputs, as a new user meets them on the command line: one table, one row a case.

Add a case as a row of ``REFUSED`` (must exit 1 with one paragraph that names the problem)
or ``FITTED`` (must exit 0 with the estimate a reference computes on the same values).
Every row also checks what holds for all of them: no traceback, no numpy warning text, and
a run folder that was created holds ``status.json``. The runs are subprocesses started
side by side the first time a test asks (imports dominate: a few seconds each).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from helpers import STALL_SECONDS, clean_env, run_python

QUIET = ["tracking=none", "plots=false"]


@dataclass
class Case:
    args: list[str]
    says: list[str] = field(default_factory=list)  # fragments the message must hold
    files: dict[str, str | bytes] = field(default_factory=dict)
    quiet: bool = True  # add tracking=none plots=false


REFUSED: dict[str, Case] = {
    # counts that cannot be held exactly: refused as such, never wrapped around
    "count_beyond_int64": Case(
        ["data=csv", "data.path=big.csv", "model=poisson"],
        ["big.csv, line 2, column 'v'", "9223372036854775808", "too large to count exactly",
         "2^53"],
        {"big.csv": "v\n9223372036854775808\n9223372036854775809\n"},
    ),
    "count_near_2_62": Case(
        ["data=csv", "data.path=big.csv", "model=poisson"],
        ["line 2", "4611686018427387904", "too large to count exactly"],
        {"big.csv": "v\n4611686018427387904\n4611686018427387905\n"},
    ),
    "inline_count_beyond_int64": Case(
        ["data=inline", "data.values=[9223372036854775808,1]", "model=geometric"],
        ["data.values[0]", "too large to count exactly"],
    ),
    "count_of_1e30": Case(
        ["data=csv", "data.path=big.csv", "model=poisson"],
        ["line 2", "too large to count exactly"],
        {"big.csv": "v\n" + "1" + "0" * 30 + "\n2\n"},
    ),
    # values so large that double precision cannot tell them apart or square them
    "integers_of_1e30_look_equal": Case(
        ["data=csv", "data.path=big.csv", "model=gaussian"],
        ["all values are equal", "double precision only to within"],
        {"big.csv": "v\n" + "1" + "0" * 30 + "\n" + "1" + "0" * 29 + "1\n"},
    ),
    "values_near_1e308": Case(
        ["data=csv", "data.path=h.csv", "model=gaussian"],
        ["too large for double-precision arithmetic", "rescale"],
        {"h.csv": "x\n1e308\n-1e308\n3\n"},
    ),
    "inf_cell": Case(
        ["data=csv", "data.path=h.csv", "model=gaussian"],
        ["h.csv, line 3, column 'x'", "inf", "missing or infinite"],
        {"h.csv": "x\n1\ninf\n3\n"},
    ),
    # files that are not what the config says
    "semicolon_csv": Case(
        ["data=csv", "data.path=s.csv", "data.column=x"],
        ["s.csv", "'a;x'", "contains ';'", "data.sep=';'"],
        {"s.csv": "a;x\n1;2\n3;4\n"},
    ),
    "tab_csv": Case(
        ["data=csv", "data.path=t.csv", "data.column=x"],
        ["t.csv", "a tab", "data.sep='\\t'"],
        {"t.csv": "a\tx\n1\t2\n3\t4\n"},
    ),
    "separator_of_two_characters": Case(
        ["data=csv", "data.path=t.csv", "data.sep=ab"],
        ["data.sep = 'ab'", "expected one character"],
        {"t.csv": "x\n1\n2\n"},
    ),
    "folder_as_data_path": Case(
        ["data=csv", "data.path=."], ["data file '.' is a folder, not a file"]
    ),
    "missing_file": Case(["data=csv", "data.path=nope.csv"], ["'nope.csv' does not exist"]),
    "csv_given_to_npy": Case(
        ["data=npy", "data.path=c.csv"],
        ["c.csv is not a .npy file", "for a CSV use data=csv"],
        {"c.csv": "x\n1\n2\n"},
    ),
    "repeated_column_name": Case(
        ["data=csv", "data.path=d.csv", "data.column=x"],
        ["d.csv has 2 columns named 'x' (columns 1, 3)", "rename"],
        {"d.csv": "x,y,x\n1,2,3\n4,5,6\n"},
    ),
    "empty_file": Case(["data=csv", "data.path=e.csv"], ["e.csv is empty"], {"e.csv": ""}),
    # settings the runner does not know would silently be ignored: refused
    "unknown_key_plus_plus": Case(
        ["++model.truncate.low=2"], ["model.truncate is not a setting", "would be ignored"]
    ),
    "unknown_key_plus": Case(
        ["+data.censoring.right=1"], ["data.censoring is not a setting", "would be ignored"]
    ),
    "holdout_leaves_too_few": Case(
        ["data.holdout=0.99", "n=10"], ["data.holdout = 0.99 keeps 1 of 10", "needs at least 2"]
    ),
    "count_of_1e308_is_not_printed_in_309_digits": Case(
        ["data=inline", "data.values=[1e308,1]", "model=poisson"],
        ["data.values[0]: value 1e+308 is too large to count exactly"],
    ),
    # families and optimizers
    "mvn_column_a_linear_function_of_another": Case(
        ["model=mvn", "data=csv", "data.path=lin.csv", "data.columns=[a,b]"],
        ["no MLE: the covariance is singular", "column 'b'", "linear function of the others"],
        {"lin.csv": "a,b\n" + "".join(f"{a!r},{2 * a + 1!r}\n"
                                       for a in (0.1 * i + 0.37 for i in range(30)))},
    ),
    "uniform_held_end_excludes_data": Case(
        ["model=uniform", "data=inline", "data.values=[2.1,3.5,4.9,2.8]", "+model.fixed.low=3"],
        ["value 2.1 (the smallest) lies below the held low = 3", "outside the support"],
    ),
    "student_t_on_three_points": Case(
        ["model=student_t", "n=3"], ["the student_t likelihood is unbounded for these 3 values"]
    ),
    "auto_with_a_method_it_would_ignore": Case(
        ["optimizer=auto", "optimizer.method=Powell"],
        ["optimizer.method = 'Powell' would have no effect", "closed form"],
    ),
    "auto_with_starts_for_a_one_start_family": Case(
        ["model=gamma", "optimizer=auto", "optimizer.starts=5"],
        ["optimizer.starts = 5 would have no effect"],
    ),
    # run folders that cannot be created
    "run_dir_through_a_file": Case(
        ["hydra.run.dir=afile/sub"],
        ["the run folder afile/sub cannot be created", "afile is a file, not a folder"],
        {"afile": ""},
    ),
    "run_dir_in_proc": Case(
        ["hydra.run.dir=/proc/mle-runner-test"],
        ["/proc/mle-runner-test cannot be created", "no folder can be created in /proc"],
    ),
    "outputs_is_a_file": Case(["model=gaussian"], ["outputs is a file"], {"outputs": ""}),
    "sweep_dir_through_a_file": Case(
        ["-m", "hydra.sweep.dir=afile/sweep", "n=10,20"],
        ["afile/sweep cannot be created", "hydra.sweep.dir"],
        {"afile": ""},
    ),
}  # fmt: skip

MU_SIGMA = ("mu", "sigma")
FITTED: dict[str, tuple[Case, dict[str, float]]] = {
    # (the case, the estimates it must report, from a reference on the same values)
    "semicolon_csv_with_sep": (
        Case(["data=csv", "data.path=s.csv", "data.column=x", "data.sep=';'", "model=exponential"],
             files={"s.csv": "a;x\n1;2\n3;4\n5;0.5\n"}),
        {"rate": 3 / 6.5},
    ),
    "tab_csv_with_sep": (
        Case(["data=csv", "data.path=t.csv", "data.column=x", "data.sep=\\t", "model=poisson"],
             files={"t.csv": "a\tx\n1\t2\n3\t4\n5\t0\n"}),
        {"lam": 2.0},
    ),
    "bom_and_crlf": (
        Case(["data=csv", "data.path=b.csv", "model=poisson"],
             files={"b.csv": b"\xef\xbb\xbfk\r\n1\r\n\r\n2\r\n6\r\n"}),
        {"lam": 3.0},
    ),
    "unnamed_first_column": (
        Case(["data=csv", "data.path=u.csv", "data.column=x", "model=poisson"],
             files={"u.csv": ",x\n0,2\n1,3\n2,7\n"}),
        {"lam": 4.0},
    ),
    "uniform_with_high_held": (
        Case(["model=uniform", "data=inline", "data.values=[2.1,3.5,4.9,2.8]",
              "+model.fixed.high=6"]),
        {"low": 2.1},
    ),
    "large_counts_summed_exactly": (
        # 2,000 counts of 2^52 - 1: their sum (~9e18) passes int64's range; each is exact.
        Case(["data=csv", "data.path=n.csv", "model=poisson"],
             files={"n.csv": "k\n" + f"{2**52 - 1}\n" * 2000}),
        {"lam": float(2**52 - 1)},
    ),
}  # fmt: skip


def _start(case: Case, folder: Path) -> subprocess.CompletedProcess:
    for name, content in case.files.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return run_python(["-m", "runner", *case.args, *(QUIET if case.quiet else [])], folder)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    cases = {**REFUSED, **{name: case for name, (case, _) in FITTED.items()}}
    folders = {name: tmp_path_factory.mktemp(name) for name in cases}
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        futures = {name: pool.submit(_start, case, folders[name]) for name, case in cases.items()}
        return {name: (folders[name], future.result()) for name, future in futures.items()}


def _common(folder: Path, proc: subprocess.CompletedProcess) -> None:
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text, text
    assert "Warning" not in text, text  # numpy's RuntimeWarning, pandas' DtypeWarning, ...
    outputs = folder / "outputs"
    if outputs.is_dir():
        for run_dir in [p.parent for p in outputs.rglob(".hydra")]:
            assert (run_dir / "status.json").is_file(), f"{run_dir} has no status.json"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_odd_input_is_refused_in_one_paragraph(runs, name):
    folder, proc = runs[name]
    _common(folder, proc)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    message = proc.stderr.strip()
    assert message.startswith("error: "), message
    assert "\n\n" not in message and len(message.splitlines()) <= 2, message
    for part in REFUSED[name].says:
        assert part in message, f"{part!r} not in:\n{message}"
    assert not list(folder.glob("outputs/**/results.json")), "a refused run wrote results"
    for status in folder.glob("outputs/**/status.json"):
        assert json.loads(status.read_text())["status"] == "FAILED"


@pytest.mark.parametrize("name", sorted(FITTED))
def test_odd_but_valid_input_is_fitted_right(runs, name):
    folder, proc = runs[name]
    _common(folder, proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (results,) = folder.glob("outputs/**/results.json")
    record = json.loads(results.read_text())
    for param, expected in FITTED[name][1].items():
        assert record["params"][param]["estimate"] == pytest.approx(expected, rel=1e-12), param
    assert math.isfinite(record["loglik"])


# ---- Ctrl-C: stop promptly, say so, status KILLED, exit 130 ------------------------------


@pytest.mark.parametrize("pause", [0.0, 3.0], ids=["while-starting", "mid-study"])
def test_ctrl_c_during_a_study_leaves_status_killed_and_exits_130(tmp_path, pause):
    # A study far too long to finish: SIGINT (what Ctrl-C sends) once Hydra has written the
    # run folder, at once or a little later: wherever the signal lands, the outcome is the
    # same, so the test does not depend on the machine's speed.
    args = ["study=convergence", "model=gamma", "study.sizes=[1000,100000]",
            "study.replicates=20000", *QUIET]  # fmt: skip
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "runner", *args], cwd=tmp_path,
                                env=clean_env(), stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        try:
            deadline = time.monotonic() + STALL_SECONDS  # a hang guard, not a speed test
            while not list(tmp_path.glob("outputs/runs/*/*/.hydra/config.yaml")):
                assert proc.poll() is None, f"ended before the signal:\n{err_path.read_text()}"
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.05)
            time.sleep(pause)
            proc.send_signal(signal.SIGINT)
            returncode = proc.wait(timeout=STALL_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stderr = err_path.read_text()
    assert returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "interrupted" in stderr
    (status,) = tmp_path.glob("outputs/runs/**/status.json")
    assert json.loads(status.read_text())["status"] == "KILLED"


# ---- in process: what a root-run CI cannot provoke for real ------------------------------


def test_a_file_that_cannot_be_read_is_named(tmp_path, monkeypatch):
    # chmod does not stop root, so the operating system's refusal is simulated.
    from runner.errors import DataError
    from runner.io import data

    file = tmp_path / "locked.csv"
    file.write_text("x\n1\n")
    real_open = open

    def refuse(path, *args, **kwargs):
        if Path(path) == file:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(DataError, match=r"locked\.csv cannot be read: Permission denied"):
        data.csv(file, "x")


def test_counts_whose_sum_passes_int64_are_summed_as_doubles():
    from runner import fit

    x = np.full(5000, 2**52 - 1, dtype=np.int64)  # the int64 sum would wrap around
    f = fit("poisson", x)
    assert f.params["lam"] == float(2**52 - 1)
    big = np.array([2**53, 1], dtype=np.int64)
    with pytest.raises(Exception, match="too large to count exactly"):
        fit("poisson", big)

"""``study=convergence`` on odd inputs, on the command line as a new user runs it: each
either prints a number with its reason, or stops with one paragraph (exit 1, no
traceback) naming the setting and what it expects."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import run_python

QUIET = ["tracking=none", "plots=false"]


def cli(tmp_path, *args: str):
    return run_python(["-m", "runner", "study=convergence", *args, *QUIET], tmp_path)


def one_paragraph_error(proc) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    text = proc.stderr.strip()
    assert "\n\n" not in text
    return " ".join(text.split())


def saved_record(tmp_path) -> dict:
    (path,) = (tmp_path / "outputs" / "runs").glob("**/study.json")
    return json.loads(path.read_text())


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("replicates", ["1", "0"])
def test_cli_one_replicate_is_refused(tmp_path, replicates):
    proc = cli(tmp_path, "model=gamma", "study.sizes=[100,1000]",
               f"study.replicates={replicates}")  # fmt: skip
    message = one_paragraph_error(proc)
    assert f"study.replicates = {replicates}: a convergence study needs at least 2" in message
    assert "coverage of a single replicate is 0 or 1" in message


def test_cli_one_size_prints_no_slope_and_why(tmp_path):
    proc = cli(tmp_path, "model=poisson", "study.sizes=[1]", "study.replicates=200")
    assert proc.returncode == 0, proc.stderr
    out = flat(proc.stdout)
    assert "RMSE slope n/a" in out and "only n = 1 was studied" in out
    assert "nan" not in out
    record = saved_record(tmp_path)
    assert record["slopes"][0]["slope"] is None
    assert "only n = 1 was studied" in record["unavailable"]["lam"]["slope"]


def test_cli_slope_from_beyond_every_size_says_which_sizes_were_used(tmp_path):
    proc = cli(tmp_path, "model=poisson", "study.sizes=[10,20]", "study.slope_from=1000",
               "study.replicates=100")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = flat(proc.stdout)
    assert "over n = 10, 20 (theory -0.5)" in out
    assert "no size is >= study.slope_from = 1,000" in out
    assert saved_record(tmp_path)["slopes"][0]["sizes"] == [10, 20]


def test_cli_csv_sizes_above_the_data_are_named(tmp_path):
    x = 2.0 * np.random.default_rng(21).weibull(1.5, 300)
    (tmp_path / "w.csv").write_text("x\n" + "\n".join(map(str, x.tolist())) + "\n")
    proc = cli(tmp_path, "model=weibull", "data=csv", "data.path=w.csv", "data.column=x",
               "study.sizes=[20,50,300,1000]", "study.replicates=30")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = flat(proc.stdout)
    dropped = "study.sizes 300, 1,000 dropped: subsampling without replacement needs n < N = 300"
    assert dropped in out
    record = saved_record(tmp_path)
    assert record["sizes"] == [20, 50] and record["dropped_sizes"] == [300, 1000]


def test_cli_categorical_has_its_cramer_rao_bound(tmp_path):
    proc = cli(tmp_path, "model=categorical", "study.sizes=[100,1000]", "study.replicates=100")
    assert proc.returncode == 0, proc.stderr
    assert "n/a sqrt(CRLB)" not in flat(proc.stdout)
    largest = saved_record(tmp_path)["largest_size"]
    p = {"p.0": 0.5, "p.1": 0.3, "p.2": 0.2}
    for row in largest:
        assert row["crlb"] == pytest.approx(p[row["parameter"]] * (1 - p[row["parameter"]]) / 1000)

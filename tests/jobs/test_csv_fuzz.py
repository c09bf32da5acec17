"""Random CSV files through the whole job (hypothesis): every run either fits, with the
estimate a plain-Python reading of the same cells gives, or exits 1 with one paragraph.
Never exit 0 with a wrong estimate, never a traceback, and never a refusal of clean data.

The files mix what users bring: separators (comma, semicolon, tab; ``data.sep`` set or
forgotten), quoted cells, blank lines, empty cells, words, huge and tiny magnitudes,
integers beyond int64, a byte-order mark, CRLF line ends. Jobs run in process through
``runner.jobs.launch.execute`` (what ``python -m runner`` calls once Hydra has composed
the config), so an example costs milliseconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import math
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from helpers import compose_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.jobs.config import RunnerConfig, to_spec
from runner.jobs.launch import execute

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=250,
    suppress_health_check=[HealthCheck.too_slow],
)
FAMILIES = ("gaussian", "exponential", "poisson")
# Values below this magnitude square and sum without overflow in any family here; above
# it a refusal ("too large") is as good an answer as a fit.
MODERATE = 1e150


def number_text(value) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


cell = st.one_of(
    st.integers(0, 50).map(str),
    st.integers(-50, 50).map(str),
    st.floats(1e-3, 1e3).map(number_text),
    st.floats(-1e3, 1e3).map(number_text),
    st.floats(1e-300, 1e-200).map(number_text),  # tiny
    st.sampled_from(["1e300", "-1e300", "1e308", "2.5e-308"]),  # huge, subnormal
    st.integers(2**62, 2**70).map(str),  # beyond int64
    st.sampled_from(["", "abc", "NA", "inf", "-inf", "nan", "1,5", " 7 "]),
)


@dataclass
class CsvCase:
    text: str
    encoded: bytes
    sep: str
    sep_given: bool
    cells: list[str]  # the data column's cells, in order, as written (unquoted)
    extra_column: bool


@st.composite
def csv_cases(draw) -> CsvCase:
    sep = draw(st.sampled_from([",", ";", "\t"]))
    extra = draw(st.booleans())
    cells = draw(st.lists(cell, min_size=0, max_size=8))
    # A cell holding the separator must be quoted.
    quote_all = True if sep in "".join(cells) else draw(st.booleans())
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [sep.join(["id", "x"] if extra else ["x"])]
    for i, c in enumerate(cells):
        shown = f'"{c}"' if quote_all or (draw(st.booleans()) and c) else c
        lines.append(sep.join([str(i), shown]) if extra else shown)
        if draw(st.integers(0, 4)) == 0:
            lines.append("")  # a blank line: skipped by readers
    text = newline.join(lines) + newline
    bom = draw(st.booleans())
    encoded = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    sep_given = (sep == "," and draw(st.booleans())) or (sep != "," and draw(st.integers(0, 4)) > 0)
    return CsvCase(text, encoded, sep, sep_given, cells, extra)


def reference(family: str, cells: list[str]) -> tuple[dict[str, float] | None, bool]:
    """(the estimate, whether a refusal is wrong), from the cells alone, in plain Python.
    The estimate is None where the data admit none; a refusal is wrong only for clean data:
    numbers, finite, in the support, moderate, with an MLE that exists."""
    values = []
    for c in cells:
        text = c.strip()
        if text in ("", "NA", "nan"):
            return None, False  # missing: refused unless data.dropna=true
        try:
            values.append(float(text))
        except ValueError:
            return None, False  # a word
    if not values or not all(math.isfinite(v) for v in values):
        return None, False
    moderate = all(abs(v) < MODERATE for v in values)
    n = len(values)
    if family == "gaussian":
        if n < 2:
            return None, False
        try:
            mu = math.fsum(values) / n
            var = math.fsum((v - mu) ** 2 for v in values) / n
        except OverflowError:  # squares past 1.8e308: no finite variance to report
            return None, False
        if not var > 0 or not math.isfinite(var):
            return None, False
        return {"mu": mu, "sigma": math.sqrt(var)}, moderate and var > 1e-280
    if family == "exponential":
        if any(v < 0 for v in values) or math.fsum(values) == 0:
            return None, False
        return {"rate": n / math.fsum(values)}, moderate and min(values) > 1e-280
    # poisson: non-negative integers that doubles hold exactly
    if any(v < 0 or v != math.floor(v) or v >= 2**53 for v in values):
        return None, False
    return {"lam": math.fsum(values) / n}, True


@functools.cache
def base_spec(family: str, sep: str | None) -> RunnerConfig:
    """The composed config for a family and a data.sep (composing once per pair keeps an
    example at the cost of the job itself)."""
    overrides = ["data=csv", "data.path=placeholder.csv", "data.column=x", f"model={family}",
                 "tracking=none", "plots=false"]  # fmt: skip
    if sep is not None:
        overrides.append("data.sep=tab" if sep == "\t" else f"data.sep={sep!r}")
    return to_spec(compose_config(*overrides))


@SETTINGS
@given(case=csv_cases(), family=st.sampled_from(FAMILIES))
def test_random_csv_is_fitted_right_or_refused_in_one_paragraph(case, family):
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "data.csv").write_bytes(case.encoded)
        spec = base_spec(family, case.sep if case.sep_given else None)
        spec = dataclasses.replace(spec, data=dataclasses.replace(
            spec.data, path=str(folder / "data.csv")))  # fmt: skip
        out, err = io.StringIO(), io.StringIO()
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            status = execute(spec, folder / "run", "fuzz", {}, False)
        record_path = folder / "run" / "results.json"
        record = json.loads(record_path.read_text()) if record_path.exists() else None
        job_status = json.loads((folder / "run" / "status.json").read_text())["status"]

    message = err.getvalue().strip()
    context = f"{family} on\n{case.text!r}\nsep given: {case.sep_given}\n{message}"
    assert "Traceback" not in message and "Warning" not in message, context
    assert not caught, [str(w.message) for w in caught] + [context]
    expected, must_fit = reference(family, case.cells)
    if case.sep != "," and not case.sep_given and case.extra_column:
        expected, must_fit = None, False  # the header reads as one column: refused
    if status == 0:
        assert job_status == "FINISHED" and record is not None, context
        assert expected is not None, f"fitted data that admit no estimate: {record}\n{context}"
        for name, value in expected.items():
            got = record["params"][name]["estimate"]
            assert np.isclose(got, value, rtol=1e-9, atol=0), (name, got, value, context)
    else:
        assert status == 1 and job_status == "FAILED", context
        assert message.startswith("error: ") and "\n" not in message, context
        assert not must_fit, f"refused clean data:\n{context}"

"""Property-based tests (hypothesis) of the CSV reader: garbage gives an array or the
runner's own error, and the line named in an error holds the bad value. Derandomized, as
in tests/stats/test_properties.py."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.errors import DataError, RunnerError
from runner.io import data
from runner.stats import families

# deadline=None: the first call in a test pays for imports and scipy's first use.
PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)




# ---- the CSV reader on garbage: an array, or the runner's own error ----------------------
CELLS = [
    "", "1", "0", "-1", "2.5", "1e400", "nan", "NA", "inf", "-inf", "x", "a", "abc",
    '"1"', '"a,b"', '"', "''", "True", " ", "1 ", "0x10", "1_000", "１", "null", "#", ";",
    "\t", "é", "\x00",
]  # fmt: skip


HEADERS = ["x", "a", "x", "", '"x"', "1", "Unnamed: 0", " x", "x,x", "é"]


cells = st.one_of(st.sampled_from(CELLS), st.text(max_size=4))


rows = st.lists(cells, max_size=4).map(",".join)


headers = st.lists(st.sampled_from(HEADERS), max_size=3).map(",".join)


csv_like = st.builds(
    lambda header, body, newline: newline.join([header, *body]),
    headers,
    st.lists(rows, max_size=6),
    st.sampled_from(["\n", "\r\n", "\r"]),
)


garbage = st.one_of(
    csv_like.map(lambda s: s.encode("utf-8")),
    st.text(max_size=60).map(lambda s: s.encode("utf-8")),
    st.binary(max_size=60),
    st.just(b""),
)


@settings(PROPERTY, max_examples=400)
@given(
    content=garbage,
    column=st.sampled_from([None, "x", "a", "1"]),
    dropna=st.booleans(),
)
def test_csv_reader_returns_an_array_or_raises_a_runner_error(tmp_path, content, column, dropna):
    file = tmp_path / "garbage.csv"
    file.write_bytes(content)
    try:
        sample = data.csv(file, column, dropna)
    except RunnerError:
        return
    for name in ("poisson", "gaussian"):
        try:
            x = sample.validated_by(families.get(name))
        except RunnerError as err:
            assert str(err), "an error without a message"
            continue
        # Accepted: numbers the family can use, at least one of them.
        assert isinstance(x, np.ndarray)
        assert x.dtype.kind in "iuf", x.dtype
        assert x.size >= 1
        assert np.all(np.isfinite(x))


# ---- the line named in an error holds the bad value ------------------------------------
GOOD = ["0", "1", "2", "7", "3.0"]


FILLER = ["", " ", "nan", "NA"]  # blank lines are skipped, missing cells dropped (dropna)


@settings(PROPERTY, max_examples=150)
@given(
    before=st.lists(st.sampled_from(GOOD + FILLER), max_size=8),
    after=st.lists(st.sampled_from(GOOD + FILLER), max_size=4),
    bad=st.sampled_from(["-3", "2.5", "abc", "inf", "-1e400"]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_the_line_named_in_an_error_is_the_line_of_the_bad_value(
    tmp_path, before, after, bad, newline
):
    lines = ["k", *before, bad, *after]
    file = tmp_path / "counts.csv"
    file.write_bytes((newline.join(lines) + newline).encode())
    with pytest.raises(DataError) as info:
        data.csv(file, "k", dropna=True).validated_by(families.get("poisson"))
    message = str(info.value)
    found = re.search(r"line (\d+)", message)
    assert found, message
    assert int(found.group(1)) == len(before) + 2, message  # header = line 1
    assert Path(file).name in message
    assert "'k'" in message


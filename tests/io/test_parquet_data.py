"""data=parquet and chunked data=csv: fits of files read piece by piece equal the fits of
the same values in memory; a bad value is named by file, row and value; memory stays at
a piece, not the file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from helpers import compose_config, same_fit  # noqa: E402

from runner.errors import ConfigError, DataError  # noqa: E402
from runner.io.parquet_data import CsvChunks, ParquetChunks  # noqa: E402
from runner.jobs.config import to_spec  # noqa: E402
from runner.jobs.inputs import load_inputs  # noqa: E402
from runner.stats import families  # noqa: E402
from runner.stats.chunked import fit_chunks  # noqa: E402
from runner.stats.estimate import fit_validated  # noqa: E402

RNG = np.random.default_rng(20261201)
# Newton to machine precision for the family fitted by passes: with the default tol the
# in-memory and chunked fits (different start points: the chunked one starts from a
# subsample) stop within that tol of the maximum, not within 1e-12 of each other.
TIGHT = {"optimizer_options": {"tol": 1e-10}}


def _write(path, values, row_group_size=4000, name="x"):
    pq.write_table(pa.table({name: values, "other": np.arange(len(values))}), path,
                   row_group_size=row_group_size)  # fmt: skip
    return path


SAMPLES = {
    "gaussian": lambda n: RNG.normal(3.0, 2.0, n),
    "poisson": lambda n: RNG.poisson(4.0, n),
    "student_t": lambda n: 1.0 + 0.5 * RNG.standard_t(3.0, n),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_parquet_file_fit_equals_the_fit_in_memory(tmp_path, name):
    family = families.get(name)
    x = SAMPLES[name](30_000)
    path = _write(tmp_path / "a.parquet", x, row_group_size=7000)
    settings = TIGHT if name == "student_t" else {}
    chunked = fit_chunks(family, ParquetChunks(path, "x", family, chunk_rows=2500), **settings)
    same_fit(chunked, fit_validated(family, family.validate(x), **settings))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_parquet_folder_fit_equals_the_fit_in_memory(tmp_path, name):
    family = families.get(name)
    parts = [SAMPLES[name](size) for size in (9000, 1, 12_345)]
    for i, part in enumerate(parts):  # part-0, part-1, part-2: read in sorted order
        _write(tmp_path / f"part-{i}.parquet", part)
    settings = TIGHT if name == "student_t" else {}
    chunks = ParquetChunks(tmp_path, "x", family, chunk_rows=3000)
    assert len(chunks.files) == 3
    chunked = fit_chunks(family, chunks, **settings)
    x = family.validate(np.concatenate(parts))
    same_fit(chunked, fit_validated(family, x, **settings))


def test_student_t_takes_one_pass_per_optimizer_point(tmp_path):
    family = families.get("student_t")
    path = _write(tmp_path / "t.parquet", SAMPLES["student_t"](20_000))
    chunks = ParquetChunks(path, "x", family, chunk_rows=5000)
    reads = []
    original = chunks.passes

    def counted():
        reads.append(1)
        return original()

    chunks.passes = counted
    fit = fit_chunks(family, chunks)
    # the first pass, then loglik, score and Hessian at each point from one pass
    # (the standard errors' Hessian at the estimate is one more)
    assert len(reads) <= fit.iterations + 4


def test_gaussian_is_one_pass(tmp_path):
    family = families.get("gaussian")
    path = _write(tmp_path / "g.parquet", SAMPLES["gaussian"](20_000))
    chunks = ParquetChunks(path, "x", family, chunk_rows=5000)
    reads = []
    original = chunks.passes
    chunks.passes = lambda: (reads.append(1), original())[1]
    fit_chunks(family, chunks)
    assert len(reads) == 1


def test_chunked_csv_equals_the_csv_fit(tmp_path):
    import pandas as pd

    from runner.io import data

    x = RNG.gamma(2.0, 1.5, 10_000)
    pd.DataFrame({"id": np.arange(x.size), "x": x}).to_csv(tmp_path / "g.csv", index=False)
    family = families.get("gamma")
    whole = fit_validated(family, data.csv(tmp_path / "g.csv", "x").validated_by(family))
    chunks = CsvChunks(tmp_path / "g.csv", "x", family, chunk_rows=999)
    same_fit(fit_chunks(family, chunks), whole)


def test_a_bad_value_in_a_later_chunk_names_file_row_and_value(tmp_path):
    family = families.get("poisson")
    good = RNG.poisson(3.0, 5000)
    _write(tmp_path / "part-0.parquet", good)
    bad = RNG.poisson(3.0, 5000)
    bad[3210] = -7  # in the second file's second chunk (chunks of 2000)
    _write(tmp_path / "part-1.parquet", bad)
    with pytest.raises(DataError) as info:
        fit_chunks(family, ParquetChunks(tmp_path, "x", family, chunk_rows=2000))
    message = str(info.value)
    assert "part-1.parquet" in message
    assert "row 3210 " in message
    assert "column 'x'" in message
    assert "-7" in message


def test_a_missing_value_names_its_row_and_dropna_drops_it(tmp_path):
    family = families.get("gaussian")
    x = RNG.normal(size=6000)
    column = pa.array(x, mask=np.arange(x.size) == 4321)  # a null, as Parquet stores it
    pq.write_table(pa.table({"x": column}), tmp_path / "m.parquet", row_group_size=1000)
    with pytest.raises(DataError, match=r"m\.parquet, row 4321 .*missing value"):
        fit_chunks(family, ParquetChunks(tmp_path / "m.parquet", "x", family, chunk_rows=700))
    chunks = ParquetChunks(tmp_path / "m.parquet", "x", family, dropna=True, chunk_rows=700)
    fit = fit_chunks(family, chunks)
    same_fit(fit, fit_validated(family, np.delete(x, 4321)))
    assert chunks.describe()["dropped_missing"] == 1


def test_a_nan_after_a_dropped_null_is_named_by_its_file_row(tmp_path):
    family = families.get("exponential")
    x = RNG.exponential(size=3000)
    x[2500] = -1.0
    column = pa.array(x, mask=np.arange(x.size) == 100)
    pq.write_table(pa.table({"x": column}), tmp_path / "e.parquet", row_group_size=1000)
    with pytest.raises(DataError, match=r"e\.parquet, row 2500 .*value -1"):
        fit_chunks(family, ParquetChunks(tmp_path / "e.parquet", "x", family, dropna=True,
                                         chunk_rows=800))  # fmt: skip


def test_a_bad_csv_value_names_its_line(tmp_path):
    x = RNG.exponential(size=5000).round(6).astype(object)
    x[4000] = "oops"
    (tmp_path / "e.csv").write_text("x\n" + "\n".join(map(str, x)) + "\n")
    family = families.get("exponential")
    with pytest.raises(DataError, match=r"e\.csv, line 4002, column 'x': value 'oops'"):
        fit_chunks(family, CsvChunks(tmp_path / "e.csv", "x", family, chunk_rows=1500))


def test_an_absent_column_and_an_empty_folder_are_named(tmp_path):
    family = families.get("gaussian")
    path = _write(tmp_path / "a.parquet", RNG.normal(size=10))
    with pytest.raises(DataError, match="has no column 'y'; its columns are: x, other"):
        ParquetChunks(path, "y", family)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no"):
        ParquetChunks(tmp_path / "empty", "x", family)


def test_laplace_is_refused_with_why(tmp_path):
    family = families.get("laplace")
    path = _write(tmp_path / "a.parquet", RNG.laplace(size=100))
    with pytest.raises(ConfigError, match="every value at once"):
        fit_chunks(family, ParquetChunks(path, "x", family))


def test_data_parquet_config_goes_through_load_inputs(tmp_path):
    x = RNG.normal(5.0, 1.0, 4000)
    path = _write(tmp_path / "a.parquet", x, row_group_size=1500)
    spec = to_spec(compose_config("data=parquet", f"data.path={path}", "data.column=x",
                                  "data.chunk_rows=600", "model=gaussian"))  # fmt: skip
    inputs = load_inputs(spec)
    assert inputs.sample.source == "parquet"
    assert inputs.sample.description["rows"] == 4000
    assert inputs.sample.description["chunk_rows"] == 600
    same_fit(fit_validated(inputs.family, inputs.x), fit_validated(families.get("gaussian"), x))
    assert inputs.x.fingerprint() == __import__("runner.io.data").io.data.fingerprint(x)


def test_chunked_sources_refuse_what_needs_memory(tmp_path):
    path = _write(tmp_path / "a.parquet", RNG.normal(size=100))
    spec = to_spec(compose_config("data=parquet", f"data.path={path}", "data.column=x",
                                  "model=gaussian", "data.holdout=0.2"))  # fmt: skip
    with pytest.raises(ConfigError, match="held-out"):
        load_inputs(spec)
    with pytest.raises(ConfigError, match="sandwich"):
        family = families.get("gaussian")
        fit_chunks(family, ParquetChunks(path, "x", family), se="sandwich")


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys, tracemalloc
    import numpy as np
    import pyarrow as pa
    from runner.io.parquet_data import ParquetChunks
    from runner.stats import families
    from runner.stats.chunked import fit_chunks

    small, path, name, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    family = families.get(name)
    fit_chunks(family, ParquetChunks(small, "x", family, chunk_rows=rows))  # imports done
    tracemalloc.start()
    fit = fit_chunks(family, ParquetChunks(path, "x", family, chunk_rows=rows))
    numpy_peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"n": fit.n, "numpy_peak": numpy_peak,
                      "arrow_peak": pa.default_memory_pool().max_memory()}))
    """
)


def _peaks(tmp_path, name: str, n: int, rows: int) -> dict:
    """Peak memory of a fit of ``n`` values read ``rows`` at a time, in a fresh process:
    Python's allocations (numpy's included, traced by tracemalloc) and pyarrow's pool (its
    own allocator, reported by max_memory)."""
    small, path = tmp_path / "small.parquet", tmp_path / f"big-{n}.parquet"
    if not small.exists():
        pq.write_table(pa.table({"x": RNG.standard_t(4.0, 3 * rows)}), small)
    pq.write_table(pa.table({"x": RNG.standard_t(4.0, n)}), path, row_group_size=100_000,
                   compression="none")  # fmt: skip
    command = [sys.executable, "-c", MEMORY_SCRIPT, str(small), str(path), name, str(rows)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["n"] == n
    return report


@pytest.mark.parametrize("name", ["gaussian", "student_t"])
def test_memory_stays_at_a_chunk_whatever_the_file_size(tmp_path, name):
    """1e6 and 2e6 values (8 and 16 MB) read 20 000 at a time (160 kB): both peaks stay
    far below the file and do not grow with it (no wall-clock: bytes only)."""
    rows = 20_000
    one, two = _peaks(tmp_path, name, 1_000_000, rows), _peaks(tmp_path, name, 2_000_000, rows)
    size = 2_000_000 * 8
    for key in ("numpy_peak", "arrow_peak"):
        assert two[key] < size / 3, (key, two)  # a chunk's temporaries, a row group or two
        assert two[key] < 1.25 * one[key] + (1 << 20), (key, one, two)  # not the file's size


def test_read_ahead_keeps_order_raises_in_order_and_stops_when_left():
    import threading

    from runner.io.parquet_data import prefetched

    assert list(prefetched(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for piece in prefetched(failing()):
            got.append(piece)
    assert got == [1, 2]
    before = threading.active_count()
    stream = prefetched(iter(range(10**6)))
    assert next(stream) == 0
    stream.close()  # leaving early: the reader thread ends
    assert threading.active_count() <= before

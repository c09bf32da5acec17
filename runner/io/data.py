"""Data sources: a synthetic draw, a column of a CSV file, or values given inline.

A source returns the raw values and a description of where they came from. Checking
them against the family's support is the family's job; this module only turns the
position of a bad value into words a user can find in the file (``line 19``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runner.errors import DataError
from runner.stats.families.base import Family, Theta


@dataclass
class Sample:
    """Raw values and where they came from."""

    values: np.ndarray
    source: str
    description: dict[str, Any] = field(default_factory=dict)
    dropped: int = 0
    locate: Callable[[int], str] = lambda i: f"value {i + 1}"
    labels: list[str] | None = None  # column names of a table

    def validated_by(self, family: Family) -> np.ndarray:
        """The family's view of the values; a bad value's error names where it is."""
        family.check_shape(self.values)
        try:
            return family.validate(self.values)
        except DataError as exc:
            if exc.index is not None:
                exc.args = (f"{self.locate(exc.index)}: {exc.args[0]}",)
                exc.index = None
            raise


def load(
    source: str,
    *,
    family: Family,
    truth: Theta | None = None,
    n: int = 0,
    seed: int = 0,
    path: str | None = None,
    column: str | None = None,
    columns: Sequence[str] | None = None,
    values: Sequence[Any] | None = None,
    counts: Mapping[Any, Any] | None = None,
    dropna: bool = False,
    sep: str | None = None,
) -> Sample:
    """The sample named by ``data.source``."""
    from runner.errors import ConfigError

    if source == "synthetic":
        if truth is None:
            raise ConfigError("synthetic data need model.truth (the parameters to draw from)")
        return synthetic(family, truth, n, seed)
    if source == "csv":
        if not path:
            raise ConfigError("data=csv needs data.path=FILE (and data.column=NAME)")
        return csv(path, column, dropna, columns, sep)
    if source == "inline":
        return inline(values, dropna)
    if source == "counts":
        return from_counts(counts)
    if source == "npy":
        if not path:
            raise ConfigError("data=npy needs data.path=FILE.npy")
        return npy(path, dropna)
    if source == "parquet":  # chunks, not one array: runner.io.parquet_data reads them
        raise ConfigError(f"data.source {source!r} is read in chunks, by "
                          "runner.io.parquet_data.parquet(path, column, family); load() reads "
                          f"{', '.join(SOURCES[:-1])} into memory")  # fmt: skip
    raise ConfigError(f"unknown data.source {source!r}; choose one of: {', '.join(SOURCES)}")


def synthetic(family: Family, truth: Theta, n: int, seed: int | Sequence[int]) -> Sample:
    """``n`` draws from ``family`` at ``truth``; one seed drives every draw."""
    rng = np.random.default_rng(seed)
    values = family.sample(truth, n, rng)
    return Sample(values, "synthetic", {"n": n, "seed": seed, "truth": truth})


def inline(values: Sequence[Any] | None, dropna: bool = False) -> Sample:
    """Values written in the config (``data.values=[0,1,0]``)."""
    if values is None or len(values) == 0:
        raise DataError("data.values is empty: give the sample as a list, e.g. data.values=[0,1,0]")
    raw = np.asarray(list(values))
    if raw.dtype == object:  # None among the values; config lists are short
        missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in raw])
    elif raw.dtype.kind == "f":
        missing = np.isnan(raw)
    else:
        missing = np.zeros(raw.shape, dtype=bool)
    sample = Sample(
        raw,
        "inline",
        {"n_given": len(raw)},
        locate=lambda i: f"data.values[{i}]",
    )
    return _handle_missing(sample, missing, dropna, "data.values")


def from_counts(tally: Mapping[Any, Any] | None) -> Sample:
    """A sample given as value -> count (``data.counts={0: 998, 1: 2}``): m flights with
    k collisions, a table of category frequencies."""
    if not tally:
        raise DataError("data.counts is empty: give counts as {value: count, ...}")
    values, sizes = [], []
    for value, size in tally.items():
        try:
            size = float(size)
            size = int(size) if size.is_integer() else -1
        except (TypeError, ValueError, OverflowError):
            size = -1
        if size < 0:
            raise DataError(
                f"data.counts[{value!r}] = {tally[value]!r}: expected a whole count >= 0"
            )
        values.append(_number_or_label(value))
        sizes.append(size)
    if sum(sizes) == 0:
        raise DataError("data.counts: every count is 0, so there are no observations")
    expanded = np.repeat(np.asarray(values), sizes)
    order = np.cumsum(sizes)
    return Sample(
        expanded,
        "counts",
        {"counts": {str(v): s for v, s in zip(values, sizes, strict=True)}},
        locate=lambda i: f"data.counts[{values[int(np.searchsorted(order, i, 'right'))]!r}]",
    )


def npy(path: str | Path, dropna: bool = False) -> Sample:
    """An array saved with ``numpy.save``, memory-mapped: a fit reads it without a copy,
    so 10^8 values cost their file's pages, not twice their size."""
    file = data_file(path)
    start = _first_bytes(file, 64)
    if not start.startswith(NPY_MAGIC):
        hint = " (it reads as text: for a CSV use data=csv)" if _is_text(start) else ""
        raise DataError(
            f"{file} is not a .npy file saved with numpy.save{hint}; it starts with "
            f"{start[:24]!r}"
        )
    try:
        values = np.load(file, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{file}: cannot be read as a .npy array ({exc})") from None
    if values.ndim not in (1, 2) or values.size == 0:
        raise DataError(f"{file}: expected a non-empty 1-D array (or 2-D rows), got {values.shape}")
    sample = Sample(
        values,
        "npy",
        {"path": str(file.resolve()), "shape": list(values.shape)},
        locate=lambda i: f"{file}, element {i}",
    )
    if not dropna or values.dtype.kind != "f":
        return sample  # no copy: missing values are found (and named) by the fit
    missing = np.isnan(values) if values.ndim == 1 else np.isnan(values).any(axis=1)
    return _handle_missing(sample, missing, dropna, str(file))


def _number_or_label(value: Any) -> Any:
    """A count table's key as a number when it reads as one (YAML keys are strings)."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def csv(
    path: str | Path,
    column: str | None,
    dropna: bool = False,
    columns: Sequence[str] | None = None,
    sep: str | None = None,
) -> Sample:
    """One column of a CSV file (or several, as a table, for multivariate families);
    ``path`` is relative to where the command ran; ``sep`` is the field separator (a comma
    unless set)."""
    file = data_file(path)
    sep = separator(sep)
    header = csv_header(file, sep)
    if columns:
        return _csv_table(file, header, [str(c) for c in columns], dropna, sep)
    if column is None:
        if len(header) != 1:
            raise DataError(
                f"{file} has {len(header)} columns {header}: choose one with data.column=NAME"
            )
        column = header[0]
    (place,) = _places(file, header, [column])
    series = read_csv(file, sep, usecols=[place]).iloc[:, 0]
    missing = series.isna().to_numpy()
    values = series.to_numpy()
    sample = Sample(
        values,
        "csv",
        {"path": str(file.resolve()), "column": column, "rows": len(values)},
        locate=lambda i: f"{file}, line {_file_line(file, i)}, column {column!r}",
    )
    return _handle_missing(sample, missing, dropna, f"{file}, column {column!r}")


def _csv_table(
    file: Path, header: list[str], columns: list[str], dropna: bool, sep: str | None
) -> Sample:
    places = _places(file, header, columns)
    frame = read_csv(file, sep, usecols=places)
    frame = frame.iloc[:, [sorted(places).index(i) for i in places]]  # in the asked order
    sample = Sample(
        frame.to_numpy(),
        "csv",
        {"path": str(file.resolve()), "columns": columns, "rows": len(frame)},
        locate=lambda i: f"{file}, line {_file_line(file, i)}, columns {columns}",
        labels=columns,
    )
    missing = frame.isna().any(axis=1).to_numpy()
    return _handle_missing(sample, missing, dropna, f"{file}, columns {columns}")


NPY_MAGIC = b"\x93NUMPY"
# Separators a CSV from a spreadsheet or another locale may use instead of commas.
OTHER_SEPARATORS = {";": "';'", "\t": "'\\t' (a tab)", "|": "'|'"}


def separator(sep: str | None) -> str | None:
    """``data.sep`` as one character; ``\\t`` and ``tab`` spell a tab (a shell and Hydra's
    grammar make a literal tab hard to type)."""
    if sep is None:
        return None
    sep = {"\\t": "\t", "tab": "\t"}.get(sep, sep)
    if len(sep) != 1:
        from runner.errors import ConfigError

        raise ConfigError(f"data.sep = {sep!r}: expected one character, e.g. ';' or '\\t'")
    return sep


def data_file(path: str | Path) -> Path:
    """The data file the config names, or a DataError that says what is there instead."""
    file = Path(path).expanduser()
    if file.is_dir():
        raise DataError(f"data file {str(path)!r} is a folder, not a file: name a file in it")
    if not file.is_file():
        where = f" (looked in {file.resolve().parent})" if not file.is_absolute() else ""
        raise DataError(f"data file {str(path)!r} does not exist{where}")
    return file


def csv_header(file: Path, sep: str | None) -> list[str]:
    """The column names as written (pandas would rename a repeated ``x`` to ``x.1``)."""
    import csv as csv_module

    first = _first_bytes(file, 1 << 16).decode("utf-8-sig", errors="replace")
    line = next((row for row in first.splitlines() if row.strip()), "")
    if not line:
        raise DataError(f"{file} is empty: expected a header line and values")
    names = next(csv_module.reader([line], delimiter=sep or ","))
    if sep is None and len(names) == 1:
        seen = [shown for mark, shown in OTHER_SEPARATORS.items() if mark in line]
        if seen:
            raise DataError(
                f"{file}: its header {line.strip()!r} reads as one column with commas as "
                f"separators, but it contains {seen[0]}: if that separates the columns, add "
                f"\"data.sep={seen[0].split()[0]}\" to the command"
            )
    return names


def read_csv(file: Path, sep: str | None, **options: Any):
    """``pandas.read_csv``, every way it can fail turned into a DataError naming the file."""
    import pandas as pd

    try:
        return pd.read_csv(file, sep=sep or ",", encoding="utf-8-sig", **options)
    except OSError as exc:
        raise DataError(f"{file} cannot be read: {exc.strerror or exc}") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError,
            ValueError) as exc:  # fmt: skip
        raise DataError(f"{file}: cannot be read as CSV ({exc})") from None


def _places(file: Path, header: list[str], wanted: list[str]) -> list[int]:
    """Where the wanted columns are (0-based), read by position so that pandas' renaming
    of blank or repeated names cannot pick another column."""
    repeated = sorted({c for c in wanted if wanted.count(c) > 1})
    if repeated:
        raise DataError(f"data.columns names {repeated[0]!r} more than once: list it once")
    absent = [c for c in wanted if c not in header]
    if absent:
        which = f"column {absent[0]!r}" if len(absent) == 1 else f"columns {absent}"
        raise DataError(f"{file} has no {which}; its columns are: {', '.join(header)}")
    for name in wanted:
        places = [i + 1 for i, h in enumerate(header) if h == name]
        if len(places) > 1:
            raise DataError(
                f"{file} has {len(places)} columns named {name!r} (columns "
                f"{', '.join(map(str, places))}): rename them so the data are unambiguous"
            )
    return [header.index(name) for name in wanted]


def _first_bytes(file: Path, size: int) -> bytes:
    try:
        with open(file, "rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise DataError(f"{file} cannot be read: {exc.strerror or exc}") from None


def _is_text(start: bytes) -> bool:
    try:
        start.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in start.decode("utf-8"))


def _file_line(file: Path, row: int) -> int:
    """The line of the file holding data row ``row`` (0-based), as pandas read it: after
    the header, skipping blank lines. Only called to word an error, so a scan is fine."""
    seen = -1
    with open(file, encoding="utf-8", errors="replace") as handle:
        next(handle, None)  # the header
        for number, line in enumerate(handle, start=2):
            if line.strip():
                seen += 1
                if seen == row:
                    return number
    return row + 2


def _handle_missing(sample: Sample, missing: np.ndarray, dropna: bool, where: str) -> Sample:
    if sample.values.size == 0:
        raise DataError(f"{where} has no values")
    count = int(missing.sum())
    if count == 0:
        return sample
    if not dropna:
        first = sample.locate(int(np.argmax(missing)))
        raise DataError(
            f"{first}: missing value ({count} missing in all); fill them in, or set "
            "data.dropna=true to drop them"
        )
    kept = np.flatnonzero(~missing)
    if kept.size == 0:
        raise DataError(f"{where}: every value is missing")
    old_locate = sample.locate
    sample.values = _narrow(sample.values[kept])
    sample.dropped = count
    sample.description["dropped_missing"] = count
    sample.locate = lambda i: old_locate(int(kept[i]))
    return sample


def _narrow(values: np.ndarray) -> np.ndarray:
    """An object array of numbers as a numeric array (labels stay as they are)."""
    if values.dtype != object:
        return values
    try:
        return np.asarray(values.tolist())
    except (TypeError, ValueError):
        return values


SOURCES = ("synthetic", "csv", "inline", "counts", "npy", "parquet")


def fingerprint(x: np.ndarray) -> str:
    """A short hash of the fitted values: jobs with equal hashes fitted the same data, so
    their AIC values can be compared (the report ranks models by it)."""
    import hashlib

    values = x if x.flags.c_contiguous else np.ascontiguousarray(x)
    return hashlib.sha1(memoryview(values).cast("B")).hexdigest()[:16]  # no copy

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
        return csv(path, column, dropna, columns)
    if source == "inline":
        return inline(values, dropna)
    if source == "counts":
        return from_counts(counts)
    if source == "npy":
        if not path:
            raise ConfigError("data=npy needs data.path=FILE.npy")
        return npy(path, dropna)
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
    file = Path(path).expanduser()
    if not file.is_file():
        where = f" (looked in {file.resolve().parent})" if not file.is_absolute() else ""
        raise DataError(f"data file {str(path)!r} does not exist{where}")
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
) -> Sample:
    """One column of a CSV file (or several, as a table, for multivariate families);
    ``path`` is relative to where the command ran."""
    import pandas as pd

    file = Path(path).expanduser()
    if not file.is_file():
        where = f" (looked in {file.resolve().parent})" if not file.is_absolute() else ""
        raise DataError(f"data file {str(path)!r} does not exist{where}")
    try:
        header = pd.read_csv(file, nrows=0).columns.tolist()
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{file}: cannot be read as CSV ({exc})") from None
    if columns:
        return _csv_table(file, header, [str(c) for c in columns], dropna)
    if column is None:
        if len(header) != 1:
            raise DataError(
                f"{file} has {len(header)} columns {header}: choose one with data.column=NAME"
            )
        column = header[0]
    if column not in header:
        raise DataError(
            f"{file} has no column {column!r}; its columns are: {', '.join(map(str, header))}"
        )
    try:
        series = pd.read_csv(file, usecols=[column])[column]
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{file}: cannot be read as CSV ({exc})") from None
    missing = series.isna().to_numpy()
    values = series.to_numpy()
    sample = Sample(
        values,
        "csv",
        {"path": str(file.resolve()), "column": column, "rows": len(values)},
        locate=lambda i: f"{file}, line {_file_line(file, i)}, column {column!r}",
    )
    return _handle_missing(sample, missing, dropna, f"{file}, column {column!r}")


def _csv_table(file: Path, header: list, columns: list[str], dropna: bool) -> Sample:
    import pandas as pd

    absent = [c for c in columns if c not in header]
    if absent:
        raise DataError(
            f"{file} has no column(s) {absent}; its columns are: {', '.join(map(str, header))}"
        )
    try:
        frame = pd.read_csv(file, usecols=columns)[columns]
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{file}: cannot be read as CSV ({exc})") from None
    sample = Sample(
        frame.to_numpy(),
        "csv",
        {"path": str(file.resolve()), "columns": columns, "rows": len(frame)},
        locate=lambda i: f"{file}, line {_file_line(file, i)}, columns {columns}",
        labels=columns,
    )
    missing = frame.isna().any(axis=1).to_numpy()
    return _handle_missing(sample, missing, dropna, f"{file}, columns {columns}")


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


SOURCES = ("synthetic", "csv", "inline", "counts", "npy")


def fingerprint(x: np.ndarray) -> str:
    """A short hash of the fitted values: jobs with equal hashes fitted the same data, so
    their AIC values can be compared (the report ranks models by it)."""
    import hashlib

    values = x if x.flags.c_contiguous else np.ascontiguousarray(x)
    return hashlib.sha1(memoryview(values).cast("B")).hexdigest()[:16]  # no copy

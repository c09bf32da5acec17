"""Columns too large for memory, read in chunks: Parquet files (pyarrow row-group batches)
and CSV files read piece by piece.

Each source is a ``runner.stats.chunked.Chunks``: every pass reads the column again,
``chunk_rows`` values at a time, checks each piece against the family (missing values,
support) and names a bad value by its file, row and column. Only one piece (and pyarrow's
buffer of the row group it comes from) is in memory at a time, whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from runner.errors import DataError
from runner.io import data as data_io
from runner.stats.chunked import LocalChunks
from runner.stats.families.base import Family

CHUNK_ROWS = 1 << 20  # values per piece: 8 MiB of float64


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet file ``path`` names, or the ``*.parquet`` files under a folder (sorted,
    so a fit reads them in the same order every time)."""
    root = Path(path).expanduser()
    if root.is_dir():
        files = sorted(p for p in root.rglob("*.parquet") if p.is_file())
        if not files:
            raise DataError(f"data folder {str(path)!r} holds no *.parquet files")
        return files
    if not root.is_file():
        where = f" (looked in {root.resolve().parent})" if not root.is_absolute() else ""
        raise DataError(f"data file {str(path)!r} does not exist{where}")
    return [root]


class ParquetChunks(LocalChunks):
    """One column of a Parquet file or of a folder of them."""

    def __init__(
        self,
        path: str | Path,
        column: str | None,
        family: Family,
        dropna: bool = False,
        chunk_rows: int | None = None,
    ):
        import pyarrow.parquet as pq

        self.files = parquet_files(path)
        self.family = family
        self.dropna = dropna
        self.chunk_rows = int(chunk_rows or CHUNK_ROWS)
        if self.chunk_rows < 1:
            raise DataError(f"data.chunk_rows = {chunk_rows}: expected a positive count")
        rows = 0
        for file in self.files:
            try:
                meta = pq.ParquetFile(file)
            except Exception as exc:  # pyarrow's errors: ArrowInvalid, OSError, ...
                raise DataError(f"{file}: cannot be read as Parquet ({exc})") from None
            names = meta.schema_arrow.names
            if column is None:
                if len(names) != 1:
                    raise DataError(
                        f"{file} has {len(names)} columns {names}: choose one with data.column=NAME"
                    )
                column = names[0]
            if column not in names:
                raise DataError(
                    f"{file} has no column {column!r}; its columns are: {', '.join(names)}"
                )
            rows += meta.metadata.num_rows
        self.column = column
        self.rows = rows
        self.dropped = 0
        super().__init__(self._read)

    def pieces(self) -> Iterator[tuple[Path, int, Any]]:
        """(file, first row, pyarrow array) for every piece, in file order. One row group
        at a time, without pre-buffering: pyarrow's ``pre_buffer`` (its default) caches
        every requested row group's column chunk, which for a whole file is the file."""
        import pyarrow.parquet as pq

        for file in self.files:
            offset = 0
            reader = pq.ParquetFile(file, pre_buffer=False)
            for group in range(reader.num_row_groups):
                batches = reader.iter_batches(batch_size=self.chunk_rows, row_groups=[group],
                                              columns=[self.column])  # fmt: skip
                for batch in batches:
                    array = batch.column(0)
                    yield file, offset, array
                    offset += len(array)

    def _read(self) -> Iterator[np.ndarray]:
        dropped = 0
        for file, offset, array in prefetched(self.pieces()):
            values, kept = self._numbers(file, offset, array)
            dropped += 0 if kept is None else len(array) - kept.size
            yield self._validated(file, offset, values, kept)
        self.dropped = dropped

    def _numbers(self, file: Path, offset: int, array) -> tuple[np.ndarray, np.ndarray | None]:
        """The piece as numbers; with dropna, without its missing values (and where the kept
        ones were, to name a bad one)."""
        kept = None
        if array.null_count:
            missing = np.asarray(array.is_null())
            if not self.dropna:
                row = offset + int(np.argmax(missing))
                raise DataError(
                    f"{file}, row {row} (counting from 0), column {self.column!r}: "
                    "missing value; fill it in, or set data.dropna=true to drop "
                    "missing values"
                )
            kept = np.flatnonzero(~missing)
            array = array.drop_null()
        values = array.to_numpy(zero_copy_only=False)
        if self.dropna and values.dtype.kind == "f":
            finite = ~np.isnan(values)
            if not finite.all():
                where = np.arange(values.size) if kept is None else kept
                kept, values = where[finite], values[finite]
        return values, kept

    def _validated(self, file, offset, values, kept) -> np.ndarray:
        try:
            return self.family.validate(values)
        except DataError as exc:
            if exc.index is None:
                raise DataError(f"{file}, column {self.column!r}: {exc.args[0]}") from None
            row = offset + int(exc.index if kept is None else kept[exc.index])
            raise DataError(
                f"{file}, row {row} (counting from 0), column {self.column!r}: {exc.args[0]}",
                value=exc.value,
            ) from None

    def describe(self) -> dict[str, Any]:
        about: dict[str, Any] = {
            "column": self.column,
            "rows": self.rows,
            "chunk_rows": self.chunk_rows,
        }
        if len(self.files) == 1:
            about["path"] = str(self.files[0].resolve())
        else:
            about["path"] = str(Path(self.files[0]).resolve().parent)
            about["files"] = len(self.files)
        if self.dropped:
            about["dropped_missing"] = self.dropped
        return about


class CsvChunks(LocalChunks):
    """One column of a CSV file, read ``chunk_rows`` lines at a time with pandas."""

    def __init__(
        self,
        path: str | Path,
        column: str | None,
        family: Family,
        dropna: bool = False,
        chunk_rows: int | None = None,
        sep: str | None = None,
    ):
        self.file = data_io.data_file(path)
        self.sep = data_io.separator(sep)
        header = data_io.csv_header(self.file, self.sep)
        if column is None:
            if len(header) != 1:
                raise DataError(
                    f"{self.file} has {len(header)} columns {header}: choose one "
                    "with data.column=NAME"
                )
            column = header[0]
        (self.place,) = data_io._places(self.file, header, [column])
        self.column = column
        self.family = family
        self.dropna = dropna
        self.chunk_rows = int(chunk_rows or CHUNK_ROWS)
        if self.chunk_rows < 1:
            raise DataError(f"data.chunk_rows = {chunk_rows}: expected a positive count")
        self.dropped = 0
        super().__init__(self._read)

    def _read(self) -> Iterator[np.ndarray]:
        offset, dropped = 0, 0
        reader = data_io.read_csv(
            self.file, self.sep, usecols=[self.place], chunksize=self.chunk_rows
        )
        with reader:
            while True:
                try:
                    frame = next(reader)
                except StopIteration:
                    break
                except (ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors
                    raise DataError(f"{self.file}: cannot be read as CSV ({exc})") from None
                series = frame.iloc[:, 0]
                missing = series.isna().to_numpy()
                kept = None
                if missing.any():
                    if not self.dropna:
                        raise self._error(
                            offset + int(np.argmax(missing)),
                            "missing value; "
                            "fill it in, or set data.dropna=true to drop "
                            "missing values",
                        )
                    kept = np.flatnonzero(~missing)
                    series = series[~missing]
                    dropped += int(missing.sum())
                try:
                    values = self.family.validate(series.to_numpy())
                except DataError as exc:
                    if exc.index is None:
                        raise DataError(
                            f"{self.file}, column {self.column!r}: {exc.args[0]}"
                        ) from None
                    row = offset + int(exc.index if kept is None else kept[exc.index])
                    raise self._error(row, exc.args[0]) from None
                offset += len(frame)
                yield values
        self.dropped = dropped

    def _error(self, row: int, why: str) -> DataError:
        line = data_io._file_line(self.file, row)
        return DataError(f"{self.file}, line {line}, column {self.column!r}: {why}")

    def describe(self) -> dict[str, Any]:
        about: dict[str, Any] = {
            "path": str(self.file.resolve()),
            "column": self.column,
            "chunk_rows": self.chunk_rows,
        }
        if self.n is not None:
            about["rows"] = self.n + self.dropped
        if self.dropped:
            about["dropped_missing"] = self.dropped
        return about


def parquet(
    path: str | Path,
    column: str | None,
    family: Family,
    dropna: bool = False,
    chunk_rows: int | None = None,
) -> data_io.Sample:
    """``data=parquet``: a Sample whose values are chunks (``ParquetChunks``)."""
    chunks = ParquetChunks(path, column, family, dropna, chunk_rows)
    return data_io.Sample(chunks, "parquet", chunks.describe())  # type: ignore[arg-type]


def csv_chunks(
    path: str | Path,
    column: str | None,
    family: Family,
    dropna: bool = False,
    chunk_rows: int | None = None,
    sep: str | None = None,
) -> data_io.Sample:
    """``data=csv data.chunk_rows=N``: a Sample whose values are chunks (``CsvChunks``)."""
    chunks = CsvChunks(path, column, family, dropna, chunk_rows, sep)
    return data_io.Sample(chunks, "csv", chunks.describe())  # type: ignore[arg-type]


PREFETCH = 2  # pieces read ahead by a thread while the current one is reduced


def prefetched(pieces: Iterator[Any], depth: int = PREFETCH) -> Iterator[Any]:
    """``pieces`` read ahead in a thread (pyarrow decodes without the GIL), at most
    ``depth`` waiting: reading overlaps checking and reducing, memory stays bounded. An
    error while reading surfaces here, in order; leaving early stops the reader."""
    import queue
    import threading

    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            for piece in pieces:
                while not stop.is_set():
                    try:
                        ready.put((None, piece), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put((None, done))
        except BaseException as exc:  # handed to the consumer, raised there
            ready.put((exc, None))

    thread = threading.Thread(target=read, name="parquet-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            error, piece = ready.get()
            if error is not None:
                raise error
            if piece is done:
                return
            yield piece
    finally:
        stop.set()
        while thread.is_alive():  # unblock a reader waiting to put
            try:
                ready.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)

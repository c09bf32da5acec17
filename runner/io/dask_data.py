"""``data.engine=dask``: a column of a Dask DataFrame or a 1-D Dask Array, fitted where its
partitions live.

The maths is ``runner.stats.chunked``'s: this module only makes a Dask collection a
``Chunks``. Each pass maps the family's chunk function (its ``reduce``, or the
log-likelihood, score and Hessian at one point) over the partitions on the cluster's
workers, each partition checked against the family there; the small results come back to
the client, which folds them in partition order, so the fit equals the in-memory one up
to rounding. Scheduling is Dask's (``dask.distributed``): nothing here schedules.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats.chunked import Chunks
from runner.stats.families.base import Family


def client(scheduler: str | None = None):
    """A ``dask.distributed.Client``: to ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``, or a scheduler file ending in .json), or to a LocalCluster of
    two in-process workers when None."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise ConfigError("data.engine=dask needs dask[distributed]: pip install "
                          "'dask[distributed]'") from None  # fmt: skip
    if scheduler is None:
        import logging

        logging.getLogger("distributed").setLevel(logging.WARNING)  # not a line per worker
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                               dashboard_address=None, silence_logs=logging.WARNING)  # fmt: skip
        made = Client(cluster)
        weakref.finalize(made, cluster.close)
        return made
    if str(scheduler).endswith(".json"):
        return Client(scheduler_file=str(scheduler))
    return Client(str(scheduler))


class DaskChunks(Chunks):
    """A Dask Series (a DataFrame's column) or 1-D Array as chunks: its partitions."""

    def __init__(self, collection: Any, family: Family, dask_client: Any = None,
                 dropna: bool = False, name: str = "",
                 about: dict[str, Any] | None = None):  # fmt: skip
        self.parts = _partitions(collection)
        if not self.parts:
            raise DataError(f"{name or 'the Dask collection'} has no partitions")
        self.family = family
        self.client = dask_client
        self.dropna = dropna
        self.name = name
        self.about = dict(about or {})
        self.n = None

    def map_reduce(self, fn, combine):
        import dask

        family, dropna, name = self.family, self.dropna, self.name
        tasks = [dask.delayed(_apply)(part, i, fn, family, dropna, name)
                 for i, part in enumerate(self.parts)]  # fmt: skip
        if self.client is None:
            results = dask.compute(*tasks)
        else:
            results = self.client.gather(self.client.compute(tasks))
        kept = [r for r in results if r is not None]  # empty partitions give nothing
        if not kept:
            raise DataError(f"{name or 'the Dask collection'}: there are no observations")
        total = kept[0]
        for value in kept[1:]:
            total = combine(total, value)
        return total

    def describe(self):
        return {**self.about, "engine": "dask", "partitions": len(self.parts)}


def _partitions(collection: Any) -> list:
    """The collection's partitions as delayed objects, in order."""
    if hasattr(collection, "to_delayed") and hasattr(collection, "npartitions"):
        if getattr(collection, "ndim", 1) != 1:
            raise DataError("a Dask DataFrame has several columns: pass one, frame[name]")
        return list(collection.to_delayed())
    if hasattr(collection, "to_delayed") and hasattr(collection, "chunks"):  # dask.array
        if collection.ndim != 1:
            raise DataError(f"a Dask Array of shape {collection.shape}: expected 1-D values")
        return list(collection.to_delayed().ravel())
    raise DataError(f"expected a Dask Series or 1-D Dask Array, got {type(collection).__name__}")


def _apply(part: Any, index: int, fn, family: Family, dropna: bool, name: str):
    """On a worker: the partition's values, checked by the family, then ``fn`` of them."""
    where = f"{name}, " if name else ""
    values = part.to_numpy() if hasattr(part, "to_numpy") else np.asarray(part)
    kept = None
    missing = _missing(values)
    if missing is not None and missing.any():
        if not dropna:
            row = int(np.argmax(missing))
            raise DataError(f"{where}partition {index}, row {row} of it (counting from 0): "
                            "missing value; fill it in, or set data.dropna=true to drop "
                            "missing values")  # fmt: skip
        kept = np.flatnonzero(~missing)
        values = values[kept]
    if values.size == 0:
        return None
    if values.dtype == object:
        values = _narrow(values)
    try:
        checked = family.validate(values)
    except DataError as exc:
        if exc.index is None:
            raise DataError(f"{where}partition {index}: {exc.args[0]}") from None
        row = int(exc.index if kept is None else kept[exc.index])
        raise DataError(f"{where}partition {index}, row {row} of it (counting from 0): "
                        f"{exc.args[0]}") from None  # fmt: skip
    with np.errstate(all="ignore"):
        return fn(checked)


def _missing(values: np.ndarray) -> np.ndarray | None:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype == object:
        return np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values])
    return None


def _narrow(values: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(values.tolist())
    except (TypeError, ValueError):
        return values


def parquet(path: str | Path, column: str | None, family: Family, dropna: bool = False,
            scheduler: str | None = None, dask_client: Any = None) -> DaskChunks:  # fmt: skip
    """``data=parquet data.engine=dask``: the column of a Parquet file or folder (local, or
    any URL Dask reads: s3://, gs://, hdfs://) as partitions on the cluster."""
    import dask.dataframe as dd

    # one partition per row group: the pieces a local read would see, in the same order
    frame = dd.read_parquet(str(path), split_row_groups=True)
    names = list(frame.columns)
    if column is None:
        if len(names) != 1:
            raise DataError(f"{path} has {len(names)} columns {names}: choose one with "
                            "data.column=NAME")  # fmt: skip
        column = names[0]
    if column not in names:
        raise DataError(f"{path} has no column {column!r}; its columns are: {', '.join(names)}")
    about = {"path": str(path), "column": column}
    return DaskChunks(frame[column], family, dask_client or client(scheduler), dropna,
                      f"{path}, column {column!r}", about)  # fmt: skip

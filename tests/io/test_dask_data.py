"""data.engine=dask: the fit mapped over a Dask collection's partitions on a LocalCluster of
two workers equals the in-memory fit (1e-12 relative); a bad value names its partition.

The cluster runs its workers in this process (processes=False), one thread each: nothing
here depends on how fast a busy machine is, and no timeout is shortened."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from helpers import same_fit  # noqa: E402

from runner.errors import DataError  # noqa: E402
from runner.io import dask_data  # noqa: E402
from runner.stats import families  # noqa: E402
from runner.stats.chunked import fit_chunks  # noqa: E402
from runner.stats.estimate import fit_validated  # noqa: E402

RNG = np.random.default_rng(1717)
TIGHT = {"optimizer_options": {"tol": 1e-10}}  # see tests/io/test_parquet_data.py


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)  # fmt: skip
    with distributed.Client(cluster) as made:
        assert len(made.scheduler_info()["workers"]) == 2
        yield made
    cluster.close()


SAMPLES = {
    "gaussian": lambda n: RNG.normal(-2.0, 0.5, n),
    "poisson": lambda n: RNG.poisson(2.5, n),
    "student_t": lambda n: 3.0 + 2.0 * RNG.standard_t(5.0, n),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_dask_parquet_fit_equals_the_fit_in_memory(tmp_path, client, name):
    family = families.get(name)
    parts = [SAMPLES[name](size) for size in (8000, 5000)]
    for i, part in enumerate(parts):
        pq.write_table(pa.table({"x": part, "y": -part}), tmp_path / f"part-{i}.parquet",
                       row_group_size=3000)  # fmt: skip
    chunks = dask_data.parquet(tmp_path, "x", family, dask_client=client)
    assert len(chunks.parts) >= 4  # a partition per row group, spread over both workers
    settings = TIGHT if name == "student_t" else {}
    whole = fit_validated(family, family.validate(np.concatenate(parts)), **settings)
    same_fit(fit_chunks(family, chunks, **settings), whole)


def test_dask_array_fit_equals_the_fit_in_memory(client):
    import dask.array as da

    family = families.get("gamma")
    x = RNG.gamma(3.0, 2.0, 20_000)
    chunks = dask_data.DaskChunks(da.from_array(x, chunks=3000), family, client)
    same_fit(fit_chunks(family, chunks), fit_validated(family, x))


def test_a_bad_value_names_its_partition_and_row(tmp_path, client):
    family = families.get("exponential")
    x = RNG.exponential(size=9000)
    x[7777] = -3.5  # partition 2 (row groups of 3000), its row 1777
    pq.write_table(pa.table({"x": x}), tmp_path / "e.parquet", row_group_size=3000)
    chunks = dask_data.parquet(tmp_path / "e.parquet", "x", family, dask_client=client)
    with pytest.raises(DataError) as info:
        fit_chunks(family, chunks)
    message = str(info.value)
    assert "e.parquet" in message and "column 'x'" in message
    assert "partition 2, row 1777" in message
    assert "-3.5" in message


def test_an_absent_column_is_named(tmp_path, client):
    pq.write_table(pa.table({"x": [1.0, 2.0]}), tmp_path / "a.parquet")
    with pytest.raises(DataError, match="no column 'z'"):
        dask_data.parquet(tmp_path / "a.parquet", "z", families.get("gaussian"),
                          dask_client=client)  # fmt: skip

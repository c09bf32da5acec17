"""Data beyond memory from the command line: a Parquet folder fitted in row-group
batches equals the in-memory fit, is logged to MLflow, and refuses what needs every
value in memory."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from runner import fit
from tests.helpers import run_python


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("parquet")
    x = np.random.default_rng(7).normal(3.0, 2.0, 30_000)
    (root / "events").mkdir()
    for i, part in enumerate(np.array_split(x, 3)):
        pq.write_table(pa.table({"x": part}), root / "events" / f"part-{i}.parquet",
                       row_group_size=4_000)  # fmt: skip
    return root, x


def test_a_parquet_folder_fits_as_in_memory_and_is_logged(folder):
    from mlflow.tracking import MlflowClient

    root, x = folder
    proc = run_python(["-m", "runner", "data=parquet", "data.path=events", "data.column=x",
                       "model=gaussian", "data.chunk_rows=5000"], root)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (path,) = root.glob("outputs/runs/*/*/results.json")
    record = json.loads(path.read_text())
    expected = fit("gaussian", x)
    for e in expected.estimates:
        assert record["params"][e.name]["estimate"] == pytest.approx(e.estimate, rel=1e-12)
        assert record["params"][e.name]["se"] == pytest.approx(e.se, rel=1e-9)
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'outputs' / 'mlflow.db'}")
    (logged,) = client.search_runs([client.get_experiment_by_name("mle-runner").experiment_id])
    assert logged.info.status == "FINISHED"
    assert logged.data.metrics["estimate.mu"] == pytest.approx(expected.params["mu"], rel=1e-12)


def test_a_bootstrap_of_chunked_data_is_refused_in_one_line(folder):
    root, _ = folder
    proc = run_python(
        [
            "-m",
            "runner",
            "data=parquet",
            "data.path=events",
            "data.column=x",
            "model=gaussian",
            "inference.ci=bootstrap",
            "tracking=none",
        ],
        root,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: inference.ci=bootstrap resamples the data")

"""What a job leaves in MLflow, read back with MlflowClient: the exact records the UI shows.

Each test runs one job in-process (``runner.jobs.launch``) into an SQLite store shared by
the module (its schema is made once), in an experiment of its own, and compares the run
with the job's files: run name, params, description, dataset, metric names and steps, and
the link the job prints. The MLflow UI facts the runner relies on (routes, the layout
parameter, the experiment kind) are read from the installed UI bundle.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import compose_config, run_python

from runner.errors import TrackingError
from runner.io import tracking
from runner.io.tracking import DataRecord, MlflowTracker, code_block, ui_url
from runner.jobs.config import to_spec
from runner.jobs.outputs import flat_params, job_name, run_name

RUN_URL = re.compile(
    r"open (http://127\.0\.0\.1:5000/#/experiments/(\d+)/runs/([0-9a-f]{32})"
    r"\?workflowType=machine_learning)"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('records') / 'mlflow.db'}"


class Job:
    """One job run in-process into ``store`` (experiment: the test's name)."""

    def __init__(self, store: str, folder: Path, experiment: str, *overrides: str):
        from runner.jobs.launch import run

        self.store, self.experiment = store, experiment
        cfg = compose_config(*overrides, f"tracking.uri={store}",
                             f"tracking.experiment={experiment}")  # fmt: skip
        self.spec = to_spec(cfg)
        self.name = run_name(self.spec)
        self.run_dir = folder / "run"
        self.printed: list[str] = []
        self.outcome = run(self.spec, self.run_dir, self.name, echo=self.printed.append)
        assert self.outcome.tracking_error is None, self.outcome.tracking_error

    @property
    def client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.store)

    def run(self):
        found = self.client.get_experiment_by_name(self.experiment)
        (only,) = self.client.search_runs([found.experiment_id])
        return only

    def history(self, key: str) -> dict[int, float]:
        """Step -> value of one metric (each step logged once)."""
        metrics = self.client.get_metric_history(self.run().info.run_id, key)
        found = {m.step: m.value for m in metrics}
        assert len(found) == len(metrics), f"{key}: a step logged twice"
        return found

    def results(self) -> dict:
        return json.loads((self.run_dir / "results.json").read_text())


@pytest.fixture
def job(store, tmp_path, request):
    def start(*overrides: str) -> Job:
        return Job(store, tmp_path, request.node.name.replace("[", "-").rstrip("]"), *overrides)

    return start


# ---- the MLflow UI the links are for -----------------------------------------------------


def _bundle() -> str:
    import mlflow

    build = Path(mlflow.__file__).parent / "server" / "js" / "build" / "static" / "js"
    return "".join(path.read_text(errors="replace") for path in sorted(build.glob("*.js")))


def test_the_installed_ui_has_the_routes_and_values_the_runner_uses():
    # If an MLflow upgrade renames these, the printed links and the experiment tag go stale.
    text = _bundle()
    assert '"/experiments/:experimentId/runs/:runUuid"' in text
    assert '"/experiments/:experimentId/runs"' in text
    assert 'MACHINE_LEARNING="machine_learning"' in text
    assert 'get("workflowType")' in text
    assert 'CUSTOM_MODEL_DEVELOPMENT="custom_model_development"' in text
    assert '"mlflow.experimentKind"' in text
    key, value = tracking.EXPERIMENT_KIND
    assert (key, value) == ("mlflow.experimentKind", "custom_model_development")
    assert tracking.WORKFLOW_PARAM == "workflowType=machine_learning"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:////data/mlflow.db", "http://127.0.0.1:5000/#/experiments/3/runs/abc"),
        ("http://127.0.0.1:5001", "http://127.0.0.1:5001/#/experiments/3/runs/abc"),
        ("https://me:secret@mlflow.lab:8443/team/", "https://mlflow.lab:8443/team/#/experiments/3/runs/abc"),
        ("postgresql://u:p@db/mlflow", "http://127.0.0.1:5000/#/experiments/3/runs/abc"),
    ],
)  # fmt: skip
def test_run_links_open_the_training_layout_without_credentials(uri, expected):
    assert ui_url(uri, "3", "abc") == expected + "?workflowType=machine_learning"
    table = ui_url(uri, "3")
    assert table == expected.removesuffix("/abc") + "?workflowType=machine_learning"


@pytest.mark.parametrize(("before", "after"), [(None, "custom_model_development"),
                                               ("genai_development", "genai_development")])
def test_an_older_experiment_is_marked_as_training_once(store, tmp_path, request, before, after):
    # Made before the runner set the kind (or by hand): the first run adds it; a kind
    # someone chose is theirs.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store)
    name = request.node.name.replace("[", "-").rstrip("]")
    tags = {} if before is None else {"mlflow.experimentKind": before}
    experiment_id = client.create_experiment(name, tags=tags)
    (tmp_path / "run").mkdir()
    MlflowTracker(store, name).log_run(params={}, metrics={}, steps=[], run_dir=tmp_path / "run",
                                       run_name="r", tags={})  # fmt: skip
    assert client.get_experiment(experiment_id).tags == {"mlflow.experimentKind": after}


def test_databricks_has_no_link():
    assert ui_url("databricks", "3", "abc") is None


# ---- a single fit ------------------------------------------------------------------------


def test_single_fit_records(job):
    done = job("model=gaussian", "n=1000", "plots=false")
    logged = done.run()
    record = done.results()
    experiment = done.client.get_experiment_by_name(done.experiment)

    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert logged.info.run_name == "gaussian n=1000 seed=0"
    assert logged.data.params == {
        "model.name": "gaussian", "model.truth.mu": "0.0", "model.truth.sigma": "1.0",
        "model.prior.mu0": "0.0", "model.prior.kappa0": "1.0", "model.prior.alpha0": "2.0",
        "model.prior.beta0": "1.0", "data.source": "synthetic", "data.dropna": "False",
        "data.holdout": "0.0", "optimizer.name": "auto", "tracking.enabled": "True",
        "tracking.experiment": done.experiment, "tracking.required": "True",
        "estimator.name": "mle", "study.name": "single", "study.replicates": "1000",
        "study.stream": "True", "study.slope_from": "100", "study.max_memory_mb": "512.0",
        "study.interval_subset": "200", "study.bootstrap_replicates": "200",
        "n": "1000", "seed": "0", "plots": "False", "inference.ci": "wald_transformed",
        "inference.se": "observed", "inference.bootstrap.kind": "parametric",
        "inference.bootstrap.replicates": "1000", "inference.gof_replicates": "0",
    }  # fmt: skip
    assert logged.data.tags["ci.mu"] == "wald"
    assert logged.data.tags["ci.sigma"] == "wald (log scale)"
    assert logged.data.tags["mlflow.note.content"] == code_block(done.outcome.fit.summary())
    assert logged.data.tags["mlflow.note.content"].startswith("```\ngaussian · n = 1,000")

    (data,) = logged.inputs.dataset_inputs
    assert data.dataset.name == "synthetic gaussian(mu=0, sigma=1) n=1000 seed=0"
    assert data.dataset.digest == record["data"]["sha1"] == logged.data.tags["data.sha1"]
    assert data.dataset.source_type == "code"
    assert json.loads(data.dataset.source) == {"tags": {
        "data.source": "synthetic", "model": "gaussian", "truth": {"mu": 0.0, "sigma": 1.0},
        "n": 1000, "seed": 0}}  # fmt: skip
    assert json.loads(data.dataset.profile) == {
        "features_shape": [1000], "features_size": 1000, "features_nbytes": 8000}  # fmt: skip
    assert [(t.key, t.value) for t in data.tags] == [("mlflow.data.context", "train")]

    # The scalars, as before: one point each, under names without "/".
    assert logged.data.metrics["estimate.mu"] == pytest.approx(record["params"]["mu"]["estimate"])
    assert all("/" not in key for key in logged.data.metrics)

    # The link printed after the run opens that run, in that experiment, in the training
    # layout, with the command that serves the store.
    lines = [line for line in done.printed if line.startswith("logged: ")]
    assert len(lines) == 1
    first, second = lines[0].splitlines()
    assert first == (f"logged: MLflow run {logged.info.run_id} in experiment "
                     f"'{done.experiment}' ({done.store})")  # fmt: skip
    match = RUN_URL.search(second)
    assert match, second
    assert match[2] == experiment.experiment_id and match[3] == logged.info.run_id
    assert second.endswith(f"(while mlflow ui --backend-store-uri {done.store} runs)")


def test_newton_fit_logs_its_climb_as_step_series_under_trace(job):
    done = job("model=gamma", "n=500", "optimizer=newton", "plots=false")
    logged = done.run()
    trace = pd.read_csv(done.run_dir / "trace.csv")
    assert len(trace) > 2
    for column in ("loglik", "grad_norm", "shape", "rate"):
        expected = dict(zip(trace["iteration"].astype(int), trace[column], strict=True))
        assert done.history(f"trace/{column}") == pytest.approx(expected, rel=1e-12), column
    assert not [key for key in logged.data.metrics if key.startswith("trace.")]
    # The metrics tab's layout: step series (a section each, listed first) have a "/";
    # one-point metrics (bars under "Model metrics", listed last) have none.
    for key in logged.data.metrics:
        points = len(done.history(key))
        assert ("/" in key) == (points > 1), (key, points)


def test_plane_crashes_logs_every_estimator_on_held_out_data(job):
    done = job("+experiment=plane_crashes", "plots=false")
    logged = done.run()
    metrics, record = logged.data.metrics, done.results()

    held = record["heldout"]
    assert set(held) == {"mle", "map", "posterior_mean"}
    # The MLE gives the future collisions probability 0: its mean is -inf, which is no
    # metric; the count of impossible points is, and a chart can show it.
    assert held["mle"]["mean_loglik"] is None and held["mle"]["zero_probability"] > 0
    assert "heldout.mle.mean_loglik" not in metrics
    for label, values in held.items():
        assert metrics[f"heldout.{label}.n"] == values["n"] == 100_000
        assert metrics[f"heldout.{label}.zero_probability"] == values["zero_probability"]
        if values["mean_loglik"] is not None:
            assert metrics[f"heldout.{label}.mean_loglik"] == pytest.approx(values["mean_loglik"])
    assert metrics["heldout.map.zero_probability"] == 0
    low, high = record["params"]["p"]["credible_interval"]
    assert metrics["credible_low.p"] == pytest.approx(low)
    assert metrics["credible_high.p"] == pytest.approx(high)
    assert metrics["map.p"] == pytest.approx(1 / 1002)
    note = logged.data.tags["mlflow.note.content"]
    assert "held-out mean log-likelihood (mle, n = 100,000): -inf" in note

    (data,) = logged.inputs.dataset_inputs
    assert data.dataset.name == "counts 1:0 0:1000"
    assert data.dataset.digest == record["data"]["sha1"]
    assert json.loads(data.dataset.source) == {"tags": {
        "data.source": "counts", "model": "bernoulli", "counts": {"1": 0, "0": 1000}}}  # fmt: skip
    assert json.loads(data.dataset.profile)["features_shape"] == [1000]


def test_csv_fit_names_its_file_as_the_dataset_source(job, tmp_path, monkeypatch):
    # data.path is relative to where the command runs; the source is the file itself.
    values = np.random.default_rng(3).gamma(2.0, 0.5, 300)
    path = tmp_path / "x.csv"
    path.write_text("v\n" + "\n".join(map(repr, values.tolist())) + "\n")
    monkeypatch.chdir(tmp_path)
    done = job("model=gamma", "data=csv", "data.path=x.csv", "data.column=v", "plots=false")
    logged = done.run()
    assert logged.info.run_name == "gamma x.csv:v"
    (data,) = logged.inputs.dataset_inputs
    assert data.dataset.name == "x.csv:v"
    assert data.dataset.source_type == "local"
    assert json.loads(data.dataset.source) == {"uri": str(path.resolve())}
    assert data.dataset.digest == done.results()["data"]["sha1"]
    assert json.loads(data.dataset.profile)["features_shape"] == [300]


# ---- a convergence study -----------------------------------------------------------------


def test_study_logs_error_against_n_on_one_scale(job):
    done = job("study=convergence", "model=poisson", "study.sizes=[10,100,1000]",
               "study.replicates=200", "plots=false")  # fmt: skip
    logged = done.run()
    summary = pd.read_csv(done.run_dir / "convergence_summary.csv").set_index("size")
    assert logged.info.run_name == "poisson convergence seed=0"
    assert sorted(logged.data.metrics) == ["bias/lam", "coverage/lam", "rmse/lam", "slope.lam",
                                           "sqrt_crlb/lam"]  # fmt: skip
    expected = {
        "rmse/lam": summary["rmse"],
        "sqrt_crlb/lam": np.sqrt(summary["crlb"]),  # the RMSE's scale, not a variance
        "bias/lam": summary["bias"],
        "coverage/lam": summary["coverage"],
    }
    for key, column in expected.items():
        assert done.history(key) == pytest.approx(column.to_dict(), rel=1e-12), key
    # sqrt(CRLB) = sqrt(lam / n) for the Poisson: 0.632, 0.2, 0.0632 at lam = 4.
    assert done.history("sqrt_crlb/lam") == pytest.approx(
        {n: math.sqrt(4 / n) for n in (10, 100, 1000)}, rel=1e-9)  # fmt: skip

    table = done.printed[0]
    assert logged.data.tags["mlflow.note.content"] == code_block(table)
    (data,) = logged.inputs.dataset_inputs
    assert data.dataset.name == "synthetic poisson(lam=4) 200x n=10..1000 seed=0"
    assert data.dataset.source_type == "code"
    assert json.loads(data.dataset.source)["tags"] == {
        "data.source": "synthetic", "model": "poisson", "seed": 0, "truth": {"lam": 4.0},
        "sizes": [10, 100, 1000], "replicates": 200}  # fmt: skip
    assert json.loads(data.dataset.profile)["features_shape"] == [200, 3]


# ---- a failed job ------------------------------------------------------------------------


def test_failed_job_has_its_error_as_the_description(store, tmp_path, request):
    from mlflow.tracking import MlflowClient

    from runner.jobs.launch import execute

    experiment = request.node.name
    cfg = compose_config("model=beta", "data=inline", "data.values=[0.2,0.5,1.5]",
                         "plots=false", f"tracking.uri={store}",
                         f"tracking.experiment={experiment}")  # fmt: skip
    status = execute(cfg, tmp_path / "run", "beta values=3", {"sweep.job": "4"}, in_sweep=True)
    assert status == 1
    error = json.loads((tmp_path / "run" / "status.json").read_text())["error"]
    client = MlflowClient(tracking_uri=store)
    (logged,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert logged.info.status == "FAILED"
    assert logged.info.run_name == "beta values=3"
    assert logged.data.tags["error"] == error
    assert logged.data.tags["mlflow.note.content"] == f"**FAILED**\n\n```\n{error}\n```"
    assert logged.inputs.dataset_inputs == []  # nothing was fitted


# ---- params, names -----------------------------------------------------------------------


def test_flat_params_leave_out_what_is_not_set():
    spec = to_spec(compose_config("model=gaussian", "+model.fixed.sigma=1.0"))
    flat = flat_params(spec)
    assert flat["model.fixed.sigma"] == 1.0
    for key in ("data.path", "data.column", "model.trials", "optimizer.tol", "optimizer.init",
                "experiment", "model.categories", "study.sizes", "tracking.uri"):  # fmt: skip
        assert not [k for k in flat if k == key or k.startswith(key + ".")], key
    assert not [k for k, v in flat.items() if v is None or v in ({}, [], ())]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ((), "gaussian n=1000 seed=0"),
        (("model=poisson", "n=50", "seed=7"), "poisson n=50 seed=7"),
        (("model=gamma", "optimizer=newton"), "gamma newton n=1000 seed=0"),
        (("model=bernoulli", "estimator=map", "data=inline", "data.values=[0,1]"),
         "bernoulli map inline"),
        (("study=convergence", "model=gamma"), "gamma convergence seed=0"),
    ],
)  # fmt: skip
def test_single_run_names_say_model_and_data(overrides, expected):
    assert run_name(to_spec(compose_config(*overrides))) == expected


def test_experiment_runs_are_named_after_the_experiment():
    spec = to_spec(compose_config("+experiment=plane_crashes"))
    assert run_name(spec, "plane_crashes") == "plane_crashes bernoulli map"


def test_the_command_line_names_the_run_and_prints_its_link(tmp_path):
    # __main__ builds the name (the experiment comes from Hydra's choices) and the job
    # prints where the run is; the store is the default one, outputs/mlflow.db.
    from mlflow.tracking import MlflowClient

    proc = run_python(["-m", "runner", "+experiment=plane_crashes", "experiment.m=50",
                       "plots=false"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    store = f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("mle-runner")
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.info.run_name == "plane_crashes bernoulli map"
    lines = proc.stdout.splitlines()
    at = lines.index(f"logged: MLflow run {logged.info.run_id} in experiment 'mle-runner' "
                     f"({store})")  # fmt: skip
    url = (f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}/runs/"
           f"{logged.info.run_id}?workflowType=machine_learning")  # fmt: skip
    assert lines[at + 1] == (
        f"  open {url} (while mlflow ui --backend-store-uri sqlite:///outputs/mlflow.db runs)"
    )


def test_sweep_job_names_put_what_varies_first():
    overrides = ["model=poisson", "n=100", "seed=3", "plots=false"]
    assert job_name(overrides, ["model", "n", "seed"], "poisson") == "poisson n=100 seed=3"
    assert job_name(overrides, ["n"], "poisson") == "n=100 poisson"
    assert job_name(["+experiment.m=10", "optimizer=newton"], ["experiment.m", "optimizer"],
                    "bernoulli") == "m=10 newton bernoulli"  # fmt: skip
    assert job_name(overrides, None, "poisson") == "poisson n=100 seed=3 plots=false"


# ---- failures stay TrackingError, records stay whole ---------------------------------------


def _log(store: str, experiment: str, run_dir: Path, **extra) -> str | None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text("{}\n")
    record = DataRecord("synthetic gaussian(mu=0, sigma=1) n=10 seed=0", "0123456789abcdef",
                        (10,), code={"data.source": "synthetic"})  # fmt: skip
    return MlflowTracker(store, experiment).log_run(
        params={"n": 10}, metrics={"loglik": -1.5}, steps=[("trace/loglik", -2.0, 0)],
        run_dir=run_dir, run_name="gaussian n=10", tags={"model": "gaussian"},
        note="a *note*", dataset=record, **extra)  # fmt: skip


def test_a_dataset_that_cannot_be_logged_is_a_tracking_error_not_a_lost_run(
    store, tmp_path, monkeypatch, request
):
    from mlflow.tracking import MlflowClient

    def refused(self, *args, **kwargs):
        raise RuntimeError("INVALID_PARAMETER_VALUE: dataset refused")

    monkeypatch.setattr(MlflowClient, "log_inputs", refused)
    with pytest.raises(TrackingError, match="dataset refused"):
        _log(store, request.node.name, tmp_path / "run")
    client = MlflowClient(tracking_uri=store)
    (logged,) = client.search_runs([client.get_experiment_by_name(request.node.name).experiment_id])
    assert logged.info.status == "FAILED"  # closed, not left RUNNING
    assert logged.data.params == {"n": "10"} and logged.data.metrics["loglik"] == -1.5
    assert logged.data.tags["mlflow.note.content"] == "a *note*"


@pytest.mark.parametrize(
    "message",
    [
        "(sqlite3.OperationalError) database is locked",
        # Two jobs fitting the same data insert its dataset row at once; one loses.
        "(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, "
        "datasets.name, datasets.digest",
    ],
)
def test_a_busy_store_does_not_lose_the_dataset(store, tmp_path, monkeypatch, request, message):
    from mlflow.tracking import MlflowClient

    monkeypatch.setattr(tracking.time, "sleep", lambda _: None)
    real, calls = MlflowClient.log_inputs, []

    def once_locked(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(message)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_inputs", once_locked)
    where = _log(store, request.node.name.replace("[", "-").rstrip("]"), tmp_path / "run")
    assert where and len(calls) == 2
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name(request.node.name.replace("[", "-").rstrip("]"))
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.info.status == "FINISHED"
    (data,) = logged.inputs.dataset_inputs
    assert (data.dataset.name, data.dataset.digest) == (
        "synthetic gaussian(mu=0, sigma=1) n=10 seed=0", "0123456789abcdef")  # fmt: skip


def test_a_long_description_is_cut_where_mlflow_takes_it(store, tmp_path, request):
    from mlflow.tracking import MlflowClient

    note = code_block("\n".join(f"row {i} " + "x" * 90 for i in range(200)))
    tracker = MlflowTracker(store, request.node.name)
    (tmp_path / "run").mkdir()
    tracker.log_run(params={}, metrics={}, steps=[], run_dir=tmp_path / "run", run_name="long",
                    tags={}, note=note)  # fmt: skip
    client = MlflowClient(tracking_uri=store)
    (logged,) = client.search_runs([client.get_experiment_by_name(request.node.name).experiment_id])
    text = logged.data.tags["mlflow.note.content"]
    assert len(text) <= 8000 and text.startswith(note[:1000])
    assert text.count("```") == 2  # the code block the cut opened is closed
    assert text.endswith("(cut here: the run folder and its artifacts have all of it)")

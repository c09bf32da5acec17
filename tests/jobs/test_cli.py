"""The command line, end to end: ``python -m runner ...`` in a fresh folder.

Each run is a subprocess (a few seconds each: imports dominate), so every run is started
once, all of them side by side in a thread pool when the module's first test asks, and
the tests below only read what a run left behind: exit code, stdout, stderr, the files
under ``outputs/`` and the MLflow store.
"""

from __future__ import annotations

import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from helpers import run_python
from scipy import stats


@dataclass(repr=False)
class Run:
    args: list[str]
    cwd: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def results(self) -> list[Path]:
        return sorted((self.cwd / "outputs" / "runs").glob("**/results.json"))

    def record(self) -> dict:
        found = self.results()
        assert len(found) == 1, f"expected one results.json, found {found}\n{self}"
        return json.loads(found[0].read_text())

    def __repr__(self) -> str:
        return f"<Run {' '.join(self.args)}: exit {self.returncode}>"

    def __str__(self) -> str:
        return (
            f"$ python -m runner {' '.join(self.args)}   (exit {self.returncode})\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = closed_port()
NPY_VALUES = np.random.default_rng(11).gamma(2.5, 1 / 1.5, 400)  # written with numpy.save

# name -> (arguments, files to write in the run's folder)
CASES: dict[str, tuple[list[str], dict[str, str]]] = {
    "gaussian": (["model=gaussian", "n=1000"], {}),
    "poisson": (["model=poisson", "n=500", "seed=7", "model.truth.lam=3.2", "tracking=none"], {}),
    "csv": (
        ["data=csv", "data.path=my.csv", "data.column=x", "model=exponential", "tracking=none"],
        {"my.csv": "id,x\n1,0.5\n2,1.5\n3,2.0\n4,4.0\n"},
    ),
    "inline": (["data=inline", "data.values=[0,1,0,0,1]", "model=bernoulli", "tracking=none"], {}),
    "gamma_bfgs": (
        ["model=gamma", "n=2000", "optimizer=scipy", "optimizer.method=BFGS", "tracking=none"],
        {},
    ),
    "unreachable": (["model=gaussian", "n=100", f"tracking.uri=http://127.0.0.1:{PORT}"], {}),
    "unreachable_optional": (
        [
            "model=gaussian",
            "n=100",
            f"tracking.uri=http://127.0.0.1:{PORT}",
            "tracking.required=false",
        ],
        {},
    ),
    # errors
    "err_n": (["n=-5", "tracking=none"], {}),
    "err_model": (["model=nope"], {}),
    "err_csv_missing": (["data=csv", "data.path=missing.csv", "tracking=none"], {}),
    "err_csv_negative": (
        ["data=csv", "data.path=counts.csv", "model=poisson", "tracking=none"],
        {"counts.csv": "k\n2\n0\n-3\n1\n"},
    ),
    "err_closed_form": (["optimizer=closed_form", "model=gamma", "tracking=none"], {}),
    "err_truth": (["model.truth.sigma=-1", "tracking=none"], {}),
    "err_unknown_key": (["++model.truncate.low=2", "tracking=none"], {}),
    # paths with no other end-to-end test
    "newton_trace": (["model=gamma", "n=300", "optimizer=newton", "tracking=none"], {}),
    "test_path": (
        ["data=csv", "data.path=train.csv", "data.column=x", "data.test_path=test.csv",
         "model=exponential", "tracking=none"],
        {"train.csv": "x\n0.5\n1.5\n2.0\n4.0\n", "test.csv": "id,x\n1,1.0\n2,3.0\n3,0.25\n"},
    ),
    "test_n": (["model=poisson", "n=200", "data.test_n=500", "tracking=none"], {}),
    "npy": (["data=npy", "data.path=x.npy", "model=gamma", "tracking=none"],
            {"x.npy": NPY_VALUES}),
    "plots_true": (["model=gaussian", "n=200", "tracking=none", "plots=true"], {}),
    "scipy_gev": (["model=scipy", "model.dist=genextreme", "n=400", "tracking=none",
                   "plots=true"], {}),
    "scipy_csv_held": (["model=scipy", "model.dist=weibull_min", "+model.fixed.loc=0",
                        "data=csv", "data.path=t.csv", "data.column=t", "tracking=none"],
                       {"t.csv": "t\n" + "\n".join(f"{v:.6f}" for v in
                                                  2.0 * np.random.default_rng(4).weibull(1.5, 300))
                        + "\n"}),
    "err_scipy_dist": (["model=scipy", "model.dist=gumbl", "tracking=none"], {}),
}  # fmt: skip


def run_cli(args: list[str], cwd: Path) -> Run:
    start = time.monotonic()
    proc = run_python(["-m", "runner", *args], cwd)
    seconds = time.monotonic() - start
    return Run(args, cwd, proc.returncode, proc.stdout, proc.stderr, seconds)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    jobs = {}
    for name, (args, files) in CASES.items():
        folder = tmp_path_factory.mktemp(name)
        for file, content in files.items():
            if isinstance(content, np.ndarray):
                np.save(folder / file, content)
            else:
                (folder / file).write_text(content)
        jobs[name] = (args, folder)
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        futures = {name: pool.submit(run_cli, args, cwd) for name, (args, cwd) in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def succeeded(run: Run) -> None:
    assert run.returncode == 0, str(run)
    assert "Traceback" not in run.stderr, str(run)


def failed_cleanly(run: Run) -> str:
    """A user error: non-zero exit, one paragraph on stderr, no traceback, no results."""
    assert run.returncode != 0, str(run)
    assert "Traceback" not in run.stderr, str(run)
    assert "Traceback" not in run.stdout, str(run)
    assert run.results() == [], str(run)
    return run.stderr.strip()


def one_paragraph(message: str) -> None:
    assert message.startswith("error: "), message
    assert "\n\n" not in message, message


# ---- a fit tracked in MLflow ------------------------------------------------------------


def test_gaussian_prints_a_table_and_writes_results(runs):
    run = runs["gaussian"]
    succeeded(run)
    rows = {line.split()[0]: line for line in run.stdout.splitlines() if line.strip()}
    assert "mu" in rows
    assert "sigma" in rows
    assert "parameter" in rows  # the table header
    assert "saved:" in run.stdout
    assert "logged:" in run.stdout

    record = run.record()
    assert record["model"] == "gaussian"
    assert record["n"] == 1000
    assert set(record["params"]) == {"mu", "sigma"}
    for name, truth in (("mu", 0.0), ("sigma", 1.0)):
        p = record["params"][name]
        assert {"estimate", "se", "ci", "truth"} <= set(p)
        lo, hi = p["ci"]
        assert lo < p["estimate"] < hi
        assert p["se"] > 0
        assert p["truth"] == truth
        assert abs(p["estimate"] - truth) < 4 * p["se"], (name, p)
    for key in ("loglik", "aic", "bic"):
        assert isinstance(record[key], float)
    assert record["aic"] == pytest.approx(2 * 2 - 2 * record["loglik"])
    assert record["converged"] is True
    assert isinstance(record["iterations"], int)
    # The run folder follows hydra.run.dir and keeps Hydra's record of the config.
    run_dir = run.results()[0].parent
    assert run_dir.name.endswith("_gaussian")
    assert (run_dir / ".hydra" / "config.yaml").is_file()


def test_gaussian_is_recorded_in_mlflow(runs):
    from mlflow.tracking import MlflowClient

    run = runs["gaussian"]
    succeeded(run)
    record = run.record()
    outputs = run.cwd / "outputs"
    assert (outputs / "mlflow.db").is_file()

    client = MlflowClient(tracking_uri=f"sqlite:///{outputs / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mle-runner")
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id])
    assert len(found) == 1
    logged = found[0]
    assert logged.info.status == "FINISHED"

    params = logged.data.params
    assert params["model.name"] == "gaussian"
    assert params["n"] == "1000"
    assert params["data.source"] == "synthetic"
    assert "tracking.uri" not in params

    metrics = logged.data.metrics
    for key, value in (
        ("estimate.mu", record["params"]["mu"]["estimate"]),
        ("se.mu", record["params"]["mu"]["se"]),
        ("estimate.sigma", record["params"]["sigma"]["estimate"]),
        ("truth.sigma", 1.0),
        ("loglik", record["loglik"]),
        ("aic", record["aic"]),
        ("bic", record["bic"]),
    ):
        assert metrics[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    assert logged.data.tags["model"] == "gaussian"

    top = {f.path for f in client.list_artifacts(logged.info.run_id)}
    assert "results.json" in top
    assert "config" in top
    config = {f.path for f in client.list_artifacts(logged.info.run_id, "config")}
    assert "config/config.yaml" in config

    # Artifacts live next to the store, under outputs/mlartifacts, not in the cwd's mlruns/.
    stored = outputs / "mlartifacts" / logged.info.run_id / "artifacts"
    assert (stored / "results.json").is_file()
    assert (stored / "config" / "config.yaml").is_file()
    assert json.loads((stored / "results.json").read_text()) == record
    assert not (run.cwd / "mlruns").exists()


# ---- fits without tracking --------------------------------------------------------------


def test_poisson_with_overrides(runs):
    run = runs["poisson"]
    succeeded(run)
    record = run.record()
    assert record["model"] == "poisson"
    assert record["n"] == 500
    lam = record["params"]["lam"]
    assert lam["truth"] == 3.2
    assert abs(lam["estimate"] - 3.2) < 4 * lam["se"]
    assert record["data"]["seed"] == 7
    assert not (run.cwd / "outputs" / "mlflow.db").exists()
    assert not (run.cwd / "mlruns").exists()
    assert "logged:" not in run.stdout


def test_csv_column_with_relative_path(runs):
    run = runs["csv"]
    succeeded(run)
    record = run.record()
    assert record["model"] == "exponential"
    assert record["n"] == 4
    assert record["params"]["rate"]["estimate"] == pytest.approx(4 / 8.0)
    assert record["params"]["rate"]["truth"] is None
    assert record["data"]["source"] == "csv"
    assert record["data"]["column"] == "x"
    assert Path(record["data"]["path"]) == (run.cwd / "my.csv").resolve()
    assert not (run.cwd / "outputs" / "mlflow.db").exists()


def test_inline_values(runs):
    run = runs["inline"]
    succeeded(run)
    record = run.record()
    assert record["model"] == "bernoulli"
    assert record["n"] == 5
    assert record["params"]["p"]["estimate"] == pytest.approx(0.4)
    assert record["data"]["source"] == "inline"
    assert not (run.cwd / "outputs" / "mlflow.db").exists()


def test_gamma_with_scipy_bfgs_converges(runs):
    run = runs["gamma_bfgs"]
    succeeded(run)
    record = run.record()
    assert record["model"] == "gamma"
    assert record["n"] == 2000
    assert record["converged"] is True
    assert "BFGS" in record["optimizer"]
    for name, truth in (("shape", 2.0), ("rate", 1.5)):
        p = record["params"][name]
        assert abs(p["estimate"] - truth) < 4 * p["se"], (name, p)
    assert not (run.cwd / "outputs" / "mlflow.db").exists()


# ---- user errors: a clear message, no traceback -----------------------------------------


def test_negative_sample_size(runs):
    message = failed_cleanly(runs["err_n"])
    one_paragraph(message)
    assert "n = -5" in message
    assert ">= 1" in message


def test_unknown_model_lists_the_choices(runs):
    message = failed_cleanly(runs["err_model"])
    assert "nope" in message
    for name in ("bernoulli", "gamma", "gaussian", "poisson"):
        assert name in message


def test_csv_missing_file(runs):
    run = runs["err_csv_missing"]
    message = failed_cleanly(run)
    one_paragraph(message)
    assert "missing.csv" in message
    assert "does not exist" in message


def test_csv_negative_count_names_the_line(runs):
    message = failed_cleanly(runs["err_csv_negative"])
    one_paragraph(message)
    assert "counts.csv" in message
    assert "line 4" in message
    assert "value -3" in message
    assert "poisson" in message


def test_closed_form_refused_for_gamma(runs):
    message = failed_cleanly(runs["err_closed_form"])
    one_paragraph(message)
    assert "gamma" in message
    assert "closed" in message
    assert "optimizer=" in message  # says what to use instead


def test_invalid_truth(runs):
    message = failed_cleanly(runs["err_truth"])
    one_paragraph(message)
    assert "model.truth.sigma" in message
    assert "-1" in message


# ---- an unreachable tracking server -----------------------------------------------------
# That it is refused before any MLflow client (and its minutes of retries) exists is
# checked in tests/io/test_tracking.py, by events rather than by the clock.


def test_unreachable_server_fails_fast_and_keeps_results(runs):
    run = runs["unreachable"]
    assert run.returncode != 0, str(run)
    assert "Traceback" not in run.stderr, str(run)
    assert "not reachable" in run.stderr
    assert f"127.0.0.1:{PORT}" in run.stderr
    assert "tracking.required" in run.stderr
    record = run.record()  # the fit is on disk all the same
    assert record["n"] == 100
    assert str(run.results()[0]) in run.stderr
    assert not (run.cwd / "outputs" / "mlflow.db").exists()


def test_unreachable_server_accepted_when_not_required(runs):
    run = runs["unreachable_optional"]
    succeeded(run)
    assert "not reachable" in run.stderr
    assert run.record()["n"] == 100


# ---- paths each checked against an independent reference -------------------------------


def run_folder(run: Run) -> Path:
    return run.results()[0].parent


def test_unknown_key_added_with_plus_plus_is_refused_not_ignored(runs):
    run = runs["err_unknown_key"]
    message = failed_cleanly(run)
    one_paragraph(message)
    assert "model.truncate" in message and "would be ignored" in message, message
    statuses = list((run.cwd / "outputs").glob("runs/**/status.json"))
    assert [json.loads(p.read_text())["status"] for p in statuses] == ["FAILED"]


def test_newton_trace_csv_records_the_climb(runs):
    import pandas as pd

    run = runs["newton_trace"]
    succeeded(run)
    record = run.record()
    trace = pd.read_csv(run_folder(run) / "trace.csv")
    assert list(trace.columns) == ["iteration", "loglik", "grad_norm", "shape", "rate"]
    assert trace["iteration"].tolist() == list(range(len(trace)))
    assert len(trace) == record["iterations"] + 1  # the start, then one row per step
    assert (trace["loglik"].diff().dropna() >= -1e-9).all()  # step halving: never downhill
    last = trace.iloc[-1]
    assert last["loglik"] == pytest.approx(record["loglik"], rel=1e-12)
    assert last["shape"] == pytest.approx(record["params"]["shape"]["estimate"], rel=1e-12)


def test_test_path_scores_the_held_out_file_at_the_estimate(runs):
    run = runs["test_path"]
    succeeded(run)
    record = run.record()
    rate = record["params"]["rate"]["estimate"]
    assert rate == pytest.approx(4 / 8.0)  # n / sum of the training values
    held = record["heldout"]["mle"]
    assert held["n"] == 3
    expected = stats.expon(scale=1 / rate).logpdf([1.0, 3.0, 0.25]).mean()
    assert held["mean_loglik"] == pytest.approx(expected, rel=1e-12)


def test_test_n_draws_held_out_data_from_the_truth(runs):
    from runner import families

    run = runs["test_n"]
    succeeded(run)
    record = run.record()
    held = record["heldout"]["mle"]
    assert held["n"] == 500
    assert record["n"] == 200  # the held-out draws are not fitted
    # The held-out draws come from the truth on their own seed stream [seed, 1]: the same
    # draws, scored by scipy at the fitted lam, give the same mean log-likelihood.
    draws = families.get("poisson").sample({"lam": 4.0}, 500, np.random.default_rng([0, 1]))
    lam = record["params"]["lam"]["estimate"]
    assert held["mean_loglik"] == pytest.approx(stats.poisson(lam).logpmf(draws).mean(),
                                                rel=1e-12)  # fmt: skip


def test_npy_data_through_the_command_line_match_scipy(runs):
    run = runs["npy"]
    succeeded(run)
    record = run.record()
    shape, _, scale = stats.gamma.fit(NPY_VALUES, floc=0)
    assert record["params"]["shape"]["estimate"] == pytest.approx(shape, rel=1e-5)
    assert record["params"]["rate"]["estimate"] == pytest.approx(1 / scale, rel=1e-5)
    assert record["data"]["source"] == "npy" and record["data"]["shape"] == [400]


PNG = b"\x89PNG\r\n\x1a\n"


def test_plots_true_draws_figures_without_tracking(runs):
    run = runs["plots_true"]
    succeeded(run)
    pngs = sorted(p.name for p in run_folder(run).glob("*.png"))
    assert pngs == ["density.png", "diagnostics.png", "likelihood.png"]
    assert all(p.read_bytes()[:8] == PNG for p in run_folder(run).glob("*.png"))


def test_plots_auto_draws_for_tracked_runs_only(runs):
    tracked, untracked = runs["gaussian"], runs["poisson"]  # both plots=auto (the default)
    succeeded(tracked)
    succeeded(untracked)
    assert sorted(p.name for p in run_folder(tracked).glob("*.png")) == [
        "density.png", "diagnostics.png", "likelihood.png"]  # fmt: skip
    assert list(run_folder(untracked).glob("*.png")) == []


# ---- model=scipy: any scipy.stats distribution ------------------------------------------


def test_scipy_distribution_by_name_from_synthetic_data(runs):
    run = runs["scipy_gev"]
    succeeded(run)
    record = run.record()
    assert record["model"] == "scipy.genextreme"
    assert set(record["params"]) == {"c", "loc", "scale"}
    from scipy.stats import _distr_params  # scipy's example shapes per distribution

    (shapes,) = [s for name, s in _distr_params.distcont if name == "genextreme"]
    truth = {name: p["truth"] for name, p in record["params"].items()}
    assert truth == {"c": shapes[0], "loc": 0.0, "scale": 1.0}
    assert all(p["se"] is not None and p["se"] > 0 for p in record["params"].values())
    folder = run.results()[0].parent
    assert (folder / "density.png").is_file()


def test_scipy_distribution_with_a_held_parameter_matches_the_built_in(runs):
    run = runs["scipy_csv_held"]
    succeeded(run)
    record = run.record()
    values = np.loadtxt(run.cwd / "t.csv", skiprows=1)
    shape, _, scale = stats.weibull_min.fit(values, floc=0)
    params = {name: p["estimate"] for name, p in record["params"].items()}
    assert params["loc"] == 0 and record["params"]["loc"]["fixed"]
    assert params["c"] == pytest.approx(shape, rel=1e-4)
    assert params["scale"] == pytest.approx(scale, rel=1e-4)


def test_scipy_unknown_distribution_is_one_paragraph(runs):
    message = failed_cleanly(runs["err_scipy_dist"])
    one_paragraph(message)
    assert "did you mean gumbel_r" in message

"""Censored and truncated data from the command line: the two CSV conventions, censored
and truncated synthetic draws, and bad cells named by file, line and column."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import stats

from tests.helpers import run_python

LEFT_RIGHT = "left,right\n1.2,1.2\n,0.5\n3.0,\n2.0,2.5\n0.7,0.7\n1.5,1.5\n4.1,4.1\n2.2,\n"
TIMES = np.round(np.random.default_rng(3).exponential(2.0, 300), 4)
EVENTS = (TIMES <= 3.0).astype(int)
TIME_EVENT = "t,e\n" + "".join(f"{min(t, 3.0)},{e}\n" for t, e in zip(TIMES, EVENTS, strict=True))

CASES = {
    "left_right": ["model=weibull", "data=csv", "data.path=d.csv", "data.left=left",
                   "data.right=right", "tracking=none"],
    "time_event": ["model=exponential", "data=csv", "data.path=t.csv", "data.time=t",
                   "data.event=e", "tracking=none"],
    "bad_event": ["model=exponential", "data=csv", "data.path=bad.csv", "data.time=t",
                  "data.event=e", "tracking=none"],
    "censored_draws": ["model=weibull", "n=4000", "data.censor.rate=0.3", "tracking=none"],
    "truncated_draws": ["model=gaussian", "n=4000", "model.truncation.low=0",
                        "model.truth.mu=1", "model.truth.sigma=2", "tracking=none"],
    "tracked": ["model=weibull", "data=csv", "data.path=d.csv", "data.left=left",
                "data.right=right"],
    "censored_counts": ["model=poisson", "n=2000", "data.censor.right=4", "tracking=none"],
    "inline_censored": ["model=weibull", "data=inline",
                        "data.values=[1.2, 3.4, 5+, 0.5-, [1, 2], 2.2, 0.9, 4.1]",
                        "tracking=none"],
    "study_refused": ["model=weibull", "study=convergence", "model.truncation.low=0.5",
                      "tracking=none"],
    "censored_study": ["model=exponential", "model.truth.rate=0.5", "study=convergence",
                       "data.censor.right=2", "study.sizes=[50,500]", "study.replicates=50",
                       "tracking=none"],
}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folders = {}
    for name in CASES:
        folder = tmp_path_factory.mktemp(name)
        (folder / "d.csv").write_text(LEFT_RIGHT)
        (folder / "t.csv").write_text(TIME_EVENT)
        (folder / "bad.csv").write_text("t,e\n1.2,1\n0.5,2\n")
        folders[name] = folder
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {n: pool.submit(run_python, ["-m", "runner", *a], folders[n])
                   for n, a in CASES.items()}  # fmt: skip
        return {n: (folders[n], f.result()) for n, f in futures.items()}


def _record(cwd):
    (path,) = cwd.glob("outputs/runs/*/*/results.json")
    return json.loads(path.read_text())


def test_left_right_columns_read_every_kind(runs):
    cwd, proc = runs["left_right"]
    assert proc.returncode == 0, proc.stderr
    record = _record(cwd)
    assert record["notes"][0] == ("censored data: 4 exact, 1 left-censored, 2 right-censored, "
                                  "1 interval-censored")  # fmt: skip
    shape, scale = (record["params"][k]["estimate"] for k in ("shape", "scale"))
    dist = stats.weibull_min(shape, scale=scale)
    exact = np.array([1.2, 0.7, 1.5, 4.1])
    expected = (dist.logpdf(exact).sum() + dist.logcdf(0.5) + dist.logsf(3.0)
                + dist.logsf(2.2) + np.log(dist.cdf(2.5) - dist.cdf(2.0)))  # fmt: skip
    assert record["loglik"] == pytest.approx(expected, rel=1e-10)


def test_mlflow_says_what_kind_of_observations_were_fitted(runs):
    from mlflow.tracking import MlflowClient

    cwd, proc = runs["tracked"]
    assert proc.returncode == 0, proc.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'outputs' / 'mlflow.db'}")
    (logged,) = client.search_runs([client.get_experiment_by_name("mle-runner").experiment_id])
    assert logged.data.tags["censoring"] == _record(cwd)["notes"][0]
    metrics = logged.data.metrics
    assert {k: metrics[f"n.{k}"] for k in ("exact", "left", "right", "interval")} == {
        "exact": 4, "left": 1, "right": 2, "interval": 1}  # fmt: skip
    assert metrics["loglik"] == pytest.approx(_record(cwd)["loglik"], rel=1e-12)


def test_time_and_event_columns_give_the_closed_form(runs):
    cwd, proc = runs["time_event"]
    assert proc.returncode == 0, proc.stderr
    record = _record(cwd)
    expected = EVENTS.sum() / np.minimum(TIMES, 3.0).sum()
    assert record["params"]["rate"]["estimate"] == pytest.approx(expected, rel=1e-12)
    assert record["optimizer"] == "closed_form"


def test_a_bad_event_code_names_file_line_column_and_value(runs):
    _, proc = runs["bad_event"]
    assert proc.returncode == 1
    message = proc.stderr.strip()
    assert message == ("error: bad.csv, line 3, column 'e': 2; expected 1 (the event was seen "
                       "at that time) or 0 (right-censored there)")  # fmt: skip


def test_random_censoring_of_synthetic_draws_hits_its_share(runs):
    cwd, proc = runs["censored_draws"]
    assert proc.returncode == 0, proc.stderr
    record = _record(cwd)
    right = int(record["notes"][0].split(", ")[1].split()[0].replace(",", ""))
    assert right == pytest.approx(0.3 * 4000, abs=2)
    for name in ("shape", "scale"):
        p = record["params"][name]
        assert abs(p["estimate"] - p["truth"]) < 4 * p["se"]


def test_truncated_draws_give_back_the_untruncated_parameters(runs):
    cwd, proc = runs["truncated_draws"]
    assert proc.returncode == 0, proc.stderr
    record = _record(cwd)
    assert record["notes"][0] == "4,000 exact values; truncated to (0, inf)"
    for name in ("mu", "sigma"):
        p = record["params"][name]
        assert abs(p["estimate"] - p["truth"]) < 4 * p["se"]


def test_counts_censored_at_four_are_five_or_more(runs):
    """Poisson draws still "running" at 4 are 5 or more: the likelihood S(4) each."""
    cwd, proc = runs["censored_counts"]
    assert proc.returncode == 0, proc.stderr
    record = _record(cwd)
    lam = record["params"]["lam"]["estimate"]  # biased low if they counted as 4 or more
    seen = record["notes"][0].split(": ")[1].split(" exact")[0].replace(",", "")
    assert int(seen) == pytest.approx(2000 * stats.poisson.cdf(4, 4.0), abs=100)
    assert abs(lam - 4.0) < 4 * record["params"]["lam"]["se"]


def test_inline_values_in_surv_notation(runs):
    cwd, proc = runs["inline_censored"]
    assert proc.returncode == 0, proc.stderr
    record = _record(cwd)
    assert record["notes"][0] == ("censored data: 5 exact, 1 left-censored, 1 right-censored, "
                                  "1 interval-censored")  # fmt: skip
    shape, scale = (record["params"][k]["estimate"] for k in ("shape", "scale"))
    dist = stats.weibull_min(shape, scale=scale)
    expected = (dist.logpdf([1.2, 3.4, 2.2, 0.9, 4.1]).sum() + dist.logsf(5) + dist.logcdf(0.5)
                + np.log(dist.cdf(2) - dist.cdf(1)))  # fmt: skip
    assert record["loglik"] == pytest.approx(expected, rel=1e-10)


def test_a_study_with_truncation_is_refused_in_one_line(runs):
    _, proc = runs["study_refused"]
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: study=convergence with censored")


def test_a_censored_study_reports_the_information_censoring_keeps(runs):
    import pandas as pd

    cwd, proc = runs["censored_study"]
    assert proc.returncode == 0, proc.stderr
    assert "an observation keeps this share of an uncensored one's information" in " ".join(
        proc.stdout.split()
    )
    (path,) = cwd.glob("outputs/runs/*/*/convergence_summary.csv")
    summary = pd.read_csv(path).set_index("size")
    kept = 1 - np.exp(-0.5 * 2)
    np.testing.assert_allclose(summary["information_kept"], kept, rtol=1e-8)
    np.testing.assert_allclose(summary["crlb"], 0.25 / kept / summary.index, rtol=1e-8)


def test_event_codes_as_booleans_and_an_empty_code(tmp_path):
    from runner.errors import DataError
    from runner.io.censored_data import from_time_event

    (tmp_path / "b.csv").write_text("t,e\n1.0,True\n2.0,False\n")
    pairs = from_time_event(str(tmp_path / "b.csv"), "t", "e").values
    np.testing.assert_array_equal(pairs, [[1.0, 1.0], [2.0, np.inf]])
    (tmp_path / "e.csv").write_text("t,e\n1.0,1\n2.0,\n")
    with pytest.raises(DataError, match=r"line 3, column 'e': empty"):
        from_time_event(str(tmp_path / "e.csv"), "t", "e")

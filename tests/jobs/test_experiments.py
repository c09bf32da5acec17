"""MAP and held-out data through the job: data.holdout, and the two experiments that show
why MLE needs a prior on small samples (plane crashes, small categorical samples)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import compose_config

from runner.jobs.config import to_spec
from runner.jobs.fit_job import run as run_job
from runner.jobs.outputs import RESULTS_FILE


def compose_cfg(*overrides: str):
    return compose_config(*overrides, "tracking=none")


def run(tmp_path, *overrides):
    cfg = compose_cfg(*overrides)
    outcome = run_job(to_spec(cfg), tmp_path / "run", "test", echo=lambda *_: None)
    record = json.loads((tmp_path / "run" / RESULTS_FILE).read_text())
    return outcome.fit, record


def test_holdout_option_fits_on_the_rest(tmp_path):
    f, record = run(tmp_path, "model=poisson", "n=500", "data.holdout=0.2")
    assert f.n == 400
    assert record["heldout"]["mle"]["n"] == 100
    assert record["heldout"]["mle"]["mean_loglik"] < 0


def test_plane_crashes_mle_is_zero_and_map_is_add_one_smoothing(tmp_path):
    _, record = run(tmp_path, "+experiment=plane_crashes", "experiment.m=500", "plots=false")
    p = record["params"]["p"]
    assert p["estimate"] == 0.0
    assert p["map"] == pytest.approx(1 / 502)
    assert p["posterior_mean"] == pytest.approx(2 / 504)
    assert record["heldout"]["mle"]["mean_loglik"] is None  # -inf: a future collision
    assert record["heldout"]["mle"]["zero_probability"] > 0
    assert record["heldout"]["map"]["mean_loglik"] > -0.1


def test_plane_crashes_mle_and_map_meet_as_flights_grow(tmp_path):
    gaps = []
    for m in (10, 10_000):
        _, record = run(tmp_path / str(m), "+experiment=plane_crashes", f"experiment.m={m}")
        gaps.append(record["params"]["p"]["map"] - record["params"]["p"]["estimate"])
    assert gaps[1] < gaps[0] / 100


def test_small_samples_map_wins_at_small_n_and_agrees_at_large_n(tmp_path):
    small, _ = run(tmp_path / "small", "+experiment=small_samples", "n=10", "seed=1")
    large, _ = run(tmp_path / "large", "+experiment=small_samples", "n=10000", "seed=1")
    # n = 10 over 10 categories: some category is unseen, so the MLE scores -inf.
    assert small.heldout["mle"].zero_probability > 0
    assert np.isfinite(small.heldout["map"].mean_loglik)
    # n = 10000: the pseudo-counts are negligible; held-out scores agree to 1e-3 nats.
    assert large.heldout["mle"].zero_probability == 0
    gap = large.heldout["map"].mean_loglik - large.heldout["mle"].mean_loglik
    assert abs(gap) < 1e-3


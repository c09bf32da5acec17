"""``study=convergence``: the convergence of the estimator against sample size, as a job.

Config in; tables, plots and a summary in the run folder; then the tracker, with the
per-size numbers as step metrics (step = n) so MLflow charts error against sample size.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from runner.errors import ConfigError
from runner.jobs.config import RunnerConfig, check, wants_plots
from runner.jobs.inputs import load_inputs
from runner.jobs.outputs import JobOutcome, track, write_json
from runner.stats.study import (
    StudyResult,
    StudySpec,
    parse_sizes,
    subsample_study,
    synthetic_study,
)

FILES = {
    "draws": "convergence.csv",
    "summary": "convergence_summary.csv",
    "stream": "stream.csv",
    "record": "study.json",
}


def run(
    spec: RunnerConfig,
    run_dir: Path,
    run_name: str,
    echo: Callable[[str], Any] = print,
    extra_tags: dict[str, str] | None = None,
) -> JobOutcome:
    """Run the study; write its files; log them with the per-size numbers as steps."""
    result = run_study(spec, run_dir, echo)
    tags = {"model": spec.model.name, "study": spec.study.name,
            "estimator": spec.estimator.name, "data.source": spec.data.source,
            "run_dir": str(run_dir.resolve()), **(extra_tags or {})}  # fmt: skip
    where, error = track(spec, run_dir, run_name, study_metrics(result), study_steps(result),
                         tags, echo)  # fmt: skip
    return JobOutcome(None, run_dir / FILES["record"], where, error, study=result)


def run_study(spec: RunnerConfig, run_dir: Path, echo: Callable[[str], Any] = print) -> StudyResult:
    """The study itself: its files in the run folder and its table printed."""
    check(spec)
    if spec.model.fixed:
        raise ConfigError(
            "study=convergence does not hold parameters fixed (model.fixed); it studies the "
            "estimator of every parameter: drop model.fixed for the study"
        )
    inputs = load_inputs(spec)
    family = inputs.family
    study = StudySpec(
        sizes=parse_sizes(spec.study.sizes),
        replicates=spec.study.replicates,
        seed=spec.seed,
        estimator=spec.estimator.name,
        prior=spec.model.prior or {},
        max_memory_mb=spec.study.max_memory_mb,
        stream=spec.study.stream,
        slope_from=spec.study.slope_from,
    )
    if spec.data.source == "synthetic":
        result = synthetic_study(family, inputs.truth, study)
    else:
        result = subsample_study(family, inputs.x, study)
    study = StudySpec(**{**study.__dict__, "sizes": result.sizes})  # subsampling drops sizes >= N
    save_study(spec, run_dir, family.name, result, study)
    echo(describe(family.name, result, study, regular=family.se_source != "none"))
    echo(f"\nsaved: {run_dir}")
    return result


def save_study(
    config: RunnerConfig, run_dir: Path, model: str, result: StudyResult, spec: StudySpec
) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    result.draws.to_csv(run_dir / FILES["draws"], index=False)
    result.summary.to_csv(run_dir / FILES["summary"], index=False)
    if result.stream is not None:
        result.stream.to_csv(run_dir / FILES["stream"], index=False)
    record = {
        "model": model,
        "mode": result.mode,
        "truth": result.truth,
        "sizes": spec.sizes,
        "replicates": spec.replicates,
        "estimator": spec.estimator,
        "population": result.population,
        "slopes": _records(result.slopes),
        "largest_size": _records(result.summary[result.summary["size"] == max(spec.sizes)]),
    }
    write_json(run_dir / FILES["record"], record, allow_nan=True)  # as pandas wrote it
    if wants_plots(config):
        from runner.io import plots

        against = "truth" if result.mode == "synthetic" else "full-data estimate"
        plots.rmse_plot(result.summary, result.slopes, run_dir / "convergence_rmse.png",
                        f"{model}: RMSE against n")  # fmt: skip
        plots.estimates_plot(result.summary, run_dir / "convergence_estimates.png",
                             f"{model}: estimates against n", against)  # fmt: skip
        if result.stream is not None:
            plots.stream_plot(result.stream, run_dir / "stream.png",
                              f"{model}: running estimate along one sample", against)  # fmt: skip


def study_metrics(result: StudyResult) -> dict[str, float]:
    """The fitted slopes (one number per parameter and estimator)."""
    return {
        f"{_prefix(row['estimator'])}slope.{row['parameter']}": row["slope"]
        for _, row in result.slopes.iterrows()
    }


def study_steps(result: StudyResult) -> list[tuple[str, float, int]]:
    """Per-size numbers as step metrics: step = n, so MLflow plots them against n."""
    steps = []
    for _, row in result.summary.iterrows():
        prefix = _prefix(row["estimator"])
        for column in ("rmse", "bias", "crlb", "efficiency", "coverage", "mean"):
            value = float(row[column])
            if np.isfinite(value):
                steps.append((f"{prefix}{column}.{row['parameter']}", value, int(row["size"])))
    return steps


def describe(model: str, result: StudyResult, spec: StudySpec, regular: bool = True) -> str:
    """A compact console table: one block per parameter, one line per size."""
    against = "truth" if result.mode == "synthetic" else "full-data estimate"
    lines = [
        f"{model} · convergence over n = {spec.sizes[0]:,} .. {spec.sizes[-1]:,} · "
        f"{spec.replicates:,} replicates per size · errors against the {against}",
    ]
    if result.population:
        lines.append(
            f"subsamples without replacement from the {result.population:,} observations: "
            "their spread shrinks by (1 - n/N) near N, so the slope uses n <= N/4"
        )
    header = f"{'n':>8}  {'mean':>10}  {'bias':>10}  {'RMSE':>9}  {'sqrt(CRLB)':>10}  " + (
        f"{'eff.':>5}  {'cover':>5}"
    )
    for (estimator, name), rows in result.summary.groupby(["estimator", "parameter"], sort=False):
        slope = result.slopes[
            (result.slopes["estimator"] == estimator) & (result.slopes["parameter"] == name)
        ]["slope"].iloc[0]
        truth = rows["truth"].iloc[0]
        theory = " (theory -0.5)" if regular else " (a non-regular family: no n^-1/2 theory)"
        lines += ["", f"{name} ({estimator.upper()}), {against} {truth:.6g}, "
                      f"RMSE slope {slope:.3f}{theory}", header]  # fmt: skip
        for _, r in rows.iterrows():
            lines.append(
                f"{int(r['size']):>8,}  {r['mean']:>10.5g}  {r['bias']:>10.3g}  "
                f"{r['rmse']:>9.3g}  {np.sqrt(r['crlb']):>10.3g}  {r['efficiency']:>5.2f}  "
                f"{r['coverage']:>5.3f}"
            )
    return "\n".join(lines)


def _prefix(estimator: str) -> str:
    return "" if estimator == "mle" else f"{estimator}."


def _records(frame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))

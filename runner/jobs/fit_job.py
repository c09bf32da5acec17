"""``study=single``: one fit, printed, saved to the run folder, then logged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.io.data import fingerprint
from runner.io.tracking import code_block, fit_metrics, trace_metrics
from runner.jobs.config import RunnerConfig, check, wants_plots
from runner.jobs.inputs import Inputs, load_inputs
from runner.jobs.outputs import (
    RESULTS_FILE,
    TRACE_FILE,
    JobOutcome,
    data_record,
    track,
    write_json,
    write_trace,
)
from runner.stats.estimate import fit_validated
from runner.stats.families.censored import Censored, counts
from runner.stats.gof import ks_statistic
from runner.stats.result import Fit

OPTIMIZER_OPTIONS = ("method", "tol", "maxiter", "learning_rate", "starts", "hessian")


def run(
    spec: RunnerConfig,
    run_dir: Path,
    run_name: str,
    echo: Callable[[str], Any] = print,
    extra_tags: dict[str, str] | None = None,
) -> JobOutcome:
    """Fit the configured family to the configured data, save and log the result."""
    check(spec)
    inputs = load_inputs(spec)
    family, x = inputs.family, inputs.x
    fit = fit_validated(
        family,
        x,
        optimizer=spec.optimizer.name,
        optimizer_options={key: getattr(spec.optimizer, key) for key in OPTIMIZER_OPTIONS},
        truth=inputs.truth,
        fixed=spec.model.fixed or None,
        init=spec.optimizer.init or None,
        estimator=spec.estimator.name,
        prior=spec.model.prior,
        test=inputs.test,
        ci=spec.inference.ci,
    )
    fit.notes[:0] = inputs.notes
    if inputs.sample.dropped:
        fit.notes.append(f"dropped {inputs.sample.dropped} missing value(s) (data.dropna=true)")
    fit.gof = ks_statistic(family, x, fit.params)  # a sort of the data: here, not in fit()

    digest = fingerprint(x)  # one pass over the data, for the file and the tag
    results_path = save(spec, run_dir, inputs, fit, digest)
    echo(fit.summary())
    echo(f"\nsaved: {results_path}")

    tags = {
        "model": fit.model,
        "optimizer": fit.optimizer,
        "estimator": fit.estimator,
        "converged": str(fit.converged).lower(),
        "data.source": inputs.sample.source,
        "data.sha1": digest,
        "run_dir": str(run_dir.resolve()),
        **(extra_tags or {}),
    }
    tags.update({f"ci.{e.name}": e.ci_method for e in fit.estimates if e.ci is not None})
    metrics = fit_metrics(fit)
    if isinstance(family, Censored):  # what kind of observations, at a glance in the UI
        tags["censoring"] = inputs.notes[0]
        metrics.update({f"n.{kind}": float(count) for kind, count in counts(x).items()})
    where, error = track(spec, run_dir, run_name, metrics, trace_metrics(fit), tags,
                         echo, note=code_block(fit.summary()),
                         dataset=data_record(spec, x, digest, inputs.sample.source))  # fmt: skip
    return JobOutcome(fit, results_path, where, error)


def save(spec: RunnerConfig, run_dir: Path, inputs: Inputs, fit: Fit, digest: str) -> Path:
    """Everything the job produced, in its run folder, before any tracking."""
    record = fit.to_dict()
    record["data"] = {"source": inputs.sample.source, **inputs.sample.description,
                      "sha1": digest}  # fmt: skip
    results_path = write_json(run_dir / RESULTS_FILE, record)
    if fit.trace:
        write_trace(fit.trace, run_dir / TRACE_FILE)
    if wants_plots(spec):
        from runner.io.figures import fit_figures

        fit_figures(inputs.family, inputs.x, fit, run_dir)
    return results_path

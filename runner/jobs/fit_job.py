"""``study=single``: one fit, printed, saved to the run folder, then logged."""

from __future__ import annotations

import math
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
    jsonable,
    track,
    write_json,
    write_trace,
)
from runner.stats.chunked import Chunks
from runner.stats.estimate import fit_validated
from runner.stats.families.censored import Censored, counts
from runner.stats.gof import goodness_of_fit
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
        ci="wald_transformed" if spec.inference.ci == "bootstrap" else spec.inference.ci,
        se=spec.inference.se,
    )
    fit.notes[:0] = inputs.notes
    if inputs.sample.dropped:
        fit.notes.append(f"dropped {inputs.sample.dropped} missing value(s) (data.dropna=true)")
    boot = None
    chunked = isinstance(x, Chunks)  # data beyond memory: no resampling, sorting or plots
    if chunked and spec.inference.ci == "bootstrap":
        from runner.errors import ConfigError

        raise ConfigError("inference.ci=bootstrap resamples the data in memory: not for data "
                          "read in chunks (use inference.ci=wald_transformed)")  # fmt: skip
    if spec.inference.ci == "bootstrap":
        from runner.stats.bootstrap import attach

        boot = attach(fit, family, x, spec.inference.bootstrap.kind,
                      spec.inference.bootstrap.replicates, spec.seed)  # fmt: skip
    # the goodness of fit sorts the data (and refits replicates): here, not in fit()
    gof = None if chunked else goodness_of_fit(
        family, x, fit.params, replicates=spec.inference.gof_replicates, seed=spec.seed,
        fixed=spec.model.fixed or None)  # fmt: skip
    fit.gof = gof.to_dict() if gof is not None else None
    if gof is None and spec.inference.gof_replicates:
        fit.notes.append("inference.gof_replicates: no goodness of fit for these data "
                         "(censored, truncated, multivariate or read in chunks)")  # fmt: skip

    digest = x.fingerprint() if chunked else fingerprint(x)  # one pass, for the file and tag
    results_path = save(spec, run_dir, inputs, fit, digest, gof, boot)
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


def save(spec: RunnerConfig, run_dir: Path, inputs: Inputs, fit: Fit, digest: str,
         gof: Any = None, boot: Any = None) -> Path:  # fmt: skip
    """Everything the job produced, in its run folder, before any tracking."""
    record = fit.to_dict()
    record["gof"] = _finite_or_null(jsonable(record.get("gof")))
    record["data"] = {"source": inputs.sample.source, **inputs.sample.description,
                      "sha1": digest}  # fmt: skip
    if gof is not None:  # JSON has no infinity: an AD of inf (a uniform's ends) is null
        record["goodness_of_fit"] = _finite_or_null(jsonable(gof.details()))
    if boot is not None:
        from runner.stats.bootstrap import to_frame

        record["bootstrap"] = {"kind": boot.kind, "replicates": boot.replicates,
                               "seed": boot.seed, "failed": boot.failed,
                               "file": BOOTSTRAP_FILE}  # fmt: skip
        to_frame(boot).to_csv(run_dir / BOOTSTRAP_FILE, index=False)
    results_path = write_json(run_dir / RESULTS_FILE, record)
    if fit.trace:
        write_trace(fit.trace, run_dir / TRACE_FILE)
    if wants_plots(spec) and not isinstance(inputs.x, Chunks):
        from runner.io.figures import fit_figures

        fit_figures(inputs.family, inputs.x, fit, run_dir)
        _inference_figures(inputs, fit, run_dir, gof, boot)
    return results_path


BOOTSTRAP_FILE = "bootstrap.csv"


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _inference_figures(inputs: Inputs, fit: Fit, run_dir: Path, gof: Any, boot: Any) -> None:
    """``diagnostics.png`` (density, CDF, QQ, PP) and ``bootstrap.png`` (the replicates'
    histograms with the intervals marked)."""
    from runner.io.diagnostic_figure import diagnostic_figure

    family, x = inputs.family, inputs.x
    diagnostic_figure(family, x, fit.params, run_dir / "diagnostics.png", truth=inputs.truth,
                      gof=gof)  # fmt: skip
    if boot is not None:
        from runner.io.bootstrap_figure import bootstrap_figure
        from runner.stats.bootstrap import flat_estimate

        shown = {e.name: e.ci for e in fit.estimates if e.name in boot.estimates}
        methods = sorted({e.ci_method for e in fit.estimates if e.ci_method})
        bootstrap_figure(boot, flat_estimate(family, fit.params), shown,
                         run_dir / "bootstrap.png", ", ".join(methods))  # fmt: skip

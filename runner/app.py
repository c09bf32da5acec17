"""One job: config in, fit printed, saved to the run folder, then logged.

Order matters: the results are on disk before MLflow is called, so a tracking failure
never loses a fit. Works on a plain config object (no Hydra import), so tests can drive
it directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runner import data, families, heldout
from runner.config import check, wants_plots
from runner.errors import ConfigError, TrackingError
from runner.estimate import fit_validated
from runner.gof import ks_statistic
from runner.result import Fit
from runner.tracking import MlflowTracker, NullTracker, Tracker, fit_metrics, trace_metrics

RESULTS_FILE = "results.json"
TRACE_FILE = "trace.csv"


@dataclass
class JobOutcome:
    fit: Fit | None  # a single fit; None for a study
    results_path: Path
    tracked_at: str | None
    tracking_error: str | None = None
    study: Any = None  # runner.study.StudyResult for study=convergence


STUDIES = ("single", "convergence")


def run(
    cfg: Any, run_dir: Path, run_name: str, echo=print, extra_tags: dict | None = None
) -> JobOutcome:
    """The job the config asks for: one fit (``study=single``) or a convergence study."""
    name = cfg.study.name
    if name == "single":
        return run_job(cfg, run_dir, run_name, echo, extra_tags)
    if name == "convergence":
        from runner.convergence_job import FILES, run_convergence

        result, metrics, steps = run_convergence(cfg, run_dir, echo)
        tags = {"model": cfg.model.name, "study": name, "estimator": cfg.estimator.name,
                "data.source": cfg.data.source, "run_dir": str(run_dir.resolve()),
                **(extra_tags or {})}  # fmt: skip
        where, error = track(cfg, run_dir, run_name, metrics, steps, tags, echo)
        return JobOutcome(None, run_dir / FILES["record"], where, error, study=result)
    raise ConfigError(f"unknown study {name!r}; choose one of: {', '.join(STUDIES)}")


def track(cfg, run_dir, run_name, metrics, steps, tags, echo) -> tuple[str | None, str | None]:
    """Send what the run folder holds to the tracker; (where, None) or (None, error)."""
    tracker = make_tracker(cfg.tracking)
    try:
        where = tracker.log_run(
            params=flat_params(cfg),
            metrics=metrics,
            steps=steps,
            run_dir=run_dir,
            run_name=run_name,
            tags=tags,
        )
    except TrackingError as exc:
        return None, str(exc)
    if where:
        echo(f"logged: {where}")
    return where, None


def run_job(
    cfg: Any, run_dir: Path, run_name: str, echo=print, extra_tags: dict | None = None
) -> JobOutcome:
    """Fit the configured family to the configured data, save and log the result."""
    check(cfg)
    family, truth, sample, x, test = load_data(cfg)
    fit = fit_validated(
        family,
        x,
        optimizer=cfg.optimizer.name,
        optimizer_options={
            key: cfg.optimizer[key]
            for key in ("method", "tol", "maxiter", "learning_rate", "starts", "hessian")
        },
        truth=truth,
        fixed=_plain(cfg.model.fixed) or None,
        init=_plain(cfg.optimizer.init) or None,
        estimator=cfg.estimator.name,
        prior=_plain(cfg.model.prior),
        test=test,
    )
    if sample.dropped:
        fit.notes.append(f"dropped {sample.dropped} missing value(s) (data.dropna=true)")
    fit.gof = ks_statistic(family, x, fit.params)  # a sort of the data: here, not in fit()

    fingerprint = data_fingerprint(x)  # one pass over the data, for the file and the tag
    results_path = save_run(cfg, run_dir, family, x, fit, sample, fingerprint)
    echo(fit.summary())
    echo(f"\nsaved: {results_path}")

    tags = {
        "model": fit.model,
        "optimizer": fit.optimizer,
        "estimator": fit.estimator,
        "converged": str(fit.converged).lower(),
        "data.source": sample.source,
        "data.sha1": fingerprint,
        "run_dir": str(run_dir.resolve()),
        **(extra_tags or {}),
    }
    where, error = track(cfg, run_dir, run_name, fit_metrics(fit), trace_metrics(fit), tags, echo)
    return JobOutcome(fit, results_path, where, error)


def load_data(cfg: Any):
    """The family completed from truth and data, the training sample and the held-out one.

    Returns ``(family, truth, sample, x, test)``; ``test`` is None without held-out data.
    """
    model = cfg.model
    family = families.get(
        model.name, trials=model.trials, categories=_plain(model.categories), k=model.k
    )
    raw_truth = _plain(model.truth) or {}
    truth = None
    needs_truth = cfg.data.source == "synthetic" or cfg.data.test_n
    if needs_truth:
        if not raw_truth:
            raise ConfigError(
                "synthetic data need the true parameters: set model.truth "
                f"(see conf/model/{model.name}.yaml)"
            )
        family = family.for_truth(raw_truth)
        truth = family.check_theta(raw_truth, "model.truth")
    sample = data.load(
        cfg.data.source,
        family=family,
        truth=truth,
        n=cfg.n,
        seed=cfg.seed,
        path=cfg.data.path,
        column=cfg.data.column,
        columns=_plain(cfg.data.columns),
        values=_plain(cfg.data["values"]),  # not .values: that is the dict method
        counts=_plain(cfg.data.counts),
        dropna=cfg.data.dropna,
    )
    held = None
    if cfg.data.test_path:
        held = data.csv(cfg.data.test_path, sample.description.get("column", cfg.data.column),
                        cfg.data.dropna, _plain(cfg.data.columns))  # fmt: skip
    elif cfg.data.test_n:
        held = data.synthetic(family, truth, cfg.data.test_n, seed=[cfg.seed, 1])
    together = sample.values if held is None else np.concatenate([sample.values, held.values])
    family = family.for_data(together, sample.labels)
    x = sample.validated_by(family)
    test = None if held is None else held.validated_by(family)
    if cfg.data.holdout:
        if test is not None:
            raise ConfigError("use data.holdout or held-out data (test_path, test_n), not both")
        keep, out = heldout.split(family.sample_size(x), cfg.data.holdout, cfg.seed)
        x, test = x[keep], x[out]  # observations are along the first axis here
    return family, truth, sample, x, test


def save_run(
    cfg: Any, run_dir: Path, family, x: np.ndarray, fit: Fit, sample, fingerprint: str
) -> Path:
    """Everything the job produced, in its run folder, before any tracking."""
    run_dir.mkdir(parents=True, exist_ok=True)
    results_path = run_dir / RESULTS_FILE
    record = fit.to_dict()
    record["data"] = {
        "source": sample.source,
        **_jsonable(sample.description),
        "sha1": fingerprint,
    }
    results_path.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
    if fit.trace:
        write_trace(fit.trace, run_dir / TRACE_FILE)
    if wants_plots(cfg):
        from runner.figures import fit_figures

        fit_figures(family, x, fit, run_dir)
    return results_path


def data_fingerprint(x: np.ndarray) -> str:
    """A short hash of the fitted values: jobs with equal hashes fitted the same data, so
    their AIC values can be compared (the report ranks models by it)."""
    import hashlib

    data = x if x.flags.c_contiguous else np.ascontiguousarray(x)
    return hashlib.sha1(memoryview(data).cast("B")).hexdigest()[:16]  # no copy


def write_trace(trace: list[dict[str, float]], path: Path) -> None:
    """The optimizer's climb, one row per iteration (iteration, loglik, grad_norm, params)."""
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(trace[0]))
        writer.writeheader()
        writer.writerows(trace)


def make_tracker(tracking: Any) -> Tracker:
    if not tracking.enabled:
        return NullTracker()
    return MlflowTracker(tracking.uri, tracking.experiment)


def flat_params(cfg: Any) -> dict[str, Any]:
    """The config as flat ``a.b.c`` keys, lists as one value; the tracking URI left out."""
    tree = _plain(cfg)
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            flat[prefix[:-1]] = node

    walk(tree, "")
    flat.pop("tracking.uri", None)
    return flat


def _plain(node: Any) -> Any:
    """OmegaConf containers as plain dicts/lists (anything else unchanged)."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        return node
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value

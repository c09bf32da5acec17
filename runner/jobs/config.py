"""Structured configs: the typed schema Hydra checks every YAML and override against.

A string where a number belongs (``n=abc``) fails at compose time with Hydra's own
message; range checks that types cannot express (``n=-5``) are made by ``check`` before
any work starts. Registered in Hydra's ConfigStore as ``runner_schema``, the first entry
of ``conf/config.yaml``'s defaults list. ``to_spec`` turns the composed config into these
dataclasses once, at the job's entry: nothing below it sees a ``DictConfig``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from runner.errors import ConfigError

# OmegaConf reads annotations at runtime and does not understand ``X | None`` on 3.10.
# ruff: noqa: UP045


_PACKAGE = Path(__file__).resolve().parent.parent
# An editable install or a checkout reads the top-level conf/; a wheel ships it in the package.
CONFIG_DIR = str(_PACKAGE / "conf" if (_PACKAGE / "conf").is_dir() else _PACKAGE.parent / "conf")


@dataclass
class TruncationConfig:
    """Only values in (low, high) could be recorded; either side may stay open."""

    low: Optional[float] = None
    high: Optional[float] = None


@dataclass
class CensorConfig:
    """Censoring of synthetic draws: at a fixed time, and/or at random exponential times
    that censor a share ``rate`` of them."""

    right: Optional[float] = None
    rate: Optional[float] = None


@dataclass
class ModelConfig:
    """Which family, its fixed options, and the true parameters for synthetic data."""

    name: str = MISSING
    truth: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    trials: Optional[int] = None
    categories: Optional[list[Any]] = None
    k: Optional[int] = None
    dist: Optional[str] = None  # model=scipy: the scipy.stats distribution's name
    logpdf: Optional[str] = None  # model=custom: module:function, logpdf(x, **theta)
    params: dict[str, Any] = field(default_factory=dict)  # model=custom: name -> space
    sampler: Optional[str] = None  # model=custom: module:function, sampler(theta, size, rng)
    truncation: TruncationConfig = field(default_factory=TruncationConfig)
    prior: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    """Where the sample comes from: ``synthetic``, ``csv``, ``inline``, ``counts``, ``npy``
    or ``parquet``."""

    source: str = "synthetic"
    path: Optional[str] = None
    column: Optional[str] = None
    columns: Optional[list[str]] = None
    sep: Optional[str] = None  # the CSV field separator: a comma unless set (';', '\t', ...)
    values: Optional[list[Any]] = None
    counts: Any = None  # value -> count (a mapping; keys may be numbers)
    dropna: bool = False
    holdout: float = 0.0
    test_path: Optional[str] = None
    test_n: Optional[int] = None
    # Censored observations: two CSV conventions, or censoring of synthetic draws.
    left: Optional[str] = None  # data.left=L data.right=R (fitdistrplus)
    right: Optional[str] = None
    time: Optional[str] = None  # data.time=T data.event=E (1 seen, 0 right-censored)
    event: Optional[str] = None
    censor: CensorConfig = field(default_factory=CensorConfig)  # synthetic draws
    # Data beyond memory: data=parquet, or data=csv read in pieces of chunk_rows rows;
    # engine=dask maps the fit over a Dask cluster's partitions (scheduler: its address).
    chunk_rows: Optional[int] = None
    engine: Optional[str] = None  # local (null means local) | dask
    scheduler: Optional[str] = None


@dataclass
class OptimizerConfig:
    """How the argmax is found: auto, closed_form, scipy, newton, gradient_ascent, em."""

    name: str = "auto"
    method: Optional[str] = None
    tol: Optional[float] = None
    maxiter: Optional[int] = None
    learning_rate: Optional[float] = None
    starts: Optional[int] = None
    hessian: Optional[str] = None
    init: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrackingConfig:
    """MLflow: ``uri`` null means MLFLOW_TRACKING_URI, else ``sqlite:///outputs/mlflow.db``."""

    enabled: bool = True
    uri: Optional[str] = None
    experiment: str = "mle-runner"
    required: bool = True


@dataclass
class EstimatorConfig:
    """``mle`` (the default) or ``map``: MLE beside the conjugate posterior's MAP."""

    name: str = "mle"


@dataclass
class StudyConfig:
    """``single`` (one fit, the default), ``convergence`` (error against sample size) or
    ``rank`` (which family fits best)."""

    name: str = "single"
    sizes: Any = None  # a list, or {start, stop, num} (log-spaced)
    replicates: int = 1000
    stream: bool = True
    slope_from: int = 100
    max_memory_mb: float = 512
    candidates: Any = "common"  # study=rank: common | all | counts | all_discrete | [names]
    fixed: dict[str, Any] = field(default_factory=dict)  # study=rank: held in every candidate
    show: int = 3  # study=rank: how many of the best the figure overlays
    jobs: Optional[int] = None  # study=rank: processes fitting candidates (null: every core)
    # study=convergence: coverage and width of each 95% interval method against n
    intervals: list[str] = field(default_factory=list)  # wald, wald_transformed, profile, bootstrap
    interval_subset: int = 200  # replicates per size for profile and bootstrap intervals
    bootstrap_replicates: int = 200  # refits per bootstrap interval in the study
    # study=convergence with the wrong model: draw from truth_model, fit model
    truth_model: Optional[str] = None  # e.g. lognormal (its truth: truth_params or its conf)
    truth_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class BootstrapConfig:
    """Refits of resampled (nonparametric) or simulated (parametric) data, seeded."""

    kind: str = "parametric"  # parametric | nonparametric
    replicates: int = 1000


@dataclass
class InferenceConfig:
    """How sure: the 95% interval's method, the standard errors' source, goodness of fit."""

    ci: str = "wald_transformed"  # wald_transformed | wald | profile | bootstrap
    se: str = "observed"  # observed | expected | sandwich
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    gof_replicates: int = 0  # parametric-bootstrap p-values for KS / CvM / AD (0: none)


@dataclass
class RunnerConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    experiment: dict[str, Any] = field(default_factory=dict)
    n: int = 1000
    seed: int = 0
    plots: Any = "auto"  # true | false | auto (drawn when the run is tracked)
    # -m sweeps: true re-runs the sweep in hydra.sweep.dir, skipping its FINISHED jobs;
    # latest finds the newest sweep with the same overrides (runner/jobs/resume.py)
    resume: Any = False


def register() -> None:
    """Make the schema and the ``minus`` and ``folder_label`` resolvers available to
    ``conf/`` (idempotent)."""
    from omegaconf import OmegaConf

    ConfigStore.instance().store(name="runner_schema", node=RunnerConfig)
    if not OmegaConf.has_resolver("minus"):
        # m flights with k collisions: ${minus:${experiment.m},${experiment.k}} without one
        OmegaConf.register_new_resolver("minus", lambda a, b: int(a) - int(b))
    if not OmegaConf.has_resolver("folder_label"):
        # the run folder's suffix: the model, or "rank" for a ranking (it has no one model)
        OmegaConf.register_new_resolver("folder_label", folder_label)


def folder_label(study: str, model: str) -> str:
    return "rank" if study == "rank" else model


def to_spec(cfg: Any) -> RunnerConfig:
    """The composed config as typed dataclasses, interpolations resolved, ``hydra`` left
    out. A key the schema does not know (added with ``+`` or ``++``) is refused: it would
    otherwise be dropped here and the run would silently do something else."""
    if isinstance(cfg, RunnerConfig):
        return cfg
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        tree = OmegaConf.to_container(cfg, resolve=False)
        tree.pop("hydra", None)
        _refuse_unknown(tree, RunnerConfig, "")
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RunnerConfig), tree))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        where = f" ({key})" if key else ""
        reason = str(exc).splitlines()[0]
        raise ConfigError(f"the configuration cannot be read{where}: {reason}") from None


def _refuse_unknown(tree: dict[str, Any], schema: type, prefix: str) -> None:
    hints = typing.get_type_hints(schema)
    known = {f.name for f in dataclasses.fields(schema)}
    for key, value in tree.items():
        if key not in known:
            raise ConfigError(
                f"{prefix}{key} is not a setting the runner knows, so it would be ignored; "
                f"{prefix.rstrip('.') or 'the top level'} takes: {', '.join(sorted(known))}"
            )
        nested = hints[key]
        if dataclasses.is_dataclass(nested) and isinstance(value, dict):
            _refuse_unknown(value, nested, f"{prefix}{key}.")


def wants_plots(spec: RunnerConfig) -> bool:
    """``plots=auto`` draws them when the run is tracked (where they are reviewed), and
    spares a quick ``tracking=none`` run matplotlib's import and drawing (~0.5 s)."""
    return spec.plots is True or (spec.plots == "auto" and bool(spec.tracking.enabled))


RESUME_CHOICES = (True, False, "latest")


def check(cfg: RunnerConfig) -> None:
    """Range checks the types cannot express; each names the key and what it expects."""
    if cfg.n < 1:
        raise ConfigError(f"n = {cfg.n}: expected a sample size >= 1")
    if cfg.seed < 0:
        raise ConfigError(f"seed = {cfg.seed}: expected an integer >= 0")
    if cfg.optimizer.tol is not None and cfg.optimizer.tol <= 0:
        raise ConfigError(f"optimizer.tol = {cfg.optimizer.tol}: expected a number > 0")
    if cfg.plots not in (True, False, "auto"):
        raise ConfigError(f"plots = {cfg.plots!r}: expected true, false or auto")
    if cfg.resume not in RESUME_CHOICES:
        raise ConfigError(f"resume = {cfg.resume!r}: expected true, false or latest")
    from runner.stats.study import check_replicates  # here: --help needs no scipy

    check_replicates(cfg.study.replicates)
    if cfg.study.max_memory_mb <= 0:
        raise ConfigError(f"study.max_memory_mb = {cfg.study.max_memory_mb}: expected > 0")
    if not 0 <= cfg.data.holdout < 1:
        raise ConfigError(
            f"data.holdout = {cfg.data.holdout}: expected a fraction in [0, 1) of the data "
            "to keep out of the fit"
        )
    if cfg.data.test_n is not None and cfg.data.test_n < 1:
        raise ConfigError(f"data.test_n = {cfg.data.test_n}: expected >= 1")
    if cfg.optimizer.maxiter is not None and cfg.optimizer.maxiter < 1:
        raise ConfigError(f"optimizer.maxiter = {cfg.optimizer.maxiter}: expected >= 1")
    _check_inference(cfg.inference)
    if cfg.study.name != "convergence":
        for key in ("truth_model", "intervals"):
            if getattr(cfg.study, key):
                raise ConfigError(f"study.{key} is a setting of study=convergence (this is "
                                  f"study={cfg.study.name}): add study=convergence")  # fmt: skip


INFERENCE_CHOICES = {
    "ci": ("wald_transformed", "wald", "profile", "bootstrap"),
    "se": ("observed", "expected", "sandwich"),
}


def _check_inference(inference: InferenceConfig) -> None:
    for key, choices in INFERENCE_CHOICES.items():
        value = getattr(inference, key)
        if value not in choices:
            raise ConfigError(f"inference.{key} = {value!r}: choose one of {', '.join(choices)}")
    if inference.bootstrap.kind not in ("parametric", "nonparametric"):
        raise ConfigError(f"inference.bootstrap.kind = {inference.bootstrap.kind!r}: choose "
                          "parametric or nonparametric")  # fmt: skip
    if inference.bootstrap.replicates < 2:
        raise ConfigError(f"inference.bootstrap.replicates = {inference.bootstrap.replicates}: "
                          "expected >= 2 (1,000 or more for a 95% interval)")  # fmt: skip
    if inference.gof_replicates < 0:
        raise ConfigError(f"inference.gof_replicates = {inference.gof_replicates}: expected "
                          ">= 0 (0: no bootstrap p-values)")  # fmt: skip

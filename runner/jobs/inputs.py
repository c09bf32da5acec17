"""What a job fits: the family completed from truth and data, the training sample and the
held-out one. Fit jobs and study jobs both start here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runner.errors import ConfigError
from runner.io import data
from runner.io.data import Sample
from runner.jobs.config import RunnerConfig
from runner.stats import families, heldout
from runner.stats.families.base import Family


@dataclass
class Inputs:
    family: Family
    truth: dict[str, Any] | None  # the true parameters, checked; None for real data
    sample: Sample  # the training sample as read, with where it came from
    x: np.ndarray  # the training values, validated by the family
    test: np.ndarray | None  # held-out values, validated; None without held-out data
    notes: list[str] = field(default_factory=list)  # what the fit should say about its data


def load_inputs(spec: RunnerConfig) -> Inputs:
    """The configured family and data, validated against each other."""
    model, source = spec.model, spec.data
    family = families.get(model.name, trials=model.trials, categories=model.categories, k=model.k,
                          dist=model.dist, logpdf=model.logpdf, params=model.params or None,
                          sampler=model.sampler)  # fmt: skip
    truth = None
    if source.source == "synthetic" or source.test_n:
        if not model.truth:  # model=scipy: scipy's example values, recorded as the truth
            model.truth = family.default_truth() or {}
        if not model.truth:
            raise ConfigError(
                "synthetic data need the true parameters: set model.truth "
                f"(see conf/model/{model.name}.yaml)"
            )
        family = family.for_truth(model.truth)
        truth = family.check_theta(model.truth, "model.truth")
    if _censored(spec):
        return _censored_inputs(spec, family, truth)
    if _chunked(spec):
        return _chunked_inputs(spec, family, truth)
    sample = data.load(
        source.source,
        family=family,
        truth=truth,
        n=spec.n,
        seed=spec.seed,
        path=source.path,
        column=source.column,
        columns=source.columns,
        values=source.values,
        counts=source.counts,
        dropna=source.dropna,
        sep=source.sep,
    )
    held = None
    if source.test_path:
        column = sample.description.get("column", source.column)
        held = data.csv(source.test_path, column, source.dropna, source.columns, source.sep)
    elif source.test_n:
        held = data.synthetic(family, truth, source.test_n, seed=[spec.seed, 1])
    together = sample.values if held is None else np.concatenate([sample.values, held.values])
    family = family.for_data(together, sample.labels)
    x = sample.validated_by(family)
    test = None if held is None else held.validated_by(family)
    if source.holdout:
        if test is not None:
            raise ConfigError("use data.holdout or held-out data (test_path, test_n), not both")
        total = family.sample_size(x)
        keep, out = heldout.split(total, source.holdout, spec.seed)
        if keep.size < max(family.min_n, 1):
            raise ConfigError(
                f"data.holdout = {source.holdout} keeps {keep.size} of {total} observations "
                f"for the fit; {family.name} needs at least {family.min_n}: hold out less"
            )
        x, test = x[keep], x[out]  # observations are along the first axis here
    return Inputs(family, truth, sample, x, test)


def _chunked(spec: RunnerConfig) -> bool:
    """Data read in chunks: data=parquet, data=csv with data.chunk_rows, data.engine=dask."""
    source = spec.data
    engine = source.engine or "local"
    return source.source == "parquet" or bool(source.chunk_rows) or engine != "local"


def _chunked_inputs(spec: RunnerConfig, family: Family, truth) -> Inputs:
    """A column larger than memory: the family reads it in chunks (one merged pass where
    its statistics merge, else a pass per optimizer step); see runner.stats.chunked."""
    from runner.stats.chunked import chunked

    source = spec.data
    if (source.engine or "local") not in ("local", "dask"):
        raise ConfigError(f"data.engine = {source.engine!r}: choose local or dask")
    allowed = ("parquet",) if source.engine == "dask" else ("parquet", "csv")
    if source.source not in allowed:
        raise ConfigError(
            "data read in chunks come from data=parquet (engine local or dask) or data=csv "
            f"with data.chunk_rows; not data={source.source}"
        )
    if not source.path:
        raise ConfigError(f"data={source.source} needs data.path=FILE (and data.column=NAME)")
    if source.columns or family.multivariate:
        raise ConfigError("data read in chunks hold one column (data.column), for a "
                          "univariate family")  # fmt: skip
    if source.holdout or source.test_path or source.test_n:
        raise ConfigError("held-out data are not supported with data read in chunks yet")
    if source.engine == "dask":
        from runner.io import dask_data

        chunks = dask_data.parquet(source.path, source.column, family, source.dropna,
                                   source.scheduler)  # fmt: skip
        sample = data.Sample(chunks, "parquet", chunks.describe())  # type: ignore[arg-type]
    elif source.source == "parquet":
        from runner.io.parquet_data import parquet

        sample = parquet(source.path, source.column, family, source.dropna, source.chunk_rows)
    else:
        from runner.io.parquet_data import csv_chunks

        sample = csv_chunks(source.path, source.column, family, source.dropna,
                            source.chunk_rows, source.sep)  # fmt: skip
    family, x = chunked(family, sample.values)  # the first pass: every chunk is checked
    sample.description.update(x.describe())
    return Inputs(family, truth, sample, x, None)  # type: ignore[arg-type]


CENSORING_KEYS = ("left", "right", "time", "event")


def _censored(spec: RunnerConfig) -> bool:
    source = spec.data
    censor, cut = source.censor, spec.model.truncation
    from runner.io.censored_data import is_censored_inline

    inline = source.source == "inline" and is_censored_inline(source.values)
    return bool(any(getattr(source, k) for k in CENSORING_KEYS) or inline
                or censor.right is not None or censor.rate is not None
                or cut.low is not None or cut.high is not None)  # fmt: skip


def _censored_inputs(spec: RunnerConfig, family, truth) -> Inputs:
    """Censored or truncated observations, as (low, high) pairs for a censored family."""
    from runner.io import censored_data
    from runner.stats.families.censored import Censored, describe

    source, model = spec.data, spec.model
    censored_draws = source.censor.right is not None or source.censor.rate is not None
    studied = spec.study.name == "convergence" and source.source == "synthetic"
    if spec.study.name != "single" and not (studied and censored_draws):
        raise ConfigError(f"study={spec.study.name} with censored or truncated data is not "
                          "supported yet: one fit (study=single) is, and study=convergence "
                          "of synthetic draws censored by data.censor.right or "
                          "data.censor.rate")  # fmt: skip
    if source.holdout or source.test_path or source.test_n:
        raise ConfigError("held-out data are not supported with censored data yet")
    if spec.estimator.name != "mle":
        raise ConfigError("estimator=map is not supported with censored data yet (MLE only)")
    if source.left or source.right:
        if source.source != "csv" or not (source.left and source.right):
            raise ConfigError("data.left and data.right go together, with data=csv")
        sample = censored_data.from_left_right(source.path, source.left, source.right,
                                               source.sep)  # fmt: skip
    elif source.time or source.event:
        if source.source != "csv" or not (source.time and source.event):
            raise ConfigError("data.time and data.event go together, with data=csv")
        sample = censored_data.from_time_event(source.path, source.time, source.event,
                                               source.sep)  # fmt: skip
        if family.discrete:
            sample.values = censored_data.as_counts(sample.values)
    elif source.source == "inline" and censored_data.is_censored_inline(source.values):
        sample = censored_data.from_inline(source.values, counts=family.discrete)
    elif source.source == "synthetic" and _truncation(model.truncation) is not None:
        values = _truncated_draws(family, truth, spec.n, spec.seed, _truncation(model.truncation))
        sample = data.Sample(values, "synthetic", {"n": spec.n, "seed": spec.seed,
                                                   "truth": truth})  # fmt: skip
        values = sample.validated_by(family)
        censor = source.censor
        pairs = censored_data.censor_draws(values, censor.right, censor.rate, spec.seed)
        if family.discrete:
            pairs = censored_data.as_counts(pairs)
        sample = data.Sample(pairs, "synthetic", sample.description)
    else:
        sample = data.load(source.source, family=family, truth=truth, n=spec.n, seed=spec.seed,
                           path=source.path, column=source.column, values=source.values,
                           counts=source.counts, dropna=source.dropna, sep=source.sep)  # fmt: skip
        values = sample.validated_by(family)
        censor = source.censor
        if censor.right is not None or censor.rate is not None:
            if source.source != "synthetic":
                raise ConfigError("data.censor censors synthetic draws; for a file, give "
                                  "data.left/right or data.time/event")  # fmt: skip
            pairs = censored_data.censor_draws(values, censor.right, censor.rate, spec.seed)
            if family.discrete:
                pairs = censored_data.as_counts(pairs)
        else:
            pairs = np.column_stack([values, values]).astype(float)
        sample = data.Sample(pairs, sample.source, sample.description, locate=sample.locate)
    truncation = _truncation(model.truncation)
    censored = Censored.for_pairs(family, sample.values, truncation)
    x = sample.validated_by(censored)
    return Inputs(censored, truth, sample, x, None, [describe(x, censored.truncation)])


def _truncation(setting) -> tuple | None:
    if setting.low is None and setting.high is None:
        return None
    return (setting.low, setting.high)


def _truncated_draws(family, truth, n: int, seed: int, truncation) -> np.ndarray:
    """``n`` draws from the family at the truth that fall inside the truncation (the only
    ones a truncated source records), by drawing more and keeping those."""
    low = -np.inf if truncation[0] is None else float(truncation[0])
    high = np.inf if truncation[1] is None else float(truncation[1])
    dist = family.scipy_dist(truth)
    inside = float(dist.cdf(high) - dist.cdf(low))
    if not inside > 1e-9:
        raise ConfigError(f"model.truncation ({low:g}, {high:g}) holds almost none of "
                          f"{family.name} at model.truth: no draws to keep")  # fmt: skip
    rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    count = 0
    while count < n:
        draws = np.asarray(family.sample(truth, int((n - count) / inside * 1.2) + 16, rng))
        draws = draws[(draws > low) & (draws < high)]
        kept.append(draws)
        count += draws.size
    return np.concatenate(kept)[:n]

"""What a job fits: the family completed from truth and data, the training sample and the
held-out one. Fit jobs and study jobs both start here."""

from __future__ import annotations

from dataclasses import dataclass
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

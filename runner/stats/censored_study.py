"""A convergence study of the MLE under censoring: replicates drawn from the truth,
censored at a fixed time and/or at random exponential times whose scale is fixed by the
truth (so every replicate shares one censoring law, and one Cramer-Rao bound), each fitted
by the censored likelihood.

Beside the usual table (bias, RMSE, coverage) the bound comes from the censored-data
expected information (runner.stats.censored_information), and ``crlb_uncensored`` /
``information_kept`` say what censoring cost: the share of an uncensored observation's
information that a censored-design observation keeps, per parameter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats import study
from runner.stats.censored_information import censored_information, censoring_scale
from runner.stats.families.base import Theta
from runner.stats.families.censored import Censored, censor_at
from runner.stats.study import StudyResult, StudySpec


def censored_study(family: Censored, truth: Theta, spec: StudySpec, right: float | None,
                   rate: float | None, progress: bool = True) -> StudyResult:  # fmt: skip
    """Replicates of ``spec.sizes`` draws at ``truth``, censored at ``min(right, s E)``
    with ``s`` from ``rate`` (the share censored under the truth), each fitted alone."""
    from runner.stats.estimate import fit_validated

    _refuse(family, right, rate)
    study.check_replicates(spec.replicates)
    study._check_sizes(family, spec.sizes)
    base = family.base
    scale = None if rate is None else censoring_scale(base, truth, rate, right)
    family = CensoredDesign(base, right, scale)
    rng = np.random.default_rng(spec.seed)
    flat_truth = {k: float(v) for k, v in truth.items()}
    frames, no_mle = [], {}
    with study._progress(spec, progress, "censored convergence study") as bar:
        for size in spec.sizes:
            rows: dict[str, list[Any]] = {n: [] for n in family.param_names}
            ses: dict[str, list[float]] = {n: [] for n in family.param_names}
            for _ in range(spec.replicates):
                values = np.asarray(base.sample(truth, size, rng), dtype=float)
                limit = _limits(size, right, scale, rng)
                try:
                    f = fit_validated(family, family.validate(censor_at(values, limit)))
                    by_name = {e.name: e for e in f.estimates}
                    got = {n: (by_name[n].estimate, by_name[n].se) for n in family.param_names}
                except DataError as exc:  # every value censored: no MLE
                    no_mle.setdefault(size, str(exc))
                    got = dict.fromkeys(family.param_names, (np.nan, np.nan))
                for n, (estimate, se) in got.items():
                    rows[n].append(estimate)
                    ses[n].append(np.nan if se is None else se)
                bar.update(1)
            frames.append(_frame(size, spec.replicates, rows, ses, flat_truth))
    spec = StudySpec(**{**spec.__dict__, "stream": False})
    result = study._result("synthetic", family, truth, frames, spec, None, no_mle=no_mle)
    _add_censoring_cost(result, base, truth, family.describe_design())
    return result


class CensoredDesign(Censored):
    """The censored family of a study: it knows its censoring law, so its expected
    information (the Cramer-Rao bound's inverse) is the censored data's."""

    def __init__(self, base, right: float | None, scale: float | None):
        super().__init__(base)
        self.right, self.scale = right, scale

    def fisher_information(self, theta: Theta) -> np.ndarray | None:
        return censored_information(self.base, theta, self.right, self.scale)

    def describe_design(self) -> str:
        parts = []
        if self.right is not None:
            parts.append(f"at {self.right:g}")
        if self.scale is not None:
            parts.append(f"at exponential times of mean {self.scale:.4g}")
        return " and ".join(parts)


def _refuse(family: Censored, right: float | None, rate: float | None) -> None:
    if family.truncation is not None:
        raise ConfigError("study=convergence with model.truncation is not supported yet "
                          "(censoring is: data.censor.right / data.censor.rate)")  # fmt: skip
    if family.discrete:
        raise ConfigError(f"study=convergence with censored counts ({family.name}) is not "
                          "supported yet: continuous families are")  # fmt: skip
    if right is None and rate is None:
        raise ConfigError("a censored study censors its draws: give data.censor.right=c "
                          "and/or data.censor.rate=0.3")  # fmt: skip


def _limits(size: int, right: float | None, scale: float | None, rng) -> np.ndarray:
    limit = np.full(size, np.inf if right is None else float(right))
    if scale is not None:
        limit = np.minimum(limit, scale * rng.exponential(1.0, size))
    return limit


def _frame(size: int, count: int, rows, ses, truth: dict[str, float]):
    import pandas as pd

    from runner.stats.batch import wald_covers

    replicate = np.arange(count)
    frames = []
    for name, values in rows.items():
        estimate = np.asarray(values, dtype=float)
        se = np.asarray(ses[name], dtype=float)
        exists = np.isfinite(estimate)
        covered = wald_covers(estimate, se, truth[name])
        frames.append(study._rows(size, replicate, "mle", name, estimate, truth[name], se,
                                  covered, has_mle=exists))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _add_censoring_cost(result: StudyResult, base, truth: Theta, design: str) -> None:
    """``crlb_uncensored`` (the bound had nothing been censored) and ``information_kept``
    (its ratio to the censored bound) per row, and a sentence of what censoring cost."""
    exact, _ = study.crlb(base, truth)
    summary = result.summary
    summary["crlb_uncensored"] = summary["parameter"].map(exact).astype(float) / summary["size"]
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["information_kept"] = summary["crlb_uncensored"] / summary["crlb"]
    kept = summary.groupby("parameter")["information_kept"].first().dropna()
    if kept.size:
        shares = ", ".join(f"{name} {100 * value:.1f}%" for name, value in kept.items())
        result.notes.insert(0, (
            f"censored {design}: the Cramer-Rao bound is the censored data's; an "
            f"observation keeps this share of an uncensored one's information: {shares} "
            "(information_kept = crlb_uncensored / crlb)"))  # fmt: skip

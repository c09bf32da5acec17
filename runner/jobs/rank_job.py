"""``study=rank`` (``python -m runner.rank``): which family fits the data best, as a job.

Every candidate is fitted to the same data and ranked by AIC (``runner.stats.rank``); the
run folder gets ``ranking.csv`` (one row per candidate, the failed ones with their
reason), ``ranking.json`` and ``rank.png``; then one MLflow run: each candidate's AIC
difference and Akaike weight as metrics (``delta_aic/<dist>``, ``weight/<dist>``), the
winner as a tag, the table as the description.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.errors import ConfigError
from runner.io.data import fingerprint
from runner.io.tracking import code_block
from runner.jobs.config import RunnerConfig, check, wants_plots
from runner.jobs.inputs import load_inputs
from runner.jobs.outputs import JobOutcome, data_record, track, write_json
from runner.stats.rank import Ranking, candidate_names, rank

FILES = {"table": "ranking.csv", "record": "ranking.json", "figure": "rank.png"}


def run(
    spec: RunnerConfig,
    run_dir: Path,
    run_name: str,
    echo: Callable[[str], Any] = print,
    extra_tags: dict[str, str] | None = None,
) -> JobOutcome:
    """Rank the candidates on the configured data; save, print, log."""
    check(spec)
    if spec.model.fixed:
        raise ConfigError(
            "study=rank holds parameters with study.fixed (in every candidate that has "
            "them, e.g. +study.fixed.loc=0), not model.fixed"
        )
    if spec.study.show < 1:
        raise ConfigError(f"study.show = {spec.study.show}: expected at least 1")
    names = candidate_names(spec.study.candidates)  # a wrong name fails before any data work
    inputs = load_inputs(spec)
    x = inputs.x
    if x.ndim != 1:
        raise ConfigError("study=rank ranks families of one variable: give one data column")
    with _bar(len(names)) as tick:
        ranking = rank(x, names, fixed=dict(spec.study.fixed), progress=tick,
                       jobs=spec.study.jobs)
    digest = fingerprint(x)
    path = save(spec, run_dir, x, ranking, digest, inputs.sample.source)
    table = ranking.summary()
    echo(table)
    echo(f"\nsaved: {path}")
    best = ranking.best
    tags = {"study": "rank", "best": best.dist if best else "none",
            "data.source": inputs.sample.source, "data.sha1": digest,
            "run_dir": str(run_dir.resolve()), **(extra_tags or {})}  # fmt: skip
    where, error = track(spec, run_dir, run_name, rank_metrics(ranking), [], tags, echo,
                         note=code_block(table),
                         dataset=data_record(spec, x, digest, inputs.sample.source))  # fmt: skip
    return JobOutcome(None, path, where, error)


def save(spec: RunnerConfig, run_dir: Path, x, ranking: Ranking, digest: str,
         source: str) -> Path:  # fmt: skip
    """The table, the record and the figure, in the run folder, before any tracking."""
    run_dir.mkdir(parents=True, exist_ok=True)
    table = ranking.table()
    path = run_dir / FILES["table"]
    table.to_csv(path, index=False)
    best = ranking.best
    record = {
        "study": "rank",
        "n": ranking.n,
        "candidates": spec.study.candidates,
        "fixed": ranking.fixed,
        "best": best.dist if best else None,
        "failed": {c.dist: c.error for c in ranking.failed},
        "data": {"source": source, "sha1": digest},
        "ranking": [_clean(c.row()) for c in ranking.candidates],
    }
    write_json(run_dir / FILES["record"], record)
    if wants_plots(spec):
        from runner.io.rank_figure import rank_figure

        rank_figure(x, ranking, spec.study.show, run_dir / FILES["figure"],
                    f"which family fits best: n = {ranking.n:,}")  # fmt: skip
    return path


def rank_metrics(ranking: Ranking) -> dict[str, float]:
    """Per candidate ``delta_aic/<dist>`` and ``weight/<dist>``; the counts and the best
    AIC. MLflow's compare view then lines up candidates across runs."""
    metrics: dict[str, float] = {
        "n": float(ranking.n),
        "candidates.fitted": float(len(ranking.fitted)),
        "candidates.failed": float(len(ranking.failed)),
    }
    best = ranking.best
    if best is not None and best.fit is not None:
        metrics.update({"best.aic": best.aic, "best.loglik": best.fit.loglik})
    for c in ranking.fitted:
        metrics[f"delta_aic/{c.dist}"] = c.delta_aic
        metrics[f"weight/{c.dist}"] = c.weight
        if math.isfinite(c.ks):
            metrics[f"ks/{c.dist}"] = c.ks
    return {k: v for k, v in metrics.items() if math.isfinite(v)}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN or infinity: null there."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}  # fmt: skip


class _bar:
    """A tqdm bar over the candidates on a terminal; nothing elsewhere."""

    def __init__(self, total: int):
        self.total = total
        self.bar = None

    def __enter__(self) -> Callable[[str], None]:
        if sys.stderr.isatty() and self.total > 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc="ranking", unit="family", leave=False)
        return self.tick

    def tick(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name)
            self.bar.update()

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()

"""``study=convergence``: the convergence of the estimator against sample size, as a job.

Config in; tables, plots and a summary in the run folder; then the tracker, with the
per-size numbers as step metrics (step = n) so MLflow charts error against sample size.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runner.errors import ConfigError
from runner.io.data import fingerprint
from runner.io.tracking import DataRecord, code_block
from runner.jobs.config import RunnerConfig, check, wants_plots
from runner.jobs.inputs import Inputs, load_inputs
from runner.jobs.outputs import (
    JobOutcome,
    data_record,
    jsonable,
    track,
    truth_text,
    write_json,
)
from runner.stats.censored_study import censored_study
from runner.stats.families.censored import Censored
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
    "intervals": "convergence_intervals.csv",
    "record": "study.json",
}


def run(
    spec: RunnerConfig,
    run_dir: Path,
    run_name: str,
    echo: Callable[[str], Any] = print,
    extra_tags: dict[str, str] | None = None,
) -> JobOutcome:
    """Run the study; write its files; log them with the per-size numbers as steps, the
    console table as the run's description and the data it drew from."""
    done = _study(spec, run_dir, echo)
    tags = {"model": spec.model.name, "study": spec.study.name,
            "estimator": spec.estimator.name, "data.source": spec.data.source,
            "run_dir": str(run_dir.resolve()), **(extra_tags or {})}  # fmt: skip
    where, error = track(spec, run_dir, run_name, study_metrics(done.result),
                         study_steps(done.result), tags, echo, note=code_block(done.table),
                         dataset=study_data(spec, done))  # fmt: skip
    return JobOutcome(None, run_dir / FILES["record"], where, error, study=done.result)


@dataclass
class _Done:
    result: StudyResult
    study: StudySpec
    inputs: Inputs
    table: str  # the console table, as printed


def run_study(spec: RunnerConfig, run_dir: Path, echo: Callable[[str], Any] = print) -> StudyResult:
    """The study itself: its files in the run folder and its table printed."""
    return _study(spec, run_dir, echo).result


def _study(spec: RunnerConfig, run_dir: Path, echo: Callable[[str], Any]) -> _Done:
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
    if spec.study.truth_model:  # draw from one family, fit another
        result = _misspecified(spec, family, study)
    elif isinstance(family, Censored):  # synthetic draws with data.censor.*
        censor = spec.data.censor
        result = censored_study(family, inputs.truth, study, censor.right, censor.rate)
    elif spec.data.source == "synthetic":
        result = synthetic_study(family, inputs.truth, study)
    else:
        result = subsample_study(family, inputs.x, study)
    study = StudySpec(**{**study.__dict__, "sizes": result.sizes})  # subsampling drops sizes >= N
    if spec.study.intervals:
        result.intervals = _interval_coverage(spec, family, inputs.truth, study)
    save_study(spec, run_dir, family.name, result, study)
    table = describe(family.name, result, study, regular=family.se_source != "none")
    echo(table)
    echo(f"\nsaved: {run_dir}")
    return _Done(result, study, inputs, table)


# what the errors are measured against, by the study's mode
AGAINST = {"synthetic": "truth", "subsample": "full-data estimate",
           "misspecified": "pseudo-true value"}  # fmt: skip


def _misspecified(spec: RunnerConfig, family, study: StudySpec) -> StudyResult:
    """study.truth_model=lognormal model=gamma: its truth from study.truth_params, else
    the truth in conf/model/<truth_model>.yaml."""
    from runner.stats import families
    from runner.stats.misspecified_study import misspecified_study

    if spec.data.source != "synthetic" or isinstance(family, Censored):
        raise ConfigError("study.truth_model draws synthetic data: use data=synthetic, "
                          "without censoring")  # fmt: skip
    if spec.study.intervals:
        raise ConfigError("study.truth_model reports observed and sandwich coverage itself; "
                          "leave study.intervals empty")  # fmt: skip
    try:
        true_family = families.get(spec.study.truth_model)
    except ConfigError as exc:
        raise ConfigError(f"study.truth_model={spec.study.truth_model}: {exc} (a truth family "
                          "that needs options is not supported yet)") from None
    truth = dict(spec.study.truth_params) or _conf_truth(spec.study.truth_model)
    return misspecified_study(family, true_family, true_family.check_theta(truth,
                              "study.truth_params"), study)  # fmt: skip


def _conf_truth(model: str) -> dict[str, Any]:
    from omegaconf import OmegaConf

    from runner.jobs.config import CONFIG_DIR

    path = Path(CONFIG_DIR) / "model" / f"{model}.yaml"
    truth = OmegaConf.to_container(OmegaConf.load(path)).get("truth") if path.is_file() else None
    if not truth:
        raise ConfigError(f"study.truth_model={model}: give its parameters, e.g. "
                          f"'+study.truth_params={{...}}' (conf/model/{model}.yaml has none)")
    return truth


def _interval_coverage(spec: RunnerConfig, family, truth, study: StudySpec):
    """Each interval method's coverage and width against n (interval_coverage)."""
    from runner.stats.interval_coverage import CoverageSpec, interval_coverage

    if spec.data.source != "synthetic" or isinstance(family, Censored):
        raise ConfigError("study.intervals measures coverage of a known truth: it needs "
                          "synthetic draws without censoring")  # fmt: skip
    if spec.estimator.name != "mle":
        raise ConfigError("study.intervals are the MLE's intervals: use estimator=mle")
    coverage = CoverageSpec(spec.study.intervals, study.sizes, study.replicates,
                            spec.study.interval_subset, spec.study.bootstrap_replicates,
                            spec.seed, study.max_memory_mb)  # fmt: skip
    return interval_coverage(family, truth, coverage)


def study_data(spec: RunnerConfig, done: _Done) -> DataRecord:
    """What the study fitted: subsamples of the data file (its values, hashed), or
    ``replicates`` synthetic samples at each size (named by how they were drawn: the
    draws themselves are not kept)."""
    if spec.data.source != "synthetic":
        x = done.inputs.x
        return data_record(spec, x, fingerprint(x))
    import hashlib

    study, family = done.study, done.inputs.family
    how = {"data.source": "synthetic", "model": family.name, "seed": study.seed,
           "truth": jsonable(done.inputs.truth), "sizes": list(study.sizes),
           "replicates": study.replicates}  # fmt: skip
    digest = hashlib.sha1(json.dumps(how, sort_keys=True).encode()).hexdigest()[:16]
    first, last = study.sizes[0], study.sizes[-1]
    sizes = f"n={first}" if first == last else f"n={first}..{last}"
    name = f"synthetic {family.name}({truth_text(spec.model.truth)})"[:80]
    name += f" {study.replicates}x {sizes} seed={study.seed}"
    dtype = "int64" if family.discrete else "float64"
    return DataRecord(name, digest, (study.replicates, len(study.sizes)), dtype, code=how)


def save_study(
    config: RunnerConfig, run_dir: Path, model: str, result: StudyResult, spec: StudySpec
) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    result.draws.to_csv(run_dir / FILES["draws"], index=False)
    result.summary.to_csv(run_dir / FILES["summary"], index=False)
    if result.intervals is not None:
        result.intervals.to_csv(run_dir / FILES["intervals"], index=False)
    if result.stream is not None:
        result.stream.to_csv(run_dir / FILES["stream"], index=False)
    record = {
        "model": model,
        "mode": result.mode,
        "truth": result.truth,
        "sizes": spec.sizes,
        "dropped_sizes": result.dropped,
        "replicates": spec.replicates,
        "estimator": spec.estimator,
        "population": result.population,
        "slope_from": spec.slope_from,
        "slopes": _records(result.slopes),
        "largest_size": _records(result.summary[result.summary["size"] == max(spec.sizes)]),
        # Why a null above is null, per parameter ("p.A", "map.p") and column.
        "unavailable": result.unavailable,
        "no_mle": {str(size): why for size, why in result.no_mle.items()},
        "notes": result.notes,
        **({"intervals": _records(result.intervals)} if result.intervals is not None else {}),
    }
    write_json(run_dir / FILES["record"], record, allow_nan=True)  # as pandas wrote it
    if wants_plots(config):
        from runner.io import plots

        against = AGAINST[result.mode]
        plots.rmse_plot(result.summary, result.slopes, run_dir / "convergence_rmse.png",
                        f"{model}: RMSE against n")  # fmt: skip
        plots.estimates_plot(result.summary, run_dir / "convergence_estimates.png",
                             f"{model}: estimates against n", against)  # fmt: skip
        if result.stream is not None:
            plots.stream_plot(result.stream, run_dir / "stream.png",
                              f"{model}: running estimate along one sample", against)  # fmt: skip
        if result.intervals is not None:
            from runner.io.coverage_figure import coverage_figure

            coverage_figure(result.intervals, run_dir / "convergence_intervals.png",
                            f"{model}: 95% interval coverage against n")  # fmt: skip


def study_metrics(result: StudyResult) -> dict[str, float]:
    """The fitted slopes (one number per parameter and estimator); a slope that could not
    be fitted is left out (its reason is in study.json), as MLflow takes numbers only."""
    return {
        f"{_prefix(row['estimator'])}slope.{row['parameter']}": float(row["slope"])
        for _, row in result.slopes.iterrows()
        if np.isfinite(row["slope"])
    }


# Step series, step = n: ``<quantity>/<parameter>`` (``rmse/lam``, ``rmse/map.lam``). The
# run page's metrics tab gives each quantity a section of its own, listed before the
# one-point slopes; the square root of the Cramer-Rao bound is on the scale of the RMSE, so
# a chart of both compares like with like.
STEP_QUANTITIES = {"rmse": "rmse", "sqrt_crlb": "crlb", "bias": "bias", "coverage": "coverage"}


def study_steps(result: StudyResult) -> list[tuple[str, float, int]]:
    """Per-size numbers as step metrics: step = n, so MLflow plots them against n."""
    steps = []
    for _, row in result.summary.iterrows():
        name = f"{_prefix(row['estimator'])}{row['parameter']}"
        for quantity, column in STEP_QUANTITIES.items():
            value = float(row[column])
            if quantity == "sqrt_crlb":
                value = float(np.sqrt(value)) if value >= 0 else float("nan")
            if np.isfinite(value):
                steps.append((f"{quantity}/{name}", value, int(row["size"])))
    if result.intervals is not None:  # coverage.<method>/<parameter>, width.<method>/...
        for _, row in result.intervals.iterrows():
            for quantity, column in (("coverage", "coverage"), ("width", "mean_width")):
                value = float(row[column])
                if np.isfinite(value):
                    steps.append((f"{quantity}.{row['method']}/{row['parameter']}", value,
                                  int(row["size"])))  # fmt: skip
    return steps


def describe(model: str, result: StudyResult, spec: StudySpec, regular: bool = True) -> str:
    """A compact console table: one block per parameter, one line per size.

    A number that cannot be computed prints as ``n/a`` with its reason under the block; a
    note said of every block (dropped sizes, few replicates, a slope fitted below
    ``study.slope_from``) is printed once, under the header. Coverage carries its Monte
    Carlo standard error, so 0.93 from 50 replicates is not read as a failing interval."""
    against = AGAINST[result.mode]
    first, last = spec.sizes[0], spec.sizes[-1]
    span = f"{first:,}" if first == last else f"{first:,} .. {last:,}"
    lines = [
        f"{model} · convergence over n = {span} · "
        f"{spec.replicates:,} replicates per size · errors against the {against}",
    ]
    if result.population:
        lines.append(
            f"subsamples without replacement from the {result.population:,} observations: "
            "their spread shrinks by (1 - n/N) near N, so the slope uses n <= N/4"
        )
    blocks = []
    for (estimator, name), rows in result.summary.groupby(["estimator", "parameter"], sort=False):
        blocks.append(_block(result, estimator, name, rows, against, regular))
    shared = [note for note in blocks[0][1] if all(note in b[1] for b in blocks)] if blocks else []
    lines += [_wrap(f"note: {note}", "") for note in [*result.notes, *shared]]
    for table, notes in blocks:
        lines += ["", *table, *(_wrap(note, "  ") for note in notes if note not in shared)]
    if result.intervals is not None:
        lines += ["", *_interval_block(result.intervals)]
    return "\n".join(lines)


def _interval_block(table) -> list[str]:
    """Coverage ± MCSE and mean width per size and method, one block per parameter."""
    lines = ["95% interval coverage over the replicates with an MLE (a missing interval "
             "counts as a miss; w: mean width)"]
    for name, rows in table.groupby("parameter", sort=False):
        methods = list(dict.fromkeys(rows["method"]))
        lines.append(f"  {name}: " + "   ".join(
            f"{m} ({int(rows[rows['method'] == m]['replicates'].max()):,} reps)"
            for m in methods))  # fmt: skip
        grid = []
        for size, at in rows.groupby("size"):
            cells = []
            for m in methods:
                r = at[at["method"] == m].iloc[0]
                cover = f"{r['coverage']:.3f}±{r['coverage_mcse']:.3f}"
                width = f" w {r['mean_width']:.3g}" if np.isfinite(r["mean_width"]) else ""
                cells.append(cover + width)
            grid.append((int(size), cells))
        widths = [max(len(m), *(len(c[j]) for _, c in grid)) for j, m in enumerate(methods)]
        lines.append(f"{'n':>10}" + "".join(f"  {m:>{w}}" for m, w in zip(methods, widths,
                                                                           strict=True)))
        for size, cells in grid:
            lines.append(f"{size:>10,}" + "".join(f"  {c:>{w}}" for c, w in zip(cells, widths,
                                                                                strict=True)))
    return lines


def _block(result: StudyResult, estimator: str, name: str, rows, against: str,
           regular: bool) -> tuple[list[str], list[str]]:  # fmt: skip
    """One parameter's table lines, and its notes (the reasons behind each n/a first)."""
    fit = result.slopes[
        (result.slopes["estimator"] == estimator) & (result.slopes["parameter"] == name)
    ].iloc[0]
    unavailable = result.unavailable.get(_prefix(estimator) + name, {})
    truth = rows["truth"].iloc[0]
    theory = " (theory -0.5)" if regular else " (non-regular: no n^-1/2 theory)"
    if np.isfinite(fit["slope"]):
        slope = f"RMSE slope {fit['slope']:.3f} over {_sizes(fit['sizes'])}{theory}"
    else:
        slope = f"RMSE slope n/a{theory}"
    # The share without an interval, where it is partial: none at all is the n/a below.
    share = rows["no_interval"].fillna(0)
    no_ci = bool(((share > 0) & (share < 1)).any())
    no_mle = bool((rows["no_mle"] > 0).any())
    header = (f"{'n':>8}  {'mean':>10}  {'bias':>10}  {'RMSE':>9}  {'sqrt(CRLB)':>10}  "
              f"{'eff.':>6}  {'cover ± MCSE':>13}")  # fmt: skip
    header += f"  {'no CI':>6}" * no_ci + f"  {'no MLE':>6}" * no_mle
    table = [f"{name} ({estimator.upper()}), {against} {truth:.6g}, {slope}", header]
    for _, r in rows.iterrows():
        cover = (
            f"{r['coverage']:.3f} ± {r['coverage_mcse']:.3f}"
            if np.isfinite(r["coverage"])
            else "n/a"
        )
        line = (
            f"{int(r['size']):>8,}  {_cell(r['mean'], '.5g', 10)}  {_cell(r['bias'], '.3g', 10)}  "
            f"{_cell(r['rmse'], '.3g', 9)}  {_cell(np.sqrt(r['crlb']), '.3g', 10)}  "
            f"{_cell(r['efficiency'], '.2f', 6)}  {cover:>13}"
        )
        line += f"  {_percent(r['no_interval'])}" * no_ci + f"  {_percent(r['no_mle'])}" * no_mle
        table.append(line)
    reasons: dict[str, list[str]] = {}  # one note per reason, naming every column it empties
    for key, label in _NA_LABELS:
        if key in unavailable:
            reasons.setdefault(unavailable[key], []).append(label)
    notes = [f"n/a {', '.join(labels)}: {why}" for why, labels in reasons.items()]
    if no_ci:
        notes.append(
            "cover is over the replicates with a Wald interval; 'no CI' is the share with "
            "none (an estimate on the boundary of the parameter space, e.g. p = 0, has no "
            "standard error)"
        )
    if no_mle:
        example = next(iter(result.no_mle.items()), None)
        why = f"; e.g. at n = {example[0]:,}: {example[1]}" if example else ""
        notes.append(
            "'no MLE' is the share of replicates whose MLE does not exist (a single fit "
            f"refuses such data); the row's other numbers are over the rest{why}"
        )
    if isinstance(fit["note"], str) and np.isfinite(fit["slope"]):
        notes.append(f"slope: {fit['note']}")
    return table, notes


# The summary's NaN columns, in the order the notes name them, with their console labels.
_NA_LABELS = [("mean", "mean, bias, RMSE"), ("crlb", "sqrt(CRLB)"), ("efficiency", "eff."),
              ("coverage", "cover"), ("slope", "RMSE slope")]  # fmt: skip


def _cell(value: float, fmt: str, width: int) -> str:
    """A number right-aligned in ``width``, or ``n/a`` where it is not finite."""
    text = format(value, fmt) if np.isfinite(value) else "n/a"
    return f"{text:>{width}}"


def _percent(value: float) -> str:
    return f"{100 * value:>5.1f}%" if np.isfinite(value) else f"{'n/a':>6}"


def _sizes(sizes: list[int]) -> str:
    """``n = 100, 1,000`` or, for many, ``7 sizes, n = 100 .. 10,000``."""
    if len(sizes) > 4:
        return f"{len(sizes)} sizes, n = {sizes[0]:,} .. {sizes[-1]:,}"
    return "n = " + ", ".join(f"{s:,}" for s in sizes)


def _wrap(text: str, indent: str) -> str:
    """A note wrapped to the console width, continuation lines indented under it."""
    import textwrap

    return textwrap.fill(text, width=100, initial_indent=indent, break_on_hyphens=False,
                         subsequent_indent=indent + "    ")  # fmt: skip


def _prefix(estimator: str) -> str:
    return "" if estimator == "mle" else f"{estimator}."


def _records(frame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))

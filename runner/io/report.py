"""One table and a few plots for a sweep: ``python -m runner.report PATH`` (a multirun
folder) or ``python -m runner.report --experiment NAME`` (from MLflow).

Writes ``report.csv`` (one row per job: the overrides that vary, estimates, errors against
the truth, log-likelihood, AIC/BIC, KS, status), ``report.md`` (the same, readable, and
the models ranked by AIC where several were fitted to one data set, with delta-AIC,
Akaike weights and the KS statistic), ``ranking.csv``, and ``report_error.png`` (absolute
error against n per model and parameter, log-log).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

RUN_KEYS = ("model", "status", "n", "loglik", "aic", "bic", "k", "converged", "ks")


def from_folder(folder: Path):
    """Rows from a multirun folder: each job's overrides, status and results.json."""
    import pandas as pd
    import yaml

    rows = []
    for job in sorted((p for p in folder.iterdir() if (p / ".hydra").is_dir()), key=_job_key):
        overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or []
        row: dict[str, Any] = {"job": job.name}
        row.update(_parse_overrides(overrides))
        status_file = job / "status.json"
        status = json.loads(status_file.read_text()) if status_file.exists() else {}
        row["status"] = status.get("status", "UNKNOWN")
        row["error"] = status.get("error")
        results = job / "results.json"
        if results.exists():
            row.update(_from_results(json.loads(results.read_text())))
        study = job / "study.json"
        if study.exists():
            row.update(_from_study(json.loads(study.read_text())))
        ranked = job / "ranking.json"
        if ranked.exists():
            row.update(_from_ranking(json.loads(ranked.read_text())))
        rows.append(row)
    if not rows:
        raise SystemExit(f"error: {folder} holds no Hydra job folders (with .hydra/)")
    return pd.DataFrame(rows)


def from_experiment(name: str, uri: str | None = None):
    """Rows from the runs of an MLflow experiment (children of sweeps included)."""
    import pandas as pd

    from runner.io.tracking import MlflowTracker, sqlite_path

    tracker = MlflowTracker(uri, name)
    store = sqlite_path(tracker.uri)
    if store is not None and not store.is_file():  # MLflow would make an empty one
        raise SystemExit(f"error: there is no MLflow store at {store}")
    client = tracker.client()
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        raise SystemExit(f"error: no MLflow experiment {name!r} at {tracker.uri}")
    rows = []
    for run in client.search_runs([experiment.experiment_id], max_results=50_000):
        tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
        if tags.get("sweep.parent") == "true":
            continue  # a sweep's parent run: its children are the rows
        row: dict[str, Any] = {"job": run.info.run_name, "run_id": run.info.run_id}
        row.update({f"param.{k}": _number(v) for k, v in params.items()})
        row["status"] = run.info.status
        row["error"] = tags.get("error")
        row["model"] = tags.get("model", params.get("model.name"))
        row["data.sha1"] = tags.get("data.sha1")
        for key, value in metrics.items():
            if key.startswith(("estimate.", "truth.", "se.", "slope.")) or key in RUN_KEYS:
                row[key] = value
        rows.append(row)
    if not rows:
        raise SystemExit(f"error: experiment {name!r} has no runs")
    frame = pd.DataFrame(rows)
    for column in [c for c in frame.columns if c.startswith("estimate.")]:
        name = column.split(".", 1)[1]
        if f"truth.{name}" in frame:
            frame[f"error.{name}"] = frame[column] - frame[f"truth.{name}"]
    frame["n"] = pd.to_numeric(frame.get("n", frame.get("param.n")), errors="coerce")
    return frame


def tidy(frame):
    """Keep the columns a reader needs: overrides that vary, then results."""
    varying = ("override.", "param.")
    constant = [c for c in frame.columns if c.startswith(varying)
                and frame[c].astype(str).nunique() <= 1]  # fmt: skip
    frame = frame.drop(columns=constant)
    front = ["job", *[c for c in frame.columns if c.startswith(varying)], "status"]
    rest = [c for c in frame.columns if c not in front]
    return frame[[c for c in front if c in frame] + rest]


def ranking(frame):
    """Models fitted to the same data, ranked by AIC: delta-AIC, Akaike weights, KS."""
    import pandas as pd

    if "aic" not in frame or "model" not in frame or "data.sha1" not in frame:
        return pd.DataFrame()
    # Only jobs that fitted the very same values (equal data hashes) are comparable: with
    # synthetic data each model draws its own sample, and AIC across them means nothing.
    done = frame[(frame["status"] == "FINISHED") & frame["aic"].notna()]
    done = done[done["data.sha1"].notna()]
    ranked = []
    for sha1, group in done.groupby("data.sha1"):
        if group["model"].nunique() < 2:
            continue
        best = group.sort_values("aic").copy()
        best["delta_aic"] = best["aic"] - best["aic"].min()
        weights = np.exp(-0.5 * best["delta_aic"])
        best["akaike_weight"] = weights / weights.sum()
        best["rank"] = np.arange(1, len(best) + 1)
        size = best["n"].iloc[0] if "n" in best else None
        best["data"] = f"{sha1} (n={int(size)})" if size is not None else sha1
        ranked.append(best)
    if not ranked:
        return pd.DataFrame()
    columns = ["data", "rank", "model", "aic", "delta_aic", "akaike_weight", "bic", "loglik"]
    if "ks" in frame:
        columns.append("ks")
    return pd.concat(ranked)[columns]


def write(frame, out: Path, title: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    frame = tidy(frame)
    ranks = ranking(frame)
    written = [out / "report.csv", out / "report.md"]
    frame.to_csv(written[0], index=False)
    lines = [f"# {title}", ""]
    failed = frame[frame["status"] != "FINISHED"]
    lines.append(f"{len(frame)} job(s): {len(frame) - len(failed)} finished, {len(failed)} not.")
    lines += ["", "## Jobs", "", markdown(frame.drop(columns=["error"], errors="ignore")), ""]
    if len(failed):
        lines += ["## Failures", ""]
        lines += [f"- job {r['job']}: {r['error']}" for _, r in failed.iterrows()] + [""]
    if len(ranks):
        ranks.to_csv(out / "ranking.csv", index=False)
        written.append(out / "ranking.csv")
        lines += ["## Models ranked by AIC (same data)", "", markdown(ranks), ""]
    plot = _error_plot(frame, out / "report_error.png")
    if plot:
        written.append(plot)
        lines += ["## Error against n", "", f"![error against n]({plot.name})", ""]
    written[1].write_text("\n".join(lines))
    return written


def markdown(frame) -> str:
    """A pipe table (no extra dependency)."""

    def cell(v):
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:.6g}"
        return "" if v is None else str(v).replace("|", "\\|")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _error_plot(frame, path: Path) -> Path | None:
    """Absolute error against n on log-log axes, one panel per model and parameter (their
    scales differ: a rate of 1e-4 beside a mean of 50 would flatten one of them). Each
    job is a faint dot; the line is the mean |error| over the jobs at each n (their
    seeds differ), with the number of jobs in the legend; a grey n^-1/2 line through
    the means shows the rate a regular model's error falls at. Jobs that differ in
    anything else swept (estimator=mle,map, say) get a line each."""
    errors = [c for c in frame.columns if c.startswith("error.") and frame[c].notna().any()]
    n_column = "n" if "n" in frame else None
    if not errors or n_column is None or frame[n_column].nunique() < 2:
        return None
    from runner.io import plots

    panels = []
    for model, group in frame.groupby("model"):
        for column in errors:
            rows = group[group[column].notna() & group[n_column].notna()]
            if not rows.empty:
                panels.append((model, column, rows))
    if not panels:
        return None
    fig, axes = plots._panels(len(panels))
    for ax, (model, column, rows) in zip(axes, panels, strict=True):
        name = column[len("error.") :]
        split = _swept_besides_n(rows, n_column)
        parts = list(rows.groupby(split, dropna=False)) if split else [((), rows)]
        sizes = rows[n_column].astype(float)
        for i, (key, part) in enumerate(parts):
            color = plots.COLORS["MLE"] if i == 0 else f"C{i}"
            size = part[n_column].astype(float)
            error = part[column].abs()
            ax.scatter(size, error.where(error > 0), s=12, alpha=0.35, color=color,
                       linewidths=0)  # fmt: skip
            mean = error.groupby(size).mean()
            jobs = error.groupby(size).size()
            count = f"{jobs.min()}" if jobs.min() == jobs.max() else f"{jobs.min()}-{jobs.max()}"
            label = f"mean over {count} job{'s' if jobs.max() > 1 else ''} per n"
            if split:
                values = key if isinstance(key, tuple) else (key,)
                label += " (" + ", ".join(
                    f"{c.split('.', 1)[1]}={v}" for c, v in zip(split, values, strict=True)
                ) + ")"  # fmt: skip
            ax.plot(mean.index, mean.to_numpy(), "o-", color=color, label=label)
            if i == 0:
                index = mean.index.to_numpy(dtype=float)
                plots._reference(ax, sizes.to_numpy(), index, mean.to_numpy(dtype=float))
        ax.set_xscale("log")
        ax.set_yscale("log")
        plots._finish(ax, f"{model}: {name}", "n (sample size)", f"|estimate - truth| of {name}")
    title = "absolute error against n: mean over the jobs (seeds) at each n; dots: single jobs"
    return plots._save(fig, path, title)


def _swept_besides_n(rows, n_column: str) -> list[str]:
    """Overrides (or MLflow params) that vary among jobs of the same n, seeds aside: the
    jobs a mean must not pool. One that moves with n (experiment.m) is not one of them."""
    found = []
    for column in rows.columns:
        if not column.startswith(("override.", "param.")):
            continue
        key = column.split(".", 1)[1]
        if key.endswith("seed") or key == n_column:
            continue
        if rows.groupby(n_column)[column].nunique(dropna=False).max() > 1:
            found.append(column)
    return found


def _from_results(record: dict) -> dict[str, Any]:
    row = {k: record.get(k) for k in ("model", "n", "loglik", "aic", "bic", "k", "converged")}
    row["ks"] = (record.get("gof") or {}).get("ks")
    row["data.sha1"] = (record.get("data") or {}).get("sha1")
    for name, p in record.get("params", {}).items():
        row[f"estimate.{name}"] = p.get("estimate")
        row[f"se.{name}"] = p.get("se")
        if p.get("truth") is not None:
            row[f"truth.{name}"] = p["truth"]
            if p.get("estimate") is not None:
                row[f"error.{name}"] = p["estimate"] - p["truth"]
    return row


def _from_study(record: dict) -> dict[str, Any]:
    row = {"model": record.get("model"), "study": "convergence"}
    for slope in record.get("slopes", []):
        row[f"slope.{slope['parameter']}"] = slope["slope"]
    return row


def _from_ranking(record: dict) -> dict[str, Any]:
    """A study=rank job: its winner and how clearly it won (the runner-up's AIC gap)."""
    rows = [r for r in record.get("ranking", []) if r.get("rank") is not None]
    row: dict[str, Any] = {"study": "rank", "n": record.get("n"), "best": record.get("best"),
                           "fitted": len(rows), "failed": len(record.get("failed") or {}),
                           "data.sha1": (record.get("data") or {}).get("sha1")}  # fmt: skip
    if rows:
        row.update(best_aic=rows[0].get("aic"), best_weight=rows[0].get("akaike_weight"))
    if len(rows) > 1:
        row.update(runner_up=rows[1].get("dist"), runner_up_delta_aic=rows[1].get("delta_aic"))
    return row


def _parse_overrides(overrides: list[str]) -> dict[str, Any]:
    parsed = {}
    for item in overrides:
        key, _, value = item.lstrip("+~").partition("=")
        parsed[f"override.{key}"] = _number(value)
    return parsed


def _number(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if number.is_integer() and "." not in str(value) else number


def _job_key(path: Path):
    return (0, int(path.name)) if path.name.isdigit() else (1, path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m runner.report",
        description="One table (report.csv, report.md) and plots for a sweep.",
    )
    parser.add_argument("path", nargs="?", help="a multirun folder (outputs/multirun/DATE/TIME)")
    parser.add_argument("--experiment", help="an MLflow experiment name, instead of a folder")
    parser.add_argument("--tracking-uri", help="MLflow store (default: as the runner's)")
    parser.add_argument("--out", help="where to write (default: the folder, or outputs/reports)")
    args = parser.parse_args(argv)
    if bool(args.path) == bool(args.experiment):
        parser.error("give a multirun folder or --experiment NAME (one of them)")
    if args.path:
        folder = Path(args.path)
        if not folder.is_dir():
            print(f"error: {folder} is not a folder", file=sys.stderr)
            return 1
        frame, out, title = from_folder(folder), Path(args.out or folder), f"Sweep {folder}"
    else:
        from runner.errors import RunnerError

        try:
            frame = from_experiment(args.experiment, args.tracking_uri)
        except RunnerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        out = Path(args.out or Path("outputs") / "reports" / args.experiment)
        title = f"MLflow experiment {args.experiment}"
    written = write(frame, out, title)
    print(f"{len(frame)} job(s); wrote " + ", ".join(str(p) for p in written))
    return 0


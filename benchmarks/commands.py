"""Wall time of the everyday commands, as ratios against what they must import anyway.

Issue 13's targets, measured in one run on one machine (commands interleaved, so a busy
spell hits every row alike; medians of ``--repeats``):

* quick start: ``python -m runner model=gaussian n=1000`` (default tracking and plots)
  against ``python -c "import hydra, scipy.stats, mlflow"`` (target: at most 1.3x);
  ``tracking=none`` against ``import hydra, scipy.stats`` (target: at most 1.1x);
* sweeps: a 24-job multirun of quick fits with the basic launcher and with joblib
  (``n_jobs=2``): joblib's speed-up (target: at least 1.5x) and the basic sweep's cost per
  extra job beyond its fit (target: at most 0.15 s), the slope between a 12- and a
  24-job sweep less the jobs' own ``wall_time`` (results.json).

Each command runs in a fresh folder (its own ``outputs/`` and MLflow store, as a newcomer
has). Run from the repository root:

    python benchmarks/commands.py                  # everything, 5 repeats
    python benchmarks/commands.py --only quick --repeats 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PY = sys.executable
QUICK_START = [PY, "-m", "runner", "model=gaussian", "n=1000"]
WORKER_OFF = {"RUNNER_TRACKING_WORKER": "0"}


@dataclass(frozen=True)
class Row:
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    again: bool = False  # run in its warm-up folder (an existing store), not a new one


QUICK = {
    "import hydra, scipy.stats, mlflow": Row([PY, "-c", "import hydra, scipy.stats, mlflow"]),
    "quick start, first run (new store)": Row(QUICK_START),
    "quick start (tracking, plots)": Row(QUICK_START, again=True),
    "same, RUNNER_TRACKING_WORKER=0": Row(QUICK_START, WORKER_OFF, again=True),
    "import hydra, scipy.stats": Row([PY, "-c", "import hydra, scipy.stats"]),
    "quick start tracking=none": Row([*QUICK_START, "tracking=none"]),
}
# Quick jobs (4 models x 3 or 6 sizes), tracked, without figures: drawing two PNGs costs
# ~0.3 s a job whatever the launcher, and is not what this measures. The cost of one
# more job is the slope between the 12- and the 24-job sweeps.
MODELS = "model=gaussian,exponential,poisson,gamma"
SWEEP_12 = [PY, "-m", "runner", "-m", MODELS, "n=100,200,500", "plots=false"]
SWEEP_24 = [PY, "-m", "runner", "-m", MODELS, "n=100,200,500,1000,2000,5000", "plots=false"]
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
SWEEPS = {
    "sweep basic (12 jobs)": Row(SWEEP_12),
    "sweep basic (24 jobs)": Row(SWEEP_24),
    "sweep joblib n_jobs=2 (24 jobs)": Row([*SWEEP_24, *JOBLIB]),
}


def timed(row: Row, cwd: Path) -> float:
    """Seconds for one run of ``row`` in ``cwd``."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONPATH": str(Path.cwd()),
           **row.env}  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(row.command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(row.command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def fit_seconds(cwd: Path) -> float:
    """The jobs' own fit time under ``cwd`` (results.json ``wall_time``), summed."""
    return sum(float(json.loads(path.read_text())["wall_time"])
               for path in cwd.glob("outputs/**/results.json"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["quick", "sweeps"], default=None)
    args = parser.parse_args()
    rows: dict[str, Row] = {}
    if args.only in (None, "quick"):
        rows.update(QUICK)
    if args.only in (None, "sweeps"):
        rows.update(SWEEPS)
    times: dict[str, list[float]] = {name: [] for name in rows}
    fits: dict[str, list[float]] = {name: [] for name in rows}
    with tempfile.TemporaryDirectory() as root:
        homes = {name: Path(tempfile.mkdtemp(dir=root)) for name in rows}
        for name, row in rows.items():  # warm the file cache (not timed)
            timed(row, homes[name])
        for _ in range(args.repeats):
            for name, row in rows.items():
                cwd = homes[name] if row.again else Path(tempfile.mkdtemp(dir=root))
                times[name].append(timed(row, cwd))
                fits[name].append(fit_seconds(cwd))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"medians of {args.repeats}\n")  # fmt: skip
    print("| command | median (s) | runs (s) |\n|---|---:|---|")
    for name, values in times.items():
        print(f"| {name} | {median[name]:.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    print("\n| target | measured | goal |\n|---|---:|---:|")
    if args.only in (None, "quick"):
        full = median["quick start (tracking, plots)"] / median["import hydra, scipy.stats, mlflow"]
        bare = median["quick start tracking=none"] / median["import hydra, scipy.stats"]
        print(f"| quick start / its imports | {full:.2f}x | <= 1.3x |")
        print(f"| tracking=none / its imports | {bare:.2f}x | <= 1.1x |")
    if args.only in (None, "sweeps"):
        basic, small = median["sweep basic (24 jobs)"], median["sweep basic (12 jobs)"]
        speedup = basic / median["sweep joblib n_jobs=2 (24 jobs)"]
        fitting = statistics.median(fits["sweep basic (24 jobs)"]) - statistics.median(
            fits["sweep basic (12 jobs)"]
        )
        per_job = (basic - small - fitting) / 12
        print(f"| joblib n_jobs=2 speed-up | {speedup:.2f}x | >= 1.5x |")
        print(f"| basic sweep: seconds per extra job beyond its fit | {per_job:.3f} | <= 0.15 |")


if __name__ == "__main__":
    main()

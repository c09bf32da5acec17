"""Wall time of the everyday commands, as ratios against what they must import anyway.

Issue 13's targets, measured in one run on one machine (commands interleaved, so a busy
spell hits every row alike; medians of ``--repeats``):

* quick start: ``python -m runner model=gaussian n=1000`` (default tracking and plots)
  against ``python -c "import hydra, scipy.stats, mlflow"`` (target: at most 1.3x);
  ``tracking=none`` against ``import hydra, scipy.stats`` (target: at most 1.1x);
* sweeps: a 24-job multirun of quick fits with the basic launcher and with joblib
  (``n_jobs=2``): joblib's speed-up (target: at least 1.5x) and the basic sweep's cost per
  job beyond one fit (target: at most 0.15 s; "one fit" = its own ``wall_time`` in
  results.json).

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
from pathlib import Path

PY = sys.executable
QUICK = {
    "import hydra, scipy.stats, mlflow": [PY, "-c", "import hydra, scipy.stats, mlflow"],
    "quick start, first run (new store)": [PY, "-m", "runner", "model=gaussian", "n=1000"],
    "quick start (tracking, plots)": [PY, "-m", "runner", "model=gaussian", "n=1000"],
    "same, RUNNER_TRACKING_WORKER=0": [PY, "-m", "runner", "model=gaussian", "n=1000"],
    "import hydra, scipy.stats": [PY, "-c", "import hydra, scipy.stats"],
    "quick start tracking=none": [PY, "-m", "runner", "model=gaussian", "n=1000",
                                  "tracking=none"],
}  # fmt: skip
# 24 quick jobs (4 models x 6 sizes), tracked, without figures: drawing two PNGs costs
# ~0.3 s a job whatever the launcher, and is not what this measures.
SWEEP = ["-m", "model=gaussian,exponential,poisson,gamma", "n=100,200,500,1000,2000,5000",
         "plots=false"]
SWEEPS = {
    "sweep basic (24 jobs)": [PY, "-m", "runner", *SWEEP],
    "sweep joblib n_jobs=2 (24 jobs)": [PY, "-m", "runner", *SWEEP, "hydra/launcher=joblib",
                                        "hydra.launcher.n_jobs=2"],
}  # fmt: skip


# Rows run again in the folder of their warm-up run (an existing MLflow store, as on
# every run after a user's first); the others get a new folder each time.
AGAIN = ("quick start (tracking, plots)", "same, RUNNER_TRACKING_WORKER=0")


def timed(command: list[str], root: Path, cwd: Path | None = None,
          worker: bool = True) -> tuple[float, Path]:  # fmt: skip
    """Seconds for one run of ``command`` in ``cwd`` (default: a new folder under ``root``)."""
    cwd = cwd or Path(tempfile.mkdtemp(dir=root))
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONPATH": str(Path.cwd()),
           "RUNNER_TRACKING_WORKER": "1" if worker else "0"}  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds, cwd


def fit_seconds(cwd: Path) -> list[float]:
    """Each job's own fit time (results.json ``wall_time``) under ``cwd``."""
    times = []
    for path in cwd.glob("outputs/**/results.json"):
        record = json.loads(path.read_text())
        times.append(float(record.get("fit", record).get("wall_time") or 0.0))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["quick", "sweeps"], default=None)
    args = parser.parse_args()
    commands = {}
    if args.only in (None, "quick"):
        commands.update(QUICK)
    if args.only in (None, "sweeps"):
        commands.update(SWEEPS)
    times: dict[str, list[float]] = {name: [] for name in commands}
    fits: list[float] = []
    with tempfile.TemporaryDirectory() as root:
        homes = {}
        for name, command in commands.items():  # warm the file cache (not timed)
            homes[name] = timed(command, Path(root), worker="=0" not in name)[1]
        for _ in range(args.repeats):
            for name, command in commands.items():
                home = homes[name] if name in AGAIN else None
                seconds, cwd = timed(command, Path(root), home, worker="=0" not in name)
                times[name].append(seconds)
                if name.startswith("sweep basic"):
                    fits.append(sum(fit_seconds(cwd)))
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
        basic = median["sweep basic (24 jobs)"]
        speedup = basic / median["sweep joblib n_jobs=2 (24 jobs)"]
        start = median.get("import hydra, scipy.stats, mlflow")
        per_job = (basic - (start or 0.0) - statistics.median(fits)) / 24
        print(f"| joblib n_jobs=2 speed-up | {speedup:.2f}x | >= 1.5x |")
        what = "beyond start-up imports and fits" if start else "beyond fits (start-up included)"
        print(f"| basic sweep: seconds per job {what} | {per_job:.3f} | <= 0.15 |")


if __name__ == "__main__":
    main()

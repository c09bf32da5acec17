"""Sweeps that resume (``resume=true`` / ``resume=latest``): a killed sweep, run again,
does only what was not done, under the same MLflow parent, and loses and duplicates
nothing.

One real sweep of 24 jobs (a subprocess in a fresh folder, tracked to the SQLite store
under its ``outputs/``): four models fitted to three CSV files, two seeds each. One file
holds a negative value, so the exponential, poisson and gamma jobs on it FAIL; the sweep
is stopped by Ctrl-C (SIGINT to its process group) once a job has FAILED and several have
FINISHED, leaving a job KILLED and the rest never started. The file is then fixed and the
same command run again with ``resume=latest``: the FAILED, KILLED and missing jobs run,
and so do the gaussian jobs on the fixed file (FINISHED, but their data changed); every
other FINISHED job is skipped, untouched.

No timing is assumed: the signal is sent once the ``status.json`` files (polled) say
enough, and what the sweep had done by then is read back from disk and MLflow rather
than predicted. The refusals and the fingerprint are checked in-process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import STALL_SECONDS, clean_env, run_python

EXPERIMENT = "mle-runner"
GRID = ["model=gaussian,exponential,poisson,gamma", "data=csv", "data.path=a.csv,b.csv,c.csv",
        "data.column=v", "seed=0,1", "plots=false"]  # fmt: skip
JOBS = 24
FILES = {"a.csv": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3], "b.csv": [2, 7, -1, 8, 2, 8],
         "c.csv": [1, 6, 1, 8, 3, 3, 9, 8, 8]}  # fmt: skip
FIXED = [2, 7, 1, 8, 2, 8]  # b.csv without its negative value
STOP_AFTER = 6  # FINISHED jobs (and one FAILED) before Ctrl-C: gaussian's six come first


# ---- what a sweep folder and its store hold -------------------------------------------------


def store(cwd: Path) -> str:
    return f"sqlite:///{cwd / 'outputs' / 'mlflow.db'}"


def runs(cwd: Path, view: str = "active"):
    """(parents, children) of the experiment: active runs, or the deleted ones."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store(cwd))
    experiment = client.get_experiment_by_name(EXPERIMENT)
    kind = ViewType.ACTIVE_ONLY if view == "active" else ViewType.DELETED_ONLY
    found = client.search_runs([experiment.experiment_id], run_view_type=kind, max_results=1000)
    parents = [r for r in found if r.data.tags.get("sweep.parent") == "true"]
    return parents, [r for r in found if r.data.tags.get("sweep.parent") != "true"]


def statuses(sweep: Path) -> dict[str, str]:
    """Job folder name -> the status its status.json gives (folders without one left out)."""
    found = {}
    for path in sweep.glob("*/status.json"):
        try:
            found[path.parent.name] = json.loads(path.read_text())["status"]
        except (OSError, ValueError, KeyError):  # being written
            continue
    return found


def stamps(job: Path) -> dict[str, tuple[int, str]]:
    """Every file of a job folder (its .hydra/ too): modification time and content hash."""
    return {p.relative_to(job).as_posix(): (p.stat().st_mtime_ns,
                                            hashlib.sha1(p.read_bytes()).hexdigest())
            for p in sorted(job.rglob("*")) if p.is_file()}  # fmt: skip


def data_file(job: Path) -> str:
    """The CSV a job fitted, from the overrides Hydra saved for it."""
    overrides = (job / ".hydra" / "overrides.yaml").read_text()
    return next(f for f in FILES if f"data.path={f}" in overrides)


def write_csv(path: Path, values: list[int]) -> None:
    path.write_text("v\n" + "\n".join(map(str, values)) + "\n")


def interrupt(cwd: Path) -> subprocess.CompletedProcess:
    """The sweep, stopped as Ctrl-C stops it (SIGINT to its process group) once a job has
    FAILED and STOP_AFTER have FINISHED."""
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "runner", "-m", *GRID], cwd=cwd,
                                env=clean_env(), stdout=stdout, stderr=stderr,
                                start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + STALL_SECONDS  # a hang guard, not a speed test
            while True:
                found = [s for folder in cwd.glob("outputs/multirun/*/*")
                         for s in statuses(folder).values()]  # fmt: skip
                if found.count("FINISHED") >= STOP_AFTER and "FAILED" in found:
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"the sweep ended before the signal:\n{err.read_text()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the sweep made no progress:\n{err.read_text()}")
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=STALL_SECONDS)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.read_text(),
                                       err.read_text())  # fmt: skip


@dataclass
class Resumed:
    """The sweep after Ctrl-C (what it had done, read back), then after resume=latest."""

    cwd: Path
    stopped: subprocess.CompletedProcess
    sweep: Path = field(init=False)
    before: dict[str, str] = field(init=False)  # job -> its status after the interruption
    files: dict[str, dict] = field(init=False)  # FINISHED job -> its files
    children_before: dict[str, tuple[str, str]] = field(init=False)  # run id -> (job, status)
    parent_before: tuple[str, str] = field(init=False)  # (run id, status)
    resumed: subprocess.CompletedProcess | None = None

    def __post_init__(self) -> None:
        (self.sweep,) = (self.cwd / "outputs" / "multirun").glob("*/*")
        self.before = statuses(self.sweep)
        finished = [job for job, status in self.before.items() if status == "FINISHED"]
        self.files = {job: stamps(self.sweep / job) for job in finished}
        parents, children = runs(self.cwd)
        assert len(parents) == 1, self.describe()
        self.parent_before = (parents[0].info.run_id, parents[0].info.status)
        self.children_before = {c.info.run_id: (c.data.tags["sweep.job"], c.info.status)
                                for c in children}  # fmt: skip

    @property
    def kept(self) -> set[str]:
        """The FINISHED jobs whose data did not change: those a resume must skip."""
        return {job for job in self.files if data_file(self.sweep / job) != "b.csv"}

    def describe(self) -> str:
        text = f"--- interrupted (exit {self.stopped.returncode})\n{self.stopped.stderr[-3000:]}"
        if self.resumed is not None:
            text += (f"\n--- resumed (exit {self.resumed.returncode})\n"
                     f"stdout:\n{self.resumed.stdout[-3000:]}\nstderr:\n"
                     f"{self.resumed.stderr[-4000:]}")  # fmt: skip
        return text


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Resumed:
    cwd = tmp_path_factory.mktemp("resume")
    for name, values in FILES.items():
        write_csv(cwd / name, values)
    done = Resumed(cwd, interrupt(cwd))
    write_csv(cwd / "b.csv", FIXED)
    done.resumed = run_python(["-m", "runner", "-m", *GRID, "resume=latest"], cwd)
    return done


# ---- a killed 24-job sweep, resumed ---------------------------------------------------------


def test_the_interrupted_sweep_stopped_part_way(sweep):
    assert sweep.stopped.returncode != 0, sweep.describe()
    assert len(sweep.files) >= STOP_AFTER, sweep.describe()
    assert "FAILED" in sweep.before.values(), sweep.describe()
    assert len(sweep.before) < JOBS, sweep.describe()  # jobs never started: no status
    assert sweep.parent_before[1] == "KILLED", sweep.describe()
    finished = {job for job, status in sweep.children_before.values() if status == "FINISHED"}
    assert finished == set(sweep.files), sweep.describe()
    assert sweep.kept and sweep.kept != set(sweep.files), sweep.describe()  # b.csv's too


def test_resumed_sweep_finishes_every_job_once(sweep):
    done = sweep.resumed
    assert done.returncode == 0, sweep.describe()
    assert "Traceback" not in done.stderr, sweep.describe()
    # resume=latest went back into the same folder: no second sweep folder
    assert list((sweep.cwd / "outputs" / "multirun").glob("*/*")) == [sweep.sweep]
    where = sweep.sweep.relative_to(sweep.cwd)
    assert f"resume=latest: resuming {where}" in done.stderr
    summary = [line for line in done.stderr.splitlines() if line.startswith("sweep: ")]
    assert summary == [f"sweep: {JOBS} job(s), {JOBS} finished ({len(sweep.kept)} skipped: "
                       f"already finished); results in {where}"], sweep.describe()  # fmt: skip
    assert done.stdout.count("skipped: already finished") == len(sweep.kept), sweep.describe()
    assert statuses(sweep.sweep) == {str(job): "FINISHED" for job in range(JOBS)}
    assert not list(sweep.sweep.glob(".resume*"))  # the plan goes when the sweep ends
    # each job that ran says why
    failed = [job for job, status in sweep.before.items() if status == "FAILED"]
    assert done.stdout.count(" again: it was FAILED\n") == len(failed), sweep.describe()
    changed = set(sweep.files) - sweep.kept
    assert sorted(re.findall(r"resume: running job (\d+) again: its data changed since it "
                             r"finished: data.path\n", done.stdout)) == sorted(changed)


def test_mlflow_has_one_parent_with_one_finished_child_per_job(sweep):
    parents, children = runs(sweep.cwd)
    assert [p.info.run_id for p in parents] == [sweep.parent_before[0]], sweep.describe()
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name == f"sweep: model x path x seed ({JOBS} jobs)"
    assert parent.data.tags["sweep.jobs"] == str(JOBS)
    assert parent.data.tags["sweep.skipped"] == str(len(sweep.kept))
    assert parent.data.tags["sweep.resumed"] == "1"
    assert parent.data.metrics["jobs.finished"] == JOBS
    assert parent.data.metrics["jobs.failed"] == 0
    assert len(children) == JOBS
    assert sorted(int(c.data.tags["sweep.job"]) for c in children) == list(range(JOBS))
    assert {c.info.status for c in children} == {"FINISHED"}
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    combos = {(c.data.params["model.name"], c.data.params["data.path"], c.data.params["seed"])
              for c in children}  # fmt: skip
    assert len(combos) == JOBS
    assert not any("resume" in c.data.params for c in children)
    record = json.loads((sweep.sweep / "sweep.json").read_text())
    assert record["parent_run_id"] == parent.info.run_id
    assert len(record["resumed"]) == 1


def test_finished_jobs_are_untouched_and_the_rest_ran_again(sweep):
    _, children = runs(sweep.cwd)
    now = {c.data.tags["sweep.job"]: c.info.run_id for c in children}
    before = {job: run for run, (job, _) in sweep.children_before.items()}
    for job in sweep.kept:
        assert now[job] == before[job], f"job {job}'s MLflow run was replaced"
        assert stamps(sweep.sweep / job) == sweep.files[job], f"job {job}'s folder changed"
    for job in set(now) - sweep.kept:
        assert now[job] not in sweep.children_before, f"job {job} was not run again"
    # The runs of the attempts that were replaced are retired (soft-deleted), each
    # pointing at the run that replaced it: one child per job stays.
    _, deleted = runs(sweep.cwd, view="deleted")
    replaced = {run for run, (job, _) in sweep.children_before.items() if job not in sweep.kept}
    assert {r.info.run_id for r in deleted} == replaced
    for run in deleted:
        job = sweep.children_before[run.info.run_id][0]
        assert run.data.tags["sweep.superseded_by"] == now[job]
    # what defines each job, as the report reads it: resume=latest is no part of it
    for job in range(JOBS):
        overrides = (sweep.sweep / str(job) / ".hydra" / "overrides.yaml").read_text()
        assert "resume" not in overrides, (job, overrides)
    import pandas as pd

    report = pd.read_csv(sweep.sweep / "report.csv")
    assert len(report) == JOBS
    assert not [c for c in report.columns if "resume" in c]


# ---- in-process: refusals, resume=latest's choice, the fingerprint ------------------------


def _config(tmp_path: Path, task: list[str], resume=True, given: bool = True,
            sweep: str = "outputs/multirun/2026-01-02/03-04-05"):  # fmt: skip
    from omegaconf import OmegaConf

    sweep_dir = str(tmp_path / sweep)
    hydra_overrides = [f"hydra.sweep.dir={sweep_dir}"] if given else []
    overrides = {"hydra": hydra_overrides, "task": task}
    config = OmegaConf.create(
        {"resume": resume, "hydra": {"sweep": {"dir": sweep_dir}, "overrides": overrides}}
    )
    OmegaConf.set_readonly(config.hydra, True)  # as Hydra hands it to callbacks
    return config


def _record(folder: Path, overrides: list[str]) -> None:
    from runner.jobs import resume

    folder.mkdir(parents=True)
    resume.write_record(folder, {"overrides": overrides})


def test_a_folder_holding_another_sweep_is_refused(tmp_path, capsys):
    from runner.jobs import resume

    config = _config(tmp_path, ["model=a,b", "resume=true"])
    _record(Path(config.hydra.sweep.dir), ["model=a,b,c"])
    with pytest.raises(SystemExit) as stop:
        resume.choose(config, True, list(config.hydra.overrides.task))
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "holds the sweep `model=a,b,c`, not `model=a,b`" in err
    # where results go is no part of the sweep: tracking overrides may come and go
    same = _config(tmp_path, ["model=a,b,c", "tracking=none", "resume=true"])
    _, record = resume.choose(same, True, list(same.hydra.overrides.task))
    assert record["overrides"] == ["model=a,b,c"]


def test_resume_true_without_a_folder_says_how(tmp_path, capsys):
    from runner.jobs import resume

    config = _config(tmp_path, ["model=a,b", "resume=true"], given=False)
    with pytest.raises(SystemExit):
        resume.choose(config, True, ["model=a,b", "resume=true"])
    assert "Add hydra.sweep.dir=outputs/multirun/DATE/TIME" in capsys.readouterr().err
    # A folder that is named but empty: the sweep starts there.
    named = _config(tmp_path, ["model=a,b", "resume=true"], sweep="outputs/multirun/mine")
    assert resume.choose(named, True, ["model=a,b"]) == (Path(named.hydra.sweep.dir), None)


def test_resume_latest_picks_the_newest_sweep_with_the_same_overrides(tmp_path):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from runner.jobs import resume

    root = tmp_path / "outputs" / "multirun"
    _record(root / "2026-01-01" / "09-00-00", ["model=a,b"])
    _record(root / "2026-01-02" / "08-00-00", ["model=a,b"])
    _record(root / "2026-01-02" / "10-00-00", ["model=a,b,c"])  # newer, another sweep
    config = _config(tmp_path, ["model=a,b", "resume=latest"], resume="latest", given=False)
    folder, record = resume.choose(config, "latest", ["model=a,b", "resume=latest"])
    assert folder == root / "2026-01-02" / "08-00-00"
    assert record["overrides"] == ["model=a,b"]
    # Hydra is pointed there: the sweeper's folder, and each job's recomposed config
    assert config.hydra.sweep.dir == str(folder)
    (override,) = OverridesParser.create().parse_overrides([config.hydra.overrides.hydra[-1]])
    assert (override.key_or_group, override.value()) == ("hydra.sweep.dir", str(folder))


def test_a_resume_value_is_checked_before_any_job(tmp_path, capsys):
    from runner.jobs import resume

    with pytest.raises(SystemExit):
        resume.mode(_config(tmp_path, ["resume=soon"], resume="soon"), ["resume=soon"])
    assert "resume = 'soon': expected true, false or latest" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        resume.mode(_config(tmp_path, ["resume=true,false"]), ["resume=true,false"])
    assert resume.mode(_config(tmp_path, [], resume=False), []) is False


def test_a_single_run_with_resume_is_one_clear_error(tmp_path, capsys):
    from helpers import compose_config

    from runner.jobs.launch import execute

    cfg = compose_config("resume=true", "tracking=none", "n=10")
    assert execute(cfg, tmp_path / "run", "gaussian", {}, in_sweep=False) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: resume=true resumes a sweep: run the sweep's command again")
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "FAILED"


def test_the_fingerprint_follows_config_and_data_not_tracking(tmp_path):
    import dataclasses

    from runner.jobs.config import RunnerConfig
    from runner.jobs.resume import fingerprint

    data = tmp_path / "x.csv"
    data.write_text("v\n1\n2\n")
    spec = RunnerConfig()
    spec.data.path = str(data)
    base = fingerprint(spec)
    elsewhere = dataclasses.replace(spec, resume=True)
    elsewhere.tracking = dataclasses.replace(spec.tracking, uri="http://elsewhere:5000")
    assert fingerprint(elsewhere) == base
    assert fingerprint(dataclasses.replace(spec, n=11))["config"] != base["config"]
    data.write_text("v\n1\n3\n")
    assert fingerprint(spec)["data"] != base["data"]
    assert fingerprint(spec)["config"] == base["config"]
    data.unlink()
    assert fingerprint(spec)["data"] == {"data.path": "missing"}


def test_a_sweep_tracked_elsewhere_is_resumed_there_or_not_at_all(tmp_path, capsys):
    from omegaconf import OmegaConf

    from runner.jobs import resume
    from runner.jobs.sweep import SweepCallback

    config = _config(tmp_path, ["model=a,b", "resume=true"])
    folder = Path(config.hydra.sweep.dir)
    folder.mkdir(parents=True)
    resume.write_record(folder, {"overrides": ["model=a,b"], "parent_run_id": "0" * 32,
                                 "tracking_uri": "http://tracking.example:5000"})  # fmt: skip
    here = f"sqlite:///{tmp_path / 'here.db'}"
    config = OmegaConf.merge(config, {"tracking": {"enabled": True, "uri": here,
                                                   "experiment": "e"}})  # fmt: skip
    with pytest.raises(SystemExit):
        SweepCallback().on_multirun_start(config)
    err = capsys.readouterr().err
    assert "was tracked at http://tracking.example:5000, not sqlite:///" in err
    assert "resume it with tracking.uri=http://tracking.example:5000" in err
    assert not (tmp_path / "here.db").exists()  # refused before any store was touched

"""Sweeps (``python -m runner -m ...``) in MLflow: one parent run per sweep, one child per job.

Each sweep is a subprocess in a fresh folder (no MLFLOW_TRACKING_URI inherited), started
once per module by a fixture; the tests read what it left behind: exit status, stderr, the
job folders under ``outputs/multirun/DATE/TIME`` and the MLflow store. The sweep callback
itself (runner/sweep.py) is also driven in-process, for the paths a subprocess cannot
reach cheaply (the ``atexit`` guard).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import STALL_SECONDS, clean_env, run_python

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = "mle-runner"
PARENT_KEYS = ("RUNNER_MLFLOW_PARENT_RUN_ID", "RUNNER_MLFLOW_PARENT_URI")


@dataclass(repr=False)
class Sweep:
    args: list[str]
    cwd: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def folder(self) -> Path:
        """The multirun folder (outputs/multirun/DATE/TIME): exactly one per sweep."""
        found = sorted((self.cwd / "outputs" / "multirun").glob("*/*"))
        assert len(found) == 1, f"expected one multirun folder, found {found}\n{self}"
        return found[0]

    def jobs(self) -> dict[str, Path]:
        """Job number -> job folder."""
        return {p.name: p for p in self.folder.iterdir() if p.is_dir()}

    def job_overrides(self) -> dict[str, list[str]]:
        return {name: _yaml(job / ".hydra" / "overrides.yaml") for name, job in self.jobs().items()}

    def __str__(self) -> str:
        return (
            f"$ python -m runner {' '.join(self.args)}   (exit {self.returncode}, "
            f"{self.seconds:.1f} s)\n--- stdout (tail)\n{self.stdout[-3000:]}"
            f"--- stderr\n{self.stderr[-5000:]}"
        )


def _yaml(path: Path):
    import yaml

    return yaml.safe_load(path.read_text())


env = clean_env


def run_sweep(args: list[str], cwd: Path, **extra_env: str) -> Sweep:
    start = time.monotonic()
    proc = run_python(["-m", "runner", "-m", *args], cwd, **extra_env)
    return Sweep(args, cwd, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def client_for(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def local_store(cwd: Path) -> str:
    return f"sqlite:///{cwd / 'outputs' / 'mlflow.db'}"


def parent_and_children(client, experiment: str = EXPERIMENT):
    """The experiment's runs split into sweep parents and the others."""
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("sweep.parent") == "true"]
    children = [r for r in runs if r.data.tags.get("sweep.parent") != "true"]
    return parents, children


def summary_line(sweep: Sweep) -> str:
    lines = [line for line in sweep.stderr.splitlines() if line.startswith("sweep: ")]
    assert len(lines) == 1, str(sweep)
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- every subprocess at once -----------------------------------------------------------
# The sweeps below are independent: they start together, the first time a test asks for
# one, so the module costs about as long as its slowest sweep instead of their sum.


class Server:
    """``mlflow server`` on a free local port, backed by SQLite in a tmp folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "server.log"
        mlflow = Path(sys.executable).with_name("mlflow")
        command = [str(mlflow)] if mlflow.exists() else [sys.executable, "-m", "mlflow"]
        command += [
            "server",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--workers", "1",
            "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
            "--default-artifact-root", str(folder / "artifacts"),
        ]  # fmt: skip
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            command,
            cwd=folder,
            env=env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its workers
        )

    def wait(self, timeout: float = 90) -> None:
        """Until /health answers; an error with the server's log if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.flush()
                raise RuntimeError(
                    f"mlflow server did not answer on {self.uri} (exit {self.proc.poll()}):\n"
                    + self.log_path.read_text()[-3000:]
                )
            time.sleep(0.25)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=3)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:  # uvicorn takes its time: no need to wait for it
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
        finally:
            self.log.close()


@dataclass
class Interrupted:
    """A long sweep stopped by a signal once its first jobs were done."""

    cwd: Path
    signum: int
    returncode: int
    stderr: str

    def __str__(self) -> str:
        return (
            f"sweep stopped by {signal.Signals(self.signum).name}: exit {self.returncode}\n"
            + (self.stderr[-3000:])
        )


# Enough jobs to be still running when the signal comes; few enough that Hydra's check of
# every job's config before the first starts stays short.
LONG = ["model=gaussian", "n=10", "seed=range(0,60)", "plots=false"]


def interrupt(cwd: Path, signum: int) -> Interrupted:
    err_path = cwd / "stderr.txt"  # a file, not a pipe nobody reads while the sweep runs
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runner", "-m", *LONG],
            cwd=cwd,
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + STALL_SECONDS  # a hang guard, not a speed test
            # Job 1 done: the parent run and two children are in the store.
            while not list(cwd.glob("outputs/multirun/*/*/1/status.json")):
                if proc.poll() is not None:
                    raise RuntimeError(f"ended before the signal:\n{err_path.read_text()}")
                if time.monotonic() > deadline:
                    raise RuntimeError("the sweep did not start")
                time.sleep(0.1)
            proc.send_signal(signum)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return Interrupted(cwd, signum, proc.returncode, err_path.read_text())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A tracking server (started here, waited for by the sweep that uses it)."""
    running = Server(tmp_path_factory.mktemp("server"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def launched(server, tmp_path_factory):
    """Name -> future of every subprocess sweep of this module, all started at once."""

    def fresh(name: str) -> Path:
        cwd = tmp_path_factory.mktemp(name)
        assert not (cwd / "outputs").exists()
        return cwd

    def served() -> Sweep:
        cwd = fresh("served")
        server.wait()
        return run_sweep(SERVED, cwd, MLFLOW_TRACKING_URI=server.uri)

    pool = ThreadPoolExecutor(max_workers=6)
    try:
        yield {
            "served": pool.submit(served),
            "parallel": pool.submit(run_sweep, PARALLEL, fresh("parallel")),
            "basic": pool.submit(run_sweep, BASIC, fresh("basic")),
            "bad": pool.submit(run_sweep, BAD, fresh("bad")),
            "SIGTERM": pool.submit(interrupt, fresh("sigterm"), signal.SIGTERM),
            "SIGINT": pool.submit(interrupt, fresh("sigint"), signal.SIGINT),
        }
    finally:
        pool.shutdown(wait=True)  # before the server stops


# ---- 1. nested runs with the basic launcher ---------------------------------------------

BASIC = ["model=gaussian,poisson", "n=10,100", "seed=0,1", "plots=false"]


@pytest.fixture(scope="module")
def basic(launched) -> Sweep:
    return launched["basic"].result()


def test_basic_sweep_succeeds_and_says_so(basic):
    assert basic.returncode == 0, str(basic)
    assert "Traceback" not in basic.stderr, str(basic)
    assert summary_line(basic).startswith("sweep: 8 job(s), 8 finished"), str(basic)
    assert "FAILED" not in summary_line(basic)
    assert sorted(basic.jobs(), key=int) == [str(i) for i in range(8)]
    for name, job in basic.jobs().items():
        assert (job / "results.json").is_file(), name
        assert json.loads((job / "status.json").read_text())["status"] == "FINISHED", name


def test_basic_sweep_one_parent_with_eight_children(basic):
    assert basic.returncode == 0, str(basic)
    client = client_for(local_store(basic.cwd))
    parents, children = parent_and_children(client)

    assert len(parents) == 1, [p.data.tags for p in parents]
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["sweep.dir"] == str(basic.folder.resolve())
    assert parent.data.tags["sweep.jobs"] == "8"
    assert parent.data.tags["sweep.failed"] == "0"
    assert "mlflow.parentRunId" not in parent.data.tags

    assert len(children) == 8
    assert sorted(int(c.data.tags["sweep.job"]) for c in children) == list(range(8))
    overrides = basic.job_overrides()
    seen = set()
    for child in children:
        tags, params = child.data.tags, child.data.params
        job = tags["sweep.job"]
        assert tags["mlflow.parentRunId"] == parent.info.run_id, job
        assert child.info.status == "FINISHED", job
        # sweep.overrides is the job's override_dirname: its own overrides, sorted.
        assert tags["sweep.overrides"] == ",".join(sorted(overrides[job])), job
        given = dict(item.split("=", 1) for item in overrides[job])
        assert params["model.name"] == given["model"], job
        assert params["n"] == given["n"], job
        assert params["seed"] == given["seed"], job
        assert tags["model"] == given["model"], job
        assert Path(tags["run_dir"]) == (basic.folder / job).resolve(), job
        assert "loglik" in child.data.metrics, job
        seen.add((given["model"], given["n"], given["seed"]))
    assert seen == {(m, n, s) for m in ("gaussian", "poisson") for n in ("10", "100") for s in "01"}


# ---- 2. a bad job does not sink the sweep -----------------------------------------------

BAD = ["model=beta,gaussian", "data=inline", "data.values=[0.2,0.5,1.5,0.3]", "plots=false"]


@pytest.fixture(scope="module")
def bad(launched) -> Sweep:
    return launched["bad"].result()


def _job_of_model(sweep: Sweep, model: str) -> str:
    found = [job for job, items in sweep.job_overrides().items() if f"model={model}" in items]
    assert len(found) == 1, sweep.job_overrides()
    return found[0]


def test_bad_job_fails_the_sweep_with_one_line(bad):
    assert bad.returncode != 0, str(bad)
    assert "Traceback" not in bad.stderr, str(bad)
    line = summary_line(bad)
    assert line.startswith("sweep: 2 job(s), 1 finished, 1 FAILED"), line
    assert "outside the support of beta" in line
    assert f"job {_job_of_model(bad, 'beta')}" in line


def test_bad_job_folders(bad):
    failed = bad.jobs()[_job_of_model(bad, "beta")]
    status = json.loads((failed / "status.json").read_text())
    assert status["status"] == "FAILED"
    assert "outside the support of beta" in status["error"]
    assert (failed / ".hydra" / "config.yaml").is_file()
    assert (failed / ".hydra" / "overrides.yaml").is_file()
    assert not (failed / "results.json").exists()

    good = bad.jobs()[_job_of_model(bad, "gaussian")]
    assert json.loads((good / "status.json").read_text())["status"] == "FINISHED"
    record = json.loads((good / "results.json").read_text())
    assert record["model"] == "gaussian"
    assert record["n"] == 4


def test_bad_job_is_a_failed_child_and_the_parent_is_failed(bad):
    client = client_for(local_store(bad.cwd))
    parents, children = parent_and_children(client)
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FAILED"  # closed, not left RUNNING
    assert parent.data.tags["sweep.jobs"] == "2"
    assert parent.data.tags["sweep.failed"] == "1"

    assert len(children) == 2
    by_model = {c.data.params["model.name"]: c for c in children}
    assert set(by_model) == {"beta", "gaussian"}
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id

    beta = by_model["beta"]
    assert beta.info.status == "FAILED"
    assert "outside the support of beta" in beta.data.tags["error"]
    assert beta.data.tags["sweep.job"] == _job_of_model(bad, "beta")
    assert beta.data.metrics == {}

    gaussian = by_model["gaussian"]
    assert gaussian.info.status == "FINISHED"
    assert "error" not in gaussian.data.tags
    record = json.loads((bad.jobs()[_job_of_model(bad, "gaussian")] / "results.json").read_text())
    assert gaussian.data.metrics["loglik"] == pytest.approx(record["loglik"])
    assert gaussian.data.metrics["estimate.mu"] == pytest.approx(record["params"]["mu"]["estimate"])


# ---- 3. the parallel launcher on a fresh store ------------------------------------------
# Eight jobs, two at a time, all racing to a store that does not exist yet: enough for the
# race (the first two jobs start together on the empty folder), small enough that a busy
# machine finishes it.

PARALLEL = [
    "hydra/launcher=joblib",
    "hydra.launcher.n_jobs=2",
    "model=gaussian,poisson",
    "n=10,1000",
    "seed=0,1",
    "plots=false",
]
PARALLEL_JOBS = 8


@pytest.fixture(scope="module")
def parallel(launched) -> Sweep:
    return launched["parallel"].result()


def test_parallel_sweep_on_a_fresh_store(parallel):
    assert parallel.returncode == 0, str(parallel)
    assert "Traceback" not in parallel.stderr, str(parallel)
    assert "warning" not in parallel.stderr.lower(), str(parallel)
    jobs_line = f"sweep: {PARALLEL_JOBS} job(s), {PARALLEL_JOBS} finished"
    assert summary_line(parallel).startswith(jobs_line), str(parallel)

    jobs = parallel.jobs()
    assert sorted(jobs, key=int) == [str(i) for i in range(PARALLEL_JOBS)]
    for name, job in jobs.items():
        assert (job / "results.json").is_file(), name
        assert json.loads((job / "status.json").read_text())["status"] == "FINISHED", name

    client = client_for(local_store(parallel.cwd))
    parents, children = parent_and_children(client)
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["sweep.jobs"] == str(PARALLEL_JOBS)
    assert len(children) == PARALLEL_JOBS
    assert sorted(int(c.data.tags["sweep.job"]) for c in children) == list(range(PARALLEL_JOBS))
    for child in children:
        assert child.info.status == "FINISHED", child.data.tags
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    combos = {(c.data.params["model.name"], c.data.params["n"], c.data.params["seed"])
              for c in children}  # fmt: skip
    assert len(combos) == PARALLEL_JOBS


# ---- 4. launcher configs compose, and their plugins import ------------------------------


def _compose_launcher(name: str):
    from helpers import compose_config

    return compose_config(f"hydra/launcher={name}", hydra=True)


@pytest.mark.parametrize(
    ("launcher", "target"),
    [
        ("joblib", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
        ("submitit_slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
        ("submitit_local", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"),
    ],
)
def test_launcher_config_composes_and_imports(launcher, target):
    from hydra.utils import get_class

    cfg = _compose_launcher(launcher)
    assert cfg.hydra.launcher._target_ == target
    assert get_class(cfg.hydra.launcher._target_).__name__ == target.rsplit(".", 1)[1]
    # The runner's own config is intact next to it.
    assert cfg.hydra.callbacks.sweep._target_ == "runner.jobs.sweep.SweepCallback"
    assert cfg.model.name == "gaussian"


def test_ray_launcher_config_composes_and_imports():
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    from hydra.utils import get_class

    cfg = _compose_launcher("ray")
    target = cfg.hydra.launcher._target_
    assert target.startswith("hydra_plugins.hydra_ray_launcher.")
    assert target.endswith("RayLauncher")
    assert get_class(target).__name__ == "RayLauncher"


# ---- 5. a real tracking server, end to end ----------------------------------------------


SERVED = ["model=gaussian,gamma", "n=100", "optimizer=newton"]


@pytest.fixture(scope="module")
def served(launched) -> Sweep:
    return launched["served"].result()


def test_sweep_against_a_tracking_server(server, served):
    uri = server.uri
    assert served.returncode == 0, str(served)
    assert "Traceback" not in served.stderr, str(served)
    assert summary_line(served).startswith("sweep: 2 job(s), 2 finished"), str(served)
    assert not (served.cwd / "outputs" / "mlflow.db").exists()  # the server's store, not ours

    client = client_for(uri)
    parents, children = parent_and_children(client)
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["sweep.jobs"] == "2"
    assert parent.data.tags["sweep.dir"] == str(served.folder.resolve())

    assert len(children) == 2
    by_model = {c.data.params["model.name"]: c for c in children}
    assert set(by_model) == {"gaussian", "gamma"}
    for model, child in by_model.items():
        run_id = child.info.run_id
        assert child.info.status == "FINISHED", model
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id, model
        assert child.data.params["n"] == "100"
        assert child.data.params["optimizer.name"] == "newton"
        record = json.loads(
            (served.folder / child.data.tags["sweep.job"] / "results.json").read_text()
        )
        assert child.data.metrics["loglik"] == pytest.approx(record["loglik"]), model
        for name, p in record["params"].items():
            assert child.data.metrics[f"estimate.{name}"] == pytest.approx(p["estimate"])
        history = client.get_metric_history(run_id, "trace/loglik")
        assert len(history) >= 1, model
        assert [m.step for m in history] == sorted(m.step for m in history)
        artifacts = {f.path for f in client.list_artifacts(run_id)}
        assert "results.json" in artifacts, (model, artifacts)
        assert "config" in artifacts, (model, artifacts)

    assert "estimate.mu" in by_model["gaussian"].data.metrics
    # Newton climbs from a moment start for the gamma: several steps, loglik never down.
    history = client.get_metric_history(by_model["gamma"].info.run_id, "trace/loglik")
    assert len({m.step for m in history}) > 1
    values = [m.value for m in sorted(history, key=lambda m: m.step)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(values))

    # The artifact really is the job's results.json.
    gamma = by_model["gamma"]
    local = client.download_artifacts(gamma.info.run_id, "results.json", str(served.cwd))
    job = served.folder / gamma.data.tags["sweep.job"]
    assert json.loads(Path(local).read_text()) == json.loads((job / "results.json").read_text())
    # (An unreachable server is covered by tests/test_cli.py: fails fast, keeps results.json.)


# ---- 6. interruption leaves no RUNNING parent -------------------------------------------
# The callback in-process, on one SQLite store for the module (a fresh schema costs a
# second or two); each test has its own experiment in it.


@pytest.fixture(scope="module")
def callback_store(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('callback') / 'x.db'}"


@dataclass
class Started:
    callback: object
    config: object
    uri: str
    experiment: str
    registered: list  # what the callback handed to atexit.register: (func, args, kwargs)

    @property
    def sweep_dir(self) -> Path:
        return Path(self.config.hydra.sweep.dir)

    def parent(self):
        parents, children = parent_and_children(client_for(self.uri), self.experiment)
        assert len(parents) == 1
        assert children == []
        return parents[0]

    def run_atexit(self) -> None:
        for func, args, kwargs in self.registered:
            func(*args, **kwargs)


def _callback_config(tmp_path: Path, uri: str, experiment: str, enabled: bool = True):
    from omegaconf import OmegaConf

    sweep_dir = tmp_path / "multirun" / "2024-01-01" / "00-00-00"
    sweep_dir.mkdir(parents=True)
    return OmegaConf.create(
        {
            "tracking": {
                "enabled": enabled,
                "uri": uri,
                "experiment": experiment,
                "required": True,
            },
            "hydra": {"sweep": {"dir": str(sweep_dir)}, "overrides": {"task": ["n=10,100"]}},
        }
    )


def _write_status(sweep_dir: Path, job: str, status: str, error: str | None = None) -> None:
    (sweep_dir / job).mkdir()
    (sweep_dir / job / "status.json").write_text(json.dumps({"status": status, "error": error}))


@pytest.fixture
def started(tmp_path, monkeypatch, callback_store, request) -> Started:
    """A SweepCallback after on_multirun_start, with its atexit guard captured (not left
    registered with the interpreter) and its environment variables undone afterwards."""
    import atexit

    import mlflow.tracking  # noqa: F401  (imported before atexit.register is patched)

    from runner.jobs.sweep import SweepCallback

    # The callback sets the parent's variables, the client a few MLflow ones: undone after.
    monkeypatch.setattr(os, "environ", os.environ.copy())
    for key in PARENT_KEYS:
        os.environ.pop(key, None)
    registered = []
    real = atexit.register

    def register(func, *args, **kwargs):
        if isinstance(getattr(func, "__self__", None), SweepCallback):
            registered.append((func, args, kwargs))
            return func
        return real(func, *args, **kwargs)

    monkeypatch.setattr(atexit, "register", register)
    experiment = request.node.name
    config = _callback_config(tmp_path, callback_store, experiment)
    callback = SweepCallback()
    callback.on_multirun_start(config)
    return Started(callback, config, callback_store, experiment, registered)


def test_callback_opens_a_running_parent_and_tells_the_jobs(started):
    parent = started.parent()
    assert parent.info.status == "RUNNING"
    assert parent.info.run_id == started.callback.parent
    assert parent.data.tags["sweep.dir"] == str(started.sweep_dir.resolve())
    assert parent.data.tags["sweep.overrides"] == "n=10,100"
    assert os.environ["RUNNER_MLFLOW_PARENT_RUN_ID"] == parent.info.run_id
    assert os.environ["RUNNER_MLFLOW_PARENT_URI"] == started.uri
    assert len(started.registered) == 1  # the atexit guard
    started.callback._close("KILLED")
    assert started.parent().info.status == "KILLED"
    for key in PARENT_KEYS:
        assert key not in os.environ


def test_atexit_guard_closes_the_parent_killed(started):
    assert len(started.registered) == 1
    func, args, kwargs = started.registered[0]
    assert func == started.callback._close
    assert (args, kwargs) == (("KILLED",), {})
    started.run_atexit()  # what the interpreter calls at exit after an interruption
    assert started.parent().info.status == "KILLED"
    for key in PARENT_KEYS:
        assert key not in os.environ
    started.run_atexit()  # a second call changes nothing
    assert started.parent().info.status == "KILLED"


def test_multirun_end_with_a_failed_job_closes_failed_and_exits_1(started, capsys):
    _write_status(started.sweep_dir, "0", "FINISHED")
    _write_status(started.sweep_dir, "1", "FAILED", "something went wrong")
    with pytest.raises(SystemExit) as exit_info:
        started.callback.on_multirun_end(started.config)
    assert exit_info.value.code == 1
    parent = started.parent()
    assert parent.info.status == "FAILED"
    assert parent.data.tags["sweep.jobs"] == "2"
    assert parent.data.tags["sweep.failed"] == "1"
    err = capsys.readouterr().err
    assert "sweep: 2 job(s), 1 finished, 1 FAILED (e.g. job 1: something went wrong)" in err
    # The atexit guard, run later by the interpreter, leaves the FAILED status alone.
    started.run_atexit()
    assert started.parent().info.status == "FAILED"


def test_multirun_end_all_finished_closes_finished(started, capsys):
    for job in "012":
        _write_status(started.sweep_dir, job, "FINISHED")
    started.callback.on_multirun_end(started.config)  # no SystemExit
    parent = started.parent()
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["sweep.jobs"] == "3"
    assert parent.data.tags["sweep.failed"] == "0"
    assert "sweep: 3 job(s), 3 finished;" in capsys.readouterr().err
    started.run_atexit()
    assert started.parent().info.status == "FINISHED"


def test_callback_without_tracking_still_counts(tmp_path, capsys):
    from runner.jobs.sweep import SweepCallback

    uri = f"sqlite:///{tmp_path / 'x.db'}"
    config = _callback_config(tmp_path, uri, "e", enabled=False)
    _write_status(Path(config.hydra.sweep.dir), "0", "FAILED", "bad")
    callback = SweepCallback()
    callback.on_multirun_start(config)
    assert callback.parent is None
    assert not (tmp_path / "x.db").exists()
    with pytest.raises(SystemExit) as exit_info:
        callback.on_multirun_end(config)
    assert exit_info.value.code == 1
    assert "sweep: 1 job(s), 0 finished, 1 FAILED (e.g. job 0: bad)" in capsys.readouterr().err


# An interrupted sweep, for real: SIGINT (Ctrl-C) and SIGTERM (kill, Slurm's time limit,
# `timeout`, a container stopping) stop the sweep mid-way; its parent must not stay RUNNING.


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_interrupted_sweep_leaves_no_running_parent(launched, name):
    stopped = launched[name].result()
    assert stopped.returncode != 0, str(stopped)
    client = client_for(local_store(stopped.cwd))
    parents, children = parent_and_children(client)
    assert len(parents) == 1, str(stopped)
    assert 2 <= len(children) < 60, str(stopped)
    status = parents[0].info.status
    assert status == "KILLED", f"the sweep's parent run is {status} after {name}\n{stopped}"

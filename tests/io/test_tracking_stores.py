"""Tracking stores (runner.io.tracking): URIs MLflow would refuse or misread are refused with
the runner's own message, SQLite stores that cannot be opened are refused before any MLflow
client exists (MLflow retries them for ~107 s), and a fresh SQLite store is created once
when several processes start on it together.

Refusals are checked by events: with ``mlflow`` made unimportable, reaching for a client
would raise ImportError, so a TrackingError proves the refusal came first. Races are run
with real processes that wait for each other before logging, never timed.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import clean_env, run_python

from runner.errors import TrackingError
from runner.io import tracking
from runner.io.tracking import MlflowTracker, check_store, check_uri, sqlite_path


@pytest.fixture
def no_mlflow(monkeypatch):
    """MLflow unimportable: any client the code under test reaches for raises ImportError."""
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)


@pytest.fixture
def no_env_uri(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)


def log_one(tracker: MlflowTracker, run_dir: Path, **overrides) -> str | None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text("{}\n")
    arguments = dict(
        params={"model.name": "gaussian", "n": 10},
        metrics={"loglik": -1.5},
        steps=[],
        run_dir=run_dir,
        run_name="gaussian n=10",
        tags={"model": "gaussian"},
    )
    return tracker.log_run(**{**arguments, **overrides})


def refusal(uri: str | None, tmp_path: Path) -> str:
    """The TrackingError message a job gets for ``uri`` (MLflow must be unimportable)."""
    with pytest.raises(TrackingError) as caught:
        log_one(MlflowTracker(uri, "exp"), tmp_path / "run")
    message = str(caught.value)
    assert "\n" not in message, message  # one paragraph
    return message


# ---- 1. URIs that are no tracking store -------------------------------------------------
USE = "give sqlite:///PATH.db, http(s)://HOST:PORT, or leave it unset for outputs/mlflow.db"


@pytest.mark.parametrize(
    ("uri", "hint"),
    [
        ("garbage", "file store, which MLflow 3.13+ refuses unless MLFLOW_ALLOW_FILE_STORE=true"),
        ("garbage:foo", "no tracking store for the scheme 'garbage:'"),
        ("s3://bucket/runs", "no tracking store for the scheme 's3:'"),
        ("postgres://me@db.example/runs", "PostgreSQL is postgresql://"),
        ("localhost:5000", "a server is http://localhost:5000"),
        ("uc:http://localhost:8080", "Unity Catalog is a model registry"),
        ("databricks-uc", "Unity Catalog is a model registry"),
    ],
)
def test_a_uri_mlflow_cannot_use_is_refused_before_any_client(
    uri, hint, tmp_path, no_env_uri, no_mlflow
):
    message = refusal(uri, tmp_path)
    assert message.startswith(f"tracking.uri {uri!r} is not a tracking store the runner can use")
    assert hint in message and USE in message
    assert "maintenance mode" not in message and "model registry functionality" not in message


def test_garbage_gets_the_runners_message(tmp_path, no_env_uri, no_mlflow, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert refusal("garbage", tmp_path) == (
        "tracking.uri 'garbage' is not a tracking store the runner can use: MLflow would read "
        f"it as the folder {tmp_path / 'garbage'} of its file store, which MLflow 3.13+ "
        f"refuses unless MLFLOW_ALLOW_FILE_STORE=true; {USE} (or set "
        "MLFLOW_ALLOW_FILE_STORE=true to use the file store)"
    )


def test_the_message_names_mlflow_tracking_uri_when_the_uri_came_from_it(
    tmp_path, no_env_uri, no_mlflow, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "garbage")
    assert refusal(None, tmp_path).startswith("MLFLOW_TRACKING_URI 'garbage' is not a tracking")


@pytest.mark.parametrize("uri", ["127.0.0.1:5000", "localhost:5000/"])
def test_host_and_port_without_a_scheme_points_to_http(uri, tmp_path, no_env_uri, no_mlflow):
    assert f"a server is http://{uri}" in refusal(uri, tmp_path)


@pytest.mark.parametrize("form", ["sqlite:/runs.db", "sqlite://runs.db", "sqlite:runs.db"])
def test_a_malformed_sqlite_uri_says_how_many_slashes(form, tmp_path, no_env_uri, no_mlflow):
    message = refusal(form, tmp_path)
    assert message.startswith(f"tracking.uri {form!r} is not an SQLite URI MLflow can open")
    assert "sqlite:///PATH.db" in message and "sqlite:////PATH.db" in message


def test_an_http_uri_without_a_host_or_port_is_refused(tmp_path, no_env_uri, no_mlflow):
    assert refusal("http://", tmp_path) == (
        "tracking.uri 'http://' names no server: give http(s)://HOST:PORT"
    )
    assert refusal("http://localhost:50OO", tmp_path) == (
        "tracking.uri 'http://localhost:50OO' has no valid port: give http(s)://HOST:PORT"
    )


@pytest.mark.parametrize("kind", ["file_uri", "relative", "absolute"])
def test_the_file_store_is_refused_unless_allowed(kind, tmp_path, no_env_uri, no_mlflow):
    uri = {"file_uri": (tmp_path / "mlruns").as_uri(), "relative": "./mlruns",
           "absolute": str(tmp_path / "mlruns")}[kind]  # fmt: skip
    message = refusal(uri, tmp_path)
    assert "its file store, which MLflow 3.13+ refuses unless MLFLOW_ALLOW_FILE_STORE=true" in (
        message
    )
    assert "set MLFLOW_ALLOW_FILE_STORE=true to use the file store" in message


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_the_file_store_is_used_when_allowed(value, tmp_path, monkeypatch, no_env_uri):
    # The same truthy spellings MLflow accepts; then MLflow really logs to the folder.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", value)
    check_uri("./mlruns")
    if value != "true":
        return  # one real run is enough
    store = tmp_path / "mlruns"
    assert log_one(MlflowTracker(store.as_uri(), "files"), tmp_path / "run")
    assert list(store.glob("*/meta.yaml"))  # an experiment folder of the file store


@pytest.mark.parametrize("allow", [None, "true"])
def test_a_db_path_without_sqlite_is_never_a_file_store(allow, tmp_path, monkeypatch, no_mlflow):
    # MLflow would make a *folder* named mlflow.db: plainly not what was meant.
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    if allow:
        monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", allow)
    monkeypatch.chdir(tmp_path)
    message = refusal("outputs/mlflow.db", tmp_path)
    assert message == (
        "tracking.uri 'outputs/mlflow.db' is a path, which MLflow would use as the folder "
        f"{tmp_path / 'outputs' / 'mlflow.db'} of its file store, not as an SQLite file: "
        "write sqlite:///outputs/mlflow.db (sqlite:/// then the path)"
    )
    assert not (tmp_path / "outputs" / "mlflow.db").exists()


ACCEPTED = [
    "sqlite:///outputs/mlflow.db",
    "sqlite:////abs/path/mlflow.db",
    "sqlite+pysqlite:////abs/path/mlflow.db",
    "sqlite://",
    "sqlite:///:memory:",
    "postgresql://me:pw@db.example:5432/runs",
    "postgresql+psycopg2://me@db.example/runs",
    "mysql+pymysql://me@db.example/runs",
    "mssql+pyodbc://me@db.example/runs",
    "http://127.0.0.1:5000",
    "https://mlflow.example",
    "databricks",
    "databricks://my-profile",
]


@pytest.mark.parametrize("uri", ACCEPTED)
def test_the_backends_mlflow_supports_are_accepted(uri, no_mlflow):
    check_uri(uri)  # no TrackingError


@pytest.mark.parametrize("uri", ACCEPTED)
def test_mlflow_has_a_store_for_every_uri_the_runner_accepts(uri):
    # Keeps the runner's list honest against MLflow's own registry (private, so this test
    # is the first to notice when MLflow changes it).
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    assert _tracking_store_registry.get_store_builder(uri) is not None


def test_a_scheme_added_by_an_mlflow_plugin_is_accepted(monkeypatch, no_mlflow):
    monkeypatch.setattr(tracking, "_plugin_schemes", lambda: {"myplugin"})
    check_uri("myplugin://somewhere/runs")
    with pytest.raises(TrackingError, match="scheme 'other:'"):
        check_uri("other://somewhere/runs")


def test_an_unreachable_database_server_is_refused_without_its_password(
    tmp_path, no_env_uri, no_mlflow
):
    # MLflow would retry the connection for ~100 s; the password stays out of the message.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    message = refusal(f"postgresql://me:s3cret@127.0.0.1:{port}/runs", tmp_path)
    assert message.startswith(f"the database server 127.0.0.1:{port} of postgresql://me:***@")
    assert "is not reachable" in message and "s3cret" not in message


# ---- 2. SQLite stores that cannot be opened ---------------------------------------------
def sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path}"


def test_a_path_through_a_file_is_refused_before_any_client(tmp_path, no_env_uri, no_mlflow):
    afile = tmp_path / "notes.txt"
    afile.write_text("not a folder\n")
    for store in (afile / "mlflow.db", afile / "deeper" / "still" / "mlflow.db"):
        assert refusal(sqlite_uri(store), tmp_path) == (
            f"cannot create the MLflow store {store} (tracking.uri): {afile} is a file, "
            "not a folder"
        )


def test_a_folder_given_as_the_store_is_refused(tmp_path, no_env_uri, no_mlflow):
    assert refusal(sqlite_uri(tmp_path), tmp_path) == (
        f"cannot use the MLflow store {tmp_path} (tracking.uri): it is a folder, not an SQLite "
        f"file (give a file in it, e.g. sqlite:///{tmp_path / 'mlflow.db'})"
    )


def test_a_file_that_is_not_sqlite_is_refused(tmp_path, no_env_uri, no_mlflow):
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n2\n")
    assert refusal(sqlite_uri(data), tmp_path) == (
        f"cannot write to the MLflow store {data} (tracking.uri): it is not an SQLite database"
    )


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_store_in_proc_is_refused(tmp_path, no_env_uri, no_mlflow):
    assert refusal("sqlite:////proc/mlflow.db", tmp_path) == (
        "cannot create the MLflow store /proc/mlflow.db (tracking.uri): the folder /proc does "
        "not accept new files (No such file or directory)"
    )
    # A missing folder is created, as MLflow does, where it can be: not under /proc.
    assert refusal("sqlite:////proc/no-such-folder/mlflow.db", tmp_path) == (
        "cannot create the MLflow store /proc/no-such-folder/mlflow.db (tracking.uri): its "
        "folder /proc/no-such-folder cannot be created (No such file or directory)"
    )


def test_mlflow_tracking_uri_into_a_read_only_folder_is_refused(
    tmp_path, no_env_uri, no_mlflow, monkeypatch
):
    # As root, permission bits do not stop writes: the folder refuses the probe file the way
    # a read-only mount does (a real one is tested below where the machine allows it).
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tracking.tempfile, "mkstemp", read_only)
    store = tmp_path / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri(store))
    assert refusal(None, tmp_path) == (
        f"cannot create the MLflow store {store} (MLFLOW_TRACKING_URI): the folder {tmp_path} "
        "does not accept new files (Read-only file system)"
    )


READ_ONLY_SCRIPT = """
import sys
sys.modules["mlflow"] = None  # checks only: no client may be reached for
from pathlib import Path
from runner.errors import TrackingError
from runner.io.tracking import MlflowTracker, check_store

ro = Path(sys.argv[1])
for uri, write in ((f"sqlite:///{ro}/new/mlflow.db", True), (f"sqlite:///{ro}/new.db", True),
                   (f"sqlite:///{ro}/old.db", True)):
    try:
        MlflowTracker(uri, "exp").client(write=write)
        print("accepted", uri)
    except TrackingError as exc:
        print(exc)
check_store(ro / "old.db", write=False)  # a report may still read an existing store
print("readable", ro / "old.db")
"""


def test_a_real_read_only_mount_is_refused(tmp_path):
    if not shutil.which("unshare") or not shutil.which("mount"):
        pytest.skip("needs unshare and mount")
    source, ro = tmp_path / "source", tmp_path / "ro"
    source.mkdir()
    ro.mkdir()
    (source / "old.db").write_bytes(b"SQLite format 3\x00" + bytes(84))
    shell = (
        f"mount --bind {source} {ro} && mount -o remount,ro,bind {ro} || exit 77; "
        f'exec {sys.executable} -c "$0" {ro}'
    )
    proc = subprocess.run(["unshare", "-m", "sh", "-c", shell, READ_ONLY_SCRIPT],
                          capture_output=True, text=True, env=clean_env())  # fmt: skip
    if proc.returncode == 77 or "unshare failed" in proc.stderr:
        pytest.skip(f"no private read-only mount here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"cannot create the MLflow store {ro}/new/mlflow.db (tracking.uri): its folder "
        f"{ro}/new cannot be created (Read-only file system)",
        f"cannot create the MLflow store {ro}/new.db (tracking.uri): the folder {ro} does not "
        "accept new files (Read-only file system)",
        f"cannot write to the MLflow store {ro}/old.db (tracking.uri): it cannot be written "
        "(Read-only file system)",
        f"readable {ro}/old.db",
    ]


def test_a_missing_folder_is_created_as_mlflow_does(tmp_path, no_env_uri):
    store = tmp_path / "new" / "sub" / "mlflow.db"
    assert log_one(MlflowTracker(sqlite_uri(store), "exp"), tmp_path / "run")
    assert store.is_file()


def test_the_default_store_is_created_on_a_fresh_clone(tmp_path, no_env_uri, monkeypatch):
    # No outputs/ yet (the sweep callback opens the store before any job folder exists).
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    tracker = MlflowTracker(None, "fresh")
    client = tracker.client()
    experiment = client.get_experiment(tracker.experiment_id(client))
    assert (tmp_path / "outputs" / "mlflow.db").is_file()
    assert experiment.artifact_location == (tmp_path / "outputs" / "mlartifacts").as_uri()
    assert log_one(tracker, tmp_path / "outputs" / "runs" / "one")
    (run,) = MlflowClient(tracker.uri).search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"


def test_sqlite_path_reads_uris_as_sqlalchemy_does():
    assert sqlite_path("sqlite:///rel/mlflow.db") == Path("rel/mlflow.db")
    assert sqlite_path("sqlite:////abs/mlflow.db") == Path("/abs/mlflow.db")
    assert sqlite_path("sqlite+pysqlite:////a%20b/mlflow.db?timeout=5") == Path("/a b/mlflow.db")
    for uri in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=ro&uri=true",
                "postgresql://h/db", "http://h:5000"):  # fmt: skip
        assert sqlite_path(uri) is None


def test_check_store_leaves_a_readable_store_alone(tmp_path):
    store = tmp_path / "mlflow.db"
    store.write_bytes(b"")  # empty: MLflow gives it its schema
    check_store(store, write=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db"]  # probe removed


# ---- 3. several processes on one fresh store --------------------------------------------
# Each process imports MLflow, then waits until all have, then logs: they reach the fresh
# store together, which made MLflow's migrations collide ("duplicate column name: step").
RACE_SCRIPT = """
import sys, time
from pathlib import Path
import mlflow.tracking
from runner.io.tracking import MlflowTracker

uri, jobs, me, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
here = Path.cwd()
(here / f"ready-{me}").touch()
while len(list(here.glob("ready-*"))) < jobs:
    time.sleep(0.01)
tracker = MlflowTracker(uri, "race")
if mode == "log_run":
    run_dir = here / f"run-{me}"
    run_dir.mkdir()
    (run_dir / "results.json").write_text("{}")
    print(tracker.log_run(params={"job": me}, metrics={"value": float(me)}, steps=[],
                          run_dir=run_dir, run_name=f"job {me}", tags={}))
else:  # as the sweep callback does: client(), experiment_id(), then its own calls
    client = tracker.client()
    run = client.create_run(tracker.experiment_id(client), run_name=f"job {me}")
    client.log_param(run.info.run_id, "job", me)
    client.log_metric(run.info.run_id, "value", float(me))
    client.set_terminated(run.info.run_id)
    print("logged", run.info.run_id)
"""


def race(folder: Path, uri: str, modes: list[str]) -> list[subprocess.CompletedProcess]:
    """One process per mode, all started at once on the same store."""
    folder.mkdir(exist_ok=True)
    jobs = len(modes)
    args = [["-c", RACE_SCRIPT, uri, str(jobs), str(i), mode] for i, mode in enumerate(modes)]
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda a: run_python(a, folder), args))


def finished_runs(uri: str, experiment: str) -> dict[str, tuple[dict, dict]]:
    """Run name -> (params, metrics) of every FINISHED run of ``experiment``."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return {r.info.run_name: (r.data.params, r.data.metrics)
            for r in runs if r.info.status == "FINISHED"}  # fmt: skip


def test_processes_starting_together_on_a_fresh_store_all_log(tmp_path):
    # Two jobs logging and two sweep callbacks opening their parent, all at once.
    store = tmp_path / "store" / "mlflow.db"  # neither the folder nor the file exists yet
    uri = sqlite_uri(store)
    done = race(tmp_path / "work", uri, ["log_run", "client_then_experiment_id"] * 2)
    for proc in done:
        assert proc.returncode == 0 and "could not" not in proc.stdout, proc.stdout + proc.stderr
    assert finished_runs(uri, "race") == {
        f"job {i}": ({"job": str(i)}, {"value": float(i)}) for i in range(4)
    }
    assert sorted(p.name for p in store.parent.iterdir()) == ["mlflow.db", "mlflow.db.lock"]


def test_a_store_with_its_schema_takes_no_exclusive_lock(tmp_path, monkeypatch):
    # Made by MLflow itself (another tool): the runner only looks, and leaves no lock file.
    from mlflow.tracking import MlflowClient

    store = tmp_path / "mlflow.db"
    uri = sqlite_uri(store)
    MlflowClient(tracking_uri=uri).create_experiment("made elsewhere")
    locks: list[bool] = []
    real = tracking.store_lock

    def recorded(path, *, exclusive, **kwargs):
        locks.append(exclusive)
        return real(path, exclusive=exclusive, **kwargs)

    monkeypatch.setattr(tracking, "store_lock", recorded)
    tracker = MlflowTracker(uri, "made elsewhere")
    client = tracker.client(write=True)
    tracker.experiment_id(client)
    assert locks == [False]  # one shared lock, to wait for a store being created
    assert not (tmp_path / "mlflow.db.lock").exists()


@pytest.mark.parametrize("where", ["default"])  # an explicit URI: the race test above
def test_three_runner_commands_at_once_on_a_fresh_folder(where, tmp_path):
    store = tmp_path / "outputs" / "mlflow.db" if where == "default" else tmp_path / "mlflow.db"
    args = ["-m", "runner", "model=gaussian", "n=50", "plots=false"]
    if where == "tracking.uri":
        args.append(f"tracking.uri={sqlite_uri(store)}")
    with ThreadPoolExecutor(3) as pool:
        done = list(pool.map(lambda _: run_python(args, tmp_path), range(3)))
    for proc in done:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "logged: MLflow run" in proc.stdout, proc.stdout + proc.stderr
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=sqlite_uri(store))
    (experiment,) = [e for e in client.search_experiments() if e.name == "mle-runner"]
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.status for r in runs) == ["FINISHED"] * 3
    for run in runs:
        assert run.data.params["model.name"] == "gaussian" and run.data.params["n"] == "50"
        assert "loglik" in run.data.metrics

"""MLflow tracking, and a tracker that does nothing (``tracking=none``).

The job writes its results to the run folder first; a tracker only copies them to
MLflow. Every failure here is turned into ``TrackingError`` with the reason, so an
unreachable server costs a warning, never a result. MLflow is imported only when a run
is logged: it costs about a second.
"""

from __future__ import annotations

import math
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlparse

from runner.errors import TrackingError

try:  # POSIX: serialises the first creation of an SQLite store across processes
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from runner.stats.result import Fit

DEFAULT_STORE = Path("outputs") / "mlflow.db"
DEFAULT_ARTIFACTS = Path("outputs") / "mlartifacts"
# What a run folder holds that is worth keeping in MLflow: results, traces, plots.
_ARTIFACT_SUFFIXES = (".json", ".csv", ".png", ".md")

# A client pointed at a dead server otherwise retries silently for minutes.
_HTTP_BOUNDS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


Step = tuple[str, float, int]  # metric name, value, step (iteration, or sample size)

# The MLflow 3.17 UI (mlflow/server/js/build) opens an experiment in the GenAI layout unless
# the URL says ``workflowType=machine_learning`` (or the browser last chose "Model
# training"); it no longer reads the layout from the experiment. The experiment still
# says what it is, with the value the UI's kind selector writes for "Machine learning".
WORKFLOW_PARAM = "workflowType=machine_learning"
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
NOTE_TAG = "mlflow.note.content"  # a run's description (Markdown) on its overview page
DEFAULT_UI = "http://127.0.0.1:5000"  # where ``mlflow ui`` serves a local store
_TAG_LIMIT = 8000  # MLflow refuses longer tag values (MAX_TAG_VAL_LENGTH)


@dataclass(frozen=True)
class DataRecord:
    """What a run fitted, for MLflow's dataset tracking (the runs table's Dataset column).

    ``path`` is the real file for CSV or .npy data; other data (synthetic draws, inline
    values, counts) say where they came from in ``code`` instead: MLflow refuses a source
    URI it cannot resolve. ``digest`` is the runner's own hash of every value (MLflow's
    would copy the whole array to hash its first rows); ``shape`` and ``dtype`` give the
    rows without the values.
    """

    name: str
    digest: str
    shape: tuple[int, ...]
    dtype: str = "float64"
    path: str | None = None
    code: dict[str, Any] = field(default_factory=dict)


class Tracker(Protocol):
    def log_run(
        self,
        *,
        params: dict[str, Any],
        metrics: dict[str, float],
        steps: list[Step],
        run_dir: Path,
        run_name: str,
        tags: dict[str, str],
        status: str = "FINISHED",
        note: str | None = None,
        dataset: DataRecord | None = None,
    ) -> str | None:
        """Record one job: params, metrics, step metrics, its description (Markdown), its
        data and the run folder's files; return where to find it (or None)."""


class NullTracker:
    """``tracking=none``: results stay in the run folder only."""

    def log_run(self, **_: Any) -> str | None:
        return None


def resolve_uri(uri: str | None) -> str:
    """``tracking.uri``, else MLFLOW_TRACKING_URI, else the SQLite store under outputs/."""
    if uri:
        return uri
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{DEFAULT_STORE.resolve()}"


def uri_source(uri: str | None) -> str:
    """Where ``resolve_uri(uri)`` found its URI, named as the user set it (for messages)."""
    if uri:
        return "tracking.uri"
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return "MLFLOW_TRACKING_URI"
    return "the default store"


PARENT_RUN_ENV = "RUNNER_MLFLOW_PARENT_RUN_ID"  # set by the sweep callback for its jobs
PARENT_URI_ENV = "RUNNER_MLFLOW_PARENT_URI"


class MlflowTracker:
    """Logs a job as one MLflow run: config as params, numbers as metrics, files as artifacts.

    Inside a sweep (the sweep callback set ``RUNNER_MLFLOW_PARENT_RUN_ID``) the run is a
    child of the sweep's parent run. Calls that hit a locked SQLite store are retried.
    """

    def __init__(self, uri: str | None = None, experiment: str = "mle-runner"):
        self.uri = resolve_uri(uri)
        self.source = uri_source(uri)
        self.experiment = experiment

    def client(self, *, write: bool = False) -> MlflowClient:
        """An MlflowClient on this store, once the URI, the server or the SQLite file has
        been checked (a bad one otherwise costs minutes of MLflow retries); quiet logs.

        A fresh SQLite store gets its schema here, under a lock held across processes:
        parallel jobs creating it at once collide in MLflow's migrations. ``write=True``
        also refuses an existing store that cannot be written (readers may still read it).
        """
        check_uri(self.uri, self.source)
        check_reachable(self.uri)
        store = sqlite_path(self.uri)
        if store is not None:
            check_store(store, self.source, write=write)
        for key, value in _HTTP_BOUNDS.items():
            os.environ.setdefault(key, value)
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import logging

        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        if store is None or _has_schema(store):
            return MlflowClient(tracking_uri=self.uri)
        try:
            with store_lock(store, exclusive=True):
                client = MlflowClient(tracking_uri=self.uri)
                # MLflow builds the store, schema included, on the first call: make it now.
                retry(client.search_experiments, max_results=1)
        except Exception as exc:
            raise TrackingError(
                f"could not create the MLflow store {store.absolute()} ({self.source}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return client

    def log_run(self, *, params, metrics, steps, run_dir, run_name, tags, status="FINISHED",
                note=None, dataset=None):  # fmt: skip
        try:
            client = self.client(write=True)
            experiment_id = self.experiment_id(client)
            run_tags = {**tags, **self._parent_tag()}
            if note:
                run_tags[NOTE_TAG] = clip_note(note)
            run = retry(client.create_run, experiment_id, run_name=run_name, tags=run_tags)
            run_id = run.info.run_id
            final = "FAILED"
            try:
                _log_batch(client, run_id, params, _finite(metrics), steps)
                if dataset is not None:
                    # Jobs fitting the same data at once both insert its dataset row: the
                    # one that loses the race finds the row there when it tries again.
                    retry(client.log_inputs, run_id, datasets=[dataset_input(dataset)],
                          also=("unique constraint",))  # fmt: skip
                for path in sorted(run_dir.iterdir()) if run_dir.is_dir() else ():
                    if path.is_file() and path.suffix in _ARTIFACT_SUFFIXES:
                        retry(client.log_artifact, run_id, str(path))
                hydra_dir = run_dir / ".hydra"
                if hydra_dir.is_dir():
                    retry(client.log_artifacts, run_id, str(hydra_dir), artifact_path="config")
                final = status
            except KeyboardInterrupt:
                final = "KILLED"  # Ctrl-C while logging: the run says so, then the job stops
                raise
            finally:
                retry(client.set_terminated, run_id, status=final)
        except TrackingError:
            raise
        except Exception as exc:  # MLflow raises many types; all mean "not logged"
            raise TrackingError(
                f"could not log to MLflow at {shown_uri(self.uri)}: {type(exc).__name__}: {exc}"
            ) from exc
        return (
            f"MLflow run {run_id} in experiment {self.experiment!r} ({shown_uri(self.uri)})\n"
            f"  {self.open_hint(experiment_id, run_id)}"
        )

    def open_hint(self, experiment_id: str, run_id: str | None = None) -> str:
        """``open URL`` for a run (or the experiment's runs table) in the training layout,
        with the command that serves it when the store is a file, not a server."""
        url = ui_url(self.uri, experiment_id, run_id)
        if url is None:
            return f"open experiment {experiment_id} in the MLflow UI"
        if ui_base(self.uri) != DEFAULT_UI:
            return f"open {url}"
        store = self.uri
        if store == f"sqlite:///{DEFAULT_STORE.resolve()}":
            store = f"sqlite:///{DEFAULT_STORE.as_posix()}"  # as README writes it
        return f"open {url} (while mlflow ui --backend-store-uri {store} runs)"

    def _parent_tag(self) -> dict[str, str]:
        parent = os.environ.get(PARENT_RUN_ENV)
        if parent and os.environ.get(PARENT_URI_ENV) == self.uri:
            return {"mlflow.parentRunId": parent}
        return {}

    def experiment_id(self, client: MlflowClient) -> str:
        """The experiment's id, created if new: under the store's lock on SQLite, so jobs
        starting together on a fresh store make one experiment, not a crash."""
        found = retry(client.get_experiment_by_name, self.experiment)
        if found is not None:
            return self._kind_set(client, found)
        location = None
        if self.uri == f"sqlite:///{DEFAULT_STORE.resolve()}":
            location = DEFAULT_ARTIFACTS.resolve().as_uri()
        store = sqlite_path(self.uri)
        with store_lock(store, exclusive=True) if store is not None else nullcontext():
            found = retry(client.get_experiment_by_name, self.experiment)
            if found is not None:  # made by another job while this one waited
                return self._kind_set(client, found)
            try:
                return client.create_experiment(self.experiment, artifact_location=location,
                                                tags=dict([EXPERIMENT_KIND]))  # fmt: skip
            except Exception:  # created meanwhile by a parallel job (through a server)
                found = retry(client.get_experiment_by_name, self.experiment)
                if found is None:
                    raise
                return self._kind_set(client, found)

    @staticmethod
    def _kind_set(client: MlflowClient, experiment: Any) -> str:
        """The experiment's id, once it says it holds model training runs (an experiment
        made before the runner set the tag gets it once; one the user tagged keeps it)."""
        key, value = EXPERIMENT_KIND
        if key not in (experiment.tags or {}):
            retry(client.set_experiment_tag, experiment.experiment_id, key, value)
        return experiment.experiment_id


def ui_base(uri: str) -> str | None:
    """The address of the UI that shows this store: the tracking server itself, or
    ``mlflow ui`` on its default port for a database; None for Databricks (its own UI)."""
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        netloc = parsed.hostname or ""
        if parsed.port:
            netloc += f":{parsed.port}"
        return parsed._replace(netloc=netloc, query="", fragment="").geturl().rstrip("/")
    if uri == "databricks" or scheme.startswith("databricks"):
        return None
    return DEFAULT_UI


def ui_url(uri: str, experiment_id: str, run_id: str | None = None) -> str | None:
    """A run's page (or the experiment's runs table) in the MLflow UI's training layout:
    routes and parameter as the installed UI bundle defines them. No credentials."""
    base = ui_base(uri)
    if base is None:
        return None
    page = f"#/experiments/{experiment_id}/runs" + (f"/{run_id}" if run_id else "")
    return f"{base}/{page}?{WORKFLOW_PARAM}"


def clip_note(text: str) -> str:
    """A description MLflow accepts: longer ones are cut, saying where the rest is."""
    if len(text) <= _TAG_LIMIT:
        return text
    tail = "\n\n... (cut here: the run folder and its artifacts have all of it)"
    cut = text[: _TAG_LIMIT - len(tail) - 8]
    if cut.count("```") % 2:  # close a code block the cut left open
        cut += "\n```"
    return cut + tail


def code_block(text: str) -> str:
    """Console text as a Markdown code block (tables keep their columns)."""
    return f"```\n{text.rstrip()}\n```"


def dataset_input(record: DataRecord):
    """``record`` as an MLflow dataset input (context "train"), built with
    ``mlflow.data.from_numpy`` on a zero-byte stand-in of the data's shape and dtype: the
    profile gets the rows, the schema the type, and no value is copied or hashed again."""
    import mlflow.data
    import numpy as np
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.sources import LocalArtifactDatasetSource
    from mlflow.entities import DatasetInput, InputTag

    stand_in = np.broadcast_to(np.zeros((), dtype=np.dtype(record.dtype)), record.shape)
    if record.path:
        source = LocalArtifactDatasetSource(record.path)
    else:
        source = CodeDatasetSource(tags=record.code)
    dataset = mlflow.data.from_numpy(stand_in, source=source, name=record.name[:500],
                                     digest=record.digest[:36])  # fmt: skip
    context = InputTag("mlflow.data.context", "train")
    return DatasetInput(dataset._to_mlflow_entity(), tags=[context])


# ---- which stores the runner can use ----------------------------------------------------
# MLflow's own tracking stores (mlflow/tracking/_tracking_service/utils.py): a SQLAlchemy
# database as ENGINE or ENGINE+DRIVER, an HTTP server, Databricks, and the file store for a
# path or file: URI (refused since MLflow 3.13 unless MLFLOW_ALLOW_FILE_STORE is true).
_DB_ENGINES = ("sqlite", "postgresql", "mysql", "mssql")
_DB_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}
_SQLITE = re.compile(r"sqlite(\+[^:/]+)?://(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_SQLITE_HEADER = b"SQLite format 3\x00"
_USE = "give sqlite:///PATH.db, http(s)://HOST:PORT, or leave it unset for outputs/mlflow.db"
_HINTS = {
    "postgres": "PostgreSQL is postgresql://",
    "sqlite3": "SQLite is sqlite:///PATH.db",
    "uc": "Unity Catalog is a model registry, not a tracking store",
    "databricks-uc": "Unity Catalog is a model registry, not a tracking store",
}


def check_uri(uri: str, source: str = "tracking.uri") -> None:
    """Refuse, before MLflow is imported, a URI MLflow would refuse or misread: a word with
    no scheme becomes a file-store folder (refused by MLflow 3.13+), ``outputs/mlflow.db``
    a folder named mlflow.db, an unknown scheme a message about the model registry."""
    label = f"{source} {uri!r}"
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if uri in ("databricks-uc", "uc"):
        scheme = uri
    if uri == "databricks" or scheme == "databricks":
        return
    if scheme in ("http", "https"):
        if not parsed.hostname:
            raise TrackingError(f"{label} names no server: give http(s)://HOST:PORT")
        try:
            _ = parsed.port  # urllib raises on a port that is not a number
        except ValueError:
            raise TrackingError(f"{label} has no valid port: give http(s)://HOST:PORT") from None
        return
    engine, _, driver = scheme.partition("+")
    if engine in _DB_ENGINES and "+" not in driver:
        if engine == "sqlite":
            match = _SQLITE.fullmatch(uri)
            if not match or not (match["rest"] == "" or match["rest"].startswith("/")):
                raise TrackingError(
                    f"{label} is not an SQLite URI MLflow can open: write sqlite:///PATH.db "
                    "for a path relative to the current folder, sqlite:////PATH.db for an "
                    "absolute one, or leave it unset for outputs/mlflow.db"
                )
        return
    if len(scheme) <= 1 or scheme == "file":  # a path (or a Windows drive), or file:
        _check_file_store(uri, label, scheme)
        return
    if scheme in _plugin_schemes():
        return
    hint = _HINTS.get(scheme)
    if hint is None and re.fullmatch(r"[\w.-]+:\d+(/.*)?", uri):
        hint = f"a server is http://{uri}"
    raise TrackingError(
        f"{label} is not a tracking store the runner can use: MLflow has no tracking store "
        f"for the scheme '{scheme}:'" + (f" ({hint})" if hint else "") + f"; {_USE}"
    )


def _check_file_store(uri: str, label: str, scheme: str) -> None:
    """A path or file: URI is MLflow's file store: refused unless opted into, and never
    used for what is plainly meant as an SQLite file."""
    path = unquote(urlparse(uri).path) if scheme == "file" else uri
    folder = Path(path).absolute()
    if folder.suffix.lower() in (".db", ".sqlite", ".sqlite3"):
        raise TrackingError(
            f"{label} is a path, which MLflow would use as the folder {folder} of its file "
            f"store, not as an SQLite file: write sqlite:///{path} (sqlite:/// then the path)"
        )
    if re.fullmatch(r"[\w.-]+:\d+(/.*)?", uri):  # 127.0.0.1:5000 parses as a path
        raise TrackingError(
            f"{label} is not a tracking store the runner can use: it has no scheme, so "
            f"MLflow would read it as a folder; a server is http://{uri}"
        )
    if os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").strip().lower() in ("true", "1"):
        return  # the user opted into MLflow's file store: a folder of YAML files
    raise TrackingError(
        f"{label} is not a tracking store the runner can use: MLflow would read it as the "
        f"folder {folder} of its file store, which MLflow 3.13+ refuses unless "
        f"MLFLOW_ALLOW_FILE_STORE=true; {_USE} (or set MLFLOW_ALLOW_FILE_STORE=true to use "
        "the file store)"
    )


def _plugin_schemes() -> set[str]:
    """Schemes that installed MLflow plugins add (entry point group mlflow.tracking_store)."""
    from importlib.metadata import entry_points

    try:
        return {entry.name.lower() for entry in entry_points(group="mlflow.tracking_store")}
    except Exception:  # a broken distribution's metadata: no plugins, as far as we can tell
        return set()


def shown_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***``: messages end up in logs."""
    parsed = urlparse(uri)
    if not parsed.password:
        return uri
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()


def sqlite_path(uri: str) -> Path | None:
    """The file an ``sqlite:///`` URI names (relative to the current folder, as SQLite
    reads it); None for other stores and for in-memory or ``uri=true`` databases."""
    match = _SQLITE.fullmatch(uri)
    if not match or not match["rest"].startswith("/"):
        return None
    database, _, query = match["rest"][1:].partition("?")
    if database in ("", ":memory:") or "uri=true" in query.lower():
        return None
    return Path(unquote(database))  # SQLAlchemy unquotes the database part too


def check_store(path: Path, source: str = "tracking.uri", *, write: bool = False) -> None:
    """Refuse, with the reason, an SQLite store that cannot be opened (MLflow retries that
    for ~107 s); create its folder when it can be, as MLflow does (outputs/ on a fresh
    clone). ``write``: an existing store must be writable too."""
    shown = path.absolute()
    where = f"the MLflow store {shown} ({source})"
    if shown.is_dir():
        raise TrackingError(
            f"cannot use {where}: it is a folder, not an SQLite file (give a file in it, "
            f"e.g. sqlite:///{shown / 'mlflow.db'})"
        )
    if shown.exists():
        problem = _existing_store_problem(shown, write)
        if problem:
            raise TrackingError(f"cannot {'write to' if write else 'open'} {where}: {problem}")
        return
    problem = _new_file_problem(shown.parent)
    if problem:
        raise TrackingError(f"cannot create {where}: {problem}")


def _existing_store_problem(path: Path, write: bool) -> str | None:
    """Why an existing file cannot serve as the store; None if it can."""
    if not path.is_file():
        return "it is not a regular file"
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if header and header != _SQLITE_HEADER[: len(header)]:
        return "it is not an SQLite database"
    if not write:
        return None
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as exc:
        return f"it cannot be written ({exc.strerror or exc})"
    # SQLite writes a journal file beside the store: the folder must take new files.
    return _writable_folder_problem(path.parent)


def _new_file_problem(folder: Path) -> str | None:
    """Why no file can be created in ``folder`` (made first if missing); None if one can."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if existing != folder:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"its folder {folder} cannot be created ({exc.strerror or exc})"
    return _writable_folder_problem(folder)


def _writable_folder_problem(folder: Path) -> str | None:
    """Try it: as root, permission bits say nothing, and /proc or a read-only mount only
    refuse when a file is actually created."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".mlflow-probe-", dir=folder)
    except OSError as exc:
        return f"the folder {folder} does not accept new files ({exc.strerror or exc})"
    os.close(handle)
    os.unlink(probe)
    return None


def _has_schema(store: Path) -> bool:
    """Whether the store has been created, waiting first for a process creating it now.

    Every runner creates a store under the exclusive lock, before the file exists, so a
    non-empty file seen under the shared lock is complete. A store with its schema pays a
    stat and a shared lock; no lock file is created for it.
    """
    if not store.is_file() or store.stat().st_size == 0:
        return False
    with store_lock(store, exclusive=False, create=False):
        return store.stat().st_size > 0


@contextmanager
def store_lock(store: Path, *, exclusive: bool, create: bool = True) -> Iterator[None]:
    """Hold ``flock`` on ``<store>.lock`` (across processes, and across threads that each
    take it). Without a lock file that can be opened (a read-only folder, Windows) it
    yields unlocked: nobody can be creating a store there."""
    fd = _open_lock(store.with_name(store.name + ".lock"), create)
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def _open_lock(path: Path, create: bool) -> int | None:
    if fcntl is None:  # pragma: no cover
        return None
    for flags in ((os.O_RDWR | os.O_CREAT) if create else os.O_RDWR, os.O_RDONLY):
        try:
            return os.open(path, flags, 0o666)
        except OSError:
            continue
    return None


def retry(call, *args, attempts: int = 6, also: tuple[str, ...] = (), **kwargs):
    """``call(*args, **kwargs)``, again after a pause while the SQLite store is locked (or
    the error says one of ``also``)."""
    for attempt in range(attempts):
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            text = str(exc).lower()
            if attempt == attempts - 1 or not any(w in text for w in ("locked", "busy", *also)):
                raise
            time.sleep(0.2 * 2**attempt)
    return None  # pragma: no cover


def fit_metrics(fit: Fit) -> dict[str, float]:
    """Every number of a fit worth charting, under names MLflow accepts."""
    metrics: dict[str, float | None] = {
        "loglik": fit.loglik,
        "mean_loglik": fit.mean_loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "n": fit.n,
        "k": fit.k,
        "iterations": fit.iterations,
        "converged": float(fit.converged),
        "grad_norm": fit.grad_norm,
        "wall_time": fit.wall_time,
    }
    for e in fit.estimates:
        metrics[f"estimate.{e.name}"] = e.estimate
        metrics[f"se.{e.name}"] = e.se
        metrics[f"truth.{e.name}"] = e.truth
        if e.ci is not None:
            metrics[f"ci_low.{e.name}"], metrics[f"ci_high.{e.name}"] = e.ci
        if e.map is not None:
            metrics[f"map.{e.name}"] = e.map
            metrics[f"posterior_mean.{e.name}"] = e.posterior_mean
        if e.credible is not None:
            metrics[f"credible_low.{e.name}"], metrics[f"credible_high.{e.name}"] = e.credible
    metrics.update(fit.gof or {})
    for label, held in fit.heldout.items():
        # -inf is no metric (charts cannot show it): the count of impossible points says it.
        metrics[f"heldout.{label}.n"] = held.n
        metrics[f"heldout.{label}.mean_loglik"] = held.mean_loglik
        metrics[f"heldout.{label}.zero_probability"] = held.zero_probability
    return _finite(metrics)


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    """MLflow charts finite numbers; None, NaN and inf are left out (the files keep them)."""
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}


# Step series are named ``<section>/<name>``: the run page's metrics tab puts a metric in
# the section named before its last "/", lists those sections first, and the rest (the
# one-point metrics, drawn as bars) last, under "Model metrics". So a run opens on its
# climb or its error-against-n lines, not on twenty bars.
TRACE_SECTION = "trace"


def trace_metrics(fit: Fit) -> list[Step]:
    """The optimizer's climb as step metrics (step = iteration): ``trace/loglik``,
    ``trace/grad_norm``, ``trace/<param>``."""
    rows = []
    for row in fit.trace:
        step = int(row["iteration"])
        for key, value in row.items():
            if key != "iteration" and value is not None and math.isfinite(value):
                rows.append((f"{TRACE_SECTION}/{key}", float(value), step))
    return rows


def _log_batch(
    client,
    run_id: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    steps: list[Step] = (),
) -> None:
    """Few round trips: MLflow takes up to 100 params and 1000 metrics per batch."""
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    param_list = [Param(k, _param_value(v)) for k, v in params.items()]
    metric_list = [Metric(k, v, now, 0) for k, v in metrics.items()]
    metric_list += [Metric(k, v, now, step) for k, v, step in steps]
    for i in range(0, max(len(param_list), 1), 100):
        retry(client.log_batch, run_id, params=param_list[i : i + 100])
    for i in range(0, len(metric_list), 1000):
        retry(client.log_batch, run_id, metrics=metric_list[i : i + 1000])


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:480] + f"... ({len(text)} chars)"


def check_reachable(uri: str, timeout: float = 3.0) -> None:
    """Fail fast, with the reason, when an HTTP tracking server or a database server does
    not answer (MLflow retries both for minutes)."""
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    engine = scheme.partition("+")[0]
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:  # several hosts, or no number after the colon: MLflow will say
        return
    if scheme in ("http", "https"):
        port = port or (443 if scheme == "https" else 80)
        what = f"the MLflow tracking server at {shown_uri(uri)}"
    elif engine in _DB_PORTS and host:  # no host: a local socket, nothing to check here
        port = port or _DB_PORTS[engine]
        what = f"the database server {host}:{port} of {shown_uri(uri)}"
    else:
        return
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise TrackingError(f"{what} is not reachable ({exc.strerror or exc})") from None

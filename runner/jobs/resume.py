"""Resuming a sweep: the same ``-m`` command again, into the same sweep folder, with
``resume=true``, runs only what is not done yet.

Two halves, one in each kind of process:

- **The sweep callback** (the launching process, before any job starts) reads the
  folder's record (``sweep.json``: the sweep's overrides, its MLflow parent run and
  store; Hydra's ``multirun.yaml`` for a sweep made before the record existed), refuses
  a command that is not the same sweep, reopens the parent run and writes a *plan*
  (``.resume-plan.json`` in the sweep folder, gone when the sweep ends): each job folder
  whose ``status.json`` says FINISHED with a fingerprint, whether its MLflow child under
  that parent is FINISHED too, and a copy of its ``.hydra/`` files (Hydra rewrites them
  before a job's code runs) in ``.resume-<job>.json`` beside it.
  Jobs find the plan through RUNNER_RESUME_PLAN, set before any job starts, so it
  reaches joblib workers and Slurm jobs the way the parent run's id does.
- **Each job** (``launch.execute``) computes its fingerprint: a hash of its typed config
  (``tracking`` and ``resume`` left out: they say where results go, not what they are)
  and of the bytes of its data files. A folder in the plan with the same fingerprint
  and a FINISHED child is skipped: its ``.hydra/`` is put back as it was, nothing else
  is touched, nothing is logged. Any other job runs again: the previous attempt's files
  are cleared first, and its new MLflow child goes under the same parent. At the sweep's
  end the callback soft-deletes the earlier attempts' children (tag
  ``sweep.superseded_by``), so each job folder has one child.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runner.jobs.outputs import STATUS_FILE, write_json

KEY = "resume"  # the top-level setting: false | true | latest
PLAN_ENV = "RUNNER_RESUME_PLAN"  # the plan's path, set by the sweep callback for its jobs
SWEEP_FILE = "sweep.json"  # in the sweep folder: its overrides, parent run and store
# In the sweep folder while a resumed sweep runs: files only, so that nothing that walks
# the folder meanwhile sees a directory vanish.
PLAN_FILE = ".resume-plan.json"
SNAPSHOT_PREFIX = ".resume-"
SUPERSEDED_TAG = "sweep.superseded_by"
_CHUNK = 1 << 20


# ---- the job's side ------------------------------------------------------------------------


def fingerprint(spec: Any) -> dict[str, Any]:
    """What a finished job's results depend on: a hash of its config (a RunnerConfig,
    without ``tracking`` and ``resume``) and one of each data file's bytes."""
    tree = dataclasses.asdict(spec)
    for key in ("tracking", KEY):
        tree.pop(key, None)
    text = json.dumps(_canonical(tree), sort_keys=True, default=repr)
    data = {}
    for key in ("path", "test_path"):
        value = getattr(spec.data, key, None)
        if value:
            data[f"data.{key}"] = file_digest(Path(str(value)))
    return {"config": hashlib.sha1(text.encode()).hexdigest(), "data": data}


def _canonical(value: Any) -> Any:
    """Mappings with text keys (``data.counts`` may have numbers), so they sort."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def file_digest(path: Path) -> str:
    """sha1 of a file's bytes; a folder (a partitioned data set) by its files' names,
    sizes and modification times; ``missing`` or ``unreadable`` otherwise."""
    try:
        if path.is_dir():
            stamp = [(p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                     for p in sorted(path.rglob("*")) if p.is_file()]  # fmt: skip
            return "folder:" + hashlib.sha1(json.dumps(stamp).encode()).hexdigest()
        digest = hashlib.sha1()
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"


def skip(run_dir: Path, stamp: dict[str, Any] | None, name: str = "") -> str | None:
    """In a resumed sweep, the line to print if this job's folder already finished with
    this fingerprint (its ``.hydra/`` put back as it was before Hydra rewrote it); None
    if the job must run, its previous attempt's files cleared and the reason printed.
    Outside a resumed sweep: None, and nothing is touched."""
    plan = _plan(run_dir)
    if plan is None:
        return None
    entry = plan["jobs"].get(str(run_dir.resolve()))
    record = read_json(run_dir / STATUS_FILE)
    reason = _rerun_reason(entry, record, stamp)
    if reason is None:
        assert entry is not None
        snapshot = entry.get("snapshot")
        if snapshot:
            _restore(Path(plan["sweep_dir"]) / snapshot, run_dir / ".hydra")
        child = entry.get("child")
        what = f"{name} in {run_dir}" if name else str(run_dir)
        kept = f" (MLflow run {child} kept)" if child else ""
        return f"skipped: already finished: {what}{kept}"
    job = run_dir.resolve().relative_to(plan["sweep_dir"]).as_posix()
    print(f"resume: running job {job} again: {reason}")
    _clear_previous(run_dir)
    return None


def _rerun_reason(entry: dict | None, record: dict, stamp: dict | None) -> str | None:
    status = record.get("status")
    if status is None:
        return "it has no status.json (it never ran, or stopped before it could write one)"
    if status != "FINISHED":
        return f"it was {status}"
    if entry is None or not record.get("fingerprint"):
        return "its status.json has no fingerprint to compare (a sweep from before resume)"
    if entry.get("rerun"):
        return entry["rerun"]
    old = record["fingerprint"]
    if stamp is None or old.get("config") != stamp.get("config"):
        return "its config changed since it finished"
    if old.get("data") != stamp.get("data"):
        changed = sorted(k for k in {*old.get("data", {}), *stamp.get("data", {})}
                         if old.get("data", {}).get(k) != stamp.get("data", {}).get(k))  # fmt: skip
        return f"its data changed since it finished: {', '.join(changed)}"
    return None


def _plan(run_dir: Path) -> dict[str, Any] | None:
    path = os.environ.get(PLAN_ENV)
    if not path:
        return None
    plan = read_json(Path(path))
    sweep = plan.get("sweep_dir")
    if not sweep or not run_dir.resolve().is_relative_to(sweep):
        return None  # a plan of another sweep (a variable left behind): not this job's
    plan.setdefault("jobs", {})
    return plan


def _snapshot(hydra_dir: Path) -> dict[str, Any]:
    """A job's ``.hydra/`` files as JSON: bytes (as latin-1 text, which maps each byte to
    one character and back) and access and modification times."""
    files = {}
    for path in sorted(hydra_dir.rglob("*")):
        if path.is_file():
            stat = path.stat()
            files[path.relative_to(hydra_dir).as_posix()] = {
                "bytes": path.read_bytes().decode("latin-1"),
                "times_ns": [stat.st_atime_ns, stat.st_mtime_ns],
            }
    return {"files": files}


def _restore(snapshot: Path, hydra_dir: Path) -> None:
    """The finished job's Hydra record as it was: same bytes, same modification times."""
    for name, saved in read_json(snapshot).get("files", {}).items():
        target = hydra_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(saved["bytes"].encode("latin-1"))
        os.utime(target, ns=tuple(saved["times_ns"]))


def _clear_previous(run_dir: Path) -> None:
    """Before a job runs again: the files of its previous attempt go (a stale
    results.json must not sit beside a new failure), Hydra's record and log stay; and
    ``resume=...`` leaves the job's overrides.yaml, which says what defines the job (the
    sweep report reads it), not how it was launched (hydra.yaml keeps that)."""
    for path in run_dir.iterdir() if run_dir.is_dir() else ():
        if path.is_file() and path.suffix != ".log":
            path.unlink(missing_ok=True)
    overrides = run_dir / ".hydra" / "overrides.yaml"
    if overrides.is_file():
        from omegaconf import OmegaConf

        items = OmegaConf.to_container(OmegaConf.load(overrides))
        kept = without_resume(items) if isinstance(items, list) else items
        if kept != items:
            overrides.write_text(OmegaConf.to_yaml(OmegaConf.create(kept)), encoding="utf-8")


# ---- the sweep callback's side ---------------------------------------------------------------


def without_resume(overrides: list[Any]) -> list[str]:
    """The overrides that define a sweep: ``resume=...`` is how it is launched."""
    return [str(o) for o in overrides if not _is_resume(o)]


def _is_resume(override: Any) -> bool:
    return _key(override) == KEY


def _key(override: Any) -> str:
    return str(override).lstrip("+~").split("=", 1)[0]


# Overrides that say where results go, not which jobs a sweep has (as in conf/config.yaml's
# override_dirname.exclude_keys): a resume may add or drop them.
_NOT_DEFINING = (KEY, "tracking", "hydra.verbose")


def defining(overrides: list[Any]) -> list[str]:
    """The overrides that decide a sweep's jobs and their numbers, in order."""

    def launch_only(key: str) -> bool:
        return any(key == k or key.startswith(f"{k}.") for k in _NOT_DEFINING)

    return [str(o) for o in overrides if not launch_only(_key(o))]


def mode(config: Any, task: list[str]) -> bool | str:
    """``resume`` of the composed sweep config: False, True or "latest" (one paragraph and
    exit 1 for anything else, before any job starts)."""
    from runner.jobs.config import RESUME_CHOICES

    value = config.get(KEY, False)
    swept = any("," in str(o) or "(" in str(o) for o in task if _is_resume(o))
    if value not in RESUME_CHOICES or swept:
        refuse(f"resume = {value!r}: expected true, false or latest (one value: it says how "
               "the sweep is launched)")  # fmt: skip
    return value if value == "latest" else bool(value)


def read_record(sweep_dir: Path) -> dict[str, Any] | None:
    """The sweep folder's record (``sweep.json``); for a sweep made before it existed,
    the overrides Hydra saved in ``multirun.yaml``; None for a folder with neither."""
    record = read_json(sweep_dir / SWEEP_FILE)
    if record.get("overrides") is not None:
        return record
    multirun = sweep_dir / "multirun.yaml"
    if multirun.is_file():
        import yaml

        try:
            saved = yaml.safe_load(multirun.read_text()) or {}
            task = saved["hydra"]["overrides"]["task"] or []
        except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
            return None
        return {"overrides": [str(t) for t in task]}
    return None


def write_record(sweep_dir: Path, record: dict[str, Any]) -> None:
    path = sweep_dir / SWEEP_FILE
    temporary = path.with_name(f".{SWEEP_FILE}.tmp")
    write_json(temporary, record)
    os.replace(temporary, path)


def choose(config: Any, how: bool | str, task: list[str]) -> tuple[Path, dict[str, Any] | None]:
    """The folder to resume and its record (None: nothing to resume, the sweep starts
    there). ``resume=latest`` without ``hydra.sweep.dir`` finds the newest sweep with the
    same overrides next to where a new one would go, and points Hydra at it. A folder that
    holds another sweep (other overrides) is refused: its job numbers would mean other
    jobs, and resuming would overwrite them."""
    sweep_dir = Path(str(config.hydra.sweep.dir))
    overrides = defining(task)
    given = _sweep_dir_given(config)
    if how == "latest" and not given:
        root = sweep_dir.parent.parent
        found = latest(root, overrides)
        if found is None:
            print(f"resume=latest: no sweep with these overrides in {root}; starting a new "
                  f"one in {sweep_dir}", file=sys.stderr)  # fmt: skip
            return sweep_dir, None
        redirect(config, found)
        sweep_dir = found
        print(f"resume=latest: resuming {sweep_dir}", file=sys.stderr)
    record = read_record(sweep_dir)
    if record is None:
        if given or how == "latest":
            print(f"resume: {sweep_dir} holds no sweep yet; starting it there", file=sys.stderr)
            return sweep_dir, None
        refuse("resume=true re-runs the sweep in hydra.sweep.dir, and none was given (a new "
               f"folder, {sweep_dir}, has nothing to resume). Add "
               "hydra.sweep.dir=outputs/multirun/DATE/TIME (the folder the sweep printed), "
               "or use resume=latest for the newest sweep with these overrides.")  # fmt: skip
    recorded = defining(record["overrides"])
    if recorded != overrides:
        refuse(f"{sweep_dir} holds the sweep `{' '.join(recorded)}`, not "
               f"`{' '.join(overrides)}`: resume=true re-runs the same sweep (the same "
               "overrides, in the same order). Resume it with those, or choose another "
               "hydra.sweep.dir.")  # fmt: skip
    return sweep_dir, record


def latest(root: Path, overrides: list[str]) -> Path | None:
    """The newest sweep folder under ``root`` (``outputs/multirun/DATE/TIME``) whose
    defining overrides are ``overrides``."""
    if not root.is_dir():
        return None
    found = []
    for folder in root.glob("*/*"):
        record = read_record(folder) if folder.is_dir() else None
        if record is not None and defining(record["overrides"]) == overrides:
            found.append(folder)
    return max(found, key=lambda p: p.relative_to(root).as_posix()) if found else None


def redirect(config: Any, folder: Path) -> None:
    """Point the sweep at ``folder``: the sweeper reads ``hydra.sweep.dir`` from this
    config, and launchers compose each job's config again from ``hydra.overrides.hydra``
    (in the workers too, for joblib), so the folder goes into both."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import open_dict, read_write

    override = "hydra.sweep.dir='" + str(folder).replace("'", "\\'") + "'"
    try:
        (parsed,) = OverridesParser.create().parse_overrides([override])
        ok = parsed.value() == str(folder)
    except Exception:
        ok = False
    if not ok:
        refuse(f"resume=latest found {folder}, but cannot hand its name to Hydra: resume it "
               "with hydra.sweep.dir=... resume=true")  # fmt: skip
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.sweep.dir = str(folder)
        config.hydra.overrides.hydra.append(override)


def _sweep_dir_given(config: Any) -> bool:
    return any(str(o).lstrip("+~").split("=", 1)[0] == "hydra.sweep.dir"
               for o in config.hydra.overrides.hydra)  # fmt: skip


@dataclass
class Resumed:
    """A resumed sweep's plan, as the callback keeps it."""

    sweep_dir: Path
    path: Path  # the plan file
    jobs: dict[str, dict[str, Any]]  # job folder (resolved) -> what the jobs are told

    def skipped(self) -> dict[str, str | None]:
        """Job folder -> its kept MLflow child, for the jobs that were skipped (their
        status.json as it was when the sweep started)."""
        found = {}
        for key, entry in self.jobs.items():
            status = Path(key) / STATUS_FILE
            try:
                same = status.stat().st_mtime_ns == entry["status_mtime_ns"]
            except OSError:
                same = False
            if same and not entry.get("rerun"):
                found[key] = entry.get("child")
        return found

    def done(self) -> None:
        """The plan and the copies of ``.hydra/`` go once the sweep ends (or stops)."""
        _remove_plan(self.sweep_dir)
        if os.environ.get(PLAN_ENV) == str(self.path):
            os.environ.pop(PLAN_ENV, None)


def _remove_plan(sweep_dir: Path) -> None:
    for path in sweep_dir.glob(f"{SNAPSHOT_PREFIX}*.json"):
        path.unlink(missing_ok=True)


def plan(sweep_dir: Path, children: dict[str, list[Any]] | None) -> Resumed:
    """Write the plan for the jobs (see the module's docstring). ``children`` are the
    parent run's children by job folder; None when MLflow is not used (or unreachable):
    then the folders alone decide."""
    _remove_plan(sweep_dir)  # a plan left by a resume that was killed
    jobs: dict[str, dict[str, Any]] = {}
    for status in sorted(sweep_dir.rglob(STATUS_FILE)):
        job = status.parent
        relative = job.relative_to(sweep_dir)
        record = read_json(status)
        if record.get("status") != "FINISHED" or not record.get("fingerprint"):
            continue
        key = str(job.resolve())
        entry: dict[str, Any] = {"status_mtime_ns": status.stat().st_mtime_ns}
        jobs[key] = entry
        if children is not None:
            finished = [r for r in children.get(key, []) if r.info.status == "FINISHED"]
            if not finished:
                entry["rerun"] = "it has no FINISHED MLflow run under the sweep's parent"
                continue
            entry["child"] = max(finished, key=lambda r: r.info.start_time or 0).info.run_id
        if (job / ".hydra").is_dir():
            entry["snapshot"] = f"{SNAPSHOT_PREFIX}{quote(relative.as_posix(), safe='')}.json"
            write_json(sweep_dir / entry["snapshot"], _snapshot(job / ".hydra"))
    path = write_json(sweep_dir / PLAN_FILE, {"sweep_dir": str(sweep_dir.resolve()), "jobs": jobs})
    path = path.resolve()
    os.environ[PLAN_ENV] = str(path)
    return Resumed(sweep_dir, path, jobs)


# ---- MLflow: the parent's children, one per job folder -----------------------------------


def children_by_folder(client: Any, experiment_id: str, parent: str,
                       sweep_dir: Path) -> dict[str, list[Any]]:  # fmt: skip
    """The parent run's (active) children by the job folder they record: the ``run_dir``
    tag, else the job number (``sweep.job``) as a folder of the sweep."""
    from runner.io.tracking import retry

    found: dict[str, list[Any]] = {}
    token = None
    while True:
        page = retry(client.search_runs, [experiment_id],
                     filter_string=f"tags.mlflow.parentRunId = '{parent}'",
                     max_results=1000, page_token=token)  # fmt: skip
        for run in page:
            tags = run.data.tags
            folder = tags.get("run_dir")
            if folder is None and tags.get("sweep.job") is not None:
                folder = str(sweep_dir / tags["sweep.job"])
            if folder is not None:
                found.setdefault(str(Path(folder).resolve()), []).append(run)
        token = page.token
        if not token:
            return found


def supersede(client: Any, children: dict[str, list[Any]], kept: dict[str, str | None]) -> int:
    """Soft-delete each job folder's earlier attempts: one child per folder stays (the
    skipped job's, else the newest, which made the folder's files). Deleted runs stay
    in the store (``mlflow runs restore``), tagged with the run that replaced them."""
    from runner.io.tracking import retry

    removed = 0
    for folder, runs in children.items():
        if len(runs) < 2:
            continue
        keep = kept.get(folder) or max(runs, key=lambda r: r.info.start_time or 0).info.run_id
        for run in runs:
            if run.info.run_id == keep:
                continue
            retry(client.set_tag, run.info.run_id, SUPERSEDED_TAG, keep)
            retry(client.delete_run, run.info.run_id)
            removed += 1
    return removed


def find_parent(client: Any, experiment_id: str, sweep_dir: Path) -> str | None:
    """The parent run of a sweep made before ``sweep.json`` existed: by its folder tag."""
    from runner.io.tracking import retry

    folder = str(sweep_dir.resolve()).replace("'", "\\'")
    runs = retry(client.search_runs, [experiment_id],
                 filter_string=f"tags.`sweep.dir` = '{folder}' AND tags.`sweep.parent` = 'true'",
                 order_by=["attributes.start_time DESC"], max_results=1)  # fmt: skip
    return runs[0].info.run_id if runs else None


# ---- small helpers -------------------------------------------------------------------------


def read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def refuse(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)

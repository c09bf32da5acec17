"""``python -m runner``: the Hydra entry. It turns the composed config into one job."""

from __future__ import annotations

import sys
from pathlib import Path

from runner.io import tracking_worker
from runner.jobs import interrupts

interrupts.install()  # a Ctrl-C Python drops (say, mid-import) is delivered again
tracking_worker.start_early(sys.argv)  # MLflow's imports on the other core, from now on

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from runner.jobs.config import CONFIG_DIR, register  # noqa: E402
from runner.jobs.folders import planned_run_folder  # noqa: E402
from runner.jobs.launch import INTERRUPTED, execute  # noqa: E402  (ready before Hydra starts)
from runner.jobs.outputs import (  # noqa: E402
    STATUS_FILE,
    job_name,
    run_name,
    swept_keys,
    write_status,
)

_HERE = Path(__file__).resolve().parent

register()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = hydra_cfg.job.override_dirname
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    tags = {"sweep.job": str(hydra_cfg.job.num), "sweep.overrides": overrides} if in_sweep else {}
    status = execute(cfg, run_dir, _run_name(cfg, hydra_cfg, in_sweep), tags, in_sweep)
    if status and not in_sweep:
        sys.exit(status)


def _run_name(cfg: DictConfig, hydra_cfg: DictConfig, in_sweep: bool) -> str:
    """What the runs table shows (~25 characters): a sweep job's swept overrides first, a
    single run's model and data. A config too broken to read is named by its model only
    (the job then says what is wrong)."""
    try:
        if in_sweep:
            return job_name(list(hydra_cfg.overrides.task), swept_keys(), str(cfg.model.name))
        return run_name(cfg, hydra_cfg.runtime.choices.get("experiment"))
    except Exception:
        return str(cfg.get("model", {}).get("name", "run"))


def interrupted() -> None:
    """Ctrl-C while Hydra starts or ends a job (a job handles its own, see launch.py): a run
    folder Hydra made still says KILLED."""
    try:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
    except Exception:  # Hydra reset its job config: the folder it planned, if any
        run_dir = planned_run_folder()
    if run_dir is not None and run_dir.is_dir() and not (run_dir / STATUS_FILE).exists():
        write_status(run_dir, "KILLED", "interrupted (Ctrl-C or SIGINT)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        interrupted()
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)

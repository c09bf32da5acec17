"""``python -m runner``: the Hydra entry. It turns the composed config into one job."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from runner.config import register

_HERE = Path(__file__).resolve().parent
# An editable install or a checkout reads the top-level conf/; a wheel ships it in the package.
CONFIG_DIR = str(_HERE / "conf" if (_HERE / "conf").is_dir() else _HERE.parent / "conf")

register()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from runner.app import run
    from runner.errors import RunnerError

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = hydra_cfg.job.override_dirname
    run_name = f"{cfg.model.name} {overrides}".strip() if overrides else cfg.model.name
    try:
        outcome = run(cfg, run_dir, run_name)
    except RunnerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    if outcome.tracking_error:
        print(
            f"warning: {outcome.tracking_error}\n"
            f"The fit is saved in {outcome.results_path}; nothing is lost.",
            file=sys.stderr,
        )
        if cfg.tracking.required:
            print(
                "Exiting with status 1 because tracking.required=true "
                "(set tracking.required=false to accept results on disk only).",
                file=sys.stderr,
            )
            sys.exit(1)


if __name__ == "__main__":
    main()

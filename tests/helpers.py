"""Shared test helpers: composing the project's configs with Hydra's compose API."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

import runner.jobs.config

CONF = (Path(__file__).resolve().parent.parent / "conf").resolve()


def compose_config(*overrides: str, hydra: bool = False):
    """The composed config for ``overrides``, as ``python -m runner`` would see it
    (``hydra=True`` keeps the ``hydra`` node); Hydra's global state is left clean."""
    runner.jobs.config.register()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose(
                config_name="config", overrides=list(overrides), return_hydra_config=hydra
            )
    finally:
        GlobalHydra.instance().clear()

"""The maths a notebook imports: families, parameter spaces, optimizers, estimation,
batches of replicates, studies, priors, held-out scoring, goodness of fit, numerical
derivatives and the ``Fit`` result. Imports no Hydra, OmegaConf, MLflow or matplotlib,
and nothing from ``runner.io`` or ``runner.jobs``.

The public names load on first use: importing one submodule (``runner.stats.result``)
does not pay for scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "fit": "runner.stats.api",
    "Fit": "runner.stats.result",
    "ParamEstimate": "runner.stats.result",
    "families": "runner.stats.families",
    "optimizers": "runner.stats.optimizers",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'runner.stats' has no attribute {name!r}")
    module = importlib.import_module(_PUBLIC[name])
    value = module if module.__name__.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))

"""mle-runner: maximum likelihood estimation, from one fit to sweeps tracked in MLflow.

The maths needs neither Hydra nor MLflow::

    from runner import fit
    f = fit("gamma", x)
    f.params["shape"], f.loglik

Three rooms, imports pointing down only (``lint-imports`` checks it): ``runner.jobs``
(the Hydra layer) → ``runner.io`` (data, tracking, figures, reports) → ``runner.stats``
(the maths) → ``runner.errors``. ``fit``, ``Fit``, ``families`` and ``optimizers`` are
``runner.stats``'s, served on first use so ``python -m runner --help`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

from runner.errors import ConfigError, DataError, RunnerError

__all__ = ["ConfigError", "DataError", "Fit", "ParamEstimate", "RunnerError", "families",
           "fit", "optimizers"]  # fmt: skip
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    stats = importlib.import_module("runner.stats")
    if name not in stats.__all__:
        raise AttributeError(f"module 'runner' has no attribute {name!r}")
    return getattr(stats, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

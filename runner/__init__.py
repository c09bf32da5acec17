"""mle-runner: maximum likelihood estimation, from one fit to sweeps tracked in MLflow.

The maths needs neither Hydra nor MLflow::

    from runner import fit
    f = fit("gamma", x)
    f.params["shape"], f.loglik
"""

from runner import families, optimizers
from runner.errors import ConfigError, DataError, RunnerError
from runner.estimate import fit
from runner.result import Fit, ParamEstimate

__all__ = [
    "ConfigError",
    "DataError",
    "Fit",
    "ParamEstimate",
    "RunnerError",
    "families",
    "fit",
    "optimizers",
]
__version__ = "0.1.0"

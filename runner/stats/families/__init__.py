"""The catalogue of families, by name.

``get("binomial", trials=10)`` builds one; ``available()`` lists the names. Adding a
family is one class in a module here and one line in ``_REGISTRY``.
"""

from __future__ import annotations

from typing import Any

from runner.stats.families.base import Family, Stats, Theta
from runner.stats.families.continuous import (
    Beta,
    Exponential,
    Gamma,
    Gaussian,
    Laplace,
    Lognormal,
    StudentT,
    Uniform,
    Weibull,
)
from runner.stats.families.custom import Custom
from runner.stats.families.discrete import (
    Bernoulli,
    Binomial,
    Categorical,
    Geometric,
    NegativeBinomial,
    Poisson,
)
from runner.stats.families.mixture import GaussianMixture
from runner.stats.families.multivariate import MultivariateNormal
from runner.stats.families.scipy_family import ScipyFamily
from runner.stats.registry import build

_REGISTRY: dict[str, type[Family]] = {
    cls.name: cls
    for cls in (
        Bernoulli,
        Binomial,
        Categorical,
        Geometric,
        NegativeBinomial,
        Poisson,
        Gaussian,
        Exponential,
        Gamma,
        Lognormal,
        Beta,
        Weibull,
        Laplace,
        Uniform,
        StudentT,
        GaussianMixture,
        MultivariateNormal,
        ScipyFamily,
        Custom,
    )
}


def available() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str | Family, **options: Any) -> Family:
    """The family called ``name``, built with its fixed options (None values are ignored)."""
    if isinstance(name, Family):
        return name
    return build("model", name, _REGISTRY, options)


def conjugate() -> list[str]:
    """Families with a conjugate prior (``estimator=map``)."""
    return [
        name for name, cls in sorted(_REGISTRY.items()) if cls.posterior is not Family.posterior
    ]


__all__ = ["Family", "Stats", "Theta", "available", "get"]

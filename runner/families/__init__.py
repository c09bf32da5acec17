"""The catalogue of families, by name.

``get("binomial", trials=10)`` builds one; ``available()`` lists the names. Adding a
family is one class in a module here and one line in ``_REGISTRY``.
"""

from __future__ import annotations

import inspect
from typing import Any

from runner.errors import ConfigError
from runner.families.base import Family, Stats, Theta
from runner.families.continuous import (
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
from runner.families.discrete import (
    Bernoulli,
    Binomial,
    Categorical,
    Geometric,
    NegativeBinomial,
    Poisson,
)
from runner.families.mixture import GaussianMixture
from runner.families.multivariate import MultivariateNormal

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
    )
}


def available() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str | Family, **options: Any) -> Family:
    """The family called ``name``, built with its fixed options (None values are ignored)."""
    if isinstance(name, Family):
        return name
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; choose one of: {', '.join(available())}"
        ) from None
    given = {k: v for k, v in options.items() if v is not None}
    signature = _init_parameters(cls)
    accepted = [p.name for p in signature]
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        takes = f"takes only {accepted}" if accepted else "takes no options"
        raise ConfigError(f"model {name!r} {takes}; got {unknown}")
    required = [
        p.name for p in signature if p.default is inspect.Parameter.empty and p.name not in given
    ]
    if required:
        raise ConfigError(f"model {name!r} needs model.{required[0]} to be set")
    return cls(**given)


def conjugate() -> list[str]:
    """Families with a conjugate prior (``estimator=map``)."""
    return [
        name for name, cls in sorted(_REGISTRY.items()) if cls.posterior is not Family.posterior
    ]


def _init_parameters(cls: type) -> list[inspect.Parameter]:
    """The named options a class's constructor takes (none for ``object.__init__``)."""
    if cls.__init__ is object.__init__:
        return []
    return [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


__all__ = ["Family", "Stats", "Theta", "available", "get"]

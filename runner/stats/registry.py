"""Building a named thing (a family, an optimizer) from config options, with messages that
say what it takes. Both registries share it, so both refuse the same mistakes alike."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from runner.errors import ConfigError


def build(kind: str, name: str, registry: dict[str, type], options: dict[str, Any],
          signature_of: type | None = None, prefix: str | None = None) -> Any:  # fmt: skip
    """``registry[name](**options)``, None options dropped; unknown names and options, and
    missing required ones, are ``ConfigError``s naming the choices."""
    try:
        cls = registry[name]
    except KeyError:
        raise ConfigError(
            f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(registry))}"
        ) from None
    given = {k: v for k, v in options.items() if v is not None}
    parameters = init_parameters(signature_of or cls)
    accepted = [p.name for p in parameters]
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        takes = f"takes only {accepted}" if accepted else "takes no options"
        raise ConfigError(f"{kind} {name!r} {takes}; got {unknown}")
    required = [
        p.name for p in parameters if p.default is inspect.Parameter.empty and p.name not in given
    ]
    if required:
        raise ConfigError(f"{kind} {name!r} needs {prefix or kind}.{required[0]} to be set")
    return cls(**given)


@functools.cache  # inspect.signature costs ~20 us: once per class, not once per fit
def init_parameters(cls: type) -> list[inspect.Parameter]:
    """The named options a class's constructor takes (none for ``object.__init__``)."""
    if cls.__init__ is object.__init__:
        return []
    return [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]

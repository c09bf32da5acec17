"""``runner.fit``: ``estimate.fit`` and the intervals that need more than one fit of the
data (the bootstrap refits replicates in batches, so it sits above estimation)."""

from __future__ import annotations

from typing import Any

from runner.errors import ConfigError
from runner.stats import estimate
from runner.stats.result import Fit


def fit(family: Any, x: Any, *, ci: str = "wald_transformed", bootstrap: str = "parametric",
        replicates: int = 1000, seed: int = 0, **settings: Any) -> Fit:  # fmt: skip
    """Fit ``family`` to ``x`` by maximum likelihood (see ``runner.stats.estimate.fit``
    for every setting). ``ci="bootstrap"`` makes the 95% intervals BCa (and percentile)
    intervals from ``replicates`` refits of ``bootstrap`` ("parametric" draws from the
    fit, "nonparametric" resampled rows) seeded by ``seed``."""
    if ci != "bootstrap":
        return estimate.fit(family, x, ci=ci, **settings)
    from runner.stats import bootstrap as boot
    from runner.stats.families import get

    if settings.get("truncation") is not None or estimate._is_censored(x):
        raise ConfigError("ci='bootstrap' is not supported with censored or truncated data yet "
                          "(use ci='profile' or the default)")
    result = estimate.fit(family, x, **settings)
    options = dict(result.options)
    options.pop("truncation", None)
    fam = family if not isinstance(family, str) else get(family, **options).for_data(x)
    boot.attach(result, fam, fam.validate(x), bootstrap, replicates, seed)
    return result


fit.__doc__ = (fit.__doc__ or "") + "\n\n" + (estimate.fit.__doc__ or "")
